// Badge data: a registry work record (GET /api/v1/works/<id>) → what the badge and the popup
// show. Pure logic; classic script defining globalThis.Creditline.badgeModel (see restore.js).
(function (root) {
  'use strict';
  const NS = root.Creditline || (root.Creditline = {});

  const ROLE_ORDER = [
    'artist', 'co_artist', 'colorist', 'base_by', 'commissioner', 'gift_for', 'trade_with',
    'character_owner', 'other',
  ];
  // The record's review state in words (GET /api/v1/works `review`).
  const REVIEW_NOTES = Object.freeze({
    under_review: 'Attribution under review',
    appealed: 'Attribution under appeal',
    disputed: 'Attribution was disputed',
  });
  // Same words as the posts themselves (adapters/rules.py DEFAULT_CREDIT_LABELS).
  const ROLE_LABELS = Object.freeze({
    artist: 'Art by',
    co_artist: 'Co-artist',
    colorist: 'Colors by',
    base_by: 'Base by',
    commissioner: 'Commissioned by',
    gift_for: 'Gift for',
    trade_with: 'Art trade with',
    character_owner: 'Character',
    other: 'Thanks to',
  });
  const PLATFORM_NAMES = Object.freeze({
    twitter: 'X', bluesky: 'Bluesky', mastodon: 'Mastodon', furaffinity: 'FurAffinity',
    weasyl: 'Weasyl', inkbunny: 'Inkbunny', deviantart: 'DeviantArt', e621: 'e621',
    tumblr: 'Tumblr', telegram: 'Telegram', discord: 'Discord',
  });
  const MAX_TEXT = 120;

  function text(value, max = MAX_TEXT) {
    if (typeof value !== 'string') return '';
    // one line, no control characters; never markup: the badge sets it with textContent
    const flat = value.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim();
    return flat.length > max ? flat.slice(0, max - 1) + '…' : flat;
  }

  /** Only absolute http(s) URLs survive (no javascript:, data:, relative URLs). */
  function safeUrl(value) {
    if (typeof value !== 'string' || !value) return null;
    try {
      const url = new URL(value);
      return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
    } catch {
      return null;
    }
  }

  /**
   * @param work      the registry's work JSON
   * @param options   {platform: the platform id of the site being viewed (links prefer it),
   *                   via: 'url' | 'fingerprint' | 'link', score}
   */
  function badgeModel(work, options = {}) {
    if (!work || typeof work !== 'object') return null;
    const here = options.platform || null;
    const credits = [];
    for (const c of Array.isArray(work.credits) ? work.credits : []) {
      if (!c || typeof c !== 'object' || !c.person) continue;
      const role = ROLE_LABELS[c.role] ? c.role : 'other';
      const profiles = (Array.isArray(c.person.profiles) ? c.person.profiles : [])
        .map((p) => ({
          platform: text(p && p.platform, 40),
          site: PLATFORM_NAMES[p && p.platform] || text(p && p.platform, 40),
          handle: text(p && p.handle, 80),
          url: safeUrl(p && p.url),
        }))
        .filter((p) => p.url);
      const onThisSite = profiles.find((p) => p.platform === here);
      credits.push({
        role,
        label: ROLE_LABELS[role],
        name: text(c.person.name) || '(unnamed)',
        character: text(c.character) || null,
        href: (onThisSite || profiles[0] || {}).url || null,
        profiles,
      });
    }
    credits.sort((a, b) => ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role));
    return {
      publicId: text(work.public_id, 64),
      title: text(work.title) || 'Untitled',
      canonicalUrl: safeUrl(work.url),
      // own keys only: a record saying "constructor" or "__proto__" gets no note
      reviewNote:
        typeof work.review === 'string' && Object.hasOwn(REVIEW_NOTES, work.review)
          ? REVIEW_NOTES[work.review]
          : null,
      via: options.via || 'fingerprint',
      score: typeof options.score === 'number' ? options.score : null,
      credits,
    };
  }

  /** One compact line: "Art by Tanraak · Commissioned by Hyena Dude · Trisk © Hyena Dude". */
  function summary(model) {
    const parts = [];
    const byRole = new Map();
    for (const c of model.credits) {
      if (!byRole.has(c.role)) byRole.set(c.role, []);
      byRole.get(c.role).push(c);
    }
    for (const [role, list] of byRole) {
      if (role === 'character_owner') {
        for (const c of list) parts.push(c.character ? `${c.character} © ${c.name}` : `© ${c.name}`);
      } else {
        parts.push(`${list[0].label} ${list.map((c) => c.name).join(', ')}`);
      }
    }
    return parts.join(' · ');
  }

  NS.badgeModel = Object.freeze({ badgeModel, summary, safeUrl, text, ROLE_LABELS, PLATFORM_NAMES });
})(globalThis);
