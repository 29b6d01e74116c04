//! The leaves of a site's transparency log: canonical, versioned bytes for every entry, never a
//! serializer's output (except the legacy kind, which keeps the bytes an earlier release hashed).
//!
//! # Encoding v1
//!
//! A leaf is `version ‖ kind ‖ body`: one byte `0x01` (this encoding), one byte for the kind, then
//! the kind's fields in the order below, with nothing after the last one. Its hash in the site's
//! Merkle tree is SHA-256(`0x00` ‖ leaf) (RFC 9162 §2.1, see `crate::merkle`).
//!
//! Field types:
//! - `u8`: one byte. `bool`: one byte, `0x00` (false) or `0x01` (true), nothing else.
//! - `u64`: 8 bytes, big-endian. `time`: a signed 64-bit count of milliseconds since
//!   1970-01-01T00:00:00Z (UTC, leap seconds ignored), 8 bytes, big-endian two's complement.
//! - `id16`: 16 bytes, the value of 32 lowercase hex digits (a consent id, a revision, a decision
//!   id), written back as 32 lowercase hex digits when decoded.
//! - `hash32`: 32 bytes.
//! - `str`: a length (2 bytes, big-endian) then that many bytes of UTF-8.
//! - `opt<T>`: `0x00` (absent) or `0x01` followed by a `T`.
//! - `answers`: a count (2 bytes, big-endian) then that many `(str id, bool accepted)` pairs, in
//!   strictly increasing byte order of id (so each id once).
//! - `names`: a count (2 bytes, big-endian) then that many `str`, in strictly increasing byte
//!   order.
//!
//! Kind `0x01`, **decision** (one visitor's choice, as the server recorded it):
//! `u64 record_id` (the decision's number in its site's log, from 1, without gaps),
//! `str site`, `id16 consent_id`, `time server_time`, `id16 revision` (the revision the visitor
//! was shown), `str policy_version`, `str method` (`accept_all`, `reject_all`, `custom`, `close`,
//! `gpc` or `embed`), `answers categories`, `answers services`, `str language` (`fr` or `en`),
//! `opt<str> url`, `names undeleted_cookies`, `opt<id16> decision_id`.
//!
//! Kind `0x02`, **revision** (a publication: the moment a revision went live):
//! `str site`, `id16 revision`, `u8 recipe` (the revision recipe's number, see
//! `crate::revision`), `time server_time` (when it went live, on the log's clock),
//! `time published_at` (when this revision was first published; earlier than `server_time` when an
//! earlier revision is published again), `hash32 content_hash` (SHA-256 of the bytes the recipe
//! hashes: the configuration and the banner's words; the revision is its first 16 bytes).
//!
//! Kind `0x00`, **legacy record** (a decision logged before the tree, by releases up to a41f9c0):
//! the rest of the leaf is the record's JSON exactly as its `hash` covered it: serde_json's
//! compact output of the record with `"hash":""`, fields in the order `record_id`, `site`,
//! `consent_id`, `server_time`, `revision`, `policy_version`, `method`, `categories`, `services`,
//! `language`, `url`, `undeleted_cookies` (absent when empty), `prev_hash`, `hash`. The record's
//! own `hash` is SHA-256 of those bytes, and its `prev_hash` the `hash` of the record before
//! (64 zeros for the first), so the chain those releases kept can still be checked. In that
//! JSON: no whitespace; numbers (`record_id`, `server_time` in milliseconds) as integers;
//! `categories` and `services` as objects with keys in increasing byte order and `true`/`false`
//! values; `url` as `null` when absent; strings escape `"`, `\` and the control characters
//! (`\b`, `\f`, `\n`, `\r`, `\t`, else `\u00XX` in lowercase hex) and nothing else, UTF-8
//! as is. These bytes are kept as they were: a verifier hashes them, it never rebuilds them.
//!
//! [`Leaf::decode`] accepts only the canonical form: the bytes [`Leaf::encode`] writes for what it
//! read, and nothing else (a trailing byte, a bool or option tag of 2, an unsorted or repeated
//! list entry, a truncated field, an unknown version or kind, text that is not UTF-8 are all
//! refused).

use crate::api::ConsentRecord;
use crate::config::Lang;
use crate::decision::{Method, is_valid_consent_id};
#[allow(unused_imports)]
use crate::prelude::*;
use crate::revision::{Recipe, Revision, hex};
use crate::time::Timestamp;
use alloc::collections::BTreeMap;
use core::fmt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The first byte of every leaf this release writes.
pub const ENCODING_V1: u8 = 0x01;

/// What a leaf records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeafKind {
    Legacy = 0x00,
    Decision = 0x01,
    Revision = 0x02,
}

/// One entry of a site's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Leaf {
    Legacy(LegacyLeaf),
    Decision(DecisionLeaf),
    Revision(RevisionLeaf),
}

/// A decision as the log records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecisionLeaf {
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
    pub undeleted_cookies: Vec<String>,
    pub decision_id: Option<String>,
}

/// A publication as the log records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevisionLeaf {
    pub site: String,
    pub revision: Revision,
    pub recipe: Recipe,
    pub server_time: Timestamp,
    pub published_at: Timestamp,
    pub content_hash: [u8; 32],
}

/// A record of the hash chain kept before the tree, with the exact bytes its hash covered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegacyLeaf {
    /// The JSON the record's hash covered (with `"hash":""`).
    pub json: Vec<u8>,
    pub record: LegacyRecord,
}

/// A stored record of releases up to a41f9c0, in that release's field order (which is the hash
/// input's order: do not reorder).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegacyRecord {
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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub undeleted_cookies: Vec<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl LegacyRecord {
    /// The bytes this record's `hash` covers: its JSON with `hash` empty.
    pub fn hashed_json(&self) -> Vec<u8> {
        let mut unsigned = self.clone();
        unsigned.hash = String::new();
        serde_json::to_vec(&unsigned).unwrap_or_default()
    }

    /// SHA-256 of [`LegacyRecord::hashed_json`], in hex: what `hash` must be.
    pub fn computed_hash(&self) -> String {
        hex(&Sha256::digest(self.hashed_json()))
    }
}

impl LegacyLeaf {
    /// The leaf for a record as an earlier release stored it, when its hash matches its content
    /// (else the record was altered, and no leaf can stand for it).
    pub fn from_stored(record: LegacyRecord) -> Result<LegacyLeaf, LeafError> {
        let json = record.hashed_json();
        if hex(&Sha256::digest(&json)) != record.hash {
            return Err(LeafError::LegacyHash {
                record_id: record.record_id,
            });
        }
        Ok(LegacyLeaf { json, record })
    }
}

/// Why bytes are not a canonical leaf.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeafError {
    /// The leaf is shorter than its fields.
    Truncated,
    /// Bytes follow the last field.
    TrailingBytes,
    /// The first byte is not an encoding this release reads.
    UnknownVersion(u8),
    UnknownKind(u8),
    /// A field's value is not in its canonical form; the text names the field and the rule.
    NotCanonical(&'static str),
    /// A text or list is longer than a 2-byte length can say.
    TooLong(&'static str),
    /// A legacy record whose hash does not match its content.
    LegacyHash {
        record_id: u64,
    },
}

impl fmt::Display for LeafError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LeafError::Truncated => f.write_str("the leaf ends before its last field"),
            LeafError::TrailingBytes => f.write_str("bytes follow the leaf's last field"),
            LeafError::UnknownVersion(v) => write!(
                f,
                "leaf encoding {v} is unknown to this version of Biscotte (it reads 1): upgrade it"
            ),
            LeafError::UnknownKind(k) => write!(f, "leaf kind {k} is unknown (0, 1 and 2 exist)"),
            LeafError::NotCanonical(what) => write!(f, "not canonical: {what}"),
            LeafError::TooLong(what) => write!(f, "{what} is longer than a leaf can hold"),
            LeafError::LegacyHash { record_id } => write!(
                f,
                "record {record_id} of the hash chain does not match its own hash: it was altered"
            ),
        }
    }
}

impl Leaf {
    pub fn kind(&self) -> LeafKind {
        match self {
            Leaf::Legacy(_) => LeafKind::Legacy,
            Leaf::Decision(_) => LeafKind::Decision,
            Leaf::Revision(_) => LeafKind::Revision,
        }
    }

    /// The time the log stamped on this entry.
    pub fn server_time(&self) -> Timestamp {
        match self {
            Leaf::Legacy(l) => l.record.server_time,
            Leaf::Decision(d) => d.server_time,
            Leaf::Revision(r) => r.server_time,
        }
    }

    /// The decision's number in its site's log, for the kinds that are decisions.
    pub fn record_id(&self) -> Option<u64> {
        match self {
            Leaf::Legacy(l) => Some(l.record.record_id),
            Leaf::Decision(d) => Some(d.record_id),
            Leaf::Revision(_) => None,
        }
    }

    /// The canonical bytes of this leaf.
    pub fn encode(&self) -> Result<Vec<u8>, LeafError> {
        let mut w = Writer(Vec::with_capacity(256));
        w.0.push(ENCODING_V1);
        w.0.push(self.kind() as u8);
        match self {
            Leaf::Legacy(l) => w.0.extend_from_slice(&l.json),
            Leaf::Decision(d) => {
                w.u64(d.record_id);
                w.str("site", &d.site)?;
                w.id16("consent_id", &d.consent_id)?;
                w.time(d.server_time);
                w.id16("revision", d.revision.as_str())?;
                w.str("policy_version", &d.policy_version)?;
                w.str("method", d.method.as_str())?;
                w.answers("categories", &d.categories)?;
                w.answers("services", &d.services)?;
                w.str("language", d.language.code())?;
                match &d.url {
                    None => w.0.push(0),
                    Some(url) => {
                        w.0.push(1);
                        w.str("url", url)?;
                    }
                }
                w.names("undeleted_cookies", &d.undeleted_cookies)?;
                match &d.decision_id {
                    None => w.0.push(0),
                    Some(id) => {
                        w.0.push(1);
                        w.id16("decision_id", id)?;
                    }
                }
            }
            Leaf::Revision(r) => {
                w.str("site", &r.site)?;
                w.id16("revision", r.revision.as_str())?;
                w.0.push(r.recipe.number());
                w.time(r.server_time);
                w.time(r.published_at);
                w.0.extend_from_slice(&r.content_hash);
            }
        }
        Ok(w.0)
    }

    /// Reads a leaf, accepting only its canonical form.
    pub fn decode(bytes: &[u8]) -> Result<Leaf, LeafError> {
        let mut r = Reader(bytes);
        let version = r.u8()?;
        if version != ENCODING_V1 {
            return Err(LeafError::UnknownVersion(version));
        }
        let leaf = match r.u8()? {
            0x00 => {
                let json = r.0;
                let record: LegacyRecord = serde_json::from_slice(json)
                    .map_err(|_| LeafError::NotCanonical("a legacy leaf holds a record's JSON"))?;
                if !record.hash.is_empty() || record.hashed_json() != json {
                    return Err(LeafError::NotCanonical(
                        "a legacy leaf holds the record's JSON exactly as its hash covered it",
                    ));
                }
                r.0 = &[];
                let mut record = record;
                record.hash = hex(&Sha256::digest(json));
                Leaf::Legacy(LegacyLeaf {
                    json: json.to_vec(),
                    record,
                })
            }
            0x01 => {
                let record_id = r.u64()?;
                let site = r.str()?;
                let consent_id = r.id16()?;
                let server_time = r.time()?;
                let revision = r.revision()?;
                let policy_version = r.str()?;
                let method = match r.str()?.as_str() {
                    "accept_all" => Method::AcceptAll,
                    "reject_all" => Method::RejectAll,
                    "custom" => Method::Custom,
                    "close" => Method::Close,
                    "gpc" => Method::Gpc,
                    "embed" => Method::Embed,
                    _ => return Err(LeafError::NotCanonical("method is not a known method")),
                };
                let categories = r.answers()?;
                let services = r.answers()?;
                let language = match r.str()?.as_str() {
                    "fr" => Lang::Fr,
                    "en" => Lang::En,
                    _ => return Err(LeafError::NotCanonical("language is fr or en")),
                };
                let url = if r.flag()? { Some(r.str()?) } else { None };
                let undeleted_cookies = r.names()?;
                let decision_id = if r.flag()? { Some(r.id16()?) } else { None };
                Leaf::Decision(DecisionLeaf {
                    record_id,
                    site,
                    consent_id,
                    server_time,
                    revision,
                    policy_version,
                    method,
                    categories,
                    services,
                    language,
                    url,
                    undeleted_cookies,
                    decision_id,
                })
            }
            0x02 => {
                let site = r.str()?;
                let revision = r.revision()?;
                let recipe = Recipe::try_from(r.u8()?)
                    .map_err(|_| LeafError::NotCanonical("recipe is a known recipe number"))?;
                let server_time = r.time()?;
                let published_at = r.time()?;
                let content_hash = r.array::<32>()?;
                Leaf::Revision(RevisionLeaf {
                    site,
                    revision,
                    recipe,
                    server_time,
                    published_at,
                    content_hash,
                })
            }
            kind => return Err(LeafError::UnknownKind(kind)),
        };
        if !r.0.is_empty() {
            return Err(LeafError::TrailingBytes);
        }
        Ok(leaf)
    }
}

impl LegacyLeaf {
    /// The record as the API and exports show it, at `leaf_index` with `leaf_hash`, with the
    /// chain it was logged in.
    pub fn to_record(&self, leaf_index: u64, leaf_hash: &[u8; 32]) -> ConsentRecord {
        let r = &self.record;
        ConsentRecord {
            leaf_index,
            record_id: r.record_id,
            site: r.site.clone(),
            consent_id: r.consent_id.clone(),
            server_time: r.server_time,
            revision: r.revision.clone(),
            policy_version: r.policy_version.clone(),
            method: r.method,
            categories: r.categories.clone(),
            services: r.services.clone(),
            language: r.language,
            url: r.url.clone(),
            undeleted_cookies: r.undeleted_cookies.clone(),
            decision_id: None,
            leaf_hash: hex(leaf_hash),
            prev_hash: Some(r.prev_hash.clone()),
            hash: Some(r.hash.clone()),
        }
    }
}

impl Leaf {
    /// [`Leaf::to_record`], taking the leaf: nothing is copied (an export of a million records
    /// makes one a record).
    pub fn into_record(self, leaf_index: u64, leaf_hash: &[u8; 32]) -> Option<ConsentRecord> {
        match self {
            Leaf::Decision(d) => Some(ConsentRecord {
                leaf_index,
                record_id: d.record_id,
                site: d.site,
                consent_id: d.consent_id,
                server_time: d.server_time,
                revision: d.revision,
                policy_version: d.policy_version,
                method: d.method,
                categories: d.categories,
                services: d.services,
                language: d.language,
                url: d.url,
                undeleted_cookies: d.undeleted_cookies,
                decision_id: d.decision_id,
                leaf_hash: hex(leaf_hash),
                prev_hash: None,
                hash: None,
            }),
            other => other.to_record(leaf_index, leaf_hash),
        }
    }

    /// The decision this leaf records, as the API shows it; `None` for a revision leaf.
    pub fn to_record(&self, leaf_index: u64, leaf_hash: &[u8; 32]) -> Option<ConsentRecord> {
        match self {
            Leaf::Legacy(l) => Some(l.to_record(leaf_index, leaf_hash)),
            Leaf::Decision(_) => self.clone().into_record(leaf_index, leaf_hash),
            Leaf::Revision(_) => None,
        }
    }
}

struct Writer(Vec<u8>);

impl Writer {
    fn u64(&mut self, n: u64) {
        self.0.extend_from_slice(&n.to_be_bytes());
    }

    fn time(&mut self, t: Timestamp) {
        self.0.extend_from_slice(&t.as_millis().to_be_bytes());
    }

    fn len(&mut self, field: &'static str, n: usize) -> Result<(), LeafError> {
        let n = u16::try_from(n).map_err(|_| LeafError::TooLong(field))?;
        self.0.extend_from_slice(&n.to_be_bytes());
        Ok(())
    }

    fn str(&mut self, field: &'static str, s: &str) -> Result<(), LeafError> {
        self.len(field, s.len())?;
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }

    fn id16(&mut self, field: &'static str, id: &str) -> Result<(), LeafError> {
        if !is_valid_consent_id(id) {
            return Err(LeafError::NotCanonical(field));
        }
        let bytes = id.as_bytes();
        for pair in bytes.chunks(2) {
            let digit = |c: u8| match c {
                b'0'..=b'9' => c - b'0',
                _ => c - b'a' + 10,
            };
            let (hi, lo) = match pair {
                [hi, lo] => (digit(*hi), digit(*lo)),
                _ => return Err(LeafError::NotCanonical(field)),
            };
            self.0.push(hi << 4 | lo);
        }
        Ok(())
    }

    fn answers(
        &mut self,
        field: &'static str,
        answers: &BTreeMap<String, bool>,
    ) -> Result<(), LeafError> {
        self.len(field, answers.len())?;
        for (id, accepted) in answers {
            self.str(field, id)?;
            self.0.push(u8::from(*accepted));
        }
        Ok(())
    }

    fn names(&mut self, field: &'static str, names: &[String]) -> Result<(), LeafError> {
        if names.windows(2).any(|w| matches!(w, [a, b] if a >= b)) {
            return Err(LeafError::NotCanonical(
                "undeleted_cookies are sorted, each once",
            ));
        }
        self.len(field, names.len())?;
        for name in names {
            self.str(field, name)?;
        }
        Ok(())
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], LeafError> {
        let (head, rest) = self.0.split_at_checked(n).ok_or(LeafError::Truncated)?;
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], LeafError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, LeafError> {
        Ok(self.array::<1>()?[0])
    }

    fn flag(&mut self) -> Result<bool, LeafError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(LeafError::NotCanonical("a bool or an option tag is 0 or 1")),
        }
    }

    fn u64(&mut self) -> Result<u64, LeafError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    fn time(&mut self) -> Result<Timestamp, LeafError> {
        Ok(Timestamp::from_millis(i64::from_be_bytes(self.array()?)))
    }

    fn len(&mut self) -> Result<usize, LeafError> {
        Ok(usize::from(u16::from_be_bytes(self.array()?)))
    }

    fn str(&mut self) -> Result<String, LeafError> {
        let n = self.len()?;
        let bytes = self.take(n)?;
        core::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| LeafError::NotCanonical("a text is UTF-8"))
    }

    fn id16(&mut self) -> Result<String, LeafError> {
        Ok(hex(&self.array::<16>()?))
    }

    fn revision(&mut self) -> Result<Revision, LeafError> {
        Revision::parse(&self.id16()?).ok_or(LeafError::NotCanonical("revision"))
    }

    fn answers(&mut self) -> Result<BTreeMap<String, bool>, LeafError> {
        let n = self.len()?;
        let mut out = BTreeMap::new();
        let mut last: Option<String> = None;
        for _ in 0..n {
            let id = self.str()?;
            if last.as_ref().is_some_and(|l| *l >= id) {
                return Err(LeafError::NotCanonical(
                    "answers are in increasing order of id, each id once",
                ));
            }
            let accepted = self.flag()?;
            last = Some(id.clone());
            out.insert(id, accepted);
        }
        Ok(out)
    }

    fn names(&mut self) -> Result<Vec<String>, LeafError> {
        let n = self.len()?;
        let mut out: Vec<String> = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            let name = self.str()?;
            if out.last().is_some_and(|l| *l >= name) {
                return Err(LeafError::NotCanonical(
                    "undeleted_cookies are sorted, each once",
                ));
            }
            out.push(name);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision() -> DecisionLeaf {
        DecisionLeaf {
            record_id: 7,
            site: "shop".into(),
            consent_id: "0123456789abcdef0123456789abcdef".into(),
            server_time: Timestamp::from_millis(1_796_220_238_936),
            revision: Revision::parse("c4453b29f45731b6ad75283b5e1656d1").unwrap(),
            policy_version: "2026-11".into(),
            method: Method::Custom,
            categories: BTreeMap::from([("analytics".into(), true), ("advertising".into(), false)]),
            services: BTreeMap::from([("hotjar".into(), false)]),
            language: Lang::Fr,
            url: Some("https://www.shop.fr/".into()),
            undeleted_cookies: vec!["_ga".into(), "_hjSessionUser_42".into()],
            decision_id: Some("fedcba9876543210fedcba9876543210".into()),
        }
    }

    #[test]
    fn a_decision_reads_back_as_written() {
        let leaf = Leaf::Decision(decision());
        let bytes = leaf.encode().unwrap();
        assert_eq!(Leaf::decode(&bytes), Ok(leaf));
    }

    #[test]
    fn a_trailing_byte_a_missing_byte_and_an_option_tag_of_two_are_refused() {
        let bytes = Leaf::Decision(decision()).encode().unwrap();
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(Leaf::decode(&longer), Err(LeafError::TrailingBytes));
        let mut cut = bytes.clone();
        cut.pop();
        assert_eq!(Leaf::decode(&cut), Err(LeafError::Truncated));
        // The decision id's option tag is the 17th byte from the end.
        let mut tag = bytes.clone();
        let at = tag.len() - 17;
        tag[at] = 2;
        assert!(matches!(
            Leaf::decode(&tag),
            Err(LeafError::NotCanonical(_))
        ));
    }

    #[test]
    fn unsorted_cookie_names_cannot_be_encoded() {
        let mut d = decision();
        d.undeleted_cookies.reverse();
        assert!(Leaf::Decision(d).encode().is_err());
    }
}
