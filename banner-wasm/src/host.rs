//! The loader's side of the engine: small JavaScript functions that the loader's `js/host.js`
//! exports to the wasm-bindgen glue (the `bXxx` names), for what is one line of JavaScript but many imports
//! and much Rust through `web-sys`: cookies, the decisions' outbox, the clock, randomness.

use crate::prelude::*;
use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen]
extern "C" {
    /// `console.warn("Biscotte: " + message)`.
    #[wasm_bindgen(js_name = bWarn)]
    pub fn warn(message: &str);
    /// `document.cookie`.
    #[wasm_bindgen(js_name = bCookies)]
    pub fn cookies() -> String;
    /// `document.cookie = assignment`.
    #[wasm_bindgen(js_name = bSetCookie)]
    pub fn set_cookie(assignment: &str);
    /// Whether the page is served over https.
    #[wasm_bindgen(js_name = bSecure)]
    pub fn secure() -> bool;
    /// `location.href`.
    #[wasm_bindgen(js_name = bHref)]
    pub fn href() -> String;
    /// Hands a decision (its JSON body) to the loader's outbox, which sends it to the site's
    /// `POST …/consents`, tries again when the server cannot take it now, and keeps its answer
    /// (receipt and proof) while it is the choice in force.
    #[wasm_bindgen(js_name = bRecord)]
    pub fn record(body: &str);
    /// Takes the answer of the export `consent`.
    #[wasm_bindgen(js_name = bGive)]
    pub fn give(json: &str);
    /// `Date.now()`.
    #[wasm_bindgen(js_name = bNow)]
    pub fn now() -> f64;
    /// 128 bits from `crypto.getRandomValues`, as 32 lowercase hex digits (empty if unavailable).
    #[wasm_bindgen(js_name = bRandomId)]
    pub fn random_id() -> String;
}

/// The time, in milliseconds since the epoch.
pub fn now_ms() -> i64 {
    now() as i64
}
