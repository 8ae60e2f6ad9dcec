"""Sessions and CSRF for the web app.

The session cookie is signed with its own key (``FLASK_SECRET``, or a key file made on first
run with mode 0600), never with ``SECRET_KEY``: in Creditline that setting holds the Fernet keys
that seal platform credentials, and a cookie signer is no place for them. The cookie is
HttpOnly, SameSite=Lax, and Secure whenever the request came over https.

CSRF: a synchronizer token per session, compared in constant time. Every unsafe request to
a protected blueprint must carry it as the ``csrf_token`` form field or the ``X-CSRF-Token``
header. The bearer-token JSON API is not protected this way (a browser never attaches a bearer
token by itself), so the token is checked per blueprint, not app-wide.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
from pathlib import Path

from flask import Blueprint, Flask, abort, request, session
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

log = logging.getLogger(__name__)

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
_SESSION_KEY = "_csrf"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def load_secret(config: dict) -> str:
    """``FLASK_SECRET`` if set, else the key file (created once, mode 0600)."""
    if config.get("FLASK_SECRET"):
        return str(config["FLASK_SECRET"])
    path = Path(config["FLASK_SECRET_FILE"])
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return _read_key(path)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    log.info("created the session key file %s", path)
    return key


def _read_key(path: Path) -> str:
    key = path.read_text().strip()
    if len(key) < 32:
        raise RuntimeError(f"{path} holds no usable session key (32 characters or more)")
    return key


class WebSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, keyed by ``FLASK_SECRET`` and Secure over https."""

    salt = "creditline-web-session"

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        key = app.extensions.get("creditline.web_secret")
        if not key:
            return None
        return URLSafeTimedSerializer(
            key,
            salt=self.salt,
            serializer=self.serializer,
            signer_kwargs={
                "key_derivation": self.key_derivation,
                "digest_method": self.digest_method,
            },
        )

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def init_sessions(app: Flask) -> None:
    app.extensions["creditline.web_secret"] = load_secret(app.config)
    app.session_interface = WebSessionInterface()
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if not app.config.get("SESSION_COOKIE_SAMESITE"):
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if app.config.get("SESSION_COOKIE_NAME") == "session":
        app.config["SESSION_COOKIE_NAME"] = "creditline_session"


def csrf_token() -> str:
    """This session's token (made on first use); put it in every form."""
    token = session.get(_SESSION_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        session[_SESSION_KEY] = token
    return token


def csrf_valid() -> bool:
    expected = session.get(_SESSION_KEY)
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD)
    return bool(expected and sent) and hmac.compare_digest(str(expected), str(sent))


def protect(bp: Blueprint) -> None:
    """Refuse every unsafe request to ``bp`` without this session's CSRF token (400)."""

    @bp.before_request
    def _check_csrf() -> None:
        if request.method in UNSAFE_METHODS and not csrf_valid():
            abort(400, description="csrf")


def rotate_csrf() -> None:
    """A new token, e.g. when someone signs in (a token seen before sign-in is not reused)."""
    session.pop(_SESSION_KEY, None)
