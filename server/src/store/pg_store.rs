//! The PostgreSQL store: the backend several Biscotte servers share.
//!
//! Tables (`server/migrations/`): `sites` and `revisions` (JSON documents, as sled keeps them),
//! `leaves` (each log's leaves with the columns its indexes need; retention nulls `bytes` and
//! `consent_id` and keeps kind, number, time and hash), `blocks` (each complete block of 256
//! leaves: its root and its 256 leaf hashes), `checkpoints` (every signed checkpoint),
//! `log_tails` (one row per log: size, root, next record number, last stamp and latest
//! checkpoint, which every writing transaction locks), `retention_marks`, and `biscotte_meta`
//! (the pinned name and key).
//!
//! How several servers keep one log per site (see `pg_writer.rs`): each server batches its
//! decisions and writes a batch in one transaction that locks the site's tail row. Numbers,
//! server time (clamped to the tail's last stamp) and checkpoints continue from that row, so the
//! log stays gap-free, time-ordered and append-only whichever server writes. Publications lock
//! the site's row and then its tail, and tell every server through `NOTIFY biscotte_sites`, on
//! which each server drops its cached site record (published revisions never change, and are
//! cached for good). While a server is not listening (at start, or after its listening
//! connection dropped, until it is back), it reads site records from the database every time.
//!
//! Every database call runs on the store's own Tokio runtime: sqlx's connections stay on the
//! runtime that made them, whichever of actix's single-threaded workers (or the command line's
//! executor) asks.

use super::pg_writer::{self, Answer, Command, LeafRow};
use super::writer::Heartbeat;
use super::{
    ExportRow, NewDecision, NewSite, Retained, RevisionEntry, SiteRecord, SiteSettings, Store,
    StoreError, StoredLeaf,
};
use crate::evidence::{self, LogKey, LogTail, Logged, SignedCheckpoint, TrustRoot};
use biscotte_shared::api::{ConsentRecord, PublishedConfig};
use biscotte_shared::leaf::{Leaf, LeafKind};
use biscotte_shared::merkle::{self, Hash, TILE_WIDTH, TreeEdge};
use biscotte_shared::{Revision, SiteConfig, Timestamp};
use futures_util::StreamExt;
use futures_util::stream::{self, BoxStream};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions, PgRow};
use sqlx::{PgConnection, Row};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Connections each server keeps to the database: the writer's batch, publications, the
/// listener and the readers.
const POOL_SIZE: u32 = 16;
/// How long a request waits for a connection before it is answered 503.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an append waits for its batch to commit.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Decisions waiting for the writer, at most.
const QUEUE_CAPACITY: usize = 16_384;
/// Leaves (or checkpoints) a stream reads per query: memory stays flat whatever the log's size.
const PAGE: i64 = 2_048;
/// Leaves one retention transaction looks at.
const RETENTION_SLICE: i64 = 4_096;
/// The channel on which publications are announced.
const SITES_CHANNEL: &str = "biscotte_sites";
/// The first key of the advisory locks retention takes (the second is the site's hash).
const RETENTION_LOCK: i32 = 0x6269_7363; // "bisc"
/// Unknown site ids remembered as unknown, at most (hostile requests name many).
const MAX_CACHED_SITES: usize = 100_000;

pub(super) type BatchHook = super::sled_store::BatchHook;

/// What the store's tasks share.
pub(super) struct Inner {
    pub pool: PgPool,
    pub key: LogKey,
    pub heartbeat: Heartbeat,
    pub on_batch: BatchHook,
    trust_root: TrustRoot,
    /// Site records (or their absence), valid while `listening`.
    sites: RwLock<HashMap<String, Option<Arc<SiteRecord>>>>,
    /// Bumped by every invalidation: a read that raced one does not fill the cache.
    generation: AtomicU64,
    listening: AtomicBool,
    /// Published revisions: never overwritten, so cached for good.
    configs: RwLock<HashMap<(String, Revision), Arc<PublishedConfig>>>,
    /// Each log's block roots read so far (complete blocks never change).
    block_roots: Mutex<HashMap<String, Arc<Vec<Hash>>>>,
    size_on_disk: AtomicU64,
    stopped: AtomicBool,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

/// The PostgreSQL backend.
pub struct PgStore {
    inner: Arc<Inner>,
    commands: mpsc::Sender<Command>,
    runtime: tokio::runtime::Handle,
    /// Kept so that the runtime lives as long as the store; shut down without blocking.
    owned: Mutex<Option<tokio::runtime::Runtime>>,
    url: String,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("database", &self.url)
            .finish_non_exhaustive()
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        if let Some(rt) = self.owned.lock().unwrap_or_else(|p| p.into_inner()).take() {
            rt.shutdown_background();
        }
    }
}

/// `url` with its password replaced by `***`: what logs and messages may show.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(a database URL that is not scheme://…)".into();
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    // A password may also be a query parameter.
    let path = match path.split_once('?') {
        Some((p, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_owned(),
                })
                .collect();
            format!("{p}?{}", query.join("&"))
        }
        None => path.to_owned(),
    };
    format!("{scheme}://{authority}{path}")
}

/// A database error as the store's: what a request cannot fix by retrying (a query or a stored
/// value the server cannot use) is a storage error; anything else (the database restarting,
/// unreachable, refusing connections, out of connections, a conflict) is an outage, answered
/// 503 with `Retry-After` while the pool reconnects.
pub(super) fn db_error(e: sqlx::Error) -> StoreError {
    let lasting = match &e {
        sqlx::Error::Database(d) => d.code().is_some_and(|c| {
            // data exception, integrity constraint violation, syntax error or access rule
            ["22", "23", "42"].iter().any(|class| c.starts_with(class))
        }),
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::Encode(_)
        | sqlx::Error::TypeNotFound { .. }
        | sqlx::Error::RowNotFound
        | sqlx::Error::Configuration(_)
        | sqlx::Error::Migrate(_) => true,
        _ => false,
    };
    if lasting {
        StoreError::Storage(e.to_string())
    } else {
        StoreError::Unavailable(format!("the database cannot answer now: {e}"))
    }
}

pub(super) fn hash_of(bytes: &[u8]) -> Result<Hash, StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("a stored hash has {} bytes", bytes.len())))
}

fn index(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn unindex(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn kind_of(n: i16) -> Result<LeafKind, StoreError> {
    match n {
        0 => Ok(LeafKind::Legacy),
        1 => Ok(LeafKind::Decision),
        2 => Ok(LeafKind::Revision),
        other => Err(StoreError::Corrupt(format!(
            "a leaf of unknown kind {other}"
        ))),
    }
}

/// A leaf row (`kind, record_id, server_time, hash, bytes`) as a stored leaf.
pub(super) fn stored_leaf_of(row: &PgRow) -> Result<StoredLeaf, StoreError> {
    let bytes: Option<Vec<u8>> = row.try_get("bytes").map_err(db_error)?;
    if let Some(bytes) = bytes {
        return Ok(StoredLeaf::Present(bytes));
    }
    let kind: i16 = row.try_get("kind").map_err(db_error)?;
    let record_id: Option<i64> = row.try_get("record_id").map_err(db_error)?;
    let time: i64 = row.try_get("server_time").map_err(db_error)?;
    let hash: Vec<u8> = row.try_get("hash").map_err(db_error)?;
    Ok(StoredLeaf::Erased {
        kind: kind_of(kind)?,
        record_id: record_id.map(unindex),
        server_time: Timestamp::from_millis(time),
        hash: hash_of(&hash)?,
    })
}

/// The consent id and decision id a leaf is found by.
pub(super) fn ids_of(leaf: &Leaf) -> (Option<String>, Option<String>) {
    match leaf {
        Leaf::Decision(d) => (Some(d.consent_id.clone()), d.decision_id.clone()),
        Leaf::Revision(_) => (None, None),
        other => (other.to_record(0, &[0; 32]).map(|r| r.consent_id), None),
    }
}

/// Whether PostgreSQL can hold `s` as text: it refuses NUL, which no id the server accepts
/// contains. A request naming such an id names nothing, and never reaches the database (where it
/// would be an error, and would fail the batch it was in).
fn storable(s: &str) -> bool {
    !s.contains('\0')
}

fn decode(bytes: &[u8]) -> Result<Leaf, StoreError> {
    Leaf::decode(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// What a proof read asks of a tree.
enum TreeRead {
    Inclusion { index: u64, size: u64 },
    Consistency { old: u64, new: u64 },
    Nodes(Vec<(u8, u64)>),
}

impl Inner {
    async fn site(self: &Arc<Self>, id: &str) -> Result<Option<Arc<SiteRecord>>, StoreError> {
        if !storable(id) {
            return Ok(None);
        }
        let listening = self.listening.load(Ordering::Acquire);
        if listening && let Some(found) = read(&self.sites).get(id) {
            return Ok(found.clone());
        }
        let generation = self.generation.load(Ordering::Acquire);
        let record: Option<String> = sqlx::query_scalar("SELECT record FROM sites WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        let record = record
            .map(|r| serde_json::from_str::<SiteRecord>(&r).map(Arc::new))
            .transpose()?;
        if listening && self.generation.load(Ordering::Acquire) == generation {
            let mut sites = write(&self.sites);
            if sites.len() >= MAX_CACHED_SITES {
                sites.clear();
            }
            sites.insert(id.to_owned(), record.clone());
        }
        Ok(record)
    }

    fn forget(&self, id: Option<&str>) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        let mut sites = write(&self.sites);
        match id {
            Some(id) => {
                sites.remove(id);
            }
            None => sites.clear(),
        }
    }

    async fn published(
        &self,
        site: &str,
        revision: &Revision,
    ) -> Result<Option<Arc<PublishedConfig>>, StoreError> {
        let key = (site.to_owned(), revision.clone());
        if let Some(found) = read(&self.configs).get(&key) {
            return Ok(Some(found.clone()));
        }
        if !storable(site) {
            return Ok(None);
        }
        let text: Option<String> =
            sqlx::query_scalar("SELECT published FROM revisions WHERE site = $1 AND revision = $2")
                .bind(site)
                .bind(revision.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
        let Some(text) = text else {
            return Ok(None);
        };
        let published = Arc::new(serde_json::from_str::<PublishedConfig>(&text)?);
        write(&self.configs).insert(key, published.clone());
        Ok(Some(published))
    }

    /// The latest checkpoint of a log: its size bounds every read (all of it is committed).
    async fn latest(&self, site: &str) -> Result<Option<Arc<SignedCheckpoint>>, StoreError> {
        if !storable(site) {
            return Ok(None);
        }
        let row = sqlx::query("SELECT size, root, checkpoint FROM log_tails WHERE site = $1")
            .bind(site)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let size: i64 = row.try_get("size").map_err(db_error)?;
        let root: Vec<u8> = row.try_get("root").map_err(db_error)?;
        Ok(Some(Arc::new(SignedCheckpoint {
            size: unindex(size),
            root: hash_of(&root)?,
            text: row.try_get("checkpoint").map_err(db_error)?,
        })))
    }

    async fn durable_size(&self, site: &str) -> Result<u64, StoreError> {
        Ok(self
            .latest(site)
            .await?
            .ok_or_else(|| StoreError::UnknownSite(site.to_owned()))?
            .size)
    }

    /// The roots of the first `blocks` complete blocks of a log.
    async fn block_roots(&self, site: &str, blocks: u64) -> Result<Arc<Vec<Hash>>, StoreError> {
        let have = lock(&self.block_roots).get(site).cloned();
        if let Some(have) = &have
            && have.len() as u64 >= blocks
        {
            return Ok(have.clone());
        }
        let from = have.as_ref().map_or(0, |h| h.len() as u64);
        let rows: Vec<Vec<u8>> = sqlx::query_scalar(
            "SELECT root FROM blocks WHERE site = $1 AND idx >= $2 AND idx < $3 ORDER BY idx",
        )
        .bind(site)
        .bind(index(from))
        .bind(index(blocks))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        let mut roots: Vec<Hash> = have.map(|h| h.to_vec()).unwrap_or_default();
        for r in rows {
            roots.push(hash_of(&r)?);
        }
        if (roots.len() as u64) < blocks {
            return Err(StoreError::Corrupt(format!(
                "the log of {site:?} has {} stored blocks where {blocks} are complete",
                roots.len()
            )));
        }
        let roots = Arc::new(roots);
        let mut cache = lock(&self.block_roots);
        let longer = cache.get(site).is_none_or(|c| c.len() < roots.len());
        if longer {
            cache.insert(site.to_owned(), roots.clone());
        }
        Ok(roots)
    }

    async fn block(&self, site: &str, block: u64) -> Result<Vec<Hash>, StoreError> {
        let bytes: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT hashes FROM blocks WHERE site = $1 AND idx = $2")
                .bind(site)
                .bind(index(block))
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
        let bytes = bytes.ok_or_else(|| {
            StoreError::Corrupt(format!("the hash tile of block {block} is missing"))
        })?;
        bytes.chunks_exact(32).map(hash_of).collect()
    }

    /// The edge of a log's tree at `size` leaves (at most its durable size).
    async fn tree_at(&self, site: &str, size: u64) -> Result<TreeEdge, StoreError> {
        let blocks = size / TILE_WIDTH;
        let roots = self.block_roots(site, blocks).await?;
        let rows: Vec<Vec<u8>> = sqlx::query_scalar(
            "SELECT hash FROM leaves WHERE site = $1 AND idx >= $2 AND idx < $3 ORDER BY idx",
        )
        .bind(site)
        .bind(index(blocks * TILE_WIDTH))
        .bind(index(size))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        let tail = rows
            .iter()
            .map(|h| hash_of(h))
            .collect::<Result<Vec<Hash>, _>>()?;
        let kept = roots
            .get(..usize::try_from(blocks).unwrap_or(usize::MAX))
            .unwrap_or(&roots)
            .to_vec();
        TreeEdge::restore(kept, &tail).map_err(|e| {
            StoreError::Corrupt(format!("the tree of {site:?} cannot be restored: {e}"))
        })
    }

    /// Proofs and nodes of a log's tree, reading the blocks they need inside complete blocks.
    async fn read_tree(&self, site: &str, what: TreeRead) -> Result<Vec<Hash>, StoreError> {
        let durable = self.durable_size(site).await?;
        let size = match &what {
            TreeRead::Inclusion { index, size } => {
                if *size > durable || index >= size {
                    return Err(StoreError::OutOfRange(format!(
                        "leaf {index} is not in a tree of {size} leaves (the log has {durable})"
                    )));
                }
                *size
            }
            TreeRead::Consistency { old, new } => {
                if old > new || *new > durable {
                    return Err(StoreError::OutOfRange(format!(
                        "no consistency proof from {old} to {new} leaves (the log has {durable})"
                    )));
                }
                *new
            }
            TreeRead::Nodes(_) => durable,
        };
        let edge = self.tree_at(site, size).await?;
        let mut blocks: HashMap<u64, Vec<Hash>> = HashMap::new();
        // A few rounds at most: a proof reaches into two blocks below level 8.
        for _ in 0..8 {
            let source = edge.source(|b| blocks.get(&b).cloned().ok_or(b));
            let result = match &what {
                TreeRead::Inclusion { index, size } => {
                    merkle::inclusion_proof(&source, *index, *size)
                }
                TreeRead::Consistency { old, new } => {
                    merkle::consistency_proof(&source, *old, *new)
                }
                TreeRead::Nodes(nodes) => {
                    use merkle::NodeSource;
                    nodes
                        .iter()
                        .map(|(level, i)| {
                            source.node(*level, *i).map_err(merkle::ProofError::Source)
                        })
                        .collect()
                }
            };
            drop(source);
            match result {
                Ok(hashes) => return Ok(hashes),
                Err(merkle::ProofError::Source(merkle::EdgeError::Load(b)))
                    if !blocks.contains_key(&b) =>
                {
                    let loaded = self.block(site, b).await?;
                    blocks.insert(b, loaded);
                }
                Err(merkle::ProofError::Source(e @ merkle::EdgeError::Missing(_))) => {
                    return Err(StoreError::OutOfRange(match &what {
                        TreeRead::Nodes(_) => format!("no such complete subtree: {e}"),
                        _ => e.to_string(),
                    }));
                }
                Err(merkle::ProofError::Invalid(why)) => {
                    return Err(StoreError::OutOfRange(why.to_string()));
                }
                Err(merkle::ProofError::Source(e)) => {
                    return Err(StoreError::Corrupt(format!("{e:?}")));
                }
            }
        }
        Err(StoreError::Corrupt(format!(
            "a proof of {site:?} asked for more blocks than any proof needs"
        )))
    }

    /// One page of leaves `begin..end`.
    async fn leaf_page(
        &self,
        site: &str,
        begin: u64,
        end: u64,
    ) -> Result<Vec<(u64, StoredLeaf)>, StoreError> {
        let rows = sqlx::query(
            "SELECT idx, kind, record_id, server_time, hash, bytes FROM leaves \
             WHERE site = $1 AND idx >= $2 AND idx < $3 ORDER BY idx LIMIT $4",
        )
        .bind(site)
        .bind(index(begin))
        .bind(index(end))
        .bind(PAGE)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        let mut out = Vec::with_capacity(rows.len());
        for (expected, row) in (begin..).zip(rows) {
            let idx = unindex(row.try_get("idx").map_err(db_error)?);
            if idx != expected {
                return Err(StoreError::Corrupt(format!(
                    "leaf {expected} of {site:?} is missing"
                )));
            }
            out.push((idx, stored_leaf_of(&row)?));
        }
        Ok(out)
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

fn lock<T>(lock: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    lock.lock().unwrap_or_else(|p| p.into_inner())
}

/// Listens for publications and drops the cached record of each site published; while it is not
/// listening, site records are read from the database every time.
async fn listen(inner: Arc<Inner>) {
    loop {
        if inner.stopped.load(Ordering::Acquire) {
            return;
        }
        let listener = async {
            let mut l = PgListener::connect_with(&inner.pool).await?;
            l.listen(SITES_CHANNEL).await?;
            Ok::<_, sqlx::Error>(l)
        }
        .await;
        let mut listener = match listener {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for publications; reading sites from the database meanwhile");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        // Whatever was published while nobody listened is read again.
        inner.forget(None);
        inner.listening.store(true, Ordering::Release);
        loop {
            match listener.try_recv().await {
                Ok(Some(note)) => inner.forget(Some(note.payload())),
                Ok(None) | Err(_) => {
                    inner.listening.store(false, Ordering::Release);
                    inner.forget(None);
                    break;
                }
            }
        }
    }
}

/// Reads the database's size now and then, for `size_on_disk` (a synchronous call).
async fn measure(inner: Arc<Inner>) {
    loop {
        if let Ok(size) =
            sqlx::query_scalar::<_, i64>("SELECT pg_database_size(current_database())")
                .fetch_one(&inner.pool)
                .await
        {
            inner
                .size_on_disk
                .store(u64::try_from(size).unwrap_or(0), Ordering::Relaxed);
        }
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
}

/// How a server gets its signing key once it knows what the database pinned, if anything.
pub type KeyFor<'a> = dyn FnOnce(Option<&TrustRoot>) -> Result<LogKey, String> + Send + 'a;

impl PgStore {
    /// Connects to the database at `url`, runs the embedded migrations (under sqlx's advisory
    /// lock: servers starting at once migrate once), and pins the deployment's name and key on
    /// first use. `key_for` is given what the database pinned, so that a server never creates a
    /// key of its own against a database that has one; a key or name other than the pinned one
    /// is refused.
    pub fn open(
        url: &str,
        key_for: Box<KeyFor<'_>>,
        on_batch: BatchHook,
    ) -> Result<PgStore, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("biscotte-pg")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the database runtime: {e}"))?;
        let shown = redact_url(url);
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| format!("database_url {shown} is not a PostgreSQL URL: {e}"))?
            .application_name("biscotte");
        let handle = runtime.handle().clone();
        // Blocking on the store's runtime from a thread of our own: callers may be inside another
        // runtime already (a test, actix), where blocking is not allowed.
        let opened = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    handle.block_on(async {
                        let pool = PgPoolOptions::new()
                            .max_connections(POOL_SIZE)
                            .acquire_timeout(ACQUIRE_TIMEOUT)
                            .connect_with(options)
                            .await
                            .map_err(|e| {
                                format!("cannot connect to the database at {shown}: {e}")
                            })?;
                        // A newer release's migrations, applied by a server upgraded before this
                        // one, are tolerated: releases only add what older ones can run beside.
                        let mut migrator = sqlx::migrate!("./migrations");
                        migrator.set_ignore_missing(true);
                        migrator
                            .run(&pool)
                            .await
                            .map_err(|e| format!("cannot migrate the database at {shown}: {e}"))?;
                        let pinned = pinned(&pool).await.map_err(|e| e.to_string())?;
                        let key = key_for(pinned.as_ref())?;
                        let root = key.trust_root();
                        // The first server pins; one racing it with another key loses here.
                        sqlx::query(
                            "INSERT INTO biscotte_meta (key, value) VALUES ('trust_root', $1) \
                             ON CONFLICT (key) DO NOTHING",
                        )
                        .bind(serde_json::to_string(&root).map_err(|e| e.to_string())?)
                        .execute(&pool)
                        .await
                        .map_err(|e| e.to_string())?;
                        let pinned = pinned_or_err(&pool).await?;
                        key.check_pinned(&pinned).map_err(|e| e.to_string())?;
                        let size: i64 =
                            sqlx::query_scalar("SELECT pg_database_size(current_database())")
                                .fetch_one(&pool)
                                .await
                                .map_err(|e| e.to_string())?;
                        Ok::<_, String>((pool, key, pinned, size))
                    })
                })
                .join()
                .map_err(|_| "the database runtime failed while opening".to_owned())?
        });
        let (pool, key, trust_root, size) = match opened {
            Ok(opened) => opened,
            Err(e) => {
                // Not dropped in place: the caller may be inside another runtime.
                runtime.shutdown_background();
                return Err(e);
            }
        };
        let inner = Arc::new(Inner {
            pool,
            key,
            heartbeat: Heartbeat::default(),
            on_batch,
            trust_root,
            sites: RwLock::new(HashMap::new()),
            generation: AtomicU64::new(0),
            listening: AtomicBool::new(false),
            configs: RwLock::new(HashMap::new()),
            block_roots: Mutex::new(HashMap::new()),
            size_on_disk: AtomicU64::new(u64::try_from(size).unwrap_or(0)),
            stopped: AtomicBool::new(false),
        });
        let (commands, receiver) = mpsc::channel(QUEUE_CAPACITY);
        runtime.spawn(pg_writer::run(inner.clone(), receiver));
        runtime.spawn(listen(inner.clone()));
        runtime.spawn(measure(inner.clone()));
        Ok(PgStore {
            inner,
            commands,
            runtime: runtime.handle().clone(),
            owned: Mutex::new(Some(runtime)),
            url: shown,
        })
    }

    /// Runs `work` on the store's runtime and waits for it from any executor.
    async fn on_db<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T, StoreError>> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.runtime
            .spawn(work)
            .await
            .map_err(|e| StoreError::Storage(format!("a database task failed: {e}")))?
    }

    fn stream_on_db<T: Send + 'static>(
        &self,
        items: BoxStream<'static, Result<T, StoreError>>,
    ) -> BoxStream<'static, Result<T, StoreError>> {
        // Each page is read on the store's runtime; the stream itself may be polled anywhere.
        let (tx, rx) = mpsc::channel::<Result<T, StoreError>>(PAGE as usize);
        self.runtime.spawn(async move {
            let mut items = items;
            while let Some(item) = items.next().await {
                let stop = item.is_err();
                if tx.send(item).await.is_err() || stop {
                    break;
                }
            }
        });
        stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })
        .boxed()
    }

    /// Copies a whole site, as another store holds it, into this empty database (`biscotte
    /// migrate`): its record, every revision, every leaf (erased ones as such), the blocks they
    /// complete, every checkpoint, and the tail. Nothing is recomputed but hashes and blocks.
    pub async fn import_site(
        &self,
        from: &dyn Store,
        site: &SiteRecord,
    ) -> Result<u64, StoreError> {
        let inner = self.inner.clone();
        let id = site.id.clone();
        let latest = from
            .checkpoint(&id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("site {id:?} has no checkpoint")))?;
        let revisions = from.revision_leaves(&id).await?;
        let mut published = Vec::new();
        for r in &revisions {
            if let Some(p) = from.published(&id, &r.leaf.revision).await?
                && !published
                    .iter()
                    .any(|q: &Arc<PublishedConfig>| q.revision == p.revision)
            {
                published.push(p);
            }
        }
        if let Some(p) = from.published(&id, &site.current_revision).await?
            && !published.iter().any(|q| q.revision == p.revision)
        {
            published.push(p);
        }
        let mut checkpoints = Vec::new();
        let mut cps = from.checkpoints(&id);
        while let Some(cp) = cps.next().await {
            checkpoints.push(cp?);
        }
        let record = serde_json::to_string(site)?;
        let mut leaves = from.leaves(&id, 0, latest.size);
        let (tx_leaves, rx_leaves) =
            mpsc::channel::<Result<(u64, StoredLeaf), StoreError>>(PAGE as usize);
        let feeder = async move {
            while let Some(item) = leaves.next().await {
                if tx_leaves.send(item).await.is_err() {
                    break;
                }
            }
        };
        let writer = self.on_db(async move {
            let mut rx_leaves = rx_leaves;
            let mut tx = inner.pool.begin().await.map_err(db_error)?;
            let inserted = sqlx::query(
                "INSERT INTO sites (id, record) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(&id)
            .bind(&record)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
            if inserted.rows_affected() == 0 {
                return Err(StoreError::SiteExists(id));
            }
            for p in &published {
                sqlx::query(
                    "INSERT INTO revisions (site, revision, published) VALUES ($1, $2, $3)",
                )
                .bind(&id)
                .bind(p.revision.as_str())
                .bind(serde_json::to_string(&**p)?)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
            }
            let mut edge = TreeEdge::new();
            let mut next_record_id = 1;
            let mut last_stamp = Timestamp::from_millis(0);
            let mut rows: Vec<LeafRow> = Vec::new();
            let mut blocks: Vec<(u64, Hash, Vec<Hash>)> = Vec::new();
            while let Some(item) = rx_leaves.recv().await {
                let (i, stored) = item?;
                if i != edge.size() {
                    return Err(StoreError::Corrupt(format!(
                        "leaf {} of {id:?} is missing",
                        edge.size()
                    )));
                }
                let hash = stored.hash();
                let row = match stored {
                    StoredLeaf::Present(bytes) => {
                        let leaf = decode(&bytes)?;
                        let (consent, decision) = ids_of(&leaf);
                        LeafRow {
                            idx: i,
                            kind: leaf.kind() as i16,
                            record_id: leaf.record_id(),
                            time: leaf.server_time(),
                            hash,
                            bytes: Some(bytes),
                            consent,
                            decision,
                        }
                    }
                    StoredLeaf::Erased {
                        kind,
                        record_id,
                        server_time,
                        hash,
                    } => LeafRow {
                        idx: i,
                        kind: kind as i16,
                        record_id,
                        time: server_time,
                        hash,
                        bytes: None,
                        consent: None,
                        decision: None,
                    },
                };
                if let Some(r) = row.record_id {
                    next_record_id = r + 1;
                }
                last_stamp = last_stamp.max(row.time);
                if let Some(leaf_hashes) = edge.push(hash) {
                    let root = edge.block_roots().last().copied().unwrap_or_default();
                    blocks.push((i / TILE_WIDTH, root, leaf_hashes));
                }
                rows.push(row);
                if rows.len() as i64 >= PAGE {
                    import_rows(&mut tx, &id, &mut rows, &mut blocks).await?;
                }
            }
            import_rows(&mut tx, &id, &mut rows, &mut blocks).await?;
            if edge.size() != latest.size || edge.root() != latest.root {
                return Err(StoreError::Corrupt(format!(
                    "the leaves of {id:?} do not hash to its latest checkpoint"
                )));
            }
            for (size, note) in &checkpoints {
                sqlx::query("INSERT INTO checkpoints (site, size, note) VALUES ($1, $2, $3)")
                    .bind(&id)
                    .bind(index(*size))
                    .bind(note)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
            }
            let tail = LogTail {
                next_record_id,
                last_stamp,
                tree: Arc::new(RwLock::new(TreeEdge::new())),
                checkpoint: None,
                damaged: None,
            };
            sqlx::query(
                "INSERT INTO log_tails (site, size, root, next_record_id, last_stamp, checkpoint) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&id)
            .bind(index(latest.size))
            .bind(latest.root.to_vec())
            .bind(index(tail.next_record_id))
            .bind(tail.last_stamp.as_millis())
            .bind(&latest.text)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(SITES_CHANNEL)
                .bind(&id)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
            tx.commit().await.map_err(db_error)?;
            Ok(latest.size)
        });
        let (size, ()) = futures_util::join!(writer, feeder);
        size
    }
}

async fn import_rows(
    conn: &mut PgConnection,
    site: &str,
    rows: &mut Vec<LeafRow>,
    blocks: &mut Vec<(u64, Hash, Vec<Hash>)>,
) -> Result<(), StoreError> {
    pg_writer::insert_rows(conn, site, rows).await?;
    rows.clear();
    for (i, root, hashes) in blocks.drain(..) {
        pg_writer::insert_block(conn, site, i, &root, &hashes).await?;
    }
    Ok(())
}

async fn pinned(pool: &PgPool) -> Result<Option<TrustRoot>, StoreError> {
    let text: Option<String> =
        sqlx::query_scalar("SELECT value FROM biscotte_meta WHERE key = 'trust_root'")
            .fetch_optional(pool)
            .await
            .map_err(db_error)?;
    Ok(text.map(|t| serde_json::from_str(&t)).transpose()?)
}

async fn pinned_or_err(pool: &PgPool) -> Result<TrustRoot, String> {
    pinned(pool)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "the database lost its pinned key".to_owned())
}

/// Appends a revision leaf for `published` to a site's log under its locked tail, and signs.
async fn log_revision(
    inner: &Inner,
    conn: &mut PgConnection,
    site: &str,
    tail_row: Option<pg_writer::TailRow>,
    published: &PublishedConfig,
    now: Timestamp,
) -> Result<(), StoreError> {
    let mut tail = match tail_row {
        Some(row) => {
            let edge = match pg_writer::edge_at(conn, site, None, &row).await? {
                Ok(edge) => edge,
                Err(why) => {
                    return Err(StoreError::Unavailable(format!(
                        "the log of {site:?} does not match what it signed ({why}); nothing is \
                         logged until an operator runs `biscotte verify --site {site}`"
                    )));
                }
            };
            LogTail {
                next_record_id: row.next_record_id,
                last_stamp: row.last_stamp,
                tree: Arc::new(RwLock::new(edge)),
                checkpoint: None,
                damaged: None,
            }
        }
        None => LogTail {
            next_record_id: 1,
            last_stamp: Timestamp::from_millis(0),
            tree: Arc::new(RwLock::new(TreeEdge::new())),
            checkpoint: None,
            damaged: None,
        },
    };
    let made = tail.append_revision(published, now)?;
    pg_writer::insert_leaves(conn, site, std::slice::from_ref(&made)).await?;
    let signed = tail.sign(&inner.key, site)?;
    pg_writer::write_tail(conn, site, &tail, &signed).await
}

async fn notify(conn: &mut PgConnection, site: &str) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(SITES_CHANNEL)
        .bind(site)
        .execute(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

async fn create_site(inner: Arc<Inner>, new: NewSite) -> Result<PublishedConfig, StoreError> {
    let published = PublishedConfig::new(&new.id, new.config, new.now);
    let site = SiteRecord {
        id: new.id,
        name: new.name,
        origins: new.origins,
        created_at: new.now,
        current_revision: published.revision.clone(),
        checkpoints_public: new.checkpoints_public,
        retention_days: new.retention_days,
    };
    let mut tx = inner.pool.begin().await.map_err(db_error)?;
    let inserted =
        sqlx::query("INSERT INTO sites (id, record) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(&site.id)
            .bind(serde_json::to_string(&site)?)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
    if inserted.rows_affected() == 0 {
        return Err(StoreError::SiteExists(site.id));
    }
    sqlx::query("INSERT INTO revisions (site, revision, published) VALUES ($1, $2, $3)")
        .bind(&site.id)
        .bind(published.revision.as_str())
        .bind(serde_json::to_string(&published)?)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    log_revision(&inner, &mut tx, &site.id, None, &published, new.now).await?;
    notify(&mut tx, &site.id).await?;
    tx.commit().await.map_err(db_error)?;
    inner.forget(Some(&site.id));
    Ok(published)
}

async fn publish(
    inner: Arc<Inner>,
    id: String,
    config: SiteConfig,
    settings: SiteSettings,
    now: Timestamp,
) -> Result<PublishedConfig, StoreError> {
    let mut tx = inner.pool.begin().await.map_err(db_error)?;
    // The site's row first, then its tail: publications of one site take turns, and the writer
    // (which locks tails only) never waits on them in a cycle.
    let record: Option<String> =
        sqlx::query_scalar("SELECT record FROM sites WHERE id = $1 FOR UPDATE")
            .bind(&id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?;
    let current: SiteRecord = match record {
        Some(r) => serde_json::from_str(&r)?,
        None => return Err(StoreError::UnknownSite(id)),
    };
    let fresh = PublishedConfig::new(&id, config, now);
    let revision = fresh.revision.clone();
    let existing: Option<String> =
        sqlx::query_scalar("SELECT published FROM revisions WHERE site = $1 AND revision = $2")
            .bind(&id)
            .bind(revision.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?;
    let existing = existing
        .map(|e| serde_json::from_str::<PublishedConfig>(&e))
        .transpose()?;
    let site = settings.applied(&current, &revision);
    let goes_live = revision != current.current_revision;
    if let (false, Some(existing)) = (goes_live || site != current, &existing) {
        return Ok(existing.clone());
    }
    let published = match existing {
        // Re-publishing an earlier revision keeps its original publication time.
        Some(existing) => existing,
        None => {
            sqlx::query("INSERT INTO revisions (site, revision, published) VALUES ($1, $2, $3)")
                .bind(&id)
                .bind(revision.as_str())
                .bind(serde_json::to_string(&fresh)?)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
            fresh
        }
    };
    if goes_live {
        let mut tails = pg_writer::lock_tails(&mut tx, std::slice::from_ref(&id)).await?;
        let row = tails
            .remove(&id)
            .ok_or_else(|| StoreError::Corrupt(format!("site {id:?} has no log")))?;
        log_revision(&inner, &mut tx, &id, Some(row), &published, now).await?;
    }
    sqlx::query("UPDATE sites SET record = $2 WHERE id = $1")
        .bind(&id)
        .bind(serde_json::to_string(&site)?)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    notify(&mut tx, &id).await?;
    tx.commit().await.map_err(db_error)?;
    inner.forget(Some(&id));
    Ok(published)
}

/// One retention slice under the site's advisory lock; `None` when another server holds it.
async fn retain_slice(
    inner: &Inner,
    site: &str,
    cutoff: Timestamp,
) -> Result<Option<(Retained, bool)>, StoreError> {
    let mut tx = inner.pool.begin().await.map_err(db_error)?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1, hashtext($2))")
        .bind(RETENTION_LOCK)
        .bind(site)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
    if !locked {
        return Ok(None);
    }
    let size: Option<i64> = sqlx::query_scalar("SELECT size FROM log_tails WHERE site = $1")
        .bind(site)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
    let size = size.ok_or_else(|| StoreError::UnknownSite(site.to_owned()))?;
    let below: Option<i64> =
        sqlx::query_scalar("SELECT below FROM retention_marks WHERE site = $1")
            .bind(site)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?;
    let mut next = below.unwrap_or(0);
    let rows = sqlx::query(
        "SELECT idx, kind, server_time, bytes IS NOT NULL AS present FROM leaves \
         WHERE site = $1 AND idx >= $2 AND idx < $3 ORDER BY idx LIMIT $4",
    )
    .bind(site)
    .bind(next)
    .bind(size)
    .bind(RETENTION_SLICE)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_error)?;
    let looked = rows.len() as i64;
    let mut erase: Vec<i64> = Vec::new();
    let mut stopped = false;
    for row in rows {
        let idx: i64 = row.try_get("idx").map_err(db_error)?;
        if idx != next {
            return Err(StoreError::Corrupt(format!(
                "leaf {next} of {site:?} is missing"
            )));
        }
        let kind = kind_of(row.try_get("kind").map_err(db_error)?)?;
        let time = Timestamp::from_millis(row.try_get("server_time").map_err(db_error)?);
        let present: bool = row.try_get("present").map_err(db_error)?;
        match evidence::retention_step(kind, time, present, cutoff) {
            evidence::RetentionStep::Stop => {
                stopped = true;
                break;
            }
            evidence::RetentionStep::Keep => {}
            evidence::RetentionStep::Erase => erase.push(idx),
        }
        next += 1;
    }
    if !erase.is_empty() {
        // The decision id stays (random, naming nobody once the content is gone), so a late
        // retry is refused rather than logged again.
        sqlx::query(
            "UPDATE leaves SET bytes = NULL, consent_id = NULL WHERE site = $1 AND idx = ANY($2)",
        )
        .bind(site)
        .bind(&erase)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    }
    sqlx::query(
        "INSERT INTO retention_marks (site, below) VALUES ($1, $2) \
         ON CONFLICT (site) DO UPDATE SET below = $2",
    )
    .bind(site)
    .bind(next)
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    tx.commit().await.map_err(db_error)?;
    let more = !stopped && looked == RETENTION_SLICE;
    Ok(Some((
        Retained {
            erased: erase.len() as u64,
            erased_below: unindex(next),
        },
        more,
    )))
}

#[async_trait::async_trait]
impl Store for PgStore {
    async fn site(&self, id: &str) -> Result<Option<Arc<SiteRecord>>, StoreError> {
        let listening = self.inner.listening.load(Ordering::Acquire);
        if listening && let Some(found) = read(&self.inner.sites).get(id) {
            return Ok(found.clone());
        }
        let inner = self.inner.clone();
        let id = id.to_owned();
        self.on_db(async move { inner.site(&id).await }).await
    }

    async fn sites(&self) -> Result<Vec<Arc<SiteRecord>>, StoreError> {
        let inner = self.inner.clone();
        self.on_db(async move {
            let rows: Vec<String> = sqlx::query_scalar("SELECT record FROM sites ORDER BY id")
                .fetch_all(&inner.pool)
                .await
                .map_err(db_error)?;
            rows.iter()
                .map(|r| Ok(Arc::new(serde_json::from_str::<SiteRecord>(r)?)))
                .collect()
        })
        .await
    }

    async fn create_site(&self, site: NewSite) -> Result<PublishedConfig, StoreError> {
        self.writable()?;
        self.on_db(create_site(self.inner.clone(), site)).await
    }

    async fn publish(
        &self,
        id: &str,
        config: SiteConfig,
        settings: SiteSettings,
        now: Timestamp,
    ) -> Result<PublishedConfig, StoreError> {
        self.writable()?;
        self.on_db(publish(
            self.inner.clone(),
            id.to_owned(),
            config,
            settings,
            now,
        ))
        .await
    }

    async fn published(
        &self,
        site: &str,
        revision: &Revision,
    ) -> Result<Option<Arc<PublishedConfig>>, StoreError> {
        let key = (site.to_owned(), revision.clone());
        if let Some(found) = read(&self.inner.configs).get(&key) {
            return Ok(Some(found.clone()));
        }
        let inner = self.inner.clone();
        self.on_db(async move { inner.published(&key.0, &key.1).await })
            .await
    }

    async fn append(&self, decision: NewDecision, now: Timestamp) -> Result<Logged, StoreError> {
        self.writable()?;
        if !storable(&decision.site) {
            return Err(StoreError::UnknownSite(decision.site));
        }
        let site = decision.site.clone();
        let (reply, answer) = oneshot::channel();
        let lost =
            || StoreError::Unavailable("the decision's batch was not answered; retry".into());
        let waited = tokio::time::timeout(WRITE_TIMEOUT, async {
            self.commands
                .send(Command::Append {
                    decision,
                    now,
                    reply,
                })
                .await
                .map_err(|_| StoreError::Unavailable("the store is shutting down".into()))?;
            answer.await.map_err(|_| lost())?
        })
        .await;
        let answer: Answer = waited.unwrap_or_else(|_| {
            Err(StoreError::Unavailable(format!(
                "the write was not durable within {} s",
                WRITE_TIMEOUT.as_secs()
            )))
        })?;
        let proof = match answer.proof {
            Some(proof) => proof,
            None => {
                self.inclusion_proof(&site, answer.record.leaf_index, answer.checkpoint.size)
                    .await?
            }
        };
        Ok(Logged {
            record: answer.record,
            leaf: answer.leaf,
            proof,
            checkpoint: answer.checkpoint,
            repeated: answer.repeated,
        })
    }

    async fn checkpoint(&self, site: &str) -> Result<Option<Arc<SignedCheckpoint>>, StoreError> {
        let inner = self.inner.clone();
        let site = site.to_owned();
        self.on_db(async move { inner.latest(&site).await }).await
    }

    async fn checkpoint_at(&self, site: &str, size: u64) -> Result<Option<String>, StoreError> {
        if !storable(site) {
            return Ok(None);
        }
        let inner = self.inner.clone();
        let site = site.to_owned();
        self.on_db(async move {
            sqlx::query_scalar("SELECT note FROM checkpoints WHERE site = $1 AND size = $2")
                .bind(&site)
                .bind(index(size))
                .fetch_optional(&inner.pool)
                .await
                .map_err(db_error)
        })
        .await
    }

    fn checkpoints(&self, site: &str) -> BoxStream<'static, Result<(u64, String), StoreError>> {
        if !storable(site) {
            return stream::empty().boxed();
        }
        let inner = self.inner.clone();
        let site = site.to_owned();
        let pages = stream::unfold(Some(0i64), move |from| {
            let inner = inner.clone();
            let site = site.clone();
            async move {
                let from = from?;
                let rows = sqlx::query(
                    "SELECT size, note FROM checkpoints WHERE site = $1 AND size >= $2 \
                     ORDER BY size LIMIT $3",
                )
                .bind(&site)
                .bind(from)
                .bind(PAGE)
                .fetch_all(&inner.pool)
                .await;
                let page: Result<Vec<(u64, String)>, StoreError> =
                    rows.map_err(db_error).and_then(|rows| {
                        rows.iter()
                            .map(|r| {
                                Ok((
                                    unindex(r.try_get("size").map_err(db_error)?),
                                    r.try_get("note").map_err(db_error)?,
                                ))
                            })
                            .collect()
                    });
                match page {
                    Err(e) => Some((vec![Err(e)], None)),
                    Ok(page) if page.is_empty() => None,
                    Ok(page) => {
                        let next = (page.len() as i64 == PAGE)
                            .then(|| page.last().map(|(s, _)| index(*s) + 1))
                            .flatten();
                        Some((page.into_iter().map(Ok).collect(), next))
                    }
                }
            }
        })
        .flat_map(stream::iter);
        self.stream_on_db(pages.boxed())
    }

    fn leaves(
        &self,
        site: &str,
        begin: u64,
        end: u64,
    ) -> BoxStream<'static, Result<(u64, StoredLeaf), StoreError>> {
        let inner = self.inner.clone();
        let site = site.to_owned();
        // Only what a checkpoint covers: the end is the durable size when the stream starts.
        let pages = stream::unfold((begin, None::<u64>, false), move |(next, end_at, done)| {
            let inner = inner.clone();
            let site = site.clone();
            async move {
                if done {
                    return None;
                }
                let stop = match end_at {
                    Some(e) => e,
                    None => match inner.durable_size(&site).await {
                        Ok(size) => end.min(size),
                        Err(e) => return Some((vec![Err(e)], (next, Some(0), true))),
                    },
                };
                if next >= stop {
                    return None;
                }
                match inner.leaf_page(&site, next, stop).await {
                    Err(e) => Some((vec![Err(e)], (next, Some(stop), true))),
                    Ok(page) if page.is_empty() => Some((
                        vec![Err(StoreError::Corrupt(format!(
                            "leaf {next} of {site:?} is missing"
                        )))],
                        (next, Some(stop), true),
                    )),
                    Ok(page) => {
                        let after = next + page.len() as u64;
                        Some((
                            page.into_iter().map(Ok).collect(),
                            (after, Some(stop), false),
                        ))
                    }
                }
            }
        })
        .flat_map(stream::iter);
        self.stream_on_db(pages.boxed())
    }

    async fn index_at(&self, site: &str, time: Timestamp) -> Result<u64, StoreError> {
        let inner = self.inner.clone();
        let site = site.to_owned();
        self.on_db(async move {
            let durable = inner.durable_size(&site).await?;
            let found: Option<i64> = sqlx::query_scalar(
                "SELECT idx FROM leaves WHERE site = $1 AND server_time >= $2 AND idx < $3 \
                 ORDER BY server_time, idx LIMIT 1",
            )
            .bind(&site)
            .bind(time.as_millis())
            .bind(index(durable))
            .fetch_optional(&inner.pool)
            .await
            .map_err(db_error)?;
            Ok(found.map_or(durable, unindex))
        })
        .await
    }

    async fn nodes(&self, site: &str, nodes: &[(u8, u64)]) -> Result<Vec<Hash>, StoreError> {
        let inner = self.inner.clone();
        let site = site.to_owned();
        let nodes = nodes.to_vec();
        self.on_db(async move { inner.read_tree(&site, TreeRead::Nodes(nodes)).await })
            .await
    }

    async fn inclusion_proof(
        &self,
        site: &str,
        index: u64,
        size: u64,
    ) -> Result<Vec<Hash>, StoreError> {
        let inner = self.inner.clone();
        let site = site.to_owned();
        self.on_db(async move {
            inner
                .read_tree(&site, TreeRead::Inclusion { index, size })
                .await
        })
        .await
    }

    async fn consistency_proof(
        &self,
        site: &str,
        old: u64,
        new: u64,
    ) -> Result<Vec<Hash>, StoreError> {
        let inner = self.inner.clone();
        let site = site.to_owned();
        self.on_db(async move {
            inner
                .read_tree(&site, TreeRead::Consistency { old, new })
                .await
        })
        .await
    }

    async fn revision_leaves(&self, site: &str) -> Result<Vec<RevisionEntry>, StoreError> {
        let inner = self.inner.clone();
        let site = site.to_owned();
        self.on_db(async move {
            let durable = inner.durable_size(&site).await?;
            let rows = sqlx::query(
                "SELECT idx, bytes FROM leaves WHERE site = $1 AND kind = 2 AND idx < $2 \
                 AND bytes IS NOT NULL ORDER BY idx",
            )
            .bind(&site)
            .bind(index(durable))
            .fetch_all(&inner.pool)
            .await
            .map_err(db_error)?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                let idx: i64 = row.try_get("idx").map_err(db_error)?;
                let bytes: Vec<u8> = row.try_get("bytes").map_err(db_error)?;
                if let Leaf::Revision(leaf) = decode(&bytes)? {
                    out.push(RevisionEntry {
                        index: unindex(idx),
                        bytes,
                        leaf,
                    });
                }
            }
            Ok(out)
        })
        .await
    }

    async fn retain(&self, site: &str, cutoff: Timestamp) -> Result<Retained, StoreError> {
        self.writable()?;
        let inner = self.inner.clone();
        let site = site.to_owned();
        self.on_db(async move {
            let mut total = Retained::default();
            loop {
                let Some((pass, more)) = retain_slice(&inner, &site, cutoff).await? else {
                    // Another server is running this site's pass.
                    return Ok(total);
                };
                total.erased += pass.erased;
                total.erased_below = pass.erased_below;
                if !more {
                    return Ok(total);
                }
            }
        })
        .await
    }

    fn trust_root(&self) -> Option<TrustRoot> {
        Some(self.inner.trust_root.clone())
    }

    fn records(
        &self,
        site: &str,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
    ) -> BoxStream<'static, Result<ExportRow, StoreError>> {
        super::export_rows(self.leaves(site, 0, u64::MAX), from, to)
    }

    async fn records_of_visitor(
        &self,
        site: &str,
        consent_id: &str,
    ) -> Result<Vec<ConsentRecord>, StoreError> {
        let inner = self.inner.clone();
        let site = site.to_owned();
        let consent_id = consent_id.to_owned();
        if !storable(&consent_id) {
            return Ok(Vec::new());
        }
        self.on_db(async move {
            let durable = inner.durable_size(&site).await?;
            let rows = sqlx::query(
                "SELECT idx, bytes FROM leaves WHERE site = $1 AND consent_id = $2 AND idx < $3 \
                 AND bytes IS NOT NULL ORDER BY idx",
            )
            .bind(&site)
            .bind(&consent_id)
            .bind(index(durable))
            .fetch_all(&inner.pool)
            .await
            .map_err(db_error)?;
            let mut out = Vec::new();
            for row in rows {
                let idx = unindex(row.try_get("idx").map_err(db_error)?);
                let bytes: Vec<u8> = row.try_get("bytes").map_err(db_error)?;
                if let Some(record) = decode(&bytes)?.to_record(idx, &merkle::leaf_hash(&bytes))
                    && record.consent_id == consent_id
                {
                    out.push(record);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn ready(&self) -> Result<(), StoreError> {
        self.writable()?;
        if let Some(trouble) = self.inner.heartbeat.trouble() {
            return Err(StoreError::Unavailable(trouble));
        }
        let inner = self.inner.clone();
        self.on_db(async move {
            tokio::time::timeout(
                Duration::from_secs(2),
                sqlx::query("SELECT 1").execute(&inner.pool),
            )
            .await
            .map_err(|_| StoreError::Unavailable("the database did not answer within 2 s".into()))?
            .map_err(db_error)?;
            Ok(())
        })
        .await
    }

    fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.inner.size_on_disk.load(Ordering::Relaxed))
    }

    async fn shutdown(&self) {
        let (done, finished) = oneshot::channel();
        if self.commands.send(Command::Shutdown { done }).await.is_ok() {
            let _ = finished.await;
        }
        self.inner.stopped.store(true, Ordering::Release);
    }
}

impl PgStore {
    fn writable(&self) -> Result<(), StoreError> {
        if self.inner.stopped.load(Ordering::Acquire) || self.commands.is_closed() {
            return Err(StoreError::Unavailable("the store is shutting down".into()));
        }
        Ok(())
    }

    /// Reads the database's size now (`size_on_disk` is refreshed every minute otherwise).
    pub async fn measure_now(&self) -> Result<u64, StoreError> {
        let inner = self.inner.clone();
        self.on_db(async move {
            let size: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
                .fetch_one(&inner.pool)
                .await
                .map_err(db_error)?;
            let size = u64::try_from(size).unwrap_or(0);
            inner.size_on_disk.store(size, Ordering::Relaxed);
            Ok(size)
        })
        .await
    }

    /// Whether the database holds any site: `biscotte migrate` copies into an empty one only.
    pub async fn site_ids(&self) -> Result<Vec<String>, StoreError> {
        let inner = self.inner.clone();
        self.on_db(async move {
            sqlx::query_scalar("SELECT id FROM sites ORDER BY id")
                .fetch_all(&inner.pool)
                .await
                .map_err(db_error)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn a_database_url_is_shown_without_its_password() {
        assert_eq!(
            redact_url("postgres://biscotte:s3cr%40t@db.internal:5432/biscotte?sslmode=require"),
            "postgres://biscotte:***@db.internal:5432/biscotte?sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://db/biscotte?user=b&password=hunter2"),
            "postgres://db/biscotte?user=b&password=***"
        );
        assert_eq!(redact_url("postgres://u@db/x"), "postgres://u@db/x");
        assert!(!redact_url("garbage hunter2").contains("hunter2"));
    }
}
