"""Registering a picture that matches another user's public work flags both for review; the
first registration keeps the public display."""

from __future__ import annotations

from sqlalchemy import select

from server import db
from server.models import RegistryConflict
from tests.server.registry_helpers import encode, match, picture, publish_picture


def test_a_second_users_copy_is_flagged_and_the_first_keeps_the_display(
    app, client, artist, other_artist
):
    first = publish_picture(artist, encode(picture(50)), title="the original")
    assert first["conflicts"] == 0
    copy = publish_picture(other_artist, encode(picture(50), "JPEG", quality=70), title="stolen")
    assert copy["conflicts"] == 1
    with db.session_scope(app) as session:
        [row] = session.scalars(select(RegistryConflict)).all()
        assert (row.artwork_id, row.existing_artwork_id, row.state) == (
            copy["id"],
            first["id"],
            "open",
        )
    theirs = other_artist.get(f"/api/v1/artworks/{copy['id']}/conflicts").json["items"]
    assert [(c["role"], c["other_work"]) for c in theirs] == [("later", first["work"]["public_id"])]
    mine = artist.get(f"/api/v1/artworks/{first['id']}/conflicts").json["items"]
    assert [(c["role"], c["other_work"]) for c in mine] == [("earlier", copy["work"]["public_id"])]
    # both records show the review state
    for work in (first, copy):
        pid = work["work"]["public_id"]
        assert client.get(f"/api/v1/works/{pid}").json["review"] == "under_review"
        assert b'id="review"' in client.get(f"/a/{pid}").data
    # the first registration keeps the public display: matches name only the original
    found = match(client, encode(picture(50)))
    assert [c["work"]["public_id"] for c in found.json["candidates"]] == [
        first["work"]["public_id"]
    ]


def test_the_same_artist_reusing_a_picture_is_not_a_conflict(app, artist):
    publish_picture(artist, encode(picture(51)))
    again = publish_picture(artist, encode(picture(51)), title="alt version")
    assert again["conflicts"] == 0
    with db.session_scope(app) as session:
        assert session.scalars(select(RegistryConflict)).all() == []


def test_different_pictures_of_two_users_do_not_conflict(artist, other_artist):
    publish_picture(artist, encode(picture(52)))
    assert publish_picture(other_artist, encode(picture(53)))["conflicts"] == 0
