//! Application state, the route table, and `run`, which the binary and the tests both call.

use crate::assets::BannerAssets;
use crate::auth::Signer;
use crate::config::Config;
use crate::error::{ApiError, json_error};
use crate::routes::{admin, assets, audit, banner, health};
use crate::store::Store;
use actix_web::dev::Server;
use actix_web::{App, HttpServer, middleware, web};
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

/// The whole route table.
fn routes(cfg: &mut web::ServiceConfig, www_dir: PathBuf) {
    use actix_web::http::Method;
    use web::{get, method, post};
    cfg.route("/api/v1/health", get().to(health::health))
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

/// Serves the app on an already bound listener (port 0 in tests).
pub fn run(listener: TcpListener, state: AppState) -> std::io::Result<Server> {
    let www_dir = state.www_dir.clone();
    let state = web::Data::new(state);
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
            .app_data(web::PathConfig::default())
            .wrap(middleware::Logger::new("%r %s %b %Dms"))
            .wrap(middleware::from_fn(crate::routes::security::headers))
            .configure(|cfg| routes(cfg, www_dir.clone()))
    })
    .listen(listener)?
    .run();
    Ok(server)
}
