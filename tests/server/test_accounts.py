"""Platform accounts: credentials are sealed at rest and never leave the server."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import text

from server import db
from server.crypto import CredentialBox

SECRET = "hunter2-very-secret-app-password"
ACCOUNT = {
    "platform": "bluesky",
    "name": "tanraak.bsky.social",
    "credentials": {"identifier": "tanraak.bsky.social", "app_password": SECRET},
    "options": {"mention_style": "native"},
}


def test_create_list_show_update_delete(artist):
    created = artist.post("/api/v1/accounts", json=ACCOUNT)
    assert created.status_code == 201, created.json
    body = created.json
    assert body["credentials"] == "set"
    assert body["state"] == "ok"
    assert body["options"] == {"mention_style": "native"}
    account_id = body["id"]

    assert [a["id"] for a in artist.get("/api/v1/accounts").json["items"]] == [account_id]
    paused = artist.patch(
        f"/api/v1/accounts/{account_id}", json={"state": "paused", "name": "renamed"}
    )
    assert paused.json["state"] == "paused"
    assert paused.json["name"] == "renamed"

    assert artist.delete(f"/api/v1/accounts/{account_id}").status_code == 204
    assert artist.get(f"/api/v1/accounts/{account_id}").status_code == 404


def test_account_without_credentials_says_not_set(artist):
    response = artist.post("/api/v1/accounts", json={"platform": "discord", "name": "my server"})
    assert response.json["credentials"] == "not set"


def test_credentials_never_appear_in_output_logs_or_database(app, artist, caplog, database_url):
    caplog.set_level(logging.DEBUG)
    created = artist.post("/api/v1/accounts", json=ACCOUNT)
    account_id = created.json["id"]
    new_secret = SECRET + "-rotated"
    artist.patch(
        f"/api/v1/accounts/{account_id}",
        json={"credentials": {"identifier": "x", "app_password": new_secret}},
    )
    responses = [
        created,
        artist.get("/api/v1/accounts"),
        artist.get(f"/api/v1/accounts/{account_id}"),
    ]
    for response in responses:
        assert SECRET not in response.get_data(as_text=True)
    assert SECRET not in caplog.text and new_secret not in caplog.text

    with db.engine_for(app).connect() as conn:
        stored = conn.execute(text("SELECT credentials FROM accounts")).scalar_one()
    assert SECRET.encode() not in bytes(stored)
    assert new_secret.encode() not in bytes(stored)
    # ...but the server itself can open them
    box = CredentialBox.load(None, Path(app.config["SECRET_KEY_FILE"]))
    assert box.open(bytes(stored))["app_password"] == new_secret
    if database_url.startswith("sqlite"):
        path = database_url.split("///", 1)[1]
        db.engine_for(app).dispose()
        for suffix in ("", "-wal"):
            file = Path(path + suffix)
            if not file.exists():
                continue
            raw = file.read_bytes()
            assert SECRET.encode() not in raw and new_secret.encode() not in raw


def test_bad_account_requests(artist):
    unknown = artist.post("/api/v1/accounts", json={**ACCOUNT, "platform": "friendster"})
    assert unknown.status_code == 400
    assert unknown.json["error"]["field"] == "platform"
    assert "friendster" in unknown.json["error"]["message"]
    not_strings = artist.post("/api/v1/accounts", json={**ACCOUNT, "credentials": {"token": 5}})
    assert not_strings.status_code == 400
    assert not_strings.json["error"]["field"].startswith("credentials")
    assert artist.patch("/api/v1/accounts/1", json={"state": "needs_attention"}).status_code in (
        400,
        404,
    )
    assert artist.get("/api/v1/accounts").json["items"] == []


def test_users_cannot_reach_each_others_accounts(artist, other_artist):
    account_id = artist.post("/api/v1/accounts", json=ACCOUNT).json["id"]
    assert other_artist.get("/api/v1/accounts").json["items"] == []
    assert other_artist.get(f"/api/v1/accounts/{account_id}").status_code == 404
    assert (
        other_artist.patch(f"/api/v1/accounts/{account_id}", json={"name": "x"}).status_code == 404
    )
    assert other_artist.delete(f"/api/v1/accounts/{account_id}").status_code == 404
    assert artist.get(f"/api/v1/accounts/{account_id}").json["name"] == ACCOUNT["name"]
