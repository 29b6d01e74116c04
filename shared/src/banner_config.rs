//! What the banner reads: the projection of a published configuration for one language
//! (`GET /api/v1/sites/{site}/banner?lang=…`, written by `projection::encode` on the server),
//! holding only what the banner shows and needs, with every text already resolved.
//!
//! The format is plain text so that the wasm needs no JSON reader: records are separated by
//! U+001E and fields by U+001F (neither can occur in a text: the projection replaces them).
//! - record 0: `biscotte-banner-1`, site, revision, policy version, language, policy URL (empty
//!   when it is not a web link);
//! - record 1: the 14 texts of [`Text`], in its order;
//! - then `c`, id, `1` if required (else empty), title, description: the categories shown;
//! - then `s`, id, category, name, provider, privacy policy URL (or empty), declared cookie
//!   names and patterns (one field each): the services.
//!
//! Reading is strict: anything else is `None`, and the banner then shows nothing and runs nothing
//! optional.

#[allow(unused_imports)]
use crate::prelude::*;
use crate::revision::Revision;
use crate::rules::Scope;

pub const FORMAT: &str = "biscotte-banner-1";
pub const RECORD_SEPARATOR: char = '\u{1e}';
pub const FIELD_SEPARATOR: char = '\u{1f}';

/// The texts of record 1, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Text {
    Title,
    Body,
    AcceptAll,
    RejectAll,
    Customize,
    Save,
    Close,
    /// The close control's accessible name: its text, then that closing refuses.
    CloseLabel,
    Manage,
    PolicyLink,
    AlwaysOn,
    PrivacyPolicy,
    Cookies,
    NoService,
}

/// How many texts record 1 holds.
pub const TEXTS: usize = 14;

/// A category shown on the second layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CategoryLine<'a> {
    pub id: &'a str,
    pub required: bool,
    pub title: &'a str,
    pub description: &'a str,
}

/// A service, as the visitor reads it under its category.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceLine<'a> {
    pub id: &'a str,
    pub category: &'a str,
    pub name: &'a str,
    pub provider: &'a str,
    /// Empty when the configured URL is not a web link.
    pub policy_url: &'a str,
    /// Exact names, or prefixes ending in `*`.
    pub cookies: Vec<&'a str>,
}

impl ServiceLine<'_> {
    /// Whether a cookie called `name` is one this service declares.
    pub fn sets(&self, name: &str) -> bool {
        self.cookies.iter().any(|c| match c.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == *c,
        })
    }
}

/// A projection, read in place: every text borrows from the projection's body, which the banner
/// keeps for the page's life (nothing is copied, nothing is freed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BannerConfig<'a> {
    pub site: &'a str,
    pub revision: Revision,
    pub policy_version: &'a str,
    /// `fr` or `en`: the language of every text here.
    pub lang: &'a str,
    /// Empty when the configured URL is not a web link.
    pub policy_url: &'a str,
    pub texts: Vec<&'a str>,
    /// `necessary` and the categories the visitor is asked about, in order.
    pub categories: Vec<CategoryLine<'a>>,
    pub services: Vec<ServiceLine<'a>>,
}

impl<'a> BannerConfig<'a> {
    /// Reads a projection; `None` for anything that is not one, to the letter.
    pub fn decode(text: &'a str) -> Option<BannerConfig<'a>> {
        let mut records = text.split(RECORD_SEPARATOR);
        let mut head = records.next()?.split(FIELD_SEPARATOR);
        if head.next()? != FORMAT {
            return None;
        }
        let site = head.next()?;
        let revision = Revision::parse(head.next()?)?;
        let policy_version = head.next()?;
        let lang = head.next()?;
        let policy_url = head.next()?;
        if head.next().is_some() {
            return None;
        }
        let texts: Vec<&str> = records.next()?.split(FIELD_SEPARATOR).collect();
        if texts.len() != TEXTS {
            return None;
        }
        let mut categories = Vec::new();
        let mut services = Vec::new();
        for record in records {
            let mut fields = record.split(FIELD_SEPARATOR);
            let kind = fields.next()?;
            let id = fields.next()?;
            if kind == "c" {
                categories.push(CategoryLine {
                    id,
                    required: !fields.next()?.is_empty(),
                    title: fields.next()?,
                    description: fields.next()?,
                });
                if fields.next().is_some() {
                    return None;
                }
            } else if kind == "s" {
                services.push(ServiceLine {
                    id,
                    category: fields.next()?,
                    name: fields.next()?,
                    provider: fields.next()?,
                    policy_url: fields.next()?,
                    cookies: fields.collect(),
                });
            } else {
                return None;
            }
        }
        Some(BannerConfig {
            site,
            revision,
            policy_version,
            lang,
            policy_url,
            texts,
            categories,
            services,
        })
    }

    pub fn text(&self, text: Text) -> &'a str {
        self.texts.get(text as usize).copied().unwrap_or("")
    }
}

impl Scope for BannerConfig<'_> {
    fn policy_version(&self) -> &str {
        self.policy_version
    }
    fn asked_categories(&self) -> impl Iterator<Item = &str> {
        self.categories.iter().filter(|c| !c.required).map(|c| c.id)
    }
    fn consent_services(&self) -> impl Iterator<Item = (&str, &str)> {
        self.services
            .iter()
            .filter(|s| !self.is_required(s.category))
            .map(|s| (s.id, s.category))
    }
    fn is_required(&self, category: &str) -> bool {
        self.categories
            .iter()
            .any(|c| c.required && c.id == category)
    }
    fn category_of(&self, service: &str) -> Option<&str> {
        self.services
            .iter()
            .find(|s| s.id == service)
            .map(|s| s.category)
    }
}
