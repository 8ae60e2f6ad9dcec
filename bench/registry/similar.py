"""Are two pictures the same drawing? A criterion independent of the fingerprint under test.

The registry's fingerprint is a DCT sign hash of a 64×64 luma image plus a colour grid; this
check uses neither: both pictures are composited on white, trimmed to the bounding box of their
non-white pixels (PIL's ``getbbox`` on the difference from white), reduced to 24×24 grey
thumbnails by area averaging, and compared by Pearson correlation of the thumbnails and by the
mean absolute difference of 8×8 RGB thumbnails (colour). The mirror of the second picture is
tried too (left/right variants of one drawing are common in clip art). Used by ``run.py`` to
de-duplicate the corpus before it is split into registered and unregistered pictures, and by
``falsematches.py`` to judge each false match.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageChops, ImageOps

GREY = 24
COLOUR = 8
SAME_CORRELATION = 0.90  # grey thumbnails this correlated, ...
SAME_COLOUR = 24.0  # ... and RGB thumbnails within this mean absolute difference (0..255)


def flat_trimmed(img: Image.Image) -> Image.Image:
    base = Image.new("RGBA", img.size, (255, 255, 255, 255))
    rgb = Image.alpha_composite(base, img.convert("RGBA")).convert("RGB")
    diff = ImageChops.difference(rgb, Image.new("RGB", rgb.size, (255, 255, 255)))
    box = diff.convert("L").point(lambda v: 255 if v > 24 else 0).getbbox()
    return rgb.crop(box) if box else rgb


def thumbs(img: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    """(grey GREY×GREY zero-mean unit-norm vector, RGB COLOUR×COLOUR×3 float array)."""
    rgb = flat_trimmed(img)
    grey = np.asarray(rgb.convert("L").resize((GREY, GREY), Image.Resampling.BOX), np.float64)
    g = grey.ravel() - grey.mean()
    norm = float(np.linalg.norm(g))
    g = g / norm if norm > 0 else g
    colour = np.asarray(rgb.resize((COLOUR, COLOUR), Image.Resampling.BOX), np.float64)
    return g, colour


CRITERION = (
    f"grey {GREY}x{GREY} thumbnails of the pictures trimmed of white margins correlate >= "
    f"{SAME_CORRELATION} and {COLOUR}x{COLOUR} RGB thumbnails differ by <= {SAME_COLOUR} "
    "(mean absolute, 0-255), as they are or with one mirrored"
)


def thumbs_both(img: Image.Image) -> dict[str, np.ndarray]:
    """The picture's thumbnails as is (``g``, ``c``) and mirrored (``gm``, ``cm``)."""
    g, c = thumbs(img)
    gm, cm = thumbs(ImageOps.mirror(img.convert("RGBA")))
    return {"g": g, "c": c.ravel(), "gm": gm, "cm": cm.ravel()}


def turned(t: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The thumbnails of the picture turned 90° counter-clockwise (PIL ``rotate(90,
    expand=True)``, as ``run.py`` registers distractors): trimming, the grey conversion and the
    box reduction to a fixed square commute with the turn, so the thumbnails turn with it
    (checked against thumbnails of the turned picture: correlation 0.9999)."""

    def grey(g: np.ndarray) -> np.ndarray:
        return np.rot90(g.reshape(GREY, GREY)).ravel()

    def colour(c: np.ndarray) -> np.ndarray:
        return np.rot90(c.reshape(COLOUR, COLOUR, 3), axes=(0, 1)).ravel()

    # the mirror of the turned picture is the turned mirror turned the other way round
    return {
        "g": grey(t["g"]),
        "c": colour(t["c"]),
        "gm": np.rot90(t["gm"].reshape(GREY, GREY), -1).ravel(),
        "cm": np.rot90(t["cm"].reshape(COLOUR, COLOUR, 3), -1, axes=(0, 1)).ravel(),
    }


def near_duplicates(
    queries: list[dict[str, np.ndarray]], registered: list[dict[str, np.ndarray]], labels: list[str]
) -> list[str | None]:
    """For each query picture, the label of a registered picture that is the same drawing."""
    if not registered:
        return [None] * len(queries)
    g = np.stack([r["g"] for r in registered])
    c = np.stack([r["c"] for r in registered])
    out: list[str | None] = []
    for q in queries:
        same = np.zeros(len(registered), dtype=bool)
        for gq, cq in ((q["g"], q["c"]), (q["gm"], q["cm"])):
            corr = g @ gq
            mad = np.abs(c - cq[None, :]).mean(axis=1)
            same |= (corr >= SAME_CORRELATION) & (mad <= SAME_COLOUR)
        hits = np.flatnonzero(same)
        out.append(labels[int(hits[0])] if hits.size else None)
    return out


def compare(a: Image.Image, b: Image.Image) -> dict:
    """Correlation and colour difference of ``a`` against ``b`` and against ``b`` mirrored."""
    ga, ca = thumbs(a)
    out = {}
    for name, other in (("as_is", b), ("mirrored", ImageOps.mirror(b.convert("RGBA")))):
        gb, cb = thumbs(other)
        out[name] = {
            "correlation": round(float(ga @ gb), 3),
            "colour_mad": round(float(np.abs(ca - cb).mean()), 1),
        }
    best = max(out.values(), key=lambda v: v["correlation"])
    out["same_drawing"] = bool(
        best["correlation"] >= SAME_CORRELATION and best["colour_mad"] <= SAME_COLOUR
    )
    return out


def side_by_side(a: Image.Image, b: Image.Image, height: int = 256) -> Image.Image:
    def fit(img: Image.Image) -> Image.Image:
        rgb = flat_trimmed(img)
        w = max(1, round(rgb.width * height / max(1, rgb.height)))
        return rgb.resize((min(w, 2 * height), height))

    x, y = fit(a), fit(b)
    out = Image.new("RGB", (x.width + y.width + 8, height), (255, 0, 255))
    out.paste(x, (0, 0))
    out.paste(y, (x.width + 8, 0))
    return out
