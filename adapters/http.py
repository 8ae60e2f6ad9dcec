"""HTTP helpers shared by the platform adapters: was a failed request possibly sent, how long
a rate-limited site asks us to wait, and whether a host is this machine."""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping
from typing import Any

import requests
import urllib3

# Failures ``requests`` raises before anything is sent: the address itself is unusable.
_NOT_SENT = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
)


def may_have_reached(exc: BaseException) -> bool:
    """False when the request failed before it could be sent (connect phase, DNS, a bad URL);
    True when the server may have received it, so a write's outcome is unknown.

    ``exc`` is a ``requests`` exception, or one a client library raised from it (Mastodon.py's
    ``MastodonNetworkError``): then its cause is looked at. Anything else may have reached."""
    if not isinstance(exc, requests.RequestException):
        cause = exc.__cause__ or exc.__context__
        if not isinstance(cause, requests.RequestException):
            return True
        exc = cause
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return False
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = exc.args[0] if exc.args else None
        reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
        return not isinstance(reason, urllib3.exceptions.NewConnectionError)  # incl. DNS
    return not isinstance(exc, _NOT_SENT)


def seconds(value: Any) -> float | None:
    """``value`` as a number of seconds to wait (``"12"``, ``"1.5"``, ``3``), or None when it
    is missing, not a number, negative or not finite."""
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 and math.isfinite(number) else None


def retry_after(headers: Mapping[str, str]) -> float | None:
    """The ``Retry-After`` header in seconds (the delay-seconds form; an HTTP date is None)."""
    return seconds(headers.get("Retry-After"))


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address: plain http is allowed there (test servers)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
