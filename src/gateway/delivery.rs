//! Delivery: what the gateway sends the other platform, from the durable outbox.
//!
//! - [`forwarder`] — the outbox worker: translate, sign, deliver over mutual TLS, classify
//!   the reply once, record the outcome.
//! - [`breaker`] — a circuit breaker per destination: after retry-later answers in a row,
//!   its due jobs are held and one probe at a time goes out.

pub mod breaker;
pub mod forwarder;
