"""Evidence for the false matches of the registry benchmark (issue 8): for every unregistered
query whose top answer is a registered work, compare the two *source pictures* directly with a
criterion that does not use the fingerprint (``similar.py``: grey thumbnails of the trimmed
pictures, normalised correlation, also against the mirror) and dump the pairs as PNGs.

    .venv/bin/python bench/registry/falsematches.py [--corpus 1000] [--negatives 200]

Same corpus split and distractor recipe as ``run.py`` (recolour works left out: they are hue
rotations of corpus pictures). Writes ``/tmp/falsematches/report.json`` and ``pair-*.png``.

It matches with the hash radius and the colour rejection only, not the verification stages
(``verify.py``: the 4×4 lumas and the detail grid), so it lists every candidate those stages
then have to judge: more pairs than ``run.py`` counts as false matches.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import run as R  # noqa: E402
import similar  # noqa: E402

F = R.F
S = R.S
OUT = Path("/tmp/falsematches")


def distractor_pictures(path: str, seed: int) -> list[tuple[str, Image.Image]]:
    """The pictures ``run.work_distractors`` fingerprints, with a name for each."""
    rng = random.Random(seed)
    img = R.load(path, 320)
    if img is None:
        return []
    pictures = [("whole", img), ("rot90", img.rotate(90, expand=True))]
    w, h = img.size
    for k in range(8):
        s = rng.uniform(0.45, 0.8)
        cw, ch = int(w * s), int(h * s)
        x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
        pictures.append((f"crop{k}:{x},{y},{cw},{ch}", img.crop((x, y, x + cw, y + ch))))
    return pictures


def work_distractor(args: tuple[str, int]) -> list[dict]:
    path, seed = args
    out = []
    for pname, p in distractor_pictures(path, seed):
        for vname, fp in F.registration_variants(np.asarray(p.convert("RGBA"))).items():
            if F.is_matchable(fp):
                out.append({**R.fp_dict(fp), "src": [path, seed, pname, vname]})
    return out


def work_registered(args: tuple[int, str]) -> dict | None:
    idx, path = args
    img = R.load(path)
    if img is None:
        return None
    reg = F.registration_variants(np.asarray(img))
    if not reg or not F.is_matchable(reg["full"]):
        return None
    return {"idx": idx, "path": path, "reg": {k: R.fp_dict(v) for k, v in reg.items()}}


def picture_of(src: list) -> Image.Image:
    path, seed, pname, _ = src
    if seed is None:
        return R.load(path)
    return dict(distractor_pictures(path, seed))[pname]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=int, default=1000)
    parser.add_argument("--negatives", type=int, default=200)
    parser.add_argument("--distractors", type=int, default=100_000)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    files = R.ensure_corpus()
    random.Random(8).shuffle(files)
    t0 = time.time()
    with mp.Pool(2) as pool:
        big = [
            p
            for p, ok in zip(files, pool.map(R.big_enough, files, chunksize=64), strict=True)
            if ok
        ]
        corpus_paths = big[: args.corpus]
        negative_paths = big[args.corpus : args.corpus + args.negatives]
        used = set(corpus_paths) | set(negative_paths)
        distractor_paths = [p for p in files if p not in used]
        reg = [r for r in pool.imap(work_registered, enumerate(corpus_paths), chunksize=4) if r]
        negs = pool.map(R.work_negatives, negative_paths, chunksize=4)
        distractors: list[dict] = []
        for batch in pool.imap(
            work_distractor, [(p, i) for i, p in enumerate(distractor_paths)], chunksize=16
        ):
            distractors.extend(batch)
            if len(distractors) >= args.distractors:
                pool.terminate()
                break
    print(
        f"fingerprinted in {time.time() - t0:.0f}s: {len(reg)} works, "
        f"{len(distractors)} distractors",
        flush=True,
    )
    table = R.Table()
    sources: list[list] = []
    for r in reg:
        for vname, fp in r["reg"].items():
            if S.informative(fp["hash"], fp["quality"]):
                sources.append([r["path"], None, "whole", vname])
            table.add(fp, r["idx"])
    for i, fp in enumerate(distractors):
        if S.informative(fp["hash"], fp["quality"]):  # what Table.add keeps
            table.add(fp, 2_000_000 + i)
            sources.append(fp["src"])
    table.freeze()
    found = []
    n = 0
    for path, neg in zip(negative_paths, negs, strict=True):
        if not neg:
            continue
        for tname, q in neg["queries"].items():
            n += 1
            best = None
            if R.low_information(q["ours"]):
                continue  # the service answers "low information"
            for vname, v in q["ours"].items():
                if not S.informative(v["hash"], v["quality"], S.QUERY_MIN_QUALITY):
                    continue
                qw = R.hex_to_words([v["hash"]])[0]
                hits, dists = R.brute_force(table.words, qw, S.RADIUS)
                if not hits.size:
                    continue
                qc = np.frombuffer(bytes.fromhex(v["colour"]), np.uint8).reshape(16, 3)[:, 1:]
                cd = np.abs(table.colour_arr[hits] - qc.astype(np.int32)).sum(axis=(1, 2))
                for h, d, c in zip(hits.tolist(), dists.tolist(), cd.tolist(), strict=True):
                    if c > S.COLOUR_REJECT:
                        continue
                    cost = d + c * S.COLOUR_WEIGHT
                    if best is None or cost < best[0]:
                        best = (cost, h, d, c, vname)
            if best:
                found.append(
                    {
                        "query": path,
                        "transform": tname,
                        "cost": best[0],
                        "hamming": best[2],
                        "colour": best[3],
                        "query_variant": best[4],
                        "registered": sources[best[1]],
                        "quality_q": q["ours"][best[4]]["quality"],
                        "quality_r": int(table.hashes and 0),
                    }
                )
    print(f"{len(found)} false matches in {n} unregistered queries", flush=True)
    for k, f in enumerate(found):
        a = R.load(f["query"])
        b = picture_of(f["registered"])
        f["similarity"] = similar.compare(a, b)
        if k < 200:
            pair = similar.side_by_side(a, b)
            pair.save(OUT / f"pair-{k:03d}.png")
    (OUT / "report.json").write_text(json.dumps({"queries": n, "found": found}, indent=1))
    for k, f in enumerate(found):
        print(
            k,
            f["transform"],
            f["hamming"],
            f["colour"],
            f["query_variant"],
            Path(f["query"]).name,
            "→",
            Path(f["registered"][0]).name,
            f["registered"][2:],
            f["similarity"],
        )


if __name__ == "__main__":
    main()
