// The service worker (Chromium) / event page (Firefox). It alone talks to the network:
//   - fetches image bytes (host permissions), decodes them with createImageBitmap +
//     OffscreenCanvas, fingerprints them (lib/fingerprint.js);
//   - runs the registry's privacy-preserving lookup (lib/protocol.js): only a 16-bit bucket
//     leaves the browser for an image that matches nothing;
//   - only after a local match does it ask for the work record, and for the post URL
//     (`/api/v1/attribution?url=`) so that our own copies resolve to their exact work;
//   - caches fingerprints, bucket answers and records; answers one message per page batch;
//   - keeps the list of attributions found per tab for the popup (storage.session);
//   - registers the generic content script when the viewer allowed "all sites".
// Listeners are registered at the top level, as MV3 requires.
import { queryVariants } from '../lib/fingerprint.js';
import { bucketKey, lookupUrl, matchEntries } from '../lib/protocol.js';
import { ALL_SITES_ORIGINS, loadSettings } from '../lib/settings.js';
import '../common/badge-model.js';

const { badgeModel, summary } = globalThis.Creditline.badgeModel;

const FINGERPRINT_CACHE = 1000;
const ANSWER_TTL_MS = 5 * 60 * 1000;
const MAX_DECODE_PIXELS = 4096 * 4096; // larger images are decoded downscaled (still matchable)
const DECODE_CONCURRENCY = 2;
const FETCH_TIMEOUT_MS = 15000;

// -- small caches ----------------------------------------------------------------------------

class Lru {
  constructor(limit, ttl = Infinity) {
    this.limit = limit;
    this.ttl = ttl;
    this.map = new Map();
  }
  get(key) {
    const hit = this.map.get(key);
    if (!hit) return undefined;
    if (Date.now() - hit.at > this.ttl) {
      this.map.delete(key);
      return undefined;
    }
    this.map.delete(key);
    this.map.set(key, hit);
    return hit.value;
  }
  set(key, value) {
    this.map.delete(key);
    this.map.set(key, { value, at: Date.now() });
    while (this.map.size > this.limit) this.map.delete(this.map.keys().next().value);
  }
}

const fingerprints = new Lru(FINGERPRINT_CACHE); // image URL -> Promise<variants | {}>
const answers = new Lru(2000, ANSWER_TTL_MS); // request URL -> Promise<json>
export const stats = { fingerprints: [], requests: [] }; // read by the e2e benchmark

// -- fingerprinting ----------------------------------------------------------------------------

let running = 0;
const waiting = [];
async function limited(fn) {
  if (running >= DECODE_CONCURRENCY) await new Promise((resolve) => waiting.push(resolve));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    if (waiting.length) waiting.shift()();
  }
}

async function fetchWithTimeout(url, init = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), FETCH_TIMEOUT_MS);
  try {
    return await fetch(url, { ...init, signal: controller.signal });
  } finally {
    clearTimeout(timer);
  }
}

/** Decoded RGBA pixels of an image blob, as the registry decodes them (no colour conversion). */
export async function decode(blob) {
  const options = { colorSpaceConversion: 'none', premultiplyAlpha: 'none', imageOrientation: 'from-image' };
  let bitmap = await createImageBitmap(blob, options);
  if (bitmap.width * bitmap.height > MAX_DECODE_PIXELS) {
    const scale = Math.sqrt(MAX_DECODE_PIXELS / (bitmap.width * bitmap.height));
    const resizeWidth = Math.max(1, Math.floor(bitmap.width * scale));
    const resizeHeight = Math.max(1, Math.floor(bitmap.height * scale));
    bitmap.close();
    bitmap = await createImageBitmap(blob, { ...options, resizeWidth, resizeHeight, resizeQuality: 'medium' });
  }
  const { width, height } = bitmap;
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  return { data: ctx.getImageData(0, 0, width, height).data, width, height };
}

function fingerprintOf(src) {
  let promise = fingerprints.get(src);
  if (!promise) {
    promise = limited(async () => {
      const response = await fetchWithTimeout(src, { credentials: 'omit', referrerPolicy: 'no-referrer' });
      if (!response.ok) return {};
      const t0 = performance.now();
      const { data, width, height } = await decode(await response.blob());
      const t1 = performance.now();
      const variants = queryVariants(data, width, height);
      const t2 = performance.now();
      stats.fingerprints.push({ width, height, decodeMs: t1 - t0, fingerprintMs: t2 - t1 });
      if (stats.fingerprints.length > 500) stats.fingerprints.shift();
      return variants;
    }).catch(() => ({})); // unreachable or undecodable images match nothing
    fingerprints.set(src, promise);
  }
  return promise;
}

// -- the registry ------------------------------------------------------------------------------

async function registryJson(url) {
  let promise = answers.get(url);
  if (!promise) {
    promise = (async () => {
      stats.requests.push(url);
      if (stats.requests.length > 2000) stats.requests.shift();
      let response = await fetchWithTimeout(url, { credentials: 'omit', headers: { Accept: 'application/json' } });
      if (response.status === 429) {
        const wait = Math.min(30, Number(response.headers.get('Retry-After')) || 2);
        await new Promise((resolve) => setTimeout(resolve, wait * 1000));
        response = await fetchWithTimeout(url, { credentials: 'omit', headers: { Accept: 'application/json' } });
      }
      if (response.status === 404) return null;
      if (!response.ok) throw new Error(`registry answered ${response.status}`);
      return response.json();
    })();
    answers.set(url, promise);
    promise.catch(() => answers.map.delete(url)); // do not cache failures
  }
  return promise;
}

const api = (registry, path) => `${registry.replace(/\/+$/, '')}/api/v1/${path}`;

async function resolve(item, registry) {
  const variants = await fingerprintOf(item.src);
  const key = bucketKey(variants);
  if (!key) return { src: item.src, status: 'low_information' };
  const answer = await registryJson(lookupUrl(registry, key));
  const matches = matchEntries(variants, (answer && answer.entries) || []);
  if (!matches.length) return { src: item.src, status: 'none' };
  // A local match: now (and only now) the post URL may say exactly which work this copy is.
  let work = null;
  let via = 'fingerprint';
  if (item.postUrl) {
    const att = await registryJson(api(registry, `attribution?url=${encodeURIComponent(item.postUrl)}`)).catch(() => null);
    const works = (att && att.works) || [];
    work = works.find((w) => matches.some((m) => m.work === w.public_id)) || works[0] || null;
    if (work) via = 'url';
  }
  if (!work) work = await registryJson(api(registry, `works/${encodeURIComponent(matches[0].work)}`));
  if (!work) return { src: item.src, status: 'none' };
  return { src: item.src, status: 'match', work, via, score: matches[0].score, distance: matches[0].distance };
}

// -- per-tab results for the popup ---------------------------------------------------------------

const tabKey = (tabId) => `tab:${tabId}`;
let tabWrite = Promise.resolve();

function remember(tabId, results, platform) {
  if (tabId === undefined || tabId < 0 || !chrome.storage.session) return;
  tabWrite = tabWrite.then(async () => {
    const key = tabKey(tabId);
    const list = (await chrome.storage.session.get(key))[key] || [];
    for (const r of results) {
      if (r.status !== 'match' || list.some((x) => x.publicId === r.work.public_id)) continue;
      const model = badgeModel(r.work, { via: r.via, platform });
      if (!model) continue;
      list.push({ publicId: model.publicId, title: model.title, canonicalUrl: model.canonicalUrl, summary: summary(model), via: model.via, credits: model.credits });
    }
    await chrome.storage.session.set({ [key]: list });
    if (chrome.action && chrome.action.setBadgeText) {
      chrome.action.setBadgeText({ tabId, text: list.length ? String(list.length) : '' }).catch(() => {});
    }
  }).catch(() => {});
}

// -- messages ----------------------------------------------------------------------------------

async function handleLookup(msg, sender) {
  const settings = await loadSettings(chrome.storage.local);
  if (!settings.reposts) return { results: [] };
  const items = (Array.isArray(msg.items) ? msg.items : [])
    .filter((i) => i && typeof i.src === 'string' && /^https?:/.test(i.src))
    .slice(0, 200)
    .map((i) => ({ src: i.src, postUrl: typeof i.postUrl === 'string' && /^https?:/.test(i.postUrl) ? i.postUrl : null }));
  const results = await Promise.all(items.map((i) => resolve(i, settings.registry).catch(() => ({ src: i.src, status: 'error' }))));
  remember(sender.tab && sender.tab.id, results, null);
  return { results };
}

chrome.runtime.onMessage.addListener((msg, sender, sendResponse) => {
  if (!msg || typeof msg.type !== 'string') return false;
  if (msg.type === 'creditline:lookup') {
    handleLookup(msg, sender).then(sendResponse, () => sendResponse({ results: [] }));
    return true;
  }
  if (msg.type === 'creditline:page' && sender.tab && chrome.storage.session) {
    chrome.storage.session.remove(tabKey(sender.tab.id)).catch(() => {});
    return false;
  }
  return false;
});

if (chrome.tabs && chrome.tabs.onRemoved) {
  chrome.tabs.onRemoved.addListener((tabId) => {
    if (chrome.storage.session) chrome.storage.session.remove(tabKey(tabId)).catch(() => {});
  });
}

// -- "all sites": the generic content script, only with the optional permission -----------------

const GENERIC_ID = 'creditline-generic';
const GENERIC_JS = [
  'common/restore.js', 'common/badge-model.js', 'content/badge.js',
  'content/sites/mastodon.js', 'content/sites/generic.js', 'content/main.js',
];

function supportedMatches() {
  const manifest = chrome.runtime.getManifest();
  return [...new Set((manifest.content_scripts || []).flatMap((c) => c.matches || []))];
}

export async function syncGenericScript() {
  if (!chrome.scripting || !chrome.scripting.registerContentScripts) return false;
  const settings = await loadSettings(chrome.storage.local);
  const granted = await chrome.permissions.contains({ origins: ALL_SITES_ORIGINS });
  const want = settings.allSites && settings.reposts && granted;
  const existing = await chrome.scripting.getRegisteredContentScripts({ ids: [GENERIC_ID] });
  if (want && !existing.length) {
    await chrome.scripting.registerContentScripts([{
      id: GENERIC_ID,
      matches: ['http://*/*', 'https://*/*'],
      excludeMatches: supportedMatches(),
      js: GENERIC_JS,
      runAt: 'document_idle',
      persistAcrossSessions: true,
    }]);
  } else if (!want && existing.length) {
    await chrome.scripting.unregisterContentScripts({ ids: [GENERIC_ID] });
  }
  return want;
}

let syncing = Promise.resolve();
const resync = () => {
  syncing = syncing.then(syncGenericScript).catch(() => false);
  return syncing;
};
chrome.storage.onChanged.addListener((changes, area) => {
  if (area === 'local' && changes.settings) resync();
});
if (chrome.permissions.onAdded) chrome.permissions.onAdded.addListener(resync);
if (chrome.permissions.onRemoved) chrome.permissions.onRemoved.addListener(resync);
chrome.runtime.onInstalled.addListener(resync);
chrome.runtime.onStartup.addListener(resync);

// For tests and the options page's status line: the worker's own view of things.
globalThis.creditline = { stats, resync, decode, queryVariants };
