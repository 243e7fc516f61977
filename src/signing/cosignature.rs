//! C2SP tlog-cosignature v1.0.0, the Ed25519 form (`cosignature/v1`).
//!
//! A cosignature is a witness's signed statement that, as of its timestamp, the checkpoint
//! is the largest consistent tree head it has seen for the log. It is a signed-note signature
//! line `— <witness name> base64(key id ‖ timestamp ‖ signature)` where
//! - the key id is the first 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x04 ‖ 32-byte Ed25519 public key) (type byte
//!   0x04, so the witness's key never verifies as a plain signed-note key);
//! - the timestamp is a big-endian u64 of POSIX seconds, at most 2⁶³−1;
//! - the signature is Ed25519 over `cosignature/v1\ntime <timestamp>\n` followed by the
//!   checkpoint's whole note body (with its final newline, without signature lines).
//!
//! The public key's text form is the signed-note verifier key with type byte 0x04:
//! `name+hexid+base64(0x04‖key)`.

use super::note::NoteSignature;
use super::{PublicKey, SecretKey};

/// The cosignature/v1 (Ed25519) key type byte of C2SP tlog-cosignature.
pub const COSIGNATURE_TYPE: u8 = 0x04;

/// The header line of the signed message (domain separation).
const HEADER: &str = "cosignature/v1\n";

/// Length of the signature material after the key id: 8-byte timestamp, 64-byte signature.
const TIMESTAMPED_LEN: usize = 8 + 64;

/// Why a cosignature line does not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CosignatureError {
    /// The signature material is not 72 bytes (timestamp and Ed25519 signature).
    #[error("cosignature by {0} is {1} bytes, not 72 (timestamp and Ed25519 signature)")]
    Length(String, usize),
    /// The timestamp exceeds 2⁶³−1.
    #[error("cosignature by {0} has a timestamp above 2^63-1")]
    Timestamp(String),
    /// The Ed25519 signature does not verify over the cosigned message.
    #[error("cosignature by {0} does not verify")]
    Signature(String),
}

/// The message a cosignature signs: header, time line, then the checkpoint's note body.
pub fn signed_message(checkpoint_text: &str, timestamp: u64) -> Vec<u8> {
    let mut m = Vec::with_capacity(HEADER.len() + 26 + checkpoint_text.len());
    m.extend_from_slice(HEADER.as_bytes());
    m.extend_from_slice(format!("time {timestamp}\n").as_bytes());
    m.extend_from_slice(checkpoint_text.as_bytes());
    m
}

/// A witness's secret cosigning key (type 0x04) with its name. Not printable, zeroized on
/// drop.
pub type Cosigner = SecretKey<COSIGNATURE_TYPE>;

/// A witness's public cosigning key: `name+hexid+base64(0x04‖key)`.
pub type CosignerKey = PublicKey<COSIGNATURE_TYPE>;

impl Cosigner {
    /// Cosigns the checkpoint note body `checkpoint_text` at `timestamp` (POSIX seconds).
    pub fn cosign(&self, checkpoint_text: &str, timestamp: u64) -> NoteSignature {
        let timestamp = timestamp.min(i64::MAX as u64);
        let sig = self.ed25519(&signed_message(checkpoint_text, timestamp));
        let mut raw = Vec::with_capacity(TIMESTAMPED_LEN);
        raw.extend_from_slice(&timestamp.to_be_bytes());
        raw.extend_from_slice(&sig);
        NoteSignature {
            name: self.name().to_owned(),
            key_id: self.key_id(),
            sig: raw,
        }
    }
}

impl CosignerKey {
    /// Whether a signature line is this witness's (same name and key id). Lines of other
    /// keys are ignored by readers, as C2SP requires.
    pub fn is_signer_of(&self, sig: &NoteSignature) -> bool {
        sig.name == self.name && sig.key_id == self.id
    }

    /// Checks this witness's cosignature line over the checkpoint note body; returns its
    /// timestamp. Strict RFC 8032 verification.
    pub fn verify(
        &self,
        checkpoint_text: &str,
        sig: &NoteSignature,
    ) -> Result<u64, CosignatureError> {
        let who = || format!("{}+{:08x}", self.name, self.id);
        if sig.sig.len() != TIMESTAMPED_LEN {
            return Err(CosignatureError::Length(who(), sig.sig.len()));
        }
        let timestamp = u64::from_be_bytes(sig.sig[..8].try_into().expect("length checked"));
        if timestamp > i64::MAX as u64 {
            return Err(CosignatureError::Timestamp(who()));
        }
        let signature = ed25519_dalek::Signature::from_slice(&sig.sig[8..])
            .map_err(|_| CosignatureError::Signature(who()))?;
        self.key
            .verify_strict(&signed_message(checkpoint_text, timestamp), &signature)
            .map_err(|_| CosignatureError::Signature(who()))?;
        Ok(timestamp)
    }
}

/// What one trusted witness's line on a checkpoint amounts to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cosigned {
    /// A valid cosignature made at this time (POSIX seconds).
    Valid(u64),
    /// No line of this witness's key.
    Missing,
    /// A line of its key that does not verify, or whose time is beyond `not_after`.
    Invalid(String),
}

/// Checks the checkpoint's signature lines against each trusted witness key, in order.
/// A cosignature dated after `not_after` (POSIX seconds; e.g. now plus a tolerance) is
/// invalid: C2SP lets verifiers refuse timestamps in the future.
pub fn check_all<'k>(
    keys: &'k [CosignerKey],
    checkpoint_text: &str,
    sigs: &[NoteSignature],
    not_after: u64,
) -> Vec<(&'k CosignerKey, Cosigned)> {
    keys.iter()
        .map(|k| {
            let outcome = match sigs.iter().find(|s| k.is_signer_of(s)) {
                None => Cosigned::Missing,
                Some(s) => match k.verify(checkpoint_text, s) {
                    Ok(t) if t > not_after => {
                        Cosigned::Invalid(format!("its time {t} is in the future"))
                    }
                    Ok(t) => Cosigned::Valid(t),
                    Err(e) => Cosigned::Invalid(e.to_string()),
                },
            };
            (k, outcome)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::note::Note;
    use crate::signing::{KeyError, SigningKey, Verifiers};

    const CHECKPOINT: &str =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

    #[test]
    fn the_signed_message_is_the_specs_example_byte_for_byte() {
        // C2SP tlog-cosignature, "Ed25519 signed message".
        assert_eq!(
            signed_message(CHECKPOINT, 1679315147),
            b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        );
    }

    #[test]
    fn key_id_uses_type_byte_4_and_the_key_text_round_trips() {
        let w = Cosigner::from_seed("witness.example/w1", &[9; 32]).unwrap();
        let public = w.public();
        let mut h = sha2::Sha256::new();
        use sha2::Digest as _;
        h.update(b"witness.example/w1\n\x04");
        h.update(public.key.as_bytes());
        let d = h.finalize();
        assert_eq!(w.key_id(), u32::from_be_bytes([d[0], d[1], d[2], d[3]]));
        let text = public.to_string();
        assert_eq!(CosignerKey::parse(&text).unwrap(), public);
        // The same name and key as a plain signed-note key has another id and type.
        let plain = SigningKey::from_seed("witness.example/w1", &[9; 32]).unwrap();
        assert_ne!(plain.key_id(), w.key_id());
        assert!(matches!(
            CosignerKey::parse(&plain.verifier().to_string()),
            Err(KeyError::UnsupportedType {
                found: 1,
                expected: 4
            })
        ));
        let again = Cosigner::from_signer_text(&w.to_signer_text()).unwrap();
        assert_eq!(again.public(), public);
    }

    #[test]
    fn a_cosignature_verifies_carries_its_time_and_fails_when_anything_changes() {
        let log = SigningKey::from_seed("example.com/behind-the-sofa", &[1; 32]).unwrap();
        let w = Cosigner::from_seed("witness.example/w1", &[2; 32]).unwrap();
        let mut note = Note::sign(CHECKPOINT, &[&log]).unwrap();
        let cosig = w.cosign(CHECKPOINT, 1679315147);
        assert_eq!(cosig.sig.len(), 72);
        assert_eq!(w.public().verify(CHECKPOINT, &cosig), Ok(1679315147));
        note.sigs.push(cosig.clone());
        // A reader that knows only the log's key still verifies the cosigned note.
        let text = note.to_string();
        let parsed = Note::parse(&text).unwrap();
        assert!(parsed.verify(&Verifiers::new(vec![log.verifier()])).is_ok());
        // Another checkpoint, another time, another key: refused.
        let other = CHECKPOINT.replace("20852163", "20852164");
        assert!(w.public().verify(&other, &cosig).is_err());
        let mut retimed = cosig.clone();
        retimed.sig[7] ^= 1;
        assert!(w.public().verify(CHECKPOINT, &retimed).is_err());
        let stranger = Cosigner::from_seed("witness.example/w1", &[3; 32]).unwrap();
        assert!(!stranger.public().is_signer_of(&cosig));
        assert!(stranger.public().verify(CHECKPOINT, &cosig).is_err());
        let mut short = cosig;
        short.sig.truncate(64);
        assert!(matches!(
            w.public().verify(CHECKPOINT, &short),
            Err(CosignatureError::Length(_, 64))
        ));
    }
}
