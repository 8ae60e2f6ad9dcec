"""The attribution registry over HTTP: the artist's publish action and the public, read-only,
rate-limited endpoints (works, URL attribution, image match, privacy-preserving lookup)."""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import warnings
from collections.abc import Callable
from functools import wraps
from typing import Any, Literal

import numpy as np
from flask import Blueprint, current_app, jsonify, request
from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select

from adapters import registry as platforms
from server import artworks, db
from server.api.spec import endpoint, parse_json_body
from server.auth import current_user
from server.errors import ApiError, error_body, not_found
from server.models import Artwork, Copy, RegistryConflict
from server.registry import conflicts, service, works

bp = Blueprint("registry", __name__, url_prefix="/api/v1")

ACCEPTED_FORMATS = ["PNG", "JPEG", "GIF", "WEBP"]


# -- response models (for the OpenAPI document) ----------------------------------------------


class ProfileOut(BaseModel):
    platform: str
    handle: str
    url: str


class CreditedPerson(BaseModel):
    name: str
    profiles: list[ProfileOut]


class WorkCredit(BaseModel):
    role: str
    character: str | None
    person: CreditedPerson


class WorkImage(BaseModel):
    position: int
    url: str
    media_type: str
    width: int
    height: int
    alt_text: str
    sha256: str


class WorkCopy(BaseModel):
    url: str
    platform: str | None
    source: str


class WorkOut(BaseModel):
    public_id: str
    url: str
    title: str
    rating: str
    published_at: dt.datetime | None
    images: list[WorkImage]
    credits: list[WorkCredit]
    copies: list[WorkCopy]
    # "none" | "under_review" (a conflict is open) | "appealed" (kept the attribution in an
    # owner's decision that the other side appealed; an operator will decide) | "disputed"
    # (kept the attribution in a decided conflict)
    review: str
    review_decided_at: dt.datetime | None  # when that conflict was decided (appealed/disputed)


class PublishOut(BaseModel):
    work: WorkOut
    registration: str  # pending | registered | failed
    conflicts: int


class ConflictOut(BaseModel):
    id: int
    state: str  # open | kept_first | given_second | separate (server/registry/conflicts.py)
    role: str  # "later": registered after the other work; "earlier": before it (decides)
    other_work: str  # public id of the other work
    distance: int
    created_at: dt.datetime
    decided_by: str | None  # "owner" | "operator"; null while open or if not recorded
    appealed_at: dt.datetime | None  # when the later side appealed the owner's decision
    appeal_reason: str | None
    under_appeal: bool  # appealed and waiting for an operator's decision


class ConflictList(BaseModel):
    items: list[ConflictOut]


class AttributionOut(BaseModel):
    url: str
    platform: str | None
    remote_id: str | None
    works: list[WorkOut]


class MatchCandidate(BaseModel):
    score: float
    distance: int
    colour_distance: int
    work: WorkOut


class MatchOut(BaseModel):
    low_information: bool
    candidates: list[MatchCandidate]


class LookupEntry(BaseModel):
    hash: str
    colour: str
    detail: str | None  # 128 hex digits (docs/FINGERPRINT.md §7b); null for older rows
    work: str


class LookupOut(BaseModel):
    bucket: str
    entries: list[LookupEntry]


# -- rate limiting --------------------------------------------------------------------------


def rate_limited(kind: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Spend one token of the client's ``kind`` bucket or answer 429 with Retry-After."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(fn)
        def view(*args: Any, **kwargs: Any) -> Any:
            limiter = current_app.extensions["creditline.registry.limits"][kind]
            wait = limiter.take(request.remote_addr or "?")
            if wait > 0:
                response = jsonify(
                    error_body("rate_limited", "too many requests; slow down and retry later")
                )
                response.status_code = 429
                response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
                return response
            return fn(*args, **kwargs)

        return view

    return wrap


# -- artist side ----------------------------------------------------------------------------


def _owned(artwork_id: int) -> Artwork:
    artwork = artworks.find(db.session(), current_user(), artwork_id)
    if artwork is None:
        raise not_found(f"artwork {artwork_id}")
    return artwork


def _work(artwork: Artwork) -> WorkOut:
    doc = works.document(db.session(), artwork, current_app.config["PUBLIC_URL"])
    return WorkOut.model_validate(doc)


@endpoint(
    bp,
    "/artworks/<int:artwork_id>/publish",
    "POST",
    summary="Make an artwork public: its canonical page, JSON record and image fingerprints",
    response=PublishOut,
)
def publish_artwork(artwork_id: int) -> PublishOut:
    session = db.session()
    artwork = _owned(artwork_id)
    service.publish(session, artwork)
    service.sync(session, current_app._get_current_object(), only=artwork.id)  # type: ignore[attr-defined]
    session.commit()
    registration = session.get(service.Registration, artwork.id)
    return PublishOut(
        work=_work(artwork),
        registration=registration.state if registration else "pending",
        conflicts=len(service.open_conflicts(session, artwork.id)),
    )


@endpoint(
    bp,
    "/artworks/<int:artwork_id>/conflicts",
    "GET",
    summary="Registry conflicts involving this artwork (matches with other users' works)",
    response=ConflictList,
)
def artwork_conflicts(artwork_id: int) -> ConflictList:
    session = db.session()
    artwork = _owned(artwork_id)
    return ConflictList(
        items=[
            _conflict_out(c, later=c.artwork_id == artwork.id)
            for c in conflicts.for_artwork(session, artwork.id)
        ]
    )


def _conflict_out(c: RegistryConflict, *, later: bool) -> ConflictOut:
    """``c`` as seen from one side (``later``: the artwork registered after the other)."""
    other = db.session().get(Artwork, c.existing_artwork_id if later else c.artwork_id)
    return ConflictOut(
        id=c.id,
        state=c.state,
        role="later" if later else "earlier",
        other_work=other.public_id if other else "",
        distance=c.distance,
        created_at=c.created_at,
        decided_by=c.decided_by,
        appealed_at=c.appealed_at,
        appeal_reason=c.appeal_reason,
        under_appeal=conflicts.is_under_appeal(c),
    )


class ConflictResolution(BaseModel):
    conflict: int  # the id from GET /artworks/<id>/conflicts
    decision: Literal["keep_first", "give_second", "separate"]


def _conflict_of_side(
    artwork_id: int, body_type: type[BaseModel], *, later: bool
) -> tuple[Any, RegistryConflict]:
    """The request's body and the conflict it names, in which the caller's artwork is the
    later registration (appeals) or the earlier one (decisions); 404 otherwise."""
    artwork = _owned(artwork_id)  # before the body: another user's artwork is a plain 404
    body = parse_json_body(body_type)
    find = conflicts.find_for_later_owner if later else conflicts.find_for_earlier_owner
    conflict = find(db.session(), artwork.user_id, artwork.id, body.conflict)
    if conflict is None:
        side, who = ("later", "appeals") if later else ("earlier", "decides")
        raise ApiError(
            404,
            "not_found",
            f"no conflict {body.conflict} in which artwork {artwork_id} is the {side} "
            f"registration (only its owner {who})",
            "conflict",
        )
    return body, conflict


@endpoint(
    bp,
    "/artworks/<int:artwork_id>/conflicts/resolve",
    "POST",
    summary="Decide a registry conflict on this artwork's earlier registration: keep_first, "
    "give_second (the later registration takes the attribution) or separate (both are shown)",
    body=ConflictResolution,
    response=ConflictOut,
    parse_body=False,
)
def resolve_conflict(artwork_id: int) -> ConflictOut:
    session = db.session()
    body, conflict = _conflict_of_side(artwork_id, ConflictResolution, later=False)
    assert isinstance(body, ConflictResolution)
    try:
        conflicts.resolve(session, conflict, body.decision)
    except conflicts.AlreadyResolved as exc:
        raise ApiError(409, "conflict", str(exc), "conflict") from exc
    session.commit()
    return _conflict_out(conflict, later=False)


# control characters, line and paragraph separators, and the invisible ones that reorder or
# hide text (bidi overrides and isolates, zero-width characters) in the operator's listing
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


class ConflictAppeal(BaseModel):
    conflict: int  # the id from GET /artworks/<id>/conflicts
    # Plain text, one line, for the other side and the operator (never on the public record).
    reason: str | None = Field(default=None, max_length=conflicts.REASON_MAX)

    @field_validator("reason")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if _CONTROL.search(value):
            raise ValueError("one line of text: no line breaks, control or invisible characters")
        return value.strip() or None


@endpoint(
    bp,
    "/artworks/<int:artwork_id>/conflicts/appeal",
    "POST",
    summary="Appeal a registry conflict that the earlier registration's owner decided "
    "keep_first against this artwork (the later registration), once; an operator decides it",
    body=ConflictAppeal,
    response=ConflictOut,
    parse_body=False,
)
def appeal_conflict(artwork_id: int) -> ConflictOut:
    session = db.session()
    body, conflict = _conflict_of_side(artwork_id, ConflictAppeal, later=True)
    assert isinstance(body, ConflictAppeal)
    try:
        conflicts.appeal(session, conflict, body.reason)
    except conflicts.NotAppealable as exc:
        raise ApiError(409, "conflict", str(exc), "conflict") from exc
    session.commit()
    return _conflict_out(conflict, later=True)


# -- public, read-only ----------------------------------------------------------------------


@endpoint(
    bp,
    "/works/<public_id>",
    "GET",
    summary="A public work's attribution record",
    auth=False,
    response=WorkOut,
)
@rate_limited("read")
def get_work(public_id: str) -> WorkOut:
    artwork = works.find_public(db.session(), public_id)
    if artwork is None:
        raise not_found(f"work {public_id}")
    return _work(artwork)


def _host_agnostic(adapter: Any, url: str, remote_id: str) -> bool:
    """Does the adapter accept this path on any host (Mastodon-like)? Then hosts must agree."""
    try:
        moved = re.sub(r"^(\w+://)[^/]+", r"\1example.invalid", url.strip(), count=1)
        return moved != url.strip() and adapter.parse_url(moved) == remote_id
    except Exception:
        return False


def _host(url: str) -> str:
    try:
        return (urlsplit_host(url) or "").lower()
    except ValueError:
        return ""


def urlsplit_host(url: str) -> str | None:
    from urllib.parse import urlsplit

    return urlsplit(url.strip()).hostname


@endpoint(
    bp,
    "/attribution",
    "GET",
    summary="Which public work a post URL is a copy of (?url=)",
    auth=False,
    response=AttributionOut,
)
@rate_limited("read")
def attribution() -> AttributionOut:
    url = request.args.get("url", "")
    if not url or len(url) > 2048 or "\x00" in url:
        raise ApiError(400, "invalid", "url: give a post URL of at most 2048 characters", "url")
    session = db.session()
    found: dict[int, Artwork] = {}
    platform = remote_id = None
    for adapter in platforms.all_adapters():
        try:
            rid = adapter.parse_url(url)
        except Exception:
            rid = None
        if not rid:
            continue
        platform, remote_id = adapter.id, rid
        strict_host = _host_agnostic(adapter, url, rid)
        copies = session.scalars(
            select(Copy).where(Copy.platform == adapter.id, Copy.remote_id == rid)
        ).all()
        for c in copies:
            if strict_host and _host(c.url) != _host(url):
                continue
            found.setdefault(c.artwork_id, c.artwork)
    if not found:  # URLs no adapter recognises: exact match on the stored URL
        stripped = url.strip().split("#", 1)[0]
        for c in session.scalars(select(Copy).where(Copy.url.in_({stripped, url.strip()}))):
            found.setdefault(c.artwork_id, c.artwork)
    visible = [a for a in found.values() if a.published_at is not None]
    return AttributionOut(
        url=url, platform=platform, remote_id=remote_id, works=[_work(a) for a in visible]
    )


def _known_magic(data: bytes) -> bool:
    return data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")) or (
        data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    )


def _read_upload() -> np.ndarray:
    upload = request.files.get("image")
    if upload is None:
        raise ApiError(400, "invalid", "send the image as a multipart field named 'image'", "image")
    limit = current_app.config["REGISTRY_MATCH_MAX_BYTES"]
    data = upload.stream.read(limit + 1)
    if not data:
        raise ApiError(400, "empty", "the upload is empty", "image")
    if len(data) > limit:
        raise ApiError(413, "too_large", f"the image is larger than {limit} bytes", "image")
    max_pixels = current_app.config["REGISTRY_MATCH_MAX_PIXELS"]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
                if image.width * image.height > max_pixels:
                    raise ApiError(
                        413,
                        "too_many_pixels",
                        f"the image is {image.width}×{image.height}; "
                        f"at most {max_pixels} pixels are accepted",
                        "image",
                    )
                image.load()
                rgba = np.asarray(image.convert("RGBA"), dtype=np.uint8)
    except ApiError:
        raise
    except UnidentifiedImageError:
        if _known_magic(data):  # it says it is one of ours, but it does not decode
            raise ApiError(
                422, "corrupt_image", "the image is damaged and cannot be decoded", "image"
            ) from None
        raise ApiError(
            415, "unsupported_format", "not a PNG, JPEG, GIF or WEBP image", "image"
        ) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ApiError(413, "too_many_pixels", "the image has too many pixels", "image") from None
    except Exception:
        raise ApiError(
            422,
            "corrupt_image",
            "the image is damaged or incomplete and cannot be decoded",
            "image",
        ) from None
    return rgba


@endpoint(
    bp,
    "/match",
    "POST",
    summary="Which public works an image is a copy of (multipart 'image'); nothing is stored",
    auth=False,
    body=None,
    response=MatchOut,
)
@rate_limited("match")
def match_image() -> MatchOut:
    rgba = _read_upload()
    session = db.session()
    result = service.match(session, current_app._get_current_object(), rgba)  # type: ignore[attr-defined]
    session.commit()  # pending registrations fingerprinted on the way
    return MatchOut(
        low_information=result["low_information"],
        candidates=[
            MatchCandidate(
                score=c.score,
                distance=c.distance,
                colour_distance=c.colour_distance,
                work=_work(a),
            )
            for a, c in result["candidates"]
        ],
    )


BUCKET = re.compile(r"[0-9a-f]{4}")


@endpoint(
    bp,
    "/lookup",
    "GET",
    summary="Privacy-preserving lookup: every registered fingerprint in a 16-bit bucket "
    "(?bucket=4 hex digits) and its mirror bucket; the client matches locally",
    auth=False,
    response=LookupOut,
)
@rate_limited("read")
def lookup() -> Any:
    key = request.args.get("bucket", "")
    if not BUCKET.fullmatch(key):
        raise ApiError(400, "invalid", "bucket: 4 lowercase hex digits", "bucket")
    session = db.session()
    entries = service.lookup_bucket(session, current_app._get_current_object(), int(key, 16))  # type: ignore[attr-defined]
    session.commit()
    response = jsonify(LookupOut(bucket=key, entries=entries).model_dump(mode="json"))
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response
