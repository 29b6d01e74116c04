//! The PostgreSQL store's group commit: each server gathers the decisions that arrive while its
//! previous batch is being written, and writes the next batch in one transaction.
//!
//! That transaction locks the tail row of every site the batch touches (`SELECT … FOR UPDATE`,
//! in site order, so two servers never wait for each other in a cycle), brings the server's
//! tree edge up to the tail it locked (the leaves other servers appended since, read back and
//! hashed in), applies the evidence rules (`crate::evidence`: numbers, server time clamped to the
//! tail's last stamp, leaf bytes), inserts the batch's leaves in one statement, signs one
//! checkpoint per site, updates the tail and commits. Only then are the decisions answered, each
//! with its proof in that checkpoint. This is how Trillian Tessera's database drivers share one
//! log between servers.

use super::pg_store::{Inner, db_error, hash_of, stored_leaf_of};
use super::writer::{FairQueue, MAX_BATCH};
use super::{NewDecision, StoreError, StoredLeaf};
use crate::evidence::{self, LogTail, NewLeaf, SignedCheckpoint};
use biscotte_shared::Timestamp;
use biscotte_shared::api::ConsentRecord;
use biscotte_shared::merkle::{self, Hash, TILE_WIDTH, TreeEdge};
use futures_util::StreamExt;
use sqlx::{PgConnection, Row};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// The longest a batch's transaction may take before its decisions are answered 503 (the
/// database is unreachable or stuck); the banner retries them.
const BATCH_TIMEOUT: Duration = Duration::from_secs(10);

/// What the writer answers an append: the record, its leaf and its proof in a checkpoint.
#[derive(Debug)]
pub(super) struct Answer {
    pub record: ConsentRecord,
    pub leaf: Vec<u8>,
    /// `None` for a repeat, whose proof the store reads after the answer.
    pub proof: Option<Vec<Hash>>,
    pub checkpoint: Arc<SignedCheckpoint>,
    pub repeated: bool,
}

#[allow(clippy::large_enum_variant)] // one a request, moved once
pub(super) enum Command {
    Append {
        decision: NewDecision,
        now: Timestamp,
        reply: oneshot::Sender<Result<Answer, StoreError>>,
    },
    Shutdown {
        done: oneshot::Sender<()>,
    },
}

struct Request {
    decision: NewDecision,
    now: Timestamp,
    reply: oneshot::Sender<Result<Answer, StoreError>>,
}

/// A site's tail row, as a batch locked it.
pub(super) struct TailRow {
    pub size: u64,
    pub root: Hash,
    pub next_record_id: u64,
    pub last_stamp: Timestamp,
    pub checkpoint: String,
}

/// The writer task: one per server, on the store's runtime.
pub(super) async fn run(inner: Arc<Inner>, mut commands: mpsc::Receiver<Command>) {
    // The tree edge of each site as this server last committed it; taken out for a batch and put
    // back only when its transaction commits.
    let mut edges: HashMap<String, TreeEdge> = HashMap::new();
    let mut queue: FairQueue<Request> = FairQueue::default();
    let mut stopping = None;
    loop {
        if queue.is_empty() {
            if stopping.is_some() {
                break;
            }
            match commands.recv().await {
                Some(command) => accept(command, &mut queue, &mut stopping),
                None => break,
            }
        }
        while queue.len() < MAX_BATCH * 4 {
            match commands.try_recv() {
                Ok(command) => accept(command, &mut queue, &mut stopping),
                Err(_) => break,
            }
        }
        let batch = queue.take_batch(MAX_BATCH);
        if !batch.is_empty() {
            write_batch(&inner, &mut edges, batch).await;
        }
    }
    inner.heartbeat.stopped();
    commands.close();
    // Writes that raced the shutdown are refused, never dropped silently.
    while let Ok(command) = commands.try_recv() {
        if let Command::Append { reply, .. } = command {
            let _ = reply.send(Err(StoreError::Unavailable(
                "the store is shutting down".into(),
            )));
        }
    }
    if let Some(done) = stopping {
        let _ = done.send(());
    }
}

fn accept(
    command: Command,
    queue: &mut FairQueue<Request>,
    stopping: &mut Option<oneshot::Sender<()>>,
) {
    match command {
        Command::Append {
            decision,
            now,
            reply,
        } => {
            if stopping.is_some() {
                let _ = reply.send(Err(StoreError::Unavailable(
                    "the store is shutting down".into(),
                )));
                return;
            }
            let site = decision.site.clone();
            queue.push(
                &site,
                Request {
                    decision,
                    now,
                    reply,
                },
            );
        }
        Command::Shutdown { done } => *stopping = Some(done),
    }
}

/// A decision applied in the transaction, waiting for its commit.
struct Pending {
    record: ConsentRecord,
    leaf: Vec<u8>,
    repeated: bool,
}

/// Sites whose transactions one batch runs at once, each on a connection of the pool.
const CONCURRENT_SITES: usize = 8;

async fn write_batch(
    inner: &Arc<Inner>,
    edges: &mut HashMap<String, TreeEdge>,
    batch: Vec<Request>,
) {
    inner.heartbeat.batch_started();
    let started = Instant::now();
    let size = batch.len();
    let mut by_site: BTreeMap<String, Vec<Request>> = BTreeMap::new();
    for request in batch {
        by_site
            .entry(request.decision.site.clone())
            .or_default()
            .push(request);
    }
    // One transaction per site, several at once: two sites never wait for each other's rows,
    // and PostgreSQL's group commit shares their WAL flushes.
    let sites = by_site.into_iter().map(|(site, requests)| {
        let kept = edges.remove(&site);
        let inner = inner.clone();
        async move {
            let written =
                tokio::time::timeout(BATCH_TIMEOUT, write_site(&inner, &site, kept, &requests))
                    .await
                    .unwrap_or_else(|_| {
                        Err(StoreError::Unavailable(format!(
                            "the database did not commit within {} s",
                            BATCH_TIMEOUT.as_secs()
                        )))
                    });
            (site, requests, written)
        }
    });
    let done: Vec<_> = futures_util::stream::iter(sites)
        .buffer_unordered(CONCURRENT_SITES)
        .collect()
        .await;
    for (site, requests, written) in done {
        match written {
            Ok(work) => {
                if let Some(edge) = work.edge {
                    edges.insert(site, edge);
                }
                for (request, result) in requests.into_iter().zip(work.results) {
                    let answer = result.map(|p| {
                        let proof = (!p.repeated)
                            .then(|| work.proofs.get(&p.record.leaf_index).cloned())
                            .flatten();
                        Answer {
                            record: p.record,
                            leaf: p.leaf,
                            proof,
                            checkpoint: work.checkpoint.clone(),
                            repeated: p.repeated,
                        }
                    });
                    let _ = request.reply.send(answer);
                }
            }
            Err(e) => {
                // What the database holds is unknown to this server now: the edge is read again.
                let why = e.to_string();
                tracing::warn!(site, error = %why, decisions = requests.len(), "a batch was not written");
                for request in requests {
                    let _ = request.reply.send(Err(match &e {
                        StoreError::UnknownSite(_) => StoreError::UnknownSite(site.clone()),
                        _ => unavailable(&why),
                    }));
                }
            }
        }
    }
    inner.heartbeat.batch_done();
    (inner.on_batch)(size, started.elapsed());
}

fn unavailable(why: &str) -> StoreError {
    StoreError::Unavailable(format!("the decision was not written ({why}); retry"))
}

/// What a batch did to one site, answered once its transaction committed.
struct SiteWork {
    /// One per request, in order.
    results: Vec<Result<Pending, StoreError>>,
    /// The edge after the batch, to keep once committed.
    edge: Option<TreeEdge>,
    checkpoint: Arc<SignedCheckpoint>,
    proofs: HashMap<u64, Vec<Hash>>,
}

/// One site's part of a batch, in one transaction. The decision ids are looked up before the
/// tail row is locked (ids are random, and the log never forgets one), so the lock is held for
/// the fewest round trips; the unique index on decision ids catches another server logging one
/// of them in between, and the site's part is then done again with the lookup under the lock.
async fn write_site(
    inner: &Arc<Inner>,
    site: &str,
    mut kept: Option<TreeEdge>,
    requests: &[Request],
) -> Result<SiteWork, StoreError> {
    let ids: Vec<String> = requests
        .iter()
        .filter_map(|r| r.decision.decision_id.clone())
        .collect();
    let mut raced = false;
    loop {
        let mut tx = inner.pool.begin().await.map_err(db_error)?;
        let mut logged = HashMap::new();
        if !raced {
            logged = logged_ids(&mut tx, site, &ids).await?;
        }
        let mut tails = lock_tails(&mut tx, &[site.to_owned()]).await?;
        let row = tails
            .remove(site)
            .ok_or_else(|| StoreError::UnknownSite(site.to_owned()))?;
        if raced {
            logged = logged_ids(&mut tx, site, &ids).await?;
        }
        match apply_site(inner, &mut tx, kept.take(), site, &row, requests, logged).await {
            Ok(work) => {
                tx.commit().await.map_err(db_error)?;
                return Ok(work);
            }
            Err(Raced) if !raced => raced = true,
            Err(Raced) => {
                return Err(StoreError::Storage(format!(
                    "a decision id of {site:?} was logged twice under the tail's lock"
                )));
            }
            Err(Failed(e)) => return Err(e),
        }
    }
}

/// Why a site's part of a batch was not applied.
enum SiteError {
    /// Another server logged one of the batch's decision ids after the lookup.
    Raced,
    Failed(StoreError),
}
use SiteError::{Failed, Raced};

impl From<StoreError> for SiteError {
    fn from(e: StoreError) -> SiteError {
        Failed(e)
    }
}

/// The leaves of a log that hold these decision ids.
async fn logged_ids(
    conn: &mut PgConnection,
    site: &str,
    ids: &[String],
) -> Result<HashMap<String, (u64, StoredLeaf)>, StoreError> {
    let mut logged = HashMap::new();
    if ids.is_empty() {
        return Ok(logged);
    }
    let rows = sqlx::query(
        "SELECT decision_id, idx, kind, record_id, server_time, hash, bytes FROM leaves \
         WHERE site = $1 AND decision_id = ANY($2)",
    )
    .bind(site)
    .bind(ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    for r in rows {
        let id: String = r.try_get("decision_id").map_err(db_error)?;
        let idx: i64 = r.try_get("idx").map_err(db_error)?;
        logged.insert(id, (u64::try_from(idx).unwrap_or(0), stored_leaf_of(&r)?));
    }
    Ok(logged)
}

/// Locks the tail rows of `sites`, in site order.
pub(super) async fn lock_tails(
    conn: &mut PgConnection,
    sites: &[String],
) -> Result<HashMap<String, TailRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT site, size, root, next_record_id, last_stamp, checkpoint FROM log_tails \
         WHERE site = ANY($1) ORDER BY site FOR UPDATE",
    )
    .bind(sites)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let mut out = HashMap::new();
    for row in rows {
        let site: String = row.try_get("site").map_err(db_error)?;
        out.insert(site, tail_row(&row)?);
    }
    Ok(out)
}

pub(super) fn tail_row(row: &sqlx::postgres::PgRow) -> Result<TailRow, StoreError> {
    let size: i64 = row.try_get("size").map_err(db_error)?;
    let root: Vec<u8> = row.try_get("root").map_err(db_error)?;
    let next: i64 = row.try_get("next_record_id").map_err(db_error)?;
    let stamp: i64 = row.try_get("last_stamp").map_err(db_error)?;
    Ok(TailRow {
        size: u64::try_from(size).unwrap_or(0),
        root: hash_of(&root)?,
        next_record_id: u64::try_from(next).unwrap_or(1),
        last_stamp: Timestamp::from_millis(stamp),
        checkpoint: row.try_get("checkpoint").map_err(db_error)?,
    })
}

/// The tree edge at the tail this transaction locked: the one this server kept, brought up to
/// date with the leaves other servers appended since, or rebuilt from the blocks and the last
/// partial block. `Err(why)` inside when the stored leaves do not hash to the root the tail
/// signed: the log is damaged and is not extended.
pub(super) async fn edge_at(
    conn: &mut PgConnection,
    site: &str,
    kept: Option<TreeEdge>,
    tail: &TailRow,
) -> Result<Result<TreeEdge, String>, StoreError> {
    if let Some(mut edge) = kept
        && edge.size() <= tail.size
    {
        if edge.size() < tail.size {
            for hash in leaf_hashes(conn, site, edge.size(), tail.size).await? {
                edge.push(hash);
            }
        }
        if edge.size() == tail.size && edge.root() == tail.root {
            return Ok(Ok(edge));
        }
    }
    let blocks = tail.size / TILE_WIDTH;
    let roots: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT root FROM blocks WHERE site = $1 AND idx < $2 ORDER BY idx")
            .bind(site)
            .bind(i64::try_from(blocks).unwrap_or(i64::MAX))
            .fetch_all(&mut *conn)
            .await
            .map_err(db_error)?;
    let roots = roots
        .iter()
        .map(|r| hash_of(r))
        .collect::<Result<Vec<Hash>, _>>()?;
    if roots.len() as u64 != blocks {
        return Ok(Err(format!(
            "{} of its {blocks} complete blocks are stored",
            roots.len()
        )));
    }
    let tail_hashes = leaf_hashes(conn, site, blocks * TILE_WIDTH, tail.size).await?;
    if tail_hashes.len() as u64 != tail.size - blocks * TILE_WIDTH {
        return Ok(Err("leaves are missing at its end".into()));
    }
    let edge = TreeEdge::restore(roots, &tail_hashes).map_err(|e| {
        StoreError::Corrupt(format!("the tree of {site:?} cannot be restored: {e}"))
    })?;
    if edge.root() != tail.root {
        return Ok(Err(format!(
            "its {} leaves do not hash to the root of its latest checkpoint",
            tail.size
        )));
    }
    Ok(Ok(edge))
}

/// The hashes of leaves `begin..end`, in order.
async fn leaf_hashes(
    conn: &mut PgConnection,
    site: &str,
    begin: u64,
    end: u64,
) -> Result<Vec<Hash>, StoreError> {
    let rows: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT hash FROM leaves WHERE site = $1 AND idx >= $2 AND idx < $3 ORDER BY idx",
    )
    .bind(site)
    .bind(i64::try_from(begin).unwrap_or(i64::MAX))
    .bind(i64::try_from(end).unwrap_or(i64::MAX))
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    rows.iter().map(|h| hash_of(h)).collect()
}

/// Applies one site's requests in its transaction, under its tail's lock.
async fn apply_site(
    inner: &Arc<Inner>,
    conn: &mut PgConnection,
    kept: Option<TreeEdge>,
    site: &str,
    row: &TailRow,
    requests: &[Request],
    mut logged: HashMap<String, (u64, StoredLeaf)>,
) -> Result<SiteWork, SiteError> {
    let latest = Arc::new(SignedCheckpoint {
        size: row.size,
        root: row.root,
        text: row.checkpoint.clone(),
    });
    let edge = match edge_at(conn, site, kept, row).await? {
        Ok(edge) => edge,
        Err(why) => {
            tracing::error!(site, why, "a log does not match its checkpoint");
            return Ok(SiteWork {
                results: requests
                    .iter()
                    .map(|_| {
                        Err(StoreError::Unavailable(format!(
                            "the log of {site:?} does not match what it signed ({why}); nothing \
                             is logged until an operator runs `biscotte verify --site {site}`"
                        )))
                    })
                    .collect(),
                edge: None,
                checkpoint: latest,
                proofs: HashMap::new(),
            });
        }
    };
    let mut tail = LogTail {
        next_record_id: row.next_record_id,
        last_stamp: row.last_stamp,
        tree: Arc::new(RwLock::new(edge)),
        checkpoint: Some(latest.clone()),
        damaged: None,
    };
    let mut made: Vec<NewLeaf> = Vec::new();
    let mut results = Vec::with_capacity(requests.len());
    for request in requests {
        let repeat = request
            .decision
            .decision_id
            .as_ref()
            .and_then(|id| logged.get(id));
        let result = match repeat {
            Some((index, stored)) => evidence::answer_repeat(stored, *index, &request.decision)
                .map(|(record, leaf)| Pending {
                    record,
                    leaf,
                    repeated: true,
                }),
            None => match tail.append_decision(request.decision.clone(), request.now) {
                Ok(leaf) => {
                    let record = leaf
                        .leaf
                        .to_record(leaf.index, &leaf.hash)
                        .ok_or_else(|| StoreError::Storage("a decision made no record".into()));
                    if let (Some(id), Ok(_)) = (&request.decision.decision_id, &record) {
                        logged.insert(
                            id.clone(),
                            (leaf.index, StoredLeaf::Present(leaf.bytes.clone())),
                        );
                    }
                    let bytes = leaf.bytes.clone();
                    made.push(leaf);
                    record.map(|record| Pending {
                        record,
                        leaf: bytes,
                        repeated: false,
                    })
                }
                Err(e) => Err(e),
            },
        };
        results.push(result);
    }
    let mut checkpoint = latest;
    let mut proofs = HashMap::new();
    if !made.is_empty() {
        let signed = tail.sign(&inner.key, site)?;
        append_and_sign(conn, site, &made, &tail, &signed).await?;
        let edge = evidence::read_tree(&tail.tree);
        // The batch's leaves are in the blocks the edge holds whole: no block is read.
        let source = edge.source(|_| Err(()));
        for leaf in &made {
            if let Ok(proof) = merkle::inclusion_proof(&source, leaf.index, signed.size) {
                proofs.insert(leaf.index, proof);
            }
        }
        drop(edge);
        checkpoint = signed;
    }
    let edge = Arc::try_unwrap(tail.tree)
        .ok()
        .map(|lock| lock.into_inner().unwrap_or_else(|p| p.into_inner()));
    Ok(SiteWork {
        results,
        edge,
        checkpoint,
        proofs,
    })
}

/// The leaves of a batch, its checkpoint and the tail after it, in one statement (the lock is
/// held for as few round trips as can be), then the blocks the leaves completed. A decision id
/// another server logged meanwhile is [`SiteError::Raced`].
async fn append_and_sign(
    conn: &mut PgConnection,
    site: &str,
    made: &[NewLeaf],
    tail: &LogTail,
    signed: &SignedCheckpoint,
) -> Result<(), SiteError> {
    let rows: Vec<LeafRow> = made.iter().map(LeafRow::of).collect();
    let columns = LeafColumns::of(&rows);
    let written = sqlx::query(
        "WITH leaves_added AS (INSERT INTO leaves (site, idx, kind, record_id, server_time, hash, \
         bytes, consent_id, decision_id) SELECT $1, * FROM UNNEST($2::bigint[], $3::smallint[], \
         $4::bigint[], $5::bigint[], $6::bytea[], $7::bytea[], $8::text[], $9::text[])), \
         checkpoint_added AS (INSERT INTO checkpoints (site, size, note) VALUES ($1, $10, $11)) \
         UPDATE log_tails SET size = $10, root = $12, next_record_id = $13, last_stamp = $14, \
         checkpoint = $11 WHERE site = $1",
    );
    let written = columns
        .bind(written.bind(site))
        .bind(db_index(signed.size))
        .bind(&signed.text)
        .bind(signed.root.as_slice())
        .bind(db_index(tail.next_record_id))
        .bind(tail.last_stamp.as_millis())
        .execute(&mut *conn)
        .await;
    match written {
        Err(sqlx::Error::Database(d)) if d.code().as_deref() == Some("23505") => return Err(Raced),
        Err(e) => return Err(Failed(db_error(e))),
        Ok(_) => {}
    }
    for leaf in made {
        if let Some(block) = &leaf.completed_block {
            insert_block(conn, site, block.index, &block.root, &block.leaf_hashes).await?;
        }
    }
    Ok(())
}

/// A row of the `leaves` table.
pub(super) struct LeafRow {
    pub idx: u64,
    pub kind: i16,
    pub record_id: Option<u64>,
    pub time: Timestamp,
    pub hash: Hash,
    /// `None` once retention erased the leaf's content.
    pub bytes: Option<Vec<u8>>,
    pub consent: Option<String>,
    pub decision: Option<String>,
}

impl LeafRow {
    fn of(leaf: &NewLeaf) -> LeafRow {
        let (consent, decision) = super::pg_store::ids_of(&leaf.leaf);
        LeafRow {
            idx: leaf.index,
            kind: leaf.leaf.kind() as i16,
            record_id: leaf.leaf.record_id(),
            time: leaf.leaf.server_time(),
            hash: leaf.hash,
            bytes: Some(leaf.bytes.clone()),
            consent,
            decision,
        }
    }
}

fn db_index(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Leaf rows as the arrays `UNNEST` reads, column by column ($2 to $9 of the inserts).
struct LeafColumns<'a> {
    idx: Vec<i64>,
    kind: Vec<i16>,
    record_id: Vec<Option<i64>>,
    time: Vec<i64>,
    hash: Vec<&'a [u8]>,
    bytes: Vec<Option<&'a [u8]>>,
    consent: Vec<Option<&'a str>>,
    decision: Vec<Option<&'a str>>,
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

impl<'a> LeafColumns<'a> {
    fn of(rows: &'a [LeafRow]) -> LeafColumns<'a> {
        LeafColumns {
            idx: rows.iter().map(|r| db_index(r.idx)).collect(),
            kind: rows.iter().map(|r| r.kind).collect(),
            record_id: rows.iter().map(|r| r.record_id.map(db_index)).collect(),
            time: rows.iter().map(|r| r.time.as_millis()).collect(),
            hash: rows.iter().map(|r| r.hash.as_slice()).collect(),
            bytes: rows.iter().map(|r| r.bytes.as_deref()).collect(),
            consent: rows.iter().map(|r| r.consent.as_deref()).collect(),
            decision: rows.iter().map(|r| r.decision.as_deref()).collect(),
        }
    }

    fn bind<'q>(self, query: Query<'q>) -> Query<'q>
    where
        'a: 'q,
    {
        query
            .bind(self.idx)
            .bind(self.kind)
            .bind(self.record_id)
            .bind(self.time)
            .bind(self.hash)
            .bind(self.bytes)
            .bind(self.consent)
            .bind(self.decision)
    }
}

/// Inserts leaves in one statement.
pub(super) async fn insert_rows(
    conn: &mut PgConnection,
    site: &str,
    rows: &[LeafRow],
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let query = sqlx::query(
        "INSERT INTO leaves (site, idx, kind, record_id, server_time, hash, bytes, consent_id, \
         decision_id) SELECT $1, * FROM UNNEST($2::bigint[], $3::smallint[], $4::bigint[], \
         $5::bigint[], $6::bytea[], $7::bytea[], $8::text[], $9::text[])",
    );
    LeafColumns::of(rows)
        .bind(query.bind(site))
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Inserts a complete block: its root and its 256 leaf hashes.
pub(super) async fn insert_block(
    conn: &mut PgConnection,
    site: &str,
    block: u64,
    root: &Hash,
    leaf_hashes: &[Hash],
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO blocks (site, idx, root, hashes) VALUES ($1, $2, $3, $4)")
        .bind(site)
        .bind(db_index(block))
        .bind(root.as_slice())
        .bind(leaf_hashes.concat())
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Inserts leaves the rules made, in one statement, and the blocks they complete.
pub(super) async fn insert_leaves(
    conn: &mut PgConnection,
    site: &str,
    made: &[NewLeaf],
) -> Result<(), StoreError> {
    let rows: Vec<LeafRow> = made.iter().map(LeafRow::of).collect();
    insert_rows(conn, site, &rows).await?;
    for leaf in made {
        if let Some(block) = &leaf.completed_block {
            insert_block(conn, site, block.index, &block.root, &block.leaf_hashes).await?;
        }
    }
    Ok(())
}

/// Writes the checkpoint just signed and the tail after it.
pub(super) async fn write_tail(
    conn: &mut PgConnection,
    site: &str,
    tail: &LogTail,
    signed: &SignedCheckpoint,
) -> Result<(), StoreError> {
    let size = i64::try_from(signed.size).unwrap_or(i64::MAX);
    sqlx::query("INSERT INTO checkpoints (site, size, note) VALUES ($1, $2, $3)")
        .bind(site)
        .bind(size)
        .bind(&signed.text)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    sqlx::query(
        "INSERT INTO log_tails (site, size, root, next_record_id, last_stamp, checkpoint) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (site) DO UPDATE SET size = $2, root = $3, \
         next_record_id = $4, last_stamp = $5, checkpoint = $6",
    )
    .bind(site)
    .bind(size)
    .bind(signed.root.to_vec())
    .bind(i64::try_from(tail.next_record_id).unwrap_or(i64::MAX))
    .bind(tail.last_stamp.as_millis())
    .bind(&signed.text)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(())
}
