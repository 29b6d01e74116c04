//! Decisions the server has not acknowledged yet: how they are kept between pages (one
//! `localStorage` entry, [`STORAGE_KEY`]), which answers call for another try, and when.
//! Pure, so it is tested on the host; `server.rs` does the storing, the timers and the requests.
//!
//! Every decision is a record of the log, so none replaces another: the queue keeps them in the
//! order they were made and sends them one at a time, oldest first.

use crate::prelude::*;
use biscotte_shared::rules::CHOICE_VALIDITY_DAYS;
use biscotte_shared::time::DAY_MS;

/// The banner's one `localStorage` entry on the site's origin (README, "Embed the banner").
pub const STORAGE_KEY: &str = "biscotte.pending";
/// Tries per decision, across pages, before it is given up with a warning.
pub const MAX_TRIES: i64 = 16;
/// Decisions kept at most; decisions are rare, so more means something is wrong: the oldest go.
const MAX_ENTRIES: usize = 16;
const FIRST_DELAY_MS: f64 = 1_000.0;
/// No wait is longer, whatever the server's `Retry-After` says: a page rarely lives longer.
pub const MAX_DELAY_MS: i64 = 300_000;

/// One decision waiting for the server's acknowledgement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    /// When the visitor decided (ms since the epoch). Past the choice's validity it is dropped:
    /// the decision no longer holds, and the server would stamp it half a year late.
    pub decided_at: i64,
    /// Tries so far, counted when each request leaves, on every page.
    pub tries: i64,
    /// Not to be sent before this time (ms since the epoch): the backoff outlives the page.
    pub not_before: i64,
    /// Where it goes: `{server}/api/v1/sites/{site}/consents`.
    pub url: String,
    /// The decision, as JSON.
    pub body: String,
}

/// Reads the stored queue: one decision per line, `decided_at tries not_before url body`. The
/// body is JSON from `json.rs`, which escapes every control character, so it holds no line
/// break. A line that does not read (written by something else) is dropped, never sent; so is a
/// decision past the choice's validity: it no longer holds, and the server would stamp it late.
pub fn parse(stored: &str, now: i64) -> Vec<Pending> {
    let mut queue = Vec::new();
    for line in stored.split('\n') {
        if let Some(p) =
            parse_line(line).filter(|p| now - p.decided_at < CHOICE_VALIDITY_DAYS * DAY_MS)
        {
            queue.push(p);
        }
    }
    queue
}

fn parse_line(line: &str) -> Option<Pending> {
    let mut numbers = [0; 3];
    let mut rest = line;
    for n in &mut numbers {
        let (field, tail) = rest.split_once(' ')?;
        *n = number(field)?;
        rest = tail;
    }
    let [decided_at, tries, not_before] = numbers;
    let (url, body) = rest.split_once(' ')?;
    body.starts_with('{').then(|| Pending {
        decided_at,
        tries,
        not_before,
        url: url.to_owned(),
        body: body.to_owned(),
    })
}

/// A non-negative decimal number. Hand-written, as `json.rs` is: `str::parse` and `to_string`
/// would ship integer parsing and formatting code to every visitor for three fields.
fn number(digits: &str) -> Option<i64> {
    if digits.is_empty() {
        return None;
    }
    digits.bytes().try_fold(0i64, |n, b| {
        let digit = b.checked_sub(b'0').filter(|d| *d < 10)?;
        n.checked_mul(10)?.checked_add(i64::from(digit))
    })
}

fn push_number(out: &mut String, n: i64) {
    let mut unit = 1;
    while n / unit >= 10 {
        unit *= 10;
    }
    while unit > 0 {
        out.push(char::from(b'0' + (n / unit % 10) as u8));
        unit /= 10;
    }
}

pub fn write(queue: &[Pending]) -> String {
    let mut out = String::new();
    for p in queue {
        for number in [p.decided_at, p.tries, p.not_before] {
            push_number(&mut out, number);
            out.push(' ');
        }
        out.push_str(&p.url);
        out.push(' ');
        out.push_str(&p.body);
        out.push('\n');
    }
    out
}

/// Adds a decision at the end; beyond what a queue of rare events should hold, the oldest goes.
pub fn push(queue: &mut Vec<Pending>, pending: Pending) {
    if queue.len() >= MAX_ENTRIES {
        queue.remove(0);
    }
    queue.push(pending);
}

/// What an answer means for the decision that was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// On the log: done.
    Recorded,
    /// Not now (429, 408, 5xx, or no answer at all, `status` 0): try again later.
    Later,
    /// Never: the server read it and refused it (any other status). Sending it again would
    /// only be refused again.
    Refused,
}

pub fn outcome(status: u16) -> Outcome {
    match status {
        200..=299 => Outcome::Recorded,
        0 | 408 | 429 | 500..=599 => Outcome::Later,
        _ => Outcome::Refused,
    }
}

/// How long to wait before try number `tries + 1`: the server's `Retry-After` when it gives
/// seconds, else an exponential backoff (1 s, 2 s, 4 s, …) with jitter, so that the visitors of a
/// server that was down do not all come back in the same second; never more than
/// [`MAX_DELAY_MS`]. `random` is in `[0, 1)`.
pub fn delay_ms(tries: i64, retry_after: Option<&str>, random: f64) -> i64 {
    let wait = match retry_after.and_then(|s| number(s.trim())) {
        Some(secs) => secs.saturating_mul(1_000),
        None => {
            let backoff = FIRST_DELAY_MS * (1i64 << (tries - 1).clamp(0, 20)) as f64;
            (backoff * (0.5 + random / 2.0)) as i64
        }
    };
    wait.min(MAX_DELAY_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_000_000_000;

    fn pending(decided_at: i64, body: &str) -> Pending {
        Pending {
            decided_at,
            tries: 2,
            not_before: decided_at + 4_000,
            url: "http://127.0.0.1:8080/api/v1/sites/demo/consents".to_owned(),
            body: body.to_owned(),
        }
    }

    #[test]
    fn the_stored_queue_reads_back_in_order() {
        let queue = vec![
            pending(
                NOW - 1_000,
                r#"{"method":"accept_all","url":"https://a.fr/ b"}"#,
            ),
            pending(NOW, r#"{"method":"reject_all"}"#),
        ];
        assert_eq!(parse(&write(&queue), NOW), queue);
    }

    #[test]
    fn numbers_read_back_exactly() {
        for n in [0, 7, 10, 1_764_000_000_000, i64::MAX] {
            let mut out = String::new();
            push_number(&mut out, n);
            assert_eq!(out, n.to_string());
            assert_eq!(number(&out), Some(n));
        }
        for bad in ["", "-1", "+1", "1.5", " 1", "9223372036854775808"] {
            assert_eq!(number(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn lines_that_do_not_read_are_dropped_and_the_others_kept() {
        let good = write(&[pending(NOW, "{}")]);
        let url = "http://x";
        let stored = [
            "garbage\n",
            "1 2 3 ",
            url,
            "\n1 x 3 ",
            url,
            " {}\n1 2 3 ",
            url,
            " notjson\n",
            &good,
        ]
        .concat();
        assert_eq!(parse(&stored, NOW), vec![pending(NOW, "{}")]);
        assert_eq!(parse("", NOW), vec![]);
    }

    #[test]
    fn decisions_past_the_choice_validity_are_dropped() {
        let validity = CHOICE_VALIDITY_DAYS * DAY_MS;
        let queue = [
            pending(NOW - validity, "{\"old\":1}"),
            pending(NOW - validity + 1, "{\"young\":1}"),
        ];
        assert_eq!(
            parse(&write(&queue), NOW),
            vec![pending(NOW - validity + 1, "{\"young\":1}")]
        );
    }

    #[test]
    fn a_long_queue_keeps_its_newest_decisions() {
        let mut queue = Vec::new();
        for i in 0..20 {
            push(&mut queue, pending(NOW + i, "{}"));
        }
        assert_eq!(queue.len(), MAX_ENTRIES);
        assert_eq!(queue.first().map(|p| p.decided_at), Some(NOW + 4));
        assert_eq!(queue.last().map(|p| p.decided_at), Some(NOW + 19));
    }

    #[test]
    fn only_refusals_for_good_are_not_tried_again() {
        for (status, expected) in [
            (201, Outcome::Recorded),
            (0, Outcome::Later),
            (408, Outcome::Later),
            (429, Outcome::Later),
            (500, Outcome::Later),
            (503, Outcome::Later),
            (400, Outcome::Refused),
            (403, Outcome::Refused),
            (404, Outcome::Refused),
            (413, Outcome::Refused),
            (302, Outcome::Refused),
        ] {
            assert_eq!(outcome(status), expected, "HTTP {status}");
        }
    }

    #[test]
    fn the_backoff_doubles_with_jitter_and_is_capped() {
        assert_eq!(delay_ms(1, None, 0.0), 500);
        assert_eq!(delay_ms(1, None, 0.999_999), 999);
        assert_eq!(delay_ms(4, None, 0.0), 4_000);
        assert_eq!(delay_ms(4, None, 0.5), 6_000);
        assert_eq!(delay_ms(30, None, 0.5), MAX_DELAY_MS);
        assert_eq!(delay_ms(i64::MAX, None, 0.5), MAX_DELAY_MS);
    }

    #[test]
    fn retry_after_in_seconds_is_honoured_up_to_the_cap() {
        assert_eq!(delay_ms(1, Some("7"), 0.9), 7_000);
        assert_eq!(delay_ms(5, Some(" 0 "), 0.9), 0);
        assert_eq!(delay_ms(1, Some("86400"), 0.0), MAX_DELAY_MS);
        assert_eq!(delay_ms(1, Some("-5"), 0.0), 500);
        // An HTTP date is not read: the backoff applies.
        assert_eq!(delay_ms(1, Some("Wed, 21 Oct 2026 07:28:00 GMT"), 0.0), 500);
    }
}
