// The first-party half of Google's tag, as sites write it for Consent Mode: the queue and the
// `gtag` function, loaded before biscotte.js so the banner can queue its consent defaults first.
// It is not gated: it only defines a queue, reads and writes nothing on the device, and sends
// nothing. Google's own script (gtag.js, from Google's origin) is gated and reads the queue later.
// A file and not the usual inline snippet, so pages can keep a CSP without 'unsafe-inline'.
window.dataLayer = window.dataLayer || [];
function gtag() {
  // `arguments`, not an array: gtag.js tells commands from plain dataLayer events by it.
  window.dataLayer.push(arguments);
}
window.gtag = gtag;
