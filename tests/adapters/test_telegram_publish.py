"""Telegram publishing against the loopback Bot API (real HTTP, real multipart).

Each test checks what reached the server (method, token, chat, fields, uploaded bytes) and
what the channel ended up holding, parsed the way Telegram parses HTML captions.
"""

from __future__ import annotations

import io
import json
import logging
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
    Unsupported,
)
from adapters.publishing import Media, Presence, PublishJob
from adapters.telegram import Telegram, parse_remote_id
from tests.peers.telegram_server import TOKEN, TelegramServer, caption_html

DRAFT = {
    "title": "Trisk at dusk",
    "description": "Commission for @[hyena]. Prints: https://shop.example/trisk?a=1&b=2",
    "rating": "adult",
    "tags": ["hyena"],
    "alt_text": "A hyena in a red scarf",
    "credits": [
        {"role": "artist", "person": "me"},
        {"role": "commissioner", "person": "hyena"},
    ],
}
PEOPLE = {
    "me": {"name": "Tanraak", "accounts": {"telegram": "tanraak"}},
    "hyena": {"name": "Hyena <Dude>", "accounts": {"twitter": "hyena_dude"}},
}


class FastTelegram(Telegram):
    timeout = 0.5


@pytest.fixture
def server() -> Iterator[TelegramServer]:
    with TelegramServer() as srv:
        yield srv


@pytest.fixture
def adapter() -> Telegram:
    return FastTelegram()


def png(colour: str, size: tuple[int, int] = (8, 6)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


RED = Media(png("red"), "image/png", "first.png", 8, 6)
BLUE = Media(png("blue"), "image/png", "second.png", 8, 6)


def creds(server: TelegramServer, **over: str) -> dict[str, str]:
    return {"bot_token": TOKEN, "chat_id": "@tanraak_art", "api_base": server.base_url, **over}


def job(server, post, images=(RED,), progress=None, **over) -> PublishJob:
    return PublishJob("key-1", post, tuple(images), creds(server, **over), progress or {})


def simple(text: str = "<b>Trisk</b>", replies=(), spoiler=False) -> dict[str, Any]:
    return {"ok": True, "text": text, "replies": list(replies), "has_spoiler": spoiler}


class Saved(list):
    def __call__(self, ids: Any) -> None:
        self.append(dict(ids))

    def merged(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for ids in self:
            out.update(ids)
        return out


# -- posting ---------------------------------------------------------------------------------
def test_one_photo_with_html_caption_and_spoiler(server, adapter):
    post = adapter.render(DRAFT, PEOPLE)
    assert post["ok"] and post["has_spoiler"] is True and post["replies"] == []
    saved = Saved()

    published = adapter.publish(job(server, post), saved)

    [call] = server.requests
    assert (call.http_method, call.method, call.token) == ("POST", "sendPhoto", TOKEN)
    assert call.content_type == "multipart/form-data"
    assert call.headers["User-Agent"] == "Creditline"
    assert call.params == {
        "chat_id": "@tanraak_art",
        "caption": post["text"],
        "parse_mode": "HTML",
        "has_spoiler": "true",
    }
    assert call.files["photo"]["data"] == RED.data  # it fits: the original bytes
    assert call.files["photo"]["filename"] == "first.png"
    [message] = server.messages
    assert message["has_media_spoiler"] is True
    # what Telegram shows: the caption parsed, links as text_link entities
    assert message["caption"].startswith("Trisk at dusk\n\nCommission for Hyena <Dude>.")
    assert "https://shop.example/trisk?a=1&b=2" in message["caption"]
    links = [e["url"] for e in message["caption_entities"] if e["type"] == "text_link"]
    assert links == ["https://x.com/hyena_dude", "https://x.com/hyena_dude"]
    assert "@tanraak" in message["caption"]  # a native mention
    assert any(e["type"] == "mention" for e in message["caption_entities"])
    assert caption_html(message).startswith("<b>Trisk at dusk</b>")
    assert published.remote_id == str(message["message_id"])
    assert published.url == f"https://t.me/tanraak_art/{message['message_id']}"
    assert saved == [{"message_ids": [message["message_id"]], "url": published.url}]


def test_general_rating_sends_no_spoiler(server, adapter):
    post = adapter.render({**DRAFT, "rating": "general"}, PEOPLE)
    assert post["has_spoiler"] is False
    adapter.publish(job(server, post), Saved())
    assert "has_spoiler" not in server.requests[0].params
    assert "has_media_spoiler" not in server.messages[0]


def test_several_images_go_as_one_album(server, adapter):
    post = adapter.render(DRAFT, PEOPLE)
    published = adapter.publish(job(server, post, (RED, BLUE)), Saved())

    [call] = server.requests
    assert call.method == "sendMediaGroup"
    media = json.loads(call.params["media"])
    assert media == [
        {
            "type": "photo",
            "media": "attach://photo0",
            "caption": post["text"],
            "parse_mode": "HTML",
            "has_spoiler": True,
        },
        {"type": "photo", "media": "attach://photo1", "has_spoiler": True},
    ]
    assert [call.files[f"photo{i}"]["data"] for i in range(2)] == [RED.data, BLUE.data]
    first, second = server.messages
    assert first["media_group_id"] == second["media_group_id"]
    assert "caption" in first and "caption" not in second
    assert published.remote_id == f"{first['message_id']},{second['message_id']}"
    assert published.url.endswith(f"/{first['message_id']}")


def test_credits_that_do_not_fit_follow_as_a_reply(server, adapter):
    post = adapter.render(DRAFT, PEOPLE, {"credits_position": "reply"})
    assert len(post["replies"]) == 1
    saved = Saved()

    published = adapter.publish(job(server, post), saved)

    photo, reply = server.messages
    call = server.requests[1]
    assert call.method == "sendMessage" and call.content_type == "application/json"
    assert call.params == {
        "chat_id": "@tanraak_art",
        "text": post["replies"][0],
        "parse_mode": "HTML",
        "reply_parameters": {
            "message_id": photo["message_id"],
            "allow_sending_without_reply": False,
        },
        "link_preview_options": {"is_disabled": True},
    }
    assert reply["reply_to_message"]["message_id"] == photo["message_id"]
    assert reply["text"].startswith("Art by @tanraak")
    assert published.remote_id == f"{photo['message_id']}|{reply['message_id']}"
    assert saved[-1] == {"reply_ids": [reply["message_id"]]}
    assert parse_remote_id(published.remote_id) == ([photo["message_id"]], [reply["message_id"]])


def test_text_only_post_is_a_message(server, adapter):
    published = adapter.publish(job(server, simple("<b>Sketch</b> soon"), ()), Saved())
    assert server.requests[0].method == "sendMessage"
    assert server.messages[0]["text"] == "Sketch soon"
    assert published.remote_id == str(server.messages[0]["message_id"])


# -- images ----------------------------------------------------------------------------------
def test_photo_over_the_dimension_limit_is_downscaled(server, adapter):
    wide = Media(png("green", (9500, 600)), "image/png", "wide.png", 9500, 600)
    adapter.publish(job(server, simple(), (wide,)), Saved())
    sent = server.requests[0].files["photo"]
    assert sent["content_type"] == "image/png"  # only too large in pixels: still lossless
    with Image.open(io.BytesIO(sent["data"])) as image:
        assert 9900 <= sum(image.size) <= 10_000 and image.format == "PNG"
    assert server.messages[0]["photo"][-1]["width"] == 1280


def test_photo_over_the_byte_limit_is_reencoded_to_fit(server):
    class Small(FastTelegram):
        images = Telegram.images.__class__(max_count=10, max_bytes=30_000, max_pixels=10_000)

    noise = Image.effect_noise((400, 300), 80).convert("RGB")
    buffer = io.BytesIO()
    noise.save(buffer, "PNG")
    big = Media(buffer.getvalue(), "image/png", "noise.png", 400, 300)
    assert len(big.data) > 30_000
    Small().publish(job(server, simple(), (big,)), Saved())
    sent = server.requests[0].files["photo"]
    assert sent["size"] <= 30_000 and sent["content_type"] == "image/jpeg"
    assert sent["filename"] == "noise.jpg"


def test_too_narrow_image_is_rejected_before_any_request(server, adapter):
    strip = Media(png("red", (2100, 100)), "image/png", "strip.png", 2100, 100)
    with pytest.raises(ContentRejected, match="20 times"):
        adapter.publish(job(server, simple(), (strip,)), Saved())
    assert server.requests == []


def test_not_an_image_is_rejected(server, adapter):
    with pytest.raises(ContentRejected, match="not an image"):
        adapter.publish(
            job(server, simple(), (Media(b"%PDF", "image/png", "x.png", 1, 1),)), Saved()
        )


# -- errors ----------------------------------------------------------------------------------
def test_wrong_token_is_an_auth_error(server, adapter):
    other = "987654321:" + "B" * 35
    with pytest.raises(AuthError, match="Unauthorized"):
        adapter.publish(job(server, simple(), bot_token=other), Saved())
    assert server.messages == []


def test_malformed_token_is_refused_without_a_request(server, adapter):
    with pytest.raises(AuthError, match="bot token"):
        adapter.publish(job(server, simple(), bot_token="not a token"), Saved())
    assert server.requests == []


def test_unknown_channel_is_an_auth_error(server, adapter):
    with pytest.raises(AuthError, match="chat not found"):
        adapter.publish(job(server, simple(), chat_id="@someone_else"), Saved())


def test_bot_without_rights_is_an_auth_error(server, adapter):
    server.member = {"status": "administrator", "can_post_messages": False}
    with pytest.raises(AuthError, match="need administrator rights"):
        adapter.publish(job(server, simple()), Saved())
    server.member = {"status": "kicked"}
    with pytest.raises(AuthError, match="not a member"):
        adapter.publish(job(server, simple()), Saved())


def test_too_many_requests_gives_retry_after(server, adapter):
    server.fail_next(1, 429, method="sendPhoto", retry_after=7)
    with pytest.raises(RateLimited) as limited:
        adapter.publish(job(server, simple()), Saved())
    assert limited.value.retry_after == 7
    assert "retry after 7" in limited.value.message


def test_refused_caption_is_rejected_with_telegrams_reason(server, adapter):
    with pytest.raises(ContentRejected, match='Unsupported start tag "p"'):
        adapter.publish(job(server, simple("<p>hi</p>")), Saved())
    with pytest.raises(ContentRejected, match="caption is too long"):
        adapter.publish(job(server, simple("x" * 1025)), Saved())


def test_server_error_on_the_post_is_ambiguous(server, adapter):
    server.fail_next(1, 500, method="sendPhoto", after=True)
    with pytest.raises(TransientError) as failed:
        adapter.publish(job(server, simple()), Saved())
    assert failed.value.ambiguous is True and "500" in failed.value.message
    assert len(server.messages) == 1  # it did post


def test_proxy_error_page_is_transient(server, adapter):
    server.fail_next(1, 502, body=b"<html><body>502 Bad Gateway</body></html>")
    with pytest.raises(TransientError, match="502"):
        adapter.publish(job(server, simple()), Saved())


def test_read_timeout_is_ambiguous_and_lookup_cannot_tell(server, adapter, caplog):
    server.fail_next(1, 200, method="sendPhoto", after=True, delay=1.0)
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(TransientError) as failed:
            adapter.publish(job(server, simple()), Saved())
        adapter.check_auth(creds(server))  # urllib3 logs each answered request's path
    assert failed.value.ambiguous is True
    assert TOKEN not in failed.value.message and TOKEN not in repr(failed.value)
    assert failed.value.__suppress_context__  # the library error (with the URL) is not chained
    assert TOKEN not in caplog.text and "/bot<redacted>/getMe" in caplog.text
    assert adapter.lookup(job(server, simple())).presence is Presence.UNKNOWN


def test_dropped_connection_after_posting_is_ambiguous(server, adapter):
    server.fail_next(1, 0, method="sendPhoto", after=True)
    with pytest.raises(TransientError) as failed:
        adapter.publish(job(server, simple()), Saved())
    assert failed.value.ambiguous is True and len(server.messages) == 1


def test_unreachable_server_is_not_ambiguous(adapter):
    with TelegramServer() as gone:
        base = gone.base_url
    with pytest.raises(TransientError) as failed:
        adapter.publish(
            PublishJob("k", simple(), (RED,), {**creds(gone), "api_base": base}), Saved()
        )
    assert failed.value.ambiguous is False
    assert TOKEN not in failed.value.message


def test_success_without_a_message_id_is_a_site_change(server, adapter):
    server.fail_next(1, 200, method="sendPhoto", body=b'{"ok":true,"result":{"date":1}}')
    with pytest.raises(SiteChanged, match="message_id"):
        adapter.publish(job(server, simple()), Saved())


def test_unreadable_success_is_ambiguous(server, adapter):
    server.fail_next(1, 200, method="sendPhoto", body=b"<html>ok</html>")
    with pytest.raises(TransientError) as failed:
        adapter.publish(job(server, simple()), Saved())
    assert failed.value.ambiguous is True


def test_plain_http_is_refused_except_on_loopback(adapter):
    with pytest.raises(AuthError, match="https"):
        adapter.check_auth(
            {"bot_token": TOKEN, "chat_id": "@x_chan", "api_base": "http://example.com"}
        )


# -- resume and duplicates -------------------------------------------------------------------
def test_resume_after_a_failed_reply_does_not_post_the_photo_again(server, adapter):
    post = simple("<b>Main</b>", ["credits one", "credits two"])
    server.fail_next(1, 500, method="sendMessage")
    saved = Saved()
    with pytest.raises(TransientError):
        adapter.publish(job(server, post), saved)
    progress = saved.merged()
    [photo] = server.messages
    assert progress["message_ids"] == [photo["message_id"]]

    before = len(server.requests)
    published = adapter.publish(job(server, post, progress=progress), saved)
    assert [r.method for r in server.requests[before:]] == ["sendMessage", "sendMessage"]
    main, one, two = server.messages
    assert one["reply_to_message"]["message_id"] == main["message_id"]
    assert published.remote_id == f"{main['message_id']}|{one['message_id']},{two['message_id']}"

    progress = {**progress, "reply_ids": [one["message_id"]]}  # the last save was lost
    before = len(server.requests)
    adapter.publish(job(server, post, progress=progress), saved)
    assert [r.method for r in server.requests[before:]] == ["sendMessage"]


def test_a_finished_delivery_is_not_posted_twice(server, adapter):
    saved = Saved()
    first = adapter.publish(job(server, simple()), saved)
    before = len(server.requests)
    again = adapter.publish(job(server, simple(), progress=saved.merged()), saved)
    assert again.remote_id == first.remote_id and again.url == first.url
    assert server.requests[before:] == [] and len(server.messages) == 1


def test_a_refused_reply_takes_the_post_down(server, adapter):
    post = simple("<b>Main</b>", ["<p>bad markup</p>"])
    saved = Saved()
    with pytest.raises(ContentRejected) as refused:
        adapter.publish(job(server, post), saved)
    assert "Unsupported start tag" in refused.value.message
    assert "deleted" in refused.value.message
    assert server.messages == [] and len(server.deleted) == 1
    assert saved.merged()["message_ids"] == []


# -- edit, delete, account -------------------------------------------------------------------
def test_edit_rewrites_caption_and_replies(server, adapter):
    post = simple("<b>Old</b>", ["old credits", "old links"])
    published = adapter.publish(job(server, post), Saved())
    main, first, second = server.messages

    new = simple("<b>New</b> text", ["new credits"])
    edited = adapter.edit(published.remote_id, job(server, new))

    calls = [(r.method, r.params.get("message_id")) for r in server.requests[3:]]
    assert calls == [
        ("editMessageCaption", main["message_id"]),
        ("editMessageText", first["message_id"]),
        ("deleteMessages", None),
    ]
    assert server.requests[-1].params["message_ids"] == [second["message_id"]]
    now_main, now_first = server.messages
    assert now_main["caption"] == "New text" and "edit_date" in now_main
    assert now_first["text"] == "new credits"
    assert edited.remote_id == f"{main['message_id']}|{first['message_id']}"
    assert edited.url == published.url

    # the same edit again changes nothing, which Telegram refuses as "not modified": fine
    again = adapter.edit(edited.remote_id, job(server, new))
    assert again.remote_id == edited.remote_id


def test_edit_adds_replies_when_credits_grow(server, adapter):
    published = adapter.publish(job(server, simple("<b>A</b>")), Saved())
    edited = adapter.edit(published.remote_id, job(server, simple("<b>A</b>", ["credits"])))
    main, reply = server.messages
    assert reply["reply_to_message"]["message_id"] == main["message_id"]
    assert edited.remote_id == f"{main['message_id']}|{reply['message_id']}"


def test_edit_of_a_text_post(server, adapter):
    published = adapter.publish(job(server, simple("<b>A</b>"), ()), Saved())
    adapter.edit(published.remote_id, job(server, simple("<b>B</b>"), ()))
    assert server.messages[0]["text"] == "B"
    # told it has images although it is text: the adapter uses the other edit method
    adapter.edit(published.remote_id, job(server, simple("<b>C</b>")))
    assert server.messages[0]["text"] == "C"


def test_edit_of_a_deleted_post_is_rejected(server, adapter):
    with pytest.raises(ContentRejected, match="message to edit not found"):
        adapter.edit("999", job(server, simple()))


def test_delete_removes_every_message_and_tolerates_gone(server, adapter):
    published = adapter.publish(job(server, simple("x", ["r1"]), (RED, BLUE)), Saved())
    other = server.add_message("someone else's post")
    adapter.delete(published.remote_id, creds(server))
    assert [m["message_id"] for m in server.messages] == [other["message_id"]]
    call = server.requests[-1]
    assert call.method == "deleteMessages" and call.params["chat_id"] == "@tanraak_art"
    assert len(call.params["message_ids"]) == 3
    adapter.delete(published.remote_id, creds(server))  # already gone: no error
    with pytest.raises(ContentRejected):
        adapter.delete("abc", creds(server))


def test_check_auth_names_the_channel(server, adapter):
    assert adapter.check_auth(creds(server)) == "Tanraak's art (@tanraak_art)"
    calls = server.requests
    assert [r.method for r in calls] == ["getMe", "getChat", "getChatMember"]
    assert "chat_id" not in calls[0].params
    assert calls[2].params == {"chat_id": "@tanraak_art", "user_id": 123456789}
    numeric = adapter.check_auth(creds(server, chat_id="-1001234567890"))
    assert numeric == "Tanraak's art (@tanraak_art)"


def test_check_auth_refuses_a_bot_that_cannot_post(server, adapter):
    server.member = {"status": "administrator", "can_post_messages": False}
    with pytest.raises(AuthError, match="may not post"):
        adapter.check_auth(creds(server))
    server.member = {"status": "left"}
    with pytest.raises(AuthError):
        adapter.check_auth(creds(server))
    with pytest.raises(AuthError, match="Unauthorized"):
        adapter.check_auth(creds(server, bot_token="1:" + "x" * 30))


def test_private_channel_urls(adapter):
    with TelegramServer(channel={"id": -1009876543210, "title": "Private"}) as srv:
        published = adapter.publish(job(srv, simple(), chat_id="-1009876543210"), Saved())
        assert published.url == f"https://t.me/c/9876543210/{published.remote_id}"
        assert adapter.check_auth(creds(srv, chat_id="-1009876543210")) == "Private"


def test_fetch_is_unsupported(server, adapter):
    with pytest.raises(Unsupported):
        adapter.fetch(creds(server))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://t.me/tanraak_art/123", "123"),
        ("https://t.me/tanraak_art/123?single", "123"),
        ("https://t.me/s/tanraak_art/45/", "45"),
        ("https://telegram.me/tanraak_art/7", "7"),
        ("https://t.me/c/1234567890/88", "88"),
        ("http://t.me/tanraak_art/9", "9"),
        ("https://t.me/tanraak_art", None),
        ("https://t.me/+AbCdEf123", None),
        ("https://t.me/joinchat/AbCdEf", None),
        ("https://example.com/tanraak_art/123", None),
        ("t.me/tanraak_art/123", None),
    ],
)
def test_parse_url(url, expected):
    assert Telegram().parse_url(url) == expected


def test_credentials_are_declared():
    assert Telegram.credential_fields == ("bot_token", "chat_id", "api_base")
    assert Telegram.supports_edit and Telegram.supports_delete
    assert not Telegram.supports_idempotent_create
