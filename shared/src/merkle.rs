//! The Merkle tree of the transparency log: hashes, inclusion and consistency proofs, compact
//! ranges, and the in-memory right edge that the log's single writer keeps.
//!
//! The tree is RFC 9162 §2.1 (the same as RFC 6962 §2.1 and the C2SP tlog specifications), with
//! leaves numbered from 0 as in RFC 9162 and tlog-tiles:
//! - a leaf's hash is `SHA-256(0x00 ‖ leaf)` ([`leaf_hash`]);
//! - an interior node's hash is `SHA-256(0x01 ‖ left ‖ right)` ([`node_hash`]);
//! - the empty tree's root is `SHA-256("")` ([`empty_root`]);
//! - the root of `n > 1` leaves is the node hash of the root of the first `k` leaves and the
//!   root of the other `n - k`, where `k` is the largest power of two below `n`.
//!
//! Nodes are named as in tlog-tiles: node `(level, index)` is the complete subtree over the
//! leaves `[index << level, (index + 1) << level)`; level 0 holds the leaf hashes.
//! Proofs are built from such nodes, read through a [`NodeSource`]; a node that a source does
//! not hold, because it reaches beyond the tree or is not yet complete, is an error of that
//! source, never a panic nor a hash of something else.
//!
//! [`TreeEdge`] is what the writer keeps in memory to answer, for every committed batch, the
//! new root and an inclusion proof per new leaf without reading storage.
//! It holds every complete node at level [`TILE_HEIGHT`] (8) and above, which is 32 bytes per
//! 256 leaves at level 8 and as much again for all the levels above, so about `size / 4` bytes
//! (250 kB per million leaves), plus the nodes of the incomplete last block of 256 leaves and
//! of the last two completed blocks: three pyramids of at most 511 hashes (49 kB).
//! Two completed blocks rather than one because a batch of up to 512 leaves can end two blocks
//! after the one it started in.
//! A node inside an older block is rebuilt from that block's 256 leaf hashes (a full level-0
//! tile, which the store keeps), asked for through [`TreeEdge::source`] and checked against the
//! block's root held in memory.

#[allow(unused_imports)]
use crate::prelude::*;
use core::cell::Cell;
use core::fmt;
use core::marker::PhantomData;
use sha2::{Digest, Sha256};

/// A SHA-256 hash: of a leaf, of an interior node, or a tree's root.
pub type Hash = [u8; 32];

/// tlog-tiles: a tile holds the nodes of `TILE_HEIGHT` levels, so a level-0 tile holds
/// 2^8 = 256 leaf hashes, and its 256 leaves have one root at level 8.
pub const TILE_HEIGHT: u8 = 8;
/// The number of hashes in a full tile, and of leaves in a block: `1 << TILE_HEIGHT`.
pub const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;

/// The deepest level a `u64` leaf count can reach: a node at level 64 would cover 2^64 leaves.
const MAX_LEVEL: u8 = 63;

const LEAF_PREFIX: u8 = 0x00;
const NODE_PREFIX: u8 = 0x01;

/// `SHA-256(0x00 ‖ leaf)`: the hash of a leaf's bytes (RFC 9162 §2.1.1).
pub fn leaf_hash(leaf: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([LEAF_PREFIX]);
    hasher.update(leaf);
    hasher.finalize().into()
}

/// `SHA-256(0x01 ‖ left ‖ right)`: the hash of an interior node (RFC 9162 §2.1.1).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([NODE_PREFIX]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// `SHA-256("")`: the root of the tree without leaves.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Hashes of complete, aligned subtrees: node `(level, index)` covers the leaves
/// `[index << level, (index + 1) << level)`.
pub trait NodeSource {
    type Error;
    /// The hash of node `(level, index)`; an error when the source does not hold that node
    /// (it reaches beyond the tree, or storage failed).
    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error>;
}

/// Why a proof or a root could not be produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProofError<E> {
    /// The node source failed: a node it does not hold, or its storage.
    Source(E),
    /// The request makes no sense (a leaf index at or past the tree size, an old size larger
    /// than the new one, a range that no proof uses).
    Invalid(&'static str),
}

impl<E: fmt::Display> fmt::Display for ProofError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProofError::Source(error) => write!(f, "a node of the tree could not be read: {error}"),
            ProofError::Invalid(why) => f.write_str(why),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> core::error::Error for ProofError<E> {}

/// A node that a tree does not hold: it reaches past the tree's size, or its level is beyond
/// any tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MissingNode {
    pub level: u8,
    pub index: u64,
    /// The number of leaves of the tree that was asked.
    pub size: u64,
}

impl fmt::Display for MissingNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "node {} at level {} is not a complete subtree of the {} leaves of this tree",
            self.index, self.level, self.size
        )
    }
}

impl core::error::Error for MissingNode {}

/// The first leaf after node `(level, index)`, or `None` when no `u64` tree holds the node.
fn node_end(level: u8, index: u64) -> Option<u64> {
    if level > MAX_LEVEL {
        return None;
    }
    let end = index.checked_add(1)?.checked_shl(u32::from(level))?;
    // checked_shl only refuses shifts of 64 bits or more; high bits shifted out are an overflow too.
    if end >> level == index + 1 {
        Some(end)
    } else {
        None
    }
}

/// The largest power of two strictly below `n`, for `n >= 2` (the RFC's `k`).
fn split_point(n: u64) -> u64 {
    let below = n.saturating_sub(1).max(1);
    1u64 << (63 - below.leading_zeros())
}

/// The Merkle tree hash of the first `size` leaves: [`empty_root`] when `size` is 0.
pub fn root<S: NodeSource>(src: &S, size: u64) -> Result<Hash, ProofError<S::Error>> {
    if size == 0 {
        return Ok(empty_root());
    }
    range_hash(src, 0, size)
}

/// The Merkle tree hash of the leaves `[begin, end)`, for the ranges that RFC 9162's proofs use:
/// not empty, and `begin` a multiple of the smallest power of two at least `end - begin` (so
/// `[0, n)` for any `n > 0`, and every complete node).
pub fn range_hash<S: NodeSource>(
    src: &S,
    begin: u64,
    end: u64,
) -> Result<Hash, ProofError<S::Error>> {
    if begin >= end {
        return Err(ProofError::Invalid(
            "a range hash needs a range of at least one leaf",
        ));
    }
    let width = end - begin;
    // A width above 2^63 rounds up to 2^64, which only 0 is a multiple of.
    let aligned = match width.checked_next_power_of_two() {
        Some(power) => begin & (power - 1) == 0,
        None => begin == 0,
    };
    if !aligned {
        return Err(ProofError::Invalid(
            "a range hash needs a range that starts on a multiple of its width rounded up to a power of two",
        ));
    }
    // The range is then one complete node per set bit of its width, largest first; the hash
    // folds them from the right.
    let mut hash: Option<Hash> = None;
    let mut right_end = end;
    for level in 0..=MAX_LEVEL {
        let size = 1u64 << level;
        if width & size == 0 {
            continue;
        }
        right_end -= size;
        let node = src
            .node(level, right_end >> level)
            .map_err(ProofError::Source)?;
        hash = Some(match hash {
            None => node,
            Some(right) => node_hash(&node, &right),
        });
    }
    hash.ok_or(ProofError::Invalid(
        "a range hash needs a range of at least one leaf",
    ))
}

/// The inclusion proof of leaf `index` in the tree of the first `size` leaves
/// (RFC 9162 §2.1.3.1): the hashes from the leaf's sibling up to the root's other child.
pub fn inclusion_proof<S: NodeSource>(
    src: &S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if index >= size {
        return Err(ProofError::Invalid(
            "an inclusion proof needs a leaf index below the tree size",
        ));
    }
    // Walk down from the root: each step keeps the half holding the leaf and proves the other.
    let mut proof = Vec::new();
    let (mut low, mut high) = (0u64, size);
    while high - low > 1 {
        let middle = low + split_point(high - low);
        if index < middle {
            proof.push(range_hash(src, middle, high)?);
            high = middle;
        } else {
            proof.push(range_hash(src, low, middle)?);
            low = middle;
        }
    }
    // The RFC lists them from the leaf up.
    proof.reverse();
    Ok(proof)
}

/// The consistency proof from the tree of the first `old_size` leaves to the tree of the first
/// `new_size` (RFC 9162 §2.1.4.1); empty when `old_size` is 0 or equals `new_size`.
pub fn consistency_proof<S: NodeSource>(
    src: &S,
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if old_size > new_size {
        return Err(ProofError::Invalid(
            "a consistency proof needs an old size at most the new size",
        ));
    }
    let mut proof = Vec::new();
    if old_size == 0 || old_size == new_size {
        return Ok(proof);
    }
    // SUBPROOF(m, D[low:high], whole) of the RFC, unrolled: `whole` stays true while the old
    // tree is a prefix of the current range whose root the verifier already has.
    let (mut low, mut high) = (0u64, new_size);
    let mut whole = true;
    while old_size < high {
        let middle = low + split_point(high - low);
        if old_size <= middle {
            proof.push(range_hash(src, middle, high)?);
            high = middle;
        } else {
            proof.push(range_hash(src, low, middle)?);
            low = middle;
            whole = false;
        }
    }
    if !whole {
        proof.push(range_hash(src, low, high)?);
    }
    // The RFC lists the innermost subproof first.
    proof.reverse();
    Ok(proof)
}

/// Why a proof, a range or a stored edge was refused; each message says what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifyError {
    /// An inclusion proof for a leaf at or past the tree size.
    IndexBeyondSize { index: u64, size: u64 },
    /// A consistency proof from the empty tree: every tree extends it, so it proves nothing.
    OldTreeEmpty,
    /// A consistency proof from a larger tree to a smaller one.
    OldLargerThanNew { old_size: u64, new_size: u64 },
    /// The proof does not have the number of hashes its sizes call for.
    ProofLength { expected: usize, got: usize },
    /// The inclusion proof leads to another root.
    RootMismatch,
    /// The consistency proof does not rebuild the old root.
    OldRootMismatch,
    /// The consistency proof rebuilds the old root but leads to another new root.
    NewRootMismatch,
    /// Two different roots for the same tree size: the log shows two different trees.
    SameSizeDifferentRoots { size: u64 },
    /// A compact range with the wrong number of hashes for its leaves.
    RangeShape {
        begin: u64,
        end: u64,
        expected: usize,
        got: usize,
    },
    /// A range that ends before it begins.
    RangeBackwards { begin: u64, end: u64 },
    /// Two ranges merged that do not touch.
    RangesNotAdjacent { left_end: u64, right_begin: u64 },
    /// A stored tree edge whose tail holds a whole block or more.
    TailTooLong { len: usize },
    /// A stored tree edge with more leaves than a `u64` counts.
    TooManyLeaves,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyError::IndexBeyondSize { index, size } => write!(
                f,
                "leaf {index} cannot be in a tree of {size} leaves (leaves are numbered from 0)"
            ),
            VerifyError::OldTreeEmpty => f.write_str(
                "a consistency proof from the empty tree proves nothing: every tree extends it; \
                 check the new checkpoint alone",
            ),
            VerifyError::OldLargerThanNew { old_size, new_size } => write!(
                f,
                "the old tree ({old_size} leaves) is larger than the new one ({new_size} leaves): \
                 a log only grows, or the two checkpoints were swapped"
            ),
            VerifyError::ProofLength { expected, got } => write!(
                f,
                "the proof has {got} hashes where its sizes call for {expected}: \
                 it was made for other sizes, or hashes were added or lost"
            ),
            VerifyError::RootMismatch => f.write_str(
                "the inclusion proof leads to another root: this leaf is not at this index of \
                 this tree, or the leaf, the proof or the root was altered",
            ),
            VerifyError::OldRootMismatch => f.write_str(
                "the consistency proof does not rebuild the old root: it was made for another \
                 old tree, or the proof or the old root was altered",
            ),
            VerifyError::NewRootMismatch => f.write_str(
                "the consistency proof leads to another new root: the new tree does not extend \
                 the old one, or the proof or the new root was altered",
            ),
            VerifyError::SameSizeDifferentRoots { size } => write!(
                f,
                "two different roots for the same {size} leaves: the log has shown two different \
                 trees (a fork), or a root was altered"
            ),
            VerifyError::RangeShape {
                begin,
                end,
                expected,
                got,
            } => write!(
                f,
                "the leaves [{begin}, {end}) make {expected} complete subtrees, but {got} hashes \
                 were given"
            ),
            VerifyError::RangeBackwards { begin, end } => {
                write!(f, "the range [{begin}, {end}) ends before it begins")
            }
            VerifyError::RangesNotAdjacent {
                left_end,
                right_begin,
            } => write!(
                f,
                "the ranges do not touch: the left one ends at leaf {left_end}, the right one \
                 begins at leaf {right_begin}"
            ),
            VerifyError::TailTooLong { len } => write!(
                f,
                "the stored tail holds {len} leaf hashes; a tail holds fewer than {TILE_WIDTH}, \
                 the leaves of each full block being stored as a block"
            ),
            VerifyError::TooManyLeaves => f.write_str("the stored tree has more than 2^64 leaves"),
        }
    }
}

impl core::error::Error for VerifyError {}

/// RFC 9162 §2.1.3.2's proof length for leaf `index` of `size` leaves (`index < size`): one hash
/// per level below the point where the leaf's path leaves the right border of the tree, plus
/// one per left sibling on that border.
fn inclusion_proof_len(index: u64, size: u64) -> usize {
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner + border) as usize
}

/// RFC 9162 §2.1.4.2's proof length for `0 < old_size < new_size`.
fn consistency_proof_len(old_size: u64, new_size: u64) -> usize {
    // Below the old tree's lowest complete node, both trees are the same and are not proved.
    let level = old_size.trailing_zeros();
    let index = (old_size - 1) >> level;
    let size = ((new_size - 1) >> level) + 1;
    // Unless the old tree is one complete node (whose hash is the old root), the proof starts
    // with the hash of that lowest node.
    let seed = usize::from(index != 0);
    inclusion_proof_len(index, size) + seed
}

/// The root that `proof` leads to from leaf `index` (with hash `leaf_hash`) of a tree of `size`
/// leaves (RFC 9162 §2.1.3.2); compare it with a root the log signed.
pub fn root_from_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
) -> Result<Hash, VerifyError> {
    if index >= size {
        return Err(VerifyError::IndexBeyondSize { index, size });
    }
    let expected = inclusion_proof_len(index, size);
    if proof.len() != expected {
        return Err(VerifyError::ProofLength {
            expected,
            got: proof.len(),
        });
    }
    let (mut node, mut last) = (index, size - 1);
    let mut hash = *leaf_hash;
    for sibling in proof {
        if last == 0 {
            return Err(VerifyError::ProofLength {
                expected,
                got: proof.len(),
            });
        }
        if node & 1 == 1 || node == last {
            hash = node_hash(sibling, &hash);
            // On the right border, levels where the node has no sibling are skipped.
            while node & 1 == 0 && node != 0 {
                node >>= 1;
                last >>= 1;
            }
        } else {
            hash = node_hash(&hash, sibling);
        }
        node >>= 1;
        last >>= 1;
    }
    if last != 0 {
        return Err(VerifyError::ProofLength {
            expected,
            got: proof.len(),
        });
    }
    Ok(hash)
}

/// Checks that leaf `index` with hash `leaf_hash` is in the tree of `size` leaves whose root is
/// `root`.
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    if root_from_inclusion(leaf_hash, index, size, proof)? == *root {
        Ok(())
    } else {
        Err(VerifyError::RootMismatch)
    }
}

/// Checks that the tree of `new_size` leaves with root `new_root` extends the tree of
/// `old_size` leaves with root `old_root` (RFC 9162 §2.1.4.2).
///
/// Equal sizes need equal roots and an empty proof.
/// An `old_size` of 0 is refused, as transparency-dev/merkle does: the empty tree is a prefix
/// of every tree, so such a proof would not check the new root at all.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), VerifyError> {
    if old_size > new_size {
        return Err(VerifyError::OldLargerThanNew { old_size, new_size });
    }
    if old_size == 0 {
        return Err(VerifyError::OldTreeEmpty);
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(VerifyError::ProofLength {
                expected: 0,
                got: proof.len(),
            });
        }
        return if old_root == new_root {
            Ok(())
        } else {
            Err(VerifyError::SameSizeDifferentRoots { size: old_size })
        };
    }
    let expected = consistency_proof_len(old_size, new_size);
    let wrong_length = VerifyError::ProofLength {
        expected,
        got: proof.len(),
    };
    if proof.len() != expected {
        return Err(wrong_length);
    }
    // When the old tree is one complete node, its root is where both paths start.
    let mut hashes = proof.iter();
    let seed = if old_size.is_power_of_two() {
        old_root
    } else {
        match hashes.next() {
            Some(first) => first,
            None => return Err(wrong_length),
        }
    };
    let (mut node, mut last) = (old_size - 1, new_size - 1);
    while node & 1 == 1 {
        node >>= 1;
        last >>= 1;
    }
    let (mut old_hash, mut new_hash) = (*seed, *seed);
    for sibling in hashes {
        if last == 0 {
            return Err(wrong_length);
        }
        if node & 1 == 1 || node == last {
            old_hash = node_hash(sibling, &old_hash);
            new_hash = node_hash(sibling, &new_hash);
            while node & 1 == 0 && node != 0 {
                node >>= 1;
                last >>= 1;
            }
        } else {
            new_hash = node_hash(&new_hash, sibling);
        }
        node >>= 1;
        last >>= 1;
    }
    if last != 0 {
        return Err(wrong_length);
    }
    if old_hash != *old_root {
        return Err(VerifyError::OldRootMismatch);
    }
    if new_hash != *new_root {
        return Err(VerifyError::NewRootMismatch);
    }
    Ok(())
}

/// The aligned subtrees `(level, index)` whose leaves are exactly `[begin, end)`, left to right:
/// the fewest such nodes (the tlog "compact range"). Empty when `begin >= end`.
pub fn decompose(begin: u64, end: u64) -> Vec<(u8, u64)> {
    let mut nodes = Vec::new();
    let mut at = begin;
    while at < end {
        // The largest node that starts at `at` (its alignment) and fits before `end`.
        let fits = 63 - (end - at).leading_zeros();
        let level = at.trailing_zeros().min(fits);
        nodes.push((level as u8, at >> level));
        at += 1u64 << level;
    }
    nodes
}

/// Folds the hashes of `decompose(0, n)` into the root of the first `n` leaves.
fn fold_from_right(hashes: &[Hash]) -> Hash {
    let mut nodes = hashes.iter().rev();
    match nodes.next() {
        None => empty_root(),
        Some(last) => nodes.fold(*last, |right, left| node_hash(left, &right)),
    }
}

/// The hashes of the nodes of [`decompose`]`(begin, end)`, grown leaf by leaf or range by range
/// in O(log n) memory; from `begin` 0, it gives the root of every size it passes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompactRange {
    begin: u64,
    end: u64,
    hashes: Vec<Hash>,
}

impl CompactRange {
    /// The empty range at `begin`.
    pub fn new(begin: u64) -> CompactRange {
        CompactRange {
            begin,
            end: begin,
            hashes: Vec::new(),
        }
    }

    /// A range from the hashes of the nodes of `decompose(begin, end)`, in that order.
    pub fn from_parts(
        begin: u64,
        end: u64,
        hashes: Vec<Hash>,
    ) -> Result<CompactRange, VerifyError> {
        if end < begin {
            return Err(VerifyError::RangeBackwards { begin, end });
        }
        let expected = decompose(begin, end).len();
        if hashes.len() != expected {
            return Err(VerifyError::RangeShape {
                begin,
                end,
                expected,
                got: hashes.len(),
            });
        }
        Ok(CompactRange { begin, end, hashes })
    }

    pub fn begin(&self) -> u64 {
        self.begin
    }

    pub fn end(&self) -> u64 {
        self.end
    }

    /// The hashes of the nodes of `decompose(begin, end)`, left to right.
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// Adds the leaf at `end`. A range that already ends at leaf 2^64 - 1 stays as it is: no
    /// `u64` tree goes further.
    pub fn append(&mut self, leaf_hash: Hash) {
        self.push_node(0, self.end, leaf_hash);
    }

    /// Adds the range that follows this one.
    pub fn merge(&mut self, right: CompactRange) -> Result<(), VerifyError> {
        if right.begin != self.end {
            return Err(VerifyError::RangesNotAdjacent {
                left_end: self.end,
                right_begin: right.begin,
            });
        }
        for ((level, index), hash) in decompose(right.begin, right.end)
            .into_iter()
            .zip(right.hashes)
        {
            self.push_node(level, index, hash);
        }
        Ok(())
    }

    /// Adds node `(level, index)`, which starts at `end`, and hashes it with every node to its
    /// left that it completes.
    fn push_node(&mut self, mut level: u8, mut index: u64, mut hash: Hash) {
        let Some(end) = node_end(level, index) else {
            return;
        };
        self.end = end;
        // A node with an odd index is a right child: its left sibling, when inside the range,
        // is the range's last node (the largest node ending where this one begins).
        while index & 1 == 1 && ((index - 1) << level) >= self.begin {
            let Some(left) = self.hashes.pop() else {
                break;
            };
            hash = node_hash(&left, &hash);
            level += 1;
            index >>= 1;
        }
        self.hashes.push(hash);
    }

    /// The root of the first `end` leaves when the range begins at leaf 0 ([`empty_root`] when
    /// it is empty); `None` for a range that begins later.
    pub fn root(&self) -> Option<Hash> {
        (self.begin == 0).then(|| fold_from_right(&self.hashes))
    }
}

/// Complete nodes by level, each level left to right, grown one node at a time at the bottom
/// level: the shared bookkeeping of [`MemoryTree`], of a block's pyramid and of the levels at
/// and above 8 of [`TreeEdge`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Levels {
    levels: Vec<Vec<Hash>>,
}

impl Levels {
    /// Adds `hash` at the bottom level and hashes every pair it completes, up to the level
    /// `height - 1`.
    fn push(&mut self, mut hash: Hash, height: usize) {
        let mut level = 0;
        loop {
            if self.levels.len() <= level {
                self.levels.push(Vec::new());
            }
            let Some(nodes) = self.levels.get_mut(level) else {
                return;
            };
            nodes.push(hash);
            if nodes.len() % 2 == 1 || level + 1 >= height {
                return;
            }
            let [.., left, right] = nodes.as_slice() else {
                return;
            };
            hash = node_hash(left, right);
            level += 1;
        }
    }

    fn level(&self, level: usize) -> &[Hash] {
        self.levels.get(level).map_or(&[], Vec::as_slice)
    }

    fn get(&self, level: usize, index: u64) -> Option<Hash> {
        let index = usize::try_from(index).ok()?;
        self.level(level).get(index).copied()
    }

    fn last(&self, level: usize) -> Option<Hash> {
        self.level(level).last().copied()
    }

    /// Empties every level, keeping the allocations.
    fn clear(&mut self) {
        for nodes in &mut self.levels {
            nodes.clear();
        }
    }
}

/// A tree held whole in memory, every level of it: for tests, and for small trees.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryTree {
    nodes: Levels,
}

impl MemoryTree {
    pub fn new() -> MemoryTree {
        MemoryTree::default()
    }

    pub fn from_leaf_hashes(leaf_hashes: impl IntoIterator<Item = Hash>) -> MemoryTree {
        let mut tree = MemoryTree::new();
        for hash in leaf_hashes {
            tree.push(hash);
        }
        tree
    }

    pub fn push(&mut self, leaf_hash: Hash) {
        self.nodes.push(leaf_hash, usize::from(MAX_LEVEL) + 1);
    }

    pub fn size(&self) -> u64 {
        self.nodes.level(0).len() as u64
    }

    pub fn leaf_hashes(&self) -> &[Hash] {
        self.nodes.level(0)
    }

    pub fn root(&self) -> Hash {
        right_edge_root(self.size(), |level| self.nodes.last(usize::from(level)))
    }
}

impl NodeSource for MemoryTree {
    type Error = MissingNode;

    fn node(&self, level: u8, index: u64) -> Result<Hash, MissingNode> {
        self.nodes
            .get(usize::from(level), index)
            .ok_or(MissingNode {
                level,
                index,
                size: self.size(),
            })
    }
}

/// The root of the first `size` leaves from the last complete node of each level: for each
/// set bit `level` of `size`, that node is the one of `decompose(0, size)` at that level.
fn right_edge_root(size: u64, last_node: impl Fn(u8) -> Option<Hash>) -> Hash {
    let mut root: Option<Hash> = None;
    for level in 0..=MAX_LEVEL {
        if size & (1u64 << level) == 0 {
            continue;
        }
        if let Some(node) = last_node(level) {
            root = Some(match root {
                None => node,
                Some(right) => node_hash(&node, &right),
            });
        }
    }
    root.unwrap_or_else(empty_root)
}

/// The levels of a block: 0 (its 256 leaf hashes) to 8 (its root).
const BLOCK_LEVELS: usize = TILE_HEIGHT as usize + 1;
/// How many completed blocks [`TreeEdge`] keeps whole: a batch of up to 512 leaves touches at
/// most the block it starts in and two more.
const KEPT_BLOCKS: usize = 2;

/// The right edge of a growing tree, kept in memory by the log's single writer: every complete
/// node at level 8 ([`TILE_HEIGHT`]) and above, every node of the incomplete last block of 256
/// leaves, and every node of the last two completed blocks, so that the root and the proofs of
/// a batch of up to 512 new leaves need no storage read.
///
/// Memory: about `size / 4` bytes, plus three blocks of 511 hashes (see the module doc).
#[derive(Clone, Debug, Default)]
pub struct TreeEdge {
    size: u64,
    /// Complete nodes at levels 8 and above: `upper.level(0)` holds the block roots.
    upper: Levels,
    /// Levels 0 to 7 of the incomplete last block.
    tail: Levels,
    /// The most recently completed blocks, oldest first, with all their levels.
    recent: Vec<(u64, Levels)>,
}

impl TreeEdge {
    pub fn new() -> TreeEdge {
        TreeEdge::default()
    }

    /// The edge of a stored tree, from the roots of its complete blocks in order (the level-8
    /// nodes, [`TreeEdge::block_roots`]) and the leaf hashes after the last complete block
    /// (fewer than 256, [`TreeEdge::tail_leaves`]).
    /// The nodes inside completed blocks are not known then: [`TreeEdge::source`] loads them
    /// when a proof needs them.
    pub fn restore(block_roots: Vec<Hash>, tail: &[Hash]) -> Result<TreeEdge, VerifyError> {
        if tail.len() as u64 >= TILE_WIDTH {
            return Err(VerifyError::TailTooLong { len: tail.len() });
        }
        let size = (block_roots.len() as u64)
            .checked_mul(TILE_WIDTH)
            .and_then(|blocks| blocks.checked_add(tail.len() as u64))
            .ok_or(VerifyError::TooManyLeaves)?;
        let mut edge = TreeEdge {
            size,
            ..TreeEdge::default()
        };
        for root in block_roots {
            edge.upper.push(root, UPPER_LEVELS);
        }
        for leaf in tail {
            edge.tail.push(*leaf, BLOCK_LEVELS);
        }
        Ok(edge)
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Hash {
        right_edge_root(self.size, |level| self.last_node(level))
    }

    /// The last complete node at `level`.
    fn last_node(&self, level: u8) -> Option<Hash> {
        match level.checked_sub(TILE_HEIGHT) {
            Some(above) => self.upper.last(usize::from(above)),
            None => self.tail.last(usize::from(level)),
        }
    }

    /// Appends a leaf hash. When it completes a block, returns that block's 256 leaf hashes
    /// (a full level-0 tile, which the store keeps).
    pub fn push(&mut self, leaf_hash: Hash) -> Option<Vec<Hash>> {
        // No u64 tree goes past 2^64 - 1 leaves.
        let size = self.size.checked_add(1)?;
        self.size = size;
        self.tail.push(leaf_hash, BLOCK_LEVELS);
        let block_root = self.tail.last(usize::from(TILE_HEIGHT))?;
        // The block is complete: its pyramid joins the recent blocks, and the oldest of those
        // lends its allocations to the next tail.
        let mut next_tail = if self.recent.len() >= KEPT_BLOCKS {
            let (_, mut oldest) = self.recent.remove(0);
            oldest.clear();
            oldest
        } else {
            Levels::default()
        };
        core::mem::swap(&mut self.tail, &mut next_tail);
        let block = next_tail;
        let leaves = block.level(0).to_vec();
        self.upper.push(block_root, UPPER_LEVELS);
        self.recent.push(((size >> TILE_HEIGHT) - 1, block));
        Some(leaves)
    }

    /// The leaf hashes of the incomplete last block (a partial level-0 tile).
    pub fn tail_leaves(&self) -> &[Hash] {
        self.tail.level(0)
    }

    /// The roots of the complete blocks, in order: the level-8 nodes, what a store keeps to
    /// restore the edge.
    pub fn block_roots(&self) -> &[Hash] {
        self.upper.level(0)
    }

    /// A node source over this edge (and so over every tree size up to [`TreeEdge::size`]) that
    /// asks `load_block(block)` for the 256 leaf hashes of a completed block it no longer holds
    /// when a node inside it is needed.
    /// It keeps the last few blocks it loaded, rebuilt once each.
    pub fn source<E, F: Fn(u64) -> Result<Vec<Hash>, E>>(
        &self,
        load_block: F,
    ) -> EdgeSource<'_, E, F> {
        EdgeSource {
            edge: self,
            load_block,
            loaded: Cell::new(Vec::new()),
            error: PhantomData,
        }
    }
}

/// The levels of [`TreeEdge::upper`]: 8 to 63.
const UPPER_LEVELS: usize = (MAX_LEVEL - TILE_HEIGHT) as usize + 1;
/// How many loaded blocks an [`EdgeSource`] keeps: a proof touches at most two blocks below
/// level 8 (the leaf's, and the one where an older tree size ends).
const LOADED_BLOCKS: usize = 4;

/// Why an [`EdgeSource`] could not give a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EdgeError<E> {
    /// The tree does not hold that node.
    Missing(MissingNode),
    /// The loader failed.
    Load(E),
    /// The loader gave a block that is not 256 leaf hashes.
    BlockLength { block: u64, leaves: usize },
    /// The loader gave leaves whose root is not the block root the edge holds: the stored
    /// tile and the stored block roots disagree.
    BlockRootMismatch { block: u64 },
}

impl<E: fmt::Display> fmt::Display for EdgeError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EdgeError::Missing(missing) => missing.fmt(f),
            EdgeError::Load(error) => {
                write!(f, "a block of leaf hashes could not be loaded: {error}")
            }
            EdgeError::BlockLength { block, leaves } => write!(
                f,
                "block {block} was loaded with {leaves} leaf hashes instead of {TILE_WIDTH}"
            ),
            EdgeError::BlockRootMismatch { block } => write!(
                f,
                "the stored leaf hashes of block {block} do not hash to the block root the log \
                 holds: the store is damaged"
            ),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> core::error::Error for EdgeError<E> {}

/// A [`NodeSource`] over a [`TreeEdge`] that loads older blocks: see [`TreeEdge::source`].
pub struct EdgeSource<'a, E, F> {
    edge: &'a TreeEdge,
    load_block: F,
    /// Blocks loaded and rebuilt, oldest first. A `Cell` (taken and put back) rather than a
    /// `RefCell`: nothing can panic on a borrow.
    loaded: Cell<Vec<(u64, Levels)>>,
    error: PhantomData<fn() -> E>,
}

impl<E, F> fmt::Debug for EdgeSource<'_, E, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EdgeSource")
            .field("size", &self.edge.size)
            .finish_non_exhaustive()
    }
}

impl<E, F: Fn(u64) -> Result<Vec<Hash>, E>> EdgeSource<'_, E, F> {
    /// Loads block `block`, checks it against its root, and rebuilds its levels.
    fn load(&self, block: u64) -> Result<Levels, EdgeError<E>> {
        let leaves = (self.load_block)(block).map_err(EdgeError::Load)?;
        if leaves.len() as u64 != TILE_WIDTH {
            return Err(EdgeError::BlockLength {
                block,
                leaves: leaves.len(),
            });
        }
        let mut levels = Levels::default();
        for leaf in leaves {
            levels.push(leaf, BLOCK_LEVELS);
        }
        let rebuilt = levels.last(usize::from(TILE_HEIGHT));
        if rebuilt.is_none() || rebuilt != self.edge.upper.get(0, block) {
            return Err(EdgeError::BlockRootMismatch { block });
        }
        Ok(levels)
    }

    /// Node `within` at `level` (below 8) of completed block `block`, loading it if needed.
    fn node_in_old_block(
        &self,
        block: u64,
        level: usize,
        within: u64,
    ) -> Result<Option<Hash>, EdgeError<E>> {
        let mut loaded = self.loaded.take();
        let found = loaded
            .iter()
            .find(|(number, _)| *number == block)
            .map(|(_, levels)| levels.get(level, within));
        let node = match found {
            Some(node) => Ok(node),
            None => self.load(block).map(|levels| {
                let node = levels.get(level, within);
                if loaded.len() >= LOADED_BLOCKS {
                    loaded.remove(0);
                }
                loaded.push((block, levels));
                node
            }),
        };
        self.loaded.set(loaded);
        node
    }
}

impl<E, F: Fn(u64) -> Result<Vec<Hash>, E>> NodeSource for EdgeSource<'_, E, F> {
    type Error = EdgeError<E>;

    fn node(&self, level: u8, index: u64) -> Result<Hash, EdgeError<E>> {
        let edge = self.edge;
        let missing = MissingNode {
            level,
            index,
            size: edge.size,
        };
        match node_end(level, index) {
            Some(end) if end <= edge.size => {}
            _ => return Err(EdgeError::Missing(missing)),
        }
        let node = match level.checked_sub(TILE_HEIGHT) {
            Some(above) => edge.upper.get(usize::from(above), index),
            None => {
                let per_block = TILE_HEIGHT - level;
                let block = index >> per_block;
                let within = index - (block << per_block);
                let level = usize::from(level);
                if block == edge.size >> TILE_HEIGHT {
                    edge.tail.get(level, within)
                } else if let Some((_, levels)) =
                    edge.recent.iter().find(|(number, _)| *number == block)
                {
                    levels.get(level, within)
                } else {
                    self.node_in_old_block(block, level, within)?
                }
            }
        };
        node.ok_or(EdgeError::Missing(missing))
    }
}
