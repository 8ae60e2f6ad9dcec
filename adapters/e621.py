"""e621: DText description (no title field), tag string, s/q/e rating.

Sources (platforms.md): e621ng config/danbooru_default_config.rb (description 50,000,
file limits), app/models/post.rb (tag warnings), e621.net/help/dtext.

Publishing uses the official API (e621ng): HTTP Basic ``login:api_key`` and a descriptive
User-Agent ``Creditline/<version> (by <login> on e621)`` (default library agents are blocked).
One request makes the post: ``POST /uploads.json`` (multipart ``upload[file]``,
``upload[tag_string]``, ``upload[rating]``, ``upload[source]``, ``upload[description]``).
A file e621 already has answers 412 ``{"reason": "duplicate", "post_id": ...}``: that is the
idempotent create — a retry after a lost answer finds its own post (by MD5) and adopts it.
Description edits go through ``PATCH /posts/<id>.json``; deleting is a staff action.

Credentials: ``login`` (the e621 user name), ``api_key`` (secret), ``site`` (API base,
default ``https://e621.net``). A person's ``e621`` account in the directory is their e621
name, used as their artist tag when they are credited as an artist.

Sources for publishing: e621ng app/controllers/uploads_controller.rb (412 answers),
posts_controller.rb (update params), application_controller.rb (429 "Throttled", 401 from
SessionLoader), app/logical/session_loader.rb (Basic auth); the API notes quoted in docs.rs
``rs621`` (User-Agent, 2 requests/s; older notes: 503 when rate limited).
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import requests

from adapters.base import Adapter, ImageLimits, RenderContext, TagRules
from adapters.draft import Artwork, Person, RuleOptions, validate
from adapters.errors import (
    AuthError,
    ContentRejected,
    PlatformError,
    RateLimited,
    SiteChanged,
    TransientError,
)
from adapters.http import may_have_reached, seconds
from adapters.images import fit_media, image_type
from adapters.publishing import Checkpoint, CredentialsUpdate, Media, Published, PublishJob
from adapters.text.writers.dtext import DTextWriter

logger = logging.getLogger(__name__)

# Credited roles that are tagged as artists on e621 (the tagging checklist tags everyone who
# made the image, the YCH base's artist included; commissioners and owners are not artists).
ARTIST_ROLES = frozenset({"artist", "co_artist", "colorist", "base_by"})
GIF_MAX_BYTES = 20_000_000  # danbooru_default_config.rb: GIF and APNG are capped lower
MAX_SOURCES = 10
MAX_SOURCE_LENGTH = 2048


def _version() -> str:
    try:
        return importlib.metadata.version("creditline")
    except importlib.metadata.PackageNotFoundError:
        return "0"


class E621(Adapter):
    id = "e621"
    name = "e621"
    text_limit = 50_000
    length_unit = "code_points"
    text_field = "description"
    title_in_text = True
    markup = "dtext"
    writer = DTextWriter
    images = ImageLimits(
        max_count=1,
        max_bytes=100_000_000,
        max_pixels=15_000,
        formats=("image/jpeg", "image/png", "image/gif", "image/webp"),
        # files are kept and served as uploaded, named by their MD5 (the same file is a 412
        # duplicate: platforms.md, e621); that nothing is stripped is inferred, unconfirmed
        keeps_metadata=True,
    )
    supports_alt_text = False
    tag_rules = TagRules(min_count=10, lowercase=True, space="_", drop=r"[\s,*]")
    rating_map = MappingProxyType({"general": "s", "mature": "q", "adult": "e"})
    profile_url_template = "https://e621.net/users?search%5Bname_matches%5D={handle}"
    handle_pattern = re.compile(r"([A-Za-z0-9_\-.~]{2,20})")
    handle_hint = "2-20 letters, digits or _ - . ~"
    native_mention = None  # DText has no @-mention; the profile link is used
    supports_edit = True
    supports_idempotent_create = True  # a duplicate upload answers 412 with the post id
    # publishing
    credential_fields: ClassVar[tuple[str | Mapping[str, Any], ...]] = (
        "login",
        "api_key",
        "site",
        {
            "name": "artist_tag",
            "label": "Artist tag",
            "secret": False,
            "required": False,
            "help": "the tag your work carries on e621, e.g. tanraak; an import reads the posts "
            "under it (without one: the posts this login uploaded)",
        },
    )
    default_site: ClassVar[str] = "https://e621.net"
    min_interval = 120.0  # hourly_upload_limit: 30 uploads an hour
    max_concurrency = 1  # the API allows 2 requests a second at most
    timeout = 120.0  # a 100 MB upload
    edit_reason: ClassVar[str] = "Credits updated by Creditline"
    page_size: ClassVar[int] = 320  # posts.json's maximum ``limit``

    def fields(self, ctx: RenderContext) -> dict[str, Any]:
        sources = [ctx.draft.canonical_url] if ctx.draft.canonical_url else []
        return {"tags": " ".join(ctx.tags), "rating": ctx.rating, "sources": sources}

    def render(
        self,
        draft: Artwork | Mapping[str, Any],
        people: Mapping[str, Person | Mapping[str, Any]],
        options: RuleOptions | Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """As every platform, plus an artist tag for each credited artist with an e621 name."""
        out = super().render(draft, people, options)
        if not out.get("ok"):
            return out
        if not isinstance(draft, Artwork):
            draft = validate(Artwork, draft, "artwork")
        artists = []
        for credit in draft.credits:
            person = people.get(credit.person)
            if credit.role not in ARTIST_ROLES or person is None:
                continue
            accounts = (
                person.accounts if isinstance(person, Person) else person.get("accounts") or {}
            )
            handle = accounts.get(self.id)
            tag = self.normalise_tag(self.check_handle(handle)) if handle else None
            if tag:
                artists.append(tag)
        if artists:
            out["tags"] = " ".join(dict.fromkeys([*artists, *out["tags"].split()]))
        return out

    # -- publishing ------------------------------------------------------------------------
    # Progress saved: "post_id" and "url" once e621 has the post (the create is one request).

    def _publish(self, job: PublishJob, progress: dict[str, Any], save: Checkpoint) -> Published:
        if progress.get("post_id"):
            return Published(str(progress["post_id"]), str(progress.get("url") or ""))
        if not job.images:
            raise ContentRejected("an e621 post needs an image")
        post = job.post
        image = self._fit(job.images[0])
        fields = {
            "upload[tag_string]": str(post.get("tags") or ""),
            "upload[rating]": str(post.get("rating") or ""),
            "upload[source]": "\n".join(_sources(post)),
            "upload[description]": str(post.get("description") or ""),
        }
        files = {"upload[file]": (image.filename, image.data, image.media_type)}
        with _Api.open(self, job.credentials) as api:
            answer = api.call("POST", "/uploads.json", data=fields, files=files, write=True)
            post_id = _field(answer, "post_id", "upload answer")
            url = api.post_url(post_id)
            duplicate = answer.get("reason") == "duplicate"
        save({"post_id": str(post_id), "url": url})
        return Published(str(post_id), url, {"duplicate": duplicate})

    def _fit(self, media: Media) -> Media:
        """The image within e621's limits: the original when it fits (e621 prefers originals
        and finds duplicates by MD5), otherwise re-encoded deterministically."""
        if image_type(media, self.name) == "image/gif" and len(media.data) > GIF_MAX_BYTES:
            raise ContentRejected(f"{media.filename}: e621 takes GIFs up to 20 MB")
        return fit_media(media, self.images, self.name, originals_within_pixels=False)

    def edit(self, remote_id: str, job: PublishJob) -> Published:
        """Rewrite the description (credits) of a post; tags and sources stay community-owned."""
        fields = {
            "post[description]": str(job.post.get("description") or ""),
            "post[edit_reason]": self.edit_reason,
        }
        with _Api.open(self, job.credentials) as api:
            answer = api.call("PATCH", f"/posts/{quote(remote_id)}.json", data=fields, write=True)
            post = answer.get("post", answer) if isinstance(answer, dict) else {}
            post_id = str(post.get("id") or remote_id)
            return Published(post_id, api.post_url(post_id))

    def check_auth(
        self, credentials: Mapping[str, str], *, update_credentials: CredentialsUpdate | None = None
    ) -> str:
        with _Api.open(self, credentials) as api:
            user = api.call("GET", f"/users/{quote(api.login)}.json")
            return str(_field(user, "name", "user answer"))

    def fetch(
        self,
        credentials: Mapping[str, str],
        limit: int = 100,
        *,
        update_credentials: CredentialsUpdate | None = None,
        since: dt.datetime | None = None,
    ) -> list[Published]:
        """The account's posts, newest first, paged by id (``page=b<id>``): those filed under
        its artist tag (the credential ``artist_tag``: on e621 an artist's work is tagged with
        their artist tag, whoever uploaded it) or, without one, those it uploaded
        (``user:<login>``). Paging stops at the first post created before ``since``."""
        out: list[Published] = []
        with _Api.open(self, credentials) as api:
            artist = (credentials.get("artist_tag") or "").strip().lower().replace(" ", "_")
            tag = artist or f"user:{api.login}"
            page: str | None = None
            while len(out) < limit:
                params = {"tags": tag, "limit": min(self.page_size, limit - len(out))}
                if page:
                    params["page"] = page
                answer = api.call("GET", "/posts.json", params=params)
                posts = _field(answer, "posts", "posts answer")
                if not isinstance(posts, list):
                    raise SiteChanged("e621's posts answer is not a list")
                kept = [p for p in posts if not _before(p.get("created_at"), since)]
                out.extend(self._published(api, p) for p in kept)
                if len(kept) < len(posts) or len(posts) < params["limit"]:
                    break
                page = f"b{posts[-1]['id']}"
        return out[:limit]

    def _published(self, api: _Api, post: Mapping[str, Any]) -> Published:
        description = str(post.get("description") or "")
        first = description.strip().splitlines()[0] if description.strip() else ""
        file = post.get("file") or {}
        tags = post.get("tags") or {}
        return Published(
            str(post["id"]),
            api.post_url(post["id"]),
            {
                "title": re.sub(r"\[/?[bi]\]", "", first).strip(),
                "image_url": file.get("url"),
                "post_url": api.post_url(post["id"]),
                "description": description,
                "rating": post.get("rating"),
                "sources": list(post.get("sources") or []),
                "artists": list(tags.get("artist") or []),
                "md5": file.get("md5"),
                "created_at": post.get("created_at"),
            },
        )

    def parse_url(self, url: str) -> str | None:
        parts = urlsplit(url.strip())
        host = parts.netloc.lower().removeprefix("www.")
        if parts.scheme not in ("http", "https") or host not in ("e621.net", "e926.net"):
            return None
        match = POST_PATH.fullmatch(parts.path.rstrip("/"))
        return match.group("id") if match else None


POST_PATH = re.compile(r"/(?:posts|post/show)/(?P<id>[0-9]+)(?:\.json)?")


def _before(value: Any, since: dt.datetime | None) -> bool:
    """Whether an e621 ``created_at`` (``2026-01-01T00:00:00.000-05:00``) is older."""
    if since is None or not value:
        return False
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return False
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)) < since


def _sources(post: Mapping[str, Any]) -> list[str]:
    """The canonical link first, then the other copies: e621 keeps ten, each <= 2048."""
    found = [str(s).strip() for s in post.get("sources") or () if str(s).strip()]
    usable = [s for s in dict.fromkeys(found) if len(s) <= MAX_SOURCE_LENGTH]
    return usable[:MAX_SOURCES]


def _field(answer: Any, name: str, what: str) -> Any:
    if not isinstance(answer, dict) or answer.get(name) in (None, ""):
        raise SiteChanged(f"e621's {what} has no {name!r} field")
    return answer[name]


class _Api:
    """One ``requests`` session with e621's auth and User-Agent, and the error mapping."""

    def __init__(
        self, adapter: E621, credentials: Mapping[str, str], session: requests.Session
    ) -> None:
        self.login = (credentials.get("login") or "").strip()
        key = credentials.get("api_key") or ""
        if not self.login or not key:
            raise AuthError("the e621 login and API key are not set for this account")
        base = (credentials.get("site") or adapter.default_site).strip().rstrip("/")
        if urlsplit(base).scheme not in ("http", "https"):
            raise AuthError(f"{base!r} is not an e621 address")
        self.base, self.timeout, self.session = base, adapter.timeout, session
        session.auth = (self.login, key)
        session.headers["User-Agent"] = f"Creditline/{_version()} (by {self.login} on e621)"
        session.headers["Accept"] = "application/json"

    @classmethod
    @contextmanager
    def open(cls, adapter: E621, credentials: Mapping[str, str]) -> Iterator[_Api]:
        session = requests.Session()
        try:
            yield cls(adapter, credentials, session)
        finally:
            session.close()

    def post_url(self, post_id: Any) -> str:
        return f"{self.base}/posts/{post_id}"

    def call(self, method: str, path: str, *, write: bool = False, **kwargs: Any) -> Any:
        """One request; returns the JSON answer or raises an ``adapters.errors`` class.
        ``write``: the request changes something, so a lost answer leaves the outcome open."""
        try:
            with self.session.request(
                method, self.base + path, timeout=self.timeout, **kwargs
            ) as response:
                status, body = response.status_code, response.text
                retry_after = response.headers.get("Retry-After")
        except requests.Timeout as exc:
            reached = write and not isinstance(exc, requests.ConnectTimeout)
            raise TransientError(f"e621 did not answer in time ({exc})", reached) from exc
        except requests.RequestException as exc:
            raise TransientError(
                f"could not reach e621: {exc}", write and may_have_reached(exc)
            ) from exc
        answer = _json(body)
        if status == 412 and isinstance(answer, dict) and answer.get("reason") == "duplicate":
            return answer  # the file is already on e621: the idempotent create's "found"
        if 200 <= status < 300:
            if answer is None:
                raise SiteChanged(f"e621 answered {status} without JSON to {method} {path}")
            return answer
        raise _error(status, answer, body, retry_after, write)


def _json(body: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _error(
    status: int, answer: Any, body: str, retry_after: str | None, write: bool
) -> PlatformError:
    detail = ""
    if isinstance(answer, dict):
        detail = str(answer.get("message") or answer.get("reason") or "")
    detail = detail or re.sub(r"<[^>]+>|\s+", " ", body).strip()[:200] or "no reason given"
    message = f"e621 answered {status}: {detail}"
    if status == 401:
        return AuthError(f"{message} (check the login and API key)")
    if status in (429, 503):  # 429 "Throttled"; older API notes answer 503 when limited
        return RateLimited(message, seconds(retry_after))
    if status >= 500:
        return TransientError(message, ambiguous=write)
    return ContentRejected(message)  # 403 access denied, 404, 412 invalid, 422 ...
