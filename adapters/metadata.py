"""Credits embedded in the uploaded image file (XMP, and IPTC IIM in JPEG).

A picture travels without its post: saved, re-posted, dragged into another app. On platforms
that keep the file as uploaded (``ImageLimits.keeps_metadata``), the file itself then still says
who made it: ``dc:creator``, ``photoshop:Credit`` (the credit line), ``dc:rights`` (the
copyright notice), ``xmpRights:WebStatement`` (the canonical attribution page) and, for JPEG,
the IPTC IIM By-line / Credit / Copyright Notice that older tools read.

Why pyexiv2: it wraps Exiv2 (maintained, the reference metadata library behind many photo
tools), its wheels bundle Exiv2 so ``pip install`` needs no system package, it works on bytes in
memory, and it rewrites only the metadata segments of JPEG, PNG and WebP: the compressed image
data is copied, never decoded or re-encoded, so the pixels stay byte for byte the same. Pillow
cannot do that (it writes metadata only while encoding). pyexiv2 is GPL-3.0, which may be
combined with Creditline's AGPL-3.0-or-later.

The XMP packet is built here with ``xml.etree`` (which escapes every value) from text that has
been cleaned of characters XML cannot carry, so a name like ``</rdf:li><x:evil/>`` stays text.
Whatever was in the file's XMP, IPTC and EXIF GPS block before is removed: a file that is kept
as uploaded must not carry where it was drawn or an editor's history along with the credits.
"""

from __future__ import annotations

import logging
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adapters.draft import Artwork, Person, PreviewRequest, validate
from adapters.text.credits import ROLE_ORDER

logger = logging.getLogger(__name__)

# Types Exiv2 can write metadata into without touching the image data (GIF is read-only there).
EMBEDDABLE = ("image/jpeg", "image/png", "image/webp")
# One JPEG APP1 segment holds at most 65,533 bytes; the XMP header takes 29 and Exiv2 pads.
MAX_PACKET_BYTES = 60_000

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "photoshop": "http://ns.adobe.com/photoshop/1.0/",
    "xmpRights": "http://ns.adobe.com/xap/1.0/rights/",
    "Iptc4xmpCore": "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/",
}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
for _prefix, _uri in NS.items():  # the conventional prefixes, which XMP readers expect
    ET.register_namespace(_prefix, _uri)

# Who made the image (dc:creator / By-line) and who holds its copyright.
CREATOR_ROLES = ("artist", "co_artist", "colorist")
COPYRIGHT_ROLES = ("artist", "co_artist")
# The credit line's wording per role (character owners: "Character: Trisk (Owner)").
LINE_LABELS = {
    "artist": "Art: {}",
    "co_artist": "Co-artist: {}",
    "colorist": "Colors: {}",
    "base_by": "Base: {}",
    "commissioner": "Commissioned by {}",
    "gift_for": "Gift for {}",
    "trade_with": "Art trade with {}",
    "other": "Thanks to {}",
}
SEPARATOR = " · "

# Characters XML 1.0 cannot carry at all (controls, surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Exiv2's XMP toolkit is thread-safe only when given a lock (XmpParser::initialize); a worker
# posts from several threads, and embedding takes milliseconds, so one lock for all.
_LOCK = threading.Lock()


class MetadataError(Exception):
    """The credits could not be embedded; the caller sends the file without them."""


@dataclass(frozen=True)
class FileCredits:
    """What goes into the file: plain text, already one line per value."""

    creators: tuple[str, ...]
    credit_line: str
    copyright: str
    url: str = ""
    title: str = ""

    def __post_init__(self) -> None:
        for name in ("credit_line", "copyright", "url", "title"):
            object.__setattr__(self, name, clean(getattr(self, name)))
        object.__setattr__(self, "creators", tuple(c for c in map(clean, self.creators) if c))

    @property
    def empty(self) -> bool:
        return not (self.creators or self.credit_line or self.copyright or self.url)


def clean(text: str) -> str:
    """One line of text XML can carry: characters it cannot hold dropped, whitespace runs one
    space (a newline typed in a name must not split a credit, as in the rendered post)."""
    return " ".join(_NOT_XML.sub("", text).split())


def file_credits(draft: Artwork, people: Mapping[str, Person], year: int) -> FileCredits:
    """The file credits of a draft: creators, credit line, "© year names", canonical URL."""
    names = {key: clean(person.name) for key, person in people.items()}

    def of(roles: tuple[str, ...]) -> list[str]:  # by role, then in the order credited
        keys = [c.person for role in roles for c in draft.credits if c.role == role]
        return list(dict.fromkeys(names.get(k, k) for k in keys))

    parts = []
    for role in ROLE_ORDER:  # the credits block's order
        if role != "character_owner":
            if who := of((role,)):
                parts.append(LINE_LABELS[role].format(", ".join(who)))
            continue
        owned = [c for c in draft.credits if c.role == role]
        for key in dict.fromkeys(c.person for c in owned):
            owner = names.get(key, key)
            chars = [clean(c.character) for c in owned if c.person == key and c.character]
            chars = list(dict.fromkeys(chars))
            if not chars:
                parts.append(f"Characters of {owner}")
            else:
                label = "Character" if len(chars) == 1 else "Characters"
                parts.append(f"{label}: {', '.join(chars)} ({owner})")
    holders = of(COPYRIGHT_ROLES) or of(CREATOR_ROLES)
    return FileCredits(
        creators=tuple(of(CREATOR_ROLES)),
        credit_line=SEPARATOR.join(parts),
        copyright=f"© {year} {', '.join(holders)}" if holders else "",
        url=draft.canonical_url or "",
        title=draft.title,
    )


def request_credits(request: Mapping[str, Any], year: int) -> FileCredits:
    """``file_credits`` of a preview request (``{"artwork": …, "people": …}``), validated the
    way the preview validates it; ``InvalidDraft`` when it is malformed."""
    parsed: PreviewRequest = validate(PreviewRequest, dict(request))
    return file_credits(parsed.artwork, parsed.people, year)


def xmp_packet(credits: FileCredits) -> str:
    """The XMP packet (RDF/XML) for ``credits``; every value is escaped by the serializer."""
    meta = ET.Element(f"{{{NS['x']}}}xmpmeta")
    rdf = ET.SubElement(meta, f"{{{NS['rdf']}}}RDF")
    desc = ET.SubElement(rdf, f"{{{NS['rdf']}}}Description", {f"{{{NS['rdf']}}}about": ""})

    def prop(ns: str, name: str) -> ET.Element:
        return ET.SubElement(desc, f"{{{NS[ns]}}}{name}")

    def array(ns: str, name: str, kind: str, items: list[str], lang: bool = False) -> None:
        container = ET.SubElement(prop(ns, name), f"{{{NS['rdf']}}}{kind}")
        for item in items:
            li = ET.SubElement(
                container, f"{{{NS['rdf']}}}li", {XML_LANG: "x-default"} if lang else {}
            )
            li.text = item

    if credits.creators:
        array("dc", "creator", "Seq", list(credits.creators))
    if credits.title:
        array("dc", "title", "Alt", [credits.title], lang=True)
    if credits.copyright:
        array("dc", "rights", "Alt", [credits.copyright], lang=True)
        prop("xmpRights", "Marked").text = "True"
    if credits.credit_line:
        prop("photoshop", "Credit").text = credits.credit_line
    if credits.url:
        prop("xmpRights", "WebStatement").text = credits.url
        # IPTC Core: the creator's contact "web URL"; the canonical page links every profile.
        contact = prop("Iptc4xmpCore", "CreatorContactInfo")
        contact.set(f"{{{NS['rdf']}}}parseType", "Resource")
        ET.SubElement(contact, f"{{{NS['Iptc4xmpCore']}}}CiUrlWork").text = credits.url
    body = ET.tostring(meta, encoding="unicode")
    return f'<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>{body}<?xpacket end="w"?>'


def iptc_fields(credits: FileCredits) -> dict[str, str | list[str]]:
    """IPTC IIM datasets (JPEG): By-line, Credit, Copyright Notice, Object Name, Source.

    IIM has no URL field; the canonical URL goes in Source ("original owner of the content"
    in the standard, where agencies put a name or address). IIM's short length limits (32
    bytes for By-line and Credit) are not applied: a cut credit is worse, and Exiv2 and
    ExifTool read longer values; the XMP carries the same values in full.
    """
    fields: dict[str, str | list[str]] = {"Iptc.Envelope.CharacterSet": "\x1b%G"}  # UTF-8
    if credits.creators:
        fields["Iptc.Application2.Byline"] = list(credits.creators)
    if credits.credit_line:
        fields["Iptc.Application2.Credit"] = credits.credit_line
    if credits.copyright:
        fields["Iptc.Application2.Copyright"] = credits.copyright
    if credits.title:
        fields["Iptc.Application2.ObjectName"] = credits.title
    if credits.url:
        fields["Iptc.Application2.Source"] = credits.url
    return fields


def embed(data: bytes, media_type: str, credits: FileCredits) -> bytes:
    """``data`` with ``credits`` as its only XMP (and IPTC, for JPEG) and no EXIF GPS block.

    Only metadata segments change; the compressed image data is copied as it is. The same
    input gives the same bytes (no timestamps), so a retry uploads an identical file.
    Raises ``MetadataError`` when the type cannot carry metadata or Exiv2 refuses the file.
    """
    if media_type not in EMBEDDABLE:
        raise MetadataError(f"{media_type or 'this file type'} cannot carry embedded credits")
    packet = xmp_packet(credits)
    if len(packet.encode()) > MAX_PACKET_BYTES:
        raise MetadataError(f"the credits take {len(packet.encode())} bytes of XMP; too many")
    import pyexiv2  # imported on first use: most processes never embed anything

    try:
        with _LOCK, pyexiv2.ImageData(data) as image:
            image.clear_xmp()
            image.clear_iptc()
            gps = {key: None for key in image.read_exif() if key.startswith("Exif.GPSInfo.")}
            if gps:
                image.modify_exif(gps)
            image.modify_raw_xmp(packet)
            if media_type == "image/jpeg":
                image.modify_iptc(iptc_fields(credits))
            return image.get_bytes()
    except (RuntimeError, ValueError, OSError) as exc:  # Exiv2's errors arrive as RuntimeError
        raise MetadataError(f"could not write the credits into the file: {exc}") from exc


def strip_location(data: bytes, media_type: str) -> bytes:
    """``data`` without its EXIF GPS block (where a photo of a drawing was taken is nobody's
    business); only that metadata changes. Raises ``MetadataError`` when Exiv2 refuses."""
    import pyexiv2

    try:
        with _LOCK, pyexiv2.ImageData(data) as image:
            gps = {key: None for key in image.read_exif() if key.startswith("Exif.GPSInfo.")}
            if not gps:
                return data
            image.modify_exif(gps)
            return image.get_bytes()
    except (RuntimeError, ValueError, OSError) as exc:
        raise MetadataError(
            f"could not remove the location from the {media_type} file: {exc}"
        ) from exc
