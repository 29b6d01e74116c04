//! `/biscotte.js` and the content-hashed banner files.

use crate::app::AppState;
use crate::error::ApiError;
use actix_web::{HttpResponse, web};

/// `GET /biscotte.js`. Without a banner build it is a 503 with the envelope saying how to build
/// it: browsers run no script answered with an error status, so a JavaScript body would be lost.
pub async fn loader(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    match &state.banner {
        Ok(b) => Ok(HttpResponse::Ok()
            .content_type("text/javascript; charset=utf-8")
            // The loader is tiny and must pick up new banner builds: revalidate it every time.
            .insert_header(("Cache-Control", "no-cache"))
            .insert_header(("Access-Control-Allow-Origin", "*"))
            .body(b.loader.clone())),
        Err(why) => {
            tracing::warn!(%why, "banner requested but not built");
            Err(ApiError::Unavailable(format!("Biscotte: {why}")))
        }
    }
}

/// `GET /assets/{file}`: an immutable, content-hashed banner file.
pub async fn asset(
    state: web::Data<AppState>,
    file: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let asset = state
        .banner
        .as_ref()
        .ok()
        .and_then(|b| b.files.get(file.as_str()))
        .ok_or_else(|| {
            ApiError::NotFound(
                "no such banner file: load /biscotte.js, which points at the current ones".into(),
            )
        })?;
    Ok(HttpResponse::Ok()
        .content_type(asset.content_type)
        .insert_header(("Cache-Control", "public, max-age=31536000, immutable"))
        // The banner runs on the sites' origins: module scripts and wasm need CORS.
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .body(asset.bytes.clone()))
}
