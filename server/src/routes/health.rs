//! Liveness and the public signing key.

use crate::app::AppState;
use actix_web::{HttpResponse, web};

pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// `/.well-known/jwks.json`: the key that verifies receipts.
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .json(state.signer.jwks())
}
