// The site's Google Ads conversion tag, gated with Google Ads, like gtag-config.js.
window.gtag('config', 'AW-987654');
