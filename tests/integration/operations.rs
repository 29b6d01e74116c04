//! What an operator runs against: liveness and readiness, metrics on a private listener only,
//! and a prompt, graceful stop on SIGTERM. The last two run the real `biscotte serve` binary.

use crate::harness::{TestApp, repo_path};
use biscotte_server::app::SHUTDOWN_TIMEOUT_SECS;
use biscotte_shared::api::ErrorBody;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{OnceLock, mpsc};
use std::time::{Duration, Instant};

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

/// `target/<profile>/biscotte`, built once per test run so it is never older than the code.
fn biscotte_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(cargo);
        build.current_dir(repo_path(".")).args([
            "build",
            "-q",
            "-p",
            "biscotte-server",
            "--bin",
            "biscotte",
        ]);
        if !cfg!(debug_assertions) {
            build.arg("--release");
        }
        let status = build.status().expect("cargo runs");
        assert!(status.success(), "cargo build -p biscotte-server failed");
        // This test binary is target/<profile>/deps/integration-<hash>.
        let exe = std::env::current_exe().expect("test binary path");
        exe.parent()
            .and_then(Path::parent)
            .expect("target/<profile>")
            .join(format!("biscotte{}", std::env::consts::EXE_SUFFIX))
    })
}

/// A `biscotte serve` (or `demo`) process on loopback port 0 with a fresh store.
struct Served {
    child: Child,
    /// `http://127.0.0.1:PORT`
    base: String,
    /// `http://127.0.0.1:PORT/metrics` when a metrics listener was asked for.
    metrics: Option<String>,
    _dir: tempfile::TempDir,
}

impl Served {
    /// Runs `biscotte <command> --bind 127.0.0.1:0`, with a metrics listener if asked.
    fn start(command: &[&str], metrics: bool) -> Served {
        let dir = tempfile::tempdir().expect("tmp");
        let mut cmd = Command::new(biscotte_binary());
        cmd.args(["--data-dir"])
            .arg(dir.path().join("store"))
            .args(command)
            .args(["--bind", "127.0.0.1:0"])
            // Only what this test sets: nothing from the developer's environment.
            .env_clear()
            .env("BISCOTTE_WWW_DIR", repo_path("www"))
            .env("BISCOTTE_BANNER_DIR", dir.path().join("no-banner"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if metrics {
            cmd.env("BISCOTTE_METRICS_BIND", "127.0.0.1:0");
        }
        let mut child = cmd.spawn().expect("biscotte starts");
        let stdout = child.stdout.take().expect("stdout");
        // A thread reads stdout, so a silent server fails the test instead of hanging it.
        let (lines, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let next_url = |prefix: &str| {
            let line = rx
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|e| panic!("no line {prefix:?} from biscotte serve: {e}"));
            line.strip_prefix(prefix)
                .unwrap_or_else(|| panic!("{line:?} does not start with {prefix:?}"))
                .to_owned()
        };
        let base = format!("http://{}", next_url("Biscotte listening on http://"));
        let metrics =
            metrics.then(|| format!("http://{}", next_url("Biscotte metrics on http://")));
        Served {
            child,
            base,
            metrics,
            _dir: dir,
        }
    }

    fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// The exit status and how long it took, or `None` if still running after `limit`.
    fn wait_at_most(&mut self, limit: Duration) -> Option<(ExitStatus, Duration)> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return Some((status, start.elapsed()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        // A failed test must not leave a server behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn metrics_are_served_on_the_metrics_listener_only_and_sigterm_stops_both_at_once() {
    let mut served = Served::start(&["serve"], true);
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
    let mut served = Served::start(
        &["demo", "--site-file", site_file.to_str().expect("utf-8")],
        false,
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
