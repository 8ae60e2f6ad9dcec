"""The app's credential box: where account credentials are sealed and opened."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app

from server.crypto import CredentialBox


def init_app(app: Flask) -> None:
    app.extensions["creditline.vault"] = CredentialBox.load(
        app.config.get("SECRET_KEY"), Path(app.config["SECRET_KEY_FILE"])
    )


def box() -> CredentialBox:
    return box_for(current_app)


def box_for(app: Flask) -> CredentialBox:
    return app.extensions["creditline.vault"]
