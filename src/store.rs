//! store
pub mod outbox;
