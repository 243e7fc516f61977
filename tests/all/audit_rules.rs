//! `docs/auditing.md` and `audit verify` agree: every rule the guide states (its **E** rules
//! for entries, **B** rules for bundles) is broken here once, in a bundle the operator signed,
//! and `audit verify` must refuse it naming the entry and the field; the guide must state
//! exactly the rules this table walks; and every kind of failure `verify` reports, and every
//! way an entry is refused, belongs to a stated rule (an exhaustive `match`: a new check does
//! not compile here until it has its rule).

use crate::ledger::entry_offset;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use tongban::ledger::bundle::{self, ExportOptions, FailureKind, Report, VerifyOptions};
use tongban::ledger::entry::{EntryError, MAX_OFFSET_MINUTES};
use tongban::ledger::{Entry, Instant, Log};
use tongban::platform::{self, Platform};
use tongban::signing::{SigningKey, Verifiers};
use tongban::store::MemStore;

const ORIGIN: &str = "tongban.test/rules";

fn key() -> SigningKey {
    SigningKey::from_seed(ORIGIN, &[5; 32]).unwrap()
}

fn trusting(keys: &[&SigningKey]) -> Option<Verifiers> {
    Some(Verifiers::new(keys.iter().map(|k| k.verifier()).collect()))
}

/// The document entry `n` commits to as received.
fn document(n: u64) -> Vec<u8> {
    format!("<RemoteApply n=\"{n}\"/>").into_bytes()
}

fn good_entry(n: u64) -> Vec<u8> {
    let mut e = Entry::example(n);
    e.received_sha256 = sha(&document(n));
    e.encode().unwrap()
}

fn sha(b: &[u8]) -> [u8; 32] {
    <sha2::Sha256 as sha2::Digest>::digest(b).into()
}

/// A log of five entries, as an operator holding the key could append them (raw bytes, not
/// checked), with a checkpoint signed at size 3 and one at size 5.
fn signed_log(entries: &[Vec<u8>]) -> Log<MemStore> {
    let mut log = Log::open(MemStore::new(), ORIGIN).unwrap();
    log.append_encoded(&entries[..3]).unwrap();
    log.sign_checkpoint(&key()).unwrap();
    log.append_encoded(&entries[3..]).unwrap();
    log.sign_checkpoint(&key()).unwrap();
    log
}

/// The bundle of `log` in `dir/bundle` (history, inclusion proofs, and the documents beside
/// it as `audit export --with-documents` writes them).
fn export(log: &Log<MemStore>, dir: &Path, opts: ExportOptions) -> PathBuf {
    let out = dir.join("bundle");
    bundle::export(log, &[key().verifier()], &opts, &out, |_, _| {}).unwrap();
    fs::create_dir(out.join("documents")).unwrap();
    for n in opts.range.unwrap_or(0..log.size()) {
        let d = document(n);
        fs::write(out.join("documents").join(hex::encode(sha(&d))), d).unwrap();
    }
    out
}

fn full() -> ExportOptions {
    ExportOptions {
        inclusion_proofs: true,
        ..ExportOptions::default()
    }
}

fn verify(dir: &Path, opts: VerifyOptions) -> Report {
    bundle::verify(&bundle::load(dir).unwrap(), &opts, |_, _| {})
}

/// Verified with `keys` and the `trusted` checkpoint.
fn with(keys: &[&SigningKey], trusted: Option<String>) -> VerifyOptions {
    VerifyOptions {
        keys: trusting(keys),
        trusted,
        ..VerifyOptions::default()
    }
}

/// Replaces the first occurrence of `from` in `b`.
fn patched(b: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = b
        .windows(from.len())
        .position(|w| w == from)
        .expect("pattern in the entry");
    let mut out = b.to_vec();
    out[at..at + from.len()].copy_from_slice(to);
    out
}

fn time(unix: i64, offset: i16) -> Vec<u8> {
    [&unix.to_be_bytes()[..], &offset.to_be_bytes()].concat()
}

/// Entry 1 broken as `rule` says, in an operator-signed bundle: verify must refuse exactly
/// that entry, as undecodable, with `says` in the message.
fn refuses_entry(rule: &str, bad: Vec<u8>, says: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut entries: Vec<Vec<u8>> = (0..5).map(good_entry).collect();
    entries[1] = bad;
    let out = export(&signed_log(&entries), dir.path(), full());
    let r = verify(&out, with(&[&key()], None));
    let named: Vec<_> = r
        .failures
        .iter()
        .map(|f| (f.entry, f.kind, f.message.as_str()))
        .collect();
    assert_eq!(
        named.len(),
        1,
        "{rule}: one failure expected, got {named:#?}"
    );
    assert_eq!(
        (named[0].0, named[0].1),
        (Some(1), FailureKind::EntryUndecodable),
        "{rule}: {named:#?}"
    );
    assert!(
        named[0].2.starts_with("entry 1 is not a valid entry: ") && named[0].2.contains(says),
        "{rule}: {:?} does not say {says:?}",
        named[0].2
    );
}

/// The rules of `docs/auditing.md` §2 (entries), each broken once.
fn entry_rules() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let good = good_entry(1);
    let example = Entry::example(1);
    let at = time(example.at.unix, 480);
    let set = |i: usize, v: u8| {
        let mut b = good.clone();
        b[i] = v;
        b
    };
    // Field 5's flag comes after the version, step and fields 3 and 4.
    let flag5 = 2 + 2 + example.gateway_no.len() + 2 + example.source_no.len();
    let licence = example
        .decision
        .as_ref()
        .unwrap()
        .licence_no
        .clone()
        .unwrap();
    let licence_at = good
        .windows(licence.len())
        .position(|w| w == licence.as_bytes())
        .unwrap();
    let mut keyid = good.clone();
    keyid[0] = 2;
    keyid.extend_from_slice(&[0, 0]);
    let mut trailing = good.clone();
    trailing.push(0);
    // Version 3: version 1, then the key id "k1" and the algorithm byte.
    let mut alg = good.clone();
    alg[0] = 3;
    alg.extend_from_slice(&[0, 2, b'k', b'1', 3]);
    vec![
        ("E1", set(0, 4), "unknown entry version 4"),
        ("E2", set(1, 9), "invalid field step"),
        ("E3", set(4, 0xff), "invalid field gateway_no"),
        ("E4", set(flag5, 2), "invalid field destination_no"),
        (
            "E5",
            patched(&good, &at, &time(example.at.unix, 2000)),
            "at: UTC offset +2000 minutes is outside -1080 to +1080 minutes",
        ),
        // result u8, then licence flag and length, then the licence number.
        (
            "E6",
            set(licence_at - 4, 4),
            "invalid field decision.result",
        ),
        (
            "E7",
            patched(&good, b"2031-11-22", b"2026-02-30"),
            "decision.valid_to: \"2026-02-30\" is not a calendar date written YYYY-MM-DD",
        ),
        (
            "E8",
            keyid,
            "sender_keyid is 0 bytes long; it must be 1 to 64 bytes",
        ),
        ("E9", trailing, "1 trailing bytes"),
        ("E10", alg, "invalid field sender_alg"),
    ]
}

#[test]
fn an_operator_signed_entry_at_plus_2000_minutes_is_refused_naming_the_entry_and_field() {
    let good = good_entry(1);
    let unix = Entry::example(1).at.unix;
    let bad = patched(&good, &time(unix, 480), &time(unix, 2000));
    refuses_entry(
        "E5",
        bad,
        "at: UTC offset +2000 minutes is outside -1080 to +1080 minutes (18 hours either side)",
    );
    // Field 10 too, and both bounds: ±1080 minutes are accepted.
    let mut with_source_time = Entry::example(1);
    with_source_time.received_sha256 = sha(&document(1));
    for offset in [-MAX_OFFSET_MINUTES, MAX_OFFSET_MINUTES] {
        with_source_time.source_time = Some(Instant {
            unix: 1_790_000_000,
            offset_minutes: offset,
        });
        let b = with_source_time.encode().unwrap();
        assert!(Entry::decode(&b).is_ok(), "{offset}");
        let beyond = patched(
            &b,
            &time(1_790_000_000, offset),
            &time(1_790_000_000, offset + offset.signum()),
        );
        refuses_entry(
            "E5",
            beyond,
            &format!(
                "source_time: UTC offset {:+} minutes",
                offset + offset.signum()
            ),
        );
    }
}

#[test]
fn an_operator_signed_decision_valid_to_2026_02_30_is_refused_naming_the_entry_and_field() {
    let good = good_entry(1);
    refuses_entry(
        "E7",
        patched(&good, b"2031-11-22", b"2026-02-30"),
        "decision.valid_to: \"2026-02-30\" is not a calendar date",
    );
    refuses_entry(
        "E7",
        patched(&good, b"2026-11-23", b"2025-02-29"),
        "decision.valid_from: \"2025-02-29\" is not a calendar date",
    );
    // A leap day is a calendar day.
    let dir = tempfile::tempdir().unwrap();
    let mut entries: Vec<Vec<u8>> = (0..5).map(good_entry).collect();
    entries[1] = patched(&good, b"2031-11-22", b"2024-02-29");
    let out = export(&signed_log(&entries), dir.path(), full());
    let r = verify(&out, with(&[&key()], None));
    assert!(r.ok(), "{:#?}", r.failures);
}

#[test]
fn every_entry_rule_of_the_guide_is_applied() {
    for (rule, bad, says) in entry_rules() {
        refuses_entry(rule, bad, says);
    }
}

/// How each bundle rule is broken: the bundle directory to break (a full export of the
/// five-entry log) and the log; returns what to verify with.
type Break = fn(&Path, &mut Log<MemStore>) -> VerifyOptions;

fn write(path: &Path, f: impl FnOnce(&mut Vec<u8>)) {
    let mut b = fs::read(path).unwrap();
    f(&mut b);
    fs::write(path, b).unwrap();
}

fn manifest(dir: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join("manifest.json");
    let mut m: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    f(&mut m);
    fs::write(path, serde_json::to_vec(&m).unwrap()).unwrap();
}

fn ours() -> VerifyOptions {
    with(&[&key()], None)
}

/// The rules of `docs/auditing.md` §4 (bundles), each broken once: `(rule, break, kind of
/// failure, entry named, what the message says)`.
fn bundle_rules() -> Vec<(&'static str, Break, FailureKind, Option<u64>, &'static str)> {
    use FailureKind as K;
    vec![
        (
            "B1",
            |d, _| {
                write(&d.join("keys"), |b| b.extend_from_slice(b"tongban.test/rules+00000000+AAAA\n"));
                ours()
            },
            K::Malformed,
            None,
            "keys: ",
        ),
        (
            "B2",
            |d, _| {
                manifest(d, |m| m["tree_size"] = 4.into());
                ours()
            },
            K::Malformed,
            None,
            "manifest.json says tongban.test/rules at size 4, the checkpoint says tongban.test/rules at size 5",
        ),
        (
            "B3",
            |d, _| {
                write(&d.join("checkpoint"), |b| {
                    let t = String::from_utf8(b.clone()).unwrap().replacen("\n5\n", "\n05\n", 1);
                    *b = t.into_bytes();
                });
                ours()
            },
            K::Malformed,
            None,
            "checkpoint: malformed checkpoint: size is not a decimal without leading zeroes",
        ),
        (
            "B4",
            |d, _| {
                // A second signature line by the listed key that does not verify.
                write(&d.join("checkpoint"), |b| {
                    use base64::Engine as _;
                    let b64 = base64::engine::general_purpose::STANDARD;
                    let t = String::from_utf8(b.clone()).unwrap();
                    let line = t.lines().last().unwrap().to_owned();
                    let (name, sig) = line.rsplit_once(' ').unwrap();
                    let mut raw = b64.decode(sig).unwrap();
                    raw[10] ^= 1;
                    b.extend_from_slice(format!("{name} {}\n", b64.encode(raw)).as_bytes());
                });
                ours()
            },
            K::Signature,
            None,
            "checkpoint: signature by tongban.test/rules+",
        ),
        (
            "B5",
            |d, _| {
                write(&d.join("entries"), |b| b.truncate(b.len() - 3));
                ours()
            },
            K::EntryMissing,
            Some(4),
            "entries 4..5 are missing: the entries file ends early (truncated)",
        ),
        (
            "B6",
            |d, _| {
                // Entry 2's version byte, in the file (so the root no longer holds either).
                let (off, _) = entry_offset(d, 2);
                write(&d.join("entries"), |b| b[off + 2] = 7);
                ours()
            },
            K::EntryUndecodable,
            Some(2),
            "entry 2 is not a valid entry: unknown entry version 7",
        ),
        (
            "B7",
            |d, _| {
                write(&d.join("leaves"), |b| b[2 * 32] ^= 1);
                ours()
            },
            K::LeafRecordAltered,
            Some(2),
            "leaves file altered at entry 2",
        ),
        (
            "B8",
            |d, log| {
                // A range export whose range proof lost a hash.
                let _ = fs::remove_dir_all(d);
                let opts = ExportOptions {
                    range: Some(1..3),
                    ..ExportOptions::default()
                };
                bundle::export(log, &[key().verifier()], &opts, d, |_, _| {}).unwrap();
                manifest(d, |m| {
                    m["range_proof"].as_array_mut().unwrap().pop();
                });
                ours()
            },
            K::RootMismatch,
            None,
            "entries 1..3 with the range proof do not rebuild the signed root at size 5",
        ),
        (
            "B9",
            |d, _| {
                let p = d.join("proofs.jsonl");
                let text = fs::read_to_string(&p).unwrap();
                let mut lines: Vec<serde_json::Value> =
                    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
                lines[1]["proof"][0] = base64_of(&[0; 32]).into();
                let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
                fs::write(p, text).unwrap();
                ours()
            },
            K::InclusionProof,
            Some(1),
            "entry 1: inclusion proof does not verify",
        ),
        (
            "B10",
            |d, _| {
                manifest(d, |m| {
                    m["consistency"]
                        .as_array_mut()
                        .unwrap()
                        .push(serde_json::json!({"from_size": 5, "proof": []}))
                });
                ours()
            },
            K::Malformed,
            None,
            "manifest.json: consistency proof from size 5 (must be unique and between 0 and 5)",
        ),
        (
            "B11",
            |_, log| {
                // The log grew and signed again: the bundle's checkpoint is older.
                log.append_encoded(&[good_entry(5)]).unwrap();
                let newer = log.sign_checkpoint(&key()).unwrap();
                with(&[&key()], Some(newer))
            },
            K::Rollback,
            None,
            "rollback: the bundle's checkpoint (size 5) is older than the trusted checkpoint (size 6)",
        ),
        (
            "B11",
            |_, _| {
                // The same key signed another history of the same size.
                let mut other = Log::open(MemStore::new(), ORIGIN).unwrap();
                let entries: Vec<Vec<u8>> = (10..15).map(good_entry).collect();
                other.append_encoded(&entries).unwrap();
                with(&[&key()], Some(other.sign_checkpoint(&key()).unwrap()))
            },
            K::SplitView,
            None,
            "split view: the trusted checkpoint and the bundle's checkpoint are both signed at size 5 with different roots",
        ),
        (
            "B12",
            |_, _| {
                let other = SigningKey::from_seed("tongban.test/other", &[6; 32]).unwrap();
                let mut log = Log::open(MemStore::new(), "tongban.test/other").unwrap();
                log.append_encoded(&[good_entry(0)]).unwrap();
                let note = log.sign_checkpoint(&other).unwrap();
                with(&[&key(), &other], Some(note))
            },
            K::Inconsistent,
            None,
            "trusted checkpoint is for log \"tongban.test/other\", the bundle for \"tongban.test/rules\"",
        ),
        (
            "B13",
            |d, _| {
                let docs = d.join("documents");
                let name = hex::encode(sha(&document(3)));
                fs::rename(docs.join(&name), docs.join(name.to_uppercase())).unwrap();
                ours()
            },
            K::Document,
            None,
            "not named by a lowercase hex SHA-256",
        ),
        (
            "B14",
            |d, _| {
                let name = hex::encode(sha(&document(3)));
                write(&d.join("documents").join(name), |b| b[1] ^= 1);
                ours()
            },
            K::Document,
            Some(3),
            "does not match the hash the entry records",
        ),
        (
            "B15",
            |_, _| {
                // A witness the auditor requires has not cosigned the checkpoint.
                let w = tongban::signing::Cosigner::from_seed("witness.test/w1", &[7; 32]).unwrap();
                VerifyOptions {
                    witnesses: vec![w.public()],
                    min_witnesses: 1,
                    ..ours()
                }
            },
            K::Witness,
            None,
            "checkpoint: 0 valid witness cosignature(s), 1 required; not cosigned by witness.test/w1",
        ),
        (
            "B16",
            |_, _| {
                // --require-sm2, with the gateway's SM2 key trusted, on a checkpoint signed
                // with Ed25519 alone.
                let sm2 = tongban::signing::Sm2SigningKey::from_scalar(
                    ORIGIN,
                    tongban::signing::sm2::DEFAULT_DISTINGUISHING_ID,
                    &[5; 32],
                )
                .unwrap();
                VerifyOptions {
                    keys: trusting(&[&key()]).map(|v| v.with_sm2(vec![sm2.public()])),
                    require_sm2: true,
                    ..ours()
                }
            },
            K::Signature,
            None,
            "checkpoint: an SM2 signature is required, and the checkpoint carries none by a trusted SM2 key",
        ),
    ]
}

fn base64_of(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[test]
fn every_bundle_rule_of_the_guide_is_applied() {
    let entries: Vec<Vec<u8>> = (0..5).map(good_entry).collect();
    // Unbroken, the bundle verifies.
    let dir = tempfile::tempdir().unwrap();
    let out = export(&signed_log(&entries), dir.path(), full());
    let r = verify(&out, with(&[&key()], None));
    assert!(r.ok(), "{:#?}", r.failures);
    assert_eq!((r.history_checked, r.documents_checked), (1, 5));
    for (rule, break_it, kind, entry, says) in bundle_rules() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = signed_log(&entries);
        let out = export(&log, dir.path(), full());
        let opts = break_it(&out, &mut log);
        let r = verify(&out, opts);
        assert!(
            r.failures
                .iter()
                .any(|f| f.kind == kind && f.entry == entry && f.message.contains(says)),
            "{rule}: expected {kind:?} at {entry:?} saying {says:?}, got {:#?}",
            r.failures
        );
    }
}

/// The rule every kind of failure belongs to (exhaustive: a new kind must be given one).
fn rules_of_failure(k: FailureKind) -> &'static [&'static str] {
    use FailureKind as K;
    match k {
        K::Malformed => &["B1", "B2", "B3", "B5", "B7", "B8", "B9", "B10"],
        K::Signature => &["B4", "B16"],
        K::EntryAltered | K::EntryReordered | K::LeafRecordAltered => &["B7"],
        K::EntryMissing => &["B5"],
        K::EntryUndecodable => &["B6"],
        K::RootMismatch => &["B8"],
        K::InclusionProof => &["B9"],
        K::Inconsistent | K::Rollback | K::SplitView => &["B11", "B12"],
        K::Document => &["B13", "B14"],
        K::Witness => &["B15"],
    }
}

/// The rule every way of refusing an entry belongs to (exhaustive likewise).
fn rules_of_entry_error(e: &EntryError) -> &'static [&'static str] {
    match e {
        EntryError::Version(_) => &["E1"],
        EntryError::Invalid(_) => &["E2", "E3", "E4", "E6", "E10"],
        EntryError::Offset { .. } => &["E5"],
        EntryError::Date { .. } => &["E7"],
        EntryError::SenderKeyIdLength(_) => &["E8"],
        EntryError::Truncated(_) | EntryError::Trailing(_) => &["E9"],
        // Only encoding refuses these: a u16 length cannot say more than 65535, and the
        // decoder reads an algorithm only after a key id.
        EntryError::TooLong(_) | EntryError::AlgWithoutKeyId => &[],
    }
}

/// The rule ids the guide states: `**E1**`, `**B12**`, ….
fn stated_rules() -> BTreeSet<String> {
    let guide =
        fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/auditing.md")).unwrap();
    let mut ids = BTreeSet::new();
    let mut rest = guide.as_str();
    while let Some(at) = rest.find("**") {
        rest = &rest[at + 2..];
        if let Some(end) = rest.find("**") {
            let id = &rest[..end];
            let mut chars = id.chars();
            if matches!(chars.next(), Some('E' | 'B'))
                && !chars.as_str().is_empty()
                && chars.all(|c| c.is_ascii_digit())
            {
                ids.insert(id.to_owned());
            }
            rest = &rest[end + 2..];
        }
    }
    ids
}

#[test]
fn the_guide_states_exactly_the_rules_verify_applies() {
    let walked: BTreeSet<String> = entry_rules()
        .iter()
        .map(|r| r.0.to_owned())
        .chain(bundle_rules().iter().map(|r| r.0.to_owned()))
        .collect();
    assert_eq!(
        stated_rules(),
        walked,
        "docs/auditing.md must state (as **E1**, **B1**, …) exactly the rules this test walks"
    );
    let kinds = [
        FailureKind::Malformed,
        FailureKind::Signature,
        FailureKind::EntryAltered,
        FailureKind::EntryReordered,
        FailureKind::EntryMissing,
        FailureKind::EntryUndecodable,
        FailureKind::LeafRecordAltered,
        FailureKind::RootMismatch,
        FailureKind::InclusionProof,
        FailureKind::Inconsistent,
        FailureKind::Rollback,
        FailureKind::SplitView,
        FailureKind::Document,
        FailureKind::Witness,
    ];
    let errors = [
        EntryError::Version(4),
        EntryError::Invalid("step"),
        EntryError::Offset {
            field: "at",
            minutes: 2000,
        },
        EntryError::Date {
            field: "decision.valid_to",
            value: String::new(),
        },
        EntryError::SenderKeyIdLength(0),
        EntryError::Truncated("at"),
        EntryError::Trailing(1),
        EntryError::TooLong("item"),
    ];
    for id in kinds
        .iter()
        .flat_map(|k| rules_of_failure(*k))
        .chain(errors.iter().flat_map(rules_of_entry_error))
    {
        assert!(walked.contains(*id), "{id} is not walked");
    }
}

#[test]
fn every_offset_the_shanghai_reader_accepts_the_ledger_records() {
    let sample = std::str::from_utf8(tongban::demo::SAMPLE_SH_APPLICATION).unwrap();
    for minutes in -(23 * 60 + 59i16)..=(23 * 60 + 59) {
        let sign = if minutes < 0 { '-' } else { '+' };
        let offset = format!("{sign}{:02}:{:02}", minutes.abs() / 60, minutes.abs() % 60);
        let doc = sample.replace("+08:00</AcceptedAt>", &format!("{offset}</AcceptedAt>"));
        let read = platform::read(Platform::Shanghai, doc.as_bytes());
        let mut e = Entry::example(1);
        e.source_time = Some(Instant {
            unix: 1_790_000_000,
            offset_minutes: minutes,
        });
        assert_eq!(
            read.is_ok(),
            e.encode().is_ok(),
            "offset {offset}: the reader and the ledger disagree"
        );
    }
}
