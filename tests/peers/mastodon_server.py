"""A loopback Mastodon API server for contract tests: real HTTP, documented shapes.

No Mastodon server can be installed here, so this answers the endpoints Creditline uses with
the request and response shapes of the Mastodon API documentation (mastodon/documentation:
methods/statuses.md, methods/media.md, methods/instance.md, methods/accounts.md,
entities/Error.md, api/rate-limits.md) and the behaviour of mastodon/mastodon where the docs
are thin (PostStatusService idempotency per account, UpdateStatusService dropping media when
``media_ids`` is left out, ``GET /api/v1/media/:id`` answering 206 while processing).

In-process::

    server = MastodonServer(tokens={"tok": "artist"})
    base_url = server.start()          # http://127.0.0.1:PORT
    server.fail_next(2, status=500)    # the next two API requests fail before doing anything
    server.fail_next(1, status=0, path="/api/v1/statuses", after=True)  # done, then dropped
    server.delay_next(1, 2.0, path="/api/v1/statuses", after=True)      # done, answer late
    server.statuses, server.requests, server.media   # what happened
    server.stop()

As a process (for worker processes; prints its URL on the first line)::

    python -m tests.peers.mastodon_server --port 0 --token tok=artist \\
        --fail-ratio 0.1 --ambiguous-ratio 0.05 --seed 1

and drive it over HTTP: ``GET /_peer/statuses`` (``?deleted=1`` for deleted ones too),
``GET /_peer/requests``, ``POST /_peer/fail`` (JSON: n, status, path, method, after, error,
reset_in, delay), ``POST /_peer/config`` (JSON: fail_ratio, ambiguous_ratio, delay,
processing_polls), ``POST /_peer/reset``. Control requests are not recorded.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import itertools
import json
import random
import re
import signal
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.peers.loopback import (
    Failure,
    LoopbackServer,
    Recorded,
    RecordingMixin,
    drop_connection,
    request_fields,
)

INVALID_TOKEN = "The access token is invalid"
NOT_FOUND = "Record not found"
IDEMPOTENCY_TTL = 3600.0
URL_RE = re.compile(r"https?://[^\s<>\"]+")
MENTION_RE = re.compile(r"(?<![\w/])@([A-Za-z0-9_]+)(?:@([A-Za-z0-9.\-]+[A-Za-z0-9]))?")
TAG_RE = re.compile(r"(?<![\w/#])#(\w*[A-Za-z_]\w*)")


@dataclass
class Account:
    id: str
    username: str
    display_name: str
    created_at: str = "2024-01-01T00:00:00.000Z"
    statuses_count: int = 0


@dataclass
class _State:
    statuses: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted: dict[str, dict[str, Any]] = field(default_factory=dict)
    media: dict[str, dict[str, Any]] = field(default_factory=dict)
    idempotency: dict[tuple[str, str], tuple[str, float]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)


class MastodonServer(RecordingMixin, LoopbackServer):
    """A Mastodon API on 127.0.0.1 in a thread. Thread-safe; state is in memory."""

    def __init__(
        self,
        tokens: dict[str, str] | None = None,
        *,
        domain: str | None = None,
        max_characters: int = 500,
        url_weight: int = 23,
        image_size_limit: int = 16_777_216,
        image_matrix_limit: int = 33_177_600,
        processing_polls: int = 0,
        fail_ratio: float = 0.0,
        ambiguous_ratio: float = 0.0,
        rate_limit_ratio: float = 0.0,
        delay: float = 0.0,
        seed: int | None = None,
        version: str = "4.3.0",
    ) -> None:
        self.tokens = dict(tokens or {"test-token": "artist"})
        self.accounts: dict[str, Account] = {}
        for i, username in enumerate(dict.fromkeys(self.tokens.values()), start=1):
            self.accounts[username] = Account(str(i), username, username.title())
        self.domain = domain
        self.max_characters = max_characters
        self.url_weight = url_weight  # the instance's characters_reserved_per_url
        self.image_size_limit, self.image_matrix_limit = image_size_limit, image_matrix_limit
        self.processing_polls = processing_polls  # 202 + this many 206 answers per upload
        self.fail_ratio, self.ambiguous_ratio, self.delay = fail_ratio, ambiguous_ratio, delay
        self.rate_limit_ratio = rate_limit_ratio
        self.version = version
        self._rng = random.Random(seed)
        self._ids = itertools.count(int(time.time() * 1000) << 16)
        self._lock = threading.RLock()
        self._state = _State()
        super().__init__()

    # -- lifecycle ---------------------------------------------------------------------------
    # -- inspection and failure injection ---------------------------------------------------
    @property
    def statuses(self) -> list[dict[str, Any]]:
        """Statuses created and not deleted, oldest first."""
        with self._lock:
            return [json.loads(json.dumps(s)) for s in self._state.statuses.values()]

    @property
    def deleted(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._state.deleted.values())

    @property
    def media(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return dict(self._state.media)

    def requests_to(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path == path]

    def fail_next(
        self,
        n: int = 1,
        status: int = 500,
        *,
        path: str | None = None,
        method: str | None = None,
        after: bool = False,
        error: str | None = None,
        reset_in: float = 30.0,
        delay: float = 0.0,
    ) -> None:
        """The next ``n`` matching API requests fail with ``status`` (0: connection dropped)."""
        with self._lock:
            self._state.failures.extend(
                Failure(status, path, method, after, error, reset_in, delay) for _ in range(n)
            )

    def delay_next(
        self, n: int, seconds: float, *, path: str | None = None, after: bool = True
    ) -> None:
        """Answer the next ``n`` matching requests ``seconds`` late (a client timeout)."""
        self.fail_next(n, 200, path=path, after=after, delay=seconds)

    def add_token(self, token: str, username: str) -> None:
        """Another account (and its token), e.g. for many-account load tests."""
        with self._lock:
            self.tokens[token] = username
            if username not in self.accounts:
                number = str(len(self.accounts) + 1)
                self.accounts[username] = Account(number, username, username.title())

    def add_status(self, username: str, text: str, **fields: Any) -> dict[str, Any]:
        """Create a status directly, as if posted from another client."""
        with self._lock:
            return self._create_status(self.accounts[username], {"status": text, **fields}, [])

    def reset(self) -> None:
        with self._lock:
            self._state = _State()

    # -- WSGI --------------------------------------------------------------------------------
    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        try:
            return self._answer(request, environ, start_response)
        finally:
            request.close()  # uploaded files are spooled to temporary files

    def _answer(
        self, request: Request, environ: dict[str, Any], start_response: Any
    ) -> Iterable[bytes]:
        if request.path.startswith("/_peer/"):
            return self._control(request)(environ, start_response)
        record = self._record(request)
        failure = self._pick_failure(request.method, request.path)
        if failure is not None and failure.delay and not failure.after:
            self._stopping.wait(failure.delay)  # a slow server: it still does the work
        if failure is not None and not failure.after and failure.status != 200:
            response = self._failure(failure, environ)
        else:
            with self._lock:
                response = self._route(request, record)
            if failure is not None and failure.status != 200:
                response = self._failure(failure, environ)
        wait = self.delay + (failure.delay if failure and failure.after else 0.0)
        if wait:
            self._stopping.wait(wait)
        self._rate_headers(response)
        return response(environ, start_response)

    def _record(self, request: Request) -> Recorded:
        return self._append(Recorded(**request_fields(request)))

    def _pick_failure(self, method: str, path: str) -> Failure | None:
        with self._lock:
            found = self._take_failure(lambda f: f.matches(method, path))
            if found is not None:
                return found
            roll = self._rng.random()
        if roll < self.fail_ratio:
            return Failure(self._rng.choice([500, 502, 503, 0]))
        if method != "GET" and roll < self.fail_ratio + self.ambiguous_ratio:
            return Failure(self._rng.choice([500, 504, 0]), after=True)
        if roll < self.fail_ratio + self.ambiguous_ratio + self.rate_limit_ratio:
            return Failure(429, reset_in=self._rng.uniform(0.2, 1.0))
        return None

    def _failure(self, failure: Failure, environ: dict[str, Any]) -> Response:
        if failure.status == 0:
            return drop_connection(environ)
        defaults = {
            401: INVALID_TOKEN,
            403: "This action is not allowed",
            404: NOT_FOUND,
            413: "Request Entity Too Large",
            422: "Validation failed: Text can't be blank",
            429: "Too many requests",
            500: "Internal Server Error",
            502: "Bad Gateway",
            503: "Service Unavailable",
            504: "Gateway Timeout",
        }
        response = _error(failure.status, failure.error or defaults.get(failure.status, "Error"))
        if failure.status == 429:
            response.headers["X-RateLimit-Remaining"] = "0"
            response.headers["X-RateLimit-Reset"] = _iso(time.time() + failure.reset_in)
        return response

    def _rate_headers(self, response: Response) -> None:
        response.headers.setdefault("X-RateLimit-Limit", "300")
        response.headers.setdefault("X-RateLimit-Remaining", "299")
        response.headers.setdefault("X-RateLimit-Reset", _iso(time.time() + 300))

    # -- routes ------------------------------------------------------------------------------
    def _route(self, request: Request, record: Recorded) -> Response:
        method, path = request.method, request.path.rstrip("/")
        if path == "/api/v2/instance" and method == "GET":
            return _json(self._instance_v2(request))
        if path == "/api/v1/instance" and method == "GET":
            return _json(self._instance_v1(request))
        account = self._account_for(record)
        if account is None:
            return _error(401, INVALID_TOKEN)
        if path == "/api/v1/accounts/verify_credentials" and method == "GET":
            return _json(self._account_json(account, source=True))
        if path == "/api/v2/media" and method == "POST":
            return self._upload(account, record)
        if path == "/api/v1/statuses" and method == "POST":
            return self._post_status(account, record)
        if m := re.fullmatch(r"/api/v1/media/(\w+)", path):
            return self._get_media(account, m.group(1)) if method == "GET" else _error(405, "")
        if m := re.fullmatch(r"/api/v1/accounts/(\w+)/statuses", path):
            return self._account_statuses(m.group(1), request)
        if m := re.fullmatch(r"/api/v1/statuses/(\w+)/context", path):
            return self._context(m.group(1))
        if m := re.fullmatch(r"/api/v1/statuses/(\w+)", path):
            status = self._state.statuses.get(m.group(1))
            if status is None:
                return _error(404, NOT_FOUND)
            if method == "GET":
                return _json(status)
            if status["account"]["id"] != account.id:
                return _error(404, NOT_FOUND)
            if method == "PUT":
                return self._edit(account, status, record)
            if method == "DELETE":
                return self._delete(status)
        return _error(404, NOT_FOUND)

    def _account_for(self, record: Recorded) -> Account | None:
        username = self.tokens.get(record.bearer or "")
        return self.accounts.get(username) if username else None

    def _host(self, request: Request | None = None) -> str:
        return self.domain or (request.host if request else self.base_url.split("://")[1])

    def _instance_v2(self, request: Request) -> dict[str, Any]:
        host = self._host(request)
        return {
            "domain": host,
            "title": "Loopback Mastodon",
            "version": self.version,
            "source_url": "https://github.com/mastodon/mastodon",
            "description": "A Mastodon API for Creditline's tests",
            "usage": {"users": {"active_month": len(self.accounts)}},
            "thumbnail": {"url": f"http://{host}/packs/media/images/preview.png"},
            "languages": ["en"],
            "configuration": {
                "urls": {"streaming": f"ws://{host}"},
                "accounts": {"max_featured_tags": 10, "max_pinned_statuses": 5},
                "statuses": {
                    "max_characters": self.max_characters,
                    "max_media_attachments": 4,
                    "characters_reserved_per_url": self.url_weight,
                },
                "media_attachments": {
                    "supported_mime_types": [
                        "image/jpeg",
                        "image/png",
                        "image/gif",
                        "image/webp",
                        "image/heic",
                        "image/heif",
                        "image/avif",
                        "video/mp4",
                    ],
                    "description_limit": 1500,
                    "image_size_limit": self.image_size_limit,
                    "image_matrix_limit": self.image_matrix_limit,
                    "video_size_limit": 103809024,
                    "video_frame_rate_limit": 120,
                    "video_matrix_limit": 8294400,
                },
                "polls": {
                    "max_options": 4,
                    "max_characters_per_option": 50,
                    "min_expiration": 300,
                    "max_expiration": 2629746,
                },
                "translation": {"enabled": False},
            },
            "registrations": {"enabled": False, "approval_required": False, "message": None},
            "api_versions": {"mastodon": 2},
            "contact": {"email": f"admin@{host}", "account": None},
            "rules": [],
        }

    def _instance_v1(self, request: Request) -> dict[str, Any]:
        host = self._host(request)
        return {
            "uri": host,
            "title": "Loopback Mastodon",
            "version": self.version,
            "urls": {"streaming_api": f"ws://{host}"},
            "configuration": self._instance_v2(request)["configuration"],
        }

    def _account_json(self, account: Account, source: bool = False) -> dict[str, Any]:
        host = self._host()
        out: dict[str, Any] = {
            "id": account.id,
            "username": account.username,
            "acct": account.username,
            "display_name": account.display_name,
            "locked": False,
            "bot": False,
            "discoverable": True,
            "group": False,
            "created_at": account.created_at,
            "note": "",
            "url": f"http://{host}/@{account.username}",
            "uri": f"http://{host}/users/{account.username}",
            "avatar": f"http://{host}/avatars/original/missing.png",
            "avatar_static": f"http://{host}/avatars/original/missing.png",
            "header": f"http://{host}/headers/original/missing.png",
            "header_static": f"http://{host}/headers/original/missing.png",
            "followers_count": 0,
            "following_count": 0,
            "statuses_count": account.statuses_count,
            "last_status_at": None,
            "emojis": [],
            "fields": [],
        }
        if source:
            out["source"] = {
                "privacy": "public",
                "sensitive": False,
                "language": "",
                "note": "",
                "fields": [],
                "follow_requests_count": 0,
            }
            out["role"] = {
                "id": "-99",
                "name": "",
                "permissions": "0",
                "color": "",
                "highlighted": False,
            }
        return out

    def _upload(self, account: Account, record: Recorded) -> Response:
        upload = record.files.get("file")
        if upload is None:
            return _error(422, "Validation failed: File can't be blank")
        if not upload["content_type"].startswith(("image/", "video/", "audio/")):
            return _error(422, "Validation failed: File content type is invalid, File is invalid")
        if len(upload["data"]) > self.image_size_limit:
            return _error(
                422, f"Validation failed: File size must be less than {self.image_size_limit} Bytes"
            )
        media_id = str(next(self._ids))
        host = self._host()
        focus = (record.form.get("focus") or [None])[0]
        fx, fy = (float(v) for v in focus.split(",")) if focus else (0.0, 0.0)
        media = {
            "id": media_id,
            "type": "image" if upload["content_type"].startswith("image/") else "video",
            "url": f"http://{host}/system/media_attachments/files/{media_id}/original/"
            f"{upload['sha256'][:16]}",
            "preview_url": f"http://{host}/system/media_attachments/files/{media_id}/small/"
            f"{upload['sha256'][:16]}",
            "remote_url": None,
            "preview_remote_url": None,
            "text_url": None,
            "meta": {"focus": {"x": fx, "y": fy}},
            "description": (record.form.get("description") or [None])[0],
            "blurhash": "UFBWY:8_0Jxv4mx]t8t64.%M-:IUWGWAt6M}",
        }
        self._state.media[media_id] = {
            "json": media,
            "account": account.id,
            "status_id": None,
            "pending_polls": self.processing_polls,
            "sha256": upload["sha256"],
            "size": upload["size"],
        }
        if self.processing_polls:
            return _json({**media, "url": None}, 202)
        return _json(media)

    def _get_media(self, account: Account, media_id: str) -> Response:
        media = self._state.media.get(media_id)
        if media is None or media["account"] != account.id or media["status_id"] is not None:
            return _error(404, NOT_FOUND)
        if media["pending_polls"] > 0:
            media["pending_polls"] -= 1
            return _json({**media["json"], "url": None}, 206)
        return _json(media["json"])

    def _post_status(self, account: Account, record: Recorded) -> Response:
        params = _params(record)
        key = record.headers.get("Idempotency-Key")
        now = time.time()
        if key:
            seen = self._state.idempotency.get((account.id, key))
            if seen and now - seen[1] < IDEMPOTENCY_TTL and seen[0] in self._state.statuses:
                return _json(self._state.statuses[seen[0]])
        media_ids = [str(m) for m in params.get("media_ids") or []]
        if len(media_ids) > 4:
            return _error(422, "Cannot attach more than 4 files")
        missing = [
            m
            for m in media_ids
            if m not in self._state.media
            or self._state.media[m]["account"] != account.id
            or self._state.media[m]["status_id"] is not None
        ]
        if missing:
            return _error(
                422, f"Media {', '.join(missing)} not found or already attached to another post"
            )
        if any(self._state.media[m]["pending_polls"] > 0 for m in media_ids):
            return _error(
                422, "Cannot attach files that have not finished processing. Try again in a moment!"
            )
        text = params.get("status") or ""
        if not text.strip() and not media_ids:
            return _error(422, "Validation failed: Text can't be blank")
        if _length(text, params.get("spoiler_text") or "", self.url_weight) > self.max_characters:
            return _error(
                422, f"Validation failed: Text character limit of {self.max_characters} exceeded"
            )
        reply_to = params.get("in_reply_to_id")
        if reply_to and reply_to not in self._state.statuses:
            return _error(404, NOT_FOUND)
        if params.get("visibility") not in (None, "public", "unlisted", "private", "direct"):
            return _error(422, "Validation failed: Visibility is not included in the list")
        status = self._create_status(account, params, media_ids)
        if key:
            status["_key"] = key  # for tests: which client request made it (not Mastodon)
            self._state.idempotency[(account.id, key)] = (status["id"], now)
        return _json(status)

    def _create_status(
        self, account: Account, params: dict[str, Any], media_ids: list[str]
    ) -> dict[str, Any]:
        status_id = str(next(self._ids))
        host = self._host()
        reply_to = params.get("in_reply_to_id")
        parent = self._state.statuses.get(reply_to) if reply_to else None
        spoiler = params.get("spoiler_text") or ""
        for m in media_ids:
            self._state.media[m]["status_id"] = status_id
        account.statuses_count += 1
        status = {
            "id": status_id,
            "created_at": _iso(time.time()),
            "in_reply_to_id": reply_to or None,
            "in_reply_to_account_id": parent["account"]["id"] if parent else None,
            "sensitive": _truthy(params.get("sensitive")) or bool(spoiler),
            "spoiler_text": spoiler,
            "visibility": params.get("visibility") or "public",
            "language": params.get("language") or "en",
            "uri": f"http://{host}/users/{account.username}/statuses/{status_id}",
            "url": f"http://{host}/@{account.username}/{status_id}",
            "replies_count": 0,
            "reblogs_count": 0,
            "favourites_count": 0,
            "edited_at": None,
            "favourited": False,
            "reblogged": False,
            "muted": False,
            "bookmarked": False,
            "pinned": False,
            "content": _html(params.get("status") or "", host),
            "filtered": [],
            "reblog": None,
            "application": {"name": "Creditline", "website": None},
            "account": self._account_json(account),
            "media_attachments": [self._state.media[m]["json"] for m in media_ids],
            "mentions": [],
            "tags": [],
            "emojis": [],
            "card": None,
            "poll": None,
            "_text": params.get("status") or "",  # the source text, for tests (not Mastodon)
        }
        if parent:
            parent["replies_count"] += 1
        self._state.statuses[status_id] = status
        return status

    def _edit(self, account: Account, status: dict[str, Any], record: Recorded) -> Response:
        params = _params(record)
        # The controller hands media_ids (nil when left out) to UpdateStatusService, which
        # then attaches exactly those: an edit without media_ids removes every attachment.
        media_ids = [str(m) for m in params.get("media_ids") or []]
        own = {m["id"] for m in status["media_attachments"]}
        for m in media_ids:
            media = self._state.media.get(m)
            if media is None or media["account"] != account.id:
                return _error(422, f"Media {m} not found")
            if m not in own and media["status_id"] is not None:
                return _error(422, f"Media {m} not found or already attached to another post")
        for attributes in params.get("media_attributes") or []:
            media = self._state.media.get(str(attributes.get("id")))
            if media is not None and str(attributes.get("id")) in media_ids:
                if "description" in attributes:
                    media["json"]["description"] = attributes["description"]
                if "focus" in attributes:  # "x,y" in, meta.focus {x, y} out
                    fx, fy = (float(v) for v in str(attributes["focus"]).split(","))
                    media["json"]["meta"] = {"focus": {"x": fx, "y": fy}}
        text = params.get("status") or ""
        spoiler = params.get("spoiler_text") or ""
        if not text.strip() and not media_ids:
            return _error(422, "Validation failed: Text can't be blank")
        if _length(text, spoiler, self.url_weight) > self.max_characters:
            return _error(
                422, f"Validation failed: Text character limit of {self.max_characters} exceeded"
            )
        for m in own - set(media_ids):
            self._state.media[m]["status_id"] = None
        for m in media_ids:
            self._state.media[m]["status_id"] = status["id"]
        status.update(
            content=_html(text, self._host()),
            _text=text,
            spoiler_text=spoiler,
            sensitive=_truthy(params.get("sensitive")) or bool(spoiler),
            media_attachments=[self._state.media[m]["json"] for m in media_ids],
            edited_at=_iso(time.time()),
        )
        if params.get("language"):
            status["language"] = params["language"]
        return _json(status)

    def _delete(self, status: dict[str, Any]) -> Response:
        self._state.statuses.pop(status["id"])
        self._state.deleted[status["id"]] = status
        for media in status["media_attachments"]:
            self._state.media[media["id"]]["status_id"] = None
        return _json({**status, "text": status["_text"]})

    def _context(self, status_id: str) -> Response:
        status = self._state.statuses.get(status_id)
        if status is None:
            return _error(404, NOT_FOUND)
        ancestors, parent = [], status.get("in_reply_to_id")
        while parent and parent in self._state.statuses:
            ancestors.insert(0, self._state.statuses[parent])
            parent = self._state.statuses[parent].get("in_reply_to_id")
        descendants, frontier = [], {status_id}
        for candidate in self._state.statuses.values():  # insertion order = oldest first
            if candidate.get("in_reply_to_id") in frontier:
                descendants.append(candidate)
                frontier.add(candidate["id"])
        return _json({"ancestors": ancestors, "descendants": descendants})

    def _account_statuses(self, account_id: str, request: Request) -> Response:
        if not any(a.id == account_id for a in self.accounts.values()):
            return _error(404, NOT_FOUND)
        args = request.args
        limit = min(int(args.get("limit", 20)), 40)
        mine = [
            s for s in reversed(self._state.statuses.values()) if s["account"]["id"] == account_id
        ]
        if _truthy(args.get("exclude_replies")):
            mine = [s for s in mine if not s["in_reply_to_id"]]
        if _truthy(args.get("only_media")):
            mine = [s for s in mine if s["media_attachments"]]
        if args.get("max_id"):
            mine = [s for s in mine if int(s["id"]) < int(args["max_id"])]
        if args.get("since_id"):
            mine = [s for s in mine if int(s["id"]) > int(args["since_id"])]
        page = mine[:limit]
        response = _json(page)
        if page:
            base = f"{request.host_url}api/v1/accounts/{account_id}/statuses"
            response.headers["Link"] = (
                f'<{base}?limit={limit}&max_id={page[-1]["id"]}>; rel="next", '
                f'<{base}?limit={limit}&min_id={page[0]["id"]}>; rel="prev"'
            )
        return response

    # -- control endpoints (over HTTP, for other processes) --------------------------------
    def _control(self, request: Request) -> Response:
        path = request.path
        body = request.get_json(silent=True) or {}
        if path == "/_peer/statuses" and request.method == "GET":
            found = self.statuses + (self.deleted if _truthy(request.args.get("deleted")) else [])
            return _json(found)
        if path == "/_peer/requests" and request.method == "GET":
            return _json([r.public() for r in self.requests])
        if path == "/_peer/fail" and request.method == "POST":
            self.fail_next(
                int(body.get("n", 1)),
                int(body.get("status", 500)),
                path=body.get("path"),
                method=body.get("method"),
                after=bool(body.get("after", False)),
                error=body.get("error"),
                reset_in=float(body.get("reset_in", 30.0)),
                delay=float(body.get("delay", 0.0)),
            )
            return _json({})
        if path == "/_peer/config" and request.method == "POST":
            for name in ("fail_ratio", "ambiguous_ratio", "delay"):
                if name in body:
                    setattr(self, name, float(body[name]))
            if "processing_polls" in body:
                self.processing_polls = int(body["processing_polls"])
            return _json({})
        if path == "/_peer/reset" and request.method == "POST":
            self.reset()
            return _json({})
        return _error(404, NOT_FOUND)


# -- helpers ----------------------------------------------------------------------------------
def _params(record: Recorded) -> dict[str, Any]:
    """Form fields (``media_ids[]`` as a list) or the JSON body, as Rails would see them."""
    if isinstance(record.json, dict):
        return dict(record.json)
    out: dict[str, Any] = {}
    for key, values in record.form.items():
        if key.endswith("[]"):
            out[key[:-2]] = values
        else:
            out[key] = values[-1]
    return out


def _truthy(value: Any) -> bool:
    return str(value).lower() in ("1", "true", "t", "on", "yes") if value is not None else False


def _length(text: str, spoiler: str, url_weight: int = 23) -> int:
    """Mastodon's count, simplified: URLs count ``url_weight``, remote mentions their local part."""
    text = URL_RE.sub("x" * url_weight, text)
    text = MENTION_RE.sub(lambda m: "@" + m.group(1), text)
    return len(text) + len(spoiler)


def _html(text: str, host: str) -> str:
    """Status HTML the way Mastodon's formatter writes it (links, mentions, hashtags)."""

    def inline(line: str) -> str:
        out, pos = [], 0
        pattern = re.compile(f"{URL_RE.pattern}|{MENTION_RE.pattern}|{TAG_RE.pattern}")
        for m in pattern.finditer(line):
            out.append(html.escape(line[pos : m.start()], quote=False))
            token = m.group(0)
            if token.startswith("http"):
                scheme, _, rest = token.partition("://")
                out.append(
                    f'<a href="{html.escape(token)}" target="_blank" rel="nofollow noopener '
                    f'noreferrer" translate="no"><span class="invisible">{scheme}://</span>'
                    f'<span class="">{html.escape(rest)}</span><span class="invisible"></span></a>'
                )
            elif token.startswith("@"):
                user, domain = m.group(1), m.group(2) or host
                out.append(
                    f'<span class="h-card" translate="no"><a href="http://{domain}/@{user}" '
                    f'class="u-url mention">@<span>{user}</span></a></span>'
                )
            else:
                tag = m.group(3)
                out.append(
                    f'<a href="http://{host}/tags/{tag.lower()}" class="mention hashtag" '
                    f'rel="tag">#<span>{html.escape(tag)}</span></a>'
                )
            pos = m.end()
        out.append(html.escape(line[pos:], quote=False))
        return "".join(out)

    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return "".join(
        "<p>" + "<br />".join(inline(line) for line in p.split("\n")) + "</p>" for p in paragraphs
    )


def _iso(epoch: float) -> str:
    moment = dt.datetime.fromtimestamp(epoch, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _json(value: Any, status: int = 200) -> Response:
    body = json.dumps(_public(value))
    return Response(body, status, content_type="application/json; charset=utf-8")


def _public(value: Any) -> Any:
    """Drop the server's private ``_`` keys from what goes over the wire."""
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [_public(v) for v in value]
    return value


def _error(status: int, message: str) -> Response:
    return _json({"error": message}, status)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", action="append", default=[], help="TOKEN=USERNAME (repeatable)")
    parser.add_argument("--fail-ratio", type=float, default=0.0, help="fail before handling")
    parser.add_argument(
        "--ambiguous-ratio", type=float, default=0.0, help="writes: handle, then fail or drop"
    )
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before every answer")
    parser.add_argument("--processing-polls", type=int, default=0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--max-characters", type=int, default=500)
    args = parser.parse_args(argv)
    tokens = dict(t.split("=", 1) for t in args.token) or None
    server = MastodonServer(
        tokens,
        max_characters=args.max_characters,
        processing_polls=args.processing_polls,
        fail_ratio=args.fail_ratio,
        ambiguous_ratio=args.ambiguous_ratio,
        delay=args.delay,
        seed=args.seed,
    )
    url = server.start(args.port)
    print(url, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    server.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
