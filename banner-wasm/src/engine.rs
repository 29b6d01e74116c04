//! The consent engine of one page: the projection of the published configuration, the choice
//! in force, the outbox of decisions the server has not acknowledged, and what happens at start,
//! on each control of the banner, on each decision and on each answer of the server.
//!
//! The state is one global behind a spin lock, taken only for short steps that never call page
//! code: page code (a gated script, a `biscotte:consent` listener) runs only once the lock is
//! released, so it may call `window.Biscotte` freely. A call that finds the lock taken (a
//! reentrant one) does nothing, or answers `null`.

use crate::outbox::{self, MAX_TRIES, Outcome, Pending, STORAGE_KEY};
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
    receipt: Option<String>,
    /// Decisions not acknowledged yet, oldest first; `localStorage` keeps a copy for the next
    /// pages.
    queue: Vec<Pending>,
    /// A request is out, or a timer will send the next one. Never two at once: the log gets a
    /// visitor's decisions in the order they were made.
    busy: bool,
    /// The decision out now (its `decided_at`, which identifies it).
    sent: Option<i64>,
    /// The latest decision made on this page, whose receipt `consent()` shows; an earlier one's
    /// no longer describes the choice in force.
    latest: Option<i64>,
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
    let queue = outbox::parse(&host::load(STORAGE_KEY), host::now_ms());
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
            receipt: None,
            queue,
            busy: false,
            sent: None,
            latest: None,
        });
    }
    let shown = with(|e| {
        ui::mount(&e.config)?;
        if prompt {
            ui::show_first(&e.config, false)
        } else {
            ui::close();
            Ok(())
        }
    });
    if let Some(Err(e)) = shown {
        host::warn_js("the banner could not be shown", &e);
    }
    // Decisions that earlier pages could not send go first, before any made on this one.
    next();
    apply();
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
    let result = with(|e| match action {
        Action::Manage => ui::show_first(&e.config, true).map(|()| None),
        Action::Customize => {
            let switches = view::switches(&e.config, e.in_force.as_ref());
            ui::show_second(&e.config, &switches).map(|()| None)
        }
        Action::Save => ui::checked_categories()
            .map(|checked| Some((Method::Custom, view::custom_choices(&e.config, &checked)))),
        Action::AcceptAll | Action::RejectAll | Action::Close => Ok(action.decision(&e.config)),
    });
    match result {
        Some(Ok(Some((method, choices)))) => decide(method, choices),
        Some(Err(e)) => host::warn_js(&["the \"", name, "\" control failed"].concat(), &e),
        _ => {}
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
        let url = [
            e.server_origin.as_str(),
            "/api/v1/sites/",
            e.config.site,
            "/consents",
        ]
        .concat();
        // Strictly after the previous one, so that it names this decision alone.
        let decided_at = host::now_ms().max(e.queue.last().map_or(0, |p| p.decided_at + 1));
        outbox::push(
            &mut e.queue,
            Pending {
                decided_at,
                tries: 0,
                not_before: 0,
                url,
                body,
            },
        );
        host::store(STORAGE_KEY, &outbox::write(&e.queue));
        e.latest = Some(decided_at);
        e.consent_id = Some(consent_id.clone());
        e.in_force = Some(choices.clone());
        e.method = Some(method);
        e.receipt = None;
        ConsentSummary {
            method: Some(method),
            categories: &choices.categories,
            services: &choices.services,
            receipt: None,
        }
        .to_json()
    });
    let Some(summary) = summary else {
        return;
    };
    ui::close();
    apply();
    host::emit(&summary);
    next();
}

/// `Biscotte.consent()`: the choice in force as JSON, or `null`.
pub fn consent_json() -> String {
    with(|e| match &e.in_force {
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

/// What the loader should do next for the outbox.
enum Step {
    Send(String, String),
    Wait(i64),
}

/// Sends the oldest decision if it is due, or waits until it is.
fn next() {
    let now = host::now_ms();
    let step = with(|e| {
        if e.busy {
            return None;
        }
        let first = e.queue.first_mut()?;
        let step = if first.not_before > now {
            Step::Wait(first.not_before - now)
        } else {
            first.tries += 1;
            // Until an answer comes, the next try waits as if this one failed: a page closed
            // while the request is out leaves the next page a pause rather than a burst.
            first.not_before = now + outbox::delay_ms(first.tries, None, host::random());
            e.sent = Some(first.decided_at);
            Step::Send(first.url.clone(), first.body.clone())
        };
        e.busy = true;
        host::store(STORAGE_KEY, &outbox::write(&e.queue));
        Some(step)
    })
    .flatten();
    match step {
        Some(Step::Send(url, body)) => host::post(&url, &body),
        Some(Step::Wait(ms)) => host::later(ms.clamp(0, outbox::MAX_DELAY_MS) as f64),
        None => {}
    }
}

/// The timer set by `next` is due.
pub fn wake() {
    with(|e| e.busy = false);
    next();
}

/// Takes the sent decision off the queue, or schedules its next try, then moves on.
pub fn answered(status: u16, retry_after: &str, receipt: String) {
    let outcome = outbox::outcome(status);
    let later = outcome == Outcome::Later;
    let now = host::now_ms();
    let given_up = with(|e| {
        e.busy = false;
        let sent = e.sent.take()?;
        let at = e.queue.iter().position(|p| p.decided_at == sent)?;
        let mut given_up = false;
        match e.queue.get_mut(at) {
            Some(p) if later && p.tries < MAX_TRIES => {
                let retry_after = Some(retry_after).filter(|r| !r.is_empty());
                p.not_before = now + outbox::delay_ms(p.tries, retry_after, host::random());
            }
            _ => {
                given_up = later;
                e.queue.remove(at);
            }
        }
        host::store(STORAGE_KEY, &outbox::write(&e.queue));
        if outcome == Outcome::Recorded && e.latest == Some(sent) && !receipt.is_empty() {
            e.receipt = Some(receipt);
        }
        Some(given_up)
    })
    .flatten();
    match (outcome, given_up) {
        (Outcome::Later, Some(true)) => {
            host::warn("the server did not record a decision after every try; it is given up")
        }
        (Outcome::Later, _) => host::warn(
            "the server did not record a decision yet (no answer, 408, 429 or 5xx); it will be sent again",
        ),
        (Outcome::Refused, _) => host::warn(
            "the server refused a decision for good (it is applied on this page only): see the answer in the network panel",
        ),
        (Outcome::Recorded, _) => {}
    }
    next();
}
