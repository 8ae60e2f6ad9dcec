"""Exact Hamming-radius search over 256-bit hashes: multi-index hashing (Norouzi et al.).

Each hash is cut into ``m`` chunks (by default 11: three of 24 bits, eight of 23). Write the
radius as ``r = m·s + t`` (0 ≤ t < m). If two hashes are within ``r``, then one of the first
``t + 1`` chunks is within ``s`` or one of the others is within ``s − 1``: otherwise the
distance would be at least ``(t+1)(s+1) + (m−t−1)s = r + 1`` (pigeonhole). So probing those
chunk tables with every key within that chunk radius finds every true neighbour; each
candidate is then verified with a full XOR + popcount, and the result set is exactly the
brute-force result set (``tests/server/test_registry_index.py`` checks it).

Why 11 chunks of ~23 bits: at radius 31 a chunk is probed with ≤ 301 keys (3,000 in all),
and a 23-bit key matches N / 2²³ random entries, so at 10 million entries about 3,600
candidates are verified. With 16-bit chunks (the first version) each of 272 keys matched ~150
entries at 10 M, ~40,000 candidates, and the gather of their hashes dominated (bench/README.md).

Layout per chunk: the chunk values sorted (uint32), the entry position of each (int32), and an
offset table over the values' top ``p`` bits (p grows with N up to 22 bits) that gives each
key a short run of sorted values to compare — the same answer as a binary search, without
its cache misses. Everything is flat numpy arrays, so one query is a fixed number of
vectorised steps. The tables are rebuilt when the unsorted tail of recent additions grows past
``tail_limit``; the tail is scanned by brute force, so additions are cheap and searches exact.

The rebuild runs in a background thread and replaces the tables in one assignment when it is
done: at 10 million entries it takes about 20 s (bench/README.md), and searches must not wait
for it — meanwhile they scan the (longer) tail. Hashes live in a buffer that grows by a
quarter when full, so an addition copies only the new rows; a search reads a view of the rows
that existed when it started, which later additions never change.

A build that fails (a ``MemoryError`` at 10 million entries, or ``max_table_bytes`` refusing it)
is retried after a delay that doubles from ``retry_seconds`` up to ``retry_cap`` and resets on
success: without it every addition over the tail limit would start another doomed build of the
whole index (20 s of CPU each at 10 M) and log the same traceback again. Meanwhile searches scan
the growing tail, so their answers stay exact; only their speed suffers.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

BITS = 256
WORDS = 4  # 256 bits as 4 × uint64, most significant bit first
CHUNKS = 11
MAX_PREFIX_BITS = 22
RETRY_SECONDS = 5.0  # first wait after a failed table build; doubles per failure
RETRY_CAP = 300.0  # longest wait between two attempts of a failing build


def hex_to_words(hashes: list[str] | np.ndarray) -> np.ndarray:
    raw = b"".join(bytes.fromhex(h) for h in hashes)
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(-1, WORDS)


def chunk_layout(chunks: int = CHUNKS) -> list[tuple[int, int]]:
    """(first bit, width) of each chunk; the wider chunks first."""
    base, extra = divmod(BITS, chunks)
    widths = [base + 1] * extra + [base] * (chunks - extra)
    starts = [sum(widths[:i]) for i in range(chunks)]
    return list(zip(starts, widths, strict=True))


def chunk_values(words: np.ndarray, start: int, width: int) -> np.ndarray:
    """Bits ``start .. start+width-1`` (MSB-first over the 256) of each row, as uint64."""
    if width > 32:
        raise ValueError("chunks are at most 32 bits")
    k, offset = divmod(start, 64)
    mask = np.uint64((1 << width) - 1)
    end = offset + width
    if end <= 64:
        return (words[:, k] >> np.uint64(64 - end)) & mask
    spill = end - 64  # the low ``spill`` bits come from the next word
    high = (words[:, k] & np.uint64((1 << (64 - offset)) - 1)) << np.uint64(spill)
    return high | (words[:, k + 1] >> np.uint64(64 - spill))


def chunk_radii(radius: int, widths: list[int]) -> list[int]:
    """The probe radius of each chunk (−1: not probed). The larger radius goes to the
    narrowest chunks, which have the fewest keys within it."""
    m = len(widths)
    s, t = divmod(radius, m)
    by_width = sorted(range(m), key=lambda c: (widths[c], c))
    radii = [s - 1] * m
    for c in by_width[: t + 1]:
        radii[c] = s
    return radii


_MASKS: dict[tuple[int, int], np.ndarray] = {}


def masks(width: int, radius: int) -> np.ndarray:
    """Every ``width``-bit value with at most ``radius`` bits set (XOR masks of a probe)."""
    key = (width, radius)
    if key not in _MASKS:
        found = [0]
        for k in range(1, radius + 1):
            for bits in itertools.combinations(range(width), k):
                found.append(sum(1 << b for b in bits))
        _MASKS[key] = np.array(found, dtype=np.int64)
    return _MASKS[key]


@dataclass(frozen=True)
class _Tables:
    """One build: entries [0, built) of the index, for every chunk; replaced as one object so a
    concurrent search never mixes two builds."""

    built: int
    prefix_bits: int
    values: np.ndarray  # CHUNKS × built uint32: each chunk's values, sorted
    order: np.ndarray  # CHUNKS × built int32: the entry each sorted value belongs to
    offsets: np.ndarray  # CHUNKS × (2**prefix_bits + 1) int64: runs per value prefix


class MIHIndex:
    """Append-only; entries are addressed by their position (0..len-1).

    ``background=False`` rebuilds inside ``add`` (the benchmark, which times builds); the
    service's index rebuilds in a thread (``wait`` joins it). ``max_table_bytes`` caps the
    memory one build may take (beyond it the build fails with ``MemoryError`` before allocating,
    and searches scan the tail); ``retry_seconds``/``retry_cap`` bound how often a failing build
    is tried again; ``clock`` is the monotonic clock that backoff is measured on."""

    def __init__(
        self,
        tail_limit: int = 4096,
        chunks: int = CHUNKS,
        background: bool = True,
        *,
        max_table_bytes: int | None = None,
        retry_seconds: float = RETRY_SECONDS,
        retry_cap: float = RETRY_CAP,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.tail_limit = tail_limit
        self.layout = chunk_layout(chunks)
        self.background = background
        self.max_table_bytes = max_table_bytes
        self.retry_seconds = retry_seconds
        self.retry_cap = retry_cap
        self._clock = clock
        self.failures = 0  # consecutive failed builds (0 after a success)
        self.attempts = 0  # builds started by additions, failed or not (for tests and logs)
        self._retry_at = 0.0  # no build started by an addition before this (clock time)
        self._buffer = np.zeros((1024, WORDS), dtype=np.uint64)
        self._words = self._buffer[:0]  # the rows added so far: a view of the buffer
        self._tables = _Tables(
            0,
            0,
            np.zeros((chunks, 0), np.uint32),
            np.zeros((chunks, 0), np.int32),
            np.zeros((chunks, 2), np.int64),
        )
        self._lock = threading.Lock()  # additions, and starting or finishing a rebuild
        self._building = threading.Lock()  # one build at a time (``build`` beside a rebuild)
        self._builder: threading.Thread | None = None

    def __len__(self) -> int:
        return len(self._words)

    @property
    def rebuilding(self) -> bool:
        return self._builder is not None

    @property
    def built(self) -> int:
        """How many entries the sorted tables hold (the rest is scanned by brute force)."""
        return self._tables.built

    def add(self, words: np.ndarray) -> None:
        words = np.asarray(words, dtype=np.uint64).reshape(-1, WORDS)
        with self._lock:
            n, k = len(self._words), len(words)
            if n + k > len(self._buffer):  # grow; older views keep the old buffer
                grown = np.zeros((max(n + k, len(self._buffer) * 5 // 4), WORDS), np.uint64)
                grown[:n] = self._buffer[:n]
                self._buffer = grown
            self._buffer[n : n + k] = words  # beyond every existing view
            self._words = self._buffer[: n + k]
            if n + k - self._tables.built <= self.tail_limit:
                return
            if self._builder is not None or self._clock() < self._retry_at:
                return  # the running rebuild goes on with these rows / a failed one waits
            self.attempts += 1
            if not self.background or self._tables.built == 0:
                # nothing built yet (a process loading the registry): searches would scan it
                # all until the first build, so they wait for it instead
                try:
                    self._tables = self._make_tables(self._words)
                except Exception:  # the rows are in: searches scan them (exact, slower)
                    self._failed("build", n + k)
                else:
                    self._succeeded()
                return
            builder = threading.Thread(target=self._rebuild, name="mih-build", daemon=True)
            try:
                builder.start()
            except RuntimeError:  # no thread to be had: searches stay exact (a long tail)
                self._failed("rebuild thread start", n + k)
                return
            self._builder = builder  # only once started: ``wait`` may join it

    def build(self) -> None:
        """Build the tables over every entry now (after any rebuild in progress)."""
        self.wait()
        with self._building:
            tables = self._make_tables(self._words)
        with self._lock:
            if tables.built >= self._tables.built:
                self._tables = tables
            self._succeeded()

    def wait(self) -> None:
        """Until no background rebuild is running."""
        builder = self._builder
        if builder is not None:
            builder.join()

    def _rebuild(self) -> None:
        """Background: build over the rows present, swap the tables in, again while the tail
        is still over the limit (rows kept arriving during the build)."""
        while True:
            words = self._words
            try:
                with self._building:
                    tables = self._make_tables(words)
            except Exception:  # searches stay exact (a longer tail); an addition retries later
                with self._lock:
                    self._failed("rebuild", len(words))
                    self._builder = None
                return
            with self._lock:
                self._succeeded()
                if tables.built > self._tables.built:
                    self._tables = tables
                if len(self._words) - tables.built <= self.tail_limit:
                    self._builder = None  # the next addition over the limit starts another
                    return

    def _failed(self, what: str, entries: int) -> None:
        """Under ``_lock``, inside the ``except``: log this attempt once and push the next one
        back (doubling, capped), so a build that cannot succeed costs a bounded rate of work."""
        self.failures += 1
        delay = min(self.retry_cap, self.retry_seconds * 2.0 ** (self.failures - 1))
        self._retry_at = self._clock() + delay
        log.exception(
            "registry index: %s of %d entries failed (%d in a row); searches scan the tail,"
            " next attempt in %.0f s",
            what,
            entries,
            self.failures,
            delay,
        )

    def _succeeded(self) -> None:
        if self.failures:
            log.info("registry index: tables built again after %d failures", self.failures)
        self.failures = 0
        self._retry_at = 0.0

    def table_bytes(self, entries: int) -> int:
        """About what one build of ``entries`` allocates at its peak: the values, order and
        offset tables it returns, plus one chunk's temporaries (column, argsort) at a time."""
        prefix = max(4, min(MAX_PREFIX_BITS, math.ceil(math.log2(max(entries, 2))) - 1))
        m = len(self.layout)
        tables = m * entries * (4 + 4) + m * ((1 << prefix) + 1) * 8
        return tables + entries * (8 + 8 + 4 + 8 + 4) + (1 << prefix) * 8

    def _make_tables(self, words: np.ndarray) -> _Tables:
        n = len(words)
        if n >= 2**31:
            raise ValueError("more than 2**31 entries")
        if self.max_table_bytes is not None and self.table_bytes(n) > self.max_table_bytes:
            raise MemoryError(
                f"tables for {n} entries need {self.table_bytes(n)} bytes;"
                f" max_table_bytes is {self.max_table_bytes}"
            )
        prefix = max(4, min(MAX_PREFIX_BITS, math.ceil(math.log2(max(n, 2))) - 1))
        m = len(self.layout)
        values = np.empty((m, n), dtype=np.uint32)
        order = np.empty((m, n), dtype=np.int32)
        offsets = np.zeros((m, (1 << prefix) + 1), dtype=np.int64)
        for c, (start, width) in enumerate(self.layout):
            column = chunk_values(words, start, width).astype(np.uint32)
            o = np.argsort(column, kind="stable")
            order[c] = o
            values[c] = column[o]
            shift = max(0, width - prefix)
            counts = np.bincount(values[c] >> np.uint32(shift), minlength=1 << prefix)
            np.cumsum(counts, out=offsets[c, 1:])
        return _Tables(n, prefix, values, order, offsets)

    def search(self, query: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
        """Positions and distances of every entry within ``radius`` of ``query`` (4 uint64)."""
        if self._retry_at and self._clock() >= self._retry_at:
            # a failed build is due again: retry it now rather than at the next addition,
            # which may never come (no registrations for a while)
            self.add(np.zeros((0, WORDS), dtype=np.uint64))
        tables = self._tables
        words = self._words  # read after the tables: it holds at least ``built`` entries
        query = query.reshape(1, WORDS).astype(np.uint64)
        hits = np.zeros(0, dtype=np.int64)
        distances = np.zeros(0, dtype=np.int64)
        if tables.built:
            candidates = self._probe(tables, query, radius)
            d = np.bitwise_count(words[candidates] ^ query).sum(axis=1).astype(np.int64)
            keep = d <= radius
            # a true neighbour is usually found through several chunks: one answer each
            hits, first = np.unique(candidates[keep], return_index=True)
            distances = d[keep][first]
        if len(words) > tables.built:  # the unsorted tail, scanned in place
            tail, found = brute_force(words[tables.built :], query, radius)
            hits = np.concatenate([hits, tail + tables.built])
            distances = np.concatenate([distances, found])
        return hits, distances

    def _probe(self, tables: _Tables, query: np.ndarray, radius: int) -> np.ndarray:
        """Positions whose value in some chunk is within that chunk's radius (with repeats)."""
        n, prefix = tables.built, tables.prefix_bits
        widths = [w for _, w in self.layout]
        keys, rows, shifts = [], [], []
        for c, ((start, width), r) in enumerate(
            zip(self.layout, chunk_radii(radius, widths), strict=True)
        ):
            if r < 0:
                continue
            k = int(chunk_values(query, start, width)[0]) ^ masks(width, min(r, width))
            keys.append(k)
            rows.append(np.full(len(k), c, dtype=np.int64))
            shifts.append(np.full(len(k), max(0, width - prefix), dtype=np.int64))
        key = np.concatenate(keys)
        row = np.concatenate(rows)
        head = key >> np.concatenate(shifts)
        lo = tables.offsets[row, head]
        lengths = tables.offsets[row, head + 1] - lo
        total = int(lengths.sum())
        if not total:
            return np.zeros(0, dtype=np.int64)
        # the positions lo[i] .. lo[i] + lengths[i] - 1 of every run, in one array
        ends = np.cumsum(lengths)
        within = np.arange(total, dtype=np.int64) - np.repeat(ends - lengths, lengths)
        flat = np.repeat(lo + row * n, lengths) + within
        same = tables.values.ravel()[flat] == np.repeat(key, lengths)
        return tables.order.ravel()[flat[same]].astype(np.int64)


def brute_force(words: np.ndarray, query: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """The reference: XOR + popcount against every entry."""
    distances = np.bitwise_count(words ^ query.reshape(1, WORDS)).sum(axis=1).astype(np.int64)
    hits = np.flatnonzero(distances <= radius)
    return hits, distances[hits]
