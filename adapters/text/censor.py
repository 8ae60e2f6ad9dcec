"""Whole-word, case-preserving word replacement (``Patreon`` -> ``Patr*on``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import lru_cache

import regex

logger = logging.getLogger(__name__)


@lru_cache(maxsize=64)
def _pattern(words: tuple[str, ...]) -> regex.Pattern[str]:
    alternatives = "|".join(regex.escape(w) for w in sorted(words, key=len, reverse=True))
    # Word boundaries by Unicode letters/digits/underscore, so "Patreonite" or "precommission"
    # are left alone: the censor is for whole words only.
    # ...and not a domain name ("patreon.com/x"), which X would turn into a link.
    return regex.compile(rf"(?<![\w])(?:{alternatives})(?![\w]|\.\w)", regex.IGNORECASE)


def _keep_case(found: str, replacement: str) -> str:
    """Give ``replacement`` the letter case of ``found``, position by position."""
    if found.isupper() and len(found) > 1:
        return replacement.upper()
    out = []
    for i, char in enumerate(replacement):
        model = found[i] if i < len(found) else found[-1]
        out.append(char.upper() if model.isupper() else char.lower())
    return "".join(out)


def censor(text: str, words: Mapping[str, str]) -> str:
    if not words or not text:
        return text
    table = {k.lower(): v for k, v in words.items()}
    pattern = _pattern(tuple(table))
    return pattern.sub(lambda m: _keep_case(m.group(0), table[m.group(0).lower()]), text)
