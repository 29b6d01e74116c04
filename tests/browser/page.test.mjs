// The loader's page rules (banner-wasm/js/page.js), on their own: how it reads the banner projection,
// which names a declared pattern covers, and where it expires a cookie. The file is the one
// bundle.mjs puts in the loader; it runs here in Node, and the browser tests drive it in Chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './harness.mjs';

import { readProjection, matches, expiries } from '../../banner-wasm/js/page.js';
import { categoryAllowed, service, serviceAllowed } from '../../banner-wasm/js/choice.js';
import { setProjection, setState } from '../../banner-wasm/js/state.js';

const VECTORS = join(ROOT, 'shared/tests/vectors/projection');
const vectors = () => readdirSync(VECTORS).filter((f) => f.endsWith('.json'))
  .map((f) => ({ name: f, ...JSON.parse(readFileSync(join(VECTORS, f), 'utf8')) }));

test('the loader reads each projection vector into what the vector says, as the engine does (shared/tests/projection_vectors.rs)', () => {
  const all = vectors();
  assert.ok(all.length >= 4, all.map((v) => v.name).join(', '));
  for (const v of all) {
    // The site and the policy version are the engine's alone: the loader does not read them.
    const { site, policy_version, ...page } = v.reads;
    assert.ok(site && policy_version, v.name);
    assert.deepEqual(readProjection(v.projection), page, v.name);
  }
});

const R = '\x1e', F = '\x1f';

test('the projection reads into categories, services and their cookies', () => {
  const text = [
    ['biscotte-banner-3', 'shop', 'rev', '2026-11', 'fr', 'https://shop.test/privacy', 'right'],
    ['Titre', 'Texte'],
    ['c', 'necessary', '1', 'Techniques', 'Indispensables'],
    ['c', 'analytics', '', 'Mesure', 'Comprendre'],
    ['s', 'google_analytics', 'analytics', 'Google Analytics', 'Google', 'https://policies.google.com/privacy', 'analytics_storage', 'ga:* _ga_storage',
      '_ga', '730\u00a0jours', 'Distinguer les visiteurs', '', '_ga_*', '1\u00a0jour', 'État de la session', ''],
    ['s', 'youtube', 'third_party', 'YouTube', 'Google', '', '', '', 'VISITOR_INFO1_LIVE', '180\u00a0jours', 'Préférences', '1'],
    ['s', 'bare', 'analytics', 'Bare', 'Us', '', '', ''],
  ].map((r) => r.join(F)).join(R);
  const p = readProjection(text);
  assert.equal(p.lang, 'fr');
  assert.equal(p.policy, 'https://shop.test/privacy');
  assert.equal(p.manage, 'right');
  assert.deepEqual(p.t, ['Titre', 'Texte']);
  assert.deepEqual(p.cats, [
    { id: 'necessary', req: true, title: 'Techniques', desc: 'Indispensables' },
    { id: 'analytics', req: false, title: 'Mesure', desc: 'Comprendre' },
  ]);
  assert.deepEqual(p.svcs[0], {
    id: 'google_analytics', cat: 'analytics', name: 'Google Analytics', provider: 'Google', url: 'https://policies.google.com/privacy',
    modes: ['analytics_storage'], keys: ['ga:*', '_ga_storage'],
    cookies: [
      { name: '_ga', lifetime: '730\u00a0jours', purpose: 'Distinguer les visiteurs', hidden: false },
      { name: '_ga_*', lifetime: '1\u00a0jour', purpose: 'État de la session', hidden: false },
    ],
  });
  assert.deepEqual(p.svcs[1].cookies, [{ name: 'VISITOR_INFO1_LIVE', lifetime: '180\u00a0jours', purpose: 'Préférences', hidden: true }]);
  assert.deepEqual([p.svcs[2].modes, p.svcs[2].keys, p.svcs[2].cookies], [[], [], []]);
});

const rules = (file) => JSON.parse(readFileSync(join(ROOT, 'shared/tests/vectors/rules', file), 'utf8'));

test('a declared pattern covers the names the rule vectors say, as shared\'s cookie_matches does (shared/tests/rule_vectors.rs)', () => {
  for (const c of rules('names.json').cases) assert.equal(matches(c.pattern, c.name), c.matches, `${c.pattern} covers ${c.name}`);
});

test('a choice allows what the rule vectors say, as shared\'s Choices::allows_* do (shared/tests/rule_vectors.rs)', () => {
  const vectors = rules('allows.json');
  const scope = JSON.parse(readFileSync(join(VECTORS, `${vectors.projection}.json`), 'utf8'));
  setProjection(readProjection(scope.projection));
  for (const c of vectors.cases) {
    setState(c.choice);
    for (const [id, allowed] of Object.entries(c.categories)) assert.equal(categoryAllowed(id), allowed, `${c.description}: category ${id}`);
    for (const [id, allowed] of Object.entries(c.services)) assert.equal(serviceAllowed(service(id)), allowed, `${c.description}: service ${id}`);
  }
  setState(null);
});

test('a pattern ending in * covers every name it starts, anything else only itself', () => {
  assert.ok(matches('_ga_*', '_ga_ABC123'));
  assert.ok(matches('_ga_*', '_ga_'));
  assert.ok(!matches('_ga_*', '_ga'));
  assert.ok(matches('_ga', '_ga'));
  assert.ok(!matches('_ga', '_gat'));
  assert.ok(!matches('_ga', '_ga_1'));
});

test('a cookie is expired host-only and on the host and every parent domain, on every directory of the path (R25)', () => {
  const out = expiries('_ga', 'www.shop.test', '/shop/p/', false);
  const paths = ['/', '/shop', '/shop/', '/shop/p', '/shop/p/'];
  const domains = ['', '; Domain=shop.test', '; Domain=www.shop.test'];
  assert.deepEqual(out, domains.flatMap((d) => paths.map((p) => `_ga=; Path=${p}${d}; Max-Age=0`)));
  assert.ok(!out.some((a) => a.includes('Domain=test;')), 'never the bare top-level label');
  assert.ok(!out.some((a) => a.includes('Secure')), 'a page over http cannot write a Secure cookie');
});

test('on an https page every place is expired with Secure and with Secure; Partitioned instead of plain, so __Host-, __Secure- and partitioned cookies go too (R25)', () => {
  const out = expiries('__Host-x', 'www.shop.test', '/shop/', true);
  const paths = ['/', '/shop', '/shop/'];
  const domains = ['', '; Domain=shop.test', '; Domain=www.shop.test'];
  assert.deepEqual(out, domains.flatMap((d) => paths.flatMap((p) => {
    const plain = `__Host-x=; Path=${p}${d}; Max-Age=0`;
    return [`${plain}; Secure`, `${plain}; Secure; Partitioned`];
  })));
  // What Chromium takes for each (tests/browser/https.test.mjs): a __Host- cookie only from
  // Secure, Path=/ and no Domain; a partitioned one only from a Partitioned assignment.
  assert.equal(out[0], '__Host-x=; Path=/; Max-Age=0; Secure');
  assert.equal(out[1], '__Host-x=; Path=/; Max-Age=0; Secure; Partitioned');
});

test('IP addresses and single-label hosts have no parent domains', () => {
  for (const host of ['127.0.0.2', '[::1]', 'localhost']) {
    assert.deepEqual(expiries('x', host, '/', false), ['x=; Path=/; Max-Age=0'], host);
    assert.deepEqual(expiries('x', host, '/', true), ['x=; Path=/; Max-Age=0; Secure', 'x=; Path=/; Max-Age=0; Secure; Partitioned'], host);
  }
});
