//! The running service: partner-facing HTTPS with mutual TLS, the durable outbox that forwards
//! to the other platform, the status and ledger APIs, and the operator endpoints.
//!
//! # Layout
//! Pure parts (no I/O):
//! - [`calendar`] — working days, holidays and make-up workdays; legal deadlines.
//! - [`httpsig`] — RFC 9530 `Content-Digest` and RFC 9421 signatures in tongban's profile.
//! - [`outbox`] — jobs, their state machine, back-off with jitter, the give-up deadline, and
//!   the storage trait the outbox needs (sled implementation in `store::outbox`).
//! - [`sender`] — a partner's own RFC 9421 signature on what it sends: verified against its
//!   configured keys, or refused naming the header at fault.
//! - [`breaker`] — a circuit breaker per destination: after retry-later answers in a row,
//!   its due jobs are held and one probe at a time goes out.
//! - [`config`] — the TOML file with defaults, resolved into checked settings that report
//!   every problem at once.
//! - [`invariant`] — what the records and the ledger must agree on, checked over entries and
//!   records.
//!
//! I/O shells:
//! - [`tls`] — dev PKI (rcgen), the server configuration admitting only partner platforms,
//!   the [`tls::Partner`] identity taken from the verified client certificate, the outgoing
//!   mTLS client.
//! - [`server`] — the accept loop: handshake, partner identity, axum over hyper, limits,
//!   graceful shutdown.
//! - [`ops`] — `/healthz`, `/readyz`, `/metrics`, RFC 9457 problem details.
//! - [`admission`] — what the HTTP layer refuses before intake (method, Content-Type, body
//!   size and time, framing, unknown paths), in the platform's convention.
//! - [`pipeline`] — intake of applications and decisions: validate, authorise, hand to the
//!   committer, signed receipt in the caller's convention.
//! - [`commit`] — the one writer of claims, records and the ledger: batches of intakes and
//!   changes, each batch one atomic commit (ledger entries included) and one durable sync.
//! - [`forwarder`] — the outbox worker: translate, sign, deliver, classify once, record.
//! - [`convention`] — each platform's paths, replies and reply classification (via its adapter).
//! - [`record`], [`journal`], [`ledger`] — the application record and its store trait, the
//!   pipeline's ledger records, and the ledger (log, batcher, keyring, checkpoints, ledger API).
//! - [`witnesses`] — asks the configured witnesses to cosign each new checkpoint and merges
//!   their cosignatures into it; exports their lag and the quorum's readiness.
//! - [`status`] — the status API.
//! - [`desk`] — the window clerks' [`crate::web::Desk`] on the pipeline, the records and the
//!   ledger (served on its own HTTPS listener, without client certificates).
//! - [`service`] — assembles everything from a [`config::Config`] and runs it.
//! - [`sandbox`], [`demo`] — stand-in platforms and the loopback demo (also the test harness).

pub mod admission;
pub mod breaker;
pub mod calendar;
pub mod commit;
pub mod config;
pub mod convention;
pub mod demo;
pub mod desk;
pub mod forwarder;
pub mod httpsig;
pub mod invariant;
pub mod journal;
pub mod ledger;
pub mod ops;
pub mod outbox;
pub mod pipeline;
pub mod record;
pub mod sandbox;
pub mod sender;
pub mod server;
pub mod service;
pub mod status;
pub mod tls;
pub mod witnesses;
