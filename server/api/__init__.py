"""The artist HTTP API under ``/api/v1`` and its OpenAPI document."""

from __future__ import annotations

from flask import Blueprint, Flask, jsonify

from server.api import accounts, artworks, deliveries, imports, people, preview
from server.api.spec import openapi_document

docs = Blueprint("openapi", __name__)


@docs.get("/api/openapi.json")
def openapi():  # type: ignore[no-untyped-def]
    return jsonify(openapi_document("Creditline API", "1"))


def init_app(app: Flask) -> None:
    for module in (people, accounts, imports, artworks, deliveries, preview):
        app.register_blueprint(module.bp)
    app.register_blueprint(docs)
