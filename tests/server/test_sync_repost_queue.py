"""Delete-and-repost as a queue: one repost per copy (a superseded one never runs, even when
retried), no cancel half-way through a swap, the revision a copy really shows, the opt-in
turned off and on again, and a change racing the recording of a new post (PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import select

from server import db, sync
from server.delivery import queue, runner
from server.models import Artwork, Delivery, utcnow
from tests.server.test_delivery_runs import WORKER, attempt, later, prepare_bluesky, row
from tests.server.test_sync_repost import (
    copies,
    opt_in,
    posts_sent,
    reposts,
)


def rename(artist, handle: str) -> None:
    answer = artist.patch("/api/v1/people/hyena", json={"accounts": {"twitter": handle}})
    assert answer.status_code == 200, answer.json


# -- H5: two reposts never replace the same copy ------------------------------------------------


def fail_a_repost(app, artist, artwork, x_server) -> None:  # type: ignore[no-untyped-def]
    """Opt in, then a credit change whose repost X refuses (403): one failed repost."""
    opt_in(artist, artwork)
    x_server.fail_next(1, status=403, path="/2/tweets", method="POST", detail="Forbidden")
    rename(artist, "hyena_art")
    assert attempt(app) == ["failed"]


def test_a_failed_repost_is_superseded_by_a_newer_one_and_cannot_be_retried(app, on_x, x_server):
    artist, artwork, first = on_x
    fail_a_repost(app, artist, artwork, x_server)
    rename(artist, "hyena_arts")
    older, newer = sorted(reposts(artist), key=lambda d: d["id"])
    assert older["state"] == "cancelled" and older["last_error"].startswith(sync.SUPERSEDED)
    assert newer["state"] == "scheduled"

    refused = artist.post(f"/api/v1/deliveries/{older['id']}/retry")
    assert refused.status_code == 409
    assert "superseded" in refused.json["error"]["message"]

    assert attempt(app) == ["posted"]
    assert attempt(app, utcnow() + dt.timedelta(minutes=5)) == []
    [tweet] = x_server.tweets
    assert "@/hyena_arts" in tweet["text"]
    assert [t["id"] for t in x_server.deleted] == [first["id"]]
    assert [(c["state"], c["remote_id"]) for c in copies(artist, artwork)] == [
        ("replaced", first["id"]),
        ("synced", tweet["id"]),
    ]


def test_a_repost_whose_copy_was_already_replaced_stops_before_posting(app, on_x, x_server):
    artist, artwork, _first = on_x
    fail_a_repost(app, artist, artwork, x_server)
    [older] = reposts(artist)
    rename(artist, "hyena_arts")
    assert attempt(app) == ["posted"]  # the newer one replaced the copy
    # The older one comes back by some other way (an old client, a hand edit of the row):
    with db.session_scope(app) as session:
        again = session.get(Delivery, older["id"])
        again.state, again.scheduled_at, again.last_error = "scheduled", utcnow(), None
    sent = posts_sent(x_server)
    assert attempt(app) == ["cancelled"]
    assert posts_sent(x_server) == sent and len(x_server.tweets) == 1
    assert "already replaced" in row(app, older["id"]).last_error
    refused = artist.post(f"/api/v1/deliveries/{older['id']}/retry")
    assert refused.status_code == 409


# -- M1: no cancel half-way through a swap ------------------------------------------------------


def test_cancel_is_refused_once_the_new_post_is_up(app, on_x, x_server):
    artist, artwork, first = on_x
    opt_in(artist, artwork)
    rename(artist, "hyena_art")
    x_server.fail_next(1, status=503, method="DELETE")
    assert attempt(app) == ["retry_wait"]  # new post up, old one not deleted yet
    [waiting] = reposts(artist)
    refused = artist.post(f"/api/v1/deliveries/{waiting['id']}/cancel")
    assert refused.status_code == 409
    assert "cannot be cancelled now" in refused.json["error"]["message"]
    assert attempt(app, later(app, waiting["id"])) == ["posted"]
    assert [t["id"] for t in x_server.deleted] == [first["id"]] and len(x_server.tweets) == 1
    assert [c["state"] for c in copies(artist, artwork)] == ["replaced", "synced"]


def test_a_cancel_that_arrives_while_the_new_post_is_sent_does_not_stop_the_swap(
    app, on_x, x_server
):
    artist, artwork, first = on_x
    opt_in(artist, artwork)
    rename(artist, "hyena_art")
    [queued] = reposts(artist)
    x_server.fail_next(1, status=200, path="/2/tweets", method="POST", delay=1.5)  # slow answer
    ended: list[str] = []
    worker = threading.Thread(target=lambda: ended.extend(attempt(app)))
    worker.start()
    deadline = time.monotonic() + 10
    while row(app, queued["id"]).state != "publishing" and time.monotonic() < deadline:
        time.sleep(0.05)
    refused = artist.post(f"/api/v1/deliveries/{queued['id']}/cancel")
    assert refused.status_code == 409  # the artist is told; nothing is half-done
    with db.session_scope(app) as session:  # a cancel that got in anyway (e.g. an old client)
        session.get(Delivery, queued["id"]).cancel_requested = True
    worker.join(30)
    assert ended == ["posted"]
    [tweet] = x_server.tweets
    assert "@/hyena_art" in tweet["text"]
    assert [t["id"] for t in x_server.deleted] == [first["id"]]
    assert [c["state"] for c in copies(artist, artwork)] == ["replaced", "synced"]


def test_cancel_before_a_worker_starts_the_repost_still_works(app, on_x, x_server):
    artist, artwork, _ = on_x
    opt_in(artist, artwork)
    rename(artist, "hyena_art")
    [queued] = reposts(artist)
    assert artist.post(f"/api/v1/deliveries/{queued['id']}/cancel").status_code == 200
    assert attempt(app) == []
    assert posts_sent(x_server) == 1 and x_server.deleted == []


# -- M2: an adopted post keeps the revision it shows (the real Bluesky PDS) ---------------------


def test_a_post_adopted_after_a_crash_and_an_edit_is_caught_up(app, artist, bluesky_pds):
    poster, artwork, account = prepare_bluesky(artist, bluesky_pds, "adopted")
    answer = artist.post(
        f"/api/v1/artworks/{artwork['id']}/deliveries", json={"accounts": [account["id"]]}
    )
    [delivery_id] = answer.json["created"]
    # A worker creates the record, then dies before it can note anything.
    with db.session_scope(app) as session:
        assert queue.claim(session, WORKER, utcnow(), 1, 60) == [delivery_id]
    settings = runner.Settings.of(app)
    with db.session_scope(app) as session:
        delivery = session.get(Delivery, delivery_id)
        adapter = runner.registry.get("bluesky")
        job = runner._job(app, session, delivery, adapter, settings)
    published = runner.send(app, delivery_id, WORKER, adapter, job, settings)
    assert not isinstance(published, str), published
    with db.session_scope(app) as session:
        delivery = session.get(Delivery, delivery_id)
        delivery.progress = {}  # the checkpoints were lost with the worker
        delivery.lease_expires_at = utcnow() - dt.timedelta(seconds=1)
    with db.session_scope(app) as session:
        assert queue.reclaim_expired(session, utcnow()) == 1
    # The artist edits meanwhile; then the retry adopts the record made from the old version.
    artist.patch("/api/v1/people/hyena", json={"name": "Hyena Gal"})
    assert attempt(app, later(app, delivery_id)) == ["posted"]
    [record] = bluesky_pds.list_posts(poster.did)
    assert record["uri"] == published.remote_id and "Hyena Dude" in record["value"]["text"]
    assert row(app, delivery_id).revision == 1
    [copy] = copies(artist, artwork)
    assert copy["state"] == "stale"  # it shows revision 1, not the current 2


# -- L1: the opt-in turned off and on again -----------------------------------------------------


def test_turning_the_opt_in_off_and_on_again_queues_the_repost_again(app, on_x, x_server):
    artist, artwork, first = on_x
    rename(artist, "hyena_art")
    opt_in(artist, artwork)
    opt_in(artist, artwork, False)
    assert [d["state"] for d in reposts(artist)] == ["cancelled"]
    opt_in(artist, artwork, True)
    [queued] = reposts(artist)
    assert queued["state"] == "scheduled" and queued["last_error"] is None
    assert [c["state"] for c in copies(artist, artwork)] == ["reposting"]
    assert attempt(app) == ["posted"]
    assert [t["id"] for t in x_server.deleted] == [first["id"]] and len(x_server.tweets) == 1


# -- L2: a change while a repost records its new post (PostgreSQL row locks) --------------------


def test_a_change_committed_while_the_new_post_is_recorded_is_caught_up(app, on_x, x_server):
    with db.session_scope(app) as session:
        if session.bind.dialect.name != "postgresql":
            pytest.skip("row locks: SQLite has a single writer")
    artist, artwork, _first = on_x
    opt_in(artist, artwork)
    rename(artist, "hyena_art")
    [queued] = reposts(artist)
    with db.session_scope(app) as session:
        assert queue.claim(session, WORKER, utcnow(), 1, 60) == [queued["id"]]
    settings = runner.Settings.of(app)
    with db.session_scope(app) as session:
        delivery = session.get(Delivery, queued["id"])
        adapter = runner.registry.get("twitter")
        job = runner._job(app, session, delivery, adapter, settings)
    published = runner.send(app, queued["id"], WORKER, adapter, job, settings)
    assert not isinstance(published, str), published

    changed, go = threading.Event(), threading.Event()

    def artist_changes() -> None:  # as a web request does: the artwork row locked first
        with db.session_scope(app) as session:
            art = session.scalar(
                select(Artwork).where(Artwork.id == artwork["id"]).with_for_update()
            )
            art.title = "Trisk at dawn"
            sync.content_changed(session, art)
            session.flush()
            changed.set()
            go.wait(10)

    def worker_records() -> None:
        with db.session_scope(app) as session:
            queue.record_reposted(
                session, queued["id"], WORKER, published.remote_id, published.url, utcnow(), 60
            )

    change = threading.Thread(target=artist_changes)
    change.start()
    assert changed.wait(10)
    record = threading.Thread(target=worker_records)
    record.start()
    time.sleep(0.5)
    waited = record.is_alive()  # it waits for the change to commit
    go.set()
    change.join(10)
    record.join(10)
    assert waited
    catch_up = [d for d in reposts(artist) if d["id"] != queued["id"]]
    assert [(d["state"], d["remote_id"]) for d in catch_up] == [("scheduled", published.remote_id)]
