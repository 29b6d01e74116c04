// The engine's side of the page (banner-wasm/src/host.rs): the functions its imports call, one
// line each, cheaper here than through web-sys; and the banner's `localStorage` access.

export var D = document;
export function fail(message) {
  console.warn('Biscotte: ' + message + '. No consent banner is shown and no optional script runs.');
}
export function bWarn(message) { console.warn('Biscotte: ' + message); }
export function bCookies() { return D.cookie; }
export function bSetCookie(assignment) { D.cookie = assignment; }
export function bSecure() { return location.protocol == 'https:'; }
// Only what the log keeps (scheme, host, port and path): a query string or fragment, which may
// carry personal data, never leaves the page.
export function bHref() { return location.origin + location.pathname; }
export function bNow() { return Date.now(); }
export function bRandomId() {
  var bytes = crypto.getRandomValues(new Uint8Array(16)), id = '';
  for (var i = 0; i < 16; i++) id += (bytes[i] + 256).toString(16).slice(1);
  return /[^0]/.test(id) ? id : '';
}
/** What the engine's `consent` export last gave (JSON text). */
export var given = 'null';
export function bGive(json) { given = json; }
export { bRecord } from './outbox.js';

// The banner's `localStorage` entries (README). The browser may refuse storage (third-party
// storage blocked): then nothing is read and what would be written lives for this page only.
export function load(key) {
  try { return localStorage.getItem(key); } catch (e) {}
}
/** Writes `text`, or removes the entry when there is none. */
export function put(key, text) {
  try { text ? localStorage.setItem(key, text) : localStorage.removeItem(key); } catch (e) {}
}
