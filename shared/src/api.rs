//! Request and response bodies of the HTTP API: this is protocol, shared by the server, the
//! banner and the tests. Changing a field here changes what clients see.

use crate::config::{Lang, SiteConfig, is_valid_id};
use crate::decision::{
    CONSENT_ID_FORMAT, MAX_CATEGORIES, MAX_SERVICES, Method, is_valid_consent_id,
};
use crate::error::FieldError;
#[allow(unused_imports)]
use crate::prelude::*;
use crate::revision::{Recipe, Revision};
use crate::time::Timestamp;
use crate::words::{BannerWords, Words, words};
use alloc::collections::BTreeMap;
use core::fmt;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

/// `GET /api/v1/sites/{site}/config`: the published configuration and its revision. Also how the
/// server stores a published revision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedConfig {
    pub site: String,
    pub revision: Revision,
    /// How `revision` was computed. Revisions stored before recipes had a number were all made
    /// by recipe 1.
    #[serde(default = "recipe_1")]
    pub recipe: Recipe,
    pub published_at: Timestamp,
    pub config: SiteConfig,
    /// The banner's own words as they were when this revision was published, which the banner
    /// shows with it and recipes 2 and 3 hash; absent from revisions of recipe 1, which did not keep
    /// them (the banner then shows the release's words).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub words: Option<BannerWords>,
}

fn recipe_1() -> Recipe {
    Recipe::V1
}

impl PublishedConfig {
    /// Publishes `config` as `site`, with this release's words, under the recipe of new
    /// publications.
    pub fn new(site: &str, config: SiteConfig, published_at: Timestamp) -> PublishedConfig {
        let words = BannerWords::built_in();
        PublishedConfig {
            site: site.to_owned(),
            revision: Recipe::CURRENT.revision_of(&config, &words),
            recipe: Recipe::CURRENT,
            published_at,
            config,
            words: Some(words),
        }
    }

    /// The banner's words for this revision: the ones kept with it, or this release's for a
    /// revision that kept none, and for the words added after it was published.
    pub fn words(&self, lang: Lang) -> Words {
        match &self.words {
            Some(kept) => kept.get(lang).clone().completed(lang),
            None => words(lang),
        }
    }

    /// The full SHA-256 of what the revision's recipe covers (the configuration and the words
    /// kept with it), as a revision leaf of the log records it; `None` for a revision of recipe 2 or
    /// 3 stored without its words, which cannot match anything.
    pub fn content_hash(&self) -> Option<[u8; 32]> {
        match (self.recipe, &self.words) {
            (Recipe::V1, _) => {
                Some(Recipe::V1.content_hash(&self.config, &BannerWords::built_in()))
            }
            (recipe, Some(words)) => Some(recipe.content_hash(&self.config, words)),
            (_, None) => None,
        }
    }

    /// Whether the revision is what its recipe computes from what was kept with it: the check
    /// an auditor makes, and `biscotte verify`.
    pub fn revision_matches(&self) -> bool {
        match (self.recipe, &self.words) {
            (Recipe::V1, _) => {
                Recipe::V1.revision_of(&self.config, &BannerWords::built_in()) == self.revision
            }
            (recipe, Some(words)) => recipe.revision_of(&self.config, words) == self.revision,
            (_, None) => false,
        }
    }
}

/// The largest decision body the server reads, in bytes. The largest configuration a site may
/// publish ([`MAX_CATEGORIES`], [`MAX_SERVICES`]) gives decisions well under it, with room for a
/// long page URL and the most undeleted cookies ([`MAX_UNDELETED_COOKIES`] of
/// [`MAX_COOKIE_NAME`] bytes: 8 KiB, which took the limit from 16 to 32 KiB).
pub const DECISION_BODY_LIMIT: usize = 32 * 1024;

/// `POST /api/v1/sites/{site}/consents`: what the banner sends after a decision.
///
/// Reading one checks every bound before anything else happens: the id formats, the language,
/// and the size, keys and uniqueness of both maps, each failure naming its field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ConsentRequestWire")]
pub struct ConsentRequest {
    pub consent_id: String,
    /// The revision the visitor was shown.
    pub revision: String,
    pub method: Method,
    pub categories: BTreeMap<String, bool>,
    #[serde(default)]
    pub services: BTreeMap<String, bool>,
    pub language: Lang,
    /// The page the decision was made on.
    #[serde(default)]
    pub url: Option<String>,
    /// Declared cookies of refused services that the banner still saw after trying to delete
    /// them (set on a domain or path the page cannot write): sorted, each once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub undeleted_cookies: Vec<String>,
    /// 128 random bits the banner draws once per decision (32 lowercase hex digits) and sends
    /// with every try: the server answers a repeat with the first record's receipt and logs
    /// nothing new. Optional: engines and outboxes from before it existed send none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_id: Option<String>,
}

/// What a decision id looks like, and where it comes from.
pub const DECISION_ID_FORMAT: &str = "must be 32 lowercase hex digits (128 random bits the banner \
     draws once per decision and sends with every retry), or be left out";

/// The most cookie names a decision may report as undeleted.
pub const MAX_UNDELETED_COOKIES: usize = 64;
/// The longest cookie name a decision may report, in bytes.
pub const MAX_COOKIE_NAME: usize = 128;

/// Whether `name` can be a cookie's name as `document.cookie` shows it: 1 to
/// [`MAX_COOKIE_NAME`] bytes, no whitespace or control character, none of `;`, `,` and `=`.
pub fn is_valid_cookie_name(name: &str) -> bool {
    (1..=MAX_COOKIE_NAME).contains(&name.len())
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, ';' | ',' | '='))
}

/// [`ConsentRequest`] as it arrives, before its bounds are checked. The maps keep every entry in
/// order, duplicates included, so that a key sent twice can be refused rather than silently
/// resolved.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsentRequestWire {
    consent_id: String,
    revision: String,
    method: Method,
    #[serde(deserialize_with = "entries")]
    categories: Vec<(String, bool)>,
    #[serde(default, deserialize_with = "entries")]
    services: Vec<(String, bool)>,
    language: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    undeleted_cookies: Vec<String>,
    #[serde(default)]
    decision_id: Option<String>,
}

/// A refused [`ConsentRequest`]. It reaches the server through serde's error text, so it is
/// written the way serde names fields (``field `x`: …``), which the server reads back.
#[derive(Debug)]
pub struct RequestError(pub FieldError);

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "field `{}`: {}", self.0.field, self.0.message)
    }
}

impl TryFrom<ConsentRequestWire> for ConsentRequest {
    type Error = RequestError;

    fn try_from(wire: ConsentRequestWire) -> Result<Self, RequestError> {
        let refuse = |field: &str, message: String| RequestError(FieldError::new(field, message));
        if !is_valid_consent_id(&wire.consent_id) {
            return Err(refuse("consent_id", CONSENT_ID_FORMAT.to_owned()));
        }
        if Revision::parse(&wire.revision).is_none() {
            return Err(refuse(
                "revision",
                "must be 32 lowercase hex digits, the revision of the configuration the banner was \
                 shown: reload the page to get the current one"
                    .to_owned(),
            ));
        }
        let language = match wire.language.as_str() {
            "fr" => Lang::Fr,
            "en" => Lang::En,
            _ => {
                return Err(refuse(
                    "language",
                    "must be \"fr\" or \"en\", the language the banner spoke".to_owned(),
                ));
            }
        };
        let categories = answers(wire.categories, MAX_CATEGORIES, "category")
            .map_err(|m| refuse("categories", m))?;
        let services =
            answers(wire.services, MAX_SERVICES, "service").map_err(|m| refuse("services", m))?;
        let undeleted_cookies =
            cookie_names(wire.undeleted_cookies).map_err(|m| refuse("undeleted_cookies", m))?;
        if wire
            .decision_id
            .as_deref()
            .is_some_and(|id| !is_valid_consent_id(id))
        {
            return Err(refuse("decision_id", DECISION_ID_FORMAT.to_owned()));
        }
        Ok(ConsentRequest {
            consent_id: wire.consent_id,
            revision: wire.revision,
            method: wire.method,
            categories,
            services,
            language,
            url: wire.url,
            undeleted_cookies,
            decision_id: wire.decision_id,
        })
    }
}

/// One map of answers, bounded as a site's configuration bounds its ids: what a valid site could
/// never have asked is refused here, before any site is looked up.
fn answers(
    entries: Vec<(String, bool)>,
    max: usize,
    what: &str,
) -> Result<BTreeMap<String, bool>, String> {
    if entries.len() > max {
        return Err(format!(
            "has {} entries, but a site has at most {max} {what} ids: send one answer per {what} of the site",
            entries.len()
        ));
    }
    let mut map = BTreeMap::new();
    for (id, accepted) in entries {
        if !is_valid_id(&id) {
            return Err(format!(
                "a key of {} characters is not a {what} id (1 to 40 lowercase letters, digits or '_'): \
                 use the ids of the published configuration",
                id.chars().count()
            ));
        }
        if map.insert(id, accepted).is_some() {
            return Err(format!(
                "a {what} id appears twice, so the answer is ambiguous: send each id once"
            ));
        }
    }
    Ok(map)
}

/// The undeleted cookies' names, bounded, sorted and each once: a set, written one way.
fn cookie_names(mut names: Vec<String>) -> Result<Vec<String>, String> {
    if names.len() > MAX_UNDELETED_COOKIES {
        return Err(format!(
            "has {} names, but at most {MAX_UNDELETED_COOKIES} are kept: send the declared cookies of refused services that are still there",
            names.len()
        ));
    }
    if let Some(bad) = names.iter().find(|n| !is_valid_cookie_name(n)) {
        return Err(format!(
            "a name of {} bytes is not a cookie name (1 to {MAX_COOKIE_NAME} bytes, no space, control character, ';', ',' or '='): send the names document.cookie shows",
            bad.len()
        ));
    }
    names.sort_unstable();
    names.dedup();
    Ok(names)
}

/// Reads a JSON object into its entries, in order, keeping duplicates.
fn entries<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, bool)>, D::Error> {
    struct Entries;
    impl<'de> Visitor<'de> for Entries {
        type Value = Vec<(String, bool)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object of ids to true or false")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut entries = Vec::new();
            while let Some(entry) = map.next_entry()? {
                entries.push(entry);
            }
            Ok(entries)
        }
    }
    d.deserialize_map(Entries)
}

/// The answer to a recorded decision (and, the same, to a retry of it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentResponse {
    pub record_id: u64,
    pub server_time: Timestamp,
    /// A JWT (EdDSA) naming site, consent id, revision, choices, time, leaf index and leaf hash,
    /// signed with the key published at `/.well-known/jwks.json`.
    pub receipt: String,
    /// The record's position in its site's tree, from 0.
    pub leaf_index: u64,
    /// SHA-256(0x00 ‖ leaf bytes), in lowercase hex.
    pub leaf_hash: String,
    /// A C2SP tlog-proof: the leaf bytes (`extra`), the inclusion hashes and a signed checkpoint
    /// that covers the record: its batch's, or for a retry, the latest.
    pub proof: String,
}

/// A decision of a site's log, as the API and the exports show it: the fields of its leaf
/// (`crate::leaf`), where it sits in the site's tree, and its leaf hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRecord {
    /// Position of the record's leaf in its site's tree, from 0. Revision leaves (publications)
    /// sit between decisions, so it runs ahead of `record_id`.
    pub leaf_index: u64,
    /// Position among the site's decisions, from 1, without gaps.
    pub record_id: u64,
    pub site: String,
    pub consent_id: String,
    pub server_time: Timestamp,
    pub revision: Revision,
    pub policy_version: String,
    pub method: Method,
    pub categories: BTreeMap<String, bool>,
    pub services: BTreeMap<String, bool>,
    pub language: Lang,
    pub url: Option<String>,
    /// Declared cookies of refused services still there after the banner tried to delete them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub undeleted_cookies: Vec<String>,
    /// The id the banner drew for this decision (absent for banners that send none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_id: Option<String>,
    /// SHA-256(0x00 ‖ leaf bytes), in hex: the record's hash in the site's Merkle tree.
    pub leaf_hash: String,
    /// Records logged before the tree (a legacy leaf) keep the hash chain they were logged in:
    /// the hash of the record before (64 zeros for the first) …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev_hash: Option<String>,
    /// … and SHA-256 over this record's JSON with `hash` empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
}

/// The one error envelope of the API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// A stable machine-readable code (`invalid_decision`, `unknown_site`, …).
    pub code: String,
    pub message: String,
    /// The offending field, when one is to blame.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub field: Option<String>,
}
