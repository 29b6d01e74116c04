#!/usr/bin/env node
// Side-by-side measurement of cookie-consent banners (see README.md).
//
//   node measure.mjs [--runs 10] [--only a,b] [--throttle 4] [--network loopback|mobile] [--settle 1000] [--out results]
//
// For every entry in entries/<name>/ (entry.json + index.html) and every run it does two
// loads, each in a fresh browser context: one that clicks the banner's "reject all" and one
// that clicks "accept all", then loads the page again in the same context (the returning
// visit: consent cookie, storage and HTTP cache kept). It records timing, layout shift, JS heap,
// requests, cookies, whether the gated stubs ran and when the first one ran on the returning
// visit, and the encoded bytes received from any other loopback origin (a banner's own server),
// then prints medians and behaviour tables and writes results/measure.json (raw data, read by
// sizes.py) and results/measure.md.

import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { chromium } from 'playwright-core';
import { ROOT, ENTRIES_DIR, startEntryServer, startBlackholeProxy } from './lib/server.mjs';

// ---------------------------------------------------------------- options
const argv = process.argv.slice(2);
function opt(name, def) {
  const i = argv.indexOf('--' + name);
  if (i === -1) return def;
  const v = argv[i + 1];
  if (v === undefined || v.startsWith('--')) return true;
  return v;
}
const RUNS = Number(opt('runs', process.env.RUNS || 10));
const ONLY = opt('only', process.env.ONLY || '');
const THROTTLE = Number(opt('throttle', process.env.THROTTLE || 1));
// Network profile of every page of every entry (README "Network profile"): loopback (none) or
// mobile. run.sh also takes `--network both` and then runs this script once per profile.
const NETWORK = String(opt('network', 'loopback'));
const SETTLE_MS = Number(opt('settle', 1000));
const COOLDOWN_MS = Number(opt('cooldown', 400));
const OUT = path.resolve(ROOT, opt('out', 'results'));
const RELOAD_CHECK = opt('no-reload-check', false) !== true;
// Cache-Control of the harness's page server for every file but HTML (see lib/server.mjs)
const STATIC_CACHE = String(opt('static-cache', 'public, max-age=86400'));
const NETLOG = opt('netlog', ''); // path: write a Chromium NetLog and list every socket address it opened
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const NECESSARY_COOKIE = 'necessary_session';
const TRACKER_COOKIES = [/^_ga$/, /^_gid$/, /^_hjSessionUser_123$/];
const VIEWPORT = { width: 1280, height: 800 };

// ---------------------------------------------------------------- network profiles
// mobile = Lighthouse's `mobileSlow4G` as Lighthouse applies it with throttlingMethod "devtools"
// (GoogleChrome/lighthouse core/config/constants.js and core/lib/emulation.js): a round trip of
// 150 ms times DEVTOOLS_RTT_ADJUSTMENT_FACTOR 3.75 as the request latency, 1.6 Mbit/s down and
// 750 kbit/s up times DEVTOOLS_THROUGHPUT_ADJUSTMENT_FACTOR 0.9, sent to
// Network.emulateNetworkConditions in bytes per second (kbit/s * 1024 / 8, floored), and the CPU
// slowed 4x (Emulation.setCPUThrottlingRate). Lighthouse's mobile screen and user-agent emulation
// are not applied: the viewport stays VIEWPORT for every profile.
const LH_RTT_FACTOR = 3.75, LH_THROUGHPUT_FACTOR = 0.9;
const NETWORK_PROFILES = {
  loopback: { label: 'loopback (no network emulation)', conditions: null, cpuRate: null },
  mobile: {
    label: 'mobile (Lighthouse mobileSlow4G, DevTools throttling: +562.5 ms latency a request, 1474.56 kbit/s down, 675 kbit/s up)',
    conditions: {
      offline: false,
      latency: 150 * LH_RTT_FACTOR, // 562.5 ms
      downloadThroughput: Math.floor((1.6 * 1024 * LH_THROUGHPUT_FACTOR) * 1024 / 8), // 188,743 B/s
      uploadThroughput: Math.floor((750 * LH_THROUGHPUT_FACTOR) * 1024 / 8), // 86,400 B/s
    },
    cpuRate: 4,
  },
};
if (!NETWORK_PROFILES[NETWORK]) {
  console.error(`measure.mjs: --network ${NETWORK}: expected ${Object.keys(NETWORK_PROFILES).join(' or ')} (run.sh also takes both)`);
  process.exit(2);
}
const PROFILE = NETWORK_PROFILES[NETWORK];
// The CPU slowdown of every page: --throttle, unless the profile brings its own (mobile: 4x).
const CPU_RATE = PROFILE.cpuRate ?? THROTTLE;
// Said on stderr and in the tables' header when --throttle is given with such a profile.
const THROTTLE_OVERRIDDEN = PROFILE.cpuRate !== null && opt('throttle', process.env.THROTTLE || null) !== null;
if (THROTTLE_OVERRIDDEN) process.stderr.write(`measure.mjs: network ${NETWORK}: the CPU is slowed ${PROFILE.cpuRate}x as the profile says; --throttle ${THROTTLE} applies to the loopback profile only\n`);

// Applies the profile (and --throttle) to the CDP session of a page, before it navigates: every
// page the harness opens (first visit, returning visit) goes through here.
async function applyProfile(cdp) {
  if (PROFILE.conditions) {
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', PROFILE.conditions);
  }
  if (CPU_RATE > 1) await cdp.send('Emulation.setCPUThrottlingRate', { rate: CPU_RATE });
}

// ---------------------------------------------------------------- entries
function loadEntries() {
  const names = fs.readdirSync(ENTRIES_DIR).filter((d) => !d.startsWith('_') && !d.startsWith('.'))
    .filter((d) => fs.existsSync(path.join(ENTRIES_DIR, d, 'entry.json')));
  const wanted = ONLY ? new Set(String(ONLY).split(',').map((s) => s.trim())) : null;
  const out = [];
  for (const n of names.sort()) {
    if (wanted && !wanted.has(n) && n !== 'baseline') continue;
    const dir = path.join(ENTRIES_DIR, n);
    const e = JSON.parse(fs.readFileSync(path.join(dir, 'entry.json'), 'utf8'));
    e.name = e.name || n;
    e.dir = dir;
    e.control = !!e.control;
    e.config = e.config || [];
    if (!e.control) {
      for (const k of ['banner', 'reject', 'accept']) {
        if (!e.selectors || !e.selectors[k]) throw new Error(`${n}/entry.json: selectors.${k} is required`);
      }
    }
    if (e.package) {
      try {
        e.version = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', e.package, 'package.json'), 'utf8')).version;
      } catch { e.version = '?'; }
    }
    e.label = e.label || (e.version ? `${e.name} ${e.version}` : e.name);
    out.push(e);
  }
  // baseline (control) first
  out.sort((a, b) => (b.control - a.control) || a.name.localeCompare(b.name));
  return out;
}

// ---------------------------------------------------------------- in-page instrumentation
// Runs before any page script, in every document of the context (top frame only).
function instrument(cfg) {
  if (window.top !== window) return;
  // cfg.pierce (entry.json "pierceShadow": true): selectors also match inside open shadow roots
  // (any depth). Off for entries that do not ask, so their per-frame work is unchanged.
  const qsa = (sel) => {
    const found = [...document.querySelectorAll(sel)];
    if (!cfg.pierce) return found;
    const walk = (root) => {
      for (const el of root.querySelectorAll('*')) {
        if (el.shadowRoot) { found.push(...el.shadowRoot.querySelectorAll(sel)); walk(el.shadowRoot); }
      }
    };
    walk(document);
    return found;
  };
  const H = (window.__harness = {
    cfg, qsa, bannerVisibleAt: null, bannerOpaqueAt: null, hiddenAt: null, pointerDownAt: null,
    shifts: [], lcp: [], events: [], errors: [], frames: 0,
  });
  const po = (type, fn, extra) => {
    try { new PerformanceObserver((l) => l.getEntries().forEach(fn)).observe({ type, buffered: true, ...extra }); }
    catch (e) { H.errors.push(type + ': ' + e); }
  };
  po('layout-shift', (e) => H.shifts.push({ v: e.value, input: e.hadRecentInput, t: e.startTime }));
  po('largest-contentful-paint', (e) => {
    let inBanner = false;
    try { inBanner = !!(cfg.banner && e.element && e.element.closest && qsa(cfg.banner).some((b) => b.contains(e.element))); } catch { /* ignore */ }
    H.lcp.push({ t: e.startTime, size: e.size, inBanner, tag: e.element ? e.element.tagName : null });
  });
  po('event', (e) => H.events.push({ name: e.name, dur: e.duration, start: e.startTime, id: e.interactionId || 0 }), { durationThreshold: 16 });
  addEventListener('pointerdown', () => { H.pointerDownAt = performance.now(); }, true);

  function effectiveOpacity(el) {
    let o = 1;
    // parentElement, or the shadow host when el is at the top of a shadow tree
    for (let e = el; e && e.nodeType === 1; e = e.parentElement || (e.parentNode && e.parentNode.host) || null) {
      const cs = getComputedStyle(e);
      if (cs.display === 'none') return 0;
      o *= parseFloat(cs.opacity);
      if (o === 0) return 0;
    }
    return o;
  }
  // A banner element is "visible" when it has a box that intersects the viewport,
  // is not visibility:hidden and its effective (ancestor-multiplied) opacity is > 0.
  function bannerOpacity() {
    if (!cfg.banner) return 0;
    let best = 0;
    for (const el of qsa(cfg.banner)) {
      const r = el.getBoundingClientRect();
      if (r.width <= 0 || r.height <= 0) continue;
      if (r.bottom <= 0 || r.right <= 0 || r.top >= innerHeight || r.left >= innerWidth) continue;
      if (getComputedStyle(el).visibility === 'hidden') continue;
      best = Math.max(best, effectiveOpacity(el));
    }
    return best;
  }
  H.bannerOpacity = bannerOpacity;
  H.isBannerVisible = () => bannerOpacity() > 0.01;
  const started = performance.now();
  function tick() {
    H.frames++;
    const o = bannerOpacity();
    const now = performance.now();
    if (o > 0.01 && H.bannerVisibleAt === null) H.bannerVisibleAt = now;
    if (o >= 0.99 && H.bannerOpaqueAt === null) H.bannerOpaqueAt = now;
    if (H.bannerOpaqueAt === null && now - started < 20000) requestAnimationFrame(tick);
  }
  if (cfg.banner) requestAnimationFrame(tick);
}

// ---------------------------------------------------------------- helpers
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const quantile = (xs, q) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const pos = (v.length - 1) * q, lo = Math.floor(pos), hi = Math.ceil(pos);
  return v[lo] + (v[hi] - v[lo]) * (pos - lo);
};
function clsSessionWindow(shifts) {
  // web-vitals definition: max over session windows (gap < 1 s, window < 5 s), input shifts excluded
  let max = 0, cur = 0, first = 0, last = 0;
  for (const s of shifts.filter((x) => !x.input).sort((a, b) => a.t - b.t)) {
    if (cur && s.t - last < 1000 && s.t - first < 5000) { cur += s.v; last = s.t; }
    else { cur = s.v; first = last = s.t; }
    max = Math.max(max, cur);
  }
  return max;
}
function decodeCookieValue(v) {
  if (v == null) return null;
  let s = v;
  try { s = decodeURIComponent(v); } catch { /* keep */ }
  try { return JSON.parse(s); } catch { /* not JSON */ }
  try {
    const b = Buffer.from(s, 'base64').toString('utf8');
    if (/^[\[{]/.test(b)) return JSON.parse(b);
  } catch { /* not base64 JSON */ }
  return s;
}
const isTracker = (name) => TRACKER_COOKIES.some((re) => re.test(name));
const fmtCookie = (c) => ({
  name: c.name, value: c.value, domain: c.domain, path: c.path, sameSite: c.sameSite, secure: c.secure, httpOnly: c.httpOnly,
  lifetimeDays: c.expires > 0 ? +(((c.expires * 1000) - Date.now()) / 86400000).toFixed(2) : 'session',
});

async function pageState(page) {
  return page.evaluate(() => {
    const H = window.__harness || {};
    const nav = performance.getEntriesByType('navigation')[0];
    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
    const ls = {}; const ss = {};
    try { for (let i = 0; i < localStorage.length; i++) { const k = localStorage.key(i); ls[k] = String(localStorage.getItem(k)).slice(0, 2000); } } catch { /* ignore */ }
    try { for (let i = 0; i < sessionStorage.length; i++) { const k = sessionStorage.key(i); ss[k] = String(sessionStorage.getItem(k)).slice(0, 2000); } } catch { /* ignore */ }
    const main = document.querySelector('main'), header = document.querySelector('header');
    let h = 0; const txt = (header ? header.outerHTML : '') + (main ? main.outerHTML : '');
    for (let i = 0; i < txt.length; i++) h = (Math.imul(h, 31) + txt.charCodeAt(i)) | 0;
    return {
      bannerVisibleAt: H.bannerVisibleAt, bannerOpaqueAt: H.bannerOpaqueAt, hiddenAt: H.hiddenAt, pointerDownAt: H.pointerDownAt,
      fcp: fcp ? fcp.startTime : null,
      dcl: nav ? nav.domContentLoadedEventEnd : null,
      load: nav ? nav.loadEventEnd : null,
      shifts: (H.shifts || []).slice(), lcp: (H.lcp || []).slice(), events: (H.events || []).slice(),
      stubRuns: (window.__stubRuns || []).slice(), localStorage: ls, sessionStorage: ss,
      contentHash: h, instrumentationErrors: H.errors || [],
      timeOrigin: performance.timeOrigin,
    };
  });
}

async function firstLayer(page, sel) {
  return page.evaluate((sel) => {
    const H = window.__harness;
    const visible = (el) => {
      if (!el) return false;
      const r = el.getBoundingClientRect();
      return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden';
    };
    const qsa = H ? H.qsa : (s) => [...document.querySelectorAll(s)];
    const banner = qsa(sel.banner).find(visible) || null;
    const pick = (s) => {
      const all = qsa(s);
      const el = all.find(visible) || all[0] || null;
      return {
        present: !!el, visible: visible(el), inBanner: !!(banner && el && banner.contains(el)),
        text: el ? (el.innerText || el.textContent || '').replace(/\s+/g, ' ').trim() : null,
      };
    };
    return { bannerFound: !!banner, bannerOpacity: H ? H.bannerOpacity() : null, reject: pick(sel.reject), accept: pick(sel.accept) };
  }, sel);
}

// ---------------------------------------------------------------- one load
const isLoopbackHost = (h) => /^127\./.test(h) || h === 'localhost';

// entry.json "config": the site's own configuration, reported apart from the library by
// sizes.py. An item matches a request by its path ("/consent-config.js"), its URL without the
// query, or its full URL; an item ending in "*" matches every request whose URL (or path) starts
// with what precedes the star, so one item covers every layout of a banner server's config routes.
function isConfig(entry, url) {
  let u;
  try { u = new URL(url, 'http://entry.invalid'); } catch { return false; }
  const forms = [url, u.pathname, u.pathname + u.search, u.origin + u.pathname, u.origin + u.pathname + u.search];
  return entry.config.some((c) => (c.endsWith('*') ? forms.some((f) => f.startsWith(c.slice(0, -1))) : forms.includes(c)));
}

// The request headers that can change what a server answers for the same URL; sizes.py sends
// them again when it fetches a remote file anew.
const REPLAYED_HEADERS = ['origin', 'accept', 'accept-language'];

async function measureLoad(browser, entry, server, flow, { screenshot } = {}) {
  const ctx = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1, locale: 'en-US' });
  await ctx.addInitScript(instrument, { banner: entry.control ? null : entry.selectors.banner, pierce: !!entry.pierceShadow });
  let page = await ctx.newPage();
  const rec = { entry: entry.name, flow, errors: [], requests: [], externalRequests: [], wire: [] };
  let phase = 'pre';
  const entryOrigin = new URL(server.url).origin;
  // GET 200 responses from another loopback origin than the entry's server (e.g. the banner's own
  // server on its own port), keyed by full URL: sizes.py fetches them again by URL.
  const remote = new Map();
  const pending = []; // async look-ups (sizes, headers) that must end before the context closes
  const watch = (p) => {
    const phaseOf = new WeakMap(); // the phase in which each request started
    p.on('request', (r) => {
      phaseOf.set(r, phase);
      const u = new URL(r.url());
      const local = u.protocol === 'data:' || u.protocol === 'blob:' || isLoopbackHost(u.hostname);
      if (!local) rec.externalRequests.push({ phase, url: r.url() });
      if (u.protocol === 'http:' || u.protocol === 'https:') rec.requests.push({ phase, url: r.url(), type: r.resourceType(), path: u.pathname });
    });
    p.on('pageerror', (e) => rec.errors.push({ phase, kind: 'pageerror', text: String(e.message || e).slice(0, 300) }));
    p.on('console', (m) => { if (m.type() === 'error') rec.errors.push({ phase, kind: 'console', text: m.text().slice(0, 300) }); });
    p.on('response', (r) => {
      try {
        const u = new URL(r.url());
        if (!isLoopbackHost(u.hostname) || u.origin === entryOrigin || r.request().method() !== 'GET' || r.status() !== 200) return;
        if (remote.has(r.url())) return;
        const f = { phase, url: r.url(), path: u.origin + u.pathname + u.search, response: r, headers: {} };
        remote.set(r.url(), f);
        pending.push(r.request().allHeaders().then((h) => {
          for (const k of REPLAYED_HEADERS) if (h[k] !== undefined) f.headers[k] = h[k];
        }, () => {}));
      } catch { /* ignore */ }
    });
    // What crossed the wire from another loopback origin: the encoded (compressed) body as the
    // browser received it (Playwright: CDP Network.loadingFinished.encodedDataLength minus the
    // response headers) and the Content-Encoding it came with.
    p.on('requestfinished', (r) => {
      let u;
      try { u = new URL(r.url()); } catch { return; }
      if (!isLoopbackHost(u.hostname) || u.origin === entryOrigin) return;
      const ph = phaseOf.get(r) || phase;
      pending.push((async () => {
        const resp = await r.response();
        const sizes = await r.sizes();
        const t = r.timing();
        rec.wire.push({
          phase: ph, url: r.url(), path: u.origin + u.pathname + u.search, method: r.method(),
          status: resp ? resp.status() : null,
          contentEncoding: resp ? await resp.headerValue('content-encoding') : null,
          contentLength: resp ? await resp.headerValue('content-length') : null,
          bodyBytes: sizes.responseBodySize, headerBytes: sizes.responseHeadersSize,
          startWallMs: t.startTime, // ms since the epoch; made page-relative in summarise()
          responseEndMs: t.responseEnd, // ms after startWallMs, -1 when unknown
        });
      })().catch((e) => rec.errors.push({ phase: ph, kind: 'harness', text: `sizes of ${r.url()}: ${String(e.message || e).split('\n')[0]}` })));
    });
  };
  watch(page);
  const cdp = await ctx.newCDPSession(page);
  await applyProfile(cdp);
  rec.timeDomain = await cdp.send('Performance.enable', { timeDomain: 'threadTicks' })
    .then(() => 'threadTicks', () => cdp.send('Performance.enable').then(() => 'timeTicks'));
  const logStart = server.log.length;
  try {
    await page.goto(server.url, { waitUntil: 'load', timeout: 30000 });
    if (!entry.control) {
      await page.waitForFunction(() => window.__harness && window.__harness.bannerVisibleAt !== null, null, { timeout: 15000, polling: 100 })
        .catch(() => rec.errors.push({ phase, kind: 'harness', text: 'banner never became visible (15 s)' }));
      await page.waitForFunction(() => window.__harness.bannerOpaqueAt !== null, null, { timeout: 3000, polling: 100 }).catch(() => {});
    }
    await sleep(SETTLE_MS);
    if (screenshot) await page.screenshot({ path: screenshot }).catch(() => {});

    // ---- before any click
    rec.pre = await pageState(page);
    rec.pre.cookies = (await ctx.cookies()).map(fmtCookie);
    rec.pre.stubRequests = server.log.slice(logStart).filter((l) => l.path.startsWith('/stub/')).map((l) => l.path);
    const pm = Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
    rec.mainThread = { // seconds -> ms, main-thread work of this document up to now (before any click)
      scriptMs: pm.ScriptDuration * 1000, layoutMs: pm.LayoutDuration * 1000,
      styleMs: pm.RecalcStyleDuration * 1000, taskMs: pm.TaskDuration * 1000,
      nodes: pm.Nodes, layoutCount: pm.LayoutCount, styleCount: pm.RecalcStyleCount, timeDomain: rec.timeDomain,
    };
    const heapBefore = await cdp.send('Runtime.getHeapUsage');
    await cdp.send('HeapProfiler.collectGarbage');
    const heapAfter = await cdp.send('Runtime.getHeapUsage');
    rec.heap = { usedBeforeGC: heapBefore.usedSize, usedAfterGC: heapAfter.usedSize, totalAfterGC: heapAfter.totalSize };
    rec.preRequestCount = rec.requests.length;

    if (!entry.control) {
      rec.firstLayer = await firstLayer(page, entry.selectors);
      // ---- click
      phase = 'post';
      const target = flow === 'reject' ? entry.selectors.reject : entry.selectors.accept;
      const logClick = server.log.length;
      try {
        await page.click(target, { timeout: 5000 });
        rec.clicked = true;
      } catch (e) {
        rec.clicked = false;
        rec.errors.push({ phase, kind: 'harness', text: `could not click ${flow}: ${String(e.message).split('\n')[0]}` });
      }
      rec.hidden = await page.waitForFunction(() => {
        const H = window.__harness;
        if (!H.isBannerVisible()) { if (H.hiddenAt === null) H.hiddenAt = performance.now(); return true; }
        return false;
      }, null, { timeout: 5000, polling: 'raf' }).then(() => true, () => false);
      if (flow === 'accept') {
        await page.waitForFunction(() => (window.__stubRuns || []).length >= 2, null, { timeout: 3000, polling: 50 }).catch(() => {});
      }
      await sleep(500);
      rec.post = await pageState(page);
      rec.post.cookies = (await ctx.cookies()).map(fmtCookie);
      rec.post.stubRequests = server.log.slice(logClick).filter((l) => l.path.startsWith('/stub/')).map((l) => l.path);
      // the consent record: the cookie named in entry.json, else any new non-tracker cookie
      let c = entry.consentCookie ? rec.post.cookies.find((k) => k.name === entry.consentCookie) : null;
      if (!c) c = rec.post.cookies.find((k) => k.name !== NECESSARY_COOKIE && !isTracker(k.name));
      rec.post.consentCookie = c ? { ...c, decoded: decodeCookieValue(c.value), expectedName: entry.consentCookie || null } : null;

      // ---- returning visit: a second page load in the same context (consent cookie,
      // localStorage and HTTP cache kept), in a new tab after the first one is closed, as a
      // visitor coming back later would. Is the choice remembered and applied, and how soon does
      // the first accepted script run?
      // First, the bodies of the remote files while the first page still holds them: sizes.py
      // checks that its own fetch of each URL gets the same bytes as the browser did.
      for (const f of remote.values()) {
        try { f.decodedBytes = (await f.response.body()).length; } catch { /* body evicted: no check */ }
      }
      if (RELOAD_CHECK) {
        rec.returning = await returningVisit(ctx, page, server, flow, watch, (p) => { phase = p; });
        page = null;
      }
    }
  } catch (e) {
    rec.errors.push({ phase, kind: 'harness', text: String(e.message || e).split('\n')[0] });
  } finally {
    await Promise.allSettled(pending);
    await ctx.close().catch(() => {});
    await sleep(COOLDOWN_MS); // let the renderer process go away before the next load
  }
  // map every successful same-origin request to a local file (sizes.py uses this)
  const seen = new Map();
  for (const l of server.log.slice(logStart)) {
    if (!l.file || l.status !== 200) continue;
    const p = l.path.split('?')[0];
    if (seen.has(p)) continue;
    let kind = 'library';
    if (p === '/' || p === '/index.html') kind = 'document';
    else if (p.startsWith('/stub/')) kind = 'stub';
    else if (isConfig(entry, p)) kind = 'config';
    seen.set(p, { path: p, file: path.relative(ROOT, l.file), kind });
  }
  for (const r of remote.values()) {
    if (seen.has(r.path)) continue;
    const f = { path: r.path, file: null, url: r.url, kind: isConfig(entry, r.url) ? 'config' : 'library', headers: r.headers };
    if (r.decodedBytes !== undefined) f.decodedBytes = r.decodedBytes;
    seen.set(r.path, f);
  }
  rec.files = [...seen.values()];
  return rec;
}

// The returning visit of one load: closes `page`, opens a new tab in the same context and loads
// the entry's page again. The HTML is refetched (lib/server.mjs sends it no-store); every other
// response is cached or not as its server said. The time of the first accepted script is the
// `performance.now()` (origin: this navigation's start) that the stub itself pushes to
// window.__stubRuns when it runs (stub/ga.js, stub/hotjar.js), the same for every entry.
async function returningVisit(ctx, page, server, flow, watch, setPhase) {
  setPhase('return');
  await page.close();
  const p = await ctx.newPage();
  watch(p);
  const cdp = await ctx.newCDPSession(p);
  await applyProfile(cdp);
  // Which responses came from the HTTP cache, which were revalidated (304), which crossed the
  // network, and the bytes they took (headers + encoded body).
  const net = new Map();
  cdp.on('Network.requestWillBeSent', (e) => {
    if (/^https?:/.test(e.request.url)) net.set(e.requestId, { url: e.request.url, status: null, cache: false, bytes: 0 });
  });
  cdp.on('Network.requestServedFromCache', (e) => { const x = net.get(e.requestId); if (x) x.cache = true; });
  cdp.on('Network.responseReceived', (e) => {
    const x = net.get(e.requestId);
    if (x) { x.status = e.response.status; if (e.response.fromDiskCache || e.response.fromPrefetchCache) x.cache = true; }
  });
  cdp.on('Network.loadingFinished', (e) => { const x = net.get(e.requestId); if (x) x.bytes = e.encodedDataLength; });
  // The status as it came over the wire: a revalidated response is reported to the page (and
  // in responseReceived) as the cached 200; only the raw headers say 304. The extra-info event
  // may come before or after the others, hence its own map.
  const wireStatus = new Map();
  cdp.on('Network.responseReceivedExtraInfo', (e) => wireStatus.set(e.requestId, e.statusCode));
  await cdp.send('Network.enable');
  await p.goto(server.url, { waitUntil: 'load', timeout: 30000 });
  const loadedAt = Date.now();
  if (flow === 'accept') {
    await p.waitForFunction(() => (window.__stubRuns || []).length >= 2, null, { timeout: 5000, polling: 50 }).catch(() => {});
  }
  // At least 1.5 s after load, so a banner that shows late is seen too.
  await sleep(Math.max(0, 1500 - (Date.now() - loadedAt)));
  const st = await p.evaluate(() => {
    const H = window.__harness;
    const nav = performance.getEntriesByType('navigation')[0];
    return {
      bannerVisibleAt: H ? H.bannerVisibleAt : null, visibleNow: H ? H.isBannerVisible() : null,
      stubRuns: (window.__stubRuns || []).slice(), load: nav ? nav.loadEventEnd : null, dcl: nav ? nav.domContentLoadedEventEnd : null,
      timeOrigin: performance.timeOrigin,
      // Where the time went: each resource's start and end (ms since navigation start) and its
      // transferred bytes (0: from the HTTP cache, when the origin allows reading it).
      resources: [{ name: 'document', startTime: 0, responseEnd: nav ? nav.responseEnd : null, transferSize: nav ? nav.transferSize : null }]
        .concat(performance.getEntriesByType('resource'), performance.getEntriesByType('mark'))
        .map((e) => ({ url: e.name, start: Math.round(e.startTime), end: Math.round(e.responseEnd ?? e.startTime), transferSize: e.transferSize })),
    };
  });
  const reqs = [...net.entries()].map(([id, r]) => ({ ...r, wireStatus: wireStatus.get(id) ?? null }));
  const firstStub = st.stubRuns.length ? Math.min(...st.stubRuns.map((s) => s.t)) : null;
  return {
    // shown in any animation frame since the document started (the init script's per-frame check)
    bannerShown: st.bannerVisibleAt !== null || !!st.visibleNow,
    bannerVisibleAt: st.bannerVisibleAt,
    stubsRan: st.stubRuns.map((s) => s.stub), stubRuns: st.stubRuns, firstStubMs: firstStub, resources: st.resources,
    loadMs: st.load, dclMs: st.dcl, timeOrigin: st.timeOrigin,
    requests: reqs.length,
    fromCache: reqs.filter((r) => r.cache).length,
    revalidated: reqs.filter((r) => !r.cache && r.wireStatus === 304).length,
    network: reqs.filter((r) => !r.cache).length,
    networkBytes: reqs.filter((r) => !r.cache).reduce((n, r) => n + r.bytes, 0),
    list: reqs.map((r) => ({ url: r.url, status: r.status, wireStatus: r.wireStatus, cache: r.cache, bytes: r.bytes })),
  };
}

// ---------------------------------------------------------------- summarise
function summarise(entry, loads) {
  const pre = loads.filter((l) => l.pre);
  const cls = (l) => clsSessionWindow(l.pre ? l.pre.shifts : []);
  const clsTotal = (l) => clsSessionWindow((l.post || l.pre || { shifts: [] }).shifts);
  const lcp = (l) => (l.pre && l.pre.lcp.length ? l.pre.lcp[l.pre.lcp.length - 1] : null);
  const inp = (l) => {
    if (!l.post) return null;
    const ev = l.post.events.filter((e) => e.id > 0 && l.post.pointerDownAt !== null && e.start >= l.post.pointerDownAt - 50);
    return ev.length ? Math.max(...ev.map((e) => e.dur)) : 0; // 0 => below the 16 ms Event Timing threshold
  };
  const s = {
    name: entry.name, label: entry.label, control: entry.control, loads: loads.length,
    bannerVisibleMs: pre.map((l) => l.pre.bannerVisibleAt),
    bannerOpaqueMs: pre.map((l) => l.pre.bannerOpaqueAt),
    fcpMs: pre.map((l) => l.pre.fcp), dclMs: pre.map((l) => l.pre.dcl), loadMs: pre.map((l) => l.pre.load),
    lcpMs: pre.map((l) => (lcp(l) ? lcp(l).t : null)),
    lcpInBanner: pre.filter((l) => lcp(l) && lcp(l).inBanner).length,
    clsPre: pre.map(cls), clsTotal: pre.map(clsTotal),
    heapAfterGC: loads.filter((l) => l.heap).map((l) => l.heap.usedAfterGC),
    scriptMs: loads.filter((l) => l.mainThread).map((l) => l.mainThread.scriptMs),
    taskMs: loads.filter((l) => l.mainThread).map((l) => l.mainThread.taskMs),
    styleLayoutMs: loads.filter((l) => l.mainThread).map((l) => l.mainThread.styleMs + l.mainThread.layoutMs),
    domNodes: loads.filter((l) => l.mainThread).map((l) => l.mainThread.nodes),
    heapBeforeGC: loads.filter((l) => l.heap).map((l) => l.heap.usedBeforeGC),
    requestsPre: pre.map((l) => l.preRequestCount),
    requestsAfterAccept: loads.filter((l) => l.flow === 'accept').map((l) => l.requests.filter((r) => r.phase !== 'return').length),
    clickToHiddenMs: loads.filter((l) => l.post && l.post.hiddenAt !== null && l.post.pointerDownAt !== null).map((l) => l.post.hiddenAt - l.post.pointerDownAt),
    clickEventMs: loads.map(inp).filter((x) => x !== null),
    errors: loads.flatMap((l) => l.errors.map((e) => `${l.flow}/${e.phase}/${e.kind}: ${e.text}`)),
    externalRequests: loads.flatMap((l) => l.externalRequests.map((e) => e.url)),
    contentHashes: [...new Set(pre.map((l) => l.pre.contentHash))],
  };
  if (!entry.control) {
    const rej = loads.filter((l) => l.flow === 'reject');
    const acc = loads.filter((l) => l.flow === 'accept');
    const names = (cs) => cs.map((c) => c.name).sort();
    const fl = loads.map((l) => l.firstLayer).find(Boolean) || {};
    s.behaviour = {
      rejectOnFirstLayer: fl.reject ? (fl.reject.visible && fl.reject.inBanner) : false,
      rejectLabel: fl.reject ? fl.reject.text : null,
      acceptOnFirstLayer: fl.accept ? (fl.accept.visible && fl.accept.inBanner) : false,
      acceptLabel: fl.accept ? fl.accept.text : null,
      preClickCookieSets: [...new Set(pre.map((l) => names(l.pre.cookies).join(',')))],
      preClickOnlyNecessary: pre.filter((l) => names(l.pre.cookies).join(',') === NECESSARY_COOKIE).length,
      preClickStubsRan: pre.filter((l) => l.pre.stubRuns.length || l.pre.stubRequests.length).length,
      preClickStorageKeys: [...new Set(pre.flatMap((l) => Object.keys(l.pre.localStorage)))],
      preClickExtraCookies: (pre.find((l) => l.pre.cookies.some((c) => c.name !== NECESSARY_COOKIE)) || { pre: { cookies: [] } }).pre.cookies.filter((c) => c.name !== NECESSARY_COOKIE),
      reject: {
        n: rej.length,
        clicked: rej.filter((l) => l.clicked).length,
        bannerHidden: rej.filter((l) => l.hidden).length,
        stubsRan: rej.filter((l) => l.post && (l.post.stubRuns.length || l.post.stubRequests.length)).length,
        trackerCookies: rej.filter((l) => l.post && l.post.cookies.some((c) => isTracker(c.name))).length,
        cookieSets: [...new Set(rej.filter((l) => l.post).map((l) => names(l.post.cookies).join(',')))],
        consentCookie: (rej.find((l) => l.post && l.post.consentCookie) || {}).post?.consentCookie || null,
        storage: (rej.find((l) => l.post) || {}).post?.localStorage || {},
        returnBannerShown: rej.filter((l) => l.returning && l.returning.bannerShown).length,
        returnStubsRan: rej.filter((l) => l.returning && l.returning.stubsRan.length).length,
      },
      accept: {
        n: acc.length,
        clicked: acc.filter((l) => l.clicked).length,
        bannerHidden: acc.filter((l) => l.hidden).length,
        bothStubsRan: acc.filter((l) => l.post && ['ga', 'hotjar'].every((k) => l.post.stubRuns.some((r) => r.stub === k))).length,
        allTrackerCookies: acc.filter((l) => l.post && ['_ga', '_gid', '_hjSessionUser_123'].every((k) => l.post.cookies.some((c) => c.name === k))).length,
        cookieSets: [...new Set(acc.filter((l) => l.post).map((l) => names(l.post.cookies).join(',')))],
        consentCookie: (acc.find((l) => l.post && l.post.consentCookie) || {}).post?.consentCookie || null,
        storage: (acc.find((l) => l.post) || {}).post?.localStorage || {},
        returnBannerShown: acc.filter((l) => l.returning && l.returning.bannerShown).length,
        returnBothStubsRan: acc.filter((l) => l.returning && ['ga', 'hotjar'].every((k) => l.returning.stubsRan.includes(k))).length,
      },
    };
  }
  if (!entry.control) {
    // returning visits (see returningVisit): the timing is of the accept flow's
    const ret = loads.filter((l) => l.returning);
    const acc = ret.filter((l) => l.flow === 'accept'), rej = ret.filter((l) => l.flow === 'reject');
    const col = (ls, k) => ls.map((l) => l.returning[k]);
    s.returning = {
      accepts: acc.length, rejects: rej.length,
      firstAcceptedScriptMs: col(acc, 'firstStubMs').filter((x) => x !== null),
      bothStubsRan: acc.filter((l) => ['ga', 'hotjar'].every((k) => l.returning.stubsRan.includes(k))).length,
      bannerShownAfterAccept: acc.filter((l) => l.returning.bannerShown).length,
      bannerShownAfterReject: rej.filter((l) => l.returning.bannerShown).length,
      loadMs: col(acc, 'loadMs'), requests: col(acc, 'requests'), fromCache: col(acc, 'fromCache'),
      revalidated: col(acc, 'revalidated'), network: col(acc, 'network'), networkBytes: col(acc, 'networkBytes'),
      // paths on the page's own port, URLs of any other origin shown with their port
      firstNetworkList: acc.length && acc[0].returning.list.length ? acc[0].returning.list.filter((x) => !x.cache).map((x) => {
        const u = new URL(x.url), doc = new URL(acc[0].returning.list[0].url);
        return `${u.origin === doc.origin ? '' : ':' + u.port}${u.pathname}${u.search} ${x.wireStatus ?? x.status}`;
      }) : null,
    };
  }
  s.wire = summariseWire(entry, pre);
  // union of files loaded over all loads (for sizes.py); a record with the browser's decoded
  // size is preferred, for sizes.py's same-bytes check
  const files = new Map();
  for (const l of loads) {
    for (const f of l.files || []) {
      const had = files.get(f.path);
      if (!had || (had.decodedBytes === undefined && f.decodedBytes !== undefined)) files.set(f.path, f);
    }
  }
  s.files = [...files.values()];
  return s;
}

// What crossed the wire from another loopback origin than the entry's server (a banner's own
// server) during the first visits, before the click, per URL and per load. "Before the banner
// was visible" compares the request's start (its wall-clock start minus the document's
// performance.timeOrigin) with the load's bannerVisibleAt; the per-load total counts only those.
function summariseWire(entry, loads) {
  const byUrl = new Map();
  const totals = [];
  for (const l of loads) {
    const ws = (l.wire || []).filter((w) => w.phase === 'pre');
    if (!ws.length) continue;
    const vis = l.pre.bannerVisibleAt, origin = l.pre.timeOrigin;
    let total = 0;
    for (const w of ws) {
      // A response from the browser's cache has no body on the wire: CDP reports an
      // encodedDataLength below the size of its (cached) headers, so Playwright's body size is
      // negative. Counted apart, in neither the bytes nor the total.
      if (w.bodyBytes < 0) {
        const x = byUrl.get(w.url);
        if (x) x.fromCache++;
        continue;
      }
      const startMs = origin ? w.startWallMs - origin : null;
      const before = vis === null || startMs === null || startMs <= vis;
      if (before) total += w.bodyBytes;
      if (!byUrl.has(w.url)) {
        byUrl.set(w.url, {
          url: w.url, path: w.path, method: w.method, kind: isConfig(entry, w.url) ? 'config' : 'library',
          status: [], contentEncoding: [], bodyBytes: [], headerBytes: [], contentLength: [], startMs: [], afterBannerVisible: 0, fromCache: 0, n: 0,
        });
      }
      const x = byUrl.get(w.url);
      x.n++;
      if (!x.status.includes(w.status)) x.status.push(w.status);
      if (!x.contentEncoding.includes(w.contentEncoding)) x.contentEncoding.push(w.contentEncoding);
      if (w.contentLength !== null && !x.contentLength.includes(w.contentLength)) x.contentLength.push(w.contentLength);
      x.bodyBytes.push(w.bodyBytes);
      x.headerBytes.push(w.headerBytes);
      if (startMs !== null) x.startMs.push(startMs);
      if (!before) x.afterBannerVisible++;
    }
    totals.push(total);
  }
  if (!totals.length) return null;
  const files = [...byUrl.values()].filter((x) => x.bodyBytes.length).map((x) => ({
    ...x, bodyBytesMedian: median(x.bodyBytes), bodyBytesMin: Math.min(...x.bodyBytes), bodyBytesMax: Math.max(...x.bodyBytes),
    startMsMedian: median(x.startMs),
  })).sort((a, b) => (a.startMsMedian ?? 0) - (b.startMsMedian ?? 0));
  return { loads: totals.length, totalBodyBytes: totals, totalBodyBytesMedian: median(totals), files };
}

// ---------------------------------------------------------------- tables
const f0 = (x) => (x === null || x === undefined ? '–' : String(Math.round(x)));
const f3 = (x) => (x === null || x === undefined ? '–' : x.toFixed(3));
const kb = (x) => (x === null || x === undefined ? '–' : (x / 1024).toFixed(0));
const iqr = (xs, fmt = f0) => {
  const m = median(xs);
  if (m === null) return '–';
  return `${fmt(m)} (${fmt(quantile(xs, 0.25))}–${fmt(quantile(xs, 0.75))})`;
};
function mdTable(head, rows) {
  const esc = (c) => String(c).replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}
function short(v, n = 160) {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

function render(summaries, meta) {
  const base = summaries.find((s) => s.control);
  const baseHeap = base ? median(base.heapAfterGC) : null;
  const out = [];
  const cpu = `CPU throttle ${meta.throttle}x${PROFILE.cpuRate !== null ? ` (the profile's${THROTTLE_OVERRIDDEN ? `; --throttle ${meta.throttleOption} applies to loopback only` : ''})` : ''}`;
  out.push(`Network profile: ${PROFILE.label} · Runs: ${meta.runs} per entry (x2 loads: reject flow + accept flow, each a fresh context) · Chromium ${meta.browserVersion} · ${cpu} · viewport ${VIEWPORT.width}x${VIEWPORT.height} · ${meta.date} · ${meta.durationS} s · ${meta.cpus} CPUs, load average (1 min) ${meta.loadavgStart[0].toFixed(2)} at start, ${meta.loadavgEnd[0].toFixed(2)} at end`);
  if (Math.max(meta.loadavgStart[0], meta.loadavgEnd[0]) > meta.cpus * 0.5) out.push(`WARNING: the machine was busy (load average above ${meta.cpus * 0.5}); timings are noisier than usual, compare medians only with care.`);
  out.push('');
  out.push('### Timing, layout shift, heap, requests (median, (p25–p75) over all loads)');
  out.push('');
  out.push(mdTable(
    ['entry', 'banner visible ms', 'banner opaque ms', 'FCP ms', 'load ms', 'LCP ms (LCP in banner)', 'CLS before click', 'CLS incl. click', 'main-thread tasks ms', 'script ms', 'style+layout ms', 'DOM nodes', 'JS heap after GC KiB', 'Δheap vs baseline KiB', 'requests before click', 'requests after accept', 'click→banner hidden ms', 'click Event Timing duration ms (<16 = under threshold)'],
    summaries.map((s) => [
      s.label, iqr(s.bannerVisibleMs), iqr(s.bannerOpaqueMs), iqr(s.fcpMs), iqr(s.loadMs),
      `${f0(median(s.lcpMs))} (${s.lcpInBanner}/${s.lcpMs.length})`,
      f3(median(s.clsPre)), f3(median(s.clsTotal)),
      iqr(s.taskMs), iqr(s.scriptMs), iqr(s.styleLayoutMs), f0(median(s.domNodes)),
      kb(median(s.heapAfterGC)), baseHeap !== null && !s.control ? kb(median(s.heapAfterGC) - baseHeap) : '–',
      f0(median(s.requestsPre)), s.control ? '–' : f0(median(s.requestsAfterAccept)),
      s.control ? '–' : iqr(s.clickToHiddenMs), s.control ? '–' : (median(s.clickEventMs) === 0 ? '<16' : f0(median(s.clickEventMs))),
    ]),
  ));
  out.push('');
  if (RELOAD_CHECK) {
    out.push('### Returning visit: first accepted script ms');
    out.push('');
    out.push('After each accept flow, the same browser context (consent cookie, localStorage and HTTP cache kept) opens the page again in a new tab. '
      + 'First accepted script: `performance.now()` (origin: the returning navigation\'s start) that the first tracker stub to run records itself (stub/ga.js, stub/hotjar.js), median (p25–p75) over the accept flows. '
      + 'Banner shown: the banner was visible in any animation frame of the returning visit (it should not be). '
      + `Requests of the returning visit (median, document included): from the HTTP cache, revalidated (304), and over the network with their bytes (headers + encoded bodies). The harness's page server sends HTML no-store and every other file "Cache-Control: ${meta.staticCache}".`);
    out.push('');
    out.push(mdTable(
      ['entry', 'first accepted script ms', 'both stubs ran', 'banner shown: after accept · after reject', 'load ms', 'requests', 'from HTTP cache', 'revalidated (304)', 'over the network (304 included)', 'bytes over the network', 'over the network in the first accept flow (status on the wire)'],
      summaries.filter((s) => s.returning).map((s) => {
        const r = s.returning;
        return [
          s.label, iqr(r.firstAcceptedScriptMs), `${r.bothStubsRan}/${r.accepts}`,
          `${r.bannerShownAfterAccept}/${r.accepts} · ${r.bannerShownAfterReject}/${r.rejects}`,
          iqr(r.loadMs), f0(median(r.requests)), f0(median(r.fromCache)), f0(median(r.revalidated)), f0(median(r.network)), f0(median(r.networkBytes)),
          r.firstNetworkList ? r.firstNetworkList.join(', ') : '–',
        ];
      }),
    ));
    out.push('');
  }
  out.push('### Behaviour (n/N = loads where it happened / loads of that flow)');
  out.push('');
  const peers = summaries.filter((s) => !s.control);
  out.push(mdTable(
    ['entry', 'reject on 1st layer', 'accept on 1st layer', 'cookies before click', 'only the necessary cookie before click', 'stubs ran before click', 'after reject: stubs ran · tracker cookies', 'after reject: cookies', 'after accept: both stubs ran · all 3 tracker cookies', 'after accept: cookies', 'returning visit after reject: banner shown · stubs ran', 'returning visit after accept: banner shown · both stubs ran', 'page requests off loopback', 'errors'],
    peers.map((s) => {
      const b = s.behaviour, N = s.bannerVisibleMs.length;
      return [
        s.label,
        b.rejectOnFirstLayer ? `yes ("${b.rejectLabel}")` : `no${b.rejectLabel ? ` ("${b.rejectLabel}" not on 1st layer)` : ''}`,
        b.acceptOnFirstLayer ? `yes ("${b.acceptLabel}")` : 'no',
        b.preClickCookieSets.join(' / ') + (b.preClickStorageKeys.length ? ` (+localStorage: ${b.preClickStorageKeys.join(',')})` : ''),
        `${b.preClickOnlyNecessary}/${N}`,
        `${b.preClickStubsRan}/${N}`,
        `${b.reject.stubsRan}/${b.reject.n} · ${b.reject.trackerCookies}/${b.reject.n}`,
        b.reject.cookieSets.join(' / '),
        `${b.accept.bothStubsRan}/${b.accept.n} · ${b.accept.allTrackerCookies}/${b.accept.n}`,
        b.accept.cookieSets.join(' / '),
        RELOAD_CHECK ? `${b.reject.returnBannerShown}/${b.reject.n} · ${b.reject.returnStubsRan}/${b.reject.n}` : 'not checked',
        RELOAD_CHECK ? `${b.accept.returnBannerShown}/${b.accept.n} · ${b.accept.returnBothStubsRan}/${b.accept.n}` : 'not checked',
        s.externalRequests.length ? short([...new Set(s.externalRequests)].join(' '), 120) : '0',
        s.errors.length ? short([...new Set(s.errors)].join(' ; '), 160) : '0',
      ];
    }),
  ));
  out.push('');
  out.push('### Consent record written by the peer (first load of each flow; value URL-decoded and JSON-parsed where possible)');
  out.push('');
  const lifetime = (c) => (c ? (typeof c.lifetimeDays === 'number' ? c.lifetimeDays.toFixed(1) : c.lifetimeDays) : '–');
  out.push(mdTable(
    ['entry', 'cookie name (entry.json expects)', 'lifetime days after reject / accept', 'documented default days', 'matches documentation', 'SameSite · Secure · HttpOnly', 'non-necessary cookies before click', 'value after reject', 'value after accept'],
    peers.map((s) => {
      const r = s.behaviour.reject.consentCookie, a = s.behaviour.accept.consentCookie, c = a || r;
      const days = c && typeof c.lifetimeDays === 'number' ? c.lifetimeDays : null;
      const doc = s.documentedConsentDays;
      const val = (x, st) => (x ? '`' + short(x.decoded, 400) + '`' : `(no cookie) localStorage: ${short(st, 200)}`);
      return [
        s.label,
        c ? `${c.name}${c.expectedName && c.expectedName !== c.name ? ` (expected "${c.expectedName}")` : ''}` : 'none',
        `${lifetime(r)} / ${lifetime(a)}`,
        doc ?? '–',
        doc && days !== null ? (Math.abs(days - doc) < 1 ? 'yes' : `no (${Math.round(days)} ≠ ${doc})`) : '–',
        c ? `${c.sameSite} · ${c.secure ? 'Secure' : 'not Secure'} · ${c.httpOnly ? 'HttpOnly' : 'JS-readable'}` : '–',
        s.behaviour.preClickExtraCookies.length ? s.behaviour.preClickExtraCookies.map((k) => `${k.name}=${short(k.value, 80)} (${lifetime(k)} d)`).join('; ') : 'none',
        val(r, s.behaviour.reject.storage), val(a, s.behaviour.accept.storage),
      ];
    }),
  ));
  const hashes = new Set(summaries.flatMap((s) => s.contentHashes));
  out.push('');
  out.push(hashes.size === 1 ? 'Page content check: header+main markup identical in every entry.' : `WARNING: header+main markup differs between entries (${hashes.size} variants): the comparison is not like for like.`);
  if (meta.netlog) {
    const n = meta.netlog;
    out.push(n.error ? `NetLog: ${n.error}` : `NetLog check (${n.file}): ${n.sockets} sockets; bytes sent to loopback ${n.loopbackBytesSent}; bytes sent to any other address ${n.nonLoopbackBytesSent} (non-loopback sockets: ${n.nonLoopbackSockets.length ? [...new Set(n.nonLoopbackSockets)].join(', ') : 'none'}); bytes on sockets without a remote address ${n.unattributedBytesSent}.`);
  }
  if (meta.browserBackgroundAttempts.length) {
    out.push(`Browser background requests caught by the loopback blackhole proxy (not from the pages): ${[...new Set(meta.browserBackgroundAttempts.map((a) => a.url.replace(/\?.*/, '')))].join(', ')}`);
  }
  return out.join('\n');
}

// Chromium NetLog check: every socket the browser opened, its remote address and the bytes it
// sent. Verifies that nothing but loopback got a single byte.
function summariseNetlog(file) {
  let log;
  try {
    let text = fs.readFileSync(file, 'utf8').trim();
    try { log = JSON.parse(text); } catch { log = JSON.parse(text.replace(/,?\s*$/, '') + ']}'); } // unterminated log
  } catch (e) { return { file, error: String(e) }; }
  const T = log.constants.logEventTypes;
  const byType = Object.fromEntries(Object.entries(T).map(([k, v]) => [v, k]));
  const sockets = new Map(); // source id -> { proto, remote, sent }
  const get = (id) => { if (!sockets.has(id)) sockets.set(id, { remote: null, proto: null, sent: 0 }); return sockets.get(id); };
  for (const e of log.events) {
    const t = byType[e.type], p = e.params || {};
    if ((t === 'TCP_CONNECT_ATTEMPT' || t === 'TCP_CONNECT') && p.address) Object.assign(get(e.source.id), { remote: p.address, proto: 'tcp' });
    if (t === 'UDP_CONNECT' && p.address) Object.assign(get(e.source.id), { remote: p.address, proto: 'udp' });
    if ((t === 'SOCKET_BYTES_SENT' || t === 'UDP_BYTES_SENT') && p.byte_count) get(e.source.id).sent += p.byte_count;
  }
  const isLoop = (a) => /^127\./.test(a) || a.startsWith('[::1]');
  const list = [...sockets.values()].filter((x) => x.remote);
  const nonLoop = list.filter((x) => !isLoop(x.remote));
  return {
    file,
    sockets: list.length,
    loopbackBytesSent: list.filter((x) => isLoop(x.remote)).reduce((n, x) => n + x.sent, 0),
    nonLoopbackSockets: nonLoop.map((x) => `${x.proto} ${x.remote} sent=${x.sent}`),
    nonLoopbackBytesSent: nonLoop.reduce((n, x) => n + x.sent, 0),
    unattributedBytesSent: [...sockets.values()].filter((x) => !x.remote).reduce((n, x) => n + x.sent, 0),
  };
}

// ---------------------------------------------------------------- main
async function main() {
  // entry.json "requires": a URL that must answer (e.g. a banner server started by a wrapper
  // script such as run-with-biscotte.sh); without it the entry is skipped, with a warning.
  const entries = [];
  for (const e of loadEntries()) {
    if (e.requires) {
      const ok = await fetch(e.requires, { signal: AbortSignal.timeout(3000) }).then((r) => r.ok, () => false);
      if (!ok) { process.stderr.write(`measure.mjs: skipping ${e.name}: ${e.requires} does not answer${e.requiresHint ? ` (${e.requiresHint})` : ''}\n`); continue; }
    }
    entries.push(e);
  }
  if (!entries.length) throw new Error('no entries found');
  fs.mkdirSync(path.join(OUT, 'screens'), { recursive: true });
  const proxy = await startBlackholeProxy();
  const servers = new Map();
  // entry.json "port": serve that entry on a fixed loopback port (e.g. an origin registered with a banner server)
  for (const e of entries) servers.set(e.name, await startEntryServer(e.dir, Number(e.port) || 0, { staticCache: STATIC_CACHE }));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      // containment: anything not on loopback goes to a local proxy that refuses it,
      // and no hostname other than localhost is ever resolved.
      `--proxy-server=${proxy.url}`,
      '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1, EXCLUDE localhost',
      ...(NETLOG ? [`--log-net-log=${path.resolve(String(NETLOG))}`, '--net-log-capture-mode=Default'] : []),
    ],
  });
  const meta = {
    runs: RUNS, throttle: CPU_RATE, network: NETWORK, networkConditions: PROFILE.conditions, throttleOption: THROTTLE, settleMs: SETTLE_MS, staticCache: STATIC_CACHE, date: new Date().toISOString(),
    browserVersion: browser.version(), node: process.version, browserBackgroundAttempts: proxy.attempts,
    cpus: os.cpus().length, loadavgStart: os.loadavg(),
  };
  const loads = new Map(entries.map((e) => [e.name, []]));
  const t0 = Date.now();
  try {
    // warm-up (discarded): one load per entry; also the screenshot of each banner
    for (const e of entries) {
      await measureLoad(browser, e, servers.get(e.name), e.control ? 'control' : 'reject', { screenshot: path.join(OUT, 'screens', `${e.name}.png`) });
    }
    for (let run = 0; run < RUNS; run++) {
      // rotate the order every run so no entry always goes first
      const order = entries.map((_, i) => entries[(i + run) % entries.length]);
      for (const e of order) {
        for (const flow of (e.control ? ['control', 'control'] : ['reject', 'accept'])) {
          const r = await measureLoad(browser, e, servers.get(e.name), flow);
          r.run = run + 1;
          loads.get(e.name).push(r);
        }
      }
      process.stderr.write(`run ${run + 1}/${RUNS} done (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
    }
  } finally {
    await browser.close().catch(() => {});
    for (const s of servers.values()) await s.close();
    await proxy.close();
  }
  meta.loadavgEnd = os.loadavg();
  meta.durationS = Math.round((Date.now() - t0) / 1000);
  if (NETLOG) meta.netlog = summariseNetlog(path.resolve(String(NETLOG)));
  const summaries = entries.map((e) => ({ ...summarise(e, loads.get(e.name)), documentedConsentDays: e.documentedConsentDays, version: e.version, package: e.package, notes: e.notes, sizeVariants: e.sizeVariants || [] }));
  const md = render(summaries, meta);
  fs.writeFileSync(path.join(OUT, 'measure.json'), JSON.stringify({ meta, summaries, loads: Object.fromEntries(loads) }, null, 1));
  fs.writeFileSync(path.join(OUT, 'measure.md'), md + '\n');
  console.log(md);
}

main().catch((e) => { console.error(e); process.exit(1); });
