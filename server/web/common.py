"""What every page of the web app shares: the blueprint, the signed-in user, times in the
artist's zone, and turning validation errors into messages next to the right field."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import pydantic
from flask import Blueprint, abort, g, render_template, session
from sqlalchemy import func, select

from server import db
from server.models import User

bp = Blueprint("web", __name__, url_prefix="/app")

SESSION_USER = "user_id"
SESSION_PASSWORD = "pw"  # a fingerprint of the password hash: changing the password signs out


def password_fingerprint(user: User) -> str:
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]


def sign_in(user: User) -> None:
    from server.web.security import rotate_csrf

    session.clear()
    rotate_csrf()
    session[SESSION_USER] = user.id
    session[SESSION_PASSWORD] = password_fingerprint(user)
    session.permanent = True


def signed_in_user() -> User | None:
    user_id = session.get(SESSION_USER)
    if not isinstance(user_id, int):
        return None
    user = db.session().get(User, user_id)
    if user is None or session.get(SESSION_PASSWORD) != password_fingerprint(user):
        return None
    return user


def has_users() -> bool:
    return bool(db.session().scalar(select(func.count()).select_from(User)))


def current_user() -> User:
    user = g.get("web_user")
    if user is None:  # views only run after the sign-in check; this is a programming error
        abort(401)
    return user


def not_found() -> Any:
    abort(404)


def render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template(template, **context), status


# -- times ------------------------------------------------------------------------------------

INPUT_FORMAT = "%Y-%m-%dT%H:%M"


def zone_of(user: User | None) -> ZoneInfo:
    try:
        return ZoneInfo(user.timezone if user is not None else "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def timezones() -> list[str]:
    return sorted(z for z in available_timezones() if "/" in z or z == "UTC")


def valid_timezone(name: str) -> bool:
    if not name or name != name.strip() or "\x00" in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def local(value: dt.datetime | None, zone: ZoneInfo) -> dt.datetime | None:
    return value.astimezone(zone) if value is not None else None


def parse_local(value: str, zone: ZoneInfo) -> dt.datetime:
    """A ``datetime-local`` input in the artist's zone → an aware UTC datetime.

    A wall-clock time that does not exist in the zone (the hour skipped when clocks go
    forward) is an error, not a silent shift.
    """
    value = (value or "").strip()
    try:
        naive = dt.datetime.strptime(value[:16], INPUT_FORMAT)
    except ValueError:
        raise ValueError("give a date and time, e.g. 2026-12-01T18:00") from None
    aware = naive.replace(tzinfo=zone)
    back = aware.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None)
    if back != naive:
        raise ValueError(
            f"{naive:%Y-%m-%d %H:%M} does not exist in {zone.key} (the clocks change then)"
        )
    return aware.astimezone(dt.UTC)


# -- validation -------------------------------------------------------------------------------


def errors_of(exc: pydantic.ValidationError, prefix: str = "") -> dict[str, str]:
    """Field path → message, for showing next to inputs (the first message per field)."""
    found: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        field = ".".join(str(part) for part in error["loc"])
        if prefix:
            field = f"{prefix}.{field}" if field else prefix
        message = error["msg"].removeprefix("Value error, ")
        found.setdefault(field or "_form", message)
    return found


def has_nul(*values: Any) -> bool:
    """PostgreSQL cannot store NUL in text; refuse it as bad input rather than crash."""
    for value in values:
        if isinstance(value, str) and "\x00" in value:
            return True
        if isinstance(value, dict) and has_nul(*value.keys(), *value.values()):
            return True
        if isinstance(value, list | tuple) and has_nul(*value):
            return True
    return False
