//! Upgrading from the previous release: the store that b978f15's own binary wrote
//! (`tests/fixtures/store-b978f15`, made by `tests/fixtures/make-store-b978f15.sh`: two
//! revisions, seven decisions, the first two erased by retention) opens in this build, which
//! serves its banner, verifies it, exports it as that release did, still verifies the receipts
//! that release gave its visitors, and extends the checkpoints it signed.

use crate::harness::repo_path;
use crate::process::DataDir;
use biscotte_shared::api::ConsentResponse;
use biscotte_shared::audit::verify_receipt;
use biscotte_shared::note::{self, VerifierKey};
use biscotte_shared::{Method, merkle};
use std::time::Duration;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(repo_path(&format!("tests/fixtures/{name}"))).expect("a fixture file")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_written_by_b978f15_serves_verifies_keeps_its_receipts_and_its_log_goes_on() {
    let data = DataDir::from_fixture("store-b978f15", "store-b978f15-key.pem");
    let vkey = VerifierKey::parse(fixture("store-b978f15-demo.vkey").trim()).expect("a vkey");
    assert_eq!(
        data.vkey(),
        vkey,
        "the key file names the log as that release did"
    );
    let verified = data
        .cli(&["verify", "--site", "demo"])
        .expect("the stored log verifies before any start");
    assert!(
        verified.contains("9 leaves (7 decisions, 2 erased by retention; 2 revisions)"),
        "{verified}"
    );

    let mut server = data.start();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let old: Vec<ConsentResponse> = fixture("store-b978f15-answers.ndjson")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a 201 answer"))
        .collect();
    let exported = fixture("store-b978f15-demo.ndjson");
    // Record 5 was the first decision under the second revision.
    let live_revision = exported_revision(&exported, 5);

    // The banner, from the second revision.
    assert_eq!(server.revision().await, live_revision);
    let banner = http
        .get(server.url("/api/v1/sites/demo/banner?lang=en"))
        .send()
        .await
        .expect("banner");
    assert_eq!(banner.status(), 200);
    let projection = banner.text().await.expect("text");
    assert!(
        projection.starts_with(biscotte_shared::projection::FORMAT)
            && projection.contains(&live_revision),
        "{projection}"
    );

    // The log exports as that release exported it, erased decisions included.
    let token = data.auditor_token();
    let now = http
        .get(server.url("/api/v1/sites/demo/consents?format=ndjson"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("export")
        .text()
        .await
        .expect("text");
    assert_eq!(now, exported);

    // Every receipt that release gave still verifies, and the log still serves its checkpoint.
    for (line, answer) in fixture("store-b978f15-answers.ndjson").lines().zip(&old) {
        let checked = verify_receipt(line, &vkey)
            .unwrap_or_else(|e| panic!("record {}: {e}", answer.record_id));
        assert!(checked.jwt_checked && checked.index == answer.leaf_index);
        let proof = note::TlogProof::parse(&answer.proof).expect("a tlog-proof");
        let size = note::open_checkpoint(&proof.checkpoint, &vkey)
            .expect("signed")
            .size;
        let kept = http
            .get(server.url(&format!("/api/v1/sites/demo/log/checkpoints/{size}")))
            .send()
            .await
            .expect("checkpoint")
            .text()
            .await
            .expect("text");
        assert_eq!(kept, proof.checkpoint, "the checkpoint of {size} leaves");
    }

    // New decisions go on from record 8, and extend every checkpoint that release signed.
    for (n, method) in [
        (8u64, Method::AcceptAll),
        (9, Method::RejectAll),
        (10, Method::Gpc),
    ] {
        let consent_id = format!("0b978f15{n:024x}");
        let body = crate::harness::decision(&live_revision, &consent_id, method, true);
        let r = http
            .post(server.url("/api/v1/sites/demo/consents"))
            .header("Origin", crate::process::ORIGIN)
            .json(&body)
            .send()
            .await
            .expect("decision");
        assert_eq!(r.status(), 201);
        let answer: ConsentResponse = r.json().await.expect("answer");
        assert_eq!(answer.record_id, n);
        verify_receipt(&serde_json::to_string(&answer).expect("JSON"), &vkey)
            .expect("the new receipt verifies with the same key");
    }
    let latest = note::open_checkpoint(&server.checkpoint().await, &vkey).expect("signed");
    assert_eq!(latest.size, 12, "nine leaves then three decisions");
    for answer in &old {
        let proof = note::TlogProof::parse(&answer.proof).expect("a tlog-proof");
        let cp = note::open_checkpoint(&proof.checkpoint, &vkey).expect("signed");
        let hashes = server.consistency_proof(cp.size, latest.size).await;
        merkle::verify_consistency(cp.size, latest.size, &cp.root, &latest.root, &hashes)
            .unwrap_or_else(|e| {
                panic!("the checkpoint of {} leaves is not extended: {e}", cp.size)
            });
    }

    // The decision id of a decision retention erased stays taken.
    let erased = serde_json::json!({
        "consent_id": "b978f150000000000000000000000001", "revision": exported_revision(&exported, 3),
        "method": "accept_all", "categories": {"analytics": true}, "services": {}, "language": "fr",
        "decision_id": "d978f150000000000000000000000001"
    });
    let r = http
        .post(server.url("/api/v1/sites/demo/consents"))
        .header("Origin", crate::process::ORIGIN)
        .json(&erased)
        .send()
        .await
        .expect("retry");
    assert_eq!(r.status(), 409);
    server
        .stop(Duration::from_secs(15))
        .expect("the server stops on SIGTERM");
    assert_eq!(
        data.verify(),
        10,
        "`biscotte verify` counts the old and new decisions"
    );
}

/// The revision record `record_id` of an NDJSON export names.
fn exported_revision(export: &str, record_id: u64) -> String {
    export
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|r| r["record_id"] == record_id)
        .and_then(|r| r["revision"].as_str().map(str::to_owned))
        .expect("the record's revision")
}
