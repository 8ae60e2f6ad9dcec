"""One JSON error shape for the whole API: ``{"error": {"code", "message", "field"}}``.

Clients (the web app, the extension, curl users) can always show ``message`` and highlight
``field``; nothing internal (stack traces, SQL, secrets) ever reaches them.
"""

from __future__ import annotations

import logging
from typing import Any

import pydantic
from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from adapters.errors import DraftError

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error the client caused or should know about, with its HTTP status."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


def validation_error(exc: pydantic.ValidationError, prefix: str = "") -> ApiError:
    """The first problem pydantic found, with its dotted field path."""
    first = exc.errors(include_url=False)[0]
    field = ".".join(str(part) for part in first["loc"]) or None
    if prefix:
        field = f"{prefix}.{field}" if field else prefix
    message = first["msg"]
    if field:
        message = f"{field}: {message}"
    return ApiError(400, "invalid", message, field)


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):  # type: ignore[no-untyped-def]
        return jsonify(error_body(exc.code, exc.message, exc.field)), exc.status

    @app.errorhandler(DraftError)
    def _draft_error(exc: DraftError):  # type: ignore[no-untyped-def]
        return jsonify(error_body(exc.code, exc.message, exc.field)), 400

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        code = (exc.name or "error").lower().replace(" ", "_")
        if exc.code == 413:
            message = f"request body too large (limit {app.config['MAX_CONTENT_LENGTH']} bytes)"
        else:
            message = exc.description or exc.name
        response = jsonify(error_body(code, message))
        response.status_code = exc.code or 500
        if exc.code == 405 and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        log.exception("unhandled error on %s %s", request.method, request.path)
        return jsonify(error_body("internal", "internal server error")), 500
