//! Small typed helpers over `web-sys`: the page's document and location, building elements
//! whose texts are always set as text content, console warnings, DOM events.
//!
//! Messages are joined with `concat` rather than `format!` throughout the banner: the
//! formatting machinery costs every visitor kilobytes for a few warnings.

use biscotte_shared::Lang;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{CustomEvent, CustomEventInit, Document, Element, HtmlDocument, Window};

/// An error from the browser, kept as a message so it can be logged and moved around.
pub type DomResult<T> = Result<T, JsValue>;

pub fn window() -> DomResult<Window> {
    web_sys::window().ok_or_else(|| JsValue::from_str("no window"))
}

pub fn document() -> DomResult<Document> {
    window()?
        .document()
        .ok_or_else(|| JsValue::from_str("no document"))
}

/// The document as an HTML document, which is where `document.cookie` lives.
pub fn html_document() -> DomResult<HtmlDocument> {
    document()?
        .dyn_into::<HtmlDocument>()
        .map_err(|_| JsValue::from_str("not an HTML document"))
}

/// Logs a warning; the banner never throws at the page.
pub fn warn(message: &str) {
    web_sys::console::warn_1(&JsValue::from_str(&["Biscotte: ", message].concat()));
}

/// Logs a browser error with what was being done.
pub fn warn_js(doing: &str, error: &JsValue) {
    web_sys::console::warn_2(
        &JsValue::from_str(&["Biscotte: ", doing, ":"].concat()),
        error,
    );
}

/// The language the page declares, else the browser's.
pub fn page_lang() -> Lang {
    let page = document()
        .ok()
        .and_then(|d| d.document_element())
        .and_then(|e| e.get_attribute("lang"));
    let browser = window().ok().and_then(|w| w.navigator().language());
    crate::view::pick_lang(page.as_deref(), browser.as_deref())
}

/// The page's address, host name and whether it is served over https.
pub struct Place {
    pub href: String,
    pub hostname: String,
    pub https: bool,
}

pub fn place() -> DomResult<Place> {
    let location = window()?.location();
    Ok(Place {
        href: location.href()?,
        hostname: location.hostname()?,
        https: location.protocol()? == "https:",
    })
}

/// Creates an element with attributes and, when `text` is not empty, a text content. Texts are
/// never parsed as HTML: a site owner's words cannot inject markup.
pub fn make(
    doc: &Document,
    tag: &str,
    attributes: &[(&str, &str)],
    text: &str,
) -> DomResult<Element> {
    let element = doc.create_element(tag)?;
    for (name, value) in attributes {
        element.set_attribute(name, value)?;
    }
    if !text.is_empty() {
        element.set_text_content(Some(text));
    }
    Ok(element)
}

/// Creates an element and appends it to `parent`.
pub fn add(
    doc: &Document,
    parent: &Element,
    tag: &str,
    attributes: &[(&str, &str)],
    text: &str,
) -> DomResult<Element> {
    let element = make(doc, tag, attributes, text)?;
    parent.append_child(&element)?;
    Ok(element)
}

/// Dispatches `CustomEvent(name)` on the document, bubbling, with a JSON value as its detail.
pub fn dispatch_json(doc: &Document, name: &str, detail_json: &str) -> DomResult<()> {
    let init = CustomEventInit::new();
    init.set_bubbles(true);
    init.set_detail(&js_sys::JSON::parse(detail_json)?);
    let event = CustomEvent::new_with_event_init_dict(name, &init)?;
    doc.dispatch_event(&event)?;
    Ok(())
}

/// A plain JavaScript object with these fields. The fetch options are built this way rather than
/// with web-sys's `RequestInit` and `Headers`: the same request, with six fewer imports in the
/// glue (about 1 KB of JavaScript).
pub fn object(fields: &[(&str, &JsValue)]) -> DomResult<JsValue> {
    let object = js_sys::Object::new();
    for (name, value) in fields {
        js_sys::Reflect::set(&object, &JsValue::from_str(name), value)?;
    }
    Ok(object.into())
}
