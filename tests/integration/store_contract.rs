//! The contract every `Store` backend passes. Each case takes a `Backend` (how to open a store
//! on a directory), so a second engine (PostgreSQL) runs the same cases by adding one line per
//! case below; today they run on sled in a temporary directory.

use crate::harness::demo_site_file;
use biscotte_server::proof;
use biscotte_server::store::{NewDecision, NewSite, SledStore, Store, StoreError};
use biscotte_shared::api::{ConsentRecord, PublishedConfig};
use biscotte_shared::{Choices, Decision, Lang, Method, Recipe, Revision, SiteConfig, Timestamp};
use futures_util::StreamExt;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;

type Backend = fn(&Path) -> Arc<dyn Store>;

fn sled(dir: &Path) -> Arc<dyn Store> {
    Arc::new(SledStore::open(dir).expect("sled store opens"))
}

fn config() -> SiteConfig {
    demo_site_file().validate().expect("valid demo").config
}

async fn with_site(store: &dyn Store, id: &str) -> Revision {
    store
        .create_site(NewSite {
            id: id.into(),
            name: id.into(),
            origins: vec!["https://shop.example".into()],
            config: config(),
            now: Timestamp::from_millis(1_000),
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
    }
}

async fn all(store: &dyn Store, site: &str) -> Vec<ConsentRecord> {
    store
        .records(site, None, None)
        .map(|r| r.expect("readable record"))
        .collect()
        .await
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
            now: Timestamp::from_millis(2_000),
        })
        .await;
    assert!(matches!(again, Err(StoreError::SiteExists(id)) if id == "shop"));

    let mut changed = config();
    changed.policy_version = "2".into();
    let v2 = store
        .publish("shop", changed.clone(), None, Timestamp::from_millis(3_000))
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
    assert_eq!(first.published_at, Timestamp::from_millis(1_000));

    // Publishing v1 again makes it live with its first publication time.
    let back = store
        .publish(
            "shop",
            config(),
            Some(vec!["https://new.example".into()]),
            Timestamp::from_millis(4_000),
        )
        .await
        .expect("republished");
    assert_eq!(
        (back.revision.clone(), back.published_at),
        (v1.clone(), Timestamp::from_millis(1_000))
    );
    let site = store.site("shop").await.expect("read").expect("site");
    assert_eq!(site.origins, ["https://new.example"]);

    let unknown = store
        .publish("nope", config(), None, Timestamp::from_millis(5_000))
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

async fn appends_are_numbered_from_one_chained_and_stamped_in_log_order(open: Backend) {
    let dir = tempfile::tempdir().expect("tmp");
    let store = open(dir.path());
    let rev = with_site(&*store, "shop").await;
    let before = biscotte_server::routes::now();
    for n in 0..5 {
        let r = store
            .append(decision("shop", &rev, n, n % 2 == 0))
            .await
            .expect("appended");
        assert_eq!(r.record_id, n + 1);
        assert!(r.server_time >= before, "the store stamps server time");
    }
    let records = all(&*store, "shop").await;
    assert_eq!(proof::verify_chain(&records), Ok(5));
    assert!(
        records
            .windows(2)
            .all(|w| w[0].server_time <= w[1].server_time)
    );
    let unknown = store.append(decision("nope", &rev, 9, true)).await;
    assert!(
        matches!(unknown, Err(StoreError::UnknownSite(_))),
        "{unknown:?}"
    );
}

async fn concurrent_appends_are_each_acknowledged_once_in_one_unbroken_chain(open: Backend) {
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
                let r = tokio::time::timeout(
                    std::time::Duration::from_secs(20),
                    store.append(decision(site, rev, n, true)),
                )
                .await
                .expect("an append never hangs")
                .expect("appended");
                acked.push((r.site, r.record_id, r.consent_id));
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
        let records = all(&*store, site).await;
        let expected: HashSet<(u64, String)> = acked
            .iter()
            .filter(|a| a.0 == site)
            .map(|a| (a.1, a.2.clone()))
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
        assert_eq!(proof::verify_chain(&records), Ok(expected.len() as u64));
    }
}

async fn an_export_range_is_server_time_from_inclusive_to_exclusive(open: Backend) {
    let dir = tempfile::tempdir().expect("tmp");
    let store = open(dir.path());
    let rev = with_site(&*store, "shop").await;
    let mut times = Vec::new();
    for n in 0..3 {
        times.push(
            store
                .append(decision("shop", &rev, n, true))
                .await
                .expect("appended")
                .server_time,
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let range: Vec<u64> = store
        .records("shop", Some(times[1]), Some(times[2]))
        .map(|r| r.expect("record").record_id)
        .collect()
        .await;
    assert_eq!(range, [2]);
    let none: Vec<_> = store
        .records("shop", Some(times[2].plus_millis(1)), None)
        .collect()
        .await;
    assert!(none.is_empty());
}

async fn a_visitors_records_are_found_through_the_index(open: Backend) {
    let dir = tempfile::tempdir().expect("tmp");
    let store = open(dir.path());
    let rev = with_site(&*store, "shop").await;
    let other = with_site(&*store, "other").await;
    store
        .append(decision("shop", &rev, 7, true))
        .await
        .expect("appended");
    store
        .append(decision("shop", &rev, 8, true))
        .await
        .expect("appended");
    store
        .append(decision("other", &other, 7, true))
        .await
        .expect("appended");
    store
        .append(decision("shop", &rev, 7, false))
        .await
        .expect("appended");
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

async fn acknowledged_records_survive_a_restart_and_the_chain_goes_on(open: Backend) {
    let dir = tempfile::tempdir().expect("tmp");
    let rev = {
        let store = open(dir.path());
        let rev = with_site(&*store, "shop").await;
        store
            .append(decision("shop", &rev, 1, true))
            .await
            .expect("appended");
        store.shutdown().await;
        rev
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
    let r = store
        .append(decision("shop", &rev, 2, true))
        .await
        .expect("appended");
    assert_eq!(r.record_id, 2);
    assert_eq!(proof::verify_chain(&all(&*store, "shop").await), Ok(2));
    assert_eq!(
        store
            .records_of_visitor("shop", &consent_id(1))
            .await
            .expect("read")
            .len(),
        1
    );
}

async fn after_shutdown_writes_are_refused_as_unavailable_and_ready_says_so(open: Backend) {
    let dir = tempfile::tempdir().expect("tmp");
    let store = open(dir.path());
    let rev = with_site(&*store, "shop").await;
    store.ready().await.expect("a live store is ready");
    assert!(store.size_on_disk().expect("size") > 0);
    store.shutdown().await;
    let refused = store.append(decision("shop", &rev, 1, true)).await;
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
async fn sled_appends_are_numbered_from_one_chained_and_stamped_in_log_order() {
    appends_are_numbered_from_one_chained_and_stamped_in_log_order(sled).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sled_concurrent_appends_are_each_acknowledged_once_in_one_unbroken_chain() {
    concurrent_appends_are_each_acknowledged_once_in_one_unbroken_chain(sled).await;
}

#[tokio::test]
async fn sled_an_export_range_is_server_time_from_inclusive_to_exclusive() {
    an_export_range_is_server_time_from_inclusive_to_exclusive(sled).await;
}

#[tokio::test]
async fn sled_a_visitors_records_are_found_through_the_index() {
    a_visitors_records_are_found_through_the_index(sled).await;
}

#[tokio::test]
async fn sled_acknowledged_records_survive_a_restart_and_the_chain_goes_on() {
    acknowledged_records_survive_a_restart_and_the_chain_goes_on(sled).await;
}

#[tokio::test]
async fn sled_after_shutdown_writes_are_refused_as_unavailable_and_ready_says_so() {
    after_shutdown_writes_are_refused_as_unavailable_and_ready_says_so(sled).await;
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

    // Publishing the same configuration again makes a revision under today's recipe; decisions
    // that name the earlier one still find it, unchanged.
    let now = Timestamp::from_millis(1_800_000_000_000);
    let republished = store
        .publish("bakery", old.config.clone(), None, now)
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
        .publish("bakery", old.config.clone(), None, now.plus_days(1))
        .await
        .expect("published");
    assert_eq!(again, republished, "nothing changed, nothing is written");
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
