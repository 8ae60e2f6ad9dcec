"""DeviantArt publishing against the loopback DeviantArt API (tests/peers/deviantart_server.py)."""

from __future__ import annotations

import copy
import hashlib
import io
from typing import Any

import pytest
from adapter_cases import ARTWORK, PEOPLE
from PIL import Image

from adapters.deviantart import DeviantArt
from adapters.errors import (
    AuthError,
    ContentRejected,
    RateLimited,
    SiteChanged,
    TransientError,
    Unsupported,
)
from adapters.publishing import Media, Presence, PublishJob
from tests.peers.deviantart_server import DeviantArtServer
from tests.peers.loopback import json_response

USER = "Tanraak"
CLIENT = ("1234", "app-secret")


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 80, 40)).save(buf, "PNG")
    return buf.getvalue()


IMAGE = Media(png(), "image/png", "trisk.png", 40, 30)


class Fast(DeviantArt):
    timeout = 0.3
    page_size = 2


class Saved:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, ids: Any) -> None:
        self.calls.append(dict(ids))

    def merged(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for call in self.calls:
            out.update(call)
        return out


@pytest.fixture
def server():
    with DeviantArtServer(CLIENT) as srv:
        yield srv


@pytest.fixture
def adapter() -> DeviantArt:
    return Fast()


def creds(server: DeviantArtServer, tokens: dict[str, str] | None = None) -> dict[str, str]:
    tokens = tokens or server.connect(USER)
    return {
        **tokens,
        "client_id": CLIENT[0],
        "client_secret": CLIENT[1],
        "api_base": server.base_url,
    }


def post(adapter: DeviantArt, **artwork: Any) -> dict[str, Any]:
    return adapter.render({**copy.deepcopy(ARTWORK), **artwork}, PEOPLE)


def make_job(server, post_, *, credentials=None, progress=None, stored=None) -> PublishJob:
    return PublishJob("k", post_, (IMAGE,), credentials or creds(server), progress or {}, stored)


def api_paths(server) -> list[str]:
    return [f"{r.method} {r.path.removeprefix('/api/v1/oauth2')}" for r in server.requests]


# -- publish ----------------------------------------------------------------------------------
def test_submit_to_stash_then_publish_with_maturity(server, adapter):
    credentials = creds(server)
    saved = Saved()
    rendered = post(adapter)

    published = adapter.publish(make_job(server, rendered, credentials=credentials), saved)

    assert api_paths(server) == ["POST /stash/submit", "POST /stash/publish"]
    submit, publish = server.requests
    for request in (submit, publish):
        assert request.headers["Authorization"] == f"Bearer {credentials['access_token']}"
        assert request.headers["User-Agent"].startswith("Creditline/")
        assert "gzip" in request.headers["Accept-Encoding"]
    assert submit.form == {
        "title": ["Trisk at dusk"],
        "artist_comments": [rendered["description"]],
        "tags[]": ["hyena", "digital_art"],
        "is_dirty": ["false"],
    }
    assert submit.files["file"]["sha256"] == hashlib.sha256(IMAGE.data).hexdigest()
    [item] = server.items.values()
    assert publish.form == {
        "itemid": [str(item["itemid"])],
        "is_mature": ["1"],
        "mature_level": ["moderate"],
        "agree_submission": ["1"],
        "agree_tos": ["1"],
        "is_ai_generated": ["0"],
        "noai": ["1"],
        "allow_free_download": ["0"],
    }
    [deviation] = server.deviations.values()
    assert deviation["_description"] == rendered["description"]
    assert 'href="https://x.com/hyena_dude"' in deviation["_description"]
    assert published.url == deviation["url"]
    assert published.remote_id == deviation["url"].rsplit("-", 1)[1]
    assert published.extra["deviationid"] == deviation["deviationid"]
    assert [list(c) for c in saved.calls] == [
        ["itemid"],
        ["publish_sent_at"],
        ["deviationid", "url"],
    ]


def test_adult_with_flags_sends_level_and_classification(server, adapter):
    rendered = post(adapter, rating="adult", content_flags=["nudity", "sexual"])
    adapter.publish(make_job(server, rendered), Saved())
    publish = server.requests[-1]
    assert publish.form["mature_level"] == ["strict"]
    assert publish.form["mature_classification[]"] == ["nudity", "sexual"]
    [deviation] = server.deviations.values()
    assert deviation["is_mature"] and deviation["_mature_classification"] == ["nudity", "sexual"]


def test_general_is_not_mature(server, adapter):
    adapter.publish(make_job(server, post(adapter, rating="general")), Saved())
    publish = server.requests[-1]
    assert publish.form["is_mature"] == ["0"] and "mature_level" not in publish.form


def test_the_title_follows_deviantarts_character_rules(server, adapter):
    rendered = post(adapter, title="Trisk — at dusk ✨ <3 and a very long title over fifty chars")
    assert rendered["title"] == "Trisk at dusk 3 and a very long title over fift..."
    adapter.publish(make_job(server, rendered), Saved())
    [deviation] = server.deviations.values()
    assert deviation["title"] == rendered["title"]  # the server checks the alphabet and length


def test_a_title_deviantart_refuses_is_rejected_with_its_reason(server, adapter):
    raw = {**post(adapter), "title": "Trisk ✨"}  # not through render's title rules
    with pytest.raises(ContentRejected, match="Title may only contain"):
        adapter.publish(make_job(server, raw), Saved())
    assert server.items == {}


def test_an_expired_token_is_refreshed_stored_and_the_call_retried(server, adapter):
    credentials = creds(server)
    server.expire_access_tokens()
    stored = Saved()

    adapter.publish(
        make_job(server, post(adapter), credentials=credentials, stored=stored), Saved()
    )

    assert api_paths(server) == [
        "POST /stash/submit",  # 401 invalid_token
        "POST /oauth2/token",
        "POST /stash/submit",
        "POST /stash/publish",
    ]
    token = server.requests[1]
    assert token.form == {
        "grant_type": ["refresh_token"],
        "client_id": [CLIENT[0]],
        "client_secret": [CLIENT[1]],
        "refresh_token": [credentials["refresh_token"]],
    }
    new = stored.merged()
    assert new["access_token"] in server.access and new["refresh_token"] in server.refresh
    assert new["refresh_token"] != credentials["refresh_token"]
    assert server.requests[-1].headers["Authorization"] == f"Bearer {new['access_token']}"
    assert len(server.deviations) == 1


def test_a_spent_refresh_token_is_an_auth_error(server, adapter):
    credentials = creds(server)
    server.expire_access_tokens()
    server.refresh.clear()
    with pytest.raises(AuthError, match="refresh"):
        adapter.publish(make_job(server, post(adapter), credentials=credentials), Saved())
    assert server.items == {}


def test_resume_after_a_failed_publish_does_not_upload_again(server, adapter):
    server.fail_next(1, 503, path="/api/v1/oauth2/stash/publish")
    saved = Saved()
    credentials = creds(server)
    with pytest.raises(TransientError):
        adapter.publish(make_job(server, post(adapter), credentials=credentials), saved)
    assert "itemid" in saved.merged() and server.deviations == {}

    before = len(server.requests)
    job = make_job(server, post(adapter), credentials=credentials, progress=saved.merged())
    published = adapter.publish(job, saved)
    assert api_paths(server)[before:] == ["POST /stash/publish"]
    assert len(server.items) == 1 and len(server.deviations) == 1
    assert published.extra["itemid"] == saved.merged()["itemid"]


def test_a_lost_publish_answer_is_ambiguous_and_lookup_finds_the_deviation(server, adapter):
    server.fail_next(1, 0, path="/api/v1/oauth2/stash/publish", after=True)
    saved = Saved()
    credentials = creds(server)
    with pytest.raises(TransientError) as lost:
        adapter.publish(make_job(server, post(adapter), credentials=credentials), saved)
    assert lost.value.ambiguous is True
    job = make_job(server, post(adapter), credentials=credentials, progress=saved.merged())
    found = adapter.lookup(job)
    assert found.presence is Presence.FOUND and found.published is not None
    [deviation] = server.deviations.values()
    assert found.published.url == deviation["url"]


def test_lookup_is_absent_before_publish_and_while_the_item_is_in_stash(server, adapter):
    credentials = creds(server)
    assert adapter.lookup(make_job(server, post(adapter), credentials=credentials)).presence is (
        Presence.ABSENT
    )
    assert server.requests == []
    server.fail_next(1, 500, path="/api/v1/oauth2/stash/publish")  # refused, not done
    saved = Saved()
    with pytest.raises(TransientError):
        adapter.publish(make_job(server, post(adapter), credentials=credentials), saved)
    job = make_job(server, post(adapter), credentials=credentials, progress=saved.merged())
    assert adapter.lookup(job).presence is Presence.ABSENT


def test_a_publish_timeout_is_ambiguous(server, adapter):
    server.delay_next(1, 0.6, path="/api/v1/oauth2/stash/publish")
    with pytest.raises(TransientError) as late:
        adapter.publish(make_job(server, post(adapter)), Saved())
    assert late.value.ambiguous is True


# -- errors ----------------------------------------------------------------------------------
def test_rate_limit_gives_retry_after(server, adapter):
    server.fail_next(1, 429, path="/api/v1/oauth2/stash/submit", reset_in=30)
    with pytest.raises(RateLimited) as limited:
        adapter.publish(make_job(server, post(adapter)), Saved())
    assert limited.value.retry_after == 30.0 and "threshold" in limited.value.message


def test_server_error_on_submit_is_transient(server, adapter):
    server.fail_next(1, 500, path="/api/v1/oauth2/stash/submit", after=True)
    with pytest.raises(TransientError) as failed:
        adapter.publish(make_job(server, post(adapter)), Saved())
    assert failed.value.ambiguous is True and "500" in failed.value.message


def test_a_publish_answer_without_deviationid_is_a_site_change(adapter):
    class Changed(DeviantArtServer):
        def _publish(self, user, form):
            return json_response({"status": "success", "url": "https://www.deviantart.com/x"})

    with Changed(CLIENT) as changed, pytest.raises(SiteChanged, match="deviationid"):
        adapter.publish(make_job(changed, post(adapter)), Saved())


def test_not_connected_is_an_auth_error_without_a_request(server, adapter):
    with pytest.raises(AuthError):
        adapter.check_auth({"api_base": server.base_url})
    assert server.requests == []


# -- edit, delete, account, import -----------------------------------------------------------
def test_edit_rewrites_comments_title_maturity_and_tags(server, adapter):
    credentials = creds(server)
    saved = Saved()
    published = adapter.publish(make_job(server, post(adapter), credentials=credentials), saved)
    new = post(adapter, title="Trisk at dawn", rating="general", tags=["hyena", "dawn"])
    new["description"] = 'Art by <a href="https://x.example/t">Tanraak</a>, colours by Kit'

    job = make_job(server, new, credentials=credentials, progress=saved.merged())
    edited = adapter.edit(published.remote_id, job)

    submit, edit = server.requests[-2:]
    assert submit.path.endswith("/stash/submit") and submit.files == {}
    assert submit.form["itemid"] == [saved.merged()["itemid"]]
    assert submit.form["artist_comments"] == [new["description"]]
    assert edit.path.endswith(f"/deviation/edit/{saved.merged()['deviationid']}")
    assert edit.form["is_mature"] == ["0"] and edit.form["tags[]"] == ["hyena", "dawn"]
    [deviation] = server.deviations.values()
    assert deviation["_description"] == new["description"]
    assert deviation["title"] == "Trisk at dawn" and not deviation["is_mature"]
    assert edited.remote_id == published.remote_id


def test_edit_without_the_stash_item_is_unsupported(server, adapter):
    with pytest.raises(Unsupported, match=r"Sta\.sh item"):
        adapter.edit("1000000001", make_job(server, post(adapter)))


def test_delete_is_unsupported(adapter):
    assert adapter.supports_delete is False
    with pytest.raises(Unsupported):
        adapter.delete("1", {})


def test_check_auth_names_the_account(server, adapter):
    assert adapter.check_auth(creds(server)) == USER
    assert api_paths(server) == ["GET /user/whoami"]


def test_fetch_imports_the_gallery_newest_first_with_mature_work(server, adapter):
    credentials = creds(server)
    for i, rating in enumerate(["general", "adult", "general"]):
        adapter.publish(
            make_job(server, post(adapter, title=f"P{i}", rating=rating), credentials=credentials),
            Saved(),
        )

    found = adapter.fetch(credentials, limit=10)

    assert [p.extra["title"] for p in found] == ["P2", "P1", "P0"]
    newest = list(server.deviations.values())[-1]
    assert found[0].url == found[0].extra["post_url"] == newest["url"]
    assert found[0].extra["image_url"] == newest["content"]["src"]
    assert found[0].extra["deviationid"] == newest["deviationid"]
    pages = [r for r in server.requests if r.path.endswith("/gallery/all")]
    assert [p.query.get("offset") for p in pages] == [["0"], ["2"]]
    assert all(p.query["mature_content"] == ["true"] for p in pages)
    assert pages[0].query["username"] == [USER]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.deviantart.com/tanraak/art/Trisk-at-dusk-1000000001", "1000000001"),
        ("https://deviantart.com/tanraak/art/Trisk-at-dusk-1000000001/", "1000000001"),
        ("https://www.deviantart.com/tanraak/art/1000000001", "1000000001"),
        ("https://tanraak.deviantart.com/art/Old-Style-123", "123"),
        ("https://www.deviantart.com/deviation/123", "123"),
        ("https://www.deviantart.com/tanraak", None),
        ("https://www.deviantart.com/tanraak/gallery", None),
        ("https://www.deviantart.com.evil.example/tanraak/art/x-1", None),
        ("deviantart.com/tanraak/art/x-1", None),
    ],
)
def test_parse_url(url, expected):
    assert DeviantArt().parse_url(url) == expected
