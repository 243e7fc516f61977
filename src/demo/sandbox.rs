//! Stand-in partner platforms for the demo and the tests: a sandbox serves its platform's two
//! endpoints over mutual TLS (admitting only the gateway), answers in its platform's
//! convention, decides each application it receives after a delay and posts the decision
//! back to the gateway (or, for tests, when told: [`Sandbox::decide`]), and can submit
//! applications to the gateway as that platform would.
//! It can be switched "down" (answers retry-later) to exercise the gateway's retries.
//! Given the gateway's public keys it verifies the gateway's RFC 9421 signatures (Ed25519 and
//! SM2) on what it receives, refusing what does not verify, as a partner would.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use chrono::Datelike as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;

use crate::codes::ItemKind;
use crate::model::message::DocKind;
use crate::model::{
    Application, Base64Content, Decision, Document, File, Licence, Outcome, Sha256Digest, Uscc,
};
use crate::model::{Lang, Message};
use crate::platform::{self, Platform};

use crate::gateway::transport::convention::{self, ReplyBody};

/// The language of a sandbox's replies: a platform's staff read Chinese, as the real
/// platforms' replies are.
const SANDBOX_LANG: Lang = Lang::Zh;

use crate::gateway::ops::Ops;
use crate::gateway::transport::httpsig::{self, KeySigner};
use crate::gateway::transport::server::{self, Clients, Limits, Serve};
use crate::gateway::transport::tls::{
    self, ClientTimeouts, PartnerTrust, PartnerVerifier, TlsError,
};

/// What a sandbox needs to run.
pub struct SandboxOptions {
    /// The platform it stands in for.
    pub platform: Platform,
    /// The gateway's base URL (`https://localhost:8443`).
    pub gateway_url: String,
    /// Delay before deciding a received application; `None`: never decide.
    pub decide_after: Option<Duration>,
    /// CA that issued the gateway's certificates (server and client).
    pub ca: Vec<CertificateDer<'static>>,
    /// The SAN the gateway's client certificate carries.
    pub gateway_identity: String,
    /// The sandbox's own certificate chain (server and client).
    pub chain: Vec<CertificateDer<'static>>,
    /// Its key.
    pub key: PrivateKeyDer<'static>,
    /// The key it signs what it sends with (RFC 9421, tongban's profile); none: unsigned.
    pub signer: Option<KeySigner>,
    /// Which of the signer's keys it signs with (`sm2` needs a signer holding an SM2 key).
    pub signs_with: httpsig::SignWith,
    /// The gateway's public keys by key id: when given, what the gateway sends must carry
    /// its signatures and they must verify (every one of tongban's profile it carries).
    pub gateway_keys: Option<BTreeMap<String, httpsig::PublicKey>>,
}

/// What the sandbox received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// An application, by the number it carried.
    Application {
        /// Its number (the gateway's cross-province number).
        number: String,
        /// The receipt the sandbox gave.
        receipt: String,
    },
    /// A decision on one of the applications it sent.
    Decision {
        /// Its number (the sandbox's own application number).
        number: String,
        /// `granted`, `refused`, `correction`.
        outcome: String,
    },
}

/// A reply from the gateway to something the sandbox sent.
#[derive(Debug, Clone)]
pub struct GatewayReply {
    /// HTTP status.
    pub status: u16,
    /// Headers, lowercase names.
    pub headers: std::collections::HashMap<String, String>,
    /// Body.
    pub body: Vec<u8>,
}

/// A stand-in platform.
pub struct Sandbox {
    platform: Platform,
    gateway_url: String,
    decide_after: Option<Duration>,
    client: reqwest::Client,
    tls: Arc<rustls::ServerConfig>,
    verifier: Arc<PartnerVerifier>,
    down: AtomicBool,
    signer: Option<KeySigner>,
    signs_with: httpsig::SignWith,
    signing: AtomicBool,
    gateway_keys: Option<BTreeMap<String, httpsig::PublicKey>>,
    verified: Mutex<Vec<httpsig::Verified>>,
    seq: AtomicU64,
    received: Mutex<Vec<Received>>,
    by_number: Mutex<BTreeMap<String, String>>,
    applications: Mutex<BTreeMap<String, Box<Application>>>,
}

/// Why [`Sandbox::decide`] posted nothing.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    /// The sandbox never received that application.
    #[error("the sandbox never received application {0}")]
    Unknown(String),
    /// Posting to the gateway failed.
    #[error("posting the decision: {0}")]
    Http(#[from] reqwest::Error),
}

impl Sandbox {
    /// Builds the sandbox's TLS server and client.
    pub fn new(o: SandboxOptions) -> Result<Arc<Self>, TlsError> {
        let verifier = PartnerVerifier::new(&[PartnerTrust {
            key: "gateway".into(),
            ca: o.ca.clone(),
            identity: o.gateway_identity.clone(),
        }])?;
        let tls = tls::server_config(o.chain.clone(), o.key.clone_key(), verifier.clone())?;
        let client = tls::client(
            &o.ca,
            o.chain,
            o.key,
            ClientTimeouts {
                connect: Duration::from_secs(5),
                request: Duration::from_secs(30),
            },
        )?;
        Ok(Arc::new(Self {
            platform: o.platform,
            gateway_url: o.gateway_url.trim_end_matches('/').to_owned(),
            decide_after: o.decide_after,
            client,
            tls,
            verifier,
            down: AtomicBool::new(false),
            signing: AtomicBool::new(o.signer.is_some()),
            signer: o.signer,
            signs_with: o.signs_with,
            gateway_keys: o.gateway_keys,
            verified: Mutex::new(Vec::new()),
            seq: AtomicU64::new(0),
            received: Mutex::new(Vec::new()),
            by_number: Mutex::new(BTreeMap::new()),
            applications: Mutex::new(BTreeMap::new()),
        }))
    }

    /// The platform it stands in for.
    pub fn platform(&self) -> Platform {
        self.platform
    }

    /// While down, every call is answered with the platform's retry-later reply.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// The gateway signatures it verified, oldest first (with `gateway_keys`).
    pub fn verified(&self) -> Vec<httpsig::Verified> {
        self.verified
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Checks the gateway's signatures on a request, when it was given the gateway's keys;
    /// the refusal names the header at fault.
    fn check_gateway(
        &self,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), Box<Response>> {
        let Some(keys) = &self.gateway_keys else {
            return Ok(());
        };
        let path = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
        let target = crate::gateway::intake::sender::target_uri(headers, path).unwrap_or_default();
        let h = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let received = httpsig::ReceivedHeaders {
            content_type: h("content-type"),
            content_digest: h("content-digest"),
            signature_input: h("signature-input"),
            signature: h("signature"),
        };
        let msg = httpsig::Message::Request {
            method: "POST",
            target_uri: &target,
        };
        match httpsig::verify_all(msg, received, body, |id| keys.get(id).cloned()) {
            Ok(v) => {
                tracing::info!(platform = %self.platform, algs = ?v.iter().map(|v| v.alg.name()).collect::<Vec<_>>(), "sandbox verified the gateway's signature");
                self.verified
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend(v);
                Ok(())
            }
            Err(e) => Err(Box::new(self.reply(convention::forbidden(
                self.platform,
                &Message::SignatureRefused {
                    detail: format!("the gateway's signature: {e}"),
                },
                SANDBOX_LANG,
            )))),
        }
    }

    /// The public key that verifies what it signs, if it signs.
    pub fn verifying_key(&self) -> Option<ed25519_dalek::VerifyingKey> {
        self.signer.as_ref().map(KeySigner::verifying_key)
    }

    /// Whether what it sends is signed (when it has a key); on by default.
    pub fn set_signing(&self, signing: bool) {
        self.signing.store(signing, Ordering::SeqCst);
    }

    /// Everything received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Serves the platform's endpoints on `listener` until `shutdown`.
    pub async fn serve(self: Arc<Self>, listener: TcpListener, shutdown: impl Future<Output = ()>) {
        let serve = Serve {
            tls: self.tls.clone(),
            clients: Clients::Partners(self.verifier.clone()),
            limits: Limits {
                grace: Duration::from_secs(2),
                ..Limits::default()
            },
            ops: Ops::new(),
            timeout_reply: None,
        };
        let router =
            Router::new()
                .route(
                    convention::apply_path(self.platform),
                    post(
                        |State(s): State<Arc<Sandbox>>,
                         uri: Uri,
                         headers: HeaderMap,
                         body: Bytes| async move {
                            if let Err(refused) = s.check_gateway(&uri, &headers, &body) {
                                return *refused;
                            }
                            s.on_application(&body)
                        },
                    ),
                )
                .route(
                    convention::decision_path(self.platform),
                    post(
                        |State(s): State<Arc<Sandbox>>,
                         uri: Uri,
                         headers: HeaderMap,
                         body: Bytes| async move {
                            if let Err(refused) = s.check_gateway(&uri, &headers, &body) {
                                return *refused;
                            }
                            s.on_decision(&body)
                        },
                    ),
                )
                .with_state(self.clone());
        server::run(listener, serve, router, shutdown).await;
    }

    /// Takes a document of kind `expected`, or gives the platform's answer refusing it: not
    /// now while the sandbox is down, the document's problems, or the wrong kind.
    fn take(&self, body: &[u8], expected: DocKind) -> Result<Document, ReplyBody> {
        let p = self.platform;
        let refused = if self.down.load(Ordering::SeqCst) {
            convention::retry_later(p, &Message::SandboxDown, SANDBOX_LANG)
        } else {
            match platform::read(p, body) {
                Err(problems) => convention::problems(p, &problems, SANDBOX_LANG),
                Ok(read) => {
                    let got = match &read.document {
                        Document::Application(_) => DocKind::Application,
                        Document::Decision(_) => DocKind::Decision,
                    };
                    if got == expected {
                        return Ok(read.document);
                    }
                    let wrong = Message::WrongKind { expected, got };
                    convention::forbidden(p, &wrong, SANDBOX_LANG)
                }
            }
        };
        Err(refused)
    }

    fn reply(&self, r: ReplyBody) -> Response {
        let status = http::StatusCode::from_u16(r.status).unwrap_or(http::StatusCode::OK);
        (
            status,
            [(http::header::CONTENT_TYPE, r.content_type)],
            r.body,
        )
            .into_response()
    }

    fn on_application(self: &Arc<Self>, body: &[u8]) -> Response {
        let p = self.platform;
        let app = match self.take(body, DocKind::Application) {
            Ok(Document::Application(a)) => a,
            Ok(_) => unreachable!("take gives the kind asked for"),
            Err(refused) => return self.reply(refused),
        };
        let number = app.number.as_str().to_owned();
        let receipt = {
            let mut seen = self.by_number.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(r) = seen.get(&number) {
                return self.reply(convention::duplicate(p, r, SANDBOX_LANG));
            }
            let n = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
            let r = format!("{}R{n:06}", p.key().to_uppercase());
            seen.insert(number.clone(), r.clone());
            r
        };
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Received::Application {
                number: number.clone(),
                receipt: receipt.clone(),
            });
        tracing::info!(platform = %p, %number, %receipt, "sandbox received an application");
        self.applications
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(number.clone(), app.clone());
        if let Some(delay) = self.decide_after {
            let me = self.clone();
            let n = self.seq.load(Ordering::SeqCst);
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let decision = grant(&app, n);
                let bytes = platform::write(p, &Document::Decision(Box::new(decision))).bytes;
                // Post until the gateway takes it, as a platform would.
                for attempt in 0..20u32 {
                    match me.post_decision(&bytes).await {
                        Ok(r) if !is_retry(p, &r) => {
                            tracing::info!(platform = %p, %number, status = r.status, "sandbox posted its decision");
                            return;
                        }
                        Ok(_) | Err(_) => {
                            tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt + 1)))
                                .await;
                        }
                    }
                }
                tracing::warn!(platform = %p, %number, "sandbox gave up posting its decision");
            });
        }
        self.reply(convention::accepted(p, &receipt))
    }

    fn on_decision(&self, body: &[u8]) -> Response {
        let p = self.platform;
        let d = match self.take(body, DocKind::Decision) {
            Ok(Document::Decision(d)) => d,
            Ok(_) => unreachable!("take gives the kind asked for"),
            Err(refused) => return self.reply(refused),
        };
        let outcome = crate::gateway::intake::pipeline::outcome_key(&d.outcome).to_owned();
        let number = d.number.as_str().to_owned();
        tracing::info!(platform = %p, %number, %outcome, "sandbox received a decision");
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Received::Decision { number, outcome });
        let n = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
        self.reply(convention::accepted(
            p,
            &format!("{}D{n:06}", p.key().to_uppercase()),
        ))
    }

    async fn post(&self, path: &str, bytes: &[u8]) -> Result<GatewayReply, reqwest::Error> {
        let url = format!("{}{path}", self.gateway_url);
        let ct = self.platform.content_type();
        let mut req = self
            .client
            .post(&url)
            .header(http::header::CONTENT_TYPE, ct);
        if let Some(signer) = self
            .signer
            .as_ref()
            .filter(|_| self.signing.load(Ordering::SeqCst))
        {
            let signed = httpsig::sign_message(
                httpsig::Message::Request {
                    method: "POST",
                    target_uri: &url,
                },
                ct,
                bytes,
                signer,
                self.signs_with,
                chrono::Utc::now().timestamp(),
            );
            req = req
                .header("content-digest", signed.content_digest)
                .header("signature-input", signed.signature_input)
                .header("signature", signed.signature);
        }
        let resp = req.body(bytes.to_vec()).send().await?;
        let status = resp.status().as_u16();
        let headers = crate::gateway::intake::pipeline::header_map(resp.headers());
        let body = resp.bytes().await?.to_vec();
        Ok(GatewayReply {
            status,
            headers,
            body,
        })
    }

    /// Submits an application to the gateway, as this platform.
    pub async fn submit(&self, bytes: &[u8]) -> Result<GatewayReply, reqwest::Error> {
        self.post(convention::apply_path(self.platform), bytes)
            .await
    }

    /// Decides application `number` (as the gateway forwarded it) now, with `outcome`, and
    /// posts the decision to the gateway once; for tests that choose when and how the
    /// authority decides (start the sandbox with a long `decide_after`).
    pub async fn decide(
        &self,
        number: &str,
        outcome: Outcome,
    ) -> Result<GatewayReply, DecideError> {
        let app = self
            .applications
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(number)
            .cloned()
            .ok_or_else(|| DecideError::Unknown(number.to_owned()))?;
        let n = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
        let decision = match outcome {
            Outcome::Granted => grant(&app, n),
            other => refuse(&app, other),
        };
        let bytes = platform::write(self.platform, &Document::Decision(Box::new(decision))).bytes;
        Ok(self.post_decision(&bytes).await?)
    }

    /// Posts a decision to the gateway, as this platform.
    pub async fn post_decision(&self, bytes: &[u8]) -> Result<GatewayReply, reqwest::Error> {
        self.post(convention::decision_path(self.platform), bytes)
            .await
    }
}

fn is_retry(p: Platform, r: &GatewayReply) -> bool {
    matches!(
        convention::classify(p, r.status, &r.body),
        crate::platform::Reply::RetryLater(_)
    )
}

/// GB 32100 alphabet, for generating a sandbox USCC.
const USCC_ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/// A valid-looking USCC for a new registration in `division` (sandbox use only).
fn sandbox_uscc(division: u32, n: u64) -> Option<Uscc> {
    let stem = format!("92{division:06}MA{:07}", n % 10_000_000);
    USCC_ALPHABET
        .chars()
        .find_map(|c| Uscc::parse(&format!("{stem}{c}")).ok())
}

/// ISO 7064 MOD 11,10 check digit over decimal digits.
fn mod11_10(digits: &str) -> u32 {
    let mut p = 10;
    for d in digits.chars().filter_map(|c| c.to_digit(10)) {
        let mut s = (p + d) % 10;
        if s == 0 {
            s = 10;
        }
        p = (2 * s) % 11;
    }
    (11 - p) % 10
}

/// The decision a sandbox makes: granted, with a licence numbered in the platform's way.
pub fn grant(app: &Application, n: u64) -> Decision {
    let tz = crate::model::beijing();
    let now = chrono::Utc::now().with_timezone(&tz);
    let today = now.date_naive();
    let division = app.premises.division.code();
    let kind = app.item.kind();
    let (number, uscc, valid_to) = match kind {
        ItemKind::Food => {
            let digit = app
                .food
                .as_ref()
                .map(|f| f.main_format.licence_digit())
                .unwrap_or("1");
            let body = format!("{digit}{division:06}{:06}", n % 1_000_000);
            let number = format!("JY{body}{}", mod11_10(&body));
            // Food business licences are valid for 5 years.
            let to = today
                .with_year(today.year() + 5)
                .and_then(|d| d.pred_opt())
                .unwrap_or(today);
            (number, None, to)
        }
        ItemKind::Registration => {
            let uscc = sandbox_uscc(division, n);
            let number = uscc
                .as_ref()
                .map(|u| u.as_str().to_owned())
                .unwrap_or_default();
            let to = today.with_year(today.year() + 30).unwrap_or(today);
            (number, uscc, to)
        }
    };
    let pdf = format!("%PDF-1.4\n% tongban sandbox licence {number}\n%%EOF\n").into_bytes();
    let file_name = format!("{number}.pdf");
    Decision {
        number: app.number.clone(),
        outcome: Outcome::Granted,
        outcome_note: None,
        opinion: "经审查，符合法定条件，准予许可。".into(),
        officer: "沙箱审批员".into(),
        decided_at: now,
        licence: Some(Licence {
            number,
            name: app.item.licence_name().to_owned(),
            valid_from: today,
            valid_to,
            issued_by: app.target.authority.clone(),
            issued_on: today,
            uscc,
            file: File {
                name: file_name,
                mime_type: "application/pdf".into(),
                sha256: Sha256Digest::of(&pdf),
                content: Base64Content::encode(&pdf),
            },
        }),
        extensions: Default::default(),
    }
}

/// A decision without a licence: refused (不予), or materials to correct (补正).
pub fn refuse(app: &Application, outcome: Outcome) -> Decision {
    let tz = crate::model::beijing();
    Decision {
        number: app.number.clone(),
        outcome,
        outcome_note: None,
        opinion: match outcome {
            Outcome::Correction => "申请材料不齐全：请补正经营场所使用证明。",
            _ => "经现场核查，经营场所不符合食品安全要求，不予许可。",
        }
        .into(),
        officer: "沙箱审批员".into(),
        decided_at: chrono::Utc::now().with_timezone(&tz),
        licence: None,
        extensions: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digits_and_generated_codes_are_valid() {
        // The shared sample decision's licence JY23304820000011 ends in its check digit.
        assert_eq!(mod11_10("2330482000001"), 1);
        assert_ne!(mod11_10("2330482000002"), 1);
        let u = sandbox_uscc(330482, 7).unwrap();
        assert_eq!(&u.as_str()[2..8], "330482");
    }
}
