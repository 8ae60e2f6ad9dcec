"""Mastodon: plain text in, 500 graphemes by default with URLs at 23 and remote
mentions counted by their local part; rating as ``sensitive`` + ``spoiler_text``.

Publishing runs on Mastodon.py: media v2 uploads with alt text (polled while the server
answers 202), the status with ``Idempotency-Key`` = the delivery's key, and credits that did
not fit as a self-reply thread, each reply with its own derived key. Images carry their focal
point; the status its language (an edit keeps the language it was posted with: Mastodon.py's
``status_update`` has no language parameter). The instance's ``characters_reserved_per_url``
is the weight of every URL when the text is fitted for that account (``for_account``).

Sources: mastodon/documentation user/posting.md, entities/Instance.md (the limit is
per instance; 500 is the default), methods/statuses.md (Idempotency-Key, edit).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from html.parser import HTMLParser
from types import MappingProxyType
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests
from mastodon import Mastodon as MastodonPy
from mastodon.errors import (
    MastodonAPIError,
    MastodonError,
    MastodonNetworkError,
    MastodonRatelimitError,
)
from mastodon.versions import parse_version_string

from adapters.base import Adapter, ImageLimits, RenderContext, TagRules
from adapters.errors import (
    AuthError,
    ContentRejected,
    PlatformError,
    RateLimited,
    TransientError,
)
from adapters.http import may_have_reached
from adapters.images import fit_media
from adapters.publishing import (
    Checkpoint,
    CredentialsUpdate,
    Lookup,
    Presence,
    Published,
    PublishJob,
)
from adapters.text.counting import graphemes
from adapters.text.counting import mastodon as mastodon_length
from adapters.text.writers.plain import PlainWriter

logger = logging.getLogger(__name__)

SPOILER_WORDS = MappingProxyType(
    {
        "nudity": "nudity",
        "sexual": "sexual content",
        "violence": "violence",
        "gore": "gore",
        "language": "language",
        "drugs": "drugs",
    }
)


class Mastodon(Adapter):
    id = "mastodon"
    name = "Mastodon"
    text_limit = 500
    length_unit = "mastodon"
    limit_unit = "characters"
    title_in_text = True
    markup = "plain"
    writer = PlainWriter
    images = ImageLimits(
        max_count=4,
        max_bytes=16_000_000,
        max_pixels=8_300_000,  # width × height (the instance's image_matrix_limit)
        formats=("image/jpeg", "image/png", "image/gif", "image/webp", "image/heif", "image/avif"),
        keeps_metadata=False,  # Mastodon strips metadata when it processes media (unconfirmed)
    )
    alt_text_limit = 1500
    url_weight = 23  # every URL counts this much; instances say so in characters_reserved_per_url
    tag_rules = TagRules(inline_hashtags=True)
    rating_map = MappingProxyType(
        {"general": (False, ""), "mature": (True, "Mature"), "adult": (True, "Adult (18+)")}
    )
    flag_map = SPOILER_WORDS
    profile_url_template = "https://{domain}/@{user}"
    handle_pattern = re.compile(
        r"@?([A-Za-z0-9_]+(?:[.\-]+[A-Za-z0-9_]+)*@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)"
    )
    handle_hint = "user@instance.domain"
    native_mention = "@{handle}"
    delinked_mention = "@/{handle}"
    supports_edit = True
    supports_delete = True
    supports_threads = True
    supports_idempotent_create = True

    def normalise_handle(self, handle: str) -> str:
        user, _, domain = handle.partition("@")
        return f"{user}@{domain.lower()}"

    def profile_url(self, handle: str) -> str:
        user, _, domain = self.check_handle(handle).partition("@")
        return self.profile_url_template.format(user=user, domain=domain)

    def rating_fields(self, value: Any, flags: list[Any]) -> Any:
        sensitive, warning = value
        if flags:
            warning = f"{warning or 'Content warning'}: {', '.join(dict.fromkeys(flags))}"
        return {"sensitive": bool(sensitive or flags), "spoiler_text": warning}

    def reserve(self, rating: Any) -> int:
        return graphemes(rating["spoiler_text"])  # the CW shares the status limit

    def fields(self, ctx: RenderContext) -> dict[str, Any]:
        out = {
            "sensitive": ctx.rating["sensitive"],
            "spoiler_text": ctx.rating["spoiler_text"],
            "tags": ctx.tags,
        }
        if ctx.draft.language:
            out["language"] = ctx.draft.language
        return out

    def measure(self, text: str) -> int:
        return mastodon_length(text, url_weight=self.url_weight)

    def result(self, ctx: RenderContext) -> dict[str, Any]:
        out = super().result(ctx)
        out["length"] += self.reserve(ctx.rating)
        return out

    # -- publishing (Mastodon.py) ----------------------------------------------------------
    # Sources: mastodon/documentation methods/media.md (v2 upload, 202 + GET /api/v1/media/:id
    # answering 206 until processed), methods/statuses.md (Idempotency-Key kept 1 hour, edit
    # replaces media_ids, delete), api/rate-limits.md (X-RateLimit-Reset), entities/Error.md.
    visibility: ClassVar[str] = "public"
    reply_visibility: ClassVar[str] = "unlisted"  # the credits thread stays off public timelines
    api_version: ClassVar[str] = "4.0.0"  # the oldest server we target: media v2, status edit
    idempotency_window: ClassVar[float] = 50 * 60  # Mastodon keeps a key one hour: keep margin
    media_poll_interval: ClassVar[float] = 1.0
    media_poll_timeout: ClassVar[float] = 60.0
    lookup_depth: ClassVar[int] = 40  # recent statuses searched by ``lookup``
    instance_ttl: ClassVar[float] = 3600.0
    _instances: ClassVar[dict[str, tuple[float, dict[str, Any]]]] = {}

    def _publish(self, job: PublishJob, progress: dict[str, Any], save: Checkpoint) -> Published:
        post = job.post
        with _Api.open(self, job.credentials) as api:
            media_ids = self._upload(api, job, progress, save)
            status_id = progress.get("status_id")
            if not status_id:
                status = self._create(
                    api,
                    job.key,
                    post["text"],
                    progress,
                    save,
                    "status",
                    media_ids=media_ids or None,
                    sensitive=bool(post.get("sensitive")),
                    spoiler_text=post.get("spoiler_text") or "",
                    visibility=self.visibility,
                    language=post.get("language"),
                )
                status_id, url = str(status["id"]), status["url"] or status["uri"]
                save({"status_id": status_id, "status_url": url})
            url = progress.get("status_url") or self._url(api, status_id)
            reply_ids = list(progress.get("reply_ids") or [])
            try:
                for i, text in enumerate(post.get("replies") or []):
                    if i < len(reply_ids):
                        continue
                    reply = self._create(
                        api,
                        f"{job.key}-r{i + 1}",
                        text,
                        progress,
                        save,
                        f"reply{i + 1}",
                        in_reply_to_id=reply_ids[-1] if reply_ids else status_id,
                        visibility=self.reply_visibility,
                        language=post.get("language"),
                    )
                    reply_ids.append(str(reply["id"]))
                    save({"reply_ids": list(reply_ids)})
            except ContentRejected as exc:
                self._clean_up(api, [*reversed(reply_ids), status_id], save, exc)
            return Published(status_id, url, {"media_ids": media_ids, "reply_ids": reply_ids})

    def _url(self, api: _Api, status_id: str) -> str:
        status = api.call(api.client.status, status_id)
        return status["url"] or status["uri"]

    def _upload(
        self, api: _Api, job: PublishJob, progress: dict[str, Any], save: Checkpoint
    ) -> list[str]:
        """Upload the images not uploaded yet, then wait until none is still processing."""
        media_ids = [str(i) for i in progress.get("media_ids") or []]
        processing = [str(i) for i in progress.get("media_processing") or []]
        if progress.get("status_id"):
            return media_ids
        for original in job.images[len(media_ids) :]:
            # an animation over the limits is refused, never posted as its first frame
            image = fit_media(
                original, self.images, self.name, pixels="area", refuse_animation=True
            )
            media = api.call(
                api.client.media_post,
                image.data,
                mime_type=image.media_type,
                file_name=image.filename,
                write=True,
                description=image.alt_text or job.post.get("alt_text") or None,
                focus=image.focus,
            )
            media_ids.append(str(media["id"]))
            if media.get("url") is None:  # 202: the full-size file is processed in background
                processing.append(str(media["id"]))
            save({"media_ids": list(media_ids), "media_processing": list(processing)})
        if processing:
            for media_id in processing:
                self._wait_processed(api, media_id)
            save({"media_processing": []})
        return media_ids

    def _wait_processed(self, api: _Api, media_id: str) -> None:
        deadline = time.monotonic() + self.media_poll_timeout
        while True:
            try:
                media = api.call(api.client.media, media_id)
            except NotFound:  # already attached to a status (a crash after the post): done
                return
            if media.get("url") is not None:
                return
            if time.monotonic() >= deadline:
                raise TransientError(f"{self.name} is still processing media {media_id}")
            time.sleep(self.media_poll_interval)

    def _create(
        self,
        api: _Api,
        key: str,
        text: str,
        progress: dict[str, Any],
        save: Checkpoint,
        step: str,
        **fields: Any,
    ) -> Any:
        """POST one status with its idempotency key. Mastodon forgets a key after an hour, so
        a retry later than that first looks for the status an earlier attempt may have made."""
        sent = progress.get(f"{step}_sent_at")
        if sent is not None and time.time() - float(sent) > self.idempotency_window:
            found = self._find(api, text, fields.get("in_reply_to_id"))
            if found is not None:
                return found
        if sent is None:
            save({f"{step}_sent_at": time.time()})
        return api.call(
            api.client.status_post,
            text,
            idempotency_key=key,
            write=True,
            **{k: v for k, v in fields.items() if v is not None},
        )

    def _clean_up(
        self, api: _Api, ids: list[str], save: Checkpoint, cause: ContentRejected
    ) -> None:
        """A later part of the thread was refused: take the earlier parts down, so that no
        post stays up without its credits, then report the refusal (no retry)."""
        left: list[str] = []
        for status_id in ids:
            try:
                api.call(api.client.status_delete, status_id, write=True)
            except NotFound:
                pass
            except PlatformError:
                left.append(status_id)
        save({"status_id": None, "status_url": None, "reply_ids": [], "cleaned_up": True})
        message = f"{cause.message} (the thread could not be completed and was deleted)"
        if left:
            message = (
                f"{cause.message} (the thread could not be completed; these parts are "
                f"still up and must be deleted by hand: {', '.join(left)})"
            )
        raise ContentRejected(message) from cause

    def lookup(self, job: PublishJob) -> Lookup:
        with _Api.open(self, job.credentials) as api:
            found = self._find(api, job.post["text"], None)
            if found is None:
                return Lookup(Presence.ABSENT)
            return Lookup(Presence.FOUND, self._published(found))

    def _find(self, api: _Api, text: str, in_reply_to_id: str | None) -> Any:
        me = api.call(api.client.account_verify_credentials)
        wanted = _comparable(text)
        for status in api.call(
            api.client.account_statuses, me["id"], limit=self.lookup_depth, exclude_reblogs=True
        ):
            if str(status.get("in_reply_to_id") or "") != str(in_reply_to_id or ""):
                continue
            if _comparable(html_text(status.get("content") or "")) == wanted:
                return status
        return None

    def edit(self, remote_id: str, job: PublishJob) -> Published:
        """Rewrite the post and its credits thread in place (attribution sync). Media stay;
        their descriptions follow the job's alt text. Mastodon drops the media of an edit
        that leaves out ``media_ids``, so they are always sent."""
        post = job.post
        with _Api.open(self, job.credentials) as api:
            status = api.call(api.client.status, remote_id)
            attributes = []
            for i, media in enumerate(status.get("media_attachments") or []):
                image = job.images[i] if i < len(job.images) else None
                attributes.append(
                    api.client.generate_media_edit_attributes(
                        media["id"],
                        description=(image and image.alt_text) or post.get("alt_text") or None,
                        focus=image.focus if image else None,
                    )
                )
            edited = api.call(
                api.client.status_update,
                remote_id,
                post["text"],
                write=True,
                spoiler_text=post.get("spoiler_text") or "",
                sensitive=bool(post.get("sensitive")),
                media_attributes=attributes or None,
            )
            thread = self._thread(api, status)
            replies = list(post.get("replies") or [])
            reply_ids: list[str] = []
            for i, text in enumerate(replies):
                if i < len(thread):
                    api.call(api.client.status_update, thread[i], text, write=True)
                    reply_ids.append(thread[i])
                else:
                    reply = api.call(
                        api.client.status_post,
                        text,
                        write=True,
                        in_reply_to_id=reply_ids[-1] if reply_ids else remote_id,
                        idempotency_key=f"{job.key}-r{i + 1}",
                        visibility=self.reply_visibility,
                    )
                    reply_ids.append(str(reply["id"]))
            for extra in reversed(thread[len(replies) :]):
                api.call(api.client.status_delete, extra, write=True)
            return Published(
                str(edited["id"]), edited["url"] or edited["uri"], {"reply_ids": reply_ids}
            )

    def _thread(self, api: _Api, status: Any) -> list[str]:
        """The ids of the self-replies chained under ``status`` (the credits thread)."""
        context = api.call(api.client.status_context, status["id"])
        author, parent, chain = str(status["account"]["id"]), str(status["id"]), []
        children: dict[str, str] = {}
        for reply in context["descendants"]:  # oldest first: the first self-reply per parent
            if str(reply["account"]["id"]) == author:
                children.setdefault(str(reply["in_reply_to_id"]), str(reply["id"]))
        while parent in children:
            parent = children[parent]
            chain.append(parent)
        return chain

    def delete(
        self,
        remote_id: str,
        credentials: Mapping[str, str],
        *,
        update_credentials: CredentialsUpdate | None = None,  # tokens do not change here
    ) -> None:
        """Delete the post and its credits thread; a post that is already gone is no error."""
        with _Api.open(self, credentials) as api:
            try:
                status = api.call(api.client.status, remote_id)
            except NotFound:
                return
            for status_id in [*reversed(self._thread(api, status)), str(status["id"])]:
                with suppress(NotFound):
                    api.call(api.client.status_delete, status_id, write=True)

    def check_auth(
        self, credentials: Mapping[str, str], *, update_credentials: CredentialsUpdate | None = None
    ) -> str:
        with _Api.open(self, credentials) as api:
            me = api.call(api.client.account_verify_credentials)
            try:  # the account's domain can differ from the API host (LOCAL_DOMAIN)
                domain = self.instance(credentials).get("domain")
            except PlatformError:
                domain = None
            return f"@{me['acct']}@{domain or urlsplit(api.base).netloc}"

    def instance(self, credentials: Mapping[str, str]) -> dict[str, Any]:
        """``GET /api/v2/instance`` (limits in ``configuration``), cached per instance."""
        base = _instance_url(credentials)
        cached = self._instances.get(base)
        if cached is not None and time.monotonic() - cached[0] < self.instance_ttl:
            return cached[1]
        with _Api.open(self, credentials) as api:
            info = dict(api.call(api.client.instance_v2))
        self._instances[base] = (time.monotonic(), info)
        return info

    def for_account(self, credentials: Mapping[str, str]) -> Adapter:
        """This adapter with the instance's own limits (characters, images, alt text), read
        from ``/api/v2/instance`` and cached; the defaults when the instance cannot be asked."""
        if not credentials.get("instance"):
            return self
        try:
            limits = self.limits(credentials)
        except Exception as exc:  # PlatformError, or an unexpected answer: post with defaults
            logger.warning("instance limits unavailable, using defaults: %s", exc)
            return self
        configured = copy.copy(self)
        configured.text_limit = int(limits["text_limit"] or self.text_limit)
        configured.alt_text_limit = int(limits["alt_text_limit"] or self.alt_text_limit)
        configured.url_weight = int(limits["characters_reserved_per_url"] or self.url_weight)
        configured.images = dataclasses.replace(
            self.images,
            max_count=int(limits["max_images"] or self.images.max_count),
            max_bytes=int(limits["image_bytes"] or self.images.max_bytes),
            max_pixels=int(limits["image_pixels"] or self.images.max_pixels),
        )
        return configured

    def limits(self, credentials: Mapping[str, str]) -> dict[str, Any]:
        """The instance's limits, for the text engine and image fitting."""
        config = self.instance(credentials).get("configuration") or {}
        statuses, media = config.get("statuses") or {}, config.get("media_attachments") or {}
        return {
            "text_limit": statuses.get("max_characters", self.text_limit),
            "characters_reserved_per_url": statuses.get(
                "characters_reserved_per_url", self.url_weight
            ),
            "max_images": statuses.get("max_media_attachments", self.images.max_count),
            "alt_text_limit": media.get("description_limit", self.alt_text_limit),
            "image_bytes": media.get("image_size_limit", self.images.max_bytes),
            "image_pixels": media.get("image_matrix_limit", self.images.max_pixels),
        }

    def fetch(
        self,
        credentials: Mapping[str, str],
        limit: int = 100,
        *,
        update_credentials: CredentialsUpdate | None = None,
        since: dt.datetime | None = None,  # read in full; the importer skips older posts
    ) -> list[Published]:
        """The account's own statuses (no boosts), newest first, with their media."""
        out: list[Published] = []
        with _Api.open(self, credentials) as api:
            me = api.call(api.client.account_verify_credentials)
            max_id = None
            while len(out) < limit:
                page = api.call(
                    api.client.account_statuses,
                    me["id"],
                    max_id=max_id,
                    limit=min(40, limit - len(out)),
                    exclude_reblogs=True,
                )
                if not page:
                    break
                out.extend(self._published(s) for s in page)
                max_id = page[-1]["id"]
        return out[:limit]

    def _published(self, status: Any) -> Published:
        created = status.get("created_at")
        return Published(
            str(status["id"]),
            status.get("url") or status.get("uri") or "",
            {
                "text": html_text(status.get("content") or ""),
                "html": status.get("content") or "",
                "spoiler_text": status.get("spoiler_text") or "",
                "sensitive": bool(status.get("sensitive")),
                "in_reply_to_id": str(status["in_reply_to_id"])
                if status.get("in_reply_to_id")
                else None,
                "created_at": created.isoformat() if hasattr(created, "isoformat") else created,
                "media": [
                    {
                        "id": str(m["id"]),
                        "type": m.get("type"),
                        "url": m.get("url"),
                        "description": m.get("description"),
                    }
                    for m in status.get("media_attachments") or []
                ],
            },
        )

    def parse_url(self, url: str) -> str | None:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return None
        match = STATUS_PATH.fullmatch(parts.path.rstrip("/"))
        return match.group("id") if match else None


# ``https://host/@user/ID``, ``https://host/users/user/statuses/ID`` (the ActivityPub URI), and
# GoToSocial's ``https://host/@user/statuses/ID`` (ULID ids).
STATUS_PATH = re.compile(
    r"/(?:@[A-Za-z0-9_.\-]+(?:@[A-Za-z0-9.\-]+)?(?:/statuses)?|users/[A-Za-z0-9_.\-]+/statuses)"
    r"/(?P<id>[0-9]+|[0-9A-Z]{26})"
)


def _instance_url(credentials: Mapping[str, str]) -> str:
    instance = (credentials.get("instance") or "").strip().rstrip("/")
    if not instance:
        raise AuthError("no Mastodon instance is set for this account")
    if "://" not in instance:
        instance = f"https://{instance}"
    parts = urlsplit(instance)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise AuthError(f"{instance!r} is not a Mastodon instance address")
    return instance


class NotFound(ContentRejected):
    """404: the status or media is not there (deleted, or not this account's)."""


class _Api:
    """One Mastodon.py client on its own ``requests`` session, and the error mapping."""

    def __init__(
        self, adapter: Mastodon, credentials: Mapping[str, str], session: requests.Session
    ) -> None:
        token = credentials.get("access_token") or ""
        if not token:
            raise AuthError("no Mastodon access token is set for this account")
        self.base = _instance_url(credentials)
        self.client = MastodonPy(
            api_base_url=self.base,
            request_timeout=adapter.timeout,
            ratelimit_method="throw",
            version_check_mode="none",
            mastodon_version=adapter.api_version,  # no version request to the server
            session=session,
            user_agent="Creditline",
        )
        # Mastodon.py parses ``mastodon_version`` only when version checks are on, yet picks
        # endpoints from it (media_post: v2 from 3.1.4): set what we target.
        version = parse_version_string(adapter.api_version)
        self.client.mastodon_major, self.client.mastodon_minor, self.client.mastodon_patch = version
        # Set after construction: given to the constructor, a token that names an existing
        # file would be read from disk (Mastodon.py's token-file feature).
        self.client.access_token = token

    @classmethod
    @contextmanager
    def open(cls, adapter: Mastodon, credentials: Mapping[str, str]) -> Iterator[_Api]:
        session = requests.Session()
        try:
            yield cls(adapter, credentials, session)
        finally:
            session.close()

    def call(self, fn: Callable[..., Any], *args: Any, write: bool = False, **kwargs: Any) -> Any:
        """Run one Mastodon.py call, raising only ``adapters.errors`` classes. ``write``: the
        request changes something, so a failure after it was sent leaves the outcome open."""
        try:
            return fn(*args, **kwargs)
        except MastodonRatelimitError as exc:
            reset = self.client.ratelimit_reset
            wait = max(0.0, reset - time.time()) if reset else None
            raise RateLimited(f"Mastodon rate limit reached ({exc})", wait) from exc
        except MastodonNetworkError as exc:
            reached = write and may_have_reached(exc)
            raise TransientError(f"could not reach {self.base}: {exc}", ambiguous=reached) from exc
        except MastodonAPIError as exc:
            raise _api_error(exc, write) from exc
        except MastodonError as exc:  # illegal argument, version, I/O: nothing was sent
            raise ContentRejected(f"Mastodon.py refused the request: {exc}") from exc


def _api_error(exc: MastodonAPIError, write: bool) -> PlatformError:
    args = exc.args
    status = args[1] if len(args) > 1 and isinstance(args[1], int) else None
    detail = args[3] if len(args) > 3 and args[3] else (args[2] if len(args) > 2 else str(exc))
    message = f"Mastodon answered {status}: {detail}" if status else f"Mastodon: {args[0]}"
    if status in (401, 403):
        return AuthError(message)
    if status is None or status >= 500 or status in (408, 409):
        # 5xx (the server got the request) or an unreadable success: it may have happened
        return TransientError(message, ambiguous=write)
    if status == 404:
        return NotFound(message)
    return ContentRejected(message)  # 400, 410, 413, 422 ...


class _TextOf(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag == "p" and self.parts:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_text(content: str) -> str:
    """Mastodon's status HTML back to plain text (links keep their full URL)."""
    parser = _TextOf()
    parser.feed(content)
    parser.close()
    return "".join(parser.parts)


def _comparable(text: str) -> str:
    """Text as Mastodon shows it, for matching: remote mentions show only ``@user``."""
    text = re.sub(r"(@[A-Za-z0-9_]+)@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+", r"\1", text)
    return " ".join(text.split())
