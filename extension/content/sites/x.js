// X (Twitter): where posts, their text and their images are (selectors as named constants).
(function (root) {
  'use strict';
  const NS = root.Creditline || (root.Creditline = {});
  const POST = 'article[data-testid="tweet"]';
  const TEXT = '[data-testid="tweetText"]';
  const IMAGE = 'img[src^="https://pbs.twimg.com/media/"]';
  const PHOTO = '[data-testid="tweetPhoto"]';
  const STATUS_PATH = /^\/[A-Za-z0-9_]{1,15}\/status\/\d+/;

  NS.site = {
    id: 'x',
    platform: 'twitter',
    mentions: 'x',
    post: POST,
    text: TEXT,
    image: IMAGE,
    /** The post's permalink: the link around its timestamp, else the page on a status page. */
    postUrl(post) {
      const time = post && post.querySelector('a[href*="/status/"] time');
      const a = time && time.closest('a');
      if (a) return a.href.split('?')[0];
      return STATUS_PATH.test(location.pathname) ? location.origin + location.pathname : null;
    },
    /** The badge goes after the photo block, outside X's clipped media box. */
    anchor(img) {
      return img.closest(PHOTO) || img;
    },
  };
})(globalThis);
