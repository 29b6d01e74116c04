//! The sled store's one writer thread: it applies each batch of writes with the evidence rules
//! (`crate::evidence`), signs one checkpoint per site the batch touched, makes the batch durable
//! with one flush, and only then answers it and shows the new checkpoints to readers. Between
//! two batches it takes the copies backups ask for (`sled_backup.rs`), writes waiting meanwhile.

use super::sled_backup::BackupCopy;
use super::sled_store::{
    QUEUE_CAPACITY, Shared, SiteLog, config_key, decision_id_key, erased_value, read, root_key,
    site_prefix, stored_leaf, tile_key, visitor_key, write,
};
use super::writer::{FairQueue, Heartbeat, MAX_BATCH};
use super::{NewDecision, NewSite, Retained, SiteRecord, SiteSettings, StoreError, StoredLeaf};
use crate::evidence::{self, LogKey, LogTail, NewLeaf, SignedCheckpoint};
use biscotte_shared::api::{ConsentRecord, PublishedConfig};
use biscotte_shared::leaf::Leaf;
use biscotte_shared::{SiteConfig, Timestamp};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

/// Leaves one retention pass looks at before it lets the decisions waiting meanwhile through.
const RETENTION_SLICE: u64 = 4_096;

/// What the writer answers an append; the store adds the proof on the request's thread.
#[derive(Debug)]
pub(super) struct Written {
    pub record: ConsentRecord,
    pub leaf: Vec<u8>,
    pub checkpoint: Arc<SignedCheckpoint>,
    pub repeated: bool,
}

/// One request's write and where its answer goes.
pub(super) enum Command {
    Append {
        decision: NewDecision,
        now: Timestamp,
        reply: oneshot::Sender<Result<Written, StoreError>>,
    },
    CreateSite {
        site: NewSite,
        reply: oneshot::Sender<Result<PublishedConfig, StoreError>>,
    },
    Publish {
        id: String,
        config: SiteConfig,
        settings: SiteSettings,
        now: Timestamp,
        reply: oneshot::Sender<Result<PublishedConfig, StoreError>>,
    },
    Retain {
        site: String,
        cutoff: Timestamp,
        reply: oneshot::Sender<Result<(Retained, bool), StoreError>>,
    },
    /// A copy of the whole store, taken between two batches (`sled_backup.rs`).
    Backup {
        into: std::path::PathBuf,
        reply: oneshot::Sender<Result<BackupCopy, StoreError>>,
    },
    Shutdown {
        done: oneshot::Sender<()>,
    },
}

/// A write applied to the trees, waiting for the batch's flush before it is answered.
#[allow(clippy::large_enum_variant)] // lives for one batch; boxing would allocate per write
enum Applied {
    Record(
        oneshot::Sender<Result<Written, StoreError>>,
        Result<Pending, StoreError>,
    ),
    Config(
        oneshot::Sender<Result<PublishedConfig, StoreError>>,
        Result<(PublishedConfig, Option<SiteRecord>), StoreError>,
    ),
    Retained(
        oneshot::Sender<Result<(Retained, bool), StoreError>>,
        Result<(Retained, bool), StoreError>,
    ),
}

/// An append applied, before the batch's checkpoint exists.
struct Pending {
    site: String,
    record: ConsentRecord,
    leaf: Vec<u8>,
    repeated: bool,
}

struct AppendRequest {
    decision: NewDecision,
    now: Timestamp,
    reply: oneshot::Sender<Result<Written, StoreError>>,
}

/// The one thread that writes. It owns the tail of every log, so no lock orders appends.
pub(super) struct Writer {
    shared: Arc<Shared>,
    key: LogKey,
    heartbeat: Arc<Heartbeat>,
    on_batch: super::sled_store::BatchHook,
    tails: HashMap<String, LogTail>,
}

impl Writer {
    pub fn new(
        shared: Arc<Shared>,
        key: LogKey,
        heartbeat: Arc<Heartbeat>,
        on_batch: super::sled_store::BatchHook,
        tails: HashMap<String, LogTail>,
    ) -> Writer {
        Writer {
            shared,
            key,
            heartbeat,
            on_batch,
            tails,
        }
    }

    pub fn run(mut self, mut commands: mpsc::Receiver<Command>) {
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

    /// Applies site changes, then decisions, signs a checkpoint per site touched, makes it all
    /// durable with one flush, then answers.
    fn write_batch(&mut self, admin: Vec<Command>, appends: Vec<AppendRequest>) {
        self.heartbeat.batch_started();
        let started = Instant::now();
        let size = appends.len();
        let mut applied = Vec::with_capacity(admin.len() + appends.len());
        let mut touched: BTreeSet<String> = BTreeSet::new();
        let mut damaged: BTreeSet<String> = BTreeSet::new();
        let mut backups = Vec::new();
        for command in admin {
            match command {
                Command::CreateSite { site, reply } => {
                    let id = site.id.clone();
                    let result = self.create_site(site);
                    mark(&result, &id, &mut touched, &mut damaged);
                    applied.push(Applied::Config(reply, result));
                }
                Command::Publish {
                    id,
                    config,
                    settings,
                    now,
                    reply,
                } => {
                    let result = self.publish(&id, config, settings, now);
                    match &result {
                        Ok((_, Some(_))) => {
                            touched.insert(id);
                        }
                        Ok(_) => {}
                        Err(_) => {
                            damaged.insert(id);
                        }
                    }
                    applied.push(Applied::Config(reply, result));
                }
                Command::Retain {
                    site,
                    cutoff,
                    reply,
                } => applied.push(Applied::Retained(reply, self.retain(&site, cutoff))),
                Command::Backup { into, reply } => backups.push((into, reply)),
                Command::Append { .. } | Command::Shutdown { .. } => {}
            }
        }
        let mut batch_ids: HashMap<Vec<u8>, u64> = HashMap::new();
        for request in appends {
            let site = request.decision.site.clone();
            let result = self.append(request.decision, request.now, &mut batch_ids);
            match &result {
                Ok(p) if !p.repeated => {
                    touched.insert(site);
                }
                Ok(_) => {}
                Err(StoreError::UnknownSite(_) | StoreError::DecisionIdReused(_)) => {}
                Err(_) => {
                    damaged.insert(site);
                }
            }
            applied.push(Applied::Record(request.reply, result));
        }
        // One checkpoint per site the batch grew, written after its leaves.
        let mut signed: HashMap<String, Result<Arc<SignedCheckpoint>, StoreError>> = HashMap::new();
        let to_sign: Vec<String> = touched
            .iter()
            .filter(|s| !damaged.contains(*s))
            .cloned()
            .collect();
        for site in to_sign {
            let result = self.sign(&site);
            if result.is_err() {
                damaged.insert(site.clone());
            }
            signed.insert(site, result);
        }
        let flushed = self.shared.db.flush().map_err(StoreError::from);
        if flushed.is_ok() {
            for (site, cp) in &signed {
                if let (Ok(cp), Ok(Some(log))) = (cp, self.shared.site_log(site)) {
                    *write(&log.latest) = Some(cp.clone());
                }
            }
        }
        for done in applied {
            match done {
                Applied::Record(reply, result) => {
                    let answer = match (&flushed, result) {
                        (Err(e), _) => Err(StoreError::Storage(e.to_string())),
                        (Ok(_), Err(e)) => Err(e),
                        (Ok(_), Ok(p)) => {
                            self.checkpoint_for(&p.site, &signed)
                                .map(|checkpoint| Written {
                                    record: p.record,
                                    leaf: p.leaf,
                                    checkpoint,
                                    repeated: p.repeated,
                                })
                        }
                    };
                    let _ = reply.send(answer);
                }
                Applied::Config(reply, result) => {
                    let answer = match (&flushed, result) {
                        (Ok(_), Ok((published, site))) => {
                            if let Some(site) = site {
                                write(&self.shared.sites).insert(site.id.clone(), Arc::new(site));
                            }
                            Ok(published)
                        }
                        (Err(e), _) => Err(StoreError::Storage(e.to_string())),
                        (_, Err(e)) => Err(e),
                    };
                    let _ = reply.send(answer);
                }
                Applied::Retained(reply, result) => {
                    let answer = match (&flushed, result) {
                        (Err(e), _) => Err(StoreError::Storage(e.to_string())),
                        (Ok(_), r) => r,
                    };
                    let _ = reply.send(answer);
                }
            }
        }
        if flushed.is_err() {
            // What is on disk is unknown: every log this batch wrote is read again.
            damaged.extend(touched);
        }
        for site in damaged {
            self.reload(&site);
        }
        self.heartbeat.batch_done();
        if size > 0 {
            (self.on_batch)(size, started.elapsed());
        }
        // Between two batches: this one durable and answered, the next not begun, so the copy
        // holds no half-applied write. Writes arriving meanwhile wait for it.
        for (into, reply) in backups {
            let copy = super::sled_backup::copy(&self.shared, &into);
            match &copy {
                Ok(c) => tracing::info!(
                    bytes = c.bytes,
                    trees = c.trees,
                    entries = c.entries,
                    held_writes_ms = c.took.as_millis() as u64,
                    "copied the store for a backup"
                ),
                Err(e) => tracing::error!(error = %e, "cannot copy the store for a backup"),
            }
            let _ = reply.send(copy);
        }
    }

    /// The checkpoint an answer for `site` carries: the one this batch signed, else the latest.
    fn checkpoint_for(
        &self,
        site: &str,
        signed: &HashMap<String, Result<Arc<SignedCheckpoint>, StoreError>>,
    ) -> Result<Arc<SignedCheckpoint>, StoreError> {
        match signed.get(site) {
            Some(Ok(cp)) => Ok(cp.clone()),
            Some(Err(e)) => Err(StoreError::Storage(e.to_string())),
            None => self
                .tails
                .get(site)
                .and_then(|t| t.checkpoint.clone())
                .ok_or_else(|| StoreError::Storage(format!("site {site:?} has no checkpoint"))),
        }
    }

    /// Reads a log's tail again from disk after a failed write.
    fn reload(&mut self, site: &str) {
        if !read(&self.shared.sites).contains_key(site) && !self.tails.contains_key(site) {
            return;
        }
        match self.shared.open_log(site) {
            Ok((_, tail)) => {
                self.tails.insert(site.to_owned(), tail);
            }
            Err(e) => {
                tracing::error!(site, error = %e, "cannot read a log back after a failed write");
                self.tails.remove(site);
            }
        }
    }

    fn log(&self, site: &str) -> Result<Arc<SiteLog>, StoreError> {
        self.shared
            .site_log(site)?
            .ok_or_else(|| StoreError::UnknownSite(site.to_owned()))
    }

    fn tail(&mut self, site: &str) -> Result<&mut LogTail, StoreError> {
        self.tails
            .get_mut(site)
            .ok_or_else(|| StoreError::Unavailable(format!("the log of {site:?} is not open")))
    }

    /// Signs the checkpoint of a site's tree as the batch left it, and writes it; the first
    /// checkpoint of the store pins its name and key.
    fn sign(&mut self, site: &str) -> Result<Arc<SignedCheckpoint>, StoreError> {
        let key = self.key.clone();
        let log = self.log(site)?;
        let cp = self.tail(site)?.sign(&key, site)?;
        log.checkpoints
            .insert(cp.size.to_be_bytes(), cp.text.as_bytes())?;
        if read(&self.shared.trust_root).is_none() {
            let root = key.trust_root();
            self.shared
                .meta
                .insert("trust_root", serde_json::to_vec(&root)?)?;
            *write(&self.shared.trust_root) = Some(root);
        }
        Ok(cp)
    }

    /// Writes a leaf the rules made, then its indexes and the tile it completed.
    fn store_leaf(&self, site: &str, log: &SiteLog, made: &NewLeaf) -> Result<(), StoreError> {
        store_leaf(&self.shared, site, log, made)
    }

    fn create_site(
        &mut self,
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
            checkpoints_public: new.checkpoints_public,
            retention_days: new.retention_days,
        };
        // The configuration goes first: after a crash, a site never names a missing revision.
        self.shared.configs_tree.insert(
            config_key(&site.id, &published.revision),
            serde_json::to_vec(&published)?,
        )?;
        self.shared
            .sites_tree
            .insert(site.id.as_bytes(), serde_json::to_vec(&site)?)?;
        let (log, mut tail) = self.shared.open_log(&site.id)?;
        let made = tail.append_revision(&published, new.now)?;
        self.tails.insert(site.id.clone(), tail);
        self.store_leaf(&site.id, &log, &made)?;
        Ok((published, Some(site)))
    }

    fn publish(
        &mut self,
        id: &str,
        config: SiteConfig,
        settings: SiteSettings,
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
        let site = settings.applied(&current, &revision);
        let goes_live = revision != current.current_revision;
        if let (false, Some(existing)) = (goes_live || site != *current, &existing) {
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
        if goes_live {
            self.tail(id)?.writable(id)?;
            let log = self.log(id)?;
            let made = self.tail(id)?.append_revision(&published, now)?;
            self.store_leaf(id, &log, &made)?;
        }
        self.shared
            .sites_tree
            .insert(id.as_bytes(), serde_json::to_vec(&site)?)?;
        Ok((published, Some(site)))
    }

    fn append(
        &mut self,
        new: NewDecision,
        now: Timestamp,
        batch_ids: &mut HashMap<Vec<u8>, u64>,
    ) -> Result<Pending, StoreError> {
        if !read(&self.shared.sites).contains_key(&new.site) {
            return Err(StoreError::UnknownSite(new.site));
        }
        let site = new.site.clone();
        let log = self.log(&site)?;
        let id_key = new
            .decision_id
            .as_deref()
            .map(|id| decision_id_key(&site, id));
        if let Some(key) = &id_key {
            let logged = match batch_ids.get(key) {
                Some(index) => Some(*index),
                None => self
                    .shared
                    .decision_ids
                    .get(key)?
                    .and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes)),
            };
            if let Some(index) = logged {
                return repeat(&log, &site, index, &new);
            }
        }
        self.tail(&site)?.writable(&site)?;
        let made = self.tail(&site)?.append_decision(new, now)?;
        self.store_leaf(&site, &log, &made)?;
        if let Some(key) = id_key {
            batch_ids.insert(key, made.index);
        }
        let record = made
            .leaf
            .to_record(made.index, &made.hash)
            .ok_or_else(|| StoreError::Storage("a decision made no record".into()))?;
        Ok(Pending {
            site,
            record,
            leaf: made.bytes,
            repeated: false,
        })
    }

    /// Erases, from where the last pass stopped, the content of decisions stamped before
    /// `cutoff`, at most [`RETENTION_SLICE`] leaves a pass; says whether more remain.
    fn retain(&mut self, site: &str, cutoff: Timestamp) -> Result<(Retained, bool), StoreError> {
        let log = self.log(site)?;
        let size = self.tail(site)?.size();
        let mut index = self
            .shared
            .retention
            .get(site)?
            .and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes))
            .unwrap_or(0);
        let mut erased = 0;
        let mut looked = 0;
        let mut more = false;
        while index < size {
            if looked == RETENTION_SLICE {
                more = true;
                break;
            }
            looked += 1;
            let Some(stored) = log.leaf(index)? else {
                return Err(StoreError::Corrupt(format!("leaf {index} is missing")));
            };
            let (kind, time, leaf) = match &stored {
                StoredLeaf::Erased {
                    kind, server_time, ..
                } => (*kind, *server_time, None),
                StoredLeaf::Present(bytes) => {
                    let leaf = Leaf::decode(bytes)
                        .map_err(|e| StoreError::Corrupt(format!("leaf {index}: {e}")))?;
                    (leaf.kind(), leaf.server_time(), Some(leaf))
                }
            };
            match evidence::retention_step(kind, time, leaf.is_some(), cutoff) {
                evidence::RetentionStep::Stop => break,
                evidence::RetentionStep::Keep => {}
                evidence::RetentionStep::Erase => {
                    if let Some(leaf) = leaf {
                        let hash = stored.hash();
                        log.leaves
                            .insert(index.to_be_bytes(), erased_value(&leaf, &hash))?;
                        // The visitor index forgets the consent id; the decision id (random,
                        // naming nobody once the content is gone) stays, so a late retry is
                        // refused rather than logged again.
                        if let Some(record) = leaf.to_record(index, &hash) {
                            self.shared.by_visitor.remove(visitor_key(
                                site,
                                &record.consent_id,
                                index,
                            ))?;
                        }
                        erased += 1;
                    }
                }
            }
            index += 1;
        }
        self.shared.retention.insert(site, &index.to_be_bytes())?;
        Ok((
            Retained {
                erased,
                erased_below: index,
            },
            more,
        ))
    }
}

/// A retry of a decision already logged at `index`: the evidence rules say what to answer.
fn repeat(log: &SiteLog, site: &str, index: u64, new: &NewDecision) -> Result<Pending, StoreError> {
    let stored = log.leaf(index)?.ok_or_else(|| {
        StoreError::Corrupt(format!(
            "the decision id index names leaf {index}, which the log lacks"
        ))
    })?;
    let (record, leaf) = evidence::answer_repeat(&stored, index, new)?;
    Ok(Pending {
        site: site.to_owned(),
        record,
        leaf,
        repeated: true,
    })
}

fn mark<T>(
    result: &Result<T, StoreError>,
    site: &str,
    touched: &mut BTreeSet<String>,
    damaged: &mut BTreeSet<String>,
) {
    match result {
        Ok(_) => {
            touched.insert(site.to_owned());
        }
        Err(StoreError::SiteExists(_)) => {}
        Err(_) => {
            damaged.insert(site.to_owned());
        }
    }
}

/// Writes a leaf, then its indexes and the hash tile it completed (so that, after a crash, an
/// index never names a leaf the log lacks).
pub(super) fn store_leaf(
    shared: &Shared,
    site: &str,
    log: &SiteLog,
    made: &NewLeaf,
) -> Result<(), StoreError> {
    log.leaves
        .insert(made.index.to_be_bytes(), made.bytes.as_slice())?;
    index_leaf(shared, site, made.index, &made.leaf)?;
    if let Some(block) = &made.completed_block {
        let tile: Vec<u8> = block.leaf_hashes.iter().flatten().copied().collect();
        log.hashes.insert(tile_key(block.index), tile)?;
        log.hashes.insert(root_key(block.index), &block.root)?;
    }
    Ok(())
}

/// The index entries of one leaf.
fn index_leaf(shared: &Shared, site: &str, index: u64, leaf: &Leaf) -> Result<(), StoreError> {
    match leaf {
        Leaf::Revision(_) => {
            let key = [site_prefix(site), index.to_be_bytes().to_vec()].concat();
            shared.revision_leaves.insert(key, &[])?;
        }
        Leaf::Decision(d) => {
            shared
                .by_visitor
                .insert(visitor_key(site, &d.consent_id, index), &[])?;
            if let Some(id) = &d.decision_id {
                shared
                    .decision_ids
                    .insert(decision_id_key(site, id), &index.to_be_bytes())?;
            }
        }
        Leaf::Legacy(l) => {
            shared
                .by_visitor
                .insert(visitor_key(site, &l.record.consent_id, index), &[])?;
        }
    }
    Ok(())
}

/// After a crash, leaves past the latest checkpoint (a batch never answered) may lack their
/// index entries, or a full block its tile (restored when the log was opened): writes them.
pub(super) fn repair_indexes(
    shared: &Shared,
    site: &str,
    log: &SiteLog,
    tail: &LogTail,
) -> Result<(), StoreError> {
    let from = tail.checkpoint.as_ref().map_or(0, |c| c.size);
    let mut repaired = 0;
    for entry in log.leaves.range(from.to_be_bytes()..) {
        let (key, value) = entry?;
        let Some(index) = key.as_ref().try_into().ok().map(u64::from_be_bytes) else {
            continue;
        };
        if let StoredLeaf::Present(bytes) = stored_leaf(&value)? {
            let leaf = Leaf::decode(&bytes)
                .map_err(|e| StoreError::Corrupt(format!("leaf {index}: {e}")))?;
            index_leaf(shared, site, index, &leaf)?;
            repaired += 1;
        }
    }
    if repaired > 0 {
        tracing::warn!(
            site,
            repaired,
            "indexed the leaves an interrupted batch wrote after the latest checkpoint"
        );
    }
    Ok(())
}

fn accept(
    command: Command,
    appends: &mut FairQueue<AppendRequest>,
    admin: &mut Vec<Command>,
    shutdown: &mut Vec<oneshot::Sender<()>>,
) {
    match command {
        Command::Append {
            decision,
            now,
            reply,
        } => {
            let site = decision.site.clone();
            appends.push(
                &site,
                AppendRequest {
                    decision,
                    now,
                    reply,
                },
            );
        }
        Command::Shutdown { done } => shutdown.push(done),
        other => admin.push(other),
    }
}
