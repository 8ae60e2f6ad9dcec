"""The artwork page: each copy's sync state, and the two sync opt-ins as checkboxes."""

from __future__ import annotations

from server import db
from server.models import Account, Artwork, Copy, Delivery, utcnow
from tests.web.conftest import add_people, create_artwork, web  # noqa: F401  (signed in)


def test_opt_ins_are_saved_and_copy_states_shown(app, web):  # noqa: F811
    add_people(web)
    artwork_id = create_artwork(web)
    page = web.get(f"/app/artworks/{artwork_id}").get_data(as_text=True)
    assert "No copies yet." in page
    assert 'name="repost_stale" >' in page and 'name="also_on_links" >' in page  # unticked
    assert "likes, reposts and replies are lost" in page

    saved = web.post(f"/app/artworks/{artwork_id}/sync", {"repost_stale": "on"})
    assert saved.status_code == 302
    with db.session_scope(app) as session:
        artwork = session.get(Artwork, artwork_id)
        assert artwork.repost_stale is True and artwork.also_on_links is False
        artwork.revision = 2
        session.add_all(
            [
                Copy(artwork=artwork, url="https://x.com/a/status/1", platform="twitter",
                     remote_id="1", source="replaced", synced_revision=1),
                Copy(artwork=artwork, url="https://x.com/a/status/2", platform="twitter",
                     remote_id="2", source="delivery", synced_revision=2),
                Copy(artwork=artwork, url="https://bsky.app/profile/a/post/3", platform="bluesky",
                     remote_id="3", source="import", synced_revision=1),
            ]
        )  # fmt: skip
    page = web.get(f"/app/artworks/{artwork_id}").get_data(as_text=True)
    assert 'name="repost_stale" checked>' in page and 'name="also_on_links" >' in page
    states = [line for line in page.splitlines() if 'class="copy" data-state=' in line]
    assert [s.split('data-state="')[1].split('"')[0] for s in states] == [
        "replaced",
        "synced",
        "stale",
    ]
    assert "its address still leads to this work" in page

    cleared = web.post(f"/app/artworks/{artwork_id}/sync", {})  # both boxes unticked
    assert cleared.status_code == 302
    with db.session_scope(app) as session:
        assert session.get(Artwork, artwork_id).repost_stale is False
    assert web.post(f"/app/artworks/{artwork_id}/sync", {}, csrf=False).status_code == 400


def test_a_repost_whose_new_post_is_up_offers_no_cancel(app, web):  # noqa: F811
    """Its old post is being deleted: cancelling would leave both posts up, so the page offers
    no Cancel, and a cancel sent anyway is refused with the reason."""
    add_people(web)
    artwork_id = create_artwork(web)
    with db.session_scope(app) as session:
        artwork = session.get(Artwork, artwork_id)
        account = Account(user_id=artwork.user_id, platform="twitter", name="@artist")
        repost = Delivery(
            artwork=artwork,
            account=account,
            kind="repost",
            revision=2,
            state="retry_wait",
            scheduled_at=utcnow(),
            idempotency_key="k",
            progress={"repost": {"old": {"remote_id": "1"}, "new": {"remote_id": "2"}}},
        )
        session.add(repost)
        session.flush()
        repost_id = repost.id
    page = web.get("/app/deliveries").get_data(as_text=True)
    assert f'id="delivery-{repost_id}"' in page
    assert f"/app/deliveries/{repost_id}/cancel" not in page
    answer = web.post(f"/app/deliveries/{repost_id}/cancel", {"back": "/app/deliveries"})
    assert answer.status_code == 302
    page = web.get("/app/deliveries").get_data(as_text=True)
    assert "cannot be cancelled now" in page
    with db.session_scope(app) as session:
        assert session.get(Delivery, repost_id).state == "retry_wait"
