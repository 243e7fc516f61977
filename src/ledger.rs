//! The signed, tamper-evident ledger: an RFC 6962 Merkle log of [`Entry`] records with
//! C2SP checkpoints, proofs and offline-verifiable audit bundles.
//!
//! - [`merkle`] — pure hashing, proof generation from stored subtree hashes, verification.
//! - [`entry`] — the entry type and its one versioned byte encoding.
//! - [`checkpoint`] — C2SP tlog-checkpoint bodies inside signed notes.
//! - [`log`] — the log over a [`LedgerStore`]: batch append with one durable commit per
//!   batch (group commit) or, for the gateway, the writes of an append to commit together
//!   with its own records; proofs, checkpoint signing that refuses inconsistency, [`Batcher`]
//!   to gather concurrent appends into batches.
//! - [`bundle`] — audit bundle export and offline verification.
//!
//! Storage is the small [`LedgerStore`] trait; `crate::store` implements it on sled and in
//! memory. This module names no storage engine.
//!
//! # Use
//! ```no_run
//! use std::sync::{Arc, Mutex};
//! use tongban::ledger::{Batcher, Entry, Log};
//! use tongban::store::DataDir;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let data = DataDir::new("data");
//! let keys = data.keyring()?;                                 // refuses a group-readable key
//! let store = data.open()?.ledger;                            // the ledger's trees in the store
//! let log = Log::open(store, keys.active().name())?;          // origin = key name by convention
//! let log = Arc::new(Mutex::new(log));
//! let batcher = Batcher::spawn(log.clone(), 4096);            // group commit across threads
//! let indexes = batcher.append(vec![Entry::example(1)]).map_err(|e| e.to_string())?; // durable now
//! let mut log = log.lock().unwrap();
//! let note = log.sign_checkpoint(keys.active())?;            // refuses inconsistency
//! let proof = log.inclusion_proof(indexes.start, log.size())?;
//! let sig: [u8; 64] = keys.active().sign(b"RFC 9421 signature base"); // keyid: key_id_hex()
//! # let _ = (note, proof, sig); Ok(()) }
//! ```
//!
//! The gateway appends differently: [`Log::prepare_append`] gives the writes of its entries,
//! which the committer commits in one transaction with the records of the same batch, and
//! [`Log::appended`] takes them in once durable.

pub mod bundle;
pub mod checkpoint;
pub mod entry;
pub mod log;
pub mod merkle;

pub use checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint};
pub use entry::{
    salted_id_hash, Decision, DecisionResult, Entry, EntryError, Instant, SignatureAlg, Step,
};
pub use log::{Append, Batcher, Log, LogError};
pub use merkle::Hash;

/// A key and its value.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// One write of a commit: a key and its new value, or `None` to remove the key.
pub type Write = (Vec<u8>, Option<Vec<u8>>);

/// A failure inside a storage backend, carried opaquely.
#[derive(Debug, thiserror::Error)]
#[error("storage: {0}")]
pub struct StoreError(pub Box<dyn std::error::Error + Send + Sync + 'static>);

/// The storage the ledger needs: an ordered byte key-value map whose writes are durable when
/// `commit` returns (one flush per call; that is the group commit). A commit interrupted by a
/// crash may leave only some of its writes applied, as long as the last write of the call
/// (the ledger's `size` key) is applied only after all the others; the ledger ignores
/// anything beyond `size`, so it recovers to the last completed commit.
///
/// The gateway does not append through `commit`: it takes the writes of an append from
/// [`Log::prepare_append`] and commits them atomically with its own records, then tells the
/// log with [`Log::appended`].
pub trait LedgerStore: Send + Sync {
    /// The value under `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Applies all writes (`None` removes the key), the last one after all others, durably
    /// before returning.
    fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError>;
    /// All pairs whose key starts with `prefix`, in key order.
    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<KeyValue>, StoreError>;
    /// The last pair (in key order) whose key starts with `prefix`.
    fn last_with_prefix(&self, prefix: &[u8]) -> Result<Option<KeyValue>, StoreError>;
    /// Whether other processes append to the same store (several gateway instances on one
    /// database), so that a log over it catches up ([`Log::catch_up`]) before it answers.
    fn shared(&self) -> bool {
        false
    }
}

impl<T: LedgerStore + ?Sized> LedgerStore for std::sync::Arc<T> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).get(key)
    }
    fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        (**self).commit(writes)
    }
    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<KeyValue>, StoreError> {
        (**self).scan_prefix(prefix)
    }
    fn last_with_prefix(&self, prefix: &[u8]) -> Result<Option<KeyValue>, StoreError> {
        (**self).last_with_prefix(prefix)
    }
    fn shared(&self) -> bool {
        (**self).shared()
    }
}
