//! What auditors call: the consent log export (CSV, NDJSON, or a bundle they verify offline).

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
    /// With `format=bundle`: a tree size the auditor kept a checkpoint of, to carry the
    /// consistency proof from it.
    since: Option<u64>,
}

/// `GET /api/v1/sites/{site}/consents?from=&to=&format=csv|ndjson|bundle[&since=]`, streamed.
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
    let disposition = format!(
        "attachment; filename=\"consents-{site}.{}\"",
        format.extension()
    );
    if format == Format::Bundle {
        let key = state.log_key.vkey(&site)?.to_string();
        let since: Vec<u64> = query.since.into_iter().collect();
        let (head, _, lines) = export::bundle(&*state.store, &site, key, from, to, &since).await?;
        let body = futures_util::stream::iter([Ok(web::Bytes::from(head))])
            .chain(lines.map(|l| l.map(web::Bytes::from).map_err(ApiError::from)));
        return Ok(HttpResponse::Ok()
            .content_type(format.content_type())
            .insert_header(("Content-Disposition", disposition))
            .streaming(body));
    }
    let header = match format {
        Format::Csv => Some(Ok(web::Bytes::from(export::csv_header()))),
        Format::Ndjson | Format::Bundle => None,
    };
    let id = site.to_string();
    let rows = state.store.records(&site, from, to).map(move |r| match r {
        Ok(r) => Ok(web::Bytes::from(export::render(format, &id, &r))),
        Err(e) => Err(ApiError::from(e)),
    });
    let body = futures_util::stream::iter(header).chain(rows);
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .insert_header(("Content-Disposition", disposition))
        .streaming(body))
}
