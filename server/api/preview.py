"""``POST /api/v1/preview``: exactly what each platform would receive, without posting."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, g, request
from pydantic import RootModel

from adapters.draft import PreviewRequest
from server import db, previews
from server.api.spec import endpoint
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
    try:
        payload = json.loads(request.get_data() or b"null")
    except ValueError as exc:
        raise ApiError(400, "malformed_json", f"the body is not valid JSON: {exc}") from exc
    user = g.get("user")
    return previews.preview(payload, db.session() if user else None, user)
