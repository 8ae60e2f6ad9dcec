"""The Bluesky adapter against the real reference PDS (``@atproto/pds``) on loopback.

The server comes from ``tests/peers/bluesky`` (one per test session, rate limits on); these
tests skip when it is not installed, and fail instead under ``CREDITLINE_REQUIRE_BLUESKY=1``.
Everything is read back with ``com.atproto.repo.getRecord``/``listRecords``/``sync.getBlob``:
there is no AppView here.
"""

from __future__ import annotations

import base64
import io
import itertools
import random
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from atproto_client import exceptions as atx
from atproto_client.models.common import XrpcError
from atproto_client.request import Response
from PIL import Image

from adapters import bluesky as bsky
from adapters import images
from adapters.base import ImageLimits
from adapters.bluesky import Bluesky, make_tid, parse_tid, reply_key
from adapters.errors import AuthError, ContentRejected, RateLimited, TransientError
from adapters.publishing import Media, Presence, Published, PublishJob

ADAPTER = Bluesky()


# -- helpers ------------------------------------------------------------------------------------


class Store:
    """Stands in for the engine's sealed credential storage."""

    def __init__(self, credentials: Mapping[str, str]) -> None:
        self.credentials = dict(credentials)
        self.updates: list[dict[str, str]] = []

    def update(self, credentials: Mapping[str, str]) -> None:
        self.updates.append(dict(credentials))
        self.credentials.update(credentials)


class Crash(Exception):
    """The worker died: raised from the checkpoint, so the save never happened."""


def image(width: int, height: int, *, noise: bool = False, fmt: str = "PNG") -> bytes:
    if noise:
        rnd = random.Random(width * 7919 + height)
        img = Image.frombytes("RGB", (width, height), rnd.randbytes(width * height * 3))
    else:
        img = Image.new("RGB", (width, height), (255, 128, 0))
        for x in range(0, width, 7):
            for y in range(0, height, 5):
                img.putpixel((x, y), (x % 256, y % 256, 90))
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


def media(data: bytes, alt: str = "", media_type: str = "image/png") -> Media:
    with Image.open(io.BytesIO(data)) as img:
        width, height = img.size
    return Media(data, media_type, "art.png", width, height, alt)


def text_post(text: str, replies: list[dict[str, Any]] | None = None, **extra: Any) -> dict:
    return {"ok": True, "text": text, "facets": [], "labels": [], "replies": replies or [], **extra}


def job(
    store: Store,
    post: Mapping[str, Any],
    images: tuple[Media, ...] = (),
    *,
    key: str | None = None,
    progress: Mapping[str, Any] | None = None,
) -> PublishJob:
    return PublishJob(
        key=key or ADAPTER.new_idempotency_key(),
        post=post,
        images=images,
        credentials=dict(store.credentials),
        progress=dict(progress or {}),
        update_credentials=store.update,
    )


def publish(j: PublishJob, saved: dict[str, Any] | None = None, crash_on: str | None = None):
    saved = {} if saved is None else saved

    def checkpoint(ids: Mapping[str, Any]) -> None:
        if crash_on and crash_on in ids and ids[crash_on]:
            raise Crash(crash_on)
        saved.update(ids)

    return ADAPTER.publish(j, checkpoint)


def rkey_of(uri: str) -> str:
    return uri.rsplit("/", 1)[1]


def facet_text(text: str, facet: Mapping[str, Any]) -> str:
    index = facet["index"]
    return text.encode()[index["byteStart"] : index["byteEnd"]].decode()


@pytest.fixture(scope="module")
def pds(bluesky_pds):
    return bluesky_pds


@pytest.fixture(scope="module")
def alice(pds):
    return pds.create_account("alice")


@pytest.fixture(scope="module")
def bob(pds):
    return pds.create_account("bob")


@pytest.fixture
def fresh(pds):
    """A new account and its credential store (no session yet)."""
    account = pds.create_account("fresh")
    return account, Store(account.credentials)


# -- publishing ---------------------------------------------------------------------------------


def test_post_with_image_mentions_links_and_labels(pds, alice, bob, fresh):
    account, store = fresh
    ghost = "ghost-nobody.test"  # a .test handle this PDS answers for: it resolves to nothing
    post = ADAPTER.render(
        {
            "title": "Trisk at dusk",
            "description": (
                "Commission for @[bob] — ünïcode 🦊. See https://example.com/ych {credits}"
            ),
            "rating": "mature",
            "tags": ["hyena"],
            "alt_text": "A hyena in a red scarf",
            "credits": [
                {"role": "artist", "person": "alice"},
                {"role": "commissioner", "person": "bob"},
                {"role": "character_owner", "person": "ghost", "character": "Trisk"},
            ],
        },
        {
            "alice": {"name": "Alice", "accounts": {"bluesky": alice.handle}},
            "bob": {"name": "Bob", "accounts": {"bluesky": bob.handle}},
            "ghost": {"name": "Ghost", "accounts": {"bluesky": ghost}},
        },
    )
    assert post["ok"], post
    data = image(64, 48)
    saved: dict[str, Any] = {}
    result = publish(job(store, post, (media(data, "orange test card"),)), saved)

    assert result.remote_id.startswith(f"at://{account.did}/app.bsky.feed.post/")
    assert result.url == f"https://bsky.app/profile/{account.did}/post/{rkey_of(result.remote_id)}"
    assert saved["post"]["uri"] == result.remote_id
    assert [w for w in result.extra["warnings"] if ghost in w]

    got = pds.get_record(result.remote_id)
    value = got["value"]
    assert got["cid"] == result.extra["cid"]
    assert value["text"] == post["text"]
    assert value["labels"]["values"] == [{"val": "sexual"}]
    mentions = {
        facet_text(value["text"], f): f["features"][0]["did"]
        for f in value["facets"]
        if f["features"][0]["$type"] == bsky.MENTION
    }
    assert mentions == {f"@{alice.handle}": alice.did, f"@{bob.handle}": bob.did}
    links = {
        facet_text(value["text"], f): f["features"][0]["uri"]
        for f in value["facets"]
        if f["features"][0]["$type"] == bsky.LINK
    }
    assert links == {
        "example.com/ych": "https://example.com/ych",
        f"@{ghost}": f"https://bsky.app/profile/{ghost}",  # the unresolved mention, as a link
    }
    tags = [f for f in value["facets"] if f["features"][0]["$type"].endswith("#tag")]
    assert [facet_text(value["text"], f) for f in tags] == ["#hyena"]
    # byte ranges are those of the renderer, untouched
    assert [f["index"] for f in value["facets"]] == [f["index"] for f in post["facets"]]

    (img,) = value["embed"]["images"]
    assert value["embed"]["$type"] == "app.bsky.embed.images"
    assert img["alt"] == "orange test card"
    assert img["aspectRatio"] == {"width": 64, "height": 48}
    assert img["image"]["mimeType"] == "image/png"
    assert pds.get_blob(account.did, img["image"]["ref"]["$link"]) == data  # kept as it was


def test_alt_text_falls_back_to_the_artwork_and_four_images(pds, fresh):
    _account, store = fresh
    imgs = tuple(media(image(40 + i, 30)) for i in range(4))
    post = text_post("four", alt_text="the artwork's alt text")
    result = publish(job(store, post, imgs))
    value = pds.get_record(result.remote_id)["value"]
    assert [i["alt"] for i in value["embed"]["images"]] == ["the artwork's alt text"] * 4
    assert [i["aspectRatio"]["width"] for i in value["embed"]["images"]] == [40, 41, 42, 43]
    with pytest.raises(ContentRejected, match="at most 4"):
        publish(job(store, post, (*imgs, imgs[0])))


def test_reply_thread(pds, bob, fresh):
    account, store = fresh
    mention = f"@{bob.handle}"
    replies = [
        {
            "text": f"Commissioned by {mention}",
            "facets": [
                {
                    "index": {"byteStart": 16, "byteEnd": 16 + len(mention)},
                    "features": [{"$type": bsky.MENTION, "handle": bob.handle}],
                }
            ],
        },
        {"text": "part three", "facets": []},
    ]
    saved: dict[str, Any] = {}
    result = publish(job(store, text_post("part one", replies)), saved)
    root = pds.get_record(result.remote_id)
    assert len(result.extra["replies"]) == 2
    assert saved["replies"] == [
        {"uri": u, "cid": pds.get_record(u)["cid"]} for u in result.extra["replies"]
    ]
    first, second = (pds.get_record(u) for u in result.extra["replies"])
    ref = {"uri": root["uri"], "cid": root["cid"]}
    assert first["value"]["reply"] == {"root": ref, "parent": ref}
    assert second["value"]["reply"] == {
        "root": ref,
        "parent": {"uri": first["uri"], "cid": first["cid"]},
    }
    assert first["value"]["facets"][0]["features"] == [{"$type": bsky.MENTION, "did": bob.did}]
    assert facet_text(first["value"]["text"], first["value"]["facets"][0]) == mention
    assert second["value"]["text"] == "part three"
    assert len(pds.list_posts(account.did)) == 3


def test_a_refused_reply_takes_the_earlier_parts_down(pds, fresh):
    account, store = fresh
    too_long = "x" * 301  # app.bsky.feed.post: at most 300 graphemes, checked by the PDS
    post = text_post("one", [{"text": "two", "facets": []}, {"text": too_long, "facets": []}])
    saved: dict[str, Any] = {}
    with pytest.raises(ContentRejected, match=r"reply 2 .* earlier parts were deleted"):
        publish(job(store, post), saved)
    assert pds.list_posts(account.did) == []
    assert saved["post"] is None and saved["replies"] == []


def test_oversize_image_is_fitted_under_the_limit(pds, fresh):
    account, store = fresh
    data = image(2400, 1600, noise=True)  # ~11.5 MB of noise as PNG
    assert len(data) > 2_000_000
    result = publish(job(store, text_post("big"), (media(data, "noise"),)))
    (img,) = pds.get_record(result.remote_id)["value"]["embed"]["images"]
    blob = pds.get_blob(account.did, img["image"]["ref"]["$link"])
    assert len(blob) <= 2_000_000
    assert img["image"]["size"] == len(blob)
    assert img["image"]["mimeType"] == "image/jpeg"
    with Image.open(io.BytesIO(blob)) as shown:
        assert shown.format == "JPEG"
        assert img["aspectRatio"] == {"width": shown.width, "height": shown.height}
        assert abs(shown.width / shown.height - 1.5) < 0.01
    assert img["alt"] == "noise"


def test_fit_image_picks_the_best_quality_that_fits():
    data = image(900, 600, noise=True)
    source = Image.open(io.BytesIO(data)).convert("RGB")
    limits = ImageLimits(max_count=4, max_bytes=300_000, max_pixels=4000)
    out, media_type, width, height = images.fit_image(
        media(data), limits, "Bluesky", originals_within_pixels=False
    )
    assert (media_type, width, height) == ("image/jpeg", 900, 600)  # quality alone was enough
    (q,) = [q for q in range(50, 96) if images._encode(source, "JPEG", q) == out]
    assert len(out) <= 300_000 < len(images._encode(source, "JPEG", q + 1))  # the best that fits

    small = ImageLimits(max_count=4, max_bytes=150_000, max_pixels=4000)
    out, media_type, width, height = images.fit_image(
        media(data), small, "Bluesky", originals_within_pixels=False
    )
    assert len(out) <= 150_000 and width < 900 and abs(width / height - 1.5) < 0.01
    with Image.open(io.BytesIO(out)) as img:
        assert img.size == (width, height)

    capped = ImageLimits(max_count=4, max_bytes=150_000, max_pixels=300)
    *_, width, height = images.fit_image(
        media(data), capped, "Bluesky", originals_within_pixels=False
    )
    assert (width, height) == (300, 200)


def test_fit_image_keeps_transparency_and_converts_unsupported_types():
    rgba = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    buf = io.BytesIO()
    rgba.save(buf, "GIF")
    gif = Media(buf.getvalue(), "image/gif", "a.gif", 300, 200)
    out, media_type, width, height = images.fit_image(gif, Bluesky.images, "Bluesky")
    assert (media_type, width, height) == ("image/png", 300, 200)  # GIF is not a Bluesky type
    with Image.open(io.BytesIO(out)) as img:
        assert img.convert("RGBA").getpixel((5, 5))[3] == 0
    with pytest.raises(ContentRejected, match="not an image"):
        images.fit_image(
            Media(b"not an image", "image/png", "x.png", 1, 1), Bluesky.images, "Bluesky"
        )


# -- idempotency --------------------------------------------------------------------------------


def test_retry_with_the_same_key_makes_one_post(pds, fresh):
    account, store = fresh
    key = ADAPTER.new_idempotency_key()
    post = text_post("once", [{"text": "and a reply", "facets": []}])
    first = publish(job(store, post, (media(image(20, 20)),), key=key))
    again = publish(job(store, post, (media(image(20, 20)),), key=key))  # progress lost
    assert again.remote_id == first.remote_id and rkey_of(first.remote_id) == key
    assert again.extra["replies"] == first.extra["replies"]
    assert len(pds.list_posts(account.did)) == 2


def test_crash_after_the_record_was_written(pds, fresh):
    account, store = fresh
    key = ADAPTER.new_idempotency_key()
    post = text_post("crash test", [{"text": "reply", "facets": []}])
    imgs = (media(image(30, 20), "alt"),)
    saved: dict[str, Any] = {}
    uploads = pds.requests("com.atproto.repo.uploadBlob")
    with pytest.raises(Crash):  # the server accepted the post; the worker died before saving
        publish(job(store, post, imgs, key=key), saved, crash_on="post")
    assert "post" not in saved and len(saved["images"]) == 1
    assert len(pds.list_posts(account.did)) == 1
    creates = pds.requests("com.atproto.repo.createRecord")

    result = publish(job(store, post, imgs, key=key, progress=saved), saved)
    assert rkey_of(result.remote_id) == key
    assert pds.requests("com.atproto.repo.uploadBlob") == uploads + 1  # blob not sent again
    assert pds.requests("com.atproto.repo.createRecord") == creates + 1  # only the reply
    records = pds.list_posts(account.did)
    assert len(records) == 2
    assert saved["post"]["uri"] == result.remote_id
    # and a crash after the reply was written, before its checkpoint
    result2 = publish(job(store, post, imgs, key=key, progress={"post": saved["post"]}))
    assert result2.extra["replies"] == result.extra["replies"]
    assert len(pds.list_posts(account.did)) == 2


def test_create_at_a_taken_key_adopts_instead_of_failing(pds, fresh):
    """The reference PDS answers a second createRecord at one rkey with a bare 500."""
    account, store = fresh
    key = ADAPTER.new_idempotency_key()
    first = publish(job(store, text_post("first"), key=key))
    with bsky._Connection(store.credentials, store.update) as conn:
        record = ADAPTER._record("second", [])
        adopted = conn.create_post(key, record)  # straight to createRecord: no pre-check
    assert adopted["uri"] == first.remote_id
    assert pds.get_record(first.remote_id)["value"]["text"] == "first"  # not overwritten
    assert len(pds.list_posts(account.did)) == 1


def test_lookup(pds, fresh):
    _account, store = fresh
    j = job(store, text_post("look me up"))
    assert ADAPTER.lookup(j).presence is Presence.ABSENT
    result = publish(j)
    found = ADAPTER.lookup(j)
    assert found.presence is Presence.FOUND and found.published.remote_id == result.remote_id


def test_keys_are_tids():
    keys = [ADAPTER.new_idempotency_key() for _ in range(50)]
    assert len(set(keys)) == 50 and keys == sorted(keys)
    assert all(bsky.is_tid(k) for k in keys)
    micros, clock = parse_tid(keys[0])
    assert abs(micros / 1e6 - time.time()) < 60
    assert make_tid(micros, clock) == keys[0]
    assert parse_tid(reply_key(keys[0], 2)) == (micros + 3, clock)
    # a key's replies never reach the next key, even when the keys are made back to back
    replies = {reply_key(k, i) for k in keys for i in range(bsky.MAX_REPLIES)}
    assert len(replies) == 50 * bsky.MAX_REPLIES and not replies & set(keys)
    assert all(
        parse_tid(b)[0] - parse_tid(a)[0] >= bsky.KEY_BLOCK for a, b in itertools.pairwise(keys)
    )
    with pytest.raises(ContentRejected, match="at most"):
        reply_key(keys[0], bsky.MAX_REPLIES)
    assert bsky.is_tid("3jzfcijpj2z2a") and not bsky.is_tid("idem-x")
    with pytest.raises(ContentRejected, match="TID"):
        ADAPTER.publish(
            PublishJob("not-a-tid", text_post("x"), (), {"identifier": "a"}), lambda _: None
        )


# -- sessions and errors ------------------------------------------------------------------------


def test_wrong_password_is_an_auth_error(pds, alice):
    store = Store({**alice.credentials, "app_password": "wrong-wrong-wrong"})
    with pytest.raises(AuthError, match="Invalid identifier or password"):
        publish(job(store, text_post("nope")))
    with pytest.raises(AuthError):
        ADAPTER.check_auth(store.credentials)
    assert store.updates == []
    assert pds.list_posts(alice.did) == []


def test_session_is_created_once_and_reused(pds, fresh):
    account, store = fresh
    logins = pds.requests("com.atproto.server.createSession")
    for i in range(3):
        publish(job(store, text_post(f"post {i}")))
    assert ADAPTER.check_auth(store.credentials) == account.handle
    assert pds.requests("com.atproto.server.createSession") == logins + 1
    assert len(store.updates) == 1 and store.updates[0]["session"]
    assert store.updates[0]["app_password"] == account.app_password  # the rest is kept


def test_check_auth_can_store_the_session_it_creates(pds, fresh):
    account, store = fresh
    assert ADAPTER.check_auth(store.credentials, update_credentials=store.update) == account.handle
    logins = pds.requests("com.atproto.server.createSession")
    assert ADAPTER.fetch(store.credentials, update_credentials=store.update) == []
    assert ADAPTER.check_auth(store.credentials) == account.handle
    assert pds.requests("com.atproto.server.createSession") == logins
    assert len(store.updates) == 1


def tampered(session: str) -> str:
    """The same session with the access token's signature broken (the PDS rejects it)."""
    handle, did, access, refresh, endpoint = session.split(":::")
    head, body, sig = access.split(".")
    raw = bytearray(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)))
    raw[0] ^= 0xFF
    bad = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    return ":::".join([handle, did, f"{head}.{body}.{bad}", refresh, endpoint])


def test_rejected_access_token_is_refreshed_once(pds, fresh):
    account, store = fresh
    publish(job(store, text_post("log in")))
    store.credentials["session"] = tampered(store.credentials["session"])
    logins = pds.requests("com.atproto.server.createSession")
    refreshes = pds.requests("com.atproto.server.refreshSession")
    publish(job(store, text_post("after refresh")))
    assert pds.requests("com.atproto.server.refreshSession") == refreshes + 1
    assert pds.requests("com.atproto.server.createSession") == logins  # no new login
    assert len(store.updates) == 2 and store.credentials["session"] == store.updates[-1]["session"]
    assert len(pds.list_posts(account.did)) == 2


def test_dead_session_falls_back_to_one_login(pds, fresh):
    account, store = fresh
    publish(job(store, text_post("log in")))
    handle, did, access, _refresh, endpoint = store.credentials["session"].split(":::")
    store.credentials["session"] = tampered(
        ":::".join([handle, did, access, access, endpoint])  # the refresh token is junk too
    )
    logins = pds.requests("com.atproto.server.createSession")
    publish(job(store, text_post("after login")))
    assert pds.requests("com.atproto.server.createSession") == logins + 1
    assert len(pds.list_posts(account.did)) == 2


def test_revoked_app_password_is_an_auth_error(pds, fresh):
    account, store = fresh
    publish(job(store, text_post("before revoke")))
    login = pds.xrpc(
        "POST",
        "com.atproto.server.createSession",
        json={"identifier": account.handle, "password": account.password},
    ).json()
    r = pds.xrpc(
        "POST",
        "com.atproto.server.revokeAppPassword",
        token=login["accessJwt"],
        json={"name": "creditline"},
    )
    assert r.status_code == 200, r.text
    # Access tokens are stateless and outlive the revocation (up to 2 hours): once this one is
    # refused, the refresh token (revoked) and then the app password (revoked) fail in turn.
    store.credentials["session"] = tampered(store.credentials["session"])
    refreshes = pds.requests("com.atproto.server.refreshSession")
    logins = pds.requests("com.atproto.server.createSession")
    with pytest.raises(AuthError):
        publish(job(store, text_post("after revoke")))
    assert pds.requests("com.atproto.server.refreshSession") == refreshes + 1
    assert pds.requests("com.atproto.server.createSession") == logins + 1
    assert len(pds.list_posts(account.did)) == 1


def test_login_rate_limit(pds):
    """createSession allows 30 logins per account per 5 minutes (PDS_RATE_LIMITS=1)."""
    account = pds.create_account("limited")
    url = f"{pds.url}/xrpc/com.atproto.server.createSession"
    body = {"identifier": account.handle, "password": account.password}

    with httpx.Client(timeout=30) as http, ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda _: http.post(url, json=body).status_code, range(30)))
    assert statuses.count(200) == 30
    store = Store(account.credentials)
    with pytest.raises(RateLimited) as caught:
        publish(job(store, text_post("too many logins")))
    assert caught.value.retry_after is not None and 0 < caught.value.retry_after <= 300
    assert store.updates == []


def _error(status: int, error: str = "", headers: dict | None = None, message: str = "m"):
    content = XrpcError(error=error, message=message) if error else None
    return Response(False, status, content, headers or {})


@pytest.mark.parametrize(
    ("exc", "expected", "ambiguous"),
    [
        (atx.NetworkError(_error(413, "PayloadTooLarge")), ContentRejected, None),
        (atx.NetworkError(_error(413)), ContentRejected, None),
        (
            atx.BadRequestError(_error(400, "InvalidRequest", message="blob too big")),
            ContentRejected,
            None,
        ),
        (atx.UnauthorizedError(_error(401, "AuthenticationRequired")), AuthError, None),
        (atx.BadRequestError(_error(400, "ExpiredToken")), AuthError, None),
        (atx.BadRequestError(_error(400, "AccountTakedown")), AuthError, None),
        (atx.RequestException(_error(500, "InternalServerError")), TransientError, True),
        (atx.NetworkError(_error(502)), TransientError, True),
        (atx.RequestException(_error(503)), TransientError, True),
        (atx.InvokeTimeoutError(), TransientError, True),
        (httpx.RemoteProtocolError("peer closed"), TransientError, True),
    ],
)
def test_error_mapping(exc, expected, ambiguous):
    mapped = bsky.translate(exc, write=True)
    assert type(mapped) is expected
    if ambiguous is not None:
        assert mapped.ambiguous is ambiguous
        assert bsky.translate(exc, write=False).ambiguous is False


def test_error_mapping_connect_failure_is_not_ambiguous():
    exc = atx.NetworkError()
    exc.__cause__ = httpx.ConnectError("refused")
    assert bsky.translate(exc, write=True).ambiguous is False


def test_rate_limit_headers():
    reset = int(time.time()) + 120
    mapped = bsky.translate(
        atx.RateLimitExceededError(
            _error(429, "RateLimitExceeded", {"ratelimit-reset": str(reset)})
        ),
        write=True,
    )
    assert isinstance(mapped, RateLimited) and 100 < mapped.retry_after <= 120
    mapped = bsky.translate(
        atx.RateLimitExceededError(_error(429, "RateLimitExceeded", {"retry-after": "42"})),
        write=False,
    )
    assert mapped.retry_after == 42


def test_unreachable_server_is_transient():
    store = Store({"identifier": "a.test", "app_password": "x", "service": "http://127.0.0.1:9"})
    with pytest.raises(TransientError) as caught:
        publish(job(store, text_post("x")))
    assert caught.value.ambiguous is False


# -- import, delete, URLs ----------------------------------------------------------------------


def test_fetch_imports_the_accounts_posts(pds, fresh):
    _account, store = fresh
    data = image(32, 24)
    with_image = publish(job(store, text_post("with image"), (media(data, "alt one"),)))
    plain = publish(job(store, text_post("plain", [{"text": "reply", "facets": []}])))
    got = ADAPTER.fetch(store.credentials)
    by_id = {p.remote_id: p for p in got}
    assert len(got) == 3 and {with_image.remote_id, plain.remote_id} <= set(by_id)
    imported = by_id[with_image.remote_id]
    assert isinstance(imported, Published) and imported.url == with_image.url
    assert imported.extra["text"] == "with image"
    (img,) = imported.extra["images"]
    assert img["alt"] == "alt one"
    with httpx.Client() as http:
        assert http.get(img["url"]).content == data
    assert by_id[plain.extra["replies"][0]].extra["is_reply"] is True
    assert len(ADAPTER.fetch(store.credentials, limit=2)) == 2


def test_delete(pds, alice, fresh):
    _account, store = fresh
    result = publish(job(store, text_post("short-lived")))
    ADAPTER.delete(result.remote_id, store.credentials)
    assert pds.get_record(result.remote_id) is None
    with pytest.raises(ContentRejected, match="not a post of this account"):
        ADAPTER.delete(f"at://{alice.did}/app.bsky.feed.post/{bsky.new_key()}", store.credentials)


def test_delete_takes_the_credits_thread_too(pds, fresh):
    account, store = fresh
    unrelated = publish(job(store, text_post("another post")))
    replies = [{"text": "part two", "facets": []}, {"text": "part three", "facets": []}]
    result = publish(job(store, text_post("part one", replies)))
    assert len(pds.list_posts(account.did)) == 4
    ADAPTER.delete(result.remote_id, store.credentials)
    for uri in [result.remote_id, *result.extra["replies"]]:
        assert pds.get_record(uri) is None
    assert [p["uri"] for p in pds.list_posts(account.did)] == [unrelated.remote_id]
    ADAPTER.delete(result.remote_id, store.credentials)  # already gone: no error


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://bsky.app/profile/Tanraak.bsky.social/post/3jzfcijpj2z2a",
            "at://tanraak.bsky.social/app.bsky.feed.post/3jzfcijpj2z2a",
        ),
        (
            "https://bsky.app/profile/did:plc:abc123xyz/post/3jzfcijpj2z2a?ref=x",
            "at://did:plc:abc123xyz/app.bsky.feed.post/3jzfcijpj2z2a",
        ),
        (
            "at://did:plc:abc123xyz/app.bsky.feed.post/3jzfcijpj2z2a",
            "at://did:plc:abc123xyz/app.bsky.feed.post/3jzfcijpj2z2a",
        ),
        ("https://bsky.app/profile/tanraak.bsky.social", None),
        ("https://bsky.app/profile/tanraak.bsky.social/post/not-a-tid", None),
        ("at://did:plc:abc/app.bsky.feed.like/3jzfcijpj2z2a", None),
        ("https://example.com/profile/a.b/post/3jzfcijpj2z2a", None),
    ],
)
def test_parse_url(url, expected):
    assert ADAPTER.parse_url(url) == expected
