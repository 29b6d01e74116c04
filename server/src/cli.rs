//! The `biscotte` command line: serve, the demo, sites, tokens, export, verify, retention, backup,
//! migrate.
//!
//! sled allows one process per store, so commands that open a sled store fail while a server holds
//! it; they then say so and name the HTTP route that does the same job (on PostgreSQL they work
//! beside running servers). `backup` is the one command that talks to the running server instead
//! (its store is copied by its writer). `verify --bundle` and `verify --receipt` need no store and
//! no network: only the verifier key the auditor trusts.

use crate::app::{self, AppState};
use crate::auth::{Role, Signer};
use crate::config::{Config, parse_bind};
use crate::evidence::{self, LogKey};
use crate::export::{self, Format};
use crate::routes::now;
use crate::sitefile::{SiteFile, ValidSite};
use crate::store::{SledRestore, SledStore, Store, StoreError};
use actix_web::dev::ServerHandle;
use actix_web::web;
use biscotte_shared::Lang;
use biscotte_shared::catalogue::Catalogue;
use clap::{Parser, Subcommand};
use futures_util::StreamExt;
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(
    name = "biscotte",
    version,
    about = "Self-hosted cookie consent: banner, proofs of consent, audit export"
)]
struct Cli {
    /// Configuration file (TOML); environment variables BISCOTTE_* override it.
    #[arg(long, global = true, env = "BISCOTTE_CONFIG")]
    config: Option<PathBuf>,
    /// Store directory (overrides the file and BISCOTTE_DATA_DIR).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API, the banner and www/.
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080 (overrides BISCOTTE_BIND).
        #[arg(long)]
        bind: Option<String>,
    },
    /// Serve with the demo site, creating and publishing it first when the store lacks it.
    Demo {
        #[arg(long)]
        bind: Option<String>,
        /// The demo's site file.
        #[arg(long, default_value = "www/demo/site.toml")]
        site_file: PathBuf,
    },
    /// Manage sites.
    Site {
        #[command(subcommand)]
        command: SiteCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Export a site's consent log to stdout (or --out).
    Export {
        #[arg(long)]
        site: String,
        #[arg(long, value_enum, default_value = "csv")]
        format: Format,
        /// Same as --format bundle: one file an auditor verifies offline.
        #[arg(long, conflicts_with = "format")]
        bundle: bool,
        /// With a bundle: carry the consistency proof from this earlier tree size (a checkpoint
        /// the auditor kept), so `verify --since` can check it; may be repeated.
        #[arg(long = "since-size")]
        since_size: Vec<u64>,
        /// Start (inclusive): 2026-11-26 or 2026-11-26T10:00:00Z.
        #[arg(long)]
        from: Option<String>,
        /// End (exclusive).
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Verify a site's log in the store (--site), an export bundle (--bundle, with --key), or a
    /// visitor's receipt (--receipt, with --key). Exits 1 when a problem is found, 2 on an unknown
    /// site or a file that cannot be read.
    Verify {
        /// The site whose log to check, in the store: every leaf, tile, checkpoint and revision.
        #[arg(long, required_unless_present_any = ["bundle", "receipt"])]
        site: Option<String>,
        /// An export bundle to check offline.
        #[arg(long, conflicts_with_all = ["site", "receipt"], requires = "key")]
        bundle: Option<PathBuf>,
        /// A receipt to check offline: the decision's 201 answer (JSON) or its tlog-proof.
        #[arg(long, conflicts_with_all = ["site", "bundle"], requires = "key")]
        receipt: Option<PathBuf>,
        /// The log's verifier key, as obtained out of band (a `name+id+key` line, or a file
        /// holding it). The bundle's own key is never trusted.
        #[arg(long)]
        key: Option<String>,
        /// A checkpoint of the same log kept earlier (a file): the bundle must extend it.
        #[arg(long, requires = "bundle")]
        since: Option<PathBuf>,
    },
    /// Erase the content of decisions older than their site's retention (`[site].retention_days`),
    /// keeping every hash; the server also runs it once a day.
    Retention {
        /// One site (default: every site).
        #[arg(long)]
        site: Option<String>,
        /// The time to count from (default now): 2026-11-26 or 2026-11-26T10:00:00Z.
        #[arg(long)]
        now: Option<String>,
    },
    /// Copy the running server's store into DIR (a new sled store), through
    /// `POST /api/v1/admin/backup`, then verify every site's log in the copy. The signing key is
    /// not in the copy: back its file up separately.
    Backup {
        /// A new or empty directory for the copy.
        #[arg(long)]
        to: PathBuf,
        /// The running server, on loopback (default: the configured `bind`, e.g.
        /// http://127.0.0.1:8080): the copy and the token travel in clear.
        #[arg(long)]
        url: Option<String>,
        /// An admin token; without one, the command makes a short-lived one with the signing
        /// key, which it needs anyway to open and verify the copy.
        #[arg(long, env = "BISCOTTE_TOKEN", hide_env_values = true)]
        token: Option<String>,
    },
    /// Copy this sled store (`--data-dir`, stopped) into a PostgreSQL database, then prove the
    /// copy: every leaf, checkpoint and revision identical, and `verify` passing on it. Refuses a
    /// database that already holds a site of the same id, or pins another key or name.
    Migrate {
        /// The database: postgres://user:password@host:5432/database.
        #[arg(long)]
        to: String,
    },
    /// Print a site's verifier key (C2SP vkey), to hand to its auditors out of band.
    Vkey {
        #[arg(long)]
        site: String,
    },
    /// List the service catalogue: the ids a site file's `use = "…"` accepts, with each
    /// service's category, name and provider.
    Catalogue,
}

#[derive(Debug, Subcommand)]
enum SiteCommand {
    /// Register a site from its file and publish its first revision.
    Create {
        #[arg(long)]
        file: PathBuf,
    },
    /// Publish a new revision of a site's configuration (and update its origins).
    Publish {
        #[arg(long)]
        site: String,
        #[arg(long)]
        file: PathBuf,
    },
    /// List the registered sites and their live revisions.
    List,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Print a signed API token.
    Issue {
        #[arg(long, value_enum)]
        role: Role,
        /// The site the token is for (required for every role but admin).
        #[arg(long)]
        site: Option<String>,
        /// Validity in days.
        #[arg(long, default_value_t = 30)]
        days: i64,
    },
}

pub fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // sqlx's notices ("relation … already exists, skipping") are for its developers.
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn")),
        )
        .init();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // `--help` and `--version` are answers, not mistakes; a usage error exits with 2,
            // as clap's own `parse` would.
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("biscotte: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

/// A command's failure: what to tell the user, and the exit code (1: the check found problems or
/// the command failed; 2: it was asked about something that does not exist, or misused).
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub code: u8,
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure { message, code: 1 }
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Failure {
        Failure::from(message.to_owned())
    }
}

fn usage(message: String) -> Failure {
    Failure { message, code: 2 }
}

/// Runs one command line (`biscotte ...`) and returns what to tell the user on failure,
/// usage errors included: it never exits the process, so tests can call it.
pub fn run_args<I, T>(args: I) -> Result<(), String>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    match Cli::try_parse_from(args) {
        Ok(cli) => run(cli).map_err(|f| f.message),
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            Ok(())
        }
        Err(e) => Err(e.render().to_string()),
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    let mut config = Config::load(cli.config.as_deref(), |k| std::env::var(k).ok())?;
    if let Some(dir) = cli.data_dir {
        let default_key = config.data_dir.join("signing-key.pem");
        if config.key_path == default_key {
            config.key_path = dir.join("signing-key.pem");
        }
        config.data_dir = dir;
    }
    // Only the commands that need an async runtime start one.
    let rt = || actix_web::rt::System::new();
    match cli.command {
        Command::Serve { bind } => {
            if let Some(b) = bind {
                config.bind = parse_bind(&b)?;
            }
            Ok(rt().block_on(serve(config, None))?)
        }
        Command::Demo { bind, site_file } => {
            if let Some(b) = bind {
                config.bind = parse_bind(&b)?;
            }
            Ok(rt().block_on(serve(config, Some(site_file)))?)
        }
        Command::Site { command } => Ok(rt().block_on(site(&config, command))?),
        Command::Token {
            command: TokenCommand::Issue { role, site, days },
        } => {
            let site = match (role, site) {
                (Role::Admin, _) => None,
                (_, Some(s)) => Some(s),
                (_, None) => {
                    return Err(usage(format!(
                        "a token of role {role} is for one site: add --site ID"
                    )));
                }
            };
            if days < 1 {
                return Err(usage("--days must be at least 1".into()));
            }
            let signer = Signer::load_or_create(&config.key_path)?;
            let token = signer
                .issue_token(role, site.as_deref(), now().as_secs(), days)
                .map_err(|e| e.to_string())?;
            println!("{token}");
            Ok(())
        }
        Command::Export {
            site,
            format,
            bundle,
            since_size,
            from,
            to,
            out,
            // Reads need no reactor: a plain executor keeps these usable from inside one (tests).
        } => {
            let format = if bundle { Format::Bundle } else { format };
            let request = ExportRequest {
                site,
                format,
                since: since_size,
                from,
                to,
            };
            futures_executor::block_on(export_log(&config, request, out))
        }
        Command::Verify {
            site,
            bundle,
            receipt,
            key,
            since,
        } => match (site, bundle, receipt, key) {
            (Some(site), None, None, _) => futures_executor::block_on(verify_site(&config, &site)),
            (None, Some(bundle), None, Some(key)) => verify_bundle(&bundle, &key, since.as_deref()),
            (None, None, Some(receipt), Some(key)) => verify_receipt(&receipt, &key),
            _ => Err(usage(
                "say what to verify: --site ID, or --bundle FILE --key VKEY, or --receipt FILE --key VKEY"
                    .into(),
            )),
        },
        Command::Retention { site, now } => rt().block_on(retention(&config, site, now)),
        Command::Vkey { site } => futures_executor::block_on(print_vkey(&config, &site)),
        Command::Backup { to, url, token } => rt().block_on(backup(&config, &to, url, token)),
        Command::Migrate { to } => rt().block_on(migrate(&config, &to)),
        Command::Catalogue => {
            let catalogue = Catalogue::built_in()?;
            for s in &catalogue.services {
                println!(
                    "{:<20} {:<12} {} ({})",
                    s.id,
                    s.category,
                    s.name.get(Lang::En),
                    s.provider.get(Lang::En)
                );
            }
            Ok(())
        }
    }
}

/// The deployment's log key; `create` makes the signing key when missing (for commands that
/// write), else it must exist.
fn log_key(config: &Config, create: bool) -> Result<LogKey, String> {
    let signer = if create {
        Signer::load_or_create(&config.key_path)?
    } else {
        Signer::load(&config.key_path)?
    };
    LogKey::new(&config.public_name, signer)
}

/// Opens the store for a command that writes (it may create the signing key).
fn open_store(config: &Config, route: &str) -> Result<Arc<dyn Store>, String> {
    open_store_with(config, route, true)
}

fn open_store_with(
    config: &Config,
    route: &str,
    create_key: bool,
) -> Result<Arc<dyn Store>, String> {
    app::open_store(config, create_key, Arc::new(|_, _| {}))
        .map(|(store, _, _)| store)
        .map_err(|e| match e {
            app::OpenError::Store(e @ StoreError::Busy { .. }) => {
                format!("{e}; while it runs, do the same with HTTP: {route}")
            }
            other => other.to_string(),
        })
}

fn read_site(file: &Path) -> Result<ValidSite, String> {
    let site = SiteFile::read(file)?.validate().map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
        format!("{} has errors:\n{}", file.display(), lines.join("\n"))
    })?;
    for w in &site.warnings {
        eprintln!("warning: {w}");
    }
    Ok(site)
}

async fn serve(config: Config, demo_site: Option<PathBuf>) -> Result<(), String> {
    let state = web::Data::new(AppState::open(&config)?);
    if let Some(file) = demo_site {
        let site = read_site(&file)?;
        if state
            .store
            .site(&site.id)
            .await
            .map_err(|e| e.to_string())?
            .is_none()
        {
            let id = site.id.clone();
            let published = state
                .store
                .create_site(site.into_new_site(now()))
                .await
                .map_err(|e| e.to_string())?;
            eprintln!(
                "created demo site {id:?} at revision {}",
                published.revision
            );
        }
    }
    // Retention runs at start, then once a day; the store's single writer applies it, so one
    // pass at a time (on PostgreSQL, each slice takes the site's advisory lock: one server erases,
    // the others skip).
    let retention_store = state.store.clone();
    actix_web::rt::spawn(async move {
        let mut daily = tokio::time::interval(std::time::Duration::from_secs(86_400));
        loop {
            daily.tick().await;
            apply_retention(&*retention_store, now()).await;
        }
    });
    let listener = TcpListener::bind(config.bind)
        .map_err(|e| format!("cannot listen on {}: {e}", config.bind))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let metrics = match config.metrics_bind {
        Some(metrics_addr) => Some(serve_metrics(metrics_addr, addr, state.clone())?),
        None => None,
    };
    println!("Biscotte listening on http://{addr}");
    if let Some((_, metrics_addr)) = &metrics {
        println!("Biscotte metrics on http://{metrics_addr}/metrics");
    }
    let _ = std::io::stdout().flush();
    tracing::info!(%addr, data_dir = %config.data_dir.display(), "serving");
    // Both servers stop on SIGTERM or SIGINT, letting in-flight requests finish for at most
    // `app::SHUTDOWN_TIMEOUT_SECS`.
    let store = state.store.clone();
    let served = app::run_shared(listener, state)
        .map_err(|e| e.to_string())?
        .await
        .map_err(|e| e.to_string());
    if let Some((metrics, _)) = metrics {
        metrics.stop(true).await;
    }
    // In-flight requests are answered; now every accepted write is made durable.
    store.shutdown().await;
    served
}

/// One retention pass over every site, as the server runs it daily; problems go to the log.
async fn apply_retention(store: &dyn Store, now: biscotte_shared::Timestamp) {
    let sites = match store.sites().await {
        Ok(sites) => sites,
        Err(e) => {
            tracing::error!(error = %e, "retention: cannot list the sites");
            return;
        }
    };
    for site in sites {
        let cutoff = evidence::retention_cutoff(now, site.retention_days);
        match store.retain(&site.id, cutoff).await {
            Ok(r) if r.erased > 0 => {
                tracing::info!(site = %site.id, erased = r.erased, "retention erased the content of old decisions")
            }
            Ok(_) => {}
            Err(e) => tracing::error!(site = %site.id, error = %e, "retention failed"),
        }
    }
}

/// Starts the private metrics listener; returns its handle and address.
fn serve_metrics(
    metrics_addr: SocketAddr,
    public: SocketAddr,
    state: web::Data<AppState>,
) -> Result<(ServerHandle, SocketAddr), String> {
    if metrics_addr == public {
        return Err(format!(
            "metrics_bind ({metrics_addr}) is the public address: give metrics a private address \
             of their own, for example 127.0.0.1:9090"
        ));
    }
    let listener = TcpListener::bind(metrics_addr)
        .map_err(|e| format!("cannot listen for metrics on {metrics_addr}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let server = app::run_metrics(listener, state).map_err(|e| e.to_string())?;
    let handle = server.handle();
    actix_web::rt::spawn(server);
    Ok((handle, addr))
}

async fn site(config: &Config, command: SiteCommand) -> Result<(), String> {
    match command {
        SiteCommand::Create { file } => {
            let site = read_site(&file)?;
            let store = open_store(
                config,
                "POST /api/v1/sites with an admin token and the site file as JSON",
            )?;
            let id = site.id.clone();
            let created = store.create_site(site.into_new_site(now())).await;
            store.shutdown().await;
            let published = created.map_err(|e| match e {
                StoreError::SiteExists(id) => format!(
                    "site {id:?} already exists: use `biscotte site publish --site {id} --file ...`"
                ),
                other => other.to_string(),
            })?;
            println!("created site {id:?}, revision {}", published.revision);
        }
        SiteCommand::Publish { site: id, file } => {
            let site = read_site(&file)?;
            if site.id != id {
                return Err(format!(
                    "{} describes site {:?}, not {id:?}",
                    file.display(),
                    site.id
                ));
            }
            let store = open_store(
                config,
                &format!(
                    "POST /api/v1/sites/{id}/revisions with an owner token and the site file as JSON"
                ),
            )?;
            let before = store.site(&id).await.map_err(|e| e.to_string())?;
            let published = store
                .publish(&id, site.config.clone(), site.settings(), now())
                .await;
            store.shutdown().await;
            let published = published.map_err(|e| match e {
                StoreError::UnknownSite(id) => {
                    format!("unknown site {id:?}: create it with `biscotte site create --file ...`")
                }
                other => other.to_string(),
            })?;
            if before.is_some_and(|b| b.current_revision == published.revision) {
                println!(
                    "site {id:?}: nothing changed, revision {} stays live",
                    published.revision
                );
            } else {
                println!("site {id:?}: published revision {}", published.revision);
            }
        }
        SiteCommand::List => {
            let store = open_store(config, "GET /api/v1/sites/{site}/config")?;
            for s in store.sites().await.map_err(|e| e.to_string())? {
                println!(
                    "{}\t{}\t{}\t{}",
                    s.id,
                    s.current_revision,
                    s.origins.join(","),
                    s.name
                );
            }
        }
    }
    Ok(())
}

/// What to export.
struct ExportRequest {
    site: String,
    format: Format,
    since: Vec<u64>,
    from: Option<String>,
    to: Option<String>,
}

async fn export_log(
    config: &Config,
    request: ExportRequest,
    out: Option<PathBuf>,
) -> Result<(), Failure> {
    let ExportRequest {
        site,
        format,
        since,
        from,
        to,
    } = request;
    let site = site.as_str();
    let from = from
        .map(|v| export::parse_bound("--from", &v))
        .transpose()
        .map_err(|e| usage(e.to_string()))?;
    let to = to
        .map(|v| export::parse_bound("--to", &v))
        .transpose()
        .map_err(|e| usage(e.to_string()))?;
    let fmt_name = match format {
        Format::Csv => "csv",
        Format::Ndjson => "ndjson",
        Format::Bundle => "bundle",
    };
    let store = open_store_with(
        config,
        &format!(
            "GET /api/v1/sites/{site}/consents?format={fmt_name} with an auditor token (`biscotte token issue --role auditor --site {site}`)"
        ),
        false,
    )?;
    if store.site(site).await.map_err(|e| e.to_string())?.is_none() {
        return Err(usage(format!(
            "unknown site {site:?}: `biscotte site list` lists them"
        )));
    }
    let mut writer: Box<dyn Write> = match &out {
        // Large writes: an export of a million records is the better part of a gigabyte.
        Some(path) => Box::new(std::io::BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(path)
                .map_err(|e| format!("cannot create {}: {e}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::with_capacity(
            1 << 20,
            std::io::stdout().lock(),
        )),
    };
    let io = |e: std::io::Error| e.to_string();
    if format == Format::Bundle {
        let key = log_key(config, false)?
            .vkey(site)
            .map_err(|e| e.to_string())?;
        let (head, (begin, end), _) =
            export::bundle(&*store, site, key.to_string(), from, to, &since)
                .await
                .map_err(|e| e.to_string())?;
        writer.write_all(&head).map_err(io)?;
        // Two cores' worth: one thread reads the leaves from the store, this one writes the
        // lines, through a bounded channel (memory stays flat).
        let leaves = store.leaves(site, begin, end);
        let (chunks, received) = std::sync::mpsc::sync_channel::<Vec<_>>(8);
        let reader = std::thread::spawn(move || {
            let mut chunk = Vec::with_capacity(1024);
            for item in futures_executor::block_on_stream(leaves) {
                chunk.push(item);
                if chunk.len() == 1024 && chunks.send(std::mem::take(&mut chunk)).is_err() {
                    return;
                }
            }
            let _ = chunks.send(chunk);
        });
        let mut line = Vec::with_capacity(1024);
        for chunk in received {
            for item in chunk {
                let (index, stored) = item.map_err(|e| e.to_string())?;
                line.clear();
                export::bundle_line(&mut line, index, stored).map_err(|e| e.to_string())?;
                writer.write_all(&line).map_err(io)?;
            }
        }
        let _ = reader.join();
        return Ok(writer.flush().map_err(io)?);
    }
    if format == Format::Csv {
        writer.write_all(&export::csv_header()).map_err(io)?;
    }
    let mut records = store.records(site, from, to);
    while let Some(row) = records.next().await {
        let row = row.map_err(|e| e.to_string())?;
        writer
            .write_all(&export::render(format, site, &row))
            .map_err(io)?;
    }
    Ok(writer.flush().map_err(io)?)
}

async fn verify_site(config: &Config, site: &str) -> Result<(), Failure> {
    let store = open_store_with(
        config,
        &format!(
            "GET /api/v1/sites/{site}/log/verify with an auditor token (`biscotte token issue --role auditor --site {site}`)"
        ),
        false,
    )?;
    if store.site(site).await.map_err(|e| e.to_string())?.is_none() {
        return Err(usage(format!(
            "unknown site {site:?}: nothing to verify (`biscotte site list` lists the sites)"
        )));
    }
    let key = log_key(config, false)?
        .vkey(site)
        .map_err(|e| e.to_string())?;
    let report = crate::verify::verify_store(&*store, site, &key)
        .await
        .map_err(|e| e.to_string())?;
    for p in &report.problems {
        println!("site {site:?}: {p}");
    }
    println!(
        "site {site:?}: {} leaves ({} decisions, {} erased by retention; {} revisions), {} checkpoints checked",
        report.leaves, report.decisions, report.erased, report.revisions, report.checkpoints
    );
    if report.is_ok() {
        println!("site {site:?}: every leaf, tile, checkpoint and revision verifies");
        Ok(())
    } else {
        Err(Failure::from(format!(
            "site {site:?}: {} problem(s) found",
            report.problems.len() as u64 + report.more_problems
        )))
    }
}

/// The server `biscotte backup` calls: `--url`, else the configured `bind` (on loopback when it
/// listens on every address). Only loopback: plain HTTP would carry the whole store and an admin
/// token across the network in clear.
fn backup_server(url: Option<String>, bind: SocketAddr) -> Result<reqwest::Url, Failure> {
    let text = url.unwrap_or_else(|| {
        let ip = match bind.ip() {
            std::net::IpAddr::V4(ip) if ip.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::IpAddr::V6(ip) if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, bind.port()))
    });
    let url = reqwest::Url::parse(&text)
        .map_err(|e| usage(format!("--url {text:?} is not a URL: {e}")))?;
    let host = url.host_str().unwrap_or_default();
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if url.scheme() != "http" || !loopback {
        return Err(usage(format!(
            "--url must be the server's own loopback address, http://127.0.0.1:PORT (not {text}): \
             run `biscotte backup` on the server's host (or through an SSH tunnel), since the \
             copy and the admin token would otherwise cross the network in clear"
        )));
    }
    url.join("api/v1/admin/backup")
        .map_err(|e| usage(format!("--url {text:?}: {e}")))
}

/// `biscotte backup`: the running server's store, copied by its writer, written as a fresh store
/// in `to` and verified there, site by site.
async fn backup(
    config: &Config,
    to: &Path,
    url: Option<String>,
    token: Option<String>,
) -> Result<(), Failure> {
    if to.is_file() || to.read_dir().is_ok_and(|mut d| d.next().is_some()) {
        return Err(usage(format!(
            "{} is not empty: `biscotte backup` writes its copy into a new or empty directory, \
             never over another store or file (choose another --to)",
            to.display()
        )));
    }
    let route = backup_server(url, config.bind)?;
    // The key first: without it the copy could be neither opened nor verified.
    let signer = Signer::load(&config.key_path).map_err(|e| {
        format!(
            "{e}; `biscotte backup` opens and verifies the copy with the deployment's signing key: \
             run it with the server's configuration (--config, BISCOTTE_KEY_PATH)"
        )
    })?;
    let key = LogKey::new(&config.public_name, signer.clone())?;
    let token = match token {
        Some(t) => t,
        None => signer
            .issue_token(Role::Admin, None, now().as_secs(), 1)
            .map_err(|e| e.to_string())?,
    };
    let client = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| format!("no HTTP client: {e}"))?;
    let response = client
        .post(route.clone())
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| format!("cannot reach the server at {route}: {e}"))?;
    let status = response.status();
    if !status.is_success() {
        let body = response.bytes().await.unwrap_or_default();
        let message = serde_json::from_slice::<biscotte_shared::api::ErrorBody>(&body)
            .map(|e| e.error.message)
            .unwrap_or_else(|_| "no error envelope (is this a Biscotte server?)".into());
        return Err(Failure::from(format!(
            "the server refused the backup ({status}): {message}"
        )));
    }
    let held_ms = response
        .headers()
        .get("Biscotte-Held-Writes-Ms")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("?")
        .to_owned();
    let restored = async {
        let mut restore = SledRestore::begin(to).map_err(|e| e.to_string())?;
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| format!("the download from {route} broke off: {e}"))?;
            restore.feed(&chunk).map_err(|e| e.to_string())?;
        }
        restore.finish().map_err(|e| e.to_string())
    }
    .await;
    let restored = match restored {
        Ok(r) => r,
        Err(why) => {
            SledRestore::discard(to);
            return Err(Failure::from(format!(
                "{why}; nothing was kept in {}",
                to.display()
            )));
        }
    };
    println!(
        "copied {} bytes ({} trees, {} entries) into {}; the server's writes waited {held_ms} ms for the copy",
        restored.bytes,
        restored.trees,
        restored.entries,
        to.display()
    );
    let store = SledStore::open(to, key.clone())
        .map_err(|e| format!("the copy in {} does not open as a store: {e}", to.display()))?;
    let verified = verify_copy(&store, &key).await;
    store.shutdown().await;
    verified?;
    println!(
        "the signing key is not in the copy: back up {} separately, and keep it apart from the copy",
        config.key_path.display()
    );
    Ok(())
}

/// `verify --site` on every site of a backup's copy.
async fn verify_copy(store: &SledStore, key: &LogKey) -> Result<(), Failure> {
    let mut problems = 0;
    for site in store.sites().await.map_err(|e| e.to_string())? {
        let site = site.id.as_str();
        let vkey = key.vkey(site).map_err(|e| e.to_string())?;
        let report = crate::verify::verify_store(store, site, &vkey)
            .await
            .map_err(|e| e.to_string())?;
        for p in &report.problems {
            println!("site {site:?}: {p}");
        }
        let size = store
            .checkpoint(site)
            .await
            .map_err(|e| e.to_string())?
            .map_or(0, |c| c.size);
        println!(
            "site {site:?}: {} leaves ({} decisions, {} erased by retention; {} revisions), checkpoint of {size} leaves, {}",
            report.leaves,
            report.decisions,
            report.erased,
            report.revisions,
            if report.is_ok() {
                "verified"
            } else {
                "NOT verified"
            }
        );
        problems += report.problems.len() as u64 + report.more_problems;
    }
    if problems > 0 {
        return Err(Failure::from(format!(
            "the copy does not verify: {problems} problem(s) found"
        )));
    }
    Ok(())
}

/// The verifier key of a site of the store, under the name and key the store pinned.
async fn print_vkey(config: &Config, site: &str) -> Result<(), Failure> {
    let store = open_store_with(config, &format!("GET /api/v1/sites/{site}/log/vkey"), false)?;
    if store.site(site).await.map_err(|e| e.to_string())?.is_none() {
        return Err(usage(format!(
            "unknown site {site:?}: `biscotte site list` lists them"
        )));
    }
    let key = log_key(config, false)?
        .vkey(site)
        .map_err(|e| e.to_string())?;
    println!("{key}");
    Ok(())
}

/// A verifier key given on the command line, or the path of a file holding one.
fn read_key(key: &str) -> Result<biscotte_shared::note::VerifierKey, Failure> {
    let text = if Path::new(key).is_file() {
        std::fs::read_to_string(key).map_err(|e| usage(format!("cannot read {key}: {e}")))?
    } else {
        key.to_owned()
    };
    biscotte_shared::note::VerifierKey::parse(text.trim())
        .map_err(|e| usage(format!("--key is not a verifier key: {e}")))
}

fn verify_bundle(path: &Path, key: &str, since: Option<&Path>) -> Result<(), Failure> {
    use std::io::BufRead;
    let key = read_key(key)?;
    let since = since
        .map(|p| {
            std::fs::read_to_string(p)
                .map_err(|e| usage(format!("cannot read {}: {e}", p.display())))
        })
        .transpose()?;
    let mut verifier =
        biscotte_shared::audit::BundleVerifier::new(key, since.as_deref()).map_err(|e| {
            Failure::from(format!(
                "the --since checkpoint does not verify with your key: {e}"
            ))
        })?;
    let file = std::fs::File::open(path)
        .map_err(|e| usage(format!("cannot read {}: {e}", path.display())))?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        verifier.line(&line);
    }
    let report = verifier.finish();
    for p in &report.problems {
        println!("{p}");
    }
    if report.more_problems > 0 {
        println!("… and {} more problems", report.more_problems);
    }
    if let Some(cp) = &report.checkpoint {
        println!(
            "{}: leaves {} to {} of {} ({} decisions, {} erased by retention, {} revisions)",
            cp.origin,
            report.begin,
            report.end,
            cp.size,
            report.decisions,
            report.erased,
            report.revisions
        );
    }
    if let Some(m) = report.extends {
        println!("the log only grew since your checkpoint of {m} leaves");
    }
    if report.is_ok() {
        println!("every leaf verifies against the signed checkpoint");
        Ok(())
    } else {
        Err(Failure::from(format!(
            "{} problem(s) found",
            report.problems.len() as u64 + report.more_problems
        )))
    }
}

fn verify_receipt(path: &Path, key: &str) -> Result<(), Failure> {
    let key = read_key(key)?;
    let text = std::fs::read_to_string(path)
        .map_err(|e| usage(format!("cannot read {}: {e}", path.display())))?;
    let report = biscotte_shared::audit::verify_receipt(&text, &key)
        .map_err(|e| Failure::from(format!("the receipt does not verify: {e}")))?;
    let what = match &report.leaf {
        biscotte_shared::leaf::Leaf::Decision(d) => format!(
            "decision {} of {:?}: consent id {}, {} at {}",
            d.record_id,
            d.site,
            d.consent_id,
            d.method.as_str(),
            export::rfc3339(d.server_time)
        ),
        biscotte_shared::leaf::Leaf::Legacy(l) => format!(
            "decision {} of {:?} (logged before the tree)",
            l.record.record_id, l.record.site
        ),
        biscotte_shared::leaf::Leaf::Revision(r) => {
            format!("the publication of revision {}", r.revision)
        }
    };
    println!(
        "leaf {} is in {}'s signed tree of {} leaves: {what}{}",
        report.index,
        report.checkpoint.origin,
        report.checkpoint.size,
        if report.jwt_checked {
            "; the JWT receipt is signed by the same key and names the same leaf"
        } else {
            ""
        }
    );
    Ok(())
}

async fn retention(
    config: &Config,
    site: Option<String>,
    now: Option<String>,
) -> Result<(), Failure> {
    let now = match now {
        Some(v) => export::parse_bound("--now", &v).map_err(|e| usage(e.to_string()))?,
        None => crate::routes::now(),
    };
    let store = open_store(
        config,
        "none is needed: the running server applies retention itself, at start and once a day",
    )?;
    let sites = match site {
        Some(id) => match store.site(&id).await.map_err(|e| e.to_string())? {
            Some(s) => vec![s],
            None => {
                store.shutdown().await;
                return Err(usage(format!("unknown site {id:?}")));
            }
        },
        None => store.sites().await.map_err(|e| e.to_string())?,
    };
    let mut result = Ok(());
    for s in sites {
        let cutoff = evidence::retention_cutoff(now, s.retention_days);
        match store.retain(&s.id, cutoff).await {
            Ok(r) => println!(
                "site {:?}: erased {} decisions older than {} days (before {}); leaves below {} are past retention",
                s.id,
                r.erased,
                s.retention_days,
                export::rfc3339(cutoff),
                r.erased_below
            ),
            Err(e) => {
                result = Err(Failure::from(format!("site {:?}: {e}", s.id)));
                break;
            }
        }
    }
    store.shutdown().await;
    result
}

/// `biscotte migrate --to URL`: the sled store copied into PostgreSQL, then proven identical.
async fn migrate(config: &Config, to: &str) -> Result<(), Failure> {
    use crate::config::{DatabaseUrl, StoreKind};
    let url = DatabaseUrl::new(to);
    if config.store != StoreKind::Sled {
        return Err(usage(
            "migrate copies a sled store: run it with store = \"sled\" and --data-dir naming the \
             store to copy"
                .into(),
        ));
    }
    let source = open_store_with(config, "(none: stop the server first)", false)?;
    let key = log_key(config, false)?;
    let target = crate::store::PgStore::open(
        url.secret(),
        Box::new(|_| Ok(key.clone())),
        Arc::new(|_, _| {}),
    )
    .map_err(|e| {
        format!("{e} (the copy needs the key and public_name this store was signed with)")
    })?;
    let sites = source.sites().await.map_err(|e| e.to_string())?;
    let held = target.site_ids().await.map_err(|e| e.to_string())?;
    let clashes: Vec<&str> = sites
        .iter()
        .map(|s| s.id.as_str())
        .filter(|id| held.iter().any(|h| h == id))
        .collect();
    if !clashes.is_empty() {
        return Err(usage(format!(
            "the database {url} already holds site(s) {clashes:?}: nothing was copied. Copy into \
             an empty database (createdb), or drop those sites there first"
        )));
    }
    for site in &sites {
        let started = std::time::Instant::now();
        let size = target.import_site(&*source, site).await.map_err(|e| {
            format!(
                "site {:?}: the copy failed, nothing of it was kept: {e}",
                site.id
            )
        })?;
        println!(
            "site {:?}: {size} leaves copied in {:.1} s",
            site.id,
            started.elapsed().as_secs_f64()
        );
    }
    // The proof: the copy, read back through the PostgreSQL store, is the original.
    let mut problems = 0;
    for site in &sites {
        let id = &site.id;
        let mut differ = |what: String| {
            problems += 1;
            println!("site {id:?}: {what}");
        };
        let copied = target.site(id).await.map_err(|e| e.to_string())?;
        if copied.as_deref() != Some(&**site) {
            differ("the site record differs".into());
        }
        let mut a = source.leaves(id, 0, u64::MAX);
        let mut b = target.leaves(id, 0, u64::MAX);
        let mut leaves = 0u64;
        loop {
            match (a.next().await, b.next().await) {
                (None, None) => break,
                (Some(x), Some(y)) => {
                    let x = x.map_err(|e| e.to_string())?;
                    let y = y.map_err(|e| e.to_string())?;
                    if x != y {
                        differ(format!("leaf {} differs", x.0));
                        break;
                    }
                    leaves += 1;
                }
                _ => {
                    differ(format!(
                        "the copy does not have the same number of leaves ({leaves} in common)"
                    ));
                    break;
                }
            }
        }
        let mut a = source.checkpoints(id);
        let mut b = target.checkpoints(id);
        let mut checkpoints = 0u64;
        loop {
            match (a.next().await, b.next().await) {
                (None, None) => break,
                (Some(x), Some(y)) => {
                    if x.map_err(|e| e.to_string())? != y.map_err(|e| e.to_string())? {
                        differ(format!("checkpoint {checkpoints} differs"));
                        break;
                    }
                    checkpoints += 1;
                }
                _ => {
                    differ("the copy does not have the same checkpoints".into());
                    break;
                }
            }
        }
        let revisions = source
            .revision_leaves(id)
            .await
            .map_err(|e| e.to_string())?;
        if revisions
            != target
                .revision_leaves(id)
                .await
                .map_err(|e| e.to_string())?
        {
            differ("the revision leaves differ".into());
        }
        for r in &revisions {
            let here = source
                .published(id, &r.leaf.revision)
                .await
                .map_err(|e| e.to_string())?;
            let there = target
                .published(id, &r.leaf.revision)
                .await
                .map_err(|e| e.to_string())?;
            if here != there {
                differ(format!("revision {} differs", r.leaf.revision));
            }
        }
        let vkey = key.vkey(id).map_err(|e| e.to_string())?;
        let report = crate::verify::verify_store(&target, id, &vkey)
            .await
            .map_err(|e| e.to_string())?;
        for p in &report.problems {
            differ(format!("verify: {p}"));
        }
        if report.is_ok() {
            println!(
                "site {id:?}: {leaves} leaves, {checkpoints} checkpoints and {} revisions identical \
                 in the copy; every leaf, tile, checkpoint and revision of the copy verifies",
                revisions.len()
            );
        }
    }
    source.shutdown().await;
    target.shutdown().await;
    if problems > 0 {
        return Err(Failure::from(format!(
            "{problems} difference(s) between the store and its copy: do not switch to the copy"
        )));
    }
    println!(
        "copied {} site(s) into {url}; serve from it with store = \"postgres\" and database_url, \
         with the same signing key and public_name",
        sites.len()
    );
    Ok(())
}
