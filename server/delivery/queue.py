"""Every state change of a delivery, each one a single short transaction.

Claims are atomic: one ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING`` on
PostgreSQL, the same statement under SQLite's single writer. A worker holds a claimed delivery
by its lease; every later write is conditional on still holding it, so a worker that lost its
lease (it stalled, another reclaimed the row) can never overwrite the newer truth.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, object_session

from adapters import registry
from server import sync
from server.models import Account, Artwork, Copy, Delivery
from server.registry import service as attribution

log = logging.getLogger(__name__)

DUE_STATES = ("scheduled", "retry_wait")
LEASED_STATES = ("claimed", "uploading", "publishing")
TERMINAL_STATES = ("posted", "failed", "cancelled")


class LeaseLost(Exception):
    """Another worker owns the delivery now; stop without touching it."""


class NotAllowed(ValueError):
    """The action does not fit the delivery's current state (HTTP 409)."""


# -- creation -------------------------------------------------------------------------------


def create(
    session: Session, artwork: Artwork, accounts: Iterable[Account], scheduled_at: dt.datetime
) -> list[tuple[Delivery, bool]]:
    """One delivery per (artwork, account); an existing one is returned as it is.

    Returns (delivery, created) pairs in the order of ``accounts``.
    """
    result = []
    for account in accounts:
        existing = session.scalar(
            select(Delivery).where(
                Delivery.artwork_id == artwork.id,
                Delivery.account_id == account.id,
                Delivery.kind == "post",
            )
        )
        if existing is not None:
            result.append((existing, False))
            continue
        delivery = Delivery(
            artwork=artwork,
            account=account,
            state="scheduled",
            scheduled_at=scheduled_at,
            idempotency_key=registry.get(account.platform).new_idempotency_key(),
            progress={},
            kind="post",
            revision=artwork.revision,
        )
        session.add(delivery)
        result.append((delivery, True))
    session.flush()
    return result


# -- claiming -------------------------------------------------------------------------------


def expire_late(session: Session, now: dt.datetime, late_bound: float) -> int:
    """Never-tried deliveries missed by more than ``late_bound`` seconds wait for the artist."""
    cutoff = now - dt.timedelta(seconds=late_bound)
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.state == "scheduled", Delivery.attempts == 0, Delivery.scheduled_at < cutoff
        )
        .values(
            state="needs_attention",
            updated_at=now,
            last_error="missed its scheduled time while Creditline was not running; "
            "post it now with retry, or cancel it",
        )
    )
    return result.rowcount


def claim(
    session: Session, worker: str, now: dt.datetime, limit: int, lease_seconds: float
) -> list[int]:
    """Atomically take up to ``limit`` due deliveries of active accounts."""
    if limit <= 0:
        return []
    due = (
        select(Delivery.id)
        .join(Account, Account.id == Delivery.account_id)
        .where(
            Delivery.state.in_(DUE_STATES),
            Delivery.scheduled_at <= now,
            Account.state == "ok",
            or_(Account.next_post_at.is_(None), Account.next_post_at <= now),
        )
        .order_by(Delivery.scheduled_at, Delivery.id)
        .limit(limit)
    )
    if session.bind.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True, of=Delivery)
    claimed = session.scalars(
        update(Delivery)
        .where(Delivery.id.in_(due.scalar_subquery()))
        .values(
            state="claimed",
            lease_owner=worker,
            lease_expires_at=now + dt.timedelta(seconds=lease_seconds),
            attempts=Delivery.attempts + 1,
            updated_at=now,
        )
        .returning(Delivery.id)
    ).all()
    return _pace(session, list(claimed), now)


def _pace(session: Session, ids: list[int], now: dt.datetime) -> list[int]:
    """Keep one claim per paced account and book its next slot; hand the others back."""
    if not ids:
        return ids
    rows = session.execute(
        select(Delivery.id, Account.id, Account.platform)
        .join(Account, Account.id == Delivery.account_id)
        .where(Delivery.id.in_(ids))
        .order_by(Delivery.scheduled_at, Delivery.id)
    ).all()
    kept, seen = [], set()
    for delivery_id, account_id, platform in rows:
        interval = registry.get(platform).min_interval
        if interval <= 0:
            kept.append(delivery_id)
            continue
        if account_id in seen:
            session.execute(
                update(Delivery)
                .where(Delivery.id == delivery_id)
                .values(
                    state="scheduled",
                    lease_owner=None,
                    lease_expires_at=None,
                    attempts=Delivery.attempts - 1,
                )
            )
            continue
        seen.add(account_id)
        kept.append(delivery_id)
        session.execute(
            update(Account)
            .where(Account.id == account_id)
            .values(next_post_at=now + dt.timedelta(seconds=interval))
        )
    return kept


def reclaim_expired(session: Session, now: dt.datetime) -> int:
    """Hand deliveries whose worker vanished back to the queue.

    Once the adapter was called (``uploading`` or ``publishing``) the post may already be on
    the platform — some sites create it in the very request that uploads the image, before the
    adapter could save anything — so such a delivery is flagged ``outcome_unknown``: the next
    attempt looks before it posts, relies on the platform's idempotency key, or waits for the
    artist. Only a ``claimed`` one, whose adapter never ran, is retried as it is.
    """
    expired = and_(Delivery.state.in_(LEASED_STATES), Delivery.lease_expires_at < now)
    values: dict[str, Any] = dict(
        state="retry_wait",
        scheduled_at=now,
        lease_owner=None,
        lease_expires_at=None,
        updated_at=now,
        last_error="the worker handling this delivery stopped; it will be retried",
    )
    unknown = session.execute(
        update(Delivery)
        .where(expired, Delivery.state.in_(("uploading", "publishing")))
        .values(outcome_unknown=True, **values)
    ).rowcount
    safe = session.execute(update(Delivery).where(expired).values(**values)).rowcount
    if unknown or safe:
        log.warning("reclaimed %d deliveries from expired leases", unknown + safe)
    return unknown + safe


# -- a worker's writes (conditional on its lease) -------------------------------------------


def _owned(delivery_id: int, worker: str) -> Any:
    return and_(
        Delivery.id == delivery_id,
        Delivery.lease_owner == worker,
        Delivery.state.in_(LEASED_STATES),
    )


def checkpoint(
    session: Session,
    delivery_id: int,
    worker: str,
    progress: Mapping[str, Any],
    state: str,
    now: dt.datetime,
    lease_seconds: float,
) -> bool:
    """Save intermediate ids and extend the lease; returns whether a cancel was requested."""
    row = session.execute(
        update(Delivery)
        .where(_owned(delivery_id, worker))
        .values(
            progress=dict(progress),
            state=state,
            updated_at=now,
            lease_expires_at=now + dt.timedelta(seconds=lease_seconds),
        )
        .returning(Delivery.cancel_requested)
    ).first()
    if row is None:
        raise LeaseLost(f"delivery {delivery_id} is no longer held by {worker}")
    return bool(row[0])


def extend_lease(
    session: Session, delivery_id: int, worker: str, now: dt.datetime, lease_seconds: float
) -> bool:
    """Push the lease forward; False when this worker no longer holds the delivery."""
    result = session.execute(
        update(Delivery)
        .where(_owned(delivery_id, worker))
        .values(lease_expires_at=now + dt.timedelta(seconds=lease_seconds))
    )
    return result.rowcount == 1


def finish(
    session: Session, delivery_id: int, worker: str, now: dt.datetime, **values: Any
) -> Delivery:
    """Move a held delivery to its next state and release the lease."""
    delivery = session.scalar(select(Delivery).where(_owned(delivery_id, worker)).with_for_update())
    if delivery is None:
        raise LeaseLost(f"delivery {delivery_id} is no longer held by {worker}")
    for key, value in values.items():
        setattr(delivery, key, value)
    delivery.lease_owner = None
    delivery.lease_expires_at = None
    delivery.updated_at = now
    sync.post_ended(session, delivery)  # the last pending post failed: links may be due now
    return delivery


def lock_artwork(session: Session, delivery_id: int) -> None:
    """Lock the delivery's artwork row before a write that reads its revision: an artist's
    change locks the artwork first too, so the two cannot miss each other (PostgreSQL; SQLite
    has a single writer)."""
    artwork_id = select(Delivery.artwork_id).where(Delivery.id == delivery_id).scalar_subquery()
    session.execute(select(Artwork.id).where(Artwork.id == artwork_id).with_for_update())


def record_posted(
    session: Session,
    delivery: Delivery,
    remote_id: str,
    url: str,
    now: dt.datetime,
    reply_ids: list[str] | None = None,
) -> None:
    """``reply_ids``: the thread under the post as the adapter reported it (also when it
    adopted a post an earlier attempt made), kept for the post's deletion by a repost."""
    if reply_ids is not None and delivery.kind == "post":
        delivery.progress = {**(delivery.progress or {}), "reply_ids": list(reply_ids)}
    delivery.state = "posted"
    delivery.remote_id = remote_id
    delivery.remote_url = url
    delivery.last_error = None
    delivery.outcome_unknown = False
    if delivery.kind in ("edit", "links"):
        _record_edited(session, delivery)
        return
    artwork = delivery.artwork
    session.add(
        Copy(
            artwork_id=delivery.artwork_id,
            url=url,
            platform=delivery.account.platform,
            remote_id=remote_id,
            source="delivery",
            delivery_id=delivery.id,
            synced_revision=delivery.revision,  # the revision this post was rendered from
        )
    )
    session.flush()  # the copy is what a catch-up repost replaces
    sync.post_recorded(session, delivery)
    if artwork.published_at is None:
        artwork.published_at = now
    attribution.published(session, artwork)  # fingerprinted into the registry on its next sync


def record_reposted(
    session: Session,
    delivery_id: int,
    worker: str,
    remote_id: str,
    url: str,
    now: dt.datetime,
    lease_seconds: float,
    reply_ids: list[str] | None = None,
) -> Delivery:
    """A repost's new post is up: remember it (so no retry posts it again) and make it the
    artwork's copy on this account, in one transaction that still holds the lease. The
    artwork row is locked first, as a change does, so a change committed meanwhile is seen
    and caught up (or sees this copy and queues its own repost)."""
    lock_artwork(session, delivery_id)
    delivery = session.scalar(select(Delivery).where(_owned(delivery_id, worker)).with_for_update())
    if delivery is None:
        raise LeaseLost(f"delivery {delivery_id} is no longer held by {worker}")
    progress = dict(delivery.progress or {})
    state = dict(progress.get(sync.REPOST) or {})
    state["new"] = {"remote_id": remote_id, "url": url}
    progress[sync.REPOST] = state
    if reply_ids is not None:
        progress["reply_ids"] = list(reply_ids)
    rendered = int(state.get("rendered") or delivery.revision)
    delivery.progress = progress
    delivery.remote_id, delivery.remote_url = remote_id, url
    delivery.outcome_unknown = False
    delivery.updated_at = now
    delivery.lease_expires_at = now + dt.timedelta(seconds=lease_seconds)
    session.add(
        Copy(
            artwork_id=delivery.artwork_id,
            url=url,
            platform=delivery.account.platform,
            remote_id=remote_id,
            source="delivery",
            delivery_id=delivery.id,
            synced_revision=rendered,
        )
    )
    session.flush()
    if rendered < delivery.artwork.revision:  # changed again while this was being posted
        sync.catch_up(session, delivery)
    return delivery


def record_replaced(session: Session, delivery: Delivery, now: dt.datetime) -> None:
    """The old post of a repost is deleted: the repost is done. The old copy stays, marked
    ``replaced``, so the registry still knows whose work its URL showed."""
    progress = dict(delivery.progress or {})
    state = dict(progress.get(sync.REPOST) or {})
    state["deleted"] = True
    progress[sync.REPOST] = state
    delivery.progress = progress
    delivery.state = "posted"
    delivery.last_error = None
    delivery.outcome_unknown = False
    old = session.get(Copy, (state.get("old") or {}).get("copy_id") or -1)
    if old is not None:
        old.source = "replaced"


def _record_edited(session: Session, delivery: Delivery) -> None:
    """The copy now shows ``delivery.revision`` (or newer: each edit renders the current
    artwork, so a late older edit never rolls a copy back)."""
    copy = session.scalar(
        select(Copy).where(
            Copy.artwork_id == delivery.artwork_id,
            Copy.platform == delivery.account.platform,
            Copy.remote_id == delivery.remote_id,
        )
    )
    if copy is not None:
        copy.synced_revision = max(copy.synced_revision, delivery.revision)


# -- the artist's actions -------------------------------------------------------------------


def _fresh(delivery: Delivery) -> None:
    """Re-read the row under a lock before an action decides from its state, so a worker's
    claim in between is seen (PostgreSQL waits for it; SQLite has a single writer)."""
    session = object_session(delivery)
    if session is not None and delivery.id is not None:
        session.refresh(delivery, with_for_update=True)


def swapping(delivery: Delivery) -> bool:
    """A repost whose new post is up or being sent: it must finish (no cancel)."""
    return delivery.kind == "repost" and (
        sync.new_post_of(delivery) is not None or delivery.state in ("uploading", "publishing")
    )


def cancel(delivery: Delivery) -> None:
    _fresh(delivery)
    if delivery.state in TERMINAL_STATES:
        raise NotAllowed(f"delivery is already {delivery.state}")
    if swapping(delivery):
        # Stopping now would leave the new post up beside the old one (or unrecorded).
        raise NotAllowed(
            "this repost's new post is up or being posted; it finishes by deleting the old "
            "post and cannot be cancelled now"
        )
    if delivery.state in LEASED_STATES:
        delivery.cancel_requested = True  # the worker stops at its next checkpoint
        return
    delivery.state = "cancelled"
    session = object_session(delivery)
    if session is not None:
        sync.post_ended(session, delivery)


def reschedule(delivery: Delivery, when: dt.datetime) -> None:
    _fresh(delivery)
    if delivery.state not in ("scheduled", "retry_wait", "needs_attention"):
        raise NotAllowed(f"a delivery that is {delivery.state} cannot be rescheduled")
    delivery.state = "scheduled"
    delivery.scheduled_at = when
    delivery.attempts = 0


def retry(delivery: Delivery, now: dt.datetime) -> None:
    """The artist asks for another try; for an unknown outcome, they confirm it is not there."""
    _fresh(delivery)
    if delivery.state == "cancelled" and (delivery.last_error or "").startswith(sync.SUPERSEDED):
        raise NotAllowed(f"this repost was {delivery.last_error}")
    if delivery.state not in ("failed", "needs_attention", "retry_wait"):
        raise NotAllowed(f"a delivery that is {delivery.state} cannot be retried")
    session = object_session(delivery)
    if delivery.kind == "repost" and session is not None:
        why = sync.superseded(session, delivery)
        if why is not None:  # running it would replace a copy that is already replaced
            raise NotAllowed(f"this repost was {why}; the newer one brings the copy up to date")
    delivery.state = "scheduled"
    delivery.scheduled_at = now
    delivery.attempts = 0
    delivery.outcome_unknown = False
    delivery.cancel_requested = False
