"""Length the way each platform counts it.

Each counter takes the exact text that will be sent and returns the number the platform
compares with its limit. Where a maintained library implements a platform's rule it is
used (twitter-text for X; Mastodon.py's port of the twitter-text URL regex for Mastodon).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import lru_cache

import regex
from mastodon._url_regex import url_regex as MASTODON_URL_RE
from twitter_text import parse_tweet

logger = logging.getLogger(__name__)

GRAPHEME_RE = regex.compile(r"\X")
# Mastodon counts only "@user" of "@user@domain" (docs: user/posting.md). The expression is
# upstream's Account::MENTION_RE, whose user part may hold dots and dashes ("@ann.draws@x");
# Mastodon.py's get_status_length stops at the first dot and so counts those in full.
MASTODON_REMOTE_MENTION_RE = re.compile(
    r"(?<![=/\w])@([a-z0-9_]+(?:[.\-]+[a-z0-9_]+)*)@\w+(?:[.\-]+\w+)*", re.IGNORECASE
)
MASTODON_URL_WEIGHT = 23


def graphemes(text: str) -> int:
    return len(GRAPHEME_RE.findall(text))


def code_points(text: str) -> int:
    return len(text)


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def utf8_bytes(text: str) -> int:
    return len(text.encode("utf-8"))


@lru_cache(maxsize=4096)
def x_weighted(text: str) -> int:
    """X's weighted length: twitter-text v3 config (CJK/emoji 2, URLs 23, NFC first)."""
    return parse_tweet(text).weightedLength


def mastodon(text: str, spoiler_text: str = "", *, url_weight: int = MASTODON_URL_WEIGHT) -> int:
    """Graphemes of status + CW, every URL ``url_weight`` (the instance's
    ``characters_reserved_per_url``, 23 by default), remote mentions by local part only."""
    countable = MASTODON_URL_RE.sub(lambda m: m.group(2) + "x" * url_weight, text)
    countable = MASTODON_REMOTE_MENTION_RE.sub(r"@\1", countable)
    return graphemes(countable) + graphemes(spoiler_text)


COUNTERS: dict[str, Callable[[str], int]] = {
    "graphemes": graphemes,
    "code_points": code_points,
    "utf16": utf16_units,
    "weighted": x_weighted,
    "mastodon": mastodon,
}


def counter(unit: str) -> Callable[[str], int]:
    return COUNTERS[unit]
