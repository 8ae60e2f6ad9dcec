"""The dispatch tick: keep this process's pool of runners busy with due deliveries.

One ``Dispatcher`` per worker process. It claims only as many deliveries as it has free
threads, so a busy worker leaves work for the others, and one artwork's deliveries to N
accounts run side by side: the total time is close to the slowest platform, not the sum.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor

from flask import Flask
from sqlalchemy import select, update

from adapters import registry
from adapters.errors import AuthError, Unsupported
from server import db, vault
from server.delivery import queue, runner
from server.models import Account, Delivery, utcnow

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(self, app: Flask, worker: str) -> None:
        self.app = app
        self.worker = worker
        self.threads = int(app.config["WORKER_THREADS"])
        self.pool = ThreadPoolExecutor(self.threads, thread_name_prefix="creditline-delivery")
        self._lock = threading.Lock()
        self._running: dict[int, str] = {}  # delivery id -> platform

    def tick(self, _app: Flask | None = None) -> int:
        """Claim what fits in the free threads and start it; returns how many started."""
        now = utcnow()
        with self._lock:
            free = self.threads - len(self._running)
        with db.session_scope(self.app) as session:
            queue.expire_late(session, now, self.app.config["LATE_BOUND_SECONDS"])
            ids = queue.claim(session, self.worker, now, free, self.app.config["LEASE_SECONDS"])
            platforms = (
                dict(
                    session.execute(
                        select(Delivery.id, Account.platform)
                        .join(Account)
                        .where(Delivery.id.in_(ids))
                    ).all()
                )
                if ids
                else {}
            )
            ids = self._within_platform_limits(session, ids, platforms)
        for delivery_id in ids:
            with self._lock:
                self._running[delivery_id] = platforms[delivery_id]
            future = self.pool.submit(runner.run, self.app, delivery_id, self.worker)
            future.add_done_callback(lambda f, d=delivery_id: self._done(d, f))
        return len(ids)

    def _within_platform_limits(
        self,
        session,
        ids: list[int],  # type: ignore[no-untyped-def]
        platforms: dict[int, str],
    ) -> list[int]:
        """Hand back claims beyond a platform's concurrency limit (per worker process)."""
        with self._lock:
            busy = Counter(self._running.values())
        kept = []
        for delivery_id in ids:
            platform = platforms[delivery_id]
            limit = registry.get(platform).max_concurrency
            if limit is not None and busy[platform] >= limit:
                session.execute(
                    update(Delivery)
                    .where(Delivery.id == delivery_id)
                    .values(
                        state="scheduled",
                        lease_owner=None,
                        lease_expires_at=None,
                        attempts=Delivery.attempts - 1,
                    )
                )
                continue
            busy[platform] += 1
            kept.append(delivery_id)
        return kept

    def _done(self, delivery_id: int, future: Future[str]) -> None:
        with self._lock:
            self._running.pop(delivery_id, None)
        if future.exception() is not None:  # runner.run handles errors; this is a bug
            log.error("delivery %s: runner crashed", delivery_id, exc_info=future.exception())

    def busy(self) -> int:
        with self._lock:
            return len(self._running)

    def shutdown(self, wait: bool = True) -> None:
        self.pool.shutdown(wait=wait)


def reclaim(app: Flask) -> int:
    with db.session_scope(app) as session:
        return queue.reclaim_expired(session, utcnow())


def check_accounts(app: Flask) -> int:
    """Hourly: verify each active account's credentials, so a revoked login is noticed before
    a scheduled post needs it. Returns how many accounts were paused.

    The platform calls happen outside any database transaction; results are written after.
    """
    with db.session_scope(app) as session:
        accounts = [
            (a.id, a.platform, a.credentials)
            for a in session.scalars(select(Account).where(Account.state == "ok"))
        ]
    paused = 0
    for account_id, platform, sealed in accounts:
        adapter = registry.get(platform)
        try:
            credentials = vault.box_for(app).open(sealed) if sealed else {}
            adapter.check_auth(
                credentials,
                update_credentials=lambda new, a=account_id: runner.store_credentials(app, a, new),
            )
        except Unsupported:
            continue
        except AuthError as exc:
            _mark_checked(app, account_id, error=exc.message)
            paused += 1
            continue
        except Exception as exc:  # the site is down or the key is wrong: look again next hour
            log.info("account %s check inconclusive: %s", account_id, exc)
            continue
        _mark_checked(app, account_id)
    return paused


def _mark_checked(app: Flask, account_id: int, error: str | None = None) -> None:
    with db.session_scope(app) as session:
        account = session.get(Account, account_id)
        if account is None or account.state != "ok":
            return  # deleted or changed by the artist meanwhile
        account.last_checked_at = utcnow()
        if error is not None:
            account.state, account.last_error = "needs_attention", error
