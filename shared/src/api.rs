//! Request and response bodies of the HTTP API: this is protocol, shared by the server, the
//! banner and the tests. Changing a field here changes what clients see.

use crate::config::{Lang, SiteConfig};
use crate::decision::Method;
use crate::revision::Revision;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `GET /api/v1/sites/{site}/config`: the published configuration and its revision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedConfig {
    pub site: String,
    pub revision: Revision,
    pub published_at: Timestamp,
    pub config: SiteConfig,
}

/// `POST /api/v1/sites/{site}/consents`: what the banner sends after a decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
}

/// The answer to a recorded decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentResponse {
    pub record_id: u64,
    pub server_time: Timestamp,
    /// A JWT (EdDSA) naming site, consent id, revision, choices and time, signed with the key
    /// published at `/.well-known/jwks.json`.
    pub receipt: String,
}

/// One entry of a site's decision log, as stored and exported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRecord {
    /// Position in the site's log, from 1, without gaps.
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
    /// Hash of the previous record of this site (64 zeros for the first).
    pub prev_hash: String,
    /// SHA-256 over `prev_hash` and this record's other fields: the chain that makes the log
    /// tamper-evident.
    pub hash: String,
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
