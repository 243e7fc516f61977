//! The invariant between the gateway's records and its ledger, which an auditor relies on
//! (pure: entries and records in, violations out).
//!
//! - every gateway number has exactly one RECEIVED entry and exactly one record, whose
//!   RECEIVED index is that entry's;
//! - every source application (source platform, source number) has exactly one gateway
//!   number, in the ledger and in the claims;
//! - an application has at most one FORWARDED, DECIDED, DELIVERED and HANDED_OVER entry;
//! - every ledger entry's step is on the timeline of the record it names, with its index;
//! - every ledger index on a record's timeline names an entry of that step and number.
//!
//! The committer keeps it by writing each batch's claims, records and ledger entries in one
//! atomic commit. `tongban storage check` verifies it over a whole data directory; at start the
//! gateway checks the entries of the last batches ([`Scope::Tail`]) and is not ready while a
//! violation stands.

use std::collections::{BTreeMap, HashMap};

use crate::ledger;

use crate::gateway::record::AppRecord;

/// A broken rule, naming the application and the ledger entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The application (gateway number), or the source application when it has several.
    pub subject: String,
    /// The ledger entry concerned, when there is one.
    pub index: Option<u64>,
    /// What is wrong.
    pub what: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.index {
            Some(i) => write!(f, "{} (ledger entry {i}): {}", self.subject, self.what),
            None => write!(f, "{}: {}", self.subject, self.what),
        }
    }
}

/// How much of the store the entries and records given cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every entry, every record and every claim: all rules apply.
    Whole,
    /// The last entries of the ledger and the records they name: the rules that need the
    /// whole ledger (exactly one RECEIVED, one number per source application) are checked
    /// only as far as the entries given go.
    Tail,
}

/// The name a step has on a record's timeline.
pub fn timeline_step(step: ledger::Step) -> &'static str {
    match step {
        ledger::Step::Received => "RECEIVED",
        ledger::Step::Forwarded => "FORWARDED",
        ledger::Step::Decided => "DECIDED",
        ledger::Step::Delivered => "DELIVERED",
        ledger::Step::Failed => "FAILED",
        ledger::Step::HandedOver => "HANDED_OVER",
    }
}

/// What one ledger entry says, as far as the invariant is concerned.
#[derive(Debug, Clone)]
pub struct Facts {
    /// The step.
    pub step: ledger::Step,
    /// The gateway number.
    pub gateway_no: String,
    /// The source platform.
    pub source: String,
    /// The source's number.
    pub source_no: String,
}

impl From<&ledger::Entry> for Facts {
    fn from(e: &ledger::Entry) -> Self {
        Self {
            step: e.step,
            gateway_no: e.gateway_no.clone(),
            source: e.source_platform.clone(),
            source_no: e.source_no.clone(),
        }
    }
}

/// Checks the invariant over `entries` (index and facts, the ledger of `size` entries or its
/// tail), `records` and `claims` (`(source, source_no, gateway number)`; empty for
/// [`Scope::Tail`]). Returns every violation, in gateway number order.
pub fn check(
    scope: Scope,
    size: u64,
    entries: &[(u64, Facts)],
    records: &[AppRecord],
    claims: &[(String, String, String)],
) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut v = |subject: &str, index: Option<u64>, what: String| {
        out.push(Violation {
            subject: subject.to_owned(),
            index,
            what,
        })
    };
    let by_no: HashMap<&str, &AppRecord> =
        records.iter().map(|r| (r.gateway_no.as_str(), r)).collect();
    let by_index: HashMap<u64, &Facts> = entries.iter().map(|(i, f)| (*i, f)).collect();
    let first = entries.first().map_or(size, |(i, _)| *i);

    // Entries per application and step, and numbers per source application.
    let mut steps: BTreeMap<&str, BTreeMap<&'static str, Vec<u64>>> = BTreeMap::new();
    let mut sources: BTreeMap<(&str, &str), BTreeMap<&str, u64>> = BTreeMap::new();
    for (i, f) in entries {
        let name = timeline_step(f.step);
        steps
            .entry(&f.gateway_no)
            .or_default()
            .entry(name)
            .or_default()
            .push(*i);
        if f.step == ledger::Step::Received {
            sources
                .entry((&f.source, &f.source_no))
                .or_default()
                .entry(&f.gateway_no)
                .or_insert(*i);
        }
        // The entry's step is on its record's timeline, with its index.
        match by_no.get(f.gateway_no.as_str()) {
            None => v(
                &f.gateway_no,
                Some(*i),
                format!("{name} entry for an application the gateway has no record of"),
            ),
            Some(rec) => {
                if !rec
                    .timeline
                    .iter()
                    .any(|e| e.step == name && e.ledger_index == Some(*i))
                {
                    v(
                        &f.gateway_no,
                        Some(*i),
                        format!("{name} entry not on the record's timeline"),
                    );
                }
            }
        }
    }
    for (no, by_step) in &steps {
        for (name, indexes) in by_step {
            // Both an application's and its decision's delivery may fail; every other step
            // happens once.
            if *name != "FAILED" && indexes.len() > 1 {
                v(
                    no,
                    Some(indexes[1]),
                    format!("{} {name} entries (indexes {indexes:?})", indexes.len()),
                );
            }
        }
    }
    for ((source, source_no), numbers) in &sources {
        if numbers.len() > 1 {
            let list: Vec<String> = numbers.iter().map(|(n, i)| format!("{n} at {i}")).collect();
            v(
                &format!("{source} {source_no}"),
                None,
                format!(
                    "RECEIVED under {} gateway numbers: {}",
                    numbers.len(),
                    list.join(", ")
                ),
            );
        }
    }
    if scope == Scope::Whole {
        for ((source, source_no), numbers) in &sources {
            let claimed: Vec<&str> = claims
                .iter()
                .filter(|(s, n, _)| s == source && n == source_no)
                .map(|(_, _, g)| g.as_str())
                .collect();
            if claimed.len() != 1 || !numbers.contains_key(claimed[0]) {
                v(
                    &format!("{source} {source_no}"),
                    None,
                    format!(
                        "claimed by {claimed:?}, RECEIVED under {:?}",
                        numbers.keys().collect::<Vec<_>>()
                    ),
                );
            }
        }
    }

    // Every record: its timeline's ledger indexes name entries of its own steps.
    for rec in records {
        let no = rec.gateway_no.as_str();
        let received = steps.get(no).and_then(|s| s.get("RECEIVED"));
        match (scope, received) {
            (Scope::Whole, None) => v(no, None, "a record without a RECEIVED entry".into()),
            (_, Some(r)) if rec.received_index != Some(r[0]) => v(
                no,
                Some(r[0]),
                format!("the record's RECEIVED index is {:?}", rec.received_index),
            ),
            _ => {}
        }
        for e in &rec.timeline {
            let Some(i) = e.ledger_index else { continue };
            if i >= size {
                v(
                    no,
                    Some(i),
                    format!(
                        "{} on the timeline is beyond the ledger of {size} entries",
                        e.step
                    ),
                );
                continue;
            }
            if i < first {
                continue;
            }
            match by_index.get(&i) {
                Some(f) if f.gateway_no == no && timeline_step(f.step) == e.step => {}
                Some(f) => v(
                    no,
                    Some(i),
                    format!(
                        "{} on the timeline, but the entry is {} of {}",
                        e.step,
                        timeline_step(f.step),
                        f.gateway_no
                    ),
                ),
                None => v(
                    no,
                    Some(i),
                    format!("{} on the timeline names a missing entry", e.step),
                ),
            }
        }
    }
    out.sort_by(|a, b| (&a.subject, a.index).cmp(&(&b.subject, b.index)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::gateway::tests::rec;

    fn facts(step: ledger::Step, no: &str, source_no: &str) -> Facts {
        Facts {
            step,
            gateway_no: no.into(),
            source: "sh".into(),
            source_no: source_no.into(),
        }
    }

    fn received(no: &str, source_no: &str, index: u64) -> AppRecord {
        let mut r = rec(no, source_no);
        r.received_index = Some(index);
        r.event("RECEIVED", 0, Some(index), None);
        r
    }

    fn claim(no: &str, source_no: &str) -> (String, String, String) {
        ("sh".into(), source_no.into(), no.into())
    }

    #[test]
    fn records_and_ledger_that_agree_have_no_violation() {
        let mut a = received("TB1", "S-1", 0);
        a.event("FORWARDED", 0, Some(2), None);
        let entries = [
            (0, facts(ledger::Step::Received, "TB1", "S-1")),
            (1, facts(ledger::Step::Received, "TB2", "S-2")),
            (2, facts(ledger::Step::Forwarded, "TB1", "S-1")),
        ];
        let records = [a, received("TB2", "S-2", 1)];
        let claims = [claim("TB1", "S-1"), claim("TB2", "S-2")];
        assert_eq!(check(Scope::Whole, 3, &entries, &records, &claims), []);
    }

    #[test]
    fn each_reported_kind_of_disagreement_is_named() {
        let mut a = received("TB1", "S-1", 0);
        a.event("FORWARDED", 0, Some(2), None);
        let entries = [
            (0, facts(ledger::Step::Received, "TB1", "S-1")),
            // A second RECEIVED of the same number (a retry after a crash).
            (1, facts(ledger::Step::Received, "TB1", "S-1")),
            (2, facts(ledger::Step::Forwarded, "TB1", "S-1")),
            // A second FORWARDED (a delivery re-sent after a crash).
            (3, facts(ledger::Step::Forwarded, "TB1", "S-1")),
            // RECEIVED for a number the gateway has no record of (a ghost).
            (4, facts(ledger::Step::Received, "TB9", "S-1")),
        ];
        let claims = [claim("TB1", "S-1")];
        let found = check(Scope::Whole, 5, &entries, &[a], &claims);
        let text: Vec<String> = found.iter().map(|v| v.to_string()).collect();
        let has = |s: &str| text.iter().any(|t| t.contains(s));
        assert!(has("TB1 (ledger entry 1): 2 RECEIVED entries"), "{text:#?}");
        assert!(
            has("TB1 (ledger entry 3): 2 FORWARDED entries"),
            "{text:#?}"
        );
        assert!(has("TB9 (ledger entry 4): RECEIVED entry for an application the gateway has no record of"), "{text:#?}");
        assert!(has("sh S-1: RECEIVED under 2 gateway numbers"), "{text:#?}");
        assert!(
            has("TB1 (ledger entry 1): RECEIVED entry not on the record's timeline"),
            "{text:#?}"
        );
    }

    #[test]
    fn a_record_whose_steps_are_not_in_the_ledger_is_named() {
        let mut a = received("TB1", "S-1", 0);
        a.event("DECIDED", 0, Some(5), None);
        let orphan = rec("TB2", "S-2");
        let entries = [(0, facts(ledger::Step::Received, "TB1", "S-1"))];
        let claims = [claim("TB1", "S-1"), claim("TB2", "S-2")];
        let text: Vec<String> = check(Scope::Whole, 1, &entries, &[a, orphan], &claims)
            .iter()
            .map(|v| v.to_string())
            .collect();
        assert_eq!(
            text,
            [
                "TB1 (ledger entry 5): DECIDED on the timeline is beyond the ledger of 1 entries",
                "TB2: a record without a RECEIVED entry",
            ]
        );
    }

    #[test]
    fn the_tail_check_does_not_ask_for_entries_before_the_tail() {
        // TB1's RECEIVED is before the tail; its FORWARDED is in it.
        let mut a = received("TB1", "S-1", 0);
        a.event("FORWARDED", 0, Some(7), None);
        let entries = [(7, facts(ledger::Step::Forwarded, "TB1", "S-1"))];
        assert_eq!(check(Scope::Tail, 8, &entries, &[a.clone()], &[]), []);
        // A FORWARDED in the tail that the record does not have.
        a.timeline.pop();
        let found = check(Scope::Tail, 8, &entries, &[a], &[]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].index, Some(7));
    }
}
