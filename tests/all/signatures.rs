//! A partner platform's own RFC 9421 signature on what it sends: verified with the keys
//! configured for it, refused naming the header at fault, recorded when it verifies.

use crate::gateway::{client_with, get_json, options, start, text, zj_application};
use crate::{metric, wait_for};

use tongban::demo::{Loopback, SAMPLE_SH_APPLICATION};
use tongban::gateway::intake::pipeline::GATEWAY_NO_HEADER;
use tongban::gateway::record::AppState;
use tongban::gateway::transport::convention;
use tongban::gateway::transport::httpsig::{self, Message};
use tongban::platform::Platform;

/// The application's timeline through the status API.
async fn timeline(lb: &Loopback, no: &str) -> serde_json::Value {
    let v = get_json(&format!("http://{}/api/v1/applications/{no}", lb.ops_addr)).await;
    v["timeline"].clone()
}

fn note_of(timeline: &serde_json::Value, step: &str) -> Option<String> {
    timeline.as_array()?.iter().find(|e| e["step"] == step)?["note"]
        .as_str()
        .map(str::to_owned)
}

/// Posts `body` to platform `p`'s application endpoint as that platform, signed over
/// `signed_body` with `key` under `keyid`.
async fn post_signed(
    lb: &Loopback,
    p: Platform,
    body: &[u8],
    signed_body: &[u8],
    key: &ed25519_dalek::SigningKey,
    keyid: &str,
) -> (u16, String) {
    let url = format!(
        "https://localhost:{}{}",
        lb.gateway_addr.port(),
        convention::apply_path(p)
    );
    let ct = p.content_type();
    let h = httpsig::sign_with_key(
        Message::Request {
            method: "POST",
            target_uri: &url,
        },
        ct,
        signed_body,
        key,
        keyid,
        chrono::Utc::now().timestamp(),
    );
    let r = client_with(lb, &format!("{}-platform", p.key()))
        .post(&url)
        .header("content-type", ct)
        .header("content-digest", h.content_digest)
        .header("signature-input", h.signature_input)
        .header("signature", h.signature)
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn sample_numbered(no: &str) -> Vec<u8> {
    String::from_utf8_lossy(SAMPLE_SH_APPLICATION)
        .replace("SH-JS-LX-20261120-0007", no)
        .into_bytes()
}

#[tokio::test]
async fn signed_applications_and_decisions_are_verified_and_recorded() {
    let (_dir, lb) = start(options()).await;
    let reply = lb.sh.submit(SAMPLE_SH_APPLICATION).await.unwrap();
    assert_eq!(reply.status, 200, "{}", text(&reply));
    let no = reply.headers[GATEWAY_NO_HEADER].clone();
    wait_for("DELIVERED", || {
        lb.gateway()
            .and_then(|g| g.store.get(&no).ok().flatten())
            .is_some_and(|r| r.state == AppState::Delivered)
    })
    .await;
    let t = timeline(&lb, &no).await;
    assert_eq!(
        note_of(&t, "RECEIVED").as_deref(),
        Some("signed by the platform with key sh-sandbox"),
        "{t}"
    );
    assert_eq!(
        note_of(&t, "DECIDED").as_deref(),
        Some("signed by the platform with key zj-sandbox"),
        "{t}"
    );
    // The signature is kept: anyone with the platform's key can verify it again, later,
    // over the bytes the gateway received.
    let status = get_json(&format!("http://{}/api/v1/applications/{no}", lb.ops_addr)).await;
    let kept = &status["signatures"]["application"];
    assert_eq!(kept["keyid"], "sh-sandbox", "{status}");
    // The signature base names every covered value: the digest of exactly these bytes...
    let base = kept["signature_base"].as_str().unwrap();
    let digest = httpsig::content_digest(SAMPLE_SH_APPLICATION);
    assert!(
        base.contains(&format!("\"content-digest\": {digest}\n")),
        "{base}"
    );
    // ...and the platform's key verifies the signature over it, with no gateway code.
    use base64::Engine as _;
    let sig = kept["signature"].as_str().unwrap();
    let b64 = sig.split_once("=:").unwrap().1.trim_end_matches(':');
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    let sig = ed25519_dalek::Signature::from_slice(&bytes).unwrap();
    use ed25519_dalek::Verifier as _;
    let key = lb.sh.verifying_key().unwrap();
    assert!(key.verify(base.as_bytes(), &sig).is_ok());
    assert_eq!(status["signatures"]["decision"]["keyid"], "zj-sandbox");
    assert_eq!(
        metric(&lb, "tongban_sender_signatures_verified_total").await,
        2
    );
    assert_eq!(
        metric(&lb, "tongban_sender_signatures_refused_total").await,
        0
    );
    lb.stop().await;
}

#[tokio::test]
async fn a_signature_that_fails_is_refused_naming_the_header_and_nothing_is_recorded() {
    let (_dir, lb) = start(options()).await;
    let stranger = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let body = sample_numbered("SH-SIG-0001");

    let other = sample_numbered("SH-SIG-0002");
    for (what, sent, keyid, expected) in [
        (
            "the configured key id, but not the platform's key",
            &body,
            "sh-sandbox",
            "Signature: signature does not verify",
        ),
        (
            "a key id nobody configured",
            &body,
            "sh-2027",
            "Signature-Input: unknown key id sh-2027",
        ),
        (
            "bytes changed after signing",
            &other,
            "sh-sandbox",
            "Content-Digest: content digest does not match the body",
        ),
    ] {
        let (status, reply) =
            post_signed(&lb, Platform::Shanghai, sent, &body, &stranger, keyid).await;
        assert_eq!(status, 403, "{what}: {reply}");
        assert!(reply.contains(expected), "{what}: {reply}");
    }

    // Zhejiang is answered in its own convention: HTTP 200, `{code, msg}`.
    let zj = zj_application("ZJ-SIG-0001");
    let (status, reply) =
        post_signed(&lb, Platform::Zhejiang, &zj, &zj, &stranger, "zj-sandbox").await;
    assert_eq!(status, 200, "{reply}");
    let v: serde_json::Value = serde_json::from_str(&reply).unwrap();
    assert_eq!(v["code"], "4001", "{reply}");
    let refused = tongban::model::Message::SignatureRefused {
        detail: "Signature: signature does not verify".into(),
    };
    assert_eq!(
        v["msg"],
        refused.render(tongban::model::Lang::Zh),
        "{reply}"
    );
    assert_eq!(
        v["msg"], "报文签名未通过验证：Signature: signature does not verify",
        "{reply}"
    );

    assert_eq!(
        metric(&lb, "tongban_sender_signatures_refused_total").await,
        4
    );
    // Nothing recorded: no application, so no ledger entry either.
    let apps = get_json(&format!("http://{}/api/v1/applications", lb.ops_addr)).await;
    assert_eq!(
        apps["applications"].as_array().map(Vec::len),
        Some(0),
        "{apps}"
    );
    let ledger = reqwest::get(format!(
        "http://{}/api/v1/ledger/entries?start=0",
        lb.ops_addr
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(ledger.contains("below the log size 0"), "{ledger}");
    assert!(lb.zj.received().is_empty());
    lb.stop().await;
}

#[tokio::test]
async fn unsigned_is_accepted_unless_the_platform_must_sign() {
    let (_dir, mut lb) = start(options()).await;
    lb.sh.set_signing(false);
    let reply = lb.sh.submit(&sample_numbered("SH-SIG-0003")).await.unwrap();
    assert_eq!(reply.status, 200, "{}", text(&reply));
    let no = reply.headers[GATEWAY_NO_HEADER].clone();
    assert_eq!(note_of(&timeline(&lb, &no).await, "RECEIVED"), None);
    let status = get_json(&format!("http://{}/api/v1/applications/{no}", lb.ops_addr)).await;
    assert_eq!(status["signatures"], serde_json::json!({}), "{status}");

    // The operator requires Shanghai's signature from now on.
    let config = std::fs::read_to_string(&lb.config_path).unwrap();
    let config = config.replacen(
        "[platforms.sh]\n",
        "[platforms.sh]\nrequire_signature = true\n",
        1,
    );
    std::fs::write(&lb.config_path, config).unwrap();
    lb.stop_gateway().await;
    lb.start_gateway().await.unwrap();

    let reply = lb.sh.submit(&sample_numbered("SH-SIG-0004")).await.unwrap();
    assert_eq!(reply.status, 403, "{}", text(&reply));
    assert!(
        text(&reply).contains("Signature: platform sh must sign what it sends (RFC 9421)"),
        "{}",
        text(&reply)
    );
    lb.sh.set_signing(true);
    let reply = lb.sh.submit(&sample_numbered("SH-SIG-0004")).await.unwrap();
    assert_eq!(reply.status, 200, "{}", text(&reply));
    lb.stop().await;
}
