/* Demo stand-in for Google Analytics: sets the cookies GA sets (_ga, _gid) and says it ran.
 * Loads nothing from the internet. Biscotte runs it only after consent to Google Analytics. */
(function () {
  'use strict';
  var day = 24 * 60 * 60;
  var now = Math.floor(Date.now() / 1000);
  var random = function () { return Math.floor(Math.random() * 1e9); };
  if (!/(?:^|;\s*)_ga=/.test(document.cookie)) {
    // 395 days: capped at 13 months, as gtag's cookie_expires allows.
    document.cookie = '_ga=GA1.1.' + random() + '.' + now + '; Path=/; Max-Age=' + 395 * day + '; SameSite=Lax';
  }
  document.cookie = '_gid=GA1.1.' + random() + '.' + now + '; Path=/; Max-Age=' + day + '; SameSite=Lax';
  window.biscotteDemo = window.biscotteDemo || {};
  window.biscotteDemo.ga = true;
  var status = document.querySelector('[data-demo-status="ga"]');
  if (status) status.textContent = document.documentElement.lang === 'en' ? 'loaded on this page' : 'chargé sur cette page';
})();
