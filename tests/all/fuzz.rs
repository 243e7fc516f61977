//! A fuzzing harness on stable Rust (issue 17): the conformance corpus as seeds, seeded
//! random mutations (byte flips, deletions, repeats, and hostile fragments: deep nesting,
//! huge counts of fields and elements, control characters, entity and character
//! references, long names, DOCTYPEs, invalid UTF-8, GB18030 bytes), run through both
//! platform readers, the translation both ways and back, and the audit-bundle verifier on
//! a mutated exported bundle. It asserts that nothing panics; it reports the slowest input
//! (timing goals are the benches', not asserted here).
//!
//! Short by default (a few seconds in a debug build). A long run:
//! `FUZZ_ITERATIONS=200000 FUZZ_SEED=7 cargo test --release --test all fuzz -- --nocapture`.
//! An input that panics is written to the temp directory and named in the failure: it
//! becomes a `conformance/<platform>/fail_*` case with the error it must give.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tongban::ledger::bundle::{self, BundleFiles, ExportOptions, VerifyOptions};
use tongban::ledger::{Entry, Log};
use tongban::platform::{self, Platform};
use tongban::signing::{SigningKey, Verifiers};
use tongban::store::MemStore;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Every document of `conformance/` (cases and pairs), with the platform it is in.
fn corpus() -> Vec<(Platform, Vec<u8>)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance"),
        &mut files,
    );
    files.sort();
    files
        .into_iter()
        .filter_map(|p| {
            let platform = match p.extension()?.to_str()? {
                "xml" => Platform::Shanghai,
                "json" => Platform::Zhejiang,
                _ => return None,
            };
            Some((platform, std::fs::read(&p).ok()?))
        })
        .collect()
}

/// Fragments a hostile sender would try.
fn hostile_fragment(rng: &mut StdRng) -> Vec<u8> {
    let n = rng.gen_range(1..2000);
    match rng.gen_range(0..18) {
        0 => format!("{}1{}", "[".repeat(n), "]".repeat(n)).into_bytes(),
        1 => format!("{}\"x\"{}", "{\"a\":".repeat(n), "}".repeat(n)).into_bytes(),
        2 => (0..n)
            .map(|i| format!("\"u{i}\":\"x\","))
            .collect::<String>()
            .into_bytes(),
        3 => "<x/>".repeat(n).into_bytes(),
        4 => "<a>".repeat(n.min(40)).into_bytes(),
        5 => vec![rng.gen_range(0..0x20)],
        6 => format!("&#{};", rng.gen_range(0..0x20)).into_bytes(),
        7 => b"&#xFFFE;&#xD800;&#0;&#x110000;".to_vec(),
        8 => b"&lt;&amp;&unknown;&;&#;&#x;".to_vec(),
        9 => "n".repeat(n * 20).into_bytes(),
        10 => b"<!DOCTYPE x [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]>".to_vec(),
        11 => vec![0xFF, 0xFE, 0xC0, 0x80, 0xED, 0xA0, 0x80],
        12 => vec![0x81, 0x30, 0x81, 0x30, 0xB3, 0xC2, 0x95, 0x32, 0x82, 0x36],
        13 => b"<![CDATA[\x01]]>]]><![CDATA[".to_vec(),
        14 => b"\\u0000\\ud800\\uDFFF\\u0001".to_vec(),
        15 => (0..n.min(200))
            .map(|i| format!(" a{i}=\"v\""))
            .collect::<String>()
            .into_bytes(),
        16 => (0..n)
            .map(|i| format!("<Field name=\"~zj:f{i}\">{{}}</Field>"))
            .collect::<String>()
            .into_bytes(),
        _ => b"<?xml version=\"1.0\" encoding=\"GB18030\"?>".to_vec(),
    }
}

/// One seeded mutation of `input`.
fn mutate(rng: &mut StdRng, input: &mut Vec<u8>) {
    if input.is_empty() {
        input.extend(hostile_fragment(rng));
        return;
    }
    let at = rng.gen_range(0..input.len());
    match rng.gen_range(0..6) {
        0 => input[at] ^= 1 << rng.gen_range(0..8),
        1 => input[at] = rng.gen(),
        2 => {
            let end = (at + rng.gen_range(1..64)).min(input.len());
            input.drain(at..end);
        }
        3 => {
            let end = (at + rng.gen_range(1..64)).min(input.len());
            let piece = input[at..end].repeat(rng.gen_range(1..50));
            input.splice(at..at, piece);
        }
        4 => input.truncate(at),
        _ => {
            let piece = hostile_fragment(rng);
            input.splice(at..at, piece);
        }
    }
}

/// Both readers, and for what is accepted, translation there and back.
fn exercise(input: &[u8]) {
    for from in [Platform::Zhejiang, Platform::Shanghai] {
        if platform::read(from, input).is_err() {
            continue;
        }
        let there = platform::translate(from, from.other(), input)
            .unwrap_or_else(|p| panic!("accepted as {from} but does not translate: {p}"));
        let back = platform::translate(from.other(), from, &there.bytes).unwrap_or_else(|p| {
            panic!(
                "accepted as {from}, translation refused as {}: {p}",
                from.other()
            )
        });
        platform::read(from, &back.bytes)
            .unwrap_or_else(|p| panic!("round trip refused as {from}: {p}"));
    }
}

/// Runs `f` on `input`, turning a panic into a failure naming the input saved to disk.
fn guarded(what: &str, input: &[u8], f: impl FnOnce()) -> Result<(), String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|e| {
        let msg = e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        let file = std::env::temp_dir().join(format!(
            "tongban-fuzz-{}-{}.bin",
            std::process::id(),
            what.replace(' ', "-")
        ));
        let _ = std::fs::write(&file, input);
        format!("{what}: {msg} (input in {})", file.display())
    })
}

#[test]
fn fuzz_readers_translation_and_bundle_verifier() {
    let iterations = env("FUZZ_ITERATIONS", 300);
    let seed = env("FUZZ_SEED", 17);
    let mut rng = StdRng::seed_from_u64(seed);
    let corpus = corpus();
    assert!(!corpus.is_empty());
    let mut failures = Vec::new();
    let mut slowest = (Duration::ZERO, 0usize, String::new());
    for i in 0..iterations {
        let (platform, seed_doc) = &corpus[rng.gen_range(0..corpus.len())];
        let mut input = seed_doc.clone();
        for _ in 0..rng.gen_range(1..4) {
            mutate(&mut rng, &mut input);
        }
        let start = Instant::now();
        if let Err(e) = guarded(&format!("input {i} from a {platform} seed"), &input, || {
            exercise(&input)
        }) {
            failures.push(e);
        }
        let took = start.elapsed();
        if took > slowest.0 {
            slowest = (took, input.len(), format!("input {i} ({platform} seed)"));
            let _ = std::fs::write(
                std::env::temp_dir().join("tongban-fuzz-slowest.bin"),
                &input,
            );
        }
    }
    let bundle_failures = fuzz_bundle(&mut rng, iterations / 10 + 1);
    println!(
        "fuzz: seed {seed}, {iterations} documents, slowest {} of {} bytes in {:?} (kept in {})",
        slowest.2,
        slowest.1,
        slowest.0,
        std::env::temp_dir()
            .join("tongban-fuzz-slowest.bin")
            .display()
    );
    failures.extend(bundle_failures);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const ORIGIN: &str = "tongban.test/fuzz";

/// Exports a small signed log and verifies mutated copies of its files.
fn fuzz_bundle(rng: &mut StdRng, iterations: u64) -> Vec<String> {
    let key = SigningKey::from_seed(ORIGIN, &[7; 32]).unwrap();
    let mut log = Log::open(MemStore::new(), ORIGIN).unwrap();
    for i in 0..3 {
        let entries: Vec<Entry> = (i * 4..i * 4 + 4).map(Entry::example).collect();
        log.append_batch(&entries).unwrap();
        log.sign_checkpoint(&key).unwrap();
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bundle");
    bundle::export(
        &log,
        &[key.verifier()],
        &ExportOptions::default(),
        &out,
        |_, _| {},
    )
    .unwrap();
    let files = bundle::load(&out).unwrap();
    let mut failures = Vec::new();
    for i in 0..iterations {
        let mut f: BundleFiles = files.clone();
        let bytes = |rng: &mut StdRng, b: &mut Vec<u8>| {
            for _ in 0..rng.gen_range(1..4) {
                mutate(rng, b);
            }
        };
        let text = |rng: &mut StdRng, s: &mut String| {
            let mut b = std::mem::take(s).into_bytes();
            bytes(rng, &mut b);
            *s = String::from_utf8_lossy(&b).into_owned();
        };
        match rng.gen_range(0..6) {
            0 => f.manifest.as_mut().map(|b| bytes(rng, b)),
            1 => f.checkpoint.as_mut().map(|s| text(rng, s)),
            2 => f.keys.as_mut().map(|s| text(rng, s)),
            3 => f.entries.as_mut().map(|b| bytes(rng, b)),
            4 => f.leaves.as_mut().map(|b| bytes(rng, b)),
            _ => f.proofs.as_mut().map(|s| text(rng, s)),
        };
        let opts = VerifyOptions {
            keys: Some(Verifiers::new(vec![key.verifier()])),
            ..Default::default()
        };
        let what = format!("bundle {i}");
        if let Err(e) = guarded(&what, f.manifest.as_deref().unwrap_or_default(), || {
            let _ = bundle::verify(&f, &opts, |_, _| {});
        }) {
            failures.push(e);
        }
    }
    failures
}
