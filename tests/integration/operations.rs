//! What an operator runs against: liveness and readiness, metrics on a private listener only,
//! and a prompt, graceful stop on SIGTERM. The last two run the real `biscotte serve` binary.

use crate::harness::{TestApp, repo_path};
use crate::process::DataDir;
use biscotte_server::app::SHUTDOWN_TIMEOUT_SECS;
use biscotte_shared::api::ErrorBody;
use std::io::{Read, Write};
use std::time::Duration;

#[tokio::test]
async fn healthz_and_readyz_answer_ok_and_the_old_health_route_stays() {
    let app = TestApp::start().await;
    for path in ["/healthz", "/api/v1/health"] {
        let r = app.client.get(app.url(path)).send().await.expect("request");
        assert_eq!(r.status(), 200, "{path}");
        let body: serde_json::Value = r.json().await.expect("JSON");
        assert_eq!(body["status"], "ok", "{path}");
    }
    let r = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.expect("JSON");
    assert_eq!(body["status"], "ready");
}

#[tokio::test]
async fn without_a_banner_build_the_loader_and_assets_answer_with_the_error_envelope() {
    let app = TestApp::start().await;
    let r = app
        .client
        .get(app.url("/biscotte.js"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 503);
    let e: ErrorBody = r.json().await.expect("envelope");
    assert_eq!(e.error.code, "unavailable");
    assert!(
        e.error.message.contains("./dev build"),
        "{}",
        e.error.message
    );
    let r = app
        .client
        .get(app.url("/assets/biscotte_banner.000000000000.js"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 404);
    let e: ErrorBody = r.json().await.expect("envelope");
    assert_eq!(e.error.code, "not_found");
    assert!(
        e.error.message.contains("/biscotte.js"),
        "{}",
        e.error.message
    );
}

#[tokio::test]
async fn metrics_are_served_on_the_metrics_listener_only_and_sigterm_stops_both_at_once() {
    let data = DataDir::empty();
    let mut served = data.spawn(&["serve"], &[("BISCOTTE_METRICS_BIND", "127.0.0.1:0")]);
    let metrics_url = served.metrics.clone().expect("metrics listener");
    let client = reqwest::Client::new();
    let r = client.get(&metrics_url).send().await.expect("request");
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .expect("ASCII")
            .starts_with("application/openmetrics-text"),
    );
    let text = r.text().await.expect("body");
    for name in [
        "biscotte_decisions_recorded_total 0",
        "biscotte_decisions_refused_total{reason=\"rate_limited\"} 0",
        "biscotte_decisions_refused_total{reason=\"origin\"} 0",
        "biscotte_batch_size_bucket",
        "biscotte_append_seconds_bucket",
        "biscotte_store_bytes ",
    ] {
        assert!(text.contains(name), "{name:?} missing from:\n{text}");
    }
    assert!(
        !text.contains("biscotte_store_bytes 0\n"),
        "the store's size is read at each scrape:\n{text}"
    );

    let public = client
        .get(format!("{}/metrics", served.base))
        .send()
        .await
        .expect("request");
    assert_eq!(public.status(), 404, "no metrics on the public address");
    let health = client
        .get(format!("{}/healthz", served.base))
        .send()
        .await
        .expect("request");
    assert_eq!(health.status(), 200);

    served.sigterm();
    let (status, _) = served
        .wait_at_most(Duration::from_secs(7))
        .expect("biscotte exits within 7 s of SIGTERM when idle, well before the shutdown timeout");
    assert!(status.success(), "{status}");
}

#[test]
fn sigterm_waits_for_a_request_in_flight_only_as_long_as_the_shutdown_timeout() {
    let site_file = repo_path("www/demo/site.toml");
    let data = DataDir::empty();
    let mut served = data.spawn(
        &["demo", "--site-file", site_file.to_str().expect("utf-8")],
        &[],
    );
    // A decision from a registered origin whose body never finishes arriving: in flight until
    // the server gives up on it. `Expect: 100-continue` makes the server say when it has taken
    // the request in hand.
    let addr = served.base.trim_start_matches("http://").to_owned();
    let mut stalled = std::net::TcpStream::connect(&addr).expect("connect");
    stalled
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    stalled
        .write_all(
            format!(
                "POST /api/v1/sites/demo/consents HTTP/1.1\r\nHost: {addr}\r\n\
                 Origin: http://127.0.0.1:8080\r\nContent-Type: application/json\r\n\
                 Content-Length: 1000\r\nExpect: 100-continue\r\n\r\n"
            )
            .as_bytes(),
        )
        .expect("send the request head");
    let mut answer = [0u8; 64];
    let n = stalled
        .read(&mut answer)
        .expect("the server answers the head");
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 100 Continue"), "{answer}");
    stalled
        .write_all(b"{\"consent_id\":")
        .expect("send the start of the body");

    served.sigterm();
    let limit = Duration::from_secs(SHUTDOWN_TIMEOUT_SECS + 5);
    let (status, took) = served
        .wait_at_most(limit)
        .unwrap_or_else(|| panic!("biscotte still runs {limit:?} after SIGTERM"));
    assert!(status.success(), "{status}");
    assert!(
        took >= Duration::from_millis(500),
        "the request in flight was given time to finish, not cut at once ({took:?})"
    );
    drop(stalled);
}
