"""Post one claimed delivery through its platform adapter.

Everything the adapter needs is gathered first (render, images, credentials); a draft that no
longer renders or credentials that cannot be read fail before any remote call. Each checkpoint
the adapter makes is saved at once, with the lease extended, so a crash at any point resumes.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from adapters import metadata, registry
from adapters.base import Adapter
from adapters.errors import AuthError, ContentRejected, DraftError
from adapters.publishing import Cancelled, Media, Presence, Published, PublishJob
from server import db, previews, sync, uploads, vault
from server.crypto import CredentialsUnreadable
from server.delivery import policy, queue, repost
from server.models import Account, Artwork, Delivery, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    lease_seconds: float
    max_attempts: int
    public_url: str
    retry_base: float
    retry_cap: float

    @classmethod
    def of(cls, app: Flask) -> Settings:
        c = app.config
        return cls(
            c["LEASE_SECONDS"],
            c["MAX_ATTEMPTS"],
            c["PUBLIC_URL"].rstrip("/"),
            c["RETRY_BASE_SECONDS"],
            c["RETRY_CAP_SECONDS"],
        )


def draft_for(session: Session, artwork: Artwork, public_url: str) -> dict[str, Any]:
    """The preview request for an artwork, with the owner's directory as ``people``."""
    return {
        "artwork": {
            "title": artwork.title,
            "description": artwork.description,
            "rating": artwork.rating,
            "content_flags": list(artwork.content_flags),
            "tags": list(artwork.tags),
            "alt_text": artwork.images[0].alt_text if artwork.images else "",
            "credits": [
                {
                    "role": c.role,
                    "person": c.person.key,
                    **({"character": c.character} if c.character else {}),
                }
                for c in artwork.credits
            ],
            "canonical_url": f"{public_url}/a/{artwork.public_id}",
            **({"language": artwork.language} if artwork.language else {}),
        },
        "people": previews.directory_people(session, artwork.user),
    }


def render_for(
    session: Session,
    artwork: Artwork,
    account: Account,
    public_url: str,
    adapter: Adapter | None = None,
    *,
    also_on: bool = False,
) -> Mapping[str, Any]:
    """The post this account gets; ``adapter`` is the account's own view of the platform
    (e.g. a Mastodon instance's character limit) when known, else the platform's defaults.
    ``also_on`` ends it with the link to the canonical page where that fits (``sync``)."""
    payload = draft_for(session, artwork, public_url)
    payload["platforms"] = [account.platform]
    payload["options"] = {account.platform: account.options or {}}
    chosen = {account.platform: adapter} if adapter is not None else None
    return previews.render_preview(payload, chosen, also_on=also_on)[account.platform]


def run(app: Flask, delivery_id: int, worker: str) -> str:
    """Attempt a claimed delivery; returns the state it ends in (for logs and tests)."""
    settings = Settings.of(app)
    with db.session_scope(app) as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None or delivery.lease_owner != worker:
            return "lost"
        adapter = registry.get(delivery.account.platform)
        if delivery.cancel_requested:
            return _finish(app, delivery_id, worker, state="cancelled")
        target = None
        try:
            job = _job(app, session, delivery, adapter, settings)
        except Exception as exc:  # could not prepare: nothing was sent
            return _failed_attempt(app, delivery_id, worker, exc, adapter, settings)
        unknown = delivery.outcome_unknown
        adapter = adapter.for_account(job.credentials)  # cached: same object as in _job
        kind = delivery.kind
        if kind in ("edit", "links"):
            target = delivery.remote_id
        due = kind == "links" and sync.links_due(delivery.artwork)
    if kind == "links" and not due:
        # A post was added meanwhile: queue_links queues this again when the links are due.
        log.info("delivery %s: links are not due yet", delivery_id)
        return _finish(app, delivery_id, worker, state="cancelled", last_error=sync.LINKS_NOT_DUE)
    if kind == "links" and not job.post.get("also_on"):
        reason = "; ".join(w for w in job.post.get("warnings", ()) if "also on" in w)
        log.info("delivery %s: copy left as it is: %s", delivery_id, reason)
        return _finish(app, delivery_id, worker, state="cancelled", last_error=reason or None)
    if kind == "repost":
        return repost.run(app, delivery_id, worker, adapter, job, unknown, settings)
    if target is not None:
        return _edit(app, delivery_id, worker, adapter, job, target, settings)
    if unknown and not adapter.supports_idempotent_create:
        found = _look_first(app, delivery_id, worker, adapter, job)
        if found is not None:
            return found
    return _publish(app, delivery_id, worker, adapter, job, settings)


def _job(
    app: Flask, session: Session, delivery: Delivery, adapter: Adapter, settings: Settings
) -> PublishJob:
    try:
        credentials = (
            vault.box_for(app).open(delivery.account.credentials)
            if delivery.account.credentials
            else {}
        )
    except CredentialsUnreadable as exc:
        raise AuthError("stored credentials cannot be read; enter them again") from exc
    progress = dict(delivery.progress or {})
    if delivery.kind == "repost" and sync.new_post_of(delivery) is not None:
        # Only the old post's deletion is left: nothing to render, nothing to upload.
        return PublishJob(
            key=delivery.idempotency_key,
            post={"ok": True},
            images=(),
            credentials=credentials,
            progress=progress,
            update_credentials=_credentials_saver(app, delivery.account_id),
        )
    try:
        post = render_for(
            session,
            delivery.artwork,
            delivery.account,
            settings.public_url,
            adapter.for_account(credentials),
            also_on=sync.links_due(delivery.artwork, delivery if delivery.kind == "post" else None),
        )
        # written into the image files on platforms that keep file metadata (adapters/images.py);
        # fixed at a delivery's first attempt: a retry must upload the same bytes (e621 and
        # Weasyl know an earlier upload by the file's hash), whatever was edited meanwhile
        uploads_files = delivery.kind in ("post", "repost") and adapter.images.keeps_metadata
        credits = metadata.kept_credits(progress) if uploads_files else None
        if credits is None:
            made = delivery.artwork.published_at or delivery.artwork.created_at
            credits = metadata.request_credits(
                draft_for(session, delivery.artwork, settings.public_url), made.year
            )
    except DraftError as exc:  # a credited person was removed or a handle went bad meanwhile
        raise ContentRejected(exc.message) from exc
    if not post.get("ok"):
        raise ContentRejected(post.get("error") or "the artwork no longer renders")
    # What this attempt renders — unless an earlier attempt may already have made the post
    # (it saved ids, or its outcome is unknown): then that post may be adopted, showing the
    # earlier render, so the earlier revision stays and the copy is caught up afterwards.
    earlier = delivery.outcome_unknown or bool(sync.adapter_ids(progress))
    if delivery.kind == "post" and not earlier:
        delivery.revision = delivery.artwork.revision
    if delivery.kind == "repost":  # its revision names its queue slot; note what it renders
        state = dict(progress.get(sync.REPOST) or {})
        if not (earlier and state.get("rendered")):
            state["rendered"] = delivery.artwork.revision
        progress[sync.REPOST] = state
    progress["also_on"] = bool(post.get("also_on"))  # whether this render links the work
    if uploads_files:  # the engine's own key, not an adapter id; saved before any upload
        progress[metadata.PROGRESS_KEY] = credits.to_json()
    store = uploads.store_for(app)
    images = tuple(
        Media(
            data=store.read(image.sha256),
            media_type=image.media_type,
            filename=f"{image.sha256[:16]}.{image.media_type.split('/')[-1]}",
            width=image.width,
            height=image.height,
            alt_text=image.alt_text,
            focus=(image.focus_x, image.focus_y) if image.focus_x is not None else None,
            credits=credits,
        )
        for image in delivery.artwork.images
    )
    return PublishJob(
        key=delivery.idempotency_key,
        post=post,
        images=images,
        credentials=credentials,
        progress=progress,
        update_credentials=_credentials_saver(app, delivery.account_id),
    )


def _credentials_saver(app: Flask, account_id: int) -> Callable[[Mapping[str, str]], None]:
    return lambda new: store_credentials(app, account_id, new)


def store_credentials(app: Flask, account_id: int, new: Mapping[str, str]) -> None:
    """Seal what an adapter refreshed (a session, a token) into the account's credentials."""
    with db.session_scope(app) as session:
        account = session.get(Account, account_id)
        if account is None:  # disconnected meanwhile: nothing to keep
            return
        current = vault.box_for(app).open(account.credentials) if account.credentials else {}
        account.credentials = vault.box_for(app).seal({**current, **new})


def _look_first(
    app: Flask, delivery_id: int, worker: str, adapter: Adapter, job: PublishJob
) -> str | None:
    """Before retrying an ambiguous failure: adopt the post if it is there."""
    found = look_first(app, delivery_id, worker, adapter, job)
    if isinstance(found, Published):
        return _posted(app, delivery_id, worker, found)
    return found


def look_first(
    app: Flask, delivery_id: int, worker: str, adapter: Adapter, job: PublishJob
) -> Published | str | None:
    """The post an earlier attempt made; None when it is certainly not there; else the state
    the delivery was put in because nobody can tell (``needs_attention``)."""
    try:
        lookup = adapter.lookup(job)
    except Exception as exc:
        log.warning("delivery %s: lookup failed: %s", delivery_id, exc)
        lookup = None
    if lookup is not None and lookup.presence is Presence.FOUND and lookup.published:
        return lookup.published
    if lookup is not None and lookup.presence is Presence.ABSENT:
        return None
    return _finish(
        app,
        delivery_id,
        worker,
        state="needs_attention",
        last_error=f"an earlier attempt may have posted this to {adapter.name}, and Creditline "
        "cannot tell: check the account, then retry or cancel",
    )


def _publish(
    app: Flask, delivery_id: int, worker: str, adapter: Adapter, job: PublishJob, settings: Settings
) -> str:
    sent = send(app, delivery_id, worker, adapter, job, settings)
    if isinstance(sent, str):
        return sent
    return _posted(app, delivery_id, worker, sent)


def send(
    app: Flask,
    delivery_id: int,
    worker: str,
    adapter: Adapter,
    job: PublishJob,
    settings: Settings,
    *,
    cancellable: bool = True,
) -> Published | str:
    """Run ``adapter.publish`` under the lease; the post, or the state the attempt ended in.
    ``cancellable=False``: a cancel is honoured only before the adapter starts (a repost)."""
    progress = dict(job.progress)

    def checkpoint(ids: Mapping[str, Any]) -> None:
        # The first step an adapter saves is its media; what follows is the post itself, so
        # from here on a crash leaves the outcome unknown.
        progress.update(ids)
        with db.session_scope(app) as session:
            cancelled = queue.checkpoint(
                session,
                delivery_id,
                worker,
                progress,
                "publishing",
                utcnow(),
                settings.lease_seconds,
            )
        if cancelled and cancellable:
            raise Cancelled()

    with db.session_scope(app) as session:
        if queue.checkpoint(
            session, delivery_id, worker, progress, "uploading", utcnow(), settings.lease_seconds
        ):
            return _finish(app, delivery_id, worker, state="cancelled")
    heartbeat = Heartbeat(app, delivery_id, worker, settings.lease_seconds)
    try:
        with heartbeat:
            published = adapter.publish(job, checkpoint)
    except Cancelled:
        return _finish(
            app,
            delivery_id,
            worker,
            state="cancelled",
            last_error="cancelled while posting; parts already posted may remain",
        )
    except queue.LeaseLost:
        log.warning("delivery %s: lease lost while posting", delivery_id)
        return "lost"
    except Exception as exc:
        return _failed_attempt(app, delivery_id, worker, exc, adapter, settings)
    return published


def _edit(
    app: Flask,
    delivery_id: int,
    worker: str,
    adapter: Adapter,
    job: PublishJob,
    target: str,
    settings: Settings,
) -> str:
    """Bring a posted copy up to date. An edit sets content rather than adding a post, so a
    retry after an unclear answer is safe: it can never duplicate anything."""
    with db.session_scope(app) as session:
        queue.checkpoint(
            session,
            delivery_id,
            worker,
            job.progress,
            "publishing",
            utcnow(),
            settings.lease_seconds,
        )
    try:
        with Heartbeat(app, delivery_id, worker, settings.lease_seconds):
            published = adapter.edit(target, job)
    except queue.LeaseLost:
        return "lost"
    except Exception as exc:
        return _failed_attempt(app, delivery_id, worker, exc, adapter, settings, idempotent=True)
    return _posted(app, delivery_id, worker, Published(target, published.url, published.extra))


class Heartbeat:
    """Keeps the lease alive while a slow platform call runs (a big upload can outlast it).

    It only extends a lease this worker still holds; when the process dies the beats stop
    and the lease expires as designed.
    """

    def __init__(self, app: Flask, delivery_id: int, worker: str, lease_seconds: float) -> None:
        self.app, self.delivery_id, self.worker = app, delivery_id, worker
        self.lease_seconds = lease_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True, name=f"lease-{delivery_id}")

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self.lease_seconds / 3):
            try:
                with db.session_scope(self.app) as session:
                    held = queue.extend_lease(
                        session, self.delivery_id, self.worker, utcnow(), self.lease_seconds
                    )
            except Exception:  # the database is away for a moment: try at the next beat
                log.warning("delivery %s: lease heartbeat failed", self.delivery_id, exc_info=True)
                continue
            if not held:
                return


def _posted(app: Flask, delivery_id: int, worker: str, published: Published) -> str:
    now = utcnow()
    try:
        with db.session_scope(app) as session:
            queue.lock_artwork(session, delivery_id)  # a change meanwhile is seen: catch-up
            delivery = queue.finish(session, delivery_id, worker, now)
            queue.record_posted(
                session,
                delivery,
                published.remote_id,
                published.url,
                now,
                reply_ids_of(published),
            )
    except queue.LeaseLost:
        return "lost"
    log.info("delivery %s posted: %s", delivery_id, published.url)
    return "posted"


def reply_ids_of(published: Published) -> list[str] | None:
    """The thread under a post, as the adapter reported it (``extra["reply_ids"]``)."""
    replies = (published.extra or {}).get("reply_ids")
    return [str(r) for r in replies] if isinstance(replies, list | tuple) else None


def _failed_attempt(
    app: Flask,
    delivery_id: int,
    worker: str,
    error: Exception,
    adapter: Adapter,
    settings: Settings,
    idempotent: bool | None = None,
) -> str:
    if not hasattr(error, "message"):
        log.exception("delivery %s: unexpected error", delivery_id)
    now = utcnow()
    try:
        with db.session_scope(app) as session:
            delivery = session.get(Delivery, delivery_id)
            outcome = policy.decide(
                error,
                delivery.attempts,
                adapter.supports_idempotent_create if idempotent is None else idempotent,
                settings.max_attempts,
                base=settings.retry_base,
                cap=settings.retry_cap,
            )
            delivery = queue.finish(
                session,
                delivery_id,
                worker,
                now,
                state=outcome.state,
                last_error=outcome.message,
                scheduled_at=now + dt.timedelta(seconds=outcome.retry_in),
                outcome_unknown=delivery.outcome_unknown or outcome.outcome_unknown,
            )
            if not outcome.count_attempt:
                delivery.attempts -= 1
            if outcome.pause_account:
                delivery.account.state = "needs_attention"
                delivery.account.last_error = outcome.message
    except queue.LeaseLost:
        return "lost"
    log.info("delivery %s: %s (%s)", delivery_id, outcome.state, outcome.message)
    return outcome.state


def _finish(app: Flask, delivery_id: int, worker: str, **values: Any) -> str:
    try:
        with db.session_scope(app) as session:
            queue.finish(session, delivery_id, worker, utcnow(), **values)
    except queue.LeaseLost:
        return "lost"
    return values.get("state", "?")
