"""Artworks over HTTP: multipart upload (a JSON ``artwork`` field plus ``images`` files) or
plain JSON for a draft without images yet."""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, request

from server import artworks, db, uploads
from server.api.deliveries import to_out as delivery_out
from server.api.spec import endpoint, parse_json_body, validate
from server.auth import current_user
from server.errors import ApiError, not_found
from server.models import Artwork
from server.schemas import ArtworkCreate, ArtworkList, ArtworkOut, ArtworkUpdate, DeliveryList

bp = Blueprint("artworks", __name__, url_prefix="/api/v1/artworks")

IMAGE_URL = "/api/v1/artworks/{id}/images/{position}"


def _get(artwork_id: int) -> Artwork:
    artwork = artworks.find(db.session(), current_user(), artwork_id)
    if artwork is None:
        raise not_found(f"artwork {artwork_id}")
    return artwork


def _out(artwork: Artwork) -> ArtworkOut:
    return artworks.to_out(artwork, IMAGE_URL)


def _as_api_error(exc: artworks.ArtworkInvalid) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message, exc.field)


def _create_body() -> tuple[ArtworkCreate, list]:
    if request.mimetype == "multipart/form-data":
        raw = request.form.get("artwork")
        if raw is None:
            raise ApiError(
                400, "invalid", "multipart body needs an 'artwork' JSON field", "artwork"
            )
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise ApiError(
                400, "malformed_json", f"'artwork' is not valid JSON: {exc}", "artwork"
            ) from exc
        body = validate(ArtworkCreate, data)
        return body, [f.stream for f in request.files.getlist("images")]
    return parse_json_body(ArtworkCreate), []


@endpoint(bp, "", "GET", summary="List your artworks, newest first", response=ArtworkList)
def list_artworks() -> ArtworkList:
    return ArtworkList(
        items=[_out(a) for a in artworks.list_artworks(db.session(), current_user())]
    )


@endpoint(
    bp,
    "",
    "POST",
    summary="Create an artwork with its images",
    body=ArtworkCreate,
    response=ArtworkOut,
    status=201,
    multipart=True,
)
def create_artwork() -> ArtworkOut:
    body, files = _create_body()
    session = db.session()
    try:
        artwork = artworks.create(
            session,
            current_user(),
            body,
            files,
            uploads.store(),
            current_app.config["MAX_IMAGES_PER_ARTWORK"],
        )
    except artworks.ArtworkInvalid as exc:
        raise _as_api_error(exc) from exc
    session.commit()
    return _out(artwork)


@endpoint(bp, "/<int:artwork_id>", "GET", summary="Show an artwork", response=ArtworkOut)
def get_artwork(artwork_id: int) -> ArtworkOut:
    return _out(_get(artwork_id))


@endpoint(
    bp,
    "/<int:artwork_id>",
    "PATCH",
    summary="Change an artwork's text, rating, tags, credits or alt text",
    body=ArtworkUpdate,
    response=ArtworkOut,
)
def update_artwork(artwork_id: int, body: ArtworkUpdate) -> ArtworkOut:
    session = db.session()
    artwork = _get(artwork_id)
    try:
        artworks.apply(session, current_user(), artwork, body)
    except artworks.ArtworkInvalid as exc:
        session.rollback()
        raise _as_api_error(exc) from exc
    session.commit()
    return _out(artwork)


@endpoint(bp, "/<int:artwork_id>", "DELETE", summary="Delete an artwork (not its posted copies)")
def delete_artwork(artwork_id: int) -> None:
    artworks.delete(db.session(), uploads.store(), _get(artwork_id))


@endpoint(
    bp, "/<int:artwork_id>/images/<int:position>", "GET", summary="The image file at this position"
)
def get_image(artwork_id: int, position: int):  # type: ignore[no-untyped-def]
    artwork = _get(artwork_id)
    image = next((i for i in artwork.images if i.position == position), None)
    if image is None:
        raise not_found(f"image {position} of artwork {artwork_id}")
    response = Response(uploads.store().read(image.sha256), mimetype=image.media_type)
    response.set_etag(image.sha256)
    response.cache_control.private = True
    response.cache_control.max_age = 3600
    return response.make_conditional(request)


@endpoint(
    bp,
    "/<int:artwork_id>/deliveries",
    "GET",
    summary="This artwork's deliveries",
    response=DeliveryList,
)
def artwork_deliveries(artwork_id: int) -> DeliveryList:
    return DeliveryList(items=[delivery_out(d) for d in _get(artwork_id).deliveries])
