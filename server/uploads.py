"""The app's media store: uploaded images, content-addressed on disk."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app

from server.media import MediaStore


def init_app(app: Flask) -> None:
    app.extensions["creditline.media"] = MediaStore(
        Path(app.config["MEDIA_DIR"]),
        max_bytes=app.config["MAX_IMAGE_BYTES"],
        max_pixels=app.config["MAX_IMAGE_PIXELS"],
    )


def store() -> MediaStore:
    return store_for(current_app)


def store_for(app: Flask) -> MediaStore:
    return app.extensions["creditline.media"]
