// Decisions and the page's API: what a click does, what the page follows, what `window.Biscotte`
// offers.

import wasm_bindgen from 'biscotte:glue';
import { D, given } from './host.js';
import { category, categoryAllowed, service, serviceAllowed } from './choice.js';
import { consentMode } from './consent-mode.js';
import { age, sweep } from './deletion.js';
import { checked, close, first, reopen, second } from './dialogs.js';
import { gate } from './gating.js';
import { answer } from './outbox.js';
import { P, ready, setState, state } from './state.js';

/** What waits for the engine: decisions made before it started (the first layer is drawn
 * without it), recorded in order as soon as it has. */
export var waiting = [];

/** Makes the page follow the choice in force: refused services lose their cookies and keys,
 * allowed scripts and embeds start, Google's tags are told. */
export function apply() {
  wasm_bindgen.consent();
  setState(JSON.parse(given));
  sweep(serviceAllowed);
  age();
  gate();
  if (state) consentMode('update');
}
// A decision: the page first (refused services lose their cookies and keys at once, and those
// that stay readable go with the decision), then the engine (the consent cookie and the log),
// then the page follows it and hears of it. `yes(id, isService)` is the visitor's answer. Made
// before the engine has started, its second half waits for it: the click is not lost.
export function decide(method, yes) {
  var accepted = P.cats.filter(function (c) { return !c.req && yes(c.id, 0); })
    .concat(P.svcs.filter(function (s) { return !category(s.cat).req && yes(s.id, 1); }))
    .map(function (x) { return x.id; });
  var left = sweep(function (s) { return category(s.cat).req || accepted.indexOf(s.id) >= 0; });
  close();
  waiting.push(function () {
    wasm_bindgen.decide(method, accepted.join(' '), left.join(' '));
    apply();
    D.dispatchEvent(new CustomEvent('biscotte:consent', { bubbles: true, detail: consent() }));
  });
  if (ready) waiting.shift()();
}
export function act(action) {
  if (!P) return;
  if (action == 'manage') first(1);
  else if (action == 'customize') second();
  else if (action == 'save') decide('custom', function (id, isService) { return checked(isService ? 'data-service' : 'data-category', id); });
  else if (/^(accept_all|reject_all|close|gpc)$/.test(action)) decide(action, function () { return action == 'accept_all'; });
}
function consent() {
  var choice = null;
  if (ready) {
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
export function expose() {
  window.Biscotte = {
    open: reopen,
    consent: consent,
    accepted: function (id) {
      return !!P && (service(id) ? serviceAllowed(service(id)) : categoryAllowed(id));
    },
    acceptAll: function () { act('accept_all'); },
    rejectAll: function () { act('reject_all'); }
  };
}
