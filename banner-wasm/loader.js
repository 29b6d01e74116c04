/*! Biscotte loader: fetches the site's banner configuration and the consent engine (WebAssembly)
 * in parallel, then starts it. Served as /biscotte.js. `./dev build` (bundle.mjs) puts the
 * wasm-bindgen glue and the banner's styles in the placeholders below and minifies the whole; the
 * server fills in the content-hashed path of the engine. Any failure leaves the page as if
 * everything was refused: the gated scripts stay inert. */
(function () {
  'use strict';
  // Only readable synchronously, while this script runs for the first time.
  var tag = document.currentScript;
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
  var api = origin + '/api/v1/sites/' + encodeURIComponent(site);
  var configUrl = api + '/banner?lang=' + lang;

  // The engine's side of the page (host.rs): one line each, cheaper here than through web-sys.
  var D = document;
  function bWarn(message) { console.warn('Biscotte: ' + message); }
  function bCookies() { return D.cookie; }
  function bSetCookie(assignment) { D.cookie = assignment; }
  function bSecure() { return location.protocol == 'https:'; }
  function bHref() { return location.href; }
  // The banner's `localStorage` entries (README). The browser may refuse storage (third-party
  // storage blocked): then nothing is read and what would be written lives for this page only.
  function load(key) {
    try { return localStorage.getItem(key); } catch (e) {}
  }
  // Writes `text`, or removes the entry when there is none.
  function put(key, text) {
    try { text ? localStorage.setItem(key, text) : localStorage.removeItem(key); } catch (e) {}
  }
  __BISCOTTE_PAGE__
  __BISCOTTE_OUTBOX__

  // The outbox (outbox.js has its rules): a decision the server does not take now (429, 5xx, no
  // answer) waits in `localStorage` and is sent again with backoff, on this page and on the next
  // ones. Storage may be refused (third-party storage blocked): then it lives for this page.
  var OUTBOX_KEY = 'biscotte.pending', PROOF_KEY = 'biscotte.proof';
  // `inForce` is the outbox entry of the latest decision, the choice in force: only its answer is
  // kept. `answer` is the server's answer to that choice (its receipt and inclusion proof), kept
  // in PROOF_KEY so that later pages give it too.
  var queue = [], busy = false, inForce, answer = {};
  function save() {
    put(OUTBOX_KEY, outboxWrite(queue));
  }
  // The engine's decision (its JSON body): queued and stored first, so that neither a refusal
  // for now nor leaving the page loses it.
  function bRecord(body) {
    var last = queue[queue.length - 1];
    // Strictly after the previous one, so that its time names this decision alone.
    outboxPush(queue, inForce = { at: Math.max(Date.now(), last ? last.at + 1 : 0), tries: 0, notBefore: 0, url: api + '/consents', body: body });
    // The previous choice's proof is not this one's.
    keep(null);
    save();
    next();
  }
  // Keeps the server's answer (JSON text) to the choice in force, or forgets it (null).
  function keep(text) {
    try { answer = JSON.parse(text) || {}; } catch (e) {}
    put(PROOF_KEY, text);
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
          } else if (entry == inForce) {
            keep(text);
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
  var given = 'null';
  function bGive(json) { given = json; }

  __BISCOTTE_GLUE__

  // The projection's texts by position (projection.rs, record 1).
  var T_TITLE = 0, T_BODY = 1, T_ACCEPT = 2, T_REJECT = 3, T_CUSTOMIZE = 4, T_SAVE = 5, T_CLOSE = 6,
    T_CLOSE_LABEL = 7, T_MANAGE = 8, T_POLICY = 9, T_ALWAYS = 10, T_PRIVACY = 11, T_COOKIES = 12,
    T_NO_SERVICE = 13, T_BY_SERVICE = 14, T_EMBED = 15, T_ALLOW = 16, T_DAYS = 17, T_ESCAPE = 18;
  var P, T, state = null, sheet, opener, manage, google, held = [];
  var SEEN_KEY = 'biscotte.seen', DAY_MS = 864e5, COOKIE_MAX_DAYS = 395;
  // Google Consent Mode v2's types; `security_storage` is always granted.
  var MODES = ['ad_storage', 'analytics_storage', 'ad_user_data', 'ad_personalization', 'functionality_storage', 'personalization_storage'];

  function all(selector, within) {
    return [].slice.call((within || D).querySelectorAll(selector));
  }
  function service(id) {
    return P.svcs.filter(function (s) { return s.id == id; })[0];
  }
  function category(id) {
    return P.cats.filter(function (c) { return c.id == id; })[0];
  }
  // What the choice in force allows (shared's `Choices::allows_*`): `necessary` always; anything
  // else only with its own yes. Unknown ids never run.
  function categoryAllowed(id) {
    var c = category(id);
    return !!c && (c.req || !!(state && state.categories[id]));
  }
  function serviceAllowed(s) {
    var c = s && category(s.cat);
    return !!c && (c.req || !!(state && state.services[s.id]));
  }
  function cookieNames() {
    return D.cookie.split(';').map(function (pair) { return pair.split('=')[0].trim(); }).filter(String);
  }
  // The declared (visible) cookies of service `s` among `names`; never the consent cookie.
  function cookiesOf(s, names) {
    return names.filter(function (n) {
      return n != 'biscotte' && s.cookies.some(function (c) { return !c.hidden && matches(c.name, n); });
    });
  }
  function expire(name) {
    expiries(name, location.hostname, location.pathname).forEach(bSetCookie);
  }
  // Deletes the cookies and storage keys of every service `keep` refuses; answers the cookies
  // still readable afterwards (set where this page cannot write, or put back at once by a script).
  function sweep(keep) {
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
  // No managed cookie lives past 13 months, whatever expiry its service gave it: the first time
  // the banner saw each is kept in `biscotte.seen` (README), and a cookie seen 395 days ago goes.
  function age() {
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
  function gtag() {
    (window.dataLayer = window.dataLayer || []).push(arguments);
  }
  // Consent Mode v2, "basic": Google's tags are gated like any other and run only once allowed;
  // the signals tell them what they may store. `default` denies every type but security.
  function consentMode(kind) {
    if (!google) return;
    var signals = { security_storage: 'granted' };
    MODES.forEach(function (type) {
      signals[type] = kind == 'update' && P.svcs.some(function (s) { return s.modes.indexOf(type) >= 0 && serviceAllowed(s); }) ? 'granted' : 'denied';
    });
    gtag('consent', kind, signals);
  }
  // Makes the page follow the choice in force: refused services lose their cookies and keys,
  // allowed scripts and embeds start, Google's tags are told.
  function apply() {
    wasm_bindgen.consent();
    state = JSON.parse(given);
    sweep(serviceAllowed);
    age();
    gate();
    if (state) consentMode('update');
  }
  // Runs the gated scripts the choice allows and fills the allowed embeds (placeholders for the
  // others), in document order: at the start, after each decision and for content added later.
  function gate() {
    all("script[type='text/plain'][data-biscotte-category]:not([data-biscotte-ran]),script[type='text/plain'][data-biscotte-service]:not([data-biscotte-ran])").forEach(function (script) {
      var id = script.getAttribute('data-biscotte-service');
      if (id ? serviceAllowed(service(id)) : categoryAllowed(script.getAttribute('data-biscotte-category'))) revive(script);
    });
    all('[data-biscotte-service][data-src]').concat(held).forEach(embed);
  }
  // A fresh script element (scripts created by the DOM execute, parsed ones turned live do not)
  // with the original's attributes but `type`, placed after it; the original is marked first, so
  // that even a script that throws never runs twice.
  function revive(original) {
    original.setAttribute('data-biscotte-ran', '');
    var script = D.createElement('script');
    original.getAttributeNames().forEach(function (name) {
      if (name != 'type' && name != 'data-biscotte-ran') script.setAttribute(name, original.getAttribute(name));
    });
    // Inserted scripts are async by default; keeping them in order keeps dependencies working.
    if (!original.hasAttribute('async')) script.async = false;
    if (!original.src) script.text = original.text;
    original.after(script);
  }
  // An embed (`data-src`) loads only once its service is allowed. Until then a placeholder of
  // its size takes its place (so nothing on the page moves), names the service and can allow it
  // alone; the embed waits off the page, which also unloads it when its service is withdrawn.
  function embed(element) {
    var s = service(element.getAttribute('data-biscotte-service')), holder = element.biscotte;
    if (serviceAllowed(s)) {
      if (holder) {
        holder.replaceWith(element);
        held.splice(held.indexOf(element), 1);
        element.biscotte = 0;
      }
      if (element.getAttribute('src') != element.getAttribute('data-src')) element.src = element.getAttribute('data-src');
    } else if (s && !holder) {
      var box = element.getBoundingClientRect();
      holder = element.biscotte = el(0, 'div', { lang: P.lang, 'data-biscotte-embed': s.id });
      holder.style.cssText = 'display:inline-block;vertical-align:top;width:' + (box.width || 300) + 'px;height:' + (box.height || 150) + 'px';
      var inner = holder.attachShadow({ mode: 'open' });
      style(inner);
      var panel = el(inner, 'div', { 'class': 'embed', role: 'region', 'aria-label': s.name });
      el(panel, 'p', { 'class': 'name' }, s.name + ' — ' + s.provider);
      el(panel, 'p', 0, T[T_EMBED]);
      el(panel, 'button', { type: 'button', 'class': 'choice' }, T[T_ALLOW] + ' ' + s.name).onclick = function () {
        decide('embed', function (id, isService) { return isService ? id == s.id || serviceAllowed(service(id)) : categoryAllowed(id); });
      };
      element.replaceWith(holder);
      held.push(element);
    }
  }

  // The banner's drawing. Every text is set as text, never parsed as HTML.
  function el(parent, tag, attributes, text) {
    var element = D.createElement(tag);
    for (var name in attributes) element.setAttribute(name, attributes[name]);
    if (text) element.textContent = text;
    if (parent) parent.appendChild(element);
    return element;
  }
  // The styles as a constructed sheet: a page's CSP `style-src` governs `<style>` elements but
  // not constructed sheets. A browser without them (Safari before 16.4) gets a `<style>` element.
  function style(shadow) {
    var css = __BISCOTTE_CSS__;
    try {
      if (!sheet) {
        sheet = new CSSStyleSheet();
        sheet.replaceSync(css);
      }
      shadow.adoptedStyleSheets = [sheet];
    } catch (e) {
      el(shadow, 'style', 0, css);
    }
  }
  function shown() {
    return root.querySelector('[role=dialog]');
  }
  // A fresh dialog with its header (title and close control), replacing any shown. The first
  // layer is non-modal (the page stays usable: no keyboard cookie wall); the panel is modal.
  function dialog(layer, modal) {
    var old = shown();
    if (old) old.remove();
    var d = el(0, 'div', { 'class': 'card', role: 'dialog', 'aria-labelledby': 'biscotte-title', tabindex: '-1', 'data-biscotte-layer': layer, lang: P.lang });
    if (modal) d.setAttribute('aria-modal', 'true');
    var head = el(d, 'div', { 'class': 'head' });
    el(head, 'h2', { id: 'biscotte-title', 'class': 'title' }, T[T_TITLE]);
    el(head, 'button', { type: 'button', 'class': 'close', 'data-action': 'close', 'aria-label': T[T_CLOSE_LABEL] }, T[T_CLOSE]);
    return d;
  }
  // The row of equal buttons: same element, class and parent for each (LEGAL R10, R11).
  function choices(d, actions, texts) {
    var row = el(d, 'div', { 'class': 'choices' });
    actions.forEach(function (action, i) {
      el(row, 'button', { type: 'button', 'class': 'choice', 'data-action': action }, T[texts[i]]);
    });
  }
  function present(d, focus) {
    root.appendChild(d);
    manage.hidden = true;
    // Focus is a courtesy: a refusal by the browser changes nothing.
    if (focus) d.focus();
  }
  // The first layer: title, text, policy link, the three equal choices, the close control, and
  // what Escape does. `focus` moves the keyboard focus into it, for openings the visitor asked for.
  function first(focus) {
    var d = dialog('first');
    d.setAttribute('aria-describedby', 'biscotte-body');
    el(d, 'p', { id: 'biscotte-body', 'class': 'body' }, T[T_BODY]);
    if (P.policy) el(el(d, 'p', { 'class': 'links' }), 'a', { 'class': 'policy', href: P.policy }, T[T_POLICY]);
    choices(d, ['accept_all', 'reject_all', 'customize'], [T_ACCEPT, T_REJECT, T_CUSTOMIZE]);
    el(d, 'p', { 'class': 'hint' }, T[T_ESCAPE]);
    present(d, focus);
  }
  function toggle(parent, attribute, id, on, required) {
    var box = el(parent, 'input', { type: 'checkbox', role: 'switch' });
    box.setAttribute(attribute, id);
    box.checked = on;
    box.disabled = required;
    return box;
  }
  // The panel: each category with its purpose and switch, each of its services with provider,
  // policy link, switch and cookies; then save, accept all, refuse all. Nothing is on that the
  // choice in force did not say yes to (LEGAL R07).
  function second() {
    var d = dialog('second', 1), list = el(d, 'ul', { 'class': 'categories' });
    P.cats.forEach(function (c) {
      var item = el(list, 'li', { 'class': 'category' }), label = el(item, 'label', { 'class': 'switch' });
      toggle(label, 'data-category', c.id, categoryAllowed(c.id), c.req);
      var name = el(label, 'span', { 'class': 'name' }, c.title);
      if (c.req) el(name, 'span', { 'class': 'always' }, T[T_ALWAYS]);
      el(label, 'span', { 'class': 'desc' }, c.desc);
      var services = P.svcs.filter(function (s) { return s.cat == c.id; });
      // Technical cookies need no declared service (the site's session, this choice).
      if (!services.length && !c.req) el(item, 'p', { 'class': 'none' }, T[T_NO_SERVICE]);
      var lines = services.length && el(item, 'ul', { 'class': 'services' });
      services.forEach(function (s) {
        var line = el(lines, 'li'), label = el(line, 'label', { 'class': 'switch' });
        toggle(label, 'data-service', s.id, serviceAllowed(s), c.req).setAttribute('data-in', c.id);
        el(label, 'span', { 'class': 'service' }, s.name);
        el(label, 'span', { 'class': 'desc' }, s.provider);
        if (s.url) el(line, 'a', { href: s.url, target: '_blank', rel: 'noopener noreferrer', 'aria-label': T[T_PRIVACY] + ' : ' + s.name }, T[T_PRIVACY]);
        var cookies = s.cookies.length && el(line, 'ul', { 'class': 'cookies', 'aria-label': T[T_COOKIES] + ' ' + s.name });
        s.cookies.forEach(function (k) {
          el(cookies, 'li', 0, k.name + ' · ' + k.days + ' ' + T[T_DAYS] + ' · ' + k.purpose + (k.hidden ? ' · ' + T[T_BY_SERVICE] : ''));
        });
      });
    });
    choices(d, ['save', 'accept_all', 'reject_all'], [T_SAVE, T_ACCEPT, T_REJECT]);
    present(d, 1);
  }
  // Removes the dialog and shows the manage button; the focus goes back where it was before the
  // panel opened, else to the manage button when it was on the banner.
  function close() {
    var d = shown(), had = root.activeElement;
    if (d) d.remove();
    placeManage();
    if (opener && opener.isConnected && opener.getRootNode() != root) opener.focus();
    else if (had) manage.focus();
    opener = 0;
  }
  // The manage button shows whenever no dialog does, except that "off" hides it on pages that
  // carry their own `data-biscotte-open` element (which may be parsed after the banner started).
  function placeManage() {
    manage.hidden = !!shown() || (P.manage == 'off' && !!D.querySelector('[data-biscotte-open]'));
  }
  function checked(attribute, id) {
    var box = root.querySelector('[' + attribute + '="' + id + '"]');
    return !!box && box.checked;
  }
  // A decision: the page first (refused services lose their cookies and keys at once, and those
  // that stay readable go with the decision), then the engine (the consent cookie and the log),
  // then the page follows it and hears of it. `yes(id, isService)` is the visitor's answer.
  function decide(method, yes) {
    var accepted = P.cats.filter(function (c) { return !c.req && yes(c.id, 0); })
      .concat(P.svcs.filter(function (s) { return !category(s.cat).req && yes(s.id, 1); }))
      .map(function (x) { return x.id; });
    var left = sweep(function (s) { return category(s.cat).req || accepted.indexOf(s.id) >= 0; });
    close();
    wasm_bindgen.decide(method, accepted.join(' '), left.join(' '));
    apply();
    D.dispatchEvent(new CustomEvent('biscotte:consent', { bubbles: true, detail: consent() }));
  }
  function act(action) {
    if (!P) return;
    if (action == 'manage') first(1);
    else if (action == 'customize') second();
    else if (action == 'save') decide('custom', function (id, isService) { return checked(isService ? 'data-service' : 'data-category', id); });
    else if (/^(accept_all|reject_all|close|gpc)$/.test(action)) decide(action, function () { return action == 'accept_all'; });
  }
  function consent() {
    var choice = null;
    if (P) {
      wasm_bindgen.consent();
      choice = JSON.parse(given);
    }
    if (choice) {
      choice.receipt = answer.receipt || null;
      choice.proof = answer.proof || null;
    }
    return choice;
  }
  // The page's API: `open()` shows the choices again (to change or withdraw them); `consent()` is
  // the choice in force ({method, categories, services, receipt, proof}) or null, `receipt` and
  // `proof` being null until the server has answered that decision (on this page or an earlier
  // one); `accepted(id)` says whether a service or category may run; `acceptAll()` and
  // `rejectAll()` decide as the buttons do.
  window.Biscotte = {
    open: function () {
      opener = D.activeElement;
      act('manage');
    },
    consent: consent,
    accepted: function (id) {
      return !!P && (service(id) ? serviceAllowed(service(id)) : categoryAllowed(id));
    },
    acceptAll: function () { act('accept_all'); },
    rejectAll: function () { act('reject_all'); }
  };

  // The host element, first in the body so that the banner comes first in the keyboard order,
  // with an open shadow root (tests and assistive tools reach into it).
  function mount() {
    var host = el(0, 'div', { id: 'biscotte', lang: P.lang });
    root = host.attachShadow({ mode: 'open' });
    style(root);
    D.body.prepend(host);
    manage = el(root, 'button', { type: 'button', 'class': 'manage ' + (P.manage == 'right' ? 'right' : 'left'), 'data-action': 'manage', hidden: '' }, T[T_MANAGE]);
    // One listener for every control of the banner, read from `data-action`.
    root.addEventListener('click', function (event) {
      var control = event.target.closest('[data-action]');
      if (control) {
        if (control == manage) opener = control;
        act(control.getAttribute('data-action'));
      }
    });
    // A category's switch sets its services; a service's switch leaves its category on only
    // when all its services are (mixed shows as such).
    root.addEventListener('change', function (event) {
      var box = event.target, id = box.getAttribute('data-category') || box.getAttribute('data-in');
      var services = all('[data-in="' + id + '"]', root), on = services.filter(function (s) { return s.checked; }).length;
      if (box.hasAttribute('data-category')) {
        services.forEach(function (s) { s.checked = box.checked; });
      } else {
        box = root.querySelector('[data-category="' + id + '"]');
        box.checked = on == services.length;
        box.indeterminate = on > 0 && on < services.length;
      }
    });
    D.addEventListener('keydown', function (event) {
      var d = shown();
      if (!d) return;
      // Escape closes the banner, which is a refusal (the first layer says so).
      if (event.key == 'Escape') return act('close');
      // The panel keeps the focus inside while it is open.
      if (event.key == 'Tab' && d.getAttribute('aria-modal')) {
        var stops = all('button,a[href],input:not(:disabled)', d), at = stops.indexOf(root.activeElement);
        var to = event.shiftKey ? (at <= 0 ? stops.length - 1 : -1) : (at < 0 || at == stops.length - 1 ? 0 : -1);
        if (to >= 0) {
          event.preventDefault();
          stops[to].focus();
        }
      }
    });
    // Any element of the page marked `data-biscotte-open` reopens the choices.
    D.addEventListener('click', function (event) {
      if (event.target.closest && event.target.closest('[data-biscotte-open]')) {
        event.preventDefault();
        Biscotte.open();
      }
    });
  }

  function start(text) {
    var answer = wasm_bindgen.start(text);
    if (!answer) return;
    P = readProjection(text);
    T = P.t;
    mount();
    // Decisions that earlier pages could not send go first, before any made on this one.
    queue = outboxParse(load(OUTBOX_KEY) || '', Date.now()).concat(queue);
    inForce = queue[queue.length - 1];
    next();
    google = window.dataLayer || P.svcs.some(function (s) { return s.modes.length; });
    if (google) {
      consentMode('default');
      // No Google cookie past 13 months (395 days), whatever the tag's default.
      gtag('set', { cookie_expires: COOKIE_MAX_DAYS * 86400 });
    }
    // A returning visitor's scripts run first; a new visitor's banner shows first.
    if (answer == 2 && navigator.globalPrivacyControl) {
      // Global Privacy Control is a refusal of everything optional; the panel can still opt in.
      act('gpc');
    } else if (answer == 2) {
      first();
      apply();
    } else {
      apply();
      close();
    }
    // The proof kept with the choice in force; none once no choice is (expired, a new policy).
    keep(state && load(PROOF_KEY));
    // Gated scripts and embeds added later (the rest of the document, single-page apps) too, and
    // a page's own manage link.
    new MutationObserver(function () {
      gate();
      placeManage();
    }).observe(D.documentElement, { childList: true, subtree: true });
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
      if (D.body) return start(loaded[0]);
      new MutationObserver(function (_, observer) {
        if (D.body) {
          observer.disconnect();
          start(loaded[0]);
        }
      }).observe(D.documentElement, { childList: true });
    })
    .catch(function (error) {
      fail((error && error.message) || String(error));
    });
})();
