"""Plain text for X and Mastodon: no markup, so the only danger is an accidental ping."""

from __future__ import annotations

import logging
import re

from adapters.text.writers.base import Writer

logger = logging.getLogger(__name__)

ZWSP = "\u200b"
# "@word" in typed text would notify that account on X (also full-width "＠") and Mastodon;
# a zero-width space after the sign keeps the text readable and mention-free.
AT_SIGN_RE = re.compile(r"([@＠])(?=[\w])")


def defuse_at(text: str) -> str:
    return AT_SIGN_RE.sub(lambda m: m.group(1) + ZWSP, text)


class PlainWriter(Writer):
    def escape(self, text: str) -> str:
        return defuse_at(text)
