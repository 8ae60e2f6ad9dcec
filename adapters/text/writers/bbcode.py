"""BBCode for FurAffinity and Inkbunny.

Neither site documents an escape character, so user text is defused by inserting a
zero-width space where a tag or user-link token would start.
"""

from __future__ import annotations

import logging
import re

from adapters.text.writers.base import MarkupWriter
from adapters.text.writers.plain import ZWSP

logger = logging.getLogger(__name__)

FA_TOKEN_RES = (
    (re.compile(r"\["), "[" + ZWSP),
    # :iconNAME: / :linkNAME: / :NAMEicon: user links
    (re.compile(r":(?=(?:icon|link)[^\s:]*:)", re.IGNORECASE), ":" + ZWSP),
    (re.compile(r"(?<=icon):", re.IGNORECASE), ZWSP + ":"),
    # (c) (r) (tm) symbol shortcuts and the ----- rule
    (re.compile(r"\((?=(?:c|r|tm)\))", re.IGNORECASE), "(" + ZWSP),
    (re.compile(r"-(?=----)"), "-" + ZWSP),
)


class BBCodeWriter(MarkupWriter):
    bold_open, bold_close = "[b]", "[/b]"
    italic_open, italic_close = "[i]", "[/i]"
    url_unsafe = "[] \"'"
    token_res: tuple[tuple[re.Pattern[str], str], ...] = ((re.compile(r"\["), "[" + ZWSP),)

    def escape(self, text: str) -> str:
        for pattern, replacement in self.token_res:
            text = pattern.sub(replacement, text)
        return text

    def link_markup(self, url: str, label: str) -> str:
        return f"[url={url}]{label}[/url]"


class FurAffinityWriter(BBCodeWriter):
    token_res = FA_TOKEN_RES


class InkbunnyWriter(BBCodeWriter):
    pass
