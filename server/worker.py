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

from server.delivery.dispatcher import Dispatcher, check_accounts, reclaim
from server.models import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tick:
    name: str
    seconds: float
    run: Callable[[Flask], object]


def worker_id() -> str:
    """Who holds a lease: readable in the database, unique per process."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def ticks(app: Flask, dispatcher: Dispatcher) -> list[Tick]:
    """Every periodic job; subsystems add theirs to ``app.extensions['creditline.ticks']``."""
    from server import import_jobs  # (imports the importer; only workers need it)

    extra: list[Tick] = app.extensions.get("creditline.ticks", [])
    return [
        Tick("dispatch", app.config["DISPATCH_SECONDS"], dispatcher.tick),
        Tick("reclaim_expired_leases", max(app.config["LEASE_SECONDS"] / 4, 1), reclaim),
        Tick("check_accounts", 3600, check_accounts),
        Tick("import_jobs", app.config["DISPATCH_SECONDS"], import_jobs.tick),
        *extra,
    ]


def _guarded(app: Flask, tick: Tick) -> Callable[[], None]:
    def run() -> None:
        try:
            tick.run(app)
        except Exception:  # one failing tick must not stop the scheduler
            log.exception("tick %s failed", tick.name)

    return run


def build_scheduler(app: Flask, blocking: bool = False) -> BackgroundScheduler:
    """A scheduler whose jobs are this process's ticks; ``scheduler.dispatcher`` runs posts."""
    dispatcher = Dispatcher(app, worker_id())
    scheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone=dt.UTC)
    scheduler.dispatcher = dispatcher  # type: ignore[attr-defined]
    for tick in ticks(app, dispatcher):
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
