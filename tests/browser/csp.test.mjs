// Every HTML page the Biscotte server serves satisfies its Content-Security-Policy, and the banner
// works under it; every answer carries the security headers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { start, button, bannerShown, stubsRan, ROOT } from './harness.mjs';

let env;
before(async () => { env = await start(); });
after(async () => { await env?.stop(); });

const PAGES = ['/', '/demo/', '/demo/en.html', '/demo/produits.html', '/demo/confidentialite.html'];

/** A fresh visitor whose page records every CSP violation, as an event and as Chromium's console
 * report, and every uncaught error. (A missing favicon is a console error too, but not this test's
 * business.) */
async function watchedVisitor() {
  const { context, page } = await env.visitor();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  // Injected by the browser before any script of the page, whatever its policy says.
  await page.addInitScript(() => {
    window.cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.cspViolations.push(`${e.effectiveDirective} refused ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`);
    }, true);
  });
  const problems = async () => [...errors, ...(await page.evaluate(() => window.cspViolations))];
  return { context, page, problems };
}

function assertPolicy(csp, path) {
  assert.ok(csp, `${path} has a Content-Security-Policy`);
  const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
  assert.deepEqual(directives['object-src'], ["'none'"], csp);
  assert.ok(directives['base-uri'], csp);
  assert.ok(directives['frame-ancestors'], csp);
  assert.deepEqual(directives['script-src'].filter((s) => s !== "'wasm-unsafe-eval'"), ["'self'"], `no inline or eval'd script: ${csp}`);
  assert.ok(!csp.includes('unsafe-inline') && !csp.includes("'unsafe-eval'"), csp);
  const runsBanner = path.startsWith('/demo/');
  assert.equal(directives['script-src'].includes("'wasm-unsafe-eval'"), runsBanner, `WebAssembly only where the banner runs: ${csp}`);
}

for (const path of PAGES) {
  test(`${path} satisfies its Content-Security-Policy${path === '/' ? '' : ', and the banner works under it'}`, async () => {
    const { context, page, problems } = await watchedVisitor();
    const response = await page.goto(`${env.base}${path}`);
    const headers = response.headers();
    assert.equal(response.status(), 200);
    assert.equal(headers['x-content-type-options'], 'nosniff');
    assert.equal(headers['referrer-policy'], 'same-origin');
    assertPolicy(headers['content-security-policy'], path);

    if (path.startsWith('/demo/')) {
      await bannerShown(page);
      // The banner's styles apply: its buttons are laid out and coloured, not bare.
      const background = await button(page, 'accept_all').evaluate((el) => getComputedStyle(el).backgroundColor);
      assert.equal(background, 'rgb(29, 53, 87)');
      await button(page, 'accept_all').click();
      await page.waitForFunction(() => window.biscotteDemo?.ga && window.biscotteDemo?.hotjar);
      await page.waitForFunction(() => !!window.Biscotte.consent()?.receipt);
      assert.ok((await context.cookies()).some((c) => c.name === 'demo_session'), 'the page\'s own script ran');
    } else {
      await page.waitForLoadState('load');
      assert.equal(await page.locator('#biscotte').count(), 0, 'no banner here');
    }
    assert.deepEqual(await problems(), []);
    await context.close();
  });
}

test('the policy refuses an inline script, and this test sees the refusal', async () => {
  const { context, page, problems } = await watchedVisitor();
  await page.goto(`${env.base}/demo/`);
  await bannerShown(page);
  await page.evaluate(() => {
    const s = document.createElement('script');
    s.textContent = 'window.inlineRan = true';
    document.head.append(s);
  });
  await page.waitForFunction(() => window.cspViolations.length > 0);
  assert.equal(await page.evaluate(() => window.inlineRan), undefined);
  assert.ok((await problems()).some((p) => p.includes('script-src')), (await problems()).join('\n'));
  assert.deepEqual(await stubsRan(page), { ga: false, hotjar: false });
  await context.close();
});

test('every answer carries nosniff and the referrer policy: API, errors, scripts, styles', async () => {
  const paths = [
    ['/api/v1/health', 200],
    ['/api/v1/sites/demo/config', 200],
    ['/api/v1/sites/nope/config', 404],
    ['/biscotte.js', 200],
    ['/assets/nope.wasm', 404],
    ['/demo/style.css', 200],
    ['/demo/session.js', 200],
    ['/nope.html', 404],
  ];
  for (const [path, status] of paths) {
    const r = await fetch(`${env.base}${path}`);
    assert.equal(r.status, status, path);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff', path);
    assert.equal(r.headers.get('referrer-policy'), 'same-origin', path);
    if (!(r.headers.get('content-type') ?? '').startsWith('text/html')) {
      assert.equal(r.headers.get('content-security-policy'), null, `${path} is not a page`);
    }
  }
  const preflight = await fetch(`${env.base}/api/v1/sites/demo/consents`, {
    method: 'OPTIONS',
    headers: { origin: env.second, 'access-control-request-method': 'POST' },
  });
  assert.equal(preflight.headers.get('x-content-type-options'), 'nosniff');
});

/** The policy README.md gives site owners, for a Biscotte server at `server`. */
function readmePolicy(server) {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = readme.match(/this is what the banner needs[^\n]*\n\n```\n([^\n]+)\n```/);
  assert.ok(block, 'README.md gives the policy a site needs');
  return block[1].replaceAll('https://consent.example.fr', server);
}

test('the demo works on a site that sends the policy README.md gives, and breaks none of it', async () => {
  env.pagePolicy(readmePolicy(env.base));
  try {
    const { context, page, problems } = await watchedVisitor();
    const response = await page.goto(`${env.second}/demo/`);
    assert.match(response.headers()['content-security-policy'], /wasm-unsafe-eval/);
    await bannerShown(page);
    const background = await button(page, 'accept_all').evaluate((el) => getComputedStyle(el).backgroundColor);
    assert.equal(background, 'rgb(29, 53, 87)', 'the styles apply under a strict style-src');
    await button(page, 'customize').click();
    await page.locator('#biscotte input[data-service="google_analytics"]').check();
    await page.locator('#biscotte [data-action="save"]').click();
    await page.waitForFunction(() => window.biscotteDemo?.ga && !!window.Biscotte.consent()?.receipt);
    assert.deepEqual(await stubsRan(page), { ga: true, hotjar: false });
    assert.deepEqual(await problems(), []);
    await context.close();
  } finally {
    env.pagePolicy('');
  }
});
