//! Crash: the real server is killed with SIGKILL at random moments while clients post decisions,
//! then restarted on the same store. Whatever it acknowledged must survive, and every proof it
//! answered must verify against the final checkpoint.

use crate::process::{
    Ack, Clients, DataDir, assert_every_ack_logged_once,
    assert_every_proof_verifies_against_the_final_checkpoint, report,
};
use std::time::{Duration, Instant};

const KILLS: u32 = 4;
const CLIENTS: u32 = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_under_load_keeps_every_decision_it_acknowledged() {
    let seed = fastrand::u64(..);
    let mut rng = fastrand::Rng::with_seed(seed);
    let data = DataDir::with_demo_site();
    let mut acks: Vec<Ack> = Vec::new();
    let mut killed_at = Vec::new();
    for round in 0..KILLS {
        let mut server = data.start();
        let revision = server.revision().await;
        let load = Clients::start(&server, &revision, CLIENTS, round);
        // Some decisions must be at stake: the kill comes after the first acknowledgements.
        let started = Instant::now();
        while load.acked() == 0 && !load.stopped() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no decision acknowledged within 10 s of the restart (seed {seed})"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(rng.u64(0..=700))).await;
        server.kill();
        let result = load.stop().await;
        // Requests in flight at the kill lose their connection; nothing else may go wrong.
        let unexpected: Vec<&String> = result
            .failures
            .iter()
            .filter(|f| !f.contains("connection failed"))
            .collect();
        assert!(
            unexpected.is_empty(),
            "round {round} (seed {seed}): {unexpected:#?}"
        );
        killed_at.push(result.acks.len());
        acks.extend(result.acks);
    }

    let mut server = data.start();
    let records = server.export(&data.auditor_token()).await;
    let logged = assert_every_ack_logged_once(&acks, &records);
    let checkpoints =
        assert_every_proof_verifies_against_the_final_checkpoint(&server, &acks, &data.vkey())
            .await;
    report(&format!(
        "crash: {KILLS} SIGKILLs after {killed_at:?} acknowledged decisions (seed {seed}); \
         {} acknowledged, {logged} in the log, every proof verifies against the final checkpoint \
         ({checkpoints} checkpoints, each extending into it)",
        acks.len()
    ));
    server
        .stop(Duration::from_secs(15))
        .expect("the server stops on SIGTERM");
    assert_eq!(data.verify(), logged as u64, "`biscotte verify` agrees");
}
