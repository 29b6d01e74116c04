//! The hash chain that makes each site's decision log tamper-evident.

use biscotte_shared::api::ConsentRecord;
use biscotte_shared::revision::hex;
use sha2::{Digest, Sha256};

/// The `prev_hash` of a site's first record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// SHA-256 over the record's JSON with `hash` empty; `prev_hash` is inside, which chains it.
pub fn record_hash(record: &ConsentRecord) -> String {
    let mut unsigned = record.clone();
    unsigned.hash = String::new();
    let bytes = serde_json::to_vec(&unsigned).unwrap_or_default();
    hex(&Sha256::digest(&bytes))
}

/// Where a chain stops holding, if it does.
#[derive(Debug, PartialEq, Eq)]
pub enum ChainBreak {
    /// The record's own hash does not match its content.
    Altered { record_id: u64 },
    /// The record does not follow the one before (removed, reordered or inserted records).
    Unlinked { record_id: u64 },
}

/// Checks that records, in log order from the first, form an unbroken chain.
pub fn verify_chain<'a>(
    records: impl IntoIterator<Item = &'a ConsentRecord>,
) -> Result<u64, ChainBreak> {
    let mut prev = GENESIS_HASH.to_owned();
    let mut expected_id = 1;
    for r in records {
        if r.prev_hash != prev || r.record_id != expected_id {
            return Err(ChainBreak::Unlinked {
                record_id: r.record_id,
            });
        }
        if record_hash(r) != r.hash {
            return Err(ChainBreak::Altered {
                record_id: r.record_id,
            });
        }
        prev = r.hash.clone();
        expected_id += 1;
    }
    Ok(expected_id - 1)
}
