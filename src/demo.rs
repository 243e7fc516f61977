//! The loopback set-up behind `tongban demo` and the end-to-end tests: a dev PKI generated
//! under a data directory, a configuration file written for it, the gateway (with the window
//! clerks' page when accounts are given) and both sandbox platforms on 127.0.0.1, and the
//! shared sample application sent through with every step printed with its ledger index.

//!
//! [`sandbox`] — the stand-in partner platforms it runs (also the tests' harness).

pub mod sandbox;

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::platform::Platform;
use crate::web::{self, Account, Office};

use crate::gateway::config::{Config, ConfigErrors};
use crate::gateway::intake::pipeline::Gateway;
use crate::gateway::record::AppState;
use crate::gateway::service::{self, ServiceError};
use crate::gateway::transport::httpsig::{KeySigner, MessageSigner as _};
use crate::gateway::transport::tls::{
    self, DevPkiFiles, TlsError, DEV_GATEWAY_IDENTITY, DEV_SH_IDENTITY, DEV_ZJ_IDENTITY,
};
use sandbox::{Sandbox, SandboxOptions};

/// The shared sample application (Shanghai XML; accepted in 金山区, decided in 平湖市).
pub const SAMPLE_SH_APPLICATION: &[u8] = include_bytes!("../demo/sh-application.xml");

/// Why the loopback set-up failed.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// Files or sockets.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Certificates.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The generated configuration did not resolve.
    #[error("{0}")]
    Config(#[from] ConfigErrors),
    /// The gateway did not start.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// Talking to the gateway failed.
    #[error("request: {0}")]
    Http(String),
    /// The demo clerk's password could not be hashed.
    #[error(transparent)]
    Hash(#[from] web::HashError),
    /// A loopback witness did not start.
    #[error("witness: {0}")]
    Witness(String),
    /// The gateway's keyring could not be opened or given its SM2 key.
    #[error("keys: {0}")]
    Keys(String),
}

/// The demo's window clerk: 王敏 of the 金山区廊下镇 office that accepted the shared sample,
/// so the sample is on her work list.
pub const DEMO_CLERK: (&str, &str) = ("wangmin", "王敏");

/// The shared sample's accepting office: name and USCC.
pub const DEMO_OFFICE: (&str, &str) = (
    "上海市金山区廊下镇社区事务受理服务中心",
    "113101160024321631",
);

/// A fresh password for the demo clerk: 16 characters from an alphabet without look-alikes
/// (about 92 bits), so a demo left running on a shared machine is not an open door.
pub fn demo_password() -> String {
    use rand::Rng as _;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    (0..16)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The demo clerk's account with `password` hashed.
pub fn demo_clerk(password: &str) -> Result<Account, DemoError> {
    Ok(Account {
        username: DEMO_CLERK.0.to_owned(),
        display_name: DEMO_CLERK.1.to_owned(),
        password_hash: web::hash_password(password)?,
        office: Office {
            name: DEMO_OFFICE.0.to_owned(),
            uscc: crate::model::Uscc::parse(DEMO_OFFICE.1)
                .expect("the shared sample's office USCC is valid"),
            platform: Platform::Shanghai,
        },
    })
}

/// Knobs for tests (the demo uses the defaults).
#[derive(Debug, Clone)]
pub struct LoopbackOptions {
    /// How long a sandbox takes to decide.
    pub decide_after: Duration,
    /// First retry delay of the outbox, ms.
    pub initial_backoff_ms: u64,
    /// Largest retry delay, ms.
    pub max_backoff_ms: u64,
    /// Give-up deadline, s.
    pub give_up_after_s: u64,
    /// Run a witness per province (Zhejiang's and Shanghai's, C2SP tlog-witness on loopback
    /// with mutual TLS) and have the gateway ask both to cosign every checkpoint.
    pub witnesses: bool,
    /// SM2 beside Ed25519 (`tongban demo --alg sm2`): the gateway's keyring gets an SM2 key,
    /// so every checkpoint is signed by both; the gateway signs what it sends Zhejiang with
    /// SM2 (`signatures = "sm2"`) and the Zhejiang sandbox verifies it; the Shanghai sandbox
    /// signs what it sends with SM2, which the gateway verifies and the ledger records.
    pub sm2: bool,
    /// The gateway's `[storage]` table (none: the embedded store in its data directory).
    pub storage: Option<String>,
}

impl Default for LoopbackOptions {
    /// A one-second decision and short back-off, so a demo run takes seconds.
    fn default() -> Self {
        Self {
            decide_after: Duration::from_secs(1),
            initial_backoff_ms: 200,
            max_backoff_ms: 2_000,
            give_up_after_s: 3_600,
            witnesses: false,
            sm2: false,
            storage: None,
        }
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The gateway's data directory (records, ledger, keys) inside the demo's directory.
pub const DEMO_GATEWAY_DIR: &str = "gateway";

/// The gateway configuration for a loopback set-up (paths relative to the data dir).
pub fn loopback_config(
    gateway_port: u16,
    ops_port: u16,
    zj_port: u16,
    sh_port: u16,
    o: &LoopbackOptions,
) -> String {
    format!(
        r#"# Written by `tongban demo` for a loopback set-up; the dev PKI is in pki/.
listen = "127.0.0.1:{gateway_port}"
ops_listen = "127.0.0.1:{ops_port}"
data_dir = "{DEMO_GATEWAY_DIR}"

[tls]
cert = "pki/gateway.pem"
key = "pki/gateway.key"

[platforms.zj]
base_url = "https://localhost:{zj_port}"
client_ca = "pki/ca.pem"
client_identity = "{DEV_ZJ_IDENTITY}"

[platforms.sh]
base_url = "https://localhost:{sh_port}"
client_ca = "pki/ca.pem"
client_identity = "{DEV_SH_IDENTITY}"

[outbox]
initial_backoff_ms = {}
max_backoff_ms = {}
give_up_after_s = {}

[limits]
grace_period_ms = 5000
"#,
        o.initial_backoff_ms, o.max_backoff_ms, o.give_up_after_s
    )
}

/// A sandbox platform's signing key, made for the run, with key id `<platform>-sandbox`.
fn sandbox_signer(p: Platform) -> KeySigner {
    let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    KeySigner::new(key, format!("{}-sandbox", p.key()))
}

/// The `signing_keys` tables that let the gateway verify the sandboxes' signatures (their
/// SM2 keys too, for those that have one).
fn signing_keys_config(signers: &[(Platform, KeySigner)]) -> String {
    use base64::Engine as _;
    use std::fmt::Write as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let mut out = String::new();
    for (p, s) in signers {
        let public = b64(s.verifying_key().as_bytes());
        let _ = write!(
            out,
            "\n[platforms.{}.signing_keys]\n\"{}\" = \"{public}\"\n",
            p.key(),
            s.keyid()
        );
        if let (Some(id), Some(k)) = (s.sm2_keyid(), s.sm2_public_key()) {
            let _ = writeln!(out, "\"{id}\" = \"{}\"", b64(&k.point()));
        }
    }
    out
}

/// The Shanghai sandbox's SM2 key, made for the run (`--alg sm2`).
fn with_sandbox_sm2(p: Platform, signer: KeySigner) -> KeySigner {
    match crate::signing::Sm2SigningKey::generate(
        &format!("{}-sandbox", p.key()),
        crate::signing::sm2::DEFAULT_DISTINGUISHING_ID,
    ) {
        Ok(k) => signer.with_sm2(k, format!("{}-sandbox-sm2", p.key())),
        Err(_) => signer,
    }
}

/// For `--alg sm2`: gives the gateway's keyring (made now if new) an SM2 key when it has
/// none, and returns the gateway's public keys by RFC 9421 key id, for the sandbox that
/// verifies them.
fn gateway_sm2_keys(
    gateway_dir: &Path,
) -> Result<
    std::collections::BTreeMap<String, crate::gateway::transport::httpsig::PublicKey>,
    DemoError,
> {
    let witness = |e: crate::signing::KeyringError| DemoError::Keys(e.to_string());
    let mut ring = crate::store::DataDir::new(gateway_dir)
        .keyring_or_create()
        .map_err(witness)?;
    if ring.sm2().is_none() {
        let origin = ring.active().name().to_owned();
        ring.add_sm2(&origin, crate::signing::sm2::DEFAULT_DISTINGUISHING_ID)
            .map_err(witness)?;
    }
    let mut keys = std::collections::BTreeMap::new();
    keys.insert(
        ring.active().key_id_hex(),
        crate::gateway::transport::httpsig::PublicKey::Ed25519(*ring.active().verifier().dalek()),
    );
    if let Some(k) = ring.sm2() {
        keys.insert(
            k.key_id_hex(),
            crate::gateway::transport::httpsig::PublicKey::Sm2(
                crate::signing::Sm2VerifyingKey::from(k),
            ),
        );
    }
    Ok(keys)
}

/// The `[web]` table for a loopback set-up: the clerks' page on `web_port`, and the
/// receipts' status links on the same listener (`https://localhost:<web_port>/s/…`).
pub fn web_config(web_port: u16, clerks: &[Account]) -> String {
    let q = |s: &str| toml::Value::String(s.to_owned()).to_string();
    let mut out = format!(
        "\n[web]\nlisten = \"127.0.0.1:{web_port}\"\npublic_url = \"{}\"\n",
        demo_public_url(web_port)
    );
    for a in clerks {
        out.push_str(&format!(
            "\n[[web.accounts]]\nusername = {}\ndisplay_name = {}\npassword_hash = {}\noffice_uscc = {}\noffice_name = {}\nplatform = {}\n",
            q(&a.username),
            q(&a.display_name),
            q(&a.password_hash),
            q(a.office.uscc.as_str()),
            q(&a.office.name),
            q(a.office.platform.key()),
        ));
    }
    out
}

/// The gateway's status-link secret, as `serve` made it in its data directory.
fn status_key(gw: &Gateway) -> Option<web::StatusKey> {
    let path = crate::store::DataDir::new(&gw.config.data_dir).status_key();
    let bytes = std::fs::read(path).ok()?;
    Some(web::StatusKey::new(
        <[u8; 32]>::try_from(bytes.as_slice()).ok()?,
    ))
}

/// The applicants' status pages' base on loopback: the page listener, by the name its dev
/// certificate holds.
pub fn demo_public_url(web_port: u16) -> String {
    format!("https://localhost:{web_port}/")
}

struct Running {
    stop: tokio::sync::oneshot::Sender<()>,
    done: JoinHandle<()>,
    gateway: Arc<Gateway>,
    ops_addr: SocketAddr,
}

/// The loopback witnesses: label, the dev certificate they serve with (their province's
/// platform's), and their name.
pub const DEMO_WITNESSES: [(&str, &str, &str); 2] = [
    ("zj", "zj-platform", "witness.zj-platform.tongban.test"),
    ("sh", "sh-platform", "witness.sh-platform.tongban.test"),
];

/// One loopback witness, which a test may stop and start again on the same port.
pub struct LoopbackWitness {
    /// Its label (`zj`, `sh`).
    pub label: &'static str,
    /// Its public key.
    pub key: crate::signing::CosignerKey,
    /// Where it listens.
    pub addr: SocketAddr,
    dir: PathBuf,
    cert: &'static str,
    name: &'static str,
    log: crate::witness::WitnessedLog,
    running: Option<(tokio::sync::oneshot::Sender<()>, JoinHandle<()>)>,
}

impl LoopbackWitness {
    /// Its configuration: the province platform's dev certificate, mutual TLS admitting the
    /// gateway, its state under `dir/witness-<label>`.
    fn config(&self, pki: &DevPkiFiles) -> Result<crate::witness::WitnessConfig, DemoError> {
        use crate::witness::config::{default_limits, MutualTls, WitnessTls};
        let data_dir = self.dir.join(format!("witness-{}", self.label));
        Ok(crate::witness::WitnessConfig {
            name: self.name.to_owned(),
            key_file: data_dir.join("witness.key"),
            data_dir,
            listen: self.addr,
            prefix: "/witness".into(),
            tls: WitnessTls {
                chain: tls::certs_from_pem(&std::fs::read(pki.cert(self.cert))?, self.cert)?,
                key: tls::key_from_pem(&std::fs::read(pki.key(self.cert))?, self.cert)?,
                clients: Some(MutualTls {
                    ca: tls::certs_from_pem(&std::fs::read(pki.ca())?, "ca")?,
                    identities: vec![DEV_GATEWAY_IDENTITY.into()],
                }),
            },
            logs: vec![self.log.clone()],
            limits: default_limits(),
        })
    }

    /// Starts it (again), on its port.
    async fn start(&mut self, pki: &DevPkiFiles) -> Result<(), DemoError> {
        let running = crate::witness::start(&self.config(pki)?)
            .await
            .map_err(|e| DemoError::Witness(e.to_string()))?;
        self.addr = running.local_addr();
        self.key = running.public_key();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let handle = running.spawn(async move {
            let _ = stopped.await;
        });
        self.running = Some((stop, handle));
        Ok(())
    }

    /// Stops it; its state stays on disk.
    async fn stop(&mut self) {
        if let Some((stop, handle)) = self.running.take() {
            let _ = stop.send(());
            let _ = handle.await;
        }
    }
}

/// Starts the loopback witnesses of the gateway whose data directory is `gateway_dir` (its
/// ledger key is made now if new, so they know the log they witness), and returns them with
/// the `[witnesses]` table for the gateway's configuration (both required).
async fn start_witnesses(
    dir: &Path,
    pki: &DevPkiFiles,
    gateway_dir: &Path,
) -> Result<(Vec<LoopbackWitness>, String), DemoError> {
    let log_key = crate::store::DataDir::new(gateway_dir)
        .keyring_or_create()
        .map_err(|e| DemoError::Witness(e.to_string()))?
        .active()
        .verifier();
    let mut witnesses = Vec::new();
    let mut table = String::from("\n[witnesses]\nquorum = 2\n");
    for (label, cert, name) in DEMO_WITNESSES {
        let key_file = dir.join(format!("witness-{label}")).join("witness.key");
        let key = if key_file.exists() {
            crate::witness::load_key(&key_file, name).map(|k| k.public())
        } else {
            std::fs::create_dir_all(key_file.parent().unwrap_or(dir))?;
            crate::witness::generate_key(&key_file, name)
        }
        .map_err(|e| DemoError::Witness(e.to_string()))?;
        let mut w = LoopbackWitness {
            label,
            key,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            dir: dir.to_owned(),
            cert,
            name,
            log: crate::witness::WitnessedLog {
                origin: log_key.name().to_owned(),
                keys: vec![log_key.clone()],
            },
            running: None,
        };
        w.start(pki).await?;
        table.push_str(&format!(
            "\n[[witnesses.witness]]\nurl = \"https://localhost:{}/witness\"\nkey = \"{}\"\nca = \"pki/ca.pem\"\n",
            w.addr.port(),
            w.key
        ));
        witnesses.push(w);
    }
    Ok((witnesses, table))
}

/// Gateway and both sandboxes on loopback.
pub struct Loopback {
    /// The data directory.
    pub dir: PathBuf,
    /// The dev PKI.
    pub pki: DevPkiFiles,
    /// The gateway's configuration file.
    pub config_path: PathBuf,
    /// The gateway's partner address.
    pub gateway_addr: SocketAddr,
    /// The gateway's operator address (status API, metrics).
    pub ops_addr: SocketAddr,
    /// The clerks' page (HTTPS, dev certificate), when clerk accounts were given.
    pub web_addr: Option<SocketAddr>,
    /// The Zhejiang sandbox.
    pub zj: Arc<Sandbox>,
    /// The Shanghai sandbox.
    pub sh: Arc<Sandbox>,
    running: Option<Running>,
    sandboxes_stop: watch::Sender<bool>,
    sandboxes: Vec<JoinHandle<()>>,
    /// The witnesses, when asked for.
    pub witnesses: Vec<LoopbackWitness>,
}

impl Loopback {
    /// Generates the PKI and configuration under `dir`, starts both sandboxes and the gateway.
    pub async fn start(dir: &Path, options: LoopbackOptions) -> Result<Self, DemoError> {
        Self::start_with_clerks(dir, options, &[]).await
    }

    /// As [`Loopback::start`], with the window clerks' page serving `clerks`.
    pub async fn start_with_clerks(
        dir: &Path,
        options: LoopbackOptions,
        clerks: &[Account],
    ) -> Result<Self, DemoError> {
        std::fs::create_dir_all(dir)?;
        let pki = tls::generate_dev_pki(&dir.join("pki"))?;
        let zj_listener = TcpListener::bind("127.0.0.1:0").await?;
        let sh_listener = TcpListener::bind("127.0.0.1:0").await?;
        let gateway_port = free_port()?;
        let ops_port = free_port()?;
        let web_port = if clerks.is_empty() {
            None
        } else {
            Some(free_port()?)
        };
        let mut text = loopback_config(
            gateway_port,
            ops_port,
            zj_listener.local_addr()?.port(),
            sh_listener.local_addr()?.port(),
            &options,
        );
        if let Some(port) = web_port {
            text.push_str(&web_config(port, clerks));
        }
        let mut signers = vec![
            (Platform::Zhejiang, sandbox_signer(Platform::Zhejiang)),
            (Platform::Shanghai, sandbox_signer(Platform::Shanghai)),
        ];
        let mut gateway_keys = None;
        if options.sm2 {
            gateway_keys = Some(gateway_sm2_keys(&dir.join(DEMO_GATEWAY_DIR))?);
            text = text.replacen(
                &format!("client_identity = \"{DEV_ZJ_IDENTITY}\"\n"),
                &format!("client_identity = \"{DEV_ZJ_IDENTITY}\"\nsignatures = \"sm2\"\n"),
                1,
            );
            let sh = signers.remove(1).1;
            signers.push((Platform::Shanghai, with_sandbox_sm2(Platform::Shanghai, sh)));
        }
        text.push_str(&signing_keys_config(&signers));
        if let Some(storage) = &options.storage {
            text.push_str(storage);
        }
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut handles = Vec::new();
        let mut witnesses = Vec::new();
        if options.witnesses {
            let (started, table) = start_witnesses(dir, &pki, &dir.join(DEMO_GATEWAY_DIR)).await?;
            witnesses = started;
            text.push_str(&table);
        }
        let config_path = dir.join("tongban.toml");
        std::fs::write(&config_path, text)?;

        let ca = tls::certs_from_pem(&std::fs::read(pki.ca())?, "ca")?;
        let mut make = |p: Platform, name: &str, listener: TcpListener| {
            let at = signers.iter().position(|(q, _)| *q == p);
            let signer = at.map(|i| signers.swap_remove(i).1);
            let chain = tls::certs_from_pem(&std::fs::read(pki.cert(name))?, name)?;
            let key = tls::key_from_pem(&std::fs::read(pki.key(name))?, name)?;
            let sm2 = options.sm2;
            let sb = Sandbox::new(SandboxOptions {
                platform: p,
                gateway_url: format!("https://localhost:{gateway_port}"),
                decide_after: Some(options.decide_after),
                ca: ca.clone(),
                gateway_identity: DEV_GATEWAY_IDENTITY.into(),
                chain,
                key,
                signer,
                signs_with: if sm2 && p == Platform::Shanghai {
                    crate::gateway::transport::httpsig::SignWith::Sm2
                } else {
                    crate::gateway::transport::httpsig::SignWith::Ed25519
                },
                gateway_keys: gateway_keys.clone().filter(|_| p == Platform::Zhejiang),
            })?;
            let mut rx = stop_rx.clone();
            handles.push(tokio::spawn(sb.clone().serve(listener, async move {
                let _ = rx.wait_for(|s| *s).await;
            })));
            Ok::<_, DemoError>(sb)
        };
        let zj = make(Platform::Zhejiang, "zj-platform", zj_listener)?;
        let sh = make(Platform::Shanghai, "sh-platform", sh_listener)?;
        let mut me = Self {
            dir: dir.to_owned(),
            pki,
            config_path,
            gateway_addr: SocketAddr::from(([127, 0, 0, 1], gateway_port)),
            ops_addr: SocketAddr::from(([127, 0, 0, 1], ops_port)),
            web_addr: web_port.map(|port| SocketAddr::from(([127, 0, 0, 1], port))),
            zj,
            sh,
            running: None,
            sandboxes_stop: stop_tx,
            sandboxes: handles,
            witnesses,
        };
        me.start_gateway().await?;
        Ok(me)
    }

    /// Starts the gateway (again) from the configuration file.
    pub async fn start_gateway(&mut self) -> Result<(), DemoError> {
        let config = Config::load(&self.config_path)?;
        let bound = service::start(config).await?;
        let gateway = bound.gateway.clone();
        let ops_addr = bound.ops_addr;
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        let done = tokio::spawn(bound.run(async {
            let _ = rx.await;
        }));
        self.running = Some(Running {
            stop,
            done,
            gateway,
            ops_addr,
        });
        Ok(())
    }

    /// Stops the gateway gracefully (sandboxes keep running).
    pub async fn stop_gateway(&mut self) {
        if let Some(r) = self.running.take() {
            let _ = r.stop.send(());
            let _ = r.done.await;
        }
    }

    /// The running gateway's shared state.
    pub fn gateway(&self) -> Option<&Arc<Gateway>> {
        self.running.as_ref().map(|r| &r.gateway)
    }

    /// The running gateway's operator address.
    pub fn ops_addr(&self) -> Option<SocketAddr> {
        self.running.as_ref().map(|r| r.ops_addr)
    }

    /// Stops the witness `label` (`zj`, `sh`), or starts it again on its port.
    pub async fn set_witness_down(&mut self, label: &str, down: bool) -> Result<(), DemoError> {
        let pki = self.pki.clone();
        for w in self.witnesses.iter_mut().filter(|w| w.label == label) {
            if down {
                w.stop().await;
            } else if w.running.is_none() {
                w.start(&pki).await?;
            }
        }
        Ok(())
    }

    /// Stops everything.
    pub async fn stop(mut self) {
        self.stop_gateway().await;
        for w in &mut self.witnesses {
            w.stop().await;
        }
        let _ = self.sandboxes_stop.send(true);
        for h in self.sandboxes.drain(..) {
            let _ = h.await;
        }
    }
}

/// Waits (a few seconds at most) for both witnesses to cosign the newest checkpoint, and
/// prints it.
async fn print_cosigned_checkpoint(ops: SocketAddr) {
    let url = format!("http://{ops}/api/v1/ledger/checkpoint");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut last = String::new();
    while tokio::time::Instant::now() < deadline {
        if let Ok(r) = reqwest::get(&url).await {
            last = r.text().await.unwrap_or_default();
            let witnessed = DEMO_WITNESSES
                .iter()
                .all(|(_, _, name)| last.contains(&format!("\u{2014} {name} ")));
            if witnessed {
                println!(
                    "checkpoint cosigned by both provinces' witnesses (C2SP tlog-cosignature):"
                );
                for line in last.lines() {
                    println!("  {line}");
                }
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!("the witnesses have not cosigned the newest checkpoint yet; it is:\n{last}");
}

/// `tongban demo`: sets everything up under `dir`, sends the sample through, prints each step
/// and then keeps running until `shutdown` (Ctrl-C). With `sm2` (`--alg sm2`), SM2 signs
/// beside Ed25519 (see [`LoopbackOptions::sm2`]).
pub async fn run(
    dir: &Path,
    sm2: bool,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DemoError> {
    // Generated for this run only: its hash goes into the configuration written below, the
    // password itself only onto this terminal.
    let password = demo_password();
    let clerk = demo_clerk(&password)?;
    let options = LoopbackOptions {
        witnesses: true,
        sm2,
        ..LoopbackOptions::default()
    };
    let lb = Loopback::start_with_clerks(dir, options, &[clerk]).await?;
    println!(
        "dev PKI (CA, gateway, zj-platform, sh-platform) in {}",
        lb.pki.dir.display()
    );
    println!("configuration written to {}", lb.config_path.display());
    println!(
        "gateway on https://localhost:{} (mTLS), operator endpoints on http://{}",
        lb.gateway_addr.port(),
        lb.ops_addr().map(|a| a.to_string()).unwrap_or_default()
    );
    println!("Shanghai sandbox submits the shared sample application (SH-JS-LX-20261120-0007)…");
    let reply = lb
        .sh
        .submit(SAMPLE_SH_APPLICATION)
        .await
        .map_err(|e| DemoError::Http(e.to_string()))?;
    let gateway_no = reply
        .headers
        .get(crate::gateway::intake::pipeline::GATEWAY_NO_HEADER)
        .cloned();
    println!(
        "  HTTP {} · receipt {} · ledger index {}",
        reply.status,
        gateway_no.as_deref().unwrap_or("-"),
        reply
            .headers
            .get(crate::gateway::intake::pipeline::LEDGER_INDEX_HEADER)
            .map(String::as_str)
            .unwrap_or("-")
    );
    let sample_no = gateway_no.clone();
    if let (Some(no), Some(gw)) = (gateway_no, lb.gateway()) {
        let mut shown = 0;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(rec)) = gw.store.get(&no) {
                for e in &rec.timeline[shown..] {
                    println!(
                        "  {:<10} ledger index {:<5} {}",
                        e.step,
                        e.ledger_index.map(|i| i.to_string()).unwrap_or("-".into()),
                        e.note.as_deref().unwrap_or("")
                    );
                }
                shown = rec.timeline.len();
                if matches!(rec.state, AppState::Delivered | AppState::Failed) {
                    println!(
                        "  {} is {:?}; legal deadline {} ({} working days from {})",
                        rec.gateway_no, rec.state, rec.deadline, rec.working_days, rec.accepted_on
                    );
                    break;
                }
            }
            if tokio::time::Instant::now() > deadline {
                println!("  (still in progress after 60 s)");
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    } else {
        println!("  refused: {}", String::from_utf8_lossy(&reply.body));
    }
    if sm2 {
        for v in lb.zj.verified() {
            println!(
                "  Zhejiang sandbox verified the gateway's RFC 9421 signature: alg={} keyid={}",
                v.alg, v.keyid
            );
        }
    }
    if let Some(ops) = lb.ops_addr() {
        print_cosigned_checkpoint(ops).await;
        println!("look at (operator listener, plain HTTP on loopback):");
        for path in [
            "/api/v1/applications",
            "/api/v1/ledger/checkpoint",
            "/api/v1/ledger/keys",
            "/metrics",
        ] {
            println!("  http://{ops}{path}");
        }
    }
    if let Some(web) = lb.web_addr {
        println!(
            "window clerks' page: https://localhost:{}/clerk/ (dev certificate: let the browser \
             proceed, or trust {})",
            web.port(),
            lb.pki.ca().display()
        );
        println!(
            "  sign in as {} ({}, {}) with the password {password} (made for this run; shown only here)",
            DEMO_CLERK.0, DEMO_CLERK.1, DEMO_OFFICE.0
        );
        let public = demo_public_url(web.port());
        println!(
            "applicants' status pages (web.public_url): {public}s/<number>-<tag>; every receipt \
             prints its link and QR code"
        );
        if let (Some(no), Some(key)) = (sample_no, lb.gateway().and_then(|gw| status_key(gw))) {
            println!("  the sample's: {}", web::status_link(&public, &key, &no));
        }
    }
    println!("running; press Ctrl-C to stop");
    shutdown.await;
    let witness_keys: String = lb
        .witnesses
        .iter()
        .map(|w| format!(" --witness '{}'", w.key))
        .collect();
    lb.stop().await;
    println!("stopped cleanly; audit the ledger offline with:");
    let gateway_dir = dir.join(DEMO_GATEWAY_DIR);

    let require_sm2 = if sm2 { " --require-sm2" } else { "" };
    println!(
        "  tongban --data-dir {0} audit export --with-documents bundle\n  tongban audit verify bundle{witness_keys} --min-witnesses 2{require_sm2}\n  tongban audit replay bundle",
        gateway_dir.display()
    );
    Ok(())
}
