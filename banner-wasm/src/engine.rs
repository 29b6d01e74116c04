//! The consent engine of one page: the published configuration, the choice in force, and what
//! happens at start, on each control of the banner and on each decision.
//!
//! State lives in two thread-locals, the engine's data and the banner's DOM, each borrowed only
//! for short, non-reentrant steps: page code (a gated script, a `biscotte:consent` listener)
//! runs only while neither is borrowed, so it may call `window.Biscotte` freely.

use crate::banner::{self, Banner};
use crate::dom::{self, DomResult};
use crate::view::{self, Action, ConsentSummary};
use crate::{api, gate, saved, server};
use biscotte_shared::api::{ConsentRequest, PublishedConfig};
use biscotte_shared::{Choices, Lang, Method, SavedConsent, Timestamp};
use gloo_events::EventListener;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsValue;

#[derive(Debug)]
struct Engine {
    server_origin: String,
    site: String,
    published: Rc<PublishedConfig>,
    lang: Lang,
    /// From a readable cookie, or drawn at the first decision; every later decision reuses it.
    consent_id: Option<String>,
    in_force: Option<Choices>,
    /// Known only for decisions made on this page: the cookie does not keep it.
    method: Option<Method>,
    receipt: Option<String>,
}

thread_local! {
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
    static BANNER: RefCell<Option<Banner>> = const { RefCell::new(None) };
}

/// Runs `f` on the engine; `None` when it is not started or is busy (a reentrant call).
fn with_engine<R>(f: impl FnOnce(&mut Engine) -> R) -> Option<R> {
    ENGINE.with(|cell| {
        cell.try_borrow_mut()
            .ok()
            .and_then(|mut e| e.as_mut().map(f))
    })
}

fn with_banner<R>(f: impl FnOnce(&mut Banner) -> DomResult<R>) -> DomResult<R> {
    BANNER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut banner) => banner
            .as_mut()
            .map_or_else(|| Err(JsValue::from_str("the banner is not mounted")), f),
        Err(_) => Err(JsValue::from_str("the banner is busy")),
    })
}

fn now() -> Timestamp {
    Timestamp::from_millis(js_sys::Date::now() as i64)
}

/// Starts once the document is parsed, so that every gated script and the body exist.
pub fn start_when_ready(server_origin: String, site: String, published: PublishedConfig) {
    let doc = match dom::document() {
        Ok(doc) => doc,
        Err(e) => return dom::warn_js("no document to show the banner in", &e),
    };
    if doc.ready_state() == "loading" {
        EventListener::once(&doc, "DOMContentLoaded", move |_| {
            boot(server_origin, site, published)
        })
        .forget();
    } else {
        boot(server_origin, site, published);
    }
}

fn boot(server_origin: String, site: String, published: PublishedConfig) {
    if let Err(e) = try_boot(server_origin, site, published) {
        dom::warn_js("the banner could not start", &e);
    }
}

fn try_boot(server_origin: String, site: String, published: PublishedConfig) -> DomResult<()> {
    let doc = dom::document()?;
    if banner::already_mounted(&doc) {
        dom::warn("the banner is already running on this page: include biscotte.js only once");
        return Ok(());
    }
    let lang = dom::page_lang();
    let saved = saved::read(&saved::cookie_header());
    let start = view::startup(saved.as_ref(), &published.config, now());
    let published = Rc::new(published);
    let config = &published.config;
    let texts = config.texts.get(lang);

    // Decisions that earlier pages could not send go first, before any made on this one.
    server::resume();
    ENGINE.with(|cell| {
        cell.replace(Some(Engine {
            server_origin,
            site,
            published: published.clone(),
            lang,
            consent_id: saved.map(|s| s.consent_id),
            in_force: start.in_force.clone(),
            method: None,
            receipt: None,
        }))
    });
    api::install()?;

    let mut banner = Banner::mount(&doc, lang, &texts.manage, act)?;
    if start.prompt.is_some() {
        banner.show_first(lang, texts, view::web_link(&config.policy_url), false)?;
    } else {
        banner.close();
    }
    BANNER.with(|cell| cell.replace(Some(banner)));
    apply(&published, start.in_force.as_ref());
    Ok(())
}

/// Makes the page follow the choices: refused services lose their cookies, allowed gated
/// scripts run. Without any choice in force, only `necessary` runs.
fn apply(published: &PublishedConfig, choices: Option<&Choices>) {
    if let Err(e) = saved::sweep(&published.config, choices) {
        dom::warn_js(
            "the cookies of refused services could not all be deleted",
            &e,
        );
    }
    if let Err(e) = gate::run_allowed(&published.config, choices) {
        dom::warn_js("gated scripts could not be run", &e);
    }
}

/// What a control of the banner (or a `data-biscotte-open` element) does.
fn act(action: Action) {
    let result = match action {
        Action::Manage => open(true),
        Action::Customize => customize(),
        Action::Save => with_banner(|b| b.checked_categories()).and_then(|checked| {
            let published = published().ok_or("the engine is not running")?;
            decide(
                Method::Custom,
                view::custom_choices(&published.config, &checked),
            )
        }),
        Action::AcceptAll | Action::RejectAll | Action::Close => {
            let decision = published().and_then(|p| action.decision(&p.config));
            decision.map_or(Ok(()), |(method, choices)| decide(method, choices))
        }
    };
    if let Err(e) = result {
        dom::warn_js(&["the \"", action.name(), "\" control failed"].concat(), &e);
    }
}

fn published() -> Option<Rc<PublishedConfig>> {
    with_engine(|e| e.published.clone())
}

/// Shows the first layer, from the manage button, a `data-biscotte-open` element or
/// `Biscotte.open()`.
pub fn open(focus: bool) -> DomResult<()> {
    let (published, lang) = with_engine(|e| (e.published.clone(), e.lang))
        .ok_or("the engine is busy or not running")?;
    let config = &published.config;
    with_banner(|b| {
        b.show_first(
            lang,
            config.texts.get(lang),
            view::web_link(&config.policy_url),
            focus,
        )
    })
}

fn customize() -> DomResult<()> {
    let (published, lang, switches) = with_engine(|e| {
        (
            e.published.clone(),
            e.lang,
            view::switches(&e.published.config, e.lang, e.in_force.as_ref()),
        )
    })
    .ok_or("the engine is busy or not running")?;
    with_banner(|b| b.show_second(lang, published.config.texts.get(lang), &switches))
}

/// Records a decision: cookie, page, event, then the server (which may take it later: the
/// page follows the choice at once either way).
fn decide(method: Method, choices: Choices) -> DomResult<()> {
    let existing =
        with_engine(|e| e.consent_id.clone()).ok_or("the engine is busy or not running")?;
    let consent_id = match existing {
        Some(id) => id,
        None => saved::new_consent_id()?,
    };
    let (published, lang, server_origin, site) = with_engine(|e| {
        e.consent_id = Some(consent_id.clone());
        e.in_force = Some(choices.clone());
        e.method = Some(method);
        e.receipt = None;
        (
            e.published.clone(),
            e.lang,
            e.server_origin.clone(),
            e.site.clone(),
        )
    })
    .ok_or("the engine is busy or not running")?;
    let config = &published.config;

    let saved = SavedConsent {
        consent_id: consent_id.clone(),
        revision: published.revision.clone(),
        policy_version: config.policy_version.clone(),
        decided_at: now(),
        choices: choices.clone(),
    };
    if let Err(e) = saved::write(&saved) {
        dom::warn_js("the consent cookie could not be written", &e);
    }
    let closed = with_banner(|b| {
        b.close();
        Ok(())
    });
    if let Err(e) = closed {
        dom::warn_js("the banner could not be closed", &e);
    }
    apply(&published, Some(&choices));

    let summary = ConsentSummary {
        method: Some(method),
        categories: &choices.categories,
        services: &choices.services,
        receipt: None,
    };
    if let Err(e) = dom::document()
        .and_then(|doc| dom::dispatch_json(&doc, "biscotte:consent", &summary.to_json()))
    {
        dom::warn_js("the biscotte:consent event could not be sent", &e);
    }

    let request = ConsentRequest {
        consent_id,
        revision: published.revision.as_str().to_owned(),
        method,
        categories: choices.categories,
        services: choices.services,
        language: lang,
        url: dom::place().ok().map(|p| p.href),
    };
    // Only the latest decision's receipt arrives: `server` drops older ones.
    server::record(&server_origin, &site, &request, |receipt| {
        with_engine(|e| e.receipt = Some(receipt));
    });
    Ok(())
}

/// `Biscotte.consent()`: the choice in force as JSON, or `null`.
pub fn consent_json() -> String {
    with_engine(|e| match &e.in_force {
        Some(choices) => ConsentSummary {
            method: e.method,
            categories: &choices.categories,
            services: &choices.services,
            receipt: Some(e.receipt.as_deref()),
        }
        .to_json(),
        None => "null".to_owned(),
    })
    .unwrap_or_else(|| "null".to_owned())
}
