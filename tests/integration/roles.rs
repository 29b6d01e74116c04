//! Tokens and roles: expiry without a minute's grace, the `Bearer` scheme in any case, and the
//! narrow `recorder` role that may only record decisions for its site.

use crate::harness::{TestApp, demo_site_file, repo_path};
use actix_web::{FromRequest, ResponseError, test::TestRequest, web};
use biscotte_server::app::AppState;
use biscotte_server::auth::Role;
use biscotte_server::config::Config;
use biscotte_server::routes::roles::MaybeRecorder;

fn now_secs() -> i64 {
    biscotte_server::routes::now().as_secs()
}

#[tokio::test]
async fn a_token_expired_ten_seconds_ago_is_refused() {
    let app = TestApp::start().await;
    // Issued a day and ten seconds ago for one day: it expired ten seconds ago.
    let expired = app
        .signer
        .issue_token(Role::Auditor, Some("demo"), now_secs() - 86_400 - 10, 1)
        .expect("token");
    let r = app.export("demo", "", Some(&expired)).await;
    assert_eq!(r.status(), 401);
    let body = r.text().await.expect("body");
    assert!(body.contains("ExpiredSignature"), "{body}");

    let fresh = app.token(Role::Auditor, Some("demo"));
    assert_eq!(app.export("demo", "", Some(&fresh)).await.status(), 200);
}

#[tokio::test]
async fn the_bearer_scheme_is_matched_in_any_case() {
    let app = TestApp::start().await;
    let token = app.token(Role::Auditor, Some("demo"));
    for header in [
        format!("Bearer {token}"),
        format!("bearer {token}"),
        format!("BEARER {token}"),
        format!("bEaReR   {token}"),
    ] {
        let r = app
            .client
            .get(app.url("/api/v1/sites/demo/consents"))
            .header("Authorization", &header)
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 200, "{header:.12}…");
    }
    for header in [format!("Basic {token}"), "Bearer".to_owned(), token.clone()] {
        let r = app
            .client
            .get(app.url("/api/v1/sites/demo/consents"))
            .header("Authorization", &header)
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 401, "{header:.12}…");
    }
}

#[tokio::test]
async fn a_recorder_token_can_neither_export_nor_publish() {
    let app = TestApp::start().await;
    let recorder = app.token(Role::Recorder, Some("demo"));
    assert_eq!(app.export("demo", "", Some(&recorder)).await.status(), 403);
    let r = app
        .client
        .post(app.url("/api/v1/sites/demo/revisions"))
        .bearer_auth(&recorder)
        .json(&demo_site_file())
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 403);
    let mut file = demo_site_file();
    file.site.id = "third".into();
    let r = app
        .client
        .post(app.url("/api/v1/sites"))
        .bearer_auth(&recorder)
        .json(&file)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 403);
}

/// What the decision route's `MaybeRecorder` extractor makes of a request to site `demo` with
/// this `Authorization` header: the status of its refusal, or the role it let through.
async fn recorder_of(authorization: Option<&str>) -> Result<Option<Role>, u16> {
    let dir = tempfile::tempdir().expect("tmp");
    let mut config = Config::with_data_dir(dir.path().join("store"));
    config.key_path = dir.path().join("key.pem");
    config.www_dir = repo_path("www");
    let state = AppState::open(&config).expect("state");
    let now = now_secs();
    let token = |role, site| {
        state
            .signer
            .issue_token(role, Some(site), now, 1)
            .expect("token")
    };
    let header = authorization.map(|h| {
        h.replace("{recorder}", &token(Role::Recorder, "demo"))
            .replace("{recorder of other}", &token(Role::Recorder, "other"))
            .replace("{auditor}", &token(Role::Auditor, "demo"))
            .replace("{owner}", &token(Role::Owner, "demo"))
    });
    let mut req = TestRequest::post()
        .uri("/api/v1/sites/demo/consents")
        .param("site", "demo")
        .app_data(web::Data::new(state));
    if let Some(h) = header {
        req = req.insert_header(("Authorization", h));
    }
    match MaybeRecorder::extract(&req.to_http_request()).await {
        Ok(MaybeRecorder(claims)) => Ok(claims.map(|c| c.role)),
        Err(e) => Err(e.status_code().as_u16()),
    }
}

#[tokio::test]
async fn a_decision_without_a_token_is_a_browsers_and_any_token_must_be_the_sites_recorder() {
    assert_eq!(recorder_of(None).await, Ok(None));
    assert_eq!(
        recorder_of(Some("Bearer {recorder}")).await,
        Ok(Some(Role::Recorder))
    );
    assert_eq!(
        recorder_of(Some("bearer {recorder}")).await,
        Ok(Some(Role::Recorder))
    );
    // A token is never ignored: a wrong one is refused rather than treated as a browser.
    assert_eq!(recorder_of(Some("Bearer {auditor}")).await, Err(403));
    assert_eq!(recorder_of(Some("Bearer {owner}")).await, Err(403));
    assert_eq!(
        recorder_of(Some("Bearer {recorder of other}")).await,
        Err(403)
    );
    assert_eq!(recorder_of(Some("Bearer not-a-token")).await, Err(401));
    assert_eq!(recorder_of(Some("Basic {recorder}")).await, Err(401));
}
