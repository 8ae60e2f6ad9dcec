"""Platform rules as data: defaults on each adapter class, overridable per account."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from adapters.draft import RuleOptions

logger = logging.getLogger(__name__)

DEFAULT_CREDIT_LABELS: MappingProxyType[str, str] = MappingProxyType(
    {
        "artist": "Art by",
        "co_artist": "Co-artist",
        "colorist": "Colors by",
        "base_by": "Base by",
        "commissioner": "Commissioned by",
        "gift_for": "Gift for",
        "trade_with": "Art trade with",
        "character_owner": "©",
        "other": "Thanks to",
    }
)

# Words artists misspell on X to dodge reach suppression (see platforms.md, X "Artist practice").
X_CENSOR: MappingProxyType[str, str] = MappingProxyType(
    {"patreon": "patr*on", "commission": "c*mmission", "commissions": "c*mmissions"}
)


@dataclass(frozen=True)
class Rules:
    mention_style: str = "native"
    censor: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))
    links_in_reply: bool = False
    credits_position: str = "inline"
    credit_labels: MappingProxyType[str, str] = field(default_factory=lambda: DEFAULT_CREDIT_LABELS)
    rating_map: MappingProxyType[str, Any] | None = None

    def merged(self, options: RuleOptions | None, default_censor: MappingProxyType) -> Rules:
        """Apply one account's overrides; ``censor: true`` means the platform's default list."""
        if options is None:
            return self
        changes: dict[str, Any] = {}
        if options.mention_style is not None:
            changes["mention_style"] = options.mention_style
        if options.links_in_reply is not None:
            changes["links_in_reply"] = options.links_in_reply
        if options.credits_position is not None:
            changes["credits_position"] = options.credits_position
        if options.censor is True:
            changes["censor"] = default_censor or X_CENSOR
        elif options.censor is False:
            changes["censor"] = MappingProxyType({})
        elif isinstance(options.censor, dict):
            changes["censor"] = MappingProxyType({k.lower(): v for k, v in options.censor.items()})
        if options.credit_labels is not None:
            changes["credit_labels"] = MappingProxyType(
                {**DEFAULT_CREDIT_LABELS, **options.credit_labels}
            )
        if options.rating_map is not None:
            changes["rating_map"] = MappingProxyType(dict(options.rating_map))
        return replace(self, **changes)
