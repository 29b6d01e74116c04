//! The consent log as auditors read it: CSV (one row a decision, cells a spreadsheet would run
//! defused), NDJSON (one JSON record a line), or a bundle (`biscotte_shared::audit`: the leaves'
//! bytes with what checks them against a signed checkpoint, offline).

use crate::store::{ExportRow, Store, StoreError, StoredLeaf};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use biscotte_shared::api::ConsentRecord;
use biscotte_shared::audit::{
    BUNDLE_FORMAT, BoundaryLeaf, BundleHeader, BundleLeaf, ConsistencyProof,
};
use biscotte_shared::leaf::Leaf;
use biscotte_shared::merkle;
use biscotte_shared::revision::hex;
use biscotte_shared::{FieldError, Timestamp};
use futures_util::stream::{BoxStream, StreamExt};
use std::collections::BTreeMap;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time};

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Ndjson,
    /// One file an auditor verifies offline (`biscotte verify --bundle`).
    Bundle,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Ndjson | Format::Bundle => "application/x-ndjson",
        }
    }

    /// The file name extension of an export.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Ndjson => "ndjson",
            Format::Bundle => "bundle.ndjson",
        }
    }
}

pub const CSV_HEADER: &[&str] = &[
    "leaf_index",
    "record_id",
    "status",
    "server_time",
    "site",
    "consent_id",
    "method",
    "accepted_categories",
    "refused_categories",
    "accepted_services",
    "refused_services",
    "revision",
    "policy_version",
    "language",
    "url",
    "undeleted_cookies",
    "decision_id",
    "leaf_hash",
    "prev_hash",
    "hash",
];

/// A timestamp as RFC 3339 UTC with milliseconds (`2026-11-26T10:00:00.123Z`).
pub fn rfc3339(t: Timestamp) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.as_millis()) * 1_000_000)
        .ok()
        .and_then(|dt| {
            let fmt = time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
            );
            dt.format(&fmt).ok()
        })
        .unwrap_or_else(|| t.as_millis().to_string())
}

/// Reads `from`/`to` bounds: an RFC 3339 time (`2026-11-26T10:00:00Z`) or a date (`2026-11-26`,
/// meaning its midnight UTC).
pub fn parse_bound(field: &str, value: &str) -> Result<Timestamp, FieldError> {
    let parsed = OffsetDateTime::parse(value, &Rfc3339).ok().or_else(|| {
        Date::parse(
            value,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .ok()
        .map(|d| PrimitiveDateTime::new(d, Time::MIDNIGHT).assume_utc())
    });
    match parsed {
        Some(dt) => Ok(Timestamp::from_millis(
            (dt.unix_timestamp_nanos() / 1_000_000) as i64,
        )),
        None => Err(FieldError::new(
            field,
            format!("{value:?} is not a time: write 2026-11-26 or 2026-11-26T10:00:00Z"),
        )),
    }
}

fn list(map: &BTreeMap<String, bool>, value: bool) -> String {
    map.iter()
        .filter(|(_, v)| **v == value)
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn csv_header() -> Vec<u8> {
    csv_line(CSV_HEADER.iter().map(|s| s.to_string()))
}

/// A cell a spreadsheet would run as a formula gets a leading `'` (the OWASP CSV-injection rule):
/// the auditor sees the text, and nothing runs. NDJSON keeps the stored bytes.
fn defused(cell: String) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell
    }
}

fn csv_line(cells: impl IntoIterator<Item = String>) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let _ = writer.write_record(cells.into_iter().map(defused).collect::<Vec<_>>());
    writer.into_inner().unwrap_or_default()
}

pub fn csv_row(r: &ConsentRecord) -> Vec<u8> {
    csv_line([
        r.leaf_index.to_string(),
        r.record_id.to_string(),
        "recorded".to_owned(),
        rfc3339(r.server_time),
        r.site.clone(),
        r.consent_id.clone(),
        r.method.as_str().to_owned(),
        list(&r.categories, true),
        list(&r.categories, false),
        list(&r.services, true),
        list(&r.services, false),
        r.revision.to_string(),
        r.policy_version.clone(),
        r.language.code().to_owned(),
        r.url.clone().unwrap_or_default(),
        r.undeleted_cookies.join(" "),
        r.decision_id.clone().unwrap_or_default(),
        r.leaf_hash.clone(),
        r.prev_hash.clone().unwrap_or_default(),
        r.hash.clone().unwrap_or_default(),
    ])
}

/// A decision retention erased: its number, time and hash, and nothing of the visitor.
fn csv_erased(
    site: &str,
    leaf_index: u64,
    record_id: u64,
    time: Timestamp,
    hash: &[u8; 32],
) -> Vec<u8> {
    let mut cells = vec![String::new(); CSV_HEADER.len()];
    let mut set = |name: &str, value: String| {
        if let Some(i) = CSV_HEADER.iter().position(|h| *h == name)
            && let Some(cell) = cells.get_mut(i)
        {
            *cell = value;
        }
    };
    set("leaf_index", leaf_index.to_string());
    set("record_id", record_id.to_string());
    set("status", "erased".to_owned());
    set("server_time", rfc3339(time));
    set("site", site.to_owned());
    set("leaf_hash", hex(hash));
    csv_line(cells)
}

pub fn ndjson_line(r: &ConsentRecord) -> Vec<u8> {
    let mut line = serde_json::to_vec(r).unwrap_or_default();
    line.push(b'\n');
    line
}

/// One row in the chosen format (CSV or NDJSON).
pub fn render(format: Format, site: &str, row: &ExportRow) -> Vec<u8> {
    match (format, row) {
        (Format::Csv, ExportRow::Record(r)) => csv_row(r),
        (_, ExportRow::Record(r)) => ndjson_line(r),
        (
            Format::Csv,
            ExportRow::Erased {
                leaf_index,
                record_id,
                server_time,
                leaf_hash,
            },
        ) => csv_erased(site, *leaf_index, *record_id, *server_time, leaf_hash),
        (
            _,
            ExportRow::Erased {
                leaf_index,
                record_id,
                server_time,
                leaf_hash,
            },
        ) => {
            let mut line = serde_json::to_vec(&serde_json::json!({
                "leaf_index": leaf_index,
                "record_id": record_id,
                "server_time": server_time,
                "erased": true,
                "leaf_hash": hex(leaf_hash),
            }))
            .unwrap_or_default();
            line.push(b'\n');
            line
        }
    }
}

/// Leaf `index` with its inclusion proof in the tree of `size`: a bundle's edge.
async fn boundary(
    store: &dyn Store,
    site: &str,
    index: u64,
    size: u64,
) -> Result<BoundaryLeaf, StoreError> {
    let mut leaf = store.leaves(site, index, index + 1);
    let (_, stored) = leaf
        .next()
        .await
        .transpose()?
        .ok_or_else(|| StoreError::Corrupt(format!("leaf {index} is missing")))?;
    let proof = store.inclusion_proof(site, index, size).await?;
    Ok(BoundaryLeaf {
        index,
        leaf_hash: hex(&stored.hash()),
        leaf: match stored {
            StoredLeaf::Present(bytes) => Some(STANDARD.encode(bytes)),
            StoredLeaf::Erased { .. } => None,
        },
        proof: proof.iter().map(|h| STANDARD.encode(h)).collect(),
    })
}

/// A bundle on its way: the header line, the leaf range `[begin, end)` its lines cover, and
/// those lines as a stream.
pub type Bundle = (
    Vec<u8>,
    (u64, u64),
    BoxStream<'static, Result<Vec<u8>, StoreError>>,
);

/// A bundle of `site`'s log for `from <= server_time < to`, checked against its latest
/// checkpoint: the header line, then a stream of leaf lines. `since` asks for consistency proofs
/// from those earlier sizes. Memory stays flat: the leaves are streamed from the store.
pub async fn bundle(
    store: &dyn Store,
    site: &str,
    verifier_key: String,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    since: &[u64],
) -> Result<Bundle, StoreError> {
    let checkpoint = store.checkpoint(site).await?.ok_or_else(|| {
        StoreError::OutOfRange(format!("site {site:?} has no signed checkpoint yet"))
    })?;
    let n = checkpoint.size;
    let begin = match from {
        Some(t) => store.index_at(site, t).await?.min(n),
        None => 0,
    };
    let end = match to {
        Some(t) => store.index_at(site, t).await?.min(n),
        None => n,
    }
    .max(begin);
    let b64 = |hashes: Vec<[u8; 32]>| hashes.iter().map(|h| STANDARD.encode(h)).collect();
    let left = b64(store.nodes(site, &merkle::decompose(0, begin)).await?);
    let right = b64(store.nodes(site, &merkle::decompose(end, n)).await?);
    let before = match begin.checked_sub(1) {
        Some(i) => Some(boundary(store, site, i, n).await?),
        None => None,
    };
    let after = if end < n {
        Some(boundary(store, site, end, n).await?)
    } else {
        None
    };
    let mut consistency = Vec::new();
    for &m in since {
        if m > n {
            return Err(StoreError::OutOfRange(format!(
                "since={m} is beyond the log's latest checkpoint ({n} leaves)"
            )));
        }
        consistency.push(ConsistencyProof {
            from: m,
            proof: b64(store.consistency_proof(site, m, n).await?),
        });
    }
    let header = BundleHeader {
        bundle: BUNDLE_FORMAT.to_owned(),
        site: site.to_owned(),
        origin: biscotte_shared::note::Checkpoint::parse(
            &biscotte_shared::note::SignedNote::parse(&checkpoint.text)
                .map(|n| n.body)
                .unwrap_or_default(),
        )
        .map(|c| c.origin)
        .unwrap_or_default(),
        verifier_key,
        checkpoint: checkpoint.text.clone(),
        from: from.map(rfc3339),
        to: to.map(rfc3339),
        from_ms: from.map(Timestamp::as_millis),
        to_ms: to.map(Timestamp::as_millis),
        begin,
        end,
        left,
        right,
        before,
        after,
        consistency,
    };
    let mut head = serde_json::to_vec(&header)?;
    head.push(b'\n');
    let lines = store.leaves(site, begin, end).map(|entry| {
        let (index, stored) = entry?;
        let mut out = Vec::with_capacity(1024);
        bundle_line(&mut out, index, stored)?;
        Ok(out)
    });
    Ok((head, (begin, end), lines.boxed()))
}

/// Writes one leaf's line of a bundle (with its newline) at the end of `out`.
pub fn bundle_line(out: &mut Vec<u8>, index: u64, stored: StoredLeaf) -> Result<(), StoreError> {
    let line = match stored {
        StoredLeaf::Present(bytes) => {
            let leaf = Leaf::decode(&bytes)
                .map_err(|e| StoreError::Corrupt(format!("leaf {index}: {e}")))?;
            BundleLeaf::from_leaf(index, &bytes, leaf)
        }
        StoredLeaf::Erased {
            kind,
            record_id,
            server_time,
            hash,
        } => BundleLeaf::erased(index, &hash, kind, record_id.unwrap_or(0), server_time),
    };
    serde_json::to_writer(&mut *out, &line)?;
    out.push(b'\n');
    Ok(())
}
