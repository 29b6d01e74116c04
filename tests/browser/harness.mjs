// The browser-test harness: a real Biscotte server (target/debug/biscotte) on a free loopback
// port with a fresh store, a second loopback origin (127.0.0.2) serving the demo pages with the
// tag pointing at that server, and Debian's Chromium driven by playwright-core, kept on loopback.
// With `start({ shop: true })`, the second demo site `shop` too: its pages on host names
// (www.shop.test, shop.test, mapped to 127.0.0.2 inside Chromium) and its trackers on a third
// origin (127.0.0.3) that logs every request it gets.
// With `start({ https: true })`, the same pages over https too (a TLS listener beside the http one
// on 127.0.0.2), and the server behind a TLS-terminating proxy on 127.0.0.1, with a certificate
// the run makes for itself.
import { spawn, execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, extname, normalize } from 'node:path';
import http from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { chromium } from 'playwright-core';
import { parse, stringify } from 'smol-toml';

export const ROOT = new URL('../../', import.meta.url).pathname;
const BIN = join(ROOT, 'target/debug/biscotte');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const OPENSSL = '/usr/bin/openssl';

// TOOLCHAIN.md: without these, Chromium reaches for Google hosts this machine cannot reach.
const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--proxy-server=127.0.0.1:9',
  // The shop's host names go straight to 127.0.0.2: parent-domain cookies (`Domain=.shop.test`)
  // need names, not IP addresses. Chromium bypasses the proxy for loopback addresses only, so the
  // names are listed too. Map rules apply in order: the shop's come before `MAP *`.
  '--proxy-bypass-list=shop.test;*.shop.test',
  '--host-resolver-rules=MAP shop.test 127.0.0.2, MAP www.shop.test 127.0.0.2, MAP * ~NOTFOUND, '
    + 'EXCLUDE 127.0.0.1, EXCLUDE 127.0.0.2, EXCLUDE 127.0.0.3, EXCLUDE localhost',
];

/** The shop's pages and trackers come from here (www/shop/site.toml). */
export const SHOP_HOST = 'www.shop.test';
export const SHOP_PARENT_HOST = 'shop.test';
const THIRD_PARTY_ADDRESS = '127.0.0.3';
/** The placeholder the shop's pages and scripts use for the third-party origin. */
const THIRD_PARTY_TOKEN = 'THIRD_PARTY_ORIGIN';

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css' };

/** A certificate for the loopback origins, made for this run (`dir` is the run's temporary
 * directory), with the base64 SHA-256 of its public key (its SPKI), which Chromium is told to
 * accept: `--ignore-certificate-errors-spki-list`. That switch, unlike
 * `--ignore-certificate-errors`, waives the errors of this one key only, so the pages stay
 * https with every rule that goes with it (a secure context, Secure and partitioned cookies),
 * and nothing is installed as a trusted root on a machine others share. Chromium reads the
 * switch only with `--user-data-dir`, which playwright always passes. */
function testCertificate(dir) {
  const key = join(dir, 'tls-key.pem');
  const cert = join(dir, 'tls-cert.pem');
  execFileSync(OPENSSL, [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-keyout', key, '-out', cert, '-subj', '/CN=Biscotte browser tests',
    '-addext', `subjectAltName=DNS:${SHOP_HOST},DNS:${SHOP_PARENT_HOST},IP:127.0.0.1,IP:127.0.0.2`,
  ], { stdio: 'ignore' });
  const tls = { key: readFileSync(key), cert: readFileSync(cert) };
  const der = new X509Certificate(tls.cert).publicKey.export({ type: 'spki', format: 'der' });
  return { tls, spki: createHash('sha256').update(der).digest('base64') };
}

/** Serves www/ on 127.0.0.2, rewriting the tag (`/biscotte.js`, `/sites/…`) to the Biscotte server and the
 * shop's third-party placeholder to the third-party origin. With `tls`, over https too, on a
 * port of its own: a page it serves there loads the tag through the server's TLS proxy. */
function startSecondOrigin(tls) {
  let serverBase = '';
  let secureServerBase = '';
  let thirdPartyBase = '';
  let pagePolicy = '';
  const serve = (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    let file = join(ROOT, 'www', path);
    if (path.endsWith('/')) file = join(file, 'index.html');
    if (!file.startsWith(join(ROOT, 'www')) || !existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    let body = readFileSync(file);
    if (extname(file) === '.html') {
      const base = req.socket.encrypted ? secureServerBase : serverBase;
      body = body.toString('utf8').replaceAll('src="/biscotte.js"', `src="${base}/biscotte.js"`)
        .replaceAll('src="/sites/', `src="${base}/sites/`);
    }
    if (thirdPartyBase && ['.html', '.js'].includes(extname(file))) {
      body = body.toString('utf8').replaceAll(THIRD_PARTY_TOKEN, thirdPartyBase);
    }
    const headers = { 'content-type': TYPES[extname(file)] || 'application/octet-stream', 'cache-control': 'no-store' };
    if (pagePolicy && extname(file) === '.html') headers['content-security-policy'] = pagePolicy;
    res.writeHead(200, headers);
    res.end(body);
  };
  const server = http.createServer(serve);
  const secure = tls ? createTlsServer(tls, serve) : null;
  return Promise.all([listen(server, '127.0.0.2'), secure && listen(secure, '127.0.0.2')]).then(() => ({
    base: `http://127.0.0.2:${server.address().port}`,
    port: server.address().port,
    secureBase: secure ? `https://127.0.0.2:${secure.address().port}` : undefined,
    securePort: secure?.address().port,
    setServer(b, secureB) { serverBase = b; secureServerBase = secureB; },
    setThirdParty(b) { thirdPartyBase = b; },
    setPolicy(p) { pagePolicy = p; },
    close: () => Promise.all([server, secure].filter(Boolean).map((s) => new Promise((r) => s.close(r)))),
  }));
}

function listen(server, address) {
  return new Promise((resolve) => server.listen(0, address, resolve));
}

/** A TLS-terminating proxy on 127.0.0.1 in front of the Biscotte server at `target`, as a
 * deployment's reverse proxy is: the server itself speaks http only. */
async function startTlsProxy(tls, target) {
  const to = new URL(target);
  const proxy = createTlsServer(tls, (req, res) => {
    const upstream = http.request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', (e) => res.writeHead(502).end(`proxy: ${e.message}`));
    req.pipe(upstream);
  });
  await listen(proxy, '127.0.0.1');
  return {
    base: `https://127.0.0.1:${proxy.address().port}`,
    close: () => new Promise((r) => { proxy.closeAllConnections(); proxy.close(r); }),
  };
}

// What a tracker's endpoint answers: a hit is taken and answered with nothing, as Google's are.
const HIT_PATHS = ['/g/collect', '/pagead/conversion', '/hit'];

/** Serves www/shop/vendor/ on 127.0.0.3 (the shop's trackers and embed) and logs every request it
 * gets, with the cookies it was sent: "nothing reached the third party" is then a log to read. */
function startThirdParty() {
  const dir = join(ROOT, 'www/shop/vendor');
  const log = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    log.push({ method: req.method, path: url.pathname, query: url.search, at: Date.now(), cookie: req.headers.cookie ?? '', referer: req.headers.referer ?? '' });
    const path = normalize(decodeURIComponent(url.pathname));
    const file = join(dir, path);
    if (HIT_PATHS.includes(path)) {
      res.writeHead(204, { 'cache-control': 'no-store' }).end();
      return;
    }
    if (!file.startsWith(dir) || !existsSync(file) || path.endsWith('/')) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] || 'application/octet-stream', 'cache-control': 'no-store' });
    res.end(readFileSync(file));
  });
  return new Promise((resolve) => {
    server.listen(0, THIRD_PARTY_ADDRESS, () => {
      resolve({
        base: `http://${THIRD_PARTY_ADDRESS}:${server.address().port}`,
        log,
        close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
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

/** The shop's site file, with the origins of the shop's host names on `port` registered, and
 * their https origins on `securePort` when there is one. */
export function shopSite(port, securePort) {
  const site = parse(readFileSync(join(ROOT, 'www/shop/site.toml'), 'utf8'));
  site.site.origins = [...site.site.origins, `http://${SHOP_HOST}:${port}`, `http://${SHOP_PARENT_HOST}:${port}`];
  if (securePort) site.site.origins.push(`https://${SHOP_HOST}:${securePort}`, `https://${SHOP_PARENT_HOST}:${securePort}`);
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
  return { proc, base, stderr: () => stderr };
}

/**
 * The server with the demo site, the second origin and Chromium. With `{ shop: true }`, also the
 * shop site (published, its origins registered) and the third-party origin that logs requests.
 * With `{ https: true }`, also the second origin's pages over https (their origins registered)
 * and the server behind a TLS proxy, which those pages load the tag from.
 */
export async function start({ shop = false, https = false } = {}) {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run ./dev build first`);
  const dir = mkdtempSync(join(tmpdir(), 'biscotte-browser-'));
  const dataDir = join(dir, 'store');
  const certificate = https ? testCertificate(dir) : null;
  const second = await startSecondOrigin(certificate?.tls);
  const site = demoSite([second.base, ...(https ? [second.secureBase] : [])]);
  writeFileSync(join(dir, 'site.toml'), stringify(site));
  cli(dataDir, 'site', 'create', '--file', join(dir, 'site.toml'));
  const sites = ['demo'];

  let thirdParty = null;
  let shopFile = null;
  if (shop) {
    thirdParty = await startThirdParty();
    second.setThirdParty(thirdParty.base);
    shopFile = shopSite(second.port, second.securePort);
    writeFileSync(join(dir, 'shop.toml'), stringify(shopFile));
    cli(dataDir, 'site', 'create', '--file', join(dir, 'shop.toml'));
    sites.push('shop');
  }

  const { proc, base, stderr } = await serve(dataDir);
  const proxy = https ? await startTlsProxy(certificate.tls, base) : null;
  second.setServer(base, proxy?.base);

  const args = https ? [...CHROMIUM_ARGS, `--ignore-certificate-errors-spki-list=${certificate.spki}`] : CHROMIUM_ARGS;
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args });
  const tokens = Object.fromEntries(sites.map((id) => [id, {
    auditor: cli(dataDir, 'token', 'issue', '--role', 'auditor', '--site', id),
    owner: cli(dataDir, 'token', 'issue', '--role', 'owner', '--site', id),
  }]));
  const tokenFor = (id, role) => {
    const token = tokens[id]?.[role];
    if (!token) throw new Error(`no site "${id}" in this run: start({ shop: true }) adds the shop`);
    return token;
  };

  return {
    base,
    second: second.base,
    browser,
    site,
    /** The shop's site file as published (undefined without `shop: true`). */
    shopSite: shopFile,
    /** The third-party origin the shop's trackers come from (`http://127.0.0.3:<port>`). */
    thirdParty: thirdParty?.base,
    /** The second origin over https (`https://127.0.0.2:<port>`; undefined without `https: true`). */
    secure: second.secureBase,
    /** A page of the shop on its host name, as a visitor reaches it: `shopUrl('recettes.html')`. */
    shopUrl(path = '', host = SHOP_HOST) {
      return `http://${host}:${second.port}/shop/${path}`;
    },
    /** The same page over https: `start({ shop: true, https: true })`. */
    secureShopUrl(path = '', host = SHOP_HOST) {
      if (!second.securePort) throw new Error('no https in this run: start({ shop: true, https: true })');
      return `https://${host}:${second.securePort}/shop/${path}`;
    },
    /** Every request the third-party origin got so far, oldest first: `{ method, path, query, at, cookie, referer }`. */
    thirdPartyRequests() {
      if (!thirdParty) throw new Error('no third-party origin in this run: start({ shop: true })');
      return thirdParty.log.map((r) => ({ ...r }));
    },
    /** A fresh visitor: own cookies, storage and cache, French locale. */
    async visitor() {
      const context = await browser.newContext({ locale: 'fr-FR' });
      const page = await context.newPage();
      page.on('pageerror', (e) => console.error('page error:', e.message));
      return { context, page };
    },
    /** The consent log of a site (`demo` unless named) as the auditor sees it (NDJSON records). */
    async records(siteId = 'demo') {
      const r = await fetch(`${base}/api/v1/sites/${siteId}/consents?format=ndjson`, { headers: { authorization: `Bearer ${tokenFor(siteId, 'auditor')}` } });
      if (r.status !== 200) throw new Error(`export: ${r.status} ${await r.text()}`);
      return (await r.text()).split('\n').filter(Boolean).map((l) => JSON.parse(l));
    },
    /** Sends `policy` as the Content-Security-Policy of every page of the second origin (127.0.0.2
     * and the shop's host names); an empty policy sends none. */
    pagePolicy: (policy) => second.setPolicy(policy),
    /** A bearer token of `role` (`auditor`, `owner`) for a site of this run. */
    token: tokenFor,
    /** Publishes a new revision of the site the file names (`[site] id`) through the owner API. */
    async publish(siteFile) {
      const id = siteFile.site?.id ?? 'demo';
      const r = await fetch(`${base}/api/v1/sites/${id}/revisions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokenFor(id, 'owner')}`, 'content-type': 'application/json' },
        body: JSON.stringify(siteFile),
      });
      if (r.status !== 201) throw new Error(`publish: ${r.status} ${await r.text()}`);
      return r.json();
    },
    async stop() {
      await browser.close();
      proc.kill('SIGTERM');
      await proxy?.close();
      await second.close();
      await thirdParty?.close();
      rmSync(dir, { recursive: true, force: true });
    },
    stderr,
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

/** Waits until the log of a site (`demo` unless named) holds `n` records for one consent id,
 * and returns them. */
export async function recordsOf(env, consentId, n, siteId = 'demo') {
  for (let i = 0; i < 100; i++) {
    const mine = (await env.records(siteId)).filter((r) => r.consent_id === consentId);
    if (mine.length >= n) return mine;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the log never reached ${n} records for consent id ${consentId}`);
}
