"""Creating deliveries: everything that can be known before posting is checked here, so a
scheduled post does not fail at 3 a.m. for a reason the artist could have fixed at noon."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from adapters import registry
from adapters.errors import DraftError
from server.delivery import queue
from server.delivery.runner import render_for
from server.models import Account, Artwork, Delivery, User, utcnow


class CannotDeliver(ValueError):
    def __init__(
        self, message: str, field: str | None = None, status: int = 400, code: str = "invalid"
    ) -> None:
        super().__init__(message)
        self.message, self.field, self.status, self.code = message, field, status, code


def create_for(
    session: Session,
    user: User,
    artwork: Artwork,
    account_ids: list[int],
    scheduled_at: dt.datetime | None,
    public_url: str,
) -> list[tuple[Delivery, bool]]:
    """Validate every target first, then create all deliveries (or none)."""
    if not artwork.images:
        raise CannotDeliver("the artwork has no image to post", "images")
    accounts = []
    for index, account_id in enumerate(dict.fromkeys(account_ids)):
        field = f"accounts.{index}"
        account = session.get(Account, account_id)
        if account is None or account.user_id != user.id:
            raise CannotDeliver(f"account {account_id} not found", field, 404, "not_found")
        adapter = registry.get(account.platform)
        if not adapter.can_publish:
            raise CannotDeliver(f"posting to {adapter.name} is not available yet", field)
        try:
            post = render_for(session, artwork, account, public_url.rstrip("/"))
        except DraftError as exc:
            raise CannotDeliver(exc.message, exc.field or field, code=exc.code) from exc
        if not post.get("ok"):
            raise CannotDeliver(f"{adapter.name}: {post.get('error')}", field, 422, "does_not_fit")
        if len(artwork.images) > (adapter.images.max_count or len(artwork.images)):
            raise CannotDeliver(
                f"{adapter.name} takes at most {adapter.images.max_count} images per post",
                field,
                422,
                "too_many_images",
            )
        accounts.append(account)
    return queue.create(session, artwork, accounts, scheduled_at or utcnow())
