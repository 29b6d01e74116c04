// A visitor on the demo site, in headless Chromium, against the real server.
// Row ids (R01…) refer to ../shared/LEGAL.md.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  start, firstLayer, button, cookieNames, consentCookie, stubsRan, bannerShown, engineReady, waitForRecords, recordsOf,
} from './harness.mjs';

let env;
before(async () => { env = await start(); });
after(async () => { await env?.stop(); });

const TRACKERS = ['_ga', '_gid', '_hjSessionUser_123456'];
const consentIdOf = (cookie) => cookie.value.split('|')[1];
const recordOf = async (cookie, n) => {
  const records = await waitForRecords(env, n);
  const mine = records.filter((r) => r.consent_id === consentIdOf(cookie));
  assert.ok(mine.length > 0, `no record for consent id ${consentIdOf(cookie)}`);
  return mine.at(-1);
};

for (const origin of ['same', 'second']) {
  const pageUrl = (path) => `${origin === 'same' ? env.base : env.second}/demo/${path}`;
  const label = origin === 'same' ? 'on the Biscotte origin' : 'on another origin (127.0.0.2)';

  test(`before any click only the technical cookie exists and no tracker ran, ${label} (R01, R10)`, async () => {
    const { context, page } = await env.visitor();
    await page.goto(pageUrl(''));
    await bannerShown(page);
    assert.deepEqual(await cookieNames(context), ['demo_session']);
    assert.deepEqual(await stubsRan(page), { ga: false, hotjar: false });
    // Refusing is as easy and as visible as accepting: same size, same look, one click each.
    const boxes = await Promise.all(['accept_all', 'reject_all', 'customize'].map((a) => button(page, a).boundingBox()));
    for (const b of boxes) {
      assert.ok(b && b.width > 0, 'all three first-layer buttons are visible');
      assert.ok(Math.abs(b.width - boxes[0].width) <= 1 && Math.abs(b.height - boxes[0].height) <= 1, JSON.stringify(boxes));
    }
    const style = (a) => button(page, a).evaluate((el) => {
      const s = getComputedStyle(el);
      return [s.fontSize, s.fontWeight, s.color, s.backgroundColor, s.borderTopWidth].join(' ');
    });
    assert.equal(await style('reject_all'), await style('accept_all'));
    assert.equal((await button(page, 'reject_all').textContent()).trim(), 'Tout refuser');
    assert.equal((await button(page, 'accept_all').textContent()).trim(), 'Tout accepter');
    assert.equal((await button(page, 'customize').textContent()).trim(), 'Personnaliser');
    await context.close();
  });

  test(`"Tout refuser" stores a refusal, runs nothing, and the banner stays away on the next page, ${label} (R01, R20)`, async () => {
    const { context, page } = await env.visitor();
    const before = (await env.records()).length;
    await page.goto(pageUrl(''));
    await bannerShown(page);
    await button(page, 'reject_all').click();
    await firstLayer(page).waitFor({ state: 'detached' });
    const cookie = await consentCookie(context);
    assert.ok(cookie, 'the choice is kept in the biscotte cookie');
    assert.ok(cookie.expires * 1000 - Date.now() <= 182 * 86400e3 + 60e3, 'kept 6 months at most (R21)');
    assert.equal(cookie.sameSite, 'Lax');
    assert.deepEqual(await cookieNames(context), ['biscotte', 'demo_session']);
    assert.deepEqual(await stubsRan(page), { ga: false, hotjar: false });

    await page.goto(pageUrl('produits.html'));
    await engineReady(page);
    assert.equal(await firstLayer(page).count(), 0, 'no banner on the next page');
    assert.deepEqual(await stubsRan(page), { ga: false, hotjar: false });
    assert.deepEqual(await cookieNames(context), ['biscotte', 'demo_session']);

    const record = await recordOf(cookie, before + 1);
    assert.equal(record.method, 'reject_all');
    assert.deepEqual(record.categories, { analytics: false }, 'only the purposes the demo pursues');
    assert.deepEqual(record.services, { google_analytics: false, hotjar: false });
    assert.equal(record.language, 'fr');
    assert.equal(record.url, pageUrl(''));
    await context.close();
  });

  test(`"Tout accepter" runs both trackers now and on the next page, and is logged, ${label}`, async () => {
    const { context, page } = await env.visitor();
    const before = (await env.records()).length;
    await page.goto(pageUrl(''));
    await bannerShown(page);
    await button(page, 'accept_all').click();
    await page.waitForFunction(() => window.biscotteDemo?.ga && window.biscotteDemo?.hotjar);
    const names = await cookieNames(context);
    for (const t of TRACKERS) assert.ok(names.includes(t), `${t} set after consent: ${names}`);

    await page.goto(pageUrl('produits.html'));
    await page.waitForFunction(() => window.biscotteDemo?.ga && window.biscotteDemo?.hotjar);
    assert.equal(await firstLayer(page).count(), 0, 'a returning visitor sees no banner');

    const record = await recordOf(await consentCookie(context), before + 1);
    assert.equal(record.method, 'accept_all');
    assert.deepEqual(record.categories, { analytics: true });
    assert.deepEqual(record.services, { google_analytics: true, hotjar: true });
    await context.close();
  });
}

test('closing the banner is a refusal, and the banner says so (R06)', async () => {
  const { context, page } = await env.visitor();
  const before = (await env.records()).length;
  await page.goto(`${env.base}/demo/`);
  await bannerShown(page);
  const close = button(page, 'close');
  assert.match(await close.textContent(), /Continuer sans accepter/);
  await close.click();
  await firstLayer(page).waitFor({ state: 'detached' });
  assert.deepEqual(await stubsRan(page), { ga: false, hotjar: false });
  const record = await recordOf(await consentCookie(context), before + 1);
  assert.equal(record.method, 'close');
  assert.ok(Object.values(record.categories).every((v) => v === false));
  await context.close();
});

test('"Personnaliser" shows unticked category switches and saves exactly what was chosen (R07, R15)', async () => {
  const { context, page } = await env.visitor();
  const before = (await env.records()).length;
  await page.goto(`${env.base}/demo/`);
  await bannerShown(page);
  await button(page, 'customize').click();
  const switches = page.locator('#biscotte input[data-category]:not([disabled])');
  await switches.first().waitFor();
  assert.equal(await switches.count(), 1, 'one switch: the demo only measures audience');
  for (const s of await switches.all()) assert.equal(await s.isChecked(), false, 'nothing pre-ticked');
  await page.locator('#biscotte input[data-category="analytics"]').check();
  await page.locator('#biscotte [data-action="save"]').click();
  await page.waitForFunction(() => window.biscotteDemo?.ga && window.biscotteDemo?.hotjar);
  const record = await recordOf(await consentCookie(context), before + 1);
  assert.equal(record.method, 'custom');
  assert.deepEqual(record.categories, { analytics: true });
  await context.close();
});

test('a new revision that adds a service asks again; a returning visitor keeps what they answered (R22)', async () => {
  const { context, page } = await env.visitor();
  await page.goto(`${env.base}/demo/`);
  await bannerShown(page);
  await button(page, 'accept_all').click();
  await page.waitForFunction(() => window.biscotteDemo?.ga);
  const before = (await env.records()).length;

  // Rewording only: a new revision, but nothing new to consent to, so no banner.
  const reworded = structuredClone(env.site);
  reworded.consent.texts = { fr: { title: 'Vos choix de cookies' } };
  await env.publish(reworded);
  await page.reload();
  await engineReady(page);
  assert.equal(await firstLayer(page).count(), 0, 'a reworded text alone does not ask again');

  const withYoutube = structuredClone(reworded);
  withYoutube.consent.services.push({
    id: 'youtube', name: 'YouTube', provider: 'Google Ireland Limited', category: 'third_party',
    privacy_policy_url: 'https://policies.google.com/privacy', cookies: [],
  });
  const { published } = await env.publish(withYoutube);
  await page.reload();
  await bannerShown(page);
  await page.waitForFunction(() => window.biscotteDemo?.ga, null, { timeout: 10_000 });

  await button(page, 'reject_all').click();
  const record = await recordOf(await consentCookie(context), before + 1);
  assert.equal(record.revision, published.revision, 'the new decision names the new revision');
  assert.equal(record.services.youtube, false);
  assert.equal(record.categories.third_party, false, 'the new purpose is answered too');
  await context.close();
});

test('an English page gets the banner in English, and the decision is logged in English', async () => {
  const { context, page } = await env.visitor();
  const before = (await env.records()).length;
  await page.goto(`${env.base}/demo/en.html`);
  await bannerShown(page);
  assert.equal((await button(page, 'accept_all').textContent()).trim(), 'Accept all');
  assert.equal((await button(page, 'reject_all').textContent()).trim(), 'Refuse all');
  assert.equal((await button(page, 'customize').textContent()).trim(), 'Customise');
  assert.match(await button(page, 'close').textContent(), /Continue without accepting/);
  assert.deepEqual(await cookieNames(context), ['demo_session']);
  await button(page, 'accept_all').click();
  await page.waitForFunction(() => window.biscotteDemo?.ga && window.biscotteDemo?.hotjar);
  const record = await recordOf(await consentCookie(context), before + 1);
  assert.equal(record.language, 'en');
  assert.equal(record.method, 'accept_all');
  await context.close();
});

test('changing one\'s mind: the manage button reopens the choices, and withdrawing deletes the trackers\' cookies (R23, R24, R25)', async () => {
  const { context, page } = await env.visitor();
  await page.goto(`${env.base}/demo/`);
  await bannerShown(page);
  await button(page, 'accept_all').click();
  await page.waitForFunction(() => window.biscotteDemo?.ga && window.biscotteDemo?.hotjar);
  const first = await consentCookie(context);
  // Recorded before the visitor moves on: a page left before the server's answer sends its
  // decision again from the next page, which the log would show twice (README, retries).
  await recordsOf(env, consentIdOf(first), 1);

  await page.goto(`${env.base}/demo/produits.html`);
  const manage = page.locator('#biscotte [data-action="manage"]');
  await manage.waitFor({ state: 'visible' });
  assert.match(await manage.textContent(), /cookies/i, 'its name says what it is for');
  await manage.click();
  await bannerShown(page);
  await button(page, 'reject_all').click(); // two actions in all, as for giving consent
  await firstLayer(page).waitFor({ state: 'detached' });
  const names = await cookieNames(context);
  for (const t of TRACKERS) assert.ok(!names.includes(t), `${t} deleted on withdrawal: ${names}`);

  const records = await recordsOf(env, consentIdOf(first), 2);
  assert.deepEqual(records.map((r) => r.method), ['accept_all', 'reject_all'], 'the same consent id, a new record');

  // The footer link of the page does the same.
  await page.goto(`${env.base}/demo/`);
  await engineReady(page);
  await page.locator('footer [data-biscotte-open]').click();
  await bannerShown(page);
  await context.close();
});

test('a page that includes biscotte.js twice (the site\'s tag and the first tag, data-site) gets one banner and a warning saying so', async () => {
  const { context, page } = await env.visitor();
  const warnings = [];
  page.on('console', (m) => { if (m.type() === 'warning') warnings.push(m.text()); });
  // The demo home page with the first tag beside the site's, as a site half-way from one tag to
  // the other might have it.
  await page.route(`${env.base}/demo/twice.html`, async (route) => {
    const home = await (await fetch(`${env.base}/demo/`)).text();
    const tag = '<script src="/sites/demo/biscotte.js" async fetchpriority="high"></script>';
    assert.ok(home.includes(tag), 'the demo page carries the documented tag');
    const first = '<script src="/biscotte.js" data-site="demo" async></script>';
    await route.fulfill({ contentType: 'text/html; charset=utf-8', body: home.replace(tag, tag + first) });
  });
  await page.goto(`${env.base}/demo/twice.html`);
  await bannerShown(page);
  await page.waitForTimeout(300);
  assert.equal(await page.locator('#biscotte').count(), 1, 'one banner host');
  assert.equal(await firstLayer(page).count(), 1, 'one first layer');
  assert.ok(warnings.some((w) => /already running on this page: include biscotte\.js only once/.test(w)), warnings.join('\n'));
  await button(page, 'reject_all').click();
  await firstLayer(page).waitFor({ state: 'detached' });
  assert.equal((await consentCookie(context))?.value.split('|')[0], '1', 'the one engine records the choice');
  await context.close();
});
