//! The accept loop of the HTTPS listeners: TLS handshake (on the partner listener with
//! mandatory client certificates, the [`Partner`] taken from the verified certificate and
//! put into each request's extensions), the peer address as axum's [`ConnectInfo`], an axum
//! [`Router`] served per connection over hyper, limits on connections, handshakes, header
//! reads, bodies and request time, and graceful shutdown with a grace period.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit};
use axum::http::{Request, Response, StatusCode};
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

use super::tls::{Partner, PartnerVerifier};
use crate::gateway::ops::Ops;

/// Resource limits of the partner listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once; further connections are closed on accept.
    pub max_connections: usize,
    /// Time allowed for the TLS handshake.
    pub handshake_timeout: Duration,
    /// Time allowed to receive a request's headers (slow-loris guard).
    pub header_read_timeout: Duration,
    /// Time allowed to read the body, handle the request and produce the response.
    pub request_timeout: Duration,
    /// Largest request body accepted (413 beyond; on a platform's endpoints, its
    /// convention's refusal naming the limit).
    pub max_body_bytes: usize,
    /// Time allowed to receive a request's body on a platform's endpoint (a slow or endless
    /// body is refused in the platform's convention); below `request_timeout`, so the body's
    /// refusal comes before the listener's own time limit.
    pub body_timeout: Duration,
    /// Documents of one partner platform parsed, validated, translated or signature-checked
    /// at once (off the async workers); the rest wait, so one partner's flood cannot take
    /// the CPU from the other.
    pub intake_concurrency: usize,
    /// How long in-flight requests may run after shutdown is asked before connections are cut.
    pub grace: Duration,
}

impl Default for Limits {
    /// 1,024 connections (two partner platforms with generous pools, far below the file
    /// descriptor limit); 10 s handshake and header read; 30 s per request; 16 MiB bodies (an
    /// application carries its materials inline as base64, a few scanned pages each) received
    /// within 20 s (16 MiB at 1 MB/s, leaving 10 s of the request's 30 for the work); as many
    /// documents per partner at once as the machine has cores (the work is CPU-bound, so
    /// more only queue on the cores; two partners then use at most twice the cores); 30 s
    /// grace.
    fn default() -> Self {
        Self {
            max_connections: 1024,
            handshake_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_body_bytes: 16 * 1024 * 1024,
            body_timeout: Duration::from_secs(20),
            intake_concurrency: default_intake_concurrency(),
            grace: Duration::from_secs(30),
        }
    }
}

/// The machine's cores (1 when unknown): CPU-bound intake work per partner at once.
pub fn default_intake_concurrency() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Who a listener serves.
#[derive(Clone)]
pub enum Clients {
    /// Partner platforms only: the TLS configuration demands a client certificate checked by
    /// this verifier, which maps the verified chain to the [`Partner`] each request carries.
    Partners(Arc<PartnerVerifier>),
    /// Anyone completing the handshake: the window clerks' browsers (the page has its own
    /// sign-in). Requests carry no [`Partner`], so partner routes refuse them.
    Browsers,
}

/// Everything the accept loop needs besides the listener and the routes.
#[derive(Clone)]
pub struct Serve {
    /// The rustls server configuration (for partners, its client verifier is the one in
    /// `clients`).
    pub tls: Arc<ServerConfig>,
    /// Who is served.
    pub clients: Clients,
    /// Limits.
    pub limits: Limits,
    /// Metrics.
    pub ops: Arc<Ops>,
    /// The reply to a request that runs out of `request_timeout` at a path whose callers
    /// expect their own convention (the platforms' endpoints); `None` (or no hook) answers
    /// a plain 503.
    pub timeout_reply: Option<TimeoutReply>,
}

/// Given the path of a request that ran out of time, the reply its caller expects, if the
/// path has a convention of its own.
pub type TimeoutReply = Arc<dyn Fn(&str) -> Option<Response<Body>> + Send + Sync>;

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting, lets
/// in-flight requests finish within the grace period and returns.
///
/// Each request carries the peer address as `ConnectInfo<SocketAddr>` and, on a partner
/// listener, the connection's [`Partner`]; handlers extract it with
/// `axum::Extension<Partner>`.
pub async fn run(
    listener: TcpListener,
    serve: Serve,
    router: Router,
    shutdown: impl Future<Output = ()>,
) {
    let router = router.layer(DefaultBodyLimit::disable());
    let acceptor = TlsAcceptor::from(serve.tls.clone());
    let slots = Arc::new(Semaphore::new(serve.limits.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let (tcp, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and similar: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                serve.ops.metrics.connections_accepted_total.inc();
                let Ok(permit) = slots.clone().try_acquire_owned() else {
                    serve.ops.metrics.connections_refused_total.inc();
                    tracing::warn!(%peer, "connection limit reached; closing");
                    continue;
                };
                let _ = tcp.set_nodelay(true);
                tasks.spawn(connection(
                    tcp,
                    acceptor.clone(),
                    serve.clone(),
                    router.clone(),
                    stop_rx.clone(),
                    permit,
                ));
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let open = tasks.len();
    tracing::info!(open, grace = ?serve.limits.grace, "draining connections");
    let drained = tokio::time::timeout(serve.limits.grace, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(left = tasks.len(), "grace period over; closing connections");
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
}

async fn connection(
    tcp: TcpStream,
    acceptor: TlsAcceptor,
    serve: Serve,
    router: Router,
    mut stop: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let metrics = &serve.ops.metrics;
    let peer = tcp.peer_addr().ok();
    let tls = match tokio::time::timeout(serve.limits.handshake_timeout, acceptor.accept(tcp)).await
    {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            metrics.handshakes_failed_total.inc();
            tracing::info!(?peer, error = %e, "TLS handshake refused");
            return;
        }
        Err(_) => {
            metrics.handshakes_failed_total.inc();
            tracing::info!(?peer, "TLS handshake timed out");
            return;
        }
    };
    let partner = match &serve.clients {
        // The verifier already refused anyone else during the handshake; this maps the same
        // verified chain to the typed identity.
        Clients::Partners(verifier) => {
            let Some(partner) = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| verifier.identify(chain))
            else {
                metrics.handshakes_failed_total.inc();
                tracing::warn!(?peer, "verified certificate names no partner; closing");
                return;
            };
            tracing::debug!(?peer, ?partner, "partner connected");
            Some(partner)
        }
        Clients::Browsers => None,
    };
    metrics.connections_open.inc();

    let limits = serve.limits;
    let ops = serve.ops.clone();
    let timeout_reply = serve.timeout_reply.clone();
    let svc = service_fn(move |req: Request<Incoming>| {
        handle(
            req,
            router.clone(),
            (partner.clone(), peer),
            limits,
            ops.clone(),
            timeout_reply.clone(),
        )
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true)
        .serve_connection(TokioIo::new(tls), svc);
    tokio::pin!(conn);
    tokio::select! {
        res = conn.as_mut() => {
            if let Err(e) = res {
                tracing::debug!(?peer, error = %e, "connection ended with an error");
            }
        }
        _ = async { let _ = stop.wait_for(|stop| *stop).await; } => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.as_mut().await;
        }
    }
    metrics.connections_open.dec();
}

async fn handle(
    mut req: Request<Incoming>,
    router: Router,
    (partner, peer): (Option<Partner>, Option<SocketAddr>),
    limits: Limits,
    ops: Arc<Ops>,
    timeout_reply: Option<TimeoutReply>,
) -> Result<Response<Body>, Infallible> {
    ops.metrics.requests_total.inc();
    if let Some(partner) = partner {
        req.extensions_mut().insert(partner);
    }
    if let Some(peer) = peer {
        req.extensions_mut().insert(ConnectInfo(peer));
    }
    let path = timeout_reply.is_some().then(|| req.uri().path().to_owned());
    let req = req.map(|b| Body::new(http_body_util::Limited::new(b, limits.max_body_bytes)));
    match tokio::time::timeout(limits.request_timeout, router.oneshot(req)).await {
        Ok(Ok(resp)) => Ok(resp),
        Ok(Err(never)) => match never {},
        Err(_) => {
            ops.metrics.requests_timed_out_total.inc();
            let own = timeout_reply
                .zip(path)
                .and_then(|(reply, path)| reply(&path));
            Ok(own.unwrap_or_else(|| {
                let mut resp = Response::new(Body::from("request time limit exceeded\n"));
                *resp.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                resp
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::transport::tls::{
        self, DevCa, IssuedPem, PartnerTrust, DEV_SH_IDENTITY, DEV_ZJ_IDENTITY,
    };
    use axum::routing::{get, post};
    use axum::Extension;

    struct Fixture {
        ca: DevCa,
        addr: std::net::SocketAddr,
        stop: Option<tokio::sync::oneshot::Sender<()>>,
        done: tokio::task::JoinHandle<()>,
        ops: Arc<Ops>,
    }

    fn client_for(ca: &DevCa, id: &IssuedPem) -> reqwest::Client {
        tls::client(
            &[ca.cert_der()],
            tls::certs_from_pem(id.cert.as_bytes(), "c").unwrap(),
            tls::key_from_pem(id.key.as_bytes(), "k").unwrap(),
            tls::ClientTimeouts {
                connect: Duration::from_secs(5),
                request: Duration::from_secs(5),
            },
        )
        .unwrap()
    }

    async fn start(limits: Limits) -> Fixture {
        let ca = DevCa::new("ca").unwrap();
        let server = ca.issue("localhost", &["localhost", "127.0.0.1"]).unwrap();
        let verifier = PartnerVerifier::new(&[
            PartnerTrust {
                key: "zj".into(),
                ca: vec![ca.cert_der()],
                identity: DEV_ZJ_IDENTITY.into(),
            },
            PartnerTrust {
                key: "sh".into(),
                ca: vec![ca.cert_der()],
                identity: DEV_SH_IDENTITY.into(),
            },
        ])
        .unwrap();
        let cfg = tls::server_config(
            tls::certs_from_pem(server.cert.as_bytes(), "s").unwrap(),
            tls::key_from_pem(server.key.as_bytes(), "s").unwrap(),
            verifier.clone(),
        )
        .unwrap();
        let router = Router::new()
            .route(
                "/whoami",
                get(|Extension(p): Extension<Partner>| async move { p.key().to_owned() }),
            )
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    "done"
                }),
            )
            .route(
                "/slow-own",
                get(|| async {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    "done"
                }),
            )
            .route(
                "/echo",
                post(|b: axum::body::Bytes| async move { b.len().to_string() }),
            );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let ops = Ops::new();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let serve = Serve {
            tls: cfg,
            clients: Clients::Partners(verifier),
            limits,
            ops: ops.clone(),
            timeout_reply: Some(Arc::new(|path: &str| {
                (path == "/slow-own").then(|| Response::new(Body::from("own convention")))
            })),
        };
        let done = tokio::spawn(run(listener, serve, router, async {
            let _ = rx.await;
        }));
        Fixture {
            ca,
            addr,
            stop: Some(tx),
            done,
            ops,
        }
    }

    fn url(f: &Fixture, path: &str) -> String {
        format!("https://localhost:{}{path}", f.addr.port())
    }

    #[tokio::test]
    async fn partners_are_identified_and_strangers_refused() {
        let f = start(Limits::default()).await;
        let zj = f.ca.issue("zj", &[DEV_ZJ_IDENTITY]).unwrap();
        let sh = f.ca.issue("sh", &[DEV_SH_IDENTITY]).unwrap();
        let who = |c: reqwest::Client| {
            let u = url(&f, "/whoami");
            async move { c.get(u).send().await?.text().await }
        };
        assert_eq!(who(client_for(&f.ca, &zj)).await.unwrap(), "zj");
        assert_eq!(who(client_for(&f.ca, &sh)).await.unwrap(), "sh");

        let unknown = f.ca.issue("x", &["x.tongban.test"]).unwrap();
        assert!(who(client_for(&f.ca, &unknown)).await.is_err());
        let other_ca = DevCa::new("other").unwrap();
        let foreign = other_ca.issue("zj", &[DEV_ZJ_IDENTITY]).unwrap();
        assert!(who(client_for(&f.ca, &foreign)).await.is_err());

        // No client certificate at all.
        let mut roots = rustls::RootCertStore::empty();
        roots.add(f.ca.cert_der()).unwrap();
        let cfg = rustls::ClientConfig::builder_with_provider(tls::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let anon = reqwest::Client::builder()
            .use_preconfigured_tls(cfg)
            .build()
            .unwrap();
        assert!(who(anon).await.is_err());
        assert_eq!(f.ops.metrics.handshakes_failed_total.get(), 3);
    }

    #[tokio::test]
    async fn bodies_and_request_time_are_limited() {
        let f = start(Limits {
            max_body_bytes: 1000,
            request_timeout: Duration::from_millis(100),
            ..Limits::default()
        })
        .await;
        let c = client_for(&f.ca, &f.ca.issue("zj", &[DEV_ZJ_IDENTITY]).unwrap());
        let ok = c
            .post(url(&f, "/echo"))
            .body(vec![b'a'; 1000])
            .send()
            .await
            .unwrap();
        assert_eq!(ok.text().await.unwrap(), "1000");
        let big = c
            .post(url(&f, "/echo"))
            .body(vec![b'a'; 1001])
            .send()
            .await
            .unwrap();
        assert_eq!(big.status(), reqwest::StatusCode::PAYLOAD_TOO_LARGE);
        let slow = c.get(url(&f, "/slow")).send().await.unwrap();
        assert_eq!(slow.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
        // A path with a convention of its own answers in it.
        let own = c.get(url(&f, "/slow-own")).send().await.unwrap();
        assert_eq!(own.text().await.unwrap(), "own convention");
    }

    #[tokio::test]
    async fn shutdown_drains_in_flight_requests() {
        let mut f = start(Limits::default()).await;
        let c = client_for(&f.ca, &f.ca.issue("zj", &[DEV_ZJ_IDENTITY]).unwrap());
        let u = url(&f, "/slow");
        let in_flight = tokio::spawn(async move { c.get(u).send().await?.text().await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        f.stop.take().unwrap().send(()).unwrap();
        assert_eq!(in_flight.await.unwrap().unwrap(), "done");
        tokio::time::timeout(Duration::from_secs(5), f.done)
            .await
            .unwrap()
            .unwrap();
        assert!(TcpStream::connect(f.addr).await.is_err());
    }

    #[tokio::test]
    async fn the_grace_period_bounds_the_drain() {
        let mut f = start(Limits {
            grace: Duration::from_millis(50),
            ..Limits::default()
        })
        .await;
        let c = client_for(&f.ca, &f.ca.issue("zj", &[DEV_ZJ_IDENTITY]).unwrap());
        let u = url(&f, "/slow");
        let in_flight = tokio::spawn(async move { c.get(u).send().await?.text().await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        f.stop.take().unwrap().send(()).unwrap();
        tokio::time::timeout(Duration::from_millis(250), f.done)
            .await
            .unwrap()
            .unwrap();
        assert!(in_flight.await.unwrap().is_err());
    }
}
