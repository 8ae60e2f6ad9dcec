"""DeviantArt: HTML artist comments, 50-character title from a restricted alphabet.

Sources (platforms.md): DeviantArtFs Api/Stash.fs (publish fields, mature levels and
classifications); PostyBirb+ deviant-art.service.ts (title rule); PB+ MAX_TAGS 30.
"""

from __future__ import annotations

import logging
import re
from types import MappingProxyType
from typing import Any

from adapters.base import Adapter, ImageLimits, RenderContext, TagRules
from adapters.text.writers.html import DeviantArtWriter

logger = logging.getLogger(__name__)

TITLE_ALLOWED = re.compile(r"[^A-Za-z0-9 _$!?:.,'+\-=~`@#%^*\[\]()/{}\\|]")


class DeviantArt(Adapter):
    id = "deviantart"
    name = "DeviantArt"
    text_limit = None  # unconfirmed
    text_field = "description"
    has_title = True
    title_limit = 50
    markup = "html"
    writer = DeviantArtWriter
    images = ImageLimits(max_count=1, max_bytes=30_000_000)
    supports_alt_text = False
    tag_rules = TagRules(max_count=30, space="_", drop=r"[^A-Za-z0-9_]")
    rating_map = MappingProxyType(
        {
            "general": {"is_mature": False},
            "mature": {"is_mature": True, "mature_level": "moderate"},
            "adult": {"is_mature": True, "mature_level": "strict"},
        }
    )
    flag_map = MappingProxyType(
        {
            "nudity": "nudity",
            "sexual": "sexual",
            "violence": "gore",
            "gore": "gore",
            "language": "language",
        }
    )
    profile_url_template = "https://www.deviantart.com/{handle}"
    handle_pattern = re.compile(r"([A-Za-z0-9\-]{3,20})")
    handle_hint = "3-20 letters, digits or hyphens"
    native_mention = None  # :iconNAME: is unconfirmed; a profile link is certain
    supports_edit = True

    def normalise_handle(self, handle: str) -> str:
        return handle.lower()

    def clean_title(self, title: str) -> tuple[str, list[str]]:
        cleaned = re.sub(r"\s+", " ", TITLE_ALLOWED.sub("", title)).strip()
        if cleaned == title:
            return title, []
        return cleaned or "Untitled", ["title: characters DeviantArt does not accept were removed"]

    def rating_fields(self, value: Any, flags: list[Any]) -> Any:
        rating = dict(value)
        if rating["is_mature"]:
            rating["mature_classification"] = list(dict.fromkeys(flags))
        return rating

    def fields(self, ctx: RenderContext) -> dict[str, Any]:
        return {"tags": ctx.tags, "rating": ctx.rating}
