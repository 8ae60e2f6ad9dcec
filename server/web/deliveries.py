"""Deliveries: what is scheduled, what needs the artist, what was posted; and the artist's
actions on one delivery (retry, cancel, reschedule), recorded through ``delivery.queue``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import abort, flash, redirect, request, url_for
from sqlalchemy import select

from adapters import registry
from adapters.errors import UnknownPlatform
from server import artworks, db
from server.delivery import queue
from server.models import Account, Delivery, User, utcnow
from server.web.common import bp, current_user, local, parse_local, render, zone_of

STATE_LABELS = {
    "scheduled": "Scheduled",
    "claimed": "Posting",
    "uploading": "Uploading",
    "publishing": "Publishing",
    "posted": "Posted",
    "retry_wait": "Will retry",
    "failed": "Failed",
    "needs_attention": "Needs you",
    "cancelled": "Cancelled",
}
UPCOMING = ("scheduled", "retry_wait")
IN_FLIGHT = queue.LEASED_STATES
ATTENTION = ("failed", "needs_attention")


@dataclass
class DeliveryView:
    delivery: Delivery
    platform_name: str
    label: str
    explanation: str
    can_cancel: bool
    can_retry: bool
    can_reschedule: bool
    local_input: str


# What a delivery of each kind does to its copy, in the explanation's words.
KIND_VERBS = {
    "post": "posted",
    "edit": "updated",
    "repost": "reposted",
    "links": "updated with the link to all copies",
}


def _platform_name(platform: str) -> str:
    try:
        return registry.get(platform).name
    except UnknownPlatform:
        return platform


def explain(delivery: Delivery, user: User) -> str:
    """The delivery's situation in plain words (the stored error is the platform's own)."""
    zone = zone_of(user)
    when = local(delivery.scheduled_at, zone)
    at = f"{when:%Y-%m-%d %H:%M} {when.tzname()}" if when else ""
    account = delivery.account
    paused = ""
    if account.state == "paused":
        paused = f" The account {account.name} is paused: resume it on the Accounts page."
    elif account.state == "needs_attention":
        paused = (
            f" The account {account.name} needs attention"
            f"{': ' + account.last_error if account.last_error else ''}. "
            "Fix its credentials on the Accounts page; posting resumes then."
        )
    error = (delivery.last_error or "").strip()
    if delivery.cancel_requested and delivery.state in IN_FLIGHT:
        return "Cancelling: it stops before its next step."
    verb = KIND_VERBS.get(delivery.kind, KIND_VERBS["post"])
    match delivery.state:
        case "scheduled":
            return f"Will be {verb} at {at}.{paused}"
        case "claimed" | "uploading" | "publishing":
            return f"Being {verb} right now."
        case "posted":
            done = local(delivery.updated_at, zone)
            word = verb.capitalize()
            return f"{word} {done:%Y-%m-%d %H:%M} {done.tzname()}." if done else f"{word}."
        case "retry_wait":
            reason = error or "no reason given"
            return f"The last try did not work ({reason}). Next try at {at}.{paused}"
        case "failed":
            return (
                f"Not posted: {error or 'the site refused it'}. It will not be retried by itself."
            )
        case "needs_attention":
            return f"Waiting for you: {error or 'check the account before trying again'}.{paused}"
        case "cancelled":
            return "Cancelled; nothing more will be posted."
    return error


def describe(delivery: Delivery, user: User) -> DeliveryView:
    state = delivery.state
    return DeliveryView(
        delivery=delivery,
        platform_name=_platform_name(delivery.account.platform),
        label=STATE_LABELS.get(state, state),
        explanation=explain(delivery, user),
        can_cancel=state not in queue.TERMINAL_STATES
        and not delivery.cancel_requested
        and not queue.swapping(delivery),
        can_retry=state in ("failed", "needs_attention", "retry_wait"),
        can_reschedule=state in ("scheduled", "retry_wait", "needs_attention"),
        local_input=local(delivery.scheduled_at, zone_of(user)).strftime("%Y-%m-%dT%H:%M"),
    )


def _owned(delivery_id: int) -> Delivery:
    delivery = db.session().scalar(
        select(Delivery)
        .join(Account, Account.id == Delivery.account_id)
        .where(Delivery.id == delivery_id, Account.user_id == current_user().id)
    )
    if delivery is None:
        abort(404)
    return delivery


def _back(delivery: Delivery) -> str:
    target = request.form.get("back", "")
    if target == "artwork":
        return url_for("web.artwork", artwork_id=delivery.artwork_id)
    return url_for("web.deliveries")


@bp.get("/deliveries")
def deliveries() -> Any:
    user = current_user()
    session = db.session()
    owned = select(Delivery).join(Account, Account.id == Delivery.account_id)
    owned = owned.where(Account.user_id == user.id)
    upcoming = session.scalars(
        owned.where(Delivery.state.in_((*UPCOMING, *IN_FLIGHT))).order_by(
            Delivery.scheduled_at, Delivery.id
        )
    ).all()
    attention = session.scalars(
        owned.where(Delivery.state.in_(ATTENTION)).order_by(Delivery.updated_at.desc())
    ).all()
    recent = session.scalars(
        owned.where(Delivery.state.in_(("posted", "cancelled")))
        .order_by(Delivery.updated_at.desc())
        .limit(50)
    ).all()
    works = artworks.list_artworks(session, user)
    return render(
        "web/deliveries.html",
        upcoming=[describe(d, user) for d in upcoming],
        attention=[describe(d, user) for d in attention],
        recent=[describe(d, user) for d in recent],
        artworks=works,
        zone=zone_of(user).key,
    )


def _act(delivery_id: int, action: Any, done: str) -> Any:
    delivery = _owned(delivery_id)
    try:
        action(delivery)
    except queue.NotAllowed as exc:
        db.session().rollback()
        flash(f"Not possible: {exc}.", "error")
        return redirect(_back(delivery))
    db.session().commit()
    flash(done)
    return redirect(_back(delivery))


@bp.post("/deliveries/<int:delivery_id>/cancel")
def delivery_cancel(delivery_id: int) -> Any:
    return _act(delivery_id, queue.cancel, "Cancelled.")


@bp.post("/deliveries/<int:delivery_id>/retry")
def delivery_retry(delivery_id: int) -> Any:
    return _act(delivery_id, lambda d: queue.retry(d, utcnow()), "It will be posted again now.")


@bp.post("/deliveries/<int:delivery_id>/reschedule")
def delivery_reschedule(delivery_id: int) -> Any:
    delivery = _owned(delivery_id)
    zone = zone_of(current_user())
    try:
        when = parse_local(request.form.get("scheduled_at", ""), zone)
    except ValueError as exc:
        flash(f"Not rescheduled: {exc}.", "error")
        return redirect(_back(delivery))
    if when < utcnow():
        flash("Not rescheduled: that time has passed.", "error")
        return redirect(_back(delivery))
    local_when = local(when, zone)
    return _act(
        delivery_id,
        lambda d: queue.reschedule(d, when),
        f"Rescheduled for {local_when:%Y-%m-%d %H:%M} {local_when.tzname()}.",
    )
