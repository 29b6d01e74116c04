//! The one request the banner makes: `POST /api/v1/sites/{site}/consents` with a decision,
//! answered by a signed receipt.

use crate::dom::{self, DomResult};
use biscotte_shared::api::{ConsentRequest, ConsentResponse};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, RequestCredentials, RequestInit, Response};

/// Records a decision on the Biscotte server and returns its receipt.
///
/// No credentials travel (the consent id in the body is the only link to the visitor), and the
/// request is `keepalive` so that a decision made just before leaving the page is still recorded.
pub async fn record(
    server_origin: &str,
    site: &str,
    request: &ConsentRequest,
) -> DomResult<ConsentResponse> {
    let url = format!("{server_origin}/api/v1/sites/{site}/consents");
    let body = serde_json::to_string(request).map_err(|e| JsValue::from_str(&e.to_string()))?;
    let headers = Headers::new()?;
    headers.set("Content-Type", "application/json")?;
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_headers(&headers);
    init.set_body(&JsValue::from_str(&body));
    init.set_credentials(RequestCredentials::Omit);
    // web-sys has no setter for `keepalive` yet.
    js_sys::Reflect::set(&init, &JsValue::from_str("keepalive"), &JsValue::TRUE)?;
    let response: Response = JsFuture::from(dom::window()?.fetch_with_str_and_init(&url, &init))
        .await?
        .dyn_into()?;
    let text = JsFuture::from(response.text()?)
        .await?
        .as_string()
        .unwrap_or_default();
    if response.status() != 201 {
        return Err(JsValue::from_str(&format!(
            "{url} answered HTTP {}: {text}",
            response.status()
        )));
    }
    serde_json::from_str(&text)
        .map_err(|e| JsValue::from_str(&format!("{url} answered an unreadable receipt: {e}")))
}
