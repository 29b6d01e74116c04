//! The banner's projection of a published revision: what the banner shows and needs for one
//! language, texts already resolved, in a format a few lines of wasm can split.
//!
//! The server computes it once per revision and language; the full configuration stays at
//! `GET …/config` for auditors. Format (version `biscotte-banner-3`), byte for byte:
//! - records are separated by U+001E, the fields of a record by U+001F, with no trailing separator;
//! - record 0, the head ([`layout::head`]): `biscotte-banner-3`, site, revision, policy version,
//!   language code (`fr`, `en`), the policy URL when it is a web link (below) else empty, then
//!   where the button that reopens the choices sits: `left`, `right` or `off`
//!   ([`crate::config::ManageButton::as_str`]);
//! - record 1, the texts in the language ([`layout::Text`]): title, body, accept all, reject all,
//!   customize, save, close, close label (the close text, ` (`, the words' `close_refuses`, `)`:
//!   [`Words::close_label`]), manage, policy link, then the banner's words always on, privacy
//!   policy, cookies, no service, removed by the service, embed blocked, embed allow, escape hint
//!   (those kept with the revision, completed with this release's for words added since:
//!   [`PublishedConfig::words`]);
//! - one record per category that is required or asked (the site's own categories always, a
//!   built-in one when a service is in it: [`SiteConfig::asks`]), in configuration order
//!   ([`layout::category`]): `c`, id, `1` when required else empty, title, description;
//! - one record per service, in configuration order ([`layout::service`]): `s`, id, category,
//!   name, provider, privacy policy URL when it is a web link else empty, its Consent Mode types
//!   joined by single spaces, its storage keys joined by single spaces, then 4 fields per declared
//!   cookie ([`layout::cookie`]): name, lifetime, purpose, `1` when the page's JavaScript cannot
//!   see it (HttpOnly or third-party) else empty.
//!
//! Every text is the language's: a service's name and provider and a cookie's purpose given per
//! language read in it, one given for every language as it is. A cookie's lifetime is worded: the
//! count of days in decimal, U+00A0, then the word `day` when the language's plural rule
//! ([`Lang::is_plural`]) takes the singular, else `days` (`1 day`, `0 days`, « 0 jour »,
//! « 395 jours »), so that the loader shows it as it comes. A web link ([`web_link`]) starts,
//! after any leading whitespace, with `https://` or `http://` in any case, or with `/`.
//! A flag is true when its field is not empty. A separator inside a text becomes a space, so no
//! text can break the format (publication refuses control characters; this holds for revisions
//! stored before it did).
//!
//! The positions are [`layout`]'s constants, which the encoder here, the engine's reader
//! ([`crate::banner_config`]) and, through `banner-wasm/js/constants.js` (written from them by
//! `shared/tests/js_constants.rs`), the loader's `page.js` all use. The files of
//! `shared/tests/vectors/projection/`, written from this specification by a script of their own,
//! hold projections and what they read into, which the Rust encoder and both readers must match.
//!
//! Size: format 2 added to format 1 one short field in record 0, about 250 bytes of words in
//! record 1, two fields per service and, per cookie, its lifetime, purpose and flag (the demo's
//! five cookies: about 250 bytes more before compression). Format 3 moves the word after a
//! lifetime from record 1 into each cookie's lifetime, in its singular or plural form.

use crate::api::PublishedConfig;
use crate::config::{Lang, SiteConfig};
#[allow(unused_imports)]
use crate::prelude::*;
use crate::revision::Revision;
use crate::words::{Words, web_link, words};
use alloc::borrow::Cow;
use layout::{Text, category, cookie, head, service};

/// The first field of every projection: the format's name and version.
pub const FORMAT: &str = "biscotte-banner-3";
/// Between records.
pub const RECORD_SEPARATOR: char = '\u{1e}';
/// Between the fields of a record.
pub const FIELD_SEPARATOR: char = '\u{1f}';

/// Where each field of a record sits: the one statement of the format's layout.
pub mod layout {
    /// A flag's field when it is true; empty when it is false (a reader takes any other text as
    /// true too).
    pub const YES: &str = "1";
    /// Between the items of a list field (Consent Mode types, storage keys).
    pub const LIST_SEPARATOR: &str = " ";
    /// The field that says what a record after the texts is: a category or a service.
    pub const KIND: usize = 0;

    /// Record 0.
    pub mod head {
        pub const FORMAT: usize = 0;
        pub const SITE: usize = 1;
        pub const REVISION: usize = 2;
        pub const POLICY_VERSION: usize = 3;
        pub const LANG: usize = 4;
        pub const POLICY_URL: usize = 5;
        pub const MANAGE_BUTTON: usize = 6;
        /// How many fields it has.
        pub const FIELDS: usize = 7;
    }

    /// The texts of record 1, in order: a text's position is its discriminant.
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
        /// Beside a cookie the page cannot see: the service removes it itself.
        RemovedByService,
        /// In an embed's placeholder: why the content is not shown.
        EmbedBlocked,
        /// The placeholder's button, before the service's name.
        EmbedAllow,
        /// On the first layer: Escape continues without accepting.
        EscapeHint,
    }

    impl Text {
        /// Every text, in record 1's order.
        pub const ALL: [Text; TEXTS] = [
            Text::Title,
            Text::Body,
            Text::AcceptAll,
            Text::RejectAll,
            Text::Customize,
            Text::Save,
            Text::Close,
            Text::CloseLabel,
            Text::Manage,
            Text::PolicyLink,
            Text::AlwaysOn,
            Text::PrivacyPolicy,
            Text::Cookies,
            Text::NoService,
            Text::RemovedByService,
            Text::EmbedBlocked,
            Text::EmbedAllow,
            Text::EscapeHint,
        ];
    }

    /// How many texts record 1 holds.
    pub const TEXTS: usize = 18;

    /// A category's record.
    pub mod category {
        /// Its [`super::KIND`].
        pub const TAG: &str = "c";
        pub const ID: usize = 1;
        /// A flag: `necessary`, always on.
        pub const REQUIRED: usize = 2;
        pub const TITLE: usize = 3;
        pub const DESCRIPTION: usize = 4;
        pub const FIELDS: usize = 5;
    }

    /// A service's record: these fields, then [`super::cookie::FIELDS`] per declared cookie.
    pub mod service {
        /// Its [`super::KIND`].
        pub const TAG: &str = "s";
        pub const ID: usize = 1;
        pub const CATEGORY: usize = 2;
        pub const NAME: usize = 3;
        pub const PROVIDER: usize = 4;
        pub const POLICY_URL: usize = 5;
        /// A list.
        pub const CONSENT_MODE: usize = 6;
        /// A list.
        pub const STORAGE: usize = 7;
        /// How many fields it has before its cookies'.
        pub const FIELDS: usize = 8;
    }

    /// One declared cookie's fields, counted from its first.
    pub mod cookie {
        pub const NAME: usize = 0;
        pub const LIFETIME: usize = 1;
        pub const PURPOSE: usize = 2;
        /// A flag: the page's JavaScript cannot see it.
        pub const HIDDEN: usize = 3;
        pub const FIELDS: usize = 4;
    }
}

/// The strong validator (ETag) of a projection: `b`, the format's number, its revision and its
/// language (`b3-<revision>-en`), so that a browser never revalidates a projection it holds in
/// an earlier format into use.
pub fn etag(revision: &Revision, lang: Lang) -> String {
    let number = FORMAT.rsplit('-').next().unwrap_or_default();
    ["b", number, "-", revision.as_str(), "-", lang.code()].concat()
}

/// The projection of a published revision for `lang`, with the words kept with it.
pub fn encode_published(published: &PublishedConfig, lang: Lang) -> String {
    encode_with(
        &published.site,
        &published.revision,
        &published.config,
        &published.words(lang),
        lang,
    )
}

/// The projection of `config`, published as `revision` of `site`, for `lang`, with this
/// release's words.
pub fn encode(site: &str, revision: &Revision, config: &SiteConfig, lang: Lang) -> String {
    encode_with(site, revision, config, &words(lang), lang)
}

fn encode_with(
    site: &str,
    revision: &Revision,
    config: &SiteConfig,
    w: &Words,
    lang: Lang,
) -> String {
    fn link(url: &str) -> &str {
        web_link(url).unwrap_or("")
    }
    fn flag(on: bool) -> &'static str {
        if on { layout::YES } else { "" }
    }
    // Always there: the words were completed with this release's.
    fn added<'w>(word: &'w Option<Cow<'static, str>>) -> &'w str {
        word.as_deref().unwrap_or("")
    }
    let list = |items: &[String]| items.join(layout::LIST_SEPARATOR);
    let mut out = Projection(String::with_capacity(4096));

    let mut fields = [""; head::FIELDS];
    fields[head::FORMAT] = FORMAT;
    fields[head::SITE] = site;
    fields[head::REVISION] = revision.as_str();
    fields[head::POLICY_VERSION] = &config.policy_version;
    fields[head::LANG] = lang.code();
    fields[head::POLICY_URL] = link(&config.policy_url);
    fields[head::MANAGE_BUTTON] = config.banner.manage_button.as_str();
    out.record(&fields);

    let t = config.texts.get(lang);
    let close_label = w.close_label(&t.close);
    let texts = Text::ALL.map(|text| match text {
        Text::Title => t.title.as_str(),
        Text::Body => &t.body,
        Text::AcceptAll => &t.accept_all,
        Text::RejectAll => &t.reject_all,
        Text::Customize => &t.customize,
        Text::Save => &t.save,
        Text::Close => &t.close,
        Text::CloseLabel => &close_label,
        Text::Manage => &t.manage,
        Text::PolicyLink => &t.policy_link,
        Text::AlwaysOn => &w.always_on,
        Text::PrivacyPolicy => &w.privacy_policy,
        Text::Cookies => &w.cookies,
        Text::NoService => &w.no_service,
        Text::RemovedByService => added(&w.removed_by_service),
        Text::EmbedBlocked => added(&w.embed_blocked),
        Text::EmbedAllow => added(&w.embed_allow),
        Text::EscapeHint => added(&w.escape_hint),
    });
    out.record(&texts);

    for c in config
        .categories
        .iter()
        .filter(|c| c.required || config.asks(c))
    {
        let mut fields = [""; category::FIELDS];
        fields[layout::KIND] = category::TAG;
        fields[category::ID] = &c.id;
        fields[category::REQUIRED] = flag(c.required);
        fields[category::TITLE] = c.title.get(lang);
        fields[category::DESCRIPTION] = c.description.get(lang);
        out.record(&fields);
    }

    for s in &config.services {
        let (consent_mode, storage) = (list(&s.consent_mode), list(&s.storage));
        let mut fields = [""; service::FIELDS];
        fields[layout::KIND] = service::TAG;
        fields[service::ID] = &s.id;
        fields[service::CATEGORY] = &s.category;
        fields[service::NAME] = s.name.get(lang);
        fields[service::PROVIDER] = s.provider.get(lang);
        fields[service::POLICY_URL] = link(&s.privacy_policy_url);
        fields[service::CONSENT_MODE] = &consent_mode;
        fields[service::STORAGE] = &storage;
        out.record(&fields);
        for c in &s.cookies {
            let lifetime = w.lifetime(lang, c.lifetime_days);
            let mut fields = [""; cookie::FIELDS];
            fields[cookie::NAME] = &c.name;
            fields[cookie::LIFETIME] = &lifetime;
            fields[cookie::PURPOSE] = c.purpose.get(lang);
            fields[cookie::HIDDEN] = flag(c.is_hidden());
            for field in fields {
                out.field(field);
            }
        }
    }
    out.0
}

/// The text being written: every field goes through [`Projection::field`], which keeps the
/// separators out of texts.
struct Projection(String);

impl Projection {
    /// Starts a record (after a separator, unless it is the first) with these fields.
    fn record(&mut self, fields: &[&str]) {
        let mut fields = fields.iter();
        if let Some(first) = fields.next() {
            if !self.0.is_empty() {
                self.0.push(RECORD_SEPARATOR);
            }
            self.text(first);
        }
        for f in fields {
            self.field(f);
        }
    }

    /// Adds a field to the current record.
    fn field(&mut self, text: &str) {
        self.0.push(FIELD_SEPARATOR);
        self.text(text);
    }

    fn text(&mut self, text: &str) {
        self.0.extend(text.chars().map(|c| match c {
            RECORD_SEPARATOR | FIELD_SEPARATOR => ' ',
            c => c,
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CategoryInput, CookieDecl, Localized, Service, SiteConfigInput};

    fn service(id: &str, category: &str, url: &str, cookies: &[&str]) -> Service {
        Service {
            id: id.into(),
            name: format!("{id} name").into(),
            provider: format!("{id} provider").into(),
            category: category.into(),
            privacy_policy_url: url.into(),
            storage: vec![],
            consent_mode: vec![],
            cookies: cookies
                .iter()
                .map(|n| CookieDecl {
                    name: (*n).into(),
                    domain: None,
                    lifetime_days: 30,
                    purpose: "test".into(),
                    http_only: false,
                    third_party: false,
                })
                .collect(),
        }
    }

    fn small() -> SiteConfig {
        let mut input = SiteConfigInput {
            publisher: "Shop".into(),
            policy_version: "v1".into(),
            policy_url: "/privacy".into(),
            categories: vec![CategoryInput {
                id: "chat".into(),
                title: Some(Localized::new("Discussion", "Chat")),
                description: Some(Localized::new("Le chat.", "The chat.")),
            }],
            services: vec![
                service("ga", "analytics", "https://ga.example/p", &["_ga", "_ga_*"]),
                service("lb", "necessary", "/lb", &[]),
            ],
            texts: Default::default(),
            banner: Default::default(),
        };
        input.texts.en.body = Some("Shop uses cookies.".into());
        input.services[0].consent_mode = vec!["analytics_storage".into()];
        input.services[0].storage = vec!["ga_key".into(), "ga_*".into()];
        input.services[0].provider = Localized::new("ga fournisseur", "ga provider").into();
        input.services[0].cookies[0].purpose = Localized::new("mesure", "measure").into();
        input.services[0].cookies[0].lifetime_days = 1;
        input.services[0].cookies[1].lifetime_days = 730;
        input.services[0].cookies[1].third_party = true;
        input.banner.manage_button = crate::config::ManageButton::BottomRight;
        SiteConfig::parse(input).expect("valid")
    }

    fn revision() -> Revision {
        Revision::parse("0123456789abcdef0123456789abcdef").expect("revision")
    }

    #[test]
    fn each_records_positions_are_its_fields_once_each() {
        let check = |positions: &[usize], fields: usize| {
            let mut sorted = positions.to_vec();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..fields).collect::<Vec<_>>(), "{positions:?}");
        };
        use layout::KIND;
        check(
            &[
                head::FORMAT,
                head::SITE,
                head::REVISION,
                head::POLICY_VERSION,
                head::LANG,
                head::POLICY_URL,
                head::MANAGE_BUTTON,
            ],
            head::FIELDS,
        );
        check(&Text::ALL.map(|t| t as usize), layout::TEXTS);
        assert!(Text::ALL.iter().enumerate().all(|(i, t)| *t as usize == i));
        check(
            &[
                KIND,
                category::ID,
                category::REQUIRED,
                category::TITLE,
                category::DESCRIPTION,
            ],
            category::FIELDS,
        );
        check(
            &[
                KIND,
                service::ID,
                service::CATEGORY,
                service::NAME,
                service::PROVIDER,
                service::POLICY_URL,
                service::CONSENT_MODE,
                service::STORAGE,
            ],
            service::FIELDS,
        );
        check(
            &[
                cookie::NAME,
                cookie::LIFETIME,
                cookie::PURPOSE,
                cookie::HIDDEN,
            ],
            cookie::FIELDS,
        );
    }

    #[test]
    fn the_projection_is_these_exact_bytes() {
        let got = encode("shop", &revision(), &small(), Lang::En);
        let expected = [
            "biscotte-banner-3\u{1f}shop\u{1f}0123456789abcdef0123456789abcdef\u{1f}v1\u{1f}en\u{1f}/privacy\u{1f}right",
            "Your cookie choices\u{1f}Shop uses cookies.\u{1f}Accept all\u{1f}Refuse all\u{1f}Customise\u{1f}Save my choices\u{1f}Continue without accepting\u{1f}Continue without accepting (refuse all optional cookies)\u{1f}Manage cookies\u{1f}Privacy policy\u{1f}Always on\u{1f}Privacy policy\u{1f}Cookies:\u{1f}No service of this kind on this site.\u{1f}removed by the service itself\u{1f}This content is provided by a third-party service that sets cookies. It stays blocked until you allow it.\u{1f}Allow\u{1f}Esc: continue without accepting",
            "c\u{1f}necessary\u{1f}1\u{1f}Technical cookies\u{1f}Needed for the site to work (session, security, remembering your choices). They cannot be turned off.",
            "c\u{1f}analytics\u{1f}\u{1f}Audience measurement\u{1f}Help us understand how the site is used (page views, journeys) so we can improve it.",
            "c\u{1f}chat\u{1f}\u{1f}Chat\u{1f}The chat.",
            "s\u{1f}ga\u{1f}analytics\u{1f}ga name\u{1f}ga provider\u{1f}https://ga.example/p\u{1f}analytics_storage\u{1f}ga_key ga_*\u{1f}_ga\u{1f}1\u{a0}day\u{1f}measure\u{1f}\u{1f}_ga_*\u{1f}730\u{a0}days\u{1f}test\u{1f}1",
            "s\u{1f}lb\u{1f}necessary\u{1f}lb name\u{1f}lb provider\u{1f}/lb\u{1f}\u{1f}",
        ]
        .join("\u{1e}");
        assert_eq!(got, expected);
    }

    #[test]
    fn the_projection_speaks_the_asked_language() {
        let got = encode("shop", &revision(), &small(), Lang::Fr);
        let records: Vec<&str> = got.split(RECORD_SEPARATOR).collect();
        assert_eq!(
            records[0],
            "biscotte-banner-3\u{1f}shop\u{1f}0123456789abcdef0123456789abcdef\u{1f}v1\u{1f}fr\u{1f}/privacy\u{1f}right"
        );
        let texts: Vec<&str> = records[1].split(FIELD_SEPARATOR).collect();
        assert_eq!(texts.len(), 18);
        assert_eq!(texts[14], "supprimé par le service lui-même");
        assert_eq!(texts[16], "Autoriser");
        assert_eq!(texts[17], "Échap\u{a0}: continuer sans accepter");
        assert_eq!(texts[0], "Vos choix en matière de cookies");
        assert_eq!(
            texts[7],
            "Continuer sans accepter (refuser tous les cookies facultatifs)"
        );
        assert_eq!(texts[12], "Cookies\u{a0}:");
        assert_eq!(
            records[4],
            "c\u{1f}chat\u{1f}\u{1f}Discussion\u{1f}Le chat."
        );
        let ga: Vec<&str> = records[5].split(FIELD_SEPARATOR).collect();
        assert_eq!(
            (ga[4], ga[9], ga[10], ga[13], ga[14]),
            (
                "ga fournisseur",
                "1\u{a0}jour",
                "mesure",
                "730\u{a0}jours",
                "test"
            ),
            "{ga:?}"
        );
    }

    #[test]
    fn a_published_revision_is_projected_with_the_words_kept_with_it() {
        let mut published = PublishedConfig::new("shop", small(), crate::Timestamp::from_millis(0));
        assert_eq!(
            encode_published(&published, Lang::En),
            encode("shop", &published.revision, &published.config, Lang::En)
        );
        if let Some(kept) = &mut published.words {
            kept.en.always_on = "Always active".into();
            kept.en.close_refuses = "refuse them".into();
        }
        let got = encode_published(&published, Lang::En);
        let texts: Vec<&str> = got
            .split(RECORD_SEPARATOR)
            .nth(1)
            .unwrap_or_default()
            .split(FIELD_SEPARATOR)
            .collect();
        assert_eq!(texts[7], "Continue without accepting (refuse them)");
        assert_eq!(texts[10], "Always active");
        // A revision kept before the words of the panel existed, or (recipe 2) with the plural
        // of a lifetime's word alone: this release's fill in what it did not keep.
        if let Some(kept) = &mut published.words {
            kept.en.days = Some("days (kept)".into());
            kept.en.day = None;
            kept.en.embed_allow = None;
        }
        let got = encode_published(&published, Lang::En);
        let records: Vec<Vec<&str>> = got
            .split(RECORD_SEPARATOR)
            .map(|r| r.split(FIELD_SEPARATOR).collect())
            .collect();
        assert_eq!(records[1].len(), 18);
        assert_eq!((records[1][10], records[1][16]), ("Always active", "Allow"));
        assert_eq!(
            (records[5][9], records[5][13]),
            ("1\u{a0}day", "730\u{a0}days (kept)")
        );
        // A revision of recipe 1 kept no words: this release's are shown.
        published.words = None;
        assert_eq!(
            encode_published(&published, Lang::En),
            encode("shop", &published.revision, &published.config, Lang::En)
        );
    }

    #[test]
    fn separators_inside_texts_become_spaces_and_unsafe_links_are_left_empty() {
        // A configuration stored before publication refused control characters.
        let mut config = small();
        config.texts.en.title = "A\u{1e}B\u{1f}C".into();
        config.services[0].name = "\u{1f}\u{1f}".into();
        config.services[0].cookies[0].name = "x\u{1e}y".into();
        config.services[1].privacy_policy_url = "javascript:alert(1)".into();
        config.policy_url = " data:text/html,x".into();
        let got = encode("sh\u{1e}op", &revision(), &config, Lang::En);
        let records: Vec<Vec<&str>> = got
            .split(RECORD_SEPARATOR)
            .map(|r| r.split(FIELD_SEPARATOR).collect())
            .collect();
        assert_eq!(records.len(), 7, "{got:?}");
        assert_eq!(records[0][1], "sh op");
        assert_eq!(records[0][5], "");
        assert_eq!(records[0][6], "right");
        assert_eq!(records[1][0], "A B C");
        assert_eq!(records[1].len(), 18);
        assert_eq!(
            records[5][..9],
            [
                "s",
                "ga",
                "analytics",
                "  ",
                "ga provider",
                "https://ga.example/p",
                "analytics_storage",
                "ga_key ga_*",
                "x y",
            ]
        );
        assert_eq!(records[6][5], "");
    }
}
