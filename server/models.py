"""The relational model: who owns what, and what Creditline knows about each artwork.

Every artist-owned row carries ``user_id`` (directly or through its parent) so that every query
can be scoped to one user; the API turns "not yours" into 404, never 403.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Stable constraint names so Alembic migrations read the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

RATINGS = ("general", "mature", "adult")
ROLES = (
    "artist",
    "co_artist",
    "colorist",
    "commissioner",
    "character_owner",
    "gift_for",
    "trade_with",
    "base_by",
    "other",
)
ACCOUNT_STATES = ("ok", "needs_attention", "paused")
DELIVERY_STATES = (
    "scheduled",
    "claimed",
    "uploading",
    "publishing",
    "posted",
    "retry_wait",
    "failed",
    "needs_attention",
    "cancelled",
)
COPY_SOURCES = ("delivery", "import", "report")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC timestamps on both databases (SQLite has no time zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware values only")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored, so a leaked database leaks no usable token."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class Person(Base):
    """Someone who can be credited; ``key`` is what templates write as ``@[key]``."""

    __tablename__ = "people"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    primary_platform: Mapped[str | None] = mapped_column(String(32))
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    accounts: Mapped[list[PersonAccount]] = relationship(
        back_populates="person", cascade="all, delete-orphan", order_by="PersonAccount.platform"
    )


class PersonAccount(Base):
    """A credited person's handle on one platform (not a login: no credentials here)."""

    __tablename__ = "person_accounts"
    __table_args__ = (UniqueConstraint("person_id", "platform"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(32))
    handle: Mapped[str] = mapped_column(String(255))

    person: Mapped[Person] = relationship(back_populates="accounts")


class Account(Base):
    """A platform login owned by a user; credentials are Fernet ciphertext, never plaintext."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255))
    credentials: Mapped[bytes | None] = mapped_column(LargeBinary)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(32), default="ok")
    last_error: Mapped[str | None] = mapped_column(Text)
    last_checked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Pacing: no delivery of this account is claimed before this time.
    next_post_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Artwork(Base):
    __tablename__ = "artworks"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    public_id: Mapped[str] = mapped_column(String(16), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    rating: Mapped[str] = mapped_column(String(16))
    content_flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Bumped whenever what a post shows changes (text, credits, rating, tags): copies that
    # show an older revision are stale and get an edit delivery where the platform allows.
    revision: Mapped[int] = mapped_column(Integer, default=1)
    # BCP 47 tag of the text (Mastodon's status language); ``None`` lets the platform guess.
    language: Mapped[str | None] = mapped_column(String(16))
    # Opt-in: copies on platforms that cannot edit are deleted and posted again when stale.
    repost_stale: Mapped[bool] = mapped_column(Boolean, default=False)
    # Opt-in: once every delivery has posted, editable copies get links to the other copies.
    also_on_links: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship()
    images: Mapped[list[ArtworkImage]] = relationship(
        back_populates="artwork", cascade="all, delete-orphan", order_by="ArtworkImage.position"
    )
    credits: Mapped[list[Credit]] = relationship(
        back_populates="artwork", cascade="all, delete-orphan", order_by="Credit.position"
    )
    deliveries: Mapped[list[Delivery]] = relationship(
        back_populates="artwork", cascade="all, delete-orphan", order_by="Delivery.id"
    )
    copies: Mapped[list[Copy]] = relationship(
        back_populates="artwork", cascade="all, delete-orphan", order_by="Copy.id"
    )


class ArtworkImage(Base):
    """One image of an artwork; the bytes live content-addressed in the media store."""

    __tablename__ = "artwork_images"
    __table_args__ = (UniqueConstraint("artwork_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    artwork_id: Mapped[int] = mapped_column(ForeignKey("artworks.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    media_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    alt_text: Mapped[str] = mapped_column(Text, default="")
    # Focal point for platforms that crop thumbnails (Mastodon): x, y in -1.0..1.0, y up.
    focus_x: Mapped[float | None] = mapped_column(Float)
    focus_y: Mapped[float | None] = mapped_column(Float)

    artwork: Mapped[Artwork] = relationship(back_populates="images")


class Credit(Base):
    __tablename__ = "credits"

    id: Mapped[int] = mapped_column(primary_key=True)
    artwork_id: Mapped[int] = mapped_column(ForeignKey("artworks.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(32))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    character: Mapped[str | None] = mapped_column(String(200))

    artwork: Mapped[Artwork] = relationship(back_populates="credits")
    person: Mapped[Person] = relationship()


class Delivery(Base):
    """One artwork to one account; the deliveries table is also the work queue."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("artwork_id", "account_id", "kind", "revision"),
        Index("ix_deliveries_due", "state", "scheduled_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    artwork_id: Mapped[int] = mapped_column(ForeignKey("artworks.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    # "post" creates the copy; "edit" brings an existing copy up to ``revision``.
    kind: Mapped[str] = mapped_column(String(8), default="post")
    revision: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[str] = mapped_column(String(32), default="scheduled")
    scheduled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    progress: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    remote_id: Mapped[str | None] = mapped_column(String(255))
    remote_url: Mapped[str | None] = mapped_column(String(2048))
    # The last attempt may have reached the platform: look before posting again.
    outcome_unknown: Mapped[bool] = mapped_column(Boolean, default=False)
    # The artist cancelled while a worker held it; the worker stops at its next checkpoint.
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    artwork: Mapped[Artwork] = relationship(back_populates="deliveries")
    account: Mapped[Account] = relationship()


class Copy(Base):
    """A known place where an artwork lives: our own delivery, an imported post, or a repost."""

    __tablename__ = "copies"

    id: Mapped[int] = mapped_column(primary_key=True)
    artwork_id: Mapped[int] = mapped_column(ForeignKey("artworks.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2048))
    platform: Mapped[str | None] = mapped_column(String(32))
    remote_id: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(16))
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("deliveries.id", ondelete="SET NULL")
    )
    # The artwork revision this copy shows (imports and reposts: whatever they show).
    synced_revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    artwork: Mapped[Artwork] = relationship(back_populates="copies")

    __table_args__ = (Index("ix_copies_url", "url"),)


# -- the attribution registry (issue 8) ------------------------------------------------------

REGISTRATION_STATES = ("pending", "registered", "failed")
CONFLICT_STATES = ("open", "resolved")


class Registration(Base):
    """An artwork that is public and must be (or has been) fingerprinted into the registry.

    ``record_posted`` and the publish endpoint add a ``pending`` row; the registry fingerprints
    the images (it needs the media store, which the delivery worker's transaction does not have)
    and moves it to ``registered``.
    """

    __tablename__ = "registrations"

    artwork_id: Mapped[int] = mapped_column(
        ForeignKey("artworks.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    registered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Fingerprint(Base):
    """One perceptual fingerprint of one image of a public artwork (see docs/FINGERPRINT.md).

    ``variant`` is ``full`` or a registration-side centre crop (``c05``, ``c10``, ``c15``);
    ``hash`` is the 256-bit structural hash as 64 hex digits, ``colour`` the 48-byte colour
    signature, ``bucket`` the 16-bit coarse key of the privacy-preserving lookup, ``detail``
    the 64-byte 8 × 8 luma grid that verifies a match (NULL for rows stored before it existed:
    those are verified on the colour grid alone).
    """

    __tablename__ = "fingerprints"

    id: Mapped[int] = mapped_column(primary_key=True)
    artwork_id: Mapped[int] = mapped_column(
        ForeignKey("artworks.id", ondelete="CASCADE"), index=True
    )
    image_sha256: Mapped[str] = mapped_column(String(64))
    variant: Mapped[str] = mapped_column(String(8))
    hash: Mapped[str] = mapped_column(String(64))
    colour: Mapped[bytes] = mapped_column(LargeBinary)
    bucket: Mapped[int] = mapped_column(Integer, index=True)
    quality: Mapped[int] = mapped_column(Integer)
    detail: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # indexed: the registry index asks for rows newer than the newest it has (SQLite reuses ids)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class RegistryConflict(Base):
    """A registration whose image matches another user's public work; both are under review.

    ``artwork_id`` is the later registration, ``existing_artwork_id`` the earlier one, which
    keeps the public display (matches, lookups) until the conflict is resolved. ``decided_by``
    says who made the current decision ("owner" | "operator"; NULL for rows decided before it
    was recorded); the later side's owner may appeal an owner's ``kept_first`` once
    (``appealed_at``, ``appeal_reason``), and it stays under appeal until an operator decides
    (server/registry/conflicts.py).
    """

    __tablename__ = "registry_conflicts"
    __table_args__ = (UniqueConstraint("artwork_id", "existing_artwork_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    artwork_id: Mapped[int] = mapped_column(
        ForeignKey("artworks.id", ondelete="CASCADE"), index=True
    )
    existing_artwork_id: Mapped[int] = mapped_column(
        ForeignKey("artworks.id", ondelete="CASCADE"), index=True
    )
    distance: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(16))
    appealed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    appeal_reason: Mapped[str | None] = mapped_column(String(500))


# -- import (issue 11) -----------------------------------------------------------------------

PROPOSAL_STATES = ("open", "accepted")


class CreditProposal(Base):
    """A credit found in an imported post's text (``:iconname:``, ``@handle``, …), waiting for
    the artist to confirm it; accepting it makes a real ``Credit`` (``server/importer.py``).

    ``platform``/``handle`` say whose account the text names; ``person_id`` is the directory
    entry that already has that handle (if any); ``role`` is a guess from the words around it.
    """

    __tablename__ = "credit_proposals"
    __table_args__ = (UniqueConstraint("artwork_id", "platform", "handle"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    artwork_id: Mapped[int] = mapped_column(
        ForeignKey("artworks.id", ondelete="CASCADE"), index=True
    )
    copy_id: Mapped[int | None] = mapped_column(ForeignKey("copies.id", ondelete="SET NULL"))
    platform: Mapped[str] = mapped_column(String(32))
    handle: Mapped[str] = mapped_column(String(255))
    found: Mapped[str] = mapped_column(String(300))  # the text as written in the post
    role: Mapped[str] = mapped_column(String(32))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    person: Mapped[Person | None] = relationship()


IMPORT_JOB_STATES = ("queued", "running", "done", "failed")


class ImportJob(Base):
    """One import of an account's posts, run by a worker (``server/import_jobs.py``).

    The table is the queue: a worker claims a ``queued`` job (or a ``running`` one whose lease
    ran out: its worker died) and writes ``total``/``done``/``new`` as it goes, which the web
    page polls. Re-running an import adds only what is new, so a reclaimed job simply starts
    again. ``report`` is the importer's report once it is ``done``.
    """

    __tablename__ = "import_jobs"
    # One active import per account: two requests (a double click, two workers) cannot both
    # queue one; ``import_jobs.start`` answers the loser with the job that won.
    __table_args__ = (
        Index(
            "uq_import_jobs_active_account",
            "account_id",
            unique=True,
            postgresql_where=text("state IN ('queued', 'running')"),
            sqlite_where=text("state IN ('queued', 'running')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    max_posts: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(
        String(16), default="queued", server_default="queued", index=True
    )
    total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    done: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    new: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    account: Mapped[Account] = relationship()
