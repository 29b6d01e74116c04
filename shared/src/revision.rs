//! The revision of a published configuration: a content hash, so that any change to a text, a
//! service or a cookie declaration is a new revision, and a proof can name exactly what was shown.

#[allow(unused_imports)]
use crate::prelude::*;
use crate::config::SiteConfig;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use core::fmt;

/// The first 128 bits of SHA-256 over the configuration's canonical JSON, in lowercase hex.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Revision(String);

impl Revision {
    pub const LEN: usize = 32;

    pub fn of(config: &SiteConfig) -> Revision {
        // Struct fields serialize in declaration order and lists keep their order, so the JSON
        // of a given configuration is always the same bytes.
        let canonical = serde_json::to_vec(config).unwrap_or_default();
        let digest = Sha256::digest(&canonical);
        Revision(hex(&digest[..Self::LEN / 2]))
    }

    /// Accepts only what [`Revision::of`] produces.
    pub fn parse(s: &str) -> Option<Revision> {
        (s.len() == Self::LEN && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| Revision(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Lowercase hex of some bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}
