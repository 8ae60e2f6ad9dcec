"""The worker's scheduler and the lease reclaim tick."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from server import db
from server.models import Delivery, utcnow
from server.worker import build_scheduler, reclaim_expired_leases
from tests.server.test_deliveries import add_delivery


def lease(app, delivery_id: int, state: str, expires: dt.datetime) -> None:
    with db.session_scope(app) as session:
        delivery = session.get(Delivery, delivery_id)
        delivery.state, delivery.lease_owner, delivery.lease_expires_at = state, "w1", expires


def test_expired_leases_are_reclaimed_and_live_ones_kept(app, artist, other_artist):
    now = utcnow()
    expired = add_delivery(app, artist.username)
    live = add_delivery(app, other_artist.username)
    lease(app, expired, "uploading", now - dt.timedelta(seconds=1))
    lease(app, live, "publishing", now + dt.timedelta(minutes=5))

    assert reclaim_expired_leases(app, now) == 1
    with db.session_scope(app) as session:
        rows = {d.id: d for d in session.scalars(select(Delivery))}
        assert rows[expired].state == "retry_wait"
        assert rows[expired].lease_owner is None
        assert "stopped" in rows[expired].last_error
        assert rows[live].state == "publishing"
        assert rows[live].lease_owner == "w1"
    assert reclaim_expired_leases(app, now) == 0


def test_scheduler_has_the_ticks_and_is_not_started_by_building(app):
    scheduler = build_scheduler(app)
    assert {job.id for job in scheduler.get_jobs()} == {"reclaim_expired_leases"}
    assert not scheduler.running
