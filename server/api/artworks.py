"""Artworks over HTTP: multipart upload (a JSON ``artwork`` field plus ``images`` files) or
plain JSON for a draft without images yet."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from server import artworks, db, deliveries, sync, uploads
from server.api.deliveries import to_out as delivery_out
from server.api.spec import endpoint, load_json, parse_json_body, validate
from server.auth import current_user
from server.errors import ApiError, not_found
from server.models import Artwork, Copy, CreditProposal
from server.schemas import (
    ArtworkCreate,
    ArtworkList,
    ArtworkOut,
    ArtworkUpdate,
    CopyList,
    CopyOut,
    CreditProposalList,
    CreditProposalOut,
    DeliveryCreate,
    DeliveryCreated,
    DeliveryList,
    ProposalAccept,
)

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
        body = validate(ArtworkCreate, load_json(raw, "artwork"))
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


@endpoint(
    bp,
    "/<int:artwork_id>/deliveries",
    "POST",
    summary="Post this artwork to accounts, "
    "now or at scheduled_at; asking twice returns the existing deliveries",
    body=DeliveryCreate,
    response=DeliveryCreated,
    status=201,
)
def create_deliveries(artwork_id: int, body: DeliveryCreate) -> DeliveryCreated:
    session = db.session()
    artwork = _get(artwork_id)
    try:
        pairs = deliveries.create_for(
            session,
            current_user(),
            artwork,
            body.accounts,
            body.scheduled_at,
            current_app.config["PUBLIC_URL"],
        )
    except deliveries.CannotDeliver as exc:
        raise ApiError(exc.status, exc.code, exc.message, exc.field) from exc
    session.commit()
    return DeliveryCreated(
        items=[delivery_out(d) for d, _ in pairs], created=[d.id for d, new in pairs if new]
    )


@endpoint(
    bp,
    "/<int:artwork_id>/copies",
    "GET",
    summary="Where this artwork lives, and whether each copy shows its current credits",
    response=CopyList,
)
def artwork_copies(artwork_id: int) -> CopyList:
    artwork = _get(artwork_id)
    return CopyList(
        revision=artwork.revision,
        items=[
            CopyOut(
                url=state.copy.url,
                platform=state.copy.platform,
                source=state.copy.source,
                remote_id=state.copy.remote_id,
                synced_revision=state.copy.synced_revision,
                state=state.state,
            )
            for state in sync.copy_states(artwork)
        ],
    )


# -- credits proposed by an import (issue 11) --------------------------------------------------


def _proposal_out(proposal: CreditProposal) -> CreditProposalOut:
    copy = db.session().get(Copy, proposal.copy_id) if proposal.copy_id else None
    return CreditProposalOut(
        id=proposal.id,
        platform=proposal.platform,
        handle=proposal.handle,
        found=proposal.found,
        role=proposal.role,
        person=proposal.person.key if proposal.person else None,
        state=proposal.state,
        source_url=copy.url if copy else None,
        created_at=proposal.created_at,
    )


@endpoint(
    bp,
    "/<int:artwork_id>/proposals",
    "GET",
    summary="Credits an import found in this artwork's posts, for you to accept",
    response=CreditProposalList,
)
def artwork_proposals(artwork_id: int) -> CreditProposalList:
    from server import importer

    artwork = _get(artwork_id)
    return CreditProposalList(
        items=[_proposal_out(p) for p in importer.proposals(db.session(), artwork)]
    )


@endpoint(
    bp,
    "/<int:artwork_id>/proposals/accept",
    "POST",
    summary="Accept a proposed credit: it becomes a credit of the artwork (the person is "
    "created from the proposal when your directory has nobody with that handle)",
    body=ProposalAccept,
    response=ArtworkOut,
    parse_body=False,
)
def accept_proposal(artwork_id: int) -> ArtworkOut:
    from server import importer

    session = db.session()
    artwork = _get(artwork_id)  # ownership first: another user's artwork is a 404
    body = parse_json_body(ProposalAccept)
    try:
        importer.accept(
            session,
            current_user(),
            artwork,
            body.proposal,
            role=body.role,
            person_key=body.person,
            character=body.character,
            new_key=body.key,
            new_name=body.name,
        )
    except importer.ProposalInvalid as exc:
        session.rollback()
        code = "not_found" if exc.status == 404 else "invalid"
        raise ApiError(exc.status, code, exc.message, exc.field) from exc
    session.commit()
    return _out(artwork)
