//! Backups of a running server's store: `biscotte backup` asks the server for a copy
//! (`POST /api/v1/admin/backup`, admins only), which its writer takes between two batches while
//! clients go on recording. The copy opens as a store, verifies, holds every decision
//! acknowledged before the backup started, and ends at a checkpoint the live log signed and has
//! extended since; a cut or damaged stream is refused whole.
//!
//! `BISCOTTE_BACKUP_DECISIONS` (default 1,000) sets how many decisions the log holds before the
//! backup, to measure the copy at a larger size, e.g.
//! `BISCOTTE_BACKUP_DECISIONS=100000 cargo test -p biscotte-tests --test integration backup`

use crate::harness::TestApp;
use crate::process::{Clients, DataDir, REQUEST_TIMEOUT, report};
use biscotte_server::auth::Role;
use biscotte_server::evidence::LogKey;
use biscotte_server::store::{ExportRow, SledRestore, SledStore, Store};
use biscotte_server::verify::verify_store;
use biscotte_shared::api::ErrorBody;
use biscotte_shared::{merkle, note};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::time::{Duration, Instant};

fn setting(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a whole number")),
        Err(_) => default,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_16_clients_record_opens_verifies_and_holds_every_decision_acknowledged_before_it()
 {
    let test_started = Instant::now();
    let before = setting("BISCOTTE_BACKUP_DECISIONS", 1_000);
    let data = DataDir::with_demo_site();
    let mut server = data.start();
    let revision = server.revision().await;

    let load = Clients::start(&server, &revision, 16, 0xbac0);
    while load.acked() < before && !load.stopped() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let backup_started = load.elapsed();
    let copy = data.path("copy");
    let to = copy.to_string_lossy().into_owned();
    // The command runs on this worker; the clients go on on the other.
    let backed_up =
        tokio::task::block_in_place(|| data.cli(&["backup", "--to", &to, "--url", &server.base]));
    let backup_ended = load.elapsed();
    // The log goes on after the copy.
    let at_end = load.acked();
    while load.acked() < at_end + 100 && !load.stopped() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let result = load.stop().await;
    assert!(
        result.failures.is_empty(),
        "no request failed or hung while the backup was taken: {:#?}\nserver log:\n{}",
        result.failures,
        server.log_tail()
    );
    let out = backed_up.expect("the backup succeeds");
    assert!(
        out.contains("site \"demo\": ") && out.contains("verified"),
        "the command verifies every site of the copy: {out}"
    );
    assert!(
        out.contains("the signing key is not in the copy"),
        "the command says the key is backed up separately: {out}"
    );
    let held_ms: u64 = out
        .split_once("writes waited ")
        .and_then(|(_, rest)| rest.split_once(" ms"))
        .and_then(|(ms, _)| ms.parse().ok())
        .unwrap_or_else(|| panic!("the command says how long writes waited: {out}"));

    let copied_bytes: u64 = out
        .split_once("copied ")
        .and_then(|(_, rest)| rest.split_once(" bytes"))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("the command says how much it copied: {out}"));

    // The copy, opened as a store by this build, with the deployment's key.
    let vkey = data.vkey();
    let store = SledStore::open(&copy, data.log_key()).expect("the copy opens as a store");
    let checked = verify_store(&store, "demo", &vkey).await.expect("verify");
    assert!(checked.is_ok(), "the copy verifies: {:?}", checked.problems);
    let mut in_copy: HashMap<String, u64> = HashMap::new();
    let mut rows = store.records("demo", None, None);
    let mut numbered = 0;
    while let Some(row) = rows.next().await {
        let ExportRow::Record(record) = row.expect("a record of the copy") else {
            panic!("nothing was erased");
        };
        numbered += 1;
        assert_eq!(
            record.record_id, numbered,
            "the copy numbers 1..=n, without a gap"
        );
        in_copy.insert(record.consent_id, record.record_id);
    }
    let mut before_backup = 0;
    for ack in &result.acks {
        if ack.at <= backup_started {
            before_backup += 1;
            assert_eq!(
                in_copy.get(&ack.consent_id),
                Some(&ack.record_id),
                "{} was acknowledged as record {} before the backup started",
                ack.consent_id,
                ack.record_id
            );
        }
    }
    assert!(before_backup as u64 >= before, "{before_backup} < {before}");

    // Its checkpoint is one the live log signed, and the live log extends it.
    let copied = store
        .checkpoint("demo")
        .await
        .expect("read")
        .expect("the copy has a checkpoint");
    let signed = note::open_checkpoint(&copied.text, &vkey).expect("signed by the log's key");
    assert_eq!(
        signed.size,
        numbered + 1,
        "the decisions and the revision leaf"
    );
    let live = reqwest::get(server.url(&format!(
        "/api/v1/sites/demo/log/checkpoints/{}",
        signed.size
    )))
    .await
    .expect("the live checkpoint of that size");
    assert_eq!(live.status(), 200);
    assert_eq!(live.text().await.expect("text"), copied.text);
    let latest = note::open_checkpoint(&server.checkpoint().await, &vkey).expect("signed");
    assert!(latest.size > signed.size, "the log went on after the copy");
    let proof = server.consistency_proof(signed.size, latest.size).await;
    merkle::verify_consistency(signed.size, latest.size, &signed.root, &latest.root, &proof)
        .expect("the live log extends the copy's checkpoint");
    store.shutdown().await;

    // How long writes waited: the answers to decisions sent while the backup ran.
    let during = result.acks.iter().filter(|a| {
        let sent = a.at.saturating_sub(a.latency);
        sent <= backup_ended && a.at >= backup_started
    });
    let (count, slowest) = during.fold((0, Duration::ZERO), |(n, max), a| {
        (n + 1, max.max(a.latency))
    });
    report(&format!(
        "backup: a copy at {numbered} decisions ({:.1} MB) held writes {held_ms} ms (the writer's figure); \
         {count} decisions answered during the `biscotte backup` run of {:.2} s, the slowest in \
         {slowest:?} (per-request timeout {REQUEST_TIMEOUT:?}); the log filled in {:.1} s; {}; \
         the test took {:.1} s",
        copied_bytes as f64 / 1e6,
        (backup_ended - backup_started).as_secs_f64(),
        backup_started.as_secs_f64(),
        result.figures(),
        test_started.elapsed().as_secs_f64()
    ));

    // A token of another role is refused, and leaves nothing behind.
    let refused_dir = data.path("refused");
    let auditor = data.auditor_token();
    let refused = data
        .cli(&[
            "backup",
            "--to",
            &refused_dir.to_string_lossy(),
            "--url",
            &server.base,
            "--token",
            &auditor,
        ])
        .expect_err("an auditor's token gets no backup");
    assert!(
        refused.contains("refused the backup (403 Forbidden)")
            && refused.contains("needs a token of role admin"),
        "{refused}"
    );
    assert!(
        std::fs::read_dir(&refused_dir).map_or(true, |mut d| d.next().is_none()),
        "a refused backup writes nothing"
    );
    server
        .stop(Duration::from_secs(15))
        .expect("the server stops on SIGTERM");
}

#[test]
fn a_backup_refuses_a_directory_that_is_not_empty_before_asking_the_server() {
    let data = DataDir::empty();
    let dir = data.path("taken");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("notes.txt"), "mine").expect("a file");
    // No server listens there: the refusal comes first.
    let refused = data
        .cli(&[
            "backup",
            "--to",
            &dir.to_string_lossy(),
            "--url",
            "http://127.0.0.1:9",
        ])
        .expect_err("a non-empty directory is refused");
    assert!(
        refused.contains("is not empty") && refused.contains("choose another --to"),
        "{refused}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).expect("still there"),
        "mine"
    );
    let remote = data
        .cli(&[
            "backup",
            "--to",
            &data.path("new").to_string_lossy(),
            "--url",
            "http://192.0.2.1:8080",
        ])
        .expect_err("only loopback");
    assert!(remote.contains("loopback"), "{remote}");
}

#[tokio::test]
async fn only_an_admin_token_gets_a_backup_and_a_cut_or_damaged_copy_is_refused_whole() {
    let app = TestApp::start().await;
    let url = app.url("/api/v1/admin/backup");
    let r = app.client.post(&url).send().await.expect("request");
    assert_eq!(r.status(), 401);
    let e: ErrorBody = r.json().await.expect("envelope");
    assert_eq!(e.error.code, "unauthorized");
    for role in [Role::Owner, Role::Auditor, Role::Recorder] {
        let r = app
            .client
            .post(&url)
            .bearer_auth(app.token(role, Some("demo")))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 403, "{role}");
        let e: ErrorBody = r.json().await.expect("envelope");
        assert_eq!(e.error.code, "forbidden", "{role}");
    }
    let r = app
        .client
        .get(&url)
        .bearer_auth(app.token(Role::Admin, None))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 405);

    let r = app
        .client
        .post(&url)
        .bearer_auth(app.token(Role::Admin, None))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);
    assert_eq!(
        crate::harness::header(&r, "content-type").as_deref(),
        Some("application/vnd.biscotte.backup-1")
    );
    let length: usize = crate::harness::header(&r, "content-length")
        .and_then(|l| l.parse().ok())
        .expect("a length");
    assert!(crate::harness::header(&r, "biscotte-held-writes-ms").is_some());
    let bytes = r.bytes().await.expect("the copy");
    assert_eq!(bytes.len(), length);
    assert!(bytes.starts_with(b"biscotte-backup-1\n"));

    // Whole, it restores into a store that opens and verifies, both sites.
    let dir = tempfile::tempdir().expect("tmp");
    let whole = dir.path().join("whole");
    let mut restore = SledRestore::begin(&whole).expect("begin");
    // In uneven pieces, as a network delivers them.
    for piece in bytes.chunks(1000) {
        restore.feed(piece).expect("a piece");
    }
    let restored = restore.finish().expect("the whole copy");
    assert_eq!(restored.bytes, length as u64);
    let key = LogKey::new(&app.config.public_name, app.signer.clone()).expect("key");
    let store = SledStore::open(&whole, key.clone()).expect("opens");
    for site in ["demo", "other"] {
        let checked = verify_store(&store, site, &key.vkey(site).expect("vkey"))
            .await
            .expect("verify");
        assert!(checked.is_ok(), "{site}: {:?}", checked.problems);
    }
    store.shutdown().await;

    // Cut short: refused at the end, whatever was written.
    let mut restore = SledRestore::begin(&dir.path().join("cut")).expect("begin");
    restore
        .feed(bytes.get(..length - 1).expect("all but one byte"))
        .expect("what came");
    let cut = restore.finish().expect_err("a cut copy");
    assert!(cut.to_string().contains("before its end"), "{cut}");

    // One byte changed in the middle: refused.
    let mut damaged = bytes.to_vec();
    damaged[length / 2] ^= 0x01;
    let mut restore = SledRestore::begin(&dir.path().join("damaged")).expect("begin");
    let refused = match restore.feed(&damaged) {
        Err(e) => e,
        Ok(()) => restore.finish().expect_err("a damaged copy"),
    };
    assert!(refused.to_string().contains("damaged"), "{refused}");

    // Not a backup at all.
    let mut restore = SledRestore::begin(&dir.path().join("other")).expect("begin");
    let e = restore
        .feed(b"{\"error\": \"not a backup\"}\n")
        .expect_err("not a backup");
    assert!(e.to_string().contains("not a Biscotte backup"), "{e}");
}
