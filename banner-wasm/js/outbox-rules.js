// The outbox's rules: decisions the server has not acknowledged yet, how they are kept between
// pages (one `localStorage` entry, `biscotte.pending`, README "Embed the banner"), which answers
// call for another try, and when. Pure functions, tested on their own by tests/browser/outbox.test.mjs;
// outbox.js does the storing, timers and requests.
// They moved here from the wasm, where they weighed 1.85 KB brotli against about 0.4 KB here.
//
// Every decision is a record of the log, so none replaces another: the queue keeps them in the
// order they were made and sends them one at a time, oldest first.

import { CHOICE_DAYS, DAY_MS } from './constants.js';

/** Tries per decision, across pages, before it is given up with a warning. */
export var MAX_TRIES = 16;
/** Decisions kept at most; decisions are rare, so more means something is wrong: the oldest go. */
export var MAX_ENTRIES = 16;
/** No wait is longer, whatever the server's `Retry-After` says: a page rarely lives longer. */
export var MAX_DELAY_MS = 300000;
/** A decision older than the choice's validity (182 days) no longer holds: it is dropped. */
export var VALIDITY_MS = CHOICE_DAYS * DAY_MS;

/** Reads the stored queue: one decision per line, `decided_at tries not_before url body`, times in
 * ms since the epoch. The body is the engine's JSON, which escapes every control character, so it
 * holds no line break. A line that does not read is dropped, never sent; so is a decision past
 * the choice's validity. */
export function outboxParse(stored, now) {
  var queue = [];
  stored.split('\n').forEach(function (line) {
    var m = /^(\d{1,16}) (\d{1,16}) (\d{1,16}) (\S+) (\{.*)$/.exec(line);
    if (m && now - m[1] < VALIDITY_MS) {
      queue.push({ at: +m[1], tries: +m[2], notBefore: +m[3], url: m[4], body: m[5] });
    }
  });
  return queue;
}

export function outboxWrite(queue) {
  return queue.map(function (p) {
    return [p.at, p.tries, p.notBefore, p.url, p.body].join(' ') + '\n';
  }).join('');
}

/** Adds a decision at the end; beyond what a queue of rare events should hold, the oldest goes. */
export function outboxPush(queue, pending) {
  if (queue.length >= MAX_ENTRIES) queue.shift();
  queue.push(pending);
}

/** What an answer means for the decision sent: 1 on the log; 0 not now (408, 429, 5xx, or no
 * answer at all, status 0): try again later; 2 never: the server read it and refused it, and
 * would only refuse it again. */
export function outcome(status) {
  if (status >= 200 && status < 300) return 1;
  return !status || status == 408 || status == 429 || (status >= 500 && status < 600) ? 0 : 2;
}

/** How long to wait before try number `tries + 1`: the server's `Retry-After` when it gives
 * seconds, else an exponential backoff (1 s, 2 s, 4 s, …) with jitter, so that the visitors of a
 * server that was down do not all come back in the same second; never more than MAX_DELAY_MS.
 * `random` is in [0, 1). */
export function backoff(tries, retryAfter, random) {
  var secs = /^\s*(\d+)\s*$/.exec(retryAfter || '');
  var wait = secs
    ? secs[1] * 1000
    : 1000 * Math.pow(2, Math.min(Math.max(tries - 1, 0), 20)) * (0.5 + random / 2);
  return Math.floor(Math.min(wait, MAX_DELAY_MS));
}
