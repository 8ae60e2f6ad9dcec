"""Uploaded images, stored content-addressed (sha256) on disk.

An upload is untrusted bytes. Before anything is kept, it is read with a hard size cap, its
format is recognised from its magic bytes (PNG, JPEG, GIF, WEBP only), its dimensions are checked
against a pixel budget (decompression bombs), and it is decoded in full so truncated or damaged
files are refused at upload time rather than when a platform rejects them at delivery. EXIF
orientation is applied once here so every platform shows the picture the right way up, and an
EXIF GPS block or XMP position is removed (metadata only; the image data is not re-encoded for
it; where Exiv2 cannot rewrite damaged EXIF, the whole EXIF segment goes instead).

Files live at ``root/<sha[:2]>/<sha>``; the same picture uploaded twice is stored once. Whatever
goes wrong, nothing is left behind: the bytes are staged in a temporary file inside ``root`` and
only renamed into place (atomically, ``os.replace``) once they are known good.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import tempfile
import typing
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

from adapters import metadata, metadata_segments

logger = logging.getLogger(__name__)

CHUNK_SIZE = 1024 * 1024
# Animated images decode every frame; their total decoded pixels may be at most this many times
# max_pixels, so a file of thousands of tiny frames cannot keep a worker busy for minutes.
ANIMATION_PIXEL_FACTOR = 4
JPEG_QUALITY = 95
WEBP_QUALITY = 95
TEMP_PREFIX = ".upload-"

_SHA256 = re.compile(r"[0-9a-f]{64}")
_ORIENTATION_TAG = 0x0112
_GPS_IFD_TAG = 0x8825

# Pillow format name -> media type, for the formats we accept.
MEDIA_TYPES: dict[str, str] = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "GIF": "image/gif",
    "WEBP": "image/webp",
}

# Suggested HTTP status per error code, so the API layer does not have to keep its own table.
_STATUS = {"too_large": 413, "unsupported_format": 415}


@dataclass(frozen=True)
class StoredImage:
    """What the store knows about a kept image; ``sha256`` is its address."""

    sha256: str
    media_type: str
    width: int
    height: int
    size: int

    @property
    def extension(self) -> str:
        """A file extension for downloads and platform uploads (``"png"``, ``"jpg"``, …)."""
        return self.media_type.removeprefix("image/").replace("jpeg", "jpg")


class MediaError(Exception):
    """An upload was refused; ``code`` is for machines, ``message`` is for the artist."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        """Suggested HTTP status: 413 too large, 415 unsupported format, 422 otherwise."""
        return _STATUS.get(self.code, 422)

    def __repr__(self) -> str:
        return f"MediaError(code={self.code!r}, message={self.message!r})"


class MediaStore:
    """Content-addressed image files under one root directory."""

    def __init__(
        self,
        root: Path,
        max_bytes: int = 50 * 1024 * 1024,
        max_pixels: int = 100_000_000,
    ) -> None:
        if max_bytes <= 0 or max_pixels <= 0:
            raise ValueError("max_bytes and max_pixels must be positive")
        # No filesystem access here: the app builds the store at start-up, directories come later.
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels

    def __repr__(self) -> str:
        return f"MediaStore(root={str(self.root)!r})"

    def path_for(self, sha256: str) -> Path:
        """Where an image lives; only a lowercase 64-hex digest is accepted (no traversal)."""
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            raise ValueError("not a sha256 hex digest")
        return self.root / sha256[:2] / sha256

    def read(self, sha256: str) -> bytes:
        """The stored bytes; FileNotFoundError if the image is not in the store."""
        return self.path_for(sha256).read_bytes()

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def delete(self, sha256: str) -> None:
        """Remove an image; deleting one that is not there is not an error."""
        self.path_for(sha256).unlink(missing_ok=True)

    def save(self, stream: typing.BinaryIO) -> StoredImage:
        """Validate an upload and keep it; raises MediaError and leaves nothing on refusal."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".tmp", dir=self.root)
        tmp_path = Path(tmp_name)
        try:
            with os.fdopen(fd, "w+b") as tmp:
                digest, size = self._receive(stream, tmp)
                tmp.seek(0)
                head = tmp.read(64)
                fmt = _sniff_format(head)
                with _open(tmp_path, fmt, self.max_pixels) as image:
                    width, height = self._decode(image, fmt)
                    rewritten = _apply_orientation(image, fmt, tmp)
                    located = _has_location(image)
                if located:
                    data, width, height = rewritten or (_read_all(tmp), width, height)
                    rewritten = (_without_location(data, fmt), width, height)
                if rewritten is not None:
                    data, width, height = rewritten
                    tmp.seek(0)
                    tmp.truncate()
                    tmp.write(data)
                    digest, size = hashlib.sha256(data).hexdigest(), len(data)
                tmp.flush()
                os.fsync(tmp.fileno())
            stored = StoredImage(digest, MEDIA_TYPES[fmt], width, height, size)
            final = self.path_for(digest)
            if final.is_file():
                logger.debug("image %s already stored", digest)
                tmp_path.unlink()
            else:
                final.parent.mkdir(exist_ok=True)
                os.replace(tmp_path, final)
                logger.info(
                    "stored image %s (%s, %dx%d, %d bytes)", digest, fmt, width, height, size
                )
            return stored
        except BaseException:
            tmp_path.unlink(missing_ok=True)
            raise

    def _receive(self, stream: typing.BinaryIO, out: typing.BinaryIO) -> tuple[str, int]:
        """Copy the stream to `out`, hashing as we go; stop one byte past the cap."""
        digest = hashlib.sha256()
        size = 0
        while True:
            chunk = stream.read(min(CHUNK_SIZE, self.max_bytes + 1 - size))
            if not chunk:
                break
            size += len(chunk)
            if size > self.max_bytes:
                raise MediaError(
                    "too_large", f"The image is larger than the {_human(self.max_bytes)} limit."
                )
            digest.update(chunk)
            out.write(chunk)
        if size == 0:
            raise MediaError("empty", "The upload is empty: no image data was received.")
        return digest.hexdigest(), size

    def _decode(self, image: Image.Image, fmt: str) -> tuple[int, int]:
        """Decode every frame (so damage anywhere is caught) within the pixel budget."""
        width, height = image.size
        if width * height > self.max_pixels:
            raise _too_many_pixels(width, height, self.max_pixels)
        budget = self.max_pixels * ANIMATION_PIXEL_FACTOR
        spent = 0
        frame = 0
        try:
            while True:
                spent += width * height
                if spent > budget:
                    raise MediaError(
                        "too_many_pixels",
                        "The animation has too many frames for its size to be processed.",
                    )
                image.load()
                frame += 1
                try:
                    image.seek(frame)
                except EOFError:
                    break
            if frame > 1:
                image.seek(0)
                image.load()
        except MediaError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels(width, height, self.max_pixels) from None
        except Exception as exc:
            # Pillow reports damage through many types (OSError, SyntaxError, ValueError, …).
            logger.debug("%s image failed to decode: %s", fmt, exc)
            raise MediaError(
                "corrupt_image",
                f"The {fmt} image is damaged or incomplete and cannot be decoded.",
            ) from None
        return width, height


def _human(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:g} {unit}"
    return f"{n} bytes"


def _too_many_pixels(width: int, height: int, max_pixels: int) -> MediaError:
    return MediaError(
        "too_many_pixels",
        f"The image is {width}x{height} pixels; at most {max_pixels:,} pixels are accepted.",
    )


def _sniff_format(head: bytes) -> str:
    """Recognise the format from magic bytes, so only the four accepted decoders ever run."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    other = _known_unsupported(head)
    if other is not None:
        raise MediaError(
            "unsupported_format",
            f"{other} images are not accepted; upload a PNG, JPEG, GIF or WEBP file.",
        )
    raise MediaError(
        "not_an_image",
        "The file is not an image; upload a PNG, JPEG, GIF or WEBP file.",
    )


def _known_unsupported(head: bytes) -> str | None:
    """Name image formats we recognise but refuse, to give a better message than 'not an image'."""
    bmp_header_sizes = (12, 16, 40, 52, 56, 64, 108, 124)
    if head[:2] == b"BM" and int.from_bytes(head[14:18], "little") in bmp_header_sizes:
        return "BMP"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"avif", b"avis"):
            return "AVIF"
        if brand in (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"):
            return "HEIC"
    if head.startswith((b"\xff\x0a", b"\x00\x00\x00\x0cJXL \r\n\x87\n")):
        return "JPEG XL"
    if head[:4] == b"\x00\x00\x01\x00":
        return "ICO"
    if head[:4] == b"8BPS":
        return "PSD"
    if head[:4] == b"qoif":
        return "QOI"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"<svg") or (
        text.startswith((b"<?xml", b"<!doctype svg")) and b"<svg" in head.lower()
    ):
        return "SVG"
    return None


def _open(path: Path, fmt: str, max_pixels: int) -> Image.Image:
    """Open with only the sniffed decoder; turn Pillow's open-time failures into MediaError."""
    try:
        return Image.open(path, formats=[fmt])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own guard (global MAX_IMAGE_PIXELS) fired first; ours is checked after open.
        raise MediaError(
            "too_many_pixels",
            f"The image has too many pixels; at most {max_pixels:,} are accepted.",
        ) from None
    except Exception as exc:
        logger.debug("%s image failed to open: %s", fmt, exc)
        raise MediaError(
            "corrupt_image", f"The {fmt} image is damaged or incomplete and cannot be read."
        ) from None


def _has_location(image: Image.Image) -> bool:
    """An EXIF GPS block or an XMP position; True too when Pillow cannot read the EXIF, so
    that ``metadata.strip_location`` looks (it returns a file without a location unchanged,
    and refuses only when a location provably remains)."""
    packet = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
    if metadata_segments.xmp_has_location(packet):
        return True
    try:
        return bool(image.getexif().get_ifd(_GPS_IFD_TAG))
    except Exception:  # EXIF Pillow cannot read: let Exiv2 look (_without_location)
        return True


def _read_all(tmp: typing.BinaryIO) -> bytes:
    tmp.seek(0)
    return tmp.read()


def _without_location(data: bytes, fmt: str) -> bytes:
    try:
        return metadata.strip_location(data, MEDIA_TYPES[fmt])
    except metadata.MetadataError as exc:
        logger.info("refusing an image whose location cannot be removed: %s", exc)
        raise MediaError(
            "corrupt_image",
            f"The {fmt} image carries a GPS location that could not be removed; its metadata "
            "may be damaged. Remove the location and upload it again.",
        ) from None


def _apply_orientation(
    image: Image.Image, fmt: str, original: typing.BinaryIO
) -> tuple[bytes, int, int] | None:
    """Rotate/flip per EXIF orientation and re-encode; None when the bytes can stay as they are.

    Animated images are left alone: Pillow would transpose and re-encode only their first frame.
    """
    try:
        orientation = image.getexif().get(_ORIENTATION_TAG, 1)
    except Exception as exc:  # a damaged EXIF block should not sink an otherwise good image
        logger.debug("ignoring unreadable EXIF data: %s", exc)
        return None
    if orientation not in range(2, 9) or getattr(image, "is_animated", False):
        return None
    try:
        transposed = ImageOps.exif_transpose(image)
        out = io.BytesIO()
        transposed.save(out, format=fmt, **_encoder_options(transposed, fmt, original))
    except Exception as exc:
        logger.debug("could not apply EXIF orientation %s: %s", orientation, exc)
        raise MediaError(
            "corrupt_image",
            f"The {fmt} image's orientation could not be applied; its data may be damaged.",
        ) from None
    width, height = transposed.size
    return out.getvalue(), width, height


def _encoder_options(image: Image.Image, fmt: str, original: typing.BinaryIO) -> dict[str, object]:
    """Keep what matters when re-encoding: colour profile, EXIF (minus orientation), quality."""
    options: dict[str, object] = {}
    for key in ("icc_profile", "exif", "dpi"):
        if image.info.get(key):
            options[key] = image.info[key]
    if fmt == "JPEG":
        options.update(quality=JPEG_QUALITY, subsampling=0, optimize=True)
    elif fmt == "WEBP":
        if _webp_is_lossless(original):
            options.update(lossless=True, quality=100)
        else:
            options.update(quality=WEBP_QUALITY, method=6)
    elif fmt == "PNG":
        options.update(optimize=True)
    return options


def _webp_is_lossless(original: typing.BinaryIO) -> bool:
    """A WEBP is lossless when its image chunk is VP8L rather than VP8 (lossy)."""
    offset = 12
    for _ in range(64):  # RIFF chunk walk; a real file reaches its image chunk quickly
        original.seek(offset)
        header = original.read(8)
        if len(header) < 8:
            return False
        fourcc, length = header[:4], int.from_bytes(header[4:], "little")
        if fourcc in (b"VP8L", b"VP8 "):
            return fourcc == b"VP8L"
        if fourcc == b"ANMF":  # animation frame: its image chunk sits after a 16-byte header
            offset += 8 + 16
            continue
        offset += 8 + length + (length & 1)
    return False
