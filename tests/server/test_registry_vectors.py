"""The fingerprint contract: shared vectors (also checked by the extension's `node --test`),
plus properties of each step that the vectors alone would not explain when they fail."""

from __future__ import annotations

import base64
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest

from server.registry import fingerprint as F
from server.registry.index import MIHIndex, brute_force, hex_to_words

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "fingerprint_v1.json").read_text())
CASES = VECTORS["cases"]


def _rgba(case: dict) -> np.ndarray:
    raw = base64.b64decode(case["rgba_base64"])
    return np.frombuffer(raw, dtype=np.uint8).reshape(case["height"], case["width"], 4)


def test_the_vectors_are_for_this_version():
    assert VECTORS["version"] == F.VERSION
    assert len(CASES) >= 10
    names = {c["name"] for c in CASES}
    assert {"flat_50x50", "tiny_20x16", "frame_with_text_140x110"} <= names


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_vector(case):
    rgba = _rgba(case)
    want = case["expected"]
    rgb = F.composite(rgba)
    strict, tolerant = F.trim_box(rgb), F.trim_box(rgb, tolerant=True)
    assert (list(strict) if strict else None) == want["trim_strict"]
    assert (list(tolerant) if tolerant else None) == want["trim_tolerant"]
    if want["luma64_sha256"] is not None:
        y64 = F.luma(F.resize(F.trimmed(rgb)))
        assert hashlib.sha256(y64.astype("<f8").tobytes()).hexdigest() == want["luma64_sha256"]
        q = np.floor(F.dct_coefficients(y64) * F.QUANT + 0.5).ravel()
        assert [int(v) for v in q] == want["quantised_coefficients"]
    got = {
        name: {
            "hash": fp.hash,
            "colour": fp.colour.hex(),
            "bucket": f"{fp.bucket:04x}",
            "quality": fp.quality,
            "width": fp.width,
            "height": fp.height,
            "matchable": F.is_matchable(fp),
            "detail": fp.detail.hex(),
        }
        for name, fp in F.query_variants(rgba).items()
    }
    assert got == want["variants"]


def test_every_vector_fingerprint_has_a_detail_grid():
    """Fields may be added to the vectors within a VERSION (tests/vectors/generate.py); the
    detail grid (docs §7b) is in every variant, so the JavaScript port is checked on it."""
    variants = [fp for c in CASES for fp in c["expected"]["variants"].values()]
    assert len(variants) >= 20
    assert all(len(bytes.fromhex(fp["detail"])) == F.DETAIL * F.DETAIL for fp in variants)


def test_detail_grid_is_the_luma_of_each_cell_mean():
    rgb64 = np.zeros((64, 64, 3), dtype=np.float64)
    rgb64[:8, 8:16] = (255.0, 0.0, 0.0)  # cell (0, 1): pure red, luma 76.245 → 76
    rgb64[56:, 56:, 1] = 100.0  # cell (7, 7): green 100, luma 58.7 → 59
    rgb64[8:16, :8, 2] = np.arange(64).reshape(8, 8) * 4.0  # cell (1, 0): blue mean 126
    grid = np.frombuffer(F.detail_grid(rgb64), dtype=np.uint8).reshape(8, 8)
    want = np.zeros((8, 8), dtype=np.uint8)
    want[0, 1], want[7, 7], want[1, 0] = 76, 59, 14  # 114 · 126 / 1000 = 14.364
    assert (grid == want).all()


def test_low_information_pictures_have_no_fingerprint():
    by_name = {c["name"]: c for c in CASES}
    assert by_name["flat_50x50"]["expected"]["variants"] == {}
    assert by_name["tiny_20x16"]["expected"]["variants"] == {}
    assert not by_name["gradient_80x60"]["expected"]["variants"]["as_is"]["matchable"]
    assert by_name["noise_97x61"]["expected"]["variants"]["as_is"]["matchable"]


def test_cosine_table_without_transcendental_functions():
    exact = np.array([math.cos(math.pi * m / 128) for m in range(256)])
    assert np.abs(F.COS - exact).max() < 1e-12
    assert F.COS[0] == 1.0 and F.COS[128] == -1.0


def test_resize_keeps_a_constant_picture_constant_and_averages_exactly():
    rgb = np.full((37, 91, 3), 200, dtype=np.int32)
    assert np.all(F.resize(rgb) == 200.0)
    two = np.zeros((64, 128, 3), dtype=np.int32)
    two[:, 1::2] = 255  # every output pixel averages one black and one white column
    assert np.all(F.resize(two) == 127.5)


def test_alpha_is_composited_over_white():
    rgba = np.array([[[0, 0, 0, 0], [0, 0, 0, 255], [100, 50, 0, 128]]], dtype=np.uint8)
    assert F.composite(rgba).tolist() == [[[255, 255, 255], [0, 0, 0], [177, 152, 127]]]


def test_hex_is_bit_0_first_most_significant_first():
    bits = np.zeros(256, dtype=bool)
    bits[0] = bits[9] = True
    assert F.bits_to_hex(bits) == "8040" + "0" * 60


def test_mirror_bucket_is_the_bucket_of_the_mirror():
    case = next(c for c in CASES if c["name"] == "noise_97x61")
    variants = case["expected"]["variants"]
    assert F.mirror_bucket(int(variants["as_is"]["bucket"], 16)) == int(
        variants["mirrored"]["bucket"], 16
    )


def test_multi_index_search_equals_brute_force():
    rng = np.random.default_rng(7)
    base = rng.integers(0, 2**64 - 1, size=(3000, 4), dtype=np.uint64, endpoint=True)
    near = base[:50].copy()
    for row in near:  # neighbours at distances 0..40
        for bit in rng.choice(256, int(rng.integers(0, 41)), replace=False):
            row[bit // 64] ^= np.uint64(1) << np.uint64(63 - bit % 64)
    words = np.concatenate([base, near])
    index = MIHIndex(tail_limit=100)
    index.add(words[:2000])
    index.build()
    index.add(words[2000:])  # some in the tables, some in the unsorted tail
    for radius in (0, 15, 31, 47):
        for q in near[:20]:
            got, dist = index.search(q, radius)
            want, wdist = brute_force(words, q, radius)
            assert sorted(zip(got.tolist(), dist.tolist(), strict=True)) == sorted(
                zip(want.tolist(), wdist.tolist(), strict=True)
            )
    assert len(index.search(near[0], 31)[0]) >= 1


def test_hex_to_words_round_trip():
    h = "0123456789abcdef" * 4
    words = hex_to_words([h])
    assert words.shape == (1, 4)
    assert "".join(f"{int(w):016x}" for w in words[0]) == h
