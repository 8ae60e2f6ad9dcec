"""Discord webhook: Markdown content of 2,000 characters, ``<@id>`` mentions, spoilers.

Publishing executes the channel's webhook with ``?wait=true`` (so Discord answers with the
message, and a message it did not save is an error instead of silence): a multipart body of
``payload_json`` and ``files[n]``, each image's alt text as its attachment ``description``.
``allowed_mentions`` comes from the render, which lets through only the native ``<@id>``
mentions of credited people, so nothing else pings (no ``@everyone``, no roles, no typed ids).
Mature and adult images are spoilered (``SPOILER_`` file names).

Credentials (``credential_fields``):

- ``webhook_url``: ``https://discord.com/api/webhooks/<id>/<token>`` — the URL *is* the
  secret: it is never logged and never put in an error. It is also the base-URL override
  (tests point it at 127.0.0.1); plain ``http`` is refused except on loopback;
- ``thread_id`` (optional): post into this thread of the webhook's channel (forum channels
  need one).

Webhooks cannot read a channel, so there is no import and no ``lookup`` (UNKNOWN): an
ambiguous failure goes to the artist. Rate-limit headers are honoured before each request
(a bucket known to be empty is waited out when the wait is short, else ``RateLimited``), and a
429's ``retry_after`` is waited out once when short. A 404 Unknown Webhook (10015), a bad
token (401) or a lost channel (403) is ``AuthError``: the account needs attention.

Sources: discord-api-docs resources/webhook.mdx (content 2000, Execute/Get/Edit/Delete Webhook
Message, ``wait``, ``thread_id``, edit keeps attachments and re-parses mentions with default
allowances unless ``allowed_mentions`` is sent), reference.mdx (message formatting, Uploading
Files: ``files[n]`` + ``payload_json`` + ``attachments`` with ``id``/``description``;
User-Agent ``DiscordBot (url, version)``), resources/message.mdx (attachment description 1024,
allowed_mentions), topics/rate-limits.mdx (``X-RateLimit-*`` headers, 429 body
``retry_after``), topics/opcodes-and-status-codes.mdx (JSON error codes 10008, 10015, 50035).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from types import MappingProxyType
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import requests

from adapters.base import Adapter, ImageLimits, RenderContext, TagRules
from adapters.errors import (
    AuthError,
    ContentRejected,
    RateLimited,
    SiteChanged,
    TransientError,
)
from adapters.http import is_loopback, may_have_reached, seconds
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
from adapters.text.writers.markdown import DiscordWriter

logger = logging.getLogger(__name__)


class Discord(Adapter):
    id = "discord"
    name = "Discord"
    text_limit = 2000
    # Counted in UTF-16 units: never less than code points, so never over the real limit.
    length_unit = "utf16"
    title_in_text = True
    markup = "discord-markdown"
    writer = DiscordWriter
    images = ImageLimits(
        max_count=10,
        max_bytes=10 * 1024 * 1024,
        formats=("image/jpeg", "image/png", "image/gif", "image/webp"),
        keeps_metadata=False,  # unknown whether attachments keep XMP: conservative
    )
    alt_text_limit = 1024
    tag_rules = TagRules(supported=False)
    rating_map = MappingProxyType({"general": False, "mature": True, "adult": True})
    profile_url_template = "https://discord.com/users/{handle}"
    handle_pattern = re.compile(r"<?@?!?(\d{17,20})>?")
    handle_hint = "a numeric user id (17-20 digits)"
    native_mention = "<@{handle}>"
    supports_edit = True
    supports_delete = True
    # publishing
    credential_fields: ClassVar[tuple[str, ...]] = ("webhook_url", "thread_id")
    min_interval = 2.0  # webhooks: about 5 requests per 2 seconds, 30 messages a minute
    max_rate_wait: ClassVar[float] = 5.0  # wait out a rate limit this short; else RateLimited
    user_agent: ClassVar[str] = "DiscordBot (Creditline, 0.1.0)"  # reference.mdx "User Agent"
    # bucket key (webhook id + route) -> monotonic time at which it refills; per process
    _exhausted: ClassVar[dict[str, float]] = {}
    _exhausted_lock: ClassVar[threading.Lock] = threading.Lock()

    def map_rating(self, draft, rules):
        value, _ = super().map_rating(draft.model_copy(update={"content_flags": ()}), rules)
        return value or bool(draft.content_flags), []

    def fields(self, ctx: RenderContext) -> dict[str, Any]:
        users = [
            dict(span.data)["handle"]
            for span in ctx.fitted.main.spans
            if span.kind == "mention" and dict(span.data).get("form") == "native"
        ]
        return {
            "spoiler": ctx.rating,
            "allowed_mentions": {"parse": [], "users": list(dict.fromkeys(users))},
        }

    # -- publishing ------------------------------------------------------------------------
    def _publish(self, job: PublishJob, progress: dict[str, Any], save: Checkpoint) -> Published:
        if progress.get("message_id"):  # posted by an earlier attempt: nothing left to do
            return Published(str(progress["message_id"]), progress.get("url") or "")
        post = job.post
        with _Webhook.open(self, job.credentials) as hook:
            webhook = hook.get_webhook()  # fails early (AuthError) on a deleted webhook
            spoiler = bool(post.get("spoiler"))
            attachments, files = [], []
            for i, image in enumerate(job.images):
                # a transparent image too big as PNG is flattened to JPEG (as before), not WEBP
                data, media_type, _, _ = fit_image(
                    image, self.images, self.name, transparent_webp=False
                )
                filename = attachment_name(image, media_type, spoiler)
                attachment: dict[str, Any] = {"id": i, "filename": filename}
                alt = (image.alt_text or post.get("alt_text") or "")[: self.alt_text_limit]
                if alt:
                    attachment["description"] = alt
                attachments.append(attachment)
                files.append((f"files[{i}]", (filename, data, media_type)))
            payload = {
                "content": post["text"],
                "allowed_mentions": allowed_mentions(post),
                "attachments": attachments,
            }
            message = hook.execute(payload, files)
            url = message_url(webhook, message)
            save({"message_id": message["id"], "url": url})
            return Published(message["id"], url, published_extra(message, webhook))

    def lookup(self, job: PublishJob) -> Lookup:
        """UNKNOWN, always: a webhook can fetch only messages whose id it knows, and the id
        is exactly what an ambiguous failure lost (webhooks have no nonce either)."""
        return Lookup(Presence.UNKNOWN)

    def edit(self, remote_id: str, job: PublishJob) -> Published:
        """New content (attribution sync); attachments are kept as they are. Mentions are sent
        again, since Discord re-parses an edited message with default (pinging) rules otherwise."""
        message_id = snowflake(remote_id)
        with _Webhook.open(self, job.credentials) as hook:
            payload = {"content": job.post["text"], "allowed_mentions": allowed_mentions(job.post)}
            message = hook.request(
                "PATCH", f"/messages/{message_id}", route="message", json=payload
            )
            _check_message(message, "the edited message")
            webhook = hook.get_webhook()
            return Published(
                message["id"], message_url(webhook, message), published_extra(message, webhook)
            )

    def delete(
        self,
        remote_id: str,
        credentials: Mapping[str, str],
        *,
        update_credentials: CredentialsUpdate | None = None,  # a webhook URL does not change
    ) -> None:
        """Delete the message; one that is already gone is no error."""
        message_id = snowflake(remote_id)
        with _Webhook.open(self, credentials) as hook, suppress(MessageGone):
            hook.request("DELETE", f"/messages/{message_id}", route="message")

    def check_auth(
        self, credentials: Mapping[str, str], *, update_credentials: CredentialsUpdate | None = None
    ) -> str:
        """The webhook exists (GET on its URL): its name."""
        with _Webhook.open(self, credentials) as hook:
            webhook = hook.get_webhook()
            return str(webhook.get("name") or f"webhook {webhook.get('id')}")

    def parse_url(self, url: str) -> str | None:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https"):
            return None
        if (parts.hostname or "").lower() not in DISCORD_HOSTS:
            return None
        match = MESSAGE_PATH.fullmatch(parts.path.rstrip("/"))
        return match.group("id") if match else None


DISCORD_HOSTS = frozenset(
    {"discord.com", "www.discord.com", "ptb.discord.com", "canary.discord.com", "discordapp.com"}
)
MESSAGE_PATH = re.compile(r"/channels/(?:[0-9]{15,21}|@me)/[0-9]{15,21}/(?P<id>[0-9]{15,21})")
WEBHOOK_PATH = re.compile(
    r"(?P<prefix>(?:/api(?:/v[0-9]+)?)?)/webhooks/(?P<id>[0-9]{15,21})/(?P<token>[A-Za-z0-9_.\-]{20,})"
)
SNOWFLAKE = re.compile(r"[0-9]{15,21}")


def snowflake(value: str) -> str:
    value = str(value).strip()
    if not SNOWFLAKE.fullmatch(value):
        raise ContentRejected(f"{value!r} is not a Discord message id")
    return value


def allowed_mentions(post: Mapping[str, Any]) -> dict[str, Any]:
    """The render's ``allowed_mentions`` (native mentions of credited people), and never any
    ``parse`` of its own: with nothing rendered, nothing pings."""
    rendered = post.get("allowed_mentions")
    users = rendered.get("users") if isinstance(rendered, Mapping) else None
    ids = [u for u in (users or []) if isinstance(u, str) and SNOWFLAKE.fullmatch(u)]
    return {"parse": [], "users": list(dict.fromkeys(ids))[:100]}


def attachment_name(image: Media, media_type: str, spoiler: bool) -> str:
    extension = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif"}.get(
        media_type, "webp" if media_type == "image/webp" else "bin"
    )
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", image.filename.rsplit(".", 1)[0]).strip("._")
    stem = (stem or "image")[:60].removeprefix("SPOILER_")
    return f"{'SPOILER_' if spoiler else ''}{stem}.{extension}"


def message_url(webhook: Mapping[str, Any], message: Mapping[str, Any]) -> str:
    guild = webhook.get("guild_id") or "@me"
    channel = message.get("channel_id") or webhook.get("channel_id")
    return f"https://discord.com/channels/{guild}/{channel}/{message['id']}"


def published_extra(message: Mapping[str, Any], webhook: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "channel_id": message.get("channel_id"),
        "guild_id": webhook.get("guild_id"),
        "images": [a.get("url") for a in message.get("attachments") or []],
        "mentions": [u.get("id") for u in message.get("mentions") or []],
    }


def _check_message(message: Any, what: str) -> None:
    if not isinstance(message, dict) or not SNOWFLAKE.fullmatch(str(message.get("id", ""))):
        raise SiteChanged(f"Discord answered {what} without a message id")


class MessageGone(ContentRejected):
    """404 Unknown Message (10008): deleted, or not sent by this webhook."""


class _Webhook:
    """One webhook URL on one ``requests`` session: rate limits, and the error mapping."""

    def __init__(
        self, adapter: Discord, credentials: Mapping[str, str], session: requests.Session
    ) -> None:
        raw = (credentials.get("webhook_url") or "").strip()
        parts = urlsplit(raw)
        match = WEBHOOK_PATH.fullmatch(parts.path.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname or match is None:
            raise AuthError("the Discord webhook URL is missing or not a webhook URL")
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise AuthError("the Discord webhook URL must be https")
        self.adapter, self.session = adapter, session
        self.webhook_id = match.group("id")
        self._url = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        thread = (credentials.get("thread_id") or "").strip()
        thread = thread or (parse_qs(parts.query).get("thread_id") or [""])[0]
        if thread and not SNOWFLAKE.fullmatch(thread):
            raise AuthError("the Discord thread id must be a numeric id")
        self.thread_id = thread or None

    @classmethod
    @contextmanager
    def open(cls, adapter: Discord, credentials: Mapping[str, str]) -> Iterator[_Webhook]:
        with requests.Session() as session:
            session.headers["User-Agent"] = adapter.user_agent
            yield cls(adapter, credentials, session)

    def get_webhook(self) -> dict[str, Any]:
        webhook = self.request("GET", "", route="webhook", write=False)
        if not isinstance(webhook, dict) or not webhook.get("id"):
            raise SiteChanged("Discord answered the webhook request without the webhook's id")
        return webhook

    def execute(self, payload: Mapping[str, Any], files: list[Any]) -> dict[str, Any]:
        form = {"payload_json": json.dumps(payload, ensure_ascii=False)}
        message = self.request(
            "POST", "", route="execute", wait=True, data=form, files=files or None
        )
        _check_message(message, "the webhook")
        return message

    def request(
        self,
        method: str,
        path: str,
        *,
        route: str,
        write: bool = True,
        wait: bool = False,
        **kwargs: Any,
    ) -> Any:
        """One call to the webhook; a 429 whose wait is short is waited out and tried once
        more (a 429 means Discord did nothing)."""
        params = {"wait": "true"} if wait else {}
        if self.thread_id:
            params["thread_id"] = self.thread_id
        key = f"{self.webhook_id} {method} {route}"
        for attempt in (1, 2):
            self._wait_for_bucket(key)
            try:
                response = self.session.request(
                    method,
                    self._url + path,
                    params=params,
                    timeout=self.adapter.timeout,
                    **kwargs,
                )
            except requests.RequestException as exc:
                # str(exc) holds the webhook URL, which is the secret: name the failure only
                raise TransientError(
                    f"could not reach Discord ({type(exc).__name__})",
                    ambiguous=write and may_have_reached(exc),
                ) from None
            with response:
                self._note_bucket(key, response)
                try:
                    return _answer(response, write)
                except RateLimited as limited:
                    short = limited.retry_after is not None and (
                        limited.retry_after <= self.adapter.max_rate_wait
                    )
                    if attempt == 2 or not short:
                        raise
                    logger.info("Discord rate limit: waiting %.2fs", limited.retry_after)
                    time.sleep(limited.retry_after or 0)
        raise AssertionError("unreachable")

    def _wait_for_bucket(self, key: str) -> None:
        with Discord._exhausted_lock:
            until = Discord._exhausted.get(key)
        wait = (until - time.monotonic()) if until else 0.0
        if wait <= 0:
            return
        if wait > self.adapter.max_rate_wait:
            raise RateLimited("Discord's rate limit for this webhook is used up", wait)
        time.sleep(wait)

    def _note_bucket(self, key: str, response: requests.Response) -> None:
        remaining = response.headers.get("X-RateLimit-Remaining")
        reset_after = seconds(response.headers.get("X-RateLimit-Reset-After"))
        with Discord._exhausted_lock:
            if remaining == "0" and reset_after is not None:
                Discord._exhausted[key] = time.monotonic() + reset_after
            else:
                Discord._exhausted.pop(key, None)


def _answer(response: requests.Response, write: bool) -> Any:
    """The JSON answer, or the error class it means (Discord's JSON error codes)."""
    status = response.status_code
    if status == 204:
        return None
    try:
        body = response.json()
    except ValueError:
        body = None
    if 200 <= status < 300:
        if body is None:
            raise TransientError(
                f"Discord answered {status} with an unreadable body", ambiguous=write
            )
        return body
    body = body if isinstance(body, dict) else {}
    code = body.get("code")
    message = f"Discord answered {status}: {_reason(body) or response.reason or 'error'}"
    if code is not None:
        message += f" (code {code})"
    if status == 429:
        wait = seconds(body.get("retry_after"))
        if wait is None:
            wait = seconds(response.headers.get("Retry-After"))
        if wait is None:
            wait = seconds(response.headers.get("X-RateLimit-Reset-After"))
        scope = response.headers.get("X-RateLimit-Scope") or (
            "global" if body.get("global") else None
        )
        raise RateLimited(f"{message}{f' [{scope}]' if scope else ''}", wait)
    if status == 404 and code == 10008:
        raise MessageGone(message)
    if status in (401, 403, 404):  # 10015 Unknown Webhook, 50027 Invalid Webhook Token, …
        raise AuthError(message)
    if status >= 500 or status == 408:
        raise TransientError(message, ambiguous=write)
    raise ContentRejected(message)


def _reason(body: Mapping[str, Any]) -> str:
    """``message`` plus the field errors of a 50035 Invalid Form Body, flattened."""
    out = str(body.get("message") or "")
    details: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for error in node.get("_errors") or []:
                if isinstance(error, dict):
                    details.append(f"{path or 'body'}: {error.get('message')}")
            for key, value in node.items():
                if key != "_errors":
                    walk(value, f"{path}.{key}" if path else str(key))

    walk(body.get("errors"), "")
    return f"{out}: {'; '.join(details)}" if details else out


class _RedactWebhooks(logging.Filter):
    """urllib3 logs request lines at DEBUG, and a webhook path holds its token."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(
                WEBHOOK_TOKEN_RE.sub(r"\1<redacted>", a) if isinstance(a, str) else a
                for a in record.args
            )
        return True


WEBHOOK_TOKEN_RE = re.compile(r"(/webhooks/[0-9]+/)[A-Za-z0-9_.\-]+")
_urllib3_log = logging.getLogger("urllib3.connectionpool")
if not any(isinstance(f, _RedactWebhooks) for f in _urllib3_log.filters):
    _urllib3_log.addFilter(_RedactWebhooks())
