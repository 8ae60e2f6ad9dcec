"""The application factory: configuration, then one ``init_app()`` per subsystem."""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from server import config as config_module

log = logging.getLogger(__name__)


class IdConverter(IntegerConverter):
    """``<int:…>`` in URLs, capped at the largest id either database can hold: a bigger number
    is a 404 like any other unknown id, not an overflow inside the database driver."""

    MAX_ID = 2**31 - 1

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if number > self.MAX_ID:
            # NotFound, not ValidationError: werkzeug would answer 405 for other methods' rules.
            raise NotFound(f"no object has id {value}")
        return number


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build a Creditline app; nothing is started (no worker, no scheduler) until asked to.

    ``config`` overrides defaults and environment; tests pass their database and instance paths
    here.
    """
    instance_path = (config or {}).get("INSTANCE_PATH") or os.environ.get(
        "CREDITLINE_INSTANCE_PATH"
    )
    app = Flask(
        __name__,
        instance_path=os.path.abspath(instance_path) if instance_path else None,
        instance_relative_config=True,
    )
    app.config.from_mapping(config_module.DEFAULTS)
    app.config.from_mapping(config_module.from_environment())
    if config:
        app.config.from_mapping(config)
    config_module.resolve_paths(app.config, app.instance_path)
    app.url_map.converters["int"] = IdConverter
    app.json.sort_keys = False  # keep documents in their natural order (platforms as asked)
    os.makedirs(app.instance_path, exist_ok=True)
    # Flask refuses bodies beyond this before any view reads them; leave room for form fields.
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        per_request = app.config["MAX_IMAGE_BYTES"] * app.config["MAX_IMAGES_PER_ARTWORK"]
        app.config["MAX_CONTENT_LENGTH"] = per_request + 1024 * 1024

    from server import api, db, errors, health, registry, uploads, vault, web

    db.init_app(app)
    vault.init_app(app)
    uploads.init_app(app)
    errors.init_app(app)
    health.init_app(app)
    api.init_app(app)
    web.init_app(app)  # the artist's web pages under /app (own session key: FLASK_SECRET)
    registry.init_app(app)  # the attribution registry: /a/<id>, /api/v1/works, match, lookup
    return app
