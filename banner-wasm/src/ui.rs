//! The banner's DOM, inside the open shadow root the loader made (host `div#biscotte`, styles
//! adopted there): the dialog (first layer, then the per-category switches) and the floating
//! manage button. Every text is set as text content: a site owner's words cannot inject markup.
//! Nothing is kept between calls; the nodes are found again in the shadow root.
//!
//! Elements are described by a spec, the tag then attribute names and values, separated by
//! U+001F (`"li\u{1f}class\u{1f}category"`), which the loader's `bAdd` turns into an element with
//! `createElement`, `setAttribute` and `textContent`: one import and one call per element instead
//! of one per attribute, which weighed a kilobyte of wasm.

use crate::host;
use crate::prelude::*;
use crate::view::{Action, Switch};
use biscotte_shared::banner_config::{BannerConfig, Text};
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement, HtmlInputElement, Node};

/// Separates the parts of an element's spec.
const US: &str = "\u{1f}";

/// Appends to `parent` the element `spec` describes, with `text` as its text content.
fn add(parent: &Node, spec: &str, text: &str) -> Element {
    host::add(Some(parent), spec, text)
}

fn find(selector: &str) -> Option<HtmlElement> {
    host::root()
        .query_selector(selector)
        .ok()
        .flatten()
        .map(JsCast::unchecked_into)
}

/// Adds the (hidden) manage button, which reopens the choices.
pub fn mount(config: &BannerConfig) {
    add(
        &host::root(),
        "button\u{1f}type\u{1f}button\u{1f}class\u{1f}manage\u{1f}data-action\u{1f}manage\u{1f}hidden\u{1f}",
        config.text(Text::Manage),
    );
}

/// Shows the first layer: title, text, policy link, the three equal choices and the close
/// control. `focus` moves the keyboard focus into it, for openings the visitor asked for.
pub fn show_first(config: &BannerConfig, focus: bool) {
    let dialog = dialog("first", config);
    add(&dialog, "p\u{1f}class\u{1f}body", config.text(Text::Body));
    if !config.policy_url.is_empty() {
        let line = add(&dialog, "p\u{1f}class\u{1f}links", "");
        add(
            &line,
            &cat(&["a\u{1f}class\u{1f}policy\u{1f}href", US, config.policy_url]),
            config.text(Text::PolicyLink),
        );
    }
    choices(
        &dialog,
        config,
        &[
            (Action::AcceptAll, Text::AcceptAll),
            (Action::RejectAll, Text::RejectAll),
            (Action::Customize, Text::Customize),
        ],
    );
    present(dialog, focus);
}

/// Shows the second view in the same dialog: one switch per category with its services, then
/// « save », « accept all » and « refuse all ».
pub fn show_second(config: &BannerConfig, switches: &[Switch]) {
    let dialog = dialog("second", config);
    let list = add(&dialog, "ul\u{1f}class\u{1f}categories", "");
    for switch in switches {
        let category = switch.category;
        let item = add(&list, "li\u{1f}class\u{1f}category", "");
        let label = add(&item, "label\u{1f}class\u{1f}switch", "");
        let input: HtmlInputElement = add(
            &label,
            &cat(&[
                "input\u{1f}type\u{1f}checkbox\u{1f}role\u{1f}switch\u{1f}data-category",
                US,
                category.id,
            ]),
            "",
        )
        .unchecked_into();
        input.set_checked(switch.checked);
        input.set_disabled(category.required);
        let name = add(&label, "span\u{1f}class\u{1f}name", category.title);
        if category.required {
            add(
                &name,
                "span\u{1f}class\u{1f}always",
                config.text(Text::AlwaysOn),
            );
        }
        add(&label, "span\u{1f}class\u{1f}desc", category.description);
        if switch.services.is_empty() {
            // Technical cookies need no declared service (the site's session, this choice).
            if !category.required {
                add(
                    &item,
                    "p\u{1f}class\u{1f}none",
                    config.text(Text::NoService),
                );
            }
            continue;
        }
        let services = add(&item, "ul\u{1f}class\u{1f}services", "");
        for s in &switch.services {
            let line = add(&services, "li", "");
            add(&line, "span\u{1f}class\u{1f}service", s.name);
            add(&line, "span", &cat(&[" — ", s.provider]));
            if !s.policy_url.is_empty() {
                add(&line, "span", " — ");
                let words = config.text(Text::PrivacyPolicy);
                let spec = cat(&[
                    "a\u{1f}target\u{1f}_blank\u{1f}rel\u{1f}noopener noreferrer\u{1f}href",
                    US,
                    s.policy_url,
                    US,
                    "aria-label",
                    US,
                    words,
                    " : ",
                    s.name,
                ]);
                add(&line, &spec, words);
            }
            if s.cookies().next().is_some() {
                let mut names = String::from(config.text(Text::Cookies));
                for (i, cookie) in s.cookies().enumerate() {
                    names.push_str(if i == 0 { " " } else { ", " });
                    names.push_str(cookie.name);
                }
                add(&line, "span\u{1f}class\u{1f}cookies", &names);
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
    );
    present(dialog, true);
}

/// The categories whose switch is on, `necessary` aside.
pub fn checked_categories() -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(found) =
        host::root().query_selector_all("input[data-category]:checked:not(:disabled)")
    {
        for e in host::elements(&found) {
            if let Some(id) = e.get_attribute("data-category") {
                out.push(id);
            }
        }
    }
    out
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
fn dialog(layer: &str, config: &BannerConfig) -> Element {
    if let Some(old) = find("[role=dialog]") {
        old.remove();
    }
    // Built apart, and put on the page by `present` once complete.
    let dialog = host::add(
        None,
        &cat(&[
            "div\u{1f}class\u{1f}card\u{1f}role\u{1f}dialog\u{1f}aria-labelledby\u{1f}biscotte-title\u{1f}tabindex\u{1f}-1\u{1f}data-biscotte-layer",
            US,
            layer,
            US,
            "lang",
            US,
            config.lang,
        ]),
        "",
    );
    let head = add(&dialog, "div\u{1f}class\u{1f}head", "");
    add(
        &head,
        "h2\u{1f}id\u{1f}biscotte-title\u{1f}class\u{1f}title",
        config.text(Text::Title),
    );
    add(
        &head,
        &cat(&[
            "button\u{1f}type\u{1f}button\u{1f}class\u{1f}close\u{1f}data-action\u{1f}close\u{1f}aria-label",
            US,
            config.text(Text::CloseLabel),
        ]),
        config.text(Text::Close),
    );
    dialog
}

/// The row of equal buttons: same element, class and parent for each (LEGAL R10, R11).
fn choices(dialog: &Element, config: &BannerConfig, buttons: &[(Action, Text)]) {
    let row = add(dialog, "div\u{1f}class\u{1f}choices", "");
    for (action, text) in buttons {
        add(
            &row,
            &cat(&[
                "button\u{1f}type\u{1f}button\u{1f}class\u{1f}choice\u{1f}data-action",
                US,
                action.name(),
            ]),
            config.text(*text),
        );
    }
}

fn present(dialog: Element, focus: bool) {
    let _ = host::root().append_child(&dialog);
    if let Some(manage) = find(".manage") {
        manage.set_hidden(true);
    }
    if focus {
        // Focus is a courtesy: a refusal by the browser changes nothing.
        let _ = dialog.unchecked_into::<HtmlElement>().focus();
    }
}
