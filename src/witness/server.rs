//! The witness as a service: [`Witness`] answers add-checkpoint requests (checks, cosigns,
//! stores, answers), and [`start`] serves it over HTTPS (mutual TLS when configured) with the
//! gateway's accept loop and its limits on connections, handshakes, headers, bodies and
//! request time.
//!
//! Routes (`<prefix>` from the configuration):
//! - `POST <prefix>/add-checkpoint` — C2SP tlog-witness add-checkpoint;
//! - `GET <prefix>/<lowercase hex sha256(origin)>/checkpoint` — the latest checkpoint the
//!   witness cosigned for that log, with the log's signatures and the witness's cosignature
//!   (the spec's monitor retrieval), 404 if it never cosigned one.
//!
//! Every other path is 404 and every other method 405, each with a one-line reason; a body
//! above `limits.max_body_bytes` is 413.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{ConnectInfo, Path, Request, State as AxumState};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::config::WitnessConfig;
use super::protocol::{self, KnownLogs, Refusal, TEXT_CONTENT_TYPE};
use super::state::{Evidence, Latest, State, StateError};
use super::{load_key, WitnessError};
use crate::gateway::ops::Ops;
use crate::gateway::transport::server::{self as listener, Clients, Serve};
use crate::gateway::transport::tls::{self, Partner, PartnerTrust, PartnerVerifier};
use crate::signing::{Cosigner, CosignerKey};

/// What the witness answers to an add-checkpoint request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// 200: the cosignature line(s).
    Cosigned(String),
    /// A refusal with the spec's status.
    Refused(Refusal),
    /// 500: the checkpoint passed every check but could not be stored; not cosigned.
    NotStored(String),
}

impl Answer {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Answer::Cosigned(_) => 200,
            Answer::Refused(r) => r.status(),
            Answer::NotStored(_) => 500,
        }
    }
}

/// A witness: its cosigning key, the logs it knows and its durable state.
pub struct Witness {
    cosigner: Cosigner,
    logs: KnownLogs,
    state: State,
    /// Stores left before the process kills itself (0: never); see
    /// [`Running::sigkill_after_stores`].
    kill_after: AtomicU64,
}

impl std::fmt::Debug for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witness")
            .field("cosigner", &self.cosigner)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Witness {
    /// Reads the key, takes the data directory's lock and loads the state of every log.
    pub fn open(config: &WitnessConfig) -> Result<Witness, WitnessError> {
        let cosigner = load_key(&config.key_file, &config.name)?;
        let state = State::open(
            &config.data_dir,
            config.logs.iter().map(|l| l.origin.as_str()),
            &cosigner.public(),
        )?;
        let logs = KnownLogs::new(
            config
                .logs
                .iter()
                .map(|l| (l.origin.clone(), l.keys.clone())),
        );
        Ok(Witness {
            cosigner,
            logs,
            state,
            kill_after: AtomicU64::new(0),
        })
    }

    /// The witness's public key, `name+hexid+base64(0x04‖key)`.
    pub fn public_key(&self) -> CosignerKey {
        self.cosigner.public()
    }

    /// The durable state (read access for monitors and tests).
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Answers one add-checkpoint request: checks it in the spec's order, and if it passes,
    /// cosigns it at `now` (or later: a log's cosignature times never go back), stores it
    /// durably and only then answers with the cosignature. Blocking (signature checks, file
    /// writes and `fsync`): run it off the async workers. `peer` is recorded with evidence.
    pub fn add_checkpoint(&self, body: &[u8], peer: Option<&str>, now: u64) -> Answer {
        let req = match protocol::parse(body) {
            Ok(r) => r,
            Err(r) => return self.refused(r, None),
        };
        let log_signatures = match protocol::authenticate(&req, &self.logs) {
            Ok(s) => s,
            Err(r) => return self.refused(r, Some(&req.checkpoint.origin)),
        };
        let origin = req.checkpoint.origin.as_str();
        let Some(mut guard) = self.state.lock(origin) else {
            return self.refused(Refusal::UnknownOrigin(origin.to_owned()), None);
        };
        let stored = guard.latest().map(|l| &l.checkpoint);
        if let Err(r) = protocol::check_consistency(&req, stored) {
            if r.is_evidence() {
                let body = std::str::from_utf8(body).expect("parsed as UTF-8");
                let evidence = Evidence {
                    origin,
                    received_at: now,
                    peer: peer.map(str::to_owned),
                    refusal: format!("{} {r}", r.status()),
                    cosigned_checkpoint: guard.latest().map(|l| l.note.as_str()),
                    received_checkpoint: &req.note.text,
                    request_body: body,
                };
                match self.state.keep_evidence(&evidence) {
                    Ok((path, new)) => tracing::error!(
                        origin,
                        size = req.checkpoint.size,
                        reason = %r,
                        evidence = %path.display(),
                        new,
                        "refused a checkpoint signed by the log that is not shown consistent with the one cosigned before: evidence kept"
                    ),
                    Err(e) => tracing::error!(
                        origin,
                        size = req.checkpoint.size,
                        reason = %r,
                        error = %e,
                        "refused a checkpoint signed by the log that is not shown consistent with the one cosigned before; the evidence could NOT be stored"
                    ),
                }
            } else {
                tracing::info!(origin, status = r.status(), reason = %r, "refused");
            }
            return Answer::Refused(r);
        }
        let timestamp = now.max(guard.latest().map_or(0, |l| l.timestamp)).max(1);
        let cosignature = self.cosigner.cosign(&req.note.text, timestamp);
        let note = protocol::cosigned_note(&req, log_signatures, cosignature.clone());
        let latest = Latest {
            note: note.to_string(),
            checkpoint: req.checkpoint.clone(),
            timestamp,
        };
        if let Err(e) = guard.store(latest) {
            tracing::error!(origin, error = %e, "could not store the checkpoint; not cosigned");
            return Answer::NotStored(format!(
                "the witness could not store the checkpoint durably, so it does not cosign it: {}",
                store_error_summary(&e)
            ));
        }
        if self.kill_after.load(Ordering::SeqCst) > 0
            && self.kill_after.fetch_sub(1, Ordering::SeqCst) == 1
        {
            sigkill_self();
        }
        tracing::info!(origin, size = req.checkpoint.size, timestamp, "cosigned");
        Answer::Cosigned(protocol::cosignature_line(&cosignature))
    }

    fn refused(&self, r: Refusal, origin: Option<&str>) -> Answer {
        match r.status() {
            403 => tracing::warn!(origin, reason = %r, "refused"),
            _ => tracing::info!(origin, status = r.status(), reason = %r, "refused"),
        }
        Answer::Refused(r)
    }
}

/// An I/O error without the machine's paths (they go to the log, not to the client).
fn store_error_summary(e: &StateError) -> String {
    match e {
        StateError::Io { source, .. } => source.to_string(),
        other => other.to_string(),
    }
}

/// Test-only crash point (see [`Running::sigkill_after_stores`]): a real SIGKILL to this very
/// process, so nothing after the store runs, as if the machine had killed it there.
fn sigkill_self() -> ! {
    let pid = std::process::id().to_string();
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &pid])
        .status();
    std::thread::sleep(Duration::from_secs(10));
    std::process::abort()
}

struct App {
    witness: Arc<Witness>,
    max_body_bytes: usize,
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

fn plain(status: StatusCode, body: impl Into<String>) -> Response {
    let mut body = body.into();
    body.push('\n');
    text(status, TEXT_CONTENT_TYPE, body)
}

fn is_length_limit(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cur = err.source();
    }
    false
}

async fn add_checkpoint(AxumState(app): AxumState<Arc<App>>, req: Request) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.to_string());
    let peer = match (peer, req.extensions().get::<Partner>()) {
        (Some(a), Some(p)) => Some(format!("{a} (client certificate {})", p.identity())),
        (a, _) => a,
    };
    let body = match axum::body::to_bytes(req.into_body(), usize::MAX).await {
        Ok(b) => b,
        Err(e) if is_length_limit(&e) => {
            return plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "request body larger than {} bytes, this witness's limit",
                    app.max_body_bytes
                ),
            )
        }
        Err(e) => {
            return plain(
                StatusCode::BAD_REQUEST,
                format!("could not read the request body: {e}"),
            )
        }
    };
    let witness = app.witness.clone();
    // On the blocking pool, and run to the end even if the client goes away: the check, the
    // durable store and the in-memory state change together or not at all.
    let answer = tokio::task::spawn_blocking(move || {
        witness.add_checkpoint(&body, peer.as_deref(), unix_now())
    })
    .await;
    match answer {
        Ok(Answer::Cosigned(lines)) => text(StatusCode::OK, TEXT_CONTENT_TYPE, lines),
        Ok(Answer::Refused(r)) => text(
            StatusCode::from_u16(r.status()).expect("a valid status"),
            r.content_type(),
            r.body(),
        ),
        Ok(Answer::NotStored(why)) => plain(StatusCode::INTERNAL_SERVER_ERROR, why),
        Err(e) => plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the witness failed while handling the request: {e}"),
        ),
    }
}

async fn checkpoint(
    AxumState(app): AxumState<Arc<App>>,
    Path(origin_hash): Path<String>,
) -> Response {
    let well_formed = origin_hash.len() == 64
        && origin_hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !well_formed {
        return plain(
            StatusCode::NOT_FOUND,
            format!("{origin_hash:?} is not the lowercase hex SHA-256 of a log's origin"),
        );
    }
    match app.witness.state.published(&origin_hash) {
        Some(note) => text(StatusCode::OK, TEXT_CONTENT_TYPE, note.to_string()),
        None => plain(
            StatusCode::NOT_FOUND,
            format!("this witness has not cosigned a checkpoint of a log whose origin hashes to {origin_hash}"),
        ),
    }
}

async fn not_found(req: Request) -> Response {
    plain(
        StatusCode::NOT_FOUND,
        format!("no witness endpoint at {}", req.uri().path()),
    )
}

fn method_not_allowed(req: &Request, allow: &'static str) -> Response {
    let mut resp = plain(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method {} not allowed here: use {allow}", req.method()),
    );
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    resp
}

async fn post_only(req: Request) -> Response {
    method_not_allowed(&req, "POST")
}

async fn get_only(req: Request) -> Response {
    method_not_allowed(&req, "GET")
}

/// The witness's routes under `prefix`.
pub fn router(witness: Arc<Witness>, prefix: &str, max_body_bytes: usize) -> Router {
    let app = Arc::new(App {
        witness,
        max_body_bytes,
    });
    Router::new()
        .route(
            &format!("{prefix}/add-checkpoint"),
            post(add_checkpoint).fallback(post_only),
        )
        .route(
            &format!("{prefix}/{{origin_hash}}/checkpoint"),
            get(checkpoint).fallback(get_only),
        )
        .fallback(not_found)
        .with_state(app)
}

/// A witness bound to its address, not serving yet.
pub struct Running {
    addr: SocketAddr,
    witness: Arc<Witness>,
    listener: TcpListener,
    serve: Serve,
    router: Router,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("addr", &self.addr)
            .field("witness", &self.witness)
            .finish_non_exhaustive()
    }
}

/// Opens the witness (key, state, lock) and binds its listener: everything that can fail
/// fails here, before anything is served. `config.listen` may have port 0; the bound address
/// is [`Running::local_addr`].
pub async fn start(config: &WitnessConfig) -> Result<Running, WitnessError> {
    let witness = Arc::new(Witness::open(config)?);
    let chain = config.tls.chain.clone();
    let key = config.tls.key.clone_key();
    let (tls_config, clients) = match &config.tls.clients {
        None => (tls::browser_server_config(chain, key)?, Clients::Browsers),
        Some(mutual) => {
            let trust: Vec<PartnerTrust> = mutual
                .identities
                .iter()
                .map(|id| PartnerTrust {
                    key: id.clone(),
                    ca: mutual.ca.clone(),
                    identity: id.clone(),
                })
                .collect();
            let verifier = PartnerVerifier::new(&trust)?;
            (
                tls::server_config(chain, key, verifier.clone())?,
                Clients::Partners(verifier),
            )
        }
    };
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| WitnessError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| WitnessError::Bind {
        addr: config.listen,
        source,
    })?;
    let router = router(
        witness.clone(),
        &config.prefix,
        config.limits.max_body_bytes,
    );
    let serve = Serve {
        tls: tls_config,
        clients,
        limits: config.limits,
        ops: Ops::new(),
        timeout_reply: None,
    };
    Ok(Running {
        addr,
        witness,
        listener,
        serve,
        router,
    })
}

impl Running {
    /// The address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The witness's public key, `name+hexid+base64(0x04‖key)`.
    pub fn public_key(&self) -> CosignerKey {
        self.witness.public_key()
    }

    /// The witness itself (its state, for monitors and tests).
    pub fn witness(&self) -> &Arc<Witness> {
        &self.witness
    }

    /// Serves until `shutdown` completes, then lets requests in flight finish (a short grace
    /// period) and returns.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tracing::info!(
            addr = %self.addr,
            witness = %self.witness.public_key(),
            "witness serving"
        );
        listener::run(self.listener, self.serve, self.router, shutdown).await;
    }

    /// Serves on a task of its own until `shutdown` completes.
    pub fn spawn(self, shutdown: impl Future<Output = ()> + Send + 'static) -> JoinHandle<()> {
        tokio::spawn(self.run(shutdown))
    }

    /// **For crash tests only.** After the `n`-th checkpoint stored durably from now, the
    /// process sends itself SIGKILL before answering, so a test can kill the witness exactly
    /// between storing and answering, which random kills hit only by chance. Reached from the
    /// command line only through a hidden flag of `tongban witness serve`.
    #[doc(hidden)]
    pub fn sigkill_after_stores(self, n: u64) -> Self {
        self.witness.kill_after.store(n, Ordering::SeqCst);
        self
    }
}
