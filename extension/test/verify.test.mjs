import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  accept,
  acceptDetail,
  DETAIL_FLAT,
  detailAccepted,
  detailFit,
  faintLine,
  LINE_CHROMA,
  LINE_COHERENCE,
  LINE_RANGE,
  RULE,
  TILED,
} from '../lib/verify.js';
import { fromHex } from '../lib/fingerprint.js';
import {
  bucketKey,
  DEGENERATE,
  informative,
  matchEntries,
  QUERY_MIN_QUALITY,
  queryInformative,
  SYMMETRIC,
} from '../lib/protocol.js';

const VECTORS = JSON.parse(readFileSync(new URL('./fixtures/verify_vectors.json', import.meta.url)));

test('the brightness-layout verification answers as the server does (shared vectors)', () => {
  assert.ok(VECTORS.vectors.length > 100);
  const accepted = new Set(VECTORS.vectors.map((v) => v.accepted));
  assert.deepEqual([...accepted].sort(), [false, true]); // the vectors exercise both answers
  for (const v of VECTORS.vectors) {
    const rule = { minCorrelation: v.rule.min_correlation, maxGain: v.rule.max_gain };
    assert.equal(accept(fromHex(v.query), fromHex(v.candidate), rule), v.accepted, JSON.stringify(v));
  }
});

test('local matching applies the verification: same hash, other brightness layout, no match', () => {
  const hash = '0f1e2d3c4b5a69788796a5b4c3d2e1f0'.repeat(2); // an ordinary (not degenerate) hash
  // a dark drawing on white versus the same cells with its brightness layout reversed
  const dark = Array.from({ length: 16 }, (_, n) => (n % 3 ? 'ff8080' : '108080')).join('');
  const inverted = Array.from({ length: 16 }, (_, n) => (n % 3 ? '108080' : 'ff8080')).join('');
  const entries = [{ hash, colour: inverted, work: 'other' }];
  const strict = { minCorrelation: 0.5, maxGain: 2 };
  const off = { minCorrelation: null, maxGain: null };
  const q = { as_is: { hash, colour: dark, bucket: 0, quality: 80 } };
  assert.deepEqual(matchEntries(q, entries, strict), []);
  assert.equal(matchEntries(q, entries, off).length, 1); // the colour stage alone lets it through
  assert.equal(matchEntries(q, [{ hash, colour: dark, work: 'same' }], strict).length, 1);
  assert.ok(Object.isFrozen(RULE));
});

// -- the detail grid (8 × 8) -----------------------------------------------------------------

const jsRule = (r) => ({
  minCorrelation: r.min_correlation,
  maxGain: r.max_gain,
  detailMaxGain: r.detail_max_gain,
  detailMaxResidual: r.detail_max_residual,
  detailMinCorrelation: r.detail_min_correlation,
});

test('the detail verification answers as the server does (shared vectors, fit sums included)', () => {
  const rules = VECTORS.detail_rules.map(jsRule);
  assert.ok(VECTORS.detail_vectors.length >= 60);
  const answers = new Set(VECTORS.detail_vectors.flatMap((v) => v.accepted));
  assert.deepEqual([...answers].sort(), [false, true]);
  for (const v of VECTORS.detail_vectors) {
    const q = fromHex(v.query);
    const c = fromHex(v.candidate);
    if (v.fit) assert.deepEqual(detailFit(q, c), v.fit, v.kind);
    assert.deepEqual(rules.map((r) => acceptDetail(q, c, r)), v.accepted, `${v.kind} ${v.query} ${v.candidate}`);
  }
});

test("the detail test's constants are the service's (verify.DETAIL_FLAT, verify.TILED)", () => {
  // the threshold vectors alone would let a TILED between 886 and 1026 pass
  assert.deepEqual({ flat: DETAIL_FLAT, tiled: TILED }, VECTORS.detail_constants);
});

test("the extension's RULE is the service's (service.VERIFY, written into the vectors)", () => {
  assert.deepEqual({ ...RULE }, jsRule(VECTORS.service_rule));
});

// a drawing's detail grid: mid-grey lines and patches on a light ground (as in
// tests/server/test_registry_verify.py)
const DRAWN = [
  190, 190, 70, 190, 190, 190, 190, 190,
  190, 80, 70, 190, 150, 150, 190, 190,
  190, 70, 190, 190, 150, 150, 190, 100,
  190, 70, 190, 120, 190, 190, 190, 100,
  170, 70, 190, 120, 190, 90, 90, 100,
  170, 170, 70, 70, 70, 90, 190, 190,
  190, 190, 190, 190, 70, 190, 190, 160,
  190, 190, 190, 190, 70, 190, 160, 160,
];
const BOTH = { minCorrelation: null, maxGain: null, detailMaxGain: 2.0, detailMaxResidual: 30 };
const GAIN_ONLY = { ...BOTH, detailMaxResidual: null };
const RESIDUAL_ONLY = { ...BOTH, detailMaxGain: null };
const bytes = (values) => Uint8Array.from(values, (v) => Math.min(255, Math.max(0, Math.round(v))));

test('a brightness and contrast edit (gain 1.3) passes the detail test', () => {
  const mean = DRAWN.reduce((a, b) => a + b, 0) / 64;
  const edited = bytes(DRAWN.map((y) => 1.3 * (y - mean) + mean - 12));
  const f = detailFit(edited, bytes(DRAWN));
  assert.ok(Math.abs(f.sqc / f.scc - 1.3) < 0.01 && f.worst / (64 * f.scc) < 1);
  assert.equal(acceptDetail(edited, bytes(DRAWN), BOTH), true);
});

test('a grey drawing against the same one in black (gain 0.25) fails the gain test', () => {
  const black = bytes(DRAWN.map((y) => (y < 128 ? 0 : 255)));
  const grey = bytes(DRAWN.map((y) => (y < 128 ? 192 : 255)));
  const f = detailFit(grey, black);
  assert.equal(f.worst, 0); // the same layout exactly: only the strength differs
  assert.ok(Math.abs(f.sqc / f.scc - 63 / 255) < 1e-9);
  assert.equal(acceptDetail(grey, black, BOTH), false);
  assert.equal(acceptDetail(grey, black, GAIN_ONLY), false);
  assert.equal(acceptDetail(grey, black, RESIDUAL_ONLY), true);
  assert.equal(acceptDetail(grey, black, { ...GAIN_ONLY, detailMaxGain: 4.5 }), true);
});

test('the same layout with one cell changed by 80 levels fails the residual test', () => {
  const missing = [...DRAWN];
  missing[2 * 8 + 1] += 80; // a dark part of the drawing missing
  const f = detailFit(bytes(missing), bytes(DRAWN));
  assert.ok(f.worst / (64 * f.scc) > 60);
  assert.equal(acceptDetail(bytes(missing), bytes(DRAWN), BOTH), false);
  assert.equal(acceptDetail(bytes(missing), bytes(DRAWN), RESIDUAL_ONLY), false);
  assert.equal(acceptDetail(bytes(missing), bytes(DRAWN), GAIN_ONLY), true);
});

test('a faint cross against the same cross in a faint ring fails only the correlation test', () => {
  // every cell within 40 levels: the residual bound (in levels) cannot tell the shapes apart
  const arm = (i, j) => (i >= 3 && i <= 4) || (j >= 3 && j <= 4);
  const ring = (i, j) => Math.max(Math.abs(2 * i - 7), Math.abs(2 * j - 7)) === 5;
  const cells = (dark) => bytes(Array.from({ length: 64 }, (_, n) => (dark(n >> 3, n & 7) ? 160 : 200)));
  const cross = cells(arm);
  const ringed = cells((i, j) => arm(i, j) || ring(i, j));
  const f = detailFit(cross, ringed);
  const correlation = f.sqc / Math.sqrt(f.sqq * f.scc);
  assert.ok(correlation > 0.6 && correlation < 0.75 && f.worst / (64 * f.scc) < 60);
  const loose = { ...BOTH, detailMaxResidual: 60 };
  assert.equal(acceptDetail(cross, ringed, loose), true);
  assert.equal(acceptDetail(cross, ringed, { ...loose, detailMinCorrelation: 0.9 }), false);
  assert.equal(acceptDetail(cross, ringed, RULE), false);
  assert.equal(acceptDetail(cross, cross, RULE), true);
});

test('a missing detail is not checked, and a rule without detail tests checks none', () => {
  const inverted = bytes(DRAWN.map((y) => 255 - y));
  assert.equal(acceptDetail(inverted, bytes(DRAWN), BOTH), false);
  assert.equal(acceptDetail(new Uint8Array(0), bytes(DRAWN), BOTH), true);
  assert.equal(acceptDetail(inverted, new Uint8Array(0), BOTH), true);
  assert.equal(acceptDetail(inverted, null, BOTH), true);
  assert.equal(acceptDetail(inverted, bytes(DRAWN), { minCorrelation: 0.8, maxGain: null }), true);
  assert.equal(detailAccepted(detailFit(inverted, bytes(DRAWN)), { detailMaxGain: null, detailMaxResidual: null }), true);
});

test("the extension's query rules are the service's (quality bar, degenerate and symmetric hashes, lines)", () => {
  assert.equal(QUERY_MIN_QUALITY, VECTORS.service_query.min_quality);
  assert.deepEqual(DEGENERATE.map(([p, r]) => [p, r]), VECTORS.service_query.degenerate);
  assert.deepEqual({ ...SYMMETRIC }, VECTORS.service_query.symmetric);
  assert.deepEqual({ coherence: [...LINE_COHERENCE], range: LINE_RANGE, chroma: LINE_CHROMA }, VECTORS.service_query.line);
});

test('a faint grey line is told as the server tells it (shared vectors), and is not looked up', () => {
  const vectors = VECTORS.line_vectors;
  assert.deepEqual([...new Set(vectors.map((v) => v.line))].sort(), [false, true]);
  for (const v of vectors) assert.equal(faintLine(fromHex(v.detail), fromHex(v.colour)), v.line, v.kind);
  const stroke = vectors.find((v) => v.kind === 'faint grey stroke');
  const fp = { hash: '0123456789abcdef'.repeat(4), quality: 90, bucket: 0x1234, colour: stroke.colour, detail: stroke.detail };
  assert.equal(queryInformative({ ...fp, detail: null }), true); // the same hash, no grid: looked up
  assert.equal(queryInformative(fp), false);
  assert.equal(informative(fp), true); // as a variant of another picture it is still matched
  assert.equal(bucketKey({ as_is: { ...fp, detail: null } }), '1234');
  assert.equal(bucketKey({ as_is: fp }), null); // no request at all
  const entry = { hash: fp.hash, colour: fp.colour, detail: fp.detail, work: 'abc' };
  assert.equal(matchEntries({ as_is: { ...fp, detail: null } }, [entry]).length, 1);
  assert.deepEqual(matchEntries({ as_is: fp }, [entry]), []);
});
