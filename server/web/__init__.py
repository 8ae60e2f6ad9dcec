"""The artist's web app: server-rendered pages under ``/app`` (sign-in, people, accounts,
compose with a live preview per platform, deliveries, artworks).

Pages work without JavaScript; ``static/js/compose.js`` only adds the live preview and
``@[person]`` suggestions. Every form carries a CSRF token (``security.protect``); every query is
scoped to the signed-in user, and anything else is a 404.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, g, redirect, request, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from adapters import registry
from adapters.errors import UnknownPlatform
from server.web import security
from server.web.common import bp, has_users, local, render, signed_in_user, zone_of

# Pages anyone may open: signing in, and creating the first user while there is none.
PUBLIC_ENDPOINTS = frozenset({"web.login", "web.setup"})

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)

MESSAGES = {
    400: ("Bad request", "The request could not be understood."),
    401: ("Signed out", "Sign in to continue."),
    403: ("Not allowed", "You cannot do that."),
    404: ("Not found", "There is nothing here, or it belongs to someone else."),
    405: ("Not allowed", "That page does not take this kind of request."),
    413: ("Too large", "The upload is larger than this server accepts."),
}


security.protect(bp)


@bp.before_request
def _require_sign_in() -> Response | None:
    g.web_user = signed_in_user()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not has_users():
        return redirect(url_for("web.setup"))
    if g.web_user is None:
        if request.method == "GET":
            return redirect(url_for("web.login", next=request.full_path.rstrip("?")))
        return redirect(url_for("web.login"))
    return None


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"  # pages show private data
    return response


@bp.errorhandler(HTTPException)
def _error_page(exc: HTTPException) -> Any:
    code = exc.code or 500
    title, message = MESSAGES.get(code, ("Error", exc.description or "Something went wrong."))
    if code == 400 and exc.description == "csrf":
        title = "Form expired"
        message = (
            "This form was not sent from a page of this site, or your session changed. "
            "Go back, reload the page and try again."
        )
    response = render("web/error.html", code, title=title, message=message)
    return response


@bp.app_template_global("localtime")
def _localtime(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    zone = zone_of(g.get("web_user"))
    return local(value, zone).strftime(fmt) + " " + (local(value, zone).tzname() or "")


@bp.app_template_filter("platform_name")
def _platform_name(platform: str) -> str:
    try:
        return registry.get(platform).name
    except UnknownPlatform:
        return platform


@bp.app_context_processor
def _context() -> dict[str, Any]:
    return {"web_user": g.get("web_user")}


def _root() -> Response:
    return redirect(url_for("web.home"))


def init_app(app: Flask) -> None:
    # The views register themselves on ``bp`` when imported.
    from server.web import (  # noqa: F401
        accounts,
        artworks,
        auth_views,
        compose,
        deliveries,
        imports,
        people,
    )

    security.init_sessions(app)
    # A global (not a context variable) so that imported macros can call it too.
    app.jinja_env.globals["csrf_token"] = security.csrf_token
    app.register_blueprint(bp)
    if not any(rule.rule == "/" for rule in app.url_map.iter_rules()):
        app.add_url_rule("/", "web_root", _root)
