//! Abuse: floods meet a per-client rate limit, and forged headers win nothing.

use crate::harness::{PAGE_ORIGIN, TestApp, decision};
use biscotte_server::auth::Role;
use biscotte_shared::Method;
use biscotte_shared::api::ErrorBody;

const VISITOR: &str = "00112233445566778899aabbccddeeff";

#[tokio::test]
async fn a_flood_from_one_client_gets_429_with_retry_after_readable_cross_origin_and_a_visitors_burst_passes()
 {
    let app = TestApp::start_with(|c| c.rate_limit_per_minute = 20).await;
    let rev = app.published("demo").await.revision;
    let body = decision(rev.as_str(), VISITOR, Method::AcceptAll, true);
    // A visitor's burst: the config, then a few decisions.
    let _ = app.published("demo").await;
    for _ in 0..5 {
        assert_eq!(app.post_consent("demo", &body).await.status(), 201);
    }
    let mut limited = None;
    for _ in 0..200 {
        let r = app.post_consent("demo", &body).await;
        if r.status() == 429 {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status(), 201);
    }
    let r = limited.expect("the flood is stopped");
    let wait: u64 = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    // A banner on the registered origin can read the refusal and its delay.
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(
        header("access-control-allow-origin").as_deref(),
        Some(PAGE_ORIGIN)
    );
    assert_eq!(
        header("access-control-expose-headers").as_deref(),
        Some("Retry-After")
    );
    let e: ErrorBody = r.json().await.expect("JSON envelope");
    assert_eq!(e.error.code, "rate_limited");
    assert!(e.error.message.contains("retry in"), "{}", e.error.message);
    // A server-side integration speaks for many visitors: its token is checked, not its pace.
    let recorder = app.token(Role::Recorder, Some("demo"));
    let r = app
        .client
        .post(app.url("/api/v1/sites/demo/consents"))
        .bearer_auth(&recorder)
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 201);
    assert!(
        app.records("demo").await.len() <= 21,
        "a flood is not stored beyond the allowance"
    );
}

#[tokio::test]
async fn forwarding_headers_from_an_untrusted_peer_do_not_make_a_foreign_origin_same_origin() {
    let app = TestApp::start().await;
    let rev = app.published("demo").await.revision;
    let body = decision(rev.as_str(), VISITOR, Method::RejectAll, false);
    let foreign = "http://evil.example";
    for (name, value) in [
        ("Host", "evil.example"),
        ("X-Forwarded-Host", "evil.example"),
        ("Forwarded", "host=evil.example;proto=http"),
    ] {
        let r = app
            .client
            .post(app.url("/api/v1/sites/demo/consents"))
            .header("Origin", foreign)
            .header(name, value)
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 403, "{name}: {value}");
        assert!(
            r.headers().get("access-control-allow-origin").is_none(),
            "{name}: no CORS echo"
        );
    }
    assert_eq!(app.records("demo").await.len(), 0, "nothing stored");
}

#[tokio::test]
async fn a_decision_without_an_origin_is_refused_with_the_fix() {
    let app = TestApp::start().await;
    let rev = app.published("demo").await.revision;
    let r = app
        .client
        .post(app.url("/api/v1/sites/demo/consents"))
        .json(&decision(rev.as_str(), VISITOR, Method::RejectAll, false))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 403);
    let e: ErrorBody = r.json().await.expect("JSON envelope");
    assert!(
        e.error.message.contains("[site].origins"),
        "{}",
        e.error.message
    );
    assert_eq!(app.records("demo").await.len(), 0);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_allowance() {
    let app = TestApp::start_with(|c| {
        c.rate_limit_per_minute = 5;
        c.trusted_proxies = vec!["127.0.0.0/8".parse().expect("CIDR")];
    })
    .await;
    let rev = app.published("demo").await.revision;
    let body = decision(rev.as_str(), VISITOR, Method::AcceptAll, true);
    let post = |client: &'static str| {
        app.client
            .post(app.url("/api/v1/sites/demo/consents"))
            .header("Origin", PAGE_ORIGIN)
            // The client may prepend anything; the proxy appends the address it saw.
            .header("X-Forwarded-For", format!("10.9.9.9, {client}"))
            .json(&body)
            .send()
    };
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(post("192.0.2.1").await.expect("request").status().as_u16());
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert_eq!(
        post("192.0.2.2").await.expect("request").status(),
        201,
        "another client is not limited"
    );
}

#[tokio::test]
async fn with_the_limit_off_a_burst_is_never_refused() {
    let app = TestApp::start_with(|c| c.rate_limit_per_minute = 0).await;
    for _ in 0..300 {
        let r = app
            .client
            .get(app.url("/api/v1/health"))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 200);
    }
}
