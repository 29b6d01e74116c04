//! The engine-independent half of the single writer: the queue that shares each batch fairly
//! between sites, and the heartbeat that tells `/readyz` whether the writer is alive.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The most decisions one batch (one flush) carries. Large enough that 64 waiting connections
/// share one flush; small enough that a batch is written in milliseconds.
pub const MAX_BATCH: usize = 512;

/// How long a batch may take before the writer is reported stuck.
pub const STUCK_AFTER: Duration = Duration::from_secs(10);

/// Decisions waiting for the writer, one queue per site. A batch takes one decision from each
/// site in turn, so a site's burst fills only what the other sites leave free.
#[derive(Debug)]
pub struct FairQueue<T> {
    /// Sites with waiting decisions, in turn order; no queue here is ever empty.
    sites: VecDeque<(String, VecDeque<T>)>,
    len: usize,
}

impl<T> Default for FairQueue<T> {
    fn default() -> Self {
        FairQueue {
            sites: VecDeque::new(),
            len: 0,
        }
    }
}

impl<T> FairQueue<T> {
    pub fn push(&mut self, site: &str, item: T) {
        self.len += 1;
        match self.sites.iter_mut().find(|(s, _)| s == site) {
            Some((_, queue)) => queue.push_back(item),
            None => self
                .sites
                .push_back((site.to_owned(), VecDeque::from([item]))),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Up to `max` items, round-robin over the sites, each site's items in arrival order. The
    /// next batch starts with the site after the last one served.
    pub fn take_batch(&mut self, max: usize) -> Vec<T> {
        let mut batch = Vec::with_capacity(max.min(self.len));
        while batch.len() < max {
            let Some((site, mut queue)) = self.sites.pop_front() else {
                break;
            };
            if let Some(item) = queue.pop_front() {
                batch.push(item);
                self.len -= 1;
            }
            if !queue.is_empty() {
                self.sites.push_back((site, queue));
            }
        }
        batch
    }
}

/// What the writer thread tells readers about itself.
#[derive(Debug, Default)]
pub struct Heartbeat {
    stopped: AtomicBool,
    /// Unix milliseconds when the running batch started; 0 when idle.
    busy_since_ms: AtomicU64,
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl Heartbeat {
    pub fn batch_started(&self) {
        self.busy_since_ms
            .store(unix_ms().max(1), Ordering::Relaxed);
    }

    pub fn batch_done(&self) {
        self.busy_since_ms.store(0, Ordering::Relaxed);
    }

    pub fn stopped(&self) {
        self.stopped.store(true, Ordering::Relaxed);
    }

    /// Why the writer cannot take writes, if it cannot.
    pub fn trouble(&self) -> Option<String> {
        if self.stopped.load(Ordering::Relaxed) {
            return Some("the writer has stopped".into());
        }
        let since = self.busy_since_ms.load(Ordering::Relaxed);
        let stuck_ms = u64::try_from(STUCK_AFTER.as_millis()).unwrap_or(u64::MAX);
        if since != 0 && unix_ms().saturating_sub(since) > stuck_ms {
            return Some(format!(
                "the writer has been writing one batch for more than {} s",
                STUCK_AFTER.as_secs()
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::FairQueue;

    fn batch(queue: &mut FairQueue<&'static str>, max: usize) -> Vec<&'static str> {
        queue.take_batch(max)
    }

    #[test]
    fn a_burst_from_one_site_does_not_starve_another() {
        let mut q = FairQueue::default();
        for item in ["a1", "a2", "a3", "a4", "a5", "a6"] {
            q.push("a", item);
        }
        q.push("b", "b1");
        q.push("c", "c1");
        q.push("c", "c2");
        assert_eq!(batch(&mut q, 4), ["a1", "b1", "c1", "a2"]);
        assert_eq!(batch(&mut q, 4), ["c2", "a3", "a4", "a5"]);
        assert_eq!(batch(&mut q, 4), ["a6"]);
        assert!(q.is_empty());
    }

    #[test]
    fn each_site_keeps_its_arrival_order_and_nothing_is_lost() {
        let mut q = FairQueue::default();
        let mut expected_a = Vec::new();
        for i in 0..1000 {
            q.push(if i % 7 == 0 { "b" } else { "a" }, i);
            if i % 7 != 0 {
                expected_a.push(i);
            }
        }
        let mut seen = Vec::new();
        while !q.is_empty() {
            let b = q.take_batch(64);
            assert!(!b.is_empty() && b.len() <= 64);
            seen.extend(b);
        }
        assert_eq!(seen.len(), 1000);
        let a: Vec<_> = seen.iter().copied().filter(|i| i % 7 != 0).collect();
        assert_eq!(a, expected_a);
    }
}
