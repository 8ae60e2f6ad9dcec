"""The queue's state changes: claims, leases, pacing, late schedules and the artist's actions."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid

import pytest
from sqlalchemy import select

from server import db
from server.delivery import queue
from server.models import Account, Artwork, Delivery, User, utcnow

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def make(app, username: str, n: int = 1, platform: str = "mastodon", **values) -> list[int]:
    """n deliveries of one artwork to n accounts of ``platform``."""
    with db.session_scope(app) as session:
        user = session.scalar(select(User).where(User.username == username))
        artwork = Artwork(
            user_id=user.id, public_id=uuid.uuid4().hex[:10], title="t", rating="general"
        )
        session.add(artwork)
        scheduled_at = values.pop("scheduled_at", NOW)
        ids = []
        for i in range(n):
            account = Account(user_id=user.id, platform=platform, name=f"acct{i}")
            delivery = Delivery(
                artwork=artwork,
                account=account,
                idempotency_key=uuid.uuid4().hex,
                scheduled_at=scheduled_at,
                **values,
            )
            session.add(delivery)
            session.flush()
            ids.append(delivery.id)
    return ids


def state(app, delivery_id: int) -> Delivery:
    with db.session_scope(app) as session:
        delivery = session.get(Delivery, delivery_id)
        session.expunge(delivery)
        return delivery


def claim(app, worker="w1", now=NOW, limit=10, lease=60.0) -> list[int]:
    with db.session_scope(app) as session:
        return queue.claim(session, worker, now, limit, lease)


def test_claim_takes_due_rows_once_and_sets_a_lease(app, artist):
    due = make(app, artist.username, 3)
    later = make(app, "tanraak", 1, scheduled_at=NOW + dt.timedelta(hours=1))
    got = claim(app, limit=2)
    assert got == due[:2]
    assert claim(app, worker="w2") == [due[2]]
    assert claim(app, worker="w3") == []
    held = state(app, due[0])
    assert (held.state, held.lease_owner, held.attempts) == ("claimed", "w1", 1)
    assert held.lease_expires_at == NOW + dt.timedelta(seconds=60)
    assert state(app, later[0]).state == "scheduled"


def test_concurrent_claims_never_share_a_delivery(app, artist):
    make(app, artist.username, 40)
    results: dict[str, list[int]] = {}

    def worker(name: str) -> None:
        got: list[int] = []
        for _ in range(10):
            got += claim(app, worker=name, limit=3)
        results[name] = got

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [d for got in results.values() for d in got]
    assert len(claimed) == 40
    assert len(set(claimed)) == 40


def test_paused_accounts_are_skipped(app, artist):
    [delivery_id] = make(app, artist.username)
    with db.session_scope(app) as session:
        session.get(Delivery, delivery_id).account.state = "needs_attention"
    assert claim(app) == []
    with db.session_scope(app) as session:
        session.get(Delivery, delivery_id).account.state = "ok"
    assert claim(app) == [delivery_id]


def test_paced_platforms_get_one_claim_per_account_and_a_next_slot(app, artist):
    from adapters import registry

    interval = registry.get("furaffinity").min_interval
    if interval <= 0:
        pytest.skip("furaffinity declares no pacing")
    first = make(app, artist.username, 1, platform="furaffinity")[0]
    with db.session_scope(app) as session:
        held = session.get(Delivery, first)
        other = Artwork(
            user_id=held.artwork.user_id, public_id="second", title="t2", rating="general"
        )
        session.add(
            Delivery(
                artwork=other,
                account_id=held.account_id,
                idempotency_key="second",
                scheduled_at=NOW,
            )
        )
    assert claim(app) == [first]
    assert claim(app, now=NOW + dt.timedelta(seconds=interval - 1)) == []
    assert len(claim(app, now=NOW + dt.timedelta(seconds=interval))) == 1


def test_expired_leases_are_reclaimed_and_publishing_ones_flagged(app, artist):
    a, b, c, d = make(app, artist.username, 4)
    claim(app, lease=10)
    with db.session_scope(app) as session:
        session.get(Delivery, b).state = "publishing"
        session.get(Delivery, c).lease_expires_at = NOW + dt.timedelta(hours=1)
        session.get(Delivery, d).state = "uploading"  # the adapter was running: it may have posted
    with db.session_scope(app) as session:
        assert queue.reclaim_expired(session, NOW + dt.timedelta(seconds=11)) == 3
    assert (state(app, a).state, state(app, a).outcome_unknown) == ("retry_wait", False)
    assert (state(app, b).state, state(app, b).outcome_unknown) == ("retry_wait", True)
    assert (state(app, d).state, state(app, d).outcome_unknown) == ("retry_wait", True)
    assert state(app, c).state == "claimed"
    assert state(app, a).lease_owner is None


def test_a_worker_that_lost_its_lease_cannot_write(app, artist):
    [delivery_id] = make(app, artist.username)
    claim(app, worker="old", lease=1)
    with db.session_scope(app) as session:
        queue.reclaim_expired(session, NOW + dt.timedelta(seconds=2))
    claim(app, worker="new", now=NOW + dt.timedelta(seconds=3))
    with pytest.raises(queue.LeaseLost), db.session_scope(app) as session:
        queue.checkpoint(session, delivery_id, "old", {"x": 1}, "publishing", NOW, 60)
    with pytest.raises(queue.LeaseLost), db.session_scope(app) as session:
        queue.finish(session, delivery_id, "old", NOW, state="posted")
    assert state(app, delivery_id).lease_owner == "new"


def test_checkpoint_saves_progress_and_reports_cancel(app, artist):
    [delivery_id] = make(app, artist.username)
    claim(app)
    with db.session_scope(app) as session:
        assert not queue.checkpoint(
            session, delivery_id, "w1", {"media_ids": ["9"]}, "publishing", NOW, 120
        )
    held = state(app, delivery_id)
    assert held.progress == {"media_ids": ["9"]}
    assert held.lease_expires_at == NOW + dt.timedelta(seconds=120)
    with db.session_scope(app) as session:
        queue.cancel(session.get(Delivery, delivery_id))
    with db.session_scope(app) as session:
        assert queue.checkpoint(session, delivery_id, "w1", {}, "publishing", NOW, 120)


def test_late_schedules_wait_for_the_artist(app, artist):
    late, recent = make(app, artist.username, 2)
    with db.session_scope(app) as session:
        session.get(Delivery, late).scheduled_at = NOW - dt.timedelta(hours=7)
        session.get(Delivery, recent).scheduled_at = NOW - dt.timedelta(hours=5)
    with db.session_scope(app) as session:
        assert queue.expire_late(session, NOW, 6 * 3600) == 1
    assert state(app, late).state == "needs_attention"
    assert "missed" in state(app, late).last_error
    assert claim(app) == [recent]


@pytest.mark.parametrize(
    ("start", "action", "end"),
    [
        ("scheduled", "cancel", "cancelled"),
        ("retry_wait", "cancel", "cancelled"),
        ("publishing", "cancel", "publishing"),  # stops at the next checkpoint
        ("posted", "cancel", None),
        ("scheduled", "reschedule", "scheduled"),
        ("needs_attention", "reschedule", "scheduled"),
        ("publishing", "reschedule", None),
        ("failed", "retry", "scheduled"),
        ("needs_attention", "retry", "scheduled"),
        ("posted", "retry", None),
        ("scheduled", "retry", None),
    ],
)
def test_artist_actions_through_the_api(app, artist, start, action, end):
    [delivery_id] = make(app, artist.username, state=start, attempts=3, outcome_unknown=True)
    body = {"scheduled_at": "2030-01-01T09:00:00+01:00"} if action == "reschedule" else None
    response = artist.post(f"/api/v1/deliveries/{delivery_id}/{action}", json=body)
    if end is None:
        assert response.status_code == 409
        assert start in response.json["error"]["message"]
        assert state(app, delivery_id).state == start
        return
    assert response.status_code == 200, response.json
    assert response.json["state"] == end
    after = state(app, delivery_id)
    if action == "cancel" and start == "publishing":
        assert after.cancel_requested and response.json["cancel_requested"]
    if action == "reschedule":
        assert after.scheduled_at == dt.datetime(2030, 1, 1, 8, 0, tzinfo=dt.UTC)
    if action == "retry":
        assert (after.attempts, after.outcome_unknown) == (0, False)


def test_reschedule_needs_a_time_zone(app, artist):
    [delivery_id] = make(app, artist.username)
    response = artist.post(
        f"/api/v1/deliveries/{delivery_id}/reschedule", json={"scheduled_at": "2030-01-01T09:00:00"}
    )
    assert response.status_code == 400
    assert "time zone" in response.json["error"]["message"]


def test_create_refuses_what_cannot_be_posted(app, artist):
    from tests.server.helpers import artwork_form, png_bytes

    no_image = artist.post("/api/v1/artworks", json={"title": "t", "rating": "general"}).json
    with_image = artist.post(
        "/api/v1/artworks", data=artwork_form({"title": "t", "rating": "general"}, png_bytes())
    ).json
    fa = artist.post("/api/v1/accounts", json={"platform": "furaffinity", "name": "me"}).json
    response = artist.post(
        f"/api/v1/artworks/{no_image['id']}/deliveries", json={"accounts": [fa["id"]]}
    )
    assert response.status_code == 400 and response.json["error"]["field"] == "images"
    response = artist.post(
        f"/api/v1/artworks/{with_image['id']}/deliveries", json={"accounts": [fa["id"], 999]}
    )
    assert response.status_code in (400, 404)
    assert response.json["error"]["field"].startswith("accounts.")
    assert artist.get("/api/v1/deliveries").json["items"] == []
    naive = artist.post(
        f"/api/v1/artworks/{with_image['id']}/deliveries",
        json={"accounts": [fa["id"]], "scheduled_at": "2030-01-01T09:00"},
    )
    assert naive.status_code == 400 and "time zone" in naive.json["error"]["message"]


def test_now_is_timezone_aware():
    assert utcnow().tzinfo is not None


def test_a_held_lease_can_be_extended_and_a_lost_one_cannot(app, artist):
    [delivery_id] = make(app, artist.username)
    claim(app, lease=10)
    later = NOW + dt.timedelta(seconds=8)
    with db.session_scope(app) as session:
        assert queue.extend_lease(session, delivery_id, "w1", later, 10)
        assert not queue.extend_lease(session, delivery_id, "someone-else", later, 10)
    assert state(app, delivery_id).lease_expires_at == later + dt.timedelta(seconds=10)


def test_heartbeat_keeps_a_slow_attempt_leased(app, artist):
    from server.delivery.runner import Heartbeat

    start = utcnow()
    [delivery_id] = make(app, artist.username, scheduled_at=start)
    with db.session_scope(app) as session:
        assert queue.claim(session, "w1", start, 1, 0.3) == [delivery_id]
    with Heartbeat(app, delivery_id, "w1", 0.3):
        # the lease (0.3 s) is renewed past its first expiry; polled with a deadline rather than
        # a fixed sleep, so a loaded machine delays the test instead of failing it
        deadline = time.monotonic() + 10
        while state(app, delivery_id).lease_expires_at <= start + dt.timedelta(seconds=0.5):
            assert time.monotonic() < deadline, "the heartbeat never renewed the lease"
            threading.Event().wait(0.05)
