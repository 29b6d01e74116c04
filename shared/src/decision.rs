//! A visitor's decision: a choice per category and per service, and how it was made.

use crate::config::SiteConfig;
use crate::error::FieldError;
#[allow(unused_imports)]
use crate::prelude::*;
use crate::rules::Scope;
use alloc::collections::BTreeMap;
use serde::{Deserialize, Serialize};

/// How the visitor decided. Closing the banner is a refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    AcceptAll,
    RejectAll,
    Custom,
    Close,
    /// The browser sent Global Privacy Control: every optional category and service refused.
    Gpc,
    /// One service allowed from its embed's placeholder: the previous choices, plus that service.
    Embed,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::AcceptAll => "accept_all",
            Method::RejectAll => "reject_all",
            Method::Custom => "custom",
            Method::Close => "close",
            Method::Gpc => "gpc",
            Method::Embed => "embed",
        }
    }

    /// Whether the method means "refuse everything optional".
    pub fn refuses_all(self) -> bool {
        matches!(self, Method::RejectAll | Method::Close | Method::Gpc)
    }
}

/// Answers by id (`true` = accepted), kept sorted by id: what a `BTreeMap<String, bool>` would
/// hold, as a sorted list. A site has at most [`MAX_CATEGORIES`] categories and [`MAX_SERVICES`]
/// services, so a binary search over a list is as fast, and the banner's wasm carries a few
/// hundred bytes of `Vec` code instead of about 6 KB of B-tree code. Serialized as a JSON object.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "BTreeMap<String, bool>", into = "BTreeMap<String, bool>")]
pub struct Answers(Vec<(String, bool)>);

impl Answers {
    pub fn new() -> Answers {
        Answers(Vec::new())
    }

    fn find(&self, id: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(id))
    }

    /// Sets the answer for `id`; returns the one it replaces.
    pub fn insert(&mut self, id: String, accepted: bool) -> Option<bool> {
        match self.find(&id) {
            Ok(at) => self
                .0
                .get_mut(at)
                .map(|(_, v)| core::mem::replace(v, accepted)),
            Err(at) => {
                self.0.insert(at, (id, accepted));
                None
            }
        }
    }

    pub fn get(&self, id: &str) -> Option<&bool> {
        self.find(id)
            .ok()
            .and_then(|at| self.0.get(at))
            .map(|(_, v)| v)
    }

    pub fn contains_key(&self, id: &str) -> bool {
        self.find(id).is_ok()
    }

    /// The answers in id order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &bool)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl Iterator<Item = &bool> {
        self.0.iter().map(|(_, v)| v)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<BTreeMap<String, bool>> for Answers {
    fn from(map: BTreeMap<String, bool>) -> Answers {
        // A BTreeMap iterates in key order: the list is sorted as it is built.
        Answers(map.into_iter().collect())
    }
}

impl From<Answers> for BTreeMap<String, bool> {
    fn from(answers: Answers) -> BTreeMap<String, bool> {
        answers.0.into_iter().collect()
    }
}

impl FromIterator<(String, bool)> for Answers {
    /// A later answer for the same id replaces an earlier one, as in a map.
    fn from_iter<I: IntoIterator<Item = (String, bool)>>(items: I) -> Answers {
        let mut answers = Answers::new();
        for (id, accepted) in items {
            answers.insert(id, accepted);
        }
        answers
    }
}

impl<'a> IntoIterator for &'a Answers {
    type Item = (&'a String, &'a bool);
    type IntoIter = core::iter::Map<
        core::slice::Iter<'a, (String, bool)>,
        fn(&'a (String, bool)) -> (&'a String, &'a bool),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

/// Choices per category and per service (`true` = accepted). Anything absent was never answered
/// and therefore counts as refused.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choices {
    pub categories: Answers,
    pub services: Answers,
}

impl Choices {
    /// The same answer for every category and service that needs consent.
    pub fn uniform(config: &impl Scope, accept: bool) -> Choices {
        Choices::from_categories(config, |_| accept)
    }

    /// One answer per category; each service follows its category.
    pub fn from_categories(config: &impl Scope, accept: impl Fn(&str) -> bool) -> Choices {
        // Built with `insert` rather than `collect`: collecting into a BTreeMap pulls a sort
        // into the banner's wasm (about 4 KB brotli).
        let mut choices = Choices::default();
        for id in config.asked_categories() {
            choices.categories.insert(id.to_owned(), accept(id));
        }
        for (id, category) in config.consent_services() {
            let accepted = choices.categories.get(category).copied().unwrap_or(false);
            choices.services.insert(id.to_owned(), accepted);
        }
        choices
    }

    /// Whether a category is accepted; `necessary` always is, in every configuration. Another
    /// needs its own yes, and to be one the visitor is asked about: a yes kept for a category
    /// the configuration no longer asks about (an earlier revision's) allows nothing.
    pub fn allows_category(&self, config: &impl Scope, id: &str) -> bool {
        config.is_required(id)
            || (self.categories.get(id).copied().unwrap_or(false)
                && config.asked_categories().any(|asked| asked == id))
    }

    /// Whether a service may run: services in `necessary` always may; others need their own yes.
    pub fn allows_service(&self, config: &impl Scope, id: &str) -> bool {
        match config.category_of(id) {
            Some(category) if config.is_required(category) => true,
            Some(_) => self.services.get(id).copied().unwrap_or(false),
            None => false,
        }
    }

    pub fn all(&self, value: bool) -> bool {
        self.categories
            .values()
            .chain(self.services.values())
            .all(|v| *v == value)
    }
}

/// A decision validated against the configuration it was made under: every consent-requiring
/// category and service has an explicit answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub consent_id: String,
    pub method: Method,
    pub choices: Choices,
}

/// The most categories a site may have, built-in ones included.
pub const MAX_CATEGORIES: usize = 32;
/// The most services a site may declare. With [`MAX_CATEGORIES`], it keeps every decision well
/// under the server's body limit ([`crate::api::DECISION_BODY_LIMIT`]).
pub const MAX_SERVICES: usize = 128;

/// What a consent id looks like, and where it comes from.
pub const CONSENT_ID_FORMAT: &str =
    "must be 32 lowercase hex digits (128 random bits drawn by the banner)";

/// Consent ids are 128 random bits drawn by the banner, in lowercase hex.
pub fn is_valid_consent_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl Decision {
    /// Checks what a banner sent. Services left out follow their category's answer; anything
    /// unknown, a refused `necessary`, or a method that contradicts the choices is an error
    /// naming the field.
    pub fn parse(
        consent_id: &str,
        method: Method,
        choices: &Choices,
        config: &SiteConfig,
    ) -> Result<Decision, FieldError> {
        if !is_valid_consent_id(consent_id) {
            return Err(FieldError::new("consent_id", CONSENT_ID_FORMAT));
        }
        let known = || {
            config
                .categories
                .iter()
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut categories = Answers::new();
        for (id, &accepted) in &choices.categories {
            let field = format!("categories.{id}");
            match config.category(id) {
                None => {
                    return Err(FieldError::new(
                        field,
                        format!("unknown category; this site's categories are {}", known()),
                    ));
                }
                Some(c) if c.required && !accepted => {
                    return Err(FieldError::new(
                        field,
                        "cannot be refused: technical cookies are always on",
                    ));
                }
                Some(c) if c.required => {}
                Some(c) if !config.asks(c) => {
                    return Err(FieldError::new(
                        field,
                        "this site declares no service in this category, so it is not asked: leave it out",
                    ));
                }
                Some(_) => {
                    categories.insert(id.clone(), accepted);
                }
            }
        }
        for c in config.consent_categories() {
            if !categories.contains_key(&c.id) {
                return Err(FieldError::new(
                    format!("categories.{}", c.id),
                    "missing: every category needs an answer (true or false)",
                ));
            }
        }
        let mut services = Answers::new();
        for (id, &accepted) in &choices.services {
            let field = format!("services.{id}");
            let Some(s) = config.service(id) else {
                return Err(FieldError::new(field, "unknown service for this site"));
            };
            match config.category(&s.category) {
                Some(c) if c.required && !accepted => {
                    return Err(FieldError::new(
                        field,
                        "cannot be refused: this service is declared as technical (necessary)",
                    ));
                }
                Some(c) if c.required => {}
                _ => {
                    services.insert(id.clone(), accepted);
                }
            }
        }
        for s in config.consent_services() {
            if !services.contains_key(&s.id) {
                services.insert(
                    s.id.clone(),
                    categories.get(&s.category).copied().unwrap_or(false),
                );
            }
        }
        let choices = Choices {
            categories,
            services,
        };
        match method {
            Method::AcceptAll if !choices.all(true) => {
                return Err(FieldError::new(
                    "method",
                    "accept_all, but some choices are false: send method \"custom\"",
                ));
            }
            Method::Gpc if !choices.all(false) => {
                return Err(FieldError::new(
                    "method",
                    "gpc records the browser's Global Privacy Control signal, which refuses everything optional, but some choices are true: send the visitor's own choice from the panel as \"custom\"",
                ));
            }
            _ if method.refuses_all() && !choices.all(false) => {
                return Err(FieldError::new(
                    "method",
                    format!(
                        "{}, but some choices are true: send method \"custom\"",
                        method.as_str()
                    ),
                ));
            }
            Method::Embed if !choices.services.values().any(|v| *v) => {
                return Err(FieldError::new(
                    "method",
                    "embed allows the service of the placeholder the visitor clicked, but no service is true: send that service as true",
                ));
            }
            _ => {}
        }
        Ok(Decision {
            consent_id: consent_id.to_owned(),
            method,
            choices,
        })
    }

    /// Checks the cookies a banner reports as still there after deleting those of the services
    /// this decision refuses: each must be a cookie such a service declares, or the report says
    /// something the configuration cannot explain.
    pub fn check_undeleted(&self, names: &[String], config: &SiteConfig) -> Result<(), FieldError> {
        for name in names {
            let refused_declares = config.services.iter().any(|s| {
                !self.choices.allows_service(config, &s.id)
                    && s.cookies.iter().any(|c| c.matches(name))
            });
            if !refused_declares {
                return Err(FieldError::new(
                    "undeleted_cookies",
                    format!(
                        "{name:?} is not a declared cookie of a service this decision refuses: send only those the banner tried to delete"
                    ),
                ));
            }
        }
        Ok(())
    }
}
