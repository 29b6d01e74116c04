//! The consent store: the seam between the server and its storage engine.
//!
//! [`Store`] is what routes and the command line call; [`SledStore`] is the embedded engine (one
//! server), [`PgStore`] the PostgreSQL backend that several servers share. Both pass the contract
//! suite in `tests/integration/store_contract.rs`.
//!
//! The evidence itself (numbering, server time, leaf bytes, the tree, checkpoints, the
//! exactly-once rule, retention's cut-off) is made by `crate::evidence`; a backend stores what it
//! produces. Promises every backend keeps:
//! - a decision is acknowledged only once it is durable, with a checkpoint that covers it;
//! - each site's log is one Merkle tree, append-only, its decisions numbered from 1 without gaps,
//!   stamped with server time in log order (so log order is time order);
//! - every checkpoint it signs extends every earlier one, and all are kept;
//! - a decision id is logged once: a repeat gets the first record back;
//! - a published revision is never overwritten: proofs point at the text the visitor saw.

mod pg_store;
mod pg_writer;
mod sled_backup;
mod sled_store;
mod sled_upgrade;
mod sled_writer;
mod writer;

pub use pg_store::{PgStore, redact_url};
pub use sled_backup::{Restored, SledRestore};
pub use sled_store::{BatchHook, SledStore};

pub use crate::evidence::{Logged, SignedCheckpoint, TrustRoot};
use biscotte_shared::api::{ConsentRecord, PublishedConfig};
use biscotte_shared::leaf::LeafKind;
use biscotte_shared::merkle::Hash;
use biscotte_shared::{Decision, Lang, Revision, SiteConfig, Timestamp};
use futures_util::stream::BoxStream;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A registered site: who may embed its banner, and which revision is live.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteRecord {
    pub id: String,
    pub name: String,
    /// Page origins allowed to load the banner and record decisions (`https://shop.example`).
    pub origins: Vec<String>,
    pub created_at: Timestamp,
    pub current_revision: Revision,
    /// Whether anyone may read the log's checkpoints and hash tiles (the default), or only the
    /// site's auditors. A checkpoint's size tells how many entries the site logged.
    #[serde(default = "public")]
    pub checkpoints_public: bool,
    /// Days a decision's content is kept before retention erases it (its hash stays).
    #[serde(default = "default_retention")]
    pub retention_days: u32,
}

fn public() -> bool {
    true
}

fn default_retention() -> u32 {
    crate::evidence::DEFAULT_RETENTION_DAYS
}

/// What can go wrong in a store, in words that do not depend on the engine.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store at {path} is in use by another process (a running `biscotte serve`?)")]
    Busy { path: String },
    #[error("site {0:?} already exists")]
    SiteExists(String),
    #[error("unknown site {0:?}")]
    UnknownSite(String),
    /// The engine failed to read or write (disk full, I/O error, …); the detail is for the log.
    #[error("storage error: {0}")]
    Storage(String),
    #[error("corrupt record in the store: {0}")]
    Corrupt(String),
    /// The store cannot take writes now (shutting down, or its writer is stuck); retry later.
    #[error("the store cannot record now: {0}")]
    Unavailable(String),
    /// The store's logs are pinned to another signing key or public name.
    #[error("{0}")]
    TrustRoot(String),
    /// A decision id already logged for another decision.
    #[error("{0}")]
    DecisionIdReused(String),
    /// A leaf index, size or range the log does not have.
    #[error("{0}")]
    OutOfRange(String),
    /// What this backend leaves to other tools.
    #[error("{0}")]
    Unsupported(String),
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

/// A site to register, with its first configuration.
#[derive(Clone, Debug)]
pub struct NewSite {
    pub id: String,
    pub name: String,
    pub origins: Vec<String>,
    pub config: SiteConfig,
    pub now: Timestamp,
    pub checkpoints_public: bool,
    pub retention_days: u32,
}

/// What a publication changes besides the configuration: each `None` keeps what the site has.
#[derive(Clone, Debug, Default)]
pub struct SiteSettings {
    pub origins: Option<Vec<String>>,
    pub checkpoints_public: Option<bool>,
    pub retention_days: Option<u32>,
}

impl SiteSettings {
    /// The site as a publication of `revision` with these settings leaves it.
    pub fn applied(self, current: &SiteRecord, revision: &Revision) -> SiteRecord {
        let mut site = current.clone();
        site.current_revision = revision.clone();
        if let Some(origins) = self.origins {
            site.origins = origins;
        }
        if let Some(public) = self.checkpoints_public {
            site.checkpoints_public = public;
        }
        if let Some(days) = self.retention_days {
            site.retention_days = days;
        }
        site
    }
}

/// A validated decision on its way into a site's log. The store stamps server time (never before
/// the log's latest) and the record number itself, under the log's own order.
#[derive(Clone, Debug)]
pub struct NewDecision {
    pub site: String,
    pub revision: Revision,
    pub policy_version: String,
    pub decision: Decision,
    pub language: Lang,
    pub url: Option<String>,
    /// Declared cookies of refused services the banner saw survive their deletion.
    pub undeleted_cookies: Vec<String>,
    /// The banner's id for this decision: a repeat is answered with the first record.
    pub decision_id: Option<String>,
}

/// A leaf as a store holds it: its bytes, or, once retention erased its content, what stays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoredLeaf {
    Present(Vec<u8>),
    Erased {
        kind: LeafKind,
        /// The decision's number, for the kinds that are decisions.
        record_id: Option<u64>,
        server_time: Timestamp,
        hash: Hash,
    },
}

/// A row of a CSV or NDJSON export: a decision, or what retention left of one.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // streamed one at a time
pub enum ExportRow {
    Record(ConsentRecord),
    Erased {
        leaf_index: u64,
        record_id: u64,
        server_time: Timestamp,
        leaf_hash: Hash,
    },
}

/// A revision leaf of a site's log, by index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevisionEntry {
    pub index: u64,
    pub bytes: Vec<u8>,
    pub leaf: biscotte_shared::leaf::RevisionLeaf,
}

/// What one retention pass erased.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Retained {
    /// Decisions whose content was erased by this pass.
    pub erased: u64,
    /// Leaves below this index are past retention (erased decisions, kept revisions).
    pub erased_below: u64,
}

/// A consistent copy of a whole store, as bytes in its backend's backup format.
pub struct StoreBackup {
    /// The format, as the backup route's `Content-Type`.
    pub media_type: &'static str,
    pub bytes: u64,
    /// How long the backend held its writes to take the copy.
    pub held_writes: std::time::Duration,
    pub stream: BoxStream<'static, Result<Vec<u8>, StoreError>>,
}

impl std::fmt::Debug for StoreBackup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreBackup")
            .field("media_type", &self.media_type)
            .field("bytes", &self.bytes)
            .field("held_writes", &self.held_writes)
            .finish_non_exhaustive()
    }
}

/// The storage behind the server. Reads never wait for writes; writes are serialised by the
/// backend and acknowledged once durable.
#[async_trait::async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// A registered site.
    async fn site(&self, id: &str) -> Result<Option<Arc<SiteRecord>>, StoreError>;

    /// Every registered site, ordered by id.
    async fn sites(&self) -> Result<Vec<Arc<SiteRecord>>, StoreError>;

    /// Registers a site and publishes its first revision (a revision leaf, and the log's first
    /// checkpoint); [`StoreError::SiteExists`] when the id is taken.
    async fn create_site(&self, site: NewSite) -> Result<PublishedConfig, StoreError>;

    /// Publishes a revision of a site's configuration and updates its settings when given. A
    /// revision that goes live (new, or an earlier one again) is logged as a revision leaf;
    /// nothing is written when neither the revision nor a setting changes. Re-publishing an
    /// earlier revision keeps its first publication time.
    async fn publish(
        &self,
        id: &str,
        config: SiteConfig,
        settings: SiteSettings,
        now: Timestamp,
    ) -> Result<PublishedConfig, StoreError>;

    /// A published revision of a site, current or earlier.
    async fn published(
        &self,
        site: &str,
        revision: &Revision,
    ) -> Result<Option<Arc<PublishedConfig>>, StoreError>;

    /// The live revision of a site, with the site itself.
    async fn current(
        &self,
        site: &str,
    ) -> Result<Option<(Arc<SiteRecord>, Arc<PublishedConfig>)>, StoreError> {
        let Some(record) = self.site(site).await? else {
            return Ok(None);
        };
        let published = self
            .published(site, &record.current_revision)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("site {site:?} has no live revision")))?;
        Ok(Some((record, published)))
    }

    /// Appends a decision that arrived at `now` to its site's log, and answers once it is
    /// durable, with its proof in the checkpoint of its batch. A decision whose id is already
    /// logged is answered with the first record (`repeated`), and nothing is written.
    async fn append(&self, decision: NewDecision, now: Timestamp) -> Result<Logged, StoreError>;

    /// The latest signed checkpoint of a site's log.
    async fn checkpoint(&self, site: &str) -> Result<Option<Arc<SignedCheckpoint>>, StoreError>;

    /// The signed checkpoint of a site's log at `size`, if one was signed at that size.
    async fn checkpoint_at(&self, site: &str, size: u64) -> Result<Option<String>, StoreError>;

    /// Every signed checkpoint of a site's log, by size.
    fn checkpoints(&self, site: &str) -> BoxStream<'static, Result<(u64, String), StoreError>>;

    /// The leaves with `begin <= index < end`, in order, as a stream.
    fn leaves(
        &self,
        site: &str,
        begin: u64,
        end: u64,
    ) -> BoxStream<'static, Result<(u64, StoredLeaf), StoreError>>;

    /// The first leaf index whose server time is `time` or later (the log's size when none).
    async fn index_at(&self, site: &str, time: Timestamp) -> Result<u64, StoreError>;

    /// Hashes of complete subtrees (`(level, index)`, as `merkle::decompose` names them) of a
    /// site's tree.
    async fn nodes(&self, site: &str, nodes: &[(u8, u64)]) -> Result<Vec<Hash>, StoreError>;

    /// The inclusion proof of leaf `index` in the tree of `size` leaves.
    async fn inclusion_proof(
        &self,
        site: &str,
        index: u64,
        size: u64,
    ) -> Result<Vec<Hash>, StoreError>;

    /// The consistency proof between the trees of `old` and `new` leaves.
    async fn consistency_proof(
        &self,
        site: &str,
        old: u64,
        new: u64,
    ) -> Result<Vec<Hash>, StoreError>;

    /// The revision leaves of a site's log, in order (they stay readable after retention).
    async fn revision_leaves(&self, site: &str) -> Result<Vec<RevisionEntry>, StoreError>;

    /// Erases the content of the decisions stamped before `cutoff`, as a prefix of the log,
    /// keeping every hash; runs in the backend's single writer (or under its lock), so one pass
    /// at a time.
    async fn retain(&self, site: &str, cutoff: Timestamp) -> Result<Retained, StoreError>;

    /// The name and key the store's logs are signed with, once its first checkpoint is signed.
    fn trust_root(&self) -> Option<TrustRoot>;

    /// Every decision of a site's log with `from <= server_time < to`, in log order, as a stream
    /// (an export can be larger than memory); erased decisions as such.
    fn records(
        &self,
        site: &str,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
    ) -> BoxStream<'static, Result<ExportRow, StoreError>>;

    /// The records of one visitor (by consent id), oldest first.
    async fn records_of_visitor(
        &self,
        site: &str,
        consent_id: &str,
    ) -> Result<Vec<ConsentRecord>, StoreError>;

    /// `Ok` when the store answers a read and can take writes.
    async fn ready(&self) -> Result<(), StoreError>;

    /// Bytes the store occupies on disk.
    fn size_on_disk(&self) -> Result<u64, StoreError>;

    /// Finishes every write already accepted, makes it durable, and stops taking writes.
    async fn shutdown(&self);

    /// A consistent copy of the whole store, every write answered before it included and none
    /// half-applied (`POST /api/v1/admin/backup`). A backend with backup tools of its own keeps
    /// this default.
    async fn backup(&self) -> Result<StoreBackup, StoreError> {
        Err(StoreError::Unsupported(
            "this store's backend is backed up with its own tools (PostgreSQL: pg_dump), not \
             through Biscotte"
                .into(),
        ))
    }
}

/// The rows of an export from a log's leaves, in log order: decisions with `from <= server_time
/// < to`, and what retention left of erased ones.
pub(crate) fn export_rows(
    leaves: BoxStream<'static, Result<(u64, StoredLeaf), StoreError>>,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
) -> BoxStream<'static, Result<ExportRow, StoreError>> {
    use futures_util::StreamExt;
    leaves
        .filter_map(move |entry| async move {
            let row = match entry {
                Err(e) => return Some(Err(e)),
                Ok((index, StoredLeaf::Present(bytes))) => {
                    let leaf = match biscotte_shared::leaf::Leaf::decode(&bytes) {
                        Ok(leaf) => leaf,
                        Err(e) => {
                            return Some(Err(StoreError::Corrupt(format!("a stored leaf: {e}"))));
                        }
                    };
                    ExportRow::Record(
                        leaf.into_record(index, &biscotte_shared::merkle::leaf_hash(&bytes))?,
                    )
                }
                Ok((
                    index,
                    StoredLeaf::Erased {
                        record_id: Some(record_id),
                        server_time,
                        hash,
                        ..
                    },
                )) => ExportRow::Erased {
                    leaf_index: index,
                    record_id,
                    server_time,
                    leaf_hash: hash,
                },
                Ok((_, StoredLeaf::Erased { .. })) => return None,
            };
            let time = match &row {
                ExportRow::Record(r) => r.server_time,
                ExportRow::Erased { server_time, .. } => *server_time,
            };
            // No early stop at `to`: records logged before the single writer were stamped
            // before they took their place, so their times may be a few milliseconds out of
            // order.
            (from.is_none_or(|f| time >= f) && to.is_none_or(|t| time < t)).then_some(Ok(row))
        })
        .boxed()
}
