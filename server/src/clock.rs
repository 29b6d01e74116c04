//! The server's clock, read here and nowhere in `shared`.

use biscotte_shared::Timestamp;

/// Now, in Unix milliseconds. A clock set before 1970 reads as the epoch.
pub fn now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    Timestamp::from_millis(ms)
}
