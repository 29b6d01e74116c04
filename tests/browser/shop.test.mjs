// A visitor on the shop demo site (www/shop): pages on host names (www.shop.test), trackers and a
// YouTube-style embed on a third-party origin (127.0.0.3) that logs every request it gets.
// Row ids (R01…) refer to ../shared/LEGAL.md; the tests of issue 7 build on this ground.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { start, firstLayer, button, bannerShown, ROOT } from './harness.mjs';

let env;
before(async () => { env = await start({ shop: true }); });
after(async () => { await env?.stop(); });

// What the banner itself keeps on the page's origin, in localStorage (README, "Embed the banner"):
// `biscotte.pending` while a decision waits to be sent, `biscotte.seen` while cookies of declared
// services exist. Before any choice, on the shop: nothing.
const BANNER_STORAGE_KEYS = ['biscotte.pending', 'biscotte.seen', 'biscotte.proof'];
// The trackers the shop's privacy page must name as exempt (R32): the choice cookie and the
// banner's storage entries.
const EXEMPT_TRACKERS = ['biscotte', ...BANNER_STORAGE_KEYS];
const PAGES = ['', 'catalogue.html', 'recettes.html', 'confidentialite.html'];

/** Everything the page's origin keeps on the device, and whether any tracker ran. */
async function deviceState(context, page) {
  const stored = await page.evaluate(async () => ({
    local: Object.keys(localStorage).sort(),
    session: Object.keys(sessionStorage).sort(),
    indexedDB: (await indexedDB.databases()).map((d) => d.name),
    vendorsRan: Object.keys(window.shopVendors ?? {}).sort(),
    embeds: [...document.querySelectorAll('iframe')].map((f) => f.getAttribute('src')).filter(Boolean),
  }));
  const cookies = (await context.cookies()).map((c) => `${c.name} (${c.domain}${c.path})`).sort();
  return { cookies, ...stored };
}

const NOTHING = { cookies: [], local: [], session: [], indexedDB: [], vendorsRan: [], embeds: [] };

/** The third-party origin's log since `mark`, as "METHOD path" lines that read well in a failure. */
function thirdPartySince(mark) {
  return env.thirdPartyRequests().slice(mark).map((r) => `${r.method} ${r.path}${r.query}`);
}

/** Waits until the network is quiet, then 2 s more for anything late (LEGAL R01 waits 5 s on real sites). */
async function settle(page) {
  await page.waitForLoadState('networkidle');
  await page.waitForTimeout(2_000);
}

for (const path of PAGES) {
  test(`r01_r02_r03 a fresh visitor who does nothing on /shop/${path} gets no cookie, no storage key and sends nothing to the third-party origin`, async () => {
    const { context, page } = await env.visitor();
    const mark = env.thirdPartyRequests().length;
    await page.goto(env.shopUrl(path));
    await bannerShown(page);
    if (path === 'catalogue.html') {
      // The single-page app adds Hotjar and a video after the load: they must stay off too.
      await page.waitForSelector('html[data-shop-late-content="added"]');
    }
    await settle(page);
    // Not even the exempt `biscotte` cookie: no choice was made, so there is none to keep.
    assert.deepEqual(await deviceState(context, page), NOTHING);
    assert.deepEqual(thirdPartySince(mark), [], 'no request to the trackers\' origin');
    assert.ok(!page.frames().some((f) => f.url().startsWith(env.thirdParty)), 'no third-party frame loaded');
    await context.close();
  });
}

test('r02 trackers already on the device are not read before a choice: no tracker script runs and no request carries them', async () => {
  const { context, page } = await env.visitor();
  const mark = env.thirdPartyRequests().length;
  // A returning visitor's trackers from before (first-party on the parent domain, and the
  // third party's own), which only the trackers' scripts and requests would read.
  await context.addCookies([
    { name: '_ga', value: 'GA1.2.111.222', domain: '.shop.test', path: '/' },
    { name: '_hjSessionUser_42', value: 'seed', domain: '.shop.test', path: '/' },
    { name: 'fx_ads', value: 'seed', url: env.thirdParty },
  ]);
  await page.goto(env.shopUrl(''));
  await bannerShown(page);
  await settle(page);
  assert.deepEqual(thirdPartySince(mark), [], 'the third party never got a request, so never its cookie');
  assert.deepEqual(await page.evaluate(() => Object.keys(window.shopVendors ?? {})), [], 'no tracker script ran');
  await context.close();
});

test('r04_r05 scrolling, clicking the page, browsing four pages and ten idle minutes are not consent: still nothing stored, sent or logged', async () => {
  const { context, page } = await env.visitor();
  const mark = env.thirdPartyRequests().length;
  const recordsBefore = (await env.records('shop')).length;
  // Time is moved, not waited (STYLE.md): the page's clock is Playwright's.
  await page.clock.install();
  const stillNothing = async (step) => {
    await bannerShown(page);
    assert.deepEqual(await deviceState(context, page), NOTHING, `after ${step}`);
    assert.deepEqual(thirdPartySince(mark), [], `no request to the trackers' origin after ${step}`);
  };

  await page.goto(env.shopUrl(''));
  await bannerShown(page);
  await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
  await page.waitForFunction(() => window.scrollY > 0);
  await stillNothing('scrolling to the bottom');

  await page.locator('main h1').click();
  await page.locator('#bottom').click();
  await stillNothing('clicking the page outside the banner');

  await page.locator('main').getByRole('link', { name: 'Parcourir le catalogue' }).click();
  await page.waitForURL(/catalogue\.html/);
  await page.waitForSelector('html[data-shop-late-content="added"]');
  await stillNothing('following an internal link');

  // The single-page app's own navigation, without a page load.
  await page.locator('[data-aisle="epices"]').click();
  await page.waitForURL(/rayon=epices/);
  await stillNothing('browsing within the single-page catalogue');

  await page.locator('header').getByRole('link', { name: 'Recettes' }).click();
  await page.waitForURL(/recettes\.html/);
  await stillNothing('a third page');
  await page.locator('header').getByRole('link', { name: 'Confidentialité' }).click();
  await page.waitForURL(/confidentialite\.html/);
  await stillNothing('a fourth page');

  await page.clock.fastForward('10:00');
  await page.waitForLoadState('networkidle');
  await stillNothing('ten minutes without an action');
  assert.equal(await firstLayer(page).count(), 1, 'the banner is still there, waiting for an answer');

  assert.deepEqual((await env.records('shop')).slice(recordsBefore), [], 'no decision was logged for this visitor');
  await context.close();
});

test('r32 the privacy page names every exempt tracker, and every service the site declares', async () => {
  const { context, page } = await env.visitor();
  await page.goto(env.shopUrl('confidentialite.html'));
  const listed = await page.locator('[data-exempt-tracker]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-exempt-tracker')));
  assert.deepEqual(listed.sort(), [...EXEMPT_TRACKERS].sort());
  const text = await page.locator('main').innerText();
  for (const name of EXEMPT_TRACKERS) assert.ok(text.includes(name), `${name} is named on the page`);
  // The services as published: the catalogue's entries resolved with the site's overrides.
  const published = await (await fetch(`${env.base}/api/v1/sites/shop/config`)).json();
  const services = (published.config ?? published).services;
  assert.ok(services.length >= 4, JSON.stringify(published).slice(0, 200));
  for (const service of services) {
    assert.ok(text.includes(service.name), `${service.name} is named on the page`);
  }
  await context.close();
});

test('the page does not move when the banner appears: cumulative layout shift is 0 on the shop\'s pages', async () => {
  for (const path of ['', 'recettes.html']) {
    const { context, page } = await env.visitor();
    // Observing from the first byte: an init script runs before any of the page's own.
    await page.addInitScript(() => {
      window.shopLayoutShifts = [];
      new PerformanceObserver((list) => {
        for (const shift of list.getEntries()) {
          if (shift.hadRecentInput) continue;
          window.shopLayoutShifts.push({
            value: shift.value,
            moved: shift.sources.map((s) => s.node?.nodeName ?? '?'),
          });
        }
      }).observe({ type: 'layout-shift', buffered: true });
    });
    await page.goto(env.shopUrl(path));
    await bannerShown(page);
    await settle(page);
    const shifts = await page.evaluate(() => window.shopLayoutShifts);
    assert.deepEqual(shifts, [], `layout shifts on /shop/${path}: ${JSON.stringify(shifts)}`);
    await context.close();
  }
});

test('the shop is a working ground: once everything is accepted, its trackers load from the third-party origin and write on the parent domain', async () => {
  // Guards the tests above against passing for nothing (a tag that never pointed anywhere).
  const { context, page } = await env.visitor();
  const mark = env.thirdPartyRequests().length;
  await page.goto(env.shopUrl(''));
  await bannerShown(page);
  await button(page, 'accept_all').click();
  await page.waitForFunction(() => window.shopVendors?.gtag?.measured && window.shopVendors?.ads?.stored);
  const cookies = Object.fromEntries((await context.cookies()).map((c) => [c.name, `${c.domain} ${c.path}`]));
  assert.equal(cookies._ga, '.shop.test /', 'Google Analytics writes on the parent domain');
  assert.equal(cookies._ga_ABC123, '.shop.test /');
  assert.equal(cookies._gid, 'www.shop.test /shop/', 'and on the host under /shop/');
  assert.equal(cookies._gcl_au, '.shop.test /');
  assert.equal(cookies.biscotte?.split(' ')[0], 'www.shop.test', 'the choice stays on the host');
  assert.ok(await page.evaluate(() => localStorage.getItem('_gcl_ls') !== null), 'Google Ads writes localStorage');
  const entries = await page.evaluate(() => window.shopVendors.gtag.entries.map((e) => e[0]));
  assert.ok(entries.includes('config'), `the tag read the site's config: ${entries}`);
  await page.waitForFunction(() => performance.getEntriesByType('resource').some((r) => r.name.includes('/pagead/conversion')));
  const paths = thirdPartySince(mark).map((line) => line.split(' ')[1].split('?')[0]);
  for (const p of ['/gtag.js', '/ads.js', '/g/collect', '/pagead/conversion']) {
    assert.ok(paths.includes(p), `${p} was requested from the third-party origin: ${paths}`);
  }
  await context.close();
});

for (const viewport of [{ width: 1280, height: 720 }, { width: 360, height: 640 }]) {
  test(`axe-core finds no violation in the banner's first layer on the shop, ${viewport.width} px wide (issue 7, accessibility)`, async () => {
    const { context, page } = await env.visitor();
    await page.setViewportSize(viewport);
    await page.goto(env.shopUrl(''));
    await bannerShown(page);
    // The shop's pages have no CSP, so axe can come in as a script tag.
    await page.addScriptTag({ path: join(ROOT, 'node_modules/axe-core/axe.min.js') });
    const { violations, buttonsChecked } = await page.evaluate(async () => {
      // The banner lives in an open shadow root, which axe enters through `fromShadowDom`.
      const scope = { include: [{ fromShadowDom: ['#biscotte', '[data-biscotte-layer="first"]'] }] };
      const results = await window.axe.run(scope);
      return {
        violations: results.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => `${JSON.stringify(n.target)} ${n.failureSummary}`) })),
        buttonsChecked: results.passes.find((p) => p.id === 'button-name')?.nodes.length ?? 0,
      };
    });
    assert.deepEqual(violations, [], JSON.stringify(violations, null, 2));
    // Not a pass for nothing: axe did reach inside the shadow root and saw the four buttons.
    assert.ok(buttonsChecked >= 4, `axe checked ${buttonsChecked} buttons of the first layer`);
    await context.close();
  });
}
