"""People directory API: CRUD, validation against the adapters, import/export, isolation."""

from __future__ import annotations

import pytest

from tests.server.helpers import HYENA, TANRAAK


def test_create_show_list_update_delete(artist):
    created = artist.post("/api/v1/people", json=TANRAAK)
    assert created.status_code == 201, created.json
    assert created.json["accounts"] == TANRAAK["accounts"]
    assert created.json["primary"] == "furaffinity"

    assert artist.get("/api/v1/people/tanraak").json["name"] == "Tanraak"
    assert [p["key"] for p in artist.get("/api/v1/people").json["items"]] == ["tanraak"]

    changed = artist.patch(
        "/api/v1/people/tanraak",
        json={"name": "Tanraak the Painter", "accounts": {"furaffinity": "tanraak"}},
    )
    assert changed.status_code == 200, changed.json
    assert changed.json["name"] == "Tanraak the Painter"
    assert changed.json["accounts"] == {"furaffinity": "tanraak"}

    assert artist.delete("/api/v1/people/tanraak").status_code == 204
    assert artist.get("/api/v1/people/tanraak").status_code == 404


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"key": "x", "name": "X", "accounts": {"myspace": "x"}}, "accounts", "unknown platform"),
        (
            {"key": "x", "name": "X", "accounts": {"twitter": "no spaces allowed!"}},
            "accounts",
            "twitter",
        ),
        ({"key": "x", "name": "X", "primary": "twitter"}, None, "primary"),
        ({"key": "bad key", "name": "X"}, "key", "pattern"),
        ({"key": "x"}, "name", "required"),
        ({"key": "x", "name": "X", "surprise": 1}, "surprise", "extra"),
        (
            {
                "key": "x",
                "name": "<script>alert(1)</script>",
                "accounts": {"bluesky": "not a handle"},
            },
            "accounts",
            "bluesky",
        ),
    ],
)
def test_invalid_people_are_rejected_with_the_field(artist, body, field, words):
    response = artist.post("/api/v1/people", json=body)
    assert response.status_code == 400
    error = response.json["error"]
    assert error["code"] == "invalid"
    if field:
        assert error["field"].startswith(field)
    assert words.lower() in error["message"].lower()
    assert artist.get("/api/v1/people").json["items"] == []


def test_malformed_json_is_a_clear_400(artist):
    response = artist.post(
        "/api/v1/people", data=b'{"key": "x", "name":', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json["error"]["code"] == "malformed_json"


def test_wrong_content_type_is_415(artist):
    response = artist.post("/api/v1/people", data="key=x", content_type="text/plain")
    assert response.status_code == 415
    assert "application/json" in response.json["error"]["message"]


def test_duplicate_key_is_a_conflict(artist):
    assert artist.post("/api/v1/people", json=HYENA).status_code == 201
    response = artist.post("/api/v1/people", json=HYENA)
    assert response.status_code == 409
    assert response.json["error"]["field"] == "key"


def test_primary_must_stay_an_account(artist):
    artist.post("/api/v1/people", json=TANRAAK)
    response = artist.patch(
        "/api/v1/people/tanraak", json={"accounts": {"bluesky": "tanraak.bsky.social"}}
    )
    assert response.status_code == 400
    assert "primary" in response.json["error"]["message"]
    assert artist.get("/api/v1/people/tanraak").json["accounts"] == TANRAAK["accounts"]


def test_credited_person_cannot_be_deleted(artist):
    artist.post("/api/v1/people", json=TANRAAK)
    artist.post(
        "/api/v1/artworks",
        json={
            "title": "t",
            "rating": "general",
            "credits": [{"role": "artist", "person": "tanraak"}],
        },
    )
    response = artist.delete("/api/v1/people/tanraak")
    assert response.status_code == 409
    assert artist.get("/api/v1/people/tanraak").status_code == 200


def test_import_creates_and_updates_and_export_round_trips(artist):
    artist.post("/api/v1/people", json={"key": "hyena", "name": "Old name"})
    result = artist.post("/api/v1/people/import", json={"people": [TANRAAK, HYENA]})
    assert result.status_code == 200, result.json
    assert result.json == {"created": 1, "updated": 1}
    exported = artist.get("/api/v1/people/export").json
    assert {p["key"]: p["name"] for p in exported["people"]} == {
        "hyena": "Hyena Dude",
        "tanraak": "Tanraak",
    }
    again = artist.post("/api/v1/people/import", json=exported)
    assert again.json == {"created": 0, "updated": 2}
    assert artist.get("/api/v1/people/export").json == exported


def test_import_is_all_or_nothing(artist):
    bad = {
        "people": [
            HYENA,
            {"key": "x", "name": "X", "accounts": {"twitter": "way_too_long_for_twitter"}},
        ]
    }
    assert artist.post("/api/v1/people/import", json=bad).status_code == 400
    assert artist.get("/api/v1/people").json["items"] == []


def test_people_are_private_to_their_user(artist, other_artist):
    artist.post("/api/v1/people", json=HYENA)
    assert other_artist.get("/api/v1/people").json["items"] == []
    assert other_artist.get("/api/v1/people/hyena").status_code == 404
    assert other_artist.patch("/api/v1/people/hyena", json={"name": "pwned"}).status_code == 404
    assert other_artist.delete("/api/v1/people/hyena").status_code == 404
    # the same key is free for the other user
    assert other_artist.post("/api/v1/people", json=HYENA).status_code == 201
    assert artist.get("/api/v1/people/hyena").json["name"] == "Hyena Dude"


@pytest.mark.parametrize("key", ["import", "export"])
def test_keys_that_routes_would_shadow_are_refused(artist, key):
    response = artist.post("/api/v1/people", json={"key": key, "name": "X"})
    assert response.status_code == 400
    assert response.json["error"]["field"] == "key"
    assert "reserved" in response.json["error"]["message"]
    imported = artist.post("/api/v1/people/import", json={"people": [{"key": key, "name": "X"}]})
    assert imported.status_code == 400
    assert artist.get("/api/v1/people").json["items"] == []
