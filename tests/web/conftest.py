"""Fixtures for the web app: browsers-in-a-test-client that sign in with a password and send
the CSRF token their pages carry, like a real browser would."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server import auth, db
from tests.peers.mastodon_server import MastodonServer
from tests.server.helpers import png_bytes

PASSWORD = "correct horse battery staple"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Browser:
    """A test client with a session cookie; ``post`` adds the session's CSRF token."""

    client: FlaskClient
    username: str | None = None

    def token(self) -> str:
        with self.client.session_transaction() as session:
            token = session.get("_csrf")
        if token is None:  # no page seen yet: open one, as a browser would
            page = self.client.get("/app/login", follow_redirects=True)
            match = CSRF_RE.search(page.get_data(as_text=True))
            assert match, "the sign-in page has no CSRF token"
            token = match.group(1)
        return token

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.client.get(url, **kwargs)

    def post(self, url: str, data: dict[str, Any] | None = None, csrf: bool = True, **kw: Any):
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.token())
        if any(
            isinstance(v, tuple) or (isinstance(v, list) and v and isinstance(v[0], tuple))
            for v in data.values()
        ):
            kw.setdefault("content_type", "multipart/form-data")
        return self.client.post(url, data=data, **kw)

    def sign_in(self, username: str, password: str = PASSWORD) -> Any:
        response = self.post("/app/login", {"username": username, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        self.username = username
        return response


def make_user(app: Flask, username: str, timezone: str = "UTC") -> None:
    with db.session_scope(app) as session:
        user = auth.create_user(session, username, PASSWORD)
        user.timezone = timezone


@pytest.fixture
def anon(app: Flask) -> Browser:
    return Browser(app.test_client())


@pytest.fixture
def web(app: Flask) -> Browser:
    """Signed in as ``tanraak`` (time zone Europe/Berlin)."""
    make_user(app, "tanraak", "Europe/Berlin")
    browser = Browser(app.test_client())
    browser.sign_in("tanraak")
    return browser


@pytest.fixture
def intruder(app: Flask, web: Browser) -> Browser:
    """Another artist on the same instance, signed in."""
    make_user(app, "someone_else")
    browser = Browser(app.test_client())
    browser.sign_in("someone_else")
    return browser


@pytest.fixture
def mastodon() -> Iterator[MastodonServer]:
    server = MastodonServer(tokens={"tok": "tanraak", "tok2": "second"})
    server.start()
    yield server
    server.stop()


def image(name: str = "art.png", colour: tuple[int, int, int] = (200, 40, 40)) -> tuple:
    return (io.BytesIO(png_bytes(colour=colour)), name)


HYENA_FORM = {
    "key": "hyena",
    "name": "Hyena Dude",
    "handle_twitter": "hyena_dude",
    "handle_mastodon": "hyena@furry.engineer",
    "primary": "twitter",
}
TANRAAK_FORM = {
    "key": "tanraak",
    "name": "Tanraak",
    "handle_furaffinity": "tanraak",
    "handle_bluesky": "tanraak.bsky.social",
    "primary": "furaffinity",
}


def add_people(browser: Browser) -> None:
    for form in (TANRAAK_FORM, HYENA_FORM):
        response = browser.post("/app/people/new", form)
        assert response.status_code == 302, response.get_data(as_text=True)


def connect_mastodon(browser: Browser, server: MastodonServer, token: str = "tok") -> int:
    response = browser.post(
        "/app/accounts/new/mastodon",
        {"name": "@tanraak", "cred_instance": server.base_url, "cred_access_token": token},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    page = browser.get("/app/accounts").get_data(as_text=True)
    return int(re.findall(r'id="account-(\d+)"', page)[-1])


def artwork_form(**overrides: Any) -> dict[str, Any]:
    form = {
        "title": "Trisk at dusk",
        "description": "Commission for @[hyena]. {credits}",
        "rating": "mature",
        "tags": "hyena, digital art",
        "alt_text_0": "A hyena in a red scarf at sunset",
        "credit_role_0": "artist",
        "credit_person_0": "tanraak",
        "credit_role_1": "commissioner",
        "credit_person_1": "hyena",
        "credit_role_2": "character_owner",
        "credit_person_2": "hyena",
        "credit_character_2": "Trisk",
        "images": image(),
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def create_artwork(browser: Browser, **overrides: Any) -> int:
    """A saved draft (no delivery); returns its id."""
    response = browser.post("/app/compose", {**artwork_form(**overrides), "action": "save"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return int(re.search(r"/app/artworks/(\d+)", response.headers["Location"]).group(1))
