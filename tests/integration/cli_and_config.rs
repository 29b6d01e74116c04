//! The command line and the configuration's precedence.

use crate::harness::{TestApp, repo_path};
use biscotte_server::cli::run_args;
use biscotte_server::config::Config;
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
    assert!(err.contains("/api/v1/sites/demo/consents"), "{err}");
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
