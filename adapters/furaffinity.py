"""FurAffinity: BBCode description, 60-character title, space-separated keywords.

FurAffinity has no API: posting drives the web forms with the user's browser session, the way
PostyBirb does. ``GET /submit/`` gives a form key; ``POST /submit/upload/`` (multipart: ``key``,
``submission_type``, ``submission``) answers with the details form and a second key; ``POST
/submit/finalize/`` (``key``, ``title``, ``message``, ``keywords``, ``rating``, ``cat``,
``atype``, ``species``, ``gender``, optional ``folder_ids[]``, ``scrap``, ``lock_comments``)
redirects to ``/view/<id>/?upload-successful``. Edits go through the submission's
``/controls/submissions/changeinfo/<id>/`` form. FA has no idempotency: before a retry the
adapter looks for the title in the gallery, among submissions newer than the one that was on top
just before the finalize request.

Credentials (``credential_fields``; the secret ones are never logged):

- ``cookie_a``, ``cookie_b`` (secret): the ``a`` and ``b`` cookies of a logged-in browser session.
- ``cf_clearance`` (secret, optional) and ``user_agent`` (optional): when Cloudflare challenges
  the server, the browser's clearance cookie together with that browser's User-Agent.
- ``site`` (optional): the base URL, ``https://www.furaffinity.net`` by default.
- Posting defaults for the account (optional, FA's form values): ``category`` (``cat``, default
  ``1`` "All"), ``theme`` (``atype``, default ``1``), ``species`` (default ``1`` "Unspecified /
  Any"), ``gender`` (default ``0`` "Any"), ``folder_ids`` (comma-separated folder ids),
  ``scraps`` and ``lock_comments`` (``1`` to enable). A job's post may carry the same keys to
  override them for one artwork.

Sources (platforms.md): PostyBirb fur-affinity.website.ts and its file-submission model
(title 60, keywords < 500, >= 3 tags, ratings 0/2/1, flood-protection message, CAPTCHA for new
accounts), furaffinity-bbcode.ts (``:iconNAME:``); FAExport (Deer-Spangle/faexport) gallery
and page parsers (``figure#sid-<id>``, "System Error" pages).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit

import requests
from bs4 import BeautifulSoup

from adapters.base import Adapter, ImageLimits, RenderContext, TagRules
from adapters.errors import (
    AuthError,
    ContentRejected,
    RateLimited,
    SiteChanged,
    TransientError,
)
from adapters.forms import HtmlForm, find_form, flag
from adapters.http import may_have_reached, retry_after
from adapters.images import fit_media
from adapters.publishing import (
    Checkpoint,
    CredentialsUpdate,
    Lookup,
    Media,
    Presence,
    Published,
    PublishJob,
)
from adapters.text.writers.bbcode import FurAffinityWriter

logger = logging.getLogger(__name__)

DEFAULT_SITE = "https://www.furaffinity.net"
# The finalize form's rating radio values (PostyBirb getRating).
RATING_VALUES = MappingProxyType({"general": "0", "mature": "2", "adult": "1"})
NEW_ACCOUNT = (
    "FurAffinity asks this account to solve a CAPTCHA for every upload until it has more "
    "submissions (PostyBirb: 11 or more); Creditline cannot solve it. Post a few pieces by hand, "
    "then try again."
)
FLOOD = re.compile(r"Flood protection\.?\s*Please wait\s+(\d+)\s+seconds?", re.I)
TOO_FEW_POSTS = re.compile(r"CAPTCHA|at least \d+ submissions?", re.I)
VIEW_PATH = re.compile(r"/(?:view|full)/(\d+)(?:/|$)")


class FurAffinity(Adapter):
    id = "furaffinity"
    name = "FurAffinity"
    text_limit = None  # description limit unconfirmed
    text_field = "description"
    has_title = True
    title_limit = 60
    markup = "bbcode"
    writer = FurAffinityWriter
    # PostyBirb waits at least 70 s between FA posts (minimumPostWaitInterval) and FA's flood
    # protection answers faster posting with a cooldown page.
    min_interval = 90.0
    max_concurrency = 1
    # keeps_metadata: unknown whether FA serves the file as uploaded; conservatively not
    images = ImageLimits(max_count=1, max_bytes=10_000_000, keeps_metadata=False)
    supports_alt_text = False
    tag_rules = TagRules(min_count=3, max_joined=500, separator=" ", space="_")
    rating_map = MappingProxyType({"general": "general", "mature": "mature", "adult": "adult"})
    profile_url_template = "https://www.furaffinity.net/user/{handle}/"
    handle_pattern = re.compile(r"([A-Za-z0-9._~\-]{1,30})")
    handle_hint = "letters, digits and . _ ~ - (at most 30)"
    native_mention = ":icon{handle}:"
    supports_edit = True

    credential_fields: ClassVar[tuple[str, ...]] = (
        "cookie_a",
        "cookie_b",
        "cf_clearance",
        "user_agent",
        "site",
        "category",
        "theme",
        "species",
        "gender",
        "folder_ids",
        "scraps",
        "lock_comments",
    )
    user_agent: ClassVar[str] = "Creditline/0.1 (art cross-poster; FurAffinity adapter)"
    lookup_pages: ClassVar[int] = 2  # gallery pages searched for a retried post's title
    fetch_full_images: ClassVar[bool] = True  # import: one /view/ page per post for the full URL

    def normalise_handle(self, handle: str) -> str:
        # FA's URL names are lower case without underscores (PostyBirb strips "_" too).
        return handle.replace("_", "").lower()

    def fields(self, ctx: RenderContext) -> dict[str, Any]:
        return {"keywords": " ".join(ctx.tags), "rating": ctx.rating}

    # -- publishing ------------------------------------------------------------------------
    def _publish(self, job: PublishJob, progress: dict[str, Any], save: Checkpoint) -> Published:
        if progress.get("submission_id"):  # posted; only the engine's record was missing
            return self._published(progress["submission_id"], job.credentials, job.post)
        if not job.images:
            raise ContentRejected("FurAffinity submissions need an image")
        form = self._details(job)
        image = fit_media(job.images[0], self.images, self.name, refuse_animation=True)
        with _Site.open(self, job.credentials) as site:
            if progress.get("finalize_sent_at") and progress.get("user"):
                found = self._find(site, progress["user"], job, progress.get("gallery_top"))
                if found is not None:
                    save({"submission_id": found.remote_id, "finalize_key": None})
                    return found
            key = progress.get("finalize_key")
            if key and progress.get("user"):
                try:
                    return self._finalize(site, progress["user"], key, form, job, save)
                except _StaleKey as stale:
                    logger.info(
                        "furaffinity: stored finalize key refused (%s); uploading again", stale
                    )
                    save({"finalize_key": None, "finalize_sent_at": None})
            user, page = self._submit_page(site)
            key = self._upload(site, page, image)
            save({"finalize_key": key, "user": user})
            try:
                return self._finalize(site, user, key, form, job, save)
            except _StaleKey as stale:
                raise ContentRejected(f"FurAffinity refused the submission: {stale}") from None

    def _details(self, job: PublishJob) -> list[tuple[str, str]]:
        """The finalize form's fields, except the key (validated before any request)."""
        post, creds = job.post, job.credentials

        def option(name: str, default: str = "") -> str:
            value = post.get(name)
            if value is None:
                value = creds.get(name)
            return str(value).strip() if value is not None and str(value).strip() else default

        title = (post.get("title") or "").strip()
        if not title:
            raise ContentRejected("FurAffinity submissions need a title")
        rating = RATING_VALUES.get(str(post.get("rating")))
        if rating is None:
            raise ContentRejected(f"FurAffinity has no rating {post.get('rating')!r}")
        fields = [
            ("title", title),
            ("message", post.get("description") or ""),
            ("keywords", post.get("keywords") or ""),
            ("rating", rating),
            ("cat", option("category", "1")),
            ("atype", option("theme", "1")),
            ("species", option("species", "1")),
            ("gender", option("gender", "0")),
        ]
        for folder in (f.strip() for f in option("folder_ids").split(",")):
            if folder:
                if not folder.isdigit():
                    raise ContentRejected(f"FurAffinity folder ids are numbers, not {folder!r}")
                fields.append(("folder_ids[]", folder))
        if flag(option("scraps")):
            fields.append(("scrap", "1"))
        if flag(option("lock_comments")):
            fields.append(("lock_comments", "on"))
        return fields

    def _submit_page(self, site: _Site) -> tuple[str, HtmlForm]:
        """Step 1: the upload form and its key, as the logged-in user."""
        soup, _ = site.page("/submit/")
        user = site.user(soup)
        self._refusal(soup)
        form = find_form(soup, "/submit/upload", ("upload_form", "myform"))
        if form is None or not form.value("key"):
            raise SiteChanged("FurAffinity's /submit/ page has no upload form key (input 'key')")
        return user, form

    def _upload(self, site: _Site, page: HtmlForm, image: Media) -> str:
        """Step 2: send the file; the answer is the details form with the finalize key."""
        data = [("key", page.value("key") or ""), ("submission_type", "submission")]
        files = {"submission": (image.filename, image.data, image.media_type)}
        soup, _ = site.page(page.action or "/submit/upload/", data=data, files=files)
        site.user(soup)
        self._refusal(soup)
        form = find_form(soup, "/submit/finalize", ("myform",))
        if form is None:
            raise SiteChanged("FurAffinity's upload answer has no finalize form (form#myform)")
        missing = [n for n in ("key", "title", "message", "keywords", "rating") if n not in form]
        if missing:
            raise SiteChanged(f"FurAffinity's finalize form has no field {missing[0]!r}")
        return form.value("key") or ""

    def _finalize(
        self,
        site: _Site,
        user: str,
        key: str,
        form: list[tuple[str, str]],
        job: PublishJob,
        save: Checkpoint,
    ) -> Published:
        """Step 3: the details. The submission exists once this is answered with a redirect
        to ``/view/<id>/``; the gallery's newest id before it bounds the retry's search."""
        top = self._gallery_ids(site, user, _scraps(form))[:1]
        save({"finalize_sent_at": time.time(), "gallery_top": top[0][0] if top else 0})
        answer = site.send("/submit/finalize/", [("key", key), *form])
        location = answer.headers.get("Location") if answer.is_redirect else None
        if location:
            match = VIEW_PATH.search(urlsplit(urljoin(site.base, location)).path)
            if match:
                submission_id = match.group(1)
                url = f"{site.base}/view/{submission_id}/"
                save({"submission_id": submission_id, "finalize_key": None})
                return Published(submission_id, url, {"title": dict(form)["title"], "user": user})
            site.check_login_redirect(location)
            raise SiteChanged(f"FurAffinity's finalize answer redirected to {location!r}")
        soup = site.soup(answer)
        site.user(soup)
        self._refusal(soup, finalizing=True)
        raise _StaleKey("the details form came back without a submission")

    def _refusal(self, soup: BeautifulSoup, *, finalizing: bool = False) -> None:
        """Map FA's answer pages: flood cooldown, the new-account CAPTCHA, system messages."""
        text = soup.get_text(" ", strip=True)
        flood = FLOOD.search(text)
        if flood:
            raise RateLimited(f"FurAffinity: {flood.group(0)}", float(flood.group(1)))
        message = _system_message(soup)
        if message is None:
            return
        if TOO_FEW_POSTS.search(message):
            raise ContentRejected(f"{NEW_ACCOUNT} (FurAffinity said: {message})")
        if finalizing:
            raise _StaleKey(message)
        raise ContentRejected(f"FurAffinity refused the submission: {message}")

    def _published(
        self, submission_id: str, credentials: Mapping[str, str], post: Any
    ) -> Published:
        url = f"{_site_url(credentials)}/view/{submission_id}/"
        return Published(str(submission_id), url, {"title": post.get("title") or ""})

    # -- retries, import ---------------------------------------------------------------------
    def lookup(self, job: PublishJob) -> Lookup:
        """Is the job's title in the gallery (or scraps), newer than the recorded top?"""
        progress = job.progress
        if progress.get("submission_id"):
            return Lookup(
                Presence.FOUND,
                self._published(progress["submission_id"], job.credentials, job.post),
            )
        with _Site.open(self, job.credentials) as site:
            user = progress.get("user") or site.user(site.page("/controls/submissions/")[0])
            found = self._find(site, user, job, progress.get("gallery_top"))
        return Lookup(Presence.FOUND, found) if found else Lookup(Presence.ABSENT)

    def _find(self, site: _Site, user: str, job: PublishJob, top: Any) -> Published | None:
        wanted = _comparable(job.post.get("title") or "")
        scraps = flag(str(job.post.get("scraps") or job.credentials.get("scraps") or ""))
        for page in range(1, self.lookup_pages + 1):
            ids = self._gallery_ids(site, user, scraps, page)
            for submission_id, title, _thumb in ids:
                if top and int(submission_id) <= int(top):
                    return None
                if _comparable(title) == wanted:
                    return Published(
                        submission_id,
                        f"{site.base}/view/{submission_id}/",
                        {"title": title, "user": user, "adopted": True},
                    )
            if not ids:
                break
        return None

    def _gallery_ids(
        self, site: _Site, user: str, scraps: bool = False, page: int = 1
    ) -> list[tuple[str, str, str]]:
        """(id, title, thumbnail URL) of one gallery (or scraps) page, newest first."""
        return [f[:3] for f in self._gallery_figures(site, user, scraps, page)]

    def fetch(
        self,
        credentials: Mapping[str, str],
        limit: int = 100,
        *,
        update_credentials: CredentialsUpdate | None = None,
        since: dt.datetime | None = None,
    ) -> list[Published]:
        """The account's gallery, newest first: title, rating, post URL, full image and the
        description (one ``/view/`` page per post). Paging stops at ``limit`` or at the first
        submission older than ``since``: FA's thumbnail URLs carry the upload time."""
        out: list[Published] = []
        with _Site.open(self, credentials) as site:
            user = site.user(site.page("/controls/submissions/")[0])
            seen: set[str] = set()
            page = 1
            while len(out) < limit:
                figures = self._gallery_figures(site, user, False, page)
                figures = [f for f in figures if f[0] not in seen]
                if not figures:
                    break
                for submission_id, title, thumb, rating in figures[: limit - len(out)]:
                    seen.add(submission_id)
                    posted = _upload_time(thumb)
                    if since is not None and posted is not None and posted < since:
                        return out  # the gallery is newest first: the rest is older still
                    url = f"{site.base}/view/{submission_id}/"
                    extra: dict[str, Any] = {"title": title, "url": url, "thumbnail_url": thumb}
                    if rating:
                        extra["rating"] = rating
                    if posted is not None:
                        extra["created_at"] = posted.isoformat()
                    image = ""
                    if self.fetch_full_images:
                        image, description = self._view_details(site, submission_id)
                        extra["description"] = description
                    extra["image_url"] = image or thumb
                    out.append(Published(submission_id, url, extra))
                page += 1
        return out

    def _gallery_figures(
        self, site: _Site, user: str, scraps: bool = False, page: int = 1
    ) -> list[tuple[str, str, str, str]]:
        """(id, title, thumbnail URL, rating) of one gallery page; the rating is the figure's
        ``r-general``/``r-mature``/``r-adult`` class ("" when it has none)."""
        folder = "scraps" if scraps else "gallery"
        path = f"/{folder}/{user}/" + (f"{page}/" if page > 1 else "")
        soup, _ = site.page(path)
        gallery = soup.select_one("section.gallery, div.gallery, .gallery")
        figures = gallery.select("figure") if gallery else []
        if gallery is None and "no submissions" not in soup.get_text(" ").lower():
            raise SiteChanged(f"FurAffinity's {folder} page has no gallery (section.gallery)")
        out = []
        for figure in figures:
            match = re.fullmatch(r"sid[-_](\d+)", figure.get("id") or "")
            link = figure.select_one("figcaption a[href*='/view/']")
            if not match or link is None:
                raise SiteChanged(f"FurAffinity's {folder} page: a figure lacks its id or title")
            title = str(link.get("title") or link.get_text(strip=True))
            img = figure.select_one("img")
            thumb = _absolute(site.base, str(img.get("src") or "")) if img else ""
            classes = figure.get("class") or []
            rating = next((c[2:] for c in classes if c in FIGURE_RATINGS), "")
            out.append((match.group(1), title, thumb, rating))
        return out

    def _full_image(self, site: _Site, submission_id: str) -> str:
        return self._view_details(site, submission_id)[0]

    def _view_details(self, site: _Site, submission_id: str) -> tuple[str, str]:
        """(full image URL, description) from the submission page. FA renders ``:iconNAME:``
        and ``:linkNAME:`` as user links; they are written back as the BBCode the artist
        typed, so that credits in the text can be recognised."""
        soup, _ = site.page(f"/view/{submission_id}/")
        link = soup.select_one("div.download a[href]")
        img = soup.select_one("img#submissionImg")
        src = link.get("href") if link else (img.get("data-fullview-src") if img else None)
        if not src:
            raise SiteChanged(f"FurAffinity's /view/{submission_id}/ page has no download link")
        description = ""
        block = soup.select_one("div.submission-description")
        if block is not None:
            for a in block.select("a.iconusername, a.linkusername"):
                name = re.search(r"/user/([^/]+)", str(a.get("href") or ""))
                if name:
                    kind = "icon" if "iconusername" in (a.get("class") or []) else "link"
                    a.replace_with(f":{kind}{name.group(1)}:")
            for br in block.select("br"):
                br.replace_with("\n")
            description = block.get_text().strip()
        return _absolute(site.base, str(src)), description

    # -- edit, account -----------------------------------------------------------------------
    def edit(self, remote_id: str, job: PublishJob) -> Published:
        """Rewrite title, description, keywords and rating through the changeinfo form; every
        other field (category, species, folders, scraps...) is sent back as it was."""
        post = job.post
        title = (post.get("title") or "").strip()
        if not title:
            raise ContentRejected("FurAffinity submissions need a title")
        rating = RATING_VALUES.get(str(post.get("rating")))
        if rating is None:
            raise ContentRejected(f"FurAffinity has no rating {post.get('rating')!r}")
        path = f"/controls/submissions/changeinfo/{remote_id}/"
        with _Site.open(self, job.credentials) as site:
            soup, _ = site.page(path)
            site.user(soup)
            form = find_form(soup, "/controls/submissions/changeinfo/", ("MsgForm", "myform"))
            if form is None:
                message = _system_message(soup)
                if message:
                    raise NotFound(f"FurAffinity: {message}")
                raise SiteChanged(f"FurAffinity's {path} page has no changeinfo form")
            for name in ("key", "title", "message", "keywords"):
                if name not in form:
                    raise SiteChanged(f"FurAffinity's changeinfo form has no field {name!r}")
            changes = {
                "title": title,
                "message": post.get("description") or "",
                "keywords": post.get("keywords") or "",
            }
            if "rating" in form:
                changes["rating"] = rating
            answer = site.send(form.action or path, form.with_values(changes))
            if answer.is_redirect:
                site.check_login_redirect(answer.headers.get("Location", ""))
            else:
                page = site.soup(answer)
                site.user(page)
                message = _system_message(page)
                if message and not re.search(r"updated|saved|success", message, re.I):
                    raise ContentRejected(f"FurAffinity refused the edit: {message}")
            return Published(str(remote_id), f"{site.base}/view/{remote_id}/", {"title": title})

    def check_auth(
        self, credentials: Mapping[str, str], *, update_credentials: CredentialsUpdate | None = None
    ) -> str:
        with _Site.open(self, credentials) as site:
            soup, _ = site.page("/controls/submissions/")
            site.user(soup)
            avatar = soup.select_one("img.loggedin_user_avatar")
            return str(avatar.get("alt") or "") if avatar else site.user(soup)

    def parse_url(self, url: str) -> str | None:
        parts = urlsplit(url.strip())
        host = parts.netloc.lower().split(":")[0]
        if parts.scheme not in ("http", "https"):
            return None
        if host not in ("furaffinity.net", "www.furaffinity.net", "sfw.furaffinity.net"):
            return None
        match = re.fullmatch(r"/(?:view|full)/(\d+)/?", parts.path)
        return match.group(1) if match else None


# -- the session: cookies, answers, error mapping ----------------------------------------------


class NotFound(ContentRejected):
    """The submission is not there (deleted, or not this account's)."""


class _StaleKey(Exception):
    """A finalize answer that created nothing; with a stored key, a fresh upload may help."""


def _site_url(credentials: Mapping[str, str]) -> str:
    site = (credentials.get("site") or DEFAULT_SITE).strip().rstrip("/")
    parts = urlsplit(site)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise AuthError(f"{site!r} is not a FurAffinity address")
    return site


class _Site:
    """One ``requests`` session carrying the account's cookies, and FA's answer mapping."""

    def __init__(self, adapter: FurAffinity, credentials: Mapping[str, str]) -> None:
        a, b = (
            (credentials.get("cookie_a") or "").strip(),
            (credentials.get("cookie_b") or "").strip(),
        )
        if not a or not b:
            raise AuthError("no FurAffinity session cookies (a and b) are set for this account")
        self.base = _site_url(credentials)
        self.timeout = adapter.timeout
        cookies = [f"a={a}", f"b={b}"]
        if (credentials.get("cf_clearance") or "").strip():
            cookies.append(f"cf_clearance={credentials['cf_clearance'].strip()}")
        self.http = requests.Session()
        self.http.headers.update(
            {
                "User-Agent": (credentials.get("user_agent") or "").strip() or adapter.user_agent,
                "Cookie": "; ".join(cookies),  # sent as is; the jar stays out of it
            }
        )

    @classmethod
    @contextmanager
    def open(cls, adapter: FurAffinity, credentials: Mapping[str, str]) -> Iterator[_Site]:
        site = cls(adapter, credentials)
        try:
            yield site
        finally:
            site.http.close()

    def _request(self, method: str, path: str, *, write: bool, **kwargs: Any) -> requests.Response:
        url = urljoin(self.base + "/", path)
        headers = {"Referer": urljoin(self.base + "/", "/submit/")} if method == "POST" else {}
        try:
            response = self.http.request(
                method, url, timeout=self.timeout, headers=headers, **kwargs
            )
        except requests.RequestException as exc:
            reached = write and may_have_reached(exc)
            raise TransientError(f"could not reach FurAffinity: {exc}", ambiguous=reached) from exc
        with response:
            response.content  # noqa: B018 - read it all, then release the connection
        self._check(response, write)
        return response

    def _check(self, response: requests.Response, write: bool) -> None:
        status = response.status_code
        if _cloudflare(response):
            raise AuthError(
                "FurAffinity's Cloudflare check stopped the request: open FurAffinity in the "
                "browser these cookies came from and copy cf_clearance and its User-Agent too"
            )
        if status == 429:
            raise RateLimited("FurAffinity: too many requests", retry_after(response.headers))
        if status >= 500:
            raise TransientError(f"FurAffinity answered {status}", ambiguous=write)
        if status in (401, 403):
            raise AuthError(f"FurAffinity answered {status}: the session is not accepted")
        if status == 404:
            raise NotFound(f"FurAffinity answered 404 for {urlsplit(response.url).path}")
        if status >= 400:
            raise ContentRejected(f"FurAffinity answered {status}")
        if urlsplit(response.url).path.startswith("/login"):
            raise _logged_out()

    def page(
        self, path: str, *, data: Any = None, files: Any = None
    ) -> tuple[BeautifulSoup, requests.Response]:
        """GET (or, with data, POST) a page, following redirects, and parse it."""
        if data is None:
            response = self._request("GET", path, write=False)
        else:
            response = self._request("POST", path, write=False, data=data, files=files)
        return self.soup(response), response

    def send(self, path: str, data: Any) -> requests.Response:
        """POST a form that changes something, without following the redirect."""
        return self._request("POST", path, write=True, data=data, allow_redirects=False)

    def soup(self, response: requests.Response) -> BeautifulSoup:
        return BeautifulSoup(response.text, "html.parser")

    def check_login_redirect(self, location: str) -> None:
        if urlsplit(urljoin(self.base + "/", location)).path.startswith("/login"):
            raise _logged_out()

    def user(self, soup: BeautifulSoup) -> str:
        """The logged-in user's URL name, or ``AuthError`` when the page is a guest's."""
        avatar = soup.select_one("img.loggedin_user_avatar")
        logout = soup.select_one(".logout-link, form[action*='/logout']")
        if avatar is None and logout is None:
            raise _logged_out()
        link = avatar.find_parent("a", href=True) if avatar else None
        match = re.search(r"/user/([^/]+)/?", str(link["href"])) if link else None
        if match:
            return match.group(1).lower()
        if avatar is not None and avatar.get("alt"):
            return str(avatar["alt"]).replace("_", "").lower()
        raise SiteChanged(
            "FurAffinity's page does not name the logged-in user (loggedin_user_avatar)"
        )


def _logged_out() -> AuthError:
    return AuthError(
        "FurAffinity session expired (the page is a guest's): log in again in a browser and "
        "copy cookies a and b"
    )


def _cloudflare(response: requests.Response) -> bool:
    if response.headers.get("cf-mitigated", "").lower() == "challenge":
        return True
    if (
        response.status_code in (403, 503)
        and "cloudflare" in response.headers.get("Server", "").lower()
    ):
        text = response.text[:5000]
        return any(s in text for s in ("Just a moment", "challenge-platform", "Attention Required"))
    return False


def _system_message(soup: BeautifulSoup) -> str | None:
    """The text of FA's "System Message" / "System Error" answer, if the page is one."""
    box = soup.select_one(".redirect-message")
    if box is not None:
        return " ".join(box.get_text(" ", strip=True).split())
    title = soup.find("title")
    if title is not None and title.get_text(strip=True) == "System Error":
        body = soup.select_one(".section-body") or soup.body
        return " ".join((body or soup).get_text(" ", strip=True).split()) or "System Error"
    return None


def _scraps(form: list[tuple[str, str]]) -> bool:
    return any(name == "scrap" for name, _ in form)


FIGURE_RATINGS = frozenset({"r-general", "r-mature", "r-adult"})
# FA's thumbnail and file names carry the Unix time of the upload: ``/54000001@200-1700000000.jpg``
UPLOAD_STAMP = re.compile(r"@\d+-(\d{9,11})\.\w+$|/(\d{9,11})\.[^/]+$")


def _upload_time(url: str) -> dt.datetime | None:
    match = UPLOAD_STAMP.search(urlsplit(url).path)
    if not match:
        return None
    return dt.datetime.fromtimestamp(int(match.group(1) or match.group(2)), dt.UTC)


def _absolute(base: str, src: str) -> str:
    if src.startswith("//"):
        return f"{urlsplit(base).scheme}:{src}"
    return urljoin(base + "/", src)


def _comparable(title: str) -> str:
    return " ".join(title.split()).casefold()
