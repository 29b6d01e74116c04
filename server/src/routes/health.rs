//! Liveness, readiness, the metrics of the private listener, and the public signing key.

use crate::app::AppState;
use crate::error::ApiError;
use crate::metrics;
use actix_web::{HttpResponse, web};

/// `GET /healthz` (and `/api/v1/health`): the process answers HTTP.
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// `GET /readyz`: the store answers a read and its writer is alive; 503 otherwise, so a load
/// balancer sends visitors elsewhere rather than into requests that would wait.
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.store.ready().await.map_err(|e| {
        tracing::warn!(%e, "not ready: the store does not answer");
        ApiError::Unavailable(
            "not ready: the store does not answer; the server's log has the details".into(),
        )
    })?;
    refresh_store_size(&state);
    Ok(HttpResponse::Ok().json(serde_json::json!({ "status": "ready" })))
}

/// `GET /metrics`, on the `metrics_bind` listener only.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    refresh_store_size(&state);
    HttpResponse::Ok()
        .content_type(metrics::CONTENT_TYPE)
        .body(state.metrics.render())
}

fn refresh_store_size(state: &AppState) {
    match state.store.size_on_disk() {
        Ok(bytes) => state.metrics.set_store_bytes(bytes),
        Err(e) => tracing::warn!(%e, "cannot read the store's size"),
    }
}

/// `/.well-known/jwks.json`: the key that verifies receipts.
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .json(state.signer.jwks())
}
