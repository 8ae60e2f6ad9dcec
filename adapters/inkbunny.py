"""Inkbunny: BBCode with ``[iconname]`` and cross-site tags; rating as content flags.

Sources (platforms.md): wiki.inkbunny.net API; ellypaws/inkbunny edit.go and
types/ratings.go (tag[2] Nudity, tag[3] Mild Violence, tag[4] Sexual Themes, tag[5] Strong
Violence); PostyBirb inkbunny.website.ts (>= 4 keywords, ``[fa]`` ``[w]`` ``[da]``).

Publishing uses the official API (wiki.inkbunny.net "API"; ellypaws/inkbunny upload.go,
edit.go, delete.go, search.go, types/errors.go for the numbered errors). The account must have
"Enable API Access" ticked. ``api_login.php`` gives a session id (``sid``), kept through
``update_credentials`` and renewed when Inkbunny says it expired (errors 1/2);
``api_upload.php`` creates the submission **unpublished**, its id is saved at once; then
``api_editsubmission.php`` sets title, description, keywords and rating flags and publishes it
(``visibility=yes``). A retry after a failure between the two resumes with the saved id and
never uploads again. Errors come back as HTTP 200 with ``error_code``/``error_message``.

Credentials: ``username``, ``password`` (secret), ``sid`` (secret; stored by Creditline),
``api_base`` (default ``https://inkbunny.net``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import requests

from adapters.base import Adapter, ImageLimits, RenderContext, TagRules
from adapters.errors import (
    AuthError,
    ContentRejected,
    RateLimited,
    SiteChanged,
    TransientError,
)
from adapters.http import may_have_reached, seconds
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
from adapters.text.writers.bbcode import InkbunnyWriter

logger = logging.getLogger(__name__)

ADULT_FLAGS = frozenset({4, 5})
RATING_FLAGS = (2, 3, 4, 5)  # every flag is sent, so an edit can also clear one


class Inkbunny(Adapter):
    id = "inkbunny"
    name = "Inkbunny"
    text_limit = None  # unconfirmed
    text_field = "description"
    has_title = True
    markup = "bbcode"
    writer = InkbunnyWriter
    # keeps_metadata: unknown (its API tells an "initial" from a "full" file MD5, so files may
    # be rewritten); conservatively not
    images = ImageLimits(max_count=30, max_bytes=200_000_000, keeps_metadata=False)
    supports_alt_text = False
    tag_rules = TagRules(min_count=4, separator=",", space="_")
    # Inkbunny has no rating level, only flags: defaults used when the draft gives no flag.
    rating_map = MappingProxyType({"general": (), "mature": (2,), "adult": (4,)})
    flag_map = MappingProxyType({"nudity": 2, "violence": 3, "sexual": 4, "gore": 5})
    profile_url_template = "https://inkbunny.net/{handle}"
    handle_pattern = re.compile(r"([A-Za-z0-9]{1,22})")
    handle_hint = "letters and digits (unconfirmed rule)"
    native_mention = "[iconname]{handle}[/iconname]"
    cross_site = MappingProxyType(
        {
            "furaffinity": "[fa]{handle}[/fa]",
            "weasyl": "[w]{handle}[/w]",
            "deviantart": "[da]{handle}[/da]",
        }
    )
    supports_edit = True
    supports_delete = True
    # publishing
    credential_fields: ClassVar[tuple[str, ...]] = ("username", "password", "sid", "api_base")
    default_api_base: ClassVar[str] = "https://inkbunny.net"
    visibility: ClassVar[str] = "yes"  # public, and watchers are told ("yes_nowatch": not)
    timeout = 120.0  # uploads of up to 30 files
    min_interval = 60.0  # Inkbunny refuses floods (error 6, an hourly submission limit)
    page_size: ClassVar[int] = 100  # api_search.php's maximum submissions_per_page

    def rating_fields(self, value: Any, flags: list[Any]) -> Any:
        chosen = set(flags) if flags else set(value)
        if value and set(value) <= ADULT_FLAGS and not chosen & ADULT_FLAGS:
            chosen |= set(value)  # an adult rating must stay adult whatever the flags say
        return {f"tag[{n}]": "yes" for n in sorted(chosen)}

    def fields(self, ctx: RenderContext) -> dict[str, Any]:
        return {"keywords": ",".join(ctx.tags), "rating": ctx.rating}

    # -- publishing ------------------------------------------------------------------------
    # Progress saved: "submission_id" (uploaded, not yet public), then "published" and "url".

    def _publish(self, job: PublishJob, progress: dict[str, Any], save: Checkpoint) -> Published:
        if progress.get("published") and progress.get("submission_id"):
            return Published(str(progress["submission_id"]), str(progress.get("url") or ""))
        if not job.images:
            raise ContentRejected("an Inkbunny submission needs at least one file")
        with _Session.open(self, job.credentials, job.update_credentials) as ib:
            submission_id = progress.get("submission_id")
            if submission_id:
                try:
                    return self._make_public(ib, str(submission_id), job, save)
                except _Gone:  # the unpublished upload was deleted meanwhile: upload again
                    save({"submission_id": None})
            submission_id = self._upload(ib, job)
            save({"submission_id": submission_id})
            return self._make_public(ib, submission_id, job, save)

    def _upload(self, ib: _Session, job: PublishJob) -> str:
        files = []
        for i, media in enumerate(job.images):
            image = self._fit(media)
            files.append((f"uploadedfile[{i}]", (image.filename, image.data, image.media_type)))
        answer = ib.call("api_upload.php", {}, files=files, write=True)
        return str(_field(answer, "submission_id", "upload"))

    def _make_public(
        self, ib: _Session, submission_id: str, job: PublishJob, save: Checkpoint
    ) -> Published:
        fields = {**self._metadata(job.post), "visibility": self.visibility}
        answer = ib.call(
            "api_editsubmission.php", {"submission_id": submission_id, **fields}, write=True
        )
        if str(_field(answer, "submission_id", "edit")) != submission_id:
            raise SiteChanged("Inkbunny's edit answer names another submission_id")
        url = ib.submission_url(submission_id)
        save({"published": True, "url": url})
        return Published(submission_id, url)

    def _metadata(self, post: Mapping[str, Any]) -> dict[str, str]:
        rating = post.get("rating") or {}
        flags = {
            f"tag[{n}]": "yes" if rating.get(f"tag[{n}]") == "yes" else "no" for n in RATING_FLAGS
        }
        return {
            "title": str(post.get("title") or ""),
            "desc": str(post.get("description") or ""),
            "keywords": str(post.get("keywords") or ""),
            **flags,
        }

    def _fit(self, media: Media) -> Media:
        return fit_media(media, self.images, self.name)

    def lookup(self, job: PublishJob) -> Lookup:
        """Only the edit of a saved submission makes anything public, so: no saved id, no
        post (an upload whose answer was lost stays unpublished); a saved id is checked."""
        submission_id = job.progress.get("submission_id")
        if not submission_id:
            return Lookup(Presence.ABSENT)
        with _Session.open(self, job.credentials, job.update_credentials) as ib:
            answer = ib.call("api_submissions.php", {"submission_ids": str(submission_id)})
            found = [s for s in answer.get("submissions") or () if _yes(s.get("public"))]
            if not found:
                return Lookup(Presence.ABSENT)  # unpublished or gone: publishing resumes
            return Lookup(Presence.FOUND, self._published(ib, found[0]))

    def edit(self, remote_id: str, job: PublishJob) -> Published:
        """Rewrite title, description, keywords and rating flags (visibility unchanged)."""
        with _Session.open(self, job.credentials, job.update_credentials) as ib:
            fields = {"submission_id": str(remote_id), **self._metadata(job.post)}
            answer = ib.call("api_editsubmission.php", fields, write=True)
            submission_id = str(_field(answer, "submission_id", "edit"))
            return Published(submission_id, ib.submission_url(submission_id))

    def delete(
        self,
        remote_id: str,
        credentials: Mapping[str, str],
        *,
        update_credentials: CredentialsUpdate | None = None,
    ) -> None:
        """Delete the submission; one that is already gone is no error."""
        with _Session.open(self, credentials, update_credentials) as ib:
            try:
                ib.call("api_delsubmission.php", {"submission_id": str(remote_id)}, write=True)
            except _Gone:
                return

    def check_auth(
        self, credentials: Mapping[str, str], *, update_credentials: CredentialsUpdate | None = None
    ) -> str:
        """Log in (proves the password and that API access is enabled); the new session is
        kept. Inkbunny's login answer has no name, so the account's username is returned."""
        with _Session.open(self, credentials, update_credentials) as ib:
            ib.login()
            return ib.username

    def fetch(
        self,
        credentials: Mapping[str, str],
        limit: int = 100,
        *,
        update_credentials: CredentialsUpdate | None = None,
        since: dt.datetime | None = None,
    ) -> list[Published]:
        """The account's public submissions, newest first (``api_search.php?username=``), with
        their descriptions (``api_submissions.php``, ``show_description=yes``, one call per
        page); paging stops at the first submission created before ``since``."""
        out: list[Published] = []
        with _Session.open(self, credentials, update_credentials) as ib:
            page = 1
            while len(out) < limit:
                answer = ib.call(
                    "api_search.php",
                    {
                        "username": ib.username,
                        # the same size on every page: ``page`` counts pages of this size
                        # (shrinking it for the last page would re-read and skip posts)
                        "submissions_per_page": str(self.page_size),
                        "page": str(page),
                        "orderby": "create_datetime",
                        "scraps": "both",
                    },
                )
                found = _field(answer, "submissions", "search")
                kept = [s for s in found if not _before(s.get("create_datetime"), since)]
                older = len(kept) < len(found)
                kept = kept[: limit - len(out)]  # the last page is cut to ``limit`` here
                descriptions = self._descriptions(ib, [str(s["submission_id"]) for s in kept])
                for submission in kept:
                    extra = {"description": descriptions.get(str(submission["submission_id"]))}
                    out.append(self._published(ib, {**submission, **extra}))
                if older:
                    break  # newest first: the rest is older than ``since``
                if not found or page >= int(answer.get("pages_count") or 1):
                    break
                page += 1
        return out[:limit]

    def _descriptions(self, ib: _Session, ids: list[str]) -> dict[str, str]:
        if not ids:
            return {}
        answer = ib.call(
            "api_submissions.php", {"submission_ids": ",".join(ids), "show_description": "yes"}
        )
        return {
            str(s.get("submission_id")): str(s.get("description") or "")
            for s in answer.get("submissions") or ()
            if isinstance(s, dict)
        }

    def _published(self, ib: _Session, submission: Mapping[str, Any]) -> Published:
        submission_id = str(submission["submission_id"])
        url = ib.submission_url(submission_id)
        return Published(
            submission_id,
            url,
            {
                "title": submission.get("title") or "",
                "image_url": submission.get("file_url_full") or "",
                "post_url": url,
                "thumbnail_url": submission.get("thumbnail_url_medium"),
                "rating": submission.get("rating_name"),
                "created_at": submission.get("create_datetime"),
                "public": _yes(submission.get("public")),
                "description": submission.get("description") or "",
            },
        )

    def parse_url(self, url: str) -> str | None:
        parts = urlsplit(url.strip())
        host = parts.netloc.lower().removeprefix("www.")
        if parts.scheme not in ("http", "https") or host != "inkbunny.net":
            return None
        if m := SUBMISSION_PATH.fullmatch(parts.path):
            return m.group("id")
        if parts.path == "/submissionview.php":
            ids = parse_qs(parts.query).get("id") or []
            return ids[0] if ids and ids[0].isdigit() else None
        return None


# ``/s/123``, ``/s/123-p2-`` (page 2), ``/s/123-p2-#pictop``
SUBMISSION_PATH = re.compile(r"/s/(?P<id>[0-9]+)(?:-p[0-9]+-?)?/?")


def _before(value: Any, since: dt.datetime | None) -> bool:
    """Whether Inkbunny's ``create_datetime`` (``2026-01-01 00:00:00.000000+00``) is older."""
    if since is None or not value:
        return False
    text = re.sub(r"([+-]\d\d)$", r"\1:00", str(value).strip())
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return False
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)) < since


def _yes(value: Any) -> bool:
    return str(value).lower() in ("t", "true", "yes", "1")


def _field(answer: Any, name: str, what: str) -> Any:
    if not isinstance(answer, dict) or answer.get(name) in (None, ""):
        raise SiteChanged(f"Inkbunny's {what} answer has no {name!r} field")
    return answer[name]


class _Gone(ContentRejected):
    """The submission does not exist (any more): errors 8 and 40."""


class _Expired(Exception):
    """The session id was refused (errors 1 and 2): log in again."""


# ellypaws/inkbunny types/errors.go, numbered as on wiki.inkbunny.net "API" (Error Codes).
LOGIN_REFUSED = 0
SESSION_ERRORS = frozenset({1, 2})
GONE_ERRORS = frozenset({8, 40})
HOURLY_LIMIT = 6
SERVER_ERRORS = frozenset({7, 11, 19, 24, 33, 34})


class _Session:
    """A ``requests`` session plus Inkbunny's ``sid``: logs in when needed, renews an expired
    session once per call, and maps every failure to the adapter error taxonomy."""

    def __init__(
        self,
        adapter: Inkbunny,
        credentials: Mapping[str, str],
        update: CredentialsUpdate | None,
        http: requests.Session,
    ) -> None:
        self.username = (credentials.get("username") or "").strip()
        self.password = credentials.get("password") or ""
        self.sid = credentials.get("sid") or ""
        if not self.username or not (self.password or self.sid):
            raise AuthError("the Inkbunny username and password are not set for this account")
        base = (credentials.get("api_base") or adapter.default_api_base).strip().rstrip("/")
        if urlsplit(base).scheme not in ("http", "https"):
            raise AuthError(f"{base!r} is not an Inkbunny address")
        self.base, self.timeout, self.http, self.update = base, adapter.timeout, http, update
        http.headers["User-Agent"] = "Creditline"

    @classmethod
    @contextmanager
    def open(
        cls, adapter: Inkbunny, credentials: Mapping[str, str], update: CredentialsUpdate | None
    ) -> Iterator[_Session]:
        http = requests.Session()
        try:
            yield cls(adapter, credentials, update, http)
        finally:
            http.close()

    def submission_url(self, submission_id: str) -> str:
        return f"{self.base}/s/{submission_id}"

    def login(self) -> None:
        if not self.password:
            raise AuthError("the Inkbunny session expired and no password is stored")
        answer = self._post(
            "api_login.php", {"username": self.username, "password": self.password}, None, False
        )
        self.sid = str(_field(answer, "sid", "login"))
        if self.update is not None:
            self.update({"sid": self.sid})

    def call(
        self,
        endpoint: str,
        fields: Mapping[str, str],
        *,
        files: list[tuple[str, Any]] | None = None,
        write: bool = False,
    ) -> Any:
        if not self.sid:
            self.login()
        try:
            return self._post(endpoint, {"sid": self.sid, **fields}, files, write)
        except _Expired:
            self.login()
        try:
            return self._post(endpoint, {"sid": self.sid, **fields}, files, write)
        except _Expired as exc:
            raise AuthError("Inkbunny refused a session it had just created") from exc

    def _post(
        self,
        endpoint: str,
        fields: Mapping[str, str],
        files: list[tuple[str, Any]] | None,
        write: bool,
    ) -> Any:
        """POST multipart/form-data, as the API documentation recommends."""
        parts: list[tuple[str, Any]] = [(k, (None, v)) for k, v in fields.items()]
        try:
            with self.http.post(
                f"{self.base}/{endpoint}", files=[*parts, *(files or [])], timeout=self.timeout
            ) as response:
                status, body = response.status_code, response.text
                retry_after = response.headers.get("Retry-After")
        except requests.Timeout as exc:
            reached = write and not isinstance(exc, requests.ConnectTimeout)
            raise TransientError(f"Inkbunny did not answer in time ({exc})", reached) from exc
        except requests.RequestException as exc:
            raise TransientError(
                f"could not reach Inkbunny: {exc}", write and may_have_reached(exc)
            ) from exc
        if status == 429:
            raise RateLimited(f"Inkbunny answered 429 to {endpoint}", seconds(retry_after))
        if status >= 500:
            raise TransientError(f"Inkbunny answered {status} to {endpoint}", ambiguous=write)
        if status >= 400:
            raise ContentRejected(f"Inkbunny answered {status} to {endpoint}")
        try:
            answer = json.loads(body)
        except ValueError:
            raise SiteChanged(f"Inkbunny's {endpoint} answered without JSON") from None
        if isinstance(answer, dict) and "error_code" in answer:
            raise _api_error(endpoint, answer, write)
        return answer


def _api_error(endpoint: str, answer: Mapping[str, Any], write: bool) -> Exception:
    try:
        code = int(answer.get("error_code"))
    except (TypeError, ValueError):
        code = -1
    message = f"Inkbunny error {code} from {endpoint}: {answer.get('error_message') or ''}".strip()
    if code in SESSION_ERRORS:
        return _Expired(message)
    if code == LOGIN_REFUSED:
        return AuthError(f"{message} (check the password and that API access is enabled)")
    if code in GONE_ERRORS:
        return _Gone(message)
    if code == HOURLY_LIMIT:
        return RateLimited(message, None)
    if code in SERVER_ERRORS:
        return TransientError(message, ambiguous=write and code != 7)
    return ContentRejected(message)
