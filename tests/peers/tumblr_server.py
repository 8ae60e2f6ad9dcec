"""A loopback Tumblr API v2 server for contract tests: real HTTP, documented shapes.

Answers what Creditline uses with the request and response shapes of tumblr/docs (api.md:
"Response Format" meta/response/errors envelope, "/info", "/posts" create with a multipart
``json`` part and media parts named by ``identifier``, "/posts/{id}" fetch and PUT, "/post/delete",
"/user/info", "OAuth2 Authorization" refresh_token grant, "Rate Limits" and the
X-Ratelimit-Per{hour,day}-* headers; npf-spec.md: text blocks up to 4,096 code points,
formatting ranges inside the text, mention ``blog.uuid``, image blocks with ``alt_text``).
Bearer tokens expire on demand; refreshing rotates both tokens, as Tumblr's OAuth2 does.

    server = TumblrServer()
    base_url = server.start()
    server.expire("tok")                                  # the next calls get 401
    server.fail_next(1, status=503, path="/v2/blog/artist/posts")
    server.posts, server.requests
"""

from __future__ import annotations

import io
import itertools
import json
import re
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image
from werkzeug.wrappers import Request, Response

from tests.peers.loopback import (
    LoopbackServer,
    RecordingMixin,
    drop_connection,
    request_fields,
)

BLOCK_LIMIT = 4096
MSG = {
    200: "OK",
    201: "Created",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Limit Exceeded",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    form: dict[str, list[str]]
    json: Any
    files: dict[str, dict[str, Any]]
    parts: list[str]  # multipart part names, in order

    @property
    def bearer(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        return auth[7:] if auth.startswith("Bearer ") else None


@dataclass
class Failure:
    status: int
    path: str | None = None
    method: str | None = None
    after: bool = False
    delay: float = 0.0
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def matches(self, method: str, path: str) -> bool:
        return (self.path is None or path.startswith(self.path)) and (
            self.method is None or self.method == method
        )


@dataclass
class Blog:
    name: str
    uuid: str
    title: str
    owner: str | None = None  # the user who may post to it


@dataclass
class _State:
    posts: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)


class TumblrServer(RecordingMixin, LoopbackServer):
    def __init__(self) -> None:
        self.client = ("client-id", "client-secret")
        self.blogs = {
            "artist": Blog("artist", "t:ArtistUUID0000000000", "The Artist", owner="artist"),
            "hyena-dude": Blog("hyena-dude", "t:HyenaUUID00000000000", "Hy"),
            "tanraak": Blog("tanraak", "t:TanraakUUID000000000", "Tanraak"),
        }
        self.tokens: dict[str, str] = {"tok": "artist"}  # access token -> user
        self.refresh_tokens: dict[str, str] = {"refresh-1": "artist"}
        self.expired: set[str] = set()
        self._ids = itertools.count(760_000_000_000)
        self._lock = threading.RLock()
        self._state = _State()
        self.files: dict[str, bytes] = {}  # path -> image, served when media_base is ours
        # Where image URLs point: Tumblr's media host; tests that download the images set
        # this to the server's own address, which then serves them.
        self.media_base = "https://64.media.tumblr.com"
        # Hostile or broken listings, for the import's paging limits: ``reblog_flood`` full
        # pages of reblogs (new ids on every page, ``total_posts`` a billion) before an empty
        # page; ``ignore_offset`` answers the first page whatever ``offset`` asks for (that
        # many times, then an empty page), and claims a billion posts.
        self.reblog_flood = 0
        self.ignore_offset = 0
        super().__init__()

    # -- inspection and set-up ---------------------------------------------------------------
    def credentials(self, **changes: str) -> dict[str, str]:
        """The stored credentials of the seeded ``artist`` blog's account on this server."""
        return {
            "blog": "artist",
            "access_token": "tok",
            "refresh_token": "refresh-1",
            "client_id": self.client[0],
            "client_secret": self.client[1],
            "api_base": self.base_url,
            **changes,
        }

    @property
    def posts(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(json.dumps(p)) for p in self._state.posts.values()]

    @property
    def deleted(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._state.deleted.values())

    def calls(self) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.requests]

    def expire(self, token: str) -> None:
        with self._lock:
            self.expired.add(token)

    def fail_next(
        self,
        n: int = 1,
        status: int = 500,
        *,
        path: str | None = None,
        method: str | None = None,
        after: bool = False,
        delay: float = 0.0,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        with self._lock:
            self._state.failures.extend(
                Failure(status, path, method, after, delay, body, dict(headers or {}), errors or [])
                for _ in range(n)
            )

    def add_post(self, blog: str, texts: list[str], state: str = "published") -> dict[str, Any]:
        with self._lock:
            content = [{"type": "text", "text": t} for t in texts]
            return self._create(self.blogs[blog], content, state, [])

    def add_image_post(
        self,
        blog: str,
        texts: list[str],
        data: bytes,
        *,
        alt: str = "",
        tags: tuple[str, ...] = (),
        timestamp: int | None = None,
        reblog: bool = False,
    ) -> dict[str, Any]:
        """A published photo post made on the site: an image block (with alt text) and text
        blocks, where ``@blog`` of a known blog becomes an NPF mention range over the name (as
        Tumblr shows it: without the "@"); ``reblog`` gives it a trail, as a reblog has."""
        with self._lock:
            path = f"/{len(self.files) + 1:08x}/s1280x1920/{len(data):x}.png"
            self.files[path] = data
            media = [{"url": self.media_base + path, "type": "image/png", "width": 1280}]
            content = [
                {"type": "image", "media": media, "alt_text": alt},
                *({"type": "text", "text": t} for t in texts),
            ]
            for block in content[1:]:  # a name after "@" is an NPF mention: its range
                text = block["text"]
                marks = [
                    m for m in re.finditer(r"@([a-z0-9\-]{1,32})", text) if m.group(1) in self.blogs
                ]
                if marks:
                    for m in reversed(marks):  # the mention shows the name without "@"
                        text = text[: m.start()] + text[m.start() + 1 :]
                    block["text"] = text
                    block["formatting"] = [
                        {
                            "type": "mention",
                            "start": m.start() - i,
                            "end": m.end() - i - 1,
                            "blog": {"uuid": self.blogs[m.group(1)].uuid, "name": m.group(1)},
                        }
                        for i, m in enumerate(marks)
                    ]
            post = self._create(self.blogs[blog], content, "published", list(tags))
            if timestamp is not None:
                post["timestamp"] = timestamp
            if reblog:
                post["_trail"] = [{"blog": {"name": "someone-else"}}]
            return post

    # -- WSGI --------------------------------------------------------------------------------
    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        try:
            return self._answer(request, environ)(environ, start_response)
        finally:
            request.close()

    def _answer(self, request: Request, environ: dict[str, Any]) -> Response:
        record = self._record(request)
        failure = self._pick_failure(request.method, request.path)
        if failure is not None and failure.delay and not failure.after:
            self._stopping.wait(failure.delay)
        if failure is not None and not failure.after and failure.status != 200:
            response = self._failure(failure, environ)
        else:
            with self._lock:
                response = self._route(request, record)
            if failure is not None and (failure.status != 200 or failure.body is not None):
                response = self._failure(failure, environ)
        if failure is not None and failure.after and failure.delay:
            self._stopping.wait(failure.delay)
        for name, value in (
            ("X-Ratelimit-Perday-Limit", "5000"),
            ("X-Ratelimit-Perday-Remaining", "4999"),
            ("X-Ratelimit-Perday-Reset", "50000"),
            ("X-Ratelimit-Perhour-Limit", "1000"),
            ("X-Ratelimit-Perhour-Remaining", "999"),
            ("X-Ratelimit-Perhour-Reset", "3000"),
        ):
            response.headers.setdefault(name, value)
        return response

    def _record(self, request: Request) -> Recorded:
        parts: list[str] = []
        if request.mimetype == "multipart/form-data":  # read first: the form is parsed from it
            raw = request.get_data()
            parts = [p.decode() for p in re.findall(rb'form-data; name="([^"]+)"', raw)]
        return self._append(Recorded(**request_fields(request), parts=parts))

    def _pick_failure(self, method: str, path: str) -> Failure | None:
        return self._take_failure(lambda f: f.matches(method, path))

    def _failure(self, failure: Failure, environ: dict[str, Any]) -> Response:
        if failure.status == 0:
            return drop_connection(environ)
        if failure.body is not None:
            return Response(failure.body, failure.status, content_type="text/html")
        response = _envelope(failure.status, [], failure.errors)
        response.headers.update(failure.headers)
        return response

    # -- routes ------------------------------------------------------------------------------
    def _route(self, request: Request, record: Recorded) -> Response:
        method, path = request.method, request.path
        if method == "GET" and path in self.files:  # the media host
            return Response(self.files[path], 200, content_type="image/png")
        if not request.headers.get("User-Agent"):
            return _envelope(400, [], [{"title": "Bad Request", "code": 0, "detail": "no UA"}])
        if path == "/v2/oauth2/token" and method == "POST":
            return self._token(record)
        token = record.bearer
        if token is None or token not in self.tokens or token in self.expired:
            return _envelope(401, [], [{"title": "Unauthorized", "code": 1016}])
        user = self.tokens[token]
        if path == "/v2/user/info" and method == "GET":
            return self._user_info(user)
        m = re.fullmatch(r"/v2/blog/([^/]+)(/.*)", path)
        if not m:
            return _not_found()
        blog = self._blog(m.group(1))
        if blog is None:
            return _not_found()
        rest = m.group(2)
        if rest == "/info" and method == "GET":
            return _envelope(200, {"blog": self._blog_json(blog)})
        if rest in ("/posts", "/posts/queue") and method == "GET":
            return self._list(blog, request, "queued" if rest.endswith("queue") else "published")
        if blog.owner != user and method != "GET":
            return _envelope(403, [], [{"title": "Forbidden", "code": 0}])
        if rest == "/posts" and method == "POST":
            return self._post(blog, record)
        m = re.fullmatch(r"/posts/([0-9]+)", rest)
        if m and method == "GET":
            post = self._own_post(blog, m.group(1))
            return _envelope(200, self._post_json(post)) if post else _not_found()
        if m and method == "PUT":
            return self._edit(blog, m.group(1), record)
        if rest == "/post/delete" and method == "POST":
            post_id = (record.form.get("id") or [""])[-1]
            post = self._own_post(blog, post_id)
            if post is None:
                return _not_found()
            self._state.deleted[post_id] = self._state.posts.pop(post_id)
            return _envelope(200, {"id": post_id})
        return _not_found()

    def _blog(self, identifier: str) -> Blog | None:
        identifier = identifier.lower().removesuffix(".tumblr.com")
        for blog in self.blogs.values():
            if identifier in (blog.name, blog.uuid.lower()):
                return blog
        return None

    def _blog_json(self, blog: Blog) -> dict[str, Any]:
        return {
            "name": blog.name,
            "title": blog.title,
            "uuid": blog.uuid,
            "url": f"https://{blog.name}.tumblr.com/",
            "posts": sum(1 for p in self._state.posts.values() if p["blog"] == blog.name),
            "updated": int(time.time()),
            "description": "",
            "ask": False,
        }

    def _token(self, record: Recorded) -> Response:
        form = {k: v[-1] for k, v in record.form.items()}
        if (form.get("client_id"), form.get("client_secret")) != self.client:
            return _json({"error": "invalid_client"}, 401)
        if form.get("grant_type") != "refresh_token":
            return _json({"error": "unsupported_grant_type"}, 400)
        user = self.refresh_tokens.pop(form.get("refresh_token", ""), None)
        if user is None:
            return _json({"error": "invalid_grant"}, 401)
        access, refresh = "tok-" + secrets.token_hex(4), "refresh-" + secrets.token_hex(4)
        self.tokens[access] = user
        self.refresh_tokens[refresh] = user
        return _json(
            {
                "access_token": access,
                "expires_in": 2520,
                "id_token": False,
                "refresh_token": refresh,
                "scope": "basic write offline_access",
                "token_type": "bearer",
            }
        )

    def _user_info(self, user: str) -> Response:
        blogs = [
            {
                "name": b.name,
                "title": b.title,
                "url": f"https://{b.name}.tumblr.com/",
                "primary": True,
                "followers": 3,
                "tweet": "N",
                "type": "public",
            }
            for b in self.blogs.values()
            if b.owner == user
        ]
        return _envelope(
            200,
            {
                "user": {
                    "name": user,
                    "following": 1,
                    "likes": 0,
                    "blogs": blogs,
                    "default_post_format": "html",
                }
            },
        )

    def _post(self, blog: Blog, record: Recorded) -> Response:
        if record.parts:
            if record.parts[0] != "json":
                return _bad(8001, "the first part must be the JSON body")
            try:
                body = json.loads(record.form["json"][-1])
            except (KeyError, ValueError):
                return _bad(8001, "'json' part is not JSON")
        else:
            body = record.json
        if not isinstance(body, dict) or not isinstance(body.get("content"), list):
            return _bad(8001, "'content' must be an array")
        problem = self._check(body, record)
        if problem:
            return _bad(8001, problem)
        state = {"queue": "queued"}.get(body.get("state") or "published", body.get("state"))
        if state not in ("published", "queued", "draft", "private"):
            return _bad(8001, "invalid state")
        tags = [t.strip() for t in str(body.get("tags") or "").split(",") if t.strip()]
        post = self._create(blog, body["content"], state, tags, record)
        return _envelope(201, {"id": post["id"]})

    def _check(self, body: dict[str, Any], record: Recorded) -> str | None:
        for block in body["content"]:
            kind = block.get("type")
            if kind == "text":
                text = block.get("text")
                if not isinstance(text, str) or len(text) > BLOCK_LIMIT:
                    return "text block too long or missing"
                for fmt in block.get("formatting") or ():
                    if not 0 <= fmt.get("start", -1) < fmt.get("end", -1) <= len(text):
                        return "formatting range outside the text"
                    if fmt.get("type") == "mention":
                        uuid = (fmt.get("blog") or {}).get("uuid")
                        if not uuid or self._blog(uuid) is None:
                            return "mention needs a known blog.uuid"
                    if fmt.get("type") == "link" and not fmt.get("url"):
                        return "link needs a url"
            elif kind == "image":
                for media in block.get("media") or ():
                    ident = media.get("identifier")
                    if ident is not None:
                        upload = record.files.get(ident)
                        if upload is None:
                            return f"no media part named {ident!r}"
                        try:
                            with Image.open(io.BytesIO(upload["data"])) as img:
                                real = Image.MIME.get(img.format or "")
                        except OSError:
                            return "uploaded media is not an image"
                        if real != media.get("type"):
                            return "media type does not match the upload"
                    elif not media.get("url"):
                        return "image media needs an identifier or a url"
            else:
                return f"unsupported block type {kind!r}"
        return None

    def _create(
        self,
        blog: Blog,
        content: list[dict[str, Any]],
        state: str,
        tags: list[str],
        record: Recorded | None = None,
    ) -> dict[str, Any]:
        post_id = str(next(self._ids))
        stored = []
        for i, block in enumerate(content):
            block = json.loads(json.dumps(block))
            if block.get("type") == "image":
                for media in block.get("media") or ():
                    ident = media.pop("identifier", None)
                    if ident is not None and record is not None:
                        media["url"] = f"{self.media_base}/{post_id}/s{i}_{ident}.png"
                        media["_sha256"] = record.files[ident]["sha256"]
            stored.append(block)
        post = {
            "id": post_id,
            "blog": blog.name,
            "content": stored,
            "state": state,
            "tags": tags,
            "timestamp": int(time.time()),
        }
        self._state.posts[post_id] = post
        return post

    def _own_post(self, blog: Blog, post_id: str) -> dict[str, Any] | None:
        post = self._state.posts.get(post_id)
        return post if post and post["blog"] == blog.name else None

    def _post_json(self, post: dict[str, Any]) -> dict[str, Any]:
        blog = self.blogs[post["blog"]]
        return {
            "object_type": "post",
            "type": "blocks",
            "id": int(post["id"]),
            "id_string": post["id"],
            "blog_name": blog.name,
            "tumblelog_uuid": blog.uuid,
            "post_url": f"https://{blog.name}.tumblr.com/post/{post['id']}",
            "timestamp": post["timestamp"],
            "state": post["state"],
            "tags": post["tags"],
            "content": _public(post["content"]),
            "layout": [],
            "trail": post.get("_trail", []),
            "reblog_key": "k" + post["id"][-6:],
        }

    def _list(self, blog: Blog, request: Request, state: str) -> Response:
        try:
            limit = int(request.args.get("limit", 20))
            offset = int(request.args.get("offset", 0))
        except ValueError:
            return _bad(0, "bad limit or offset")
        limit = max(1, min(limit, 20))
        if self.reblog_flood:
            return self._flood(blog, offset, limit)
        mine = [
            p
            for p in reversed(self._state.posts.values())
            if p["blog"] == blog.name and p["state"] == state
        ]
        page = mine[offset : offset + limit]
        if self.ignore_offset:
            self.ignore_offset -= 1
            page = mine[0:limit] if self.ignore_offset else []
        return _envelope(
            200,
            {
                "blog": self._blog_json(blog),
                "posts": [self._post_json(p) for p in page],
                "total_posts": 10**9 if self.ignore_offset else len(mine),
            },
        )

    def _flood(self, blog: Blog, offset: int, limit: int) -> Response:
        pages = offset // limit
        posts = []
        if pages < self.reblog_flood:
            for n in range(offset, offset + limit):
                posts.append(
                    {
                        "object_type": "post",
                        "type": "blocks",
                        "id": 900_000_000_000 + n,
                        "id_string": str(900_000_000_000 + n),
                        "blog_name": blog.name,
                        "post_url": f"https://{blog.name}.tumblr.com/post/{900_000_000_000 + n}",
                        "timestamp": 1_800_000_000,
                        "state": "published",
                        "tags": [],
                        "content": [],
                        "layout": [],
                        "trail": [{"blog": {"name": "someone-else"}}],
                    }
                )
        return _envelope(200, {"blog": self._blog_json(blog), "posts": posts, "total_posts": 10**9})

    def _edit(self, blog: Blog, post_id: str, record: Recorded) -> Response:
        post = self._own_post(blog, post_id)
        if post is None:
            return _not_found()
        body = record.json
        if not isinstance(body, dict) or not isinstance(body.get("content"), list):
            return _bad(8001, "'content' must be an array")
        problem = self._check(body, record)
        if problem:
            return _bad(8001, problem)
        old = {m["url"]: m for b in post["content"] if b.get("type") == "image" for m in b["media"]}
        for block in body["content"]:
            for media in block.get("media") or ():
                if media.get("url") in old:
                    media["_sha256"] = old[media["url"]].get("_sha256")
        post["content"] = json.loads(json.dumps(body["content"]))
        post["state"] = {"queue": "queued"}.get(body.get("state"), body.get("state") or "published")
        post["tags"] = [t.strip() for t in str(body.get("tags") or "").split(",") if t.strip()]
        return _envelope(200, {"id": post_id})


def _public(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [_public(v) for v in value]
    return value


def _json(value: Any, status: int = 200) -> Response:
    return Response(json.dumps(value), status, content_type="application/json; charset=utf-8")


def _envelope(status: int, response: Any, errors: list[dict[str, Any]] | None = None) -> Response:
    body: dict[str, Any] = {"meta": {"status": status, "msg": MSG.get(status, "Error")}}
    body["response"] = response
    if errors:
        body["errors"] = errors
    return _json(body, status)


def _bad(code: int, detail: str) -> Response:
    return _envelope(400, [], [{"title": "Bad Request", "code": code, "detail": detail}])


def _not_found() -> Response:
    return _envelope(404, [], [{"title": "Not Found", "code": 0, "detail": "Not Found"}])
