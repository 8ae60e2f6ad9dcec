"""A blind re-review of the registry benchmark's false matches (issue 8).

``reviewed.json`` was labelled by the team that made the matcher, after seeing which pairs it
produced and with the file names in view (``mouse_pointer_…_01`` against ``…_03`` says a lot).
This draws the same pairs again, mixed with control pairs whose answer is known, shuffled and
numbered, with no names: a reviewer who has seen neither the code nor the labels says of each
sheet whether the two pictures are one artwork (a copy, crop, recolour or edited version of the
other) or two different artworks. ``--score`` then compares the labels with the key:

- ``matched``: every pair the matcher answered wrongly (automatic near-duplicates left out) in
  the result files given;
- ``same``: a registered picture against one of the benchmark's own reposts of it (transforms
  the matcher must find: the reviewer should say one artwork);
- ``lookalike``: the unregistered pictures whose (half-size) fingerprint comes closest in
  Hamming distance to a registered picture's, each against that picture, leaving out pairs
  whose grey thumbnails correlate ≥ 0.8 (recolours: by the question, one artwork) and the
  matched pairs (what the hash finds alike and the matcher turned down; these show whether the
  reviewer says "one artwork" too easily).

    .venv/bin/python bench/registry/blind.py --load /tmp/xd/main.pkl --out /tmp/blind \\
        bench/registry/results.json bench/registry/results-holdout*.json
    .venv/bin/python bench/registry/blind.py --out /tmp/blind --score LABELS.json [LABELS2.json]

(keep ``key.json`` away from the reviewer until the labels are in: ``--score`` reads it back
from ``--out``). The review made this way is ``blind-review.json`` (``--review`` scores it).
"""

from __future__ import annotations

import argparse
import json
import pickle
import random
import sys
from collections import Counter
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import review  # noqa: E402
import run as R  # noqa: E402
import similar  # noqa: E402
import transforms as T  # noqa: E402

SEED = 18
SAME = ("crop10", "screenshot", "watermark", "mirror", "bright-15", "scale25")
HUES = (90, 180)
LAYOUT = 0.8  # grey thumbnails correlating less: another outline, not a recolour of one


def matched_pairs(result_files: list[str]) -> list[dict]:
    out = []
    for f in result_files:
        for (query, matched), tf in review.pairs(json.loads(Path(f).read_text())).items():
            out.append(
                {
                    "kind": "matched",
                    "file": Path(f).name,
                    "a": query,
                    "b": matched,
                    "queries": len(tf),
                }
            )
    return out


def same_pairs(data: dict, rng: random.Random, n: int) -> list[dict]:
    """Registered pictures against one of the bench's own reposts of them (one edit each)."""
    edits = SAME + tuple(f"hue {h}" for h in HUES)
    corpus = [c for c in data["corpus"] if c.get("thumb") is not None]
    return [
        {"kind": "same", "a": review.short(c["path"]), "b": edits[k % len(edits)]}
        for k, c in enumerate(rng.sample(corpus, n))
    ]


def lookalike_pairs(data: dict, n: int, skip: set[tuple[str, str]]) -> list[dict]:
    """Unregistered pictures whose half-size fingerprint is nearest a registered picture's,
    nearest first, leaving out the matched pairs (``skip``) and the same outline."""
    corpus = [
        c
        for c in data["corpus"]
        if c.get("thumb") is not None
        and R.S.informative(c["reg"]["full"]["hash"], c["reg"]["full"]["quality"])
    ]
    words = R.hex_to_words([c["reg"]["full"]["hash"] for c in corpus])
    scored = []
    for path, neg in data["negatives"]:
        q = (neg.get("queries") or {}).get("scale50", {}).get("ours")
        if not q or R.low_information(q):
            continue
        distance = np.bitwise_count(words ^ R.hex_to_words([q["as_is"]["hash"]])[0]).sum(axis=1)
        best = int(np.argmin(distance))
        scored.append((int(distance[best]), corpus[best]["path"], path))
    out: list[dict] = []
    for distance, a, b in sorted(scored):
        if len(out) == n:
            break
        a, b = review.short(a), review.short(b)
        pa, pb = review.picture(a), review.picture(b)
        if (b, a) in skip or pa is None or pb is None:
            continue
        alike = similar.compare(pa, pb)
        if max(alike["as_is"]["correlation"], alike["mirrored"]["correlation"]) >= LAYOUT:
            continue  # the same outline (a recolour, or the same drawing): not a control
        out.append({"kind": "lookalike", "a": a, "b": b, "hamming": distance})
    return out


def edited(label: str, edit: str):  # type: ignore[no-untyped-def]
    img = review.picture(label)
    if edit.startswith("hue "):
        return T.hue_rotate(img, int(edit.split()[1]))
    return T.TRANSFORMS[edit](img)


def draw(pairs: list[dict], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for n, p in enumerate(pairs, 1):
        a = review.picture(p["a"])
        b = edited(p["a"], p["b"]) if p["kind"] == "same" else review.picture(p["b"])
        if a is None or b is None:
            raise SystemExit(f"cannot draw {p}")
        if n % 2:  # which side the registered picture is on says nothing either
            a, b = b, a
        similar.side_by_side(a, b).save(out / f"sheet-{n:02d}.png")
        p["sheet"] = n


def verdicts(labels: dict) -> dict[str, str]:
    """A reviewer's labels: sheet number → ``one`` / ``two`` (``?`` when unsure)."""
    out = {}
    for sheet, v in labels.items():
        v = v if isinstance(v, dict) else {"verdict": v}
        out[sheet] = v["verdict"] + ("?" if v.get("confidence") == "unsure" else "")
    return out


def rescore(path: str) -> None:
    """Score the committed review (``blind-review.json``: the key with each reviewer's labels)."""
    sheets = json.loads(Path(path).read_text())["sheets"]
    n = len(sheets[0]["reviewers"])
    labels = [verdicts({str(s["sheet"]): s["reviewers"][i] for s in sheets}) for i in range(n)]
    score(labels, sheets)


def score(reviewers: list[dict[str, str]], key: list[dict]) -> None:
    """Each sheet's verdicts, then per kind of pair and (matched pairs) per result file the
    queries each reviewer calls one artwork or two."""
    kinds: dict[str, list[Counter]] = {}
    queries: dict[str, list[Counter]] = {}
    for p in sorted(key, key=lambda p: (p["kind"], p.get("file", ""), p["sheet"])):
        said = [r.get(str(p["sheet"]), "missing") for r in reviewers]
        for i, v in enumerate(said):
            kinds.setdefault(p["kind"], [Counter() for _ in reviewers])[i][v.rstrip("?")] += 1
            if p["kind"] == "matched":
                queries.setdefault(p["file"], [Counter() for _ in reviewers])[i][v.rstrip("?")] += (
                    p["queries"]
                )
        extra = f"{p['queries']}q {p['file']}" if p["kind"] == "matched" else p["kind"]
        print(f"{p['sheet']:3d} {' '.join(f'{v:<5}' for v in said)} {extra}: {p['a']} | {p['b']}")
    for name, table in (("pairs", kinds), ("queries", queries)):
        for k, counts in table.items():
            print(
                f"{name:<8} {k:<36} "
                + " / ".join(", ".join(f"{v} {n}" for v, n in sorted(c.items())) for c in counts)
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("results", nargs="*")
    parser.add_argument("--load", help="run.py --save data (for the control pairs)")
    parser.add_argument("--out", help="sheets and key.json go here")
    parser.add_argument("--review", help="score a committed review (blind-review.json)")
    parser.add_argument("--same", type=int, default=10)
    parser.add_argument("--lookalike", type=int, default=14)
    parser.add_argument(
        "--score", nargs="+", help="reviewers' labels: {sheet: {verdict: one|two, confidence}}"
    )
    args = parser.parse_args()
    if args.review:
        rescore(args.review)
        return
    out = Path(args.out)
    if args.score:
        labels = [verdicts(json.loads(Path(f).read_text())) for f in args.score]
        score(labels, json.loads((out / "key.json").read_text()))
        return
    rng = random.Random(SEED)
    with open(args.load, "rb") as fh:
        data = pickle.load(fh)
    matched = matched_pairs(args.results)
    skip = {(p["a"], p["b"]) for p in matched}
    pairs = matched + same_pairs(data, rng, args.same) + lookalike_pairs(data, args.lookalike, skip)
    rng.shuffle(pairs)
    draw(pairs, out)
    (out / "key.json").write_text(json.dumps(pairs, indent=1))
    print(
        f"{len(pairs)} sheets in {out}: "
        + ", ".join(f"{k} {n}" for k, n in Counter(p["kind"] for p in pairs).items())
    )


if __name__ == "__main__":
    main()
