//! The decision methods of the complete banner (`gpc`, `embed`) and the cookies a refusal could
//! not delete: recorded, hashed, exported, receipted; and logs written before them still verify.

use crate::harness::{TestApp, decision};
use biscotte_server::auth::Role;
use biscotte_shared::Method;
use biscotte_shared::api::ConsentResponse;
use serde_json::Value;

const VISITOR: &str = "00112233445566778899aabbccddeeff";

async fn csv(app: &TestApp) -> Vec<String> {
    let token = app.token(Role::Auditor, Some("demo"));
    let text = app
        .export("demo", "?format=csv", Some(&token))
        .await
        .text()
        .await
        .expect("text");
    text.lines().map(str::to_owned).collect()
}

#[tokio::test]
async fn r37_gpc_and_embed_decisions_are_recorded_receipted_and_exported() {
    let app = TestApp::start().await;
    let rev = app.published("demo").await.revision;
    // The browser's Global Privacy Control: everything optional refused.
    let r = app
        .post_consent("demo", &decision(rev.as_str(), VISITOR, Method::Gpc, false))
        .await;
    assert_eq!(r.status(), 201);
    let gpc: ConsentResponse = r.json().await.expect("JSON");
    assert_eq!(app.receipt_claims(&gpc.receipt).await.method, "gpc");
    // Then the visitor allows one embed's service from its placeholder.
    let mut body = decision(rev.as_str(), VISITOR, Method::Embed, false);
    body["services"]["hotjar"] = true.into();
    let r = app.post_consent("demo", &body).await;
    assert_eq!(r.status(), 201);
    let embed: ConsentResponse = r.json().await.expect("JSON");
    let claims = app.receipt_claims(&embed.receipt).await;
    assert_eq!(claims.method, "embed");
    assert_eq!(claims.services.get("hotjar"), Some(&true));
    assert_eq!(claims.services.get("google_analytics"), Some(&false));

    let records = app.records("demo").await;
    let methods: Vec<Method> = records.iter().map(|r| r.method).collect();
    assert_eq!(methods, [Method::Gpc, Method::Embed]);
    app.assert_log_verifies("demo", 2).await;
    let lines = csv(&app).await;
    assert!(
        lines[1].contains(",gpc,,analytics,,google_analytics hotjar,"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].contains(",embed,,analytics,hotjar,google_analytics,"),
        "{}",
        lines[2]
    );
}

#[tokio::test]
async fn a_gpc_decision_that_accepts_something_or_an_embed_that_allows_nothing_is_refused() {
    let app = TestApp::start().await;
    let rev = app.published("demo").await.revision;
    for method in [Method::Gpc, Method::Embed] {
        let mut body = decision(rev.as_str(), VISITOR, method, false);
        if method == Method::Gpc {
            body["categories"]["analytics"] = true.into();
        }
        let r = app.post_consent("demo", &body).await;
        assert_eq!(r.status(), 400);
        let e: Value = r.json().await.expect("envelope");
        assert_eq!(e["error"]["field"], "method");
        let message = e["error"]["message"].as_str().expect("message");
        let expected = match method {
            Method::Gpc => "send the visitor's own choice from the panel as \"custom\"",
            _ => "send that service as true",
        };
        assert!(message.contains(expected), "{message}");
    }
    assert!(app.records("demo").await.is_empty());
}

#[tokio::test]
async fn r25_undeleted_cookies_are_stored_covered_by_the_hash_and_exported() {
    let app = TestApp::start().await;
    let rev = app.published("demo").await.revision;
    let mut body = decision(rev.as_str(), VISITOR, Method::RejectAll, false);
    // Sent unsorted and with a repeat: kept as a set.
    body["undeleted_cookies"] = serde_json::json!(["_hjSession_42", "_ga", "_ga"]);
    let r = app.post_consent("demo", &body).await;
    assert_eq!(r.status(), 201);

    let records = app.records("demo").await;
    assert_eq!(records[0].undeleted_cookies, ["_ga", "_hjSession_42"]);
    app.assert_log_verifies("demo", 1).await;
    // The names are in the leaf's bytes: a bundle whose record drops one no longer verifies.
    let bundle = app.bundle("demo", "").await;
    let index = records[0].leaf_index;
    let tampered = crate::harness::edit_leaf_line(&bundle, index, |line| {
        line["record"]["undeleted_cookies"] = serde_json::json!(["_ga"]);
    });
    let report = crate::harness::verify_bundle(&tampered, &app.vkey("demo"), None);
    assert_eq!(
        report.problems.iter().map(|p| p.index).collect::<Vec<_>>(),
        [Some(index)],
        "{:?}",
        report.problems
    );
    let lines = csv(&app).await;
    let header: Vec<&str> = lines[0].split(',').collect();
    let row: Vec<&str> = lines[1].split(',').collect();
    let column = header
        .iter()
        .position(|h| *h == "undeleted_cookies")
        .expect("a column");
    assert_eq!(row[column], "_ga _hjSession_42");

    // A cookie no refused service declares, or a name no browser shows, is refused.
    for (names, expected) in [
        (
            serde_json::json!(["_fbp"]),
            "not a declared cookie of a service this decision refuses",
        ),
        (serde_json::json!(["a b"]), "is not a cookie name"),
        (serde_json::json!(vec!["_ga"; 65]), "at most 64"),
    ] {
        let mut body = decision(rev.as_str(), VISITOR, Method::RejectAll, false);
        body["undeleted_cookies"] = names;
        let r = app.post_consent("demo", &body).await;
        assert_eq!(r.status(), 400);
        let e: Value = r.json().await.expect("envelope");
        assert_eq!(e["error"]["field"], "undeleted_cookies");
        assert!(
            e["error"]["message"]
                .as_str()
                .expect("message")
                .contains(expected),
            "{e}"
        );
    }
    // The accepted services' cookies are not "undeleted": nothing tried to delete them.
    let mut body = decision(rev.as_str(), VISITOR, Method::AcceptAll, true);
    body["undeleted_cookies"] = serde_json::json!(["_ga"]);
    assert_eq!(app.post_consent("demo", &body).await.status(), 400);
    assert_eq!(app.records("demo").await.len(), 1);
}

/// A site's log as the server wrote it before `undeleted_cookies`, `gpc` and `embed` existed.
const LOG_BEFORE_ISSUE_7: &str =
    include_str!("../../shared/tests/fixtures/log-before-issue-7.ndjson");

#[test]
fn a_log_written_before_undeleted_cookies_existed_still_hashes_as_it_did_byte_for_byte() {
    use biscotte_shared::leaf::{LegacyLeaf, LegacyRecord};
    let records: Vec<LegacyRecord> = LOG_BEFORE_ISSUE_7
        .lines()
        .map(|l| serde_json::from_str(l).expect("a stored record"))
        .collect();
    let mut prev = "0".repeat(64);
    for r in &records {
        assert_eq!(
            r.prev_hash, prev,
            "record {} follows the one before",
            r.record_id
        );
        prev = r.hash.clone();
        LegacyLeaf::from_stored(r.clone()).expect("each record matches its own hash");
    }
    assert_eq!(
        records[2].hash,
        "a2b0f24ff08c02174bc25193659754a2e1461bb54471cb8a87f3b18fa77381e0"
    );
    let exported: String = records
        .iter()
        .map(|r| format!("{}\n", serde_json::to_string(r).expect("JSON")))
        .collect();
    assert_eq!(
        exported, LOG_BEFORE_ISSUE_7,
        "read and written back as stored"
    );
}
