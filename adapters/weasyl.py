"""Weasyl: Markdown (misaka) with ``<!~name>`` user links and ``[name](fa:name)`` cross-links.

Publishing uses the web submit form ``POST /submit/visual`` authenticated with the user's API
key in the ``X-Weasyl-API-Key`` header: the key authenticates any route and the CSRF token check
is skipped for API-key requests (``weasyl/middleware.py``, ``controllers/decorators.py``
``token_checked``), so no page needs scraping to post. Success is the 303 redirect to
``/submission/<id>/<slug>``. Weasyl refuses a second submission of the same file
(``duplicateSubmission``); that answer, and a retry after a lost answer, adopt the submission
whose stored file has the same SHA-256 (Weasyl names media files by their hash). Edits go
through ``/edit/submission`` (title, rating, description; folder, subtype and flags are read
back from the edit form and sent unchanged) and ``/submit/tags``; deletion is
``/remove/submission``. ``check_auth`` is ``/api/whoami``; import is the documented
``/api/users/<login>/gallery``.

Credentials (``credential_fields``; ``api_key`` is secret and never logged):

- ``api_key``: a key from Weasyl's settings ("API keys").
- ``site`` (optional): the base URL, ``https://www.weasyl.com`` by default.
- Posting defaults for the account (optional): ``folderid``, ``subtype`` (Weasyl's visual
  subcategory code, e.g. ``1030`` Digital; empty lets Weasyl file it under "Other"),
  ``critique`` (``1`` to flag for critique), ``notify`` (``0`` to post without notifying
  watchers), ``friends_only`` (``1``). A job's post may carry the same keys for one artwork.

Sources: Weasyl/weasyl libweasyl/text.py (user links, pseudo-schemes), libweasyl/ratings.py
(10/30/40), weasyl/forms.py (tags), templates/submit/visual.html (title 200),
controllers/content.py (submit, edit, tags, remove), controllers/api.py (whoami, gallery),
submission.py (``notEnoughTags``, ``duplicateSubmission``), errorcode.py (messages, 422),
templates/error/error.jinja2 (``#error_content``), templates/edit/submission.jinja2.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any, ClassVar
from urllib.parse import quote, urljoin, urlsplit

import requests
from bs4 import BeautifulSoup

from adapters.base import Adapter, ImageLimits, RenderContext, TagRules
from adapters.errors import (
    AuthError,
    ContentRejected,
    InvalidHandle,
    RateLimited,
    SiteChanged,
    TransientError,
)
from adapters.forms import find_form, flag
from adapters.http import may_have_reached, retry_after
from adapters.images import fit_media
from adapters.publishing import (
    Checkpoint,
    CredentialsUpdate,
    Lookup,
    Presence,
    Published,
    PublishJob,
)
from adapters.text.writers.markdown import WeasylWriter

logger = logging.getLogger(__name__)

DEFAULT_SITE = "https://www.weasyl.com"
DUPLICATE = "You have already made a submission with this submission file"
TOKEN_REFUSED = "appears to have been performed illegitimately"
SUBMISSION_PATH = re.compile(r"/(?:submission|~[^/]+/submissions)/(\d+)(?:/|$)")


class Weasyl(Adapter):
    id = "weasyl"
    name = "Weasyl"
    text_limit = 300_000
    length_unit = "code_points"
    text_field = "description"
    has_title = True
    title_limit = 200
    markup = "markdown"
    writer = WeasylWriter
    # keeps_metadata: submission files are stored and served by their SHA-256 (the same file
    # twice is refused: platforms.md, Weasyl), so as uploaded; inferred, unconfirmed
    images = ImageLimits(max_count=1, max_bytes=50 * 1024 * 1024, keeps_metadata=True)
    supports_alt_text = False
    tag_rules = TagRules(min_count=2, lowercase=True, space="_", drop=r"[^A-Za-z0-9_]")
    rating_map = MappingProxyType({"general": 10, "mature": 30, "adult": 40})
    profile_url_template = "https://www.weasyl.com/~{handle}"
    handle_pattern = re.compile(r"([A-Za-z0-9_.\- ]{1,25})")
    handle_hint = "a Weasyl user name (letters and digits)"
    native_mention = "<!~{handle}>"
    cross_site = MappingProxyType(
        {
            "furaffinity": "[{name}](fa:{handle})",
            "deviantart": "[{name}](da:{handle})",
            "inkbunny": "[{name}](ib:{handle})",
        }
    )
    supports_edit = True
    supports_delete = True

    credential_fields: ClassVar[tuple[str, ...]] = (
        "api_key",
        "site",
        "folderid",
        "subtype",
        "critique",
        "notify",
        "friends_only",
    )
    user_agent: ClassVar[str] = "Creditline/0.1 (art cross-poster; Weasyl adapter)"
    lookup_depth: ClassVar[int] = 200  # gallery submissions searched for an adopted file
    page_size: ClassVar[int] = 100  # the gallery API's maximum ``count``

    def normalise_handle(self, handle: str) -> str:
        # Weasyl's "sysname": lower case, letters and digits only.
        sysname = re.sub(r"[^a-z0-9]", "", handle.lower())
        if not sysname:
            raise InvalidHandle(self.id, handle, self.handle_hint)
        return sysname

    def fields(self, ctx: RenderContext) -> dict[str, Any]:
        return {"tags": " ".join(ctx.tags), "rating": ctx.rating}

    # -- publishing ------------------------------------------------------------------------
    def _publish(self, job: PublishJob, progress: dict[str, Any], save: Checkpoint) -> Published:
        if progress.get("submitid"):
            url = (
                progress.get("url")
                or f"{_site_url(job.credentials)}/submission/{progress['submitid']}"
            )
            return Published(str(progress["submitid"]), url, {"title": job.post.get("title")})
        if not job.images:
            raise ContentRejected("Weasyl visual submissions need an image")
        form = self._form(job)
        image = fit_media(job.images[0], self.images, self.name, refuse_animation=True)
        digest = hashlib.sha256(image.data).hexdigest()
        with _Api.open(self, job.credentials) as api:
            if progress.get("submit_sent_at"):  # an earlier answer was lost: is it there?
                found = self._find(api, *_digests(progress, digest))
                if found is not None:
                    save({"submitid": found.remote_id, "url": found.url})
                    return found
            save({"submit_sent_at": time.time(), "sha256": digest})
            files = {"submitfile": (image.filename, image.data, image.media_type)}
            answer = api.send("/submit/visual", data=form, files=files)
            submitid = _submission_id(answer)
            if submitid is None:
                if answer.status_code < 400 and "error_content" not in answer.text:
                    raise SiteChanged(
                        "Weasyl's /submit/visual answer is neither the redirect to the new "
                        "submission nor an error page"
                    )
                message = api.refusal(answer)
                if DUPLICATE in message:
                    found = self._find(api, digest)
                    if found is None:
                        raise ContentRejected(
                            f"Weasyl: {message} (and it is not in the account's gallery)"
                        )
                    save({"submitid": found.remote_id, "url": found.url})
                    return found
                raise ContentRejected(f"Weasyl refused the submission: {message}")
            url = f"{api.base}/submission/{submitid}"
            location = answer.headers.get("Location", "")
            if location.startswith(("/submission/", f"{api.base}/submission/")):
                url = urljoin(api.base + "/", location)
            save({"submitid": submitid, "url": url})
            return Published(submitid, url, {"title": dict(form)["title"], "sha256": digest})

    def _form(self, job: PublishJob) -> list[tuple[str, str]]:
        post, creds = job.post, job.credentials

        def option(name: str) -> str:
            value = post.get(name)
            if value is None:
                value = creds.get(name)
            return str(value).strip() if value is not None else ""

        title = (post.get("title") or "").strip()
        if not title:
            raise ContentRejected("Weasyl submissions need a title")
        rating = str(post.get("rating"))
        if rating not in ("10", "30", "40"):
            raise ContentRejected(f"Weasyl has no rating {post.get('rating')!r}")
        tags = _tags(post)
        form = [
            ("title", title),
            ("rating", rating),
            ("content", post.get("description") or ""),
            ("tags", " ".join(tags)),
            ("folderid", option("folderid")),
            ("subtype", option("subtype")),
        ]
        if flag(option("critique")):
            form.append(("critique", "on"))
        if flag(option("friends_only")):
            form.append(("friends", "on"))
        if option("notify") in ("0", "false", "no", "off"):
            form.append(("nonotification", "on"))
        return form

    # -- retries, import ---------------------------------------------------------------------
    def lookup(self, job: PublishJob) -> Lookup:
        """Is the job's file (same SHA-256) already one of the account's submissions?"""
        progress = job.progress
        if progress.get("submitid"):
            url = (
                progress.get("url")
                or f"{_site_url(job.credentials)}/submission/{progress['submitid']}"
            )
            return Lookup(Presence.FOUND, Published(str(progress["submitid"]), url))
        if not job.images:
            return Lookup(Presence.UNKNOWN)
        image = fit_media(job.images[0], self.images, self.name, refuse_animation=True)
        digests = _digests(progress, hashlib.sha256(image.data).hexdigest())
        with _Api.open(self, job.credentials) as api:
            found = self._find(api, *digests)
        return Lookup(Presence.FOUND, found) if found else Lookup(Presence.ABSENT)

    def _find(self, api: _Api, *digests: str) -> Published | None:
        """The account's submission whose file has one of ``digests`` (Weasyl serves files
        under their SHA-256), searched in one pass over the gallery."""
        for submission in self._gallery(api, self.lookup_depth):
            files = (submission.get("media") or {}).get("submission") or []
            if any(d in str(f.get("url") or "") for f in files for d in digests):
                published = self._imported(api, submission)
                return Published(
                    published.remote_id, published.url, {**published.extra, "adopted": True}
                )
        return None

    def _gallery(self, api: _Api, limit: int) -> Iterator[dict[str, Any]]:
        login = api.whoami()["login"]
        path = f"/api/users/{quote(_sysname(login))}/gallery"
        nextid, count = 0, 0
        while count < limit:
            params = {"count": min(self.page_size, limit - count)}
            if nextid:
                params["nextid"] = nextid
            page = api.json("GET", path, params=params)
            submissions = page.get("submissions")
            if not isinstance(submissions, list):
                raise SiteChanged("Weasyl's gallery answer has no 'submissions' list")
            for submission in submissions:
                count += 1
                yield submission
            nextid = page.get("nextid") or 0
            if not submissions or not nextid:
                return

    def fetch(
        self,
        credentials: Mapping[str, str],
        limit: int = 100,
        *,
        update_credentials: CredentialsUpdate | None = None,
        since: dt.datetime | None = None,
    ) -> list[Published]:
        """The account's visual submissions, newest first, from the documented gallery API,
        each with its description (``/api/submissions/<id>/view``); paging stops at the first
        submission posted before ``since``."""
        out: list[Published] = []
        with _Api.open(self, credentials) as api:
            for submission in self._gallery(api, limit):
                posted = _time(submission.get("posted_at"))
                if since is not None and posted is not None and posted < since:
                    break
                found = self._imported(api, submission)
                full = api.json("GET", f"/api/submissions/{found.remote_id}/view")
                rendered = str(full.get("description") or "")
                extra = {
                    **found.extra,
                    "html": rendered,
                    "description": _description_text(rendered),
                }
                out.append(Published(found.remote_id, found.url, extra))
        return out

    def _imported(self, api: _Api, submission: Mapping[str, Any]) -> Published:
        submitid = str(submission.get("submitid") or "")
        if not submitid:
            raise SiteChanged("a Weasyl gallery entry has no 'submitid'")
        media = submission.get("media") or {}
        files = media.get("submission") or []
        thumbs = media.get("thumbnail") or []
        url = submission.get("link") or f"{api.base}/submission/{submitid}"
        return Published(
            submitid,
            url,
            {
                "title": submission.get("title") or "",
                "url": url,
                "image_url": files[0].get("url") if files else None,
                "thumbnail_url": thumbs[0].get("url") if thumbs else None,
                "rating": submission.get("rating"),
                "tags": submission.get("tags") or [],
                "posted_at": submission.get("posted_at"),
            },
        )

    # -- edit, delete, account ---------------------------------------------------------------
    def edit(self, remote_id: str, job: PublishJob) -> Published:
        """Rewrite title, rating and description through the edit form (folder, subtype and
        the friends/critique flags are sent back as they are), then replace the tags."""
        post = job.post
        title = (post.get("title") or "").strip()
        if not title:
            raise ContentRejected("Weasyl submissions need a title")
        rating = str(post.get("rating"))
        if rating not in ("10", "30", "40"):
            raise ContentRejected(f"Weasyl has no rating {post.get('rating')!r}")
        tags = _tags(post)
        with _Api.open(self, job.credentials) as api:
            page = api.page(f"/edit/submission?submitid={quote(str(remote_id))}")
            form = find_form(page, "/edit/submission", ())
            if form is None:
                raise SiteChanged("Weasyl's edit page has no form (action /edit/submission)")
            for name in ("submitid", "title", "rating", "content", "subtype", "folderid"):
                if name not in form:
                    raise SiteChanged(f"Weasyl's edit form has no field {name!r}")
            fields = [(n, v) for n, v in form.with_values({}) if n != "token"]
            changes = {"title": title, "rating": rating, "content": post.get("description") or ""}
            answer = api.send("/edit/submission", data=_replaced(fields, changes))
            if _submission_id(answer) is None:
                raise ContentRejected(f"Weasyl refused the edit: {api.refusal(answer)}")
            answer = api.send("/submit/tags", data={"submitid": remote_id, "tags": " ".join(tags)})
            if not answer.is_redirect:
                raise ContentRejected(f"Weasyl refused the tags: {api.refusal(answer)}")
            return Published(str(remote_id), f"{api.base}/submission/{remote_id}", {"title": title})

    def delete(
        self,
        remote_id: str,
        credentials: Mapping[str, str],
        *,
        update_credentials: CredentialsUpdate | None = None,
    ) -> None:
        """Remove the submission; one that is already gone is no error."""
        with _Api.open(self, credentials) as api:
            try:
                api.json("GET", f"/api/submissions/{quote(str(remote_id))}/view")
            except NotFound:
                return
            answer = api.send("/remove/submission", data={"submitid": str(remote_id)})
            if not answer.is_redirect:
                raise ContentRejected(f"Weasyl refused the removal: {api.refusal(answer)}")

    def check_auth(
        self, credentials: Mapping[str, str], *, update_credentials: CredentialsUpdate | None = None
    ) -> str:
        with _Api.open(self, credentials) as api:
            return str(api.whoami()["login"])

    def parse_url(self, url: str) -> str | None:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https"):
            return None
        if parts.netloc.lower() not in ("weasyl.com", "www.weasyl.com"):
            return None
        match = re.fullmatch(
            r"/(?:submission|~[A-Za-z0-9]+/submissions)/(\d+)(?:/[^/]*)?/?", parts.path
        )
        return match.group(1) if match else None


# -- the HTTP side --------------------------------------------------------------------------


class NotFound(ContentRejected):
    """The submission is not there (removed, or never existed)."""


def _digests(progress: Mapping[str, Any], current: str) -> tuple[str, ...]:
    """What an earlier upload's file may hash to: the SHA-256 saved just before it was sent
    (the file then sent; the credits embedded in it may have changed since), then the file's
    as it would be sent now."""
    saved = progress.get("sha256")
    if isinstance(saved, str) and re.fullmatch(r"[0-9a-f]{64}", saved) and saved != current:
        return (saved, current)
    return (current,)


def _site_url(credentials: Mapping[str, str]) -> str:
    site = (credentials.get("site") or DEFAULT_SITE).strip().rstrip("/")
    parts = urlsplit(site)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise AuthError(f"{site!r} is not a Weasyl address")
    return site


class _Api:
    """A ``requests`` session sending the API key, and Weasyl's answer mapping."""

    def __init__(self, adapter: Weasyl, credentials: Mapping[str, str]) -> None:
        key = (credentials.get("api_key") or "").strip()
        if not key:
            raise AuthError("no Weasyl API key is set for this account")
        self.base = _site_url(credentials)
        self.timeout = adapter.timeout
        self._me: dict[str, Any] | None = None
        self.http = requests.Session()
        self.http.headers.update({"X-Weasyl-API-Key": key, "User-Agent": adapter.user_agent})

    @classmethod
    @contextmanager
    def open(cls, adapter: Weasyl, credentials: Mapping[str, str]) -> Iterator[_Api]:
        api = cls(adapter, credentials)
        try:
            yield api
        finally:
            api.http.close()

    def request(self, method: str, path: str, *, write: bool, **kwargs: Any) -> requests.Response:
        try:
            response = self.http.request(
                method, urljoin(self.base + "/", path), timeout=self.timeout, **kwargs
            )
        except requests.RequestException as exc:
            reached = write and may_have_reached(exc)
            raise TransientError(f"could not reach Weasyl: {exc}", ambiguous=reached) from exc
        with response:
            response.content  # noqa: B018 - read it all, then release the connection
        status = response.status_code
        if status == 401:
            raise AuthError("Weasyl refused the API key (401): create a new key in its settings")
        if status == 403:
            raise AuthError(f"Weasyl answered 403: {self.refusal(response)}")
        if status == 429:
            raise RateLimited("Weasyl: too many requests", retry_after(response.headers))
        if status >= 500:
            raise TransientError(f"Weasyl answered {status}", ambiguous=write)
        if status == 404:
            raise NotFound(f"Weasyl answered 404: {self.refusal(response)}")
        return response

    def send(self, path: str, **kwargs: Any) -> requests.Response:
        """POST a form that changes something; its answer is a 303 or an error page."""
        return self.request("POST", path, write=True, allow_redirects=False, **kwargs)

    def page(self, path: str) -> BeautifulSoup:
        response = self.request("GET", path, write=False)
        if response.status_code >= 400:
            raise ContentRejected(
                f"Weasyl answered {response.status_code}: {self.refusal(response)}"
            )
        soup = BeautifulSoup(response.text, "html.parser")
        message = soup.select_one("#error_content")
        if message is not None:
            raise ContentRejected(f"Weasyl: {self.refusal(response)}")
        return soup

    def json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.request(method, path, write=False, **kwargs)
        try:
            body = response.json()
        except ValueError:
            raise SiteChanged(f"Weasyl's {path} did not answer JSON") from None
        if response.status_code >= 400 or not isinstance(body, dict):
            raise ContentRejected(f"Weasyl answered {response.status_code} for {path}: {body}")
        return body

    def whoami(self) -> dict[str, Any]:
        if self._me is None:
            me = self.json("GET", "/api/whoami")
            if not me.get("login"):
                raise SiteChanged("Weasyl's /api/whoami answer has no 'login'")
            self._me = me
        return self._me

    def refusal(self, response: requests.Response) -> str:
        """The reason on Weasyl's error page (``#error_content``) or JSON error."""
        if "json" in response.headers.get("Content-Type", ""):
            try:
                error = response.json().get("error") or {}
            except (ValueError, AttributeError):
                error = {}
            return str(error.get("text") or error.get("name") or response.status_code)
        soup = BeautifulSoup(response.text, "html.parser")
        box = soup.select_one("#error_content")
        if box is None:
            return f"status {response.status_code}, no error message on the page"
        first = box.find("p")
        text = " ".join((first or box).get_text(" ", strip=True).split())
        if TOKEN_REFUSED in text:
            raise AuthError("Weasyl did not accept the API key on its form (CSRF check)")
        return text


def _submission_id(answer: requests.Response) -> str | None:
    if not answer.is_redirect:
        return None
    path = urlsplit(answer.headers.get("Location", "")).path
    match = SUBMISSION_PATH.search(path)
    if match:
        return match.group(1)
    query = urlsplit(answer.headers.get("Location", "")).query
    thumb = re.search(r"(?:^|&)submitid=(\d+)", query) if path == "/manage/thumbnail" else None
    return thumb.group(1) if thumb else None


def _tags(post: Mapping[str, Any]) -> list[str]:
    raw = post.get("tags") or ""
    tags = raw.split() if isinstance(raw, str) else [str(t) for t in raw]
    if len(tags) < 2:
        raise ContentRejected(
            f"Weasyl needs at least 2 tags to describe a submission, got {len(tags)}"
        )
    return tags


def _replaced(fields: list[tuple[str, str]], changes: Mapping[str, str]) -> list[tuple[str, str]]:
    return [(n, changes.get(n, v)) for n, v in fields]


def _sysname(login: str) -> str:
    return re.sub(r"[^a-z0-9]", "", login.lower())


def _time(value: Any) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _description_text(rendered: str) -> str:
    """The rendered description as text, with Weasyl's user links written back as the markup
    the artist typed (libweasyl renders ``<!~name>`` as ``<a href="/~name" class="user-icon">``
    with the avatar and the name, ``<!name>`` the same without the name, ``<~name>`` as a plain
    ``<a href="/~name">``), so that credits in it can be recognised."""
    soup = BeautifulSoup(rendered, "html.parser")
    for a in soup.select("a[href]"):
        match = re.fullmatch(r"(?:https?://[^/]+)?/~([A-Za-z0-9_.\-]+)", str(a["href"]))
        if not match:
            continue
        name = match.group(1)
        if "user-icon" in (a.get("class") or []):
            a.replace_with(f"<!~{name}>" if a.find("span") else f"<!{name}>")
        else:
            a.replace_with(f"<~{name}>")
    for br in soup.select("br"):
        br.replace_with("\n")
    for block in soup.select("p"):
        block.insert_after("\n\n")
    return soup.get_text().strip()
