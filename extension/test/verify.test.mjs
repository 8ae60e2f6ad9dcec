import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { accept, RULE } from '../lib/verify.js';
import { fromHex } from '../lib/fingerprint.js';
import { matchEntries } from '../lib/protocol.js';

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
  const hash = '0'.repeat(64);
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
