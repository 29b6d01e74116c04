//! Gated scripts: `<script type="text/plain" data-biscotte-category=… [data-biscotte-service=…]>`
//! stay inert until the choices allow them, then run once as a copy placed after the original.

use crate::dom::{self, DomResult};
use crate::view;
use biscotte_shared::Choices;
use biscotte_shared::config::SiteConfig;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlScriptElement};

const GATED: &str = "script[type='text/plain'][data-biscotte-category]:not([data-biscotte-ran]),\
                     script[type='text/plain'][data-biscotte-service]:not([data-biscotte-ran])";
const RAN: &str = "data-biscotte-ran";

/// Runs every gated script the choices allow and that has not run yet, in document order.
pub fn run_allowed(config: &SiteConfig, choices: Option<&Choices>) -> DomResult<()> {
    let doc = dom::document()?;
    let found = doc.query_selector_all(GATED)?;
    for i in 0..found.length() {
        let Some(original) = found.item(i).and_then(|n| n.dyn_into::<Element>().ok()) else {
            continue;
        };
        let category = original.get_attribute("data-biscotte-category");
        let service = original.get_attribute("data-biscotte-service");
        if !view::script_may_run(config, choices, category.as_deref(), service.as_deref()) {
            continue;
        }
        if let Err(e) = run(&doc, &original) {
            dom::warn_js("a gated script could not be started", &e);
        }
    }
    Ok(())
}

/// Runs one gated script: a fresh `script` element (scripts created by the DOM execute, parsed
/// ones turned live do not) with the original's attributes but `type`, and its source or text.
fn run(doc: &web_sys::Document, original: &Element) -> DomResult<()> {
    // Marked first, so that even a script that throws is never run twice.
    original.set_attribute(RAN, "")?;
    let script = doc.create_element("script")?;
    let names = original.get_attribute_names();
    for name in names.iter().filter_map(|n| n.as_string()) {
        if name == "type" || name == RAN {
            continue;
        }
        if let Some(value) = original.get_attribute(&name) {
            script.set_attribute(&name, &value)?;
        }
    }
    if let Some(script) = script
        .dyn_ref::<HtmlScriptElement>()
        .filter(|_| !original.has_attribute("async"))
    {
        // Inserted scripts are async by default; keeping them in order keeps dependencies working.
        script.set_async(false);
    }
    if original.get_attribute("src").is_none() {
        script.set_text_content(original.text_content().as_deref());
    }
    original.after_with_node_1(&script)?;
    Ok(())
}
