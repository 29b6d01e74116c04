//! The Merkle tree (src/merkle.rs), held to published test vectors, to an independent
//! implementation, and the writer's tree edge to a tree held whole.
//!
//! The modules below are the index: transparency-dev vectors, ct-merkle cross-check, the tree
//! edge, compact ranges, tampered proofs, nodes a tree does not have.

use biscotte_shared::merkle::{
    CompactRange, EdgeError, Hash, MemoryTree, MissingNode, NodeSource, ProofError, TreeEdge,
    VerifyError, consistency_proof, decompose, empty_root, inclusion_proof, leaf_hash, node_hash,
    range_hash, root, root_from_inclusion, verify_consistency, verify_inclusion,
};

/// splitmix64: a seeded generator, so that every run checks the same trees.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `[low, high)`.
    fn below(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low)
    }

    fn leaf(&mut self) -> Vec<u8> {
        let len = self.below(0, 40) as usize;
        (0..len).map(|_| self.next() as u8).collect()
    }

    fn hash(&mut self) -> Hash {
        leaf_hash(&self.next().to_le_bytes())
    }
}

fn random_tree(rng: &mut Rng, size: u64) -> MemoryTree {
    MemoryTree::from_leaf_hashes((0..size).map(|_| rng.hash()))
}

mod transparency_dev_vectors {
    //! The inclusion and consistency probes of github.com/transparency-dev/merkle (see the
    //! README beside them), checked as its Go test `proof/verify_test.go` checks them: every
    //! probe without `wantErr` verifies, every probe with it is refused.

    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::Deserialize;
    use std::path::{Path, PathBuf};

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct InclusionProbe {
        leaf_idx: u64,
        tree_size: u64,
        root: String,
        leaf_hash: String,
        proof: Option<Vec<String>>,
        desc: String,
        want_err: bool,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct ConsistencyProbe {
        size1: u64,
        size2: u64,
        root1: String,
        root2: String,
        proof: Option<Vec<String>>,
        desc: String,
        want_err: bool,
    }

    /// Probes that Go accepts although a value in them is not a 32-byte hash: with equal sizes,
    /// its verifier compares the two roots as bytes without hashing them.
    /// Our hashes are `[u8; 32]`, so such a value cannot reach our verifier: these probes are
    /// checked with a 32-byte stand-in for each such value (equal bytes, equal stand-ins).
    const VALID_WITH_MALFORMED_HASHES: &[&str] =
        &["consistency/additional/sizes-are-equal-one-and-proof-is-empty.json"];

    fn vectors() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/transparency-dev")
    }

    fn json_files(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("the vectors directory") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                json_files(&path, found);
            } else if path.extension().is_some_and(|ext| ext == "json") {
                found.push(path);
            }
        }
        found.sort();
    }

    /// Each probe with its name relative to the vectors directory.
    fn probes<T: serde::de::DeserializeOwned>(kind: &str) -> Vec<(String, T)> {
        let mut files = Vec::new();
        json_files(&vectors().join(kind), &mut files);
        files
            .into_iter()
            .map(|path| {
                let name = path
                    .strip_prefix(vectors())
                    .expect("under the vectors directory")
                    .to_string_lossy()
                    .into_owned();
                let probe = serde_json::from_slice(&std::fs::read(&path).expect("readable"))
                    .unwrap_or_else(|error| panic!("{name}: {error}"));
                (name, probe)
            })
            .collect()
    }

    /// The probe's value as a hash, or `None` when it is not 32 bytes.
    fn hash(base64: &str) -> Option<Hash> {
        STANDARD.decode(base64).expect("base64").try_into().ok()
    }

    fn stand_in(base64: &str) -> Hash {
        let mut bytes = b"a stand-in for a value that is not a hash: ".to_vec();
        bytes.extend(STANDARD.decode(base64).expect("base64"));
        leaf_hash(&bytes)
    }

    fn hashes(values: &Option<Vec<String>>) -> Option<Vec<Hash>> {
        values.iter().flatten().map(|value| hash(value)).collect()
    }

    #[test]
    fn our_inclusion_verifier_gives_the_verdict_of_every_transparency_dev_probe() {
        let probes = probes::<InclusionProbe>("inclusion");
        assert_eq!(
            probes.len(),
            98,
            "the inclusion probes copied from transparency-dev"
        );
        assert_eq!(
            probes.iter().filter(|(_, probe)| !probe.want_err).count(),
            6
        );
        for (name, probe) in probes {
            let parsed = (
                hash(&probe.leaf_hash),
                hash(&probe.root),
                hashes(&probe.proof),
            );
            let (Some(leaf), Some(root), Some(proof)) = parsed else {
                // A value that is not a 32-byte hash cannot reach our verifier.
                assert!(
                    probe.want_err,
                    "{name} ({}): valid, with a malformed hash",
                    probe.desc
                );
                continue;
            };
            let verdict = verify_inclusion(&leaf, probe.leaf_idx, probe.tree_size, &proof, &root);
            assert_eq!(
                verdict.is_err(),
                probe.want_err,
                "{name} ({}): {verdict:?}",
                probe.desc
            );
        }
    }

    #[test]
    fn our_consistency_verifier_gives_the_verdict_of_every_transparency_dev_probe() {
        let probes = probes::<ConsistencyProbe>("consistency");
        assert_eq!(
            probes.len(),
            98,
            "the consistency probes copied from transparency-dev"
        );
        assert_eq!(
            probes.iter().filter(|(_, probe)| !probe.want_err).count(),
            6
        );
        for (name, probe) in probes {
            let parsed = (hash(&probe.root1), hash(&probe.root2), hashes(&probe.proof));
            let (root1, root2, proof) = match parsed {
                (Some(root1), Some(root2), Some(proof)) => (root1, root2, proof),
                _ if VALID_WITH_MALFORMED_HASHES.contains(&name.as_str()) => {
                    assert!(!probe.want_err, "{name} is listed as valid");
                    let proof = hashes(&probe.proof).expect("its proof is made of hashes");
                    (stand_in(&probe.root1), stand_in(&probe.root2), proof)
                }
                _ => {
                    assert!(
                        probe.want_err,
                        "{name} ({}): valid, with a malformed hash",
                        probe.desc
                    );
                    continue;
                }
            };
            let verdict = verify_consistency(probe.size1, probe.size2, &root1, &root2, &proof);
            assert_eq!(
                verdict.is_err(),
                probe.want_err,
                "{name} ({}): {verdict:?}",
                probe.desc
            );
        }
    }

    #[test]
    fn our_proofs_of_the_transparency_dev_reference_tree_are_its_happy_paths() {
        // Every probe is about prefixes of one tree: the eight leaves of RFC 6962's examples
        // (`LeafInputs` in their testonly/constants.go).
        let leaves: [&[u8]; 8] = [
            b"",
            b"\x00",
            b"\x10",
            b"\x20\x21",
            b"\x30\x31",
            b"\x40\x41\x42\x43",
            b"\x50\x51\x52\x53\x54\x55\x56\x57",
            b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
        ];
        let tree = MemoryTree::from_leaf_hashes(leaves.iter().map(|leaf| leaf_hash(leaf)));
        let mut checked = 0;
        for (name, probe) in probes::<InclusionProbe>("inclusion") {
            if probe.desc != "happy path" {
                continue;
            }
            let proof = inclusion_proof(&tree, probe.leaf_idx, probe.tree_size).unwrap();
            assert_eq!(Some(proof), hashes(&probe.proof), "{name}");
            let leaf = tree.leaf_hashes()[probe.leaf_idx as usize];
            assert_eq!(Some(leaf), hash(&probe.leaf_hash), "{name}");
            assert_eq!(
                root(&tree, probe.tree_size).ok(),
                hash(&probe.root),
                "{name}"
            );
            checked += 1;
        }
        for (name, probe) in probes::<ConsistencyProbe>("consistency") {
            if probe.desc != "happy path" {
                continue;
            }
            let proof = consistency_proof(&tree, probe.size1, probe.size2).unwrap();
            assert_eq!(Some(proof), hashes(&probe.proof), "{name}");
            assert_eq!(root(&tree, probe.size1).ok(), hash(&probe.root1), "{name}");
            assert_eq!(root(&tree, probe.size2).ok(), hash(&probe.root2), "{name}");
            checked += 1;
        }
        assert_eq!(checked, 10, "five happy paths of each kind");
    }
}

mod ct_merkle_cross_check {
    //! ct-merkle 0.3 (an independent RFC 6962 implementation) and ours, on the same trees.
    //! Its proofs are the proof hashes concatenated, so ours are compared byte for byte.
    //! What its API cannot express: proofs from tree sizes other than its current size (we grow
    //! one tree and check every size as it passes), a consistency proof from the empty tree
    //! (it panics; ours is empty), and verification from a leaf hash (it takes the leaf's bytes).

    use super::*;
    use ct_merkle::mem_backed_tree::MemoryBackedTree;
    use ct_merkle::{ConsistencyProof, InclusionProof, RootHash};
    use sha2_for_ct_merkle::{Digest, Sha256};

    type CtTree = MemoryBackedTree<Sha256, Vec<u8>>;

    fn ct_root(hash: &Hash, size: u64) -> RootHash<Sha256> {
        RootHash::new((*hash).into(), size)
    }

    fn bytes(hashes: &[Hash]) -> Vec<u8> {
        hashes.concat()
    }

    fn sha256(parts: &[&[u8]]) -> Hash {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update(part);
        }
        hasher.finalize().into()
    }

    fn ct_tree(leaves: &[&[u8]]) -> Hash {
        let mut tree = CtTree::new();
        for leaf in leaves {
            tree.push(leaf.to_vec());
        }
        tree.root()
            .as_bytes()
            .as_slice()
            .try_into()
            .expect("32 bytes")
    }

    #[test]
    fn ct_merkle_and_we_hash_as_rfc_9162_says_with_sha_256() {
        // Written out with another SHA-256 than the one our code uses.
        let (a, b, c) = (b"a".as_slice(), b"b".as_slice(), b"c".as_slice());
        let leaf = |bytes: &[u8]| sha256(&[&[0x00], bytes]);
        let node = |left: &Hash, right: &Hash| sha256(&[&[0x01], left, right]);
        let empty = sha256(&[]);
        assert_eq!(ct_tree(&[]), empty);
        assert_eq!(empty_root(), empty);
        assert_eq!(ct_tree(&[a]), leaf(a));
        assert_eq!(leaf_hash(a), leaf(a));
        assert_eq!(ct_tree(&[a, b]), node(&leaf(a), &leaf(b)));
        assert_eq!(node_hash(&leaf(a), &leaf(b)), node(&leaf(a), &leaf(b)));
        let three = node(&node(&leaf(a), &leaf(b)), &leaf(c));
        assert_eq!(ct_tree(&[a, b, c]), three);
        let ours = MemoryTree::from_leaf_hashes([a, b, c].map(leaf_hash));
        assert_eq!(ours.root(), three);
    }

    #[test]
    fn roots_and_proofs_agree_with_ct_merkle_on_random_trees_up_to_1100_leaves() {
        let mut rng = Rng(1);
        let mut theirs = CtTree::new();
        let mut ours = MemoryTree::new();
        let mut leaves: Vec<Vec<u8>> = Vec::new();
        let mut roots: Vec<Hash> = Vec::new();
        for size in 0..=1100u64 {
            let our_root = root(&ours, size).unwrap();
            assert_eq!(our_root, ours.root());
            assert_eq!(theirs.root().as_bytes().as_slice(), our_root, "size {size}");
            roots.push(our_root);
            let their_root = ct_root(&our_root, size);

            if size > 0 {
                let mut indices = vec![0, size - 1];
                indices.extend((0..3).map(|_| rng.below(0, size)));
                for index in indices {
                    let leaf = &leaves[index as usize];
                    let proof = inclusion_proof(&ours, index, size).unwrap();
                    let their_proof = theirs.prove_inclusion(index as usize);
                    assert_eq!(
                        their_proof.as_bytes(),
                        bytes(&proof),
                        "leaf {index} of {size}"
                    );
                    their_root
                        .verify_inclusion(leaf, index, &InclusionProof::from_bytes(bytes(&proof)))
                        .unwrap();
                    let their_hashes: Vec<Hash> = their_proof
                        .as_bytes()
                        .chunks(32)
                        .map(|chunk| chunk.try_into().unwrap())
                        .collect();
                    verify_inclusion(&leaf_hash(leaf), index, size, &their_hashes, &our_root)
                        .unwrap();
                }

                let mut old_sizes = vec![1, size, size - 1, 1 << (63 - size.leading_zeros())];
                old_sizes.extend((0..3).map(|_| rng.below(1, size + 1)));
                for old_size in old_sizes.into_iter().filter(|&old| old >= 1) {
                    let old_root = roots[old_size as usize];
                    let proof = consistency_proof(&ours, old_size, size).unwrap();
                    let their_proof = theirs.prove_consistency((size - old_size) as usize);
                    assert_eq!(
                        their_proof.as_bytes(),
                        bytes(&proof),
                        "{old_size} to {size}"
                    );
                    their_root
                        .verify_consistency(
                            &ct_root(&old_root, old_size),
                            &ConsistencyProof::try_from_bytes(bytes(&proof)).unwrap(),
                        )
                        .unwrap();
                    verify_consistency(old_size, size, &old_root, &our_root, &proof).unwrap();
                }
            }

            let leaf = rng.leaf();
            ours.push(leaf_hash(&leaf));
            theirs.push(leaf.clone());
            leaves.push(leaf);
        }
    }
}

mod tree_edge {
    //! The writer's edge against a tree held whole, around block boundaries.

    use super::*;
    use std::cell::RefCell;

    const SIZES: &[u64] = &[
        0, 1, 255, 256, 257, 511, 512, 513, 767, 768, 769, 1000, 70_000,
    ];

    /// A store of the blocks the edge gave, with a log of the loads.
    struct Blocks {
        blocks: Vec<Vec<Hash>>,
        loads: RefCell<Vec<u64>>,
    }

    impl Blocks {
        fn new() -> Blocks {
            Blocks {
                blocks: Vec::new(),
                loads: RefCell::new(Vec::new()),
            }
        }

        fn load(&self, block: u64) -> Result<Vec<Hash>, String> {
            self.loads.borrow_mut().push(block);
            self.blocks
                .get(block as usize)
                .cloned()
                .ok_or_else(|| format!("no block {block}"))
        }

        fn take_loads(&self) -> Vec<u64> {
            std::mem::take(&mut *self.loads.borrow_mut())
        }
    }

    fn push_all(edge: &mut TreeEdge, blocks: &mut Blocks, hashes: &[Hash]) {
        for hash in hashes {
            let start = edge.size();
            if let Some(block) = edge.push(*hash) {
                assert_eq!(edge.size() % 256, 0, "a block after leaf {start}");
                blocks.blocks.push(block);
            } else {
                assert_ne!(edge.size() % 256, 0, "no block after leaf {start}");
            }
        }
    }

    /// Tree sizes and leaves to check in a tree of `size` leaves: every one in small trees, a
    /// sample around the ends and the block boundaries in large ones.
    fn sample(rng: &mut Rng, size: u64) -> Vec<u64> {
        if size <= 600 {
            return (0..size).collect();
        }
        let mut picks: Vec<u64> = (0..40).map(|_| rng.below(0, size)).collect();
        picks.extend((size - 300)..size);
        for boundary in [256, 512, 65_536] {
            picks.extend(
                [boundary - 1, boundary, boundary + 1]
                    .iter()
                    .filter(|&&p| p < size),
            );
        }
        picks
    }

    /// Everything a proof can ask of `edge`, compared with `full` over the same leaves.
    fn assert_same_tree(edge: &TreeEdge, full: &MemoryTree, blocks: &Blocks, rng: &mut Rng) {
        let size = full.size();
        assert_eq!(edge.size(), size);
        assert_eq!(edge.root(), full.root(), "root of {size}");
        let source = edge.source(|block| blocks.load(block));
        for old in sample(rng, size).into_iter().map(|s| s + 1) {
            assert_eq!(
                root(&source, old),
                Ok(root(full, old).expect("the whole tree has it")),
                "root of {old}"
            );
            let index = rng.below(0, old);
            assert_eq!(
                inclusion_proof(&source, index, old),
                Ok(inclusion_proof(full, index, old).expect("the whole tree has it")),
                "leaf {index} of {old}"
            );
            assert_eq!(
                consistency_proof(&source, old, size),
                Ok(consistency_proof(full, old, size).expect("the whole tree has it")),
                "{old} to {size}"
            );
            let new = rng.below(old, size + 1);
            assert_eq!(
                consistency_proof(&source, old, new),
                Ok(consistency_proof(full, old, new).expect("the whole tree has it")),
                "{old} to {new}"
            );
        }
        for index in sample(rng, size) {
            assert_eq!(
                inclusion_proof(&source, index, size),
                Ok(inclusion_proof(full, index, size).expect("the whole tree has it")),
                "leaf {index} of {size}"
            );
        }
    }

    #[test]
    fn the_edge_gives_the_roots_and_proofs_of_the_whole_tree() {
        let mut rng = Rng(2);
        for &size in SIZES {
            let full = random_tree(&mut rng, size);
            let (mut edge, mut blocks) = (TreeEdge::new(), Blocks::new());
            push_all(&mut edge, &mut blocks, full.leaf_hashes());
            assert_same_tree(&edge, &full, &blocks, &mut rng);
        }
    }

    #[test]
    fn push_returns_each_completed_block_once_as_its_256_leaf_hashes() {
        let mut rng = Rng(3);
        let full = random_tree(&mut rng, 1000);
        let mut edge = TreeEdge::new();
        let mut returned = Vec::new();
        for (index, hash) in full.leaf_hashes().iter().enumerate() {
            if let Some(block) = edge.push(*hash) {
                returned.push((index, block));
            }
        }
        let expected: Vec<(usize, Vec<Hash>)> = full
            .leaf_hashes()
            .chunks_exact(256)
            .enumerate()
            .map(|(block, leaves)| (block * 256 + 255, leaves.to_vec()))
            .collect();
        assert_eq!(returned, expected);
        assert_eq!(edge.tail_leaves(), &full.leaf_hashes()[768..]);
        let level_8: Vec<Hash> = (0..3).map(|block| full.node(8, block).unwrap()).collect();
        assert_eq!(edge.block_roots(), level_8);
    }

    #[test]
    fn the_proofs_of_the_last_512_leaves_need_no_block_load() {
        let mut rng = Rng(4);
        for &size in SIZES {
            let full = random_tree(&mut rng, size);
            let (mut edge, mut blocks) = (TreeEdge::new(), Blocks::new());
            push_all(&mut edge, &mut blocks, full.leaf_hashes());
            let source = edge.source(|block| blocks.load(block));
            assert_eq!(root(&source, size), Ok(full.root()));
            for index in size.saturating_sub(512)..size {
                inclusion_proof(&source, index, size).unwrap();
            }
            assert_eq!(blocks.take_loads(), Vec::<u64>::new(), "{size} leaves");
        }
    }

    #[test]
    fn blocks_are_loaded_only_when_older_than_the_two_last_completed_and_once_per_source() {
        let mut rng = Rng(5);
        let full = random_tree(&mut rng, 3000);
        let (mut edge, mut blocks) = (TreeEdge::new(), Blocks::new());
        push_all(&mut edge, &mut blocks, full.leaf_hashes());
        let completed = 3000 / 256;
        for index in (0..3000).step_by(7) {
            let source = edge.source(|block| blocks.load(block));
            inclusion_proof(&source, index, 3000).unwrap();
            inclusion_proof(&source, index, 3000).unwrap();
            let loads = blocks.take_loads();
            let block = index / 256;
            if block < completed - 2 {
                assert_eq!(loads, [block], "leaf {index}");
            } else {
                assert_eq!(loads, Vec::<u64>::new(), "leaf {index}");
            }
        }
    }

    #[test]
    fn a_restored_edge_behaves_as_the_one_it_was_saved_from() {
        let mut rng = Rng(6);
        for &size in SIZES {
            let mut full = random_tree(&mut rng, size);
            let (mut edge, mut blocks) = (TreeEdge::new(), Blocks::new());
            push_all(&mut edge, &mut blocks, full.leaf_hashes());
            let mut restored =
                TreeEdge::restore(edge.block_roots().to_vec(), edge.tail_leaves()).unwrap();
            assert_eq!(restored.block_roots(), edge.block_roots());
            assert_eq!(restored.tail_leaves(), edge.tail_leaves());
            assert_same_tree(&restored, &full, &blocks, &mut rng);

            // Both go on growing, and stay the same tree.
            let mut restored_blocks = Blocks::new();
            restored_blocks.blocks = blocks.blocks.clone();
            for _ in 0..600 {
                let hash = rng.hash();
                full.push(hash);
                let block = edge.push(hash);
                assert_eq!(restored.push(hash), block);
                blocks.blocks.extend(block.clone());
                restored_blocks.blocks.extend(block);
                assert_eq!(restored.root(), full.root());
            }
            assert_same_tree(&restored, &full, &restored_blocks, &mut rng);
        }
    }

    #[test]
    fn restore_refuses_a_tail_of_a_whole_block() {
        let tail = vec![[7; 32]; 256];
        assert_eq!(
            TreeEdge::restore(vec![], &tail).unwrap_err(),
            VerifyError::TailTooLong { len: 256 }
        );
        assert!(TreeEdge::restore(vec![], &tail[..255]).is_ok());
    }

    #[test]
    fn a_block_whose_leaves_do_not_hash_to_its_root_is_refused() {
        let mut rng = Rng(7);
        let full = random_tree(&mut rng, 2000);
        let (mut edge, mut blocks) = (TreeEdge::new(), Blocks::new());
        push_all(&mut edge, &mut blocks, full.leaf_hashes());
        blocks.blocks[1][17][0] ^= 1;
        let source = edge.source(|block| blocks.load(block));
        assert_eq!(
            inclusion_proof(&source, 300, 2000),
            Err(ProofError::Source(EdgeError::BlockRootMismatch {
                block: 1
            }))
        );
        blocks.blocks[1].pop();
        let source = edge.source(|block| blocks.load(block));
        assert_eq!(
            inclusion_proof(&source, 300, 2000),
            Err(ProofError::Source(EdgeError::BlockLength {
                block: 1,
                leaves: 255
            }))
        );
        let source = edge.source(|block| Err(format!("block {block} is not there")));
        assert_eq!(
            inclusion_proof(&source, 300, 2000),
            Err(ProofError::Source(EdgeError::Load(
                "block 1 is not there".into()
            )))
        );
        // Nothing else needed a load.
        assert_eq!(
            inclusion_proof(&source, 1999, 2000),
            Ok(inclusion_proof(&full, 1999, 2000).unwrap())
        );
    }
}

mod compact_ranges {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn decompose_covers_a_range_with_its_largest_aligned_nodes(
            begin in prop_oneof![0u64..5000, any::<u64>()],
            len in prop_oneof![0u64..5000, any::<u64>()],
        ) {
            let end = begin.saturating_add(len);
            let nodes = decompose(begin, end);
            let mut at = begin;
            for &(level, index) in &nodes {
                prop_assert!(level <= 63);
                prop_assert_eq!(index.checked_shl(level.into()), Some(at), "aligned, and next");
                at = at.wrapping_add(1u64 << level);
                // Each node is as large as the range allows: its parent reaches out of it.
                let parent_begin = u128::from(index >> 1) << (level + 1);
                let parent_end = (u128::from(index >> 1) + 1) << (level + 1);
                prop_assert!(parent_begin < u128::from(begin) || parent_end > u128::from(end), "{nodes:?}");
            }
            prop_assert_eq!(at, if nodes.is_empty() { begin } else { end });
        }
    }

    fn hashes_of(tree: &MemoryTree, begin: u64, end: u64) -> Vec<Hash> {
        decompose(begin, end)
            .into_iter()
            .map(|(level, index)| tree.node(level, index).expect("a node of the tree"))
            .collect()
    }

    fn appended(tree: &MemoryTree, begin: u64, end: u64) -> CompactRange {
        let mut range = CompactRange::new(begin);
        for hash in &tree.leaf_hashes()[begin as usize..end as usize] {
            range.append(*hash);
        }
        range
    }

    #[test]
    fn a_compact_range_holds_its_decomposition_whether_appended_or_merged() {
        let mut rng = Rng(8);
        let tree = random_tree(&mut rng, 700);
        for _ in 0..300 {
            let mut cuts = [rng.below(0, 701), rng.below(0, 701), rng.below(0, 701)];
            cuts.sort();
            let [begin, middle, end] = cuts;
            let whole = appended(&tree, begin, end);
            assert_eq!((whole.begin(), whole.end()), (begin, end));
            assert_eq!(
                whole.hashes(),
                hashes_of(&tree, begin, end),
                "[{begin}, {end})"
            );
            let mut merged = appended(&tree, begin, middle);
            merged.merge(appended(&tree, middle, end)).unwrap();
            assert_eq!(merged, whole, "[{begin}, {middle}) + [{middle}, {end})");
            let parts = CompactRange::from_parts(begin, end, whole.hashes().to_vec()).unwrap();
            assert_eq!(parts, whole);
            if begin == 0 {
                assert_eq!(whole.root(), Some(root(&tree, end).unwrap()));
            } else {
                assert_eq!(whole.root(), None);
            }
        }
    }

    #[test]
    fn a_compact_range_from_0_gives_the_root_of_every_size_it_passes() {
        let mut rng = Rng(9);
        let tree = random_tree(&mut rng, 600);
        let mut range = CompactRange::new(0);
        assert_eq!(range.root(), Some(empty_root()));
        for (size, hash) in tree.leaf_hashes().iter().enumerate() {
            range.append(*hash);
            assert_eq!(range.root(), Some(root(&tree, size as u64 + 1).unwrap()));
        }
    }

    #[test]
    fn compact_ranges_refuse_wrong_shapes_and_gaps() {
        let mut rng = Rng(10);
        let tree = random_tree(&mut rng, 100);
        let mut hashes = hashes_of(&tree, 3, 77);
        hashes.push([0; 32]);
        assert_eq!(
            CompactRange::from_parts(3, 77, hashes.clone()),
            Err(VerifyError::RangeShape {
                begin: 3,
                end: 77,
                expected: 8,
                got: 9
            })
        );
        assert_eq!(
            CompactRange::from_parts(77, 3, vec![]),
            Err(VerifyError::RangeBackwards { begin: 77, end: 3 })
        );
        let mut left = appended(&tree, 3, 40);
        assert_eq!(
            left.merge(appended(&tree, 41, 77)),
            Err(VerifyError::RangesNotAdjacent {
                left_end: 40,
                right_begin: 41
            })
        );
        assert_eq!(
            left,
            appended(&tree, 3, 40),
            "a refused merge changes nothing"
        );
    }
}

mod tampered_proofs {
    //! Every change to a proof, or to what it is checked against, is refused.

    use super::*;

    /// The hash with one bit flipped, in a few places across it.
    fn flipped(hash: &Hash) -> impl Iterator<Item = Hash> + '_ {
        [0, 9, 18, 31].into_iter().map(move |byte| {
            let mut changed = *hash;
            changed[byte] ^= 1 << (byte % 8);
            changed
        })
    }

    /// The proof with a hash added or removed at either end, or two neighbours swapped.
    fn reshaped(proof: &[Hash]) -> Vec<Vec<Hash>> {
        let extra = [9; 32];
        let mut shapes = vec![[&[extra], proof].concat(), [proof, &[extra]].concat()];
        if !proof.is_empty() {
            shapes.push(proof[1..].to_vec());
            shapes.push(proof[..proof.len() - 1].to_vec());
        }
        for i in 1..proof.len() {
            if proof[i - 1] != proof[i] {
                let mut swapped = proof.to_vec();
                swapped.swap(i - 1, i);
                shapes.push(swapped);
            }
        }
        shapes
    }

    #[test]
    fn an_inclusion_proof_is_refused_after_any_change() {
        let mut rng = Rng(11);
        let tree = random_tree(&mut rng, 1000);
        let roots: Vec<Hash> = (0..=1000).map(|size| root(&tree, size).unwrap()).collect();
        let mut cases: Vec<(u64, u64)> = (1..=33)
            .flat_map(|size| (0..size).map(move |i| (i, size)))
            .collect();
        cases.extend((0..200).map(|_| {
            let size = rng.below(34, 1001);
            (rng.below(0, size), size)
        }));
        for (index, size) in cases {
            let what = format!("leaf {index} of {size}");
            let leaf = tree.leaf_hashes()[index as usize];
            let proof = inclusion_proof(&tree, index, size).unwrap();
            let good = roots[size as usize];
            assert_eq!(
                verify_inclusion(&leaf, index, size, &proof, &good),
                Ok(()),
                "{what}"
            );
            for at in 0..proof.len() {
                for changed in flipped(&proof[at]) {
                    let mut bad = proof.clone();
                    bad[at] = changed;
                    assert!(
                        verify_inclusion(&leaf, index, size, &bad, &good).is_err(),
                        "{what}"
                    );
                }
            }
            for changed in flipped(&leaf) {
                assert_eq!(
                    verify_inclusion(&changed, index, size, &proof, &good),
                    Err(VerifyError::RootMismatch)
                );
            }
            for changed in flipped(&good) {
                assert_eq!(
                    verify_inclusion(&leaf, index, size, &proof, &changed),
                    Err(VerifyError::RootMismatch)
                );
            }
            for bad in reshaped(&proof) {
                assert!(
                    verify_inclusion(&leaf, index, size, &bad, &good).is_err(),
                    "{what}: {bad:?}"
                );
            }
            // Another index in the same tree.
            for other in (index.saturating_sub(20)..(index + 20).min(size)).filter(|&i| i != index)
            {
                assert!(
                    verify_inclusion(&leaf, other, size, &proof, &good).is_err(),
                    "{what} as {other}"
                );
            }
            assert_eq!(
                verify_inclusion(&leaf, size, size, &proof, &good),
                Err(VerifyError::IndexBeyondSize { index: size, size })
            );
            // Another tree size, with that size's root: what a checkpoint of that size says.
            // (Against its own root, a proof can also pass for a few other sizes: a proof does
            // not carry the size, the signed checkpoint binds root and size together.)
            for other in
                (size.saturating_sub(20)..(size + 20).min(1001)).filter(|&s| s != size && s > index)
            {
                assert!(
                    verify_inclusion(&leaf, index, other, &proof, &roots[other as usize]).is_err(),
                    "{what} in {other}"
                );
            }
        }
    }

    #[test]
    fn a_consistency_proof_is_refused_after_any_change() {
        let mut rng = Rng(12);
        let tree = random_tree(&mut rng, 1000);
        let roots: Vec<Hash> = (0..=1000).map(|size| root(&tree, size).unwrap()).collect();
        let mut cases: Vec<(u64, u64)> = (1..=33)
            .flat_map(|new| (1..new).map(move |old| (old, new)))
            .collect();
        cases.extend((0..200).map(|_| {
            let new = rng.below(34, 1001);
            (rng.below(1, new), new)
        }));
        for (old, new) in cases {
            let what = format!("{old} to {new}");
            let proof = consistency_proof(&tree, old, new).unwrap();
            let (old_root, new_root) = (roots[old as usize], roots[new as usize]);
            assert_eq!(
                verify_consistency(old, new, &old_root, &new_root, &proof),
                Ok(()),
                "{what}"
            );
            for at in 0..proof.len() {
                for changed in flipped(&proof[at]) {
                    let mut bad = proof.clone();
                    bad[at] = changed;
                    assert!(
                        verify_consistency(old, new, &old_root, &new_root, &bad).is_err(),
                        "{what}"
                    );
                }
            }
            for changed in flipped(&old_root) {
                assert!(
                    verify_consistency(old, new, &changed, &new_root, &proof).is_err(),
                    "{what}"
                );
            }
            for changed in flipped(&new_root) {
                assert_eq!(
                    verify_consistency(old, new, &old_root, &changed, &proof),
                    Err(VerifyError::NewRootMismatch),
                    "{what}"
                );
            }
            for bad in reshaped(&proof) {
                assert!(
                    verify_consistency(old, new, &old_root, &new_root, &bad).is_err(),
                    "{what}: {bad:?}"
                );
            }
            assert!(
                verify_consistency(new, old, &new_root, &old_root, &proof).is_err(),
                "{what} swapped"
            );
            for other in
                (old.saturating_sub(10)..(old + 10).min(new + 1)).filter(|&o| o != old && o > 0)
            {
                assert!(
                    verify_consistency(other, new, &roots[other as usize], &new_root, &proof)
                        .is_err(),
                    "{what} from {other}"
                );
            }
            for other in
                (new.saturating_sub(10).max(old)..(new + 10).min(1001)).filter(|&n| n != new)
            {
                assert!(
                    verify_consistency(old, other, &old_root, &roots[other as usize], &proof)
                        .is_err(),
                    "{what} to {other}"
                );
            }
        }
    }

    #[test]
    fn equal_sizes_need_equal_roots_and_no_proof_and_the_empty_tree_proves_nothing() {
        let tree = random_tree(&mut Rng(13), 10);
        let (five, six) = (root(&tree, 5).unwrap(), root(&tree, 6).unwrap());
        assert_eq!(consistency_proof(&tree, 5, 5), Ok(vec![]));
        assert_eq!(verify_consistency(5, 5, &five, &five, &[]), Ok(()));
        assert_eq!(
            verify_consistency(5, 5, &five, &six, &[]),
            Err(VerifyError::SameSizeDifferentRoots { size: 5 })
        );
        assert_eq!(
            verify_consistency(5, 5, &five, &five, &[five]),
            Err(VerifyError::ProofLength {
                expected: 0,
                got: 1
            })
        );
        assert_eq!(consistency_proof(&tree, 0, 6), Ok(vec![]));
        assert_eq!(
            verify_consistency(0, 6, &empty_root(), &six, &[]),
            Err(VerifyError::OldTreeEmpty)
        );
        assert_eq!(
            verify_consistency(6, 5, &six, &five, &[]),
            Err(VerifyError::OldLargerThanNew {
                old_size: 6,
                new_size: 5
            })
        );
        assert_eq!(
            root_from_inclusion(&tree.leaf_hashes()[0], 0, 0, &[]),
            Err(VerifyError::IndexBeyondSize { index: 0, size: 0 })
        );
    }
}

mod missing_nodes {
    //! A node a tree does not have is an error, never a panic nor a hash.

    use super::*;

    fn absent(size: u64) -> Vec<(u8, u64)> {
        vec![
            (0, size),
            (0, u64::MAX),
            (3, size / 8 + 1),
            (4, size / 16),
            (8, size / 256),
            (20, 0),
            (63, 0),
            (63, 2),
            (64, 0),
            (255, 0),
            (1, u64::MAX / 2 + 1),
        ]
    }

    #[test]
    fn nodes_beyond_the_tree_or_incomplete_are_errors() {
        let full = random_tree(&mut Rng(14), 1000);
        let mut edge = TreeEdge::new();
        for hash in full.leaf_hashes() {
            edge.push(*hash);
        }
        let source = edge.source(|block| {
            Ok::<_, ()>(full.leaf_hashes()[block as usize * 256..][..256].to_vec())
        });
        for (level, index) in absent(1000) {
            let missing = MissingNode {
                level,
                index,
                size: 1000,
            };
            assert_eq!(full.node(level, index), Err(missing));
            assert_eq!(source.node(level, index), Err(EdgeError::Missing(missing)));
        }
        // The last complete node of each level is there.
        for (level, index) in [(0, 999), (3, 124), (8, 2), (9, 0)] {
            assert_eq!(
                source.node(level, index),
                Ok(full.node(level, index).unwrap())
            );
        }
        let empty = TreeEdge::new();
        let none = empty.source(|_| Err(()));
        assert_eq!(
            none.node(0, 0),
            Err(EdgeError::Missing(MissingNode {
                level: 0,
                index: 0,
                size: 0
            }))
        );
        assert_eq!(root(&none, 0), Ok(empty_root()));
    }

    #[test]
    fn proofs_for_sizes_the_tree_does_not_have_are_errors() {
        let full = random_tree(&mut Rng(15), 1000);
        let missing = |level, index| {
            ProofError::Source(MissingNode {
                level,
                index,
                size: 1000,
            })
        };
        assert_eq!(root(&full, 1001), Err(missing(0, 1000)));
        assert!(matches!(
            inclusion_proof(&full, 5, 1001),
            Err(ProofError::Source(_))
        ));
        assert!(matches!(
            consistency_proof(&full, 10, 1001),
            Err(ProofError::Source(_))
        ));
        assert!(matches!(
            inclusion_proof(&full, 1000, 1000),
            Err(ProofError::Invalid(_))
        ));
        assert!(matches!(
            inclusion_proof(&full, 0, 0),
            Err(ProofError::Invalid(_))
        ));
        assert!(matches!(
            consistency_proof(&full, 11, 10),
            Err(ProofError::Invalid(_))
        ));
        assert!(matches!(
            range_hash(&full, 3, 7),
            Err(ProofError::Invalid(_))
        ));
        assert!(matches!(
            range_hash(&full, 5, 5),
            Err(ProofError::Invalid(_))
        ));
        assert_eq!(
            range_hash(&full, 4, 7),
            Ok(node_hash(
                &full.node(1, 2).unwrap(),
                &full.node(0, 6).unwrap()
            ))
        );
        assert!(matches!(
            range_hash(&full, 1, u64::MAX),
            Err(ProofError::Invalid(_))
        ));
        assert!(matches!(
            range_hash(&full, 0, u64::MAX),
            Err(ProofError::Source(_))
        ));
    }
}
