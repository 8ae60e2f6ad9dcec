"""Weasyl: Markdown (misaka) with ``<!~name>`` user links and ``[name](fa:name)`` cross-links.

Sources: Weasyl/weasyl libweasyl/text.py (user links, pseudo-schemes), libweasyl/ratings.py
(10/30/40), weasyl/forms.py (tags), templates/submit/visual.html (title 200).
"""

from __future__ import annotations

import logging
import re
from types import MappingProxyType
from typing import Any

from adapters.base import Adapter, ImageLimits, RenderContext, TagRules
from adapters.errors import InvalidHandle
from adapters.text.writers.markdown import WeasylWriter

logger = logging.getLogger(__name__)


class Weasyl(Adapter):
    id = "weasyl"
    name = "Weasyl"
    text_limit = 300_000
    length_unit = "code_points"
    text_field = "description"
    has_title = True
    title_limit = 200
    markup = "markdown"
    writer = WeasylWriter
    images = ImageLimits(max_count=1, max_bytes=50 * 1024 * 1024)
    supports_alt_text = False
    tag_rules = TagRules(min_count=2, lowercase=True, space="_", drop=r"[^A-Za-z0-9_]")
    rating_map = MappingProxyType({"general": 10, "mature": 30, "adult": 40})
    profile_url_template = "https://www.weasyl.com/~{handle}"
    handle_pattern = re.compile(r"([A-Za-z0-9_.\- ]{1,25})")
    handle_hint = "a Weasyl user name (letters and digits)"
    native_mention = "<!~{handle}>"
    cross_site = MappingProxyType(
        {
            "furaffinity": "[{name}](fa:{handle})",
            "deviantart": "[{name}](da:{handle})",
            "inkbunny": "[{name}](ib:{handle})",
        }
    )
    supports_edit = True
    supports_delete = True

    def normalise_handle(self, handle: str) -> str:
        # Weasyl's "sysname": lower case, letters and digits only.
        sysname = re.sub(r"[^a-z0-9]", "", handle.lower())
        if not sysname:
            raise InvalidHandle(self.id, handle, self.handle_hint)
        return sysname

    def fields(self, ctx: RenderContext) -> dict[str, Any]:
        return {"tags": " ".join(ctx.tags), "rating": ctx.rating}
