"""Mastodon publishing on Mastodon.py, against the loopback Mastodon API (real HTTP).

Every test checks what reached the server (method, path, bearer token, Idempotency-Key, form
fields, file bytes) and what the server ended up holding, not just the adapter's return value.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from PIL import Image

from adapters.errors import (
    AuthError,
    ContentRejected,
    InvalidDraft,
    RateLimited,
    TransientError,
)
from adapters.mastodon import Mastodon
from adapters.publishing import Media, Presence, PublishJob
from tests.peers.mastodon_server import MastodonServer

TOKEN = "tok-artist"


class FastMastodon(Mastodon):
    """The real adapter with test-sized waits (class data, not patches)."""

    media_poll_interval = 0.01
    media_poll_timeout = 2.0
    timeout = 1.0


@pytest.fixture
def server() -> Iterator[MastodonServer]:
    with MastodonServer({TOKEN: "artist", "tok-other": "other"}, domain="art.example") as srv:
        yield srv


@pytest.fixture
def adapter() -> Mastodon:
    FastMastodon._instances.clear()
    return FastMastodon()


def png(colour: str, size: tuple[int, int] = (8, 6)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


IMAGES = (
    Media(png("red"), "image/png", "first.png", 8, 6, "A hyena in a red scarf"),
    Media(png("blue"), "image/png", "second.png", 8, 6, "The same hyena, sketch"),
)

DRAFT = {
    "title": "Trisk at dusk",
    "description": "Commission for @[hyena]. Prints: https://shop.example/trisk",
    "rating": "adult",
    "content_flags": ["nudity"],
    "tags": ["hyena", "digital art"],
    "alt_text": "A hyena in a red scarf",
    "credits": [
        {"role": "artist", "person": "me"},
        {"role": "commissioner", "person": "hyena"},
    ],
}
PEOPLE = {
    "me": {"name": "Tanraak", "accounts": {"mastodon": "tanraak@furry.engineer"}},
    "hyena": {"name": "Hy", "accounts": {"mastodon": "hy@yiff.life"}},
}


def creds(server: MastodonServer, token: str = TOKEN) -> dict[str, str]:
    return {"instance": server.base_url, "access_token": token}


def make_job(
    server: MastodonServer,
    post: dict[str, Any],
    images: tuple[Media, ...] = (),
    key: str = "delivery-key-1",
    progress: dict[str, Any] | None = None,
    token: str = TOKEN,
) -> PublishJob:
    return PublishJob(
        key=key,
        post=post,
        images=images,
        credentials=creds(server, token),
        progress=progress or {},
    )


def plain_post(text: str = "Trisk at dusk", replies: list[str] | None = None) -> dict[str, Any]:
    return {
        "ok": True,
        "text": text,
        "replies": replies or [],
        "sensitive": False,
        "spoiler_text": "",
    }


class Saved(list):
    """The checkpoint: records every save, as the delivery engine would store them."""

    def __call__(self, ids: Any) -> None:
        self.append(dict(ids))

    def merged(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for ids in self:
            out.update(ids)
        return out


# -- the post --------------------------------------------------------------------------------
def test_post_with_two_images_alt_text_cw_and_sensitive(server, adapter):
    post = adapter.render(DRAFT, PEOPLE)
    assert post["ok"] and post["sensitive"] and post["spoiler_text"] == "Adult (18+): nudity"
    saved = Saved()

    published = adapter.publish(make_job(server, post, IMAGES), saved)

    api = server.requests
    assert [(r.method, r.path) for r in api] == [
        ("POST", "/api/v2/media"),
        ("POST", "/api/v2/media"),
        ("POST", "/api/v1/statuses"),
    ]
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in api)
    for request, image in zip(api[:2], IMAGES, strict=True):
        upload = request.files["file"]
        assert upload["data"] == image.data
        assert (upload["filename"], upload["content_type"]) == (image.filename, "image/png")
        assert request.form["description"] == [image.alt_text]
        assert "Idempotency-Key" not in request.headers
    status_request = api[2]
    assert status_request.headers["Idempotency-Key"] == "delivery-key-1"
    media_ids = list(server.media)
    assert status_request.form == {
        "status": [post["text"]],
        "media_ids[]": media_ids,
        "sensitive": ["1"],
        "spoiler_text": ["Adult (18+): nudity"],
        "visibility": ["public"],
    }
    [status] = server.statuses
    assert published.remote_id == status["id"]
    assert published.url == status["url"] == f"http://art.example/@artist/{status['id']}"
    assert status["_text"] == post["text"] and "@hy@yiff.life" in post["text"]
    assert status["sensitive"] is True and status["spoiler_text"] == "Adult (18+): nudity"
    assert [m["description"] for m in status["media_attachments"]] == [
        "A hyena in a red scarf",
        "The same hyena, sketch",
    ]
    # each id was saved before the next remote step
    assert saved[0] == {"media_ids": media_ids[:1], "media_processing": []}
    assert saved[1] == {"media_ids": media_ids, "media_processing": []}
    assert saved[-1] == {"status_id": status["id"], "status_url": status["url"]}
    assert published.extra == {"media_ids": media_ids, "reply_ids": []}


def test_focus_and_language_are_sent(server, adapter):
    post = adapter.render({**DRAFT, "language": "de"}, PEOPLE)
    assert post["ok"] and post["language"] == "de"
    images = (dataclasses.replace(IMAGES[0], focus=(0.25, -0.5)), IMAGES[1])

    adapter.publish(make_job(server, post, images), Saved())

    first, second = server.requests_to("POST", "/api/v2/media")
    assert first.form["focus"] == ["0.25,-0.5"] and "focus" not in second.form
    [status_request] = server.requests_to("POST", "/api/v1/statuses")
    assert status_request.form["language"] == ["de"]
    [status] = server.statuses
    assert status["language"] == "de"
    assert [m["meta"]["focus"] for m in status["media_attachments"]] == [
        {"x": 0.25, "y": -0.5},
        {"x": 0.0, "y": 0.0},
    ]


def test_without_a_language_none_is_sent(adapter):
    assert "language" not in adapter.render(DRAFT, PEOPLE)


def test_a_bad_language_tag_is_refused_before_anything_is_sent(adapter):
    with pytest.raises(InvalidDraft, match=r"^artwork\.language: "):
        adapter.render({**DRAFT, "language": "<script>"}, PEOPLE)


def test_the_instances_url_weight_is_counted(adapter):
    """An instance that reserves 60 characters per URL: a text that fits at Mastodon's usual
    23 would be refused there; rendered with the instance's own weight, it is accepted."""
    draft = {
        "title": "Trisk",
        "description": "Prints are up in my shop now, have a look: https://shop.example.com/trisk",
        "rating": "general",
    }
    with MastodonServer({TOKEN: "artist"}, max_characters=100, url_weight=60) as srv:
        configured = adapter.for_account(creds(srv))
        assert configured.url_weight == 60 and configured.text_limit == 100
        assert configured.images.max_pixels == 33_177_600  # the instance's image_matrix_limit
        assert configured.measure("see https://shop.example.com/x") == len("see ") + 60
        assume_23 = copy.copy(configured)
        assume_23.url_weight = 23
        naive = assume_23.render(draft, {})
        assert naive["ok"] and "https://shop.example.com/trisk" in naive["text"]
        with pytest.raises(ContentRejected, match="character limit"):
            adapter.publish(make_job(srv, naive), Saved())

        fitted = configured.render(draft, {})
        assert fitted["ok"] and fitted["text"] != naive["text"]
        assert fitted["length"] <= 100
        adapter.publish(make_job(srv, fitted, key="k2"), Saved())
        assert [s["_text"] for s in srv.statuses] == [fitted["text"]]


def noise_png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.frombytes("RGB", size, random.Random(7).randbytes(size[0] * size[1] * 3)).save(
        buffer, "PNG"
    )
    return buffer.getvalue()


def test_images_are_fitted_to_the_instances_size_and_pixel_limits(adapter):
    """An instance with a 150 kB file limit and a 40,000-pixel matrix limit: a 300x200 noise
    PNG (about 180 kB, 60,000 pixels) is refused there as it is, and arrives fitted."""
    data = noise_png((300, 200))
    assert len(data) > 150_000
    big = Media(data, "image/png", "noise.png", 300, 200, "noise")
    with MastodonServer(
        {TOKEN: "artist"}, image_size_limit=150_000, image_matrix_limit=40_000
    ) as srv:
        with pytest.raises(ContentRejected, match="File size"):
            adapter.publish(make_job(srv, plain_post(), (big,)), Saved())
        configured = adapter.for_account(creds(srv))
        assert (configured.images.max_bytes, configured.images.max_pixels) == (150_000, 40_000)
        configured.publish(make_job(srv, plain_post(), (big,), key="k2"), Saved())
        [status] = srv.statuses
        sent = srv.requests_to("POST", "/api/v2/media")[-1].files["file"]["data"]
        assert len(sent) <= 150_000
        with Image.open(io.BytesIO(sent)) as image:
            assert image.width * image.height <= 40_000
            assert abs(image.width / image.height - 1.5) < 0.02  # aspect ratio kept
        assert status["media_attachments"][0]["description"] == "noise"


def animated_gif(size: tuple[int, int]) -> bytes:
    frames = [Image.new("RGB", size, colour) for colour in ("red", "green", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100)
    return buffer.getvalue()


def test_an_animation_over_the_pixel_limit_is_refused_not_sent_as_a_still(adapter):
    """Before: the area fit re-encoded the GIF's first frame as a still and posted that."""
    gif = Media(animated_gif((300, 200)), "image/gif", "run.gif", 300, 200, "running hyena")
    small = Media(animated_gif((100, 80)), "image/gif", "hop.gif", 100, 80, "hopping hyena")
    with MastodonServer({TOKEN: "artist"}, image_matrix_limit=40_000) as srv:
        configured = adapter.for_account(creds(srv))
        with pytest.raises(ContentRejected, match=r"run\.gif: an animation larger than Mastodon"):
            configured.publish(make_job(srv, plain_post(), (gif,)), Saved())
        assert srv.requests_to("POST", "/api/v2/media") == [] and srv.statuses == []
        configured.publish(make_job(srv, plain_post(), (small,), key="k2"), Saved())
        [upload] = srv.requests_to("POST", "/api/v2/media")
        assert upload.files["file"]["data"] == small.data  # within the limits: as it is


def test_media_answered_202_is_polled_until_processed(server, adapter):
    server.processing_polls = 2
    saved = Saved()

    adapter.publish(make_job(server, plain_post(), IMAGES[:1]), saved)

    [media_id] = server.media
    assert [(r.method, r.path) for r in server.requests] == [
        ("POST", "/api/v2/media"),
        ("GET", f"/api/v1/media/{media_id}"),  # 206
        ("GET", f"/api/v1/media/{media_id}"),  # 206
        ("GET", f"/api/v1/media/{media_id}"),  # 200
        ("POST", "/api/v1/statuses"),
    ]
    assert saved[0] == {"media_ids": [media_id], "media_processing": [media_id]}
    assert saved[1] == {"media_processing": []}
    assert server.statuses[0]["media_attachments"][0]["id"] == media_id


def test_media_still_processing_is_transient_and_resumes_without_reupload(server, adapter):
    server.processing_polls = 10_000
    adapter.media_poll_timeout = 0.05
    saved = Saved()
    with pytest.raises(TransientError, match="still processing"):
        adapter.publish(make_job(server, plain_post(), IMAGES[:1]), saved)
    assert server.statuses == []
    [media_id] = server.media
    progress = saved.merged()
    assert progress["media_ids"] == [media_id] and progress["media_processing"] == [media_id]

    server.processing_polls = 0
    with server._lock:  # the server finished its background processing meanwhile
        server._state.media[media_id]["pending_polls"] = 0
    before = len(server.requests)
    adapter.publish(make_job(server, plain_post(), IMAGES[:1], progress=progress), Saved())
    assert [(r.method, r.path) for r in server.requests[before:]] == [
        ("GET", f"/api/v1/media/{media_id}"),
        ("POST", "/api/v1/statuses"),
    ]
    assert len(server.requests_to("POST", "/api/v2/media")) == 1


def test_credits_reply_thread_with_derived_keys(server, adapter):
    post = plain_post("Trisk at dusk #hyena", ["Art by @tanraak@furry.engineer", "Prints: x"])
    saved = Saved()

    published = adapter.publish(make_job(server, post, key="k-77"), saved)

    posts = server.requests_to("POST", "/api/v1/statuses")
    assert [r.headers["Idempotency-Key"] for r in posts] == ["k-77", "k-77-r1", "k-77-r2"]
    main, first, second = server.statuses
    assert first["in_reply_to_id"] == main["id"] and second["in_reply_to_id"] == first["id"]
    assert [first["_text"], second["_text"]] == post["replies"]
    assert posts[1].form["in_reply_to_id"] == [main["id"]]
    assert posts[1].form["visibility"] == ["unlisted"]
    assert published.extra["reply_ids"] == [first["id"], second["id"]]
    assert saved.merged()["reply_ids"] == [first["id"], second["id"]]


def test_resume_after_a_failed_status_post_does_not_upload_again(server, adapter):
    server.fail_next(1, 503, path="/api/v1/statuses")
    saved = Saved()
    with pytest.raises(TransientError) as failed:
        adapter.publish(make_job(server, plain_post(), IMAGES), saved)
    assert "503" in failed.value.message and server.statuses == []
    progress = saved.merged()
    assert len(progress["media_ids"]) == 2

    before = len(server.requests)
    published = adapter.publish(make_job(server, plain_post(), IMAGES, progress=progress), saved)
    assert [(r.method, r.path) for r in server.requests[before:]] == [("POST", "/api/v1/statuses")]
    assert server.requests[-1].form["media_ids[]"] == progress["media_ids"]
    assert published.remote_id == server.statuses[0]["id"]


def test_resume_skips_the_status_and_done_replies(server, adapter):
    post = plain_post("main", ["reply one", "reply two"])
    main = server.add_status("artist", "main")
    progress = {"media_ids": ["1"], "status_id": main["id"], "status_url": main["url"]}
    saved = Saved()

    published = adapter.publish(make_job(server, post, IMAGES, progress=progress), saved)

    posts = server.requests
    assert [(r.method, r.path) for r in posts] == [("POST", "/api/v1/statuses")] * 2
    assert posts[0].form["in_reply_to_id"] == [main["id"]]
    assert published.remote_id == main["id"] and published.url == main["url"]
    assert len(server.statuses) == 3

    progress = {**progress, "reply_ids": published.extra["reply_ids"][:1]}  # last save lost
    before = len(server.requests)
    again = adapter.publish(make_job(server, post, IMAGES, progress=progress), saved)
    resumed = server.requests[before:]
    assert [(r.method, r.path) for r in resumed] == [("POST", "/api/v1/statuses")]
    assert resumed[0].headers["Idempotency-Key"] == "delivery-key-1-r2"
    assert resumed[0].form["in_reply_to_id"] == [published.extra["reply_ids"][0]]
    assert len(server.statuses) == 3  # the key returned the existing reply
    assert again.extra["reply_ids"] == published.extra["reply_ids"]


def test_same_key_twice_makes_one_status(server, adapter):
    first = adapter.publish(make_job(server, plain_post()), Saved())
    second = adapter.publish(make_job(server, plain_post()), Saved())  # progress was lost
    assert first.remote_id == second.remote_id
    assert len(server.statuses) == 1
    assert len(server.requests_to("POST", "/api/v1/statuses")) == 2
    other = adapter.publish(make_job(server, plain_post(), key="another"), Saved())
    assert other.remote_id != first.remote_id and len(server.statuses) == 2


def test_same_key_for_another_account_is_another_status(server, adapter):
    mine = adapter.publish(make_job(server, plain_post()), Saved())
    theirs = adapter.publish(make_job(server, plain_post(), token="tok-other"), Saved())
    assert mine.remote_id != theirs.remote_id and len(server.statuses) == 2


def test_read_timeout_on_the_status_is_ambiguous_and_the_retry_adopts_it(server, adapter):
    server.delay_next(1, 3.0, path="/api/v1/statuses", after=True)
    saved = Saved()
    with pytest.raises(TransientError) as failed:
        adapter.publish(make_job(server, plain_post()), saved)
    assert failed.value.ambiguous is True
    [status] = server.statuses  # the server did post it
    retried = adapter.publish(make_job(server, plain_post(), progress=saved.merged()), saved)
    assert retried.remote_id == status["id"] and len(server.statuses) == 1


def test_dropped_connection_after_posting_is_ambiguous(server, adapter):
    server.fail_next(1, 0, path="/api/v1/statuses", after=True)
    saved = Saved()
    with pytest.raises(TransientError) as failed:
        adapter.publish(make_job(server, plain_post()), saved)
    assert failed.value.ambiguous is True
    assert len(server.statuses) == 1
    adapter.publish(make_job(server, plain_post(), progress=saved.merged()), saved)
    assert len(server.statuses) == 1


def test_after_the_idempotency_window_a_retry_looks_for_the_post_first(server, adapter):
    posted = server.add_status("artist", "Trisk at dusk")
    progress = {"status_sent_at": time.time() - 2 * 3600}
    saved = Saved()

    published = adapter.publish(make_job(server, plain_post(), progress=progress), saved)

    assert published.remote_id == posted["id"]
    assert server.requests_to("POST", "/api/v1/statuses") == []
    assert len(server.statuses) == 1


def test_a_refused_later_reply_takes_the_thread_down(server, adapter):
    post = plain_post("main", ["credits", "x" * 600])  # the server refuses the second reply
    saved = Saved()
    with pytest.raises(ContentRejected) as refused:
        adapter.publish(make_job(server, post), saved)
    assert "character limit of 500" in refused.value.message
    assert "deleted" in refused.value.message
    assert server.statuses == []
    assert [s["_text"] for s in server.deleted] == ["credits", "main"]  # replies first
    deletes = [r.path for r in server.requests if r.method == "DELETE"]
    assert deletes == [f"/api/v1/statuses/{s['id']}" for s in server.deleted]
    assert saved.merged()["status_id"] is None


# -- errors ----------------------------------------------------------------------------------
def test_invalid_token_is_an_auth_error(server, adapter):
    with pytest.raises(AuthError, match="The access token is invalid"):
        adapter.publish(make_job(server, plain_post(), IMAGES, token="revoked"), Saved())
    assert server.media == {}


def test_forbidden_is_an_auth_error(server, adapter):
    server.fail_next(1, 403, error="Your login is currently disabled")
    with pytest.raises(AuthError, match="currently disabled"):
        adapter.publish(make_job(server, plain_post()), Saved())


def test_token_naming_a_file_is_not_read_from_disk(server, adapter, tmp_path):
    secret = tmp_path / "token"
    secret.write_text(f"{TOKEN}\n")
    with pytest.raises(AuthError):
        adapter.check_auth({"instance": server.base_url, "access_token": str(secret)})
    assert server.requests[-1].bearer == str(secret)


def test_missing_instance_or_token_is_an_auth_error(adapter):
    with pytest.raises(AuthError):
        adapter.check_auth({"instance": "", "access_token": "x"})
    with pytest.raises(AuthError):
        adapter.check_auth({"instance": "https://example.social", "access_token": ""})


def test_validation_error_is_rejected_with_the_servers_message(server, adapter):
    server.max_characters = 10
    with pytest.raises(ContentRejected) as refused:
        adapter.publish(make_job(server, plain_post("far too long for this instance")), Saved())
    assert "Validation failed: Text character limit of 10 exceeded" in refused.value.message
    assert "422" in refused.value.message


def test_unsupported_media_is_rejected_before_anything_is_sent(server, adapter):
    odd = Media(b"%PDF-1.4", "application/pdf", "a.pdf", 1, 1, "")
    with pytest.raises(ContentRejected, match=r"a\.pdf: not an image Mastodon takes"):
        adapter.publish(make_job(server, plain_post(), (odd,)), Saved())
    assert server.requests == []


def test_media_the_server_refuses_is_rejected_with_its_reason(server, adapter):
    server.image_size_limit = 10  # the instance's upload check, below what we were told
    with pytest.raises(ContentRejected, match="File size must be less than 10 Bytes"):
        adapter.publish(make_job(server, plain_post(), IMAGES), Saved())


def test_too_large_is_rejected(server, adapter):
    server.fail_next(1, 413, path="/api/v2/media")
    with pytest.raises(ContentRejected, match="413"):
        adapter.publish(make_job(server, plain_post(), IMAGES[:1]), Saved())


def test_rate_limit_gives_the_reset_time(server, adapter):
    server.fail_next(1, 429, path="/api/v2/media", reset_in=120)
    with pytest.raises(RateLimited) as limited:
        adapter.publish(make_job(server, plain_post(), IMAGES[:1]), Saved())
    assert limited.value.retry_after is not None
    assert 100 <= limited.value.retry_after <= 121


def test_server_error_is_transient(server, adapter):
    server.fail_next(1, 500, path="/api/v1/statuses")
    with pytest.raises(TransientError) as failed:
        adapter.publish(make_job(server, plain_post()), Saved())
    assert "500" in failed.value.message and failed.value.ambiguous is True


def test_server_error_on_a_read_is_not_ambiguous(server, adapter):
    server.fail_next(1, 502)
    with pytest.raises(TransientError) as failed:
        adapter.check_auth(creds(server))
    assert failed.value.ambiguous is False


def test_unreachable_server_is_transient_and_not_ambiguous(adapter):
    with MastodonServer() as gone:
        url = gone.base_url
    job = PublishJob("k", plain_post(), (), {"instance": url, "access_token": TOKEN})
    with pytest.raises(TransientError) as failed:
        adapter.publish(job, Saved())
    assert failed.value.ambiguous is False


# -- edit, delete, account -------------------------------------------------------------------
def test_edit_rewrites_text_cw_alt_text_and_credits_keeping_media(server, adapter):
    post = plain_post("first text", ["Art by @a@b.example"])
    published = adapter.publish(make_job(server, post, IMAGES), Saved())
    media_ids = published.extra["media_ids"]

    edited_post = {
        "ok": True,
        "text": "new text",
        "replies": ["Art by @a@b.example, colours by @c@d.example", "Prints: shop"],
        "sensitive": True,
        "spoiler_text": "Mature",
        "alt_text": "",
    }
    images = (
        Media(b"", "image/png", "first.png", 8, 6, "new alt one", focus=(0.5, 0.25)),
        Media(b"", "image/png", "second.png", 8, 6, "new alt two"),
    )
    edited = adapter.edit(published.remote_id, make_job(server, edited_post, images))

    put = next(r for r in server.requests if r.method == "PUT")
    assert put.path == f"/api/v1/statuses/{published.remote_id}"
    assert put.bearer == TOKEN
    assert put.json == {
        "status": "new text",
        "spoiler_text": "Mature",
        "sensitive": "1",
        "media_ids": media_ids,
        "media_attributes": [
            {"id": media_ids[0], "description": "new alt one", "focus": "0.5,0.25"},
            {"id": media_ids[1], "description": "new alt two"},
        ],
    }
    main, reply, added = server.statuses
    assert main["_text"] == "new text" and main["spoiler_text"] == "Mature" and main["sensitive"]
    assert main["edited_at"] is not None
    assert [m["id"] for m in main["media_attachments"]] == media_ids
    assert [m["description"] for m in main["media_attachments"]] == ["new alt one", "new alt two"]
    assert main["media_attachments"][0]["meta"]["focus"] == {"x": 0.5, "y": 0.25}
    assert reply["_text"] == edited_post["replies"][0]
    assert added["_text"] == "Prints: shop" and added["in_reply_to_id"] == reply["id"]
    assert edited.remote_id == main["id"]
    assert edited.extra["reply_ids"] == [reply["id"], added["id"]]


def test_delete_takes_the_thread_and_tolerates_gone(server, adapter):
    published = adapter.publish(make_job(server, plain_post("main", ["r1", "r2"])), Saved())
    other = server.add_status("artist", "unrelated")
    adapter.delete(published.remote_id, creds(server))
    assert [s["id"] for s in server.statuses] == [other["id"]]
    deletes = [r for r in server.requests if r.method == "DELETE"]
    assert [r.path.rsplit("/", 1)[1] for r in deletes] == [
        *reversed(published.extra["reply_ids"]),
        published.remote_id,
    ]
    assert all(r.bearer == TOKEN for r in deletes)
    adapter.delete(published.remote_id, creds(server))  # already gone: no error


def test_check_auth_names_the_account_on_its_domain(server, adapter):
    assert adapter.check_auth(creds(server)) == "@artist@art.example"
    assert server.requests[0].path == "/api/v1/accounts/verify_credentials"
    assert server.requests[0].bearer == TOKEN
    with pytest.raises(AuthError):
        adapter.check_auth(creds(server, "nope"))


def test_instance_limits_are_read_and_cached(server, adapter):
    server.max_characters = 5000
    limits = adapter.limits(creds(server))
    assert limits["text_limit"] == 5000 and limits["alt_text_limit"] == 1500
    assert limits["max_images"] == 4 and limits["characters_reserved_per_url"] == 23
    adapter.limits(creds(server))
    assert len(server.requests_to("GET", "/api/v2/instance/")) == 1


def test_fetch_imports_own_statuses_with_media_across_pages(server, adapter):
    adapter.publish(make_job(server, plain_post("with media #art"), IMAGES[:1]), Saved())
    for i in range(44):
        server.add_status("artist", f"post {i}")
    server.add_status("other", "not mine")

    found = adapter.fetch(creds(server), limit=45)

    assert len(found) == 45
    assert found[0].extra["text"] == "post 43"
    oldest = found[-1]
    assert oldest.extra["text"] == "with media #art"
    assert oldest.extra["media"][0]["description"] == "A hyena in a red scarf"
    assert oldest.url.endswith(f"/@artist/{oldest.remote_id}")
    pages = server.requests_to("GET", "/api/v1/accounts/1/statuses")
    assert [p.query.get("limit") for p in pages] == [["40"], ["5"]]
    assert pages[1].query["max_id"] == [found[39].remote_id]
    assert adapter.fetch(creds(server), limit=3)[0].extra["text"] == "post 43"


def test_lookup_finds_the_post_by_its_text(server, adapter):
    post = adapter.render(DRAFT, PEOPLE)
    job = make_job(server, post)
    assert adapter.lookup(job).presence is Presence.ABSENT
    published = adapter.publish(job, Saved())
    found = adapter.lookup(make_job(server, post, key="another-key"))
    assert found.presence is Presence.FOUND
    assert found.published is not None and found.published.remote_id == published.remote_id


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://mastodon.social/@Gargron/103254962155278888", "103254962155278888"),
        ("https://mastodon.social/@Gargron/103254962155278888/", "103254962155278888"),
        ("https://mastodon.social/users/Gargron/statuses/1", "1"),
        ("https://furry.engineer/@tanraak@yiff.life/112233?ref=x", "112233"),
        (
            "https://gts.example/@me/statuses/01HZXW9V8Q0Y7N1F9G6R3T2ABC",
            "01HZXW9V8Q0Y7N1F9G6R3T2ABC",
        ),
        ("http://127.0.0.1:8080/@artist/42", "42"),
        ("https://mastodon.social/@Gargron", None),
        ("https://mastodon.social/@Gargron/media", None),
        ("https://medium.com/@writer/a-title-3f2a", None),
        ("mastodon.social/@Gargron/1", None),
        ("https://bsky.app/profile/a.bsky.social/post/3k2a", None),
    ],
)
def test_parse_url(url, expected):
    assert Mastodon().parse_url(url) == expected


# -- the loopback server as its own process --------------------------------------------------
def test_server_runs_as_a_process_for_worker_processes(adapter):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.peers.mastodon_server",
            "--port",
            "0",
            "--token",
            f"{TOKEN}=artist",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        with requests.Session() as http:
            http.post(
                f"{url}/_peer/fail", json={"n": 1, "status": 500, "path": "/api/v1/statuses"}
            ).close()
            job = PublishJob(
                "pk",
                plain_post("via a process"),
                IMAGES[:1],
                {"instance": url, "access_token": TOKEN},
            )
            saved = Saved()
            with pytest.raises(TransientError):
                adapter.publish(job, saved)
            adapter.publish(
                PublishJob("pk", job.post, job.images, job.credentials, progress=saved.merged()),
                saved,
            )
            with http.get(f"{url}/_peer/statuses") as answer:
                statuses = answer.json()
            with http.get(f"{url}/_peer/requests") as answer:
                recorded = answer.json()
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()
    assert [s["content"] for s in statuses] == ["<p>via a process</p>"]
    assert [r["path"] for r in recorded] == [
        "/api/v2/media",
        "/api/v1/statuses",
        "/api/v1/statuses",
    ]
    assert recorded[0]["files"]["file"]["size"] == len(IMAGES[0].data)
    assert process.returncode == 0
