//! SM2 with SM3 against Ed25519, per signature: signing and verifying an RFC 9421 signature
//! base of the size the gateway signs for a forwarded application (about 250 bytes), and a
//! checkpoint's note text. The two algorithms alternate within one run (criterion runs each
//! function in turn), so the machine's state is shared by both.
//! Run: `cargo bench --bench signatures`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use tongban::gateway::transport::httpsig::{signature_base, REQUEST_COMPONENTS};
use tongban::ledger::Checkpoint;
use tongban::signing::sm2::DEFAULT_DISTINGUISHING_ID;
use tongban::signing::{SigningKey, Sm2SigningKey};

fn messages() -> Vec<(&'static str, Vec<u8>)> {
    let base = signature_base(
        &[
            ("@method", "POST"),
            (
                "@target-uri",
                "https://kstb.zj.example:8443/api/v1/kstb/apply",
            ),
            ("content-type", "application/json"),
            (
                "content-digest",
                "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
            ),
        ],
        &format!(
            "({});created=1790000000;keyid=\"0a1b2c3d\";alg=\"sm2-sm3\"",
            REQUEST_COMPONENTS.map(|c| format!("\"{c}\"")).join(" ")
        ),
    );
    let checkpoint = Checkpoint {
        origin: "tongban.example/ledger".into(),
        size: 1_000_000,
        root: [7; 32],
    }
    .to_text();
    vec![
        ("RFC 9421 base", base.into_bytes()),
        ("checkpoint", checkpoint.into_bytes()),
    ]
}

fn bench(c: &mut Criterion) {
    let ed = SigningKey::from_seed("tongban.example/ledger", &[1; 32]).unwrap();
    let sm2 = Sm2SigningKey::from_scalar(
        "tongban.example/ledger",
        DEFAULT_DISTINGUISHING_ID,
        &[1; 32],
    )
    .unwrap();
    let (ed_pub, sm2_pub) = (ed.verifier(), sm2.public());
    let mut g = c.benchmark_group("signatures");
    g.throughput(Throughput::Elements(1));
    for (what, msg) in messages() {
        let ed_sig = ed.sign(&msg);
        let sm2_sig = sm2.sign(&msg);
        assert!(ed_pub.verify(&msg, &ed_sig) && sm2_pub.verify(&msg, &sm2_sig));
        g.bench_function(format!("ed25519 sign {what}"), |b| {
            b.iter(|| ed.sign(black_box(&msg)))
        });
        g.bench_function(format!("sm2-sm3 sign {what}"), |b| {
            b.iter(|| sm2.sign(black_box(&msg)))
        });
        g.bench_function(format!("ed25519 verify {what}"), |b| {
            b.iter(|| ed_pub.verify(black_box(&msg), &ed_sig))
        });
        g.bench_function(format!("sm2-sm3 verify {what}"), |b| {
            b.iter(|| sm2_pub.verify(black_box(&msg), &sm2_sig))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
