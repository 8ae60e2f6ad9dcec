"""Shared drafts for the adapter tests (a plain module: tests/ has no packages)."""

from __future__ import annotations

import copy
from typing import Any

PEOPLE: dict[str, Any] = {
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
    "nobody": {"name": "No Accounts"},
}

ARTWORK: dict[str, Any] = {
    "title": "Trisk at dusk",
    "description": (
        "Commission for @[hyena]. Support me on Patreon: https://patreon.com/tanraak {credits}"
    ),
    "rating": "mature",
    "tags": ["hyena", "digital art"],
    "alt_text": "A hyena in a red scarf at sunset",
    "credits": [
        {"role": "artist", "person": "tanraak"},
        {"role": "commissioner", "person": "hyena"},
        {"role": "character_owner", "person": "hyena", "character": "Trisk"},
    ],
    "canonical_url": "https://art.example/a/7Hk2",
}


def request(**artwork: Any) -> dict[str, Any]:
    body = {"artwork": {**copy.deepcopy(ARTWORK), **artwork}, "people": copy.deepcopy(PEOPLE)}
    return body
