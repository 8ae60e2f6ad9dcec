"""Deliveries are read-only through the API; the engine writes them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from server import db
from server.models import Account, Artwork, Delivery, User


def add_delivery(app, username: str, state: str = "scheduled") -> int:
    with db.session_scope(app) as session:
        user = session.scalar(select(User).where(User.username == username))
        artwork = Artwork(
            user_id=user.id, public_id=f"pub{username[:7]}", title="t", rating="general"
        )
        account = Account(user_id=user.id, platform="mastodon", name="@me@example.social")
        session.add_all([artwork, account])
        session.flush()
        delivery = Delivery(
            artwork_id=artwork.id,
            account_id=account.id,
            state=state,
            idempotency_key=f"key-{username}",
            scheduled_at=dt.datetime(
                2026, 12, 1, 18, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))
            ),
        )
        session.add(delivery)
        session.flush()
        return delivery.id


def test_list_and_show(app, artist):
    delivery_id = add_delivery(app, artist.username)
    [listed] = artist.get("/api/v1/deliveries").json["items"]
    assert listed["id"] == delivery_id
    assert listed["platform"] == "mastodon"
    assert listed["state"] == "scheduled"
    # stored as UTC, whatever zone it was given in
    assert listed["scheduled_at"] == "2026-12-01T16:30:00Z"
    shown = artist.get(f"/api/v1/deliveries/{delivery_id}").json
    assert shown == listed
    by_artwork = artist.get(f"/api/v1/artworks/{listed['artwork_id']}/deliveries").json["items"]
    assert by_artwork == [listed]


def test_deliveries_cannot_be_written_through_this_api(app, artist):
    delivery_id = add_delivery(app, artist.username)
    assert artist.post("/api/v1/deliveries", json={}).status_code == 405
    assert (
        artist.patch(f"/api/v1/deliveries/{delivery_id}", json={"state": "posted"}).status_code
        == 405
    )
    assert artist.delete(f"/api/v1/deliveries/{delivery_id}").status_code == 405
    assert artist.get(f"/api/v1/deliveries/{delivery_id}").json["state"] == "scheduled"


def test_deliveries_are_private(app, artist, other_artist):
    delivery_id = add_delivery(app, artist.username)
    assert other_artist.get("/api/v1/deliveries").json["items"] == []
    assert other_artist.get(f"/api/v1/deliveries/{delivery_id}").status_code == 404
