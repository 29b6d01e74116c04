//! Application state, the route table, and `run`, which the binary and the tests both call.

use crate::assets::BannerAssets;
use crate::auth::Signer;
use crate::config::Config;
use crate::error::{ApiError, json_error};
use crate::metrics::Metrics;
use crate::routes::limit::{ClientPolicy, rate_limit};
use crate::routes::observe::count_decisions;
use crate::routes::{admin, assets, audit, banner, health};
use crate::store::{SledStore, Store};
use actix_web::dev::Server;
use actix_web::{App, HttpServer, middleware, web};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

/// Everything a request may need, shared by all workers.
#[derive(Debug)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub signer: Signer,
    /// The built banner, or why it is missing (the API works without it).
    pub banner: Result<BannerAssets, String>,
    pub www_dir: PathBuf,
    /// Who each client is, and the per-client rate limit.
    pub clients: ClientPolicy,
    pub metrics: Arc<Metrics>,
}

impl AppState {
    /// Opens the store, loads (or creates) the signing key and reads the banner build.
    pub fn open(config: &Config) -> Result<AppState, String> {
        let metrics = Arc::new(Metrics::new());
        let observer = metrics.clone();
        let store = SledStore::open_with(
            &config.data_dir,
            Arc::new(move |size, took| observer.batch_written(size, took)),
        )
        .map_err(|e| e.to_string())?;
        let signer = Signer::load_or_create(&config.key_path)?;
        let banner = BannerAssets::load(&config.banner_dir);
        if let Err(why) = &banner {
            tracing::warn!(%why, "serving without the banner");
        }
        Ok(AppState {
            store: Arc::new(store),
            signer,
            banner,
            www_dir: config.www_dir.clone(),
            clients: ClientPolicy::new(
                config.rate_limit_per_minute,
                config.trusted_proxies.clone(),
            ),
            metrics,
        })
    }
}

/// The whole route table.
fn routes(cfg: &mut web::ServiceConfig, www_dir: PathBuf) {
    use actix_web::http::Method;
    use web::{get, method, post};
    cfg.route("/healthz", get().to(health::health))
        .route("/api/v1/health", get().to(health::health))
        .route("/readyz", get().to(health::ready))
        .route("/.well-known/jwks.json", get().to(health::jwks))
        .route("/api/v1/sites", post().to(admin::create_site))
        .route("/api/v1/sites/{site}/revisions", post().to(admin::publish))
        .route("/api/v1/sites/{site}/config", get().to(banner::config))
        .route("/api/v1/sites/{site}/consents", post().to(banner::record))
        .route(
            "/api/v1/sites/{site}/consents",
            method(Method::OPTIONS).to(banner::preflight),
        )
        .route("/api/v1/sites/{site}/consents", get().to(audit::export))
        .route("/biscotte.js", get().to(assets::loader))
        .route("/assets/{file}", get().to(assets::asset))
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
    let www_dir = state.www_dir.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(
                web::JsonConfig::default()
                    .limit(256 * 1024)
                    .error_handler(|err, _| actix_web::Error::from(json_error(err))),
            )
            .app_data(web::QueryConfig::default().error_handler(|err, _| {
                actix_web::Error::from(ApiError::Invalid(biscotte_shared::FieldError::new(
                    "query",
                    err.to_string(),
                )))
            }))
            .wrap(middleware::from_fn(rate_limit))
            .wrap(middleware::from_fn(count_decisions))
            .wrap(middleware::Logger::new("%r %s %b %Dms"))
            .configure(|cfg| routes(cfg, www_dir.clone()))
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
