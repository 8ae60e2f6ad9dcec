"""Bluesky: 300 graphemes (and 3000 bytes), rich text as facets over UTF-8 byte ranges.

Sources: lexicons app.bsky.feed.post (limits), app.bsky.richtext.facet (byte offsets),
com.atproto.label.defs (self-labels); social-app constants (alt text 2000).
"""

from __future__ import annotations

import logging
import re
from types import MappingProxyType
from typing import Any

from adapters.base import Adapter, ImageLimits, RenderContext, TagRules
from adapters.text.writers.base import Rendered
from adapters.text.writers.facets import FacetWriter, facets

logger = logging.getLogger(__name__)

# A handle is a domain name (atproto "Handle" spec); custom domains are ordinary handles.
HANDLE_RE = re.compile(
    r"@?((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)"
)


class Bluesky(Adapter):
    id = "bluesky"
    name = "Bluesky"
    text_limit = 300
    length_unit = "graphemes"
    limit_unit = "graphemes"
    byte_limit = 3000
    title_in_text = True
    markup = "facets"
    writer = FacetWriter
    images = ImageLimits(
        max_count=4,
        max_bytes=2_000_000,
        max_pixels=4000,
        formats=("image/jpeg", "image/png", "image/webp"),
    )
    alt_text_limit = 2000
    tag_rules = TagRules(inline_hashtags=True)
    rating_map = MappingProxyType({"general": (), "mature": ("sexual",), "adult": ("porn",)})
    flag_map = MappingProxyType(
        {
            "nudity": "nudity",
            "sexual": "sexual",
            "violence": "graphic-media",
            "gore": "graphic-media",
        }
    )
    profile_url_template = "https://bsky.app/profile/{handle}"
    handle_pattern = HANDLE_RE
    handle_hint = "a domain name such as name.bsky.social"
    native_mention = "@{handle}"
    delinked_mention = "@/{handle}"
    supports_delete = True
    supports_threads = True
    supports_idempotent_create = True  # client-chosen rkey + putRecord

    def check_handle(self, handle: str) -> str:
        normal = super().check_handle(handle)
        if len(normal) > 253:
            from adapters.errors import InvalidHandle

            raise InvalidHandle(self.id, handle, "longer than 253 characters")
        return normal

    def normalise_handle(self, handle: str) -> str:
        return handle.lower()

    def rating_fields(self, value: Any, flags: list[Any]) -> Any:
        return list(dict.fromkeys((*value, *flags)))

    def reply_of(self, rendered: Rendered) -> Any:
        return {"text": rendered.text, "facets": facets(rendered)}

    def fields(self, ctx: RenderContext) -> dict[str, Any]:
        return {"facets": facets(ctx.fitted.main), "labels": ctx.rating, "tags": ctx.tags}
