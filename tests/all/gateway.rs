//! End to end on loopback: the gateway with real mutual TLS between two sandbox platforms.

use crate::{metric, wait_for, PATIENCE};
use std::time::Duration;

use tongban::demo::sandbox::{GatewayReply, Received};
use tongban::demo::{Loopback, LoopbackOptions, SAMPLE_SH_APPLICATION};
use tongban::gateway::intake::pipeline::{GATEWAY_NO_HEADER, LEDGER_INDEX_HEADER};
use tongban::gateway::record::AppState;
use tongban::gateway::transport::httpsig::{self, Message, ReceivedHeaders};
use tongban::gateway::transport::tls;
use tongban::model::Uscc;

pub(crate) fn options() -> LoopbackOptions {
    LoopbackOptions {
        decide_after: Duration::from_millis(100),
        initial_backoff_ms: 50,
        max_backoff_ms: 200,
        give_up_after_s: 3_600,
        ..crate::backend::options()
    }
}

pub(crate) async fn start(o: LoopbackOptions) -> (tempfile::TempDir, Loopback) {
    let dir = tempfile::tempdir().unwrap();
    let lb = Loopback::start(dir.path(), o).await.unwrap();
    (dir, lb)
}

/// The steps recorded in the ledger, in order, read through the ledger API.
async fn ledger_steps(lb: &Loopback) -> Vec<String> {
    let v = get_json(&format!(
        "http://{}/api/v1/ledger/entries?start=0",
        lb.ops_addr
    ))
    .await;
    v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["entry"]["step"].as_str().unwrap().to_owned())
        .collect()
}

fn state(lb: &Loopback, no: &str) -> Option<AppState> {
    lb.gateway()?.store.get(no).ok()??.state.into()
}

pub(crate) async fn get_json(url: &str) -> serde_json::Value {
    let body = reqwest::get(url).await.unwrap().bytes().await.unwrap();
    serde_json::from_slice(&body).unwrap()
}

pub(crate) fn text(r: &GatewayReply) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

/// A Zhejiang-side application for a business in Shanghai, made from the shared sample.
pub(crate) fn zj_application(number: &str) -> Vec<u8> {
    let sample = tongban::platform::translate(
        tongban::platform::Platform::Shanghai,
        tongban::platform::Platform::Zhejiang,
        SAMPLE_SH_APPLICATION,
    )
    .unwrap()
    .bytes;
    let mut v: serde_json::Value = serde_json::from_slice(&sample).unwrap();
    // Accepted at a Zhejiang office (嘉兴市南湖区), decided in Shanghai (金山区).
    let office = "1133040200"
        .chars()
        .chain("1234567".chars())
        .collect::<String>();
    let uscc = "0123456789ABCDEFGHJKLMNPQRTUWXY"
        .chars()
        .find_map(|c| Uscc::parse(&format!("{office}{c}")).ok())
        .unwrap();
    v["sqbh"] = number.into();
    v["slxx"]["sljgdm"] = uscc.as_str().into();
    v["slxx"]["sljg"] = "嘉兴市南湖区行政服务中心".into();
    v["mbqy"] = "310116".into();
    v["spjg"] = "上海市金山区市场监督管理局".into();
    v["jycs"]["xzqh"] = "310116".into();
    v["jycs"]["xxdz"] = "上海市金山区朱泾镇测试路1号".into();
    serde_json::to_vec(&v).unwrap()
}

#[tokio::test]
async fn shanghai_to_zhejiang_and_back_to_delivered() {
    let (_dir, lb) = start(options()).await;
    let reply = lb.sh.submit(SAMPLE_SH_APPLICATION).await.unwrap();
    assert_eq!(reply.status, 200, "{}", text(&reply));
    let no = reply.headers[GATEWAY_NO_HEADER].clone();
    assert!(text(&reply).contains(&format!("<ReceiptNo>{no}</ReceiptNo>")));
    assert_eq!(reply.headers[LEDGER_INDEX_HEADER], "0");

    // The receipt is signed (RFC 9421 over RFC 9530) by the gateway's published key.
    let key = lb.gateway().unwrap().signer.public_key();
    let verified = httpsig::verify(
        Message::Response { status: 200 },
        ReceivedHeaders {
            content_type: reply.headers.get("content-type").map(String::as_str),
            content_digest: reply.headers.get("content-digest").map(String::as_str),
            signature_input: reply.headers.get("signature-input").map(String::as_str),
            signature: reply.headers.get("signature").map(String::as_str),
        },
        &reply.body,
        |_| Some(key),
    );
    assert!(verified.is_ok(), "{verified:?}");

    wait_for("the decision at the Shanghai sandbox", || {
        lb.sh.received().iter().any(|r| {
            matches!(r, Received::Decision { number, outcome }
                if number == "SH-JS-LX-20261120-0007" && outcome == "granted")
        })
    })
    .await;
    wait_for("DELIVERED", || state(&lb, &no) == Some(AppState::Delivered)).await;
    // Zhejiang saw the gateway's number, never Shanghai's.
    assert!(lb
        .zj
        .received()
        .iter()
        .any(|r| matches!(r, Received::Application { number, .. } if *number == no)));
    // The record is committed with its entry; the ledger API shows the entry once the log
    // has taken the commit in, a moment later.
    let end = tokio::time::Instant::now() + PATIENCE;
    let mut steps = ledger_steps(&lb).await;
    while steps.len() < 4 && tokio::time::Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(25)).await;
        steps = ledger_steps(&lb).await;
    }
    assert_eq!(steps, vec!["received", "forwarded", "decided", "delivered"]);
    // A signed checkpoint covering them, an inclusion proof, and the public key.
    let ops = lb.ops_addr;
    let mut checkpoint = String::new();
    for _ in 0..100 {
        let r = reqwest::get(format!("http://{ops}/api/v1/ledger/checkpoint"))
            .await
            .unwrap();
        checkpoint = r.text().await.unwrap();
        if checkpoint.lines().nth(1) == Some("4") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(checkpoint.lines().nth(1), Some("4"), "{checkpoint}");
    let proof = get_json(&format!(
        "http://{ops}/api/v1/ledger/proof/inclusion?index=0&size=4"
    ))
    .await;
    assert_eq!(proof["proof"].as_array().unwrap().len(), 2);
    let keys = reqwest::get(format!("http://{ops}/api/v1/ledger/keys"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(keys.starts_with("tongban-gateway+"), "{keys}");
    let rec = lb.gateway().unwrap().store.get(&no).unwrap().unwrap();
    assert_eq!(rec.working_days, 10, "food licence: 10 working days");
    assert_eq!(rec.accepted_on, "2026-11-20");
    assert_eq!(rec.deadline, "2026-12-04");

    // Status API on the operator listener.
    let url = format!("http://{}/api/v1/applications/{no}", lb.ops_addr().unwrap());
    let status = get_json(&url).await;
    assert_eq!(status["state"], "DELIVERED");
    assert_eq!(status["legal_deadline"]["due"], "2026-12-04");
    assert_eq!(status["timeline"].as_array().unwrap().len(), 4);
    let missing = reqwest::get(format!(
        "http://{}/api/v1/applications/TB0",
        lb.ops_addr().unwrap()
    ))
    .await
    .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.headers()["content-type"],
        "application/problem+json"
    );

    // The operator sees the ledger's size and how long the two deliveries took.
    let end = tokio::time::Instant::now() + PATIENCE;
    while metric(&lb, "tongban_ledger_size").await < 4 {
        assert!(tokio::time::Instant::now() < end, "ledger size not 4");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(
        metric(&lb, "tongban_delivery_latency_seconds_count").await,
        2
    );
    assert_eq!(
        metric(&lb, "tongban_delivery_latency_seconds_bucket{le=\"+Inf\"}").await,
        2
    );
    // And when the first certificate it relies on expires (the dev PKI's, a year out).
    let expiry = metric(&lb, "tongban_certificates_earliest_expiry_seconds").await;
    let now = chrono::Utc::now().timestamp() as u64;
    assert!(expiry > now + 300 * 86_400, "{expiry}");
    lb.stop().await;
}

#[tokio::test]
async fn zhejiang_to_shanghai_reaches_delivered() {
    let (_dir, lb) = start(options()).await;
    let reply = lb
        .zj
        .submit(&zj_application("ZJ-NH-20261123-0001"))
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(
        (reply.status, body["code"].as_str()),
        (200, Some("0")),
        "{body}"
    );
    let no = body["data"]["sjbh"].as_str().unwrap().to_owned();
    wait_for("DELIVERED", || state(&lb, &no) == Some(AppState::Delivered)).await;
    assert!(lb.zj.received().iter().any(|r| matches!(r,
        Received::Decision { number, outcome } if number == "ZJ-NH-20261123-0001" && outcome == "granted")));
    lb.stop().await;
}

#[tokio::test]
async fn the_same_number_twice_gets_the_first_receipt_and_is_forwarded_once() {
    let (_dir, lb) = start(options()).await;
    let first = lb.sh.submit(SAMPLE_SH_APPLICATION).await.unwrap();
    let again = lb.sh.submit(SAMPLE_SH_APPLICATION).await.unwrap();
    assert_eq!(again.status, 200);
    assert_eq!(
        first.headers[GATEWAY_NO_HEADER],
        again.headers[GATEWAY_NO_HEADER]
    );
    assert_eq!(
        first.headers[LEDGER_INDEX_HEADER],
        again.headers[LEDGER_INDEX_HEADER]
    );
    // Same number, different content: a duplicate (409) naming the first receipt.
    let changed = String::from_utf8_lossy(SAMPLE_SH_APPLICATION)
        .replace("<Remark>", "<Remark>改 ")
        .into_bytes();
    let conflict = lb.sh.submit(&changed).await.unwrap();
    assert_eq!(conflict.status, 409, "{}", text(&conflict));
    assert!(text(&conflict).contains(&first.headers[GATEWAY_NO_HEADER]));

    let no = first.headers[GATEWAY_NO_HEADER].clone();
    wait_for("DELIVERED", || state(&lb, &no) == Some(AppState::Delivered)).await;
    let forwarded = lb
        .zj
        .received()
        .iter()
        .filter(|r| matches!(r, Received::Application { .. }))
        .count();
    assert_eq!(forwarded, 1);
    lb.stop().await;
}

#[tokio::test]
async fn a_destination_that_is_down_gets_it_once_it_is_back() {
    let (_dir, lb) = start(options()).await;
    lb.zj.set_down(true);
    let reply = lb.sh.submit(SAMPLE_SH_APPLICATION).await.unwrap();
    assert_eq!(reply.status, 200);
    let no = reply.headers[GATEWAY_NO_HEADER].clone();
    let gw = lb.gateway().unwrap().clone();
    wait_for("a few retries", || {
        gw.ops.metrics.deliveries_retried_total.get() >= 2
    })
    .await;
    assert_eq!(state(&lb, &no), Some(AppState::Received));
    lb.zj.set_down(false);
    wait_for("DELIVERED", || state(&lb, &no) == Some(AppState::Delivered)).await;
    let steps = ledger_steps(&lb).await;
    assert_eq!(steps.iter().filter(|s| *s == "forwarded").count(), 1);
    lb.stop().await;
}

#[tokio::test]
async fn an_outage_costs_probes_not_attempts_and_everything_goes_once_it_ends() {
    let (_dir, lb) = start(options()).await;
    lb.zj.set_down(true);
    let mut numbers = Vec::new();
    for i in 0..20 {
        let body = String::from_utf8_lossy(SAMPLE_SH_APPLICATION)
            .replace("SH-JS-LX-20261120-0007", &format!("SH-OUTAGE-{i:04}"));
        let reply = lb.sh.submit(body.as_bytes()).await.unwrap();
        assert_eq!(reply.status, 200, "{}", text(&reply));
        numbers.push(reply.headers[GATEWAY_NO_HEADER].clone());
    }
    let gw = lb.gateway().unwrap().clone();
    let m = &gw.ops.metrics;
    let load = |c: &prometheus_client::metrics::counter::Counter| c.get();
    wait_for("Zhejiang's deliveries held", || {
        m.destinations_held.get() == 1 && load(&m.deliveries_held_total) > 0
    })
    .await;
    // Each job alone would retry every 50–200 ms: some 100 attempts a second for 20 jobs.
    // Held, only a probe goes out after each cool-down (50 ms doubling to 200 ms).
    let before = load(&m.deliveries_attempted_total);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let probes = load(&m.deliveries_attempted_total) - before;
    assert!((1..=12).contains(&probes), "{probes} attempts in a second");
    assert!(numbers
        .iter()
        .all(|no| state(&lb, no) == Some(AppState::Received)));

    lb.zj.set_down(false);
    wait_for("all DELIVERED", || {
        numbers
            .iter()
            .all(|no| state(&lb, no) == Some(AppState::Delivered))
    })
    .await;
    assert_eq!(m.destinations_held.get(), 0);
    let steps = ledger_steps(&lb).await;
    assert_eq!(steps.iter().filter(|s| *s == "forwarded").count(), 20);
    lb.stop().await;
}

#[tokio::test]
async fn give_up_marks_failed_and_tells_the_source() {
    let (_dir, lb) = start(LoopbackOptions {
        give_up_after_s: 1,
        ..options()
    })
    .await;
    lb.zj.set_down(true);
    let reply = lb.sh.submit(SAMPLE_SH_APPLICATION).await.unwrap();
    let no = reply.headers[GATEWAY_NO_HEADER].clone();
    wait_for("FAILED", || state(&lb, &no) == Some(AppState::Failed)).await;
    wait_for("the correction notice at the source", || {
        lb.sh.received().iter().any(|r| matches!(r,
            Received::Decision { number, outcome } if number == "SH-JS-LX-20261120-0007" && outcome == "correction"))
    })
    .await;
    let url = format!("http://{}/api/v1/applications/{no}", lb.ops_addr().unwrap());
    let status = get_json(&url).await;
    assert_eq!(status["state"], "FAILED");
    assert!(status["failure"].as_str().unwrap().contains("gave up"));
    lb.stop().await;
}

#[tokio::test]
async fn shanghai_cannot_post_zhejiang_decisions_or_use_its_endpoints() {
    let (_dir, lb) = start(LoopbackOptions {
        decide_after: Duration::from_secs(3600),
        ..options()
    })
    .await;
    let reply = lb.sh.submit(SAMPLE_SH_APPLICATION).await.unwrap();
    let no = reply.headers[GATEWAY_NO_HEADER].clone();
    wait_for("FORWARDED", || state(&lb, &no) == Some(AppState::Forwarded)).await;

    // A decision on an application routed to Zhejiang, posted by Shanghai to its own endpoint.
    let app =
        match tongban::platform::read(tongban::platform::Platform::Shanghai, SAMPLE_SH_APPLICATION)
            .unwrap()
            .document
        {
            tongban::model::Document::Application(mut a) => {
                a.number = tongban::model::ApplicationNo::parse(&no).unwrap();
                a
            }
            _ => unreachable!(),
        };
    let decision = tongban::demo::sandbox::grant(&app, 1);
    let sh_bytes = tongban::platform::write(
        tongban::platform::Platform::Shanghai,
        &tongban::model::Document::Decision(Box::new(decision.clone())),
    )
    .bytes;
    let r = lb.sh.post_decision(&sh_bytes).await.unwrap();
    assert_eq!(r.status, 404, "{}", text(&r));

    // Shanghai's certificate on Zhejiang's decision endpoint.
    let zj_bytes = tongban::platform::write(
        tongban::platform::Platform::Zhejiang,
        &tongban::model::Document::Decision(Box::new(decision)),
    )
    .bytes;
    let client = client_with(&lb, "sh-platform");
    let r = client
        .post(format!(
            "https://localhost:{}/api/kstb/v2/spjg",
            lb.gateway_addr.port()
        ))
        .header("content-type", "application/json")
        .body(zj_bytes.clone())
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(body["code"], "4001", "{body}");
    assert_eq!(state(&lb, &no), Some(AppState::Forwarded));

    // Zhejiang itself may.
    let r = lb.zj.post_decision(&zj_bytes).await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["code"], "0", "{body}");
    wait_for("DELIVERED", || state(&lb, &no) == Some(AppState::Delivered)).await;
    lb.stop().await;
}

pub(crate) fn client_with(lb: &Loopback, name: &str) -> reqwest::Client {
    let ca = tls::certs_from_pem(&std::fs::read(lb.pki.ca()).unwrap(), "ca").unwrap();
    tls::client(
        &ca,
        tls::certs_from_pem(&std::fs::read(lb.pki.cert(name)).unwrap(), name).unwrap(),
        tls::key_from_pem(&std::fs::read(lb.pki.key(name)).unwrap(), name).unwrap(),
        tls::ClientTimeouts {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(5),
        },
    )
    .unwrap()
}

#[tokio::test]
async fn wrong_or_missing_client_certificates_are_refused() {
    let (_dir, lb) = start(options()).await;
    let url = format!(
        "https://localhost:{}/ywtb/remote-accept/1.3/apply",
        lb.gateway_addr.port()
    );
    // A certificate from another CA with Shanghai's name.
    let stranger = tls::DevCa::new("stranger").unwrap();
    let forged = stranger
        .issue(tls::DEV_SH_IDENTITY, &[tls::DEV_SH_IDENTITY])
        .unwrap();
    let ca = tls::certs_from_pem(&std::fs::read(lb.pki.ca()).unwrap(), "ca").unwrap();
    let forged_client = tls::client(
        &ca,
        tls::certs_from_pem(forged.cert.as_bytes(), "f").unwrap(),
        tls::key_from_pem(forged.key.as_bytes(), "f").unwrap(),
        tls::ClientTimeouts {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(5),
        },
    )
    .unwrap();
    assert!(forged_client
        .post(&url)
        .body(SAMPLE_SH_APPLICATION)
        .send()
        .await
        .is_err());
    // The gateway's own certificate (right CA, not a partner's name).
    let gateway_cert = client_with(&lb, "gateway");
    assert!(gateway_cert
        .post(&url)
        .body(SAMPLE_SH_APPLICATION)
        .send()
        .await
        .is_err());
    // No certificate.
    let anonymous = crate::without_client_cert(&lb).build().unwrap();
    assert!(anonymous
        .post(&url)
        .body(SAMPLE_SH_APPLICATION)
        .send()
        .await
        .is_err());
    assert!(lb.zj.received().is_empty());
    lb.stop().await;
}

#[tokio::test]
async fn malformed_documents_are_answered_in_the_callers_convention() {
    let (_dir, lb) = start(options()).await;
    // Shanghai: HTTP 400 with a Response naming the Shanghai path.
    let broken = String::from_utf8_lossy(SAMPLE_SH_APPLICATION)
        .replace("region=\"330482\"", "region=\"33048\"")
        .into_bytes();
    let r = lb.sh.submit(&broken).await.unwrap();
    assert_eq!(r.status, 400, "{}", text(&r));
    assert!(text(&r).contains("<Code>400</Code>"));
    assert!(
        text(&r).contains("/RemoteApply/Target/@region"),
        "{}",
        text(&r)
    );
    let r = lb.sh.submit(b"<not-xml").await.unwrap();
    assert_eq!(r.status, 400);

    // Zhejiang: HTTP 200 with code 4001 and the Zhejiang field name.
    let mut v: serde_json::Value = serde_json::from_slice(&zj_application("ZJ-BAD-1")).unwrap();
    v["mbqy"] = "31011".into();
    let r = lb
        .zj
        .submit(&serde_json::to_vec(&v).unwrap())
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["code"], "4001", "{body}");
    assert!(body.to_string().contains("mbqy"), "{body}");

    // A target in the sender's own province is not cross-province.
    let own = String::from_utf8_lossy(SAMPLE_SH_APPLICATION)
        .replace("region=\"330482\"", "region=\"310118\"")
        .replace(
            "<DivisionCode>330482</DivisionCode>",
            "<DivisionCode>310118</DivisionCode>",
        )
        .into_bytes();
    let r = lb.sh.submit(&own).await.unwrap();
    assert_eq!(r.status, 403, "{}", text(&r));
    assert!(lb.zj.received().is_empty());
    lb.stop().await;
}

/// Polls the status API of a gateway running as a separate process.
async fn remote_state(lb: &Loopback, no: &str) -> Option<String> {
    let url = format!("http://{}/api/v1/applications/{no}", lb.ops_addr);
    let resp = reqwest::get(&url).await.ok()?;
    let v: serde_json::Value = serde_json::from_slice(&resp.bytes().await.ok()?).ok()?;
    v["state"].as_str().map(str::to_owned)
}

fn spawn_gateway(lb: &Loopback) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_tongban"))
        .args(["serve", "--config"])
        .arg(&lb.config_path)
        .env("RUST_LOG", "warn")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

async fn wait_ready(lb: &Loopback) {
    let url = format!("http://{}/readyz", lb.ops_addr);
    let end = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Ok(r) = reqwest::get(&url).await {
            if r.status() == 200 {
                return;
            }
        }
        assert!(
            tokio::time::Instant::now() < end,
            "gateway process not ready"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn sigkill_mid_flow_loses_nothing_and_sends_nothing_twice() {
    let (_dir, mut lb) = start(options()).await;
    // The gateway runs as its own process from here on, so it can be killed.
    lb.stop_gateway().await;
    // Let the stopped gateway's last tasks release the database lock.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut child = spawn_gateway(&lb);
    wait_ready(&lb).await;

    lb.zj.set_down(true);
    let mut numbers = Vec::new();
    for i in 0..5 {
        let doc = String::from_utf8_lossy(SAMPLE_SH_APPLICATION)
            .replace("SH-JS-LX-20261120-0007", &format!("SH-KILL-{i}"))
            .into_bytes();
        let r = lb.sh.submit(&doc).await.unwrap();
        assert_eq!(r.status, 200, "{}", text(&r));
        numbers.push((doc, r.headers[GATEWAY_NO_HEADER].clone()));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let mut child = spawn_gateway(&lb);
    wait_ready(&lb).await;
    // Acknowledged before the kill means durable: the same receipts come back.
    let (doc, no) = &numbers[0];
    let again = lb.sh.submit(doc).await.unwrap();
    assert_eq!(&again.headers[GATEWAY_NO_HEADER], no);

    lb.zj.set_down(false);
    for (_, no) in &numbers {
        let end = tokio::time::Instant::now() + PATIENCE;
        while remote_state(&lb, no).await.as_deref() != Some("DELIVERED") {
            assert!(tokio::time::Instant::now() < end, "{no} not delivered");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let mut forwarded: Vec<String> = lb
        .zj
        .received()
        .into_iter()
        .filter_map(|r| match r {
            Received::Application { number, .. } => Some(number),
            _ => None,
        })
        .collect();
    forwarded.sort();
    let mut expected: Vec<String> = numbers.iter().map(|(_, n)| n.clone()).collect();
    expected.sort();
    assert_eq!(
        forwarded, expected,
        "each application reached Zhejiang exactly once"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    lb.stop().await;
}

#[tokio::test]
async fn a_time_the_ledger_cannot_record_is_refused_naming_its_field() {
    let (_dir, lb) = start(options()).await;
    // Accepted by the reader before, this failed the committer's whole batch when its
    // RECEIVED entry (which records the time with its offset) could not be encoded, and the
    // platform was told to retry, forever.
    let far = std::str::from_utf8(SAMPLE_SH_APPLICATION)
        .unwrap()
        .replace("+08:00</AcceptedAt>", "+18:30</AcceptedAt>");
    let r = lb.sh.submit(far.as_bytes()).await.unwrap();
    assert_eq!(r.status, 400, "{}", text(&r));
    let body = text(&r);
    assert!(
        body.contains("/RemoteApply/Acceptance/AcceptedAt: “2026-11-20T09:30:00+18:30”的时区偏移“+18:30”超过 18 小时"),
        "{body}"
    );
    let r = lb.sh.submit(SAMPLE_SH_APPLICATION).await.unwrap();
    assert_eq!(r.status, 200, "{}", text(&r));
    lb.stop().await;
}

/// A decision whose free text the ledger cannot record (a 210 KB issuing authority) is
/// refused on its own, naming the field in the platform's vocabulary; the application waits
/// for a proper decision, and a proper one from the same platform at the same moment is taken.
#[tokio::test]
async fn a_decision_with_text_the_ledger_cannot_record_is_refused_alone_naming_the_field() {
    let (_dir, lb) = start(LoopbackOptions {
        decide_after: Duration::from_secs(3600),
        ..options()
    })
    .await;
    let mut decisions = Vec::new();
    for i in 0..2 {
        let sample = String::from_utf8_lossy(SAMPLE_SH_APPLICATION)
            .replace("SH-JS-LX-20261120-0007", &format!("SH-LONG-{i}"));
        let reply = lb.sh.submit(sample.as_bytes()).await.unwrap();
        let no = reply.headers[GATEWAY_NO_HEADER].clone();
        wait_for("FORWARDED", || state(&lb, &no) == Some(AppState::Forwarded)).await;
        let app =
            match tongban::platform::read(tongban::platform::Platform::Shanghai, sample.as_bytes())
                .unwrap()
                .document
            {
                tongban::model::Document::Application(mut a) => {
                    a.number = tongban::model::ApplicationNo::parse(&no).unwrap();
                    a
                }
                _ => unreachable!(),
            };
        let mut decision = tongban::demo::sandbox::grant(&app, i + 1);
        if i == 0 {
            decision.licence.as_mut().unwrap().issued_by = "平湖市市场监督管理局".repeat(7_000);
        }
        let bytes = tongban::platform::write(
            tongban::platform::Platform::Zhejiang,
            &tongban::model::Document::Decision(Box::new(decision)),
        )
        .bytes;
        decisions.push((no, bytes));
    }
    let (long, ok) = (&decisions[0], &decisions[1]);
    let (r_long, r_ok) = tokio::join!(lb.zj.post_decision(&long.1), lb.zj.post_decision(&ok.1));
    let body: serde_json::Value = serde_json::from_slice(&r_long.unwrap().body).unwrap();
    assert_eq!(body["code"], "4001", "{body}");
    assert!(body["msg"].as_str().unwrap().contains("zz.fzjg"), "{body}");
    let body: serde_json::Value = serde_json::from_slice(&r_ok.unwrap().body).unwrap();
    assert_eq!(body["code"], "0", "{body}");
    wait_for("DELIVERED", || {
        state(&lb, &ok.0) == Some(AppState::Delivered)
    })
    .await;
    assert_eq!(state(&lb, &long.0), Some(AppState::Forwarded));
    lb.stop().await;
}

/// A data directory's secret that was damaged or opened up stops the start, naming the file
/// and what it is for, instead of being replaced by a new one that would not match the
/// applicant hashes already in the ledger.
#[tokio::test]
async fn a_damaged_or_readable_secret_stops_the_start_instead_of_being_replaced() {
    use std::os::unix::fs::PermissionsExt as _;
    let (dir, mut lb) = start(options()).await;
    lb.stop_gateway().await;
    let salt = tongban::store::DataDir::new(dir.path().join("gateway")).id_salt();
    let good = std::fs::read(&salt).unwrap();
    assert_eq!(good.len(), 32);

    std::fs::write(&salt, &good[..16]).unwrap();
    let e = lb.start_gateway().await.unwrap_err().to_string();
    assert!(
        e.contains("holds 16 bytes, not 32") && e.contains("applicant hashes"),
        "{e}"
    );
    assert_eq!(std::fs::read(&salt).unwrap(), &good[..16], "left as it was");

    std::fs::write(&salt, &good).unwrap();
    std::fs::set_permissions(&salt, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = lb.start_gateway().await.unwrap_err().to_string();
    assert!(e.contains("chmod 600"), "{e}");

    std::fs::set_permissions(&salt, std::fs::Permissions::from_mode(0o600)).unwrap();
    lb.start_gateway().await.unwrap();
    lb.stop().await;
}
