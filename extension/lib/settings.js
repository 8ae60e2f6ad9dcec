// Settings: defaults, the site table shared by the worker, options and popup pages.
export const SITES = Object.freeze([
  { id: 'x', name: 'X (Twitter)', platform: 'twitter' },
  { id: 'bluesky', name: 'Bluesky', platform: 'bluesky' },
  { id: 'mastodon', name: 'Mastodon', platform: 'mastodon' },
  { id: 'furaffinity', name: 'FurAffinity', platform: 'furaffinity' },
  { id: 'tumblr', name: 'Tumblr', platform: 'tumblr' },
  { id: 'deviantart', name: 'DeviantArt', platform: 'deviantart' },
]);

export const DEFAULTS = Object.freeze({
  registry: 'http://127.0.0.1:8000', // `creditline serve`'s default PUBLIC_URL
  sites: Object.fromEntries(SITES.map((s) => [s.id, true])),
  reposts: true, // fingerprint images and ask the registry (else: restore credits only)
  allSites: false, // also look for reposts on every other site (optional permission)
  restore: true, // restore @/name and censored words
});

export const ALL_SITES_ORIGINS = ['*://*/*'];

export async function loadSettings(storage) {
  const { settings } = await storage.get('settings');
  return normalise(settings);
}

export function normalise(raw) {
  const s = raw && typeof raw === 'object' ? raw : {};
  return {
    registry: validRegistry(s.registry) || DEFAULTS.registry,
    sites: { ...DEFAULTS.sites, ...(s.sites && typeof s.sites === 'object' ? s.sites : {}) },
    reposts: typeof s.reposts === 'boolean' ? s.reposts : DEFAULTS.reposts,
    allSites: typeof s.allSites === 'boolean' ? s.allSites : DEFAULTS.allSites,
    restore: typeof s.restore === 'boolean' ? s.restore : DEFAULTS.restore,
  };
}

/** An http(s) origin (plus optional path prefix) without trailing slash, or null. */
export function validRegistry(value) {
  if (typeof value !== 'string') return null;
  let url;
  try {
    url = new URL(value.trim());
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  if (url.username || url.password || url.search || url.hash) return null;
  return (url.origin + url.pathname).replace(/\/+$/, '');
}

/** The host permission pattern the worker needs to call this registry. */
export function registryPermission(registry) {
  const url = new URL(registry);
  return `${url.protocol}//${url.hostname}/*`;
}
