//! The only code that knows HTTP. Each handler extracts, makes one call into `shared` or the
//! store, and maps the answer to a response.

pub mod admin;
pub mod assets;
pub mod audit;
pub mod banner;
pub mod health;

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

/// The origin this server is reached at, as a browser would write it.
pub fn own_origin(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}
