//! The consent engine of one page: the projection of the published configuration, the choice
//! in force, and what happens at start, on each control of the banner and on each decision (which
//! the loader's outbox then takes to the server).
//!
//! The state is one global behind a spin lock, taken only for short steps that never call page
//! code: page code (a gated script, a `biscotte:consent` listener) runs only once the lock is
//! released, so it may call `window.Biscotte` freely. A call that finds the lock taken (a
//! reentrant one) does nothing, or answers `null`.

use crate::prelude::*;
use crate::view::{self, Action, ConsentSummary};
use crate::{host, ui};
use biscotte_shared::banner_config::BannerConfig;
use biscotte_shared::{COOKIE_NAME, Choices, Method, SavedConsent, Timestamp};

struct Engine {
    server_origin: String,
    /// Borrows from the projection's text, kept (leaked) for the page's life.
    config: BannerConfig<'static>,
    /// From a readable cookie, or drawn at the first decision; every later decision reuses it.
    consent_id: Option<String>,
    in_force: Option<Choices>,
    /// Known only for decisions made on this page: the cookie does not keep it.
    method: Option<Method>,
}

static ENGINE: spin::Mutex<Option<Engine>> = spin::Mutex::new(None);

/// Runs `f` on the engine; `None` when it is not started or is busy (a reentrant call).
fn with<R>(f: impl FnOnce(&mut Engine) -> R) -> Option<R> {
    ENGINE.try_lock().and_then(|mut e| e.as_mut().map(f))
}

fn now() -> Timestamp {
    Timestamp::from_millis(host::now_ms())
}

pub fn start(server_origin: String, text: String) -> bool {
    let Some(config) = BannerConfig::decode(text.leak()) else {
        host::say(&[
            "the configuration from ",
            &server_origin,
            " is not a banner projection this engine reads (is the server newer than the page's cached loader?)",
        ]);
        return false;
    };
    let header = host::cookies();
    let saved = view::cookie_value(&header, COOKIE_NAME).and_then(|v| SavedConsent::decode(v).ok());
    let start = view::startup(saved.as_ref(), &config, now());
    let prompt = start.prompt.is_some();
    {
        let Some(mut slot) = ENGINE.try_lock() else {
            return false;
        };
        if slot.is_some() {
            return false;
        }
        *slot = Some(Engine {
            server_origin,
            config,
            consent_id: saved.map(|s| s.consent_id),
            in_force: start.in_force,
            method: None,
        });
    }
    // A returning visitor's scripts run first; a new visitor's banner shows first.
    if !prompt {
        apply();
    }
    with(|e| {
        ui::mount(&e.config);
        if prompt {
            ui::show_first(&e.config, false);
        } else {
            ui::close();
        }
    });
    if prompt {
        apply();
    }
    true
}

/// Makes the page follow the choice in force: refused services lose their cookies, allowed
/// gated scripts run. Without any choice in force, only `necessary` runs.
fn apply() {
    sweep();
    scan();
}

/// Deletes the cookies of every service the choice in force does not allow.
fn sweep() {
    let header = host::cookies();
    let assignments = with(|e| {
        let mut out = Vec::new();
        let hostname = host::hostname();
        for name in
            view::cookies_to_sweep(&e.config, e.in_force.as_ref(), view::cookie_names(&header))
        {
            out.extend(view::expiry_assignments(name, &hostname));
        }
        out
    });
    for assignment in assignments.unwrap_or_default() {
        host::set_cookie(&assignment);
    }
}

/// Runs every gated script the choice in force allows and that has not run yet, in document
/// order. Each runs once the lock is released: it may call `window.Biscotte`.
pub fn scan() {
    let scripts = host::elements(&host::gated());
    let allowed = with(|e| {
        let mut allowed = Vec::new();
        for script in scripts {
            let category = script.get_attribute("data-biscotte-category");
            let service = script.get_attribute("data-biscotte-service");
            if view::script_may_run(
                &e.config,
                e.in_force.as_ref(),
                category.as_deref(),
                service.as_deref(),
            ) {
                allowed.push(script);
            }
        }
        allowed
    });
    for script in allowed.unwrap_or_default() {
        host::revive(&script);
    }
}

/// What a control of the banner (or `Biscotte.open()`, or a `data-biscotte-open` element) does.
pub fn act(name: &str) {
    let Some(action) = Action::parse(name) else {
        return;
    };
    let decision = with(|e| match action {
        Action::Manage => {
            ui::show_first(&e.config, true);
            None
        }
        Action::Customize => {
            ui::show_second(&e.config, &view::switches(&e.config, e.in_force.as_ref()));
            None
        }
        Action::Save => Some((
            Method::Custom,
            view::custom_choices(&e.config, &ui::checked_categories()),
        )),
        Action::AcceptAll | Action::RejectAll | Action::Close => action.decision(&e.config),
    });
    if let Some(Some((method, choices))) = decision {
        decide(method, choices);
    }
}

/// Records a decision: cookie, banner, page, event, then the server (which may take it later:
/// the page follows the choice at once either way).
fn decide(method: Method, choices: Choices) {
    let consent_id = with(|e| e.consent_id.clone()).flatten();
    let consent_id = match consent_id {
        Some(id) => id,
        None => host::random_id(),
    };
    if consent_id.len() != 32 {
        return host::warn("no consent id could be drawn (crypto.getRandomValues is missing)");
    }
    let href = host::href();
    let secure = host::secure();
    let summary = with(|e| {
        let saved = SavedConsent {
            consent_id: consent_id.clone(),
            revision: e.config.revision.clone(),
            policy_version: e.config.policy_version.to_owned(),
            decided_at: now(),
            choices: choices.clone(),
        };
        host::set_cookie(&view::consent_cookie_assignment(&saved, secure));
        let body = view::request_json(&view::Request {
            consent_id: &consent_id,
            revision: e.config.revision.as_str(),
            method,
            choices: &choices,
            language: e.config.lang,
            url: &href,
        });
        let url = cat(&[
            e.server_origin.as_str(),
            "/api/v1/sites/",
            e.config.site,
            "/consents",
        ]);
        host::record(&url, &body);
        e.consent_id = Some(consent_id.clone());
        e.in_force = Some(choices.clone());
        e.method = Some(method);
        ConsentSummary {
            method: Some(method),
            categories: &choices.categories,
            services: &choices.services,
        }
        .to_json()
    });
    let Some(summary) = summary else {
        return;
    };
    ui::close();
    apply();
    host::emit(&summary);
}

/// `Biscotte.consent()`: the choice in force as JSON (the loader adds its receipt), or `null`.
pub fn consent_json() -> String {
    with(|e| match &e.in_force {
        Some(choices) => ConsentSummary {
            method: e.method,
            categories: &choices.categories,
            services: &choices.services,
        }
        .to_json(),
        None => "null".to_owned(),
    })
    .unwrap_or_else(|| "null".to_owned())
}
