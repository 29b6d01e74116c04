//! When to ask the visitor again, and the durations Biscotte enforces.

#[allow(unused_imports)]
use crate::prelude::*;
use crate::config::SiteConfig;
use crate::cookie::SavedConsent;
use crate::time::Timestamp;

/// A choice (consent or refusal) is kept 6 months, then asked again (CNIL 2020-092 §39).
pub const CHOICE_VALIDITY_DAYS: i64 = 182;
/// No cookie the platform manages lives longer than 13 months.
pub const COOKIE_MAX_DAYS: i64 = 395;
/// Data collected through cookies is kept 25 months at most.
pub const DATA_MAX_DAYS: i64 = 760;

/// Why the banner must ask.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PromptReason {
    /// No consent cookie, or one that could not be read (a garbled cookie never means consent).
    NeverAsked,
    /// The saved choice is older than [`CHOICE_VALIDITY_DAYS`].
    Expired,
    /// The policy version changed: everything is asked again.
    PolicyChanged,
    /// A new revision added categories or services the visitor never answered (their ids).
    NewItems(Vec<String>),
}

/// Whether the banner must ask, and why; `None` means the saved choice still holds.
pub fn needs_prompt(
    saved: Option<&SavedConsent>,
    published: &SiteConfig,
    now: Timestamp,
) -> Option<PromptReason> {
    let Some(saved) = saved else {
        return Some(PromptReason::NeverAsked);
    };
    if now > saved.decided_at.plus_days(CHOICE_VALIDITY_DAYS) {
        return Some(PromptReason::Expired);
    }
    if saved.policy_version != published.policy_version {
        return Some(PromptReason::PolicyChanged);
    }
    let mut new_items: Vec<String> = published
        .consent_categories()
        .filter(|c| !saved.choices.categories.contains_key(&c.id))
        .map(|c| c.id.clone())
        .collect();
    new_items.extend(
        published
            .consent_services()
            .filter(|s| !saved.choices.services.contains_key(&s.id))
            .map(|s| s.id.clone()),
    );
    if !new_items.is_empty() {
        return Some(PromptReason::NewItems(new_items));
    }
    None
}

/// When the consent cookie should expire: the end of the choice's validity.
pub fn consent_cookie_expiry(decided_at: Timestamp) -> Timestamp {
    decided_at.plus_days(CHOICE_VALIDITY_DAYS)
}
