"""Values passed between the delivery engine and an adapter's publishing code.

The engine owns state (database, leases, retries); an adapter owns the platform's protocol.
They meet here: a ``PublishJob`` in, ``Published`` out, and ``Checkpoint`` calls in between so
that every intermediate remote id (uploaded media, drafts, thread parts) is saved before the
next step — a retry after a crash resumes instead of uploading or posting again.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from adapters.metadata import FileCredits

# Store changed credentials (a refreshed session or OAuth token), sealed, for next time.
CredentialsUpdate = Callable[[Mapping[str, str]], None]

# Save progress (merged into the delivery's stored progress) before the next remote step.
# It may raise ``Cancelled`` when the artist cancelled the delivery meanwhile.
Checkpoint = Callable[[Mapping[str, Any]], None]


class Cancelled(Exception):
    """Raised by a checkpoint: the artist cancelled; stop before the next remote step."""


@dataclass(frozen=True)
class Media:
    """One image as the platform will receive it."""

    data: bytes = field(repr=False)
    media_type: str
    filename: str
    width: int
    height: int
    alt_text: str = ""
    # Focal point (x, y in -1.0..1.0, centre 0,0, y up) for platforms that crop previews.
    focus: tuple[float, float] | None = None
    # Credits the image fitter writes into the file where the platform keeps file metadata
    # (``ImageLimits.keeps_metadata``; see adapters/metadata.py).
    credits: FileCredits | None = field(default=None, repr=False)


@dataclass(frozen=True)
class PublishJob:
    """Everything needed to publish one delivery; immutable for the whole attempt."""

    key: str  # the delivery's idempotency key, fixed when the delivery was created
    post: Mapping[str, Any]  # this platform's render() result (ok is true)
    images: tuple[Media, ...]
    credentials: Mapping[str, str] = field(repr=False)
    progress: Mapping[str, Any] = field(default_factory=dict)  # saved by earlier attempts
    update_credentials: CredentialsUpdate | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Published:
    remote_id: str
    url: str
    extra: Mapping[str, Any] = field(default_factory=dict)  # e.g. reply ids of a thread


class Presence(enum.Enum):
    """What an adapter found when asked whether a post already exists."""

    FOUND = "found"
    ABSENT = "absent"  # checked, and it is not there: safe to post
    UNKNOWN = "unknown"  # cannot tell: posting again could duplicate


@dataclass(frozen=True)
class Lookup:
    presence: Presence
    published: Published | None = None
