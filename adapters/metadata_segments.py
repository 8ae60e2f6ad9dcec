"""Dropping whole metadata segments from JPEG, PNG and WebP files, without an image library.

The last resort of ``adapters.metadata.strip_location``: when Exiv2 cannot rewrite a file's
EXIF (a damaged maker note, an IFD it refuses), the location must still go. Removing the
entire EXIF segment (JPEG APP1 ``Exif``, PNG ``eXIf``, WebP ``EXIF`` chunk and its VP8X flag)
and an XMP packet that names a place is a few lines of container walking, never touches the
compressed image data, and cannot leave a GPS tag behind. The rest of the EXIF (camera, date)
is lost with it; for a file whose EXIF cannot be parsed that is the price of certainty.
"""

from __future__ import annotations

import logging
import re
import struct
from collections.abc import Callable

logger = logging.getLogger(__name__)

# An XMP property that says where: exif:GPSLatitude, GPSLongitude, GPSAltitude, GPSDest…
XMP_LOCATION = re.compile(rb"GPS(?:Dest)?(?:Latitude|Longitude|Altitude|Coordinates)")
JPEG_EXIF = b"Exif\x00\x00"
JPEG_XMP = b"http://ns.adobe.com/xap/1.0/\x00"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# PNG text chunks where ImageMagick and others keep EXIF as hex ("Raw profile type exif").
PNG_RAW_EXIF = (b"raw profile type exif", b"raw profile type app1")
PNG_XMP = b"XML:com.adobe.xmp"
VP8X_EXIF_FLAG, VP8X_XMP_FLAG = 0x08, 0x04


class SegmentError(ValueError):
    """The file's container structure is broken; nothing could be removed safely."""


def xmp_has_location(packet: bytes | str | None) -> bool:
    """Whether an XMP packet carries a GPS position (any namespace prefix)."""
    if not packet:
        return False
    raw = packet.encode("utf-8", "replace") if isinstance(packet, str) else packet
    return XMP_LOCATION.search(raw) is not None


def drop_exif(data: bytes, media_type: str) -> bytes:
    """``data`` without its EXIF segment(s), and without an XMP packet that names a place.

    Only whole metadata segments are removed; everything else is copied byte for byte.
    ``SegmentError`` when the type is not JPEG/PNG/WebP or its structure cannot be walked.
    """
    walkers: dict[str, Callable[[bytes], bytes]] = {
        "image/jpeg": _jpeg,
        "image/png": _png,
        "image/webp": _webp,
    }
    walker = walkers.get(media_type)
    if walker is None:
        raise SegmentError(f"cannot remove metadata segments from {media_type or 'this file'}")
    try:
        return walker(data)
    except (IndexError, struct.error) as exc:
        raise SegmentError(f"the {media_type} file's structure is broken: {exc}") from exc


def _jpeg(data: bytes) -> bytes:
    if not data.startswith(b"\xff\xd8"):
        raise SegmentError("not a JPEG file")
    out, i = bytearray(data[:2]), 2
    while i < len(data):
        if data[i] != 0xFF:
            raise SegmentError(f"no JPEG marker at byte {i}")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            out.append(0xFF)
            i += 1
            continue
        if marker == 0xDA or marker == 0xD9:  # start of scan / end of image: copy the rest
            out += data[i:]
            return bytes(out)
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            out += data[i : i + 2]
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if length < 2 or i + 2 + length > len(data):
            raise SegmentError(f"a JPEG segment at byte {i} runs past the end")
        segment = data[i : i + 2 + length]
        body = segment[4:]
        drop = marker == 0xE1 and (
            body.startswith(JPEG_EXIF) or (body.startswith(JPEG_XMP) and xmp_has_location(body))
        )
        if not drop:
            out += segment
        i += 2 + length
    raise SegmentError("the JPEG file has no image data")


def _png(data: bytes) -> bytes:
    if not data.startswith(PNG_SIGNATURE):
        raise SegmentError("not a PNG file")
    out, i = bytearray(PNG_SIGNATURE), len(PNG_SIGNATURE)
    while i < len(data):
        (length,) = struct.unpack(">I", data[i : i + 4])
        kind = data[i + 4 : i + 8]
        end = i + 12 + length
        if end > len(data):
            raise SegmentError(f"a PNG chunk at byte {i} runs past the end")
        body = data[i + 8 : i + 8 + length]
        keyword = body.split(b"\x00", 1)[0]
        drop = (
            kind == b"eXIf"
            or (kind in (b"tEXt", b"zTXt", b"iTXt") and keyword.lower() in PNG_RAW_EXIF)
            or (kind == b"iTXt" and keyword == PNG_XMP and xmp_has_location(body))
        )
        if not drop:
            out += data[i:end]
        i = end
        if kind == b"IEND":
            out += data[i:]
            return bytes(out)
    raise SegmentError("the PNG file has no IEND chunk")


def _webp(data: bytes) -> bytes:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise SegmentError("not a WebP file")
    chunks, i, flags_off = bytearray(), 12, None
    (riff_size,) = struct.unpack("<I", data[4:8])
    end_of_riff = min(len(data), 8 + riff_size)
    dropped = set()
    while i + 8 <= end_of_riff:
        kind = data[i : i + 4]
        (length,) = struct.unpack("<I", data[i + 4 : i + 8])
        end = i + 8 + length + (length & 1)
        if i + 8 + length > end_of_riff:
            raise SegmentError(f"a WebP chunk at byte {i} runs past the end")
        body = data[i + 8 : i + 8 + length]
        if kind == b"EXIF" or (kind == b"XMP " and xmp_has_location(body)):
            dropped.add(kind)
        else:
            if kind == b"VP8X":
                flags_off = len(chunks) + 8
            chunks += data[i:end]
        i = end
    if flags_off is not None:
        if b"EXIF" in dropped:
            chunks[flags_off] &= ~VP8X_EXIF_FLAG & 0xFF
        if b"XMP " in dropped:
            chunks[flags_off] &= ~VP8X_XMP_FLAG & 0xFF
    body = b"WEBP" + bytes(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body + data[end_of_riff:]
