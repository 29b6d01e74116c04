//! The banner's DOM: a host `<div id="biscotte">` with an open shadow root holding the dialog
//! (first layer, then the per-category switches) and the floating manage button. It owns its
//! nodes and its event listeners: dropping a `Banner` unhooks everything.

use crate::dom::{DomResult, add, make};
use crate::view::{self, Action, Switch};
use biscotte_shared::Lang;
use biscotte_shared::config::BannerTexts;
use gloo_events::{EventListener, EventListenerOptions};
use wasm_bindgen::JsCast;
use web_sys::{
    CssStyleSheet, Document, Element, Event, HtmlElement, HtmlInputElement, KeyboardEvent,
    ShadowRoot, ShadowRootInit, ShadowRootMode,
};

pub const HOST_ID: &str = "biscotte";
/// The banner's styles, adopted by the shadow root. The three decision buttons share one class so
/// they look identical (LEGAL R10, R11). The file is shipped as written, so it holds no comments.
const STYLES: &str = include_str!("banner.css");
const TITLE_ID: &str = "biscotte-title";

/// What the visitor's clicks and keys mean; the engine decides what to do with them.
pub type OnAction = fn(Action);

#[derive(Debug)]
pub struct Banner {
    doc: Document,
    host: Element,
    root: ShadowRoot,
    manage: HtmlElement,
    dialog: Option<HtmlElement>,
    _clicks: EventListener,
    _escape: EventListener,
    _openers: EventListener,
}

impl Banner {
    /// Adds the host element to the page with the styles and the (hidden) manage button.
    pub fn mount(
        doc: &Document,
        lang: Lang,
        manage_text: &str,
        on_action: OnAction,
    ) -> DomResult<Banner> {
        let body = doc.body().ok_or("the page has no body")?;
        let host = make(doc, "div", &[("id", HOST_ID), ("lang", lang.code())], "")?;
        let root = host.attach_shadow(&ShadowRootInit::new(ShadowRootMode::Open))?;
        adopt_styles(doc, &root)?;
        let manage = make(
            doc,
            "button",
            &[
                ("type", "button"),
                ("class", "manage"),
                ("data-action", "manage"),
                ("hidden", ""),
            ],
            manage_text,
        )?;
        root.append_child(&manage)?;
        body.append_child(&host)?;

        // One listener for every control of the shadow root, read from `data-action`.
        let clicks = EventListener::new(&root, "click", move |event| {
            if let Some(action) = closest(event, "[data-action]")
                .and_then(|e| e.get_attribute("data-action"))
                .and_then(|a| Action::parse(&a))
            {
                on_action(action);
            }
        });
        // Escape closes the banner, which is a refusal: only while the dialog is shown.
        let shadow = root.clone();
        let escape = EventListener::new(doc, "keydown", move |event| {
            let is_escape = event
                .dyn_ref::<KeyboardEvent>()
                .is_some_and(|k| k.key() == "Escape");
            if is_escape
                && shadow
                    .query_selector("[role=dialog]")
                    .ok()
                    .flatten()
                    .is_some()
            {
                on_action(Action::Close);
            }
        });
        // Any element of the page marked `data-biscotte-open` reopens the choices.
        let openers = EventListener::new_with_options(
            doc,
            "click",
            EventListenerOptions::enable_prevent_default(),
            move |event| {
                if closest(event, "[data-biscotte-open]").is_some() {
                    event.prevent_default();
                    on_action(Action::Manage);
                }
            },
        );
        Ok(Banner {
            doc: doc.clone(),
            host,
            root,
            manage: manage.unchecked_into(),
            dialog: None,
            _clicks: clicks,
            _escape: escape,
            _openers: openers,
        })
    }

    /// Shows the first layer: title, text, policy link, the three equal choices and the close
    /// control. `focus` moves the keyboard focus into it, for openings the visitor asked for.
    pub fn show_first(
        &mut self,
        lang: Lang,
        texts: &BannerTexts,
        policy_url: Option<&str>,
        focus: bool,
    ) -> DomResult<()> {
        let dialog = self.dialog("first", lang, texts)?;
        add(&self.doc, &dialog, "p", &[("class", "body")], &texts.body)?;
        if let Some(url) = policy_url {
            let line = add(&self.doc, &dialog, "p", &[("class", "links")], "")?;
            add(
                &self.doc,
                &line,
                "a",
                &[("class", "policy"), ("href", url)],
                &texts.policy_link,
            )?;
        }
        self.choices(
            &dialog,
            &[
                (Action::AcceptAll, &texts.accept_all),
                (Action::RejectAll, &texts.reject_all),
                (Action::Customize, &texts.customize),
            ],
        )?;
        self.present(dialog, focus)
    }

    /// Shows the second view in the same dialog: one switch per category with its services,
    /// then « save », « accept all » and « refuse all ».
    pub fn show_second(
        &mut self,
        lang: Lang,
        texts: &BannerTexts,
        switches: &[Switch],
    ) -> DomResult<()> {
        let words = view::words(lang);
        let dialog = self.dialog("second", lang, texts)?;
        let doc = &self.doc;
        let list = add(doc, &dialog, "ul", &[("class", "categories")], "")?;
        for switch in switches {
            let item = add(doc, &list, "li", &[("class", "category")], "")?;
            let label = add(doc, &item, "label", &[("class", "switch")], "")?;
            let input = add(
                doc,
                &label,
                "input",
                &[
                    ("type", "checkbox"),
                    ("role", "switch"),
                    ("data-category", &switch.category),
                ],
                "",
            )?;
            if let Some(input) = input.dyn_ref::<HtmlInputElement>() {
                input.set_checked(switch.checked);
                input.set_disabled(switch.always_on);
            }
            let name = add(doc, &label, "span", &[("class", "name")], &switch.title)?;
            if switch.always_on {
                add(doc, &name, "span", &[("class", "always")], words.always_on)?;
            }
            add(
                doc,
                &label,
                "span",
                &[("class", "desc")],
                &switch.description,
            )?;
            if switch.services.is_empty() {
                // Technical cookies need no declared service (the site's session, this choice).
                if !switch.always_on {
                    add(doc, &item, "p", &[("class", "none")], words.no_service)?;
                }
                continue;
            }
            let services = add(doc, &item, "ul", &[("class", "services")], "")?;
            for s in &switch.services {
                let line = add(doc, &services, "li", &[], "")?;
                add(doc, &line, "span", &[("class", "service")], &s.name)?;
                line.append_with_str_1(&[" — ", &s.provider].concat())?;
                if let Some(url) = &s.privacy_policy_url {
                    line.append_with_str_1(" — ")?;
                    let link_name = [words.privacy_policy, " : ", &s.name].concat();
                    add(
                        doc,
                        &line,
                        "a",
                        &[
                            ("href", url),
                            ("target", "_blank"),
                            ("rel", "noopener noreferrer"),
                            ("aria-label", &link_name),
                        ],
                        words.privacy_policy,
                    )?;
                }
                if !s.cookies.is_empty() {
                    add(
                        doc,
                        &line,
                        "span",
                        &[("class", "cookies")],
                        &[words.cookies, " ", &s.cookies].concat(),
                    )?;
                }
            }
        }
        self.choices(
            &dialog,
            &[
                (Action::Save, &texts.save),
                (Action::AcceptAll, &texts.accept_all),
                (Action::RejectAll, &texts.reject_all),
            ],
        )?;
        self.present(dialog, true)
    }

    /// The categories whose switch is on, `necessary` aside.
    pub fn checked_categories(&self) -> DomResult<Vec<String>> {
        let found = self
            .root
            .query_selector_all("input[data-category]:checked:not(:disabled)")?;
        Ok((0..found.length())
            .filter_map(|i| {
                found
                    .item(i)
                    .and_then(|n| n.dyn_into::<Element>().ok())
                    .and_then(|e| e.get_attribute("data-category"))
            })
            .collect())
    }

    /// Removes the dialog and shows the manage button, keeping the focus on the banner's side
    /// when it was there.
    pub fn close(&mut self) {
        let had_focus = self.root.active_element().is_some();
        if let Some(dialog) = self.dialog.take() {
            dialog.remove();
        }
        self.manage.set_hidden(false);
        if had_focus {
            // Focus is a courtesy: a refusal by the browser changes nothing.
            let _ = self.manage.focus();
        }
    }

    /// A fresh, empty dialog with its header (title and close control), replacing any shown.
    fn dialog(&mut self, layer: &str, lang: Lang, texts: &BannerTexts) -> DomResult<HtmlElement> {
        if let Some(old) = self.dialog.take() {
            old.remove();
        }
        let doc = &self.doc;
        let attributes = [
            ("class", "card"),
            ("role", "dialog"),
            ("aria-labelledby", TITLE_ID),
            ("data-biscotte-layer", layer),
            ("lang", lang.code()),
            ("tabindex", "-1"),
        ];
        let dialog = make(doc, "div", &attributes, "")?;
        let head = add(doc, &dialog, "div", &[("class", "head")], "")?;
        add(
            doc,
            &head,
            "h2",
            &[("id", TITLE_ID), ("class", "title")],
            &texts.title,
        )?;
        let close_label = view::close_label(lang, &texts.close);
        add(
            doc,
            &head,
            "button",
            &[
                ("type", "button"),
                ("class", "close"),
                ("data-action", "close"),
                ("aria-label", &close_label),
            ],
            &texts.close,
        )?;
        Ok(dialog.unchecked_into())
    }

    /// The row of equal buttons: same element, class and parent for each (LEGAL R10, R11).
    fn choices(&self, dialog: &Element, buttons: &[(Action, &str)]) -> DomResult<()> {
        let row = add(&self.doc, dialog, "div", &[("class", "choices")], "")?;
        for (action, text) in buttons {
            add(
                &self.doc,
                &row,
                "button",
                &[
                    ("type", "button"),
                    ("class", "choice"),
                    ("data-action", action.name()),
                ],
                text,
            )?;
        }
        Ok(())
    }

    fn present(&mut self, dialog: HtmlElement, focus: bool) -> DomResult<()> {
        self.root.append_child(&dialog)?;
        self.manage.set_hidden(true);
        if focus {
            dialog.focus()?;
        }
        self.dialog = Some(dialog);
        Ok(())
    }
}

impl Drop for Banner {
    fn drop(&mut self) {
        self.host.remove();
    }
}

/// Gives the shadow root the banner's styles as a constructed style sheet: a page's CSP
/// `style-src` governs `<style>` elements but not constructed sheets, so the banner needs neither
/// `'unsafe-inline'` nor a hash that would change with every release, on any site. A browser
/// without constructed sheets (Safari before 16.4) gets a `<style>` element instead.
fn adopt_styles(doc: &Document, root: &ShadowRoot) -> DomResult<()> {
    let sheet = CssStyleSheet::new().and_then(|sheet| sheet.replace_sync(STYLES).map(|()| sheet));
    match sheet {
        Ok(sheet) => root.set_adopted_style_sheets(&js_sys::Array::of1(&sheet)),
        Err(_) => {
            let style = make(doc, "style", &[], STYLES)?;
            root.append_child(&style)?;
        }
    }
    Ok(())
}

/// The nearest element at or above the event's target that matches `selector`.
fn closest(event: &Event, selector: &str) -> Option<Element> {
    event
        .target()?
        .dyn_into::<Element>()
        .ok()?
        .closest(selector)
        .ok()
        .flatten()
}

/// The host element, if the banner is already on the page.
pub fn already_mounted(doc: &Document) -> bool {
    doc.get_element_by_id(HOST_ID).is_some()
}
