"""Tumblr: NPF content blocks with formatting ranges; tags and community labels.

Publishing uses the v2 API with an OAuth2 bearer token: one multipart ``POST
/v2/blog/{blog}/posts`` whose ``json`` part holds the NPF post (image blocks with alt text
first, then the rendered text blocks) and whose file parts are named by each image block's
``identifier``. Mention ranges name blogs; their UUIDs are looked up (``GET
/v2/blog/{name}/info``) when publishing. An expired access token is refreshed once with the
refresh token (``POST /v2/oauth2/token``) and the new pair stored through ``update_credentials``.

Credentials (``credential_fields``): ``blog`` (the blog to post to: name or hostname),
``access_token``, ``refresh_token``, ``client_id`` and ``client_secret`` (the app's OAuth
consumer key and secret, for refreshing), ``expires_at`` (epoch seconds, kept by the adapter),
``state`` (``published``, the default, or ``queue``) and ``api_base`` (default
https://api.tumblr.com).

Sources: tumblr/docs npf-spec.md (4,096 code points per text block, ranges), api.md
(tags, edit/delete); PostyBirb tumblr.website.ts (community label categories).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
import unicodedata
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from types import MappingProxyType
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import requests

from adapters.base import Adapter, ImageLimits, RenderContext, TagRules
from adapters.errors import (
    AuthError,
    ContentRejected,
    PlatformError,
    RateLimited,
    SiteChanged,
    TransientError,
)
from adapters.http import may_have_reached, retry_after, seconds
from adapters.images import fit_image
from adapters.publishing import (
    Checkpoint,
    CredentialsUpdate,
    Lookup,
    Media,
    Presence,
    Published,
    PublishJob,
)
from adapters.text.writers.base import Rendered
from adapters.text.writers.npf import NpfWriter, content_blocks

logger = logging.getLogger(__name__)


class Tumblr(Adapter):
    id = "tumblr"
    name = "Tumblr"
    text_limit = None  # 4,096 code points per block: long paragraphs are split into blocks
    length_unit = "code_points"
    title_in_text = True
    markup = "npf"
    writer = NpfWriter
    # keeps_metadata: Tumblr serves re-encoded copies (unconfirmed); conservatively not
    images = ImageLimits(max_count=30, max_bytes=20_000_000, keeps_metadata=False)
    alt_text_limit = None  # unconfirmed
    tag_rules = TagRules(separator=",", space=" ", drop=r"[,#]")
    rating_map = MappingProxyType(
        {
            "general": (False, ()),
            "mature": (True, ()),
            "adult": (True, ("sexual_themes",)),
        }
    )
    flag_map = MappingProxyType(
        {
            "nudity": "sexual_themes",
            "sexual": "sexual_themes",
            "violence": "violence",
            "gore": "violence",
            "drugs": "drug_use",
        }
    )
    profile_url_template = "https://www.tumblr.com/{handle}"
    handle_pattern = re.compile(r"@?([A-Za-z0-9\-]{1,32})")
    handle_hint = "a blog name: 1-32 letters, digits or hyphens"
    native_mention = "{handle}"  # text of an NPF mention range
    supports_edit = True
    supports_delete = True

    def normalise_handle(self, handle: str) -> str:
        return handle.lower()

    def rating_fields(self, value: Any, flags: list[Any]) -> Any:
        labelled, categories = value
        categories = list(dict.fromkeys((*categories, *flags)))
        return {
            "has_community_label": bool(labelled or categories),
            "community_label_categories": categories,
        }

    def text_of(self, rendered: Rendered) -> Any:
        return "\n\n".join(block["text"] for block in content_blocks(rendered))

    def fields(self, ctx: RenderContext) -> dict[str, Any]:
        return {"content": content_blocks(ctx.fitted.main), "tags": ctx.tags, "rating": ctx.rating}

    # -- publishing ------------------------------------------------------------------------
    # Sources: tumblr/docs api.md ("/posts - Create/Reblog a Post (Neue Post Format)": multipart
    # with a ``json`` part and media parts named by ``identifier``, 201 {"id"}; "/posts/{id}"
    # fetch and PUT edit; "/post/delete"; "/info" (blog uuid); "/user/info"; "OAuth2
    # Authorization" (refresh_token grant); "Rate Limits" (429; daily post and upload limits,
    # 403.8004 / 403.8023); "Request User Agent" (required, consistent); "Response Format"
    # (meta/response/errors)); npf-spec.md (image block ``alt_text``, mention ``blog.uuid``).
    # Community labels cannot be set through the public API (tumblr/docs issues 110 and 125):
    # they are not sent, and ``Published.extra["warnings"]`` says so when the rating wants one.
    credential_fields: ClassVar[tuple[str, ...]] = (
        "blog",
        "access_token",
        "refresh_token",
        "client_id",
        "client_secret",
        "expires_at",
        "state",
        "api_base",
    )
    api_base: ClassVar[str] = "https://api.tumblr.com"
    states: ClassVar[tuple[str, ...]] = ("published", "queue")
    page_size: ClassVar[int] = 20  # the API's maximum for /posts
    # ``fetch`` reads at most this many listing pages per page of posts wanted: reblogs are
    # read and left out, so a blog that is mostly reblogs yields fewer posts, never endless paging
    fetch_page_factor: ClassVar[int] = 2
    daily_limit_wait: ClassVar[float] = 3600.0  # 403.8004/8023 without a reset header
    refresh_margin: ClassVar[float] = 60.0  # refresh a token this close to its expiry
    timeout = 60.0

    def _publish(self, job: PublishJob, progress: dict[str, Any], save: Checkpoint) -> Published:
        state = self._state(job)
        warnings = self._label_warnings(job.post)
        with _Api.open(self, job.credentials, job.update_credentials) as api:
            own = progress.get("blog") or self._blog(api, api.blog)
            if own is None:
                raise AuthError(f"the Tumblr blog {api.blog!r} does not exist")
            if "blog" not in progress:
                save({"blog": own})
            post_id = progress.get("post_id")
            if not post_id and progress.get("pending"):  # an earlier attempt's answer was lost
                post_id = self._find(api, own["name"], job, state)
                if post_id:
                    save({"post_id": post_id, "pending": False})
            if not post_id:
                images, files = self._images(job)
                text = self._resolved(api, job.post.get("content") or (), warnings)
                body = {
                    "content": [*images, *text],
                    "state": state,
                    "tags": ",".join(str(t) for t in job.post.get("tags") or ()),
                }
                save({"pending": True})
                answer = api.call(
                    "POST",
                    f"/v2/blog/{quote(own['name'])}/posts",
                    files=[("json", (None, json.dumps(body), "application/json")), *files],
                    write=True,
                )
                if not isinstance(answer, dict) or not answer.get("id"):
                    raise TransientError("Tumblr's answer has no response.id", ambiguous=True)
                post_id = str(answer["id"])
                save({"post_id": post_id, "pending": False})
            return Published(
                post_id,
                post_url(own["name"], post_id),
                {"state": state, "blog_uuid": own["uuid"], "warnings": warnings},
            )

    def _state(self, job: PublishJob) -> str:
        state = str(job.post.get("state") or job.credentials.get("state") or "published")
        if state not in self.states:
            raise ContentRejected(f"Tumblr post state must be one of {self.states}, not {state!r}")
        return state

    def _label_warnings(self, post: Mapping[str, Any]) -> list[str]:
        rating = post.get("rating") or {}
        if not rating.get("has_community_label"):
            return []
        categories = ", ".join(rating.get("community_label_categories") or ()) or "mature"
        return [
            f"Tumblr's API cannot set community labels: set the label ({categories}) on the "
            "post by hand"
        ]

    def _blog(self, api: _Api, name: str) -> dict[str, str] | None:
        """``{"name", "uuid", "url"}`` of a blog, or ``None`` when there is no such blog."""
        try:
            answer = api.call("GET", f"/v2/blog/{quote(name)}/info")
        except NotFound:
            return None
        blog = answer.get("blog") if isinstance(answer, dict) else None
        if not isinstance(blog, dict) or not blog.get("uuid") or not blog.get("name"):
            raise SiteChanged("Tumblr's blog info has no blog.uuid or blog.name")
        return {"name": str(blog["name"]), "uuid": str(blog["uuid"]), "url": str(blog.get("url"))}

    def _images(self, job: PublishJob) -> tuple[list[dict[str, Any]], list[tuple[str, Any]]]:
        """Image blocks (with alt text) and the multipart file parts they name."""
        blocks, files = [], []
        default_alt = str(job.post.get("alt_text") or "")
        for i, media in enumerate(job.images):
            data, media_type, width, height = self._fit(media)
            identifier = f"image{i + 1}"
            block: dict[str, Any] = {
                "type": "image",
                "media": [
                    {"type": media_type, "identifier": identifier, "width": width, "height": height}
                ],
            }
            alt = media.alt_text or default_alt
            if alt:
                block["alt_text"] = alt
            blocks.append(block)
            files.append((identifier, (media.filename, data, media_type)))
        return blocks, files

    def _fit(self, media: Media) -> tuple[bytes, str, int, int]:
        return fit_image(media, self.images, self.name)

    def _resolved(self, api: _Api, content: Any, warnings: list[str]) -> list[dict[str, Any]]:
        """The rendered text blocks with each mention's blog UUID filled in. A blog that does
        not exist keeps its name as plain text (a warning says so)."""
        cache: dict[str, dict[str, str] | None] = {}
        blocks = json.loads(json.dumps(list(content)))  # a deep copy: job.post stays as it is
        for block in blocks:
            kept = []
            for fmt in block.get("formatting") or ():
                if fmt.get("type") == "mention":
                    name = str((fmt.get("blog") or {}).get("name") or "")
                    if name not in cache:
                        cache[name] = self._blog(api, name) if name else None
                        if cache[name] is None:
                            warnings.append(f"no Tumblr blog named {name!r}: not linked")
                    if cache[name] is None:
                        continue
                    fmt["blog"] = dict(cache[name])
                kept.append(fmt)
            if kept:
                block["formatting"] = kept
            else:
                block.pop("formatting", None)
        return blocks

    def _posts(self, api: _Api, name: str, state: str, **params: Any) -> list[dict[str, Any]]:
        path = f"/v2/blog/{quote(name)}/posts" + ("/queue" if state == "queue" else "")
        answer = api.call("GET", path, params={"npf": "true", "limit": self.page_size, **params})
        posts = answer.get("posts") if isinstance(answer, dict) else None
        if not isinstance(posts, list):
            raise SiteChanged("Tumblr's posts answer has no response.posts")
        return [p for p in posts if isinstance(p, dict)]

    def _find(self, api: _Api, name: str, job: PublishJob, state: str) -> str | None:
        wanted = comparable(text_blocks(job.post.get("content") or ()))
        for post in self._posts(api, name, state):
            if comparable(text_blocks(post.get("content") or ())) == wanted:
                return str(post.get("id_string") or post.get("id"))
        return None

    def lookup(self, job: PublishJob) -> Lookup:
        try:
            state = self._state(job)
            with _Api.open(self, job.credentials, job.update_credentials) as api:
                own = self._blog(api, api.blog)
                if own is None:
                    return Lookup(Presence.UNKNOWN)
                found = self._find(api, own["name"], job, state)
        except (TransientError, RateLimited, SiteChanged):
            return Lookup(Presence.UNKNOWN)
        if found is None:
            return Lookup(Presence.ABSENT)
        return Lookup(Presence.FOUND, Published(found, post_url(own["name"], found)))

    def edit(self, remote_id: str, job: PublishJob) -> Published:
        """Rewrite the post's text, tags and alt text in place; its images stay."""
        warnings = self._label_warnings(job.post)
        with _Api.open(self, job.credentials, job.update_credentials) as api:
            own = self._blog(api, api.blog)
            if own is None:
                raise AuthError(f"the Tumblr blog {api.blog!r} does not exist")
            path = f"/v2/blog/{quote(own['name'])}/posts/{quote(str(remote_id))}"
            current = api.call("GET", path, params={"post_format": "npf"})
            if not isinstance(current, dict) or not isinstance(current.get("content"), list):
                raise SiteChanged("Tumblr's post answer has no response.content")
            images = [b for b in current["content"] if b.get("type") == "image"]
            default_alt = str(job.post.get("alt_text") or "")
            for i, block in enumerate(images):
                alt = (job.images[i].alt_text if i < len(job.images) else "") or default_alt
                if alt:
                    block["alt_text"] = alt
            state = STATE_OF.get(str(current.get("state") or "published"), "published")
            body = {
                "content": [*images, *self._resolved(api, job.post.get("content") or (), warnings)],
                "state": state,
                "tags": ",".join(str(t) for t in job.post.get("tags") or ()),
            }
            api.call("PUT", path, json=body, write=True)
            return Published(
                str(remote_id), post_url(own["name"], str(remote_id)), {"warnings": warnings}
            )

    def delete(
        self,
        remote_id: str,
        credentials: Mapping[str, str],
        *,
        update_credentials: CredentialsUpdate | None = None,
    ) -> None:
        with _Api.open(self, credentials, update_credentials) as api, suppress(NotFound):
            api.call(
                "POST",
                f"/v2/blog/{quote(api.blog)}/post/delete",
                data={"id": str(remote_id)},
                write=True,
            )

    def check_auth(
        self, credentials: Mapping[str, str], *, update_credentials: CredentialsUpdate | None = None
    ) -> str:
        """The name of the blog Creditline posts to; AuthError when this login cannot."""
        with _Api.open(self, credentials, update_credentials) as api:
            answer = api.call("GET", "/v2/user/info")
            user = answer.get("user") if isinstance(answer, dict) else None
            if not isinstance(user, dict) or not isinstance(user.get("blogs"), list):
                raise SiteChanged("Tumblr's user info has no user.blogs")
            wanted = api.blog.lower()
            for blog in user["blogs"]:
                name = str(blog.get("name") or "")
                host = urlsplit(str(blog.get("url") or "")).netloc.lower()
                if wanted in (name.lower(), host, f"{name.lower()}.tumblr.com"):
                    return name
            raise AuthError(f"this Tumblr login cannot post to the blog {api.blog!r}")

    def fetch(
        self,
        credentials: Mapping[str, str],
        limit: int = 100,
        *,
        update_credentials: CredentialsUpdate | None = None,
        since: dt.datetime | None = None,
    ) -> list[Published]:
        """The blog's own published posts (no reblogs), newest first, paged by ``offset``;
        paging stops at the first post made before ``since`` (its ``timestamp``).

        Reblogs are read and left out, so they do not bring ``limit`` nearer: paging is
        bounded by pages read (``fetch_page_factor`` per page of posts wanted), by the blog's
        ``total_posts``, and stops at a page with no post not seen before (a server that
        ignores ``offset``). Otherwise a blog of reblogs, or a hostile ``api_base``, would be
        read forever while the import's heartbeat kept its job alive."""
        out: list[Published] = []
        cutoff = since.timestamp() if since is not None else None
        budget = max(1, -(-limit // self.page_size)) * self.fetch_page_factor
        seen: set[str] = set()
        with _Api.open(self, credentials, update_credentials) as api:
            offset = 0
            for _ in range(budget):
                page, total = self._listing_page(api, offset)
                offset += len(page)
                fresh = [p for p in page if _post_id(p) not in seen]
                seen.update(_post_id(p) for p in fresh)
                kept = [
                    p
                    for p in fresh
                    if cutoff is None
                    or not isinstance(p.get("timestamp"), int | float)
                    or p["timestamp"] >= cutoff
                ]
                out.extend(
                    self._imported(p)
                    for p in kept
                    if not p.get("trail") and "parent_post_url" not in p
                )
                if len(out) >= limit or not fresh or len(kept) < len(fresh):
                    break
                if len(page) < self.page_size or (total is not None and offset >= total):
                    break
            else:
                logger.warning(
                    "Tumblr blog %s: stopped after %d listing pages with %d of %d posts "
                    "(the rest were reblogs)",
                    api.blog,
                    budget,
                    len(out),
                    limit,
                )
        return out[:limit]

    def _listing_page(self, api: _Api, offset: int) -> tuple[list[dict[str, Any]], int | None]:
        """One page of the blog's published posts and the blog's ``total_posts``, if given."""
        path = f"/v2/blog/{quote(api.blog)}/posts"
        params = {"npf": "true", "limit": self.page_size, "offset": offset}
        answer = api.call("GET", path, params=params)
        posts = answer.get("posts") if isinstance(answer, dict) else None
        if not isinstance(posts, list):
            raise SiteChanged("Tumblr's posts answer has no response.posts")
        total = answer.get("total_posts")
        return [p for p in posts if isinstance(p, dict)], (
            total if isinstance(total, int) and not isinstance(total, bool) else None
        )

    def _imported(self, post: Mapping[str, Any]) -> Published:
        content = [b for b in post.get("content") or () if isinstance(b, dict)]
        images = []
        for block in content:
            if block.get("type") == "image":
                sizes = [m for m in block.get("media") or () if isinstance(m, dict)]
                best = max(sizes, key=lambda m: m.get("width") or 0, default={})
                images.append(
                    {
                        "url": best.get("url"),
                        "width": best.get("width"),
                        "height": best.get("height"),
                        "alt_text": block.get("alt_text"),
                    }
                )
        texts = [b for b in content if b.get("type") == "text"]
        title = next((b["text"] for b in texts if b.get("subtype") == "heading1"), None)
        post_id = str(post.get("id_string") or post.get("id"))
        url = str(post.get("post_url") or post_url(str(post.get("blog_name") or ""), post_id))
        return Published(
            post_id,
            url,
            {
                "title": title or (texts[0]["text"] if texts else ""),
                "text": _mentions_marked(content),
                "image_url": next((i["url"] for i in images if i["url"]), None),
                "post_url": url,
                "images": images,
                "tags": list(post.get("tags") or ()),
                "state": post.get("state"),
                "created_at": post.get("timestamp"),
            },
        )

    def parse_url(self, url: str) -> str | None:
        url = url.strip()
        match = WWW_POST_URL.fullmatch(url) or BLOG_POST_URL.fullmatch(url)
        return match.group("id") if match else None


def _post_id(post: Mapping[str, Any]) -> str:
    return str(post.get("id_string") or post.get("id"))


STATE_OF = {"published": "published", "queued": "queue", "queue": "queue"}
# https://www.tumblr.com/<blog>/<id>[/slug], .../blog/view/<blog>/<id>, https://<blog>.tumblr.com/
# post/<id>[/slug]; blog names are 1-32 letters, digits or hyphens.
WWW_POST_URL = re.compile(
    r"https?://(?:www\.)?tumblr\.com/(?:blog/view/)?@?(?P<blog>[A-Za-z0-9\-]{1,32})"
    r"/(?P<id>[0-9]{1,20})(?:/[^\s?#]*)?(?:[?#]\S*)?"
)
BLOG_POST_URL = re.compile(
    r"https?://(?!www\.)(?P<blog>[A-Za-z0-9\-]{1,32})\.tumblr\.com/post/(?P<id>[0-9]{1,20})"
    r"(?:/[^\s?#]*)?(?:[?#]\S*)?"
)


def post_url(blog: str, post_id: str) -> str:
    return f"https://www.tumblr.com/{blog}/{post_id}"


def _mentions_marked(content: Any) -> str:
    """The text blocks as text, with each NPF ``mention`` range written as ``@name`` (a mention
    shows the blog's name without the "@"), so that the import can find the credits."""
    texts = []
    for block in content:
        if not isinstance(block, dict) or block.get("type") != "text":
            continue
        text = str(block.get("text") or "")
        ranges = [
            f
            for f in block.get("formatting") or ()
            if isinstance(f, dict)
            and f.get("type") == "mention"
            and isinstance(f.get("start"), int)
            and 0 <= f["start"] <= len(text)
        ]
        for f in sorted(ranges, key=lambda f: f["start"], reverse=True):
            start = f["start"]
            if not text[start:].startswith("@") and (start == 0 or text[start - 1] != "@"):
                text = text[:start] + "@" + text[start:]
        texts.append(text)
    return "\n\n".join(texts)


def text_blocks(content: Any) -> str:
    return "\n\n".join(
        str(b.get("text") or "") for b in content if isinstance(b, dict) and b.get("type") == "text"
    )


def comparable(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


class NotFound(ContentRejected):
    """404: no such blog or post."""


class _Api:
    """One ``requests`` session with the artist's bearer token, the token refresh, and the
    mapping from Tumblr's answers to the taxonomy in ``adapters.errors``."""

    def __init__(
        self,
        adapter: Tumblr,
        credentials: Mapping[str, str],
        update: CredentialsUpdate | None,
    ) -> None:
        self.adapter = adapter
        self.token = (credentials.get("access_token") or "").strip()
        if not self.token:
            raise AuthError("no Tumblr access token is set for this account")
        self.blog = blog_name(credentials.get("blog") or "")
        if not self.blog:
            raise AuthError("no Tumblr blog is set for this account")
        base = (credentials.get("api_base") or "").strip().rstrip("/") or adapter.api_base
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise AuthError(f"{base!r} is not a Tumblr API address")
        self.base = base
        self.refresh_token = (credentials.get("refresh_token") or "").strip()
        self.client_id = (credentials.get("client_id") or "").strip()
        self.client_secret = (credentials.get("client_secret") or "").strip()
        try:
            self.expires_at = float(credentials.get("expires_at") or 0)
        except ValueError:
            self.expires_at = 0.0
        self.update = update
        self.timeout = (min(10.0, adapter.timeout), adapter.timeout)
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT

    @classmethod
    @contextmanager
    def open(
        cls, adapter: Tumblr, credentials: Mapping[str, str], update: CredentialsUpdate | None
    ) -> Iterator[_Api]:
        api = cls(adapter, credentials, update)
        try:
            yield api
        finally:
            api.session.close()

    @property
    def can_refresh(self) -> bool:
        return bool(self.refresh_token and self.client_id and self.client_secret)

    def call(self, method: str, path: str, *, write: bool = False, **kwargs: Any) -> Any:
        """One API request; returns the envelope's ``response`` or raises a taxonomy error.
        An expired token is refreshed once and the request sent again (a 401 did nothing)."""
        soon = time.time() > self.expires_at - self.adapter.refresh_margin
        if self.expires_at and soon and self.can_refresh:
            self.refresh()
        status, headers, body = self._send(method, path, write, **kwargs)
        if status == 401 and self.can_refresh:
            self.refresh()
            status, headers, body = self._send(method, path, write, **kwargs)
        envelope = _json(body)
        if not 200 <= status < 300:
            raise error_for(status, headers, envelope, write, self.adapter.daily_limit_wait)
        if not isinstance(envelope, dict) or "response" not in envelope:
            raise TransientError(
                f"Tumblr answered {status} with an unreadable body", ambiguous=write
            )
        return envelope["response"]

    def _send(
        self, method: str, path: str, write: bool, **kwargs: Any
    ) -> tuple[int, Mapping[str, str], bytes]:
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            with self.session.request(
                method, self.base + path, headers=headers, timeout=self.timeout, **kwargs
            ) as response:
                return response.status_code, response.headers, response.content
        except requests.RequestException as exc:
            reached = write and may_have_reached(exc)
            raise TransientError(f"could not reach Tumblr: {exc}", ambiguous=reached) from exc

    def refresh(self) -> None:
        """Trade the refresh token for a new pair and store it (Tumblr rotates both)."""
        if not self.can_refresh:
            raise AuthError("the Tumblr token expired and there is no refresh token")
        status, headers, body = self._send(
            "POST",
            "/v2/oauth2/token",
            False,
            data={
                "grant_type": "refresh_token",
                "refresh_token": self.refresh_token,
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            },
        )
        answer = _json(body)
        if status in (400, 401, 403):
            raise AuthError(f"Tumblr refused to refresh the token ({status}): sign in again")
        if not 200 <= status < 300:
            raise error_for(status, headers, answer, False, self.adapter.daily_limit_wait)
        if not isinstance(answer, dict) or not answer.get("access_token"):
            raise TransientError("Tumblr's token answer has no access_token")
        self.token = str(answer["access_token"])
        self.refresh_token = str(answer.get("refresh_token") or self.refresh_token)
        lifetime = answer.get("expires_in")
        self.expires_at = time.time() + float(lifetime) if lifetime else 0.0
        new = {"access_token": self.token, "refresh_token": self.refresh_token}
        new["expires_at"] = str(int(self.expires_at)) if self.expires_at else ""
        if self.update is not None:
            self.update(new)
        else:
            logger.warning("tumblr: refreshed token not stored (no update_credentials)")


USER_AGENT = "Creditline"


def blog_name(value: str) -> str:
    """A blog identifier from what an artist may paste: a name, a hostname or a URL."""
    value = value.strip().rstrip("/")
    value = re.sub(r"^https?://", "", value)
    value = re.sub(r"^(?:www\.)?tumblr\.com/(?:blog/)?@?", "", value)
    value = value.split("/", 1)[0]
    if value.endswith(".tumblr.com"):
        value = value[: -len(".tumblr.com")]
    return value.lstrip("@")


def _json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


# 403 subcodes for daily limits (api.md "Errors and Error Subcodes"): wait, do not give up.
DAILY_LIMITS = frozenset({8004, 8011, 8023})


def error_for(
    status: int, headers: Mapping[str, str], envelope: Any, write: bool, daily_wait: float
) -> PlatformError:
    errors = envelope.get("errors") if isinstance(envelope, dict) else None
    errors = [e for e in errors or () if isinstance(e, dict)]
    meta = envelope.get("meta") if isinstance(envelope, dict) else None
    reason = "; ".join(str(e.get("detail") or e.get("title") or "") for e in errors) or (
        str(meta.get("msg")) if isinstance(meta, dict) and meta.get("msg") else "no reason given"
    )
    codes = {e.get("code") for e in errors}
    message = f"Tumblr answered {status}: {reason}"
    if status == 429:
        return RateLimited(message, retry_after=reset_in(headers))
    if status == 401:
        return AuthError(message)
    if status == 403:
        if codes & DAILY_LIMITS:
            wait = reset_in(headers)
            return RateLimited(message, retry_after=wait if wait is not None else daily_wait)
        if 8022 in codes:  # the queue is full
            return ContentRejected(message)
        return AuthError(message)
    if status == 404:
        return NotFound(message)
    if status >= 500 or status == 408:
        return TransientError(message, ambiguous=write)
    return ContentRejected(message)


def reset_in(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from Tumblr's rate headers (resets are in seconds from now)."""

    per_day = seconds(headers.get("X-Ratelimit-Perday-Reset"))
    if seconds(headers.get("X-Ratelimit-Perday-Remaining")) == 0 and per_day:
        return per_day
    for name in ("X-Ratelimit-Perhour-Reset", "X-Ratelimit-Perday-Reset"):
        value = seconds(headers.get(name))
        if value is not None:
            return value
    return retry_after(headers)
