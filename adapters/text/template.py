"""Parser for the description template: a small Markdown subset plus ``@[key]``/``{credits}``.

Everything that is not one of the few constructs below is literal text, and a backslash
makes any of the construct characters literal (``\\*``, ``\\[``, ``\\@``, ``\\{``...). The
parser knows nothing about people or platforms; it only builds the node tree.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

from adapters.errors import TemplateError
from adapters.text.nodes import (
    Block,
    Document,
    Inline,
    LineBreak,
    Link,
    PersonRef,
    Styled,
    Text,
    Url,
)

logger = logging.getLogger(__name__)

FIELD = "artwork.description"
CREDITS_SLOT = "{credits}"
ESCAPABLE = frozenset("\\*[]()@{}_#<>`~|:")
KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}")
LINK_RE = re.compile(r"\[([^\[\]\n]+)\]\((https?://[^\s()<>]+)\)")
URL_RE = re.compile(r"https?://[^\s<>\"\\\[\]{}|^`]+")
URL_TRAILING = ".,;:!?'\")]}*"
MAX_DEPTH = 4


def _bare_url(text: str, start: int) -> tuple[str, int] | None:
    if start > 0 and (text[start - 1].isalnum() or text[start - 1] in "/@"):
        return None
    m = URL_RE.match(text, start)
    if not m:
        return None
    url = m.group(0)
    while url and url[-1] in URL_TRAILING:
        # keep a closing paren that balances one inside the URL (Wikipedia-style links)
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    if len(url) <= len("https://"):
        return None
    return url, start + len(url)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text

    def inlines(self, i: int, stop: str | None, depth: int) -> tuple[list[Inline], int, bool]:
        """Parse from ``i`` until ``stop`` (an emphasis delimiter) or the end."""
        text, out, buf = self.text, [], []

        def flush() -> None:
            if buf:
                out.append(Text("".join(buf)))
                buf.clear()

        while i < len(text):
            ch = text[i]
            if stop and self.closes(i, stop):
                flush()
                return out, i + len(stop), True
            if ch == "\\" and i + 1 < len(text) and text[i + 1] in ESCAPABLE:
                buf.append(text[i + 1])
                i += 2
            elif ch == "\n":
                flush()
                out.append(LineBreak())
                i += 1
            elif ch == "*" and depth < MAX_DEPTH and self.opens(i):
                delim = "**" if text.startswith("**", i) else "*"
                children, j, closed = self.inlines(i + len(delim), delim, depth + 1)
                if closed and children:
                    flush()
                    out.append(Styled("bold" if delim == "**" else "italic", tuple(children)))
                    i = j
                else:
                    buf.append(delim)
                    i += len(delim)
            elif ch == "@" and text.startswith("@[", i):
                flush()
                out.append(self.person_ref(i))
                i = text.index("]", i) + 1
            elif ch == "[" and (m := LINK_RE.match(text, i)):
                flush()
                out.append(Link(m.group(2), (Text(_unescape(m.group(1))),)))
                i = m.end()
            elif ch == "h" and (found := _bare_url(text, i)):
                flush()
                out.append(Url(found[0]))
                i = found[1]
            elif ch == "{" and text.startswith(CREDITS_SLOT, i) and depth == 0:
                flush()
                out.append(Text(CREDITS_SLOT))  # split into its own block by the caller
                i += len(CREDITS_SLOT)
            else:
                buf.append(ch)
                i += 1
        flush()
        return out, i, False

    def _run(self, i: int) -> int:
        j = i
        while j < len(self.text) and self.text[j] == "*":
            j += 1
        return j - i

    def opens(self, i: int) -> bool:
        """A delimiter opens only when followed by a non-space (CommonMark's left-flanking)."""
        after = i + (2 if self.text.startswith("**", i) else 1)
        return after < len(self.text) and not self.text[after].isspace()

    def closes(self, i: int, stop: str) -> bool:
        """``*`` closes italic unless it is exactly ``**``; ``***`` closes italic then bold."""
        if not self.text.startswith(stop, i) or i == 0 or self.text[i - 1].isspace():
            return False
        run = self._run(i)
        return run != 2 if stop == "*" else run >= 2

    def person_ref(self, i: int) -> PersonRef:
        end = self.text.find("]", i)
        if end < 0:
            raise TemplateError("unterminated person reference '@[' (write '\\@[' for text)", FIELD)
        key = self.text[i + 2 : end]
        if not KEY_RE.fullmatch(key):
            raise TemplateError(f"invalid person key {key!r} in '@[...]'", FIELD)
        return PersonRef(key)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: m.group(1) if m.group(1) in ESCAPABLE else m.group(0), text)


def _blocks_of(paragraph: list[Inline]) -> list[Block]:
    """Split a paragraph at ``{credits}``: the credits block always stands on its own."""
    blocks: list[Block] = []
    current: list[Inline] = []
    for node in paragraph:
        if node == Text(CREDITS_SLOT):
            if current:
                blocks.append(Block(tuple(_strip(current))))
            blocks.append(Block((), kind="credits_slot"))
            current = []
        else:
            current.append(node)
    if current and _strip(current):
        blocks.append(Block(tuple(_strip(current))))
    return [b for b in blocks if b.inlines or b.kind != "body"]


def _strip(nodes: list[Inline]) -> list[Inline]:
    """Trim whitespace and line breaks at the edges of a paragraph."""
    nodes = list(nodes)
    while nodes and isinstance(nodes[0], LineBreak):
        nodes.pop(0)
    while nodes and isinstance(nodes[-1], LineBreak):
        nodes.pop()
    if nodes and isinstance(nodes[0], Text):
        nodes[0] = Text(nodes[0].text.lstrip())
        if not nodes[0].text:
            nodes.pop(0)
    if nodes and isinstance(nodes[-1], Text):
        nodes[-1] = Text(nodes[-1].text.rstrip())
        if not nodes[-1].text:
            nodes.pop()
    return nodes


@lru_cache(maxsize=256)
def parse(template: str) -> Document:
    """Parse a description template into blocks (paragraphs split on blank lines)."""
    text = template.replace("\r\n", "\n").replace("\r", "\n")
    blocks: list[Block] = []
    for paragraph in re.split(r"\n[ \t]*\n", text):
        if not paragraph.strip():
            continue
        nodes, _, _ = _Parser(paragraph).inlines(0, None, 0)
        blocks.extend(_blocks_of(nodes))
    slots = sum(1 for b in blocks if b.kind == "credits_slot")
    if slots > 1:
        raise TemplateError("{credits} appears more than once", FIELD)
    return tuple(blocks)


def escape_template(text: str) -> str:
    """Make arbitrary text literal inside a template (used by tests and importers)."""
    return re.sub(r"([\\*\[\]@{}_#<>`~|():])", r"\\\1", text)
