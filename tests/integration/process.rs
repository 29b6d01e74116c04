//! The real `biscotte` binary as a separate process: its store, its command line, clients that
//! load it with decisions, and the checks of its log afterwards. The soak, crash and operations
//! tests share it.

use crate::harness::{decision, repo_path};
use biscotte_shared::Method;
use biscotte_shared::api::{ConsentRecord, ConsentResponse, PublishedConfig};
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, mpsc};
use std::time::{Duration, Instant};

/// An origin the demo site file registers: the server records a decision only with one.
pub const ORIGIN: &str = "http://127.0.0.1:8080";

/// A request with no answer after this long counts as hung.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// `target/<profile>/biscotte`, built once per test run so it is never older than the code
/// (`./dev test` builds it before the tests, so this is then a no-op).
pub fn server_binary() -> &'static Path {
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
        let built = build.status().map(|s| s.success()).unwrap_or(false);
        // This test executable is target/<profile>/deps/integration-<hash>.
        let exe = std::env::current_exe().expect("the test executable's path");
        let bin = exe
            .parent()
            .and_then(Path::parent)
            .expect("the test executable sits in target/<profile>/deps")
            .join(format!("biscotte{}", std::env::consts::EXE_SUFFIX));
        assert!(
            built && bin.is_file(),
            "{} is missing or could not be rebuilt: these tests run the real server binary. \
             Build it with `cargo build -p biscotte-server` (`./dev test` does so before the tests).",
            bin.display()
        );
        bin
    })
}

/// Prints a line past the test harness's capture, so `./dev test` shows the figures.
pub fn report(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// A temporary directory holding a store (`--data-dir`) and the server's log.
#[derive(Debug)]
pub struct DataDir {
    dir: tempfile::TempDir,
    /// Settings every command of this directory gets (the PostgreSQL store's, for one).
    env: Vec<(String, String)>,
}

impl DataDir {
    /// No store yet: the first command creates it.
    pub fn empty() -> DataDir {
        DataDir {
            dir: tempfile::tempdir().expect("temporary directory"),
            env: Vec::new(),
        }
    }

    /// No store yet, on a PostgreSQL database (`store = "postgres"`); the key file stays in the
    /// directory, as one server's copy of the deployment's key.
    pub fn on_postgres(database_url: &str) -> DataDir {
        let mut data = DataDir::empty();
        data.env = vec![
            ("BISCOTTE_STORE".into(), "postgres".into()),
            ("BISCOTTE_DATABASE_URL".into(), database_url.into()),
        ];
        data
    }

    /// A store with the demo site, created by the command line as an operator would.
    pub fn with_demo_site() -> DataDir {
        DataDir::empty().create_demo_site()
    }

    /// A fresh PostgreSQL database with the demo site.
    pub fn postgres_with_demo_site() -> DataDir {
        DataDir::on_postgres(&crate::pg::fresh_database("demo")).create_demo_site()
    }

    pub fn create_demo_site(self) -> DataDir {
        let data = self;
        let site_file = data.dir.path().join("site.toml");
        std::fs::copy(repo_path("www/demo/site.toml"), &site_file).expect("copy the demo site");
        let created = data
            .cli(&["site", "create", "--file", &site_file.to_string_lossy()])
            .expect("the demo site is created");
        assert!(created.contains("created site \"demo\""), "{created}");
        data
    }

    /// A store written by an earlier release, copied from `tests/fixtures/<store>` with its
    /// signing key (`tests/fixtures/<key>`) where the server looks for it.
    pub fn from_fixture(store: &str, key: &str) -> DataDir {
        let data = DataDir::empty();
        let fixtures = repo_path("tests/fixtures");
        let mut pending = vec![(fixtures.join(store), data.store())];
        while let Some((from, to)) = pending.pop() {
            std::fs::create_dir_all(&to).expect("a directory of the copy");
            for entry in std::fs::read_dir(&from).expect("the fixture") {
                let entry = entry.expect("an entry of the fixture");
                let target = to.join(entry.file_name());
                if entry.file_type().expect("its type").is_dir() {
                    pending.push((entry.path(), target));
                } else {
                    std::fs::copy(entry.path(), target).expect("a file of the fixture");
                }
            }
        }
        std::fs::copy(fixtures.join(key), data.store().join("signing-key.pem"))
            .expect("the fixture's key");
        data
    }

    /// The store directory (`--data-dir`).
    pub fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    /// A path in the temporary directory, beside the store.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn command(&self) -> Command {
        let mut c = Command::new(server_binary());
        // Only what the test sets: none of the developer's BISCOTTE_* settings.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("BISCOTTE_") {
                c.env_remove(key);
            }
        }
        c.current_dir(self.dir.path())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .arg("--data-dir")
            .arg(self.store());
        c
    }

    /// Runs `biscotte --data-dir STORE ARGS…`: its stdout, or what it said on failure.
    pub fn cli(&self, args: &[&str]) -> Result<String, String> {
        let out = self
            .command()
            .args(args)
            .output()
            .expect("the biscotte binary runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(stdout)
        } else {
            Err(format!(
                "biscotte {args:?} failed ({}): {stdout}{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// A token for the export, signed with this store's key.
    pub fn auditor_token(&self) -> String {
        self.cli(&["token", "issue", "--role", "auditor", "--site", "demo"])
            .expect("token issued")
            .trim()
            .to_owned()
    }

    /// `biscotte serve` with the per-client rate limit off, as load needs.
    pub fn start(&self) -> Server {
        self.spawn(&["serve"], &[("BISCOTTE_RATE_LIMIT_PER_MINUTE", "0")])
    }

    /// `biscotte COMMAND… --bind 127.0.0.1:0` with extra environment, once it has said where it
    /// listens (and where its metrics are, when `BISCOTTE_METRICS_BIND` is among `env`).
    pub fn spawn(&self, command: &[&str], env: &[(&str, &str)]) -> Server {
        let log_path = self.dir.path().join("server.log");
        let log = File::options()
            .create(true)
            .append(true)
            .open(&log_path)
            .expect("server log file");
        let mut child = self
            .command()
            .args(command)
            .args(["--bind", "127.0.0.1:0"])
            .env("BISCOTTE_WWW_DIR", repo_path("www"))
            .env("BISCOTTE_BANNER_DIR", self.dir.path().join("no-banner"))
            // Warnings only: a line per request would measure the logger, not the store.
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("the server starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        // Passes the announcements on, then drains stdout so the server never blocks on it; a
        // silent server fails the test instead of hanging it.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut server = Server {
            child,
            base: String::new(),
            metrics: None,
            log: log_path,
        };
        let next_url = |prefix: &str| match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => line
                .strip_prefix(prefix)
                .map(str::to_owned)
                .unwrap_or_else(|| panic!("{line:?} from biscotte does not start with {prefix:?}")),
            Err(e) => panic!(
                "no line {prefix:?} from biscotte ({e}); its log:\n{}",
                server.log_tail()
            ),
        };
        let base = next_url("Biscotte listening on ");
        let metrics = env
            .iter()
            .any(|(k, _)| *k == "BISCOTTE_METRICS_BIND")
            .then(|| next_url("Biscotte metrics on "));
        server.base = base;
        server.metrics = metrics;
        server
    }

    /// `biscotte verify --site demo` on the stopped server's store: the decision count it reports.
    pub fn verify(&self) -> u64 {
        let out = self
            .cli(&["verify", "--site", "demo"])
            .expect("the log verifies");
        assert!(
            out.contains("every leaf, tile, checkpoint and revision verifies"),
            "verify checks the tree, the checkpoints and the revisions: {out}"
        );
        out.lines()
            .find_map(|l| {
                l.split_once(" leaves (")?
                    .1
                    .split_once(" decisions")?
                    .0
                    .parse()
                    .ok()
            })
            .unwrap_or_else(|| panic!("unexpected answer from verify: {out}"))
    }

    /// The demo log's verifier key, from the deployment's key file (never from the server).
    pub fn vkey(&self) -> biscotte_shared::note::VerifierKey {
        self.log_key().vkey("demo").expect("vkey")
    }

    /// The deployment's log key: its key file and the default public name.
    pub fn log_key(&self) -> biscotte_server::evidence::LogKey {
        let signer = biscotte_server::auth::Signer::load(&self.store().join("signing-key.pem"))
            .expect("the store's key");
        biscotte_server::evidence::LogKey::new(biscotte_server::config::DEFAULT_PUBLIC_NAME, signer)
            .expect("log key")
    }
}

/// A running server process; dropping it kills the process, so a failed test leaves none behind.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// `http://127.0.0.1:PORT` of the metrics listener, when one was asked for.
    pub metrics: Option<String>,
    log: PathBuf,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no chance to flush or say goodbye.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL sent");
        self.child.wait().expect("killed server reaped");
    }

    /// SIGTERM: what an operator's `systemctl stop` sends.
    pub fn sigterm(&self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("kill(1) runs");
        assert!(sent.success(), "SIGTERM not sent");
    }

    /// The exit status and how long it took, or `None` if still running after `limit`.
    pub fn wait_at_most(&mut self, limit: Duration) -> Option<(ExitStatus, Duration)> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.child.try_wait().expect("server status") {
                return Some((status, start.elapsed()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// SIGTERM, then the exit within `within`, else SIGKILL and an error.
    pub fn stop(&mut self, within: Duration) -> Result<(), String> {
        self.sigterm();
        match self.wait_at_most(within) {
            Some(_) => Ok(()),
            None => {
                self.kill();
                Err(format!(
                    "the server did not exit within {within:?} of SIGTERM (killed with SIGKILL)"
                ))
            }
        }
    }

    /// The end of the server's stderr, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Every thread's stack, when gdb is installed: the evidence of a lock-up. Written beside the
    /// test executable (`target/debug/…`), which outlives the temporary store.
    pub fn dump_stacks(&self, name: &str) -> Option<PathBuf> {
        let gdb = Path::new("/usr/bin/gdb");
        if !gdb.is_file() {
            return None;
        }
        let out = Command::new("timeout")
            .args([
                "60",
                "/usr/bin/gdb",
                "-batch",
                "-ex",
                "thread apply all bt",
                "-p",
            ])
            .arg(self.pid().to_string())
            .stdin(Stdio::null())
            .output()
            .ok()?;
        let path = server_binary().with_file_name(format!("{name}-stacks.txt"));
        std::fs::write(&path, &out.stdout).ok()?;
        Some(path)
    }

    /// The live revision of the demo site: decisions must name it.
    pub async fn revision(&self) -> String {
        let client = http_client();
        let published: PublishedConfig = client
            .get(self.url("/api/v1/sites/demo/config"))
            .send()
            .await
            .expect("config request")
            .json()
            .await
            .expect("config JSON");
        published.revision.as_str().to_owned()
    }

    /// The demo log's latest checkpoint, as anyone reads it.
    pub async fn checkpoint(&self) -> String {
        let r = http_client()
            .get(self.url("/api/v1/sites/demo/log/checkpoint"))
            .send()
            .await
            .expect("checkpoint");
        assert_eq!(r.status(), 200, "the demo log has a checkpoint");
        r.text().await.expect("text")
    }

    /// The demo log's consistency proof from `from` leaves to `to`, as anyone reads it.
    pub async fn consistency_proof(
        &self,
        from: u64,
        to: u64,
    ) -> Vec<biscotte_shared::merkle::Hash> {
        use base64::Engine;
        let answer: serde_json::Value = http_client()
            .get(self.url(&format!(
                "/api/v1/sites/demo/log/proof/consistency?from={from}&to={to}"
            )))
            .send()
            .await
            .expect("consistency proof")
            .json()
            .await
            .expect("JSON");
        answer["proof"]
            .as_array()
            .unwrap_or_else(|| panic!("no proof from {from} to {to}: {answer}"))
            .iter()
            .map(|h| {
                base64::engine::general_purpose::STANDARD
                    .decode(h.as_str().expect("text"))
                    .expect("base64")
                    .try_into()
                    .expect("32 bytes")
            })
            .collect()
    }

    /// The demo site's whole log, through the auditors' NDJSON export.
    pub async fn export(&self, token: &str) -> Vec<ConsentRecord> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .expect("client");
        let r = client
            .get(self.url("/api/v1/sites/demo/consents?format=ndjson"))
            .bearer_auth(token)
            .send()
            .await
            .expect("the export answers");
        assert_eq!(r.status(), 200, "export");
        r.text()
            .await
            .expect("the export completes")
            .lines()
            .map(|l| serde_json::from_str(l).expect("an NDJSON record"))
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One client's connection, with the per-request timeout that turns a hang into a failure.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .pool_max_idle_per_host(1)
        .build()
        .expect("client")
}

/// A decision the server acknowledged with a 201.
#[derive(Clone, Debug)]
pub struct Ack {
    pub record_id: u64,
    pub consent_id: String,
    /// The C2SP tlog-proof the answer carried.
    pub proof: String,
    pub latency: Duration,
    /// When the answer came, from the start of the run.
    pub at: Duration,
}

/// What a load run saw.
#[derive(Debug, Default)]
pub struct LoadResult {
    pub acks: Vec<Ack>,
    /// Requests without a 201: no answer in time, a dropped connection, or a refusal.
    pub failures: Vec<String>,
    pub elapsed: Duration,
}

impl LoadResult {
    /// The latency at quantile `q` (0 to 1) among acknowledged decisions.
    pub fn latency(&self, q: f64) -> Duration {
        let mut all: Vec<Duration> = self.acks.iter().map(|a| a.latency).collect();
        all.sort();
        let i = ((all.len() as f64 - 1.0) * q).round().max(0.0) as usize;
        all.get(i).copied().unwrap_or_default()
    }

    pub fn figures(&self) -> String {
        let secs = self.elapsed.as_secs_f64();
        let last = self.acks.iter().map(|a| a.at).max().unwrap_or_default();
        format!(
            "{} decisions in {secs:.1} s ({:.0}/s, the last {:.1} s into the run), \
             latency p50 {:?}, p99 {:?}, max {:?}",
            self.acks.len(),
            self.acks.len() as f64 / secs.max(1e-9),
            last.as_secs_f64(),
            self.latency(0.5),
            self.latency(0.99),
            self.latency(1.0),
        )
    }
}

/// Concurrent clients, each on its own connection, posting valid decisions back to back until
/// stopped or until any request fails (which stops them all).
#[derive(Debug)]
pub struct Clients {
    stop: Arc<AtomicBool>,
    acked: Arc<AtomicU64>,
    started: Instant,
    tasks: Vec<tokio::task::JoinHandle<(Vec<Ack>, Vec<String>)>>,
}

impl Clients {
    /// `tag` goes into every consent id, so runs on one store never share one.
    pub fn start(server: &Server, revision: &str, count: u32, tag: u32) -> Clients {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let url = server.url("/api/v1/sites/demo/consents");
        let tasks = (0..count)
            .map(|client| {
                let (stop, acked, url) = (stop.clone(), acked.clone(), url.clone());
                let revision = revision.to_owned();
                tokio::spawn(async move {
                    let http = http_client();
                    let (mut acks, mut failures) = (Vec::new(), Vec::new());
                    let mut seq: u64 = 0;
                    while !stop.load(Ordering::SeqCst) {
                        seq += 1;
                        let consent_id = format!("{tag:08x}{client:08x}{seq:016x}");
                        // Every method a visitor's banner sends, and refusals that name a
                        // cookie the banner could not delete: all take the same write path.
                        let method = [
                            Method::AcceptAll,
                            Method::RejectAll,
                            Method::Close,
                            Method::Gpc,
                            Method::RejectAll,
                        ][(seq % 5) as usize];
                        let mut body = decision(&revision, &consent_id, method, true);
                        if seq % 5 == 4 {
                            body["undeleted_cookies"] = serde_json::json!(["_ga"]);
                        }
                        // Half carry a decision id, as today's banners do; half none, as the
                        // engines and outboxes already in browsers.
                        if seq.is_multiple_of(2) {
                            body["decision_id"] = serde_json::json!(consent_id.clone());
                        }
                        let acked_before = acked.load(Ordering::SeqCst);
                        let sent = Instant::now();
                        let outcome = match http
                            .post(&url)
                            .header("Origin", ORIGIN)
                            .json(&body)
                            .send()
                            .await
                        {
                            Ok(r) if r.status() == 201 => r
                                .json::<ConsentResponse>()
                                .await
                                .map_err(|e| format!("unreadable 201 answer: {}", chain(&e))),
                            Ok(r) => Err(format!(
                                "answered {}: {}",
                                r.status(),
                                r.text().await.unwrap_or_default()
                            )),
                            Err(e) if e.is_timeout() => {
                                Err(format!("no answer within {REQUEST_TIMEOUT:?} (hung)"))
                            }
                            Err(e) => Err(format!("connection failed: {}", chain(&e))),
                        };
                        match outcome {
                            Ok(answer) => {
                                acked.fetch_add(1, Ordering::SeqCst);
                                acks.push(Ack {
                                    record_id: answer.record_id,
                                    consent_id,
                                    proof: answer.proof,
                                    latency: sent.elapsed(),
                                    at: started.elapsed(),
                                });
                            }
                            Err(why) => {
                                stop.store(true, Ordering::SeqCst);
                                failures.push(format!(
                                    "client {client}, request {seq} (consent id {consent_id}), \
                                     sent {:.1} s into the run after {acked_before} acknowledged \
                                     decisions: {why}",
                                    (sent - started).as_secs_f64()
                                ));
                            }
                        }
                    }
                    (acks, failures)
                })
            })
            .collect();
        Clients {
            stop,
            acked,
            started,
            tasks,
        }
    }

    /// The time since the clients started, on the clock of their acknowledgements' `at`.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Decisions acknowledged so far, by all clients.
    pub fn acked(&self) -> u64 {
        self.acked.load(Ordering::SeqCst)
    }

    /// Whether a request failed (which stops every client).
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Stops the clients, lets each finish its request in flight, and gathers what they saw.
    pub async fn stop(self) -> LoadResult {
        self.stop.store(true, Ordering::SeqCst);
        let mut result = LoadResult::default();
        for task in self.tasks {
            let (acks, failures) = task.await.expect("client task");
            result.acks.extend(acks);
            result.failures.extend(failures);
        }
        result.elapsed = self.started.elapsed();
        result
    }
}

/// An error with its causes, which is where reqwest says what happened.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

/// The log numbers its decisions 1..=n without a gap, and holds each acknowledged decision
/// exactly once, at the record id its acknowledgement gave. Returns the number of records.
pub fn assert_every_ack_logged_once(acks: &[Ack], records: &[ConsentRecord]) -> usize {
    let ids: Vec<u64> = records.iter().map(|r| r.record_id).collect();
    assert!(
        ids.iter().zip(1..).all(|(id, want)| *id == want),
        "the exported log numbers its decisions 1..=n, without a gap"
    );
    let mut by_consent: HashMap<&str, Vec<u64>> = HashMap::new();
    for r in records {
        by_consent
            .entry(r.consent_id.as_str())
            .or_default()
            .push(r.record_id);
    }
    let mut missing = Vec::new();
    for ack in acks {
        match by_consent.get(ack.consent_id.as_str()).map(Vec::as_slice) {
            Some([id]) if *id == ack.record_id => {}
            found => missing.push(format!(
                "{} acknowledged as record {}, in the log as {found:?}",
                ack.consent_id, ack.record_id
            )),
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged decisions are not in the log exactly once, e.g. {:?}",
        missing.len(),
        acks.len(),
        &missing[..missing.len().min(5)]
    );
    records.len()
}

/// Every acknowledged decision's proof holds: its checkpoint is signed by the log's key, its leaf
/// is in that tree, and that checkpoint is consistent with the final one (so the leaf is in the
/// final tree too). Returns how many distinct checkpoints the answers carried.
pub async fn assert_every_proof_verifies_against_the_final_checkpoint(
    server: &Server,
    acks: &[Ack],
    key: &biscotte_shared::note::VerifierKey,
) -> usize {
    use biscotte_shared::{merkle, note};
    let text = server.checkpoint().await;
    let last = note::open_checkpoint(&text, key).expect("the final checkpoint is signed");
    let mut consistent: HashMap<u64, merkle::Hash> = HashMap::new();
    for ack in acks {
        let proof = note::TlogProof::parse(&ack.proof).expect("a C2SP tlog-proof");
        let cp = note::open_checkpoint(&proof.checkpoint, key).expect("its checkpoint is signed");
        let leaf = proof.extra.as_deref().expect("the proof carries its leaf");
        merkle::verify_inclusion(
            &merkle::leaf_hash(leaf),
            proof.index,
            cp.size,
            &proof.hashes,
            &cp.root,
        )
        .unwrap_or_else(|e| panic!("record {}: its proof fails: {e}", ack.record_id));
        if let Some(root) = consistent.get(&cp.size) {
            assert_eq!(
                *root, cp.root,
                "two checkpoints of one size with two roots: a split view"
            );
            continue;
        }
        if cp.size < last.size {
            let hashes = server.consistency_proof(cp.size, last.size).await;
            merkle::verify_consistency(cp.size, last.size, &cp.root, &last.root, &hashes)
                .unwrap_or_else(|e| {
                    panic!(
                        "the checkpoint of {} leaves does not extend into the final one: {e}",
                        cp.size
                    )
                });
        } else {
            assert_eq!((cp.size, cp.root), (last.size, last.root));
        }
        consistent.insert(cp.size, cp.root);
    }
    consistent.len()
}
