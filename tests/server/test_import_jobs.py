"""Import jobs (server/import_jobs.py, server/api/imports.py): an import queued over the API,
run by the worker's tick with its progress in the database, and taken over after a crash.

Real database (both backends), real adapter code over HTTP to the loopback Mastodon server.
A crash is either a ``BaseException`` raised from the progress observer (like a killed
process, it leaves the job ``running`` with its lease, and nothing in the import catches it)
or a real worker process killed with SIGKILL.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from server import db, import_jobs, importer
from server.models import Account, Artwork, Copy, ImportJob, utcnow
from tests.server.test_import import MEDIA_PATH, MediaMastodon, connect, encoded, picture


class Crash(BaseException):
    """The worker process dying mid-import."""


@pytest.fixture
def mastodon():
    server = MediaMastodon(tokens={"tok": "tanraak"})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def ready(app):
    app.config["IMPORT_ALLOW_LOOPBACK"] = True
    app.config["IMPORT_PROGRESS_SECONDS"] = 0  # write every post's progress
    return app


def seed(mastodon, n: int) -> None:
    for i in range(n):
        mastodon.add_image_status("tanraak", f"Job piece {i}", encoded(picture(300 + i)))


def job_row(app, job_id: int) -> ImportJob:
    with db.session_scope(app) as session:
        job = session.get(ImportJob, job_id)
        session.expunge(job)
        return job


def copies(app) -> int:
    with db.session_scope(app) as session:
        return session.scalar(select(func.count(Copy.id)))


def test_the_job_api_queues_one_import_per_account_and_lists_it(
    ready, artist, other_artist, mastodon
):
    account_id = connect(artist, mastodon)
    url = f"/api/v1/accounts/{account_id}/import/jobs"
    assert artist.get(url).json == {"items": []}

    started = artist.post(url, json={"since": "2020-01-01T00:00:00Z", "limit": 10})
    assert started.status_code == 202, started.json
    job = started.json
    assert (job["state"], job["total"], job["done"], job["percent"]) == ("queued", 0, 0, 0)
    again = artist.post(url, json={})
    assert again.status_code == 202 and again.json["id"] == job["id"]  # not a second import
    assert [j["id"] for j in artist.get(url).json["items"]] == [job["id"]]
    stored = job_row(ready, job["id"])
    assert stored.max_posts == 10 and stored.since == dt.datetime(2020, 1, 1, tzinfo=dt.UTC)

    # another artist can neither see nor start it
    assert other_artist.get(url).status_code == 404
    assert other_artist.post(url, json={}).status_code == 404
    assert artist.post(url, json={"since": "2020-01-01"}).status_code == 400  # no time zone
    assert artist.post(url, json={"limit": 0}).status_code == 400
    assert artist.post("/api/v1/accounts/999999/import/jobs", json={}).status_code == 404


def test_the_worker_runs_the_job_and_writes_progress_as_it_goes(ready, artist, mastodon):
    seed(mastodon, 5)
    account_id = connect(artist, mastodon)
    url = f"/api/v1/accounts/{account_id}/import/jobs"
    job_id = artist.post(url, json={}).json["id"]

    with db.session_scope(ready) as session:
        assert import_jobs.claim(session, "w1", utcnow(), 300) == job_id
    with db.session_scope(ready) as session:  # nothing else to claim while it is held
        assert import_jobs.claim(session, "w2", utcnow(), 300) is None
    seen: list[tuple[str, int, int, int]] = []

    def observe(done: int, total: int) -> None:
        row = job_row(ready, job_id)  # what a poll would read right now
        seen.append((row.state, row.done, row.total, row.new))

    assert import_jobs.run_job(ready, job_id, "w1", observe=observe) == "done"
    assert seen[0] == ("running", 0, 5, 0)
    assert [s[1] for s in seen] == [0, 1, 2, 3, 4, 5]
    assert [s[3] for s in seen] == [0, 1, 2, 3, 4, 5]  # new copies, counted as they come

    [job] = artist.get(url).json["items"]
    assert (job["state"], job["total"], job["done"], job["new"], job["percent"]) == (
        "done",
        5,
        5,
        5,
        100,
    )
    assert job["report"]["imported"] == 5 and job["report"]["failed"] == []
    assert job["finished_at"] is not None and job["error"] is None
    assert copies(ready) == 5

    # the tick runs what is queued; a second import of the same account adds nothing
    second = artist.post(url, json={}).json
    assert second["id"] != job_id and second["state"] == "queued"
    assert import_jobs.tick(ready, "w3") == 1
    done = artist.get(url).json["items"][0]
    assert (done["state"], done["new"], done["report"]["skipped"]) == ("done", 0, 5)
    assert import_jobs.tick(ready, "w3") == 0
    assert copies(ready) == 5


def test_a_worker_crash_mid_import_is_taken_over_without_duplicates(ready, artist, mastodon):
    seed(mastodon, 6)
    account_id = connect(artist, mastodon)
    job_id = artist.post(f"/api/v1/accounts/{account_id}/import/jobs", json={}).json["id"]

    with db.session_scope(ready) as session:
        assert import_jobs.claim(session, "dies", utcnow(), 60) == job_id

    def crash_after_three(done: int, total: int) -> None:
        if done == 3:
            raise Crash()

    with pytest.raises(Crash):
        import_jobs.run_job(ready, job_id, "dies", observe=crash_after_three)
    left = job_row(ready, job_id)
    assert (left.state, left.done, left.lease_owner) == ("running", 3, "dies")
    assert copies(ready) == 3

    # while the lease holds nobody takes it; once it has run out, another worker does
    with db.session_scope(ready) as session:
        assert import_jobs.claim(session, "takes-over", utcnow(), 60) is None
    later = utcnow() + dt.timedelta(seconds=ready.config["LEASE_SECONDS"] + 1)
    with db.session_scope(ready) as session:
        assert import_jobs.claim(session, "takes-over", later, 60) == job_id
    # the dead worker's late write is refused: it no longer holds the job
    with pytest.raises(import_jobs.LeaseLost):
        import_jobs._write(ready, job_id, "dies", done=1)

    assert import_jobs.run_job(ready, job_id, "takes-over") == "done"
    job = job_row(ready, job_id)
    assert (job.state, job.attempts, job.total, job.done) == ("done", 2, 6, 6)
    assert job.report["imported"] == 3 and job.report["skipped"] == 3
    assert job.new == 3
    assert copies(ready) == 6  # no duplicates
    with db.session_scope(ready) as session:
        remote_ids = list(session.scalars(select(Copy.remote_id)))
    assert len(set(remote_ids)) == 6


def test_a_job_that_cannot_read_the_account_fails_with_the_reason(ready, artist, mastodon):
    created = artist.post("/api/v1/accounts", json={"platform": "mastodon", "name": "no creds"})
    job_id = artist.post(f"/api/v1/accounts/{created.json['id']}/import/jobs", json={}).json["id"]
    assert import_jobs.tick(ready, "w1") == 1
    job = artist.get(f"/api/v1/accounts/{created.json['id']}/import/jobs").json["items"][0]
    assert job["id"] == job_id and job["state"] == "failed"
    assert "no credentials" in job["error"]


def test_a_job_given_up_after_repeated_crashes(ready, artist, mastodon):
    account_id = connect(artist, mastodon)
    job_id = artist.post(f"/api/v1/accounts/{account_id}/import/jobs", json={}).json["id"]
    when = utcnow()
    for attempt in range(import_jobs.MAX_ATTEMPTS + 1):
        when += dt.timedelta(seconds=120)
        with db.session_scope(ready) as session:
            assert import_jobs.claim(session, f"w{attempt}", when, 60) == job_id
    assert import_jobs.run_job(ready, job_id, f"w{import_jobs.MAX_ATTEMPTS}") == "failed"
    assert "repeated" in job_row(ready, job_id).error


class SlowMedia(MediaMastodon):
    """Media files answered ``media_delay`` seconds late, so an import takes a while."""

    media_delay = 0.0

    def _route(self, request, record):
        if MEDIA_PATH.fullmatch(request.path) and self.media_delay:
            time.sleep(self.media_delay)
        return super()._route(request, record)


WORKER_SCRIPT = """
import json, sys, time
from server.app import create_app
from server import import_jobs
app = create_app(json.loads(sys.argv[1]))
while True:
    import_jobs.tick(app, "doomed")
    time.sleep(0.05)
"""


def test_a_killed_worker_process_is_taken_over_without_duplicates(ready, artist, tmp_path):
    """A real worker process (the import tick in a loop) is killed with SIGKILL mid-import;
    once its lease has run out another worker takes the job over and finishes it."""
    server = SlowMedia(tokens={"tok": "tanraak"})
    server.start()
    worker = None
    log = (tmp_path / "worker.log").open("wb")
    try:
        seed(server, 8)
        server.media_delay = 0.25
        account_id = connect(artist, server)
        job_id = artist.post(f"/api/v1/accounts/{account_id}/import/jobs", json={}).json["id"]
        config = {
            key: ready.config[key]
            for key in ("DATABASE_URL", "INSTANCE_PATH", "MAX_IMAGE_BYTES", "MAX_IMAGE_PIXELS")
        }
        config.update(
            TESTING=True, IMPORT_ALLOW_LOOPBACK=True, IMPORT_PROGRESS_SECONDS=0, LEASE_SECONDS=2
        )
        worker = subprocess.Popen(
            [sys.executable, "-c", WORKER_SCRIPT, json.dumps(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while job_row(ready, job_id).done < 3:
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            assert time.monotonic() < deadline, "the worker process did not get going"
            time.sleep(0.05)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)
        left = job_row(ready, job_id)
        assert (left.state, left.lease_owner) == ("running", "doomed")
        assert 3 <= copies(ready) < 8  # it died in the middle

        server.media_delay = 0
        assert import_jobs.tick(ready, "survivor") == 0  # its lease still holds
        time.sleep(2.2)
        assert import_jobs.tick(ready, "survivor") == 1
        job = job_row(ready, job_id)
        assert (job.state, job.attempts, job.total, job.done) == ("done", 2, 8, 8)
        assert job.report["imported"] + job.report["skipped"] == 8
        assert copies(ready) == 8  # no duplicates, none lost
        with db.session_scope(ready) as session:
            remote_ids = list(session.scalars(select(Copy.remote_id)))
        assert sorted(remote_ids) == sorted(s["id"] for s in server.statuses)
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
        log.close()
        server.stop()


# -- one import per account, one record per post, a bounded run -------------------------------


def active_jobs(app, account_id: int) -> list[int]:
    with db.session_scope(app) as session:
        return list(
            session.scalars(
                select(ImportJob.id).where(
                    ImportJob.account_id == account_id,
                    ImportJob.state.in_(import_jobs.ACTIVE_STATES),
                )
            )
        )


def test_two_starts_at_once_queue_one_job(ready, artist, mastodon):
    """Two requests (a double click) each pass the "already active?" check before the other
    commits: the unique index makes the second wait and answer with the first's job."""
    account_id = connect(artist, mastodon)
    first_inserted, second_started = threading.Event(), threading.Event()
    results: dict[str, tuple[int, bool]] = {}
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with db.session_scope(ready) as session:
                job, created = import_jobs.start(session, session.get(Account, account_id))
                results["first"] = (job.id, created)
                first_inserted.set()
                second_started.wait(10)
                time.sleep(0.5)  # the second is now past its check, at its insert
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
            first_inserted.set()

    def second() -> None:
        try:
            first_inserted.wait(10)
            with db.session_scope(ready) as session:
                account = session.get(Account, account_id)
                second_started.set()
                job, created = import_jobs.start(session, account)
                results["second"] = (job.id, created)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert results["first"][1] is True
    assert results["second"] == (results["first"][0], False)
    assert active_jobs(ready, account_id) == [results["first"][0]]


def test_the_database_refuses_a_second_active_job_for_an_account(ready, artist, mastodon):
    account_id = connect(artist, mastodon)
    with db.session_scope(ready) as session:
        user_id = session.get(Account, account_id).user_id
        session.add(ImportJob(user_id=user_id, account_id=account_id, state="running"))
    with pytest.raises(IntegrityError), db.session_scope(ready) as session:
        session.add(ImportJob(user_id=user_id, account_id=account_id, state="queued"))
    with db.session_scope(ready) as session:  # finished ones do not count
        session.add(ImportJob(user_id=user_id, account_id=account_id, state="done"))
        session.add(ImportJob(user_id=user_id, account_id=account_id, state="failed"))
    assert len(active_jobs(ready, account_id)) == 1


def run_together(app, runs: list[tuple[int, int]]) -> list[importer.Report]:
    """``importer.run`` for each (user, account) in its own thread, all at once."""
    reports: list[importer.Report] = []
    errors: list[BaseException] = []

    def go(user_id: int, account_id: int) -> None:
        try:
            reports.append(importer.run(app, user_id, account_id))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=go, args=run) for run in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert errors == []
    return reports


def test_two_imports_of_one_account_at_once_record_each_post_once(ready, artist, mastodon):
    """Two workers (or the API and a job) import one account at the same moment: both see the
    post as new and download it; only one may record it."""
    seed(mastodon, 2)
    account_id = connect(artist, mastodon)
    user_id = job_row_user(ready, account_id)
    mastodon.gate = threading.Barrier(2)  # both runs download each file at the same moment
    reports = run_together(ready, [(user_id, account_id), (user_id, account_id)])
    assert all(r.failed == [] for r in reports)
    assert sum(r.imported for r in reports) == 2  # each post once, by one run or the other
    assert sum(r.skipped for r in reports) == 2
    assert copies(ready) == 2
    with db.session_scope(ready) as session:
        assert session.scalar(select(func.count(Artwork.id))) == 2


def test_two_accounts_of_one_artist_imported_at_once_group_the_same_picture(
    ready, artist, mastodon
):
    mastodon.add_token("tok2", "second")
    same = encoded(picture(77))
    mastodon.add_image_status("tanraak", "Trisk", same)
    mastodon.add_image_status("second", "Trisk, reposted", same)
    first = connect(artist, mastodon)
    other = connect(artist, mastodon, token="tok2", name="@second")
    user_id = job_row_user(ready, first)
    mastodon.gate = threading.Barrier(2)
    reports = run_together(ready, [(user_id, first), (user_id, other)])
    assert sorted((r.new_artworks, r.grouped) for r in reports) == [(0, 1), (1, 0)]
    assert copies(ready) == 2
    with db.session_scope(ready) as session:
        assert session.scalar(select(func.count(Artwork.id))) == 1


def job_row_user(app, account_id: int) -> int:
    with db.session_scope(app) as session:
        return session.get(Account, account_id).user_id


def test_a_job_past_its_time_is_failed_even_while_the_account_is_being_read(
    ready, artist, mastodon
):
    """The heartbeat stops renewing at ``IMPORT_JOB_SECONDS`` and marks the job failed while
    the import is still stuck reading the account; nothing is recorded after it."""
    seed(mastodon, 1)
    account_id = connect(artist, mastodon)
    ready.config.update(IMPORT_JOB_SECONDS=1.0, LEASE_SECONDS=0.6)
    mastodon.delay_next(1, 6.0, path="/api/v1/accounts/", after=False)  # the listing hangs
    job_id = artist.post(f"/api/v1/accounts/{account_id}/import/jobs", json={}).json["id"]
    started = utcnow()
    seen: list[str] = []

    def watch() -> None:  # what the import page would show meanwhile
        time.sleep(3.0)
        seen.append(job_row(ready, job_id).state)

    watcher = threading.Thread(target=watch)
    watcher.start()
    assert import_jobs.tick(ready, "w1") == 1
    watcher.join(15)
    job = job_row(ready, job_id)
    assert seen == ["failed"]  # marked after 1 s, while the listing was still hanging
    assert job.state == "failed" and "IMPORT_JOB_SECONDS" in job.error
    assert job.lease_owner is None and job.lease_expires_at is None
    assert job.finished_at - started < dt.timedelta(seconds=4.5)  # not when the listing ends
    assert copies(ready) == 0
    with db.session_scope(ready) as session:  # and no other worker takes it over to re-run it
        assert import_jobs.claim(session, "w2", utcnow() + dt.timedelta(hours=1), 60) is None


def test_an_api_import_stops_at_its_deadline(ready, artist, mastodon):
    seed(mastodon, 2)
    account_id = connect(artist, mastodon)
    ready.config["IMPORT_JOB_SECONDS"] = 0
    r = artist.post(f"/api/v1/accounts/{account_id}/import", json={})
    assert r.status_code == 504, r.json
    assert r.json["error"]["code"] == "timeout"
    assert "IMPORT_JOB_SECONDS" in r.json["error"]["message"]
    assert copies(ready) == 0
