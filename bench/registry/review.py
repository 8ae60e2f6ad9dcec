"""Human review of the registry benchmark's remaining false matches (issue 8).

``run.py`` counts a false match when an unregistered picture's top answer is a registered work,
leaving out pictures that ``similar.py`` (an automatic pixel criterion) finds to be the same
drawing as a registered one. That criterion misses edited copies: the same drawing with its
anti-aliasing removed, a skyline added, a page behind it, a part removed, or other colours.
Matching those to the original is what an attribution registry is for, so each remaining pair
is looked at by a person and labelled in ``reviewed.json``:

- ``derivative``: one picture is the other edited (parts added or removed, recoloured,
  re-rendered); pointing to the original is the right attribution hint;
- ``unrelated``: different pictures; a real false match.

A pair that nobody has labelled counts as unrelated. This script draws every pair side by side
(``--sheets DIR``) for the review and prints the split:

    .venv/bin/python bench/registry/review.py bench/registry/results.json --sheets /tmp/review
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import run as R  # noqa: E402
import similar  # noqa: E402
import transforms as T  # noqa: E402

REVIEWED = HERE / "reviewed.json"
CLIPART = R.CLIPART + "/"


def short(label: str) -> str:
    return label.replace(CLIPART, "")


def picture(label: str) -> Image.Image | None:
    """The picture a shortened ``run.py`` work label names (a file, a distractor's source file,
    or a file turned in hue)."""
    path, _, turned = label.removeprefix("distractor ").partition(" hue-turned ")
    file = Path(path) if path.startswith("/") else Path(CLIPART + path)  # --holdout-dir's
    if not file.is_file():
        return None
    img = Image.open(file).convert("RGBA")
    return T.hue_rotate(img, int(turned.split()[0])) if turned else img


def pairs(results: dict) -> dict[tuple[str, str], list[str]]:
    """(query, matched) → the transforms under which the query matched, automatic near
    duplicates left out."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for e in results["false_match_examples"]:
        if e["registered_near_duplicate"] is None:
            found[(short(e["query"]), short(e["matched"]))].append(e["transform"])
    return dict(found)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("results")
    parser.add_argument("--sheets", help="draw each pair side by side into this folder")
    args = parser.parse_args()
    results = json.loads(Path(args.results).read_text())
    verdicts = {(v["query"], v["matched"]): v for v in json.loads(REVIEWED.read_text())["pairs"]}
    found = pairs(results)
    totals: dict[str, int] = defaultdict(int)
    for n, ((query, matched), transforms) in enumerate(sorted(found.items())):
        v = verdicts.get((query, matched), {"verdict": "unreviewed", "why": ""})
        totals[v["verdict"]] += len(transforms)
        print(f"{len(transforms):3d}  {v['verdict']:<11} {query}  ->  {matched}  {v['why']}")
        if args.sheets:
            a, b = picture(query), picture(matched)
            if a is not None and b is not None:
                Path(args.sheets).mkdir(parents=True, exist_ok=True)
                similar.side_by_side(a, b).save(Path(args.sheets) / f"pair-{n:02d}.png")
    queries = results["false_matches_per_10k_unregistered_queries"]["deduplicated"]["queries"]
    unrelated = totals["unrelated"] + totals["unreviewed"]
    print(
        f"de-duplicated false matches: {sum(totals.values())} of {queries} queries; "
        f"reviewed as derivatives: {totals['derivative']}; unrelated: {totals['unrelated']}; "
        f"not reviewed: {totals['unreviewed']}; "
        f"false matches between unrelated pictures: {unrelated * 1e4 / max(1, queries):.2f} "
        "per 10,000 queries"
    )


if __name__ == "__main__":
    main()
