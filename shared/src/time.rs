//! A point in time, as milliseconds since the Unix epoch. This module never reads the clock.

#[allow(unused_imports)]
use crate::prelude::*;
use serde::{Deserialize, Serialize};

/// Milliseconds in one day; Biscotte counts every duration in days.
pub const DAY_MS: i64 = 86_400_000;

/// A point in time (Unix milliseconds, UTC). Callers pass `now` in; `shared` never asks for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }
    pub const fn from_secs(secs: i64) -> Self {
        Self(secs.saturating_mul(1000))
    }
    pub const fn as_millis(self) -> i64 {
        self.0
    }
    /// Whole seconds, rounded down (what the consent cookie stores).
    pub const fn as_secs(self) -> i64 {
        self.0.div_euclid(1000)
    }
    pub const fn plus_days(self, days: i64) -> Self {
        Self(self.0.saturating_add(days.saturating_mul(DAY_MS)))
    }
    pub const fn plus_millis(self, ms: i64) -> Self {
        Self(self.0.saturating_add(ms))
    }
}

/// `n` in decimal, written without `core::fmt`: its machinery would weigh kilobytes in the
/// banner's wasm for this one number.
pub fn decimal(n: i64) -> String {
    let mut out = String::new();
    if n < 0 {
        out.push('-');
    }
    let n = n.unsigned_abs();
    let mut unit = 1u64;
    while n / unit >= 10 {
        unit *= 10;
    }
    while unit > 0 {
        out.push(char::from(b'0' + (n / unit % 10) as u8));
        unit /= 10;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::decimal;

    #[test]
    fn decimal_writes_what_display_writes() {
        for n in [0, 7, 10, 1_764_460_800, -42, i64::MIN, i64::MAX] {
            assert_eq!(decimal(n), n.to_string());
        }
    }
}
