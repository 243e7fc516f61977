//! Intake: what happens when a partner (or the clerks' desk) sends a document, up to its
//! durable commit and the receipt.
//!
//! - [`admission`] — what the HTTP layer refuses before intake (method, Content-Type, body
//!   size and time, framing, unknown paths), in the platform's convention.
//! - [`sender`] — a partner's own RFC 9421 signature on what it sends: verified against its
//!   configured keys, or refused naming the header at fault.
//! - [`pipeline`] — intake of applications and decisions: validate, authorise, hand to the
//!   committer, signed receipt in the caller's convention.
//! - [`commit`] — the one writer of claims, records and the ledger: batches of intakes and
//!   changes, each batch one atomic commit (ledger entries included) and one durable sync.

pub mod admission;
pub mod commit;
pub mod pipeline;
pub mod sender;
