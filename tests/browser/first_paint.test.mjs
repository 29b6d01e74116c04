// The first paint (issue 13): the site's loader (`/sites/<site>/biscotte.js`) carries the site's
// projection, so that a first visit's banner waits for one request and a returning visitor's
// accepted scripts for none. The engine still records every decision, also a click made before
// it started. Row ids (R01…) refer to ../shared/LEGAL.md.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  start, firstLayer, button, consentCookie, stubsRan, bannerShown, engineReady, recordsOf,
} from './harness.mjs';

let env;
before(async () => { env = await start(); });
after(async () => { await env?.stop(); });

const consentIdOf = (cookie) => cookie.value.split('|')[1];

/** Every request the page makes to the Biscotte server, as `METHOD path?query`. */
function serverRequests(page) {
  const seen = [];
  page.on('request', (r) => {
    if (r.url().startsWith(env.base)) {
      const url = new URL(r.url());
      seen.push(`${r.method()} ${url.pathname}${url.search}`);
    }
  });
  return seen;
}

/** Keeps in `window.gatedAt` when the loader first started a gated script on each page. */
async function timeGating(context) {
  await context.addInitScript(() => {
    new MutationObserver((_, observer) => {
      if (document.querySelector('[data-biscotte-ran]')) {
        window.gatedAt = performance.now();
        observer.disconnect();
      }
    }).observe(document, { attributes: true, subtree: true, attributeFilter: ['data-biscotte-ran'] });
  });
}

/** DevTools network latency for every request that leaves the browser (answers from the HTTP
 * cache are not delayed), as the bench's mobile profile applies it. */
async function slowNetwork(context, page, latency) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency, downloadThroughput: -1, uploadThroughput: -1 });
  return cdp;
}

test('a first visit draws the banner from the site\'s loader alone, before the engine starts; a click made first is recorded once it has (R01)', async () => {
  const { context, page } = await env.visitor();
  const seen = serverRequests(page);
  // The engine is held back until the test lets it go.
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  await page.route(`${env.base}/assets/*.wasm`, async (route) => {
    await held;
    await route.continue();
  });
  await page.goto(`${env.second}/demo/?q=secret#part`);
  await bannerShown(page);
  assert.deepEqual(seen.filter((r) => !r.includes('/assets/')), ['GET /sites/demo/biscotte.js'],
    'the banner needed the site\'s loader and nothing else: no projection request');
  assert.deepEqual(await stubsRan(page), { ga: false, hotjar: false });
  assert.equal(await page.evaluate(() => window.Biscotte.consent()), null, 'no choice before the engine runs');

  await button(page, 'accept_all').click();
  await firstLayer(page).waitFor({ state: 'detached' });
  assert.equal(await consentCookie(context), undefined, 'nothing is written before the engine starts');
  assert.deepEqual(await stubsRan(page), { ga: false, hotjar: false }, 'nothing runs before the decision is recorded');

  release();
  await page.waitForFunction(() => window.biscotteDemo?.ga && window.biscotteDemo?.hotjar, null, { timeout: 10_000 });
  const cookie = await consentCookie(context);
  assert.ok(cookie, 'the engine wrote the choice the visitor clicked before it started');
  const [record] = await recordsOf(env, consentIdOf(cookie), 1);
  assert.equal(record.method, 'accept_all');
  assert.equal(record.url, `${env.second}/demo/`, 'the page address leaves without its query string or fragment');
  assert.ok(seen.every((r) => !r.includes('q=secret')), 'the query string never leaves the page');
  await context.close();
});

test('a returning visitor\'s accepted scripts run from what the browser holds, before the revision check answers', async () => {
  const { context, page } = await env.visitor();
  await timeGating(context);
  await page.goto(`${env.second}/demo/`);
  await bannerShown(page);
  await button(page, 'accept_all').click();
  await page.waitForFunction(() => window.biscotteDemo?.ga);
  await page.close();

  // Every request that leaves the browser now takes 1.5 s; what the browser holds (the site's
  // loader, the engine) does not.
  const next = await context.newPage();
  await slowNetwork(context, next, 1500);
  const seen = serverRequests(next);
  await next.goto(`${env.second}/demo/produits.html`);
  await next.waitForFunction(() => window.biscotteDemo?.ga && window.biscotteDemo?.hotjar, null, { timeout: 10_000 });
  const timing = await next.waitForFunction(() => {
    const check = performance.getEntriesByType('resource').find((e) => e.name.includes('have='));
    return check?.responseEnd > 0 && { started: window.gatedAt, checked: check.responseEnd };
  }, null, { timeout: 10_000 }).then((h) => h.jsonValue());
  assert.ok(seen.some((r) => r.startsWith('GET /api/v1/sites/demo/banner?lang=fr&have=')), `the revision is checked: ${seen.join(', ')}`);
  assert.ok(timing.started < timing.checked - 1000, `the gated scripts started (${timing.started} ms) before the check answered (${timing.checked} ms)`);
  assert.equal(await firstLayer(next).count(), 0, 'no banner: the choice holds');
  await context.close();
});

test('a returning visitor on a site that waits for the check: the scripts run only once it answers ([consent.banner] wait_for_check)', async () => {
  const site = structuredClone(env.site);
  site.consent.banner = { ...(site.consent.banner ?? {}), wait_for_check: true };
  await env.publish(site);
  try {
    const { context, page } = await env.visitor();
    await page.goto(`${env.second}/demo/`);
    await bannerShown(page);
    await button(page, 'accept_all').click();
    await page.waitForFunction(() => window.biscotteDemo?.ga);
    await page.close();

    await timeGating(context);
    const next = await context.newPage();
    await slowNetwork(context, next, 800);
    await next.goto(`${env.second}/demo/produits.html`);
    await next.waitForFunction(() => window.biscotteDemo?.ga, null, { timeout: 10_000 });
    const timing = await next.evaluate(() => ({
      started: window.gatedAt,
      checked: performance.getEntriesByType('resource').find((e) => e.name.includes('have='))?.responseEnd,
    }));
    assert.ok(timing.checked > 0 && timing.started >= timing.checked, `the gated scripts started (${timing.started} ms) after the check answered (${timing.checked} ms)`);
    await context.close();
  } finally {
    await env.publish(env.site);
  }
});

test('a publication that needs asking shows the banner on the returning visitor\'s same page, from the check (R22)', async () => {
  const { context, page } = await env.visitor();
  await page.goto(`${env.second}/demo/`);
  await bannerShown(page);
  await button(page, 'reject_all').click();
  await firstLayer(page).waitFor({ state: 'detached' });

  const withYoutube = structuredClone(env.site);
  withYoutube.consent.services.push({
    id: 'youtube', name: 'YouTube', provider: 'Google Ireland Limited', category: 'third_party',
    privacy_policy_url: 'https://policies.google.com/privacy', cookies: [],
  });
  const { published } = await env.publish(withYoutube);
  try {
    const next = await context.newPage();
    const seen = serverRequests(next);
    await next.goto(`${env.second}/demo/produits.html`);
    await bannerShown(next);
    assert.ok(seen.some((r) => r.includes('have=')), 'the page asked whether its revision is the live one');
    await button(next, 'reject_all').click();
    const mine = await recordsOf(env, consentIdOf(await consentCookie(context)), 2);
    assert.equal(mine.at(-1).revision, published.revision, 'the decision names the new revision');
    assert.equal(mine.at(-1).services.youtube, false);
    await context.close();
  } finally {
    await env.publish(env.site);
  }
});

test('the first tag (/biscotte.js with data-site) still works, and an English page gets English texts from the site\'s loader', async () => {
  const { context, page } = await env.visitor();
  // A page answered by the test itself is on the Biscotte origin: Chromium lets no page of unknown
  // address space (a fulfilled route) load from loopback.
  await page.route(`${env.base}/demo/first-tag.html`, async (route) => {
    const home = await (await fetch(`${env.base}/demo/`)).text();
    const tag = '<script src="/sites/demo/biscotte.js" async fetchpriority="high"></script>';
    assert.ok(home.includes(tag));
    await route.fulfill({ contentType: 'text/html; charset=utf-8', body: home.replace(tag, '<script src="/biscotte.js" data-site="demo" async></script>') });
  });
  const seen = serverRequests(page);
  await page.goto(`${env.base}/demo/first-tag.html`);
  await bannerShown(page);
  assert.ok(seen.includes('GET /biscotte.js') && seen.some((r) => r.startsWith('GET /api/v1/sites/demo/banner?lang=fr')), seen.join(', '));
  await button(page, 'reject_all').click();
  await engineReady(page);
  assert.equal((await consentCookie(context))?.value.split('|')[0], '1');

  const english = await context.newPage();
  const seenEn = serverRequests(english);
  await english.goto(`${env.second}/demo/en.html`);
  await engineReady(english);
  assert.ok(seenEn.every((r) => !r.includes('/banner?')), `the English page's loader carried its texts: ${seenEn.join(', ')}`);
  await context.close();
});
