//! The transparency log as its users meet it (issue 12): an auditor checking a bundle, a
//! checkpoint, a receipt or a publication offline; an operator running `biscotte verify`,
//! `retention` and `export` on a store someone may have tampered with; a visitor's retries logged
//! once. LEGAL rows: R28 (proof of each choice), R29 (what was shown, timestamped), R30
//! (retention). The store-level cases are in `store_contract.rs`; these go through HTTP and the
//! real binary.

use crate::harness::{TestApp, decision, demo_site_file, edit_leaf_line, header, verify_bundle};
use crate::process::DataDir;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use biscotte_server::auth::{Role, Signer};
use biscotte_server::config::DEFAULT_PUBLIC_NAME;
use biscotte_server::evidence::LogKey;
use biscotte_server::sitefile::CheckpointAccess;
use biscotte_server::store::{NewDecision, SiteSettings, SledStore, Store};
use biscotte_shared::api::ConsentResponse;
use biscotte_shared::audit::{BundleReport, ProblemKind, verify_receipt};
use biscotte_shared::leaf::Leaf;
use biscotte_shared::merkle::{self, Hash, MemoryTree, NodeSource};
use biscotte_shared::note::{self, Checkpoint, TlogProof, VerifierKey};
use biscotte_shared::{Choices, Decision, Lang, Method, Revision, Timestamp};
use futures_util::future::join_all;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Helpers

fn consent_id(n: u64) -> String {
    format!("{n:032x}")
}

/// Posts decisions `first..first + n` one after another: each is its own batch, so each
/// answer carries its own checkpoint.
async fn post_decisions(app: &TestApp, site: &str, first: u64, n: u64) -> Vec<ConsentResponse> {
    let rev = app.published(site).await.revision;
    let mut answers = Vec::new();
    for i in first..first + n {
        let r = app
            .post_consent(
                site,
                &decision(rev.as_str(), &consent_id(i), Method::AcceptAll, true),
            )
            .await;
        assert_eq!(r.status(), 201);
        answers.push(r.json().await.expect("the 201 answer"));
    }
    answers
}

/// Posts `n` decisions, 32 at a time (so batches hold many).
async fn post_many(app: &TestApp, site: &str, n: u64) {
    let rev = app.published(site).await.revision;
    let ids: Vec<u64> = (1..=n).collect();
    for chunk in ids.chunks(32) {
        let posts = chunk.iter().map(|i| {
            let body = decision(rev.as_str(), &consent_id(*i), Method::RejectAll, false);
            async move { app.post_consent(site, &body).await.status() }
        });
        for status in join_all(posts).await {
            assert_eq!(status, 201);
        }
    }
}

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.expect("request")
}

async fn get_text(app: &TestApp, path: &str, token: Option<&str>) -> String {
    let r = get(app, path, token).await;
    assert_eq!(r.status(), 200, "GET {path}");
    r.text().await.expect("text")
}

/// The size of the site's latest checkpoint, checked with its verifier key.
async fn log_size(app: &TestApp, site: &str) -> u64 {
    let text = get_text(app, &format!("/api/v1/sites/{site}/log/checkpoint"), None).await;
    note::open_checkpoint(&text, &app.vkey(site))
        .expect("signed")
        .size
}

fn problems(report: &BundleReport) -> Vec<(Option<u64>, ProblemKind)> {
    report.problems.iter().map(|p| (p.index, p.kind)).collect()
}

fn bundle_lines(bundle: &str) -> Vec<Value> {
    bundle
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// Every leaf hash of a full bundle, in index order.
fn leaf_hashes(bundle: &str) -> Vec<Hash> {
    bundle_lines(bundle)
        .iter()
        .skip(1)
        .map(|l| unhex32(l["leaf_hash"].as_str().expect("leaf_hash")))
        .collect()
}

fn unhex32(s: &str) -> Hash {
    let bytes: Vec<u8> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect();
    bytes.try_into().expect("32 bytes")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bundle with its header changed by `edit`.
fn edit_header(bundle: &str, edit: impl FnOnce(&mut Value)) -> String {
    let (head, rest) = bundle.split_once('\n').expect("a header line");
    let mut value: Value = serde_json::from_str(head).expect("header JSON");
    edit(&mut value);
    format!("{value}\n{rest}")
}

/// The bundle with its lines (header first) rearranged by `edit`.
fn edit_lines(bundle: &str, edit: impl FnOnce(&mut Vec<&str>)) -> String {
    let mut lines: Vec<&str> = bundle.lines().collect();
    edit(&mut lines);
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// The position (in lines, header at 0) of leaf `index`'s line.
fn line_of(bundle: &str, index: u64) -> usize {
    bundle_lines(bundle)
        .iter()
        .position(|l| l["index"].as_u64() == Some(index))
        .expect("the leaf's line")
}

/// A signed note whose signature has one bit flipped (past the 4-byte key id, so the line
/// still names the key).
fn forge_signature(note_text: &str) -> String {
    let (body, line) = note_text
        .trim_end_matches('\n')
        .rsplit_once('\n')
        .expect("a signature line");
    let (prefix, b64) = line.rsplit_once(' ').expect("— name base64");
    let mut signature = STANDARD.decode(b64).expect("base64");
    signature[4 + 10] ^= 0x01;
    format!("{body}\n{prefix} {}\n", STANDARD.encode(signature))
}

/// Signs a checkpoint of `origin` at `size` with `root`, with the deployment's own key: what a
/// server showing a forked log to one auditor would hand out.
fn sign_checkpoint(signer: &Signer, key: &VerifierKey, size: u64, root: Hash) -> String {
    let body = Checkpoint {
        origin: key.name.clone(),
        size,
        root,
        extensions: Vec::new(),
    }
    .to_body();
    note::sign_note(&body, key, |m| signer.sign_raw(m)).expect("signed")
}

/// The exact text of the top-level member `key` of a JSON object as served: what `jq -c .key`
/// prints, with nothing parsed and written again.
fn raw_member<'a>(doc: &'a str, key: &str) -> &'a str {
    let bytes = doc.as_bytes();
    let (mut depth, mut i) = (0usize, 0usize);
    let mut start = None;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let open = i;
                i += 1;
                while bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                if depth == 1
                    && start.is_none()
                    && &doc[open + 1..i] == key
                    && bytes.get(i + 1) == Some(&b':')
                {
                    start = Some(i + 2);
                }
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                if depth == 1
                    && let Some(s) = start
                {
                    return &doc[s..i];
                }
                depth -= 1;
            }
            b',' if depth == 1 => {
                if let Some(s) = start {
                    return &doc[s..i];
                }
            }
            _ => {}
        }
        i += 1;
    }
    panic!("no member {key:?} in {doc}");
}

/// SHA-256 in hex, by coreutils' `sha256sum`, as the README tells auditors to compute it.
fn sha256sum(bytes: &[u8]) -> String {
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sha256sum (coreutils) runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(bytes)
        .expect("written");
    let out = child.wait_with_output().expect("sha256sum answers");
    String::from_utf8(out.stdout).expect("text")[..64].to_owned()
}

/// The command failed with exit code `code`; its message.
fn failed_with(result: Result<String, String>, code: u8) -> String {
    match result {
        Ok(out) => panic!("expected exit code {code}, got success: {out}"),
        Err(message) => {
            assert!(
                message.contains(&format!("exit status: {code})")),
                "expected exit code {code}: {message}"
            );
            message
        }
    }
}

fn write_file(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("written");
    path.to_string_lossy().into_owned()
}

/// Opens a store directory with the sled crate, once the process that held it has let go.
fn open_sled(path: &Path) -> sled::Db {
    let start = Instant::now();
    loop {
        match sled::Config::new().path(path).flush_every_ms(None).open() {
            Ok(db) => return db,
            Err(e) if start.elapsed() < Duration::from_secs(10) => {
                assert!(e.to_string().contains("lock"), "{e}");
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("the store stays locked: {e}"),
        }
    }
}

/// `biscotte ARGS…` on `data`, once an in-process store has let go of it.
fn cli_when_free(data: &DataDir, args: &[&str]) -> Result<String, String> {
    let start = Instant::now();
    loop {
        match data.cli(args) {
            Err(e) if e.contains("in use by another process") => {
                assert!(start.elapsed() < Duration::from_secs(10), "{e}");
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("dir");
    for entry in std::fs::read_dir(from).expect("dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copied");
        }
    }
}

/// The store of `data`, opened in this process with the deployment's key (the key file the
/// command line made, or a new one).
fn open_store(data: &DataDir) -> Arc<SledStore> {
    std::fs::create_dir_all(data.store()).expect("store dir");
    let signer = Signer::load_or_create(&data.store().join("signing-key.pem")).expect("key");
    let key = LogKey::new(DEFAULT_PUBLIC_NAME, signer).expect("log key");
    let start = Instant::now();
    loop {
        match SledStore::open(&data.store(), key.clone()) {
            Ok(store) => return Arc::new(store),
            Err(e) if start.elapsed() < Duration::from_secs(10) => {
                assert!(e.to_string().contains("in use"), "{e}");
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("{e}"),
        }
    }
}

fn new_decision(revision: &Revision, n: u64) -> NewDecision {
    NewDecision {
        site: "demo".into(),
        revision: revision.clone(),
        policy_version: "2026-11".into(),
        decision: Decision {
            consent_id: consent_id(n),
            method: Method::AcceptAll,
            choices: Choices {
                categories: BTreeMap::from([("analytics".to_owned(), true)]).into(),
                services: Default::default(),
            },
        },
        language: Lang::Fr,
        url: Some("https://www.boulangerie.example/".into()),
        undeleted_cookies: Vec::new(),
        decision_id: Some(consent_id(0xd000 + n)),
    }
}

// ---------------------------------------------------------------------------------------------
// Tampering with a bundle: each kind caught, and located by index.

/// The demo's first revision at leaf 0, six decisions at leaves 1 to 6 (each its own batch and
/// checkpoint), and the full bundle an auditor downloads.
async fn six_decisions() -> (TestApp, Vec<ConsentResponse>, String) {
    let app = TestApp::start().await;
    let answers = post_decisions(&app, "demo", 1, 6).await;
    assert_eq!(
        answers.iter().map(|a| a.leaf_index).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6]
    );
    let bundle = app.bundle("demo", "").await;
    let report = verify_bundle(&bundle, &app.vkey("demo"), None);
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!((report.decisions, report.revisions), (6, 1));
    (app, answers, bundle)
}

#[tokio::test]
async fn r28_a_bundle_whose_record_fields_were_altered_names_that_leaf() {
    let (app, _, bundle) = six_decisions().await;
    let tampered = edit_leaf_line(&bundle, 3, |line| {
        line["record"]["method"] = "reject_all".into();
        line["record"]["categories"]["analytics"] = false.into();
    });
    let report = verify_bundle(&tampered, &app.vkey("demo"), None);
    assert_eq!(
        problems(&report),
        [(Some(3), ProblemKind::Altered)],
        "{:?}",
        report.problems
    );
}

#[tokio::test]
async fn r28_a_bundle_whose_leaf_bytes_were_altered_names_that_leaf_even_with_its_hash_recomputed()
{
    let (app, _, bundle) = six_decisions().await;
    let key = app.vkey("demo");
    let altered = |line: &Value| {
        let mut bytes = STANDARD
            .decode(line["leaf"].as_str().expect("leaf"))
            .expect("base64");
        // A byte of the consent id (after version, kind, record id and the site's text): the
        // leaf stays canonical, it just says another visitor.
        bytes[2 + 8 + 2 + 4] ^= 0x40;
        bytes
    };
    // The bytes changed, the leaf hash and fields left as they were.
    let tampered = edit_leaf_line(&bundle, 3, |line| {
        line["leaf"] = STANDARD.encode(altered(line)).into();
    });
    let report = verify_bundle(&tampered, &key, None);
    let found = problems(&report);
    assert!(
        found.contains(&(Some(3), ProblemKind::Altered))
            && found.iter().all(|(i, _)| *i == Some(3)),
        "{:?}",
        report.problems
    );
    // A forger who also recomputes the leaf hash and the fields cannot reach the signed root.
    let tampered = edit_leaf_line(&bundle, 3, |line| {
        let bytes = altered(line);
        let hash = merkle::leaf_hash(&bytes);
        let record = Leaf::decode(&bytes)
            .expect("still canonical")
            .to_record(3, &hash)
            .expect("a decision");
        line["leaf"] = STANDARD.encode(&bytes).into();
        line["leaf_hash"] = hex(&hash).into();
        line["record"] = serde_json::to_value(record).expect("JSON");
    });
    let report = verify_bundle(&tampered, &key, None);
    assert_eq!(
        problems(&report),
        [(None, ProblemKind::RootMismatch)],
        "{:?}",
        report.problems
    );
}

#[tokio::test]
async fn r28_a_line_inserted_into_a_bundle_is_named_by_its_index() {
    let (app, _, bundle) = six_decisions().await;
    let key = app.vkey("demo");
    // A copy of leaf 3's line right after it.
    let at = line_of(&bundle, 3);
    let tampered = edit_lines(&bundle, |lines| lines.insert(at + 1, lines[at]));
    let report = verify_bundle(&tampered, &key, None);
    assert_eq!(
        problems(&report),
        [(Some(3), ProblemKind::Inserted)],
        "{:?}",
        report.problems
    );
    // A made-up leaf after the last one the bundle says it holds.
    let extra = edit_leaf_line(&bundle, 6, |line| {
        line["index"] = 7.into();
        line["record"]["leaf_index"] = 7.into();
        line["record"]["record_id"] = 7.into();
    });
    let last = extra.lines().last().expect("a line").to_owned();
    let tampered = format!("{bundle}{last}\n");
    let report = verify_bundle(&tampered, &key, None);
    assert_eq!(
        problems(&report),
        [(Some(7), ProblemKind::Inserted)],
        "{:?}",
        report.problems
    );
}

#[tokio::test]
async fn r28_a_line_removed_from_a_bundle_is_named_by_its_index() {
    let (app, _, bundle) = six_decisions().await;
    let at = line_of(&bundle, 3);
    let tampered = edit_lines(&bundle, |lines| {
        lines.remove(at);
    });
    let report = verify_bundle(&tampered, &app.vkey("demo"), None);
    let found = problems(&report);
    assert_eq!(
        found.first(),
        Some(&(Some(3), ProblemKind::Removed)),
        "{:?}",
        report.problems
    );
    assert!(
        found.iter().all(|p| matches!(
            p,
            (Some(3 | 4), ProblemKind::Removed) | (None, ProblemKind::RootMismatch)
        )),
        "{:?}",
        report.problems
    );
    // The last line removed: the bundle ends early.
    let tampered = edit_lines(&bundle, |lines| {
        lines.pop();
    });
    let report = verify_bundle(&tampered, &app.vkey("demo"), None);
    assert!(
        problems(&report).contains(&(Some(6), ProblemKind::Removed)),
        "{:?}",
        report.problems
    );
}

#[tokio::test]
async fn r28_two_lines_of_a_bundle_swapped_are_reported_as_reordered_not_as_missing() {
    let (app, _, bundle) = six_decisions().await;
    let (a, b) = (line_of(&bundle, 3), line_of(&bundle, 4));
    let tampered = edit_lines(&bundle, |lines| lines.swap(a, b));
    let report = verify_bundle(&tampered, &app.vkey("demo"), None);
    let found = problems(&report);
    assert!(
        found.contains(&(Some(3), ProblemKind::Reordered))
            || found.contains(&(Some(4), ProblemKind::Reordered)),
        "two lines swapped are a reorder at leaf 3 or 4: {:?}",
        report.problems
    );
    assert!(
        !found.iter().any(|(_, k)| *k == ProblemKind::Removed),
        "no leaf is missing from the bundle, they are out of order: {:?}",
        report.problems
    );
}

#[tokio::test]
async fn r28_a_bundle_whose_checkpoint_was_swapped_for_another_does_not_verify() {
    let (app, answers, bundle) = six_decisions().await;
    let key = app.vkey("demo");
    // An older checkpoint of the same log: genuinely signed, but not the root of these leaves.
    let older = note::TlogProof::parse(&answers[2].proof)
        .expect("proof")
        .checkpoint;
    let tampered = edit_header(&bundle, |h| h["checkpoint"] = older.clone().into());
    let report = verify_bundle(&tampered, &key, None);
    let found = problems(&report);
    assert!(
        found.contains(&(None, ProblemKind::RootMismatch))
            && !found.iter().any(|(_, k)| *k == ProblemKind::BadSignature),
        "{:?}",
        report.problems
    );
    // Another site's checkpoint, signed by the same deployment: not this log's.
    post_decisions(&app, "other", 100, 1).await;
    let theirs = get_text(&app, "/api/v1/sites/other/log/checkpoint", None).await;
    let tampered = edit_header(&bundle, |h| h["checkpoint"] = theirs.into());
    let report = verify_bundle(&tampered, &key, None);
    assert_eq!(
        problems(&report),
        [(None, ProblemKind::BadSignature)],
        "{:?}",
        report.problems
    );
}

#[tokio::test]
async fn r28_a_bundle_whose_checkpoint_signature_was_forged_does_not_verify() {
    let (app, _, bundle) = six_decisions().await;
    let tampered = edit_header(&bundle, |h| {
        let forged = forge_signature(h["checkpoint"].as_str().expect("checkpoint"));
        h["checkpoint"] = forged.into();
    });
    let report = verify_bundle(&tampered, &app.vkey("demo"), None);
    assert_eq!(
        problems(&report),
        [(None, ProblemKind::BadSignature)],
        "{:?}",
        report.problems
    );
}

#[tokio::test]
async fn r28_a_bundle_leaf_whose_bytes_are_not_canonical_is_named_by_its_index() {
    let (app, _, bundle) = six_decisions().await;
    for (what, change) in [
        (
            "a trailing byte",
            (|b: &mut Vec<u8>| b.push(0)) as fn(&mut Vec<u8>),
        ),
        ("an answer of 2", |b: &mut Vec<u8>| {
            // The bool right after the id "analytics" (the category's answer).
            let at = b
                .windows(9)
                .position(|w| w == b"analytics")
                .expect("the analytics answer");
            b[at + 9] = 2;
        }),
    ] {
        let tampered = edit_leaf_line(&bundle, 3, |line| {
            let mut bytes = STANDARD
                .decode(line["leaf"].as_str().expect("leaf"))
                .expect("base64");
            change(&mut bytes);
            line["leaf"] = STANDARD.encode(&bytes).into();
            line["leaf_hash"] = hex(&merkle::leaf_hash(&bytes)).into();
        });
        let report = verify_bundle(&tampered, &app.vkey("demo"), None);
        assert!(
            problems(&report).contains(&(Some(3), ProblemKind::NotCanonical)),
            "{what}: {:?}",
            report.problems
        );
    }
}

/// The bundle with its last leaf line left out, and that leaf's hash folded into the `right`
/// hashes (the subtrees covering the leaves after the bundle's): what a server hiding a
/// record would send. `hashes` are the whole log's leaf hashes.
fn hide_last_leaf(bundle: &str, hashes: &[Hash]) -> String {
    let tree = MemoryTree::from_leaf_hashes(hashes.iter().copied());
    let without = edit_lines(bundle, |lines| {
        lines.pop();
    });
    edit_header(&without, |h| {
        let end = h["end"].as_u64().expect("end") - 1;
        let right: Vec<String> = merkle::decompose(end, hashes.len() as u64)
            .iter()
            .map(|(level, index)| STANDARD.encode(tree.node(*level, *index).expect("node")))
            .collect();
        h["end"] = end.into();
        h["right"] = right.into();
    })
}

#[tokio::test]
async fn r28_a_record_left_out_at_the_end_of_a_bundle_and_hidden_in_its_right_hashes_is_caught() {
    let (app, answers, bundle) = six_decisions().await;
    let key = app.vkey("demo");
    let hashes = leaf_hashes(&bundle);
    let mut missed = Vec::new();
    // The whole log (no `to`): it must end at the checkpoint's size.
    let hidden = hide_last_leaf(&bundle, &hashes);
    let report = verify_bundle(&hidden, &key, None);
    if !problems(&report).contains(&(Some(6), ProblemKind::Removed)) {
        missed.push(format!(
            "a bundle of the whole log that stops before the checkpoint's last leaf: {:?}",
            report.problems
        ));
    }
    // A period: decisions 2 to 4 (`to` is decision 5's time), hiding decision 4.
    let period = app
        .bundle(
            "demo",
            &format!(
                "&from={}&to={}",
                biscotte_server::export::rfc3339(answers[1].server_time),
                biscotte_server::export::rfc3339(answers[4].server_time)
            ),
        )
        .await;
    let header: Value = serde_json::from_str(period.lines().next().expect("header")).expect("JSON");
    assert_eq!(
        (header["begin"].as_u64(), header["end"].as_u64()),
        (Some(2), Some(5))
    );
    let hidden = hide_last_leaf(&period, &hashes);
    let report = verify_bundle(&hidden, &key, None);
    if !problems(&report).contains(&(Some(4), ProblemKind::Removed)) {
        missed.push(format!(
            "a period bundle that stops before the last leaf stamped before `to`: {:?}",
            report.problems
        ));
    }
    assert!(missed.is_empty(), "{missed:#?}");
}

#[tokio::test]
async fn the_command_line_checks_a_bundle_offline_and_names_the_altered_leaf() {
    let (app, _, bundle) = six_decisions().await;
    let dir = tempfile::tempdir().expect("tmp");
    let key = app.vkey("demo").to_string();
    let cli = DataDir::empty();
    let good = write_file(dir.path(), "good.bundle", &bundle);
    let out = cli
        .cli(&["verify", "--bundle", &good, "--key", &key])
        .expect("a genuine bundle verifies");
    assert!(
        out.contains("leaves 0 to 7 of 7 (6 decisions, 0 erased by retention, 1 revisions)")
            && out.contains("every leaf verifies against the signed checkpoint"),
        "{out}"
    );
    // The key may be given as a file, as `biscotte vkey` prints it.
    let key_file = write_file(dir.path(), "demo.vkey", &format!("{key}\n"));
    cli.cli(&["verify", "--bundle", &good, "--key", &key_file])
        .expect("the key from a file");
    let tampered = edit_leaf_line(&bundle, 5, |line| {
        line["record"]["url"] = "https://evil.example/".into();
    });
    let bad = write_file(dir.path(), "bad.bundle", &tampered);
    let message = failed_with(cli.cli(&["verify", "--bundle", &bad, "--key", &key]), 1);
    assert!(message.contains("leaf 5: "), "{message}");
    // Checked with another log's key, nothing verifies.
    let theirs = app.vkey("other").to_string();
    let message = failed_with(cli.cli(&["verify", "--bundle", &good, "--key", &theirs]), 1);
    assert!(
        message.contains("does not verify with your key"),
        "{message}"
    );
}

// ---------------------------------------------------------------------------------------------
// Split view: an auditor's earlier checkpoint against a later bundle.

#[tokio::test]
async fn an_auditors_earlier_checkpoint_is_extended_by_a_later_bundle_and_a_fork_is_a_split_view() {
    let app = TestApp::start().await;
    let key = app.vkey("demo");
    let dir = tempfile::tempdir().expect("tmp");
    post_decisions(&app, "demo", 1, 3).await;
    // The auditor keeps the checkpoint of 4 leaves (a revision, three decisions).
    let kept = get_text(&app, "/api/v1/sites/demo/log/checkpoint", None).await;
    assert_eq!(note::open_checkpoint(&kept, &key).expect("signed").size, 4);
    // Leaf 5 is stamped a millisecond after leaf 4 at least, so that a period from leaf 5's time
    // does not also hold leaf 4 (two decisions in one millisecond made this test flaky).
    let mut later = post_decisions(&app, "demo", 4, 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    later.extend(post_decisions(&app, "demo", 5, 2).await);
    assert!(later[1].server_time > later[0].server_time);

    // A bundle from leaf 0 covers the kept size: its leaves show the log only grew.
    let full = app.bundle("demo", "").await;
    let report = verify_bundle(&full, &key, Some(&kept));
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.extends, Some(4));

    // A bundle of a later period (from leaf 5) does not reach back to 4 leaves: it needs
    // since=4. (From leaf 4, its left hashes alone would give the root at 4.)
    let from = biscotte_server::export::rfc3339(later[1].server_time);
    let recent = app.bundle("demo", &format!("&from={from}")).await;
    let report = verify_bundle(&recent, &key, Some(&kept));
    assert_eq!(problems(&report), [(None, ProblemKind::Malformed)]);
    assert!(
        report.problems[0]
            .message
            .contains("export it again with since=4"),
        "{}",
        report.problems[0].message
    );
    let recent = app.bundle("demo", &format!("&from={from}&since=4")).await;
    let report = verify_bundle(&recent, &key, Some(&kept));
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.extends, Some(4));

    // The same server shows this auditor a fork: 4 leaves whose last is another leaf, signed
    // with the log's own key and name.
    let hashes = leaf_hashes(&full);
    let mut fork = MemoryTree::from_leaf_hashes(hashes[..3].iter().copied());
    fork.push(merkle::leaf_hash(b"a decision only this auditor was shown"));
    let forked = sign_checkpoint(&app.signer, &key, 4, fork.root());
    note::open_checkpoint(&forked, &key).expect("a genuine signature of the log's key");
    for (what, bundle) in [("covering it", &full), ("with since=4", &recent)] {
        let report = verify_bundle(bundle, &key, Some(&forked));
        assert_eq!(
            problems(&report),
            [(None, ProblemKind::SplitView)],
            "{what}: {:?}",
            report.problems
        );
    }
    // A checkpoint larger than the log is now: the log was shown with more leaves than it has.
    let ahead = sign_checkpoint(&app.signer, &key, 50, fork.root());
    let report = verify_bundle(&full, &key, Some(&ahead));
    assert_eq!(problems(&report), [(None, ProblemKind::SplitView)]);

    // The command line says so too, and exits 1.
    let cli = DataDir::empty();
    let bundle_file = write_file(dir.path(), "recent.bundle", &recent);
    let kept_file = write_file(dir.path(), "kept.checkpoint", &kept);
    let forked_file = write_file(dir.path(), "forked.checkpoint", &forked);
    let vkey = key.to_string();
    let out = cli
        .cli(&[
            "verify",
            "--bundle",
            &bundle_file,
            "--key",
            &vkey,
            "--since",
            &kept_file,
        ])
        .expect("the log grew from the kept checkpoint");
    assert!(
        out.contains("the log only grew since your checkpoint of 4 leaves"),
        "{out}"
    );
    let message = failed_with(
        cli.cli(&[
            "verify",
            "--bundle",
            &bundle_file,
            "--key",
            &vkey,
            "--since",
            &forked_file,
        ]),
        1,
    );
    assert!(message.contains("split view"), "{message}");
}

// ---------------------------------------------------------------------------------------------
// Receipts, checked offline by the binary with nothing but the verifier key.

#[tokio::test]
async fn r28_a_receipt_saved_by_the_visitor_verifies_offline_with_only_the_verifier_key() {
    let app = TestApp::start().await;
    let rev = app.published("demo").await.revision;
    let mut body = decision(rev.as_str(), &consent_id(1), Method::Custom, true);
    body["decision_id"] = consent_id(0xabc).into();
    let r = app.post_consent("demo", &body).await;
    assert_eq!(r.status(), 201);
    let answer_text = r.text().await.expect("the 201 answer");
    let answer: ConsentResponse = serde_json::from_str(&answer_text).expect("JSON");
    let dir = tempfile::tempdir().expect("tmp");
    let key = app.vkey("demo").to_string();
    let other_key = app.vkey("other").to_string();
    drop(app);
    let cli = DataDir::empty();

    let whole = write_file(dir.path(), "answer.json", &answer_text);
    let out = cli
        .cli(&["verify", "--receipt", &whole, "--key", &key])
        .expect("the whole answer verifies");
    assert!(
        out.contains(
            "leaf 1 is in localhost/demo's signed tree of 2 leaves: decision 1 of \"demo\""
        ) && out.contains(&consent_id(1))
            && out.contains("the JWT receipt is signed by the same key and names the same leaf"),
        "{out}"
    );
    let proof = write_file(dir.path(), "receipt.tlog-proof", &answer.proof);
    let out = cli
        .cli(&["verify", "--receipt", &proof, "--key", &key])
        .expect("the bare proof verifies");
    assert!(
        out.contains("leaf 1 is in localhost/demo's signed tree"),
        "{out}"
    );

    // Another site's key: the checkpoint is not that log's.
    let message = failed_with(
        cli.cli(&["verify", "--receipt", &whole, "--key", &other_key]),
        1,
    );
    assert!(
        message.contains("the receipt does not verify")
            && message.contains("does not verify with your key"),
        "{message}"
    );
    // The leaf bytes altered: another choice than the one logged.
    let mut tampered = TlogProof::parse(&answer.proof).expect("proof");
    let leaf = tampered.extra.as_mut().expect("the leaf");
    let at = leaf
        .windows(9)
        .position(|w| w == b"analytics")
        .expect("the analytics answer");
    leaf[at + 9] ^= 1;
    let altered = write_file(dir.path(), "altered.tlog-proof", &tampered.to_text());
    let message = failed_with(
        cli.cli(&["verify", "--receipt", &altered, "--key", &key]),
        1,
    );
    assert!(message.contains("is not in the signed tree"), "{message}");
    // The whole answer with its proof altered so: the same.
    let mut json: Value = serde_json::from_str(&answer_text).expect("JSON");
    json["proof"] = tampered.to_text().into();
    let altered = write_file(dir.path(), "altered.json", &json.to_string());
    failed_with(
        cli.cli(&["verify", "--receipt", &altered, "--key", &key]),
        1,
    );
}

// ---------------------------------------------------------------------------------------------
// `biscotte verify --site` on an unknown site.

fn tree_names(path: &Path) -> Vec<String> {
    let db = open_sled(path);
    let mut names: Vec<String> = db
        .tree_names()
        .iter()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn commands_about_a_site_that_does_not_exist_exit_2_and_create_nothing() {
    let data = DataDir::with_demo_site();
    let before = tree_names(&data.store());
    assert!(before.contains(&"leaves/demo".to_owned()), "{before:?}");
    for args in [
        &["verify", "--site", "nosuchsite"][..],
        &["export", "--site", "nosuchsite", "--bundle"],
        &["retention", "--site", "nosuchsite"],
    ] {
        let message = failed_with(cli_when_free(&data, args), 2);
        assert!(message.contains("unknown site \"nosuchsite\""), "{message}");
        let after = tree_names(&data.store());
        assert_eq!(after, before, "{args:?} created nothing");
    }
    assert_eq!(
        data.verify(),
        0,
        "the demo's log still verifies, with no decision"
    );
}

// ---------------------------------------------------------------------------------------------
// Tampering with a stopped store: `biscotte verify --site` finds and locates it.

/// A stopped store with the demo site (revision leaf 0) and 300 decisions (leaves 1 to 300):
/// ten alone in their batch, then the rest together, so the log has a full tile (leaves 0 to
/// 255), a partial one, and a checkpoint at every size from 1 to 11.
async fn stopped_store() -> DataDir {
    let data = DataDir::with_demo_site();
    let store = open_store(&data);
    let rev = store
        .site("demo")
        .await
        .expect("read")
        .expect("site")
        .current_revision
        .clone();
    for n in 1..=10 {
        store
            .append(new_decision(&rev, n), biscotte_server::routes::now())
            .await
            .expect("appended");
    }
    let rest = (11..=300).map(|n| {
        let store = store.clone();
        let d = new_decision(&rev, n);
        async move {
            store
                .append(d, biscotte_server::routes::now())
                .await
                .expect("appended")
        }
    });
    join_all(rest).await;
    store.shutdown().await;
    drop(store);
    assert_eq!(cli_when_free_verify(&data), 300);
    data
}

fn cli_when_free_verify(data: &DataDir) -> u64 {
    cli_when_free(data, &["site", "list"]).expect("the store opens");
    data.verify()
}

fn leaf_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

/// One way of tampering with the stopped store; what it answers must be in what `verify`
/// prints.
type Tamper = fn(&sled::Db, &Path) -> Vec<String>;

fn checkpoint_sizes(db: &sled::Db) -> Vec<u64> {
    db.open_tree("checkpoints/demo")
        .expect("tree")
        .iter()
        .keys()
        .map(|k| u64::from_be_bytes(k.expect("key").as_ref().try_into().expect("8 bytes")))
        .collect()
}

fn checkpoint_text(db: &sled::Db, size: u64) -> String {
    let v = db
        .open_tree("checkpoints/demo")
        .expect("tree")
        .get(leaf_key(size))
        .expect("read")
        .expect("a checkpoint");
    String::from_utf8(v.to_vec()).expect("text")
}

fn set_checkpoint(db: &sled::Db, size: u64, text: &str) {
    db.open_tree("checkpoints/demo")
        .expect("tree")
        .insert(leaf_key(size), text.as_bytes())
        .expect("written");
}

fn flip_leaf_byte(db: &sled::Db, index: u64, at: usize) {
    let leaves = db.open_tree("leaves/demo").expect("tree");
    let mut v = leaves
        .get(leaf_key(index))
        .expect("read")
        .expect("leaf")
        .to_vec();
    v[at] ^= 0x40;
    leaves.insert(leaf_key(index), v).expect("written");
}

/// The byte of a decision leaf's consent id (after version, kind, record id, "demo").
const CONSENT_ID_BYTE: usize = 2 + 8 + 2 + 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r28_tampering_with_a_stopped_store_is_found_by_verify_site_and_located() {
    let golden = stopped_store().await;
    let cases: Vec<(&str, Tamper)> = vec![
        ("a leaf's bytes altered in a full tile", |db, _| {
            flip_leaf_byte(db, 10, CONSENT_ID_BYTE);
            vec!["leaf 10: ".into()]
        }),
        ("a leaf removed from a full tile", |db, _| {
            db.open_tree("leaves/demo")
                .expect("tree")
                .remove(leaf_key(20))
                .expect("removed");
            vec!["leaf 20: ".into()]
        }),
        ("two leaves swapped in a full tile", |db, _| {
            let leaves = db.open_tree("leaves/demo").expect("tree");
            let a = leaves.get(leaf_key(30)).expect("read").expect("leaf");
            let b = leaves.get(leaf_key(31)).expect("read").expect("leaf");
            leaves.insert(leaf_key(30), b).expect("written");
            leaves.insert(leaf_key(31), a).expect("written");
            vec!["leaf 30: ".into(), "leaf 31: ".into()]
        }),
        ("a checkpoint replaced by an earlier one's text", |db, _| {
            let text = checkpoint_text(db, 2);
            set_checkpoint(db, 3, &text);
            vec!["checkpoint kept for 3 leaves says 2 leaves".into()]
        }),
        (
            "a checkpoint replaced by another log's, signed by the same deployment",
            |db, store| {
                let size = 4;
                let mine = checkpoint_text(db, size);
                let body = note::SignedNote::parse(&mine).expect("note").body;
                let body = body.replacen("localhost/demo\n", "localhost/other\n", 1);
                let signer = Signer::load(&store.join("signing-key.pem")).expect("the store's key");
                let theirs = LogKey::new(DEFAULT_PUBLIC_NAME, signer.clone())
                    .expect("log key")
                    .vkey("other")
                    .expect("vkey");
                let text = note::sign_note(&body, &theirs, |m| signer.sign_raw(m)).expect("signed");
                set_checkpoint(db, size, &text);
                vec!["checkpoint of 4 leaves does not verify with the log's key".into()]
            },
        ),
        ("a checkpoint's signature corrupted", |db, _| {
            let text = forge_signature(&checkpoint_text(db, 5));
            set_checkpoint(db, 5, &text);
            vec!["checkpoint of 5 leaves does not verify with the log's key".into()]
        }),
        ("the latest checkpoint's signature corrupted", |db, _| {
            let latest = *checkpoint_sizes(db).last().expect("one");
            let text = forge_signature(&checkpoint_text(db, latest));
            set_checkpoint(db, latest, &text);
            vec![format!(
                "checkpoint of {latest} leaves does not verify with the log's key"
            )]
        }),
        // Past the last full tile, nothing but the checkpoints covers the leaves: the store
        // opens read-only, and verify locates the change between the last checkpoint that still
        // matches and the first that does not.
        ("the last leaf's bytes altered", |db, _| {
            flip_leaf_byte(db, 300, CONSENT_ID_BYTE);
            vec!["301".into(), "the change is among leaves".into()]
        }),
        ("the last leaf removed", |db, _| {
            db.open_tree("leaves/demo")
                .expect("tree")
                .remove(leaf_key(300))
                .expect("removed");
            vec!["301".into()]
        }),
        (
            "the latest checkpoint replaced by an earlier one's text",
            |db, _| {
                let latest = *checkpoint_sizes(db).last().expect("one");
                let text = checkpoint_text(db, 11);
                set_checkpoint(db, latest, &text);
                vec![latest.to_string()]
            },
        ),
    ];
    let mut wrong = Vec::new();
    for (what, tamper) in cases {
        let data = DataDir::empty();
        copy_dir(&golden.store(), &data.store());
        let expected = {
            let db = open_sled(&data.store());
            let expected = tamper(&db, &data.store());
            db.flush().expect("flushed");
            expected
        };
        match cli_when_free(&data, &["verify", "--site", "demo"]) {
            Ok(out) => wrong.push(format!("{what}: verify reports success: {out}")),
            Err(message) => {
                if !message.contains("exit status: 1)") {
                    wrong.push(format!("{what}: not exit code 1: {message}"));
                }
                for e in &expected {
                    if !message.contains(e.as_str()) {
                        wrong.push(format!("{what}: {e:?} is not named in: {message}"));
                    }
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

// ---------------------------------------------------------------------------------------------
// The log routes, as a generic tlog client reads them.

#[tokio::test]
async fn the_latest_checkpoint_and_every_earlier_one_verify_with_the_sites_verifier_key() {
    let app = TestApp::start().await;
    let key = app.vkey("demo");
    let answers = post_decisions(&app, "demo", 1, 3).await;
    let served_key = get_text(&app, "/api/v1/sites/demo/log/vkey", None).await;
    assert_eq!(served_key.trim(), key.to_string());
    let logs: Value = get(&app, "/.well-known/biscotte-logs.json", None)
        .await
        .json()
        .await
        .expect("JSON");
    let demo = logs["logs"]
        .as_array()
        .expect("logs")
        .iter()
        .find(|l| l["site"] == "demo")
        .expect("the demo's log")
        .clone();
    assert_eq!(demo["vkey"], key.to_string());
    assert_eq!(demo["origin"], "localhost/demo");
    assert_eq!(demo["public"], true);

    let latest = get_text(&app, "/api/v1/sites/demo/log/checkpoint", None).await;
    let cp = note::open_checkpoint(&latest, &key).expect("signed by the site's key");
    assert_eq!(cp.size, 4);
    // Each answer's checkpoint is kept, and served again by its size.
    for answer in &answers {
        let proof = TlogProof::parse(&answer.proof).expect("proof");
        let size = note::open_checkpoint(&proof.checkpoint, &key)
            .expect("signed")
            .size;
        let again = get_text(
            &app,
            &format!("/api/v1/sites/demo/log/checkpoints/{size}"),
            None,
        )
        .await;
        assert_eq!(again, proof.checkpoint, "the checkpoint of {size} leaves");
    }
    let missing = get(&app, "/api/v1/sites/demo/log/checkpoints/99", None).await;
    assert_eq!(missing.status(), 404);
    let text = missing.text().await.expect("text");
    assert!(text.contains("no checkpoint"), "{text}");
    let unknown = get(&app, "/api/v1/sites/nosuchsite/log/checkpoint", None).await;
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn hash_and_entry_tiles_follow_the_tlog_tiles_layout_and_entries_need_an_auditor() {
    let app = TestApp::start().await;
    post_many(&app, "demo", 300).await;
    let full = app.bundle("demo", "").await;
    let hashes = leaf_hashes(&full);
    assert_eq!(hashes.len(), 301);
    let cp = note::open_checkpoint(
        &get_text(&app, "/api/v1/sites/demo/log/checkpoint", None).await,
        &app.vkey("demo"),
    )
    .expect("signed");
    assert_eq!(cp.size, 301);
    assert_eq!(
        MemoryTree::from_leaf_hashes(hashes.iter().copied()).root(),
        cp.root,
        "the leaf hashes are the signed tree's"
    );
    let tile = |path: &str| {
        let path = format!("/api/v1/sites/demo/log/tile/{path}");
        let app = &app;
        async move {
            let r = get(app, &path, None).await;
            (r.status(), r.bytes().await.expect("body").to_vec())
        }
    };
    let concat = |range: std::ops::Range<usize>| hashes[range].concat();
    // A full level-0 tile: 256 leaf hashes, 8192 bytes.
    let (status, body) = tile("0/000").await;
    assert_eq!(status, 200);
    assert_eq!(body.len(), 8192);
    assert_eq!(body, concat(0..256));
    // The partial tile after it, `.p/W`, and a partial view of the full one.
    let (status, body) = tile("0/001.p/45").await;
    assert_eq!((status.as_u16(), body), (200, concat(256..301)));
    assert_eq!(tile("0/000.p/7").await.1, concat(0..7));
    // Level 1 holds the roots of complete level-0 tiles.
    let block_root = MemoryTree::from_leaf_hashes(hashes[..256].iter().copied()).root();
    assert_eq!(tile("1/000.p/1").await.1, block_root.to_vec());
    // Tiles the tree does not have yet.
    for path in ["0/001", "0/001.p/46", "1/000", "2/000.p/1"] {
        assert_eq!(tile(path).await.0, 404, "{path}");
    }
    // Paths that are not tlog-tiles paths, each refused with what a good one looks like.
    for path in [
        "0/1",
        "0/0000",
        "0/x000",
        "0/abc",
        "0/x1/000",
        "0/000.p/0",
        "0/000.p/256",
        "0/000.p/045",
        "0/000.p/",
        "0/000.p/x",
    ] {
        let r = get(&app, &format!("/api/v1/sites/demo/log/tile/{path}"), None).await;
        assert_eq!(r.status(), 400, "{path}");
        let text = r.text().await.expect("text");
        assert!(text.contains("tlog-tiles"), "{path}: {text}");
    }

    // Entry tiles hold consent ids and urls: the site's auditors only.
    let entries = "/api/v1/sites/demo/log/tile/entries/000";
    assert_eq!(get(&app, entries, None).await.status(), 401);
    let theirs = app.token(Role::Auditor, Some("other"));
    assert_eq!(get(&app, entries, Some(&theirs)).await.status(), 403);
    let token = app.token(Role::Auditor, Some("demo"));
    for (path, range) in [("000", 0..256), ("001.p/45", 256..301)] {
        let r = get(
            &app,
            &format!("/api/v1/sites/demo/log/tile/entries/{path}"),
            Some(&token),
        )
        .await;
        assert_eq!(r.status(), 200, "{path}");
        let body = r.bytes().await.expect("body");
        // Each entry is its length (2 bytes, big-endian) then the leaf's bytes.
        let mut rest = &body[..];
        let mut got = Vec::new();
        while !rest.is_empty() {
            let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
            let leaf = &rest[2..2 + len];
            Leaf::decode(leaf).expect("a canonical leaf");
            got.push(merkle::leaf_hash(leaf));
            rest = &rest[2 + len..];
        }
        assert_eq!(got, hashes[range], "{path}");
    }
    // Tile 0 written with a leading group of zeros: tlog-tiles (like Go's ParseTilePath) has
    // one path per tile, and an immutable tile should not be cached under a second one.
    let r = get(&app, "/api/v1/sites/demo/log/tile/0/x000/000", None).await;
    assert_eq!(r.status(), 400, "0/x000/000 is not the path of tile 0");
}

#[tokio::test]
async fn an_inclusion_proof_by_index_and_a_consistency_proof_between_two_sizes_verify() {
    let app = TestApp::start().await;
    let key = app.vkey("demo");
    post_decisions(&app, "demo", 1, 5).await;
    let token = app.token(Role::Auditor, Some("demo"));
    let inclusion = "/api/v1/sites/demo/log/proof/inclusion";
    assert_eq!(
        get(&app, &format!("{inclusion}?index=2"), None)
            .await
            .status(),
        401,
        "a proof carries the leaf: auditors only"
    );
    for (query, size) in [("index=2", 6), ("index=2&size=3", 3), ("index=0&size=1", 1)] {
        let text = get_text(&app, &format!("{inclusion}?{query}"), Some(&token)).await;
        let checked = verify_receipt(&text, &key).expect("the proof verifies offline");
        assert_eq!(checked.checkpoint.size, size, "{query}");
    }
    let text = get_text(&app, &format!("{inclusion}?index=2"), Some(&token)).await;
    let checked = verify_receipt(&text, &key).expect("verifies");
    assert_eq!((checked.index, checked.leaf.record_id()), (2, Some(2)));
    for bad in ["index=6", "index=2&size=2", "index=2&size=99"] {
        let r = get(&app, &format!("{inclusion}?{bad}"), Some(&token)).await;
        assert!(r.status().is_client_error(), "{bad}: {}", r.status());
    }

    let at = |size: u64| {
        let app = &app;
        let key = &key;
        async move {
            let text = get_text(
                app,
                &format!("/api/v1/sites/demo/log/checkpoints/{size}"),
                None,
            )
            .await;
            note::open_checkpoint(&text, key).expect("signed").root
        }
    };
    for (from, to) in [(1u64, 6u64), (3, 6), (2, 5), (6, 6)] {
        let answer: Value = get(
            &app,
            &format!("/api/v1/sites/demo/log/proof/consistency?from={from}&to={to}"),
            None,
        )
        .await
        .json()
        .await
        .expect("JSON");
        let proof: Vec<Hash> = answer["proof"]
            .as_array()
            .expect("hashes")
            .iter()
            .map(|h| {
                STANDARD
                    .decode(h.as_str().expect("text"))
                    .expect("base64")
                    .try_into()
                    .expect("32 bytes")
            })
            .collect();
        merkle::verify_consistency(from, to, &at(from).await, &at(to).await, &proof)
            .unwrap_or_else(|e| panic!("{from} to {to}: {e}"));
    }
    for bad in ["from=5&to=3", "from=2&to=99"] {
        let r = get(
            &app,
            &format!("/api/v1/sites/demo/log/proof/consistency?{bad}"),
            None,
        )
        .await;
        assert!(r.status().is_client_error(), "{bad}: {}", r.status());
    }
}

#[tokio::test]
async fn a_site_that_shows_its_log_to_auditors_only_needs_their_token_for_checkpoints_and_tiles() {
    let app = TestApp::start().await;
    let mut file = demo_site_file();
    file.site.id = "private".into();
    file.site.checkpoints = Some(CheckpointAccess::Auditors);
    let r = app
        .client
        .post(app.url("/api/v1/sites"))
        .bearer_auth(app.token(Role::Admin, None))
        .json(&file)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.expect("JSON");
    let rev = created["published"]["revision"]
        .as_str()
        .expect("revision")
        .to_owned();
    post_decisions(&app, "private", 1, 2).await;
    let token = app.token(Role::Auditor, Some("private"));
    for path in [
        "log/checkpoint",
        "log/checkpoints/2",
        "log/tile/0/000.p/3",
        "log/proof/consistency?from=1&to=3",
    ] {
        let path = format!("/api/v1/sites/private/{path}");
        let r = get(&app, &path, None).await;
        assert_eq!(r.status(), 401, "{path}");
        let text = r.text().await.expect("text");
        assert!(
            text.contains("[site].checkpoints = \\\"auditors\\\"")
                && text.contains("auditor token"),
            "{path}: {text}"
        );
        assert_eq!(get(&app, &path, Some(&token)).await.status(), 200, "{path}");
    }
    let cp = get_text(&app, "/api/v1/sites/private/log/checkpoint", Some(&token)).await;
    note::open_checkpoint(&cp, &app.vkey("private")).expect("signed");
    let logs: Value = get(&app, "/.well-known/biscotte-logs.json", None)
        .await
        .json()
        .await
        .expect("JSON");
    assert!(
        logs["logs"]
            .as_array()
            .expect("logs")
            .iter()
            .any(|l| l["site"] == "private" && l["public"] == false),
        "{logs}"
    );
    // The revision routes are public (what was shown is no secret), but a checkpoint they
    // carry tells the log's size: without a token, none.
    let r = get(
        &app,
        &format!("/api/v1/sites/private/revisions/{rev}"),
        None,
    )
    .await;
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().await.expect("JSON");
    let leaves = answer["leaves"].as_array().expect("leaves");
    assert!(!leaves.is_empty());
    assert!(
        leaves.iter().all(|l| l.get("proof").is_none()),
        "GET /revisions/{{rev}} hands anyone the checkpoint of a log shown to auditors only: {answer}"
    );
}

// ---------------------------------------------------------------------------------------------
// R29: publishing is logged, with a hash of exactly what the visitor is shown.

#[tokio::test]
async fn r29_publishing_a_revision_logs_a_leaf_with_the_hash_of_its_configuration_and_words() {
    let app = TestApp::start().await;
    let key = app.vkey("demo");
    let first = post_decisions(&app, "demo", 1, 1).await;
    let mut file = demo_site_file();
    file.site.id = "demo".into();
    file.consent.policy_version = "2027-01".into();
    // Another site's owner cannot publish it, and nothing is logged.
    let theirs = app.token(Role::Owner, Some("other"));
    let r = app
        .client
        .post(app.url("/api/v1/sites/demo/revisions"))
        .bearer_auth(theirs)
        .json(&file)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 403);
    assert_eq!(log_size(&app, "demo").await, 2);
    let r = app
        .client
        .post(app.url("/api/v1/sites/demo/revisions"))
        .bearer_auth(app.token(Role::Owner, Some("demo")))
        .json(&file)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 201);
    let published: Value = r.json().await.expect("JSON");
    let rev = published["published"]["revision"]
        .as_str()
        .expect("revision")
        .to_owned();
    let after = post_decisions(&app, "demo", 2, 1).await;
    assert_eq!(
        (first[0].leaf_index, after[0].leaf_index),
        (1, 3),
        "the revision leaf sits between the decisions"
    );

    // What the recipe covers, from the configuration as served (README, recipe 3).
    let served = get_text(&app, "/api/v1/sites/demo/config", None).await;
    assert!(
        served.contains(&format!("\"revision\":\"{rev}\"")),
        "{served}"
    );
    assert!(served.contains("\"recipe\":3"), "{served}");
    let covered = format!(
        "{{\"recipe\":3,\"config\":{},\"words\":{}}}",
        raw_member(&served, "config"),
        raw_member(&served, "words")
    );
    let content_hash = sha256sum(covered.as_bytes());
    assert_eq!(
        content_hash[..32],
        rev,
        "the revision is the first half of the hash"
    );

    let list: Value = get(&app, "/api/v1/sites/demo/revisions", None)
        .await
        .json()
        .await
        .expect("JSON");
    let entries = list["revisions"].as_array().expect("revisions");
    assert_eq!(
        entries
            .iter()
            .map(|e| e["index"].clone())
            .collect::<Vec<_>>(),
        [Value::from(0), Value::from(2)]
    );
    assert_eq!(entries[1]["fields"]["content_hash"], content_hash);
    assert_eq!(entries[1]["fields"]["recipe"], 3);

    let one: Value = get(&app, &format!("/api/v1/sites/demo/revisions/{rev}"), None)
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(one["published"]["revision"], rev);
    let leaves = one["leaves"].as_array().expect("leaves");
    assert_eq!(leaves.len(), 1);
    let proof = leaves[0]["proof"].as_str().expect("a tlog-proof");
    let checked = verify_receipt(proof, &key).expect("the publication's proof verifies");
    let Leaf::Revision(leaf) = &checked.leaf else {
        panic!("a revision leaf: {:?}", checked.leaf);
    };
    assert_eq!(checked.index, 2);
    assert_eq!(leaf.revision.as_str(), rev);
    assert_eq!(hex(&leaf.content_hash), content_hash);
    assert!(
        first[0].server_time <= leaf.server_time && leaf.server_time <= after[0].server_time,
        "it went live between the two decisions"
    );
    // The binary checks it offline too.
    let dir = tempfile::tempdir().expect("tmp");
    let file = write_file(dir.path(), "publication.tlog-proof", proof);
    let out = DataDir::empty()
        .cli(&["verify", "--receipt", &file, "--key", &key.to_string()])
        .expect("verifies");
    assert!(
        out.contains(&format!("the publication of revision {rev}")),
        "{out}"
    );
    app.assert_log_verifies("demo", 2).await;
}

// ---------------------------------------------------------------------------------------------
// R28: a decision is logged exactly once, however often it is sent.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn r28_sixteen_concurrent_retries_of_one_decision_make_one_record_and_one_receipt() {
    let app = TestApp::start().await;
    let key = app.vkey("demo");
    let rev = app.published("demo").await.revision;
    let mut body = decision(rev.as_str(), &consent_id(7), Method::Custom, true);
    body["decision_id"] = consent_id(0xdec1).into();
    let tries = (0..16).map(|_| {
        let (app, body) = (&app, body.clone());
        async move {
            let r = app.post_consent("demo", &body).await;
            let replayed = header(&r, "Idempotent-Replayed");
            (r.status(), replayed, r.json::<ConsentResponse>().await)
        }
    });
    let answers = join_all(tries).await;
    let mut replays = 0;
    let mut first: Option<ConsentResponse> = None;
    for (status, replayed, answer) in answers {
        assert_eq!(status, 201);
        let answer = answer.expect("the 201 answer");
        match replayed.as_deref() {
            Some("true") => replays += 1,
            None => {}
            Some(other) => panic!("Idempotent-Replayed: {other}"),
        }
        verify_receipt(&answer.proof, &key).expect("each answer's proof verifies");
        match &first {
            None => first = Some(answer),
            Some(f) => assert_eq!(
                (
                    answer.record_id,
                    answer.leaf_index,
                    &answer.receipt,
                    &answer.leaf_hash
                ),
                (f.record_id, f.leaf_index, &f.receipt, &f.leaf_hash),
                "every try gets the one record and its receipt"
            ),
        }
    }
    assert_eq!(
        replays, 15,
        "all tries but the first are flagged as replays"
    );
    assert_eq!(app.records("demo").await.len(), 1);

    // The same id for another decision: refused, with the fix, and nothing logged.
    let mut other = decision(rev.as_str(), &consent_id(7), Method::RejectAll, false);
    other["decision_id"] = consent_id(0xdec1).into();
    let r = app.post_consent("demo", &other).await;
    assert_eq!(r.status(), 409);
    let envelope: Value = r.json().await.expect("the error envelope");
    let message = envelope["error"]["message"].as_str().expect("message");
    assert!(message.contains("draw a new decision_id"), "{message}");
    assert_eq!(app.records("demo").await.len(), 1);
    assert_eq!(log_size(&app, "demo").await, 2);
    app.assert_log_verifies("demo", 1).await;
}

// ---------------------------------------------------------------------------------------------
// R30: retention, run from the command line at a given time.

/// 2026-01-01T00:00:00Z.
const JAN_1_2026: i64 = 1_767_225_600_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r30_retention_from_the_command_line_erases_exactly_the_expired_decisions_and_the_log_still_verifies()
 {
    let day = biscotte_shared::time::DAY_MS;
    let at = |days: i64| Timestamp::from_millis(JAN_1_2026 + days * day);
    let data = DataDir::empty();
    let store = open_store(&data);
    let mut site = demo_site_file().validate().expect("valid demo");
    site.retention_days = 30;
    let first = store
        .create_site(site.clone().into_new_site(at(0)))
        .await
        .expect("created");
    // Decisions on January 2 to 7, and a new revision on January 3: kept 30 days and counted
    // on February 4, the decisions before January 5 are past.
    for n in 1..=6u64 {
        store
            .append(new_decision(&first.revision, n), at(n as i64))
            .await
            .expect("appended");
        if n == 2 {
            let mut config = site.config.clone();
            config.policy_version = "2026-01".into();
            store
                .publish(
                    "demo",
                    config,
                    SiteSettings::default(),
                    at(2).plus_millis(1),
                )
                .await
                .expect("published");
        }
    }
    store.shutdown().await;
    drop(store);

    let out = cli_when_free(&data, &["retention", "--now", "2026-02-04"]).expect("retention");
    assert!(
        out.contains("site \"demo\": erased 3 decisions older than 30 days"),
        "{out}"
    );
    let again = data
        .cli(&["retention", "--site", "demo", "--now", "2026-02-04"])
        .expect("again");
    assert!(again.contains("erased 0 decisions"), "{again}");

    // The CSV says which decisions were erased, and keeps nothing of their visitors.
    let csv_text = data
        .cli(&["export", "--site", "demo", "--format", "csv"])
        .expect("CSV export");
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = reader.headers().expect("header").clone();
    let column = |name: &str| headers.iter().position(|h| h == name).expect(name);
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    let status: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r[column("record_id")].to_owned(),
                r[column("status")].to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        (1, "erased"),
        (2, "erased"),
        (3, "erased"),
        (4, "recorded"),
        (5, "recorded"),
        (6, "recorded"),
    ]
    .iter()
    .map(|(id, s)| (id.to_string(), s.to_string()))
    .collect();
    assert_eq!(
        status, expected,
        "the decision stamped at the cut-off is kept"
    );
    for n in 1..=3 {
        assert!(
            !csv_text.contains(&consent_id(n)),
            "decision {n}'s visitor is gone"
        );
    }
    for n in 4..=6 {
        assert!(csv_text.contains(&consent_id(n)));
    }
    let ndjson = data
        .cli(&["export", "--site", "demo", "--format", "ndjson"])
        .expect("NDJSON export");
    let erased: Vec<u64> = ndjson
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("JSON"))
        .filter(|v| v["erased"] == true)
        .map(|v| v["record_id"].as_u64().expect("record_id"))
        .collect();
    assert_eq!(erased, [1, 2, 3]);
    assert!(!ndjson.contains(&consent_id(1)));

    // The store verifies and counts them; a bundle verifies offline and reports them erased.
    let out = data.cli(&["verify", "--site", "demo"]).expect("verifies");
    assert!(
        out.contains("8 leaves (6 decisions, 3 erased by retention; 2 revisions)"),
        "{out}"
    );
    let dir = tempfile::tempdir().expect("tmp");
    let bundle_path = dir.path().join("demo.bundle");
    let bundle_file = bundle_path.to_string_lossy().into_owned();
    data.cli(&[
        "export",
        "--site",
        "demo",
        "--bundle",
        "--out",
        &bundle_file,
    ])
    .expect("bundle export");
    let vkey = data.vkey().to_string();
    let out = data
        .cli(&["verify", "--bundle", &bundle_file, "--key", &vkey])
        .expect("the bundle verifies");
    assert!(
        out.contains("(6 decisions, 3 erased by retention, 2 revisions)"),
        "{out}"
    );
    let bundle = std::fs::read_to_string(&bundle_path).expect("bundle");
    let report = verify_bundle(&bundle, &data.vkey(), None);
    assert!(report.is_ok(), "{:?}", report.problems);
    let erased: Vec<(u64, u64)> = bundle_lines(&bundle)
        .iter()
        .filter(|l| l.get("erased").is_some())
        .map(|l| {
            assert!(l.get("leaf").is_none() && l.get("record").is_none(), "{l}");
            (
                l["index"].as_u64().expect("index"),
                l["erased"]["record_id"].as_u64().expect("record_id"),
            )
        })
        .collect();
    // Leaves: 0 revision, 1 and 2 decisions, 3 the new revision (never erased), 4… decisions.
    assert_eq!(erased, [(1, 1), (2, 2), (4, 3)]);
}

// ---------------------------------------------------------------------------------------------
// An auditor's bundle of one period.

#[tokio::test]
async fn an_auditors_bundle_of_a_middle_period_holds_exactly_its_leaves_and_verifies() {
    let app = TestApp::start().await;
    let key = app.vkey("demo");
    post_decisions(&app, "demo", 1, 3).await;
    let middle_first = post_decisions(&app, "demo", 4, 1).await;
    let mut file = demo_site_file();
    file.consent.policy_version = "2027-01".into();
    let r = app
        .client
        .post(app.url("/api/v1/sites/demo/revisions"))
        .bearer_auth(app.token(Role::Owner, Some("demo")))
        .json(&file)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 201);
    post_decisions(&app, "demo", 5, 2).await;
    let last_first = post_decisions(&app, "demo", 7, 1).await;
    post_decisions(&app, "demo", 8, 2).await;
    let (from, to) = (middle_first[0].server_time, last_first[0].server_time);

    // What the period holds, from the whole log: log order is time order.
    let full = app.bundle("demo", "").await;
    let lines = bundle_lines(&full);
    let time_of = |l: &Value| {
        let t = if l.get("record").is_some() {
            &l["record"]["server_time"]
        } else {
            &l["revision"]["server_time"]
        };
        t.as_i64().expect("server_time")
    };
    let inside: Vec<u64> = lines[1..]
        .iter()
        .filter(|l| (from.as_millis()..to.as_millis()).contains(&time_of(l)))
        .map(|l| l["index"].as_u64().expect("index"))
        .collect();
    assert!(
        inside.len() >= 4,
        "decisions 4 to 6 and the revision: {inside:?}"
    );

    let query = format!(
        "&from={}&to={}",
        biscotte_server::export::rfc3339(from),
        biscotte_server::export::rfc3339(to)
    );
    let period = app.bundle("demo", &query).await;
    let lines = bundle_lines(&period);
    let header = &lines[0];
    let held: Vec<u64> = lines[1..]
        .iter()
        .map(|l| l["index"].as_u64().expect("index"))
        .collect();
    assert_eq!(held, inside);
    assert_eq!(
        (header["begin"].as_u64(), header["end"].as_u64()),
        (inside.first().copied(), inside.last().map(|i| i + 1))
    );
    assert!(
        !header["left"].as_array().expect("left").is_empty()
            && !header["right"].as_array().expect("right").is_empty(),
        "the leaves before and after the period are covered by their subtrees' hashes"
    );
    let report = verify_bundle(&period, &key, None);
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.revisions, 1);
    assert_eq!(report.decisions, inside.len() as u64 - 1);
    // A boundary hash changed: the period no longer reaches the signed root.
    let tampered = edit_header(&period, |h| {
        let mut left = STANDARD
            .decode(h["left"][0].as_str().expect("hash"))
            .expect("base64");
        left[0] ^= 1;
        h["left"][0] = STANDARD.encode(left).into();
    });
    let report = verify_bundle(&tampered, &key, None);
    assert_eq!(problems(&report), [(None, ProblemKind::RootMismatch)]);
    // Nothing posted in the period is left out, nor anything outside it let in.
    let records = app.records("demo").await;
    let expected_ids: Vec<u64> = records
        .iter()
        .filter(|r| from <= r.server_time && r.server_time < to)
        .map(|r| r.record_id)
        .collect();
    let got_ids: Vec<u64> = lines[1..]
        .iter()
        .filter_map(|l| l["record"]["record_id"].as_u64())
        .collect();
    assert_eq!(got_ids, expected_ids);
    assert!(
        got_ids.starts_with(&[4]) && !got_ids.contains(&7),
        "{got_ids:?}"
    );
}
