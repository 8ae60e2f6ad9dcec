// Any other site, when the viewer allowed "all sites": look for reposts among every large image.
// No credit restoration here (we do not know the site's mention syntax), except on pages that
// turn out to be a Mastodon instance (sites/mastodon.js is loaded before this file).
(function (root) {
  'use strict';
  const NS = root.Creditline || (root.Creditline = {});
  const mastodon = NS.sites && NS.sites.mastodon;
  if (mastodon && mastodon.detect()) {
    NS.site = { ...mastodon, id: 'mastodon-generic', settingsId: 'mastodon' };
    return;
  }
  NS.site = {
    id: 'generic',
    platform: null,
    mentions: null,
    post: null,
    text: null,
    image: 'img',
    postUrl() {
      return location.href.split('#')[0];
    },
    anchor(img) {
      return img;
    },
  };
})(globalThis);
