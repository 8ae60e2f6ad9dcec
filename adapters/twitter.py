"""X (Twitter): plain text, 280 weighted characters, the reach-penalty habits as defaults.

Sources: twitter-text config/v3.json (weights, URL = 23); screen names 1-15 [A-Za-z0-9_];
sensitive_media_warning values from PostyBirb's twitter-api-service.ts (platforms.md).
"""

from __future__ import annotations

import logging
import re
from types import MappingProxyType
from typing import Any

from adapters.base import Adapter, ImageLimits, TagRules
from adapters.rules import X_CENSOR, Rules
from adapters.text.writers.plain import PlainWriter

logger = logging.getLogger(__name__)


class Twitter(Adapter):
    id = "twitter"
    name = "X"
    text_limit = 280
    length_unit = "weighted"
    limit_unit = "weighted characters"
    title_in_text = True
    markup = "plain"
    writer = PlainWriter
    images = ImageLimits(
        max_count=4,
        max_bytes=5_000_000,
        formats=("image/jpeg", "image/png", "image/gif", "image/webp"),
    )
    alt_text_limit = 1000
    tag_rules = TagRules(inline_hashtags=True)
    rating_map = MappingProxyType(
        {"general": (), "mature": ("other",), "adult": ("adult_content",)}
    )
    flag_map = MappingProxyType(
        {
            "nudity": "adult_content",
            "sexual": "adult_content",
            "violence": "graphic_violence",
            "gore": "graphic_violence",
        }
    )
    profile_url_template = "https://x.com/{handle}"
    handle_pattern = re.compile(r"@?([A-Za-z0-9_]{1,15})")
    handle_hint = "1-15 letters, digits or underscores"
    native_mention = "@{handle}"
    delinked_mention = "@/{handle}"
    default_rules = Rules(mention_style="delinked", censor=X_CENSOR, links_in_reply=True)
    default_censor = X_CENSOR
    supports_delete = True
    supports_threads = True

    def rating_fields(self, value: Any, flags: list[Any]) -> Any:
        return {"sensitive_media_warning": list(dict.fromkeys((*value, *flags)))}
