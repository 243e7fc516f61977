//! Translation speed: the shared sample application, Shanghai → Zhejiang and back, and the
//! sample decision. Run: `cargo bench --bench translate`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use tongban::platform::{translate, Platform};

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/platforms/samples");

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(format!("{SAMPLES}/{name}")).expect("shared samples beside the repository")
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("translate");
    g.throughput(Throughput::Elements(1));
    for (name, file, from) in [
        (
            "application sh->zj",
            "sh-application.xml",
            Platform::Shanghai,
        ),
        (
            "application zj->sh",
            "zj-application.json",
            Platform::Zhejiang,
        ),
        ("decision sh->zj", "sh-decision.xml", Platform::Shanghai),
        ("decision zj->sh", "zj-decision.json", Platform::Zhejiang),
    ] {
        let bytes = sample(file);
        // Fail loudly rather than measure the error path.
        translate(from, from.other(), &bytes).expect("sample translates");
        g.bench_function(name, |b| {
            b.iter(|| translate(from, from.other(), black_box(&bytes)).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
