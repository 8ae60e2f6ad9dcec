"""Tumblr publishing against the loopback Tumblr API v2 (real HTTP, bearer tokens, multipart).

Each test checks what reached the server (paths, bearer token, User-Agent, multipart part names
and bytes, the NPF JSON) and what the server ends up holding.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from adapters.errors import (
    AuthError,
    ContentRejected,
    RateLimited,
    SiteChanged,
    TransientError,
)
from adapters.publishing import Media, Presence, PublishJob
from adapters.tumblr import Tumblr
from tests.peers.tumblr_server import TumblrServer


class FastTumblr(Tumblr):
    timeout = 1.0


@pytest.fixture
def server() -> Iterator[TumblrServer]:
    with TumblrServer() as srv:
        yield srv


@pytest.fixture
def adapter() -> Tumblr:
    return FastTumblr()


def png(colour: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), colour).save(buffer, "PNG")
    return buffer.getvalue()


IMAGES = (
    Media(png("red"), "image/png", "first.png", 8, 6, "A hyena in a red scarf"),
    Media(png("blue"), "image/png", "second.png", 8, 6, ""),
)
DRAFT = {
    "title": "Trisk at dusk",
    "description": "Commission for @[hyena]. **Prints**: https://shop.example/trisk",
    "rating": "adult",
    "tags": ["hyena", "digital art"],
    "alt_text": "Trisk, sketch",
    "credits": [
        {"role": "artist", "person": "me"},
        {"role": "commissioner", "person": "hyena"},
        {"role": "gift_for", "person": "ghost"},
    ],
}
PEOPLE = {
    "me": {"name": "Tanraak", "accounts": {"tumblr": "tanraak"}},
    "hyena": {"name": "Hy", "accounts": {"tumblr": "hyena-dude"}},
    "ghost": {"name": "Ghost", "accounts": {"tumblr": "no-such-blog"}},
}


class Stored(list):
    def __call__(self, new: Any) -> None:
        self.append(dict(new))


class Saved(list):
    def __call__(self, ids: Any) -> None:
        self.append(dict(ids))

    def merged(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for ids in self:
            out.update(ids)
        return out


def job(server, post, images=(), progress=None, update=None, **changes) -> PublishJob:
    return PublishJob(
        key="k1",
        post=post,
        images=images,
        credentials=server.credentials(**changes),
        progress=progress or {},
        update_credentials=update,
    )


def simple(text: str = "Trisk at dusk") -> dict[str, Any]:
    return {"ok": True, "content": [{"type": "text", "text": text}], "tags": [], "rating": {}}


def test_npf_post_with_images_alt_text_mentions_tags(server, adapter):
    post = adapter.render(DRAFT, PEOPLE)
    saved = Saved()

    published = adapter.publish(job(server, post, IMAGES), saved)

    assert server.calls() == [
        ("GET", "/v2/blog/artist/info"),
        ("GET", "/v2/blog/hyena-dude/info"),
        ("GET", "/v2/blog/tanraak/info"),
        ("GET", "/v2/blog/no-such-blog/info"),
        ("POST", "/v2/blog/artist/posts"),
    ]
    assert all(
        r.bearer == "tok" and r.headers["User-Agent"] == "Creditline" for r in server.requests
    )
    create = server.requests[-1]
    assert create.parts == ["json", "image1", "image2"]
    assert create.files["image1"]["data"] == IMAGES[0].data
    assert create.files["image2"]["content_type"] == "image/png"
    body = json.loads(create.form["json"][0])
    assert body["state"] == "published" and body["tags"] == "hyena,digital art"
    images, text = body["content"][:2], body["content"][2:]
    assert images == [
        {
            "type": "image",
            "media": [{"type": "image/png", "identifier": "image1", "width": 8, "height": 6}],
            "alt_text": "A hyena in a red scarf",
        },
        {
            "type": "image",
            "media": [{"type": "image/png", "identifier": "image2", "width": 8, "height": 6}],
            "alt_text": "Trisk, sketch",
        },
    ]
    assert text[0] == {"type": "text", "text": "Trisk at dusk", "subtype": "heading1"}
    commission = text[1]
    assert commission["text"].startswith("Commission for hyena-dude.")
    mention, bold, link = commission["formatting"]
    assert mention == {
        "start": 15,
        "end": 25,
        "type": "mention",
        "blog": {
            "name": "hyena-dude",
            "uuid": "t:HyenaUUID00000000000",
            "url": "https://hyena-dude.tumblr.com/",
        },
    }
    assert bold["type"] == "bold" and commission["text"][bold["start"] : bold["end"]] == "Prints"
    assert link["url"] == "https://shop.example/trisk"
    ghost = next(b for b in text if "Ghost" in b["text"] or "no-such-blog" in b["text"])
    assert "formatting" not in ghost  # an unknown blog stays plain text
    [stored] = server.posts
    assert stored["state"] == "published" and stored["tags"] == ["hyena", "digital art"]
    assert stored["content"][0]["media"][0]["_sha256"] == create.files["image1"]["sha256"]
    assert published.remote_id == stored["id"]
    assert published.url == f"https://www.tumblr.com/artist/{stored['id']}"
    warnings = published.extra["warnings"]
    assert any("no-such-blog" in w for w in warnings)
    assert any("community label" in w and "sexual_themes" in w for w in warnings)
    assert saved.index({"pending": True}) < saved.index({"post_id": stored["id"], "pending": False})


def test_queue_state_from_the_account(server, adapter):
    adapter.publish(job(server, simple(), state="queue"), Saved())
    assert server.posts[0]["state"] == "queued"
    with pytest.raises(ContentRejected, match="state"):
        adapter.publish(job(server, simple(), state="private"), Saved())


def test_expired_token_is_refreshed_stored_and_the_request_sent_again(server, adapter):
    server.expire("tok")
    stored = Stored()
    adapter.publish(job(server, simple(), update=stored), Saved())
    assert server.calls() == [
        ("GET", "/v2/blog/artist/info"),
        ("POST", "/v2/oauth2/token"),
        ("GET", "/v2/blog/artist/info"),
        ("POST", "/v2/blog/artist/posts"),
    ]
    refresh = server.requests[1]
    assert refresh.form == {
        "grant_type": ["refresh_token"],
        "refresh_token": ["refresh-1"],
        "client_id": ["client-id"],
        "client_secret": ["client-secret"],
    }
    [new] = stored
    assert new["access_token"] in server.tokens and new["refresh_token"] in server.refresh_tokens
    assert int(new["expires_at"]) > 0
    assert server.requests[-1].bearer == new["access_token"]
    # the old refresh token was rotated away: using it again is an auth error
    server.expire(new["access_token"])
    with pytest.raises(AuthError, match="sign in again"):
        adapter.check_auth(server.credentials(access_token=new["access_token"]))


def test_expired_token_without_refresh_is_an_auth_error(server, adapter):
    server.expire("tok")
    with pytest.raises(AuthError, match="401"):
        adapter.publish(job(server, simple(), refresh_token=""), Saved())
    assert server.posts == []


def test_token_near_expiry_is_refreshed_first(server, adapter):
    stored = Stored()
    adapter.check_auth(server.credentials(expires_at="1"), update_credentials=stored)
    assert server.calls()[0] == ("POST", "/v2/oauth2/token") and len(stored) == 1


def test_rate_limit_uses_the_reset_headers(server, adapter):
    server.fail_next(
        1,
        429,
        path="/v2/blog/artist/posts",
        headers={"X-Ratelimit-Perhour-Remaining": "0", "X-Ratelimit-Perhour-Reset": "1234"},
    )
    with pytest.raises(RateLimited) as limited:
        adapter.publish(job(server, simple()), Saved())
    assert limited.value.retry_after == 1234.0
    server.fail_next(
        1,
        403,
        path="/v2/blog/artist/posts",
        errors=[{"title": "Forbidden", "code": 8023, "detail": "daily posting limit"}],
        headers={"X-Ratelimit-Perday-Remaining": "0", "X-Ratelimit-Perday-Reset": "777"},
    )
    with pytest.raises(RateLimited, match="daily posting limit") as daily:
        adapter.publish(job(server, simple()), Saved())
    assert daily.value.retry_after == 777.0


def test_server_error_then_resume_posts_once(server, adapter):
    server.fail_next(1, 503, path="/v2/blog/artist/posts")
    saved = Saved()
    with pytest.raises(TransientError, match="503"):
        adapter.publish(job(server, simple(), IMAGES), saved)
    assert server.posts == []
    before = len(server.requests)
    published = adapter.publish(job(server, simple(), IMAGES, progress=saved.merged()), saved)
    # blog info saved; the pending post was looked for first, then posted
    assert server.calls()[before:] == [
        ("GET", "/v2/blog/artist/posts"),
        ("POST", "/v2/blog/artist/posts"),
    ]
    [post] = server.posts
    assert published.remote_id == post["id"]


def test_timeout_after_posting_is_ambiguous_and_the_retry_adopts_it(server, adapter):
    server.fail_next(1, 200, path="/v2/blog/artist/posts", method="POST", after=True, delay=2.0)
    saved = Saved()
    with pytest.raises(TransientError) as failed:
        adapter.publish(job(server, simple()), saved)
    assert failed.value.ambiguous is True
    [post] = server.posts
    retried = adapter.publish(job(server, simple(), progress=saved.merged()), saved)
    assert retried.remote_id == post["id"] and len(server.posts) == 1
    assert server.calls().count(("POST", "/v2/blog/artist/posts")) == 1


def test_malformed_answer_is_transient(server, adapter):
    server.fail_next(1, 201, path="/v2/blog/artist/posts", after=True, body=b"<html>")
    with pytest.raises(TransientError, match="unreadable") as failed:
        adapter.publish(job(server, simple()), Saved())
    assert failed.value.ambiguous is True
    server.fail_next(1, 200, path="/v2/blog/artist/info", body=b'{"meta": {}, "response": {}}')
    with pytest.raises(SiteChanged, match=r"blog\.uuid"):
        adapter.publish(job(server, simple()), Saved())


def test_refused_post_carries_the_reason(server, adapter):
    post = {"ok": True, "content": [{"type": "text", "text": "x" * 4097}], "tags": []}
    with pytest.raises(ContentRejected, match="400: text block too long"):
        adapter.publish(job(server, post), Saved())


def test_a_blog_the_login_cannot_post_to(server, adapter):
    with pytest.raises(AuthError, match="403"):
        adapter.publish(job(server, simple(), blog="tanraak"), Saved())
    with pytest.raises(AuthError, match="cannot post to"):
        adapter.check_auth(server.credentials(blog="tanraak"))
    with pytest.raises(AuthError, match="does not exist"):
        adapter.publish(job(server, simple(), blog="nobody-here"), Saved())


def test_edit_rewrites_text_and_keeps_images(server, adapter):
    first = adapter.publish(job(server, simple("old words"), IMAGES[:1]), Saved())
    before = len(server.requests)
    post = adapter.render(DRAFT, PEOPLE)
    edited = adapter.edit(first.remote_id, job(server, post, IMAGES[:1]))
    assert edited.remote_id == first.remote_id
    put = server.requests[-1]
    assert (put.method, put.path) == ("PUT", f"/v2/blog/artist/posts/{first.remote_id}")
    assert server.calls()[before + 1] == ("GET", f"/v2/blog/artist/posts/{first.remote_id}")
    [stored] = server.posts
    image, *text = stored["content"]
    assert image["type"] == "image" and image["media"][0]["_sha256"]  # the same upload
    assert image["alt_text"] == "A hyena in a red scarf"
    assert text[0]["text"] == "Trisk at dusk" and "old words" not in json.dumps(text)
    assert stored["tags"] == ["hyena", "digital art"] and stored["state"] == "published"


def test_delete(server, adapter):
    post = server.add_post("artist", ["bye"])
    adapter.delete(post["id"], server.credentials())
    assert server.posts == [] and server.requests[-1].form == {"id": [post["id"]]}
    adapter.delete(post["id"], server.credentials())  # already gone: no error


def test_check_auth_names_the_blog(server, adapter):
    assert adapter.check_auth(server.credentials()) == "artist"
    assert adapter.check_auth(server.credentials(blog="https://artist.tumblr.com/")) == "artist"
    with pytest.raises(AuthError):
        adapter.check_auth(server.credentials(access_token="nope", refresh_token=""))


def test_lookup_found_absent_unknown(server, adapter):
    post = simple("Trisk at dusk")
    assert adapter.lookup(job(server, post)).presence is Presence.ABSENT
    mine = server.add_post("artist", ["Trisk  at dusk"])
    found = adapter.lookup(job(server, post))
    assert found.presence is Presence.FOUND and found.published.remote_id == mine["id"]
    queued = server.add_post("artist", ["Later"], state="queued")
    found = adapter.lookup(job(server, simple("Later"), state="queue"))
    assert found.published.remote_id == queued["id"]
    server.fail_next(1, 502, path="/v2/blog/artist/posts")
    assert adapter.lookup(job(server, post)).presence is Presence.UNKNOWN


def test_fetch_imports_own_posts(server, adapter):
    adapter.publish(job(server, adapter.render(DRAFT, PEOPLE), IMAGES[:1]), Saved())
    for i in range(21):
        server.add_post("artist", [f"note {i}"])
    posts = adapter.fetch(server.credentials(), limit=22)
    assert len(posts) == 22 and posts[0].extra["text"] == "note 20"
    art = posts[-1]
    assert art.extra["title"] == "Trisk at dusk"
    assert art.extra["image_url"].startswith("https://64.media.tumblr.com/")
    assert art.extra["images"][0]["alt_text"] == "A hyena in a red scarf"
    assert art.extra["post_url"] == art.url == f"https://artist.tumblr.com/post/{art.remote_id}"
    pages = [r.query.get("offset") for r in server.requests if r.path.endswith("/posts")]
    assert pages[-2:] == [["0"], ["20"]]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.tumblr.com/artist/760000000001", "760000000001"),
        ("https://tumblr.com/artist/760000000001/trisk-at-dusk", "760000000001"),
        ("https://www.tumblr.com/blog/view/artist/55?source=share", "55"),
        ("https://artist.tumblr.com/post/760000000001/trisk-at-dusk", "760000000001"),
        ("http://some-blog.tumblr.com/post/42", "42"),
        ("https://www.tumblr.com/artist", None),
        ("https://artist.tumblr.com/tagged/art", None),
        ("https://example.com/artist/42", None),
    ],
)
def test_parse_url(adapter, url, expected):
    assert adapter.parse_url(url) == expected


def test_credential_fields_are_declared():
    assert "api_base" in Tumblr.credential_fields and "refresh_token" in Tumblr.credential_fields
    assert Tumblr.supports_edit and Tumblr.supports_delete
