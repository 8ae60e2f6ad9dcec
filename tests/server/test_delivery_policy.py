"""Each error class maps to one next state (DESIGN.md, "Delivery engine")."""

from __future__ import annotations

import random

import pytest

from adapters.errors import (
    AuthError,
    ContentRejected,
    RateLimited,
    SiteChanged,
    TransientError,
    Unsupported,
)
from server.delivery.policy import BACKOFF_BASE, BACKOFF_CAP, backoff, decide


def test_auth_error_pauses_the_account_without_using_an_attempt():
    outcome = decide(AuthError("token revoked"), attempts=3, idempotent=True)
    assert (outcome.state, outcome.pause_account, outcome.count_attempt) == (
        "retry_wait",
        True,
        False,
    )
    assert "token revoked" in outcome.message


def test_rate_limit_waits_for_the_platform_reset():
    outcome = decide(RateLimited("slow down", retry_after=120), attempts=1, idempotent=False)
    assert (outcome.state, outcome.retry_in, outcome.count_attempt) == ("retry_wait", 120, False)
    assert decide(RateLimited("x"), 1, False).retry_in == 60


@pytest.mark.parametrize("error", [ContentRejected("image too large"), Unsupported("no edits")])
def test_permanent_errors_fail_with_the_reason(error):
    outcome = decide(error, attempts=1, idempotent=True)
    assert outcome.state == "failed" and outcome.message == error.message


def test_site_changed_needs_attention():
    assert decide(SiteChanged("no form key"), 1, True).state == "needs_attention"


def test_transient_errors_back_off_until_the_last_attempt():
    outcome = decide(TransientError("502"), attempts=2, idempotent=False, max_attempts=3)
    assert outcome.state == "retry_wait" and not outcome.outcome_unknown
    assert BACKOFF_BASE <= outcome.retry_in <= 2 * BACKOFF_BASE
    assert decide(TransientError("502"), 3, False, max_attempts=3).state == "failed"


def test_ambiguous_failure_marks_outcome_unknown_only_without_idempotency():
    ambiguous = TransientError("read timeout", ambiguous=True)
    assert decide(ambiguous, 1, idempotent=False).outcome_unknown
    assert not decide(ambiguous, 1, idempotent=True).outcome_unknown
    last = decide(ambiguous, 8, idempotent=False, max_attempts=8)
    assert last.state == "needs_attention" and "may have posted" in last.message


def test_unexpected_exceptions_are_treated_as_ambiguous():
    outcome = decide(KeyError("id"), 1, idempotent=False)
    assert outcome.state == "retry_wait" and outcome.outcome_unknown
    assert "KeyError" in outcome.message


def test_backoff_grows_with_jitter_and_is_capped():
    rng = random.Random(7)
    waits = [backoff(n, rng) for n in range(1, 12)]
    assert all(w <= BACKOFF_CAP for w in waits)
    assert waits[3] > waits[0]
    assert len({round(backoff(2, rng)) for _ in range(20)}) > 5  # jittered, not one value


def test_needs_attention_errors_hold_the_delivery_with_the_adapters_words():
    from adapters.errors import NeedsAttention

    outcome = decide(NeedsAttention("part 1 is still up; delete it by hand"), 1, False)
    assert outcome.state == "needs_attention"
    assert outcome.message == "part 1 is still up; delete it by hand"
