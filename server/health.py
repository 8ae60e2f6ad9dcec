"""Liveness for operators and load balancers: the app answers and its database does too."""

from __future__ import annotations

from flask import Blueprint, Flask, jsonify
from sqlalchemy import text

from server import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    try:
        db.session().execute(text("SELECT 1"))
    except Exception as exc:  # any database failure means "not healthy", never a 500 page
        return jsonify({"status": "error", "database": type(exc).__name__}), 503
    return jsonify({"status": "ok", "database": db.engine().dialect.name})


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
