"""The Creditline image fingerprint, version 1 (specified step by step in docs/FINGERPRINT.md).

Everything here is defined on decoded RGBA pixels with integer and IEEE-754 float64 arithmetic
in a fixed order, with no transcendental function and no library resampling, so that the
browser extension's plain-JavaScript port produces the same bits from the same pixels. Where
numpy is used it only vectorises over independent outputs; every sum is accumulated in the
order the specification gives (numpy's element-wise ``+``/``*`` never fuse into FMA).

A fingerprint is three parts:

- ``hash``: 256 bits, the signs-vs-median of the 16×16 lowest non-DC DCT coefficients of a
  64×64 luma image (PDQ's layout, our own resampling and quantisation);
- ``colour``: 48 bytes, a 4×4 grid of mean (Y, Cb, Cr), which tells apart recolours that share
  their line art;
- ``bucket``: 16 bits from the grid's luma, the only thing the privacy-preserving lookup sends.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

VERSION = 1
SIZE = 64  # the working image is SIZE × SIZE
FREQS = 16  # DCT frequencies 1..16 on each axis → 256 bits
TRIM_TOLERANCE = 32  # per channel, on 0..255 values
TRIM_NUMERATOR, TRIM_DENOMINATOR = 3, 4  # a frame line is ≥ 75 % near the frame colour
MIN_SIDE = 24  # after trimming; smaller is too little information to match
MIN_QUALITY = 50  # gradient quality (0..100) below which an image is not matched
CROP_VARIANTS = {"c05": 5, "c10": 10, "c15": 15}  # registration-side centre crops, % per side
DETAIL = 8  # the detail grid is DETAIL × DETAIL cells
QUANT = 256.0  # DCT coefficients are rounded to multiples of 1/QUANT before thresholding


class LowInformation(ValueError):
    """The image is too small or too flat to be matched reliably."""


@dataclass(frozen=True)
class Fingerprint:
    hash: str  # 64 lowercase hex digits
    colour: bytes  # 48 bytes: 16 cells × (Y, Cb, Cr)
    bucket: int  # 0..65535
    quality: int  # 0..100
    width: int  # of the trimmed region the hash describes
    height: int
    detail: bytes = b""  # 64 bytes: 8 × 8 cell lumas (docs §7b); empty for rows stored before it

    @property
    def hash_bytes(self) -> bytes:
        return bytes.fromhex(self.hash)


# -- step 1: alpha over white ---


def composite(rgba: np.ndarray) -> np.ndarray:
    """``(c·a + 255·(255−a) + 127) // 255`` per channel: integer RGB on a white background."""
    if rgba.ndim != 3 or rgba.shape[2] != 4 or rgba.dtype != np.uint8:
        raise ValueError("expected an H×W×4 uint8 RGBA array")
    a = rgba[:, :, 3:4].astype(np.int32)
    c = rgba[:, :, :3].astype(np.int32)
    return (c * a + 255 * (255 - a) + 127) // 255


# -- step 2: trim near-uniform borders --------------------------------------------------------


def _uniform_lines(lines: np.ndarray, reference: np.ndarray | None) -> np.ndarray:
    """For an N×L×3 stack of lines. Strict (``reference`` None): is every pixel of the line
    near the line's first pixel? Tolerant: are ≥ 75 % of its pixels near ``reference`` (the
    colour of a frame, which may carry a little text)?"""
    if reference is None:
        return (np.abs(lines - lines[:, :1, :]).max(axis=2) <= TRIM_TOLERANCE).all(axis=1)
    near = np.abs(lines - reference[None, None, :]).max(axis=2) <= TRIM_TOLERANCE
    return near.sum(axis=1) * TRIM_DENOMINATOR >= TRIM_NUMERATOR * lines.shape[1]


def _leading(flags: np.ndarray) -> int:
    off = np.flatnonzero(~flags)
    return int(off[0]) if off.size else int(flags.size)


def trim_box(rgb: np.ndarray, tolerant: bool = False) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right), half-open, after removing uniform border lines: top rows,
    bottom rows, left columns, right columns, repeated until a round removes nothing. Lines
    are never all removed in one direction (stripes); ``None`` when the image is one colour."""
    h, w = rgb.shape[:2]
    top, bottom, left, right = 0, h, 0, w
    reference = rgb[0, 0].copy() if tolerant else None  # the frame's colour: the top-left pixel
    while True:
        before = (top, bottom, left, right)
        rows = _uniform_lines(rgb[top:bottom, left:right], reference)
        k = _leading(rows)
        if k < rows.size:
            top += k
            bottom -= _leading(rows[k:][::-1])
        cols = _uniform_lines(rgb[top:bottom, left:right].transpose(1, 0, 2), reference)
        k = _leading(cols)
        if k < cols.size:
            left += k
            right -= _leading(cols[k:][::-1])
        elif k == cols.size and rows.size and _leading(rows) == rows.size:
            return None  # every row and every column uniform: one flat colour
        if (top, bottom, left, right) == before:
            return top, bottom, left, right


# -- step 3: exact box-filter resize ---


def _box_axis(values: np.ndarray, axis_len: int) -> np.ndarray:
    """Area-average axis 1 of an N×L×C float64 array down (or up) to SIZE samples."""
    n = values.shape[0]
    out = np.zeros((n, SIZE, values.shape[2]), dtype=np.float64)
    o = np.arange(SIZE, dtype=np.float64)
    a = o * axis_len / SIZE  # exact: integer × integer / power of two
    b = (o + 1) * axis_len / SIZE
    x0 = np.floor(a).astype(np.int64)
    x1 = np.ceil(b).astype(np.int64)
    for t in range(int((x1 - x0).max())):
        x = x0 + t
        valid = x < x1
        xf = x.astype(np.float64)
        weight = np.where(valid, np.minimum(xf + 1, b) - np.maximum(xf, a), 0.0)
        out += weight[None, :, None] * values[:, np.minimum(x, axis_len - 1), :]
    return out / (axis_len / SIZE)


def resize(rgb: np.ndarray) -> np.ndarray:
    """H×W×3 integers → SIZE×SIZE×3 float64: horizontal pass, then vertical (docs §3)."""
    h, w = rgb.shape[:2]
    rows = np.empty((h, SIZE, 3), dtype=np.float64)
    for start in range(0, h, 256):  # strips bound the float64 copy of a large image
        strip = rgb[start : start + 256].astype(np.float64)
        rows[start : start + 256] = _box_axis(strip, w)
    cols = _box_axis(rows.transpose(1, 0, 2), h)  # (x, y', c)
    return cols.transpose(1, 0, 2).copy()  # (y', x', c)


def luma(rgb64: np.ndarray) -> np.ndarray:
    r, g, b = rgb64[:, :, 0], rgb64[:, :, 1], rgb64[:, :, 2]
    return (299.0 * r + 587.0 * g + 114.0 * b) / 1000.0


# -- step 4: DCT without transcendental functions ----------------------------------------------


def _cos_table() -> np.ndarray:
    """cos(π·m/128) for m = 0..255 from square roots, one recurrence and symmetry."""
    x = 0.0  # cos(π/2)
    for _ in range(6):  # half angles: π/4, π/8, π/16, π/32, π/64, π/128
        x = math.sqrt((1.0 + x) / 2.0)
    first = [1.0, x]
    for m in range(1, 64):
        first.append(2.0 * x * first[m] - first[m - 1])
    table = [0.0] * 256
    for m in range(256):
        if m <= 64:
            table[m] = first[m]
        elif m <= 128:
            table[m] = -first[128 - m]
        elif m <= 192:
            table[m] = -first[m - 128]
        else:
            table[m] = first[256 - m]
    return np.array(table, dtype=np.float64)


COS = _cos_table()
# DCT[k-1][i] = cos(π·k·(2i+1)/128) for k = 1..16, i = 0..63
DCT = np.array(
    [[COS[(k * (2 * i + 1)) % 256] for i in range(SIZE)] for k in range(1, FREQS + 1)],
    dtype=np.float64,
)


def dct_coefficients(y64: np.ndarray) -> np.ndarray:
    """F[u][v] = Σ_j (Σ_i DCT[u][i]·Y[i][j]) · DCT[v][j], both sums in ascending order."""
    a = np.zeros((FREQS, SIZE), dtype=np.float64)
    for i in range(SIZE):
        a += DCT[:, i, None] * y64[i, None, :]
    f = np.zeros((FREQS, FREQS), dtype=np.float64)
    for j in range(SIZE):
        f += a[:, j, None] * DCT[None, :, j]
    return f


def hash_bits(y64: np.ndarray) -> np.ndarray:
    """256 booleans, bit n = (u−1)·16 + (v−1): is the quantised coefficient above the median?"""
    q = np.floor(dct_coefficients(y64) * QUANT + 0.5).ravel()
    s = np.sort(q)
    twice_median = s[127] + s[128]
    return 2.0 * q > twice_median


def bits_to_hex(bits: np.ndarray) -> str:
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()  # MSB first


# -- step 5: quality ---


def quality(y64: np.ndarray) -> int:
    dx = np.floor(np.abs(y64[:, 1:] - y64[:, :-1]) * 100.0 / 255.0)
    dy = np.floor(np.abs(y64[1:, :] - y64[:-1, :]) * 100.0 / 255.0)
    total = int(dx.sum()) + int(dy.sum())  # integers: the order of summation does not matter
    return min(100, total // 90)


# -- step 6: colour grid and bucket ----------------------------------------------------------


def _byte(x: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(x + 0.5), 0, 255).astype(np.uint8)


def colour_grid(rgb64: np.ndarray) -> bytes:
    cells = np.zeros((4, 4, 3), dtype=np.float64)
    blocks = rgb64.reshape(4, 16, 4, 16, 3)
    for i in range(16):  # rows of a block, then columns: the specified order
        for j in range(16):
            cells += blocks[:, i, :, j, :]
    cells = cells / 256.0
    r, g, b = cells[:, :, 0], cells[:, :, 1], cells[:, :, 2]
    y = (299.0 * r + 587.0 * g + 114.0 * b) / 1000.0
    out = np.stack([_byte(y), _byte((b - y) / 2.0 + 128.0), _byte((r - y) / 2.0 + 128.0)], axis=2)
    return out.tobytes()  # cell (row, col) row-major, each (Y, Cb, Cr)


def detail_grid(rgb64: np.ndarray) -> bytes:
    """8 × 8 cell lumas (docs §7b): the brightness layout at a resolution where a drawing's
    details show, for verifying a match (``verify.py``); the colour grid's 4 × 4 cannot see a
    missing clock face or a darker shading."""
    cells = np.zeros((DETAIL, DETAIL, 3), dtype=np.float64)
    side = SIZE // DETAIL
    blocks = rgb64.reshape(DETAIL, side, DETAIL, side, 3)
    for i in range(side):  # rows of a block, then columns: the specified order
        for j in range(side):
            cells += blocks[:, i, :, j, :]
    cells = cells / float(side * side)
    y = (299.0 * cells[:, :, 0] + 587.0 * cells[:, :, 1] + 114.0 * cells[:, :, 2]) / 1000.0
    return _byte(y).tobytes()  # cell (row, col) row-major


def bucket_of(colour: bytes) -> int:
    """16 bits: cell luma above the median of the 16 cell lumas, cell 0 → bit 15."""
    y = np.frombuffer(colour, dtype=np.uint8)[0::3].astype(np.int64)
    s = np.sort(y)
    twice_median = int(s[7] + s[8])
    value = 0
    for n in range(16):
        if 2 * int(y[n]) > twice_median:
            value |= 1 << (15 - n)
    return value


def mirror_bucket(bucket: int) -> int:
    """The bucket of the horizontally mirrored image: cell (r, c) ↔ (r, 3 − c)."""
    value = 0
    for n in range(16):
        if bucket >> (15 - n) & 1:
            r, c = divmod(n, 4)
            value |= 1 << (15 - (r * 4 + 3 - c))
    return value


def bucket_alternates(colour: bytes, flips: int = 2) -> list[int]:
    """The bucket and the buckets with its ``flips`` least certain bits flipped (registry side)."""
    y = np.frombuffer(colour, dtype=np.uint8)[0::3].astype(np.int64)
    s = np.sort(y)
    margin = np.abs(2 * y - int(s[7] + s[8]))
    weakest = [int(n) for n in np.argsort(margin, kind="stable")[:flips]]
    base = bucket_of(colour)
    keys = {base}
    for mask in range(1, 1 << flips):
        key = base
        for k, n in enumerate(weakest):
            if mask >> k & 1:
                key ^= 1 << (15 - n)
        keys.add(key)
    return sorted(keys)


def colour_distance(a: bytes, b: bytes) -> int:
    """Σ over cells of |ΔCb| + |ΔCr| (luma ignored: brightness and contrast edits keep hue)."""
    x = np.frombuffer(a, dtype=np.uint8).reshape(16, 3)[:, 1:].astype(np.int32)
    y = np.frombuffer(b, dtype=np.uint8).reshape(16, 3)[:, 1:].astype(np.int32)
    return int(np.abs(x - y).sum())


# -- the whole pipeline ---


def fingerprint_rgb(rgb: np.ndarray) -> Fingerprint:
    """Fingerprint an already composited, already trimmed H×W×3 integer image."""
    h, w = rgb.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise LowInformation(f"{w}×{h} after trimming: smaller than {MIN_SIDE} px")
    rgb64 = resize(rgb)
    y64 = luma(rgb64)
    q = quality(y64)
    colour = colour_grid(rgb64)
    return Fingerprint(
        bits_to_hex(hash_bits(y64)), colour, bucket_of(colour), q, w, h, detail_grid(rgb64)
    )


def trimmed(rgb: np.ndarray, tolerant: bool = False) -> np.ndarray:
    """Strict trim; with ``tolerant``, a tolerant trim (frames with text) then a strict one."""
    if tolerant:
        box = trim_box(rgb, tolerant=True)
        if box is None:
            raise LowInformation("the image is a single flat colour")
        rgb = rgb[box[0] : box[1], box[2] : box[3]]
    box = trim_box(rgb)
    if box is None:
        raise LowInformation("the image is a single flat colour")
    top, bottom, left, right = box
    return rgb[top:bottom, left:right]


def fingerprint(rgba: np.ndarray) -> Fingerprint:
    """The fingerprint of decoded RGBA pixels (H×W×4 uint8). Raises LowInformation."""
    return fingerprint_rgb(trimmed(composite(rgba)))


def is_matchable(fp: Fingerprint) -> bool:
    return fp.quality >= MIN_QUALITY


def registration_variants(rgba: np.ndarray) -> dict[str, Fingerprint]:
    """``full`` plus centre crops of the whole picture, each trimmed (docs §7, server side
    only); empty if the picture is low-information."""
    rgb = composite(rgba)
    try:
        found = {"full": fingerprint_rgb(trimmed(rgb))}
    except LowInformation:
        return {}
    if trim_box(rgb) != (0, rgb.shape[0], 0, rgb.shape[1]) and min(rgb.shape[:2]) >= MIN_SIDE:
        found["canvas"] = fingerprint_rgb(rgb)  # untrimmed: marks added in the margins
    h, w = rgb.shape[:2]
    for name, percent in CROP_VARIANTS.items():
        dy, dx = h * percent // 100, w * percent // 100
        try:
            found[name] = fingerprint_rgb(trimmed(rgb[dy : h - dy, dx : w - dx]))
        except LowInformation:
            continue
    return found


def query_variants(rgba: np.ndarray) -> dict[str, Fingerprint]:
    """What a query checks (docs §8): the picture strictly trimmed (``as_is``), its mirror,
    and, when it differs, the picture with a frame removed by the tolerant trim (``deframed``).
    Empty when the picture is low-information."""
    rgb = composite(rgba)
    try:
        strict = trimmed(rgb)
        found = {"as_is": fingerprint_rgb(strict), "mirrored": fingerprint_rgb(strict[:, ::-1])}
    except LowInformation:
        return {}
    if strict.shape != rgb.shape and min(rgb.shape[:2]) >= MIN_SIDE:
        found["untrimmed"] = fingerprint_rgb(rgb)
    try:
        deframed = trimmed(rgb, tolerant=True)
        if deframed.shape != strict.shape:
            found["deframed"] = fingerprint_rgb(deframed)
    except LowInformation:
        pass
    return found


def decode(data: bytes, max_pixels: int) -> np.ndarray:
    """Decode image bytes to RGBA (first frame; EXIF orientation applied) within a pixel budget."""
    from PIL import ImageOps

    with Image.open(io.BytesIO(data)) as image:
        if image.width * image.height > max_pixels:
            raise ValueError(f"{image.width}×{image.height} pixels: over the {max_pixels} limit")
        image.seek(0)
        image = ImageOps.exif_transpose(image)
        return np.asarray(image.convert("RGBA"), dtype=np.uint8)
