//! The `biscotte` command line: serve, the demo, sites, tokens, export, verify.
//!
//! sled allows one process per store, so commands that open the store fail while a server holds
//! it; they then say so and name the HTTP route that does the same job.

use crate::app::{self, AppState};
use crate::auth::{Role, Signer};
use crate::config::{Config, parse_bind};
use crate::export::{self, Format};
use crate::proof;
use crate::routes::now;
use crate::sitefile::{SiteFile, ValidSite};
use crate::store::{SledStore, Store, StoreError};
use actix_web::dev::ServerHandle;
use actix_web::web;
use biscotte_shared::Revision;
use biscotte_shared::catalogue::Catalogue;
use clap::{Parser, Subcommand};
use futures_util::StreamExt;
use std::collections::BTreeSet;
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
        /// Start (inclusive): 2026-11-26 or 2026-11-26T10:00:00Z.
        #[arg(long)]
        from: Option<String>,
        /// End (exclusive).
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Recompute a site's hash chain, and each revision its decisions name from its stored
    /// configuration (under the revision's own recipe); report the first break, if any.
    Verify {
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
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
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
        Err(message) => {
            eprintln!("biscotte: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one command line (`biscotte ...`) and returns what to tell the user on failure,
/// usage errors included: it never exits the process, so tests can call it.
pub fn run_args<I, T>(args: I) -> Result<(), String>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    match Cli::try_parse_from(args) {
        Ok(cli) => run(cli),
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            Ok(())
        }
        Err(e) => Err(e.render().to_string()),
    }
}

fn run(cli: Cli) -> Result<(), String> {
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
            rt().block_on(serve(config, None))
        }
        Command::Demo { bind, site_file } => {
            if let Some(b) = bind {
                config.bind = parse_bind(&b)?;
            }
            rt().block_on(serve(config, Some(site_file)))
        }
        Command::Site { command } => rt().block_on(site(&config, command)),
        Command::Token {
            command: TokenCommand::Issue { role, site, days },
        } => {
            let site = match (role, site) {
                (Role::Admin, _) => None,
                (_, Some(s)) => Some(s),
                (_, None) => {
                    return Err(format!(
                        "a token of role {role} is for one site: add --site ID"
                    ));
                }
            };
            if days < 1 {
                return Err("--days must be at least 1".into());
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
            from,
            to,
            out,
            // Reads need no reactor: a plain executor keeps these usable from inside one (tests).
        } => futures_executor::block_on(export_log(&config, &site, format, from, to, out)),
        Command::Verify { site } => futures_executor::block_on(verify(&config, &site)),
        Command::Catalogue => {
            let catalogue = Catalogue::built_in()?;
            for s in &catalogue.services {
                println!(
                    "{:<20} {:<12} {} ({})",
                    s.id, s.category, s.name, s.provider
                );
            }
            Ok(())
        }
    }
}

fn open_store(config: &Config, route: &str) -> Result<SledStore, String> {
    SledStore::open(&config.data_dir).map_err(|e| match e {
        StoreError::Busy { .. } => format!("{e}; while it runs, do the same with HTTP: {route}"),
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
                .publish(&id, site.config, Some(site.origins), now())
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

async fn export_log(
    config: &Config,
    site: &str,
    format: Format,
    from: Option<String>,
    to: Option<String>,
    out: Option<PathBuf>,
) -> Result<(), String> {
    let from = from
        .map(|v| export::parse_bound("--from", &v))
        .transpose()
        .map_err(|e| e.to_string())?;
    let to = to
        .map(|v| export::parse_bound("--to", &v))
        .transpose()
        .map_err(|e| e.to_string())?;
    let fmt_name = match format {
        Format::Csv => "csv",
        Format::Ndjson => "ndjson",
    };
    let store = open_store(
        config,
        &format!(
            "GET /api/v1/sites/{site}/consents?format={fmt_name} with an auditor token (`biscotte token issue --role auditor --site {site}`)"
        ),
    )?;
    if store.site(site).await.map_err(|e| e.to_string())?.is_none() {
        return Err(format!("unknown site {site:?}"));
    }
    let mut writer: Box<dyn Write> = match &out {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .map_err(|e| format!("cannot create {}: {e}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let io = |e: std::io::Error| e.to_string();
    if format == Format::Csv {
        writer.write_all(&export::csv_header()).map_err(io)?;
    }
    let mut records = store.records(site, from, to);
    while let Some(record) = records.next().await {
        let record = record.map_err(|e| e.to_string())?;
        writer
            .write_all(&export::render(format, &record))
            .map_err(io)?;
    }
    writer.flush().map_err(io)
}

async fn verify(config: &Config, site: &str) -> Result<(), String> {
    let store = open_store(
        config,
        &format!("GET /api/v1/sites/{site}/consents?format=ndjson, then recompute the chain"),
    )?;
    let records: Vec<_> = store
        .records(site, None, None)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let n = proof::verify_chain(&records)
        .map_err(|b| format!("site {site:?}: hash chain broken: {b:?}"))?;
    // The live revision, and every revision a decision names: what proofs point at.
    let mut revisions: BTreeSet<&Revision> = records.iter().map(|r| &r.revision).collect();
    let live = store.site(site).await.map_err(|e| e.to_string())?;
    if let Some(live) = &live {
        revisions.insert(&live.current_revision);
    }
    for revision in &revisions {
        let published = store
            .published(site, revision)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| {
                format!("site {site:?}: revision {revision} is named by a decision but not stored")
            })?;
        if !published.revision_matches() {
            return Err(format!(
                "site {site:?}: revision {revision} does not match its stored configuration under recipe {}: the configuration is not the one published",
                published.recipe.number()
            ));
        }
    }
    println!(
        "site {site:?}: revisions checked: {}, each matching its configuration",
        revisions.len()
    );
    println!("site {site:?}: {n} records, hash chain intact");
    Ok(())
}
