//! The worst shapes of hostile input (issue 17, finding 3), each at 1×, 2× and 4× its size
//! so that the growth shows: a Zhejiang application carrying about 2 MB of unknown fields
//! in one object (parsing stops at the first field past the limit), the same 2 MB as unknown
//! objects of 1,000 fields each (nothing passes the field limit: all of it is parsed before
//! the extension limits refuse it), and a Shanghai application carrying about 250 KB of
//! unknown empty elements (parsing stops at the element limit; the whole text is decoded).
//! All are refused (`tongban::model::limits`); what is measured is how long the refusal
//! takes. Then the largest documents of those shapes still accepted, translated. The
//! documents are generated here from the shared samples.
//! Run: `cargo bench --bench hostile`.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tongban::platform::{read, translate, Platform};

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/platforms/samples");

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(format!("{SAMPLES}/{name}")).expect("shared samples beside the repository")
}

/// The Zhejiang sample with unknown top-level fields added until it is `bytes` long.
pub fn zhejiang_unknown_fields(bytes: usize) -> Vec<u8> {
    let sample = sample("zj-application.json");
    let close = sample.iter().rposition(|b| *b == b'}').expect("an object");
    let mut out = sample[..close].to_vec();
    let mut i = 0;
    while out.len() < bytes {
        out.extend_from_slice(format!(",\"u{i}\":\"x\"").as_bytes());
        i += 1;
    }
    out.extend_from_slice(b"}");
    out
}

/// The Zhejiang sample with unknown fields that are objects of 1,000 fields each, added
/// until it is `bytes` long: no object passes the field limit, so the whole document is
/// parsed before the extension limits refuse it.
pub fn zhejiang_unknown_objects(bytes: usize) -> Vec<u8> {
    let sample = sample("zj-application.json");
    let close = sample.iter().rposition(|b| *b == b'}').expect("an object");
    let mut out = sample[..close].to_vec();
    let inner: String = (0..1000)
        .map(|i| format!("\"u{i}\":\"x\""))
        .collect::<Vec<_>>()
        .join(",");
    let mut i = 0;
    while out.len() < bytes {
        out.extend_from_slice(format!(",\"g{i}\":{{{inner}}}").as_bytes());
        i += 1;
    }
    out.extend_from_slice(b"}");
    out
}

/// The Shanghai sample with unknown empty elements added until it is `bytes` long.
pub fn shanghai_unknown_elements(bytes: usize) -> Vec<u8> {
    let sample = sample("sh-application.xml");
    let close = sample
        .windows(2)
        .rposition(|w| w == b"</")
        .expect("a root end tag");
    let mut out = sample[..close].to_vec();
    while out.len() < bytes {
        out.extend_from_slice(b"<x/>");
    }
    out.extend_from_slice(&sample[close..]);
    out
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("hostile");
    g.sample_size(20);
    for scale in [1, 2, 4] {
        let zj = zhejiang_unknown_fields(scale * 2_000_000);
        let sh = shanghai_unknown_elements(scale * 250_000);
        // Refused, not accepted: the limits are passed.
        assert!(read(Platform::Zhejiang, &zj).is_err());
        assert!(read(Platform::Shanghai, &sh).is_err());
        g.throughput(Throughput::Bytes(zj.len() as u64));
        g.bench_with_input(
            BenchmarkId::new("zj unknown fields", format!("{scale}x {} B", zj.len())),
            &zj,
            |b, zj| b.iter(|| read(Platform::Zhejiang, black_box(zj)).is_err()),
        );
        let nested = zhejiang_unknown_objects(scale * 2_000_000);
        assert!(read(Platform::Zhejiang, &nested).is_err());
        g.throughput(Throughput::Bytes(nested.len() as u64));
        g.bench_with_input(
            BenchmarkId::new("zj unknown objects", format!("{scale}x {} B", nested.len())),
            &nested,
            |b, zj| b.iter(|| read(Platform::Zhejiang, black_box(zj)).is_err()),
        );
        g.throughput(Throughput::Bytes(sh.len() as u64));
        g.bench_with_input(
            BenchmarkId::new("sh unknown elements", format!("{scale}x {} B", sh.len())),
            &sh,
            |b, sh| b.iter(|| read(Platform::Shanghai, black_box(sh)).is_err()),
        );
    }
    g.finish();
}

/// The largest documents of those shapes still accepted: 1,000 unknown Zhejiang fields
/// (the limit) of about 250 bytes each (just under the 256 KiB limit), and the same in
/// Shanghai's `Extensions`, translated to the other platform (read, then written).
fn accepted(c: &mut Criterion) {
    let mut g = c.benchmark_group("hostile accepted");
    g.sample_size(20);
    let sample = sample("zj-application.json");
    let close = sample.iter().rposition(|b| *b == b'}').expect("an object");
    let mut zj = sample[..close].to_vec();
    for i in 0..tongban::model::limits::MAX_EXTENSIONS {
        zj.extend_from_slice(format!(",\"u{i:04}\":\"{}\"", "x".repeat(250)).as_bytes());
    }
    zj.extend_from_slice(b"}");
    let sh = translate(Platform::Zhejiang, Platform::Shanghai, &zj)
        .expect("within the limits")
        .bytes;
    for (name, from, bytes) in [
        ("zj 1000 unknown fields -> sh", Platform::Zhejiang, &zj),
        ("sh 1000 extension fields -> zj", Platform::Shanghai, &sh),
    ] {
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_with_input(BenchmarkId::new(name, bytes.len()), bytes, |b, bytes| {
            b.iter(|| translate(from, from.other(), black_box(bytes)).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench, accepted);
criterion_main!(benches);
