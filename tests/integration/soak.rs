//! Soak: many clients post decisions to the real server process at once, for a while (every
//! method, some refusals naming an undeleted cookie). No request may hang or lose its connection,
//! and every acknowledged decision must be in the log once, its proof verifying against the final
//! checkpoint.
//!
//! `BISCOTTE_SOAK_SECS` (default 15) and `BISCOTTE_SOAK_CLIENTS` (default 16) lengthen and widen
//! it, e.g. the 10-minute run at 64 connections:
//! `BISCOTTE_SOAK_SECS=600 BISCOTTE_SOAK_CLIENTS=64 cargo test -p biscotte-tests --test integration soak`

use crate::process::{
    Clients, DataDir, REQUEST_TIMEOUT, assert_every_ack_logged_once,
    assert_every_proof_verifies_against_the_final_checkpoint, report,
};
use std::time::{Duration, Instant};

fn setting(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a whole number")),
        Err(_) => default,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clients_never_wait_forever_and_every_acknowledged_decision_is_logged_once() {
    let secs = setting("BISCOTTE_SOAK_SECS", 15);
    let clients = setting("BISCOTTE_SOAK_CLIENTS", 16) as u32;
    let data = DataDir::with_demo_site();
    let mut server = data.start();
    let revision = server.revision().await;

    let load = Clients::start(&server, &revision, clients, 0);
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline && !load.stopped() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if load.stopped() {
        // A hung request takes REQUEST_TIMEOUT to be noticed: take the stacks while it still hangs.
        let stacks = server.dump_stacks("soak-hang");
        let result = load.stop().await;
        let log = server.log_tail();
        let stopped = server.stop(Duration::from_secs(5));
        panic!(
            "{} request(s) failed under load ({}, {clients} clients):\n  {}\nserver stacks: {}\n\
             SIGTERM: {}\nserver log:\n{log}",
            result.failures.len(),
            result.figures(),
            result.failures.join("\n  "),
            stacks.map_or("gdb not installed".into(), |p| p.display().to_string()),
            stopped.map_or_else(|e| e, |()| "the server exited".into()),
        );
    }
    let result = load.stop().await;
    assert!(
        result.failures.is_empty(),
        "requests failed as the run ended: {:#?}",
        result.failures
    );
    report(&format!(
        "soak: {clients} clients, {}; per-request timeout {REQUEST_TIMEOUT:?}",
        result.figures()
    ));

    let records = server.export(&data.auditor_token()).await;
    assert_every_ack_logged_once(&result.acks, &records);
    assert!(
        records
            .iter()
            .any(|r| r.method == biscotte_shared::Method::Gpc)
            && records.iter().any(|r| r.undeleted_cookies == ["_ga"]),
        "the load mixed gpc decisions and refusals naming an undeleted cookie, and the log kept them"
    );
    assert_eq!(
        records.len(),
        result.acks.len(),
        "every request was answered, so the log holds exactly the acknowledged decisions"
    );
    let checkpoints = assert_every_proof_verifies_against_the_final_checkpoint(
        &server,
        &result.acks,
        &data.vkey(),
    )
    .await;
    report(&format!(
        "soak: every answer's proof verifies; {checkpoints} checkpoints, each extending into the final one"
    ));
    server
        .stop(Duration::from_secs(15))
        .expect("the server stops on SIGTERM");
    assert_eq!(
        data.verify(),
        result.acks.len() as u64,
        "`biscotte verify` agrees"
    );
}
