"""Resolving registry conflicts: who keeps the public attribution of a matching image.

A conflict (``registry_conflicts``) is opened when a registration matches another user's
public work (``service._flag_conflicts``); while it is open the earlier registration keeps the
public display and the later one is hidden from matches and lookups. It is closed by the owner
of the earlier registration (``POST /api/v1/artworks/<id>/conflicts/resolve``) or by an operator
(``creditline conflicts resolve``) with one of three decisions:

- ``keep_first``: the earlier registration keeps the attribution; the later stays hidden.
- ``give_second``: the later registration takes it; the earlier is hidden from now on
  (e.g. the first uploader was not the artist).
- ``separate``: both are separate works (recolours of one base, a redraw): both are shown.

The decision lives in ``registry_conflicts.state`` (``open`` → ``kept_first`` |
``given_second`` | ``separate``) so no schema change is needed, and ``service.suppressed``
reads it. A decided conflict is final through the API; an operator may re-decide.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, aliased

from server.models import Artwork, RegistryConflict, utcnow

log = logging.getLogger(__name__)

DECISIONS = {"keep_first": "kept_first", "give_second": "given_second", "separate": "separate"}
STATES = ("open", *DECISIONS.values())


class AlreadyResolved(ValueError):
    """The conflict was decided before; only an operator may change a decision."""


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


def find_for_earlier_owner(session: Session, user_id: int, artwork_id: int, conflict_id: int):  # type: ignore[no-untyped-def]
    """The conflict ``conflict_id`` whose earlier registration is ``artwork_id`` of ``user_id``;
    ``None`` otherwise (the later side's owner, or anyone else, cannot decide it)."""
    return session.scalar(
        select(RegistryConflict)
        .join(Artwork, Artwork.id == RegistryConflict.existing_artwork_id)
        .where(
            RegistryConflict.id == conflict_id,
            RegistryConflict.existing_artwork_id == artwork_id,
            Artwork.user_id == user_id,
        )
    )


def resolve(
    session: Session, conflict: RegistryConflict, decision: str, *, operator: bool = False
) -> RegistryConflict:
    """Record ``decision`` (a key of ``DECISIONS``) on ``conflict``; the caller commits."""
    if decision not in DECISIONS:
        raise ValueError(f"unknown decision {decision!r}; one of {', '.join(DECISIONS)}")
    # One conditional UPDATE: of two owners' requests (or an owner's and an operator's) that both
    # read "open", only the first decides; an operator may change a decision on purpose.
    guard = [] if operator else [RegistryConflict.state == "open"]
    done = session.execute(
        update(RegistryConflict)
        .where(RegistryConflict.id == conflict.id, *guard)
        .values(state=DECISIONS[decision], resolved_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.refresh(conflict)
    if done.rowcount == 0:
        raise AlreadyResolved(f"conflict {conflict.id} was already resolved ({conflict.state})")
    log.info(
        "registry conflict %s resolved: %s (artwork %s vs earlier %s)%s",
        conflict.id,
        conflict.state,
        conflict.artwork_id,
        conflict.existing_artwork_id,
        " by an operator" if operator else "",
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


def listing(session: Session, state: str | None = None) -> list[ConflictRow]:
    """All conflicts (or those in ``state``) with both sides' artworks and owners."""
    later = aliased(Artwork)
    earlier = aliased(Artwork)
    query = (
        select(RegistryConflict, earlier.user_id, later.user_id)
        .join(earlier, earlier.id == RegistryConflict.existing_artwork_id)
        .join(later, later.id == RegistryConflict.artwork_id)
        .order_by(RegistryConflict.id)
    )
    if state is not None:
        query = query.where(RegistryConflict.state == state)
    return [
        ConflictRow(c.id, c.state, c.distance, c.existing_artwork_id, e, c.artwork_id, lt)
        for c, e, lt in session.execute(query)
    ]
