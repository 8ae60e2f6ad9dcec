"""Markdown flavours: Weasyl (misaka/hoedown) and Discord.

Both honour backslash escapes, so user text keeps its characters and gains backslashes.
"""

from __future__ import annotations

import logging
import re

from adapters.text.writers.base import MarkupWriter
from adapters.text.writers.plain import ZWSP

logger = logging.getLogger(__name__)

LINE_START_RE = re.compile(r"^(\s*)(\d+)\.", re.MULTILINE)


class MarkdownWriter(MarkupWriter):
    bold_open = bold_close = "**"
    italic_open = italic_close = "*"
    url_unsafe = "()<> "
    specials = re.compile(r"([\\`*_\[\]<>~|#+\-=^])")

    def escape(self, text: str) -> str:
        text = self.specials.sub(r"\\\1", text)
        # "1." starts a list at the start of a line; escaping it anywhere is harmless.
        return LINE_START_RE.sub(r"\1\2\\.", text)

    def link_markup(self, url: str, label: str) -> str:
        return f"[{label}]({url})"


class WeasylWriter(MarkdownWriter):
    specials = re.compile(r"([\\`*_\[\]<>~|#+\-=^&{}])")


class DiscordWriter(MarkdownWriter):
    """Discord also pings on ``@everyone``/``@here`` in content: defused as discord.py does."""

    specials = re.compile(r"([\\`*_\[\]<>~|#\-])")

    def escape(self, text: str) -> str:
        text = re.sub(r"@(?=everyone|here)", "@" + ZWSP, text)
        return super().escape(text)

    def link_markup(self, url: str, label: str) -> str:
        return f"[{label}](<{url}>)"
