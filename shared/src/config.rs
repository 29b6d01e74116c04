//! A site's consent configuration: categories, services and their cookies, texts per language.
//!
//! [`SiteConfigInput`] is what a site owner writes (`site.toml`); [`SiteConfig::parse`] fills in
//! the built-in categories and default texts and validates everything, so a published
//! [`SiteConfig`] is exactly what visitors are shown, and its hash is the revision.

use crate::decision::{MAX_CATEGORIES, MAX_SERVICES};
use crate::error::{FieldError, FieldErrors};
#[allow(unused_imports)]
use crate::prelude::*;
use crate::rules::COOKIE_MAX_DAYS;
use alloc::collections::BTreeSet;
use serde::{Deserialize, Serialize};

pub const NECESSARY: &str = "necessary";
pub const ANALYTICS: &str = "analytics";
pub const THIRD_PARTY: &str = "third_party";
pub const ADVERTISING: &str = "advertising";
/// The categories every site has; the site's own come after them.
pub const BUILTIN_CATEGORIES: [&str; 4] = [NECESSARY, ANALYTICS, THIRD_PARTY, ADVERTISING];

/// The languages the banner speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Fr,
    En,
}

impl Lang {
    /// Picks a supported language from a BCP 47 tag (`fr-FR`, `en`), if any.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "fr" => Some(Lang::Fr),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }

    /// Whether a word counted `count` times takes its plural form (CLDR's cardinal rules for
    /// integers): in French only from 2 on (« 0 jour », « 1 jour », « 2 jours »), in English for
    /// every count but 1 (`0 days`, `1 day`).
    pub fn is_plural(self, count: u64) -> bool {
        match self {
            Lang::Fr => count > 1,
            Lang::En => count != 1,
        }
    }
}

/// A text in every language the banner speaks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Localized {
    pub fr: String,
    pub en: String,
}

impl Localized {
    pub fn new(fr: &str, en: &str) -> Self {
        Self {
            fr: fr.to_owned(),
            en: en.to_owned(),
        }
    }
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Fr => &self.fr,
            Lang::En => &self.en,
        }
    }
}

/// A text a service declares (its name, its provider, a cookie's purpose): one text for every
/// language, or one per language (`{ fr = "…", en = "…" }`).
///
/// A plain string means every language, as in site files written before texts per language; it
/// stays a plain string in the configuration's JSON, so that the revisions published before
/// keep their hash. Either way each language reads its text with [`Localizable::get`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Localizable {
    /// The same text in every language.
    Every(String),
    /// A text per language.
    Each(Localized),
}

impl Localizable {
    pub fn get(&self, lang: Lang) -> &str {
        match self {
            Localizable::Every(text) => text,
            Localizable::Each(texts) => texts.get(lang),
        }
    }

    /// Each of its texts, with what its field name takes after the field's own: nothing for a
    /// text of every language, `.fr` and `.en` for texts per language.
    pub fn texts(&self) -> Vec<(&'static str, &str)> {
        match self {
            Localizable::Every(text) => alloc::vec![("", text.as_str())],
            Localizable::Each(texts) => {
                alloc::vec![(".fr", texts.fr.as_str()), (".en", texts.en.as_str())]
            }
        }
    }
}

impl From<&str> for Localizable {
    fn from(text: &str) -> Localizable {
        Localizable::Every(text.to_owned())
    }
}

impl From<String> for Localizable {
    fn from(text: String) -> Localizable {
        Localizable::Every(text)
    }
}

impl From<Localized> for Localizable {
    fn from(texts: Localized) -> Localizable {
        Localizable::Each(texts)
    }
}

impl Default for Localizable {
    fn default() -> Localizable {
        Localizable::Every(String::new())
    }
}

/// A text of every language is equal to a `&str` that it is.
impl PartialEq<&str> for Localizable {
    fn eq(&self, other: &&str) -> bool {
        matches!(self, Localizable::Every(text) if text == other)
    }
}

impl Serialize for Localizable {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Localizable::Every(text) => serializer.serialize_str(text),
            Localizable::Each(texts) => texts.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Localizable {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Localizable, D::Error> {
        /// Both languages, and nothing else: a text for a language the banner does not speak
        /// would never be shown.
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Each {
            fr: String,
            en: String,
        }

        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Localizable;

            fn expecting(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
                f.write_str(
                    "a text for every language, or a text per language ({ fr = \"…\", en = \"…\" })",
                )
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Localizable, E> {
                Ok(Localizable::Every(text.to_owned()))
            }
            fn visit_string<E: serde::de::Error>(self, text: String) -> Result<Localizable, E> {
                Ok(Localizable::Every(text))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Localizable, A::Error> {
                let Each { fr, en } =
                    Each::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(Localizable::Each(Localized { fr, en }))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// A purpose the visitor consents to (or, for `necessary`, is only told about).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    pub id: String,
    /// Only `necessary` is required: always on, never refusable, never asked.
    pub required: bool,
    pub title: Localized,
    pub description: Localized,
}

/// A cookie a service sets, as the site owner declares it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CookieDecl {
    /// Exact name, or a prefix pattern ending in `*` (`_hjSessionUser_*`).
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Days the cookie lives; 0 for a cookie that ends with the browser session.
    pub lifetime_days: u32,
    /// What it is for, in every language, or per language.
    pub purpose: Localizable,
    /// Set with `HttpOnly`: the page's JavaScript can neither see nor delete it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub http_only: bool,
    /// Set on the service's own domain (YouTube's `VISITOR_INFO1_LIVE` on `.youtube.com`): the
    /// page can neither see nor delete it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub third_party: bool,
}

// The new fields are left out of the JSON at their defaults, so that every configuration published
// before they existed keeps its canonical JSON, and so its revision.
fn is_false(b: &bool) -> bool {
    !*b
}

impl CookieDecl {
    /// Whether a cookie called `name` is one this declaration covers.
    pub fn matches(&self, name: &str) -> bool {
        cookie_matches(&self.name, name)
    }

    /// Whether the page's JavaScript cannot see this cookie, so the banner can neither delete it
    /// nor tell it is there: the service removes it itself.
    pub fn is_hidden(&self) -> bool {
        self.http_only || self.third_party
    }
}

/// Whether a cookie called `name` is covered by a declared `pattern`: an exact name, or a prefix
/// ending in `*` (`_hjSessionUser_*`).
pub fn cookie_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => name == pattern,
    }
}

/// A third party (or the site itself) that reads or writes on the visitor's device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub id: String,
    /// In every language, or per language, like `provider`.
    pub name: Localizable,
    pub provider: Localizable,
    pub category: String,
    pub privacy_policy_url: String,
    #[serde(default)]
    pub cookies: Vec<CookieDecl>,
    /// `localStorage` and `sessionStorage` keys the service writes: exact keys, or prefixes ending
    /// in `*`, matched as cookie names are ([`cookie_matches`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub storage: Vec<String>,
    /// The Google Consent Mode v2 types the service needs granted ([`CONSENT_MODE_TYPES`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consent_mode: Vec<String>,
}

/// The Google Consent Mode v2 types a service may need granted. `security_storage` is not among
/// them: the banner grants it always, as Google's documentation allows without consent.
pub const CONSENT_MODE_TYPES: [&str; 6] = [
    "ad_storage",
    "analytics_storage",
    "ad_user_data",
    "ad_personalization",
    "functionality_storage",
    "personalization_storage",
];

/// Where the floating button that reopens the choices sits (LEGAL R23).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ManageButton {
    /// Where the CNIL suggests the icon (2020-092 §43).
    #[default]
    BottomLeft,
    BottomRight,
    /// Hidden on pages that carry their own `data-biscotte-open` element; shown elsewhere still.
    Off,
}

impl ManageButton {
    /// The word the banner's projection carries.
    pub fn as_str(self) -> &'static str {
        match self {
            ManageButton::BottomLeft => "left",
            ManageButton::BottomRight => "right",
            ManageButton::Off => "off",
        }
    }
}

/// How the banner presents itself (`[consent.banner]` in the site file).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BannerSettings {
    #[serde(default)]
    pub manage_button: ManageButton,
    /// A returning visitor's gated scripts wait until the site's loader has checked that no newer
    /// revision needs asking (one request), instead of running at once from what the browser
    /// holds. Off by default: after a publication, a returning visitor's first page may run what
    /// the previous revision allowed until the check returns (README "Returning visitors").
    #[serde(default, skip_serializing_if = "is_false")]
    pub wait_for_check: bool,
}

impl BannerSettings {
    fn is_default(&self) -> bool {
        *self == BannerSettings::default()
    }
}

/// The words of the banner in one language. Site-owner texts are always rendered as text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BannerTexts {
    pub title: String,
    pub body: String,
    pub accept_all: String,
    pub reject_all: String,
    pub customize: String,
    pub save: String,
    /// The close control: closing refuses, and this label says so.
    pub close: String,
    pub manage: String,
    pub policy_link: String,
}

/// Optional overrides of [`BannerTexts`] in one language.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BannerTextsInput {
    pub title: Option<String>,
    pub body: Option<String>,
    pub accept_all: Option<String>,
    pub reject_all: Option<String>,
    pub customize: Option<String>,
    pub save: Option<String>,
    pub close: Option<String>,
    pub manage: Option<String>,
    pub policy_link: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Texts {
    pub fr: BannerTexts,
    pub en: BannerTexts,
}

impl Texts {
    pub fn get(&self, lang: Lang) -> &BannerTexts {
        match lang {
            Lang::Fr => &self.fr,
            Lang::En => &self.en,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextsInput {
    #[serde(default)]
    pub fr: BannerTextsInput,
    #[serde(default)]
    pub en: BannerTextsInput,
}

/// A category as the owner writes it: built-in ones may omit their texts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryInput {
    pub id: String,
    pub title: Option<Localized>,
    pub description: Option<Localized>,
}

/// The consent configuration as a site owner writes it. Its services are complete [`Service`]s;
/// the site file's may also name a catalogue entry (`S` is then the site file's own form, resolved
/// into services before [`SiteConfig::parse`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfigInput<S = Service> {
    /// Who is responsible for the processing (shown on the first layer).
    pub publisher: String,
    /// Bump it when the privacy policy changes: every visitor is asked again.
    pub policy_version: String,
    pub policy_url: String,
    #[serde(default)]
    pub categories: Vec<CategoryInput>,
    #[serde(default = "Vec::new")]
    pub services: Vec<S>,
    #[serde(default)]
    pub texts: TextsInput,
    #[serde(default)]
    pub banner: BannerSettings,
}

impl<S> SiteConfigInput<S> {
    /// The same configuration with each service mapped by `f`; every error at once.
    pub fn try_map_services<T, E>(
        self,
        mut f: impl FnMut(usize, S) -> Result<T, Vec<E>>,
    ) -> Result<SiteConfigInput<T>, Vec<E>> {
        let mut services = Vec::with_capacity(self.services.len());
        let mut errors = Vec::new();
        for (i, s) in self.services.into_iter().enumerate() {
            match f(i, s) {
                Ok(t) => services.push(t),
                Err(e) => errors.extend(e),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(SiteConfigInput {
            publisher: self.publisher,
            policy_version: self.policy_version,
            policy_url: self.policy_url,
            categories: self.categories,
            services,
            texts: self.texts,
            banner: self.banner,
        })
    }
}

/// A validated, fully resolved configuration: what the banner shows, byte for byte.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteConfig {
    pub publisher: String,
    pub policy_version: String,
    pub policy_url: String,
    pub categories: Vec<Category>,
    pub services: Vec<Service>,
    pub texts: Texts,
    /// Absent from the JSON at its default, as in every configuration published before it existed.
    #[serde(default, skip_serializing_if = "BannerSettings::is_default")]
    pub banner: BannerSettings,
}

fn builtin_categories() -> [Category; 4] {
    let c = |id: &str, required, title: Localized, description: Localized| Category {
        id: id.to_owned(),
        required,
        title,
        description,
    };
    [
        c(
            NECESSARY,
            true,
            Localized::new("Cookies techniques", "Technical cookies"),
            Localized::new(
                "Indispensables au fonctionnement du site (session, sécurité, mémorisation de vos choix). Ils ne peuvent pas être désactivés.",
                "Needed for the site to work (session, security, remembering your choices). They cannot be turned off.",
            ),
        ),
        c(
            ANALYTICS,
            false,
            Localized::new("Mesure d'audience", "Audience measurement"),
            Localized::new(
                "Nous aident à comprendre comment le site est utilisé (pages vues, parcours) pour l'améliorer.",
                "Help us understand how the site is used (page views, journeys) so we can improve it.",
            ),
        ),
        c(
            THIRD_PARTY,
            false,
            Localized::new("Services tiers", "Third-party services"),
            Localized::new(
                "Contenus et services fournis par d'autres sociétés : vidéos, cartes, discussion en ligne, protection anti-robots.",
                "Content and services provided by other companies: videos, maps, live chat, bot protection.",
            ),
        ),
        c(
            ADVERTISING,
            false,
            Localized::new("Publicité", "Advertising"),
            Localized::new(
                "Permettent d'afficher des publicités adaptées à vos centres d'intérêt et d'en mesurer l'efficacité.",
                "Used to show ads matched to your interests and to measure how well they work.",
            ),
        ),
    ]
}

fn default_texts(lang: Lang, publisher: &str, purposes: &str) -> BannerTexts {
    let s = |x: &str| x.to_owned();
    match lang {
        Lang::Fr => BannerTexts {
            title: s("Vos choix en matière de cookies"),
            body: format!(
                "{publisher} et ses partenaires souhaitent utiliser des cookies pour : {purposes}. Vous pouvez tout accepter, tout refuser ou choisir par finalité ; refuser n'empêche pas d'utiliser le site. Vous pouvez changer d'avis à tout moment avec le bouton « Gérer mes cookies »."
            ),
            accept_all: s("Tout accepter"),
            reject_all: s("Tout refuser"),
            customize: s("Personnaliser"),
            save: s("Enregistrer mes choix"),
            close: s("Continuer sans accepter"),
            manage: s("Gérer mes cookies"),
            policy_link: s("Politique de confidentialité"),
        },
        Lang::En => BannerTexts {
            title: s("Your cookie choices"),
            body: format!(
                "{publisher} and its partners would like to use cookies for: {purposes}. You can accept all, refuse all or choose per purpose; refusing does not stop you from using the site. You can change your mind at any time with the « Manage cookies » button."
            ),
            accept_all: s("Accept all"),
            reject_all: s("Refuse all"),
            customize: s("Customise"),
            save: s("Save my choices"),
            close: s("Continue without accepting"),
            manage: s("Manage cookies"),
            policy_link: s("Privacy policy"),
        },
    }
}

fn resolve_texts(
    lang: Lang,
    publisher: &str,
    purposes: &str,
    input: &BannerTextsInput,
) -> BannerTexts {
    let d = default_texts(lang, publisher, purposes);
    let pick = |over: &Option<String>, default: String| over.clone().unwrap_or(default);
    BannerTexts {
        title: pick(&input.title, d.title),
        body: pick(&input.body, d.body),
        accept_all: pick(&input.accept_all, d.accept_all),
        reject_all: pick(&input.reject_all, d.reject_all),
        customize: pick(&input.customize, d.customize),
        save: pick(&input.save, d.save),
        close: pick(&input.close, d.close),
        manage: pick(&input.manage, d.manage),
        policy_link: pick(&input.policy_link, d.policy_link),
    }
}

fn is_asked(category: &Category, services: &[Service]) -> bool {
    !category.required
        && (!BUILTIN_CATEGORIES.contains(&category.id.as_str())
            || services.iter().any(|s| s.category == category.id))
}

/// Category, service and cookie ids: short, lowercase, safe in a cookie value and a CSV cell.
pub fn is_valid_id(id: &str) -> bool {
    (1..=40).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !id.starts_with('_')
}

/// Policy versions travel in the consent cookie, so they keep to a small alphabet.
pub fn is_valid_policy_version(v: &str) -> bool {
    (1..=32).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// A cookie name or storage key as a service declares it: an exact name, or a prefix ending in
/// `*`, with none of the characters that end a name in a `Cookie` header or that the banner's
/// projection puts between names.
fn is_name_pattern(pattern: &str) -> bool {
    let base = pattern.strip_suffix('*').unwrap_or(pattern);
    !base.is_empty() && base.len() <= 128 && !base.contains(['*', ';', ',', '=', ' '])
}

fn is_url(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://") || s.starts_with('/')
}

/// The first control character (C0, DEL or C1) of a text other than tab, line feed and carriage
/// return. Texts are shown as text, the banner's projection separates its fields with control
/// characters, and JSON tools disagree on how to escape some of them, which an auditor
/// recomputing a revision would trip on: none of them has a place in a text.
fn control_character(text: &str) -> Option<char> {
    text.chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// Every text of an owner's configuration, each with the name of its field.
fn input_texts(input: &SiteConfigInput) -> Vec<(String, &str)> {
    let mut texts: Vec<(String, &str)> = alloc::vec![
        ("publisher".into(), &input.publisher),
        ("policy_version".into(), &input.policy_version),
        ("policy_url".into(), &input.policy_url),
    ];
    for (i, c) in input.categories.iter().enumerate() {
        texts.push((format!("categories[{i}].id"), &c.id));
        for (name, text) in [("title", &c.title), ("description", &c.description)] {
            if let Some(text) = text {
                texts.push((format!("categories[{i}].{name}.fr"), &text.fr));
                texts.push((format!("categories[{i}].{name}.en"), &text.en));
            }
        }
    }
    for (i, s) in input.services.iter().enumerate() {
        for (name, text) in [
            ("id", &s.id),
            ("category", &s.category),
            ("privacy_policy_url", &s.privacy_policy_url),
        ] {
            texts.push((format!("services[{i}].{name}"), text));
        }
        for (name, text) in [("name", &s.name), ("provider", &s.provider)] {
            for (lang, text) in text.texts() {
                texts.push((format!("services[{i}].{name}{lang}"), text));
            }
        }
        for (j, cookie) in s.cookies.iter().enumerate() {
            let field = |name: &str| format!("services[{i}].cookies[{j}].{name}");
            texts.push((field("name"), &cookie.name));
            for (lang, text) in cookie.purpose.texts() {
                texts.push((field(&["purpose", lang].concat()), text));
            }
            if let Some(domain) = &cookie.domain {
                texts.push((field("domain"), domain));
            }
        }
        for (j, key) in s.storage.iter().enumerate() {
            texts.push((format!("services[{i}].storage[{j}]"), key));
        }
        for (j, kind) in s.consent_mode.iter().enumerate() {
            texts.push((format!("services[{i}].consent_mode[{j}]"), kind));
        }
    }
    for (lang, t) in [(Lang::Fr, &input.texts.fr), (Lang::En, &input.texts.en)] {
        for (name, text) in [
            ("title", &t.title),
            ("body", &t.body),
            ("accept_all", &t.accept_all),
            ("reject_all", &t.reject_all),
            ("customize", &t.customize),
            ("save", &t.save),
            ("close", &t.close),
            ("manage", &t.manage),
            ("policy_link", &t.policy_link),
        ] {
            if let Some(text) = text {
                texts.push((format!("texts.{}.{name}", lang.code()), text));
            }
        }
    }
    texts
}

impl SiteConfig {
    /// Validates an owner's configuration and fills in the built-ins and default texts.
    /// Every problem is reported at once, each naming its field.
    pub fn parse(input: SiteConfigInput) -> Result<SiteConfig, FieldErrors> {
        let mut errors = Vec::new();
        let mut err = |field: String, message: String| errors.push(FieldError::new(field, message));

        for (field, text) in input_texts(&input) {
            if let Some(c) = control_character(text) {
                err(
                    field,
                    format!(
                        "contains the control character U+{:04X}: remove it (a text may hold tabs and line breaks, no other control character)",
                        u32::from(c)
                    ),
                );
            }
        }

        if input.publisher.trim().is_empty() {
            err(
                "publisher".into(),
                "is empty: give the name of the company or person responsible for the site".into(),
            );
        }
        if !is_valid_policy_version(&input.policy_version) {
            err(
                "policy_version".into(),
                format!(
                    "{:?} is not valid: use 1 to 32 letters, digits, '.', '-' or '_' (for example \"2026-11\")",
                    input.policy_version
                ),
            );
        }
        if !is_url(&input.policy_url) {
            err(
                "policy_url".into(),
                format!(
                    "{:?} is not a link: give an http(s):// URL or a path starting with '/'",
                    input.policy_url
                ),
            );
        }

        let mut categories: Vec<Category> = builtin_categories().into();
        for (i, c) in input.categories.iter().enumerate() {
            let field = format!("categories[{i}]");
            if let Some(existing) = categories.iter_mut().find(|b| b.id == c.id) {
                if let Some(t) = &c.title {
                    existing.title = t.clone();
                }
                if let Some(d) = &c.description {
                    existing.description = d.clone();
                }
                continue;
            }
            if !is_valid_id(&c.id) {
                err(
                    format!("{field}.id"),
                    format!(
                        "{:?} is not a valid id: use 1 to 40 lowercase letters, digits or '_'",
                        c.id
                    ),
                );
                continue;
            }
            match (&c.title, &c.description) {
                (Some(title), Some(description)) => categories.push(Category {
                    id: c.id.clone(),
                    required: false,
                    title: title.clone(),
                    description: description.clone(),
                }),
                _ => err(
                    field,
                    format!(
                        "the site's own category {:?} needs a title and a description in fr and en",
                        c.id
                    ),
                ),
            }
        }
        for (i, c) in categories.iter().enumerate() {
            for (lang, t, d) in [
                (Lang::Fr, &c.title.fr, &c.description.fr),
                (Lang::En, &c.title.en, &c.description.en),
            ] {
                if t.trim().is_empty() || d.trim().is_empty() {
                    err(
                        format!("categories[{i}]"),
                        format!(
                            "category {:?} has an empty title or description in {}",
                            c.id,
                            lang.code()
                        ),
                    );
                }
            }
        }

        // A decision carries an answer per category and service: these bounds keep the largest
        // decision under the server's body limit.
        if categories.len() > MAX_CATEGORIES {
            err(
                "categories".into(),
                format!(
                    "{} categories with the built-in ones; a site may have at most {MAX_CATEGORIES}: merge some purposes",
                    categories.len()
                ),
            );
        }
        if input.services.len() > MAX_SERVICES {
            err(
                "services".into(),
                format!(
                    "{} services; a site may declare at most {MAX_SERVICES}",
                    input.services.len()
                ),
            );
        }
        let mut seen = BTreeSet::new();
        for (i, s) in input.services.iter().enumerate() {
            let field = format!("services[{i}]");
            if !is_valid_id(&s.id) {
                err(
                    format!("{field}.id"),
                    format!(
                        "{:?} is not a valid id: use 1 to 40 lowercase letters, digits or '_'",
                        s.id
                    ),
                );
            } else if categories.iter().any(|c| c.id == s.id) {
                err(
                    format!("{field}.id"),
                    format!(
                        "{:?} is already a category id: give the service its own id",
                        s.id
                    ),
                );
            } else if !seen.insert(s.id.clone()) {
                err(
                    format!("{field}.id"),
                    format!("{:?} is declared twice", s.id),
                );
            }
            if !categories.iter().any(|c| c.id == s.category) {
                let known: Vec<&str> = categories.iter().map(|c| c.id.as_str()).collect();
                err(
                    format!("{field}.category"),
                    format!(
                        "unknown category {:?}: use one of {}",
                        s.category,
                        known.join(", ")
                    ),
                );
            }
            for (name, text) in [("name", &s.name), ("provider", &s.provider)] {
                for (lang, text) in text.texts() {
                    if text.trim().is_empty() {
                        err(
                            format!("{field}.{name}{lang}"),
                            format!("is empty: give the service's {name}"),
                        );
                    }
                }
            }
            if !is_url(&s.privacy_policy_url) {
                err(
                    format!("{field}.privacy_policy_url"),
                    format!(
                        "{:?} is not a link to the provider's privacy policy",
                        s.privacy_policy_url
                    ),
                );
            }
            for (j, cookie) in s.cookies.iter().enumerate() {
                if !is_name_pattern(&cookie.name) {
                    err(
                        format!("{field}.cookies[{j}].name"),
                        format!(
                            "{:?} is not a cookie name: give the exact name, or a prefix ending in '*'",
                            cookie.name
                        ),
                    );
                }
                for (lang, purpose) in cookie.purpose.texts() {
                    if purpose.trim().is_empty() {
                        err(
                            format!("{field}.cookies[{j}].purpose{lang}"),
                            "is empty: say what the cookie is for".into(),
                        );
                    }
                }
            }
            for (j, key) in s.storage.iter().enumerate() {
                if !is_name_pattern(key) || key.chars().any(char::is_whitespace) {
                    err(
                        format!("{field}.storage[{j}]"),
                        format!(
                            "{key:?} is not a storage key: give the exact localStorage or sessionStorage key, or a prefix ending in '*', without spaces"
                        ),
                    );
                }
            }
            for (j, kind) in s.consent_mode.iter().enumerate() {
                let field = format!("{field}.consent_mode[{j}]");
                if !CONSENT_MODE_TYPES.contains(&kind.as_str()) {
                    let hint = if kind == "security_storage" {
                        "security_storage is always granted and needs no consent: remove it"
                            .to_owned()
                    } else {
                        format!("use one of {}", CONSENT_MODE_TYPES.join(", "))
                    };
                    err(
                        field,
                        format!("{kind:?} is not a Google Consent Mode v2 type: {hint}"),
                    );
                } else if s
                    .consent_mode
                    .get(..j)
                    .is_some_and(|before| before.contains(kind))
                {
                    err(field, format!("{kind:?} is listed twice"));
                }
            }
            let required = categories.iter().any(|c| c.required && c.id == s.category);
            if required && !s.consent_mode.is_empty() {
                err(
                    format!("{field}.consent_mode"),
                    "a service in a required category runs without consent, so its Consent Mode types would be granted without consent: move the service to a category the visitor answers, or remove consent_mode".into(),
                );
            }
        }

        // The default wording names the purposes the visitor is actually asked about.
        let asked: Vec<&Category> = categories
            .iter()
            .filter(|c| is_asked(c, &input.services))
            .collect();
        let purposes = |lang: Lang| {
            let titles: Vec<String> = asked
                .iter()
                .map(|c| c.title.get(lang).to_lowercase())
                .collect();
            titles.join(", ")
        };
        let texts = Texts {
            fr: resolve_texts(
                Lang::Fr,
                &input.publisher,
                &purposes(Lang::Fr),
                &input.texts.fr,
            ),
            en: resolve_texts(
                Lang::En,
                &input.publisher,
                &purposes(Lang::En),
                &input.texts.en,
            ),
        };
        for lang in [Lang::Fr, Lang::En] {
            let t = texts.get(lang);
            let fields = [
                ("title", &t.title),
                ("body", &t.body),
                ("accept_all", &t.accept_all),
                ("reject_all", &t.reject_all),
                ("customize", &t.customize),
                ("save", &t.save),
                ("close", &t.close),
                ("manage", &t.manage),
                ("policy_link", &t.policy_link),
            ];
            for (name, value) in fields {
                if value.trim().is_empty() {
                    err(
                        format!("texts.{}.{name}", lang.code()),
                        "is empty: remove it to use the default text, or write one".into(),
                    );
                }
            }
            // LEGAL R13: a refusal control labelled with "accept" misleads.
            let reject = t.reject_all.to_lowercase();
            if reject.contains("accept")
                && !reject.contains("sans accepter")
                && !reject.contains("n'accepte")
                && !reject.contains("without accepting")
            {
                err(
                    format!("texts.{}.reject_all", lang.code()),
                    format!(
                        "{:?} reads like acceptance: a refusal label must not say \"accept\"",
                        t.reject_all
                    ),
                );
            }
        }

        if !errors.is_empty() {
            return Err(FieldErrors(errors));
        }
        Ok(SiteConfig {
            publisher: input.publisher,
            policy_version: input.policy_version,
            policy_url: input.policy_url,
            categories,
            services: input.services,
            texts,
            banner: input.banner,
        })
    }

    pub fn category(&self, id: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.id == id)
    }

    pub fn service(&self, id: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.id == id)
    }

    /// Whether the visitor is asked about this category: the site's own categories always, the
    /// built-in ones only when they hold a service — asking about advertising on a site without
    /// any would misstate what the site does. `necessary` is never asked.
    pub fn asks(&self, category: &Category) -> bool {
        is_asked(category, &self.services)
    }

    /// Categories the visitor is asked about, in the configuration's order.
    pub fn consent_categories(&self) -> impl Iterator<Item = &Category> {
        self.categories.iter().filter(|c| self.asks(c))
    }

    /// Services that run only with consent (those outside `necessary`).
    pub fn consent_services(&self) -> impl Iterator<Item = &Service> {
        self.services
            .iter()
            .filter(|s| self.category(&s.category).is_some_and(|c| !c.required))
    }

    /// Things worth a site owner's attention that do not stop publication.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for s in &self.services {
            for c in &s.cookies {
                if c.lifetime_days > COOKIE_MAX_DAYS as u32 {
                    out.push(format!(
                        "service {:?}: cookie {:?} lives {} days, over the 13-month limit ({COOKIE_MAX_DAYS} days); cap it in the service's settings where it allows",
                        s.id, c.name, c.lifetime_days
                    ));
                }
            }
        }
        out
    }
}
