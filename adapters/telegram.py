"""Telegram channel post via a bot: HTML caption of 1,024 UTF-16 units after parsing.

Publishing goes through the Bot API as a bot that administers the channel: one image is a
``sendPhoto`` (multipart), two to ten are a ``sendMediaGroup`` album with the caption on the
first item; ``has_spoiler`` blurs every image of a mature or adult post. Credits that did not
fit the caption (the render's ``replies``) follow as ``sendMessage`` replies to the post.

Credentials (``credential_fields``):

- ``bot_token``: the token @BotFather gave the bot (secret: never logged, never in errors);
- ``chat_id``: the channel, ``@username`` or its numeric id (``-100…``);
- ``api_base``: the Bot API server, default ``https://api.telegram.org`` (a self-hosted
  ``telegram-bot-api`` server, or a loopback server in tests). Plain ``http`` is refused
  except on loopback, since the token travels in the request path.

Remote ids: the post's message id (``"101"``); an album adds its other messages and replies
follow a ``|`` (``"101,102,103|104"``), so that edit and delete reach every message.

No idempotency: the Bot API cannot read a channel's history and a bot is sent no updates
about its own posts, so ``lookup`` answers UNKNOWN and an ambiguous failure goes to the artist.
Import of recent posts is not possible for the same reason.

Sources: core.telegram.org/bots/api sendPhoto (caption 0-1024 after entities parsing,
has_spoiler; photo at most 10 MB, width + height at most 10,000, ratio at most 20),
sendMediaGroup (2-10 items), sendMessage (reply_parameters, link_preview_options),
editMessageCaption, editMessageText, deleteMessages ("messages that can't be found are
skipped"), getMe, getChat, getChatMember, ResponseParameters.retry_after, "Making requests"
(``{"ok": false, "error_code", "description"}``); python-telegram-bot MessageEntity
(UTF-16 offsets); usernames 5-32.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests

from adapters.base import Adapter, ImageLimits, RenderContext, TagRules
from adapters.errors import (
    AuthError,
    ContentRejected,
    PlatformError,
    RateLimited,
    SiteChanged,
    TransientError,
)
from adapters.http import is_loopback, may_have_reached
from adapters.images import fit_image
from adapters.publishing import (
    Checkpoint,
    CredentialsUpdate,
    Lookup,
    Media,
    Presence,
    Published,
    PublishJob,
)
from adapters.text.counting import utf16_units
from adapters.text.writers.html import TelegramWriter

logger = logging.getLogger(__name__)

TAG_RE = re.compile(r"<[^>]*>")


class Telegram(Adapter):
    id = "telegram"
    name = "Telegram"
    text_limit = 1024
    reply_limit = 4096  # a reply is a text message, not a caption
    length_unit = "utf16"
    limit_unit = "UTF-16 units"
    title_in_text = True
    markup = "html"
    writer = TelegramWriter
    # max_pixels: width + height (sendPhoto); photos go as JPEG or PNG
    images = ImageLimits(
        max_count=10,
        max_bytes=10_000_000,
        max_pixels=10_000,
        formats=("image/jpeg", "image/png"),
        keeps_metadata=False,  # sendPhoto recompresses photos (platforms.md, Telegram)
    )
    supports_alt_text = False
    tag_rules = TagRules(supported=False)
    rating_map = MappingProxyType({"general": False, "mature": True, "adult": True})
    profile_url_template = "https://t.me/{handle}"
    handle_pattern = re.compile(r"@?([A-Za-z][A-Za-z0-9_]{3,31})")
    handle_hint = "a public username: 4-32 letters, digits or underscores"
    native_mention = "@{handle}"
    delinked_mention = "@/{handle}"
    supports_edit = True
    supports_delete = True
    supports_threads = True
    # publishing
    credential_fields: ClassVar[tuple[str, ...]] = ("bot_token", "chat_id", "api_base")
    default_api_base: ClassVar[str] = "https://api.telegram.org"
    min_interval = 3.0  # Bot FAQ: about 20 messages a minute per channel
    max_ratio: ClassVar[float] = 20.0  # sendPhoto: width/height ratio at most 20
    reply_previews: ClassVar[bool] = False  # no link preview cards under the credits replies

    def measure(self, text: str) -> int:
        # The limit applies to the caption *after* entity parsing: the visible text.
        return utf16_units(html.unescape(TAG_RE.sub("", text)))

    def map_rating(self, draft, rules):
        value, _ = super().map_rating(draft.model_copy(update={"content_flags": ()}), rules)
        return value or bool(draft.content_flags), []

    def fields(self, ctx: RenderContext) -> dict[str, Any]:
        return {"parse_mode": "HTML", "has_spoiler": ctx.rating}

    # -- publishing ------------------------------------------------------------------------
    def _publish(self, job: PublishJob, progress: dict[str, Any], save: Checkpoint) -> Published:
        post = job.post
        with _Bot.open(self, job.credentials) as bot:
            message_ids = [int(i) for i in progress.get("message_ids") or []]
            url = progress.get("url") or ""
            if not message_ids:
                messages = self._send_post(bot, post, job.images)
                message_ids = [_message_id(m, "the post") for m in messages]
                url = bot.post_url(messages[0]["chat"], message_ids[0])
                save({"message_ids": message_ids, "url": url})
            reply_ids = [int(i) for i in progress.get("reply_ids") or []]
            try:
                for text in (post.get("replies") or [])[len(reply_ids) :]:
                    reply = bot.call("sendMessage", self._reply_fields(text, message_ids[0]))
                    reply_ids.append(_message_id(reply, "sendMessage"))
                    save({"reply_ids": list(reply_ids)})
            except ContentRejected as exc:
                self._clean_up(bot, message_ids + reply_ids, save, exc)
            return Published(
                encode_remote_id(message_ids, reply_ids),
                url or bot.post_url(None, message_ids[0]),
                {"message_ids": message_ids, "reply_ids": reply_ids, "chat_id": bot.chat_id},
            )

    def _send_post(self, bot: _Bot, post: Mapping[str, Any], images: Sequence[Media]) -> list:
        caption = {"caption": post["text"], "parse_mode": "HTML"}
        spoiler = bool(post.get("has_spoiler"))
        photos = [self.fit(image) for image in images]
        if not photos:
            return [bot.call("sendMessage", {"text": post["text"], "parse_mode": "HTML"})]
        if len(photos) == 1:
            fields = {**caption, **({"has_spoiler": True} if spoiler else {})}
            return [bot.call("sendPhoto", fields, files={"photo": photos[0]})]
        media = [
            {
                "type": "photo",
                "media": f"attach://photo{i}",
                **(caption if i == 0 else {}),
                **({"has_spoiler": True} if spoiler else {}),
            }
            for i in range(len(photos))
        ]
        files = {f"photo{i}": photo for i, photo in enumerate(photos)}
        sent = bot.call("sendMediaGroup", {"media": media}, files=files)
        if not isinstance(sent, list) or not sent:
            raise SiteChanged("Telegram answered sendMediaGroup without the list of messages")
        return sent

    def _reply_fields(self, text: str, to: int) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "text": text,
            "parse_mode": "HTML",
            "reply_parameters": {"message_id": to, "allow_sending_without_reply": False},
        }
        if not self.reply_previews:
            fields["link_preview_options"] = {"is_disabled": True}
        return fields

    def _clean_up(
        self, bot: _Bot, ids: list[int], save: Checkpoint, cause: ContentRejected
    ) -> None:
        """A credits reply was refused: take the post down rather than leave it without its
        credits, then report the refusal (no retry)."""
        try:
            bot.call("deleteMessages", {"message_ids": ids})
        except PlatformError:
            raise ContentRejected(
                f"{cause.message} (the credits could not be posted; the post is still up and "
                f"must be deleted by hand: messages {', '.join(map(str, ids))})"
            ) from cause
        save({"message_ids": [], "url": None, "reply_ids": [], "cleaned_up": True})
        raise ContentRejected(
            f"{cause.message} (the credits could not be posted, so the post was deleted)"
        ) from cause

    def lookup(self, job: PublishJob) -> Lookup:
        """UNKNOWN, always: the Bot API cannot list a channel's messages, and a bot is sent no
        updates about its own posts, so there is no sound way to see whether an earlier
        attempt posted. Probing message ids by editing them could change someone's post."""
        return Lookup(Presence.UNKNOWN)

    def fit(self, media: Media) -> tuple[str, bytes, str]:
        """(filename, bytes, media type) of ``media`` as a photo Telegram takes."""
        data, media_type, _, _ = fit_image(
            media, self.images, self.name, pixels="side_sum", max_ratio=self.max_ratio
        )
        return _filename(media.filename, media_type), data, media_type

    def edit(self, remote_id: str, job: PublishJob) -> Published:
        """Rewrite the caption (or text) and the credits replies in place. Images and their
        spoiler stay as they were (changing them would need ``editMessageMedia`` uploads)."""
        message_ids, reply_ids = parse_remote_id(remote_id)
        post = job.post
        with _Bot.open(self, job.credentials) as bot:
            main = message_ids[0]
            method = "editMessageCaption" if job.images else "editMessageText"
            edited = self._edit_main(bot, method, main, post["text"])
            replies = list(post.get("replies") or [])
            kept: list[int] = []
            for i, text in enumerate(replies):
                if i < len(reply_ids):
                    fields = {"message_id": reply_ids[i], "text": text, "parse_mode": "HTML"}
                    if not self.reply_previews:
                        fields["link_preview_options"] = {"is_disabled": True}
                    _unless_unmodified(bot, "editMessageText", fields)
                    kept.append(reply_ids[i])
                else:
                    reply = bot.call("sendMessage", self._reply_fields(text, main))
                    kept.append(_message_id(reply, "sendMessage"))
            extra = reply_ids[len(replies) :]
            if extra:
                bot.call("deleteMessages", {"message_ids": extra})
            chat = edited.get("chat") if isinstance(edited, dict) else None
            return Published(
                encode_remote_id(message_ids, kept),
                bot.post_url(chat, main),
                {"message_ids": message_ids, "reply_ids": kept, "chat_id": bot.chat_id},
            )

    def _edit_main(self, bot: _Bot, method: str, message_id: int, text: str) -> Any:
        other = "editMessageText" if method == "editMessageCaption" else "editMessageCaption"
        key = {"editMessageCaption": "caption", "editMessageText": "text"}
        try:
            return _unless_unmodified(
                bot, method, {"message_id": message_id, key[method]: text, "parse_mode": "HTML"}
            )
        except ContentRejected as exc:  # the post is a photo after all, or text after all
            if "no caption in the message" not in exc.message and (
                "no text in the message" not in exc.message
            ):
                raise
            return _unless_unmodified(
                bot, other, {"message_id": message_id, key[other]: text, "parse_mode": "HTML"}
            )

    def delete(
        self,
        remote_id: str,
        credentials: Mapping[str, str],
        *,
        update_credentials: CredentialsUpdate | None = None,  # bot tokens do not change
    ) -> None:
        """Delete every message of the post; messages already gone are skipped."""
        message_ids, reply_ids = parse_remote_id(remote_id)
        with _Bot.open(self, credentials) as bot:
            bot.call("deleteMessages", {"message_ids": message_ids + reply_ids})

    def check_auth(
        self, credentials: Mapping[str, str], *, update_credentials: CredentialsUpdate | None = None
    ) -> str:
        """The bot works (getMe), the channel exists (getChat) and the bot may post there
        (getChatMember): the channel's name, e.g. ``Tanraak's art (@tanraak_art)``."""
        with _Bot.open(self, credentials) as bot:
            me = bot.call("getMe", {}, chat=False, write=False)
            chat = bot.call("getChat", {}, write=False)
            member = bot.call("getChatMember", {"user_id": me["id"]}, write=False)
            status = member.get("status") if isinstance(member, dict) else None
            where = chat.get("title") or bot.chat_id
            if status not in ("administrator", "creator"):
                raise AuthError(f"the bot @{me.get('username')} is not an administrator of {where}")
            if chat.get("type") == "channel" and not member.get("can_post_messages", True):
                raise AuthError(f"the bot @{me.get('username')} may not post in {where}")
            username = chat.get("username")
            return f"{where} (@{username})" if username else str(where)

    def parse_url(self, url: str) -> str | None:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https"):
            return None
        if (parts.hostname or "").lower() not in ("t.me", "www.t.me", "telegram.me"):
            return None
        match = POST_PATH.fullmatch(parts.path.rstrip("/"))
        return (match.group("id") or match.group("cid")) if match else None


# ``t.me/<channel>/<id>``, the web preview ``t.me/s/<channel>/<id>`` and private channels'
# ``t.me/c/<internal id>/<id>``.
POST_PATH = re.compile(
    r"/(?:s/)?(?!c/)[A-Za-z][A-Za-z0-9_]{3,31}/(?P<id>[0-9]{1,10})|/c/[0-9]{1,15}/(?P<cid>[0-9]{1,10})"
)


def encode_remote_id(message_ids: Sequence[int], reply_ids: Sequence[int]) -> str:
    out = ",".join(str(i) for i in message_ids)
    return f"{out}|{','.join(str(i) for i in reply_ids)}" if reply_ids else out


def parse_remote_id(value: str) -> tuple[list[int], list[int]]:
    """``"101,102|103"`` → ([101, 102], [103]); anything else is refused."""
    post, _, replies = str(value).strip().partition("|")
    try:
        message_ids = [int(i) for i in post.split(",")]
        reply_ids = [int(i) for i in replies.split(",")] if replies else []
    except ValueError:
        raise ContentRejected(f"{value!r} is not a Telegram post id") from None
    if any(i <= 0 for i in message_ids + reply_ids):
        raise ContentRejected(f"{value!r} is not a Telegram post id")
    return message_ids, reply_ids


def _message_id(message: Any, method: str) -> int:
    if not isinstance(message, dict) or not isinstance(message.get("message_id"), int):
        raise SiteChanged(f"Telegram answered {method} without result.message_id")
    if not isinstance(message.get("chat"), dict):
        raise SiteChanged(f"Telegram answered {method} without result.chat")
    return message["message_id"]


def _unless_unmodified(bot: _Bot, method: str, fields: dict[str, Any]) -> Any:
    """An edit that changes nothing is refused as "message is not modified": that is done."""
    try:
        return bot.call(method, fields)
    except ContentRejected as exc:
        if "message is not modified" in exc.message:
            return None
        raise


def _filename(name: str, media_type: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name.rsplit(".", 1)[0]).strip("._") or "image"
    return f"{stem[:60]}.{EXTENSIONS.get(media_type, 'bin')}"


# -- images -----------------------------------------------------------------------------------

EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}


# -- the Bot API: requests, error mapping ------------------------------------------------------

TOKEN_RE = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{20,100}")
CHAT_RE = re.compile(r"@[A-Za-z][A-Za-z0-9_]{3,31}|-?[0-9]{1,20}")
# A 400 that means the account's setup is wrong (the channel, or the bot's rights in it), not
# the post: the account needs attention.
ACCOUNT_PROBLEMS = (
    "chat not found",
    "not enough rights",
    "need administrator rights",
    "have no rights",
    "chat_admin_required",
    "chat_write_forbidden",
    "bot is not a member",
    "upgraded to a supergroup",
    "member list is inaccessible",
)


def api_base(credentials: Mapping[str, str], default: str) -> str:
    base = (credentials.get("api_base") or default).strip().rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise AuthError(f"{base!r} is not a Bot API server address")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise AuthError("the Bot API server must be reached over https (the token is sent)")
    return base


class _Bot:
    """One bot, one channel, one ``requests`` session; every failure becomes an error class."""

    def __init__(
        self, adapter: Telegram, credentials: Mapping[str, str], session: requests.Session
    ) -> None:
        token = (credentials.get("bot_token") or "").strip()
        if not TOKEN_RE.fullmatch(token):
            raise AuthError("the Telegram bot token is missing or not in the form 123456:ABC…")
        chat_id = (credentials.get("chat_id") or "").strip()
        if chat_id and not chat_id.startswith("@") and not chat_id.lstrip("-").isdigit():
            chat_id = f"@{chat_id}"
        if not CHAT_RE.fullmatch(chat_id):
            raise AuthError("the Telegram channel (chat_id: @username or -100…) is not set")
        self.adapter, self.session, self.chat_id = adapter, session, chat_id
        self._url = f"{api_base(credentials, adapter.default_api_base)}/bot{token}/"
        self._chat: dict[str, Any] | None = None

    @classmethod
    @contextmanager
    def open(cls, adapter: Telegram, credentials: Mapping[str, str]) -> Iterator[_Bot]:
        with requests.Session() as session:
            session.headers["User-Agent"] = "Creditline"
            yield cls(adapter, credentials, session)

    def call(
        self,
        method: str,
        fields: Mapping[str, Any],
        *,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        chat: bool = True,
        write: bool = True,
    ) -> Any:
        """One Bot API method. JSON body, or multipart (objects as JSON strings) with files."""
        params = {**({"chat_id": self.chat_id} if chat else {}), **fields}
        try:
            if files:
                form = {k: _form_value(v) for k, v in params.items()}
                response = self.session.post(
                    self._url + method, data=form, files=files, timeout=self.adapter.timeout
                )
            else:
                response = self.session.post(
                    self._url + method, json=params, timeout=self.adapter.timeout
                )
        except requests.RequestException as exc:
            # str(exc) holds the URL, and the URL holds the token: name the failure only.
            reached = write and may_have_reached(exc)
            raise TransientError(
                f"could not reach Telegram ({method}: {type(exc).__name__})", ambiguous=reached
            ) from None
        with response:
            return _answer(method, response, write)

    def post_url(self, chat: Mapping[str, Any] | None, message_id: int) -> str:
        """``https://t.me/<channel>/<id>``, or ``https://t.me/c/<id>/<id>`` when private."""
        if chat is None:
            if self._chat is None:
                self._chat = self.call("getChat", {}, write=False)
            chat = self._chat
        if chat.get("username"):
            return f"https://t.me/{chat['username']}/{message_id}"
        internal = str(chat.get("id", "")).removeprefix("-100")
        return f"https://t.me/c/{internal}/{message_id}"


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _answer(method: str, response: requests.Response, write: bool) -> Any:
    """The method's ``result``, or the error class its answer means."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("ok") is True and "result" in body:
        return body["result"]
    if not isinstance(body, dict) or body.get("ok") is not False:
        # a proxy's HTML page, or a success we cannot read: the write may have happened
        raise TransientError(
            f"Telegram answered {method} with {status} and no readable result", ambiguous=write
        )
    code = body.get("error_code") if isinstance(body.get("error_code"), int) else status
    description = str(body.get("description") or f"error {code}")
    message = f"Telegram refused {method} ({code}): {description}"
    parameters = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
    if code == 429:
        retry_after = parameters.get("retry_after")
        wait = float(retry_after) if isinstance(retry_after, int | float) else None
        raise RateLimited(message, wait)
    if code in (401, 403, 404):  # 404: no such bot (a malformed token)
        raise AuthError(message)
    if code == 400 and parameters.get("migrate_to_chat_id"):
        raise AuthError(f"{message}; the chat id is now {parameters['migrate_to_chat_id']}")
    if code == 400 and any(p in description.lower() for p in ACCOUNT_PROBLEMS):
        raise AuthError(message)
    if code >= 500:
        raise TransientError(message, ambiguous=write)
    raise ContentRejected(message)


class _RedactTokens(logging.Filter):
    """urllib3 logs request lines at DEBUG, and a Bot API path holds the token."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(
                BOT_PATH_RE.sub("/bot<redacted>", a) if isinstance(a, str) else a
                for a in record.args
            )
        return True


BOT_PATH_RE = re.compile(r"/bot[0-9]{1,20}:[A-Za-z0-9_-]+")
_urllib3_log = logging.getLogger("urllib3.connectionpool")
if not any(isinstance(f, _RedactTokens) for f in _urllib3_log.filters):
    _urllib3_log.addFilter(_RedactTokens())
