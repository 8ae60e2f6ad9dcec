"""Search latency while the registry index rebuilds its tables in the background.

    .venv/bin/python bench/registry/rebuild_latency.py [--size 3000000]

Fills an index with random hashes, times radius-31 searches idle (the baseline), then adds
enough hashes to start a background rebuild and times searches until it is done; prints both
and their ratio, and the time a synchronous build of the same size takes (what searches used to
wait for). Results in bench/README.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from server.registry.index import MIHIndex

RADIUS = 31


def percentiles(index: MIHIndex, queries: np.ndarray) -> tuple[float, float]:
    took = []
    for q in queries:
        started = time.perf_counter()
        index.search(q, RADIUS)
        took.append(time.perf_counter() - started)
    return float(np.percentile(took, 50)) * 1e3, float(np.percentile(took, 99)) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=3_000_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    words = rng.integers(0, 2**64 - 1, size=(args.size, 4), dtype=np.uint64, endpoint=True)
    index = MIHIndex()
    index.add(words)
    index.wait()
    queries = words[rng.integers(0, args.size, args.queries)]
    idle = percentiles(index, queries)
    print(f"idle ({index.built:,} built): p50 {idle[0]:.3f} ms, p99 {idle[1]:.3f} ms")
    more = rng.integers(0, 2**64 - 1, size=(index.tail_limit + 1000, 4), dtype=np.uint64)
    index.add(more)  # over the tail limit: a background rebuild starts
    passes = []
    while index.rebuilding:
        passes.append(percentiles(index, queries))
    if not passes:
        sys.exit("the rebuild ended before one pass of searches: use a larger --size")
    p50 = float(np.median([p[0] for p in passes]))
    p99 = float(np.median([p[1] for p in passes]))
    worst = max(p[1] for p in passes)
    print(
        f"during the rebuild ({len(passes)} passes): p50 {p50:.3f} ms ({p50 / idle[0]:.2f}x idle),"
        f" p99 {p99:.3f} ms ({p99 / idle[1]:.2f}x idle), worst pass p99 {worst:.3f} ms"
    )
    started = time.perf_counter()
    index.build()
    print(f"a synchronous build of {len(index):,}: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
