//! Application state, the route table, and `run`, which the binary and the tests both call.

use crate::assets::BannerAssets;
use crate::auth::Signer;
use crate::config::Config;
use crate::config::StoreKind;
use crate::error::{ApiError, json_error};
use crate::evidence::LogKey;
use crate::metrics::Metrics;
use crate::projections::Projections;
use crate::routes::limit::{ClientPolicy, rate_limit};
use crate::routes::observe::count_decisions;
use crate::routes::{admin, assets, audit, banner, fallback, health, log, panic};
use crate::store::{PgStore, SledStore, Store, StoreError};
use actix_web::dev::Server;
use actix_web::{App, HttpServer, middleware, web};
use biscotte_shared::api::DECISION_BODY_LIMIT;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

/// Everything a request may need, shared by all workers.
#[derive(Debug)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub signer: Signer,
    /// Names and signs each site's log; gives its verifier key.
    pub log_key: LogKey,
    /// The built banner, or why it is missing (the API works without it).
    pub banner: Result<BannerAssets, String>,
    pub www_dir: PathBuf,
    /// Who each client is, and the per-client rate limit.
    pub clients: ClientPolicy,
    pub metrics: Arc<Metrics>,
    /// What `GET /api/v1/sites/{site}/banner` serves, made once per revision and language.
    pub projections: Projections,
}

impl AppState {
    /// Opens the store, loads (or creates) the signing key and reads the banner build.
    pub fn open(config: &Config) -> Result<AppState, String> {
        let metrics = Arc::new(Metrics::new());
        let observer = metrics.clone();
        let (store, log_key, signer) = open_store(
            config,
            true,
            Arc::new(move |size, took| observer.batch_written(size, took)),
        )
        .map_err(|e| e.to_string())?;
        if config.public_name == crate::config::DEFAULT_PUBLIC_NAME {
            tracing::warn!(
                "public_name is not set: logs are named {}/<site>; set it (BISCOTTE_PUBLIC_NAME) before the first start of a real deployment, it cannot change afterwards",
                crate::config::DEFAULT_PUBLIC_NAME
            );
        }
        let banner = BannerAssets::load(&config.banner_dir);
        if let Err(why) = &banner {
            tracing::warn!(%why, "serving without the banner");
        }
        Ok(AppState {
            store,
            signer,
            log_key,
            banner,
            www_dir: config.www_dir.clone(),
            clients: ClientPolicy::new(
                config.rate_limit_per_minute,
                config.trusted_proxies.clone(),
            ),
            metrics,
            projections: Projections::default(),
        })
    }
}

/// Why a store could not be opened.
#[derive(Debug)]
pub enum OpenError {
    /// The store itself refused (busy, pinned to another key, …).
    Store(StoreError),
    /// Anything else: the key, the database's URL or connection, a migration.
    Other(String),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Store(e) => e.fmt(f),
            OpenError::Other(e) => f.write_str(e),
        }
    }
}

/// Opens the configured store (`store = "sled" | "postgres"`) with the deployment's log key.
///
/// With `create_key`, a missing signing key is created, unless the database already pins one:
/// then every server must bring that key (a server never signs a shared log with a key of its
/// own). Without it, the key must exist.
pub fn open_store(
    config: &Config,
    create_key: bool,
    on_batch: crate::store::BatchHook,
) -> Result<(Arc<dyn Store>, LogKey, Signer), OpenError> {
    let load = |create: bool| -> Result<(LogKey, Signer), String> {
        let signer = if create {
            Signer::load_or_create(&config.key_path)?
        } else {
            Signer::load(&config.key_path)?
        };
        Ok((LogKey::new(&config.public_name, signer.clone())?, signer))
    };
    match config.store {
        StoreKind::Sled => {
            let (key, signer) = load(create_key).map_err(OpenError::Other)?;
            let store = SledStore::open_with(&config.data_dir, key.clone(), on_batch)
                .map_err(OpenError::Store)?;
            Ok((Arc::new(store), key, signer))
        }
        StoreKind::Postgres => {
            let url = config.database_url.as_ref().ok_or_else(|| {
                OpenError::Other("store = \"postgres\" needs database_url".into())
            })?;
            let mut chosen = None;
            let store = PgStore::open(
                url.secret(),
                Box::new(|pinned| {
                    let create = match pinned {
                        Some(root) if !config.key_path.exists() => {
                            return Err(format!(
                                "the database {url} holds logs named {:?} and signed by the key {}, \
                                 and {} does not exist: copy this deployment's signing key there \
                                 (every server of a deployment shares one key, README: \"Several \
                                 servers\"); a server never makes a key of its own for a database \
                                 that has one",
                                root.public_name,
                                root.public_key,
                                config.key_path.display()
                            ));
                        }
                        _ => create_key,
                    };
                    let (key, signer) = load(create)?;
                    chosen = Some(signer);
                    Ok(key)
                }),
                on_batch,
            )
            .map_err(OpenError::Other)?;
            let signer = chosen.ok_or_else(|| OpenError::Other("no signing key".into()))?;
            let key = LogKey::new(&config.public_name, signer.clone()).map_err(OpenError::Other)?;
            Ok((Arc::new(store), key, signer))
        }
    }
}

/// The largest site file the admin routes read: room for a large site with long texts.
pub const SITE_FILE_LIMIT: usize = 1024 * 1024;

/// Reads JSON bodies up to `limit` bytes; over it, a 413 in the envelope.
fn json_body(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(|err, _| actix_web::Error::from(json_error(err)))
}

/// The whole route table. Each API path is one resource naming the methods it answers, so any
/// other method gets a 405 with `Allow`.
fn routes(cfg: &mut web::ServiceConfig) {
    use actix_web::http::Method;
    use fallback::api;
    use web::{get, method, post};
    let site_file = json_body(SITE_FILE_LIMIT);
    cfg.service(api("/healthz", "GET").route(get().to(health::health)))
        .service(api("/api/v1/health", "GET").route(get().to(health::health)))
        .service(api("/readyz", "GET").route(get().to(health::ready)))
        .service(api("/.well-known/jwks.json", "GET").route(get().to(health::jwks)))
        .service(api("/.well-known/biscotte-logs.json", "GET").route(get().to(log::logs)))
        .service(
            api("/api/v1/sites", "POST")
                .app_data(site_file.clone())
                .route(post().to(admin::create_site)),
        )
        .service(api("/api/v1/admin/backup", "POST").route(post().to(admin::backup)))
        .service(
            api("/api/v1/sites/{site}/revisions", "GET, POST")
                .app_data(site_file)
                .route(post().to(admin::publish))
                .route(get().to(log::revisions)),
        )
        .service(
            api("/api/v1/sites/{site}/revisions/{revision}", "GET").route(get().to(log::revision)),
        )
        .service(api("/api/v1/sites/{site}/log/checkpoint", "GET").route(get().to(log::checkpoint)))
        .service(
            api("/api/v1/sites/{site}/log/checkpoints/{size}", "GET")
                .route(get().to(log::checkpoint_at)),
        )
        .service(api("/api/v1/sites/{site}/log/vkey", "GET").route(get().to(log::vkey)))
        .service(
            api("/api/v1/sites/{site}/log/tile/entries/{tile:.+}", "GET")
                .route(get().to(log::entry_tile)),
        )
        .service(
            api("/api/v1/sites/{site}/log/tile/{level}/{tile:.+}", "GET")
                .route(get().to(log::hash_tile)),
        )
        .service(
            api("/api/v1/sites/{site}/log/proof/inclusion", "GET").route(get().to(log::inclusion)),
        )
        .service(
            api("/api/v1/sites/{site}/log/proof/consistency", "GET")
                .route(get().to(log::consistency)),
        )
        .service(api("/api/v1/sites/{site}/log/verify", "GET").route(get().to(log::verify)))
        .service(api("/api/v1/sites/{site}/config", "GET").route(get().to(banner::config)))
        .service(api("/api/v1/sites/{site}/banner", "GET").route(get().to(banner::projection)))
        .service(
            api("/api/v1/sites/{site}/consents", "GET, POST, OPTIONS")
                .app_data(json_body(DECISION_BODY_LIMIT))
                .route(post().to(banner::record))
                .route(method(Method::OPTIONS).to(banner::preflight))
                .route(get().to(audit::export)),
        )
        .route("/biscotte.js", get().to(assets::loader))
        .route("/sites/{site}/biscotte.js", get().to(banner::site_loader))
        .route("/assets/{file}", get().to(assets::asset));
}

/// After every route: the JSON 404 for other `/api` paths, then the static pages.
fn fallbacks(cfg: &mut web::ServiceConfig, www_dir: PathBuf) {
    cfg.service(web::scope("/api").default_service(web::to(fallback::unknown_api_route)))
        .service(
            actix_files::Files::new("/", www_dir)
                .index_file("index.html")
                .redirect_to_slash_directory(),
        );
}

/// How long a stopping server (SIGTERM, SIGINT) lets in-flight requests finish before it drops
/// them: a decision takes milliseconds, and an orchestrator's own patience is about 30 s.
pub const SHUTDOWN_TIMEOUT_SECS: u64 = 10;

/// Serves the app on an already bound listener (port 0 in tests).
pub fn run(listener: TcpListener, state: AppState) -> std::io::Result<Server> {
    run_shared(listener, web::Data::new(state))
}

/// [`run`] with a state the caller keeps, to share it with [`run_metrics`].
pub fn run_shared(listener: TcpListener, state: web::Data<AppState>) -> std::io::Result<Server> {
    serve(listener, state, |_| {})
}

/// Serves the app with extra routes beside the API's: tests mount routes that exist only there
/// (a handler that panics).
pub fn run_with_routes(
    listener: TcpListener,
    state: AppState,
    extra: impl Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
) -> std::io::Result<Server> {
    serve(listener, web::Data::new(state), extra)
}

fn serve(
    listener: TcpListener,
    state: web::Data<AppState>,
    extra: impl Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
) -> std::io::Result<Server> {
    let www_dir = state.www_dir.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(json_body(DECISION_BODY_LIMIT))
            .app_data(web::PathConfig::default().error_handler(|err, _| {
                actix_web::Error::from(ApiError::Invalid(biscotte_shared::FieldError::new(
                    "path",
                    format!("{err}: see the README's HTTP API table for what each route takes"),
                )))
            }))
            .app_data(web::QueryConfig::default().error_handler(|err, _| {
                actix_web::Error::from(ApiError::Invalid(biscotte_shared::FieldError::new(
                    "query",
                    err.to_string(),
                )))
            }))
            .wrap(middleware::from_fn(panic::catch_panic))
            .wrap(middleware::from_fn(rate_limit))
            .wrap(middleware::from_fn(banner::cors_on_refusals))
            .wrap(middleware::from_fn(count_decisions))
            // JSON answers, the loader and the pages; banner files come precompressed.
            .wrap(middleware::Compress::default())
            .wrap(middleware::Logger::new("%r %s %b %Dms"))
            .wrap(middleware::from_fn(crate::routes::security::headers))
            .configure(routes)
            .configure(extra.clone())
            .configure(|cfg| fallbacks(cfg, www_dir.clone()))
    })
    .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS)
    .listen(listener)?
    .run();
    Ok(server)
}

/// The private listener at `metrics_bind`: `GET /metrics` and nothing else, so the public
/// address never shows them.
pub fn run_metrics(listener: TcpListener, state: web::Data<AppState>) -> std::io::Result<Server> {
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/metrics", web::get().to(health::metrics))
    })
    .workers(1)
    .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS)
    .listen(listener)?
    .run();
    Ok(server)
}
