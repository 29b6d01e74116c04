//! The C2SP text formats of the transparency log: signed notes, verifier keys, checkpoints and
//! tlog proofs, and their Ed25519 signatures.
//!
//! Specifications: c2sp.org/signed-note, c2sp.org/tlog-checkpoint, c2sp.org/tlog-proof (the
//! formats Sunlight, Trillian Tessera and Rekor v2 serve), with Go's `golang.org/x/mod/sumdb/note`
//! as the reference implementation for what a verifier accepts.
//! The tests hold this module to their published vectors (`tests/vectors/c2sp/`).
//!
//! # Conventions
//!
//! Base64 is the standard alphabet of RFC 4648 §4 with `=` padding, and only its canonical form
//! is read: padding present, unused low bits of the last character zero.
//! (Go's `encoding/base64` also reads non-canonical forms; no encoder writes them.)
//! Decimal numbers are ASCII digits with no sign and no leading zero (`0` itself excepted).
//! Texts are UTF-8 whose only control character (below U+0020) is the newline U+000A: a carriage
//! return anywhere makes the text invalid.
//!
//! # Verifier key (vkey)
//!
//! One line, `<name>+<key id>+<key>`:
//! - `name`: non-empty, with no Unicode white space, no `+` and no control character;
//!   by convention a schema-less URL (`example.com/consent-log`);
//! - `key id`: 8 lowercase hexadecimal digits, the first 4 bytes of
//!   `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)` ([`key_id`]);
//! - `key`: base64 of `0x01` (the Ed25519 signature type) followed by the 32-byte RFC 8032 public
//!   key.
//!
//! Other signature types (ECDSA 0x02, cosignatures 0x04, …) are refused: this log signs with
//! Ed25519 only.
//! Public keys that are not curve points, or are of small order ("weak": anyone can forge for
//! them), are refused too.
//!
//! # Signed note
//!
//! ```text
//! <text: lines, each ending in a newline>
//! <blank line>
//! — <key name> <base64(key id ‖ signature)>
//! — …
//! ```
//!
//! The text (the note's *body*) ends with its newline, which the signature covers; the blank line
//! that follows does not belong to it.
//! The text may itself contain blank lines: it ends at the *last* blank line of the note.
//! Each signature line is an em dash (U+2014), a space, the key name, a space, and the base64 of
//! the 4-byte key id followed by the signature (at least one byte); every signature line ends in
//! a newline, the last one included.
//! An Ed25519 signature is the 64-byte RFC 8032 signature of the body's bytes.
//!
//! A verifier looks only at the signature lines whose key name *and* key id are those of its key:
//! the others (witness cosignatures, a rotated key) are ignored, even when they share the name or
//! the id.
//! Every signature by the key must verify, and at least one must be there.
//!
//! Limits against hostile input: a note is at most [`MAX_NOTE_BYTES`] bytes (the checkpoint limit
//! of Go's `sumdb/tlog` and of `filippo.io/torchwood`) and carries at most [`MAX_SIGNATURES`]
//! signatures (Go's `note.Open`; the spec asks verifiers to accept at least 16).
//!
//! # Checkpoint
//!
//! A signed note whose text is:
//!
//! ```text
//! <origin>
//! <tree size, decimal>
//! <root hash, base64 of the 32-byte RFC 6962 / RFC 9162 Merkle tree hash>
//! [<extension line>…]
//! ```
//!
//! The origin is non-empty (for our log it is also the key name: [`open_checkpoint`] checks it);
//! extension lines are opaque and non-empty, so a checkpoint's text never holds a blank line.
//! The size is read up to 2^64 − 1 (Go's parsers stop at 2^63 − 1, a size no log reaches).
//! Example (from c2sp.org/tlog-checkpoint):
//!
//! ```text
//! example.com/behind-the-sofa
//! 20852163
//! CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=
//!
//! — example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=
//! ```
//!
//! # Tlog proof
//!
//! An offline proof that an entry is in the log (c2sp.org/tlog-proof, file extension
//! `.tlog-proof`), lines ending in newlines:
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64 of opaque, unauthenticated data>     (only when there is extra data)
//! index <zero-based index of the entry, decimal>
//! <base64 of an inclusion proof hash>                (zero or more, 32 bytes each)
//! <blank line>
//! <the signed checkpoint, verbatim, cosignatures included>
//! ```
//!
//! The inclusion proof runs from the leaf's sibling up to the child of the root (RFC 6962 §2.1.1);
//! a tree of at most 2^64 entries needs at most [`MAX_PROOF_HASHES`] of them.
//! An `extra` line with no data is refused: the spec leaves the line out instead.
//! A proof is at most [`MAX_NOTE_BYTES`] bytes in all.
//! Parsing a proof checks the checkpoint's syntax; trusting it takes [`open_checkpoint`] with the
//! log's key, then the inclusion proof checked against its root.

#[allow(unused_imports)]
use crate::prelude::*;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use core::fmt;
use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};

/// A SHA-256 hash, as in the Merkle tree.
pub type Hash = [u8; 32];

/// The largest note, or tlog proof, this module reads or writes.
pub const MAX_NOTE_BYTES: usize = 1_000_000;
/// The most signature lines a note may carry.
pub const MAX_SIGNATURES: usize = 100;
/// The most hashes an inclusion proof may hold: one per level of a tree of 2^64 entries.
pub const MAX_PROOF_HASHES: usize = 64;
/// The signature type byte of Ed25519 in signed notes.
pub const ED25519_TYPE: u8 = 0x01;
/// The first line of a tlog proof.
pub const TLOG_PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";

const SIGNATURE_PREFIX: &str = "\u{2014} ";
const ED25519_SIGNATURE_BYTES: usize = 64;

/// The public half of a note signing key, with the name and id its signatures carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifierKey {
    pub name: String,
    pub id: [u8; 4],
    pub public: [u8; 32],
}

impl VerifierKey {
    /// The verifier key of the Ed25519 `public` key under `name`, its id computed.
    pub fn new(name: &str, public: [u8; 32]) -> Result<VerifierKey, NoteError> {
        check_name(name)?;
        check_public_key(&public)?;
        Ok(VerifierKey {
            name: name.to_owned(),
            id: key_id(name, &public),
            public,
        })
    }

    /// Reads `<name>+<hex key id>+<base64(0x01 ‖ public key)>`, exactly (no surrounding space).
    pub fn parse(text: &str) -> Result<VerifierKey, NoteError> {
        const PARTS: &str = "expected three parts separated by '+'";
        if text.len() > MAX_NOTE_BYTES {
            return Err(NoteError::TooLarge {
                size: text.len(),
                limit: MAX_NOTE_BYTES,
            });
        }
        // The key material is base64, whose alphabet has '+': only the first two separate.
        let (name, rest) = text
            .split_once('+')
            .ok_or(NoteError::MalformedVerifierKey { problem: PARTS })?;
        let (id_hex, key_base64) = rest
            .split_once('+')
            .ok_or(NoteError::MalformedVerifierKey { problem: PARTS })?;
        check_name(name)?;
        let written = parse_key_id(id_hex).ok_or(NoteError::MalformedVerifierKey {
            problem: "the key id must be 8 lowercase hexadecimal digits",
        })?;
        let material = decode_base64(key_base64).map_err(|problem| NoteError::BadBase64 {
            line: 1,
            field: "the verifier key's key material",
            problem,
        })?;
        let (&key_type, public) =
            material
                .split_first()
                .ok_or(NoteError::MalformedVerifierKey {
                    problem: "the key material is empty",
                })?;
        if key_type != ED25519_TYPE {
            return Err(NoteError::UnsupportedKeyType { key_type });
        }
        let public = <[u8; 32]>::try_from(public).map_err(|_| NoteError::MalformedVerifierKey {
            problem: "an Ed25519 public key is 32 bytes",
        })?;
        let computed = key_id(name, &public);
        if computed != written {
            return Err(NoteError::KeyIdMismatch {
                name: name.to_owned(),
                written,
                computed,
            });
        }
        check_public_key(&public)?;
        Ok(VerifierKey {
            name: name.to_owned(),
            id: written,
            public,
        })
    }

    /// The key as Ed25519 verification needs it, after checking that the fields agree (they are
    /// public, so a key built by hand may not).
    fn verifying_key(&self) -> Result<VerifyingKey, NoteError> {
        check_name(&self.name)?;
        let computed = key_id(&self.name, &self.public);
        if computed != self.id {
            return Err(NoteError::KeyIdMismatch {
                name: self.name.clone(),
                written: self.id,
                computed,
            });
        }
        check_public_key(&self.public)
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut material = Vec::with_capacity(33);
        material.push(ED25519_TYPE);
        material.extend_from_slice(&self.public);
        write!(
            f,
            "{}+{}+{}",
            self.name,
            KeyIdHex(self.id),
            BASE64.encode(material)
        )
    }
}

/// The signed-note key id of an Ed25519 key: the first 4 bytes of
/// `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public)`.
pub fn key_id(name: &str, public: &[u8; 32]) -> [u8; 4] {
    let digest = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update([b'\n', ED25519_TYPE])
        .chain_update(public)
        .finalize();
    let mut id = [0u8; 4];
    for (out, byte) in id.iter_mut().zip(digest.iter()) {
        *out = *byte;
    }
    id
}

/// A key id as the texts write it: 8 lowercase hexadecimal digits.
struct KeyIdHex([u8; 4]);

impl fmt::Display for KeyIdHex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

fn parse_key_id(hex: &str) -> Option<[u8; 4]> {
    fn digit(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    let bytes: &[u8; 8] = hex.as_bytes().try_into().ok()?;
    let mut id = [0u8; 4];
    for (out, pair) in id.iter_mut().zip(bytes.chunks_exact(2)) {
        if let [high, low] = pair {
            *out = (digit(*high)? << 4) | digit(*low)?;
        }
    }
    Some(id)
}

/// Signed-note key names: non-empty, no Unicode white space, no '+'. Control characters are
/// refused too, since no note can carry them.
fn check_name(name: &str) -> Result<(), NoteError> {
    let allowed = !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c < ' ');
    if allowed {
        Ok(())
    } else {
        Err(NoteError::InvalidKeyName {
            name: name.to_owned(),
        })
    }
}

fn is_valid_name(name: &str) -> bool {
    check_name(name).is_ok()
}

fn check_public_key(public: &[u8; 32]) -> Result<VerifyingKey, NoteError> {
    let key = VerifyingKey::from_bytes(public).map_err(|_| NoteError::UnusablePublicKey {
        problem: "is not a point of the Ed25519 curve",
    })?;
    if key.is_weak() {
        return Err(NoteError::UnusablePublicKey {
            problem: "is of small order, a key for which anyone can forge signatures",
        });
    }
    Ok(key)
}

/// A checkpoint's text: the head of the log's Merkle tree at one size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// Opaque extension lines, each non-empty and without its newline.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note text: `origin\nsize\nbase64(root)\n`, then each extension line and a newline.
    /// [`Checkpoint::parse`] reads it back when the origin and the extensions are non-empty
    /// single lines.
    pub fn to_body(&self) -> String {
        let mut body = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root)
        );
        for line in &self.extensions {
            body.push_str(line);
            body.push('\n');
        }
        body
    }

    /// Reads a checkpoint's text, strictly: at least three lines, each ending in a newline, a
    /// non-empty origin, a decimal size without leading zero, a canonical base64 root of 32
    /// bytes, and no empty extension line.
    pub fn parse(body: &str) -> Result<Checkpoint, NoteError> {
        check_text(body)?;
        let content = body
            .strip_suffix('\n')
            .ok_or(NoteError::MalformedCheckpoint {
                line: line_count(body),
                problem: "the checkpoint text must end with a newline",
            })?;
        const TOO_SHORT: &str =
            "a checkpoint has at least three lines: origin, tree size and root hash";
        let mut lines = content.split('\n');
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() {
            return Err(NoteError::MalformedCheckpoint {
                line: 1,
                problem: "the origin line is empty",
            });
        }
        let size = lines.next().ok_or(NoteError::MalformedCheckpoint {
            line: 2,
            problem: TOO_SHORT,
        })?;
        let size = parse_decimal(size).map_err(|problem| NoteError::MalformedCheckpoint {
            line: 2,
            problem: problem.tree_size(),
        })?;
        let root = lines.next().ok_or(NoteError::MalformedCheckpoint {
            line: 3,
            problem: TOO_SHORT,
        })?;
        let root = decode_hash(root, 3, "the root hash").map_err(|error| match error {
            HashError::Base64(error) => error,
            HashError::Length => NoteError::MalformedCheckpoint {
                line: 3,
                problem: "the root hash must decode to 32 bytes (a SHA-256 hash)",
            },
        })?;
        let mut extensions = Vec::new();
        for (index, line) in lines.enumerate() {
            if line.is_empty() {
                return Err(NoteError::MalformedCheckpoint {
                    line: index + 4,
                    problem: "an extension line is empty: a checkpoint's text has no blank line \
                              (a blank line ends the text of a signed note)",
                });
            }
            extensions.push(line.to_owned());
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }
}

/// One signature line of a note, not verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub id: [u8; 4],
    /// The signature proper, after the key id: 64 bytes for Ed25519, other lengths for other
    /// signature types.
    pub signature: Vec<u8>,
}

impl NoteSignature {
    fn line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.signature.len());
        raw.extend_from_slice(&self.id);
        raw.extend_from_slice(&self.signature);
        format!("{SIGNATURE_PREFIX}{} {}\n", self.name, BASE64.encode(raw))
    }
}

/// A signed note split into its text and its signature lines, none of them verified: the text
/// means nothing until [`verify_note`] has checked it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedNote {
    /// The text, final newline included.
    pub body: String,
    /// Every signature line, in order, duplicates included.
    pub signatures: Vec<NoteSignature>,
}

impl SignedNote {
    /// Splits a signed note, checking its syntax only.
    pub fn parse(text: &str) -> Result<SignedNote, NoteError> {
        check_text(text)?;
        if !text.ends_with('\n') {
            return Err(NoteError::MalformedNote {
                line: line_count(text),
                problem: "the note does not end with a newline (its last signature line \
                          ends with one too)",
            });
        }
        let split = text.rfind("\n\n").ok_or(NoteError::MalformedNote {
            line: line_count(text),
            problem: "no signatures: the text must be followed by a blank line, then lines \
                      `\u{2014} <key name> <base64 signature>`",
        })?;
        // `split` is the byte offset of a newline, so both ends are character boundaries.
        let body = text.get(..=split).unwrap_or_default();
        let signature_lines = text.get(split + 2..).unwrap_or_default();
        let first_line = line_count(body) + 2;
        if signature_lines.is_empty() {
            return Err(NoteError::MalformedNote {
                line: first_line,
                problem: "no signature line after the blank line",
            });
        }
        let mut signatures = Vec::new();
        // `signature_lines` ends with a newline, holds no empty line, and so no empty piece.
        for (index, line) in signature_lines.split_terminator('\n').enumerate() {
            let line_number = first_line + index;
            if index >= MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures {
                    limit: MAX_SIGNATURES,
                });
            }
            signatures.push(parse_signature_line(line, line_number)?);
        }
        Ok(SignedNote {
            body: body.to_owned(),
            signatures,
        })
    }

    /// The note's text: the body, a blank line, then the signature lines.
    /// With no signature it is not a valid note.
    pub fn to_text(&self) -> String {
        let mut text = self.body.clone();
        text.push('\n');
        for signature in &self.signatures {
            text.push_str(&signature.line());
        }
        text
    }
}

fn parse_signature_line(line: &str, line_number: usize) -> Result<NoteSignature, NoteError> {
    let malformed = |problem| NoteError::MalformedNote {
        line: line_number,
        problem,
    };
    let line = line.strip_prefix(SIGNATURE_PREFIX).ok_or(malformed(
        "a signature line must start with an em dash (U+2014) and a space; is there text after \
         the blank line that is not a signature?",
    ))?;
    let (name, encoded) = line.split_once(' ').ok_or(malformed(
        "a signature line reads `\u{2014} <key name> <base64 signature>`",
    ))?;
    if !is_valid_name(name) {
        return Err(malformed(
            "the key name is empty or holds white space, '+' or a control character",
        ));
    }
    let raw = decode_base64(encoded).map_err(|problem| NoteError::BadBase64 {
        line: line_number,
        field: "the signature",
        problem,
    })?;
    match raw.split_first_chunk::<4>() {
        Some((id, signature)) if !signature.is_empty() => Ok(NoteSignature {
            name: name.to_owned(),
            id: *id,
            signature: signature.to_vec(),
        }),
        _ => Err(malformed(
            "a signature holds a 4-byte key id and at least one byte of signature",
        )),
    }
}

/// Signs `body` as `key`; `sign` gives the raw Ed25519 signature of the message bytes it is
/// passed (the server signs with aws-lc-rs).
///
/// The signature is verified before the note is returned, so a signer whose private key is not
/// the one `key` publishes fails here, not at the first auditor.
pub fn sign_note(
    body: &str,
    key: &VerifierKey,
    sign: impl FnOnce(&[u8]) -> [u8; 64],
) -> Result<String, NoteError> {
    let verifying_key = key.verifying_key()?;
    check_text(body)?;
    if !body.ends_with('\n') {
        return Err(NoteError::MalformedNote {
            line: line_count(body),
            problem: "the text to sign must end with a newline",
        });
    }
    let signature = sign(body.as_bytes());
    if verifying_key
        .verify_strict(body.as_bytes(), &Signature::from_bytes(&signature))
        .is_err()
    {
        return Err(NoteError::BadSignature {
            name: key.name.clone(),
            id: key.id,
        });
    }
    assemble_note(body, key, &signature)
}

/// The signed note of `body` with `signature`, which the caller vouches for: a signer that has
/// checked its private key against `key` once (as [`sign_note`] would on every note) and then
/// signs many notes, one per batch of a log, skips a verification per note.
pub fn assemble_note(
    body: &str,
    key: &VerifierKey,
    signature: &[u8; 64],
) -> Result<String, NoteError> {
    check_text(body)?;
    if !body.ends_with('\n') {
        return Err(NoteError::MalformedNote {
            line: line_count(body),
            problem: "the text to sign must end with a newline",
        });
    }
    let line = NoteSignature {
        name: key.name.clone(),
        id: key.id,
        signature: signature.to_vec(),
    }
    .line();
    let note = format!("{body}\n{line}");
    if note.len() > MAX_NOTE_BYTES {
        return Err(NoteError::TooLarge {
            size: note.len(),
            limit: MAX_NOTE_BYTES,
        });
    }
    Ok(note)
}

/// The body of `text` when it carries a valid signature by `key` (name and id match, Ed25519
/// verifies). Signatures by other keys are ignored, as the spec says; every signature by `key`
/// must verify, and one at least must be there.
///
/// Ed25519 is checked with `verify_strict`: for the keys [`VerifierKey`] accepts (never of small
/// order), it accepts exactly what Go's `crypto/ed25519` (the reference `note.Open`) accepts,
/// except signatures whose R is a point of small order, which no RFC 8032 signer produces.
/// Both refuse a non-canonical S (malleability) and compare R byte for byte.
pub fn verify_note(text: &str, key: &VerifierKey) -> Result<String, NoteError> {
    let verifying_key = key.verifying_key()?;
    let note = SignedNote::parse(text)?;
    let mut verified = false;
    for signature in &note.signatures {
        if signature.name != key.name || signature.id != key.id {
            continue;
        }
        let bad = || NoteError::BadSignature {
            name: key.name.clone(),
            id: key.id,
        };
        let bytes = <[u8; ED25519_SIGNATURE_BYTES]>::try_from(signature.signature.as_slice())
            .map_err(|_| bad())?;
        verifying_key
            .verify_strict(note.body.as_bytes(), &Signature::from_bytes(&bytes))
            .map_err(|_| bad())?;
        verified = true;
    }
    if verified {
        Ok(note.body)
    } else {
        Err(NoteError::NotSignedByKey {
            name: key.name.clone(),
            id: key.id,
        })
    }
}

/// The checkpoint `text` carries when `key` signed it ([`verify_note`]), its text is a valid
/// checkpoint, and its origin is the key's name.
pub fn open_checkpoint(text: &str, key: &VerifierKey) -> Result<Checkpoint, NoteError> {
    let body = verify_note(text, key)?;
    let checkpoint = Checkpoint::parse(&body)?;
    if checkpoint.origin != key.name {
        return Err(NoteError::OriginMismatch {
            origin: checkpoint.origin,
            key_name: key.name.clone(),
        });
    }
    Ok(checkpoint)
}

/// C2SP tlog-proof: the text format (header line, optional `extra` line with base64 data,
/// `index N`, the inclusion hashes one per line in base64, a blank line, then the signed
/// checkpoint) — exactly as the spec writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    /// Opaque, unauthenticated data; `Some` of no bytes is written as no `extra` line.
    pub extra: Option<Vec<u8>>,
    pub index: u64,
    /// From the leaf's sibling up to the child of the root.
    pub hashes: Vec<Hash>,
    /// The signed checkpoint, verbatim.
    pub checkpoint: String,
}

impl TlogProof {
    pub fn to_text(&self) -> String {
        let mut text = String::from(TLOG_PROOF_HEADER);
        text.push('\n');
        if let Some(extra) = self.extra.as_deref().filter(|extra| !extra.is_empty()) {
            text.push_str("extra ");
            text.push_str(&BASE64.encode(extra));
            text.push('\n');
        }
        text.push_str(&format!("index {}\n", self.index));
        for hash in &self.hashes {
            text.push_str(&BASE64.encode(hash));
            text.push('\n');
        }
        text.push('\n');
        text.push_str(&self.checkpoint);
        text
    }

    /// Reads a tlog proof, strictly, checking its checkpoint's syntax (not its signatures).
    pub fn parse(text: &str) -> Result<TlogProof, NoteError> {
        check_text(text)?;
        let mut lines = Lines {
            rest: text,
            number: 0,
        };
        let malformed = |line, problem| NoteError::MalformedProof { line, problem };
        const CUT: &str = "the proof ends before its blank line and checkpoint";

        let header = lines.next().ok_or(malformed(1, CUT))?;
        if header != TLOG_PROOF_HEADER {
            return Err(malformed(
                1,
                "the first line must be `c2sp.org/tlog-proof@v1`: this is not a C2SP tlog \
                 proof, or one of a version this verifier does not read",
            ));
        }
        let mut line = lines.next().ok_or(malformed(2, CUT))?;
        let mut extra = None;
        if let Some(encoded) = line.strip_prefix("extra ") {
            if encoded.is_empty() {
                return Err(malformed(
                    lines.number,
                    "the extra line is empty: leave the line out when there is no extra data",
                ));
            }
            let data = decode_base64(encoded).map_err(|problem| NoteError::BadBase64 {
                line: lines.number,
                field: "the extra data",
                problem,
            })?;
            extra = Some(data);
            line = lines.next().ok_or(malformed(lines.number + 1, CUT))?;
        }
        let index = line.strip_prefix("index ").ok_or(malformed(
            lines.number,
            "expected `index <N>`, the entry's zero-based index in the log",
        ))?;
        let index =
            parse_decimal(index).map_err(|problem| malformed(lines.number, problem.index()))?;
        let mut hashes = Vec::new();
        loop {
            let line = lines.next().ok_or(malformed(lines.number + 1, CUT))?;
            if line.is_empty() {
                break;
            }
            if hashes.len() == MAX_PROOF_HASHES {
                return Err(malformed(
                    lines.number,
                    "more than 64 inclusion proof hashes, which no tree of at most 2^64 \
                     entries needs",
                ));
            }
            let hash =
                decode_hash(line, lines.number, "an inclusion proof hash").map_err(|error| {
                    match error {
                        HashError::Base64(error) => error,
                        HashError::Length => malformed(
                            lines.number,
                            "an inclusion proof hash must decode to 32 bytes (a SHA-256 hash)",
                        ),
                    }
                })?;
            hashes.push(hash);
        }
        let checkpoint = lines.rest;
        if checkpoint.is_empty() {
            return Err(malformed(
                lines.number + 1,
                "the signed checkpoint is missing after the blank line",
            ));
        }
        let offset = lines.number;
        let note = SignedNote::parse(checkpoint).map_err(|error| error.shifted(offset))?;
        Checkpoint::parse(&note.body).map_err(|error| error.shifted(offset))?;
        Ok(TlogProof {
            extra,
            index,
            hashes,
            checkpoint: checkpoint.to_owned(),
        })
    }
}

/// Lines taken one at a time, each with its newline; `number` is that of the last one taken.
struct Lines<'t> {
    rest: &'t str,
    number: usize,
}

impl<'t> Lines<'t> {
    /// The next complete line, without its newline; `None` when no newline is left.
    fn next(&mut self) -> Option<&'t str> {
        let (line, rest) = self.rest.split_once('\n')?;
        self.rest = rest;
        self.number += 1;
        Some(line)
    }
}

/// What is wrong with a text that should be a note, a checkpoint, a proof or a key, and where:
/// lines are numbered from 1 in the text given to the function that failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoteError {
    /// A key name that signed-note forbids.
    InvalidKeyName {
        name: String,
    },
    /// A verifier key that is not `<name>+<key id>+<key>`.
    MalformedVerifierKey {
        problem: &'static str,
    },
    /// A verifier key of another signature type than Ed25519 (0x01).
    UnsupportedKeyType {
        key_type: u8,
    },
    /// The key id written does not match the name and public key.
    KeyIdMismatch {
        name: String,
        written: [u8; 4],
        computed: [u8; 4],
    },
    /// A public key no signature can be trusted under.
    UnusablePublicKey {
        problem: &'static str,
    },
    TooLarge {
        size: usize,
        limit: usize,
    },
    /// A control character other than the newline (a carriage return, often).
    ControlCharacter {
        line: usize,
    },
    MalformedNote {
        line: usize,
        problem: &'static str,
    },
    TooManySignatures {
        limit: usize,
    },
    BadBase64 {
        line: usize,
        field: &'static str,
        problem: Base64Problem,
    },
    MalformedCheckpoint {
        line: usize,
        problem: &'static str,
    },
    MalformedProof {
        line: usize,
        problem: &'static str,
    },
    /// No signature line carries the key's name and id.
    NotSignedByKey {
        name: String,
        id: [u8; 4],
    },
    /// A signature line carries the key's name and id, and does not verify.
    BadSignature {
        name: String,
        id: [u8; 4],
    },
    /// A checkpoint signed by the key, but for another log.
    OriginMismatch {
        origin: String,
        key_name: String,
    },
}

impl NoteError {
    /// The error with its line numbers moved down by `lines`, for a text found inside another.
    fn shifted(self, lines: usize) -> NoteError {
        match self {
            NoteError::ControlCharacter { line } => {
                NoteError::ControlCharacter { line: line + lines }
            }
            NoteError::MalformedNote { line, problem } => NoteError::MalformedNote {
                line: line + lines,
                problem,
            },
            NoteError::BadBase64 {
                line,
                field,
                problem,
            } => NoteError::BadBase64 {
                line: line + lines,
                field,
                problem,
            },
            NoteError::MalformedCheckpoint { line, problem } => NoteError::MalformedCheckpoint {
                line: line + lines,
                problem,
            },
            NoteError::MalformedProof { line, problem } => NoteError::MalformedProof {
                line: line + lines,
                problem,
            },
            other => other,
        }
    }
}

impl fmt::Display for NoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const COPY_AGAIN: &str = "copy the key again from where the log publishes it";
        match self {
            NoteError::InvalidKeyName { name } => write!(
                f,
                "key name {name:?} is not allowed: a signed-note key name is non-empty, without \
                 white space, '+' or control characters (use a schema-less URL such as \
                 example.com/consent-log)"
            ),
            NoteError::MalformedVerifierKey { problem } => write!(
                f,
                "malformed verifier key: {problem}; a verifier key reads \
                 <name>+<8 hex digits>+<base64 of 0x01 and the 32-byte Ed25519 public key>, \
                 {COPY_AGAIN}"
            ),
            NoteError::UnsupportedKeyType { key_type } => write!(
                f,
                "verifier key of signature type 0x{key_type:02x}: only Ed25519 keys (type 0x01) \
                 are supported"
            ),
            NoteError::KeyIdMismatch {
                name,
                written,
                computed,
            } => write!(
                f,
                "the verifier key for {name} gives the key id {}, but its name and public key \
                 give {}: the key was altered or mistyped, {COPY_AGAIN}",
                KeyIdHex(*written),
                KeyIdHex(*computed)
            ),
            NoteError::UnusablePublicKey { problem } => write!(
                f,
                "the public key {problem}, so no signature can be trusted under it: \
                 {COPY_AGAIN}"
            ),
            NoteError::TooLarge { size, limit } => write!(
                f,
                "the text is {size} bytes, more than the {limit} allowed: it is not a note, \
                 checkpoint or proof this log writes"
            ),
            NoteError::ControlCharacter { line } => write!(
                f,
                "line {line}: a control character other than the newline; notes are UTF-8 text \
                 with newlines only (a file saved with CRLF line ends must get its LF line ends \
                 back, or its signatures no longer match)"
            ),
            NoteError::MalformedNote { line, problem } => {
                write!(f, "line {line} of the signed note: {problem}")
            }
            NoteError::TooManySignatures { limit } => write!(
                f,
                "the note has more than {limit} signature lines, more than any log or witness \
                 set writes"
            ),
            NoteError::BadBase64 {
                line,
                field,
                problem,
            } => write!(
                f,
                "line {line}: {field} is not canonical standard base64 (RFC 4648 section 4, \
                 with '=' padding): {problem}"
            ),
            NoteError::MalformedCheckpoint { line, problem } => {
                write!(f, "line {line} of the checkpoint: {problem}")
            }
            NoteError::MalformedProof { line, problem } => {
                write!(f, "line {line} of the tlog proof: {problem}")
            }
            NoteError::NotSignedByKey { name, id } => write!(
                f,
                "no signature by the key {name}+{} (signatures by other keys are ignored): check \
                 that this is the log's key, and if the log changed keys, use the new one",
                KeyIdHex(*id)
            ),
            NoteError::BadSignature { name, id } => write!(
                f,
                "the signature by {name}+{} does not verify: the text was changed after it was \
                 signed (even one byte, or its line ends), or it was signed with another private \
                 key than this public key's",
                KeyIdHex(*id)
            ),
            NoteError::OriginMismatch { origin, key_name } => write!(
                f,
                "the checkpoint is for the log {origin:?}, but the key is {key_name:?}'s: \
                 verify it with the key of the log it names"
            ),
        }
    }
}

impl core::error::Error for NoteError {}

/// Why a base64 field is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base64Problem {
    /// A character outside `A–Z a–z 0–9 + /` and the final `=` padding.
    InvalidCharacter,
    /// A length no base64 text has.
    InvalidLength,
    /// Padding missing, in excess or misplaced.
    Padding,
    /// The last character carries bits that must be zero: another text encodes the same bytes.
    NonCanonical,
}

impl fmt::Display for Base64Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Base64Problem::InvalidCharacter => "a character outside the base64 alphabet",
            Base64Problem::InvalidLength => "a length no base64 text has",
            Base64Problem::Padding => "the '=' padding is missing, in excess or misplaced",
            Base64Problem::NonCanonical => {
                "the last character carries bits that must be zero (a non-canonical encoding)"
            }
        })
    }
}

fn decode_base64(text: &str) -> Result<Vec<u8>, Base64Problem> {
    use base64::DecodeError;
    // The STANDARD engine requires canonical padding and zero trailing bits.
    BASE64.decode(text).map_err(|error| match error {
        DecodeError::InvalidByte(_, b'=') | DecodeError::InvalidPadding => Base64Problem::Padding,
        DecodeError::InvalidByte(..) => Base64Problem::InvalidCharacter,
        DecodeError::InvalidLength(_) => Base64Problem::InvalidLength,
        DecodeError::InvalidLastSymbol(..) => Base64Problem::NonCanonical,
    })
}

enum HashError {
    Base64(NoteError),
    Length,
}

fn decode_hash(text: &str, line: usize, field: &'static str) -> Result<Hash, HashError> {
    let bytes = decode_base64(text).map_err(|problem| {
        HashError::Base64(NoteError::BadBase64 {
            line,
            field,
            problem,
        })
    })?;
    Hash::try_from(bytes.as_slice()).map_err(|_| HashError::Length)
}

/// Why a decimal number is refused.
enum DecimalProblem {
    Empty,
    NotDigits,
    LeadingZero,
    TooLarge,
}

impl DecimalProblem {
    fn tree_size(self) -> &'static str {
        match self {
            DecimalProblem::Empty => "the tree size line is empty",
            DecimalProblem::NotDigits => "the tree size must be ASCII decimal digits only",
            DecimalProblem::LeadingZero => "the tree size has a leading zero",
            DecimalProblem::TooLarge => "the tree size does not fit in 64 bits",
        }
    }

    fn index(self) -> &'static str {
        match self {
            DecimalProblem::Empty => "the index is empty",
            DecimalProblem::NotDigits => "the index must be ASCII decimal digits only",
            DecimalProblem::LeadingZero => "the index has a leading zero",
            DecimalProblem::TooLarge => "the index does not fit in 64 bits",
        }
    }
}

fn parse_decimal(text: &str) -> Result<u64, DecimalProblem> {
    if text.is_empty() {
        return Err(DecimalProblem::Empty);
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DecimalProblem::NotDigits);
    }
    if text.len() > 1 && text.starts_with('0') {
        return Err(DecimalProblem::LeadingZero);
    }
    text.bytes().try_fold(0u64, |value, digit| {
        value
            .checked_mul(10)
            .and_then(|value| value.checked_add(u64::from(digit - b'0')))
            .ok_or(DecimalProblem::TooLarge)
    })
}

/// Size and characters, the checks every text gets first.
fn check_text(text: &str) -> Result<(), NoteError> {
    if text.len() > MAX_NOTE_BYTES {
        return Err(NoteError::TooLarge {
            size: text.len(),
            limit: MAX_NOTE_BYTES,
        });
    }
    let mut line = 1;
    // Control characters are ASCII; the bytes of a multi-byte UTF-8 character are all >= 0x80.
    for byte in text.bytes() {
        if byte == b'\n' {
            line += 1;
        } else if byte < 0x20 {
            return Err(NoteError::ControlCharacter { line });
        }
    }
    Ok(())
}

/// The number of the line `text` ends on: its newlines, plus one for an unterminated last line.
fn line_count(text: &str) -> usize {
    let newlines = text.bytes().filter(|&b| b == b'\n').count();
    if text.ends_with('\n') || text.is_empty() {
        newlines.max(1)
    } else {
        newlines + 1
    }
}
