//! C2SP signed-note v1.0.0: a text ending in a newline, a blank line, then signature lines
//! `— <key name> base64(key id ‖ signature)`.
//!
//! Verification follows the spec: signatures from unknown keys (name and id not both
//! matching a known key) are ignored; a known key's signature that fails rejects the whole
//! note; a note with no verified signature is rejected.
//!
//! A reader may trust Ed25519 keys (type `0x01`) and SM2 keys (type `0xff ‖
//! "tongban/sm2-sm3"`, [`super::sm2`]); a signature line is looked up by name and key id
//! among both, so a note signed by both verifies for a reader that knows either.

use super::sm2::{is_sm2_key_text, Sm2PublicKey, Sm2SigningKey};
use super::{SigningKey, VerifierKey};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use std::fmt;

/// The signature line prefix: em dash (U+2014) and a space.
const SIG_PREFIX: &str = "\u{2014} ";

/// Upper bound on signature lines we parse; the spec requires accepting at least 16, and a
/// bound keeps a hostile note from costing unbounded work.
pub const MAX_SIGNATURES: usize = 100;

/// Errors from parsing, signing or verifying a note.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum NoteError {
    /// The note is not well formed (which rule is broken is said).
    #[error("malformed signed note: {0}")]
    Malformed(&'static str),
    /// The text to sign is not acceptable note text.
    #[error("note text must be non-empty, end in a newline and hold no control characters")]
    BadText,
    /// A known key's signature does not verify.
    #[error("signature by {name}+{key_id:08x} does not verify")]
    BadSignature {
        /// Key name.
        name: String,
        /// Key id.
        key_id: u32,
    },
    /// No signature from a known key.
    #[error("the note has no signature from a known key")]
    NoKnownSignature,
}

/// One signature line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The C2SP key id.
    pub key_id: u32,
    /// The signature bytes (64 for Ed25519).
    pub sig: Vec<u8>,
}

/// Something that signs note text (small trait, like azul's).
pub trait NoteSigner {
    /// The key name written in the signature line.
    fn name(&self) -> &str;
    /// The key id written in the signature.
    fn key_id(&self) -> u32;
    /// Signs the note text (including its final newline).
    fn sign(&self, msg: &[u8]) -> Vec<u8>;
}

/// Something that verifies a signature over note text.
pub trait NoteVerifier {
    /// Key name.
    fn name(&self) -> &str;
    /// Key id.
    fn key_id(&self) -> u32;
    /// Whether `sig` is a valid signature of `msg`.
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool;
}

impl NoteSigner for SigningKey {
    fn name(&self) -> &str {
        SigningKey::name(self)
    }
    fn key_id(&self) -> u32 {
        SigningKey::key_id(self)
    }
    fn sign(&self, msg: &[u8]) -> Vec<u8> {
        SigningKey::sign(self, msg).to_vec()
    }
}

impl NoteVerifier for VerifierKey {
    fn name(&self) -> &str {
        VerifierKey::name(self)
    }
    fn key_id(&self) -> u32 {
        VerifierKey::key_id(self)
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        VerifierKey::verify(self, msg, sig)
    }
}

impl NoteSigner for Sm2SigningKey {
    fn name(&self) -> &str {
        Sm2SigningKey::name(self)
    }
    fn key_id(&self) -> u32 {
        Sm2SigningKey::key_id(self)
    }
    fn sign(&self, msg: &[u8]) -> Vec<u8> {
        Sm2SigningKey::sign(self, msg).to_vec()
    }
}

impl NoteVerifier for Sm2PublicKey {
    fn name(&self) -> &str {
        Sm2PublicKey::name(self)
    }
    fn key_id(&self) -> u32 {
        Sm2PublicKey::key_id(self)
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        Sm2PublicKey::verify(self, msg, sig)
    }
}

/// A verifier key of either algorithm, as a line of a keys file holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrustedKey {
    /// Ed25519, type `0x01`.
    Ed25519(VerifierKey),
    /// SM2 with SM3, type `0xff ‖ "tongban/sm2-sm3"`.
    Sm2(Sm2PublicKey),
}

impl TrustedKey {
    /// Parses a verifier-key text of either algorithm (told apart by its type bytes).
    pub fn parse(text: &str) -> Result<Self, super::KeyError> {
        if is_sm2_key_text(text) {
            Sm2PublicKey::parse(text).map(Self::Sm2)
        } else {
            VerifierKey::parse(text).map(Self::Ed25519)
        }
    }

    /// The algorithm's name as the key commands and reports print it: `ed25519` or `sm2`.
    pub fn algorithm(&self) -> &'static str {
        match self {
            Self::Ed25519(_) => "ed25519",
            Self::Sm2(_) => "sm2",
        }
    }

    /// The key name.
    pub fn name(&self) -> &str {
        match self {
            Self::Ed25519(k) => k.name(),
            Self::Sm2(k) => k.name(),
        }
    }

    /// The key id.
    pub fn key_id(&self) -> u32 {
        match self {
            Self::Ed25519(k) => k.key_id(),
            Self::Sm2(k) => k.key_id(),
        }
    }

    /// Whether `sig` is this key's signature of `msg`.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        match self {
            Self::Ed25519(k) => k.verify(msg, sig),
            Self::Sm2(k) => k.verify(msg, sig),
        }
    }
}

impl fmt::Display for TrustedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ed25519(k) => k.fmt(f),
            Self::Sm2(k) => k.fmt(f),
        }
    }
}

/// The set of keys a reader trusts, looked up by (name, id): Ed25519 keys and SM2 keys.
#[derive(Clone, Debug, Default)]
pub struct Verifiers {
    keys: Vec<VerifierKey>,
    sm2: Vec<Sm2PublicKey>,
}

impl Verifiers {
    /// A set of trusted Ed25519 keys.
    pub fn new(keys: Vec<VerifierKey>) -> Self {
        Self {
            keys,
            sm2: Vec::new(),
        }
    }

    /// The same set, also trusting these SM2 keys.
    pub fn with_sm2(mut self, sm2: Vec<Sm2PublicKey>) -> Self {
        self.sm2.extend(sm2);
        self
    }

    /// A set of keys of either algorithm.
    pub fn from_keys(keys: impl IntoIterator<Item = TrustedKey>) -> Self {
        let mut v = Self::default();
        for k in keys {
            match k {
                TrustedKey::Ed25519(k) => v.keys.push(k),
                TrustedKey::Sm2(k) => v.sm2.push(k),
            }
        }
        v
    }

    /// Parses verifier-key lines of either algorithm (blank lines and `#` comments skipped).
    pub fn parse_lines(text: &str) -> Result<Self, super::KeyError> {
        Ok(Self::from_keys(parse_key_lines(text)?))
    }

    /// The Ed25519 key with this name and id, if trusted.
    pub fn get(&self, name: &str, key_id: u32) -> Option<&VerifierKey> {
        self.keys
            .iter()
            .find(|k| k.name() == name && k.key_id() == key_id)
    }

    /// The SM2 key with this name and id, if trusted.
    pub fn get_sm2(&self, name: &str, key_id: u32) -> Option<&Sm2PublicKey> {
        self.sm2
            .iter()
            .find(|k| k.name() == name && k.key_id() == key_id)
    }

    /// The Ed25519 keys.
    pub fn keys(&self) -> &[VerifierKey] {
        &self.keys
    }

    /// The SM2 keys.
    pub fn sm2_keys(&self) -> &[Sm2PublicKey] {
        &self.sm2
    }
}

/// Parses verifier-key lines of either algorithm, in order (blank lines and `#` comments
/// skipped).
pub fn parse_key_lines(text: &str) -> Result<Vec<TrustedKey>, super::KeyError> {
    let mut keys = Vec::new();
    // Strict on purpose: a stray control or space character is an error, not trimmed,
    // so any change to a published keys file is noticed.
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        keys.push(TrustedKey::parse(line)?);
    }
    Ok(keys)
}

/// A parsed signed note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The signed text, including its final newline.
    pub text: String,
    /// The signature lines in order.
    pub sigs: Vec<NoteSignature>,
}

fn text_ok(text: &str) -> bool {
    !text.is_empty() && text.ends_with('\n') && !text.chars().any(|c| c < ' ' && c != '\n')
}

impl Note {
    /// Signs `text` with each signer.
    pub fn sign(text: &str, signers: &[&dyn NoteSigner]) -> Result<Note, NoteError> {
        if !text_ok(text) {
            return Err(NoteError::BadText);
        }
        let sigs = signers
            .iter()
            .map(|s| NoteSignature {
                name: s.name().to_owned(),
                key_id: s.key_id(),
                sig: s.sign(text.as_bytes()),
            })
            .collect();
        Ok(Note {
            text: text.to_owned(),
            sigs,
        })
    }

    /// Parses a signed note without verifying it.
    pub fn parse(msg: &str) -> Result<Note, NoteError> {
        if msg.chars().any(|c| c < ' ' && c != '\n') {
            return Err(NoteError::Malformed("control character"));
        }
        if !msg.ends_with('\n') {
            return Err(NoteError::Malformed("does not end in a newline"));
        }
        let split = msg
            .rfind("\n\n")
            .ok_or(NoteError::Malformed("no blank line before the signatures"))?;
        let text = &msg[..split + 1];
        let block = &msg[split + 2..];
        let mut sigs = Vec::new();
        for line in block.split_terminator('\n') {
            if sigs.len() == MAX_SIGNATURES {
                return Err(NoteError::Malformed("too many signatures"));
            }
            let rest = line.strip_prefix(SIG_PREFIX).ok_or(NoteError::Malformed(
                "signature line does not start with '— '",
            ))?;
            let (name, b64) = rest
                .split_once(' ')
                .ok_or(NoteError::Malformed("signature line has no key name"))?;
            if name.is_empty() || name.contains('+') || b64.contains(' ') {
                return Err(NoteError::Malformed("bad signature line"));
            }
            let raw = B64
                .decode(b64)
                .map_err(|_| NoteError::Malformed("signature is not base64"))?;
            if raw.len() < 5 {
                return Err(NoteError::Malformed("signature too short"));
            }
            sigs.push(NoteSignature {
                name: name.to_owned(),
                key_id: u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]),
                sig: raw[4..].to_vec(),
            });
        }
        if sigs.is_empty() {
            return Err(NoteError::Malformed("no signature lines"));
        }
        Ok(Note {
            text: text.to_owned(),
            sigs,
        })
    }

    /// The signatures made by keys in `verifiers`, paired with their key (unknown ones are
    /// skipped, as the spec requires). Used for batch verification.
    pub fn known_signatures<'a>(
        &'a self,
        verifiers: &'a Verifiers,
    ) -> Vec<(&'a VerifierKey, &'a NoteSignature)> {
        self.sigs
            .iter()
            .filter_map(|s| verifiers.get(&s.name, s.key_id).map(|k| (k, s)))
            .collect()
    }

    /// The SM2 signatures made by keys in `verifiers`, paired with their key.
    pub fn known_sm2_signatures<'a>(
        &'a self,
        verifiers: &'a Verifiers,
    ) -> Vec<(&'a Sm2PublicKey, &'a NoteSignature)> {
        self.sigs
            .iter()
            .filter_map(|s| verifiers.get_sm2(&s.name, s.key_id).map(|k| (k, s)))
            .collect()
    }

    /// Verifies the note: every known signature (Ed25519 or SM2) must verify and at least
    /// one must exist. Returns the keys that signed.
    pub fn verify(&self, verifiers: &Verifiers) -> Result<Vec<TrustedKey>, NoteError> {
        let mut ok = Vec::new();
        for s in &self.sigs {
            let key = match (
                verifiers.get(&s.name, s.key_id),
                verifiers.get_sm2(&s.name, s.key_id),
            ) {
                (Some(k), _) => TrustedKey::Ed25519(k.clone()),
                (None, Some(k)) => TrustedKey::Sm2(k.clone()),
                (None, None) => continue,
            };
            if !key.verify(self.text.as_bytes(), &s.sig) {
                return Err(NoteError::BadSignature {
                    name: s.name.clone(),
                    key_id: s.key_id,
                });
            }
            ok.push(key);
        }
        if ok.is_empty() {
            return Err(NoteError::NoKnownSignature);
        }
        Ok(ok)
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        for s in &self.sigs {
            let mut raw = Vec::with_capacity(4 + s.sig.len());
            raw.extend_from_slice(&s.key_id.to_be_bytes());
            raw.extend_from_slice(&s.sig);
            writeln!(f, "{SIG_PREFIX}{} {}", s.name, B64.encode(raw))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const PETER_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const PETER_TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const PETER_NOTE: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    /// The example note in C2SP signed-note v1.0.0 §"Note" (its text holds an empty line).
    const C2SP_EXAMPLE: &str = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \u{e8} subito sera.\n\n\u{2014} quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";

    #[test]
    fn c2sp_signed_note_example_parses_with_text_split_at_last_blank_line() {
        let n = Note::parse(C2SP_EXAMPLE).unwrap();
        assert_eq!(
            n.text,
            "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \u{e8} subito sera.\n"
        );
        assert_eq!(n.sigs.len(), 1);
        assert_eq!(n.sigs[0].name, "quasimodo.example/salvatore");
        assert_eq!(n.sigs[0].key_id, 0x367ba04b);
        assert_eq!(n.sigs[0].sig.len(), 64);
        assert_eq!(n.to_string(), C2SP_EXAMPLE);
        // Its signer is unknown to us, so it must not verify against an unrelated key.
        let v = Verifiers::new(vec![VerifierKey::parse(PETER_VKEY).unwrap()]);
        assert_eq!(n.verify(&v), Err(NoteError::NoKnownSignature));
    }

    #[test]
    fn go_sumdb_note_example_signs_byte_for_byte_and_verifies() {
        let k = SigningKey::from_signer_text(PETER_SKEY).unwrap();
        let n = Note::sign(PETER_TEXT, &[&k]).unwrap();
        assert_eq!(n.to_string(), PETER_NOTE);
        let v = Verifiers::new(vec![VerifierKey::parse(PETER_VKEY).unwrap()]);
        let parsed = Note::parse(PETER_NOTE).unwrap();
        assert_eq!(parsed.verify(&v).unwrap().len(), 1);
    }

    #[test]
    fn altered_note_text_is_refused() {
        let v = Verifiers::new(vec![VerifierKey::parse(PETER_VKEY).unwrap()]);
        let bad = PETER_NOTE.replace("answer", "Answer");
        let n = Note::parse(&bad).unwrap();
        assert!(matches!(n.verify(&v), Err(NoteError::BadSignature { .. })));
    }

    #[test]
    fn malformed_notes_are_refused() {
        for bad in [
            "",
            "no newline",
            "text\n",
            "text\n\n",
            "text\n\n- PeterNeumann AAAA\n",
            "text\n\n\u{2014} PeterNeumann !!!!\n",
            "te\u{1}xt\n\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
        ] {
            assert!(Note::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Note::sign("no newline", &[]), Err(NoteError::BadText));
    }

    #[test]
    fn a_note_signed_by_ed25519_and_sm2_verifies_with_either_and_a_bad_sm2_line_is_refused() {
        use crate::signing::sm2::DEFAULT_DISTINGUISHING_ID;
        let ed = SigningKey::from_signer_text(PETER_SKEY).unwrap();
        let sm = Sm2SigningKey::generate("PeterNeumann", DEFAULT_DISTINGUISHING_ID).unwrap();
        let n = Note::sign(PETER_TEXT, &[&ed, &sm]).unwrap().to_string();
        assert!(
            n.starts_with(PETER_NOTE),
            "the Ed25519 line comes first, unchanged"
        );
        let parsed = Note::parse(&n).unwrap();
        assert_eq!(parsed.sigs.len(), 2);
        assert_eq!(parsed.sigs[1].sig.len(), 64);
        let only_ed = Verifiers::new(vec![ed.verifier()]);
        let only_sm2 = Verifiers::default().with_sm2(vec![sm.public()]);
        let both = Verifiers::new(vec![ed.verifier()]).with_sm2(vec![sm.public()]);
        assert_eq!(
            parsed.verify(&only_ed).unwrap(),
            [TrustedKey::Ed25519(ed.verifier())]
        );
        assert_eq!(
            parsed.verify(&only_sm2).unwrap(),
            [TrustedKey::Sm2(sm.public())]
        );
        assert_eq!(parsed.verify(&both).unwrap().len(), 2);
        // The keys file form parses back to the same set.
        let lines = format!("{}\n{}\n", ed.verifier(), sm.public());
        assert_eq!(parse_key_lines(&lines).unwrap().len(), 2);

        // One bit of the SM2 line changed: refused by whoever trusts the SM2 key, ignored by
        // an Ed25519-only reader (an unknown key's line).
        let mut bad = parsed.clone();
        bad.sigs[1].sig[40] ^= 1;
        let bad = Note::parse(&bad.to_string()).unwrap();
        assert!(matches!(
            bad.verify(&both),
            Err(NoteError::BadSignature { key_id, .. }) if key_id == sm.key_id()
        ));
        assert!(bad.verify(&only_sm2).is_err());
        assert!(bad.verify(&only_ed).is_ok());
    }
}
