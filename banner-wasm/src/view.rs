//! What the engine decides, without a browser: whether to ask, what a decision answers, what the
//! consent cookie holds and what to send. Pure, so it is tested on the host.

use crate::json::JsonObject;
use crate::prelude::*;
use biscotte_shared::banner_config::BannerConfig;
use biscotte_shared::decision::Answers;
use biscotte_shared::fields::fields;
use biscotte_shared::rules::CHOICE_VALIDITY_DAYS;
use biscotte_shared::rules::Scope;
use biscotte_shared::time::decimal;
use biscotte_shared::{
    COOKIE_NAME, Choices, Method, PromptReason, SavedConsent, Timestamp, needs_prompt,
};

/// How long the consent cookie lives: exactly as long as the choice is valid.
pub const CONSENT_COOKIE_MAX_AGE_SECS: i64 = CHOICE_VALIDITY_DAYS * 86_400;

/// What to do when the page loads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Startup {
    /// Why the banner must be shown, if it must.
    pub prompt: Option<PromptReason>,
    /// The choices that hold right now, if any; gated scripts follow them at once.
    pub in_force: Option<Choices>,
}

/// Reads the saved choice against the published configuration.
///
/// A choice that is still valid holds, and so does one that only lacks answers for new items:
/// the services the visitor accepted keep running while the new ones stay blocked. An expired
/// choice or one made under another policy version no longer counts for anything.
pub fn startup(saved: Option<&SavedConsent>, config: &BannerConfig, now: Timestamp) -> Startup {
    let prompt = needs_prompt(saved, config, now);
    let in_force = match (&prompt, saved) {
        (None | Some(PromptReason::NewItems(_)), Some(saved)) => Some(saved.choices.clone()),
        _ => None,
    };
    Startup { prompt, in_force }
}

/// The method a decision names, as the protocol spells it. (The list is written here rather than
/// kept in a constant, which weighed 47 B more in the wasm.)
pub fn method(name: &str) -> Option<Method> {
    [
        Method::AcceptAll,
        Method::RejectAll,
        Method::Custom,
        Method::Close,
        Method::Gpc,
        Method::Embed,
    ]
    .into_iter()
    .find(|m| m.as_str() == name)
}

/// The choices of a decision: every category the visitor is asked about and every service that
/// needs consent get an answer, yes when `accepted` (ids separated by spaces) names it. A service
/// is answered on its own, so it may differ from its category.
pub fn choices(config: &BannerConfig, accepted: &str) -> Choices {
    let yes = |id: &str| fields(accepted, b' ').any(|a| a == id);
    let mut choices = Choices::default();
    for id in config.asked_categories() {
        choices.categories.insert(id.to_owned(), yes(id));
    }
    for (id, _) in config.consent_services() {
        choices.services.insert(id.to_owned(), yes(id));
    }
    choices
}

/// A part of a `document.cookie` string without the spaces around it: the browser separates
/// pairs with "; ", so only spaces need trimming (an ASCII trim also keeps Unicode's whitespace
/// tables out of the wasm). `strip_prefix` with a `&str` compares bytes, without core's char
/// searcher (`trim_matches(' ')`: 300 B more) or a byte loop's bounds checks (76 B more).
fn unspaced(mut part: &str) -> &str {
    while let Some(rest) = part.strip_prefix(" ") {
        part = rest;
    }
    while let Some(rest) = part.strip_suffix(" ") {
        part = rest;
    }
    part
}

/// The value of the first cookie called `name` in a `document.cookie` string.
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    fields(header, b';').find_map(|pair| {
        let mut pair = fields(pair, b'=');
        let key = pair.next()?;
        let value = pair.remainder()?;
        (unspaced(key) == name).then(|| unspaced(value))
    })
}

/// The `document.cookie` assignment that saves a choice: first-party, 182 days, Lax.
pub fn consent_cookie_assignment(saved: &SavedConsent, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    cat(&[
        COOKIE_NAME,
        "=",
        &saved.encode(),
        "; Path=/; Max-Age=",
        &decimal(CONSENT_COOKIE_MAX_AGE_SECS),
        "; SameSite=Lax",
        secure,
    ])
}

/// What `Biscotte.consent()` returns and what the `biscotte:consent` event carries, as JSON.
#[derive(Debug)]
pub struct ConsentSummary<'a> {
    /// `null` when the choice was made on an earlier page: the cookie does not keep the method.
    pub method: Option<Method>,
    pub categories: &'a Answers,
    pub services: &'a Answers,
}

impl ConsentSummary<'_> {
    pub fn to_json(&self) -> String {
        JsonObject::new()
            .nullable("method", self.method.map(Method::as_str))
            .answers("categories", self.categories)
            .answers("services", self.services)
            .finish()
    }
}

/// A decision as the banner sends it.
#[derive(Debug)]
pub struct Request<'a> {
    pub consent_id: &'a str,
    pub revision: &'a str,
    pub method: Method,
    pub choices: &'a Choices,
    pub language: &'a str,
    pub url: &'a str,
    /// Declared cookies of refused services still readable after deletion, separated by spaces.
    pub undeleted: &'a str,
    /// 128 random bits drawn for this decision alone (32 lowercase hex digits); every try of it
    /// sends the same, so the server logs it once however often its answer is lost.
    pub decision_id: &'a str,
}

/// The body of `POST /api/v1/sites/{site}/consents`, as serde would write the protocol's
/// `ConsentRequest`.
pub fn request_json(request: &Request) -> String {
    JsonObject::new()
        .string("consent_id", request.consent_id)
        .string("revision", request.revision)
        .string("method", request.method.as_str())
        .answers("categories", &request.choices.categories)
        .answers("services", &request.choices.services)
        .string("language", request.language)
        .string("url", request.url)
        .words("undeleted_cookies", request.undeleted)
        .string("decision_id", request.decision_id)
        .finish()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use biscotte_shared::config::{CookieDecl, Service, SiteConfigInput};
    use biscotte_shared::{Lang, Revision, SiteConfig, projection};

    fn service(id: &str, category: &str, cookies: &[&str]) -> Service {
        Service {
            id: id.into(),
            name: format!("{id} name").into(),
            provider: format!("{id} provider").into(),
            category: category.into(),
            privacy_policy_url: format!("https://{id}.example/privacy"),
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

    fn site(services: Vec<Service>) -> SiteConfig {
        SiteConfig::parse(SiteConfigInput {
            publisher: "Boulangerie Biscotte".into(),
            policy_version: "2026-11".into(),
            policy_url: "/demo/confidentialite.html".into(),
            categories: vec![],
            services,
            texts: Default::default(),
            banner: Default::default(),
        })
        .expect("the test configuration is valid")
    }

    /// What the banner reads: the server's projection of `config` for `lang`, read back as the
    /// wasm reads it (the text is leaked, as the engine does).
    fn project(config: &SiteConfig, lang: Lang) -> BannerConfig<'static> {
        let text = projection::encode("bakery", &Revision::of(config), config, lang).leak();
        BannerConfig::decode(text).expect("the projection reads back")
    }

    fn bakery_in(lang: Lang) -> BannerConfig<'static> {
        project(
            &site(vec![
                service("google_analytics", "analytics", &["_ga", "_ga_*", "_gid"]),
                service("hotjar", "analytics", &["_hjSessionUser_*"]),
                service("youtube", "third_party", &["VISITOR_INFO1_LIVE"]),
                service("load_balancer", "necessary", &["lb"]),
            ]),
            lang,
        )
    }

    pub(crate) fn bakery() -> BannerConfig<'static> {
        bakery_in(Lang::Fr)
    }

    fn saved(config: &BannerConfig, choices: Choices, decided_at: Timestamp) -> SavedConsent {
        SavedConsent {
            consent_id: "0123456789abcdef0123456789abcdef".into(),
            revision: config.revision.clone(),
            policy_version: config.policy_version.to_owned(),
            decided_at,
            choices,
        }
    }

    const NOW: Timestamp = Timestamp::from_millis(1_790_000_000_000);

    fn analytics_only(config: &BannerConfig) -> Choices {
        choices(config, "analytics google_analytics hotjar")
    }

    #[test]
    fn a_first_visit_prompts_and_nothing_is_in_force() {
        let start = startup(None, &bakery(), NOW);
        assert_eq!(start.prompt, Some(PromptReason::NeverAsked));
        assert_eq!(start.in_force, None);
    }

    #[test]
    fn a_valid_choice_holds_without_a_prompt() {
        let config = bakery();
        let choices = analytics_only(&config);
        let start = startup(
            Some(&saved(&config, choices.clone(), NOW.plus_days(-10))),
            &config,
            NOW,
        );
        assert_eq!(
            start,
            Startup {
                prompt: None,
                in_force: Some(choices)
            }
        );
    }

    #[test]
    fn an_expired_choice_prompts_and_no_longer_counts() {
        let config = bakery();
        let start = startup(
            Some(&saved(
                &config,
                Choices::uniform(&config, true),
                NOW.plus_days(-183),
            )),
            &config,
            NOW,
        );
        assert_eq!(start.prompt, Some(PromptReason::Expired));
        assert_eq!(start.in_force, None);
    }

    #[test]
    fn a_new_policy_version_prompts_and_the_old_choice_no_longer_counts() {
        let config = bakery();
        let mut old = saved(&config, Choices::uniform(&config, true), NOW);
        old.policy_version = "2025-01".into();
        let start = startup(Some(&old), &config, NOW);
        assert_eq!(start.prompt, Some(PromptReason::PolicyChanged));
        assert_eq!(start.in_force, None);
    }

    #[test]
    fn a_new_service_prompts_while_the_answered_ones_keep_running() {
        let config = bakery();
        let all = Choices::uniform(&config, true);
        let choices = Choices {
            categories: all.categories,
            services: all
                .services
                .iter()
                .filter(|(id, _)| *id != "hotjar")
                .map(|(id, v)| (id.clone(), *v))
                .collect(),
        };
        let start = startup(Some(&saved(&config, choices, NOW)), &config, NOW);
        assert_eq!(
            start.prompt,
            Some(PromptReason::NewItems(vec!["hotjar".into()]))
        );
        let in_force = start.in_force.expect("the answered part holds");
        assert!(in_force.allows_service(&config, "google_analytics"));
        assert!(!in_force.allows_service(&config, "hotjar"));
    }

    #[test]
    fn a_decision_answers_every_asked_category_and_service_each_on_its_own() {
        let config = bakery();
        let choices = analytics_only(&config);
        let one = super::choices(&config, "analytics hotjar");
        assert_eq!(one.categories.get("analytics"), Some(&true));
        assert_eq!(one.services.get("hotjar"), Some(&true));
        assert_eq!(
            one.services.get("google_analytics"),
            Some(&false),
            "a service may differ from its category"
        );
        let none = super::choices(&config, "");
        assert!(none.all(false) && none.categories.len() == 2 && none.services.len() == 3);
        assert_eq!(
            super::choices(&config, "necessary analytics bogus")
                .categories
                .len(),
            2,
            "ids outside the configuration answer nothing"
        );
        assert_eq!(choices.categories.get("analytics"), Some(&true));
        assert_eq!(choices.categories.get("third_party"), Some(&false));
        assert_eq!(
            choices.categories.get("advertising"),
            None,
            "no ad service, not asked"
        );
        assert_eq!(choices.services.get("hotjar"), Some(&true));
        assert_eq!(choices.services.get("youtube"), Some(&false));
        assert!(!choices.categories.contains_key("necessary"));
    }

    #[test]
    fn cookie_strings_are_read_by_name() {
        let header = "demo_session=abc; biscotte=1|x|y; _ga=GA1.1.2; empty=";
        assert_eq!(cookie_value(header, "biscotte"), Some("1|x|y"));
        assert_eq!(cookie_value(header, "empty"), Some(""));
        assert_eq!(cookie_value(header, "bisc"), None);
        assert_eq!(cookie_value("", "biscotte"), None);
        assert_eq!(cookie_value("  spaced  =  1 2  ;x=", "spaced"), Some("1 2"));
        assert_eq!(cookie_value(" = ; biscotte=   ", "biscotte"), Some(""));
    }

    #[test]
    fn methods_are_read_as_the_protocol_spells_them() {
        for name in [
            "accept_all",
            "reject_all",
            "custom",
            "close",
            "gpc",
            "embed",
        ] {
            assert_eq!(method(name).map(Method::as_str), Some(name));
        }
        assert_eq!(method("approve"), None);
        assert_eq!(method(""), None);
    }

    #[test]
    fn the_consent_cookie_lasts_182_days_is_lax_and_secure_on_https() {
        let config = bakery();
        let s = saved(&config, Choices::uniform(&config, false), NOW);
        let plain = consent_cookie_assignment(&s, false);
        assert_eq!(
            plain,
            format!(
                "biscotte={}; Path=/; Max-Age=15724800; SameSite=Lax",
                s.encode()
            )
        );
        assert!(consent_cookie_assignment(&s, true).ends_with("; SameSite=Lax; Secure"));
        let value = cookie_value(plain.split(';').next().unwrap_or(""), COOKIE_NAME)
            .expect("readable back");
        assert_eq!(SavedConsent::decode(value), Ok(s));
    }

    #[test]
    fn the_summary_names_the_method_and_every_answer() {
        let config = bakery();
        let choices = analytics_only(&config);
        let json = ConsentSummary {
            method: Some(Method::Custom),
            categories: &choices.categories,
            services: &choices.services,
        }
        .to_json();
        assert_eq!(
            json,
            r#"{"method":"custom","categories":{"analytics":true,"third_party":false},"services":{"google_analytics":true,"hotjar":true,"youtube":false}}"#
        );
        let json = ConsentSummary {
            method: None,
            categories: &choices.categories,
            services: &choices.services,
        }
        .to_json();
        assert!(json.starts_with(r#"{"method":null,"#), "{json}");
    }

    const DECISION_ID: &str = "fedcba98765432100123456789abcdef";

    #[test]
    fn the_decision_body_is_what_serde_would_write() {
        let config = bakery();
        let choices = analytics_only(&config);
        let url = "https://shop.example/a?q=\"x\"&b=\\\n";
        for (undeleted, names) in [("", vec![]), ("_ga _ga_ABC", vec!["_ga", "_ga_ABC"])] {
            let json = request_json(&Request {
                consent_id: "0123456789abcdef0123456789abcdef",
                revision: config.revision.as_str(),
                method: Method::Custom,
                choices: &choices,
                language: config.lang,
                url,
                undeleted,
                decision_id: DECISION_ID,
            });
            let protocol = biscotte_shared::api::ConsentRequest {
                consent_id: "0123456789abcdef0123456789abcdef".into(),
                revision: config.revision.as_str().to_owned(),
                method: Method::Custom,
                categories: choices.categories.clone().into(),
                services: choices.services.clone().into(),
                language: Lang::Fr,
                url: Some(url.to_owned()),
                undeleted_cookies: names.into_iter().map(String::from).collect(),
                decision_id: Some(DECISION_ID.to_owned()),
            };
            assert_eq!(
                serde_json::from_str::<serde_json::Value>(&json).ok(),
                serde_json::to_value(&protocol).ok(),
                "{json}"
            );
            assert_eq!(
                serde_json::from_str::<biscotte_shared::api::ConsentRequest>(&json).ok(),
                Some(protocol),
                "the server reads it back, bounds checked: {json}"
            );
        }
    }

    /// LEGAL R28 (proof of consent), issue 12: the id that lets the server log a retried
    /// decision once comes last, where the protocol's `ConsentRequest` declares it (serde
    /// writes it there too; the comparison above does not see field order).
    #[test]
    fn the_decision_body_ends_with_its_decision_id() {
        let config = bakery();
        let json = request_json(&Request {
            consent_id: "0123456789abcdef0123456789abcdef",
            revision: config.revision.as_str(),
            method: Method::RejectAll,
            choices: &choices(&config, ""),
            language: config.lang,
            url: "https://shop.example/",
            undeleted: "_ga",
            decision_id: DECISION_ID,
        });
        assert!(
            json.ends_with(
                r#","undeleted_cookies":["_ga"],"decision_id":"fedcba98765432100123456789abcdef"}"#
            ),
            "{json}"
        );
    }
}
