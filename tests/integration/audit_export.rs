//! The auditor's export: token-guarded, streamed, every decision with server time, hash-chained.

use crate::harness::{TestApp, decision};
use biscotte_server::auth::Role;
use biscotte_shared::Method;
use biscotte_shared::api::{ConsentRecord, ConsentResponse};

#[tokio::test]
async fn every_decision_is_in_the_export_with_server_time_and_an_intact_chain() {
    let app = TestApp::start().await;
    let rev = app.published("demo").await.revision;
    let mut answers = Vec::new();
    for (i, method) in [
        Method::AcceptAll,
        Method::RejectAll,
        Method::Close,
        Method::Custom,
    ]
    .into_iter()
    .enumerate()
    {
        let id = format!("{i:032x}");
        let r = app
            .post_consent("demo", &decision(rev.as_str(), &id, method, true))
            .await;
        assert_eq!(r.status(), 201);
        answers.push(r.json::<ConsentResponse>().await.expect("JSON"));
    }
    let token = app.token(Role::Auditor, Some("demo"));

    let ndjson = app.export("demo", "?format=ndjson", Some(&token)).await;
    assert_eq!(ndjson.status(), 200);
    assert_eq!(ndjson.headers()["content-type"], "application/x-ndjson");
    let records: Vec<ConsentRecord> = ndjson
        .text()
        .await
        .expect("text")
        .lines()
        .map(|l| serde_json::from_str(l).expect("record"))
        .collect();
    assert_eq!(records.len(), 4);
    let methods: Vec<Method> = records.iter().map(|r| r.method).collect();
    assert_eq!(
        methods,
        [
            Method::AcceptAll,
            Method::RejectAll,
            Method::Close,
            Method::Custom
        ]
    );
    for (record, answer) in records.iter().zip(&answers) {
        assert_eq!(record.server_time, answer.server_time);
        assert_eq!(record.revision, rev);
        assert_eq!(
            record.url.as_deref(),
            Some("http://127.0.0.1:8080/demo/"),
            "query and fragment are not kept"
        );
    }
    assert_eq!(records[3].categories.get("analytics"), Some(&true));
    assert_eq!(
        records[2].categories.values().filter(|v| **v).count(),
        0,
        "closing is a refusal"
    );
    app.assert_log_verifies("demo", 4).await;

    let csv = app
        .export("demo", "?format=csv", Some(&token))
        .await
        .text()
        .await
        .expect("text");
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with(
        "leaf_index,record_id,status,server_time,site,consent_id,method,accepted_categories"
    ));
    assert_eq!(lines.len(), 5);
    assert!(
        lines[1].contains(",accept_all,analytics,,google_analytics hotjar,,"),
        "{}",
        lines[1]
    );
    assert!(
        lines[3].contains(",close,,analytics,,google_analytics hotjar,"),
        "{}",
        lines[3]
    );
    let stamp = biscotte_server::export::rfc3339(answers[0].server_time);
    assert!(
        lines[1].contains(&stamp),
        "{} should carry {stamp}",
        lines[1]
    );
}

#[tokio::test]
async fn the_export_period_keeps_only_decisions_inside_it() {
    let app = TestApp::start().await;
    let rev = app.published("demo").await.revision;
    let r = app
        .post_consent(
            "demo",
            &decision(
                rev.as_str(),
                &format!("{:032x}", 7),
                Method::AcceptAll,
                true,
            ),
        )
        .await;
    let t = r.json::<ConsentResponse>().await.expect("JSON").server_time;
    let token = app.token(Role::Auditor, Some("demo"));
    let at = |ms: i64| biscotte_server::export::rfc3339(t.plus_millis(ms));
    let count = |body: String| body.lines().count() - 1;
    let inside = app
        .export(
            "demo",
            &format!("?from={}&to={}", at(0), at(1)),
            Some(&token),
        )
        .await;
    assert_eq!(count(inside.text().await.expect("text")), 1);
    let after = app
        .export("demo", &format!("?from={}", at(1)), Some(&token))
        .await;
    assert_eq!(count(after.text().await.expect("text")), 0);
    let bad = app.export("demo", "?from=yesterday", Some(&token)).await;
    assert_eq!(bad.status(), 400);
    assert!(
        bad.text()
            .await
            .expect("text")
            .contains("\"field\":\"from\"")
    );
}

#[tokio::test]
async fn the_export_needs_an_auditor_token_for_that_very_site() {
    let app = TestApp::start().await;
    assert_eq!(app.export("demo", "", None).await.status(), 401);
    assert_eq!(
        app.export("demo", "", Some("not-a-jwt")).await.status(),
        401
    );
    let other = app.token(Role::Auditor, Some("other"));
    assert_eq!(app.export("demo", "", Some(&other)).await.status(), 403);
    let owner = app.token(Role::Owner, Some("demo"));
    assert_eq!(app.export("demo", "", Some(&owner)).await.status(), 403);
    let own = app.token(Role::Auditor, Some("demo"));
    assert_eq!(app.export("demo", "", Some(&own)).await.status(), 200);
    // A token signed by another server's key is refused.
    let stranger = biscotte_server::auth::Signer::load_or_create(
        &app.config.data_dir.with_file_name("other-key.pem"),
    )
    .expect("key");
    let forged = stranger
        .issue_token(
            Role::Auditor,
            Some("demo"),
            biscotte_server::routes::now().as_secs(),
            1,
        )
        .expect("token");
    assert_eq!(app.export("demo", "", Some(&forged)).await.status(), 401);
}
