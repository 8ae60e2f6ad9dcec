"""The people directory: who an artist credits, and their handles per platform.

Shared by the API and the CLI so that an import from either path applies the same validation.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from server import sync
from server.models import Person, PersonAccount, User
from server.schemas import PersonCreate, PersonOut, PersonUpdate


def find(session: Session, user: User, key: str) -> Person | None:
    return session.scalar(select(Person).where(Person.user_id == user.id, Person.key == key))


def list_people(session: Session, user: User) -> list[Person]:
    return list(
        session.scalars(select(Person).where(Person.user_id == user.id).order_by(Person.key))
    )


def to_out(person: Person) -> PersonOut:
    return PersonOut(
        key=person.key,
        name=person.name,
        primary=person.primary_platform,
        accounts={a.platform: a.handle for a in person.accounts},
        notes=person.notes,
        created_at=person.created_at,
    )


def create(session: Session, user: User, data: PersonCreate) -> Person:
    person = Person(user_id=user.id, key=data.key, name=data.name, notes=data.notes or "")
    session.add(person)
    _apply(person, data)
    session.flush()
    return person


def update(person: Person, data: PersonUpdate | PersonCreate) -> None:
    """Apply the fields that were sent; ``accounts`` replaces the whole set when given.

    A new name or handle changes how every post crediting this person reads, so their
    posted copies are brought up to date (``server.sync``).
    """
    before = _shown(person)
    if data.name is not None:
        person.name = data.name
    if data.notes is not None:
        person.notes = data.notes
    _apply(person, data)
    session = object_session(person)
    if session is not None and person.id is not None and _shown(person) != before:
        session.flush()
        sync.person_changed(session, person)


def _shown(person: Person) -> tuple[object, ...]:
    accounts = tuple(sorted((a.platform, a.handle) for a in person.accounts))
    return person.name, person.primary_platform, accounts


def _apply(person: Person, data: PersonUpdate | PersonCreate) -> None:
    if data.accounts is not None:
        existing = {a.platform: a for a in person.accounts}
        for platform in set(existing) - set(data.accounts):
            person.accounts.remove(existing[platform])
        for platform, handle in data.accounts.items():
            if platform in existing:
                existing[platform].handle = handle
            else:
                person.accounts.append(PersonAccount(platform=platform, handle=handle))
    if "primary" in data.model_fields_set:
        person.primary_platform = data.primary
    platforms = {a.platform for a in person.accounts}
    if person.primary_platform is not None and person.primary_platform not in platforms:
        raise ValueError(
            f"primary {person.primary_platform!r} is not one of {person.key!r}'s accounts"
        )


def import_people(session: Session, user: User, people: list[PersonCreate]) -> tuple[int, int]:
    """Create or update each person by key; returns (created, updated)."""
    created = updated = 0
    for data in people:
        person = find(session, user, data.key)
        if person is None:
            create(session, user, data)
            created += 1
        else:
            person.name = data.name
            update(person, data)
            updated += 1
    session.flush()
    return created, updated


def export_people(session: Session, user: User) -> list[dict[str, object]]:
    """The directory in the import format (round-trips through ``import_people``)."""
    return [
        to_out(p).model_dump(mode="json", exclude={"created_at"})
        for p in list_people(session, user)
    ]
