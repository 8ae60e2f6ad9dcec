"""Appeals: the later registration's owner contests an earlier owner's keep_first once; the
public record says "appealed" until an operator decides (server/registry/conflicts.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from server import db
from server.cli import main
from server.models import Artwork, RegistryConflict, User
from server.registry import conflicts
from tests.conftest import make_artist
from tests.server.test_migrations import empty_engine  # noqa: F401 (a fixture)
from tests.server.test_registry_conflicts import conflict_pair, resolve, shown

MARKUP = '</q><script>alert(1)</script><b onmouseover="x">mine & "first"</b>'


def appeal(who, artwork_id: int, conflict_id: int, reason: str | None = None, **extra):  # type: ignore[no-untyped-def]
    body = {"conflict": conflict_id, **({} if reason is None else {"reason": reason}), **extra}
    return who.post(f"/api/v1/artworks/{artwork_id}/conflicts/appeal", json=body)


def review(client, work: dict) -> dict:  # type: ignore[no-untyped-def]
    return client.get(f"/api/v1/works/{work['work']['public_id']}").json


def page(client, work: dict) -> str:  # type: ignore[no-untyped-def]
    response = client.get(f"/a/{work['work']['public_id']}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def row(app, conflict_id: int) -> RegistryConflict:  # type: ignore[no-untyped-def]
    with db.session_scope(app) as session:
        found = session.get(RegistryConflict, conflict_id)
        session.expunge(found)
        return found


def test_an_appeal_goes_to_an_operator_who_can_hand_the_attribution_over(
    app, client, artist, other_artist, operator_cli
):
    first, copy, conflict_id = conflict_pair(artist, other_artist)
    kept = resolve(artist, first["id"], conflict_id, "keep_first")
    assert kept.status_code == 200 and kept.json["decided_by"] == "owner"
    assert review(client, first)["review"] == "disputed"

    answer = appeal(other_artist, copy["id"], conflict_id, "  I drew this in 2019; see my stream ")
    assert answer.status_code == 200, answer.json
    out = answer.json
    assert (out["id"], out["role"], out["state"], out["decided_by"]) == (
        conflict_id,
        "later",
        "kept_first",
        "owner",
    )
    assert out["under_appeal"] is True and out["appealed_at"] is not None
    assert out["appeal_reason"] == "I drew this in 2019; see my stream"  # trimmed
    # the earlier owner sees it too; the decision stands meanwhile
    [mine] = artist.get(f"/api/v1/artworks/{first['id']}/conflicts").json["items"]
    assert (mine["role"], mine["under_appeal"], mine["appeal_reason"]) == (
        "earlier",
        True,
        "I drew this in 2019; see my stream",
    )
    assert shown(client, first, copy) == ["first"]

    # the record that kept the attribution says it is under appeal, without the reason
    # (an appeal must not be a way to post text on another artist's public record)
    doc = review(client, first)
    assert doc["review"] == "appealed"
    assert doc["review_decided_at"] is not None
    assert "2019" not in str(doc)
    html = page(client, first)
    assert "This attribution is under appeal" in html
    assert "I drew this in 2019" not in html
    assert review(client, copy)["review"] == "none"  # the appellant's work is still hidden

    # the operator sees it, with the reason, by default and with --appealed
    for listed in (
        operator_cli("conflicts", "list"),
        operator_cli("conflicts", "list", "--appealed"),
    ):
        assert f"{conflict_id:>6}  kept_first    by owner     APPEALED" in listed
        assert '"I drew this in 2019; see my stream"' in listed
    assert operator_cli("conflicts", "resolve", str(conflict_id), "give_second").strip() == (
        f"conflict {conflict_id}: given_second (appeal closed)"
    )
    assert shown(client, first, copy) == ["copy"]  # the later work is visible now
    assert review(client, copy)["review"] == "disputed"
    assert review(client, first)["review"] == "none"
    assert "under appeal" not in page(client, first)

    stored = row(app, conflict_id)
    assert (stored.state, stored.decided_by) == ("given_second", "operator")
    assert stored.appealed_at is not None and stored.appeal_reason  # kept as history
    assert stored.resolved_at >= stored.appealed_at  # the operator's decision
    assert operator_cli("conflicts", "list").strip() == "no open or appealed conflicts"
    assert operator_cli("conflicts", "list", "--appealed").strip() == "no conflicts under appeal"
    everything = operator_cli("conflicts", "list", "--all")
    assert f"{conflict_id:>6}  given_second  by operator  appeal-done" in everything
    # no second appeal, and the owner cannot re-decide through the API
    again = appeal(other_artist, copy["id"], conflict_id, "once more")
    assert again.status_code == 409 and "already appealed" in again.json["error"]["message"]
    assert resolve(artist, first["id"], conflict_id, "keep_first").status_code == 409
    both = CliRunner().invoke(main, ["conflicts", "list", "--all", "--appealed"])
    assert both.exit_code != 0 and "not both" in both.output


def test_an_operator_may_uphold_the_owners_decision(
    app, client, artist, other_artist, operator_cli
):
    first, copy, conflict_id = conflict_pair(artist, other_artist)
    resolve(artist, first["id"], conflict_id, "keep_first")
    assert appeal(other_artist, copy["id"], conflict_id).status_code == 200  # no reason: fine
    assert "(no reason given)" in operator_cli("conflicts", "list", "--appealed")
    operator_cli("conflicts", "resolve", str(conflict_id), "keep_first")
    assert shown(client, first, copy) == ["first"]
    doc = review(client, first)
    assert doc["review"] == "disputed"
    assert row(app, conflict_id).decided_by == "operator"


def test_markup_in_the_reason_is_stored_as_text_and_never_public(client, artist, other_artist):
    first, copy, conflict_id = conflict_pair(artist, other_artist)
    resolve(artist, first["id"], conflict_id, "keep_first")
    assert appeal(other_artist, copy["id"], conflict_id, MARKUP).status_code == 200
    [mine] = artist.get(f"/api/v1/artworks/{first['id']}/conflicts").json["items"]
    assert mine["appeal_reason"] == MARKUP  # stored as given, JSON (not HTML) to both sides
    assert "alert" not in str(review(client, first))
    html = page(client, first)
    assert "alert" not in html and "onmouseover" not in html
    soup = BeautifulSoup(html, "html.parser")
    assert [s.get("type") for s in soup.find_all("script")] == ["application/ld+json"]


# -- refused appeals ---------------------------------------------------------------------------


def test_only_the_later_owner_appeals_an_owners_keep_first(app, client, artist, other_artist):
    first, copy, conflict_id = conflict_pair(artist, other_artist)

    def refused(who, artwork_id, status, words, cid=conflict_id, **body):  # type: ignore[no-untyped-def]
        answer = appeal(who, artwork_id, cid, **body)
        assert answer.status_code == status, answer.json
        assert words in answer.json["error"]["message"], answer.json
        return answer.json["error"]

    # still open: the earlier owner decides first
    assert refused(other_artist, copy["id"], 409, "still open")["field"] == "conflict"
    resolve(artist, first["id"], conflict_id, "keep_first")
    # someone else's artwork, the earlier side's own work, a stranger, unknown ids: 404
    refused(other_artist, first["id"], 404, "artwork")
    refused(artist, first["id"], 404, "later registration")
    refused(artist, copy["id"], 404, "artwork")
    stranger = make_artist(app, "stranger")
    refused(stranger, copy["id"], 404, "artwork")
    refused(other_artist, copy["id"], 404, "no conflict", cid=conflict_id + 999)
    refused(other_artist, copy["id"], 404, "no conflict", cid=10**30)
    refused(other_artist, copy["id"], 404, "no conflict", cid=-1)
    # malformed bodies: 400 naming the field
    assert refused(other_artist, copy["id"], 400, "", reason="x" * 501)["field"] == "reason"
    assert refused(other_artist, copy["id"], 400, "one line", reason="a\nb")["field"] == "reason"
    assert refused(other_artist, copy["id"], 400, "", reason=["list"])["field"] == "reason"
    assert refused(other_artist, copy["id"], 400, "NUL", reason="a\0b")["field"] == "reason"
    for invisible in ("\u202e", "\u2066", "\u200b", "\ufeff"):  # reorders or hides text
        assert (
            refused(other_artist, copy["id"], 400, "", reason=f"a{invisible}b")["field"] == "reason"
        )
    assert refused(other_artist, copy["id"], 400, "", cid="seven")["field"] == "conflict"
    missing = other_artist.post(f"/api/v1/artworks/{copy['id']}/conflicts/appeal", json={})
    assert missing.status_code == 400 and missing.json["error"]["field"] == "conflict"
    broken = other_artist.post(
        f"/api/v1/artworks/{copy['id']}/conflicts/appeal",
        data=b"{not json",
        content_type="application/json",
    )
    assert broken.status_code == 400 and broken.json["error"]["code"] == "malformed_json"
    # none of that touched the conflict
    stored = row(app, conflict_id)
    assert (stored.state, stored.appealed_at, stored.appeal_reason) == ("kept_first", None, None)
    assert review(client, first)["review"] == "disputed"
    # exactly 500 characters is accepted
    assert appeal(other_artist, copy["id"], conflict_id, "y" * 500).status_code == 200


@pytest.mark.parametrize(
    ("decision", "words"),
    [("give_second", "nothing to appeal"), ("separate", "nothing to appeal")],
)
def test_a_decision_that_shows_the_later_work_is_not_appealable(
    app, artist, other_artist, decision, words
):
    first, copy, conflict_id = conflict_pair(artist, other_artist)
    resolve(artist, first["id"], conflict_id, decision)
    answer = appeal(other_artist, copy["id"], conflict_id, "why not")
    assert answer.status_code == 409 and words in answer.json["error"]["message"]
    assert row(app, conflict_id).appealed_at is None


def test_an_operators_or_an_unrecorded_decision_is_not_appealable(
    app, artist, other_artist, operator_cli
):
    _first, copy, conflict_id = conflict_pair(artist, other_artist)
    operator_cli("conflicts", "resolve", str(conflict_id), "keep_first")
    answer = appeal(other_artist, copy["id"], conflict_id)
    assert answer.status_code == 409 and "by an operator" in answer.json["error"]["message"]
    with db.session_scope(app) as session:  # as rows decided before migration 0010 are
        session.execute(update(RegistryConflict).values(decided_by=None))
    answer = appeal(other_artist, copy["id"], conflict_id)
    assert answer.status_code == 409 and "ask an operator" in answer.json["error"]["message"]
    assert row(app, conflict_id).appealed_at is None


def test_of_two_appeals_or_an_appeal_and_an_operator_read_together_one_counts(
    app, artist, other_artist
):
    """The appeal is one conditional UPDATE: a request that read the row before another
    appeal, or before an operator's decision, does not overwrite what happened meanwhile."""
    first, _copy, conflict_id = conflict_pair(artist, other_artist)
    resolve(artist, first["id"], conflict_id, "keep_first")
    with db.session_scope(app) as stale:
        read_first = stale.get(RegistryConflict, conflict_id)
        with db.session_scope(app) as other:
            conflicts.appeal(other, other.get(RegistryConflict, conflict_id), "first")
        with pytest.raises(conflicts.NotAppealable, match="already appealed"):
            conflicts.appeal(stale, read_first, "second")
    assert row(app, conflict_id).appeal_reason == "first"

    second, _copy2, cid2 = conflict_pair(artist, other_artist, seed=55)
    resolve(artist, second["id"], cid2, "keep_first")
    with db.session_scope(app) as stale:
        read_first = stale.get(RegistryConflict, cid2)
        with db.session_scope(app) as operator:
            conflicts.resolve(
                operator, operator.get(RegistryConflict, cid2), "keep_first", operator=True
            )
        with pytest.raises(conflicts.NotAppealable, match="by an operator"):
            conflicts.appeal(stale, read_first, "late")
    assert row(app, cid2).appealed_at is None


def test_an_operator_does_not_close_an_appeal_that_arrived_after_they_looked(
    app, artist, other_artist
):
    """An operator decides on the conflict as read: an appeal committed meanwhile stays open
    (nothing changes, and they are told) rather than being closed unseen."""
    first, copy, conflict_id = conflict_pair(artist, other_artist)
    resolve(artist, first["id"], conflict_id, "keep_first")
    with db.session_scope(app) as operator:
        read_before = operator.get(RegistryConflict, conflict_id)
        assert read_before.appealed_at is None
        assert appeal(other_artist, copy["id"], conflict_id, "it is mine").status_code == 200
        with pytest.raises(conflicts.ChangedMeanwhile, match="appealed while you decided"):
            conflicts.resolve(operator, read_before, "give_second", operator=True)
    stored = row(app, conflict_id)
    assert (stored.state, stored.decided_by, stored.appeal_reason) == (
        "kept_first",
        "owner",
        "it is mine",
    )
    with db.session_scope(app) as operator:  # read again: the decision goes through
        decided = conflicts.resolve(
            operator, operator.get(RegistryConflict, conflict_id), "give_second", operator=True
        )
        assert (decided.state, decided.decided_by) == ("given_second", "operator")


# -- the migration -----------------------------------------------------------------------------


def test_migration_0010_keeps_decided_conflicts_and_leaves_who_decided_unknown(empty_engine):  # noqa: F811
    db.upgrade(empty_engine, "0009")
    with Session(empty_engine) as session:
        users = [User(username=name) for name in ("a", "b")]
        session.add_all(users)
        session.flush()
        works = [
            Artwork(user_id=u.id, public_id=f"p{u.id}", title="t", rating="general") for u in users
        ]
        session.add_all(works)
        session.commit()
        later, earlier = works[1].id, works[0].id
    decided = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
    # as the driver takes it: SQLite stores naive UTC (UTCDateTime), PostgreSQL timestamptz
    stamp = decided.replace(tzinfo=None) if empty_engine.dialect.name == "sqlite" else decided
    with empty_engine.begin() as conn:  # the 0009 table, without the new columns
        conn.execute(
            text(
                "INSERT INTO registry_conflicts (artwork_id, existing_artwork_id, distance, "
                "state, created_at, resolved_at) VALUES (:l, :e, 3, 'kept_first', :t, :t)"
            ),
            {"l": later, "e": earlier, "t": stamp},
        )
    db.upgrade(empty_engine)
    with Session(empty_engine) as session:
        [conflict] = session.scalars(select(RegistryConflict)).all()
        assert (conflict.state, conflict.distance) == ("kept_first", 3)
        assert conflict.resolved_at == decided
        assert (conflict.decided_by, conflict.appealed_at, conflict.appeal_reason) == (
            None,
            None,
            None,
        )
        # unknown who decided: not appealable through the API, and nothing is written
        with pytest.raises(conflicts.NotAppealable, match="ask an operator"):
            conflicts.appeal(session, conflict, "mine")
        session.rollback()
        # an operator's decision records itself
        conflicts.resolve(session, conflict, "give_second", operator=True)
        session.commit()
        assert conflict.decided_by == "operator"
