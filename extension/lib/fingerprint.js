// The Creditline image fingerprint, version 1, in plain JavaScript: the one JavaScript
// implementation (the extension's service worker imports it as an ES module; no build step).
//
// Specified in docs/FINGERPRINT.md; produces the same bits as server/registry/fingerprint.py from
// the same decoded RGBA pixels: integer arithmetic where the specification uses integers,
// IEEE-754 float64 in the specification's order everywhere else (V8 and SpiderMonkey never
// contract a*b+c into a fused multiply-add). Checked bit for bit against tests/vectors/ —
// intermediate trim boxes, 64×64 luma and quantised DCT coefficients included — by
// `node --test tests/vectors/` and, on the variants, by extension/test/fingerprint.test.mjs.
//
// In memory a fingerprint is {hash: 64 hex digits, colour: 96 hex digits, bucket: number
// 0..65535, quality, width, height, detail: 128 hex digits (the 8 × 8 detail grid, §7b)};
// `bucketHex` gives the bucket's wire form (4 hex digits).
// Whether a fingerprint is matchable (quality ≥ MIN_QUALITY) is `isMatchable`, not a field.
//
// Speed: the horizontal box pass, which touches every pixel, is done in integers. Its float64
// result is exact in any summation order (each term is an integer 0..255 times a multiple of
// 1/64, and a sum over ≤ 2^10 of them needs far fewer than 53 bits), so an integer sum S gives
// bit for bit the specification's float sum S/64. The mirrored variant reuses that pass (the
// mirrored region's horizontal pass is the original's with its 64 outputs reversed, exactly).

export const VERSION = 1;
export const SIZE = 64;
export const FREQS = 16;
export const TRIM_TOLERANCE = 32;
export const TRIM_NUMERATOR = 3; // a frame line is ≥ 75 % near the frame colour
export const TRIM_DENOMINATOR = 4;
export const MIN_SIDE = 24;
export const MIN_QUALITY = 50;
export const QUANT = 256.0;

export class LowInformation extends Error {
  constructor(message) {
    super(message);
    this.name = 'LowInformation';
  }
}

// -- step 1: alpha over white (integers) ---------------------------------------------------

/** RGBA bytes → RGB Uint8Array composited over white: (c·a + 255·(255−a) + 127) // 255. */
export function composite(rgba, width, height) {
  const n = width * height;
  const out = new Uint8Array(n * 3);
  for (let p = 0, q = 0; p < n * 4; p += 4, q += 3) {
    const a = rgba[p + 3];
    if (a === 255) {
      out[q] = rgba[p];
      out[q + 1] = rgba[p + 1];
      out[q + 2] = rgba[p + 2];
    } else {
      const white = 255 * (255 - a) + 127;
      out[q] = ((rgba[p] * a + white) / 255) | 0;
      out[q + 1] = ((rgba[p + 1] * a + white) / 255) | 0;
      out[q + 2] = ((rgba[p + 2] * a + white) / 255) | 0;
    }
  }
  return out;
}

// -- step 2: trim near-uniform borders -------------------------------------------------------

// An image view: RGB bytes `px` with row stride `w`, optionally mirrored horizontally.
function at(img, x, y) {
  const sx = img.mirror ? img.w - 1 - x : x;
  return (y * img.w + sx) * img.stride;
}

function near(px, i, j) {
  return (
    Math.abs(px[i] - px[j]) <= TRIM_TOLERANCE &&
    Math.abs(px[i + 1] - px[j + 1]) <= TRIM_TOLERANCE &&
    Math.abs(px[i + 2] - px[j + 2]) <= TRIM_TOLERANCE
  );
}

// Strict (`ref` < 0): is every pixel of the line near the line's first pixel? Frame test
// (`ref` = offset of the frame colour, the whole image's top-left pixel): are ≥ 75 % of its
// pixels near `ref` (4·count ≥ 3·length)? `pixelAt(i)` is the offset of the line's i-th pixel.
function uniformLine(px, len, pixelAt, ref) {
  const strict = ref < 0;
  const reference = strict ? pixelAt(0) : ref;
  // the most pixels that may be far from the reference (count ≥ ceil(3·len/4))
  const allowedFar = strict ? 0 : len - Math.ceil((TRIM_NUMERATOR * len) / TRIM_DENOMINATOR);
  let far = 0;
  for (let i = 0; i < len; i++) {
    if (!near(px, pixelAt(i), reference) && ++far > allowedFar) return false;
  }
  return true;
}

const rowUniform = (img, y, x0, x1, ref) =>
  uniformLine(img.px, x1 - x0, (i) => at(img, x0 + i, y), ref);
const colUniform = (img, x, y0, y1, ref) =>
  uniformLine(img.px, y1 - y0, (i) => at(img, x, y0 + i), ref);

/**
 * [top, bottom, left, right] (half-open) after removing uniform border lines — top and bottom
 * rows, then left and right columns, repeated until a round removes nothing (docs §2) —
 * starting from `start` (default: the whole view); null when the region is flat (every row and
 * every column uniform). `tolerant` uses the frame test (reference: the view's pixel (0, 0)).
 */
export function trimBox(img, tolerant = false, start = null) {
  let [top, bottom, left, right] = start || [0, img.h, 0, img.w];
  const ref = tolerant ? at(img, 0, 0) : -1;
  for (;;) {
    const before = [top, bottom, left, right];
    const rowsN = bottom - top;
    let k = 0;
    while (k < rowsN && rowUniform(img, top + k, left, right, ref)) k++;
    const allRows = k === rowsN;
    if (!allRows) {
      top += k;
      while (bottom > top && rowUniform(img, bottom - 1, left, right, ref)) bottom--;
    }
    const colsN = right - left;
    let j = 0;
    while (j < colsN && colUniform(img, left + j, top, bottom, ref)) j++;
    if (j < colsN) {
      left += j;
      while (right > left && colUniform(img, right - 1, top, bottom, ref)) right--;
    } else if (rowsN && allRows) {
      return null;
    }
    if (top === before[0] && bottom === before[1] && left === before[2] && right === before[3]) {
      return [top, bottom, left, right];
    }
  }
}

/**
 * The region a fingerprint describes, as a box of the whole view: the strict trim, or with
 * `tolerant` the tolerant trim (frame test, then the strict trim of its region). null: flat.
 */
export function trimmed(img, tolerant = false) {
  if (!tolerant) return trimBox(img);
  const frame = trimBox(img, true);
  return frame && trimBox(img, false, frame);
}

// -- step 3: exact box-filter resize -------------------------------------------------------

// For an axis of `len` samples → SIZE outputs: per output, the first source index and the
// weights·64 (integers) of the covered samples; weights are min(x+1,b) − max(x,a).
function boxPlan(len) {
  const plan = [];
  for (let o = 0; o < SIZE; o++) {
    const a = (o * len) / SIZE;
    const b = ((o + 1) * len) / SIZE;
    const x0 = Math.floor(a);
    const x1 = Math.ceil(b);
    const weights = [];
    for (let x = x0; x < x1; x++) weights.push(Math.min(x + 1, b) - Math.max(x, a));
    plan.push({ x0, weights });
  }
  return plan;
}

/** Horizontal pass over rows top..bottom, columns left..right: Float64Array [rows][64][3]. */
function horizontalPass(img, box) {
  const [top, bottom, left, right] = box;
  const w = right - left;
  const rowsN = bottom - top;
  const plan = boxPlan(w);
  const span = w / SIZE;
  const stride = img.stride;
  const step = img.mirror ? -stride : stride;
  // Per output: offset of its first source pixel within a row, the number of source pixels,
  // and 64 − weight·64 for the first and the last (every weight in between is 1).
  const first = new Int32Array(SIZE);
  const count = new Int32Array(SIZE);
  const cutFirst = new Int32Array(SIZE);
  const cutLast = new Int32Array(SIZE);
  for (let o = 0; o < SIZE; o++) {
    const { x0, weights } = plan[o];
    const x = left + x0;
    first[o] = (img.mirror ? img.w - 1 - x : x) * stride;
    count[o] = weights.length;
    cutFirst[o] = 64 - weights[0] * 64;
    cutLast[o] = 64 - weights[weights.length - 1] * 64;
  }
  const out = new Float64Array(rowsN * SIZE * 3);
  const px = img.px;
  const rowBytes = img.w * stride;
  for (let r = 0; r < rowsN; r++) {
    const base = (top + r) * rowBytes;
    const ob = r * SIZE * 3;
    for (let o = 0; o < SIZE; o++) {
      const p0 = base + first[o];
      const n = count[o];
      let sr = 0;
      let sg = 0;
      let sb = 0;
      for (let t = 0, p = p0; t < n; t++, p += step) {
        sr += px[p];
        sg += px[p + 1];
        sb += px[p + 2];
      }
      // integer Σ weight·64·value (exact: see the header)
      sr = sr * 64 - cutFirst[o] * px[p0];
      sg = sg * 64 - cutFirst[o] * px[p0 + 1];
      sb = sb * 64 - cutFirst[o] * px[p0 + 2];
      if (n > 1) {
        const pl = p0 + (n - 1) * step;
        sr -= cutLast[o] * px[pl];
        sg -= cutLast[o] * px[pl + 1];
        sb -= cutLast[o] * px[pl + 2];
      }
      out[ob + o * 3] = sr / 64 / span;
      out[ob + o * 3 + 1] = sg / 64 / span;
      out[ob + o * 3 + 2] = sb / 64 / span;
    }
  }
  return out;
}

/** Vertical pass in float64, ascending source rows as specified: Float64Array [64][64][3]. */
function verticalPass(rows, rowsN) {
  const plan = boxPlan(rowsN);
  const span = rowsN / SIZE;
  const out = new Float64Array(SIZE * SIZE * 3);
  for (let oy = 0; oy < SIZE; oy++) {
    const { x0, weights } = plan[oy];
    for (let ox = 0; ox < SIZE; ox++) {
      for (let c = 0; c < 3; c++) {
        let s = 0.0;
        for (let t = 0; t < weights.length; t++) {
          s += weights[t] * rows[((x0 + t) * SIZE + ox) * 3 + c];
        }
        out[(oy * SIZE + ox) * 3 + c] = s / span;
      }
    }
  }
  return out;
}

function mirrorRows(rows, rowsN) {
  const out = new Float64Array(rows.length);
  for (let r = 0; r < rowsN; r++) {
    for (let o = 0; o < SIZE; o++) {
      const from = (r * SIZE + (SIZE - 1 - o)) * 3;
      const to = (r * SIZE + o) * 3;
      out[to] = rows[from];
      out[to + 1] = rows[from + 1];
      out[to + 2] = rows[from + 2];
    }
  }
  return out;
}

function lumaOf(rgb64) {
  const y = new Float64Array(SIZE * SIZE);
  for (let i = 0; i < SIZE * SIZE; i++) {
    y[i] = (299.0 * rgb64[i * 3] + 587.0 * rgb64[i * 3 + 1] + 114.0 * rgb64[i * 3 + 2]) / 1000.0;
  }
  return y;
}

/** The 64 × 64 area-averaged RGB of the view's `box` (docs §3): Float64Array, [y][x][R, G, B]. */
export function resize(img, box) {
  return verticalPass(horizontalPass(img, box), box[1] - box[0]);
}

/** Luma of a resized image (docs §4): Float64Array [y][x]. */
export const luma = (rgb64) => lumaOf(rgb64);

// -- step 4: DCT without transcendental functions ------------------------------------------

function cosTable() {
  let x = 0.0;
  for (let k = 0; k < 6; k++) x = Math.sqrt((1.0 + x) / 2.0);
  const first = [1.0, x];
  for (let m = 1; m < 64; m++) first.push(2.0 * x * first[m] - first[m - 1]);
  const table = new Float64Array(256);
  for (let m = 0; m < 256; m++) {
    if (m <= 64) table[m] = first[m];
    else if (m <= 128) table[m] = -first[128 - m];
    else if (m <= 192) table[m] = -first[m - 128];
    else table[m] = first[256 - m];
  }
  return table;
}

const COS = cosTable();
// DCT[(k-1)*64 + i] = cos(π·k·(2i+1)/128), k = 1..16
const DCT = new Float64Array(FREQS * SIZE);
for (let k = 1; k <= FREQS; k++) {
  for (let i = 0; i < SIZE; i++) DCT[(k - 1) * SIZE + i] = COS[(k * (2 * i + 1)) % 256];
}

export function dctCoefficients(y64) {
  const a = new Float64Array(FREQS * SIZE);
  for (let i = 0; i < SIZE; i++) {
    for (let u = 0; u < FREQS; u++) {
      const d = DCT[u * SIZE + i];
      for (let j = 0; j < SIZE; j++) a[u * SIZE + j] += d * y64[i * SIZE + j];
    }
  }
  const f = new Float64Array(FREQS * FREQS);
  for (let j = 0; j < SIZE; j++) {
    for (let u = 0; u < FREQS; u++) {
      const av = a[u * SIZE + j];
      for (let v = 0; v < FREQS; v++) f[u * FREQS + v] += av * DCT[v * SIZE + j];
    }
  }
  return f;
}

/** The 256 quantised coefficients q[u][v] (docs §5), row-major, as a plain array. */
export function quantised(y64) {
  return Array.from(dctCoefficients(y64), (f) => Math.floor(f * QUANT + 0.5));
}

function hashHex(y64) {
  const q = quantised(y64);
  const s = Float64Array.from(q).sort();
  const twiceMedian = s[127] + s[128];
  let hex = '';
  for (let byte = 0; byte < 32; byte++) {
    let v = 0;
    for (let bit = 0; bit < 8; bit++) v = (v << 1) | (2.0 * q[byte * 8 + bit] > twiceMedian ? 1 : 0);
    hex += v.toString(16).padStart(2, '0');
  }
  return hex;
}

// -- step 5: quality -------------------------------------------------------------------------

export function quality(y64) {
  let total = 0;
  for (let r = 0; r < SIZE; r++) {
    for (let c = 0; c < SIZE - 1; c++) {
      total += Math.floor((Math.abs(y64[r * SIZE + c + 1] - y64[r * SIZE + c]) * 100.0) / 255.0);
    }
  }
  for (let r = 0; r < SIZE - 1; r++) {
    for (let c = 0; c < SIZE; c++) {
      total += Math.floor((Math.abs(y64[(r + 1) * SIZE + c] - y64[r * SIZE + c]) * 100.0) / 255.0);
    }
  }
  return Math.min(100, Math.floor(total / 90));
}

// -- step 6: colour grid and bucket ----------------------------------------------------------

const toByte = (x) => Math.min(255, Math.max(0, Math.floor(x + 0.5)));

export function colourGrid(rgb64) {
  const cells = new Float64Array(16 * 3);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      for (let R = 0; R < 4; R++) {
        for (let C = 0; C < 4; C++) {
          const p = ((R * 16 + i) * SIZE + (C * 16 + j)) * 3;
          const q = (R * 4 + C) * 3;
          cells[q] += rgb64[p];
          cells[q + 1] += rgb64[p + 1];
          cells[q + 2] += rgb64[p + 2];
        }
      }
    }
  }
  const out = new Uint8Array(48);
  for (let n = 0; n < 16; n++) {
    const r = cells[n * 3] / 256.0;
    const g = cells[n * 3 + 1] / 256.0;
    const b = cells[n * 3 + 2] / 256.0;
    const y = (299.0 * r + 587.0 * g + 114.0 * b) / 1000.0;
    out[n * 3] = toByte(y);
    out[n * 3 + 1] = toByte((b - y) / 2.0 + 128.0);
    out[n * 3 + 2] = toByte((r - y) / 2.0 + 128.0);
  }
  return out;
}

export const DETAIL = 8; // the detail grid is DETAIL × DETAIL cells (docs §7b)

/**
 * The 8 × 8 cell lumas (docs §7b), 64 bytes row-major: the brightness layout at a resolution
 * where a drawing's details show, for verifying a match (lib/verify.js acceptDetail). Each
 * cell's channel sums run over the cell's rows i, then its columns j, from 0.0, as in Python
 * (float64 sums are order-dependent; this order is the specification's).
 */
export function detailGrid(rgb64) {
  const side = SIZE / DETAIL;
  const out = new Uint8Array(DETAIL * DETAIL);
  for (let R = 0; R < DETAIL; R++) {
    for (let C = 0; C < DETAIL; C++) {
      let r = 0.0;
      let g = 0.0;
      let b = 0.0;
      for (let i = 0; i < side; i++) {
        let p = ((R * side + i) * SIZE + C * side) * 3;
        for (let j = 0; j < side; j++, p += 3) {
          r += rgb64[p];
          g += rgb64[p + 1];
          b += rgb64[p + 2];
        }
      }
      const n = side * side;
      out[R * DETAIL + C] = toByte((299.0 * (r / n) + 587.0 * (g / n) + 114.0 * (b / n)) / 1000.0);
    }
  }
  return out;
}

export function bucketOf(colour) {
  const y = [];
  for (let n = 0; n < 16; n++) y.push(colour[n * 3]);
  const s = [...y].sort((p, q) => p - q);
  const twiceMedian = s[7] + s[8];
  let value = 0;
  for (let n = 0; n < 16; n++) if (2 * y[n] > twiceMedian) value |= 1 << (15 - n);
  return value;
}

export function mirrorBucket(bucket) {
  let value = 0;
  for (let n = 0; n < 16; n++) {
    if ((bucket >> (15 - n)) & 1) {
      const r = Math.floor(n / 4);
      const c = n % 4;
      value |= 1 << (15 - (r * 4 + 3 - c));
    }
  }
  return value;
}

/** Σ over cells of |ΔCb| + |ΔCr| (luma ignored). */
export function colourDistance(a, b) {
  let d = 0;
  for (let n = 0; n < 16; n++) {
    d += Math.abs(a[n * 3 + 1] - b[n * 3 + 1]) + Math.abs(a[n * 3 + 2] - b[n * 3 + 2]);
  }
  return d;
}

const POPCOUNT = new Uint8Array(256).map((_, i) => {
  let c = 0;
  for (let v = i; v; v >>= 1) c += v & 1;
  return c;
});

/** Hamming distance between two 64-digit hex hashes. */
export function hamming(hexA, hexB) {
  let d = 0;
  for (let i = 0; i < 64; i += 2) {
    d += POPCOUNT[parseInt(hexA.slice(i, i + 2), 16) ^ parseInt(hexB.slice(i, i + 2), 16)];
  }
  return d;
}

/** How many bits are set in both of two 256-bit hashes (64 hex digits each). */
export function commonOnes(hexA, hexB) {
  let n = 0;
  for (let i = 0; i < 64; i += 2) {
    n += POPCOUNT[parseInt(hexA.slice(i, i + 2), 16) & parseInt(hexB.slice(i, i + 2), 16)];
  }
  return n;
}

export const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
export const fromHex = (hex) => Uint8Array.from(hex.match(/../g) || [], (h) => parseInt(h, 16));

// -- the whole pipeline ----------------------------------------------------------------------

function finish(rgb64, w, h) {
  const y64 = lumaOf(rgb64);
  const colour = colourGrid(rgb64);
  return {
    hash: hashHex(y64),
    colour: toHex(colour),
    bucket: bucketOf(colour),
    quality: quality(y64),
    width: w,
    height: h,
    detail: toHex(detailGrid(rgb64)),
  };
}

function fingerprintBox(img, box, rows) {
  const [top, bottom, left, right] = box;
  const w = right - left;
  const h = bottom - top;
  if (Math.min(h, w) < MIN_SIDE) {
    throw new LowInformation(`${w}×${h} after trimming: smaller than ${MIN_SIDE} px`);
  }
  const horizontal = rows || horizontalPass(img, box);
  return { fp: finish(verticalPass(horizontal, h), w, h), rows: horizontal };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function opaque(rgba) {
  // alpha is the high byte of each little-endian 32-bit word (4 bytes at a time)
  if (LITTLE_ENDIAN && rgba.byteOffset % 4 === 0) {
    const words = new Uint32Array(rgba.buffer, rgba.byteOffset, rgba.length >> 2);
    for (let i = 0; i < words.length; i++) if (words[i] < 0xff000000) return false;
    return true;
  }
  for (let p = 3; p < rgba.length; p += 4) if (rgba[p] !== 255) return false;
  return true;
}

// Opaque images (every JPEG) are read in place: compositing over white changes nothing then.
/**
 * The composited picture (docs §1) as an image view {px, stride, w, h, mirror} for trimBox,
 * trimmed and resize: RGB(A) bytes `px` with `stride` bytes per pixel, row by row.
 */
export function imageView(rgba, width, height) {
  if (rgba.length !== width * height * 4) throw new RangeError('expected width×height×4 bytes');
  const px = opaque(rgba) ? rgba : composite(rgba, width, height);
  return { px, stride: px === rgba ? 4 : 3, w: width, h: height, mirror: false };
}

/** The wire form of a bucket: 4 lowercase hex digits. */
export const bucketHex = (bucket) => bucket.toString(16).padStart(4, '0');

/** The fingerprint of decoded RGBA pixels (the strict-trimmed picture). Throws LowInformation. */
export function fingerprint(rgba, width, height) {
  const img = imageView(rgba, width, height);
  const box = trimmed(img);
  if (!box) throw new LowInformation('the image is a single flat colour');
  return fingerprintBox(img, box).fp;
}

const sameSize = (a, b) => a[1] - a[0] === b[1] - b[0] && a[3] - a[2] === b[3] - b[2];

/**
 * What a query checks (docs §8, server/registry/fingerprint.py query_variants()): `as_is`, the
 * strict-trimmed picture; `mirrored`, the same region flipped left–right; `untrimmed`, the whole
 * picture, when the strict trim removed something (and it is ≥ MIN_SIDE px); `deframed`, the
 * tolerant trim, when its region's size differs from the strict trim's. `{}` when the strict
 * trim finds the picture flat or too small (low information).
 */
export function queryVariants(rgba, width, height) {
  const img = imageView(rgba, width, height);
  const box = trimmed(img);
  if (!box) return {};
  let asIs;
  try {
    asIs = fingerprintBox(img, box);
  } catch (e) {
    if (e instanceof LowInformation) return {};
    throw e;
  }
  const found = {
    as_is: asIs.fp,
    mirrored: fingerprintBox(img, box, mirrorRows(asIs.rows, box[1] - box[0])).fp,
  };
  const whole = [0, height, 0, width];
  if (!sameSize(box, whole) && Math.min(width, height) >= MIN_SIDE) {
    found.untrimmed = fingerprintBox(img, whole).fp;
  }
  const inner = trimmed(img, true);
  if (inner && !sameSize(inner, box)) {
    try {
      found.deframed = fingerprintBox(img, inner).fp;
    } catch (e) {
      if (!(e instanceof LowInformation)) throw e;
    }
  }
  return found;
}

export const isMatchable = (fp) => fp.quality >= MIN_QUALITY;
