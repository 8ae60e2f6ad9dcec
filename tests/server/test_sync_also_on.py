"""'Also on' links: once every delivery of an artwork is done, the earlier copies on platforms
that edit get one edit that ends with the link to the canonical page — against the loopback
Mastodon and Discord servers, through the engine."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from adapters.discord import Discord
from adapters.preview import ALSO_ON_LABEL, render_preview
from server.models import utcnow
from tests.peers.discord_server import DiscordServer
from tests.peers.mastodon_server import MastodonServer
from tests.server.helpers import ARTWORK, TANRAAK, artwork_form, png_bytes
from tests.server.test_delivery_runs import attempt, connect, deliver

HYENA = {"key": "hyena", "name": "Hyena Dude", "accounts": {"mastodon": "hyena@furry.engineer"}}


@pytest.fixture
def mastodon():
    with MastodonServer(tokens={"tok": "tanraak"}) as server:
        yield server


@pytest.fixture
def discord():
    Discord._exhausted.clear()  # rate-limit memory is per process: start empty
    with DiscordServer() as server:
        yield server


def setup(artist, mastodon, discord, **artwork_fields):
    for person in (TANRAAK, HYENA):
        assert artist.post("/api/v1/people", json=person).status_code == 201
    body = {**ARTWORK, **artwork_fields}
    artwork = artist.post("/api/v1/artworks", data=artwork_form(body, png_bytes())).json
    accounts = [
        artist.post(
            "/api/v1/accounts",
            json={
                "platform": "mastodon",
                "name": "@tanraak",
                "credentials": {"instance": mastodon.base_url, "access_token": "tok"},
            },
        ).json["id"],
        artist.post(
            "/api/v1/accounts",
            json={
                "platform": "discord",
                "name": "#art",
                "credentials": {"webhook_url": discord.webhook_url},
            },
        ).json["id"],
    ]
    answer = artist.post(
        f"/api/v1/artworks/{artwork['id']}/deliveries", json={"accounts": accounts}
    )
    assert answer.status_code == 201, answer.json
    return artwork


_clock = itertools.count(1)


def soon() -> dt.datetime:
    """Later each time: past Discord's pacing (a webhook's next slot is booked 2 s after the
    claim's own clock)."""
    return utcnow() + dt.timedelta(seconds=10 * next(_clock))


def canonical(artist, artwork) -> str:
    public_id = artist.get(f"/api/v1/artworks/{artwork['id']}").json["public_id"]
    return f"http://127.0.0.1:8000/a/{public_id}"


def mastodon_edits(mastodon) -> list:
    return [
        r for r in mastodon.requests if r.method == "PUT" and r.path.startswith("/api/v1/statuses/")
    ]


def sent_text(request) -> str:
    """The status text of a Mastodon edit request (form or JSON, as the client sent it)."""
    if request.json:
        return request.json["status"]
    [text] = request.form["status"]
    return text


def discord_edits(discord) -> list:
    return [r for r in discord.requests if r.method == "PATCH"]


def links(artist) -> list[dict]:
    return [d for d in artist.get("/api/v1/deliveries").json["items"] if d["kind"] == "links"]


def test_the_earlier_copy_gets_the_link_once_and_the_last_one_had_it(
    app, artist, mastodon, discord
):
    artwork = setup(artist, mastodon, discord, also_on_links=True)
    url = canonical(artist, artwork)
    assert attempt(app, soon()) == ["posted", "posted"]  # Mastodon first, then Discord (the last)
    [status] = mastodon.statuses
    assert url not in status["_text"]  # Discord was still pending when this one rendered
    [message] = discord.messages
    assert message["content"].count(url) == 1  # posted last: it carries the link already
    assert f"{ALSO_ON_LABEL} {url}" in message["content"]
    [queued] = links(artist)
    assert queued["platform"] == "mastodon" and queued["state"] == "scheduled"

    assert attempt(app, soon()) == ["posted"]
    [edit] = mastodon_edits(mastodon)
    assert sent_text(edit).count(url) == 1  # the edit request carries the link exactly once
    [status] = mastodon.statuses
    assert status["_text"].count(url) == 1
    assert f"\n\n{ALSO_ON_LABEL} {url}\n\n#hyena" in status["_text"]  # after the credits
    assert "@hyena@furry.engineer" in status["_text"]  # the credits are all still there
    assert discord_edits(discord) == []  # the last copy needed no edit
    assert attempt(app, soon()) == []
    assert len(mastodon.statuses) == 1 and len(discord.messages) == 1


def test_opting_in_after_everything_posted_edits_every_copy_once(app, artist, mastodon, discord):
    artwork = setup(artist, mastodon, discord)
    url = canonical(artist, artwork)
    assert attempt(app, soon()) == ["posted", "posted"]
    assert links(artist) == []  # not opted in: nothing queued
    answer = artist.patch(f"/api/v1/artworks/{artwork['id']}", json={"also_on_links": True})
    assert answer.status_code == 200 and answer.json["also_on_links"] is True
    assert sorted(d["platform"] for d in links(artist)) == ["discord", "mastodon"]
    assert attempt(app, soon()) == ["posted", "posted"]
    [m_edit], [d_edit] = mastodon_edits(mastodon), discord_edits(discord)
    assert sent_text(m_edit).count(url) == 1
    assert d_edit.payload["content"].count(url) == 1
    assert mastodon.statuses[0]["_text"].count(url) == 1
    assert discord.messages[0]["content"].count(url) == 1
    # The copies still show the current revision, and a later edit keeps the link.
    states = artist.get(f"/api/v1/artworks/{artwork['id']}/copies").json["items"]
    assert [c["state"] for c in states] == ["synced", "synced"]
    artist.patch(f"/api/v1/artworks/{artwork['id']}", json={"title": "Trisk at dawn"})
    assert attempt(app, soon()) == ["posted", "posted"]
    assert mastodon.statuses[0]["_text"].count(url) == 1
    assert "Trisk at dawn" in discord.messages[0]["content"]
    assert discord.messages[0]["content"].count(url) == 1
    assert links(artist) and all(d["state"] == "posted" for d in links(artist))
    assert attempt(app, soon()) == []


def test_a_link_that_does_not_fit_leaves_the_copy_alone(app, artist, mastodon, discord):
    # fits in Mastodon's 500 alone, not with the line (a URL counts 23 there)
    long = "Commission for @[hyena]. " + "la " * 115 + "{credits}"
    artwork = setup(artist, mastodon, discord, description=long, tags=[])
    assert attempt(app, soon()) == ["posted", "posted"]
    answer = artist.patch(f"/api/v1/artworks/{artwork['id']}", json={"also_on_links": True})
    assert answer.status_code == 200
    # Mastodon is left alone, Discord is edited
    assert sorted(attempt(app, soon())) == ["cancelled", "posted"]
    assert mastodon_edits(mastodon) == []
    [left] = [d for d in links(artist) if d["platform"] == "mastodon"]
    assert "does not fit" in left["last_error"]
    assert discord.messages[0]["content"].count(canonical(artist, artwork)) == 1


def test_the_render_option_counts_the_link_against_the_limit():
    payload = {
        "artwork": {
            "title": "T",
            "description": "x " * 230,
            "rating": "general",
            "credits": [{"role": "artist", "person": "t"}],
            "canonical_url": "https://art.example/a/7Hk2",
        },
        "people": {"t": {"name": "Tan", "accounts": {"mastodon": "tan@furry.engineer"}}},
        "platforms": ["mastodon", "discord"],
    }
    plain = render_preview(payload)
    linked = render_preview(payload, also_on=True)
    assert "also_on" not in plain["mastodon"]  # only when asked: golden renders unchanged
    assert linked["discord"]["also_on"] is True
    assert linked["discord"]["text"].count("https://art.example/a/7Hk2") == 1
    assert linked["mastodon"]["also_on"] is False
    assert linked["mastodon"]["text"] == plain["mastodon"]["text"]
    assert any("does not fit" in w for w in linked["mastodon"]["warnings"])


# -- links that become due later (review M4) -----------------------------------------------------


def deliver_tomorrow(artist, mastodon, artwork) -> tuple[int, dt.datetime]:  # type: ignore[no-untyped-def]
    """A post of ``artwork`` to a second Mastodon account, scheduled a day from now."""
    tomorrow = utcnow() + dt.timedelta(days=1)
    account = connect(artist, mastodon, "@second")
    return deliver(artist, artwork, account, scheduled_at=tomorrow.isoformat()), tomorrow


def test_a_links_edit_that_ran_before_it_was_due_is_queued_again(app, artist, mastodon, discord):
    """A post added after the links were queued makes them not due; the links edit that runs
    meanwhile stands aside, and comes back once that post is done (it used to be lost: the
    cancelled edit took the revision's slot)."""
    artwork = setup(artist, mastodon, discord, also_on_links=True)
    url = canonical(artist, artwork)
    assert attempt(app, soon()) == ["posted", "posted"]
    [queued] = links(artist)
    assert queued["platform"] == "mastodon"
    _, tomorrow = deliver_tomorrow(artist, mastodon, artwork)
    assert attempt(app, soon()) == ["cancelled"]  # the links edit: not due any more
    [waiting] = links(artist)
    assert waiting["state"] == "cancelled" and "not due yet" in waiting["last_error"]
    assert mastodon_edits(mastodon) == []

    assert attempt(app, tomorrow + dt.timedelta(minutes=1)) == ["posted"]  # the last post
    [again] = links(artist)
    assert again["id"] == queued["id"] and again["state"] == "scheduled"
    assert attempt(app, tomorrow + dt.timedelta(minutes=2)) == ["posted"]
    [edit] = mastodon_edits(mastodon)
    assert sent_text(edit).count(url) == 1
    first, second = mastodon.statuses
    assert first["_text"].count(url) == 1 and second["_text"].count(url) == 1
    assert attempt(app, tomorrow + dt.timedelta(minutes=3)) == []


def test_links_are_queued_when_the_last_pending_post_fails(app, artist, mastodon, discord):
    artwork = setup(artist, mastodon, discord, also_on_links=True)
    url = canonical(artist, artwork)
    discord.fail_next(1, 400, method="POST", message="Cannot send an empty message", code=50006)
    assert attempt(app, soon()) == ["posted", "failed"]
    [status] = mastodon.statuses
    assert url not in status["_text"]  # Discord was still pending when this one rendered
    [queued] = links(artist)
    assert queued["platform"] == "mastodon" and queued["state"] == "scheduled"
    assert attempt(app, soon()) == ["posted"]
    assert mastodon.statuses[0]["_text"].count(url) == 1


def test_links_are_queued_when_the_artist_cancels_the_last_pending_post(
    app, artist, mastodon, discord
):
    artwork = setup(artist, mastodon, discord, also_on_links=True)
    url = canonical(artist, artwork)
    later_one, _ = deliver_tomorrow(artist, mastodon, artwork)
    assert attempt(app, soon()) == ["posted", "posted"]
    assert links(artist) == []  # a post is still pending
    answer = artist.post(f"/api/v1/deliveries/{later_one}/cancel")
    assert answer.status_code == 200 and answer.json["state"] == "cancelled"
    # both posted while another post was pending: both get the link now
    assert sorted(d["platform"] for d in links(artist)) == ["discord", "mastodon"]
    assert attempt(app, soon()) == ["posted", "posted"]
    assert mastodon.statuses[0]["_text"].count(url) == 1
    assert discord.messages[0]["content"].count(url) == 1
