"""Errors raised while turning a draft into per-platform posts.

Request-level problems (the caller sent something we cannot render anywhere) are
``DraftError`` subclasses carrying a short machine ``code``, a human ``message`` and the
dotted ``field`` that caused it, so the HTTP layer can answer 400 without knowing the
engine. A post that merely does not fit one platform is *not* an exception: it is an
``{"ok": False, "error": ...}`` entry in that platform's preview result.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


class DraftError(ValueError):
    """The draft cannot be rendered at all; the caller must fix the request."""

    code = "invalid_draft"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "field": self.field}


class InvalidDraft(DraftError):
    """The draft's structure is wrong (missing field, wrong type, unknown role)."""

    code = "invalid_draft"


class UnknownPlatform(DraftError):
    code = "unknown_platform"

    def __init__(self, platform: str, field: str | None = "platforms") -> None:
        super().__init__(f"unknown platform {platform!r}", field)
        self.platform = platform


class UnknownPerson(DraftError):
    code = "unknown_person"

    def __init__(self, key: str, field: str | None = None) -> None:
        super().__init__(f"unknown person {key!r}: not in people", field)
        self.key = key


class InvalidHandle(DraftError):
    code = "invalid_handle"

    def __init__(self, platform: str, handle: str, reason: str, field: str | None = None) -> None:
        super().__init__(f"invalid {platform} handle {handle!r}: {reason}", field)
        self.platform = platform
        self.handle = handle


class MissingRatingMapping(DraftError):
    """A rating the platform has no mapping for; never silently treated as general."""

    code = "missing_rating_mapping"

    def __init__(self, platform: str, rating: str, field: str | None = "artwork.rating") -> None:
        super().__init__(f"{platform} has no mapping for rating {rating!r}", field)
        self.platform = platform
        self.rating = rating


class TemplateError(DraftError):
    """The description template is malformed (e.g. an unterminated ``@[``)."""

    code = "invalid_template"


# -- Publishing ------------------------------------------------------------------------------
# What can go wrong when talking to a platform. The delivery engine decides what to do from the
# class alone (see DESIGN.md "Delivery engine"), so adapters must map every failure to one of
# these and never let a library's own exception escape.


class PlatformError(Exception):
    """A platform call failed; ``message`` is shown to the artist as it is."""

    code = "platform_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AuthError(PlatformError):
    """Credentials missing, wrong, expired or revoked: pause the account, never retry."""

    code = "auth"


class RateLimited(PlatformError):
    """The platform asked us to slow down; retry after ``retry_after`` seconds if it said."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TransientError(PlatformError):
    """Worth retrying later (5xx, timeouts, connection errors).

    ``ambiguous`` is true when the request may have reached the platform (a timeout after
    sending, a reset connection): before retrying, the engine must check whether the post
    exists, unless the platform deduplicates by idempotency key.
    """

    code = "transient"

    def __init__(self, message: str, ambiguous: bool = False) -> None:
        super().__init__(message)
        self.ambiguous = ambiguous


class ContentRejected(PlatformError):
    """The platform refused this post (too large, bad rating, policy): no retry."""

    code = "content_rejected"


class NeedsAttention(PlatformError):
    """Something only the artist can sort out (e.g. a thread left half-posted): no retry."""

    code = "needs_attention"


class SiteChanged(PlatformError):
    """A scraped page no longer looks as expected: an operator must look."""

    code = "site_changed"


class Unsupported(PlatformError):
    """The adapter cannot do this on this platform (e.g. edit on Bluesky)."""

    code = "unsupported"
