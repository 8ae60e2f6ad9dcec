"""Attribution sync: fix a credit once, every editable copy follows, through the engine."""

from __future__ import annotations

import pytest

from tests.peers.mastodon_server import MastodonServer
from tests.server.helpers import ARTWORK, TANRAAK, artwork_form, png_bytes
from tests.server.test_delivery_runs import attempt, later, prepare, prepare_bluesky, row

HYENA = {"key": "hyena", "name": "Hyena Dude", "accounts": {"mastodon": "hyena@furry.engineer"}}


@pytest.fixture
def mastodon():
    with MastodonServer(tokens={"tok": "tanraak", "tok2": "alt"}) as server:
        yield server


@pytest.fixture
def posted(app, artist, mastodon):
    """One artwork posted to two Mastodon accounts."""
    for person in (TANRAAK, HYENA):
        assert artist.post("/api/v1/people", json=person).status_code == 201
    artwork = artist.post("/api/v1/artworks", data=artwork_form(ARTWORK, png_bytes())).json
    accounts = [
        artist.post(
            "/api/v1/accounts",
            json={
                "platform": "mastodon",
                "name": f"@{token}",
                "credentials": {"instance": mastodon.base_url, "access_token": token},
            },
        ).json["id"]
        for token in ("tok", "tok2")
    ]
    artist.post(f"/api/v1/artworks/{artwork['id']}/deliveries", json={"accounts": accounts})
    assert attempt(app) == ["posted", "posted"]
    return artist, artwork


def edits(mastodon) -> list:
    return [
        r for r in mastodon.requests if r.method == "PUT" and r.path.startswith("/api/v1/statuses/")
    ]


def test_a_new_handle_reaches_every_copy_exactly_once(app, posted, mastodon):
    artist, artwork = posted
    assert all("@hyena@furry.engineer" in s["_text"] for s in mastodon.statuses)
    changed = artist.patch(
        "/api/v1/people/hyena", json={"accounts": {"mastodon": "hyena_art@furry.engineer"}}
    )
    assert changed.status_code == 200
    copies = artist.get(f"/api/v1/artworks/{artwork['id']}/copies").json
    assert copies["revision"] == 2
    assert [c["state"] for c in copies["items"]] == ["updating", "updating"]
    assert sorted(attempt(app)) == ["posted", "posted"]
    assert len(edits(mastodon)) == 2
    assert len(mastodon.statuses) == 2  # edited in place, nothing new posted
    for status in mastodon.statuses:
        assert "@hyena_art@furry.engineer" in status["_text"]
        assert "@hyena@furry.engineer" not in status["_text"]
    copies = artist.get(f"/api/v1/artworks/{artwork['id']}/copies").json
    assert [c["state"] for c in copies["items"]] == ["synced", "synced"]
    assert attempt(app) == []  # nothing left to do
    assert len(edits(mastodon)) == 2


def test_an_edit_that_fails_is_retried_and_never_duplicated(app, posted, mastodon):
    artist, artwork = posted
    mastodon.fail_next(1, status=502, method="PUT")
    artist.patch(f"/api/v1/artworks/{artwork['id']}", json={"title": "Trisk at dawn"})
    states = sorted(attempt(app))
    assert states == ["posted", "retry_wait"]
    waiting = next(
        d
        for d in artist.get("/api/v1/deliveries").json["items"]
        if d["kind"] == "edit" and d["state"] == "retry_wait"
    )
    assert attempt(app, later(app, waiting["id"])) == ["posted"]
    assert len(mastodon.statuses) == 2
    assert all("Trisk at dawn" in s["_text"] for s in mastodon.statuses)
    assert row(app, waiting["id"]).revision == 2


def test_changes_that_do_not_show_queue_nothing(app, posted, mastodon):
    artist, artwork = posted
    artist.patch("/api/v1/people/hyena", json={"notes": "met at a con"})
    artist.patch(f"/api/v1/artworks/{artwork['id']}", json={"title": ARTWORK["title"]})
    assert artist.get(f"/api/v1/artworks/{artwork['id']}").json["revision"] == 1
    assert attempt(app) == []


def test_a_newer_change_supersedes_a_waiting_edit(app, posted, mastodon):
    artist, artwork = posted
    artist.patch(f"/api/v1/artworks/{artwork['id']}", json={"title": "First fix"})
    artist.patch(f"/api/v1/artworks/{artwork['id']}", json={"title": "Second fix"})
    kinds = [
        (d["kind"], d["revision"], d["state"])
        for d in artist.get("/api/v1/deliveries").json["items"]
        if d["kind"] == "edit"
    ]
    assert sorted(kinds) == [
        ("edit", 2, "cancelled"),
        ("edit", 2, "cancelled"),
        ("edit", 3, "scheduled"),
        ("edit", 3, "scheduled"),
    ]
    assert attempt(app) == ["posted", "posted"]
    assert len(edits(mastodon)) == 2
    assert all("Second fix" in s["_text"] for s in mastodon.statuses)


def test_platforms_that_cannot_edit_leave_the_copy_stale(app, artist, bluesky_pds):
    poster, artwork, account = prepare_bluesky(artist, bluesky_pds, "stale")
    artist.post(f"/api/v1/artworks/{artwork['id']}/deliveries", json={"accounts": [account["id"]]})
    assert attempt(app) == ["posted"]
    artist.patch("/api/v1/people/hyena", json={"name": "Hyena Gal"})
    assert attempt(app) == []  # Bluesky posts cannot be edited: no edit is queued
    [copy] = artist.get(f"/api/v1/artworks/{artwork['id']}/copies").json["items"]
    assert copy["state"] == "stale" and copy["platform"] == "bluesky"
    assert len(bluesky_pds.list_posts(poster.did)) == 1


def test_a_change_made_while_posting_reaches_the_new_copy(app, artist, mastodon):
    """The post goes out with the old title; the engine notices and queues the edit."""
    import threading
    import time

    from server import db
    from server.delivery import queue, runner
    from server.models import utcnow

    artwork, account = prepare(artist, mastodon)
    artist.post(f"/api/v1/artworks/{artwork['id']}/deliveries", json={"accounts": [account["id"]]})
    with db.session_scope(app) as session:
        [delivery_id] = queue.claim(session, "w", utcnow(), 1, 60)
    mastodon.delay_next(1, 1.0, path="/api/v1/statuses", after=False)
    result: list[str] = []
    worker = threading.Thread(target=lambda: result.append(runner.run(app, delivery_id, "w")))
    worker.start()
    while not mastodon.requests_to("POST", "/api/v1/statuses"):
        time.sleep(0.02)  # the status is on its way, rendered with the old title
    # The post is already out there with the old title, but not yet recorded as posted.
    assert (
        artist.patch(
            f"/api/v1/artworks/{artwork['id']}", json={"title": "Renamed mid-post"}
        ).status_code
        == 200
    )
    worker.join(10)
    assert result == ["posted"]
    [copy] = artist.get(f"/api/v1/artworks/{artwork['id']}/copies").json["items"]
    assert copy["synced_revision"] == 1 and copy["state"] == "updating"
    assert attempt(app) == ["posted"]  # the queued edit
    assert "Renamed mid-post" in mastodon.statuses[0]["_text"]
    [copy] = artist.get(f"/api/v1/artworks/{artwork['id']}/copies").json["items"]
    assert copy["state"] == "synced"
