"""Fill in the detail grid of fingerprints stored before it existed (migration 0009).

Those rows are verified on the colour grid alone (``verify.accept_detail`` skips a side without
one), so a registry upgraded in place keeps the weaker matcher for its older works until this
has run. The pictures are read back from the media store and fingerprinted again; a row gets
its detail only when the recomputed variant has exactly the stored hash, so a row is never
given another picture's grid. One image per transaction: an interrupted run keeps what it did.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import select

from server import db, uploads
from server.models import Fingerprint
from server.registry import fingerprint as fpmod

log = logging.getLogger(__name__)


@dataclass
class Backfill:
    images: int = 0  # pictures read
    filled: int = 0  # rows that got their detail grid
    unchanged: int = 0  # rows whose recomputed hash differs: left without one
    failed: int = 0  # rows whose picture could not be read or decoded


def pending_images(app: Flask) -> list[str]:
    with db.session_scope(app) as session:
        return list(
            session.scalars(
                select(Fingerprint.image_sha256)
                .where(Fingerprint.detail.is_(None))
                .distinct()
                .order_by(Fingerprint.image_sha256)
            )
        )


def run(app: Flask, progress: Callable[[Backfill, int], None] | None = None) -> Backfill:
    """Backfill every image with rows lacking a detail grid; ``progress(result, total)`` after
    each image."""
    result = Backfill()
    images = pending_images(app)
    store = uploads.store_for(app)
    for sha256 in images:
        with db.session_scope(app) as session:
            rows = session.scalars(
                select(Fingerprint).where(
                    Fingerprint.image_sha256 == sha256, Fingerprint.detail.is_(None)
                )
            ).all()
            try:
                rgba = fpmod.decode(store.read(sha256), app.config["MAX_IMAGE_PIXELS"])
                variants = fpmod.registration_variants(rgba)
            except Exception as exc:  # a missing or undecodable file: the others go on
                log.warning("cannot read image %s for its detail grid: %s", sha256[:12], exc)
                result.failed += len(rows)
            else:
                for row in rows:
                    fp = variants.get(row.variant)
                    if fp is not None and fp.hash == row.hash:
                        row.detail = fp.detail
                        result.filled += 1
                    else:
                        result.unchanged += 1
        result.images += 1
        if progress is not None:
            progress(result, len(images))
    return result
