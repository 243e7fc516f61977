//! How long the batches' transactions take, for the operator's metrics: a histogram over
//! buckets of its own (a batch's transaction takes about a millisecond on a healthy database,
//! the gateway's deliveries from 10 ms to a day), and a count of failures.

use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::gateway::ops::{duration_histogram, observe, register};

/// Upper bounds (seconds) of the buckets: from a commit on a local disk to one waiting out a
/// failover.
pub const TX_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 30.0,
];

/// Durations of the batches' transactions, from `BEGIN` (the wait for the writer lock
/// included) to the durable `COMMIT`, and the batches whose transaction failed.
#[derive(Debug)]
pub struct TxLatency {
    committed: Histogram,
    failed: Counter,
}

impl Default for TxLatency {
    fn default() -> Self {
        Self {
            committed: duration_histogram(&TX_BUCKETS),
            failed: Counter::default(),
        }
    }
}

impl TxLatency {
    /// Records one committed transaction.
    pub fn observe(&self, d: Duration) {
        observe(&self.committed, d);
    }

    /// Records a batch whose transaction failed (nothing of it was written).
    pub fn failed(&self) {
        self.failed.inc();
    }

    /// Transactions that failed.
    pub fn failures(&self) -> u64 {
        self.failed.get()
    }

    /// Registers the histogram `tongban_{name}` and the counter `tongban_{name}_failed_total`.
    pub fn register(&self, registry: &mut Registry, name: &str, help: &str) {
        register(registry, name, help, self.committed.clone());
        register(
            registry,
            &format!("{name}_failed_total"),
            "Batches whose transaction failed.",
            self.failed.clone(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_the_slowest_count_only_in_the_total() {
        let l = TxLatency::default();
        l.observe(Duration::from_micros(300));
        l.observe(Duration::from_millis(3));
        l.observe(Duration::from_secs(60));
        l.failed();
        assert_eq!(l.failures(), 1);
        let mut registry = Registry::with_prefix(crate::gateway::ops::METRICS_PREFIX);
        l.register(&mut registry, "pg_batch_seconds", "Batch transactions.");
        let text = crate::gateway::ops::encode(&registry);
        for line in [
            "tongban_pg_batch_seconds_bucket{le=\"0.0005\"} 1\n",
            "tongban_pg_batch_seconds_bucket{le=\"0.005\"} 2\n",
            "tongban_pg_batch_seconds_bucket{le=\"30\"} 2\n",
            "tongban_pg_batch_seconds_bucket{le=\"+Inf\"} 3\n",
            "tongban_pg_batch_seconds_count 3\n",
            "tongban_pg_batch_seconds_failed_total 1\n",
        ] {
            assert!(text.contains(line), "{line:?} not in\n{text}");
        }
    }
}
