"""The brightness-layout verification of candidates (server/registry/verify.py, issue 8)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from server.registry import service
from server.registry import verify as V
from tests.server.registry_helpers import encode, match, picture, publish_picture

VECTORS = Path(__file__).resolve().parents[2] / "extension/test/fixtures/verify_vectors.json"


def grid(lumas: list[int], chroma: int = 128) -> bytes:
    return b"".join(bytes([y, chroma, chroma]) for y in lumas)


DRAWING = [255, 255, 20, 255, 255, 20, 20, 255, 255, 30, 20, 255, 255, 255, 255, 255]


def test_brightness_and_contrast_edits_are_accepted():
    strict = V.Rule(0.9, 2.0)
    for gain, offset in ((1.0, 0), (1.15, -20), (0.85 * 0.85, 30), (0.7, 40)):
        edited = [int(np.clip(round(gain * (y - 128) + 128 + offset), 0, 255)) for y in DRAWING]
        assert V.accept(grid(edited), grid(DRAWING), strict), (gain, offset)


def test_another_brightness_layout_or_strength_is_rejected():
    strict = V.Rule(0.9, 2.0)
    inverted = [275 - y for y in DRAWING]  # the dark cells light and the light ones dark
    assert not V.accept(grid(inverted), grid(DRAWING), strict)
    faint = [255 - (255 - y) // 4 for y in DRAWING]  # the same drawing in a pale colour
    assert V.accept(grid(faint), grid(DRAWING), V.Rule(0.9, None))  # a correlation is blind to it
    assert not V.accept(grid(faint), grid(DRAWING), strict)  # the gain is 4, not an edit
    assert V.accept(grid(faint), grid(DRAWING), V.OFF)


def test_flat_layouts():
    flat, other_flat = grid([200] * 16), grid([201, 200] * 8)
    strict = V.Rule(0.9, 2.0)
    assert V.accept(flat, other_flat, strict)  # nothing to compare: the hash decides
    assert not V.accept(flat, grid(DRAWING), strict)
    assert not V.accept(grid(DRAWING), flat, strict)


def test_the_sums_are_exact_integers():
    f = V.fit(np.array(DRAWING), np.array([DRAWING, [255 - y for y in DRAWING]]))
    assert f.sqc.dtype == np.int64 and f.sqc[0] == f.scc[0] == f.sqq
    assert f.sqc[1] == -f.sqq
    assert np.allclose(f.correlation, [1.0, -1.0]) and np.allclose(f.gain, [1.0, -1.0])


def test_shared_vectors_hold_for_python():
    """The same file is checked by extension/test/verify.test.mjs (the client's local match)."""
    data = json.loads(VECTORS.read_text())
    assert len(data["vectors"]) > 100
    assert {v["accepted"] for v in data["vectors"]} == {True, False}
    for v in data["vectors"]:
        rule = V.Rule(v["rule"]["min_correlation"], v["rule"]["max_gain"])
        got = V.accept(bytes.fromhex(v["query"]), bytes.fromhex(v["candidate"]), rule)
        assert got == v["accepted"], v
    service_rule = {
        "min_correlation": service.VERIFY.min_correlation,
        "max_gain": service.VERIFY.max_gain,
    }
    assert service_rule in [v["rule"] for v in data["vectors"]]


def test_the_extension_uses_the_service_rule():
    source = (Path(__file__).resolve().parents[2] / "extension/lib/verify.js").read_text()
    line = next(x for x in source.splitlines() if x.startswith("export const RULE"))
    js = lambda v: "null" if v is None else f"{v:g}"  # noqa: E731
    assert f"minCorrelation: {js(service.VERIFY.min_correlation)}," in line
    assert f"maxGain: {js(service.VERIFY.max_gain)} " in line


def _shaded(img: Image.Image, darkest: float = 0.5) -> Image.Image:
    """The same line art shaded from left (as is) to right (``darkest`` × the brightness)."""
    arr = np.asarray(img).astype(np.float64)
    ramp = np.linspace(1.0, darkest, arr.shape[1])[None, :, None]
    return Image.fromarray(np.round(arr * ramp).astype(np.uint8))


def test_the_service_rejects_the_same_line_art_in_another_shading(client, artist):
    """Hash within the radius (14 bits), same chroma (grey): only the verification (luma
    layout correlation 0.76 < 0.8) tells them apart; with ``service.VERIFY`` off it matches."""
    grey = picture(50).convert("L").convert("RGB")
    work = publish_picture(artist, encode(grey))
    shaded = match(client, encode(_shaded(grey)))
    assert shaded.status_code == 200 and shaded.json["low_information"] is False
    assert shaded.json["candidates"] == []
    darker = Image.eval(grey.resize((160, 120), Image.Resampling.LANCZOS), lambda v: v * 72 // 100)
    for repost in (encode(grey, "JPEG", quality=40), encode(darker, "JPEG", quality=75)):
        found = match(client, repost).json["candidates"]
        assert found and found[0]["work"]["public_id"] == work["work"]["public_id"]
