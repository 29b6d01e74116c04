//! `/biscotte.js` and the content-hashed banner files.

use crate::app::AppState;
use actix_web::{HttpResponse, web};

pub async fn loader(state: web::Data<AppState>) -> HttpResponse {
    match &state.banner {
        Ok(b) => HttpResponse::Ok()
            .content_type("text/javascript; charset=utf-8")
            // The loader is tiny and must pick up new banner builds: revalidate it every time.
            .insert_header(("Cache-Control", "no-cache"))
            .insert_header(("Access-Control-Allow-Origin", "*"))
            .body(b.loader.clone()),
        Err(why) => {
            tracing::warn!(%why, "banner requested but not built");
            HttpResponse::ServiceUnavailable()
                .content_type("text/javascript; charset=utf-8")
                .body(format!(
                    "console.warn({});",
                    serde_json::Value::String(format!("Biscotte: {why}"))
                ))
        }
    }
}

pub async fn asset(state: web::Data<AppState>, file: web::Path<String>) -> HttpResponse {
    match state
        .banner
        .as_ref()
        .ok()
        .and_then(|b| b.files.get(file.as_str()))
    {
        Some(a) => HttpResponse::Ok()
            .content_type(a.content_type)
            .insert_header(("Cache-Control", "public, max-age=31536000, immutable"))
            // The banner runs on the sites' origins: module scripts and wasm need CORS.
            .insert_header(("Access-Control-Allow-Origin", "*"))
            .body(a.bytes.clone()),
        None => HttpResponse::NotFound()
            .body("no such banner file: load /biscotte.js, which points at the current ones"),
    }
}
