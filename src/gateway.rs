//! The running service: partner-facing HTTPS with mutual TLS, the durable outbox that forwards
//! to the other platform, the status and ledger APIs, and the operator endpoints.
//!
//! # Layout
//! Rooms, each a folder, in the order a document passes through them:
//! - [`transport`] — how the partners are reached and heard: mutual TLS and the dev PKI
//!   ([`transport::tls`]), the accept loop ([`transport::server`]), RFC 9421 signatures over an
//!   RFC 9530 `Content-Digest` ([`transport::httpsig`]), each platform's paths and replies
//!   ([`transport::convention`]).
//! - [`intake`] — what happens when a partner posts: what the HTTP layer refuses first
//!   ([`intake::admission`]), the partner's own signature ([`intake::sender`]), validation and
//!   the receipt ([`intake::pipeline`]), and the one writer of claims, records and the ledger,
//!   each batch one atomic commit ([`intake::commit`]).
//! - [`delivery`] — the outbox worker ([`delivery::forwarder`]): translate, sign, deliver,
//!   classify once, record; the circuit breaker per destination ([`delivery::breaker`]).
//! - [`ledger`] — the ledger behind the pipeline and the ledger API; what the pipeline records
//!   in it ([`ledger::journal`]), what the records and the ledger must agree on
//!   ([`ledger::invariant`]), and the witnesses asked to cosign its checkpoints
//!   ([`ledger::witnesses`]).
//!
//! Shared by the rooms:
//! - [`record`] — the application record and the store trait behind records, claims and
//!   documents.
//! - [`outbox`] — jobs, their state machine, back-off with jitter, the give-up deadline, and
//!   the storage trait the outbox needs (implemented in [`crate::store`]). Pure.
//! - [`config`] — the TOML file with defaults, resolved into checked settings that report
//!   every problem at once; [`calendar`] — working days, holidays and make-up workdays; legal
//!   deadlines. Pure.
//! - [`ops`] — `/healthz`, `/readyz`, `/metrics`, RFC 9457 problem details.
//!
//! Serving:
//! - [`status`] — the status API.
//! - [`desk`] — the window clerks' [`crate::web::Desk`] on the pipeline, the records and the
//!   ledger (served on its own HTTPS listener, without client certificates).
//! - [`service`] — assembles everything from a [`config::Config`] and runs it.
//!
//! The stand-in platforms and the loopback demo built on this module live apart, in
//! [`crate::demo`].

pub mod calendar;
pub mod config;
pub mod delivery;
pub mod desk;
pub mod intake;
pub mod ledger;
pub mod ops;
pub mod outbox;
pub mod record;
pub mod service;
pub mod status;
pub mod transport;
