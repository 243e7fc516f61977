//! A partner platform's own RFC 9421 signature on what it sends.
//!
//! Neither platform's interface requires one, so an unsigned request is accepted unless the
//! operator sets `require_signature` for that platform. When the platform's keys are
//! configured (`signing_keys`) and a request carries a signature, it is verified in tongban's
//! profile ([`httpsig`]: label `tongban`, `alg="ed25519"`, covering `@method`, `@target-uri`,
//! `content-type` and `content-digest`); one that fails is refused, naming the header at
//! fault, and the key id of one that verifies is recorded in the ledger entry of the step.
//! The signature itself is kept with the bytes it signs ([`Signed`]), so anyone holding the
//! platform's public key can verify later, with any RFC 9421 library, that the platform sent
//! exactly those bytes.
//!
//! Pure: the caller passes the request's parts.

use http::HeaderMap;

use super::config::PlatformConfig;
use super::httpsig::{self, HttpSigError, Message, ReceivedHeaders};

/// What a request's signature establishes, when the gateway may accept the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sender {
    /// Not signed, or signed while no key is configured to verify it with.
    Unverified,
    /// Signed with a configured key, and the signature verifies over these bytes.
    Verified(Signed),
}

impl Sender {
    /// The key id to record, if verified.
    pub fn keyid(&self) -> Option<&str> {
        match self {
            Sender::Unverified => None,
            Sender::Verified(s) => Some(&s.keyid),
        }
    }

    /// The signature to keep with the bytes, if verified (JSON of [`Signed`]).
    pub fn evidence(&self) -> Option<Vec<u8>> {
        match self {
            Sender::Unverified => None,
            Sender::Verified(s) => serde_json::to_vec(s).ok(),
        }
    }
}

/// A verified signature as received: what a verifier needs besides the body and the key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Signed {
    /// The key id it names.
    pub keyid: String,
    /// `@target-uri` as the gateway rebuilt it (`@method` is `POST`).
    pub target_uri: String,
    /// `Content-Type`.
    pub content_type: String,
    /// `Content-Digest`.
    pub content_digest: String,
    /// `Signature-Input`.
    pub signature_input: String,
    /// `Signature`.
    pub signature: String,
}

/// Checks the signature on a POST to `target_uri` from `platform`; the error names the
/// header at fault and what is wrong with it.
pub fn check(
    platform: &PlatformConfig,
    target_uri: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Sender, String> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let signed = headers.contains_key("signature") || headers.contains_key("signature-input");
    if !signed {
        if platform.require_signature {
            return Err(format!(
                "Signature: platform {} must sign what it sends (RFC 9421)",
                platform.key
            ));
        }
        return Ok(Sender::Unverified);
    }
    if platform.signing_keys.is_empty() {
        return Ok(Sender::Unverified);
    }
    let received = ReceivedHeaders {
        content_type: header("content-type"),
        content_digest: header("content-digest"),
        signature_input: header("signature-input"),
        signature: header("signature"),
    };
    let verified = httpsig::verify(
        Message::Request {
            method: "POST",
            target_uri,
        },
        received,
        body,
        |id| platform.signing_keys.get(id).copied(),
    )
    .map_err(|e| format!("{}: {e}", at_fault(&e)))?;
    let kept = |v: Option<&str>| v.unwrap_or_default().to_owned();
    Ok(Sender::Verified(Signed {
        keyid: verified.keyid,
        target_uri: target_uri.to_owned(),
        content_type: kept(received.content_type),
        content_digest: kept(received.content_digest),
        signature_input: kept(received.signature_input),
        signature: kept(received.signature),
    }))
}

/// The header a verification failure is about.
fn at_fault(e: &HttpSigError) -> &'static str {
    match e {
        HttpSigError::Missing(h) | HttpSigError::Malformed(h) => h,
        HttpSigError::DigestMismatch => "Content-Digest",
        HttpSigError::WrongComponents(_)
        | HttpSigError::WrongAlgorithm(_)
        | HttpSigError::UnknownKey(_) => "Signature-Input",
        HttpSigError::BadSignature => "Signature",
    }
}

/// The `@target-uri` a partner signed: `https://` and the `Host` it called, then the path
/// and query (the partner listener is HTTPS only).
pub fn target_uri(headers: &HeaderMap, path_and_query: &str) -> Option<String> {
    let host = headers.get(http::header::HOST)?.to_str().ok()?;
    Some(format!("https://{host}{path_and_query}"))
}
