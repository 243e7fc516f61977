//! RFC 9421 HTTP Message Signatures over an RFC 9530 `Content-Digest`, in tongban's profile.
//!
//! - `Content-Digest: sha-256=:<base64 SHA-256 of the body>:` (RFC 9530 §2).
//! - One signature labelled [`LABEL`] (a verifier also takes a lone signature under another
//!   label), `alg="ed25519"` or `alg="sm2-sm3"` ([`ALG_SM2`]), `keyid` (the signing key's
//!   8-hex-digit C2SP key id) and `created`; or, to a partner configured for both, two
//!   signatures: Ed25519 under [`LABEL`] and SM2 under [`LABEL_SM2`], over the same
//!   components.
//! - `sm2-sm3` is not in the IANA HTTP Signature Algorithms registry (it has no SM2 entry):
//!   SM2 (GM/T 0003.2) with SM3, `Z_A` computed with the signer's GM/T 0009 distinguishing ID
//!   (default `1234567812345678`), over the signature base; the signature is the raw 64 bytes
//!   `r ‖ s` (32 bytes each, big-endian), base64 in the `Signature` byte sequence, as
//!   Ed25519's 64 bytes are. `schemas/http-signatures.md` states it for partners.
//! - Requests cover `("@method" "@target-uri" "content-type" "content-digest")`, responses
//!   `("@status" "content-type" "content-digest")`.
//!
//! Pure: the caller passes the method, target URI or status, the header values and the body
//! bytes, and gets header values back. The signer is any function from the signature base to
//! a signature, so the ledger's keyring can sign without exposing its key.

use crate::signing::Sm2VerifyingKey;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest as _, Sha256};

/// The signature label tongban uses in `Signature-Input` and `Signature`.
pub const LABEL: &str = "tongban";

/// The label of the second signature, the SM2 one, when a message carries both.
pub const LABEL_SM2: &str = "tongban-sm2";

/// The RFC 9421 algorithm name for Ed25519 (§3.3.6).
pub const ALG: &str = "ed25519";

/// The algorithm name tongban gives SM2 with SM3 (GM/T 0003, 0004, 0009), which the IANA
/// registry lacks; signature `r ‖ s`, 64 bytes.
pub const ALG_SM2: &str = "sm2-sm3";

/// A signature algorithm of this profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum SigAlg {
    /// Ed25519 (RFC 8032), `alg="ed25519"`.
    #[serde(rename = "ed25519")]
    Ed25519,
    /// SM2 with SM3, `alg="sm2-sm3"`.
    #[serde(rename = "sm2-sm3")]
    Sm2,
}

impl SigAlg {
    /// The `alg` parameter's value.
    pub fn name(self) -> &'static str {
        match self {
            SigAlg::Ed25519 => ALG,
            SigAlg::Sm2 => ALG_SM2,
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            ALG => Some(SigAlg::Ed25519),
            ALG_SM2 => Some(SigAlg::Sm2),
            _ => None,
        }
    }
}

impl std::fmt::Display for SigAlg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What the gateway signs the messages to one partner with (`[platforms.<key>] signatures`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignWith {
    /// One Ed25519 signature under [`LABEL`] (the default).
    #[default]
    Ed25519,
    /// One SM2 signature under [`LABEL`].
    Sm2,
    /// Both: Ed25519 under [`LABEL`], SM2 under [`LABEL_SM2`].
    Both,
}

impl SignWith {
    /// Whether it needs the gateway's SM2 key.
    pub fn needs_sm2(self) -> bool {
        self != SignWith::Ed25519
    }
}

/// A public key a signature is verified with: a partner's (or the gateway's), of either
/// algorithm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// Ed25519.
    Ed25519(VerifyingKey),
    /// SM2 with its distinguishing ID.
    Sm2(Sm2VerifyingKey),
}

impl PublicKey {
    /// Its algorithm.
    pub fn alg(&self) -> SigAlg {
        match self {
            PublicKey::Ed25519(_) => SigAlg::Ed25519,
            PublicKey::Sm2(_) => SigAlg::Sm2,
        }
    }

    fn verify(&self, base: &[u8], sig: &[u8]) -> Result<(), HttpSigError> {
        let ok = match self {
            PublicKey::Ed25519(k) => Signature::from_slice(sig)
                .map(|s| k.verify(base, &s).is_ok())
                .map_err(|_| HttpSigError::Malformed("Signature"))?,
            PublicKey::Sm2(k) => {
                if sig.len() != crate::signing::sm2::SIGNATURE_LEN {
                    return Err(HttpSigError::Malformed("Signature"));
                }
                k.verify(base, sig)
            }
        };
        if ok {
            Ok(())
        } else {
            Err(HttpSigError::BadSignature)
        }
    }
}

impl From<VerifyingKey> for PublicKey {
    fn from(k: VerifyingKey) -> Self {
        PublicKey::Ed25519(k)
    }
}

impl From<Sm2VerifyingKey> for PublicKey {
    fn from(k: Sm2VerifyingKey) -> Self {
        PublicKey::Sm2(k)
    }
}

/// Components covered on a request: method and full target URI bind the signature to the
/// endpoint; content type and digest bind it to the exact body.
pub const REQUEST_COMPONENTS: [&str; 4] =
    ["@method", "@target-uri", "content-type", "content-digest"];

/// Components covered on a response: the status carries the outcome on Shanghai's convention.
pub const RESPONSE_COMPONENTS: [&str; 3] = ["@status", "content-type", "content-digest"];

/// Why a message's digest or signature does not verify.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum HttpSigError {
    /// A required header is absent.
    #[error("missing header {0}")]
    Missing(&'static str),
    /// A header does not follow RFC 8941 structured-field syntax as far as this profile uses it.
    #[error("malformed {0} header")]
    Malformed(&'static str),
    /// No `sha-256` digest in `Content-Digest`, or it differs from the body's.
    #[error("content digest does not match the body")]
    DigestMismatch,
    /// The signature covers other components than this profile requires.
    #[error("signature covers {0}, not the components this profile requires")]
    WrongComponents(String),
    /// The `alg` parameter names another algorithm.
    #[error("signature algorithm {0} is not ed25519 or sm2-sm3")]
    WrongAlgorithm(String),
    /// The `alg` parameter is not the algorithm of the key its `keyid` names.
    #[error("key id {keyid} is an {key} key, but the signature says alg=\"{alg}\"")]
    AlgorithmMismatch {
        /// The key id.
        keyid: String,
        /// The configured key's algorithm.
        key: SigAlg,
        /// The signature's `alg`.
        alg: SigAlg,
    },
    /// The `keyid` is not one of the keys the verifier knows.
    #[error("unknown key id {0}")]
    UnknownKey(String),
    /// The signature does not verify over the signature base.
    #[error("signature does not verify")]
    BadSignature,
    /// A covered header field is not in the message.
    #[error("covered field {0} is not in the request")]
    MissingComponent(String),
}

/// What is being signed or verified: a request or a response, with its derived components.
#[derive(Debug, Clone, Copy)]
pub enum Message<'a> {
    /// A request: method (upper case) and the full target URI.
    Request {
        /// `@method`, e.g. `POST`.
        method: &'a str,
        /// `@target-uri`, e.g. `https://sh.example/ywtb/remote-accept/1.3/apply`.
        target_uri: &'a str,
    },
    /// A response: its status code.
    Response {
        /// `@status`, e.g. 200.
        status: u16,
    },
}

impl Message<'_> {
    fn components(&self) -> &'static [&'static str] {
        match self {
            Message::Request { .. } => &REQUEST_COMPONENTS,
            Message::Response { .. } => &RESPONSE_COMPONENTS,
        }
    }
}

/// The three header values a signed message carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `Content-Digest`.
    pub content_digest: String,
    /// `Signature-Input`.
    pub signature_input: String,
    /// `Signature`.
    pub signature: String,
}

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The key id that signed.
    pub keyid: String,
    /// The `created` parameter (Unix seconds), as the signer claimed it.
    pub created: i64,
    /// The algorithm of the signature (and of the key).
    pub alg: SigAlg,
}

/// `Content-Digest` value for `body`: `sha-256=:<base64>:` (RFC 9530).
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", B64.encode(Sha256::digest(body)))
}

/// Checks a `Content-Digest` header value against the body; other algorithms listed beside
/// `sha-256` are ignored, a missing `sha-256` member is a mismatch.
pub fn check_content_digest(header: &str, body: &[u8]) -> Result<(), HttpSigError> {
    let want = Sha256::digest(body);
    for member in split_top_level(header) {
        let Some((name, value)) = member.split_once('=') else {
            return Err(HttpSigError::Malformed("Content-Digest"));
        };
        if name.trim() != "sha-256" {
            continue;
        }
        let got = byte_sequence(value.trim()).ok_or(HttpSigError::Malformed("Content-Digest"))?;
        return if got.as_slice() == want.as_slice() {
            Ok(())
        } else {
            Err(HttpSigError::DigestMismatch)
        };
    }
    Err(HttpSigError::DigestMismatch)
}

/// The RFC 9421 signature base for `(name, value)` pairs of covered components, followed by the
/// `@signature-params` line (`params` is the serialised inner list with its parameters).
pub fn signature_base(components: &[(&str, &str)], params: &str) -> String {
    let mut base = String::new();
    for (name, value) in components {
        base.push('"');
        base.push_str(name);
        base.push_str("\": ");
        base.push_str(value);
        base.push('\n');
    }
    base.push_str("\"@signature-params\": ");
    base.push_str(params);
    base
}

/// Serialises the signature parameters in tongban's order: covered components, `created`,
/// `keyid`, `alg`.
fn params_value(components: &[&str], created: i64, keyid: &str, alg: SigAlg) -> String {
    let list: Vec<String> = components.iter().map(|c| format!("\"{c}\"")).collect();
    format!(
        "({});created={created};keyid=\"{keyid}\";alg=\"{}\"",
        list.join(" "),
        alg.name()
    )
}

fn component_values<'a>(
    msg: &Message<'a>,
    content_type: &'a str,
    digest: &'a str,
    status_buf: &'a str,
) -> Vec<(&'static str, &'a str)> {
    match msg {
        Message::Request { method, target_uri } => vec![
            ("@method", *method),
            ("@target-uri", *target_uri),
            ("content-type", content_type),
            ("content-digest", digest),
        ],
        Message::Response { .. } => vec![
            ("@status", status_buf),
            ("content-type", content_type),
            ("content-digest", digest),
        ],
    }
}

/// Signs a message: computes `Content-Digest` from `body`, builds the signature base and signs
/// it with `sign`. `created` is Unix seconds.
pub fn sign(
    msg: Message<'_>,
    content_type: &str,
    body: &[u8],
    keyid: &str,
    created: i64,
    sign: impl FnOnce(&[u8]) -> [u8; 64],
) -> SignedHeaders {
    let mut sign = Some(sign);
    sign_many(
        msg,
        content_type,
        body,
        created,
        &mut [(LABEL, SigAlg::Ed25519, keyid, &mut |base: &[u8]| {
            sign.take().map_or([0; 64], |f| f(base))
        })],
    )
}

/// One signature to make: label, algorithm, key id and the function that signs a base.
pub type SignSpec<'a> = (
    &'a str,
    SigAlg,
    &'a str,
    &'a mut dyn FnMut(&[u8]) -> [u8; 64],
);

/// Signs a message with several signatures over the same components (one `Signature-Input`
/// and one `Signature` member each, in this order).
pub fn sign_many(
    msg: Message<'_>,
    content_type: &str,
    body: &[u8],
    created: i64,
    specs: &mut [SignSpec<'_>],
) -> SignedHeaders {
    let digest = content_digest(body);
    let status = match msg {
        Message::Response { status } => status.to_string(),
        Message::Request { .. } => String::new(),
    };
    let comps = component_values(&msg, content_type.trim(), &digest, &status);
    let mut inputs = Vec::with_capacity(specs.len());
    let mut sigs = Vec::with_capacity(specs.len());
    for (label, alg, keyid, sign) in specs.iter_mut() {
        let params = params_value(msg.components(), created, keyid, *alg);
        let base = signature_base(&comps, &params);
        let sig = sign(base.as_bytes());
        inputs.push(format!("{label}={params}"));
        sigs.push(format!("{label}=:{}:", B64.encode(sig)));
    }
    SignedHeaders {
        content_digest: digest,
        signature_input: inputs.join(", "),
        signature: sigs.join(", "),
    }
}

/// Signs a message with `signer`'s keys as `with` says: Ed25519, SM2, or both. A signer
/// without an SM2 key signs with Ed25519 alone (the gateway refuses to start when a partner
/// is configured for SM2 and the keyring has no SM2 key, so this does not happen there).
pub fn sign_message(
    msg: Message<'_>,
    content_type: &str,
    body: &[u8],
    signer: &dyn MessageSigner,
    with: SignWith,
    created: i64,
) -> SignedHeaders {
    let mut ed = |base: &[u8]| signer.sign(base);
    let sm2_keyid = signer.sm2_keyid().map(str::to_owned);
    let mut sm = |base: &[u8]| signer.sign_sm2(base).unwrap_or([0; 64]);
    match (with, sm2_keyid.as_deref()) {
        (SignWith::Ed25519, _) | (_, None) => sign_many(
            msg,
            content_type,
            body,
            created,
            &mut [(LABEL, SigAlg::Ed25519, signer.keyid(), &mut ed)],
        ),
        (SignWith::Sm2, Some(id)) => sign_many(
            msg,
            content_type,
            body,
            created,
            &mut [(LABEL, SigAlg::Sm2, id, &mut sm)],
        ),
        (SignWith::Both, Some(id)) => sign_many(
            msg,
            content_type,
            body,
            created,
            &mut [
                (LABEL, SigAlg::Ed25519, signer.keyid(), &mut ed),
                (LABEL_SM2, SigAlg::Sm2, id, &mut sm),
            ],
        ),
    }
}

/// Signs with an Ed25519 key held in memory.
pub fn sign_with_key(
    msg: Message<'_>,
    content_type: &str,
    body: &[u8],
    key: &SigningKey,
    keyid: &str,
    created: i64,
) -> SignedHeaders {
    sign(msg, content_type, body, keyid, created, |base| {
        key.sign(base).to_bytes()
    })
}

/// Something that signs signature bases with an Ed25519 key (and possibly an SM2 key) it
/// does not reveal.
pub trait MessageSigner: Send + Sync {
    /// The key id written into `keyid` (8 hex digits).
    fn keyid(&self) -> &str;
    /// Signs a signature base.
    fn sign(&self, base: &[u8]) -> [u8; 64];
    /// The public key that verifies its signatures.
    fn public_key(&self) -> VerifyingKey;
    /// The SM2 key's id, when it has an SM2 key.
    fn sm2_keyid(&self) -> Option<&str> {
        None
    }
    /// Signs a signature base with its SM2 key (`r ‖ s`), when it has one.
    fn sign_sm2(&self, _base: &[u8]) -> Option<[u8; 64]> {
        None
    }
    /// The SM2 public key, when it has one.
    fn sm2_public_key(&self) -> Option<Sm2VerifyingKey> {
        None
    }
}

/// An Ed25519 key held in memory with its key id, and optionally an SM2 key with its id.
pub struct KeySigner {
    key: SigningKey,
    keyid: String,
    sm2: Option<(crate::signing::Sm2SigningKey, String)>,
}

impl KeySigner {
    /// Wraps a key and its id.
    pub fn new(key: SigningKey, keyid: impl Into<String>) -> Self {
        Self {
            key,
            keyid: keyid.into(),
            sm2: None,
        }
    }

    /// The same signer, also holding an SM2 key with its key id.
    pub fn with_sm2(
        mut self,
        key: crate::signing::Sm2SigningKey,
        keyid: impl Into<String>,
    ) -> Self {
        self.sm2 = Some((key, keyid.into()));
        self
    }

    /// The public half.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }
}

impl std::fmt::Debug for KeySigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeySigner({}, key redacted)", self.keyid)
    }
}

impl MessageSigner for KeySigner {
    fn keyid(&self) -> &str {
        &self.keyid
    }
    fn sign(&self, base: &[u8]) -> [u8; 64] {
        self.key.sign(base).to_bytes()
    }
    fn public_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }
    fn sm2_keyid(&self) -> Option<&str> {
        self.sm2.as_ref().map(|(_, id)| id.as_str())
    }
    fn sign_sm2(&self, base: &[u8]) -> Option<[u8; 64]> {
        self.sm2.as_ref().map(|(k, _)| k.sign(base))
    }
    fn sm2_public_key(&self) -> Option<Sm2VerifyingKey> {
        self.sm2.as_ref().map(|(k, _)| Sm2VerifyingKey::from(k))
    }
}

/// The header values a verifier reads from a received message.
#[derive(Debug, Clone, Copy)]
pub struct ReceivedHeaders<'a> {
    /// `Content-Type`.
    pub content_type: Option<&'a str>,
    /// `Content-Digest`.
    pub content_digest: Option<&'a str>,
    /// `Signature-Input`.
    pub signature_input: Option<&'a str>,
    /// `Signature`.
    pub signature: Option<&'a str>,
}

/// Verifies the `tongban` signature on a message and its `Content-Digest` against `body`.
/// `key_for` maps a key id to the public key (None: unknown key).
pub fn verify<K: Into<PublicKey>>(
    msg: Message<'_>,
    headers: ReceivedHeaders<'_>,
    body: &[u8],
    key_for: impl Fn(&str) -> Option<K>,
) -> Result<Verified, HttpSigError> {
    verify_label(msg, headers, body, None, key_for)
}

/// Verifies every signature of tongban's profile a message carries: the one labelled
/// [`LABEL`] (or the only one), and the one labelled [`LABEL_SM2`] when present.
pub fn verify_all<K: Into<PublicKey>>(
    msg: Message<'_>,
    headers: ReceivedHeaders<'_>,
    body: &[u8],
    key_for: impl Fn(&str) -> Option<K>,
) -> Result<Vec<Verified>, HttpSigError> {
    let mut all = vec![verify_label(msg, headers, body, None, &key_for)?];
    let has_sm2 = headers
        .signature_input
        .is_some_and(|i| dictionary_member(i, LABEL_SM2).is_some());
    if has_sm2 {
        all.push(verify_label(msg, headers, body, Some(LABEL_SM2), &key_for)?);
    }
    Ok(all)
}

/// [`verify`] for the signature labelled `label` (`None`: [`LABEL`], or the only one).
fn verify_label<K: Into<PublicKey>>(
    msg: Message<'_>,
    headers: ReceivedHeaders<'_>,
    body: &[u8],
    label: Option<&str>,
    key_for: impl Fn(&str) -> Option<K>,
) -> Result<Verified, HttpSigError> {
    let content_type = headers
        .content_type
        .ok_or(HttpSigError::Missing("Content-Type"))?;
    let digest = headers
        .content_digest
        .ok_or(HttpSigError::Missing("Content-Digest"))?;
    let input = headers
        .signature_input
        .ok_or(HttpSigError::Missing("Signature-Input"))?;
    let signature = headers
        .signature
        .ok_or(HttpSigError::Missing("Signature"))?;
    check_content_digest(digest, body)?;

    let got = Signed::parse(input, signature, label)?;
    if got.components != msg.components() {
        return Err(HttpSigError::WrongComponents(got.components.join(" ")));
    }
    let (key, sig) = got.key_and_signature(&key_for)?;

    let status = match msg {
        Message::Response { status } => status.to_string(),
        Message::Request { .. } => String::new(),
    };
    let comps = component_values(&msg, content_type.trim(), digest.trim(), &status);
    let base = signature_base(&comps, got.params);
    key.verify(base.as_bytes(), &sig)?;
    Ok(got.verified())
}

/// A signature as received: the one labelled [`LABEL`], or the only one.
struct Signed<'a> {
    /// The serialised inner list and parameters, as the signature base repeats them.
    params: &'a str,
    components: Vec<String>,
    keyid: String,
    created: i64,
    alg: SigAlg,
    /// The `Signature` member of the same label.
    value: &'a str,
}

impl<'a> Signed<'a> {
    /// Parses `Signature-Input` and finds the `Signature` of the same label; checks the
    /// algorithm and that `keyid` and `created` are there.
    fn parse(
        input: &'a str,
        signature: &'a str,
        label: Option<&str>,
    ) -> Result<Self, HttpSigError> {
        let malformed = HttpSigError::Malformed("Signature-Input");
        let label = match label {
            Some(l) => l,
            None => signature_label(input).ok_or(malformed.clone())?,
        };
        let params = dictionary_member(input, label).ok_or(malformed.clone())?;
        let parsed = parse_params(params).ok_or(malformed.clone())?;
        let alg = match parsed.alg.as_deref() {
            Some(name) => SigAlg::from_name(name)
                .ok_or_else(|| HttpSigError::WrongAlgorithm(name.to_owned()))?,
            None => return Err(malformed),
        };
        let value =
            dictionary_member(signature, label).ok_or(HttpSigError::Malformed("Signature"))?;
        Ok(Self {
            params: params.trim(),
            components: parsed.components,
            keyid: parsed.keyid.ok_or(malformed.clone())?,
            created: parsed.created.ok_or(malformed)?,
            alg,
            value,
        })
    }

    /// The key its `keyid` names (of the algorithm its `alg` says), and the signature bytes.
    fn key_and_signature<K: Into<PublicKey>>(
        &self,
        key_for: impl Fn(&str) -> Option<K>,
    ) -> Result<(PublicKey, Vec<u8>), HttpSigError> {
        let key: PublicKey = key_for(&self.keyid)
            .ok_or_else(|| HttpSigError::UnknownKey(self.keyid.clone()))?
            .into();
        if key.alg() != self.alg {
            return Err(HttpSigError::AlgorithmMismatch {
                keyid: self.keyid.clone(),
                key: key.alg(),
                alg: self.alg,
            });
        }
        let bytes = byte_sequence(self.value).ok_or(HttpSigError::Malformed("Signature"))?;
        Ok((key, bytes))
    }

    fn verified(self) -> Verified {
        Verified {
            keyid: self.keyid,
            created: self.created,
            alg: self.alg,
        }
    }
}

/// A request signature that verified, with the signature base it covers (which names every
/// covered component's value, so it can be checked again with the key alone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedRequest {
    /// Key id and `created`.
    pub verified: Verified,
    /// The RFC 9421 signature base that was verified.
    pub base: String,
}

/// Verifies a signature on a POST to `target_uri` (an `https` URL) whatever request
/// components it covers, as RFC 9421 libraries let a signer choose, provided it covers
/// `content-digest` (which binds the exact body, checked against `body`). Derived components
/// `@method`, `@target-uri`, `@authority`, `@scheme`, `@request-target`, `@path` and `@query`
/// and any header field without parameters are understood; the signature is the one labelled
/// [`LABEL`], or the only one.
pub fn verify_request<K: Into<PublicKey>>(
    target_uri: &str,
    headers: &http::HeaderMap,
    body: &[u8],
    key_for: impl Fn(&str) -> Option<K>,
) -> Result<VerifiedRequest, HttpSigError> {
    let header = |name: &'static str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .ok_or(HttpSigError::Missing(name))
    };
    let input = header("signature-input").map_err(|_| HttpSigError::Missing("Signature-Input"))?;
    let signature = header("signature").map_err(|_| HttpSigError::Missing("Signature"))?;
    let got = Signed::parse(input, signature, None)?;
    let covered = got.components.join(" ");
    let unique: std::collections::HashSet<&String> = got.components.iter().collect();
    if !got.components.iter().any(|c| c == "content-digest") || unique.len() != got.components.len()
    {
        return Err(HttpSigError::WrongComponents(covered));
    }
    let digest = header("content-digest").map_err(|_| HttpSigError::Missing("Content-Digest"))?;
    check_content_digest(digest, body)?;
    let (key, sig) = got.key_and_signature(&key_for)?;

    let uri: http::Uri = target_uri
        .parse()
        .map_err(|_| HttpSigError::Malformed("Host"))?;
    let path = uri.path();
    let query = uri.query().map_or("?".to_owned(), |q| format!("?{q}"));
    let request_target = uri.path_and_query().map_or(path, |pq| pq.as_str());
    let authority = uri.authority().map(|a| a.as_str().to_ascii_lowercase());
    let mut values: Vec<(&str, String)> = Vec::with_capacity(got.components.len());
    for c in &got.components {
        let value = match c.as_str() {
            "@method" => "POST".to_owned(),
            "@target-uri" => target_uri.to_owned(),
            "@authority" => authority.clone().ok_or(HttpSigError::Malformed("Host"))?,
            "@scheme" => "https".to_owned(),
            "@request-target" => request_target.to_owned(),
            "@path" => path.to_owned(),
            "@query" => query.clone(),
            derived if derived.starts_with('@') => {
                return Err(HttpSigError::WrongComponents(covered))
            }
            name => {
                let all: Vec<&str> = headers
                    .get_all(name)
                    .iter()
                    .map(|v| v.to_str().map(str::trim))
                    .collect::<Result<_, _>>()
                    .map_err(|_| HttpSigError::MissingComponent(name.to_owned()))?;
                if all.is_empty() {
                    return Err(HttpSigError::MissingComponent(name.to_owned()));
                }
                all.join(", ")
            }
        };
        values.push((c, value));
    }
    let pairs: Vec<(&str, &str)> = values.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let base = signature_base(&pairs, got.params);
    key.verify(base.as_bytes(), &sig)?;
    Ok(VerifiedRequest {
        verified: got.verified(),
        base,
    })
}

struct Params {
    components: Vec<String>,
    created: Option<i64>,
    keyid: Option<String>,
    alg: Option<String>,
}

/// Parses `("a" "b");created=1;keyid="x";alg="ed25519"` (the subset of RFC 8941 inner lists
/// with string items and integer or string parameters that signatures use).
fn parse_params(text: &str) -> Option<Params> {
    let text = text.trim();
    let rest = text.strip_prefix('(')?;
    let close = rest.find(')')?;
    let components = rest[..close]
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(|s| s.strip_prefix('"')?.strip_suffix('"').map(str::to_owned))
        .collect::<Option<Vec<_>>>()?;
    let mut p = Params {
        components,
        created: None,
        keyid: None,
        alg: None,
    };
    for param in rest[close + 1..].split(';').filter(|s| !s.is_empty()) {
        let (k, v) = param.split_once('=')?;
        let unquote = |v: &str| -> Option<String> {
            v.strip_prefix('"')?.strip_suffix('"').map(str::to_owned)
        };
        match k.trim() {
            "created" => p.created = Some(v.parse().ok()?),
            "keyid" => p.keyid = Some(unquote(v)?),
            "alg" => p.alg = Some(unquote(v)?),
            _ => {}
        }
    }
    Some(p)
}

/// Splits a structured-field dictionary or list at top-level commas (outside strings and
/// inner lists).
fn split_top_level(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut in_str, mut start) = (0i32, false, 0usize);
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_str => i += 1,
            b'"' => in_str = !in_str,
            b'(' if !in_str => depth += 1,
            b')' if !in_str => depth -= 1,
            b',' if !in_str && depth == 0 => {
                out.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    out.push(s[start..].trim());
    out
}

/// The value of dictionary member `name`.
/// The label of the signature to verify: [`LABEL`] when present, else the only signature's
/// (a partner's RFC 9421 library may name its signature otherwise, e.g. `sig1`).
fn signature_label(input: &str) -> Option<&str> {
    let labels: Vec<&str> = split_top_level(input)
        .into_iter()
        .filter_map(|m| Some(m.split_once('=')?.0.trim()))
        .collect();
    match labels.as_slice() {
        _ if labels.contains(&LABEL) => Some(LABEL),
        [only] => Some(only),
        _ => None,
    }
}

fn dictionary_member<'a>(dict: &'a str, name: &str) -> Option<&'a str> {
    split_top_level(dict).into_iter().find_map(|m| {
        let (k, v) = m.split_once('=')?;
        (k.trim() == name).then_some(v.trim())
    })
}

/// Decodes an RFC 8941 byte sequence `:<base64>:`.
fn byte_sequence(v: &str) -> Option<Vec<u8>> {
    let inner = v.strip_prefix(':')?.strip_suffix(':')?;
    B64.decode(inner).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    /// RFC 9421 Appendix B.1.4 `test-key-ed25519` (JWK `d` and `x`).
    const B14_SEED: &str = "n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU";
    const B14_PUBLIC: &str = "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs";

    fn rfc_key() -> SigningKey {
        let seed: [u8; 32] = URL_SAFE_NO_PAD
            .decode(B14_SEED)
            .unwrap()
            .try_into()
            .unwrap();
        SigningKey::from_bytes(&seed)
    }

    #[test]
    fn rfc9421_b26_ed25519_known_answer() {
        let key = rfc_key();
        assert_eq!(
            URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes()),
            B14_PUBLIC
        );
        let params = "(\"date\" \"@method\" \"@path\" \"@authority\" \"content-type\" \
                      \"content-length\");created=1618884473;keyid=\"test-key-ed25519\"";
        let base = signature_base(
            &[
                ("date", "Tue, 20 Apr 2021 02:07:55 GMT"),
                ("@method", "POST"),
                ("@path", "/foo"),
                ("@authority", "example.com"),
                ("content-type", "application/json"),
                ("content-length", "18"),
            ],
            params,
        );
        let sig = key.sign(base.as_bytes());
        assert_eq!(
            B64.encode(sig.to_bytes()),
            "wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw=="
        );
    }

    #[test]
    fn rfc9530_digest_of_the_rfc_example_body() {
        // RFC 9530 §2 example: body `{"hello": "world"}`.
        assert_eq!(
            content_digest(b"{\"hello\": \"world\"}"),
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
        );
        let header = "sha-512=:AAAA:, sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:";
        assert_eq!(
            check_content_digest(header, b"{\"hello\": \"world\"}"),
            Ok(())
        );
        assert_eq!(
            check_content_digest(header, b"{\"hello\": \"World\"}"),
            Err(HttpSigError::DigestMismatch)
        );
    }

    fn received<'a>(h: &'a SignedHeaders, ct: &'a str) -> ReceivedHeaders<'a> {
        ReceivedHeaders {
            content_type: Some(ct),
            content_digest: Some(&h.content_digest),
            signature_input: Some(&h.signature_input),
            signature: Some(&h.signature),
        }
    }

    #[test]
    fn request_round_trip_and_exact_header_shape() {
        let key = rfc_key();
        let msg = Message::Request {
            method: "POST",
            target_uri: "https://sh.example/ywtb/remote-accept/1.3/apply",
        };
        let body = b"<RemoteApply/>";
        let h = sign_with_key(
            msg,
            "application/xml",
            body,
            &key,
            "0a1b2c3d",
            1_790_000_000,
        );
        assert_eq!(
            h.signature_input,
            "tongban=(\"@method\" \"@target-uri\" \"content-type\" \"content-digest\");\
             created=1790000000;keyid=\"0a1b2c3d\";alg=\"ed25519\""
        );
        let vk = key.verifying_key();
        let got = verify(msg, received(&h, "application/xml"), body, |id| {
            (id == "0a1b2c3d").then_some(vk)
        });
        assert_eq!(
            got,
            Ok(Verified {
                keyid: "0a1b2c3d".into(),
                created: 1_790_000_000,
                alg: SigAlg::Ed25519,
            })
        );
    }

    #[test]
    fn tampering_is_detected() {
        let key = rfc_key();
        let vk = key.verifying_key();
        let msg = Message::Response { status: 200 };
        let body = br#"{"code":"0"}"#;
        let h = sign_with_key(msg, "application/json", body, &key, "0a1b2c3d", 1);
        let keys = |id: &str| (id == "0a1b2c3d").then_some(vk);
        assert_eq!(
            verify(
                msg,
                received(&h, "application/json"),
                b"{\"code\":\"1\"}",
                keys
            ),
            Err(HttpSigError::DigestMismatch)
        );
        assert_eq!(
            verify(
                Message::Response { status: 409 },
                received(&h, "application/json"),
                body,
                keys
            ),
            Err(HttpSigError::BadSignature)
        );
        assert_eq!(
            verify(msg, received(&h, "application/xml"), body, keys),
            Err(HttpSigError::BadSignature)
        );
        assert_eq!(
            verify(msg, received(&h, "application/json"), body, |_| None::<
                PublicKey,
            >),
            Err(HttpSigError::UnknownKey("0a1b2c3d".into()))
        );
        let req = Message::Request {
            method: "POST",
            target_uri: "https://x/",
        };
        assert!(matches!(
            verify(req, received(&h, "application/json"), body, keys),
            Err(HttpSigError::WrongComponents(_))
        ));
        let mut no_sig = received(&h, "application/json");
        no_sig.signature = None;
        assert_eq!(
            verify(msg, no_sig, body, keys),
            Err(HttpSigError::Missing("Signature"))
        );
    }

    #[test]
    fn a_single_signature_under_another_label_is_verified() {
        let key = rfc_key();
        let vk = key.verifying_key();
        let msg = Message::Request {
            method: "POST",
            target_uri: "https://gw.example/apply",
        };
        let h = sign_with_key(msg, "application/xml", b"x", &key, "zj-2026", 5);
        let relabel = |v: &str| v.replacen(&format!("{LABEL}="), "sig1=", 1);
        let (input, signature) = (relabel(&h.signature_input), relabel(&h.signature));
        let headers = ReceivedHeaders {
            content_type: Some("application/xml"),
            content_digest: Some(&h.content_digest),
            signature_input: Some(&input),
            signature: Some(&signature),
        };
        assert!(verify(msg, headers, b"x", |_| Some(vk)).is_ok());
        // Two signatures, neither ours: which one to verify is not for the gateway to guess.
        let input = format!("a=(\"@status\");created=1, {input}");
        let headers = ReceivedHeaders {
            signature_input: Some(&input),
            ..headers
        };
        assert_eq!(
            verify(msg, headers, b"x", |_| Some(vk)),
            Err(HttpSigError::Malformed("Signature-Input"))
        );
    }

    /// Signs like a partner's own RFC 9421 library: its label, its choice of components.
    fn partner_request(
        key: &SigningKey,
        components: &[&str],
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> http::HeaderMap {
        let target = "https://gw.example:8443/zjtb/apply?v=1";
        let mut map = http::HeaderMap::new();
        for (n, v) in headers {
            map.append(
                http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        map.insert("content-digest", content_digest(body).parse().unwrap());
        let list: Vec<String> = components.iter().map(|c| format!("\"{c}\"")).collect();
        let params = format!(
            "({});created=1790000000;keyid=\"zj-2026\";alg=\"ed25519\"",
            list.join(" ")
        );
        let value = |c: &str| -> String {
            match c {
                "@method" => "POST".into(),
                "@authority" => "gw.example:8443".into(),
                "@path" => "/zjtb/apply".into(),
                "@query" => "?v=1".into(),
                "@target-uri" => target.into(),
                "@scheme" => "https".into(),
                name => map
                    .get_all(name)
                    .iter()
                    .map(|v| v.to_str().unwrap().trim())
                    .collect::<Vec<_>>()
                    .join(", "),
            }
        };
        let lines: Vec<(&str, String)> = components.iter().map(|c| (*c, value(c))).collect();
        let pairs: Vec<(&str, &str)> = lines.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let base = signature_base(&pairs, &params);
        let sig = key.sign(base.as_bytes()).to_bytes();
        map.insert("signature-input", format!("sig1={params}").parse().unwrap());
        map.insert(
            "signature",
            format!("sig1=:{}:", B64.encode(sig)).parse().unwrap(),
        );
        map
    }

    #[test]
    fn a_partners_own_choice_of_components_is_verified_when_it_binds_the_body() {
        let key = rfc_key();
        let vk = key.verifying_key();
        let target = "https://gw.example:8443/zjtb/apply?v=1";
        let body = br#"{"sqbh":"ZJ-1"}"#;
        let headers = [
            ("content-type", "application/json"),
            ("date", "Mon, 23 Nov 2026 08:00:00 GMT"),
            ("x-trace", "a"),
            ("x-trace", "b"),
        ];
        let comps = [
            "@method",
            "@authority",
            "@path",
            "@query",
            "content-digest",
            "content-type",
            "date",
            "x-trace",
        ];
        let map = partner_request(&key, &comps, &headers, body);
        let got = verify_request(target, &map, body, |_| Some(vk)).unwrap();
        assert_eq!(got.verified.keyid, "zj-2026");
        assert!(got.base.contains("\"x-trace\": a, b\n"), "{}", got.base);
        assert!(got.base.ends_with(
            "\"@signature-params\": (\"@method\" \"@authority\" \"@path\" \"@query\" \
             \"content-digest\" \"content-type\" \"date\" \"x-trace\");created=1790000000;\
             keyid=\"zj-2026\";alg=\"ed25519\""
        ));
        // Another body, another request target: refused.
        assert_eq!(
            verify_request(target, &map, b"{}", |_| Some(vk)).map(|_| ()),
            Err(HttpSigError::DigestMismatch)
        );
        let elsewhere = "https://gw.example:8443/shtb/apply?v=1";
        assert_eq!(
            verify_request(elsewhere, &map, body, |_| Some(vk)).map(|_| ()),
            Err(HttpSigError::BadSignature)
        );
        // Our own profile is one such choice.
        let ours = sign_with_key(
            Message::Request {
                method: "POST",
                target_uri: target,
            },
            "application/json",
            body,
            &key,
            "zj-2026",
            1,
        );
        let mut map = http::HeaderMap::new();
        map.insert("content-type", "application/json".parse().unwrap());
        map.insert("content-digest", ours.content_digest.parse().unwrap());
        map.insert("signature-input", ours.signature_input.parse().unwrap());
        map.insert("signature", ours.signature.parse().unwrap());
        assert!(verify_request(target, &map, body, |_| Some(vk)).is_ok());
    }

    #[test]
    fn a_request_signature_must_bind_the_body_and_cover_what_is_there() {
        let key = rfc_key();
        let vk = key.verifying_key();
        let target = "https://gw.example:8443/zjtb/apply?v=1";
        let body = b"{}";
        let check = |comps: &[&str]| {
            let map = partner_request(&key, comps, &[("date", "today")], body);
            verify_request(target, &map, body, |_| Some(vk)).map(|_| ())
        };
        assert_eq!(
            check(&["@method", "@path", "date"]),
            Err(HttpSigError::WrongComponents("@method @path date".into()))
        );
        assert_eq!(
            check(&["content-digest", "content-digest"]),
            Err(HttpSigError::WrongComponents(
                "content-digest content-digest".into()
            ))
        );
        assert_eq!(
            check(&["content-digest", "@status"]),
            Err(HttpSigError::WrongComponents(
                "content-digest @status".into()
            ))
        );
        assert_eq!(
            check(&["content-digest", "x-missing"]),
            Err(HttpSigError::MissingComponent("x-missing".into()))
        );
        assert_eq!(check(&["content-digest", "date", "@scheme"]), Ok(()));
    }

    #[test]
    fn other_labels_beside_ours_are_tolerated() {
        let key = rfc_key();
        let vk = key.verifying_key();
        let msg = Message::Response { status: 409 };
        let h = sign_with_key(msg, "application/xml", b"x", &key, "0a1b2c3d", 5);
        let input = format!("other=(\"@status\");created=1, {}", h.signature_input);
        let signature = format!("other=:AAAA:, {}", h.signature);
        let headers = ReceivedHeaders {
            content_type: Some("application/xml"),
            content_digest: Some(&h.content_digest),
            signature_input: Some(&input),
            signature: Some(&signature),
        };
        assert!(verify(msg, headers, b"x", |_| Some(vk)).is_ok());
    }

    fn sm2_signer() -> KeySigner {
        let sm2 = crate::signing::Sm2SigningKey::from_scalar(
            "t.example/ledger",
            crate::signing::sm2::DEFAULT_DISTINGUISHING_ID,
            &[3; 32],
        )
        .unwrap();
        KeySigner::new(rfc_key(), "0a1b2c3d").with_sm2(sm2, "5e6f7a8b")
    }

    #[test]
    fn sm2_sm3_signatures_alone_or_beside_ed25519_verify_and_name_their_algorithm() {
        let signer = sm2_signer();
        let msg = Message::Request {
            method: "POST",
            target_uri: "https://sh.example/ywtb/remote-accept/1.3/apply",
        };
        let body = b"<RemoteApply/>";
        let keys = |id: &str| match id {
            "0a1b2c3d" => Some(PublicKey::Ed25519(signer.public_key())),
            "5e6f7a8b" => signer.sm2_public_key().map(PublicKey::Sm2),
            _ => None,
        };
        let ct = "application/xml";

        let h = sign_message(msg, ct, body, &signer, SignWith::Sm2, 1_790_000_000);
        assert!(
            h.signature_input.starts_with("tongban=("),
            "{}",
            h.signature_input
        );
        assert!(h
            .signature_input
            .ends_with(";created=1790000000;keyid=\"5e6f7a8b\";alg=\"sm2-sm3\""));
        let raw = byte_sequence(h.signature.strip_prefix("tongban=").unwrap()).unwrap();
        assert_eq!(raw.len(), 64, "r ‖ s");
        let v = verify(msg, received(&h, ct), body, keys).unwrap();
        assert_eq!((v.keyid.as_str(), v.alg), ("5e6f7a8b", SigAlg::Sm2));

        let h = sign_message(msg, ct, body, &signer, SignWith::Both, 1_790_000_000);
        assert_eq!(split_top_level(&h.signature_input).len(), 2);
        assert!(h.signature_input.contains("tongban-sm2=("));
        let all = verify_all(msg, received(&h, ct), body, keys).unwrap();
        let algs: Vec<SigAlg> = all.iter().map(|v| v.alg).collect();
        assert_eq!(algs, [SigAlg::Ed25519, SigAlg::Sm2]);
        // An Ed25519-only verifier takes the `tongban` signature and ignores the other.
        let ed_only = |id: &str| (id == "0a1b2c3d").then(|| signer.public_key());
        assert_eq!(
            verify(msg, received(&h, ct), body, ed_only).unwrap().alg,
            SigAlg::Ed25519
        );
        // The SM2 signature changed: refused.
        let mut bad = h.clone();
        let (head, sm2) = bad.signature.split_once(", ").unwrap();
        let mut raw = byte_sequence(sm2.strip_prefix("tongban-sm2=").unwrap()).unwrap();
        raw[3] ^= 1;
        bad.signature = format!("{head}, tongban-sm2=:{}:", B64.encode(raw));
        assert_eq!(
            verify_all(msg, received(&bad, ct), body, keys),
            Err(HttpSigError::BadSignature)
        );

        // A signature claiming sm2-sm3 under an Ed25519 key id is refused for what it is.
        let mut lying = sign_message(msg, ct, body, &signer, SignWith::Sm2, 1_790_000_000);
        lying.signature_input = lying.signature_input.replace("5e6f7a8b", "0a1b2c3d");
        assert_eq!(
            verify(msg, received(&lying, ct), body, keys),
            Err(HttpSigError::AlgorithmMismatch {
                keyid: "0a1b2c3d".into(),
                key: SigAlg::Ed25519,
                alg: SigAlg::Sm2
            })
        );
        // Ed25519 is what a signer without an SM2 key sends, whatever is asked.
        let plain = KeySigner::new(rfc_key(), "0a1b2c3d");
        let h = sign_message(msg, ct, body, &plain, SignWith::Both, 1_790_000_000);
        assert!(h.signature_input.ends_with("alg=\"ed25519\""));
        assert_eq!(split_top_level(&h.signature_input).len(), 1);
    }
}
