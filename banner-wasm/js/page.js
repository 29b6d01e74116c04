// The page's side of the consent rules, pure: the banner projection as the loader reads it, the
// cookie-name patterns, and the assignments that delete a cookie wherever the page can see it.
// A module of the loader (bundle.mjs bundles them), tested on its own by tests/browser/page.test.mjs.
// The engine (wasm) keeps the rules that make evidence (the consent cookie, the decision's
// choices); these are the DOM-side ones, cheaper here than through the wasm's imports.

import {
  RS, FS, LIST, KIND, H_REVISION, H_LANG, H_POLICY_URL, H_MANAGE_BUTTON, C_TAG, C_ID, C_REQUIRED, C_TITLE, C_DESCRIPTION,
  S_TAG, S_ID, S_CATEGORY, S_NAME, S_PROVIDER, S_POLICY_URL, S_CONSENT_MODE, S_STORAGE, S_FIELDS,
  K_NAME, K_LIFETIME, K_PURPOSE, K_HIDDEN, K_FIELDS,
} from './constants.js';

/** The projection (`GET …/banner?lang=`, written by shared/src/projection.rs, whose doc is the
 * format's reference): records split by RS, fields by FS, each field read at its position in
 * constants.js, which the Rust layout writes. The texts stay an array, read by position (`T_*`).
 * The files of shared/tests/vectors/projection/ pin what it reads into (page.test.mjs). */
export function readProjection(text) {
  // The head, the texts, then a record per category or service, as the engine reads them.
  var records = text.split(RS).map(function (r) { return r.split(FS); }), head = records.shift();
  var p = { rev: head[H_REVISION], lang: head[H_LANG], policy: head[H_POLICY_URL], manage: head[H_MANAGE_BUTTON], t: records.shift(), cats: [], svcs: [] };
  records.forEach(function (r) {
    if (r[KIND] == C_TAG) p.cats.push({ id: r[C_ID], req: !!r[C_REQUIRED], title: r[C_TITLE], desc: r[C_DESCRIPTION] });
    if (r[KIND] == S_TAG) {
      var s = { id: r[S_ID], cat: r[S_CATEGORY], name: r[S_NAME], provider: r[S_PROVIDER], url: r[S_POLICY_URL], modes: listed(r[S_CONSENT_MODE]), keys: listed(r[S_STORAGE]), cookies: [] };
      for (var i = S_FIELDS; i + K_FIELDS <= r.length; i += K_FIELDS) {
        s.cookies.push({ name: r[i + K_NAME], lifetime: r[i + K_LIFETIME], purpose: r[i + K_PURPOSE], hidden: !!r[i + K_HIDDEN] });
      }
      p.svcs.push(s);
    }
  });
  return p;
}

function listed(field) {
  return field ? field.split(LIST) : [];
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
 * assignment naming its exact domain and path, and the page cannot read which it has.
 * Nor can it read whether a cookie is Secure or partitioned (CHIPS): on a `secure` (https) page,
 * each place takes, instead of a plain assignment, one with `Secure` (which `__Secure-` and
 * `__Host-` names need, and which deletes a plain cookie too) and one with `Secure; Partitioned`
 * (a partitioned cookie is a separate entry that only a `Partitioned` assignment reaches, and
 * `Partitioned` needs `Secure`). A non-secure page cannot write Secure cookies: plain only. */
export function expiries(name, hostname, pathname, secure) {
  var out = [], domains = [''], paths = ['/'], labels = hostname.split('.'), at = '';
  if (!/^[\d.]+$|:/.test(hostname)) {
    for (var i = labels.length - 2; i >= 0; i--) domains.push('; Domain=' + labels.slice(i).join('.'));
  }
  pathname.split('/').forEach(function (part) {
    if (part) paths.push((at += '/' + part), at + '/');
  });
  domains.forEach(function (domain) {
    paths.forEach(function (path) {
      var a = name + '=; Path=' + path + domain + '; Max-Age=0' + (secure ? '; Secure' : '');
      out.push(a);
      if (secure) out.push(a + '; Partitioned');
    });
  });
  return out;
}
