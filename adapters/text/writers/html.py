"""HTML for DeviantArt artist comments and Telegram captions (``parse_mode=HTML``)."""

from __future__ import annotations

import html
import logging
import re

from adapters.text.writers.base import MarkupWriter
from adapters.text.writers.plain import ZWSP, defuse_at

logger = logging.getLogger(__name__)

DA_TOKEN_RE = re.compile(r":(?=(?:icon|dev)[^\s:]*:)", re.IGNORECASE)


class HtmlWriter(MarkupWriter):
    bold_open, bold_close = "<b>", "</b>"
    italic_open, italic_close = "<i>", "</i>"

    def escape(self, text: str) -> str:
        return html.escape(text, quote=False)

    def link_markup(self, url: str, label: str) -> str:
        return f'<a href="{html.escape(url, quote=True)}">{label}</a>'

    def url(self, out, url: str) -> None:
        # A bare URL is text too: "&amp;" or "&lt;" in a query string must stay literal.
        with out.span("link", uri=url):
            out.write(html.escape(url, quote=False))


class DeviantArtWriter(HtmlWriter):
    paragraph_sep = "<br /><br />"
    line_sep = "<br />"

    def escape(self, text: str) -> str:
        return DA_TOKEN_RE.sub(":" + ZWSP, super().escape(text))

    def url(self, out, url: str) -> None:
        with out.span("link", uri=url):
            out.write(self.link_markup(url, html.escape(url, quote=False)))


class TelegramWriter(HtmlWriter):
    """Telegram auto-links ``@username`` even in HTML mode, so typed at-signs are defused."""

    def escape(self, text: str) -> str:
        return defuse_at(super().escape(text))
