// node --test extension/test/   (Node 20, no npm dependencies)
import test from 'node:test';
import assert from 'node:assert/strict';
import '../common/restore.js';

const { segment, uncensor, keepCase, UNCENSOR } = globalThis.Creditline.restore;

const kinds = (segs) => segs.map((s) => [s.type, s.text]);

test('X: @/name becomes a mention with a profile link on the viewed origin', () => {
  const segs = segment('Commission for @/hyena_dude!', 'x', 'https://x.com');
  assert.deepEqual(kinds(segs), [
    ['text', 'Commission for '],
    ['mention', '@/hyena_dude'],
    ['text', '!'],
  ]);
  assert.equal(segs[1].href, 'https://x.com/hyena_dude');
  assert.equal(segs[1].label, '@hyena_dude');
  assert.equal(segment('@/a', 'x', 'https://twitter.com')[0].href, 'https://twitter.com/a');
});

test('X: things that are not de-linked mentions are left alone', () => {
  for (const text of [
    'foo@/bar',                       // after a word character
    'https://example.com/@/someone',  // inside a URL path
    'me@/x and a.@/y',                // after @ or .
    '@/',                             // no handle
    '@ /spaced',
    '@/sixteen_chars_xx', // longer than X's 15: not a partial match
  ]) {
    assert.deepEqual(kinds(segment(text, 'x', 'https://x.com')), [['text', text]], text);
  }
});

test('X: several mentions, unicode around them, punctuation after', () => {
  const segs = segment('Art: @/tanraak, ©@/Hyena_Dude (Trisk). 日本@/x', 'x', 'https://x.com');
  assert.deepEqual(
    segs.filter((s) => s.type === 'mention').map((s) => s.handle),
    ['tanraak', 'Hyena_Dude'], // "日本@/x": after a letter, untouched
  );
});

test('Bluesky handles are domains; a sentence-final dot is not part of it', () => {
  const segs = segment('by @/tanraak.bsky.social. Thanks!', 'bluesky');
  assert.equal(segs[1].handle, 'tanraak.bsky.social');
  assert.equal(segs[1].href, 'https://bsky.app/profile/tanraak.bsky.social');
  assert.equal(segs[2].text, '. Thanks!');
  // a bare word is not a Bluesky handle
  assert.deepEqual(kinds(segment('@/tanraak', 'bluesky')), [['text', '@/tanraak']]);
});

test('Mastodon: user@domain and local user, linked on the instance being viewed', () => {
  const segs = segment('@/tanraak@furry.engineer and @/local.', 'mastodon', 'https://mastodon.art');
  const m = segs.filter((s) => s.type === 'mention');
  assert.deepEqual(m.map((s) => s.href), [
    'https://mastodon.art/@tanraak@furry.engineer',
    'https://mastodon.art/@local',
  ]);
});

test('FurAffinity, Tumblr, DeviantArt profile URLs', () => {
  assert.equal(segment('@/Tan_Raak', 'furaffinity')[0].href, 'https://www.furaffinity.net/user/tanraak/');
  assert.equal(segment('@/Some-Blog', 'tumblr')[0].href, 'https://www.tumblr.com/some-blog');
  assert.equal(segment('@/Artist-1', 'deviantart')[0].href, 'https://www.deviantart.com/artist-1');
});

test('no site (generic pages): mentions are not linked, censored words still restored', () => {
  assert.deepEqual(kinds(segment('@/x on Patr*on', null)), [
    ['text', '@/x on '],
    ['uncensored', 'Patreon'],
  ]);
});

test('censored words come back in their real form, case kept', () => {
  assert.equal(uncensor('Patr*on'), 'Patreon');
  assert.equal(uncensor('patr*on'), 'patreon');
  assert.equal(uncensor('PATR*ON'), 'PATREON');
  assert.equal(uncensor('c*mmission'), 'commission');
  assert.equal(uncensor('C*mmissions'), 'Commissions');
  assert.equal(uncensor('C*MMISSIONS'), 'COMMISSIONS');
  assert.equal(uncensor('c*mmissioned'), null);
  assert.equal(keepCase('Patreon', 'patr*on'), 'Patr*on'); // mirror of adapters/text/censor.py
});

test('censor restoration is whole-word only', () => {
  const text = 'C*mmissions open! See Patr*on. Not: xc*mmission, c*mmission_x, patr*on.com, c*mmissioned';
  const segs = segment(text, 'x', 'https://x.com');
  assert.deepEqual(
    segs.filter((s) => s.type === 'uncensored').map((s) => [s.original, s.text]),
    [['C*mmissions', 'Commissions'], ['Patr*on', 'Patreon']],
  );
  assert.equal(segs.map((s) => (s.type === 'text' ? s.text : s.original)).join(''), text);
});

test('segments always reassemble into the original text', () => {
  const samples = [
    '', '*', '@/', 'plain', '**bold** @/a_b c*mmission @/c', '@/a@/b', 'Patr*onPatr*on',
    '🦊 @/fox 🦊 patr*on 🦊', 'line\n@/next\nc*mmission\n',
  ];
  for (const site of ['x', 'bluesky', 'mastodon', 'furaffinity', 'tumblr', 'deviantart', null]) {
    for (const text of samples) {
      const back = segment(text, site, 'https://example.org')
        .map((s) => (s.type === 'text' ? s.text : s.type === 'mention' ? s.text : s.original))
        .join('');
      assert.equal(back, text, `${site}: ${JSON.stringify(text)}`);
    }
  }
});

test('the table is the inverse of the server-side censor (adapters/rules.py X_CENSOR)', () => {
  assert.deepEqual({ ...UNCENSOR }, {
    'patr*on': 'patreon', 'c*mmission': 'commission', 'c*mmissions': 'commissions',
  });
});
