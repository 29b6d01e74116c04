//! The server's one configuration.
//!
//! Precedence, lowest first: built-in defaults, then the TOML file (`--config FILE` or
//! `BISCOTTE_CONFIG`), then environment variables (`BISCOTTE_BIND`, `BISCOTTE_DATA_DIR`,
//! `BISCOTTE_KEY_PATH`, `BISCOTTE_WWW_DIR`, `BISCOTTE_BANNER_DIR`), then command-line flags.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

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
    /// The built banner: `loader.js`, `biscotte_banner.js`, `biscotte_banner_bg.wasm`.
    /// Default `target/banner`.
    pub banner_dir: PathBuf,
    /// Requests per client and minute; 0 turns the limit off.
    pub rate_limit_per_minute: u32,
    /// Proxies whose forwarding headers are believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// The file form: every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    bind: Option<String>,
    data_dir: Option<PathBuf>,
    key_path: Option<PathBuf>,
    www_dir: Option<PathBuf>,
    banner_dir: Option<PathBuf>,
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
            rate_limit_per_minute: 600,
            trusted_proxies: Vec::new(),
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
        Ok(config)
    }
}

pub fn parse_bind(s: &str) -> Result<SocketAddr, String> {
    s.parse().map_err(|_| {
        format!("bind address {s:?} is not valid: write IP:PORT, for example 127.0.0.1:8080")
    })
}
