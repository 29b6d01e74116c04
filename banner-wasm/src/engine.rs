//! The consent engine of one page: the projection of the published configuration, the choice
//! in force, and what a decision writes (the consent cookie) and sends (the body the loader's
//! outbox takes to the server).
//!
//! The state is one global behind a spin lock, taken only for short steps that never call page
//! code. A call that finds the lock taken (a reentrant one) does nothing, or answers `null`.

use crate::host;
use crate::prelude::*;
use crate::view::{self, ConsentSummary};
use biscotte_shared::banner_config::BannerConfig;
use biscotte_shared::{COOKIE_NAME, Choices, Method, SavedConsent, Timestamp};

struct Engine {
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

/// What `start` found: the projection could not be read, the visitor's choice holds, or the
/// visitor must be asked.
pub const UNREADABLE: u32 = 0;
pub const HOLDS: u32 = 1;
pub const ASK: u32 = 2;

pub fn start(text: String) -> u32 {
    let Some(config) = BannerConfig::decode(text.leak()) else {
        host::warn(
            "the server's banner configuration is not a projection this engine reads (is the server newer than the page's cached loader?)",
        );
        return UNREADABLE;
    };
    let header = host::cookies();
    let saved = view::cookie_value(&header, COOKIE_NAME).and_then(|v| SavedConsent::decode(v).ok());
    let start = view::startup(saved.as_ref(), &config, now());
    let answer = if start.prompt.is_some() { ASK } else { HOLDS };
    // A second start (the loader's revision check found a newer projection) replaces the first:
    // the choice in force is read again, under the new revision.
    let Some(mut slot) = ENGINE.try_lock() else {
        return UNREADABLE;
    };
    *slot = Some(Engine {
        config,
        consent_id: saved.map(|s| s.consent_id),
        in_force: start.in_force,
        method: None,
    });
    answer
}

/// Records a decision: the consent cookie, then the server through the loader's outbox (which
/// may take it later: the page follows the choice at once either way). `accepted` names, separated
/// by spaces, the categories and services the visitor said yes to; `undeleted` the declared
/// cookies of refused services still readable after the loader tried to delete them.
///
/// Each decision draws its own decision id, written into its body: the outbox sends that body
/// unchanged on every try, from this page or a later one, so the server can log it once.
pub fn decide(method: &str, accepted: &str, undeleted: &str) {
    let Some(method) = view::method(method) else {
        return;
    };
    let consent_id = with(|e| e.consent_id.clone()).flatten();
    let consent_id = match consent_id {
        Some(id) => id,
        None => host::random_id(),
    };
    let decision_id = host::random_id();
    if consent_id.len() != 32 || decision_id.len() != 32 {
        return host::warn("no random id could be drawn (crypto.getRandomValues is missing)");
    }
    let href = host::href();
    let secure = host::secure();
    with(|e| {
        let saved = SavedConsent {
            consent_id,
            revision: e.config.revision.clone(),
            policy_version: e.config.policy_version.to_owned(),
            decided_at: now(),
            choices: view::choices(&e.config, accepted),
        };
        host::set_cookie(&view::consent_cookie_assignment(&saved, secure));
        let body = view::request_json(&view::Request {
            consent_id: &saved.consent_id,
            revision: e.config.revision.as_str(),
            method,
            choices: &saved.choices,
            language: e.config.lang,
            url: &href,
            undeleted,
            decision_id: &decision_id,
        });
        host::record(&body);
        // The saved choice's parts become the page's: nothing is copied.
        e.consent_id = Some(saved.consent_id);
        e.in_force = Some(saved.choices);
        e.method = Some(method);
    });
}

/// `Biscotte.consent()`: the choice in force as JSON (the loader adds its receipt and proof), or
/// `None` for `null`.
pub fn consent_json() -> Option<String> {
    with(|e| {
        let choices = e.in_force.as_ref()?;
        Some(
            ConsentSummary {
                method: e.method,
                categories: &choices.categories,
                services: &choices.services,
            }
            .to_json(),
        )
    })
    .flatten()
}
