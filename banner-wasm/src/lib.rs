//! Biscotte's banner: the in-page consent engine, compiled to WebAssembly and started by
//! `loader.js` with the site's published configuration.
//!
//! Codemap: `view` decides (pure, host-tested); `engine` holds the page's state and runs the
//! flows; `banner` owns the DOM nodes and listeners; `dom`, `read` (the server's JSON), `saved` (cookies), `gate` (scripts),
//! `server` (the decision POST and its retries; `outbox` decides them) and `api` (`window.Biscotte`) are the edges to the browser.
//! `start` is the only export.

mod api;
mod banner;
mod dom;
mod engine;
mod gate;
mod json;
mod outbox;
mod read;
mod saved;
mod server;
pub mod view;

use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;

/// Starts the banner on this page.
///
/// `config` is the body of `GET {server_origin}/api/v1/sites/{site}/config`, parsed by the
/// loader with `JSON.parse`. A configuration that cannot be read shows no banner and runs
/// nothing optional: the page stays as if refused.
#[wasm_bindgen]
pub fn start(server_origin: String, site: String, config: JsValue) {
    match read::published_config(&config) {
        Ok(published) => engine::start_when_ready(server_origin, site, published),
        Err(e) => dom::warn(
            &[
                "the configuration of site \"",
                &site,
                "\" from ",
                &server_origin,
                " is unreadable (",
                &e.message(),
                "); no banner is shown and nothing optional runs",
            ]
            .concat(),
        ),
    }
}
