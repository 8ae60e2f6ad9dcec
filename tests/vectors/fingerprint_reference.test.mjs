// node --test tests/vectors/
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { composite, luma, quantised, queryVariants, resize, trimBox, trimmed } from "./fingerprint_reference.mjs";

const vectors = JSON.parse(readFileSync(new URL("./fingerprint_v1.json", import.meta.url)));

for (const c of vectors.cases) {
  test(c.name, () => {
    const rgba = Uint8Array.from(Buffer.from(c.rgba_base64, "base64"));
    const img = composite(rgba, c.width, c.height);
    assert.deepEqual(trimBox(img), c.expected.trim_strict);
    assert.deepEqual(trimBox(img, true), c.expected.trim_tolerant);
    if (c.expected.luma64_sha256) {
      const Y = luma(resize(trimmed(img, false)));
      const bytes = new Float64Array(64 * 64);
      for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) bytes[y * 64 + x] = Y[y][x];
      const digest = createHash("sha256").update(Buffer.from(bytes.buffer)).digest("hex");
      assert.equal(digest, c.expected.luma64_sha256);
      assert.deepEqual(quantised(Y), c.expected.quantised_coefficients);
    }
    assert.deepEqual(queryVariants(rgba, c.width, c.height), c.expected.variants);
  });
}
