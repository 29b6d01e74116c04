//! The service catalogue: what it holds, and site files that start their services from it.

use crate::harness::{TestApp, demo_site_file};
use biscotte_server::auth::Role;
use biscotte_server::sitefile::SiteFile;
use biscotte_shared::banner_config::BannerConfig;
use biscotte_shared::catalogue::{Catalogue, ServiceEntry};
use biscotte_shared::config::{BUILTIN_CATEGORIES, CONSENT_MODE_TYPES, CookieDecl, Lang};
use serde_json::Value;

/// The services issue 7 asks the catalogue for, at least.
const REQUIRED: [&str; 20] = [
    "google_analytics",
    "google_tag_manager",
    "google_ads",
    "matomo",
    "hotjar",
    "zendesk_chat",
    "crisp",
    "intercom",
    "recaptcha",
    "youtube",
    "vimeo",
    "openstreetmap",
    "google_maps",
    "meta_pixel",
    "linkedin_insight",
    "brevo",
    "mailchimp",
    "stripe",
    "wpml",
    "microsoft_clarity",
];

#[test]
fn r32_every_catalogue_entry_is_a_valid_service_with_its_cookies_or_the_reason_it_has_none() {
    let catalogue = Catalogue::built_in().expect("the catalogue reads");
    let ids: Vec<&str> = catalogue.ids().collect();
    for id in REQUIRED {
        assert!(ids.contains(&id), "{id} is missing from the catalogue");
    }
    for s in &catalogue.services {
        assert!(
            BUILTIN_CATEGORIES.contains(&s.category.as_str()),
            "{}: category {}",
            s.id,
            s.category
        );
        assert!(
            s.privacy_policy_url.starts_with("https://"),
            "{}: {}",
            s.id,
            s.privacy_policy_url
        );
        let declares = !s.cookies.is_empty() || !s.storage.is_empty();
        assert_ne!(
            declares,
            catalogue.without_cookies.contains_key(&s.id),
            "{}: declares cookies or storage keys, or says why it has none, not both",
            s.id
        );
        for kind in &s.consent_mode {
            assert!(
                CONSENT_MODE_TYPES.contains(&kind.as_str()),
                "{}: {kind}",
                s.id
            );
        }
    }
    // The reasons name services of the catalogue, not stale ids.
    for id in catalogue.without_cookies.keys() {
        assert!(catalogue.get(id).is_some(), "{id}");
    }
    // Google's tags read Consent Mode: GA4 measures, Ads needs the three advertising types.
    assert_eq!(
        catalogue.get("google_analytics").expect("GA4").consent_mode,
        ["analytics_storage"]
    );
    assert_eq!(
        catalogue.get("google_ads").expect("Ads").consent_mode,
        ["ad_storage", "ad_user_data", "ad_personalization"]
    );
    assert_eq!(catalogue.get("wpml").expect("WPML").category, "necessary");
    let youtube = catalogue.get("youtube").expect("YouTube");
    let visitor = youtube
        .cookies
        .iter()
        .find(|c| c.name == "VISITOR_INFO1_LIVE")
        .expect("VISITOR_INFO1_LIVE");
    assert!(visitor.third_party && visitor.is_hidden());

    // Every entry publishes as it stands: one site file using them all is valid.
    let mut file = demo_site_file();
    file.consent.services = catalogue
        .ids()
        .map(|id| ServiceEntry {
            preset: Some(id.to_owned()),
            ..Default::default()
        })
        .collect();
    let site = file.validate().expect("every catalogue entry publishes");
    assert_eq!(site.config.services, catalogue.services);
}

/// The demo site with GA4 from the catalogue (its name overridden), Hotjar from the catalogue with
/// its own cookie list, and a service of its own.
fn site_using_the_catalogue() -> SiteFile {
    let mut file = demo_site_file();
    let own = file.consent.services[1].clone();
    file.consent.services = vec![
        ServiceEntry {
            preset: Some("google_analytics".into()),
            name: Some("Mesure d'audience Google".into()),
            ..Default::default()
        },
        ServiceEntry {
            preset: Some("youtube".into()),
            ..Default::default()
        },
        ServiceEntry {
            id: Some("own_chat".into()),
            name: Some("Notre discussion".into()),
            category: Some("third_party".into()),
            cookies: Some(vec![CookieDecl {
                name: "chat_id".into(),
                domain: None,
                lifetime_days: 30,
                purpose: "Retrouver la conversation".into(),
                http_only: false,
                third_party: false,
            }]),
            storage: Some(vec!["chat_*".into()]),
            ..own
        },
    ];
    file
}

async fn publish(app: &TestApp, file: &SiteFile) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/sites/demo/revisions"))
        .bearer_auth(app.token(Role::Owner, Some("demo")))
        .json(file)
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn r32_a_site_file_using_the_catalogue_publishes_the_resolved_services_with_the_warning_for_ga4()
 {
    let app = TestApp::start().await;
    let r = publish(&app, &site_using_the_catalogue()).await;
    assert_eq!(r.status(), 201);
    let answer: Value = r.json().await.expect("JSON");
    // GA4's documented `_ga` lifetime is 2 years: over the 13-month limit, flagged, not refused.
    let warnings: Vec<&str> = answer["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        warnings.iter().any(|w| w.contains("\"google_analytics\"")
            && w.contains("\"_ga\"")
            && w.contains("730 days")),
        "{warnings:?}"
    );

    // The published configuration is the catalogue's entries resolved, overrides applied.
    let published = app.published("demo").await;
    assert!(published.revision_matches());
    let ga = published.config.service("google_analytics").expect("GA4");
    assert_eq!(ga.name, "Mesure d'audience Google");
    assert_eq!(ga.provider, "Google Ireland Limited");
    assert_eq!(ga.consent_mode, ["analytics_storage"]);
    assert_eq!(ga.cookies[0].lifetime_days, 730);
    let youtube = published.config.service("youtube").expect("YouTube");
    assert!(youtube.cookies.iter().all(|c| c.third_party));
    let own = published.config.service("own_chat").expect("own service");
    assert_eq!(
        (own.provider.get(Lang::Fr), own.storage.as_slice()),
        ("Hotjar Ltd", &["chat_*".to_owned()][..])
    );

    // The banner's projection shows them, cookie by cookie.
    let projection = |lang: &'static str| {
        let request = app
            .client
            .get(app.url(&format!("/api/v1/sites/demo/banner?lang={lang}")));
        async move {
            let r = request.send().await.expect("request");
            r.text().await.expect("text")
        }
    };
    let text = projection("fr").await;
    let banner = BannerConfig::decode(&text).expect("a projection");
    assert_eq!(banner.revision, published.revision);
    let ids: Vec<&str> = banner.services.iter().map(|s| s.id).collect();
    assert_eq!(ids, ["google_analytics", "youtube", "own_chat"]);
    let ga = &banner.services[0];
    assert_eq!(
        (ga.name, ga.consent_mode),
        ("Mesure d'audience Google", "analytics_storage")
    );
    let first = ga.cookies().next().expect("a cookie");
    assert_eq!(
        (first.name, first.lifetime, first.hidden),
        ("_ga", "730\u{a0}jours", false)
    );
    assert!(banner.services[1].cookies().all(|c| c.hidden));
    let own = &banner.services[2];
    assert_eq!(own.storage, "chat_*");
    assert_eq!(
        own.cookies().map(|c| c.name).collect::<Vec<_>>(),
        ["chat_id"]
    );
    assert_eq!(first.purpose, "Distinguer les visiteurs");

    // The catalogue's purposes are in French and English: an English visitor reads English.
    let text = projection("en").await;
    let banner = BannerConfig::decode(&text).expect("a projection");
    let first = banner.services[0].cookies().next().expect("a cookie");
    assert_eq!(
        (first.name, first.lifetime, first.purpose),
        ("_ga", "730\u{a0}days", "Tell visitors apart")
    );
    let youtube: Vec<&str> = banner.services[1].cookies().map(|c| c.purpose).collect();
    assert!(
        youtube.contains(&"Count the views of embedded videos (youtube.com domain)"),
        "{youtube:?}"
    );
}

#[tokio::test]
async fn an_unknown_catalogue_id_is_refused_with_the_close_ids_and_nothing_published_changes() {
    let app = TestApp::start().await;
    let before = app.published("demo").await;
    let mut file = site_using_the_catalogue();
    file.consent.services[0].preset = Some("google_analytic".into());
    let r = publish(&app, &file).await;
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.expect("envelope");
    assert_eq!(e["error"]["field"], "consent.services[0].use");
    let message = e["error"]["message"].as_str().expect("message");
    assert!(
        message.contains("did you mean \"google_analytics\""),
        "{message}"
    );
    assert!(message.contains("biscotte catalogue"), "{message}");
    assert_eq!(app.published("demo").await, before);

    // An own service missing a field says which, and how to fix it.
    let mut file = demo_site_file();
    file.consent.services[0].provider = None;
    let r = publish(&app, &file).await;
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.expect("envelope");
    assert_eq!(e["error"]["field"], "consent.services[0].provider");
    assert!(
        e["error"]["message"]
            .as_str()
            .expect("message")
            .contains("use =")
    );
    assert_eq!(app.published("demo").await, before);
}

#[test]
fn the_catalogue_command_lists_the_ids() {
    biscotte_server::cli::run_args(["biscotte", "catalogue"]).expect("lists the catalogue");
}
