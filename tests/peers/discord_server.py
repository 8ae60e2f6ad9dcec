"""A loopback Discord webhook API for contract tests: real HTTP, documented shapes.

Serves ``/api[/v10]/webhooks/{id}/{token}`` (GET the webhook, POST execute with ``wait`` and
``thread_id``, GET/PATCH/DELETE ``/messages/{message_id}``) with the shapes of discord-api-docs
(resources/webhook.mdx, resources/message.mdx: message and attachment objects, allowed
mentions; reference.mdx "Uploading Files": ``payload_json`` + ``files[n]`` + ``attachments``;
topics/rate-limits.mdx: ``X-RateLimit-*`` headers and the 429 body; JSON error codes 10008
Unknown Message, 10015 Unknown Webhook, 50027 Invalid Webhook Token, 50035 Invalid Form Body,
40005 Request entity too large) and checks what Discord checks: the token, content of at most
2,000 characters, ``allowed_mentions`` (``parse`` and ``users`` exclusive), each attachment's
``id`` matching a ``files[n]`` part, descriptions of at most 1,024 characters, the per-file
size limit, and a real per-route rate-limit bucket.

Who gets pinged is computed as Discord does: ``<@id>`` in the content counts only when
``allowed_mentions`` lets it through, and with no ``allowed_mentions`` every user mention and
``@everyone`` pings (also on an edit). The message's ``mentions`` and ``mention_everyone`` say
who was pinged.

In-process::

    server = DiscordServer()                 # webhook WEBHOOK_ID / WEBHOOK_TOKEN
    server.start(); server.webhook_url       # http://127.0.0.1:PORT/api/webhooks/ID/TOKEN
    server.fail_next(1, 500, method="POST", after=True)
    server.rate_limit = (1, 0.3)             # one request per 0.3 s per route
    server.messages, server.requests
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import itertools
import json
import math
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image
from werkzeug.wrappers import Request, Response

from tests.peers.loopback import LoopbackServer, RecordingMixin, drop_connection, uploads

WEBHOOK_ID = "223704706495545344"
WEBHOOK_TOKEN = "3d89bb7572e0fb30d8128367b3b1b44fecd1726de135cbe28a41f8b2f777c372ba2939e72279b945"
GUILD_ID = "199737254929760256"
CHANNEL_ID = "199737254929760257"
MAX_FILE_BYTES = 10 * 1024 * 1024
PATH = re.compile(
    r"/api(?:/v(?P<version>[0-9]+))?/webhooks/(?P<id>[0-9]+)/(?P<token>[^/]+)"
    r"(?:/messages/(?P<message>[^/]+))?"
)
EPOCH_MS = 1420070400000  # Discord's snowflake epoch
IS_SPOILER = 1 << 3  # attachment flag


@dataclass
class Recorded:
    method: str
    path: str
    route: str  # webhook | message
    query: dict[str, str]
    headers: dict[str, str]
    content_type: str
    payload: Any  # payload_json or the JSON body
    form: dict[str, str]  # multipart text parts
    files: dict[str, dict[str, Any]]  # files[n] -> filename, content_type, size, sha256, data


@dataclass
class Failure:
    status: int  # 0 drops the connection; 200 + delay answers late; 200 + body: that body
    method: str | None = None
    after: bool = False
    message: str | None = None
    code: int | None = None
    retry_after: float = 1.5
    delay: float = 0.0
    body: bytes | None = None


@dataclass
class _State:
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    buckets: dict[str, tuple[int, float]] = field(default_factory=dict)  # used, reset at


class DiscordError(Exception):
    def __init__(self, status: int, message: str, code: int = 0, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.body = status, {"message": message, "code": code, **extra}


class DiscordServer(RecordingMixin, LoopbackServer):
    """One incoming webhook of one channel, on 127.0.0.1 in a thread."""

    def __init__(
        self,
        *,
        name: str = "Creditline",
        threads: tuple[str, ...] = (),
        rate_limit: tuple[int, float] = (5, 2.0),
    ) -> None:
        self.webhook = {
            "type": 1,
            "id": WEBHOOK_ID,
            "name": name,
            "avatar": None,
            "channel_id": CHANNEL_ID,
            "guild_id": GUILD_ID,
            "application_id": None,
            "token": WEBHOOK_TOKEN,
        }
        self.threads = set(threads)
        self.rate_limit = rate_limit  # requests per window (seconds), per route
        self.webhook_deleted = False
        self._clock = itertools.count(1)
        self._lock = threading.RLock()
        self._state = _State()
        super().__init__()

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}/api/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}"

    # -- inspection and failure injection ---------------------------------------------------
    @property
    def messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(json.dumps(m)) for m in self._state.messages.values()]

    def fail_next(
        self,
        n: int = 1,
        status: int = 500,
        *,
        method: str | None = None,
        after: bool = False,
        message: str | None = None,
        code: int | None = None,
        retry_after: float = 1.5,
        delay: float = 0.0,
        body: bytes | None = None,
    ) -> None:
        with self._lock:
            self._state.failures.extend(
                Failure(status, method, after, message, code, retry_after, delay, body)
                for _ in range(n)
            )

    # -- WSGI --------------------------------------------------------------------------------
    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        try:
            return self._answer(request, environ)(environ, start_response)
        finally:
            request.close()

    def _answer(self, request: Request, environ: dict[str, Any]) -> Response:
        match = PATH.fullmatch(request.path.rstrip("/"))
        if match is None:
            return _error(404, "404: Not Found", 0)
        record = self._record(request, "message" if match.group("message") else "webhook")
        limited = self._take_bucket(f"{request.method} {record.route}")
        if limited is not None:
            return limited
        failure = self._pick_failure(request.method)
        if failure is not None and failure.delay and not failure.after:
            self._stopping.wait(failure.delay)
        if (
            failure is not None
            and not failure.after
            and (failure.status != 200 or failure.body is not None)
        ):
            return self._headers(self._failure(failure, environ), request.method, record)
        response = self._route(request, match, record)
        if failure is not None and failure.after:
            if failure.delay:
                self._stopping.wait(failure.delay)
            if failure.status != 200:
                return self._failure(failure, environ)
        return self._headers(response, request.method, record)

    def _record(self, request: Request, route: str) -> Recorded:
        files = uploads(request)
        payload: Any = None
        if request.is_json:
            payload = request.get_json(silent=True)
        elif "payload_json" in request.form:
            with contextlib.suppress(ValueError):
                payload = json.loads(request.form["payload_json"])
        record = Recorded(
            request.method,
            request.path,
            route,
            {k: request.args[k] for k in request.args},
            dict(request.headers.items()),
            request.mimetype,
            payload,
            {k: request.form[k] for k in request.form},
            files,
        )
        return self._append(record)

    def _take_bucket(self, key: str) -> Response | None:
        limit, window = self.rate_limit
        now = time.time()
        with self._lock:
            used, reset_at = self._state.buckets.get(key, (0, now + window))
            if now >= reset_at:
                used, reset_at = 0, now + window
            if used >= limit:
                wait = reset_at - now
                response = _error(
                    429, "You are being rate limited.", None, retry_after=round(wait, 3), glob=False
                )
                response.headers["Retry-After"] = str(math.ceil(wait))
                response.headers["X-RateLimit-Scope"] = "user"
                self._bucket_headers(response, key, limit, 0, reset_at)
                return response
            self._state.buckets[key] = (used + 1, reset_at)
        return None

    def _headers(self, response: Response, method: str, record: Recorded) -> Response:
        key = f"{method} {record.route}"
        with self._lock:
            used, reset_at = self._state.buckets.get(key, (0, time.time()))
        limit = self.rate_limit[0]
        self._bucket_headers(response, key, limit, max(0, limit - used), reset_at)
        return response

    @staticmethod
    def _bucket_headers(
        response: Response, key: str, limit: int, remaining: int, reset_at: float
    ) -> None:
        response.headers["X-RateLimit-Limit"] = str(limit)
        response.headers["X-RateLimit-Remaining"] = str(remaining)
        response.headers["X-RateLimit-Reset"] = f"{reset_at:.3f}"
        response.headers["X-RateLimit-Reset-After"] = f"{max(0.0, reset_at - time.time()):.3f}"
        response.headers["X-RateLimit-Bucket"] = hashlib.md5(key.encode()).hexdigest()

    def _pick_failure(self, method: str) -> Failure | None:
        return self._take_failure(lambda f: f.method is None or f.method == method)

    def _failure(self, failure: Failure, environ: dict[str, Any]) -> Response:
        if failure.status == 0:
            return drop_connection(environ)
        if failure.body is not None:
            return Response(failure.body, failure.status, content_type="text/html")
        if failure.status == 429:
            response = _error(
                429,
                failure.message or "You are being rate limited.",
                failure.code,
                retry_after=failure.retry_after,
                glob=False,
            )
            response.headers["Retry-After"] = str(math.ceil(failure.retry_after))
            return response
        defaults = {
            400: ("Invalid Form Body", 50035),
            401: ("Invalid Webhook Token", 50027),
            403: ("Missing Access", 50001),
            404: ("Unknown Webhook", 10015),
            500: ("500: Internal Server Error", 0),
            502: ("502: Bad Gateway", 0),
        }
        message, code = defaults.get(failure.status, ("error", 0))
        return _error(failure.status, failure.message or message, failure.code or code)

    # -- routes ------------------------------------------------------------------------------
    def _route(self, request: Request, match: re.Match[str], record: Recorded) -> Response:
        try:
            with self._lock:
                if match.group("id") != WEBHOOK_ID or self.webhook_deleted:
                    raise DiscordError(404, "Unknown Webhook", 10015)
                if match.group("token") != WEBHOOK_TOKEN:
                    raise DiscordError(401, "Invalid Webhook Token", 50027)
                thread = record.query.get("thread_id")
                if thread is not None and thread not in self.threads:
                    raise DiscordError(404, "Unknown Channel", 10003)
                message_id = match.group("message")
                if message_id is None:
                    if request.method == "GET":
                        return _json(self.webhook)
                    if request.method == "POST":
                        return self._execute(record, thread)
                    raise DiscordError(405, "405: Method Not Allowed", 0)
                message = self._state.messages.get(message_id)
                if message is None or message.get("channel_id") != (thread or CHANNEL_ID):
                    raise DiscordError(404, "Unknown Message", 10008)
                if request.method == "GET":
                    return _json(message)
                if request.method == "PATCH":
                    return self._edit(message, record)
                if request.method == "DELETE":
                    self._state.deleted[message_id] = self._state.messages.pop(message_id)
                    return Response(b"", 204)
                raise DiscordError(405, "405: Method Not Allowed", 0)
        except DiscordError as exc:
            return _json(exc.body, exc.status)

    def _execute(self, record: Recorded, thread: str | None) -> Response:
        payload = record.payload if isinstance(record.payload, dict) else None
        if payload is None and record.content_type == "multipart/form-data":
            payload = {k: v for k, v in record.form.items() if k != "payload_json"}
        if payload is None:
            raise DiscordError(400, "Cannot send an empty message", 50006)
        content = payload.get("content") or ""
        _check_content(content)
        attachments = self._attachments(payload, record, thread or CHANNEL_ID)
        if not content and not attachments:
            raise DiscordError(400, "Cannot send an empty message", 50006)
        message_id = self._snowflake()
        message = {
            "id": message_id,
            "type": 0,
            "content": content,
            "channel_id": thread or CHANNEL_ID,
            "author": {
                "id": WEBHOOK_ID,
                "username": payload.get("username") or self.webhook["name"],
                "avatar": None,
                "discriminator": "0000",
                "bot": True,
            },
            "attachments": attachments,
            "embeds": [],
            "mention_roles": [],
            "pinned": False,
            "tts": False,
            "timestamp": _iso(time.time()),
            "edited_timestamp": None,
            "flags": 0,
            "components": [],
            "webhook_id": WEBHOOK_ID,
            **_pings(content, payload.get("allowed_mentions")),
        }
        self._state.messages[message_id] = message
        if record.query.get("wait") not in ("true", "True", "1"):
            return Response(b"", 204)
        return _json(message)

    def _attachments(
        self, payload: dict[str, Any], record: Recorded, channel: str
    ) -> list[dict[str, Any]]:
        declared = payload.get("attachments") or []
        uploads = {}
        for name, upload in record.files.items():
            m = re.fullmatch(r"files\[([0-9]+)\]", name)
            if m is None:
                raise DiscordError(400, f"Invalid form part {name}", 50035)
            if upload["size"] > MAX_FILE_BYTES:
                raise DiscordError(413, "Request entity too large", 40005)
            uploads[int(m.group(1))] = upload
        errors: dict[str, Any] = {}
        out = []
        for i, attachment in enumerate(declared):
            index = attachment.get("id")
            if index not in uploads:
                errors[str(i)] = {"id": _field_error("ATTACHMENT_NOT_FOUND", "Unknown upload")}
                continue
            description = attachment.get("description")
            if description is not None and len(description) > 1024:
                errors[str(i)] = {
                    "description": _field_error(
                        "BASE_TYPE_MAX_LENGTH", "Must be 1024 or fewer in length."
                    )
                }
                continue
            out.append(self._attachment(uploads.pop(index), attachment, channel))
        if errors:
            raise DiscordError(400, "Invalid Form Body", 50035, errors={"attachments": errors})
        for _, upload in sorted(uploads.items()):  # files without metadata keep their names
            out.append(self._attachment(upload, {}, channel))
        return out

    def _attachment(
        self, upload: dict[str, Any], meta: dict[str, Any], channel: str
    ) -> dict[str, Any]:
        filename = meta.get("filename") or upload["filename"]
        attachment_id = self._snowflake()
        url = f"https://cdn.discordapp.com/attachments/{channel}/{attachment_id}/{filename}"
        out = {
            "id": attachment_id,
            "filename": filename,
            "size": upload["size"],
            "url": url,
            "proxy_url": url.replace("cdn.discordapp.com", "media.discordapp.net"),
            "content_type": upload["content_type"],
            "_sha256": upload["sha256"],
        }
        with contextlib.suppress(Exception), Image.open(io.BytesIO(upload["data"])) as image:
            out["width"], out["height"] = image.size
        if meta.get("description") is not None:
            out["description"] = meta["description"]
        if filename.startswith("SPOILER_"):
            out["flags"] = IS_SPOILER
        return out

    def _edit(self, message: dict[str, Any], record: Recorded) -> Response:
        payload = record.payload if isinstance(record.payload, dict) else {}
        if "content" in payload:
            content = payload.get("content") or ""
            _check_content(content)
            message["content"] = content
            # mentions are rebuilt from the new content; default allowances when none is sent
            message.update(_pings(content, payload.get("allowed_mentions")))
        message["edited_timestamp"] = _iso(time.time())
        return _json(message)

    def _snowflake(self) -> str:
        ms = int(time.time() * 1000) - EPOCH_MS
        return str((ms << 22) | (next(self._clock) & 0x3FFFFF))


def _check_content(content: Any) -> None:
    if not isinstance(content, str):
        raise DiscordError(400, "Invalid Form Body", 50035)
    if len(content) > 2000:
        raise DiscordError(
            400,
            "Invalid Form Body",
            50035,
            errors={
                "content": _field_error("BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
            },
        )


def _pings(content: str, allowed: Any) -> dict[str, Any]:
    """Who the message pings, as Discord decides it from ``allowed_mentions``."""
    if allowed is None:
        allowed = {"parse": ["users", "roles", "everyone"]}
    if not isinstance(allowed, dict):
        raise DiscordError(400, "Invalid Form Body", 50035)
    parse = allowed.get("parse") or []
    users = allowed.get("users") or []
    if any(p not in ("users", "roles", "everyone") for p in parse):
        raise DiscordError(400, "Invalid Form Body", 50035)
    if "users" in parse and users:
        raise DiscordError(
            400,
            "Invalid Form Body",
            50035,
            errors={
                "allowed_mentions": _field_error(
                    "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                    'parse:["users"] and users: [ids...] are mutually exclusive.',
                )
            },
        )
    if len(users) > 100:
        raise DiscordError(400, "Invalid Form Body", 50035)
    mentioned = list(dict.fromkeys(re.findall(r"<@!?([0-9]{15,21})>", content)))
    pinged = [u for u in mentioned if "users" in parse or u in users]
    everyone = "everyone" in parse and bool(re.search(r"@(?:everyone|here)\b", content))
    return {
        "mentions": [
            {"id": u, "username": f"user{u[-4:]}", "discriminator": "0", "avatar": None}
            for u in pinged
        ],
        "mention_everyone": everyone,
    }


def _field_error(code: str, message: str) -> dict[str, Any]:
    return {"_errors": [{"code": code, "message": message}]}


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat()


def _json(value: Any, status: int = 200) -> Response:
    return Response(json.dumps(_public(value)), status, content_type="application/json")


def _public(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items() if not k.startswith("_") or k == "_errors"}
    if isinstance(value, list):
        return [_public(v) for v in value]
    return value


def _error(status: int, message: str, code: int | None, **extra: Any) -> Response:
    body: dict[str, Any] = {"message": message}
    if code is not None:
        body["code"] = code
    if "glob" in extra:
        extra["global"] = extra.pop("glob")
    body.update(extra)
    return _json(body, status)
