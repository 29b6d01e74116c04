//! The only code that knows HTTP. Each handler extracts, makes one call into `shared` or the
//! store, and maps the answer to a response.

pub mod admin;
pub mod assets;
pub mod audit;
pub mod banner;
pub mod health;
pub mod security;

use actix_web::HttpRequest;
use biscotte_shared::Timestamp;

/// The server's clock, read here and nowhere in `shared`.
pub fn now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    Timestamp::from_millis(ms)
}

/// The site named in the path, or the 404 that says how to fix the tag.
pub fn registered_site(
    state: &crate::app::AppState,
    id: &str,
) -> Result<crate::store::SiteRecord, crate::error::ApiError> {
    state
        .store
        .site(id)?
        .ok_or_else(|| crate::error::ApiError::UnknownSite(id.to_owned()))
}

/// The origin this server is reached at, as a browser would write it.
pub fn own_origin(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}
