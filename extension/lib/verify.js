// Verification of a structural match by the brightness layout: the port of
// server/registry/verify.py (docs/FINGERPRINT.md §9). The client of the privacy-preserving
// lookup decides matches itself, so it must accept exactly the candidates the server would.
//
// The query's 16 cell lumas (bytes 0, 3, 6, … of the colour grid) are fitted as
// gain · candidate + offset. Everything is computed on integer sums below 2^53
// (sqc = 16·Σqc − Σq·Σc, likewise scc and sqq) and compared in the same order as Python, so the
// two give the same answer bit for bit (shared vectors: extension/test/fixtures/verify_vectors.json).
//
// The 8 × 8 detail grid (fingerprint.js detailGrid, docs/FINGERPRINT.md §7b) gets the same fit
// on its 64 cells plus the worst cell's residual (detailFit, detailAccepted, acceptDetail): a
// gain far from 1 is another shading, a large residual a part of the drawing missing or added,
// a low correlation another shape however faint (the residual is in luma levels, the
// correlation does not depend on contrast).
// A flat or tiled grid (four equal 4 × 4 quarters: a pattern) agrees with nothing.

export const N = 16;
export const FLAT = N * 64; // Σ(y − ȳ)² < 64: a layout with no information

export const D = 64; // detail cells (8 × 8)
export const DETAIL_FLAT = D * 64; // 64·Σ(y − ȳ)² < 64²: a cell standard deviation under 1 level
// A tiled grid: its squared differences from itself shifted by half the grid (repeats) are at
// most 1/16 of Σ(y − ȳ)², i.e. 64·16·repeat ≤ 64·Σ(y − ȳ)² (verify.TILED).
export const TILED = D * 16;
// A faint grey line (verify.faint_line): 2 × 2 gradients one way (coherence² ≥ 9/10), cells
// within LINE_RANGE levels, a colour grid within LINE_CHROMA of grey. Such a query is not
// matched: it agrees with any straight edge.
export const LINE_COHERENCE = Object.freeze([9, 10]);
export const LINE_RANGE = 128;
export const LINE_CHROMA = 256;

/**
 * The service's rule (server/registry/service.py VERIFY); null switches a test off. The one
 * place the client's thresholds live: tests/server/test_registry_verify.py checks it against
 * service.VERIFY. detailMaxResidual is an integer (luma levels).
 */
export const RULE = Object.freeze({
  minCorrelation: 0.8,
  maxGain: null,
  detailMaxGain: 2.0,
  detailMaxResidual: 60,
  detailMinCorrelation: 0.9,
});

export function lumas(colour) {
  const y = new Array(N);
  for (let n = 0; n < N; n++) y[n] = colour[n * 3];
  return y;
}

/** Integer least-squares sums of query ≈ gain · candidate + offset over n cells. */
function sums(query, candidate, n) {
  let sq = 0, sc = 0, qc = 0, cc = 0, qq = 0;
  for (let k = 0; k < n; k++) {
    sq += query[k];
    sc += candidate[k];
    qc += query[k] * candidate[k];
    cc += candidate[k] * candidate[k];
    qq += query[k] * query[k];
  }
  return { sq, sc, sqc: n * qc - sq * sc, scc: n * cc - sc * sc, sqq: n * qq - sq * sq };
}

/** Integer least-squares sums of query ≈ gain · candidate + offset. */
export function fit(query, candidate) {
  const { sqc, scc, sqq } = sums(query, candidate, N);
  return { sqc, scc, sqq };
}

/** Does the rule keep this candidate? Same tests, same order as verify.accepted(). */
export function accepted(f, rule = RULE) {
  const t = rule.minCorrelation;
  const g = rule.maxGain;
  if (t == null && g == null) return true;
  const flatC = f.scc < FLAT;
  const flatQ = f.sqq < FLAT;
  if (flatC && flatQ) return true;
  if (flatC || flatQ || !(f.sqc > 0)) return false;
  if (t != null && !(f.sqc * f.sqc >= t * t * f.sqq * f.scc)) return false;
  if (g != null && !(f.sqc <= g * f.scc && g * f.sqc >= f.scc)) return false;
  return true;
}

/** One pair of 48-byte colour grids. */
export function accept(queryColour, candidateColour, rule = RULE) {
  return accepted(fit(lumas(queryColour), lumas(candidateColour)), rule);
}

// -- the detail grid (8 × 8) -----------------------------------------------------------------

/**
 * Σ of squared differences between each cell of an 8 × 8 grid and the cells 4 to its right and
 * 4 below (32 + 32 pairs): 0 for a grid made of four equal 4 × 4 quarters (verify.repeats).
 */
export function repeats(grid) {
  let total = 0;
  for (let i = 0; i < 8; i++) {
    for (let j = 0; j < 4; j++) {
      const across = grid[i * 8 + j] - grid[i * 8 + j + 4]; // row i, columns j and j + 4
      const down = grid[j * 8 + i] - grid[(j + 4) * 8 + i]; // column i, rows j and j + 4
      total += across * across + down * down;
    }
  }
  return total;
}

/**
 * Integer sums of the fit query ≈ gain · candidate + offset over the 64 detail cells, and
 * `worst`, the largest |64·scc·q_n − scc·Σq − sqc·(64·c_n − Σc)| (the worst cell's residual
 * times 64·scc); `repeatQ`/`repeatC`, each grid's repeats(). Every value is an integer below
 * 2^53, so exact as a JavaScript number.
 */
export function detailFit(query, candidate) {
  const { sq, sc, sqc, scc, sqq } = sums(query, candidate, D);
  let worst = 0;
  for (let n = 0; n < D; n++) {
    const r = Math.abs(D * scc * query[n] - scc * sq - sqc * (D * candidate[n] - sc));
    if (r > worst) worst = r;
  }
  return { sqc, scc, sqq, worst, repeatQ: repeats(query), repeatC: repeats(candidate) };
}

/**
 * Does the rule's detail test keep this candidate? Same tests, same order as
 * verify.detail_accepted(): a flat side (both flat too: two textures), a non-positive fit or a
 * tiled side (TILED) → no; then sqc ≤ g·scc and g·sqc ≥ scc (float64), then
 * worst ≤ (64·t)·scc (integers), then sqc² ≥ (r·r)·sqq·scc (float64, the correlation ≥ r).
 */
export function detailAccepted(f, rule = RULE) {
  const g = rule.detailMaxGain;
  const t = rule.detailMaxResidual;
  const r = rule.detailMinCorrelation;
  if (g == null && t == null && r == null) return true;
  if (f.scc < DETAIL_FLAT || f.sqq < DETAIL_FLAT || !(f.sqc > 0)) return false;
  if (!(TILED * f.repeatC > f.scc) || !(TILED * f.repeatQ > f.sqq)) return false;
  if (g != null && !(f.sqc <= g * f.scc && g * f.sqc >= f.scc)) return false;
  if (t != null && !(f.worst <= D * Math.trunc(t) * f.scc)) return false;
  if (r != null && !(f.sqc * f.sqc >= r * r * f.sqq * f.scc)) return false;
  return true;
}

/**
 * Is this query a faint grey line (verify.faint_line)? `detail` the 64-byte detail grid,
 * `colour` the 48-byte colour grid. The same integer tests in the same order; the range test
 * first keeps every product below 2^53. Without a detail grid, not a line.
 */
export function faintLine(detail, colour) {
  if (!detail || !colour || detail.length !== D || colour.length !== 3 * N) return false;
  let lo = 255;
  let hi = 0;
  for (let n = 0; n < D; n++) {
    lo = Math.min(lo, detail[n]);
    hi = Math.max(hi, detail[n]);
  }
  if (hi - lo > LINE_RANGE) return false;
  let chroma = 0;
  for (let n = 0; n < N; n++) chroma += Math.abs(colour[3 * n + 1] - 128) + Math.abs(colour[3 * n + 2] - 128);
  if (chroma > LINE_CHROMA) return false;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (let i = 0; i < 7; i++) {
    for (let j = 0; j < 7; j++) {
      const a = detail[i * 8 + j];
      const b = detail[i * 8 + j + 1];
      const c = detail[(i + 1) * 8 + j];
      const d = detail[(i + 1) * 8 + j + 1];
      const gx = b + d - a - c;
      const gy = c + d - a - b;
      sxx += gx * gx;
      syy += gy * gy;
      sxy += gx * gy;
    }
  }
  const [k, m] = LINE_COHERENCE;
  return sxx + syy > 0 && m * ((sxx - syy) * (sxx - syy) + 4 * sxy * sxy) >= k * (sxx + syy) * (sxx + syy);
}

/**
 * One pair of 64-byte detail grids. A side without one (an entry stored before the detail grid
 * existed, or an empty/odd-length value) is not checked: true, as verify.accept_detail().
 */
export function acceptDetail(queryDetail, candidateDetail, rule = RULE) {
  if (!queryDetail || !candidateDetail || queryDetail.length !== D || candidateDetail.length !== D) {
    return true;
  }
  return detailAccepted(detailFit(queryDetail, candidateDetail), rule);
}
