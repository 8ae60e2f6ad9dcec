"""Small builders shared by the server tests."""

from __future__ import annotations

import io
import json
from typing import Any

from PIL import Image

HYENA = {
    "key": "hyena",
    "name": "Hyena Dude",
    "accounts": {"twitter": "hyena_dude", "weasyl": "hyenadude"},
}
TANRAAK = {
    "key": "tanraak",
    "name": "Tanraak",
    "primary": "furaffinity",
    "accounts": {"furaffinity": "tanraak", "bluesky": "tanraak.bsky.social"},
}


def png_bytes(
    size: tuple[int, int] = (64, 48), colour: tuple[int, int, int] = (200, 40, 40)
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def artwork_form(artwork: dict[str, Any], *images: bytes) -> dict[str, Any]:
    """A multipart body for POST /api/v1/artworks."""
    return {
        "artwork": json.dumps(artwork),
        "images": [(io.BytesIO(data), f"image{i}.png") for i, data in enumerate(images)],
    }


ARTWORK = {
    "title": "Trisk at dusk",
    "description": "Commission for @[hyena]. {credits}",
    "rating": "mature",
    "tags": ["hyena", "digital art"],
    "credits": [
        {"role": "artist", "person": "tanraak"},
        {"role": "commissioner", "person": "hyena"},
        {"role": "character_owner", "person": "hyena", "character": "Trisk"},
    ],
    "alt_text": ["A hyena in a red scarf at sunset"],
}
