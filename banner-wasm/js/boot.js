/*! Biscotte loader: draws the consent banner, gates the page's optional scripts and records
 * decisions with the consent engine (WebAssembly). Any failure leaves the page as if everything
 * was refused: the gated scripts stay inert. */
// The loader's entry (bundle.mjs bundles the modules from here). Served two ways:
// - `/sites/<site>/biscotte.js`, the site's own loader: the server puts the site's projection in
//   the page's language in place of `__BISCOTTE_SITE__` ({s: site, l: language, p: projection,
//   w: 1 when a returning visitor's scripts wait for the revision check}), so that a first visit
//   needs one request before its banner and a returning one none;
// - `/biscotte.js` with `data-site` (the first tag), where it is 0: the projection is fetched.
// In both the server names the content-hashed engine in place of `__BISCOTTE_WASM__`.

import wasm_bindgen from 'biscotte:glue';
import { COOKIE_NAME } from './constants.js';
import { D, fail, load } from './host.js';
import { act, apply, expose, waiting } from './api.js';
import { consentDefault } from './consent-mode.js';
import { close, first, mount, placeManage, shown } from './dialogs.js';
import { gate } from './gating.js';
import { PROOF_KEY, keep, resume } from './outbox.js';
import { readProjection } from './page.js';
import { P, api, ready, setApi, setProjection, setReady, state } from './state.js';

// Only readable synchronously, while this script runs for the first time.
var tag = D.currentScript, E = __BISCOTTE_SITE__;

// The page's language, else the browser's, else French: the server resolves the texts.
function language(tag) {
  var primary = /^[a-z]*/i.exec(tag || '')[0].toLowerCase();
  return (primary == 'fr' || primary == 'en') && primary;
}
function projection(url) {
  return fetch(url, { credentials: 'omit' }).then(
    function (response) {
      if (response.status == 404) {
        throw new Error('unknown site at ' + url + ' (check the tag, and that the site is published)');
      }
      if (!response.ok) throw new Error(url + ' answered HTTP ' + response.status);
      // 204: the revision the page holds is the live one.
      return response.status != 204 && response.text();
    },
    function () {
      throw new Error('the Biscotte server ' + url + ' is unreachable (or refuses this origin)');
    }
  );
}
// Runs `then` once the body exists, without waiting for the rest of the document.
function whenBody(then) {
  if (D.body) return then();
  new MutationObserver(function (_, observer) {
    if (D.body) {
      observer.disconnect();
      then();
    }
  }).observe(D.documentElement, { childList: true });
}
// Everything that needs the projection but not the engine, once: the banner's host element and
// manage button, Consent Mode's defaults, and content added later (the rest of the document,
// single-page apps) gated as it comes.
function prepare(text) {
  if (P) return;
  setProjection(readProjection(text));
  mount();
  consentDefault();
  new MutationObserver(function () {
    if (ready) gate();
    placeManage();
  }).observe(D.documentElement, { childList: true, subtree: true });
}
// The engine reads `text` and the consent cookie: a new visitor is asked (the first layer may
// already be shown), a returning one's scripts run. Called again when the revision check brings
// a newer projection: the visitor is asked on this page when it needs asking.
function start(text) {
  var answer = wasm_bindgen.start(text);
  if (!answer) return;
  var again = ready;
  if (again) setProjection(readProjection(text));
  prepare(text);
  setReady();
  if (!again) resume();
  if (waiting.length) {
    // Clicked before the engine started: that decision is the answer.
    apply();
    waiting.splice(0).forEach(function (decide) { decide(); });
  } else if (answer == 2 && navigator.globalPrivacyControl) {
    // Global Privacy Control is a refusal of everything optional; the panel can still opt in.
    act('gpc');
  } else if (answer == 2) {
    if (!shown() || again) first();
    apply();
  } else {
    apply();
    if (!again) close();
  }
  // The proof kept with the choice in force; none once no choice is (expired, a new policy).
  keep(state && load(PROOF_KEY));
}

function boot() {
  if (!tag || !tag.src) {
    return fail('biscotte.js must be included with <script src="…/sites/SITE/biscotte.js" async>');
  }
  if (window.Biscotte) {
    return fail('the banner is already running on this page: include biscotte.js only once');
  }
  var origin = new URL(tag.src, location.href).origin, site = E ? E.s : tag.getAttribute('data-site');
  if (!site) {
    return fail('the script tag has no data-site attribute; copy the tag from the Biscotte admin');
  }
  var lang = language(D.documentElement.lang) || language(navigator.language) || 'fr';
  setApi(origin + '/api/v1/sites/' + encodeURIComponent(site));
  expose();
  var url = api + '/banner?lang=' + lang, held = E && E.l == lang && E.p;
  // No consent cookie: the visitor will be asked (the engine also asks when the cookie does not
  // read, expired or names an older policy: then the banner waits for it).
  var asked = (' ' + D.cookie).indexOf(' ' + COOKIE_NAME + '=') < 0;
  var text = held ? Promise.resolve(held) : projection(url), check;
  // Compiled while it downloads (`instantiateStreaming`, served as application/wasm), or from
  // the browser's cache.
  var engine = wasm_bindgen({ module_or_path: origin + '__BISCOTTE_WASM__' });
  if (held && (!asked || cached(tag.src))) {
    // The loader came from the browser's cache (or a choice is in force): whether a newer
    // revision is live is checked beside the start, not before it, unless the site asks the
    // returning visitors' scripts to wait for it ([consent.banner] wait_for_check).
    check = projection(url + '&have=' + encodeURIComponent(readProjection(held).rev));
    if (E.w && !asked) text = check.then(function (newer) { return newer || held; }, function () { return held; });
  }
  // A new visitor's first layer is drawn as soon as its texts are here; the engine is only
  // needed for a decision. With Global Privacy Control the engine decides without a banner.
  if (asked && !navigator.globalPrivacyControl) {
    text.then(function (text) {
      whenBody(function () {
        prepare(text);
        if (!ready) first();
      });
    }, function () {});
  }
  Promise.all([text, engine])
    .then(function (loaded) {
      whenBody(function () { start(loaded[0]); });
      if (check) {
        check.then(function (newer) {
          if (newer && newer != loaded[0]) whenBody(function () { start(newer); });
        }, function () {});
      }
    })
    .catch(function (error) {
      fail((error && error.message) || String(error));
    });
}
// Whether the loader running came from the browser's cache: its resource timing shows no bytes
// transferred (the server allows reading it with `Timing-Allow-Origin`). Unknown means cached.
function cached(src) {
  try {
    return !(performance.getEntriesByName(src)[0].transferSize > 0);
  } catch (e) {
    return 1;
  }
}
boot();
