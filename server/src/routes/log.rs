//! A site's transparency log, read by auditors and by any C2SP tlog client: checkpoints, hash
//! and entry tiles (the c2sp.org/tlog-tiles layout), proofs, the verifier key, the revision
//! leaves, and `verify` on the live store.

use super::registered_site;
use super::roles::{Auditor, MaybeAuditor};
use crate::app::AppState;
use crate::error::ApiError;
use crate::store::{RevisionEntry, SiteRecord, StoredLeaf};
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use biscotte_shared::FieldError;
use biscotte_shared::audit::RevisionFields;
use biscotte_shared::merkle::{TILE_HEIGHT, TILE_WIDTH};
use biscotte_shared::note::TlogProof;
use futures_util::StreamExt;
use serde::Deserialize;
use std::sync::Arc;

/// The site, when the caller may read its checkpoints and hash tiles.
async fn readable(
    state: &AppState,
    site: &str,
    auditor: &MaybeAuditor,
) -> Result<Arc<SiteRecord>, ApiError> {
    let record = registered_site(state, site).await?;
    if !record.checkpoints_public && auditor.0.is_none() {
        return Err(ApiError::Unauthorized(format!(
            "site {site:?} shows its log to its auditors only ([site].checkpoints = \"auditors\"): send an auditor token"
        )));
    }
    Ok(record)
}

fn text(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}

fn invalid(field: &str, message: String) -> ApiError {
    ApiError::Invalid(FieldError::new(field, message))
}

/// `GET /api/v1/sites/{site}/log/checkpoint`: the latest signed checkpoint (C2SP).
pub async fn checkpoint(
    auditor: MaybeAuditor,
    state: web::Data<AppState>,
    site: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    readable(&state, &site, &auditor).await?;
    let cp = state
        .store
        .checkpoint(&site)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("site {:?} has no checkpoint yet", *site)))?;
    Ok(text(cp.text.clone()))
}

/// `GET /api/v1/sites/{site}/log/checkpoints/{size}`: the checkpoint signed at that size; every
/// one is kept, so any earlier view of the log can be shown again.
pub async fn checkpoint_at(
    auditor: MaybeAuditor,
    state: web::Data<AppState>,
    path: web::Path<(String, u64)>,
) -> Result<HttpResponse, ApiError> {
    let (site, size) = path.into_inner();
    readable(&state, &site, &auditor).await?;
    let cp = state.store.checkpoint_at(&site, size).await?.ok_or_else(|| {
        ApiError::NotFound(format!(
            "no checkpoint of site {site:?} was signed at {size} leaves: one is signed per batch, GET …/log/checkpoint for the latest"
        ))
    })?;
    Ok(text(cp))
}

/// `GET /api/v1/sites/{site}/log/vkey`: the log's C2SP verifier key. Auditors should get it out
/// of band too: a server being audited cannot vouch for its own key.
pub async fn vkey(
    state: web::Data<AppState>,
    site: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    registered_site(&state, &site).await?;
    let key = state.log_key.vkey(&site)?;
    Ok(text(format!("{key}\n")))
}

/// `GET /.well-known/biscotte-logs.json`: every site's log, with its origin and verifier key.
pub async fn logs(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let mut logs = Vec::new();
    for site in state.store.sites().await? {
        logs.push(serde_json::json!({
            "site": site.id,
            "origin": state.log_key.origin(&site.id),
            "vkey": state.log_key.vkey(&site.id)?.to_string(),
            "checkpoint": format!("/api/v1/sites/{}/log/checkpoint", site.id),
            "public": site.checkpoints_public,
        }));
    }
    Ok(HttpResponse::Ok()
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(serde_json::json!({ "logs": logs })))
}

/// A tile path of c2sp.org/tlog-tiles: `N` in 3-digit groups (`x001/x234/067`), then `.p/W`
/// for a partial tile of width `W`.
fn tile_path(path: &str) -> Result<(u64, Option<u64>), ApiError> {
    let bad = || {
        invalid(
            "tile",
            format!(
                "{path:?} is not a tile index: write it as tlog-tiles does, e.g. 000, x001/234 or 005.p/17"
            ),
        )
    };
    let (index, width) = match path.split_once(".p/") {
        Some((index, width)) => {
            let w: u64 = width.parse().map_err(|_| bad())?;
            if !(1..TILE_WIDTH).contains(&w) || width.len() != w.to_string().len() {
                return Err(bad());
            }
            (index, Some(w))
        }
        None => (path, None),
    };
    let groups: Vec<&str> = index.split('/').collect();
    let mut n: u64 = 0;
    for (i, group) in groups.iter().enumerate() {
        let digits = if i + 1 < groups.len() {
            group.strip_prefix('x').ok_or_else(bad)?
        } else {
            group
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let d: u64 = digits.parse().map_err(|_| bad())?;
        n = n
            .checked_mul(1000)
            .and_then(|n| n.checked_add(d))
            .ok_or_else(bad)?;
    }
    // One index, one path: `x000/000` is not tile 0 (as Go's tlog refuses it).
    let canonical = tile_index_path(n);
    if canonical != index {
        return Err(invalid(
            "tile",
            format!("{path:?} is not the canonical path of tile {n}: write {canonical:?}"),
        ));
    }
    Ok((n, width))
}

/// A tile index as tlog-tiles writes it: 3-digit groups, all but the last prefixed by `x`.
fn tile_index_path(n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    let mut rest = n / 1000;
    while rest > 0 {
        groups.push(format!("x{:03}", rest % 1000));
        rest /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

/// The leaves a tile of `level` at `index` covers in a tree of `size`, and its width.
fn tile_span(level: u8, index: u64, width: Option<u64>, size: u64) -> Result<u64, ApiError> {
    let shift = u32::from(level) * u32::from(TILE_HEIGHT);
    let entries_available = size.checked_shr(shift).unwrap_or(0);
    let first = index.saturating_mul(TILE_WIDTH);
    let full = entries_available.saturating_sub(first).min(TILE_WIDTH);
    let want = width.unwrap_or(TILE_WIDTH);
    if want > full || (width.is_none() && full < TILE_WIDTH) {
        return Err(ApiError::NotFound(format!(
            "the log's latest checkpoint ({size} leaves) has no such tile: a full tile has {TILE_WIDTH} entries, a partial one `.p/W` fewer"
        )));
    }
    Ok(want)
}

/// `GET /api/v1/sites/{site}/log/tile/{level}/{index…}`: a hash tile (public unless the site
/// says otherwise: hashes reveal nothing).
pub async fn hash_tile(
    auditor: MaybeAuditor,
    state: web::Data<AppState>,
    path: web::Path<(String, u8, String)>,
) -> Result<HttpResponse, ApiError> {
    let (site, level, rest) = path.into_inner();
    readable(&state, &site, &auditor).await?;
    let (index, width) = tile_path(&rest)?;
    let size = latest_size(&state, &site).await?;
    let width = tile_span(level, index, width, size)?;
    let node_level = u32::from(level) * u32::from(TILE_HEIGHT);
    let node_level = u8::try_from(node_level).map_err(|_| invalid("level", "too high".into()))?;
    let first = index * TILE_WIDTH;
    let nodes: Vec<(u8, u64)> = (first..first + width).map(|i| (node_level, i)).collect();
    let hashes = state.store.nodes(&site, &nodes).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(hashes.concat()))
}

/// `GET /api/v1/sites/{site}/log/tile/entries/{index…}` (auditor): an entry bundle — each leaf
/// as a big-endian 16-bit length and its bytes. A leaf retention erased has no bytes left: the
/// tile stops before it (`404` when it starts with one); its hash is in the hash tiles.
pub async fn entry_tile(
    _: Auditor,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (site, rest) = path.into_inner();
    registered_site(&state, &site).await?;
    let (index, width) = tile_path(&rest)?;
    let size = latest_size(&state, &site).await?;
    let width = tile_span(0, index, width, size)?;
    let first = index * TILE_WIDTH;
    let mut leaves = state.store.leaves(&site, first, first + width);
    let mut body = Vec::new();
    while let Some(entry) = leaves.next().await {
        let (i, leaf) = entry?;
        match leaf {
            StoredLeaf::Present(bytes) => {
                let len = u16::try_from(bytes.len())
                    .map_err(|_| ApiError::Internal(format!("leaf {i} is too long")))?;
                body.extend_from_slice(&len.to_be_bytes());
                body.extend_from_slice(&bytes);
            }
            StoredLeaf::Erased { .. } => {
                return Err(ApiError::NotFound(format!(
                    "leaf {i} was erased by retention: its content is gone, its hash stays in the hash tiles"
                )));
            }
        }
    }
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .body(body))
}

async fn latest_size(state: &AppState, site: &str) -> Result<u64, ApiError> {
    Ok(state.store.checkpoint(site).await?.map_or(0, |c| c.size))
}

#[derive(Debug, Deserialize)]
pub struct InclusionQuery {
    index: u64,
    size: Option<u64>,
}

/// `GET /api/v1/sites/{site}/log/proof/inclusion?index=&size=` (auditor): a C2SP tlog-proof of
/// leaf `index` in the checkpoint of `size` (default: the latest), its leaf bytes in `extra`.
pub async fn inclusion(
    _: Auditor,
    state: web::Data<AppState>,
    site: web::Path<String>,
    query: web::Query<InclusionQuery>,
) -> Result<HttpResponse, ApiError> {
    registered_site(&state, &site).await?;
    // One checkpoint, and the proof for its size: a batch committing meanwhile changes neither.
    let (checkpoint, size) = match query.size {
        Some(size) => (
            state
                .store
                .checkpoint_at(&site, size)
                .await?
                .ok_or_else(|| {
                    ApiError::NotFound(format!("no checkpoint was signed at {size} leaves"))
                })?,
            size,
        ),
        None => {
            let latest = state
                .store
                .checkpoint(&site)
                .await?
                .ok_or_else(|| ApiError::NotFound("the log has no checkpoint yet".into()))?;
            (latest.text.clone(), latest.size)
        }
    };
    let hashes = state
        .store
        .inclusion_proof(&site, query.index, size)
        .await?;
    let mut leaf = state.store.leaves(&site, query.index, query.index + 1);
    let extra = match leaf.next().await.transpose()? {
        Some((_, StoredLeaf::Present(bytes))) => Some(bytes),
        _ => None,
    };
    Ok(text(
        TlogProof {
            extra,
            index: query.index,
            hashes,
            checkpoint,
        }
        .to_text(),
    ))
}

#[derive(Debug, Deserialize)]
pub struct ConsistencyQuery {
    from: u64,
    to: Option<u64>,
}

/// `GET /api/v1/sites/{site}/log/proof/consistency?from=&to=`: the RFC 9162 consistency proof
/// between two sizes (`to` defaults to the latest checkpoint's), hashes in base64.
pub async fn consistency(
    auditor: MaybeAuditor,
    state: web::Data<AppState>,
    site: web::Path<String>,
    query: web::Query<ConsistencyQuery>,
) -> Result<HttpResponse, ApiError> {
    readable(&state, &site, &auditor).await?;
    let to = match query.to {
        Some(to) => to,
        None => latest_size(&state, &site).await?,
    };
    if to > latest_size(&state, &site).await? {
        return Err(ApiError::NotFound(format!(
            "to={to} is beyond the latest checkpoint"
        )));
    }
    let proof = state.store.consistency_proof(&site, query.from, to).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "from": query.from,
        "to": to,
        "proof": proof.iter().map(|h| STANDARD.encode(h)).collect::<Vec<_>>(),
    })))
}

/// `GET /api/v1/sites/{site}/log/verify` (auditor): `biscotte verify --site` on the live store.
pub async fn verify(
    _: Auditor,
    state: web::Data<AppState>,
    site: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    registered_site(&state, &site).await?;
    let key = state.log_key.vkey(&site)?;
    let report = crate::verify::verify_store(&*state.store, &site, &key).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "ok": report.is_ok(),
        "report": report,
    })))
}

fn revision_json(entry: &RevisionEntry) -> serde_json::Value {
    serde_json::json!({
        "index": entry.index,
        "leaf": STANDARD.encode(&entry.bytes),
        "fields": RevisionFields::of(&entry.leaf),
    })
}

/// `GET /api/v1/sites/{site}/revisions`: every publication the log recorded, in order.
pub async fn revisions(
    state: web::Data<AppState>,
    site: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    registered_site(&state, &site).await?;
    let entries = state.store.revision_leaves(&site).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "revisions": entries.iter().map(revision_json).collect::<Vec<_>>(),
    })))
}

/// `GET /api/v1/sites/{site}/revisions/{revision}`: a revision's configuration and words, and
/// each of its publications in the log with a tlog-proof in the latest checkpoint (revision
/// leaves are never erased by retention); where a site shows its log to auditors only, the proofs
/// need their token.
pub async fn revision(
    auditor: MaybeAuditor,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (site, revision) = path.into_inner();
    // What was shown is no secret; a checkpoint tells the log's size, which a site may keep for
    // its auditors: without their token, its publications come without proofs.
    let with_proofs = readable(&state, &site, &auditor).await.is_ok();
    let not_found = || ApiError::NotFound(format!("site {site:?} has no revision {revision:?}"));
    let parsed = biscotte_shared::Revision::parse(&revision).ok_or_else(not_found)?;
    let published = state
        .store
        .published(&site, &parsed)
        .await?
        .ok_or_else(not_found)?;
    let checkpoint = state.store.checkpoint(&site).await?;
    let mut leaves = Vec::new();
    for entry in state.store.revision_leaves(&site).await? {
        if entry.leaf.revision != parsed {
            continue;
        }
        let mut json = revision_json(&entry);
        if let Some(cp) = checkpoint.as_ref().filter(|_| with_proofs)
            && entry.index < cp.size
        {
            let hashes = state
                .store
                .inclusion_proof(&site, entry.index, cp.size)
                .await?;
            let proof = serde_json::Value::String(
                TlogProof {
                    extra: Some(entry.bytes.clone()),
                    index: entry.index,
                    hashes,
                    checkpoint: cp.text.clone(),
                }
                .to_text(),
            );
            if let Some(fields) = json.as_object_mut() {
                fields.insert("proof".into(), proof);
            }
        }
        leaves.push(json);
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "published": *published,
        "leaves": leaves,
    })))
}
