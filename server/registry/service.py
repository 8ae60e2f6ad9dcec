"""Publishing, fingerprint registration, conflicts and matching.

The database is the registry's truth (``registrations``, ``fingerprints``,
``registry_conflicts``), so every web process sees the same registry. Each process keeps an
in-memory multi-index over the fingerprints (``index.MIHIndex``) and catches up with one
indexed query on its own connection (``fingerprints.id > last seen``, plus the ids it skipped
that may still commit: ``Registry``) before each search, and every few minutes compares the
table's count of rows with what it has taken (``Registry.reconcile_seconds``); a row that
disappeared (its artwork was deleted) is dropped when candidates are resolved against the
database, and a restart rebuilds the index from the table.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from flask import Flask, current_app
from sqlalchemy import BigInteger, Select, cast, func, or_, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from server import uploads
from server.models import (
    Artwork,
    ArtworkImage,
    Fingerprint,
    Registration,
    RegistryConflict,
    utcnow,
)
from server.registry import fingerprint as fpmod
from server.registry import verify
from server.registry.index import MIHIndex, hex_to_words

log = logging.getLogger(__name__)

RADIUS = 31  # Hamming radius on 256 bits (measured: bench/registry; docs/FINGERPRINT.md §9)
COLOUR_REJECT = 320  # colour distance above which a structural match is another recolour
COLOUR_WEIGHT = 1 / 8  # cost = hamming + colour / 8
# Verification of every candidate (verify.py), chosen on the benchmark's tuning split and
# measured on the reported one (bench/README.md, docs/FINGERPRINT.md §9): the 4×4 lumas'
# correlation (≥ 0.8 and ≥ 0.9 tied, no recall cost; a gain test there cost recall), then the
# strictest detail-grid rule that cost no recall there (gain within ×2, no cell 60 levels off),
# and the strictest detail correlation that cost none there either (0.9; 0.92 cost some).
VERIFY = verify.Rule(
    min_correlation=0.8,
    max_gain=None,
    detail_max_gain=2.0,
    detail_max_residual=60,
    detail_min_correlation=0.9,
)
# A query needs less gradient than an indexed fingerprint: a repost whose contrast was lowered
# or that was scaled down loses some (the index keeps flat art out; the verification stages
# stand between a weak query and a wrong work). Chosen on the tuning split (bench/README.md):
# the highest of 50/40/35/25 with the split's best recall (25 found no more reposts; none of
# them added a false match there).
QUERY_MIN_QUALITY = 35
SYNC_BATCH = 5  # pending registrations fingerprinted per registry_sync tick (every 10 s)
REGISTER_LOCK = 0x43524C52  # PostgreSQL advisory lock key held while registering ("CRLR")
# Hashes that unrelated pictures share, so a match there says nothing (matching-side rule; the
# fingerprint bits are unchanged). A picture that varies along one axis only (a striped flag)
# has every DCT coefficient exactly 0 and hashes to 0. Stripes along both axes add up to the
# same nothing, so a picture whose only two-dimensional detail is a small mark in one corner
# (where a flag's edge meets a margin, the corner of a button's shadow, a frame's corner) has
# coefficients c·A(u)·B(v) with A (B) alternating in sign when the mark is at the bottom (right)
# edge: its hash is a fixed parity pattern per corner and sign of the mark, whatever the picture
# (``tests/server/test_registry_match.py`` recomputes the six from such pictures; a top-left
# mark's hash depends on its size, and no real picture's was near one). Measured
# (bench/README.md): false matches through 0x5555… (top right) were at distance 0–28 from it,
# real clip-art hashes ≥ 53 (radius 40); the bottom-right patterns carried the last two false
# matches between unrelated pictures (a red flag with a margin against a two-band flag, a
# shaded button against a frame) at distance 0–16, and the bottom-left ones are the same case
# mirrored (no measured false match went through them); radius 16 for the four, the
# one of 16/24/32/40 that cost nothing on the tuning split (24 lost recolours, 32 and 40 recall
# too). Pattern → radius within which a hash is not matched.
DEGENERATE_PATTERNS = {
    int("55" * 32, 16): 40,  # top right, a light mark (seen too: frames, dot grids)
    int("aa" * 32, 16): 40,  # top right, a dark mark
    0: 16,  # variation along one axis only
    int("0000ffff" * 8, 16): 16,  # bottom left, light
    int("ffff0000" * 8, 16): 16,  # bottom left, dark
    int("aaaa5555" * 8, 16): 16,  # bottom right, light
    int("5555aaaa" * 8, 16): 16,  # bottom right, dark
}
# A picture mirror-symmetric about both axes (a star polygon, a ring, a dot grid, a signal flag)
# has every coefficient with an odd u or v exactly 0: its 192 bits there are all equal (the
# median decides them all alike), and only the 64 bits with u and v even say anything. Two such
# pictures agree on 192 bits by construction, so the radius of 31 on 256 bits is one of 31 on 64
# (half of all pairs), and a ring matches any other ring. Measured (bench/README.md,
# 2026-11-26): the holdout's unrelated false matches were such pairs (star polygons against
# rings, a square signal flag against a ring) at 4–31 bits; no picture of either split's corpus
# has such a hash in any registered variant, and the rule cost nothing on the tuning split at a
# tolerance of 0 or 8 bits (8 chosen: a hash a few bits from the pattern is just as empty).
SYMMETRIC_MASK = sum(
    1 << (255 - n) for n in range(256) if (n // 16 + 1) % 2 or (n % 16 + 1) % 2
)  # bit n = (u−1)·16 + (v−1), n = 0 the most significant
SYMMETRIC_BITS = SYMMETRIC_MASK.bit_count()  # 192
SYMMETRIC_TOLERANCE = 8  # within this many bits of all-equal there, a hash is not matched
GAP_SECONDS = 600.0  # longest a transaction holding an unseen fingerprint id is waited for
MAX_GAPS = 5000  # unseen ids watched at most (each refresh asks for them again)
RECONCILE_SECONDS = 300.0  # how often a process compares the table's count with its own
RECONCILE_PAGE = 50_000  # ids listed per query when the counts differ
SQUARES_MODULUS = 2_147_483_647  # a prime below 2³¹: a square of a residue fits in 62 bits


def informative(hash_hex: str, quality: int, min_quality: int = fpmod.MIN_QUALITY) -> bool:
    """May this fingerprint be matched? Enough gradient (``fingerprint.MIN_QUALITY`` for what
    is indexed, ``QUERY_MIN_QUALITY`` for a query) and a hash away from the ones unrelated
    pictures share (``DEGENERATE_PATTERNS``, and the all-equal odd-frequency bits of a picture
    symmetric about both axes, ``SYMMETRIC_MASK``). A matching-side rule: the fingerprint's bits are
    unchanged, so the extension's vectors still hold."""
    if quality < min_quality:
        return False
    value = int(hash_hex, 16)
    if not all((value ^ p).bit_count() > r for p, r in DEGENERATE_PATTERNS.items()):
        return False
    odd = (value & SYMMETRIC_MASK).bit_count()
    return SYMMETRIC_TOLERANCE < odd < SYMMETRIC_BITS - SYMMETRIC_TOLERANCE


def query_informative(fp: fpmod.Fingerprint, min_quality: int = QUERY_MIN_QUALITY) -> bool:
    """Is a whole picture with this fingerprint searched for at all — a query's as-is
    fingerprint, or a registration's full one looking for conflicts (at the index's quality
    bar)? ``informative``, and not a faint grey line (``verify.faint_line``), which agrees with
    any straight edge. Only the whole picture is held to the line test: a query variant that
    reads as a line (a surfboard with its margins kept, ``untrimmed``) is still searched, which
    the tuning split needed (4 of its repost queries were found only that way)."""
    return informative(fp.hash, fp.quality, min_quality) and not verify.faint_line(
        fp.detail, fp.colour
    )


def published(session: Session, artwork: Artwork) -> None:
    """Queue a newly public artwork for fingerprinting (called from ``record_posted``)."""
    if artwork.id is not None and session.get(Registration, artwork.id) is None:
        session.add(Registration(artwork_id=artwork.id))


@dataclass
class Candidate:
    artwork_id: int
    fingerprint_id: int
    distance: int
    colour_distance: int
    variant: str

    @property
    def cost(self) -> float:
        return self.distance + self.colour_distance * COLOUR_WEIGHT

    @property
    def score(self) -> float:
        worst = RADIUS + COLOUR_REJECT * COLOUR_WEIGHT
        return round(max(0.0, 1.0 - self.cost / worst), 4)


@dataclass(frozen=True)
class Tally:
    """How many fingerprint ids, their sum and the sum of their squares modulo a prime: what
    ``Registry`` compares with the table. With the count alone, one deleted row would hide one
    late row; with the sum as well, two deletions could still hide two late rows (deleting ids
    5 and 9 while 6 and 8 commit late). Deletions hide late rows only if all three agree, which
    equal sums of squares make rare (25 + 81 ≠ 36 + 64), and the next difference or a restart
    finds them. Squares are taken modulo ``SQUARES_MODULUS`` so that their sum stays within
    64-bit integers (SQLite's ``sum`` raises on overflow), as the id sum does for any table of
    fewer than 2³¹ rows with ids below 2³¹."""

    count: int = 0
    total: int = 0
    squares: int = 0

    @classmethod
    def of(cls, ids: np.ndarray | list[int]) -> Tally:
        ids = np.asarray(ids, dtype=np.int64)
        residues = ids % SQUARES_MODULUS
        return cls(len(ids), int(ids.sum()), int((residues * residues % SQUARES_MODULUS).sum()))

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.count + other.count, self.total + other.total, self.squares + other.squares
        )

    def __sub__(self, other: Tally) -> Tally:
        return Tally(
            self.count - other.count, self.total - other.total, self.squares - other.squares
        )


def table_tally(upto: int, ids: Any = Fingerprint.id) -> Select:
    """The ``Tally`` of the table's ids up to ``upto`` as one aggregate query (``Tally.of``
    in SQL; the ids are widened first: PostgreSQL multiplies 32-bit integers in 32 bits).
    ``ids`` is another table's id column for bench/registry/reconcile_aggregate.py."""
    wide = cast(ids, BigInteger) % SQUARES_MODULUS
    return select(
        func.count(ids),
        func.coalesce(func.sum(ids), 0),
        func.coalesce(func.sum(wide * wide % SQUARES_MODULUS), 0),
    ).where(ids <= upto)


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


_ROW = (
    Fingerprint.id,
    Fingerprint.artwork_id,
    Fingerprint.hash,
    Fingerprint.colour,
    Fingerprint.quality,
    Fingerprint.created_at,
)


@dataclass
class Registry:
    """The per-process index over the shared fingerprints table.

    Catching up by ``id > last seen`` alone is wrong twice over: on PostgreSQL ids come from a
    sequence when a row is *inserted*, so a transaction that took id 7 can commit after one that
    took id 8 (a reader that already moved past 8 never sees 7); and a reader inside a writer's
    transaction sees rows that may still roll back (SQLite even hands a rolled-back id out
    again). So ``refresh`` reads on its own connection (committed rows only) and remembers every
    id it skipped over (``gaps``); each refresh asks again for the gaps until they show up or
    cannot belong to a live transaction any more (``GAP_SECONDS`` after the next committed row
    was created, or after the gap was first seen). ``tests/server/test_registry_refresh.py``
    runs the out-of-order commit with two PostgreSQL connections.

    A transaction that commits a fingerprint more than ``GAP_SECONDS`` after taking its id, or
    rows lost because adding them to the index failed, would then stay unseen until a restart.
    So every ``reconcile_seconds`` one refresh compares the table's ``Tally`` (count, sum and
    squares of ids) up to ``last_id`` with the rows this process has taken (``taken``: indexed
    or skipped as uninformative) less those it knows the table no longer holds (``removed``:
    deleted rows, and on SQLite the earlier holder of a reused id). One aggregate over the
    primary key when they agree; when they differ, it lists the table's ids ``RECONCILE_PAGE``
    at a time, adds the rows it does not know and sets ``removed`` from the listing, so
    deletions cost one pass, not one per interval, and nothing is added twice. It runs in a
    thread of its own (one at a time; ``wait`` joins it), outside ``lock``: what it adds is
    seen by the next search.
    """

    index: MIHIndex = field(default_factory=MIHIndex)
    ids: list[np.ndarray] = field(default_factory=list)
    artworks: list[np.ndarray] = field(default_factory=list)
    colours: list[np.ndarray] = field(default_factory=list)
    buckets: dict[int, list[int]] = field(default_factory=dict)
    last_id: int = 0
    newest: dt.datetime | None = None  # the newest row's created_at (SQLite reuses ids)
    gaps: dict[int, float] = field(default_factory=dict)  # id → when it stops being watched
    # Held by refresh (which appends) and by every reader (search, buckets, arrays): a search
    # never sees the index ahead of the id/artwork/colour arrays. Re-entrant: search calls arrays.
    lock: threading.RLock = field(default_factory=threading.RLock)
    _flat: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    taken_ids: list[np.ndarray] = field(default_factory=list)  # every id taken, in taking order
    taken: Tally = Tally()  # every row taken (indexed or skipped), ids repeated if reused
    removed: Tally = Tally()  # taken rows the table did not hold at the last reconciliation
    reconcile_seconds: float = RECONCILE_SECONDS
    reconcile_page: int = RECONCILE_PAGE
    reconciliations: int = 0  # passes that listed the table (the counts differed)
    _reconcile_at: float = 0.0
    _reconciler: threading.Thread | None = None

    def __post_init__(self) -> None:
        self._reconcile_at = time.monotonic() + self.reconcile_seconds

    def refresh(self, session: Session) -> None:
        """Catch up with committed fingerprints (``session`` only names the database)."""
        with session.get_bind().connect() as conn, self.lock:  # no pool wait under the lock
            now = time.monotonic()
            self.gaps = {i: until for i, until in self.gaps.items() if until > now}
            newer = Fingerprint.id > self.last_id
            if conn.dialect.name == "sqlite" and self.newest is not None:
                # SQLite gives a deleted newest row's id to the next insert: a row with an id
                # already seen but created later is new (its stale entry is dropped in confirm)
                newer = or_(newer, Fingerprint.created_at > self.newest)
            where = or_(newer, Fingerprint.id.in_(sorted(self.gaps))) if self.gaps else newer
            rows = conn.execute(select(*_ROW).where(where).order_by(Fingerprint.id)).all()
            conn.rollback()
            if rows:
                self._watch_gaps([r.id for r in rows], [r.created_at for r in rows], now)
                stamps = [r.created_at for r in rows if r.created_at is not None]
                if stamps:
                    self.newest = max([*stamps, *([self.newest] if self.newest else [])])
                self._take(rows)
            if now >= self._reconcile_at and self._reconciler is None:
                self._reconcile_at = now + self.reconcile_seconds
                self._start_reconciling(conn.engine)

    def _start_reconciling(self, engine: Any) -> None:
        """Under ``lock``: compare with the table in a thread. At 10 million rows the count
        takes ~0.5 s and a listing ~9 s (PostgreSQL, measured: ``_reconcile``): no search
        should wait for that."""
        upto, expected = self.last_id, self.taken - self.removed
        thread = threading.Thread(
            target=self._reconcile_on,
            args=(engine, upto, expected),
            name="registry-reconcile",
            daemon=True,
        )
        try:
            thread.start()
        except RuntimeError:  # no thread to be had: the next interval tries again
            log.warning("registry index: cannot start a reconciliation")
            return
        self._reconciler = thread

    def _reconcile_on(self, engine: Any, upto: int, expected: Tally) -> None:
        try:
            with engine.connect() as conn:
                try:
                    self._reconcile(conn, upto, expected)
                finally:
                    conn.rollback()
        except Exception:  # searches go on with what they have; the next interval tries again
            log.exception("registry index: reconciliation with the table failed")
        finally:
            with self.lock:
                self._reconciler = None

    def wait(self) -> None:
        """Until no reconciliation is running (tests; an orderly shutdown)."""
        thread = self._reconciler
        if thread is not None:
            thread.join()

    def _take(self, rows: list[Any]) -> None:
        """Index the informative rows, note the others; ``taken`` counts only what got in."""
        self._add([r for r in rows if informative(r.hash, r.quality)])
        ids = np.array([r.id for r in rows], dtype=np.int64)
        self.taken_ids.append(ids)  # append-only, in taking order: a snapshot is a prefix
        self.taken += Tally.of(ids)

    def _reconcile(self, conn: Any, upto: int, expected: Tally) -> None:
        """Find committed rows with ids up to ``upto`` that this process never took.

        Reads on ``conn`` and compares ids without ``lock`` (searches wait only for the
        additions and the tally of what other refreshes took meanwhile); on
        PostgreSQL each page sees the rows committed when it runs, so a row committed behind
        the listing counts as not listed and the next pass takes it. Measured on PostgreSQL at
        10 M rows (0.1 % deleted): count and sum 0.47–0.52 s (the sum of squares adds ~30 % on a
        scratch table: bench/registry/reconcile_aggregate.py), listing 200 pages 8.9 s, the
        comparison with 10 M known ids 0.6 s."""
        count, total, squares = conn.execute(table_tally(upto)).one()
        if Tally(int(count), int(total), int(squares)) == expected:
            return
        listed = self._list_ids(conn, upto)
        with self.lock:
            parts = len(self.taken_ids)
            snapshot = list(self.taken_ids)  # the arrays, not their contents: O(chunks)
        known = _joined(snapshot)  # outside the lock: O(N) at 10 M rows
        known_tally = Tally.of(known[known <= upto])
        missing = listed[~np.isin(listed, known)]
        rows = []
        for first in range(0, len(missing), 1000):
            part = missing[first : first + 1000].tolist()
            rows += conn.execute(select(*_ROW).where(Fingerprint.id.in_(part))).all()
        conn.rollback()
        with self.lock:
            later = _joined(self.taken_ids[parts:])  # taken by other refreshes meanwhile
            fresh = [r for r in rows if not np.isin(r.id, later)]
            if conn.dialect.name == "sqlite" and self.newest is not None:
                # newer than the newest taken: the catch-up's created_at clause takes it
                fresh = [r for r in fresh if r.created_at is None or r.created_at <= self.newest]
            for r in fresh:
                self.gaps.pop(r.id, None)
            self._take(fresh)
            got = np.array([r.id for r in fresh], dtype=np.int64)
            unknown = missing[~np.isin(missing, np.concatenate([later, got]))]
            mine = known_tally + Tally.of(later[later <= upto]) + Tally.of(got[got <= upto])
            self.removed = mine - (Tally.of(listed) - Tally.of(unknown))
            self.reconciliations += 1
        level = logging.WARNING if fresh else logging.INFO
        log.log(
            level,
            "registry index: table holds %d fingerprints up to id %d, %d expected; %d missing"
            " added, %d taken rows gone",
            int(count),
            upto,
            expected.count,
            len(fresh),
            self.removed.count,
        )

    def _list_ids(self, conn: Any, upto: int) -> np.ndarray:
        """The table's ids up to ``upto``, a page at a time (never 10 M rows in one result)."""
        pages, after = [], 0
        while True:
            page = (
                conn.execute(
                    select(Fingerprint.id)
                    .where(Fingerprint.id > after, Fingerprint.id <= upto)
                    .order_by(Fingerprint.id)
                    .limit(self.reconcile_page)
                )
                .scalars()
                .all()
            )
            if page:
                pages.append(np.array(page, dtype=np.int64))
                after = page[-1]
            if len(page) < self.reconcile_page:
                return np.concatenate(pages) if pages else np.zeros(0, dtype=np.int64)

    def _watch_gaps(self, ids: list[int], created: list[dt.datetime], now: float) -> None:
        for i in ids:
            self.gaps.pop(i, None)
        wall = utcnow()
        previous = self.last_id
        for i, at in zip(ids, created, strict=True):
            if i <= self.last_id:
                continue  # a gap that has now committed
            age = (wall - at).total_seconds() if at is not None else 0.0
            if i - previous > 1 and age < GAP_SECONDS:
                # ids previous+1 .. i-1 were taken before row i was: their transactions may
                # still commit, unless row i itself is already older than any transaction
                for missing in range(max(previous + 1, i - MAX_GAPS), i):
                    self.gaps[missing] = now + GAP_SECONDS - age
            previous = i
        self.last_id = max(self.last_id, ids[-1])
        if len(self.gaps) > MAX_GAPS:
            log.warning("registry index: %d unseen id gaps; forgetting the oldest", len(self.gaps))
            for i in sorted(self.gaps)[: len(self.gaps) - MAX_GAPS]:
                del self.gaps[i]

    def _add(self, rows: list[Any]) -> None:
        if not rows:
            return
        base = len(self.index)
        ids = np.array([r.id for r in rows], dtype=np.int64)
        artworks = np.array([r.artwork_id for r in rows], dtype=np.int64)
        colours = np.frombuffer(b"".join(bytes(r.colour) for r in rows), dtype=np.uint8)
        self.index.add(hex_to_words([r.hash for r in rows]))  # raises before adding, or adds
        self.ids.append(ids)
        self.artworks.append(artworks)
        self.colours.append(colours.reshape(-1, 48))
        for offset, r in enumerate(rows):
            for key in fpmod.bucket_alternates(bytes(r.colour)):
                self.buckets.setdefault(key, []).append(base + offset)
        self._flat = None

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        with self.lock:
            return self._arrays()

    def _arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._flat is None:
            if not self.ids:
                empty = np.zeros(0, dtype=np.int64)
                self._flat = (empty, empty, np.zeros((0, 48), dtype=np.uint8))
            else:
                self._flat = (
                    np.concatenate(self.ids),
                    np.concatenate(self.artworks),
                    np.concatenate(self.colours),
                )
        return self._flat

    def search(self, fp: fpmod.Fingerprint, variant: str = "") -> list[Candidate]:
        with self.lock:  # the index and the arrays as of one moment
            positions, distances = self.index.search(hex_to_words([fp.hash])[0], RADIUS)
            ids, artworks, colours = self._arrays()
        query = np.frombuffer(fp.colour, dtype=np.uint8).reshape(16, 3)[:, 1:].astype(np.int32)
        if positions.size:
            fit = verify.fit(verify.lumas(fp.colour), colours[positions][:, 0::3])
            passed = verify.accepted(fit, VERIFY).tolist()
        found = []
        for k, (pos, dist) in enumerate(zip(positions.tolist(), distances.tolist(), strict=True)):
            colour = colours[pos].reshape(16, 3)[:, 1:].astype(np.int32)
            cdist = int(np.abs(colour - query).sum())
            if cdist > COLOUR_REJECT or not passed[k]:
                continue
            found.append(Candidate(int(artworks[pos]), int(ids[pos]), dist, cdist, variant))
        return found

    def bucket_entries(self, key: int) -> list[int]:
        with self.lock:
            positions = set(self.buckets.get(key, ())) | set(
                self.buckets.get(fpmod.mirror_bucket(key), ())
            )
        return sorted(positions)


def registry_for(app: Flask) -> Registry:
    return app.extensions["creditline.registry"]


def registry() -> Registry:
    return registry_for(current_app)


# -- registration ---------------------------------------------------------------------------


def publish(session: Session, artwork: Artwork) -> None:
    if artwork.published_at is None:
        artwork.published_at = utcnow()
    published(session, artwork)
    session.flush()


def sync(session: Session, app: Flask, only: int | None = None, limit: int = SYNC_BATCH) -> int:
    """Fingerprint pending registrations (each one in the caller's transaction).

    Run by the worker's ``registry_sync`` tick and right away on an explicit publish; never
    from a public request, so anonymous callers cannot make the server decode images.
    """
    query = select(Registration).where(Registration.state == "pending")
    if only is not None:
        query = query.where(Registration.artwork_id == only)
    pending = session.scalars(
        query.order_by(Registration.created_at).limit(limit).with_for_update(skip_locked=True)
    ).all()
    if pending and session.get_bind().dialect.name == "postgresql":
        # One registering transaction at a time (a publish request and a worker tick may
        # overlap): each sees the other's committed fingerprints, so a shared picture conflicts.
        # SQLite has a single writer already.
        session.execute(sql_text("SELECT pg_advisory_xact_lock(:key)"), {"key": REGISTER_LOCK})
    batch: list[Fingerprint] = []  # this transaction's rows, which the index cannot see yet
    for registration in pending:
        register(session, app, registration, batch)
    return len(pending)


def register(
    session: Session, app: Flask, registration: Registration, batch: list[Fingerprint] | None = None
) -> None:
    artwork = session.get(Artwork, registration.artwork_id)
    if artwork is None:
        return
    store = uploads.store_for(app)
    max_pixels = app.config["MAX_IMAGE_PIXELS"]
    reg = registry_for(app)
    reg.refresh(session)
    new: list[Fingerprint] = []
    try:
        for image in artwork.images:
            rgba = fpmod.decode(store.read(image.sha256), max_pixels)
            for variant, fp in fpmod.registration_variants(rgba).items():
                new.append(
                    Fingerprint(
                        artwork_id=artwork.id,
                        image_sha256=image.sha256,
                        variant=variant,
                        hash=fp.hash,
                        colour=fp.colour,
                        bucket=fp.bucket,
                        quality=fp.quality,
                        detail=fp.detail,
                    )
                )
    except Exception as exc:  # a missing or undecodable file must not block the queue
        log.warning("cannot fingerprint artwork %s: %s", artwork.id, exc)
        registration.state, registration.error = "failed", str(exc)[:500]
        return
    _flag_conflicts(session, reg, artwork, new, batch or [])
    session.add_all(new)
    if batch is not None:
        batch.extend(new)
    registration.state, registration.registered_at, registration.error = (
        "registered",
        utcnow(),
        None,
    )
    session.flush()


def _flag_conflicts(
    session: Session,
    reg: Registry,
    artwork: Artwork,
    new: list[Fingerprint],
    batch: list[Fingerprint],
) -> None:
    """A full-image fingerprint matching another user's public work: both go to review.

    The same file (by SHA-256) registered for another work conflicts too, whatever its
    fingerprint: the matcher never matches low-information pictures or flat and tiled
    patterns (docs/FINGERPRINT.md §9), and the same bytes need no matcher to be the same
    picture. ``batch`` holds the fingerprints registered earlier in the same (uncommitted)
    transaction, which the index, reading committed rows only, does not have yet."""
    best = _same_files(session, artwork)
    for f in new:
        fp = fpmod.Fingerprint(f.hash, f.colour, f.bucket, f.quality, 0, 0, f.detail or b"")
        if f.variant != "full" or not query_informative(fp, fpmod.MIN_QUALITY):
            continue
        for c in confirm(session, reg.search(fp), {"": fp}):
            if c.artwork_id != artwork.id:
                best[c.artwork_id] = min(best.get(c.artwork_id, 999), c.distance)
        for b in batch:
            if b.artwork_id == artwork.id or not informative(b.hash, b.quality):
                continue
            distance = (int(b.hash, 16) ^ int(f.hash, 16)).bit_count()
            close = fpmod.colour_distance(b.colour, f.colour) <= COLOUR_REJECT
            verified = verify.accept(f.colour, b.colour, VERIFY) and verify.accept_detail(
                f.detail or b"", b.detail or b"", VERIFY
            )
            if distance <= RADIUS and close and verified:
                best[b.artwork_id] = min(best.get(b.artwork_id, 999), distance)
    if not best:
        return
    others = session.scalars(
        select(Artwork).where(
            Artwork.id.in_(best),
            Artwork.user_id != artwork.user_id,
            Artwork.published_at.is_not(None),
        )
    ).all()
    hidden = suppressed(session, [other.id for other in others])  # ruled a copy: no say
    for other in others:
        if other.id in hidden:
            continue
        exists = session.scalar(
            select(RegistryConflict).where(
                RegistryConflict.artwork_id == artwork.id,
                RegistryConflict.existing_artwork_id == other.id,
            )
        )
        if exists is None:
            log.info("registry conflict: artwork %s matches %s", artwork.id, other.id)
            session.add(
                RegistryConflict(
                    artwork_id=artwork.id, existing_artwork_id=other.id, distance=best[other.id]
                )
            )


def _same_files(session: Session, artwork: Artwork) -> dict[int, int]:
    """Registered works (other than ``artwork``) holding one of its files: work id → 0.

    Registrations earlier in the same transaction are flushed, so this sees them too."""
    found = set(
        session.scalars(
            select(ArtworkImage.artwork_id)
            .join(Registration, Registration.artwork_id == ArtworkImage.artwork_id)
            .where(
                ArtworkImage.sha256.in_({image.sha256 for image in artwork.images}),
                Registration.state == "registered",
                ArtworkImage.artwork_id != artwork.id,
            )
            .distinct()
        )
    )
    return dict.fromkeys(found, 0)


def open_conflicts(session: Session, artwork_id: int) -> list[RegistryConflict]:
    return list(
        session.scalars(
            select(RegistryConflict)
            .where(
                RegistryConflict.state == "open",
                or_(
                    RegistryConflict.artwork_id == artwork_id,
                    RegistryConflict.existing_artwork_id == artwork_id,
                ),
            )
            .order_by(RegistryConflict.id)
        )
    )


def suppressed(session: Session, artwork_ids: list[int]) -> set[int]:
    """Works that lost the public display: the later side of an open conflict or of one
    decided ``kept_first``, and the earlier side of one decided ``given_second``
    (``conflicts.py``)."""
    if not artwork_ids:
        return set()
    later = session.scalars(
        select(RegistryConflict.artwork_id).where(
            RegistryConflict.state.in_(("open", "kept_first")),
            RegistryConflict.artwork_id.in_(artwork_ids),
        )
    )
    earlier = session.scalars(
        select(RegistryConflict.existing_artwork_id).where(
            RegistryConflict.state == "given_second",
            RegistryConflict.existing_artwork_id.in_(artwork_ids),
        )
    )
    return set(later) | set(earlier)


# -- matching -------------------------------------------------------------------------------


def match(session: Session, app: Flask, rgba: np.ndarray, limit: int = 10) -> dict[str, Any]:
    reg = registry_for(app)
    reg.refresh(session)
    variants = fpmod.query_variants(rgba)
    as_is = variants.get("as_is")
    if as_is is None or not query_informative(as_is):
        return {"low_information": True, "candidates": []}
    found: list[Candidate] = []
    for name, fp in variants.items():
        if not informative(fp.hash, fp.quality, QUERY_MIN_QUALITY):
            continue  # e.g. the frame of a screenshot around a symmetric picture
        found += reg.search(fp, name)
    best: dict[int, Candidate] = {}
    for c in confirm(session, found, variants):
        if c.artwork_id not in best or c.cost < best[c.artwork_id].cost:
            best[c.artwork_id] = c
    visible = _visible(session, list(best))
    ranked = sorted(
        (c for c in best.values() if c.artwork_id in visible), key=lambda c: (c.cost, c.artwork_id)
    )
    return {
        "low_information": False,
        "candidates": [(visible[c.artwork_id], c) for c in ranked[:limit]],
    }


def confirm(
    session: Session, found: list[Candidate], queries: dict[str, fpmod.Fingerprint]
) -> list[Candidate]:
    """The candidates whose index entry is still the row it was, and whose detail grid agrees
    with the query's (``verify.accept_detail``; kept off the in-memory index, which would need
    64 more bytes per entry, because only the few candidates left get here). An entry whose row
    was deleted (with its artwork) or whose id SQLite gave to a later row of another picture is
    dropped — the row must exist, belong to the same artwork and sit at the distance the index
    found."""
    if not found:
        return []
    rows = {
        r.id: r
        for r in session.execute(
            select(
                Fingerprint.id, Fingerprint.artwork_id, Fingerprint.hash, Fingerprint.detail
            ).where(Fingerprint.id.in_({c.fingerprint_id for c in found}))
        )
    }
    live = []
    for c in found:
        row = rows.get(c.fingerprint_id)
        if row is None or row.artwork_id != c.artwork_id:
            continue
        query = queries[c.variant]
        if (int(row.hash, 16) ^ int(query.hash, 16)).bit_count() != c.distance:
            continue
        if not verify.accept_detail(query.detail, row.detail or b"", VERIFY):
            continue
        live.append(c)
    return live


def _visible(session: Session, artwork_ids: list[int]) -> dict[int, Artwork]:
    if not artwork_ids:
        return {}
    rows = session.scalars(
        select(Artwork).where(Artwork.id.in_(artwork_ids), Artwork.published_at.is_not(None))
    ).all()
    hidden = suppressed(session, artwork_ids)
    return {a.id: a for a in rows if a.id not in hidden}


def lookup_bucket(session: Session, app: Flask, key: int, limit: int = 2000) -> list[dict]:
    """Every (fingerprint, work) in the bucket and its mirror, for the client to match: at
    most ``limit`` entries, counted among those served — entries of deleted works, of works
    that lost the display in a conflict, or whose id SQLite gave to another row (its artwork
    id too: the row must still hold the colour grid the index filed) are skipped before the
    cap, so they never crowd out the ones a client needs."""
    if limit <= 0:
        return []
    reg = registry_for(app)
    reg.refresh(session)
    positions = reg.bucket_entries(key)
    ids, artworks, colours = reg.arrays()
    served: list[dict] = []
    seen: set[int] = set()
    for first in range(0, len(positions), limit):
        # id → what the index holds for it (a later position of a reused id wins)
        wanted = {
            int(ids[p]): (int(artworks[p]), colours[p].tobytes())
            for p in positions[first : first + limit]
        }
        visible = _visible(session, sorted({a for a, _ in wanted.values()}))
        rows = session.execute(
            select(
                Fingerprint.id,
                Fingerprint.hash,
                Fingerprint.colour,
                Fingerprint.detail,
                Fingerprint.artwork_id,
            ).where(Fingerprint.id.in_(set(wanted) - seen))
        ).all()
        for r in sorted(rows, key=lambda r: r.id):
            if (r.artwork_id, bytes(r.colour)) != wanted[r.id] or r.artwork_id not in visible:
                continue  # deleted, hidden, or an id SQLite gave to another picture's row
            seen.add(r.id)
            served.append(
                {
                    "hash": r.hash,
                    "colour": bytes(r.colour).hex(),
                    "detail": bytes(r.detail).hex() if r.detail else None,
                    "work": visible[r.artwork_id].public_id,
                }
            )
            if len(served) == limit:
                return served
    return served


def sync_tick(app: Flask) -> int:
    """The worker tick: fingerprint what deliveries and imports queued since the last one."""
    from server import db

    with db.session_scope(app) as session:
        return sync(session, app)
