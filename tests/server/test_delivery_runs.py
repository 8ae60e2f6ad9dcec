"""The engine end to end: real adapter code (Mastodon) over real HTTP to a loopback server
that answers in Mastodon's documented shapes, on both databases."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from server import db
from server.delivery import queue, runner
from server.models import Copy, Delivery, utcnow
from tests.peers.mastodon_server import MastodonServer
from tests.server.helpers import ARTWORK, HYENA, TANRAAK, artwork_form, png_bytes

WORKER = "test-worker"


@pytest.fixture
def mastodon():
    server = MastodonServer(tokens={"tok": "tanraak", "tok2": "second"})
    server.start()
    yield server
    server.stop()


def connect(artist, server: MastodonServer, name: str = "@tanraak") -> dict:
    """A Mastodon account of ``artist`` on the loopback ``server`` (token ``tok``)."""
    return artist.post(
        "/api/v1/accounts",
        json={
            "platform": "mastodon",
            "name": name,
            "credentials": {"instance": server.base_url, "access_token": "tok"},
        },
    ).json


def prepare(artist, server: MastodonServer, fields: dict = ARTWORK) -> tuple[dict, dict]:
    """The sample people, an artwork with ``fields`` and one image, and an account."""
    for person in (TANRAAK, HYENA):
        artist.post("/api/v1/people", json=person)
    artwork = artist.post("/api/v1/artworks", data=artwork_form(fields, png_bytes())).json
    return artwork, connect(artist, server)


def prepare_bluesky(artist, bluesky_pds, handle: str):  # type: ignore[no-untyped-def]
    """A Bluesky account ``handle`` on the real PDS, the sample people (Hyena without
    profiles, so the post names him) and the sample artwork: (poster, artwork, account)."""
    poster = bluesky_pds.create_account(handle)
    artist.post("/api/v1/people", json=TANRAAK)
    artist.post("/api/v1/people", json={"key": "hyena", "name": "Hyena Dude"})
    artwork = artist.post("/api/v1/artworks", data=artwork_form(ARTWORK, png_bytes())).json
    account = artist.post(
        "/api/v1/accounts",
        json={"platform": "bluesky", "name": poster.handle, "credentials": poster.credentials},
    ).json
    return poster, artwork, account


@pytest.fixture
def posting(app, artist, mastodon):
    """An artwork with credits, a Mastodon account on the loopback server, no delivery yet."""
    artwork, account = prepare(artist, mastodon)
    return artist, artwork, account


def deliver(artist, artwork, account, **body):
    response = artist.post(
        f"/api/v1/artworks/{artwork['id']}/deliveries", json={"accounts": [account["id"]], **body}
    )
    assert response.status_code == 201, response.json
    return response.json["items"][0]["id"]


def attempt(app, now: dt.datetime | None = None) -> list[str]:
    """Claim whatever is due (at ``now``) and run it here; returns the end states."""
    with db.session_scope(app) as session:
        ids = queue.claim(session, WORKER, now or utcnow(), 10, 60)
    return [runner.run(app, delivery_id, WORKER) for delivery_id in ids]


def row(app, delivery_id: int) -> Delivery:
    with db.session_scope(app) as session:
        delivery = session.get(Delivery, delivery_id)
        session.expunge(delivery)
        return delivery


def later(app, delivery_id: int) -> dt.datetime:
    return row(app, delivery_id).scheduled_at + dt.timedelta(seconds=1)


def test_post_now_records_the_copy(app, posting, mastodon):
    artist, artwork, account = posting
    delivery_id = deliver(artist, artwork, account)
    assert attempt(app) == ["posted"]
    [status] = mastodon.statuses
    assert "Trisk at dusk" in status["content"]
    assert "Hyena Dude" in status["content"] and status["sensitive"]
    [media] = status["media_attachments"]
    assert media["description"] == ARTWORK["alt_text"][0]
    done = artist.get(f"/api/v1/deliveries/{delivery_id}").json
    assert done["state"] == "posted" and done["remote_id"] == status["id"]
    assert done["remote_url"] == status["url"]
    with db.session_scope(app) as session:
        [copy] = session.scalars(select(Copy)).all()
        assert (copy.url, copy.source, copy.delivery_id) == (status["url"], "delivery", delivery_id)
    assert artist.get(f"/api/v1/artworks/{artwork['id']}").json["published_at"] is not None
    # asking again returns the same delivery and posts nothing new
    again = artist.post(
        f"/api/v1/artworks/{artwork['id']}/deliveries", json={"accounts": [account["id"]]}
    ).json
    assert again["items"][0]["id"] == delivery_id and again["created"] == []
    assert attempt(app) == []
    assert len(mastodon.statuses) == 1


def test_scheduled_posts_wait_for_their_time(app, posting, mastodon):
    artist, artwork, account = posting
    when = utcnow() + dt.timedelta(hours=2)
    delivery_id = deliver(artist, artwork, account, scheduled_at=when.isoformat())
    assert attempt(app) == []
    assert attempt(app, when + dt.timedelta(seconds=1)) == ["posted"]
    assert row(app, delivery_id).state == "posted"


def test_server_errors_back_off_then_post_once(app, posting, mastodon):
    artist, artwork, account = posting
    delivery_id = deliver(artist, artwork, account)
    mastodon.fail_next(1, status=503, path="/api/v1/statuses")
    assert attempt(app) == ["retry_wait"]
    waiting = row(app, delivery_id)
    assert waiting.attempts == 1 and "503" in waiting.last_error
    assert waiting.scheduled_at > utcnow() + dt.timedelta(seconds=10)  # backed off
    assert waiting.progress.get("media_ids")  # the upload was saved ...
    assert attempt(app, later(app, delivery_id)) == ["posted"]
    assert len(mastodon.requests_to("POST", "/api/v2/media")) == 1  # ... and not redone
    assert len(mastodon.statuses) == 1


def test_a_lost_answer_is_retried_with_the_same_key_and_posts_once(app, posting, mastodon):
    artist, artwork, account = posting
    delivery_id = deliver(artist, artwork, account)
    mastodon.fail_next(1, status=0, path="/api/v1/statuses", after=True)  # posted, then dropped
    assert attempt(app) == ["retry_wait"]
    assert len(mastodon.statuses) == 1
    assert attempt(app, later(app, delivery_id)) == ["posted"]
    assert len(mastodon.statuses) == 1
    keys = {
        r.headers.get("Idempotency-Key") for r in mastodon.requests_to("POST", "/api/v1/statuses")
    }
    assert keys == {row(app, delivery_id).idempotency_key}
    assert row(app, delivery_id).remote_id == mastodon.statuses[0]["id"]


def test_revoked_token_pauses_the_account_until_fixed(app, posting, mastodon):
    artist, artwork, account = posting
    delivery_id = deliver(artist, artwork, account)
    mastodon.fail_next(1, status=401, path="/api/v2/media", error="The access token was revoked")
    assert attempt(app) == ["retry_wait"]
    paused = artist.get(f"/api/v1/accounts/{account['id']}").json
    assert paused["state"] == "needs_attention" and "revoked" in paused["last_error"]
    assert row(app, delivery_id).attempts == 0
    assert attempt(app, later(app, delivery_id)) == []  # nothing is tried while paused
    artist.patch(
        f"/api/v1/accounts/{account['id']}",
        json={"credentials": {"instance": mastodon.base_url, "access_token": "tok"}},
    )
    assert attempt(app, later(app, delivery_id)) == ["posted"]


def test_rejected_content_fails_with_the_platform_reason(app, posting, mastodon):
    artist, artwork, account = posting
    delivery_id = deliver(artist, artwork, account)
    mastodon.fail_next(
        1,
        status=422,
        path="/api/v1/statuses",
        error="Validation failed: Text character limit of 500 exceeded",
    )
    assert attempt(app) == ["failed"]
    assert "character limit" in row(app, delivery_id).last_error
    assert attempt(app, utcnow() + dt.timedelta(days=1)) == []


def test_rate_limit_waits_for_the_reset(app, posting, mastodon):
    artist, artwork, account = posting
    delivery_id = deliver(artist, artwork, account)
    mastodon.fail_next(1, status=429, path="/api/v1/statuses", reset_in=300)
    before = utcnow()
    assert attempt(app) == ["retry_wait"]
    waiting = row(app, delivery_id)
    assert waiting.attempts == 0
    wait = (waiting.scheduled_at - before).total_seconds()
    assert 250 <= wait <= 320
    assert attempt(app, waiting.scheduled_at - dt.timedelta(seconds=5)) == []
    assert attempt(app, waiting.scheduled_at + dt.timedelta(seconds=1)) == ["posted"]


def test_cancel_while_posting_stops_before_the_post(app, posting, mastodon):
    artist, artwork, account = posting
    delivery_id = deliver(artist, artwork, account)
    with db.session_scope(app) as session:
        [claimed] = queue.claim(session, WORKER, utcnow(), 1, 60)
    # the artist cancels after the claim, before the worker's first checkpoint
    assert artist.post(f"/api/v1/deliveries/{delivery_id}/cancel").json["cancel_requested"]
    assert runner.run(app, claimed, WORKER) == "cancelled"
    assert mastodon.statuses == []


def test_too_many_attempts_fail(app, posting, mastodon):
    app.config["MAX_ATTEMPTS"] = 2
    artist, artwork, account = posting
    delivery_id = deliver(artist, artwork, account)
    mastodon.fail_next(5, status=502, path="/api/v1/statuses")
    assert attempt(app) == ["retry_wait"]
    assert attempt(app, later(app, delivery_id)) == ["failed"]
    assert "gave up after 2 attempts" in row(app, delivery_id).last_error


def test_fan_out_runs_targets_side_by_side(app, posting, mastodon):
    """Three accounts whose posts answer late are all in flight at once (the timing is in
    bench/bench_delivery.py)."""
    from server.delivery.dispatcher import Dispatcher

    artist, artwork, _ = posting
    accounts = [connect(artist, mastodon, f"a{i}")["id"] for i in range(3)]
    artist.post(f"/api/v1/artworks/{artwork['id']}/deliveries", json={"accounts": accounts})
    mastodon.delay_next(3, 0.5, path="/api/v1/statuses", after=False)
    dispatcher = Dispatcher(app, WORKER)
    assert dispatcher.tick() == 3
    assert dispatcher.busy() == 3  # all three running, none waiting for another
    dispatcher.shutdown(wait=True)
    assert dispatcher.busy() == 0
    assert len(mastodon.statuses) == 3


def test_the_instance_character_limit_is_the_one_counted(app, artist):
    """An instance that allows fewer than Mastodon's default 500 characters still gets a post
    that fits: the limit is read from its /api/v2/instance (credits kept, body shortened)."""
    with MastodonServer(tokens={"tok": "tanraak"}, max_characters=200) as small:
        long = {**ARTWORK, "description": "A long story about this piece. " * 12 + "{credits}"}
        artwork, account = prepare(artist, small, long)
        delivery_id = deliver(artist, artwork, account)
        assert attempt(app) == ["posted"], row(app, delivery_id).last_error
        [status] = small.statuses
        assert "Hyena Dude" in status["_text"]  # the credits survive the shortening
        assert "…" in status["_text"]


def test_language_and_focus_reach_mastodon(app, artist, mastodon):
    """The artwork's language and each image's focal point are sent with the post."""
    fields = {**ARTWORK, "language": "de", "focus": [[-0.5, 0.75]]}
    artwork, account = prepare(artist, mastodon, fields)
    assert artwork["language"] == "de" and artwork["images"][0]["focus"] == [-0.5, 0.75]
    deliver(artist, artwork, account)
    assert attempt(app) == ["posted"]
    [status] = mastodon.statuses
    assert status["language"] == "de"
    assert status["media_attachments"][0]["meta"]["focus"] == {"x": -0.5, "y": 0.75}


def test_a_posted_artwork_is_fingerprinted_by_the_worker_tick(app, client, posting, mastodon):
    """Public requests never decode images; the registry_sync tick does, after the post."""
    import io

    from PIL import Image, ImageDraw

    from server.registry.service import sync_tick

    artist, _, account = posting
    drawing = Image.new("RGB", (320, 240), (250, 245, 235))
    pen = ImageDraw.Draw(drawing)
    for n in range(12):  # enough line art to be worth matching (flat images are not)
        x, y = 10 + n * 22, 20 + (n % 5) * 30
        pen.ellipse(
            (x, y, x + 60 + n * 3, y + 50 + (n % 3) * 20),
            outline=(30 + n * 15, 20, 200 - n * 10),
            width=4,
        )
    picture = io.BytesIO()
    drawing.save(picture, "PNG")
    artwork = artist.post("/api/v1/artworks", data=artwork_form(ARTWORK, picture.getvalue())).json
    deliver(artist, artwork, account)
    assert attempt(app) == ["posted"]

    def matched() -> list[str]:
        response = client.post(
            "/api/v1/match", data={"image": (io.BytesIO(picture.getvalue()), "copy.png")}
        )
        assert response.status_code == 200, response.json
        return [c["work"]["public_id"] for c in response.json["candidates"]]

    assert matched() == []  # the match request itself did no fingerprinting
    assert sync_tick(app) >= 1
    assert matched() == [artwork["public_id"]]
