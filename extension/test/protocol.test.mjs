import test from 'node:test';
import assert from 'node:assert/strict';
import {
  bucketKey,
  DEGENERATE,
  informative,
  lookupUrl,
  matchEntries,
  QUERY_MIN_QUALITY,
  RADIUS,
  SYMMETRIC,
} from '../lib/protocol.js';
import { commonOnes, hamming, mirrorBucket } from '../lib/fingerprint.js';

const fp = (hash, colour, bucket = 0xbeef, quality = 80) => ({ hash, colour, bucket, quality });
const H0 = '0f1e2d3c4b5a69788796a5b4c3d2e1f0'.repeat(2); // an ordinary hash (none of DEGENERATE)
const flip = (hex, n) => {
  // flip the first n bits
  const bits = [...hex].map((h) => parseInt(h, 16).toString(2).padStart(4, '0')).join('').split('');
  for (let i = 0; i < n; i++) bits[i] = bits[i] === '1' ? '0' : '1';
  return bits.join('').match(/..../g).map((b) => parseInt(b, 2).toString(16)).join('');
};
const GREY = '808080'.repeat(16);

test('only the 16-bit bucket of a matchable image is sent', () => {
  assert.equal(bucketKey({ as_is: fp(H0, GREY, 0x00ab) }), '00ab');
  assert.equal(bucketKey({ as_is: fp(H0, GREY, 0x00ab, QUERY_MIN_QUALITY) }), '00ab');
  assert.equal(bucketKey({ as_is: fp(H0, GREY, 0x00ab, QUERY_MIN_QUALITY - 1) }), null); // low quality: no request
  assert.equal(bucketKey({}), null);
  assert.equal(lookupUrl('http://r.example/', '00ab'), 'http://r.example/api/v1/lookup?bucket=00ab');
});

test('local matching: Hamming radius, colour rejection, best per work', () => {
  const variants = { as_is: fp(H0, GREY), mirrored: fp(flip(H0, 200), GREY) };
  const entries = [
    { hash: flip(H0, 10), colour: GREY, work: 'near' },
    { hash: flip(H0, RADIUS + 1), colour: GREY, work: 'far' },
    { hash: flip(H0, 3), colour: '80ff00'.repeat(16), work: 'recolour' }, // colour too different
    { hash: flip(H0, 30), colour: GREY, work: 'near' },
    { hash: 'zz', colour: GREY, work: 'broken' },
  ];
  const found = matchEntries(variants, entries);
  assert.deepEqual(found.map((m) => [m.work, m.distance, m.variant]), [['near', 10, 'as_is']]);
  assert.equal(hamming(H0, flip(H0, 47)), 47);
});

test('mirror bucket is an involution', () => {
  for (const b of [0, 1, 0x8000, 0xbeef, 0xffff]) assert.equal(mirrorBucket(mirrorBucket(b)), b);
});

test('every query variant is matched, untrimmed and deframed included', () => {
  const entries = [{ hash: flip(H0, 5), colour: GREY, work: 'canvas' }];
  const far = fp(flip(H0, 200), GREY);
  for (const name of ['untrimmed', 'deframed']) {
    const found = matchEntries({ as_is: far, mirrored: far, [name]: fp(H0, GREY) }, entries);
    assert.deepEqual(found.map((m) => [m.work, m.distance, m.variant]), [['canvas', 5, name]]);
  }
});

test('only the as_is bucket is sent, whatever the other variants', () => {
  const variants = { as_is: fp(H0, GREY, 0x1234), mirrored: fp(H0, GREY, 0x4321), untrimmed: fp(H0, GREY, 0xaaaa), deframed: fp(H0, GREY, 0x5555) };
  assert.equal(bucketKey(variants), '1234');
  assert.equal(bucketKey({ ...variants, as_is: fp(H0, GREY, 0x1234, 10) }), null); // not matchable: no request at all
});

test('the detail grid is verified when both sides carry one, and an old entry without it is kept', () => {
  // a drawing's 8 × 8 detail grid and the same layout with one part missing (80 levels lighter)
  const drawn = Array.from({ length: 64 }, (_, n) => (n % 5 === 0 || n % 7 === 3 ? 70 : 190));
  const missing = [...drawn];
  missing[0] += 80;
  const hex = (values) => values.map((v) => v.toString(16).padStart(2, '0')).join('');
  const q = { as_is: { ...fp(H0, GREY), detail: hex(drawn) } };
  const entries = [
    { hash: flip(H0, 2), colour: GREY, work: 'missing-part', detail: hex(missing) },
    { hash: flip(H0, 4), colour: GREY, work: 'same', detail: hex(drawn.map((y) => y - 20)) },
    { hash: flip(H0, 6), colour: GREY, work: 'old-row', detail: null },
    { hash: flip(H0, 8), colour: GREY, work: 'older-row' },
  ];
  const rule = { minCorrelation: null, maxGain: null, detailMaxGain: 2.0, detailMaxResidual: 30 };
  const found = matchEntries(q, entries, rule).map((m) => m.work);
  assert.deepEqual(found, ['same', 'old-row', 'older-row']);
  // the default rule (the service's) checks the detail too
  assert.deepEqual(matchEntries(q, entries).map((m) => m.work), ['same', 'old-row', 'older-row']);
  // without the test, or without a detail on the query side, the entry is kept
  const off = { ...rule, detailMaxGain: null, detailMaxResidual: null };
  assert.deepEqual(matchEntries(q, entries, off).map((m) => m.work), ['missing-part', 'same', 'old-row', 'older-row']);
  const noDetail = { as_is: fp(H0, GREY) };
  assert.equal(matchEntries(noDetail, entries, rule).length, 4);
});

test('degenerate hashes are neither looked up nor matched, as on the server', () => {
  for (const [pattern, radius] of DEGENERATE) {
    assert.equal(informative(fp(pattern, GREY)), false);
    assert.equal(informative(fp(flip(pattern, radius), GREY)), false); // within its radius
    assert.equal(informative(fp(flip(pattern, radius + 1), GREY)), true);
  }
  const zero = '0'.repeat(64);
  assert.equal(bucketKey({ as_is: fp(zero, GREY, 0x00ab) }), null);
  const entries = [{ hash: flip(zero, 20), colour: GREY, work: 'stripes' }];
  assert.deepEqual(matchEntries({ as_is: fp(zero, GREY) }, entries), []);
  // an informative as-is picture whose mirrored variant is degenerate: that variant is skipped
  const found = matchEntries({ as_is: fp(H0, GREY), mirrored: fp(zero, GREY) }, entries);
  assert.deepEqual(found, []);
  const plain = matchEntries({ as_is: fp(H0, GREY), deframed: fp(flip(zero, 17), GREY) }, entries);
  assert.deepEqual(plain.map((m) => [m.work, m.variant]), [['stripes', 'deframed']]);
});

test('hashes of pictures symmetric about both axes are neither looked up nor matched, as on the server', () => {
  // a ring's hash (fingerprint_rgb of tests/server/test_registry_match.py ring_or_star): its 192
  // bits with an odd u or v are all 0
  const ring = '0000414100001415000010500000410500004414000014500000114100005104';
  assert.equal(commonOnes(ring, SYMMETRIC.mask), 0);
  assert.equal(informative(fp(ring, GREY)), false);
  assert.equal(bucketKey({ as_is: fp(ring, GREY) }), null);
  // the first 16 bits are all under the mask: `tolerance` of them set is still symmetric
  assert.equal(informative(fp(flip(ring, SYMMETRIC.tolerance), GREY)), false);
  assert.equal(informative(fp(flip(ring, SYMMETRIC.tolerance + 1), GREY)), true);
  const or = (h, i) => (parseInt(h, 16) | parseInt(SYMMETRIC.mask.slice(i, i + 2), 16)).toString(16);
  const allOnes = ring.replace(/../g, (h, i) => or(h, i).padStart(2, '0'));
  assert.equal(commonOnes(allOnes, SYMMETRIC.mask), SYMMETRIC.bits);
  assert.equal(informative(fp(allOnes, GREY)), false);
  // a symmetric variant of an ordinary picture is skipped (the server serves no such entries)
  const entries = [{ hash: flip(ring, 3), colour: GREY, work: 'star' }];
  assert.deepEqual(matchEntries({ as_is: fp(H0, GREY), mirrored: fp(ring, GREY) }, entries), []);
});
