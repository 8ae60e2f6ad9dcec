"""Fitting an image within a platform's ``ImageLimits``, for every adapter that uploads one.

The original is sent whenever it already fits (sites prefer originals, and some find duplicates
by their hash). Otherwise the image is re-encoded, and if need be downscaled, at the best quality
that fits: as PNG first when it has transparency and the site takes PNG, else lossy — WEBP when
the transparency should survive and the site takes WEBP, or JPEG (transparency flattened onto
white).

Where the platform keeps file metadata, the credits are written into the file last, after any
re-encode, without touching the image data (``adapters/metadata.py``); the byte limit holds for
the file with them.

An animation that does not fit is never sent as a still without the caller asking for it: by
default it is refused wherever the platform takes GIFs (``ImageLimits.formats``), since such a
platform shows animations and the artist would silently get a still; where it takes none
(Bluesky's and Telegram's photo uploads), its first frame is the only picture it can show.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import math
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

from PIL import Image, ImageOps

from adapters.base import ImageLimits
from adapters.errors import ContentRejected
from adapters.metadata import FileCredits, MetadataError, embed
from adapters.publishing import Media

logger = logging.getLogger(__name__)

QUALITY_FLOOR, QUALITY_CEILING = 50, 95
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp"}
PIL_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
UNREADABLE = (OSError, ValueError, Image.DecompressionBombError)

# How ``ImageLimits.max_pixels`` is read: the longest side, or width + height (Telegram).
# How ``max_pixels`` reads: the longest side, width + height, or width × height (the area).
PixelRule = Literal["longest_side", "side_sum", "area"]


class Fitted(NamedTuple):
    data: bytes
    media_type: str
    width: int
    height: int


def image_type(media: Media, site_name: str) -> str:
    """The media type of ``media``'s bytes as an image reader sees them ("" if it has none);
    ContentRejected naming ``site_name`` when the bytes are not an image."""
    try:
        with Image.open(io.BytesIO(media.data)) as probe:
            return Image.MIME.get(probe.format or "", "")
    except UNREADABLE as exc:
        raise ContentRejected(f"{media.filename}: not an image {site_name} takes ({exc})") from exc


def fit_image(
    media: Media,
    limits: ImageLimits,
    site_name: str,
    *,
    pixels: PixelRule = "longest_side",
    originals_within_pixels: bool = True,
    max_ratio: float | None = None,
    refuse_animation: bool | None = None,
    transparent_webp: bool = True,
) -> Fitted:
    """``media`` within ``limits`` (the rules are ``_fit``'s), with ``media.credits`` embedded
    in the file when the platform keeps file metadata (``limits.keeps_metadata``).

    ``limits.max_bytes`` holds for the file *with* its metadata. Embedding never re-encodes:
    an original that fits only without the credits is sent without them (its pixels stay the
    artist's); an image re-encoded anyway is fitted again into what the metadata leaves.
    A file the credits cannot be written into is sent without them, never refused for it.
    ``refuse_animation`` None: refuse where the platform takes GIFs (see the module doc).
    """
    if refuse_animation is None:
        refuse_animation = "image/gif" in limits.formats
    rules = {
        "pixels": pixels,
        "originals_within_pixels": originals_within_pixels,
        "max_ratio": max_ratio,
        "refuse_animation": refuse_animation,
        "transparent_webp": transparent_webp,
    }
    fitted = _fit(media, limits, site_name, **rules)
    credits = media.credits
    if not limits.keeps_metadata or credits is None or credits.empty:
        return fitted
    embedded = _embedded(fitted, credits, media.filename)
    if embedded is None or _fits(embedded, limits):
        return embedded or fitted
    if fitted.data is media.data:
        logger.warning(
            "%s: fits %s only without embedded credits; sent as it is", media.filename, site_name
        )
        return fitted
    room = (limits.max_bytes or 0) - (len(embedded.data) - len(fitted.data))
    if room > 0:
        try:
            refitted = _fit(media, dataclasses.replace(limits, max_bytes=room), site_name, **rules)
        except ContentRejected:  # fits only without the credits
            refitted = None
        embedded = None if refitted is None else _embedded(refitted, credits, media.filename)
        if embedded is not None and _fits(embedded, limits):
            return embedded
    logger.warning("%s: no room for embedded credits on %s", media.filename, site_name)
    return fitted


def _embedded(fitted: Fitted, credits: FileCredits, filename: str) -> Fitted | None:
    try:
        return fitted._replace(data=embed(fitted.data, fitted.media_type, credits))
    except MetadataError as exc:
        logger.warning("%s: sent without embedded credits: %s", filename, exc)
        return None


def _fits(fitted: Fitted, limits: ImageLimits) -> bool:
    return limits.max_bytes is None or len(fitted.data) <= limits.max_bytes


def _fit(
    media: Media,
    limits: ImageLimits,
    site_name: str,
    *,
    pixels: PixelRule = "longest_side",
    originals_within_pixels: bool = True,
    max_ratio: float | None = None,
    refuse_animation: bool = False,
    transparent_webp: bool = True,
) -> Fitted:
    """``media`` within ``limits`` (bytes, ``formats``, ``max_pixels`` read by ``pixels``).

    - ``originals_within_pixels``: the pixel limit is the site's, so an original over it is
      downscaled even when its bytes and type fit — in its own type first when the site takes
      it (lossless stays lossless). False: ``max_pixels`` only caps a re-encode that the bytes
      or the type made necessary (Bluesky and e621 keep such originals).
    - ``max_ratio``: refuse images longer than this many times their width (or the reverse).
    - ``refuse_animation``: an animation that does not fit is refused rather than sent as its
      first frame.
    - ``transparent_webp``: a lossy re-encode of a transparent image is WEBP (keeping the
      transparency) when the site takes WEBP; False flattens it to JPEG.

    Messages name ``site_name``."""
    try:
        with Image.open(io.BytesIO(media.data)) as probe:
            width, height = probe.size
            if probe.getexif().get(0x0112, 1) in (5, 6, 7, 8):  # shown rotated by 90 degrees
                width, height = height, width
            actual = Image.MIME.get(probe.format or "", "")
            animated = bool(getattr(probe, "is_animated", False))
    except UNREADABLE as exc:
        raise ContentRejected(f"{media.filename}: not an image {site_name} takes ({exc})") from exc
    if max_ratio and max(width, height) > max_ratio * min(width, height):
        raise ContentRejected(
            f"{media.filename}: {site_name} takes images at most {max_ratio:g} times as long as "
            f"they are wide ({width}x{height})"
        )
    max_bytes = limits.max_bytes or len(media.data)
    scale = _pixel_scale(width, height, limits.max_pixels, pixels)
    fits_pixels = scale >= 1.0 or not originals_within_pixels
    if len(media.data) <= max_bytes and actual in limits.formats and fits_pixels:
        return Fitted(media.data, actual, width, height)
    if animated and refuse_animation:
        raise ContentRejected(
            f"{media.filename}: an animation larger than {site_name}'s limit (or of a type it "
            "does not take); it is not sent as a still: make it smaller or upload a still image"
        )

    # A side sum or an area must not be exceeded by rounding up; a longest side is hit exactly.
    rounding: Callable[[float], int] = math.floor if pixels != "longest_side" else round
    with Image.open(io.BytesIO(media.data)) as source:
        source.seek(0)
        img = ImageOps.exif_transpose(source)
        img.load()
    alpha = img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
    img = img.convert("RGBA" if alpha else "RGB")
    candidate = _scaled(img, scale, rounding)
    if not fits_pixels and actual in limits.formats and actual in ("image/png", "image/jpeg"):
        # too large in pixels only: keep the type (lossless stays lossless)
        data = _encode(candidate, PIL_FORMATS[actual], QUALITY_CEILING)
        if len(data) <= max_bytes:
            return Fitted(data, actual, *candidate.size)
    if alpha and "image/png" in limits.formats:  # lossless first: line art often fits as PNG
        data = _encode(candidate, "PNG", None)
        if len(data) <= max_bytes:
            return Fitted(data, "image/png", *candidate.size)
    if alpha and transparent_webp and "image/webp" in limits.formats:
        fmt, media_type = "WEBP", "image/webp"
    else:
        fmt, media_type = "JPEG", "image/jpeg"
        if alpha:
            flat = Image.new("RGB", img.size, "white")
            flat.paste(img, mask=img.getchannel("A"))
            img = flat
    if media_type not in limits.formats:
        raise ContentRejected(f"{media.filename}: {site_name} does not take {media_type}")
    while True:
        candidate = _scaled(img, scale, rounding)
        best = _best_quality(candidate, fmt, max_bytes)
        if best is not None:
            return Fitted(best, media_type, *candidate.size)
        if min(candidate.size) <= 16:
            raise ContentRejected(
                f"{media.filename}: cannot be made smaller than {max_bytes} bytes"
            )
        smallest = len(_encode(candidate, fmt, QUALITY_FLOOR))
        scale *= min(0.9, (max_bytes / smallest) ** 0.5 * 0.95)


def fit_media(media: Media, limits: ImageLimits, site_name: str, **rules: Any) -> Media:
    """``fit_image`` as a ``Media``: the same object (its type as read) when the original fits,
    else the new bytes, type and size under the old name with the new type's extension."""
    fitted = fit_image(media, limits, site_name, **rules)
    if fitted.data is media.data:
        return dataclasses.replace(media, media_type=fitted.media_type)
    stem = media.filename.rsplit(".", 1)[0] or "image"
    return dataclasses.replace(
        media,
        data=fitted.data,
        media_type=fitted.media_type,
        filename=stem + EXTENSIONS.get(fitted.media_type, ""),
        width=fitted.width,
        height=fitted.height,
    )


def _pixel_scale(width: int, height: int, max_pixels: int | None, rule: PixelRule) -> float:
    if not max_pixels:
        return 1.0
    if rule == "area":
        return min(1.0, math.sqrt(max_pixels / (width * height)))
    size = width + height if rule == "side_sum" else max(width, height)
    return min(1.0, max_pixels / size)


def _scaled(img: Image.Image, scale: float, rounding: Callable[[float], int]) -> Image.Image:
    if scale >= 1.0:
        return img
    size = (max(1, rounding(img.width * scale)), max(1, rounding(img.height * scale)))
    return img.resize(size, Image.Resampling.LANCZOS)


def _encode(img: Image.Image, fmt: str, quality: int | None) -> bytes:
    buffer = io.BytesIO()
    if fmt == "PNG":
        img.save(buffer, "PNG", optimize=True)
    elif fmt == "JPEG":
        img.save(buffer, "JPEG", quality=quality, optimize=True, progressive=True)
    else:
        img.save(buffer, fmt, quality=quality)
    return buffer.getvalue()


def _best_quality(img: Image.Image, fmt: str, max_bytes: int) -> bytes | None:
    """The highest quality in [QUALITY_FLOOR, QUALITY_CEILING] whose encoding fits (bisection)."""
    lo, hi, best = QUALITY_FLOOR, QUALITY_CEILING, None
    while lo <= hi:
        quality = (lo + hi) // 2
        data = _encode(img, fmt, quality)
        if len(data) <= max_bytes:
            best, lo = data, quality + 1
        else:
            hi = quality - 1
    return best
