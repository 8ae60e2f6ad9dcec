"""Inkbunny: BBCode with ``[iconname]`` and cross-site tags; rating as content flags.

Sources (platforms.md): wiki.inkbunny.net API; ellypaws/inkbunny edit.go and
types/ratings.go (tag[2] Nudity, tag[3] Mild Violence, tag[4] Sexual Themes, tag[5] Strong
Violence); PostyBirb inkbunny.website.ts (>= 4 keywords, ``[fa]`` ``[w]`` ``[da]``).
"""

from __future__ import annotations

import logging
import re
from types import MappingProxyType
from typing import Any

from adapters.base import Adapter, ImageLimits, RenderContext, TagRules
from adapters.text.writers.bbcode import InkbunnyWriter

logger = logging.getLogger(__name__)

ADULT_FLAGS = frozenset({4, 5})


class Inkbunny(Adapter):
    id = "inkbunny"
    name = "Inkbunny"
    text_limit = None  # unconfirmed
    text_field = "description"
    has_title = True
    markup = "bbcode"
    writer = InkbunnyWriter
    images = ImageLimits(max_count=30, max_bytes=200_000_000)
    supports_alt_text = False
    tag_rules = TagRules(min_count=4, separator=",", space="_")
    # Inkbunny has no rating level, only flags: defaults used when the draft gives no flag.
    rating_map = MappingProxyType({"general": (), "mature": (2,), "adult": (4,)})
    flag_map = MappingProxyType({"nudity": 2, "violence": 3, "sexual": 4, "gore": 5})
    profile_url_template = "https://inkbunny.net/{handle}"
    handle_pattern = re.compile(r"([A-Za-z0-9]{1,22})")
    handle_hint = "letters and digits (unconfirmed rule)"
    native_mention = "[iconname]{handle}[/iconname]"
    cross_site = MappingProxyType(
        {
            "furaffinity": "[fa]{handle}[/fa]",
            "weasyl": "[w]{handle}[/w]",
            "deviantart": "[da]{handle}[/da]",
        }
    )
    supports_edit = True
    supports_delete = True

    def rating_fields(self, value: Any, flags: list[Any]) -> Any:
        chosen = set(flags) if flags else set(value)
        if value and set(value) <= ADULT_FLAGS and not chosen & ADULT_FLAGS:
            chosen |= set(value)  # an adult rating must stay adult whatever the flags say
        return {f"tag[{n}]": "yes" for n in sorted(chosen)}

    def fields(self, ctx: RenderContext) -> dict[str, Any]:
        return {"keywords": ",".join(ctx.tags), "rating": ctx.rating}
