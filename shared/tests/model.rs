//! The consent rules, table-driven: one line per case.

use biscotte_shared::api::{
    ConsentRequest, DECISION_BODY_LIMIT, MAX_COOKIE_NAME, MAX_UNDELETED_COOKIES, PublishedConfig,
};
use biscotte_shared::config::{
    BannerTextsInput, CategoryInput, ManageButton, SiteConfigInput, TextsInput,
};
use biscotte_shared::cookie::Garbled;
use biscotte_shared::decision::{MAX_CATEGORIES, MAX_SERVICES};
use biscotte_shared::page_url::PAGE_URL_MAX_CHARS;
use biscotte_shared::{
    Choices, CookieDecl, Decision, Lang, Localized, Method, PromptReason, Recipe, Revision,
    SavedConsent, Service, SiteConfig, Timestamp, needs_prompt,
};
use std::collections::BTreeMap;

const NOW: Timestamp = Timestamp::from_secs(1_800_000_000);
const SECOND: i64 = 1000;
const DAY: i64 = 86_400_000;

fn service(id: &str, category: &str) -> Service {
    Service {
        id: id.into(),
        name: id.into(),
        provider: "Provider".into(),
        category: category.into(),
        privacy_policy_url: "https://provider.example/privacy".into(),
        storage: vec![],
        consent_mode: vec![],
        cookies: vec![CookieDecl {
            name: format!("_{id}*"),
            domain: None,
            lifetime_days: 30,
            purpose: "measure".into(),
            http_only: false,
            third_party: false,
        }],
    }
}

fn input(services: &[(&str, &str)]) -> SiteConfigInput {
    SiteConfigInput {
        publisher: "Boulangerie".into(),
        policy_version: "1".into(),
        policy_url: "/privacy".into(),
        categories: vec![],
        services: services.iter().map(|(id, cat)| service(id, cat)).collect(),
        texts: TextsInput::default(),
        banner: Default::default(),
    }
}

fn config(services: &[(&str, &str)]) -> SiteConfig {
    SiteConfig::parse(input(services)).expect("valid config")
}

fn saved_for(config: &SiteConfig, accept: bool, decided_at: Timestamp) -> SavedConsent {
    SavedConsent {
        consent_id: "0123456789abcdef0123456789abcdef".into(),
        revision: Revision::of(config),
        policy_version: config.policy_version.clone(),
        decided_at,
        choices: Choices::uniform(config, accept),
    }
}

/// One row: the config the choice was made under, when, the config published now, and the
/// expected answer.
fn check(
    made_under: &SiteConfig,
    decided_at: Timestamp,
    published: &SiteConfig,
    expected: Option<PromptReason>,
) {
    for accept in [true, false] {
        let saved = saved_for(made_under, accept, decided_at);
        assert_eq!(
            needs_prompt(Some(&saved), published, NOW),
            expected,
            "accept={accept}, decided_at={decided_at:?}"
        );
    }
}

#[test]
fn a_choice_holds_for_182_days_then_is_asked_again() {
    let c = config(&[("ga", "analytics")]);
    check(&c, NOW.plus_days(-182).plus_millis(SECOND), &c, None);
    check(&c, NOW.plus_days(-182), &c, None);
    check(
        &c,
        NOW.plus_days(-182).plus_millis(-SECOND),
        &c,
        Some(PromptReason::Expired),
    );
    check(&c, NOW.plus_millis(-DAY), &c, None);
}

#[test]
fn a_new_revision_asks_again_only_when_it_adds_something_needing_consent() {
    let v1 = config(&[("ga", "analytics")]);
    let with_new_tracker = config(&[("ga", "analytics"), ("hotjar", "analytics")]);
    let with_new_technical = config(&[("ga", "analytics"), ("session", "necessary")]);
    let mut reworded = input(&[("ga", "analytics")]);
    reworded.texts.fr = BannerTextsInput {
        title: Some("Vos cookies".into()),
        ..Default::default()
    };
    let reworded = SiteConfig::parse(reworded).expect("valid");
    let mut new_category = input(&[("ga", "analytics")]);
    new_category.categories.push(CategoryInput {
        id: "personalisation".into(),
        title: Some(Localized::new("Personnalisation", "Personalisation")),
        description: Some(Localized::new("Adapter le site", "Adapt the site")),
    });
    let new_category = SiteConfig::parse(new_category).expect("valid");

    assert_ne!(
        Revision::of(&v1),
        Revision::of(&reworded),
        "a text change is a new revision"
    );
    check(
        &v1,
        NOW,
        &with_new_tracker,
        Some(PromptReason::NewItems(vec!["hotjar".into()])),
    );
    check(&v1, NOW, &with_new_technical, None);
    check(&v1, NOW, &reworded, None);
    check(
        &v1,
        NOW,
        &new_category,
        Some(PromptReason::NewItems(vec!["personalisation".into()])),
    );
}

#[test]
fn a_new_policy_version_asks_everything_again() {
    let v1 = config(&[("ga", "analytics")]);
    let mut v2 = input(&[("ga", "analytics")]);
    v2.policy_version = "2".into();
    check(
        &v1,
        NOW,
        &SiteConfig::parse(v2).expect("valid"),
        Some(PromptReason::PolicyChanged),
    );
}

#[test]
fn a_visitor_never_asked_is_asked() {
    assert_eq!(
        needs_prompt(None, &config(&[]), NOW),
        Some(PromptReason::NeverAsked)
    );
}

#[test]
fn the_cookie_round_trips_and_stays_small() {
    let c = config(&[
        ("google_analytics", "analytics"),
        ("hotjar", "analytics"),
        ("youtube", "third_party"),
    ]);
    let mut saved = saved_for(&c, false, NOW);
    saved.choices = Choices::from_categories(&c, |cat| cat == "analytics");
    let encoded = saved.encode();
    assert_eq!(SavedConsent::decode(&encoded), Ok(saved));
    assert!(encoded.len() < 200, "{} bytes: {encoded}", encoded.len());
    assert!(
        !encoded.contains([';', ',', ' ', '"', '\\']),
        "only cookie octets: {encoded}"
    );
}

#[test]
fn a_garbled_cookie_means_ask_again_never_consent() {
    let c = config(&[("ga", "analytics")]);
    let good = saved_for(&c, true, NOW).encode();
    let cases: Vec<String> = vec![
        String::new(),
        "garbage".into(),
        good.replacen('1', "2", 1), // unknown format version
        good.replace('|', "/"),     // wrong separators
        format!("{good}|extra"),    // too many fields
        good.rsplit_once('|')
            .map(|(a, _)| a.to_owned())
            .unwrap_or_default(), // too few
        good.replace("0123456789abcdef", "0123456789ABCDEF"), // consent id not lowercase hex
        good.replace("|1800000000|", "|-5|"), // negative time
        good.replace("|1800000000|", "|18e8|"), // not a number
        good.replace("analytics", "Analytics!"), // invalid id
        good.replace("|ga|", "|ga.ga|"), // duplicate
        good.replacen("analytics||", "analytics|analytics|", 1), // accepted and refused at once
        good.replace("|1800000000|", "|01800000000|"), // not the canonical spelling
    ];
    for case in cases {
        assert_eq!(
            SavedConsent::decode(&case),
            Err(Garbled),
            "{case:?} must not decode"
        );
    }
}

fn decide(
    config: &SiteConfig,
    method: Method,
    cats: &[(&str, bool)],
    svcs: &[(&str, bool)],
) -> Result<Decision, String> {
    let map = |xs: &[(&str, bool)]| {
        xs.iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect::<BTreeMap<_, _>>()
    };
    let choices = Choices {
        categories: map(cats).into(),
        services: map(svcs).into(),
    };
    Decision::parse("0123456789abcdef0123456789abcdef", method, &choices, config)
        .map_err(|e| e.field)
}

#[test]
fn decisions_are_checked_against_the_configuration_and_name_the_wrong_field() {
    let c = config(&[
        ("ga", "analytics"),
        ("yt", "third_party"),
        ("session", "necessary"),
    ]);
    let all = |v| [("analytics", v), ("third_party", v)];
    assert!(decide(&c, Method::AcceptAll, &all(true), &[]).is_ok());
    assert!(decide(&c, Method::RejectAll, &all(false), &[]).is_ok());
    assert!(decide(&c, Method::Close, &all(false), &[]).is_ok());
    let with = |extra: (&'static str, bool)| [("analytics", true), ("third_party", false), extra];
    assert_eq!(
        decide(&c, Method::Custom, &with(("bogus", true)), &[]),
        Err("categories.bogus".into())
    );
    assert_eq!(
        decide(&c, Method::Custom, &with(("advertising", false)), &[]),
        Err("categories.advertising".into()),
        "not asked: no ad service"
    );
    assert_eq!(
        decide(&c, Method::Custom, &[("analytics", true)], &[]),
        Err("categories.third_party".into())
    );
    assert_eq!(
        decide(&c, Method::Custom, &with(("necessary", false)), &[]),
        Err("categories.necessary".into())
    );
    assert_eq!(
        decide(&c, Method::Custom, &all(false), &[("nope", true)]),
        Err("services.nope".into())
    );
    assert_eq!(
        decide(&c, Method::Custom, &all(false), &[("session", false)]),
        Err("services.session".into())
    );
    assert_eq!(
        decide(
            &c,
            Method::AcceptAll,
            &[("analytics", true), ("third_party", false)],
            &[]
        ),
        Err("method".into())
    );
    assert_eq!(
        decide(&c, Method::RejectAll, &all(false), &[("ga", true)]),
        Err("method".into())
    );
    // Global Privacy Control refuses everything optional, as "reject all" does.
    assert!(decide(&c, Method::Gpc, &all(false), &[]).is_ok());
    assert_eq!(
        decide(&c, Method::Gpc, &all(false), &[("yt", true)]),
        Err("method".into())
    );
    // An embed allows its service, whatever its category's answer; it must allow one.
    assert!(decide(&c, Method::Embed, &all(false), &[("yt", true)]).is_ok());
    assert_eq!(
        decide(&c, Method::Embed, &all(false), &[]),
        Err("method".into())
    );
    let bad_id = Decision::parse(
        "not-hex",
        Method::RejectAll,
        &Choices::uniform(&c, false),
        &c,
    )
    .map_err(|e| e.field);
    assert_eq!(bad_id, Err("consent_id".into()));
}

#[test]
fn services_left_out_follow_their_category_and_technical_ones_always_run() {
    let c = config(&[
        ("ga", "analytics"),
        ("hotjar", "analytics"),
        ("session", "necessary"),
    ]);
    let d = decide(
        &c,
        Method::Custom,
        &[("analytics", true)],
        &[("hotjar", false)],
    )
    .expect("valid");
    assert!(d.choices.allows_service(&c, "ga"));
    assert!(!d.choices.allows_service(&c, "hotjar"));
    assert!(d.choices.allows_service(&c, "session"));
    assert!(d.choices.allows_category(&c, "necessary"));
    assert!(!d.choices.allows_category(&c, "advertising"));
}

#[test]
fn a_bad_configuration_is_refused_with_every_field_named() {
    let mut bad = input(&[("ga", "analytcs"), ("Bad Id", "analytics")]);
    bad.policy_version = "v 1".into();
    bad.texts.fr.reject_all = Some("Accepter plus tard".into());
    let fields: Vec<String> = SiteConfig::parse(bad)
        .expect_err("invalid")
        .0
        .into_iter()
        .map(|e| e.field)
        .collect();
    for expected in [
        "policy_version",
        "services[0].category",
        "services[1].id",
        "texts.fr.reject_all",
    ] {
        assert!(
            fields.iter().any(|f| f == expected),
            "{expected} missing from {fields:?}"
        );
    }
}

#[test]
fn texts_with_control_characters_other_than_tab_and_line_breaks_are_refused_by_name() {
    // One row per text: where the control character goes, and the field the error must name.
    let check =
        |place: fn(&mut SiteConfigInput, String), field: &str, text: &str, refused: bool| {
            let mut i = input(&[("ga", "analytics")]);
            place(&mut i, text.to_owned());
            match SiteConfig::parse(i) {
                Ok(_) => assert!(!refused, "{field} {text:?} was accepted"),
                Err(errors) => {
                    assert!(refused, "{field} {text:?} was refused: {errors:?}");
                    let error = errors
                        .0
                        .iter()
                        .find(|e| e.field == field)
                        .unwrap_or_else(|| panic!("{field} not named in {errors:?}"));
                    assert!(error.message.contains("control character U+"), "{error:?}");
                }
            }
        };
    check(|i, t| i.publisher = t, "publisher", "Shop\u{1e}Inc", true);
    check(|i, t| i.publisher = t, "publisher", "Shop\tInc", false);
    check(
        |i, t| i.texts.en.body = Some(t),
        "texts.en.body",
        "Line\r\nline",
        false,
    );
    check(
        |i, t| i.texts.en.body = Some(t),
        "texts.en.body",
        "Bell\u{7}",
        true,
    );
    check(
        |i, t| i.texts.fr.title = Some(t),
        "texts.fr.title",
        "\u{1f}",
        true,
    );
    check(
        |i, t| i.services[0].name = t.into(),
        "services[0].name",
        "G\u{0}A",
        true,
    );
    check(
        |i, t| i.services[0].cookies[0].name = t,
        "services[0].cookies[0].name",
        "_ga\u{1b}",
        true,
    );
    check(
        |i, t| i.services[0].cookies[0].purpose = t.into(),
        "services[0].cookies[0].purpose",
        "measure\u{1e}",
        true,
    );
    check(
        |i, t| i.services[0].cookies[0].purpose = Localized::new("mesure", &t).into(),
        "services[0].cookies[0].purpose.en",
        "measure\u{1f}",
        true,
    );
    check(
        |i, t| i.services[0].provider = Localized::new(&t, "Provider").into(),
        "services[0].provider.fr",
        "Fournisseur\u{1}",
        true,
    );
    check(
        |i, t| {
            i.categories = vec![CategoryInput {
                id: "chat".into(),
                title: Some(Localized::new("Discussion", &t)),
                description: Some(Localized::new("Le chat.", "The chat.")),
            }]
        },
        "categories[0].title.en",
        "Chat\u{1f}",
        true,
    );
    check(
        |i, t| i.policy_url = t,
        "policy_url",
        "/privacy\u{1e}",
        true,
    );
    check(|i, t| i.publisher = t, "publisher", "Shop\u{7f}", true);
    check(|i, t| i.publisher = t, "publisher", "Shop\u{85}", true);
    check(
        |i, t| i.publisher = t,
        "publisher",
        "Shop «\u{a0}é\u{200b}»",
        false,
    );
}

#[test]
fn a_revision_stored_before_recipes_had_numbers_still_matches_its_configuration() {
    // Stored by the server before recipe 2 existed (no `recipe` field), byte for byte.
    let stored = include_str!("fixtures/published-v1.json");
    let published: PublishedConfig = serde_json::from_str(stored).expect("the stored form reads");
    assert_eq!(published.recipe, Recipe::V1);
    assert_eq!(
        published.revision.as_str(),
        "e8f8c1b8d5191fe35f157606c41d38fd"
    );
    assert!(published.revision_matches());
    // Under today's recipe the same configuration is another revision, which is why the recipe
    // is kept beside it.
    assert_eq!(published.words, None, "recipe 1 kept no words");
    assert_ne!(Revision::of(&published.config), published.revision);
}

#[test]
fn a_new_publication_names_recipe_3_and_matches_its_configuration() {
    let published = PublishedConfig::new("shop", config(&[("ga", "analytics")]), NOW);
    assert_eq!(published.recipe, Recipe::V3);
    assert!(published.revision_matches());
    let json = serde_json::to_value(&published).expect("JSON");
    assert_eq!(json["recipe"], 3);
    assert_eq!(json["words"]["en"]["always_on"], "Always on");
    assert_eq!(
        (&json["words"]["fr"]["day"], &json["words"]["fr"]["days"]),
        (&"jour".into(), &"jours".into())
    );
    let stored: PublishedConfig = serde_json::from_value(json).expect("reads back");
    assert_eq!(stored, published);

    let mut tampered = published.clone();
    tampered.config.texts.en.title = "Other words".into();
    assert!(!tampered.revision_matches());
    let mut reworded = published.clone();
    if let Some(words) = &mut reworded.words {
        words.fr.always_on = "Toujours actif".into();
    }
    assert!(!reworded.revision_matches());
    let mut wordless = published.clone();
    wordless.words = None;
    assert!(!wordless.revision_matches(), "recipe 3 needs its words");
    let mut relabelled = published;
    relabelled.recipe = Recipe::V2;
    assert!(!relabelled.revision_matches());
    relabelled.recipe = Recipe::V1;
    assert!(!relabelled.revision_matches());
}

#[test]
fn a_services_texts_are_one_for_every_language_or_one_per_language() {
    // As a site file writes a cookie (in JSON here; its TOML reads the same way).
    let cookie = |purpose: &str| {
        serde_json::from_str::<CookieDecl>(&format!(
            r#"{{"name":"_ga","lifetime_days":1,"purpose":{purpose}}}"#
        ))
    };
    let every = cookie(r#""Mesure""#).expect("a plain string");
    let each = cookie(r#"{"fr":"Mesure","en":"Measure"}"#).expect("a text per language");
    for (read, fr, en) in [(&every, "Mesure", "Mesure"), (&each, "Mesure", "Measure")] {
        assert_eq!(
            (read.purpose.get(Lang::Fr), read.purpose.get(Lang::En)),
            (fr, en)
        );
    }
    // Each is written back as it was given: a plain string stays one, so that the revisions
    // published before texts per language keep their JSON, and so their hash.
    assert_eq!(
        serde_json::to_string(&every).expect("JSON"),
        r#"{"name":"_ga","lifetime_days":1,"purpose":"Mesure"}"#
    );
    assert_eq!(
        serde_json::to_string(&each).expect("JSON"),
        r#"{"name":"_ga","lifetime_days":1,"purpose":{"fr":"Mesure","en":"Measure"}}"#
    );
    for (purpose, says) in [
        (r#"{"fr":"Mesure"}"#, "missing field `en`"),
        (
            r#"{"fr":"Mesure","en":"Measure","de":"Messung"}"#,
            "unknown field `de`",
        ),
        (
            "7",
            "a text for every language, or a text per language ({ fr = \"…\", en = \"…\" })",
        ),
    ] {
        let refused = cookie(purpose).expect_err(purpose).to_string();
        assert!(refused.contains(says), "{purpose}: {refused}");
    }
    // An empty text is refused by its field, in the language it is missing from.
    let mut i = input(&[("ga", "analytics")]);
    i.services[0].provider = Localized::new("", "Provider").into();
    i.services[0].cookies[0].purpose = Localized::new("Mesure", " ").into();
    let fields: Vec<String> = SiteConfig::parse(i)
        .expect_err("empty texts")
        .0
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(
        fields,
        [
            "services[0].provider.fr",
            "services[0].cookies[0].purpose.en"
        ]
    );
}

#[test]
fn the_built_in_categories_are_always_there_and_necessary_is_required() {
    let c = config(&[]);
    let ids: Vec<&str> = c.categories.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        ["necessary", "analytics", "third_party", "advertising"]
    );
    assert!(c.categories[0].required && c.categories[1..].iter().all(|c| !c.required));
}

#[test]
fn a_cookie_over_13_months_is_flagged() {
    let mut i = input(&[("ga", "analytics")]);
    i.services[0].cookies[0].lifetime_days = 730;
    let warnings = SiteConfig::parse(i).expect("valid").warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("395"));
}

#[test]
fn only_purposes_the_site_pursues_are_asked_and_named() {
    let c = config(&[("ga", "analytics"), ("session", "necessary")]);
    let asked: Vec<&str> = c.consent_categories().map(|c| c.id.as_str()).collect();
    assert_eq!(
        asked,
        ["analytics"],
        "no switch for advertising on a site without ads"
    );
    assert!(
        c.texts.fr.body.contains("pour : mesure d'audience."),
        "{}",
        c.texts.fr.body
    );
    assert!(
        c.texts.en.body.contains("for: audience measurement."),
        "{}",
        c.texts.en.body
    );
    let mut own = input(&[]);
    own.categories.push(CategoryInput {
        id: "personalisation".into(),
        title: Some(Localized::new("Personnalisation", "Personalisation")),
        description: Some(Localized::new("Adapter le site", "Adapt the site")),
    });
    let own = SiteConfig::parse(own).expect("valid");
    let asked: Vec<&str> = own.consent_categories().map(|c| c.id.as_str()).collect();
    assert_eq!(
        asked,
        ["personalisation"],
        "a site's own category is always asked"
    );
}

/// The largest site: every category and service allowed, each with the longest id.
fn largest_input() -> SiteConfigInput {
    let long = |prefix: &str, i: usize| {
        format!("{prefix}{i}{}", "_".repeat(40))
            .chars()
            .take(40)
            .collect::<String>()
    };
    let mut input = input(&[]);
    input.categories = (4..MAX_CATEGORIES)
        .map(|i| CategoryInput {
            id: long("c", i),
            title: Some(Localized::new("Titre", "Title")),
            description: Some(Localized::new("Description", "Description")),
        })
        .collect();
    input.services = (0..MAX_SERVICES)
        .map(|i| service(&long("s", i), "analytics"))
        .collect();
    input
}

#[test]
fn the_largest_decision_a_site_may_ask_for_fits_the_body_limit() {
    let config = SiteConfig::parse(largest_input()).expect("the largest site is valid");
    let choices = Choices::uniform(&config, true);
    let request = ConsentRequest {
        consent_id: "0123456789abcdef0123456789abcdef".into(),
        revision: Revision::of(&config).as_str().to_owned(),
        method: Method::AcceptAll,
        categories: choices.categories.into(),
        services: choices.services.into(),
        language: Lang::Fr,
        url: Some(format!("https://{}", "a".repeat(PAGE_URL_MAX_CHARS))),
        // The most undeleted cookies a decision may report, each as long as a name may be.
        undeleted_cookies: (0..MAX_UNDELETED_COOKIES)
            .map(|i| format!("{i:0>width$}", width = MAX_COOKIE_NAME))
            .collect(),
        decision_id: Some("fedcba9876543210fedcba9876543210".into()),
    };
    assert_eq!(request.services.len(), MAX_SERVICES);
    let size = serde_json::to_vec(&request).expect("JSON").len();
    assert!(size < DECISION_BODY_LIMIT * 3 / 4, "{size} bytes");

    let mut more = largest_input();
    more.services.push(service("one_more", "analytics"));
    more.categories.push(CategoryInput {
        id: "one_more_category".into(),
        ..more.categories[0].clone()
    });
    let fields: Vec<String> = SiteConfig::parse(more)
        .expect_err("too large")
        .0
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(fields, ["categories", "services"]);
}

/// One row: a decision body with one field replaced, and the field its refusal names.
fn check_read(field: &str, value: serde_json::Value, refused: Option<&str>) {
    let mut body = serde_json::json!({
        "consent_id": "0123456789abcdef0123456789abcdef",
        "revision": "0123456789abcdef0123456789abcdef",
        "method": "custom",
        "categories": {"analytics": true},
        "language": "fr",
    });
    body[field] = value;
    let read = serde_json::from_value::<ConsentRequest>(body);
    match (refused, read) {
        (None, Ok(_)) => {}
        (Some(named), Err(e)) => assert!(
            e.to_string().starts_with(&format!("field `{named}`: ")),
            "{e}"
        ),
        (expected, got) => panic!("{field}: expected a refusal naming {expected:?}, got {got:?}"),
    }
}

#[test]
fn a_decision_body_is_bounded_before_anything_looks_at_it() {
    let many = |n: usize| {
        serde_json::Value::Object((0..n).map(|i| (format!("s{i}"), true.into())).collect())
    };
    check_read(
        "consent_id",
        "0123456789ABCDEF0123456789ABCDEF".into(),
        Some("consent_id"),
    );
    check_read("consent_id", "a".repeat(10_000).into(), Some("consent_id"));
    check_read("revision", "f".repeat(33).into(), Some("revision"));
    check_read("language", "de".into(), Some("language"));
    check_read("language", "en".into(), None);
    check_read("categories", many(MAX_CATEGORIES), None);
    check_read("categories", many(MAX_CATEGORIES + 1), Some("categories"));
    check_read("services", many(MAX_SERVICES), None);
    check_read("services", many(MAX_SERVICES + 1), Some("services"));
    check_read("method", "gpc".into(), None);
    check_read("method", "embed".into(), None);
    check_read(
        "undeleted_cookies",
        serde_json::json!(["_ga", "_ga_X1"]),
        None,
    );
    check_read(
        "undeleted_cookies",
        serde_json::json!(vec!["_ga"; MAX_UNDELETED_COOKIES + 1]),
        Some("undeleted_cookies"),
    );
    for bad in [
        "",
        "a b",
        "a=b",
        "a;b",
        "a\u{7}",
        &"x".repeat(MAX_COOKIE_NAME + 1),
    ] {
        check_read(
            "undeleted_cookies",
            serde_json::json!([bad]),
            Some("undeleted_cookies"),
        );
    }
    check_read(
        "services",
        serde_json::json!({ "a".repeat(41): true }),
        Some("services"),
    );
    check_read(
        "categories",
        serde_json::json!({ "Analytics": true }),
        Some("categories"),
    );
    let twice = r#"{"consent_id":"0123456789abcdef0123456789abcdef","revision":"0123456789abcdef0123456789abcdef",
        "method":"custom","categories":{"analytics":true,"analytics":false},"language":"fr"}"#;
    let e = serde_json::from_str::<ConsentRequest>(twice).expect_err("ambiguous");
    assert!(e.to_string().starts_with("field `categories`: "), "{e}");
}

#[test]
fn undeleted_cookies_must_be_declared_by_a_service_the_decision_refuses() {
    let c = config(&[("ga", "analytics"), ("yt", "third_party")]);
    let refuse_ga = decide(
        &c,
        Method::Custom,
        &[("analytics", false), ("third_party", true)],
        &[],
    )
    .expect("valid");
    let check = |names: &[&str]| {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        refuse_ga.check_undeleted(&names, &c).map_err(|e| e.field)
    };
    // The test services declare `_<id>*`.
    assert_eq!(check(&["_ga", "_ga_42"]), Ok(()));
    assert_eq!(check(&[]), Ok(()));
    assert_eq!(
        check(&["_yt"]),
        Err("undeleted_cookies".into()),
        "yt is allowed"
    );
    assert_eq!(
        check(&["_fbp"]),
        Err("undeleted_cookies".into()),
        "nobody declares it"
    );
}

/// A recipe-2 revision as the server stored it before services had storage keys and Consent Mode
/// types, cookies their visibility flags, the banner its manage button and the words of the panel.
const STORED_BEFORE_ISSUE_7: &str = include_str!("fixtures/published-v2.json");

/// A revision as the server stored it, read: made by `recipe`, it still matches what was kept
/// with it, and written again it is the same bytes (no new field appears at its default).
fn stored(text: &str, recipe: Recipe) -> PublishedConfig {
    let published: PublishedConfig = serde_json::from_str(text).expect("the stored form reads");
    assert_eq!(published.recipe, recipe);
    assert!(published.revision_matches());
    assert_eq!(serde_json::to_string(&published).expect("JSON"), text);
    published
}

#[test]
fn a_recipe_2_revision_stored_before_the_new_fields_keeps_its_hash_and_its_bytes() {
    let published = stored(STORED_BEFORE_ISSUE_7, Recipe::V2);
    assert_eq!(
        published.revision.as_str(),
        "97729cdb11d797d4a5203cb45d325b6f"
    );
    // Its configuration published today is the same revision content plus today's words.
    assert_ne!(Revision::of(&published.config), published.revision);
    let kept = published.words.as_ref().expect("recipe 2 keeps words");
    assert_eq!(kept.fr.days, None, "the words of the panel came later");
    assert_eq!(published.words(Lang::Fr).days.as_deref(), Some("jours"));
    assert_eq!(published.words(Lang::Fr).day.as_deref(), Some("jour"));
}

/// A recipe-3 revision as the server stores it: the demo, whose cookies give their purpose per
/// language, with every word of the banner, the singular of a lifetime's among them.
const STORED_RECIPE_3: &str = include_str!("fixtures/published-v3.json");

#[test]
fn a_recipe_3_revision_keeps_its_hash_its_bytes_and_its_purposes_per_language() {
    let published = stored(STORED_RECIPE_3, Recipe::V3);
    // The leaf vector's content hash was computed from the file's text by the specification
    // (vectors/leaf/make_vectors.py), not by this code.
    let vector: serde_json::Value =
        serde_json::from_str(include_str!("vectors/leaf/revision-recipe-3.json")).expect("vector");
    let content_hash = published.content_hash().expect("recipe 3 keeps its words");
    assert_eq!(
        vector["fields"]["content_hash"],
        content_hash
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let ga = published.config.service("google_analytics").expect("GA");
    assert_eq!(
        (
            ga.cookies[0].purpose.get(Lang::Fr),
            ga.cookies[0].purpose.get(Lang::En)
        ),
        ("Distinguer les visiteurs", "Tell visitors apart")
    );
    let english = biscotte_shared::projection::encode_published(&published, Lang::En);
    assert!(
        english.contains("\u{1f}_ga\u{1f}395\u{a0}days\u{1f}Tell visitors apart\u{1f}"),
        "{english:?}"
    );
}

#[test]
fn the_new_service_fields_are_validated_and_absent_from_the_json_at_their_defaults() {
    let valid = config(&[("ga", "analytics")]);
    let json = serde_json::to_string(&valid).expect("JSON");
    for absent in [
        "\"storage\":",
        "\"consent_mode\":",
        "\"http_only\":",
        "\"third_party\":",
        "\"banner\":",
    ] {
        assert!(!json.contains(absent), "{absent} in {json}");
    }
    let refused = |edit: &dyn Fn(&mut SiteConfigInput)| {
        let mut i = input(&[("ga", "analytics"), ("lb", "necessary")]);
        edit(&mut i);
        SiteConfig::parse(i)
            .err()
            .map(|e| e.0.into_iter().map(|e| e.field).collect::<Vec<_>>())
    };
    assert_eq!(refused(&|_| {}), None);
    assert_eq!(
        refused(&|i| i.services[0].storage = vec!["ok_*".into(), "a key".into(), "".into()]),
        Some(vec![
            "services[0].storage[1]".into(),
            "services[0].storage[2]".into()
        ])
    );
    assert_eq!(
        refused(&|i| {
            i.services[0].consent_mode = vec![
                "analytics_storage".into(),
                "security_storage".into(),
                "analytics_storage".into(),
            ]
        }),
        Some(vec![
            "services[0].consent_mode[1]".into(),
            "services[0].consent_mode[2]".into()
        ])
    );
    assert_eq!(
        refused(&|i| i.services[1].consent_mode = vec!["ad_storage".into()]),
        Some(vec!["services[1].consent_mode".into()]),
        "a necessary service would grant it without consent"
    );

    let mut i = input(&[("ga", "analytics")]);
    i.services[0].cookies[0].third_party = true;
    i.banner.manage_button = ManageButton::Off;
    let c = SiteConfig::parse(i).expect("valid");
    let json = serde_json::to_value(&c).expect("JSON");
    assert_eq!(json["banner"]["manage_button"], "off");
    assert_eq!(json["services"][0]["cookies"][0]["third_party"], true);
    assert!(c.services[0].cookies[0].is_hidden());
    assert_ne!(
        Revision::of(&c),
        Revision::of(&config(&[("ga", "analytics")]))
    );
}
