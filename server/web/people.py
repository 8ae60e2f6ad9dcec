"""The people directory: who the artist credits, their handles per platform, and the profile
to link where a platform has no account of theirs. Import and export use the API's JSON."""

from __future__ import annotations

import json
import re
from typing import Any

import pydantic
from flask import Response, abort, flash, redirect, request, url_for
from sqlalchemy import select

from adapters import registry
from adapters.errors import DraftError
from server import db, directory
from server.models import Credit, Person
from server.schemas import PERSON_KEY_PATTERN, PeopleImport, PersonCreate, PersonUpdate
from server.web.common import bp, current_user, errors_of, has_nul, render

MAX_IMPORT_BYTES = 2 * 1024 * 1024


def platforms() -> list[dict[str, str]]:
    return [
        {"id": a.id, "name": a.name, "hint": a.handle_hint or ""}
        for a in sorted(registry.all_adapters(), key=lambda a: a.name.lower())
    ]


def _get(key: str) -> Person:
    person = None
    if re.fullmatch(PERSON_KEY_PATTERN, key):
        person = directory.find(db.session(), current_user(), key)
    if person is None:
        abort(404)
    return person


def _form_values(person: Person | None = None) -> dict[str, Any]:
    if person is None:
        return {"key": "", "name": "", "notes": "", "primary": "", "accounts": {}}
    return {
        "key": person.key,
        "name": person.name,
        "notes": person.notes,
        "primary": person.primary_platform or "",
        "accounts": {a.platform: a.handle for a in person.accounts},
    }


def _posted() -> dict[str, Any]:
    form = request.form
    accounts = {}
    for platform in registry.platform_ids():
        handle = form.get(f"handle_{platform}", "").strip()
        if handle:
            accounts[platform] = handle
    return {
        "key": form.get("key", "").strip(),
        "name": form.get("name", ""),
        "notes": form.get("notes", ""),
        "primary": form.get("primary", ""),
        "accounts": accounts,
    }


def _handle_errors(accounts: dict[str, str]) -> dict[str, str]:
    """Every bad handle at once, next to its own input (the schema stops at the first)."""
    errors = {}
    for platform, handle in accounts.items():
        try:
            registry.get(platform).check_handle(handle)
        except DraftError as exc:
            errors[f"handle_{platform}"] = exc.message
    return errors


def _errors_for_form(errors: dict[str, str]) -> dict[str, str]:
    """Map pydantic paths (``accounts.twitter``) to the form's inputs (``handle_twitter``)."""
    out = {}
    for field, message in errors.items():
        if field.startswith("accounts.") and field.count(".") == 1:
            out["handle_" + field.split(".", 1)[1]] = message
        elif field == "accounts":
            # check_handles reports the first bad handle; name its platform when we can
            platform = next(
                (p for p in registry.platform_ids() if f"invalid {p} handle" in message), None
            )
            out[f"handle_{platform}" if platform else "_form"] = message
        elif field in ("key", "name", "notes", "primary"):
            out[field] = message
        else:
            out.setdefault("_form", message)
    return out


@bp.get("/people")
def people() -> Any:
    rows = directory.list_people(db.session(), current_user())
    return render("web/people.html", people=rows, platforms=platforms(), import_errors=None)


@bp.route("/people/new", methods=["GET", "POST"])
def person_new() -> Any:
    if request.method == "GET":
        return render(
            "web/person_form.html",
            person=None,
            form=_form_values(),
            errors={},
            platforms=platforms(),
        )
    values = _posted()
    errors: dict[str, str] = {}
    data = None
    if has_nul(values):
        errors["_form"] = "text may not contain NUL characters"
    else:
        try:
            data = PersonCreate.model_validate({**values, "primary": values["primary"] or None})
        except pydantic.ValidationError as exc:
            errors = _errors_for_form(errors_of(exc))
        errors.update(_handle_errors(values["accounts"]))
    session = db.session()
    if data is not None and directory.find(session, current_user(), data.key) is not None:
        errors["key"] = f"you already have a person with the key {data.key!r}"
    if errors or data is None:
        return render(
            "web/person_form.html",
            400,
            person=None,
            form=values,
            errors=errors,
            platforms=platforms(),
        )
    directory.create(session, current_user(), data)
    session.commit()
    flash(f"Added {data.name}. Mention them as @[{data.key}].")
    return redirect(url_for("web.people"))


@bp.route("/people/<key>", methods=["GET", "POST"])
def person_edit(key: str) -> Any:
    person = _get(key)
    if request.method == "GET":
        return render(
            "web/person_form.html",
            person=person,
            form=_form_values(person),
            errors={},
            platforms=platforms(),
        )
    values = {**_posted(), "key": person.key}
    errors: dict[str, str] = {}
    session = db.session()
    if has_nul(values):
        errors["_form"] = "text may not contain NUL characters"
    else:
        try:
            data = PersonUpdate.model_validate(
                {
                    "name": values["name"],
                    "notes": values["notes"],
                    "accounts": values["accounts"],
                    "primary": values["primary"] or None,
                }
            )
            directory.update(person, data)
        except pydantic.ValidationError as exc:
            errors = _errors_for_form(errors_of(exc))
        except ValueError as exc:
            errors["primary"] = str(exc)
        errors.update(_handle_errors(values["accounts"]))
    if errors:
        session.rollback()
        return render(
            "web/person_form.html",
            400,
            person=_get(key),
            form=values,
            errors=errors,
            platforms=platforms(),
        )
    session.commit()
    flash(f"Saved {person.name}.")
    return redirect(url_for("web.people"))


@bp.post("/people/<key>/delete")
def person_delete(key: str) -> Any:
    session = db.session()
    person = _get(key)
    if session.scalar(select(Credit.id).where(Credit.person_id == person.id).limit(1)):
        flash(f"{person.name} is credited on an artwork; remove the credit first.", "error")
        return redirect(url_for("web.people"))
    session.delete(person)
    session.commit()
    flash(f"Removed {person.name}.")
    return redirect(url_for("web.people"))


@bp.get("/people/export.json")
def people_export() -> Any:
    document = {"people": directory.export_people(db.session(), current_user())}
    body = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="creditline-people.json"'},
    )


@bp.post("/people/import")
def people_import() -> Any:
    upload = request.files.get("file")
    raw: bytes | str = request.form.get("document", "")
    if upload is not None and upload.filename:
        raw = upload.stream.read(MAX_IMPORT_BYTES + 1)
    errors: list[str] = []
    data = None
    if not raw or (isinstance(raw, str) and not raw.strip()):
        errors.append("choose an exported JSON file, or paste one")
    elif len(raw) > MAX_IMPORT_BYTES:
        errors.append(f"the document is larger than {MAX_IMPORT_BYTES // 1024 // 1024} MB")
    else:
        try:
            document = json.loads(raw)
            if isinstance(document, list):  # a bare list of people is fine too
                document = {"people": document}
            if has_nul(document):
                raise ValueError("text may not contain NUL characters")
            data = PeopleImport.model_validate(document)
        except RecursionError:
            errors.append("the document is nested too deeply")
        except pydantic.ValidationError as exc:
            errors.extend(f"{field}: {msg}" for field, msg in errors_of(exc).items())
        except ValueError as exc:
            errors.append(f"not valid JSON: {exc}")
    session = db.session()
    if data is not None:
        try:
            created, updated = directory.import_people(session, current_user(), data.people)
        except ValueError as exc:
            session.rollback()
            errors.append(str(exc))
        else:
            session.commit()
            flash(f"Imported: {created} added, {updated} updated.")
            return redirect(url_for("web.people"))
    rows = directory.list_people(session, current_user())
    return render(
        "web/people.html", 400, people=rows, platforms=platforms(), import_errors=errors[:20]
    )
