"""FurAffinity: BBCode description, 60-character title, space-separated keywords.

Sources (platforms.md): PostyBirb fur-affinity.website.ts and its file-submission model
(title 60, keywords < 500, >= 3 tags, ratings), furaffinity-bbcode.ts (``:iconNAME:``).
"""

from __future__ import annotations

import logging
import re
from types import MappingProxyType
from typing import Any

from adapters.base import Adapter, ImageLimits, RenderContext, TagRules
from adapters.text.writers.bbcode import FurAffinityWriter

logger = logging.getLogger(__name__)


class FurAffinity(Adapter):
    id = "furaffinity"
    name = "FurAffinity"
    text_limit = None  # description limit unconfirmed
    text_field = "description"
    has_title = True
    title_limit = 60
    markup = "bbcode"
    writer = FurAffinityWriter
    # PostyBirb waits at least 70 s between FA posts (minimumPostWaitInterval) and FA's flood
    # protection answers faster posting with a cooldown page.
    min_interval = 90.0
    max_concurrency = 1
    images = ImageLimits(max_count=1, max_bytes=10_000_000)
    supports_alt_text = False
    tag_rules = TagRules(min_count=3, max_joined=500, separator=" ", space="_")
    rating_map = MappingProxyType({"general": "general", "mature": "mature", "adult": "adult"})
    profile_url_template = "https://www.furaffinity.net/user/{handle}/"
    handle_pattern = re.compile(r"([A-Za-z0-9._~\-]{1,30})")
    handle_hint = "letters, digits and . _ ~ - (at most 30)"
    native_mention = ":icon{handle}:"

    def normalise_handle(self, handle: str) -> str:
        # FA's URL names are lower case without underscores (PostyBirb strips "_" too).
        return handle.replace("_", "").lower()

    def fields(self, ctx: RenderContext) -> dict[str, Any]:
        return {"keywords": " ".join(ctx.tags), "rating": ctx.rating}
