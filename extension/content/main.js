// The content script's engine, the same for every site: find posts, their text and their images
// as they appear (MutationObserver, so infinite scroll works), restore degraded credits, ask the
// service worker about large images in batches, and show a badge next to each matched image.
// Per-site knowledge is in sites/<site>.js, loaded before this file (globalThis.Creditline.site).
(function (root) {
  'use strict';
  const NS = root.Creditline;
  if (!NS || !NS.site || NS.started) return;
  NS.started = true;
  const site = NS.site;
  const { segment, mayContain } = NS.restore;
  const { badgeModel, summary } = NS.badgeModel;

  const MIN_SIDE = 100; // natural pixels; smaller images (avatars, icons, emoji) are ignored
  const MIN_AREA = 20000;
  const BATCH_DELAY = 120; // ms of quiet before a batch goes to the worker
  const BATCH_MAX = 60;
  const SKIP_TEXT = 'a, button, input, textarea, select, code, pre, kbd, samp, script, style, noscript, svg, [contenteditable], [data-creditline-badge]';
  const DONE = 'data-creditline'; // on elements we created

  let settings = null;
  const seen = new WeakMap(); // img -> src already queued
  let queue = [];
  let timer = null;

  // -- restoring credits ---------------------------------------------------------------------

  function skipText(node) {
    const p = node.parentElement;
    return !p || p.isContentEditable || Boolean(p.closest(SKIP_TEXT));
  }

  function restoreNode(node) {
    const text = node.nodeValue;
    if (!text || !mayContain(text) || skipText(node)) return;
    const segs = segment(text, site.mentions, location.origin);
    if (segs.length === 1 && segs[0].type === 'text') return;
    // Keep the page's own text node (frameworks hold references to it) and give it the first
    // plain run; put what follows after it. Nothing of the page is removed or replaced.
    const first = segs[0].type === 'text' ? segs.shift().text : '';
    const frag = document.createDocumentFragment();
    for (const s of segs) {
      if (s.type === 'text') {
        frag.append(document.createTextNode(s.text));
      } else if (s.type === 'mention') {
        const a = document.createElement('a');
        a.href = s.href;
        a.textContent = s.label;
        a.title = `${s.text} — link restored by Creditline`;
        a.rel = 'noopener noreferrer';
        a.setAttribute(DONE, 'mention');
        a.addEventListener('click', (e) => e.stopPropagation());
        frag.append(a);
      } else {
        const span = document.createElement('span');
        span.textContent = s.text;
        span.title = `written as “${s.original}” on this site — restored by Creditline`;
        span.setAttribute(DONE, 'uncensored');
        frag.append(span);
      }
    }
    node.nodeValue = first;
    node.after(frag);
  }

  function restoreIn(rootEl) {
    if (!settings.restore || !site.text) return;
    const containers = [];
    if (rootEl.nodeType === Node.ELEMENT_NODE && rootEl.matches(site.text)) containers.push(rootEl);
    else if (rootEl.nodeType === Node.ELEMENT_NODE && rootEl.closest(site.text)) containers.push(rootEl);
    if (rootEl.querySelectorAll) containers.push(...rootEl.querySelectorAll(site.text));
    for (const c of containers) {
      const walker = document.createTreeWalker(c, NodeFilter.SHOW_TEXT);
      const nodes = [];
      while (walker.nextNode()) nodes.push(walker.currentNode);
      nodes.forEach(restoreNode);
    }
  }

  // -- images --------------------------------------------------------------------------------

  function bigEnough(img) {
    const w = img.naturalWidth;
    const h = img.naturalHeight;
    return w >= MIN_SIDE && h >= MIN_SIDE && w * h >= MIN_AREA;
  }

  function consider(img) {
    if (!settings.reposts) return;
    if (img.closest('[data-creditline-badge]')) return;
    const src = img.currentSrc || img.src;
    if (!src || !/^https?:/.test(src) || seen.get(img) === src) return;
    if (!img.complete || !img.naturalWidth) {
      img.addEventListener('load', () => consider(img), { once: true });
      return;
    }
    if (!bigEnough(img)) return;
    seen.set(img, src);
    const post = site.post ? img.closest(site.post) : null;
    let postUrl = null;
    try {
      postUrl = site.postUrl(post);
    } catch {
      postUrl = null;
    }
    queue.push({ img, src, postUrl });
    if (queue.length >= BATCH_MAX) flush();
    else {
      clearTimeout(timer);
      timer = setTimeout(flush, BATCH_DELAY);
    }
  }

  function imagesIn(rootEl) {
    if (rootEl.nodeType !== Node.ELEMENT_NODE) return;
    if (rootEl.matches(site.image)) consider(rootEl);
    rootEl.querySelectorAll(site.image).forEach(consider);
  }

  async function flush() {
    clearTimeout(timer);
    const batch = queue;
    queue = [];
    if (!batch.length) return;
    const items = [];
    const bySrc = new Map();
    for (const q of batch) {
      if (!bySrc.has(q.src)) {
        bySrc.set(q.src, []);
        items.push({ src: q.src, postUrl: q.postUrl });
      }
      bySrc.get(q.src).push(q);
    }
    let answer;
    try {
      answer = await chrome.runtime.sendMessage({ type: 'creditline:lookup', items });
    } catch {
      return; // the extension was reloaded or the worker is gone: nothing to show
    }
    for (const r of (answer && answer.results) || []) {
      if (r.status !== 'match' || !r.work) continue;
      for (const q of bySrc.get(r.src) || []) showBadge(q.img, r);
    }
  }

  function showBadge(img, result) {
    if (!img.isConnected) return;
    const model = badgeModel(result.work, { platform: site.platform, via: result.via, score: result.score });
    if (!model) return;
    const anchor = site.anchor(img) || img;
    const next = anchor.nextElementSibling;
    if (next && next.hasAttribute('data-creditline-badge')) {
      if (next.getAttribute('data-creditline-badge') === model.publicId) return;
      next.remove();
    }
    anchor.after(NS.badge.render(model, summary(model)));
  }

  // -- watching the page -----------------------------------------------------------------------

  function scan(rootEl) {
    restoreIn(rootEl);
    imagesIn(rootEl);
  }

  let pending = new Set();
  let scheduled = false;
  function schedule(node) {
    pending.add(node);
    if (scheduled) return;
    scheduled = true;
    setTimeout(() => {
      scheduled = false;
      const nodes = pending;
      pending = new Set();
      for (const n of nodes) if (n.isConnected) scan(n);
    }, 50);
  }

  function observe() {
    new MutationObserver((records) => {
      for (const r of records) {
        if (r.type === 'attributes') {
          if (r.target.tagName === 'IMG') schedule(r.target);
          continue;
        }
        if (r.type === 'characterData') {
          const p = r.target.parentElement;
          if (p && !p.hasAttribute(DONE)) schedule(p);
          continue;
        }
        for (const n of r.addedNodes) {
          if (n.nodeType === Node.ELEMENT_NODE && !n.hasAttribute(DONE) && !n.hasAttribute('data-creditline-badge')) schedule(n);
          else if (n.nodeType === Node.TEXT_NODE && n.parentElement) schedule(n.parentElement);
        }
      }
    }).observe(document.documentElement, {
      childList: true,
      subtree: true,
      characterData: true,
      attributes: true,
      attributeFilter: ['src', 'srcset'],
    });
  }

  async function start() {
    const stored = await chrome.storage.local.get('settings');
    const s = stored.settings || {};
    settings = {
      restore: s.restore !== false,
      reposts: s.reposts !== false,
      enabled: !(s.sites && s.sites[site.settingsId || site.id] === false),
    };
    if (site.id === 'generic' && !(s.allSites && settings.reposts)) return;
    if (!settings.enabled) return;
    chrome.runtime.sendMessage({ type: 'creditline:page' }).catch(() => {});
    scan(document.body || document.documentElement);
    observe();
  }

  start();
})(globalThis);
