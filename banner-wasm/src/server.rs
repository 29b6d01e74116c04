//! The one request the banner makes, `POST {server}/api/v1/sites/{site}/consents` with a
//! decision, answered by a signed receipt; and its outbox. A decision the server does not take
//! now (429, 5xx, no answer) waits in `localStorage` and is sent again with backoff, on this page
//! and on the next ones. `outbox.rs` decides what to keep and when; this module acts.
//!
//! Promise callbacks and timers rather than `async`: it keeps a future executor out of the bundle.

use crate::dom::{self, DomResult};
use crate::outbox::{self, MAX_TRIES, Outcome, Pending, STORAGE_KEY};
use crate::{read, view};
use biscotte_shared::api::ConsentRequest;
use std::cell::RefCell;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{RequestInit, Response};

/// A request with no answer after this long is given up and tried again later: a server that
/// hangs must not hold the queue.
const ANSWER_TIMEOUT_MS: u32 = 15_000;

#[wasm_bindgen]
extern "C" {
    /// `AbortSignal.timeout(ms)`, or an error where the browser lacks it (Safari before 16):
    /// declared here with `catch` because web-sys's binding would abort the whole engine there.
    #[wasm_bindgen(catch, js_namespace = AbortSignal, js_name = timeout)]
    fn abort_after(ms: u32) -> Result<JsValue, JsValue>;
}

struct Outbox {
    /// Decisions not acknowledged yet, oldest first, each with its own route; `localStorage`
    /// keeps a copy for the next pages.
    queue: Vec<Pending>,
    /// A request is out, or a timer will send the next one. Never two at once: the log gets a
    /// visitor's decisions in the order they were made.
    busy: bool,
    /// The latest decision made on this page (its `decided_at`, which identifies it) and who
    /// takes its receipt; an earlier one's receipt no longer describes the choice in force.
    receipt: Option<(i64, fn(String))>,
}

thread_local! {
    static OUTBOX: RefCell<Outbox> = const {
        RefCell::new(Outbox {
            queue: Vec::new(),
            busy: false,
            receipt: None,
        })
    };
}

fn now() -> i64 {
    js_sys::Date::now() as i64
}

/// `localStorage`, unless the browser refuses it (some do, with third-party storage blocked):
/// then an unsent decision is kept for this page only.
fn local_storage() -> Option<web_sys::Storage> {
    dom::window().ok()?.local_storage().ok().flatten()
}

/// Takes up what earlier pages left unsent, and sends it once its wait is over.
pub fn resume() {
    let stored = local_storage().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten());
    let queue = outbox::parse(&stored.unwrap_or_default(), now());
    OUTBOX.with(|o| o.borrow_mut().queue = queue);
    next();
}

/// Copies the queue to `localStorage`; the entry is removed when nothing waits, so no trace is
/// left once the server has everything.
fn save(queue: &[Pending]) {
    let Some(storage) = local_storage() else {
        return;
    };
    let text = outbox::write(queue);
    let saved = if text.is_empty() {
        storage.remove_item(STORAGE_KEY)
    } else {
        storage.set_item(STORAGE_KEY, &text)
    };
    if let Err(e) = saved {
        dom::warn_js("an unsent decision is kept for this page only", &e);
    }
}

/// Records a decision on the Biscotte server, then hands its receipt to `on_receipt` unless a
/// newer decision was made meanwhile. It is queued and stored first, so that neither a refusal
/// for now nor leaving the page loses it; failures are logged, never thrown at the page.
pub fn record(server_origin: &str, site: &str, request: &ConsentRequest, on_receipt: fn(String)) {
    let url = [server_origin, "/api/v1/sites/", site, "/consents"].concat();
    let body = view::request_json(request);
    OUTBOX.with(|o| {
        let mut o = o.borrow_mut();
        // Strictly after the previous one, so that it names this decision alone.
        let decided_at = now().max(o.queue.last().map_or(0, |p| p.decided_at + 1));
        outbox::push(
            &mut o.queue,
            Pending {
                decided_at,
                tries: 0,
                not_before: 0,
                url,
                body,
            },
        );
        save(&o.queue);
        o.receipt = Some((decided_at, on_receipt));
    });
    next();
}

/// Sends the oldest decision if it is due, or waits until it is.
fn next() {
    let now = now();
    let step = OUTBOX.with(|o| {
        let mut o = o.borrow_mut();
        let o = &mut *o;
        let first = o.queue.first_mut().filter(|_| !o.busy)?;
        let step = if first.not_before > now {
            Err(first.not_before - now)
        } else {
            first.tries += 1;
            // Until an answer comes, the next try waits as if this one failed: a page closed
            // while the request is out leaves the next page a pause rather than a burst.
            first.not_before = now + outbox::delay_ms(first.tries, None, js_sys::Math::random());
            Ok(first.clone())
        };
        o.busy = true;
        save(&o.queue);
        Some(step)
    });
    let started = match step {
        None => return,
        Some(Ok(entry)) => send(entry),
        Some(Err(wait)) => wake_in(wait),
    };
    if let Err(e) = started {
        // Nothing is out and no timer is set: the next decision or the next page tries again.
        OUTBOX.with(|o| o.borrow_mut().busy = false);
        dom::warn_js("an unsent decision is kept for the next page", &e);
    }
}

fn wake_in(ms: i64) -> DomResult<()> {
    let wake = Closure::<dyn FnMut()>::once(|| {
        OUTBOX.with(|o| o.borrow_mut().busy = false);
        next();
    });
    dom::window()?.set_timeout_with_callback_and_timeout_and_arguments_0(
        wake.as_ref().unchecked_ref(),
        ms.clamp(0, outbox::MAX_DELAY_MS) as i32,
    )?;
    wake.forget();
    Ok(())
}

/// No credentials travel (the consent id in the body is the only link to the visitor), and the
/// request is `keepalive` so that a decision made just before leaving the page still leaves.
fn send(entry: Pending) -> DomResult<()> {
    // A plain init object rather than web-sys's `RequestInit` and `Headers`: the same request,
    // with fewer JavaScript imports in the glue.
    let headers = dom::object(&[("Content-Type", &JsValue::from_str("application/json"))])?;
    let init = dom::object(&[
        ("method", &JsValue::from_str("POST")),
        ("headers", &headers),
        ("body", &JsValue::from_str(&entry.body)),
        ("credentials", &JsValue::from_str("omit")),
        ("keepalive", &JsValue::TRUE),
    ])?;
    if let Ok(signal) = abort_after(ANSWER_TIMEOUT_MS) {
        js_sys::Reflect::set(&init, &JsValue::from_str("signal"), &signal)?;
    }
    let request =
        dom::window()?.fetch_with_str_and_init(&entry.url, init.unchecked_ref::<RequestInit>());
    // One callback for both outcomes (only one runs): a response, whatever its status, or a
    // failure (no network, no answer in time, or a server that refuses this origin by CORS).
    let done = Closure::<dyn FnMut(JsValue)>::once(move |answer: JsValue| {
        match answer.dyn_into::<Response>() {
            Ok(response) => answered(&entry, &response),
            Err(_) => {
                settle(&entry, 0, None);
            }
        }
    });
    let _ = request.then2(&done, &done);
    // It runs at most once; what stays behind is a small wrapper per request.
    done.forget();
    Ok(())
}

fn answered(entry: &Pending, response: &Response) {
    let status = response.status();
    let retry_after = response.headers().get("Retry-After").ok().flatten();
    let receipt = settle(entry, status, retry_after.as_deref());
    if outbox::outcome(status) == Outcome::Later {
        return;
    }
    let Ok(text) = response.text() else {
        return dom::warn("the server's answer could not be read");
    };
    let url = entry.url.clone();
    let on_text = Closure::<dyn FnMut(JsValue)>::once(move |text: JsValue| {
        let text = text.as_string().unwrap_or_default();
        if status / 100 != 2 {
            return dom::warn(
                &[
                    "the decision is applied on this page but ",
                    &url,
                    " refused it for good (HTTP ",
                    &status.to_string(),
                    "): ",
                    &text,
                ]
                .concat(),
            );
        }
        let answer = js_sys::JSON::parse(&text).map_err(|_| "it is not JSON".to_owned());
        match answer.and_then(|a| read::consent_response(&a).map_err(|e| e.message())) {
            Ok(response) => {
                if let Some(on_receipt) = receipt {
                    on_receipt(response.receipt);
                }
            }
            Err(e) => dom::warn(&[&url, " answered an unreadable receipt: ", &e].concat()),
        }
    });
    let _ = text.then2(&on_text, &on_text);
    on_text.forget();
}

/// Takes the sent decision off the queue, or schedules its next try, then moves on. `status` 0
/// is no answer. Returns who waits for its receipt, once it is recorded.
fn settle(sent: &Pending, status: u16, retry_after: Option<&str>) -> Option<fn(String)> {
    let outcome = outbox::outcome(status);
    let later = outcome == Outcome::Later;
    let now = now();
    let (given_up, receipt) = OUTBOX.with(|o| {
        let mut o = o.borrow_mut();
        o.busy = false;
        let mut given_up = false;
        if let Some(at) = o.queue.iter().position(|p| p.decided_at == sent.decided_at) {
            match o.queue.get_mut(at) {
                Some(p) if later && p.tries < MAX_TRIES => {
                    p.not_before =
                        now + outbox::delay_ms(p.tries, retry_after, js_sys::Math::random());
                }
                _ => {
                    given_up = later;
                    o.queue.remove(at);
                }
            }
            save(&o.queue);
        }
        let mine = o
            .receipt
            .as_ref()
            .is_some_and(|(at, _)| *at == sent.decided_at);
        let receipt = if mine && (!later || given_up) {
            o.receipt.take().map(|(_, on_receipt)| on_receipt)
        } else {
            None
        };
        (given_up, receipt)
    });
    if later {
        dom::warn_js(
            if given_up {
                "the server did not record a decision (HTTP status, 0: no answer); given up"
            } else {
                "the server did not record a decision yet (HTTP status, 0: no answer); it will be sent again"
            },
            &JsValue::from(status),
        );
    }
    next();
    receipt.filter(|_| outcome == Outcome::Recorded)
}
