"""Fill in the detail grid of fingerprints stored before it existed (migration 0009).

Those rows are verified on the colour grid alone (``verify.accept_detail`` skips a side without
one), so a registry upgraded in place keeps the weaker matcher for its older works until this
has run. The pictures are read back from the media store and fingerprinted again; a row gets
its detail only when the recomputed variant has exactly the stored hash, so a row is never
given another picture's grid. Rows are read in pages by id (no index on the image column is
needed) and each page is one transaction, so an interrupted run keeps what it did; rows left
without a grid (an unreadable picture, another hash) are tried again by the next run.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import func, select, update

from server import db, uploads
from server.models import Fingerprint
from server.registry import fingerprint as fpmod

log = logging.getLogger(__name__)

PAGE = 500  # rows per transaction


@dataclass
class Backfill:
    rows: int = 0  # rows looked at
    filled: int = 0  # rows that got their detail grid
    unchanged: int = 0  # rows whose recomputed hash differs (or that were deleted): left as is
    failed: int = 0  # rows whose picture could not be read or decoded


def pending(app: Flask) -> int:
    with db.session_scope(app) as session:
        return session.scalar(
            select(func.count()).select_from(Fingerprint).where(Fingerprint.detail.is_(None))
        )


def run(app: Flask, progress: Callable[[Backfill, int], None] | None = None) -> Backfill:
    """Backfill every row lacking a detail grid; ``progress(result, total)`` after each page."""
    result = Backfill()
    total = pending(app)
    store = uploads.store_for(app)
    last = 0
    while True:
        with db.session_scope(app) as session:
            page = session.execute(
                select(
                    Fingerprint.id, Fingerprint.image_sha256, Fingerprint.variant, Fingerprint.hash
                )
                .where(Fingerprint.detail.is_(None), Fingerprint.id > last)
                .order_by(Fingerprint.id)
                .limit(PAGE)
            ).all()
            if not page:
                return result
            last = page[-1].id
            by_image = defaultdict(list)
            for row in page:
                by_image[row.image_sha256].append(row)
            for sha256, rows in by_image.items():
                _fill(session, app, store, sha256, rows, result)
            result.rows += len(page)
        if progress is not None:
            progress(result, total)


def _fill(session, app, store, sha256: str, rows: list, result: Backfill) -> None:  # type: ignore[no-untyped-def]
    try:
        rgba = fpmod.decode(store.read(sha256), app.config["MAX_IMAGE_PIXELS"])
        variants = fpmod.registration_variants(rgba)
    except Exception as exc:  # a missing or undecodable file: the others go on
        log.warning("cannot read image %s for its detail grid: %s", sha256[:12], exc)
        result.failed += len(rows)
        return
    for row in rows:
        fp = variants.get(row.variant)
        done = 0
        if fp is not None and fp.hash == row.hash:
            done = session.execute(  # a row deleted meanwhile is simply not updated
                update(Fingerprint)
                .where(Fingerprint.id == row.id, Fingerprint.detail.is_(None))
                .values(detail=fp.detail)
                .execution_options(synchronize_session=False)
            ).rowcount
        if done:
            result.filled += 1
        else:
            result.unchanged += 1
