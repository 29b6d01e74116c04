// The outbox's rules (banner-wasm/js/outbox-rules.js), on their own: how unsent decisions are kept between
// pages, which answers call for another try, and when. The file is the one bundle.mjs puts in the
// loader; it runs here in Node (no browser needed), and retry.test.mjs drives it in Chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './harness.mjs';

import { outboxParse, outboxWrite, outboxPush, outcome, backoff, MAX_ENTRIES, MAX_DELAY_MS, VALIDITY_MS } from '../../banner-wasm/js/outbox-rules.js';

const NOW = 1_764_000_000_000;
const URL = 'http://127.0.0.1:8080/api/v1/sites/demo/consents';
const pending = (at, body) => ({ at, tries: 2, notBefore: at + 4000, url: URL, body });

test('the stored queue reads back in order', () => {
  const queue = [pending(NOW - 1000, '{"method":"accept_all","url":"https://a.fr/ b"}'), pending(NOW, '{"method":"reject_all"}')];
  assert.deepEqual(outboxParse(outboxWrite(queue), NOW), queue);
  assert.equal(outboxWrite(queue).split('\n')[0], `${NOW - 1000} 2 ${NOW + 3000} ${URL} {"method":"accept_all","url":"https://a.fr/ b"}`);
});

test('lines that do not read are dropped and the others kept', () => {
  const stored = ['garbage', `1 2 3 ${URL}`, `1 x 3 ${URL} {}`, `1 2 3 ${URL} notjson`, `-1 2 3 ${URL} {}`, outboxWrite([pending(NOW, '{}')])].join('\n');
  assert.deepEqual(outboxParse(stored, NOW), [pending(NOW, '{}')]);
  assert.deepEqual(outboxParse('', NOW), []);
});

test('decisions past the choice validity (182 days) are dropped', () => {
  assert.equal(VALIDITY_MS, 182 * 86_400_000);
  const queue = [pending(NOW - VALIDITY_MS, '{"old":1}'), pending(NOW - VALIDITY_MS + 1, '{"young":1}')];
  assert.deepEqual(outboxParse(outboxWrite(queue), NOW), [pending(NOW - VALIDITY_MS + 1, '{"young":1}')]);
});

test('a long queue keeps its newest decisions', () => {
  const queue = [];
  for (let i = 0; i < 20; i++) outboxPush(queue, pending(NOW + i, '{}'));
  assert.equal(queue.length, MAX_ENTRIES);
  assert.equal(queue[0].at, NOW + 4);
  assert.equal(queue.at(-1).at, NOW + 19);
});

test('only refusals for good are not tried again', () => {
  for (const [status, expected] of [[201, 1], [0, 0], [408, 0], [429, 0], [500, 0], [503, 0], [400, 2], [403, 2], [404, 2], [413, 2], [302, 2]]) {
    assert.equal(outcome(status), expected, `HTTP ${status}`);
  }
});

test('the backoff doubles with jitter and is capped', () => {
  assert.equal(backoff(1, '', 0), 500);
  assert.equal(backoff(1, '', 0.999999), 999);
  assert.equal(backoff(4, '', 0), 4000);
  assert.equal(backoff(4, null, 0.5), 6000);
  assert.equal(backoff(30, '', 0.5), MAX_DELAY_MS);
  assert.equal(backoff(Number.MAX_SAFE_INTEGER, '', 0.5), MAX_DELAY_MS);
});

test("the server's Retry-After in seconds is honoured up to the cap", () => {
  assert.equal(backoff(1, '7', 0.9), 7000);
  assert.equal(backoff(5, ' 0 ', 0.9), 0);
  assert.equal(backoff(1, '86400', 0), MAX_DELAY_MS);
  assert.equal(backoff(1, '-5', 0), 500);
  // An HTTP date is not read: the backoff applies.
  assert.equal(backoff(1, 'Wed, 21 Oct 2026 07:28:00 GMT', 0), 500);
});

// Issue 12: the server logs a decision once, by the `decision_id` the engine writes into its body
// (one per decision). The outbox never rewrites a body, so every try sends the id of its decision.
test('a decision keeps its body, decision id included, across tries and pages; the next decision keeps its own (R28)', () => {
  const decision = (method, id) => `{"consent_id":"0123456789abcdef0123456789abcdef","method":"${method}","language":"fr","decision_id":"${id}"}`;
  const first = decision('accept_all', 'fedcba98765432100123456789abcdef');
  let queue = [];
  outboxPush(queue, { at: NOW, tries: 0, notBefore: 0, url: URL, body: first });
  // A try the server did not answer: counted, and put off as the loader does.
  queue[0].tries++;
  queue[0].notBefore = NOW + backoff(queue[0].tries, '', 0.5);
  // The next page reads the queue back and adds a change of mind.
  queue = outboxParse(outboxWrite(queue), NOW + 1000);
  const second = decision('reject_all', '00112233445566778899aabbccddeeff');
  outboxPush(queue, { at: NOW + 1000, tries: 0, notBefore: 0, url: URL, body: second });
  const read = outboxParse(outboxWrite(queue), NOW + 2000);
  assert.deepEqual(read.map((p) => p.body), [first, second], 'sent byte for byte as the engine wrote them');
  assert.deepEqual(read.map((p) => JSON.parse(p.body).decision_id), ['fedcba98765432100123456789abcdef', '00112233445566778899aabbccddeeff']);
  assert.equal(read[0].tries, 1);
});

test('an entry written before decisions had ids still reads back, and is sent as it was', () => {
  const old = '{"consent_id":"0123456789abcdef0123456789abcdef","method":"close","language":"en"}';
  const stored = `${NOW - 86_400_000} 3 ${NOW} ${URL} ${old}\n`;
  assert.deepEqual(outboxParse(stored, NOW), [{ at: NOW - 86_400_000, tries: 3, notBefore: NOW, url: URL, body: old }]);
});
