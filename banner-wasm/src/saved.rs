//! The consent cookie on this page: reading and writing it, drawing a consent id, and deleting
//! the cookies of refused services.

use crate::dom::{self, DomResult};
use crate::view;
use biscotte_shared::config::SiteConfig;
use biscotte_shared::revision::hex;
use biscotte_shared::{COOKIE_NAME, Choices, SavedConsent};
use wasm_bindgen::JsValue;

/// The page's `document.cookie` (empty if the browser refuses to tell).
pub fn cookie_header() -> String {
    dom::html_document()
        .and_then(|d| d.cookie())
        .unwrap_or_default()
}

/// The saved choice, if the cookie is there and readable; a garbled cookie reads as none.
pub fn read(header: &str) -> Option<SavedConsent> {
    view::cookie_value(header, COOKIE_NAME).and_then(|v| SavedConsent::decode(v).ok())
}

/// Saves a choice in the first-party consent cookie.
pub fn write(saved: &SavedConsent) -> DomResult<()> {
    let https = dom::place()?.https;
    dom::html_document()?.set_cookie(&view::consent_cookie_assignment(saved, https))
}

/// Deletes the cookies of every service the choices do not allow (`None`: no choice in force).
pub fn sweep(config: &SiteConfig, choices: Option<&Choices>) -> DomResult<()> {
    let header = cookie_header();
    let names = view::cookies_to_sweep(config, choices, view::cookie_names(&header));
    if names.is_empty() {
        return Ok(());
    }
    let doc = dom::html_document()?;
    let hostname = dom::place()?.hostname;
    for name in names {
        for assignment in view::expiry_assignments(name, &hostname) {
            doc.set_cookie(&assignment)?;
        }
    }
    Ok(())
}

/// A fresh consent id: 128 random bits from the browser's CSPRNG, as 32 lowercase hex digits.
pub fn new_consent_id() -> DomResult<String> {
    let mut bytes = [0u8; 16];
    dom::window()?
        .crypto()?
        .get_random_values_with_u8_array(&mut bytes)?;
    if bytes == [0u8; 16] {
        return Err(JsValue::from_str(
            "crypto.getRandomValues returned only zeros",
        ));
    }
    Ok(hex(&bytes))
}
