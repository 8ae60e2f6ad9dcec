"""Publishing, fingerprint registration, conflicts and matching.

The database is the registry's truth (``registrations``, ``fingerprints``,
``registry_conflicts``), so every web process sees the same registry. Each process keeps an
in-memory multi-index over the fingerprints (``index.MIHIndex``) and catches up with one
indexed query (``fingerprints.id > last seen``) before each search; a row that disappeared
(its artwork was deleted) is dropped when candidates are resolved against the database, and a
restart rebuilds the index from the table.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from flask import Flask, current_app
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from server import uploads
from server.models import Artwork, Fingerprint, Registration, RegistryConflict, utcnow
from server.registry import fingerprint as fpmod
from server.registry.index import MIHIndex, hex_to_words

log = logging.getLogger(__name__)

RADIUS = 31  # Hamming radius on 256 bits (measured: bench/registry; docs/FINGERPRINT.md §9)
COLOUR_REJECT = 320  # colour distance above which a structural match is another recolour
COLOUR_WEIGHT = 1 / 8  # cost = hamming + colour / 8
SYNC_BATCH = 5  # pending registrations fingerprinted per registry_sync tick (every 10 s)


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


@dataclass
class Registry:
    """The per-process index over the shared fingerprints table."""

    index: MIHIndex = field(default_factory=MIHIndex)
    ids: list[np.ndarray] = field(default_factory=list)
    artworks: list[np.ndarray] = field(default_factory=list)
    colours: list[np.ndarray] = field(default_factory=list)
    buckets: dict[int, list[int]] = field(default_factory=dict)
    last_id: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _flat: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def refresh(self, session: Session) -> None:
        with self.lock:
            rows = session.execute(
                select(
                    Fingerprint.id,
                    Fingerprint.artwork_id,
                    Fingerprint.hash,
                    Fingerprint.colour,
                )
                .where(Fingerprint.id > self.last_id, Fingerprint.quality >= fpmod.MIN_QUALITY)
                .order_by(Fingerprint.id)
            ).all()
            if not rows:
                return
            base = len(self.index)
            self.index.add(hex_to_words([r.hash for r in rows]))
            self.ids.append(np.array([r.id for r in rows], dtype=np.int64))
            self.artworks.append(np.array([r.artwork_id for r in rows], dtype=np.int64))
            colours = np.frombuffer(b"".join(bytes(r.colour) for r in rows), dtype=np.uint8)
            self.colours.append(colours.reshape(-1, 48))
            for offset, r in enumerate(rows):
                for key in fpmod.bucket_alternates(bytes(r.colour)):
                    self.buckets.setdefault(key, []).append(base + offset)
            self.last_id = rows[-1].id
            self._flat = None

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
        positions, distances = self.index.search(hex_to_words([fp.hash])[0], RADIUS)
        ids, artworks, colours = self.arrays()
        query = np.frombuffer(fp.colour, dtype=np.uint8).reshape(16, 3)[:, 1:].astype(np.int32)
        found = []
        for pos, dist in zip(positions.tolist(), distances.tolist(), strict=True):
            colour = colours[pos].reshape(16, 3)[:, 1:].astype(np.int32)
            cdist = int(np.abs(colour - query).sum())
            if cdist > COLOUR_REJECT:
                continue
            found.append(Candidate(int(artworks[pos]), int(ids[pos]), dist, cdist, variant))
        return found

    def bucket_entries(self, key: int) -> list[int]:
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
    for registration in pending:
        register(session, app, registration)
    return len(pending)


def register(session: Session, app: Flask, registration: Registration) -> None:
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
                    )
                )
    except Exception as exc:  # a missing or undecodable file must not block the queue
        log.warning("cannot fingerprint artwork %s: %s", artwork.id, exc)
        registration.state, registration.error = "failed", str(exc)[:500]
        return
    _flag_conflicts(session, reg, artwork, new)
    session.add_all(new)
    registration.state, registration.registered_at, registration.error = (
        "registered",
        utcnow(),
        None,
    )
    session.flush()


def _flag_conflicts(
    session: Session, reg: Registry, artwork: Artwork, new: list[Fingerprint]
) -> None:
    """A full-image fingerprint matching another user's public work: both go to review."""
    best: dict[int, int] = {}
    for f in new:
        if f.variant != "full" or f.quality < fpmod.MIN_QUALITY:
            continue
        fp = fpmod.Fingerprint(f.hash, f.colour, f.bucket, f.quality, 0, 0)
        for c in reg.search(fp):
            if c.artwork_id != artwork.id:
                best[c.artwork_id] = min(best.get(c.artwork_id, 999), c.distance)
    if not best:
        return
    others = session.scalars(
        select(Artwork).where(
            Artwork.id.in_(best),
            Artwork.user_id != artwork.user_id,
            Artwork.published_at.is_not(None),
        )
    ).all()
    for other in others:
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
    """Works that lost the public display: the later side of an open conflict."""
    if not artwork_ids:
        return set()
    return set(
        session.scalars(
            select(RegistryConflict.artwork_id).where(
                RegistryConflict.state == "open", RegistryConflict.artwork_id.in_(artwork_ids)
            )
        )
    )


# -- matching -------------------------------------------------------------------------------


def match(session: Session, app: Flask, rgba: np.ndarray, limit: int = 10) -> dict[str, Any]:
    reg = registry_for(app)
    reg.refresh(session)
    variants = fpmod.query_variants(rgba)
    if not variants or not fpmod.is_matchable(variants["as_is"]):
        return {"low_information": True, "candidates": []}
    best: dict[int, Candidate] = {}
    for name, fp in variants.items():
        for c in reg.search(fp, name):
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


def _visible(session: Session, artwork_ids: list[int]) -> dict[int, Artwork]:
    if not artwork_ids:
        return {}
    rows = session.scalars(
        select(Artwork).where(Artwork.id.in_(artwork_ids), Artwork.published_at.is_not(None))
    ).all()
    hidden = suppressed(session, artwork_ids)
    return {a.id: a for a in rows if a.id not in hidden}


def lookup_bucket(session: Session, app: Flask, key: int, limit: int = 2000) -> list[dict]:
    """Every (fingerprint, work) in the bucket and its mirror, for the client to match."""
    reg = registry_for(app)
    reg.refresh(session)
    positions = reg.bucket_entries(key)[:limit]
    ids, artworks, _ = reg.arrays()
    wanted = {int(ids[p]): int(artworks[p]) for p in positions}
    visible = _visible(session, sorted(set(wanted.values())))
    if not wanted:
        return []
    rows = session.execute(
        select(Fingerprint.id, Fingerprint.hash, Fingerprint.colour, Fingerprint.artwork_id).where(
            Fingerprint.id.in_(wanted)
        )
    ).all()
    return [
        {
            "hash": r.hash,
            "colour": bytes(r.colour).hex(),
            "work": visible[r.artwork_id].public_id,
        }
        for r in sorted(rows, key=lambda r: r.id)
        if r.artwork_id in visible
    ]


def sync_tick(app: Flask) -> int:
    """The worker tick: fingerprint what deliveries and imports queued since the last one."""
    from server import db

    with db.session_scope(app) as session:
        return sync(session, app)
