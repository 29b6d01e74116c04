//! The C2SP text formats and their signatures, held to the published vectors in
//! `tests/vectors/c2sp/` (README.md there names each file's source) and to the refusals an
//! auditor must see.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use biscotte_shared::note::{
    Base64Problem, Checkpoint, MAX_PROOF_HASHES, MAX_SIGNATURES, NoteError, SignedNote, TlogProof,
    VerifierKey, key_id, open_checkpoint, sign_note, verify_note,
};
use ed25519_dalek::{Signer as _, SigningKey};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

fn vector_bytes(path: &str) -> Vec<u8> {
    let full = format!("{}/tests/vectors/c2sp/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

fn vector(path: &str) -> String {
    String::from_utf8(vector_bytes(path)).expect("UTF-8 vector")
}

/// A vkey file holds one key and a newline.
fn vkey(path: &str) -> VerifierKey {
    VerifierKey::parse(vector(path).trim_end_matches('\n')).expect("valid vkey")
}

/// Go's signer key text: `PRIVATE+KEY+<name>+<key id>+base64(0x01 ‖ 32-byte seed)`.
fn go_signer(path: &str) -> SigningKey {
    let text = vector(path);
    // The key material is base64, whose alphabet has '+': the name and id come before it.
    let material = text.trim_end().splitn(5, '+').nth(4).expect("five parts");
    let material = BASE64.decode(material).expect("base64");
    assert_eq!(material[0], 0x01, "an Ed25519 signer key");
    SigningKey::from_bytes(&material[1..].try_into().expect("a 32-byte seed"))
}

/// Our own test log: a fixed seed, so every run signs the same bytes.
fn test_log() -> (SigningKey, VerifierKey) {
    let signing = SigningKey::from_bytes(&[7; 32]);
    let key = VerifierKey::new("log.example/consent", signing.verifying_key().to_bytes())
        .expect("a valid key");
    (signing, key)
}

fn sign_with(signing: &SigningKey, body: &str, key: &VerifierKey) -> String {
    sign_note(body, key, |message| signing.sign(message).to_bytes()).expect("signs")
}

const ROOT: [u8; 32] = [0xab; 32];

fn checkpoint_body(size: u64) -> String {
    Checkpoint {
        origin: "log.example/consent".into(),
        size,
        root: ROOT,
        extensions: vec![],
    }
    .to_body()
}

/// The Go tests' two-line text.
fn go_text() -> String {
    vector("go-sumdb/text.txt")
}

fn peter_signature_line() -> String {
    let note = vector("go-sumdb/peter.note");
    note[go_text().len() + 1..].to_owned()
}

// --- Verifier keys -------------------------------------------------------------------------

#[test]
fn the_published_verifier_keys_parse_print_back_and_their_ids_match() {
    let cases = [
        (
            "go-sumdb/PeterNeumann.vkey",
            "PeterNeumann",
            [0xc7, 0x4f, 0x20, 0xa3],
        ),
        (
            "go-sumdb/EnochRoot.vkey",
            "EnochRoot",
            [0xaf, 0x0c, 0xfe, 0x78],
        ),
        (
            "go-sumdb/localhost.localdev-sumdb.vkey",
            "localhost.localdev/sumdb",
            [0x00, 0x00, 0x0c, 0x67],
        ),
        (
            "specs/signed-note-example.vkey",
            "example.com/foo",
            [0x53, 0x0d, 0x90, 0x3a],
        ),
    ];
    for (path, name, id) in cases {
        let key = vkey(path);
        assert_eq!(key.name, name, "{path}");
        assert_eq!(key.id, id, "{path}");
        assert_eq!(key_id(name, &key.public), id, "{path}");
        assert_eq!(key.to_string(), vector(path).trim_end(), "{path}");
        assert_eq!(VerifierKey::new(name, key.public).unwrap(), key, "{path}");
    }
}

#[test]
fn the_go_signer_keys_derive_the_published_verifier_keys() {
    for (skey, vkey_path) in [
        ("go-sumdb/PeterNeumann.skey", "go-sumdb/PeterNeumann.vkey"),
        (
            "go-sumdb/localhost.localdev-sumdb.skey",
            "go-sumdb/localhost.localdev-sumdb.vkey",
        ),
    ] {
        let public = go_signer(skey).verifying_key().to_bytes();
        assert_eq!(vkey(vkey_path).public, public, "{skey}");
    }
}

/// Go's `TestNewVerifier`: every strict substring, and every one-byte increment, is refused.
#[test]
fn every_mangling_of_a_verifier_key_is_refused() {
    let good = vector("go-sumdb/PeterNeumann.vkey");
    let good = good.trim_end().as_bytes();
    for i in 0..=good.len() {
        for j in i + 1..=good.len() {
            if (i, j) != (0, good.len()) {
                let text = std::str::from_utf8(&good[i..j]).unwrap();
                assert!(VerifierKey::parse(text).is_err(), "{text:?} accepted");
            }
        }
    }
    for i in 0..good.len() {
        let mut bytes = good.to_vec();
        bytes[i] += 1;
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(VerifierKey::parse(text).is_err(), "{text:?} accepted");
    }
}

#[test]
fn the_go_bad_verifier_keys_are_refused_with_their_reason() {
    let bad = vector("go-sumdb/bad.vkeys");
    let mut lines = bad.lines();
    // A 37-byte key: Go refuses its length; its base64 ("…BADKEY==") is not canonical either.
    assert_eq!(
        VerifierKey::parse(lines.next().unwrap()),
        Err(NoteError::BadBase64 {
            line: 1,
            field: "the verifier key's key material",
            problem: Base64Problem::NonCanonical
        })
    );
    assert_eq!(
        VerifierKey::parse(lines.next().unwrap()),
        Err(NoteError::UnsupportedKeyType { key_type: 0x65 })
    );
    assert_eq!(lines.next(), None);
}

#[test]
fn key_names_the_spec_forbids_are_refused() {
    let public = test_log().1.public;
    for name in [
        "",
        "a+b",
        "has space",
        "tab\there",
        "nbsp\u{a0}here",
        "ideographic\u{3000}",
        "ctl\u{1}",
    ] {
        assert_eq!(
            VerifierKey::new(name, public),
            Err(NoteError::InvalidKeyName { name: name.into() }),
            "{name:?}"
        );
    }
    assert!(VerifierKey::new("example.com/log-42_ü", public).is_ok());
}

#[test]
fn keys_that_cannot_be_trusted_are_refused() {
    // The identity point, of small order: anyone can forge for it.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert!(matches!(
        VerifierKey::new("weak.example", identity),
        Err(NoteError::UnusablePublicKey { .. })
    ));
    let weak = VerifierKey {
        name: "weak.example".into(),
        id: key_id("weak.example", &identity),
        public: identity,
    };
    assert!(matches!(
        VerifierKey::parse(&weak.to_string()),
        Err(NoteError::UnusablePublicKey { .. })
    ));
    // A y coordinate with no point on the curve.
    let mut off_curve = [0u8; 32];
    off_curve[0] = 2;
    assert!(matches!(
        VerifierKey::new("off.example", off_curve),
        Err(NoteError::UnusablePublicKey { .. })
    ));
    // Uppercase hex: the spec writes the id in lowercase.
    let upper = vector("go-sumdb/PeterNeumann.vkey")
        .trim_end()
        .replace("c74f20a3", "C74F20A3");
    assert!(matches!(
        VerifierKey::parse(&upper),
        Err(NoteError::MalformedVerifierKey { .. })
    ));
}

// --- Signed notes: the Go vectors ----------------------------------------------------------

#[test]
fn signing_with_the_go_test_keys_gives_their_signed_notes_byte_for_byte() {
    let peter = go_signer("go-sumdb/PeterNeumann.skey");
    assert_eq!(
        sign_with(&peter, &go_text(), &vkey("go-sumdb/PeterNeumann.vkey")),
        vector("go-sumdb/peter.note")
    );
    let sumdb = go_signer("go-sumdb/localhost.localdev-sumdb.skey");
    let sumdb_key = vkey("go-sumdb/localhost.localdev-sumdb.vkey");
    let tree6 = vector("go-sumdb/sumdb-tree-6.note");
    let body6 = SignedNote::parse(&tree6).unwrap().body;
    assert_eq!(sign_with(&sumdb, &body6, &sumdb_key), tree6);
    // The tree-5 note of the same Go test was signed over "go.sum database tree", without the
    // "!" its text shows: the stored note is an altered one.
    let tree5 = vector("go-sumdb/sumdb-tree-5-altered.note");
    let original = tree5.replacen("tree!\n", "tree\n", 1);
    let original_body = SignedNote::parse(&original).unwrap().body;
    assert_eq!(sign_with(&sumdb, &original_body, &sumdb_key), original);
    assert_eq!(
        verify_note(&tree5, &sumdb_key),
        Err(NoteError::BadSignature {
            name: "localhost.localdev/sumdb".into(),
            id: sumdb_key.id
        })
    );
}

#[test]
fn the_go_signed_notes_verify_with_each_of_their_keys() {
    let peter = vkey("go-sumdb/PeterNeumann.vkey");
    let enoch = vkey("go-sumdb/EnochRoot.vkey");
    assert_eq!(
        verify_note(&vector("go-sumdb/peter.note"), &peter),
        Ok(go_text())
    );
    let both = vector("go-sumdb/peter-enoch.note");
    assert_eq!(verify_note(&both, &peter), Ok(go_text()));
    assert_eq!(verify_note(&both, &enoch), Ok(go_text()));
    assert_eq!(
        verify_note(&both, &test_log().1),
        Err(NoteError::NotSignedByKey {
            name: "log.example/consent".into(),
            id: test_log().1.id
        })
    );
    // Duplicated signatures, and an invalid one by a key the verifier does not know.
    assert_eq!(
        verify_note(&vector("go-sumdb/duplicates.note"), &peter),
        Ok(go_text())
    );
    let parsed = SignedNote::parse(&vector("go-sumdb/duplicates.note")).unwrap();
    assert_eq!(parsed.signatures.len(), 5);
}

#[test]
fn the_go_malformed_notes_are_refused() {
    let peter = vkey("go-sumdb/PeterNeumann.vkey");
    let dir = format!(
        "{}/tests/vectors/c2sp/go-sumdb/malformed",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 7);
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        // Invalid UTF-8 never reaches the parser: texts are `&str`.
        let Ok(text) = std::str::from_utf8(&bytes) else {
            assert!(file.ends_with("5-invalid-utf8.note"), "{file:?}");
            continue;
        };
        assert!(SignedNote::parse(text).is_err(), "{file:?}");
        assert!(verify_note(text, &peter).is_err(), "{file:?}");
    }
}

#[test]
fn a_signature_by_the_key_that_fails_refuses_the_whole_note() {
    let peter = vkey("go-sumdb/PeterNeumann.vkey");
    assert_eq!(
        verify_note(&vector("go-sumdb/bad-signature.note"), &peter),
        Err(NoteError::BadSignature {
            name: "PeterNeumann".into(),
            id: peter.id
        })
    );
    // Even after a good one: the spec says every signature by a known key is verified.
    let good_then_bad = format!(
        "{}{}",
        vector("go-sumdb/peter.note"),
        &vector("go-sumdb/bad-signature.note")[go_text().len() + 1..]
    );
    assert!(matches!(
        verify_note(&good_then_bad, &peter),
        Err(NoteError::BadSignature { .. })
    ));
}

#[test]
fn signatures_by_another_name_or_key_id_are_ignored() {
    let peter = vkey("go-sumdb/PeterNeumann.vkey");
    for path in ["go-sumdb/misnamed.note", "go-sumdb/wrong-key-id.note"] {
        assert_eq!(
            verify_note(&vector(path), &peter),
            Err(NoteError::NotSignedByKey {
                name: "PeterNeumann".into(),
                id: peter.id
            }),
            "{path}"
        );
    }
}

#[test]
fn a_note_may_carry_100_signatures_and_no_more() {
    let peter = vkey("go-sumdb/PeterNeumann.vkey");
    let line = peter_signature_line();
    let note = |count| format!("{}\n{}", go_text(), line.repeat(count));
    assert_eq!(verify_note(&note(MAX_SIGNATURES), &peter), Ok(go_text()));
    assert_eq!(
        verify_note(&note(MAX_SIGNATURES + 1), &peter),
        Err(NoteError::TooManySignatures { limit: 100 })
    );
}

// --- Signed notes and checkpoints: the C2SP spec examples ------------------------------------

#[test]
fn the_signed_note_spec_example_verifies_with_its_key() {
    let note = vector("specs/signed-note-example.note");
    assert_eq!(
        verify_note(&note, &vkey("specs/signed-note-example.vkey")),
        Ok("This is an example message.\n".into())
    );
}

#[test]
fn a_notes_text_ends_at_its_last_blank_line() {
    let note = vector("specs/signed-note-intro.note");
    let parsed = SignedNote::parse(&note).unwrap();
    assert_eq!(
        parsed.body,
        "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n"
    );
    assert_eq!(parsed.signatures.len(), 1);
    assert_eq!(parsed.signatures[0].name, "quasimodo.example/salvatore");
    assert_eq!(parsed.signatures[0].signature.len(), 64);
}

#[test]
fn the_checkpoint_spec_examples_parse_cosignatures_included() {
    for (path, signatures) in [
        ("specs/tlog-checkpoint-example.note", 1),
        ("specs/tlog-cosignature-example.note", 2),
    ] {
        let note = SignedNote::parse(&vector(path)).unwrap();
        assert_eq!(note.signatures.len(), signatures, "{path}");
        let checkpoint = Checkpoint::parse(&note.body).unwrap();
        assert_eq!(checkpoint.origin, "example.com/behind-the-sofa");
        assert_eq!(checkpoint.size, 20_852_163);
        assert_eq!(
            BASE64.encode(checkpoint.root),
            "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
        );
        assert_eq!(checkpoint.to_body(), note.body);
    }
    // A timestamped Ed25519 cosignature: 8 bytes of time, then 64 of signature.
    let cosigned = SignedNote::parse(&vector("specs/tlog-cosignature-example.note")).unwrap();
    assert_eq!(cosigned.signatures[1].name, "witness.example.com/w1");
    assert_eq!(cosigned.signatures[1].signature.len(), 72);
}

#[test]
fn every_valid_note_vector_prints_back_byte_for_byte() {
    for path in [
        "go-sumdb/peter.note",
        "go-sumdb/peter-enoch.note",
        "go-sumdb/duplicates.note",
        "go-sumdb/sumdb-tree-6.note",
        "specs/signed-note-example.note",
        "specs/signed-note-intro.note",
        "specs/tlog-checkpoint-example.note",
        "specs/tlog-cosignature-example.note",
    ] {
        let text = vector(path);
        assert_eq!(SignedNote::parse(&text).unwrap().to_text(), text, "{path}");
    }
}

#[test]
fn the_go_sumdb_tree_note_is_a_checkpoint_of_another_origin_than_its_key() {
    let key = vkey("go-sumdb/localhost.localdev-sumdb.vkey");
    let note = vector("go-sumdb/sumdb-tree-6.note");
    let checkpoint = Checkpoint::parse(&verify_note(&note, &key).unwrap()).unwrap();
    assert_eq!(checkpoint.origin, "go.sum database tree");
    assert_eq!(checkpoint.size, 6);
    assert_eq!(
        open_checkpoint(&note, &key),
        Err(NoteError::OriginMismatch {
            origin: "go.sum database tree".into(),
            key_name: "localhost.localdev/sumdb".into()
        })
    );
}

#[test]
fn the_go_tree_vector_reads_as_a_checkpoint_and_its_bad_variants_do_not() {
    let tree = vector("go-sumdb/tree.txt");
    let checkpoint = Checkpoint::parse(&tree).unwrap();
    assert_eq!(checkpoint.size, 123_456_789_012);
    // tlog.RecordHash("hello world"): the RFC 6962 leaf hash.
    let leaf: [u8; 32] = Sha256::new()
        .chain_update([0u8])
        .chain_update(b"hello world")
        .finalize()
        .into();
    assert_eq!(checkpoint.root, leaf);
    assert_eq!(checkpoint.to_body(), tree);
    let with_extension = Checkpoint::parse(&format!("{tree}JOE\n")).unwrap();
    assert_eq!(with_extension.extensions, ["JOE"]);

    let root_line = "TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=";
    let bad = [
        tree.replace("123456789012", "0xabcdef"),
        tree.replace(
            root_line,
            "TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBTOOBIG=",
        ),
        format!("{tree}JOE"),
    ];
    for text in bad {
        assert!(Checkpoint::parse(&text).is_err(), "{text:?}");
    }
}

// --- Our own log: round trip and refusals ---------------------------------------------------

#[test]
fn a_checkpoint_signed_here_opens_with_its_key() {
    let (signing, key) = test_log();
    let checkpoint = Checkpoint {
        origin: key.name.clone(),
        size: 42,
        root: ROOT,
        extensions: vec!["ext one".into()],
    };
    let note = sign_with(&signing, &checkpoint.to_body(), &key);
    assert_eq!(open_checkpoint(&note, &key), Ok(checkpoint));
    let parsed = SignedNote::parse(&note).unwrap();
    assert_eq!(parsed.signatures.len(), 1);
    assert_eq!(
        (parsed.signatures[0].name.as_str(), parsed.signatures[0].id),
        ("log.example/consent", key.id)
    );
    assert_eq!(parsed.to_text(), note);
}

/// Flips the base64 text `encoded` to another one that decodes to the same bytes but sets the
/// bits the canonical form leaves zero (the text must end in padding).
fn non_canonical(encoded: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let data_end = encoded.trim_end_matches('=').len();
    let mut bytes = encoded.as_bytes().to_vec();
    let last = ALPHABET
        .iter()
        .position(|&c| c == bytes[data_end - 1])
        .expect("base64 text");
    bytes[data_end - 1] = ALPHABET[last | 1];
    String::from_utf8(bytes).expect("ASCII")
}

#[test]
fn altered_notes_and_checkpoints_are_refused_with_the_reason() {
    let (signing, key) = test_log();
    let note = sign_with(&signing, &checkpoint_body(7), &key);
    let parsed = SignedNote::parse(&note).unwrap();
    let bad_signature = Err(NoteError::BadSignature {
        name: key.name.clone(),
        id: key.id,
    });
    let not_signed = Err(NoteError::NotSignedByKey {
        name: key.name.clone(),
        id: key.id,
    });

    // A flipped byte in the body.
    assert_eq!(
        open_checkpoint(&note.replacen("\n7\n", "\n8\n", 1), &key),
        bad_signature
    );
    // A flipped byte in the signature.
    let mut flipped = parsed.clone();
    flipped.signatures[0].signature[10] ^= 1;
    assert_eq!(open_checkpoint(&flipped.to_text(), &key), bad_signature);
    // A signature too short to be Ed25519.
    let mut short = parsed.clone();
    short.signatures[0].signature.truncate(63);
    assert_eq!(open_checkpoint(&short.to_text(), &key), bad_signature);
    // The same public key under another name, and a signature under another key id.
    let renamed = VerifierKey::new("other.example/log", key.public).unwrap();
    assert!(matches!(
        open_checkpoint(&note, &renamed),
        Err(NoteError::NotSignedByKey { name, .. }) if name == "other.example/log"
    ));
    let mut other_id = parsed.clone();
    other_id.signatures[0].id[0] ^= 1;
    assert_eq!(open_checkpoint(&other_id.to_text(), &key), not_signed);
    // A key whose id was edited by hand.
    let mut edited = key.clone();
    edited.id = [0; 4];
    assert!(matches!(
        open_checkpoint(&note, &edited),
        Err(NoteError::KeyIdMismatch { .. })
    ));
    // A missing final newline, and CRLF line ends.
    assert_eq!(
        open_checkpoint(note.strip_suffix('\n').unwrap(), &key),
        Err(NoteError::MalformedNote {
            line: 5,
            problem: "the note does not end with a newline (its last signature line ends with \
                      one too)"
        })
    );
    assert_eq!(
        open_checkpoint(&note.replace('\n', "\r\n"), &key),
        Err(NoteError::ControlCharacter { line: 1 })
    );
    // Non-canonical base64 in the signature.
    let signature_base64 = note.lines().nth(4).unwrap().rsplit(' ').next().unwrap();
    let recoded = note.replace(signature_base64, &non_canonical(signature_base64));
    assert_eq!(
        open_checkpoint(&recoded, &key),
        Err(NoteError::BadBase64 {
            line: 5,
            field: "the signature",
            problem: Base64Problem::NonCanonical
        })
    );
    // Text after the signatures.
    assert!(matches!(
        open_checkpoint(&format!("{note}trailing\n"), &key),
        Err(NoteError::MalformedNote { line: 6, .. })
    ));
}

#[test]
fn checkpoint_texts_are_read_strictly_even_when_signed() {
    let (signing, key) = test_log();
    let root = BASE64.encode(ROOT);
    let check = |body: &str, line: usize, problem: &str| {
        let note = sign_with(&signing, body, &key);
        match open_checkpoint(&note, &key) {
            Err(NoteError::MalformedCheckpoint {
                line: l,
                problem: p,
            }) => {
                assert_eq!((l, p), (line, problem), "{body:?}")
            }
            other => panic!("{body:?}: {other:?}"),
        }
    };
    let name = "log.example/consent";
    check(
        &format!("{name}\n7\n{root}\n\n"),
        4,
        "an extension line is empty: a checkpoint's text has no blank line (a blank line ends the text of a signed note)",
    );
    check(
        &format!("{name}\n7\n{root}\next\n\n"),
        5,
        "an extension line is empty: a checkpoint's text has no blank line (a blank line ends the text of a signed note)",
    );
    check(
        &format!("{name}\n07\n{root}\n"),
        2,
        "the tree size has a leading zero",
    );
    check(
        &format!("{name}\n00\n{root}\n"),
        2,
        "the tree size has a leading zero",
    );
    check(
        &format!("{name}\n+7\n{root}\n"),
        2,
        "the tree size must be ASCII decimal digits only",
    );
    check(
        &format!("{name}\n 7\n{root}\n"),
        2,
        "the tree size must be ASCII decimal digits only",
    );
    check(
        &format!("{name}\n\n{root}\n"),
        2,
        "the tree size line is empty",
    );
    check(
        &format!("{name}\n18446744073709551616\n{root}\n"),
        2,
        "the tree size does not fit in 64 bits",
    );
    check(
        &format!("{name}\n7\n"),
        3,
        "a checkpoint has at least three lines: origin, tree size and root hash",
    );
    check(&format!("\n7\n{root}\n"), 1, "the origin line is empty");
    check(
        &format!("{name}\n7\n{}\n", BASE64.encode([1u8; 31])),
        3,
        "the root hash must decode to 32 bytes (a SHA-256 hash)",
    );

    let non_canonical_root = format!("{name}\n7\n{}\n", non_canonical(&root));
    assert_eq!(
        open_checkpoint(&sign_with(&signing, &non_canonical_root, &key), &key),
        Err(NoteError::BadBase64 {
            line: 3,
            field: "the root hash",
            problem: Base64Problem::NonCanonical
        })
    );
    let unpadded = format!("{name}\n7\n{}\n", root.trim_end_matches('='));
    assert!(matches!(
        open_checkpoint(&sign_with(&signing, &unpadded, &key), &key),
        Err(NoteError::BadBase64 {
            line: 3,
            problem: Base64Problem::Padding | Base64Problem::InvalidLength,
            ..
        })
    ));
    // The largest size, and size zero, are fine.
    for size in [0, u64::MAX] {
        let body = checkpoint_body(size);
        assert_eq!(
            open_checkpoint(&sign_with(&signing, &body, &key), &key)
                .unwrap()
                .size,
            size
        );
    }
}

#[test]
fn signing_refuses_a_signer_that_is_not_the_keys_and_a_text_that_cannot_be_a_note() {
    let (_, key) = test_log();
    let stranger = SigningKey::from_bytes(&[8; 32]);
    assert_eq!(
        sign_note(&checkpoint_body(1), &key, |m| stranger.sign(m).to_bytes()),
        Err(NoteError::BadSignature {
            name: key.name.clone(),
            id: key.id
        })
    );
    let (signing, _) = test_log();
    let sign = |body: &str| sign_note(body, &key, |m| signing.sign(m).to_bytes());
    assert!(matches!(
        sign("no newline"),
        Err(NoteError::MalformedNote { .. })
    ));
    assert_eq!(sign("a\r\n"), Err(NoteError::ControlCharacter { line: 1 }));
    assert!(matches!(
        sign(&format!("{}\n", "x".repeat(999_999))),
        Err(NoteError::TooLarge {
            limit: 1_000_000,
            ..
        })
    ));
}

#[test]
fn errors_say_what_is_wrong_and_what_to_do() {
    let (_, key) = test_log();
    let id = key.id;
    let cases = [
        (
            NoteError::NotSignedByKey { name: key.name.clone(), id },
            format!("no signature by the key log.example/consent+{} (signatures by other keys are ignored): check that this is the log's key, and if the log changed keys, use the new one", hex(id)),
        ),
        (
            NoteError::KeyIdMismatch { name: "PeterNeumann".into(), written: [0, 0, 0, 1], computed: [0xc7, 0x4f, 0x20, 0xa3] },
            "the verifier key for PeterNeumann gives the key id 00000001, but its name and public key give c74f20a3: the key was altered or mistyped, copy the key again from where the log publishes it".into(),
        ),
        (
            NoteError::ControlCharacter { line: 3 },
            "line 3: a control character other than the newline; notes are UTF-8 text with newlines only (a file saved with CRLF line ends must get its LF line ends back, or its signatures no longer match)".into(),
        ),
        (
            NoteError::BadBase64 { line: 3, field: "the root hash", problem: Base64Problem::NonCanonical },
            "line 3: the root hash is not canonical standard base64 (RFC 4648 section 4, with '=' padding): the last character carries bits that must be zero (a non-canonical encoding)".into(),
        ),
        (
            NoteError::OriginMismatch { origin: "a.example".into(), key_name: "b.example".into() },
            "the checkpoint is for the log \"a.example\", but the key is \"b.example\"'s: verify it with the key of the log it names".into(),
        ),
    ];
    for (error, message) in cases {
        assert_eq!(error.to_string(), message);
    }
}

fn hex(id: [u8; 4]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

// --- Tlog proofs ---------------------------------------------------------------------------

#[test]
fn the_tlog_proof_spec_example_is_read_as_the_spec_writes_it() {
    let example = vector("specs/tlog-proof-example.tlog-proof");
    // The spec elides its signatures ("hI2DJw[...]1roloI="): as printed, it is refused there.
    assert_eq!(
        TlogProof::parse(&example),
        Err(NoteError::BadBase64 {
            line: 14,
            field: "the signature",
            problem: Base64Problem::InvalidCharacter
        })
    );
    // With a real signature in their place, every other byte is the spec's.
    let signing = SigningKey::from_bytes(&[9; 32]);
    let key = VerifierKey::new("example.com/fancylog", signing.verifying_key().to_bytes()).unwrap();
    let cut = example.find("\n\n").unwrap() + 2;
    let body_end = example[cut..].find("\n\n").unwrap() + cut + 1;
    let checkpoint = sign_with(&signing, &example[cut..body_end], &key);
    let text = format!("{}{checkpoint}", &example[..cut]);

    let proof = TlogProof::parse(&text).unwrap();
    assert_eq!(
        proof.extra.as_deref(),
        Some(
            &BASE64
                .decode("YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ")
                .unwrap()[..]
        )
    );
    assert!(
        proof
            .extra
            .as_deref()
            .unwrap()
            .starts_with(b"age-v1.2.1-darwin-arm64.tar.gz")
    );
    assert_eq!(proof.index, 73894);
    assert_eq!(proof.hashes.len(), 5);
    assert_eq!(
        BASE64.encode(proof.hashes[0]),
        "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ="
    );
    assert_eq!(proof.checkpoint, checkpoint);
    assert_eq!(proof.to_text(), text);
    let opened = open_checkpoint(&proof.checkpoint, &key).unwrap();
    assert_eq!(
        (opened.origin.as_str(), opened.size),
        ("example.com/fancylog", 109482)
    );
}

fn test_proof(extra: Option<Vec<u8>>, hashes: usize) -> TlogProof {
    let (signing, key) = test_log();
    TlogProof {
        extra,
        index: 5,
        hashes: (0..hashes).map(|i| [i as u8; 32]).collect(),
        checkpoint: sign_with(&signing, &checkpoint_body(10), &key),
    }
}

#[test]
fn tlog_proofs_print_and_parse_back() {
    for proof in [
        test_proof(None, 0),
        test_proof(None, 4),
        test_proof(Some(b"vrf proof".to_vec()), 1),
        test_proof(None, MAX_PROOF_HASHES),
    ] {
        let text = proof.to_text();
        assert_eq!(TlogProof::parse(&text), Ok(proof));
    }
    let text = test_proof(Some(b"x".to_vec()), 1).to_text();
    assert!(text.starts_with(
        "c2sp.org/tlog-proof@v1\nextra eA==\nindex 5\n\
         AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\nlog.example/consent\n10\n"
    ));
    // No extra data is no extra line.
    let empty = test_proof(Some(vec![]), 0);
    assert_eq!(TlogProof::parse(&empty.to_text()).unwrap().extra, None);
}

#[test]
fn tlog_proofs_are_read_strictly() {
    let good = test_proof(Some(b"x".to_vec()), 2).to_text();
    let mut lines: Vec<&str> = good.split_inclusive('\n').collect();
    let without = |index: usize, lines: &[&str]| {
        let mut lines = lines.to_vec();
        lines.remove(index);
        lines.concat()
    };
    let replaced = |index: usize, line: &str| {
        let mut lines = good.split_inclusive('\n').collect::<Vec<_>>();
        lines[index] = line;
        lines.concat()
    };
    let check = |text: String, line: usize| match TlogProof::parse(&text) {
        Err(NoteError::MalformedProof { line: l, .. }) => assert_eq!(l, line, "{text:?}"),
        other => panic!("{text:?}: {other:?}"),
    };
    check(replaced(0, "c2sp.org/tlog-proof@v2\n"), 1);
    check(replaced(0, "c2sp.org/tlog-proof@v1 \n"), 1);
    check(without(2, &lines), 3); // no index line: a hash where it should be
    check(replaced(2, "index 05\n"), 3);
    check(replaced(2, "index -1\n"), 3);
    check(replaced(2, "index\n"), 3);
    check(replaced(1, "extra \n"), 2);
    check(replaced(1, "EXTRA eA==\n"), 2);
    check(replaced(3, &format!("{}\n", BASE64.encode([0u8; 16]))), 4); // a 16-byte hash
    check(replaced(3, &format!("{}\n", BASE64.encode([0u8; 33]))), 4);
    check(good[..good.find("\n\n").unwrap() + 1].to_owned(), 6); // no blank line, no checkpoint
    check(good[..good.find("\n\n").unwrap() + 2].to_owned(), 7); // a blank line, no checkpoint
    check(test_proof(None, MAX_PROOF_HASHES + 1).to_text(), 67);

    // Base64 and checkpoint errors name their line in the proof.
    assert!(matches!(
        TlogProof::parse(&replaced(3, "not base64!\n")),
        Err(NoteError::BadBase64 {
            line: 4,
            field: "an inclusion proof hash",
            ..
        })
    ));
    assert!(matches!(
        TlogProof::parse(&replaced(1, "extra eB==\n")),
        Err(NoteError::BadBase64 {
            line: 2,
            field: "the extra data",
            problem: Base64Problem::NonCanonical
        })
    ));
    assert!(matches!(
        TlogProof::parse(&replaced(7, "007\n")),
        Err(NoteError::MalformedCheckpoint { line: 8, .. })
    ));
    lines.truncate(lines.len() - 1);
    assert!(matches!(
        TlogProof::parse(&lines.concat()),
        Err(NoteError::MalformedNote { line: 11, .. })
    ));
    assert_eq!(
        TlogProof::parse(&good.replace('\n', "\r\n")),
        Err(NoteError::ControlCharacter { line: 1 })
    );
}

// --- Hostile input ---------------------------------------------------------------------------

proptest! {
    /// Texts built from the formats' own pieces, so that parsing goes deep before it fails.
    #[test]
    fn no_text_makes_the_readers_panic(
        pieces in prop::collection::vec(
            prop::sample::select(vec![
                "\n", "\n\n", "\u{2014} ", " ", "+", "=", "0", "7", "a", "AAAA", "c74f20a3",
                "PeterNeumann", "c2sp.org/tlog-proof@v1\n", "extra ", "index ", "ü", "\r",
                "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
                "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
            ]),
            0..40,
        )
    ) {
        let text: String = pieces.concat();
        let key = VerifierKey::parse("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").unwrap();
        let _ = SignedNote::parse(&text);
        let _ = Checkpoint::parse(&text);
        let _ = TlogProof::parse(&text);
        let _ = VerifierKey::parse(&text);
        let _ = open_checkpoint(&text, &key);
    }

    #[test]
    fn checkpoints_read_back_what_they_write(
        origin in "[a-z./]{1,20}",
        size: u64,
        root: [u8; 32],
        extensions in prop::collection::vec("[ -~]{1,10}", 0..3),
    ) {
        let checkpoint = Checkpoint { origin, size, root, extensions };
        prop_assert_eq!(Checkpoint::parse(&checkpoint.to_body()), Ok(checkpoint));
    }
}
