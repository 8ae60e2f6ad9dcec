"""Registering a picture that matches another user's public work flags both for review; the
first registration keeps the public display."""

from __future__ import annotations

import pytest
from PIL import Image, ImageEnhance
from sqlalchemy import select

from server import db
from server.models import RegistryConflict
from tests.server.registry_helpers import (
    dot_grid,
    encode,
    faint_stroke,
    match,
    picture,
    publish_picture,
)


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


def test_the_same_outline_in_another_shading_is_not_a_conflict(artist, other_artist):
    """A washed-out version of another user's grey drawing has the same hash and colour grid
    (the detail grid tells them apart: docs/FINGERPRINT.md §7b); the drawing itself, brightened
    by 15 %, still conflicts."""
    grey = picture(50).convert("L").convert("RGB")
    publish_picture(artist, encode(grey), title="the original")
    faded = Image.eval(grey, lambda v: 170 + v * 85 // 255)
    assert publish_picture(other_artist, encode(faded), title="pastel")["conflicts"] == 0
    brighter = ImageEnhance.Brightness(grey).enhance(1.15)
    assert publish_picture(other_artist, encode(brighter), title="copy")["conflicts"] == 1


@pytest.mark.parametrize(
    "image",
    [
        pytest.param(dot_grid(6), id="tiled pattern"),
        pytest.param(Image.new("RGB", (320, 240), (200, 120, 40)), id="flat colour"),
        pytest.param(faint_stroke(), id="faint grey line"),
    ],
)
def test_the_same_file_conflicts_though_the_matcher_never_matches_it(
    client, artist, other_artist, image
):
    """The matcher leaves tiled patterns and low-information pictures (a faint grey line among
    them) alone (not even an exact copy is matched), so another user's registration of the
    very same file is caught by its bytes; the same artist reusing it is not a conflict, and a
    re-encoded copy is not the same file."""
    data = encode(image)
    first = publish_picture(artist, data, title="the original")
    assert match(client, data).json["candidates"] == []
    reused = publish_picture(artist, data, title="reused")
    assert reused["conflicts"] == 0
    copy = publish_picture(other_artist, data, title="copy")
    assert copy["conflicts"] == 2  # the original and its reuse, both the artist's
    items = other_artist.get(f"/api/v1/artworks/{copy['id']}/conflicts").json["items"]
    assert sorted((c["role"], c["other_work"]) for c in items) == sorted(
        ("later", work["work"]["public_id"]) for work in (first, reused)
    )
    reencoded = encode(image.convert("RGB"), "JPEG", quality=90)
    assert publish_picture(other_artist, reencoded, title="jpeg")["conflicts"] == 0


def test_another_users_copy_of_a_faint_grey_line_is_not_flagged(artist, other_artist):
    """A faint grey line is not matched (a query gets "low information"), so a scaled copy by
    another user is not a perceptual conflict either; the same file still is (above)."""
    publish_picture(artist, encode(faint_stroke()), title="the original")
    smaller = encode(faint_stroke().resize((300, 200)))
    assert publish_picture(other_artist, smaller, title="copy")["conflicts"] == 0
    drawing = picture(55)  # a picture with detail, scaled the same way, still conflicts
    publish_picture(artist, encode(drawing), title="a drawing")
    copy = encode(drawing.resize((160, 120)))
    assert publish_picture(other_artist, copy, title="its copy")["conflicts"] == 1


# -- resolving a conflict ---------------------------------------------------------------------


def conflict_pair(artist, other_artist, seed: int = 54) -> tuple[dict, dict, int]:  # type: ignore[no-untyped-def]
    """The original (artist) and a copy (other_artist), and the id of the conflict they open."""
    first = publish_picture(artist, encode(picture(seed)), title="the original")
    copy = publish_picture(other_artist, encode(picture(seed), "JPEG", quality=70), title="copy")
    [conflict] = artist.get(f"/api/v1/artworks/{first['id']}/conflicts").json["items"]
    return first, copy, conflict["id"]


def resolve(who, artwork_id: int, conflict_id: int, decision: str):  # type: ignore[no-untyped-def]
    return who.post(
        f"/api/v1/artworks/{artwork_id}/conflicts/resolve",
        json={"conflict": conflict_id, "decision": decision},
    )


def shown(client, first: dict, copy: dict) -> list[str]:  # type: ignore[no-untyped-def]
    """Which of the two works a match for the picture names, as 'first'/'copy'."""
    names = {first["work"]["public_id"]: "first", copy["work"]["public_id"]: "copy"}
    found = match(client, encode(picture(54))).json["candidates"]
    return sorted(names[c["work"]["public_id"]] for c in found)


@pytest.mark.parametrize(
    ("decision", "state", "visible"),
    [
        ("keep_first", "kept_first", ["first"]),
        ("give_second", "given_second", ["copy"]),
        ("separate", "separate", ["copy", "first"]),
    ],
)
def test_the_first_owner_decides_who_keeps_the_attribution(
    client, artist, other_artist, decision, state, visible
):
    first, copy, conflict_id = conflict_pair(artist, other_artist)
    assert shown(client, first, copy) == ["first"]  # while open, the first keeps the display
    answer = resolve(artist, first["id"], conflict_id, decision)
    assert answer.status_code == 200, answer.json
    assert (answer.json["state"], answer.json["role"]) == (state, "earlier")
    assert answer.json["other_work"] == copy["work"]["public_id"]
    assert shown(client, first, copy) == visible
    for name, work in (("first", first), ("copy", copy)):  # no longer under review, but the
        # record that kept the attribution over another's says it was disputed, and when
        pid = work["work"]["public_id"]
        doc = client.get(f"/api/v1/works/{pid}").json
        kept = decision != "separate" and visible == [name]
        assert doc["review"] == ("disputed" if kept else "none")
        assert (doc["review_decided_at"] is not None) == kept
        assert (b"This attribution was disputed" in client.get(f"/a/{pid}").data) == kept
    # both sides see the decision; it is final through the API
    theirs = other_artist.get(f"/api/v1/artworks/{copy['id']}/conflicts").json["items"]
    assert [(c["id"], c["state"], c["role"]) for c in theirs] == [(conflict_id, state, "later")]
    again = resolve(artist, first["id"], conflict_id, "separate")
    assert again.status_code == 409 and again.json["error"]["field"] == "conflict"
    assert shown(client, first, copy) == visible


def test_only_the_earlier_registrations_owner_can_decide(client, artist, other_artist):
    first, copy, conflict_id = conflict_pair(artist, other_artist)
    # the later side's owner, through their own artwork or through the original: 404
    assert resolve(other_artist, copy["id"], conflict_id, "give_second").status_code == 404
    assert resolve(other_artist, first["id"], conflict_id, "give_second").status_code == 404
    # a wrong id or a bad decision is refused and changes nothing
    assert resolve(artist, first["id"], conflict_id + 999, "keep_first").status_code == 404
    bad = resolve(artist, first["id"], conflict_id, "toss_a_coin")
    assert bad.status_code == 400 and bad.json["error"]["field"] == "decision"
    missing = artist.post(f"/api/v1/artworks/{first['id']}/conflicts/resolve", json={})
    assert missing.status_code == 400
    [row] = artist.get(f"/api/v1/artworks/{first['id']}/conflicts").json["items"]
    assert row["state"] == "open"
    assert shown(client, first, copy) == ["first"]


def test_an_operator_lists_and_resolves_conflicts_from_the_command_line(
    app, client, artist, other_artist, operator_cli
):
    from click.testing import CliRunner

    from server.cli import main

    first, copy, conflict_id = conflict_pair(artist, other_artist)
    run = operator_cli

    listed = run("conflicts", "list")
    assert f"{conflict_id:>6}  open" in listed
    assert f"earlier artwork {first['id']}" in listed and f"later artwork {copy['id']}" in listed
    assert run("conflicts", "resolve", str(conflict_id), "give_second").strip() == (
        f"conflict {conflict_id}: given_second"
    )
    assert run("conflicts", "list").strip() == "no open or appealed conflicts"
    assert "given_second" in run("conflicts", "list", "--all")
    assert shown(client, first, copy) == ["copy"]
    # an operator may change a decision; an unknown id or decision is a clean error
    run("conflicts", "resolve", str(conflict_id), "separate")
    assert shown(client, first, copy) == ["copy", "first"]
    unknown = CliRunner().invoke(main, ["conflicts", "resolve", "99999", "separate"])
    assert unknown.exit_code != 0 and "no conflict 99999" in unknown.output
    wrong = CliRunner().invoke(main, ["conflicts", "resolve", str(conflict_id), "maybe"])
    assert wrong.exit_code != 0 and "maybe" in wrong.output


def test_of_two_decisions_read_while_open_only_the_first_counts(app, artist, other_artist):
    """An owner's request that read the conflict as open before an operator (or a second
    request) decided it does not overwrite that decision."""
    from server.registry import conflicts

    _first, _copy, conflict_id = conflict_pair(artist, other_artist)
    with db.session_scope(app) as stale:
        read_while_open = stale.get(RegistryConflict, conflict_id)
        assert read_while_open.state == "open"
        with db.session_scope(app) as operator:
            conflicts.resolve(
                operator, operator.get(RegistryConflict, conflict_id), "give_second", operator=True
            )
            operator.commit()
        with pytest.raises(conflicts.AlreadyResolved):
            conflicts.resolve(stale, read_while_open, "keep_first")
    with db.session_scope(app) as session:
        assert session.get(RegistryConflict, conflict_id).state == "given_second"


def test_a_work_ruled_a_copy_has_no_say_over_the_next_registration(app, artist, other_artist):
    from tests.conftest import make_artist

    first, _copy, conflict_id = conflict_pair(artist, other_artist)
    assert resolve(artist, first["id"], conflict_id, "keep_first").status_code == 200
    third = make_artist(app, "third")
    later = publish_picture(third, encode(picture(54), "WEBP", quality=80), title="again")
    theirs = third.get(f"/api/v1/artworks/{later['id']}/conflicts").json["items"]
    # one conflict, decided by the original's owner, not by the copy's
    assert [c["other_work"] for c in theirs] == [first["work"]["public_id"]]
