// Test stand-in for Google Ads' conversion linker (gtag.js?id=AW-…), served by the tests'
// third-party origin: unless Consent Mode's `ad_storage` is denied in the page's queue, it sets
// `_gcl_au` on the highest domain it may (90 days) and `_gcl_ls` in localStorage, and sends a hit
// to its origin. Tests read `window.shopVendors.ads`.
(function () {
  'use strict';
  var src = new URL(document.currentScript.src);
  var state = { ran: true, stored: false };
  window.shopVendors = window.shopVendors || {};
  window.shopVendors.ads = state;

  var adStorage;
  (window.dataLayer || []).forEach(function (entry) {
    if (entry && entry[0] === 'consent' && entry[2] && entry[2].ad_storage) adStorage = entry[2].ad_storage;
  });
  if (adStorage === 'denied') return;
  var host = location.hostname;
  var labels = host.split('.');
  var domain = /^[0-9.]+$/.test(host) || labels.length < 2 ? '' : '; Domain=.' + labels.slice(-2).join('.');
  var now = Math.floor(Date.now() / 1000);
  document.cookie = '_gcl_au=1.1.' + Math.floor(Math.random() * 1e9) + '.' + now + '; Path=/; Max-Age=' + 90 * 86400 + domain + '; SameSite=Lax';
  localStorage.setItem('_gcl_ls', JSON.stringify({ schema: 'gcl', version: 1, gcl_ctr: { value: { value: 0, creationTimeMs: now * 1000 } } }));
  state.stored = true;
  new Image().src = src.origin + '/pagead/conversion?id=' + encodeURIComponent(src.searchParams.get('id') || '');
})();
