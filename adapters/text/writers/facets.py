"""Bluesky: plain text plus facets whose ranges are UTF-8 byte offsets."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from adapters.text.writers.base import Out, Rendered, Writer

logger = logging.getLogger(__name__)

FACET_TYPES = {
    "link": "app.bsky.richtext.facet#link",
    "mention": "app.bsky.richtext.facet#mention",
    "tag": "app.bsky.richtext.facet#tag",
}


def short_url(url: str) -> str:
    """Display form the Bluesky app uses: host + at most 13 path characters + "..."."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return url
    path = (
        ("" if parts.path == "/" else parts.path)
        + ("?" + parts.query if parts.query else "")
        + ("#" + parts.fragment if parts.fragment else "")
    )
    if len(path) > 15:
        return parts.netloc + path[:13] + "..."
    return parts.netloc + path


class FacetWriter(Writer):
    def url(self, out: Out, url: str) -> None:
        with out.span("link", uri=url):
            out.write(short_url(url))

    def link(self, out: Out, url: str, children) -> None:
        with out.span("link", uri=url):
            self.children(out, children)


def byte_offsets(text: str) -> list[int]:
    """UTF-8 byte offset of every code-point index (one extra entry for the end)."""
    offsets, total = [0], 0
    for ch in text:
        total += len(ch.encode("utf-8"))
        offsets.append(total)
    return offsets


def facets(rendered: Rendered) -> list[dict[str, Any]]:
    offsets = byte_offsets(rendered.text)
    result = []
    for span in sorted(rendered.spans, key=lambda s: s.start):
        data = dict(span.data)
        if span.kind == "link":
            feature = {"$type": FACET_TYPES["link"], "uri": data["uri"]}
        elif span.kind == "mention" and data.get("form") == "native":
            # The DID is resolved from the handle when publishing; preview shows the handle.
            feature = {"$type": FACET_TYPES["mention"], "handle": data["handle"]}
        elif span.kind == "tag":
            feature = {"$type": FACET_TYPES["tag"], "tag": data["tag"]}
        else:
            continue
        result.append(
            {
                "index": {"byteStart": offsets[span.start], "byteEnd": offsets[span.end]},
                "features": [feature],
            }
        )
    return result
