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


@dataclass(frozen=True)
class Rule:
    """Acceptance thresholds; ``None`` switches a test off."""

    min_correlation: float | None
    max_gain: float | None

    @property
    def name(self) -> str:
        c = "off" if self.min_correlation is None else f"{self.min_correlation:g}"
        g = "off" if self.max_gain is None else f"{self.max_gain:g}"
        return f"corr>={c},gain<={g}"


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
    """The sums for a (16,) integer query against (M, 16) integer candidates."""
    q = np.asarray(query, dtype=np.int64)
    c = np.atleast_2d(np.asarray(candidates, dtype=np.int64))
    sq, sc = int(q.sum()), c.sum(axis=1)
    return Fit(
        sqc=N * (c @ q) - sq * sc,
        scc=N * (c * c).sum(axis=1) - sc * sc,
        sqq=N * int(q @ q) - sq * sq,
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
