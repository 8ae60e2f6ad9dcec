"""Attribution sync: fix a credit once, and every copy that can be edited follows.

When what a post shows changes (its text, credits, rating or tags, or a credited person's
name or handles), the artwork's revision goes up and every posted copy on a platform that can
edit gets an edit delivery through the normal engine (retries, pacing, leases). Copies on
platforms that cannot edit stay at their old revision: they are "stale", and the canonical
page and the extension show the current credits instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from adapters import registry
from server.models import Artwork, Copy, Credit, Delivery, Person, utcnow

log = logging.getLogger(__name__)

PENDING = ("scheduled", "retry_wait", "needs_attention")


@dataclass(frozen=True)
class CopyState:
    copy: Copy
    state: str  # synced | updating | stale | failed


def content_changed(session: Session, artwork: Artwork) -> list[Delivery]:
    """Bump the revision and queue one edit per editable posted copy; returns the edits."""
    artwork.revision += 1  # also for posts in flight: they notice when they are recorded
    posted = [d for d in artwork.deliveries if d.kind == "post" and d.state == "posted"]
    edits = [edit for post in posted if (edit := catch_up(session, post)) is not None]
    log.info(
        "artwork %s now at revision %s: %d edits queued", artwork.id, artwork.revision, len(edits)
    )
    return edits


def catch_up(session: Session, post: Delivery) -> Delivery | None:
    """Queue an edit that brings ``post``'s copy to the artwork's current revision (None where
    the platform cannot edit: that copy stays stale)."""
    artwork = post.artwork
    if not registry.get(post.account.platform).supports_edit:
        return None
    _supersede(session, post)
    edit = Delivery(
        artwork=artwork,
        account=post.account,
        kind="edit",
        revision=artwork.revision,
        state="scheduled",
        scheduled_at=utcnow(),
        idempotency_key=f"{post.idempotency_key}:r{artwork.revision}"[:64],
        remote_id=post.remote_id,
        remote_url=post.remote_url,
        progress=dict(post.progress or {}),  # e.g. DeviantArt's stash id, for its edit
    )
    session.add(edit)
    return edit


def _supersede(session: Session, post: Delivery) -> None:
    """Older edits that have not started are replaced by the new one (each edit renders the
    current artwork, so only the newest is worth sending)."""
    for older in session.scalars(
        select(Delivery).where(
            Delivery.artwork_id == post.artwork_id,
            Delivery.account_id == post.account_id,
            Delivery.kind == "edit",
            Delivery.state.in_(PENDING),
        )
    ):
        older.state = "cancelled"
        older.last_error = "superseded by a newer edit"


def person_changed(session: Session, person: Person) -> list[Delivery]:
    """A credited or mentioned person's name or handles changed: their artworks follow."""
    mention = f"@[{person.key}]"
    artworks = session.scalars(
        select(Artwork)
        .where(Artwork.user_id == person.user_id)
        .where(
            or_(
                Artwork.id.in_(select(Credit.artwork_id).where(Credit.person_id == person.id)),
                Artwork.description.contains(mention, autoescape=True),
            )
        )
    )
    return [edit for artwork in artworks for edit in content_changed(session, artwork)]


def copy_states(artwork: Artwork) -> list[CopyState]:
    """Each copy's sync state, for the artwork page and the API."""
    states = []
    for copy in artwork.copies:
        if copy.synced_revision >= artwork.revision:
            states.append(CopyState(copy, "synced"))
            continue
        edits = [
            d
            for d in artwork.deliveries
            if d.kind == "edit"
            and d.remote_id == copy.remote_id
            and d.account.platform == copy.platform
            and d.revision == artwork.revision
        ]
        if any(d.state in ("failed", "needs_attention") for d in edits):
            states.append(CopyState(copy, "failed"))
        elif edits:
            states.append(CopyState(copy, "updating"))
        else:
            states.append(CopyState(copy, "stale"))
    return states
