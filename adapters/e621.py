"""e621: DText description (no title field), tag string, s/q/e rating.

Sources (platforms.md): e621ng config/danbooru_default_config.rb (description 50,000,
file limits), app/models/post.rb (tag warnings), e621.net/help/dtext.
"""

from __future__ import annotations

import logging
import re
from types import MappingProxyType
from typing import Any

from adapters.base import Adapter, ImageLimits, RenderContext, TagRules
from adapters.text.writers.dtext import DTextWriter

logger = logging.getLogger(__name__)


class E621(Adapter):
    id = "e621"
    name = "e621"
    text_limit = 50_000
    length_unit = "code_points"
    text_field = "description"
    title_in_text = True
    markup = "dtext"
    writer = DTextWriter
    images = ImageLimits(
        max_count=1,
        max_bytes=100_000_000,
        max_pixels=15_000,
        formats=("image/jpeg", "image/png", "image/gif", "image/webp"),
    )
    supports_alt_text = False
    tag_rules = TagRules(min_count=10, lowercase=True, space="_", drop=r"[\s,*]")
    rating_map = MappingProxyType({"general": "s", "mature": "q", "adult": "e"})
    profile_url_template = "https://e621.net/users?search%5Bname_matches%5D={handle}"
    handle_pattern = re.compile(r"([A-Za-z0-9_\-.~]{2,20})")
    handle_hint = "2-20 letters, digits or _ - . ~"
    native_mention = None  # DText has no @-mention; the profile link is used
    supports_edit = True
    supports_idempotent_create = True  # a duplicate upload answers 412 with the post id

    def fields(self, ctx: RenderContext) -> dict[str, Any]:
        sources = [ctx.draft.canonical_url] if ctx.draft.canonical_url else []
        return {"tags": " ".join(ctx.tags), "rating": ctx.rating, "sources": sources}
