"""Builders shared by the registry tests: pictures with enough detail to be matched."""

from __future__ import annotations

import io
import json
import random

import numpy as np
from PIL import Image, ImageDraw

from tests.server.helpers import HYENA, TANRAAK, artwork_form


def picture(seed: int, size: tuple[int, int] = (320, 240), hue_shift: bool = False) -> Image.Image:
    """Line art (black outlines) filled with colours; ``hue_shift`` recolours the same art."""
    rng = random.Random(seed)
    img = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(img)
    w, h = size
    for _ in range(14):
        x0, y0 = rng.randrange(w - 40), rng.randrange(h - 40)
        x1, y1 = x0 + rng.randrange(20, w // 2), y0 + rng.randrange(20, h // 2)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        if hue_shift:
            colour = (colour[2], colour[0], colour[1])
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x0, y0, x1, y1), fill=colour, outline=(0, 0, 0), width=3)
    return img


def dot_grid(radius: int, side: int = 320, pitch: int = 32) -> Image.Image:
    """Graph paper with a dot in every square, off-centre (so not symmetric about either axis):
    5 pitches to 4 cells of the detail grid, so its four quarters are the same."""
    y, x = np.mgrid[0:side, 0:side]
    py, px = y % pitch, x % pitch
    on = (py == 5) | (px == 5) | ((px - 7) ** 2 + py**2 <= radius * radius)
    return Image.fromarray(np.where(on, 40, 235).astype(np.uint8)).convert("RGB")


def faint_stroke() -> Image.Image:
    """One thin grey diagonal stroke on white: a faint grey line (``verify.faint_line``)."""
    img = Image.new("RGB", (600, 400), "white")
    ImageDraw.Draw(img).line([(10, 390), (590, 10)], fill=(110, 110, 110), width=12)
    return img


def encode(img: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **options)
    return buffer.getvalue()


def publish_picture(artist, img_bytes: bytes, title: str = "Trisk at dusk") -> dict:  # type: ignore[no-untyped-def]
    """Create people (first time), an artwork with the picture, publish it; the publish answer."""
    for person in (HYENA, TANRAAK):
        artist.post("/api/v1/people", json=person)
    body = {
        "title": title,
        "rating": "general",
        "credits": [
            {"role": "artist", "person": "tanraak"},
            {"role": "commissioner", "person": "hyena"},
            {"role": "character_owner", "person": "hyena", "character": "Trisk"},
        ],
        "alt_text": ["a test picture"],
    }
    created = artist.post("/api/v1/artworks", data=artwork_form(body, img_bytes))
    assert created.status_code == 201, created.json
    published = artist.post(f"/api/v1/artworks/{created.json['id']}/publish")
    assert published.status_code == 200, published.json
    return {"id": created.json["id"], **published.json}


def match(client, data: bytes, filename: str = "q.png"):  # type: ignore[no-untyped-def]
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    boundary, body = encode_multipart({"image": FileStorage(io.BytesIO(data), filename)})
    response = client.post(
        "/api/v1/match", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    response.get_data()
    return response


__all__ = ["artwork_form", "dot_grid", "encode", "json", "match", "picture", "publish_picture"]
