//! When to ask the visitor again, and the durations Biscotte enforces.

use crate::config::SiteConfig;
use crate::cookie::SavedConsent;
#[allow(unused_imports)]
use crate::prelude::*;
use crate::time::Timestamp;

/// A choice (consent or refusal) is kept 6 months, then asked again (CNIL 2020-092 §39).
pub const CHOICE_VALIDITY_DAYS: i64 = 182;
/// No cookie the platform manages lives longer than 13 months.
pub const COOKIE_MAX_DAYS: i64 = 395;
/// Data collected through cookies is kept 25 months at most.
pub const DATA_MAX_DAYS: i64 = 760;

/// What the consent rules need to know of a configuration. The server implements it with the full
/// [`SiteConfig`]; the banner with its projection ([`crate::banner_config::BannerConfig`]), which
/// holds only what the banner shows: both run the same rules.
pub trait Scope {
    fn policy_version(&self) -> &str;
    /// The categories the visitor is asked about, in the configuration's order.
    fn asked_categories(&self) -> impl Iterator<Item = &str>;
    /// The services that run only with consent (those outside a required category), with
    /// their category.
    fn consent_services(&self) -> impl Iterator<Item = (&str, &str)>;
    /// Whether `id` is a required category (`necessary`: always on).
    fn is_required(&self, category: &str) -> bool;
    /// The category of a declared service.
    fn category_of(&self, service: &str) -> Option<&str>;
}

impl Scope for SiteConfig {
    fn policy_version(&self) -> &str {
        &self.policy_version
    }
    fn asked_categories(&self) -> impl Iterator<Item = &str> {
        self.consent_categories().map(|c| c.id.as_str())
    }
    fn consent_services(&self) -> impl Iterator<Item = (&str, &str)> {
        SiteConfig::consent_services(self).map(|s| (s.id.as_str(), s.category.as_str()))
    }
    fn is_required(&self, category: &str) -> bool {
        self.category(category).is_some_and(|c| c.required)
    }
    fn category_of(&self, service: &str) -> Option<&str> {
        self.service(service).map(|s| s.category.as_str())
    }
}

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
    published: &impl Scope,
    now: Timestamp,
) -> Option<PromptReason> {
    let Some(saved) = saved else {
        return Some(PromptReason::NeverAsked);
    };
    if now > saved.decided_at.plus_days(CHOICE_VALIDITY_DAYS) {
        return Some(PromptReason::Expired);
    }
    if saved.policy_version != published.policy_version() {
        return Some(PromptReason::PolicyChanged);
    }
    let mut new_items: Vec<String> = Vec::new();
    for id in published.asked_categories() {
        if !saved.choices.categories.contains_key(id) {
            new_items.push(id.to_owned());
        }
    }
    for (id, _) in published.consent_services() {
        if !saved.choices.services.contains_key(id) {
            new_items.push(id.to_owned());
        }
    }
    if !new_items.is_empty() {
        return Some(PromptReason::NewItems(new_items));
    }
    None
}

/// When the consent cookie should expire: the end of the choice's validity.
pub fn consent_cookie_expiry(decided_at: Timestamp) -> Timestamp {
    decided_at.plus_days(CHOICE_VALIDITY_DAYS)
}
