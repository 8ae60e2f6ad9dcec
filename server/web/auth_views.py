"""Signing in and out, the first-run page, and the artist's own settings."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import flash, redirect, request, session, url_for
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from server import auth, db
from server.models import User
from server.web.common import (
    bp,
    current_user,
    has_nul,
    has_users,
    render,
    sign_in,
    timezones,
    valid_timezone,
)

MIN_PASSWORD = 8
MAX_PASSWORD = 1024
# Checked against when the user name is unknown, so both failures take the same time.
_DUMMY_HASH = generate_password_hash("not a password of anyone")


def _safe_next(target: str | None) -> str:
    """Only a path inside the web app: never another host (no open redirect)."""
    if target and target.startswith("/app") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and "\\" not in target:
            return target
    return url_for("web.home")


def _password_problem(password: str, confirm: str) -> str | None:
    if len(password) < MIN_PASSWORD:
        return f"use at least {MIN_PASSWORD} characters"
    if len(password) > MAX_PASSWORD:
        return f"use at most {MAX_PASSWORD} characters"
    if password != confirm:
        return "the two passwords differ"
    return None


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if not has_users():
        return redirect(url_for("web.setup"))
    next_url = request.values.get("next", "")
    if request.method == "GET":
        return render("web/login.html", next=next_url, username="")
    username = request.form.get("username", "")
    password = request.form.get("password", "")
    user = None
    if not has_nul(username, password) and len(password) <= MAX_PASSWORD:
        user = db.session().scalar(select(User).where(User.username == username[:64]))
    if user is None:
        check_password_hash(_DUMMY_HASH, password[:MAX_PASSWORD])  # same time either way
    if user is None or not auth.check_password(user, password):
        return render(
            "web/login.html",
            401,
            next=next_url,
            username=username,
            error="Wrong user name or password.",
        )
    sign_in(user)
    return redirect(_safe_next(next_url))


@bp.post("/logout")
def logout() -> Any:
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("web.login"))


@bp.route("/setup", methods=["GET", "POST"])
def setup() -> Any:
    """Create the first user; once there is one, this page is gone."""
    if has_users():
        return redirect(url_for("web.login"))
    form = {"username": "", "timezone": "UTC"}
    if request.method == "GET":
        return render("web/setup.html", form=form, errors={}, zones=timezones())
    form = {k: request.form.get(k, "") for k in ("username", "timezone")}
    password, confirm = request.form.get("password", ""), request.form.get("confirm", "")
    errors: dict[str, str] = {}
    if has_nul(form["username"]) or not auth.USERNAME.fullmatch(form["username"]):
        errors["username"] = "1-64 letters, digits, '_', '.' or '-', not starting with '.' or '-'"
    if problem := _password_problem(password, confirm):
        errors["password"] = problem
    if not valid_timezone(form["timezone"]):
        errors["timezone"] = "choose a time zone from the list"
    if errors:
        return render("web/setup.html", 400, form=form, errors=errors, zones=timezones())
    session_ = db.session()
    user = auth.create_user(session_, form["username"], password)
    user.timezone = form["timezone"]
    session_.flush()
    if len(session_.scalars(select(User.id)).all()) > 1:  # someone else finished first
        session_.rollback()
        return redirect(url_for("web.login"))
    session_.commit()
    sign_in(user)
    flash(f"Welcome, {user.username}. Add the people you credit, then connect an account.")
    return redirect(url_for("web.people"))


@bp.route("/settings", methods=["GET", "POST"])
def settings() -> Any:
    user = current_user()
    errors: dict[str, str] = {}
    if request.method == "POST":
        action = request.form.get("action")
        session_ = db.session()
        if action == "timezone":
            zone = request.form.get("timezone", "")
            if valid_timezone(zone):
                user.timezone = zone
                session_.commit()
                flash(f"Times are now shown in {zone}.")
                return redirect(url_for("web.settings"))
            errors["timezone"] = "choose a time zone from the list"
        elif action == "password":
            current = request.form.get("current", "")
            new, confirm = request.form.get("password", ""), request.form.get("confirm", "")
            if not auth.check_password(user, current[:MAX_PASSWORD]):
                errors["current"] = "this is not your current password"
            elif problem := _password_problem(new, confirm):
                errors["password"] = problem
            else:
                user.password_hash = generate_password_hash(new)
                session_.commit()
                sign_in(user)  # other sessions of this user end with the old password
                flash("Password changed.")
                return redirect(url_for("web.settings"))
        else:
            errors["_form"] = "unknown action"
    status = 400 if errors else 200
    return render("web/settings.html", status, errors=errors, zones=timezones(), user=user)


@bp.get("/")
def home() -> Any:
    return redirect(url_for("web.deliveries"))
