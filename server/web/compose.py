"""Compose a new artwork, edit one, and the preview fragment the live preview fetches.

Without JavaScript: "Save draft & preview" keeps the artwork (images included, so nothing has
to be chosen twice) and shows the preview on its edit page; "Post" saves it and queues the
deliveries. With JavaScript, ``compose.js`` posts the form (without files) to ``/app/preview``
as the artist types and swaps in the returned HTML.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for

from adapters.draft import CONTENT_FLAGS
from server import artworks, db, deliveries, directory, uploads
from server.models import RATINGS, Artwork, utcnow
from server.web.common import bp, current_user, local, render, zone_of
from server.web.forms import ROLE_LABELS, ArtworkForm, build_preview, owned_accounts

ACTIONS = ("preview", "save", "post")


def _get(artwork_id: int) -> Artwork:
    artwork = artworks.find(db.session(), current_user(), artwork_id)
    if artwork is None:
        abort(404)
    return artwork


def form_context(form: ArtworkForm, artwork: Artwork | None, **extra: Any) -> dict[str, Any]:
    session = db.session()
    user = current_user()
    accounts = owned_accounts(session, user)
    return {
        "form": form,
        "artwork": artwork,
        "accounts": accounts,
        "people": directory.list_people(session, user),
        "roles": ROLE_LABELS,
        "ratings": RATINGS,
        "flags": CONTENT_FLAGS,
        "zone": zone_of(user).key,
        "now_local": local(utcnow(), zone_of(user)).strftime("%Y-%m-%dT%H:%M"),
        "max_images": current_app.config["MAX_IMAGES_PER_ARTWORK"],
        "errors": extra.pop("errors", {}),
        "preview": extra.pop("preview", None),
        "preview_problem": extra.pop("preview_problem", None),
        **extra,
    }


def _with_preview(form: ArtworkForm, artwork: Artwork | None) -> dict[str, Any]:
    session = db.session()
    items, problem = build_preview(
        session, current_user(), form, owned_accounts(session, current_user()), artwork
    )
    return {"preview": items, "preview_problem": problem}


def _queue(artwork: Artwork, form: ArtworkForm) -> tuple[bool, dict[str, str]]:
    """Create the deliveries the form asks for; (done, errors)."""
    user = current_user()
    if not form.accounts:
        return False, {"account": "choose at least one account to post to"}
    when, errors = form.schedule(user)
    if errors:
        return False, errors
    session = db.session()
    try:
        pairs = deliveries.create_for(
            session, user, artwork, form.accounts, when, current_app.config["PUBLIC_URL"]
        )
    except deliveries.CannotDeliver as exc:
        session.rollback()
        return False, {"account": exc.message}
    session.commit()
    created = sum(1 for _, new in pairs if new)
    if when is None:
        flash(f"Posting now to {created} account(s). Watch the progress here.")
    else:
        flash(f"Scheduled for {local(when, zone_of(user)):%Y-%m-%d %H:%M} ({zone_of(user).key}).")
    return True, {}


@bp.route("/compose", methods=["GET", "POST"])
def compose() -> Any:
    if request.method == "GET":
        form = ArtworkForm()
        return render("web/compose.html", **form_context(form, None, **_with_preview(form, None)))
    form = ArtworkForm.parse(request.form)
    action = request.form.get("action", "preview")
    if action not in ACTIONS:
        action = "preview"
    files = [f for f in request.files.getlist("images") if f and f.filename]
    data, errors = form.fields(len(files))
    if not files:
        errors["images"] = "choose at least one image"
    elif len(files) > current_app.config["MAX_IMAGES_PER_ARTWORK"]:
        errors["images"] = f"at most {current_app.config['MAX_IMAGES_PER_ARTWORK']} images"
    if action == "post":
        if not form.accounts:
            errors["account"] = "choose at least one account to post to"
        errors.update(form.schedule(current_user())[1])
    if errors or data is None:
        if files:
            errors.setdefault("images", "choose the image(s) again: a browser cannot keep them")
        context = form_context(form, None, errors=errors, **_with_preview(form, None))
        return render("web/compose.html", 400, **context)
    session = db.session()
    try:
        artwork = artworks.create(
            session,
            current_user(),
            data,
            [f.stream for f in files],
            uploads.store(),
            current_app.config["MAX_IMAGES_PER_ARTWORK"],
        )
    except artworks.ArtworkInvalid as exc:
        field = "images" if (exc.field or "").startswith("images") else (exc.field or "_form")
        context = form_context(form, None, errors={field: exc.message}, **_with_preview(form, None))
        return render("web/compose.html", 400, **context)
    if action != "post":
        flash("Draft saved. Check the preview, then post or schedule it.")
        return redirect(url_for("web.artwork_edit", artwork_id=artwork.id))
    done, errors = _queue(artwork, form)
    if not done:
        flash(
            "The artwork is saved as a draft, but not posted: " + "; ".join(errors.values()),
            "error",
        )
        return redirect(url_for("web.artwork_edit", artwork_id=artwork.id))
    return redirect(url_for("web.artwork", artwork_id=artwork.id))


@bp.route("/artworks/<int:artwork_id>/edit", methods=["GET", "POST"])
def artwork_edit(artwork_id: int) -> Any:
    artwork = _get(artwork_id)
    if request.method == "GET":
        form = ArtworkForm.of(artwork)
        context = form_context(form, artwork, **_with_preview(form, artwork))
        return render("web/compose.html", **context)
    form = ArtworkForm.parse(request.form)
    action = request.form.get("action", "preview")
    if action not in ACTIONS:
        action = "preview"
    data, errors = form.fields(len(artwork.images))
    if action == "post" and not form.accounts:
        errors["account"] = "choose at least one account to post to"
    if action == "post":
        errors.update(form.schedule(current_user())[1])
    if action == "preview" or errors or data is None:
        status = 400 if errors and action != "preview" else 200
        context = form_context(
            form,
            artwork,
            errors=errors if action != "preview" else {},
            **_with_preview(form, artwork),
        )
        return render("web/compose.html", status, **context)
    session = db.session()
    try:
        artworks.apply(session, current_user(), artwork, data)
    except artworks.ArtworkInvalid as exc:
        session.rollback()
        artwork = _get(artwork_id)
        context = form_context(
            form,
            artwork,
            errors={exc.field or "_form": exc.message},
            **_with_preview(form, artwork),
        )
        return render("web/compose.html", 400, **context)
    session.commit()
    if action == "save":
        flash("Saved.")
        return redirect(url_for("web.artwork_edit", artwork_id=artwork.id))
    done, errors = _queue(artwork, form)
    if not done:
        context = form_context(form, artwork, errors=errors, **_with_preview(form, artwork))
        return render("web/compose.html", 422, **context)
    return redirect(url_for("web.artwork", artwork_id=artwork.id))


@bp.post("/preview")
def preview_fragment() -> Any:
    """The preview panel as HTML, for the live preview (same template as the full page)."""
    artwork = None
    raw_id = request.form.get("artwork_id", "")
    if raw_id:
        if not raw_id.isdigit() or len(raw_id) > 9:
            abort(404)
        artwork = _get(int(raw_id))
    form = ArtworkForm.parse(request.form)
    context = _with_preview(form, artwork)
    return render_template("web/_preview.html", **context)
