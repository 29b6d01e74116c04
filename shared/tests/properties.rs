//! Properties over large input spaces: the consent cookie codec and decision validation.

use biscotte_shared::config::SiteConfigInput;
use biscotte_shared::{
    Choices, CookieDecl, Decision, Method, Revision, SavedConsent, Service, SiteConfig, Timestamp,
};
use proptest::prelude::*;
use std::collections::BTreeMap;

fn id() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,12}"
}

fn saved() -> impl Strategy<Value = SavedConsent> {
    (
        "[0-9a-f]{32}",
        "[0-9a-f]{32}",
        "[A-Za-z0-9._-]{1,32}",
        0i64..4_000_000_000,
        proptest::collection::btree_map(id(), any::<bool>(), 0..6),
        proptest::collection::btree_map(id(), any::<bool>(), 0..8),
    )
        .prop_map(
            |(consent_id, rev, policy_version, secs, categories, services)| SavedConsent {
                consent_id,
                revision: Revision::parse(&rev).expect("32 hex digits"),
                policy_version,
                decided_at: Timestamp::from_secs(secs),
                choices: Choices {
                    categories: categories.into(),
                    services: services.into(),
                },
            },
        )
}

fn demo_config() -> SiteConfig {
    let service = |id: &str, category: &str| Service {
        id: id.into(),
        name: id.into(),
        provider: "P".into(),
        category: category.into(),
        privacy_policy_url: "https://p.example/privacy".into(),
        storage: vec![],
        consent_mode: vec![],
        cookies: vec![CookieDecl {
            name: "_x".into(),
            domain: None,
            lifetime_days: 1,
            purpose: "p".into(),
            http_only: false,
            third_party: false,
        }],
    };
    SiteConfig::parse(SiteConfigInput {
        publisher: "P".into(),
        policy_version: "1".into(),
        policy_url: "/p".into(),
        categories: vec![],
        services: vec![
            service("ga", "analytics"),
            service("yt", "third_party"),
            service("lb", "necessary"),
        ],
        texts: Default::default(),
        banner: Default::default(),
    })
    .expect("valid")
}

proptest! {
    #[test]
    fn every_saved_choice_round_trips_through_the_cookie(s in saved()) {
        prop_assert_eq!(SavedConsent::decode(&s.encode()), Ok(s));
    }

    #[test]
    fn decoding_any_text_never_panics_and_only_yields_well_formed_choices(text in "\\PC{0,200}") {
        if let Ok(s) = SavedConsent::decode(&text) {
            // Whatever decodes is exactly what encodes back: no lenient reading of a garbled value.
            prop_assert_eq!(s.encode(), text);
        }
    }

    #[test]
    fn a_cookie_with_one_character_changed_never_reads_as_a_different_consent(s in saved(), at in any::<prop::sample::Index>(), c in prop::char::range('!', '~')) {
        let encoded = s.encode();
        let i = at.index(encoded.len());
        let mut bytes = encoded.into_bytes();
        bytes[i] = c as u8;
        let mutated = String::from_utf8(bytes).expect("ascii");
        if let Ok(other) = SavedConsent::decode(&mutated) {
            prop_assert_eq!(other.encode(), mutated, "a decoded cookie is canonical");
        }
    }

    #[test]
    fn a_valid_decision_answers_every_asked_item_and_nothing_else(
        cats in proptest::collection::btree_map(prop::sample::select(vec!["necessary", "analytics", "third_party", "advertising", "other"]), any::<bool>(), 0..5),
        svcs in proptest::collection::btree_map(prop::sample::select(vec!["ga", "yt", "lb", "zz"]), any::<bool>(), 0..4),
        method in prop::sample::select(vec![Method::AcceptAll, Method::RejectAll, Method::Custom, Method::Close, Method::Gpc, Method::Embed]),
    ) {
        let config = demo_config();
        let to_map = |m: BTreeMap<&str, bool>| m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let choices = Choices { categories: to_map(cats), services: to_map(svcs) };
        if let Ok(d) = Decision::parse("0123456789abcdef0123456789abcdef", method, &choices, &config) {
            let asked: Vec<&str> = config.consent_categories().map(|c| c.id.as_str()).collect();
            prop_assert_eq!(d.choices.categories.keys().map(String::as_str).collect::<Vec<_>>(), asked);
            prop_assert_eq!(d.choices.services.keys().map(String::as_str).collect::<Vec<_>>(), vec!["ga", "yt"]);
            match method {
                Method::AcceptAll => prop_assert!(d.choices.all(true)),
                Method::RejectAll | Method::Close | Method::Gpc => prop_assert!(d.choices.all(false)),
                Method::Embed => prop_assert!(d.choices.services.values().any(|v| *v)),
                Method::Custom => {}
            }
        }
    }
}
