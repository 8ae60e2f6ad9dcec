"""Preview drafts with the text engine, filling ``people`` from a user's directory."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from adapters.preview import render_preview
from server import directory
from server.models import User


def directory_people(session: Session, user: User) -> dict[str, dict[str, Any]]:
    """The user's people in the preview request's ``people`` shape."""
    return {
        person.key: {
            "name": person.name,
            "primary": person.primary_platform,
            "accounts": {a.platform: a.handle for a in person.accounts},
        }
        for person in directory.list_people(session, user)
    }


def preview(payload: Any, session: Session | None = None, user: User | None = None) -> Any:
    """Render ``payload``; when it has no ``people`` and a user is known, use their directory."""
    if isinstance(payload, dict) and "people" not in payload and user is not None:
        assert session is not None
        payload = {**payload, "people": directory_people(session, user)}
    return render_preview(payload)
