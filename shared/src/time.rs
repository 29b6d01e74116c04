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
