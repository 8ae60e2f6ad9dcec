"""The per-process index catches up with the fingerprints table without missing rows that
commit out of id order, and without holding rows whose transaction rolls back."""

from __future__ import annotations

import math
import secrets
import threading
import time

import pytest
from PIL import Image
from sqlalchemy import delete, insert, select

from server import db
from server.models import Artwork, Fingerprint, Registration, RegistryConflict, utcnow
from server.registry import service
from server.registry.index import MIHIndex
from tests.server.helpers import HYENA, artwork_form, png_bytes
from tests.server.registry_helpers import dot_grid, encode, match, picture, publish_picture


def new_artwork(artist, image: bytes | None = None) -> int:  # type: ignore[no-untyped-def]
    artist.post("/api/v1/people", json=HYENA)
    body = {"title": "t", "rating": "general", "credits": [{"role": "artist", "person": "hyena"}]}
    created = artist.post("/api/v1/artworks", data=artwork_form(body, image or png_bytes()))
    assert created.status_code == 201, created.json
    return created.json["id"]


def insert_fingerprint(  # type: ignore[no-untyped-def]
    conn, artwork_id: int, fid: int | None = None, hash_hex: str | None = None
) -> int:
    """One fingerprint row on ``conn`` (not committed; id ``fid`` if given); its id."""
    values = {
        "artwork_id": artwork_id,
        "image_sha256": "0" * 64,
        "variant": "full",
        "hash": hash_hex or secrets.token_hex(32),
        "colour": secrets.token_bytes(48),
        "bucket": 0,
        "quality": 90,
        "created_at": utcnow(),
    }
    if fid is not None:
        values["id"] = fid
    return conn.execute(insert(Fingerprint).values(**values).returning(Fingerprint.id)).scalar_one()


def indexed(app, reg: service.Registry) -> set[int]:  # type: ignore[no-untyped-def]
    with db.session_scope(app) as session:
        reg.refresh(session)
    reg.wait()  # a reconciliation it started (in its own thread) has finished
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


def test_the_same_pattern_file_registered_by_two_users_in_one_batch_conflicts(
    app, artist, other_artist
):
    """A tiled pattern is never matched; the same file is caught by its bytes, also when the
    earlier registration is in the same transaction (flushed, not committed)."""
    data = encode(dot_grid(6))
    first, second = new_artwork(artist, data), new_artwork(other_artist, data)
    register_in_one_batch(app, first, second)
    with db.session_scope(app) as session:
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


# -- reconciliation: rows the gap watch gave up on -------------------------------------------


def commit_fingerprints(app, artwork_id: int, count: int) -> list[int]:  # type: ignore[no-untyped-def]
    with db.engine_for(app).connect() as conn:
        ids = [insert_fingerprint(conn, artwork_id) for _ in range(count)]
        conn.commit()
    return ids


def delete_fingerprints(app, ids: list[int]) -> None:  # type: ignore[no-untyped-def]
    with db.engine_for(app).connect() as conn:
        conn.execute(delete(Fingerprint).where(Fingerprint.id.in_(ids)))
        conn.commit()


@pytest.mark.parametrize("delete_one", [False, True], ids=["plain", "with-a-deletion"])
def test_a_row_committed_after_its_gap_was_forgotten_is_found_by_reconciliation(
    app, artist, database_url, monkeypatch, delete_one
):
    """A transaction that holds its id longer than ``GAP_SECONDS``: the gap watch forgets the
    id, and only the count comparison finds the row once it commits. ``with-a-deletion``: an
    indexed row is deleted in the same interval, so the counts agree and the id sum tells."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: a row cannot commit behind a later id")
    monkeypatch.setattr(service, "GAP_SECONDS", 0.3)
    artwork = new_artwork(artist)
    before = commit_fingerprints(app, artwork, 3)
    reconciling = service.Registry(reconcile_seconds=0.0, reconcile_page=2)
    today = service.Registry(reconcile_seconds=math.inf)  # the gap watch alone
    engine = db.engine_for(app)
    with engine.connect() as slow, engine.connect() as fast:
        early = insert_fingerprint(slow, artwork)
        late = insert_fingerprint(fast, artwork)
        fast.commit()
        for reg in (reconciling, today):
            assert indexed(app, reg) == {*before, late}
            assert early in reg.gaps
        time.sleep(0.4)  # the slow transaction outlives GAP_SECONDS
        for reg in (reconciling, today):
            assert indexed(app, reg) == {*before, late}
            assert reg.gaps == {}
        assert reconciling.reconciliations == 0  # counts agreed at every refresh so far
        if delete_one:
            delete_fingerprints(app, [before[0]])
        slow.commit()
    assert indexed(app, today) == {*before, late}  # never seen again by this process
    assert indexed(app, reconciling) == {*before, late, early}
    assert reconciling.reconciliations == 1
    for _ in range(3):  # agreed again: no second pass, nothing added twice
        assert indexed(app, reconciling) == {*before, late, early}
    assert reconciling.reconciliations == 1
    assert len(reconciling.index) == 5
    with db.session_scope(app) as session:
        [row] = session.execute(select(Fingerprint.hash).where(Fingerprint.id == early)).all()
    positions, _ = reconciling.index.search(service.hex_to_words([row.hash])[0], 0)
    assert reconciling.arrays()[0][positions].tolist() == [early]


def test_late_rows_hidden_by_deletions_of_the_same_count_and_id_sum_are_found(
    app, artist, database_url, monkeypatch
):
    """Ids 102 and 107 commit after their gaps were forgotten while the indexed 101 and 108
    are deleted: two rows in, two out, with the same id sum (209), so the table's count and id
    sum are what the process took; only the squares tell (102² + 107² = 21,853 against
    101² + 108² = 21,865)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: a row cannot commit behind a later id")
    monkeypatch.setattr(service, "GAP_SECONDS", 0.3)
    artwork = new_artwork(artist)
    kept, gone, late = [100, 103, 104, 105, 106], [101, 108], [102, 107]
    engine = db.engine_for(app)
    with engine.connect() as conn:
        for fid in sorted(kept + gone):
            insert_fingerprint(conn, artwork, fid)
        conn.commit()
    reg = service.Registry(reconcile_seconds=0.0)
    with engine.connect() as slow:
        for fid in late:
            insert_fingerprint(slow, artwork, fid)
        assert indexed(app, reg) == {*kept, *gone}
        assert set(late) <= set(reg.gaps)
        time.sleep(0.4)  # the slow transaction outlives GAP_SECONDS
        assert indexed(app, reg) == {*kept, *gone} and reg.gaps == {}
        delete_fingerprints(app, gone)
        slow.commit()
    assert sum(gone) == sum(late) and service.Tally.of(gone) != service.Tally.of(late)
    assert indexed(app, reg) == {*kept, *gone, *late}
    assert reg.reconciliations == 1
    assert reg.removed == service.Tally.of(gone)
    for _ in range(3):  # agreed again: no second pass
        assert indexed(app, reg) == {*kept, *gone, *late}
    assert reg.reconciliations == 1


def test_deleted_and_reused_ids_cost_one_reconciliation_each_and_add_nothing(
    app, artist, database_url
):
    """Deleting indexed rows lowers the table's count below what the process took: one pass
    finds nothing to add and remembers them as removed, and later checks agree (no pass per
    interval, no re-added rows). SQLite gives a deleted newest id to the next row, which the
    catch-up takes by its created_at: when the deletion was reconciled before, the counts
    agree at once; when both fall between two checks, one more pass, still nothing added."""
    sqlite = not database_url.startswith("postgresql")
    artwork = new_artwork(artist)
    rows = commit_fingerprints(app, artwork, 6)
    reg = service.Registry(reconcile_seconds=0.0, reconcile_page=4)
    assert indexed(app, reg) == set(rows)
    delete_fingerprints(app, [rows[1], rows[-1]])
    for _ in range(3):
        assert indexed(app, reg) == set(rows)  # stale entries stay; confirm() drops them
    assert reg.reconciliations == 1 and len(reg.index) == 6
    [new] = commit_fingerprints(app, artwork, 1)
    assert (new == rows[-1]) is sqlite  # SQLite reuses the deleted newest id
    for _ in range(3):
        assert indexed(app, reg) == {*rows, new}
    assert len(reg.index) == 7  # the new row once, beside the stale entry of a reused id
    assert reg.reconciliations == 1
    delete_fingerprints(app, [new])  # deleted and reused between two checks
    [newer] = commit_fingerprints(app, artwork, 1)
    assert (newer == new) is sqlite
    for _ in range(3):
        assert indexed(app, reg) == {*rows, new, newer}
    assert len(reg.index) == 8 and reg.reconciliations == 2


class FailingOnce(MIHIndex):
    """An index whose next addition fails before storing anything, as a ``MemoryError``
    growing the buffer would."""

    def __init__(self) -> None:
        super().__init__()
        self.fail = False

    def add(self, words):  # type: ignore[no-untyped-def]
        if self.fail:
            self.fail = False
            raise MemoryError("no room for the new rows")
        super().add(words)


def test_rows_lost_by_a_failed_addition_are_recovered_by_reconciliation(app, artist):
    """The catch-up moves ``last_id`` past rows before adding them; an addition that fails
    loses them for the catch-up, and the count comparison brings them back."""
    artwork = new_artwork(artist)
    first = commit_fingerprints(app, artwork, 2)
    index = FailingOnce()
    reg = service.Registry(index=index, reconcile_seconds=0.0)
    assert indexed(app, reg) == set(first)
    lost = commit_fingerprints(app, artwork, 3)
    index.fail = True
    with pytest.raises(MemoryError), db.session_scope(app) as session:
        reg.refresh(session)
    assert reg.last_id == max(lost)  # the catch-up will not ask for them again
    assert set(reg.arrays()[0].tolist()) == set(first)
    assert indexed(app, reg) == {*first, *lost}
    assert indexed(app, reg) == {*first, *lost}
    assert reg.reconciliations == 1 and len(reg.index) == 5


class HeldReconciliation(service.Registry):
    """A registry whose reconciliation waits for the test's signal, as a listing of 10 million
    ids (about 9 s) would."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.release = threading.Event()
        self.started = threading.Event()
        self.runs = 0

    def _reconcile(self, conn, upto, expected):  # type: ignore[no-untyped-def]
        self.runs += 1
        self.started.set()
        assert self.release.wait(30)
        super()._reconcile(conn, upto, expected)


def test_searches_do_not_wait_for_a_reconciliation_and_one_runs_at_a_time(app, artist):
    artwork = new_artwork(artist)
    first = commit_fingerprints(app, artwork, 2)
    reg = HeldReconciliation(reconcile_seconds=0.0)
    with db.session_scope(app) as session:
        reg.refresh(session)
    assert reg.started.wait(10)
    more = commit_fingerprints(app, artwork, 2)
    started = time.monotonic()
    for _ in range(3):
        with db.session_scope(app) as session:
            reg.refresh(session)  # catches up; does not start a second reconciliation
    assert time.monotonic() - started < 5
    assert set(reg.arrays()[0].tolist()) == {*first, *more}
    assert reg.runs == 1
    reg.release.set()
    reg.wait()
    assert indexed(app, reg) == {*first, *more}
    assert reg.runs == 2 and reg.reconciliations == 0  # the counts agreed both times


def test_an_uninformative_row_counts_as_taken_and_is_not_listed_again(app, artist):
    """Rows skipped as uninformative are part of what the process took: they never make the
    counts differ."""
    artwork = new_artwork(artist)
    with db.engine_for(app).connect() as conn:
        blank = conn.execute(
            insert(Fingerprint)
            .values(
                artwork_id=artwork,
                image_sha256="0" * 64,
                variant="full",
                hash="0" * 64,  # a flat picture's hash: never matched
                colour=bytes(48),
                bucket=0,
                quality=90,
                created_at=utcnow(),
            )
            .returning(Fingerprint.id)
        ).scalar_one()
        conn.commit()
    kept = commit_fingerprints(app, artwork, 2)
    reg = service.Registry(reconcile_seconds=0.0)
    for _ in range(2):
        assert indexed(app, reg) == set(kept)
    assert reg.reconciliations == 0
    assert reg.taken == service.Tally.of([blank, *kept])


class SearchDuringFetch:
    """The reconciliation's connection, on which a search's catch-up runs just before the
    missing rows are fetched (after the listing and the known ids were read), as one can while
    a reconciliation over millions of rows takes seconds. Statements: 1 the count and sum,
    2 the listing (one page here), 3 fetching the missing rows."""

    def __init__(self, conn, app, reg: service.Registry) -> None:  # type: ignore[no-untyped-def]
        self.conn, self.app, self.reg, self.statements = conn, app, reg, 0

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.conn, name)

    def execute(self, statement, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.statements += 1
        if self.statements == 3:
            with db.session_scope(self.app) as session:
                self.reg.refresh(session)  # takes the watched gap that has committed
        return self.conn.execute(statement, *args, **kwargs)


def test_a_row_taken_by_a_search_during_a_reconciliation_is_not_taken_twice(app, artist):
    """With an uninformative row among those taken, the rows other refreshes took while the
    reconciliation fetched are still recognised (they were once read from the wrong end of the
    taken ids, and the gap row was indexed twice)."""
    artwork = new_artwork(artist)
    with db.engine_for(app).begin() as conn:
        base = conn.execute(select(Fingerprint.id).order_by(Fingerprint.id.desc())).scalar() or 0
        for offset in (1, 3, 5):
            insert_fingerprint(conn, artwork, fid=base + offset)
        insert_fingerprint(conn, artwork, fid=base + 2, hash_hex="0" * 64)  # never indexed
    reg = service.Registry(reconcile_seconds=1e9)
    assert indexed(app, reg) == {base + 1, base + 3, base + 5}
    assert base + 4 in reg.gaps  # its transaction may still commit
    expected = reg.taken
    with db.engine_for(app).begin() as conn:
        insert_fingerprint(conn, artwork, fid=base + 4)  # it does
    with db.engine_for(app).connect() as conn:
        during = SearchDuringFetch(conn, app, reg)
        reg._reconcile(during, reg.last_id, expected)  # the counts differ by the late row
    assert during.statements == 3
    ids = reg.arrays()[0].tolist()
    assert sorted(ids) == [base + 1, base + 3, base + 4, base + 5]  # once each
    assert reg.removed == service.Tally()  # nothing the table holds counts as gone
