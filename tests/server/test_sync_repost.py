"""Delete-and-repost of stale copies on platforms that cannot edit, through the engine: the
real Bluesky PDS and the loopback X API. The new post goes up first, then the old one is
deleted; a crash or a failed delete is retried without a second post; without the artist's
opt-in nothing is deleted."""

from __future__ import annotations

import pytest

from server import db
from server.delivery import queue, repost, runner
from server.models import Delivery, utcnow
from tests.server.test_delivery_runs import WORKER, attempt, later, prepare_bluesky, row


def copies(artist, artwork) -> list[dict]:
    return artist.get(f"/api/v1/artworks/{artwork['id']}/copies").json["items"]


def reposts(artist) -> list[dict]:
    return [d for d in artist.get("/api/v1/deliveries").json["items"] if d["kind"] == "repost"]


def opt_in(artist, artwork, on: bool = True) -> None:
    answer = artist.patch(f"/api/v1/artworks/{artwork['id']}", json={"repost_stale": on})
    assert answer.status_code == 200, answer.json
    assert answer.json["repost_stale"] is on


def works_at(client, url: str) -> list[str]:
    answer = client.get("/api/v1/attribution", query_string={"url": url})
    assert answer.status_code == 200, answer.json
    return [w["public_id"] for w in answer.json["works"]]


# -- Bluesky (the real PDS) ---------------------------------------------------------------------


@pytest.fixture
def on_bluesky(app, artist, bluesky_pds):
    """An artwork posted to one Bluesky account (no opt-in yet)."""
    poster, artwork, account = prepare_bluesky(artist, bluesky_pds, "repost")
    artist.post(f"/api/v1/artworks/{artwork['id']}/deliveries", json={"accounts": [account["id"]]})
    assert attempt(app) == ["posted"]
    [first] = bluesky_pds.list_posts(poster.did)
    return artist, artwork, poster, first


def test_bluesky_repost_replaces_the_stale_record(app, client, on_bluesky, bluesky_pds):
    artist, artwork, poster, first = on_bluesky
    [old_copy] = copies(artist, artwork)
    opt_in(artist, artwork)
    assert attempt(app) == []  # nothing is stale yet
    artist.patch("/api/v1/people/hyena", json={"name": "Hyena Gal"})
    assert [c["state"] for c in copies(artist, artwork)] == ["reposting"]
    assert attempt(app) == ["posted"]

    [record] = bluesky_pds.list_posts(poster.did)  # exactly one: the new one
    assert record["uri"] != first["uri"]
    assert "Hyena Gal" in record["value"]["text"] and "Hyena Dude" not in record["value"]["text"]
    assert bluesky_pds.get_record(first["uri"]) is None  # the old record is gone
    [done] = reposts(artist)
    assert done["state"] == "posted" and done["remote_id"] == record["uri"]
    listed = copies(artist, artwork)
    assert [(c["remote_id"], c["state"]) for c in listed] == [
        (first["uri"], "replaced"),
        (record["uri"], "synced"),
    ]
    # The old URL still leads to the work in the registry.
    public_id = artist.get(f"/api/v1/artworks/{artwork['id']}").json["public_id"]
    assert works_at(client, old_copy["url"]) == [public_id]
    # ...but the canonical page lists only copies that are still up.
    work = client.get(f"/api/v1/works/{public_id}").json
    assert [c["url"] for c in work["copies"]] == [listed[1]["url"]]
    assert attempt(app) == []  # nothing left to do


def _start_repost(app, artist) -> int:
    """Claim the queued repost and post its new record, as a worker that then dies would."""
    with db.session_scope(app) as session:
        [delivery_id] = queue.claim(session, WORKER, utcnow(), 1, 60)
    settings = runner.Settings.of(app)
    with db.session_scope(app) as session:
        delivery = session.get(Delivery, delivery_id)
        adapter = runner.registry.get(delivery.account.platform)
        job = runner._job(app, session, delivery, adapter, settings)
    published = runner.send(app, delivery_id, WORKER, adapter, job, settings)
    assert not isinstance(published, str), published
    return delivery_id, published


def _worker_died(app, delivery_id: int, **changes) -> None:
    """The lease runs out: the engine reclaims the delivery (outcome unknown)."""
    import datetime as dt

    with db.session_scope(app) as session:
        delivery = session.get(Delivery, delivery_id)
        for key, value in changes.items():
            setattr(delivery, key, value)
        delivery.lease_expires_at = utcnow() - dt.timedelta(seconds=1)
    with db.session_scope(app) as session:
        assert queue.reclaim_expired(session, utcnow()) == 1


def test_bluesky_crash_before_the_new_record_was_noted_posts_once(app, on_bluesky, bluesky_pds):
    artist, artwork, poster, first = on_bluesky
    opt_in(artist, artwork)
    artist.patch("/api/v1/people/hyena", json={"name": "Hyena Gal"})
    delivery_id, published = _start_repost(app, artist)
    assert len(bluesky_pds.list_posts(poster.did)) == 2  # new record up, old one still there
    # The worker died after the PDS wrote the record but before anything was saved about it.
    kept = {repost.sync.REPOST: row(app, delivery_id).progress[repost.sync.REPOST]}
    kept[repost.sync.REPOST].pop("new", None)
    _worker_died(app, delivery_id, progress=kept)
    assert row(app, delivery_id).outcome_unknown
    assert attempt(app, later(app, delivery_id)) == ["posted"]
    [record] = bluesky_pds.list_posts(poster.did)
    assert record["uri"] == published.remote_id  # adopted by its record key, not posted again
    assert bluesky_pds.get_record(first["uri"]) is None
    assert [c["state"] for c in copies(artist, artwork)] == ["replaced", "synced"]


def test_bluesky_crash_before_the_delete_only_deletes(app, on_bluesky, bluesky_pds):
    artist, artwork, poster, first = on_bluesky
    opt_in(artist, artwork)
    artist.patch("/api/v1/people/hyena", json={"name": "Hyena Gal"})
    delivery_id, published = _start_repost(app, artist)
    with db.session_scope(app) as session:  # noted as the copy, then the worker died
        queue.record_reposted(
            session, delivery_id, WORKER, published.remote_id, published.url, utcnow(), 60
        )
    _worker_died(app, delivery_id)
    assert [c["state"] for c in copies(artist, artwork)] == ["reposting", "synced"]
    creates = bluesky_pds.requests("com.atproto.repo.createRecord") + bluesky_pds.requests(
        "com.atproto.repo.putRecord"
    )
    assert attempt(app, later(app, delivery_id)) == ["posted"]
    assert (
        bluesky_pds.requests("com.atproto.repo.createRecord")
        + bluesky_pds.requests("com.atproto.repo.putRecord")
        == creates
    )
    [record] = bluesky_pds.list_posts(poster.did)
    assert record["uri"] == published.remote_id
    assert bluesky_pds.get_record(first["uri"]) is None


def test_bluesky_without_the_opt_in_nothing_is_deleted(app, on_bluesky, bluesky_pds):
    artist, artwork, poster, first = on_bluesky
    artist.patch("/api/v1/people/hyena", json={"name": "Hyena Gal"})
    assert attempt(app) == []
    assert [p["uri"] for p in bluesky_pds.list_posts(poster.did)] == [first["uri"]]
    assert [c["state"] for c in copies(artist, artwork)] == ["stale"]
    assert reposts(artist) == []


# -- X (loopback API) ---------------------------------------------------------------------------


def posts_sent(x_server) -> int:
    return len([r for r in x_server.requests if (r.method, r.path) == ("POST", "/2/tweets")])


def test_x_repost_then_delete(app, client, on_x, x_server):
    artist, artwork, first = on_x
    assert "@/hyena_dude" in first["text"]
    opt_in(artist, artwork)
    artist.patch("/api/v1/people/hyena", json={"accounts": {"twitter": "hyena_art"}})
    assert attempt(app) == ["posted"]
    [tweet] = x_server.tweets
    assert tweet["id"] != first["id"]
    assert "@/hyena_art" in tweet["text"] and "@/hyena_dude" not in tweet["text"]
    assert [t["id"] for t in x_server.deleted] == [first["id"]]
    assert posts_sent(x_server) == 2  # the first post and the repost, nothing more
    calls = x_server.calls()
    assert calls.index(("POST", "/2/tweets"), 2) < calls.index(
        ("DELETE", f"/2/tweets/{first['id']}")
    )  # posted first, deleted after
    assert [c["state"] for c in copies(artist, artwork)] == ["replaced", "synced"]
    public_id = artist.get(f"/api/v1/artworks/{artwork['id']}").json["public_id"]
    assert works_at(client, f"https://x.com/artist/status/{first['id']}") == [public_id]


def test_x_failed_delete_is_retried_without_a_second_post(app, on_x, x_server):
    artist, artwork, first = on_x
    opt_in(artist, artwork)
    artist.patch("/api/v1/people/hyena", json={"accounts": {"twitter": "hyena_art"}})
    x_server.fail_next(1, status=503, method="DELETE")
    assert attempt(app) == ["retry_wait"]
    assert len(x_server.tweets) == 2 and x_server.deleted == []  # new one up, old one too
    assert [c["state"] for c in copies(artist, artwork)] == ["reposting", "synced"]
    [waiting] = reposts(artist)
    assert "503" in (waiting["last_error"] or "") or waiting["last_error"]
    assert attempt(app, later(app, waiting["id"])) == ["posted"]
    assert posts_sent(x_server) == 2  # the retry only deleted
    assert [t["id"] for t in x_server.deleted] == [first["id"]]
    [tweet] = x_server.tweets
    assert "@/hyena_art" in tweet["text"]
    assert [c["state"] for c in copies(artist, artwork)] == ["replaced", "synced"]


def test_x_lost_answer_to_the_new_post_is_found_not_posted_again(app, on_x, x_server):
    artist, artwork, first = on_x
    opt_in(artist, artwork)
    artist.patch("/api/v1/people/hyena", json={"accounts": {"twitter": "hyena_art"}})
    x_server.fail_next(1, status=0, path="/2/tweets", method="POST", after=True)
    assert attempt(app) == ["retry_wait"]  # posted, but the answer was lost
    [waiting] = reposts(artist)
    assert row(app, waiting["id"]).outcome_unknown
    assert attempt(app, later(app, waiting["id"])) == ["posted"]
    assert posts_sent(x_server) == 2
    [tweet] = x_server.tweets
    assert "@/hyena_art" in tweet["text"]
    assert [t["id"] for t in x_server.deleted] == [first["id"]]


def test_x_newer_change_replaces_a_waiting_repost(app, on_x, x_server):
    artist, artwork, _ = on_x
    opt_in(artist, artwork)
    artist.patch("/api/v1/people/hyena", json={"accounts": {"twitter": "hyena_art"}})
    artist.patch("/api/v1/people/hyena", json={"accounts": {"twitter": "hyena_arts"}})
    assert sorted((d["revision"], d["state"]) for d in reposts(artist)) == [
        (2, "cancelled"),
        (3, "scheduled"),
    ]
    assert attempt(app) == ["posted"]
    [tweet] = x_server.tweets
    assert "@/hyena_arts" in tweet["text"]
    assert posts_sent(x_server) == 2


def test_x_opting_in_later_queues_the_stale_copy(app, on_x, x_server):
    artist, artwork, _ = on_x
    artist.patch("/api/v1/people/hyena", json={"accounts": {"twitter": "hyena_art"}})
    assert attempt(app) == []  # no opt-in: the copy stays, stale
    assert [c["state"] for c in copies(artist, artwork)] == ["stale"]
    assert x_server.deleted == []
    opt_in(artist, artwork)
    assert [c["state"] for c in copies(artist, artwork)] == ["reposting"]
    opt_in(artist, artwork, False)  # changed their mind before it ran
    assert [d["state"] for d in reposts(artist)] == ["cancelled"]
    assert attempt(app) == []
    assert x_server.deleted == [] and posts_sent(x_server) == 1


def test_x_same_text_is_refused_and_the_old_post_stays(app, on_x, x_server):
    """Only the alt text changed: X refuses a second post with the same text, and the adapter
    finds the existing post — the OLD one. The repost must not delete it."""
    artist, artwork, first = on_x
    opt_in(artist, artwork)
    artist.patch(f"/api/v1/artworks/{artwork['id']}", json={"alt_text": ["A hyena, at dusk"]})
    assert attempt(app) == ["failed"]
    [failed] = reposts(artist)
    assert "old post stays" in failed["last_error"]
    assert [t["id"] for t in x_server.tweets] == [first["id"]] and x_server.deleted == []
    assert [c["state"] for c in copies(artist, artwork)] == ["failed"]
