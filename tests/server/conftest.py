"""Fixtures shared by the server suites: the X loopback server, and the sample artwork posted
to an X account on it (the delete-and-repost suites start from there)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.peers.twitter_server import XServer
from tests.server.helpers import ARTWORK, TANRAAK, artwork_form, png_bytes
from tests.server.test_delivery_runs import attempt

X_CREDENTIALS = {
    "consumer_key": "app-key",
    "consumer_secret": "app-secret",
    "access_token": "1500000001-usertoken",
    "access_token_secret": "user-secret",
}
X_PEOPLE = [
    {**TANRAAK, "accounts": {**TANRAAK["accounts"], "twitter": "tanraak"}},
    {"key": "hyena", "name": "Hyena Dude", "accounts": {"twitter": "hyena_dude"}},
]


@pytest.fixture
def x_server() -> Iterator[XServer]:
    with XServer() as server:
        yield server


@pytest.fixture
def post_on_x(app, artist, x_server) -> Callable[[dict[str, Any] | None], dict[str, Any]]:
    """Post the sample artwork to an X account with these rule options; returns the artwork."""

    def post(options: dict[str, Any] | None = None) -> dict[str, Any]:
        for person in X_PEOPLE:
            assert artist.post("/api/v1/people", json=person).status_code == 201
        artwork = artist.post("/api/v1/artworks", data=artwork_form(ARTWORK, png_bytes())).json
        account = artist.post(
            "/api/v1/accounts",
            json={
                "platform": "twitter",
                "name": "@artist",
                "credentials": {**X_CREDENTIALS, "api_base": x_server.base_url},
                "options": options or {},
            },
        ).json
        answer = artist.post(
            f"/api/v1/artworks/{artwork['id']}/deliveries", json={"accounts": [account["id"]]}
        )
        assert answer.status_code == 201, answer.json
        assert attempt(app) == ["posted"]
        return artwork

    return post


@pytest.fixture
def on_x(artist, x_server, post_on_x):
    """The sample artwork posted to one X account (no opt-in yet): artist, artwork, the tweet."""
    artwork = post_on_x()
    [first] = x_server.tweets
    return artist, artwork, first


@pytest.fixture
def operator_cli(database_url, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """``creditline …`` (the operator's command line) against the test's database; returns the
    output of a run that must succeed."""
    from click.testing import CliRunner

    from server.cli import main

    monkeypatch.setenv("CREDITLINE_DATABASE_URL", database_url)
    monkeypatch.setenv("CREDITLINE_INSTANCE_PATH", str(tmp_path / "instance"))

    def run(*args: str) -> str:
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    return run
