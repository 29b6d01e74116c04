//! `biscotte verify --site`: checks a site's whole log in a store, through the [`Store`] trait
//! (so any backend, from the command line or through the auditor's route while the server runs),
//! streaming, in flat memory. It checks every leaf's bytes (canonical, numbered, in time order,
//! each revision leaf against its stored configuration, the legacy chain), the hash tiles the
//! store keeps, and every checkpoint: signed by the log's key, and the root of the log's first
//! leaves at its size (so every checkpoint extends every earlier one).

use crate::store::{Store, StoreError, StoredLeaf};
use biscotte_shared::audit::{Problem, ProblemKind, push_problem};
use biscotte_shared::leaf::Leaf;
use biscotte_shared::merkle::{self, CompactRange, TILE_HEIGHT, TILE_WIDTH};
use biscotte_shared::note::{self, VerifierKey};
use biscotte_shared::revision::Revision;
use futures_util::StreamExt;
use serde::Serialize;
use std::collections::BTreeSet;

/// What a store verification found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct StoreReport {
    pub site: String,
    /// Leaves checked: the log up to its latest checkpoint.
    pub leaves: u64,
    pub decisions: u64,
    pub revisions: u64,
    pub erased: u64,
    pub checkpoints: u64,
    #[serde(serialize_with = "problems")]
    pub problems: Vec<Problem>,
    pub more_problems: u64,
    /// The size of the last checkpoint found to sign the log's leaves, as the check goes.
    #[serde(skip)]
    last_matching: Option<u64>,
    /// Whether a changed leaf was already located between two checkpoints.
    #[serde(skip)]
    located: bool,
}

fn problems<S: serde::Serializer>(list: &[Problem], s: S) -> Result<S::Ok, S::Error> {
    let lines: Vec<String> = list.iter().map(|p| p.to_string()).collect();
    lines.serialize(s)
}

impl StoreReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty() && self.more_problems == 0
    }

    fn problem(&mut self, index: Option<u64>, kind: ProblemKind, message: String) {
        push_problem(
            &mut self.problems,
            &mut self.more_problems,
            Problem {
                index,
                kind,
                message,
            },
        );
    }
}

/// Verifies `site`'s log in `store` against `key` (the log's verifier key).
pub async fn verify_store(
    store: &dyn Store,
    site: &str,
    key: &VerifierKey,
) -> Result<StoreReport, StoreError> {
    let mut report = StoreReport {
        site: site.to_owned(),
        ..StoreReport::default()
    };
    let Some(latest) = store.checkpoint(site).await? else {
        report.problem(
            None,
            ProblemKind::Removed,
            "the log has no signed checkpoint".into(),
        );
        return Ok(report);
    };
    let size = latest.size;
    let mut checkpoints = Checkpoints {
        stream: store.checkpoints(site),
        pending: None,
    };
    let mut leaves = store.leaves(site, 0, size);
    let mut range = CompactRange::new(0);
    let mut expected = 0u64;
    let mut last_record: Option<u64> = None;
    let mut last_time = None;
    // The legacy chain's last hash, while it can be followed (an erased record breaks it).
    let mut legacy_prev = Some("0".repeat(64));
    let mut published: BTreeSet<Revision> = BTreeSet::new();
    let mut block_start = CompactRange::new(0);
    check_checkpoints(&mut report, &mut checkpoints, 0, &range, key).await?;
    while let Some(entry) = leaves.next().await {
        let (index, stored) = entry?;
        if index != expected {
            report.problem(
                Some(expected),
                ProblemKind::Removed,
                format!(
                    "leaves {expected} to {} are missing",
                    index.saturating_sub(1)
                ),
            );
            break;
        }
        let hash = stored.hash();
        let (record_id, time) = match &stored {
            StoredLeaf::Erased {
                record_id,
                server_time,
                kind,
                ..
            } => {
                report.erased += 1;
                if *kind == biscotte_shared::leaf::LeafKind::Legacy {
                    legacy_prev = None;
                }
                (*record_id, Some(*server_time))
            }
            StoredLeaf::Present(bytes) => match Leaf::decode(bytes) {
                Err(e) => {
                    report.problem(
                        Some(index),
                        ProblemKind::NotCanonical,
                        format!("not a canonical leaf ({e})"),
                    );
                    (None, None)
                }
                Ok(leaf) => {
                    check_leaf(
                        store,
                        site,
                        index,
                        &leaf,
                        &mut report,
                        &mut published,
                        &mut legacy_prev,
                    )
                    .await?;
                    (leaf.record_id(), Some(leaf.server_time()))
                }
            },
        };
        if let Some(id) = record_id {
            report.decisions += 1;
            let want = last_record.map_or(1, |l| l + 1);
            if id != want {
                report.problem(
                    Some(index),
                    ProblemKind::Reordered,
                    format!("decision {id} where decision {want} was expected"),
                );
            }
            last_record = Some(id);
        }
        if let Some(t) = time {
            if last_time.is_some_and(|l| t < l) {
                report.problem(
                    Some(index),
                    ProblemKind::Reordered,
                    "stamped before the leaf before it".into(),
                );
            }
            last_time = Some(t);
        }
        range.append(hash);
        block_start.append(hash);
        expected = index + 1;
        if expected.is_multiple_of(TILE_WIDTH) {
            check_block(
                store,
                site,
                expected / TILE_WIDTH - 1,
                &block_start,
                &mut report,
            )
            .await?;
            block_start = CompactRange::new(expected);
        }
        check_checkpoints(&mut report, &mut checkpoints, expected, &range, key).await?;
    }
    if expected < size {
        report.problem(
            Some(expected),
            ProblemKind::Removed,
            format!("the log ends at leaf {expected}, but its checkpoint covers {size} leaves"),
        );
    }
    report.leaves = expected;
    Ok(report)
}

/// Checks every stored checkpoint up to the size the stream has reached (`at` leaves, whose
/// root `range` holds).
async fn check_checkpoints(
    report: &mut StoreReport,
    checkpoints: &mut Checkpoints,
    at: u64,
    range: &CompactRange,
    key: &VerifierKey,
) -> Result<(), StoreError> {
    loop {
        if checkpoints.pending.is_none() {
            checkpoints.pending = checkpoints.stream.next().await.transpose()?;
        }
        let Some((size, _)) = &checkpoints.pending else {
            return Ok(());
        };
        if *size > at {
            return Ok(());
        }
        let Some((size, text)) = checkpoints.pending.take() else {
            return Ok(());
        };
        let root = if size == at { range.root() } else { None };
        check_checkpoint(report, size, &text, root, key);
    }
}

/// The store's checkpoints, read in size order as the leaves go by.
struct Checkpoints {
    stream: futures_util::stream::BoxStream<'static, Result<(u64, String), StoreError>>,
    pending: Option<(u64, String)>,
}

/// The checks of one leaf's content.
async fn check_leaf(
    store: &dyn Store,
    site: &str,
    index: u64,
    leaf: &Leaf,
    report: &mut StoreReport,
    published: &mut BTreeSet<Revision>,
    legacy_prev: &mut Option<String>,
) -> Result<(), StoreError> {
    match leaf {
        Leaf::Legacy(l) => {
            if legacy_prev
                .as_ref()
                .is_some_and(|p| l.record.prev_hash != *p)
            {
                report.problem(
                    Some(index),
                    ProblemKind::Reordered,
                    "a legacy record that does not follow the one before it in its chain".into(),
                );
            }
            *legacy_prev = Some(l.record.hash.clone());
            if l.record.site != site {
                report.problem(
                    Some(index),
                    ProblemKind::Inserted,
                    "another site's record".into(),
                );
            }
        }
        Leaf::Decision(d) => {
            if d.site != site {
                report.problem(
                    Some(index),
                    ProblemKind::Inserted,
                    "another site's decision".into(),
                );
            }
            if !published.contains(&d.revision) {
                report.problem(
                    Some(index),
                    ProblemKind::Altered,
                    format!(
                        "names revision {}, which the log did not publish before it",
                        d.revision
                    ),
                );
            }
        }
        Leaf::Revision(r) => {
            report.revisions += 1;
            published.insert(r.revision.clone());
            match store.published(site, &r.revision).await? {
                None => report.problem(
                    Some(index),
                    ProblemKind::Removed,
                    format!(
                        "publishes revision {}, which the store no longer holds",
                        r.revision
                    ),
                ),
                Some(config) => {
                    let content = config.content_hash();
                    let prefix = content
                        .map(|h| biscotte_shared::revision::hex(h.get(..16).unwrap_or_default()));
                    if config.recipe != r.recipe
                        || content != Some(r.content_hash)
                        || prefix.as_deref() != Some(r.revision.as_str())
                        || !config.revision_matches()
                    {
                        report.problem(
                            Some(index),
                            ProblemKind::Altered,
                            format!(
                                "revision {}: the stored configuration and words are not the ones published",
                                r.revision
                            ),
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

/// A complete block's root, recomputed from its leaves, against the hash tile the store keeps;
/// on a difference, the leaf is found through the tile.
async fn check_block(
    store: &dyn Store,
    site: &str,
    block: u64,
    leaves: &CompactRange,
    report: &mut StoreReport,
) -> Result<(), StoreError> {
    let stored = store.nodes(site, &[(TILE_HEIGHT, block)]).await?;
    let computed = leaves.hashes().first().copied();
    if stored.first().copied() == computed {
        return Ok(());
    }
    let first = block * TILE_WIDTH;
    let nodes: Vec<(u8, u64)> = (first..first + TILE_WIDTH).map(|i| (0, i)).collect();
    let tile = store.nodes(site, &nodes).await?;
    let mut own = store.leaves(site, first, first + TILE_WIDTH);
    let mut found = false;
    while let Some(entry) = own.next().await {
        let (index, leaf) = entry?;
        let kept = tile.get(usize::try_from(index - first).unwrap_or(usize::MAX));
        if kept != Some(&leaf.hash()) {
            report.problem(
                Some(index),
                ProblemKind::Altered,
                "its bytes do not hash to the leaf hash the log's tile keeps: the leaf was altered"
                    .into(),
            );
            found = true;
        }
    }
    if !found {
        report.problem(
            Some(first),
            ProblemKind::Altered,
            format!(
                "the hash tile of leaves {first} to {} was altered",
                first + TILE_WIDTH - 1
            ),
        );
    }
    Ok(())
}

/// Opens one checkpoint with the log's key and compares it with the leaves' root at its size.
pub fn check_checkpoint(
    report: &mut StoreReport,
    size: u64,
    text: &str,
    root: Option<merkle::Hash>,
    key: &VerifierKey,
) {
    report.checkpoints += 1;
    match note::open_checkpoint(text, key) {
        Err(e) => report.problem(
            None,
            ProblemKind::BadSignature,
            format!("the checkpoint of {size} leaves does not verify with the log's key: {e}"),
        ),
        Ok(cp) if cp.size != size => report.problem(
            None,
            ProblemKind::Altered,
            format!(
                "the checkpoint kept for {size} leaves says {} leaves",
                cp.size
            ),
        ),
        Ok(cp) if Some(cp.root) != root => {
            // The first checkpoint that no longer matches, after one that does, says where the
            // log changed: among the leaves signed in between.
            let located = match report.last_matching {
                Some(before) if !report.located && size > before => {
                    report.located = true;
                    Some(before)
                }
                _ => None,
            };
            let whereabouts = match located {
                Some(before) if size - before == 1 => {
                    format!("; leaf {before} was altered or replaced after it was signed")
                }
                Some(before) => format!(
                    "; the change is among leaves {before} to {}, the ones it added to the checkpoint before",
                    size - 1
                ),
                None => String::new(),
            };
            report.problem(
                located,
                ProblemKind::SplitView,
                format!(
                    "the checkpoint of {size} leaves does not sign the root of the log's first {size} \
                     leaves: the log was rewritten after it was signed, or the checkpoint swapped{whereabouts}"
                ),
            );
        }
        Ok(_) => report.last_matching = Some(size),
    }
}
