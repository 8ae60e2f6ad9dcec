"""People to credit: CRUD by key, plus JSON import and export of the whole directory."""

from __future__ import annotations

import re

from flask import Blueprint
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from server import db, directory
from server.api.spec import endpoint
from server.auth import current_user
from server.errors import ApiError, not_found
from server.models import Credit, Person
from server.schemas import (
    PERSON_KEY_PATTERN,
    ImportResult,
    PeopleImport,
    PersonCreate,
    PersonList,
    PersonOut,
    PersonUpdate,
)

bp = Blueprint("people", __name__, url_prefix="/api/v1/people")


def _get(key: str) -> Person:
    # A key no person can have (e.g. with a NUL, which PostgreSQL refuses) is simply not found.
    person = None
    if re.match(PERSON_KEY_PATTERN, key):
        person = directory.find(db.session(), current_user(), key)
    if person is None:
        raise not_found(f"person {key!r}")
    return person


@endpoint(bp, "", "GET", summary="List the people directory", response=PersonList)
def list_people() -> PersonList:
    people = directory.list_people(db.session(), current_user())
    return PersonList(items=[directory.to_out(p) for p in people])


@endpoint(bp, "", "POST", summary="Add a person", body=PersonCreate, response=PersonOut, status=201)
def create_person(body: PersonCreate) -> PersonOut:
    session = db.session()
    if directory.find(session, current_user(), body.key) is not None:
        raise ApiError(409, "conflict", f"a person with key {body.key!r} exists", "key")
    person = directory.create(session, current_user(), body)
    session.commit()
    return directory.to_out(person)


@endpoint(bp, "/<key>", "GET", summary="Show a person", response=PersonOut)
def get_person(key: str) -> PersonOut:
    return directory.to_out(_get(key))


@endpoint(bp, "/<key>", "PATCH", summary="Change a person", body=PersonUpdate, response=PersonOut)
def update_person(key: str, body: PersonUpdate) -> PersonOut:
    person = _get(key)
    try:
        directory.update(person, body)
    except ValueError as exc:
        raise ApiError(400, "invalid", str(exc), "primary") from exc
    db.session().commit()
    return directory.to_out(person)


@endpoint(bp, "/<key>", "DELETE", summary="Remove a person who is not credited anywhere")
def delete_person(key: str) -> None:
    session = db.session()
    person = _get(key)
    if session.scalar(select(Credit.id).where(Credit.person_id == person.id).limit(1)):
        raise ApiError(409, "in_use", f"{key!r} is credited on an artwork; remove the credit first")
    session.delete(person)
    try:
        session.commit()
    except IntegrityError as exc:  # a credit added concurrently
        session.rollback()
        raise ApiError(409, "in_use", f"{key!r} is credited on an artwork") from exc


@endpoint(
    bp,
    "/import",
    "POST",
    summary="Create or update people by key",
    body=PeopleImport,
    response=ImportResult,
)
def import_people(body: PeopleImport) -> ImportResult:
    session = db.session()
    try:
        created, updated = directory.import_people(session, current_user(), body.people)
    except ValueError as exc:
        session.rollback()
        raise ApiError(400, "invalid", str(exc), "people") from exc
    session.commit()
    return ImportResult(created=created, updated=updated)


@endpoint(
    bp,
    "/export",
    "GET",
    summary="The directory as an importable JSON document",
    response=PeopleImport,
)
def export_people() -> dict[str, object]:
    return {"people": directory.export_people(db.session(), current_user())}
