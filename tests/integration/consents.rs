//! Recording decisions: durable, validated, with a receipt anyone can verify.

use crate::harness::{TestApp, decision};
use biscotte_server::auth::{ReceiptClaims, Role};
use biscotte_shared::Method;
use biscotte_shared::api::{ConsentResponse, ErrorBody};

const VISITOR: &str = "00112233445566778899aabbccddeeff";

#[tokio::test]
async fn a_decision_gets_a_201_and_a_receipt_that_verifies_with_the_published_key() {
    let app = TestApp::start().await;
    let rev = app.published("demo").await.revision;
    let before = biscotte_server::routes::now();
    let r = app
        .post_consent(
            "demo",
            &decision(rev.as_str(), VISITOR, Method::Custom, true),
        )
        .await;
    assert_eq!(r.status(), 201);
    let answer: ConsentResponse = r.json().await.expect("JSON");
    assert_eq!(answer.record_id, 1);
    assert!(
        answer.server_time >= before,
        "server time is stamped by the server"
    );

    let (key, validation) = app.receipt_key().await;
    let claims = app.receipt_claims(&answer.receipt).await;
    assert_eq!(claims.site, "demo");
    assert_eq!(claims.sub, VISITOR);
    assert_eq!(claims.revision, rev.as_str());
    assert_eq!(claims.method, "custom");
    assert_eq!(claims.categories.get("analytics"), Some(&true));
    assert_eq!(
        claims.categories.len(),
        1,
        "only the purposes the site pursues: {:?}",
        claims.categories
    );
    assert_eq!(
        claims.services.get("google_analytics"),
        Some(&true),
        "services follow their category"
    );
    assert_eq!(claims.iat, answer.server_time.as_secs());

    // A receipt altered by one character no longer verifies.
    let mut forged = answer.receipt.clone();
    let last = forged.pop().expect("non-empty");
    forged.push(if last == 'A' { 'B' } else { 'A' });
    assert!(jsonwebtoken::decode::<ReceiptClaims>(&forged, &key, &validation).is_err());

    // The receipt is not an API token.
    let export = app.export("demo", "", Some(&answer.receipt)).await;
    assert_eq!(export.status(), 401);
}

async fn error_of(r: reqwest::Response) -> (u16, ErrorBody) {
    let status = r.status().as_u16();
    (status, r.json().await.expect("error envelope"))
}

#[tokio::test]
async fn an_invalid_decision_is_a_400_that_names_the_field_and_nothing_is_logged() {
    let app = TestApp::start().await;
    let rev = app.published("demo").await.revision;
    let mut body = decision(rev.as_str(), VISITOR, Method::Custom, true);
    body["categories"]["necessary"] = false.into();
    let (status, e) = error_of(app.post_consent("demo", &body).await).await;
    assert_eq!(
        (status, e.error.field.as_deref()),
        (400, Some("categories.necessary"))
    );
    assert!(
        e.error.message.contains("cannot be refused"),
        "{}",
        e.error.message
    );

    let mut body = decision(rev.as_str(), VISITOR, Method::AcceptAll, true);
    body["categories"]["newsletter"] = true.into();
    let (status, e) = error_of(app.post_consent("demo", &body).await).await;
    assert_eq!(
        (status, e.error.field.as_deref()),
        (400, Some("categories.newsletter"))
    );

    let (status, e) = error_of(
        app.post_consent("demo", &decision("0123", VISITOR, Method::RejectAll, false))
            .await,
    )
    .await;
    assert_eq!((status, e.error.field.as_deref()), (400, Some("revision")));

    let mut body = decision(rev.as_str(), VISITOR, Method::RejectAll, false);
    body.as_object_mut().expect("object").remove("language");
    let (status, e) = error_of(app.post_consent("demo", &body).await).await;
    assert_eq!(
        (status, e.error.field.as_deref()),
        (400, Some("language")),
        "{}",
        e.error.message
    );

    let token = app.token(Role::Auditor, Some("demo"));
    let csv = app
        .export("demo", "", Some(&token))
        .await
        .text()
        .await
        .expect("text");
    assert_eq!(csv.lines().count(), 1, "only the header: {csv}");
}

#[tokio::test]
async fn an_unknown_site_is_a_404() {
    let app = TestApp::start().await;
    let rev = app.published("demo").await.revision;
    let (status, e) = error_of(
        app.post_consent(
            "nope",
            &decision(rev.as_str(), VISITOR, Method::RejectAll, false),
        )
        .await,
    )
    .await;
    assert_eq!((status, e.error.code.as_str()), (404, "unknown_site"));
    let r = app
        .client
        .get(app.url("/api/v1/sites/nope/config"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn the_config_carries_its_revision_as_etag_and_answers_304_when_unchanged() {
    let app = TestApp::start().await;
    let r = app
        .client
        .get(app.url("/api/v1/sites/demo/config"))
        .send()
        .await
        .expect("request");
    let etag = r
        .headers()
        .get("etag")
        .expect("etag")
        .to_str()
        .expect("ascii")
        .to_owned();
    let published: biscotte_shared::api::PublishedConfig = r.json().await.expect("JSON");
    assert_eq!(etag, format!("\"{}\"", published.revision));
    let r = app
        .client
        .get(app.url("/api/v1/sites/demo/config"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 304);
}

#[tokio::test]
async fn decisions_from_an_unregistered_origin_are_refused_and_registered_ones_get_cors() {
    let app = TestApp::start().await;
    let rev = app.published("demo").await.revision;
    let body = decision(rev.as_str(), VISITOR, Method::RejectAll, false);
    let url = app.url("/api/v1/sites/demo/consents");
    let r = app
        .client
        .post(&url)
        .header("Origin", "http://127.0.0.9:1234")
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 403);
    let r = app
        .client
        .post(&url)
        .header("Origin", "http://127.0.0.1:8080")
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 201);
    assert_eq!(
        r.headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().ok()),
        Some(Some("http://127.0.0.1:8080"))
    );
    let pre = app
        .client
        .request(reqwest::Method::OPTIONS, &url)
        .header("Origin", "http://127.0.0.1:8080")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .expect("preflight");
    assert_eq!(pre.status(), 204);
    assert!(pre.headers().get("access-control-allow-headers").is_some());
}
