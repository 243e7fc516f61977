//! SM2 signatures with SM3 (GM/T 0003, GM/T 0004, GM/T 0009) in C2SP signed notes, beside
//! Ed25519, for deployments assessed under GB/T 39786 (密评).
//!
//! C2SP signed-note assigns no signature type byte to SM2, so its keys use the form the spec
//! reserves for "signature types without an identifier byte assigned by this specification":
//! the byte `0xff` followed by a longer identifier, here [`SM2_TYPE`]
//! (`0xff ‖ "tongban/sm2-sm3"`).
//!
//! - Public key encoding: the 65-byte uncompressed SEC1 point `0x04 ‖ x ‖ y` on the SM2
//!   recommended curve, then the signer's distinguishing ID (GM/T 0009 `ID_A`, the UTF-8
//!   bytes; [`DEFAULT_DISTINGUISHING_ID`] unless chosen otherwise), so that a verifier key
//!   carries everything `Z_A` needs.
//! - Key id: `SHA-256(name ‖ 0x0A ‖ 0xff ‖ "tongban/sm2-sm3" ‖ point ‖ ID)[:4]`.
//! - Verifier key text: `name+hexid+base64(0xff ‖ "tongban/sm2-sm3" ‖ point ‖ ID)`.
//! - Signer key text: `PRIVATE+KEY+name+hexid+base64(0xff ‖ "tongban/sm2-sm3" ‖ d ‖ ID)`,
//!   `d` the 32-byte big-endian private scalar.
//! - Signature: SM2 over the message with `e = SM3(Z_A ‖ M)` (GM/T 0003.2 §6.1), encoded as
//!   the raw 64 bytes `r ‖ s` (each 32 bytes big-endian), the form GmSSL's Python package and
//!   most GM/T 0009 toolkits exchange besides DER.
//!
//! The curve arithmetic, SM3 and the signature scheme are RustCrypto's `sm2` and `sm3`.

use super::{check_key_name, check_stated_id, KeyError, PRIVATE_KEY_PREFIX};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use sm2::dsa::signature::{Signer as _, Verifier as _};
use sm2::elliptic_curve::sec1::ToSec1Point as _;
use std::fmt;
use zeroize::Zeroizing;

/// The signature type of SM2-with-SM3 keys in signed notes: `0xff` (the byte C2SP reserves
/// for types it assigns no byte to) followed by an identifier unlikely to collide.
pub const SM2_TYPE: &[u8] = b"\xfftongban/sm2-sm3";

/// The distinguishing ID GM/T 0009-2012 §10 specifies when none was agreed:
/// `1234567812345678` (16 ASCII bytes, ENTL = 128 bits).
pub const DEFAULT_DISTINGUISHING_ID: &str = "1234567812345678";

/// Longest distinguishing ID accepted, in bytes. GM/T 0003 allows up to 8191 bytes (ENTL is
/// 16 bits of bit length); 255 holds every ID seen in practice (the default, an e-mail
/// address, a USCC) and bounds what a key text may carry.
pub const MAX_DISTINGUISHING_ID_LEN: usize = 255;

/// Length of an uncompressed SEC1 point on a 256-bit curve.
const POINT_LEN: usize = 65;

/// Length of an SM2 signature `r ‖ s`.
pub const SIGNATURE_LEN: usize = 64;

fn check_distid(distid: &str) -> Result<(), KeyError> {
    if distid.is_empty() || distid.len() > MAX_DISTINGUISHING_ID_LEN {
        return Err(KeyError::Malformed(
            "SM2 distinguishing ID must be 1 to 255 bytes",
        ));
    }
    Ok(())
}

/// The key id of an SM2 key: SHA-256(name ‖ 0x0A ‖ [`SM2_TYPE`] ‖ point ‖ ID)[:4].
fn sm2_key_id(name: &str, point: &[u8], distid: &str) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update(SM2_TYPE);
    h.update(point);
    h.update(distid.as_bytes());
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// Splits base64([`SM2_TYPE`] ‖ fixed ‖ ID) into the fixed part (`n` bytes) and the ID.
fn sm2_material(material: &str, n: usize) -> Result<(Zeroizing<Vec<u8>>, String), KeyError> {
    let raw = Zeroizing::new(
        B64.decode(material)
            .map_err(|_| KeyError::Malformed("key material is not base64"))?,
    );
    let rest = raw.strip_prefix(SM2_TYPE).ok_or(KeyError::Malformed(
        "not an SM2 key (type 0xff \"tongban/sm2-sm3\")",
    ))?;
    if rest.len() <= n {
        return Err(KeyError::Malformed(
            "SM2 key material is too short for the key and its distinguishing ID",
        ));
    }
    let distid = std::str::from_utf8(&rest[n..])
        .map_err(|_| KeyError::Malformed("SM2 distinguishing ID is not UTF-8"))?
        .to_owned();
    check_distid(&distid)?;
    Ok((Zeroizing::new(rest[..n].to_vec()), distid))
}

fn sm2_text(prefix: &str, name: &str, id: u32, fixed: &[u8], distid: &str) -> Zeroizing<String> {
    let mut raw = Zeroizing::new(Vec::with_capacity(
        SM2_TYPE.len() + fixed.len() + distid.len(),
    ));
    raw.extend_from_slice(SM2_TYPE);
    raw.extend_from_slice(fixed);
    raw.extend_from_slice(distid.as_bytes());
    Zeroizing::new(format!("{prefix}{name}+{id:08x}+{}", B64.encode(&raw[..])))
}

/// Whether a verifier-key or signer-key text is an SM2 one (its material starts with
/// [`SM2_TYPE`]), without checking the rest.
pub fn is_sm2_key_text(text: &str) -> bool {
    // The material is the third part; base64 may hold '+' itself.
    let material = text.splitn(3, '+').nth(2).unwrap_or_default();
    // base64 of the 16-byte type prefix is 21 characters and a partial quantum; compare the
    // first 20, which encode its first 15 bytes exactly.
    material
        .as_bytes()
        .starts_with(&B64.encode(SM2_TYPE).as_bytes()[..20])
}

/// An SM2 signing key (SM3, GM/T 0009 distinguishing ID) with its signed-note name and key
/// id. Not printable; the secret scalar is zeroized on drop by the `sm2` crate.
#[derive(Clone)]
pub struct Sm2SigningKey {
    name: String,
    id: u32,
    distid: String,
    key: sm2::dsa::SigningKey,
}

impl fmt::Debug for Sm2SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sm2SigningKey")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.id))
            .finish_non_exhaustive()
    }
}

impl Sm2SigningKey {
    /// A fresh key from the operating system's random source.
    pub fn generate(name: &str, distid: &str) -> Result<Self, KeyError> {
        check_key_name(name)?;
        check_distid(distid)?;
        // 32 random bytes are a scalar in [1, n-1] but for a chance of about 2⁻³²: draw again.
        loop {
            let mut d = Zeroizing::new([0u8; 32]);
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut d[..]);
            if let Ok(key) = Self::from_scalar(name, distid, &d) {
                return Ok(key);
            }
        }
    }

    /// The key of the 32-byte big-endian private scalar `d` (1 ≤ d < n).
    pub fn from_scalar(name: &str, distid: &str, d: &[u8; 32]) -> Result<Self, KeyError> {
        check_key_name(name)?;
        check_distid(distid)?;
        let key = sm2::dsa::SigningKey::from_slice(distid, d)
            .map_err(|_| KeyError::Malformed("SM2 private key is not a scalar in [1, n-1]"))?;
        let point = point_bytes(key.verifying_key());
        Ok(Self {
            name: name.to_owned(),
            id: sm2_key_id(name, &point, distid),
            distid: distid.to_owned(),
            key,
        })
    }

    /// Parses `PRIVATE+KEY+name+hexid+base64(0xff ‖ "tongban/sm2-sm3" ‖ d ‖ ID)`, checking
    /// the id.
    pub fn from_signer_text(text: &str) -> Result<Self, KeyError> {
        let rest = text
            .trim_end()
            .strip_prefix(PRIVATE_KEY_PREFIX)
            .ok_or(KeyError::Malformed("missing PRIVATE+KEY+ prefix"))?;
        let (name, hexid, material) = super::split_key_text(rest)?;
        let (d, distid) = sm2_material(material, 32)?;
        let mut scalar = Zeroizing::new([0u8; 32]);
        scalar.copy_from_slice(&d);
        let key = Self::from_scalar(name, &distid, &scalar)?;
        check_stated_id(hexid, key.id)?;
        Ok(key)
    }

    /// The signer-key text, only for writing the key file.
    pub(crate) fn to_signer_text(&self) -> Zeroizing<String> {
        let d = Zeroizing::new(self.key.to_bytes());
        sm2_text(PRIVATE_KEY_PREFIX, &self.name, self.id, &d, &self.distid)
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The key id as 8 lowercase hex digits (the RFC 9421 `keyid` parameter).
    pub fn key_id_hex(&self) -> String {
        format!("{:08x}", self.id)
    }

    /// The GM/T 0009 distinguishing ID that goes into `Z_A`.
    pub fn distinguishing_id(&self) -> &str {
        &self.distid
    }

    /// SM2 with SM3 over `msg` (`e = SM3(Z_A ‖ msg)`), as `r ‖ s`. The nonce is derived as
    /// RFC 6979 does, from the key and `e`, so no weak random source can leak the key.
    pub fn sign(&self, msg: &[u8]) -> [u8; SIGNATURE_LEN] {
        let sig: sm2::dsa::Signature = self.key.sign(msg);
        sig.to_bytes().into()
    }

    /// The public half.
    pub fn public(&self) -> Sm2PublicKey {
        Sm2PublicKey {
            name: self.name.clone(),
            id: self.id,
            distid: self.distid.clone(),
            key: self.key.verifying_key().clone(),
        }
    }
}

fn point_bytes(key: &sm2::dsa::VerifyingKey) -> [u8; POINT_LEN] {
    let p = key.as_affine().to_sec1_point(false);
    let mut out = [0u8; POINT_LEN];
    out.copy_from_slice(p.as_bytes());
    out
}

/// The public half of an SM2 key, with its name, key id and distinguishing ID; text form
/// `name+hexid+base64(0xff ‖ "tongban/sm2-sm3" ‖ point ‖ ID)`.
#[derive(Clone)]
pub struct Sm2PublicKey {
    name: String,
    id: u32,
    distid: String,
    key: sm2::dsa::VerifyingKey,
}

impl PartialEq for Sm2PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.id == other.id
            && self.point() == other.point()
            && self.distinguishing_id() == other.distinguishing_id()
    }
}

impl Eq for Sm2PublicKey {}

impl fmt::Debug for Sm2PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sm2PublicKey({self})")
    }
}

impl fmt::Display for Sm2PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&sm2_text(
            "",
            &self.name,
            self.id,
            &self.point(),
            self.distinguishing_id(),
        ))
    }
}

impl std::str::FromStr for Sm2PublicKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        Self::parse(s)
    }
}

impl Sm2PublicKey {
    /// Parses `name+hexid+base64(0xff ‖ "tongban/sm2-sm3" ‖ point ‖ ID)`: the point must be
    /// on the curve (not the identity), the id must match.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let (name, hexid, material) = super::split_key_text(text)?;
        let (point, distid) = sm2_material(material, POINT_LEN)?;
        if point[0] != 0x04 {
            return Err(KeyError::Malformed(
                "SM2 public key must be an uncompressed point (0x04 ‖ x ‖ y)",
            ));
        }
        let key = Self::from_point(name, &distid, &point)?;
        check_stated_id(hexid, key.id)?;
        Ok(key)
    }

    /// The key of a SEC1 point (65 bytes uncompressed or 33 compressed) with its name and
    /// distinguishing ID.
    pub fn from_point(name: &str, distid: &str, sec1: &[u8]) -> Result<Self, KeyError> {
        check_key_name(name)?;
        check_distid(distid)?;
        let key = sm2::dsa::VerifyingKey::from_sec1_bytes(distid, sec1)
            .map_err(|_| KeyError::Malformed("not a point on the SM2 curve"))?;
        let point = point_bytes(&key);
        Ok(Self {
            name: name.to_owned(),
            id: sm2_key_id(name, &point, distid),
            distid: distid.to_owned(),
            key,
        })
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The uncompressed point `0x04 ‖ x ‖ y`.
    pub fn point(&self) -> [u8; POINT_LEN] {
        point_bytes(&self.key)
    }

    /// The GM/T 0009 distinguishing ID.
    pub fn distinguishing_id(&self) -> &str {
        &self.distid
    }

    /// Whether `sig` (`r ‖ s`, 64 bytes) is an SM2-with-SM3 signature of `msg` by this key.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let Ok(sig) = sm2::dsa::Signature::from_slice(sig) else {
            return false;
        };
        self.key.verify(msg, &sig).is_ok()
    }
}

/// An SM2 public key without a signed-note name: a partner's RFC 9421 key, configured as its
/// point and distinguishing ID.
#[derive(Clone, Debug)]
pub struct Sm2VerifyingKey {
    key: sm2::dsa::VerifyingKey,
    distid: String,
}

impl PartialEq for Sm2VerifyingKey {
    fn eq(&self, other: &Self) -> bool {
        point_bytes(&self.key) == point_bytes(&other.key) && self.distid == other.distid
    }
}

impl Eq for Sm2VerifyingKey {}

impl Sm2VerifyingKey {
    /// The key of a SEC1 point (65 bytes uncompressed or 33 compressed) and a distinguishing
    /// ID; `None` when the point is not on the curve or the ID is empty or over-long.
    pub fn from_sec1(distid: &str, sec1: &[u8]) -> Option<Self> {
        check_distid(distid).ok()?;
        let key = sm2::dsa::VerifyingKey::from_sec1_bytes(distid, sec1).ok()?;
        Some(Self {
            key,
            distid: distid.to_owned(),
        })
    }

    /// The uncompressed point `0x04 ‖ x ‖ y`.
    pub fn point(&self) -> [u8; POINT_LEN] {
        point_bytes(&self.key)
    }

    /// Whether `sig` (`r ‖ s`) is an SM2-with-SM3 signature of `msg`.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let Ok(sig) = sm2::dsa::Signature::from_slice(sig) else {
            return false;
        };
        self.key.verify(msg, &sig).is_ok()
    }
}

impl From<&Sm2SigningKey> for Sm2VerifyingKey {
    fn from(k: &Sm2SigningKey) -> Self {
        Self {
            key: k.key.verifying_key().clone(),
            distid: k.distid.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sm3::Digest as _;

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    /// GB/T 32905-2016 (GM/T 0004-2012) appendix A: example 1 ("abc") and example 2
    /// ("abcd" × 16, 512 bits).
    #[test]
    fn sm3_gbt_32905_appendix_a_examples() {
        assert_eq!(
            sm3::Sm3::digest(b"abc").to_vec(),
            unhex("66c7f0f4 62eeedd9 d1f2d46b dc10e4e2 4167c487 5cf2f7a2 297da02b 8f4ba8e0")
        );
        assert_eq!(
            sm3::Sm3::digest("abcd".repeat(16).as_bytes()).to_vec(),
            unhex("debe9ff9 2275b8a1 38604889 c18e5a4d 6fdb70e5 387e5765 293dcba3 9c0c5732")
        );
    }

    /// The signature example of GM/T 0003.5-2012 annex A (the recommended curve; GB/T
    /// 32918.2-2016 annex A works on a test curve of its own, which the `sm2` crate does not
    /// offer): user A with ID `1234567812345678` signs "message digest".
    mod gmt_0003_5_example {
        pub const D: &str = "3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8";
        pub const X: &str = "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020";
        pub const Y: &str = "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13";
        pub const ZA: &str = "B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3";
        pub const E: &str = "F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640";
        pub const K: &str = "59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21";
        pub const R: &str = "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3";
        pub const S: &str = "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA";
        pub const MSG: &[u8] = b"message digest";
    }

    #[test]
    fn gmt_0003_5_example_public_key_za_e_and_signature() {
        use gmt_0003_5_example as ex;
        let d: [u8; 32] = unhex(ex::D).try_into().unwrap();
        let key = Sm2SigningKey::from_scalar("gmt0003", DEFAULT_DISTINGUISHING_ID, &d).unwrap();
        let point = key.public().point();
        assert_eq!(point[0], 4);
        assert_eq!(point[1..33].to_vec(), unhex(ex::X));
        assert_eq!(point[33..].to_vec(), unhex(ex::Y));

        // Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA), e = SM3(Z_A ‖ M).
        let a = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC";
        let b = "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93";
        let xg = "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7";
        let yg = "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0";
        let mut z = sm3::Sm3::new();
        z.update([0x00, 0x80]);
        z.update(DEFAULT_DISTINGUISHING_ID.as_bytes());
        for h in [a, b, xg, yg, ex::X, ex::Y] {
            z.update(unhex(h));
        }
        let za = z.finalize();
        assert_eq!(za.to_vec(), unhex(ex::ZA));
        let e = sm3::Sm3::new()
            .chain_update(za)
            .chain_update(ex::MSG)
            .finalize();
        assert_eq!(e.to_vec(), unhex(ex::E));

        // The published (r, s), made with the example's k, verifies.
        let sig = [unhex(ex::R), unhex(ex::S)].concat();
        assert!(key.public().verify(ex::MSG, &sig));
        let mut bad = sig.clone();
        bad[63] ^= 1;
        assert!(!key.public().verify(ex::MSG, &bad));
        assert!(!key.public().verify(b"message digesT", &sig));

        // And with k, the signing equations of GM/T 0003.2 §6.1 give exactly (r, s):
        // (x1, y1) = [k]G, r = (e + x1) mod n, s = (1 + d)⁻¹ (k − r·d) mod n.
        use sm2::elliptic_curve::point::AffineCoordinates as _;
        let scalar = |h: &[u8]| {
            <sm2::Scalar as sm2::elliptic_curve::ops::Reduce<sm2::U256>>::reduce(
                &sm2::U256::from_be_slice(h),
            )
        };
        let k = scalar(&unhex(ex::K));
        let x1 = (sm2::ProjectivePoint::GENERATOR * k).to_affine().x();
        let r = scalar(&e) + scalar(&x1);
        let d = scalar(&d);
        let s = (sm2::Scalar::ONE + d).invert().unwrap() * (k - r * d);
        assert_eq!(r.to_bytes().to_vec(), unhex(ex::R));
        assert_eq!(s.to_bytes().to_vec(), unhex(ex::S));
    }

    #[test]
    fn signs_and_verifies_and_refuses_a_changed_message_or_signature() {
        let key = Sm2SigningKey::generate("t.example/ledger", DEFAULT_DISTINGUISHING_ID).unwrap();
        let sig = key.sign(b"hello");
        assert!(key.public().verify(b"hello", &sig));
        assert!(!key.public().verify(b"hellO", &sig));
        let mut bad = sig;
        bad[5] ^= 0x10;
        assert!(!key.public().verify(b"hello", &bad));
        assert!(!key.public().verify(b"hello", &sig[..63]));
        // Another distinguishing ID is another Z_A: the same signature does not verify.
        let other =
            Sm2PublicKey::from_point("t.example/ledger", "alice@example", &key.public().point())
                .unwrap();
        assert!(!other.verify(b"hello", &sig));
        assert_ne!(other.key_id(), key.key_id());
    }

    #[test]
    fn key_texts_round_trip_with_their_id_and_distinguishing_id() {
        for distid in [DEFAULT_DISTINGUISHING_ID, "ALICE123@YAHOO.COM"] {
            let key = Sm2SigningKey::generate("t.example/ledger", distid).unwrap();
            let vkey = key.public().to_string();
            assert!(is_sm2_key_text(&vkey), "{vkey}");
            let parsed = Sm2PublicKey::parse(&vkey).unwrap();
            assert_eq!(parsed, key.public());
            assert_eq!(parsed.distinguishing_id(), distid);
            let raw = B64.decode(vkey.splitn(3, '+').nth(2).unwrap()).unwrap();
            assert_eq!(&raw[..16], SM2_TYPE);
            assert_eq!(raw.len(), 16 + 65 + distid.len());
            let again = Sm2SigningKey::from_signer_text(&key.to_signer_text()).unwrap();
            assert_eq!(again.public(), key.public());
            assert!(key
                .to_signer_text()
                .starts_with("PRIVATE+KEY+t.example/ledger+"));
        }
        let ed = super::super::SigningKey::from_seed("t.example/ledger", &[1; 32]).unwrap();
        assert!(!is_sm2_key_text(&ed.verifier().to_string()));
        assert!(Sm2PublicKey::parse(&ed.verifier().to_string()).is_err());
    }

    #[test]
    fn a_key_text_with_other_than_ascii_is_neither_sm2_nor_a_panic() {
        // A keys file pasted from a document: Chinese where the key material belongs.
        let pasted = "t.example/ledger+6c9c8d44+账本公钥账本公钥账本公钥账本公钥";
        assert!(!is_sm2_key_text(pasted));
        assert!(crate::signing::Verifiers::parse_lines(pasted).is_err());
    }

    #[test]
    fn a_key_text_with_a_wrong_id_or_off_curve_point_is_refused() {
        let key = Sm2SigningKey::generate("t.example/ledger", DEFAULT_DISTINGUISHING_ID).unwrap();
        let vkey = key.public().to_string();
        let (name, rest) = vkey.split_once('+').unwrap();
        let (_, material) = rest.split_once('+').unwrap();
        assert!(matches!(
            Sm2PublicKey::parse(&format!("{name}+00000000+{material}")),
            Err(KeyError::IdMismatch { .. })
        ));
        let mut raw = B64.decode(material).unwrap();
        raw[16 + 64] ^= 1;
        assert!(
            Sm2PublicKey::parse(&format!("{name}+{:08x}+{}", key.key_id(), B64.encode(raw)))
                .is_err()
        );
    }

    #[test]
    fn sm2_signing_key_debug_does_not_show_the_secret() {
        let d = [7u8; 32];
        let k = Sm2SigningKey::from_scalar("t.example/log", DEFAULT_DISTINGUISHING_ID, &d).unwrap();
        let shown = format!("{k:?}");
        assert!(shown.contains(&k.key_id_hex()));
        assert!(!shown.contains(&hex::encode(d)[..10]));
    }
}
