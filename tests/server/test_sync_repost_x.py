"""Delete-and-repost on X with threads, against the loopback X API: the old post's thread is
deleted exactly as Creditline recorded it (never the artist's own replies), and X's refusal of
duplicate text never makes a repost adopt, answer under or delete the wrong post."""

from __future__ import annotations

from tests.server.test_delivery_runs import attempt
from tests.server.test_sync_repost import (
    copies,
    opt_in,
    posts_sent,
    reposts,
)


def thread(x_server) -> list[tuple[str, str | None]]:
    return [(t["id"], t["reply_to"]) for t in x_server.tweets]


def deleted(x_server) -> list[str]:
    return [t["id"] for t in x_server.deleted]


# -- H2: what the delete takes --------------------------------------------------------------------


def test_the_artists_own_reply_under_the_old_post_is_left_alone(app, artist, x_server, post_on_x):
    artwork = post_on_x({})
    [first] = x_server.tweets
    mine = x_server.add_tweet("artist", "Prints of this are up in my shop!", reply_to=first["id"])
    opt_in(artist, artwork)
    artist.patch("/api/v1/people/hyena", json={"accounts": {"twitter": "hyena_art"}})
    assert attempt(app) == ["posted"]
    assert deleted(x_server) == [first["id"]]  # the old post alone: it had no credits thread
    assert mine["id"] in [t["id"] for t in x_server.tweets]


def test_the_old_credits_reply_goes_even_when_it_is_far_down_the_timeline(
    app, artist, x_server, post_on_x
):
    artwork = post_on_x({"credits_position": "reply"})
    old = [t["id"] for t in x_server.tweets]
    assert len(old) == 2  # the post and its credits reply
    for i in range(120):  # more than one timeline page (100) of newer posts
        x_server.add_tweet("artist", f"unrelated post {i}")
    opt_in(artist, artwork)
    answer = artist.patch(
        f"/api/v1/artworks/{artwork['id']}",
        json={
            "title": "A newer title",
            "credits": [
                {"role": "artist", "person": "tanraak"},
                {"role": "colorist", "person": "tanraak"},
                {"role": "commissioner", "person": "hyena"},
            ],
        },
    )
    assert answer.status_code == 200, answer.json
    assert attempt(app) == ["posted"]
    assert deleted(x_server) == [old[1], old[0]]  # the reply first, then the post
    assert [c["state"] for c in copies(artist, artwork)] == ["replaced", "synced"]


# -- H3: credits in a reply, and X's duplicate rule ---------------------------------------------


def test_a_title_change_reposts_a_thread_whose_credits_did_not_change(
    app, artist, x_server, post_on_x
):
    artwork = post_on_x({"credits_position": "reply"})
    old_main, old_reply = x_server.tweets
    opt_in(artist, artwork)
    answer = artist.patch(f"/api/v1/artworks/{artwork['id']}", json={"title": "A new title"})
    assert answer.status_code == 200, answer.json
    assert attempt(app) == ["posted"]
    new_main, new_reply = x_server.tweets
    assert new_main["text"].startswith("A new title") and new_main["reply_to"] is None
    assert new_reply["reply_to"] == new_main["id"]
    assert new_reply["text"] == old_reply["text"]  # the same credits, now under the new post
    assert deleted(x_server) == [old_reply["id"], old_main["id"]]
    [done] = reposts(artist)
    assert done["state"] == "posted" and done["remote_id"] == new_main["id"]
    assert [c["state"] for c in copies(artist, artwork)] == ["replaced", "synced"]
    assert posts_sent(x_server) == 4  # two parts at first, two for the repost


def test_a_credits_change_with_the_same_post_text_fails_before_posting(
    app, artist, x_server, post_on_x
):
    """The credits live in the reply, so the post's own text is unchanged: X would refuse it
    as a duplicate. Nothing is posted (no reply under the OLD post), with the reason."""
    artwork = post_on_x({"credits_position": "reply"})
    before = thread(x_server)
    opt_in(artist, artwork)
    answer = artist.patch(
        f"/api/v1/artworks/{artwork['id']}",
        json={
            "credits": [
                {"role": "artist", "person": "tanraak"},
                {"role": "colorist", "person": "tanraak"},
                {"role": "commissioner", "person": "hyena"},
                {"role": "character_owner", "person": "hyena", "character": "Trisk"},
            ]
        },
    )
    assert answer.status_code == 200, answer.json
    assert attempt(app) == ["failed"]
    [failed] = reposts(artist)
    assert "did not change" in failed["last_error"] and "old post stays" in failed["last_error"]
    assert thread(x_server) == before and deleted(x_server) == []
    assert posts_sent(x_server) == 2  # only the first thread: nothing was sent for the repost
    assert [c["state"] for c in copies(artist, artwork)] == ["failed"]
