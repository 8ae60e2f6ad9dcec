"""The repost transforms of the benchmark (issue 8), each a function PIL RGBA → PIL image."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps


def _flat(img: Image.Image) -> Image.Image:
    """What a site shows: the artwork composited on white (sites flatten transparency)."""
    base = Image.new("RGBA", img.size, (255, 255, 255, 255))
    return Image.alpha_composite(base, img.convert("RGBA")).convert("RGB")


def scale(factor: float):  # type: ignore[no-untyped-def]
    def run(img: Image.Image) -> Image.Image:
        w, h = img.size
        return _flat(img).resize(
            (max(1, round(w * factor)), max(1, round(h * factor))), Image.Resampling.LANCZOS
        )

    return run


def _encode(img: Image.Image, fmt: str, **options: object) -> Image.Image:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **options)
    buffer.seek(0)
    out = Image.open(buffer)
    out.load()
    return out


def jpeg40(img: Image.Image) -> Image.Image:
    return _encode(_flat(img), "JPEG", quality=40)


def webp(img: Image.Image) -> Image.Image:
    return _encode(_flat(img), "WEBP", quality=75)


def crop10(img: Image.Image) -> Image.Image:
    w, h = img.size
    return _flat(img).crop((w // 10, h // 10, w - w // 10, h - h // 10))


def screenshot(img: Image.Image) -> Image.Image:
    """A 40-px frame (dark UI chrome) with text in the top band, as in a screenshot."""
    flat = _flat(img)
    w, h = flat.size
    out = Image.new("RGB", (w + 80, h + 80), (32, 34, 40))
    out.paste(flat, (40, 40))
    draw = ImageDraw.Draw(out)
    draw.text((8, 12), "@reposter · 2h", fill=(230, 230, 230), font=ImageFont.load_default())
    return out


def watermark(img: Image.Image) -> Image.Image:
    flat = _flat(img).convert("RGBA")
    w, h = flat.size
    layer = Image.new("RGBA", flat.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    font = ImageFont.load_default(size=max(12, h // 10))
    draw.text((w // 10, h // 2 - h // 20), "reposted.example", fill=(255, 255, 255, 110), font=font)
    draw.text(
        (w // 10 + 1, h // 2 - h // 20 + 1), "reposted.example", fill=(0, 0, 0, 90), font=font
    )
    return Image.alpha_composite(flat, layer).convert("RGB")


def brightness_contrast(b: float, c: float):  # type: ignore[no-untyped-def]
    def run(img: Image.Image) -> Image.Image:
        return ImageEnhance.Contrast(ImageEnhance.Brightness(_flat(img)).enhance(b)).enhance(c)

    return run


def mirror(img: Image.Image) -> Image.Image:
    return ImageOps.mirror(_flat(img))


TRANSFORMS = {
    "scale50": scale(0.5),
    "scale25": scale(0.25),
    "jpeg40": jpeg40,
    "webp": webp,
    "crop10": crop10,
    "screenshot": screenshot,
    "watermark": watermark,
    "bright+15": brightness_contrast(1.15, 1.15),
    "bright-15": brightness_contrast(0.85, 0.85),
    "mirror": mirror,
}


def hue_rotate(img: Image.Image, degrees: int) -> Image.Image:
    """The same line art recoloured: rotate the hue of every pixel, keep alpha."""
    rgba = img.convert("RGBA")
    alpha = rgba.getchannel("A")
    h, s, v = rgba.convert("RGB").convert("HSV").split()
    h = h.point(lambda x: (x + round(degrees * 256 / 360)) % 256)
    out = Image.merge("HSV", (h, s, v)).convert("RGBA")
    out.putalpha(alpha)
    return out
