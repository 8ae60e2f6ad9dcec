"""The credits block: one readable line per role (character owners: one per owner)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

from adapters.draft import Credit
from adapters.text.nodes import Block, Inline, LineBreak, Mention, Text

logger = logging.getLogger(__name__)

ROLE_ORDER = (
    "artist",
    "co_artist",
    "colorist",
    "base_by",
    "commissioner",
    "gift_for",
    "trade_with",
    "character_owner",
    "other",
)
NO_CHARACTER = "Characters"


def _people_nodes(mentions: Sequence[Mention]) -> list[Inline]:
    nodes: list[Inline] = []
    for i, mention in enumerate(mentions):
        if i:
            nodes.append(Text(", "))
        nodes.append(mention)
    return nodes


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


def credit_lines(
    credits: Sequence[Credit],
    mention: Callable[[str, str], Mention],
    labels: Mapping[str, str],
) -> list[tuple[Inline, ...]]:
    """Build the lines; ``mention(key, field)`` resolves a person for the target platform."""
    lines: list[tuple[Inline, ...]] = []
    index = {id(c): i for i, c in enumerate(credits)}

    def field_of(credit: Credit) -> str:
        return f"artwork.credits.{index[id(credit)]}.person"

    for role in ROLE_ORDER:
        of_role = [c for c in credits if c.role == role]
        if not of_role:
            continue
        if role == "character_owner":
            for key in _unique([c.person for c in of_role]):
                owned = [c for c in of_role if c.person == key]
                characters = _unique([" ".join(c.character.split()) for c in owned if c.character])
                who = mention(key, field_of(owned[0]))
                head = ", ".join(characters) if characters else NO_CHARACTER
                lines.append((Text(f"{head} {labels[role]} "), who))
            continue
        keys = _unique([c.person for c in of_role])
        first = {c.person: c for c in reversed(of_role)}
        mentions = [mention(key, field_of(first[key])) for key in keys]
        lines.append((Text(f"{labels[role]} "), *_people_nodes(mentions)))
    return lines


def credits_block(lines: Sequence[tuple[Inline, ...]]) -> Block:
    nodes: list[Inline] = []
    for i, line in enumerate(lines):
        if i:
            nodes.append(LineBreak())
        nodes.extend(line)
    return Block(tuple(nodes), kind="credits")
