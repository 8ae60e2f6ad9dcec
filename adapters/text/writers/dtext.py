"""e621 DText. ``[nodtext]`` is DText's documented escape, used for any risky run of text."""

from __future__ import annotations

import logging
import re

from adapters.text.writers.base import MarkupWriter
from adapters.text.writers.plain import ZWSP

logger = logging.getLogger(__name__)

# Anything DText could read as markup: tags, textile links/quotes, wiki/search links,
# "post #1"-style references, bare URLs, list/heading starts.
RISKY_RE = re.compile(r"[\[\]\"{}*#<>@`]|^\s*h[1-6]\.|^\s*-", re.MULTILINE)


class DTextWriter(MarkupWriter):
    bold_open, bold_close = "[b]", "[/b]"
    italic_open, italic_close = "[i]", "[/i]"
    url_unsafe = '[] "'

    def escape(self, text: str) -> str:
        if not RISKY_RE.search(text):
            return text
        text = re.sub(r"\[/nodtext\]", "[/" + ZWSP + "nodtext]", text, flags=re.IGNORECASE)
        return f"[nodtext]{text}[/nodtext]"

    def link_markup(self, url: str, label: str) -> str:
        return f'"{label}":[{url}]'

    def link(self, out, url: str, children) -> None:
        from adapters.text.writers.base import plain_text, safe_url

        # A link label cannot hold quotes or nested markup in DText: keep it to plain text.
        label = plain_text(children).replace('"', "'").replace("[", "(").replace("]", ")")
        with out.span("link", uri=url):
            out.write(self.link_markup(safe_url(url, self.url_unsafe), label))
