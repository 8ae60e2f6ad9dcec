"""Attribution sync: fix a credit once, and every copy that can be edited follows.

When what a post shows changes (its text, credits, rating or tags, or a credited person's
name or handles), the artwork's revision goes up and every posted copy on a platform that can
edit gets an edit delivery through the normal engine (retries, pacing, leases). Copies on
platforms that cannot edit stay at their old revision: they are "stale", and the canonical
page and the extension show the current credits instead — unless the artist opted in to
delete-and-repost for the artwork (``repost_stale``): then a platform that can delete gets a
``kind="repost"`` delivery, which posts the current version first and only then deletes the
old post (``server.delivery.repost``). The new post becomes a new ``Copy``; the old one is
marked ``source="replaced"`` once it is gone, so that its URL still resolves to the work in
the registry.

"Also on" links (``also_on_links``): once no post delivery of the artwork is still pending,
each editable copy that does not link the canonical page yet gets a ``kind="links"``
delivery, an edit whose render ends with that link. Renders made from then on (the last
post, later edits and reposts) carry the link themselves.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from adapters import metadata, registry
from server.models import Artwork, Copy, Credit, Delivery, Person, utcnow

log = logging.getLogger(__name__)

PENDING = ("scheduled", "retry_wait", "needs_attention")
TERMINAL = ("posted", "failed", "cancelled")
REPOST = "repost"  # the key of a repost's own state in ``Delivery.progress``
REPLACES = "replaces"  # what a repost tells its adapter about the post it replaces
# progress keys that are the engine's own, not an adapter's ids
ENGINE_KEYS = (REPOST, REPLACES, "also_on", "reply_ids", metadata.PROGRESS_KEY)
SUPERSEDED = "superseded by a newer repost"
# A ``links`` edit that ran while a post was still pending: it is queued again once links are
# due (unlike one whose render would not take the line, which stays cancelled).
LINKS_NOT_DUE = "not due yet: a post of this artwork is still pending"
RETIRABLE = (*PENDING, "failed")  # a repost in one of these states may be replaced


@dataclass(frozen=True)
class CopyState:
    copy: Copy
    state: str  # synced | updating | stale | failed | reposting | replaced


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
    adapter = registry.get(post.account.platform)
    if not adapter.supports_edit:
        if artwork.repost_stale and adapter.supports_delete:
            return queue_repost(session, post)
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
        if copy.source == "replaced":
            states.append(CopyState(copy, "replaced"))
            continue
        if copy.synced_revision >= artwork.revision:
            states.append(CopyState(copy, "synced"))
            continue
        reposts = [d for d in artwork.deliveries if d.kind == "repost" and _replaces(d, copy)]
        if reposts and (latest := reposts[-1]).state != "cancelled":
            if latest.state in ("failed", "needs_attention"):
                states.append(CopyState(copy, "failed"))
            else:  # queued, running, or its new post is up and the old one is being deleted
                states.append(CopyState(copy, "reposting"))
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


# -- delete-and-repost ----------------------------------------------------------------------


def _replaces(repost: Delivery, copy: Copy) -> bool:
    old = (repost.progress or {}).get(REPOST, {}).get("old") or {}
    return old.get("copy_id") == copy.id


def new_post_of(delivery: Delivery) -> dict[str, Any] | None:
    """What a repost has already posted ({"remote_id", "url"}), or None before that step."""
    return (delivery.progress or {}).get(REPOST, {}).get("new")


def live_copy(session: Session, artwork: Artwork, account_id: int) -> Copy | None:
    """The newest copy Creditline posted on this account (a repost's new post once it is up)."""
    return session.scalar(
        select(Copy)
        .join(Delivery, Copy.delivery_id == Delivery.id)
        .where(
            Copy.artwork_id == artwork.id,
            Delivery.account_id == account_id,
            Copy.source == "delivery",
        )
        .order_by(Copy.id.desc())
        .limit(1)
    )


def queue_repost(session: Session, post: Delivery) -> Delivery | None:
    """Queue a delete-and-repost of the account's live copy if it is behind (None otherwise).

    One repost per account at a time until its new post is up: older ones that never posted
    (waiting, or failed) are cancelled as superseded — each repost renders the artwork as it is
    when it runs, and two reposts must never replace the same copy; one that is running
    renders the current artwork anyway and catches up when it records its new post.
    """
    artwork, account = post.artwork, post.account
    copy = live_copy(session, artwork, account.id)
    if copy is None or copy.synced_revision >= artwork.revision:
        return None
    for other in _reposts(session, artwork.id, account.id):
        if other.state in ("posted", "cancelled") or new_post_of(other) is not None:
            continue  # done, or only deleting its own old post now
        if other.revision == artwork.revision and _replaces(other, copy):
            return None  # already queued for this revision
        if not _retire(session, other, SUPERSEDED):
            log.info("repost %s is running; it renders the current artwork", other.id)
            return None
    taken = session.scalar(
        select(Delivery)
        .where(
            Delivery.artwork_id == artwork.id,
            Delivery.account_id == account.id,
            Delivery.kind == "repost",
            Delivery.revision == artwork.revision,
        )
        .execution_options(populate_existing=True)
    )
    if taken is not None:  # e.g. the artist turned the opt-in off and on again
        return _revive(session, taken, copy)
    repost = Delivery(
        artwork=artwork,
        account=account,
        kind="repost",
        revision=artwork.revision,
        state="scheduled",
        scheduled_at=utcnow(),
        # its own key, made once: Bluesky's record key of the new post, so a retry can
        # only ever meet the same record
        idempotency_key=registry.get(account.platform).new_idempotency_key(),
        remote_id=copy.remote_id,
        remote_url=copy.url,
        progress=_repost_progress(session, copy),
    )
    session.add(repost)
    log.info("artwork %s: repost of %s queued", artwork.id, copy.url)
    return repost


def _repost_progress(session: Session, copy: Copy) -> dict[str, Any]:
    source = session.get(Delivery, copy.delivery_id)
    return {
        REPOST: {
            "old": {
                "copy_id": copy.id,
                "remote_id": copy.remote_id,
                "url": copy.url,
                # what the old post's delivery saved (thread parts), for its deletion
                "progress": _own_progress(source.progress if source else {}),
            }
        }
    }


def _revive(session: Session, repost: Delivery, copy: Copy) -> Delivery | None:
    """The repost for this revision exists (the unique slot is taken): a cancelled one that
    never posted is queued again, now against the live copy; any other stays as it is."""
    if repost.state != "cancelled" or new_post_of(repost) is not None or repost.outcome_unknown:
        log.info("repost for revision %s already exists (delivery %s)", repost.revision, repost.id)
        return None
    repost.state = "scheduled"
    repost.scheduled_at = utcnow()
    repost.attempts = 0
    repost.last_error = None
    repost.cancel_requested = False
    repost.remote_id, repost.remote_url = copy.remote_id, copy.url
    repost.progress = _repost_progress(session, copy)
    log.info("repost %s queued again for %s", repost.id, copy.url)
    return repost


def superseded(session: Session, repost: Delivery) -> str | None:
    """Why a repost that has not posted yet must not run or be retried (None if it may): the
    copy it would replace is no longer the account's live copy, or a newer repost exists."""
    if new_post_of(repost) is not None:
        return None  # its new post is up: only the old post's deletion is left
    old = (repost.progress or {}).get(REPOST, {}).get("old") or {}
    live = live_copy(session, repost.artwork, repost.account_id)
    if live is None or live.id != old.get("copy_id"):
        where = f"; the post on this account is now {live.url}" if live is not None else ""
        return f"{SUPERSEDED} (the copy it would replace was already replaced{where})"
    newer = session.scalar(
        select(Delivery.id).where(
            Delivery.artwork_id == repost.artwork_id,
            Delivery.account_id == repost.account_id,
            Delivery.kind == "repost",
            Delivery.id > repost.id,
            Delivery.state != "cancelled",
        )
    )
    if newer is not None:
        return f"{SUPERSEDED} (delivery {newer})"
    return None


def _own_progress(progress: dict[str, Any] | None) -> dict[str, Any]:
    """An adapter's saved ids, without the engine's own keys."""
    return {k: v for k, v in (progress or {}).items() if k not in (REPOST, REPLACES, "also_on")}


def adapter_ids(progress: dict[str, Any] | None) -> dict[str, Any]:
    """What an adapter saved in a delivery's progress (an earlier attempt got that far, so its
    post may exist), without the engine's own keys."""
    return {k: v for k, v in (progress or {}).items() if k not in ENGINE_KEYS and v}


def _reposts(session: Session, artwork_id: int, account_id: int) -> list[Delivery]:
    return list(
        session.scalars(
            select(Delivery)
            .where(
                Delivery.artwork_id == artwork_id,
                Delivery.account_id == account_id,
                Delivery.kind == "repost",
            )
            .order_by(Delivery.id)
            .execution_options(populate_existing=True)
        )
    )


def _retire(session: Session, delivery: Delivery, reason: str) -> bool:
    """Cancel a repost that is not running and never posted, in one conditional statement:
    it must still be in the state read, with the attempts read (a worker's claim in between
    adds one, and wins: a repost that may have posted must finish its swap). One whose
    outcome is unknown is left alone for the same reason."""
    if delivery.state not in RETIRABLE or delivery.outcome_unknown:
        return False
    done = session.execute(
        update(Delivery)
        .where(
            and_(
                Delivery.id == delivery.id,
                Delivery.state == delivery.state,
                Delivery.attempts == delivery.attempts,
                Delivery.outcome_unknown.is_(False),
            )
        )
        .values(state="cancelled", last_error=reason, updated_at=utcnow())
        .execution_options(synchronize_session="fetch")
    ).rowcount
    return done == 1


def repost_opted(session: Session, artwork: Artwork, enabled: bool) -> list[Delivery]:
    """The artist turned delete-and-repost on (stale copies are queued now) or off (reposts
    that never ran are cancelled; one that is running finishes its swap)."""
    if enabled:
        posted = [d for d in artwork.deliveries if d.kind == "post" and d.state == "posted"]
        cannot_edit = [p for p in posted if not registry.get(p.account.platform).supports_edit]
        return [r for post in cannot_edit if (r := catch_up(session, post)) is not None]
    for delivery in artwork.deliveries:
        if delivery.kind == "repost" and new_post_of(delivery) is None:
            _retire(session, delivery, "delete-and-repost was turned off")
    return []


# -- "also on" links --------------------------------------------------------------------------


def links_due(artwork: Artwork, rendering: Delivery | None = None) -> bool:
    """Whether renders now end with the link to the canonical page: the artist opted in and
    no post delivery is still pending (``rendering``, a post being rendered, is the last)."""
    if not artwork.also_on_links:
        return False
    posts = [d for d in artwork.deliveries if d.kind == "post"]
    others = [d for d in posts if d is not rendering]
    if any(d.state not in TERMINAL for d in others):
        return False
    return rendering is not None or any(d.state == "posted" for d in posts)


def queue_links(session: Session, artwork: Artwork) -> list[Delivery]:
    """Once links are due: one ``links`` edit per editable copy that does not show them."""
    if not links_due(artwork):
        return []
    queued = []
    for post in [d for d in artwork.deliveries if d.kind == "post" and d.state == "posted"]:
        if not registry.get(post.account.platform).supports_edit or _shows_links(artwork, post):
            continue
        related = [
            d
            for d in artwork.deliveries
            if d.account_id == post.account_id and d.kind in ("edit", "links")
        ]
        if any(d.state in ("scheduled", "retry_wait") for d in related):
            continue  # a waiting edit renders with the link when it runs
        slot = next(
            (d for d in related if d.kind == "links" and d.revision == artwork.revision), None
        )
        if slot is not None:  # the (artwork, account, kind, revision) slot is taken
            if slot.state == "cancelled" and slot.last_error == LINKS_NOT_DUE:
                slot.state, slot.scheduled_at, slot.attempts = "scheduled", utcnow(), 0
                slot.last_error, slot.cancel_requested = None, False
                queued.append(slot)
            continue
        links = Delivery(
            artwork=artwork,
            account=post.account,
            kind="links",
            revision=artwork.revision,
            state="scheduled",
            scheduled_at=utcnow(),
            idempotency_key=f"{post.idempotency_key}:l{artwork.revision}"[:64],
            remote_id=post.remote_id,
            remote_url=post.remote_url,
            progress=_own_progress(post.progress),
        )
        session.add(links)
        queued.append(links)
    if queued:
        log.info("artwork %s: %d 'also on' edits queued", artwork.id, len(queued))
    return queued


def _shows_links(artwork: Artwork, post: Delivery) -> bool:
    """Whether the last content written to ``post``'s copy ended with the link (the runner
    notes ``also_on`` in each delivery's progress when it renders)."""
    written = [
        d
        for d in artwork.deliveries
        if d.account_id == post.account_id
        and d.remote_id == post.remote_id
        and d.kind in ("post", "edit", "links")
        and d.state == "posted"
    ]
    if not written:
        return False
    last = max(written, key=lambda d: (d.updated_at, d.id))
    return bool((last.progress or {}).get("also_on"))


def post_ended(session: Session, delivery: Delivery) -> None:
    """A post delivery ended without a copy (failed or cancelled): if it was the last one
    pending, the links are due now."""
    if delivery.kind == "post" and delivery.state in ("failed", "cancelled"):
        queue_links(session, delivery.artwork)


def post_recorded(session: Session, delivery: Delivery) -> None:
    """A post delivery just became a copy: catch it up, and add the links if now due."""
    if delivery.revision < delivery.artwork.revision:  # changed while this was being posted
        catch_up(session, delivery)
    queue_links(session, delivery.artwork)
