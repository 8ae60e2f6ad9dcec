"""Discord webhook: Markdown content of 2,000 characters, ``<@id>`` mentions, spoilers.

Sources: discord-api-docs resources/webhook.mdx (content 2000), reference.mdx (message
formatting), resources/message.mdx (attachment description 1024, allowed_mentions).
"""

from __future__ import annotations

import logging
import re
from types import MappingProxyType
from typing import Any

from adapters.base import Adapter, ImageLimits, RenderContext, TagRules
from adapters.text.writers.markdown import DiscordWriter

logger = logging.getLogger(__name__)


class Discord(Adapter):
    id = "discord"
    name = "Discord"
    text_limit = 2000
    # Counted in UTF-16 units: never less than code points, so never over the real limit.
    length_unit = "utf16"
    title_in_text = True
    markup = "discord-markdown"
    writer = DiscordWriter
    images = ImageLimits(max_count=10, max_bytes=10 * 1024 * 1024)
    alt_text_limit = 1024
    tag_rules = TagRules(supported=False)
    rating_map = MappingProxyType({"general": False, "mature": True, "adult": True})
    profile_url_template = "https://discord.com/users/{handle}"
    handle_pattern = re.compile(r"<?@?!?(\d{17,20})>?")
    handle_hint = "a numeric user id (17-20 digits)"
    native_mention = "<@{handle}>"
    supports_edit = True
    supports_delete = True

    def map_rating(self, draft, rules):
        value, _ = super().map_rating(draft.model_copy(update={"content_flags": ()}), rules)
        return value or bool(draft.content_flags), []

    def fields(self, ctx: RenderContext) -> dict[str, Any]:
        users = [
            dict(span.data)["handle"]
            for span in ctx.fitted.main.spans
            if span.kind == "mention" and dict(span.data).get("form") == "native"
        ]
        return {
            "spoiler": ctx.rating,
            "allowed_mentions": {"parse": [], "users": list(dict.fromkeys(users))},
        }
