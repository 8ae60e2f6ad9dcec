import test from 'node:test';
import assert from 'node:assert/strict';
import '../common/badge-model.js';

const { badgeModel, summary } = globalThis.Creditline.badgeModel;

// The shape of GET /api/v1/works/<public_id> (server/api/registry.py WorkOut)
const WORK = {
  public_id: 'Ab12Cd34',
  url: 'https://credits.example/a/Ab12Cd34',
  title: 'Trisk at dusk',
  rating: 'general',
  published_at: '2026-11-20T18:00:00Z',
  images: [],
  credits: [
    { role: 'character_owner', character: 'Trisk', person: { name: 'Hyena Dude', profiles: [{ platform: 'twitter', handle: 'hyena_dude', url: 'https://x.com/hyena_dude' }] } },
    { role: 'commissioner', character: null, person: { name: 'Hyena Dude', profiles: [{ platform: 'twitter', handle: 'hyena_dude', url: 'https://x.com/hyena_dude' }] } },
    { role: 'artist', character: null, person: { name: 'Tanraak', profiles: [
      { platform: 'furaffinity', handle: 'tanraak', url: 'https://www.furaffinity.net/user/tanraak/' },
      { platform: 'bluesky', handle: 'tanraak.bsky.social', url: 'https://bsky.app/profile/tanraak.bsky.social' },
    ] } },
  ],
  copies: [],
  review: 'none',
};

test('roles in a fixed order, with labels; the profile on the viewed site first', () => {
  const m = badgeModel(WORK, { platform: 'bluesky', via: 'url' });
  assert.deepEqual(m.credits.map((c) => c.role), ['artist', 'commissioner', 'character_owner']);
  assert.equal(m.credits[0].href, 'https://bsky.app/profile/tanraak.bsky.social');
  assert.equal(badgeModel(WORK, { platform: 'x' }).credits[0].href, 'https://www.furaffinity.net/user/tanraak/');
  assert.deepEqual(m.credits[0].profiles.map((p) => p.site), ['FurAffinity', 'Bluesky']);
  assert.equal(m.canonicalUrl, 'https://credits.example/a/Ab12Cd34');
  assert.equal(m.via, 'url');
});

test('one-line summary', () => {
  assert.equal(
    summary(badgeModel(WORK)),
    'Art by Tanraak · Commissioned by Hyena Dude · Trisk © Hyena Dude',
  );
});

test('markup in names stays text; only http(s) links survive', () => {
  const evil = structuredClone(WORK);
  evil.credits[2].person.name = '<img src=x onerror=alert(1)>Evil';
  evil.credits[2].person.profiles.push({ platform: 'x', handle: 'h', url: 'javascript:alert(1)' });
  evil.credits[2].person.profiles.push({ platform: 'x', handle: 'h', url: '/relative' });
  evil.url = 'data:text/html,hi';
  const m = badgeModel(evil);
  assert.equal(m.credits[0].name, '<img src=x onerror=alert(1)>Evil');
  assert.equal(m.credits[0].profiles.length, 2);
  assert.equal(m.canonicalUrl, null);
});

test('hostile or broken records do not throw', () => {
  assert.equal(badgeModel(null), null);
  const m = badgeModel({ credits: [null, { role: 'wizard', person: { name: 'A\n\tB', profiles: 'x' } }], title: 'x'.repeat(500) });
  assert.equal(m.credits[0].role, 'other');
  assert.equal(m.credits[0].name, 'A B');
  assert.equal(m.title.length, 120);
  assert.equal(m.reviewNote, null);
  for (const [review, note] of [
    ['under_review', 'Attribution under review'],
    ['appealed', 'Attribution under appeal'],
    ['disputed', 'Attribution was disputed'],
    ['<b>x</b>', null],
    ['constructor', null],
    ['__proto__', null],
    ['toString', null],
    [['appealed'], null],
  ]) {
    assert.equal(badgeModel({ ...WORK, review }).reviewNote, note);
  }
});
