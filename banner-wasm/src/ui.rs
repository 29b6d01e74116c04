//! The banner's DOM, inside the open shadow root the loader made (host `div#biscotte`, styles
//! adopted there): the dialog (first layer, then the per-category switches) and the floating
//! manage button. Every text is set as text content: a site owner's words cannot inject markup.
//! Nothing is kept between calls; the nodes are found again in the shadow root.

use crate::host;
use crate::prelude::*;
use crate::view::{Action, Switch};
use biscotte_shared::banner_config::{BannerConfig, Text};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Element, HtmlElement, HtmlInputElement};

pub type DomResult<T> = Result<T, JsValue>;

const TITLE_ID: &str = "biscotte-title";

/// Creates an element with attributes and, when `text` is not empty, a text content.
fn make(tag: &str, attributes: &[(&str, &str)], text: &str) -> DomResult<Element> {
    let element = host::document().create_element(tag)?;
    for (name, value) in attributes {
        element.set_attribute(name, value)?;
    }
    if !text.is_empty() {
        element.set_text_content(Some(text));
    }
    Ok(element)
}

/// Creates an element and appends it to `parent`.
fn add(parent: &Element, tag: &str, attributes: &[(&str, &str)], text: &str) -> DomResult<Element> {
    let element = make(tag, attributes, text)?;
    parent.append_child(&element)?;
    Ok(element)
}

fn find(selector: &str) -> Option<HtmlElement> {
    host::root()
        .query_selector(selector)
        .ok()
        .flatten()
        .map(JsCast::unchecked_into)
}

/// Adds the (hidden) manage button, which reopens the choices.
pub fn mount(config: &BannerConfig) -> DomResult<()> {
    let manage = make(
        "button",
        &[
            ("type", "button"),
            ("class", "manage"),
            ("data-action", "manage"),
            ("hidden", ""),
        ],
        config.text(Text::Manage),
    )?;
    host::root().append_child(&manage)?;
    Ok(())
}

/// Shows the first layer: title, text, policy link, the three equal choices and the close
/// control. `focus` moves the keyboard focus into it, for openings the visitor asked for.
pub fn show_first(config: &BannerConfig, focus: bool) -> DomResult<()> {
    let dialog = dialog("first", config)?;
    add(&dialog, "p", &[("class", "body")], config.text(Text::Body))?;
    if !config.policy_url.is_empty() {
        let line = add(&dialog, "p", &[("class", "links")], "")?;
        add(
            &line,
            "a",
            &[("class", "policy"), ("href", config.policy_url)],
            config.text(Text::PolicyLink),
        )?;
    }
    choices(
        &dialog,
        config,
        &[
            (Action::AcceptAll, Text::AcceptAll),
            (Action::RejectAll, Text::RejectAll),
            (Action::Customize, Text::Customize),
        ],
    )?;
    present(dialog, focus)
}

/// Shows the second view in the same dialog: one switch per category with its services, then
/// « save », « accept all » and « refuse all ».
pub fn show_second(config: &BannerConfig, switches: &[Switch]) -> DomResult<()> {
    let dialog = dialog("second", config)?;
    let list = add(&dialog, "ul", &[("class", "categories")], "")?;
    for switch in switches {
        let category = switch.category;
        let item = add(&list, "li", &[("class", "category")], "")?;
        let label = add(&item, "label", &[("class", "switch")], "")?;
        let input: HtmlInputElement = add(
            &label,
            "input",
            &[
                ("type", "checkbox"),
                ("role", "switch"),
                ("data-category", category.id),
            ],
            "",
        )?
        .unchecked_into();
        input.set_checked(switch.checked);
        input.set_disabled(category.required);
        let name = add(&label, "span", &[("class", "name")], category.title)?;
        if category.required {
            add(
                &name,
                "span",
                &[("class", "always")],
                config.text(Text::AlwaysOn),
            )?;
        }
        add(&label, "span", &[("class", "desc")], category.description)?;
        if switch.services.is_empty() {
            // Technical cookies need no declared service (the site's session, this choice).
            if !category.required {
                add(
                    &item,
                    "p",
                    &[("class", "none")],
                    config.text(Text::NoService),
                )?;
            }
            continue;
        }
        let services = add(&item, "ul", &[("class", "services")], "")?;
        for s in &switch.services {
            let line = add(&services, "li", &[], "")?;
            add(&line, "span", &[("class", "service")], s.name)?;
            add(&line, "span", &[], &[" — ", s.provider].concat())?;
            if !s.policy_url.is_empty() {
                add(&line, "span", &[], " — ")?;
                let words = config.text(Text::PrivacyPolicy);
                add(
                    &line,
                    "a",
                    &[
                        ("href", s.policy_url),
                        ("target", "_blank"),
                        ("rel", "noopener noreferrer"),
                        ("aria-label", &[words, " : ", s.name].concat()),
                    ],
                    words,
                )?;
            }
            if !s.cookies.is_empty() {
                let names = [config.text(Text::Cookies), " ", &s.cookies.join(", ")].concat();
                add(&line, "span", &[("class", "cookies")], &names)?;
            }
        }
    }
    choices(
        &dialog,
        config,
        &[
            (Action::Save, Text::Save),
            (Action::AcceptAll, Text::AcceptAll),
            (Action::RejectAll, Text::RejectAll),
        ],
    )?;
    present(dialog, true)
}

/// The categories whose switch is on, `necessary` aside.
pub fn checked_categories() -> DomResult<Vec<String>> {
    let found = host::root().query_selector_all("input[data-category]:checked:not(:disabled)")?;
    let mut out = Vec::new();
    for e in host::elements(&found) {
        if let Some(id) = e.get_attribute("data-category") {
            out.push(id);
        }
    }
    Ok(out)
}

/// Removes the dialog and shows the manage button, keeping the focus on the banner's side when
/// it was there.
pub fn close() {
    let had_focus = host::root().active_element().is_some();
    if let Some(dialog) = find("[role=dialog]") {
        dialog.remove();
    }
    if let Some(manage) = find(".manage") {
        manage.set_hidden(false);
        if had_focus {
            // Focus is a courtesy: a refusal by the browser changes nothing.
            let _ = manage.focus();
        }
    }
}

/// A fresh, empty dialog with its header (title and close control), replacing any shown.
fn dialog(layer: &str, config: &BannerConfig) -> DomResult<Element> {
    if let Some(old) = find("[role=dialog]") {
        old.remove();
    }
    let dialog = make(
        "div",
        &[
            ("class", "card"),
            ("role", "dialog"),
            ("aria-labelledby", TITLE_ID),
            ("data-biscotte-layer", layer),
            ("lang", config.lang),
            ("tabindex", "-1"),
        ],
        "",
    )?;
    let head = add(&dialog, "div", &[("class", "head")], "")?;
    add(
        &head,
        "h2",
        &[("id", TITLE_ID), ("class", "title")],
        config.text(Text::Title),
    )?;
    add(
        &head,
        "button",
        &[
            ("type", "button"),
            ("class", "close"),
            ("data-action", "close"),
            ("aria-label", config.text(Text::CloseLabel)),
        ],
        config.text(Text::Close),
    )?;
    Ok(dialog)
}

/// The row of equal buttons: same element, class and parent for each (LEGAL R10, R11).
fn choices(dialog: &Element, config: &BannerConfig, buttons: &[(Action, Text)]) -> DomResult<()> {
    let row = add(dialog, "div", &[("class", "choices")], "")?;
    for (action, text) in buttons {
        add(
            &row,
            "button",
            &[
                ("type", "button"),
                ("class", "choice"),
                ("data-action", action.name()),
            ],
            config.text(*text),
        )?;
    }
    Ok(())
}

fn present(dialog: Element, focus: bool) -> DomResult<()> {
    host::root().append_child(&dialog)?;
    if let Some(manage) = find(".manage") {
        manage.set_hidden(true);
    }
    if focus {
        dialog.unchecked_into::<HtmlElement>().focus()?;
    }
    Ok(())
}
