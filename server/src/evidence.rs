//! The evidence rules of every site's log, above the storage backends: numbering, server time,
//! the leaf encoding, the Merkle tree, checkpoint signing, the exactly-once check and retention.
//!
//! A backend keeps, per site, a [`LogTail`] (what the next append needs) and stores what these
//! functions produce: leaf bytes at their index, the hash tiles of complete blocks, signed
//! checkpoints, and its indexes. It decides nothing about the evidence itself, so a second
//! backend (PostgreSQL) logs exactly what sled logs.

use crate::auth::Signer;
use crate::store::{NewDecision, StoreError};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use biscotte_shared::Timestamp;
use biscotte_shared::api::{ConsentRecord, PublishedConfig};
use biscotte_shared::leaf::{DecisionLeaf, Leaf, LeafKind, RevisionLeaf};
use biscotte_shared::merkle::{self, Hash, TreeEdge};
use biscotte_shared::note::{self, Checkpoint, VerifierKey};
use biscotte_shared::time::DAY_MS;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, RwLock};

/// The deployment's signing identity for logs: its public name and its Ed25519 key. Each site's
/// log is named `<public_name>/<site>` (the C2SP origin, and its verifier key's name).
#[derive(Clone, Debug)]
pub struct LogKey {
    public_name: String,
    signer: Signer,
}

/// What a store pins when it signs its first checkpoint: the name and key every later
/// checkpoint must be signed with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustRoot {
    pub public_name: String,
    /// The Ed25519 public key, base64.
    pub public_key: String,
}

impl LogKey {
    /// A log key for `public_name`, which must be usable in a C2SP key name (no space, no `+`).
    pub fn new(public_name: &str, signer: Signer) -> Result<LogKey, String> {
        check_public_name(public_name)?;
        let key = LogKey {
            public_name: public_name.to_owned(),
            signer,
        };
        // Once, here: the private key signs what the published verifier key verifies. Each
        // checkpoint is then signed without verifying it again (one per batch).
        let probe = "biscotte key check\n";
        let vkey = key
            .vkey("probe")
            .map_err(|e| format!("the signing key cannot name a log: {e}"))?;
        note::sign_note(probe, &vkey, |m| key.signer.sign_raw(m)).map_err(|e| {
            format!("the signing key does not verify under its own public key ({e}): replace the key file")
        })?;
        Ok(key)
    }

    pub fn public_name(&self) -> &str {
        &self.public_name
    }

    /// The log's origin line (and its verifier key's name) for `site`.
    pub fn origin(&self, site: &str) -> String {
        format!("{}/{site}", self.public_name)
    }

    /// The C2SP verifier key of `site`'s log.
    pub fn vkey(&self, site: &str) -> Result<VerifierKey, StoreError> {
        VerifierKey::new(&self.origin(site), self.signer.public_key())
            .map_err(|e| StoreError::Storage(format!("no verifier key for {site:?}: {e}")))
    }

    /// [`LogKey::vkey`] without checking the public key again: [`LogKey::new`] did, once.
    fn checked_vkey(&self, site: &str) -> VerifierKey {
        let name = self.origin(site);
        let public = self.signer.public_key();
        VerifierKey {
            id: note::key_id(&name, &public),
            name,
            public,
        }
    }

    pub fn trust_root(&self) -> TrustRoot {
        TrustRoot {
            public_name: self.public_name.clone(),
            public_key: STANDARD.encode(self.signer.public_key()),
        }
    }

    /// Refuses a key or name other than the pinned ones: a log is never signed under two.
    pub fn check_pinned(&self, pinned: &TrustRoot) -> Result<(), StoreError> {
        let mine = self.trust_root();
        if mine == *pinned {
            return Ok(());
        }
        let what = if mine.public_name != pinned.public_name {
            format!(
                "public_name is {:?}, but this store's logs are named {:?}",
                mine.public_name, pinned.public_name
            )
        } else {
            format!(
                "the signing key (public key {}) is not the one this store's checkpoints are signed with ({})",
                mine.public_key, pinned.public_key
            )
        };
        Err(StoreError::TrustRoot(format!(
            "{what}. A log is signed by one key under one name forever: start with the key file \
             and public_name it was created with (README: \"Keys and names\")"
        )))
    }

    /// Signs the checkpoint of `site`'s tree at its current size.
    pub fn sign(&self, site: &str, tree: &TreeEdge) -> Result<SignedCheckpoint, StoreError> {
        let checkpoint = Checkpoint {
            origin: self.origin(site),
            size: tree.size(),
            root: tree.root(),
            extensions: Vec::new(),
        };
        let body = checkpoint.to_body();
        let signature = self.signer.sign_raw(body.as_bytes());
        let text = note::assemble_note(&body, &self.checked_vkey(site), &signature)
            .map_err(|e| StoreError::Storage(format!("cannot sign a checkpoint: {e}")))?;
        Ok(SignedCheckpoint {
            size: checkpoint.size,
            root: checkpoint.root,
            text,
        })
    }
}

/// A C2SP `public_name`: a host name, optionally with a path, as a key name allows.
pub fn check_public_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 200
        && !name.ends_with('/')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | ':'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "public_name {name:?} is not valid: write the host name the deployment is known by, \
             for example consent.example.fr (letters, digits, '.', '-', '_', ':' and '/', no \
             space, no '+', not ending in '/')"
        ))
    }
}

/// A signed checkpoint: the C2SP signed note, and what it says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub size: u64,
    pub root: Hash,
    /// The signed note, as served.
    pub text: String,
}

/// One site's log as its writer holds it: what the next append needs.
#[derive(Debug)]
pub struct LogTail {
    /// The next decision's `record_id`.
    pub next_record_id: u64,
    /// Server time of the latest leaf: stamps never go back, so log order is time order.
    pub last_stamp: Timestamp,
    /// The tree's right edge, shared with readers (who compute proofs from it).
    pub tree: Arc<RwLock<TreeEdge>>,
    /// The latest signed checkpoint.
    pub checkpoint: Option<Arc<SignedCheckpoint>>,
    /// Why the log cannot be extended, when its leaves no longer match what it signed: nothing
    /// is appended (and so never signed over) until an operator has looked.
    pub damaged: Option<String>,
}

/// A leaf made by the rules, for the backend to store.
#[derive(Debug)]
pub struct NewLeaf {
    pub index: u64,
    pub bytes: Vec<u8>,
    pub hash: Hash,
    pub leaf: Leaf,
    /// A block this leaf completed: its index, its 256 leaf hashes (a full hash tile) and its
    /// root, which the backend keeps.
    pub completed_block: Option<CompletedBlock>,
}

/// A complete block of 256 leaves, as the tree edge hands it over.
#[derive(Debug)]
pub struct CompletedBlock {
    pub index: u64,
    pub leaf_hashes: Vec<Hash>,
    pub root: Hash,
}

pub fn read_tree(tree: &RwLock<TreeEdge>) -> std::sync::RwLockReadGuard<'_, TreeEdge> {
    // Nothing panics while holding it; a poisoned lock still holds a consistent edge.
    tree.read().unwrap_or_else(|p| p.into_inner())
}

fn write_tree(tree: &RwLock<TreeEdge>) -> std::sync::RwLockWriteGuard<'_, TreeEdge> {
    tree.write().unwrap_or_else(|p| p.into_inner())
}

impl LogTail {
    /// Refuses to extend a damaged log.
    pub fn writable(&self, site: &str) -> Result<(), StoreError> {
        match &self.damaged {
            None => Ok(()),
            Some(why) => Err(StoreError::Unavailable(format!(
                "the log of {site:?} does not match what it signed ({why}); nothing is logged \
                 until an operator runs `biscotte verify --site {site}`"
            ))),
        }
    }

    /// Server time for an entry arriving at `now`: never before the previous entry's.
    pub fn stamp(&mut self, now: Timestamp) -> Timestamp {
        let t = now.max(self.last_stamp);
        self.last_stamp = t;
        t
    }

    pub fn size(&self) -> u64 {
        read_tree(&self.tree).size()
    }

    fn push(&mut self, leaf: Leaf) -> Result<NewLeaf, StoreError> {
        let bytes = leaf
            .encode()
            .map_err(|e| StoreError::Storage(format!("cannot encode a leaf: {e}")))?;
        let hash = merkle::leaf_hash(&bytes);
        let mut tree = write_tree(&self.tree);
        let index = tree.size();
        let completed_block = tree.push(hash).map(|leaf_hashes| CompletedBlock {
            index: index / merkle::TILE_WIDTH,
            leaf_hashes,
            // The edge has just hashed the block: its root is the last block root it holds.
            root: tree.block_roots().last().copied().unwrap_or_default(),
        });
        Ok(NewLeaf {
            index,
            bytes,
            hash,
            leaf,
            completed_block,
        })
    }

    /// Appends a validated decision arriving at `now`: its number, its time, its leaf.
    pub fn append_decision(
        &mut self,
        new: NewDecision,
        now: Timestamp,
    ) -> Result<NewLeaf, StoreError> {
        let server_time = self.stamp(now);
        let leaf = Leaf::Decision(DecisionLeaf {
            record_id: self.next_record_id,
            site: new.site,
            consent_id: new.decision.consent_id,
            server_time,
            revision: new.revision,
            policy_version: new.policy_version,
            method: new.decision.method,
            categories: new.decision.choices.categories.into(),
            services: new.decision.choices.services.into(),
            language: new.language,
            url: new.url,
            undeleted_cookies: new.undeleted_cookies,
            decision_id: new.decision_id,
        });
        let made = self.push(leaf)?;
        self.next_record_id += 1;
        Ok(made)
    }

    /// Appends the publication of `published` (it goes live at `now`).
    pub fn append_revision(
        &mut self,
        published: &PublishedConfig,
        now: Timestamp,
    ) -> Result<NewLeaf, StoreError> {
        let content_hash = published.content_hash().ok_or_else(|| {
            StoreError::Corrupt(format!(
                "revision {} of {:?} has recipe {} but no words: it cannot be logged",
                published.revision,
                published.site,
                published.recipe.number()
            ))
        })?;
        let server_time = self.stamp(now);
        self.push(Leaf::Revision(RevisionLeaf {
            site: published.site.clone(),
            revision: published.revision.clone(),
            recipe: published.recipe,
            server_time,
            published_at: published.published_at,
            content_hash,
        }))
    }

    /// Appends a leaf already made (a legacy record, when a store is upgraded).
    pub fn append_existing(&mut self, leaf: Leaf) -> Result<NewLeaf, StoreError> {
        if let Some(id) = leaf.record_id() {
            self.next_record_id = id + 1;
        }
        self.last_stamp = self.last_stamp.max(leaf.server_time());
        self.push(leaf)
    }

    /// Signs the checkpoint of the tree as it stands, and keeps it as the latest.
    pub fn sign(&mut self, key: &LogKey, site: &str) -> Result<Arc<SignedCheckpoint>, StoreError> {
        let signed = Arc::new(key.sign(site, &read_tree(&self.tree))?);
        self.checkpoint = Some(signed.clone());
        Ok(signed)
    }
}

/// Whether a stored leaf records the same decision as a retry carrying its decision id: the
/// choice, the visitor, the revision and the page are the same (time and number are the first
/// try's).
pub fn same_decision(stored: &Leaf, new: &NewDecision) -> bool {
    let Leaf::Decision(d) = stored else {
        return false;
    };
    let categories: std::collections::BTreeMap<String, bool> =
        new.decision.choices.categories.clone().into();
    let services: std::collections::BTreeMap<String, bool> =
        new.decision.choices.services.clone().into();
    d.site == new.site
        && d.consent_id == new.decision.consent_id
        && d.revision == new.revision
        && d.method == new.decision.method
        && d.categories == categories
        && d.services == services
        && d.language == new.language
        && d.url == new.url
        && d.undeleted_cookies == new.undeleted_cookies
}

/// What a decision's answer carries: its record, its leaf, and its proof in a signed checkpoint.
#[derive(Clone, Debug)]
pub struct Logged {
    pub record: ConsentRecord,
    pub leaf: Vec<u8>,
    pub proof: Vec<Hash>,
    pub checkpoint: Arc<SignedCheckpoint>,
    /// An earlier record answered again: a retry of a decision already logged.
    pub repeated: bool,
}

impl Logged {
    /// The C2SP tlog-proof of this record: its leaf bytes in `extra`, its inclusion hashes and
    /// the signed checkpoint.
    pub fn tlog_proof(&self) -> String {
        note::TlogProof {
            extra: Some(self.leaf.clone()),
            index: self.record.leaf_index,
            hashes: self.proof.clone(),
            checkpoint: self.checkpoint.text.clone(),
        }
        .to_text()
    }
}

/// Retention: the default, and the cut-off of a period.
pub const DEFAULT_RETENTION_DAYS: u32 = 1826;

/// Entries stamped before this are past a retention of `days` at `now`.
pub fn retention_cutoff(now: Timestamp, days: u32) -> Timestamp {
    now.plus_millis(-(i64::from(days) * DAY_MS))
}

/// What a retention pass, walking the log from its start, does with the next leaf.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetentionStep {
    /// Stamped at or after the cut-off: the pass stops here (the erased part is a prefix).
    Stop,
    /// A decision past retention: its content goes, its hash stays.
    Erase,
    /// Past retention, but kept: a revision leaf (no visitor data), or already erased.
    Keep,
}

/// The retention rule for one leaf of `kind` stamped `time`, whose content is still there or
/// not (`present`).
pub fn retention_step(
    kind: LeafKind,
    time: Timestamp,
    present: bool,
    cutoff: Timestamp,
) -> RetentionStep {
    if time >= cutoff {
        RetentionStep::Stop
    } else if present && matches!(kind, LeafKind::Decision | LeafKind::Legacy) {
        RetentionStep::Erase
    } else {
        RetentionStep::Keep
    }
}

/// The answer to a decision whose id the log holds already, at `index`: the first record when
/// it is the same decision (a retry), a refusal when the id was used for another, or when the
/// first record's content has been erased by retention.
pub fn answer_repeat(
    stored: &crate::store::StoredLeaf,
    index: u64,
    new: &NewDecision,
) -> Result<(ConsentRecord, Vec<u8>), StoreError> {
    let reused = |why: &str| {
        StoreError::DecisionIdReused(format!(
            "decision_id {} was logged for {why}: draw a new decision_id for each decision",
            new.decision_id.as_deref().unwrap_or_default()
        ))
    };
    match stored {
        crate::store::StoredLeaf::Present(bytes) => {
            let leaf = Leaf::decode(bytes)
                .map_err(|e| StoreError::Corrupt(format!("leaf {index}: {e}")))?;
            if !same_decision(&leaf, new) {
                return Err(reused("another decision"));
            }
            let record = leaf
                .to_record(index, &merkle::leaf_hash(bytes))
                .ok_or_else(|| reused("a publication"))?;
            Ok((record, bytes.clone()))
        }
        crate::store::StoredLeaf::Erased { .. } => Err(reused(
            "a decision whose content retention has since erased",
        )),
    }
}
