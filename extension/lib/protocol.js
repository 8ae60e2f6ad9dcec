// The registry's privacy-preserving lookup, client side (pure logic; no chrome.*, no fetch).
//
// Protocol (server/api/registry.py `GET /api/v1/lookup`, docs/PRIVACY.md):
//   1. the client fingerprints the image locally (lib/fingerprint.js queryVariants(),
//      docs/FINGERPRINT.md §8): `as_is`, `mirrored`, and when they differ `untrimmed` (the whole
//      picture, margins included) and `deframed` (a screenshot frame removed);
//   2. it sends only the 16-bit `bucket` of the as-is fingerprint (4 hex digits) — one lookup
//      per picture, whatever its variants (the default single mode of docs/PRIVACY.md);
//   3. the server answers with every registered (hash, colour, work, detail) in that bucket and
//      in its mirror bucket (`detail` is null or absent for rows stored before the detail grid);
//   4. the client matches every variant locally against those entries, like the server's
//      match() does with all query variants, with the server's own rule (server/registry/service.py):
//      Hamming distance ≤ RADIUS on 256 bits, colour distance ≤ COLOUR_REJECT, the brightness
//      layout verified (lib/verify.js, the port of server/registry/verify.py: the 4×4 cell
//      lumas, then, when both the variant and the entry carry a 64-byte detail grid, the 8×8
//      detail test acceptDetail; an entry without one is not held to it), best per work by
//      cost = distance + colour distance / 8.
// Only images whose as-is fingerprint is informative (quality ≥ QUERY_MIN_QUALITY, a hash away
// from the degenerate ones unrelated pictures share, not a faint grey line) are looked up, so a
// flat or tiny image costs no request at all; a variant that is not informative is not matched
// (as the server).
import { bucketHex, colourDistance, commonOnes, fromHex, hamming } from './fingerprint.js';
import { accept, acceptDetail, faintLine, RULE } from './verify.js';

export const RADIUS = 31; // the server's radius (server/registry/service.py)
export const COLOUR_REJECT = 320;
export const COLOUR_WEIGHT = 1 / 8;
// The server's query rules (server/registry/service.py QUERY_MIN_QUALITY, DEGENERATE_PATTERNS;
// checked against extension/test/fixtures/verify_vectors.json `service_query`).
export const QUERY_MIN_QUALITY = 35;
export const DEGENERATE = Object.freeze([
  ['5'.repeat(64), 40],
  ['a'.repeat(64), 40],
  ['0'.repeat(64), 16],
  ['0000ffff'.repeat(8), 16],
  ['ffff0000'.repeat(8), 16],
  ['aaaa5555'.repeat(8), 16],
  ['5555aaaa'.repeat(8), 16],
]);

// A picture mirror-symmetric about both axes has its 192 bits with an odd u or v all equal
// (server/registry/service.py SYMMETRIC_MASK, docs/FINGERPRINT.md §9); within `tolerance` bits
// of that, its hash is not matched (two such pictures agree there by construction).
export const SYMMETRIC = Object.freeze({ mask: 'ffffaaaa'.repeat(8), bits: 192, tolerance: 8 });

/** May this query fingerprint be matched? Enough gradient, not a degenerate or symmetric hash. */
export function informative(fp) {
  if (!fp || typeof fp.hash !== 'string' || !(fp.quality >= QUERY_MIN_QUALITY)) return false;
  if (!DEGENERATE.every(([pattern, radius]) => hamming(fp.hash, pattern) > radius)) return false;
  const ones = commonOnes(fp.hash, SYMMETRIC.mask);
  return ones > SYMMETRIC.tolerance && ones < SYMMETRIC.bits - SYMMETRIC.tolerance;
}

/**
 * Does a picture whose as-is fingerprint this is get looked up at all? informative(), and not a
 * faint grey line (verify.js faintLine; server/registry/service.py query_informative). Only the
 * as-is fingerprint is held to the line test, as on the server.
 */
export function queryInformative(asIs) {
  if (!informative(asIs)) return false;
  return typeof asIs.colour !== 'string' || !faintLine(detailOf(asIs), fromHex(asIs.colour));
}

/** The bucket to ask for, as the endpoint wants it, or null when the image is not informative. */
export function bucketKey(variants) {
  const fp = variants && variants.as_is;
  if (!queryInformative(fp)) return null;
  return bucketHex(fp.bucket);
}

export function lookupUrl(registry, key) {
  return `${registry.replace(/\/+$/, '')}/api/v1/lookup?bucket=${encodeURIComponent(key)}`;
}

const DETAIL_HEX = /^[0-9a-f]{128}$/i;

/** The 64 detail bytes of a fingerprint or entry, or null when it has none (an old row). */
const detailOf = (x) => (typeof x.detail === 'string' && DETAIL_HEX.test(x.detail) ? fromHex(x.detail) : null);

export const score = (cost) => {
  const worst = RADIUS + COLOUR_REJECT * COLOUR_WEIGHT;
  return Math.round(Math.max(0, 1 - cost / worst) * 10000) / 10000;
};

/**
 * Match every one of the image's variants (as_is, mirrored, untrimmed, deframed) against the
 * entries of its bucket answer.
 * Returns [{work, distance, colour_distance, cost, score, variant}], best first.
 */
export function matchEntries(variants, entries, rule = RULE) {
  const best = new Map();
  if (!queryInformative(variants && variants.as_is)) return [];
  for (const [variant, fp] of Object.entries(variants || {})) {
    if (!informative(fp)) continue; // e.g. the frame of a screenshot around a symmetric picture
    const colour = fromHex(fp.colour);
    const detail = detailOf(fp);
    for (const e of entries || []) {
      if (typeof e.hash !== 'string' || e.hash.length !== 64 || typeof e.work !== 'string') continue;
      const distance = hamming(fp.hash, e.hash);
      if (distance > RADIUS) continue;
      const cdist = colourDistance(colour, fromHex(e.colour));
      if (cdist > COLOUR_REJECT) continue;
      if (!accept(colour, fromHex(e.colour), rule)) continue;
      const entryDetail = detail && detailOf(e);
      if (entryDetail && !acceptDetail(detail, entryDetail, rule)) continue;
      const cost = distance + cdist * COLOUR_WEIGHT;
      const prev = best.get(e.work);
      if (!prev || cost < prev.cost) {
        best.set(e.work, { work: e.work, distance, colour_distance: cdist, cost, score: score(cost), variant });
      }
    }
  }
  return [...best.values()].sort((a, b) => a.cost - b.cost || (a.work < b.work ? -1 : 1));
}
