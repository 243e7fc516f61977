//! Storage backends: the only module that names sled.
//!
//! - [`sled`] — [`SledLedgerStore`], the durable embedded store for the ledger.
//! - [`memory`] — [`MemStore`], an in-memory store for tests, with crash injection.
//! - [`outbox`] and [`gateway`] — the daemon's outbox, application records and documents.
//!
//! Each consumer (the ledger today, the daemon's outbox later) declares its own small
//! storage trait; this module implements it. Add a backend by adding a submodule.

pub mod gateway;
pub mod memory;
pub mod outbox;
pub mod sled;

pub use self::memory::MemStore;
pub use self::sled::{open_sled, SledLedgerStore};
