//! The one request the banner makes: `POST /api/v1/sites/{site}/consents` with a decision,
//! answered by a signed receipt.

use crate::dom::{self, DomResult};
use crate::{read, view};
use biscotte_shared::api::ConsentRequest;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{RequestInit, Response};

/// Records a decision on the Biscotte server, then hands its receipt to `on_receipt`; failures
/// are logged, never thrown at the page.
///
/// No credentials travel (the consent id in the body is the only link to the visitor), and the
/// request is `keepalive` so that a decision made just before leaving the page is still recorded.
/// Promise callbacks rather than `async`: it keeps a future executor out of the bundle.
pub fn record(
    server_origin: &str,
    site: &str,
    request: &ConsentRequest,
    on_receipt: impl FnOnce(String) + 'static,
) -> DomResult<()> {
    let url = [server_origin, "/api/v1/sites/", site, "/consents"].concat();
    let address = url.clone();
    let body = view::request_json(request);
    // A plain init object rather than web-sys's `RequestInit` and `Headers`: the same request,
    // with fewer JavaScript imports in the glue.
    let headers = dom::object(&[("Content-Type", &JsValue::from_str("application/json"))])?;
    let init = dom::object(&[
        ("method", &JsValue::from_str("POST")),
        ("headers", &headers),
        ("body", &JsValue::from_str(&body)),
        ("credentials", &JsValue::from_str("omit")),
        ("keepalive", &JsValue::TRUE),
    ])?;

    let on_response = Closure::<dyn FnMut(JsValue)>::once(move |response: JsValue| {
        let Ok(response) = response.dyn_into::<Response>() else {
            return dom::warn("fetch answered something that is not a response");
        };
        let status = response.status();
        let text = match response.text() {
            Ok(text) => text,
            Err(e) => return dom::warn_js("the server's answer could not be read", &e),
        };
        let on_text = Closure::<dyn FnMut(JsValue)>::once(move |text: JsValue| {
            let text = text.as_string().unwrap_or_default();
            if status != 201 {
                return dom::warn(
                    &[
                        "the decision is applied on this page but ",
                        &url,
                        " refused it (HTTP ",
                        &status.to_string(),
                        "): ",
                        &text,
                    ]
                    .concat(),
                );
            }
            let answer = js_sys::JSON::parse(&text).map_err(|_| "it is not JSON".to_owned());
            match answer.and_then(|a| read::consent_response(&a).map_err(|e| e.message())) {
                Ok(response) => on_receipt(response.receipt),
                Err(e) => dom::warn(&[&url, " answered an unreadable receipt: ", &e].concat()),
            }
        });
        let on_failure = failed();
        let _ = text.then2(&on_text, &on_failure);
        on_text.forget();
        on_failure.forget();
    });
    let on_failure = failed();
    let _ = dom::window()?
        .fetch_with_str_and_init(&address, init.unchecked_ref::<RequestInit>())
        .then2(&on_response, &on_failure);
    // The callbacks must outlive this call. Each runs at most once; what stays behind is a few
    // small wrappers per decision.
    on_response.forget();
    on_failure.forget();
    Ok(())
}

/// The rejection handler: a network failure, or the server refusing this origin (CORS).
fn failed() -> Closure<dyn FnMut(JsValue)> {
    Closure::<dyn FnMut(JsValue)>::new(|error: JsValue| {
        dom::warn_js(
            "the decision is applied on this page but could not be sent to the server",
            &error,
        );
    })
}
