//! The server's Prometheus metrics: decisions recorded and refused, the log writer's batches and
//! append latency, the store's size. Served only on the private `metrics_bind` listener.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

/// The media type of [`Metrics::render`]'s text, which Prometheus scrapes.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Reasons a decision is refused, shown at 0 from the start so dashboards and alerts see every
/// series before the first refusal.
pub const REFUSAL_REASONS: &[&str] = &[
    "invalid",
    "origin",
    "rate_limited",
    "too_large",
    "unknown_site",
    "unauthorized",
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Refusal {
    reason: &'static str,
}

/// Created once at start and shared (`Arc<Metrics>`) by every worker; each method is a few
/// atomic operations.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    recorded: Counter,
    refused: Family<Refusal, Counter>,
    batch_size: Histogram,
    append_seconds: Histogram,
    store_bytes: Gauge<u64, AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let recorded = Counter::default();
        let refused = Family::<Refusal, Counter>::default();
        for &reason in REFUSAL_REASONS {
            // Creating the series is the point; the guard it returns is released at once.
            drop(refused.get_or_create(&Refusal { reason }));
        }
        // 1 to 4,096 decisions a batch; 0.25 ms to about 4 s per durable append.
        let batch_size = Histogram::new(exponential_buckets(1.0, 2.0, 13));
        let append_seconds = Histogram::new(exponential_buckets(0.000_25, 2.0, 15));
        let store_bytes = Gauge::<u64, AtomicU64>::default();
        let mut registry = Registry::default();
        registry.register(
            "biscotte_decisions_recorded",
            "Decisions appended to the log and acknowledged",
            recorded.clone(),
        );
        registry.register(
            "biscotte_decisions_refused",
            "Decisions answered with a refusal, by reason",
            refused.clone(),
        );
        registry.register(
            "biscotte_batch_size",
            "Decisions made durable by one flush of the log writer",
            batch_size.clone(),
        );
        registry.register(
            "biscotte_append_seconds",
            "Time the log writer takes to append one batch and make it durable",
            append_seconds.clone(),
        );
        registry.register(
            "biscotte_store_bytes",
            "Size of the store on disk",
            store_bytes.clone(),
        );
        Metrics {
            registry,
            recorded,
            refused,
            batch_size,
            append_seconds,
            store_bytes,
        }
    }

    pub fn decision_recorded(&self) {
        self.recorded.inc();
    }

    /// `reason` is one of a few fixed words ([`REFUSAL_REASONS`]), never request input: every
    /// distinct value is a series Prometheus keeps.
    pub fn decision_refused(&self, reason: &'static str) {
        self.refused.get_or_create(&Refusal { reason }).inc();
    }

    /// One batch of `size` decisions made durable in `append_latency`.
    pub fn batch_written(&self, size: usize, append_latency: Duration) {
        self.batch_size.observe(size as f64);
        self.append_seconds.observe(append_latency.as_secs_f64());
    }

    pub fn set_store_bytes(&self, bytes: u64) {
        self.store_bytes.set(bytes);
    }

    /// Every metric in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            // Writing to a String cannot fail; if the encoder ever does, say so and serve nothing.
            tracing::error!(%e, "cannot encode the metrics");
            out.clear();
        }
        out
    }
}
