// Issue 12: the server's answer to a decision (its receipt and, from the transparency log, an
// inclusion proof) stays with the choice it belongs to, so the visitor can get it from any later
// page: `Biscotte.consent()` gives `receipt` and `proof`, and `localStorage` keeps the answer under
// `biscotte.proof` (README, "Embed the banner"). Row ids refer to ../shared/LEGAL.md.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, button, bannerShown, engineReady } from './harness.mjs';

let env;
before(async () => { env = await start(); });
after(async () => { await env?.stop(); });

const PROOF_KEY = 'biscotte.proof';
const kept = (page) => page.evaluate((key) => JSON.parse(localStorage.getItem(key)), PROOF_KEY);
const consent = (page) => page.evaluate(() => Biscotte.consent());
/** The server's answer to the next decision the page sends. */
const nextAnswer = (page) => page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/consents'));

test('r28 the server\'s answer stays with the choice in force: on this page and the next, replaced by the next decision\'s, gone with the choice', async () => {
  const { context, page } = await env.visitor();
  await page.goto(`${env.base}/demo/`);
  await bannerShown(page);
  await page.evaluate(() => {
    window.heard = [];
    document.addEventListener('biscotte:consent', (e) => window.heard.push(e.detail));
  });
  const answered = nextAnswer(page);
  await button(page, 'accept_all').click();
  const response = await answered;
  assert.equal(response.status(), 201);
  const answer = await response.json();
  const [detail] = await page.evaluate(() => window.heard);
  assert.deepEqual(Object.keys(detail).sort(), ['categories', 'method', 'proof', 'receipt', 'services']);
  assert.deepEqual([detail.receipt, detail.proof], [null, null], 'the event comes before the answer');

  await page.waitForFunction(() => !!Biscotte.consent()?.receipt);
  let choice = await consent(page);
  assert.equal(choice.receipt, answer.receipt);
  assert.equal(choice.proof, answer.proof ?? null);
  assert.deepEqual(await kept(page), answer, 'kept as the server answered');

  // The next page gives the same, without asking the server.
  await page.goto(`${env.base}/demo/produits.html`);
  await engineReady(page);
  choice = await consent(page);
  assert.equal(choice.method, null, 'the cookie does not keep the method');
  assert.equal(choice.receipt, answer.receipt);
  assert.equal(choice.proof, answer.proof ?? null);

  // A new decision: the earlier answer is not its answer, at once; then its own comes.
  const answeredAgain = nextAnswer(page);
  const right = await page.evaluate((key) => {
    Biscotte.rejectAll();
    const c = Biscotte.consent();
    return [c.method, c.receipt, c.proof, localStorage.getItem(key)];
  }, PROOF_KEY);
  assert.deepEqual(right, ['reject_all', null, null, null]);
  const again = await (await answeredAgain).json();
  await page.waitForFunction(() => !!Biscotte.consent()?.receipt);
  assert.notEqual(again.receipt, answer.receipt);
  assert.equal((await consent(page)).receipt, again.receipt);
  assert.deepEqual(await kept(page), again);

  // Without the consent cookie (it lives as long as the choice, 182 days) no choice is in force:
  // the answer goes too.
  await page.evaluate(() => { document.cookie = 'biscotte=; Max-Age=0; Path=/'; });
  await page.goto(`${env.base}/demo/`);
  await bannerShown(page);
  assert.equal(await consent(page), null);
  assert.equal(await page.evaluate((key) => localStorage.getItem(key), PROOF_KEY), null);
  await context.close();
});

test('when the browser refuses localStorage, the answer is kept for its page only', async () => {
  const { context, page } = await env.visitor();
  // As when the page's storage is blocked: every access throws.
  await page.addInitScript(() => {
    Object.defineProperty(window, 'localStorage', { get() { throw new DOMException('refused for the test', 'SecurityError'); } });
  });
  await page.goto(`${env.base}/demo/`);
  await bannerShown(page);
  const answered = nextAnswer(page);
  await button(page, 'accept_all').click();
  const answer = await (await answered).json();
  await page.waitForFunction(() => !!Biscotte.consent()?.receipt);
  assert.equal((await consent(page)).receipt, answer.receipt);
  assert.equal((await consent(page)).proof, answer.proof ?? null);

  await page.goto(`${env.base}/demo/produits.html`);
  await engineReady(page);
  const choice = await consent(page);
  assert.equal(choice.categories.analytics, true, 'the choice holds (the cookie)');
  assert.deepEqual([choice.receipt, choice.proof], [null, null], 'its answer stayed on the first page');
  await context.close();
});

// Waits for the server's transparency log (issue 12, point 5): until then the answer has no proof.
test('r28 a decision is answered with its inclusion proof, which the page gives with the choice on every later page', async () => {
  const { context, page } = await env.visitor();
  await page.goto(`${env.base}/demo/`);
  await bannerShown(page);
  const answered = nextAnswer(page);
  await button(page, 'reject_all').click();
  const answer = await (await answered).json();
  assert.equal(typeof answer.leaf_index, 'number', JSON.stringify(answer));
  assert.match(answer.leaf_hash, /^[0-9a-f]{64}$/);
  assert.equal(typeof answer.proof, 'string');
  assert.ok(answer.proof.includes(`\nindex ${answer.leaf_index}\n`), answer.proof);
  assert.ok(answer.proof.includes('\n\n'), 'a checkpoint follows the hashes');

  await page.waitForFunction(() => !!Biscotte.consent()?.proof);
  assert.equal((await consent(page)).proof, answer.proof);
  await page.goto(`${env.base}/demo/produits.html`);
  await engineReady(page);
  assert.equal((await consent(page)).proof, answer.proof);
  assert.equal((await kept(page)).proof, answer.proof);
  await context.close();
});
