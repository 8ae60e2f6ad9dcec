"""Name the source picture of every distractor fingerprint in a run saved by an older
``run.py`` (before distractors carried ``src``), so that its false matches can be reviewed.

    .venv/bin/python bench/registry/attach_sources.py /tmp/xd/main.pkl

Distractors were fingerprinted source by source, in the order of ``distractor_sources``, each
source with the seed of its place among the pictures not in the corpus or the unregistered
set; recomputing the batches in that order gives each fingerprint's source. Every recomputed
hash must equal the stored one, or nothing is written.
"""

from __future__ import annotations

import multiprocessing as mp
import pickle
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import run as R  # noqa: E402


def main() -> None:
    path = Path(sys.argv[1])
    with path.open("rb") as fh:
        data = pickle.load(fh)
    files = R.ensure_corpus()
    random.Random(8).shuffle(files)
    used = {c["path"] for c in data["corpus"]} | {p for p, _ in data["negatives"]}
    seed = {p: i for i, p in enumerate(p for p in files if p not in used)}
    sources = data["distractor_sources"]
    with mp.Pool() as pool:
        batches = pool.map(R.work_distractors, [(p, seed[p]) for p in sources], chunksize=8)
    at = 0
    for src, (source, _, batch) in enumerate(batches):
        assert source == sources[src]
        for fp in batch:
            stored = data["distractors"][at]
            if stored["hash"] != fp["hash"]:
                sys.exit(f"fingerprint {at} ({source}) differs from the saved one: not written")
            stored["src"] = src
            at += 1
    if at != len(data["distractors"]):
        sys.exit(f"recomputed {at} fingerprints, saved {len(data['distractors'])}: not written")
    with path.open("wb") as fh:
        pickle.dump(data, fh)
    print(f"{at} distractor fingerprints of {len(sources)} pictures named", flush=True)


if __name__ == "__main__":
    main()
