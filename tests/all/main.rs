//! The one integration-test binary: each module tests one part of tongban from outside.

mod audit_rules;
mod backend;
mod balancer;
mod cli;
mod conformance;
mod crash;
mod desk;
mod fuzz;
mod gateway;
mod hostile;
mod instances;
mod ledger;
mod listener;
mod messages;
mod property;
mod replay;
mod schemas;
mod signatures;
mod sm2;
mod storage;
mod store;
mod web;
mod witness;
mod witnessing;

use std::time::Duration;

/// How long an end-to-end test waits for the gateway and the sandboxes.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Waits until `cond` holds, failing the test after [`PATIENCE`].
pub async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let end = tokio::time::Instant::now() + PATIENCE;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < end,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A metric's value from the gateway's `/metrics`.
pub async fn metric(lb: &tongban::demo::Loopback, name: &str) -> u64 {
    metric_at(lb.ops_addr, name).await
}

/// A metric's value from the `/metrics` of the gateway whose operator listener is `ops`.
pub async fn metric_at(ops: std::net::SocketAddr, name: &str) -> u64 {
    let text = reqwest::get(format!("http://{ops}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} not in /metrics"))
        .parse()
        .unwrap()
}

/// A client trusting the loopback's dev CA that presents no certificate (a browser, or a
/// stranger at the partner listener).
pub fn without_client_cert(lb: &tongban::demo::Loopback) -> reqwest::ClientBuilder {
    use tongban::gateway::transport::tls;
    let ca = tls::certs_from_pem(&std::fs::read(lb.pki.ca()).unwrap(), "ca").unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca[0].clone()).unwrap();
    let cfg = rustls::ClientConfig::builder_with_provider(tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder().use_preconfigured_tls(cfg)
}
