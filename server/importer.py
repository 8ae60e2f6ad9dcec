"""Import: bring an account's existing posts into Creditline as artworks and copies.

``run`` reads the account's posts through its adapter's ``fetch``, downloads each post's images
through the SSRF guard below, stores them in the media store (its size, format and
decompression-bomb checks apply), fingerprints them with the registry's code, and then either

- adds a ``Copy`` to the artist's existing artwork showing the same picture (same sha256, or a
  fingerprint match in the registry), so one picture posted on several sites is one artwork; or
- creates a new draft artwork (title from the post, rating from what the platform says) and
  registers its fingerprints, so later posts of the same picture group with it.

Every post becomes a ``Copy`` with ``source="import"``; a post already known by
(platform, remote id) or by URL is skipped, so running an import again adds only what is new.
Credits found in the post's text (``:iconname:`` on FurAffinity and DeviantArt, ``<!~name>``
on Weasyl, ``[iconname]name[/iconname]`` on Inkbunny, ``@handle``, ``@user@instance``,
``@/name``, Mastodon mention links; the adapters write sites' rendered user links and
Tumblr's mention ranges back in these forms) are stored as ``CreditProposal`` rows for the
artist to accept; none is applied on its own. Most adapters' ``fetch`` stops reading its
listing at the first post older than ``since``; whatever older posts still arrive are left
out here. ``server/import_jobs.py`` runs ``run`` in a worker and keeps its progress.

Ratings: a post the platform marks adult or sensitive is never imported as "general". Where a
platform only says "sensitive" (a yes/no), the artwork is rated "adult"; where the import
cannot see a rating at all (Tumblr), it is "adult" too, with a warning
in the report, so that nothing is later cross-posted as general by a guess.

Images are downloaded only from the platform's media hosts (``MEDIA_HOSTS`` + the host the
account itself is configured with + ``IMPORT_MEDIA_HOSTS``) through ``server.media_guard``;
credits in the text are found by ``server.import_mentions``.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from sqlalchemy import func, or_, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from adapters import registry as adapters
from adapters.errors import PlatformError
from adapters.publishing import Published
from server import artworks, db, uploads, vault
from server.import_mentions import find_mentions
from server.media import MediaError, MediaStore, StoredImage
from server.media_guard import Downloader, Refused, Resolver, resolve_addresses
from server.models import (
    Account,
    Artwork,
    ArtworkImage,
    Copy,
    CreditProposal,
    Person,
    PersonAccount,
    Registration,
    User,
)
from server.registry import fingerprint as fpmod
from server.registry import service as registry_service

log = logging.getLogger(__name__)

IMPORT_DEFAULTS: dict[str, Any] = {
    "IMPORT_ALLOW_LOOPBACK": False,  # tests only: let the guard reach loopback peers
    "IMPORT_MEDIA_HOSTS": {},  # platform id -> extra media hosts ("*.example" for subdomains)
    "IMPORT_MAX_POSTS": 1000,  # posts read per import run
    "IMPORT_CONNECT_TIMEOUT": 10.0,
    "IMPORT_READ_TIMEOUT": 30.0,
    "IMPORT_DOWNLOAD_SECONDS": 120.0,  # the whole download of one image
    "IMPORT_JOB_SECONDS": 1800.0,  # one whole import (job or API/CLI run), then it is stopped
}
# A post's text longer than this is cut (proposals are searched in it and it may be shown).
MAX_TEXT_CHARS = 64 * 1024
RATING_ORDER = {"general": 0, "mature": 1, "adult": 2}

# Each platform's own media hosts; "*.x" means any subdomain of x (not x itself). The host the
# account's credentials point at (Mastodon instance, Bluesky PDS, site/api_base) is added.
MEDIA_HOSTS: dict[str, tuple[str, ...]] = {
    "bluesky": ("bsky.social", "*.bsky.network", "cdn.bsky.app"),
    "mastodon": (),  # the instance and its subdomains (see _account_hosts)
    # full files on d., thumbnails on t. (the upload time is in both names); facdn.net is the
    # older name of the same CDN
    "furaffinity": ("www.furaffinity.net", "d.furaffinity.net", "t.furaffinity.net", "*.facdn.net"),
    "weasyl": ("www.weasyl.com", "cdn.weasyl.com"),  # /static/media/xx/yy/zz/<sha256>.<ext>
    "inkbunny": ("inkbunny.net", "*.ib.metapix.net"),  # tx.ib.metapix.net/files/full/…
    # the API's content.src: images-wixmp-<hex>.wixmp.com/f/<uuid>/…; "*" is one DNS label
    "deviantart": ("images-wixmp-*.wixmp.com",),
    # static1.e621.net/data/xx/yy/<md5>.<ext>; e926.net is e621's safe-only mirror
    "e621": ("e621.net", "static1.e621.net", "e926.net", "static1.e926.net"),
    "tumblr": ("*.media.tumblr.com",),  # 64.media.tumblr.com/…
    "twitter": ("pbs.twimg.com",),
}
# Credential keys naming the platform host an account talks to.
_BASE_KEYS = ("instance", "service", "site", "api_base", "upload_base")


class ImportFailed(Exception):
    """The import could not start or read the account; ``status``/``code`` are for the API."""

    def __init__(self, message: str, code: str = "import_failed", status: int = 502) -> None:
        super().__init__(message)
        self.message, self.code, self.status = message, code, status


class TimedOut(ImportFailed):
    """The import ran past ``IMPORT_JOB_SECONDS``; what was recorded so far stays."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "timeout", 504)


def media_hosts(app: Flask, platform: str, credentials: Mapping[str, str]) -> tuple[str, ...]:
    hosts = list(MEDIA_HOSTS.get(platform, ()))
    hosts += list((app.config.get("IMPORT_MEDIA_HOSTS") or {}).get(platform, ()))
    for key in _BASE_KEYS:
        value = (credentials.get(key) or "").strip()
        if not value:
            continue
        host = urlsplit(value if "://" in value else f"https://{value}").hostname
        if host:
            hosts.append(host)
            if platform == "mastodon":
                hosts.append(f"*.{host}")  # files.instance, media.instance, …
    return tuple(dict.fromkeys(hosts))


# -- what a post says, per platform --------------------------------------------------------------


@dataclass
class Post:
    remote_id: str
    url: str
    title: str
    text: str
    html: str
    images: list[tuple[str, str]]  # (url, alt text)
    rating: str
    rating_known: bool
    tags: list[str]
    created_at: dt.datetime | None
    reply: bool


def _parse_time(value: Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    try:
        if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
            return dt.datetime.fromtimestamp(float(value), dt.UTC)
        if isinstance(value, dt.datetime):
            moment = value
        else:
            text = str(value).strip().replace("Z", "+00:00")
            text = re.sub(r"([+-]\d\d)$", r"\1:00", text)  # "…+00" (Inkbunny)
            moment = dt.datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _rating(platform: str, extra: Mapping[str, Any]) -> tuple[str, bool]:
    """(rating, known). Unknown is "adult": never "general" by a guess."""
    if platform == "bluesky":
        labels = {str(v) for v in extra.get("labels") or ()}
        if "porn" in labels:
            return "adult", True
        if labels & {"sexual", "nudity", "graphic-media"}:
            return "mature", True
        return "general", True
    if platform == "mastodon":
        if not extra.get("sensitive") and not extra.get("spoiler_text"):
            return "general", True
        spoiler = str(extra.get("spoiler_text") or "").strip().lower()
        return ("mature" if spoiler == "mature" else "adult"), True
    if platform == "twitter":
        return ("adult" if extra.get("possibly_sensitive") else "general"), True
    if platform == "deviantart":
        return ("adult" if extra.get("is_mature") else "general"), True
    value = str(extra.get("rating") or "").strip().lower()
    table = {
        "weasyl": {"general": "general", "10": "general", "moderate": "mature", "20": "mature",
                   "mature": "mature", "30": "mature", "explicit": "adult", "40": "adult"},
        "inkbunny": {"general": "general", "0": "general", "mature": "mature", "1": "mature",
                     "adult": "adult", "2": "adult"},
        "e621": {"s": "general", "safe": "general", "q": "mature", "questionable": "mature",
                 "e": "adult", "explicit": "adult"},
        "furaffinity": {"general": "general", "mature": "mature", "adult": "adult"},
    }.get(platform, {})  # fmt: skip
    if value in table:
        return table[value], True
    return "adult", False


def _images(platform: str, extra: Mapping[str, Any]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if platform == "mastodon":
        for m in extra.get("media") or ():
            if m.get("type") in ("image", "gifv", None) and m.get("url"):
                found.append((str(m["url"]), str(m.get("description") or "")))
        return found
    for img in extra.get("images") or ():
        if not isinstance(img, Mapping) or not img.get("url"):
            continue
        if img.get("type") not in (None, "photo", "image"):
            continue  # videos
        alt = img.get("alt") or img.get("alt_text") or ""
        found.append((str(img["url"]), str(alt)))
    if not found and extra.get("image_url"):
        found.append((str(extra["image_url"]), ""))
    return found


def normalise(platform: str, published: Published) -> Post:
    extra = published.extra or {}
    # a hostile or broken listing can send megabytes of "description": cut it
    text = str(extra.get("text") or extra.get("description") or "")[:MAX_TEXT_CHARS]
    title = str(extra.get("title") or "").strip()
    if not title:
        first = next((line.strip() for line in text.splitlines() if line.strip()), "")
        title = first
    title = re.sub(r"\s+", " ", title)[:300].strip() or "Untitled"
    rating, known = _rating(platform, extra)
    tags = [str(t)[:100] for t in extra.get("tags") or () if isinstance(t, str) and t.strip()]
    created = None
    for key in ("created_at", "posted_at", "published_time"):
        created = created or _parse_time(extra.get(key))
    reply = bool(extra.get("is_reply") or extra.get("in_reply_to_id"))
    return Post(
        remote_id=str(published.remote_id),
        url=str(published.url or extra.get("post_url") or extra.get("url") or ""),
        title=title,
        text=text,
        html=str(extra.get("html") or "")[:MAX_TEXT_CHARS],
        images=_images(platform, extra),
        rating=rating,
        rating_known=known,
        tags=tags[:200],
        created_at=created,
        reply=reply,
    )


# -- the run ----------------------------------------------------------------------------------


@dataclass
class Report:
    fetched: int = 0
    imported: int = 0  # new copies recorded
    new_artworks: int = 0
    grouped: int = 0  # copies added to an artwork that already existed
    skipped: int = 0  # already known (same platform and remote id, or same URL)
    ignored: list[dict[str, str]] = field(default_factory=list)  # not artworks: no image, reply…
    failed: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    proposals: int = 0
    artworks: list[int] = field(default_factory=list)  # ids touched, in order

    def as_dict(self) -> dict[str, Any]:
        return {
            "fetched": self.fetched,
            "imported": self.imported,
            "new_artworks": self.new_artworks,
            "grouped": self.grouped,
            "skipped": self.skipped,
            "ignored": self.ignored,
            "failed": self.failed,
            "warnings": self.warnings,
            "proposals": self.proposals,
            "artworks": self.artworks,
        }


Progress = Callable[[int, int, Post | None], None]


def _config(app: Flask, key: str) -> Any:
    return app.config.get(key, IMPORT_DEFAULTS[key])


def fetch_posts(
    app: Flask, user_id: int, account_id: int, limit: int, since: dt.datetime | None = None
) -> tuple[str, dict[str, str], list[Published]]:
    """Open the account's credentials and read its posts (refreshed credentials are kept).
    Adapters whose listing is ordered by time stop reading at older posts; the others read up
    to ``limit`` and older posts are left out afterwards (``_one``)."""
    from server.delivery.runner import store_credentials

    with db.session_scope(app) as session:
        account = session.get(Account, account_id)
        if account is None or account.user_id != user_id:
            raise ImportFailed(f"account {account_id} not found", "not_found", 404)
        platform = account.platform
        if account.credentials is None:
            raise ImportFailed(f"account {account_id} has no credentials", "no_credentials", 409)
        credentials = vault.box_for(app).open(account.credentials)
    adapter = adapters.get(platform)
    try:
        posts = adapter.fetch(
            credentials,
            limit,
            update_credentials=lambda new: store_credentials(app, account_id, new),
            since=since,
        )
    except PlatformError as exc:
        kind = type(exc).__name__
        status, code = {"Unsupported": (422, "unsupported"), "AuthError": (409, "auth")}.get(
            kind, (502, "platform_error")
        )
        raise ImportFailed(f"{adapter.name}: {exc}", code, status) from exc
    return platform, dict(credentials), posts


def run(
    app: Flask,
    user_id: int,
    account_id: int,
    *,
    since: dt.datetime | None = None,
    limit: int | None = None,
    progress: Progress | None = None,
    resolve: Resolver = resolve_addresses,
    report: Report | None = None,
    deadline: float | None = None,
) -> Report:
    """Import the account's posts; each post is committed on its own (a failure loses only it).
    ``report`` (optional) is filled in as the import goes, so a caller can watch the counts.

    ``deadline`` (``time.monotonic()`` seconds; default ``IMPORT_JOB_SECONDS`` from now) bounds
    the whole run, so that no account, however large or hostile its listing, holds a worker
    (or an API request) forever: past it, ``TimedOut`` is raised between posts; what was
    recorded stays, and running the import again continues where it stopped."""
    limit = limit or int(_config(app, "IMPORT_MAX_POSTS"))
    seconds = float(_config(app, "IMPORT_JOB_SECONDS"))
    if deadline is None:
        deadline = time.monotonic() + seconds
    platform, credentials, published = fetch_posts(app, user_id, account_id, limit, since)
    store = uploads.store_for(app)
    downloader = Downloader(
        allowed_hosts=media_hosts(app, platform, credentials),
        allow_loopback=bool(_config(app, "IMPORT_ALLOW_LOOPBACK")),
        max_bytes=store.max_bytes,
        connect_timeout=float(_config(app, "IMPORT_CONNECT_TIMEOUT")),
        read_timeout=float(_config(app, "IMPORT_READ_TIMEOUT")),
        total_seconds=float(_config(app, "IMPORT_DOWNLOAD_SECONDS")),
        resolve=resolve,
    )
    instance = urlsplit(credentials.get("instance") or "").hostname or ""
    report = report if report is not None else Report()
    report.fetched = len(published)
    posts = [normalise(platform, p) for p in reversed(published)]  # oldest first
    if progress:
        progress(0, len(posts), None)
    for done, post in enumerate(posts, start=1):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimedOut(
                f"the import was stopped after {seconds:g} s (IMPORT_JOB_SECONDS), with "
                f"{done - 1} of {len(posts)} posts handled; run it again to continue "
                "(posts already recorded are skipped)"
            )
        downloader.total_seconds = min(float(_config(app, "IMPORT_DOWNLOAD_SECONDS")), left)
        try:
            _one(app, store, downloader, user_id, platform, instance, post, since, report)
        except Exception as exc:  # one bad post must not stop the rest
            log.exception("import of %s %s failed", platform, post.url)
            report.failed.append({"url": post.url, "reason": f"unexpected error: {exc}"[:500]})
        if progress:
            progress(done, len(posts), post)
    log.info(
        "import of account %s: %d imported, %d skipped, %d failed",
        account_id,
        report.imported,
        report.skipped,
        len(report.failed),
    )
    return report


def _known(session: Session, user_id: int, platform: str, post: Post) -> bool:
    conditions = [(Copy.platform == platform) & (Copy.remote_id == post.remote_id)]
    if post.url:
        conditions.append(Copy.url == post.url)
    return (
        session.scalar(
            select(Copy.id)
            .join(Artwork, Copy.artwork_id == Artwork.id)
            .where(Artwork.user_id == user_id, or_(*conditions))
            .limit(1)
        )
        is not None
    )


def _one(
    app: Flask,
    store: MediaStore,
    downloader: Downloader,
    user_id: int,
    platform: str,
    instance: str,
    post: Post,
    since: dt.datetime | None,
    report: Report,
) -> None:
    if since is not None and post.created_at is not None and post.created_at < since:
        report.ignored.append({"url": post.url, "reason": "posted before --since"})
        return
    with db.session_scope(app) as session:
        if _known(session, user_id, platform, post):
            report.skipped += 1
            return
    if post.reply:
        report.ignored.append({"url": post.url, "reason": "a reply"})
        return
    if not post.images:
        report.ignored.append({"url": post.url, "reason": "no image"})
        return
    max_images = int(app.config.get("MAX_IMAGES_PER_ARTWORK", 10))
    stored: list[tuple[StoredImage, str]] = []
    try:
        for url, alt in post.images[:max_images]:
            data = downloader.get(url)
            stored.append((store.save(io.BytesIO(data)), alt))
    except (Refused, MediaError) as exc:
        reason = exc.message if isinstance(exc, MediaError) else str(exc)
        report.failed.append({"url": post.url, "reason": reason})
        _forget(app, store, [s.sha256 for s, _ in stored])
        return
    try:
        with db.session_scope(app) as session:
            _record(app, session, store, user_id, platform, instance, post, stored, report)
    finally:  # files of a copy grouped with an existing artwork are not kept
        _forget(app, store, [s.sha256 for s, _ in stored])


def _forget(app: Flask, store: MediaStore, hashes: list[str]) -> None:
    with db.session_scope(app) as session:
        artworks.forget_unused(session, store, hashes)


def _record(
    app: Flask,
    session: Session,
    store: MediaStore,
    user_id: int,
    platform: str,
    instance: str,
    post: Post,
    stored: list[tuple[StoredImage, str]],
    report: Report,
) -> None:
    _lock_user(session, user_id)
    if _known(session, user_id, platform, post):  # another import got there meanwhile
        report.skipped += 1
        return
    artwork = _existing(app, session, store, user_id, [s for s, _ in stored])
    if artwork is not None:
        report.grouped += 1
        if RATING_ORDER[post.rating] > RATING_ORDER.get(artwork.rating, 0):
            report.warnings.append(
                {
                    "url": post.url,
                    "warning": f"this copy is rated {post.rating} but its artwork "
                    f"{artwork.id} is {artwork.rating}: check the rating",
                }
            )
    else:
        artwork = Artwork(
            user_id=user_id,
            public_id=artworks.new_public_id(),
            title=post.title,
            description="",
            rating=post.rating,
            content_flags=[],
            tags=post.tags,
        )
        for position, (image, alt) in enumerate(stored):
            artwork.images.append(
                ArtworkImage(
                    position=position,
                    sha256=image.sha256,
                    media_type=image.media_type,
                    width=image.width,
                    height=image.height,
                    size=image.size,
                    alt_text=alt[:5000],
                )
            )
        session.add(artwork)
        session.flush()
        registration = Registration(artwork_id=artwork.id)
        session.add(registration)
        session.flush()
        registry_service.register(session, app, registration)
        report.new_artworks += 1
        if not post.rating_known:
            report.warnings.append(
                {
                    "url": post.url,
                    "warning": f"{platform} did not say how this post is rated: artwork "
                    f"{artwork.id} is marked adult until you check it",
                }
            )
    copy = Copy(
        artwork_id=artwork.id,
        url=post.url[:2048],
        platform=platform,
        remote_id=post.remote_id[:255],
        source="import",
        synced_revision=0,  # it shows whatever it showed: not Creditline's current render
    )
    session.add(copy)
    session.flush()
    report.proposals += _propose(session, user_id, artwork, copy, platform, instance, post)
    report.imported += 1
    if artwork.id not in report.artworks:
        report.artworks.append(artwork.id)


def _lock_user(session: Session, user_id: int) -> None:
    """Serialise recording posts per artist until this transaction ends. Two imports at once
    (two workers, or the API/CLI and a job; or two accounts of one artist) would otherwise both
    pass the re-check and record the same post twice, or each make a new artwork of the same
    picture instead of grouping it. The lock is the user's row: ``FOR NO KEY UPDATE`` on
    PostgreSQL (it excludes the other imports' lock but not the key-share locks that inserts
    referring to the user take, so the artist's uploads meanwhile do not wait); on SQLite a
    no-op write, which takes the database's single write lock now, before the re-check reads
    (a read first would pin a snapshot the later write could not commit on)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(User.id).where(User.id == user_id).with_for_update(key_share=True))
    else:
        session.execute(sql_text("UPDATE users SET id = id WHERE id = :u"), {"u": user_id})


def _existing(
    app: Flask, session: Session, store: MediaStore, user_id: int, images: list[StoredImage]
) -> Artwork | None:
    """The artist's artwork that shows one of these pictures: same bytes, or same fingerprint."""
    hashes = [i.sha256 for i in images]
    same = session.scalar(
        select(Artwork)
        .join(ArtworkImage, ArtworkImage.artwork_id == Artwork.id)
        .where(Artwork.user_id == user_id, ArtworkImage.sha256.in_(hashes))
        .order_by(Artwork.id)
        .limit(1)
    )
    if same is not None:
        return same
    reg = registry_service.registry_for(app)
    reg.refresh(session)
    best: dict[int, registry_service.Candidate] = {}
    for image in images:
        try:
            fp = fpmod.fingerprint(fpmod.decode(store.read(image.sha256), store.max_pixels))
        except (fpmod.LowInformation, ValueError, OSError) as exc:
            log.info("image %s not matchable: %s", image.sha256[:12], exc)
            continue
        if not registry_service.query_informative(fp):
            continue
        for c in registry_service.confirm(session, reg.search(fp), {"": fp}):
            if c.artwork_id not in best or c.cost < best[c.artwork_id].cost:
                best[c.artwork_id] = c
    if not best:
        return None
    mine = {
        a.id: a
        for a in session.scalars(
            select(Artwork).where(Artwork.id.in_(best), Artwork.user_id == user_id)
        )
    }
    ranked = sorted((c for c in best.values() if c.artwork_id in mine), key=lambda c: c.cost)
    return mine[ranked[0].artwork_id] if ranked else None


def _propose(
    session: Session,
    user_id: int,
    artwork: Artwork,
    copy: Copy,
    platform: str,
    instance: str,
    post: Post,
) -> int:
    added = 0
    for mention in find_mentions(platform, post.text, post.html, instance):
        exists = session.scalar(
            select(CreditProposal.id).where(
                CreditProposal.artwork_id == artwork.id,
                CreditProposal.platform == mention.platform,
                CreditProposal.handle == mention.handle,
            )
        )
        if exists is not None:
            continue
        person_id = session.scalar(
            select(Person.id)
            .join(PersonAccount, PersonAccount.person_id == Person.id)
            .where(
                Person.user_id == user_id,
                PersonAccount.platform == mention.platform,
                func.lower(PersonAccount.handle) == mention.handle.lower(),
            )
            .limit(1)
        )
        session.add(
            CreditProposal(
                artwork_id=artwork.id,
                copy_id=copy.id,
                platform=mention.platform,
                handle=mention.handle,
                found=mention.found,
                role=mention.role,
                person_id=person_id,
            )
        )
        added += 1
    session.flush()
    return added


# -- accepting a proposal -----------------------------------------------------------------------


class ProposalInvalid(ValueError):
    def __init__(self, message: str, field: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.field, self.status = message, field, status


def _person_key(session: Session, user: User, handle: str) -> str:
    base = re.sub(r"[^A-Za-z0-9_.-]", "_", handle.split("@")[0].split(".")[0]).strip(".-")
    base = (base or "person")[:56]
    if not re.match(r"[A-Za-z0-9_]", base):
        base = "p" + base
    key, n = base, 1
    while session.scalar(select(Person.id).where(Person.user_id == user.id, Person.key == key)):
        n += 1
        key = f"{base}{n}"
    return key


def accept(
    session: Session,
    user: User,
    artwork: Artwork,
    proposal_id: int,
    *,
    role: str | None = None,
    person_key: str | None = None,
    character: str | None = None,
    new_key: str | None = None,
    new_name: str | None = None,
) -> CreditProposal:
    """Turn a proposal into a credit on its artwork; the person is the one named, the one the
    proposal matched, or a new one made from the proposal's handle. Does not commit."""
    from server import directory
    from server.schemas import ArtworkUpdate, CreditIn, PersonCreate

    proposal = session.get(CreditProposal, proposal_id)
    if proposal is None or proposal.artwork_id != artwork.id:
        raise ProposalInvalid(f"proposal {proposal_id} not found", "proposal", 404)
    if person_key is not None:
        person = directory.find(session, user, person_key)
        if person is None:
            raise ProposalInvalid(f"unknown person {person_key!r}", "person")
    elif proposal.person is not None:
        person = proposal.person
    else:
        key = new_key or _person_key(session, user, proposal.handle)
        if directory.find(session, user, key) is not None:
            raise ProposalInvalid(f"a person with key {key!r} exists already", "key", 409)
        data = PersonCreate(
            key=key,
            name=new_name or proposal.handle,
            primary=proposal.platform,
            accounts={proposal.platform: proposal.handle},
        )
        person = directory.create(session, user, data)
    credit = CreditIn(role=role or proposal.role, person=person.key, character=character)
    current = [
        CreditIn(role=c.role, person=c.person.key, character=c.character) for c in artwork.credits
    ]
    if credit not in current:
        try:
            artworks.apply(session, user, artwork, ArtworkUpdate(credits=[*current, credit]))
        except artworks.ArtworkInvalid as exc:
            raise ProposalInvalid(exc.message, exc.field, exc.status) from exc
    proposal.state, proposal.person_id = "accepted", person.id
    session.flush()
    return proposal


def proposals(session: Session, artwork: Artwork) -> list[CreditProposal]:
    return list(
        session.scalars(
            select(CreditProposal)
            .where(CreditProposal.artwork_id == artwork.id)
            .order_by(CreditProposal.id)
        )
    )
