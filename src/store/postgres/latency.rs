//! How long the batches' transactions take, for the operator's metrics: the gateway's own
//! [`Histogram`], over buckets of its own (a batch's transaction takes about a millisecond on a
//! healthy database, the gateway's deliveries from 10 ms to a day), and a count of failures.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::gateway::ops::Histogram;

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
    failed: AtomicU64,
}

impl Default for TxLatency {
    fn default() -> Self {
        Self {
            committed: Histogram::with_bounds(&TX_BUCKETS),
            failed: AtomicU64::new(0),
        }
    }
}

impl TxLatency {
    /// Records one committed transaction.
    pub fn observe(&self, d: Duration) {
        self.committed.observe(d);
    }

    /// Records a batch whose transaction failed (nothing of it was written).
    pub fn failed(&self) {
        self.failed.fetch_add(1, Ordering::Relaxed);
    }

    /// Transactions committed.
    pub fn committed(&self) -> u64 {
        self.committed.count()
    }

    /// Transactions that failed.
    pub fn failures(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    /// The histogram `tongban_{name}` and the counter `tongban_{name}_failed_total`, in the
    /// Prometheus text format, as the gateway's `/metrics` writes its own.
    pub fn render(&self, name: &str, help: &str) -> String {
        let mut out = self.committed.render(name, help);
        let _ = writeln!(
            out,
            "# HELP tongban_{name}_failed_total Batches whose transaction failed."
        );
        let _ = writeln!(out, "# TYPE tongban_{name}_failed_total counter");
        let _ = writeln!(out, "tongban_{name}_failed_total {}", self.failures());
        out
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
        assert_eq!((l.committed(), l.failures()), (3, 1));
        let text = l.render("pg_batch_seconds", "Batch transactions.");
        assert!(text.contains("tongban_pg_batch_seconds_bucket{le=\"0.0005\"} 1\n"));
        assert!(text.contains("tongban_pg_batch_seconds_bucket{le=\"0.005\"} 2\n"));
        assert!(text.contains("tongban_pg_batch_seconds_bucket{le=\"30\"} 2\n"));
        assert!(text.contains("tongban_pg_batch_seconds_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("tongban_pg_batch_seconds_failed_total 1\n"));
    }
}
