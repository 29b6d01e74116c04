//! Application state, the route table, and `run`, which the binary and the tests both call.

use crate::assets::BannerAssets;
use crate::auth::Signer;
use crate::config::Config;
use crate::error::{ApiError, json_error};
use crate::routes::{admin, assets, audit, banner, fallback, health, panic};
use crate::store::Store;
use actix_web::dev::Server;
use actix_web::{App, HttpServer, middleware, web};
use biscotte_shared::api::DECISION_BODY_LIMIT;
use std::net::TcpListener;
use std::path::PathBuf;

/// Everything a request may need, shared by all workers.
#[derive(Debug)]
pub struct AppState {
    pub store: Store,
    pub signer: Signer,
    /// The built banner, or why it is missing (the API works without it).
    pub banner: Result<BannerAssets, String>,
    pub www_dir: PathBuf,
}

impl AppState {
    /// Opens the store, loads (or creates) the signing key and reads the banner build.
    pub fn open(config: &Config) -> Result<AppState, String> {
        let store = Store::open(&config.data_dir).map_err(|e| e.to_string())?;
        let signer = Signer::load_or_create(&config.key_path)?;
        let banner = BannerAssets::load(&config.banner_dir);
        if let Err(why) = &banner {
            tracing::warn!(%why, "serving without the banner");
        }
        Ok(AppState {
            store,
            signer,
            banner,
            www_dir: config.www_dir.clone(),
        })
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
    cfg.service(api("/api/v1/health", "GET").route(get().to(health::health)))
        .service(api("/.well-known/jwks.json", "GET").route(get().to(health::jwks)))
        .service(
            api("/api/v1/sites", "POST")
                .app_data(site_file.clone())
                .route(post().to(admin::create_site)),
        )
        .service(
            api("/api/v1/sites/{site}/revisions", "POST")
                .app_data(site_file)
                .route(post().to(admin::publish)),
        )
        .service(api("/api/v1/sites/{site}/config", "GET").route(get().to(banner::config)))
        .service(
            api("/api/v1/sites/{site}/consents", "GET, POST, OPTIONS")
                .app_data(json_body(DECISION_BODY_LIMIT))
                .route(post().to(banner::record))
                .route(method(Method::OPTIONS).to(banner::preflight))
                .route(get().to(audit::export)),
        )
        .route("/biscotte.js", get().to(assets::loader))
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

/// Serves the app on an already bound listener (port 0 in tests).
pub fn run(listener: TcpListener, state: AppState) -> std::io::Result<Server> {
    run_with_routes(listener, state, |_| {})
}

/// Serves the app with extra routes beside the API's: tests mount routes that exist only there
/// (a handler that panics).
pub fn run_with_routes(
    listener: TcpListener,
    state: AppState,
    extra: impl Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
) -> std::io::Result<Server> {
    let www_dir = state.www_dir.clone();
    let state = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(json_body(DECISION_BODY_LIMIT))
            .app_data(web::QueryConfig::default().error_handler(|err, _| {
                actix_web::Error::from(ApiError::Invalid(biscotte_shared::FieldError::new(
                    "query",
                    err.to_string(),
                )))
            }))
            .app_data(web::PathConfig::default())
            .wrap(middleware::from_fn(panic::catch_panic))
            .wrap(middleware::Logger::new("%r %s %b %Dms"))
            .configure(routes)
            .configure(extra.clone())
            .configure(|cfg| fallbacks(cfg, www_dir.clone()))
    })
    .listen(listener)?
    .run();
    Ok(server)
}
