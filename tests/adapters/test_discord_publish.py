"""Discord webhook publishing against the loopback webhook API (real HTTP, real multipart).

Each test checks what reached the server (method, path, query, User-Agent, payload_json,
files[n]) and the message Discord would hold, including who it pinged.
"""

from __future__ import annotations

import io
import logging
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from adapter_cases import ARTWORK, PEOPLE
from PIL import Image

from adapters.discord import Discord
from adapters.errors import (
    AuthError,
    ContentRejected,
    RateLimited,
    SiteChanged,
    TransientError,
    Unsupported,
)
from adapters.publishing import Media, Presence, PublishJob
from tests.peers.discord_server import (
    CHANNEL_ID,
    GUILD_ID,
    IS_SPOILER,
    WEBHOOK_ID,
    WEBHOOK_TOKEN,
    DiscordServer,
)

FRIEND = "123456789012345678"


class FastDiscord(Discord):
    timeout = 0.5
    max_rate_wait = 1.0


@pytest.fixture
def server() -> Iterator[DiscordServer]:
    with DiscordServer() as srv:
        yield srv


@pytest.fixture
def adapter() -> Discord:
    Discord._exhausted.clear()  # rate-limit memory is per process: start each test empty
    return FastDiscord()


def png(colour: str, size: tuple[int, int] = (8, 6)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


RED = Media(png("red"), "image/png", "trisk final.png", 8, 6, "A hyena in a red scarf")
BLUE = Media(png("blue"), "image/png", "sketch.png", 8, 6, "The same hyena, sketch")


def creds(server: DiscordServer, **over: str) -> dict[str, str]:
    return {"webhook_url": server.webhook_url, **over}


def job(server, post, images=(RED,), progress=None, **over) -> PublishJob:
    return PublishJob("key-1", post, tuple(images), creds(server, **over), progress or {})


def simple(text: str = "**Trisk**", spoiler: bool = False, users=()) -> dict[str, Any]:
    allowed = {"parse": [], "users": list(users)}
    return {"ok": True, "text": text, "spoiler": spoiler, "allowed_mentions": allowed}


class Saved(list):
    def __call__(self, ids: Any) -> None:
        self.append(dict(ids))


# -- the acceptance case: the X draft on Discord -----------------------------------------------
def test_the_x_draft_pings_nobody_and_links_every_credited_person(server, adapter):
    """Issue 6: the same draft to Discord produces no ping and a masked profile link for each
    credited person — through the real render and the real publish path."""
    draft = {**ARTWORK, "description": ARTWORK["description"] + " @everyone <@999999999999999999>"}
    post = adapter.render(draft, PEOPLE)
    assert post["ok"], post

    published = adapter.publish(job(server, post), Saved())

    [message] = server.messages
    assert message["mentions"] == [] and message["mention_everyone"] is False
    execute = server.requests[-1]
    assert execute.payload["allowed_mentions"] == {"parse": [], "users": []}
    content = message["content"]
    for key in ("tanraak", "hyena"):
        person = PEOPLE[key]
        profile = {
            "tanraak": "https://www.furaffinity.net/user/tanraak/",
            "hyena": "https://x.com/hyena_dude",
        }[key]
        assert f"[{person['name']}](<{profile}>)" in content, (key, content)
    assert "Art by [Tanraak]" in content and "Commissioned by [Hyena Dude]" in content
    assert published.url == f"https://discord.com/channels/{GUILD_ID}/{CHANNEL_ID}/{message['id']}"


def test_only_credited_people_with_discord_ids_are_pinged(server, adapter):
    people = {**PEOPLE, "friend": {"name": "Friend", "accounts": {"discord": FRIEND}}}
    draft = {
        **ARTWORK,
        "description": "For @[friend], not <@111111111111111111> or @here. {credits}",
        "credits": [*ARTWORK["credits"], {"role": "colorist", "person": "friend"}],
    }
    post = adapter.render(draft, people)
    adapter.publish(job(server, post), Saved())
    [message] = server.messages
    assert [u["id"] for u in message["mentions"]] == [FRIEND]
    assert message["mention_everyone"] is False
    assert server.requests[-1].payload["allowed_mentions"] == {"parse": [], "users": [FRIEND]}


# -- posting -----------------------------------------------------------------------------------
def test_post_with_image_alt_text_and_spoiler(server, adapter):
    post = adapter.render(ARTWORK, PEOPLE)  # mature: spoilered
    assert post["spoiler"] is True
    saved = Saved()

    published = adapter.publish(job(server, post), saved)

    get, execute = server.requests
    base = f"/api/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}"
    assert (get.method, get.path, get.query) == ("GET", base, {})
    assert (execute.method, execute.path, execute.query) == ("POST", base, {"wait": "true"})
    assert all(r.headers["User-Agent"].startswith("DiscordBot (") for r in (get, execute))
    assert execute.content_type == "multipart/form-data"
    assert set(execute.form) == {"payload_json"}
    assert execute.payload == {
        "content": post["text"],
        "allowed_mentions": {"parse": [], "users": []},
        "attachments": [
            {
                "id": 0,
                "filename": "SPOILER_trisk_final.png",
                "description": "A hyena in a red scarf",
            }
        ],
    }
    upload = execute.files["files[0]"]
    assert upload["data"] == RED.data and upload["filename"] == "SPOILER_trisk_final.png"
    assert upload["content_type"] == "image/png"
    [message] = server.messages
    [attachment] = message["attachments"]
    assert attachment["description"] == "A hyena in a red scarf"
    assert attachment["flags"] & IS_SPOILER
    assert published.remote_id == message["id"]
    assert saved == [{"message_id": message["id"], "url": published.url}]
    assert published.extra["images"] == [attachment["url"]]


def test_general_rating_is_not_spoilered_and_each_image_has_its_alt(server, adapter):
    post = adapter.render({**ARTWORK, "rating": "general"}, PEOPLE)
    adapter.publish(job(server, post, (RED, BLUE)), Saved())
    execute = server.requests[-1]
    assert [a["filename"] for a in execute.payload["attachments"]] == [
        "trisk_final.png",
        "sketch.png",
    ]
    assert [a["description"] for a in server.messages[0]["attachments"]] == [
        RED.alt_text,
        BLUE.alt_text,
    ]
    assert set(execute.files) == {"files[0]", "files[1]"}
    assert not any("flags" in a for a in server.messages[0]["attachments"])


def test_render_alt_text_is_used_when_the_image_has_none(server, adapter):
    post = {**simple(), "alt_text": "from the artwork"}
    bare = Media(RED.data, "image/png", "a.png", 8, 6)
    adapter.publish(job(server, post, (bare,)), Saved())
    assert server.messages[0]["attachments"][0]["description"] == "from the artwork"


def test_oversized_image_is_reencoded_to_fit(server):
    class Small(FastDiscord):
        images = Discord.images.__class__(max_count=10, max_bytes=30_000)

    noise = Image.effect_noise((400, 300), 80).convert("RGB")
    buffer = io.BytesIO()
    noise.save(buffer, "PNG")
    big = Media(buffer.getvalue(), "image/png", "noise.png", 400, 300, "noise")
    Discord._exhausted.clear()
    Small().publish(job(server, simple(), (big,)), Saved())
    upload = server.requests[-1].files["files[0]"]
    assert upload["size"] <= 30_000 and upload["filename"] == "noise.jpg"


def test_posting_into_a_thread(adapter):
    thread = "299737254929760258"
    with DiscordServer(threads=(thread,)) as srv:
        published = adapter.publish(job(srv, simple(), thread_id=thread), Saved())
        assert srv.requests[-1].query == {"wait": "true", "thread_id": thread}
        assert (
            published.url
            == f"https://discord.com/channels/{GUILD_ID}/{thread}/{published.remote_id}"
        )
        adapter.delete(published.remote_id, creds(srv, thread_id=thread))
        assert srv.requests[-1].query == {"thread_id": thread} and srv.messages == []


# -- errors ------------------------------------------------------------------------------------
def test_deleted_webhook_is_an_auth_error_before_any_upload(server, adapter):
    server.webhook_deleted = True
    with pytest.raises(AuthError, match=r"Unknown Webhook.*10015"):
        adapter.publish(job(server, simple()), Saved())
    assert [r.method for r in server.requests] == ["GET"]
    with pytest.raises(AuthError):
        adapter.check_auth(creds(server))
    with pytest.raises(AuthError):
        adapter.delete("1575252174059864066", creds(server))


def test_wrong_token_is_an_auth_error(server, adapter):
    url = server.webhook_url.replace(WEBHOOK_TOKEN, "x" * 68)
    with pytest.raises(AuthError, match="Invalid Webhook Token"):
        adapter.check_auth({"webhook_url": url})


def test_not_a_webhook_url_is_refused_without_a_request(server, adapter):
    for url in ("", "https://discord.com/channels/1/2", "http://discord.com/api/webhooks/1/x"):
        with pytest.raises(AuthError):
            adapter.check_auth({"webhook_url": url})
    long_id = f"http://example.com/api/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}"
    with pytest.raises(AuthError, match="https"):
        adapter.check_auth({"webhook_url": long_id})
    assert server.requests == []


def test_long_rate_limit_is_raised_with_retry_after(server, adapter):
    server.fail_next(1, 429, method="POST", retry_after=30.5)
    with pytest.raises(RateLimited) as limited:
        adapter.publish(job(server, simple()), Saved())
    assert limited.value.retry_after == 30.5
    assert server.messages == []


def test_short_rate_limit_is_waited_out_once(server, adapter):
    server.fail_next(1, 429, method="POST", retry_after=0.2)
    started = time.monotonic()
    adapter.publish(job(server, simple()), Saved())
    assert time.monotonic() - started >= 0.2
    assert [r.method for r in server.requests] == ["GET", "POST", "POST"]
    assert len(server.messages) == 1


def test_rate_limit_headers_are_honoured_before_the_next_request(server, adapter):
    server.rate_limit = (1, 0.4)
    adapter.publish(job(server, simple("one")), Saved())
    started = time.monotonic()
    adapter.publish(job(server, simple("two")), Saved())
    assert time.monotonic() - started >= 0.25  # waited for the bucket, no 429 taken
    assert [r.method for r in server.requests] == ["GET", "POST", "GET", "POST"]
    assert [m["content"] for m in server.messages] == ["one", "two"]


def test_a_long_bucket_wait_is_raised_without_sending(server, adapter):
    server.rate_limit = (1, 5.0)
    adapter.publish(job(server, simple("one")), Saved())
    with pytest.raises(RateLimited) as limited:
        adapter.publish(job(server, simple("two")), Saved())
    assert 3.0 < limited.value.retry_after <= 5.0
    assert len(server.requests) == 2  # nothing was sent for the second post


def test_invalid_form_body_is_rejected_with_the_field(server, adapter):
    with pytest.raises(ContentRejected) as refused:
        adapter.publish(job(server, simple("x" * 2001)), Saved())
    assert "content: Must be 2000 or fewer in length." in refused.value.message
    assert "50035" in refused.value.message


def test_file_too_large_is_rejected(server, adapter):
    server.fail_next(1, 413, method="POST", message="Request entity too large", code=40005)
    with pytest.raises(ContentRejected, match="40005"):
        adapter.publish(job(server, simple()), Saved())


def test_server_error_on_the_post_is_ambiguous_and_on_a_read_not(server, adapter):
    server.fail_next(1, 502, method="POST", after=True)
    with pytest.raises(TransientError) as failed:
        adapter.publish(job(server, simple()), Saved())
    assert failed.value.ambiguous is True and len(server.messages) == 1
    server.fail_next(1, 500, method="GET")
    with pytest.raises(TransientError) as read:
        adapter.check_auth(creds(server))
    assert read.value.ambiguous is False


def test_timeout_is_ambiguous_lookup_unknown_and_the_url_stays_secret(server, adapter, caplog):
    server.fail_next(1, 200, method="POST", after=True, delay=1.0)
    with caplog.at_level(logging.DEBUG), pytest.raises(TransientError) as failed:
        adapter.publish(job(server, simple()), Saved())
    assert failed.value.ambiguous is True and len(server.messages) == 1
    assert WEBHOOK_TOKEN not in failed.value.message and WEBHOOK_TOKEN not in repr(failed.value)
    assert failed.value.__suppress_context__  # the library error (with the URL) is not chained
    assert WEBHOOK_TOKEN not in caplog.text
    assert re.search(r"/webhooks/\d+/<redacted>", caplog.text)  # urllib3's line, redacted
    assert adapter.lookup(job(server, simple())).presence is Presence.UNKNOWN


def test_unreachable_is_not_ambiguous(adapter):
    with DiscordServer() as gone:
        url = gone.webhook_url
    with pytest.raises(TransientError) as failed:
        adapter.publish(PublishJob("k", simple(), (RED,), {"webhook_url": url}), Saved())
    assert failed.value.ambiguous is False and WEBHOOK_TOKEN not in failed.value.message


def test_unreadable_success_is_ambiguous_and_a_missing_id_a_site_change(server, adapter):
    server.fail_next(1, 200, method="POST", body=b"<html>ok</html>")
    with pytest.raises(TransientError) as failed:
        adapter.publish(job(server, simple()), Saved())
    assert failed.value.ambiguous is True
    server.fail_next(1, 200, method="POST", body=b'{"content": "x"}')
    with pytest.raises(SiteChanged, match="message id"):
        adapter.publish(job(server, simple()), Saved())


def test_a_finished_delivery_is_not_posted_twice(server, adapter):
    saved = Saved()
    first = adapter.publish(job(server, simple()), saved)
    before = len(server.requests)
    again = adapter.publish(job(server, simple(), progress=saved[-1]), Saved())
    assert (again.remote_id, again.url) == (first.remote_id, first.url)
    assert len(server.requests) == before and len(server.messages) == 1


# -- edit, delete, account ---------------------------------------------------------------------
def test_edit_rewrites_content_without_pinging_and_keeps_the_image(server, adapter):
    published = adapter.publish(job(server, simple("old")), Saved())
    [before] = server.messages
    new = simple(f"new text for <@{FRIEND}> and <@111111111111111111>", users=[FRIEND])
    edited = adapter.edit(published.remote_id, job(server, new, ()))

    patch = next(r for r in server.requests if r.method == "PATCH")
    assert patch.path.endswith(f"/messages/{published.remote_id}")
    assert patch.content_type == "application/json"
    assert patch.payload == {
        "content": new["text"],
        "allowed_mentions": {"parse": [], "users": [FRIEND]},
    }
    [after] = server.messages
    assert after["content"] == new["text"] and after["edited_timestamp"]
    assert [u["id"] for u in after["mentions"]] == [FRIEND]
    assert after["attachments"] == before["attachments"]
    assert edited.remote_id == published.remote_id and edited.url == published.url


def test_edit_of_a_deleted_message_is_rejected(server, adapter):
    with pytest.raises(ContentRejected, match="Unknown Message"):
        adapter.edit("1575252174059864066", job(server, simple()))
    with pytest.raises(ContentRejected):
        adapter.edit("not-an-id", job(server, simple()))


def test_delete_and_delete_again(server, adapter):
    published = adapter.publish(job(server, simple()), Saved())
    adapter.delete(published.remote_id, creds(server))
    delete = server.requests[-1]
    assert (delete.method, delete.path) == (
        "DELETE",
        f"/api/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}/messages/{published.remote_id}",
    )
    assert server.messages == []
    adapter.delete(published.remote_id, creds(server))  # already gone: no error


def test_check_auth_returns_the_webhook_name(adapter):
    with DiscordServer(name="Art feed") as srv:
        assert adapter.check_auth(creds(srv)) == "Art feed"
        [call] = srv.requests
        assert call.method == "GET" and call.path.endswith(WEBHOOK_TOKEN)
        versioned = srv.webhook_url.replace("/api/", "/api/v10/")
        assert adapter.check_auth({"webhook_url": versioned}) == "Art feed"


def test_fetch_is_unsupported(server, adapter):
    with pytest.raises(Unsupported):
        adapter.fetch(creds(server))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://discord.com/channels/199737254929760256/199737254929760257/1575252174059864066",
            "1575252174059864066",
        ),
        (
            "https://ptb.discord.com/channels/199737254929760256/199737254929760257/1575252174059864066/",
            "1575252174059864066",
        ),
        (
            "https://discordapp.com/channels/199737254929760256/199737254929760257/1575252174059864066",
            "1575252174059864066",
        ),
        ("https://discord.com/channels/199737254929760256/199737254929760257", None),
        ("https://discord.com/users/123456789012345678", None),
        ("https://evil.example/channels/1/2/3", None),
        ("discord.com/channels/199737254929760256/199737254929760257/1575252174059864066", None),
    ],
)
def test_parse_url(url, expected):
    assert Discord().parse_url(url) == expected


def test_credentials_are_declared():
    assert Discord.credential_fields == ("webhook_url", "thread_id")
    assert not Discord.supports_idempotent_create
