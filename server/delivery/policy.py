"""What a failed attempt means for the delivery: pure decisions, no I/O.

Kept apart from the runner so every error class has one obvious place and one test.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from adapters.errors import (
    AuthError,
    ContentRejected,
    NeedsAttention,
    PlatformError,
    RateLimited,
    SiteChanged,
    TransientError,
    Unsupported,
)

BACKOFF_BASE = 30.0  # seconds before the first retry
BACKOFF_CAP = 3600.0
RATE_LIMIT_DEFAULT = 60.0  # when the platform does not say how long to wait
MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class Outcome:
    """The delivery's next state after an error."""

    state: str  # retry_wait | failed | needs_attention
    message: str
    retry_in: float = 0.0  # seconds, for retry_wait
    count_attempt: bool = True  # rate limits and auth pauses do not use up attempts
    outcome_unknown: bool = False  # the platform may have the post already
    pause_account: bool = False


def backoff(
    attempt: int,
    rng: random.Random | None = None,
    base: float = BACKOFF_BASE,
    cap: float = BACKOFF_CAP,
) -> float:
    """Exponential backoff with jitter: spread retries so a recovering site is not stampeded."""
    ceiling = min(cap, base * 2 ** max(attempt - 1, 0))
    return (rng or random).uniform(ceiling / 2, ceiling)


def decide(
    error: Exception,
    attempts: int,
    idempotent: bool,
    max_attempts: int = MAX_ATTEMPTS,
    rng: random.Random | None = None,
    base: float = BACKOFF_BASE,
    cap: float = BACKOFF_CAP,
) -> Outcome:
    """Map an attempt's error to the delivery's next state (see DESIGN.md, Delivery engine)."""
    if isinstance(error, AuthError):
        return Outcome(
            "retry_wait",
            f"sign-in failed: {error.message}",
            count_attempt=False,
            pause_account=True,
        )
    if isinstance(error, RateLimited):
        wait = error.retry_after if error.retry_after is not None else RATE_LIMIT_DEFAULT
        return Outcome(
            "retry_wait",
            f"rate limited: {error.message}",
            retry_in=max(wait, 1.0),
            count_attempt=False,
        )
    if isinstance(error, ContentRejected | Unsupported):
        return Outcome("failed", error.message)
    if isinstance(error, SiteChanged):
        return Outcome("needs_attention", f"the site changed: {error.message}")
    if isinstance(error, NeedsAttention):
        return Outcome("needs_attention", error.message)
    if isinstance(error, TransientError):
        message, ambiguous = error.message, error.ambiguous
    else:  # a bug or an unmapped library error: it may have posted, so treat it as ambiguous
        message = f"unexpected error: {type(error).__name__}: {error}"
        ambiguous = not isinstance(error, PlatformError)
    unknown = ambiguous and not idempotent
    if attempts >= max_attempts:
        if unknown:
            return Outcome(
                "needs_attention",
                f"gave up after {attempts} attempts, and the last one may have posted: {message}",
                outcome_unknown=True,
            )
        return Outcome("failed", f"gave up after {attempts} attempts: {message}")
    return Outcome(
        "retry_wait", message, retry_in=backoff(attempts, rng, base, cap), outcome_unknown=unknown
    )


def late_by(scheduled_at: dt.datetime, now: dt.datetime) -> float:
    return (now - scheduled_at).total_seconds()
