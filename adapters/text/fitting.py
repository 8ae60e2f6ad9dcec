"""Credit fidelity: make the post fit without ever losing a credit.

The ladder (DESIGN.md "Credit fidelity"): full post; body shortened (ellipsis + canonical
link) down to a floor; hashtags dropped one by one; body shortened below the floor; then,
where the platform has threads, credits moved to self-replies; otherwise an error naming
the platform and its limit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING

from adapters.text.compose import Parts, assemble, link_lines, move_links
from adapters.text.counting import utf8_bytes
from adapters.text.nodes import Block, Inline, LineBreak, Text
from adapters.text.writers.base import Rendered

if TYPE_CHECKING:
    from adapters.base import Adapter
    from adapters.rules import Rules

logger = logging.getLogger(__name__)

BODY_FLOOR_SHARE = 4  # keep at least limit/4 units of body before dropping hashtags


@dataclass
class Fitted:
    main: Rendered
    replies: list[Rendered] = field(default_factory=list)
    length: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass
class NoFit:
    error: str


@dataclass
class _Attempt:
    rendered: Rendered
    links: list[tuple[str, str]]


class Fitter:
    def __init__(self, adapter: Adapter, parts: Parts, rules: Rules, reserve: int = 0) -> None:
        self.adapter, self.parts, self.rules, self.reserve = adapter, parts, rules, reserve
        self.writer = adapter.writer()
        self.limit = adapter.text_limit
        self.links_to_reply = rules.links_in_reply and adapter.supports_threads

    # -- measuring -------------------------------------------------------------------------
    def fits(self, rendered: Rendered, limit: int | None = None) -> bool:
        limit = self.limit if limit is None else limit
        if self.adapter.byte_limit and utf8_bytes(rendered.text) > self.adapter.byte_limit:
            return False
        return self.adapter.measure(rendered.text) + self.reserve <= limit

    def build(self, credits_inline: bool, hashtags: int, budget: int | None) -> _Attempt:
        blocks = assemble(
            self.parts, credits_inline=credits_inline, hashtags=hashtags, budget=budget
        )
        links: list[tuple[str, str]] = []
        if self.links_to_reply:
            blocks, links = move_links(blocks, self.adapter.link_moved_marker)
        return _Attempt(self.writer.render(blocks), links)

    def search(self, make: Callable[[int], _Attempt], lo: int, hi: int) -> _Attempt | None:
        """Largest budget in [lo, hi] whose attempt fits (length grows with the budget)."""
        if hi < lo:
            return None
        best = make(lo)
        if not self.fits(best.rendered):
            return None
        while lo < hi:
            mid = (lo + hi + 1) // 2
            attempt = make(mid)
            if self.fits(attempt.rendered):
                lo, best = mid, attempt
            else:
                hi = mid - 1
        return best

    # -- the ladder ------------------------------------------------------------------------
    def ladder(self, credits_inline: bool) -> tuple[_Attempt, list[str]] | None:
        units, tags = self.parts.units(), len(self.parts.hashtags)
        full = self.build(credits_inline, tags, None)
        if self.fits(full.rendered):
            return full, []
        assert self.limit is not None
        floor = min(units, self.limit // BODY_FLOOR_SHARE)
        shortened = f"description shortened to fit {self.limit} {self.adapter.limit_unit}"
        found = self.search(lambda k: self.build(credits_inline, tags, k), floor, units - 1)
        if found:
            return found, [shortened]
        for keep in range(tags - 1, -1, -1):
            found = self.search(lambda k, n=keep: self.build(credits_inline, n, k), floor, units)
            if found:
                dropped = " ".join("#" + t for t in self.parts.hashtags[keep:])
                notes = [f"hashtags dropped to fit: {dropped}"]
                return found, ([shortened] if floor < units else []) + notes
        found = self.search(lambda k: self.build(credits_inline, 0, k), 0, floor - 1)
        if found:
            notes = [shortened]
            if tags:
                notes.append(
                    "hashtags dropped to fit: " + " ".join("#" + t for t in self.parts.hashtags)
                )
            return found, notes
        return None

    def pack(self, lines: Sequence[tuple[Inline, ...]], kind: str) -> list[Rendered] | NoFit:
        """Greedily pack lines into as few replies as fit the reply limit."""
        limit = self.adapter.reply_limit or self.limit
        replies: list[Rendered] = []
        current: list[tuple[Inline, ...]] = []
        queue = list(lines)
        while queue:
            line = queue.pop(0)
            candidate = self.writer.render([_block([*current, line], kind)])
            if self.fits(candidate, limit):
                current.append(line)
                continue
            if not current and len(parts := _split_people(line)) > 1:
                queue[:0] = parts  # one role line per person, each packed on its own
                continue
            if not current:
                need = self.adapter.measure(candidate.text)
                return NoFit(
                    f"{self.adapter.name}: a {kind} line needs {need} {self.adapter.limit_unit}, "
                    f"more than the {limit} a reply allows"
                )
            replies.append(self.writer.render([_block(current, kind)]))
            current = []
            queue.insert(0, line)  # measured again on its own (and split if it must be)
        if current:
            replies.append(self.writer.render([_block(current, kind)]))
        return replies

    def fit(self) -> Fitted | NoFit:
        if self.limit is None:
            attempt = self.build(True, len(self.parts.hashtags), None)
            return Fitted(attempt.rendered, length=self.adapter.measure(attempt.rendered.text))
        threads = self.adapter.supports_threads and bool(self.parts.credits.inlines)
        modes = [True, False] if threads else [True]
        if threads and self.rules.credits_position == "reply":
            modes = [False]
        for credits_inline in modes:
            result = self.ladder(credits_inline)
            if result is None:
                continue
            attempt, warnings = result
            replies: list[Rendered] = []
            links = list(attempt.links)
            if not credits_inline:
                lines = _lines_of(self.parts.credits)
                if self.links_to_reply:
                    moved, more = move_links([_block(list(lines), "credits")], "")
                    lines, links = _lines_of(moved[0]), links + more
                packed = self.pack(lines, "credits")
                if isinstance(packed, NoFit):
                    return packed
                replies += packed
                if self.rules.credits_position != "reply":
                    warnings.append("credits moved to a reply: they do not fit in the post")
            if links:
                packed = self.pack(link_lines(list(dict.fromkeys(links))), "link")
                if isinstance(packed, NoFit):
                    return packed
                replies += packed
            length = self.adapter.measure(attempt.rendered.text)
            return Fitted(attempt.rendered, replies, length, warnings)
        return NoFit(self.failure())

    def failure(self) -> str:
        alone = self.adapter.measure(self.writer.render([self.parts.credits]).text)
        where = (
            "even in replies"
            if self.adapter.supports_threads
            else f"and {self.adapter.name} has no threads to move them to"
        )
        return (
            f"{self.adapter.name}: does not fit in {self.limit} {self.adapter.limit_unit} even "
            f"after shortening the description and dropping hashtags; the credits alone need "
            f"{alone} {where}"
        )


def _block(lines: Sequence[tuple[Inline, ...]], kind: str) -> Block:
    nodes: list[Inline] = []
    for i, line in enumerate(lines):
        if i:
            nodes.append(LineBreak())
        nodes.extend(line)
    return Block(tuple(nodes), "credits" if kind == "credits" else "body")


def _split_people(line: tuple[Inline, ...]) -> list[tuple[Inline, ...]]:
    """Split "Label A, B, C" into "Label A", "Label B", "Label C" (the label repeats)."""
    separators = [i for i, node in enumerate(line) if node == Text(", ")]
    if not separators:
        return [line]
    label, bounds = line[:1], [0, *separators, len(line)]
    people = [line[a + 1 : b] for a, b in pairwise(bounds)]
    return [(*label, *p) for p in people]


def _lines_of(block: Block) -> list[tuple[Inline, ...]]:
    lines: list[list[Inline]] = [[]]
    for node in block.inlines:
        if isinstance(node, LineBreak):
            lines.append([])
        else:
            lines[-1].append(node)
    return [tuple(line) for line in lines if line]


def fit(adapter: Adapter, parts: Parts, rules: Rules, reserve: int = 0) -> Fitted | NoFit:
    return Fitter(adapter, parts, rules, reserve).fit()
