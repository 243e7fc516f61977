//! Transport: how the partners are reached and heard.
//!
//! - [`tls`] — dev PKI (rcgen), the server configuration admitting only partner platforms,
//!   the [`tls::Partner`] identity taken from the verified client certificate, the outgoing
//!   mTLS client.
//! - [`server`] — the accept loop: handshake, partner identity, axum over hyper, limits,
//!   graceful shutdown.
//! - [`httpsig`] — RFC 9530 `Content-Digest` and RFC 9421 signatures in tongban's profile.
//!   Pure.
//! - [`convention`] — each platform's paths, replies and reply classification (via its
//!   adapter).

pub mod convention;
pub mod httpsig;
pub mod server;
pub mod tls;
