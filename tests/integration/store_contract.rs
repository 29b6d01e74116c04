//! The contract every `Store` backend passes. Each case takes a `Backend` (how to open a store
//! on a directory, signing with that directory's key) and runs on both engines: sled in a
//! temporary directory, and PostgreSQL in a database of the test cluster (`pg.rs`) named for
//! that directory.
//! Time is passed in (`append` takes its `now`): no case sleeps to make time pass.

use crate::harness::demo_site_file;
use biscotte_server::auth::Signer;
use biscotte_server::evidence::{self, LogKey};
use biscotte_server::store::{
    ExportRow, NewDecision, NewSite, PgStore, SiteSettings, SledStore, Store, StoreError,
    StoredLeaf,
};
use biscotte_server::verify::verify_store;
use biscotte_shared::api::{ConsentRecord, PublishedConfig};
use biscotte_shared::leaf::Leaf;
use biscotte_shared::merkle;
use biscotte_shared::note::{self, VerifierKey};
use biscotte_shared::{Choices, Decision, Lang, Method, Recipe, Revision, SiteConfig, Timestamp};
use futures_util::StreamExt;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;

type Backend = fn(&Path) -> Arc<dyn Store>;

/// The deployment's key, kept beside the store (as `data_dir/signing-key.pem` is by default).
fn key(dir: &Path) -> LogKey {
    std::fs::create_dir_all(dir).expect("dir");
    let signer = Signer::load_or_create(&dir.join("signing-key.pem")).expect("key");
    LogKey::new("consent.example.test", signer).expect("log key")
}

fn vkey(dir: &Path, site: &str) -> VerifierKey {
    key(dir).vkey(site).expect("vkey")
}

fn sled(dir: &Path) -> Arc<dyn Store> {
    Arc::new(SledStore::open(dir, key(dir)).expect("sled store opens"))
}

fn postgres(dir: &Path) -> Arc<dyn Store> {
    let url = crate::pg::database_for(dir);
    let key = key(dir);
    Arc::new(
        PgStore::open(&url, Box::new(move |_| Ok(key)), Arc::new(|_, _| {}))
            .expect("PostgreSQL store opens"),
    )
}

fn config() -> SiteConfig {
    demo_site_file().validate().expect("valid demo").config
}

/// A moment of the tests' own clock.
fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(1_800_000_000_000 + ms)
}

async fn with_site(store: &dyn Store, id: &str) -> Revision {
    store
        .create_site(NewSite {
            id: id.into(),
            name: id.into(),
            origins: vec!["https://shop.example".into()],
            config: config(),
            now: at(0),
            checkpoints_public: true,
            retention_days: evidence::DEFAULT_RETENTION_DAYS,
        })
        .await
        .expect("site created")
        .revision
}

fn consent_id(n: u64) -> String {
    format!("{n:032x}")
}

fn decision(site: &str, revision: &Revision, n: u64, accept: bool) -> NewDecision {
    NewDecision {
        site: site.into(),
        revision: revision.clone(),
        policy_version: "1".into(),
        decision: Decision {
            consent_id: consent_id(n),
            method: if accept {
                Method::AcceptAll
            } else {
                Method::RejectAll
            },
            choices: Choices {
                categories: BTreeMap::from([("analytics".to_owned(), accept)]).into(),
                services: Default::default(),
            },
        },
        language: Lang::Fr,
        url: Some("https://shop.example/".into()),
        undeleted_cookies: Vec::new(),
        decision_id: None,
    }
}

async fn all(store: &dyn Store, site: &str) -> Vec<ConsentRecord> {
    store
        .records(site, None, None)
        .map(|r| match r.expect("readable record") {
            ExportRow::Record(r) => r,
            ExportRow::Erased { .. } => panic!("no record was erased"),
        })
        .collect()
        .await
}

/// The proof of an answer holds: its checkpoint is signed by the log's key, and the record's
/// leaf is in that tree.
fn check_logged(logged: &biscotte_server::store::Logged, key: &VerifierKey) -> note::Checkpoint {
    let cp = note::open_checkpoint(&logged.checkpoint.text, key).expect("a signed checkpoint");
    assert_eq!(cp.size, logged.checkpoint.size);
    let hash = merkle::leaf_hash(&logged.leaf);
    assert_eq!(
        biscotte_shared::revision::hex(&hash),
        logged.record.leaf_hash
    );
    merkle::verify_inclusion(
        &hash,
        logged.record.leaf_index,
        cp.size,
        &logged.proof,
        &cp.root,
    )
    .expect("the record's leaf is in its checkpoint");
    let leaf = Leaf::decode(&logged.leaf).expect("canonical leaf");
    assert_eq!(
        leaf.to_record(logged.record.leaf_index, &hash).as_ref(),
        Some(&logged.record),
        "the leaf says what the record says"
    );
    cp
}

async fn sites_are_created_once_and_every_revision_stays_readable(open: Backend) {
    let dir = tempfile::tempdir().expect("tmp");
    let store = open(dir.path());
    let v1 = with_site(&*store, "shop").await;
    let again = store
        .create_site(NewSite {
            id: "shop".into(),
            name: "again".into(),
            origins: vec![],
            config: config(),
            now: at(2_000),
            checkpoints_public: true,
            retention_days: 30,
        })
        .await;
    assert!(matches!(again, Err(StoreError::SiteExists(id)) if id == "shop"));

    let mut changed = config();
    changed.policy_version = "2".into();
    let v2 = store
        .publish("shop", changed.clone(), SiteSettings::default(), at(3_000))
        .await
        .expect("published");
    assert_ne!(v2.revision, v1);
    assert_eq!(
        v2.recipe,
        Recipe::CURRENT,
        "new publications use today's recipe"
    );
    assert!(v2.revision_matches());
    let (site, live) = store.current("shop").await.expect("read").expect("site");
    assert_eq!(
        (site.current_revision.clone(), live.revision.clone()),
        (v2.revision.clone(), v2.revision.clone())
    );
    assert_eq!(
        site.origins,
        ["https://shop.example"],
        "origins kept when not given"
    );
    let first = store
        .published("shop", &v1)
        .await
        .expect("read")
        .expect("v1 kept");
    assert_eq!(first.published_at, at(0));

    // Publishing v1 again makes it live with its first publication time.
    let back = store
        .publish(
            "shop",
            config(),
            SiteSettings {
                origins: Some(vec!["https://new.example".into()]),
                ..SiteSettings::default()
            },
            at(4_000),
        )
        .await
        .expect("republished");
    assert_eq!(
        (back.revision.clone(), back.published_at),
        (v1.clone(), at(0))
    );
    let site = store.site("shop").await.expect("read").expect("site");
    assert_eq!(site.origins, ["https://new.example"]);

    // Each publication that went live is a revision leaf, in order: v1, v2, v1 again.
    let leaves = store
        .revision_leaves("shop")
        .await
        .expect("revision leaves");
    let logged: Vec<(u64, Revision, Timestamp)> = leaves
        .iter()
        .map(|e| (e.index, e.leaf.revision.clone(), e.leaf.server_time))
        .collect();
    assert_eq!(
        logged,
        [
            (0, v1.clone(), at(0)),
            (1, v2.revision.clone(), at(3_000)),
            (2, v1.clone(), at(4_000))
        ]
    );
    assert_eq!(leaves[2].leaf.published_at, at(0), "first publication kept");
    // Publishing what is live already logs nothing.
    store
        .publish("shop", config(), SiteSettings::default(), at(5_000))
        .await
        .expect("unchanged");
    assert_eq!(store.revision_leaves("shop").await.expect("read").len(), 3);

    let unknown = store
        .publish("nope", config(), SiteSettings::default(), at(5_000))
        .await;
    assert!(matches!(unknown, Err(StoreError::UnknownSite(_))));
    let ids: Vec<String> = store
        .sites()
        .await
        .expect("list")
        .iter()
        .map(|s| s.id.clone())
        .collect();
    assert_eq!(ids, ["shop"]);
}

async fn appends_are_numbered_from_one_in_time_order_each_with_a_proof_in_a_signed_checkpoint(
    open: Backend,
) {
    let dir = tempfile::tempdir().expect("tmp");
    let store = open(dir.path());
    let key = vkey(dir.path(), "shop");
    let rev = with_site(&*store, "shop").await;
    // The clock steps back between the third and fourth decision: stamps never do.
    let clock = [at(10), at(20), at(30), at(25), at(40)];
    let mut stamps = Vec::new();
    for (n, now) in (0..5).zip(clock) {
        let logged = store
            .append(decision("shop", &rev, n, n % 2 == 0), now)
            .await
            .expect("appended");
        assert_eq!(logged.record.record_id, n + 1, "decisions numbered from 1");
        assert_eq!(
            logged.record.leaf_index,
            n + 1,
            "the site's first publication is leaf 0"
        );
        assert!(!logged.repeated);
        let cp = check_logged(&logged, &key);
        assert!(cp.size > logged.record.leaf_index);
        stamps.push(logged.record.server_time);
    }
    assert_eq!(stamps, [at(10), at(20), at(30), at(30), at(40)]);
    let records = all(&*store, "shop").await;
    assert_eq!(records.len(), 5);
    let latest = store
        .checkpoint("shop")
        .await
        .expect("read")
        .expect("signed");
    assert_eq!(latest.size, 6);
    assert_eq!(
        store
            .checkpoint_at("shop", latest.size)
            .await
            .expect("read")
            .as_deref(),
        Some(latest.text.as_str())
    );
    let report = verify_store(&*store, "shop", &key).await.expect("verify");
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(
        (report.leaves, report.decisions, report.revisions),
        (6, 5, 1)
    );
    let unknown = store.append(decision("nope", &rev, 9, true), at(50)).await;
    assert!(
        matches!(unknown, Err(StoreError::UnknownSite(_))),
        "{unknown:?}"
    );
}

async fn concurrent_appends_are_each_acknowledged_once_and_every_checkpoint_extends_the_last(
    open: Backend,
) {
    let dir = tempfile::tempdir().expect("tmp");
    let store = open(dir.path());
    let rev = with_site(&*store, "shop").await;
    let other = with_site(&*store, "other").await;
    let mut tasks = Vec::new();
    for client in 0..64u64 {
        let store = store.clone();
        let (rev, other) = (rev.clone(), other.clone());
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0..40 {
                let n = client * 1_000 + i;
                let (site, rev) = if n % 5 == 0 {
                    ("other", &other)
                } else {
                    ("shop", &rev)
                };
                let logged = tokio::time::timeout(
                    std::time::Duration::from_secs(20),
                    store.append(decision(site, rev, n, true), at(100)),
                )
                .await
                .expect("an append never hangs")
                .expect("appended");
                acked.push(logged);
            }
            acked
        }));
    }
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.expect("task"));
    }
    assert_eq!(acked.len(), 64 * 40);
    for site in ["shop", "other"] {
        let key = vkey(dir.path(), site);
        let records = all(&*store, site).await;
        let mine: Vec<_> = acked.iter().filter(|a| a.record.site == site).collect();
        let expected: HashSet<(u64, String)> = mine
            .iter()
            .map(|a| (a.record.record_id, a.record.consent_id.clone()))
            .collect();
        let stored: HashSet<(u64, String)> = records
            .iter()
            .map(|r| (r.record_id, r.consent_id.clone()))
            .collect();
        assert_eq!(stored.len(), records.len(), "no record twice");
        assert_eq!(
            stored, expected,
            "every acknowledged decision, and nothing else"
        );
        let last = store.checkpoint(site).await.expect("read").expect("signed");
        let last_cp = note::open_checkpoint(&last.text, &key).expect("signed");
        for a in &mine {
            // Its own checkpoint covers it, and extends into the last one.
            let cp = check_logged(a, &key);
            let proof = store
                .consistency_proof(site, cp.size, last.size)
                .await
                .expect("consistency proof");
            if cp.size != last.size {
                merkle::verify_consistency(cp.size, last.size, &cp.root, &last_cp.root, &proof)
                    .expect("every checkpoint extends into the last");
            } else {
                assert_eq!(cp.root, last_cp.root);
            }
        }
        let report = verify_store(&*store, site, &key).await.expect("verify");
        assert!(report.is_ok(), "{:?}", report.problems);
        assert!(report.checkpoints >= 2, "one checkpoint per batch");
    }
}

async fn an_export_range_is_server_time_from_inclusive_to_exclusive(open: Backend) {
    let dir = tempfile::tempdir().expect("tmp");
    let store = open(dir.path());
    let rev = with_site(&*store, "shop").await;
    let mut times = Vec::new();
    for n in 0..3 {
        let now = at(1_000 * (n as i64 + 1));
        times.push(
            store
                .append(decision("shop", &rev, n, true), now)
                .await
                .expect("appended")
                .record
                .server_time,
        );
    }
    let range: Vec<u64> = store
        .records("shop", Some(times[1]), Some(times[2]))
        .map(|r| match r.expect("record") {
            ExportRow::Record(r) => r.record_id,
            ExportRow::Erased { record_id, .. } => record_id,
        })
        .collect()
        .await;
    assert_eq!(range, [2]);
    let none: Vec<_> = store
        .records("shop", Some(times[2].plus_millis(1)), None)
        .collect()
        .await;
    assert!(none.is_empty());
    assert_eq!(store.index_at("shop", times[1]).await.expect("index"), 2);
    assert_eq!(
        store
            .index_at("shop", times[2].plus_millis(1))
            .await
            .expect("index"),
        4,
        "past the last leaf: the log's size"
    );
}

async fn a_visitors_records_are_found_through_the_index(open: Backend) {
    let dir = tempfile::tempdir().expect("tmp");
    let store = open(dir.path());
    let rev = with_site(&*store, "shop").await;
    let other = with_site(&*store, "other").await;
    for (site, rev, n, accept) in [
        ("shop", &rev, 7, true),
        ("shop", &rev, 8, true),
        ("other", &other, 7, true),
        ("shop", &rev, 7, false),
    ] {
        store
            .append(decision(site, rev, n, accept), at(10))
            .await
            .expect("appended");
    }
    let mine = store
        .records_of_visitor("shop", &consent_id(7))
        .await
        .expect("read");
    let ids: Vec<(u64, Method)> = mine.iter().map(|r| (r.record_id, r.method)).collect();
    assert_eq!(ids, [(1, Method::AcceptAll), (3, Method::RejectAll)]);
    assert!(
        store
            .records_of_visitor("shop", &consent_id(9))
            .await
            .expect("read")
            .is_empty()
    );
}

async fn acknowledged_records_survive_a_restart_and_the_log_goes_on_extending_its_checkpoints(
    open: Backend,
) {
    let dir = tempfile::tempdir().expect("tmp");
    let key = vkey(dir.path(), "shop");
    let (rev, before) = {
        let store = open(dir.path());
        let rev = with_site(&*store, "shop").await;
        let mut retry = decision("shop", &rev, 1, true);
        retry.decision_id = Some(consent_id(0xd1));
        store.append(retry, at(10)).await.expect("appended");
        let before = store
            .checkpoint("shop")
            .await
            .expect("read")
            .expect("signed");
        store.shutdown().await;
        (rev, before)
    };
    // sled releases its lock once the last handle is gone.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let store = open(dir.path());
    assert_eq!(
        store
            .site("shop")
            .await
            .expect("read")
            .expect("site")
            .current_revision,
        rev
    );
    let logged = store
        .append(decision("shop", &rev, 2, true), at(20))
        .await
        .expect("appended");
    assert_eq!(logged.record.record_id, 2);
    let after = check_logged(&logged, &key);
    let before_cp = note::open_checkpoint(&before.text, &key).expect("signed");
    let proof = store
        .consistency_proof("shop", before.size, after.size)
        .await
        .expect("proof");
    merkle::verify_consistency(
        before.size,
        after.size,
        &before_cp.root,
        &after.root,
        &proof,
    )
    .expect("the checkpoint after the restart extends the one before");
    // A retry of the decision logged before the restart gets it back.
    let mut retry = decision("shop", &rev, 1, true);
    retry.decision_id = Some(consent_id(0xd1));
    let again = store.append(retry, at(30)).await.expect("answered");
    assert!(again.repeated);
    assert_eq!(again.record.record_id, 1);
    check_logged(&again, &key);
    assert_eq!(all(&*store, "shop").await.len(), 2);
    assert_eq!(
        store
            .records_of_visitor("shop", &consent_id(1))
            .await
            .expect("read")
            .len(),
        1
    );
}

async fn sixteen_concurrent_retries_of_one_decision_make_one_record(open: Backend) {
    let dir = tempfile::tempdir().expect("tmp");
    let store = open(dir.path());
    let key = vkey(dir.path(), "shop");
    let rev = with_site(&*store, "shop").await;
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let store = store.clone();
        let mut retry = decision("shop", &rev, 5, true);
        retry.decision_id = Some(consent_id(0xabc));
        tasks.push(tokio::spawn(async move {
            store.append(retry, at(10)).await.expect("answered")
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.expect("task"));
    }
    assert_eq!(answers.iter().filter(|a| !a.repeated).count(), 1);
    for a in &answers {
        assert_eq!(
            a.record, answers[0].record,
            "each retry gets the one record"
        );
        check_logged(a, &key);
    }
    assert_eq!(all(&*store, "shop").await.len(), 1);
    // The same id for another decision is refused, and nothing is logged.
    let mut other = decision("shop", &rev, 6, false);
    other.decision_id = Some(consent_id(0xabc));
    let refused = store.append(other, at(20)).await;
    assert!(
        matches!(refused, Err(StoreError::DecisionIdReused(_))),
        "{refused:?}"
    );
    // A decision without an id (an older banner's) is logged without the check, each time.
    for _ in 0..2 {
        store
            .append(decision("shop", &rev, 5, true), at(30))
            .await
            .expect("appended");
    }
    assert_eq!(all(&*store, "shop").await.len(), 3);
}

async fn retention_erases_exactly_the_expired_contents_and_every_proof_still_verifies(
    open: Backend,
) {
    let dir = tempfile::tempdir().expect("tmp");
    let store = open(dir.path());
    let key = vkey(dir.path(), "shop");
    let rev = with_site(&*store, "shop").await;
    let day = biscotte_shared::time::DAY_MS;
    let mut answers = Vec::new();
    for n in 0..6u64 {
        if n == 2 {
            // A second publication in the middle of the period to erase stays readable.
            let mut changed = config();
            changed.policy_version = "2".into();
            store
                .publish("shop", changed, SiteSettings::default(), at(day + 1))
                .await
                .expect("published");
        }
        let mut d = decision("shop", &rev, n, true);
        d.decision_id = Some(consent_id(0x100 + n));
        answers.push(store.append(d, at(day * n as i64)).await.expect("appended"));
    }
    let before = store
        .checkpoint("shop")
        .await
        .expect("read")
        .expect("signed");
    // Kept 2 days, counted at day 5: decisions of days 0, 1 and 2 are past; day 3's is not.
    let cutoff = evidence::retention_cutoff(at(5 * day), 2);
    let retained = store.retain("shop", cutoff).await.expect("retention");
    assert_eq!(retained.erased, 3);
    let rows: Vec<ExportRow> = store
        .records("shop", None, None)
        .map(|r| r.expect("row"))
        .collect()
        .await;
    let erased: Vec<u64> = rows
        .iter()
        .filter_map(|r| match r {
            ExportRow::Erased { record_id, .. } => Some(*record_id),
            ExportRow::Record(_) => None,
        })
        .collect();
    assert_eq!(erased, [1, 2, 3], "the oldest decisions, as a prefix");
    assert_eq!(rows.len(), 6, "erased decisions are reported, not missing");
    assert!(
        store
            .records_of_visitor("shop", &consent_id(0))
            .await
            .expect("read")
            .is_empty(),
        "the visitor index forgets an erased decision"
    );
    // Every hash stays: the checkpoint signed before still has the same root, every leaf's
    // proof still verifies, and the log verifies with its erased leaves.
    let cp = note::open_checkpoint(&before.text, &key).expect("signed");
    let mut leaves = store.leaves("shop", 0, before.size);
    while let Some(entry) = leaves.next().await {
        let (index, leaf) = entry.expect("leaf");
        let proof = store
            .inclusion_proof("shop", index, before.size)
            .await
            .expect("proof");
        merkle::verify_inclusion(&leaf.hash(), index, before.size, &proof, &cp.root)
            .expect("the leaf, erased or not, is still in the signed tree");
        if index == answers[0].record.leaf_index {
            assert!(matches!(leaf, StoredLeaf::Erased { .. }));
        }
    }
    let revisions = store.revision_leaves("shop").await.expect("read");
    assert_eq!(revisions.len(), 2, "revision leaves are never erased");
    let report = verify_store(&*store, "shop", &key).await.expect("verify");
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.erased, 3);
    // A retry of an erased decision is refused (its content is gone), never logged again.
    let mut retry = decision("shop", &rev, 0, true);
    retry.decision_id = Some(consent_id(0x100));
    assert!(store.append(retry, at(6 * day)).await.is_err());
    // A second pass at the same time erases nothing more.
    assert_eq!(store.retain("shop", cutoff).await.expect("again").erased, 0);
}

async fn after_shutdown_writes_are_refused_as_unavailable_and_ready_says_so(open: Backend) {
    let dir = tempfile::tempdir().expect("tmp");
    let store = open(dir.path());
    let rev = with_site(&*store, "shop").await;
    store.ready().await.expect("a live store is ready");
    assert!(store.size_on_disk().expect("size") > 0);
    store.shutdown().await;
    let refused = store.append(decision("shop", &rev, 1, true), at(10)).await;
    assert!(
        matches!(refused, Err(StoreError::Unavailable(_))),
        "{refused:?}"
    );
    assert!(store.ready().await.is_err());
}

#[tokio::test]
async fn sled_sites_are_created_once_and_every_revision_stays_readable() {
    sites_are_created_once_and_every_revision_stays_readable(sled).await;
}

#[tokio::test]
async fn postgres_sites_are_created_once_and_every_revision_stays_readable() {
    sites_are_created_once_and_every_revision_stays_readable(postgres).await;
}

#[tokio::test]
async fn sled_appends_are_numbered_from_one_in_time_order_each_with_a_proof_in_a_signed_checkpoint()
{
    appends_are_numbered_from_one_in_time_order_each_with_a_proof_in_a_signed_checkpoint(sled)
        .await;
}

#[tokio::test]
async fn postgres_appends_are_numbered_from_one_in_time_order_each_with_a_proof_in_a_signed_checkpoint()
 {
    appends_are_numbered_from_one_in_time_order_each_with_a_proof_in_a_signed_checkpoint(postgres)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sled_concurrent_appends_are_each_acknowledged_once_and_every_checkpoint_extends_the_last()
{
    concurrent_appends_are_each_acknowledged_once_and_every_checkpoint_extends_the_last(sled).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_concurrent_appends_are_each_acknowledged_once_and_every_checkpoint_extends_the_last()
 {
    concurrent_appends_are_each_acknowledged_once_and_every_checkpoint_extends_the_last(postgres)
        .await;
}

#[tokio::test]
async fn sled_an_export_range_is_server_time_from_inclusive_to_exclusive() {
    an_export_range_is_server_time_from_inclusive_to_exclusive(sled).await;
}

#[tokio::test]
async fn postgres_an_export_range_is_server_time_from_inclusive_to_exclusive() {
    an_export_range_is_server_time_from_inclusive_to_exclusive(postgres).await;
}

#[tokio::test]
async fn sled_a_visitors_records_are_found_through_the_index() {
    a_visitors_records_are_found_through_the_index(sled).await;
}

#[tokio::test]
async fn postgres_a_visitors_records_are_found_through_the_index() {
    a_visitors_records_are_found_through_the_index(postgres).await;
}

#[tokio::test]
async fn sled_acknowledged_records_survive_a_restart_and_the_log_goes_on_extending_its_checkpoints()
{
    acknowledged_records_survive_a_restart_and_the_log_goes_on_extending_its_checkpoints(sled)
        .await;
}

#[tokio::test]
async fn postgres_acknowledged_records_survive_a_restart_and_the_log_goes_on_extending_its_checkpoints()
 {
    acknowledged_records_survive_a_restart_and_the_log_goes_on_extending_its_checkpoints(postgres)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sled_sixteen_concurrent_retries_of_one_decision_make_one_record() {
    sixteen_concurrent_retries_of_one_decision_make_one_record(sled).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_sixteen_concurrent_retries_of_one_decision_make_one_record() {
    sixteen_concurrent_retries_of_one_decision_make_one_record(postgres).await;
}

#[tokio::test]
async fn sled_retention_erases_exactly_the_expired_contents_and_every_proof_still_verifies() {
    retention_erases_exactly_the_expired_contents_and_every_proof_still_verifies(sled).await;
}

#[tokio::test]
async fn postgres_retention_erases_exactly_the_expired_contents_and_every_proof_still_verifies() {
    retention_erases_exactly_the_expired_contents_and_every_proof_still_verifies(postgres).await;
}

#[tokio::test]
async fn sled_after_shutdown_writes_are_refused_as_unavailable_and_ready_says_so() {
    after_shutdown_writes_are_refused_as_unavailable_and_ready_says_so(sled).await;
}

#[tokio::test]
async fn postgres_after_shutdown_writes_are_refused_as_unavailable_and_ready_says_so() {
    after_shutdown_writes_are_refused_as_unavailable_and_ready_says_so(postgres).await;
}

#[tokio::test]
async fn a_store_is_never_signed_under_another_key_or_name_than_the_one_it_pinned() {
    let dir = tempfile::tempdir().expect("tmp");
    {
        let store = sled(dir.path());
        with_site(&*store, "shop").await;
        store.shutdown().await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let other_key = Signer::load_or_create(&dir.path().join("another-key.pem")).expect("key");
    let refused = SledStore::open(
        dir.path(),
        LogKey::new("consent.example.test", other_key).expect("log key"),
    );
    let message = refused.expect_err("another key is refused").to_string();
    assert!(message.contains("signing key"), "{message}");
    let same_key = Signer::load_or_create(&dir.path().join("signing-key.pem")).expect("key");
    let renamed = SledStore::open(
        dir.path(),
        LogKey::new("other.example", same_key).expect("key"),
    );
    let message = renamed.expect_err("another name is refused").to_string();
    assert!(message.contains("public_name"), "{message}");
    // With its own key and name, it opens.
    let store = sled(dir.path());
    assert!(store.checkpoint("shop").await.expect("read").is_some());
}

/// A published revision as the server stored it before revision recipes had numbers.
const STORED_BEFORE_RECIPES: &[u8] =
    include_bytes!("../../shared/tests/fixtures/published-v1.json");

#[tokio::test]
async fn a_sled_store_written_before_revision_recipes_keeps_its_revisions_and_publishes_under_today_s()
 {
    let dir = tempfile::tempdir().expect("tmp");
    let old: PublishedConfig = serde_json::from_slice(STORED_BEFORE_RECIPES).expect("stored form");
    {
        // The trees as the previous version of the sled store wrote them.
        let db = sled::open(dir.path()).expect("sled opens");
        let key = [b"bakery\0".as_slice(), old.revision.as_str().as_bytes()].concat();
        db.open_tree("configs")
            .expect("tree")
            .insert(key, STORED_BEFORE_RECIPES)
            .expect("insert");
        let site = serde_json::json!({
            "id": "bakery",
            "name": "Bakery",
            "origins": ["https://bakery.example"],
            "created_at": 1_750_000_000_000_i64,
            "current_revision": old.revision,
        });
        db.open_tree("sites")
            .expect("tree")
            .insert("bakery", serde_json::to_vec(&site).expect("JSON"))
            .expect("insert");
        db.flush().expect("flush");
    }
    let store = sled(dir.path());
    let (_, live) = store.current("bakery").await.expect("read").expect("site");
    assert_eq!(*live, old);
    assert_eq!(live.recipe, Recipe::V1);
    assert!(
        live.revision_matches(),
        "the stored revision keeps its meaning"
    );
    let logged = store.revision_leaves("bakery").await.expect("read");
    assert_eq!(logged.len(), 1, "the upgrade logs the live revision");
    assert_eq!(logged[0].leaf.recipe, Recipe::V1);

    // Publishing the same configuration again makes a revision under today's recipe; decisions
    // that name the earlier one still find it, unchanged.
    let now = Timestamp::from_millis(1_800_000_000_000);
    let republished = store
        .publish("bakery", old.config.clone(), SiteSettings::default(), now)
        .await
        .expect("published");
    assert_eq!(republished.recipe, Recipe::CURRENT);
    assert_ne!(republished.revision, old.revision);
    assert!(republished.revision_matches());
    let (site, _) = store.current("bakery").await.expect("read").expect("site");
    assert_eq!(site.current_revision, republished.revision);
    let earlier = store
        .published("bakery", &old.revision)
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(*earlier, old);
    let again = store
        .publish(
            "bakery",
            old.config.clone(),
            SiteSettings::default(),
            now.plus_days(1),
        )
        .await
        .expect("published");
    assert_eq!(again, republished, "nothing changed, nothing is written");
    let report = verify_store(&*store, "bakery", &vkey(dir.path(), "bakery"))
        .await
        .expect("verify");
    assert!(report.is_ok(), "{:?}", report.problems);
}

/// Copies the fixture store written by a41f9c0 (tests/fixtures/README.md) to `to`.
pub fn fixture_store(to: &Path) {
    let from = crate::harness::repo_path("tests/fixtures/store-a41f9c0");
    let mut pending = vec![(from, to.to_path_buf())];
    while let Some((src, dst)) = pending.pop() {
        std::fs::create_dir_all(&dst).expect("dir");
        for entry in std::fs::read_dir(&src).expect("fixture") {
            let entry = entry.expect("entry");
            let target = dst.join(entry.file_name());
            if entry.file_type().expect("type").is_dir() {
                pending.push((entry.path(), target));
            } else {
                std::fs::copy(entry.path(), target).expect("copy");
            }
        }
    }
}

#[tokio::test]
async fn a_store_written_by_a41f9c0_is_upgraded_in_place_verifies_and_exports_its_records() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("store");
    fixture_store(&path);
    let store = sled(&path);
    for (site, decisions, revisions) in [("demo", 8u64, 2u64), ("bakery", 1, 1)] {
        let key = vkey(&path, site);
        let report = verify_store(&*store, site, &key).await.expect("verify");
        assert!(report.is_ok(), "{site}: {:?}", report.problems);
        assert_eq!((report.decisions, report.revisions), (decisions, revisions));
        // The records export with the fields and chain hashes that release exported.
        let then = std::fs::read_to_string(crate::harness::repo_path(&format!(
            "tests/fixtures/store-a41f9c0-{site}.ndjson"
        )))
        .expect("fixture export");
        let now = all(&*store, site).await;
        assert_eq!(now.len() as u64, decisions);
        for (line, record) in then.lines().zip(&now) {
            let old: serde_json::Value = serde_json::from_str(line).expect("JSON");
            let mut new = serde_json::to_value(record).expect("JSON");
            let fields = new.as_object_mut().expect("object");
            assert_eq!(
                fields.remove("leaf_index"),
                Some(serde_json::json!(record.record_id - 1)),
                "a legacy record's leaf index is its number less one"
            );
            fields.remove("leaf_hash");
            assert_eq!(new, old, "record {} exports as it did", record.record_id);
        }
    }
    // The log goes on after the legacy leaves and the revision leaves.
    let rev = store
        .site("demo")
        .await
        .expect("read")
        .expect("site")
        .current_revision
        .clone();
    let logged = store
        .append(
            decision("demo", &rev, 99, true),
            biscotte_server::routes::now(),
        )
        .await
        .expect("appended");
    assert_eq!(logged.record.record_id, 9);
    assert_eq!(logged.record.leaf_index, 10);
    check_logged(&logged, &vkey(&path, "demo"));
}

#[cfg(unix)]
#[tokio::test]
async fn the_sled_store_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("store");
    let store = sled(&path);
    with_site(&*store, "shop").await;
    let mut seen = 0;
    let mut pending = vec![path];
    while let Some(p) = pending.pop() {
        let meta = std::fs::metadata(&p).expect("metadata");
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_dir() {
            assert_eq!(mode, 0o700, "{}", p.display());
            pending.extend(
                std::fs::read_dir(&p)
                    .expect("dir")
                    .map(|e| e.expect("entry").path()),
            );
        } else {
            assert_eq!(mode, 0o600, "{}", p.display());
            seen += 1;
        }
    }
    assert!(seen >= 2, "the store's files were checked");
}
