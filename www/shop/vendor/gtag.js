// Test stand-in for Google's tag with Google Analytics 4 (gtag.js?id=G-…), served by the tests'
// third-party origin. It behaves as the real tag does where a consent banner can see it:
// - it reads the commands the page queued in `window.dataLayer`, in order, then takes over
//   `dataLayer.push`, and keeps Consent Mode's state from `consent` commands;
// - once configured, and unless `analytics_storage` is denied, it sets `_ga` and `_ga_<id>` on the
//   highest domain it may (cookie_domain "auto"), `_gid` on the host under /shop/, for
//   `cookie_expires` seconds (two years by default, as Google's), and sends a hit to its origin.
// It defines nothing before it runs. Tests read `window.shopVendors.gtag.entries`: every queued
// entry in the order the tag read it (arguments as arrays, dates as ISO strings).
(function () {
  'use strict';
  var src = new URL(document.currentScript.src);
  var measurementId = src.searchParams.get('id') || 'G-ABC123';
  var state = { entries: [], consent: {}, configured: null, measured: false };
  window.shopVendors = window.shopVendors || {};
  window.shopVendors.gtag = state;

  function parentDomain() {
    var host = location.hostname;
    var labels = host.split('.');
    // An IP address or a single label has no parent: the cookie stays on the host.
    if (/^[0-9.]+$/.test(host) || host.indexOf(':') >= 0 || labels.length < 2) return '';
    return '; Domain=.' + labels.slice(-2).join('.');
  }
  function has(name) {
    return document.cookie.split('; ').some(function (pair) { return pair.split('=')[0] === name; });
  }
  function measure() {
    if (!state.configured || state.consent.analytics_storage === 'denied') return;
    var now = Math.floor(Date.now() / 1000);
    var maxAge = Number(state.configured.cookie_expires || 63072000);
    var domain = parentDomain();
    if (!has('_ga')) {
      var clientId = Math.floor(Math.random() * 1e9) + '.' + now;
      document.cookie = '_ga=GA1.2.' + clientId + '; Path=/; Max-Age=' + maxAge + domain + '; SameSite=Lax';
    }
    document.cookie = '_ga_' + measurementId.replace(/^G-/, '') + '=GS1.1.' + now + '.1.0.' + now + '.0.0.0; Path=/; Max-Age=' + maxAge + domain + '; SameSite=Lax';
    document.cookie = '_gid=GA1.2.' + Math.floor(Math.random() * 1e9) + '.' + now + '; Path=/shop/; Max-Age=86400; SameSite=Lax';
    if (!state.measured) {
      state.measured = true;
      new Image().src = src.origin + '/g/collect?v=2&tid=' + encodeURIComponent(measurementId) + '&dl=' + encodeURIComponent(location.href);
    }
  }
  function read(entry) {
    var command = Object.prototype.toString.call(entry) === '[object Arguments]' ? Array.prototype.slice.call(entry) : entry;
    state.entries.push(JSON.parse(JSON.stringify(command)));
    if (!Array.isArray(command)) return;
    if (command[0] === 'consent' && command[2]) Object.assign(state.consent, command[2]);
    if (command[0] === 'config' && command[1] === measurementId) state.configured = command[2] || {};
    measure();
  }

  var dataLayer = (window.dataLayer = window.dataLayer || []);
  dataLayer.forEach(read);
  var push = dataLayer.push;
  dataLayer.push = function () {
    for (var i = 0; i < arguments.length; i++) read(arguments[i]);
    return push.apply(dataLayer, arguments);
  };
})();
