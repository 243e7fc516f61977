//! The C2SP `tlog-witness` add-checkpoint request and the witness's answer to it. Pure: no I/O,
//! no clock, no state of its own.
//!
//! A request body is, each line ending in a newline:
//! ```text
//! old <size of the checkpoint the witness last cosigned, decimal, no leading zeroes>
//! <base64 of a 32-byte hash>          zero to 63 consistency proof lines
//!                                     an empty line
//! <checkpoint, as a signed note>
//! ```
//! The checks run in the order the spec states them, each with its status:
//! 1. the body is well formed ([`parse`]), else **400**;
//! 2. the checkpoint's origin is a log the witness knows, else **404**;
//! 3. a trusted key of that log signed it and no trusted key's signature fails, else **403**;
//! 4. `old` is at most the checkpoint's size, else **400**
//!    (2–4: [`authenticate`], which needs no state);
//! 5. `old` is the size of the checkpoint the witness last cosigned for the origin (0 if
//!    none), else **409** with that size as the body, `text/x.tlog.size`;
//! 6. a checkpoint of size 0 has the empty tree's root; a proof from old size 0 is empty; a
//!    proof from a larger old size verifies (RFC 6962 §2.1.2) from the stored root to the new
//!    one; an old size equal to the new size has the same root (and no proof); else **422**
//!    (5–6: [`check_consistency`], against the stored checkpoint, under the origin's lock).
//!
//! Only then is the checkpoint cosigned, stored and answered with **200**.

use std::collections::HashMap;
use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::ledger::checkpoint::Checkpoint;
use crate::ledger::merkle::{self, Hash};
use crate::signing::{Note, NoteError, NoteSignature, VerifierKey, Verifiers};

/// Most consistency proof lines a request may carry (the spec's client limit; a proof between
/// trees of up to 2⁶⁴ leaves never needs more).
pub const MAX_PROOF_LINES: usize = 63;

/// `Content-Type` of a 409 answer's body (the stored size and a newline).
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// `Content-Type` of every other answer: cosignature lines, checkpoints and refusal reasons.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; charset=utf-8";

/// A parsed add-checkpoint request; its signatures are not checked yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the checkpoint the client believes the witness last cosigned.
    pub old: u64,
    /// The consistency proof from `old` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The checkpoint's body (origin, size, root).
    pub checkpoint: Checkpoint,
    /// The checkpoint as the signed note it came in.
    pub note: Note,
}

/// Why the witness does not cosign, with the status the spec gives it. The text (its
/// `Display`) names the problem; it is the body of every refusal but 409.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// 400: the body is not an add-checkpoint request (which rule it breaks is said).
    Malformed(String),
    /// 400: the old size is above the checkpoint's size.
    OldAboveSize {
        /// Old size of the request.
        old: u64,
        /// Size of the checkpoint.
        size: u64,
    },
    /// 404: no log with this origin is witnessed here.
    UnknownOrigin(String),
    /// 403: no signature of a key trusted for the origin.
    NoTrustedSignature(String),
    /// 403: a trusted key's signature does not verify.
    BadSignature {
        /// The key, `name+hexid`.
        key: String,
    },
    /// 409: the old size is not the size of the checkpoint the witness last cosigned.
    Conflict {
        /// The size the witness last cosigned (0 if none).
        stored: u64,
        /// The old size of the request.
        old: u64,
    },
    /// 422: a checkpoint of size 0 whose root is not the empty tree's.
    EmptyTreeRoot,
    /// 422: a proof from old size 0 (the empty tree needs none).
    ProofFromZero {
        /// Proof lines received.
        lines: usize,
    },
    /// 422: a proof between equal sizes (none can exist).
    ProofForEqualSizes {
        /// Proof lines received.
        lines: usize,
    },
    /// 422: same size as the checkpoint last cosigned, different root.
    RootMismatch {
        /// The common size.
        size: u64,
    },
    /// 422: the consistency proof from the stored checkpoint does not verify.
    ProofFails {
        /// Old size.
        old: u64,
        /// New size.
        size: u64,
        /// What the verifier found.
        why: merkle::VerifyError,
    },
}

impl Refusal {
    /// The HTTP status the spec prescribes.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Malformed(_) | Refusal::OldAboveSize { .. } => 400,
            Refusal::NoTrustedSignature(_) | Refusal::BadSignature { .. } => 403,
            Refusal::UnknownOrigin(_) => 404,
            Refusal::Conflict { .. } => 409,
            Refusal::EmptyTreeRoot
            | Refusal::ProofFromZero { .. }
            | Refusal::ProofForEqualSizes { .. }
            | Refusal::RootMismatch { .. }
            | Refusal::ProofFails { .. } => 422,
        }
    }

    /// Whether the refused checkpoint (validly signed by a known log) may show the log
    /// misbehaving, so both checkpoints are kept as evidence: a false root for the empty tree,
    /// two roots for one size, or no consistency shown with the checkpoint cosigned before.
    /// A proof that cannot exist for the sizes given is the request's fault, not the log's.
    pub fn is_evidence(&self) -> bool {
        matches!(
            self,
            Refusal::EmptyTreeRoot | Refusal::RootMismatch { .. } | Refusal::ProofFails { .. }
        )
    }

    /// The answer's body: for 409 exactly the stored size and a newline, as the spec requires;
    /// otherwise the reason, one line.
    pub fn body(&self) -> String {
        match self {
            Refusal::Conflict { stored, .. } => format!("{stored}\n"),
            other => format!("{other}\n"),
        }
    }

    /// The answer's `Content-Type`.
    pub fn content_type(&self) -> &'static str {
        match self {
            Refusal::Conflict { .. } => SIZE_CONTENT_TYPE,
            _ => TEXT_CONTENT_TYPE,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Malformed(why) => write!(f, "malformed add-checkpoint request: {why}"),
            Refusal::OldAboveSize { old, size } => write!(
                f,
                "old size {old} is above the checkpoint's size {size}"
            ),
            Refusal::UnknownOrigin(origin) => {
                write!(f, "this witness does not witness a log with origin {origin:?}")
            }
            Refusal::NoTrustedSignature(origin) => write!(
                f,
                "the checkpoint has no signature by a key this witness trusts for {origin:?}"
            ),
            Refusal::BadSignature { key } => {
                write!(f, "the signature by trusted key {key} does not verify")
            }
            Refusal::Conflict { stored, old } => write!(
                f,
                "old size {old} is not {stored}, the size of the checkpoint this witness last cosigned"
            ),
            Refusal::EmptyTreeRoot => write!(
                f,
                "a checkpoint of size 0 must have the empty tree's root (SHA-256 of the empty string)"
            ),
            Refusal::ProofFromZero { lines } => write!(
                f,
                "old size 0 takes no consistency proof (the empty tree is consistent with every tree), got {lines} line(s)"
            ),
            Refusal::ProofForEqualSizes { lines } => write!(
                f,
                "old size equals the checkpoint's size: no consistency proof exists, got {lines} line(s)"
            ),
            Refusal::RootMismatch { size } => write!(
                f,
                "inconsistent: the checkpoint this witness cosigned at size {size} has a different root"
            ),
            Refusal::ProofFails { old, size, why } => write!(
                f,
                "the consistency proof from size {old} to {size} does not verify against the checkpoint this witness cosigned: {why}"
            ),
        }
    }
}

fn malformed(why: impl Into<String>) -> Refusal {
    Refusal::Malformed(why.into())
}

/// Parses a decimal with no leading zeroes (`0` itself allowed), as the spec writes sizes.
fn decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// Splits the next newline-terminated line off `rest`.
fn line<'a>(rest: &mut &'a str, what: &str) -> Result<&'a str, Refusal> {
    let (l, tail) = rest
        .split_once('\n')
        .ok_or_else(|| malformed(format!("{what} does not end in a newline")))?;
    *rest = tail;
    Ok(l)
}

/// Parses an add-checkpoint body exactly as the spec writes it (see the module's
/// documentation). Every refusal is a 400 naming the rule broken.
pub fn parse(body: &[u8]) -> Result<AddCheckpoint, Refusal> {
    let text = std::str::from_utf8(body).map_err(|_| malformed("the body is not UTF-8"))?;
    let mut rest = text;
    let first = line(&mut rest, "the old size line")?;
    let old = first
        .strip_prefix("old ")
        .ok_or_else(|| malformed("the first line must be `old <size>`"))?;
    let old = decimal(old).ok_or_else(|| {
        malformed(format!(
            "old size {old:?} is not a decimal without leading zeroes"
        ))
    })?;
    let mut proof = Vec::new();
    loop {
        let l = line(&mut rest, "a consistency proof line")?;
        if l.is_empty() {
            break;
        }
        if proof.len() == MAX_PROOF_LINES {
            return Err(malformed(format!(
                "more than {MAX_PROOF_LINES} consistency proof lines"
            )));
        }
        let hash: Hash = B64
            .decode(l)
            .ok()
            .and_then(|h| h.try_into().ok())
            .ok_or_else(|| {
                malformed(format!(
                    "consistency proof line {} is not the base64 of a 32-byte hash",
                    proof.len() + 1
                ))
            })?;
        proof.push(hash);
    }
    let note = Note::parse(rest).map_err(|e| malformed(format!("the checkpoint: {e}")))?;
    let checkpoint = Checkpoint::parse_text(&note.text)
        .map_err(|e| malformed(format!("the checkpoint: {e}")))?;
    Ok(AddCheckpoint {
        old,
        proof,
        checkpoint,
        note,
    })
}

/// The logs a witness knows: origin → the keys trusted to sign its checkpoints (several
/// during a key rotation).
#[derive(Clone, Debug, Default)]
pub struct KnownLogs {
    logs: HashMap<String, Verifiers>,
}

impl KnownLogs {
    /// The logs, each with its trusted keys.
    pub fn new(logs: impl IntoIterator<Item = (String, Vec<VerifierKey>)>) -> Self {
        Self {
            logs: logs
                .into_iter()
                .map(|(origin, keys)| (origin, Verifiers::new(keys)))
                .collect(),
        }
    }

    /// The keys trusted for `origin`, if the log is known.
    pub fn keys(&self, origin: &str) -> Option<&Verifiers> {
        self.logs.get(origin)
    }

    /// The known origins.
    pub fn origins(&self) -> impl Iterator<Item = &str> {
        self.logs.keys().map(String::as_str)
    }
}

/// Checks what needs no state (origin 404, signatures 403, old above size 400). Returns the
/// log's signatures that verified, which the cosigned checkpoint keeps.
pub fn authenticate(req: &AddCheckpoint, logs: &KnownLogs) -> Result<Vec<NoteSignature>, Refusal> {
    let origin = &req.checkpoint.origin;
    let keys = logs
        .keys(origin)
        .ok_or_else(|| Refusal::UnknownOrigin(origin.clone()))?;
    req.note.verify(keys).map_err(|e| match e {
        NoteError::BadSignature { name, key_id } => Refusal::BadSignature {
            key: format!("{name}+{key_id:08x}"),
        },
        _ => Refusal::NoTrustedSignature(origin.clone()),
    })?;
    if req.old > req.checkpoint.size {
        return Err(Refusal::OldAboveSize {
            old: req.old,
            size: req.checkpoint.size,
        });
    }
    Ok(req
        .note
        .known_signatures(keys)
        .into_iter()
        .map(|(_, s)| s.clone())
        .collect())
}

/// Checks the request against the checkpoint the witness last cosigned for its origin
/// (`None`: never): 409 when the old size is not its size, 422 when the new checkpoint is not
/// shown consistent with it. Run under the origin's lock, with the state that will be replaced.
pub fn check_consistency(req: &AddCheckpoint, stored: Option<&Checkpoint>) -> Result<(), Refusal> {
    let stored_size = stored.map_or(0, |c| c.size);
    if req.old != stored_size {
        return Err(Refusal::Conflict {
            stored: stored_size,
            old: req.old,
        });
    }
    let new = &req.checkpoint;
    if new.size == 0 && new.root != merkle::empty_root() {
        return Err(Refusal::EmptyTreeRoot);
    }
    let Some(stored) = stored.filter(|_| req.old > 0) else {
        // Old size 0: the empty tree is consistent with every tree.
        return if req.proof.is_empty() {
            Ok(())
        } else {
            Err(Refusal::ProofFromZero {
                lines: req.proof.len(),
            })
        };
    };
    if req.old == new.size {
        if stored.root != new.root {
            return Err(Refusal::RootMismatch { size: new.size });
        }
        if !req.proof.is_empty() {
            return Err(Refusal::ProofForEqualSizes {
                lines: req.proof.len(),
            });
        }
        return Ok(());
    }
    merkle::verify_consistency(req.old, new.size, &req.proof, &stored.root, &new.root).map_err(
        |why| Refusal::ProofFails {
            old: req.old,
            size: new.size,
            why,
        },
    )
}

/// The checkpoint as the witness keeps and serves it after cosigning: its body, the log's
/// signatures that verified, then the witness's cosignature.
pub fn cosigned_note(
    req: &AddCheckpoint,
    log_signatures: Vec<NoteSignature>,
    cosignature: NoteSignature,
) -> Note {
    let mut sigs = log_signatures;
    sigs.push(cosignature);
    Note {
        text: req.note.text.clone(),
        sigs,
    }
}

/// The 200 answer's body: the cosignature as a signed-note signature line.
pub fn cosignature_line(cosignature: &NoteSignature) -> String {
    let mut raw = cosignature.key_id.to_be_bytes().to_vec();
    raw.extend_from_slice(&cosignature.sig);
    format!("\u{2014} {} {}\n", cosignature.name, B64.encode(raw))
}

/// The monitoring path's name for a log: SHA-256 of its origin, lowercase hex.
pub fn origin_hash(origin: &str) -> String {
    hex::encode(Sha256::digest(origin.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::merkle::{consistency_proof, leaf_hash, root_from_leaves, Naive as Leaves};
    use crate::signing::SigningKey;

    const ORIGIN: &str = "tongban.example/ledger";

    fn leaves(n: u64, salt: u8) -> Leaves {
        Leaves((0..n).map(|i| leaf_hash(&[salt, i as u8])).collect())
    }

    fn log_key() -> SigningKey {
        SigningKey::from_seed(ORIGIN, &[1; 32]).unwrap()
    }

    fn checkpoint(t: &Leaves, size: u64) -> Checkpoint {
        Checkpoint {
            origin: ORIGIN.into(),
            size,
            root: root_from_leaves(&t.0[..size as usize]),
        }
    }

    fn body(old: u64, proof: &[Hash], cp: &Checkpoint, key: &SigningKey) -> Vec<u8> {
        let mut b = format!("old {old}\n");
        for h in proof {
            b.push_str(&B64.encode(h));
            b.push('\n');
        }
        b.push('\n');
        b.push_str(&cp.sign(&[key]).unwrap());
        b.into_bytes()
    }

    fn logs() -> KnownLogs {
        KnownLogs::new([(ORIGIN.to_owned(), vec![log_key().verifier()])])
    }

    /// Runs every check in order, as the server does.
    fn decide(body: &[u8], stored: Option<&Checkpoint>) -> Result<(), Refusal> {
        let req = parse(body)?;
        authenticate(&req, &logs())?;
        check_consistency(&req, stored)
    }

    #[test]
    fn every_answer_of_the_spec_in_a_table() {
        let t = leaves(20, 0);
        let fork = leaves(20, 1);
        let k = log_key();
        let stranger = SigningKey::from_seed(ORIGIN, &[2; 32]).unwrap();
        let other_name = SigningKey::from_seed("someone.example/else", &[1; 32]).unwrap();
        let cp = |n| checkpoint(&t, n);
        let proof = |m, n| consistency_proof(&t, m, n).unwrap();
        let s8 = cp(8);
        let mut empty_bad = cp(0);
        empty_bad.root = [7; 32];
        let mut unknown = cp(8);
        unknown.origin = "unknown.example/log".into();
        let mut tampered = String::from_utf8(body(8, &proof(8, 13), &cp(13), &k)).unwrap();
        tampered = tampered.replace("\n13\n", "\n14\n");

        type Case<'a> = (&'a str, Vec<u8>, Option<&'a Checkpoint>, Result<(), u16>);
        let cases: Vec<Case> = vec![
            ("first checkpoint", body(0, &[], &cp(5), &k), None, Ok(())),
            ("empty tree", body(0, &[], &cp(0), &k), None, Ok(())),
            (
                "growth",
                body(8, &proof(8, 13), &cp(13), &k),
                Some(&s8),
                Ok(()),
            ),
            (
                "same checkpoint again",
                body(8, &[], &cp(8), &k),
                Some(&s8),
                Ok(()),
            ),
            ("unknown origin", body(0, &[], &unknown, &k), None, Err(404)),
            (
                "unknown key only",
                body(8, &proof(8, 13), &cp(13), &other_name),
                Some(&s8),
                Err(403),
            ),
            (
                "same name, other key",
                body(8, &proof(8, 13), &cp(13), &stranger),
                Some(&s8),
                Err(403),
            ),
            ("bad signature", tampered.into_bytes(), Some(&s8), Err(403)),
            // The order of the checks: origin, then signatures, then sizes, then state.
            (
                "unknown origin, no trusted signature",
                body(0, &[], &unknown, &other_name),
                None,
                Err(404),
            ),
            (
                "old above size, no trusted signature",
                body(13, &[], &cp(8), &other_name),
                Some(&s8),
                Err(403),
            ),
            (
                "stale old size and a bad proof",
                body(5, &[[0; 32]], &cp(13), &k),
                Some(&s8),
                Err(409),
            ),
            (
                "old above size",
                body(13, &[], &cp(8), &k),
                Some(&s8),
                Err(400),
            ),
            (
                "stale old size",
                body(5, &proof(5, 13), &cp(13), &k),
                Some(&s8),
                Err(409),
            ),
            (
                "old 0 but state",
                body(0, &[], &cp(13), &k),
                Some(&s8),
                Err(409),
            ),
            (
                "old ahead of state",
                body(8, &proof(8, 13), &cp(13), &k),
                None,
                Err(409),
            ),
            (
                "empty tree, wrong root",
                body(0, &[], &empty_bad, &k),
                None,
                Err(422),
            ),
            (
                "proof from 0",
                body(0, &proof(8, 13), &cp(13), &k),
                None,
                Err(422),
            ),
            (
                "proof for equal sizes",
                body(8, &proof(4, 8), &cp(8), &k),
                Some(&s8),
                Err(422),
            ),
            (
                "same size, other root",
                body(8, &[], &checkpoint(&fork, 8), &k),
                Some(&s8),
                Err(422),
            ),
            (
                "fork",
                body(
                    8,
                    &consistency_proof(&fork, 8, 13).unwrap(),
                    &checkpoint(&fork, 13),
                    &k,
                ),
                Some(&s8),
                Err(422),
            ),
            (
                "proof of other sizes",
                body(8, &proof(7, 13), &cp(13), &k),
                Some(&s8),
                Err(422),
            ),
            (
                "short proof",
                body(8, &proof(8, 13)[1..], &cp(13), &k),
                Some(&s8),
                Err(422),
            ),
        ];
        for (name, body, stored, want) in cases {
            let got = decide(&body, stored).map_err(|r| r.status());
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn malformed_bodies_are_400_naming_the_rule() {
        let t = leaves(20, 0);
        let k = log_key();
        let good = String::from_utf8(body(8, &[[3; 32]], &checkpoint(&t, 13), &k)).unwrap();
        let h = B64.encode([3u8; 32]);
        let cases: Vec<(String, &str)> = vec![
            (good.replace("old 8", "old 08"), "leading zeroes"),
            (good.replace("old 8", "old  8"), "leading zeroes"),
            (good.replace("old 8", "old -8"), "leading zeroes"),
            (
                good.replace("old 8", "old 18446744073709551616"),
                "leading zeroes",
            ),
            (good.replace("old 8", "Old 8"), "`old <size>`"),
            (good.replace("old 8\n", "old 8\r\n"), "leading zeroes"),
            (good.replacen(&h, &B64.encode([3u8; 31]), 1), "32-byte hash"),
            (good.replacen(&h, &h[..43], 1), "32-byte hash"),
            (
                good.replacen(&format!("{h}\n\n"), &format!("{h}\n"), 1),
                "32-byte hash",
            ),
            ("old 8".into(), "newline"),
            ("old 8\n".into(), "newline"),
            (good.replacen("\n13\n", "\n013\n", 1), "the checkpoint"),
            (
                good.replacen(&format!("\n\n{ORIGIN}"), &format!("\n\n\n{ORIGIN}"), 1),
                "the checkpoint",
            ),
            (good.replacen("— ", "- ", 1), "the checkpoint"),
        ];
        for (body, want) in cases {
            match parse(body.as_bytes()) {
                Err(r @ Refusal::Malformed(_)) => {
                    assert_eq!(r.status(), 400);
                    assert!(r.to_string().contains(want), "{body:?}: {r}");
                }
                other => panic!("{body:?}: {other:?}"),
            }
        }
        assert!(matches!(parse(&[0xff, b'\n']), Err(Refusal::Malformed(_))));
        // 63 proof lines are accepted by the parser, 64 are not.
        let many = |n: usize| {
            let lines = format!("{h}\n").repeat(n);
            good.replacen(&format!("{h}\n"), &lines, 1)
        };
        assert_eq!(parse(many(63).as_bytes()).unwrap().proof.len(), 63);
        assert!(parse(many(64).as_bytes())
            .unwrap_err()
            .to_string()
            .contains("more than 63"));
    }

    #[test]
    fn the_spec_example_request_parses() {
        let body = "old 20852014\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\njrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\u{2014} example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n";
        let req = parse(body.as_bytes()).unwrap();
        assert_eq!(req.old, 20852014);
        assert_eq!(req.proof.len(), 4);
        assert_eq!(req.checkpoint.size, 20852163);
        assert_eq!(req.note.sigs.len(), 2);
        // Not a log of ours.
        assert_eq!(authenticate(&req, &logs()).unwrap_err().status(), 404);
    }

    #[test]
    fn the_409_body_is_the_size_alone_as_text_x_tlog_size() {
        let r = Refusal::Conflict { stored: 42, old: 7 };
        assert_eq!(r.body(), "42\n");
        assert_eq!(r.content_type(), "text/x.tlog.size");
        assert!(r.to_string().contains("42"));
        assert_eq!(Refusal::EmptyTreeRoot.content_type(), TEXT_CONTENT_TYPE);
        assert!(Refusal::EmptyTreeRoot.body().ends_with('\n'));
    }

    #[test]
    fn only_refusals_that_may_show_misbehaviour_are_evidence() {
        assert!(Refusal::RootMismatch { size: 1 }.is_evidence());
        assert!(Refusal::EmptyTreeRoot.is_evidence());
        assert!(Refusal::ProofFails {
            old: 1,
            size: 2,
            why: merkle::VerifyError::RootMismatch
        }
        .is_evidence());
        assert!(!Refusal::ProofFromZero { lines: 1 }.is_evidence());
        assert!(!Refusal::Conflict { stored: 1, old: 2 }.is_evidence());
        assert!(!Refusal::BadSignature { key: "k".into() }.is_evidence());
    }

    #[test]
    fn the_cosigned_note_keeps_the_logs_verified_signatures_and_adds_the_cosignature() {
        let t = leaves(4, 0);
        let k = log_key();
        let unknown = SigningKey::from_seed("someone.example/else", &[5; 32]).unwrap();
        let cp = checkpoint(&t, 4);
        let note = Note::sign(&cp.to_text(), &[&unknown, &k]).unwrap();
        let body = format!("old 0\n\n{note}");
        let req = parse(body.as_bytes()).unwrap();
        let sigs = authenticate(&req, &logs()).unwrap();
        assert_eq!(sigs.len(), 1);
        let w = crate::signing::Cosigner::from_seed("witness.example/w1", &[9; 32]).unwrap();
        let cosig = w.cosign(&req.note.text, 1_700_000_000);
        let line = cosignature_line(&cosig);
        assert!(line.starts_with("\u{2014} witness.example/w1 ") && line.ends_with('\n'));
        assert_eq!(line.matches('\n').count(), 1);
        let stored = cosigned_note(&req, sigs, cosig.clone());
        let mut expected = Note::sign(&cp.to_text(), &[&k]).unwrap();
        expected.sigs.push(cosig.clone());
        assert_eq!(stored, expected);
        assert!(stored.to_string().ends_with(&line));
        assert_eq!(w.public().verify(&stored.text, &cosig), Ok(1_700_000_000));
    }

    /// The example of `docs/witness.md`, byte for byte.
    #[test]
    fn the_documented_example_answer() {
        let w = crate::signing::Cosigner::from_seed("witness.example/w1", &[9; 32]).unwrap();
        let text =
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let line = cosignature_line(&w.cosign(text, 1679315147));
        assert_eq!(
            w.public().to_string(),
            "witness.example/w1+24b5d9fe+BP0XJDhaoMdbZPt4zWAvodmR/ev3axPFjtcC6sg16fYY"
        );
        assert_eq!(
            line,
            "\u{2014} witness.example/w1 JLXZ/gAAAABkGFDLSEwbtADY9t5XeSzDTVuiqYN5nZfoc9NQOUgkPYm4wwjIUL68Nczz1tpzCjnpmnRXttgqVVwOg3WfE7AXqa+DAg==\n"
        );
    }

    #[test]
    fn origin_hash_is_lowercase_hex_sha256() {
        assert_eq!(
            origin_hash(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
