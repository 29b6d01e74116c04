//! Upgrading, in place, a sled store written by releases up to a41f9c0, whose logs were hash
//! chains of JSON records (`log/<site>`, keyed by record number), into this release's trees.
//!
//! Each record becomes a legacy leaf holding the exact bytes its hash covered, at index
//! `record_id - 1`, after its hash and its link to the record before are checked; then every
//! revision the site published is logged as a revision leaf (first publications first, the live
//! one last, stamped with the time of the upgrade), and the log's first checkpoint is signed.
//! The store is marked upgraded only once all of it is durable, and the old trees are dropped
//! after that: an upgrade interrupted by a crash starts again from the old trees.

use super::StoreError;
use super::sled_store::{FORMAT, Shared, read, site_prefix};
use super::sled_writer::store_leaf;
use crate::evidence::LogKey;
use biscotte_shared::api::PublishedConfig;
use biscotte_shared::leaf::{Leaf, LegacyLeaf, LegacyRecord};

/// The `prev_hash` of a chain's first record.
const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

pub(super) fn upgrade(shared: &Shared, key: &LogKey) -> Result<(), StoreError> {
    let legacy: Vec<String> = shared
        .db
        .tree_names()
        .iter()
        .filter_map(|name| name.strip_prefix(b"log/"))
        .map(|site| String::from_utf8_lossy(site).into_owned())
        .collect();
    for site in &legacy {
        // Earlier releases' `verify --site <typo>` created an empty log for a name that is no
        // site; one that holds records has no site to belong to.
        if !read(&shared.sites).contains_key(site)
            && !shared.db.open_tree(format!("log/{site}"))?.is_empty()
        {
            return Err(StoreError::Corrupt(format!(
                "the store holds a log for {site:?}, which is not a registered site"
            )));
        }
    }
    let now = crate::clock::now();
    let sites: Vec<String> = read(&shared.sites).keys().cloned().collect();
    for site in &sites {
        let old = if legacy.contains(site) {
            Some(shared.db.open_tree(format!("log/{site}"))?)
        } else {
            None
        };
        upgrade_site(shared, key, site, old.as_ref(), now)?;
    }
    shared.db.flush()?;
    shared.meta.insert("format", FORMAT)?;
    shared.db.flush()?;
    for site in &legacy {
        shared.db.drop_tree(format!("log/{site}"))?;
    }
    shared.db.flush()?;
    if !sites.is_empty() {
        tracing::info!(sites = ?sites, "upgraded the logs of an earlier release into transparency logs");
    }
    Ok(())
}

fn upgrade_site(
    shared: &Shared,
    key: &LogKey,
    site: &str,
    old: Option<&sled::Tree>,
    now: biscotte_shared::Timestamp,
) -> Result<(), StoreError> {
    // What an interrupted upgrade may have left.
    for name in ["leaves", "hashes", "checkpoints"] {
        shared.db.drop_tree(format!("{name}/{site}"))?;
    }
    for index in [
        &shared.by_visitor,
        &shared.revision_leaves,
        &shared.decision_ids,
    ] {
        for k in index.scan_prefix(site_prefix(site)).keys() {
            index.remove(k?)?;
        }
    }
    let (log, mut tail) = shared.open_log(site)?;
    let mut prev = GENESIS_HASH.to_owned();
    for (expected, entry) in (1u64..).zip(old.into_iter().flat_map(|t| t.iter())) {
        let (_, bytes) = entry?;
        let record: LegacyRecord = serde_json::from_slice(&bytes).map_err(|e| {
            StoreError::Corrupt(format!("record {expected} of {site:?} cannot be read: {e}"))
        })?;
        let altered = |what: &str| {
            StoreError::Corrupt(format!(
                "the log of {site:?} was altered before this upgrade: record {expected} {what}; \
                 nothing was changed (check it with the previous release's `biscotte verify`)"
            ))
        };
        if record.record_id != expected {
            return Err(altered(&format!("is numbered {}", record.record_id)));
        }
        if record.prev_hash != prev {
            return Err(altered("does not follow the record before it"));
        }
        prev = record.hash.clone();
        let leaf =
            LegacyLeaf::from_stored(record).map_err(|_| altered("does not match its own hash"))?;
        let made = tail.append_existing(Leaf::Legacy(leaf))?;
        store_leaf(shared, site, &log, &made)?;
    }
    // Every revision the site published, so each decision's revision has its leaf.
    let mut revisions: Vec<PublishedConfig> = Vec::new();
    for entry in shared.configs_tree.scan_prefix(site_prefix(site)) {
        let (_, bytes) = entry?;
        revisions.push(serde_json::from_slice(&bytes)?);
    }
    let live = read(&shared.sites)
        .get(site)
        .map(|s| s.current_revision.clone());
    revisions.sort_by_key(|p| (Some(&p.revision) == live.as_ref(), p.published_at));
    for published in &revisions {
        let made = tail.append_revision(published, now)?;
        store_leaf(shared, site, &log, &made)?;
    }
    let cp = tail.sign(key, site)?;
    log.checkpoints
        .insert(cp.size.to_be_bytes(), cp.text.as_bytes())?;
    shared
        .meta
        .insert("trust_root", serde_json::to_vec(&key.trust_root())?)?;
    *super::sled_store::write(&shared.trust_root) = Some(key.trust_root());
    Ok(())
}
