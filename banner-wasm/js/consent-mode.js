// Google Consent Mode v2, "basic": Google's tags are gated like any other and run only once
// allowed; the signals tell them what they may store.

import { COOKIE_MAX_DAYS, MODES } from './constants.js';
import { serviceAllowed } from './choice.js';
import { P } from './state.js';

var google;
function gtag() {
  (window.dataLayer = window.dataLayer || []).push(arguments);
}
/** `default` denies every type but security; `update` grants the types of allowed services. */
export function consentMode(kind) {
  if (!google) return;
  var signals = { security_storage: 'granted' };
  MODES.forEach(function (type) {
    signals[type] = kind == 'update' && P.svcs.some(function (s) { return s.modes.indexOf(type) >= 0 && serviceAllowed(s); }) ? 'granted' : 'denied';
  });
  gtag('consent', kind, signals);
}
/** At the start, when the page has Google's tags or a service declares Consent Mode types. */
export function consentDefault() {
  google = window.dataLayer || P.svcs.some(function (s) { return s.modes.length; });
  if (google) {
    consentMode('default');
    // No Google cookie past 13 months (395 days), whatever the tag's default.
    gtag('set', { cookie_expires: COOKIE_MAX_DAYS * 86400 });
  }
}
