"""Render one realistic draft for every platform and report the time per render.

Run: ``python bench/bench_render.py [--repeat N]``. The baseline, measured in the same run,
is ``str.format`` of the same text: the ratio shows what the engine costs over the cheapest
possible "render", so regressions stand out whatever the machine.
"""

from __future__ import annotations

import argparse
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.draft import Artwork, Person
from adapters.registry import all_adapters

DRAFT = {
    "title": "Trisk at dusk",
    "description": (
        "Commission for @[hyena]: **Trisk** on the hill at sunset, *finally* done. "
        "Support me on Patreon: https://patreon.com/tanraak\n\n"
        "Prints and more on [my shop](https://shop.example.com/trisk). {credits}\n\n"
        "夕暮れの丘でトリスクが赤いスカーフを巻いている。🦊✨"
    ),
    "rating": "mature",
    "content_flags": ["nudity"],
    "tags": ["hyena", "digital art", "commission", "sunset", "scarf"],
    "alt_text": "A hyena in a red scarf at sunset",
    "credits": [
        {"role": "artist", "person": "tanraak"},
        {"role": "commissioner", "person": "hyena"},
        {"role": "character_owner", "person": "hyena", "character": "Trisk"},
        {"role": "colorist", "person": "ann"},
    ],
    "canonical_url": "https://art.example/a/7Hk2",
}
PEOPLE = {
    "tanraak": {
        "name": "Tanraak",
        "primary": "furaffinity",
        "accounts": {
            "furaffinity": "tanraak",
            "twitter": "tanraak",
            "bluesky": "tanraak.bsky.social",
            "mastodon": "tanraak@furry.engineer",
        },
    },
    "hyena": {"name": "Hyena Dude", "accounts": {"twitter": "hyena_dude", "weasyl": "hyenadude"}},
    "ann": {"name": "Ann Colors", "accounts": {"tumblr": "ann-colors", "telegram": "ann_colors"}},
}


def per_call(fn, repeat: int) -> float:
    """Best-of-5 seconds per call (the minimum is the least noisy estimate)."""
    return min(timeit.repeat(fn, number=repeat, repeat=5)) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    artwork = Artwork.model_validate(DRAFT)
    people = {k: Person.model_validate(v) for k, v in PEOPLE.items()}
    template = "{title}\n\n{description}\n\nArt by {artist}"
    baseline = per_call(
        lambda: template.format(title=DRAFT["title"], description=DRAFT["description"], artist="x"),
        args.repeat * 100,
    )
    print(f"baseline str.format: {baseline * 1e6:10.2f} µs")
    print(f"{'platform':<12} {'µs/render':>10} {'× baseline':>12}  result")
    total = 0.0
    for adapter in all_adapters():
        adapter.render(artwork, people)  # warm caches (template parse, counters)
        seconds = per_call(lambda a=adapter: a.render(artwork, people), args.repeat)
        total += seconds
        result = adapter.render(artwork, people)
        status = f"ok, length {result['length']}/{result['limit']}" if result["ok"] else "error"
        print(f"{adapter.id:<12} {seconds * 1e6:10.1f} {seconds / baseline:12.0f}  {status}")
    print(f"{'all':<12} {total * 1e6:10.1f} {total / baseline:12.0f}")


if __name__ == "__main__":
    main()
