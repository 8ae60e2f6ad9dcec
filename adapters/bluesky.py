"""Bluesky: 300 graphemes (and 3000 bytes), rich text as facets over UTF-8 byte ranges.

Sources: lexicons app.bsky.feed.post (limits), app.bsky.richtext.facet (byte offsets),
com.atproto.label.defs (self-labels); social-app constants (alt text 2000).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any
from urllib.parse import urlencode

import httpx
from atproto_client import Client
from atproto_client import exceptions as atx
from atproto_client.client.session import Session, SessionEvent
from atproto_client.request import Request

from adapters.base import Adapter, ImageLimits, RenderContext, TagRules
from adapters.errors import (
    AuthError,
    ContentRejected,
    PlatformError,
    RateLimited,
    SiteChanged,
    TransientError,
)
from adapters.images import fit_image
from adapters.publishing import (
    Checkpoint,
    CredentialsUpdate,
    Lookup,
    Presence,
    Published,
    PublishJob,
)
from adapters.text.writers.base import Rendered
from adapters.text.writers.facets import FacetWriter, facets

logger = logging.getLogger(__name__)


# A handle is a domain name (atproto "Handle" spec); custom domains are ordinary handles.
HANDLE_RE = re.compile(
    r"@?((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)"
)


class Bluesky(Adapter):
    id = "bluesky"
    name = "Bluesky"
    text_limit = 300
    length_unit = "graphemes"
    limit_unit = "graphemes"
    byte_limit = 3000
    title_in_text = True
    markup = "facets"
    writer = FacetWriter
    images = ImageLimits(
        max_count=4,
        max_bytes=2_000_000,
        max_pixels=4000,
        formats=("image/jpeg", "image/png", "image/webp"),
        # the PDS keeps a blob byte for byte (sync.getBlob returns it: shared/reference/
        # bluesky-pds.md); the app's CDN serves re-encoded copies
        keeps_metadata=True,
    )
    alt_text_limit = 2000
    tag_rules = TagRules(inline_hashtags=True)
    rating_map = MappingProxyType({"general": (), "mature": ("sexual",), "adult": ("porn",)})
    flag_map = MappingProxyType(
        {
            "nudity": "nudity",
            "sexual": "sexual",
            "violence": "graphic-media",
            "gore": "graphic-media",
        }
    )
    profile_url_template = "https://bsky.app/profile/{handle}"
    handle_pattern = HANDLE_RE
    handle_hint = "a domain name such as name.bsky.social"
    native_mention = "@{handle}"
    delinked_mention = "@/{handle}"
    supports_delete = True
    supports_threads = True
    supports_idempotent_create = True  # client-chosen rkey + putRecord

    def check_handle(self, handle: str) -> str:
        normal = super().check_handle(handle)
        if len(normal) > 253:
            from adapters.errors import InvalidHandle

            raise InvalidHandle(self.id, handle, "longer than 253 characters")
        return normal

    def normalise_handle(self, handle: str) -> str:
        return handle.lower()

    def rating_fields(self, value: Any, flags: list[Any]) -> Any:
        return list(dict.fromkeys((*value, *flags)))

    def reply_of(self, rendered: Rendered) -> Any:
        return {"text": rendered.text, "facets": facets(rendered)}

    def fields(self, ctx: RenderContext) -> dict[str, Any]:
        return {"facets": facets(ctx.fitted.main), "labels": ctx.rating, "tags": ctx.tags}

    # -- publishing ------------------------------------------------------------------------
    # Credentials: {"identifier", "app_password", "service"} plus "session" (the SDK's session
    # string), which is stored back through ``update_credentials`` whenever it is created or
    # refreshed: the login endpoint is heavily rate-limited, so a valid session is always reused.
    # Progress saved between steps: "images" (uploaded blob refs, one per image, in order),
    # "post" ({"uri", "cid"}), "replies" ([{"uri", "cid"}, ...]).

    def new_idempotency_key(self) -> str:
        """A TID: the post's record key, so a retried create can only ever hit the same record."""
        return new_key()

    def _publish(self, job: PublishJob, progress: dict[str, Any], save: Checkpoint) -> Published:
        if not is_tid(job.key):
            raise ContentRejected(f"Bluesky record keys must be TIDs, got {job.key!r}")
        if len(job.post.get("replies") or ()) > MAX_REPLIES:
            raise ContentRejected(
                f"a Bluesky thread from Creditline has at most {MAX_REPLIES} replies"
            )
        labels = [str(v) for v in job.post.get("labels") or ()]
        warnings: list[str] = []
        with _Connection(job.credentials, job.update_credentials) as conn:
            resolve = _MentionResolver(conn, self, warnings)
            post = progress.get("post")
            if not post:
                post = conn.get_post(job.key)  # created before a crash that lost the checkpoint?
                if post:
                    save({"post": post})
            if not post:
                post = self._create_main(conn, job, progress, save, resolve, labels)
            replies = list(progress.get("replies") or ())
            parts = list(job.post.get("replies") or ())
            for i in range(len(replies), len(parts)):
                parent = replies[-1] if replies else post
                rkey = reply_key(job.key, i)
                try:
                    reply = conn.get_post(rkey) or conn.create_post(
                        rkey,
                        self._record(
                            parts[i].get("text") or "",
                            resolve(parts[i].get("facets") or ()),
                            reply={"root": post, "parent": parent},
                        ),
                    )
                except ContentRejected as exc:
                    # A thread missing a part would lose credits: take the earlier parts down.
                    left = []
                    for done in reversed([post, *replies]):
                        try:
                            conn.delete_post(done["uri"])
                        except PlatformError as cleanup:
                            logger.warning("bluesky: could not delete %s: %s", done["uri"], cleanup)
                            left.append(done["uri"])
                    save({"post": None, "replies": [], "images": []})
                    outcome = (
                        f"these parts could not be deleted: {', '.join(left)}"
                        if left
                        else "the earlier parts were deleted"
                    )
                    raise ContentRejected(
                        f"reply {i + 1} of the thread was refused ({exc.message}); {outcome}"
                    ) from exc
                replies.append(reply)
                save({"replies": replies})
            return Published(
                remote_id=post["uri"],
                url=post_url(post["uri"]),
                extra={
                    "cid": post["cid"],
                    "replies": [r["uri"] for r in replies],
                    "warnings": warnings,
                },
            )

    def _create_main(
        self,
        conn: _Connection,
        job: PublishJob,
        progress: dict[str, Any],
        save: Checkpoint,
        resolve: _MentionResolver,
        labels: list[str],
    ) -> dict[str, str]:
        facets = resolve(job.post.get("facets") or ())
        default_alt = str(job.post.get("alt_text") or "")
        for attempt in (1, 2):
            images = list(progress.get("images") or ())
            for media in job.images[len(images) :]:
                data, media_type, width, height = fit_image(
                    media, self.images, self.name, originals_within_pixels=False
                )
                blob = conn.upload_blob(data, media_type)
                images.append(
                    {
                        "image": blob,
                        "alt": media.alt_text or default_alt,
                        "aspectRatio": {"width": width, "height": height},
                    }
                )
                save({"images": images})
            record = self._record(job.post.get("text") or "", facets, images, labels)
            try:
                post = conn.create_post(job.key, record)
            except _BlobGone:
                if attempt == 2:
                    raise TransientError("Bluesky lost the uploaded images twice") from None
                # Uploaded blobs that no record uses are dropped by the PDS after a while.
                save({"images": []})
                progress["images"] = []
                continue
            save({"post": post})
            return post
        raise AssertionError("unreachable")

    def _record(
        self,
        text: str,
        facets: list[dict[str, Any]],
        images: list[dict[str, Any]] | None = None,
        labels: list[str] | None = None,
        reply: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        record: dict[str, Any] = {"$type": POST, "text": text, "createdAt": now_iso()}
        if facets:
            record["facets"] = facets
        if reply:
            record["reply"] = {k: {"uri": v["uri"], "cid": v["cid"]} for k, v in reply.items()}
        if images:
            record["embed"] = {"$type": "app.bsky.embed.images", "images": images}
        if labels:
            record["labels"] = {
                "$type": "com.atproto.label.defs#selfLabels",
                "values": [{"val": v} for v in labels],
            }
        return record

    def lookup(self, job: PublishJob) -> Lookup:
        try:
            with _Connection(job.credentials, job.update_credentials) as conn:
                post = conn.get_post(job.key)
        except (TransientError, RateLimited):
            return Lookup(Presence.UNKNOWN)
        if post is None:
            return Lookup(Presence.ABSENT)
        return Lookup(Presence.FOUND, Published(post["uri"], post_url(post["uri"]), post))

    # ``update_credentials``: where to store a session
    # these calls create or refresh (see Adapter); without it a refreshed session is dropped.

    def delete(
        self,
        remote_id: str,
        credentials: Mapping[str, str],
        *,
        update_credentials: CredentialsUpdate | None = None,
    ) -> None:
        """Delete the post and the credits thread Creditline made under it (newest part first:
        a post never stays up without its credits while the thread is taken down)."""
        with _Connection(credentials, update_credentials) as conn:
            for uri in reversed(conn.own_replies(remote_id)):
                conn.delete_post(uri)
            conn.delete_post(remote_id)

    def check_auth(
        self,
        credentials: Mapping[str, str],
        *,
        update_credentials: CredentialsUpdate | None = None,
    ) -> str:
        with _Connection(credentials, update_credentials) as conn:
            return conn.call(lambda c: c.com.atproto.server.get_session()).handle

    def fetch(
        self,
        credentials: Mapping[str, str],
        limit: int = 100,
        *,
        update_credentials: CredentialsUpdate | None = None,
        since: dt.datetime | None = None,  # read in full; the importer skips older posts
    ) -> list[Published]:
        out: list[Published] = []
        with _Connection(credentials, update_credentials) as conn:
            cursor = None
            while len(out) < limit:
                params = {"repo": conn.did, "collection": POST, "limit": min(100, limit - len(out))}
                if cursor:
                    params["cursor"] = cursor
                page = conn.query("com.atproto.repo.listRecords", params)
                for rec in page.get("records") or ():
                    out.append(self._imported(conn, rec))
                cursor = page.get("cursor")
                if not cursor or not page.get("records"):
                    break
        return out[:limit]

    def _imported(self, conn: _Connection, rec: Mapping[str, Any]) -> Published:
        value = rec.get("value") or {}
        embed = value.get("embed") or {}
        if embed.get("$type") == "app.bsky.embed.recordWithMedia":
            embed = embed.get("media") or {}
        images = []
        for img in (embed.get("images") or ()) if embed.get("$type") == IMAGES else ():
            cid = ((img.get("image") or {}).get("ref") or {}).get("$link")
            if not cid:
                continue
            images.append(
                {
                    "cid": cid,
                    "alt": img.get("alt", ""),
                    "mime_type": (img.get("image") or {}).get("mimeType"),
                    "url": f"{conn.base}/com.atproto.sync.getBlob?did={conn.did}&cid={cid}",
                }
            )
        labels = [v.get("val") for v in (value.get("labels") or {}).get("values") or ()]
        return Published(
            remote_id=rec["uri"],
            url=post_url(rec["uri"]),
            extra={
                "cid": rec.get("cid"),
                "text": value.get("text", ""),
                "created_at": value.get("createdAt"),
                "images": images,
                "labels": labels,
                "is_reply": "reply" in value,
            },
        )

    def parse_url(self, url: str) -> str | None:
        """``at://<did|handle>/app.bsky.feed.post/<rkey>`` for a bsky.app post URL or an at:// URI.

        No network: a handle in the URL stays a handle (lowercased), a DID stays a DID.
        """
        m = BSKY_URL_RE.match(url.strip()) or AT_URI_RE.match(url.strip())
        if not m:
            return None
        actor, rkey = m.group("actor"), m.group("rkey")
        if not is_tid(rkey):
            return None
        if actor.startswith("did:"):
            if not DID_RE.match(actor):
                return None
        else:
            actor = actor.lower()
            if not HANDLE_RE.fullmatch(actor) or actor.startswith("@"):
                return None
        return f"at://{actor}/{POST}/{rkey}"


# -- identifiers ---------------------------------------------------------------------------------

POST = "app.bsky.feed.post"
IMAGES = "app.bsky.embed.images"
TID_CHARS = "234567abcdefghijklmnopqrstuvwxyz"
TID_RE = re.compile(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}")
DID_RE = re.compile(r"did:[a-z]+:[A-Za-z0-9._:%-]{1,2048}")
BSKY_URL_RE = re.compile(
    r"https?://(?:www\.)?bsky\.app/profile/(?P<actor>[^/?#\s]+)/post/(?P<rkey>[^/?#\s]+)/?(?:[?#]\S*)?$"
)
AT_URI_RE = re.compile(r"at://(?P<actor>[^/?#\s]+)/app\.bsky\.feed\.post/(?P<rkey>[^/?#\s]+)$")
# A delivery's key takes a block of 32 microseconds: the post gets the first TID of the block,
# the replies of its thread the next ones (``reply_key``), so keys made one after the other in
# this process can never meet a reply's key.
KEY_BLOCK = 32
MAX_REPLIES = KEY_BLOCK - 1
_tid_lock = threading.Lock()
_last_key_micros = 0


def make_tid(micros: int, clock_id: int) -> str:
    """An atproto TID: 53 bits of microseconds since 1970, 10 bits of clock id, base32-sortable."""
    n = (micros << 10) | (clock_id & 0x3FF)
    return "".join(TID_CHARS[(n >> (5 * i)) & 31] for i in range(12, -1, -1))


def new_key() -> str:
    """A fresh post key: now, at the start of a block no earlier key of this process used."""
    global _last_key_micros
    with _tid_lock:
        micros = (time.time_ns() // 1000) // KEY_BLOCK * KEY_BLOCK
        micros = max(micros, _last_key_micros + KEY_BLOCK)
        _last_key_micros = micros
    return make_tid(micros, secrets.randbelow(1024))


def parse_tid(tid: str) -> tuple[int, int]:
    n = 0
    for ch in tid:
        n = (n << 5) | TID_CHARS.index(ch)
    return n >> 10, n & 0x3FF


def is_tid(value: str) -> bool:
    return bool(TID_RE.fullmatch(value or ""))


def reply_key(key: str, index: int) -> str:
    """The record key of reply ``index`` in the thread whose post has record key ``key``:
    derived, not random, so a retry that lost its progress still finds the replies it made."""
    if not 0 <= index < MAX_REPLIES:
        raise ContentRejected(f"a Bluesky thread from Creditline has at most {MAX_REPLIES} replies")
    micros, clock_id = parse_tid(key)
    return make_tid(micros + index + 1, clock_id)


def split_uri(uri: str) -> tuple[str, str, str]:
    m = re.fullmatch(r"at://([^/]+)/([^/]+)/([^/]+)", uri or "")
    if not m:
        raise ContentRejected(f"not an at:// record URI: {uri!r}")
    return m.group(1), m.group(2), m.group(3)


def post_url(uri: str) -> str:
    actor, _, rkey = split_uri(uri)
    return f"https://bsky.app/profile/{actor}/post/{rkey}"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- the connection: session reuse, refresh, error mapping ----------------------------------------

TIMEOUT = httpx.Timeout(60.0, connect=10.0)
AUTH_ERRORS = frozenset({"ExpiredToken", "InvalidToken", "AuthRequired", "AuthenticationRequired"})
ACCOUNT_ERRORS = frozenset({"AccountTakedown", "AccountDeactivated", "AuthFactorTokenRequired"})


class _BlobGone(Exception):
    """createRecord named a blob the PDS no longer has (unused uploads expire)."""


class _NeedsAuth(Exception):
    def __init__(self, error: PlatformError) -> None:
        super().__init__(error.message)
        self.error = error


def _xrpc_error(exc: atx.RequestErrorBase) -> tuple[int | None, str, str]:
    response = exc.response
    if response is None:
        return None, "", ""
    content = response.content
    error = getattr(content, "error", None) or ""
    message = getattr(content, "message", None) or ""
    if isinstance(content, dict):
        error, message = content.get("error", error), content.get("message", message)
    return response.status_code, str(error), str(message)


def translate(exc: Exception, *, write: bool) -> PlatformError:
    """An SDK or transport exception as the delivery engine's error class.

    ``write``: the request changes state, so a failure after it was sent leaves the outcome
    unknown (``TransientError.ambiguous``)."""
    if isinstance(exc, PlatformError):
        return exc
    if isinstance(exc, atx.RateLimitExceededError):
        retry_after = exc.retry_after
        if retry_after is None and exc.reset_at is not None:
            retry_after = max(0.0, (exc.reset_at - datetime.now(UTC)).total_seconds())
        return RateLimited("Bluesky rate limit reached", retry_after=retry_after)
    if isinstance(exc, atx.LoginRequiredError):
        return AuthError("Bluesky session missing; log in again")
    if isinstance(exc, atx.RequestErrorBase):
        status, error, message = _xrpc_error(exc)
        detail = f"{error}: {message}" if message else error or f"HTTP {status}"
        if status is None:  # transport failure before any answer
            cause = exc.__cause__
            sent = not isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout)
            return TransientError(f"Bluesky unreachable ({cause or exc})", ambiguous=write and sent)
        if status in (401, 403) or error in AUTH_ERRORS or error in ACCOUNT_ERRORS:
            return AuthError(f"Bluesky refused the credentials ({detail})")
        if status == 413 or error in ("PayloadTooLarge", "BlobTooLarge"):
            return ContentRejected(f"Bluesky: too large ({detail})")
        if status == 429:
            return RateLimited(f"Bluesky rate limit reached ({detail})")
        if status >= 500 or status in (408, 502, 503, 504):
            return TransientError(f"Bluesky server error ({detail})", ambiguous=write)
        return ContentRejected(f"Bluesky refused the request ({detail})")
    if isinstance(exc, httpx.TimeoutException):
        return TransientError(f"Bluesky timed out ({exc})", ambiguous=write)
    if isinstance(exc, httpx.HTTPError):
        return TransientError(f"Bluesky connection failed ({exc})", ambiguous=write)
    if isinstance(exc, atx.AtProtocolError):
        return SiteChanged(f"Bluesky answered something unexpected ({exc})")
    raise exc


def _wants_reauth(exc: Exception) -> bool:
    if not isinstance(exc, atx.RequestErrorBase):
        return isinstance(exc, atx.LoginRequiredError)
    status, error, _ = _xrpc_error(exc)
    if error in ACCOUNT_ERRORS:
        return False
    return status == 401 or error in ("ExpiredToken", "InvalidToken")


class _Connection:
    """One logged-in SDK client for the length of one operation; closed on exit."""

    def __init__(
        self,
        credentials: Mapping[str, str],
        update: CredentialsUpdate | None,
    ) -> None:
        self.credentials = dict(credentials)
        self.update = update
        service = (self.credentials.get("service") or "https://bsky.social").rstrip("/")
        self.client = Client(base_url=service, request=Request(timeout=TIMEOUT))
        self.client.on_session_change(self._session_changed)
        self.did = ""

    @property
    def base(self) -> str:
        return self.client._base_url

    def __enter__(self) -> _Connection:
        try:
            session = self.credentials.get("session")
            if session:
                try:
                    self.client.login(session_string=session, fetch_bsky_profile=False)
                except (ValueError, TypeError):
                    logger.warning("bluesky: stored session unreadable; logging in again")
                    self._login()
            else:
                self._login()
            assert self.client._session is not None
            self.did = self.client._session.did
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.client.request.close()

    def _session_changed(self, event: SessionEvent, session: Session) -> None:
        if event in (SessionEvent.CREATE, SessionEvent.REFRESH):
            self.credentials["session"] = session.export()
            if self.update is not None:
                self.update(dict(self.credentials))

    def _login(self) -> None:
        identifier = self.credentials.get("identifier")
        password = self.credentials.get("app_password")
        if not identifier or not password:
            raise AuthError("Bluesky needs a handle and an app password")
        try:
            self.client.login(identifier, password, fetch_bsky_profile=False)
        except Exception as exc:
            raise translate(exc, write=False) from exc

    def _reauth(self) -> None:
        """One refresh with the refresh token; if the session is dead, one login."""
        try:
            self.client._refresh_and_set_session()
            return
        except Exception as exc:
            if not _wants_reauth(exc) and not isinstance(exc, atx.BadRequestError):
                raise translate(exc, write=False) from exc
            logger.info("bluesky: session refresh refused (%s); logging in again", exc)
        self._login()

    def call(self, fn: Callable[[Client], Any], *, write: bool = False) -> Any:
        """``fn(client)``; an expired or revoked session is refreshed (or re-created) once."""
        for attempt in (1, 2):
            try:
                return fn(self.client)
            except Exception as exc:
                if attempt == 1 and _wants_reauth(exc):
                    self._reauth()
                    continue
                raise translate(exc, write=write) from exc
        raise AssertionError("unreachable")

    def query(self, nsid: str, params: Mapping[str, Any]) -> dict[str, Any]:
        url = f"{nsid}?{urlencode(params)}"
        return self.call(lambda c: c.invoke_query(url)).content

    def procedure(self, nsid: str, body: Mapping[str, Any]) -> dict[str, Any]:
        content = json.dumps(body, ensure_ascii=False).encode()
        response = self.call(
            lambda c: c.invoke_procedure(
                nsid, content=content, headers={"Content-Type": "application/json"}
            ),
            write=True,
        )
        return response.content if isinstance(response.content, dict) else {}

    def upload_blob(self, data: bytes, media_type: str) -> dict[str, Any]:
        response = self.call(
            lambda c: c.invoke_procedure(
                "com.atproto.repo.uploadBlob", content=data, headers={"Content-Type": media_type}
            ),
            write=True,  # an orphan blob is harmless: unused uploads expire
        )
        blob = response.content.get("blob") if isinstance(response.content, dict) else None
        if not blob or not (blob.get("ref") or {}).get("$link"):
            raise SiteChanged("Bluesky's uploadBlob answer has no blob reference")
        return blob

    def get_post(self, rkey: str) -> dict[str, str] | None:
        """{"uri", "cid"} of this account's post with record key ``rkey``, or None."""
        found = self._get_record(rkey)
        return None if found is None else {"uri": found["uri"], "cid": found["cid"]}

    def _get_record(self, rkey: str) -> dict[str, Any] | None:
        try:
            return dict(
                self.query(
                    "com.atproto.repo.getRecord",
                    {"repo": self.did, "collection": POST, "rkey": rkey},
                )
            )
        except ContentRejected as exc:
            if "RecordNotFound" in exc.message:
                return None
            raise

    def own_replies(self, uri: str) -> list[str]:
        """The URIs of the thread Creditline posted under ``uri``, in order: its replies sit at
        record keys derived from the post's (``reply_key``), so no AppView is needed."""
        _, _, rkey = split_uri(uri)
        if not is_tid(rkey):
            return []
        out: list[str] = []
        for index in range(MAX_REPLIES):
            found = self._get_record(reply_key(rkey, index))
            root = ((found or {}).get("value") or {}).get("reply", {}).get("root", {})
            if found is None or not str(root.get("uri") or "").endswith(f"/{POST}/{rkey}"):
                break
            out.append(str(found["uri"]))
        return out

    def create_post(self, rkey: str, record: Mapping[str, Any]) -> dict[str, str]:
        """Create-only write at ``rkey``: never overwrites, never makes a second post."""
        body = {"repo": self.did, "collection": POST, "rkey": rkey, "record": record}
        try:
            made = self.procedure("com.atproto.repo.createRecord", body)
        except ContentRejected as exc:
            if "BlobNotFound" in exc.message:
                raise _BlobGone(exc.message) from exc
            raise
        except TransientError as exc:
            # The reference PDS answers a create at a taken key with a bare 500, and a timeout
            # may hide a success: either way, the record is there now or it is not.
            try:
                existing = self.get_post(rkey)
            except PlatformError:
                raise exc from None
            if existing is None:
                raise
            return existing
        return {"uri": made["uri"], "cid": made["cid"]}

    def delete_post(self, uri: str) -> None:
        actor, collection, rkey = split_uri(uri)
        if collection != POST:
            raise ContentRejected(f"not a Bluesky post: {uri}")
        if actor != self.did and actor != self.client._session.handle:
            raise ContentRejected(f"{uri} is not a post of this account")
        self.procedure(
            "com.atproto.repo.deleteRecord", {"repo": self.did, "collection": POST, "rkey": rkey}
        )


class _MentionResolver:
    """Turns the renderer's handle mentions into DID mentions, resolving each handle once.

    A handle that does not resolve becomes a link to its profile, with a warning: the credit
    stays visible and clickable even when the account was renamed or deleted.
    """

    def __init__(self, conn: _Connection, adapter: Bluesky, warnings: list[str]) -> None:
        self.conn = conn
        self.adapter = adapter
        self.warnings = warnings
        self.dids: dict[str, str | None] = {}

    def did(self, handle: str) -> str | None:
        handle = handle.lower().lstrip("@")
        if handle not in self.dids:
            try:
                found = self.conn.query("com.atproto.identity.resolveHandle", {"handle": handle})
                self.dids[handle] = found.get("did") or None
            except ContentRejected:  # 400: unknown or invalid handle
                self.dids[handle] = None
                self.warnings.append(
                    f"@{handle} is not a Bluesky account any more: linked to the profile instead"
                )
        return self.dids[handle]

    def __call__(self, facets: Any) -> list[dict[str, Any]]:
        out = []
        for facet in facets:
            features = []
            for feature in facet.get("features") or ():
                feature = dict(feature)
                if feature.get("$type") == MENTION and "did" not in feature:
                    handle = str(feature.pop("handle", ""))
                    did = self.did(handle) if handle else None
                    if did:
                        feature["did"] = did
                    else:
                        feature = {"$type": LINK, "uri": self.adapter.profile_url(handle)}
                features.append(feature)
            index = facet["index"]
            out.append(
                {
                    "index": {"byteStart": index["byteStart"], "byteEnd": index["byteEnd"]},
                    "features": features,
                }
            )
        return out


MENTION = "app.bsky.richtext.facet#mention"
LINK = "app.bsky.richtext.facet#link"
