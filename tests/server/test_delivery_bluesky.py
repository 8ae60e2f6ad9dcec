"""The engine posting to the real Bluesky PDS on loopback: mentions become DIDs, the session
is kept (sealed) between posts, and a crash after the record was written never posts twice."""

from __future__ import annotations

import pytest

from server import db, vault
from server.models import Account, Delivery
from tests.server.helpers import ARTWORK, TANRAAK, artwork_form, png_bytes
from tests.server.test_delivery_runs import attempt, deliver, row


@pytest.fixture
def bluesky_setup(app, artist, bluesky_pds):
    poster = bluesky_pds.create_account("artist")
    friend = bluesky_pds.create_account("hyena")
    artist.post("/api/v1/people", json=TANRAAK)
    artist.post(
        "/api/v1/people",
        json={"key": "hyena", "name": "Hyena Dude", "accounts": {"bluesky": friend.handle}},
    )
    artwork = artist.post("/api/v1/artworks", data=artwork_form(ARTWORK, png_bytes())).json
    account = artist.post(
        "/api/v1/accounts",
        json={"platform": "bluesky", "name": poster.handle, "credentials": poster.credentials},
    ).json
    return artist, artwork, account, poster, friend


def stored_credentials(app, account_id: int) -> dict[str, str]:
    with db.session_scope(app) as session:
        return vault.box_for(app).open(session.get(Account, account_id).credentials)


def test_post_with_resolved_mentions_and_a_kept_session(app, bluesky_setup, bluesky_pds):
    artist, artwork, account, _, friend = bluesky_setup
    delivery_id = deliver(artist, artwork, account)
    assert attempt(app) == ["posted"]
    done = row(app, delivery_id)
    record = bluesky_pds.get_record(done.remote_id)["value"]
    assert "Hyena Dude" in record["text"] or friend.handle in record["text"]
    mentions = [
        f["features"][0]
        for f in record["facets"]
        if f["features"][0]["$type"] == "app.bsky.richtext.facet#mention"
    ]
    assert {m["did"] for m in mentions} == {friend.did}
    assert record["embed"]["images"][0]["alt"] == ARTWORK["alt_text"][0]
    assert [v["val"] for v in record["labels"]["values"]] == ["sexual"]
    assert done.remote_url.startswith("https://bsky.app/profile/")
    assert "session" in stored_credentials(app, account["id"])  # sealed for the next post


def test_crash_after_the_record_was_written_never_posts_twice(app, bluesky_setup, bluesky_pds):
    artist, artwork, account, poster, _ = bluesky_setup
    delivery_id = deliver(artist, artwork, account)
    assert attempt(app) == ["posted"]
    first = row(app, delivery_id).remote_id
    # As if the worker died after the PDS wrote the record but before we recorded it: the row
    # is back in the queue with its outcome unknown and no saved progress.
    with db.session_scope(app) as session:
        delivery = session.get(Delivery, delivery_id)
        delivery.state, delivery.remote_id, delivery.outcome_unknown = "retry_wait", None, True
        delivery.progress = {}
    assert attempt(app) == ["posted"]
    assert row(app, delivery_id).remote_id == first
    assert len(bluesky_pds.list_posts(poster.did)) == 1
