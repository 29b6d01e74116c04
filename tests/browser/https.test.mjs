// The shop over https (a certificate the run makes, the server behind a TLS proxy): the cookies
// only https knows, `__Host-`, `__Secure-` and partitioned (CHIPS) ones, of a refused service are
// deleted, not reported as undeleted; and the consent cookie is Secure.
// Row ids (R01…) refer to ../shared/LEGAL.md.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, button, bannerShown, consentCookie, recordsOf } from './harness.mjs';

let env;
before(async () => {
  env = await start({ shop: true, https: true });
  const site = structuredClone(env.shopSite);
  site.consent.services.push({
    id: 'regie_test', name: 'Régie de test', provider: 'Régie de test SAS', category: 'advertising',
    privacy_policy_url: 'https://regie.example/confidentialite',
    cookies: [
      { name: '__Host-rt_*', lifetime_days: 30, purpose: 'Reconnaître le navigateur' },
      { name: '__Secure-rt_*', lifetime_days: 30, purpose: 'Reconnaître le navigateur sur tout le domaine' },
      { name: 'rt_*', lifetime_days: 30, purpose: 'Mesurer les annonces vues' },
    ],
  });
  await env.publish(site);
});
after(async () => { await env?.stop(); });

// What the service writes, as its script would from the page: each kind an https page can hold.
const SERVICE_COOKIES = [
  '__Host-rt_id=1; Secure; Path=/', // Secure, Path=/ and no Domain, or Chromium refuses it
  '__Secure-rt_id=1; Secure; Path=/; Domain=shop.test', // Secure, here on the parent domain
  'rt_chips=1; Secure; Path=/; Partitioned', // partitioned (CHIPS): its own entry in the jar
  '__Host-rt_chips=1; Secure; Path=/; SameSite=None; Partitioned', // the form CHIPS's explainer shows
  'rt_chips_wide=1; Secure; Path=/; Domain=shop.test; Partitioned',
  'rt_plain=1; Path=/shop', // a plain one, on a sub-path
];
const SERVICE_NAMES = SERVICE_COOKIES.map((c) => c.split('=')[0]).sort();
const PARTITIONED = ['__Host-rt_chips', 'rt_chips', 'rt_chips_wide'];

const consentIdOf = (cookie) => cookie.value.split('|')[1];

/** Every cookie of the visitor's browser context, partitioned ones included (document.cookie and
 * a context's cookie list may leave those out): CDP's own list. */
async function jar(context, page) {
  const cdp = await context.newCDPSession(page);
  const { cookies } = await cdp.send('Network.getAllCookies');
  await cdp.detach();
  return cookies;
}

async function setServiceCookies(context, page) {
  await page.evaluate((cookies) => cookies.forEach((c) => { document.cookie = c; }), SERVICE_COOKIES);
  const set = await jar(context, page);
  assert.deepEqual(SERVICE_NAMES.filter((n) => set.some((c) => c.name === n)), SERVICE_NAMES, 'Chromium took every one');
  for (const name of PARTITIONED) {
    // In a top-level page, a partitioned cookie is keyed to the page's own site.
    assert.equal(set.find((c) => c.name === name).partitionKey?.topLevelSite, 'https://shop.test', name);
  }
}

/** Only the consent cookie is left, and it is Secure: the page is https. */
async function onlyTheSecureConsentCookie(context, page) {
  const left = await jar(context, page);
  assert.deepEqual(left.map((c) => `${c.name}@${c.domain}${c.path}${c.partitionKey ? ' (partitioned)' : ''}`), ['biscotte@www.shop.test/']);
  assert.equal(left[0].secure, true, 'the consent cookie is Secure on https');
  assert.equal((await consentCookie(context)).secure, true);
}

test('r25 refusing on an https page deletes the refused service\'s __Host-, __Secure-, partitioned and plain cookies, and the decision names none as undeleted', async () => {
  const { context, page } = await env.visitor();
  await page.goto(env.secureShopUrl(''));
  await bannerShown(page);
  assert.equal(await page.evaluate(() => isSecureContext && location.protocol), 'https:');
  await setServiceCookies(context, page);
  await button(page, 'reject_all').click();
  await onlyTheSecureConsentCookie(context, page);

  const [record] = await recordsOf(env, consentIdOf(await consentCookie(context)), 1, 'shop');
  assert.equal(record.method, 'reject_all');
  assert.equal(record.services.regie_test, false);
  assert.match(record.url, /^https:\/\/www\.shop\.test:\d+\/shop\/$/);
  assert.deepEqual(record.undeleted_cookies ?? [], [], 'every cookie of the refused service went');
  await context.close();
});

test('r24_r25 withdrawing on an https page after accepting deletes the same cookies at once, and the decision names none as undeleted', async () => {
  const { context, page } = await env.visitor();
  await page.goto(env.secureShopUrl(''));
  await bannerShown(page);
  await button(page, 'accept_all').click();
  await page.waitForFunction(() => !!window.Biscotte.consent()?.receipt);
  assert.equal(await page.evaluate(() => Biscotte.accepted('regie_test')), true);
  await setServiceCookies(context, page);
  // Google's stand-ins ran too, over the same https page: their cookies are refused with the rest.
  await page.waitForFunction(() => document.cookie.includes('_ga='));

  await page.locator('#biscotte [data-action="manage"]').click();
  await button(page, 'reject_all').click();
  await onlyTheSecureConsentCookie(context, page);

  const records = await recordsOf(env, consentIdOf(await consentCookie(context)), 2, 'shop');
  assert.deepEqual(records.map((r) => r.method), ['accept_all', 'reject_all']);
  assert.deepEqual(records[1].undeleted_cookies ?? [], [], 'every cookie of the refused services went');
  await context.close();
});
