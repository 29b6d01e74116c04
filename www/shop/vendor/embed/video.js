// The player of the YouTube stand-in: sets YouTube's cookies (in the frame's own, third-party
// origin) and tells the embedding page it loaded, so tests can wait for it.
(function () {
  'use strict';
  document.cookie = 'YSC=' + Math.floor(Math.random() * 1e9).toString(36) + '; Path=/; SameSite=Lax';
  document.cookie = 'VISITOR_INFO1_LIVE=' + Math.floor(Math.random() * 1e9).toString(36) + '; Path=/; Max-Age=' + 180 * 86400 + '; SameSite=Lax';
  var video = new URLSearchParams(location.search).get('v') || '';
  parent.postMessage({ shopVendor: 'youtube', loaded: video }, '*');
})();
