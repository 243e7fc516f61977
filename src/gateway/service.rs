//! Assembles and runs the whole gateway from a resolved [`Config`]: storage, ledger, keys,
//! recovery after a crash, the partner listener (mTLS), the clerks' page listener (HTTPS
//! without client certificates, when `[web]` is configured), the operator listener, the
//! outbox worker, and an orderly shutdown (not ready → stop accepting → drain requests →
//! finish deliveries in flight → final flush).

use std::future::{Future, IntoFuture as _};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

use super::config::{Config, WebSettings};
use super::delivery::forwarder;
use super::desk::GatewayDesk;
use super::intake::admission;
use super::intake::pipeline::Gateway;
use super::ledger::journal::Journal;
use super::ledger::witnesses::Witnesses;
use super::ledger::{self, GatewayLedger};
use super::ops::{self, Ops};
use super::status;
use super::transport::httpsig::MessageSigner;
use super::transport::server::{self, Clients, Limits, Serve};
use super::transport::tls::{self, PartnerTrust, PartnerVerifier};
use crate::store::DataDir;
use crate::web::{self, Desk, StatusKey, WebConfig};

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The data directory or a key file could not be used.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// Storage could not be opened.
    #[error("storage: {0}")]
    Store(String),
    /// A secret of the data directory is unusable.
    #[error("{path} ({what}): {why}")]
    Secret {
        /// The file.
        path: String,
        /// What it is for.
        what: String,
        /// What is wrong and what to do.
        why: String,
    },
    /// TLS set-up failed.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// Recovery after a restart failed.
    #[error("recovery: {0}")]
    Recover(String),
    /// A platform is to be sent SM2 signatures and the keyring has no SM2 key.
    #[error("platforms.{0}.signatures needs an SM2 key and the keyring has none: create it with `tongban keys generate --alg sm2`")]
    NoSm2Key(String),
}

/// How long a stopping gateway waits for the witnesses to cosign its last checkpoint.
pub const FINAL_COSIGNING: std::time::Duration = std::time::Duration::from_secs(10);

/// A gateway with its listeners bound, ready to run.
pub struct Bound {
    /// Where partners connect.
    pub partner_addr: SocketAddr,
    /// Where operators connect.
    pub ops_addr: SocketAddr,
    /// Where window clerks' browsers connect, when the page is configured.
    pub web_addr: Option<SocketAddr>,
    /// The shared state (for tests and the demo to look into).
    pub gateway: Arc<Gateway>,
    /// The ledger.
    pub ledger: Arc<GatewayLedger>,
    partner: TcpListener,
    ops: TcpListener,
    serve: Serve,
    web: Option<WebListener>,
    clients: std::collections::HashMap<String, reqwest::Client>,
    witnesses: Option<Arc<Witnesses>>,
}

/// The clerks' page listener, bound.
struct WebListener {
    listener: TcpListener,
    serve: Serve,
    page: WebConfig,
    status_key: StatusKey,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ServiceError + '_ {
    move |source| ServiceError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Reads 32 secret bytes from `path`, creating them (mode 0600) on first use. An existing
/// file that is not exactly 32 bytes, or that group or others may read, stops the start: a
/// fresh secret in its place would silently break what was made with the old one (the
/// applicant hashes in the ledger, the links printed on receipts).
fn secret32(path: &Path, what: &str) -> Result<[u8; 32], ServiceError> {
    let refuse = |why: String| ServiceError::Secret {
        path: path.display().to_string(),
        what: what.to_owned(),
        why,
    };
    match crate::signing::keyring::open_private(path) {
        Ok(mut f) => {
            let mut bytes = zeroize::Zeroizing::new(Vec::new());
            std::io::Read::read_to_end(&mut f, &mut bytes).map_err(io_err(path))?;
            <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
                refuse(format!(
                    "it holds {} bytes, not 32; restore it from a backup (a new secret would not match what was made with the old one)",
                    bytes.len()
                ))
            })
        }
        Err(crate::signing::KeyringError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            let mut fresh = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut fresh);
            tls::write_file(path, &fresh, true).map_err(|e| ServiceError::Io {
                path: path.display().to_string(),
                source: std::io::Error::other(e.to_string()),
            })?;
            Ok(fresh)
        }
        Err(e) => Err(refuse(e.to_string())),
    }
}

/// Opens storage and keys, recovers from any crash, binds both listeners.
pub async fn start(config: Config) -> Result<Bound, ServiceError> {
    let config = Arc::new(config);
    std::fs::create_dir_all(&config.data_dir).map_err(io_err(&config.data_dir))?;
    let data = DataDir::with_storage(&config.data_dir, config.storage.clone());
    let salt = secret32(
        &data.id_salt(),
        "the salt of the applicant hashes in the ledger",
    )?;
    let stores = data
        .open()
        .map_err(|e| ServiceError::Store(e.to_string()))?;
    // The ledger's active key signs checkpoints and every HTTP message (one key to publish).
    let keyring = data
        .keyring_or_create()
        .map_err(|e| ServiceError::Store(e.to_string()))?;
    let ledger = GatewayLedger::open(stores.ledger.clone(), keyring)
        .map_err(|e| ServiceError::Store(e.to_string()))?;
    ledger.write_under(stores.records.clone());
    let journal: Arc<dyn Journal> = ledger.clone();
    let signer: Arc<dyn MessageSigner> = ledger.clone();
    if signer.sm2_keyid().is_none() {
        if let Some(p) = config.platforms.iter().find(|p| p.signatures.needs_sm2()) {
            return Err(ServiceError::NoSm2Key(p.key.clone()));
        }
    }
    let ops = Ops::new();
    if let Some(database) = &stores.health {
        ops.watch_database(database.clone());
    }
    let gw = Gateway::new(
        config.clone(),
        stores.records.clone(),
        stores.outbox.clone(),
        journal,
        signer,
        ops.clone(),
        salt,
    );
    let recovered = gw
        .recover()
        .await
        .map_err(|e| ServiceError::Recover(e.to_string()))?;
    if recovered > 0 {
        tracing::warn!(recovered, "deliveries in flight at the last stop put back");
    }
    check_invariant(&ledger, &*stores.records, &ops)?;
    ops.watch_certificates(config.certificate_expiries());
    let size = i64::try_from(ledger.size()).unwrap_or(i64::MAX);
    ops.metrics.ledger_size.set(size);

    let trust: Vec<PartnerTrust> = config.platforms.iter().map(|p| p.trust.clone()).collect();
    let verifier = PartnerVerifier::new(&trust)?;
    let tls_config = tls::server_config(
        config.server.chain.clone(),
        config.server.key.clone_key(),
        verifier.clone(),
    )?;
    let clients = forwarder::clients(&config)?;
    let witnesses = match &config.witnesses {
        None => None,
        Some(w) => Some(Witnesses::new(
            w,
            &config.client,
            config.outgoing,
            ledger.clone(),
            ops.clone(),
        )?),
    };
    let (web_addr, web) = match &config.web {
        None => (None, None),
        Some(w) => {
            let (addr, web) = web_listener(&config, w, &data).await?;
            (Some(addr), Some(web))
        }
    };
    let (partner, partner_addr) = bind(config.listen).await?;
    let (ops_listener, ops_addr) = bind(config.ops_listen).await?;
    Ok(Bound {
        partner_addr,
        ops_addr,
        web_addr,
        gateway: gw.clone(),
        ledger,
        partner,
        ops: ops_listener,
        serve: Serve {
            tls: tls_config,
            clients: Clients::Partners(verifier),
            limits: config.limits,
            ops,
            timeout_reply: Some(admission::timeout_reply(gw.clone())),
        },
        web,
        clients,
        witnesses,
    })
}

/// Binds `addr`: the listener and the address it got (port 0 made a real one).
async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), ServiceError> {
    let failed = move |source| ServiceError::Bind { addr, source };
    let listener = TcpListener::bind(addr).await.map_err(failed)?;
    let local = listener.local_addr().map_err(failed)?;
    Ok((listener, local))
}

/// The clerks' HTTPS listener, bound, with the secret behind the receipts' status links (made
/// on the first start).
async fn web_listener(
    config: &Config,
    w: &WebSettings,
    data: &DataDir,
) -> Result<(SocketAddr, WebListener), ServiceError> {
    let status_key = StatusKey::new(secret32(
        &data.status_key(),
        "the key of the status links printed on receipts",
    )?);
    let (listener, addr) = bind(w.listen).await?;
    let serve = Serve {
        tls: tls::browser_server_config(
            config.server.chain.clone(),
            config.server.key.clone_key(),
        )?,
        clients: Clients::Browsers,
        // A submission carries its scanned materials inline; the page's router limits every
        // other request to a few kilobytes.
        limits: Limits {
            max_body_bytes: crate::web::MAX_SUBMISSION,
            ..config.limits
        },
        // Browsers' connections are not counted with the partners'.
        ops: Ops::new(),
        timeout_reply: None,
    };
    let web = WebListener {
        listener,
        serve,
        page: w.page.clone(),
        status_key,
    };
    Ok((addr, web))
}

/// Checks the last entries of the ledger against the records at start; a violation keeps the
/// gateway from becoming ready (each is logged; `tongban storage check` lists them all).
fn check_invariant(
    ledger: &GatewayLedger,
    records: &dyn crate::gateway::record::AppStore,
    ops: &Ops,
) -> Result<(), ServiceError> {
    // Other instances sharing the store write meanwhile: read both under its writer lock.
    let _held = match ledger.shared() {
        true => Some(
            records
                .begin()
                .map_err(|e| ServiceError::Store(e.to_string()))?,
        ),
        false => None,
    };
    let report = crate::store::check::run(
        super::ledger::invariant::Scope::Tail,
        ledger.size(),
        |r| ledger.entries(r).map_err(|e| e.to_string()),
        records,
    )
    .map_err(ServiceError::Recover)?;
    for v in &report.violations {
        tracing::error!(violation = %v, "records and ledger disagree");
    }
    ops.set_invariant_violations(report.violations.iter().map(|v| v.to_string()).collect());
    Ok(())
}

impl Bound {
    /// Serves until `shutdown` completes, then stops in order.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let gw = self.gateway.clone();
        let ops = self.serve.ops.clone();
        let (stop_tx, stop_rx) = watch::channel(false);
        let stopped = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };

        let ops_router = ops::router(ops.clone())
            .merge(status::router(gw.clone()))
            .merge(ledger::router(self.ledger.clone()));
        let checkpoints = tokio::spawn(self.ledger.clone().checkpoints(stopped(stop_rx.clone())));
        let witness_task = self
            .witnesses
            .clone()
            .map(|w| tokio::spawn(w.run(stopped(stop_rx.clone()))));
        let ops_task = tokio::spawn(
            axum::serve(self.ops, ops_router)
                .with_graceful_shutdown(stopped(stop_rx.clone()))
                .into_future(),
        );
        let forwarder_task = tokio::spawn(forwarder::run(
            gw.clone(),
            self.clients,
            stopped(stop_rx.clone()),
        ));
        // Both HTTPS listeners stop accepting and drain at the same moment.
        let (drain_tx, drain_rx) = watch::channel(false);
        let web_task = self.web.map(|w| {
            let desk: Arc<dyn Desk> = Arc::new(GatewayDesk::new(gw.clone()));
            tokio::spawn(server::run(
                w.listener,
                w.serve,
                web::router(desk, w.page, w.status_key),
                stopped(drain_rx),
            ))
        });
        ops.set_ready(true);
        tracing::info!(
            partner = %self.partner_addr,
            ops = %self.ops_addr,
            web = ?self.web_addr,
            "gateway serving"
        );

        let partner_router = admission::router(gw.clone())
            .merge(status::router(gw.clone()))
            .merge(ledger::router(self.ledger.clone()));
        let readiness = ops.clone();
        server::run(self.partner, self.serve, partner_router, async move {
            shutdown.await;
            readiness.set_ready(false);
            let _ = drain_tx.send(true);
        })
        .await;
        if let Some(task) = web_task {
            let _ = task.await;
        }

        let _ = stop_tx.send(true);
        let _ = forwarder_task.await;
        let _ = ops_task.await;
        let _ = checkpoints.await;
        if let Some(task) = witness_task {
            let _ = task.await;
        }
        if let Some(w) = &self.witnesses {
            // The checkpoint signed at the stop is the one offline audits start from: ask
            // the witnesses for it now, within the outgoing time limit.
            let _ = tokio::time::timeout(FINAL_COSIGNING, w.round(true)).await;
        }
        gw.flush().await;
        tracing::info!("gateway stopped");
    }
}
