// Bluesky (bsky.app web client).
(function (root) {
  'use strict';
  const NS = root.Creditline || (root.Creditline = {});
  const POST = '[data-testid^="feedItem-by-"], [data-testid^="postThreadItem-by-"]';
  const TEXT = '[data-testid="postText"]';
  const IMAGE = 'img[src^="https://cdn.bsky.app/img/feed_"]';
  const POST_PATH = /^\/profile\/[^/]+\/post\/[A-Za-z0-9]+/;

  NS.site = {
    id: 'bluesky',
    platform: 'bluesky',
    mentions: 'bluesky',
    post: POST,
    text: TEXT,
    image: IMAGE,
    postUrl(post) {
      const a = post && post.querySelector('a[href^="/profile/"][href*="/post/"]');
      if (a) return a.href.split('?')[0];
      const m = POST_PATH.exec(location.pathname);
      return m ? location.origin + m[0] : null;
    },
    anchor(img) {
      return img.closest('[data-expoimage], [data-testid="contentImage"]') || img;
    },
  };
})(globalThis);
