"""Artworks API: multipart upload, validation that loses nothing, media cleanup, isolation."""

from __future__ import annotations

import io
import json
import os

import pytest
from PIL import Image

from tests.server.helpers import ARTWORK, HYENA, TANRAAK, artwork_form, png_bytes


@pytest.fixture
def people(artist):
    for person in (TANRAAK, HYENA):
        assert artist.post("/api/v1/people", json=person).status_code == 201
    return artist


def media_files(app) -> list[str]:
    root = app.config["MEDIA_DIR"]
    return sorted(name for _, _, names in os.walk(root) for name in names)


def test_multipart_create_and_fetch_image(app, people):
    image = png_bytes()
    created = people.post("/api/v1/artworks", data=artwork_form(ARTWORK, image))
    assert created.status_code == 201, created.json
    body = created.json
    assert body["title"] == "Trisk at dusk"
    assert body["credits"][2] == {
        "role": "character_owner",
        "person": "hyena",
        "character": "Trisk",
    }
    assert len(body["public_id"]) == 10
    [stored] = body["images"]
    assert (stored["width"], stored["height"], stored["media_type"]) == (64, 48, "image/png")
    assert stored["alt_text"] == ARTWORK["alt_text"][0]

    fetched = people.get(stored["url"])
    assert fetched.status_code == 200
    assert fetched.data == image
    assert fetched.mimetype == "image/png"
    assert people.get(f"/api/v1/artworks/{body['id']}").json == body
    assert [a["id"] for a in people.get("/api/v1/artworks").json["items"]] == [body["id"]]


def test_json_create_then_patch(people):
    created = people.post("/api/v1/artworks", json={"title": "Sketch", "rating": "general"})
    assert created.status_code == 201, created.json
    artwork_id = created.json["id"]
    changed = people.patch(
        f"/api/v1/artworks/{artwork_id}",
        json={"tags": ["sketch"], "credits": [{"role": "artist", "person": "tanraak"}]},
    )
    assert changed.status_code == 200
    assert changed.json["tags"] == ["sketch"]
    assert changed.json["title"] == "Sketch"
    assert changed.json["credits"] == [{"role": "artist", "person": "tanraak", "character": None}]


def corrupt_png() -> bytes:
    return png_bytes()[:40]


def bomb_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (8000, 8000)).save(buffer, "PNG")  # 64 MP, a few kB on disk
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("images", "status", "code", "field"),
    [
        ([b"this is not an image"], 422, "not_an_image", "images.0"),
        ([png_bytes(), corrupt_png()], 422, "corrupt_image", "images.1"),
        ([b"<svg xmlns='http://www.w3.org/2000/svg'/>"], 415, "unsupported_format", "images.0"),
        ([os.urandom(16) * (3 * 1024 * 1024 // 16)], 413, "too_large", "images.0"),
        ([bomb_png()], 422, "too_many_pixels", "images.0"),
        ([png_bytes()] * 5, 400, "invalid", "images"),
    ],
    ids=["text", "truncated", "svg", "oversized", "bomb", "too-many"],
)
def test_bad_images_are_rejected_and_leave_nothing(app, people, images, status, code, field):
    response = people.post("/api/v1/artworks", data=artwork_form(ARTWORK, *images))
    assert response.status_code == status, response.json
    error = response.json["error"]
    if code:
        assert error["code"] == code
    assert error["field"] == field
    assert people.get("/api/v1/artworks").json["items"] == []
    assert media_files(app) == []


def test_request_beyond_the_body_limit_is_413(app, people):
    huge = b"\0" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = people.post("/api/v1/artworks", data=artwork_form(ARTWORK, huge))
    assert response.status_code == 413
    assert "too large" in response.json["error"]["message"]
    assert media_files(app) == []


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"artwork": "{not json"}, "artwork"),
        ({}, "artwork"),
        ({"artwork": json.dumps({**ARTWORK, "rating": "spicy"})}, "rating"),
        (
            {
                "artwork": json.dumps(
                    {**ARTWORK, "credits": [{"role": "artist", "person": "nobody"}]}
                )
            },
            "credits.0.person",
        ),
        (
            {"artwork": json.dumps({**ARTWORK, "credits": [{"role": "muse", "person": "hyena"}]})},
            "credits.0.role",
        ),
        ({"artwork": json.dumps({**ARTWORK, "alt_text": ["a", "b"]})}, "alt_text"),
        ({"artwork": json.dumps({**ARTWORK, "title": ""})}, "title"),
        ({"artwork": json.dumps({**ARTWORK, "focus": [[0, 0], [0, 0]]})}, "focus"),
        ({"artwork": json.dumps({**ARTWORK, "focus": [[1.5, 0]]})}, "focus.0.0"),
        ({"artwork": json.dumps({**ARTWORK, "language": "en<script>"})}, "language"),
    ],
    ids=[
        "malformed",
        "missing",
        "rating",
        "unknown-person",
        "unknown-role",
        "alt-count",
        "title",
        "focus-count",
        "focus-range",
        "language",
    ],
)
def test_bad_artwork_documents_are_rejected_and_leave_nothing(app, people, form, field):
    form = {**form, "images": [(io.BytesIO(png_bytes()), "a.png")]}
    response = people.post("/api/v1/artworks", data=form)
    assert response.status_code == 400, response.json
    assert response.json["error"]["field"] == field
    assert people.get("/api/v1/artworks").json["items"] == []
    assert media_files(app) == []


def test_markup_in_text_fields_is_stored_verbatim_not_interpreted(people):
    hostile = {
        "title": "<img src=x onerror=alert(1)>[url=http://evil]x[/url]",
        "description": '"x":https://evil @everyone <~admin>',
        "rating": "general",
    }
    created = people.post("/api/v1/artworks", json=hostile)
    assert created.status_code == 201
    fetched = people.get(f"/api/v1/artworks/{created.json['id']}")
    assert fetched.mimetype == "application/json"
    assert fetched.json["title"] == hostile["title"]
    assert fetched.json["description"] == hostile["description"]


def test_delete_removes_unshared_images_only(app, people):
    shared = png_bytes(colour=(1, 2, 3))
    first = people.post("/api/v1/artworks", data=artwork_form(ARTWORK, shared)).json
    second = people.post("/api/v1/artworks", data=artwork_form(ARTWORK, shared, png_bytes())).json
    assert len(media_files(app)) == 2
    assert people.delete(f"/api/v1/artworks/{second['id']}").status_code == 204
    assert media_files(app) == [first["images"][0]["sha256"]]
    assert people.get(first["images"][0]["url"]).status_code == 200


def test_artworks_are_private(people, other_artist):
    created = people.post("/api/v1/artworks", data=artwork_form(ARTWORK, png_bytes())).json
    base = f"/api/v1/artworks/{created['id']}"
    assert other_artist.get("/api/v1/artworks").json["items"] == []
    assert other_artist.get(base).status_code == 404
    assert other_artist.get(created["images"][0]["url"]).status_code == 404
    assert other_artist.get(base + "/deliveries").status_code == 404
    assert other_artist.patch(base, json={"title": "mine now"}).status_code == 404
    assert other_artist.delete(base).status_code == 404
    assert people.get(base).json["title"] == ARTWORK["title"]


def test_credits_cannot_name_another_users_people(people, other_artist):
    response = other_artist.post("/api/v1/artworks", json={**ARTWORK, "alt_text": None})
    assert response.status_code == 400
    assert response.json["error"]["field"] == "credits.0.person"


def test_language_and_focus_are_kept_changed_and_cleared(people):
    created = people.post(
        "/api/v1/artworks", data=artwork_form({**ARTWORK, "language": "pt-BR"}, png_bytes())
    ).json
    assert created["language"] == "pt-BR" and created["images"][0]["focus"] is None
    url = f"/api/v1/artworks/{created['id']}"
    changed = people.patch(url, json={"focus": [[0.25, -1]]}).json
    assert changed["images"][0]["focus"] == [0.25, -1.0] and changed["language"] == "pt-BR"
    cleared = people.patch(url, json={"focus": [None], "language": ""}).json
    assert cleared["images"][0]["focus"] is None and cleared["language"] is None
    # neither is part of what a post shows: no edit, and never a repost on Bluesky or X
    assert cleared["revision"] == created["revision"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"alt_text": ["nowhere to put this"]}, "alt_text"),
        ({"tags": ["ok"], "credits": [{"role": "artist", "person": "nobody"}]}, "credits.0.person"),
    ],
    ids=["empty-title", "blank-title", "alt-without-images", "partly-valid"],
)
def test_bad_patches_change_nothing(people, change, field):
    """What create refuses, PATCH refuses too, and a failing PATCH applies no part of itself."""
    created = people.post("/api/v1/artworks", json={"title": "Sketch", "rating": "general"}).json
    response = people.patch(f"/api/v1/artworks/{created['id']}", json=change)
    assert response.status_code == 400, response.json
    assert response.json["error"]["field"] == field
    assert people.get(f"/api/v1/artworks/{created['id']}").json == created


def test_a_failed_commit_leaves_no_image_behind(app, people, monkeypatch):
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    from server.models import Artwork

    commit = Session.commit

    def failing_commit(self):
        if any(isinstance(obj, Artwork) for obj in self.new):
            raise OperationalError("COMMIT", {}, Exception("the database went away"))
        return commit(self)

    monkeypatch.setattr(Session, "commit", failing_commit)
    response = people.post("/api/v1/artworks", data=artwork_form(ARTWORK, png_bytes()))
    assert response.status_code == 500
    monkeypatch.undo()
    assert media_files(app) == []
    assert people.get("/api/v1/artworks").json["items"] == []
