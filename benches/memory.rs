//! Peak heap while translating a 20 MiB application (large attachments), measured with a
//! counting allocator around exactly what `tongban translate` does
//! (`platform::translate_owned`). Run: `cargo bench --bench memory`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use base64::Engine as _;
use sha2::Digest as _;
use tongban::platform::{translate_owned, Platform};

struct Counting;
static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator and only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(l.size(), Relaxed) + l.size();
        PEAK.fetch_max(now, Relaxed);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        CURRENT.fetch_sub(l.size(), Relaxed);
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        if new > l.size() {
            let now = CURRENT.fetch_add(new - l.size(), Relaxed) + new - l.size();
            PEAK.fetch_max(now, Relaxed);
        } else {
            CURRENT.fetch_sub(l.size() - new, Relaxed);
        }
        System.realloc(p, l, new)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Target size of the test document.
const DOC_BYTES: usize = 20 << 20;

/// The sample Zhejiang application with its materials replaced by three large files.
fn large_zhejiang_application() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/platforms/samples/zj-application.json"
    );
    let mut doc: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let per_file = DOC_BYTES / 3 / 4 * 3;
    let files: Vec<_> = (0..3u8)
        .map(|i| {
            let content: Vec<u8> = (0..per_file).map(|j| (j as u8).wrapping_mul(31).wrapping_add(i)).collect();
            serde_json::json!({
                "clbm": "M99", "clmc": "其他", "wjm": format!("scan-{i}.pdf"), "wjlx": "application/pdf",
                "sha256": hex::encode(sha2::Sha256::digest(&content)),
                "nr": base64::engine::general_purpose::STANDARD.encode(&content),
            })
        })
        .collect();
    doc["cl"] = serde_json::Value::Array(files);
    serde_json::to_vec(&doc).unwrap()
}

fn measure(from: Platform, input: Vec<u8>) -> Vec<u8> {
    let size = input.len();
    // The input counts: the peak is everything the translation holds, input included.
    let base = CURRENT.load(Relaxed) - input.capacity();
    PEAK.store(CURRENT.load(Relaxed), Relaxed);
    let started = std::time::Instant::now();
    let out = translate_owned(from, from.other(), input)
        .expect("translates")
        .bytes;
    let elapsed = started.elapsed();
    let peak = PEAK.load(Relaxed) - base;
    println!(
        "{from} -> {}: input {:.1} MiB, output {:.1} MiB, peak heap {:.1} MiB = {:.2}x input, {:.0} ms",
        from.other(),
        size as f64 / 1048576.0,
        out.len() as f64 / 1048576.0,
        peak as f64 / 1048576.0,
        peak as f64 / size as f64,
        elapsed.as_secs_f64() * 1000.0
    );
    out
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for a listing; nothing to list.
    }
    let zj = large_zhejiang_application();
    let sh = measure(Platform::Zhejiang, zj);
    measure(Platform::Shanghai, sh);
}
