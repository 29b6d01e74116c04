/* Demo stand-in for Hotjar: sets the cookie Hotjar sets (_hjSessionUser_<site id>) and says it ran.
 * Loads nothing from the internet. Biscotte runs it only after consent to Hotjar. */
(function () {
  'use strict';
  if (!/(?:^|;\s*)_hjSessionUser_123456=/.test(document.cookie)) {
    var value = Math.floor(Math.random() * 1e9).toString(16) + '.' + Date.now();
    document.cookie = '_hjSessionUser_123456=' + value + '; Path=/; Max-Age=' + 365 * 24 * 60 * 60 + '; SameSite=Lax';
  }
  window.biscotteDemo = window.biscotteDemo || {};
  window.biscotteDemo.hotjar = true;
  var status = document.querySelector('[data-demo-status="hotjar"]');
  if (status) status.textContent = document.documentElement.lang === 'en' ? 'loaded on this page' : 'chargé sur cette page';
})();
