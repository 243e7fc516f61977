//! The gateway's record of one application: numbers on both sides, routing, legal deadline,
//! state and timeline; and the storage trait the pipeline needs for records, the exact bytes
//! of every document, and the outbox jobs written together with them.

use serde::{Deserialize, Serialize};

use super::outbox::{Job, StoreError};

/// Where an application is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AppState {
    /// Accepted from the source, queued for the destination.
    Received,
    /// The destination has it.
    Forwarded,
    /// The destination decided; queued for the source.
    Decided,
    /// The source has the decision.
    Delivered,
    /// Could not be delivered; the source has been told (for applications).
    Failed,
}

/// One step on an application's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// RECEIVED, FORWARDED, DECIDED, DELIVERED, FAILED, SOURCE_NOTIFIED, SOURCE_NOT_NOTIFIED,
    /// HANDED_OVER.
    pub step: String,
    /// When (Unix ms).
    pub at: i64,
    /// The ledger index of the step's record, if it has one.
    pub ledger_index: Option<u64>,
    /// A short note (receipt numbers, reasons; never personal data).
    pub note: Option<String>,
}

/// Which stored document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    /// The application as the source sent it.
    ApplicationReceived,
    /// The application as sent to the destination (translated at intake, under the gateway's
    /// number).
    ApplicationSent,
    /// The decision as the destination sent it.
    DecisionReceived,
    /// The decision as sent to the source.
    DecisionSent,
    /// The source platform's verified signature on the application received.
    ApplicationSignature,
    /// The deciding platform's verified signature on the decision received.
    DecisionSignature,
}

impl DocKind {
    /// Every kind.
    pub const ALL: [DocKind; 6] = [
        DocKind::ApplicationReceived,
        DocKind::ApplicationSent,
        DocKind::DecisionReceived,
        DocKind::DecisionSent,
        DocKind::ApplicationSignature,
        DocKind::DecisionSignature,
    ];

    /// Short name used in storage keys.
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::ApplicationReceived => "application-received",
            DocKind::ApplicationSent => "application-sent",
            DocKind::DecisionReceived => "decision-received",
            DocKind::DecisionSent => "decision-sent",
            DocKind::ApplicationSignature => "application-signature",
            DocKind::DecisionSignature => "decision-signature",
        }
    }
}

/// The gateway's record of one application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRecord {
    /// Gateway cross-province number (the destination sees this as the application number).
    pub gateway_no: String,
    /// Source platform key.
    pub source: String,
    /// The source's own application number.
    pub source_no: String,
    /// Destination platform key.
    pub destination: String,
    /// The destination's receipt number, once forwarded.
    pub destination_receipt: Option<String>,
    /// Canonical item key.
    pub item: String,
    /// Day of acceptance at the window (its own local date).
    pub accepted_on: String,
    /// Working days allowed (限时办结).
    pub working_days: u32,
    /// The legal deadline, `YYYY-MM-DD`.
    pub deadline: String,
    /// Whether the deadline counts days of a year the calendar does not cover yet.
    pub deadline_provisional: bool,
    /// SHA-256 (hex) of the received application bytes.
    pub received_sha256: String,
    /// Ledger index of RECEIVED, once recorded (the receipt carries it).
    pub received_index: Option<u64>,
    /// Current state.
    pub state: AppState,
    /// Decision outcome key (`granted`, `refused`, `correction`), once decided.
    pub decision: Option<String>,
    /// Why it failed, when it did.
    pub failure: Option<String>,
    /// Every step, in order.
    pub timeline: Vec<Event>,
    /// USCC of the accepting office (受理机构), as the application states it; keys the
    /// office's work list on the clerks' page. Empty in records written before it was kept.
    #[serde(default)]
    pub office_uscc: String,
    /// 经营者名称, for the office's work list (a business name; the applicant's personal
    /// data stays in the stored document only).
    #[serde(default)]
    pub operator_name: String,
    /// 受理时间 as the application states it (RFC 3339 with its offset); empty in records
    /// written before it was kept.
    #[serde(default)]
    pub accepted_at: String,
    /// The window clerk who handed the decision to the applicant (送达), once done. Kept in the
    /// record for the office's page, never in the ledger.
    #[serde(default)]
    pub handed_over_by: Option<String>,
    /// Key id of the source platform's RFC 9421 signature verified on the application bytes
    /// (recorded in RECEIVED too); none when it did not sign.
    #[serde(default)]
    pub sender_keyid: Option<String>,
    /// The algorithm of that signature; none when it did not sign (and in records written
    /// before SM2 was accepted, whose signatures were Ed25519).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_alg: Option<crate::ledger::SignatureAlg>,
}

impl AppRecord {
    /// The timeline event of `step`, if it happened.
    pub fn step(&self, step: &str) -> Option<&Event> {
        self.timeline.iter().find(|e| e.step == step)
    }

    /// Appends a timeline event.
    pub fn event(&mut self, step: &str, at: i64, ledger_index: Option<u64>, note: Option<String>) {
        self.timeline.push(Event {
            step: step.to_owned(),
            at,
            ledger_index,
            note,
        });
    }
}

/// Everything one batch changes, written by [`AppStore::commit`] in one atomic commit: the
/// claims of new source numbers, records, documents, outbox jobs and the ledger's writes.
#[derive(Debug, Default)]
pub struct Batch<'a> {
    /// New applications: each claims `(source, source_no)` for its gateway number and is
    /// indexed under its office. Each is also in `records`.
    pub claims: Vec<&'a AppRecord>,
    /// Records to put (new or replaced).
    pub records: Vec<&'a AppRecord>,
    /// Documents to store: gateway number, which document, the exact bytes.
    pub docs: Vec<(&'a str, DocKind, &'a [u8])>,
    /// Jobs to put.
    pub jobs: Vec<&'a Job>,
    /// The ledger's writes for the entries of this batch (see `ledger::Log::prepare_append`).
    pub ledger: Vec<crate::ledger::Write>,
    /// Gateway numbers whose documents, stored ahead by [`AppStore::put_documents`], are
    /// removed: their application turned out to be a copy of one claimed before.
    pub drop_docs: Vec<&'a str>,
}

/// What the gateway needs from storage. The committer is the only writer of claims, records
/// and the ledger in its process; it opens each batch with [`AppStore::begin`], which also
/// keeps every other writer of the same store (another gateway instance on one database)
/// out until the batch commits, reads what it needs through the [`BatchTx`], decides, and
/// writes one [`Batch`].
pub trait AppStore: Send + Sync {
    /// A fresh number, unique and increasing for the life of the store (never blocks on a
    /// commit in progress).
    fn next_sequence(&self) -> Result<u64, StoreError>;
    /// The gateway number that claimed `(source, source_no)`, if any.
    fn claimed(&self, source: &str, source_no: &str) -> Result<Option<String>, StoreError>;
    /// A record by gateway number.
    fn get(&self, gateway_no: &str) -> Result<Option<AppRecord>, StoreError>;
    /// Begins a batch: from now until the batch commits or is dropped, no other writer of
    /// the store commits one (within a process the committer is the only writer; between
    /// processes, a backend shared by several instances takes its writer lock here).
    fn begin(&self) -> Result<Box<dyn BatchTx + '_>, StoreError>;
    /// Applies everything of `batch` atomically (after a crash, all of it or none of it) and
    /// makes it durable on stable storage before returning, holding the outbox's
    /// [`gate`](crate::gateway::outbox::OutboxStore::gate) meanwhile: nothing of a batch
    /// leaves the gateway before the batch is durable. A batch of its own.
    fn commit(&self, batch: Batch<'_>) -> Result<(), StoreError> {
        self.begin()?.commit(batch)
    }
    /// Whether this process holds the lease `name`, taking or renewing it for `ttl` when it is
    /// free, expired or already its own: of several instances on one store, one at a time
    /// does what the lease guards (asking the witnesses to cosign). A store only one process
    /// writes grants it always.
    fn lease(&self, name: &str, ttl: std::time::Duration) -> Result<bool, StoreError> {
        let _ = (name, ttl);
        Ok(true)
    }
    /// Stores documents of an application ahead of the batch that records it, durably, so
    /// that large ones are written and synced off the committer's path. Until that batch
    /// commits they belong to no record (a crash before it leaves them to be overwritten
    /// when the number is given again).
    fn put_documents(&self, gateway_no: &str, docs: &[(DocKind, &[u8])]) -> Result<(), StoreError>;
    /// Makes every write so far durable (for writes made outside [`AppStore::commit`]).
    fn sync(&self) -> Result<(), StoreError>;
    /// A stored document.
    fn doc(&self, gateway_no: &str, kind: DocKind) -> Result<Option<Vec<u8>>, StoreError>;
    /// Every record, in gateway number order (for the invariant check and recovery).
    fn all(&self) -> Box<dyn Iterator<Item = Result<AppRecord, StoreError>> + '_>;
    /// Every claim: `(source, source_no, gateway number)`.
    fn claims(&self)
        -> Box<dyn Iterator<Item = Result<(String, String, String), StoreError>> + '_>;
    /// Records, newest first, at most `limit`.
    fn recent(&self, limit: usize) -> Result<Vec<AppRecord>, StoreError>;
    /// Records of applications accepted at the office with USCC `office`, newest first, at
    /// most `limit` (an index kept with each claim, so only those records are read).
    fn by_office(&self, office: &str, limit: usize) -> Result<Vec<AppRecord>, StoreError>;
}

/// A batch in progress ([`AppStore::begin`]): its reads see every batch committed before it
/// began, and nothing else commits until it does. Dropped without [`BatchTx::commit`], it
/// writes nothing.
pub trait BatchTx {
    /// The ledger's size as stored when the batch began, when other instances append to the
    /// same ledger (the journal catches up to it first); `None` when this process is the
    /// store's only writer.
    fn ledger_size(&self) -> Option<u64>;
    /// The gateway number that claimed each `(source, source_no)`, in order.
    fn claimed(&mut self, keys: &[(&str, &str)]) -> Result<Vec<Option<String>>, StoreError>;
    /// The records of these gateway numbers, in order.
    fn get(&mut self, gateway_nos: &[&str]) -> Result<Vec<Option<AppRecord>>, StoreError>;
    /// Applies `batch` as [`AppStore::commit`] says, and ends the batch.
    fn commit(self: Box<Self>, batch: Batch<'_>) -> Result<(), StoreError>;
}
