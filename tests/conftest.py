"""Shared fixtures: every app-level test runs once on SQLite and once on PostgreSQL.

The schema is migrated once per session per backend (SQLite: into a template file that each
test copies; PostgreSQL: into the test database, truncated between tests), so every test starts
from an empty, fully migrated database without paying for migrations each time.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import make_url, text
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from server import auth, create_app, db
from server.models import Base

POSTGRES_URL = os.environ.get("CREDITLINE_TEST_POSTGRES_URL")
REQUIRE_POSTGRES = os.environ.get("CREDITLINE_REQUIRE_POSTGRES") == "1"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    with engine.connect() as conn:  # fold the WAL into the file so a plain copy is complete
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of this test run's own, so concurrent runs never truncate each other's."""
    if not POSTGRES_URL:
        if REQUIRE_POSTGRES:
            pytest.fail("CREDITLINE_REQUIRE_POSTGRES=1 but CREDITLINE_TEST_POSTGRES_URL is unset")
        pytest.skip("no PostgreSQL: set CREDITLINE_TEST_POSTGRES_URL (./dev test does)")
    base = make_url(POSTGRES_URL)
    name = f"{base.database}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = db.make_engine(POSTGRES_URL)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    engine = db.make_engine(url)
    db.upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "creditline.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    engine = db.make_engine(url)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "MAX_IMAGE_BYTES": 2 * 1024 * 1024,
            "MAX_IMAGE_PIXELS": 40_000_000,
            "MAX_IMAGES_PER_ARTWORK": 4,
        }
    )
    yield app
    db.engine_for(app).dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@dataclass
class Artist:
    """A user with a token, and a client that sends it."""

    username: str
    token: str
    client: FlaskClient

    def _headers(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        headers = dict(kwargs.pop("headers", {}) or {})
        headers.setdefault("Authorization", f"Bearer {self.token}")
        return headers

    def open(self, url: str, method: str, **kwargs: Any) -> Any:
        if isinstance(kwargs.get("data"), dict):
            # Encode multipart in memory: werkzeug would spool big bodies to a temporary file
            # that the test client never closes.
            fields = {
                key: [FileStorage(*v) if isinstance(v, tuple) else v for v in value]
                if isinstance(value, list)
                else value
                for key, value in kwargs.pop("data").items()
            }
            boundary, body = encode_multipart(fields)
            kwargs["data"] = body
            kwargs["content_type"] = f"multipart/form-data; boundary={boundary}"
        response = self.client.open(url, method=method, headers=self._headers(kwargs), **kwargs)
        response.get_data()  # buffer it, then release the request body's temporary file
        response.close()
        return response

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.open(url, "GET", **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        return self.open(url, "POST", **kwargs)

    def patch(self, url: str, **kwargs: Any) -> Any:
        return self.open(url, "PATCH", **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Any:
        return self.open(url, "DELETE", **kwargs)


def make_artist(app: Flask, username: str) -> Artist:
    with db.session_scope(app) as session:
        user = auth.create_user(session, username, "correct horse battery staple")
        token = auth.create_token(session, user, "tests")
    return Artist(username, token, app.test_client())


@pytest.fixture
def artist(app: Flask) -> Artist:
    return make_artist(app, "tanraak")


@pytest.fixture
def other_artist(app: Flask) -> Artist:
    return make_artist(app, "someone_else")


# The real Bluesky PDS (tests/peers/bluesky/): one per session, for adapter and engine tests.
from tests.peers.bluesky.fixtures import bluesky_pds  # noqa: E402, F401


@pytest.fixture(scope="session")
def playwright_session() -> Iterator[Any]:
    """One Playwright driver for the whole run: the sync API allows only one at a time, and
    both the extension and the web-app suites drive Chromium."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        message = "the playwright Python package is not installed (pip install playwright)"
        if os.environ.get("CREDITLINE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"CREDITLINE_REQUIRE_BROWSER=1 but {message}")
        pytest.skip(message)
    driver = sync_playwright().start()
    yield driver
    driver.stop()
