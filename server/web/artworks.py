"""The artwork page: its images, the link to its canonical attribution page, credit editing,
its deliveries (each target's status, with retry, cancel and reschedule), where its copies
are and whether each shows the current credits, and the two sync opt-ins."""

from __future__ import annotations

from typing import Any

import pydantic
from flask import Response, abort, flash, redirect, request, url_for

from server import artworks, db, directory, sync, uploads
from server.schemas import ArtworkFields
from server.web.common import bp, current_user, errors_of, render
from server.web.compose import _queue
from server.web.deliveries import describe
from server.web.forms import ROLE_LABELS, ArtworkForm, owned_accounts


def _get(artwork_id: int) -> artworks.Artwork:
    artwork = artworks.find(db.session(), current_user(), artwork_id)
    if artwork is None:
        abort(404)
    return artwork


def _page(artwork: artworks.Artwork, form: ArtworkForm, errors: dict[str, str], status: int = 200):
    session = db.session()
    user = current_user()
    from server.web.compose import form_context

    context = form_context(form, artwork, errors=errors)
    context.update(
        deliveries=[describe(d, user) for d in artwork.deliveries],
        copies=sync.copy_states(artwork),
        people=directory.list_people(session, user),
        accounts=owned_accounts(session, user),
        canonical=canonical_path(artwork.public_id),
    )
    context["copy_states"] = COPY_STATES
    return render("web/artwork.html", status, **context)


@bp.get("/artworks")
def artworks_list() -> Any:
    return redirect(url_for("web.deliveries"))


@bp.get("/artworks/<int:artwork_id>")
def artwork(artwork_id: int) -> Any:
    art = _get(artwork_id)
    return _page(art, ArtworkForm.of(art), {})


@bp.post("/artworks/<int:artwork_id>/credits")
def artwork_credits(artwork_id: int) -> Any:
    art = _get(artwork_id)
    posted = ArtworkForm.parse(request.form)
    form = ArtworkForm.of(art)
    form.credits = posted.credits
    rows = form.filled_credits()
    errors: dict[str, str] = {}
    for i, credit in rows:
        if credit["role"] not in ROLE_LABELS:
            errors[f"credit_role_{i}"] = "choose a role"
    data = None
    if not errors:
        try:
            data = ArtworkFields.model_validate(
                {
                    "credits": [
                        {
                            "role": c["role"],
                            "person": c["person"],
                            **({"character": c["character"]} if c["character"] else {}),
                        }
                        for _, c in rows
                    ]
                }
            )
        except pydantic.ValidationError as exc:
            for path, message in errors_of(exc).items():
                parts = path.split(".")
                if parts[0] == "credits" and len(parts) > 2 and parts[1].isdigit():
                    row = rows[int(parts[1])][0] if int(parts[1]) < len(rows) else 0
                    errors.setdefault(f"credit_{parts[2]}_{row}", message)
                else:
                    errors.setdefault("_form", message)
    session = db.session()
    if data is not None:
        try:
            artworks.apply(session, current_user(), art, data)
        except artworks.ArtworkInvalid as exc:
            session.rollback()
            art = _get(artwork_id)
            parts = (exc.field or "").split(".")
            if len(parts) > 2 and parts[1].isdigit() and int(parts[1]) < len(rows):
                errors[f"credit_{parts[2]}_{rows[int(parts[1])][0]}"] = exc.message
            else:
                errors["_form"] = exc.message
    if errors:
        return _page(art, form, errors, 400)
    session.commit()
    flash("Credits saved. Posts already made keep their text until attribution sync updates them.")
    return redirect(url_for("web.artwork", artwork_id=art.id))


COPY_STATES = {
    "synced": "Shows the current credits.",
    "updating": "An edit with the current credits is on its way.",
    "stale": "Shows older credits: this site cannot edit posts. The canonical page and the "
    "extension show the current ones.",
    "failed": "Updating this copy needs you: see its delivery above.",
    "reposting": "Being replaced: the new post goes up first, then this one is deleted.",
    "replaced": "Deleted after its new post went up; its address still leads to this work.",
}


@bp.post("/artworks/<int:artwork_id>/sync")
def artwork_sync(artwork_id: int) -> Any:
    """The two opt-ins; a checkbox left unticked is not sent, so both are always set here."""
    art = _get(artwork_id)
    data = ArtworkFields(
        repost_stale=request.form.get("repost_stale") == "on",
        also_on_links=request.form.get("also_on_links") == "on",
    )
    session = db.session()
    artworks.apply(session, current_user(), art, data)
    session.commit()
    flash("Sync settings saved.")
    return redirect(url_for("web.artwork", artwork_id=art.id))


@bp.post("/artworks/<int:artwork_id>/deliveries")
def artwork_deliver(artwork_id: int) -> Any:
    art = _get(artwork_id)
    posted = ArtworkForm.parse(request.form)
    form = ArtworkForm.of(art)
    form.accounts, form.when, form.scheduled_at = posted.accounts, posted.when, posted.scheduled_at
    done, errors = _queue(art, form)
    if not done:
        return _page(art, form, errors, 422 if "account" in errors else 400)
    return redirect(url_for("web.artwork", artwork_id=art.id))


@bp.post("/artworks/<int:artwork_id>/delete")
def artwork_delete(artwork_id: int) -> Any:
    art = _get(artwork_id)
    title = art.title
    artworks.delete(db.session(), uploads.store(), art)
    flash(f"Deleted {title!r}. Copies already posted stay where they are.")
    return redirect(url_for("web.deliveries"))


@bp.get("/artworks/<int:artwork_id>/images/<int:position>")
def artwork_image(artwork_id: int, position: int) -> Any:
    art = _get(artwork_id)
    image = next((i for i in art.images if i.position == position), None)
    if image is None:
        abort(404)
    try:
        data = uploads.store().read(image.sha256)
    except FileNotFoundError:
        abort(404)
    response = Response(data, mimetype=image.media_type)
    response.set_etag(image.sha256)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response.make_conditional(request)


def canonical_path(public_id: str) -> str:
    """The canonical attribution page (served by the registry) on this host."""
    return f"{request.script_root}/a/{public_id}"
