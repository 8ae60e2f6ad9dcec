"""Turn a parsed template into one platform's document, and shorten it when asked.

The body may be shortened and its links moved; the credits block never is: it is an
atomic block that survives every transformation below.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import regex

from adapters.text.censor import censor
from adapters.text.nodes import (
    Block,
    Document,
    Hashtag,
    Inline,
    LineBreak,
    Link,
    Mention,
    PersonRef,
    Raw,
    Styled,
    Text,
    Url,
)

logger = logging.getLogger(__name__)

ELLIPSIS = "…"
WORD_BACKOFF = 20  # graphemes we are willing to give up to cut at a word boundary
GRAPHEME_RE = regex.compile(r"\X")


def resolve_inlines(
    nodes: Sequence[Inline],
    mention: Callable[[str], Mention],
    words: Mapping[str, str],
) -> tuple[Inline, ...]:
    """Replace ``@[key]`` by mentions and censor user text (never URLs or handles)."""
    out: list[Inline] = []
    for node in nodes:
        if isinstance(node, PersonRef):
            out.append(mention(node.key))
        elif isinstance(node, Text):
            out.append(Text(censor(node.text, words)))
        elif isinstance(node, Styled):
            out.append(Styled(node.style, resolve_inlines(node.children, mention, words)))
        elif isinstance(node, Link):
            out.append(Link(node.url, resolve_inlines(node.children, mention, words)))
        else:
            out.append(node)
    return tuple(out)


def resolve_document(
    document: Document, mention: Callable[[str], Mention], words: Mapping[str, str]
) -> Document:
    return tuple(Block(resolve_inlines(b.inlines, mention, words), b.kind) for b in document)


@dataclass(frozen=True)
class Parts:
    """Everything a post is assembled from, already resolved for one platform."""

    body: Document  # may hold one "credits_slot" block
    credits: Block  # kind "credits"; empty inlines when there are no credits
    hashtags: tuple[str, ...] = ()
    canonical_url: str | None = None
    title: Block | None = None  # only on platforms without a title field

    def units(self) -> int:
        return sum(_units(b.inlines) for b in self._shortenable())

    def _shortenable(self) -> list[Block]:
        return [
            b for b in (self.title, *self.body) if b is not None and b.kind in ("body", "title")
        ]


def _units(nodes: Sequence[Inline]) -> int:
    total = 0
    for node in nodes:
        if isinstance(node, Text):
            total += len(GRAPHEME_RE.findall(node.text))
        elif isinstance(node, Styled):
            total += _units(node.children)
        else:
            total += 1
    return total


def _cut_text(text: str, budget: int) -> str:
    clusters = GRAPHEME_RE.findall(text)
    kept = clusters[:budget]
    if (
        budget < len(clusters)
        and not clusters[budget].isspace()
        and kept
        and not kept[-1].isspace()
    ):
        for back in range(1, min(WORD_BACKOFF, len(kept)) + 1):
            if kept[-back].isspace():
                kept = kept[:-back]
                break
    return "".join(kept).rstrip()


def _truncate(nodes: Sequence[Inline], budget: int) -> tuple[list[Inline], int, bool]:
    """Keep ``budget`` units of ``nodes``; return (kept, budget left, whether we cut)."""
    kept: list[Inline] = []
    for node in nodes:
        size = _units((node,))
        if size <= budget:
            kept.append(node)
            budget -= size
            continue
        if isinstance(node, Text) and budget > 0:
            part = _cut_text(node.text, budget)
            if part:
                kept.append(Text(part))
        elif isinstance(node, Styled) and budget > 0:
            inner, _, _ = _truncate(node.children, budget)
            if inner:
                kept.append(Styled(node.style, tuple(inner)))
        return _rstrip(kept), 0, True
    return kept, budget, False


def _rstrip(nodes: list[Inline]) -> list[Inline]:
    while nodes and isinstance(nodes[-1], LineBreak):
        nodes.pop()
    if nodes and isinstance(nodes[-1], Text):
        stripped = nodes[-1].text.rstrip()
        nodes[-1] = Text(stripped)
        if not stripped:
            nodes.pop()
    return nodes


def shorten(blocks: Sequence[Block], budget: int, canonical_url: str | None) -> list[Block]:
    """Cut the title/body after ``budget`` units, ending with "…" and the canonical link."""
    out: list[Block] = []
    cut = False
    for block in blocks:
        if block.kind not in ("body", "title"):
            out.append(block)
            continue
        if cut:
            continue
        kept, budget, cut = _truncate(block.inlines, budget)
        if cut:
            tail: list[Inline] = [Raw(ELLIPSIS)]
            if canonical_url:
                tail += [Raw(" "), Url(canonical_url)]
            out.append(Block((*kept, *tail), "body"))
        elif kept:
            out.append(Block(tuple(kept), block.kind))
    return out


def assemble(
    parts: Parts, *, credits_inline: bool, hashtags: int, budget: int | None
) -> list[Block]:
    """The post's blocks: [title] body (credits at the slot or the end) [hashtags]."""
    blocks: list[Block] = [parts.title] if parts.title else []
    has_slot = any(b.kind == "credits_slot" for b in parts.body)
    for block in parts.body:
        if block.kind == "credits_slot":
            if credits_inline and parts.credits.inlines:
                blocks.append(parts.credits)
        else:
            blocks.append(block)
    if not has_slot and credits_inline and parts.credits.inlines:
        blocks.append(parts.credits)
    if budget is not None:
        blocks = shorten(blocks, budget, parts.canonical_url)
    if hashtags and parts.hashtags:
        tags: list[Inline] = []
        for tag in parts.hashtags[:hashtags]:
            if tags:
                tags.append(Raw(" "))
            tags.append(Hashtag(tag))
        blocks.append(Block(tuple(tags), "tags"))
    return blocks


def move_links(blocks: Sequence[Block], marker: str) -> tuple[list[Block], list[tuple[str, str]]]:
    """Take every URL out of the post for a self-reply (X's ``links_in_reply``)."""
    links: list[tuple[str, str]] = []

    def walk(nodes: Sequence[Inline]) -> list[Inline]:
        out: list[Inline] = []
        for node in nodes:
            if isinstance(node, Url):
                links.append(("", node.url))
                out.append(Raw(marker))
            elif isinstance(node, Link):
                links.append((_label(node.children), node.url))
                out.extend(walk(node.children))
            elif isinstance(node, Mention) and node.form == "link" and node.url:
                links.append((node.name, node.url))
                out.append(Mention(node.key, node.name, "name"))
            elif isinstance(node, Styled):
                out.append(Styled(node.style, tuple(walk(node.children))))
            else:
                out.append(node)
        return out

    moved = [Block(tuple(walk(b.inlines)), b.kind) for b in blocks]
    return moved, list(dict.fromkeys(links))


def _label(nodes: Sequence[Inline]) -> str:
    from adapters.text.writers.base import plain_text

    return plain_text(nodes)


def link_lines(links: Sequence[tuple[str, str]]) -> list[tuple[Inline, ...]]:
    lines: list[tuple[Inline, ...]] = []
    for label, url in links:
        if label and label != url:
            lines.append((Text(f"{label}: "), Url(url)))
        else:
            lines.append((Url(url),))
    return lines
