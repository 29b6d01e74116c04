//! The page's JavaScript API: `window.Biscotte = { open(), consent() }`.

use crate::dom::{self, DomResult};
use crate::engine;
use wasm_bindgen::JsValue;
use wasm_bindgen::closure::Closure;

/// Publishes `window.Biscotte`:
/// - `open()` shows the first layer again (to change or withdraw a choice);
/// - `consent()` returns `{method, categories, services, receipt}` for the choice in force, or
///   `null` when there is none. `method` is `null` for a choice made on an earlier page, and
///   `receipt` is `null` until the server has signed the decision made on this page.
pub fn install() -> DomResult<()> {
    let api = js_sys::Object::new();
    let open = Closure::<dyn Fn()>::new(|| {
        if let Err(e) = engine::open(true) {
            dom::warn_js("Biscotte.open() failed", &e);
        }
    });
    let consent = Closure::<dyn Fn() -> JsValue>::new(|| {
        js_sys::JSON::parse(&engine::consent_json()).unwrap_or(JsValue::NULL)
    });
    js_sys::Reflect::set(&api, &JsValue::from_str("open"), &open.into_js_value())?;
    js_sys::Reflect::set(
        &api,
        &JsValue::from_str("consent"),
        &consent.into_js_value(),
    )?;
    js_sys::Reflect::set(&dom::window()?.into(), &JsValue::from_str("Biscotte"), &api)?;
    Ok(())
}
