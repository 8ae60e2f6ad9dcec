"""Delivery engine benchmarks: fan-out and dispatch throughput.

Run: ``python bench/bench_delivery.py [--database URL] [--deliveries N]``.

1. Fan-out: one artwork to 10 Mastodon accounts on the loopback Mastodon server, every post
   answering 300 ms late. Baseline (same run): the same artwork to one account. The ratio shows
   how close 10 targets come to the slowest single one (1.0 is perfect; 10 would be serial).
2. Dispatch throughput: N due deliveries drained by 4 worker processes that claim and settle
   them through the real queue (no network: this measures the queue, not a platform). Baseline
   (same run): the same N drained by 1 process. Default database: the suite's PostgreSQL
   (``CREDITLINE_TEST_POSTGRES_URL``), else a SQLite file.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text

from server import create_app, db, uploads
from server.delivery import queue
from server.delivery.dispatcher import Dispatcher
from server.models import Account, Artwork, ArtworkImage, Delivery, User, utcnow
from tests.peers.mastodon_server import MastodonServer
from tests.server.helpers import png_bytes


def fresh_app(url: str, instance: str, **config):  # type: ignore[no-untyped-def]
    engine = db.make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public"))
    db.upgrade(engine)
    engine.dispose()
    return create_app({"DATABASE_URL": url, "INSTANCE_PATH": instance, **config})


def seed(app, accounts: int, artworks: int, instance_url: str = "http://127.0.0.1:9") -> None:
    with db.session_scope(app) as session:
        user = User(username="bench")
        session.add(user)
        session.flush()
        rows = [
            Account(
                user_id=user.id,
                platform="mastodon",
                name=f"a{i}",
                options={},
                credentials=app.extensions["creditline.vault"].seal(
                    {"instance": instance_url, "access_token": f"tok{i}"}
                ),
            )
            for i in range(accounts)
        ]
        image = uploads.store_for(app).save(io.BytesIO(png_bytes((32, 32))))
        for n in range(artworks):
            artwork = Artwork(
                user_id=user.id,
                public_id=f"b{n:09d}",
                title=f"Piece {n}",
                description="{credits}",
                rating="general",
                tags=[],
                content_flags=[],
            )
            artwork.images.append(
                ArtworkImage(
                    position=0,
                    sha256=image.sha256,
                    media_type=image.media_type,
                    width=32,
                    height=32,
                    size=image.size,
                )
            )
            session.add(artwork)
            session.add_all(
                Delivery(artwork=artwork, account=a, progress={}, idempotency_key=f"b{n}-{a.name}")
                for a in rows
            )


# -- 1. fan-out --------------------------------------------------------------------------------


def fan_out(targets: int, latency: float, instance: str) -> float:
    server = MastodonServer(tokens={f"tok{i}": f"user{i}" for i in range(targets)})
    server.start()
    url = f"sqlite:///{tempfile.mkdtemp(dir=instance)}/fanout.sqlite3"
    app = fresh_app(url, instance, WORKER_THREADS=16)
    try:
        seed(app, targets, 1, server.base_url)
        server.delay_next(targets, latency, path="/api/v1/statuses", after=False)
        dispatcher = Dispatcher(app, "bench")
        started = time.perf_counter()
        assert dispatcher.tick() == targets
        dispatcher.shutdown(wait=True)
        elapsed = time.perf_counter() - started
        assert len(server.statuses) == targets, "not every target posted"
        return elapsed
    finally:
        server.stop()
        db.engine_for(app).dispose()


# -- 2. dispatch throughput ---------------------------------------------------------------------


def drain(url: str, instance: str, worker: str) -> int:
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": instance})
    done = 0
    while True:
        with db.session_scope(app) as session:
            ids = queue.claim(session, worker, utcnow(), 50, 60)
            if not ids:
                break
            for delivery_id in ids:
                queue.finish(session, delivery_id, worker, utcnow(), state="posted")
            done += len(ids)
    db.engine_for(app).dispose()
    return done


def throughput(url: str, instance: str, deliveries: int, processes: int) -> float:
    app = fresh_app(url, instance)
    seed(app, 100, deliveries // 100)
    db.engine_for(app).dispose()
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        done = sum(pool.starmap(drain, [(url, instance, f"w{i}") for i in range(processes)]))
    elapsed = time.perf_counter() - started
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": instance})
    with db.session_scope(app) as session:
        posted = session.scalar(select(func.count()).where(Delivery.state == "posted"))
    db.engine_for(app).dispose()
    assert done == posted == deliveries, f"{done} claimed, {posted} posted of {deliveries}"
    return deliveries / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=os.environ.get("CREDITLINE_TEST_POSTGRES_URL"))
    parser.add_argument("--deliveries", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as instance:
        fan_out(1, 0.0, instance)  # warm-up: imports, first connections
        one = fan_out(1, 0.3, instance)
        ten = fan_out(10, 0.3, instance)
        print(
            f"fan-out, 300 ms per post: 1 target {one:.3f} s (baseline), "
            f"10 targets {ten:.3f} s, ratio {ten / one:.2f}"
        )
        url = args.database or f"sqlite:///{instance}/throughput.sqlite3"
        single = throughput(url, instance, args.deliveries, 1)
        four = throughput(url, instance, args.deliveries, 4)
        backend = url.split(":")[0]
        print(
            f"dispatch throughput ({backend}, {args.deliveries} due): 1 worker "
            f"{single:,.0f}/s (baseline), 4 workers {four:,.0f}/s, ratio {four / single:.2f}"
        )


if __name__ == "__main__":
    main()
