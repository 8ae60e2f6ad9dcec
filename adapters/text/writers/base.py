"""The writer skeleton: walk the node tree, let each markup decide how a node looks.

Writers record *spans* (start/end code-point offsets of links, mentions, styles) as they
write, which is all the rich-text targets (Bluesky facets, Tumblr NPF) need; markup
targets simply ignore them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from adapters.text.nodes import (
    Block,
    Hashtag,
    Inline,
    LineBreak,
    Link,
    Mention,
    Raw,
    Styled,
    Text,
    Url,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str
    data: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Rendered:
    text: str
    spans: tuple[Span, ...] = ()
    blocks: tuple[tuple[int, int, str], ...] = ()  # (start, end, block kind) per paragraph


@dataclass
class Out:
    parts: list[str] = field(default_factory=list)
    pos: int = 0
    spans: list[Span] = field(default_factory=list)
    blocks: list[tuple[int, int, str]] = field(default_factory=list)

    def write(self, text: str) -> None:
        self.parts.append(text)
        self.pos += len(text)

    @contextmanager
    def span(self, kind: str, **data: Any) -> Iterator[None]:
        start = self.pos
        yield
        if self.pos > start:
            self.spans.append(Span(start, self.pos, kind, tuple(sorted(data.items()))))

    def result(self) -> Rendered:
        return Rendered("".join(self.parts), tuple(self.spans), tuple(self.blocks))


def plain_text(nodes: Sequence[Inline]) -> str:
    """The visible text of some nodes, ignoring styling (used for link labels)."""
    out = []
    for node in nodes:
        if isinstance(node, Text | Raw):
            out.append(node.text)
        elif isinstance(node, Styled | Link):
            out.append(plain_text(node.children))
        elif isinstance(node, Url):
            out.append(node.url)
        elif isinstance(node, Mention):
            out.append(node.name)
        elif isinstance(node, Hashtag):
            out.append("#" + node.tag)
        elif isinstance(node, LineBreak):
            out.append(" ")
    return "".join(out)


def safe_url(url: str, unsafe: str) -> str:
    """Percent-encode the characters that would end a URL early in a given markup."""
    return "".join(quote(ch, safe="") if ch in unsafe else ch for ch in url)


class Writer:
    """Plain text: no styling, links as ``text (url)``; subclasses override per markup."""

    paragraph_sep = "\n\n"
    line_sep = "\n"

    def escape(self, text: str) -> str:
        return text

    def render(self, blocks: Sequence[Block]) -> Rendered:
        out = Out()
        for i, block in enumerate(blocks):
            if i:
                out.write(self.paragraph_sep)
            start = out.pos
            self.block(out, block)
            out.blocks.append((start, out.pos, block.kind))
        return out.result()

    def block(self, out: Out, block: Block) -> None:
        for node in block.inlines:
            self.inline(out, node)

    def inline(self, out: Out, node: Inline) -> None:
        if isinstance(node, Text):
            out.write(self.escape(node.text))
        elif isinstance(node, Raw):
            out.write(node.text)
        elif isinstance(node, LineBreak):
            out.write(self.line_sep)
        elif isinstance(node, Styled):
            self.styled(out, node)
        elif isinstance(node, Link):
            self.link(out, node.url, node.children)
        elif isinstance(node, Url):
            self.url(out, node.url)
        elif isinstance(node, Mention):
            self.mention(out, node)
        elif isinstance(node, Hashtag):
            self.hashtag(out, node.tag)
        else:  # PersonRef must be resolved before writing
            raise TypeError(f"cannot write {node!r}")

    def children(self, out: Out, nodes: Sequence[Inline]) -> None:
        for node in nodes:
            self.inline(out, node)

    def styled(self, out: Out, node: Styled) -> None:
        self.children(out, node.children)

    def link(self, out: Out, url: str, children: Sequence[Inline]) -> None:
        label = plain_text(children)
        if label == url:
            self.url(out, url)
            return
        self.children(out, children)
        out.write(" (")
        self.url(out, url)
        out.write(")")

    def url(self, out: Out, url: str) -> None:
        with out.span("link", uri=url):
            out.write(url)

    def mention(self, out: Out, m: Mention) -> None:
        if m.form == "link" and m.url:
            self.link(out, m.url, (Text(m.name),))
        elif m.form == "name":
            out.write(self.escape(m.name))
        else:
            with out.span("mention", handle=m.handle, form=m.form):
                out.write(m.markup)

    def hashtag(self, out: Out, tag: str) -> None:
        with out.span("tag", tag=tag):
            out.write("#" + tag)


class MarkupWriter(Writer):
    """A markup with bold/italic/link wrappers given as class data."""

    bold_open = bold_close = italic_open = italic_close = ""
    url_unsafe = ""

    def styled(self, out: Out, node: Styled) -> None:
        if node.style == "bold":
            opening, closing = self.bold_open, self.bold_close
        else:
            opening, closing = self.italic_open, self.italic_close
        out.write(opening)
        self.children(out, node.children)
        out.write(closing)

    def link_markup(self, url: str, label: str) -> str:
        raise NotImplementedError

    def link(self, out: Out, url: str, children: Sequence[Inline]) -> None:
        inner = Out()
        self.children(inner, children)
        with out.span("link", uri=url):
            out.write(self.link_markup(safe_url(url, self.url_unsafe), "".join(inner.parts)))
