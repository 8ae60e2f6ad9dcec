// The JavaScript fingerprint must give the Python registry's bits from the same pixels.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fingerprint, queryVariants, LowInformation } from '../lib/fingerprint.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const VECTORS = path.resolve(here, '..', '..', 'tests', 'vectors');

const pixels = (b64) => new Uint8ClampedArray(Buffer.from(b64, 'base64'));

test('matches server/registry/fingerprint.py on its own outputs (extension/test/fixtures)', () => {
  const { cases } = JSON.parse(fs.readFileSync(path.join(here, 'fixtures', 'python-fingerprints.json'), 'utf8'));
  assert.ok(cases.length >= 5);
  for (const c of cases) {
    const got = queryVariants(pixels(c.rgba_base64), c.width, c.height);
    assert.deepEqual(got, c.variants, c.name);
  }
});

test('flat images are low-information', () => {
  const flat = new Uint8ClampedArray(40 * 40 * 4).fill(200);
  assert.throws(() => fingerprint(flat, 40, 40), LowInformation);
  assert.deepEqual(queryVariants(flat, 40, 40), {});
});

// The vectors write numbers as fixed-width hex strings (the wire form); the extension keeps
// buckets as numbers in memory. Same value, compared in the vectors' form.
function sameForm(value, like) {
  if (typeof like === 'string' && typeof value === 'number') return value.toString(16).padStart(like.length, '0');
  if (typeof like === 'string' && typeof value === 'bigint') return value.toString(16).padStart(like.length, '0');
  return value;
}

// The shared vectors (tests/vectors/), checked by pytest on the Python side as well.
const vectorFiles = fs.existsSync(VECTORS)
  ? fs.readdirSync(VECTORS).filter((f) => f.endsWith('.json')).map((f) => path.join(VECTORS, f))
  : [];

test('shared vectors in tests/vectors/', { skip: vectorFiles.length ? false : 'tests/vectors/ has no .json vectors yet' }, () => {
  let checked = 0;
  for (const file of vectorFiles) {
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    for (const v of Array.isArray(doc) ? doc : doc.vectors || doc.cases || []) {
      const rgba = v.rgba_base64 ? pixels(v.rgba_base64) : v.rgba_hex ? new Uint8ClampedArray(Buffer.from(v.rgba_hex, 'hex')) : null;
      if (!rgba) continue;
      // The vectors also pin intermediate values (trim boxes, DCT inputs) for the reference
      // implementation's own test; the extension must agree on the variants it sends and matches.
      const expected = v.variants || (v.expected && v.expected.variants ? { ...v.expected.variants } : v.expected) || v.fingerprint;
      const got = v.variants || (v.expected && v.expected.variants) ? queryVariants(rgba, v.width, v.height) : (() => {
        try { return fingerprint(rgba, v.width, v.height); } catch (e) { return { low_information: true }; }
      })();
      for (const [key, want] of Object.entries(expected || {})) {
        if (typeof want === 'object' && want) {
          // ``matchable`` is the registry's indexing policy (quality threshold), not part of the
          // fingerprint the extension computes.
          for (const [k, w] of Object.entries(want)) if (k !== 'matchable') assert.deepEqual(sameForm(got[key] && got[key][k], w), w, `${path.basename(file)} ${v.name} ${key}.${k}`);
        } else {
          assert.deepEqual(got[key], want, `${path.basename(file)} ${v.name} ${key}`);
        }
      }
      checked++;
    }
  }
  assert.ok(checked > 0, 'no vector could be read: the format changed?');
});
