//! RFC 9421 HTTP Message Signatures over an RFC 9530 `Content-Digest`, in tongban's profile.
//!
//! - `Content-Digest: sha-256=:<base64 SHA-256 of the body>:` (RFC 9530 §2).
//! - One signature labelled [`LABEL`] (a verifier also takes a lone signature under another
//!   label), `alg="ed25519"`, `keyid` (the signing key's 8-hex-digit
//!   C2SP key id) and `created`.
//! - Requests cover `("@method" "@target-uri" "content-type" "content-digest")`, responses
//!   `("@status" "content-type" "content-digest")`.
//!
//! Pure: the caller passes the method, target URI or status, the header values and the body
//! bytes, and gets header values back. The signer is any function from the signature base to
//! an Ed25519 signature, so the ledger's keyring can sign without exposing its key.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest as _, Sha256};

/// The signature label tongban uses in `Signature-Input` and `Signature`.
pub const LABEL: &str = "tongban";

/// The RFC 9421 algorithm name for Ed25519 (§3.3.6).
pub const ALG: &str = "ed25519";

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
    #[error("signature algorithm {0} is not ed25519")]
    WrongAlgorithm(String),
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
fn params_value(components: &[&str], created: i64, keyid: &str) -> String {
    let list: Vec<String> = components.iter().map(|c| format!("\"{c}\"")).collect();
    format!(
        "({});created={created};keyid=\"{keyid}\";alg=\"{ALG}\"",
        list.join(" ")
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
    let digest = content_digest(body);
    let status = match msg {
        Message::Response { status } => status.to_string(),
        Message::Request { .. } => String::new(),
    };
    let params = params_value(msg.components(), created, keyid);
    let comps = component_values(&msg, content_type.trim(), &digest, &status);
    let base = signature_base(&comps, &params);
    let sig = sign(base.as_bytes());
    SignedHeaders {
        content_digest: digest,
        signature_input: format!("{LABEL}={params}"),
        signature: format!("{LABEL}=:{}:", B64.encode(sig)),
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

/// Something that signs signature bases with an Ed25519 key it does not reveal.
pub trait MessageSigner: Send + Sync {
    /// The key id written into `keyid` (8 hex digits).
    fn keyid(&self) -> &str;
    /// Signs a signature base.
    fn sign(&self, base: &[u8]) -> [u8; 64];
    /// The public key that verifies its signatures.
    fn public_key(&self) -> VerifyingKey;
}

/// An Ed25519 key held in memory with its key id.
pub struct KeySigner {
    key: SigningKey,
    keyid: String,
}

impl KeySigner {
    /// Wraps a key and its id.
    pub fn new(key: SigningKey, keyid: impl Into<String>) -> Self {
        Self {
            key,
            keyid: keyid.into(),
        }
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
pub fn verify(
    msg: Message<'_>,
    headers: ReceivedHeaders<'_>,
    body: &[u8],
    key_for: impl Fn(&str) -> Option<VerifyingKey>,
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

    let got = Signed::parse(input, signature)?;
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
    key.verify(base.as_bytes(), &sig)
        .map_err(|_| HttpSigError::BadSignature)?;
    Ok(got.verified())
}

/// A signature as received: the one labelled [`LABEL`], or the only one.
struct Signed<'a> {
    /// The serialised inner list and parameters, as the signature base repeats them.
    params: &'a str,
    components: Vec<String>,
    keyid: String,
    created: i64,
    /// The `Signature` member of the same label.
    value: &'a str,
}

impl<'a> Signed<'a> {
    /// Parses `Signature-Input` and finds the `Signature` of the same label; checks the
    /// algorithm and that `keyid` and `created` are there.
    fn parse(input: &'a str, signature: &'a str) -> Result<Self, HttpSigError> {
        let malformed = HttpSigError::Malformed("Signature-Input");
        let label = signature_label(input).ok_or(malformed.clone())?;
        let params = dictionary_member(input, label).ok_or(malformed.clone())?;
        let parsed = parse_params(params).ok_or(malformed.clone())?;
        match parsed.alg.as_deref() {
            Some(ALG) => {}
            Some(other) => return Err(HttpSigError::WrongAlgorithm(other.to_owned())),
            None => return Err(malformed),
        }
        let value =
            dictionary_member(signature, label).ok_or(HttpSigError::Malformed("Signature"))?;
        Ok(Self {
            params: params.trim(),
            components: parsed.components,
            keyid: parsed.keyid.ok_or(malformed.clone())?,
            created: parsed.created.ok_or(malformed)?,
            value,
        })
    }

    /// The key its `keyid` names, and the signature bytes.
    fn key_and_signature(
        &self,
        key_for: impl Fn(&str) -> Option<VerifyingKey>,
    ) -> Result<(VerifyingKey, Signature), HttpSigError> {
        let key =
            key_for(&self.keyid).ok_or_else(|| HttpSigError::UnknownKey(self.keyid.clone()))?;
        let bytes = byte_sequence(self.value).ok_or(HttpSigError::Malformed("Signature"))?;
        let sig =
            Signature::from_slice(&bytes).map_err(|_| HttpSigError::Malformed("Signature"))?;
        Ok((key, sig))
    }

    fn verified(self) -> Verified {
        Verified {
            keyid: self.keyid,
            created: self.created,
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
pub fn verify_request(
    target_uri: &str,
    headers: &http::HeaderMap,
    body: &[u8],
    key_for: impl Fn(&str) -> Option<VerifyingKey>,
) -> Result<VerifiedRequest, HttpSigError> {
    let header = |name: &'static str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .ok_or(HttpSigError::Missing(name))
    };
    let input = header("signature-input").map_err(|_| HttpSigError::Missing("Signature-Input"))?;
    let signature = header("signature").map_err(|_| HttpSigError::Missing("Signature"))?;
    let got = Signed::parse(input, signature)?;
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
    key.verify(base.as_bytes(), &sig)
        .map_err(|_| HttpSigError::BadSignature)?;
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
                created: 1_790_000_000
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
            verify(msg, received(&h, "application/json"), body, |_| None),
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
}
