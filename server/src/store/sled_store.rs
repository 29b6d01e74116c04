//! The sled engine behind [`Store`]: opening a store, its trees, and the reads. The writes are
//! `sled_writer.rs`'s, the upgrade of stores written before the tree `sled_upgrade.rs`'s, backups
//! `sled_backup.rs`'s; these four files are the only code that imports sled.
//!
//! Trees: `meta` (`format`, and `trust_root` once a checkpoint is signed), `sites` (id →
//! [`SiteRecord`]), `configs` (site, revision → [`PublishedConfig`]), and per site:
//! `leaves/<site>` (big-endian leaf index → the leaf's bytes, or what retention left of it),
//! `hashes/<site>` (`t` + block → the 256 leaf hashes of a complete block, a level-0 hash tile;
//! `r` + block → that block's root), `checkpoints/<site>` (big-endian size → signed note);
//! shared indexes, ids as their 16 bytes: `by_visitor` (site, consent id, leaf index),
//! `decision_ids` (site, decision id → leaf index), `revision_leaves` (site, leaf index) and `retention` (site → the index below
//! which decisions are erased).
//!
//! sled 0.34 locks up when requests call `flush_async` concurrently and run multi-tree
//! transactions while flushes are in flight (its issues #1308 and #1412). So one writer thread
//! owns every write and every flush, and sled's own background flusher is off: requests queue
//! their write and wait; the writer applies a batch of them, signs one checkpoint per site it
//! touched, makes everything durable with one `flush` (group commit), then answers the whole
//! batch. No transaction is ever opened: within a batch, a leaf is written before its indexes
//! and tiles, and the checkpoint last, so after a crash what is on disk is a prefix of the
//! batch, which opening repairs. Readers use sled's lock-free reads, and each site's tree edge
//! (held in memory, shared with the writer) for proofs.

use super::sled_writer::{Command, Writer};
use super::writer::Heartbeat;
use super::{
    ExportRow, NewDecision, NewSite, Retained, RevisionEntry, SiteRecord, SiteSettings, Store,
    StoreBackup, StoreError, StoredLeaf,
};
use crate::evidence::{LogKey, LogTail, Logged, SignedCheckpoint, TrustRoot, read_tree};
use biscotte_shared::api::PublishedConfig;
use biscotte_shared::leaf::{Leaf, LeafKind};
use biscotte_shared::merkle::{self, Hash, TILE_WIDTH, TreeEdge};
use biscotte_shared::note;
use biscotte_shared::{Revision, SiteConfig, Timestamp};
use futures_util::stream::{self, BoxStream, StreamExt};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Writes waiting for the writer; beyond this, requests wait to enqueue.
pub(super) const QUEUE_CAPACITY: usize = 16_384;

/// How long a request waits for its write before answering that the store is unavailable.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// The store format this release writes (`meta`/`format`); stores without it were written by
/// releases up to a41f9c0 and are upgraded when opened.
pub(super) const FORMAT: &[u8] = b"tlog-1";

/// Called by the writer after each durable batch with its size and how long it took.
pub type BatchHook = Arc<dyn Fn(usize, Duration) + Send + Sync>;

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Storage(e.to_string())
    }
}

/// One site's log: its trees, and its tree's right edge and latest durable checkpoint.
pub(super) struct SiteLog {
    pub leaves: sled::Tree,
    pub hashes: sled::Tree,
    pub checkpoints: sled::Tree,
    pub tree: Arc<RwLock<TreeEdge>>,
    /// The latest checkpoint on disk: readers never see one before it is durable.
    pub latest: RwLock<Option<Arc<SignedCheckpoint>>>,
}

/// The sled trees and the readers' in-memory copies, shared by readers and the writer.
pub(super) struct Shared {
    pub db: sled::Db,
    pub meta: sled::Tree,
    pub sites_tree: sled::Tree,
    pub configs_tree: sled::Tree,
    pub by_visitor: sled::Tree,
    pub decision_ids: sled::Tree,
    pub revision_leaves: sled::Tree,
    pub retention: sled::Tree,
    pub logs: RwLock<HashMap<String, Arc<SiteLog>>>,
    /// Every site, as last made durable. Only the writer changes it.
    pub sites: RwLock<BTreeMap<String, Arc<SiteRecord>>>,
    /// Published revisions already read; immutable, so a copy never goes stale.
    pub configs: RwLock<HashMap<Vec<u8>, Arc<PublishedConfig>>>,
    pub trust_root: RwLock<Option<TrustRoot>>,
}

pub(super) fn config_key(site: &str, revision: &Revision) -> Vec<u8> {
    [site.as_bytes(), b"\0", revision.as_str().as_bytes()].concat()
}

/// A 128-bit id (consent id, decision id) as the indexes key it: its 16 bytes, not its 32 hex
/// digits (every id the log holds was checked to be 32 lowercase hex digits; anything else is
/// kept as its text).
fn id_bytes(id: &str) -> Vec<u8> {
    let digits: Option<Vec<u8>> = id
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            let text = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(text, 16).ok()
        })
        .collect();
    match digits {
        Some(bytes) if bytes.len() == 16 && id.len() == 32 => bytes,
        _ => id.as_bytes().to_vec(),
    }
}

/// The `by_visitor` prefix of a visitor's entries: site, NUL, the consent id's bytes.
pub(super) fn visitor_prefix(site: &str, consent_id: &str) -> Vec<u8> {
    [site.as_bytes(), b"\0", &id_bytes(consent_id)].concat()
}

pub(super) fn visitor_key(site: &str, consent_id: &str, index: u64) -> Vec<u8> {
    [
        visitor_prefix(site, consent_id),
        index.to_be_bytes().to_vec(),
    ]
    .concat()
}

pub(super) fn site_prefix(site: &str) -> Vec<u8> {
    [site.as_bytes(), b"\0"].concat()
}

pub(super) fn decision_id_key(site: &str, decision_id: &str) -> Vec<u8> {
    [site.as_bytes(), b"\0", &id_bytes(decision_id)].concat()
}

pub(super) fn tile_key(block: u64) -> [u8; 9] {
    let mut k = [b't'; 9];
    k[1..].copy_from_slice(&block.to_be_bytes());
    k
}

pub(super) fn root_key(block: u64) -> [u8; 9] {
    let mut k = [b'r'; 9];
    k[1..].copy_from_slice(&block.to_be_bytes());
    k
}

pub(super) fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    // No code panics while holding these locks; a poisoned one still holds consistent data.
    lock.read().unwrap_or_else(|p| p.into_inner())
}

pub(super) fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

fn be_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

/// The first byte of what retention leaves of a leaf; a leaf's own bytes start with its
/// encoding version (1).
const ERASED: u8 = 0xFF;

/// Reads a stored leaf value.
pub(super) fn stored_leaf(value: &[u8]) -> Result<StoredLeaf, StoreError> {
    if value.first() != Some(&ERASED) {
        return Ok(StoredLeaf::Present(value.to_vec()));
    }
    let bad = || StoreError::Corrupt("an erased leaf's marker is damaged".into());
    let kind = match value.get(1) {
        Some(0) => LeafKind::Legacy,
        Some(1) => LeafKind::Decision,
        Some(2) => LeafKind::Revision,
        _ => return Err(bad()),
    };
    let record_id = match value.get(2) {
        Some(0) => None,
        Some(1) => Some(value.get(3..11).and_then(be_u64).ok_or_else(bad)?),
        _ => return Err(bad()),
    };
    let time = value
        .get(11..19)
        .and_then(|b| b.try_into().ok())
        .map(i64::from_be_bytes)
        .ok_or_else(bad)?;
    let hash: Hash = value
        .get(19..51)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(bad)?;
    Ok(StoredLeaf::Erased {
        kind,
        record_id,
        server_time: Timestamp::from_millis(time),
        hash,
    })
}

/// What retention writes in place of a leaf: its kind, number, time and hash.
pub(super) fn erased_value(leaf: &Leaf, hash: &Hash) -> Vec<u8> {
    let mut v = Vec::with_capacity(51);
    v.push(ERASED);
    v.push(leaf.kind() as u8);
    match leaf.record_id() {
        Some(id) => {
            v.push(1);
            v.extend_from_slice(&id.to_be_bytes());
        }
        None => {
            v.push(0);
            v.extend_from_slice(&[0; 8]);
        }
    }
    v.extend_from_slice(&leaf.server_time().as_millis().to_be_bytes());
    v.extend_from_slice(hash);
    v
}

impl StoredLeaf {
    /// The leaf's hash in the tree.
    pub fn hash(&self) -> Hash {
        match self {
            StoredLeaf::Present(bytes) => merkle::leaf_hash(bytes),
            StoredLeaf::Erased { hash, .. } => *hash,
        }
    }
}

impl Shared {
    pub(super) fn site_log(&self, site: &str) -> Result<Option<Arc<SiteLog>>, StoreError> {
        Ok(read(&self.logs).get(site).cloned())
    }

    fn log_of(&self, site: &str) -> Result<Arc<SiteLog>, StoreError> {
        self.site_log(site)?
            .ok_or_else(|| StoreError::UnknownSite(site.to_owned()))
    }

    /// Opens a site's trees (creating them for a new site) and restores its tree edge.
    pub(super) fn open_log(&self, site: &str) -> Result<(Arc<SiteLog>, LogTail), StoreError> {
        let log = Arc::new(SiteLog {
            leaves: self.db.open_tree(format!("leaves/{site}"))?,
            hashes: self.db.open_tree(format!("hashes/{site}"))?,
            checkpoints: self.db.open_tree(format!("checkpoints/{site}"))?,
            tree: Arc::new(RwLock::new(TreeEdge::new())),
            latest: RwLock::new(None),
        });
        let tail = restore_tail(&log)?;
        *write(&log.latest) = tail.checkpoint.clone();
        write(&self.logs).insert(site.to_owned(), log.clone());
        Ok((log, tail))
    }

    pub(super) fn published(
        &self,
        site: &str,
        revision: &Revision,
    ) -> Result<Option<Arc<PublishedConfig>>, StoreError> {
        let key = config_key(site, revision);
        if let Some(found) = read(&self.configs).get(&key) {
            return Ok(Some(found.clone()));
        }
        let Some(bytes) = self.configs_tree.get(&key)? else {
            return Ok(None);
        };
        let published = Arc::new(serde_json::from_slice::<PublishedConfig>(&bytes)?);
        write(&self.configs).insert(key, published.clone());
        Ok(Some(published))
    }
}

impl SiteLog {
    /// The 256 leaf hashes of complete block `block`.
    pub(super) fn block(&self, block: u64) -> Result<Vec<Hash>, StoreError> {
        let bytes = self.hashes.get(tile_key(block))?.ok_or_else(|| {
            StoreError::Corrupt(format!("the hash tile of block {block} is missing"))
        })?;
        Ok(bytes
            .chunks_exact(32)
            .filter_map(|c| c.try_into().ok())
            .collect())
    }

    pub(super) fn leaf(&self, index: u64) -> Result<Option<StoredLeaf>, StoreError> {
        self.leaves
            .get(index.to_be_bytes())?
            .map(|v| stored_leaf(&v))
            .transpose()
    }

    pub(super) fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, StoreError> {
        let tree = read_tree(&self.tree);
        if size > tree.size() || index >= size {
            return Err(StoreError::OutOfRange(format!(
                "leaf {index} is not in a tree of {size} leaves (the log has {})",
                tree.size()
            )));
        }
        merkle::inclusion_proof(&tree.source(|b| self.block(b)), index, size).map_err(proof_error)
    }

    fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, StoreError> {
        let tree = read_tree(&self.tree);
        if old > new || new > tree.size() {
            return Err(StoreError::OutOfRange(format!(
                "no consistency proof from {old} to {new} leaves (the log has {})",
                tree.size()
            )));
        }
        merkle::consistency_proof(&tree.source(|b| self.block(b)), old, new).map_err(proof_error)
    }

    fn nodes(&self, nodes: &[(u8, u64)]) -> Result<Vec<Hash>, StoreError> {
        use merkle::NodeSource;
        let tree = read_tree(&self.tree);
        let source = tree.source(|b| self.block(b));
        nodes
            .iter()
            .map(|(level, index)| {
                source.node(*level, *index).map_err(|e| {
                    StoreError::OutOfRange(format!(
                        "no complete subtree at level {level}, index {index}: {e}"
                    ))
                })
            })
            .collect()
    }
}

fn proof_error(e: merkle::ProofError<merkle::EdgeError<StoreError>>) -> StoreError {
    match e {
        merkle::ProofError::Source(merkle::EdgeError::Load(e)) => e,
        merkle::ProofError::Source(e @ merkle::EdgeError::Missing(_)) => {
            StoreError::OutOfRange(e.to_string())
        }
        merkle::ProofError::Source(e) => StoreError::Corrupt(e.to_string()),
        merkle::ProofError::Invalid(why) => StoreError::OutOfRange(why.to_string()),
    }
}

/// Rebuilds what the writer needs of a site's log from its trees, repairing what an
/// interrupted batch left half-written: missing hash tiles are made again from the leaves.
fn restore_tail(log: &SiteLog) -> Result<LogTail, StoreError> {
    let size = match log.leaves.last()? {
        Some((key, _)) => be_u64(&key).map(|i| i + 1).unwrap_or(0),
        None => 0,
    };
    let blocks = size / TILE_WIDTH;
    let mut roots = Vec::new();
    for entry in log.hashes.scan_prefix(b"r") {
        let (_, v) = entry?;
        let root: Hash = v
            .as_ref()
            .try_into()
            .map_err(|_| StoreError::Corrupt("a block root is not 32 bytes".into()))?;
        roots.push(root);
    }
    roots.truncate(usize::try_from(blocks).unwrap_or(usize::MAX));
    // Blocks completed by a batch interrupted before their tile was written.
    while (roots.len() as u64) < blocks {
        let block = roots.len() as u64;
        let hashes = leaf_hashes(log, block * TILE_WIDTH, (block + 1) * TILE_WIDTH)?;
        let mut edge = TreeEdge::new();
        let mut tile = None;
        for h in &hashes {
            tile = edge.push(*h);
        }
        let tile = tile.ok_or_else(|| StoreError::Corrupt(format!("block {block} is short")))?;
        log.hashes.insert(
            tile_key(block),
            tile.iter().flatten().copied().collect::<Vec<u8>>(),
        )?;
        let root = edge.root();
        log.hashes.insert(root_key(block), &root)?;
        roots.push(root);
    }
    // The leaves after the last complete block; a gap (a leaf removed behind the server's back)
    // leaves the log read-only, for `verify` to report.
    let mut damaged = None;
    let mut tail = Vec::new();
    for entry in log
        .leaves
        .range((blocks * TILE_WIDTH).to_be_bytes()..size.to_be_bytes())
    {
        let (key, v) = entry?;
        let index = be_u64(&key).unwrap_or(0);
        while (blocks * TILE_WIDTH + tail.len() as u64) < index {
            damaged = Some(format!(
                "leaf {} is missing",
                blocks * TILE_WIDTH + tail.len() as u64
            ));
            tail.push([0; 32]);
        }
        tail.push(stored_leaf(&v)?.hash());
    }
    let edge = TreeEdge::restore(roots, &tail)
        .map_err(|e| StoreError::Corrupt(format!("the tree cannot be restored: {e}")))?;
    *write(&log.tree) = edge;

    // The next record number and the latest stamp, from the end of the log.
    let mut next_record_id = 1;
    let mut last_stamp = Timestamp::from_millis(0);
    for entry in log.leaves.iter().rev() {
        let (_, v) = entry?;
        let (record_id, time) = match stored_leaf(&v)? {
            StoredLeaf::Present(bytes) => match decode(&bytes) {
                Ok(leaf) => (leaf.record_id(), leaf.server_time()),
                Err(e) => {
                    damaged = Some(e.to_string());
                    continue;
                }
            },
            StoredLeaf::Erased {
                record_id,
                server_time,
                ..
            } => (record_id, server_time),
        };
        last_stamp = last_stamp.max(time);
        if let Some(id) = record_id {
            next_record_id = id + 1;
            break;
        }
    }
    let checkpoint = match log.checkpoints.last()? {
        None => None,
        Some((key, text)) => {
            let size_signed = be_u64(&key)
                .ok_or_else(|| StoreError::Corrupt("a checkpoint's key is damaged".into()))?;
            let text = String::from_utf8_lossy(&text).into_owned();
            let parsed = note::SignedNote::parse(&text)
                .ok()
                .and_then(|n| note::Checkpoint::parse(&n.body).ok());
            match parsed {
                None => {
                    damaged = Some(format!(
                        "its checkpoint of {size_signed} leaves cannot be read"
                    ));
                    None
                }
                Some(parsed) if parsed.size != size_signed || parsed.size > size => {
                    damaged = Some(format!(
                        "its latest checkpoint covers {} leaves but the log holds {size}",
                        parsed.size
                    ));
                    None
                }
                Some(parsed) if damaged.is_some() => Some(Arc::new(SignedCheckpoint {
                    size: parsed.size,
                    root: parsed.root,
                    text,
                })),
                Some(parsed) => {
                    let tree = read_tree(&log.tree);
                    let root = merkle::root(&tree.source(|b| log.block(b)), parsed.size)
                        .map_err(proof_error);
                    if root.as_ref().ok() != Some(&parsed.root) {
                        damaged = Some(format!(
                            "its first {} leaves do not hash to the root of its latest checkpoint",
                            parsed.size
                        ));
                    }
                    Some(Arc::new(SignedCheckpoint {
                        size: parsed.size,
                        root: parsed.root,
                        text,
                    }))
                }
            }
        }
    };
    if let Some(why) = &damaged {
        tracing::error!(
            why = %why,
            "a site's log does not match what it signed: it is read-only until `biscotte verify` has been run"
        );
    }
    Ok(LogTail {
        next_record_id,
        last_stamp,
        tree: log.tree.clone(),
        checkpoint,
        damaged,
    })
}

fn decode(bytes: &[u8]) -> Result<Leaf, StoreError> {
    Leaf::decode(bytes).map_err(|e| StoreError::Corrupt(format!("a stored leaf: {e}")))
}

/// The hashes of the leaves with `begin <= index < end`.
fn leaf_hashes(log: &SiteLog, begin: u64, end: u64) -> Result<Vec<Hash>, StoreError> {
    let mut out = Vec::new();
    for entry in log.leaves.range(begin.to_be_bytes()..end.to_be_bytes()) {
        let (_, v) = entry?;
        out.push(stored_leaf(&v)?.hash());
    }
    if out.len() as u64 != end.saturating_sub(begin) {
        return Err(StoreError::Corrupt(format!(
            "leaves {begin} to {end} have a gap"
        )));
    }
    Ok(out)
}

/// The store on sled. Cheap to share behind an `Arc`; one writer thread per store.
pub struct SledStore {
    shared: Arc<Shared>,
    commands: mpsc::Sender<Command>,
    heartbeat: Arc<Heartbeat>,
    path: String,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SledStore {
    /// Opens (or creates) the store in `dir`, upgrading a store written before the tree, and
    /// starts its writer, which signs with `key`. Fails with [`StoreError::Busy`] when another
    /// process holds it (sled allows one process per store), and with [`StoreError::TrustRoot`]
    /// when its logs are signed with another key or name.
    pub fn open(dir: &Path, key: LogKey) -> Result<SledStore, StoreError> {
        SledStore::open_with(dir, key, Arc::new(|_, _| {}))
    }

    /// [`SledStore::open`], with a hook told the size and duration of each durable batch.
    pub fn open_with(
        dir: &Path,
        key: LogKey,
        on_batch: BatchHook,
    ) -> Result<SledStore, StoreError> {
        private_dir(dir)?;
        let db = sled::Config::new()
            .path(dir)
            // The writer flushes each batch itself; a background flush would race it.
            .flush_every_ms(None)
            .mode(sled::Mode::HighThroughput)
            .open()
            .map_err(|e| match &e {
                sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
                    StoreError::Busy {
                        path: dir.display().to_string(),
                    }
                }
                _ => StoreError::from(e),
            })?;
        restrict_files(dir)?;
        let meta = db.open_tree("meta")?;
        if let Some(bytes) = meta.get("trust_root")? {
            let pinned: TrustRoot = serde_json::from_slice(&bytes)?;
            key.check_pinned(&pinned)?;
        }
        let sites_tree = db.open_tree("sites")?;
        let mut sites = BTreeMap::new();
        for entry in sites_tree.iter() {
            let (_, bytes) = entry?;
            let site: SiteRecord = serde_json::from_slice(&bytes)?;
            sites.insert(site.id.clone(), Arc::new(site));
        }
        let trust_root = meta
            .get("trust_root")?
            .map(|b| serde_json::from_slice::<TrustRoot>(&b))
            .transpose()?;
        let shared = Arc::new(Shared {
            configs_tree: db.open_tree("configs")?,
            by_visitor: db.open_tree("by_visitor")?,
            decision_ids: db.open_tree("decision_ids")?,
            revision_leaves: db.open_tree("revision_leaves")?,
            retention: db.open_tree("retention")?,
            meta,
            sites_tree,
            db,
            logs: RwLock::new(HashMap::new()),
            sites: RwLock::new(sites),
            configs: RwLock::new(HashMap::new()),
            trust_root: RwLock::new(trust_root),
        });
        if shared.meta.get("format")?.is_none() {
            super::sled_upgrade::upgrade(&shared, &key)?;
        }
        let ids: Vec<String> = read(&shared.sites).keys().cloned().collect();
        let mut tails = HashMap::new();
        for id in ids {
            let (log, tail) = shared.open_log(&id)?;
            super::sled_writer::repair_indexes(&shared, &id, &log, &tail)?;
            tails.insert(id, tail);
        }
        // Trees opened for the first time, and repairs, are on disk before the writer starts.
        shared.db.flush()?;

        let (commands, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let heartbeat = Arc::new(Heartbeat::default());
        let writer = Writer::new(shared.clone(), key, heartbeat.clone(), on_batch, tails);
        std::thread::Builder::new()
            .name("biscotte-writer".into())
            .spawn(move || writer.run(receiver))
            .map_err(|e| StoreError::Storage(format!("cannot start the writer thread: {e}")))?;
        Ok(SledStore {
            shared,
            commands,
            heartbeat,
            path: dir.display().to_string(),
        })
    }

    /// Hands a write to the writer and waits for its answer.
    async fn submit<T>(
        &self,
        command: Command,
        answer: oneshot::Receiver<Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let stopped = || StoreError::Unavailable("the store is shutting down".into());
        let waited = tokio::time::timeout(WRITE_TIMEOUT, async {
            self.commands.send(command).await.map_err(|_| stopped())?;
            answer.await.map_err(|_| stopped())?
        })
        .await;
        waited.unwrap_or_else(|_| {
            Err(StoreError::Unavailable(format!(
                "the write was not durable within {} s",
                WRITE_TIMEOUT.as_secs()
            )))
        })
    }
}

#[async_trait::async_trait]
impl Store for SledStore {
    async fn site(&self, id: &str) -> Result<Option<Arc<SiteRecord>>, StoreError> {
        Ok(read(&self.shared.sites).get(id).cloned())
    }

    async fn sites(&self) -> Result<Vec<Arc<SiteRecord>>, StoreError> {
        Ok(read(&self.shared.sites).values().cloned().collect())
    }

    async fn create_site(&self, site: NewSite) -> Result<PublishedConfig, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Command::CreateSite { site, reply }, answer)
            .await
    }

    async fn publish(
        &self,
        id: &str,
        config: SiteConfig,
        settings: SiteSettings,
        now: Timestamp,
    ) -> Result<PublishedConfig, StoreError> {
        let (reply, answer) = oneshot::channel();
        let command = Command::Publish {
            id: id.to_owned(),
            config,
            settings,
            now,
            reply,
        };
        self.submit(command, answer).await
    }

    async fn published(
        &self,
        site: &str,
        revision: &Revision,
    ) -> Result<Option<Arc<PublishedConfig>>, StoreError> {
        self.shared.published(site, revision)
    }

    async fn append(&self, decision: NewDecision, now: Timestamp) -> Result<Logged, StoreError> {
        let (reply, answer) = oneshot::channel();
        let site = decision.site.clone();
        let written = self
            .submit(
                Command::Append {
                    decision,
                    now,
                    reply,
                },
                answer,
            )
            .await?;
        // The proof is computed here, on the request's thread, not by the writer.
        let log = self.shared.log_of(&site)?;
        let proof = log.inclusion_proof(written.record.leaf_index, written.checkpoint.size)?;
        Ok(Logged {
            record: written.record,
            leaf: written.leaf,
            proof,
            checkpoint: written.checkpoint,
            repeated: written.repeated,
        })
    }

    async fn checkpoint(&self, site: &str) -> Result<Option<Arc<SignedCheckpoint>>, StoreError> {
        Ok(match self.shared.site_log(site)? {
            Some(log) => read(&log.latest).clone(),
            None => None,
        })
    }

    async fn checkpoint_at(&self, site: &str, size: u64) -> Result<Option<String>, StoreError> {
        let Some(log) = self.shared.site_log(site)? else {
            return Ok(None);
        };
        let latest = read(&log.latest).as_ref().map_or(0, |c| c.size);
        if size > latest {
            return Ok(None);
        }
        Ok(log
            .checkpoints
            .get(size.to_be_bytes())?
            .map(|t| String::from_utf8_lossy(&t).into_owned()))
    }

    fn checkpoints(&self, site: &str) -> BoxStream<'static, Result<(u64, String), StoreError>> {
        let log = match self.shared.log_of(site) {
            Ok(log) => log,
            Err(e) => return stream::once(async { Err(e) }).boxed(),
        };
        let latest = read(&log.latest).as_ref().map_or(0, |c| c.size);
        let items = log.checkpoints.range(..=latest.to_be_bytes()).map(
            |entry| -> Result<(u64, String), StoreError> {
                let (k, v) = entry?;
                let size = be_u64(&k)
                    .ok_or_else(|| StoreError::Corrupt("a checkpoint's key is damaged".into()))?;
                Ok((size, String::from_utf8_lossy(&v).into_owned()))
            },
        );
        stream::iter(items).boxed()
    }

    fn leaves(
        &self,
        site: &str,
        begin: u64,
        end: u64,
    ) -> BoxStream<'static, Result<(u64, StoredLeaf), StoreError>> {
        let log = match self.shared.log_of(site) {
            Ok(log) => log,
            Err(e) => return stream::once(async { Err(e) }).boxed(),
        };
        // Only what a durable checkpoint covers: a batch not yet on disk is nobody's to read.
        let end = end.min(read(&log.latest).as_ref().map_or(0, |c| c.size));
        if begin >= end {
            return stream::empty().boxed();
        }
        let items = log
            .leaves
            .range(begin.to_be_bytes()..end.to_be_bytes())
            .map(|entry| -> Result<(u64, StoredLeaf), StoreError> {
                let (k, v) = entry?;
                let index = be_u64(&k)
                    .ok_or_else(|| StoreError::Corrupt("a leaf's key is damaged".into()))?;
                Ok((index, stored_leaf(&v)?))
            });
        stream::iter(items).boxed()
    }

    async fn index_at(&self, site: &str, time: Timestamp) -> Result<u64, StoreError> {
        let log = self.shared.log_of(site)?;
        let durable = read(&log.latest).as_ref().map_or(0, |c| c.size);
        let (mut lo, mut hi) = (0, durable);
        // Leaves are stamped in log order: the first at or after `time` is found by halves.
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let t = match log.leaf(mid)? {
                Some(StoredLeaf::Present(bytes)) => decode(&bytes)?.server_time(),
                Some(StoredLeaf::Erased { server_time, .. }) => server_time,
                None => return Err(StoreError::Corrupt(format!("leaf {mid} is missing"))),
            };
            if t < time {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    }

    async fn nodes(&self, site: &str, nodes: &[(u8, u64)]) -> Result<Vec<Hash>, StoreError> {
        self.shared.log_of(site)?.nodes(nodes)
    }

    async fn inclusion_proof(
        &self,
        site: &str,
        index: u64,
        size: u64,
    ) -> Result<Vec<Hash>, StoreError> {
        self.shared.log_of(site)?.inclusion_proof(index, size)
    }

    async fn consistency_proof(
        &self,
        site: &str,
        old: u64,
        new: u64,
    ) -> Result<Vec<Hash>, StoreError> {
        self.shared.log_of(site)?.consistency_proof(old, new)
    }

    async fn revision_leaves(&self, site: &str) -> Result<Vec<RevisionEntry>, StoreError> {
        let log = self.shared.log_of(site)?;
        let prefix = site_prefix(site);
        let mut out = Vec::new();
        for key in self.shared.revision_leaves.scan_prefix(&prefix).keys() {
            let key = key?;
            let Some(index) = key.get(prefix.len()..).and_then(be_u64) else {
                continue;
            };
            if let Some(StoredLeaf::Present(bytes)) = log.leaf(index)?
                && let Leaf::Revision(leaf) = decode(&bytes)?
            {
                out.push(RevisionEntry { index, bytes, leaf });
            }
        }
        Ok(out)
    }

    async fn retain(&self, site: &str, cutoff: Timestamp) -> Result<Retained, StoreError> {
        // In slices, so that decisions arriving meanwhile never wait long for the writer.
        let mut total = Retained::default();
        loop {
            let (reply, answer) = oneshot::channel();
            let command = Command::Retain {
                site: site.to_owned(),
                cutoff,
                reply,
            };
            let (pass, more) = self.submit(command, answer).await?;
            total.erased += pass.erased;
            total.erased_below = pass.erased_below;
            if !more {
                return Ok(total);
            }
        }
    }

    fn trust_root(&self) -> Option<TrustRoot> {
        read(&self.shared.trust_root).clone()
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
    ) -> Result<Vec<super::ConsentRecord>, StoreError> {
        let log = self.shared.log_of(site)?;
        let prefix = visitor_prefix(site, consent_id);
        let mut out = Vec::new();
        for key in self.shared.by_visitor.scan_prefix(&prefix).keys() {
            let key = key?;
            let Some(index) = key.get(prefix.len()..).and_then(be_u64) else {
                continue;
            };
            if let Some(StoredLeaf::Present(bytes)) = log.leaf(index)?
                && let Some(record) = decode(&bytes)?.to_record(index, &merkle::leaf_hash(&bytes))
                && record.consent_id == consent_id
            {
                out.push(record);
            }
        }
        Ok(out)
    }

    async fn ready(&self) -> Result<(), StoreError> {
        if let Some(trouble) = self.heartbeat.trouble() {
            return Err(StoreError::Unavailable(trouble));
        }
        if self.commands.is_closed() {
            return Err(StoreError::Unavailable("the writer has stopped".into()));
        }
        self.shared.sites_tree.first()?;
        Ok(())
    }

    fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.shared.db.size_on_disk()?)
    }

    async fn backup(&self) -> Result<StoreBackup, StoreError> {
        static TAKEN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let taken = TAKEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // In the store's directory: private, on the same disk, and only this process holds it.
        let into = Path::new(&self.path).join(format!("backup-{}-{taken}.tmp", std::process::id()));
        let (reply, answer) = oneshot::channel();
        let stopped = || StoreError::Unavailable("the store is shutting down".into());
        self.commands
            .send(Command::Backup { into, reply })
            .await
            .map_err(|_| stopped())?;
        // Not bounded by WRITE_TIMEOUT: the copy takes as long as the store is large.
        let copy = answer.await.map_err(|_| stopped())??;
        Ok(StoreBackup {
            media_type: super::sled_backup::MEDIA_TYPE,
            bytes: copy.bytes,
            held_writes: copy.took,
            stream: copy.into_stream(),
        })
    }

    async fn shutdown(&self) {
        let (done, finished) = oneshot::channel();
        if self.commands.send(Command::Shutdown { done }).await.is_ok() {
            let _ = finished.await;
        }
    }
}

/// Creates the store's directory readable by its owner only.
pub(super) fn private_dir(dir: &Path) -> Result<(), StoreError> {
    let io = |e: std::io::Error| StoreError::Storage(format!("{}: {e}", dir.display()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(io)?;
        }
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir).map_err(io)?;
    Ok(())
}

/// The store holds proofs of consent: its directories 0700 and files 0600.
pub(super) fn restrict_files(dir: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let io = |e: std::io::Error| StoreError::Storage(format!("{}: {e}", dir.display()));
        let mut pending = vec![dir.to_path_buf()];
        while let Some(path) = pending.pop() {
            let meta = std::fs::symlink_metadata(&path).map_err(io)?;
            let mode = if meta.is_dir() { 0o700 } else { 0o600 };
            if meta.is_dir() {
                for entry in std::fs::read_dir(&path).map_err(io)? {
                    pending.push(entry.map_err(io)?.path());
                }
            }
            if !meta.file_type().is_symlink() {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
                    .map_err(io)?;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
