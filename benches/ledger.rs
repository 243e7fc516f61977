//! Ledger benchmarks: durable appends per second (group commit on sled), proof generation
//! at 1,000,000 entries, storage bytes per entry, and `audit verify` of a 1,000,000-entry
//! bundle.
//!
//! Run: `cargo bench --bench ledger` (set `LEDGER_BENCH_ENTRIES` for another log size).
//! One-shot figures (throughput, size, verify time) are printed as `FIGURE name: value`;
//! proof generation is measured with criterion.

use criterion::{black_box, Criterion};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tongban::ledger::bundle::{self, ExportOptions, VerifyOptions};
use tongban::ledger::{Entry, LedgerStore, Log};
use tongban::signing::{SigningKey, Verifiers};
use tongban::store::DataDir;

/// The ledger's store in a data directory at `path` (the gateway's own store).
fn store(path: &std::path::Path) -> Arc<dyn LedgerStore> {
    DataDir::new(path).open().unwrap().ledger
}

const ORIGIN: &str = "bench.tongban.example/ledger";

fn dir_bytes(p: &Path) -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir(p).unwrap() {
        let e = e.unwrap();
        let m = e.metadata().unwrap();
        total += if m.is_dir() {
            dir_bytes(&e.path())
        } else {
            m.len()
        };
    }
    total
}

/// Appends `n` example entries in batches of `batch` (one durable commit each); entries/s.
fn fill(log: &mut Log<Arc<dyn LedgerStore>>, n: u64, batch: u64, key: Option<&SigningKey>) -> f64 {
    let start_size = log.size();
    // Build entries outside the timed region: the daemon hands us ready entries.
    let all: Vec<Entry> = (start_size..start_size + n).map(Entry::example).collect();
    let t = Instant::now();
    for chunk in all.chunks(batch as usize) {
        log.append_batch(chunk).unwrap();
        if let Some(k) = key {
            if log.size() % 100_000 < batch {
                log.sign_checkpoint(k).unwrap();
            }
        }
    }
    n as f64 / t.elapsed().as_secs_f64()
}

fn main() {
    let n: u64 = std::env::var("LEDGER_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let key = SigningKey::from_seed(ORIGIN, &[7; 32]).unwrap();
    let tmp =
        tempfile::tempdir_in(std::env::var("LEDGER_BENCH_DIR").unwrap_or_else(|_| ".".into()))
            .unwrap();

    // 1. Durable appends per second for several batch sizes (fresh database each).
    for (batch, count) in [
        (1u64, 2_000u64),
        (10, 20_000),
        (100, 100_000),
        (1_000, 200_000),
    ] {
        let path = tmp.path().join(format!("append-{batch}"));
        let mut log = Log::open(store(&path), ORIGIN).unwrap();
        let rate = fill(&mut log, count, batch, None);
        println!("FIGURE durable appends/s, batch {batch:>5}: {rate:>10.0} ({count} entries)");
        drop(log);
        std::fs::remove_dir_all(&path).unwrap();
    }

    // 2. The big log: n entries in batches of 1000, a checkpoint every 100,000 entries.
    let big = tmp.path().join("big");
    let mut log = Log::open(store(&big), ORIGIN).unwrap();
    let t = Instant::now();
    let rate = fill(&mut log, n, 1_000, Some(&key));
    println!(
        "FIGURE build {n} entries (batch 1000): {:.1} s, {rate:.0} durable appends/s",
        t.elapsed().as_secs_f64()
    );
    log.sign_checkpoint(&key).unwrap();

    // 3. Storage per entry beyond the entry bytes.
    let entry_bytes: u64 = (0..n)
        .map(|i| Entry::example(i).encode().unwrap().len() as u64)
        .sum();
    // Live data: every key and value the ledger keeps in sled (what a compacted store holds).
    let mut live = 0u64;
    for kind in tongban::store::sled::LEDGER_KINDS {
        for (k, v) in log.store().scan_prefix(&[kind]).unwrap() {
            live += (k.len() + v.len()) as u64;
        }
    }
    let on_disk = dir_bytes(&big);
    println!(
        "FIGURE entries themselves: {entry_bytes} bytes ({:.1} B/entry)",
        entry_bytes as f64 / n as f64
    );
    println!(
        "FIGURE live ledger keys+values in sled: {live} bytes; beyond the entries {:.1} B/entry",
        (live as f64 - entry_bytes as f64) / n as f64
    );
    println!(
        "FIGURE sled directory on disk: {on_disk} bytes; beyond the entries {:.1} B/entry (includes sled's not-yet-reclaimed log segments)",
        (on_disk as f64 - entry_bytes as f64) / n as f64
    );

    // 4. Proof generation at n entries (criterion).
    let mut c = Criterion::default()
        .configure_from_args()
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    let mut g = c.benchmark_group(format!("proofs at {n} entries"));
    let mut i = 0u64;
    g.bench_function("inclusion proof", |b| {
        b.iter(|| {
            i = (i + 7_919 * 131) % n;
            black_box(log.inclusion_proof(black_box(i), n).unwrap())
        })
    });
    let mut m = 1u64;
    g.bench_function("consistency proof", |b| {
        b.iter(|| {
            m = (m + 7_919 * 131) % (n - 1) + 1;
            black_box(log.consistency_proof(black_box(m), n).unwrap())
        })
    });
    g.bench_function("root", |b| b.iter(|| black_box(log.root().unwrap())));
    g.finish();

    // 5. Export and verify an n-entry bundle.
    let out = tmp.path().join("bundle");
    let t = Instant::now();
    bundle::export(
        &log,
        &[key.verifier()],
        &ExportOptions::default(),
        &out,
        |_, _| {},
    )
    .unwrap();
    println!(
        "FIGURE export {n}-entry bundle: {:.1} s ({} bytes)",
        t.elapsed().as_secs_f64(),
        dir_bytes(&out)
    );
    let t = Instant::now();
    let files = bundle::load(&out).unwrap();
    let report = bundle::verify(
        &files,
        &VerifyOptions {
            keys: Some(Verifiers::new(vec![key.verifier()])),
            ..Default::default()
        },
        |_, _| {},
    );
    assert!(report.ok(), "{:?}", report.failures);
    println!(
        "FIGURE audit verify {n}-entry bundle (load + verify, {} signatures batch-verified): {:.2} s",
        report.signatures_verified,
        t.elapsed().as_secs_f64()
    );
    c.final_summary();
}
