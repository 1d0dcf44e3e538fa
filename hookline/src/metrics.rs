//! Counters and histograms for `GET /metrics`, in the Prometheus text format.
//! Counters are per process (each node reports its own); the queue depth is
//! read from the database at scrape time, so every node reports the same.

use crate::dispatch::ErrorClass;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::time::Duration;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    /// `success`, or the error class of a failed attempt.
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: String,
}

pub struct Metrics {
    registry: Registry,
    published: Counter,
    attempts: Family<OutcomeLabel, Counter>,
    latency: Histogram,
    put_back: Counter,
    queue: Family<StateLabel, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("hookline");
        let published = Counter::default();
        registry.register(
            "events_published",
            "Events accepted by the ingest API on this node",
            published.clone(),
        );
        let attempts = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "delivery_attempts",
            "Delivery attempts made by this node, by outcome (success or error class)",
            attempts.clone(),
        );
        // 1 ms to about 16 s: loopback receivers up to the total timeout.
        let latency = Histogram::new(exponential_buckets(0.001, 2.0, 15));
        registry.register(
            "delivery_latency_seconds",
            "Time from sending a delivery to its answer (or failure), on this node",
            latency.clone(),
        );
        let put_back = Counter::default();
        registry.register(
            "deliveries_put_back",
            "Deliveries this node had in hand but put back unattempted for a moment, because their endpoint already had its fill on this node",
            put_back.clone(),
        );
        let queue = Family::<StateLabel, Gauge>::default();
        registry.register(
            "deliveries",
            "Deliveries in the database by state: due, scheduled (waiting for a retry), in_flight (leased), succeeded, failed",
            queue.clone(),
        );
        Self {
            registry,
            published,
            attempts,
            latency,
            put_back,
            queue,
        }
    }

    pub fn published(&self, events: u64) {
        self.published.inc_by(events);
    }

    pub fn attempt(&self, error: Option<ErrorClass>, latency: Duration) {
        let outcome = error.map_or("success", ErrorClass::as_str);
        self.attempts.get_or_create(&OutcomeLabel { outcome }).inc();
        self.latency.observe(latency.as_secs_f64());
    }

    pub fn put_back(&self) {
        self.put_back.inc();
    }

    /// Renders every metric, with the queue depth as just read.
    pub fn render(&self, queue_depth: &[(String, i64)]) -> String {
        for state in ["due", "scheduled", "in_flight", "succeeded", "failed"] {
            let n = queue_depth
                .iter()
                .find(|(s, _)| s == state)
                .map_or(0, |(_, n)| *n);
            self.queue
                .get_or_create(&StateLabel {
                    state: state.to_owned(),
                })
                .set(n);
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
