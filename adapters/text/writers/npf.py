"""Tumblr NPF: one text block per line, inline formatting as code-point ranges."""

from __future__ import annotations

import logging
from typing import Any

from adapters.text.writers.base import Out, Rendered, Writer, plain_text

logger = logging.getLogger(__name__)

BLOCK_LIMIT = 4096  # code points per text block (tumblr/docs npf-spec.md)


class NpfWriter(Writer):
    def block(self, out: Out, block) -> None:
        if block.kind == "title":  # a heading block is already prominent: no bold range
            out.write(plain_text(block.inlines))
            return
        super().block(out, block)

    def styled(self, out: Out, node) -> None:
        with out.span(node.style):
            self.children(out, node.children)

    def link(self, out: Out, url: str, children) -> None:
        with out.span("link", uri=url):
            self.children(out, children)

    def mention(self, out: Out, m) -> None:
        if m.form == "native":
            with out.span("mention", handle=m.handle, form=m.form):
                out.write(m.markup)
        else:
            super().mention(out, m)


def _lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split [start, end) at newlines, then at BLOCK_LIMIT (preferring a space)."""
    pieces, line_start = [], start
    for i in range(start, end + 1):
        if i == end or text[i] == "\n":
            pieces.append((line_start, i))
            line_start = i + 1
    result = []
    for a, b in pieces:
        while b - a > BLOCK_LIMIT:
            cut = text.rfind(" ", a, a + BLOCK_LIMIT)
            cut = cut if cut > a else a + BLOCK_LIMIT
            result.append((a, cut))
            a = cut + 1 if text[cut] == " " else cut
        result.append((a, b))
    return result


def _formatting(rendered: Rendered, a: int, b: int) -> list[dict[str, Any]]:
    ranges = []
    for span in rendered.spans:
        start, end = max(span.start, a), min(span.end, b)
        if start >= end:
            continue
        item: dict[str, Any] = {"start": start - a, "end": end - a, "type": span.kind}
        data = dict(span.data)
        if span.kind == "link":
            item["url"] = data["uri"]
        elif span.kind == "mention":
            item["blog"] = {"name": data["handle"]}  # uuid is looked up when publishing
        ranges.append(item)
    return sorted(ranges, key=lambda r: (r["start"], r["end"]))


def content_blocks(rendered: Rendered) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for start, end, kind in rendered.blocks:
        for a, b in _lines(rendered.text, start, end):
            if a == b:
                continue
            block: dict[str, Any] = {"type": "text", "text": rendered.text[a:b]}
            if kind == "title":
                block["subtype"] = "heading1"
            formatting = _formatting(rendered, a, b)
            if formatting:
                block["formatting"] = formatting
            blocks.append(block)
    return blocks
