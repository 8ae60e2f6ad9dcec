"""A loopback DeviantArt OAuth2 API for contract tests: real HTTP, the documented shapes.

No DeviantArt can run here, so this answers what Creditline uses, with the request checks and
answer shapes of the DeviantArt API (deviantart.com/developers: authentication, errors,
stash; IsaacSchemm/DeviantArtFs Api/Stash.fs, Api/Deviation.fs, Api/User.fs, Api/Gallery.fs):

- every API call needs ``Authorization: Bearer <access token>``, a User-Agent and HTTP
  compression; an expired or unknown token answers 401 ``{"error": "invalid_token",
  "error_description": "Expired oAuth2 user token ...", "status": "error"}``;
- ``POST /oauth2/token`` (grant_type=refresh_token, client_id, client_secret,
  refresh_token) answers a new access token *and* a new refresh token (the old one is spent);
- ``POST /api/v1/oauth2/stash/submit`` (multipart: title, artist_comments, ``tags[]``,
  is_dirty, the file; or ``itemid`` to update an item — once published, its deviation)
  answers ``{"status": "success", "itemid", "stack", "stackid"}``;
- ``POST /api/v1/oauth2/stash/publish`` (itemid, is_mature, mature_level,
  ``mature_classification[]``, agree_submission, agree_tos ...) answers ``{"status",
  "url", "deviationid"}``; the item leaves Sta.sh;
- ``GET /api/v1/oauth2/stash/item/{itemid}``, ``POST /api/v1/oauth2/deviation/edit/{id}``,
  ``GET /api/v1/oauth2/user/whoami``, ``GET /api/v1/oauth2/gallery/all``.
Validation errors answer 400 ``{"error": "invalid_request", "error_description": "Request
field validation failed.", "error_details": {...}, "status": "error"}``.
"""

from __future__ import annotations

import itertools
import re
import secrets
import time
import uuid
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.peers.loopback import Failure, LoopbackSite, Recorded, json_response

API = "/api/v1/oauth2"
EXPIRED = (
    "Expired oAuth2 user token. The client should request a new one with an access code or "
    "a refresh token."
)
TITLE_OK = re.compile(r"[A-Za-z0-9 _$!?:.,'+\-=~`@#%^*\[\]()/{}\\|]{1,50}")
TITLE_RULE = "Title may only contain letters, numbers, spaces and _$!?:.,'+-=~`@#%^*[]()/{}\\|"
CLASSIFICATIONS = frozenset({"nudity", "sexual", "gore", "language", "ideology"})


def da_error(status: int, error: str, description: str, details: Any = None) -> Response:
    body: dict[str, Any] = {"error": error, "error_description": description, "status": "error"}
    if details:
        body["error_details"] = details
    return json_response(body, status)


def invalid(details: dict[str, str]) -> Response:
    return da_error(400, "invalid_request", "Request field validation failed.", details)


class DeviantArtServer(LoopbackSite):
    def __init__(self, client: tuple[str, str] = ("1234", "app-secret")) -> None:
        super().__init__()
        self.client_id, self.client_secret = client
        self.access: dict[str, str] = {}  # access token -> username
        self.refresh: dict[str, str] = {}  # refresh token -> username
        self.items: dict[int, dict[str, Any]] = {}
        self.deviations: dict[str, dict[str, Any]] = {}
        self._itemids = itertools.count(7_000_001)
        self._numbers = itertools.count(1_000_000_001)
        self._clock = itertools.count(int(time.time()))
        # Where ``content.src`` points: DeviantArt's image CDN; tests that download the files
        # set this to the server's own address, which then serves ``/f/<deviationid>/<name>``.
        self.media_base = "https://images-wixmp-ed30a86b8c4ca887773594c2.wixmp.com"

    def add_deviation(
        self,
        user: str,
        title: str,
        data: bytes,
        *,
        description: str = "",
        tags: tuple[str, ...] = (),
        mature: bool = False,
        published: int | None = None,
    ) -> dict[str, Any]:
        """A deviation submitted on the site (``published``: Unix seconds)."""
        with self._lock:
            itemid = next(self._itemids)
            self.items[itemid] = {
                "itemid": itemid,
                "user": user,
                "title": title,
                "artist_comments": description,
                "tags": list(tags),
                "file": {"data": data, "size": len(data)},
                "deviationid": None,
            }
            classes = ["sexual"] if mature else []
            maturity = {"is_mature": mature, "mature_level": "strict" if mature else None}
            deviation = self._deviation(user, self.items[itemid], maturity, classes)
            if published is not None:
                deviation["published_time"] = str(published)
            return deviation

    def connect(self, username: str) -> dict[str, str]:
        """Tokens for ``username`` as the authorization-code flow would have given."""
        with self._lock:
            access, refresh = secrets.token_hex(8), secrets.token_hex(8)
            self.access[access], self.refresh[refresh] = username, username
            return {"access_token": access, "refresh_token": refresh}

    def expire_access_tokens(self) -> None:
        with self._lock:
            self.access.clear()

    def _error_response(self, failure: Failure) -> Response:
        if failure.status == 429:
            response = da_error(429, "user_api_threshold", "User API request threshold exceeded.")
            response.headers["Retry-After"] = str(int(failure.reset_in))
            return response
        return da_error(failure.status, "server_error", failure.error or "Internal Server Error")

    def _route(self, request: Request, record: Recorded) -> Response:
        m = re.fullmatch(r"/f/([0-9a-f\-]{36})/\w+\.png", request.path)
        if m and request.method == "GET":  # the image CDN
            d = self.deviations.get(m.group(1).upper())
            data = d.get("_data") if d else None
            return Response(data or b"", 200 if data else 404, content_type="image/png")
        if not record.headers.get("User-Agent") or "gzip" not in record.headers.get(
            "Accept-Encoding", ""
        ):
            return Response("User-Agent and HTTP compression are required", 403)
        method, path = request.method, request.path
        if path == "/oauth2/token" and method == "POST":
            return self._token(record)
        if not path.startswith(API):
            return Response("Not Found", 404)
        auth = record.headers.get("Authorization", "")
        user = self.access.get(auth[7:]) if auth.startswith("Bearer ") else None
        if user is None:
            return da_error(401, "invalid_token", EXPIRED)
        path = path[len(API) :]
        form = record.form
        if path == "/user/whoami" and method == "GET":
            return json_response(self._user(user))
        if path == "/stash/submit" and method == "POST":
            return self._submit(user, record)
        if path == "/stash/publish" and method == "POST":
            return self._publish(user, form)
        if (m := re.fullmatch(r"/stash/item/(\d+)", path)) and method == "GET":
            item = self.items.get(int(m.group(1)))
            if item is None or item["user"] != user or item["deviationid"]:
                return da_error(400, "invalid_request", "Invalid item.")
            return json_response({"itemid": item["itemid"], "title": item["title"]})
        if (m := re.fullmatch(r"/deviation/edit/([0-9A-Fa-f\-]+)", path)) and method == "POST":
            return self._edit(user, m.group(1), form)
        if path == "/gallery/all" and method == "GET":
            return self._gallery(request)
        if path == "/deviation/metadata" and method == "GET":
            return self._metadata(request)
        return da_error(404, "invalid_request", "Not found.")

    def _token(self, record: Recorded) -> Response:
        form = {k: v[0] for k, v in record.form.items()}
        if (
            form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            return da_error(401, "invalid_client", "Client authentication failed.")
        if form.get("grant_type") != "refresh_token":
            return da_error(400, "unsupported_grant_type", "Unsupported grant type.")
        user = self.refresh.pop(form.get("refresh_token", ""), None)
        if user is None:
            return da_error(400, "invalid_request", "The refresh_token is invalid.")
        tokens = self.connect(user)
        return json_response(
            {
                "expires_in": 3600,
                "status": "success",
                "access_token": tokens["access_token"],
                "token_type": "Bearer",
                "refresh_token": tokens["refresh_token"],
                "scope": "browse stash publish user",
            }
        )

    def _user(self, user: str) -> dict[str, Any]:
        return {
            "userid": str(uuid.uuid5(uuid.NAMESPACE_DNS, user)).upper(),
            "username": user,
            "usericon": "https://a.deviantart.net/avatars/default.gif",
            "type": "regular",
        }

    def _submit(self, user: str, record: Recorded) -> Response:
        form = {k: v[0] for k, v in record.form.items()}
        title = form.get("title")
        if title is not None and not TITLE_OK.fullmatch(title):
            return invalid({"title": TITLE_RULE})
        if "itemid" in form:
            item = self.items.get(int(form["itemid"]))
            if item is None or item["user"] != user:
                return da_error(400, "invalid_request", "Invalid item.")
        else:
            file = next(iter(record.files.values()), None)
            if file is None:
                return invalid({"submission": "A file is required."})
            itemid = next(self._itemids)
            item = self.items[itemid] = {
                "itemid": itemid,
                "user": user,
                "title": "",
                "artist_comments": "",
                "tags": [],
                "file": file,
                "deviationid": None,
            }
        if title is not None:
            item["title"] = title
        if "artist_comments" in form:
            item["artist_comments"] = form["artist_comments"]
        if "tags[]" in record.form:
            item["tags"] = record.form["tags[]"]
        deviation = self.deviations.get(item["deviationid"] or "")
        if deviation is not None:  # an update of an item that became a deviation
            deviation["_description"] = item["artist_comments"]
            deviation["title"] = item["title"]
            return json_response({"status": "success", "itemid": item["itemid"]})
        return json_response(
            {"status": "success", "itemid": item["itemid"], "stack": "Sta.sh Uploads", "stackid": 1}
        )

    def _maturity(self, record_form: dict[str, list[str]]) -> dict[str, Any] | Response:
        form = {k: v[0] for k, v in record_form.items()}
        mature = form.get("is_mature") in ("1", "true")
        if not mature:
            return {"is_mature": False, "mature_level": None, "mature_classification": []}
        level = form.get("mature_level")
        if level not in ("strict", "moderate"):
            return invalid({"mature_level": "mature_level must be strict or moderate"})
        classes = record_form.get("mature_classification[]", [])
        if not set(classes) <= CLASSIFICATIONS:
            return invalid({"mature_classification": "Invalid classification."})
        return {"is_mature": True, "mature_level": level, "mature_classification": classes}

    def _publish(self, user: str, form: dict[str, list[str]]) -> Response:
        flat = {k: v[0] for k, v in form.items()}
        item = self.items.get(int(flat.get("itemid") or 0))
        if item is None or item["user"] != user or item["deviationid"]:
            return da_error(400, "invalid_request", "Invalid item.")
        if flat.get("agree_submission") != "1" or flat.get("agree_tos") != "1":
            return invalid({"agree_tos": "You must agree to the terms of service."})
        maturity = self._maturity(form)
        if isinstance(maturity, Response):
            return maturity
        deviation = self._deviation(user, item, maturity, maturity["mature_classification"], flat)
        deviationid = deviation["deviationid"]
        return json_response(
            {"status": "success", "url": deviation["url"], "deviationid": deviationid}
        )

    def _deviation(
        self,
        user: str,
        item: dict[str, Any],
        maturity: dict[str, Any],
        classes: list[str],
        flat: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        flat = flat or {}
        number = next(self._numbers)
        slug = re.sub(r"[^A-Za-z0-9]+", "-", item["title"]).strip("-") or "Untitled"
        deviationid = str(uuid.uuid4()).upper()
        deviation = {
            "deviationid": deviationid,
            "printid": None,
            "url": f"https://www.deviantart.com/{user}/art/{slug}-{number}",
            "title": item["title"],
            "is_deleted": False,
            "author": self._user(user),
            "published_time": str(next(self._clock)),
            "allows_comments": True,
            "content": {
                "src": f"{self.media_base}/f/{deviationid.lower()}/d{number}.png",
                "height": 30,
                "width": 40,
                "transparency": False,
                "filesize": item["file"]["size"],
            },
            "is_mature": maturity["is_mature"],
            "is_downloadable": flat.get("allow_free_download") == "1",
            "_description": item["artist_comments"],
            "_tags": item["tags"],
            "_mature_level": maturity["mature_level"],
            "_mature_classification": classes,
            "_noai": flat.get("noai") == "1",
            "_is_ai_generated": flat.get("is_ai_generated") == "1",
            "_data": item["file"].get("data"),
        }
        self.deviations[deviationid] = deviation
        item["deviationid"] = deviationid
        return deviation

    def _metadata(self, request: Request) -> Response:
        """``/deviation/metadata``: title, description (HTML), tags, maturity per id."""
        found = []
        for deviationid in request.args.getlist("deviationids[]"):
            d = self.deviations.get(deviationid.upper())
            if d is None:
                return da_error(400, "invalid_request", "Invalid deviation.")
            found.append(
                {
                    "deviationid": d["deviationid"],
                    "printid": None,
                    "author": d["author"],
                    "is_watching": False,
                    "title": d["title"],
                    "description": d["_description"],
                    "license": "No License",
                    "allows_comments": True,
                    "tags": [
                        {"tag_name": t, "sponsored": False, "sponsor": ""} for t in d["_tags"]
                    ],
                    "is_favourited": False,
                    "is_mature": d["is_mature"],
                }
            )
        return json_response({"metadata": found})

    def _edit(self, user: str, deviationid: str, form: dict[str, list[str]]) -> Response:
        deviation = self.deviations.get(deviationid.upper())
        if deviation is None or deviation["author"]["username"] != user:
            return da_error(400, "invalid_request", "Invalid deviation.")
        title = (form.get("title") or [None])[0]
        if title is not None:
            if not TITLE_OK.fullmatch(title):
                return invalid({"title": "Invalid title."})
            deviation["title"] = title
        if "is_mature" in form:
            maturity = self._maturity(form)
            if isinstance(maturity, Response):
                return maturity
            deviation["is_mature"] = maturity["is_mature"]
            deviation["_mature_level"] = maturity["mature_level"]
            deviation["_mature_classification"] = maturity["mature_classification"]
        if "tags[]" in form:
            deviation["_tags"] = form["tags[]"]
        return json_response(
            {"status": "success", "url": deviation["url"], "deviationid": deviation["deviationid"]}
        )

    def _gallery(self, request: Request) -> Response:
        username = request.args.get("username", "").lower()
        offset = int(request.args.get("offset", "0"))
        limit = min(int(request.args.get("limit", "10")), 24)
        mature = request.args.get("mature_content") == "true"
        found = [
            d
            for d in reversed(self.deviations.values())
            if d["author"]["username"].lower() == username and (mature or not d["is_mature"])
        ]
        page = found[offset : offset + limit]
        has_more = offset + limit < len(found)
        return json_response(
            {
                "has_more": has_more,
                "next_offset": offset + limit if has_more else None,
                "results": [{k: v for k, v in d.items() if not k.startswith("_")} for d in page],
            }
        )
