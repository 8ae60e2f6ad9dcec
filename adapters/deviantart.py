"""DeviantArt: HTML artist comments, 50-character title from a restricted alphabet.

Sources (platforms.md): DeviantArtFs Api/Stash.fs (publish fields, mature levels and
classifications); PostyBirb+ deviant-art.service.ts (title rule); PB+ MAX_TAGS 30.

Publishing uses the official OAuth2 API (deviantart.com/developers; IsaacSchemm/DeviantArtFs
Api/Stash.fs, Api/Deviation.fs, Api/User.fs, Api/Gallery.fs). ``POST /stash/submit`` uploads
the file with title, artist comments and tags into Sta.sh and answers its ``itemid``, which is
saved at once; ``POST /stash/publish`` with the maturity fields makes it a deviation. A failed
publish resumes from the saved ``itemid`` without uploading again. An expired access token
(401 ``invalid_token``) is refreshed once with the refresh token and the new pair is stored
through ``update_credentials``. Edits: the description through ``stash/submit`` with the
saved ``itemid`` (the Sta.sh API updates the deviation an item became), title, maturity and
tags through ``/deviation/edit/{deviationid}``. The API has no documented way to delete a
deviation, so delete is unsupported.

Credentials: ``access_token`` and ``refresh_token`` (secret, refreshed and stored by
Creditline), ``client_id`` and ``client_secret`` (the registered application; secret),
``api_base`` (default ``https://www.deviantart.com``). The app needs the ``stash`` and
``publish`` scopes (``browse`` and ``user`` for import and the account check).
"""

from __future__ import annotations

import datetime as dt
import html
import importlib.metadata
import json
import logging
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import requests

from adapters.base import Adapter, ImageLimits, RenderContext, TagRules
from adapters.errors import (
    AuthError,
    ContentRejected,
    RateLimited,
    SiteChanged,
    TransientError,
    Unsupported,
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
from adapters.text.writers.html import DeviantArtWriter

logger = logging.getLogger(__name__)

TITLE_ALLOWED = re.compile(r"[^A-Za-z0-9 _$!?:.,'+\-=~`@#%^*\[\]()/{}\\|]")


class DeviantArt(Adapter):
    id = "deviantart"
    name = "DeviantArt"
    text_limit = None  # unconfirmed
    text_field = "description"
    has_title = True
    title_limit = 50
    markup = "html"
    writer = DeviantArtWriter
    # keeps_metadata: unknown (pages show re-encoded copies; the original is a download only
    # where the artist allows it); conservatively not
    images = ImageLimits(max_count=1, max_bytes=30_000_000, keeps_metadata=False)
    supports_alt_text = False
    tag_rules = TagRules(max_count=30, space="_", drop=r"[^A-Za-z0-9_]")
    rating_map = MappingProxyType(
        {
            "general": {"is_mature": False},
            "mature": {"is_mature": True, "mature_level": "moderate"},
            "adult": {"is_mature": True, "mature_level": "strict"},
        }
    )
    flag_map = MappingProxyType(
        {
            "nudity": "nudity",
            "sexual": "sexual",
            "violence": "gore",
            "gore": "gore",
            "language": "language",
        }
    )
    profile_url_template = "https://www.deviantart.com/{handle}"
    handle_pattern = re.compile(r"([A-Za-z0-9\-]{3,20})")
    handle_hint = "3-20 letters, digits or hyphens"
    native_mention = None  # :iconNAME: is unconfirmed; a profile link is certain
    supports_edit = True
    # publishing
    credential_fields: ClassVar[tuple[str, ...]] = (
        "access_token",
        "refresh_token",
        "client_id",
        "client_secret",
        "api_base",
    )
    default_api_base: ClassVar[str] = "https://www.deviantart.com"
    timeout = 120.0  # a 30 MB upload
    page_size: ClassVar[int] = 24  # gallery/all's maximum ``limit``
    lookup_window: ClassVar[float] = 600.0  # a publish answer lost: seconds of clock slack
    # What every publish agrees to and declares: the artist's own, non-AI work, with
    # third-party AI use refused (``noai``); free download off.
    publish_defaults: ClassVar[tuple[tuple[str, str], ...]] = (
        ("agree_submission", "1"),
        ("agree_tos", "1"),
        ("is_ai_generated", "0"),
        ("noai", "1"),
        ("allow_free_download", "0"),
    )

    def normalise_handle(self, handle: str) -> str:
        return handle.lower()

    def clean_title(self, title: str) -> tuple[str, list[str]]:
        cleaned = re.sub(r"\s+", " ", TITLE_ALLOWED.sub("", title)).strip()
        if cleaned == title:
            return title, []
        return cleaned or "Untitled", ["title: characters DeviantArt does not accept were removed"]

    def prepare_title(self, title: str, rules: Any) -> tuple[str, list[str]]:
        title, warnings = super().prepare_title(title, rules)
        if title.endswith("…"):  # shortened: "…" is outside DeviantArt's title alphabet
            title = title[:-1].rstrip()[: (self.title_limit or 50) - 3].rstrip() + "..."
        return title, warnings

    def rating_fields(self, value: Any, flags: list[Any]) -> Any:
        rating = dict(value)
        if rating["is_mature"]:
            rating["mature_classification"] = list(dict.fromkeys(flags))
        return rating

    def fields(self, ctx: RenderContext) -> dict[str, Any]:
        return {"tags": ctx.tags, "rating": ctx.rating}

    # -- publishing ------------------------------------------------------------------------
    # Progress saved: "itemid" (in Sta.sh), "publish_sent_at" (just before the publish
    # request), then "deviationid" and "url".

    def _publish(self, job: PublishJob, progress: dict[str, Any], save: Checkpoint) -> Published:
        if progress.get("deviationid") and progress.get("url"):
            return _published(str(progress["deviationid"]), str(progress["url"]), progress)
        if not job.images:
            raise ContentRejected("a DeviantArt deviation needs an image")
        post = job.post
        with _Api.open(self, job.credentials, job.update_credentials) as api:
            itemid = progress.get("itemid")
            if not itemid:
                image = self._fit(job.images[0])
                answer = api.call(
                    "POST",
                    "/stash/submit",
                    data=[*_text_fields(post), ("is_dirty", "false")],
                    files={"file": (image.filename, image.data, image.media_type)},
                    write=True,
                )
                itemid = str(_field(answer, "itemid", "stash/submit"))
                save({"itemid": itemid})
            save({"publish_sent_at": time.time()})
            answer = api.call(
                "POST",
                "/stash/publish",
                data=[("itemid", str(itemid)), *_maturity(post), *self.publish_defaults],
                write=True,
            )
            deviationid = str(_field(answer, "deviationid", "stash/publish"))
            url = str(_field(answer, "url", "stash/publish"))
        save({"deviationid": deviationid, "url": url})
        return _published(deviationid, url, {"itemid": itemid})

    def _fit(self, media: Media) -> Media:
        return fit_media(media, self.images, self.name)

    def lookup(self, job: PublishJob) -> Lookup:
        """A deviation exists only if the publish request was sent: then the Sta.sh item is
        either still there (not published) or gone, and the gallery shows the deviation."""
        progress = job.progress
        if progress.get("deviationid") and progress.get("url"):
            found = _published(str(progress["deviationid"]), str(progress["url"]), progress)
            return Lookup(Presence.FOUND, found)
        sent = progress.get("publish_sent_at")
        if sent is None:
            return Lookup(Presence.ABSENT)
        with _Api.open(self, job.credentials, job.update_credentials) as api:
            try:
                api.call("GET", f"/stash/item/{quote(str(progress.get('itemid')))}")
                return Lookup(Presence.ABSENT)  # still in Sta.sh: it was not published
            except ContentRejected:
                pass
            me = _field(api.call("GET", "/user/whoami"), "username", "user/whoami")
            answer = api.call(
                "GET",
                "/gallery/all",
                params={"username": me, "limit": self.page_size, "mature_content": "true"},
            )
            title = str(job.post.get("title") or "Untitled")
            for deviation in answer.get("results") or ():
                published_at = float(deviation.get("published_time") or 0)
                if deviation.get("title") == title and published_at >= sent - self.lookup_window:
                    return Lookup(Presence.FOUND, self._from_gallery(deviation))
        return Lookup(Presence.UNKNOWN)

    def edit(self, remote_id: str, job: PublishJob) -> Published:
        """Artist comments (the credits) through the deviation's Sta.sh item, then title,
        maturity and tags through ``/deviation/edit``. Needs the ids saved when posting."""
        progress, post = job.progress, job.post
        itemid = progress.get("itemid")
        deviationid = progress.get("deviationid") or (
            remote_id if UUID.fullmatch(remote_id) else None
        )
        if not itemid or not deviationid:
            raise Unsupported(
                "DeviantArt descriptions can be changed only for deviations Creditline posted "
                "(their Sta.sh item id is needed)"
            )
        with _Api.open(self, job.credentials, job.update_credentials) as api:
            api.call(
                "POST",
                "/stash/submit",
                data=[("itemid", str(itemid)), *_text_fields(post)],
                write=True,
            )
            answer = api.call(
                "POST",
                f"/deviation/edit/{quote(str(deviationid))}",
                data=[("title", _title(post)), *_maturity(post), *_tags(post)],
                write=True,
            )
            url = str(answer.get("url") or progress.get("url") or "")
            return _published(str(deviationid), url, {"itemid": itemid})

    def check_auth(
        self, credentials: Mapping[str, str], *, update_credentials: CredentialsUpdate | None = None
    ) -> str:
        with _Api.open(self, credentials, update_credentials) as api:
            return str(_field(api.call("GET", "/user/whoami"), "username", "user/whoami"))

    def fetch(
        self,
        credentials: Mapping[str, str],
        limit: int = 100,
        *,
        update_credentials: CredentialsUpdate | None = None,
        since: dt.datetime | None = None,
    ) -> list[Published]:
        """The account's gallery ("All"), newest first, mature deviations included, with each
        page's descriptions and tags from ``/deviation/metadata``; paging stops at the first
        deviation published before ``since``."""
        out: list[Published] = []
        with _Api.open(self, credentials, update_credentials) as api:
            me = _field(api.call("GET", "/user/whoami"), "username", "user/whoami")
            offset = 0
            while len(out) < limit:
                answer = api.call(
                    "GET",
                    "/gallery/all",
                    params={
                        "username": me,
                        "offset": offset,
                        "limit": min(self.page_size, limit - len(out)),
                        "mature_content": "true",
                    },
                )
                results = _field(answer, "results", "gallery/all")
                kept = [d for d in results if not _before(d.get("published_time"), since)]
                metadata = self._metadata_of(api, [str(d["deviationid"]) for d in kept])
                out.extend(
                    self._from_gallery(d, metadata.get(str(d["deviationid"]), {})) for d in kept
                )
                if len(kept) < len(results) or not results or not answer.get("has_more"):
                    break
                offset = int(answer.get("next_offset") or offset + len(results))
        return out[:limit]

    def _metadata_of(self, api: _Api, ids: list[str]) -> dict[str, Mapping[str, Any]]:
        """``GET /deviation/metadata`` (at most 50 ids a call): description (HTML) and tags."""
        found: dict[str, Mapping[str, Any]] = {}
        for start in range(0, len(ids), 50):
            answer = api.call(
                "GET",
                "/deviation/metadata",
                params={"deviationids[]": ids[start : start + 50], "mature_content": "true"},
            )
            for item in _field(answer, "metadata", "deviation/metadata"):
                if isinstance(item, dict) and item.get("deviationid"):
                    found[str(item["deviationid"])] = item
        return found

    def _from_gallery(
        self, deviation: Mapping[str, Any], metadata: Mapping[str, Any] | None = None
    ) -> Published:
        content = deviation.get("content") or {}
        metadata = metadata or {}
        description = str(metadata.get("description") or "")
        published = _published(
            str(deviation["deviationid"]),
            str(deviation.get("url") or ""),
            {
                "title": deviation.get("title") or "",
                "image_url": content.get("src"),
                "is_mature": bool(deviation.get("is_mature")),
                "published_time": deviation.get("published_time"),
            },
        )
        if not metadata:
            return published
        tags = [
            str(t.get("tag_name"))
            for t in metadata.get("tags") or ()
            if isinstance(t, dict) and t.get("tag_name")
        ]
        extra = {
            **published.extra,
            "html": description,
            "description": _text_of(description),
            "tags": tags,
        }
        return Published(published.remote_id, published.url, extra)

    def parse_url(self, url: str) -> str | None:
        parts = urlsplit(url.strip())
        host = parts.netloc.lower()
        if parts.scheme not in ("http", "https"):
            return None
        path = parts.path.rstrip("/")
        if host in ("deviantart.com", "www.deviantart.com"):
            match = ART_PATH.fullmatch(path) or DEVIATION_PATH.fullmatch(path)
        elif host.endswith(".deviantart.com"):  # the old ``user.deviantart.com/art/...`` form
            match = OLD_ART_PATH.fullmatch(path)
        else:
            return None
        return match.group("id") if match else None


ART_PATH = re.compile(r"/[A-Za-z0-9\-]+/art/(?:[^/]*-)?(?P<id>[0-9]+)")
OLD_ART_PATH = re.compile(r"/art/(?:[^/]*-)?(?P<id>[0-9]+)")
DEVIATION_PATH = re.compile(r"/deviation/(?P<id>[0-9]+)")
UUID = re.compile(r"[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}")


def _before(value: Any, since: dt.datetime | None) -> bool:
    """Whether a ``published_time`` (Unix seconds, as a string) is older than ``since``."""
    if since is None or not str(value or "").isdigit():
        return False
    return dt.datetime.fromtimestamp(int(value), dt.UTC) < since


def _text_of(description: str) -> str:
    """The description's text: ``<br>`` as line breaks, tags dropped, entities decoded."""
    text = re.sub(r"(?i)<br\s*/?>", "\n", description)
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


def _published(deviationid: str, url: str, extra: Mapping[str, Any]) -> Published:
    """Remote id: the number in the deviation's URL (what ``parse_url`` reads back); the
    API's own ``deviationid`` (a UUID, needed to edit) stays in ``extra``."""
    match = ART_PATH.fullmatch(urlsplit(url).path.rstrip("/"))
    remote_id = match.group("id") if match else deviationid
    kept = {k: v for k, v in extra.items() if k in EXTRA_KEYS}
    return Published(remote_id, url, {**kept, "deviationid": deviationid, "post_url": url})


EXTRA_KEYS = frozenset({"itemid", "title", "image_url", "is_mature", "published_time"})


def _title(post: Mapping[str, Any]) -> str:
    return str(post.get("title") or "").strip() or "Untitled"


def _tags(post: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [("tags[]", str(tag)) for tag in post.get("tags") or ()]


def _text_fields(post: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [
        ("title", _title(post)),
        ("artist_comments", str(post.get("description") or "")),
        *_tags(post),
    ]


def _maturity(post: Mapping[str, Any]) -> list[tuple[str, str]]:
    rating = post.get("rating") or {}
    if not rating.get("is_mature"):
        return [("is_mature", "0")]
    fields = [("is_mature", "1"), ("mature_level", str(rating.get("mature_level") or "strict"))]
    return fields + [
        ("mature_classification[]", str(c)) for c in rating.get("mature_classification") or ()
    ]


def _field(answer: Any, name: str, what: str) -> Any:
    if not isinstance(answer, dict) or answer.get(name) in (None, ""):
        raise SiteChanged(f"DeviantArt's {what} answer has no {name!r} field")
    return answer[name]


def _version() -> str:
    try:
        return importlib.metadata.version("creditline")
    except importlib.metadata.PackageNotFoundError:
        return "0"


class _Api:
    """One ``requests`` session with the user's bearer token, refreshed once on
    ``invalid_token``, and the error mapping."""

    def __init__(
        self,
        adapter: DeviantArt,
        credentials: Mapping[str, str],
        update: CredentialsUpdate | None,
        http: requests.Session,
    ) -> None:
        self.access_token = credentials.get("access_token") or ""
        self.refresh_token = credentials.get("refresh_token") or ""
        self.client_id = credentials.get("client_id") or ""
        self.client_secret = credentials.get("client_secret") or ""
        if not self.access_token and not self.refresh_token:
            raise AuthError("DeviantArt is not connected for this account (no OAuth token)")
        base = (credentials.get("api_base") or adapter.default_api_base).strip().rstrip("/")
        if urlsplit(base).scheme not in ("http", "https"):
            raise AuthError(f"{base!r} is not a DeviantArt address")
        self.base, self.timeout, self.http, self.update = base, adapter.timeout, http, update
        http.headers["User-Agent"] = f"Creditline/{_version()}"  # DeviantArt requires one

    @classmethod
    @contextmanager
    def open(
        cls, adapter: DeviantArt, credentials: Mapping[str, str], update: CredentialsUpdate | None
    ) -> Iterator[_Api]:
        http = requests.Session()
        try:
            yield cls(adapter, credentials, update, http)
        finally:
            http.close()

    def call(self, method: str, path: str, *, write: bool = False, **kwargs: Any) -> Any:
        if not self.access_token:
            self.refresh()
        try:
            return self._send(method, f"/api/v1/oauth2{path}", write, kwargs, bearer=True)
        except _ExpiredToken:
            self.refresh()
        try:
            return self._send(method, f"/api/v1/oauth2{path}", write, kwargs, bearer=True)
        except _ExpiredToken as exc:
            raise AuthError("DeviantArt refused a token it had just issued") from exc

    def refresh(self) -> None:
        """``grant_type=refresh_token``; DeviantArt answers a new access *and* refresh token."""
        if not (self.refresh_token and self.client_id and self.client_secret):
            raise AuthError("the DeviantArt token expired and cannot be refreshed: reconnect")
        form = {
            "grant_type": "refresh_token",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
        }
        try:
            answer = self._send("POST", "/oauth2/token", False, {"data": form}, bearer=False)
        except (ContentRejected, _ExpiredToken) as exc:  # invalid_grant, invalid_client ...
            raise AuthError(f"DeviantArt refused to refresh the token: {exc}") from exc
        self.access_token = str(_field(answer, "access_token", "oauth2/token"))
        self.refresh_token = str(answer.get("refresh_token") or self.refresh_token)
        if self.update is not None:
            self.update({"access_token": self.access_token, "refresh_token": self.refresh_token})

    def _send(
        self, method: str, path: str, write: bool, kwargs: dict[str, Any], *, bearer: bool
    ) -> Any:
        headers = {"Authorization": f"Bearer {self.access_token}"} if bearer else {}
        try:
            with self.http.request(
                method, self.base + path, headers=headers, timeout=self.timeout, **kwargs
            ) as response:
                status, body = response.status_code, response.text
                retry_after = response.headers.get("Retry-After")
        except requests.Timeout as exc:
            reached = write and not isinstance(exc, requests.ConnectTimeout)
            raise TransientError(f"DeviantArt did not answer in time ({exc})", reached) from exc
        except requests.RequestException as exc:
            raise TransientError(
                f"could not reach DeviantArt: {exc}", write and may_have_reached(exc)
            ) from exc
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        if 200 <= status < 300:
            if not isinstance(answer, dict):
                raise SiteChanged(f"DeviantArt answered {path} without JSON")
            return answer
        raise _error(status, answer, body, retry_after, write)


class _ExpiredToken(Exception):
    """401 ``invalid_token``: refresh and try once more."""


def _error(status: int, answer: Any, body: str, retry_after: str | None, write: bool) -> Exception:
    error, detail = "", ""
    if isinstance(answer, dict):
        error = str(answer.get("error") or "")
        detail = str(answer.get("error_description") or error)
        if answer.get("error_details"):
            detail += f" {json.dumps(answer['error_details'], sort_keys=True)}"
    detail = detail or re.sub(r"<[^>]+>|\s+", " ", body).strip()[:200] or "no reason given"
    message = f"DeviantArt answered {status}: {detail}"
    if status == 401 and error == "invalid_token":
        return _ExpiredToken(message)
    if status in (401, 403):
        return AuthError(message)
    if status == 429:
        return RateLimited(message, seconds(retry_after))
    if status >= 500:
        return TransientError(message, ambiguous=write)
    return ContentRejected(message)
