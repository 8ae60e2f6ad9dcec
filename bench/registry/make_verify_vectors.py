"""Write the shared test vectors of the brightness-layout verification (server/registry/verify.py
and its port extension/lib/verify.js): pairs of colour grids, rules, and the Python answer.

    .venv/bin/python bench/registry/make_verify_vectors.py

Both test suites check the file (tests/server/test_registry_verify.py, extension/test/
verify.test.mjs). Pairs are made from random layouts by an affine brightness change plus noise,
with gains around the thresholds, and flat layouts; a few are exactly on a threshold.

``detail_vectors`` do the same for the 8×8 detail grid (``verify.accept_detail``, verify.js
``acceptDetail``): pairs of 64-byte details (affine edits with gains 1/2.5..2.5, noise, one cell
changed a lot as when a part of the drawing is missing, flat and unrelated layouts, pairs
exactly on the gain and on the residual threshold, a missing detail, tiled grids and the pair
on either side of the tiled threshold), each with the integer fit sums and the Python answer
under every rule of ``detail_rules`` (each test alone, both, and ``service.VERIFY``, also
written as ``service_rule``). Rerun after changing
``service.VERIFY``: the extension's RULE (extension/lib/verify.js) is checked against it.
The 4×4 ``vectors`` come first from their own seed, so they do not move when detail cases
are added. ``line_vectors`` are (detail grid, colour grid, answer) of ``verify.faint_line``,
the query rule that leaves a faint grey line unanswered (checked by verify.js ``faintLine``),
with its constants in ``service_query.line``.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from server.registry import service  # noqa: E402
from server.registry import verify as V  # noqa: E402

OUT = ROOT / "extension/test/fixtures/verify_vectors.json"
RULES = [V.OFF, V.Rule(0.9, None), V.Rule(None, 1.5), V.Rule(0.8, 2.0), service.VERIFY]


def grid(lumas: list[int], rng: random.Random) -> bytes:
    out = bytearray()
    for y in lumas:
        out += bytes([y, rng.randrange(256), rng.randrange(256)])
    return bytes(out)


def _rule_json(r: V.Rule) -> dict:
    return {
        "min_correlation": r.min_correlation,
        "max_gain": r.max_gain,
        "detail_max_gain": r.detail_max_gain,
        "detail_max_residual": r.detail_max_residual,
        "detail_min_correlation": r.detail_min_correlation,
    }


DETAIL_RULES = [
    V.OFF,  # no detail test: every pair is accepted
    V.Rule(None, None, 2.0, None),  # the gain test alone
    V.Rule(None, None, 2.5, None),
    V.Rule(None, None, None, 30),  # the residual test alone
    V.Rule(None, None, None, 12),
    V.Rule(0.8, None, 2.0, 30),  # the extension's initial RULE
    V.Rule(None, None, 1.3, 45),
    V.Rule(None, None, None, None, 0.9),  # the correlation test alone
    V.Rule(None, None, None, None, 0.5),
]


def _clip(x: float) -> int:
    return max(0, min(255, round(x)))


def _layout(rng: random.Random) -> list[int]:
    """A drawing-like 8×8 layout: a background, a few darker or lighter blobs, some texture."""
    bg = rng.randrange(120, 256)
    cells = [bg + rng.randrange(-6, 7) for _ in range(64)]
    for _ in range(rng.randrange(2, 6)):
        r0, c0 = rng.randrange(8), rng.randrange(8)
        h, w, level = rng.randrange(1, 4), rng.randrange(1, 4), rng.randrange(0, 200)
        for r in range(r0, min(8, r0 + h)):
            for c in range(c0, min(8, c0 + w)):
                cells[r * 8 + c] = level + rng.randrange(-10, 11)
    return [_clip(y) for y in cells]


def detail_pairs() -> list[tuple[str, bytes, bytes]]:
    """(kind, query, candidate): the query is the picture looked up, the candidate the
    registered one, so the fitted gain is query / candidate."""
    rng = random.Random(64)
    pairs: list[tuple[str, bytes, bytes]] = []
    for k in range(60):
        cand = _layout(rng)
        gain = rng.choice([0.4, 0.5, 0.6, 0.77, 0.9, 1.0, 1.1, 1.3, 1.5, 2.0, 2.2, 2.5])
        noise = rng.choice([0, 0, 3, 10, 25])
        mean = sum(cand) / 64
        offset = rng.uniform(-30, 30)
        if gain > 1:  # a contrast increase of the candidate, by lowering the candidate's
            query = [_clip(y + offset + rng.uniform(-noise, noise)) for y in cand]  # (no clipping)
            cand = [_clip((y - mean) / gain + mean) for y in cand]
        else:
            query = [
                _clip(gain * (y - mean) + mean + offset + rng.uniform(-noise, noise)) for y in cand
            ]
        kind = f"affine gain={gain:g} noise={noise}"
        if k % 6 == 5:  # one cell changed a lot: a part of the drawing missing or added
            n = rng.randrange(64)
            query[n] = 255 if query[n] < 128 else 0
            kind = "one cell changed"
        pairs.append((kind, bytes(query), bytes(cand)))
    flat = bytes(200 + rng.randrange(3) for _ in range(64))
    other_flat = bytes(90 + rng.randrange(2) for _ in range(64))
    drawing = bytes(_layout(rng))
    pairs += [
        ("both flat", flat, other_flat),
        ("flat query", flat, drawing),
        ("flat candidate", drawing, flat),
        ("inverted", bytes(255 - y for y in drawing), drawing),
        ("unrelated", bytes(_layout(rng)), drawing),
        ("reversed", drawing[::-1], drawing),
    ]
    # exactly on the gain thresholds: query = 2·candidate − 60, 2.5·candidate − 60, candidate/2
    cand = [60 + (7 * n) % 64 for n in range(64)]
    pairs.append(("gain exactly 2", bytes(2 * c - 60 for c in cand), bytes(cand)))
    even = [40 + 2 * ((5 * n) % 31) for n in range(64)]
    pairs.append(("gain exactly 2.5", bytes(5 * c // 2 - 60 for c in even), bytes(even)))
    pairs.append(("gain exactly 1/2", bytes(c // 2 for c in even), bytes(even)))
    pairs.append(("gain exactly 1/2.5", bytes(even), bytes(5 * c // 2 - 60 for c in even)))
    # exactly on the residual threshold: cells 0 and 1 have the same candidate value, so
    # ±d on them leaves the fit (gain 1, offset 0) alone and the worst residual is exactly d
    base = [100 + (11 * n) % 90 for n in range(64)]
    base[1] = base[0]
    for d in (12, 13, 29, 30, 31, 59, 60, 61):  # 60: the service's threshold
        q = list(base)
        q[0], q[1] = q[0] + d, q[1] - d
        pairs.append((f"residual exactly {d}", bytes(q), bytes(base)))
    # a side without a detail grid (a row stored before it): not checked
    pairs.append(("no query detail", b"", drawing))
    pairs.append(("no candidate detail", drawing, b""))
    # tiled grids: four equal 4 × 4 quarters, as a dot grid of one pitch cropped to whole
    # periods gives (two such grids with other dot sizes fit at gain 0.72, measured)
    pairs += tiled_pairs(drawing)
    pairs += correlation_pairs(drawing)
    return pairs


def correlation_pairs(drawing: bytes) -> list[tuple[str, bytes, bytes]]:
    """A faint cross against the same cross inside a faint ring: every cell within the residual
    bound and the gain (0.7) within ×2, but another shape (the correlation test's case: a
    plain cross against a star polygon that reads as a ring, measured); then a drawing smudged
    cell by cell, a level at a time, until its correlation with the original falls below 0.9:
    the last pair kept and the first not."""

    def dark(i: int, j: int) -> bool:
        ring = max(abs(2 * i - 7), abs(2 * j - 7)) == 5
        return 3 <= i <= 4 or 3 <= j <= 4 or ring

    cross = [200 - 40 * (3 <= i <= 4 or 3 <= j <= 4) for i in range(8) for j in range(8)]
    ringed = [200 - 40 * dark(i, j) for i in range(8) for j in range(8)]
    pairs = [("a faint cross and a faint ringed cross", bytes(cross), bytes(ringed))]
    base = list(drawing)
    grid, previous = list(base), bytes(base)
    for n in range(0, 64, 3):
        towards = 0 if base[n] >= 128 else 255
        while grid[n] != towards:
            grid[n] += 1 if towards else -1
            f = V.detail_fit(bytes(grid), [base])
            if float(f.sqc[0]) ** 2 < 0.81 * float(f.sqq) * float(f.scc[0]):
                return [
                    *pairs,
                    ("correlation just above 0.9", previous, drawing),
                    ("correlation just below 0.9", bytes(grid), drawing),
                ]
            previous = bytes(grid)
    raise AssertionError("no threshold found")


def tiled_pairs(drawing: bytes) -> list[tuple[str, bytes, bytes]]:
    def tile(quarter: list[int]) -> list[int]:
        return [quarter[(i % 4) * 4 + j % 4] for i in range(8) for j in range(8)]

    small = tile([234, 224, 224, 234, 224, 208, 208, 224, 224, 208, 208, 224, 234, 224, 224, 234])
    large = tile([116, 93, 93, 116, 93, 73, 73, 93, 93, 73, 73, 93, 116, 93, 93, 116])
    nudged = list(small)
    nudged[18] -= 1  # a re-encode moves a cell by a level: still tiled
    broken = list(small)
    for n in range(8):  # the top row drawn over: a picture, not a pattern
        broken[n] = 40
    return [
        ("both tiled (dot grids, other dot sizes)", bytes(small), bytes(large)),
        ("both tiled, the same grid", bytes(small), bytes(small)),
        ("tiled query, one cell a level off", bytes(nudged), bytes(large)),
        ("tiled query", bytes(small), drawing),
        ("tiled candidate", drawing, bytes(large)),
        ("a tiled grid with its top row drawn over", bytes(broken), bytes(broken)),
        *threshold_pairs(small),  # the last tiled grid and the first that is not
    ]


def threshold_pairs(base: list[int]) -> list[tuple[str, bytes, bytes]]:
    """A tiled grid pushed cell by cell off its repeat until it is no longer tiled: the last
    one tiled and the first one not (the comparison ``64·16·repeat > 64·Σ(y − ȳ)²``)."""
    grid = list(base)
    previous = bytes(grid)
    for n in range(4, 64, 8):  # column 4 of each row, one row after the other
        for step in range(1, 60):
            grid[n] = base[n] - step
            q = bytes(grid)
            f = V.detail_fit(q, [list(q)])
            if V.TILED * int(f.repeat_q) > int(f.sqq):
                return [("tiled, at the threshold", previous, previous), ("just not tiled", q, q)]
            previous = q
    raise AssertionError("no threshold found")


def _diagonal(profile: dict[int, int], ground: int = 235) -> list[int]:
    """An 8 × 8 grid that depends on i − j only: a line (or an edge) along the diagonal."""
    return [profile.get(i - j, ground) for i in range(8) for j in range(8)]


def _tinted(chroma: int) -> bytes:
    """A light colour grid whose Σ |Cb − 128| + |Cr − 128| over the 16 cells is ``chroma``."""
    out = bytearray()
    for n in range(16):
        cb = chroma // 32 + (n < (chroma % 32 + 1) // 2)
        cr = chroma // 32 + (n < chroma % 32 // 2)
        out += bytes([230, 128 + cb, 128 + cr])
    assert sum(abs(out[3 * n + 1] - 128) + abs(out[3 * n + 2] - 128) for n in range(16)) == chroma
    return bytes(out)


def line_pairs() -> list[tuple[str, bytes, bytes]]:
    """(kind, detail, colour) for ``verify.faint_line``: a faint grey stroke, a soft edge, the
    range and chroma bounds exactly and one past them, the last grid one-directional enough as
    a mark grows off the stroke and the first that is not, a drawing, a missing grid."""
    grey = _tinted(0)
    stroke = bytes(_diagonal({-1: 205, 0: 150, 1: 205}))  # range 85, coherence exactly 1
    edge = bytes(_diagonal({k: 160 for k in range(1, 8)}))  # darker below the diagonal
    at_range = bytes(_diagonal({-1: 200, 0: 235 - V.LINE_RANGE, 1: 200}))
    past_range = bytes(_diagonal({-1: 200, 0: 234 - V.LINE_RANGE, 1: 200}))
    rng = random.Random(21)
    pairs = [
        ("faint grey stroke", stroke, grey),
        ("faint grey edge", edge, grey),
        ("stroke, range exactly LINE_RANGE", at_range, grey),
        ("stroke, range one past LINE_RANGE", past_range, grey),
        ("stroke, chroma exactly LINE_CHROMA", stroke, _tinted(V.LINE_CHROMA)),
        ("stroke, chroma one past LINE_CHROMA", stroke, _tinted(V.LINE_CHROMA + 1)),
        ("stroke, a colourful grid (a striped flag's)", stroke, _tinted(900)),
        ("a drawing", bytes(_layout(rng)), grey),
        ("flat", bytes([200] * 64), grey),
        ("no detail grid", b"", grey),
    ]
    previous = stroke
    for step in range(1, 200):  # a mark grows off the line until it is not one-directional
        grid = list(stroke)
        grid[5] = stroke[5] - min(step, 80)
        grid[6] = stroke[6] - max(0, step - 80)
        if not V.faint_line(bytes(grid), grey):
            return [
                *pairs,
                ("stroke, at the coherence threshold", previous, grey),
                ("just not one-directional", bytes(grid), grey),
            ]
        previous = bytes(grid)
    raise AssertionError("no threshold found")


def line_vectors() -> list[dict]:
    return [
        {"kind": k, "detail": d.hex(), "colour": c.hex(), "line": V.faint_line(d, c)}
        for k, d, c in line_pairs()
    ]


def detail_vectors() -> list[dict]:
    out = []
    for kind, q, c in detail_pairs():
        fit = None
        if len(q) == V.D and len(c) == V.D:
            f = V.detail_fit(q, [list(c)])
            fit = {
                "sqc": int(f.sqc[0]),
                "scc": int(f.scc[0]),
                "sqq": int(f.sqq),
                "worst": int(f.worst[0]),
                "repeatQ": int(f.repeat_q),
                "repeatC": int(f.repeat_c[0]),
            }
        out.append(
            {
                "kind": kind,
                "query": q.hex(),
                "candidate": c.hex(),
                "fit": fit,
                "accepted": [V.accept_detail(q, c, r) for r in _detail_rules()],
            }
        )
    return out


def _detail_rules() -> list[V.Rule]:
    rules = list(DETAIL_RULES)
    if service.VERIFY not in rules:
        rules.append(service.VERIFY)
    return rules


def main() -> None:
    rng = random.Random(8)
    pairs = []
    for k in range(120):
        base = [rng.randrange(256) for _ in range(16)]
        if k % 10 == 0:
            base = [200 + rng.randrange(3) for _ in range(16)]  # flat
        gain = rng.choice([0.4, 0.55, 0.66, 0.667, 0.8, 1.0, 1.2, 1.5, 1.8, 2.0, 2.6])
        noise = rng.choice([0, 0, 4, 20, 60])
        cand = [
            max(0, min(255, round(gain * (y - 128) + 128 + rng.uniform(-noise, noise))))
            for y in base
        ]
        if k % 15 == 0:
            cand = [128 + rng.randrange(3) for _ in range(16)]  # flat candidate
        if k % 17 == 0:
            cand = list(reversed(base))  # unrelated layout
        pairs.append((grid(base, rng), grid(cand, rng)))
    # exactly on a gain threshold: candidate = 2 × query around a common mean
    q = [100 + 2 * n for n in range(16)]
    pairs.append((grid(q, rng), grid([2 * y - 100 for y in q], rng)))
    vectors = [
        {
            "query": a.hex(),
            "candidate": b.hex(),
            "rule": {"min_correlation": r.min_correlation, "max_gain": r.max_gain},
            "accepted": V.accept(a, b, r),
        }
        for a, b in pairs
        for r in RULES
    ]
    details = detail_vectors()
    doc = {
        "version": 1,
        "vectors": vectors,
        "service_rule": _rule_json(service.VERIFY),
        # which query fingerprints are matched at all (extension/lib/protocol.js)
        "service_query": {
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
        },
        "line_vectors": line_vectors(),
        "detail_rules": [_rule_json(r) for r in _detail_rules()],
        "detail_constants": {"flat": V.DETAIL_FLAT, "tiled": V.TILED},
        "detail_vectors": details,
    }
    OUT.write_text(json.dumps(doc, indent=0) + "\n")
    kept = sum(v["accepted"] for v in vectors)
    answers = [a for v in details for a in v["accepted"]]
    print(f"{len(vectors)} vectors ({kept} accepted) written to {OUT}")
    print(f"{len(details)} detail pairs × {len(_detail_rules())} rules ({sum(answers)} accepted)")


if __name__ == "__main__":
    main()
