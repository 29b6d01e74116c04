//! The projection's test vectors (`vectors/projection/`, written from the format's specification
//! by `make_vectors.py`, not by this code): the encoder writes each vector's projection exactly,
//! and the engine's reader reads it into exactly what the vector says. The loader's reader is held
//! to the same files by `tests/browser/page.test.mjs`, so a field moved in either language fails.

use biscotte_shared::Lang;
use biscotte_shared::api::PublishedConfig;
use biscotte_shared::banner_config::{BannerConfig, Text};
use biscotte_shared::projection::{self, layout};
use serde::Deserialize;
use serde_json::{Value, json};
use std::path::PathBuf;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Vector {
    #[allow(dead_code)] // For its readers.
    description: String,
    published: PublishedConfig,
    lang: String,
    projection: String,
    reads: Value,
}

const VECTORS: &[&str] = &["demo-fr", "demo-en", "edges-fr", "edges-en"];

fn vector(name: &str) -> Vector {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors/projection")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A list field as the loader splits it.
fn list(field: &str) -> Vec<&str> {
    if field.is_empty() {
        Vec::new()
    } else {
        field.split(layout::LIST_SEPARATOR).collect()
    }
}

/// What the engine read, under the names the vectors use (the loader's).
fn as_read(read: &BannerConfig) -> Value {
    json!({
        "site": read.site,
        "policy_version": read.policy_version,
        "rev": read.revision.as_str(),
        "lang": read.lang,
        "policy": read.policy_url,
        "manage": read.manage_button,
        "t": Text::ALL.map(|t| read.text(t)),
        "cats": read.categories.iter().map(|c| json!({
            "id": c.id, "req": c.required, "title": c.title, "desc": c.description,
        })).collect::<Vec<_>>(),
        "svcs": read.services.iter().map(|s| json!({
            "id": s.id,
            "cat": s.category,
            "name": s.name,
            "provider": s.provider,
            "url": s.policy_url,
            "modes": list(s.consent_mode),
            "keys": list(s.storage),
            "cookies": s.cookies().map(|k| json!({
                "name": k.name, "lifetime": k.lifetime, "purpose": k.purpose, "hidden": k.hidden,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

#[test]
fn the_encoder_writes_each_vectors_projection_to_the_byte() {
    for name in VECTORS {
        let v = vector(name);
        let lang = Lang::from_tag(&v.lang).expect("fr or en");
        assert_eq!(
            projection::encode_published(&v.published, lang),
            v.projection,
            "{name}"
        );
    }
}

#[test]
fn the_engine_reads_each_vectors_projection_into_what_it_says() {
    for name in VECTORS {
        let v = vector(name);
        let read = BannerConfig::decode(&v.projection).unwrap_or_else(|| panic!("{name}: reads"));
        assert_eq!(as_read(&read), v.reads, "{name}");
    }
}
