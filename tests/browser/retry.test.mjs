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
 * answer that status, `drop` closes the connection without an answer. Every decision that
 * arrives is noted.
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
    if (isDecision) proxy.decisions.push({ fault, referer: req.headers.referer, at: Date.now() });
    if (fault === 'drop') {
      req.socket.destroy();
      return;
    }
    if (fault === 503 || fault === 429 || fault === 400) {
      const headers = { 'content-type': 'application/json' };
      if (fault === 429) headers['retry-after'] = '2';
      res.writeHead(fault, headers).end(JSON.stringify({ error: { code: 'fault', message: `injected ${fault}` } }));
      req.resume();
      return;
    }
    const upstream = http.request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => req.socket.destroy());
    req.pipe(upstream);
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
