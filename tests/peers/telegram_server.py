"""A loopback Telegram Bot API server for contract tests: real HTTP, documented shapes.

Answers the methods Creditline's Telegram adapter calls with the request and response shapes
of core.telegram.org/bots/api ("Making requests": ``{"ok": true, "result": …}`` or
``{"ok": false, "error_code", "description", "parameters"}``; Message, Chat, User,
ChatMemberAdministrator, PhotoSize, MessageEntity) and checks what the real server checks:
the token in the path, the chat and the bot's rights in it, multipart photo uploads that are
real images within the photo limits, ``attach://`` references of a media group, captions
parsed as Telegram HTML (only its tags; 1,024 UTF-16 units after parsing, 4,096 for texts),
replies to messages that exist, "message is not modified" for edits that change nothing.
Error descriptions follow the ones the Bot API is known to send; where the exact wording is
not documented (oversized photo, wrong media-group size) it is marked below.

In-process::

    server = TelegramServer()              # bot token TOKEN, channel @tanraak_art
    base = server.start()                  # http://127.0.0.1:PORT  (the api_base)
    server.fail_next(1, 429, method="sendPhoto", retry_after=7)
    server.fail_next(1, 0, method="sendPhoto", after=True)   # posted, then connection dropped
    server.messages, server.requests
    server.stop()
"""

from __future__ import annotations

import html
import io
import itertools
import json
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from PIL import Image
from werkzeug.wrappers import Request, Response

from tests.peers.loopback import LoopbackServer, RecordingMixin, drop_connection, uploads

TOKEN = "123456789:AAH3f0c-Creditline_loopback_token_x1"
BOT = {"id": 123456789, "is_bot": True, "first_name": "Creditline", "username": "creditline_bot"}
CHANNEL = {"id": -1001234567890, "title": "Tanraak's art", "username": "tanraak_art"}
ADMIN_RIGHTS = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": False,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": False,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_post_messages": True,
    "can_edit_messages": True,
}
# Telegram HTML (core.telegram.org/bots/api "HTML style")
ALLOWED_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
PHOTO_MAX_BYTES = 10_000_000
UPLOAD_MAX_BYTES = 50_000_000
BOT_PATH = re.compile(r"/bot(?P<token>[^/]*)/(?P<method>[A-Za-z]+)")


@dataclass
class Recorded:
    """One Bot API request as the server received it."""

    http_method: str
    method: str  # the Bot API method
    token: str
    headers: dict[str, str]
    content_type: str
    params: dict[str, Any]  # query, form or JSON fields (form values as sent: strings)
    files: dict[str, dict[str, Any]]  # name -> filename, content_type, size, sha256, data


@dataclass
class Failure:
    status: int  # 0 drops the connection; 200 with delay answers late
    method: str | None = None
    after: bool = False  # do the work first, then fail
    description: str | None = None
    retry_after: int = 5
    delay: float = 0.0
    body: bytes | None = None  # a raw body (e.g. a proxy's HTML page)


@dataclass
class _State:
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    deleted: dict[int, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)


class TelegramError(Exception):
    def __init__(self, code: int, description: str, **parameters: Any) -> None:
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters


class TelegramServer(RecordingMixin, LoopbackServer):
    """The Bot API of one bot administering one channel, on 127.0.0.1 in a thread."""

    def __init__(
        self,
        token: str = TOKEN,
        *,
        bot: dict[str, Any] | None = None,
        channel: dict[str, Any] | None = None,
        member: dict[str, Any] | None = None,
    ) -> None:
        self.token = token
        self.bot = dict(bot or BOT)
        self.channel = {**(channel or CHANNEL), "type": "channel"}
        self.member: dict[str, Any] = (
            member if member is not None else {"status": "administrator", **ADMIN_RIGHTS}
        )
        self._ids = itertools.count(101)
        self._groups = itertools.count(13_000_000_000_000_000)
        self._lock = threading.RLock()
        self._state = _State()
        super().__init__()

    # -- lifecycle ---------------------------------------------------------------------------
    # -- inspection and failure injection ---------------------------------------------------
    @property
    def messages(self) -> list[dict[str, Any]]:
        """Messages in the channel, oldest first."""
        with self._lock:
            return [json.loads(json.dumps(m)) for m in self._state.messages.values()]

    @property
    def deleted(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._state.deleted.values())

    def calls(self, *methods: str) -> list[Recorded]:
        return [r for r in self.requests if not methods or r.method in methods]

    def fail_next(
        self,
        n: int = 1,
        status: int = 500,
        *,
        method: str | None = None,
        after: bool = False,
        description: str | None = None,
        retry_after: int = 5,
        delay: float = 0.0,
        body: bytes | None = None,
    ) -> None:
        with self._lock:
            self._state.failures.extend(
                Failure(status, method, after, description, retry_after, delay, body)
                for _ in range(n)
            )

    def add_message(self, text: str) -> dict[str, Any]:
        """A text post made by someone else (another admin, another client)."""
        with self._lock:
            return self._new_message({"text": text, **_entities(text, "text")})

    # -- WSGI --------------------------------------------------------------------------------
    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        try:
            return self._answer(request, environ)(environ, start_response)
        finally:
            request.close()

    def _answer(self, request: Request, environ: dict[str, Any]) -> Response:
        match = BOT_PATH.fullmatch(request.path)
        if match is None:
            return _error(404, "Not Found")
        record = self._record(request, match.group("token"), match.group("method"))
        failure = self._pick_failure(record.method)
        if failure is not None and failure.delay and not failure.after:
            self._stopping.wait(failure.delay)
        if (
            failure is not None
            and not failure.after
            and (failure.status != 200 or failure.body is not None)
        ):
            return self._failure(failure, environ)
        response = self._route(record)
        if failure is not None and failure.after:
            if failure.delay:
                self._stopping.wait(failure.delay)
            if failure.status != 200:
                return self._failure(failure, environ)
        return response

    def _record(self, request: Request, token: str, method: str) -> Recorded:
        params: dict[str, Any] = {k: request.args.get(k) for k in request.args}
        if request.is_json:
            params.update(request.get_json(silent=True) or {})
        else:
            params.update({k: request.form.get(k) for k in request.form})
        files = uploads(request)
        record = Recorded(
            request.method,
            method,
            token,
            dict(request.headers.items()),
            request.mimetype,
            params,
            files,
        )
        return self._append(record)

    def _pick_failure(self, method: str) -> Failure | None:
        return self._take_failure(lambda f: f.method is None or f.method == method)

    def _failure(self, failure: Failure, environ: dict[str, Any]) -> Response:
        if failure.status == 0:
            return drop_connection(environ)
        if failure.body is not None:
            return Response(failure.body, failure.status, content_type="text/html")
        if failure.status == 429:
            retry = failure.retry_after
            return _error(
                429,
                failure.description or f"Too Many Requests: retry after {retry}",
                retry_after=retry,
            )
        defaults = {
            400: "Bad Request: something is wrong",
            401: "Unauthorized",
            403: "Forbidden: bot was kicked from the channel chat",
            500: "Internal Server Error",
            502: "Bad Gateway",
        }
        return _error(failure.status, failure.description or defaults.get(failure.status, "Error"))

    # -- methods -----------------------------------------------------------------------------
    def _route(self, record: Recorded) -> Response:
        if record.token != self.token:
            # a well-formed but unknown token is 401; a malformed one, no bot at all: 404
            if re.fullmatch(r"[0-9]+:[A-Za-z0-9_-]{30,}", record.token):
                return _error(401, "Unauthorized")
            return _error(404, "Not Found")
        handler = getattr(self, f"_m_{record.method}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        try:
            with self._lock:
                return _ok(handler(record.params, record.files))
        except TelegramError as exc:
            return _error(exc.code, exc.description, **exc.parameters)

    def _chat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = str(params.get("chat_id") or "")
        if not chat_id:
            raise TelegramError(400, "Bad Request: chat_id is empty")
        if chat_id not in (str(self.channel["id"]), "@" + str(self.channel.get("username"))):
            raise TelegramError(400, "Bad Request: chat not found")
        return self.channel

    def _may_post(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        if self.member.get("status") not in ("administrator", "creator"):
            raise TelegramError(403, "Forbidden: bot is not a member of the channel chat")
        if not self.member.get("can_post_messages", True):
            raise TelegramError(400, "Bad Request: need administrator rights in the channel chat")
        return chat

    def _m_getMe(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        return {**self.bot, "can_join_groups": True, "can_read_all_group_messages": False}

    def _m_getChat(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        chat = self._chat(params)
        return {**chat, "accent_color_id": 0, "max_reaction_count": 11, "description": ""}

    def _m_getChatMember(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        self._chat(params)
        if str(params.get("user_id")) != str(self.bot["id"]):
            raise TelegramError(400, "Bad Request: user not found")
        if self.member.get("status") not in ("administrator", "creator"):
            raise TelegramError(400, "Bad Request: member list is inaccessible")
        return {**self.member, "user": self.bot}

    def _m_sendMessage(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        self._may_post(params)
        text = str(params.get("text") or "")
        parsed = _parse(text, params.get("parse_mode"), "text")
        if not parsed["text"].strip():
            raise TelegramError(400, "Bad Request: message text is empty")
        if _utf16(parsed["text"]) > 4096:
            raise TelegramError(400, "Bad Request: message is too long")
        fields: dict[str, Any] = dict(parsed)
        self._reply_to(params, fields)
        options = _json_param(params, "link_preview_options") or {}
        if options.get("is_disabled"):
            fields["link_preview_options"] = {"is_disabled": True}
        return self._new_message(fields)

    def _m_sendPhoto(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        self._may_post(params)
        if "photo" not in files:
            raise TelegramError(400, "Bad Request: there is no photo in the request")
        fields = {"photo": self._photo(files["photo"]), **self._caption(params)}
        if _true(params.get("has_spoiler")):
            fields["has_media_spoiler"] = True
        self._reply_to(params, fields)
        return self._new_message(fields)

    def _m_sendMediaGroup(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        self._may_post(params)
        media = _json_param(params, "media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            # wording not documented; the 2-10 range is (sendMediaGroup)
            raise TelegramError(400, "Bad Request: media group must contain 2-10 items")
        group = str(next(self._groups))
        planned = []
        for item in media:
            ref = str(item.get("media", ""))
            if item.get("type") != "photo" or not ref.startswith("attach://"):
                raise TelegramError(400, "Bad Request: wrong file identifier/HTTP URL specified")
            upload = files.get(ref.removeprefix("attach://"))
            if upload is None:
                raise TelegramError(400, "Bad Request: wrong file identifier/HTTP URL specified")
            fields = {"photo": self._photo(upload), "media_group_id": group}
            fields.update(self._caption(item))
            if item.get("has_spoiler"):
                fields["has_media_spoiler"] = True
            planned.append(fields)
        return [self._new_message(fields) for fields in planned]

    def _m_editMessageCaption(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        message = self._own_message(params, "edit")
        if "photo" not in message:
            raise TelegramError(400, "Bad Request: there is no caption in the message to edit")
        new = self._caption(params)
        return self._edit(message, new, ("caption", "caption_entities"))

    def _m_editMessageText(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        message = self._own_message(params, "edit")
        if "text" not in message:
            raise TelegramError(400, "Bad Request: there is no text in the message to edit")
        parsed = _parse(str(params.get("text") or ""), params.get("parse_mode"), "text")
        if _utf16(parsed["text"]) > 4096:
            raise TelegramError(400, "Bad Request: MESSAGE_TOO_LONG")
        return self._edit(message, parsed, ("text", "entities"))

    def _m_deleteMessage(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        message = self._own_message(params, "delete")
        self._delete(message["message_id"])
        return True

    def _m_deleteMessages(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        self._may_post(params)
        ids = _json_param(params, "message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise TelegramError(400, "Bad Request: message_ids must be a list of 1-100 ids")
        for message_id in ids:  # "messages that can't be found are skipped"
            if int(message_id) in self._state.messages:
                self._delete(int(message_id))
        return True

    # -- helpers -----------------------------------------------------------------------------
    def _photo(self, upload: dict[str, Any]) -> list[dict[str, Any]]:
        if upload["size"] > UPLOAD_MAX_BYTES:
            raise TelegramError(413, "Request Entity Too Large")
        if upload["size"] > PHOTO_MAX_BYTES:
            raise TelegramError(400, "Bad Request: PHOTO_SAVE_FILE_INVALID")  # wording unsure
        try:
            with Image.open(io.BytesIO(upload["data"])) as image:
                width, height = image.size
                image.verify()
        except Exception:  # anything Pillow cannot read is not a photo
            raise TelegramError(400, "Bad Request: IMAGE_PROCESS_FAILED") from None
        if width + height > 10_000 or max(width, height) > 20 * min(width, height):
            raise TelegramError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
        unique = upload["sha256"][:16]
        scale = min(1.0, 1280 / max(width, height))
        return [
            {
                "file_id": f"AgAC{unique}x{n}",
                "file_unique_id": f"AQAD{unique}{n}",
                "width": max(1, round(width * s)),
                "height": max(1, round(height * s)),
                "file_size": upload["size"] if s == scale else upload["size"] // 4,
            }
            for n, s in enumerate((min(1.0, 90 / max(width, height)), scale))
        ]

    def _caption(self, params: dict[str, Any]) -> dict[str, Any]:
        caption = str(params.get("caption") or "")
        if not caption:
            return {}
        parsed = _parse(caption, params.get("parse_mode"), "caption")
        if _utf16(parsed["caption"]) > 1024:
            raise TelegramError(400, "Bad Request: message caption is too long")
        return parsed

    def _reply_to(self, params: dict[str, Any], fields: dict[str, Any]) -> None:
        reply = _json_param(params, "reply_parameters")
        if not reply:
            return
        target = self._state.messages.get(int(reply.get("message_id", 0)))
        if target is None:
            if reply.get("allow_sending_without_reply"):
                return
            raise TelegramError(400, "Bad Request: message to be replied not found")
        fields["reply_to_message"] = {
            k: v for k, v in target.items() if k != "reply_to_message" and not k.startswith("_")
        }

    def _own_message(self, params: dict[str, Any], action: str) -> dict[str, Any]:
        self._may_post(params)
        try:
            message_id = int(params.get("message_id") or 0)
        except (TypeError, ValueError):
            raise TelegramError(400, "Bad Request: message identifier is not specified") from None
        message = self._state.messages.get(message_id)
        if message is None:
            raise TelegramError(400, f"Bad Request: message to {action} not found")
        return message

    def _edit(self, message: dict[str, Any], new: dict[str, Any], keys: tuple[str, ...]) -> Any:
        if all(message.get(k) == new.get(k) for k in keys):
            raise TelegramError(400, NOT_MODIFIED)
        for key in keys:
            message.pop(key, None)
        message.update(new)
        message["edit_date"] = int(time.time())
        return message

    def _new_message(self, fields: dict[str, Any]) -> dict[str, Any]:
        message_id = next(self._ids)
        message = {
            "message_id": message_id,
            "sender_chat": dict(self.channel),
            "chat": dict(self.channel),
            "date": int(time.time()),
            **fields,
        }
        self._state.messages[message_id] = message
        return message

    def _delete(self, message_id: int) -> None:
        self._state.deleted[message_id] = self._state.messages.pop(message_id)


# -- Telegram HTML ------------------------------------------------------------------------------


class _TelegramHtml(HTMLParser):
    """Telegram's HTML mode: the visible text and its entities (offsets in UTF-16 units)."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source
        self.text = ""
        self.entities: list[dict[str, Any]] = []
        self.open: list[tuple[str, int, dict[str, Any]]] = []

    def error_at(self, what: str) -> TelegramError:
        line, column = self.getpos()
        offset = len("\n".join(self.source.split("\n")[: line - 1]).encode()) + column
        return TelegramError(
            400, f"Bad Request: can't parse entities: {what} at byte offset {offset}"
        )

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        kind = ALLOWED_TAGS.get(tag)
        if tag == "span" and ("class", "tg-spoiler") in attrs:
            kind = "spoiler"
        if kind is None:
            raise self.error_at(f'Unsupported start tag "{tag}"')
        extra: dict[str, Any] = {}
        if kind == "text_link":
            href = dict(attrs).get("href")
            if not href:
                raise self.error_at("Can't find end of href")
            extra["url"] = href
        self.open.append((tag, _utf16(self.text), extra | {"type": kind}))

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1][0] != tag:
            raise self.error_at(f'Unmatched end tag "{tag}"')
        _, start, entity = self.open.pop()
        length = _utf16(self.text) - start
        if length:
            self.entities.append({"offset": start, "length": length, **entity})

    def handle_data(self, data: str) -> None:
        self.text += data


def _parse(source: str, parse_mode: Any, key: str) -> dict[str, Any]:
    if parse_mode != "HTML":
        return {key: source, **_entities(source, key)}
    if re.search(r"&(?!(?:lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);)", source):
        raise TelegramError(
            400, "Bad Request: can't parse entities: Unsupported HTML entity or stray &"
        )
    parser = _TelegramHtml(source)
    parser.feed(source)
    parser.close()
    if parser.open:
        raise parser.error_at(
            f'Can\'t find end tag corresponding to start tag "{parser.open[-1][0]}"'
        )
    out: dict[str, Any] = {key: parser.text}
    autolinked = _entities(parser.text, key)
    entities = sorted(
        parser.entities + autolinked.get(f"{_entity_key(key)}", []),
        key=lambda e: (e["offset"], -e["length"]),
    )
    if entities:
        out[_entity_key(key)] = entities
    return out


def _entity_key(key: str) -> str:
    return "caption_entities" if key == "caption" else "entities"


def _entities(text: str, key: str) -> dict[str, Any]:
    """Entities Telegram finds on its own: ``@username`` mentions and bare URLs."""
    found = []
    for m in re.finditer(r"(?<![\w/])@[A-Za-z][A-Za-z0-9_]{3,31}|https?://[^\s<>\"]+", text):
        kind = "mention" if m.group(0).startswith("@") else "url"
        offset = _utf16(text[: m.start()])
        found.append({"offset": offset, "length": _utf16(m.group(0)), "type": kind})
    return {_entity_key(key): found} if found else {}


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _json_param(params: dict[str, Any], name: str) -> Any:
    value = params.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise TelegramError(400, f"Bad Request: can't parse {name} JSON object") from None
    return value


def _true(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1")


def _ok(result: Any) -> Response:
    return _json({"ok": True, "result": _public(result)}, 200)


def _public(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [_public(v) for v in value]
    return value


def _error(code: int, description: str, **parameters: Any) -> Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return _json(body, code)


def _json(value: Any, status: int) -> Response:
    return Response(json.dumps(value), status, content_type="application/json")


def caption_html(message: dict[str, Any]) -> str:
    """For tests: a message's caption or text back as Telegram HTML (bold and links)."""
    text = message.get("caption", message.get("text", ""))
    units = text.encode("utf-16-le")
    entities = message.get("caption_entities", message.get("entities", []))
    marks: list[tuple[int, int, str]] = []
    for e in entities:
        if e["type"] == "bold":
            marks += [(e["offset"], 1, "<b>"), (e["offset"] + e["length"], 0, "</b>")]
        elif e["type"] == "text_link":
            href = html.escape(e["url"], quote=True)
            marks += [
                (e["offset"], 1, f'<a href="{href}">'),
                (e["offset"] + e["length"], 0, "</a>"),
            ]
    out, pos = [], 0
    for offset, _, mark in sorted(marks):
        out.append(html.escape(units[pos * 2 : offset * 2].decode("utf-16-le"), quote=False))
        out.append(mark)
        pos = offset
    out.append(html.escape(units[pos * 2 :].decode("utf-16-le"), quote=False))
    return "".join(out)
