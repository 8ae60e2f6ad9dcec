"""The draft a caller hands to the engine, validated with pydantic.

Validation lives here so that every entry point (HTTP preview, CLI, delivery) rejects the
same malformed drafts with the same dotted field path.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adapters.errors import InvalidDraft

logger = logging.getLogger(__name__)

Role = Literal[
    "artist",
    "co_artist",
    "colorist",
    "commissioner",
    "character_owner",
    "gift_for",
    "trade_with",
    "base_by",
    "other",
]
ROLES: tuple[str, ...] = Role.__args__  # type: ignore[attr-defined]

ContentFlag = Literal["nudity", "sexual", "violence", "gore", "language", "drugs"]
CONTENT_FLAGS: tuple[str, ...] = ContentFlag.__args__  # type: ignore[attr-defined]

MentionStyle = Literal["native", "delinked", "plain"]
CreditsPosition = Literal["inline", "reply"]


LANGUAGE_PATTERN = r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Credit(_Strict):
    role: Role
    person: str = Field(min_length=1)
    character: str | None = Field(default=None, min_length=1, max_length=200)


class Artwork(_Strict):
    title: str = Field(default="", max_length=1000)
    description: str = Field(default="", max_length=100_000)
    rating: str = Field(min_length=1)
    content_flags: tuple[ContentFlag, ...] = ()
    tags: tuple[str, ...] = ()
    alt_text: str = Field(default="", max_length=10_000)
    credits: tuple[Credit, ...] = ()
    canonical_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    # BCP 47 / ISO 639 tag of the text ("en", "de", "pt-BR"); platforms that take one get it.
    language: str | None = Field(default=None, pattern=LANGUAGE_PATTERN, max_length=16)


class Person(_Strict):
    name: str = Field(min_length=1, max_length=200)
    primary: str | None = None
    accounts: dict[str, str] = Field(default_factory=dict)


class RuleOptions(_Strict):
    """Per-account overrides of a platform's default rules; ``None`` keeps the default."""

    mention_style: MentionStyle | None = None
    censor: dict[str, str] | bool | None = None
    links_in_reply: bool | None = None
    credits_position: CreditsPosition | None = None
    credit_labels: dict[Role, str] | None = None
    rating_map: dict[str, Any] | None = None


class PreviewRequest(_Strict):
    artwork: Artwork
    people: dict[str, Person] = Field(default_factory=dict)
    platforms: tuple[str, ...] | None = None
    options: dict[str, RuleOptions] = Field(default_factory=dict)


def _dotted(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


def validate(model: type[BaseModel], data: Any, prefix: str = "") -> Any:
    """Validate ``data`` as ``model``, turning pydantic's error into an ``InvalidDraft``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = _dotted(((prefix,) if prefix else ()) + tuple(first["loc"]))
        raise InvalidDraft(f"{field or 'request'}: {first['msg']}", field or None) from None
