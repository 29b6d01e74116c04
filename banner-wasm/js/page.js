// The page's side of the consent rules, pure: the banner projection as the loader reads it, the
// cookie-name patterns, and the assignments that delete a cookie wherever the page can see it.
// A module of the loader (bundle.mjs bundles them), tested on its own by tests/browser/page.test.mjs.
// The engine (wasm) keeps the rules that make evidence (the consent cookie, the decision's
// choices); these are the DOM-side ones, cheaper here than through the wasm's imports.

/** The projection (`GET …/banner?lang=`, format `biscotte-banner-3`, written by
 * shared/src/projection.rs, whose doc is the format's reference): records split by U+001E,
 * fields by U+001F. The texts stay an array, read by position (see the loader's `T_*`). */
import { RS, FS } from './constants.js';

export function readProjection(text) {
  var records = text.split(RS).map(function (r) { return r.split(FS); });
  var head = records[0];
  var p = { rev: head[2], lang: head[4], policy: head[5], manage: head[6], t: records[1], cats: [], svcs: [] };
  records.slice(2).forEach(function (r) {
    if (r[0] == 'c') p.cats.push({ id: r[1], req: !!r[2], title: r[3], desc: r[4] });
    if (r[0] == 's') {
      var s = { id: r[1], cat: r[2], name: r[3], provider: r[4], url: r[5], modes: spaced(r[6]), keys: spaced(r[7]), cookies: [] };
      for (var i = 8; i + 3 < r.length; i += 4) s.cookies.push({ name: r[i], lifetime: r[i + 1], purpose: r[i + 2], hidden: !!r[i + 3] });
      p.svcs.push(s);
    }
  });
  return p;
}

function spaced(field) {
  return field ? field.split(' ') : [];
}

/** Whether `name` is covered by a declared pattern: an exact name, or a prefix ending in `*`
 * (shared's `config::cookie_matches`, the rule for cookies and storage keys alike). */
export function matches(pattern, name) {
  return pattern.slice(-1) == '*' ? name.indexOf(pattern.slice(0, -1)) == 0 : name == pattern;
}

/** The `document.cookie` assignments that expire `name` wherever a page at `hostname` and
 * `pathname` can see it: host-only and on the host and every parent domain (not the bare
 * top-level label; IP addresses and single-label hosts have no parents), on `/` and every
 * directory of the path, with and without its trailing slash. A cookie is only deleted by an
 * assignment naming its exact domain and path, and the page cannot read which it has. */
export function expiries(name, hostname, pathname) {
  var out = [], domains = [''], paths = ['/'], labels = hostname.split('.'), at = '';
  if (!/^[\d.]+$|:/.test(hostname)) {
    for (var i = labels.length - 2; i >= 0; i--) domains.push('; Domain=' + labels.slice(i).join('.'));
  }
  pathname.split('/').forEach(function (part) {
    if (part) paths.push((at += '/' + part), at + '/');
  });
  domains.forEach(function (domain) {
    paths.forEach(function (path) { out.push(name + '=; Path=' + path + domain + '; Max-Age=0'); });
  });
  return out;
}
