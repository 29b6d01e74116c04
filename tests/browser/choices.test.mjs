// The complete banner on the demo site, in headless Chromium against the real server: choices per
// service, the page's API, keyboard use, Global Privacy Control, the 13-month rule and the manage
// button's position. Row ids (R01…) refer to ../shared/LEGAL.md.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  start, firstLayer, button, cookieNames, consentCookie, stubsRan, bannerShown, engineReady, recordsOf,
} from './harness.mjs';

let env;
before(async () => { env = await start(); });
after(async () => { await env?.stop(); });

const DAY_MS = 86400e3;
const panel = (page) => page.locator('#biscotte [data-biscotte-layer="second"]');
const serviceSwitch = (page, id) => page.locator(`#biscotte input[data-service="${id}"]`);
const categorySwitch = (page, id) => page.locator(`#biscotte input[data-category="${id}"]`);
const consentIdOf = (cookie) => cookie.value.split('|')[1];
/** The element that has the keyboard focus, seen through the banner's shadow root. */
const focused = (page) => page.evaluate(() => {
  const inner = document.querySelector('#biscotte')?.shadowRoot?.activeElement;
  const el = inner || document.activeElement;
  return { inBanner: !!inner, action: el?.getAttribute('data-action') ?? null, tag: el?.tagName, text: el?.textContent?.trim() };
});

async function openPanel(page) {
  await page.goto(`${env.base}/demo/`);
  await bannerShown(page);
  await button(page, 'customize').click();
  await panel(page).waitFor();
}

test('the panel shows each service with its provider, policy link, switch and cookies, nothing ticked (R07, R12, R13)', async () => {
  const { context, page } = await env.visitor();
  await openPanel(page);
  const ga = page.locator('#biscotte .services > li').filter({ has: page.locator('input[data-service="google_analytics"]') });
  assert.match(await ga.textContent(), /Google Ireland Limited/);
  assert.equal(await ga.locator('a').getAttribute('href'), 'https://policies.google.com/privacy');
  const cookies = await ga.locator('.cookies li').allTextContents();
  assert.ok(cookies.some((c) => /^_ga · 395\u00a0jours · Distinguer les visiteurs/.test(c)), cookies.join('\n'));
  assert.ok(cookies.some((c) => c.startsWith('_ga_* · ')), cookies.join('\n'));
  for (const id of ['google_analytics', 'hotjar']) assert.equal(await serviceSwitch(page, id).isChecked(), false, id);
  assert.equal(await categorySwitch(page, 'analytics').isChecked(), false);
  assert.equal(await categorySwitch(page, 'necessary').isChecked(), true);
  assert.equal(await categorySwitch(page, 'necessary').isDisabled(), true);
  const actions = await panel(page).locator('.choices [data-action]').evaluateAll((els) => els.map((e) => e.getAttribute('data-action')));
  assert.deepEqual(actions, ['save', 'accept_all', 'reject_all']);
  await context.close();
});

test('the panel speaks the page\'s language: each lifetime by its plural rule (« 1 jour », « 395 jours », "1 day", "395 days"), each purpose in that language', async () => {
  for (const [path, lines] of [
    ['/demo/', ['_ga · 395\u00a0jours · Distinguer les visiteurs', '_gid · 1\u00a0jour · Distinguer les visiteurs sur 24 heures']],
    ['/demo/en.html', ['_ga · 395\u00a0days · Tell visitors apart', '_gid · 1\u00a0day · Tell visitors apart over 24 hours']],
  ]) {
    const { context, page } = await env.visitor();
    await page.goto(`${env.base}${path}`);
    await bannerShown(page);
    await button(page, 'customize').click();
    await panel(page).waitFor();
    const ga = page.locator('#biscotte .services > li').filter({ has: page.locator('input[data-service="google_analytics"]') });
    const cookies = await ga.locator('.cookies li').allTextContents();
    for (const line of lines) assert.ok(cookies.includes(line), `${path}: ${line} in\n${cookies.join('\n')}`);
    await context.close();
  }
});

test('a category switch sets its services, and one service may differ from its category (R15)', async () => {
  const { context, page } = await env.visitor();
  await openPanel(page);
  await categorySwitch(page, 'analytics').check();
  assert.equal(await serviceSwitch(page, 'google_analytics').isChecked(), true);
  assert.equal(await serviceSwitch(page, 'hotjar').isChecked(), true);
  await serviceSwitch(page, 'hotjar').uncheck();
  assert.equal(await categorySwitch(page, 'analytics').isChecked(), false, 'not all its services: the category is not on');
  assert.equal(await categorySwitch(page, 'analytics').evaluate((b) => b.indeterminate), true, 'shown as mixed');
  await page.locator('#biscotte [data-action="save"]').click();
  await page.waitForFunction(() => window.biscotteDemo?.ga);
  // A custom choice runs exactly what was chosen, per service.
  await page.waitForTimeout(300);
  assert.deepEqual(await stubsRan(page), { ga: true, hotjar: false });
  const cookie = await consentCookie(context);
  const [record] = await recordsOf(env, consentIdOf(cookie), 1);
  assert.equal(record.method, 'custom');
  assert.deepEqual(record.services, { google_analytics: true, hotjar: false });
  assert.deepEqual(record.categories, { analytics: false });
  assert.deepEqual(await page.evaluate(() => [Biscotte.accepted('google_analytics'), Biscotte.accepted('hotjar'), Biscotte.accepted('analytics'), Biscotte.accepted('necessary'), Biscotte.accepted('nope')]),
    [true, false, false, true, false]);
  await context.close();
});

test('the page API: acceptAll, rejectAll and accepted, with an event carrying the choices on every change (R24, R25)', async () => {
  const { context, page } = await env.visitor();
  await page.goto(`${env.base}/demo/`);
  await bannerShown(page);
  await page.evaluate(() => {
    window.heard = [];
    document.addEventListener('biscotte:consent', (e) => window.heard.push(e.detail));
  });
  assert.equal(await page.evaluate(() => Biscotte.accepted('analytics')), false, 'nothing before a choice');
  await page.evaluate(() => Biscotte.acceptAll());
  await firstLayer(page).waitFor({ state: 'detached' });
  await page.waitForFunction(() => window.biscotteDemo?.ga && window.biscotteDemo?.hotjar);
  assert.ok((await cookieNames(context)).includes('_ga'));
  assert.equal(await page.evaluate(() => Biscotte.accepted('analytics')), true);
  await page.evaluate(() => Biscotte.rejectAll());
  assert.equal(await page.evaluate(() => Biscotte.accepted('hotjar')), false);
  assert.deepEqual((await cookieNames(context)).filter((n) => n.startsWith('_')), [], 'withdrawal deletes at once');
  const heard = await page.evaluate(() => window.heard);
  assert.deepEqual(heard.map((d) => [d.method, d.services]), [
    ['accept_all', { google_analytics: true, hotjar: true }],
    ['reject_all', { google_analytics: false, hotjar: false }],
  ]);
  const records = await recordsOf(env, consentIdOf(await consentCookie(context)), 2);
  assert.deepEqual(records.map((r) => r.method), ['accept_all', 'reject_all']);
  await context.close();
});

test('the first layer is non-modal and first in the keyboard order; Escape refuses, and it says so (R06)', async () => {
  const { context, page } = await env.visitor();
  await page.goto(`${env.base}/demo/`);
  await bannerShown(page);
  const layer = firstLayer(page);
  assert.equal(await layer.getAttribute('role'), 'dialog');
  assert.equal(await layer.getAttribute('aria-modal'), null, 'never a modal: no keyboard cookie wall');
  assert.match(await layer.locator('.hint').textContent(), /Échap/);
  await page.keyboard.press('Tab');
  assert.equal((await focused(page)).inBanner, true, 'the first Tab lands in the banner');
  // The page stays usable: focus leaves the banner with Tab.
  for (let i = 0; i < 8 && (await focused(page)).inBanner; i++) await page.keyboard.press('Tab');
  assert.equal((await focused(page)).inBanner, false, 'Tab leaves the banner');
  await page.keyboard.press('Escape');
  await layer.waitFor({ state: 'detached' });
  const [record] = await recordsOf(env, consentIdOf(await consentCookie(context)), 1);
  assert.equal(record.method, 'close');
  assert.ok(Object.values(record.services).every((v) => v === false));
  await context.close();
});

test('the panel is modal: focus moves in, stays in with Tab and Shift+Tab, and returns to the opener (R23)', async () => {
  const { context, page } = await env.visitor();
  await page.goto(`${env.base}/demo/`);
  await bannerShown(page);
  await button(page, 'reject_all').click();
  const opener = page.locator('footer [data-biscotte-open]');
  await opener.focus();
  await page.keyboard.press('Enter');
  await bannerShown(page);
  await button(page, 'customize').focus();
  await page.keyboard.press('Enter');
  await panel(page).waitFor();
  assert.equal(await panel(page).getAttribute('aria-modal'), 'true');
  assert.equal((await focused(page)).inBanner, true, 'focus moved into the panel');
  for (let i = 0; i < 25; i++) {
    await page.keyboard.press(i % 3 ? 'Tab' : 'Shift+Tab');
    assert.equal((await focused(page)).inBanner, true, `still inside after ${i + 1} presses`);
  }
  await panel(page).locator('[data-action="save"]').focus();
  await page.keyboard.press('Enter');
  await panel(page).waitFor({ state: 'detached' });
  assert.equal((await focused(page)).text, await opener.textContent().then((t) => t.trim()), 'focus is back on the page link that opened it');
  await context.close();
});

test('the banner is usable at 360 px and at 200 % zoom: every control can be reached and seen', async () => {
  for (const viewport of [{ width: 360, height: 640 }, { width: 640, height: 400 }]) {
    const context = await env.browser.newContext({ locale: 'fr-FR', viewport, deviceScaleFactor: viewport.width === 640 ? 2 : 1 });
    const page = await context.newPage();
    await openPanel(page);
    for (const action of ['save', 'accept_all', 'reject_all']) {
      const control = panel(page).locator(`[data-action="${action}"]`);
      await control.scrollIntoViewIfNeeded();
      assert.ok(await control.isVisible(), `${action} at ${viewport.width}px`);
      const box = await control.boundingBox();
      assert.ok(box.x >= 0 && box.x + box.width <= viewport.width + 1, `${action} inside the width at ${viewport.width}px`);
    }
    await context.close();
  }
});

test('Global Privacy Control is a refusal of everything optional, recorded as gpc; the panel can still opt in (R37)', async () => {
  const { context, page } = await env.visitor();
  await page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true }));
  await page.goto(`${env.base}/demo/`);
  await engineReady(page);
  await page.locator('#biscotte [data-action="manage"]').waitFor({ state: 'visible' });
  assert.equal(await firstLayer(page).count(), 0, 'no banner: the browser already said no');
  assert.deepEqual(await stubsRan(page), { ga: false, hotjar: false });
  const id = consentIdOf(await consentCookie(context));
  const [record] = await recordsOf(env, id, 1);
  assert.equal(record.method, 'gpc');
  assert.deepEqual(record.services, { google_analytics: false, hotjar: false });
  await page.locator('#biscotte [data-action="manage"]').click();
  await button(page, 'customize').click();
  await serviceSwitch(page, 'hotjar').check();
  await panel(page).locator('[data-action="save"]').click();
  await page.waitForFunction(() => window.biscotteDemo?.hotjar);
  const records = await recordsOf(env, id, 2);
  assert.equal(records[1].method, 'custom');
  assert.deepEqual(records[1].services, { google_analytics: false, hotjar: true });
  await page.reload();
  await engineReady(page);
  await page.waitForFunction(() => window.biscotteDemo?.hotjar);
  assert.equal((await recordsOf(env, id, 2)).length, 2, 'GPC does not override a choice made since');
  await context.close();
});

test('a managed cookie is deleted once it is 13 months old, whatever its expiry; its first sighting is kept (R21)', async () => {
  // A technical service (always on), whose cookie claims two years.
  const site = structuredClone(env.site);
  site.consent.services.push({
    id: 'wpml', name: 'WPML', provider: 'OnTheGoSystems Limited', category: 'necessary',
    privacy_policy_url: 'https://wpml.org/documentation/privacy-policy-and-gdpr-compliance/',
    cookies: [{ name: 'wp-wpml_current_language', lifetime_days: 730, purpose: 'Garder la langue choisie' }],
  });
  await env.publish(site);
  const { context, page } = await env.visitor();
  const t0 = Date.parse('2026-01-05T10:00:00Z');
  await page.clock.install({ time: t0 });
  await context.addCookies([{ name: 'wp-wpml_current_language', value: 'fr', url: env.base, expires: Date.now() / 1000 + 730 * 86400 }]);
  await page.goto(`${env.base}/demo/`);
  await bannerShown(page);
  const seen = () => page.evaluate(() => JSON.parse(localStorage.getItem('biscotte.seen')));
  const first = (await seen())['wp-wpml_current_language'];
  assert.ok(first >= t0 && first < t0 + DAY_MS, `noted when first seen: ${first}`);

  await page.clock.setSystemTime(t0 + 394 * DAY_MS);
  await page.reload();
  await bannerShown(page);
  assert.ok((await cookieNames(context)).includes('wp-wpml_current_language'), '394 days: kept');
  assert.equal((await seen())['wp-wpml_current_language'], first, 'the first sighting is not renewed');

  await page.clock.setSystemTime(first + 395 * DAY_MS + 1000);
  await page.reload();
  await bannerShown(page);
  assert.ok(!(await cookieNames(context)).includes('wp-wpml_current_language'), '395 days: deleted, though its own expiry is later');
  assert.equal(await seen(), null, 'and forgotten: no managed cookie is left to watch');
  await context.close();
});
