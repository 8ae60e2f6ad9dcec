"""X publishing against the loopback X API v2 (real HTTP, OAuth 1.0a verified by oauthlib).

Each test checks what reached the server (method, path, signed OAuth parameters, multipart
parts, JSON bodies) and what the server ends up holding, not only the adapter's answer.
"""

from __future__ import annotations

import io
import itertools
import time
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image
from twitter_text import parse_tweet

from adapters.errors import (
    AuthError,
    ContentRejected,
    NeedsAttention,
    RateLimited,
    SiteChanged,
    TransientError,
)
from adapters.publishing import Media, Presence, PublishJob
from adapters.twitter import HalfPosted, Twitter
from tests.peers.twitter_server import XServer


class FastTwitter(Twitter):
    """The real adapter with a test-sized timeout (class data, not a patch)."""

    timeout = 1.0


@pytest.fixture
def server() -> Iterator[XServer]:
    with XServer() as srv:
        yield srv


@pytest.fixture
def adapter() -> Twitter:
    return FastTwitter()


def png(colour: str, size: tuple[int, int] = (8, 6)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


IMAGES = (
    Media(png("red"), "image/png", "first.png", 8, 6, "A hyena in a red scarf"),
    Media(png("blue"), "image/png", "second.png", 8, 6, ""),
)
DRAFT = {
    "title": "Trisk at dusk",
    "description": "Commission for @[hyena]. Support me on Patreon: https://patreon.com/tanraak",
    "rating": "adult",
    "content_flags": ["violence"],
    "tags": ["hyena", "digital art"],
    "alt_text": "Trisk, sketch",
    "credits": [
        {"role": "artist", "person": "me"},
        {"role": "commissioner", "person": "hyena"},
    ],
}
PEOPLE = {
    "me": {"name": "Tanraak", "accounts": {"twitter": "tanraak"}},
    "hyena": {"name": "Hy", "accounts": {"twitter": "hyena_dude"}},
}


def creds(server: XServer, **changes: str) -> dict[str, str]:
    return {
        "consumer_key": "app-key",
        "consumer_secret": "app-secret",
        "access_token": "1500000001-usertoken",
        "access_token_secret": "user-secret",
        "api_base": server.base_url,
        **changes,
    }


def job(
    server: XServer,
    post: dict[str, Any],
    images: tuple[Media, ...] = (),
    progress: dict[str, Any] | None = None,
    **changes: str,
) -> PublishJob:
    return PublishJob(
        key="k1",
        post=post,
        images=images,
        credentials=creds(server, **changes),
        progress=progress or {},
    )


def plain(text: str = "Trisk at dusk", replies: list[str] | None = None) -> dict[str, Any]:
    return {"ok": True, "text": text, "replies": replies or [], "rating": {}}


class Saved(list):
    def __call__(self, ids: Any) -> None:
        self.append(dict(ids))

    def merged(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for ids in self:
            out.update(ids)
        return out


# -- the post ------------------------------------------------------------------------------------
def test_post_with_images_alt_text_warning_and_links_in_reply(server, adapter):
    post = adapter.render(DRAFT, PEOPLE)
    assert post["ok"]
    assert "@/hyena_dude" in post["text"] and "Patr*on" in post["text"]
    assert "https://" not in post["text"] and post["replies"] == ["https://patreon.com/tanraak"]
    assert parse_tweet(post["text"]).weightedLength <= 280
    saved = Saved()

    published = adapter.publish(job(server, post, IMAGES), saved)

    assert server.calls() == [
        ("GET", "/2/users/me"),
        ("POST", "/2/media/upload"),
        ("POST", "/2/media/upload"),
        ("POST", "/2/media/metadata"),
        ("POST", "/2/media/metadata"),
        ("POST", "/2/tweets"),
        ("POST", "/2/tweets"),
    ]
    for r in server.requests:  # every request carried a signature the server verified
        assert r.oauth["oauth_consumer_key"] == "app-key"
        assert r.oauth["oauth_token"] == "1500000001-usertoken"
        assert r.oauth["oauth_signature_method"] == "HMAC-SHA1"
        assert r.headers["User-Agent"] == "Creditline"
    uploads = server.requests[1:3]
    for r, image in zip(uploads, IMAGES, strict=True):
        assert r.files["media"]["data"] == image.data
        assert r.files["media"]["content_type"] == "image/png"
        assert r.form == {"media_category": ["tweet_image"], "media_type": ["image/png"]}
    media_ids = list(server.media)
    warning = {"adult_content": True, "graphic_violence": True, "other": False}
    assert [r.json for r in server.requests[3:5]] == [
        {
            "id": media_ids[0],
            "metadata": {
                "alt_text": {"text": "A hyena in a red scarf"},
                "sensitive_media_warning": warning,
            },
        },
        {  # no alt text of its own: the artwork's
            "id": media_ids[1],
            "metadata": {"alt_text": {"text": "Trisk, sketch"}, "sensitive_media_warning": warning},
        },
    ]
    main_req, reply_req = server.requests[5:]
    assert main_req.json == {"text": post["text"], "media": {"media_ids": media_ids}}
    main, reply = server.tweets
    assert reply_req.json == {
        "text": "https://patreon.com/tanraak",
        "reply": {"in_reply_to_tweet_id": main["id"]},
    }
    assert reply["reply_to"] == main["id"] and main["media"] == media_ids
    assert server.media[media_ids[0]]["alt_text"] == "A hyena in a red scarf"
    assert published.remote_id == main["id"]
    assert published.url == f"https://x.com/artist/status/{main['id']}"
    assert published.extra == {"reply_ids": [reply["id"]], "media_ids": media_ids}
    # every id was saved before the next remote step
    keys = [sorted(s) for s in saved]
    assert keys[0] == ["user"]
    assert saved[1] == {
        "media_ids": media_ids[:1],
        "media_expires_at": saved[1]["media_expires_at"],
    }
    assert saved.merged()["tweet_ids"] == [main["id"], reply["id"]]
    assert saved.index({"pending": 0}) < saved.index({"tweet_ids": [main["id"]], "pending": None})


def test_credits_that_do_not_fit_go_to_the_thread(server, adapter):
    people = {
        f"p{i}": {"name": f"Person {i}", "accounts": {"twitter": f"person_no_{i:02d}"}}
        for i in range(20)
    }
    draft = {
        **DRAFT,
        "description": "A long evening piece. " * 8,
        "credits": [{"role": "character_owner", "person": k, "character": k} for k in people],
    }
    post = adapter.render(draft, people)
    assert post["ok"] and post["replies"], post
    adapter.publish(job(server, post), Saved())
    tweets = server.tweets
    assert [t["text"] for t in tweets] == [post["text"], *post["replies"]]
    for parent, child in itertools.pairwise(tweets):
        assert child["reply_to"] == parent["id"]
    for t in tweets:
        assert parse_tweet(t["text"]).weightedLength <= 280
    everyone = " ".join(t["text"] for t in tweets)
    assert all(f"@/person_no_{i:02d}" in everyone for i in range(20))


# -- failures ------------------------------------------------------------------------------------
def test_a_bad_signature_is_refused_and_is_an_auth_error(server, adapter):
    with pytest.raises(AuthError, match="401"):
        adapter.publish(job(server, plain(), consumer_secret="wrong"), Saved())
    [request] = server.requests
    assert request.oauth == {}  # oauthlib rejected the signature
    assert server.tweets == []


def test_a_revoked_token_is_an_auth_error(server, adapter):
    with pytest.raises(AuthError):
        adapter.publish(job(server, plain(), access_token="1500000001-revoked"), Saved())
    with pytest.raises(AuthError, match="missing consumer_key"):
        adapter.check_auth({"api_base": server.base_url})


def test_a_read_only_app_is_an_auth_error(server, adapter):
    server.apps["app-key"].write = False
    with pytest.raises(AuthError, match="oauth1 app permissions"):
        adapter.publish(job(server, plain()), Saved())


def test_rate_limit_carries_the_reset(server, adapter):
    server.fail_next(1, 429, path="/2/tweets", reset_in=120)
    with pytest.raises(RateLimited) as limited:
        adapter.publish(job(server, plain()), Saved())
    assert 115 <= limited.value.retry_after <= 121
    assert server.tweets == []


def test_server_error_then_resume_does_not_upload_again(server, adapter):
    server.fail_next(1, 503, path="/2/tweets")
    saved = Saved()
    with pytest.raises(TransientError, match="503"):
        adapter.publish(job(server, plain(), IMAGES), saved)
    assert server.tweets == [] and len(server.media) == 2
    before = len(server.requests)

    published = adapter.publish(job(server, plain(), IMAGES, progress=saved.merged()), saved)

    # pending part 0: looked for on the account first (not there), then posted; no upload
    assert server.calls()[before:] == [
        ("GET", "/2/users/1500000001/tweets"),
        ("POST", "/2/tweets"),
    ]
    [tweet] = server.tweets
    assert published.remote_id == tweet["id"] and tweet["media"] == list(server.media)


def test_timeout_after_posting_is_ambiguous_and_the_retry_adopts_the_post(server, adapter):
    server.fail_next(1, 200, path="/2/tweets", after=True, delay=2.0)
    saved = Saved()
    with pytest.raises(TransientError) as failed:
        adapter.publish(job(server, plain("Trisk & co <3")), saved)
    assert failed.value.ambiguous is True
    [tweet] = server.tweets  # X did post it

    retried = adapter.publish(job(server, plain("Trisk & co <3"), progress=saved.merged()), saved)

    assert retried.remote_id == tweet["id"] and len(server.tweets) == 1
    assert server.calls().count(("POST", "/2/tweets")) == 1  # looked for, not posted again


def test_garbled_answer_to_a_post_is_ambiguous(server, adapter):
    server.fail_next(1, 200, path="/2/tweets", after=True, body=b"<html>oops</html>")
    with pytest.raises(TransientError, match="unreadable") as failed:
        adapter.publish(job(server, plain()), Saved())
    assert failed.value.ambiguous is True
    server.fail_next(1, 200, path="/2/users/me", body=b'{"data": {"name": "x"}}')
    with pytest.raises(SiteChanged, match=r"data\.id"):
        adapter.check_auth(creds(server))


def test_dropped_connection_after_posting_is_ambiguous(server, adapter):
    server.fail_next(1, 0, path="/2/tweets", after=True)
    with pytest.raises(TransientError) as failed:
        adapter.publish(job(server, plain()), Saved())
    assert failed.value.ambiguous is True


def test_nothing_listening_is_transient_and_not_ambiguous(adapter):
    credentials = {**creds(XServer()), "api_base": "http://127.0.0.1:9"}
    with pytest.raises(TransientError) as failed:
        adapter.publish(
            PublishJob(key="k", post=plain(), images=(), credentials=credentials), Saved()
        )
    assert failed.value.ambiguous is False


def test_duplicate_of_our_own_lost_post_is_adopted(server, adapter):
    mine = server.add_tweet("artist", "Trisk at dusk")  # an attempt whose answer was lost
    published = adapter.publish(job(server, plain()), Saved())
    assert published.remote_id == mine["id"] and len(server.tweets) == 1
    assert server.calls()[-2:] == [("POST", "/2/tweets"), ("GET", "/2/users/1500000001/tweets")]


def test_duplicate_that_is_not_ours_to_adopt_is_refused(server, adapter):
    parent = server.add_tweet("artist", "something else")
    server.add_tweet("artist", "Trisk at dusk", reply_to=parent["id"])  # same text, a reply
    with pytest.raises(ContentRejected, match="duplicate content"):
        adapter.publish(job(server, plain()), Saved())


def test_too_long_for_x_is_refused_with_the_reason(server, adapter):
    with pytest.raises(ContentRejected, match="403"):
        adapter.publish(job(server, plain("字" * 141)), Saved())


# -- threads -------------------------------------------------------------------------------------
def test_part_2_of_3_refused_takes_the_first_part_down(server, adapter):
    post = plain("main", ["links", "credits"])
    server.add_tweet("artist", "unrelated")
    server.fail_next(1, 400, path="/2/tweets", method="POST", skip=1, detail="Text is not allowed")
    saved = Saved()

    with pytest.raises(ContentRejected) as refused:
        adapter.publish(job(server, post), saved)

    message = refused.value.message
    assert "part 2 of 3" in message and "Text is not allowed" in message and "deleted" in message
    assert not isinstance(refused.value, HalfPosted)
    assert [t["text"] for t in server.tweets] == ["unrelated"]
    assert [t["text"] for t in server.deleted] == ["main"]
    assert server.calls()[-1] == ("DELETE", f"/2/tweets/{server.deleted[0]['id']}")
    assert saved.merged()["tweet_ids"] == [] and saved.merged()["left_up"] == []


def test_part_2_of_3_refused_and_the_first_part_cannot_be_deleted(server, adapter):
    post = plain("main", ["links", "credits"])
    server.fail_next(1, 400, path="/2/tweets", method="POST", skip=1)
    server.fail_next(1, 503, method="DELETE")
    saved = Saved()
    with pytest.raises(HalfPosted) as stuck:
        adapter.publish(job(server, post), saved)
    assert isinstance(stuck.value, NeedsAttention)  # the engine holds it in needs_attention
    [main] = server.tweets
    assert main["id"] in stuck.value.message and "by hand" in stuck.value.message
    assert saved.merged()["left_up"] == [main["id"]]


def test_transient_failure_mid_thread_resumes_with_the_missing_parts(server, adapter):
    post = plain("main", ["links", "credits"])
    server.fail_next(1, 503, path="/2/tweets", method="POST", skip=1)
    saved = Saved()
    with pytest.raises(TransientError):
        adapter.publish(job(server, post), saved)
    assert [t["text"] for t in server.tweets] == ["main"]
    published = adapter.publish(job(server, post, progress=saved.merged()), saved)
    main, links, credits = server.tweets
    assert [links["text"], credits["text"]] == ["links", "credits"]
    assert links["reply_to"] == main["id"] and credits["reply_to"] == links["id"]
    assert published.remote_id == main["id"]
    assert published.extra["reply_ids"] == [links["id"], credits["id"]]


def test_expired_media_are_uploaded_again(server, adapter):
    saved = Saved()
    server.fail_next(1, 503, path="/2/tweets")
    with pytest.raises(TransientError):
        adapter.publish(job(server, plain(), IMAGES[:1]), saved)
    progress = {**saved.merged(), "media_expires_at": time.time() - 1}
    adapter.publish(job(server, plain(), IMAGES[:1], progress=progress), Saved())
    assert len(server.media) == 2
    [tweet] = server.tweets
    assert tweet["media"] == [list(server.media)[1]]


# -- lookup, delete, check_auth, fetch, parse_url ---------------------------------------------
def test_lookup_found_absent_unknown(server, adapter):
    post = plain("Trisk at dusk", ["https://patreon.com/tanraak"])
    assert adapter.lookup(job(server, post)).presence is Presence.ABSENT
    main = server.add_tweet("artist", "Trisk at dusk")
    assert adapter.lookup(job(server, post)).presence is Presence.ABSENT  # thread incomplete
    reply = server.add_tweet("artist", "https://patreon.com/tanraak", reply_to=main["id"])
    found = adapter.lookup(job(server, post))
    assert found.presence is Presence.FOUND
    assert found.published.remote_id == main["id"]
    assert found.published.extra == {"reply_ids": [reply["id"]]}
    server.fail_next(1, 503, path="/2/users/1500000001/tweets")
    assert adapter.lookup(job(server, post)).presence is Presence.UNKNOWN
    server.fail_next(1, 429, path="/2/users/me")
    assert adapter.lookup(job(server, post)).presence is Presence.UNKNOWN


def test_delete_takes_exactly_the_recorded_thread_down(server, adapter):
    main = server.add_tweet("artist", "main")
    r1 = server.add_tweet("artist", "links", reply_to=main["id"])
    r2 = server.add_tweet("artist", "credits", reply_to=r1["id"])
    mine = server.add_tweet("artist", "Prints are in my shop!", reply_to=r2["id"])  # the artist's
    other = server.add_tweet("artist", "another post")
    saved = {"tweet_ids": [main["id"], r1["id"], r2["id"]]}
    adapter.delete_recorded(main["id"], saved, creds(server))
    assert [t["id"] for t in server.tweets] == [mine["id"], other["id"]]
    deletes = [r.path for r in server.requests if r.method == "DELETE"]
    assert deletes == [f"/2/tweets/{i}" for i in (r2["id"], r1["id"], main["id"])]
    adapter.delete_recorded(main["id"], saved, creds(server))  # already gone: no error
    # an adopted thread's reply ids count as the record too
    again = server.add_tweet("artist", "again")
    reply = server.add_tweet("artist", "credits 2", reply_to=again["id"])
    adapter.delete_recorded(again["id"], {"reply_ids": [reply["id"]]}, creds(server))
    assert reply["id"] in [t["id"] for t in server.deleted]


def test_delete_without_a_record_takes_only_replies_that_match(server, adapter):
    main = server.add_tweet("artist", "main")
    credits = server.add_tweet("artist", "Art by @/tanraak", reply_to=main["id"])
    mine = server.add_tweet("artist", "Prints are in my shop!", reply_to=credits["id"])
    adapter.delete_recorded(main["id"], {}, creds(server), reply_texts=["Art by @/tanraak"])
    assert [t["id"] for t in server.tweets] == [mine["id"]]
    alone = server.add_tweet("artist", "alone")
    theirs = server.add_tweet("artist", "my own reply", reply_to=alone["id"])
    adapter.delete(alone["id"], creds(server))  # no record, no texts: the post alone
    assert [t["id"] for t in server.tweets] == [mine["id"], theirs["id"]]


def replacing(old: list[dict[str, Any]]) -> dict[str, Any]:
    """A repost's progress: the old thread, as its delivery recorded it."""
    ids = [t["id"] for t in old]
    return {"replaces": {"remote_id": ids[0], "progress": {"tweet_ids": ids}}}


def test_repost_with_the_same_text_fails_before_posting_anything(server, adapter):
    old = server.add_tweet("artist", "Trisk at dusk")
    old_reply = server.add_tweet("artist", "Art by @/tanraak", reply_to=old["id"])
    post = plain("Trisk at dusk", ["Art by @/tanraak, colours by @/hyena"])
    with pytest.raises(ContentRejected, match="did not change"):
        adapter.publish(job(server, post, progress=replacing([old, old_reply])), Saved())
    assert ("POST", "/2/tweets") not in server.calls()  # nothing posted, nothing adopted
    assert [t["id"] for t in server.tweets] == [old["id"], old_reply["id"]]


def test_repost_whose_only_change_is_a_link_goes_through(server, adapter):
    old = server.add_tweet("artist", "Trisk at dusk https://patreon.com/tanraak")
    post = plain("Trisk at dusk https://ko-fi.com/tanraak")
    published = adapter.publish(job(server, post, progress=replacing([old])), Saved())
    assert published.remote_id != old["id"] and len(server.tweets) == 2


def test_repost_never_adopts_the_old_post_as_a_duplicate(server, adapter):
    """Even without a readable old text (e.g. the lookup lost it), X's duplicate answer for
    the main post must not make the adapter adopt the old post."""
    old = server.add_tweet("artist", "Trisk at dusk")
    progress = {"replaces": {"remote_id": old["id"], "progress": {}}}
    server.fail_next(1, 200, path="/2/tweets", method="GET", body=b"{}")  # texts not shown
    with pytest.raises(ContentRejected, match="duplicate"):
        adapter.publish(job(server, plain("Trisk at dusk"), progress=progress), Saved())
    assert [t["id"] for t in server.tweets] == [old["id"]]


def test_repost_with_an_unchanged_credits_reply_replaces_that_reply(server, adapter):
    old = server.add_tweet("artist", "Trisk at dusk")
    old_reply = server.add_tweet("artist", "Art by @/tanraak", reply_to=old["id"])
    post = plain("Trisk at dawn", ["Art by @/tanraak"])
    published = adapter.publish(job(server, post, progress=replacing([old, old_reply])), Saved())
    new_reply = published.extra["reply_ids"][0]
    assert [(t["id"], t["reply_to"]) for t in server.tweets] == [
        (old["id"], None),
        (published.remote_id, None),
        (new_reply, published.remote_id),
    ]
    assert [t["id"] for t in server.deleted] == [old_reply["id"]]  # cleared just before
    calls = server.calls()
    assert calls.index(("DELETE", f"/2/tweets/{old_reply['id']}")) > calls.index(
        ("POST", "/2/tweets")
    )  # the new post went up first


def test_check_auth(server, adapter):
    assert adapter.check_auth(creds(server)) == "@artist"
    with pytest.raises(AuthError):
        adapter.check_auth(creds(server, access_token_secret="nope"))


def test_fetch_imports_recent_posts_with_images(server, adapter):
    adapter.publish(job(server, plain("Trisk at dusk\n\nArt by @/tanraak"), IMAGES[:1]), Saved())
    for i in range(105):
        server.add_tweet("artist", f"post {i} https://art.example/{i}")
    posts = adapter.fetch(creds(server), limit=106)
    assert len(posts) == 106
    assert posts[0].extra["text"] == "post 104 https://art.example/104"  # t.co expanded
    first = posts[-1]
    assert first.extra["title"] == "Trisk at dusk"
    assert first.extra["text"] == "Trisk at dusk\n\nArt by @/tanraak"
    [media_id] = server.media
    assert first.extra["image_url"] == f"https://pbs.twimg.com/media/F{media_id}.png"
    assert first.extra["images"][0]["alt_text"] == "A hyena in a red scarf"
    assert first.extra["post_url"] == first.url == f"https://x.com/artist/status/{first.remote_id}"
    pages = [r for r in server.requests if r.path.endswith("/tweets") and r.method == "GET"]
    assert [p.query["max_results"] for p in pages] == [["100"], ["6"]]
    assert pages[1].query["pagination_token"] == ["100"]
    assert [p.remote_id for p in adapter.fetch(creds(server), limit=2)] == [
        p.remote_id for p in posts[:2]
    ]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://x.com/artist/status/1800000000000000001", "1800000000000000001"),
        ("https://twitter.com/Art_ist/status/123/photo/1", "123"),
        ("http://mobile.twitter.com/a/status/5?s=20&t=x", "5"),
        ("https://www.x.com/i/web/status/77", "77"),
        ("https://x.com/artist", None),
        ("https://x.com/artist/likes/5", None),
        ("https://example.com/artist/status/5", None),
        ("https://x.com/this_name_is_far_too_long/status/5", None),
    ],
)
def test_parse_url(adapter, url, expected):
    assert adapter.parse_url(url) == expected


def test_credential_fields_are_declared():
    assert Twitter.credential_fields == (
        "consumer_key",
        "consumer_secret",
        "access_token",
        "access_token_secret",
        "api_base",
        "upload_base",
    )
    assert Twitter.supports_delete and Twitter.supports_threads
    assert not Twitter.supports_idempotent_create
