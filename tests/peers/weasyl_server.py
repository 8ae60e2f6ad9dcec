"""A loopback Weasyl for contract tests: real HTTP, Weasyl's own request and answer shapes.

Weasyl cannot run here, so this answers what Creditline uses, following Weasyl/weasyl:
``X-Weasyl-API-Key`` authentication (an unknown key is 401 with ``WWW-Authenticate:
Weasyl-API-Key``; API-key requests skip the form token check), ``POST /submit/visual`` (the
checks of ``submission.create_visual``: rating code, title, at least two tags, folder, file type
and size, ``duplicateSubmission`` for the same file, ``vouchRequired``; 303 to
``/submission/<id>/<slug>``), ``GET /edit/submission`` + ``POST /edit/submission``,
``POST /submit/tags``, ``POST /remove/submission``, ``/api/whoami``,
``/api/users/<login>/gallery`` and ``/api/submissions/<id>/view`` (JSON shapes of
``controllers/api.py``), and media served under ``/static/media/`` named by SHA-256. Refusals are
the HTML error page (``pages/weasyl/error.html``) with status 422 and Weasyl's messages
(``weasyl/errorcode.py``).

    server = WeasylServer({"key-1": "Tanraak"})
    base_url = server.start()
    server.fail_next(1, 0, path="/submit/visual", after=True)  # posted, then the line drops
    server.submissions, server.requests
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import io
import itertools
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

from PIL import Image
from werkzeug.wrappers import Request, Response

from tests.peers.loopback import Failure, LoopbackSite, Recorded

PAGES = Path(__file__).parent / "pages" / "weasyl"
MAX_BYTES = 50 * 1024 * 1024
RATINGS = {"10": "general", "30": "mature", "40": "explicit"}
VISUAL_SUBTYPES = {
    "1010": "Sketch",
    "1020": "Traditional",
    "1030": "Digital",
    "1040": "Animation",
    "1050": "Photography",
    "1999": "Other",
}
MESSAGES = {
    "duplicateSubmission": "You have already made a submission with this submission file.",
    "notEnoughTags": (
        "You must maintain at least two tags on this content in order to sufficiently describe "
        "it for our search system."
    ),
    "ratingInvalid": "The specified rating is invalid.",
    "titleInvalid": "You did not enter a title.",
    "submitSizeZero": "You must provide a submission file.",
    "submitType": (
        "The submission file you uploaded is not a valid filetype for this submission category."
    ),
    "submitSizeExceedsLimit": (
        "The submission file you uploaded exceeds the allowed filesize for this submission "
        "category."
    ),
    "vouchRequired": (
        "Your account has to be verified to do that."
        " [How do I verify my account?](/help/verification)"
    ),
    "InsufficientPermissions": "You do not have permission to access this page.",
    "Unexpected": "An unexpected error occurred and your request could not be fully processed.",
}


@dataclass
class WeasylUser:
    userid: int
    name: str
    folders: dict[str, str] = field(default_factory=dict)
    vouched: bool = True

    @property
    def login(self) -> str:
        return re.sub(r"[^a-z0-9]", "", self.name.lower())


def slug_for(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


class WeasylServer(LoopbackSite):
    """Weasyl on 127.0.0.1. ``keys`` maps API keys to display names."""

    def __init__(self, keys: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.users: dict[str, WeasylUser] = {}
        self.keys: dict[str, str] = {}
        for key, name in (keys or {"api-key": "Tanraak"}).items():
            user = self.users.get(re.sub(r"[^a-z0-9]", "", name.lower()))
            if user is None:
                user = WeasylUser(len(self.users) + 1, name)
                self.users[user.login] = user
            self.keys[key] = user.login
        self.submissions: dict[int, dict[str, Any]] = {}
        self._ids = itertools.count(2_300_001)
        self.overrides: dict[str, str] = {}

    def user(self, name: str) -> WeasylUser:
        return self.users[re.sub(r"[^a-z0-9]", "", name.lower())]

    def add_submission(self, user: str, title: str, data: bytes, **fields: Any) -> dict[str, Any]:
        with self._lock:
            return self._create(self.user(user), title, data, fields)

    # -- pages and answers -----------------------------------------------------------------
    def _page(self, name: str) -> Template:
        text = self.overrides.get(name)
        return Template(text if text is not None else (PAGES / name).read_text(encoding="utf-8"))

    def _html(self, title: str, content: str, status: int = 200) -> Response:
        body = self._page("page.html").substitute(title=html.escape(title), content=content)
        return Response(body, status, content_type="text/html; charset=utf-8")

    def _error(self, code: str, status: int = 422) -> Response:
        content = self._page("error.html").substitute(message=html.escape(MESSAGES[code]))
        return self._html("System Message", content, status)

    def _json(self, value: Any, status: int = 200) -> Response:
        return Response(json.dumps(value), status, content_type="application/json")

    def _see_other(self, location: str) -> Response:
        return Response("", 303, {"Location": location}, content_type="text/html")

    def _media_url(self, sha: str, ext: str) -> str:
        return f"{self.base_url}/static/media/{sha[0:2]}/{sha[2:4]}/{sha[4:6]}/{sha}.{ext}"

    # -- routing ---------------------------------------------------------------------------
    def _error_response(self, failure: Failure) -> Response:
        body = f"<html><body><h1>{failure.status}</h1></body></html>"
        return Response(body, failure.status, failure.headers, content_type="text/html")

    def _route(self, request: Request, record: Recorded) -> Response:
        path, method = request.path, request.method
        if m := re.fullmatch(r"/static/media/\w\w/\w\w/\w\w/(\w{64})\.(\w+)", path):
            for sub in self.submissions.values():
                if sub["sha256"] == m.group(1):
                    return Response(sub["data"], 200, content_type=f"image/{m.group(2)}")
            return Response("", 404)
        key = record.headers.get("X-Weasyl-Api-Key")
        user = None
        if key is not None:
            login = self.keys.get(key)
            if login is None:
                return Response(
                    "401 Unauthorized",
                    401,
                    {"WWW-Authenticate": 'Weasyl-API-Key realm="Weasyl"'},
                    content_type="text/plain",
                )
            user = self.users[login]
        if path == "/api/whoami":
            if user is None:
                return self._json({"error": {"code": 110, "text": "Session unsigned"}}, 401)
            return self._json({"login": user.name, "userid": user.userid})
        if m := re.fullmatch(r"/api/users/([^/]+)/gallery", path):
            return self._gallery(m.group(1), request, user)
        if m := re.fullmatch(r"/api/submissions/(\d+)/view", path):
            sub = self.submissions.get(int(m.group(1)))
            if sub is None or sub["hidden"]:
                return self._json({"error": {"name": "submissionRecordMissing"}}, 404)
            return self._json(self._api_submission(sub, full=True))
        if user is None:  # login_required: the sign-in page for guests
            return self._html("Sign In", '<form action="/signin" method="post"></form>')
        if path == "/submit/visual" and method == "POST":
            return self._submit(user, record)
        if path == "/edit/submission":
            return self._edit(user, request, record)
        if path == "/submit/tags" and method == "POST":
            sub = self.submissions.get(int((record.form.get("submitid") or ["0"])[-1] or 0))
            if sub is None or sub["owner"] != user.login:
                return self._error("InsufficientPermissions")
            tags = _parse_tags((record.form.get("tags") or [""])[-1])
            if len(tags) < 2:
                return self._error("notEnoughTags")
            sub["tags"] = tags
            return self._see_other(f"/submission/{sub['submitid']}")
        if path == "/remove/submission" and method == "POST":
            sub = self.submissions.get(int((record.form.get("submitid") or ["0"])[-1] or 0))
            if sub is None or sub["owner"] != user.login:
                return self._error("InsufficientPermissions")
            sub["hidden"] = True
            return self._see_other("/control")
        return self._error("Unexpected", 404)

    def _submit(self, user: WeasylUser, record: Recorded) -> Response:
        form = {k: v[-1] for k, v in record.form.items()}
        tags = _parse_tags(form.get("tags", ""))
        if not user.vouched:
            return self._error("vouchRequired")
        if form.get("rating") not in RATINGS:
            return self._error("ratingInvalid")
        upload = record.files.get("submitfile")
        if not form.get("title"):
            return self._error("titleInvalid")
        if len(tags) < 2:
            return self._error("notEnoughTags")
        if form.get("folderid") and form["folderid"] not in user.folders:
            return self._error("Unexpected")
        if not upload or not upload["size"]:
            return self._error("submitSizeZero")
        try:
            with Image.open(io.BytesIO(upload["data"])) as probe:
                kind = probe.format
        except OSError:
            kind = None
        if kind not in ("JPEG", "PNG", "GIF"):
            return self._error("submitType")
        if upload["size"] > MAX_BYTES:
            return self._error("submitSizeExceedsLimit")
        if any(
            s["owner"] == user.login and not s["hidden"] and s["sha256"] == upload["sha256"]
            for s in self.submissions.values()
        ):
            return self._error("duplicateSubmission")
        subtype = form.get("subtype", "")
        fields = {
            "rating": RATINGS[form["rating"]],
            "content": form.get("content", ""),
            "tags": tags,
            "folderid": form.get("folderid") or None,
            "subtype": subtype if subtype in VISUAL_SUBTYPES else "1999",
            "friends_only": "friends" in form,
            "critique": "critique" in form,
            "notify": "nonotification" not in form,
        }
        sub = self._create(user, form["title"], upload["data"], fields)
        return self._see_other(f"/submission/{sub['submitid']}/{slug_for(sub['title'])}")

    def _create(
        self, user: WeasylUser, title: str, data: bytes, fields: dict[str, Any]
    ) -> dict[str, Any]:
        with Image.open(io.BytesIO(data)) as probe:
            ext = {"JPEG": "jpg", "PNG": "png", "GIF": "gif"}[probe.format or "PNG"]
        submitid = next(self._ids)
        sub = {
            "submitid": submitid,
            "owner": user.login,
            "title": title,
            "rating": "general",
            "content": "",
            "tags": [],
            "folderid": None,
            "subtype": "1999",
            "friends_only": False,
            "critique": False,
            "notify": True,
            "posted_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            **fields,
            "data": data,
            "sha256": hashlib.sha256(data).hexdigest(),
            "ext": ext,
            "hidden": False,
        }
        self.submissions[submitid] = sub
        return sub

    def _api_submission(self, sub: dict[str, Any], full: bool = False) -> dict[str, Any]:
        owner = self.users[sub["owner"]]
        url = self._media_url(sub["sha256"], sub["ext"])
        out = {
            "submitid": sub["submitid"],
            "title": sub["title"],
            "rating": sub["rating"],
            "posted_at": sub["posted_at"],
            "type": "submission",
            "subtype": "visual",
            "owner": owner.name,
            "owner_login": owner.login,
            "media": {
                "submission": [{"mediaid": sub["submitid"] * 10, "url": url}],
                "thumbnail": [{"mediaid": sub["submitid"] * 10 + 1, "url": url + "?thumb"}],
                "cover": [{"mediaid": sub["submitid"] * 10 + 2, "url": url}],
            },
            "tags": sub["tags"],
            "link": f"{self.base_url}/submission/{sub['submitid']}/{slug_for(sub['title'])}",
        }
        if full:
            out.update(
                description=rendered(sub["content"]),
                folderid=sub["folderid"],
                friends_only=sub["friends_only"],
            )
        return out

    def _gallery(self, login: str, request: Request, viewer: WeasylUser | None) -> Response:
        owner = self.users.get(re.sub(r"[^a-z0-9]", "", login.lower()))
        if owner is None:
            return self._json({"error": {"name": "userRecordMissing"}}, 404)
        count = min(int(request.args.get("count") or 100), 100)
        nextid = int(request.args.get("nextid") or 0)
        mine = [
            s
            for s in sorted(self.submissions.values(), key=lambda s: -s["submitid"])
            if s["owner"] == owner.login
            and not s["hidden"]
            and (not nextid or s["submitid"] < nextid)
            and (not s["friends_only"] or viewer is owner)
        ]
        page = mine[:count]
        more = len(mine) > count
        return self._json(
            {
                "backid": page[0]["submitid"] if page and nextid else None,
                "nextid": page[-1]["submitid"] if page and more else None,
                "submissions": [self._api_submission(s) for s in page],
            }
        )

    def _edit(self, user: WeasylUser, request: Request, record: Recorded) -> Response:
        form = {k: v[-1] for k, v in record.form.items()}
        raw = request.args.get("submitid") if request.method == "GET" else form.get("submitid")
        sub = self.submissions.get(int(raw or 0)) if (raw or "").isdigit() else None
        if sub is None or sub["hidden"] or sub["owner"] != user.login:
            return self._error("InsufficientPermissions")
        if request.method == "GET":
            folders = "".join(
                f'<option value="{i}"{" selected" if i == sub["folderid"] else ""}>'
                f"{html.escape(t)}</option>"
                for i, t in user.folders.items()
            )
            subtypes = "".join(
                f'<option value="{c}"{" selected" if c == sub["subtype"] else ""}>{n}</option>'
                for c, n in VISUAL_SUBTYPES.items()
            )
            codes = {v: k for k, v in RATINGS.items()}
            ratings = "".join(
                f'<option value="{c}"{" selected" if c == codes[sub["rating"]] else ""}>'
                f"{n.title()}</option>"
                for c, n in RATINGS.items()
            )
            content = self._page("edit_submission.html").substitute(
                token=secrets.token_hex(10),
                submitid=sub["submitid"],
                title=html.escape(sub["title"]),
                folders=folders,
                subtypes=subtypes,
                ratings=ratings,
                content=html.escape(sub["content"]),
                friends="checked" if sub["friends_only"] else "",
                critique="checked" if sub["critique"] else "",
                slug=slug_for(sub["title"]),
            )
            return self._html("Edit Submission", content)
        if form.get("rating") not in RATINGS:
            return self._error("ratingInvalid")
        if not form.get("title"):
            return self._error("titleInvalid")
        if not form.get("subtype", "").startswith("1") or form["subtype"] not in VISUAL_SUBTYPES:
            return self._error("Unexpected")
        if form.get("folderid") and form["folderid"] not in user.folders:
            return self._error("Unexpected")
        sub.update(
            title=form["title"],
            rating=RATINGS[form["rating"]],
            content=form.get("content", ""),
            subtype=form["subtype"],
            folderid=form.get("folderid") or None,
            friends_only="friends" in form,
            critique="critique" in form,
        )
        return self._see_other(f"/submission/{sub['submitid']}/{slug_for(sub['title'])}")


USER_LINK = re.compile(r"&lt;(!~|!|~)([A-Za-z0-9_.\-]+)&gt;")


def rendered(content: str) -> str:
    """A description as the API's ``description`` gives it: rendered HTML, with user links as
    libweasyl writes them (``<!~name>``: avatar and name, ``<!name>``: avatar, ``<~name>``:
    name; libweasyl/test/test_text.py); paragraphs in ``<p>``."""

    def user(m: re.Match[str]) -> str:
        kind, name = m.group(1), m.group(2)
        login = re.sub(r"[^a-z0-9]", "", name.lower())
        icon = f'<img src="/~{login}/avatar" alt="{name}">'
        if kind == "~":
            return f'<a href="/~{login}">{name}</a>'
        span = f" <span>{name}</span>" if kind == "!~" else ""
        return f'<a href="/~{login}" class="user-icon">{icon}{span}</a>'

    paragraphs = [p for p in re.split(r"\n\s*\n", content) if p.strip()] or [""]
    return "".join(
        "<p>" + USER_LINK.sub(user, html.escape(p)).replace("\n", "<br>\n") + "</p>"
        for p in paragraphs
    )


def _parse_tags(text: str) -> list[str]:
    """Weasyl's ``searchtag.parse_tags``, simplified: whitespace/comma separated, normalised."""
    out = []
    for raw in re.split(r"[\s,]+", text):
        tag = re.sub(r"[^a-z0-9_]", "", raw.lower()).strip("_")
        if tag and tag not in out:
            out.append(tag)
    return out
