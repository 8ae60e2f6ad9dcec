// DeviantArt deviation pages.
(function (root) {
  'use strict';
  const NS = root.Creditline || (root.Creditline = {});
  NS.site = {
    id: 'deviantart',
    platform: 'deviantart',
    mentions: 'deviantart',
    post: 'main, [data-hook="deviation_meta"]',
    text: '.legacy-journal, [data-editor-viewer="1"]',
    image: 'img[src*=".wixmp.com/"]',
    postUrl() {
      return /^\/[^/]+\/art\/[^/]+/.test(location.pathname) ? location.href.split('?')[0] : null;
    },
    anchor(img) {
      return img;
    },
  };
})(globalThis);
