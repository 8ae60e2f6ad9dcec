"""The shared image fitter (adapters/images.py) and HTTP helpers (adapters/http.py)."""

from __future__ import annotations

import ast
import io
from pathlib import Path

import pytest
import requests
import urllib3
from PIL import Image

from adapters.base import ImageLimits
from adapters.errors import ContentRejected
from adapters.http import is_loopback, may_have_reached, retry_after, seconds
from adapters.images import fit_image, fit_media
from adapters.publishing import Media
from adapters.registry import NOT_PLATFORMS, platform_ids


def encoded(img: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **options)
    return buffer.getvalue()


def noise(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    img = Image.effect_noise(size, 80).convert("RGB")
    if mode == "RGBA":
        img.putalpha(Image.linear_gradient("L").resize(size))
    return img


def media(data: bytes, media_type: str = "image/png", name: str = "art.png") -> Media:
    with Image.open(io.BytesIO(data)) as img:
        return Media(data, media_type, name, *img.size, "alt")


ANY = ("image/jpeg", "image/png", "image/gif", "image/webp")


def test_an_original_that_fits_is_kept_as_it_is():
    original = media(encoded(Image.new("RGB", (40, 30), "red"), "PNG"), "image/jpeg")
    fitted = fit_image(original, ImageLimits(max_bytes=10_000), "Site")
    assert fitted.data is original.data
    assert (fitted.media_type, fitted.width, fitted.height) == ("image/png", 40, 30)  # as read
    assert fit_media(original, ImageLimits(max_bytes=10_000), "Site") == Media(
        original.data, "image/png", "art.png", 40, 30, "alt"
    )


def test_too_many_bytes_is_the_best_jpeg_quality_that_fits_then_a_downscale():
    original = media(encoded(noise((300, 200)), "PNG"))
    fitted = fit_media(original, ImageLimits(max_bytes=20_000), "Site")
    assert fitted.media_type == "image/jpeg" and fitted.filename == "art.jpg"
    assert len(fitted.data) <= 20_000 and fitted.alt_text == "alt"
    with Image.open(io.BytesIO(fitted.data)) as sent:
        assert sent.format == "JPEG" and sent.size == (fitted.width, fitted.height)
        assert abs(sent.width / sent.height - 1.5) < 0.02


def test_an_unsupported_type_is_converted():
    original = media(encoded(Image.new("RGB", (30, 20), "blue"), "GIF"), "image/gif", "a.gif")
    fitted = fit_image(
        original, ImageLimits(max_bytes=100_000, formats=("image/jpeg", "image/png")), "Site"
    )
    assert fitted.media_type == "image/jpeg"


def test_transparency_is_png_then_webp_or_flattened_jpeg():
    transparent = media(encoded(noise((200, 150), "RGBA"), "PNG"))
    png_fits = fit_image(transparent, ImageLimits(max_bytes=len(transparent.data) * 2), "S")
    assert png_fits.data is transparent.data
    small = len(transparent.data) // 4
    webp = fit_image(transparent, ImageLimits(max_bytes=small, formats=ANY), "Site")
    assert webp.media_type == "image/webp" and len(webp.data) <= small
    with Image.open(io.BytesIO(webp.data)) as sent:
        assert sent.mode == "RGBA"
    flat = fit_image(
        transparent, ImageLimits(max_bytes=small, formats=ANY), "Site", transparent_webp=False
    )
    assert flat.media_type == "image/jpeg"
    no_webp = fit_image(transparent, ImageLimits(max_bytes=small), "Site")  # formats: no WEBP
    assert no_webp.media_type == "image/jpeg"


def test_an_animation_that_does_not_fit_is_refused_or_sent_as_its_first_frame():
    frames = [Image.new("RGB", (60, 40), c) for c in ("red", "green", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    animation = media(buffer.getvalue(), "image/gif", "anim.gif")
    limits = ImageLimits(max_bytes=100_000, formats=("image/jpeg", "image/png"))  # no GIF
    with pytest.raises(ContentRejected, match="an animation larger than Weasyl's limit"):
        fit_image(animation, limits, "Weasyl", refuse_animation=True)
    assert fit_image(animation, limits, "Discord").media_type == "image/jpeg"
    assert fit_image(animation, ImageLimits(), "Weasyl", refuse_animation=True).data == (
        animation.data
    )


def test_the_pixel_limit_as_longest_side_or_side_sum():
    big = media(encoded(Image.new("RGB", (900, 600), "red"), "PNG"))
    longest = fit_image(big, ImageLimits(max_pixels=300), "Site")
    assert (longest.media_type, longest.width, longest.height) == ("image/png", 300, 200)
    kept = fit_image(big, ImageLimits(max_pixels=300), "Site", originals_within_pixels=False)
    assert kept.data is big.data
    summed = fit_image(big, ImageLimits(max_pixels=1000), "Telegram", pixels="side_sum")
    assert summed.media_type == "image/png" and summed.width + summed.height <= 1000


def test_the_ratio_limit_and_the_messages_name_the_site():
    strip = media(encoded(Image.new("RGB", (2100, 100), "red"), "PNG"))
    with pytest.raises(ContentRejected, match="Telegram takes images at most 20 times"):
        fit_image(strip, ImageLimits(), "Telegram", max_ratio=20)
    broken = Media(b"not an image", "image/png", "x.png", 1, 1)
    for site in ("Bluesky", "X", "Tumblr", "FurAffinity"):
        with pytest.raises(ContentRejected, match=f"not an image {site} takes"):
            fit_image(broken, ImageLimits(), site)
    noisy = media(encoded(noise((64, 64)), "PNG"))
    with pytest.raises(ContentRejected, match="cannot be made smaller than 100 bytes"):
        fit_image(noisy, ImageLimits(max_bytes=100), "Site")
    with pytest.raises(ContentRejected, match="PngOnly does not take image/jpeg"):
        fit_image(noisy, ImageLimits(max_bytes=1000, formats=("image/png",)), "PngOnly")


# -- adapters/http.py -----------------------------------------------------------------------------


def test_may_have_reached():
    refused = urllib3.exceptions.NewConnectionError(None, "refused")
    not_sent = [
        requests.exceptions.ConnectTimeout(),
        requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/", refused)),
        requests.exceptions.InvalidURL(),
        requests.exceptions.MissingSchema(),
    ]
    sent = [
        requests.exceptions.ReadTimeout(),
        requests.exceptions.ConnectionError(urllib3.exceptions.ProtocolError("reset")),
        requests.exceptions.ChunkedEncodingError(),
        RuntimeError("no requests cause"),
    ]
    assert [may_have_reached(e) for e in not_sent] == [False] * len(not_sent)
    assert [may_have_reached(e) for e in sent] == [True] * len(sent)
    wrapped = RuntimeError("library error")  # a client library re-raising a requests error
    wrapped.__cause__ = requests.exceptions.ConnectTimeout()
    assert may_have_reached(wrapped) is False


def test_seconds_and_retry_after():
    assert [seconds(v) for v in ("12", "1.5", 3, "", None, "soon", "-1", "inf")] == [
        12.0,
        1.5,
        3.0,
        None,
        None,
        None,
        None,
        None,
    ]
    headers = requests.structures.CaseInsensitiveDict({"retry-after": "30"})
    assert retry_after(headers) == 30.0
    assert retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) is None


def test_is_loopback():
    assert [
        is_loopback(h) for h in ("localhost", "127.0.0.1", "::1", "example.com", "10.0.0.1")
    ] == [
        True,
        True,
        True,
        False,
        False,
    ]


# -- the layering ---------------------------------------------------------------------------------


def test_no_platform_module_imports_another():
    folder = Path(__file__).resolve().parents[2] / "adapters"
    platforms = {p.stem for p in folder.glob("*.py")} - NOT_PLATFORMS - {"__init__"}
    assert len(platforms) >= len(platform_ids())  # every platform module is looked at
    for name in sorted(platforms):
        tree = ast.parse((folder / f"{name}.py").read_text())
        imported = {
            node.module.split(".")[1]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("adapters.")
        }
        assert not imported & (platforms - {name}), f"adapters.{name} imports {imported}"
