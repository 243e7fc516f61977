//! tongban (通办): the gateway between Zhejiang's and Shanghai's 一网通办 platforms for
//! cross-province licensing (异地代收代办).
//!
//! # Layout
//! Pure logic (no I/O, no async):
//! - [`codes`] — the code tables under `schemas/` (items, id types, entity types, main formats,
//!   business items, materials, GB/T 2260 divisions), embedded and loaded once.
//! - [`model`] — the canonical application and decision, checked identifiers (GB 32100,
//!   GB 11643, GB/T 2260), money in fen, instants with offsets, the one check of text and
//!   MIME types both adapters apply ([`model::text`]), the bounds on unknown content
//!   ([`model::limits`]), and the [`model::Problems`] every reader reports in its caller's
//!   own vocabulary, each a code of one catalogue of messages ([`model::message`]) rendered
//!   in Chinese or English where the reader is known.
//! - [`platform`] — one adapter per platform ([`platform::zhejiang`] JSON,
//!   [`platform::shanghai`] XML): bytes → model → bytes, and each platform's reply convention.
//! - [`signing`] — Ed25519 and SM2 (SM3, GM/T 0009) keys, C2SP key ids, signed notes.
//! - [`ledger`] — RFC 6962 Merkle log, C2SP checkpoints, proofs, audit bundles; storage behind
//!   a small trait.
//! - [`replay`] — re-runs the translations the ledger records (FORWARDED, DELIVERED) on the
//!   exact documents received and compares with the hashes sent (`audit replay`); the one
//!   module that joins [`ledger`] and [`platform`].
//!
//! I/O shells:
//! - [`store`] — the data directory ([`store::DataDir`]) and where its records, outbox and
//!   ledger live: its one sled database, made durable with a real `fdatasync`, or the
//!   PostgreSQL database several gateway instances share ([`store::postgres`], each batch one
//!   transaction under one writer row); the only module that names sled or PostgreSQL (plus
//!   in-memory stores for tests); the records-to-ledger invariant check, the migration of old
//!   directories and the copy between backends.
//! - [`gateway`] — the daemon, in rooms: [`gateway::transport`] (mutual TLS, the listener,
//!   RFC 9421 signatures, each platform's paths and replies), [`gateway::intake`] (admission,
//!   the pipeline, the one committer), [`gateway::delivery`] (the outbox worker, a breaker per
//!   destination), [`gateway::ledger`] (the ledger and its API, the journal, the invariant,
//!   witnesses); beside them the outbox's jobs, the working-day calendar, configuration,
//!   operations, the status API and the clerks' desk ([`gateway::desk`]).
//! - [`demo`] — the stand-in platforms ([`demo::sandbox`]) and the loopback demo built on the
//!   gateway (also the end-to-end tests' harness).
//! - [`web`] — the window clerks' page and the applicants' status page behind a small `Desk`
//!   trait, which the gateway implements on its pipeline, records and ledger; its fields'
//!   labels for either platform's paths ([`web::labels`]).
//! - [`witness`] — a C2SP tlog-witness: cosigns a log's checkpoints only when consistent with
//!   what it cosigned before, its state stored durably before it answers.
//! - [`cli`] — the `tongban` subcommands; `main.rs` only maps their errors to exit codes.
//!
//! # The life of an application
//! 1. A platform sends a document in its own format (or a window clerk submits the page's
//!    form, written in the clerk's platform's format); its adapter reads it into the model,
//!    collecting every problem with the platform's own field names.
//! 2. One committer ([`gateway::intake::commit`]), for many requests at a time, claims the source
//!    number and stores the exact bytes received, the other platform's adapter's translation,
//!    the RECEIVED ledger entry (hashes only, no personal data) and the forwarding job, all in
//!    one atomic, durable commit; the receipt carries the ledger index.
//! 3. The outbox signs and forwards the translated bytes; FORWARDED commits to their hash.
//! 4. The deciding platform's decision comes back the same way: DECIDED, then DELIVERED;
//!    the window that accepted it hands the licence over: HANDED_OVER.
//! 5. Each province's witness cosigns the ledger's checkpoints ([`witness`]); an auditor
//!    exports a bundle and verifies it offline with the public keys alone, requiring both
//!    witnesses' cosignatures, and, allowed to see the documents, replays every translation.
//! 6. The applicant follows the application on the status page the receipt's QR code leads
//!    to ([`web`]).
#![forbid(unsafe_code)]

pub mod cli;
pub mod codes;
pub mod demo;
pub mod gateway;
pub mod ledger;
pub mod model;
pub mod platform;
pub mod replay;
pub mod signing;
pub mod store;
pub mod web;
pub mod witness;
