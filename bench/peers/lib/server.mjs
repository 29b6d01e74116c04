// Tiny static server for the peer harness. Loopback only, no dependencies.
//
// One server per entry (each on its own 127.0.0.1 port):
//   /stub/*          -> bench/peers/stub/*          (shared tracker stubs)
//   /node_modules/*  -> bench/peers/node_modules/*  (peer packages, read-only)
//   everything else  -> bench/peers/entries/<entry>/*
//
// Plus a "blackhole" HTTP proxy on 127.0.0.1 that the browser is pointed at
// for every non-loopback URL: it answers 403 and records what was attempted,
// so nothing a peer tries to fetch from the internet ever leaves the machine.
//
// CLI (manual browsing):  node lib/server.mjs <entry> [port]

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ENTRIES_DIR = path.join(ROOT, 'entries');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

function within(base, p) {
  const rel = path.relative(base, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Map a URL pathname to a local file for the given entry dir (or null). */
export function resolveFile(entryDir, pathname) {
  let p;
  try { p = decodeURIComponent(pathname); } catch { return null; }
  if (p.includes('\0')) return null;
  let base, rest;
  if (p.startsWith('/stub/')) { base = path.join(ROOT, 'stub'); rest = p.slice('/stub/'.length); }
  else if (p.startsWith('/node_modules/')) { base = path.join(ROOT, 'node_modules'); rest = p.slice('/node_modules/'.length); }
  else { base = entryDir; rest = p.slice(1); }
  let file = path.resolve(base, rest);
  if (!within(base, file)) return null;
  try {
    const st = fs.statSync(file);
    if (st.isDirectory()) file = path.join(file, 'index.html');
  } catch { /* fallthrough */ }
  try { if (!fs.statSync(file).isFile()) return null; } catch { return null; }
  return file;
}

/**
 * Start a static server for one entry on 127.0.0.1.
 * HTML is always sent `Cache-Control: no-store` (every load fetches the page itself); every other
 * file gets `staticCache` (measure.mjs: a day fresh, as a site serves its static files, so a
 * returning visit finds them in the HTTP cache). No compression: bodies go out as on disk.
 * Returns { url, port, log, close() } — log is an array of {t, method, path, status, file}.
 */
export function startEntryServer(entryDir, port = 0, { staticCache = 'no-store' } = {}) {
  const log = [];
  const server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://127.0.0.1');
    const file = (req.method === 'GET' || req.method === 'HEAD') ? resolveFile(entryDir, u.pathname) : null;
    const rec = { t: Date.now(), method: req.method, path: u.pathname + u.search, status: 0, file };
    log.push(rec);
    if (!file) {
      rec.status = 404;
      res.writeHead(404, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
      res.end('not found');
      return;
    }
    const body = fs.readFileSync(file);
    rec.status = 200;
    const ext = path.extname(file).toLowerCase();
    res.writeHead(200, {
      'content-type': TYPES[ext] || 'application/octet-stream',
      'content-length': body.length,
      'cache-control': ext === '.html' ? 'no-store' : staticCache,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  server.keepAliveTimeout = 1000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const p = server.address().port;
      resolve({
        url: `http://127.0.0.1:${p}/`, port: p, log, server,
        close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
      });
    });
  });
}

/** Proxy that refuses everything (403) and records the attempted target. */
export function startBlackholeProxy() {
  const attempts = [];
  const server = http.createServer((req, res) => {
    attempts.push({ t: Date.now(), method: req.method, url: req.url });
    res.writeHead(403, { 'content-type': 'text/plain', connection: 'close' });
    res.end('blocked by peer harness: non-loopback traffic is not allowed');
  });
  server.on('connect', (req, socket) => {
    attempts.push({ t: Date.now(), method: 'CONNECT', url: req.url });
    socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const p = server.address().port;
      resolve({
        url: `http://127.0.0.1:${p}`, port: p, attempts, server,
        close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
      });
    });
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const name = process.argv[2];
  if (!name) {
    console.error('usage: node lib/server.mjs <entry> [port]');
    console.error('entries: ' + fs.readdirSync(ENTRIES_DIR).filter((d) => !d.startsWith('_')).join(', '));
    process.exit(2);
  }
  const dir = path.join(ENTRIES_DIR, name);
  if (!fs.existsSync(path.join(dir, 'index.html'))) { console.error(`no ${dir}/index.html`); process.exit(2); }
  const s = await startEntryServer(dir, Number(process.argv[3] || 0));
  console.log(`serving ${name} at ${s.url} (Ctrl-C to stop; pid ${process.pid})`);
}
