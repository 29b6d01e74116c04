// Deletion: the cookies and storage keys of refused services go, and no managed cookie lives past
// 13 months (LEGAL R20, R21).

import { COOKIE_MAX_DAYS, COOKIE_NAME, DAY_MS } from './constants.js';
import { D, bSetCookie, put } from './host.js';
import { expiries, matches } from './page.js';
import { P } from './state.js';

var SEEN_KEY = 'biscotte.seen';

function cookieNames() {
  return D.cookie.split(';').map(function (pair) { return pair.split('=')[0].trim(); }).filter(String);
}
// The declared (visible) cookies of service `s` among `names`; never the consent cookie.
function cookiesOf(s, names) {
  return names.filter(function (n) {
    return n != COOKIE_NAME && s.cookies.some(function (c) { return !c.hidden && matches(c.name, n); });
  });
}
function expire(name) {
  expiries(name, location.hostname, location.pathname, location.protocol == 'https:').forEach(bSetCookie);
}
/** Deletes the cookies and storage keys of every service `keep` refuses; answers the cookies
 * still readable afterwards (set where this page cannot write, or put back at once by a script). */
export function sweep(keep) {
  var gone = [];
  P.svcs.forEach(function (s) {
    if (keep(s)) return;
    cookiesOf(s, cookieNames()).forEach(function (n) { expire(n); gone.push(n); });
    [window.localStorage, window.sessionStorage].forEach(function (store) {
      try {
        for (var i = store.length; i--;) {
          var key = store.key(i);
          if (s.keys.some(function (k) { return matches(k, key); })) store.removeItem(key);
        }
      } catch (e) {}
    });
  });
  var left = cookieNames();
  return gone.filter(function (n, i) { return left.indexOf(n) >= 0 && gone.indexOf(n) == i; });
}
/** No managed cookie lives past 13 months, whatever expiry its service gave it: the first time
 * the banner saw each is kept in `biscotte.seen` (README), and a cookie seen 395 days ago goes. */
export function age() {
  var seen = {}, kept = {}, now = Date.now(), any = 0;
  try { seen = JSON.parse(localStorage.getItem(SEEN_KEY)) || {}; } catch (e) {}
  P.svcs.forEach(function (s) {
    cookiesOf(s, cookieNames()).forEach(function (n) {
      var first = seen[n] || now;
      if (now - first >= COOKIE_MAX_DAYS * DAY_MS) return expire(n);
      kept[n] = first;
      any = 1;
    });
  });
  put(SEEN_KEY, any && JSON.stringify(kept));
}
