//! How long the batches' transactions take, for the operator's metrics.
//!
//! The gateway's own [`Histogram`](crate::gateway::ops::Histogram) has buckets from 10 ms to a
//! day (deliveries); a batch's transaction takes about a millisecond on a healthy database,
//! so it gets buckets of its own, kept the same way (atomics, one count per bucket).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the buckets: from a commit on a local disk to one waiting out a
/// failover.
pub const TX_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 30.0,
];

/// Durations of the batches' transactions, from `BEGIN` (the wait for the writer lock
/// included) to the durable `COMMIT`.
#[derive(Debug, Default)]
pub struct TxLatency {
    /// Observations per bucket (not cumulative); beyond the last bound only in `count`.
    buckets: [AtomicU64; TX_BUCKETS.len()],
    sum_micros: AtomicU64,
    count: AtomicU64,
    failed: AtomicU64,
}

/// What [`TxLatency`] holds at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencySnapshot {
    /// `(upper bound in seconds, transactions that took at most that long)`, cumulative, in
    /// the order of [`TX_BUCKETS`].
    pub buckets: Vec<(f64, u64)>,
    /// Transactions committed.
    pub count: u64,
    /// Their total duration, in seconds.
    pub sum_seconds: f64,
    /// Batches whose transaction failed (nothing of them was written).
    pub failed: u64,
}

impl TxLatency {
    /// Records one committed transaction.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = TX_BUCKETS.iter().position(|le| secs <= *le) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Records a batch whose transaction failed.
    pub fn failed(&self) {
        self.failed.fetch_add(1, Ordering::Relaxed);
    }

    /// The counts now.
    pub fn snapshot(&self) -> LatencySnapshot {
        let mut cumulative = 0;
        let buckets = TX_BUCKETS
            .iter()
            .zip(&self.buckets)
            .map(|(le, n)| {
                cumulative += n.load(Ordering::Relaxed);
                (*le, cumulative)
            })
            .collect();
        LatencySnapshot {
            buckets,
            count: self.count.load(Ordering::Relaxed),
            sum_seconds: self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
            failed: self.failed.load(Ordering::Relaxed),
        }
    }
}

impl LatencySnapshot {
    /// The Prometheus text format of the histogram `tongban_{name}` and the counter
    /// `tongban_{name}_failed_total`, as the gateway's `/metrics` writes its own.
    pub fn render(&self, name: &str, help: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# HELP tongban_{name} {help}");
        let _ = writeln!(out, "# TYPE tongban_{name} histogram");
        for (le, n) in &self.buckets {
            let _ = writeln!(out, "tongban_{name}_bucket{{le=\"{le}\"}} {n}");
        }
        let _ = writeln!(out, "tongban_{name}_bucket{{le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "tongban_{name}_sum {}", self.sum_seconds);
        let _ = writeln!(out, "tongban_{name}_count {}", self.count);
        let _ = writeln!(
            out,
            "# HELP tongban_{name}_failed_total Batches whose transaction failed."
        );
        let _ = writeln!(out, "# TYPE tongban_{name}_failed_total counter");
        let _ = writeln!(out, "tongban_{name}_failed_total {}", self.failed);
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
        let s = l.snapshot();
        assert_eq!(s.count, 3);
        assert_eq!(s.failed, 1);
        assert_eq!(s.buckets[0], (0.0005, 1));
        assert_eq!(s.buckets[3], (0.005, 2));
        assert_eq!(s.buckets.last(), Some(&(30.0, 2)));
        let text = s.render("pg_batch_seconds", "Batch transactions.");
        assert!(text.contains("tongban_pg_batch_seconds_bucket{le=\"0.001\"} 1\n"));
        assert!(text.contains("tongban_pg_batch_seconds_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("tongban_pg_batch_seconds_failed_total 1\n"));
    }
}
