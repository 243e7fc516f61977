//! Hostile HTTP at the partner listener (issue 17): bodies too large (counted or declared),
//! too slow or endless, broken framing, the wrong `Content-Type`, method or path are each
//! refused in the called platform's convention, naming the limit or what was expected; and a
//! heavy document keeps neither `/healthz` nor the other platform waiting.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tongban::demo::{Loopback, SAMPLE_SH_APPLICATION};
use tongban::gateway::transport::httpsig::{self, Message, ReceivedHeaders};
use tongban::gateway::transport::tls;
use tongban::platform::Platform;

use crate::gateway::{client_with, options, zj_application};
use crate::wait_for;

/// The body time limit of these tests' gateway: short, so a slow body is cut off quickly.
const BODY_TIMEOUT_MS: u64 = 400;

/// A loopback gateway whose body time limit is [`BODY_TIMEOUT_MS`].
async fn start() -> (tempfile::TempDir, Loopback) {
    start_with("").await
}

/// [`start`] with more `[limits]` lines. Both platforms are answered in English
/// (`language = "en"`), which these tests read; the Chinese default is `messages`'s.
async fn start_with(limits: &str) -> (tempfile::TempDir, Loopback) {
    let (dir, mut lb) = crate::gateway::start(options()).await;
    lb.stop_gateway().await;
    let text = std::fs::read_to_string(&lb.config_path).unwrap();
    let text = text
        .replace(
            "[limits]\n",
            &format!("[limits]\nbody_timeout_ms = {BODY_TIMEOUT_MS}\n{limits}"),
        )
        .replace("[platforms.zj]\n", "[platforms.zj]\nlanguage = \"en\"\n")
        .replace("[platforms.sh]\n", "[platforms.sh]\nlanguage = \"en\"\n");
    std::fs::write(&lb.config_path, text).unwrap();
    lb.start_gateway().await.unwrap();
    (dir, lb)
}

/// The certificate name of platform `p`'s client in the dev PKI.
fn cert_name(p: Platform) -> &'static str {
    match p {
        Platform::Zhejiang => "zj-platform",
        Platform::Shanghai => "sh-platform",
    }
}

fn apply_path(p: Platform) -> &'static str {
    tongban::gateway::transport::convention::apply_path(p)
}

/// A reply as read off the wire.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: std::collections::HashMap<String, String>,
    body: Vec<u8>,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .map(String::as_str)
            .unwrap_or("")
    }
}

/// Asserts `r` is platform `p`'s refusal (Zhejiang HTTP 200 `{code:"4001",msg,data}`;
/// Shanghai `Response` with `status`), signed by the gateway, its message containing `says`.
fn assert_refused(lb: &Loopback, p: Platform, r: &Reply, status: u16, says: &str) {
    match p {
        Platform::Zhejiang => {
            assert_eq!(r.status, 200, "{}", r.text());
            assert!(r.content_type().starts_with("application/json"), "{r:?}");
            let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(v["code"], "4001", "{v}");
            assert!(v.get("data").is_some(), "{v}");
            let msg = v["msg"].as_str().unwrap();
            assert!(msg.contains(says), "{msg:?} should say {says:?}");
        }
        Platform::Shanghai => {
            assert_eq!(r.status, status, "{}", r.text());
            assert_eq!(r.content_type(), "application/xml");
            let text = r.text();
            assert!(text.contains(&format!("<Code>{status}</Code>")), "{text}");
            assert!(text.contains("<Message>"), "{text}");
            assert!(text.contains(says), "{text:?} should say {says:?}");
        }
    }
    let key = lb.gateway().unwrap().signer.public_key();
    let h = |n: &str| r.headers.get(n).map(String::as_str);
    let verified = httpsig::verify(
        Message::Response { status: r.status },
        ReceivedHeaders {
            content_type: h("content-type"),
            content_digest: h("content-digest"),
            signature_input: h("signature-input"),
            signature: h("signature"),
        },
        &r.body,
        |_| Some(key),
    );
    assert!(verified.is_ok(), "refusal not signed: {verified:?}");
}

/// A raw mutual-TLS connection to the gateway as platform `p`, for requests no well-behaved
/// client sends (a body larger or slower than declared, endless chunks, broken framing).
async fn raw(lb: &Loopback, p: Platform) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let name = cert_name(p);
    let ca = tls::certs_from_pem(&std::fs::read(lb.pki.ca()).unwrap(), "ca").unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca[0].clone()).unwrap();
    let chain = tls::certs_from_pem(&std::fs::read(lb.pki.cert(name)).unwrap(), name).unwrap();
    let key = tls::key_from_pem(&std::fs::read(lb.pki.key(name)).unwrap(), name).unwrap();
    let cfg = rustls::ClientConfig::builder_with_provider(tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .unwrap();
    let tcp = tokio::net::TcpStream::connect(lb.gateway_addr)
        .await
        .unwrap();
    tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .unwrap()
}

/// Sends `head` (the request line and headers, without the blank line), then `body` from a
/// task of its own, and reads the reply meanwhile (a refusal may come before the body ends).
async fn send_raw(
    lb: &Loopback,
    p: Platform,
    head: &str,
    body: impl FnOnce(
            tokio::io::WriteHalf<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>,
        ) -> tokio::task::JoinHandle<()>
        + Send,
) -> Reply {
    let (mut rd, mut wr) = tokio::io::split(raw(lb, p).await);
    wr.write_all(format!("{head}\r\nHost: localhost\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let writer = body(wr);
    let reply = tokio::time::timeout(crate::PATIENCE, read_reply(&mut rd))
        .await
        .expect("no reply");
    writer.abort();
    reply
}

/// Reads one HTTP/1.1 response with a `Content-Length` body.
async fn read_reply(rd: &mut (impl tokio::io::AsyncRead + Unpin)) -> Reply {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = rd.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed before a reply: {buf:?}");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..end].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: std::collections::HashMap<String, String> = lines
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            Some((k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        })
        .collect();
    let len: usize = headers["content-length"].parse().unwrap();
    let mut body = buf[end + 4..].to_vec();
    while body.len() < len {
        let n = rd.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed mid-reply");
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(len);
    Reply {
        status,
        headers,
        body,
    }
}

/// A request line and `Content-Type` to platform `p`'s application endpoint.
fn post_head(p: Platform, extra: &str) -> String {
    format!(
        "POST {} HTTP/1.1\r\nContent-Type: {}{extra}",
        apply_path(p),
        p.content_type()
    )
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused_in_the_platforms_convention_naming_it() {
    let (_dir, lb) = start().await;
    for p in Platform::ALL {
        // Counted: 17 MiB in chunks, no length declared.
        let r = send_raw(
            &lb,
            p,
            &post_head(p, "\r\nTransfer-Encoding: chunked"),
            |mut w| {
                tokio::spawn(async move {
                    let chunk = vec![b'a'; 64 * 1024];
                    for _ in 0..(17 * 16) {
                        let framed =
                            [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
                        if w.write_all(&framed).await.is_err() {
                            return;
                        }
                    }
                    let _ = w.write_all(b"0\r\n\r\n").await;
                })
            },
        )
        .await;
        assert_refused(&lb, p, &r, 400, "body larger than 16 MiB");

        // Declared: 100 MB announced, streamed slowly; refused before it is read.
        let r = send_raw(
            &lb,
            p,
            &post_head(p, "\r\nContent-Length: 100000000"),
            |mut w| {
                tokio::spawn(async move {
                    let chunk = vec![b'a'; 1024];
                    loop {
                        if w.write_all(&chunk).await.is_err() {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                })
            },
        )
        .await;
        assert_refused(&lb, p, &r, 400, "body larger than 16 MiB");
    }
    assert!(lb.zj.received().is_empty() && lb.sh.received().is_empty());
    lb.stop().await;
}

#[tokio::test]
async fn slow_endless_and_broken_bodies_are_cut_off_in_the_platforms_convention() {
    let (_dir, lb) = start().await;
    let limit = format!("time limit of {BODY_TIMEOUT_MS} ms");
    for p in Platform::ALL {
        // Endless: a small chunk every 50 ms, never the last one.
        let started = std::time::Instant::now();
        let r = send_raw(
            &lb,
            p,
            &post_head(p, "\r\nTransfer-Encoding: chunked"),
            |mut w| {
                tokio::spawn(async move {
                    while w.write_all(b"1\r\na\r\n").await.is_ok() {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                })
            },
        )
        .await;
        assert_refused(&lb, p, &r, 400, &limit);
        assert!(started.elapsed() >= Duration::from_millis(BODY_TIMEOUT_MS));

        // Slow: 1,000 bytes declared, 10 sent, then nothing.
        let r = send_raw(
            &lb,
            p,
            &post_head(p, "\r\nContent-Length: 1000"),
            |mut w| {
                tokio::spawn(async move {
                    let _ = w.write_all(&[b'a'; 10]).await;
                    std::future::pending::<()>().await;
                })
            },
        )
        .await;
        assert_refused(&lb, p, &r, 400, &limit);

        // Broken framing: a chunk size that is not hexadecimal.
        let r = send_raw(
            &lb,
            p,
            &post_head(p, "\r\nTransfer-Encoding: chunked"),
            |mut w| {
                tokio::spawn(async move {
                    let _ = w.write_all(b"zz\r\nabc\r\n0\r\n\r\n").await;
                    std::future::pending::<()>().await;
                })
            },
        )
        .await;
        assert_refused(&lb, p, &r, 400, "malformed request body");
    }
    lb.stop().await;
}

/// Posts `body` to platform `p`'s application endpoint as `p` with `content_type` (none when
/// `None`).
async fn post(lb: &Loopback, p: Platform, content_type: Option<&str>, body: &[u8]) -> Reply {
    let url = format!(
        "https://localhost:{}{}",
        lb.gateway_addr.port(),
        apply_path(p)
    );
    let mut req = client_with(lb, cert_name(p)).post(url).body(body.to_vec());
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    into_reply(req.send().await.unwrap()).await
}

/// Posts a Zhejiang document with the Content-Type its interface names.
async fn send_zj(
    client: &reqwest::Client,
    url: String,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    client
        .post(url)
        .header("content-type", Platform::Zhejiang.content_type())
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn into_reply(r: reqwest::Response) -> Reply {
    Reply {
        status: r.status().as_u16(),
        headers: tongban::gateway::intake::pipeline::header_map(r.headers()),
        body: r.bytes().await.unwrap().to_vec(),
    }
}

#[tokio::test]
async fn a_content_type_other_than_the_interface_documents_is_refused_naming_it() {
    let (_dir, lb) = start().await;
    let zj = Platform::Zhejiang;
    let sh = Platform::Shanghai;
    let zj_doc = zj_application("ZJ-CT-0001");
    for wrong in [Some("application/xml"), Some("text/plain"), None] {
        let r = post(&lb, zj, wrong, &zj_doc).await;
        assert_refused(
            &lb,
            zj,
            &r,
            200,
            "Content-Type must be application/json; charset=utf-8",
        );
        let got = wrong.map_or("(none sent)".to_owned(), |w| format!("(got {w})"));
        assert!(r.text().contains(&got), "{}", r.text());
    }
    for wrong in [Some("application/json"), Some("text/xml"), None] {
        let r = post(&lb, sh, wrong, SAMPLE_SH_APPLICATION).await;
        assert_refused(&lb, sh, &r, 400, "Content-Type must be application/xml");
    }
    assert!(lb.zj.received().is_empty() && lb.sh.received().is_empty());
    // The parameters each document allows are accepted.
    let r = post(&lb, zj, Some("application/json;charset=UTF-8"), &zj_doc).await;
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["code"], "0", "{v}");
    let r = post(
        &lb,
        sh,
        Some("application/xml; charset=utf-8"),
        SAMPLE_SH_APPLICATION,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    lb.stop().await;
}

#[tokio::test]
async fn wrong_methods_and_unknown_paths_are_refused_in_the_callers_convention() {
    let (_dir, lb) = start().await;
    let base = format!("https://localhost:{}", lb.gateway_addr.port());
    for p in Platform::ALL {
        let client = client_with(&lb, cert_name(p));
        for path in [
            apply_path(p),
            tongban::gateway::transport::convention::decision_path(p),
        ] {
            let r = into_reply(client.get(format!("{base}{path}")).send().await.unwrap()).await;
            assert_refused(&lb, p, &r, 400, "method GET not allowed: use POST");
            if p == Platform::Shanghai {
                assert_eq!(r.headers["allow"], "POST");
            }
            let r = into_reply(client.put(format!("{base}{path}")).send().await.unwrap()).await;
            assert_refused(&lb, p, &r, 400, "method PUT not allowed");
        }
        let unknown = match p {
            Platform::Zhejiang => "/api/kstb/v2/sqxx2",
            Platform::Shanghai => "/ywtb/remote-accept/1.4/apply",
        };
        let r = into_reply(
            client
                .post(format!("{base}{unknown}"))
                .header("content-type", p.content_type())
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_refused(&lb, p, &r, 400, &format!("no endpoint at {unknown}"));
        // The status and ledger APIs keep their problem details.
        let r = into_reply(
            client
                .get(format!("{base}/api/v1/nothing"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 404);
        assert_eq!(r.content_type(), "application/problem+json");
    }
    lb.stop().await;
}

/// A valid Zhejiang application some 12 MB long: one material of 9 MB (base64 in the
/// document, decoded and hashed by the reader, encoded again by the translation).
fn heavy_zj_application(number: &str) -> Vec<u8> {
    use base64::Engine as _;
    use sha2::Digest as _;
    let mut v: serde_json::Value = serde_json::from_slice(&zj_application(number)).unwrap();
    let content: Vec<u8> = (0..9_000_000u32).map(|i| (i % 251) as u8).collect();
    let m = &mut v["cl"][0];
    m["nr"] = base64::engine::general_purpose::STANDARD
        .encode(&content)
        .into();
    m["sha256"] = hex::encode(sha2::Sha256::digest(&content)).into();
    serde_json::to_vec(&v).unwrap()
}

#[tokio::test]
async fn a_heavy_document_keeps_neither_health_nor_the_other_platform_waiting() {
    let (_dir, lb) = start().await;
    let gw = lb.gateway().unwrap().clone();
    let heavy = heavy_zj_application("ZJ-HEAVY-0001");
    let heavy_task = {
        let client = client_with(&lb, "zj-platform");
        let url = format!(
            "https://localhost:{}{}",
            lb.gateway_addr.port(),
            apply_path(Platform::Zhejiang)
        );
        tokio::spawn(async move {
            let r = send_zj(&client, url, heavy).await;
            into_reply(r).await
        })
    };
    let running = || gw.ops.metrics.intake_work_running.get() > 0;
    wait_for("the heavy document in the works", running).await;
    let health = reqwest::get(format!("http://{}/healthz", lb.ops_addr))
        .await
        .unwrap();
    assert!(health.status().is_success());
    let ready = reqwest::get(format!("http://{}/readyz", lb.ops_addr))
        .await
        .unwrap();
    assert!(ready.status().is_success());
    let other = lb.sh.submit(SAMPLE_SH_APPLICATION).await.unwrap();
    assert_eq!(other.status, 200);
    assert!(
        !heavy_task.is_finished(),
        "the heavy document finished before the others were answered: not a test of stalling"
    );
    let r = heavy_task.await.unwrap();
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["code"], "0", "{}", v["msg"]);
    lb.stop().await;
}

/// The shared Shanghai sample under `number` with a 30 KB first material: large enough to be
/// read off the async workers, within Shanghai's own permits.
fn mid_sh_application(number: &str) -> Vec<u8> {
    use base64::Engine as _;
    use sha2::Digest as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let content: Vec<u8> = (0..30_000u32).map(|i| (i % 251) as u8).collect();
    String::from_utf8_lossy(SAMPLE_SH_APPLICATION)
        .replace("SH-JS-LX-20261120-0007", number)
        .replace(
            "621cTUT1Eay5/CxQvzbNS0cqxav8rEqsVEQZR9XOo4Q=",
            &b64.encode(sha2::Sha256::digest(&content)),
        )
        .replace(
            "JVBERi0xLjQKJSDpo5/lk4Hnu4/okKXorrjlj6/nlLPor7fkuaYgc2FtcGxlCjEgMCBvYmo8PD4+ZW5kb2JqCnRyYWlsZXI8PD4+CiUlRU9GCg==",
            &b64.encode(&content),
        )
        .into_bytes()
}

#[tokio::test]
async fn one_platforms_flood_waits_behind_itself_only() {
    // One Zhejiang document at a time; three sent at once.
    let (_dir, lb) = start_with("intake_concurrency = 1\n").await;
    let gw = lb.gateway().unwrap().clone();
    let running = || gw.ops.metrics.intake_work_running.get();
    let url = format!(
        "https://localhost:{}{}",
        lb.gateway_addr.port(),
        apply_path(Platform::Zhejiang)
    );
    let flood: Vec<_> = (0..3)
        .map(|i| {
            let client = client_with(&lb, "zj-platform");
            let (url, doc) = (url.clone(), heavy_zj_application(&format!("ZJ-FLOOD-{i}")));
            tokio::spawn(async move {
                let r = send_zj(&client, url, doc).await;
                into_reply(r).await
            })
        })
        .collect();
    wait_for("the flood in the works", || running() > 0).await;
    for _ in 0..10 {
        assert!(running() <= 1, "Zhejiang's bound of 1 exceeded");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Shanghai's document is read with its own permits, not behind Zhejiang's queue.
    let r = lb
        .sh
        .submit(&mid_sh_application("SH-BESIDE-FLOOD"))
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let waiting = flood.iter().filter(|h| !h.is_finished()).count();
    assert!(
        waiting >= 2,
        "Shanghai waited behind Zhejiang's flood ({waiting} left)"
    );
    for h in flood {
        let v: serde_json::Value = serde_json::from_slice(&h.await.unwrap().body).unwrap();
        assert_eq!(v["code"], "0", "{}", v["msg"]);
    }
    lb.stop().await;
}

/// A valid Zhejiang application with `n` unknown top-level fields (which the interface says
/// are tolerated): the shape of issue 17's finding 3.
fn many_fields_zj_application(number: &str, n: usize) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(&zj_application(number)).unwrap();
    let o = v.as_object_mut().unwrap();
    for i in 0..n {
        o.insert(format!("x{i}"), "".into());
    }
    serde_json::to_vec(&v).unwrap()
}

/// Latencies of `/healthz` and of the other platform's applications while heavy Zhejiang
/// documents (`HEAVY` at once, default 2) are processed, printed rather than asserted
/// (timings belong to benches): `cargo test --release --test all listener::latencies --
/// --ignored --nocapture`. Each is 12 MB (a 9 MB material), or has `FIELDS` unknown fields
/// when that is set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: prints latencies"]
async fn latencies_while_heavy_documents_are_processed() {
    let (_dir, lb) = start().await;
    let n: usize = std::env::var("HEAVY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let url = format!(
        "https://localhost:{}{}",
        lb.gateway_addr.port(),
        apply_path(Platform::Zhejiang)
    );
    let sh_submit = |i: usize| {
        let doc = String::from_utf8_lossy(SAMPLE_SH_APPLICATION)
            .replace("SH-JS-LX-20261120-0007", &format!("SH-LAT-{i:05}"));
        let sh = lb.sh.clone();
        async move {
            let t = std::time::Instant::now();
            let r = sh.submit(doc.as_bytes()).await.unwrap();
            assert_eq!(r.status, 200);
            t.elapsed()
        }
    };
    let mut alone = Vec::new();
    for i in 0..20 {
        alone.push(sh_submit(100_000 + i).await);
    }
    let heavy: Vec<_> = (0..n)
        .map(|i| {
            let client = client_with(&lb, "zj-platform");
            let number = format!("ZJ-HEAVY-{i:04}");
            let doc = match std::env::var("FIELDS").ok().and_then(|v| v.parse().ok()) {
                Some(n) => many_fields_zj_application(&number, n),
                None => heavy_zj_application(&number),
            };
            let url = url.clone();
            tokio::spawn(async move {
                let t = std::time::Instant::now();
                let r = send_zj(&client, url, doc).await;
                r.bytes().await.unwrap();
                t.elapsed()
            })
        })
        .collect();
    let gw = lb.gateway().unwrap().clone();
    // In the works, or already answered (a refusal at a limit takes microseconds).
    wait_for("heavy documents in the works", || {
        gw.ops.metrics.intake_work_running.get() > 0 || heavy.iter().all(|h| h.is_finished())
    })
    .await;
    let (mut health, mut other) = (Vec::new(), Vec::new());
    let mut i = 0;
    while heavy.iter().any(|h| !h.is_finished()) {
        let t = std::time::Instant::now();
        reqwest::get(format!("http://{}/healthz", lb.ops_addr))
            .await
            .unwrap();
        health.push(t.elapsed());
        if i % 4 == 0 {
            other.push(sh_submit(i).await);
        }
        i += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut took = Vec::new();
    for h in heavy {
        took.push(h.await.unwrap());
    }
    let show = |what: &str, v: &mut Vec<Duration>| {
        v.sort();
        if v.is_empty() {
            return println!("{what}: none");
        }
        let at = |q: f64| v[((v.len() - 1) as f64 * q) as usize];
        println!(
            "{what}: {} samples, p50 {:.1?}, p99 {:.1?}, max {:.1?}",
            v.len(),
            at(0.5),
            at(0.99),
            v[v.len() - 1]
        );
    };
    println!("{n} heavy Zhejiang documents took {took:.1?}");
    show("/healthz meanwhile", &mut health);
    show("Shanghai applications before, alone", &mut alone);
    show("Shanghai applications meanwhile", &mut other);
    lb.stop().await;
}
