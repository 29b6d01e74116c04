// The browser-test harness: a real Biscotte server (target/debug/biscotte) on a free loopback
// port with a fresh store, a second loopback origin (127.0.0.2) serving the demo pages with the
// tag pointing at that server, and Debian's Chromium driven by playwright-core, kept on loopback.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, extname, normalize } from 'node:path';
import http from 'node:http';
import { chromium } from 'playwright-core';
import { parse, stringify } from 'smol-toml';

export const ROOT = new URL('../../', import.meta.url).pathname;
const BIN = join(ROOT, 'target/debug/biscotte');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

// TOOLCHAIN.md: without these, Chromium reaches for Google hosts this machine cannot reach.
const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--proxy-server=127.0.0.1:9',
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1, EXCLUDE 127.0.0.2, EXCLUDE localhost',
];

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css' };

/** Serves www/ on 127.0.0.2, rewriting the tag's `/biscotte.js` to the Biscotte server. */
function startSecondOrigin() {
  let serverBase = '';
  const server = http.createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    let file = join(ROOT, 'www', path);
    if (path.endsWith('/')) file = join(file, 'index.html');
    if (!file.startsWith(join(ROOT, 'www')) || !existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    let body = readFileSync(file);
    if (extname(file) === '.html') {
      body = body.toString('utf8').replaceAll('src="/biscotte.js"', `src="${serverBase}/biscotte.js"`);
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] || 'application/octet-stream', 'cache-control': 'no-store' });
    res.end(body);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.2', () => {
      resolve({
        base: `http://127.0.0.2:${server.address().port}`,
        setServer(b) { serverBase = b; },
        close: () => new Promise((r) => server.close(r)),
      });
    });
  });
}

export function cli(dataDir, ...args) {
  return execFileSync(BIN, ['--data-dir', dataDir, ...args], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** The demo site file, with the second origin registered. */
export function demoSite(extraOrigins = []) {
  const site = parse(readFileSync(join(ROOT, 'www/demo/site.toml'), 'utf8'));
  site.site.origins = [...site.site.origins, ...extraOrigins];
  return site;
}

/** `biscotte serve` on a free loopback port over `dataDir`, with www/ and the built banner. */
export async function serve(dataDir) {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run ./dev build first`);
  const proc = spawn(BIN, ['--data-dir', dataDir, 'serve', '--bind', '127.0.0.1:0'], {
    cwd: ROOT,
    env: { ...process.env, BISCOTTE_WWW_DIR: join(ROOT, 'www'), BISCOTTE_BANNER_DIR: join(ROOT, 'target/banner'), RUST_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const base = await new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[0-9.:]+)/);
      if (m) resolve(m[1]);
    });
    proc.on('exit', (code) => reject(new Error(`biscotte exited (${code}): ${stderr}`)));
  });
  return { proc, base };
}

export async function start() {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run ./dev build first`);
  const dir = mkdtempSync(join(tmpdir(), 'biscotte-browser-'));
  const dataDir = join(dir, 'store');
  const second = await startSecondOrigin();
  const site = demoSite([second.base]);
  writeFileSync(join(dir, 'site.toml'), stringify(site));
  cli(dataDir, 'site', 'create', '--file', join(dir, 'site.toml'));

  const { proc, base } = await serve(dataDir);
  second.setServer(base);

  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const auditor = cli(dataDir, 'token', 'issue', '--role', 'auditor', '--site', 'demo');
  const owner = cli(dataDir, 'token', 'issue', '--role', 'owner', '--site', 'demo');

  return {
    base,
    second: second.base,
    browser,
    site,
    /** A fresh visitor: own cookies, storage and cache, French locale. */
    async visitor() {
      const context = await browser.newContext({ locale: 'fr-FR' });
      const page = await context.newPage();
      page.on('pageerror', (e) => console.error('page error:', e.message));
      return { context, page };
    },
    /** The consent log as the auditor sees it (NDJSON records). */
    async records() {
      const r = await fetch(`${base}/api/v1/sites/demo/consents?format=ndjson`, { headers: { authorization: `Bearer ${auditor}` } });
      if (r.status !== 200) throw new Error(`export: ${r.status} ${await r.text()}`);
      return (await r.text()).split('\n').filter(Boolean).map((l) => JSON.parse(l));
    },
    /** Publishes a new revision of the demo site through the owner API. */
    async publish(siteFile) {
      const r = await fetch(`${base}/api/v1/sites/demo/revisions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${owner}`, 'content-type': 'application/json' },
        body: JSON.stringify(siteFile),
      });
      if (r.status !== 201) throw new Error(`publish: ${r.status} ${await r.text()}`);
      return r.json();
    },
    async stop() {
      await browser.close();
      proc.kill('SIGTERM');
      await second.close();
      rmSync(dir, { recursive: true, force: true });
    },
    stderr: () => stderr,
  };
}

// What a visitor can see and what the page holds.
export const firstLayer = (page) => page.locator('#biscotte [data-biscotte-layer="first"]');
export const button = (page, action) => firstLayer(page).locator(`[data-action="${action}"]`);

export async function cookieNames(context) {
  return (await context.cookies()).map((c) => c.name).sort();
}

export async function consentCookie(context) {
  return (await context.cookies()).find((c) => c.name === 'biscotte');
}

/** Which stubs ran on the page. */
export async function stubsRan(page) {
  return page.evaluate(() => ({ ga: !!window.biscotteDemo?.ga, hotjar: !!window.biscotteDemo?.hotjar }));
}

/** Waits until the banner is on screen (the tag loads async). */
export async function bannerShown(page) {
  await firstLayer(page).waitFor({ state: 'visible', timeout: 10_000 });
}

/** Waits until the engine has started and settled (manage button present), banner or not. */
export async function engineReady(page) {
  await page.locator('#biscotte [data-action="manage"], #biscotte [data-biscotte-layer="first"]').first().waitFor({ state: 'attached', timeout: 10_000 });
}

/** Waits until the log holds `n` records. */
export async function waitForRecords(env, n) {
  for (let i = 0; i < 100; i++) {
    const records = await env.records();
    if (records.length >= n) return records;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the log never reached ${n} records`);
}

/** Waits until the log holds `n` records for one consent id, and returns them. */
export async function recordsOf(env, consentId, n) {
  for (let i = 0; i < 100; i++) {
    const mine = (await env.records()).filter((r) => r.consent_id === consentId);
    if (mine.length >= n) return mine;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the log never reached ${n} records for consent id ${consentId}`);
}
