"""Verification of a structural match by the brightness layout (issue 8; docs/FINGERPRINT.md §9).

A hash within the Hamming radius and a chroma-close colour grid still let through the same line
art in another rendering: a black balloon and a purple one, a shaded map and a black one. The
colour stage compares chroma only (so that brightness and contrast edits do not count), and the
hash is a sign pattern, blind to how dark the drawing is. This stage looks at the 4×4 cell lumas
the fingerprint already carries (bytes 0, 3, 6, … of ``colour``): a repost of the same picture
changes them by an affine map (brightness, contrast, a uniform re-encode), so the query's lumas
are fitted as ``a · candidate + b`` and the candidate is kept only if the fit is good
(correlation ≥ ``min_correlation``) and the gain ``a`` is plausible for an edit
(``1/max_gain ≤ a ≤ max_gain``). A matching-side rule: the fingerprint's bits are unchanged.

The thresholds were chosen on a tuning split of the benchmark disjoint from the reported one
(bench/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N = 16  # cells
# Σ(y − ȳ)² below 64 (cell standard deviation under 2 levels): a layout with no information.
# In the integer sums below (N·Σyy − (Σy)² = N·Σ(y − ȳ)²) that is 16 · 64.
FLAT = N * 64


D = 64  # detail cells (8 × 8, docs/FINGERPRINT.md §7b)
DETAIL_FLAT = D * 64  # 64·Σ(y − ȳ)² < 64²: a cell standard deviation under 1 level
# A grid that repeats its 4 × 4 quarters: the squared differences between each cell and the
# cells 4 to its right and 4 below (64 pairs), ``repeat``, are at most 1/16 of Σ(y − ȳ)²
# (two unrelated halves give about twice it). In the integer sums: 64·16·repeat ≤ 64·Σ(y − ȳ)².
TILED = D * 16
# A faint grey line (``faint_line``): the 8 × 8 grid's 2 × 2 gradients point one way
# (coherence² ≥ 9/10), its cells span at most 128 levels, and the 4 × 4 colour grid is nearly
# grey (Σ |Cb − 128| + |Cr − 128| over the 16 cells ≤ 256, 8 levels a value on average).
LINE_COHERENCE = (9, 10)
LINE_RANGE = 128
LINE_CHROMA = 256


@dataclass(frozen=True)
class Rule:
    """Acceptance thresholds; ``None`` switches a test off. The first two test the 4×4 cell
    lumas of the colour grid; the ``detail_*`` ones the 8×8 detail grid (``detail_accepted``)."""

    min_correlation: float | None
    max_gain: float | None
    detail_max_gain: float | None = None
    detail_max_residual: int | None = None  # luma levels (0..255), worst cell after the fit
    detail_min_correlation: float | None = None

    @property
    def name(self) -> str:
        def show(x: float | None) -> str:
            return "off" if x is None else f"{x:g}"

        base = f"corr>={show(self.min_correlation)},gain<={show(self.max_gain)}"
        if not self.checks_detail:
            return base
        name = (
            f"{base},detail_gain<={show(self.detail_max_gain)},"
            f"detail_residual<={show(self.detail_max_residual)}"
        )
        if self.detail_min_correlation is None:  # the names results files have always used
            return name
        return f"{name},detail_corr>={show(self.detail_min_correlation)}"

    @property
    def checks_detail(self) -> bool:
        return (
            self.detail_max_gain is not None
            or self.detail_max_residual is not None
            or self.detail_min_correlation is not None
        )


OFF = Rule(None, None)


def lumas(colour: bytes) -> np.ndarray:
    """The 16 cell lumas of a 48-byte colour grid (int64)."""
    return np.frombuffer(colour, dtype=np.uint8)[0::3].astype(np.int64)


@dataclass(frozen=True)
class Fit:
    """Integer least-squares sums of ``query ≈ gain · candidate + offset`` (arrays, one per
    candidate): ``sqc = N·Σqc − Σq·Σc``, ``scc``, ``sqq`` likewise. Integers below 2⁵³, so the
    extension (extension/lib/verify.js) computes the same values exactly; correlation is
    ``sqc / √(sqq·scc)`` and gain ``sqc / scc``."""

    sqc: np.ndarray
    scc: np.ndarray
    sqq: int

    @property
    def correlation(self) -> np.ndarray:
        den = np.sqrt(np.maximum(self.scc, 1).astype(np.float64) * max(self.sqq, 1))
        return self.sqc / den

    @property
    def gain(self) -> np.ndarray:
        return self.sqc / np.maximum(self.scc, 1)


def fit(query: np.ndarray, candidates: np.ndarray) -> Fit:
    """The sums for an (n,) integer query against (M, n) integer candidates (n = 16 cells
    here, 64 for the detail grid)."""
    q = np.asarray(query, dtype=np.int64)
    c = np.atleast_2d(np.asarray(candidates, dtype=np.int64))
    n, sq, sc = q.size, int(q.sum()), c.sum(axis=1)
    return Fit(
        sqc=n * (c @ q) - sq * sc,
        scc=n * (c * c).sum(axis=1) - sc * sc,
        sqq=n * int(q @ q) - sq * sq,
    )


def accepted(f: Fit, rule: Rule) -> np.ndarray:
    """Which candidates the rule keeps. Two flat layouts agree; one flat layout against a
    structured one does not (a correlation test, when on, fails it). Comparisons are done on the
    integer sums in one fixed order, ``sqc² ≥ (t·t)·sqq·scc`` and ``sqc ≤ g·scc``,
    ``g·sqc ≥ scc``, so that JavaScript gives the same answer bit for bit."""
    scc = f.scc.astype(np.float64)
    sqc = f.sqc.astype(np.float64)
    keep = np.ones(scc.shape, dtype=bool)
    flat_c, flat_q = f.scc < FLAT, f.sqq < FLAT
    if rule.min_correlation is not None:
        t = rule.min_correlation
        keep &= (sqc > 0) & (sqc * sqc >= t * t * float(f.sqq) * scc) & ~flat_c & (not flat_q)
    if rule.max_gain is not None:
        g = rule.max_gain
        keep &= (sqc > 0) & (sqc <= g * scc) & (g * sqc >= scc) & ~flat_c & (not flat_q)
    if rule.min_correlation is not None or rule.max_gain is not None:
        keep |= flat_c & flat_q
    return keep


def accept(query_colour: bytes, candidate_colour: bytes, rule: Rule) -> bool:
    """One pair, for callers outside the vectorised search."""
    return bool(accepted(fit(lumas(query_colour), lumas(candidate_colour)[None, :]), rule)[0])


# -- the detail grid (8 × 8) -------------------------------------------------------------------


@dataclass(frozen=True)
class DetailFit:
    """The same least-squares fit on the 64 detail cells, plus the worst cell's residual.

    With ``gain = sqc/scc`` the residual of cell n is ``q_n − q̄ − gain·(c_n − c̄)``; times
    ``64·scc`` it is the integer ``64·scc·q_n − scc·Σq − sqc·(64·c_n − Σc)`` (below 2⁵³, so
    exact in JavaScript too). ``worst`` is its largest absolute value over the cells.
    ``repeat_q`` and ``repeat_c`` are each grid's squared differences from itself shifted by
    half the grid (``repeats``), which tell a tiled grid."""

    sqc: np.ndarray
    scc: np.ndarray
    sqq: int
    worst: np.ndarray
    repeat_q: int
    repeat_c: np.ndarray

    @property
    def gain(self) -> np.ndarray:
        return self.sqc / np.maximum(self.scc, 1)

    @property
    def residual(self) -> np.ndarray:
        """The worst cell's residual in luma levels."""
        return self.worst / np.maximum(D * self.scc, 1)


def repeats(grids: np.ndarray) -> np.ndarray:
    """Σ of squared differences between each cell of each (·, 64) grid and the cells 4 to its
    right and 4 below (32 + 32 pairs): 0 for a grid made of four equal 4 × 4 quarters."""
    g = np.asarray(grids, dtype=np.int64).reshape(-1, 8, 8)
    across = (g[:, :, :4] - g[:, :, 4:]) ** 2
    down = (g[:, :4, :] - g[:, 4:, :]) ** 2
    return across.sum(axis=(1, 2)) + down.sum(axis=(1, 2))


def detail_fit(query: bytes | np.ndarray, candidates: np.ndarray) -> DetailFit:
    """The fit of a 64-byte query detail against (M, 64) candidate details."""
    q = np.frombuffer(query, dtype=np.uint8) if isinstance(query, bytes) else query
    q = q.astype(np.int64)
    c = np.atleast_2d(np.asarray(candidates)).astype(np.int64)
    f = fit(q, c)
    sq, sc, sqc, scc = int(q.sum()), c.sum(axis=1), f.sqc, f.scc
    residuals = (
        D * scc[:, None] * q[None, :] - (scc * sq)[:, None] - sqc[:, None] * (D * c - sc[:, None])
    )
    worst = np.abs(residuals).max(axis=1)
    return DetailFit(sqc, scc, f.sqq, worst, int(repeats(q)[0]), repeats(c))


def detail_accepted(f: DetailFit, rule: Rule) -> np.ndarray:
    """Which candidates the rule's detail tests keep: the gain ``sqc/scc`` within
    ``[1/g, g]`` (a brightness or contrast edit, not another shading) and no cell further than
    ``detail_max_residual`` levels from the fit (no part of the drawing missing or added), and
    the fit's correlation at least ``detail_min_correlation``: the residual bound is in luma
    levels, so a faint drawing (a thin cross, cells within 60 levels of anything) passes it
    against any shape; the correlation does not depend on contrast (a plain cross against a
    ring read 0.69, reposts on the tuning split 0.9 and up). Compared as ``sqc ≤ g·scc``,
    ``g·sqc ≥ scc``, ``worst ≤ (64·t)·scc`` and ``sqc² ≥ (r·r)·sqq·scc``, in that order, as
    in verify.js. A flat grid (a cell standard deviation under 1 level) agrees with nothing, not
    even another flat one: a picture with nothing at this scale but a detailed hash is a
    texture (a dot grid, pinstripes), and unrelated textures of one pitch share their hash
    (measured: bench/README.md; unlike the 4×4 test, where two flat layouts agree, because a
    blueprint or graph paper is flat at 4×4 but not at 8×8). Nor does a tiled grid, one whose
    four 4 × 4 quarters are the same (``TILED``): a pattern whose period divides the picture
    into whole repeats, where dot grids of one pitch and other dot sizes differ only in
    contrast, which the gain test is there to accept."""
    keep = np.ones(f.scc.shape, dtype=bool)
    if not rule.checks_detail:
        return keep
    keep &= (f.sqc > 0) & (f.scc >= DETAIL_FLAT) & (f.sqq >= DETAIL_FLAT)
    keep &= (TILED * f.repeat_c > f.scc) & (TILED * f.repeat_q > f.sqq)
    sqc, scc = f.sqc.astype(np.float64), f.scc.astype(np.float64)
    if rule.detail_max_gain is not None:
        g = rule.detail_max_gain
        keep &= (sqc <= g * scc) & (g * sqc >= scc)
    if rule.detail_max_residual is not None:
        keep &= f.worst <= (D * int(rule.detail_max_residual)) * f.scc
    if rule.detail_min_correlation is not None:
        r = rule.detail_min_correlation
        keep &= sqc * sqc >= r * r * float(f.sqq) * scc
    return keep


def faint_line(detail: bytes, colour: bytes) -> bool:
    """Is this query a faint grey line, which carries too little to be matched? A picture that
    is one thin straight stroke (or one soft edge) on a plain ground holds an angle and a
    position: its hash and grids agree with any other such stroke, and with a crop of any
    drawing that shows one straight edge (GCompris's solar-panel strokes matched a cursor
    arrow's side, an ice lolly's stick and a dinghy's mast, measured). Striped flags are as
    one-directional but colourful or contrasted (the tuning split's: chroma 426 and up), so
    they are still matched. Integer arithmetic in one fixed order (the range test first keeps
    every product below 2⁵³), as ``faintLine`` in verify.js; a side without a detail grid is
    not a line."""
    if len(detail) != D or len(colour) != 3 * N:
        return False
    g = np.frombuffer(detail, dtype=np.uint8).astype(np.int64).reshape(8, 8)
    if int(g.max()) - int(g.min()) > LINE_RANGE:
        return False
    cells = np.frombuffer(colour, dtype=np.uint8).astype(np.int64).reshape(N, 3)
    if int(np.abs(cells[:, 1:] - 128).sum()) > LINE_CHROMA:
        return False
    a, b, c, d = g[:-1, :-1], g[:-1, 1:], g[1:, :-1], g[1:, 1:]  # each 2 × 2 block's corners
    gx, gy = b + d - a - c, c + d - a - b
    sxx, syy, sxy = int((gx * gx).sum()), int((gy * gy).sum()), int((gx * gy).sum())
    k, m = LINE_COHERENCE
    return sxx + syy > 0 and m * ((sxx - syy) ** 2 + 4 * sxy * sxy) >= k * (sxx + syy) ** 2


def accept_detail(query_detail: bytes, candidate_detail: bytes, rule: Rule) -> bool:
    """One pair; a side without a detail grid (stored before it existed) is not checked."""
    if len(query_detail) != D or len(candidate_detail) != D:
        return True
    fit_ = detail_fit(query_detail, np.frombuffer(candidate_detail, dtype=np.uint8)[None, :])
    return bool(detail_accepted(fit_, rule)[0])
