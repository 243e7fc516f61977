//! What the pipeline records in the ledger, and the small trait it records through.
//!
//! The pipeline describes each step as a [`Record`] (hashes and numbers, never personal data in
//! clear); the ledger adapter turns it into the ledger's own entry encoding. Appends are
//! durable when [`Journal::append`] returns, and may block (group commit), so async callers
//! run them on a blocking thread.

use std::ops::Range;
use std::sync::Mutex;

use serde::Serialize;

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
}

/// A ledger append failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("ledger: {0}")]
pub struct JournalError(pub String);

/// Where the pipeline records its steps.
pub trait Journal: Send + Sync {
    /// Appends records, durably; returns their indexes.
    fn append(&self, records: Vec<Record>) -> Result<Range<u64>, JournalError>;
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
    fn append(&self, records: Vec<Record>) -> Result<Range<u64>, JournalError> {
        let mut all = self.records.lock().unwrap_or_else(|p| p.into_inner());
        let start = all.len() as u64;
        all.extend(records);
        Ok(start..all.len() as u64)
    }
}
