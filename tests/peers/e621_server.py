"""A loopback e621 API for contract tests: real HTTP, the shapes of e621ng.

No e621 can run here, so this answers the endpoints Creditline uses with e621ng's request
checks and answers (app/controllers/uploads_controller.rb, posts_controller.rb,
application_controller.rb, app/logical/session_loader.rb, app/views/static/error.json.erb):

- HTTP Basic ``login:api_key``; a wrong key answers 401 ``{"success": false, "message": ...}``.
- A descriptive User-Agent is required; a library default is refused (403), as e621 does.
- ``POST /uploads.json`` (multipart ``upload[...]``) answers ``{"success": true, "location",
  "post_id"}``, or 412 ``{"reason": "duplicate", "post_id", "location"}`` for a file (MD5) it
  already has, or 412 ``{"reason": "invalid", "message"}``.
- ``PATCH /posts/<id>.json`` (``post[description]`` ...) answers ``{"post": {...}}``.
- ``GET /posts.json?tags=user:<name>&limit=&page=b<id>`` answers ``{"posts": [...]}``.
- ``GET /users/<name>.json`` answers the user.

It is a ``tests.peers.loopback.LoopbackSite`` (a werkzeug server in a thread that records every
request and injects failures)::

    server = E621Server(keys={"artist": "key"})
    base = server.start()
    server.fail_next(1, 503)                                # refused before any work
    server.fail_next(1, 0, path="/uploads.json", after=True)  # done, then the answer is lost
    server.delay_next(1, 0.6, path="/uploads.json")         # done, answered late
    server.requests, server.posts
    server.stop()
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.peers.loopback import Failure, LoopbackSite, Recorded, json_response

USER_AGENT = re.compile(r"Creditline/\S+ \(by (?P<login>\S+) on e621\)")
RATINGS = frozenset({"s", "q", "e"})


class E621Server(LoopbackSite):
    """e621's upload, post and user endpoints, state in memory."""

    def __init__(self, keys: dict[str, str] | None = None) -> None:
        super().__init__()
        self.keys = dict(keys or {"artist": "secret-key"})
        self.user_ids = {login: i for i, login in enumerate(self.keys, start=1)}
        self.posts: dict[int, dict[str, Any]] = {}
        self.artists: set[str] = set()  # tags e621 files under "artist"
        self._ids = itertools.count(4_000_001)
        self.files: dict[str, bytes] = {}  # md5 -> the file, served under /data/
        # Where file URLs point: e621's static host; tests that download the files set this
        # to the server's own address, which then serves ``/data/xx/yy/<md5>.<ext>``.
        self.media_base = "https://static1.e621.net"

    def add_post(
        self,
        login: str,
        description: str = "",
        data: bytes = b"other",
        *,
        tags: str = "",
        rating: str = "s",
        created_at: str | None = None,
    ) -> dict[str, Any]:
        """A post uploaded elsewhere (another client, another user); ``tags`` is its tag string
        (names in ``artists`` are filed as artist tags)."""
        with self._lock:
            form = {
                "upload[description]": [description],
                "upload[tag_string]": [tags],
                "upload[rating]": [rating],
            }
            post = self._create(login, form, data, "png")
            if created_at is not None:
                post["created_at"] = created_at
            return post

    def _error_response(self, failure: Failure) -> Response:
        messages = {
            401: "SessionLoader::AuthenticationFailure",
            403: "Access Denied",
            429: "Throttled: Too many requests",
            500: "An unexpected error occurred.",
            503: "The database is unavailable. Try again later.",
        }
        message = failure.error or messages.get(failure.status, "Error")
        return json_response({"success": False, "message": message, "code": None}, failure.status)

    def _login(self, record: Recorded) -> str | Response | None:
        """The authenticated login, None when anonymous, or the error answer."""
        auth = record.headers.get("Authorization", "")
        if not auth:
            return None
        if not auth.startswith("Basic "):
            return json_response({"success": False, "message": "Invalid authorization"}, 401)
        login, _, key = base64.b64decode(auth[6:]).decode().partition(":")
        known = {name.lower(): name for name in self.keys}
        login = known.get(login.lower(), login)  # user names are case-insensitive
        if self.keys.get(login) != key or not key:
            return json_response(
                {"success": False, "message": "SessionLoader::AuthenticationFailure", "code": None},
                401,
            )
        return login

    def _route(self, request: Request, record: Recorded) -> Response:
        m = re.fullmatch(r"/data/\w\w/\w\w/(\w{32})\.\w+", request.path)
        if m and request.method == "GET":  # the static file host: no API rules apply
            data = self.files.get(m.group(1))
            return Response(data or b"", 200 if data else 404, content_type="image/png")
        agent = USER_AGENT.fullmatch(record.headers.get("User-Agent", ""))
        if agent is None:
            return Response("<h1>403 Forbidden</h1><p>Set a descriptive User-Agent</p>", 403)
        login = self._login(record)
        if isinstance(login, Response):
            return login
        if login is not None and agent.group("login").lower() != login.lower():
            return Response("<h1>403 Forbidden</h1><p>User-Agent names another user</p>", 403)
        method, path = request.method, request.path
        if path == "/uploads.json" and method == "POST":
            if login is None:
                return json_response({"success": False, "reason": "Access Denied"}, 403)
            return self._upload(login, record)
        if m := re.fullmatch(r"/posts/(\d+)\.json", path):
            post = self.posts.get(int(m.group(1)))
            if post is None:
                return json_response({"success": False, "reason": "not found"}, 404)
            if method == "GET":
                return json_response({"post": post})
            if method == "PATCH":
                if login is None:
                    return json_response({"success": False, "reason": "Access Denied"}, 403)
                return self._update(post, record)
        if path == "/posts.json" and method == "GET":
            return self._index(request)
        if (m := re.fullmatch(r"/users/([^/]+)\.json", path)) and method == "GET":
            name = m.group(1)
            for known, uid in self.user_ids.items():
                if known.lower() == name.lower() or str(uid) == name:
                    return json_response({"id": uid, "name": known, "level": 20})
            return json_response({"success": False, "reason": "not found"}, 404)
        return json_response({"success": False, "reason": "not found"}, 404)

    def _upload(self, login: str, record: Recorded) -> Response:
        upload = record.files.get("upload[file]")
        form = record.form
        rating = (form.get("upload[rating]") or [""])[0]
        problems = []
        if upload is None:
            problems.append("File can't be blank")
        if rating not in RATINGS:
            problems.append("Rating is invalid")
        if len((form.get("upload[description]") or [""])[0]) > 50_000:
            problems.append("Description is too long (maximum is 50000 characters)")
        if problems:
            return json_response(
                {"success": False, "reason": "invalid", "message": "; ".join(problems)}, 412
            )
        assert upload is not None
        for post in self.posts.values():
            if post["file"]["md5"] == upload["md5"]:
                return json_response(
                    {
                        "success": False,
                        "reason": "duplicate",
                        "location": f"/posts/{post['id']}",
                        "post_id": post["id"],
                    },
                    412,
                )
        ext = (upload["content_type"] or "image/png").split("/")[-1].replace("jpeg", "jpg")
        post = self._create(login, form, upload["data"], ext)
        return json_response(
            {"success": True, "location": f"/posts/{post['id']}", "post_id": post["id"]}
        )

    def _create(
        self, login: str, form: dict[str, list[str]], data: bytes, ext: str
    ) -> dict[str, Any]:
        post_id = next(self._ids)
        md5 = hashlib.md5(data).hexdigest()
        self.files[md5] = data
        tags = (form.get("upload[tag_string]") or [""])[0].split()
        sources = [s for s in (form.get("upload[source]") or [""])[0].split("\n") if s]
        post = {
            "id": post_id,
            "created_at": "2026-01-01T00:00:00.000-05:00",
            "file": {
                "ext": ext,
                "size": len(data),
                "md5": md5,
                "url": f"{self.media_base}/data/{md5[:2]}/{md5[2:4]}/{md5}.{ext}",
            },
            "tags": {
                "general": [t for t in tags if t not in self.artists],
                "artist": [t for t in tags if t in self.artists],
            },
            "rating": (form.get("upload[rating]") or ["s"])[0],
            "sources": sources,
            "description": (form.get("upload[description]") or [""])[0],
            "uploader_id": self.user_ids.get(login),
            "_uploader": login,
        }
        self.posts[post_id] = post
        return post

    def _update(self, post: dict[str, Any], record: Recorded) -> Response:
        form = record.form
        if "post[description]" in form:
            old = form.get("post[old_description]")
            if old is not None and old[0] != post["description"]:
                return json_response({"success": False, "reason": "edit conflict"}, 409)
            post["description"] = form["post[description]"][0]
        if "post[rating]" in form:
            post["rating"] = form["post[rating]"][0]
        return json_response({"post": post})

    def _index(self, request: Request) -> Response:
        query = request.args.get("tags", "")
        limit = min(int(request.args.get("limit", "75")), 320)
        page = request.args.get("page", "")
        posts = sorted(self.posts.values(), key=lambda p: -p["id"])
        for term in query.split():
            if m := re.fullmatch(r"user:(\S+)", term):
                posts = [p for p in posts if p["_uploader"].lower() == m.group(1).lower()]
            else:  # a tag: posts carrying it in any category
                posts = [p for p in posts if any(term in t for t in p["tags"].values())]
        if page.startswith("b"):
            posts = [p for p in posts if p["id"] < int(page[1:])]
        shown = [{k: v for k, v in p.items() if not k.startswith("_")} for p in posts[:limit]]
        return json_response({"posts": shown})
