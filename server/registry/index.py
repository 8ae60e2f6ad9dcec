"""Exact Hamming-radius search over 256-bit hashes: multi-index hashing (Norouzi et al.).

Each hash is cut into 16 chunks of 16 bits. If two hashes are within distance ``r``, at least
one chunk pair is within ``r // 16`` (pigeonhole), so probing, in every chunk table, every key
within ``r // 16`` of the query's chunk finds every true neighbour; each candidate is then
verified with a full XOR + popcount. The result set is exactly the brute-force result set.

The tables are CSR arrays per chunk (entries sorted by chunk value + 65,537 offsets), rebuilt
when the unsorted tail of recent additions grows past ``tail_limit``; the tail itself is scanned
by brute force, so additions are cheap and searches stay exact.
"""

from __future__ import annotations

import itertools
import threading

import numpy as np

CHUNKS = 16
CHUNK_BITS = 16
WORDS = 4  # 256 bits as 4 × uint64


def hex_to_words(hashes: list[str] | np.ndarray) -> np.ndarray:
    raw = b"".join(bytes.fromhex(h) for h in hashes)
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(-1, WORDS)


def chunks_of(words: np.ndarray) -> np.ndarray:
    """N×4 uint64 → N×16 uint16, chunk c = bits 16c..16c+15 (most significant first)."""
    shifts = np.array([48, 32, 16, 0], dtype=np.uint64)
    parts = (words[:, :, None] >> shifts[None, None, :]) & np.uint64(0xFFFF)
    return parts.reshape(-1, CHUNKS).astype(np.int64)


def _masks(radius: int) -> np.ndarray:
    masks = [0]
    for k in range(1, radius + 1):
        for bits in itertools.combinations(range(CHUNK_BITS), k):
            masks.append(sum(1 << b for b in bits))
    return np.array(masks, dtype=np.int64)


class MIHIndex:
    """Append-only; entries are addressed by their position (0..len-1)."""

    def __init__(self, tail_limit: int = 4096) -> None:
        self.tail_limit = tail_limit
        self._words = np.zeros((0, WORDS), dtype=np.uint64)
        # (built, order, offsets), replaced as one object so a concurrent search never mixes
        # two builds: entries [0, built) are in the CSR tables; order is CHUNKS × built.
        self._tables = (0, np.zeros(0, dtype=np.int64), np.zeros((CHUNKS, 65537), dtype=np.int64))
        self._lock = threading.Lock()
        self._mask_cache: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._words)

    def add(self, words: np.ndarray) -> None:
        with self._lock:
            self._words = np.concatenate([self._words, words.astype(np.uint64)])
            if len(self._words) - self._tables[0] > self.tail_limit:
                self._build()

    def build(self) -> None:
        with self._lock:
            self._build()

    def _build(self) -> None:
        n = len(self._words)
        chunks = chunks_of(self._words)
        order = np.empty((CHUNKS, n), dtype=np.int64)
        offsets = np.empty((CHUNKS, 65537), dtype=np.int64)
        for c in range(CHUNKS):
            column = chunks[:, c]
            o = np.argsort(column, kind="stable")
            order[c] = o
            counts = np.bincount(column, minlength=65536)
            offsets[c, 0] = 0
            np.cumsum(counts, out=offsets[c, 1:])
        self._tables = (n, order.ravel(), offsets)

    def masks(self, per_chunk: int) -> np.ndarray:
        if per_chunk not in self._mask_cache:
            self._mask_cache[per_chunk] = _masks(per_chunk)
        return self._mask_cache[per_chunk]

    def search(self, query: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
        """Positions and distances of every entry within ``radius`` of ``query`` (4 uint64)."""
        built, order, offsets = self._tables
        words = self._words  # read after the tables: it holds at least ``built`` entries
        query = query.reshape(1, WORDS).astype(np.uint64)
        found: list[np.ndarray] = []
        if built:
            keys = chunks_of(query)[0][:, None] ^ self.masks(radius // CHUNKS)[None, :]
            rows = np.arange(CHUNKS)[:, None]
            starts = (offsets[rows, keys] + rows * built).ravel()
            ends = (offsets[rows, keys + 1] + rows * built).ravel()
            lengths = ends - starts
            total = int(lengths.sum())
            if total:
                nz = lengths > 0
                starts, lengths = starts[nz], lengths[nz]
                steps = np.ones(total, dtype=np.int64)
                heads = np.cumsum(lengths)[:-1]
                steps[0] = starts[0]
                steps[heads] = starts[1:] - (starts[:-1] + lengths[:-1]) + 1
                found.append(np.unique(order[np.cumsum(steps)]))
        if len(words) > built:
            found.append(np.arange(built, len(words)))
        if not found:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        candidates = np.concatenate(found)
        distances = np.bitwise_count(words[candidates] ^ query).sum(axis=1).astype(np.int64)
        keep = distances <= radius
        return candidates[keep], distances[keep]


def brute_force(words: np.ndarray, query: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """The reference: XOR + popcount against every entry."""
    distances = np.bitwise_count(words ^ query.reshape(1, WORDS)).sum(axis=1).astype(np.int64)
    hits = np.flatnonzero(distances <= radius)
    return hits, distances[hits]
