"""First run, signing in and out, the session cookie, the session key, settings."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from server import create_app, db
from server.web import security
from tests.web.conftest import PASSWORD, Browser, make_user


def test_first_run_creates_the_first_user_then_disappears(app, anon):
    assert anon.get("/app/people").headers["Location"].endswith("/app/setup")
    assert anon.get("/app/login").headers["Location"].endswith("/app/setup")
    page = anon.get("/app/setup")
    assert page.status_code == 200 and b"Create my user" in page.data
    response = anon.post(
        "/app/setup",
        {
            "username": "tanraak",
            "password": "long enough",
            "confirm": "long enough",
            "timezone": "Europe/Berlin",
        },
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/app/people")
    assert anon.get("/app/people").status_code == 200  # signed in
    # the page is gone now, for everyone
    assert anon.get("/app/setup").headers["Location"].endswith("/app/login")
    late = Browser(app.test_client())
    response = late.post(
        "/app/setup",
        {"username": "mallory", "password": "long enough", "confirm": "long enough"},
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/app/login")
    with db.session_scope(app) as session:
        from server.models import User

        users = session.query(User).all()
        assert [(u.username, u.timezone) for u in users] == [("tanraak", "Europe/Berlin")]


def test_first_run_rejects_bad_input(anon):
    response = anon.post(
        "/app/setup",
        {"username": ".bad name", "password": "short", "confirm": "other", "timezone": "Mars/Base"},
    )
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "at least 8 characters" in text and "time zone" in text and "letters, digits" in text
    assert anon.get("/app/people").headers["Location"].endswith("/app/setup")


def test_sign_in_and_out(app, anon):
    make_user(app, "tanraak")
    assert anon.get("/app/people").headers["Location"].startswith("/app/login?next=/app/people")
    wrong = anon.post("/app/login", {"username": "tanraak", "password": "nope"})
    assert wrong.status_code == 401 and b"Wrong user name or password" in wrong.data
    unknown = anon.post("/app/login", {"username": "nobody", "password": PASSWORD})
    assert unknown.status_code == 401 and b"Wrong user name or password" in unknown.data
    ok = anon.post(
        "/app/login", {"username": "tanraak", "password": PASSWORD, "next": "/app/accounts"}
    )
    assert ok.status_code == 302 and ok.headers["Location"] == "/app/accounts"
    assert anon.get("/app/people").status_code == 200
    out = anon.post("/app/logout")
    assert out.status_code == 302
    assert anon.get("/app/people").status_code == 302


def test_next_never_leaves_the_app(app, anon):
    make_user(app, "tanraak")
    for target in ("https://evil.example/", "//evil.example/app", "/api/v1/people", "/app\\x"):
        response = anon.post(
            "/app/login", {"username": "tanraak", "password": PASSWORD, "next": target}
        )
        assert response.headers["Location"] == "/app/", target
        anon.post("/app/logout")


def test_csrf_is_required_for_sign_in_and_out(app, anon, web):
    make_user(app, "other")
    response = anon.post("/app/login", {"username": "other", "password": PASSWORD}, csrf=False)
    assert response.status_code == 400 and b"Form expired" in response.data
    forged = anon.post(
        "/app/login", {"username": "other", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert forged.status_code == 400
    assert web.post("/app/logout", csrf=False).status_code == 400
    assert web.get("/app/people").status_code == 200  # still signed in


def test_a_token_from_another_session_is_refused(app, web, intruder):
    stolen = intruder.token()
    response = web.post("/app/people/new", {"key": "x", "name": "X", "csrf_token": stolen})
    assert response.status_code == 400


def test_csrf_token_changes_when_signing_in(app, anon):
    make_user(app, "tanraak")
    before = anon.token()
    anon.sign_in("tanraak")
    assert anon.token() != before


def test_session_cookie_flags(app, anon):
    make_user(app, "tanraak")
    response = anon.post("/app/login", {"username": "tanraak", "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("creditline_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = Browser(app.test_client())
    token = secure.client.get("/app/login", base_url="https://localhost")
    assert "Secure" in token.headers["Set-Cookie"]


def test_session_key_is_its_own_file_with_mode_0600(app, tmp_path):
    path = app.config["FLASK_SECRET_FILE"]
    assert os.path.dirname(path) == app.instance_path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    key = Path(path).read_text().strip()
    assert len(key) >= 32 and key != app.config.get("SECRET_KEY")
    # a second app on the same instance folder reuses the key (sessions survive restarts)
    again = create_app({"INSTANCE_PATH": app.instance_path, "DATABASE_URL": "sqlite://"})
    assert again.extensions["creditline.web_secret"] == key
    # the environment setting wins over the file
    fixed = create_app(
        {
            "INSTANCE_PATH": str(tmp_path / "other"),
            "DATABASE_URL": "sqlite://",
            "FLASK_SECRET": "k" * 40,
        }
    )
    assert fixed.extensions["creditline.web_secret"] == "k" * 40
    assert not os.path.exists(tmp_path / "other" / "flask-secret.key")


def test_flask_secret_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CREDITLINE_FLASK_SECRET", "e" * 40)
    app = create_app({"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "sqlite://"})
    assert app.extensions["creditline.web_secret"] == "e" * 40


def test_a_short_key_file_is_an_error(tmp_path):
    (tmp_path / "flask-secret.key").write_text("short\n")
    try:
        security.load_secret({"FLASK_SECRET_FILE": str(tmp_path / "flask-secret.key")})
    except RuntimeError as exc:
        assert "no usable session key" in str(exc)
    else:
        raise AssertionError("a short key was accepted")


def test_a_forged_session_cookie_is_ignored(app, web):
    web.client.set_cookie("creditline_session", "eyJ1c2VyX2lkIjoxfQ.forged.sig", domain="localhost")
    assert web.get("/app/people").status_code == 302


def test_settings_time_zone_and_password(app, web):
    page = web.get("/app/settings")
    assert page.status_code == 200 and b"Europe/Berlin" in page.data
    assert (
        web.post("/app/settings", {"action": "timezone", "timezone": "Nope/Nowhere"}).status_code
        == 400
    )
    assert (
        web.post("/app/settings", {"action": "timezone", "timezone": "Asia/Tokyo"}).status_code
        == 302
    )
    other_session = Browser(app.test_client())
    other_session.sign_in("tanraak")
    bad = web.post(
        "/app/settings",
        {
            "action": "password",
            "current": "wrong",
            "password": "new password",
            "confirm": "new password",
        },
    )
    assert bad.status_code == 400
    ok = web.post(
        "/app/settings",
        {
            "action": "password",
            "current": PASSWORD,
            "password": "new password",
            "confirm": "new password",
        },
    )
    assert ok.status_code == 302
    assert web.get("/app/people").status_code == 200  # this session continues
    assert other_session.get("/app/people").status_code == 302  # the other one is signed out
    Browser(app.test_client()).sign_in("tanraak", "new password")


def test_security_headers(web):
    response = web.get("/app/people")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


def test_root_leads_to_the_app(client):
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/app/")
