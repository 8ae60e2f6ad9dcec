// Mastodon (the standard web interface of any instance).
(function (root) {
  'use strict';
  const NS = root.Creditline || (root.Creditline = {});
  NS.sites = NS.sites || {};
  NS.sites.mastodon = {
    id: 'mastodon',
    platform: 'mastodon',
    mentions: 'mastodon',
    post: '.status, .detailed-status',
    text: '.status__content',
    image: '.media-gallery img, .media-gallery__item img',
    postUrl(post) {
      const a = post && post.querySelector('a.status__relative-time, a.detailed-status__datetime');
      if (a) return a.href.split('?')[0];
      return /^\/@[^/]+\/\d+/.test(location.pathname) ? location.origin + location.pathname : null;
    },
    anchor(img) {
      return img.closest('.media-gallery') || img;
    },
    /** Is this page a Mastodon web interface? (for instances reached through "all sites") */
    detect() {
      return Boolean(document.getElementById('mastodon'));
    },
  };
  NS.site = NS.sites.mastodon;
})(globalThis);
