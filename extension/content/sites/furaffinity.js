// FurAffinity submission pages (classic and modern themes).
(function (root) {
  'use strict';
  const NS = root.Creditline || (root.Creditline = {});
  NS.site = {
    id: 'furaffinity',
    platform: 'furaffinity',
    mentions: 'furaffinity',
    post: '#submission_page, #columnpage, .submission-content',
    text: '.submission-description, .submission-description-container, #submissionDescription',
    image: '#submissionImg, img[src^="https://d.furaffinity.net/art/"]',
    postUrl() {
      const m = /^\/(?:view|full)\/(\d+)/.exec(location.pathname);
      return m ? `https://www.furaffinity.net/view/${m[1]}/` : null;
    },
    anchor(img) {
      return img;
    },
  };
})(globalThis);
