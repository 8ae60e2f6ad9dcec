"""Regenerate tests/vectors/fingerprint_v1.json from the Python implementation.

    .venv/bin/python tests/vectors/generate.py

The file is the contract with the browser extension's JavaScript port, which must produce the
same expected values from the same RGBA pixels (docs/FINGERPRINT.md). Regenerate it when the
algorithm's version changes (server/registry/fingerprint.py VERSION) or when a field is added
to the fingerprint (as ``detail`` was): fields may be added, but within one VERSION the values
already in the file must not change. Check that with ``git diff`` after regenerating: only
the new keys may appear.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from server.registry import fingerprint as F  # noqa: E402

OUT = Path(__file__).with_name("fingerprint_v1.json")


def _shapes(size: tuple[int, int], seed: int, mode: str = "RGB", bg=(255, 255, 255)) -> Image.Image:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    img = Image.new(mode, size, bg)
    draw = ImageDraw.Draw(img)
    w, h = size
    for _ in range(10):
        x0, y0 = rng.randrange(w // 2), rng.randrange(h // 2)
        x1, y1 = x0 + rng.randrange(4, w // 2 + 5), y0 + rng.randrange(4, h // 2 + 5)
        fill = tuple(rng.randrange(256) for _ in range(len(mode)))
        draw.ellipse((x0, y0, x1, y1), fill=fill, outline=(0, 0, 0, 255)[: len(mode)], width=2)
    return img


def cases() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2026)
    out: dict[str, np.ndarray] = {}
    y, x = np.mgrid[0:60, 0:80]
    grad = np.stack([x * 3, y * 4, (x + y) * 2 % 256, np.full_like(x, 255)], axis=2)
    out["gradient_80x60"] = grad.astype(np.uint8)
    noise = rng.integers(0, 256, (61, 97, 4), dtype=np.uint8)
    noise[:, :, 3] = 255
    out["noise_97x61"] = noise
    out["shapes_120x90"] = np.asarray(_shapes((120, 90), 1).convert("RGBA"))
    transparent = _shapes((70, 64), 2, "RGBA", (0, 0, 0, 0))
    canvas = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    canvas.paste(transparent, (15, 20))
    arr = np.asarray(canvas).copy()
    arr[30:40, 20:60, 3] = 128  # semi-transparent pixels: alpha compositing over white
    arr[0:5, :, :3] = 17  # colour under alpha 0 must not matter
    out["transparent_margins_100x100"] = arr
    framed = np.full((110, 140, 4), 255, dtype=np.uint8)
    framed[:, :, :3] = (32, 34, 40)
    framed[20:90, 20:120] = np.asarray(_shapes((100, 70), 3).convert("RGBA"))
    framed[6:12, 4:30, :3] = 230  # "text" in the frame
    out["frame_with_text_140x110"] = framed
    stripes = np.zeros((70, 90, 4), dtype=np.uint8)
    stripes[:, :, 3] = 255
    stripes[:, 0:30, :3] = (0, 110, 60)
    stripes[:, 30:60, :3] = (250, 250, 250)
    stripes[:, 60:90, :3] = (255, 130, 0)
    stripes[20:50, 20:70, :3] = rng.integers(0, 256, (30, 50, 3), dtype=np.uint8)
    out["stripes_90x70"] = stripes
    out["upscale_56x44"] = np.asarray(_shapes((56, 44), 4).convert("RGBA"))
    out["tall_33x150"] = np.asarray(_shapes((33, 150), 5).convert("RGBA"))
    flat = np.zeros((50, 50, 4), dtype=np.uint8)
    flat[:, :] = (90, 140, 200, 255)
    out["flat_50x50"] = flat
    out["tiny_20x16"] = np.asarray(_shapes((20, 16), 6).convert("RGBA"))
    return out


def expected(rgba: np.ndarray) -> dict:
    rgb = F.composite(rgba)
    strict = F.trim_box(rgb)
    tolerant = F.trim_box(rgb, tolerant=True)
    result: dict = {
        "trim_strict": list(strict) if strict else None,
        "trim_tolerant": list(tolerant) if tolerant else None,
        "variants": {},
    }
    try:
        region = F.trimmed(rgb)
        rgb64 = F.resize(region)
        y64 = F.luma(rgb64)
        result["luma64_sha256"] = hashlib.sha256(y64.astype("<f8").tobytes()).hexdigest()
        q = np.floor(F.dct_coefficients(y64) * F.QUANT + 0.5).ravel()
        result["quantised_coefficients"] = [int(v) for v in q]
    except F.LowInformation:
        result["luma64_sha256"] = None
        result["quantised_coefficients"] = None
    for name, fp in F.query_variants(rgba).items():
        result["variants"][name] = {
            "hash": fp.hash,
            "colour": fp.colour.hex(),
            "bucket": f"{fp.bucket:04x}",
            "quality": fp.quality,
            "width": fp.width,
            "height": fp.height,
            "matchable": F.is_matchable(fp),
            "detail": fp.detail.hex(),
        }
    return result


def build() -> dict:
    return {
        "algorithm": "creditline-fingerprint",
        "version": F.VERSION,
        "spec": "docs/FINGERPRINT.md",
        "cases": [
            {
                "name": name,
                "width": int(rgba.shape[1]),
                "height": int(rgba.shape[0]),
                "rgba_base64": base64.b64encode(np.ascontiguousarray(rgba).tobytes()).decode(),
                "expected": expected(rgba),
            }
            for name, rgba in cases().items()
        ],
    }


if __name__ == "__main__":
    OUT.write_text(json.dumps(build(), indent=1) + "\n")
    print(f"wrote {OUT}")
