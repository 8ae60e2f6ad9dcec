"""Artworks: their images, credits and metadata, kept consistent with the media store."""

from __future__ import annotations

import logging
import secrets
import string
from collections.abc import Iterable
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from server import directory, sync
from server.media import MediaError, MediaStore, StoredImage
from server.models import Artwork, ArtworkImage, Credit, User
from server.schemas import ArtworkFields, ArtworkOut, CreditOut, ImageOut

log = logging.getLogger(__name__)

_PUBLIC_ALPHABET = string.ascii_letters + string.digits


class ArtworkInvalid(ValueError):
    def __init__(
        self, message: str, field: str | None = None, status: int = 400, code: str = "invalid"
    ) -> None:
        super().__init__(message)
        self.message, self.field, self.status, self.code = message, field, status, code


def new_public_id() -> str:
    """Short, unguessable ids for public pages (62^10 ≈ 8e17: no enumeration)."""
    return "".join(secrets.choice(_PUBLIC_ALPHABET) for _ in range(10))


def find(session: Session, user: User, artwork_id: int) -> Artwork | None:
    artwork = session.get(Artwork, artwork_id)
    return artwork if artwork is not None and artwork.user_id == user.id else None


def list_artworks(session: Session, user: User) -> list[Artwork]:
    query = select(Artwork).where(Artwork.user_id == user.id).order_by(Artwork.id.desc())
    return list(session.scalars(query.limit(500)))


def create(
    session: Session,
    user: User,
    data: ArtworkFields,
    uploads: list[BinaryIO],
    store: MediaStore,
    max_images: int,
) -> Artwork:
    """Create the artwork, store its images and commit; on any failure (the commit included)
    no new image file is left."""
    if len(uploads) > max_images:
        raise ArtworkInvalid(f"at most {max_images} images per artwork", "images")
    for field in ("alt_text", "focus"):
        _check_per_image(getattr(data, field), len(uploads), field)
    artwork = Artwork(
        user_id=user.id, public_id=new_public_id(), title=data.title, rating=data.rating
    )
    apply(session, user, artwork, data.model_copy(update={"alt_text": None, "focus": None}))
    session.add(artwork)
    stored: list[StoredImage] = []
    try:
        for index, upload in enumerate(uploads):
            try:
                stored.append(store.save(upload))
            except MediaError as exc:
                raise ArtworkInvalid(
                    f"image {index + 1}: {exc.message}", f"images.{index}", exc.status, exc.code
                ) from exc
        alt, focus = list(data.alt_text or []), list(data.focus or [])
        for position, image in enumerate(stored):
            artwork.images.append(
                ArtworkImage(
                    position=position,
                    sha256=image.sha256,
                    media_type=image.media_type,
                    width=image.width,
                    height=image.height,
                    size=image.size,
                    alt_text=alt[position] if position < len(alt) else "",
                )
            )
            if position < len(focus):
                _set_focus(artwork.images[-1], focus[position])
        session.commit()
    except Exception:
        session.rollback()
        forget_unused(session, store, (image.sha256 for image in stored))
        raise
    return artwork


def apply(session: Session, user: User, artwork: Artwork, data: ArtworkFields) -> None:
    """Copy the fields that were sent onto the artwork; credits replace the whole list.

    When what its posts show changes, posted copies are brought up to date (``server.sync``).
    """
    before = shown(artwork)
    opted = (artwork.repost_stale, artwork.also_on_links)
    _apply_fields(session, user, artwork, data)
    if artwork.id is None:
        return
    if shown(artwork) != before:
        sync.content_changed(session, artwork)
    if bool(artwork.repost_stale) != bool(opted[0]):
        sync.repost_opted(session, artwork, bool(artwork.repost_stale))
    if artwork.also_on_links and not opted[1]:
        sync.queue_links(session, artwork)


def shown(artwork: Artwork) -> tuple[object, ...]:
    """Everything a rendered post is made of (to tell whether an edit is needed)."""
    return (
        artwork.title,
        artwork.description,
        artwork.rating,
        tuple(artwork.content_flags or ()),
        tuple(artwork.tags or ()),
        tuple((c.role, c.person.id if c.person else None, c.character) for c in artwork.credits),
        tuple(image.alt_text for image in artwork.images),
    )  # not focus or language: posts keep what they were sent with (no edit, no repost)


def _apply_fields(session: Session, user: User, artwork: Artwork, data: ArtworkFields) -> None:
    for field in ("title", "description", "rating", "content_flags", "tags"):
        value = getattr(data, field)
        if value is not None:
            setattr(artwork, field, value)
    if data.credits is not None:
        credits = []
        for position, credit in enumerate(data.credits):
            person = directory.find(session, user, credit.person)
            if person is None:
                raise ArtworkInvalid(
                    f"unknown person {credit.person!r}: add them to your people first",
                    f"credits.{position}.person",
                )
            credits.append(
                Credit(
                    position=position, role=credit.role, person=person, character=credit.character
                )
            )
        artwork.credits = credits
    if data.language is not None:
        artwork.language = data.language or None
    for opt_in in ("repost_stale", "also_on_links"):  # see server.sync
        if getattr(data, opt_in) is not None:
            setattr(artwork, opt_in, getattr(data, opt_in))
    if data.alt_text is not None:
        _check_per_image(data.alt_text, len(artwork.images), "alt_text")
        for image, text in zip(artwork.images, data.alt_text, strict=False):
            image.alt_text = text
    if data.focus is not None:
        _check_per_image(data.focus, len(artwork.images), "focus")
        for image, point in zip(artwork.images, data.focus, strict=False):
            _set_focus(image, point)


def _check_per_image(values: list[object] | None, images: int, field: str) -> None:
    if values and len(values) > images:
        what = "alt texts" if field == "alt_text" else "focal points"
        raise ArtworkInvalid(f"{len(values)} {what} for {images} images", field)


def _set_focus(image: ArtworkImage, point: tuple[float, float] | None) -> None:
    image.focus_x, image.focus_y = point if point is not None else (None, None)


def delete(session: Session, store: MediaStore, artwork: Artwork) -> None:
    hashes = [image.sha256 for image in artwork.images]
    session.delete(artwork)
    session.commit()
    forget_unused(session, store, hashes)


def forget_unused(session: Session, store: MediaStore, hashes: Iterable[str]) -> None:
    """Delete image files no artwork refers to any more (files are shared by content)."""
    for sha in set(hashes):
        if session.scalar(select(ArtworkImage.id).where(ArtworkImage.sha256 == sha).limit(1)):
            continue
        store.delete(sha)
        log.info("removed unused image %s", sha[:12])


def to_out(artwork: Artwork, image_url: str) -> ArtworkOut:
    """``image_url`` is a format string with ``{id}`` and ``{position}``."""
    return ArtworkOut(
        id=artwork.id,
        public_id=artwork.public_id,
        title=artwork.title,
        description=artwork.description,
        rating=artwork.rating,
        content_flags=artwork.content_flags,
        tags=artwork.tags,
        credits=[
            CreditOut(role=c.role, person=c.person.key, character=c.character)
            for c in artwork.credits
        ],
        images=[
            ImageOut(
                position=i.position,
                sha256=i.sha256,
                media_type=i.media_type,
                width=i.width,
                height=i.height,
                size=i.size,
                alt_text=i.alt_text,
                focus=(i.focus_x, i.focus_y) if i.focus_x is not None else None,
                url=image_url.format(id=artwork.id, position=i.position),
            )
            for i in artwork.images
        ],
        published_at=artwork.published_at,
        language=artwork.language,
        revision=artwork.revision,
        repost_stale=bool(artwork.repost_stale),
        also_on_links=bool(artwork.also_on_links),
        created_at=artwork.created_at,
        updated_at=artwork.updated_at,
    )
