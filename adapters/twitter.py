"""X (Twitter): plain text, 280 weighted characters, the reach-penalty habits as defaults.

Publishing uses the X API v2 with OAuth 1.0a user context, signed by requests-oauthlib: images
go to ``POST /2/media/upload`` and get their alt text and sensitive-media warning through
``POST /2/media/metadata``; the post is ``POST /2/tweets``, and links or credits that were moved
out of it (``links_in_reply``, credits that did not fit) follow as a self-reply thread. X has no
idempotency key, so every part's id is saved as soon as it exists, and a part whose answer was
lost is looked for on the account (``GET /2/users/:id/tweets``) before it is sent again.

Credentials (``credential_fields``): ``consumer_key``, ``consumer_secret`` (the app's),
``access_token``, ``access_token_secret`` (the artist's, from the PIN flow), ``api_base``
(default https://api.x.com) and ``upload_base`` (the media upload host; default: ``api_base``,
where the v2 upload lives).

Sources: twitter-text config/v3.json (weights, URL = 23); screen names 1-15 [A-Za-z0-9_];
sensitive_media_warning values from PostyBirb's twitter-api-service.ts (platforms.md).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
import re
import time
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests
from requests_oauthlib import OAuth1

from adapters.base import Adapter, ImageLimits, TagRules
from adapters.errors import (
    AuthError,
    ContentRejected,
    NeedsAttention,
    PlatformError,
    RateLimited,
    SiteChanged,
    TransientError,
)
from adapters.http import may_have_reached, retry_after
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
from adapters.rules import X_CENSOR, Rules
from adapters.text.writers.plain import PlainWriter

logger = logging.getLogger(__name__)


class Twitter(Adapter):
    id = "twitter"
    name = "X"
    text_limit = 280
    length_unit = "weighted"
    limit_unit = "weighted characters"
    title_in_text = True
    markup = "plain"
    writer = PlainWriter
    images = ImageLimits(
        max_count=4,
        max_bytes=5_000_000,
        formats=("image/jpeg", "image/png", "image/gif", "image/webp"),
        keeps_metadata=False,  # X re-encodes photos and drops their metadata (unconfirmed)
    )
    alt_text_limit = 1000
    tag_rules = TagRules(inline_hashtags=True)
    rating_map = MappingProxyType(
        {"general": (), "mature": ("other",), "adult": ("adult_content",)}
    )
    flag_map = MappingProxyType(
        {
            "nudity": "adult_content",
            "sexual": "adult_content",
            "violence": "graphic_violence",
            "gore": "graphic_violence",
        }
    )
    profile_url_template = "https://x.com/{handle}"
    handle_pattern = re.compile(r"@?([A-Za-z0-9_]{1,15})")
    handle_hint = "1-15 letters, digits or underscores"
    native_mention = "@{handle}"
    delinked_mention = "@/{handle}"
    default_rules = Rules(mention_style="delinked", censor=X_CENSOR, links_in_reply=True)
    default_censor = X_CENSOR
    supports_delete = True
    supports_threads = True

    def rating_fields(self, value: Any, flags: list[Any]) -> Any:
        return {"sensitive_media_warning": list(dict.fromkeys((*value, *flags)))}

    # -- publishing ------------------------------------------------------------------------
    # Sources: docs.x.com x-api/posts/create-post (POST /2/tweets: text, media.media_ids,
    # reply.in_reply_to_tweet_id; 201 {"data": {"id", "text"}}), posts/delete-post,
    # users/user-lookup-me (GET /2/users/me), users/timeline (GET /2/users/:id/tweets,
    # max_results 5-100, pagination_token), media/upload-media (POST /2/media/upload, multipart
    # ``media`` + ``media_category``; the v1.1 upload was retired in 2025),
    # media/create-media-metadata (POST /2/media/metadata: alt_text, sensitive_media_warning),
    # fundamentals/rate-limits (x-rate-limit-limit/-remaining/-reset, reset in epoch seconds),
    # fundamentals/authentication (OAuth 1.0a user context, HMAC-SHA1). Duplicate text is refused
    # with 403 "You are not allowed to create a Tweet with duplicate content." (observed shape).
    credential_fields: ClassVar[tuple[str, ...]] = (
        "consumer_key",
        "consumer_secret",
        "access_token",
        "access_token_secret",
        "api_base",
        "upload_base",
    )
    api_base: ClassVar[str] = "https://api.x.com"
    upload_base: ClassVar[str] = "https://api.x.com"  # v2 media upload lives on the API host
    media_category: ClassVar[str] = "tweet_image"
    media_expiry_margin: ClassVar[float] = 3600.0  # re-upload media this close to expiring
    lookup_depth: ClassVar[int] = 100  # recent posts searched when reconciling (X's page max)
    timeout = 60.0

    def _publish(self, job: PublishJob, progress: dict[str, Any], save: Checkpoint) -> Published:
        post = job.post
        texts = [str(post.get("text") or ""), *(str(r) for r in post.get("replies") or ())]
        with _Api.open(self, job.credentials) as api:
            user = progress.get("user") or self._me(api)
            if "user" not in progress:
                save({"user": user})
            ids = [str(i) for i in progress.get("tweet_ids") or ()]
            media_ids = [str(i) for i in progress.get("media_ids") or ()]
            old = self._replaced(api, progress.get("replaces"), texts, ids)
            if not ids:
                media_ids = self._upload(api, job, progress, save)
            for i in range(len(ids), len(texts)):
                parent = ids[-1] if ids else None
                try:
                    if i > 0:
                        self._clear_old_twin(api, old, texts[i], save)
                    tweet_id = self._create(
                        api,
                        i,
                        texts[i],
                        parent,
                        media_ids if i == 0 else [],
                        user,
                        progress,
                        save,
                        old.ids,
                    )
                except ContentRejected as exc:
                    if ids:
                        self._take_down(api, ids, i, len(texts), exc, save)
                    raise
                ids.append(tweet_id)
                save({"tweet_ids": list(ids), "pending": None})
            return Published(
                ids[0],
                status_url(user["username"], ids[0]),
                {"reply_ids": ids[1:], "media_ids": media_ids},
            )

    def _me(self, api: _Api) -> dict[str, str]:
        data = api.call("GET", api.url("/2/users/me")).get("data")
        if not isinstance(data, dict) or not data.get("id") or not data.get("username"):
            raise SiteChanged("X's /2/users/me answer has no data.id or data.username")
        return {"id": str(data["id"]), "username": str(data["username"])}

    def _upload(
        self, api: _Api, job: PublishJob, progress: dict[str, Any], save: Checkpoint
    ) -> list[str]:
        """Upload the images not uploaded yet (media expire: stale ones are uploaded again),
        then set each one's alt text and sensitive-media warning."""
        media_ids = [str(i) for i in progress.get("media_ids") or ()]
        described = [str(i) for i in progress.get("media_described") or ()]
        expires = progress.get("media_expires_at")
        if media_ids and expires is not None and time.time() > float(expires):
            media_ids, described = [], []
            save({"media_ids": [], "media_described": [], "media_expires_at": None})
        default_alt = str(job.post.get("alt_text") or "")
        warnings = list((job.post.get("rating") or {}).get("sensitive_media_warning") or ())
        for media in job.images[len(media_ids) :]:
            data, media_type, _, _ = self._fit(media)
            answer = api.call(
                "POST",
                api.upload_url("/2/media/upload"),
                files={"media": (media.filename, data, media_type)},
                data={"media_category": self.media_category, "media_type": media_type},
                write=True,
            ).get("data")
            if not isinstance(answer, dict) or not answer.get("id"):
                raise TransientError("X's media upload answer has no data.id", ambiguous=True)
            media_ids.append(str(answer["id"]))
            lifetime = float(answer.get("expires_after_secs") or 86400)
            deadline = time.time() + lifetime - self.media_expiry_margin
            if expires is None or deadline < float(expires):
                expires = deadline
            save({"media_ids": list(media_ids), "media_expires_at": expires})
        for media_id, media in zip(media_ids, job.images, strict=True):
            if media_id in described:
                continue
            metadata: dict[str, Any] = {}
            alt = media.alt_text or default_alt
            if alt:
                metadata["alt_text"] = {"text": alt[: self.alt_text_limit or None]}
            if warnings:
                metadata["sensitive_media_warning"] = {
                    name: name in warnings for name in SENSITIVE_WARNINGS
                }
            if metadata:
                api.call(
                    "POST",
                    api.url("/2/media/metadata"),
                    json={"id": media_id, "metadata": metadata},
                    write=True,
                )
            described.append(media_id)
            save({"media_described": list(described)})
        return media_ids

    def _fit(self, media: Media) -> tuple[bytes, str, int, int]:
        return fit_image(media, self.images, self.name)

    def _create(
        self,
        api: _Api,
        index: int,
        text: str,
        parent: str | None,
        media_ids: list[str],
        user: Mapping[str, str],
        progress: dict[str, Any],
        save: Checkpoint,
        exclude: frozenset[str] = frozenset(),
    ) -> str:
        """POST one part of the thread. X has no idempotency key: when an earlier attempt sent
        this part and lost the answer, look for it on the account before sending it again.
        ``exclude``: posts that are never ours to adopt (a repost's old thread: the same text
        there is the post being replaced, not an earlier attempt of this one)."""
        if progress.get("pending") == index:
            found = self._find(api, user["id"], text, parent, exclude)
            if found is not None:
                return found
        save({"pending": index})
        body: dict[str, Any] = {"text": text}
        if media_ids:
            body["media"] = {"media_ids": media_ids}
        if parent:
            body["reply"] = {"in_reply_to_tweet_id": parent}
        try:
            answer = api.call("POST", api.url("/2/tweets"), json=body, write=True)
        except Duplicate:
            found = self._find(api, user["id"], text, parent, exclude)  # an earlier attempt?
            if found is not None:
                return found
            raise
        data = answer.get("data")
        if not isinstance(data, dict) or not data.get("id"):
            raise TransientError("X's answer to POST /2/tweets has no data.id", ambiguous=True)
        return str(data["id"])

    def _take_down(
        self,
        api: _Api,
        ids: list[str],
        index: int,
        total: int,
        cause: ContentRejected,
        save: Checkpoint,
    ) -> None:
        """A later part of the thread was refused for good: delete the parts already up, so
        that no post stays up without its links and credits. If one cannot be deleted, the
        delivery needs a person (never a half-posted thread left silently)."""
        left: list[str] = []
        for tweet_id in reversed(ids):
            try:
                api.call("DELETE", api.url(f"/2/tweets/{tweet_id}"), write=True)
            except NotFound:
                pass
            except PlatformError as exc:
                logger.warning("twitter: could not delete %s: %s", tweet_id, exc.message)
                left.append(tweet_id)
        save({"tweet_ids": [], "pending": None, "left_up": left})
        what = f"part {index + 1} of {total} of the thread was refused ({cause.message})"
        if left:
            raise HalfPosted(
                f"{what}, and these earlier parts could not be deleted and are still up: "
                f"{', '.join(reversed(left))}; delete them by hand"
            ) from cause
        raise ContentRejected(f"{what}; the earlier parts were deleted") from cause

    def _timeline(self, api: _Api, user_id: str, **params: Any) -> list[dict[str, Any]]:
        """The account's recent posts (replies included), newest first, one page."""
        answer = api.call(
            "GET",
            api.url(f"/2/users/{user_id}/tweets"),
            params={
                "max_results": self.lookup_depth,
                "tweet.fields": "created_at,entities,referenced_tweets,conversation_id",
                **params,
            },
        )
        return [t for t in answer.get("data") or () if isinstance(t, dict) and t.get("id")]

    def _find(
        self,
        api: _Api,
        user_id: str,
        text: str,
        parent: str | None,
        exclude: frozenset[str] = frozenset(),
    ) -> str | None:
        wanted = comparable(text)
        for tweet in self._timeline(api, user_id):
            if str(tweet["id"]) in exclude:
                continue
            if replied_to(tweet) == parent and comparable(expanded_text(tweet)) == wanted:
                return str(tweet["id"])
        return None

    # -- delete-and-repost -----------------------------------------------------------------
    # A repost (server/delivery/repost.py) passes ``progress["replaces"]``: the old post's id
    # and what its delivery saved. X refuses a post whose text equals one already up, and the
    # old post is still up while the new one is posted, so the old thread is read first.

    def _replaced(self, api: _Api, replaces: Any, texts: list[str], ids: list[str]) -> _OldThread:
        """The thread a repost replaces, with each part's text; fails before anything is
        posted when the new post's text is the old one's (X would refuse it as a duplicate,
        and adopting the old post would make the repost delete its own result)."""
        if not isinstance(replaces, Mapping) or not replaces.get("remote_id"):
            return _OldThread()
        thread = recorded_thread(str(replaces["remote_id"]), replaces.get("progress") or {})
        shown = self._texts(api, thread)
        old = _OldThread(frozenset(thread), {i: shown[i] for i in thread[1:] if i in shown})
        main = shown.get(thread[0])
        if not ids and main is not None and same_text(main, texts[0]):
            raise ContentRejected(
                "the post's text did not change, and X refuses a post whose text equals one "
                "already up (the old post is still up until the new one is): nothing was "
                "posted and the old post stays"
            )
        return old

    def _texts(self, api: _Api, tweet_ids: list[str]) -> dict[str, str]:
        """The posts' texts as sent (``GET /2/tweets?ids=``; posts that are gone are left
        out)."""
        answer = api.call(
            "GET",
            api.url("/2/tweets"),
            params={"ids": ",".join(tweet_ids[:100]), "tweet.fields": "entities"},
        )
        return {
            str(t["id"]): expanded_text(t)
            for t in answer.get("data") or ()
            if isinstance(t, dict) and t.get("id")
        }

    def _clear_old_twin(self, api: _Api, old: _OldThread, text: str, save: Checkpoint) -> None:
        """A reply of the new thread repeats one of the old thread word for word (e.g. the
        credits did not change): X would refuse it as a duplicate, so that old reply goes
        first. The new post is already up, and the old one goes at the end of the repost."""
        for tweet_id, shown in list(old.replies.items()):
            if not same_text(shown, text):
                continue
            with suppress(NotFound):
                api.call("DELETE", api.url(f"/2/tweets/{tweet_id}"), write=True)
            del old.replies[tweet_id]
            logger.info("twitter: deleted old reply %s first: the new thread repeats it", tweet_id)
            save({"cleared": [*old.cleared, tweet_id]})
            old.cleared.append(tweet_id)

    def lookup(self, job: PublishJob) -> Lookup:
        """FOUND only when the whole thread is on the account. A main post whose replies are
        missing answers ABSENT: ``publish`` looks for each part an earlier attempt may have
        sent before sending it again, so it adopts what is there and posts only the rest."""
        texts = [str(job.post.get("text") or ""), *(str(r) for r in job.post.get("replies") or ())]
        try:
            with _Api.open(self, job.credentials) as api:
                user = self._me(api)
                timeline = self._timeline(api, user["id"])
        except (TransientError, RateLimited, SiteChanged):
            return Lookup(Presence.UNKNOWN)
        ids: list[str] = []
        for text in texts:
            parent, wanted = (ids[-1] if ids else None), comparable(text)
            match = next(
                (
                    str(t["id"])
                    for t in reversed(timeline)  # oldest first: the first copy is ours
                    if replied_to(t) == parent and comparable(expanded_text(t)) == wanted
                ),
                None,
            )
            if match is None:
                return Lookup(Presence.ABSENT)
            ids.append(match)
        return Lookup(
            Presence.FOUND,
            Published(ids[0], status_url(user["username"], ids[0]), {"reply_ids": ids[1:]}),
        )

    def delete(
        self,
        remote_id: str,
        credentials: Mapping[str, str],
        *,
        update_credentials: CredentialsUpdate | None = None,  # OAuth 1.0a tokens do not change
    ) -> None:
        """Delete the post alone: without a record of its thread, no reply is taken (it may be
        the artist's own). See ``delete_recorded``."""
        self.delete_recorded(remote_id, {}, credentials)

    def delete_recorded(
        self,
        remote_id: str,
        saved: Mapping[str, Any],
        credentials: Mapping[str, str],
        *,
        reply_texts: Sequence[str] = (),
        update_credentials: CredentialsUpdate | None = None,
    ) -> None:
        """Delete the post and exactly the thread Creditline recorded for it (``saved``: what
        its delivery saved, ``tweet_ids`` or an adopted thread's ``reply_ids``), newest part
        first, so a post never stays up without its credits while the thread is taken down.

        Only when nothing was recorded is the account's timeline searched, and then only for
        self-replies chained under the post whose text is one of ``reply_texts`` (what
        Creditline would write there): other replies, the artist's own, are never touched.
        A post that is already gone is no error."""
        thread = recorded_thread(remote_id, saved)
        with _Api.open(self, credentials) as api:
            if not _has_record(saved) and reply_texts:
                thread += self._matching_replies(api, str(remote_id), reply_texts)
            for tweet_id in reversed(thread):
                with suppress(NotFound):
                    api.call("DELETE", api.url(f"/2/tweets/{tweet_id}"), write=True)

    def _matching_replies(self, api: _Api, remote_id: str, texts: Sequence[str]) -> list[str]:
        wanted = {comparable(t) for t in texts}
        user = self._me(api)
        children: dict[str, str] = {}
        for tweet in reversed(self._timeline(api, user["id"])):  # oldest first
            parent = replied_to(tweet)
            if parent and comparable(expanded_text(tweet)) in wanted:
                children.setdefault(parent, str(tweet["id"]))
        chain, current = [], remote_id
        while current in children:
            current = children[current]
            chain.append(current)
        return chain

    def check_auth(
        self, credentials: Mapping[str, str], *, update_credentials: CredentialsUpdate | None = None
    ) -> str:
        with _Api.open(self, credentials) as api:
            return "@" + self._me(api)["username"]

    def fetch(
        self,
        credentials: Mapping[str, str],
        limit: int = 100,
        *,
        update_credentials: CredentialsUpdate | None = None,
        since: dt.datetime | None = None,  # read in full; the importer skips older posts
    ) -> list[Published]:
        """The account's own recent posts (no reposts), newest first, with their images."""
        out: list[Published] = []
        with _Api.open(self, credentials) as api:
            user = self._me(api)
            token = None
            while len(out) < limit:
                params: dict[str, Any] = {
                    "max_results": max(5, min(100, limit - len(out))),
                    "exclude": "retweets",
                    "tweet.fields": "created_at,entities,referenced_tweets,possibly_sensitive,"
                    "attachments",
                    "expansions": "attachments.media_keys",
                    "media.fields": "url,preview_image_url,alt_text,type,width,height",
                }
                if token:
                    params["pagination_token"] = token
                answer = api.call("GET", api.url(f"/2/users/{user['id']}/tweets"), params=params)
                media = {
                    m.get("media_key"): m
                    for m in (answer.get("includes") or {}).get("media") or ()
                    if isinstance(m, dict)
                }
                page = [t for t in answer.get("data") or () if isinstance(t, dict) and t.get("id")]
                out.extend(self._imported(user["username"], t, media) for t in page)
                token = (answer.get("meta") or {}).get("next_token")
                if not page or not token:
                    break
        return out[:limit]

    def _imported(
        self, username: str, tweet: Mapping[str, Any], media: Mapping[str, Any]
    ) -> Published:
        text = expanded_text(tweet)
        keys = (tweet.get("attachments") or {}).get("media_keys") or ()
        images = [
            {
                "media_key": key,
                "type": media[key].get("type"),
                "url": media[key].get("url") or media[key].get("preview_image_url"),
                "alt_text": media[key].get("alt_text"),
                "width": media[key].get("width"),
                "height": media[key].get("height"),
            }
            for key in keys
            if key in media
        ]
        url = status_url(username, str(tweet["id"]))
        return Published(
            str(tweet["id"]),
            url,
            {
                "title": text.strip().split("\n", 1)[0] if text.strip() else "",
                "text": text,
                "image_url": next((i["url"] for i in images if i["url"]), None),
                "post_url": url,
                "images": images,
                "created_at": tweet.get("created_at"),
                "in_reply_to_id": replied_to(tweet),
                "possibly_sensitive": bool(tweet.get("possibly_sensitive")),
            },
        )

    def parse_url(self, url: str) -> str | None:
        match = STATUS_URL.fullmatch(url.strip())
        return match.group("id") if match else None


SENSITIVE_WARNINGS = ("adult_content", "graphic_violence", "other")
# x.com / twitter.com (www., mobile.) /<user>/status/<id>, /i/web/status/<id>, with an optional
# /photo/N or /video/N tail, query and fragment.
STATUS_URL = re.compile(
    r"https?://(?:(?:www|mobile)\.)?(?:x|twitter)\.com/"
    r"(?:[A-Za-z0-9_]{1,15}|i(?:/web)?)/status(?:es)?/(?P<id>[0-9]{1,19})"
    r"(?:/(?:photo|video)/[1-4])?/?(?:[?#]\S*)?"
)
URL_IN_TEXT = re.compile(r"https?://\S+")


@dataclass
class _OldThread:
    """The thread a repost replaces: every id (never adopted as ours), and the replies still
    up with their texts (a new reply repeating one of them clears it first)."""

    ids: frozenset[str] = frozenset()
    replies: dict[str, str] = field(default_factory=dict)
    cleared: list[str] = field(default_factory=list)


def _has_record(saved: Mapping[str, Any]) -> bool:
    return saved.get("reply_ids") is not None or bool(saved.get("tweet_ids"))


def recorded_thread(remote_id: str, saved: Mapping[str, Any]) -> list[str]:
    """The post and the replies its delivery recorded: ``reply_ids`` when the whole thread was
    noted (posted or adopted), else the ``tweet_ids`` saved part by part."""
    replies = saved.get("reply_ids")
    if replies is None:
        ids = [str(i) for i in saved.get("tweet_ids") or ()]
        replies = ids[1:] if ids and ids[0] == str(remote_id) else []
    return [str(remote_id), *(str(r) for r in replies)]


def status_url(username: str, tweet_id: str) -> str:
    return f"https://x.com/{username}/status/{tweet_id}"


def replied_to(tweet: Mapping[str, Any]) -> str | None:
    for ref in tweet.get("referenced_tweets") or ():
        if isinstance(ref, dict) and ref.get("type") == "replied_to" and ref.get("id"):
            return str(ref["id"])
    return None


def expanded_text(tweet: Mapping[str, Any]) -> str:
    """A post's text as it was sent: t.co links back to their targets, the attached media's
    link dropped, entities unescaped (X answers ``&amp;``, ``&lt;``, ``&gt;`` in ``text``)."""
    text = str(tweet.get("text") or "")
    for link in (tweet.get("entities") or {}).get("urls") or ():
        if not isinstance(link, dict) or not link.get("url"):
            continue
        if link.get("media_key"):  # the link X appends for attached media: not our text
            text = text.replace(link["url"], "").rstrip()
            continue
        full = link.get("unwound_url") or link.get("expanded_url")
        if full:
            text = text.replace(link["url"], full)
    return html.unescape(text)


def comparable(text: str) -> str:
    """Text for matching our own posts: X may shorten or rewrite links (a media link is cut
    from the end), so links are compared as a placeholder and whitespace is folded."""
    text = unicodedata.normalize("NFC", html.unescape(text))
    return " ".join(URL_IN_TEXT.sub("<url>", text).split())


def same_text(shown: str, text: str) -> bool:
    """Whether X would take ``text`` for a duplicate of a post showing ``shown`` (expanded):
    links compared in full (a changed link is a changed post), whitespace folded."""

    def fold(value: str) -> str:
        return " ".join(unicodedata.normalize("NFC", html.unescape(value)).split())

    return fold(shown) == fold(text)


class NotFound(ContentRejected):
    """404: the post is not there (deleted, or not this account's)."""


class Duplicate(ContentRejected):
    """403: X refuses a post whose text repeats a recent post of the account."""


class HalfPosted(NeedsAttention):
    """Part of a thread is up and could not be taken down: a person must look (DESIGN.md:
    never a half-posted thread left silently)."""


class _Api:
    """One ``requests`` session signed with OAuth 1.0a (requests-oauthlib), and the error
    mapping from X's answers to the taxonomy in ``adapters.errors``."""

    def __init__(self, adapter: Twitter, credentials: Mapping[str, str]) -> None:
        missing = [
            name
            for name in ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
            if not (credentials.get(name) or "").strip()
        ]
        if missing:
            raise AuthError(f"X credentials are missing {', '.join(missing)}")
        self.base = _base(credentials.get("api_base"), adapter.api_base)
        self.upload_base = _base(credentials.get("upload_base"), self.base)
        self.timeout = (min(10.0, adapter.timeout), adapter.timeout)
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.auth = OAuth1(
            credentials["consumer_key"].strip(),
            client_secret=credentials["consumer_secret"].strip(),
            resource_owner_key=credentials["access_token"].strip(),
            resource_owner_secret=credentials["access_token_secret"].strip(),
        )

    @classmethod
    @contextmanager
    def open(cls, adapter: Twitter, credentials: Mapping[str, str]) -> Iterator[_Api]:
        api = cls(adapter, credentials)
        try:
            yield api
        finally:
            api.session.close()

    def url(self, path: str) -> str:
        return self.base + path

    def upload_url(self, path: str) -> str:
        return self.upload_base + path

    def call(self, method: str, url: str, *, write: bool = False, **kwargs: Any) -> dict[str, Any]:
        """One request; returns the JSON object X answered, or raises a taxonomy error.
        ``write``: the request changes something, so a lost answer leaves the outcome open."""
        try:
            with self.session.request(method, url, timeout=self.timeout, **kwargs) as response:
                status, headers, body = response.status_code, response.headers, response.content
        except requests.RequestException as exc:
            reached = write and may_have_reached(exc)
            raise TransientError(f"could not reach X: {exc}", ambiguous=reached) from exc
        if status >= 400 or status < 200:
            raise error_for(status, headers, body, write)
        try:
            answer = json.loads(body) if body else {}
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise TransientError(f"X answered {status} with an unreadable body", ambiguous=write)
        return answer


USER_AGENT = "Creditline"


def _base(value: str | None, default: str) -> str:
    base = (value or "").strip().rstrip("/") or default
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise AuthError(f"{base!r} is not an X API address")
    return base


def error_for(status: int, headers: Mapping[str, str], body: bytes, write: bool) -> PlatformError:
    """X's error answer (RFC 7807 problem JSON: title, detail, type; or ``errors``) as one of
    the taxonomy's classes."""
    try:
        problem = json.loads(body) if body else {}
    except ValueError:
        problem = {}
    if not isinstance(problem, dict):
        problem = {}
    detail = str(problem.get("detail") or problem.get("title") or "")
    for err in problem.get("errors") or ():
        if isinstance(err, dict) and err.get("message"):
            detail = f"{detail}: {err['message']}" if detail else str(err["message"])
    kind = str(problem.get("type") or "")
    message = f"X answered {status}: {detail or 'no reason given'}"
    if status == 429:
        return RateLimited(message, retry_after=reset_in(headers))
    if status == 401:
        return AuthError(message)
    if status == 403:
        if "duplicate" in detail.lower():
            return Duplicate(message)
        if any(k in kind for k in AUTH_PROBLEMS) or "oauth" in detail.lower():
            return AuthError(message)
        return ContentRejected(message)
    if status == 404:
        return NotFound(message)
    if status >= 500 or status == 408:
        return TransientError(message, ambiguous=write)
    return ContentRejected(message)


# Problem types that mean "these credentials may not do this" (docs.x.com fundamentals/errors).
AUTH_PROBLEMS = ("oauth1-permissions", "client-forbidden", "unsupported-authentication")


def reset_in(headers: Mapping[str, str]) -> float | None:
    """Seconds until ``x-rate-limit-reset`` (epoch seconds), or ``Retry-After`` if that is all."""
    for name in ("x-rate-limit-reset", "x-user-limit-24hour-reset", "x-app-limit-24hour-reset"):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, float(value) - time.time())
            except ValueError:
                continue
    return retry_after(headers)
