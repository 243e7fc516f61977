//! store
pub mod gateway;
pub mod outbox;
