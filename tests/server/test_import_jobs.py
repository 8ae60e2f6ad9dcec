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
import time

import pytest
from sqlalchemy import func, select

from server import db, import_jobs
from server.models import Copy, ImportJob, utcnow
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
