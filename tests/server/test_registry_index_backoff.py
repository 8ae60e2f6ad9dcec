"""A table build that keeps failing is retried at a bounded rate (exponential backoff, capped,
reset on success), logged once per attempt, and searches stay exact meanwhile (the tail is
scanned). The failure is real: ``max_table_bytes`` makes the build refuse to allocate, the way
a ``MemoryError`` at 10 million entries would stop it."""

from __future__ import annotations

import logging

import numpy as np

from server.registry.index import MIHIndex, brute_force

TOO_SMALL = 1  # no build fits: every attempt raises MemoryError


class Clock:
    """The index's monotonic clock, moved by the test instead of by sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def expected_attempts(first: float, end: float, base: float, cap: float) -> int:
    """Attempts of a build failing from ``first`` until ``end``, one addition per second."""
    attempts, at, failures = 0, first, 0
    while at <= end:
        attempts += 1
        failures += 1
        at += min(cap, base * 2 ** (failures - 1))
    return attempts


def assert_exact(index: MIHIndex, words: np.ndarray, queries: np.ndarray) -> None:
    for q in queries:
        got, dist = index.search(q, 31)
        want, wdist = brute_force(words[: len(index)], q, 31)
        assert got.tolist() == want.tolist()
        assert dist.tolist() == wdist.tolist()


def failures_logged(caplog) -> int:  # type: ignore[no-untyped-def]
    return sum(
        1
        for r in caplog.records
        if r.name == "server.registry.index" and r.levelno == logging.ERROR
    )


def rows_near(rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Random rows, every tenth a few bits from an earlier one (so searches find something)."""
    words = rng.integers(0, 2**64 - 1, size=(count, 4), dtype=np.uint64, endpoint=True)
    for i in range(10, count, 10):
        words[i] = words[i - 10] ^ np.array([1, 0, 1 << 40, 3], dtype=np.uint64)
    return words, words[::37]


def test_a_failing_first_build_is_retried_with_backoff_and_searches_stay_exact(caplog):
    caplog.set_level(logging.INFO, logger="server.registry.index")
    clock = Clock()
    index = MIHIndex(
        tail_limit=100, max_table_bytes=TOO_SMALL, retry_seconds=5, retry_cap=40, clock=clock
    )
    words, queries = rows_near(np.random.default_rng(8), 1300)
    start = clock.now
    for i in range(1000):  # one addition a second for 1000 s
        index.add(words[i])
        if i % 50 == 0:
            assert_exact(index, words, queries)
        clock.now += 1
    # the first addition over the limit (the 101st, at start + 100) tries; then 5, 10, 20,
    # 40, 40, ... seconds apart; without backoff: 900 attempts, each a build of everything
    want = expected_attempts(start + 100, start + 999, 5, 40)
    assert want == 25
    assert index.attempts == index.failures == failures_logged(caplog) == want
    assert index.built == 0
    assert_exact(index, words, queries)

    index.max_table_bytes = None  # the memory is there again
    clock.now += 40
    index.add(words[1000])
    assert index.built == 1001 and index.failures == 0  # success resets the backoff
    assert any("built again after 25 failures" in r.getMessage() for r in caplog.records)
    assert_exact(index, words, queries)


def test_a_failing_background_rebuild_is_retried_with_backoff_reset_on_success(caplog):
    caplog.set_level(logging.INFO, logger="server.registry.index")
    clock = Clock()
    index = MIHIndex(tail_limit=50, retry_seconds=2, retry_cap=16, clock=clock)
    words, queries = rows_near(np.random.default_rng(9), 1400)
    index.add(words[:200])  # the first build succeeds (in the foreground)
    assert index.built == 200 and index.attempts == 1
    index.max_table_bytes = index.table_bytes(240)  # rebuilds of more than ~240 now fail
    start = clock.now
    for i in range(200, 1000):  # 800 additions, one a second
        index.add(words[i])
        index.wait()  # the rebuild thread, if one started, has failed by now
        if i % 40 == 0:
            assert_exact(index, words, queries)
        clock.now += 1
    # the 251st row crosses the limit (at start + 50): attempts 2, 4, 8, 16, 16, ... s apart
    want = expected_attempts(start + 50, start + 799, 2, 16)
    assert index.attempts - 1 == index.failures == failures_logged(caplog) == want
    assert index.built == 200 and not index.rebuilding
    assert_exact(index, words, queries)

    index.max_table_bytes = None
    clock.now += 16
    index.add(words[1000])
    index.wait()
    assert index.built == 1001 and index.failures == 0
    assert_exact(index, words, queries)

    # failing again starts from the first delay, not from the cap
    index.max_table_bytes = index.table_bytes(1001)
    attempts = index.attempts
    index.add(words[1001:1060])
    index.wait()
    assert index.attempts == attempts + 1 and index.failures == 1
    clock.now += 1.9
    index.add(words[1060])
    index.wait()
    assert index.attempts == attempts + 1  # still inside the first 2 s
    clock.now += 0.2
    index.add(words[1061])
    index.wait()
    assert index.attempts == attempts + 2 and index.failures == 2
    assert_exact(index, words, queries)


def test_an_explicit_build_raises_and_a_later_success_resets_the_backoff():
    clock = Clock()
    index = MIHIndex(tail_limit=10, max_table_bytes=TOO_SMALL, clock=clock)
    words, _ = rows_near(np.random.default_rng(10), 40)
    index.add(words)
    assert index.failures == 1
    try:
        index.build()
    except MemoryError as exc:
        assert "max_table_bytes" in str(exc)
    else:
        raise AssertionError("the build should have been refused")
    index.max_table_bytes = None
    index.build()
    assert index.built == 40 and index.failures == 0


def test_the_memory_estimate_covers_what_a_build_allocates():
    """``max_table_bytes`` compares against ``table_bytes``: it must not be far below what
    numpy really takes, or the cap would let through builds much larger than it says."""
    import tracemalloc

    index = MIHIndex(background=False)
    words = np.random.default_rng(11).integers(
        0, 2**64 - 1, size=(200_000, 4), dtype=np.uint64, endpoint=True
    )
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        index._make_tables(words)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    estimate = index.table_bytes(len(words))
    assert 0.8 * peak <= estimate <= 1.5 * peak, (estimate, peak)


def test_a_failed_build_is_retried_by_searches_when_no_addition_comes():
    """After a failure the retry does not wait for the next registration: the first search
    after the backoff tries again (here it succeeds, the memory having been freed)."""
    clock = Clock()
    index = MIHIndex(tail_limit=100, max_table_bytes=TOO_SMALL, retry_seconds=5, clock=clock)
    words, queries = rows_near(np.random.default_rng(9), 300)
    index.add(words)
    assert (index.attempts, index.failures, index.built) == (1, 1, 0)
    index.max_table_bytes = None  # the build fits again
    clock.now += 4
    assert_exact(index, words, queries)  # searches before the backoff ends: no attempt
    assert (index.attempts, index.built) == (1, 0)
    clock.now += 1
    assert_exact(index, words, queries)
    assert (index.attempts, index.built) == (2, 300)


def test_the_service_index_takes_its_cap_and_reconcile_interval_from_configuration(
    database_url, tmp_path, monkeypatch
):
    """``CREDITLINE_REGISTRY_MAX_TABLE_BYTES`` / ``_RECONCILE_SECONDS`` reach the per-process
    index; without them there is no cap and the interval is five minutes."""
    from server.app import create_app
    from server.registry import service

    base = {"TESTING": True, "DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path / "a")}
    plain = service.registry_for(create_app(dict(base)))
    assert (plain.index.max_table_bytes, plain.reconcile_seconds) == (None, 300.0)
    monkeypatch.setenv("CREDITLINE_REGISTRY_MAX_TABLE_BYTES", "2000000000")
    monkeypatch.setenv("CREDITLINE_REGISTRY_RECONCILE_SECONDS", "60")
    capped = service.registry_for(create_app(dict(base, INSTANCE_PATH=str(tmp_path / "b"))))
    assert (capped.index.max_table_bytes, capped.reconcile_seconds) == (2_000_000_000, 60.0)
