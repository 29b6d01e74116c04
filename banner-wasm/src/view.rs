//! What the banner shows and does, decided without a browser: which layer, which switches, which
//! gated scripts may run, which cookies to delete, what to send. Pure, so it is tested on the host.

use crate::json::JsonObject;
use crate::prelude::*;
use biscotte_shared::banner_config::{BannerConfig, CategoryLine, ServiceLine};
use biscotte_shared::decision::Answers;
use biscotte_shared::rules::CHOICE_VALIDITY_DAYS;
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

/// A control of the banner, named by its `data-action` attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    AcceptAll,
    RejectAll,
    Customize,
    Save,
    Close,
    Manage,
}

impl Action {
    pub fn parse(name: &str) -> Option<Action> {
        Some(match name {
            "accept_all" => Action::AcceptAll,
            "reject_all" => Action::RejectAll,
            "customize" => Action::Customize,
            "save" => Action::Save,
            "close" => Action::Close,
            "manage" => Action::Manage,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Action::AcceptAll => "accept_all",
            Action::RejectAll => "reject_all",
            Action::Customize => "customize",
            Action::Save => "save",
            Action::Close => "close",
            Action::Manage => "manage",
        }
    }

    /// The decision a one-click control records; `None` for controls that only change the view
    /// and for `save`, whose choices come from the switches.
    pub fn decision(self, config: &BannerConfig) -> Option<(Method, Choices)> {
        match self {
            Action::AcceptAll => Some((Method::AcceptAll, Choices::uniform(config, true))),
            Action::RejectAll => Some((Method::RejectAll, Choices::uniform(config, false))),
            // Closing the banner is a refusal (LEGAL R06).
            Action::Close => Some((Method::Close, Choices::uniform(config, false))),
            Action::Customize | Action::Save | Action::Manage => None,
        }
    }
}

/// The choices of the second layer's switches: one answer per category.
pub fn custom_choices(config: &BannerConfig, checked: &[String]) -> Choices {
    Choices::from_categories(config, |id| checked.iter().any(|c| c == id))
}

/// One category of the second layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Switch<'a> {
    pub category: &'a CategoryLine<'a>,
    /// On only when the choice in force says yes: nothing is pre-ticked (LEGAL R07). `necessary`
    /// is shown on, and disabled.
    pub checked: bool,
    pub services: Vec<&'a ServiceLine<'a>>,
}

/// The second layer's switches, in the projection's order (`necessary` first, then the
/// categories the visitor is asked about).
pub fn switches<'a>(config: &'a BannerConfig<'a>, in_force: Option<&Choices>) -> Vec<Switch<'a>> {
    let mut out = Vec::new();
    for c in &config.categories {
        out.push(Switch {
            category: c,
            checked: c.required
                || in_force.is_some_and(|ch| ch.categories.get(c.id).copied().unwrap_or(false)),
            services: config
                .services
                .iter()
                .filter(|s| s.category == c.id)
                .collect(),
        });
    }
    out
}

/// Whether a gated script may run: a script that names a service needs that service's yes,
/// otherwise its category's. Without any choice in force only `necessary` runs.
pub fn script_may_run(
    config: &BannerConfig,
    choices: Option<&Choices>,
    category: Option<&str>,
    service: Option<&str>,
) -> bool {
    let none = Choices::default();
    let choices = choices.unwrap_or(&none);
    match (service, category) {
        (Some(service), _) => choices.allows_service(config, service),
        (None, Some(category)) => choices.allows_category(config, category),
        (None, None) => false,
    }
}

/// A part of a `document.cookie` string without the spaces around it: the browser separates
/// pairs with "; ", so only spaces need trimming (an ASCII trim also keeps Unicode's whitespace
/// tables out of the wasm).
fn unspaced(part: &str) -> &str {
    part.trim_start_matches(' ').trim_end_matches(' ')
}

/// The names in a `document.cookie` string, in order.
pub fn cookie_names(header: &str) -> impl Iterator<Item = &str> {
    header.split(';').filter_map(|pair| {
        let name = unspaced(pair.split('=').next().unwrap_or(""));
        (!name.is_empty()).then_some(name)
    })
}

/// The value of the first cookie called `name` in a `document.cookie` string.
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (unspaced(key) == name).then(|| unspaced(value))
    })
}

/// The cookies to delete: those declared by a service the choices do not allow. Without any
/// choice in force every consent-requiring service counts as refused. The consent cookie itself
/// is never deleted, whatever a declaration's pattern says.
pub fn cookies_to_sweep<'a>(
    config: &BannerConfig,
    choices: Option<&Choices>,
    names: impl Iterator<Item = &'a str>,
) -> Vec<&'a str> {
    let none = Choices::default();
    let choices = choices.unwrap_or(&none);
    let mut out: Vec<&str> = Vec::new();
    for name in names {
        if name != COOKIE_NAME
            && !out.contains(&name)
            && config
                .services
                .iter()
                .any(|s| s.sets(name) && !choices.allows_service(config, s.id))
        {
            out.push(name);
        }
    }
    out
}

/// The domains a cookie visible on `hostname` may have been set for: the host and each parent
/// with at least two labels. IP addresses and single-label hosts have no parents.
pub fn domain_suffixes(hostname: &str) -> Vec<&str> {
    let is_ip = hostname.contains(':') || hostname.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let mut out = Vec::new();
    out.push(hostname);
    if !is_ip {
        let mut rest = hostname;
        while let Some((_, parent)) = rest.split_once('.') {
            if parent.contains('.') {
                out.push(parent);
            }
            rest = parent;
        }
    }
    out
}

/// The `document.cookie` assignments that expire `name` wherever it may live on this host:
/// host-only, then with `Domain=` each suffix of the host name.
pub fn expiry_assignments(name: &str, hostname: &str) -> Vec<String> {
    let mut out = Vec::new();
    out.push(cat(&[name, "=; Path=/; Max-Age=0"]));
    for d in domain_suffixes(hostname) {
        out.push(cat(&[name, "=; Path=/; Domain=", d, "; Max-Age=0"]));
    }
    out
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
            name: format!("{id} name"),
            provider: format!("{id} provider"),
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
        custom_choices(config, &["analytics".to_owned()])
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
        let in_force = start.in_force.as_ref();
        assert!(script_may_run(
            &config,
            in_force,
            Some("analytics"),
            Some("google_analytics")
        ));
        assert!(!script_may_run(
            &config,
            in_force,
            Some("analytics"),
            Some("hotjar")
        ));
    }

    #[test]
    fn one_click_controls_record_the_matching_decision() {
        let config = bakery();
        let (method, choices) = Action::parse("accept_all")
            .and_then(|a| a.decision(&config))
            .expect("a decision");
        assert_eq!(method, Method::AcceptAll);
        assert!(choices.all(true) && !choices.categories.is_empty());
        let (method, choices) = Action::parse("reject_all")
            .and_then(|a| a.decision(&config))
            .expect("a decision");
        assert_eq!(method, Method::RejectAll);
        assert!(choices.all(false));
        assert_eq!(
            Action::parse("customize").and_then(|a| a.decision(&config)),
            None
        );
        assert_eq!(Action::parse("approve"), None);
        for action in [
            Action::AcceptAll,
            Action::RejectAll,
            Action::Customize,
            Action::Save,
            Action::Close,
            Action::Manage,
        ] {
            assert_eq!(Action::parse(action.name()), Some(action));
        }
    }

    #[test]
    fn closing_the_banner_refuses_everything() {
        let config = bakery();
        let (method, choices) = Action::Close.decision(&config).expect("a decision");
        assert_eq!(method, Method::Close);
        assert!(choices.all(false));
        assert_eq!(choices, Choices::uniform(&config, false));
    }

    #[test]
    fn saving_the_switches_answers_every_category_and_services_follow_them() {
        let config = bakery();
        let choices = analytics_only(&config);
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
    fn saving_untouched_switches_refuses_everything() {
        let config = bakery();
        assert!(custom_choices(&config, &[]).all(false));
    }

    #[test]
    fn switches_start_off_on_a_first_visit() {
        let config = bakery();
        let list = switches(&config, None);
        assert!(
            list.iter()
                .filter(|s| !s.category.required)
                .all(|s| !s.checked)
        );
        assert_eq!(
            list.iter().filter(|s| !s.category.required).count(),
            2,
            "analytics and third_party: no ad service"
        );
    }

    #[test]
    fn switches_are_on_only_where_the_choice_in_force_said_yes() {
        let config = bakery();
        let choices = analytics_only(&config);
        let on: Vec<_> = switches(&config, Some(&choices))
            .into_iter()
            .filter(|s| s.checked)
            .map(|s| s.category.id)
            .collect();
        assert_eq!(on, ["necessary", "analytics"]);
    }

    #[test]
    fn necessary_is_shown_always_on() {
        let config = bakery_in(Lang::En);
        let list = switches(&config, None);
        let first = &list[0];
        assert_eq!(first.category.id, "necessary");
        assert!(first.category.required && first.checked);
        assert_eq!(first.category.title, "Technical cookies");
    }

    #[test]
    fn each_category_lists_its_services_with_provider_policy_and_cookies() {
        let config = bakery();
        let list = switches(&config, None);
        let analytics = list
            .iter()
            .find(|s| s.category.id == "analytics")
            .expect("analytics is listed");
        assert_eq!(analytics.category.title, "Mesure d'audience");
        let names: Vec<_> = analytics.services.iter().map(|s| s.name).collect();
        assert_eq!(names, ["google_analytics name", "hotjar name"]);
        let ga = &analytics.services[0];
        assert_eq!(ga.provider, "google_analytics provider");
        assert_eq!(ga.policy_url, "https://google_analytics.example/privacy");
        let cookies: Vec<_> = ga.cookies().map(|c| c.name).collect();
        assert_eq!(cookies, ["_ga", "_ga_*", "_gid"]);
        assert!(
            !list.iter().any(|s| s.category.id == "advertising"),
            "a built-in category without a service is not shown"
        );
    }

    #[test]
    fn a_script_naming_a_service_runs_only_with_that_services_yes() {
        let config = bakery();
        let mut choices = Choices::uniform(&config, true);
        choices.services.insert("hotjar".into(), false);
        assert!(script_may_run(
            &config,
            Some(&choices),
            Some("analytics"),
            Some("google_analytics")
        ));
        assert!(!script_may_run(
            &config,
            Some(&choices),
            Some("analytics"),
            Some("hotjar")
        ));
    }

    #[test]
    fn a_script_naming_only_a_category_follows_the_category() {
        let config = bakery();
        let choices = analytics_only(&config);
        assert!(script_may_run(
            &config,
            Some(&choices),
            Some("analytics"),
            None
        ));
        assert!(!script_may_run(
            &config,
            Some(&choices),
            Some("advertising"),
            None
        ));
    }

    #[test]
    fn before_any_choice_only_necessary_scripts_run() {
        let config = bakery();
        assert!(script_may_run(&config, None, Some("necessary"), None));
        assert!(script_may_run(
            &config,
            None,
            Some("necessary"),
            Some("load_balancer")
        ));
        assert!(!script_may_run(
            &config,
            None,
            Some("analytics"),
            Some("google_analytics")
        ));
        assert!(!script_may_run(&config, None, Some("analytics"), None));
    }

    #[test]
    fn unknown_services_and_categories_never_run() {
        let config = bakery();
        let all = Choices::uniform(&config, true);
        assert!(!script_may_run(
            &config,
            Some(&all),
            Some("analytics"),
            Some("facebook_pixel")
        ));
        assert!(!script_may_run(
            &config,
            Some(&all),
            Some("marketing"),
            None
        ));
        assert!(!script_may_run(&config, Some(&all), None, None));
    }

    #[test]
    fn cookie_strings_are_read_by_name() {
        let header = "demo_session=abc; biscotte=1|x|y; _ga=GA1.1.2; empty=";
        assert_eq!(
            cookie_names(header).collect::<Vec<_>>(),
            ["demo_session", "biscotte", "_ga", "empty"]
        );
        assert_eq!(cookie_value(header, "biscotte"), Some("1|x|y"));
        assert_eq!(cookie_value(header, "empty"), Some(""));
        assert_eq!(cookie_value(header, "bisc"), None);
        assert_eq!(cookie_names("").count(), 0);
    }

    #[test]
    fn refusal_deletes_the_cookies_of_refused_services() {
        let config = bakery();
        let header = "demo_session=1; _ga=2; _ga_ABC=3; _gid=4; _hjSessionUser_123456=5; lb=6; VISITOR_INFO1_LIVE=7";
        let sweep = cookies_to_sweep(
            &config,
            Some(&Choices::uniform(&config, false)),
            cookie_names(header),
        );
        assert_eq!(
            sweep,
            [
                "_ga",
                "_ga_ABC",
                "_gid",
                "_hjSessionUser_123456",
                "VISITOR_INFO1_LIVE"
            ]
        );
    }

    #[test]
    fn accepted_services_keep_their_cookies() {
        let config = bakery();
        let mut choices = Choices::uniform(&config, true);
        choices.services.insert("hotjar".into(), false);
        let sweep = cookies_to_sweep(
            &config,
            Some(&choices),
            cookie_names("_ga=1; _hjSessionUser_9=2; _gid=3"),
        );
        assert_eq!(sweep, ["_hjSessionUser_9"]);
    }

    #[test]
    fn without_a_choice_every_declared_optional_cookie_is_swept_but_technical_ones_stay() {
        let config = bakery();
        let sweep = cookies_to_sweep(&config, None, cookie_names("_ga=1; lb=2; demo_session=3"));
        assert_eq!(sweep, ["_ga"]);
    }

    #[test]
    fn the_consent_cookie_is_never_swept() {
        let config = project(
            &site(vec![service("greedy", "analytics", &["b*"])]),
            Lang::Fr,
        );
        let sweep = cookies_to_sweep(&config, None, cookie_names("biscotte=x; b2=y"));
        assert_eq!(sweep, ["b2"]);
    }

    #[test]
    fn cookies_are_expired_host_only_and_on_every_parent_domain() {
        assert_eq!(
            expiry_assignments("_ga", "www.shop.example.fr"),
            [
                "_ga=; Path=/; Max-Age=0",
                "_ga=; Path=/; Domain=www.shop.example.fr; Max-Age=0",
                "_ga=; Path=/; Domain=shop.example.fr; Max-Age=0",
                "_ga=; Path=/; Domain=example.fr; Max-Age=0",
            ]
        );
    }

    #[test]
    fn ip_addresses_and_single_label_hosts_have_no_parent_domains() {
        assert_eq!(domain_suffixes("127.0.0.1"), ["127.0.0.1"]);
        assert_eq!(domain_suffixes("[::1]"), ["[::1]"]);
        assert_eq!(domain_suffixes("localhost"), ["localhost"]);
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

    #[test]
    fn the_decision_body_is_what_serde_would_write() {
        let config = bakery();
        let choices = analytics_only(&config);
        let url = "https://shop.example/a?q=\"x\"&b=\\\n";
        let json = request_json(&Request {
            consent_id: "0123456789abcdef0123456789abcdef",
            revision: config.revision.as_str(),
            method: Method::Custom,
            choices: &choices,
            language: config.lang,
            url,
        });
        let protocol = biscotte_shared::api::ConsentRequest {
            consent_id: "0123456789abcdef0123456789abcdef".into(),
            revision: config.revision.as_str().to_owned(),
            method: Method::Custom,
            categories: choices.categories.clone().into(),
            services: choices.services.clone().into(),
            language: Lang::Fr,
            url: Some(url.to_owned()),
            undeleted_cookies: Vec::new(),
        };
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&json).ok(),
            serde_json::to_value(&protocol).ok(),
            "{json}"
        );
    }
}
