//! The only code that knows HTTP. Each handler extracts, makes one call into `shared` or the
//! store, and maps the answer to a response.

pub mod admin;
pub mod assets;
pub mod audit;
pub mod banner;
pub mod fallback;
pub mod health;
pub mod limit;
pub mod log;
pub mod observe;
pub mod panic;
pub mod roles;
pub mod security;

use actix_web::HttpRequest;

pub use crate::clock::now;

/// The site named in the path, or the 404 that says how to fix the tag.
pub async fn registered_site(
    state: &crate::app::AppState,
    id: &str,
) -> Result<std::sync::Arc<crate::store::SiteRecord>, crate::error::ApiError> {
    state
        .store
        .site(id)
        .await?
        .ok_or_else(|| crate::error::ApiError::UnknownSite(id.to_owned()))
}

/// The origin this server is reached at, as a browser would write it. Behind a trusted proxy
/// that is what the proxy forwards; otherwise the address the server listens on, never the
/// request's own `Host`/`X-Forwarded-Host`/`Forwarded`, which the client writes.
pub fn own_origin(req: &HttpRequest, clients: &limit::ClientPolicy) -> String {
    if clients.peer_is_trusted(req) {
        let info = req.connection_info();
        return format!("{}://{}", info.scheme(), info.host());
    }
    let config = req.app_config();
    let scheme = if config.secure() { "https" } else { "http" };
    format!("{scheme}://{}", config.local_addr())
}
