"""Import jobs: an account's import run by a worker, with progress the web page can show.

The ``import_jobs`` table is the queue, the way the deliveries table is for posting:

- ``start`` queues a job for an account (or returns the one already queued or running for
  it, so a double click starts one import);
- the worker's ``import_jobs`` tick ``claim``s one job with a single ``UPDATE … WHERE id IN
  (SELECT … FOR UPDATE SKIP LOCKED) RETURNING`` and a lease, and ``run_job`` runs
  ``importer.run`` writing ``total``/``done``/``new`` as posts are handled;
- every write is conditional on still holding the lease, and a heartbeat thread extends it
  while the account is being read (reading a FurAffinity gallery is one page per post);
- a worker that dies leaves its job ``running`` with a lease that runs out; the next claim
  takes it over and runs the import again from the start. That adds no duplicates: each post
  is committed on its own, and a post already recorded as a copy is skipped.

A job is tried at most ``MAX_ATTEMPTS`` times, then it is ``failed``. Each attempt has
``IMPORT_JOB_SECONDS`` of wall-clock time: the importer stops between posts after it, and the
heartbeat stops renewing the lease and marks the job ``failed`` with the reason, so that an
account that never ends (a hostile listing) cannot keep a worker's queue waiting for good and
is not taken over and re-run by another worker either. Only one job per account can be
queued or running (a partial unique index), and recording a post is serialised per artist
(``importer._lock_user``), so overlapping imports never record a post twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server import db, importer
from server.models import Account, ImportJob, utcnow

log = logging.getLogger(__name__)

ACTIVE_STATES = ("queued", "running")
MAX_ATTEMPTS = 3
# Progress is written at most this often (and at the start and the end);
# ``IMPORT_PROGRESS_SECONDS`` in the configuration overrides it.
WRITE_EVERY_SECONDS = 0.5


class LeaseLost(Exception):
    """Another worker holds the job now (this one stalled past its lease): stop quietly."""


@dataclass(frozen=True)
class Progress:
    """What the page shows: a job's state and counts, and its report once it is done."""

    id: int
    account_id: int
    state: str
    total: int
    done: int
    new: int
    percent: int
    error: str | None
    report: dict[str, Any] | None
    created_at: dt.datetime
    updated_at: dt.datetime
    finished_at: dt.datetime | None

    @classmethod
    def of(cls, job: ImportJob) -> Progress:
        if job.state == "done":
            percent = 100
        elif job.total:
            percent = min(99, job.done * 100 // job.total)
        else:
            percent = 0
        return cls(
            id=job.id,
            account_id=job.account_id,
            state=job.state,
            total=job.total,
            done=job.done,
            new=job.new,
            percent=percent,
            error=job.error,
            report=job.report,
            created_at=job.created_at,
            updated_at=job.updated_at,
            finished_at=job.finished_at,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "account_id": self.account_id,
            "state": self.state,
            "total": self.total,
            "done": self.done,
            "new": self.new,
            "percent": self.percent,
            "error": self.error,
            "report": self.report,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


# -- the artist's side --------------------------------------------------------------------------


def start(
    session: Session,
    account: Account,
    *,
    since: dt.datetime | None = None,
    limit: int | None = None,
) -> tuple[ImportJob, bool]:
    """Queue an import of ``account`` (already checked to be the caller's); returns the job
    and whether it is new. An import already queued or running for the account is returned
    as it is. Does not commit.

    The check below is only the fast path: two requests at once (a double click, the API and
    the web app) both pass it, so the unique index on active jobs per account decides, and the
    one that loses the insert (in a savepoint, so the caller's transaction goes on) answers
    with the job that won."""
    active = _active(session, account.id)
    if active is not None:
        return active, False
    job = ImportJob(
        user_id=account.user_id,
        account_id=account.id,
        since=since,
        max_posts=limit,
        state="queued",
    )
    try:
        with session.begin_nested():
            session.add(job)
            session.flush()
    except IntegrityError:
        # PostgreSQL made this insert wait for the other transaction: it is committed now
        active = _active(session, account.id)
        if active is None:  # the winner already finished: rare, the caller may simply retry
            raise
        log.info("import of account %s: already queued by a concurrent request", account.id)
        return active, False
    return job, True


def _active(session: Session, account_id: int) -> ImportJob | None:
    return session.scalar(
        select(ImportJob)
        .where(ImportJob.account_id == account_id, ImportJob.state.in_(ACTIVE_STATES))
        .order_by(ImportJob.id.desc())
        .limit(1)
    )


def jobs_of(session: Session, account: Account, limit: int = 20) -> list[ImportJob]:
    """The account's imports, newest first."""
    return list(
        session.scalars(
            select(ImportJob)
            .where(ImportJob.account_id == account.id, ImportJob.user_id == account.user_id)
            .order_by(ImportJob.id.desc())
            .limit(limit)
        )
    )


def latest(session: Session, account: Account) -> ImportJob | None:
    found = jobs_of(session, account, 1)
    return found[0] if found else None


# -- the worker's side ----------------------------------------------------------------------


def claim(session: Session, worker: str, now: dt.datetime, lease_seconds: float) -> int | None:
    """Atomically take the oldest queued job, or a running one whose worker went silent."""
    due = (
        select(ImportJob.id)
        .where(
            or_(
                ImportJob.state == "queued",
                (ImportJob.state == "running") & (ImportJob.lease_expires_at < now),
            )
        )
        .order_by(ImportJob.id)
        .limit(1)
    )
    if session.bind.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    claimed = session.scalars(
        update(ImportJob)
        .where(ImportJob.id.in_(due.scalar_subquery()))
        .values(
            state="running",
            lease_owner=worker,
            lease_expires_at=now + dt.timedelta(seconds=lease_seconds),
            attempts=ImportJob.attempts + 1,
            updated_at=now,
        )
        .returning(ImportJob.id)
        .execution_options(synchronize_session=False)
    ).all()
    if not claimed:
        return None
    return int(claimed[0])


def _write(app: Flask, job_id: int, worker: str, **values: Any) -> None:
    """Change the job if this worker still holds it; raises ``LeaseLost`` otherwise."""
    now = utcnow()
    lease = float(app.config["LEASE_SECONDS"])
    with db.session_scope(app) as session:
        if values.get("state") not in ("done", "failed"):
            values.setdefault("lease_expires_at", now + dt.timedelta(seconds=lease))
        changed = session.execute(
            update(ImportJob)
            .where(
                ImportJob.id == job_id,
                ImportJob.lease_owner == worker,
                ImportJob.state == "running",
            )
            .values(updated_at=now, **values)
            .execution_options(synchronize_session=False)
        ).rowcount
    if not changed:
        raise LeaseLost(f"import job {job_id} is no longer held by {worker}")


class _Heartbeat:
    """Extends the lease every third of it while the import runs (also while the account is
    being read, when there is no progress to write), until ``deadline`` (monotonic seconds):
    then it marks the job failed instead, even if the import is still stuck reading the
    platform, and sets ``expired``."""

    def __init__(self, app: Flask, job_id: int, worker: str, deadline: float) -> None:
        self.app, self.job_id, self.worker = app, job_id, worker
        self.deadline = deadline
        self.stop = threading.Event()
        self.lost = threading.Event()
        self.expired = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"import-{job_id}", daemon=True)

    def _beat(self) -> None:
        interval = max(float(self.app.config["LEASE_SECONDS"]) / 3, 0.05)
        while not self.stop.wait(min(interval, max(self.deadline - time.monotonic(), 0))):
            if time.monotonic() >= self.deadline:
                self.expired.set()
                log.warning("import job %s ran out of time: marked failed", self.job_id)
                self._fail_for_time()
                return
            try:
                _write(self.app, self.job_id, self.worker)
            except LeaseLost:
                self.lost.set()
                return
            except Exception:  # a database hiccup: try again at the next beat
                log.exception("heartbeat of import job %s failed", self.job_id)

    def _fail_for_time(self) -> None:
        error = timeout_message(self.app)
        for _ in range(3):  # a database hiccup: the lease runs out anyway, but say why
            try:
                if _finish(self.app, self.job_id, self.worker, "failed", error=error) == "lost":
                    self.lost.set()
                return
            except Exception:
                log.exception("import job %s: could not mark it failed", self.job_id)
                time.sleep(1)

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(5)


Observer = Callable[[int, int], None]


def job_seconds(app: Flask) -> float:
    """How long one import may run (``IMPORT_JOB_SECONDS``)."""
    return float(
        app.config.get("IMPORT_JOB_SECONDS", importer.IMPORT_DEFAULTS["IMPORT_JOB_SECONDS"])
    )


def timeout_message(app: Flask) -> str:
    """What a job stopped for time says on the import page."""
    return (
        f"the import took longer than {job_seconds(app):g} s (IMPORT_JOB_SECONDS) and was "
        "stopped; start it again to continue (posts already recorded are skipped)"
    )


def run_job(app: Flask, job_id: int, worker: str, *, observe: Observer | None = None) -> str:
    """Run a claimed job to its end; returns its final state (or "lost" when another worker
    took it over). ``observe(done, total)`` is called after each post's progress is saved."""
    with db.session_scope(app) as session:
        job = session.get(ImportJob, job_id)
        if job is None or job.lease_owner != worker:
            return "lost"
        user_id, account_id = job.user_id, job.account_id
        since, limit, attempts = job.since, job.max_posts, job.attempts
    if attempts > MAX_ATTEMPTS:
        return _finish(app, job_id, worker, "failed", error="stopped after repeated failures")
    report = importer.Report()
    last_write = 0.0
    every = float(app.config.get("IMPORT_PROGRESS_SECONDS", WRITE_EVERY_SECONDS))

    deadline = time.monotonic() + job_seconds(app)

    def progress(done: int, total: int, _post: importer.Post | None) -> None:
        nonlocal last_write
        now = time.monotonic()
        if heartbeat.expired.is_set():
            raise importer.TimedOut(timeout_message(app))
        if heartbeat.lost.is_set():
            raise LeaseLost(f"import job {job_id} was taken over")
        if done == total or done == 0 or now - last_write >= every:
            _write(app, job_id, worker, total=total, done=done, new=report.imported)
            last_write = now
        if observe is not None:
            observe(done, total)

    heartbeat = _Heartbeat(app, job_id, worker, deadline)
    try:
        with heartbeat:
            importer.run(
                app,
                user_id,
                account_id,
                since=since,
                limit=limit,
                progress=progress,
                report=report,
                deadline=deadline,
            )
    except LeaseLost:
        log.warning("import job %s: lease lost, another worker continues", job_id)
        return "lost"
    except importer.ImportFailed as exc:
        if heartbeat.expired.is_set() and not heartbeat.lost.is_set():
            return "failed"  # the heartbeat has marked it failed already
        return _finish(app, job_id, worker, "failed", error=exc.message)
    except Exception:
        log.exception("import job %s failed", job_id)
        return _finish(app, job_id, worker, "failed", error="unexpected error (see the log)")
    if heartbeat.expired.is_set():
        return "lost" if heartbeat.lost.is_set() else "failed"
    return _finish(app, job_id, worker, "done", report=report)


def _finish(
    app: Flask,
    job_id: int,
    worker: str,
    state: str,
    *,
    error: str | None = None,
    report: importer.Report | None = None,
) -> str:
    values: dict[str, Any] = {
        "state": state,
        "error": error,
        "finished_at": utcnow(),
        "lease_owner": None,
        "lease_expires_at": None,
    }
    if report is not None:
        values.update(report=report.as_dict(), new=report.imported)
    try:
        _write(app, job_id, worker, **values)
    except LeaseLost:
        return "lost"
    return state


_process_worker: str | None = None


def tick(app: Flask, worker: str | None = None) -> int:
    """The worker tick (``server/worker.py``): run queued imports one after another, as this
    process's worker id; returns how many ran."""
    global _process_worker
    if worker is None:
        from server.worker import worker_id

        _process_worker = _process_worker or worker_id()
        worker = _process_worker
    ran = 0
    while True:
        with db.session_scope(app) as session:
            job_id = claim(session, worker, utcnow(), float(app.config["LEASE_SECONDS"]))
        if job_id is None:
            return ran
        state = run_job(app, job_id, worker)
        log.info("import job %s: %s", job_id, state)
        ran += 1
