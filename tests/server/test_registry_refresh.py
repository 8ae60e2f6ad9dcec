"""The per-process index catches up with the fingerprints table without missing rows that
commit out of id order, and without holding rows whose transaction rolls back."""

from __future__ import annotations

import secrets

import pytest
from PIL import Image
from sqlalchemy import insert, select

from server import db
from server.models import Artwork, Fingerprint, Registration, RegistryConflict, utcnow
from server.registry import service
from tests.server.helpers import HYENA, artwork_form, png_bytes
from tests.server.registry_helpers import encode, match, picture, publish_picture


def new_artwork(artist, image: bytes | None = None) -> int:  # type: ignore[no-untyped-def]
    artist.post("/api/v1/people", json=HYENA)
    body = {"title": "t", "rating": "general", "credits": [{"role": "artist", "person": "hyena"}]}
    created = artist.post("/api/v1/artworks", data=artwork_form(body, image or png_bytes()))
    assert created.status_code == 201, created.json
    return created.json["id"]


def insert_fingerprint(conn, artwork_id: int) -> int:  # type: ignore[no-untyped-def]
    """One fingerprint row on ``conn`` (not committed); its id."""
    return conn.execute(
        insert(Fingerprint)
        .values(
            artwork_id=artwork_id,
            image_sha256="0" * 64,
            variant="full",
            hash=secrets.token_hex(32),
            colour=secrets.token_bytes(48),
            bucket=0,
            quality=90,
            created_at=utcnow(),
        )
        .returning(Fingerprint.id)
    ).scalar_one()


def indexed(app, reg: service.Registry) -> set[int]:  # type: ignore[no-untyped-def]
    with db.session_scope(app) as session:
        reg.refresh(session)
    return set(reg.arrays()[0].tolist())


def test_a_row_committed_after_a_later_id_is_not_missed(app, artist, database_url):
    """PostgreSQL takes ids from a sequence at insert time: the transaction holding the smaller
    id can commit last. Two real connections make that happen."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: its rows commit in id order")
    artwork = new_artwork(artist)
    engine = db.engine_for(app)
    reg = service.Registry()
    with engine.connect() as slow, engine.connect() as fast:
        early = insert_fingerprint(slow, artwork)  # takes the smaller id, commits last
        late = insert_fingerprint(fast, artwork)
        fast.commit()
        assert early < late
        assert indexed(app, reg) == {late}
        assert early in reg.gaps  # skipped over, watched
        slow.commit()
    assert indexed(app, reg) == {early, late}
    assert early not in reg.gaps
    assert indexed(app, reg) == {early, late}  # no duplicates on the next refresh
    assert len(reg.index) == 2


def test_an_id_whose_transaction_rolled_back_is_watched_then_forgotten(
    app, artist, database_url, monkeypatch
):
    """PostgreSQL never reuses a rolled-back id: the gap stays until it ages out."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite reuses a rolled-back id, so it leaves no gap")
    import time

    monkeypatch.setattr(service, "GAP_SECONDS", 0.5)
    artwork = new_artwork(artist)
    engine = db.engine_for(app)
    reg = service.Registry()
    with engine.connect() as doomed, engine.connect() as fast:
        lost = insert_fingerprint(doomed, artwork)
        kept = insert_fingerprint(fast, artwork)
        fast.commit()
        doomed.rollback()
    assert indexed(app, reg) == {kept}
    assert lost in reg.gaps
    time.sleep(0.6)
    assert indexed(app, reg) == {kept}
    assert reg.gaps == {}


def test_uncommitted_and_rolled_back_rows_never_reach_the_index(app, artist):
    """The index reads committed rows only, even when refreshed from inside the writer's own
    transaction (as registration does); SQLite even reuses a rolled-back id."""
    artwork = new_artwork(artist)
    engine = db.engine_for(app)
    reg = service.Registry()
    with db.session_scope(app) as writer:
        phantom = insert_fingerprint(writer.connection(), artwork)
        reg.refresh(writer)  # the writer's session: it can see its own row, the index must not
        assert phantom not in set(reg.arrays()[0].tolist())
        writer.rollback()
    with engine.connect() as conn:
        kept = insert_fingerprint(conn, artwork)
        conn.commit()
    assert indexed(app, reg) == {kept}
    with engine.connect() as conn:
        [row] = conn.execute(select(Fingerprint.hash).where(Fingerprint.id == kept)).all()
    words = service.hex_to_words([row.hash])[0]
    positions, _ = reg.index.search(words, 0)
    assert reg.arrays()[0][positions].tolist() == [kept]


def register_in_one_batch(app, first: int, second: int) -> None:  # type: ignore[no-untyped-def]
    """Publish two artworks and register both in one ``sync`` (one transaction)."""
    with db.session_scope(app) as session:
        for artwork_id in (first, second):
            artwork = session.get(Artwork, artwork_id)
            artwork.published_at = utcnow()
            service.published(session, artwork)
    with db.session_scope(app) as session:
        assert service.sync(session, app) == 2


def test_two_users_registered_in_one_batch_still_conflict(app, artist, other_artist):
    """The index cannot see the batch's own uncommitted rows, so registration checks them too."""
    first = new_artwork(artist, encode(picture(60)))
    second = new_artwork(other_artist, encode(picture(60), "JPEG", quality=70))
    register_in_one_batch(app, first, second)
    with db.session_scope(app) as session:
        states = session.scalars(select(Registration.state)).all()
        assert states == ["registered", "registered"]
        [conflict] = session.scalars(select(RegistryConflict)).all()
        assert (conflict.existing_artwork_id, conflict.artwork_id) == (first, second)


def test_one_batch_holds_the_detail_grid_to_the_same_rule(app, artist, other_artist):
    """Within one batch, a washed-out version of another user's drawing (same hash and colour
    grid, another shading) is not a conflict, as it is not through the index."""
    grey = picture(61).convert("L").convert("RGB")
    faded = Image.eval(grey, lambda v: 170 + v * 85 // 255)
    register_in_one_batch(
        app, new_artwork(artist, encode(grey)), new_artwork(other_artist, encode(faded))
    )
    with db.session_scope(app) as session:
        assert session.scalars(select(RegistryConflict)).all() == []


def test_a_deleted_work_never_lends_its_picture_or_its_ids_to_the_next_one(
    client, artist, other_artist
):
    """SQLite gives the ids of deleted newest rows to the next inserts: the index still takes
    the new rows, and the deleted picture's stale entries are never credited to anyone."""
    first, second = encode(picture(101)), encode(picture(202))
    gone = publish_picture(artist, first)
    assert match(client, first).json["candidates"]  # the index now holds its entries
    assert artist.delete(f"/api/v1/artworks/{gone['id']}").status_code == 204
    work = publish_picture(other_artist, second)
    found = match(client, second).json["candidates"]
    assert [c["work"]["public_id"] for c in found] == [work["work"]["public_id"]]
    assert match(client, first).json["candidates"] == []  # not the next work's any more


def test_two_overlapping_registrations_of_one_picture_still_conflict(
    app, artist, other_artist, database_url
):
    """A publish request and a worker tick registering at the same time (PostgreSQL): the
    second waits for the first to commit, sees its fingerprints and flags the conflict."""
    import threading
    import time

    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer: registrations never overlap there")
    first = new_artwork(artist, encode(picture(80)))
    second = new_artwork(other_artist, encode(picture(80), "JPEG", quality=85))
    with db.session_scope(app) as session:
        for artwork_id in (first, second):
            artwork = session.get(Artwork, artwork_id)
            artwork.published_at = utcnow()
            service.published(session, artwork)
    make = app.extensions["creditline.sessions"]
    started = threading.Event()

    def register(artwork_id: int, hold: float) -> None:
        session = make()
        try:
            service.sync(session, app, only=artwork_id)
            started.set()
            time.sleep(hold)  # still uncommitted while the other one registers
            session.commit()
        finally:
            session.close()

    one = threading.Thread(target=register, args=(first, 0.5))
    one.start()
    started.wait(10)
    two = threading.Thread(target=register, args=(second, 0.0))
    two.start()
    one.join(30)
    two.join(30)
    with db.session_scope(app) as session:
        [conflict] = session.scalars(select(RegistryConflict)).all()
        assert (conflict.artwork_id, conflict.existing_artwork_id) == (second, first)
