//! What an auditor checks offline, with nothing but a log's verifier key: an export bundle, a
//! visitor's receipt, and two checkpoints of one log. The command line (`biscotte verify
//! --bundle`, `--receipt`) runs this code, and a browser can run the same.
//!
//! # The export bundle, `biscotte-bundle-1`
//!
//! One UTF-8 file of JSON lines. The first line is the header:
//!
//! ```text
//! {"bundle":"biscotte-bundle-1","site":…,"origin":…,"verifier_key":…,"checkpoint":<signed note>,
//!  "from":…,"to":…,"begin":a,"end":b,"left":[…],"right":[…],"consistency":[{"from":m,"proof":[…]}]}
//! ```
//!
//! - `checkpoint`: the log's signed checkpoint (C2SP) of `n` leaves that the bundle is checked
//!   against; `verifier_key` is the key the server says it signs with, never trusted by the
//!   verifier, which takes the auditor's own;
//! - the bundle holds the leaves with `a <= index < b` (the period `from`–`to`, RFC 3339 or null,
//!   in log order, which is time order), one line each, in index order;
//! - `left`: the hashes (base64) of the complete subtrees covering leaves `[0, a)`, `right` those
//!   covering `[b, n)`, each list in the order of the RFC 9162 compact range (largest subtree
//!   first, left to right), so the root of the checkpoint can be recomputed from them and the
//!   bundle's leaves;
//! - `from_ms`, `to_ms`: the period's bounds in milliseconds (null when open);
//! - `before` and `after` (when the period does not start at the log's first leaf, or end at the
//!   checkpoint's last): the leaf at `a - 1` and the leaf at `b`, each with its inclusion proof
//!   (`{"index","leaf_hash","leaf","proof"}`), stamped before `from` and at or after `to`: they
//!   prove that no leaf of the period was left out of the bundle;
//! - `consistency` (present when asked for): RFC 9162 consistency proofs from earlier sizes `m`
//!   to `n`, hashes in base64.
//!
//! Each following line is one leaf:
//!
//! ```text
//! {"index":i,"leaf_hash":<hex>,"leaf":<base64 of its bytes>,"record":<the decision's fields>}
//! {"index":i,"leaf_hash":<hex>,"leaf":<base64>,"revision":<the publication's fields>}
//! {"index":i,"leaf_hash":<hex>,"erased":{"kind":"decision"|"legacy","record_id":n,"server_time":t}}
//! ```
//!
//! `record` is the decision as the API shows it (`ConsentRecord`), `revision` a revision leaf's
//! fields ([`RevisionFields`]); an erased leaf is a decision whose content retention removed: only
//! its hash, number and time remain. The leaf bytes are the evidence (`crate::leaf`); the decoded
//! fields are there to be read, and must say what the bytes say.

use crate::api::ConsentRecord;
use crate::leaf::{Leaf, LeafKind};
use crate::merkle::{self, CompactRange, Hash};
use crate::note::{self, Checkpoint, TlogProof, VerifierKey};
#[allow(unused_imports)]
use crate::prelude::*;
use crate::revision::{Recipe, Revision, hex};
use crate::time::Timestamp;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as BASE64, URL_SAFE_NO_PAD};
use core::fmt;
use serde::{Deserialize, Serialize};

/// The first field of a bundle's header.
pub const BUNDLE_FORMAT: &str = "biscotte-bundle-1";

/// The most problems a report lists; the count goes on.
pub const MAX_PROBLEMS: usize = 1000;

/// A bundle's first line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleHeader {
    pub bundle: String,
    pub site: String,
    pub origin: String,
    pub verifier_key: String,
    pub checkpoint: String,
    pub from: Option<String>,
    pub to: Option<String>,
    /// The period's bounds in milliseconds since 1970, when given: what the verifier checks
    /// the leaves' times against (`from` and `to` are the same, for people).
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub begin: u64,
    pub end: u64,
    pub left: Vec<String>,
    pub right: Vec<String>,
    /// The leaf just before the period (index `begin - 1`) and just after it (index `end`),
    /// each with its inclusion proof: they show that no leaf of the period was left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<BoundaryLeaf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<BoundaryLeaf>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consistency: Vec<ConsistencyProof>,
}

/// A leaf next to a bundle's period, proven in its checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoundaryLeaf {
    pub index: u64,
    pub leaf_hash: String,
    /// Its bytes (base64), unless retention erased them.
    pub leaf: Option<String>,
    /// Its inclusion proof in the checkpoint, hashes in base64.
    pub proof: Vec<String>,
}

/// A consistency proof carried by a bundle, from `from` leaves to the checkpoint's size.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProof {
    pub from: u64,
    pub proof: Vec<String>,
}

/// A revision leaf's fields, as a bundle shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevisionFields {
    pub site: String,
    pub revision: Revision,
    pub recipe: Recipe,
    pub server_time: Timestamp,
    pub published_at: Timestamp,
    /// SHA-256 of what the recipe covers, in hex.
    pub content_hash: String,
}

/// What remains of an erased leaf.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErasedFields {
    pub kind: String,
    pub record_id: u64,
    pub server_time: Timestamp,
}

/// One leaf line of a bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleLeaf {
    pub index: u64,
    pub leaf_hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaf: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<ConsentRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<RevisionFields>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased: Option<ErasedFields>,
}

impl RevisionFields {
    pub fn of(leaf: &crate::leaf::RevisionLeaf) -> RevisionFields {
        RevisionFields {
            site: leaf.site.clone(),
            revision: leaf.revision.clone(),
            recipe: leaf.recipe,
            server_time: leaf.server_time,
            published_at: leaf.published_at,
            content_hash: hex(&leaf.content_hash),
        }
    }
}

impl BundleLeaf {
    /// [`BundleLeaf::present`], taking the leaf (nothing copied: what an export streams).
    pub fn from_leaf(index: u64, bytes: &[u8], leaf: Leaf) -> BundleLeaf {
        let hash = merkle::leaf_hash(bytes);
        let revision = match &leaf {
            Leaf::Revision(r) => Some(RevisionFields::of(r)),
            _ => None,
        };
        BundleLeaf {
            index,
            leaf_hash: hex(&hash),
            leaf: Some(BASE64.encode(bytes)),
            record: leaf.into_record(index, &hash),
            revision,
            erased: None,
        }
    }

    /// The line of a leaf whose bytes are kept.
    pub fn present(index: u64, bytes: &[u8], leaf: &Leaf) -> BundleLeaf {
        let hash = merkle::leaf_hash(bytes);
        BundleLeaf {
            index,
            leaf_hash: hex(&hash),
            leaf: Some(BASE64.encode(bytes)),
            record: leaf.to_record(index, &hash),
            revision: match leaf {
                Leaf::Revision(r) => Some(RevisionFields::of(r)),
                _ => None,
            },
            erased: None,
        }
    }

    /// The line of a leaf retention erased.
    pub fn erased(
        index: u64,
        hash: &Hash,
        kind: LeafKind,
        record_id: u64,
        server_time: Timestamp,
    ) -> BundleLeaf {
        BundleLeaf {
            index,
            leaf_hash: hex(hash),
            leaf: None,
            record: None,
            revision: None,
            erased: Some(ErasedFields {
                kind: match kind {
                    LeafKind::Legacy => "legacy".into(),
                    _ => "decision".into(),
                },
                record_id,
                server_time,
            }),
        }
    }
}

/// What is wrong, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The leaf index it is found at, when it is one leaf's.
    pub index: Option<u64>,
    pub kind: ProblemKind,
    pub message: String,
}

/// The kinds of problem a verification reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProblemKind {
    /// The bundle's header, or a line, cannot be read.
    Malformed,
    /// The checkpoint is not signed by the auditor's key, or is for another log.
    BadSignature,
    /// A leaf's bytes, hash or fields were changed.
    Altered,
    /// A leaf's bytes are not the canonical encoding.
    NotCanonical,
    /// A leaf where none belongs (an index repeated or out of range).
    Inserted,
    /// Leaves missing.
    Removed,
    /// Leaves out of order (indexes, decision numbers or times going back).
    Reordered,
    /// The leaves do not hash to the checkpoint's root.
    RootMismatch,
    /// Two checkpoints of one log that do not extend one another.
    SplitView,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index {
            Some(i) => write!(f, "leaf {i}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// What a bundle verification found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BundleReport {
    pub checkpoint: Option<Checkpoint>,
    pub begin: u64,
    pub end: u64,
    /// Decision leaves, those retention erased included.
    pub decisions: u64,
    pub revisions: u64,
    pub erased: u64,
    pub problems: Vec<Problem>,
    /// Problems found beyond [`MAX_PROBLEMS`].
    pub more_problems: u64,
    /// The size of the `--since` checkpoint checked against this one, when it was.
    pub extends: Option<u64>,
}

impl BundleReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty() && self.more_problems == 0
    }
}

/// A streaming verifier of a bundle: give it each line in order, then [`finish`]. Memory stays
/// flat whatever the bundle's size: it keeps a compact range (at most 64 hashes) and the
/// problems.
///
/// [`finish`]: BundleVerifier::finish
#[derive(Debug)]
pub struct BundleVerifier {
    key: VerifierKey,
    since: Option<Checkpoint>,
    header: Option<BundleHeader>,
    range: CompactRange,
    next: u64,
    last_record_id: Option<u64>,
    last_time: Option<Timestamp>,
    /// The root of the tree at the `since` size, once the stream reaches it.
    since_root: Option<Hash>,
    /// Indexes skipped by the lines so far, and those of them that came later (reordered).
    gaps: Vec<(u64, u64)>,
    late: alloc::collections::BTreeSet<u64>,
    report: BundleReport,
}

fn problem(report: &mut BundleReport, index: Option<u64>, kind: ProblemKind, message: String) {
    push_problem(
        &mut report.problems,
        &mut report.more_problems,
        Problem {
            index,
            kind,
            message,
        },
    );
}

/// Adds a problem to a report's list, or counts it once the list holds [`MAX_PROBLEMS`]: a
/// report's memory stays bounded whatever the log. Both verifiers (a bundle's, a store's) keep
/// their problems this way.
pub fn push_problem(list: &mut Vec<Problem>, more: &mut u64, found: Problem) {
    if list.len() < MAX_PROBLEMS {
        list.push(found);
    } else {
        *more += 1;
    }
}

fn hashes_of(list: &[String]) -> Option<Vec<Hash>> {
    list.iter()
        .map(|h| BASE64.decode(h).ok().and_then(|b| b.try_into().ok()))
        .collect()
}

impl BundleVerifier {
    /// A verifier trusting `key` only, and, when given, checking that the log only grew since
    /// the auditor's earlier checkpoint `since` (a signed note of the same log).
    pub fn new(key: VerifierKey, since: Option<&str>) -> Result<BundleVerifier, note::NoteError> {
        let since = since
            .map(|text| note::open_checkpoint(text, &key))
            .transpose()?;
        Ok(BundleVerifier {
            key,
            since,
            header: None,
            range: CompactRange::new(0),
            next: 0,
            last_record_id: None,
            last_time: None,
            since_root: None,
            gaps: Vec::new(),
            late: alloc::collections::BTreeSet::new(),
            report: BundleReport::default(),
        })
    }

    fn problem(&mut self, index: Option<u64>, kind: ProblemKind, message: String) {
        problem(&mut self.report, index, kind, message);
    }

    /// Reads the next line of the bundle.
    pub fn line(&mut self, line: &str) {
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            return;
        }
        if self.header.is_none() {
            self.read_header(line);
            return;
        }
        match serde_json::from_str::<BundleLeaf>(line) {
            Ok(leaf) => self.read_leaf(leaf),
            Err(e) => self.problem(
                Some(self.next),
                ProblemKind::Malformed,
                format!("a line after leaf {} is not a leaf line: {e}", self.next),
            ),
        }
    }

    fn read_header(&mut self, line: &str) {
        let header: BundleHeader = match serde_json::from_str(line) {
            Ok(h) => h,
            Err(e) => {
                self.problem(
                    None,
                    ProblemKind::Malformed,
                    format!("the first line is not a bundle header: {e}"),
                );
                // Nothing else can be checked; the leaves are not read as a header again.
                self.header = Some(BundleHeader {
                    bundle: String::new(),
                    site: String::new(),
                    origin: String::new(),
                    verifier_key: String::new(),
                    checkpoint: String::new(),
                    from: None,
                    to: None,
                    from_ms: None,
                    to_ms: None,
                    begin: 0,
                    end: 0,
                    left: Vec::new(),
                    right: Vec::new(),
                    before: None,
                    after: None,
                    consistency: Vec::new(),
                });
                return;
            }
        };
        if header.bundle != BUNDLE_FORMAT {
            self.problem(
                None,
                ProblemKind::Malformed,
                format!(
                    "the bundle is {:?}, which this verifier does not read ({BUNDLE_FORMAT})",
                    header.bundle
                ),
            );
        }
        match note::open_checkpoint(&header.checkpoint, &self.key) {
            Ok(cp) => self.report.checkpoint = Some(cp),
            Err(e) => self.problem(
                None,
                ProblemKind::BadSignature,
                format!("the bundle's checkpoint does not verify with your key: {e}"),
            ),
        }
        let size = self.report.checkpoint.as_ref().map_or(0, |c| c.size);
        if header.begin > header.end || header.end > size && self.report.checkpoint.is_some() {
            self.problem(
                None,
                ProblemKind::Malformed,
                format!(
                    "the bundle says it holds leaves {} to {}, beyond its checkpoint of {size}",
                    header.begin, header.end
                ),
            );
        }
        match hashes_of(&header.left)
            .and_then(|h| CompactRange::from_parts(0, header.begin, h).ok())
        {
            Some(range) => self.range = range,
            None => self.problem(
                None,
                ProblemKind::Malformed,
                format!(
                    "the hashes of the leaves before {} (left) are not the subtrees covering them",
                    header.begin
                ),
            ),
        }
        self.next = header.begin;
        self.report.begin = header.begin;
        self.report.end = header.end;
        if self.report.checkpoint.is_some() {
            self.check_edges(&header, size);
        }
        self.header = Some(header);
        self.check_since_at(self.next);
    }

    /// A bundle holds every leaf of its period: it starts at the log's first leaf or right after
    /// a proven leaf stamped before `from`, and ends at the checkpoint's last leaf or right before
    /// a proven leaf stamped at or after `to`.
    fn check_edges(&mut self, header: &BundleHeader, size: u64) {
        let Some(cp) = self.report.checkpoint.clone() else {
            return;
        };
        let sides = [
            (
                header.begin > 0,
                header.begin.checked_sub(1),
                &header.before,
                header.from_ms,
                true,
            ),
            (
                header.end < size,
                Some(header.end),
                &header.after,
                header.to_ms,
                false,
            ),
        ];
        for (needed, index, boundary, bound, before) in sides {
            let side = if before { "first" } else { "last" };
            if !needed {
                continue;
            }
            if bound.is_none() {
                self.problem(
                    index,
                    ProblemKind::Removed,
                    format!(
                        "the bundle's period is open at its {side} end, yet it leaves out the log's leaves past leaf {}",
                        index.unwrap_or(0)
                    ),
                );
                continue;
            }
            let Some(b) = boundary.as_ref().filter(|b| Some(b.index) == index) else {
                self.problem(
                    index,
                    ProblemKind::Removed,
                    format!(
                        "the bundle does not prove the leaf next to its {side} record (leaf {})",
                        index.unwrap_or(0)
                    ),
                );
                continue;
            };
            let bytes = b.leaf.as_ref().and_then(|l| BASE64.decode(l).ok());
            let hash = match &bytes {
                Some(bytes) => merkle::leaf_hash(bytes),
                None => decode_hex32(&b.leaf_hash).unwrap_or([0; 32]),
            };
            let proven = hashes_of(&b.proof).is_some_and(|proof| {
                merkle::verify_inclusion(&hash, b.index, cp.size, &proof, &cp.root).is_ok()
            });
            if !proven {
                self.problem(
                    Some(b.index),
                    ProblemKind::Altered,
                    format!("the leaf next to the bundle's {side} record is not in the signed checkpoint"),
                );
                continue;
            }
            let time = bytes
                .and_then(|b| Leaf::decode(&b).ok())
                .map(|l| l.server_time().as_millis());
            if let (Some(t), Some(bound)) = (time, bound) {
                let outside = if before { t < bound } else { t >= bound };
                if !outside {
                    self.problem(
                        Some(b.index),
                        ProblemKind::Removed,
                        format!(
                            "leaf {} belongs to the period, but the bundle leaves it out",
                            b.index
                        ),
                    );
                }
            }
        }
    }

    /// When the stream stands at the `since` size, the root there is known: compare.
    fn check_since_at(&mut self, size: u64) {
        if let Some(since) = &self.since
            && since.size == size
            && self.range.begin() == 0
            && let Some(root) = self.range.root()
        {
            self.since_root = Some(root);
        }
    }

    fn read_leaf(&mut self, line: BundleLeaf) {
        let index = line.index;
        let end = self.header.as_ref().map_or(0, |h| h.end);
        let given_hash = match decode_hex32(&line.leaf_hash) {
            Some(h) => h,
            None => {
                self.problem(
                    Some(index),
                    ProblemKind::Malformed,
                    "leaf_hash is not 64 hex digits".into(),
                );
                [0; 32]
            }
        };
        if index < self.next {
            let skipped = self
                .gaps
                .iter()
                .any(|(from, to)| (*from..*to).contains(&index))
                && !self.late.contains(&index);
            if skipped && self.late.len() < MAX_PROBLEMS {
                self.late.insert(index);
                self.problem(
                    Some(index),
                    ProblemKind::Reordered,
                    format!(
                        "leaf {index} comes after leaf {}: the bundle's lines were reordered",
                        self.next - 1
                    ),
                );
                self.check_content(index, &given_hash, &line);
            } else {
                self.problem(
                    Some(index),
                    ProblemKind::Inserted,
                    format!(
                        "a line for leaf {index} where leaf {} was expected: a leaf inserted or repeated",
                        self.next
                    ),
                );
            }
            return;
        }
        if index >= end {
            self.problem(
                Some(index),
                ProblemKind::Inserted,
                format!(
                    "a leaf beyond the bundle's last one ({})",
                    end.saturating_sub(1)
                ),
            );
            return;
        }
        let jumped = index > self.next;
        if jumped {
            // Missing, unless they come later (reordered): settled when the bundle ends.
            if self.gaps.len() < MAX_PROBLEMS {
                self.gaps.push((self.next, index));
            }
            // The root cannot match any more; go on checking each leaf on its own.
            while self.next < index {
                self.range.append([0; 32]);
                self.next += 1;
            }
        }
        let (record_id, time) = self.check_content(index, &given_hash, &line);
        if let Some(id) = record_id {
            if let Some(last) = self.last_record_id
                && id != last + 1
                && !jumped
            {
                let kind = if id <= last {
                    ProblemKind::Reordered
                } else {
                    ProblemKind::Removed
                };
                self.problem(
                    Some(index),
                    kind,
                    format!(
                        "decision {id} follows decision {last}: decisions are numbered without gaps, in log order"
                    ),
                );
            }
            self.last_record_id = Some(id);
        }
        if let Some(t) = time {
            if self.last_time.is_some_and(|last| t < last) && !jumped {
                self.problem(
                    Some(index),
                    ProblemKind::Reordered,
                    "stamped before the leaf before it: the log's order is its time order".into(),
                );
            }
            let (from, to) = self
                .header
                .as_ref()
                .map_or((None, None), |h| (h.from_ms, h.to_ms));
            if from.is_some_and(|f| t.as_millis() < f) || to.is_some_and(|e| t.as_millis() >= e) {
                self.problem(
                    Some(index),
                    ProblemKind::Inserted,
                    "stamped outside the bundle's period".into(),
                );
            }
            self.last_time = Some(t);
        }
        self.range.append(given_hash);
        self.next = index + 1;
        self.check_since_at(self.next);
    }

    /// Checks one leaf line's content; answers its decision number and, but for a legacy record
    /// (logged before the single writer, a few milliseconds out of order at times), its time.
    fn check_content(
        &mut self,
        index: u64,
        given_hash: &Hash,
        line: &BundleLeaf,
    ) -> (Option<u64>, Option<Timestamp>) {
        match (&line.leaf, &line.erased) {
            (Some(b64), None) => self.check_present(index, b64, given_hash, line),
            (None, Some(erased)) => {
                self.report.erased += 1;
                self.report.decisions += 1;
                (Some(erased.record_id), None)
            }
            _ => {
                self.problem(
                    Some(index),
                    ProblemKind::Malformed,
                    "a leaf line holds either `leaf` or `erased`".into(),
                );
                (None, None)
            }
        }
    }

    /// Checks a leaf whose bytes are there; answers its decision number and time.
    fn check_present(
        &mut self,
        index: u64,
        b64: &str,
        given_hash: &Hash,
        line: &BundleLeaf,
    ) -> (Option<u64>, Option<Timestamp>) {
        let Ok(bytes) = BASE64.decode(b64) else {
            self.problem(
                Some(index),
                ProblemKind::Malformed,
                "leaf is not base64".into(),
            );
            return (None, None);
        };
        let hash = merkle::leaf_hash(&bytes);
        if hash != *given_hash {
            self.problem(
                Some(index),
                ProblemKind::Altered,
                "its bytes do not hash to its leaf_hash: the leaf was altered".into(),
            );
        }
        let leaf = match Leaf::decode(&bytes) {
            Ok(leaf) => leaf,
            Err(e) => {
                self.problem(
                    Some(index),
                    ProblemKind::NotCanonical,
                    format!("its bytes are not a canonical leaf ({e})"),
                );
                return (None, None);
            }
        };
        if let Leaf::Legacy(l) = &leaf
            && l.record.hash != l.record.computed_hash()
        {
            self.problem(
                Some(index),
                ProblemKind::Altered,
                "a legacy record that does not match its own hash".into(),
            );
        }
        let fields_agree = match &leaf {
            Leaf::Revision(r) => {
                self.report.revisions += 1;
                line.record.is_none() && line.revision.as_ref() == Some(&RevisionFields::of(r))
            }
            _ => {
                self.report.decisions += 1;
                line.revision.is_none()
                    && line.record.as_ref() == leaf.to_record(index, given_hash).as_ref()
            }
        };
        if !fields_agree {
            self.problem(
                Some(index),
                ProblemKind::Altered,
                "its fields say something its leaf bytes do not: the fields were altered".into(),
            );
        }
        let site_ok = match &leaf {
            Leaf::Legacy(l) => Some(&l.record.site),
            Leaf::Decision(d) => Some(&d.site),
            Leaf::Revision(r) => Some(&r.site),
        }
        .is_none_or(|s| self.header.as_ref().is_some_and(|h| h.site == *s));
        if !site_ok {
            self.problem(
                Some(index),
                ProblemKind::Inserted,
                "a leaf of another site's log".into(),
            );
        }
        let time = match leaf {
            Leaf::Legacy(_) => None,
            _ => Some(leaf.server_time()),
        };
        (leaf.record_id(), time)
    }

    /// Checks the end of the bundle: every leaf there, the root, and the `since` checkpoint.
    pub fn finish(mut self) -> BundleReport {
        let Some(header) = self.header.take() else {
            self.problem(None, ProblemKind::Malformed, "the bundle is empty".into());
            return self.report;
        };
        let gaps = core::mem::take(&mut self.gaps);
        for (from, to) in gaps {
            let mut start = None;
            for i in from..=to {
                let missing = i < to && !self.late.contains(&i);
                match (missing, start) {
                    (true, None) => start = Some(i),
                    (false, Some(s)) => {
                        self.problem(
                            Some(s),
                            ProblemKind::Removed,
                            format!(
                                "leaves {s} to {} are missing: removed from the bundle",
                                i - 1
                            ),
                        );
                        start = None;
                    }
                    _ => {}
                }
            }
        }
        if self.next < header.end {
            self.problem(
                Some(self.next),
                ProblemKind::Removed,
                format!(
                    "leaves {} to {} are missing: the bundle ends early",
                    self.next,
                    header.end - 1
                ),
            );
        }
        let Some(cp) = self.report.checkpoint.clone() else {
            return self.report;
        };
        let right = hashes_of(&header.right)
            .and_then(|h| CompactRange::from_parts(header.end, cp.size, h).ok());
        let root = right.and_then(|right| {
            let mut all = self.range.clone();
            all.merge(right).ok()?;
            all.root()
        });
        if root != Some(cp.root) {
            self.problem(
                None,
                ProblemKind::RootMismatch,
                format!(
                    "the leaves do not hash to the root of the signed checkpoint of {} leaves: \
                     leaves were altered, inserted or removed with their hashes recomputed, or \
                     the checkpoint is another one",
                    cp.size
                ),
            );
        }
        if let Some(since) = self.since.clone() {
            self.check_since(&since, &cp, &header);
        }
        self.report
    }

    fn check_since(&mut self, since: &Checkpoint, cp: &Checkpoint, header: &BundleHeader) {
        let split = |report: &mut BundleReport, why: String| {
            problem(
                report,
                None,
                ProblemKind::SplitView,
                format!(
                    "split view: your checkpoint of {} leaves and this bundle's of {} do not \
                     extend one another ({why}); keep both signed notes as evidence",
                    since.size, cp.size
                ),
            );
        };
        if since.size > cp.size {
            split(
                &mut self.report,
                "yours is the larger: the log was shown to you with more leaves than now".into(),
            );
            return;
        }
        if since.size == cp.size {
            if since.root != cp.root {
                split(&mut self.report, "same size, another root".into());
            } else {
                self.report.extends = Some(since.size);
            }
            return;
        }
        if let Some(root) = self.since_root {
            if root == since.root {
                self.report.extends = Some(since.size);
            } else {
                split(
                    &mut self.report,
                    "the bundle's leaves hash to another root at your size".into(),
                );
            }
            return;
        }
        let proof = header
            .consistency
            .iter()
            .find(|p| p.from == since.size)
            .and_then(|p| hashes_of(&p.proof));
        match proof {
            Some(proof) => {
                match merkle::verify_consistency(since.size, cp.size, &since.root, &cp.root, &proof)
                {
                    Ok(()) => self.report.extends = Some(since.size),
                    Err(e) => split(
                        &mut self.report,
                        format!("the consistency proof fails: {e}"),
                    ),
                }
            }
            None => problem(
                &mut self.report,
                None,
                ProblemKind::Malformed,
                format!(
                    "this bundle cannot show that the log grew from your checkpoint of {} leaves: \
                     export it again with since={} (it then carries the consistency proof)",
                    since.size, since.size
                ),
            ),
        }
    }
}

fn decode_hex32(s: &str) -> Option<Hash> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in s.as_bytes().chunks(2).enumerate() {
        let digit = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        let byte = match pair {
            [hi, lo] => digit(*hi)? << 4 | digit(*lo)?,
            _ => return None,
        };
        *out.get_mut(i)? = byte;
    }
    Some(out)
}

/// What a verified receipt proves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptReport {
    pub checkpoint: Checkpoint,
    pub index: u64,
    pub leaf: Leaf,
    /// Whether a JWT receipt came with the proof and agrees with it.
    pub jwt_checked: bool,
}

/// Why a receipt does not verify.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptError(pub String);

impl fmt::Display for ReceiptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Verifies a visitor's receipt with nothing but the log's verifier key: either the C2SP
/// tlog-proof alone, or the server's whole answer to the decision (JSON with `proof` and the
/// JWT `receipt`, which must then name the same leaf).
pub fn verify_receipt(text: &str, key: &VerifierKey) -> Result<ReceiptReport, ReceiptError> {
    let err = |m: String| ReceiptError(m);
    let (proof_text, jwt) = if text.trim_start().starts_with('{') {
        let answer: serde_json::Value =
            serde_json::from_str(text).map_err(|e| err(format!("the receipt is not JSON: {e}")))?;
        let proof = answer
            .get("proof")
            .and_then(|p| p.as_str())
            .ok_or_else(|| err("the answer has no `proof`: keep the whole 201 answer".into()))?
            .to_owned();
        let jwt = answer
            .get("receipt")
            .and_then(|r| r.as_str())
            .map(str::to_owned);
        (proof, jwt)
    } else {
        (text.to_owned(), None)
    };
    let proof = TlogProof::parse(&proof_text).map_err(|e| err(format!("the proof: {e}")))?;
    let checkpoint = note::open_checkpoint(&proof.checkpoint, key)
        .map_err(|e| err(format!("its checkpoint does not verify with your key: {e}")))?;
    let bytes = proof
        .extra
        .as_ref()
        .ok_or_else(|| err("the proof carries no leaf (its `extra` line)".into()))?;
    let hash = merkle::leaf_hash(bytes);
    merkle::verify_inclusion(
        &hash,
        proof.index,
        checkpoint.size,
        &proof.hashes,
        &checkpoint.root,
    )
    .map_err(|e| {
        err(format!(
            "leaf {} is not in the signed tree of {} leaves: {e}",
            proof.index, checkpoint.size
        ))
    })?;
    let leaf = Leaf::decode(bytes)
        .map_err(|e| err(format!("the leaf's bytes are not a canonical leaf: {e}")))?;
    let jwt_checked = match jwt {
        None => false,
        Some(jwt) => {
            check_jwt(&jwt, key, proof.index, &hash).map_err(err)?;
            true
        }
    };
    Ok(ReceiptReport {
        checkpoint,
        index: proof.index,
        leaf,
        jwt_checked,
    })
}

/// The JWT receipt is signed by the same key, and names the same leaf.
fn check_jwt(jwt: &str, key: &VerifierKey, index: u64, hash: &Hash) -> Result<(), String> {
    let mut parts = jwt.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("the JWT receipt is not three dot-separated parts".into());
    };
    let signature: [u8; 64] = URL_SAFE_NO_PAD
        .decode(signature)
        .ok()
        .and_then(|s| s.try_into().ok())
        .ok_or("the JWT receipt's signature is not 64 bytes")?;
    let public = ed25519_dalek::VerifyingKey::from_bytes(&key.public)
        .map_err(|_| "the verifier key is not an Ed25519 key")?;
    let signed = [header.as_bytes(), b".", payload.as_bytes()].concat();
    public
        .verify_strict(&signed, &ed25519_dalek::Signature::from_bytes(&signature))
        .map_err(|_| "the JWT receipt is not signed by this log's key")?;
    let claims: serde_json::Value = URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|p| serde_json::from_slice(&p).ok())
        .ok_or("the JWT receipt's claims cannot be read")?;
    let same_hash = claims.get("record_hash").and_then(|h| h.as_str()) == Some(&hex(hash));
    let same_index = claims.get("leaf_index").and_then(|i| i.as_u64()) == Some(index);
    if same_hash && same_index {
        Ok(())
    } else {
        Err("the JWT receipt names another leaf than its proof".into())
    }
}
