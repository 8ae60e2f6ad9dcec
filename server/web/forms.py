"""The artwork form (compose and edit): parsing, validation with the API's pydantic models,
and the per-account preview built from it."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import pydantic
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters import registry
from adapters.draft import CONTENT_FLAGS, LANGUAGE_PATTERN
from adapters.errors import DraftError
from server import previews
from server.models import RATINGS, ROLES, Account, Artwork, User, utcnow
from server.schemas import ArtworkFields
from server.web.common import errors_of, has_nul, parse_local, zone_of

MAX_CREDIT_ROWS = 100
BLANK_CREDIT_ROWS = 3
ROLE_LABELS = {
    "artist": "Artist",
    "co_artist": "Co-artist",
    "colorist": "Colorist",
    "commissioner": "Commissioner",
    "character_owner": "Character owner",
    "gift_for": "Gift for",
    "trade_with": "Art trade with",
    "base_by": "Base (YCH) by",
    "other": "Thanks to",
}
# Wiggle room for a time picked "now" in the browser and sent a few seconds later.
PAST_TOLERANCE = dt.timedelta(minutes=1)
LANGUAGE_RE = re.compile(LANGUAGE_PATTERN)  # the live preview skips a half-typed tag
PLACEHOLDER_PUBLIC_ID = "xxxxxxxxxx"  # a new artwork's id is made when it is saved


@dataclass
class ArtworkForm:
    """What the artist typed, kept as typed so a form with errors comes back filled in."""

    title: str = ""
    description: str = ""
    rating: str = ""
    content_flags: list[str] = field(default_factory=list)
    tags: str = ""
    language: str = ""
    alt_text: list[str] = field(default_factory=list)
    credits: list[dict[str, str]] = field(default_factory=list)
    accounts: list[int] = field(default_factory=list)
    when: str = "now"
    scheduled_at: str = ""

    @classmethod
    def of(cls, artwork: Artwork) -> ArtworkForm:
        return cls(
            title=artwork.title,
            description=artwork.description,
            rating=artwork.rating,
            content_flags=list(artwork.content_flags),
            tags=", ".join(artwork.tags),
            language=artwork.language or "",
            alt_text=[image.alt_text for image in artwork.images],
            credits=[
                {"role": c.role, "person": c.person.key, "character": c.character or ""}
                for c in artwork.credits
            ],
        )

    @classmethod
    def parse(cls, form: Any) -> ArtworkForm:
        credits = []
        for i in range(MAX_CREDIT_ROWS):
            person = form.get(f"credit_person_{i}")
            if person is None:
                continue
            credits.append(
                {
                    "role": form.get(f"credit_role_{i}", ""),
                    "person": person.strip(),
                    "character": form.get(f"credit_character_{i}", "").strip(),
                }
            )
        alt = []
        for i in range(current_app.config["MAX_IMAGES_PER_ARTWORK"]):
            alt.append(form.get(f"alt_text_{i}", ""))
        accounts = []
        for raw in form.getlist("account"):
            if raw.isdigit() and len(raw) < 10:
                accounts.append(int(raw))
        return cls(
            title=form.get("title", ""),
            description=form.get("description", "").replace("\r\n", "\n"),
            rating=form.get("rating", ""),
            content_flags=[f for f in form.getlist("content_flags") if f],
            tags=form.get("tags", ""),
            language=form.get("language", "").strip(),
            alt_text=alt,
            credits=credits,
            accounts=list(dict.fromkeys(accounts)),
            when=form.get("when", "now"),
            scheduled_at=form.get("scheduled_at", ""),
        )

    def credit_rows(self) -> list[dict[str, str]]:
        """The credits plus a few blank rows (a form without JavaScript cannot add rows)."""
        blank = {"role": "artist" if not self.credits else "", "person": "", "character": ""}
        return [*self.credits, *([blank] * BLANK_CREDIT_ROWS)]

    def tag_list(self) -> list[str]:
        return [t.strip() for t in re.split(r"[,\n]", self.tags) if t.strip()]

    def filled_credits(self) -> list[tuple[int, dict[str, str]]]:
        return [(i, c) for i, c in enumerate(self.credits) if c["person"]]

    def fields(self, image_count: int) -> tuple[ArtworkFields | None, dict[str, str]]:
        """Validate with the API's model; errors are keyed by form input name."""
        errors: dict[str, str] = {}
        values = [self.title, self.description, self.rating, self.tags, self.language]
        values += self.alt_text
        if has_nul(values, self.credits, self.content_flags):
            return None, {"_form": "text may not contain NUL characters"}
        unknown = [f for f in self.content_flags if f not in CONTENT_FLAGS]
        if unknown:
            errors["content_flags"] = f"unknown content flags: {', '.join(unknown)}"
        if self.rating not in RATINGS:
            errors["rating"] = "choose a rating"
        rows = self.filled_credits()
        for i, credit in rows:
            if credit["role"] not in ROLES:
                errors[f"credit_role_{i}"] = "choose a role"
        data = {
            "title": self.title,
            "description": self.description,
            "rating": self.rating or None,
            "content_flags": [f for f in self.content_flags if f in CONTENT_FLAGS],
            "tags": self.tag_list(),
            "credits": [
                {
                    "role": c["role"],
                    "person": c["person"],
                    **({"character": c["character"]} if c["character"] else {}),
                }
                for _, c in rows
            ],
            "alt_text": self.alt_text[:image_count],
            "language": self.language,
        }
        try:
            parsed = ArtworkFields.model_validate(data)
        except pydantic.ValidationError as exc:
            for path, message in errors_of(exc).items():
                errors.setdefault(_input_name(path, rows), message)
            return None, errors
        if not parsed.title:
            errors["title"] = "give the artwork a title"
        if errors:
            return None, errors
        return parsed, {}

    def schedule(self, user: User) -> tuple[dt.datetime | None, dict[str, str]]:
        """``None`` for "now", else the UTC instant of the artist's local time."""
        if self.when != "later":
            return None, {}
        try:
            when = parse_local(self.scheduled_at, zone_of(user))
        except ValueError as exc:
            return None, {"scheduled_at": str(exc)}
        if when < utcnow() - PAST_TOLERANCE:
            return None, {"scheduled_at": "this time has passed; choose a later one or post now"}
        return when, {}


def _input_name(path: str, rows: list[tuple[int, dict[str, str]]]) -> str:
    """``credits.1.person`` → ``credit_person_<row>``; ``alt_text.0`` → ``alt_text_0``."""
    parts = path.split(".")
    if parts[0] == "credits" and len(parts) >= 2 and parts[1].isdigit():
        index = int(parts[1])
        row = rows[index][0] if index < len(rows) else 0
        return f"credit_{parts[2] if len(parts) > 2 else 'person'}_{row}"
    if parts[0] == "alt_text" and len(parts) >= 2:
        return f"alt_text_{parts[1]}"
    return parts[0]


def owned_accounts(session: Session, user: User) -> list[Account]:
    return list(
        session.scalars(select(Account).where(Account.user_id == user.id).order_by(Account.id))
    )


@dataclass
class PreviewItem:
    label: str
    platform: str
    platform_name: str
    result: dict[str, Any] | None = None
    error: str | None = None

    @property
    def blocked(self) -> bool:
        return self.error is not None or not (self.result or {}).get("ok")

    @property
    def text(self) -> str:
        result = self.result or {}
        return str(result.get("text") or result.get("description") or "")

    @property
    def replies(self) -> list[str]:
        out = []
        for reply in (self.result or {}).get("replies") or []:
            out.append(reply["text"] if isinstance(reply, dict) else str(reply))
        return out

    @property
    def over(self) -> bool:
        result = self.result or {}
        return bool(result.get("limit")) and (result.get("length") or 0) > result["limit"]


def build_preview(
    session: Session,
    user: User,
    form: ArtworkForm,
    accounts: list[Account],
    artwork: Artwork | None,
) -> tuple[list[PreviewItem], str | None]:
    """One rendered post per chosen account (with its rule overrides), or per platform with
    default rules when no account is chosen. Returns (items, a problem with the whole draft)."""
    if form.rating not in RATINGS:
        return [], "Choose a rating to see what each site will get."
    public_url = current_app.config["PUBLIC_URL"].rstrip("/")
    public_id = artwork.public_id if artwork is not None else PLACEHOLDER_PUBLIC_ID
    credits = [
        {
            "role": c["role"] if c["role"] in ROLES else "other",
            "person": c["person"],
            **({"character": c["character"]} if c["character"] else {}),
        }
        for _, c in form.filled_credits()
    ]
    draft = {
        "title": form.title.strip(),
        "description": form.description,
        "rating": form.rating,
        "content_flags": [f for f in form.content_flags if f in CONTENT_FLAGS],
        "tags": form.tag_list(),
        "alt_text": form.alt_text[0] if form.alt_text else "",
        "credits": credits,
        "canonical_url": f"{public_url}/a/{public_id}",
        **({"language": form.language} if LANGUAGE_RE.match(form.language) else {}),
    }
    if has_nul(draft):
        return [], "Text may not contain NUL characters."
    people = previews.directory_people(session, user)
    chosen = [a for a in accounts if a.id in form.accounts]
    targets: list[tuple[str, str, dict[str, Any]]] = []
    if chosen:
        for account in chosen:
            adapter = registry.get(account.platform)
            targets.append((f"{adapter.name} · {account.name}", account.platform, account.options))
    else:
        for adapter in sorted(registry.all_adapters(), key=lambda a: a.name.lower()):
            targets.append((adapter.name, adapter.id, {}))
    items = []
    for label, platform, options in targets:
        item = PreviewItem(label, platform, registry.get(platform).name)
        try:
            item.result = previews.render_preview(
                {
                    "artwork": draft,
                    "people": people,
                    "platforms": [platform],
                    "options": {platform: options or {}},
                }
            )[platform]
        except DraftError as exc:
            item.error = exc.message if hasattr(exc, "message") else str(exc)
        if item.result is not None and not item.result.get("ok"):
            item.error = str(item.result.get("error") or "does not render")
        items.append(item)
    return items, None
