"""Resolving registry conflicts: who keeps the public attribution of a matching image.

A conflict (``registry_conflicts``) is opened when a registration matches another user's
public work or holds the same file as one (``service._flag_conflicts``); while it is open the
earlier registration keeps the public display and the later one is hidden from matches and
lookups. It is closed by the owner of the earlier registration
(``POST /api/v1/artworks/<id>/conflicts/resolve``) or by an operator (``creditline conflicts
resolve``) with one of three decisions:

- ``keep_first``: the earlier registration keeps the attribution; the later stays hidden.
- ``give_second``: the later registration takes it; the earlier is hidden from now on
  (e.g. the first uploader was not the artist).
- ``separate``: both are separate works (recolours of one base, a redraw): both are shown.

The decision lives in ``registry_conflicts.state`` (``open`` → ``kept_first`` |
``given_second`` | ``separate``), and ``service.suppressed`` reads it; ``decided_by`` records
whose decision it is (``owner`` | ``operator``; NULL for conflicts decided before migration
0010). A decided conflict is final for the owner; an operator may re-decide.

Appeals: the earlier side's owner decides in their own cause, so the later side's owner may
contest an owner's ``keep_first`` once (``POST /api/v1/artworks/<id>/conflicts/appeal``, with an
optional short reason that both sides and operators see; it is not public, so an appeal
cannot be used to post text on another artist's record). The conflict is then *under appeal*
(``appealed_at`` set, still ``decided_by = "owner"``): the decision stands meanwhile (the
appellant's work stays hidden) and the public record of the work that kept the attribution
says ``review: "appealed"``. The operator's next decision (``creditline conflicts resolve``)
closes the appeal: ``decided_by`` becomes ``operator`` and ``resolved_at`` its time;
``appealed_at`` and the reason are kept as history. No second appeal is possible, and an
operator's decision or an undocumented one (NULL) is not appealable through the API.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session, aliased

from server.models import Artwork, RegistryConflict, utcnow

log = logging.getLogger(__name__)

DECISIONS = {"keep_first": "kept_first", "give_second": "given_second", "separate": "separate"}
STATES = ("open", *DECISIONS.values())
REASON_MAX = 500  # characters of an appeal's reason (the column is VARCHAR(500))
MAX_ID = 2**31 - 1  # the largest id either database holds (server.app.IdConverter's bound)


class AlreadyResolved(ValueError):
    """The conflict was decided before; only an operator may change a decision."""


class ChangedMeanwhile(ValueError):
    """An appeal arrived between the operator reading a conflict and deciding it."""


class NotAppealable(ValueError):
    """The conflict cannot be appealed: still open, appealed before, or its decision is not an
    owner's ``kept_first`` (the message says which)."""


@dataclass(frozen=True)
class ConflictRow:
    """One conflict as the operator's list shows it."""

    id: int
    state: str
    distance: int
    earlier_artwork: int
    earlier_owner: int
    later_artwork: int
    later_owner: int
    decided_by: str | None = None
    appealed_at: dt.datetime | None = None
    appeal_reason: str | None = None

    @property
    def under_appeal(self) -> bool:
        return is_under_appeal(self)


def is_under_appeal(conflict: RegistryConflict | ConflictRow) -> bool:
    """Appealed and not yet decided again: only the operator's decision replaces the owner's."""
    return conflict.appealed_at is not None and conflict.decided_by == "owner"


def _under_appeal_sql() -> ColumnElement[bool]:
    return and_(RegistryConflict.appealed_at.is_not(None), RegistryConflict.decided_by == "owner")


def find_for_earlier_owner(
    session: Session, user_id: int, artwork_id: int, conflict_id: int
) -> RegistryConflict | None:
    """The conflict ``conflict_id`` whose earlier registration is ``artwork_id`` of ``user_id``;
    ``None`` otherwise (the later side's owner, or anyone else, cannot decide it)."""
    return _find_on_side(
        session, RegistryConflict.existing_artwork_id, user_id, artwork_id, conflict_id
    )


def find_for_later_owner(
    session: Session, user_id: int, artwork_id: int, conflict_id: int
) -> RegistryConflict | None:
    """The conflict ``conflict_id`` whose later registration is ``artwork_id`` of ``user_id``;
    ``None`` otherwise (only the side a ``keep_first`` hides may appeal it)."""
    return _find_on_side(session, RegistryConflict.artwork_id, user_id, artwork_id, conflict_id)


def _find_on_side(  # type: ignore[no-untyped-def]
    session: Session, side, user_id: int, artwork_id: int, conflict_id: int
) -> RegistryConflict | None:
    if not 0 < conflict_id <= MAX_ID:  # an id from a JSON body: no overflow in the driver
        return None
    return session.scalar(
        select(RegistryConflict)
        .join(Artwork, Artwork.id == side)
        .where(RegistryConflict.id == conflict_id, side == artwork_id, Artwork.user_id == user_id)
    )


def resolve(
    session: Session, conflict: RegistryConflict, decision: str, *, operator: bool = False
) -> RegistryConflict:
    """Record ``decision`` (a key of ``DECISIONS``) on ``conflict`` and whose it is; the caller
    commits. An operator's decision also closes a pending appeal (``decided_by`` no longer
    says "owner"); the appeal's time and reason stay as history."""
    if decision not in DECISIONS:
        raise ValueError(f"unknown decision {decision!r}; one of {', '.join(DECISIONS)}")
    appealed = is_under_appeal(conflict)  # for the log line only
    # One conditional UPDATE: of two owners' requests (or an owner's and an operator's) that both
    # read "open", only the first decides; an operator may change a decision on purpose.
    # An operator decides on what they saw: if an appeal arrived after they read the conflict,
    # nothing changes and they are told (``ChangedMeanwhile``), so no appeal is closed unseen.
    guard = (
        [RegistryConflict.state == "open"]
        if not operator
        else [RegistryConflict.appealed_at.is_(None)]
        if conflict.appealed_at is None
        else [RegistryConflict.appealed_at == conflict.appealed_at]
    )
    done = session.execute(
        update(RegistryConflict)
        .where(RegistryConflict.id == conflict.id, *guard)
        .values(
            state=DECISIONS[decision],
            resolved_at=utcnow(),
            decided_by="operator" if operator else "owner",
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(conflict)
    if done.rowcount == 0 and operator:
        raise ChangedMeanwhile(
            f"conflict {conflict.id} was appealed while you decided; nothing was changed: "
            "look at it again (creditline conflicts list --appealed)"
        )
    if done.rowcount == 0:
        raise AlreadyResolved(f"conflict {conflict.id} was already resolved ({conflict.state})")
    log.info(
        "registry conflict %s resolved: %s (artwork %s vs earlier %s) by the %s%s",
        conflict.id,
        conflict.state,
        conflict.artwork_id,
        conflict.existing_artwork_id,
        conflict.decided_by,
        ", closing its appeal" if operator and appealed else "",
    )
    return conflict


def _why_not_appealable(conflict: RegistryConflict) -> str | None:
    """Why ``conflict`` cannot be appealed now, or ``None`` if it can."""
    cid = conflict.id
    if conflict.state == "open":
        return f"conflict {cid} is still open: the earlier registration's owner decides it first"
    if conflict.appealed_at is not None:
        return f"conflict {cid} was already appealed; a decision can be appealed only once"
    if conflict.decided_by == "operator":
        return f"conflict {cid} was decided by an operator; that decision is final"
    if conflict.decided_by != "owner":
        return (
            f"conflict {cid} was decided before the registry recorded who decides; "
            "ask an operator to review it"
        )
    if conflict.state != "kept_first":
        return (
            f"conflict {cid} was decided {conflict.state}: your registration is shown, "
            "so there is nothing to appeal"
        )
    return None


def appeal(session: Session, conflict: RegistryConflict, reason: str | None) -> RegistryConflict:
    """Put an owner's ``kept_first`` under appeal (the later side's request; the caller checked
    ownership and commits). ``reason`` is plain text of at most ``REASON_MAX`` characters.

    One conditional UPDATE, so two appeals, or an appeal and an operator's decision, that read
    the same row cannot both take effect; raises ``NotAppealable`` saying why otherwise."""
    if reason is not None and len(reason) > REASON_MAX:
        raise ValueError(f"reason: at most {REASON_MAX} characters")
    done = session.execute(
        update(RegistryConflict)
        .where(
            RegistryConflict.id == conflict.id,
            RegistryConflict.state == "kept_first",
            RegistryConflict.decided_by == "owner",
            RegistryConflict.appealed_at.is_(None),
        )
        .values(appealed_at=utcnow(), appeal_reason=reason or None)
        .execution_options(synchronize_session=False)
    )
    session.refresh(conflict)
    if done.rowcount == 0:
        raise NotAppealable(
            _why_not_appealable(conflict) or f"conflict {conflict.id} cannot be appealed"
        )
    log.info(
        "registry conflict %s appealed by the later registration's owner (artwork %s vs "
        "earlier %s; reason of %d characters)",
        conflict.id,
        conflict.artwork_id,
        conflict.existing_artwork_id,
        len(conflict.appeal_reason or ""),
    )
    return conflict


def kept_after_dispute(history: list[RegistryConflict], artwork_id: int) -> RegistryConflict | None:
    """Of an artwork's conflicts (``for_artwork``), the latest decided one that left it the
    attribution (the earlier side of one decided ``kept_first``, or the later side of one
    ``given_second``): its record says so, since the decision may have been its own owner's."""
    kept = [
        c
        for c in history
        if (c.state == "kept_first" and c.existing_artwork_id == artwork_id)
        or (c.state == "given_second" and c.artwork_id == artwork_id)
    ]
    return max(kept, key=lambda c: (c.resolved_at or c.created_at, c.id), default=None)


def kept_under_appeal(history: list[RegistryConflict], artwork_id: int) -> RegistryConflict | None:
    """Of an artwork's conflicts, the latest one that left it the attribution and is now under
    appeal (the artwork is its earlier side: only an owner's ``kept_first`` is appealable)."""
    appealed = [
        c
        for c in history
        if c.existing_artwork_id == artwork_id and c.state == "kept_first" and is_under_appeal(c)
    ]
    return max(appealed, key=lambda c: (c.appealed_at, c.id), default=None)


def for_artwork(session: Session, artwork_id: int) -> list[RegistryConflict]:
    """Every conflict, open or decided, in which the artwork is either side."""
    return list(
        session.scalars(
            select(RegistryConflict)
            .where(
                or_(
                    RegistryConflict.artwork_id == artwork_id,
                    RegistryConflict.existing_artwork_id == artwork_id,
                )
            )
            .order_by(RegistryConflict.id)
        )
    )


Which = Literal["all", "waiting", "open", "appealed"]


def listing(session: Session, which: Which = "all") -> list[ConflictRow]:
    """Conflicts with both sides' artworks and owners: ``all``, ``open`` ones, those
    ``appealed`` (under appeal: waiting for an operator), or all ``waiting`` for a decision
    (open or under appeal)."""
    later = aliased(Artwork)
    earlier = aliased(Artwork)
    query = (
        select(RegistryConflict, earlier.user_id, later.user_id)
        .join(earlier, earlier.id == RegistryConflict.existing_artwork_id)
        .join(later, later.id == RegistryConflict.artwork_id)
        .order_by(RegistryConflict.id)
    )
    if which == "open":
        query = query.where(RegistryConflict.state == "open")
    elif which == "appealed":
        query = query.where(_under_appeal_sql())
    elif which == "waiting":
        query = query.where(or_(RegistryConflict.state == "open", _under_appeal_sql()))
    elif which != "all":
        raise ValueError(f"unknown listing {which!r}")
    return [
        ConflictRow(
            c.id,
            c.state,
            c.distance,
            c.existing_artwork_id,
            e,
            c.artwork_id,
            lt,
            c.decided_by,
            c.appealed_at,
            c.appeal_reason,
        )
        for c, e, lt in session.execute(query)
    ]
