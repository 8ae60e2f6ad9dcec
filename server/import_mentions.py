"""Credits named in an imported post's text, with the platform each handle belongs to.

``:iconname:`` (FurAffinity, DeviantArt), ``<!~name>`` (Weasyl), ``[iconname]name[/iconname]``
(Inkbunny), ``@/name`` (X, de-linked), ``@user@instance`` and Mastodon's mention links,
``@handle`` (Bluesky when it has a dot; otherwise the post's own platform or X). The words just
before a mention suggest its role ("commissioned by", "character by", "gift for"). These are
proposals for the artist to confirm, never applied on their own (``server.importer``).
"""

from __future__ import annotations

import html.parser
import logging
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from adapters import registry as adapters
from adapters.errors import DraftError

log = logging.getLogger(__name__)

_ICON = re.compile(r":(?:icon|link)([A-Za-z0-9_.~\-]+):|:([A-Za-z0-9_.~\-]+)icon:")
_WEASYL = re.compile(r"<(?:!~?|~)([A-Za-z0-9_.\- ]{1,25})>")  # <!~name> <!name> <~name>
_INKBUNNY = re.compile(r"\[(?:icon)?name\]([A-Za-z0-9]{1,22})\[/(?:icon)?name\]")
_DELINKED = re.compile(r"(?<![\w@/])@/([A-Za-z0-9_]{1,15})\b")
_FEDI = re.compile(
    r"(?<![\w@/])@([A-Za-z0-9_](?:[A-Za-z0-9_.\-]*[A-Za-z0-9_])?)"
    r"@([A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)"
)
_AT = re.compile(r"(?<![\w@/.])@([A-Za-z0-9_](?:[A-Za-z0-9_.\-]*[A-Za-z0-9_])?)(?![\w@])")

# (words just before the mention, role): the match ending nearest the mention wins, and on a
# tie the earlier row ("gift for" over "for", "character by" over "by").
_ROLE_WORDS = (
    (r"\bych\b(?:\s+base)?(?:\s+(?:by|from))?|\bbase\s+(?:by|from)", "base_by"),
    (r"colou?r(?:s|ed|ing)?\s+by|colou?rist|flats?\s+by", "colorist"),
    (r"\bgift(?:ed)?\s+(?:for|to)", "gift_for"),
    (r"\btrade\s+(?:with|for)", "trade_with"),
    (
        r"(?:characters?|\boc|\bocs)(?:\s+(?:by|of|owned\s+by|belongs?\s+to|from))?"
        r"|owned\s+by|belongs?\s+to",
        "character_owner",
    ),
    (r"commission(?:ed)?(?:\s+(?:by|for|from))?|\bcomm\s+for|\bfor\b", "commissioner"),
    (r"collab(?:oration)?\s+with|\bwith\b|lines?\s+by|sketch(?:ed)?\s+by", "co_artist"),
    (r"\bart\s+by|drawn\s+by|\bartist\b|\bby\b", "artist"),
)


@dataclass(frozen=True)
class Mention:
    platform: str
    handle: str
    found: str
    role: str


def _guess_role(before: str) -> str:
    window = re.split(r"[\n,;|!?]|\.\s", before[-64:].lower())[-1]
    best: tuple[int, int, str] | None = None
    for index, (pattern, role) in enumerate(_ROLE_WORDS):
        for m in re.finditer(pattern, window):
            rank = (m.end(), -index, role)
            if best is None or rank[:2] > best[:2]:
                best = rank
    return best[2] if best else "other"


class _MentionLinks(html.parser.HTMLParser):
    """Mastodon's mention links: ``<a href="https://domain/@user" class="u-url mention">``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if tag == "a" and "mention" in classes and "hashtag" not in classes:
            parts = urlsplit(attributes.get("href") or "")
            m = re.fullmatch(r"/@([A-Za-z0-9_.\-]+)", parts.path or "")
            if m and parts.hostname:
                self.found.append(f"{m.group(1)}@{parts.hostname}")


def find_mentions(
    platform: str, text: str, html_text: str = "", instance: str = ""
) -> list[Mention]:
    """Credits named in a post's text, each with the platform its handle belongs to."""
    found: list[tuple[int, int, str, str, str]] = []  # start, end, platform, handle, text

    def add(target: str, handle: str, m: re.Match[str]) -> None:
        found.append((m.start(), m.end(), target, handle, m.group(0)[:300]))

    for m in _ICON.finditer(text):
        icon_platform = "deviantart" if platform == "deviantart" else "furaffinity"
        add(icon_platform, m.group(1) or m.group(2), m)
    for m in _WEASYL.finditer(text):
        add("weasyl", m.group(1), m)
    for m in _INKBUNNY.finditer(text):
        add("inkbunny", m.group(1), m)
    for m in _DELINKED.finditer(text):
        add("twitter", m.group(1), m)
    fedi_spans = []
    for m in _FEDI.finditer(text):
        fedi_spans.append(m.span())
        add("mastodon", f"{m.group(1)}@{m.group(2)}", m)
    links: list[str] = []
    if html_text:
        parser = _MentionLinks()
        parser.feed(html_text)
        links = parser.found
    for m in _AT.finditer(text):
        if any(a <= m.start() < b for a, b in fedi_spans):
            continue
        name = m.group(1)
        if platform == "mastodon":
            full = next((h for h in links if h.split("@")[0].lower() == name.lower()), None)
            if full is None and "." in name:
                add("bluesky", name, m)  # a Bluesky handle written as text
            elif full is not None or instance:
                add("mastodon", full or f"{name}@{instance}", m)
        elif "." in name:
            add("bluesky", name, m)  # (on Mastodon too, when no mention link says otherwise)
        elif platform in ("twitter", "telegram", "tumblr", "e621"):
            add(platform, name, m)  # (e621: "@name" names an e621 user, platforms.md)
        elif platform == "bluesky":
            continue  # a Bluesky handle always has a dot
        else:
            add("twitter", name, m)  # "@name" off X usually means the X account
    out: dict[tuple[str, str], Mention] = {}
    previous_end = 0
    for start, end, target, raw, written in sorted(found):
        # the words that introduce this mention: after the previous one, in the same clause
        before = text[previous_end:start]
        previous_end = max(previous_end, end)
        try:
            handle = adapters.get(target).check_handle(raw)
        except (DraftError, KeyError):
            continue
        key = (target, handle.lower())
        if key not in out:
            out[key] = Mention(target, handle, written, _guess_role(before))
    return list(out.values())
