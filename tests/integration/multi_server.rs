//! Several `biscotte serve` processes on one PostgreSQL database (`store = "postgres"`): one
//! gap-free log per site whichever server writes, exactly-once across servers, publications
//! seen by every server, a server killed under load, and the database going away and coming
//! back. Each test has a database of its own on the test cluster (`pg.rs`).

use crate::harness::{decision, demo_site_file};
use crate::pg;
use crate::process::{
    Ack, Clients, DataDir, ORIGIN, assert_every_ack_logged_once,
    assert_every_proof_verifies_against_the_final_checkpoint, http_client, report,
};
use biscotte_shared::Method;
use biscotte_shared::api::ConsentResponse;
use std::time::{Duration, Instant};

/// How long the load runs in CI; `BISCOTTE_SOAK_SECS` makes it longer.
fn soak_secs() -> u64 {
    std::env::var("BISCOTTE_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_under_concurrent_load_keep_one_gap_free_log_with_every_proof() {
    let data = DataDir::postgres_with_demo_site();
    let a = data.start();
    let b = data.start();
    let revision = a.revision().await;
    // 16 clients, 8 on each server, each request with its own timeout.
    let on_a = Clients::start(&a, &revision, 8, 0xa);
    let on_b = Clients::start(&b, &revision, 8, 0xb);
    tokio::time::sleep(Duration::from_secs(soak_secs())).await;
    let (ra, rb) = (on_a.stop().await, on_b.stop().await);
    assert!(ra.failures.is_empty(), "server A: {:#?}", ra.failures);
    assert!(rb.failures.is_empty(), "server B: {:#?}", rb.failures);
    assert!(
        !ra.acks.is_empty() && !rb.acks.is_empty(),
        "both servers recorded"
    );
    report(&format!(
        "two servers, one database: A {}; B {}",
        ra.figures(),
        rb.figures()
    ));
    let acks: Vec<Ack> = ra.acks.into_iter().chain(rb.acks).collect();
    let records = b.export(&data.auditor_token()).await;
    let logged = assert_every_ack_logged_once(&acks, &records);
    assert_eq!(logged, acks.len(), "nothing else was logged");
    // Proofs answered by either server verify against the final checkpoint, read from A.
    assert_every_proof_verifies_against_the_final_checkpoint(&a, &acks, &data.vkey()).await;
    drop((a, b));
    assert_eq!(data.verify(), logged as u64, "`biscotte verify` agrees");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_under_load_loses_nothing_the_other_keeps_writing() {
    let seed = fastrand::u64(..);
    let mut rng = fastrand::Rng::with_seed(seed);
    let data = DataDir::postgres_with_demo_site();
    let a = data.start();
    let revision = a.revision().await;
    let mut acks: Vec<Ack> = Vec::new();
    let survivor = Clients::start(&a, &revision, 4, 0xa);
    for round in 0..3u32 {
        let mut b = data.start();
        let load = Clients::start(&b, &revision, 4, 0xb0 + round);
        let started = Instant::now();
        while load.acked() == 0 && !load.stopped() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "B acknowledged nothing (seed {seed})"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(rng.u64(0..=600))).await;
        b.kill();
        let result = load.stop().await;
        let unexpected: Vec<&String> = result
            .failures
            .iter()
            .filter(|f| !f.contains("connection failed"))
            .collect();
        assert!(
            unexpected.is_empty(),
            "round {round} (seed {seed}): {unexpected:#?}"
        );
        acks.extend(result.acks);
        assert!(
            !survivor.stopped(),
            "server A kept answering while B died (seed {seed})"
        );
    }
    let kept = survivor.stop().await;
    assert!(kept.failures.is_empty(), "server A: {:#?}", kept.failures);
    acks.extend(kept.acks);
    let records = a.export(&data.auditor_token()).await;
    let logged = assert_every_ack_logged_once(&acks, &records);
    let checkpoints =
        assert_every_proof_verifies_against_the_final_checkpoint(&a, &acks, &data.vkey()).await;
    report(&format!(
        "kill one of two servers: 3 SIGKILLs of B (seed {seed}); {} acknowledged, {logged} in the \
         log, every proof verifies against the final checkpoint ({checkpoints} checkpoints)",
        acks.len()
    ));
    drop(a);
    assert_eq!(data.verify(), logged as u64, "`biscotte verify` agrees");
}

async fn post(server: &crate::process::Server, body: &serde_json::Value) -> reqwest::Response {
    http_client()
        .post(server.url("/api/v1/sites/demo/consents"))
        .header("Origin", ORIGIN)
        .json(body)
        .send()
        .await
        .expect("an answer")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_sent_to_the_other_server_gets_the_original_receipt() {
    let data = DataDir::postgres_with_demo_site();
    let (a, b) = (data.start(), data.start());
    let revision = a.revision().await;
    let mut body = decision(
        &revision,
        "0123456789abcdef0123456789abcdef",
        Method::AcceptAll,
        true,
    );
    body["decision_id"] = serde_json::json!("fedcba9876543210fedcba9876543210");
    let first = post(&a, &body).await;
    assert_eq!(first.status(), 201);
    let first: ConsentResponse = first.json().await.expect("receipt");
    // Another decision in between, so the retry's answer is not merely the latest.
    let other = decision(
        &revision,
        "11111111111111111111111111111111",
        Method::RejectAll,
        false,
    );
    assert_eq!(post(&b, &other).await.status(), 201);
    let again = post(&b, &body).await;
    assert!(again.status().is_success(), "{}", again.status());
    let again: ConsentResponse = again.json().await.expect("receipt");
    assert_eq!(
        again.record_id, first.record_id,
        "the same record, not a second one"
    );
    assert_eq!(again.leaf_index, first.leaf_index);
    let records = a.export(&data.auditor_token()).await;
    assert_eq!(
        records.len(),
        2,
        "two decisions logged, the retry not again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publication_through_one_server_is_served_by_the_other_within_a_second() {
    let data = DataDir::postgres_with_demo_site();
    let (a, b) = (data.start(), data.start());
    let before = b.revision().await;
    // B has served (and cached) the live revision and its banner.
    let banner = http_client()
        .get(b.url("/api/v1/sites/demo/banner?lang=en"))
        .send()
        .await
        .expect("banner");
    assert_eq!(banner.status(), 200);
    let mut file = demo_site_file();
    file.consent.policy_version = format!("{}-multi", file.consent.policy_version);
    let owner = data
        .cli(&["token", "issue", "--role", "owner", "--site", "demo"])
        .expect("token")
        .trim()
        .to_owned();
    let published = http_client()
        .post(a.url("/api/v1/sites/demo/revisions"))
        .bearer_auth(&owner)
        .json(&file)
        .send()
        .await
        .expect("publish");
    assert!(published.status().is_success(), "{}", published.status());
    let published_at = Instant::now();
    let answer: serde_json::Value = published.json().await.expect("published");
    let after: biscotte_shared::api::PublishedConfig =
        serde_json::from_value(answer["published"].clone()).expect("the revision published");
    assert_ne!(after.revision.as_str(), before);
    loop {
        let seen = b.revision().await;
        let projection = http_client()
            .get(b.url("/api/v1/sites/demo/banner?lang=en"))
            .send()
            .await
            .expect("banner")
            .text()
            .await
            .expect("text");
        if seen == after.revision.as_str() && projection.contains(after.revision.as_str()) {
            break;
        }
        assert!(
            published_at.elapsed() < Duration::from_secs(1),
            "server B still serves {seen} a second after A published {}",
            after.revision
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    report(&format!(
        "a publication through A was served by B after {:?}",
        published_at.elapsed()
    ));
    // A decision on the new revision through B is logged after the revision leaf.
    let body = decision(
        after.revision.as_str(),
        "22222222222222222222222222222222",
        Method::AcceptAll,
        true,
    );
    assert_eq!(post(&b, &body).await.status(), 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_database_goes_away_decisions_get_503_with_retry_after_and_the_server_recovers() {
    let url = pg::fresh_database("outage");
    let database = url.rsplit('/').next().expect("name").to_owned();
    let data = DataDir::on_postgres(&url).create_demo_site();
    let server = data.start();
    let revision = server.revision().await;
    let load = Clients::start(&server, &revision, 4, 0x1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let acked_before = load.acked();
    let result = load.stop().await;
    assert!(result.failures.is_empty(), "{:#?}", result.failures);
    let mut acks = result.acks;
    // What a restart does to this database's sessions: every connection is terminated (57P01)
    // and new ones are refused until it is back.
    pg::psql(&format!(
        "ALTER DATABASE {database} ALLOW_CONNECTIONS false"
    ));
    pg::psql(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'"
    ));
    let down = post(
        &server,
        &decision(
            &revision,
            "33333333333333333333333333333333",
            Method::AcceptAll,
            true,
        ),
    )
    .await;
    assert_eq!(
        down.status(),
        503,
        "{}",
        down.text().await.unwrap_or_default()
    );
    assert!(
        down.headers().get("retry-after").is_some(),
        "503 says when to retry"
    );
    let ready = http_client()
        .get(server.url("/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 503, "/readyz reports the database");
    pg::psql(&format!("ALTER DATABASE {database} ALLOW_CONNECTIONS true"));
    // No restart: the server takes decisions again once the database is back.
    let back = Instant::now();
    loop {
        let r = post(
            &server,
            &decision(
                &revision,
                "44444444444444444444444444444444",
                Method::RejectAll,
                false,
            ),
        )
        .await;
        if r.status() == 201 {
            break;
        }
        assert_eq!(r.status(), 503, "only 503 while it comes back");
        assert!(
            back.elapsed() < Duration::from_secs(15),
            "the server did not recover"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let ready = http_client()
        .get(server.url("/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);
    let load = Clients::start(&server, &revision, 4, 0x2);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let result = load.stop().await;
    assert!(result.failures.is_empty(), "{:#?}", result.failures);
    acks.extend(result.acks);
    let records = server.export(&data.auditor_token()).await;
    // Every acknowledged decision is there once; the one refused with 503 is not.
    let logged = assert_every_ack_logged_once(&acks, &records);
    assert_eq!(
        logged,
        acks.len() + 1,
        "the acknowledged ones, and the first after recovery"
    );
    assert!(acked_before > 0);
    assert!(
        records
            .iter()
            .all(|r| r.consent_id != "33333333333333333333333333333333")
    );
}

#[tokio::test]
async fn a_server_never_makes_a_key_of_its_own_for_a_database_that_has_one() {
    let url = pg::fresh_database("keys");
    let first = DataDir::on_postgres(&url).create_demo_site();
    // A second server's directory without the deployment's key: it refuses to start, and makes
    // no key.
    let second = DataDir::on_postgres(&url);
    let refused = second.cli(&["site", "list"]).expect_err("refused");
    assert!(
        refused.contains("copy this deployment's signing key"),
        "{refused}"
    );
    assert!(
        !second.store().join("signing-key.pem").exists(),
        "no key was made"
    );
    // With another key, it refuses too, naming both.
    std::fs::create_dir_all(second.store()).expect("dir");
    let other = DataDir::empty();
    other
        .cli(&["token", "issue", "--role", "admin"])
        .expect("a key of its own");
    std::fs::copy(
        other.store().join("signing-key.pem"),
        second.store().join("signing-key.pem"),
    )
    .expect("copy");
    let refused = second.cli(&["site", "list"]).expect_err("refused");
    assert!(
        refused.contains("is not the one this store's checkpoints are signed with"),
        "{refused}"
    );
    // With the deployment's key, it works.
    std::fs::copy(
        first.store().join("signing-key.pem"),
        second.store().join("signing-key.pem"),
    )
    .expect("copy");
    let listed = second.cli(&["site", "list"]).expect("listed");
    assert!(listed.contains("demo"), "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_of_this_release_starts_beside_a_schema_a_later_release_extended() {
    let url = pg::fresh_database("later");
    let database = url.rsplit('/').next().expect("name").to_owned();
    let data = DataDir::on_postgres(&url).create_demo_site();
    // What a later release's additive migration leaves: a table of its own, and its row in
    // sqlx's ledger, which this release does not know.
    let sql = "CREATE TABLE later_release_notes (id bigint PRIMARY KEY); \
               INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
               VALUES (99990101000000, 'a later release', true, '\\x00', 0)";
    let out = std::process::Command::new("psql")
        .arg(pg::url_of(&database))
        .args(["-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = data.start();
    let revision = server.revision().await;
    let body = decision(
        &revision,
        "55555555555555555555555555555555",
        Method::AcceptAll,
        true,
    );
    assert_eq!(
        post(&server, &body).await.status(),
        201,
        "it records beside the newer schema"
    );
}

#[test]
fn the_database_password_is_never_printed() {
    let url = pg::fresh_database("secret");
    let password = "hunter2-never-printed";
    // The test cluster's URL with this password in it (wrong, or ignored by trust auth).
    let with_password = match url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
    {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or(userinfo);
            format!("postgres://{user}:{password}@{host}")
        }
        None => panic!("the test cluster's URL names a user: {url}"),
    };
    let data = DataDir::on_postgres(&with_password);
    let said = match data.cli(&["site", "list"]) {
        Ok(out) | Err(out) => out,
    };
    assert!(!said.contains(password), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_site_ids_on_postgres_are_answered_never_with_a_5xx() {
    let data = DataDir::postgres_with_demo_site();
    let server = data.start();
    let revision = server.revision().await;
    let hostile = [
        "'; DROP TABLE leaves; --",
        "demo' OR '1'='1",
        "demo\u{0}",
        "%00",
        "démo",
        "$1",
        "demo;SELECT pg_sleep(10)",
    ];
    let mut tasks = Vec::new();
    // 16 clients at once, each with its own timeouts: quoted SQL, NUL bytes, long and unknown ids.
    for client in 0..16u32 {
        let (base, revision) = (server.url(""), revision.clone());
        let hostile = hostile.map(str::to_owned);
        tasks.push(tokio::spawn(async move {
            let http = http_client();
            let mut statuses = Vec::new();
            for n in 0..60u32 {
                let id = match n % 3 {
                    0 => hostile[(n as usize / 3) % hostile.len()].clone(),
                    1 => format!("unknown-{client}-{n}"),
                    _ => "x".repeat(200 + n as usize),
                };
                let path = format!(
                    "{base}/api/v1/sites/{}/banner",
                    id.replace('%', "%25")
                        .replace('/', "%2F")
                        .replace('#', "%23")
                );
                let banner = http.get(&path).send().await.expect("an answer");
                statuses.push((id.clone(), banner.status().as_u16()));
                let body = decision(
                    &revision,
                    &format!("{client:016x}{n:016x}"),
                    Method::AcceptAll,
                    true,
                );
                let posted = http
                    .post(path.replace("/banner", "/consents"))
                    .header("Origin", ORIGIN)
                    .json(&body)
                    .send()
                    .await
                    .expect("an answer");
                statuses.push((id, posted.status().as_u16()));
            }
            statuses
        }));
    }
    for task in tasks {
        for (id, status) in task.await.expect("client") {
            assert!(status < 500, "{id:?} got {status}");
            assert_ne!(status, 201, "{id:?} recorded a decision");
        }
    }
    // Nothing was dropped or damaged: a real decision goes through and the log verifies.
    let body = decision(
        &revision,
        "66666666666666666666666666666666",
        Method::RejectAll,
        false,
    );
    assert_eq!(post(&server, &body).await.status(), 201);
    drop(server);
    assert_eq!(data.verify(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_retries_of_one_decision_on_two_servers_make_one_record() {
    let data = DataDir::postgres_with_demo_site();
    let (a, b) = (data.start(), data.start());
    let revision = a.revision().await;
    for round in 0..5u32 {
        let mut body = decision(&revision, &format!("{round:032x}"), Method::AcceptAll, true);
        body["decision_id"] = serde_json::json!(format!("{:032x}", 0xd00 + round));
        // Other decisions in the same batches, so retries race with appends on both servers.
        let mut tasks = Vec::new();
        for n in 0..16u32 {
            let server = if n % 2 == 0 { a.url("") } else { b.url("") };
            let body = if n % 4 == 3 {
                decision(
                    &revision,
                    &format!("{:016x}{n:016x}", 0xf00 + round),
                    Method::RejectAll,
                    false,
                )
            } else {
                body.clone()
            };
            tasks.push(tokio::spawn(async move {
                let r = http_client()
                    .post(format!("{server}/api/v1/sites/demo/consents"))
                    .header("Origin", ORIGIN)
                    .json(&body)
                    .send()
                    .await
                    .expect("an answer");
                assert!(r.status().is_success(), "{}", r.status());
                (
                    n % 4 == 3,
                    r.json::<ConsentResponse>()
                        .await
                        .expect("receipt")
                        .record_id,
                )
            }));
        }
        let mut retried = std::collections::HashSet::new();
        for task in tasks {
            let (other, record) = task.await.expect("client");
            if !other {
                retried.insert(record);
            }
        }
        assert_eq!(
            retried.len(),
            1,
            "round {round}: every retry got the same record: {retried:?}"
        );
    }
    let records = a.export(&data.auditor_token()).await;
    // Per round: the decision once, and its four other decisions.
    assert_eq!(records.len(), 5 * 5);
    drop((a, b));
    assert_eq!(data.verify(), 25);
}
