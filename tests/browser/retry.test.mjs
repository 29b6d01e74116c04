// The banner keeps its promise when the server says no for now: a decision answered 503 or 429,
// or not answered at all, applies on the page at once and reaches the log once the server
// recovers, from the same page or from the next one. The faults are real network faults, made by
// a small proxy between the browser and the real server; the log is read from the real server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { start, button, bannerShown, engineReady, consentCookie, stubsRan, recordsOf } from './harness.mjs';

const PENDING = 'biscotte.pending';

/**
 * A proxy on 127.0.0.1 in front of the Biscotte server. Only decisions (`POST …/consents`) are
 * faulted, as `fault` says: `null` passes them, `503`, `400` and `429` (with `Retry-After: 2`)
 * answer that status, `drop` closes the connection without an answer, `lose` passes the decision
 * to the server and closes the connection once the server has answered, the answer kept here
 * and lost for the page. Every decision that arrives is noted, with its body.
 */
function startProxy(target) {
  const proxy = {
    fault: null,
    decisions: [],
    base: '',
  };
  const server = http.createServer((req, res) => {
    const isDecision = req.method === 'POST' && /\/consents$/.test(req.url);
    const fault = isDecision ? proxy.fault : null;
    const noted = { fault, referer: req.headers.referer, at: Date.now(), body: null, lost: null };
    if (isDecision) proxy.decisions.push(noted);
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (isDecision) noted.body = JSON.parse(body.toString('utf8'));
      if (fault === 'drop') {
        req.socket.destroy();
        return;
      }
      if (fault === 503 || fault === 429 || fault === 400) {
        const headers = { 'content-type': 'application/json' };
        if (fault === 429) headers['retry-after'] = '2';
        res.writeHead(fault, headers).end(JSON.stringify({ error: { code: 'fault', message: `injected ${fault}` } }));
        return;
      }
      // Asked for the identity encoding, so that a lost answer can be read here.
      const headers = fault === 'lose' ? { ...req.headers, 'accept-encoding': 'identity' } : req.headers;
      const upstream = http.request(`${target}${req.url}`, { method: req.method, headers }, (answer) => {
        if (fault === 'lose') {
          const parts = [];
          answer.on('data', (part) => parts.push(part));
          answer.on('end', () => {
            noted.lost = { status: answer.statusCode, body: Buffer.concat(parts).toString('utf8') };
            req.socket.destroy();
          });
          return;
        }
        res.writeHead(answer.statusCode, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => req.socket.destroy());
      upstream.end(body);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      proxy.base = `http://127.0.0.1:${server.address().port}`;
      proxy.close = () => new Promise((r) => { server.closeAllConnections(); server.close(r); });
      resolve(proxy);
    });
  });
}

let env;
let proxy;
before(async () => {
  env = await start();
  proxy = await startProxy(env.base);
  // The pages are served through the proxy, so its origin is the one the banner posts from.
  const site = structuredClone(env.site);
  site.site.origins.push(proxy.base);
  await env.publish(site);
});
after(async () => {
  await proxy?.close();
  await env?.stop();
});

const pending = (page) => page.evaluate((key) => localStorage.getItem(key), PENDING);
/** The server's answer the page keeps with the choice in force (README: `biscotte.proof`). */
const kept = (page) => page.evaluate(() => JSON.parse(localStorage.getItem('biscotte.proof')));
const DECISION_ID = /^[0-9a-f]{32}$/;
const consentIdOf = async (context) => (await consentCookie(context)).value.split('|')[1];

async function until(what, check, timeout = 10_000) {
  const end = Date.now() + timeout;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting until ${what}`);
}

for (const fault of [503, 429, 'drop']) {
  test(`a decision answered ${fault === 'drop' ? 'by a dropped connection' : `HTTP ${fault}`} applies at once and reaches the log when the server recovers`, async () => {
    const { context, page } = await env.visitor();
    proxy.fault = fault;
    const seen = proxy.decisions.length;
    await page.goto(`${proxy.base}/demo/`);
    await bannerShown(page);
    await button(page, 'accept_all').click();

    // The visitor's choice holds on the page at once, answer or not.
    await page.waitForFunction(() => window.biscotteDemo?.ga && window.biscotteDemo?.hotjar);
    const consentId = await consentIdOf(context);
    await until('the server refused the decision', () => proxy.decisions.length > seen);
    assert.equal((await env.records()).filter((r) => r.consent_id === consentId).length, 0, 'nothing logged yet');
    assert.match(await pending(page), new RegExp(`"consent_id":"${consentId}"`), 'kept for later');

    proxy.fault = null;
    const [record] = await recordsOf(env, consentId, 1);
    assert.equal(record.method, 'accept_all');
    assert.equal(record.url, `${proxy.base}/demo/`);
    await until('the page holds the receipt', () => page.evaluate(() => !!window.Biscotte.consent()?.receipt));
    // The next try waited: the server's Retry-After, else a backoff of at least half a second.
    const tries = proxy.decisions.slice(seen);
    const wait = tries.find((d) => d.fault === null).at - tries.findLast((d) => d.fault !== null).at;
    assert.ok(wait >= (fault === 429 ? 1_950 : 450), `tried again after ${wait} ms`);
    assert.equal(await pending(page), null, 'nothing left behind once the server has it');
    assert.equal((await env.records()).filter((r) => r.consent_id === consentId).length, 1, 'logged once');
    // Issue 12: every try carries the decision's own id, so the server can tell a retry.
    const ids = new Set(tries.map((d) => d.body.decision_id));
    assert.equal(ids.size, 1, `one decision id on every try: ${[...ids]}`);
    assert.match([...ids][0], DECISION_ID);
    await context.close();
  });
}

test('decisions left unsent when the visitor moves on are sent by the next page, in the order they were made', async () => {
  const { context, page } = await env.visitor();
  proxy.fault = 503;
  await page.goto(`${proxy.base}/demo/`);
  await bannerShown(page);
  await button(page, 'accept_all').click();
  await page.waitForFunction(() => window.biscotteDemo?.ga);
  const consentId = await consentIdOf(context);
  // A change of mind on the same page is a second record, queued behind the first.
  await page.locator('#biscotte [data-action="manage"]').click();
  await bannerShown(page);
  await button(page, 'reject_all').click();
  await until('both decisions are queued', async () => ((await pending(page)) ?? '').trim().split('\n').length === 2);
  assert.equal(await page.evaluate(() => Biscotte.consent().categories.analytics), false, 'the latest choice holds');

  await page.goto(`${proxy.base}/demo/produits.html`);
  await engineReady(page);
  const seen = proxy.decisions.length;
  proxy.fault = null;
  const records = await recordsOf(env, consentId, 2);
  assert.deepEqual(records.map((r) => r.method), ['accept_all', 'reject_all']);
  assert.ok(records.every((r) => r.url === `${proxy.base}/demo/`), 'each names the page where it was made');
  const delivered = proxy.decisions.slice(seen).filter((d) => d.fault === null);
  assert.equal(delivered.length, 2);
  assert.ok(delivered.every((d) => d.referer === `${proxy.base}/demo/produits.html`), 'sent by the next page');
  // Issue 12: each decision has an id of its own, which its tries on the first page and its
  // delivery from the next one all carry.
  const [acceptId, rejectId] = delivered.map((d) => d.body.decision_id);
  assert.match(acceptId, DECISION_ID);
  assert.match(rejectId, DECISION_ID);
  assert.notEqual(acceptId, rejectId, 'a new decision, a new id');
  const earlier = proxy.decisions.filter((d) => d.body?.consent_id === consentId && d.fault === 503);
  assert.ok(earlier.length >= 1, 'tried on the first page');
  assert.ok(earlier.every((d) => d.body.decision_id === (d.body.method === 'accept_all' ? acceptId : rejectId)), 'the same id on every try');
  await until('the queue is empty', async () => (await pending(page)) === null);
  await context.close();
});

test('a decision the server refuses for good (HTTP 400) is dropped, not sent again', async () => {
  const { context, page } = await env.visitor();
  proxy.fault = 400;
  const seen = proxy.decisions.length;
  await page.goto(`${proxy.base}/demo/`);
  await bannerShown(page);
  await button(page, 'reject_all').click();
  await until('the server refused the decision', () => proxy.decisions.length > seen);
  await until('the queue is empty', async () => (await pending(page)) === null);
  assert.deepEqual(await stubsRan(page), { ga: false, hotjar: false }, 'the refusal holds on the page');

  // The queue sends oldest first: had the refused decision stayed, it would go before this one.
  proxy.fault = null;
  await page.locator('#biscotte [data-action="manage"]').click();
  await bannerShown(page);
  await button(page, 'accept_all').click();
  const records = await recordsOf(env, await consentIdOf(context), 1);
  assert.deepEqual(records.map((r) => r.method), ['accept_all']);
  assert.deepEqual(proxy.decisions.slice(seen).map((d) => d.fault), [400, null], 'one try for the refused one');
  await context.close();
});

// Issue 12: the server logs a decision once. An answer lost on its way back (the decision is on
// the log, the page does not know it) makes the page send the decision again, with the same
// decision id; the server logs nothing new and answers with the first record's receipt.
test('r28 a decision whose answer is lost is logged once, and its retry gets the first record\'s receipt', async () => {
  const { context, page } = await env.visitor();
  proxy.fault = 'lose';
  const seen = proxy.decisions.length;
  await page.goto(`${proxy.base}/demo/`);
  await bannerShown(page);
  await button(page, 'accept_all').click();
  await until('the server answered and the answer was lost', () => proxy.decisions[seen]?.lost);
  proxy.fault = null;
  const consentId = await consentIdOf(context);
  await until('the page holds the receipt', () => page.evaluate(() => !!window.Biscotte.consent()?.receipt));

  const tries = proxy.decisions.slice(seen);
  assert.ok(tries.length >= 2, 'sent again');
  assert.equal(new Set(tries.map((d) => d.body.decision_id)).size, 1, 'with the same decision id');
  const lost = tries[0].lost;
  assert.equal(lost.status, 201, 'the first try was recorded');
  const first = JSON.parse(lost.body);
  const answer = await kept(page);
  assert.equal(answer.record_id, first.record_id, 'the retry is answered with the first record');
  assert.equal(await page.evaluate(() => Biscotte.consent().receipt), first.receipt, "and the first record's receipt");
  // The retry's answer came after the log was flushed: a second record would be there now.
  assert.equal((await env.records()).filter((r) => r.consent_id === consentId).length, 1, 'logged once');
  assert.equal(await pending(page), null);
  await context.close();
});
