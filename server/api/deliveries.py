"""Deliveries, read-only here: the delivery engine creates and moves them."""

from __future__ import annotations

from flask import Blueprint
from sqlalchemy import select

from server import db
from server.api.spec import endpoint
from server.auth import current_user
from server.errors import not_found
from server.models import Account, Delivery
from server.schemas import DeliveryList, DeliveryOut

bp = Blueprint("deliveries", __name__, url_prefix="/api/v1/deliveries")


def to_out(delivery: Delivery) -> DeliveryOut:
    return DeliveryOut(
        id=delivery.id,
        artwork_id=delivery.artwork_id,
        account_id=delivery.account_id,
        platform=delivery.account.platform,
        state=delivery.state,
        scheduled_at=delivery.scheduled_at,
        attempts=delivery.attempts,
        last_error=delivery.last_error,
        remote_id=delivery.remote_id,
        remote_url=delivery.remote_url,
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
