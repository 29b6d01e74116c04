// Test stand-in for Hotjar's tracking code (hotjar.js?hjid=…), served by the tests' third-party
// origin. Like Hotjar, it probes for the highest writable domain (`_hjTLDTest`, kept here in
// sessionStorage), then sets `_hjSessionUser_<id>` (365 days) and `_hjSession_<id>` (30 minutes)
// there, mirrors the user id in localStorage, and sends a hit to its origin.
// Tests read `window.shopVendors.hotjar`.
(function () {
  'use strict';
  var src = new URL(document.currentScript.src);
  var siteId = src.searchParams.get('hjid') || '42';
  window.shopVendors = window.shopVendors || {};
  window.shopVendors.hotjar = { ran: true, siteId: siteId };

  var host = location.hostname;
  var labels = host.split('.');
  sessionStorage.setItem('_hjTLDTest', '1');
  var domain = /^[0-9.]+$/.test(host) || labels.length < 2 ? '' : '; Domain=.' + labels.slice(-2).join('.');
  var user = Math.floor(Math.random() * 1e9).toString(16) + '.' + Date.now();
  document.cookie = '_hjSessionUser_' + siteId + '=' + user + '; Path=/; Max-Age=' + 365 * 86400 + domain + '; SameSite=Lax';
  document.cookie = '_hjSession_' + siteId + '=' + Date.now() + '; Path=/; Max-Age=1800' + domain + '; SameSite=Lax';
  localStorage.setItem('_hjSessionUser_' + siteId, user);
  new Image().src = src.origin + '/hit?hjid=' + encodeURIComponent(siteId);
})();
