//! The sled engine behind [`Store`]: the only code that imports sled.
//!
//! Trees: `sites` (id → [`SiteRecord`]), `configs` (site, revision → [`PublishedConfig`]),
//! `log/<site>` (big-endian sequence number → [`ConsentRecord`], append-only, so a range scan is
//! time order), `by_visitor` (site, consent id, sequence → nothing).
//!
//! sled 0.34 locks up when requests call `flush_async` concurrently and run multi-tree
//! transactions while flushes are in flight (its issues #1308 and #1412). So one writer thread
//! owns every write and every flush, and sled's own background flusher is off: requests queue
//! their write and wait; the writer applies a batch of them, makes it durable with one `flush`
//! (group commit), then answers the whole batch. No transaction is ever opened. Readers use
//! sled's lock-free reads and in-memory copies of the site records, so they never wait for it.

use super::writer::{FairQueue, Heartbeat, MAX_BATCH};
use super::{NewDecision, NewSite, SiteRecord, Store, StoreError};
use crate::proof;
use biscotte_shared::api::{ConsentRecord, PublishedConfig};
use biscotte_shared::{Revision, SiteConfig, Timestamp};
use futures_util::stream::{self, BoxStream, StreamExt};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Writes waiting for the writer; beyond this, requests wait to enqueue.
const QUEUE_CAPACITY: usize = 16_384;

/// How long a request waits for its write before answering that the store is unavailable.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// Called by the writer after each durable batch with its size and how long it took.
pub type BatchHook = Arc<dyn Fn(usize, Duration) + Send + Sync>;

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Storage(e.to_string())
    }
}

/// The sled trees and the readers' in-memory copies, shared by readers and the writer.
struct Shared {
    db: sled::Db,
    sites_tree: sled::Tree,
    configs_tree: sled::Tree,
    by_visitor: sled::Tree,
    logs: RwLock<HashMap<String, sled::Tree>>,
    /// Every site, as last made durable. Only the writer changes it.
    sites: RwLock<BTreeMap<String, Arc<SiteRecord>>>,
    /// Published revisions already read; immutable, so a copy never goes stale.
    configs: RwLock<HashMap<Vec<u8>, Arc<PublishedConfig>>>,
}

fn config_key(site: &str, revision: &Revision) -> Vec<u8> {
    [site.as_bytes(), b"\0", revision.as_str().as_bytes()].concat()
}

fn visitor_prefix(site: &str, consent_id: &str) -> Vec<u8> {
    [site.as_bytes(), b"\0", consent_id.as_bytes(), b"\0"].concat()
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    // No code panics while holding these locks; a poisoned one still holds consistent data.
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    fn log(&self, site: &str) -> Result<sled::Tree, StoreError> {
        if let Some(tree) = read(&self.logs).get(site) {
            return Ok(tree.clone());
        }
        let tree = self.db.open_tree(format!("log/{site}"))?;
        write(&self.logs).insert(site.to_owned(), tree.clone());
        Ok(tree)
    }

    fn published(
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

/// One request's write and where its answer goes.
enum Command {
    Append {
        decision: NewDecision,
        reply: oneshot::Sender<Result<ConsentRecord, StoreError>>,
    },
    CreateSite {
        site: NewSite,
        reply: oneshot::Sender<Result<PublishedConfig, StoreError>>,
    },
    Publish {
        id: String,
        config: SiteConfig,
        origins: Option<Vec<String>>,
        now: Timestamp,
        reply: oneshot::Sender<Result<PublishedConfig, StoreError>>,
    },
    Shutdown {
        done: oneshot::Sender<()>,
    },
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
    /// Opens (or creates) the store in `dir` and starts its writer. Fails with
    /// [`StoreError::Busy`] when another process holds it: sled allows one process per store.
    pub fn open(dir: &Path) -> Result<SledStore, StoreError> {
        SledStore::open_with(dir, Arc::new(|_, _| {}))
    }

    /// [`SledStore::open`], with a hook told the size and duration of each durable batch.
    pub fn open_with(dir: &Path, on_batch: BatchHook) -> Result<SledStore, StoreError> {
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
        let sites_tree = db.open_tree("sites")?;
        let mut sites = BTreeMap::new();
        for entry in sites_tree.iter() {
            let (_, bytes) = entry?;
            let site: SiteRecord = serde_json::from_slice(&bytes)?;
            sites.insert(site.id.clone(), Arc::new(site));
        }
        let shared = Arc::new(Shared {
            configs_tree: db.open_tree("configs")?,
            by_visitor: db.open_tree("by_visitor")?,
            sites_tree,
            db,
            logs: RwLock::new(HashMap::new()),
            sites: RwLock::new(sites),
            configs: RwLock::new(HashMap::new()),
        });
        repair_visitor_index(&shared)?;
        // Trees opened for the first time are on disk before the writer starts.
        shared.db.flush()?;

        let (commands, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let heartbeat = Arc::new(Heartbeat::default());
        let writer = Writer {
            shared: shared.clone(),
            heartbeat: heartbeat.clone(),
            on_batch,
            tails: HashMap::new(),
            last_stamp: Timestamp::from_millis(0),
        };
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
        origins: Option<Vec<String>>,
        now: Timestamp,
    ) -> Result<PublishedConfig, StoreError> {
        let (reply, answer) = oneshot::channel();
        let command = Command::Publish {
            id: id.to_owned(),
            config,
            origins,
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

    async fn append(&self, decision: NewDecision) -> Result<ConsentRecord, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Command::Append { decision, reply }, answer)
            .await
    }

    fn records(
        &self,
        site: &str,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
    ) -> BoxStream<'static, Result<ConsentRecord, StoreError>> {
        let log = match self.shared.log(site) {
            Ok(log) => log,
            Err(e) => return stream::once(async { Err(e) }).boxed(),
        };
        let records = log
            .iter()
            .values()
            .map(|v| -> Result<ConsentRecord, StoreError> { Ok(serde_json::from_slice(&v?)?) })
            // No early stop at `to`: records written before the single writer were stamped
            // before they took their place, so their times may be a few milliseconds out of order.
            .filter(move |r| match r {
                Ok(r) => {
                    from.is_none_or(|f| r.server_time >= f) && to.is_none_or(|t| r.server_time < t)
                }
                Err(_) => true,
            });
        stream::iter(records).boxed()
    }

    async fn records_of_visitor(
        &self,
        site: &str,
        consent_id: &str,
    ) -> Result<Vec<ConsentRecord>, StoreError> {
        let log = self.shared.log(site)?;
        let prefix = visitor_prefix(site, consent_id);
        let mut out = Vec::new();
        for key in self.shared.by_visitor.scan_prefix(&prefix).keys() {
            let key = key?;
            let Some(seq) = key.get(prefix.len()..) else {
                continue;
            };
            if let Some(bytes) = log.get(seq)? {
                let record: ConsentRecord = serde_json::from_slice(&bytes)?;
                if record.consent_id == consent_id {
                    out.push(record);
                }
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

    async fn shutdown(&self) {
        let (done, finished) = oneshot::channel();
        if self.commands.send(Command::Shutdown { done }).await.is_ok() {
            let _ = finished.await;
        }
    }
}

/// Where a site's log ends: the next record number and the hash it will chain to.
struct Tail {
    next_id: u64,
    prev_hash: String,
}

/// A write applied to the trees, waiting for the batch's flush before it is answered.
#[allow(clippy::large_enum_variant)] // lives for one batch; boxing would allocate per write
enum Applied {
    Record(
        oneshot::Sender<Result<ConsentRecord, StoreError>>,
        Result<ConsentRecord, StoreError>,
    ),
    Config(
        oneshot::Sender<Result<PublishedConfig, StoreError>>,
        Result<(PublishedConfig, Option<SiteRecord>), StoreError>,
    ),
}

/// The one thread that writes. It owns the tails of every log, so no lock orders appends.
struct Writer {
    shared: Arc<Shared>,
    heartbeat: Arc<Heartbeat>,
    on_batch: BatchHook,
    tails: HashMap<String, Tail>,
    /// Server time of the latest batch: a clock stepping back never reorders the log.
    last_stamp: Timestamp,
}

struct AppendRequest {
    decision: NewDecision,
    reply: oneshot::Sender<Result<ConsentRecord, StoreError>>,
}

impl Writer {
    fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut appends: FairQueue<AppendRequest> = FairQueue::default();
        let mut admin: Vec<Command> = Vec::new();
        let mut shutdown: Vec<oneshot::Sender<()>> = Vec::new();
        loop {
            if appends.is_empty() && admin.is_empty() {
                if !shutdown.is_empty() {
                    break;
                }
                match commands.blocking_recv() {
                    Some(c) => accept(c, &mut appends, &mut admin, &mut shutdown),
                    None => break,
                }
            }
            while appends.len() < QUEUE_CAPACITY {
                match commands.try_recv() {
                    Ok(c) => accept(c, &mut appends, &mut admin, &mut shutdown),
                    Err(_) => break,
                }
            }
            self.write_batch(std::mem::take(&mut admin), appends.take_batch(MAX_BATCH));
        }
        self.heartbeat.stopped();
        for done in shutdown {
            let _ = done.send(());
        }
    }

    /// Applies site changes, then decisions, makes them durable with one flush, then answers.
    fn write_batch(&mut self, admin: Vec<Command>, appends: Vec<AppendRequest>) {
        self.heartbeat.batch_started();
        let started = Instant::now();
        let size = appends.len();
        let mut applied = Vec::with_capacity(admin.len() + appends.len());
        for command in admin {
            match command {
                Command::CreateSite { site, reply } => {
                    applied.push(Applied::Config(reply, self.create_site(site)));
                }
                Command::Publish {
                    id,
                    config,
                    origins,
                    now,
                    reply,
                } => applied.push(Applied::Config(
                    reply,
                    self.publish(&id, config, origins, now),
                )),
                Command::Append { .. } | Command::Shutdown { .. } => {}
            }
        }
        let stamp = crate::clock::now().max(self.last_stamp);
        self.last_stamp = stamp;
        for request in appends {
            let result = self.append(request.decision, stamp);
            applied.push(Applied::Record(request.reply, result));
        }
        let flushed = self.shared.db.flush();
        if flushed.is_err() {
            // What is on disk is unknown: read the tails again before the next append.
            self.tails.clear();
        }
        for done in applied {
            match done {
                Applied::Record(reply, result) => {
                    let result = match &flushed {
                        Ok(_) => result,
                        Err(e) => Err(StoreError::Storage(e.to_string())),
                    };
                    let _ = reply.send(result);
                }
                Applied::Config(reply, result) => {
                    let result = match (&flushed, result) {
                        (Ok(_), Ok((published, site))) => {
                            if let Some(site) = site {
                                write(&self.shared.sites).insert(site.id.clone(), Arc::new(site));
                            }
                            Ok(published)
                        }
                        (Err(e), _) => Err(StoreError::Storage(e.to_string())),
                        (_, Err(e)) => Err(e),
                    };
                    let _ = reply.send(result);
                }
            }
        }
        self.heartbeat.batch_done();
        if size > 0 {
            (self.on_batch)(size, started.elapsed());
        }
    }

    fn create_site(
        &self,
        new: NewSite,
    ) -> Result<(PublishedConfig, Option<SiteRecord>), StoreError> {
        if read(&self.shared.sites).contains_key(&new.id)
            || self.shared.sites_tree.contains_key(&new.id)?
        {
            return Err(StoreError::SiteExists(new.id));
        }
        let published = PublishedConfig::new(&new.id, new.config, new.now);
        let site = SiteRecord {
            id: new.id,
            name: new.name,
            origins: new.origins,
            created_at: new.now,
            current_revision: published.revision.clone(),
        };
        // The configuration goes first: after a crash, a site never names a missing revision.
        self.shared.configs_tree.insert(
            config_key(&site.id, &published.revision),
            serde_json::to_vec(&published)?,
        )?;
        self.shared
            .sites_tree
            .insert(site.id.as_bytes(), serde_json::to_vec(&site)?)?;
        self.shared.log(&site.id)?;
        Ok((published, Some(site)))
    }

    fn publish(
        &self,
        id: &str,
        config: SiteConfig,
        origins: Option<Vec<String>>,
        now: Timestamp,
    ) -> Result<(PublishedConfig, Option<SiteRecord>), StoreError> {
        let current = read(&self.shared.sites)
            .get(id)
            .cloned()
            .ok_or_else(|| StoreError::UnknownSite(id.to_owned()))?;
        // Under the recipe of new publications: a site whose live revision was made by an
        // earlier recipe gets a new revision of the same configuration, one that covers all the
        // recipe covers, while its earlier revisions keep theirs.
        let fresh = PublishedConfig::new(id, config, now);
        let revision = fresh.revision.clone();
        let existing = self.shared.published(id, &revision)?;
        let unchanged = revision == current.current_revision
            && origins.as_ref().is_none_or(|o| *o == current.origins);
        if let (true, Some(existing)) = (unchanged, &existing) {
            return Ok((PublishedConfig::clone(existing), None));
        }
        let published = match existing {
            // Re-publishing an earlier revision keeps its original publication time.
            Some(existing) => PublishedConfig::clone(&existing),
            None => {
                self.shared
                    .configs_tree
                    .insert(config_key(id, &revision), serde_json::to_vec(&fresh)?)?;
                fresh
            }
        };
        let mut site = SiteRecord::clone(&current);
        site.current_revision = revision;
        if let Some(origins) = origins {
            site.origins = origins;
        }
        self.shared
            .sites_tree
            .insert(id.as_bytes(), serde_json::to_vec(&site)?)?;
        Ok((published, Some(site)))
    }

    fn tail(&mut self, site: &str, log: &sled::Tree) -> Result<&mut Tail, StoreError> {
        if !self.tails.contains_key(site) {
            let tail = match log.last()? {
                Some((_, bytes)) => {
                    let last: ConsentRecord = serde_json::from_slice(&bytes)?;
                    Tail {
                        next_id: last.record_id + 1,
                        prev_hash: last.hash,
                    }
                }
                None => Tail {
                    next_id: 1,
                    prev_hash: proof::GENESIS_HASH.to_owned(),
                },
            };
            self.tails.insert(site.to_owned(), tail);
        }
        self.tails
            .get_mut(site)
            .ok_or_else(|| StoreError::Storage("the log's tail vanished".into()))
    }

    fn append(&mut self, new: NewDecision, stamp: Timestamp) -> Result<ConsentRecord, StoreError> {
        if !read(&self.shared.sites).contains_key(&new.site) {
            return Err(StoreError::UnknownSite(new.site));
        }
        let log = self.shared.log(&new.site)?;
        let tail = self.tail(&new.site, &log)?;
        let (record_id, prev_hash) = (tail.next_id, tail.prev_hash.clone());
        let mut record = ConsentRecord {
            record_id,
            site: new.site,
            consent_id: new.decision.consent_id,
            server_time: stamp,
            revision: new.revision,
            policy_version: new.policy_version,
            method: new.decision.method,
            categories: new.decision.choices.categories.into(),
            services: new.decision.choices.services.into(),
            language: new.language,
            url: new.url,
            undeleted_cookies: new.undeleted_cookies,
            prev_hash,
            hash: String::new(),
        };
        record.hash = proof::record_hash(&record);
        let seq = record_id.to_be_bytes();
        let written = log.insert(seq, serde_json::to_vec(&record)?).and_then(|_| {
            // The record goes first: an index entry never points past the log's end.
            let key = [
                visitor_prefix(&record.site, &record.consent_id),
                seq.to_vec(),
            ]
            .concat();
            self.shared.by_visitor.insert(key, &[])
        });
        match written {
            Ok(_) => {
                self.tails.insert(
                    record.site.clone(),
                    Tail {
                        next_id: record_id + 1,
                        prev_hash: record.hash.clone(),
                    },
                );
                Ok(record)
            }
            Err(e) => {
                // Either tree may be half-written: read the tail again before the next append.
                self.tails.remove(&record.site);
                Err(e.into())
            }
        }
    }
}

fn accept(
    command: Command,
    appends: &mut FairQueue<AppendRequest>,
    admin: &mut Vec<Command>,
    shutdown: &mut Vec<oneshot::Sender<()>>,
) {
    match command {
        Command::Append { decision, reply } => {
            let site = decision.site.clone();
            appends.push(&site, AppendRequest { decision, reply });
        }
        Command::Shutdown { done } => shutdown.push(done),
        other => admin.push(other),
    }
}

/// After a crash, the last record of a log may lack its `by_visitor` entry (the two trees are
/// written one after the other, without a transaction). Records of earlier batches were flushed
/// whole, so checking the last batch's worth of each log is enough.
fn repair_visitor_index(shared: &Shared) -> Result<(), StoreError> {
    let mut repaired = false;
    for name in shared.db.tree_names() {
        let Some(site) = name.strip_prefix(b"log/") else {
            continue;
        };
        let site = String::from_utf8_lossy(site).into_owned();
        let log = shared.log(&site)?;
        for entry in log.iter().rev().take(MAX_BATCH) {
            let (seq, bytes) = entry?;
            let record: ConsentRecord = serde_json::from_slice(&bytes)?;
            let key = [visitor_prefix(&site, &record.consent_id), seq.to_vec()].concat();
            if !shared.by_visitor.contains_key(&key)? {
                shared.by_visitor.insert(key, &[])?;
                repaired = true;
            }
        }
    }
    if repaired {
        tracing::warn!("repaired the visitor index of the last records after an interrupted write");
    }
    Ok(())
}

/// Creates the store's directory readable by its owner only.
fn private_dir(dir: &Path) -> Result<(), StoreError> {
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
fn restrict_files(dir: &Path) -> Result<(), StoreError> {
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
