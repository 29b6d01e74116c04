// The site's own Google tag commands, gated with Google Analytics: they are queued only after
// consent, so the banner's `gtag('consent', 'default', …)` always comes before them in the queue.
window.gtag('js', new Date());
window.gtag('config', 'G-ABC123', { cookie_domain: 'auto' });
