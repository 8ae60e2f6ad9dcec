"""A loopback FurAffinity for contract tests: real HTTP, the web forms' recorded shapes.

FurAffinity has no API and cannot run here, so this serves the pages Creditline drives — the
three-step submit flow (``/submit/`` key → ``/submit/upload/`` → ``/submit/finalize/``
redirecting to ``/view/<id>/?upload-successful``), the gallery, submission pages,
``/controls/submissions/`` and the ``changeinfo`` edit form — from hand-written HTML in
``pages/furaffinity/`` that follows the real pages' structure (see each file's header for its
source). It checks what FA checks: the session cookies ``a`` and ``b``, the form keys of each
step, the file, the rating and category values, the account's folders; and it answers the way FA
does when something is off: guest pages, "System Message" pages, the flood-protection cooldown,
the new-account CAPTCHA, a Cloudflare challenge.

The generic part (thread, request recording, failure injection) is
``tests.peers.loopback.LoopbackSite``.

In-process::

    server = FurAffinityServer({("a-cookie", "b-cookie"): "Tanraak"})
    base_url = server.start()
    server.fail_next(1, 503, path="/submit/finalize/")            # fails before doing anything
    server.fail_next(1, 0, path="/submit/finalize/", after=True)  # done, then the line drops
    server.submissions, server.requests                           # what happened
    server.stop()
"""

from __future__ import annotations

import html
import io
import itertools
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

from PIL import Image
from werkzeug.wrappers import Request, Response

from tests.peers.loopback import Failure, LoopbackSite, Recorded

PAGES = Path(__file__).parent / "pages" / "furaffinity"
MAX_BYTES = 10_000_000
CATEGORIES = {"1", "2", "3", "9", "28", "30", "31"}
RATINGS = {"0": "general", "2": "mature", "1": "adult"}


# -- FurAffinity ----------------------------------------------------------------------------------

USER_TAG = re.compile(r":(icon|link)([A-Za-z0-9_.~\-]+):|:([A-Za-z0-9_.~\-]+)icon:")


def rendered(message: str) -> str:
    """A description as FA shows it: escaped BBCode text, ``:iconNAME:`` as an icon and name
    link (class ``iconusername``), ``:linkNAME:`` as a name link (``linkusername``),
    ``:NAMEicon:`` as an icon alone, line breaks as ``<br>`` (FA's bbcode tokenizer, see
    platforms.md)."""

    def user(m: re.Match[str]) -> str:
        kind, name = (m.group(1), m.group(2)) if m.group(1) else ("iconly", m.group(3))
        url_name = name.replace("_", "").lower()
        icon = (
            f'<img alt="{url_name}" title="{url_name}" '
            f'src="//a.furaffinity.net/20260101/{url_name}.gif">'
        )
        if kind == "link":
            return f'<a href="/user/{url_name}" class="linkusername">{name}</a>'
        if kind == "icon":
            return f'<a href="/user/{url_name}" class="iconusername">{icon}&nbsp;{name}</a>'
        return f'<a href="/user/{url_name}" class="iconusername">{icon}</a>'

    return USER_TAG.sub(user, html.escape(message)).replace("\n", "<br>\n")


@dataclass
class FaUser:
    name: str  # display name; the URL name is lower case without underscores
    folders: dict[str, str] = field(default_factory=dict)  # folder id -> title
    captcha: bool = False  # a new account: every upload needs a CAPTCHA
    last_post_at: float | None = None

    @property
    def url_name(self) -> str:
        return self.name.replace("_", "").lower()


class FurAffinityServer(LoopbackSite):
    """FurAffinity's web forms on 127.0.0.1. ``sessions`` maps (cookie a, cookie b) to a user."""

    def __init__(
        self,
        sessions: Mapping[tuple[str, str], str] | None = None,
        *,
        flood_seconds: float = 0.0,
        page_size: int = 48,
    ) -> None:
        super().__init__()
        self.users: dict[str, FaUser] = {}
        self.sessions: dict[tuple[str, str], str] = {}
        for cookies, name in (sessions or {("a-cookie", "b-cookie"): "Tanraak"}).items():
            self.add_session(cookies, name)
        self.flood_seconds = flood_seconds  # minimum seconds between two finalized uploads
        self.page_size = page_size
        self.cloudflare = False  # answer everything with a Cloudflare challenge
        self.submissions: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(54_000_001)
        self._upload_keys: dict[str, str] = {}  # key -> user
        self._finalize_keys: dict[str, tuple[str, dict[str, Any]]] = {}  # key -> (user, file)
        self._edit_keys: dict[str, str] = {}  # key -> submission id
        self.overrides: dict[str, str] = {}  # page file -> replacement text (a changed site)

    def _page(self, name: str) -> Template:
        text = self.overrides.get(name)
        return Template(text if text is not None else (PAGES / name).read_text(encoding="utf-8"))

    def add_session(self, cookies: tuple[str, str], name: str) -> FaUser:
        user = self.users.setdefault(name.replace("_", "").lower(), FaUser(name))
        self.sessions[cookies] = user.url_name
        return user

    def user(self, name: str) -> FaUser:
        return self.users[name.replace("_", "").lower()]

    def add_submission(
        self, user: str, title: str, data: bytes | None = None, **fields: Any
    ) -> dict[str, Any]:
        """A submission made elsewhere (the browser), newest on top of the gallery; ``data``
        is its file (served under ``/art/``), ``stamp`` its upload time (Unix seconds)."""
        upload = None
        if data is not None:
            upload = {"data": data, "content_type": "image/png", "filename": "art.png"}
        with self._lock:
            return self._create(self.user(user), {"title": title, **fields}, upload)

    # -- routing ---------------------------------------------------------------------------
    def _error_response(self, failure: Failure) -> Response:
        body = f"<html><body><h1>{failure.status}</h1></body></html>"
        return Response(body, failure.status, failure.headers, content_type="text/html")

    def _route(self, request: Request, record: Recorded) -> Response:
        if self.cloudflare:
            return Response(
                (PAGES / "cloudflare.html").read_text(encoding="utf-8"),
                403,
                {"Server": "cloudflare", "cf-mitigated": "challenge", "CF-RAY": "8f00-AMS"},
                content_type="text/html; charset=UTF-8",
            )
        if not record.headers.get("User-Agent"):
            return Response("no User-Agent", 403)
        path, method = request.path, request.method
        user = self._session(record)
        if m := re.fullmatch(r"/(gallery|scraps)/([^/]+)/(?:(\d+)/)?", path):
            return self._gallery(m.group(1), m.group(2), int(m.group(3) or 1), user)
        if m := re.fullmatch(r"/view/(\d+)/", path):
            return self._view(m.group(1), user)
        if m := re.fullmatch(r"/art/([^/]+)/(\d+)/(.+)", path):
            sub = self.submissions.get(m.group(2))
            if sub is None or sub["file"] is None:
                return Response("", 404)
            return Response(sub["file"]["data"], 200, content_type=sub["file"]["content_type"])
        if user is None:
            return self._html("Log In", self._guest_content(), None)
        if path == "/submit/" and method == "GET":
            return self._submit(user)
        if path == "/submit/upload/" and method == "POST":
            return self._upload(user, record)
        if path == "/submit/finalize/" and method == "POST":
            return self._finalize(user, record)
        if path == "/controls/submissions/" and method == "GET":
            options = "".join(
                f'<option value="{html.escape(i)}">{html.escape(t)}</option>'
                for i, t in user.folders.items()
            )
            content = self._page("controls_submissions.html").substitute(folders=options)
            return self._html("Manage Submissions", content, user)
        if m := re.fullmatch(r"/controls/submissions/changeinfo/(\d+)/", path):
            return self._changeinfo(user, m.group(1), record if method == "POST" else None)
        return self._message(user, "The page you are trying to reach is not in our database.")

    def _session(self, record: Recorded) -> FaUser | None:
        cookies = record.cookies
        name = self.sessions.get((cookies.get("a", ""), cookies.get("b", "")))
        return self.users.get(name) if name else None

    # -- pages -----------------------------------------------------------------------------
    def _html(self, title: str, content: str, user: FaUser | None, status: int = 200) -> Response:
        if user is None:
            nav = (PAGES / "nav_guest.html").read_text(encoding="utf-8")
        else:
            nav = self._page("nav_user.html").substitute(
                user=user.url_name, name=html.escape(user.name), logout_key=secrets.token_hex(8)
            )
        body = self._page("page.html").substitute(
            title=html.escape(title), nav=nav, content=content, pageid=title.lower()[:20]
        )
        return Response(body, status, content_type="text/html; charset=UTF-8")

    def _guest_content(self) -> str:
        return (
            '<section class="aligncenter"><div class="section-body">'
            "<p>Please log in to continue.</p>"
            '<a class="button standard" href="/login">Log In</a></div></section>'
        )

    def _message(self, user: FaUser | None, message: str) -> Response:
        content = self._page("system_message.html").substitute(message=html.escape(message))
        return self._html("System Message", content, user)

    def _submit(self, user: FaUser) -> Response:
        if user.captcha:
            return self._message(
                user,
                "To prevent spam, new accounts must complete a CAPTCHA with every upload. "
                "Please use the upload form in your browser.",
            )
        key = secrets.token_hex(20)
        self._upload_keys[key] = user.url_name
        return self._html("Submit", self._page("submit.html").substitute(key=key), user)

    def _upload(self, user: FaUser, record: Recorded) -> Response:
        key = (record.form.get("key") or [""])[-1]
        if self._upload_keys.pop(key, None) != user.url_name:
            return self._message(user, "Your session has expired or the form key is invalid.")
        if (record.form.get("submission_type") or [""])[-1] != "submission":
            return self._message(user, "Please select the type of submission you are uploading.")
        upload = record.files.get("submission")
        if not upload or not upload["size"]:
            return self._message(user, "You must select a file to upload.")
        if upload["size"] > MAX_BYTES:
            return self._message(user, "The file you uploaded is larger than the 10 MB limit.")
        try:
            with Image.open(io.BytesIO(upload["data"])) as probe:
                kind = probe.format
        except OSError:
            kind = None
        if kind not in ("JPEG", "PNG", "GIF"):
            return self._message(user, "The uploaded file is not a supported file type.")
        key = secrets.token_hex(20)
        self._finalize_keys[key] = (user.url_name, upload)
        folders = "".join(
            f'<label><input type="checkbox" name="folder_ids[]" value="{html.escape(i)}"> '
            f"{html.escape(t)}</label>"
            for i, t in user.folders.items()
        )
        content = self._page("finalize.html").substitute(
            key=key, folders=folders, preview=f"//{self.host}/preview/{key}.jpg"
        )
        return self._html("Submission Information", content, user)

    def _finalize(self, user: FaUser, record: Recorded) -> Response:
        form = {k: v[-1] for k, v in record.form.items()}
        pending = self._finalize_keys.get(form.get("key", ""))
        if pending is None or pending[0] != user.url_name:
            return self._message(user, "Your session has expired or the form key is invalid.")
        now = time.time()
        if self.flood_seconds and user.last_post_at is not None:
            wait = self.flood_seconds - (now - user.last_post_at)
            if wait > 0:
                content = self._page("flood.html").substitute(seconds=max(1, round(wait)))
                return self._html("System Message", content, user)
        if not form.get("title", "").strip():
            return self._message(user, "You must provide a title for your submission.")
        if form.get("rating") not in RATINGS:
            return self._message(user, "You must select a rating for your submission.")
        if form.get("cat") not in CATEGORIES:
            return self._message(user, "Please select a valid category.")
        for name in ("atype", "species", "gender"):
            if not form.get(name, "").isdigit():
                return self._message(user, f"Please select a valid {name}.")
        folders = record.form.get("folder_ids[]") or []
        if any(f not in user.folders for f in folders):
            return self._message(user, "The selected folder does not exist.")
        del self._finalize_keys[form["key"]]
        fields = {**form, "folder_ids": folders, "rating": RATINGS[form["rating"]]}
        sub = self._create(user, fields, pending[1])
        user.last_post_at = now
        return Response(
            "", 302, {"Location": f"/view/{sub['id']}/?upload-successful"}, content_type="text/html"
        )

    def _create(
        self, user: FaUser, fields: dict[str, Any], upload: dict[str, Any] | None
    ) -> dict[str, Any]:
        sub_id = str(next(self._ids))
        sub = {
            "id": sub_id,
            "owner": user.url_name,
            "title": fields.get("title", ""),
            "message": fields.get("message", ""),
            "keywords": fields.get("keywords", ""),
            "rating": fields.get("rating", "general"),
            "cat": fields.get("cat", "1"),
            "atype": fields.get("atype", "1"),
            "species": fields.get("species", "1"),
            "gender": fields.get("gender", "0"),
            "folder_ids": list(fields.get("folder_ids") or []),
            "scrap": fields.get("scrap") == "1",
            "lock_comments": fields.get("lock_comments") == "on",
            "file": upload,
            "stamp": int(fields.get("stamp") or time.time()),
        }
        self.submissions[sub_id] = sub
        return sub

    def _gallery(self, folder: str, name: str, page: int, viewer: FaUser | None) -> Response:
        owner = self.users.get(name.lower())
        if owner is None:
            return self._message(viewer, f'User "{name}" was not found in our database.')
        mine = [
            s
            for s in reversed(self.submissions.values())
            if s["owner"] == owner.url_name and s["scrap"] == (folder == "scraps")
        ]
        shown = mine[(page - 1) * self.page_size : page * self.page_size]
        if shown:
            figures = "".join(
                self._page("figure.html").substitute(
                    id=s["id"],
                    rating=s["rating"],
                    user=owner.url_name,
                    name=html.escape(owner.name),
                    title=html.escape(s["title"]),
                    host=self.host,
                    stamp=s["stamp"],
                )
                for s in shown
            )
            body = f'<section id="gallery-gallery" class="gallery s-250">{figures}</section>'
        else:
            body = '<div id="no-images">There are no submissions to list</div>'
        content = self._page("gallery.html").substitute(
            folder=folder.title(), name=html.escape(owner.name), body=body
        )
        return self._html(f"Artwork Gallery for {owner.name}", content, viewer)

    def _view(self, sub_id: str, viewer: FaUser | None) -> Response:
        sub = self.submissions.get(sub_id)
        if sub is None:
            return self._message(
                viewer, "The submission you are trying to find is not in our database."
            )
        owner = self.users[sub["owner"]]
        filename = (
            f"{sub['stamp']}.{owner.url_name}_{(sub['file'] or {}).get('filename') or 'x.png'}"
        )
        content = self._page("view.html").substitute(
            id=sub_id,
            title=html.escape(sub["title"]),
            user=owner.url_name,
            name=html.escape(owner.name),
            host=self.host,
            stamp=sub["stamp"],
            filename=html.escape(filename),
            message=rendered(sub["message"]),
        )
        return self._html(f"{sub['title']} by {owner.name}", content, viewer)

    def _changeinfo(self, user: FaUser, sub_id: str, record: Recorded | None) -> Response:
        sub = self.submissions.get(sub_id)
        if sub is None or sub["owner"] != user.url_name:
            return self._message(user, "You are not allowed to edit this submission.")
        if record is not None:
            form = {k: v[-1] for k, v in record.form.items()}
            if self._edit_keys.pop(form.get("key", ""), None) != sub_id:
                return self._message(user, "Your session has expired or the form key is invalid.")
            if form.get("update") != "yes" or not form.get("title", "").strip():
                return self._message(user, "You must provide a title for your submission.")
            if form.get("rating") not in RATINGS or form.get("cat") not in CATEGORIES:
                return self._message(user, "Please select a valid rating and category.")
            sub.update(
                title=form["title"],
                message=form.get("message", ""),
                keywords=form.get("keywords", ""),
                rating=RATINGS[form["rating"]],
                cat=form["cat"],
                atype=form.get("atype", ""),
                species=form.get("species", ""),
                gender=form.get("gender", ""),
                scrap=form.get("scrap") == "1",
                lock_comments=form.get("lock_comments") == "on",
            )
            return Response("", 302, {"Location": f"/view/{sub_id}/"}, content_type="text/html")
        key = secrets.token_hex(20)
        self._edit_keys[key] = sub_id
        codes = {v: k for k, v in RATINGS.items()}

        def options(values: Iterable[str], chosen: str) -> str:
            return "".join(
                f'<option value="{v}"{" selected" if v == chosen else ""}>{v}</option>'
                for v in values
            )

        ratings = "".join(
            f'<label><input type="radio" name="rating" value="{code}"'
            f"{' checked' if code == codes[sub['rating']] else ''}> {name}</label>"
            for code, name in RATINGS.items()
        )
        content = self._page("changeinfo.html").substitute(
            id=sub_id,
            key=key,
            cat_options=options(sorted(CATEGORIES, key=int), sub["cat"]),
            atype_options=options(["1", "2", "4"], sub["atype"]),
            species_options=options(["1", "5001", "6018"], sub["species"]),
            gender_options=options(["0", "2", "3", "6"], sub["gender"]),
            rating_inputs=ratings,
            title=html.escape(sub["title"]),
            message=html.escape(sub["message"]),
            keywords=html.escape(sub["keywords"]),
            scrap_checked=" checked" if sub["scrap"] else "",
            lock_checked=" checked" if sub["lock_comments"] else "",
        )
        return self._html("Edit Submission", content, user)
