"""The factory, health, authentication, error shape and the OpenAPI document."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from server.api.spec import ENDPOINTS


def test_factory_starts_nothing(app):
    import threading

    names = {t.name for t in threading.enumerate()}
    assert not any("APScheduler" in n for n in names)
    assert app.config["TESTING"] is True


def test_healthz(client, database_url):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["status"] == "ok"
    assert response.json["database"] == database_url.split(":")[0].split("+")[0]


def test_healthz_reports_a_dead_database(tmp_path):
    from server import create_app

    app = create_app(
        {
            "DATABASE_URL": "postgresql+psycopg://nobody:x@127.0.0.1:1/none",
            "INSTANCE_PATH": str(tmp_path),
        }
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "error"


@pytest.mark.parametrize(
    ("header", "words"),
    [
        (None, "Authorization: Bearer"),
        ("Bearer nope", "unknown"),
        ("Basic abc", "Bearer"),
        ("Bearer ", "Bearer"),
    ],
)
def test_artist_endpoints_need_a_valid_token(client, header, words):
    headers = {"Authorization": header} if header else {}
    for e in ENDPOINTS:
        if not e.auth:
            continue
        path = re.sub(r"<(?:int:)?\w+>", "1", e.path)
        response = client.open(path, method=e.method.upper(), headers=headers)
        assert response.status_code == 401, (e.method, path)
        assert words in response.json["error"]["message"]


def test_tokens_are_stored_hashed(app, artist):
    from sqlalchemy import text

    from server import db

    with db.engine_for(app).connect() as conn:
        stored = conn.execute(text("SELECT token_hash, prefix FROM api_tokens")).one()
    assert artist.token not in stored.token_hash
    assert artist.token.startswith(stored.prefix)
    assert len(stored.prefix) < len(artist.token) // 2


def test_unknown_route_and_method_are_json(client, artist):
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json["error"]["code"] == "not_found"
    wrong = artist.open("/api/v1/people", "PUT")
    assert wrong.status_code == 405
    assert set(wrong.json["error"]) == {"code", "message", "field"}


def test_openapi_document_is_valid_and_complete(client):
    document = client.get("/api/openapi.json").json
    validate(document)
    for e in ENDPOINTS:
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", e.path)
        assert e.method in document["paths"][path], path
    create = document["paths"]["/api/v1/artworks"]["post"]
    assert "multipart/form-data" in create["requestBody"]["content"]
    person = document["components"]["schemas"]["PersonCreate"]
    assert set(person["required"]) == {"key", "name"}


ISOLATED = [e for e in ENDPOINTS if e.auth and "<" in e.path]


@pytest.mark.parametrize("e", ISOLATED, ids=[f"{e.method} {e.path}" for e in ISOLATED])
def test_every_owned_object_is_404_for_another_user(app, artist, other_artist, e):
    """Every artist endpoint with an id in its path hides other users' objects."""
    from tests.server.helpers import HYENA, artwork_form, png_bytes
    from tests.server.test_deliveries import add_delivery

    artist.post("/api/v1/people", json=HYENA)
    artwork = artist.post(
        "/api/v1/artworks",
        data=artwork_form(
            {"title": "t", "rating": "general", "credits": [{"role": "artist", "person": "hyena"}]},
            png_bytes(),
        ),
    ).json
    account = artist.post("/api/v1/accounts", json={"platform": "mastodon", "name": "a"}).json
    delivery_id = add_delivery(app, artist.username)
    ids = {
        "key": "hyena",
        "artwork_id": artwork["id"],
        "account_id": account["id"],
        "delivery_id": delivery_id,
        "position": 0,
    }
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids[m.group(1)]), e.path)
    if e.method == "get":  # the ids are right: the owner can see it
        assert artist.get(path).status_code == 200, path
    response = other_artist.open(path, e.method.upper(), json={})
    assert response.status_code == 404, (e.method, path, response.json)
