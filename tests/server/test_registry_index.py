"""The multi-index is exact: for every radius, chunking and build state, its answer is the
brute-force scan's answer (positions and distances), including neighbours that differ from
the query only inside one chunk or that are spread evenly over all chunks."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from server.registry.index import (
    BITS,
    MIHIndex,
    brute_force,
    chunk_layout,
    chunk_radii,
    chunk_values,
    hex_to_words,
)


def flip(row: np.ndarray, bits) -> np.ndarray:  # type: ignore[no-untyped-def]
    out = row.copy()
    for bit in bits:
        out[bit // 64] ^= np.uint64(1) << np.uint64(63 - bit % 64)
    return out


def neighbours(rng: np.random.Generator, base: np.ndarray, layout) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Rows at distances 0..50: random bits, bits packed into one chunk, and bits spread so
    that every chunk differs by the same amount (the pigeonhole bound's tight case)."""
    rows = []
    for i, row in enumerate(base):
        d = int(rng.integers(0, 51))
        if i % 3 == 0:
            rows.append(flip(row, rng.choice(BITS, d, replace=False)))
        elif i % 3 == 1:
            start, width = layout[int(rng.integers(len(layout)))]
            rows.append(flip(row, start + rng.choice(width, min(d, width), replace=False)))
        else:
            per = d // len(layout)
            bits = [start + b for start, width in layout for b in range(per)]
            rows.append(flip(row, bits))
    return np.array(rows)


@pytest.mark.parametrize("chunks", [11, 16, 8])
def test_search_equals_brute_force(chunks):
    rng = np.random.default_rng(chunks)
    index = MIHIndex(tail_limit=300, chunks=chunks)
    base = rng.integers(0, 2**64 - 1, size=(5000, 4), dtype=np.uint64, endpoint=True)
    near = neighbours(rng, base[:300], index.layout)
    words = np.concatenate([base, near, near[:40]])  # exact duplicates too
    index.add(words[:4000])
    index.build()
    index.add(words[4000:4200])  # in the unsorted tail
    queries = np.concatenate([base[:60], near[:60]])
    for radius in (0, 7, 15, 31, 32, 47):
        for q in queries:
            got, dist = index.search(q, radius)
            want, wdist = brute_force(words[: len(index)], q, radius)
            assert got.tolist() == want.tolist(), radius
            assert dist.tolist() == wdist.tolist()
    index.add(words[4200:])  # past the tail limit: rebuilt (in the background)
    index.wait()
    assert index.built == len(words)
    for q in near[:60]:
        got, _ = index.search(q, 31)
        assert got.tolist() == brute_force(words, q, 31)[0].tolist()


def test_an_empty_index_and_a_tail_only_index_answer():
    index = MIHIndex()
    q = hex_to_words(["ab" * 32])[0]
    assert index.search(q, 31)[0].tolist() == []
    index.add(hex_to_words(["ab" * 32, "cd" * 32]))
    assert index.search(q, 0)[0].tolist() == [0]


def test_chunks_cover_the_256_bits_and_the_radii_keep_the_pigeonhole_bound():
    for m in (8, 11, 12, 16):
        layout = chunk_layout(m)
        assert sum(w for _, w in layout) == BITS
        assert [s for s, _ in layout] == [sum(w for _, w in layout[:i]) for i in range(m)]
        widths = [w for _, w in layout]
        for r in range(0, 64):
            radii = chunk_radii(r, widths)
            # a neighbour missed by every probe has ≥ radius + 1 bits in every chunk
            assert sum(x + 1 for x in radii) == r + 1
    words = hex_to_words(["0123456789abcdef" * 4])
    bits = "".join(f"{int(w):064b}" for w in words[0])
    for start, width in chunk_layout(11):
        assert int(chunk_values(words, start, width)[0]) == int(bits[start : start + width], 2)


def test_searches_running_while_rows_arrive_always_see_consistent_arrays():
    """Request threads search while the refresh appends: every position the index returns has
    its id, artwork and colour (no IndexError, no stale flat arrays afterwards)."""
    import random
    import threading
    import time
    from types import SimpleNamespace

    from server.registry import fingerprint as fpmod
    from server.registry import service

    rng = random.Random(5)
    base_hash = f"{rng.getrandbits(256):064x}"
    colour = bytes(rng.randrange(256) for _ in range(48))

    def near(i: int) -> str:  # within a few bits of base_hash: every search finds them all
        return f"{int(base_hash, 16) ^ (1 << (i % 256)):064x}"

    reg = service.Registry()
    errors: list[BaseException] = []
    done = threading.Event()
    query = fpmod.Fingerprint(base_hash, colour, 0, 90, 0, 0)

    def writer() -> None:  # what refresh does: small batches, a moment apart
        for first in range(1, 1201, 3):
            rows = [
                SimpleNamespace(id=i, artwork_id=i, hash=near(i), colour=colour, quality=90)
                for i in range(first, first + 3)
            ]
            with reg.lock:
                reg._add(rows)
            time.sleep(0.0005)
        done.set()

    def reader() -> None:
        while not done.is_set():
            try:
                for c in reg.search(query):
                    assert c.fingerprint_id == c.artwork_id
                reg.arrays()
            except BaseException as exc:
                errors.append(exc)
                return

    threads = [
        threading.Thread(target=writer),
        *(threading.Thread(target=reader) for _ in range(3)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    ids, artworks, colours = reg.arrays()
    assert len(ids) == len(artworks) == len(colours) == len(reg.index) == 1200
    assert {c.fingerprint_id for c in reg.search(query)} == set(range(1, 1201))


class SlowIndex(MIHIndex):
    """An index whose table build waits for a signal: a rebuild that takes as long as one of
    10 million entries (about 20 s), without the 10 million entries."""

    def __init__(self, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(**kwargs)
        self.release = threading.Event()
        self.building = threading.Event()

    def _make_tables(self, words):  # type: ignore[no-untyped-def]
        self.building.set()
        assert self.release.wait(30)
        return super()._make_tables(words)


def test_searches_do_not_wait_for_a_rebuild_and_stay_exact():
    """Additions past the tail limit rebuild the tables in the background: adding and searching
    go on meanwhile (the tail is scanned), and the new tables are swapped in when done."""
    rng = np.random.default_rng(3)
    words = rng.integers(0, 2**64 - 1, size=(3000, 4), dtype=np.uint64, endpoint=True)
    index = SlowIndex(tail_limit=500)
    index.release.set()
    index.add(words[:1000])  # nothing built yet (a process loading): built at once
    assert index.built == 1000 and not index.rebuilding
    index.release.clear()
    index.building.clear()
    index.add(words[1000:1600])  # over the limit: a background rebuild starts and blocks
    assert index.building.wait(5) and index.rebuilding
    started = time.monotonic()
    index.add(words[1600:2200])  # does not wait for the rebuild
    for q in words[::97]:
        assert index.search(q, 20)[0].tolist() == brute_force(words[:2200], q, 20)[0].tolist()
    assert time.monotonic() - started < 5 and index.built == 1000
    index.release.set()
    index.wait()
    assert index.built == 2200  # a second round: 600 rows arrived while it built 1600
    index.add(words[2200:])
    index.wait()
    assert index.built == 3000
    for q in words[::101]:
        assert index.search(q, 31)[0].tolist() == brute_force(words, q, 31)[0].tolist()


def test_a_search_keeps_the_rows_it_started_with_while_the_buffer_grows():
    index = MIHIndex(background=False)
    index.add(np.full((10, 4), 7, dtype=np.uint64))
    view = index._words
    index.add(np.full((5000, 4), 9, dtype=np.uint64))  # grows the buffer (a copy)
    assert len(view) == 10 and (view == 7).all()  # the earlier view is untouched
    assert len(index) == 5010 and index.built == 5010  # rebuilt inside add
