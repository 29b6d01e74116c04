//! What the banner reads: the projection of a published configuration for one language
//! (`GET /api/v1/sites/{site}/banner?lang=…`, written by [`crate::projection`] on the server,
//! whose documentation gives the format), read in place: plain text, so that the wasm needs no
//! JSON reader. Record 1's texts come in the order of [`Text`].
//!
//! Reading is strict: anything else is `None`, and the banner then shows nothing and runs nothing
//! optional.
//!
//! The engine reads the rules' part here (revision, policy version, language, categories and
//! services); the loader's `page.js` reads the same text to draw the banner, match names and
//! delete what is refused. This reader is also the format's reference in the tests: every field
//! the writer puts in reads back in its place.

use crate::fields::{ascii, fields};
#[allow(unused_imports)]
use crate::prelude::*;
use crate::projection::layout::{self, category, cookie, head, service};
use crate::projection::{FIELD_SEPARATOR, FORMAT, RECORD_SEPARATOR};
use crate::revision::Revision;
use crate::rules::Scope;

pub use crate::projection::layout::{TEXTS, Text};

/// The separators as bytes, for [`fields`].
const RS: u8 = ascii(RECORD_SEPARATOR);
const FS: u8 = ascii(FIELD_SEPARATOR);

/// Fills `fields` with the first fields of `record`, and answers the rest of it when it has more;
/// `None` when it has fewer. Reading by [`layout`]'s positions: the same the encoder writes by.
/// (One function for every record, not one per record length: 350 B less of wasm.)
fn read_fields<'a>(record: &'a str, fields: &mut [&'a str]) -> Option<Option<&'a str>> {
    let mut split = self::fields(record, FS);
    for field in fields.iter_mut() {
        *field = split.next()?;
    }
    Some(split.remainder())
}

/// A flag's field: true unless empty.
fn flag(field: &str) -> bool {
    !field.is_empty()
}

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
    /// The Google Consent Mode v2 types the service needs granted, separated by single spaces.
    pub consent_mode: &'a str,
    /// The storage keys (or prefixes ending in `*`) it writes, separated by single spaces.
    pub storage: &'a str,
    /// Its cookies' fields as the projection holds them, read on demand by [`Self::cookies`].
    cookie_fields: &'a str,
}

/// A cookie a service declares, as the panel lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CookieLine<'a> {
    /// Exact name, or a prefix ending in `*`.
    pub name: &'a str,
    /// Worded in the projection's language, as shown: `1 day`, « 395 jours ».
    pub lifetime: &'a str,
    pub purpose: &'a str,
    /// The page's JavaScript cannot see it (HttpOnly or third-party): the banner cannot delete
    /// it, and says the service removes it itself.
    pub hidden: bool,
}

/// The cookies of a [`ServiceLine`], read in place: the fields not read yet.
#[derive(Clone, Debug)]
pub struct CookieLines<'a>(Option<&'a str>);

impl<'a> Iterator for CookieLines<'a> {
    type Item = CookieLine<'a>;

    fn next(&mut self) -> Option<CookieLine<'a>> {
        let mut fields = [""; cookie::FIELDS];
        self.0 = read_fields(self.0?, &mut fields)?;
        Some(CookieLine {
            name: fields[cookie::NAME],
            lifetime: fields[cookie::LIFETIME],
            purpose: fields[cookie::PURPOSE],
            hidden: flag(fields[cookie::HIDDEN]),
        })
    }
}

impl<'a> ServiceLine<'a> {
    /// The cookies the service declares, in order.
    pub fn cookies(&self) -> CookieLines<'a> {
        // An empty remainder is no cookie, not one cookie with an empty name.
        CookieLines((!self.cookie_fields.is_empty()).then_some(self.cookie_fields))
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
    /// Where the button that reopens the choices sits: `left`, `right` or `off`.
    pub manage_button: &'a str,
    /// The texts' record, read by [`Self::text`]: kept whole rather than split into a list, which
    /// the banner's wasm would carry for texts its JavaScript draws.
    texts: &'a str,
    /// `necessary` and the categories the visitor is asked about, in order.
    pub categories: Vec<CategoryLine<'a>>,
    pub services: Vec<ServiceLine<'a>>,
}

impl<'a> BannerConfig<'a> {
    /// Reads a projection; `None` for anything that is not one, to the letter.
    pub fn decode(text: &'a str) -> Option<BannerConfig<'a>> {
        let mut records = fields(text, RS);
        let mut first = [""; head::FIELDS];
        let None = read_fields(records.next()?, &mut first)? else {
            return None;
        };
        if first[head::FORMAT] != FORMAT {
            return None;
        }
        let revision = Revision::parse(first[head::REVISION])?;
        let texts = records.next()?;
        if fields(texts, FS).count() != TEXTS {
            return None;
        }
        let mut categories = Vec::new();
        let mut services = Vec::new();
        for record in records {
            // The first field ([`layout::KIND`]): `next` rather than `nth`, 34 B less of
            // brotli wasm.
            const _: () = assert!(layout::KIND == 0);
            let kind = fields(record, FS).next()?;
            if kind == category::TAG {
                let mut c = [""; category::FIELDS];
                let None = read_fields(record, &mut c)? else {
                    return None;
                };
                categories.push(CategoryLine {
                    id: c[category::ID],
                    required: flag(c[category::REQUIRED]),
                    title: c[category::TITLE],
                    description: c[category::DESCRIPTION],
                });
            } else if kind == service::TAG {
                // A service's cookies stay one field, the rest, read when asked for.
                let mut s = [""; service::FIELDS];
                let cookie_fields = read_fields(record, &mut s)?;
                let line = ServiceLine {
                    id: s[service::ID],
                    category: s[service::CATEGORY],
                    name: s[service::NAME],
                    provider: s[service::PROVIDER],
                    policy_url: s[service::POLICY_URL],
                    consent_mode: s[service::CONSENT_MODE],
                    storage: s[service::STORAGE],
                    cookie_fields: cookie_fields.unwrap_or(""),
                };
                if !line.cookie_fields.is_empty()
                    && !fields(line.cookie_fields, FS)
                        .count()
                        .is_multiple_of(cookie::FIELDS)
                {
                    return None;
                }
                services.push(line);
            } else {
                return None;
            }
        }
        Some(BannerConfig {
            site: first[head::SITE],
            revision,
            policy_version: first[head::POLICY_VERSION],
            lang: first[head::LANG],
            policy_url: first[head::POLICY_URL],
            manage_button: first[head::MANAGE_BUTTON],
            texts,
            categories,
            services,
        })
    }

    pub fn text(&self, text: Text) -> &'a str {
        fields(self.texts, FS).nth(text as usize).unwrap_or("")
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Lang;
    use crate::config::{CookieDecl, Service, SiteConfig, SiteConfigInput};
    use crate::projection::encode;
    use crate::words::words;

    fn config() -> SiteConfig {
        SiteConfig::parse(SiteConfigInput {
            publisher: "P".into(),
            policy_version: "2026-11".into(),
            policy_url: "/privacy".into(),
            categories: vec![],
            services: vec![Service {
                id: "hotjar".into(),
                name: "Hotjar".into(),
                provider: "Hotjar Ltd".into(),
                category: "analytics".into(),
                privacy_policy_url: "https://www.hotjar.com/privacy".into(),
                storage: vec!["_hjSession_*".into(), "hjViewportId".into()],
                consent_mode: vec!["analytics_storage".into()],
                cookies: vec![
                    CookieDecl {
                        name: "_hjSession_*".into(),
                        domain: None,
                        lifetime_days: 1,
                        purpose: "visit".into(),
                        http_only: false,
                        third_party: false,
                    },
                    CookieDecl {
                        name: "hj_server".into(),
                        domain: None,
                        lifetime_days: 365,
                        purpose: "server side".into(),
                        http_only: true,
                        third_party: false,
                    },
                ],
            }],
            texts: Default::default(),
            banner: Default::default(),
        })
        .expect("valid")
    }

    #[test]
    fn every_text_reads_back_in_its_place_from_the_servers_projection() {
        let config = config();
        for lang in [Lang::Fr, Lang::En] {
            let text = encode("shop", &Revision::of(&config), &config, lang);
            let read = BannerConfig::decode(&text).expect("the projection reads back");
            let t = config.texts.get(lang);
            let w = words(lang);
            for (which, expected) in [
                (Text::Title, t.title.as_str()),
                (Text::Body, &t.body),
                (Text::AcceptAll, &t.accept_all),
                (Text::RejectAll, &t.reject_all),
                (Text::Customize, &t.customize),
                (Text::Save, &t.save),
                (Text::Close, &t.close),
                (Text::CloseLabel, &w.close_label(&t.close)),
                (Text::Manage, &t.manage),
                (Text::PolicyLink, &t.policy_link),
                (Text::AlwaysOn, &w.always_on),
                (Text::PrivacyPolicy, &w.privacy_policy),
                (Text::Cookies, &w.cookies),
                (Text::NoService, &w.no_service),
                (
                    Text::RemovedByService,
                    w.removed_by_service.as_deref().unwrap_or("?"),
                ),
                (
                    Text::EmbedBlocked,
                    w.embed_blocked.as_deref().unwrap_or("?"),
                ),
                (Text::EmbedAllow, w.embed_allow.as_deref().unwrap_or("?")),
                (Text::EscapeHint, w.escape_hint.as_deref().unwrap_or("?")),
            ] {
                assert_eq!(read.text(which), expected, "{which:?} in {lang:?}");
            }
            assert_eq!(read.site, "shop");
            assert_eq!(read.lang, lang.code());
            assert_eq!(read.policy_url, "/privacy");
            assert_eq!(read.manage_button, "left");
            let ids: Vec<_> = read.categories.iter().map(|c| (c.id, c.required)).collect();
            assert_eq!(ids, [("necessary", true), ("analytics", false)]);
            let hotjar = &read.services[0];
            assert_eq!(
                (hotjar.id, hotjar.category, hotjar.name),
                ("hotjar", "analytics", "Hotjar")
            );
            assert_eq!(hotjar.policy_url, "https://www.hotjar.com/privacy");
            assert_eq!(hotjar.consent_mode, "analytics_storage");
            assert_eq!(hotjar.storage, "_hjSession_* hjViewportId");
            let cookies: Vec<CookieLine> = hotjar.cookies().collect();
            assert_eq!(
                cookies,
                [
                    CookieLine {
                        name: "_hjSession_*",
                        lifetime: &w.lifetime(lang, 1),
                        purpose: "visit",
                        hidden: false
                    },
                    CookieLine {
                        name: "hj_server",
                        lifetime: &w.lifetime(lang, 365),
                        purpose: "server side",
                        hidden: true
                    },
                ]
            );
        }
    }

    #[test]
    fn a_service_without_cookies_or_storage_reads_as_none_of_either() {
        let mut config = config();
        config.services[0].cookies.clear();
        config.services[0].storage.clear();
        let text = encode("shop", &Revision::of(&config), &config, Lang::En);
        let read = BannerConfig::decode(&text).expect("reads back");
        let hotjar = &read.services[0];
        assert_eq!(hotjar.cookies().count(), 0);
        assert_eq!(hotjar.storage, "");
    }

    fn one_text_short(good: &str) -> String {
        let mut records: Vec<String> = good.split(RECORD_SEPARATOR).map(str::to_owned).collect();
        let texts: Vec<&str> = records[1].split(FIELD_SEPARATOR).collect();
        records[1] = texts[..TEXTS - 1].join("\u{1f}");
        records.join("\u{1e}")
    }

    #[test]
    fn anything_but_a_projection_reads_as_none() {
        let config = config();
        let good = encode("shop", &Revision::of(&config), &config, Lang::Fr);
        assert!(BannerConfig::decode(&good).is_some());
        let bad = [
            String::new(),
            good.replacen(FORMAT, "biscotte-banner-2", 1),
            // Record 0 without the manage button's place.
            good.replacen("\u{1f}left\u{1e}", "\u{1e}", 1),
            good.replacen(Revision::of(&config).as_str(), "not-a-revision", 1),
            // 17 texts instead of 18.
            one_text_short(&good),
            // A cookie's four fields cut short.
            good.replacen("\u{1f}server side\u{1f}1", "\u{1f}server side", 1),
            [good.as_str(), "x\u{1f}id"].join("\u{1e}"),
            [good.as_str(), "c\u{1f}id\u{1f}\u{1f}t\u{1f}d\u{1f}extra"].join("\u{1e}"),
            "{\"site\":\"shop\"}".to_owned(),
        ];
        for text in bad {
            assert!(BannerConfig::decode(&text).is_none(), "{text:?}");
        }
    }
}
