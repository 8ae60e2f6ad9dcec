"""Request and response shapes of the artist API, validated by pydantic.

Handles and platform ids are checked against the adapters here, so an invalid handle is
rejected when the person is saved, not when a post fails weeks later.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    field_validator,
    model_validator,
)

from adapters import registry
from adapters.draft import RuleOptions
from adapters.errors import DraftError
from server.models import ROLES

Rating = Literal["general", "mature", "adult"]
Role = Literal[ROLES]  # type: ignore[valid-type]
PERSON_KEY_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$"
PersonKey = Annotated[str, StringConstraints(pattern=PERSON_KEY_PATTERN)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def check_platform(platform: str) -> str:
    if platform not in registry.platform_ids():
        known = ", ".join(registry.platform_ids())
        raise ValueError(f"unknown platform {platform!r} (known: {known})")
    return platform


def check_handles(accounts: dict[str, str]) -> dict[str, str]:
    checked = {}
    for platform, handle in accounts.items():
        check_platform(platform)
        try:
            checked[platform] = registry.get(platform).check_handle(handle)
        except DraftError as exc:
            raise ValueError(str(exc)) from exc
    return checked


# People ---------------------------------------------------------------------------------------


class PersonFields(Strict):
    name: Name | None = None
    primary: str | None = Field(None, description="platform id of the primary profile")
    accounts: dict[str, Annotated[str, StringConstraints(min_length=1, max_length=255)]] | None = (
        Field(None, description="platform id → handle on that platform")
    )
    notes: Annotated[str, StringConstraints(max_length=5000)] | None = None

    @field_validator("accounts")
    @classmethod
    def _valid_handles(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        return None if value is None else check_handles(value)


# Keys that would be shadowed by routes under /api/v1/people/ (GET …/export is the export).
RESERVED_PERSON_KEYS = ("import", "export")


class PersonCreate(PersonFields):
    key: PersonKey = Field(description="the key templates use: @[key]")
    name: Name

    @field_validator("key")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED_PERSON_KEYS:
            raise ValueError(f"{value!r} is a reserved word; choose another key")
        return value

    @model_validator(mode="after")
    def _primary_is_an_account(self) -> PersonCreate:
        if self.primary is not None and self.primary not in (self.accounts or {}):
            raise ValueError(f"primary {self.primary!r} is not one of the person's accounts")
        return self


class PersonUpdate(PersonFields):
    pass


class PersonOut(BaseModel):
    key: str
    name: str
    primary: str | None
    accounts: dict[str, str]
    notes: str
    created_at: dt.datetime


class PersonList(BaseModel):
    items: list[PersonOut]


class PeopleImport(Strict):
    people: list[PersonCreate]


class ImportResult(BaseModel):
    created: int
    updated: int


# Accounts -------------------------------------------------------------------------------------


class AccountFields(Strict):
    name: Name | None = Field(None, description="the account's public name on the platform")
    credentials: dict[str, SecretStr] | None = Field(None, description="write-only; never returned")
    options: RuleOptions | None = Field(None, description="per-account rule overrides")


class AccountCreate(AccountFields):
    platform: str
    name: Name

    @field_validator("platform")
    @classmethod
    def _known_platform(cls, value: str) -> str:
        return check_platform(value)


class AccountUpdate(AccountFields):
    state: Literal["ok", "paused"] | None = None


class AccountOut(BaseModel):
    id: int
    platform: str
    name: str
    credentials: Literal["set", "not set"]
    options: dict[str, Any]
    state: str
    last_error: str | None
    last_checked_at: dt.datetime | None
    created_at: dt.datetime


class AccountList(BaseModel):
    items: list[AccountOut]


# Artworks -------------------------------------------------------------------------------------


class CreditIn(Strict):
    role: Role
    person: PersonKey
    character: Name | None = None


Language = Annotated[
    str, StringConstraints(pattern=r"^(?:[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*)?$", max_length=16)
]
FocusCoordinate = Annotated[float, Field(ge=-1.0, le=1.0, allow_inf_nan=False)]
Focus = tuple[FocusCoordinate, FocusCoordinate]


class ArtworkFields(Strict):
    title: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
        | None
    ) = None
    description: Annotated[str, StringConstraints(max_length=100_000)] | None = None
    rating: Rating | None = None
    content_flags: list[Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}$")]] | None = None
    tags: list[Tag] | None = Field(None, max_length=200)
    credits: list[CreditIn] | None = Field(None, max_length=100)
    alt_text: list[Annotated[str, StringConstraints(max_length=5000)]] | None = Field(
        None, description="alt text per image, in image order"
    )
    focus: list[Focus | None] | None = Field(
        None,
        max_length=100,
        description="focal point per image, in image order: [x, y] from -1 to 1 (centre 0, 0; "
        "y up), used where a platform crops its previews (Mastodon); null for none",
    )
    language: Language | None = Field(
        None, description='language of the text, e.g. "en" or "pt-BR"; "" to unset'
    )
    repost_stale: bool | None = Field(
        None,
        description="delete-and-repost copies that went stale on platforms that cannot edit "
        "(Bluesky, X): the new post goes up first, then the old one is deleted with its likes, "
        "reposts and replies",
    )
    also_on_links: bool | None = Field(
        None,
        description="once every delivery is done, edit the earlier copies to end with a link "
        "to the canonical page (where the platform edits and the link fits)",
    )


class ArtworkCreate(ArtworkFields):
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
    rating: Rating


class ArtworkUpdate(ArtworkFields):
    pass


class CreditOut(BaseModel):
    role: str
    person: str
    character: str | None


class ImageOut(BaseModel):
    position: int
    sha256: str
    media_type: str
    width: int
    height: int
    size: int
    alt_text: str
    focus: tuple[float, float] | None
    url: str


class ArtworkOut(BaseModel):
    id: int
    public_id: str
    title: str
    description: str
    rating: str
    content_flags: list[str]
    tags: list[str]
    credits: list[CreditOut]
    images: list[ImageOut]
    published_at: dt.datetime | None
    language: str | None
    revision: int = Field(description="bumped whenever what its posts show changes")
    repost_stale: bool
    also_on_links: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class CopyOut(BaseModel):
    url: str
    platform: str | None
    source: str
    remote_id: str | None
    synced_revision: int
    state: Literal["synced", "updating", "stale", "failed", "reposting", "replaced"] = Field(
        description="stale: the platform cannot edit, or no edit was queued; updating: an edit "
        "is queued or running; failed: the edit or repost needs you (see its delivery); "
        "reposting: a delete-and-repost is queued or running; replaced: deleted after its "
        "repost went up (kept so that its URL still leads to the work)"
    )


class CopyList(BaseModel):
    revision: int
    items: list[CopyOut]


class ArtworkList(BaseModel):
    items: list[ArtworkOut]


# Deliveries -----------------------------------------------------------------------------------


class DeliveryOut(BaseModel):
    id: int
    artwork_id: int
    account_id: int
    platform: str
    kind: Literal["post", "edit", "repost", "links"]
    revision: int
    state: str
    scheduled_at: dt.datetime
    attempts: int
    last_error: str | None
    remote_id: str | None
    remote_url: str | None
    cancel_requested: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class DeliveryList(BaseModel):
    items: list[DeliveryOut]


class DeliveryCreate(Strict):
    accounts: list[int] = Field(min_length=1, max_length=50, description="account ids to post to")
    scheduled_at: dt.datetime | None = Field(
        None, description="when to post (timezone-aware); default: now"
    )

    _aware = field_validator("scheduled_at")(classmethod(lambda cls, v: aware(v)))


class DeliveryReschedule(Strict):
    scheduled_at: dt.datetime

    _aware = field_validator("scheduled_at")(classmethod(lambda cls, v: aware(v)))


def aware(value: dt.datetime | None) -> dt.datetime | None:
    """Schedules are instants: a time without a zone would mean different things to each of
    the artist's browser, the server and the worker."""
    if value is not None and value.tzinfo is None:
        raise ValueError("give a time zone, e.g. 2026-12-01T18:00:00+01:00")
    return value


class DeliveryCreated(BaseModel):
    items: list[DeliveryOut]
    created: list[int] = Field(description="ids of the deliveries this request created")


# Import (issue 11) ----------------------------------------------------------------------------


class AccountImport(Strict):
    since: dt.datetime | None = Field(
        None, description="only posts made at or after this time (timezone-aware)"
    )
    limit: int | None = Field(
        None, ge=1, le=10_000, description="read at most this many posts (default 1000)"
    )

    _aware = field_validator("since")(classmethod(lambda cls, v: aware(v)))


class ImportProblem(BaseModel):
    url: str
    reason: str


class ImportWarning(BaseModel):
    url: str
    warning: str


class AccountImportResult(BaseModel):
    fetched: int = Field(description="posts read from the platform")
    imported: int = Field(description="posts recorded as new copies")
    new_artworks: int = Field(description="draft artworks created for pictures not seen before")
    grouped: int = Field(description="copies added to an artwork that already showed the picture")
    skipped: int = Field(description="posts already known (same remote id or URL)")
    ignored: list[ImportProblem] = Field(description="posts that are not artworks (no image, …)")
    failed: list[ImportProblem] = Field(description="posts that could not be imported, and why")
    warnings: list[ImportWarning]
    proposals: int = Field(description="credits proposed from the posts' text")
    artworks: list[int] = Field(description="ids of the artworks that received copies")


class CreditProposalOut(BaseModel):
    id: int
    platform: str = Field(description="the platform whose account the text names")
    handle: str
    found: str = Field(description="the text as the post wrote it")
    role: str = Field(description="a guess from the words around it")
    person: str | None = Field(description="key of the person who has this handle, if any")
    state: Literal["open", "accepted"]
    source_url: str | None = Field(description="the imported post it was found in")
    created_at: dt.datetime


class CreditProposalList(BaseModel):
    items: list[CreditProposalOut]


class ProposalAccept(Strict):
    proposal: int = Field(description="id of the proposal to accept")
    role: Role | None = Field(None, description="default: the proposal's guess")
    person: PersonKey | None = Field(
        None,
        description="credit this existing person; default: the person with the handle, "
        "or a new person made from the proposal",
    )
    character: Name | None = None
    key: PersonKey | None = Field(None, description="key for the new person (default: the handle)")
    name: Name | None = Field(None, description="name for the new person (default: the handle)")

    @field_validator("key")
    @classmethod
    def _not_reserved(cls, value: str | None) -> str | None:
        if value in RESERVED_PERSON_KEYS:
            raise ValueError(f"{value!r} is a reserved word; choose another key")
        return value
