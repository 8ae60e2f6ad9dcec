// Verification of a structural match by the brightness layout: the port of
// server/registry/verify.py (docs/FINGERPRINT.md §9). The client of the privacy-preserving
// lookup decides matches itself, so it must accept exactly the candidates the server would.
//
// The query's 16 cell lumas (bytes 0, 3, 6, … of the colour grid) are fitted as
// gain · candidate + offset. Everything is computed on integer sums below 2^53
// (sqc = 16·Σqc − Σq·Σc, likewise scc and sqq) and compared in the same order as Python, so the
// two give the same answer bit for bit (shared vectors: extension/test/fixtures/verify_vectors.json).

export const N = 16;
export const FLAT = N * 64; // Σ(y − ȳ)² < 64: a layout with no information

/** The service's rule (server/registry/service.py VERIFY); null switches a test off. */
export const RULE = Object.freeze({ minCorrelation: 0.8, maxGain: null });

export function lumas(colour) {
  const y = new Array(N);
  for (let n = 0; n < N; n++) y[n] = colour[n * 3];
  return y;
}

/** Integer least-squares sums of query ≈ gain · candidate + offset. */
export function fit(query, candidate) {
  let sq = 0, sc = 0, qc = 0, cc = 0, qq = 0;
  for (let n = 0; n < N; n++) {
    sq += query[n];
    sc += candidate[n];
    qc += query[n] * candidate[n];
    cc += candidate[n] * candidate[n];
    qq += query[n] * query[n];
  }
  return { sqc: N * qc - sq * sc, scc: N * cc - sc * sc, sqq: N * qq - sq * sq };
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
