// Restoring degraded credits, as pure text logic (no DOM, no chrome.*).
//
// Artists write credits in degraded forms to dodge reach penalties: a de-linked mention `@/name`
// (Creditline's `delinked` mention style) and censored words (`Patr*on`, `c*mmission(s)`; the
// table is adapters/rules.py X_CENSOR, inverted). `segment()` splits a text into plain runs,
// mentions (with the profile URL on the site being viewed) and restored words; the content
// script turns the segments into DOM nodes with textContent only.
//
// Classic script on purpose: it runs as a content script, and is imported for its side effect by
// ES modules (the popup, `node --test`). It defines globalThis.Creditline.restore.
(function (root) {
  'use strict';
  const NS = root.Creditline || (root.Creditline = {});

  // censored form -> real word (lower case); case is restored position by position.
  const UNCENSOR = Object.freeze({
    'patr*on': 'patreon',
    'c*mmission': 'commission',
    'c*mmissions': 'commissions',
  });

  const WORD = '[\\p{L}\\p{N}\\p{M}_]';
  const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const CENSORED_RE = new RegExp(
    // whole words only, like adapters/text/censor.py (not "xc*mmission", not "patr*on.com")
    `(?<!${WORD})(?:${Object.keys(UNCENSOR)
      .sort((a, b) => b.length - a.length)
      .map(escapeRe)
      .join('|')})(?!${WORD}|\\.${WORD})`,
    'giu',
  );

  // Per site: the handle syntax after `@/` and the profile URL on that site. `origin` is the
  // origin of the page being viewed (X and Mastodon link on the same host the viewer uses).
  const MENTION_SITES = Object.freeze({
    x: {
      handle: '[A-Za-z0-9_]{1,15}(?![A-Za-z0-9_])',
      profile: (h, origin) => `${origin || 'https://x.com'}/${encodeURIComponent(h)}`,
      label: (h) => '@' + h,
    },
    bluesky: {
      handle:
        '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+(?![A-Za-z0-9-])',
      profile: (h) => `https://bsky.app/profile/${encodeURIComponent(h.toLowerCase())}`,
      label: (h) => '@' + h,
    },
    mastodon: {
      handle:
        '[A-Za-z0-9_]+(?:[.-]+[A-Za-z0-9_]+)*(?:@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)+)?(?![A-Za-z0-9_@-])',
      profile: (h, origin) => {
        const [user, domain] = h.split('@');
        const at = domain ? `@${user}@${domain.toLowerCase()}` : `@${user}`;
        return `${origin || 'https://mastodon.social'}/${at}`;
      },
      label: (h) => '@' + h,
    },
    furaffinity: {
      handle: '[A-Za-z0-9_~-]+(?:\\.+[A-Za-z0-9_~-]+)*(?![A-Za-z0-9~_-])',
      profile: (h) =>
        `https://www.furaffinity.net/user/${encodeURIComponent(h.replace(/_/g, '').toLowerCase())}/`,
      label: (h) => h,
    },
    tumblr: {
      handle: '[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?(?![A-Za-z0-9_-])',
      profile: (h) => `https://www.tumblr.com/${encodeURIComponent(h.toLowerCase())}`,
      label: (h) => '@' + h,
    },
    deviantart: {
      handle: '[A-Za-z0-9](?:[A-Za-z0-9-]{1,18}[A-Za-z0-9])(?![A-Za-z0-9_-])',
      profile: (h) => `https://www.deviantart.com/${encodeURIComponent(h.toLowerCase())}`,
      label: (h) => h,
    },
  });

  const mentionRes = {};
  function mentionRe(site) {
    if (!mentionRes[site]) {
      // not after a word character, '/', '@', '.', or '-' (so "foo@/bar" and ".../@/x" stay)
      mentionRes[site] = new RegExp(
        `(?<![\\p{L}\\p{N}\\p{M}_/@.\\-])@\\/(${MENTION_SITES[site].handle})`,
        'gu',
      );
    }
    return mentionRes[site];
  }

  function keepCase(found, replacement) {
    const upper = found.toUpperCase();
    if (found === upper && found !== found.toLowerCase() && found.length > 1) {
      return replacement.toUpperCase();
    }
    let out = '';
    for (let i = 0; i < replacement.length; i++) {
      const model = i < found.length ? found[i] : found[found.length - 1];
      const isUpper = model !== model.toLowerCase() && model === model.toUpperCase();
      out += isUpper ? replacement[i].toUpperCase() : replacement[i].toLowerCase();
    }
    return out;
  }

  function uncensor(word) {
    const real = UNCENSOR[word.toLowerCase()];
    return real === undefined ? null : keepCase(word, real);
  }

  // Quick check before the (slower) full segmentation.
  function mayContain(text) {
    return text.includes('@/') || text.includes('*');
  }

  /**
   * Split `text` into segments:
   *   {type: 'text', text}
   *   {type: 'mention', text: '@/name', handle, label: '@name', href}
   *   {type: 'uncensored', text: 'Patreon', original: 'Patr*on'}
   * `site` is a key of MENTION_SITES, or null (no mention links: generic pages).
   */
  function segment(text, site, origin) {
    const found = [];
    if (site && MENTION_SITES[site] && text.includes('@/')) {
      const re = mentionRe(site);
      re.lastIndex = 0;
      let m;
      while ((m = re.exec(text)) !== null) {
        const spec = MENTION_SITES[site];
        found.push({
          start: m.index,
          end: m.index + m[0].length,
          seg: {
            type: 'mention',
            text: m[0],
            handle: m[1],
            label: spec.label(m[1]),
            href: spec.profile(m[1], origin),
          },
        });
      }
    }
    if (text.includes('*')) {
      CENSORED_RE.lastIndex = 0;
      let m;
      while ((m = CENSORED_RE.exec(text)) !== null) {
        const start = m.index;
        const end = start + m[0].length;
        if (found.some((f) => start < f.end && f.start < end)) continue; // inside a mention
        found.push({ start, end, seg: { type: 'uncensored', text: uncensor(m[0]), original: m[0] } });
      }
    }
    if (!found.length) return [{ type: 'text', text }];
    found.sort((a, b) => a.start - b.start);
    const out = [];
    let last = 0;
    for (const f of found) {
      if (f.start > last) out.push({ type: 'text', text: text.slice(last, f.start) });
      out.push(f.seg);
      last = f.end;
    }
    if (last < text.length) out.push({ type: 'text', text: text.slice(last) });
    return out;
  }

  NS.restore = Object.freeze({ UNCENSOR, MENTION_SITES, segment, uncensor, keepCase, mayContain });
})(globalThis);
