//! A partner platform's own RFC 9421 signature on what it sends.
//!
//! Neither platform's interface requires one, so an unsigned request is accepted unless the
//! operator sets `require_signature` for that platform. When the platform's keys are
//! configured (`signing_keys`) and a request carries a signature, it is verified
//! ([`httpsig::verify_request`]: `alg="ed25519"` or `alg="sm2-sm3"`, the algorithm of the key
//! configured under that key id, whatever request components it covers as long as
//! `content-digest` is among them, so the exact body is bound); one that fails is refused,
//! naming the header at fault, and the key id and algorithm of one that verifies are recorded
//! in the ledger entry of the step.
//! The signature itself is kept with the bytes it signs ([`Signed`]), so anyone holding the
//! platform's public key can verify later, with any RFC 9421 library, that the platform sent
//! exactly those bytes.
//!
//! Pure: the caller passes the request's parts.

use http::HeaderMap;

use crate::gateway::config::PlatformConfig;
use crate::gateway::transport::httpsig::{self, HttpSigError, SigAlg};

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

    /// The algorithm of the signature, if verified.
    pub fn alg(&self) -> Option<SigAlg> {
        match self {
            Sender::Unverified => None,
            Sender::Verified(s) => Some(s.alg),
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

/// A verified signature as received: what anyone needs, besides the body and the platform's
/// public key, to verify it again.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Signed {
    /// The key id it names.
    pub keyid: String,
    /// Its algorithm (`ed25519` or `sm2-sm3`; absent in what was kept before SM2 existed,
    /// which was Ed25519).
    #[serde(default = "ed25519")]
    pub alg: SigAlg,
    /// `@target-uri` as the gateway rebuilt it (`@method` is `POST`).
    pub target_uri: String,
    /// `Signature-Input`.
    pub signature_input: String,
    /// `Signature`.
    pub signature: String,
    /// The RFC 9421 signature base the signature verifies over: one line per covered component
    /// with its value (`content-digest` among them, which binds the body), then
    /// `@signature-params`.
    pub signature_base: String,
}

fn ed25519() -> SigAlg {
    SigAlg::Ed25519
}

/// Checks the signature on a POST to `target_uri` from `platform`; the error names the
/// header at fault and what is wrong with it.
pub fn check(
    platform: &PlatformConfig,
    target_uri: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Sender, String> {
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
    let v = httpsig::verify_request(target_uri, headers, body, |id| {
        platform.signing_keys.get(id).cloned()
    })
    .map_err(|e| format!("{}: {e}", at_fault(&e)))?;
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    Ok(Sender::Verified(Signed {
        alg: v.verified.alg,
        keyid: v.verified.keyid,
        target_uri: target_uri.to_owned(),
        signature_input: header("signature-input"),
        signature: header("signature"),
        signature_base: v.base,
    }))
}

/// The header a verification failure is about.
fn at_fault(e: &HttpSigError) -> &'static str {
    match e {
        HttpSigError::Missing(h) | HttpSigError::Malformed(h) => h,
        HttpSigError::DigestMismatch => "Content-Digest",
        HttpSigError::WrongComponents(_)
        | HttpSigError::WrongAlgorithm(_)
        | HttpSigError::UnknownKey(_)
        | HttpSigError::AlgorithmMismatch { .. } => "Signature-Input",
        HttpSigError::BadSignature => "Signature",
        HttpSigError::MissingComponent(_) => "Signature-Input",
    }
}

/// The `@target-uri` a partner signed: `https://` and the `Host` it called, then the path
/// and query (the partner listener is HTTPS only).
pub fn target_uri(headers: &HeaderMap, path_and_query: &str) -> Option<String> {
    let host = headers.get(http::header::HOST)?.to_str().ok()?;
    Some(format!("https://{host}{path_and_query}"))
}
