// The attribution badge: a compact line under a matched image that opens into the full record.
// Built with DOM APIs and textContent only, inside a shadow root, so neither the page's CSS nor
// any text from the registry can turn into markup. Classic script: defines
// globalThis.Creditline.badge.
(function (root) {
  'use strict';
  const NS = root.Creditline || (root.Creditline = {});

  const CSS = `
:host { all: initial; display: block; margin: 4px 0; max-width: 100%; }
.badge { font: 12px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d1d1f;
  background: #fffdf7; border: 1px solid #d9cfb8; border-radius: 8px; box-shadow: 0 1px 2px rgba(0,0,0,.08);
  max-width: 560px; overflow: hidden; }
details > summary { list-style: none; cursor: pointer; padding: 4px 8px; display: flex; gap: 6px;
  align-items: baseline; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
details > summary::-webkit-details-marker { display: none; }
.mark { flex: none; font-weight: 700; color: #8a5a00; }
.line { overflow: hidden; text-overflow: ellipsis; }
.card { padding: 6px 10px 8px; border-top: 1px solid #eee3cc; }
.title { font-weight: 600; margin: 0 0 4px; }
.title a { color: inherit; }
ul { list-style: none; margin: 0; padding: 0; }
li { margin: 2px 0; }
.role { color: #6b5b3a; margin-right: 4px; }
.name { font-weight: 600; }
.char { color: #555; }
.profiles { margin-left: 6px; }
.profiles a { margin-right: 6px; }
a { color: #0b57d0; text-decoration: none; }
a:hover, a:focus { text-decoration: underline; }
.foot { margin-top: 6px; color: #666; font-size: 11px; }
.review { color: #a33; font-weight: 600; }
@media (prefers-color-scheme: dark) {
  .badge { color: #eee; background: #24211b; border-color: #4a4130; }
  .mark { color: #f0b84a; } .role { color: #cdb98f; } .char, .foot { color: #aaa; }
  .card { border-color: #3a3326; } a { color: #8ab4f8; }
}`;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== null && v !== undefined) node.setAttribute(k, v);
    }
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      node.append(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return node;
  }

  function link(href, text, cls) {
    // hrefs come from badgeModel, which keeps only absolute http(s) URLs
    const a = el('a', { href, target: '_blank', rel: 'noopener noreferrer', class: cls || null });
    a.textContent = text;
    // our links live inside the page's clickable post: do not let the page act on the click too
    a.addEventListener('click', (e) => e.stopPropagation());
    return a;
  }

  function person(c) {
    const name = c.href ? link(c.href, c.name, 'name') : el('span', { class: 'name' }, c.name);
    const profiles = el('span', { class: 'profiles' });
    for (const p of c.profiles) profiles.append(link(p.url, p.site, 'profile'));
    return el(
      'li',
      { 'data-role': c.role },
      el('span', { class: 'role' }, c.label),
      c.role === 'character_owner' && c.character ? el('span', { class: 'char' }, c.character + ' © ') : null,
      name,
      c.role !== 'character_owner' && c.character ? el('span', { class: 'char' }, ' (' + c.character + ')') : null,
      profiles,
    );
  }

  /** A new badge host element for this model (not yet in the page). */
  function render(model, summaryText) {
    const host = document.createElement('span');
    host.setAttribute('data-creditline-badge', model.publicId);
    host.style.cssText = 'all: initial; display: block;';
    const shadow = host.attachShadow({ mode: 'open' });
    const style = document.createElement('style');
    style.textContent = CSS;
    const title = model.canonicalUrl ? link(model.canonicalUrl, model.title) : model.title;
    const via = model.via === 'url' ? 'this post is a registered copy' : 'matched by image';
    const card = el(
      'div',
      { class: 'card' },
      el('p', { class: 'title' }, title),
      el('ul', null, ...model.credits.map(person)),
      el(
        'div',
        { class: 'foot' },
        model.reviewNote ? el('span', { class: 'review' }, `${model.reviewNote} · `) : null,
        `Creditline: ${via}`,
        model.canonicalUrl ? ' · ' : null,
        model.canonicalUrl ? link(model.canonicalUrl, 'canonical record', 'canonical') : null,
      ),
    );
    const details = el(
      'details',
      { class: 'badge', part: 'badge' },
      el(
        'summary',
        { title: 'Credits from the Creditline registry' },
        el('span', { class: 'mark', 'aria-hidden': 'true' }, '©'),
        el('span', { class: 'line' }, summaryText || model.title),
      ),
      card,
    );
    shadow.append(style, details);
    return host;
  }

  NS.badge = Object.freeze({ render });
})(globalThis);
