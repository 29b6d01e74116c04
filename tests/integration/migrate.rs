//! `biscotte migrate --to postgres://…`: a sled store that served decisions, a second
//! publication and a retention pass is copied into an empty PostgreSQL database, proven
//! identical, and served from there by the same key.

use crate::harness::{decision, demo_site_file};
use crate::pg;
use crate::process::{DataDir, ORIGIN, http_client};
use biscotte_shared::Method;
use biscotte_shared::api::ConsentResponse;

async fn post(
    server: &crate::process::Server,
    consent_id: &str,
    method: Method,
) -> ConsentResponse {
    let revision = server.revision().await;
    let r = http_client()
        .post(server.url("/api/v1/sites/demo/consents"))
        .header("Origin", ORIGIN)
        .json(&decision(
            &revision,
            consent_id,
            method,
            method == Method::AcceptAll,
        ))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 201);
    r.json().await.expect("receipt")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sled_store_is_copied_into_postgres_proven_identical_and_served_from_there() {
    let data = DataDir::with_demo_site();
    let token = data.auditor_token();
    let (before, receipts) = {
        let server = data.start();
        let mut receipts = Vec::new();
        for n in 0..300u32 {
            let method = if n % 3 == 0 {
                Method::RejectAll
            } else {
                Method::AcceptAll
            };
            receipts.push(post(&server, &format!("{n:032x}"), method).await);
        }
        // A second revision goes live: its leaf is in the log, both revisions in the store.
        let mut file = demo_site_file();
        file.consent.policy_version = format!("{}-b", file.consent.policy_version);
        let owner = data
            .cli(&["token", "issue", "--role", "owner", "--site", "demo"])
            .expect("token");
        let published = http_client()
            .post(server.url("/api/v1/sites/demo/revisions"))
            .bearer_auth(owner.trim())
            .json(&file)
            .send()
            .await
            .expect("publish");
        assert!(published.status().is_success());
        receipts.push(post(&server, &format!("{:032x}", 1000), Method::AcceptAll).await);
        (server.export(&token).await, receipts)
    };
    // Retention erases the first decisions' content (their hashes stay): the copy keeps that.
    data.cli(&["retention", "--now", "2200-01-01"])
        .expect("retention");
    let url = pg::fresh_database("migrate");
    let out = data
        .cli(&["migrate", "--to", &url])
        .expect("the copy is proven");
    assert!(
        out.contains("every leaf, tile, checkpoint and revision of the copy verifies"),
        "{out}"
    );
    assert!(out.contains("identical in the copy"), "{out}");
    // The password is never printed.
    if let Some(password) = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map(|(_, password)| password)
    {
        assert!(!out.contains(password), "{out}");
    }

    // Again: the database holds the site now, and nothing is copied twice.
    let refused = data.cli(&["migrate", "--to", &url]).expect_err("refused");
    assert!(
        refused.contains("already holds site(s) [\"demo\"]"),
        "{refused}"
    );

    // Served from PostgreSQL with the same key: the old receipts' leaves are there (erased
    // ones as such), and new decisions extend the copied log.
    let on_pg = DataDir::on_postgres(&url);
    std::fs::create_dir_all(on_pg.store()).expect("dir");
    std::fs::copy(
        data.store().join("signing-key.pem"),
        on_pg.store().join("signing-key.pem"),
    )
    .expect("the deployment's key");
    let server = on_pg.start();
    let last = post(&server, &format!("{:032x}", 2000), Method::AcceptAll).await;
    assert_eq!(
        last.record_id,
        receipts.last().expect("receipts").record_id + 1,
        "numbering goes on"
    );
    // The export shows what retention left of the erased decisions, then the rest.
    let after = http_client()
        .get(server.url("/api/v1/sites/demo/consents?format=ndjson"))
        .bearer_auth(on_pg.auditor_token())
        .send()
        .await
        .expect("export")
        .text()
        .await
        .expect("text");
    let after: Vec<serde_json::Value> = after
        .lines()
        .map(|l| serde_json::from_str(l).expect("an NDJSON line"))
        .collect();
    assert_eq!(after.len(), before.len() + 1);
    assert!(
        after
            .iter()
            .take(300)
            .all(|r| r.get("consent_id").is_none()),
        "the decisions retention erased stay erased in the copy"
    );
    drop(server);
    assert_eq!(
        on_pg.verify(),
        after.len() as u64,
        "`biscotte verify` on the copy"
    );
}
