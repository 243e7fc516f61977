//! Ledger entries and their one byte encoding (the leaf hash is over exactly these bytes).
//!
//! # Encoding, versions 1, 2 and 3
//! An entry without a sender key id is written as version 1; an entry with one as version 3,
//! which is version 1 with the version byte `0x03` and fields 17 and 18 (the key id and the
//! signature's algorithm) appended. Version 2 (version 1 with field 17 alone) is what the
//! gateway wrote for a verified signature before SM2 was accepted, when every partner
//! signature was Ed25519; it is still decoded (its algorithm unrecorded, `sender_alg`
//! absent) and written again only for such an entry, so every entry ever written keeps its
//! bytes and its leaf hash.
//!
//! All integers are big-endian. `str` is a `u16` byte length then UTF-8; `opt X` is one
//! byte `0x00` (absent) or `0x01` followed by `X`; `time` is `i64` Unix seconds then `i16`
//! UTC offset in minutes; `hash` is 32 raw bytes.
//!
//! | # | field | type |
//! |---|---|---|
//! | 1 | version, `0x01` (no field 17), `0x02` (field 17) or `0x03` (fields 17 and 18) | u8 |
//! | 2 | step: 1 received, 2 forwarded, 3 decided, 4 delivered, 5 failed, 6 handed over (送达, the licence given to the applicant at the window) | u8 |
//! | 3 | gateway cross-province number | str |
//! | 4 | source platform's number | str |
//! | 5 | destination platform's number | opt str |
//! | 6 | source platform (`zj`, `sh`, …) | str |
//! | 7 | destination platform | str |
//! | 8 | item code | str |
//! | 9 | when the gateway recorded this step | time |
//! | 10 | time stated by the platform's document | opt time |
//! | 11 | SHA-256 of the exact bytes received | hash |
//! | 12 | SHA-256 of the exact bytes sent | opt hash |
//! | 13 | mapping version that turned 11 into 12 | str |
//! | 14 | salted hash of the applicant's identifier ([`salted_id_hash`]) | opt hash |
//! | 15 | decision: result u8 (1 approved, 2 rejected, 3 correction requested (补正)), licence number opt str, valid from opt str, valid to opt str (`YYYY-MM-DD`), issuing authority str | opt |
//! | 16 | reason code (for `failed`; a code, never free text with personal data) | opt str |
//! | 17 | versions 2 and 3: key id of the sending platform's RFC 9421 signature that the gateway verified on the bytes received, 1 to 64 bytes ([`MAX_SENDER_KEYID_LEN`]) | str |
//! | 18 | version 3 only: that signature's algorithm, 1 Ed25519 (`ed25519`), 2 SM2 with SM3 (`sm2-sm3`) | u8 |
//!
//! Decoding is strict: unknown versions, steps and decision results, flag bytes other than
//! 0/1, invalid UTF-8, a time's UTC offset beyond [`MAX_OFFSET_MINUTES`] either side, a
//! validity date that is not a calendar day written `YYYY-MM-DD` ([`is_calendar_date`]), an
//! empty or over-long sender key id, an unknown signature algorithm and trailing bytes are
//! refused, so every accepted byte string has exactly one meaning and
//! `encode(decode(b)) == b`. `docs/auditing.md` states the same rules for auditors (E1–E10);
//! `tests/all/audit_rules.rs` breaks each of them once.

use sha2::{Digest, Sha256};

/// The encoding version of an entry without a sender key id (field 17 absent).
pub const ENTRY_VERSION: u8 = 1;

/// The encoding version of an entry with a sender key id: version 1 plus field 17. A new
/// version rather than a new optional field, so that version-1 bytes (and leaf hashes) of
/// entries already in ledgers stay exactly as they are.
pub const ENTRY_VERSION_SENDER_KEYID: u8 = 2;

/// The encoding version of an entry with a sender key id and that signature's algorithm:
/// version 2 plus field 18. What the gateway writes for every verified partner signature
/// since partners may sign with SM2 as well as Ed25519.
pub const ENTRY_VERSION_SENDER_ALG: u8 = 3;

/// The algorithm of a partner's verified signature (field 18).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SignatureAlg {
    /// Ed25519 (RFC 8032), RFC 9421 `alg="ed25519"`.
    #[serde(rename = "ed25519")]
    Ed25519 = 1,
    /// SM2 with SM3 (GM/T 0003, 0004, 0009), tongban's RFC 9421 `alg="sm2-sm3"`.
    #[serde(rename = "sm2-sm3")]
    Sm2Sm3 = 2,
}

/// Longest sender key id, in bytes. RFC 9421 leaves `keyid` free-form; 64 bytes holds the
/// usual forms (an 8-hex-digit C2SP key id, a 43-character JWK thumbprint, a short name) and
/// keeps an entry from carrying an arbitrary string a platform chose.
pub const MAX_SENDER_KEYID_LEN: usize = 64;

/// Largest UTC offset of a time, in minutes either side (18 hours, the widest offset
/// `java.time` and most time libraries represent; every zone in use is within 14 hours).
pub const MAX_OFFSET_MINUTES: i16 = 1080;

/// Domain-separation label for [`salted_id_hash`], so these hashes cannot be confused with
/// document or leaf hashes.
const ID_HASH_LABEL: &[u8] = b"tongban/id-hash/v1\0";

/// Which step of the cross-province flow an entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// The gateway accepted a document from the source platform.
    Received = 1,
    /// The gateway forwarded the translated document to the destination platform.
    Forwarded = 2,
    /// The destination platform's decision arrived.
    Decided = 3,
    /// The decision was delivered back to the source platform.
    Delivered = 4,
    /// A step failed for good (reason code in the entry).
    Failed = 5,
    /// The window handed the decision (and licence) to the applicant (送达).
    HandedOver = 6,
}

/// The result of a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DecisionResult {
    /// The licence was granted.
    Approved = 1,
    /// The application was refused.
    Rejected = 2,
    /// Materials must be corrected (补正) before a decision.
    Correction = 3,
}

/// An instant as Unix seconds plus the UTC offset it was stated in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Instant {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub unix: i64,
    /// Offset from UTC in minutes (+480 for China Standard Time).
    pub offset_minutes: i16,
}

/// The decision block of a `decided` (or `delivered`) entry.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Decision {
    /// Approved or rejected.
    pub result: DecisionResult,
    /// Licence number, when one was issued.
    pub licence_no: Option<String>,
    /// First day of validity, `YYYY-MM-DD`.
    pub valid_from: Option<String>,
    /// Last day of validity, `YYYY-MM-DD`.
    pub valid_to: Option<String>,
    /// The issuing authority (an organisation, not a person).
    pub authority: String,
}

/// One ledger entry. Holds no personal data in clear.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    /// The step recorded.
    pub step: Step,
    /// The gateway's cross-province number (the same on every send of one application).
    pub gateway_no: String,
    /// The source platform's own number for the application.
    pub source_no: String,
    /// The destination platform's number, once it has given one.
    pub destination_no: Option<String>,
    /// Source platform code (`zj`, `sh`).
    pub source_platform: String,
    /// Destination platform code.
    pub destination_platform: String,
    /// Item code key.
    pub item: String,
    /// When the gateway recorded the step.
    pub at: Instant,
    /// The time stated in the platform's document, if any.
    pub source_time: Option<Instant>,
    /// SHA-256 of the exact bytes received.
    #[serde(with = "hex_hash")]
    pub received_sha256: [u8; 32],
    /// SHA-256 of the exact bytes sent, if anything was sent.
    #[serde(with = "hex_opt_hash")]
    pub sent_sha256: Option<[u8; 32]>,
    /// Version of the mapping that translated the received bytes into the sent bytes.
    pub mapping_version: String,
    /// Salted hash of the applicant's identifier (see [`salted_id_hash`]).
    #[serde(with = "hex_opt_hash")]
    pub applicant_id_hash: Option<[u8; 32]>,
    /// The decision, for `decided` and `delivered` entries.
    pub decision: Option<Decision>,
    /// Reason code for `failed` entries.
    pub reason: Option<String>,
    /// Key id of the sending platform's RFC 9421 signature that the gateway verified on the
    /// bytes received (RECEIVED and DECIDED entries); absent when the platform did not sign.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender_keyid: Option<String>,
    /// The algorithm of that signature (version 3); absent when there is none, and in
    /// version-2 entries, written when every partner signature was Ed25519.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender_alg: Option<SignatureAlg>,
}

mod hex_hash {
    pub fn serialize<S: serde::Serializer>(h: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(h))
    }
}

mod hex_opt_hash {
    pub fn serialize<S: serde::Serializer>(h: &Option<[u8; 32]>, s: S) -> Result<S::Ok, S::Error> {
        match h {
            Some(h) => s.serialize_str(&hex::encode(h)),
            None => s.serialize_none(),
        }
    }
}

/// `SHA-256(label ‖ salt ‖ identifier)`: lets an auditor who is given one identifier and the
/// deployment's secret salt find that person's entries, while the ledger alone reveals
/// nothing (identifiers have too little entropy to be hashed unsalted).
pub fn salted_id_hash(salt: &[u8; 32], identifier: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(ID_HASH_LABEL);
    h.update(salt);
    h.update(identifier.as_bytes());
    h.finalize().into()
}

/// Why bytes are not a valid entry (or an entry cannot be encoded).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// Unknown encoding version.
    #[error("unknown entry version {0}")]
    Version(u8),
    /// The bytes end inside a field.
    #[error("truncated in field {0}")]
    Truncated(&'static str),
    /// A field holds an invalid value.
    #[error("invalid field {0}")]
    Invalid(&'static str),
    /// Bytes after the last field.
    #[error("{0} trailing bytes")]
    Trailing(usize),
    /// A string is longer than 65535 bytes.
    #[error("field {0} is longer than 65535 bytes")]
    TooLong(&'static str),
    /// A signature algorithm without a sender key id (only encoding refuses it: the
    /// decoder reads the algorithm only after the key id).
    #[error("sender_alg is set but sender_keyid is not")]
    AlgWithoutKeyId,
    /// The sender key id is empty or longer than [`MAX_SENDER_KEYID_LEN`] bytes.
    #[error("sender_keyid is {0} bytes long; it must be 1 to {MAX_SENDER_KEYID_LEN} bytes")]
    SenderKeyIdLength(usize),
    /// A time's UTC offset is outside [`MAX_OFFSET_MINUTES`] either side.
    #[error("{field}: UTC offset {minutes:+} minutes is outside -{MAX_OFFSET_MINUTES} to +{MAX_OFFSET_MINUTES} minutes (18 hours either side)")]
    Offset {
        /// `at` or `source_time`.
        field: &'static str,
        /// The offset found.
        minutes: i16,
    },
    /// A decision's validity date is not a calendar date written `YYYY-MM-DD`.
    #[error("{field}: {value:?} is not a calendar date written YYYY-MM-DD")]
    Date {
        /// `decision.valid_from` or `decision.valid_to`.
        field: &'static str,
        /// The text found.
        value: String,
    },
}

struct W(Vec<u8>);

impl W {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn str(&mut self, field: &'static str, s: &str) -> Result<(), EntryError> {
        let len = u16::try_from(s.len()).map_err(|_| EntryError::TooLong(field))?;
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
    fn opt_str(&mut self, field: &'static str, s: &Option<String>) -> Result<(), EntryError> {
        match s {
            None => self.u8(0),
            Some(s) => {
                self.u8(1);
                self.str(field, s)?;
            }
        }
        Ok(())
    }
    fn time(&mut self, t: &Instant) {
        self.0.extend_from_slice(&t.unix.to_be_bytes());
        self.0.extend_from_slice(&t.offset_minutes.to_be_bytes());
    }
    fn opt_hash(&mut self, h: &Option<[u8; 32]>) {
        match h {
            None => self.u8(0),
            Some(h) => {
                self.u8(1);
                self.0.extend_from_slice(h);
            }
        }
    }
}

struct R<'a>(&'a [u8]);

impl<'a> R<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], EntryError> {
        if self.0.len() < n {
            return Err(EntryError::Truncated(field));
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u8(&mut self, field: &'static str) -> Result<u8, EntryError> {
        Ok(self.take(1, field)?[0])
    }
    fn flag(&mut self, field: &'static str) -> Result<bool, EntryError> {
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(EntryError::Invalid(field)),
        }
    }
    fn str(&mut self, field: &'static str) -> Result<String, EntryError> {
        let len = u16::from_be_bytes(self.take(2, field)?.try_into().expect("2 bytes"));
        let b = self.take(len as usize, field)?;
        String::from_utf8(b.to_vec()).map_err(|_| EntryError::Invalid(field))
    }
    fn opt_str(&mut self, field: &'static str) -> Result<Option<String>, EntryError> {
        Ok(if self.flag(field)? {
            Some(self.str(field)?)
        } else {
            None
        })
    }
    fn time(&mut self, field: &'static str) -> Result<Instant, EntryError> {
        let unix = i64::from_be_bytes(self.take(8, field)?.try_into().expect("8 bytes"));
        let offset_minutes = i16::from_be_bytes(self.take(2, field)?.try_into().expect("2"));
        let t = Instant {
            unix,
            offset_minutes,
        };
        offset_ok(field, &t)?;
        Ok(t)
    }
    fn hash(&mut self, field: &'static str) -> Result<[u8; 32], EntryError> {
        Ok(self.take(32, field)?.try_into().expect("32 bytes"))
    }
    fn opt_hash(&mut self, field: &'static str) -> Result<Option<[u8; 32]>, EntryError> {
        Ok(if self.flag(field)? {
            Some(self.hash(field)?)
        } else {
            None
        })
    }
}

fn offset_ok(field: &'static str, t: &Instant) -> Result<(), EntryError> {
    if !(-MAX_OFFSET_MINUTES..=MAX_OFFSET_MINUTES).contains(&t.offset_minutes) {
        return Err(EntryError::Offset {
            field,
            minutes: t.offset_minutes,
        });
    }
    Ok(())
}

/// Whether `d` is `YYYY-MM-DD` (ten ASCII characters, four-digit year 0000-9999) naming a day
/// of the proleptic Gregorian calendar: `2024-02-29` is one, `2026-02-30` and `2026-04-31`
/// are not.
pub fn is_calendar_date(d: &str) -> bool {
    let b = d.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    shaped
        && match (d[..4].parse(), d[5..7].parse(), d[8..10].parse()) {
            (Ok(y), Ok(m), Ok(day)) => chrono::NaiveDate::from_ymd_opt(y, m, day).is_some(),
            _ => false,
        }
}

fn dates_ok(d: &Decision) -> Result<(), EntryError> {
    for (field, date) in [
        ("decision.valid_from", &d.valid_from),
        ("decision.valid_to", &d.valid_to),
    ] {
        if let Some(value) = date.as_ref().filter(|v| !is_calendar_date(v)) {
            return Err(EntryError::Date {
                field,
                value: value.clone(),
            });
        }
    }
    Ok(())
}

fn sender_keyid_ok(k: &str) -> Result<(), EntryError> {
    if k.is_empty() || k.len() > MAX_SENDER_KEYID_LEN {
        return Err(EntryError::SenderKeyIdLength(k.len()));
    }
    Ok(())
}

impl Entry {
    /// The encoding (see the module documentation): version 1, version 3 when the entry has
    /// a sender key id and algorithm, version 2 when it has a key id alone. Refuses values
    /// the decoder would refuse (such as an empty or over-long sender key id), so encoded
    /// bytes always decode.
    pub fn encode(&self) -> Result<Vec<u8>, EntryError> {
        let mut w = W(Vec::with_capacity(192));
        match (&self.sender_keyid, self.sender_alg) {
            (None, None) => w.u8(ENTRY_VERSION),
            (None, Some(_)) => return Err(EntryError::AlgWithoutKeyId),
            (Some(k), alg) => {
                sender_keyid_ok(k)?;
                w.u8(if alg.is_some() {
                    ENTRY_VERSION_SENDER_ALG
                } else {
                    ENTRY_VERSION_SENDER_KEYID
                });
            }
        }
        w.u8(self.step as u8);
        w.str("gateway_no", &self.gateway_no)?;
        w.str("source_no", &self.source_no)?;
        w.opt_str("destination_no", &self.destination_no)?;
        w.str("source_platform", &self.source_platform)?;
        w.str("destination_platform", &self.destination_platform)?;
        w.str("item", &self.item)?;
        offset_ok("at", &self.at)?;
        w.time(&self.at);
        match &self.source_time {
            None => w.u8(0),
            Some(t) => {
                offset_ok("source_time", t)?;
                w.u8(1);
                w.time(t);
            }
        }
        w.0.extend_from_slice(&self.received_sha256);
        w.opt_hash(&self.sent_sha256);
        w.str("mapping_version", &self.mapping_version)?;
        w.opt_hash(&self.applicant_id_hash);
        match &self.decision {
            None => w.u8(0),
            Some(d) => {
                dates_ok(d)?;
                w.u8(1);
                w.u8(d.result as u8);
                w.opt_str("licence_no", &d.licence_no)?;
                w.opt_str("valid_from", &d.valid_from)?;
                w.opt_str("valid_to", &d.valid_to)?;
                w.str("authority", &d.authority)?;
            }
        }
        w.opt_str("reason", &self.reason)?;
        if let Some(k) = &self.sender_keyid {
            w.str("sender_keyid", k)?;
        }
        if let Some(alg) = self.sender_alg {
            w.u8(alg as u8);
        }
        Ok(w.0)
    }

    /// Decodes version-1, version-2 or version-3 bytes strictly.
    pub fn decode(bytes: &[u8]) -> Result<Entry, EntryError> {
        let mut r = R(bytes);
        let v = r.u8("version")?;
        if ![
            ENTRY_VERSION,
            ENTRY_VERSION_SENDER_KEYID,
            ENTRY_VERSION_SENDER_ALG,
        ]
        .contains(&v)
        {
            return Err(EntryError::Version(v));
        }
        let step = match r.u8("step")? {
            1 => Step::Received,
            2 => Step::Forwarded,
            3 => Step::Decided,
            4 => Step::Delivered,
            5 => Step::Failed,
            6 => Step::HandedOver,
            _ => return Err(EntryError::Invalid("step")),
        };
        let gateway_no = r.str("gateway_no")?;
        let source_no = r.str("source_no")?;
        let destination_no = r.opt_str("destination_no")?;
        let source_platform = r.str("source_platform")?;
        let destination_platform = r.str("destination_platform")?;
        let item = r.str("item")?;
        let at = r.time("at")?;
        let source_time = if r.flag("source_time")? {
            Some(r.time("source_time")?)
        } else {
            None
        };
        let received_sha256 = r.hash("received_sha256")?;
        let sent_sha256 = r.opt_hash("sent_sha256")?;
        let mapping_version = r.str("mapping_version")?;
        let applicant_id_hash = r.opt_hash("applicant_id_hash")?;
        let decision = if r.flag("decision")? {
            let result = match r.u8("decision.result")? {
                1 => DecisionResult::Approved,
                2 => DecisionResult::Rejected,
                3 => DecisionResult::Correction,
                _ => return Err(EntryError::Invalid("decision.result")),
            };
            let d = Decision {
                result,
                licence_no: r.opt_str("decision.licence_no")?,
                valid_from: r.opt_str("decision.valid_from")?,
                valid_to: r.opt_str("decision.valid_to")?,
                authority: r.str("decision.authority")?,
            };
            dates_ok(&d)?;
            Some(d)
        } else {
            None
        };
        let reason = r.opt_str("reason")?;
        let sender_keyid = if v != ENTRY_VERSION {
            let k = r.str("sender_keyid")?;
            sender_keyid_ok(&k)?;
            Some(k)
        } else {
            None
        };
        let sender_alg = if v == ENTRY_VERSION_SENDER_ALG {
            match r.u8("sender_alg")? {
                1 => Some(SignatureAlg::Ed25519),
                2 => Some(SignatureAlg::Sm2Sm3),
                _ => return Err(EntryError::Invalid("sender_alg")),
            }
        } else {
            None
        };
        if !r.0.is_empty() {
            return Err(EntryError::Trailing(r.0.len()));
        }
        Ok(Entry {
            step,
            gateway_no,
            source_no,
            destination_no,
            source_platform,
            destination_platform,
            item,
            at,
            source_time,
            received_sha256,
            sent_sha256,
            mapping_version,
            applicant_id_hash,
            decision,
            reason,
            sender_keyid,
            sender_alg,
        })
    }

    /// A representative entry for tests and benchmarks (no real data).
    pub fn example(n: u64) -> Entry {
        Entry {
            step: Step::Decided,
            gateway_no: format!("YRD-ZJ-SH-2026-{n:08}"),
            source_no: format!("ZJ330106{n:010}"),
            destination_no: Some(format!("SH310104{n:010}")),
            source_platform: "zj".into(),
            destination_platform: "sh".into(),
            item: "food-business-licence".into(),
            at: Instant {
                unix: 1_790_000_000 + n as i64,
                offset_minutes: 480,
            },
            source_time: None,
            received_sha256: Sha256::digest(n.to_be_bytes()).into(),
            sent_sha256: Some(Sha256::digest((n + 1).to_be_bytes()).into()),
            mapping_version: "zj2sh-1.4.0".into(),
            applicant_id_hash: Some(salted_id_hash(&[9; 32], &format!("id-{n}"))),
            decision: Some(Decision {
                result: DecisionResult::Approved,
                licence_no: Some(format!("JY231010400{n:05}")),
                valid_from: Some("2026-11-23".into()),
                valid_to: Some("2031-11-22".into()),
                authority: "上海市徐汇区市场监督管理局".into(),
            }),
            reason: None,
            sender_keyid: None,
            sender_alg: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips_and_is_canonical() {
        let mut e = Entry::example(42);
        let b = e.encode().unwrap();
        assert_eq!(Entry::decode(&b).unwrap(), e);
        e.decision = None;
        e.sent_sha256 = None;
        e.reason = Some("destination-refused".into());
        e.step = Step::Failed;
        let b = e.encode().unwrap();
        assert_eq!(Entry::decode(&b).unwrap().encode().unwrap(), b);
    }

    #[test]
    fn encoding_starts_with_version_and_step_bytes() {
        let b = Entry::example(1).encode().unwrap();
        assert_eq!(&b[..2], &[ENTRY_VERSION, Step::Decided as u8]);
    }

    #[test]
    fn trailing_truncated_and_bad_flag_bytes_are_refused() {
        let b = Entry::example(7).encode().unwrap();
        let mut t = b.clone();
        t.push(0);
        assert_eq!(Entry::decode(&t), Err(EntryError::Trailing(1)));
        for cut in 0..b.len() {
            assert!(Entry::decode(&b[..cut]).is_err(), "cut at {cut}");
        }
        let mut v = b.clone();
        v[0] = 4;
        assert_eq!(Entry::decode(&v), Err(EntryError::Version(4)));
        // A version-1 body labelled version 2 lacks field 17.
        v[0] = ENTRY_VERSION_SENDER_KEYID;
        assert_eq!(
            Entry::decode(&v),
            Err(EntryError::Truncated("sender_keyid"))
        );
        let mut s = b;
        s[1] = 9;
        assert_eq!(Entry::decode(&s), Err(EntryError::Invalid("step")));
    }

    /// Bytes of `Entry::example(1)` as written before version 2 existed: entries without a
    /// sender key id must keep exactly these bytes (and so their leaf hashes).
    const EXAMPLE_1_V1: &str = "010300175952442d5a4a2d53482d323032362d303030303030303100125a4a3333303130363030303030303030303101001253483331303130343030303030303030303100027a6a000273680015666f6f642d627573696e6573732d6c6963656e6365000000006ab13b8101e000cd2662154e6d76b2b2b92e70c0cac3ccf534f9b74eb5b89819ec509083d00a5001cd04a4754498e06db5a13c5f371f1f04ff6d2470f24aa9bd886540e5dce77f70000b7a6a3273682d312e342e30010dcef9c15d2afe349e5f6d3bb163e7b0c6ca0429c269cced7ea5c227ce6fff0f01010100104a59323331303130343030303030303101000a323032362d31312d323301000a323033312d31312d32320027e4b88ae6b5b7e5b882e5be90e6b187e58cbae5b882e59cbae79b91e79da3e7aea1e79086e5b18000";

    #[test]
    fn entry_without_sender_keyid_keeps_its_version_1_bytes_and_leaf_hash() {
        let b = Entry::example(1).encode().unwrap();
        assert_eq!(b[0], 1);
        assert_eq!(hex::encode(&b), EXAMPLE_1_V1);
        assert_eq!(
            hex::encode(crate::ledger::merkle::leaf_hash(&b)),
            "858cd61f40e9165a0a6e35f20f77e3325968fdf73083ef7906b667bfc6777601"
        );
    }

    fn signed(n: u64, keyid: &str) -> Entry {
        Entry {
            sender_keyid: Some(keyid.into()),
            ..Entry::example(n)
        }
    }

    #[test]
    fn entry_with_sender_keyid_is_version_2_and_round_trips() {
        let e = signed(1, "zj-2026-a");
        let b = e.encode().unwrap();
        assert_eq!(&b[..2], &[ENTRY_VERSION_SENDER_KEYID, Step::Decided as u8]);
        assert_eq!(b[0], 2);
        // Version 1 with the version byte changed and field 17 appended.
        let v1 = hex::decode(EXAMPLE_1_V1).unwrap();
        assert_eq!(&b[1..v1.len()], &v1[1..]);
        assert_eq!(&b[v1.len()..], b"\x00\x09zj-2026-a");
        assert_eq!(Entry::decode(&b).unwrap(), e);
        assert_eq!(Entry::decode(&b).unwrap().encode().unwrap(), b);
        let longest = signed(2, &"k".repeat(MAX_SENDER_KEYID_LEN));
        let b = longest.encode().unwrap();
        assert_eq!(Entry::decode(&b).unwrap(), longest);
        for cut in 0..b.len() {
            assert!(Entry::decode(&b[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn empty_or_over_long_sender_keyid_is_refused_by_decode_and_encode() {
        let v1 = Entry::example(5).encode().unwrap();
        let v2_with = |keyid: &[u8]| {
            let mut b = v1.clone();
            b[0] = ENTRY_VERSION_SENDER_KEYID;
            b.extend_from_slice(&(keyid.len() as u16).to_be_bytes());
            b.extend_from_slice(keyid);
            b
        };
        assert!(Entry::decode(&v2_with(b"k1")).is_ok());
        assert_eq!(
            Entry::decode(&v2_with(b"")),
            Err(EntryError::SenderKeyIdLength(0))
        );
        assert_eq!(
            Entry::decode(&v2_with(&[b'k'; MAX_SENDER_KEYID_LEN + 1])),
            Err(EntryError::SenderKeyIdLength(MAX_SENDER_KEYID_LEN + 1))
        );
        let mut t = v2_with(b"k1");
        t.push(0);
        assert_eq!(Entry::decode(&t), Err(EntryError::Trailing(1)));
        let mut v4 = v2_with(b"k1");
        v4[0] = 4;
        assert_eq!(Entry::decode(&v4), Err(EntryError::Version(4)));

        assert_eq!(
            signed(5, "").encode(),
            Err(EntryError::SenderKeyIdLength(0))
        );
        assert_eq!(
            signed(5, &"k".repeat(MAX_SENDER_KEYID_LEN + 1)).encode(),
            Err(EntryError::SenderKeyIdLength(MAX_SENDER_KEYID_LEN + 1))
        );
    }

    #[test]
    fn json_has_sender_keyid_only_when_present() {
        let j = serde_json::to_value(Entry::example(1)).unwrap();
        assert!(j.get("sender_keyid").is_none(), "{j}");
        assert_eq!(j["reason"], serde_json::Value::Null);
        let j = serde_json::to_value(signed(1, "sh-key-7")).unwrap();
        assert_eq!(j["sender_keyid"], "sh-key-7");
    }

    #[test]
    fn bad_validity_date_cannot_be_encoded() {
        let mut e = Entry::example(3);
        e.decision.as_mut().unwrap().valid_to = Some("2031-13-01".into());
        assert_eq!(
            e.encode(),
            Err(EntryError::Date {
                field: "decision.valid_to",
                value: "2031-13-01".into()
            })
        );
    }

    #[test]
    fn validity_dates_are_calendar_days() {
        for ok in [
            "2024-02-29",
            "2026-02-28",
            "2026-12-31",
            "0000-01-01",
            "9999-12-31",
        ] {
            assert!(is_calendar_date(ok), "{ok}");
        }
        for bad in [
            "2026-02-30",
            "2026-02-29",
            "2026-04-31",
            "1900-02-29",
            "2026-00-10",
            "2026-01-00",
            "2026-1-01",
            "+2026-01-01",
            "2026/01/01",
            "２０２６-01-01",
            "",
        ] {
            assert!(!is_calendar_date(bad), "{bad}");
        }
    }

    /// Replaces the first occurrence of `from` in `b` (a field's bytes, found by value).
    fn patched(b: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
        let at = b.windows(from.len()).position(|w| w == from).unwrap();
        let mut out = b.to_vec();
        out[at..at + from.len()].copy_from_slice(to);
        out
    }

    #[test]
    fn decode_names_the_date_that_is_not_a_calendar_day() {
        let b = Entry::example(3).encode().unwrap();
        let feb30 = patched(&b, b"2031-11-22", b"2026-02-30");
        assert_eq!(
            Entry::decode(&feb30),
            Err(EntryError::Date {
                field: "decision.valid_to",
                value: "2026-02-30".into()
            })
        );
        let leap = patched(&b, b"2026-11-23", b"2024-02-29");
        assert!(Entry::decode(&leap).is_ok());
        let from = patched(&b, b"2026-11-23", b"2026-13-01");
        assert!(matches!(
            Entry::decode(&from),
            Err(EntryError::Date {
                field: "decision.valid_from",
                ..
            })
        ));
    }

    #[test]
    fn offsets_beyond_18_hours_are_refused_naming_the_time() {
        let mut e = Entry::example(4);
        e.source_time = Some(Instant {
            unix: 1_790_000_000,
            offset_minutes: MAX_OFFSET_MINUTES,
        });
        let b = e.encode().unwrap();
        assert_eq!(Entry::decode(&b).unwrap(), e);
        e.source_time.as_mut().unwrap().offset_minutes = MAX_OFFSET_MINUTES + 1;
        assert_eq!(
            e.encode(),
            Err(EntryError::Offset {
                field: "source_time",
                minutes: 1081
            })
        );
        // Field 9's offset (480, China Standard Time) written as +2000 minutes.
        let b = Entry::example(4).encode().unwrap();
        let time =
            |offset: i16| [&1_790_000_004i64.to_be_bytes()[..], &offset.to_be_bytes()].concat();
        let b = patched(&b, &time(480), &time(2000));
        assert_eq!(
            Entry::decode(&b),
            Err(EntryError::Offset {
                field: "at",
                minutes: 2000
            })
        );
        assert_eq!(
            EntryError::Offset {
                field: "at",
                minutes: 2000
            }
            .to_string(),
            "at: UTC offset +2000 minutes is outside -1080 to +1080 minutes (18 hours either side)"
        );
    }

    #[test]
    fn entry_with_sender_algorithm_is_version_3_and_version_2_bytes_stay_as_they_were() {
        let v2 = signed(7, "sh-key-7");
        let v2_bytes = v2.encode().unwrap();
        assert_eq!(v2_bytes[0], ENTRY_VERSION_SENDER_KEYID);
        for (alg, byte) in [(SignatureAlg::Ed25519, 1u8), (SignatureAlg::Sm2Sm3, 2)] {
            let e = Entry {
                sender_alg: Some(alg),
                ..v2.clone()
            };
            let b = e.encode().unwrap();
            // Version 2 with the version byte changed and field 18 appended.
            let mut want = v2_bytes.clone();
            want[0] = ENTRY_VERSION_SENDER_ALG;
            want.push(byte);
            assert_eq!(b, want);
            assert_eq!(Entry::decode(&b).unwrap(), e);
        }
        // A version-2 entry decodes with no algorithm recorded, and encodes back to itself.
        let back = Entry::decode(&v2_bytes).unwrap();
        assert_eq!(back.sender_alg, None);
        assert_eq!(back.encode().unwrap(), v2_bytes);
        // An unknown algorithm byte, or none at all, is refused.
        let mut bad = v2_bytes.clone();
        bad[0] = ENTRY_VERSION_SENDER_ALG;
        assert_eq!(
            Entry::decode(&bad),
            Err(EntryError::Truncated("sender_alg"))
        );
        bad.push(3);
        assert_eq!(Entry::decode(&bad), Err(EntryError::Invalid("sender_alg")));
        // An algorithm without a key id cannot be encoded.
        let e = Entry {
            sender_alg: Some(SignatureAlg::Sm2Sm3),
            ..Entry::example(1)
        };
        assert_eq!(e.encode(), Err(EntryError::AlgWithoutKeyId));
        let j = serde_json::to_value(Entry {
            sender_alg: Some(SignatureAlg::Sm2Sm3),
            ..v2
        })
        .unwrap();
        assert_eq!(j["sender_alg"], "sm2-sm3");
    }
}
