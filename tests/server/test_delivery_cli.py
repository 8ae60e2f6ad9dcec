"""``creditline post`` and ``creditline deliveries``, the reloader guard, the account check."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from server.cli import main, starts_worker
from server.delivery.dispatcher import check_accounts
from tests.peers.mastodon_server import MastodonServer
from tests.server.test_delivery_runs import attempt, prepare


@pytest.fixture
def mastodon():
    with MastodonServer(tokens={"tok": "tanraak"}) as server:
        yield server


@pytest.fixture
def setup(app, artist, mastodon, monkeypatch):
    artwork, account = prepare(artist, mastodon)
    monkeypatch.setenv("CREDITLINE_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("CREDITLINE_INSTANCE_PATH", app.instance_path)
    return artist, artwork, account


def cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return f"{result.exit_code}\n{result.output}"


def test_post_then_watch(app, setup, mastodon):
    _, artwork, account = setup
    out = cli("post", str(artwork["id"]), "--to", str(account["id"]), "--user", "tanraak")
    assert out.startswith("0\n") and "queued" in out
    again = cli("post", str(artwork["id"]), "--to", str(account["id"]), "--user", "tanraak")
    assert "already queued" in again
    listing = cli("deliveries", "--user", "tanraak")
    assert "scheduled" in listing and "mastodon" in listing
    assert attempt(app) == ["posted"]
    watched = cli("deliveries", "--user", "tanraak", "--watch")  # all done: returns at once
    assert "posted" in watched and mastodon.statuses[0]["url"] in watched


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--at", "tomorrow"], "not an ISO 8601"),
        (["--at", "2030-01-01T10:00"], "time zone"),
        (["--to", "999"], "account 999 not found"),
    ],
)
def test_post_errors_are_clear(setup, args, words):
    _, artwork, account = setup
    base = ["post", str(artwork["id"]), "--user", "tanraak"]
    if "--to" not in args:
        base += ["--to", str(account["id"])]
    out = cli(*base, *args)
    assert out.startswith("1\n") and words in out


def test_scheduled_post_from_the_cli(app, setup):
    _, artwork, account = setup
    out = cli(
        "post",
        str(artwork["id"]),
        "--to",
        str(account["id"]),
        "--user",
        "tanraak",
        "--at",
        "2030-01-01T10:00+01:00",
    )
    assert "2030-01-01 09:00 UTC" in out
    assert attempt(app) == []


@pytest.mark.parametrize(
    ("no_worker", "debug", "environ", "expected"),
    [
        (False, False, {}, True),
        (True, False, {}, False),
        (False, True, {}, False),  # the reloader's parent process
        (False, True, {"WERKZEUG_RUN_MAIN": "true"}, True),  # its child
    ],
)
def test_only_one_process_runs_the_worker_under_the_reloader(no_worker, debug, environ, expected):
    assert starts_worker(no_worker, debug, environ) is expected


def test_hourly_check_pauses_revoked_accounts(app, setup, mastodon):
    artist, _, account = setup
    assert check_accounts(app) == 0
    checked = artist.get(f"/api/v1/accounts/{account['id']}").json
    assert checked["state"] == "ok" and checked["last_checked_at"] is not None
    mastodon.fail_next(1, status=401, error="The access token was revoked")
    assert check_accounts(app) == 1
    paused = artist.get(f"/api/v1/accounts/{account['id']}").json
    assert paused["state"] == "needs_attention" and "revoked" in paused["last_error"]
