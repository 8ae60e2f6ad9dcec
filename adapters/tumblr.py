"""Tumblr: NPF content blocks with formatting ranges; tags and community labels.

Sources: tumblr/docs npf-spec.md (4,096 code points per text block, ranges), api.md
(tags, edit/delete); PostyBirb tumblr.website.ts (community label categories).
"""

from __future__ import annotations

import logging
import re
from types import MappingProxyType
from typing import Any

from adapters.base import Adapter, ImageLimits, RenderContext, TagRules
from adapters.text.writers.base import Rendered
from adapters.text.writers.npf import NpfWriter, content_blocks

logger = logging.getLogger(__name__)


class Tumblr(Adapter):
    id = "tumblr"
    name = "Tumblr"
    text_limit = None  # 4,096 code points per block: long paragraphs are split into blocks
    length_unit = "code_points"
    title_in_text = True
    markup = "npf"
    writer = NpfWriter
    images = ImageLimits(max_count=30, max_bytes=20_000_000)
    alt_text_limit = None  # unconfirmed
    tag_rules = TagRules(separator=",", space=" ", drop=r"[,#]")
    rating_map = MappingProxyType(
        {
            "general": (False, ()),
            "mature": (True, ()),
            "adult": (True, ("sexual_themes",)),
        }
    )
    flag_map = MappingProxyType(
        {
            "nudity": "sexual_themes",
            "sexual": "sexual_themes",
            "violence": "violence",
            "gore": "violence",
            "drugs": "drug_use",
        }
    )
    profile_url_template = "https://www.tumblr.com/{handle}"
    handle_pattern = re.compile(r"@?([A-Za-z0-9\-]{1,32})")
    handle_hint = "a blog name: 1-32 letters, digits or hyphens"
    native_mention = "{handle}"  # text of an NPF mention range
    supports_edit = True
    supports_delete = True

    def normalise_handle(self, handle: str) -> str:
        return handle.lower()

    def rating_fields(self, value: Any, flags: list[Any]) -> Any:
        labelled, categories = value
        categories = list(dict.fromkeys((*categories, *flags)))
        return {
            "has_community_label": bool(labelled or categories),
            "community_label_categories": categories,
        }

    def text_of(self, rendered: Rendered) -> Any:
        return "\n\n".join(block["text"] for block in content_blocks(rendered))

    def fields(self, ctx: RenderContext) -> dict[str, Any]:
        return {"content": content_blocks(ctx.fitted.main), "tags": ctx.tags, "rating": ctx.rating}
