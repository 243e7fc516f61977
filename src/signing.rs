//! Ed25519 and SM2 signing keys, C2SP key ids and signed notes.
//!
//! - [`SigningKey`] wraps an Ed25519 secret key. It cannot be printed (its `Debug` shows the
//!   name and key id only), is zeroized on drop, and is written only to `0600` key files by
//!   [`keyring`].
//! - [`VerifierKey`] is the public half in the C2SP signed-note v1.0.0 text form
//!   `name+hexid+base64(0x01‖key)`.
//! - [`note`] signs and verifies C2SP signed notes (checkpoints are signed notes).
//! - [`sm2`] is SM2 with SM3 (GM/T 0003, 0004, 0009) beside Ed25519, for 密评: its keys use
//!   the signed-note type `0xff ‖ "tongban/sm2-sm3"`, so a checkpoint carries both lines and
//!   Ed25519-only tools ignore the SM2 one.
//! - [`cosignature`] makes and checks C2SP tlog-cosignature v1 (Ed25519) cosignatures: a
//!   witness's timestamped statement that a checkpoint is consistent with all it saw before.
//! - [`keyring`] keeps the key files in a directory: one active key per algorithm (Ed25519,
//!   and SM2 when generated), every retired public key still published so old checkpoints
//!   keep verifying.
//!
//! The HTTP layer signs RFC 9421 messages with [`SigningKey::sign`] and names the key with
//! [`SigningKey::key_id_hex`].

pub mod cosignature;
pub mod keyring;
pub mod note;
pub mod sm2;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::fmt;
use zeroize::Zeroizing;

pub use cosignature::{Cosigner, CosignerKey};
pub use keyring::{Keyring, KeyringError};
pub use note::{Note, NoteError, NoteSignature, NoteSigner, NoteVerifier, TrustedKey, Verifiers};
pub use sm2::{Sm2PublicKey, Sm2SigningKey, Sm2VerifyingKey};

/// Signature type byte for Ed25519 in C2SP signed-note v1.0.0 ("0x01 — Ed25519").
pub const ED25519_TYPE: u8 = 0x01;

/// Prefix of the signer-key text form used by `golang.org/x/mod/sumdb/note`; we accept and
/// write the same form in key files so keys can be moved to other signed-note tools.
pub(crate) const PRIVATE_KEY_PREFIX: &str = "PRIVATE+KEY+";

/// Errors from parsing keys and key texts.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The text does not have the `name+hexid+base64` shape.
    #[error("malformed key text: {0}")]
    Malformed(&'static str),
    /// The key name is empty or holds a space or `+` (forbidden by signed-note).
    #[error("invalid key name {0:?}: it must be non-empty and hold no spaces or '+'")]
    BadName(String),
    /// The key id in the text does not match the one computed from name and key.
    #[error("key id {stated} does not match the key (computed {computed})")]
    IdMismatch {
        /// The id written in the text.
        stated: String,
        /// The id computed from the name and the key.
        computed: String,
    },
    /// The type byte is not the one this kind of key has (0x01 for an Ed25519 signed-note
    /// key, 0x04 for an Ed25519 cosigner key).
    #[error("unsupported key type 0x{found:02x} (expected 0x{expected:02x})")]
    UnsupportedType {
        /// The type byte in the key text.
        found: u8,
        /// The type byte this kind of key has.
        expected: u8,
    },
    /// The public key is not a valid Ed25519 point or is of small order.
    #[error("invalid or weak Ed25519 public key")]
    BadPublicKey,
}

/// Checks a signed-note key name: non-empty, no Unicode spaces, no `+`.
pub fn check_key_name(name: &str) -> Result<(), KeyError> {
    if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
        return Err(KeyError::BadName(name.to_owned()));
    }
    Ok(())
}

/// The C2SP key id: the first four bytes, big-endian, of
/// SHA-256(name ‖ 0x0A ‖ 0x01 ‖ 32-byte public key).
pub fn key_id(name: &str, public: &[u8; 32]) -> u32 {
    typed_key_id(name, ED25519_TYPE, public)
}

/// The key id of a key of signature type `alg`: the first four bytes, big-endian, of
/// SHA-256(name ‖ 0x0A ‖ alg ‖ 32-byte public key).
pub(crate) fn typed_key_id(name: &str, alg: u8, public: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', alg]);
    h.update(public);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// The 32 key bytes of base64(`alg` ‖ key), refusing another type byte or length.
pub(crate) fn key_material(material: &str, alg: u8) -> Result<Zeroizing<[u8; 32]>, KeyError> {
    let raw = Zeroizing::new(
        B64.decode(material)
            .map_err(|_| KeyError::Malformed("key material is not base64"))?,
    );
    if raw.len() != 33 {
        return Err(KeyError::Malformed("key material must be 33 bytes"));
    }
    if raw[0] != alg {
        return Err(KeyError::UnsupportedType {
            found: raw[0],
            expected: alg,
        });
    }
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&raw[1..]);
    Ok(key)
}

/// Splits a signer-key text `PRIVATE+KEY+name+hexid+base64(alg‖seed)` into name, id and seed.
pub(crate) fn signer_text_parts(
    text: &str,
    alg: u8,
) -> Result<(&str, &str, Zeroizing<[u8; 32]>), KeyError> {
    let rest = text
        .trim_end()
        .strip_prefix(PRIVATE_KEY_PREFIX)
        .ok_or(KeyError::Malformed("missing PRIVATE+KEY+ prefix"))?;
    let (name, hexid, material) = split_key_text(rest)?;
    Ok((name, hexid, key_material(material, alg)?))
}

/// The signer-key text `PRIVATE+KEY+name+hexid+base64(alg‖seed)`.
pub(crate) fn signer_text(name: &str, id: u32, alg: u8, seed: &[u8; 32]) -> Zeroizing<String> {
    let mut raw = Zeroizing::new([0u8; 33]);
    raw[0] = alg;
    raw[1..].copy_from_slice(seed);
    Zeroizing::new(format!(
        "{PRIVATE_KEY_PREFIX}{name}+{id:08x}+{}",
        B64.encode(&raw[..])
    ))
}

/// The public-key text `name+hexid+base64(alg‖key)`.
pub(crate) fn public_text(name: &str, id: u32, alg: u8, key: &[u8; 32]) -> String {
    let mut raw = [0u8; 33];
    raw[0] = alg;
    raw[1..].copy_from_slice(key);
    format!("{name}+{id:08x}+{}", B64.encode(raw))
}

/// Parses `name+hexid+base64(alg‖key)`: the name, the id stated and checked, and a valid,
/// not weak Ed25519 public key.
pub(crate) fn parse_public_text(
    text: &str,
    alg: u8,
) -> Result<(&str, u32, ed25519_dalek::VerifyingKey), KeyError> {
    let (name, hexid, material) = split_key_text(text)?;
    let bytes = key_material(material, alg)?;
    let key =
        ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::BadPublicKey)?;
    if key.is_weak() {
        return Err(KeyError::BadPublicKey);
    }
    let id = typed_key_id(name, alg, &bytes);
    check_stated_id(hexid, id)?;
    Ok((name, id, key))
}

pub(crate) fn check_stated_id(hexid: &str, id: u32) -> Result<(), KeyError> {
    if hexid != format!("{id:08x}") {
        return Err(KeyError::IdMismatch {
            stated: hexid.to_owned(),
            computed: format!("{id:08x}"),
        });
    }
    Ok(())
}

/// The secret half of an Ed25519 key of signature type `T` (0x01: a signed-note key, which
/// signs checkpoints and HTTP messages; 0x04: a witness's cosigner key), with its name and
/// key id. Not printable, zeroized on drop.
pub struct SecretKey<const T: u8> {
    name: String,
    id: u32,
    key: ed25519_dalek::SigningKey,
}

/// The gateway's signed-note signing key (type 0x01).
pub type SigningKey = SecretKey<ED25519_TYPE>;

impl<const T: u8> fmt::Debug for SecretKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("type", &T)
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.id))
            .finish_non_exhaustive()
    }
}

impl<const T: u8> SecretKey<T> {
    /// Generates a fresh key from the operating system's random source.
    pub fn generate(name: &str) -> Result<Self, KeyError> {
        let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
        Self::from_dalek(name, key)
    }

    /// Builds a key from its 32-byte RFC 8032 seed (used by tests and key files).
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, KeyError> {
        Self::from_dalek(name, ed25519_dalek::SigningKey::from_bytes(seed))
    }

    fn from_dalek(name: &str, key: ed25519_dalek::SigningKey) -> Result<Self, KeyError> {
        check_key_name(name)?;
        let id = typed_key_id(name, T, key.verifying_key().as_bytes());
        Ok(Self {
            name: name.to_owned(),
            id,
            key,
        })
    }

    /// Parses the signer-key text `PRIVATE+KEY+name+hexid+base64(T‖seed)`, checking the id.
    pub fn from_signer_text(text: &str) -> Result<Self, KeyError> {
        let (name, hexid, seed) = signer_text_parts(text, T)?;
        let key = Self::from_seed(name, &seed)?;
        check_stated_id(hexid, key.id)?;
        Ok(key)
    }

    /// The signer-key text, only for writing the key file. Crate-private so the program
    /// has no way to print a secret.
    pub(crate) fn to_signer_text(&self) -> Zeroizing<String> {
        signer_text(&self.name, self.id, T, self.key.as_bytes())
    }

    /// The key's name (the log origin for checkpoint keys, the witness's name for cosigner
    /// keys).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The C2SP key id as a number.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The key id as 8 lowercase hex digits (the RFC 9421 `keyid` parameter).
    pub fn key_id_hex(&self) -> String {
        format!("{:08x}", self.id)
    }

    /// The public half.
    pub fn public(&self) -> PublicKey<T> {
        PublicKey {
            name: self.name.clone(),
            id: self.id,
            key: self.key.verifying_key(),
        }
    }

    /// Plain RFC 8032 Ed25519 over `msg`.
    fn ed25519(&self, msg: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer as _;
        self.key.sign(msg).to_bytes()
    }
}

impl SigningKey {
    /// Signs `msg` with plain RFC 8032 Ed25519.
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.ed25519(msg)
    }

    /// The public half, as published to verifiers.
    pub fn verifier(&self) -> VerifierKey {
        self.public()
    }
}

/// The public half of an Ed25519 key of signature type `T`, with its name and id; text form
/// `name+hexid+base64(T‖key)`.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey<const T: u8> {
    name: String,
    id: u32,
    key: ed25519_dalek::VerifyingKey,
}

/// A signed-note verifier key (type 0x01): the gateway's published keys.
pub type VerifierKey = PublicKey<ED25519_TYPE>;

impl<const T: u8> fmt::Debug for PublicKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl<const T: u8> fmt::Display for PublicKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&public_text(&self.name, self.id, T, self.key.as_bytes()))
    }
}

impl<const T: u8> std::str::FromStr for PublicKey<T> {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        Self::parse(s)
    }
}

pub(crate) fn split_key_text(s: &str) -> Result<(&str, &str, &str), KeyError> {
    let mut parts = s.splitn(3, '+');
    let (Some(name), Some(hexid), Some(material)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(KeyError::Malformed("expected name+hexid+base64"));
    };
    check_key_name(name)?;
    if hexid.len() != 8
        || !hexid
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(KeyError::Malformed("key id must be 8 lowercase hex digits"));
    }
    Ok((name, hexid, material))
}

impl<const T: u8> PublicKey<T> {
    /// Parses `name+hexid+base64(T‖key)`, checking the id and refusing weak keys.
    /// No surrounding whitespace is accepted.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let (name, id, key) = parse_public_text(text, T)?;
        Ok(Self {
            name: name.to_owned(),
            id,
            key,
        })
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The C2SP key id.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The raw 32-byte public key.
    pub fn public_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The ed25519-dalek key, for batch verification.
    pub fn dalek(&self) -> &ed25519_dalek::VerifyingKey {
        &self.key
    }
}

impl VerifierKey {
    /// Strict RFC 8032 verification (rejects small-order components and malleable `s`).
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let Ok(sig) = ed25519_dalek::Signature::from_slice(sig) else {
            return false;
        };
        self.key.verify_strict(msg, &sig).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8032 §7.1 test vectors 1, 2, 3 and 1024 (SHA(abc) is §7.1 "TEST SHA(abc)").
    const RFC8032: &[(&str, &str, &str, &str)] = &[
        (
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            "",
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        ),
        (
            "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            "72",
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        ),
        (
            "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
            "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
            "af82",
            "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
        ),
        (
            "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
            "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
            concat!(
                "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98",
                "fa6e264bf09efe12ee50f8f54e9f77b1e355f6c50544e23fb1433ddf73be84d8",
                "79de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d",
                "658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc",
                "1a858efcb8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4fe",
                "ba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e",
                "06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbef",
                "efd75499da96bd68a8a97b928a8bbc103b6621fcde2beca1231d206be6cd9ec7",
                "aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1",
                "85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2",
                "d17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24",
                "554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270",
                "88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc",
                "2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2cf65bd92dd597b07",
                "07e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba",
                "b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51a",
                "ddd3b75a2b1ae0784504df543af8969be3ea7082ff7fc9888c144da2af58429e",
                "c96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7",
                "51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c",
                "42f58c30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8",
                "ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df",
                "f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08",
                "d78ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649",
                "de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4",
                "88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a3",
                "2ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e",
                "6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f",
                "b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b5",
                "0d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d90d11faa933a15ef1",
                "369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d",
                "b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c",
                "0618983f8741c5ef68d3a101e8a3b8cac60c905c15fc910840b94c00a0b9d0",
            ),
            "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03",
        ),
        (
            "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
            "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
            "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704",
        ),
    ];

    fn unhex<const N: usize>(s: &str) -> [u8; N] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    #[test]
    fn rfc8032_section_7_1_vectors_sign_and_verify() {
        for (secret, public, msg, sig) in RFC8032 {
            let key = SigningKey::from_seed("rfc8032", &unhex::<32>(secret)).unwrap();
            let msg = hex::decode(msg).unwrap();
            assert_eq!(key.verifier().public_bytes(), unhex::<32>(public));
            let got = key.sign(&msg);
            assert_eq!(hex::encode(got), *sig);
            assert!(key.verifier().verify(&msg, &got));
            let mut bad = got;
            bad[10] ^= 1;
            assert!(!key.verifier().verify(&msg, &bad));
            assert!(!key.verifier().verify(b"other message", &got));
        }
    }

    #[test]
    fn go_note_signer_key_text_round_trips_and_matches_its_verifier_key() {
        let skey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
        let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
        let k = SigningKey::from_signer_text(skey).unwrap();
        assert_eq!(k.key_id_hex(), "c74f20a3");
        assert_eq!(k.verifier().to_string(), vkey);
        assert_eq!(&*k.to_signer_text(), skey);
        assert_eq!(VerifierKey::parse(vkey).unwrap(), k.verifier());
    }

    #[test]
    fn verifier_key_with_wrong_id_or_name_is_refused() {
        let vkey = "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
        assert!(matches!(
            VerifierKey::parse(vkey),
            Err(KeyError::IdMismatch { .. })
        ));
        let vkey = "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
        assert!(matches!(
            VerifierKey::parse(vkey),
            Err(KeyError::BadName(_))
        ));
        let vkey = "PeterNeumann+c74f20a3+AhpczQcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
        assert!(VerifierKey::parse(vkey).is_err());
    }

    #[test]
    fn signing_key_debug_does_not_show_the_secret() {
        let seed = [7u8; 32];
        let k = SigningKey::from_seed("t.example/log", &seed).unwrap();
        let shown = format!("{k:?}");
        assert!(shown.contains(&k.key_id_hex()));
        let secret_b64 = B64.encode(seed);
        assert!(!shown.contains(&secret_b64[..10]));
        assert!(!shown.contains(&hex::encode(seed)[..10]));
    }
}
