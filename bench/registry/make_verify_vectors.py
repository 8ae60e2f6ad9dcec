"""Write the shared test vectors of the brightness-layout verification (server/registry/verify.py
and its port extension/lib/verify.js): pairs of colour grids, rules, and the Python answer.

    .venv/bin/python bench/registry/make_verify_vectors.py

Both test suites check the file (tests/server/test_registry_verify.py, extension/test/
verify.test.mjs). Pairs are made from random layouts by an affine brightness change plus noise,
with gains around the thresholds, and flat layouts; a few are exactly on a threshold.
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
    OUT.write_text(json.dumps({"version": 1, "vectors": vectors}, indent=0) + "\n")
    kept = sum(v["accepted"] for v in vectors)
    print(f"{len(vectors)} vectors ({kept} accepted) written to {OUT}")


if __name__ == "__main__":
    main()
