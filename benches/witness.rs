//! Cosigning round trip per checkpoint: one log (the project's ledger over the in-memory
//! store) grows by one entry at a time and submits each checkpoint to a witness running in
//! this process, over loopback HTTPS with a keep-alive connection; each add-checkpoint is
//! timed from sending the request to having read the cosignature. The witness checks the log's
//! signature and the consistency proof, cosigns, and stores the checkpoint durably (temporary
//! file, `fsync`, rename, `fsync` of the directory) before answering, so the figure includes
//! the disk's sync. Making the log's checkpoint and proof is not timed.
//!
//! Run: `cargo bench --bench witness` (env: `WITNESS_BENCH_CHECKPOINTS`, default 2000, after
//! 100 not counted; `WITNESS_BENCH_DIR`, where the witness's data directory goes, default the
//! current directory, i.e. the disk the project is on; a tmpfs such as `/dev/shm` shows the
//! round trip without the disk).

use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use tongban::gateway::transport::tls::{self, DevCa};
use tongban::ledger::{Checkpoint, Log};
use tongban::signing::SigningKey;
use tongban::store::MemStore;
use tongban::witness::config::{default_limits, WitnessTls};
use tongban::witness::{self, WitnessConfig, WitnessedLog};

const ORIGIN: &str = "tongban.example/ledger";

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn body(log: &Log<MemStore>, key: &SigningKey, old: u64) -> String {
    let size = log.size();
    let mut b = format!("old {old}\n");
    if old > 0 && old < size {
        for h in log.consistency_proof(old, size).unwrap() {
            b.push_str(&B64.encode(h));
            b.push('\n');
        }
    }
    b.push('\n');
    let cp = Checkpoint {
        origin: ORIGIN.into(),
        size,
        root: log.root().unwrap(),
    };
    b.push_str(&cp.sign(&[key]).unwrap());
    b
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    // `cargo bench` passes `--bench`; this is a measurement, not a criterion group.
    let n = env("WITNESS_BENCH_CHECKPOINTS", 2000) as usize;
    let warm = 100;
    let base = std::env::var_os("WITNESS_BENCH_DIR").unwrap_or_else(|| ".".into());
    let dir = tempfile::tempdir_in(&base).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let ca = DevCa::new("bench CA").unwrap();
        let server = ca.issue("witness", &["localhost", "127.0.0.1"]).unwrap();
        let key = SigningKey::from_seed(ORIGIN, &[1; 32]).unwrap();
        let config = WitnessConfig {
            name: "witness.bench/w1".into(),
            key_file: dir.path().join("witness.key"),
            data_dir: dir.path().join("data"),
            listen: "127.0.0.1:0".parse().unwrap(),
            prefix: String::new(),
            tls: WitnessTls {
                chain: tls::certs_from_pem(server.cert.as_bytes(), "cert").unwrap(),
                key: tls::key_from_pem(server.key.as_bytes(), "key").unwrap(),
                clients: None,
            },
            logs: vec![WitnessedLog {
                origin: ORIGIN.into(),
                keys: vec![key.verifier()],
            }],
            limits: default_limits(),
        };
        witness::generate_key(&config.key_file, &config.name).unwrap();
        let running = witness::start(&config).await.unwrap();
        let url = format!("https://localhost:{}/add-checkpoint", running.local_addr().port());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = running.spawn(async move {
            let _ = stopped.await;
        });

        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca.cert_der()).unwrap();
        let cfg = rustls::ClientConfig::builder_with_provider(tls::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(cfg)
            .build()
            .unwrap();

        let mut log = Log::open(MemStore::new(), ORIGIN).unwrap();
        let mut old = 0;
        let mut times = Vec::with_capacity(n);
        let started = Instant::now();
        for i in 0..warm + n {
            let size = log.size();
            log.append_encoded(&[size.to_be_bytes().to_vec()]).unwrap();
            let b = body(&log, &key, old);
            let t = Instant::now();
            let resp = http.post(&url).body(b).send().await.unwrap();
            let status = resp.status();
            let text = resp.text().await.unwrap();
            let d = t.elapsed();
            assert_eq!(status, 200, "{text}");
            old = log.size();
            if i >= warm {
                times.push(d);
            }
        }
        let wall = started.elapsed();
        let _ = stop.send(());
        task.await.unwrap();
        times.sort();
        let mean = times.iter().sum::<Duration>() / times.len() as u32;
        println!(
            "witness cosigning round trip over loopback HTTPS (keep-alive), {n} checkpoints of a growing log, data in {}:",
            std::path::Path::new(&base).display()
        );
        println!(
            "  median {:.3} ms, p99 {:.3} ms, mean {:.3} ms, min {:.3} ms, max {:.3} ms; {:.0} checkpoints/s one after another (log side included)",
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99)),
            ms(mean),
            ms(times[0]),
            ms(times[times.len() - 1]),
            (warm + n) as f64 / wall.as_secs_f64()
        );
    });
}
