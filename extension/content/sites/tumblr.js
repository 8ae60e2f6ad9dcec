// Tumblr (dashboard, blog pages, post pages).
(function (root) {
  'use strict';
  const NS = root.Creditline || (root.Creditline = {});
  NS.site = {
    id: 'tumblr',
    platform: 'tumblr',
    mentions: 'tumblr',
    post: 'article',
    text: 'article p, article [data-testid="post-body"], .post-body, .caption',
    image: 'img[src*=".media.tumblr.com/"], img[srcset*=".media.tumblr.com/"]',
    postUrl(post) {
      const a = post && post.querySelector('a[href*="/post/"], a[href*="tumblr.com/"][href*="/"]');
      if (a && /\/(post\/)?\d{6,}/.test(a.pathname)) return a.href.split('?')[0];
      return /\/(post\/)?\d{6,}/.test(location.pathname) ? location.href.split('?')[0] : null;
    },
    anchor(img) {
      return img.closest('figure') || img;
    },
  };
})(globalThis);
