//! The ledger behind the pipeline and the ledger API.
//!
//! [`GatewayLedger`] holds the log (over the ledger's trees of the data directory's store,
//! opened by [`crate::store::DataDir`]) and the keyring: it prepares the entries of each of
//! the committer's batches, whose writes the committer commits with its records, signs a
//! checkpoint whenever the log grew (at most every [`CHECKPOINT_EVERY`]) and answers the
//! read-only ledger API: latest checkpoint, entries, inclusion and consistency proofs, public
//! keys.

//!
//! Its parts:
//! - [`journal`] — what the pipeline records in the ledger, and the small trait it records
//!   through.
//! - [`invariant`] — what the records and the ledger must agree on, checked over entries and
//!   records. Pure.
//! - [`witnesses`] — asks the configured witnesses to cosign each new checkpoint and merges
//!   their cosignatures into it; exports their lag and the quorum's readiness.

pub mod invariant;
pub mod journal;
pub mod witnesses;

use std::ops::Range;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use serde::Deserialize;

use crate::ledger::{self, Entry, LedgerStore, Log};
use crate::model::Outcome;
use crate::signing::keyring::Keyring;
use crate::signing::NoteSignature;

use super::ops::Problem;
use super::record::AppStore;
use super::transport::httpsig::MessageSigner;
use journal::{CommitWith, Journal, JournalError, Record, Step};

/// How often the checkpoint signer looks for growth: auditors see a fresh checkpoint within
/// a second, and a busy gateway signs one note per second, not one per entry.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// Most entries one API call returns (one tile's worth).
pub const MAX_ENTRIES: u64 = 256;

/// Why the ledger could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("ledger: {0}")]
pub struct LedgerOpenError(pub String);

/// The log over the ledger's store, whichever backend holds it.
type SharedLog = Log<Arc<dyn LedgerStore>>;

/// The gateway's ledger: log and keyring.
pub struct GatewayLedger {
    log: Mutex<SharedLog>,
    /// The store's writer lock, when other instances write the same ledger: checkpoints are
    /// signed and cosignatures merged under it, as batches are committed.
    writer: std::sync::OnceLock<Arc<dyn AppStore>>,
    /// Whether other instances write the same store (read once: a store's nature is fixed).
    shared: bool,
    keyring: Mutex<Keyring>,
    keyid: String,
    /// The SM2 key's id, when the keyring has one (fixed while the gateway runs).
    sm2_keyid: Option<String>,
}

impl GatewayLedger {
    /// The log in `store`, named after the keyring's active key (the log's origin).
    pub fn open(
        store: Arc<dyn LedgerStore>,
        keyring: Keyring,
    ) -> Result<Arc<Self>, LedgerOpenError> {
        let origin = keyring.active().name().to_owned();
        let shared = store.shared();
        let log = Log::open(store, &origin).map_err(|e| LedgerOpenError(e.to_string()))?;
        let keyid = keyring.active().key_id_hex();
        let sm2_keyid = keyring.sm2().map(|k| k.key_id_hex());
        Ok(Arc::new(Self {
            log: Mutex::new(log),
            writer: std::sync::OnceLock::new(),
            shared,
            keyring: Mutex::new(keyring),
            keyid,
            sm2_keyid,
        }))
    }

    /// Signs and merges under `records`' writer lock when the ledger's store is shared with
    /// other instances (the committer's batches take the same lock).
    pub fn write_under(&self, records: Arc<dyn AppStore>) {
        let _ = self.writer.set(records);
    }

    /// Whether this instance holds the lease `name` of the store it writes under (always,
    /// on a store no other instance writes); a store that cannot be asked says no.
    pub fn lead(&self, name: &str, ttl: Duration) -> bool {
        let Some(records) = self.writer.get() else {
            return true;
        };
        records.lease(name, ttl).unwrap_or_else(|e| {
            tracing::warn!(lease = name, error = %e, "cannot take or renew the lease");
            false
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SharedLog> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The log as stored now: caught up with what other instances appended, when they share
    /// its store.
    fn read(&self) -> Result<std::sync::MutexGuard<'_, SharedLog>, JournalError> {
        let mut log = self.lock();
        if self.shared {
            log.catch_up().map_err(|e| JournalError(e.to_string()))?;
        }
        Ok(log)
    }

    /// Runs `write` on the log holding the store's writer lock (when the store is shared),
    /// caught up with every other instance's appends.
    fn exclusive<T>(
        &self,
        write: impl FnOnce(&mut SharedLog) -> Result<T, ledger::LogError>,
    ) -> Result<T, JournalError> {
        let failed = |e: &dyn std::fmt::Display| JournalError(e.to_string());
        let shared = self.shared;
        let _held = match (shared, self.writer.get()) {
            (true, Some(records)) => Some(records.begin().map_err(|e| failed(&e))?),
            _ => None,
        };
        let mut log = self.lock();
        if shared {
            log.catch_up().map_err(|e| failed(&e))?;
        }
        write(&mut log).map_err(|e| failed(&e))
    }

    /// Whether other instances write the same ledger.
    pub fn shared(&self) -> bool {
        self.shared
    }

    /// The encoded entries `[range)` (for the invariant check).
    pub fn entries(&self, range: Range<u64>) -> Result<Vec<Vec<u8>>, JournalError> {
        self.read()?
            .entries(range)
            .map_err(|e| JournalError(e.to_string()))
    }

    /// Entries in the ledger.
    pub fn size(&self) -> u64 {
        match self.read() {
            Ok(log) => log.size(),
            Err(e) => {
                tracing::warn!(error = %e, "ledger size as last read");
                self.lock().size()
            }
        }
    }

    /// The newest signed checkpoint note, with the cosignatures merged into it so far.
    pub fn last_note(&self) -> Result<Option<String>, JournalError> {
        self.read()?
            .last_signed_note()
            .map_err(|e| JournalError(e.to_string()))
    }

    /// The RFC 6962 consistency proof from `from` to `to` entries.
    pub fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<ledger::Hash>, JournalError> {
        self.read()?
            .consistency_proof(from, to)
            .map_err(|e| JournalError(e.to_string()))
    }

    /// Merges verified cosignature lines into the stored checkpoint with body `text`.
    pub fn add_cosignatures(
        &self,
        text: &str,
        sigs: &[NoteSignature],
    ) -> Result<bool, JournalError> {
        self.exclusive(|log| log.add_cosignatures(text, sigs))
    }

    /// Signs a checkpoint if the log grew since the last one. Blocking.
    pub fn sign_if_grown(&self) -> Result<bool, JournalError> {
        self.exclusive(|log| {
            // Another instance may have signed this size already (it reads the store's last).
            let last = log.last_signed_note()?;
            let last = last
                .map(|n| ledger::SignedCheckpoint::parse(&n).map(|c| c.checkpoint.size))
                .transpose()?;
            if last == Some(log.size()) {
                return Ok(false);
            }
            let keyring = self.keyring.lock().unwrap_or_else(|p| p.into_inner());
            log.sign_checkpoint_by(&keyring.checkpoint_signers())?;
            Ok(true)
        })
    }

    /// Signs checkpoints every [`CHECKPOINT_EVERY`] until `shutdown`, and once more at the end.
    pub async fn checkpoints(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let stop = tokio::select! {
                _ = &mut shutdown => true,
                _ = tokio::time::sleep(CHECKPOINT_EVERY) => false,
            };
            let me = self.clone();
            match tokio::task::spawn_blocking(move || me.sign_if_grown()).await {
                Ok(Err(e)) => tracing::error!(error = %e, "checkpoint signing failed"),
                Err(e) => tracing::error!(error = %e, "checkpoint task failed"),
                Ok(Ok(_)) => {}
            }
            if stop {
                return;
            }
        }
    }
}

impl MessageSigner for GatewayLedger {
    fn keyid(&self) -> &str {
        &self.keyid
    }
    fn sign(&self, base: &[u8]) -> [u8; 64] {
        self.keyring
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .active()
            .sign(base)
    }
    fn public_key(&self) -> ed25519_dalek::VerifyingKey {
        *self
            .keyring
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .active()
            .verifier()
            .dalek()
    }
    fn sm2_keyid(&self) -> Option<&str> {
        self.sm2_keyid.as_deref()
    }
    fn sign_sm2(&self, base: &[u8]) -> Option<[u8; 64]> {
        self.keyring
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .sm2()
            .map(|k| k.sign(base))
    }
    fn sm2_public_key(&self) -> Option<crate::signing::Sm2VerifyingKey> {
        self.keyring
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .sm2()
            .map(crate::signing::Sm2VerifyingKey::from)
    }
}

/// The ledger's entry for a pipeline record.
pub fn entry(r: Record) -> Entry {
    let instant = |unix: i64, offset_minutes: i16| ledger::Instant {
        unix,
        offset_minutes,
    };
    Entry {
        step: match r.step {
            Step::Received => ledger::Step::Received,
            Step::Forwarded => ledger::Step::Forwarded,
            Step::Decided => ledger::Step::Decided,
            Step::Delivered => ledger::Step::Delivered,
            Step::Failed => ledger::Step::Failed,
            Step::HandedOver => ledger::Step::HandedOver,
        },
        gateway_no: r.gateway_no,
        source_no: r.source_no,
        destination_no: r.destination_no,
        source_platform: r.source,
        destination_platform: r.destination,
        item: r.item,
        // Recorded in China Standard Time, the offset both platforms work in.
        at: instant(r.at_unix, 480),
        source_time: r.document_time.map(|(u, o)| instant(u, o)),
        received_sha256: r.received_sha256,
        sent_sha256: r.sent_sha256,
        mapping_version: r.mapping_version,
        applicant_id_hash: r.applicant_id_hash,
        decision: r.decision.map(|d| ledger::Decision {
            result: match d.outcome {
                Outcome::Granted => ledger::DecisionResult::Approved,
                Outcome::Refused => ledger::DecisionResult::Rejected,
                Outcome::Correction => ledger::DecisionResult::Correction,
            },
            licence_no: d.licence_no,
            valid_from: d.valid_from,
            valid_to: d.valid_to,
            authority: d.authority,
        }),
        reason: r.reason,
        sender_keyid: r.sender_keyid,
        sender_alg: r.sender_alg,
    }
}

impl Journal for GatewayLedger {
    fn append(
        &self,
        records: Vec<Record>,
        commit: &mut CommitWith<'_>,
    ) -> Result<Range<u64>, JournalError> {
        let failed = |e: ledger::LogError| JournalError(e.to_string());
        let entries: Vec<Entry> = records.into_iter().map(entry).collect();
        let encoded = ledger::log::encode_batch(&entries).map_err(failed)?;
        // Prepared under the lock, committed without it (the API and the checkpoint signer
        // go on reading the log as it was), taken in once durable.
        let mut append = self.lock().prepare_append(&encoded).map_err(failed)?;
        let range = append.range();
        commit(range.clone(), append.take_writes())?;
        self.lock().appended(append);
        Ok(range)
    }

    fn size(&self) -> u64 {
        self.lock().size()
    }

    fn catch_up(&self, stored: u64) -> Result<(), JournalError> {
        self.lock()
            .catch_up_to(stored)
            .map(drop)
            .map_err(|e| JournalError(e.to_string()))
    }
}

#[derive(Deserialize)]
struct RangeQuery {
    start: u64,
    end: Option<u64>,
}

#[derive(Deserialize)]
struct InclusionQuery {
    index: u64,
    size: Option<u64>,
}

#[derive(Deserialize)]
struct ConsistencyQuery {
    from: u64,
    to: Option<u64>,
}

fn b64(h: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(h)
}

fn problem(e: impl std::fmt::Display) -> Response {
    Problem::bad_request(e.to_string()).into_response()
}

async fn checkpoint(State(l): State<Arc<GatewayLedger>>) -> Response {
    let log = match l.read() {
        Ok(log) => log,
        Err(e) => return unavailable(e),
    };
    match log.last_signed_note() {
        Ok(Some(note)) => {
            ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note).into_response()
        }
        Ok(None) => Problem::not_found("no checkpoint signed yet").into_response(),
        Err(e) => unavailable(e),
    }
}

/// The ledger could not be read (its store does not answer).
fn unavailable(e: impl std::fmt::Display) -> Response {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "ledger",
        "Ledger unavailable",
    )
    .detail(e.to_string())
    .into_response()
}

async fn entries(State(l): State<Arc<GatewayLedger>>, Query(q): Query<RangeQuery>) -> Response {
    let log = match l.read() {
        Ok(log) => log,
        Err(e) => return unavailable(e),
    };
    let size = log.size();
    let end = q
        .end
        .unwrap_or(size)
        .min(size)
        .min(q.start.saturating_add(MAX_ENTRIES));
    if q.start >= end {
        return problem(format!("start must be below the log size {size}"));
    }
    match log.entries(q.start..end) {
        Ok(list) => {
            let items: Vec<_> = list
                .iter()
                .enumerate()
                .map(|(i, bytes)| {
                    let decoded = Entry::decode(bytes).ok();
                    serde_json::json!({
                        "index": q.start + i as u64,
                        "leaf": b64(bytes),
                        "entry": decoded,
                    })
                })
                .collect();
            Json(serde_json::json!({ "size": size, "entries": items })).into_response()
        }
        Err(e) => problem(e),
    }
}

async fn inclusion(
    State(l): State<Arc<GatewayLedger>>,
    Query(q): Query<InclusionQuery>,
) -> Response {
    let log = match l.read() {
        Ok(log) => log,
        Err(e) => return unavailable(e),
    };
    let size = q.size.unwrap_or(log.size());
    match log.inclusion_proof(q.index, size) {
        Ok(p) => Json(serde_json::json!({
            "index": q.index,
            "size": size,
            "root": log.root_at(size).map(|r| b64(&r)).ok(),
            "proof": p.iter().map(|h| b64(h)).collect::<Vec<_>>(),
        }))
        .into_response(),
        Err(e) => problem(e),
    }
}

async fn consistency(
    State(l): State<Arc<GatewayLedger>>,
    Query(q): Query<ConsistencyQuery>,
) -> Response {
    let log = match l.read() {
        Ok(log) => log,
        Err(e) => return unavailable(e),
    };
    let to = q.to.unwrap_or(log.size());
    match log.consistency_proof(q.from, to) {
        Ok(p) => Json(serde_json::json!({
            "from": q.from,
            "to": to,
            "proof": p.iter().map(|h| b64(h)).collect::<Vec<_>>(),
        }))
        .into_response(),
        Err(e) => problem(e),
    }
}

async fn keys(State(l): State<Arc<GatewayLedger>>) -> Response {
    let keyring = l.keyring.lock().unwrap_or_else(|p| p.into_inner());
    let text: String = keyring
        .published()
        .iter()
        .map(|k| format!("{k}\n"))
        .collect();
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
}

/// The read-only ledger API.
pub fn router(l: Arc<GatewayLedger>) -> Router {
    Router::new()
        .route("/api/v1/ledger/checkpoint", get(checkpoint))
        .route("/api/v1/ledger/entries", get(entries))
        .route("/api/v1/ledger/proof/inclusion", get(inclusion))
        .route("/api/v1/ledger/proof/consistency", get(consistency))
        .route("/api/v1/ledger/keys", get(keys))
        .with_state(l)
}
