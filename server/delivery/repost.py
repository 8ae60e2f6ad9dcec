"""Delete-and-repost: bring a stale copy up to date on a platform that cannot edit.

The artist opted in per artwork (``artworks.repost_stale``), knowing that likes, reposts and
replies on the old post are lost. The order is what keeps the work visible and never
doubled: the new post goes up FIRST, under the repost's own idempotency key (on Bluesky the
record key chosen when the repost was queued, so a retry can only meet the same record), and
is recorded as the copy in the same transaction that remembers it in ``progress``; only then
is the old post deleted. A delete that fails is retried on its own: the next attempt sees the
new post in ``progress`` and goes straight to the deletion, so nothing is ever posted twice.

One repost per copy: before posting, a repost whose copy is no longer the account's live copy,
or that a newer repost replaced, is cancelled as superseded (two reposts replacing one copy
would leave two new posts). Once the adapter runs, a cancel is no longer honoured: stopping
half-way would leave the new post up beside the old one, so the swap is finished.

``progress["repost"]`` holds ``old`` (the copy being replaced and what its delivery saved),
``rendered`` (the artwork revision of the new post), ``new`` once it is up and ``deleted``
at the end; the adapter's own ids for the new post sit beside it, as for any post. The
adapter is told what it replaces in ``progress["replaces"]`` (X must not take the old post
for its own on a "duplicate" answer), and deletes the old thread as recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol, runtime_checkable

from flask import Flask

from adapters.base import Adapter
from adapters.errors import ContentRejected
from adapters.publishing import CredentialsUpdate, Published, PublishJob
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
        superseded = _superseded(app, delivery_id)
        if superseded:
            return runner._finish(
                app, delivery_id, worker, state="cancelled", last_error=superseded
            )
        job = replace(
            job,
            progress={
                **job.progress,
                # for the adapter: the post being replaced and what its delivery saved
                sync.REPLACES: {
                    "remote_id": old["remote_id"],
                    "progress": old.get("progress") or {},
                },
            },
        )
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
                    runner.reply_ids_of(published),
                )
        except queue.LeaseLost:
            return "lost"
        log.info("repost %s: new post %s is up", delivery_id, published.url)
    return _delete_old(app, delivery_id, worker, adapter, job, old, settings)


def _superseded(app: Flask, delivery_id: int) -> str | None:
    """Why this repost must not post (None when it may): the copy it would replace is no
    longer the account's live copy, or a newer repost exists (e.g. a failed repost retried
    after a newer one was queued); posting now would put up a second new post."""
    with db.session_scope(app) as session:
        return sync.superseded(session, session.get(Delivery, delivery_id))


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
    # Once the adapter runs, the new post may be up at any moment: a repost finishes its swap
    # rather than stopping half-way (queue.cancel refuses it from then on).
    return runner.send(app, delivery_id, worker, adapter, job, settings, cancellable=False)


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
    is already gone counts as done on both platforms). A cancel is not honoured here: the new
    post is up and recorded, and stopping now would leave both posts up."""
    try:
        with db.session_scope(app) as session:
            delivery = session.get(Delivery, delivery_id)
            queue.checkpoint(
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
    try:
        with runner.Heartbeat(app, delivery_id, worker, settings.lease_seconds):
            _delete(adapter, job, old)
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


@runtime_checkable
class DeletesRecorded(Protocol):
    """An adapter that deletes a post together with exactly the thread its delivery recorded
    (X: a thread found by looking at the timeline could take the artist's own replies)."""

    def delete_recorded(
        self,
        remote_id: str,
        saved: Mapping[str, Any],
        credentials: Mapping[str, str],
        *,
        reply_texts: Sequence[str] = (),
        update_credentials: CredentialsUpdate | None = None,
    ) -> None: ...


def _delete(adapter: Adapter, job: PublishJob, old: dict[str, Any]) -> None:
    if isinstance(adapter, DeletesRecorded):
        adapter.delete_recorded(
            old["remote_id"],
            old.get("progress") or {},
            job.credentials,
            # only used when nothing was recorded: replies that say what the new post's say
            reply_texts=[r for r in job.post.get("replies") or () if isinstance(r, str)],
            update_credentials=job.update_credentials,
        )
        return
    adapter.delete(old["remote_id"], job.credentials, update_credentials=job.update_credentials)
