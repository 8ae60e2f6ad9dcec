"""Chaos: 500 deliveries, 4 worker processes killed and restarted at random, on PostgreSQL.

The platform is the loopback Mastodon server (real HTTP, Idempotency-Key dedupe). Every
delivery must end terminal, none may be posted twice, none may be lost: each posted delivery's
status exists on the server, and the server holds no status no delivery accounts for.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from typing import IO

import pytest
from sqlalchemy import func, select, text

from server import create_app, db, uploads
from server.delivery.queue import TERMINAL_STATES
from server.models import Account, Artwork, ArtworkImage, Base, Delivery, Person, User
from tests.peers.mastodon_server import MastodonServer
from tests.server.helpers import png_bytes

DELIVERIES = 500
ARTWORKS = 50
WORKERS = 4
KILLS = 20
DEADLINE = 240.0  # seconds for one run


@pytest.fixture
def chaos_db(postgres_url: str) -> str:
    engine = db.make_engine(postgres_url)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return postgres_url


def seed(app, server: MastodonServer) -> None:
    """ARTWORKS artworks × (DELIVERIES / ARTWORKS) accounts, every delivery due now."""
    per_artwork = DELIVERIES // ARTWORKS
    with db.session_scope(app) as session:
        user = User(username="chaos")
        session.add(user)
        session.flush()
        session.add(Person(user_id=user.id, key="artist", name="Chaos Artist"))
        accounts = []
        for i in range(per_artwork):
            token = f"tok{i}"
            server.add_token(token, f"user{i}")
            accounts.append(
                Account(
                    user_id=user.id,
                    platform="mastodon",
                    name=f"@user{i}",
                    credentials=app.extensions["creditline.vault"].seal(
                        {"instance": server.base_url, "access_token": token}
                    ),
                    options={},
                )
            )
        session.add_all(accounts)
        image = uploads.store_for(app).save(io.BytesIO(png_bytes((32, 32))))
        for n in range(ARTWORKS):
            artwork = Artwork(
                user_id=user.id,
                public_id=f"chaos{n:04d}",
                title=f"Piece {n}",
                description="Drawn for the chaos test {credits}",
                rating="general",
                tags=[],
                content_flags=[],
            )
            artwork.images.append(
                ArtworkImage(
                    position=0,
                    sha256=image.sha256,
                    media_type=image.media_type,
                    width=image.width,
                    height=image.height,
                    size=image.size,
                    alt_text="a square",
                )
            )
            session.add(artwork)
            for account in accounts:
                session.add(
                    Delivery(
                        artwork=artwork,
                        account=account,
                        idempotency_key=f"chaos-{n}-{account.name}",
                        progress={},
                    )
                )


def start_worker(env: dict[str, str], log: IO[bytes]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", "from server.cli import main; main()", "worker"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def counts(app) -> Counter:
    with db.session_scope(app) as session:
        return Counter(
            dict(
                session.execute(select(Delivery.state, func.count()).group_by(Delivery.state)).all()
            )
        )


@pytest.mark.parametrize("failure_ratio", [0.0, 1 / 3], ids=["kills", "kills+errors"])
def test_chaos(chaos_db, tmp_path, failure_ratio, capsys, monkeypatch):
    instance = tmp_path / "instance"
    settings = {
        "DATABASE_URL": chaos_db,
        "INSTANCE_PATH": str(instance),
        "LEASE_SECONDS": "3",
        "DISPATCH_SECONDS": "0.2",
        "WORKER_THREADS": "4",
        "MAX_ATTEMPTS": "40",
        "RETRY_BASE_SECONDS": "0.2",
        "RETRY_CAP_SECONDS": "2",
    }
    # The test process reads its settings exactly as the worker processes do: from the
    # environment they inherit.
    for key, value in settings.items():
        monkeypatch.setenv(f"CREDITLINE_{key}", value)
    app = create_app()
    rng = random.Random(20261125)
    # A third of all requests fail: 5xx, 429 with a reset, dropped connections (some after
    # the post was made, the "timeout" case that tempts a naive client to post twice).
    server = MastodonServer(
        tokens={},
        fail_ratio=failure_ratio / 3,
        ambiguous_ratio=failure_ratio / 3,
        rate_limit_ratio=failure_ratio / 3,
        seed=7,
    )
    server.start()
    workers: list[subprocess.Popen] = []
    stack = contextlib.ExitStack()
    try:
        seed(app, server)
        env = dict(os.environ)
        log_path = tmp_path / "workers.log"
        log = stack.enter_context(log_path.open("ab"))
        workers = [start_worker(env, log) for _ in range(WORKERS)]
        kills = 0
        started = time.monotonic()
        while time.monotonic() - started < DEADLINE:
            time.sleep(rng.uniform(0.3, 1.2))
            if kills < KILLS:
                victim = rng.randrange(WORKERS)
                os.killpg(workers[victim].pid, signal.SIGKILL)
                workers[victim].wait()
                workers[victim] = start_worker(env, log)
                kills += 1
            state = counts(app)
            if kills >= KILLS and sum(state[s] for s in TERMINAL_STATES) == DELIVERIES:
                break
        elapsed = time.monotonic() - started
        state = counts(app)
        with db.session_scope(app) as session:
            posted = dict(
                session.execute(
                    select(Delivery.idempotency_key, Delivery.remote_id).where(
                        Delivery.state == "posted"
                    )
                ).all()
            )
        statuses = server.statuses
        per_key = Counter(s.get("_key") for s in statuses)
        duplicates = sum(n - 1 for n in per_key.values() if n > 1)
        on_server = {s["id"] for s in statuses}
        lost = [k for k, remote in posted.items() if remote not in on_server]
        unaccounted = [s["id"] for s in statuses if s.get("_key") not in posted]
        with capsys.disabled():
            print(
                f"\nchaos[{failure_ratio:.2f}]: {DELIVERIES} deliveries, {WORKERS} workers, "
                f"{kills} kills, {elapsed:.1f} s; states {dict(state)}; "
                f"statuses on server {len(statuses)}, duplicates {duplicates}, "
                f"lost {len(lost)}, unaccounted {len(unaccounted)}; "
                f"requests {len(server.requests)}"
            )
        assert kills >= KILLS
        assert sum(state[s] for s in TERMINAL_STATES) == DELIVERIES, (
            f"not all terminal after {elapsed:.0f} s: {dict(state)}; see {log_path}"
        )
        assert duplicates == 0
        assert lost == []
        assert unaccounted == []
        assert state["posted"] == DELIVERIES
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
        server.stop()
        stack.close()
        db.engine_for(app).dispose()
