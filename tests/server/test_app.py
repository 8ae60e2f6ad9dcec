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
    errors = create["responses"]["default"]["content"]["application/json"]["schema"]
    assert errors == {"$ref": "#/components/schemas/Error"}  # every other status, one shape


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
    # a body the other user could validly send, so only ownership can refuse it
    body = {
        "reschedule_delivery": {"scheduled_at": "2030-01-01T00:00:00Z"},
        "create_deliveries": {"accounts": [account["id"]]},
    }.get(e.name, {})
    response = other_artist.open(path, e.method.upper(), json=body)
    assert response.status_code == 404, (e.method, path, response.json)


WITH_ID = [e for e in ENDPOINTS if "<int:" in e.path]


@pytest.mark.parametrize("e", WITH_ID, ids=[f"{e.method} {e.path}" for e in WITH_ID])
def test_ids_beyond_the_database_range_are_404_not_500(artist, e):
    for number in (2**31, 10**30):
        path = re.sub(r"<int:\w+>", str(number), e.path)
        response = artist.open(path, e.method.upper(), json={})
        assert response.status_code == 404, (e.method, path, response.json)
        assert response.json["error"]["code"] == "not_found"


NUL_BODIES = [
    ("POST", "/api/v1/people", {"key": "k", "name": "a\0b"}, "name"),
    ("POST", "/api/v1/people", {"key": "k", "name": "n", "notes": "\0"}, "notes"),
    ("POST", "/api/v1/people/import", {"people": [{"key": "k", "name": "\0"}]}, "people.0.name"),
    ("POST", "/api/v1/accounts", {"platform": "discord", "name": "a\0"}, "name"),
    ("POST", "/api/v1/artworks", {"title": "a\0b", "rating": "general"}, "title"),
    ("POST", "/api/v1/artworks", {"title": "t", "rating": "general", "tags": ["\0"]}, "tags.0"),
    ("POST", "/api/v1/artworks", {"title": "t", "rating": "general", "x\0": 1}, "x\0"),
    ("POST", "/api/v1/artworks", "\0", None),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), NUL_BODIES)
def test_nul_characters_are_a_400_naming_the_field(artist, method, path, body, field):
    """PostgreSQL cannot store U+0000 in text: refuse it up front instead of failing in the
    database with a 500 (SQLite would have stored it, so the backends would disagree)."""
    response = artist.open(path, method, json=body)
    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] == "invalid"
    assert response.json["error"]["field"] == field
    assert "NUL" in response.json["error"]["message"]
    assert artist.get(path.removesuffix("/import")).json["items"] == []


def test_nul_in_a_url_key_is_404(artist):
    assert artist.get("/api/v1/people/a%00b").status_code == 404
    assert artist.patch("/api/v1/people/a%00b", json={"name": "x"}).status_code == 404
    assert artist.delete("/api/v1/people/a%00b").status_code == 404


@pytest.mark.parametrize("path", ["/api/v1/people", "/api/v1/artworks", "/api/v1/preview"])
def test_absurdly_nested_json_is_a_400(artist, path):
    deep = b"[" * 100_000 + b"]" * 100_000
    response = artist.post(path, data=deep, content_type="application/json")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "malformed_json"


@pytest.mark.parametrize("body", [b"[]", b'"x"', b"null", b"1", b"true"])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/people"),
        ("PATCH", "/api/v1/people/hyena"),
        ("POST", "/api/v1/people/import"),
        ("POST", "/api/v1/accounts"),
        ("POST", "/api/v1/artworks"),
        ("POST", "/api/v1/preview"),
    ],
)
def test_bodies_that_are_not_objects_are_a_400(artist, method, path, body):
    from tests.server.helpers import HYENA

    artist.post("/api/v1/people", json=HYENA)
    response = artist.open(path, method, data=body, content_type="application/json")
    assert response.status_code == 400, response.json
    assert set(response.json["error"]) == {"code", "message", "field"}
    assert artist.get("/api/v1/people/hyena").json["name"] == HYENA["name"]
