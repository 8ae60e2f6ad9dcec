"""The small document tree shared by the parser, the engine and every writer.

A document is a tuple of blocks; a block is a tuple of inline nodes. Keeping it this flat
is what lets one truncation routine and one set of writers serve eleven platforms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class LineBreak:
    pass


@dataclass(frozen=True)
class Styled:
    style: Literal["bold", "italic"]
    children: tuple[Inline, ...]


@dataclass(frozen=True)
class Link:
    """``[text](url)`` in the template, or a profile link made by the engine."""

    url: str
    children: tuple[Inline, ...]


@dataclass(frozen=True)
class Url:
    """A bare URL; shown as itself (or shortened for display on Bluesky)."""

    url: str


@dataclass(frozen=True)
class PersonRef:
    """``@[key]`` before resolution against the people directory."""

    key: str


@dataclass(frozen=True)
class Mention:
    """A person, already resolved to the best form one platform allows.

    ``form`` is ``native`` | ``delinked`` | ``cross`` (raw, pre-validated ``markup``),
    ``link`` (``name`` linked to ``url``) or ``name``.
    """

    key: str
    name: str
    form: Literal["native", "delinked", "cross", "link", "name"]
    markup: str = ""
    url: str | None = None
    handle: str | None = None


@dataclass(frozen=True)
class Hashtag:
    tag: str


@dataclass(frozen=True)
class Raw:
    """Engine-made text that must not be escaped or censored (never user text)."""

    text: str


Inline = Text | LineBreak | Styled | Link | Url | PersonRef | Mention | Hashtag | Raw


@dataclass(frozen=True)
class Block:
    """A paragraph. ``kind`` marks engine blocks: the credits block is never shortened."""

    inlines: tuple[Inline, ...]
    kind: Literal["body", "title", "credits", "tags", "credits_slot"] = "body"


Document = tuple[Block, ...]
