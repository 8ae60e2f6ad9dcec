"""Public HTML pages: the canonical attribution page and "Who made this?"."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template, request

from server import db, uploads
from server.api.registry import _read_upload, rate_limited
from server.errors import ApiError
from server.registry import service, works

pages = Blueprint("registry_pages", __name__)


@pages.get("/a/<public_id>")
@rate_limited("read")
def canonical(public_id: str):  # type: ignore[no-untyped-def]
    session = db.session()
    artwork = works.find_public(session, public_id)
    if artwork is None:
        abort(404)
    doc = works.document(session, artwork, current_app.config["PUBLIC_URL"])
    return render_template(
        "registry/work.html", doc=doc, jsonld=works.script_json(works.json_ld(doc))
    )


@pages.get("/a/<public_id>/images/<int:position>")
@rate_limited("read")
def image(public_id: str, position: int):  # type: ignore[no-untyped-def]
    artwork = works.find_public(db.session(), public_id)
    found = artwork and next((i for i in artwork.images if i.position == position), None)
    if not found:
        abort(404)
    response = Response(uploads.store().read(found.sha256), mimetype=found.media_type)
    response.set_etag(found.sha256)
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response.make_conditional(request)


@pages.route("/who-made-this", methods=["GET", "POST"])
def who_made_this():  # type: ignore[no-untyped-def]
    if request.method == "GET":
        return render_template("registry/who.html", result=None, error=None)
    return _who_post()


@rate_limited("match")
def _who_post():  # type: ignore[no-untyped-def]
    session = db.session()
    try:
        rgba = _read_upload()
    except ApiError as exc:
        return render_template("registry/who.html", result=None, error=exc.message), exc.status
    result = service.match(session, current_app._get_current_object(), rgba)  # type: ignore[attr-defined]
    session.commit()
    public_url = current_app.config["PUBLIC_URL"]
    candidates = [(works.document(session, a, public_url), c) for a, c in result["candidates"]]
    return render_template(
        "registry/who.html",
        result={"low_information": result["low_information"], "candidates": candidates},
        error=None,
    )
