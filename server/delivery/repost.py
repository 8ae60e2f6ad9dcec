"""Delete-and-repost: bring a stale copy up to date on a platform that cannot edit.

The artist opted in per artwork (``artworks.repost_stale``), knowing that likes, reposts and
replies on the old post are lost. The order is what keeps the work visible and never
doubled: the new post goes up FIRST, under the repost's own idempotency key (on Bluesky the
record key chosen when the repost was queued, so a retry can only meet the same record), and
is recorded as the copy in the same transaction that remembers it in ``progress``; only then
is the old post deleted. A delete that fails is retried on its own: the next attempt sees the
new post in ``progress`` and goes straight to the deletion, so nothing is ever posted twice.

``progress["repost"]`` holds ``old`` (the copy being replaced and what its delivery saved),
``rendered`` (the artwork revision of the new post), ``new`` once it is up and ``deleted``
at the end; the adapter's own ids for the new post sit beside it, as for any post.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from adapters.base import Adapter
from adapters.errors import ContentRejected
from adapters.publishing import Published, PublishJob
from server import db, sync
from server.delivery import queue, runner
from server.models import Delivery, utcnow

log = logging.getLogger(__name__)


def run(
    app: Flask,
    delivery_id: int,
    worker: str,
    adapter: Adapter,
    job: PublishJob,
    unknown: bool,
    settings: runner.Settings,
) -> str:
    """One attempt of a claimed repost; returns the state it ends in."""
    state: dict[str, Any] = dict(job.progress.get(sync.REPOST) or {})
    old = state.get("old") or {}
    if not old.get("remote_id"):
        return runner._finish(
            app, delivery_id, worker, state="failed", last_error="no post to replace"
        )
    if state.get("new") is None:
        published = _post_new(app, delivery_id, worker, adapter, job, unknown, settings)
        if isinstance(published, str):
            return published
        if published.remote_id == old["remote_id"]:
            # X answers a post identical to an existing one with "duplicate" and the adapter
            # adopts the existing post: that is the OLD one. Deleting it would lose both.
            return runner._failed_attempt(
                app,
                delivery_id,
                worker,
                ContentRejected(
                    f"{adapter.name} took the new post for the old one (the text did not "
                    "change); nothing was posted and the old post stays"
                ),
                adapter,
                settings,
                idempotent=True,
            )
        try:
            with db.session_scope(app) as session:
                queue.record_reposted(
                    session,
                    delivery_id,
                    worker,
                    published.remote_id,
                    published.url,
                    utcnow(),
                    settings.lease_seconds,
                )
        except queue.LeaseLost:
            return "lost"
        log.info("repost %s: new post %s is up", delivery_id, published.url)
    return _delete_old(app, delivery_id, worker, adapter, job, old, settings)


def _post_new(
    app: Flask,
    delivery_id: int,
    worker: str,
    adapter: Adapter,
    job: PublishJob,
    unknown: bool,
    settings: runner.Settings,
) -> Published | str:
    """Post the current version exactly once, like a post delivery: with the platform's
    idempotent create, or by looking for an earlier attempt's post before sending again."""
    if unknown and not adapter.supports_idempotent_create:
        found = runner.look_first(app, delivery_id, worker, adapter, job)
        if found is not None:
            return found
    return runner.send(app, delivery_id, worker, adapter, job, settings)


def _delete_old(
    app: Flask,
    delivery_id: int,
    worker: str,
    adapter: Adapter,
    job: PublishJob,
    old: dict[str, Any],
    settings: runner.Settings,
) -> str:
    """Delete the replaced post; a failure is retried later on its own (deleting a post that
    is already gone counts as done on both platforms)."""
    try:
        with db.session_scope(app) as session:
            delivery = session.get(Delivery, delivery_id)
            cancelled = queue.checkpoint(
                session,
                delivery_id,
                worker,
                dict(delivery.progress or {}),
                "publishing",
                utcnow(),
                settings.lease_seconds,
            )
    except queue.LeaseLost:
        return "lost"
    if cancelled:
        return runner._finish(
            app,
            delivery_id,
            worker,
            state="cancelled",
            last_error=f"cancelled after the new post went up: the old post {old.get('url')} "
            "was left in place",
        )
    try:
        with runner.Heartbeat(app, delivery_id, worker, settings.lease_seconds):
            adapter.delete(
                old["remote_id"], job.credentials, update_credentials=job.update_credentials
            )
    except queue.LeaseLost:
        return "lost"
    except Exception as exc:
        log.info("repost %s: the old post %s is not deleted yet: %s", delivery_id, old, exc)
        return runner._failed_attempt(
            app, delivery_id, worker, exc, adapter, settings, idempotent=True
        )
    now = utcnow()
    try:
        with db.session_scope(app) as session:
            delivery = queue.finish(session, delivery_id, worker, now)
            queue.record_replaced(session, delivery, now)
    except queue.LeaseLost:
        return "lost"
    log.info("repost %s: old post %s deleted", delivery_id, old.get("url"))
    return "posted"
