//! `tongban serve`, `tongban sandbox zj|sh` and `tongban demo`: flags, runtime, logging and
//! signals around the library's gateway.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

use super::{Error, Outcome};
use crate::demo;
use crate::demo::sandbox::{Sandbox, SandboxOptions};
use crate::gateway::config::Config;
use crate::gateway::{service, transport::tls};
use crate::platform::Platform;

/// `tongban serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The configuration file (TOML).
    #[arg(long, default_value = "tongban.toml")]
    pub config: PathBuf,
}

/// `tongban sandbox`.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Which platform to stand in for: zj or sh.
    #[arg(value_parser = super::parse_platform)]
    pub platform: Platform,
    /// Address to listen on.
    #[arg(long)]
    pub listen: SocketAddr,
    /// The gateway's base URL.
    #[arg(long, default_value = "https://localhost:8443")]
    pub gateway: String,
    /// Milliseconds before deciding a received application.
    #[arg(long, default_value_t = 2000)]
    pub decide_after_ms: u64,
}

/// `tongban demo` (writes the dev PKI, configuration and data under the global
/// `--data-dir`).
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// `sm2`: SM2 signs beside Ed25519 — checkpoints carry both signatures, the gateway signs
    /// with SM2 to the Zhejiang sandbox (which verifies it) and the Shanghai sandbox signs
    /// with SM2. `ed25519` (default): Ed25519 only.
    #[arg(long, value_enum, default_value = "ed25519")]
    pub alg: super::keys::Alg,
}

pub(super) fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|source| Error::Io {
            what: "starting the runtime".into(),
            source,
        })
}

pub(super) fn logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Completes on Ctrl-C or SIGTERM.
pub(super) async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Runs the gateway. Every configuration problem is reported before any port is bound.
pub fn serve(args: ServeArgs) -> Result<Outcome, Error> {
    let config = Config::load(&args.config).map_err(|e| Error::Config(e.to_string()))?;
    logging();
    runtime()?.block_on(async {
        let bound = service::start(config)
            .await
            .map_err(|e| Error::Usage(e.to_string()))?;
        bound.run(stop_signal()).await;
        Ok(Outcome::Success)
    })
}

/// Runs a sandbox platform with the dev PKI under `data_dir/pki` (as `tongban demo` writes it).
pub fn sandbox(args: SandboxArgs, data_dir: &Path) -> Result<Outcome, Error> {
    logging();
    let pki = tls::DevPkiFiles {
        dir: crate::store::DataDir::new(data_dir).pki(),
    };
    let name = format!("{}-platform", args.platform.key());
    let read = |path: PathBuf| {
        std::fs::read(&path).map_err(|source| Error::Io {
            what: path.display().to_string(),
            source,
        })
    };
    let tls_err = |e: tls::TlsError| Error::Usage(e.to_string());
    let ca = tls::certs_from_pem(&read(pki.ca())?, "ca").map_err(tls_err)?;
    let chain = tls::certs_from_pem(&read(pki.cert(&name))?, &name).map_err(tls_err)?;
    let key = tls::key_from_pem(&read(pki.key(&name))?, &name).map_err(tls_err)?;
    runtime()?.block_on(async {
        let sb = Sandbox::new(SandboxOptions {
            platform: args.platform,
            gateway_url: args.gateway,
            decide_after: Some(Duration::from_millis(args.decide_after_ms)),
            ca,
            gateway_identity: tls::DEV_GATEWAY_IDENTITY.into(),
            chain,
            key,
            signer: None,
            signs_with: Default::default(),
            gateway_keys: None,
        })
        .map_err(tls_err)?;
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|source| Error::Io {
                what: format!("listening on {}", args.listen),
                source,
            })?;
        tracing::info!(platform = %args.platform, listen = %args.listen, "sandbox serving");
        sb.serve(listener, stop_signal()).await;
        Ok(Outcome::Success)
    })
}

/// Runs the loopback demo under `data_dir` until Ctrl-C.
pub fn demo(args: DemoArgs, data_dir: &Path) -> Result<Outcome, Error> {
    logging();
    let sm2 = args.alg == super::keys::Alg::Sm2;
    runtime()?.block_on(async {
        demo::run(data_dir, sm2, stop_signal())
            .await
            .map_err(|e| Error::Usage(e.to_string()))?;
        Ok(Outcome::Success)
    })
}
