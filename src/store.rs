//! Storage: the only module that names sled or PostgreSQL.
//!
//! - [`layout`] — [`DataDir`], the data directory's layout; opens its storage (the embedded
//!   store in it, or the PostgreSQL database `[storage]` names: [`config`]) and hands it out
//!   behind the traits its users declare ([`Stores`], defined here, below every backend).
//! - [`sled`] — the one sled database, made durable for real (flush, then `fdatasync`), and
//!   the ledger's trees in it ([`SledLedgerStore`]).
//! - [`gateway`] — claims, records, documents and the outbox in the same database; a batch
//!   of the committer, ledger writes included, is one transaction.
//! - [`outbox`] — the outbox's trees (and an in-memory outbox for tests).
//! - [`memory`] — [`MemStore`], an in-memory ledger store for tests, with crash injection.
//! - [`migrate`] — turns an earlier version's data directory (two databases) into one store.
//! - [`postgres`] — the store several gateway instances share: claims, records, documents,
//!   outbox and ledger in PostgreSQL, each batch one transaction under one writer lock.
//! - [`copy`] — a whole store from one backend to another, verified (`tongban storage copy`).
//! - [`check`] — the invariant between records and ledger over a whole store.
//!
//! Each consumer (the ledger, the outbox, the committer) declares its own small storage
//! trait; this module implements it. Add a backend by adding a submodule.

pub mod check;
pub mod config;
pub mod copy;
pub mod gateway;
pub mod layout;
pub mod memory;
pub mod migrate;
pub mod outbox;
pub mod postgres;
pub mod sled;

pub use self::layout::{DataDir, OpenError};
pub use self::memory::MemStore;
pub use self::sled::SledLedgerStore;

use std::sync::Arc;

use crate::gateway::ops::StoreHealth;
use crate::gateway::outbox::OutboxStore;
use crate::gateway::record::AppStore;
use crate::ledger::LedgerStore;

/// The opened storage of a data directory, behind the traits its users need.
#[derive(Clone)]
pub struct Stores {
    /// Claims, records, documents; commits batches with the ledger's writes.
    pub records: Arc<dyn AppStore>,
    /// The outbox (same database).
    pub outbox: Arc<dyn OutboxStore>,
    /// The ledger's trees (same database).
    pub ledger: Arc<dyn LedgerStore>,
    /// What the operator endpoints ask a database server (none for the embedded store).
    pub health: Option<Arc<dyn StoreHealth>>,
}
