"""The brightness-layout verification of candidates (server/registry/verify.py, issue 8)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from server.registry import fingerprint as fpmod
from server.registry import service
from server.registry import verify as V
from tests.server.registry_helpers import (
    encode,
    faint_stroke,
    match,
    picture,
    publish_picture,
)

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


def _js_rule() -> dict[str, float | None]:
    """verify.js's RULE object, field by field (JavaScript names)."""
    source = (Path(__file__).resolve().parents[2] / "extension/lib/verify.js").read_text()
    body = re.search(r"export const RULE = Object\.freeze\(\{(.*?)\}\);", source, re.S)
    assert body, "verify.js declares RULE as Object.freeze({ … });"
    fields = dict(re.findall(r"(\w+): ([^,\s}]+)", body[1]))
    return {k: None if v == "null" else float(v) for k, v in fields.items()}


def test_the_extension_uses_the_service_rule():
    """Every threshold of service.VERIFY, and nothing else, in the extension's RULE."""
    assert _js_rule() == {
        "minCorrelation": service.VERIFY.min_correlation,
        "maxGain": service.VERIFY.max_gain,
        "detailMaxGain": service.VERIFY.detail_max_gain,
        "detailMaxResidual": service.VERIFY.detail_max_residual,
        "detailMinCorrelation": service.VERIFY.detail_min_correlation,
    }
    assert service.VERIFY.checks_detail


# -- the detail grid (8 × 8) -------------------------------------------------------------------

# a drawing's detail grid: mid-grey lines and patches on a light ground, nothing clipped when
# its contrast is raised by 1.3 around its mean
DETAIL = [
    [190, 190, 70, 190, 190, 190, 190, 190],
    [190, 80, 70, 190, 150, 150, 190, 190],
    [190, 70, 190, 190, 150, 150, 190, 100],
    [190, 70, 190, 120, 190, 190, 190, 100],
    [170, 70, 190, 120, 190, 90, 90, 100],
    [170, 170, 70, 70, 70, 90, 190, 190],
    [190, 190, 190, 190, 70, 190, 190, 160],
    [190, 190, 190, 190, 70, 190, 160, 160],
]
DRAWN = [y for row in DETAIL for y in row]
BOTH = V.Rule(None, None, 2.0, 30)  # the extension's initial detail thresholds


def _detail(values: list[float]) -> bytes:
    return bytes(int(np.clip(round(v), 0, 255)) for v in values)


def test_a_brightness_and_contrast_edit_passes_the_detail_test():
    mean = sum(DRAWN) / len(DRAWN)
    edited = _detail([1.3 * (y - mean) + mean - 12 for y in DRAWN])
    f = V.detail_fit(edited, [DRAWN])
    assert abs(float(f.gain[0]) - 1.3) < 0.01 and float(f.residual[0]) < 1.0
    assert V.accept_detail(edited, bytes(DRAWN), BOTH)


def test_a_drawing_in_another_strength_fails_the_gain_test():
    """A grey drawing (lines at 192 on white) against the same drawing in black: the layout is
    the same (no residual) but the gain is 63/255 ≈ 0.25, another rendering, not an edit."""
    black = [0 if y < 128 else 255 for y in DRAWN]
    grey = [192 if y < 128 else 255 for y in DRAWN]
    f = V.detail_fit(bytes(grey), [black])
    assert abs(float(f.gain[0]) - 63 / 255) < 1e-9 and int(f.worst[0]) == 0
    assert not V.accept_detail(bytes(grey), bytes(black), BOTH)
    assert not V.accept_detail(bytes(grey), bytes(black), V.Rule(None, None, 2.0, None))
    assert V.accept_detail(bytes(grey), bytes(black), V.Rule(None, None, None, 30))
    assert V.accept_detail(bytes(grey), bytes(black), V.Rule(None, None, 4.5, None))


def test_one_cell_changed_by_80_levels_fails_the_residual_test():
    """The same layout with one part missing (a dark cell 80 levels lighter)."""
    missing = list(DRAWN)
    missing[2 * 8 + 1] += 80  # 70 → 150
    f = V.detail_fit(bytes(missing), [DRAWN])
    assert float(f.residual[0]) > 60 and 0.8 < float(f.gain[0]) < 1.0
    assert not V.accept_detail(bytes(missing), bytes(DRAWN), BOTH)
    assert not V.accept_detail(bytes(missing), bytes(DRAWN), V.Rule(None, None, None, 30))
    assert V.accept_detail(bytes(missing), bytes(DRAWN), V.Rule(None, None, 2.0, None))


def test_a_faint_drawing_of_another_shape_fails_the_correlation_test():
    """A faint cross against the same cross inside a faint ring: every cell within 40 levels,
    so the residual bound (in levels) passes it, and the gain (0.7) is within ×2; the shapes
    differ, which only the contrast-free correlation tells (0.68; a plain cross against a star
    polygon read as a grey ring measured 0.69, reposts on the tuning split 0.9 and up)."""

    def cells(dark: Callable[[int, int], bool]) -> bytes:
        return bytes(160 if dark(i, j) else 200 for i in range(8) for j in range(8))

    def arm(i: int, j: int) -> bool:
        return 3 <= i <= 4 or 3 <= j <= 4

    cross = cells(arm)
    ringed = cells(lambda i, j: arm(i, j) or max(abs(2 * i - 7), abs(2 * j - 7)) == 5)
    f = V.detail_fit(cross, [list(ringed)])
    correlation = float(f.sqc[0]) / np.sqrt(float(f.sqq) * float(f.scc[0]))
    assert 0.6 < correlation < 0.75 and float(f.residual[0]) < 60
    loose = V.Rule(None, None, 2.0, 60)
    assert V.accept_detail(cross, ringed, loose)
    assert not V.accept_detail(cross, ringed, V.Rule(None, None, 2.0, 60, 0.9))
    assert not V.accept_detail(cross, ringed, service.VERIFY)
    assert V.accept_detail(cross, cross, service.VERIFY)


def test_a_missing_detail_is_not_checked():
    other = bytes(255 - y for y in DRAWN)  # would fail: the layout inverted
    assert not V.accept_detail(other, bytes(DRAWN), BOTH)
    assert V.accept_detail(b"", bytes(DRAWN), BOTH)
    assert V.accept_detail(other, b"", BOTH)
    assert V.accept_detail(b"", b"", BOTH)
    assert V.accept_detail(other, bytes(DRAWN), V.OFF)  # no detail test in the rule


def test_a_flat_detail_grid_agrees_with_nothing():
    """Flat at 8 × 8 (a cell standard deviation under 1 level) with a detailed hash is a
    texture, and textures of one pitch share their hash: two flat grids do not agree either
    (unlike two flat 4 × 4 layouts, test_flat_layouts)."""
    flat, other_flat = bytes([200] * 64), bytes([201, 200] * 32)
    assert not V.accept_detail(flat, other_flat, BOTH)
    assert not V.accept_detail(flat, flat, BOTH)
    assert not V.accept_detail(flat, bytes(DRAWN), BOTH)
    assert not V.accept_detail(bytes(DRAWN), flat, BOTH)
    assert V.accept_detail(flat, other_flat, V.OFF)  # a rule without the detail test
    barely = bytes([200] * 32 + [202] * 32)  # standard deviation exactly 1: not flat
    assert V.accept_detail(barely, barely, BOTH)


def test_a_tiled_detail_grid_agrees_with_nothing():
    """Four equal 4 × 4 quarters: a pattern cropped to whole periods, where dot grids of one
    pitch with other dot sizes fit each other at a plausible gain. Tiled on either side, no
    match; a level of noise keeps it tiled; a drawing over part of it makes it a picture."""
    quarter = [234, 224, 224, 234, 224, 208, 208, 224, 224, 208, 208, 224, 234, 224, 224, 234]
    small = bytes(quarter[(i % 4) * 4 + j % 4] for i in range(8) for j in range(8))
    large = bytes(round(1.44 * y - 171) for y in small)  # the same at another contrast
    fit = V.detail_fit(small, np.frombuffer(large, np.uint8)[None, :])
    assert 0.5 <= fit.gain[0] <= 2 and fit.residual[0] < 60  # the other tests accept it
    assert not V.accept_detail(small, large, BOTH)
    assert not V.accept_detail(small, small, BOTH)
    assert not V.accept_detail(small, bytes(DRAWN), BOTH)
    assert not V.accept_detail(bytes(DRAWN), large, BOTH)
    noisy = bytearray(small)
    noisy[18] -= 1
    assert V.repeats(np.frombuffer(bytes(noisy), np.uint8))[0] == 2
    assert not V.accept_detail(bytes(noisy), large, BOTH)
    drawn = bytearray(small)
    drawn[:8] = bytes([40] * 8)  # the top row drawn over
    assert V.accept_detail(bytes(drawn), bytes(drawn), BOTH)
    assert V.accept_detail(small, large, V.OFF)  # a rule without the detail test


def test_shared_detail_vectors_hold_for_python():
    """The same file is checked by extension/test/verify.test.mjs; the fit sums are written
    too, so a disagreement shows where it starts."""
    data = json.loads(VECTORS.read_text())
    rules = [V.Rule(**r) for r in data["detail_rules"]]
    assert service.VERIFY in rules
    assert data["service_rule"] == data["detail_rules"][rules.index(service.VERIFY)]
    assert any(r.detail_max_gain is not None and r.detail_max_residual is None for r in rules)
    assert any(r.detail_max_gain is None and r.detail_max_residual is not None for r in rules)
    assert any(r.detail_min_correlation is not None and not r.detail_max_gain for r in rules)
    vectors = data["detail_vectors"]
    assert len(vectors) >= 60
    answers = {a for v in vectors for a in v["accepted"]}
    assert answers == {True, False}
    kinds = {v["kind"] for v in vectors}
    assert {"residual exactly 30", "gain exactly 2", "no query detail", "both flat"} <= kinds
    assert {"both tiled (dot grids, other dot sizes)", "just not tiled"} <= kinds
    assert data["detail_constants"] == {"flat": V.DETAIL_FLAT, "tiled": V.TILED}
    for v in vectors:
        q, c = bytes.fromhex(v["query"]), bytes.fromhex(v["candidate"])
        if v["fit"] is not None:
            f = V.detail_fit(q, [list(c)])
            got = {
                "sqc": f.sqc[0],
                "scc": f.scc[0],
                "sqq": f.sqq,
                "worst": f.worst[0],
                "repeatQ": f.repeat_q,
                "repeatC": f.repeat_c[0],
            }
            assert {k: int(x) for k, x in got.items()} == v["fit"], v["kind"]
        assert [V.accept_detail(q, c, r) for r in rules] == v["accepted"], v["kind"]


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


def test_the_shared_vectors_carry_the_service_query_rules():
    """The extension checks its QUERY_MIN_QUALITY, DEGENERATE, SYMMETRIC and LINE_* against these
    (verify.test.mjs); regenerate the vectors (bench/registry/make_verify_vectors.py) when the
    service's change."""
    doc = json.loads(VECTORS.read_text())
    assert doc["service_query"] == {
        "min_quality": service.QUERY_MIN_QUALITY,
        "degenerate": [[f"{p:064x}", r] for p, r in service.DEGENERATE_PATTERNS.items()],
        "symmetric": {
            "mask": f"{service.SYMMETRIC_MASK:064x}",
            "bits": service.SYMMETRIC_BITS,
            "tolerance": service.SYMMETRIC_TOLERANCE,
        },
        "line": {
            "coherence": list(V.LINE_COHERENCE),
            "range": V.LINE_RANGE,
            "chroma": V.LINE_CHROMA,
        },
    }


# -- faint grey lines (verify.faint_line, service.query_informative) -----------------------------


def test_shared_line_vectors_hold_for_python():
    """extension/test/verify.test.mjs checks the same answers for faintLine."""
    vectors = json.loads(VECTORS.read_text())["line_vectors"]
    assert {v["line"] for v in vectors} == {True, False} and len(vectors) >= 12
    for v in vectors:
        got = V.faint_line(bytes.fromhex(v["detail"]), bytes.fromhex(v["colour"]))
        assert got == v["line"], v["kind"]


def test_a_faint_grey_line_is_low_information(client, artist):
    """One thin straight stroke holds an angle and a position, and agrees with a crop of any
    drawing that shows one straight edge (GCompris's solar-panel strokes, measured): the service
    does not match it, not even against itself."""
    stroke = faint_stroke()
    publish_picture(artist, encode(stroke))
    fp = fpmod.fingerprint_rgb(np.asarray(stroke))
    assert service.informative(fp.hash, fp.quality, service.QUERY_MIN_QUALITY)
    assert V.faint_line(fp.detail, fp.colour) and not service.query_informative(fp)
    found = match(client, encode(stroke))
    assert found.status_code == 200
    assert found.json == {"low_information": True, "candidates": []}


def test_a_colourful_diagonal_band_is_still_matched(client, artist):
    """As one-directional as a stroke, but a flag's colours (chroma far above LINE_CHROMA):
    Tanzania-like flags are reposted and found."""
    flag = Image.new("RGB", (600, 400), (30, 140, 60))  # green above the band, blue below
    ImageDraw.Draw(flag).polygon([(600, 0), (600, 400), (0, 400)], fill=(40, 90, 200))
    ImageDraw.Draw(flag).line([(0, 400), (600, 0)], fill=(250, 210, 30), width=40)
    work = publish_picture(artist, encode(flag))
    fp = fpmod.fingerprint_rgb(np.asarray(flag))
    assert not V.faint_line(fp.detail, fp.colour) and service.query_informative(fp)
    found = match(client, encode(flag.resize((300, 200)), "JPEG", quality=60)).json
    assert found["low_information"] is False
    assert found["candidates"][0]["work"]["public_id"] == work["work"]["public_id"]
