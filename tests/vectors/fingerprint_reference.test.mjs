// node --test tests/vectors/
// Checks the one JavaScript implementation of docs/FINGERPRINT.md, the browser extension's
// extension/lib/fingerprint.js, against every vector bit for bit: trim boxes, the 64×64 luma
// (SHA-256 of its float64 bytes), the quantised DCT coefficients and the query variants.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import {
  bucketHex,
  imageView,
  isMatchable,
  luma,
  quantised,
  queryVariants,
  resize,
  trimBox,
  trimmed,
} from "../../extension/lib/fingerprint.js";

const vectors = JSON.parse(readFileSync(new URL("./fingerprint_v1.json", import.meta.url)));

// The vectors' form of a fingerprint: the bucket as 4 hex digits (the wire form; the extension
// keeps it as a number) and the registry's `matchable` flag (quality ≥ MIN_QUALITY).
function vectorForm(variants) {
  return Object.fromEntries(
    Object.entries(variants).map(([name, fp]) => [name, { ...fp, bucket: bucketHex(fp.bucket), matchable: isMatchable(fp) }]),
  );
}

for (const c of vectors.cases) {
  test(c.name, () => {
    const rgba = Uint8Array.from(Buffer.from(c.rgba_base64, "base64"));
    const img = imageView(rgba, c.width, c.height);
    assert.deepEqual(trimBox(img), c.expected.trim_strict);
    assert.deepEqual(trimBox(img, true), c.expected.trim_tolerant);
    if (c.expected.luma64_sha256) {
      const Y = luma(resize(img, trimmed(img, false)));
      assert.equal(Y.length, 64 * 64);
      const digest = createHash("sha256").update(Buffer.from(Y.buffer, Y.byteOffset, Y.byteLength)).digest("hex");
      assert.equal(digest, c.expected.luma64_sha256);
      assert.deepEqual(quantised(Y), c.expected.quantised_coefficients);
    }
    assert.deepEqual(vectorForm(queryVariants(rgba, c.width, c.height)), c.expected.variants);
  });
}
