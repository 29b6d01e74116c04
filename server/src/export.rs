//! The consent log as auditors read it: CSV (one row a decision, cells a spreadsheet would run
//! defused) or NDJSON (the stored records, byte for byte what the hash chain covers).

use biscotte_shared::api::ConsentRecord;
use biscotte_shared::{FieldError, Timestamp};
use std::collections::BTreeMap;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time};

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Ndjson,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Ndjson => "application/x-ndjson",
        }
    }
}

pub const CSV_HEADER: &[&str] = &[
    "record_id",
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
        r.record_id.to_string(),
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
        r.prev_hash.clone(),
        r.hash.clone(),
    ])
}

pub fn ndjson_line(r: &ConsentRecord) -> Vec<u8> {
    let mut line = serde_json::to_vec(r).unwrap_or_default();
    line.push(b'\n');
    line
}

/// One record in the chosen format.
pub fn render(format: Format, r: &ConsentRecord) -> Vec<u8> {
    match format {
        Format::Csv => csv_row(r),
        Format::Ndjson => ndjson_line(r),
    }
}
