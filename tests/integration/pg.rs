//! The PostgreSQL the tests run against: a throwaway cluster that `./dev test` starts with
//! `pg_virtualenv` (which exports `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`), or the server
//! named by `BISCOTTE_TEST_DATABASE_URL`. Each test gets databases of its own. Without either,
//! a PostgreSQL test fails and says how to run it: none is skipped.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

/// The URL of the cluster's maintenance database, as a superuser.
pub fn admin_url() -> String {
    if let Ok(url) = std::env::var("BISCOTTE_TEST_DATABASE_URL") {
        return url;
    }
    let var = |name: &str| std::env::var(name).ok();
    match (var("PGHOST"), var("PGPORT"), var("PGUSER")) {
        (Some(host), Some(port), Some(user)) => {
            let password = var("PGPASSWORD")
                .map(|p| format!(":{p}"))
                .unwrap_or_default();
            // pg_virtualenv says localhost; the tests use loopback addresses only.
            let host = if host == "localhost" {
                "127.0.0.1".to_owned()
            } else {
                host
            };
            format!("postgres://{user}{password}@{host}:{port}/postgres")
        }
        _ => panic!(
            "the PostgreSQL tests need a server: run them through `./dev test` (it starts a \
             throwaway cluster with pg_virtualenv), or `pg_virtualenv cargo test …`, or set \
             BISCOTTE_TEST_DATABASE_URL=postgres://user:password@127.0.0.1:5432/postgres"
        ),
    }
}

/// `admin_url` with another database name.
pub fn url_of(database: &str) -> String {
    let admin = admin_url();
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b.to_owned(), format!("?{q}")),
        None => (admin.clone(), String::new()),
    };
    let base = base
        .rsplit_once('/')
        .map_or(base.clone(), |(b, _)| b.to_owned());
    format!("{base}/{database}{query}")
}

/// Runs SQL on the maintenance database.
pub fn psql(sql: &str) {
    let out = Command::new("psql")
        .arg(admin_url())
        .args(["-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql])
        .output()
        .expect("psql runs (Debian's postgresql-client)");
    assert!(
        out.status.success(),
        "psql {sql:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A new empty database; its URL.
pub fn fresh_database(label: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        "t_{label}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    psql(&format!("CREATE DATABASE {name}"));
    url_of(&name)
}

/// The database of a test directory: the same directory opens the same database (a restart),
/// created empty the first time.
pub fn database_for(dir: &Path) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    dir.hash(&mut h);
    let name = format!("d_{}_{:016x}", std::process::id(), h.finish());
    let marker = dir.join(".database");
    if !marker.exists() {
        psql(&format!("CREATE DATABASE {name}"));
        std::fs::create_dir_all(dir).expect("dir");
        std::fs::write(&marker, &name).expect("marker");
    }
    url_of(&name)
}
