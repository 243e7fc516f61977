//! The durable outbox's pure part: jobs, their state machine, the retry schedule and the
//! storage trait the outbox needs.
//!
//! A job is written to the store before the source gets its receipt, so an acknowledged
//! application is always either delivered, still pending, or visibly failed. Time is passed in
//! (Unix milliseconds) and randomness comes from the caller's RNG, so schedules are
//! deterministic in tests. The sled implementation lives in `store::outbox`.
//!
//! ```text
//!            start            Accepted / Duplicate
//!  Pending ─────────▶ InFlight ─────────────────────▶ Delivered
//!     ▲                  │ RetryLater (before give-up)
//!     └──────────────────┤
//!                        │ Rejected, or RetryLater after give-up
//!                        └──────────────────────────▶ Failed
//! ```
//! The forwarder keeps `InFlight` in memory and writes only the outcome, so after a crash an
//! interrupted job is found `Pending` (a stored `InFlight` goes back to `Pending`,
//! [`Job::recover`]) and sent again: the send may have happened, and the destination refuses
//! the second copy as a duplicate of the same gateway number, which counts as delivered.

use std::collections::HashSet;
use std::time::Duration;

use rand::Rng;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::platform::Reply;

/// What a job delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Forward an accepted application to the deciding platform.
    Application,
    /// Deliver a decision back to the platform that sent the application.
    Decision,
    /// Tell the source that its application could not be forwarded (give-up or rejection).
    FailureNotice,
}

impl JobKind {
    /// Short name used in job ids and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Application => "application",
            JobKind::Decision => "decision",
            JobKind::FailureNotice => "failure-notice",
        }
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum JobState {
    /// Waiting until `not_before` (Unix ms).
    Pending {
        /// Earliest time of the next attempt.
        not_before: i64,
    },
    /// An attempt started at `since` and has not been recorded yet.
    InFlight {
        /// When the attempt started.
        since: i64,
    },
    /// The destination has it.
    Delivered {
        /// When the outcome was recorded.
        at: i64,
        /// The destination's receipt number, when it gave one (not on duplicates).
        receipt: Option<String>,
    },
    /// Failed for good; the reason is shown in the status API and sent to the source.
    Failed {
        /// When it failed.
        at: i64,
        /// Why.
        reason: String,
    },
}

/// One unit of outgoing work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// Unique id: the gateway number and the kind, e.g. `TB20261123000001/application`.
    pub id: String,
    /// What is delivered.
    pub kind: JobKind,
    /// The gateway number of the application concerned.
    pub gateway_no: String,
    /// Key of the destination platform (`zj`, `sh`).
    pub destination: String,
    /// When the job was created (Unix ms).
    pub created_at: i64,
    /// When to give up retrying (Unix ms).
    pub give_up_at: i64,
    /// Attempts started so far.
    pub attempts: u32,
    /// The reason of the last unsuccessful attempt.
    pub last_error: Option<String>,
    /// Current state.
    pub state: JobState,
}

/// Why a job cannot make the transition asked of it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OutboxError {
    /// `start` on a job that is not pending, or not yet due.
    #[error("job {0} is not due for an attempt")]
    NotDue(String),
    /// `finish` on a job with no attempt in flight.
    #[error("job {0} has no attempt in flight")]
    NotInFlight(String),
}

/// What `finish` decided, for metrics, logs and the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// Delivered now (record FORWARDED / DELIVERED).
    Delivered,
    /// Scheduled again after `delay`.
    Retry {
        /// The back-off before the next attempt.
        delay: Duration,
    },
    /// Failed for good (tell the source).
    Failed,
}

impl Job {
    /// A new job, due immediately.
    pub fn new(
        kind: JobKind,
        gateway_no: &str,
        destination: &str,
        now: i64,
        policy: &RetryPolicy,
    ) -> Self {
        Self {
            id: format!("{gateway_no}/{}", kind.as_str()),
            kind,
            gateway_no: gateway_no.to_owned(),
            destination: destination.to_owned(),
            created_at: now,
            give_up_at: now.saturating_add(millis(policy.give_up_after)),
            attempts: 0,
            last_error: None,
            state: JobState::Pending { not_before: now },
        }
    }

    /// Whether the job is neither delivered nor failed.
    pub fn is_open(&self) -> bool {
        matches!(
            self.state,
            JobState::Pending { .. } | JobState::InFlight { .. }
        )
    }

    /// Whether an attempt is in flight.
    pub fn is_in_flight(&self) -> bool {
        matches!(self.state, JobState::InFlight { .. })
    }

    /// When the job is next due, if it is pending.
    pub fn due_at(&self) -> Option<i64> {
        match self.state {
            JobState::Pending { not_before } => Some(not_before),
            _ => None,
        }
    }

    /// Starts an attempt at `now`.
    pub fn start(&mut self, now: i64) -> Result<(), OutboxError> {
        match self.state {
            JobState::Pending { not_before } if not_before <= now => {
                self.attempts += 1;
                self.state = JobState::InFlight { since: now };
                Ok(())
            }
            _ => Err(OutboxError::NotDue(self.id.clone())),
        }
    }

    /// Records the outcome of the attempt in flight.
    pub fn finish(
        &mut self,
        outcome: Reply,
        now: i64,
        policy: &RetryPolicy,
        rng: &mut impl Rng,
    ) -> Result<Transition, OutboxError> {
        if !matches!(self.state, JobState::InFlight { .. }) {
            return Err(OutboxError::NotInFlight(self.id.clone()));
        }
        Ok(match outcome {
            Reply::Accepted { receipt } => {
                self.state = JobState::Delivered {
                    at: now,
                    receipt: Some(receipt),
                };
                Transition::Delivered
            }
            Reply::Duplicate => {
                self.state = JobState::Delivered {
                    at: now,
                    receipt: None,
                };
                Transition::Delivered
            }
            Reply::Rejected(reason) => {
                self.last_error = Some(reason.clone());
                self.state = JobState::Failed {
                    at: now,
                    reason: format!("rejected by the destination: {reason}"),
                };
                Transition::Failed
            }
            Reply::RetryLater(reason) => {
                self.last_error = Some(reason.clone());
                let delay = policy.delay(self.attempts, rng);
                let next = now.saturating_add(millis(delay));
                if next > self.give_up_at {
                    self.state = JobState::Failed {
                        at: now,
                        reason: format!(
                            "gave up after {} attempts; last error: {reason}",
                            self.attempts
                        ),
                    };
                    Transition::Failed
                } else {
                    self.state = JobState::Pending { not_before: next };
                    Transition::Retry { delay }
                }
            }
        })
    }

    /// Holds a pending job back without an attempt (its destination's breaker is open): due
    /// again at `until` (Unix ms).
    pub fn hold(&mut self, until: i64) {
        if let JobState::Pending { not_before } = &mut self.state {
            *not_before = (*not_before).max(until);
        }
    }

    /// After a restart: an attempt that was in flight when the process stopped is due again
    /// now. Returns whether the job changed.
    pub fn recover(&mut self, now: i64) -> bool {
        if let JobState::InFlight { .. } = self.state {
            self.state = JobState::Pending { not_before: now };
            true
        } else {
            false
        }
    }
}

/// Exponential back-off with jitter and a give-up deadline.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Delay after the first failed attempt.
    pub initial: Duration,
    /// Upper bound on any single delay.
    pub max: Duration,
    /// Growth factor per attempt.
    pub multiplier: f64,
    /// Fraction of the delay drawn at random, in `0.0..=1.0`: the delay is uniform in
    /// `[d·(1−jitter), d]` so that many jobs failing together do not retry together.
    pub jitter: f64,
    /// How long after creation a job may keep retrying before it fails for good.
    pub give_up_after: Duration,
}

impl Default for RetryPolicy {
    /// 1 s doubling up to 5 min, 20 % jitter, give up after 24 h: a partner's nightly
    /// maintenance window is survived, and a day-long outage is surfaced to the source.
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(300),
            multiplier: 2.0,
            jitter: 0.2,
            give_up_after: Duration::from_secs(24 * 3600),
        }
    }
}

impl RetryPolicy {
    /// The delay after the `attempt`-th failed attempt (1-based).
    pub fn delay(&self, attempt: u32, rng: &mut impl Rng) -> Duration {
        let exp = attempt.saturating_sub(1).min(63) as i32;
        let nominal = (self.initial.as_secs_f64() * self.multiplier.powi(exp))
            .min(self.max.as_secs_f64())
            .max(0.0);
        let jitter = self.jitter.clamp(0.0, 1.0);
        let factor = if jitter > 0.0 {
            rng.gen_range((1.0 - jitter)..=1.0)
        } else {
            1.0
        };
        Duration::from_secs_f64(nominal * factor)
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A failure of the storage behind the outbox.
#[derive(Debug, thiserror::Error)]
#[error("outbox storage: {0}")]
pub struct StoreError(pub String);

/// What the outbox needs from storage. `put` must be durable once `flush` returns.
pub trait OutboxStore: Send + Sync {
    /// Inserts or replaces a job.
    fn put(&self, job: &Job) -> Result<(), StoreError>;
    /// Reads a job by id.
    fn get(&self, id: &str) -> Result<Option<Job>, StoreError>;
    /// Held for writing while a batch of the committer is applied and not yet durable; the
    /// outbox worker holds it for reading while it looks for due jobs, so it never starts a
    /// job that a crash could still undo (and a caller that must not block waits for it
    /// asynchronously).
    fn gate(&self) -> Arc<tokio::sync::RwLock<()>>;
    /// Pending jobs due at or before `now`, earliest first, at most `limit`, leaving out
    /// those named in `busy` (the worker's own, still being attempted or held) without
    /// reading or taking them: written by their task, they are due as written.
    fn due_except(
        &self,
        now: i64,
        limit: usize,
        busy: &HashSet<String>,
    ) -> Result<Vec<Job>, StoreError>;
    /// Pending jobs due at or before `now`, earliest first, at most `limit`.
    fn due(&self, now: i64, limit: usize) -> Result<Vec<Job>, StoreError> {
        self.due_except(now, limit, &HashSet::new())
    }
    /// Jobs not yet delivered or failed (pending and in flight), for recovery and gauges.
    fn open(&self) -> Result<Vec<Job>, StoreError>;
    /// Makes every `put` so far durable.
    fn flush(&self) -> Result<(), StoreError>;
    /// Whether other instances put and take jobs of the same outbox (several gateway
    /// instances on one database): then the pending gauge is counted from the store.
    fn shared(&self) -> bool {
        false
    }
    /// Called once as the gateway starts: the deliveries this instance held when it stopped
    /// (its leases on a shared outbox) are due again at once, since no attempt of its
    /// survived; returns how many.
    fn restarted(&self) -> Result<usize, StoreError> {
        Ok(0)
    }
    /// How many jobs are not yet delivered or failed.
    fn count_open(&self) -> Result<usize, StoreError> {
        Ok(self.open()?.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
            multiplier: 2.0,
            jitter: 0.0,
            give_up_after: Duration::from_secs(100),
        }
    }

    #[test]
    fn delays_grow_exponentially_up_to_the_cap() {
        let mut rng = StdRng::seed_from_u64(7);
        let p = policy();
        let secs: Vec<u64> = (1..=8).map(|a| p.delay(a, &mut rng).as_secs()).collect();
        assert_eq!(secs, vec![1, 2, 4, 8, 16, 32, 60, 60]);
    }

    #[test]
    fn jitter_stays_in_its_band_and_is_reproducible() {
        let p = RetryPolicy {
            jitter: 0.5,
            ..policy()
        };
        let draw = |seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            (1..=6).map(|a| p.delay(a, &mut rng)).collect::<Vec<_>>()
        };
        assert_eq!(draw(42), draw(42));
        assert_ne!(draw(42), draw(43));
        for (i, d) in draw(42).into_iter().enumerate() {
            let nominal = 2f64.powi(i as i32).min(60.0);
            assert!(d.as_secs_f64() >= nominal * 0.5 && d.as_secs_f64() <= nominal);
        }
    }

    #[test]
    fn accepted_and_duplicate_both_mean_delivered() {
        let mut rng = StdRng::seed_from_u64(1);
        let p = policy();
        let mut job = Job::new(JobKind::Application, "TB1", "sh", 0, &p);
        assert_eq!(job.id, "TB1/application");
        job.start(0).unwrap();
        let t = job
            .finish(
                Reply::Accepted {
                    receipt: "R1".into(),
                },
                5,
                &p,
                &mut rng,
            )
            .unwrap();
        assert_eq!(t, Transition::Delivered);
        assert!(!job.is_open());

        let mut dup = Job::new(JobKind::Decision, "TB2", "zj", 0, &p);
        dup.start(0).unwrap();
        dup.finish(Reply::Duplicate, 1, &p, &mut rng).unwrap();
        assert_eq!(
            dup.state,
            JobState::Delivered {
                at: 1,
                receipt: None
            }
        );
    }

    #[test]
    fn retries_until_the_give_up_deadline_then_fails() {
        let mut rng = StdRng::seed_from_u64(1);
        let p = policy();
        let mut job = Job::new(JobKind::Application, "TB1", "sh", 0, &p);
        let mut now = 0;
        let mut delays = vec![];
        loop {
            job.start(now).unwrap();
            match job
                .finish(Reply::RetryLater("503".into()), now, &p, &mut rng)
                .unwrap()
            {
                Transition::Retry { delay } => {
                    delays.push(delay.as_secs());
                    now = job.due_at().unwrap();
                }
                Transition::Failed => break,
                Transition::Delivered => unreachable!(),
            }
        }
        // 0 → 1 → 3 → 7 → 15 → 31 → 63; the next (63 + 60 = 123) passes 100.
        assert_eq!(delays, vec![1, 2, 4, 8, 16, 32]);
        assert_eq!(job.attempts, 7);
        match &job.state {
            JobState::Failed { reason, .. } => assert!(reason.contains("gave up after 7")),
            other => panic!("not failed: {other:?}"),
        }
    }

    #[test]
    fn rejection_fails_at_once() {
        let mut rng = StdRng::seed_from_u64(1);
        let p = policy();
        let mut job = Job::new(JobKind::Application, "TB1", "zj", 0, &p);
        job.start(0).unwrap();
        assert_eq!(
            job.finish(Reply::Rejected("4001 bad".into()), 1, &p, &mut rng),
            Ok(Transition::Failed)
        );
        assert_eq!(job.last_error.as_deref(), Some("4001 bad"));
    }

    #[test]
    fn transitions_out_of_order_are_refused() {
        let mut rng = StdRng::seed_from_u64(1);
        let p = policy();
        let mut job = Job::new(JobKind::Application, "TB1", "zj", 10, &p);
        assert_eq!(
            job.start(9),
            Err(OutboxError::NotDue("TB1/application".into()))
        );
        assert_eq!(
            job.finish(Reply::Duplicate, 10, &p, &mut rng),
            Err(OutboxError::NotInFlight("TB1/application".into()))
        );
        job.start(10).unwrap();
        assert!(job.start(10).is_err());
    }

    #[test]
    fn in_flight_jobs_are_due_again_after_a_restart() {
        let p = policy();
        let mut job = Job::new(JobKind::Application, "TB1", "zj", 0, &p);
        job.start(0).unwrap();
        assert!(job.recover(50));
        assert_eq!(job.due_at(), Some(50));
        assert!(!job.recover(60));
    }

    #[test]
    fn jobs_survive_serialisation() {
        let p = policy();
        let job = Job::new(JobKind::FailureNotice, "TB9", "zj", 3, &p);
        let text = serde_json::to_string(&job).unwrap();
        assert_eq!(serde_json::from_str::<Job>(&text).unwrap(), job);
    }
}
