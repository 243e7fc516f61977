//! Several gateway instances on one PostgreSQL database, as one gateway: what a platform and
//! an auditor see whichever instance they reach. (The SIGKILL loop with two instances is in
//! [`crate::crash`].)

use std::time::Duration;

use serde_json::Value;
use tongban::demo::sandbox::Received;
use tongban::demo::{Loopback, LoopbackOptions, SAMPLE_SH_APPLICATION};
use tongban::gateway::config::Config;
use tongban::gateway::intake::pipeline::{GATEWAY_NO_HEADER, LEDGER_INDEX_HEADER};
use tongban::gateway::transport::convention;
use tongban::gateway::{service, transport::tls};
use tongban::platform::Platform;

use crate::{backend, wait_for};

/// A second instance of the loopback's gateway, in this process, on ports of its own.
struct Second {
    listen: std::net::SocketAddr,
    ops: std::net::SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    done: tokio::task::JoinHandle<()>,
}

impl Second {
    async fn start(lb: &Loopback) -> Self {
        let (config, listen, ops) = backend::instance_config(&lb.config_path, 1);
        let bound = service::start(Config::load(&config).unwrap())
            .await
            .unwrap();
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        let done = tokio::spawn(bound.run(async {
            let _ = rx.await;
        }));
        Self {
            listen,
            ops,
            stop,
            done,
        }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.done.await;
    }
}

/// A Shanghai platform's mutual-TLS client.
fn shanghai(lb: &Loopback) -> reqwest::Client {
    let ca = tls::certs_from_pem(&std::fs::read(lb.pki.ca()).unwrap(), "ca").unwrap();
    let name = "sh-platform";
    let chain = tls::certs_from_pem(&std::fs::read(lb.pki.cert(name)).unwrap(), name).unwrap();
    let key = tls::key_from_pem(&std::fs::read(lb.pki.key(name)).unwrap(), name).unwrap();
    let timeouts = tls::ClientTimeouts {
        connect: Duration::from_secs(5),
        request: Duration::from_secs(20),
    };
    tls::client(&ca, chain, key, timeouts).unwrap()
}

async fn json(url: String) -> Value {
    let text = reqwest::get(&url).await.unwrap().text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: {e}: {text}"))
}

/// The ledger's entries through one instance's ledger API.
async fn entries(ops: std::net::SocketAddr) -> Vec<Value> {
    let v = json(format!("http://{ops}/api/v1/ledger/entries?start=0")).await;
    v["entries"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_number_sent_to_two_instances_at_once_gets_one_gateway_number_and_one_receipt() {
    let Some((_database, storage)) = backend::fresh_postgres("same_number") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lb = Loopback::start(
        dir.path(),
        LoopbackOptions {
            decide_after: Duration::from_millis(200),
            storage: Some(storage),
            ..LoopbackOptions::default()
        },
    )
    .await
    .unwrap();
    let second = Second::start(&lb).await;
    let http = shanghai(&lb);
    let path = convention::apply_path(Platform::Shanghai);
    let body = String::from_utf8(SAMPLE_SH_APPLICATION.to_vec()).unwrap();
    // Eight copies to each instance, all at once, as a platform retrying through a load
    // balancer might send them.
    let mut posts = tokio::task::JoinSet::new();
    for i in 0..16 {
        let port = if i % 2 == 0 {
            lb.gateway_addr.port()
        } else {
            second.listen.port()
        };
        let (http, body) = (http.clone(), body.clone());
        let url = format!("https://localhost:{port}{path}");
        posts.spawn(async move {
            let r = http
                .post(url)
                .header("content-type", Platform::Shanghai.content_type())
                .body(body)
                .send()
                .await
                .unwrap();
            let header = |n: &str| r.headers()[n].to_str().unwrap().to_owned();
            (
                r.status().as_u16(),
                header(GATEWAY_NO_HEADER),
                header(LEDGER_INDEX_HEADER),
            )
        });
    }
    let mut receipts = std::collections::BTreeSet::new();
    while let Some(p) = posts.join_next().await {
        let (status, no, index) = p.unwrap();
        assert_eq!(status, 200);
        receipts.insert((no, index));
    }
    assert_eq!(
        receipts.len(),
        1,
        "one gateway number and one receipt: {receipts:?}"
    );
    let (no, index) = receipts.pop_first().unwrap();

    // Zhejiang receives it once, decides, and the decision comes back to Shanghai.
    wait_for("the decision back at Shanghai", || {
        lb.sh
            .received()
            .iter()
            .any(|r| matches!(r, Received::Decision { .. }))
    })
    .await;
    let at_zhejiang = lb
        .zj
        .received()
        .iter()
        .filter(|r| matches!(r, Received::Application { number, .. } if *number == no))
        .count();
    assert_eq!(at_zhejiang, 1, "Zhejiang received {no} once");

    // Both instances serve the same ledger: one RECEIVED for the number, at the receipt's
    // index, and the whole flow's four steps.
    let steps = |entries: &[Value]| -> Vec<(String, u64)> {
        entries
            .iter()
            .filter(|e| e["entry"]["gateway_no"] == no.as_str())
            .map(|e| {
                let step = e["entry"]["step"].as_str().unwrap_or_default().to_owned();
                (step, e["index"].as_u64().unwrap())
            })
            .collect()
    };
    let mut theirs = Vec::new();
    for _ in 0..100 {
        let (a, b) = (entries(lb.ops_addr).await, entries(second.ops).await);
        if steps(&a).len() == 4 && a == b {
            theirs = steps(&a);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let received: Vec<u64> = theirs
        .iter()
        .filter(|(s, _)| s == "received")
        .map(|(_, i)| *i)
        .collect();
    assert_eq!(received, [index.parse::<u64>().unwrap()], "{theirs:?}");
    assert_eq!(
        theirs.len(),
        4,
        "RECEIVED, FORWARDED, DECIDED, DELIVERED: {theirs:?}"
    );

    // And the same signed checkpoint, once one covers the flow.
    let checkpoint = |ops| async move {
        let url = format!("http://{ops}/api/v1/ledger/checkpoint");
        reqwest::get(url).await.unwrap().text().await.unwrap()
    };
    let size = |note: &str| note.lines().nth(1).and_then(|l| l.parse::<u64>().ok());
    let mut same = false;
    for _ in 0..50 {
        let (a, b) = (checkpoint(lb.ops_addr).await, checkpoint(second.ops).await);
        if a == b && size(&a) >= Some(4) {
            same = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(same, "both instances serve the same checkpoint");

    // The operator sees each instance's connection pool and its batches' transactions.
    let value = |name| crate::metric_at(second.ops, name);
    assert_eq!(value("tongban_db_pool_connections_max").await, 16);
    assert!(value("tongban_db_pool_connections_open").await >= 1);
    assert!(value("tongban_db_batch_transaction_seconds_count").await >= 1);
    second.stop().await;
    lb.stop().await;
}

#[tokio::test]
async fn a_gateway_refuses_a_database_without_this_versions_schema_naming_the_command() {
    let Some(db) = tongban::store::postgres::TestDatabase::create("unmigrated") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let options = LoopbackOptions {
        storage: Some(backend::storage_table(db.url())),
        ..LoopbackOptions::default()
    };
    let Err(e) = Loopback::start(dir.path(), options).await else {
        panic!("a gateway started on a database without its schema");
    };
    let e = e.to_string();
    assert!(e.contains("no tongban schema"), "{e}");
    assert!(e.contains("tongban storage migrate --postgres"), "{e}");
}
