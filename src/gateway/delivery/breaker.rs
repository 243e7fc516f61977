//! A circuit breaker per destination platform, so an outage costs probes, not attempts.
//!
//! Each job has its own back-off, which is right for one document a platform refuses for a
//! while, but during an outage every queued job keeps being signed and sent only to be told
//! to retry later. After [`OPEN_AFTER`] retry-later outcomes in a row from one destination the
//! breaker opens: that destination's due jobs are held (rescheduled, no attempt made) until a
//! cool-down ends, then one job goes out as a probe while the others wait for its outcome. A
//! probe that gets any answer other than retry-later closes the breaker; one that does not
//! opens it again for twice as long (the outbox's retry policy, from its initial delay up to
//! its maximum). A job is never held past its give-up deadline, so an outage still ends in a
//! visible failure when it outlasts it.
//!
//! Pure: the outbox worker reports outcomes and asks what to do with each due job.

use std::collections::HashMap;

use rand::Rng;

use crate::gateway::outbox::RetryPolicy;

/// Retry-later outcomes in a row from one destination that open its breaker.
pub const OPEN_AFTER: u32 = 5;

/// What an attempt found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempted {
    /// The destination answered with anything but retry-later.
    pub answered: bool,
    /// The attempt was the breaker's probe.
    pub probe: bool,
}

/// What to do with a due job for a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Reply it.
    Go,
    /// Reply it as the probe of an open breaker.
    Probe,
    /// Do not attempt it; it is due again at this time (Unix ms).
    Hold(i64),
}

#[derive(Debug, Default, Clone)]
struct State {
    /// Retry-later outcomes in a row.
    failures: u32,
    /// Times opened in a row (for the cool-down's growth); 0: closed.
    opened: u32,
    /// End of the cool-down (Unix ms), while open.
    until: i64,
    /// A probe is out.
    probing: bool,
}

/// The breakers of all destinations.
#[derive(Debug)]
pub struct Breakers {
    policy: RetryPolicy,
    states: HashMap<String, State>,
}

impl Breakers {
    /// Closed breakers whose cool-downs follow `policy`.
    pub fn new(policy: RetryPolicy) -> Self {
        Self {
            policy,
            states: HashMap::new(),
        }
    }

    /// Whether `destination`'s breaker is open (its jobs held or probing).
    pub fn is_open(&self, destination: &str) -> bool {
        self.states.get(destination).is_some_and(|s| s.opened > 0)
    }

    /// What to do now with a due job for `destination` whose give-up deadline is `give_up_at`.
    pub fn admit(&mut self, destination: &str, give_up_at: i64, now: i64) -> Admit {
        let Some(s) = self.states.get_mut(destination).filter(|s| s.opened > 0) else {
            return Admit::Go;
        };
        if now >= give_up_at {
            return Admit::Go;
        }
        let until = if now < s.until {
            s.until
        } else if s.probing {
            // Wait for the probe's outcome; it usually comes within a request time.
            now.saturating_add(millis(self.policy.initial))
        } else {
            s.probing = true;
            return Admit::Probe;
        };
        Admit::Hold(until.min(give_up_at))
    }

    /// A probe to `destination` ended without a request being sent (its document could not be
    /// built, say): the next due job probes instead.
    pub fn probe_lost(&mut self, destination: &str) {
        if let Some(s) = self.states.get_mut(destination) {
            s.probing = false;
        }
    }

    /// Records the outcome of an attempt to `destination`, the breaker's probe or not: whether
    /// it answered with anything but retry-later (a transport error counts as retry-later).
    /// Returns whether this opened the breaker (for a log line).
    pub fn record(
        &mut self,
        destination: &str,
        outcome: Attempted,
        now: i64,
        rng: &mut impl Rng,
    ) -> bool {
        let s = self.states.entry(destination.to_owned()).or_default();
        if outcome.answered {
            *s = State::default();
            return false;
        }
        s.failures = s.failures.saturating_add(1);
        // An attempt that was already out when the breaker opened does not end the probe.
        let reopen = outcome.probe && s.probing;
        if !(reopen || (s.opened == 0 && s.failures >= OPEN_AFTER)) {
            return false;
        }
        s.probing = false;
        s.opened = s.opened.saturating_add(1);
        let cool_down = self.policy.delay(s.opened, rng);
        s.until = now.saturating_add(millis(cool_down));
        true
    }
}

fn millis(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use std::time::Duration;

    fn breakers() -> Breakers {
        Breakers::new(RetryPolicy {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(8),
            multiplier: 2.0,
            jitter: 0.0,
            give_up_after: Duration::from_secs(3600),
        })
    }

    const FAR: i64 = i64::MAX;
    const RETRY: Attempted = Attempted {
        answered: false,
        probe: false,
    };
    const ANSWER: Attempted = Attempted {
        answered: true,
        probe: false,
    };
    const PROBE_RETRY: Attempted = Attempted {
        answered: false,
        probe: true,
    };

    #[test]
    fn opens_after_retry_later_in_a_row_and_holds_that_destination_only() {
        let (mut b, mut rng) = (breakers(), StdRng::seed_from_u64(1));
        for i in 0..OPEN_AFTER - 1 {
            assert!(!b.record("zj", RETRY, i64::from(i), &mut rng));
            assert_eq!(b.admit("zj", FAR, 10), Admit::Go);
        }
        assert!(b.record("zj", RETRY, 100, &mut rng));
        assert!(b.is_open("zj"));
        assert_eq!(b.admit("zj", FAR, 500), Admit::Hold(1_100));
        assert_eq!(b.admit("sh", FAR, 500), Admit::Go);
    }

    #[test]
    fn an_answer_between_failures_starts_the_count_again() {
        let (mut b, mut rng) = (breakers(), StdRng::seed_from_u64(1));
        for _ in 0..OPEN_AFTER - 1 {
            b.record("zj", RETRY, 0, &mut rng);
        }
        b.record("zj", ANSWER, 0, &mut rng);
        for _ in 0..OPEN_AFTER - 1 {
            b.record("zj", RETRY, 0, &mut rng);
        }
        assert!(!b.is_open("zj"));
    }

    #[test]
    fn after_the_cool_down_one_probe_goes_and_the_rest_wait_for_it() {
        let (mut b, mut rng) = (breakers(), StdRng::seed_from_u64(1));
        for _ in 0..OPEN_AFTER {
            b.record("zj", RETRY, 0, &mut rng);
        }
        assert_eq!(b.admit("zj", FAR, 1_000), Admit::Probe);
        assert_eq!(b.admit("zj", FAR, 1_000), Admit::Hold(2_000));
        // An attempt that was out before the breaker opened fails: the probe is still out.
        assert!(!b.record("zj", RETRY, 1_020, &mut rng));
        assert_eq!(b.admit("zj", FAR, 1_030), Admit::Hold(2_030));
        // The probe fails: open again, twice as long.
        assert!(b.record("zj", PROBE_RETRY, 1_050, &mut rng));
        assert_eq!(b.admit("zj", FAR, 1_100), Admit::Hold(3_050));
        assert_eq!(b.admit("zj", FAR, 3_050), Admit::Probe);
        // The probe is answered: closed, everything goes.
        assert!(!b.record("zj", ANSWER, 3_060, &mut rng));
        assert!(!b.is_open("zj"));
        assert_eq!(b.admit("zj", FAR, 3_070), Admit::Go);
    }

    #[test]
    fn a_probe_that_sent_nothing_is_replaced_by_the_next_job() {
        let (mut b, mut rng) = (breakers(), StdRng::seed_from_u64(1));
        for _ in 0..OPEN_AFTER {
            b.record("zj", RETRY, 0, &mut rng);
        }
        assert_eq!(b.admit("zj", FAR, 1_000), Admit::Probe);
        b.probe_lost("zj");
        assert_eq!(b.admit("zj", FAR, 1_001), Admit::Probe);
    }

    #[test]
    fn the_cool_down_grows_to_the_policys_maximum() {
        let (mut b, mut rng) = (breakers(), StdRng::seed_from_u64(1));
        for _ in 0..OPEN_AFTER {
            b.record("zj", RETRY, 0, &mut rng);
        }
        let mut now = 0;
        let mut cool_downs = Vec::new();
        for _ in 0..5 {
            let Admit::Hold(until) = b.admit("zj", FAR, now) else {
                panic!("held while open")
            };
            cool_downs.push(until - now);
            now = until;
            assert_eq!(b.admit("zj", FAR, now), Admit::Probe);
            b.record("zj", PROBE_RETRY, now, &mut rng);
        }
        assert_eq!(cool_downs, vec![1_000, 2_000, 4_000, 8_000, 8_000]);
    }

    #[test]
    fn a_job_is_never_held_past_its_give_up_deadline() {
        let (mut b, mut rng) = (breakers(), StdRng::seed_from_u64(1));
        for _ in 0..OPEN_AFTER {
            b.record("zj", RETRY, 0, &mut rng);
        }
        assert_eq!(b.admit("zj", 400, 100), Admit::Hold(400));
        assert_eq!(b.admit("zj", 400, 400), Admit::Go);
    }
}
