//! The rules the loader's JavaScript keeps too, held to vectors written by hand
//! (`vectors/rules/`): which names a declared pattern covers, and what a choice allows. The loader
//! is held to the same files by `tests/browser/page.test.mjs`, so the two cannot drift apart.

use biscotte_shared::Choices;
use biscotte_shared::banner_config::BannerConfig;
use biscotte_shared::config::cookie_matches;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

fn read(path: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(path);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

#[derive(Deserialize)]
struct NameCase {
    pattern: String,
    name: String,
    matches: bool,
}

#[test]
fn a_declared_pattern_covers_the_names_the_vectors_say() {
    let cases: Vec<NameCase> =
        serde_json::from_value(read("rules/names.json")["cases"].clone()).expect("cases");
    assert!(cases.len() > 10);
    for c in cases {
        assert_eq!(
            cookie_matches(&c.pattern, &c.name),
            c.matches,
            "{:?} covers {:?}",
            c.pattern,
            c.name
        );
    }
}

#[derive(Deserialize)]
struct AllowsCase {
    description: String,
    choice: Option<Choices>,
    categories: BTreeMap<String, bool>,
    services: BTreeMap<String, bool>,
}

#[test]
fn a_choice_allows_what_the_vectors_say() {
    let vectors = read("rules/allows.json");
    let scope = vectors["projection"].as_str().expect("a projection vector");
    let projection = read(&format!("projection/{scope}.json"))["projection"]
        .as_str()
        .expect("its projection")
        .to_owned();
    let config = BannerConfig::decode(&projection).expect("it reads");
    let cases: Vec<AllowsCase> = serde_json::from_value(vectors["cases"].clone()).expect("cases");
    for c in cases {
        let choice = c.choice.unwrap_or_default();
        for (id, allowed) in &c.categories {
            assert_eq!(
                choice.allows_category(&config, id),
                *allowed,
                "{}: category {id}",
                c.description
            );
        }
        for (id, allowed) in &c.services {
            assert_eq!(
                choice.allows_service(&config, id),
                *allowed,
                "{}: service {id}",
                c.description
            );
        }
    }
}
