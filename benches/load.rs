//! Load benchmark of the running gateway: the gateway runs as its own process
//! (`tongban serve`, so its peak RSS is its own), both sandbox platforms in this process; N
//! Shanghai clients with keep-alive mTLS connections post distinct applications for a bounded
//! time. Reports accepted applications per second, latency percentiles and the gateway's peak
//! RSS (VmHWM).
//!
//! Run: `cargo bench --bench load` (env: `LOAD_SECS`, default 10; `LOAD_CLIENTS`, default 32;
//! `LOAD_DESTINATION=down` has the Zhejiang sandbox answer every delivery with its retry-later
//! reply, as when the destination platform is down: intake is measured while the outbox keeps
//! the applications and retries (back-off 200 ms doubling to 2 s);
//! `LOAD_OUTBOX_CONCURRENCY` sets the gateway's `outbox.concurrency`, deliveries in flight;
//! `LOAD_ALG=sm2` gives the gateway an SM2 key, so every checkpoint is signed by Ed25519 and
//! SM2, and has it sign every receipt and forwarded application with SM2 (`signatures =
//! "sm2"` for both platforms); `LOAD_ALG=both` signs them with both; default `ed25519`. The
//! sandboxes verify nothing in any variant, so the difference is the gateway's own);
//! `LOAD_BACKEND=postgres` stores everything in a fresh database of the PostgreSQL cluster
//! `TONGBAN_TEST_POSTGRES` names (an administrator's URL) instead of the embedded store, and
//! `LOAD_INSTANCES=2` runs two gateway processes on that one database, the clients split
//! between them as a load balancer would; the CPU the database server used is reported too).

use std::time::{Duration, Instant};

#[path = "../tests/all/backend.rs"]
#[allow(dead_code)]
mod backend;

use tongban::demo::{Loopback, LoopbackOptions, SAMPLE_SH_APPLICATION};
use tongban::gateway::transport::tls;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// CPU seconds (user + system) a process has used, from `/proc/<pid>/stat`.
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on every Linux configuration in practice.
    Some(ticks / 100.0)
}

/// One of the gateway's metrics, from its `/metrics`.
async fn metric(ops: &str, name: &str) -> Option<i64> {
    metric_f64(ops, name).await.map(|v| v as i64)
}

/// One of the gateway's metrics, as a number with a fraction.
async fn metric_f64(ops: &str, name: &str) -> Option<f64> {
    let text = reqwest::get(format!("http://{ops}/metrics"))
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))?
        .trim()
        .parse()
        .ok()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let secs = env("LOAD_SECS", 10);
    let clients = env("LOAD_CLIENTS", 32) as usize;
    let destination_down = std::env::var("LOAD_DESTINATION").is_ok_and(|v| v == "down");
    let alg = std::env::var("LOAD_ALG").unwrap_or_else(|_| "ed25519".into());
    assert!(
        ["ed25519", "sm2", "both"].contains(&alg.as_str()),
        "LOAD_ALG is ed25519, sm2 or both"
    );
    let backend_name = std::env::var("LOAD_BACKEND").unwrap_or_else(|_| "embedded".into());
    let instances = env("LOAD_INSTANCES", 1).max(1) as usize;
    let (_database, storage) = match backend_name.as_str() {
        "embedded" => (None, None),
        "postgres" => {
            let (db, table) = backend::fresh_postgres("load")
                .expect("LOAD_BACKEND=postgres needs TONGBAN_TEST_POSTGRES");
            (Some(db), Some(table))
        }
        other => panic!("LOAD_BACKEND is embedded or postgres, not {other}"),
    };
    assert!(
        instances == 1 || storage.is_some(),
        "several instances share a PostgreSQL database (LOAD_BACKEND=postgres)"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let mut lb = Loopback::start(
        dir.path(),
        LoopbackOptions {
            // Intake is measured; the destination takes every forward, decides nothing.
            decide_after: Duration::from_secs(24 * 3600),
            storage,
            ..LoopbackOptions::default()
        },
    )
    .await
    .expect("loopback");
    lb.zj.set_down(destination_down);
    lb.stop_gateway().await;
    if alg != "ed25519" {
        let gateway_dir = lb.dir.join(tongban::demo::DEMO_GATEWAY_DIR);
        let mut ring = tongban::store::DataDir::new(&gateway_dir)
            .keyring_or_create()
            .expect("keyring");
        if ring.sm2().is_none() {
            let origin = ring.active().name().to_owned();
            ring.add_sm2(&origin, tongban::signing::sm2::DEFAULT_DISTINGUISHING_ID)
                .expect("SM2 key");
        }
        let config = std::fs::read_to_string(&lb.config_path).expect("config");
        let config = config.replace(
            "client_ca = \"pki/ca.pem\"\n",
            &format!("client_ca = \"pki/ca.pem\"\nsignatures = \"{alg}\"\n"),
        );
        std::fs::write(&lb.config_path, config).expect("config");
    }
    if let Ok(n) = std::env::var("LOAD_OUTBOX_CONCURRENCY") {
        let config = std::fs::read_to_string(&lb.config_path).expect("config");
        let config = config.replacen("[outbox]\n", &format!("[outbox]\nconcurrency = {n}\n"), 1);
        std::fs::write(&lb.config_path, config).expect("config");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Instance 0 on the loopback's own ports; others on ports of their own.
    let mut gateways = Vec::new();
    for i in 0..instances {
        let (config, listen, ops) = if i == 0 {
            (lb.config_path.clone(), lb.gateway_addr, lb.ops_addr)
        } else {
            backend::instance_config(&lb.config_path, i)
        };
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_tongban"))
            .args(["serve", "--config"])
            .arg(&config)
            .env("RUST_LOG", "error")
            .spawn()
            .expect("gateway process");
        let ready = format!("http://{ops}/readyz");
        for _ in 0..200 {
            if matches!(reqwest::get(&ready).await, Ok(r) if r.status() == 200) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        gateways.push((child, listen, ops));
    }
    let db_cpu_before = postgres_cpu_seconds();

    let ca = tls::certs_from_pem(&std::fs::read(lb.pki.ca()).unwrap(), "ca").unwrap();
    let chain =
        tls::certs_from_pem(&std::fs::read(lb.pki.cert("sh-platform")).unwrap(), "sh").unwrap();
    let key_pem = std::fs::read(lb.pki.key("sh-platform")).unwrap();
    let urls: Vec<String> = gateways
        .iter()
        .map(|(_, listen, _)| {
            format!(
                "https://localhost:{}/ywtb/remote-accept/1.3/apply",
                listen.port()
            )
        })
        .collect();
    let template = String::from_utf8_lossy(SAMPLE_SH_APPLICATION).into_owned();
    let end = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let client = tls::client(
            &ca,
            chain.clone(),
            tls::key_from_pem(&key_pem, "sh").unwrap(),
            tls::ClientTimeouts {
                connect: Duration::from_secs(5),
                request: Duration::from_secs(30),
            },
        )
        .unwrap();
        // Clients split between the instances, as a load balancer spreads connections.
        let url = urls[c % urls.len()].clone();
        let template = template.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let (mut ok, mut failed) = (0u64, 0u64);
            let mut i = 0u64;
            while Instant::now() < end {
                i += 1;
                let body = template.replace("SH-JS-LX-20261120-0007", &format!("LOAD-{c}-{i}"));
                let t = Instant::now();
                let res = client
                    .post(&url)
                    .header("content-type", "application/xml")
                    .body(body)
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status() == 200 => {
                        let _ = r.bytes().await;
                        lat.push(t.elapsed());
                        ok += 1;
                    }
                    _ => failed += 1,
                }
            }
            (lat, ok, failed)
        }));
    }
    let mut lat = Vec::new();
    let (mut ok, mut failed) = (0, 0);
    for t in tasks {
        let (l, o, f) = t.await.unwrap();
        lat.extend(l);
        ok += o;
        failed += f;
    }
    let elapsed = started.elapsed().as_secs_f64();
    lat.sort();
    let rss: Vec<Option<u64>> = gateways
        .iter()
        .map(|(c, _, _)| vm_hwm_kib(c.id()))
        .collect();
    let gw_cpu: Option<f64> = gateways
        .iter()
        .map(|(c, _, _)| cpu_seconds(&c.id().to_string()))
        .sum();
    let own_cpu = cpu_seconds("self");
    let db_cpu = postgres_cpu_seconds() - db_cpu_before;
    let delivered = lb.zj.received().len();
    println!(
        "load: {clients} clients, keep-alive mTLS, {secs} s, {instances} gateway process(es) on \
         the {backend_name} store, signatures {alg}{}",
        if destination_down {
            ", destination down"
        } else {
            ""
        }
    );
    println!(
        "  accepted {ok} ({:.0}/s), failed {failed}",
        ok as f64 / elapsed
    );
    println!(
        "  latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&lat, 0.50).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
    for (i, rss) in rss.iter().enumerate() {
        match rss {
            Some(kib) => println!(
                "  gateway {i} peak RSS (VmHWM) {:.1} MiB",
                *kib as f64 / 1024.0
            ),
            None => println!("  gateway {i} peak RSS unavailable (no /proc)"),
        }
    }
    println!("  forwarded to the Zhejiang sandbox meanwhile: {delivered}");
    let ops = lb.ops_addr.to_string();
    if let (Some(pending), Some(attempts)) = (
        metric(&ops, "tongban_outbox_pending").await,
        metric(&ops, "tongban_deliveries_attempted_total").await,
    ) {
        println!("  outbox depth at the end: {pending}; delivery attempts: {attempts}");
    }
    for (i, (_, _, ops)) in gateways.iter().enumerate() {
        let ops = ops.to_string();
        let sum = metric_f64(&ops, "tongban_db_batch_transaction_seconds_sum").await;
        let count = metric_f64(&ops, "tongban_db_batch_transaction_seconds_count").await;
        if let (Some(sum), Some(count)) = (sum, count.filter(|c| *c > 0.0)) {
            println!(
                "  gateway {i}: {count} batch transactions, {:.2} ms each on average, {:.0}% \
                 of the run inside one",
                sum / count * 1e3,
                sum / elapsed * 100.0
            );
        }
    }
    if let (Some(g), Some(o)) = (gw_cpu, own_cpu) {
        println!(
            "  CPU: gateway {:.2} cores, database server {:.2} cores, clients + sandboxes \
             {:.2} cores (of {} available)",
            g / elapsed,
            db_cpu / elapsed,
            o / elapsed,
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        );
    }
    for (mut child, _, _) in gateways {
        let _ = child.kill();
        let _ = child.wait();
    }
    lb.stop().await;
}

/// CPU seconds used so far by every PostgreSQL server process on the machine (the cluster
/// the bench runs against; 0 when there is none).
fn postgres_cpu_seconds() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter(|pid| pid.bytes().all(|b| b.is_ascii_digit()))
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
        })
        .filter_map(|pid| cpu_seconds(&pid))
        .sum()
}
