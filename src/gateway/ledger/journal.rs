//! What the pipeline records in the ledger, and the small trait it records through.
//!
//! The pipeline describes each step as a [`Record`] (hashes and numbers, never personal data in
//! clear); the ledger adapter turns it into the ledger's own entry encoding. The committer
//! appends through [`Journal::append`], which hands it the ledger's writes to commit together
//! with the records of the same batch, so the two never disagree.

use std::ops::Range;
use std::sync::Mutex;

use serde::Serialize;

use crate::gateway::record::AppRecord;
use crate::ledger::Write;

/// A step of the cross-province flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Step {
    /// The source's document was accepted.
    Received,
    /// The translated application reached the destination.
    Forwarded,
    /// The destination's decision arrived.
    Decided,
    /// The decision reached the source.
    Delivered,
    /// A delivery failed for good.
    Failed,
    /// A window clerk handed the decision (and licence) to the applicant (送达).
    #[serde(rename = "HANDED_OVER")]
    HandedOver,
}

/// The decision facts a DECIDED or DELIVERED record commits to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionFacts {
    /// Granted, refused or correction (补正).
    pub outcome: crate::model::Outcome,
    /// Licence number, when one was issued.
    pub licence_no: Option<String>,
    /// Validity, `YYYY-MM-DD`.
    pub valid_from: Option<String>,
    /// Validity, `YYYY-MM-DD`.
    pub valid_to: Option<String>,
    /// The issuing (or deciding) authority.
    pub authority: String,
}

/// One ledger record, as the pipeline states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The step.
    pub step: Step,
    /// Gateway cross-province number.
    pub gateway_no: String,
    /// The source platform's number.
    pub source_no: String,
    /// The destination platform's receipt number, once known.
    pub destination_no: Option<String>,
    /// Source platform key.
    pub source: String,
    /// Destination platform key.
    pub destination: String,
    /// Canonical item key.
    pub item: String,
    /// When the gateway recorded the step (Unix seconds).
    pub at_unix: i64,
    /// The time stated by the document (Unix seconds, offset minutes).
    pub document_time: Option<(i64, i16)>,
    /// SHA-256 of the exact bytes received.
    pub received_sha256: [u8; 32],
    /// SHA-256 of the exact bytes sent.
    pub sent_sha256: Option<[u8; 32]>,
    /// Mapping version that turned the received bytes into the sent bytes.
    pub mapping_version: String,
    /// Salted hash of the applicant's identifier.
    pub applicant_id_hash: Option<[u8; 32]>,
    /// Decision facts (DECIDED, DELIVERED, HANDED_OVER).
    pub decision: Option<DecisionFacts>,
    /// Reason code (FAILED).
    pub reason: Option<String>,
    /// Key id of the sending platform's RFC 9421 signature that the gateway verified on the
    /// bytes received (RECEIVED, DECIDED); `None` when the platform did not sign. At most 64
    /// bytes and not empty, or the ledger refuses the append.
    pub sender_keyid: Option<String>,
    /// The algorithm of that signature (with `sender_keyid`).
    pub sender_alg: Option<crate::ledger::SignatureAlg>,
}

/// A ledger append failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("ledger: {0}")]
pub struct JournalError(pub String);

/// Commits the ledger's writes of an append (with the indexes its records get) together with
/// everything else of the batch, durably.
pub type CommitWith<'a> = dyn FnMut(Range<u64>, Vec<Write>) -> Result<(), JournalError> + 'a;

/// Where the pipeline records its steps.
pub trait Journal: Send + Sync {
    /// Appends `records` as the next entries: hands `commit` their indexes and the ledger's
    /// writes, which it must make durable (atomically with its own writes); the entries are
    /// in the ledger once it returns `Ok`, and nothing changes if it fails. One append at a
    /// time (the committer is the only caller).
    fn append(
        &self,
        records: Vec<Record>,
        commit: &mut CommitWith<'_>,
    ) -> Result<Range<u64>, JournalError>;
    /// Entries in the ledger.
    fn size(&self) -> u64;
    /// Takes in the entries other instances sharing the store appended, up to the `stored`
    /// size the committer read under the store's writer lock.
    fn catch_up(&self, stored: u64) -> Result<(), JournalError>;
}

/// A journal in memory, for tests: keeps the records in order.
#[derive(Debug, Default)]
pub struct MemoryJournal {
    records: Mutex<Vec<Record>>,
}

impl MemoryJournal {
    /// Every record so far.
    pub fn records(&self) -> Vec<Record> {
        self.records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Journal for MemoryJournal {
    fn append(
        &self,
        records: Vec<Record>,
        commit: &mut CommitWith<'_>,
    ) -> Result<Range<u64>, JournalError> {
        let mut all = self.records.lock().unwrap_or_else(|p| p.into_inner());
        let start = all.len() as u64;
        let range = start..start + records.len() as u64;
        commit(range.clone(), Vec::new())?;
        all.extend(records);
        Ok(range)
    }

    fn size(&self) -> u64 {
        self.records.lock().unwrap_or_else(|p| p.into_inner()).len() as u64
    }

    fn catch_up(&self, stored: u64) -> Result<(), JournalError> {
        match stored == self.size() {
            true => Ok(()),
            false => Err(JournalError(format!(
                "a journal in memory has no other writer (stored {stored}, held {})",
                self.size()
            ))),
        }
    }
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The timeline note of a step whose bytes carried a verified partner signature.
pub fn signed_note(keyid: Option<&str>) -> Option<String> {
    keyid.map(|k| format!("signed by the platform with key {k}"))
}

/// A ledger record of `step` for `rec` at `at` (Unix ms), with the fields every step has.
pub fn base_record(rec: &AppRecord, step: Step, at: i64) -> Record {
    Record {
        step,
        gateway_no: rec.gateway_no.clone(),
        source_no: rec.source_no.clone(),
        destination_no: rec.destination_receipt.clone(),
        source: rec.source.clone(),
        destination: rec.destination.clone(),
        item: rec.item.clone(),
        at_unix: at.div_euclid(1000),
        document_time: None,
        received_sha256: hex_to_hash(&rec.received_sha256),
        sent_sha256: None,
        mapping_version: crate::platform::MAPPING_VERSION.to_owned(),
        applicant_id_hash: None,
        decision: None,
        reason: None,
        sender_keyid: None,
        sender_alg: None,
    }
}

/// Decodes a hex SHA-256 (all zeros if malformed, which stored records never are).
pub fn hex_to_hash(h: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    if let Ok(v) = hex::decode(h) {
        if v.len() == 32 {
            out.copy_from_slice(&v);
        }
    }
    out
}

impl Step {
    /// The step's name on a record's timeline.
    pub fn name(self) -> &'static str {
        match self {
            Step::Received => "RECEIVED",
            Step::Forwarded => "FORWARDED",
            Step::Decided => "DECIDED",
            Step::Delivered => "DELIVERED",
            Step::Failed => "FAILED",
            Step::HandedOver => "HANDED_OVER",
        }
    }

    /// Whether an application has at most one entry of this step (all but FAILED: both an
    /// application's and its decision's delivery can fail).
    pub fn once(self) -> bool {
        self != Step::Failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_round_trip_through_hex() {
        let h: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(b"x").into();
        assert_eq!(hex_to_hash(&hex::encode(h)), h);
        assert_eq!(hex_to_hash("zz"), [0u8; 32]);
    }
}
