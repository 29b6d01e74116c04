/* The demo site's own technical cookie (a session id): strictly necessary, so it needs no consent.
 * A file rather than an inline script, so that the pages satisfy a CSP without 'unsafe-inline'. */
(function () {
  'use strict';
  if (/(?:^|;\s*)demo_session=/.test(document.cookie)) return;
  var bytes = crypto.getRandomValues(new Uint8Array(12));
  var id = Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join('');
  document.cookie = 'demo_session=' + id + '; Path=/; SameSite=Lax';
})();
