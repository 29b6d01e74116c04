//! The loader's side of the engine: small JavaScript functions that `loader.js` defines around
//! the wasm-bindgen glue (the `bXxx` names), for what is one line of JavaScript but many imports
//! and much Rust through `web-sys`: cookies, the decisions' outbox, events.

use crate::prelude::*;
use wasm_bindgen::prelude::wasm_bindgen;
use web_sys::{Element, Node, NodeList, ShadowRoot};

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
    /// `location.hostname`.
    #[wasm_bindgen(js_name = bHost)]
    pub fn hostname() -> String;
    /// Whether the page is served over https.
    #[wasm_bindgen(js_name = bSecure)]
    pub fn secure() -> bool;
    /// `location.href`.
    #[wasm_bindgen(js_name = bHref)]
    pub fn href() -> String;
    /// Hands a decision (its JSON body, for `url`) to the loader's outbox, which sends it, tries
    /// again when the server cannot take it now, and keeps its receipt.
    #[wasm_bindgen(js_name = bRecord)]
    pub fn record(url: &str, body: &str);
    /// Takes the answer of the export `consent`.
    #[wasm_bindgen(js_name = bGive)]
    pub fn give(json: &str);
    /// `Date.now()`.
    #[wasm_bindgen(js_name = bNow)]
    pub fn now() -> f64;
    /// 128 bits from `crypto.getRandomValues`, as 32 lowercase hex digits (empty if unavailable).
    #[wasm_bindgen(js_name = bRandomId)]
    pub fn random_id() -> String;
    /// Dispatches the bubbling `biscotte:consent` event on the document, `detail` being this JSON.
    #[wasm_bindgen(js_name = bEmit)]
    pub fn emit(detail: &str);
    /// The banner's open shadow root (its host, `div#biscotte`, and its styles are the loader's).
    #[wasm_bindgen(js_name = bRoot)]
    pub fn root() -> ShadowRoot;
    /// The gated scripts that have not run yet, in document order.
    #[wasm_bindgen(js_name = bGated)]
    pub fn gated() -> NodeList;
    /// Runs a gated script once: a copy without its `type`, placed after it.
    #[wasm_bindgen(js_name = bRevive)]
    pub fn revive(script: &Element);
    /// Creates the element `spec` describes (its tag, then attribute names and values, separated
    /// by U+001F), with `text` as its text content (never parsed as HTML), and appends it to
    /// `parent` when there is one.
    #[wasm_bindgen(js_name = bAdd)]
    pub fn add(parent: Option<&Node>, spec: &str, text: &str) -> Element;
}

/// Logs a warning made of parts; the banner never throws at the page.
pub fn say(parts: &[&str]) {
    warn(&cat(parts));
}

/// The time, in milliseconds since the epoch.
pub fn now_ms() -> i64 {
    now() as i64
}

/// The list's elements.
pub fn elements(list: &NodeList) -> Vec<Element> {
    let mut out = Vec::new();
    for i in 0..list.length() {
        if let Some(node) = list.item(i) {
            out.push(wasm_bindgen::JsCast::unchecked_into(node));
        }
    }
    out
}
