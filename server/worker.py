"""Background ticks run by APScheduler, in ``creditline serve`` or ``creditline worker``.

APScheduler only drives the clock; the work itself lives in the database (the deliveries table
is the queue), so any number of worker processes can run side by side. Its job store is the
in-memory one on purpose: APScheduler 3's persistent stores must not be shared between processes.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask
from sqlalchemy import update

from server import db
from server.models import Delivery, utcnow

log = logging.getLogger(__name__)

# States in which a worker holds a lease on a delivery.
LEASED_STATES = ("claimed", "uploading", "publishing")


@dataclass(frozen=True)
class Tick:
    name: str
    seconds: int
    run: Callable[[Flask], object]


def worker_id() -> str:
    """Who holds a lease: readable in the database, unique per process."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def reclaim_expired_leases(app: Flask, now: dt.datetime | None = None) -> int:
    """Hand deliveries whose worker vanished back to the queue; returns how many."""
    now = now or utcnow()
    with db.session_scope(app) as session:
        result = session.execute(
            update(Delivery)
            .where(Delivery.state.in_(LEASED_STATES), Delivery.lease_expires_at < now)
            .values(
                state="retry_wait",
                scheduled_at=now,
                lease_owner=None,
                lease_expires_at=None,
                last_error="the worker handling this delivery stopped; it will be retried",
            )
        )
    if result.rowcount:
        log.warning("reclaimed %d deliveries from expired leases", result.rowcount)
    return result.rowcount


def ticks(app: Flask) -> list[Tick]:
    """Every periodic job; subsystems add theirs to ``app.extensions['creditline.ticks']``."""
    extra: list[Tick] = app.extensions.get("creditline.ticks", [])
    return [Tick("reclaim_expired_leases", 60, reclaim_expired_leases), *extra]


def _guarded(app: Flask, tick: Tick) -> Callable[[], None]:
    def run() -> None:
        try:
            tick.run(app)
        except Exception:  # one failing tick must not stop the scheduler
            log.exception("tick %s failed", tick.name)

    return run


def build_scheduler(app: Flask, blocking: bool = False) -> BackgroundScheduler:
    scheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone=dt.UTC)
    for tick in ticks(app):
        scheduler.add_job(
            _guarded(app, tick),
            "interval",
            seconds=tick.seconds,
            id=tick.name,
            name=tick.name,
            max_instances=1,
            coalesce=True,
            next_run_time=utcnow(),
        )
    return scheduler
