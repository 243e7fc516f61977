//! Cosigned checkpoints from the auditor's side: the ledger keeps witnesses' cosignatures
//! with its checkpoints, bundles carry them, and `audit verify --witness … --min-witnesses K`
//! counts them, naming every witness that did not sign or whose cosignature fails.

use std::fs;
use std::path::Path;

use tongban::ledger::bundle::{self, ExportOptions, FailureKind, Report, VerifyOptions};
use tongban::ledger::{Entry, Log, SignedCheckpoint};
use tongban::signing::{Cosigner, CosignerKey, SigningKey, Verifiers};
use tongban::store::MemStore;

const ORIGIN: &str = "tongban.test/witnessing";
const NOW: u64 = 1_790_000_000;

fn log_key() -> SigningKey {
    SigningKey::from_seed(ORIGIN, &[5; 32]).unwrap()
}

fn witness(name: &str, seed: u8) -> Cosigner {
    Cosigner::from_seed(name, &[seed; 32]).unwrap()
}

/// A log of `n` entries with a signed checkpoint, cosigned by `cosigners` at `at`.
fn cosigned_log(n: u64, cosigners: &[&Cosigner], at: u64) -> Log<MemStore> {
    let mut log = Log::open(MemStore::new(), ORIGIN).unwrap();
    let entries: Vec<Entry> = (0..n).map(Entry::example).collect();
    log.append_batch(&entries).unwrap();
    let note = log.sign_checkpoint(&log_key()).unwrap();
    let text = SignedCheckpoint::parse(&note).unwrap().note.text;
    let sigs: Vec<_> = cosigners.iter().map(|w| w.cosign(&text, at)).collect();
    if !sigs.is_empty() {
        assert!(log.add_cosignatures(&text, &sigs).unwrap());
    }
    log
}

fn verify(dir: &Path, witnesses: &[CosignerKey], min: usize) -> Report {
    bundle::verify(
        &bundle::load(dir).unwrap(),
        &VerifyOptions {
            keys: Some(Verifiers::new(vec![log_key().verifier()])),
            witnesses: witnesses.to_vec(),
            min_witnesses: min,
            now: Some(NOW),
            ..Default::default()
        },
        |_, _| {},
    )
}

fn export(log: &Log<MemStore>) -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bundle");
    bundle::export(
        log,
        &[log_key().verifier()],
        &ExportOptions::default(),
        &out,
        |_, _| {},
    )
    .unwrap();
    (tmp, out)
}

fn witness_failures(r: &Report) -> Vec<&str> {
    r.failures
        .iter()
        .filter(|f| f.kind == FailureKind::Witness)
        .map(|f| f.message.as_str())
        .collect()
}

#[test]
fn a_checkpoint_cosigned_by_two_witnesses_verifies_with_two_required() {
    let (zj, sh) = (witness("zj.witness.test", 1), witness("sh.witness.test", 2));
    let log = cosigned_log(40, &[&zj, &sh], NOW - 5);
    let (_t, dir) = export(&log);
    // The bundle's checkpoint carries the log's line and both cosignatures.
    let text = fs::read_to_string(dir.join("checkpoint")).unwrap();
    assert_eq!(text.matches('\u{2014}').count(), 3, "{text}");
    let r = verify(&dir, &[zj.public(), sh.public()], 2);
    assert!(r.ok(), "{:?}", r.failures);
    let names: Vec<_> = r
        .cosigned_by
        .iter()
        .map(|(n, t)| (n.as_str(), *t))
        .collect();
    assert_eq!(
        names,
        [("zj.witness.test", NOW - 5), ("sh.witness.test", NOW - 5)]
    );
    // A second cosignature of the same witness is not added twice.
    let mut log = log;
    let body = SignedCheckpoint::parse(&log.last_signed_note().unwrap().unwrap())
        .unwrap()
        .note
        .text;
    assert!(!log
        .add_cosignatures(&body, &[zj.cosign(&body, NOW)])
        .unwrap());
}

#[test]
fn too_few_cosignatures_fail_naming_the_witness_that_did_not_sign() {
    let (zj, sh) = (witness("zj.witness.test", 1), witness("sh.witness.test", 2));
    let log = cosigned_log(40, &[&zj], NOW);
    let (_t, dir) = export(&log);
    let r = verify(&dir, &[zj.public(), sh.public()], 2);
    assert!(!r.ok());
    let f = witness_failures(&r);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].contains("1 valid witness cosignature(s), 2 required"),
        "{}",
        f[0]
    );
    assert!(f[0].contains("not cosigned by sh.witness.test"), "{}", f[0]);
    // One of two is enough when one is asked for; the other is named in a note.
    let r = verify(&dir, &[zj.public(), sh.public()], 1);
    assert!(r.ok(), "{:?}", r.failures);
    assert!(
        r.notes.iter().any(|n| n.contains("sh.witness.test")),
        "{:?}",
        r.notes
    );
    // Without any witness asked for, the bundle verifies as before.
    assert!(verify(&dir, &[], 0).ok());
}

#[test]
fn an_altered_or_future_cosignature_fails_naming_its_witness() {
    let (zj, sh) = (witness("zj.witness.test", 1), witness("sh.witness.test", 2));
    // sh's clock is an hour ahead of the auditor's: beyond the tolerance.
    let log = cosigned_log(40, &[&zj], NOW);
    let body = SignedCheckpoint::parse(&log.last_signed_note().unwrap().unwrap())
        .unwrap()
        .note
        .text;
    let mut log = log;
    log.add_cosignatures(&body, &[sh.cosign(&body, NOW + 3600)])
        .unwrap();
    let (_t, dir) = export(&log);
    let r = verify(&dir, &[zj.public(), sh.public()], 1);
    let f = witness_failures(&r);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].contains("sh.witness.test") && f[0].contains("in the future"),
        "{}",
        f[0]
    );

    // Flip one bit of zj's signature in the bundle's checkpoint.
    let path = dir.join("checkpoint");
    let text = fs::read_to_string(&path).unwrap();
    let mut note = SignedCheckpoint::parse(&text).unwrap().note;
    let line = note
        .sigs
        .iter_mut()
        .find(|s| s.name == "zj.witness.test")
        .unwrap();
    line.sig[20] ^= 1;
    fs::write(&path, note.to_string()).unwrap();
    let r = verify(&dir, &[zj.public(), sh.public()], 1);
    let f = witness_failures(&r);
    assert!(
        f.iter()
            .any(|m| m.contains("zj.witness.test") && m.contains("does not verify")),
        "{f:?}"
    );
    // The log's own signature is untouched: only the witness check fails.
    assert!(r.failures.iter().all(|f| f.kind == FailureKind::Witness));
}
