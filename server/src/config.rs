//! The server's one configuration.
//!
//! Precedence, lowest first: built-in defaults, then the TOML file (`--config FILE` or
//! `BISCOTTE_CONFIG`), then environment variables (`BISCOTTE_BIND`, `BISCOTTE_DATA_DIR`,
//! `BISCOTTE_KEY_PATH`, `BISCOTTE_WWW_DIR`, `BISCOTTE_BANNER_DIR`,
//! `BISCOTTE_RATE_LIMIT_PER_MINUTE`, `BISCOTTE_TRUSTED_PROXIES`, `BISCOTTE_METRICS_BIND`,
//! `BISCOTTE_PUBLIC_NAME`, `BISCOTTE_STORE`, `BISCOTTE_DATABASE_URL`), then command-line flags.

use ipnet::IpNet;
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

/// Requests a minute one client may make to the public routes before it is answered 429.
///
/// A page view costs a visitor at most three requests (configuration, preflight, decision), and
/// many visitors can share one address (an office, a school, a mobile carrier's NAT): 600 lets
/// about 200 page views a minute through from one address, while a flood like the one issue 5
/// measured (3,000 requests in 1.8 s) is cut after its first few hundred.
pub const DEFAULT_RATE_LIMIT_PER_MINUTE: u32 = 600;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Address the HTTP server listens on. Default `127.0.0.1:8080`.
    pub bind: SocketAddr,
    /// Where the sled store lives. Default `data`.
    pub data_dir: PathBuf,
    /// The Ed25519 signing key (PKCS#8 PEM), created on first start when missing.
    /// Default `<data_dir>/signing-key.pem`.
    pub key_path: PathBuf,
    /// Static pages (demo, admin, audit). Default `www`.
    pub www_dir: PathBuf,
    /// The built banner: `loader.js` (with the glue inside), `biscotte_banner_bg.wasm`, and the
    /// wasm's `.br` and `.gz` forms. Default `target/banner`.
    pub banner_dir: PathBuf,
    /// Requests a minute per client on the public routes; `0` turns the limit off.
    /// Default [`DEFAULT_RATE_LIMIT_PER_MINUTE`].
    pub rate_limit_per_minute: u32,
    /// Direct peers whose `X-Forwarded-For` (and forwarded host) is believed. Default none:
    /// the client is the TCP peer and the headers are ignored.
    pub trusted_proxies: Vec<IpNet>,
    /// A second, private listener serving `GET /metrics` (Prometheus). Default off: metrics are
    /// never served on the public address.
    pub metrics_bind: Option<SocketAddr>,
    /// The deployment's public name (`consent.example.fr`): each site's log is named
    /// `<public_name>/<site>` in its checkpoints and verifier key. Pinned by the store's first
    /// checkpoint: it never changes afterwards. Default [`DEFAULT_PUBLIC_NAME`].
    pub public_name: String,
    /// Which backend keeps the logs: the embedded sled store in `data_dir` (the default), or a
    /// PostgreSQL database that several servers share.
    pub store: StoreKind,
    /// The PostgreSQL database, with `store = "postgres"`: `postgres://user:password@host/db`.
    pub database_url: Option<DatabaseUrl>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StoreKind {
    #[default]
    Sled,
    Postgres,
}

/// A database URL: shown (in `Debug`, logs and messages) without its password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(url: &str) -> DatabaseUrl {
        DatabaseUrl(url.trim().to_owned())
    }

    /// The URL itself, password included: for connecting, never for printing.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::store::redact_url(&self.0))
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::store::redact_url(&self.0))
    }
}

fn parse_store(source: &str, s: &str) -> Result<StoreKind, String> {
    match s {
        "sled" => Ok(StoreKind::Sled),
        "postgres" | "postgresql" => Ok(StoreKind::Postgres),
        other => Err(format!(
            "{source} = {other:?} is not a store: write \"sled\" (embedded, the default) or \"postgres\" (with database_url)"
        )),
    }
}

/// The public name of a deployment that did not set one: fine for a demo, not for production.
pub const DEFAULT_PUBLIC_NAME: &str = "localhost";

/// The file form: every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    bind: Option<String>,
    data_dir: Option<PathBuf>,
    key_path: Option<PathBuf>,
    www_dir: Option<PathBuf>,
    banner_dir: Option<PathBuf>,
    // Wider than the field, so a negative or huge number gets our message, not serde's.
    rate_limit_per_minute: Option<i64>,
    trusted_proxies: Option<Vec<String>>,
    metrics_bind: Option<String>,
    public_name: Option<String>,
    store: Option<String>,
    database_url: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config::with_data_dir(PathBuf::from("data"))
    }
}

impl Config {
    /// Defaults, with the store (and key) under `data_dir`.
    pub fn with_data_dir(data_dir: PathBuf) -> Config {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            key_path: data_dir.join("signing-key.pem"),
            data_dir,
            www_dir: PathBuf::from("www"),
            banner_dir: PathBuf::from("target/banner"),
            rate_limit_per_minute: DEFAULT_RATE_LIMIT_PER_MINUTE,
            trusted_proxies: Vec::new(),
            metrics_bind: None,
            public_name: DEFAULT_PUBLIC_NAME.to_owned(),
            store: StoreKind::Sled,
            database_url: None,
        }
    }

    /// Loads defaults, then `file` if any, then the variables `env` returns.
    pub fn load(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, String> {
        let parsed: ConfigFile = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
                toml::from_str(&text).map_err(|e| format!("config file {}: {e}", path.display()))?
            }
            None => ConfigFile::default(),
        };
        let bind = env("BISCOTTE_BIND").or(parsed.bind);
        let data_dir = env("BISCOTTE_DATA_DIR")
            .map(PathBuf::from)
            .or(parsed.data_dir);
        let key_path = env("BISCOTTE_KEY_PATH")
            .map(PathBuf::from)
            .or(parsed.key_path);
        let www_dir = env("BISCOTTE_WWW_DIR")
            .map(PathBuf::from)
            .or(parsed.www_dir);
        let banner_dir = env("BISCOTTE_BANNER_DIR")
            .map(PathBuf::from)
            .or(parsed.banner_dir);

        let mut config = Config::with_data_dir(data_dir.unwrap_or_else(|| PathBuf::from("data")));
        if let Some(bind) = bind {
            config.bind = parse_bind(&bind)?;
        }
        if let Some(k) = key_path {
            config.key_path = k;
        }
        if let Some(w) = www_dir {
            config.www_dir = w;
        }
        if let Some(b) = banner_dir {
            config.banner_dir = b;
        }
        // Each setting names where its bad value came from, so the fix is in the right place.
        const RATE_ENV: &str = "BISCOTTE_RATE_LIMIT_PER_MINUTE";
        if let Some(v) = env(RATE_ENV) {
            config.rate_limit_per_minute = parse_rate_limit(RATE_ENV, v.trim())?;
        } else if let Some(n) = parsed.rate_limit_per_minute {
            config.rate_limit_per_minute = rate_limit_in_range("rate_limit_per_minute", n)?;
        }
        const PROXIES_ENV: &str = "BISCOTTE_TRUSTED_PROXIES";
        if let Some(v) = env(PROXIES_ENV) {
            config.trusted_proxies = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| parse_proxy(PROXIES_ENV, s))
                .collect::<Result<_, _>>()?;
        } else if let Some(list) = parsed.trusted_proxies {
            config.trusted_proxies = list
                .iter()
                .map(|s| parse_proxy("trusted_proxies", s.trim()))
                .collect::<Result<_, _>>()?;
        }
        if let Some(v) = env("BISCOTTE_METRICS_BIND") {
            config.metrics_bind = parse_metrics_bind("BISCOTTE_METRICS_BIND", v.trim())?;
        } else if let Some(v) = parsed.metrics_bind {
            config.metrics_bind = parse_metrics_bind("metrics_bind", v.trim())?;
        }
        if let Some(v) = env("BISCOTTE_PUBLIC_NAME") {
            crate::evidence::check_public_name(v.trim())
                .map_err(|e| format!("BISCOTTE_PUBLIC_NAME: {e}"))?;
            config.public_name = v.trim().to_owned();
        } else if let Some(v) = parsed.public_name {
            crate::evidence::check_public_name(v.trim())
                .map_err(|e| format!("public_name: {e}"))?;
            config.public_name = v.trim().to_owned();
        }
        if let Some(v) = env("BISCOTTE_STORE") {
            config.store = parse_store("BISCOTTE_STORE", v.trim())?;
        } else if let Some(v) = parsed.store {
            config.store = parse_store("store", v.trim())?;
        }
        if let Some(v) = env("BISCOTTE_DATABASE_URL").filter(|v| !v.trim().is_empty()) {
            config.database_url = Some(DatabaseUrl::new(&v));
        } else if let Some(v) = parsed.database_url {
            config.database_url = Some(DatabaseUrl::new(&v));
        }
        match (&config.store, &config.database_url) {
            (StoreKind::Postgres, None) => {
                return Err(
                    "store = \"postgres\" needs database_url (or BISCOTTE_DATABASE_URL): \
                     postgres://user:password@host:5432/database"
                        .into(),
                );
            }
            (StoreKind::Postgres, Some(url))
                if !(url.secret().starts_with("postgres://")
                    || url.secret().starts_with("postgresql://")) =>
            {
                return Err(format!(
                    "database_url {url} is not a PostgreSQL URL: write postgres://user:password@host:5432/database"
                ));
            }
            _ => {}
        }
        Ok(config)
    }
}

pub fn parse_bind(s: &str) -> Result<SocketAddr, String> {
    s.parse().map_err(|_| {
        format!("bind address {s:?} is not valid: write IP:PORT, for example 127.0.0.1:8080")
    })
}

fn parse_rate_limit(source: &str, s: &str) -> Result<u32, String> {
    let n: i64 = s.parse().map_err(|_| {
        format!(
            "{source} = {s:?} is not a number: write the requests a minute one client may make, \
             for example {DEFAULT_RATE_LIMIT_PER_MINUTE}, or 0 to turn the limit off"
        )
    })?;
    rate_limit_in_range(source, n)
}

fn rate_limit_in_range(source: &str, n: i64) -> Result<u32, String> {
    u32::try_from(n).map_err(|_| {
        format!(
            "{source} = {n} is out of range: write 0 (no limit) or a number of requests a minute \
             up to {}, for example {DEFAULT_RATE_LIMIT_PER_MINUTE}",
            u32::MAX
        )
    })
}

/// A single address is a range of one (`/32` or `/128`).
fn parse_proxy(source: &str, s: &str) -> Result<IpNet, String> {
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| {
            format!(
                "{source}: {s:?} is not an IP address or a CIDR range: write for example \
                 10.0.0.1 or 10.0.0.0/8 (in BISCOTTE_TRUSTED_PROXIES, separate them with commas)"
            )
        })
}

/// An empty value turns the metrics listener off, so an environment can undo a file.
fn parse_metrics_bind(source: &str, s: &str) -> Result<Option<SocketAddr>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    s.parse().map(Some).map_err(|_| {
        format!(
            "{source} = {s:?} is not valid: write IP:PORT of a private address, for example \
             127.0.0.1:9090, or leave it out to serve no metrics"
        )
    })
}
