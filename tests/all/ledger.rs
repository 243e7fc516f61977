//! Ledger: RFC 6962 vectors, the log on both stores, crash recovery, checkpoint signing,
//! audit bundles and tampering.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use std::fs;
use std::path::{Path, PathBuf};
use tongban::ledger::bundle::{self, ExportOptions, FailureKind, Report, VerifyOptions};
use tongban::ledger::log::{bundle_key, pending_entry_key, tile_key, KEY_SIZE};
use tongban::ledger::merkle::{self, Hash};
use tongban::ledger::{Entry, LedgerStore, Log, LogError};
use tongban::signing::{SigningKey, Verifiers};
use tongban::store::{DataDir, MemStore};

const ORIGIN: &str = "tongban.test/ledger";

fn vectors_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/vectors/rfc6962"
    ))
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

fn b64(v: &serde_json::Value) -> Vec<u8> {
    B64.decode(v.as_str().unwrap_or("")).unwrap()
}

fn b64_list(v: &serde_json::Value) -> Vec<Vec<u8>> {
    v.as_array()
        .map(|a| a.iter().map(b64).collect())
        .unwrap_or_default()
}

#[test]
fn all_196_rfc6962_vectors_verify_or_are_refused_as_they_must() {
    let mut files = Vec::new();
    json_files(&vectors_dir(), &mut files);
    files.sort();
    assert_eq!(
        files.len(),
        196,
        "expected the 196 transparency-dev vectors"
    );
    let (mut happy, mut refused) = (0, 0);
    for f in &files {
        let v: serde_json::Value = serde_json::from_str(&fs::read_to_string(f).unwrap()).unwrap();
        let want_err = v["wantErr"].as_bool().unwrap();
        let proof = b64_list(&v["proof"]);
        let proof: Vec<&[u8]> = proof.iter().map(|p| p.as_slice()).collect();
        let got = if v.get("leafIdx").is_some() {
            merkle::verify_inclusion_raw(
                v["leafIdx"].as_u64().unwrap(),
                v["treeSize"].as_u64().unwrap(),
                &b64(&v["leafHash"]),
                &proof,
                &b64(&v["root"]),
            )
        } else {
            merkle::verify_consistency_raw(
                v["size1"].as_u64().unwrap(),
                v["size2"].as_u64().unwrap(),
                &proof,
                &b64(&v["root1"]),
                &b64(&v["root2"]),
            )
        };
        assert_eq!(got.is_err(), want_err, "{}: {got:?}", f.display());
        if want_err {
            refused += 1
        } else {
            happy += 1
        }
    }
    assert!(happy > 0 && refused > 0);
    assert_eq!(happy + refused, 196);
}

fn entries(from: u64, n: u64) -> Vec<Entry> {
    (from..from + n).map(Entry::example).collect()
}

fn key() -> SigningKey {
    SigningKey::from_seed(ORIGIN, &[42; 32]).unwrap()
}

fn verifiers(keys: &[&SigningKey]) -> Verifiers {
    Verifiers::new(keys.iter().map(|k| k.verifier()).collect())
}

/// Appends `sizes` as batches of small raw leaves (fast), returning all leaf hashes.
fn fill_raw<S: LedgerStore>(log: &mut Log<S>, batches: &[u64]) -> Vec<Hash> {
    let mut all = Vec::new();
    for &n in batches {
        let start = log.size();
        let enc: Vec<Vec<u8>> = (start..start + n)
            .map(|i| i.to_be_bytes().to_vec())
            .collect();
        all.extend(enc.iter().map(|e| merkle::leaf_hash(e)));
        let r = log.append_encoded(&enc).unwrap();
        assert_eq!(r, start..start + n);
    }
    all
}

#[test]
fn proofs_from_stored_tiles_match_a_tree_built_from_all_leaves_across_three_tile_levels() {
    let store = MemStore::new();
    let mut log = Log::open(store.clone(), ORIGIN).unwrap();
    // 66_000 leaves: level-0, level-1 and level-2 tiles, odd batch sizes crossing tiles.
    let mut leaves = fill_raw(&mut log, &[1, 255, 257, 3000, 7, 62_480]);
    assert_eq!(log.size(), 66_000);
    let check = |log: &Log<MemStore>, leaves: &[Hash]| {
        let n = leaves.len() as u64;
        let root = merkle::root_from_leaves(leaves);
        assert_eq!(log.root().unwrap(), root);
        for i in [0, 1, 255, 256, 65_535, 65_536, n - 1] {
            let p = log.inclusion_proof(i, n).unwrap();
            merkle::verify_inclusion(i, n, &leaves[i as usize], &p, &root).unwrap();
        }
        for m in [1, 2, 255, 256, 257, 4096, 65_536, n - 1] {
            let r1 = merkle::root_from_leaves(&leaves[..m as usize]);
            assert_eq!(log.root_at(m).unwrap(), r1);
            let p = log.consistency_proof(m, n).unwrap();
            merkle::verify_consistency(m, n, &p, &r1, &root).unwrap();
        }
    };
    check(&log, &leaves);
    drop(log);
    let mut log = Log::open(store, ORIGIN).unwrap();
    check(&log, &leaves);
    leaves.extend(fill_raw(&mut log, &[300]));
    check(&log, &leaves);
}

#[test]
fn two_writers_of_one_store_taking_turns_each_catch_up_to_the_same_tree() {
    // Two gateway instances on one database: each appends in turn (their batches serialized
    // by the store's writer lock) after catching up with what the other appended.
    let store = MemStore::new();
    let mut a = Log::open(store.clone(), ORIGIN).unwrap();
    let mut b = Log::open(store.clone(), ORIGIN).unwrap();
    let mut leaves = Vec::new();
    // Batches crossing bundle and tile boundaries, and a level-1 tile (65,536 entries).
    let turns: [u64; 9] = [3, 250, 9, 256, 1, 511, 64_000, 700, 2];
    for (turn, &n) in turns.iter().enumerate() {
        let (writer, reader) = if turn % 2 == 0 {
            (&mut a, &mut b)
        } else {
            (&mut b, &mut a)
        };
        writer.catch_up().unwrap();
        leaves.extend(fill_raw(writer, &[n]));
        assert!(
            reader.catch_up().unwrap(),
            "turn {turn}: the reader saw growth"
        );
        assert!(!reader.catch_up().unwrap(), "turn {turn}: and nothing more");
        let size = leaves.len() as u64;
        let root = merkle::root_from_leaves(&leaves);
        for log in [&*writer, &*reader] {
            assert_eq!(
                (log.size(), log.root().unwrap()),
                (size, root),
                "turn {turn}"
            );
            let i = size - 1;
            let p = log.inclusion_proof(i, size).unwrap();
            merkle::verify_inclusion(i, size, &leaves[i as usize], &p, &root).unwrap();
        }
    }
    // A log opened afresh agrees, and a checkpoint signed by either verifies for both.
    let fresh = Log::open(store, ORIGIN).unwrap();
    assert_eq!(fresh.root().unwrap(), a.root().unwrap());
    let note = b.sign_checkpoint(&key()).unwrap();
    assert!(note.contains(&format!("\n{}\n", leaves.len())));
}

fn append_entries<S: LedgerStore>(log: &mut Log<S>, n: u64) -> Vec<Hash> {
    let es = entries(log.size(), n);
    log.append_batch(&es).unwrap();
    es.iter()
        .map(|e| merkle::leaf_hash(&e.encode().unwrap()))
        .collect()
}

#[test]
fn crash_in_the_middle_of_a_batch_recovers_every_acknowledged_append() {
    for cut in 0..8 {
        let store = MemStore::new();
        let mut log = Log::open(store.clone(), ORIGIN).unwrap();
        let mut acked = append_entries(&mut log, 200);
        acked.extend(append_entries(&mut log, 100));
        let root = log.root().unwrap();
        store.crash_next_commit_after(cut);
        assert!(log.append_batch(&entries(5000, 700)).is_err());
        // The process "restarts".
        let mut log = Log::open(store.clone(), ORIGIN).unwrap();
        assert_eq!(log.size(), 300, "cut after {cut} writes");
        assert_eq!(log.root().unwrap(), root);
        let p = log.check().unwrap();
        assert!(p.is_empty(), "cut {cut}: {:?}", p.first());
        acked.extend(append_entries(&mut log, 10));
        // Opened again after appending on top of the crash: what the interrupted batch left
        // in storage must not come back.
        let mut log = Log::open(store.clone(), ORIGIN).unwrap();
        assert_eq!(log.root().unwrap(), merkle::root_from_leaves(&acked));
        let stored = log.entries(300..310).unwrap();
        let appended: Vec<Vec<u8>> = entries(300, 10)
            .iter()
            .map(|e| e.encode().unwrap())
            .collect();
        assert_eq!(stored, appended, "cut {cut}");
        acked.extend(append_entries(&mut log, 500));
        assert_eq!(log.root().unwrap(), merkle::root_from_leaves(&acked));
        assert!(log.check().unwrap().is_empty());
    }
}

#[test]
fn killed_process_leaves_a_consistent_sled_log_with_every_acknowledged_batch() {
    use std::io::BufRead as _;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path();
    let bin = env!("CARGO_BIN_EXE_tongban");
    let st = std::process::Command::new(bin)
        .args([
            "--data-dir",
            data.to_str().unwrap(),
            "keys",
            "generate",
            "--name",
            ORIGIN,
        ])
        .output()
        .unwrap();
    assert!(st.status.success());
    let mut child = std::process::Command::new(bin)
        .args(["--data-dir", data.to_str().unwrap(), "audit", "fill"])
        .args(["--entries", "10000000", "--batch", "97", "--print-acks"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut acked = 0u64;
    let out = std::io::BufReader::new(child.stdout.take().unwrap());
    for line in out.lines() {
        let line = line.unwrap();
        acked = line.strip_prefix("acked ").unwrap().parse().unwrap();
        if acked >= 97 * 150 {
            child.kill().unwrap(); // SIGKILL, mid-way through later batches
            break;
        }
    }
    child.wait().unwrap();
    let store = DataDir::new(data).open_existing().unwrap().ledger;
    let mut log = Log::open(store, ORIGIN).unwrap();
    assert!(log.size() >= acked, "size {} < acked {acked}", log.size());
    assert_eq!(log.size() % 97, 0, "a batch is all or nothing");
    assert!(log.check().unwrap().is_empty());
    let ring = DataDir::new(data).keyring().unwrap();
    log.append_batch(&entries(log.size(), 3)).unwrap();
    log.sign_checkpoint(ring.active()).unwrap();
}

#[test]
fn batcher_gathers_concurrent_appends_and_every_index_is_unique() {
    use std::sync::{Arc, Mutex};
    let log = Arc::new(Mutex::new(Log::open(MemStore::new(), ORIGIN).unwrap()));
    let b = Arc::new(tongban::ledger::Batcher::spawn(log.clone(), 1000));
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let b = b.clone();
            std::thread::spawn(move || {
                (0..50)
                    .map(|i| b.append(entries(t * 1000 + i, 1)).unwrap().start)
                    .collect::<Vec<u64>>()
            })
        })
        .collect();
    let mut all: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort_unstable();
    assert_eq!(all, (0..400).collect::<Vec<u64>>());
    assert_eq!(log.lock().unwrap().size(), 400);
}

#[test]
fn signing_refuses_a_checkpoint_inconsistent_with_a_signed_one() {
    let k = key();
    let store = MemStore::new();
    let mut log = Log::open(store.clone(), ORIGIN).unwrap();
    log.append_batch(&entries(0, 100)).unwrap();
    log.sign_checkpoint(&k).unwrap();
    log.append_batch(&entries(100, 201)).unwrap();
    // Someone rewrites a stored leaf hash under the signed part (tile 0 is full now).
    store.with_map(|m| m.get_mut(&tile_key(0, 0)).unwrap()[32 * 5] ^= 1);
    assert!(matches!(
        log.sign_checkpoint(&k),
        Err(LogError::Inconsistent { .. })
    ));
}

#[test]
fn a_second_writer_cannot_make_the_log_sign_a_split_view() {
    let k = key();
    let store = MemStore::new();
    let mut a = Log::open(store.clone(), ORIGIN).unwrap();
    a.append_batch(&entries(0, 10)).unwrap();
    a.sign_checkpoint(&k).unwrap();
    let mut b = Log::open(store.clone(), ORIGIN).unwrap();
    a.append_batch(&entries(10, 1)).unwrap();
    a.sign_checkpoint(&k).unwrap();
    b.append_batch(&entries(999, 1)).unwrap(); // a different entry 10
    assert!(matches!(
        b.sign_checkpoint(&k),
        Err(LogError::Inconsistent { .. })
    ));
}

#[test]
fn truncated_log_is_detected_on_open() {
    let store = MemStore::new();
    let mut log = Log::open(store.clone(), ORIGIN).unwrap();
    log.append_batch(&entries(0, 20)).unwrap();
    log.sign_checkpoint(&key()).unwrap();
    store.with_map(|m| m.insert(KEY_SIZE.to_vec(), 12u64.to_be_bytes().to_vec()));
    assert!(matches!(
        Log::open(store, ORIGIN),
        Err(LogError::Truncated {
            size: 12,
            signed: 20
        })
    ));
}

#[test]
fn altered_stored_entry_is_named_by_check_and_by_bundle_verify() {
    let store = MemStore::new();
    let mut log = Log::open(store.clone(), ORIGIN).unwrap();
    log.append_batch(&entries(0, 600)).unwrap();
    log.sign_checkpoint(&key()).unwrap();
    // Change a byte in the middle of (full) bundle 1.
    store.with_map(|m| {
        let b = m.get_mut(&bundle_key(1)).unwrap();
        let at = b.len() / 2 + 40;
        b[at] ^= 0x20;
    });
    let log = Log::open(store, ORIGIN).unwrap();
    let problems = log.check().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].entry >= 256);
    let bad = problems[0].entry;
    let r = export_and_verify(&log, &ExportOptions::default(), &[&key()]).1;
    assert!(r
        .failures
        .iter()
        .any(|f| f.entry == Some(bad) && f.kind == FailureKind::EntryAltered));
}

#[test]
fn altered_stored_leaf_hash_is_named_by_check_and_by_bundle_verify() {
    let store = MemStore::new();
    let mut log = Log::open(store.clone(), ORIGIN).unwrap();
    log.append_batch(&entries(0, 300)).unwrap();
    log.sign_checkpoint(&key()).unwrap();
    store.with_map(|m| m.get_mut(&tile_key(0, 0)).unwrap()[32 * 7 + 3] ^= 1);
    // Opening only re-derives the signed root (O(log n)), which rests on the level-1 hash
    // of this full tile; the full check and any export name entry 7.
    let log = Log::open(store, ORIGIN).unwrap();
    let p = log.check().unwrap();
    assert!(p.iter().any(|p| p.entry == 7), "{p:?}");
    let r = export_and_verify(&log, &ExportOptions::default(), &[&key()]).1;
    assert!(r
        .failures
        .iter()
        .any(|f| f.entry == Some(7) && f.kind == FailureKind::LeafRecordAltered));
}

#[test]
fn altered_stored_hash_under_the_signed_root_is_refused_on_open() {
    let store = MemStore::new();
    let mut log = Log::open(store.clone(), ORIGIN).unwrap();
    log.append_batch(&entries(0, 300)).unwrap();
    log.sign_checkpoint(&key()).unwrap();
    // The rightmost (partial) bundle's entries feed the root directly.
    store.with_map(|m| m.get_mut(&pending_entry_key(256)).unwrap()[40] ^= 1);
    assert!(matches!(
        Log::open(store, ORIGIN),
        Err(LogError::Corrupt(_))
    ));
}

fn export_and_verify<S: LedgerStore>(
    log: &Log<S>,
    opts: &ExportOptions,
    keys: &[&SigningKey],
) -> (tempfile::TempDir, Report) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bundle");
    let published: Vec<_> = keys.iter().map(|k| k.verifier()).collect();
    bundle::export(log, &published, opts, &out, |_, _| {}).unwrap();
    let r = verify_dir(&out, keys, None);
    (tmp, r)
}

fn verify_dir(dir: &Path, keys: &[&SigningKey], trusted: Option<String>) -> Report {
    let files = bundle::load(dir).unwrap();
    bundle::verify(
        &files,
        &VerifyOptions {
            keys: Some(verifiers(keys)),
            trusted,
            ..Default::default()
        },
        |_, _| {},
    )
}

fn small_log(n: u64, sign_every: u64) -> Log<MemStore> {
    let mut log = Log::open(MemStore::new(), ORIGIN).unwrap();
    let mut i = 0;
    while i < n {
        let m = sign_every.min(n - i);
        log.append_batch(&entries(i, m)).unwrap();
        log.sign_checkpoint(&key()).unwrap();
        i += m;
    }
    log
}

fn bundle_of(log: &Log<MemStore>, opts: &ExportOptions) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("b");
    bundle::export(log, &[key().verifier()], opts, &out, |_, _| {}).unwrap();
    (tmp, out)
}

fn flip(path: &Path, at: usize, mask: u8) {
    let mut b = fs::read(path).unwrap();
    b[at] ^= mask;
    fs::write(path, b).unwrap();
}

/// Offset and length (prefix included) of entry `index` in a bundle's `entries` file.
pub(crate) fn entry_offset(dir: &Path, index: usize) -> (usize, usize) {
    let b = fs::read(dir.join("entries")).unwrap();
    let mut off = 0;
    for _ in 0..index {
        off += 2 + u16::from_be_bytes([b[off], b[off + 1]]) as usize;
    }
    (off, 2 + u16::from_be_bytes([b[off], b[off + 1]]) as usize)
}

#[test]
fn exported_bundle_verifies_with_history_and_inclusion_proofs() {
    let log = small_log(1000, 130);
    let opts = ExportOptions {
        inclusion_proofs: true,
        ..Default::default()
    };
    let (_t, r) = export_and_verify(&log, &opts, &[&key()]);
    assert!(r.ok(), "{:?}", r.failures);
    assert_eq!(r.entries_checked, 1000);
    assert_eq!(r.history_checked, 7);
    assert_eq!(r.signatures_verified, 8);
    // A range export too.
    let opts = ExportOptions {
        range: Some(300..517),
        inclusion_proofs: true,
        ..Default::default()
    };
    let (_t, r) = export_and_verify(&log, &opts, &[&key()]);
    assert!(r.ok(), "{:?}", r.failures);
    assert_eq!(r.entries_checked, 217);
    // A version-2 entry (with the sending platform's key id) verifies like the others.
    let mut log = log;
    let signed = Entry {
        sender_keyid: Some("zj-2026-a".into()),
        ..Entry::example(1000)
    };
    log.append_batch(&[signed]).unwrap();
    log.sign_checkpoint(&key()).unwrap();
    assert_eq!(log.entries(1000..1001).unwrap()[0][0], 2);
    let (_t, r) = export_and_verify(&log, &ExportOptions::default(), &[&key()]);
    assert!(r.ok(), "{:?}", r.failures);
    assert_eq!(r.entries_checked, 1001);
}

#[test]
fn flipped_entry_byte_is_named_by_verify() {
    let log = small_log(600, 600);
    let (_t, dir) = bundle_of(&log, &ExportOptions::default());
    let (off, len) = entry_offset(&dir, 421);
    flip(&dir.join("entries"), off + len - 5, 0x01);
    let r = verify_dir(&dir, &[&key()], None);
    assert!(!r.ok());
    assert!(
        r.failures
            .iter()
            .any(|f| f.entry == Some(421) && f.kind == FailureKind::EntryAltered),
        "{:?}",
        r.failures
    );
    assert!(r
        .failures
        .iter()
        .any(|f| f.kind == FailureKind::RootMismatch));
}

#[test]
fn every_flipped_entry_is_reported_not_only_the_first() {
    let log = small_log(300, 300);
    let (_t, dir) = bundle_of(&log, &ExportOptions::default());
    for i in [3usize, 150, 299] {
        let (off, len) = entry_offset(&dir, i);
        flip(&dir.join("entries"), off + len - 1, 0x01);
    }
    let r = verify_dir(&dir, &[&key()], None);
    let named: Vec<u64> = r
        .failures
        .iter()
        .filter(|f| f.kind == FailureKind::EntryAltered)
        .filter_map(|f| f.entry)
        .collect();
    assert_eq!(named, vec![3, 150, 299]);
}

#[test]
fn flipped_leaf_record_is_named_and_distinguished_from_an_altered_entry() {
    let log = small_log(100, 100);
    let (_t, dir) = bundle_of(&log, &ExportOptions::default());
    flip(&dir.join("leaves"), 32 * 64 + 9, 0x80);
    let r = verify_dir(&dir, &[&key()], None);
    assert_eq!(r.failures.len(), 1, "{:?}", r.failures);
    assert_eq!(r.failures[0].entry, Some(64));
    assert_eq!(r.failures[0].kind, FailureKind::LeafRecordAltered);
}

#[test]
fn swapped_entries_are_reported_as_reordered() {
    let log = small_log(50, 50);
    let (_t, dir) = bundle_of(&log, &ExportOptions::default());
    let b = fs::read(dir.join("entries")).unwrap();
    let (o1, l1) = entry_offset(&dir, 10);
    let (o2, l2) = entry_offset(&dir, 11);
    let mut swapped = b[..o1].to_vec();
    swapped.extend_from_slice(&b[o2..o2 + l2]);
    swapped.extend_from_slice(&b[o1..o1 + l1]);
    swapped.extend_from_slice(&b[o2 + l2..]);
    fs::write(dir.join("entries"), swapped).unwrap();
    let r = verify_dir(&dir, &[&key()], None);
    let reordered: Vec<u64> = r
        .failures
        .iter()
        .filter(|f| f.kind == FailureKind::EntryReordered)
        .filter_map(|f| f.entry)
        .collect();
    assert_eq!(reordered, vec![10, 11], "{:?}", r.failures);
}

#[test]
fn truncated_bundle_names_the_first_missing_entry() {
    let log = small_log(50, 50);
    let (_t, dir) = bundle_of(&log, &ExportOptions::default());
    let (off, _) = entry_offset(&dir, 37);
    let b = fs::read(dir.join("entries")).unwrap();
    fs::write(dir.join("entries"), &b[..off + 3]).unwrap();
    let r = verify_dir(&dir, &[&key()], None);
    assert!(r
        .failures
        .iter()
        .any(|f| f.entry == Some(37) && f.kind == FailureKind::EntryMissing));
}

#[test]
fn any_single_byte_change_anywhere_in_a_bundle_fails_verification() {
    let log = small_log(2, 1);
    let opts = ExportOptions {
        inclusion_proofs: true,
        ..Default::default()
    };
    let (_t, dir) = bundle_of(&log, &opts);
    let mut files = Vec::new();
    for name in [
        "manifest.json",
        "checkpoint",
        "keys",
        "entries",
        "leaves",
        "proofs.jsonl",
    ] {
        files.push(dir.join(name));
    }
    for e in fs::read_dir(dir.join("history")).unwrap() {
        files.push(e.unwrap().path());
    }
    let mut flips = 0;
    for f in &files {
        let len = fs::read(f).unwrap().len();
        // Every byte of the data files; every 4th byte of the other files (each costs a
        // signature check in an unoptimised build). Low and high bits alternate.
        let stride = if f.ends_with("entries") || f.ends_with("leaves") {
            1
        } else {
            4
        };
        for at in (0..len).step_by(stride) {
            let mask = if (at / stride) % 2 == 0 { 0x01 } else { 0x80 };
            flip(f, at, mask);
            let r = verify_dir(&dir, &[&key()], None);
            assert!(
                !r.ok(),
                "{} byte {at} ^ {mask:#x} went unnoticed",
                f.display()
            );
            flip(f, at, mask);
            flips += 1;
        }
    }
    assert!(verify_dir(&dir, &[&key()], None).ok());
    assert!(flips > 700, "{flips}");
}

#[test]
fn older_checkpoint_presented_as_newer_is_reported_as_rollback() {
    let mut log = small_log(100, 100);
    let (_t, dir) = bundle_of(&log, &ExportOptions::default());
    log.append_batch(&entries(100, 10)).unwrap();
    let newer = log.sign_checkpoint(&key()).unwrap();
    let r = verify_dir(&dir, &[&key()], Some(newer));
    assert!(
        r.failures.iter().any(|f| f.kind == FailureKind::Rollback),
        "{:?}",
        r.failures
    );
}

#[test]
fn two_signed_checkpoints_of_one_size_with_different_roots_are_reported_as_split_view() {
    let log = small_log(100, 100);
    let (_t, dir) = bundle_of(&log, &ExportOptions::default());
    // The same key signs another tree of the same size (a forked log).
    let mut fork = Log::open(MemStore::new(), ORIGIN).unwrap();
    fork.append_batch(&entries(5000, 100)).unwrap();
    let other = fork.sign_checkpoint(&key()).unwrap();
    let r = verify_dir(&dir, &[&key()], Some(other));
    assert!(
        r.failures.iter().any(|f| f.kind == FailureKind::SplitView),
        "{:?}",
        r.failures
    );
}

#[test]
fn trusted_older_checkpoint_is_proven_consistent_or_the_gap_is_reported() {
    let mut log = Log::open(MemStore::new(), ORIGIN).unwrap();
    log.append_batch(&entries(0, 77)).unwrap();
    let trusted = log.sign_checkpoint(&key()).unwrap();
    log.append_batch(&entries(77, 200)).unwrap();
    log.sign_checkpoint(&key()).unwrap();
    // Full export: checked from the history proof.
    let (_t, dir) = bundle_of(&log, &ExportOptions::default());
    let r = verify_dir(&dir, &[&key()], Some(trusted.clone()));
    assert!(r.ok(), "{:?}", r.failures);
    // Range export without history: the gap is named with what to do.
    let opts = ExportOptions {
        range: Some(100..200),
        no_history: true,
        ..Default::default()
    };
    let (_t2, dir) = bundle_of(&log, &opts);
    let r = verify_dir(&dir, &[&key()], Some(trusted.clone()));
    assert!(r.failures.iter().any(
        |f| f.kind == FailureKind::Inconsistent && f.message.contains("--consistency-from 77")
    ));
    let opts = ExportOptions {
        consistency_from: vec![77],
        ..opts
    };
    let (_t3, dir) = bundle_of(&log, &opts);
    assert!(verify_dir(&dir, &[&key()], Some(trusted)).ok());
}

/// A bundle from entry 0 that stops before sizes the auditor asks about (`audit export --to 6
/// --consistency-from 8` of a log of 12): every older size past the bundle's last entry is
/// checked with a proof, or named as unchecked or missing, never read from entries the
/// bundle does not hold (verify panicked on both before).
#[test]
fn a_bundle_ending_before_an_older_size_checks_it_by_proof_or_names_the_gap() {
    let mut log = Log::open(MemStore::new(), ORIGIN).unwrap();
    log.append_batch(&entries(0, 8)).unwrap();
    let trusted = log.sign_checkpoint(&key()).unwrap();
    log.append_batch(&entries(8, 4)).unwrap();
    log.sign_checkpoint(&key()).unwrap();
    let opts = ExportOptions {
        range: Some(0..6),
        consistency_from: vec![8],
        no_history: true,
        ..Default::default()
    };
    let (_t, dir) = bundle_of(&log, &opts);
    let r = verify_dir(&dir, &[&key()], None);
    assert!(r.ok(), "{:?}", r.failures);
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("consistency proof from size 8 not checked")),
        "{:?}",
        r.notes
    );
    // With the checkpoint of size 8 trusted, the proof is checked against its root.
    let r = verify_dir(&dir, &[&key()], Some(trusted.clone()));
    assert!(r.ok(), "{:?}", r.failures);
    // Without the proof, the trusted size is past the entries: the gap is named.
    let opts = ExportOptions {
        consistency_from: vec![],
        ..opts
    };
    let (_t2, dir) = bundle_of(&log, &opts);
    let r = verify_dir(&dir, &[&key()], Some(trusted));
    assert!(
        r.failures
            .iter()
            .any(|f| f.kind == FailureKind::Inconsistent
                && f.message.contains("--consistency-from 8")),
        "{:?}",
        r.failures
    );
}

#[test]
fn after_rotation_old_checkpoints_still_verify_with_the_published_keys() {
    let old = key();
    let new = SigningKey::from_seed(ORIGIN, &[43; 32]).unwrap();
    let mut log = Log::open(MemStore::new(), ORIGIN).unwrap();
    log.append_batch(&entries(0, 10)).unwrap();
    let first = log.sign_checkpoint(&old).unwrap();
    log.append_batch(&entries(10, 10)).unwrap();
    log.sign_checkpoint(&new).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("b");
    bundle::export(
        &log,
        &[old.verifier(), new.verifier()],
        &ExportOptions::default(),
        &out,
        |_, _| {},
    )
    .unwrap();
    let r = verify_dir(&out, &[&old, &new], Some(first.clone()));
    assert!(r.ok(), "{:?}", r.failures);
    // Without the retired key the old checkpoint cannot be checked, and that is a failure.
    let r = verify_dir(&out, &[&new], Some(first));
    assert!(r.failures.iter().any(|f| f.kind == FailureKind::Signature));
}

#[test]
fn checkpoint_signed_by_an_untrusted_key_fails() {
    let log = small_log(10, 10);
    let (_t, dir) = bundle_of(&log, &ExportOptions::default());
    let stranger = SigningKey::from_seed(ORIGIN, &[1; 32]).unwrap();
    let r = verify_dir(&dir, &[&stranger], None);
    assert!(r.failures.iter().any(|f| f.kind == FailureKind::Signature));
}

#[test]
fn altered_document_is_named_with_the_entry_that_records_it() {
    let mut log = Log::open(MemStore::new(), ORIGIN).unwrap();
    let mut es = entries(0, 5);
    let mut docs = Vec::new();
    for (i, e) in es.iter_mut().enumerate() {
        let doc = format!("<Application n=\"{i}\"/>");
        e.received_sha256 = sha2::Digest::finalize(
            <sha2::Sha256 as sha2::Digest>::new_with_prefix(doc.as_bytes()),
        )
        .into();
        docs.push((hex::encode(e.received_sha256), doc));
    }
    log.append_batch(&es).unwrap();
    log.sign_checkpoint(&key()).unwrap();
    let (_t, dir) = bundle_of(&log, &ExportOptions::default());
    // As `audit export --with-documents` writes them beside the bundle.
    fs::create_dir(dir.join("documents")).unwrap();
    for (name, doc) in &docs {
        fs::write(dir.join("documents").join(name), doc).unwrap();
    }
    let r = verify_dir(&dir, &[&key()], None);
    assert!(r.ok(), "{:?}", r.failures);
    assert_eq!(r.documents_checked, 5);
    let name = hex::encode(es[3].received_sha256);
    flip(&dir.join("documents").join(&name), 4, 1);
    let r = verify_dir(&dir, &[&key()], None);
    assert!(r
        .failures
        .iter()
        .any(|f| f.entry == Some(3) && f.kind == FailureKind::Document));
}

#[test]
fn cli_exports_and_verifies_with_exit_codes_and_json() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_str().unwrap();
    let bin = env!("CARGO_BIN_EXE_tongban");
    let run = |args: &[&str]| {
        std::process::Command::new(bin)
            .args(["--data-dir", d])
            .args(args)
            .output()
            .unwrap()
    };
    assert!(run(&["keys", "generate", "--name", ORIGIN])
        .status
        .success());
    assert!(
        run(&["audit", "fill", "--entries", "500", "--batch", "100"])
            .status
            .success()
    );
    assert!(run(&["keys", "rotate"]).status.success());
    assert!(
        run(&["audit", "fill", "--entries", "100", "--batch", "100"])
            .status
            .success()
    );
    let list = String::from_utf8(run(&["keys", "list"]).stdout).unwrap();
    assert_eq!(list.lines().count(), 2);
    assert!(list.contains("retired") && list.contains("active"));
    let public = run(&["keys", "public"]).stdout;
    assert!(!String::from_utf8_lossy(&public).contains("PRIVATE"));
    let keys = tmp.path().join("published-keys");
    fs::write(&keys, &public).unwrap();
    let out = tmp.path().join("bundle");
    let o = run(&["audit", "export", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let k = keys.to_str().unwrap();
    let o = run(&["audit", "verify", out.to_str().unwrap(), "--keys", k]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let (off, len) = entry_offset(&out, 250);
    flip(&out.join("entries"), off + len - 2, 4);
    let o = run(&[
        "audit",
        "verify",
        out.to_str().unwrap(),
        "--keys",
        k,
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(j["failures"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["entry"] == 250 && f["kind"] == "entry-altered"));
    let o = run(&["audit", "verify", tmp.path().join("nope").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(run(&["audit", "check"]).status.code(), Some(0));
}
