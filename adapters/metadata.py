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

pyexiv2 raises on every Exiv2 message of error level, also for parts Exiv2 only skips (a
camera's maker note it cannot parse); such a refusal is retried once with Exiv2's log muted,
and ``strip_location`` then has Pillow confirm that no location is left (else the whole EXIF
segment goes: ``metadata_segments``).
"""

from __future__ import annotations

import io
import logging
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from PIL import Image

from adapters import metadata_segments
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
_GPS_IFD_TAG = 0x8825


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

    def to_json(self) -> dict[str, Any]:
        """A JSON value to keep (a delivery's progress), read back by ``from_json``."""
        return {
            "creators": list(self.creators),
            "credit_line": self.credit_line,
            "copyright": self.copyright,
            "url": self.url,
            "title": self.title,
        }

    @classmethod
    def from_json(cls, value: Any) -> FileCredits:
        """The credits ``to_json`` wrote; ``ValueError`` when ``value`` is not that shape."""
        if not isinstance(value, Mapping):
            raise ValueError(f"file credits must be an object, not {type(value).__name__}")
        creators = value.get("creators", [])
        texts = {k: value.get(k, "") for k in ("credit_line", "copyright", "url", "title")}
        if not isinstance(creators, list) or not all(isinstance(c, str) for c in creators):
            raise ValueError("file credits: creators must be a list of strings")
        if not all(isinstance(v, str) for v in texts.values()):
            raise ValueError("file credits: credit_line, copyright, url and title are strings")
        return cls(creators=tuple(creators), **texts)


# Where the delivery engine keeps the credits an attempt embedded (``Delivery.progress``).
PROGRESS_KEY = "file_credits"


def kept_credits(progress: Mapping[str, Any]) -> FileCredits | None:
    """The credits an earlier attempt of the same delivery embedded, from its progress.

    Why: e621 (an MD5 duplicate answer) and Weasyl (a SHA-256 gallery search) make a retry
    safe only if it uploads the same bytes, so the credits in the file are fixed once per
    delivery, not re-read from an artwork the artist may have edited meanwhile. None when no
    attempt kept any, or what was kept cannot be read (logged; the caller makes new ones).
    """
    if PROGRESS_KEY not in progress:
        return None
    try:
        return FileCredits.from_json(progress[PROGRESS_KEY])
    except ValueError as exc:
        logger.warning("ignoring unreadable file credits in a delivery's progress: %s", exc)
        return None


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

    def write(image: Any) -> bytes:
        image.clear_xmp()
        image.clear_iptc()
        _remove(image, image.read_exif(), _GPS_EXIF, image.modify_exif)
        image.modify_raw_xmp(packet)
        if media_type == "image/jpeg":
            image.modify_iptc(iptc_fields(credits))
        return bytes(image.get_bytes())

    try:
        return _with_exiv2(data, write)
    except _EXIV2_ERRORS as exc:  # Exiv2's errors arrive as RuntimeError
        # pyexiv2 raises on any error-level message, e.g. a maker note Exiv2 only skips:
        # try once more with the messages muted; a real failure still raises
        logger.info("Exiv2 complained (%s); writing the credits leniently", str(exc).strip())
        try:
            return _with_exiv2(data, write, lenient=True)
        except _EXIV2_ERRORS as again:
            raise MetadataError(f"could not write the credits into the file: {again}") from again


def strip_location(data: bytes, media_type: str) -> bytes:
    """``data`` without the place it was made: the EXIF GPS block and XMP ``exif:GPS*``
    properties (where a photo of a drawing was taken is nobody's business).

    Exiv2 removes just those tags; only metadata changes. pyexiv2 turns every Exiv2 message
    of error level into an exception, even one about a part it merely skipped (a maker note
    it cannot parse), so a refusal is retried with those messages logged instead, and Pillow
    then confirms that no GPS block is left. When that cannot be confirmed, the whole EXIF
    segment goes (``metadata_segments.drop_exif``). ``MetadataError`` only when a location
    provably remains or the file's structure cannot be walked at all.
    """
    try:
        out = _with_exiv2(data, _strip, lenient=False)
        if _location_left(out, media_type) is not True:
            return out
        reason = "Exiv2 left a GPS block"
    except _EXIV2_ERRORS as exc:
        reason = str(exc).strip()
        logger.info("Exiv2 complained about a %s file (%s); retrying leniently", media_type, reason)
        try:
            out = _with_exiv2(data, _strip, lenient=True)
            if _location_left(out, media_type) is False:
                return out
        except _EXIV2_ERRORS as again:
            reason = str(again).strip()
    logger.info("removing the whole EXIF segment of a %s file: %s", media_type, reason)
    try:
        out = metadata_segments.drop_exif(data, media_type)
    except metadata_segments.SegmentError as exc:
        raise MetadataError(
            f"could not remove the location from the {media_type} file: {reason}; {exc}"
        ) from exc
    if _location_left(out, media_type) is True:
        raise MetadataError(f"the {media_type} file still carries a GPS location: {reason}")
    return out


_GPS_EXIF, _GPS_XMP = "Exif.GPSInfo.", "Xmp.exif.GPS"
_EXIV2_ERRORS = (RuntimeError, ValueError, OSError)
# pyexiv2's own default (it calls set_log_level(2) at import): warnings are logged, errors raise
_EXIV2_LOG_DEFAULT, _EXIV2_LOG_MUTE = 2, 4


def _strip(image: Any) -> bytes | None:
    """Remove the GPS tags from an open pyexiv2 image; None when there were none."""
    exif = _remove(image, image.read_exif(), _GPS_EXIF, image.modify_exif)
    xmp = _remove(image, image.read_xmp(), _GPS_XMP, image.modify_xmp)
    return bytes(image.get_bytes()) if exif or xmp else None


def _remove(image: Any, tags: Mapping[str, Any], prefix: str, modify: Any) -> bool:
    doomed = {key: None for key in tags if key.startswith(prefix)}
    if doomed:
        modify(doomed)
    return bool(doomed)


def _with_exiv2(data: bytes, edit: Any, *, lenient: bool = False) -> bytes:
    """``edit(image)``'s bytes (``data`` when it returns None) under the lock; ``lenient``
    mutes Exiv2's messages for the call, so only a real failure (an exception Exiv2 itself
    throws) raises. The log level is global, hence set and restored under the same lock."""
    import pyexiv2  # imported on first use: most processes never embed anything

    with _LOCK:
        if lenient:
            pyexiv2.set_log_level(_EXIV2_LOG_MUTE)
        try:
            with pyexiv2.ImageData(data) as image:
                out = edit(image)
        finally:
            if lenient:
                pyexiv2.set_log_level(_EXIV2_LOG_DEFAULT)
    return data if out is None else out


def _location_left(data: bytes, media_type: str) -> bool | None:
    """Whether Pillow, reading independently of Exiv2, finds a GPS block or an XMP location
    in ``data``; None when it cannot read the file's EXIF."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            packet = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
            if metadata_segments.xmp_has_location(packet):
                return True
            return bool(image.getexif().get_ifd(_GPS_IFD_TAG))
    except Exception as exc:  # Pillow reports damaged EXIF through many types
        logger.debug("Pillow cannot read the %s file's EXIF: %s", media_type, exc)
        return None
