// Reference JavaScript port of docs/FINGERPRINT.md (version 1), for checking the vectors with
// `node --test tests/vectors/`. Plain JS, no dependencies: the extension may copy it.
// Every loop order below is the specification's; do not "optimise" the order of sums.

const SIZE = 64, FREQS = 16, TOL = 32, MIN_SIDE = 24, MIN_QUALITY = 50, QUANT = 256;

export function composite(rgba, width, height) {
  const out = new Int32Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    const a = rgba[p * 4 + 3];
    for (let c = 0; c < 3; c++) {
      out[p * 3 + c] = Math.floor((rgba[p * 4 + c] * a + 255 * (255 - a) + 127) / 255);
    }
  }
  return { px: out, width, height, x0: 0, y0: 0, w: width, h: height };
}

// a region view: px of the full image, offset (x0, y0), size (w, h), optional flip
function at(img, x, y, c) {
  const xx = img.flip ? img.x0 + img.w - 1 - x : img.x0 + x;
  return img.px[((img.y0 + y) * img.width + xx) * 3 + c];
}

function near(img, x, y, ref) {
  let d = 0;
  for (let c = 0; c < 3; c++) d = Math.max(d, Math.abs(at(img, x, y, c) - ref[c]));
  return d <= TOL;
}

function lineUniform(img, index, isRow, ref) {
  const len = isRow ? img.w : img.h;
  const pix = (k) => (isRow ? [k, index] : [index, k]);
  const first = ref ?? [0, 1, 2].map((c) => at(img, ...pix(0), c));
  let count = 0;
  for (let k = 0; k < len; k++) if (near(img, ...pix(k), first)) count++;
  return ref ? count * 4 >= 3 * len : count === len;
}

export function trimBox(img, tolerant = false) {
  let top = 0, bottom = img.h, left = 0, right = img.w;
  const ref = tolerant ? [0, 1, 2].map((c) => at(img, 0, 0, c)) : null;
  const sub = (t, b, l, r) => ({ ...img, y0: img.y0 + t, x0: img.x0 + l, h: b - t, w: r - l });
  for (;;) {
    const before = [top, bottom, left, right].join();
    let region = sub(top, bottom, left, right);
    const rows = [];
    for (let y = 0; y < region.h; y++) rows.push(lineUniform(region, y, true, ref));
    let k = rows.indexOf(false);
    const allRows = k === -1;
    if (!allRows) {
      top += k;
      let j = 0;
      while (rows[rows.length - 1 - j]) j++;
      bottom -= j;
    }
    region = sub(top, bottom, left, right);
    const cols = [];
    for (let x = 0; x < region.w; x++) cols.push(lineUniform(region, x, false, ref));
    k = cols.indexOf(false);
    if (k !== -1) {
      left += k;
      let j = 0;
      while (cols[cols.length - 1 - j]) j++;
      right -= j;
    } else if (allRows && rows.length) {
      return null;
    }
    if ([top, bottom, left, right].join() === before) return [top, bottom, left, right];
  }
}

function trimmed(img, tolerant) {
  let region = img;
  if (tolerant) {
    const box = trimBox(img, true);
    if (!box) return null;
    region = { ...img, y0: img.y0 + box[0], x0: img.x0 + box[2], h: box[1] - box[0], w: box[3] - box[2] };
  }
  const box = trimBox(region);
  if (!box) return null;
  return { ...region, y0: region.y0 + box[0], x0: region.x0 + box[2], h: box[1] - box[0], w: box[3] - box[2] };
}

function boxAxis(get, len) {
  // returns 64 doubles for one line, get(x) gives the value at x
  const out = new Float64Array(SIZE);
  for (let o = 0; o < SIZE; o++) {
    const a = (o * len) / SIZE, b = ((o + 1) * len) / SIZE;
    let acc = 0.0;
    for (let x = Math.floor(a); x < Math.ceil(b); x++) {
      const weight = Math.min(x + 1, b) - Math.max(x, a);
      acc = acc + weight * get(x);
    }
    out[o] = acc / (len / SIZE);
  }
  return out;
}

export function resize(img) {
  const rgb = [0, 1, 2].map(() => []);
  for (let c = 0; c < 3; c++) {
    const rows = [];
    for (let y = 0; y < img.h; y++) rows.push(boxAxis((x) => at(img, x, y, c), img.w));
    const out = Array.from({ length: SIZE }, () => new Float64Array(SIZE));
    for (let x = 0; x < SIZE; x++) {
      const col = boxAxis((y) => rows[y][x], img.h);
      for (let y = 0; y < SIZE; y++) out[y][x] = col[y];
    }
    rgb[c] = out;
  }
  return rgb; // [R, G, B], each [y][x]
}

const COS = (() => {
  let x = 0.0;
  for (let i = 0; i < 6; i++) x = Math.sqrt((1.0 + x) / 2.0);
  const t = [1.0, x];
  for (let m = 1; m < 64; m++) t.push(2.0 * x * t[m] - t[m - 1]);
  const table = new Float64Array(256);
  for (let m = 0; m < 256; m++) {
    table[m] = m <= 64 ? t[m] : m <= 128 ? -t[128 - m] : m <= 192 ? -t[m - 128] : t[256 - m];
  }
  return table;
})();
const DCT = Array.from({ length: FREQS }, (_, k) =>
  Float64Array.from({ length: SIZE }, (_, i) => COS[((k + 1) * (2 * i + 1)) % 256]));

export function luma(rgb) {
  return rgb[0].map((row, y) => row.map((r, x) => (299.0 * r + 587.0 * rgb[1][y][x] + 114.0 * rgb[2][y][x]) / 1000.0));
}

export function quantised(Y) {
  const A = Array.from({ length: FREQS }, () => new Float64Array(SIZE));
  for (let u = 0; u < FREQS; u++)
    for (let j = 0; j < SIZE; j++) {
      let acc = 0.0;
      for (let i = 0; i < SIZE; i++) acc = acc + DCT[u][i] * Y[i][j];
      A[u][j] = acc;
    }
  const q = [];
  for (let u = 0; u < FREQS; u++)
    for (let v = 0; v < FREQS; v++) {
      let acc = 0.0;
      for (let j = 0; j < SIZE; j++) acc = acc + A[u][j] * DCT[v][j];
      q.push(Math.floor(acc * QUANT + 0.5));
    }
  return q;
}

function hashHex(q) {
  const s = [...q].sort((a, b) => a - b);
  const m2 = s[127] + s[128];
  let hex = "";
  for (let byte = 0; byte < 32; byte++) {
    let value = 0;
    for (let b = 0; b < 8; b++) if (2 * q[byte * 8 + b] > m2) value |= 0x80 >> b;
    hex += value.toString(16).padStart(2, "0");
  }
  return hex;
}

function quality(Y) {
  let s = 0;
  for (let y = 0; y < SIZE; y++) for (let x = 0; x < SIZE - 1; x++) s += Math.floor((Math.abs(Y[y][x + 1] - Y[y][x]) * 100.0) / 255.0);
  for (let y = 0; y < SIZE - 1; y++) for (let x = 0; x < SIZE; x++) s += Math.floor((Math.abs(Y[y + 1][x] - Y[y][x]) * 100.0) / 255.0);
  return Math.min(100, Math.floor(s / 90));
}

const byte = (x) => Math.min(255, Math.max(0, Math.floor(x + 0.5)));

function colourGrid(rgb) {
  const out = [];
  for (let cy = 0; cy < 4; cy++)
    for (let cx = 0; cx < 4; cx++) {
      const mean = [0, 1, 2].map((c) => {
        let acc = 0.0;
        for (let i = 0; i < 16; i++) for (let j = 0; j < 16; j++) acc = acc + rgb[c][cy * 16 + i][cx * 16 + j];
        return acc / 256.0;
      });
      const y = (299.0 * mean[0] + 587.0 * mean[1] + 114.0 * mean[2]) / 1000.0;
      out.push(byte(y), byte((mean[2] - y) / 2.0 + 128.0), byte((mean[0] - y) / 2.0 + 128.0));
    }
  return out;
}

function bucketOf(grid) {
  const y = [];
  for (let n = 0; n < 16; n++) y.push(grid[n * 3]);
  const s = [...y].sort((a, b) => a - b);
  const m2 = s[7] + s[8];
  let value = 0;
  for (let n = 0; n < 16; n++) if (2 * y[n] > m2) value |= 1 << (15 - n);
  return value;
}

export function fingerprintRegion(img) {
  if (Math.min(img.w, img.h) < MIN_SIDE) return null;
  const rgb = resize(img);
  const Y = luma(rgb);
  const grid = colourGrid(rgb);
  const q = quality(Y);
  return {
    hash: hashHex(quantised(Y)),
    colour: grid.map((b) => b.toString(16).padStart(2, "0")).join(""),
    bucket: bucketOf(grid).toString(16).padStart(4, "0"),
    quality: q,
    width: img.w,
    height: img.h,
    matchable: q >= MIN_QUALITY,
  };
}

export function queryVariants(rgba, width, height) {
  const img = composite(rgba, width, height);
  const strict = trimmed(img, false);
  if (!strict) return {};
  const asIs = fingerprintRegion(strict);
  if (!asIs) return {};
  const found = { as_is: asIs, mirrored: fingerprintRegion({ ...strict, flip: true }) };
  if ((strict.w !== width || strict.h !== height) && Math.min(width, height) >= MIN_SIDE) {
    found.untrimmed = fingerprintRegion(img);
  }
  const deframed = trimmed(img, true);
  if (deframed && (deframed.w !== strict.w || deframed.h !== strict.h)) {
    const fp = fingerprintRegion(deframed);
    if (fp) found.deframed = fp;
  }
  return found;
}

export { trimmed };
