//! The leaf encoding v1 (src/leaf.rs) held to test vectors written by an independent encoder
//! (`tests/vectors/leaf/make_vectors.py`, from the module doc, not from our code): each
//! vector's fields encode to exactly its bytes, its bytes decode to exactly its fields, and hash
//! to its leaf hash; every non-canonical variant in `refused.json` is refused with the error the
//! specification implies.

use biscotte_shared::leaf::{
    DecisionLeaf, Leaf, LeafError, LegacyLeaf, LegacyRecord, RevisionLeaf,
};
use biscotte_shared::merkle::leaf_hash;
use biscotte_shared::{Lang, Method, Recipe, Revision, Timestamp};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/leaf")
}

fn read(name: &str) -> String {
    let path = vectors().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "{s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Vector {
    description: String,
    kind: String,
    fields: serde_json::Value,
    leaf: String,
    leaf_hash: String,
}

/// A decision's fields as the vector files write them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionFields {
    record_id: u64,
    site: String,
    consent_id: String,
    server_time: i64,
    revision: String,
    policy_version: String,
    method: Method,
    categories: BTreeMap<String, bool>,
    services: BTreeMap<String, bool>,
    language: Lang,
    url: Option<String>,
    undeleted_cookies: Vec<String>,
    decision_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevisionLeafFields {
    site: String,
    revision: String,
    recipe: u8,
    server_time: i64,
    published_at: i64,
    content_hash: String,
}

fn revision(s: &str) -> Revision {
    Revision::parse(s).unwrap_or_else(|| panic!("{s:?} is a revision"))
}

/// The leaf a vector's fields describe, built without our encoder.
fn leaf_of(v: &Vector) -> Leaf {
    match v.kind.as_str() {
        "decision" => {
            let f: DecisionFields = serde_json::from_value(v.fields.clone()).expect("fields");
            Leaf::Decision(DecisionLeaf {
                record_id: f.record_id,
                site: f.site,
                consent_id: f.consent_id,
                server_time: Timestamp::from_millis(f.server_time),
                revision: revision(&f.revision),
                policy_version: f.policy_version,
                method: f.method,
                categories: f.categories,
                services: f.services,
                language: f.language,
                url: f.url,
                undeleted_cookies: f.undeleted_cookies,
                decision_id: f.decision_id,
            })
        }
        "revision" => {
            let f: RevisionLeafFields = serde_json::from_value(v.fields.clone()).expect("fields");
            Leaf::Revision(RevisionLeaf {
                site: f.site,
                revision: revision(&f.revision),
                recipe: Recipe::try_from(f.recipe).expect("a known recipe"),
                server_time: Timestamp::from_millis(f.server_time),
                published_at: Timestamp::from_millis(f.published_at),
                content_hash: unhex(&f.content_hash).try_into().expect("32 bytes"),
            })
        }
        "legacy" => {
            let record: LegacyRecord =
                serde_json::from_value(v.fields.clone()).expect("a stored record");
            Leaf::Legacy(LegacyLeaf::from_stored(record).expect("the record matches its hash"))
        }
        other => panic!("unknown kind {other}"),
    }
}

const VECTORS: &[&str] = &[
    "decision-every-field",
    "decision-no-url-no-cookies-no-id",
    "decision-gpc",
    "decision-embed",
    "decision-edge-values",
    "revision-recipe-1",
    "revision-recipe-2",
    "revision-recipe-3",
    "legacy-record-2",
];

/// Checks one vector both ways and its hash.
fn check(name: &str) {
    let v: Vector = serde_json::from_str(&read(&format!("{name}.json"))).expect("vector JSON");
    let bytes = unhex(&v.leaf);
    let leaf = leaf_of(&v);
    let encoded = leaf.encode().unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        hex(&encoded),
        v.leaf,
        "{name} ({}): our encoder disagrees with the specification's bytes",
        v.description
    );
    assert_eq!(
        Leaf::decode(&bytes),
        Ok(leaf),
        "{name}: the bytes decode to the vector's fields"
    );
    assert_eq!(hex(&leaf_hash(&bytes)), v.leaf_hash, "{name}: leaf hash");
}

#[test]
fn every_vector_encodes_to_its_bytes_decodes_to_its_fields_and_hashes_to_its_leaf_hash() {
    for name in VECTORS {
        check(name);
    }
}

#[test]
fn every_vector_file_in_the_directory_is_checked() {
    let mut files: Vec<String> = std::fs::read_dir(vectors())
        .expect("vectors")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".json").map(str::to_owned))
        .filter(|n| n != "refused")
        .collect();
    files.sort();
    let mut listed: Vec<String> = VECTORS.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(
        files, listed,
        "a vector file nobody checks, or a listed one missing"
    );
}

#[test]
fn a_legacy_leaf_is_the_record_json_its_hash_covered_behind_version_and_kind() {
    let v: Vector = serde_json::from_str(&read("legacy-record-2.json")).expect("vector JSON");
    let bytes = unhex(&v.leaf);
    assert_eq!(bytes[..2], [1, 0]);
    let stored = v.fields["hash"].as_str().expect("the record's hash");
    let Ok(Leaf::Legacy(leaf)) = Leaf::decode(&bytes) else {
        panic!("a legacy leaf");
    };
    assert_eq!(
        leaf.record.hash, stored,
        "decoding gives the record its hash back"
    );
    assert_eq!(leaf.record.computed_hash(), stored);
    assert_eq!(leaf.json, bytes[2..]);
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Refused {
    description: String,
    cases: Vec<RefusedCase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefusedCase {
    name: String,
    error: String,
    why: String,
    leaf: String,
}

fn error_name(e: &LeafError) -> &'static str {
    match e {
        LeafError::Truncated => "truncated",
        LeafError::TrailingBytes => "trailing_bytes",
        LeafError::UnknownVersion(_) => "unknown_version",
        LeafError::UnknownKind(_) => "unknown_kind",
        LeafError::NotCanonical(_) => "not_canonical",
        LeafError::TooLong(_) => "too_long",
        LeafError::LegacyHash { .. } => "legacy_hash",
    }
}

#[test]
fn non_canonical_bytes_are_refused_with_the_error_the_specification_implies() {
    let refused: Refused = serde_json::from_str(&read("refused.json")).expect("refused.json");
    assert!(!refused.description.is_empty());
    assert!(refused.cases.len() >= 25, "the file lists the cases");
    let mut wrong = Vec::new();
    for case in &refused.cases {
        match Leaf::decode(&unhex(&case.leaf)) {
            Ok(leaf) => wrong.push(format!(
                "{} ({}): accepted as {leaf:?}",
                case.name, case.why
            )),
            Err(e) if error_name(&e) != case.error => wrong.push(format!(
                "{} ({}): refused as {e:?}, the specification says {}",
                case.name, case.why, case.error
            )),
            Err(e) => assert!(!e.to_string().is_empty(), "{}: a message", case.name),
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn a_refused_variant_differs_from_a_vector_only_where_it_says() {
    // The variants are built by the independent encoder from the vectors' fields: one field's
    // bytes replaced. The trailing-byte variant of the first vector is that vector plus one byte.
    let v: Vector = serde_json::from_str(&read("decision-every-field.json")).expect("vector");
    let refused: Refused = serde_json::from_str(&read("refused.json")).expect("refused.json");
    let trailing = refused
        .cases
        .iter()
        .find(|c| c.name == "trailing-byte")
        .expect("the trailing-byte case");
    assert_eq!(trailing.leaf, format!("{}00", v.leaf));
    let cut = refused
        .cases
        .iter()
        .find(|c| c.name == "last-byte-missing")
        .expect("the cut case");
    assert_eq!(cut.leaf, v.leaf[..v.leaf.len() - 2]);
}
