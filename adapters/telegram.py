"""Telegram channel post via a bot: HTML caption of 1,024 UTF-16 units after parsing.

Sources: core.telegram.org/bots/api sendPhoto (caption 0-1024 after entities parsing,
has_spoiler); python-telegram-bot MessageEntity (UTF-16 offsets); usernames 5-32.
"""

from __future__ import annotations

import html
import logging
import re
from types import MappingProxyType
from typing import Any

from adapters.base import Adapter, ImageLimits, RenderContext, TagRules
from adapters.text.counting import utf16_units
from adapters.text.writers.html import TelegramWriter

logger = logging.getLogger(__name__)

TAG_RE = re.compile(r"<[^>]*>")


class Telegram(Adapter):
    id = "telegram"
    name = "Telegram"
    text_limit = 1024
    reply_limit = 4096  # a reply is a text message, not a caption
    length_unit = "utf16"
    limit_unit = "UTF-16 units"
    title_in_text = True
    markup = "html"
    writer = TelegramWriter
    images = ImageLimits(max_count=10, max_bytes=10_000_000, max_pixels=10_000)
    supports_alt_text = False
    tag_rules = TagRules(supported=False)
    rating_map = MappingProxyType({"general": False, "mature": True, "adult": True})
    profile_url_template = "https://t.me/{handle}"
    handle_pattern = re.compile(r"@?([A-Za-z][A-Za-z0-9_]{3,31})")
    handle_hint = "a public username: 4-32 letters, digits or underscores"
    native_mention = "@{handle}"
    delinked_mention = "@/{handle}"
    supports_edit = True
    supports_delete = True
    supports_threads = True

    def measure(self, text: str) -> int:
        # The limit applies to the caption *after* entity parsing: the visible text.
        return utf16_units(html.unescape(TAG_RE.sub("", text)))

    def map_rating(self, draft, rules):
        value, _ = super().map_rating(draft.model_copy(update={"content_flags": ()}), rules)
        return value or bool(draft.content_flags), []

    def fields(self, ctx: RenderContext) -> dict[str, Any]:
        return {"parse_mode": "HTML", "has_spoiler": ctx.rating}
