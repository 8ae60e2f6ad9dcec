"""Deliveries: create them for an artwork, watch them, cancel, reschedule or retry them.

The engine (``server.delivery``) moves them; these endpoints only record the artist's wishes.
"""

from __future__ import annotations

from flask import Blueprint
from sqlalchemy import select

from server import db
from server.api.spec import endpoint
from server.auth import current_user
from server.delivery import queue
from server.errors import ApiError, not_found
from server.models import Account, Delivery, utcnow
from server.schemas import DeliveryList, DeliveryOut, DeliveryReschedule

bp = Blueprint("deliveries", __name__, url_prefix="/api/v1/deliveries")


def to_out(delivery: Delivery) -> DeliveryOut:
    return DeliveryOut(
        id=delivery.id,
        artwork_id=delivery.artwork_id,
        account_id=delivery.account_id,
        platform=delivery.account.platform,
        kind=delivery.kind,
        revision=delivery.revision,
        state=delivery.state,
        scheduled_at=delivery.scheduled_at,
        attempts=delivery.attempts,
        last_error=delivery.last_error,
        remote_id=delivery.remote_id,
        remote_url=delivery.remote_url,
        cancel_requested=delivery.cancel_requested,
        created_at=delivery.created_at,
        updated_at=delivery.updated_at,
    )


def _owned():  # type: ignore[no-untyped-def]
    return select(Delivery).join(Account).where(Account.user_id == current_user().id)


@endpoint(bp, "", "GET", summary="List your deliveries, newest first", response=DeliveryList)
def list_deliveries() -> DeliveryList:
    rows = db.session().scalars(_owned().order_by(Delivery.id.desc()).limit(500))
    return DeliveryList(items=[to_out(d) for d in rows])


@endpoint(bp, "/<int:delivery_id>", "GET", summary="Show a delivery", response=DeliveryOut)
def get_delivery(delivery_id: int) -> DeliveryOut:
    delivery = db.session().scalar(_owned().where(Delivery.id == delivery_id))
    if delivery is None:
        raise not_found(f"delivery {delivery_id}")
    return to_out(delivery)


def _owned_delivery(delivery_id: int) -> Delivery:
    delivery = db.session().scalar(_owned().where(Delivery.id == delivery_id))
    if delivery is None:
        raise not_found(f"delivery {delivery_id}")
    return delivery


def _act(delivery_id: int, action) -> DeliveryOut:  # type: ignore[no-untyped-def]
    delivery = _owned_delivery(delivery_id)
    try:
        action(delivery)
    except queue.NotAllowed as exc:
        raise ApiError(409, "conflict", str(exc), "state") from exc
    db.session().commit()
    return to_out(delivery)


@endpoint(
    bp,
    "/<int:delivery_id>/cancel",
    "POST",
    summary="Cancel (a delivery being posted stops at its next step)",
    response=DeliveryOut,
)
def cancel_delivery(delivery_id: int) -> DeliveryOut:
    return _act(delivery_id, queue.cancel)


@endpoint(
    bp,
    "/<int:delivery_id>/reschedule",
    "POST",
    summary="Move a waiting delivery to another time",
    body=DeliveryReschedule,
    response=DeliveryOut,
)
def reschedule_delivery(delivery_id: int, body: DeliveryReschedule) -> DeliveryOut:
    return _act(delivery_id, lambda d: queue.reschedule(d, body.scheduled_at))


@endpoint(
    bp,
    "/<int:delivery_id>/retry",
    "POST",
    summary="Try a failed or held delivery again now",
    response=DeliveryOut,
)
def retry_delivery(delivery_id: int) -> DeliveryOut:
    return _act(delivery_id, lambda d: queue.retry(d, utcnow()))
