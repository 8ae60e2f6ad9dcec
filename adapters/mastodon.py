"""Mastodon: plain text in, 500 graphemes by default with URLs at 23 and remote
mentions counted by their local part; rating as ``sensitive`` + ``spoiler_text``.

Sources: mastodon/documentation user/posting.md, entities/Instance.md (the limit is
per instance; 500 is the default), methods/statuses.md (Idempotency-Key, edit).
"""

from __future__ import annotations

import logging
import re
from types import MappingProxyType
from typing import Any

from adapters.base import Adapter, ImageLimits, RenderContext, TagRules
from adapters.text.counting import graphemes
from adapters.text.writers.plain import PlainWriter

logger = logging.getLogger(__name__)

SPOILER_WORDS = MappingProxyType(
    {
        "nudity": "nudity",
        "sexual": "sexual content",
        "violence": "violence",
        "gore": "gore",
        "language": "language",
        "drugs": "drugs",
    }
)


class Mastodon(Adapter):
    id = "mastodon"
    name = "Mastodon"
    text_limit = 500
    length_unit = "mastodon"
    limit_unit = "characters"
    title_in_text = True
    markup = "plain"
    writer = PlainWriter
    images = ImageLimits(
        max_count=4,
        max_bytes=16_000_000,
        max_pixels=8_300_000,
        formats=("image/jpeg", "image/png", "image/gif", "image/webp", "image/heif", "image/avif"),
    )
    alt_text_limit = 1500
    tag_rules = TagRules(inline_hashtags=True)
    rating_map = MappingProxyType(
        {"general": (False, ""), "mature": (True, "Mature"), "adult": (True, "Adult (18+)")}
    )
    flag_map = SPOILER_WORDS
    profile_url_template = "https://{domain}/@{user}"
    handle_pattern = re.compile(
        r"@?([A-Za-z0-9_]+(?:[.\-]+[A-Za-z0-9_]+)*@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)"
    )
    handle_hint = "user@instance.domain"
    native_mention = "@{handle}"
    delinked_mention = "@/{handle}"
    supports_edit = True
    supports_delete = True
    supports_threads = True
    supports_idempotent_create = True

    def normalise_handle(self, handle: str) -> str:
        user, _, domain = handle.partition("@")
        return f"{user}@{domain.lower()}"

    def profile_url(self, handle: str) -> str:
        user, _, domain = self.check_handle(handle).partition("@")
        return self.profile_url_template.format(user=user, domain=domain)

    def rating_fields(self, value: Any, flags: list[Any]) -> Any:
        sensitive, warning = value
        if flags:
            warning = f"{warning or 'Content warning'}: {', '.join(dict.fromkeys(flags))}"
        return {"sensitive": bool(sensitive or flags), "spoiler_text": warning}

    def reserve(self, rating: Any) -> int:
        return graphemes(rating["spoiler_text"])  # the CW shares the status limit

    def fields(self, ctx: RenderContext) -> dict[str, Any]:
        return {
            "sensitive": ctx.rating["sensitive"],
            "spoiler_text": ctx.rating["spoiler_text"],
            "tags": ctx.tags,
        }

    def result(self, ctx: RenderContext) -> dict[str, Any]:
        out = super().result(ctx)
        out["length"] += self.reserve(ctx.rating)
        return out
