"""``POST /api/v1/preview``: exactly what each platform would receive, without posting."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, request
from pydantic import RootModel

from adapters.draft import PreviewRequest
from server import db, previews
from server.api.spec import endpoint, load_json
from server.errors import ApiError

bp = Blueprint("preview", __name__, url_prefix="/api/v1/preview")


class PreviewResponse(RootModel[dict[str, dict[str, Any]]]):
    """Platform id → that platform's rendered post (``ok``, ``text``, ``length``, …)."""


@endpoint(
    bp,
    "",
    "POST",
    summary="Render a draft for each platform (stateless; with a token, "
    "`people` may be left out to use your directory)",
    body=PreviewRequest,
    response=PreviewResponse,
    auth=None,
    parse_body=False,
)
def preview() -> Any:
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "send the draft as application/json")
    payload = load_json(request.get_data() or b"null")
    user = g.get("user")
    return previews.preview(payload, db.session() if user else None, user)
