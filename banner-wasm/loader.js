/*! Biscotte loader: fetches the site's banner configuration and the consent engine (WebAssembly)
 * in parallel, then starts it. Served as /biscotte.js. `./dev build` (bundle.mjs) puts the
 * wasm-bindgen glue and the banner's styles in the placeholders below and minifies the whole; the
 * server fills in the content-hashed path of the engine. Any failure leaves the page as if
 * everything was refused: the gated scripts stay inert. */
(function () {
  'use strict';
  // Only readable synchronously, while this script runs for the first time.
  var tag = document.currentScript;
  var started = false;
  var root;
  function fail(message) {
    console.warn('Biscotte: ' + message + '. No consent banner is shown and no optional script runs.');
  }
  if (!tag || !tag.src) {
    return fail('biscotte.js must be included with <script src="…/biscotte.js" data-site="…">');
  }
  if (window.Biscotte) {
    return fail('the banner is already running on this page: include biscotte.js only once');
  }
  var origin = new URL(tag.src, location.href).origin;
  var site = tag.getAttribute('data-site');
  if (!site) {
    return fail('the script tag has no data-site attribute; copy the tag from the Biscotte admin');
  }
  // The page's language, else the browser's, else French: the server resolves the texts.
  function language(tag) {
    var primary = /^[a-z]*/i.exec(tag || '')[0].toLowerCase();
    return (primary == 'fr' || primary == 'en') && primary;
  }
  var lang = language(document.documentElement.lang) || language(navigator.language) || 'fr';
  var configUrl = origin + '/api/v1/sites/' + encodeURIComponent(site) + '/banner?lang=' + lang;

  // The engine's side of the page (host.rs): one line each, cheaper here than through web-sys.
  function bWarn(message) { console.warn('Biscotte: ' + message); }
  function bCookies() { return document.cookie; }
  function bSetCookie(assignment) { document.cookie = assignment; }
  function bHost() { return location.hostname; }
  function bSecure() { return location.protocol == 'https:'; }
  function bHref() { return location.href; }
  function bLoad() {
    try { return localStorage.getItem(OUTBOX_KEY) || ''; } catch (e) { return ''; }
  }
  __BISCOTTE_OUTBOX__

  // The outbox (outbox.js has its rules): a decision the server does not take now (429, 5xx, no
  // answer) waits in `localStorage` and is sent again with backoff, on this page and on the next
  // ones. Storage may be refused (third-party storage blocked): then it lives for this page.
  var OUTBOX_KEY = 'biscotte.pending';
  var queue = [], busy = false, latest = 0, receipt = null;
  function save() {
    try {
      var text = outboxWrite(queue);
      text ? localStorage.setItem(OUTBOX_KEY, text) : localStorage.removeItem(OUTBOX_KEY);
    } catch (e) {}
  }
  // The engine's decision (its JSON body) for `url`: queued and stored first, so that neither a
  // refusal for now nor leaving the page loses it.
  function bRecord(url, body) {
    var last = queue[queue.length - 1];
    // Strictly after the previous one, so that its time names this decision alone.
    latest = Math.max(Date.now(), last ? last.at + 1 : 0);
    receipt = null;
    outboxPush(queue, { at: latest, tries: 0, notBefore: 0, url: url, body: body });
    save();
    next();
  }
  // Sends the oldest decision if it is due, or waits until it is; never two at once, so the log
  // gets a visitor's decisions in the order they were made.
  function next() {
    var entry = queue[0], now = Date.now();
    if (busy || !entry) return;
    busy = true;
    if (entry.notBefore > now) {
      return setTimeout(function () { busy = false; next(); }, Math.min(entry.notBefore - now, MAX_DELAY_MS));
    }
    entry.tries++;
    // Until an answer comes, the next try waits as if this one failed: a page closed while the
    // request is out leaves the next page a pause rather than a burst.
    entry.notBefore = now + backoff(entry.tries, '', Math.random());
    save();
    // No credentials travel (the consent id in the body is the only link to the visitor), and the
    // request is `keepalive` so that a decision made just before leaving the page still leaves. A
    // request with no answer in 15 s is given up for now: a hung server must not hold the queue.
    var init = { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: entry.body, credentials: 'omit', keepalive: true };
    try { init.signal = AbortSignal.timeout(15000); } catch (e) {}
    fetch(entry.url, init).then(function (response) {
      // Settled on the status, before the body: a page left while the body arrives must not
      // leave behind, as unsent, a decision the server has recorded.
      var result = settle(entry, response.status, response.headers.get('Retry-After'));
      if (result) {
        response.text().then(function (text) {
          if (result == 2) {
            console.warn('Biscotte: ' + entry.url + ' refused a decision for good (HTTP ' + response.status + '); it applies on this page only: ' + text);
          } else if (entry.at == latest) {
            try { receipt = JSON.parse(text).receipt || null; } catch (e) {}
          }
        });
      }
    }, function () {
      settle(entry, 0, '');
    });
  }
  // Takes the sent decision off the queue, or schedules its next try, then moves on; returns
  // what the answer means (outbox.js's `outcome`).
  function settle(entry, status, retryAfter) {
    var result = outcome(status), at = queue.indexOf(entry);
    busy = false;
    if (at >= 0) {
      if (!result && entry.tries < MAX_TRIES) {
        entry.notBefore = Date.now() + backoff(entry.tries, retryAfter, Math.random());
      } else {
        queue.splice(at, 1);
      }
      save();
    }
    if (!result) {
      console.warn('Biscotte: the server did not record a decision (HTTP ' + status + ', 0: no answer); ' +
        (queue.indexOf(entry) < 0 ? 'given up' : 'it will be sent again'));
    }
    next();
    return result;
  }
  function bNow() { return Date.now(); }
  function bRandomId() {
    var bytes = crypto.getRandomValues(new Uint8Array(16)), id = '';
    for (var i = 0; i < 16; i++) id += (bytes[i] + 256).toString(16).slice(1);
    return /[^0]/.test(id) ? id : '';
  }
  function bEmit(detail) {
    document.dispatchEvent(new CustomEvent('biscotte:consent', { bubbles: true, detail: JSON.parse(detail) }));
  }
  function bRoot() { return root; }
  var given = 'null';
  function bGive(json) { given = json; }
  // An element from the engine's spec: its tag, then attribute names and values, separated by
  // U+001F; the text is set as text, never parsed as HTML.
  function bAdd(parent, spec, text) {
    var parts = spec.split('\x1f'), element = document.createElement(parts[0]);
    for (var i = 1; i < parts.length; i += 2) element.setAttribute(parts[i], parts[i + 1]);
    if (text) element.textContent = text;
    if (parent) parent.appendChild(element);
    return element;
  }
  function bGated() {
    return document.querySelectorAll(
      "script[type='text/plain'][data-biscotte-category]:not([data-biscotte-ran]),script[type='text/plain'][data-biscotte-service]:not([data-biscotte-ran])"
    );
  }
  // A fresh script element (scripts created by the DOM execute, parsed ones turned live do not)
  // with the original's attributes but `type`, placed after it; the original is marked first, so
  // that even a script that throws never runs twice.
  function bRevive(original) {
    original.setAttribute('data-biscotte-ran', '');
    var script = document.createElement('script');
    for (var i = 0, names = original.getAttributeNames(); i < names.length; i++) {
      if (names[i] != 'type' && names[i] != 'data-biscotte-ran') script.setAttribute(names[i], original.getAttribute(names[i]));
    }
    // Inserted scripts are async by default; keeping them in order keeps dependencies working.
    if (!original.hasAttribute('async')) script.async = false;
    if (!original.src) script.text = original.text;
    original.after(script);
  }

  __BISCOTTE_GLUE__

  function act(action) {
    if (started) wasm_bindgen.act(action);
  }
  // The page's API: `open()` shows the choices again (to change or withdraw them); `consent()`
  // is the choice in force ({method, categories, services, receipt}) or null; `receipt` is null
  // until the server has signed the decision made on this page.
  window.Biscotte = {
    open: function () { act('manage'); },
    consent: function () {
      var choice = null;
      if (started) {
        wasm_bindgen.consent();
        choice = JSON.parse(given);
      }
      if (choice) choice.receipt = receipt;
      return choice;
    }
  };

  // The host element with an open shadow root, and the styles as a constructed sheet: a page's
  // CSP `style-src` governs `<style>` elements but not constructed sheets. A browser without
  // them (Safari before 16.4) gets a `<style>` element instead.
  function mount() {
    var host = document.createElement('div');
    host.id = 'biscotte';
    host.lang = lang;
    root = host.attachShadow({ mode: 'open' });
    var css = __BISCOTTE_CSS__;
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(css);
      root.adoptedStyleSheets = [sheet];
    } catch (e) {
      var style = document.createElement('style');
      style.textContent = css;
      root.appendChild(style);
    }
    document.body.appendChild(host);
    // One listener for every control of the banner, read from `data-action`.
    root.addEventListener('click', function (event) {
      var control = event.target.closest('[data-action]');
      if (control) act(control.getAttribute('data-action'));
    });
  }

  function start(config) {
    mount();
    started = wasm_bindgen.start(origin, config);
    if (!started) return root.host.remove();
    // Decisions that earlier pages could not send go first, before any made on this one.
    queue = outboxParse(bLoad(), Date.now()).concat(queue);
    next();
    // Escape closes the banner, which is a refusal: only while the dialog is shown.
    document.addEventListener('keydown', function (event) {
      if (event.key == 'Escape' && root.querySelector('[role=dialog]')) act('close');
    });
    // Any element of the page marked `data-biscotte-open` reopens the choices.
    document.addEventListener('click', function (event) {
      if (event.target.closest && event.target.closest('[data-biscotte-open]')) {
        event.preventDefault();
        act('manage');
      }
    });
  }

  var config = fetch(configUrl, { credentials: 'omit' }).then(
    function (response) {
      if (response.status == 404) {
        throw new Error('unknown site id "' + site + '" on ' + origin + ' (check data-site, and that the site is published)');
      }
      if (!response.ok) throw new Error(configUrl + ' answered HTTP ' + response.status);
      return response.text();
    },
    function () {
      throw new Error('the Biscotte server ' + origin + ' is unreachable (or refuses this origin)');
    }
  );
  // Compiled while it downloads (`instantiateStreaming`, served as application/wasm).
  var engine = wasm_bindgen({ module_or_path: origin + '__BISCOTTE_WASM__' });

  Promise.all([config, engine])
    .then(function (loaded) {
      // Shown as soon as the body exists, without waiting for the rest of the document.
      if (document.body) return start(loaded[0]);
      new MutationObserver(function (_, observer) {
        if (document.body) {
          observer.disconnect();
          start(loaded[0]);
        }
      }).observe(document.documentElement, { childList: true });
    })
    .catch(function (error) {
      fail((error && error.message) || String(error));
    });
  // Gated scripts parsed after the start run too, once the document is complete.
  document.addEventListener('DOMContentLoaded', function () {
    if (started) wasm_bindgen.scan();
  });
})();
