"""A loopback X API v2 server for contract tests: real HTTP, real OAuth 1.0a checks.

No X server can run here, so this answers the endpoints Creditline uses with the shapes of the
X API v2 documentation (docs.x.com: posts/create-post, posts/delete-post, users/user-lookup-me,
users/timeline, media/upload-media, media/create-media-metadata, fundamentals/rate-limits,
fundamentals/response-codes-and-errors, posts/post-lookup-by-post-ids). Every request's OAuth
1.0a signature is verified with oauthlib's server side (``SignatureOnlyEndpoint``): a wrong
secret, a changed URL or a replayed nonce gets 401, as on X. Text is measured with twitter-text
(weighted, 280). Posts are answered as X shows them: links wrapped in t.co with
``entities.urls``, ``&<>`` escaped in ``text``.

In-process::

    server = XServer()                       # one app, one user "artist"
    base_url = server.start()
    server.fail_next(1, status=503, path="/2/tweets")          # fail before doing anything
    server.fail_next(1, status=0, path="/2/tweets", after=True)  # done, then dropped
    server.fail_next(1, status=200, path="/2/tweets", after=True, body=b"<html>")  # garbled
    server.tweets, server.media, server.requests
    server.stop()
"""

from __future__ import annotations

import hashlib
import html
import io
import itertools
import json
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from oauthlib.oauth1 import RequestValidator, SignatureOnlyEndpoint
from PIL import Image
from twitter_text import parse_tweet
from werkzeug.wrappers import Request, Response

from tests.peers.loopback import (
    LoopbackServer,
    RecordingMixin,
    drop_connection,
    request_fields,
)

URL_RE = re.compile(r"https?://[^\s<>\"]+")
IMAGE_BYTES = 5 * 1024 * 1024
ALT_TEXT_LIMIT = 1000
DUPLICATE = "You are not allowed to create a Tweet with duplicate content."


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    form: dict[str, list[str]]
    json: Any
    files: dict[str, dict[str, Any]]
    oauth: dict[str, str]  # the verified OAuth parameters (empty when the signature failed)


@dataclass
class Failure:
    status: int  # 0 drops the connection without an answer
    path: str | None = None
    method: str | None = None
    after: bool = False  # do the work first, then fail (the outcome is ambiguous)
    reset_in: float = 900.0  # for 429: x-rate-limit-reset this many seconds ahead
    delay: float = 0.0
    body: bytes | None = None  # the raw answer instead of the usual one
    skip: int = 0  # let this many matching requests through first
    detail: str | None = None

    def matches(self, method: str, path: str) -> bool:
        return (self.path is None or path == self.path or path.startswith(self.path + "/")) and (
            self.method is None or self.method == method
        )


@dataclass
class User:
    id: str
    username: str
    name: str


@dataclass
class App:
    key: str
    secret: str
    write: bool = True  # "Read and write" app permission


@dataclass
class _State:
    tweets: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted: dict[str, dict[str, Any]] = field(default_factory=dict)
    media: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    nonces: set[tuple[str, str, str]] = field(default_factory=set)
    undeletable: set[str] = field(default_factory=set)


class _Validator(RequestValidator):
    """What X knows about apps and tokens; oauthlib does the signature arithmetic."""

    def __init__(self, server: XServer) -> None:
        super().__init__()
        self.server = server

    enforce_ssl = False  # loopback HTTP
    dummy_client = "dummy-client-key"
    dummy_access_token = "dummy-access-token"

    def check_client_key(self, client_key: str) -> bool:
        return bool(client_key) and len(client_key) <= 100

    def check_access_token(self, request_token: str) -> bool:
        return bool(request_token) and len(request_token) <= 200

    def check_nonce(self, nonce: str) -> bool:
        return bool(nonce) and len(nonce) <= 100

    def validate_client_key(self, client_key: str, request: Any) -> bool:
        return client_key in self.server.apps

    def get_client_secret(self, client_key: str, request: Any) -> str:
        app = self.server.apps.get(client_key)
        return app.secret if app else "dummy-secret"

    def validate_access_token(self, client_key: str, token: str, request: Any) -> bool:
        return token in self.server.tokens

    def get_access_token_secret(self, client_key: str, token: str, request: Any) -> str:
        entry = self.server.tokens.get(token)
        return entry[0] if entry else "dummy-secret"

    def validate_timestamp_and_nonce(
        self,
        client_key: str,
        timestamp: str,
        nonce: str,
        request: Any,
        request_token: str | None = None,
        access_token: str | None = None,
    ) -> bool:
        if abs(time.time() - int(timestamp)) > 300:
            return False
        key = (client_key, access_token or "", nonce)
        with self.server._lock:
            if key in self.server._state.nonces:
                return False  # a replayed request
            self.server._state.nonces.add(key)
        return True

    def validate_realms(self, *args: Any, **kwargs: Any) -> bool:
        return True


class XServer(RecordingMixin, LoopbackServer):
    """X's API on 127.0.0.1 in a thread; state in memory."""

    def __init__(self) -> None:
        self.apps = {"app-key": App("app-key", "app-secret")}
        self.users = {"artist": User("1500000001", "artist", "The Artist")}
        # access token -> (token secret, username); X's tokens start with the user id
        self.tokens = {"1500000001-usertoken": ("user-secret", "artist")}
        self._endpoint = SignatureOnlyEndpoint(_Validator(self))
        self._ids = itertools.count(1_800_000_000_000_000_000)
        self._lock = threading.RLock()
        self._state = _State()
        super().__init__()

    # -- lifecycle ---------------------------------------------------------------------------
    # -- inspection and set-up ---------------------------------------------------------------
    @property
    def tweets(self) -> list[dict[str, Any]]:
        """Posts that exist, oldest first (the server's own record, text as sent)."""
        with self._lock:
            return [dict(t) for t in self._state.tweets.values()]

    @property
    def deleted(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._state.deleted.values())

    @property
    def media(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {k: dict(v) for k, v in self._state.media.items()}

    def calls(self) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.requests]

    def fail_next(
        self,
        n: int = 1,
        status: int = 500,
        *,
        path: str | None = None,
        method: str | None = None,
        after: bool = False,
        reset_in: float = 900.0,
        delay: float = 0.0,
        body: bytes | None = None,
        skip: int = 0,
        detail: str | None = None,
    ) -> None:
        """The next ``n`` matching requests (after ``skip`` that go through) fail."""
        with self._lock:
            self._state.failures.extend(
                Failure(status, path, method, after, reset_in, delay, body, skip, detail)
                for _ in range(n)
            )

    def refuse_delete(self, tweet_id: str) -> None:
        """Deleting this post will fail with 503 (to test a thread that cannot be taken down)."""
        with self._lock:
            self._state.undeletable.add(tweet_id)

    def add_tweet(
        self, username: str, text: str, reply_to: str | None = None, media: list[str] | None = None
    ) -> dict[str, Any]:
        """A post made some other way (another client, an earlier attempt)."""
        with self._lock:
            return self._create(self.users[username], text, reply_to, media or [])

    # -- WSGI --------------------------------------------------------------------------------
    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        try:
            return self._answer(request, environ)(environ, start_response)
        finally:
            request.close()

    def _answer(self, request: Request, environ: dict[str, Any]) -> Response:
        record = self._record(request, environ)
        failure = self._pick_failure(request.method, request.path)
        if failure is not None and failure.delay and not failure.after:
            self._stopping.wait(failure.delay)
        if failure is not None and not failure.after and failure.status != 200:
            response = self._failure(failure, environ)
        else:
            response = self._authorised(request, record)
            if failure is not None and (failure.status != 200 or failure.body is not None):
                response = self._failure(failure, environ, response)
        if failure is not None and failure.after and failure.delay:
            self._stopping.wait(failure.delay)
        self._rate_headers(response)
        return response

    def _authorised(self, request: Request, record: Recorded) -> Response:
        if not record.oauth:
            return _problem(401, "Unauthorized", "Unauthorized")
        user = self.users[self.tokens[record.oauth["oauth_token"]][1]]
        app = self.apps[record.oauth["oauth_consumer_key"]]
        with self._lock:
            return self._route(request, record, user, app)

    def _record(self, request: Request, environ: dict[str, Any]) -> Recorded:
        fields = request_fields(request)
        return self._append(Recorded(**fields, oauth=self._verify(request, environ)))

    def _verify(self, request: Request, environ: dict[str, Any]) -> dict[str, str]:
        """The OAuth 1.0a parameters if the signature is right, else ``{}``."""
        raw_path = environ.get("RAW_URI") or environ.get("REQUEST_URI") or request.full_path
        uri = f"http://{request.host}{raw_path}"
        headers = {k: v for k, v in request.headers.items()}
        body = request.get_data(as_text=True) if request.mimetype.endswith("urlencoded") else ""
        try:
            valid, oauth_request = self._endpoint.validate_request(
                uri, request.method, body, headers
            )
        except Exception:  # malformed OAuth header: oauthlib raises its own errors
            return {}
        if not valid:
            return {}
        return dict(oauth_request.oauth_params)

    def _pick_failure(self, method: str, path: str) -> Failure | None:
        with self._lock:
            for i, failure in enumerate(self._state.failures):
                if failure.matches(method, path):
                    if failure.skip:
                        failure.skip -= 1
                        return None
                    return self._state.failures.pop(i)
        return None

    def _failure(
        self, failure: Failure, environ: dict[str, Any], done: Response | None = None
    ) -> Response:
        if failure.status == 0:
            return drop_connection(environ)
        if failure.body is not None:
            status = failure.status if failure.status != 200 or done is None else done.status_code
            return Response(failure.body, status, content_type="text/html")
        titles = {
            400: "Invalid Request",
            401: "Unauthorized",
            403: "Forbidden",
            404: "Not Found",
            429: "Too Many Requests",
            500: "Internal Server Error",
            502: "Bad Gateway",
            503: "Service Unavailable",
            504: "Gateway Timeout",
        }
        title = titles.get(failure.status, "Error")
        response = _problem(failure.status, title, failure.detail or title)
        if failure.status == 429:
            response.headers["x-rate-limit-remaining"] = "0"
            response.headers["x-rate-limit-reset"] = str(int(time.time() + failure.reset_in))
        return response

    def _rate_headers(self, response: Response) -> None:
        response.headers.setdefault("x-rate-limit-limit", "100")
        response.headers.setdefault("x-rate-limit-remaining", "99")
        response.headers.setdefault("x-rate-limit-reset", str(int(time.time() + 900)))

    # -- routes ------------------------------------------------------------------------------
    def _route(self, request: Request, record: Recorded, user: User, app: App) -> Response:
        method, path = request.method, request.path
        if method != "GET" and not app.write:
            return _problem(
                403,
                "Forbidden",
                "Your client app is not configured with the appropriate oauth1 app permissions "
                "for this endpoint.",
                "https://api.twitter.com/2/problems/oauth1-permissions",
            )
        if path == "/2/users/me" and method == "GET":
            return _json({"data": {"id": user.id, "name": user.name, "username": user.username}})
        if path == "/2/media/upload" and method == "POST":
            return self._upload(record, user)
        if path == "/2/media/metadata" and method == "POST":
            return self._metadata(record, user)
        if path == "/2/tweets" and method == "POST":
            return self._post(record, user)
        if path == "/2/tweets" and method == "GET":
            return self._lookup(request)
        m = re.fullmatch(r"/2/tweets/([0-9]+)", path)
        if m and method == "DELETE":
            return self._delete(m.group(1), user)
        m = re.fullmatch(r"/2/users/([0-9]+)/tweets", path)
        if m and method == "GET":
            return self._timeline(m.group(1), request)
        return _problem(404, "Not Found Error", "Sorry, that page does not exist")

    def _upload(self, record: Recorded, user: User) -> Response:
        upload = record.files.get("media")
        if upload is None:
            return _invalid("media", "The `media` field is required")
        category = (record.form.get("media_category") or ["tweet_image"])[-1]
        if category not in ("tweet_image", "tweet_gif", "tweet_video"):
            return _invalid("media_category", f"Unknown media_category {category!r}")
        if upload["size"] > IMAGE_BYTES:
            return _invalid("media", "File size exceeds 5242880 bytes")
        try:
            with Image.open(io.BytesIO(upload["data"])) as img:
                kind, (w, h) = Image.MIME.get(img.format or "", ""), img.size
        except OSError:
            return _invalid("media", "media type unrecognized.")
        declared = (record.form.get("media_type") or [kind])[-1]
        if declared != kind or kind not in ("image/jpeg", "image/png", "image/gif", "image/webp"):
            return _invalid("media_type", f"media_type {declared!r} does not match the file")
        media_id = str(next(self._ids))
        self._state.media[media_id] = {
            "id": media_id,
            "media_key": f"3_{media_id}",
            "owner": user.id,
            "type": kind,
            "width": w,
            "height": h,
            "sha256": upload["sha256"],
            "alt_text": None,
            "sensitive_media_warning": None,
            "tweet": None,
            "expires_at": time.time() + 86400,
        }
        return _json(
            {
                "data": {
                    "id": media_id,
                    "media_key": f"3_{media_id}",
                    "size": upload["size"],
                    "expires_after_secs": 86400,
                    "image": {"image_type": kind, "w": w, "h": h},
                }
            }
        )

    def _metadata(self, record: Recorded, user: User) -> Response:
        body = record.json if isinstance(record.json, dict) else None
        if body is None or "id" not in body or not isinstance(body.get("metadata"), dict):
            return _invalid("id", "The `id` and `metadata` fields are required")
        media = self._state.media.get(str(body["id"]))
        if media is None or media["owner"] != user.id:
            return _problem(404, "Not Found Error", f"Could not find media {body['id']}")
        metadata = body["metadata"]
        alt = metadata.get("alt_text")
        if alt is not None:
            if not isinstance(alt, dict) or not isinstance(alt.get("text"), str):
                return _invalid("alt_text", "alt_text must be an object with a text")
            if len(alt["text"]) > ALT_TEXT_LIMIT:
                return _invalid("alt_text", f"alt_text.text longer than {ALT_TEXT_LIMIT}")
            media["alt_text"] = alt["text"]
        warning = metadata.get("sensitive_media_warning")
        if warning is not None:
            names = {"adult_content", "graphic_violence", "other"}
            if not isinstance(warning, dict) or not set(warning) <= names:
                return _invalid("sensitive_media_warning", "unknown sensitive_media_warning")
            if not all(isinstance(v, bool) for v in warning.values()):
                return _invalid("sensitive_media_warning", "values must be booleans")
            media["sensitive_media_warning"] = dict(warning)
        return _json({"data": {"id": media["id"], "associated_metadata": metadata}})

    def _post(self, record: Recorded, user: User) -> Response:
        body = record.json
        if not isinstance(body, dict):
            return _invalid("body", "Request body must be a JSON object")
        unknown = set(body) - {"text", "media", "reply", "quote_tweet_id", "reply_settings"}
        if unknown:
            return _invalid(sorted(unknown)[0], f"Unknown field {sorted(unknown)[0]}")
        text = body.get("text")
        media_ids = [str(m) for m in (body.get("media") or {}).get("media_ids") or []]
        if not isinstance(text, str) or (not text and not media_ids):
            return _invalid("text", "text or media is required")
        if text and not parse_tweet(text).valid:
            return _problem(
                403, "Forbidden", "You are not permitted to perform this action.", "about:blank"
            )
        if len(media_ids) > 4:
            return _invalid("media.media_ids", "at most 4 media")
        for m in media_ids:
            media = self._state.media.get(m)
            if media is None or media["owner"] != user.id or time.time() > media["expires_at"]:
                return _invalid("media.media_ids", f"Your media IDs are invalid: {m}")
            if media["tweet"] is not None:
                return _invalid("media.media_ids", f"Media {m} was already used")
        reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        if reply_to is not None and str(reply_to) not in self._state.tweets:
            return _invalid(
                "reply.in_reply_to_tweet_id",
                "Your Tweet was not created because the Tweet you are replying to was deleted "
                "or is not visible to you.",
            )
        for other in self._state.tweets.values():
            if other["author"] == user.id and other["text"] == text:
                return _problem(403, "Forbidden", DUPLICATE, "about:blank")
        tweet = self._create(user, text, str(reply_to) if reply_to else None, media_ids)
        return _json(
            {
                "data": {
                    "id": tweet["id"],
                    "text": _shown(tweet)[0],
                    "edit_history_tweet_ids": [tweet["id"]],
                }
            },
            201,
        )

    def _create(
        self, user: User, text: str, reply_to: str | None, media_ids: list[str]
    ) -> dict[str, Any]:
        tweet_id = str(next(self._ids))
        for m in media_ids:
            self._state.media[m]["tweet"] = tweet_id
        parent = self._state.tweets.get(reply_to) if reply_to else None
        tweet = {
            "id": tweet_id,
            "author": user.id,
            "text": text,
            "reply_to": reply_to,
            "conversation_id": parent["conversation_id"] if parent else tweet_id,
            "media": list(media_ids),
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        }
        self._state.tweets[tweet_id] = tweet
        return tweet

    def _delete(self, tweet_id: str, user: User) -> Response:
        tweet = self._state.tweets.get(tweet_id)
        if tweet is None:
            return _problem(404, "Not Found Error", f"Could not find tweet with id: [{tweet_id}].")
        if tweet["author"] != user.id:
            return _problem(403, "Forbidden", "You are not allowed to delete this Tweet.")
        if tweet_id in self._state.undeletable:
            return _problem(503, "Service Unavailable", "Service Unavailable")
        self._state.deleted[tweet_id] = self._state.tweets.pop(tweet_id)
        return _json({"data": {"deleted": True}})

    def _lookup(self, request: Request) -> Response:
        """Posts lookup (docs.x.com posts/post-lookup-by-post-ids): ``ids`` (1-100, comma-
        separated); posts that do not exist are listed under ``errors``, not ``data``."""
        ids = [i for i in (request.args.get("ids") or "").split(",") if i]
        if not 1 <= len(ids) <= 100 or not all(i.isdigit() for i in ids):
            return _invalid("ids", "ids must be 1 to 100 comma-separated post ids")
        fields = set((request.args.get("tweet.fields") or "").split(","))
        data, errors = [], []
        for tweet_id in ids:
            tweet = self._state.tweets.get(tweet_id)
            if tweet is None:
                errors.append(
                    {
                        "value": tweet_id,
                        "detail": f"Could not find tweet with ids: [{tweet_id}].",
                        "title": "Not Found Error",
                        "resource_type": "tweet",
                        "parameter": "ids",
                        "resource_id": tweet_id,
                        "type": "https://api.twitter.com/2/problems/resource-not-found",
                    }
                )
                continue
            text, entities = _shown(tweet)
            item: dict[str, Any] = {
                "id": tweet_id,
                "text": text,
                "edit_history_tweet_ids": [tweet_id],
            }
            if "entities" in fields and entities:
                item["entities"] = {"urls": entities}
            if "referenced_tweets" in fields and tweet["reply_to"]:
                item["referenced_tweets"] = [{"type": "replied_to", "id": tweet["reply_to"]}]
            data.append(item)
        out: dict[str, Any] = {}
        if data:
            out["data"] = data
        if errors:
            out["errors"] = errors
        return _json(out)

    def _timeline(self, user_id: str, request: Request) -> Response:
        if not any(u.id == user_id for u in self.users.values()):
            return _problem(404, "Not Found Error", f"Could not find user with id: [{user_id}].")
        args = request.args
        try:
            size = int(args.get("max_results", 10))
        except ValueError:
            size = 0
        if not 5 <= size <= 100:
            return _invalid("max_results", "max_results must be between 5 and 100")
        excluded = set((args.get("exclude") or "").split(","))
        mine = [t for t in reversed(self._state.tweets.values()) if t["author"] == user_id]
        if "replies" in excluded:
            mine = [t for t in mine if not t["reply_to"]]
        start = int(args.get("pagination_token") or 0)
        page = mine[start : start + size]
        fields = set((args.get("tweet.fields") or "").split(","))
        expansions = set((args.get("expansions") or "").split(","))
        media_fields = set((args.get("media.fields") or "").split(","))
        data, media = [], []
        for t in page:
            text, entities = _shown(t)
            item: dict[str, Any] = {
                "id": t["id"],
                "text": text,
                "edit_history_tweet_ids": [t["id"]],
            }
            if "entities" in fields and entities:
                item["entities"] = {"urls": entities}
            if "created_at" in fields:
                item["created_at"] = t["created_at"]
            if "conversation_id" in fields:
                item["conversation_id"] = t["conversation_id"]
            if "referenced_tweets" in fields and t["reply_to"]:
                item["referenced_tweets"] = [{"type": "replied_to", "id": t["reply_to"]}]
            if "possibly_sensitive" in fields:
                item["possibly_sensitive"] = any(
                    any((self._state.media[m]["sensitive_media_warning"] or {}).values())
                    for m in t["media"]
                )
            if ("attachments" in fields or "attachments.media_keys" in expansions) and t["media"]:
                item["attachments"] = {"media_keys": [f"3_{m}" for m in t["media"]]}
            if "attachments.media_keys" in expansions:
                for m in t["media"]:
                    entry = self._state.media[m]
                    obj: dict[str, Any] = {"media_key": entry["media_key"], "type": "photo"}
                    if "url" in media_fields:
                        ext = entry["type"].split("/")[-1].replace("jpeg", "jpg")
                        obj["url"] = f"https://pbs.twimg.com/media/F{m}.{ext}"
                    if "alt_text" in media_fields and entry["alt_text"]:
                        obj["alt_text"] = entry["alt_text"]
                    if "width" in media_fields:
                        obj["width"] = entry["width"]
                    if "height" in media_fields:
                        obj["height"] = entry["height"]
                    media.append(obj)
            data.append(item)
        meta: dict[str, Any] = {"result_count": len(data)}
        if data:
            meta["newest_id"], meta["oldest_id"] = data[0]["id"], data[-1]["id"]
        if start + size < len(mine):
            meta["next_token"] = str(start + size)
        out: dict[str, Any] = {"meta": meta}
        if data:
            out["data"] = data
        if media:
            out["includes"] = {"media": media}
        return _json(out)


# -- helpers ----------------------------------------------------------------------------------
def _shown(tweet: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The text as X shows it: links become t.co links, ``&<>`` are escaped, and a post with
    media ends with the media's own t.co link."""
    source, out, entities, pos = tweet["text"], [], [], 0
    for m in URL_RE.finditer(source):
        out.append(html.escape(source[pos : m.start()], quote=False))
        short = "https://t.co/" + hashlib.sha256(m.group(0).encode()).hexdigest()[:10]
        start = len("".join(out))
        out.append(short)
        entities.append(
            {
                "start": start,
                "end": start + len(short),
                "url": short,
                "expanded_url": m.group(0),
                "display_url": m.group(0).split("://", 1)[1][:25],
            }
        )
        pos = m.end()
    out.append(html.escape(source[pos:], quote=False))
    text = "".join(out)
    if tweet["media"]:  # the media's own link closes the text, with its media_key
        short = "https://t.co/" + hashlib.sha256(tweet["id"].encode()).hexdigest()[:10]
        start = len(text) + 1
        text += " " + short
        entities.append(
            {
                "start": start,
                "end": start + len(short),
                "url": short,
                "expanded_url": f"https://x.com/i/status/{tweet['id']}/photo/1",
                "display_url": "pic.x.com/" + short[-10:],
                "media_key": f"3_{tweet['media'][0]}",
            }
        )
    return text, entities


def _json(value: Any, status: int = 200) -> Response:
    return Response(json.dumps(value), status, content_type="application/json; charset=utf-8")


def _problem(status: int, title: str, detail: str, kind: str = "about:blank") -> Response:
    return _json({"title": title, "detail": detail, "type": kind, "status": status}, status)


def _invalid(parameter: str, message: str) -> Response:
    return _json(
        {
            "errors": [{"parameters": {parameter: []}, "message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        },
        400,
    )
