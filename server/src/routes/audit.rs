//! What auditors call: the consent log export.

use super::registered_site;
use super::roles::Auditor;
use crate::app::AppState;
use crate::error::ApiError;
use crate::export::{self, Format};
use actix_web::{HttpResponse, web};
use futures_util::StreamExt;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    from: Option<String>,
    to: Option<String>,
    format: Option<Format>,
}

/// `GET /api/v1/sites/{site}/consents?from=&to=&format=csv|ndjson`, streamed.
pub async fn export(
    _: Auditor,
    state: web::Data<AppState>,
    site: web::Path<String>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    registered_site(&state, &site).await?;
    let from = query
        .from
        .as_deref()
        .map(|v| export::parse_bound("from", v))
        .transpose()
        .map_err(ApiError::Invalid)?;
    let to = query
        .to
        .as_deref()
        .map(|v| export::parse_bound("to", v))
        .transpose()
        .map_err(ApiError::Invalid)?;
    let format = query.format.unwrap_or(Format::Csv);
    let header = match format {
        Format::Csv => Some(Ok(web::Bytes::from(export::csv_header()))),
        Format::Ndjson => None,
    };
    let rows = state.store.records(&site, from, to).map(move |r| match r {
        Ok(r) => Ok(web::Bytes::from(export::render(format, &r))),
        Err(e) => Err(ApiError::from(e)),
    });
    let body = futures_util::stream::iter(header).chain(rows);
    let ext = match format {
        Format::Csv => "csv",
        Format::Ndjson => "ndjson",
    };
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"consents-{site}.{ext}\""),
        ))
        .streaming(body))
}
