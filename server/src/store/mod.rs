//! The consent store: the seam between the server and its storage engine.
//!
//! [`Store`] is what routes and the command line call; [`SledStore`] is the embedded engine
//! behind it today, and a PostgreSQL backend will implement the same trait. Every backend passes
//! the contract suite in `tests/integration/store_contract.rs`.
//!
//! Promises every backend keeps:
//! - a decision is acknowledged only once it is durable;
//! - each site's log is append-only, numbered from 1 without gaps, hash-chained, and stamped with
//!   server time in log order (so log order is time order);
//! - a published revision is never overwritten: proofs point at the text the visitor saw.

mod sled_store;
mod writer;

pub use sled_store::SledStore;

use biscotte_shared::api::{ConsentRecord, PublishedConfig};
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
}

/// A validated decision on its way into a site's log. The store stamps server time and the
/// record number itself, under the log's own order.
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
}

/// The storage behind the server. Reads never wait for writes; writes are serialised by the
/// backend and acknowledged once durable.
#[async_trait::async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// A registered site.
    async fn site(&self, id: &str) -> Result<Option<Arc<SiteRecord>>, StoreError>;

    /// Every registered site, ordered by id.
    async fn sites(&self) -> Result<Vec<Arc<SiteRecord>>, StoreError>;

    /// Registers a site and publishes its first revision; [`StoreError::SiteExists`] when the id
    /// is taken.
    async fn create_site(&self, site: NewSite) -> Result<PublishedConfig, StoreError>;

    /// Publishes a revision of a site's configuration (nothing is written when neither the
    /// revision nor the origins change) and updates its origins when given. Re-publishing an
    /// earlier revision keeps its first publication time.
    async fn publish(
        &self,
        id: &str,
        config: SiteConfig,
        origins: Option<Vec<String>>,
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

    /// Appends a decision to its site's log and answers once it is durable.
    async fn append(&self, decision: NewDecision) -> Result<ConsentRecord, StoreError>;

    /// Every record of a site's log with `from <= server_time < to`, in log order, as a stream
    /// (an export can be larger than memory).
    fn records(
        &self,
        site: &str,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
    ) -> BoxStream<'static, Result<ConsentRecord, StoreError>>;

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
}
