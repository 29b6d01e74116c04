// The outbox (outbox-rules.js has its rules): a decision the server does not take now (429, 5xx,
// no answer) waits in `localStorage` and is sent again with backoff, on this page and on the next
// ones. Storage may be refused (third-party storage blocked): then it lives for this page.

import { load, put } from './host.js';
import { api } from './state.js';
import { MAX_DELAY_MS, MAX_TRIES, backoff, outboxParse, outboxPush, outboxWrite, outcome } from './outbox-rules.js';

export var OUTBOX_KEY = 'biscotte.pending', PROOF_KEY = 'biscotte.proof';
// `inForce` is the outbox entry of the latest decision, the choice in force: only its answer is
// kept. `answer` is the server's answer to that choice (its receipt and inclusion proof), kept
// in PROOF_KEY so that later pages give it too.
var queue = [], busy = false, inForce;
export var answer = {};
function save() {
  put(OUTBOX_KEY, outboxWrite(queue));
}
/** The engine's decision (its JSON body): queued and stored first, so that neither a refusal
 * for now nor leaving the page loses it. */
export function bRecord(body) {
  var last = queue[queue.length - 1];
  // Strictly after the previous one, so that its time names this decision alone.
  outboxPush(queue, inForce = { at: Math.max(Date.now(), last ? last.at + 1 : 0), tries: 0, notBefore: 0, url: api + '/consents', body: body });
  // The previous choice's proof is not this one's.
  keep(null);
  save();
  next();
}
/** Keeps the server's answer (JSON text) to the choice in force, or forgets it (null). */
export function keep(text) {
  try { answer = JSON.parse(text) || {}; } catch (e) {}
  put(PROOF_KEY, text);
}
/** Takes up the decisions that earlier pages could not send, before any made on this one. */
export function resume() {
  queue = outboxParse(load(OUTBOX_KEY) || '', Date.now()).concat(queue);
  inForce = queue[queue.length - 1];
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
// what the answer means (outbox-rules.js's `outcome`).
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
