//! What operators and site owners call: creating a site, publishing revisions, and taking a
//! backup of the store. The bodies have the shape of `site.toml`, as JSON.

use super::now;
use super::roles::{Admin, Owner};
use crate::app::AppState;
use crate::error::ApiError;
use crate::sitefile::SiteFile;
use actix_web::{HttpResponse, web};
use biscotte_shared::FieldError;
use futures_util::StreamExt;
use serde_json::json;

fn invalid(errors: Vec<FieldError>) -> ApiError {
    let first = errors
        .first()
        .cloned()
        .unwrap_or_else(|| FieldError::new("body", "invalid"));
    let all = errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    ApiError::Invalid(FieldError::new(first.field, all))
}

/// `POST /api/v1/sites` (admin): register a site and publish its first revision.
pub async fn create_site(
    _: Admin,
    state: web::Data<AppState>,
    body: web::Json<SiteFile>,
) -> Result<HttpResponse, ApiError> {
    let mut site = body.into_inner().validate().map_err(invalid)?;
    let warnings = std::mem::take(&mut site.warnings);
    let published = state.store.create_site(site.into_new_site(now())).await?;
    Ok(HttpResponse::Created().json(json!({ "published": published, "warnings": warnings })))
}

/// `POST /api/v1/sites/{site}/revisions` (owner): publish a new revision.
pub async fn publish(
    _: Owner,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<SiteFile>,
) -> Result<HttpResponse, ApiError> {
    let site = body.into_inner().validate().map_err(invalid)?;
    if site.id != *path {
        return Err(ApiError::Invalid(FieldError::new(
            "site.id",
            format!(
                "{:?} does not match the site in the URL ({:?})",
                site.id,
                path.as_str()
            ),
        )));
    }
    let published = state
        .store
        .publish(&site.id, site.config.clone(), site.settings(), now())
        .await?;
    Ok(HttpResponse::Created().json(json!({ "published": published, "warnings": site.warnings })))
}

/// `POST /api/v1/admin/backup` (admin): a consistent copy of the whole store, streamed in the
/// backend's backup format (sled: `biscotte-backup-1`, `store/sled_backup.rs`), as `biscotte
/// backup` reads it. `Biscotte-Held-Writes-Ms` says how long writes waited for the copy.
pub async fn backup(_: Admin, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let backup = state.store.backup().await?;
    let held_ms = u64::try_from(backup.held_writes.as_millis()).unwrap_or(u64::MAX);
    Ok(HttpResponse::Ok()
        .content_type(backup.media_type)
        .insert_header(("Cache-Control", "no-store"))
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"biscotte-backup\"",
        ))
        .insert_header(("Biscotte-Held-Writes-Ms", held_ms.to_string()))
        .no_chunking(backup.bytes)
        .streaming(
            backup
                .stream
                .map(|chunk| chunk.map(web::Bytes::from).map_err(ApiError::from)),
        ))
}
