//! The command line and the configuration's precedence.

use crate::harness::{TestApp, repo_path};
use biscotte_server::cli::run_args;
use biscotte_server::config::{Config, DEFAULT_RATE_LIMIT_PER_MINUTE};
use std::path::PathBuf;

#[tokio::test]
async fn while_the_server_holds_the_store_the_cli_says_so_and_names_the_http_route() {
    let app = TestApp::start().await;
    let dir = app.config.data_dir.to_str().expect("utf-8").to_owned();
    let err = run_args([
        "biscotte",
        "--data-dir",
        &dir,
        "export",
        "--site",
        "demo",
        "--format",
        "csv",
    ])
    .expect_err("store is busy");
    assert!(err.contains("in use by another process"), "{err}");
    assert!(
        err.contains("GET /api/v1/sites/demo/consents?format=csv"),
        "{err}"
    );
    let err = run_args(["biscotte", "--data-dir", &dir, "verify", "--site", "demo"])
        .expect_err("store is busy");
    assert!(err.contains("GET /api/v1/sites/demo/log/verify"), "{err}");
}

#[test]
fn a_site_file_with_mistakes_is_refused_with_every_field_named() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("site.toml");
    let demo = std::fs::read_to_string(repo_path("www/demo/site.toml")).expect("demo file");
    std::fs::write(
        &file,
        demo.replace("category = \"analytics\"", "category = \"analytcs\"")
            .replace("id = \"demo\"", "id = \"Demo Site\""),
    )
    .expect("write");
    let store = dir.path().join("store");
    let err = run_args([
        "biscotte",
        "--data-dir",
        store.to_str().expect("utf-8"),
        "site",
        "create",
        "--file",
        file.to_str().expect("utf-8"),
    ])
    .expect_err("invalid file");
    assert!(err.contains("site.id"), "{err}");
    assert!(
        err.contains("consent.services[0].category: unknown category \"analytcs\""),
        "{err}"
    );
    assert!(err.contains("consent.services[1].category"), "{err}");
}

#[test]
fn the_file_overrides_defaults_and_the_environment_overrides_the_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("biscotte.toml");
    std::fs::write(
        &file,
        "bind = \"127.0.0.1:9000\"\ndata_dir = \"/var/lib/biscotte\"\n",
    )
    .expect("write");
    let config = Config::load(Some(&file), |_| None).expect("loads");
    assert_eq!(config.bind.port(), 9000);
    assert_eq!(
        config.key_path,
        PathBuf::from("/var/lib/biscotte/signing-key.pem"),
        "the key follows the data directory"
    );
    let config = Config::load(Some(&file), |k| {
        (k == "BISCOTTE_BIND").then(|| "127.0.0.1:9100".to_owned())
    })
    .expect("loads");
    assert_eq!(config.bind.port(), 9100);
    assert_eq!(
        Config::load(None, |_| None).expect("defaults"),
        Config::default()
    );

    std::fs::write(&file, "bnid = \"127.0.0.1:9000\"\n").expect("write");
    let err = Config::load(Some(&file), |_| None).expect_err("typo");
    assert!(err.contains("bnid"), "{err}");
    let err = Config::load(None, |k| {
        (k == "BISCOTTE_BIND").then(|| "localhost".to_owned())
    })
    .expect_err("bad address");
    assert!(err.contains("IP:PORT"), "{err}");
}

#[test]
fn the_abuse_and_metrics_settings_come_from_the_file_and_the_environment_wins() {
    let defaults = Config::default();
    assert_eq!(
        defaults.rate_limit_per_minute,
        DEFAULT_RATE_LIMIT_PER_MINUTE
    );
    assert!(defaults.rate_limit_per_minute > 0, "limited by default");
    assert!(
        defaults.trusted_proxies.is_empty(),
        "no proxy trusted by default"
    );
    assert_eq!(defaults.metrics_bind, None, "no metrics by default");

    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("biscotte.toml");
    std::fs::write(
        &file,
        "rate_limit_per_minute = 120\n\
         trusted_proxies = [\"10.0.0.1\", \"192.168.0.0/16\", \"::1\"]\n\
         metrics_bind = \"127.0.0.1:9090\"\n",
    )
    .expect("write");
    let config = Config::load(Some(&file), |_| None).expect("loads");
    assert_eq!(config.rate_limit_per_minute, 120);
    let proxies: Vec<String> = config
        .trusted_proxies
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(proxies, ["10.0.0.1/32", "192.168.0.0/16", "::1/128"]);
    assert_eq!(
        config.metrics_bind,
        Some("127.0.0.1:9090".parse().expect("addr"))
    );

    let env = |k: &str| match k {
        "BISCOTTE_RATE_LIMIT_PER_MINUTE" => Some("0".to_owned()),
        "BISCOTTE_TRUSTED_PROXIES" => Some(" 172.16.0.0/12 , 127.0.0.1,".to_owned()),
        "BISCOTTE_METRICS_BIND" => Some(String::new()),
        _ => None,
    };
    let config = Config::load(Some(&file), env).expect("loads");
    assert_eq!(config.rate_limit_per_minute, 0, "0 turns the limit off");
    let proxies: Vec<String> = config
        .trusted_proxies
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(proxies, ["172.16.0.0/12", "127.0.0.1/32"]);
    assert_eq!(
        config.metrics_bind, None,
        "an empty variable turns metrics off"
    );
}

/// The error `Config::load` gives for one environment variable's value.
fn env_error(key: &'static str, value: &'static str) -> String {
    Config::load(None, |k| (k == key).then(|| value.to_owned())).expect_err("refused")
}

/// The error `Config::load` gives for a file holding `text`.
fn file_error(text: &str) -> String {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("biscotte.toml");
    std::fs::write(&file, text).expect("write");
    Config::load(Some(&file), |_| None).expect_err("refused")
}

#[test]
fn a_bad_setting_is_refused_with_its_name_and_the_fix() {
    let check = |err: String, wanted: &[&str]| {
        for w in wanted {
            assert!(err.contains(w), "{w:?} missing from: {err}");
        }
    };
    check(
        env_error("BISCOTTE_RATE_LIMIT_PER_MINUTE", "lots"),
        &[
            "BISCOTTE_RATE_LIMIT_PER_MINUTE",
            "\"lots\"",
            "or 0 to turn the limit off",
        ],
    );
    check(
        env_error("BISCOTTE_RATE_LIMIT_PER_MINUTE", "-5"),
        &["BISCOTTE_RATE_LIMIT_PER_MINUTE = -5", "out of range"],
    );
    check(
        file_error("rate_limit_per_minute = -1\n"),
        &["rate_limit_per_minute = -1", "out of range"],
    );
    check(
        env_error("BISCOTTE_TRUSTED_PROXIES", "10.0.0.1, 10.0.0.300"),
        &[
            "BISCOTTE_TRUSTED_PROXIES",
            "\"10.0.0.300\"",
            "10.0.0.0/8",
            "commas",
        ],
    );
    check(
        file_error("trusted_proxies = [\"proxy.internal\"]\n"),
        &["trusted_proxies", "\"proxy.internal\"", "CIDR"],
    );
    check(
        env_error("BISCOTTE_METRICS_BIND", "9090"),
        &[
            "BISCOTTE_METRICS_BIND",
            "\"9090\"",
            "IP:PORT",
            "127.0.0.1:9090",
        ],
    );
    check(
        file_error("metrics_bind = \"localhost:9090\"\n"),
        &["metrics_bind", "IP:PORT"],
    );
}

#[test]
fn a_usage_error_is_returned_not_exited() {
    // Reaching the assertion at all is the point: this used to end the test process.
    let err = run_args(["biscotte", "serv"]).expect_err("unknown command");
    assert!(err.contains("unrecognized subcommand"), "{err}");
    let err =
        run_args(["biscotte", "token", "issue", "--role", "janitor"]).expect_err("unknown role");
    assert!(
        err.contains("recorder"),
        "the possible roles are listed: {err}"
    );
}

#[test]
fn a_recorder_token_is_issued_for_one_site() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("store");
    let err = run_args([
        "biscotte",
        "--data-dir",
        store.to_str().expect("utf-8"),
        "token",
        "issue",
        "--role",
        "recorder",
    ])
    .expect_err("no site");
    assert!(err.contains("add --site ID"), "{err}");
    run_args([
        "biscotte",
        "--data-dir",
        store.to_str().expect("utf-8"),
        "token",
        "issue",
        "--role",
        "recorder",
        "--site",
        "demo",
    ])
    .expect("issued");
}

#[test]
fn metrics_are_never_served_on_the_public_address() {
    let dir = tempfile::tempdir().expect("tmp");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let file = dir.path().join("biscotte.toml");
    std::fs::write(
        &file,
        format!("bind = \"127.0.0.1:{port}\"\nmetrics_bind = \"127.0.0.1:{port}\"\n"),
    )
    .expect("write");
    let err = run_args([
        "biscotte",
        "--config",
        file.to_str().expect("utf-8"),
        "--data-dir",
        dir.path().join("store").to_str().expect("utf-8"),
        "serve",
    ])
    .expect_err("refused");
    assert!(err.contains("metrics_bind"), "{err}");
    assert!(err.contains("private address"), "{err}");
}

#[test]
fn verify_recomputes_each_revision_and_names_one_whose_stored_configuration_changed() {
    let data = crate::process::DataDir::with_demo_site();
    let out = data.cli(&["verify", "--site", "demo"]).expect("verifies");
    assert!(
        out.contains("site \"demo\": 1 leaves (0 decisions, 0 erased by retention; 1 revisions)"),
        "{out}"
    );

    // Someone with the disk edits the live revision's text behind the server's back.
    let revision = {
        let db = sled::open(data.store()).expect("sled opens");
        let configs = db.open_tree("configs").expect("tree");
        let (key, stored) = configs
            .scan_prefix(b"demo\0")
            .next()
            .expect("one revision")
            .expect("readable");
        let mut published: serde_json::Value = serde_json::from_slice(&stored).expect("JSON");
        published["config"]["texts"]["fr"]["title"] = "Un autre titre".into();
        configs
            .insert(key, serde_json::to_vec(&published).expect("JSON"))
            .expect("insert");
        db.flush().expect("flush");
        published["revision"].as_str().expect("revision").to_owned()
    };
    let err = data
        .cli(&["verify", "--site", "demo"])
        .expect_err("a changed configuration is found");
    assert!(
        err.contains(&format!(
            "leaf 0: revision {revision}: the stored configuration and words are not the ones published"
        )),
        "{err}"
    );
}
