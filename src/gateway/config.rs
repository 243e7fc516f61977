//! Configuration in two stages: [`ConfigFile`], the TOML as written (every field has a default
//! except what only the operator can know), then [`Config`], resolved and checked: addresses
//! parsed, certificates and keys read, URLs checked, the calendar loaded. Resolution collects
//! **every** problem before giving up, so an operator fixes a config in one round, and nothing
//! binds a port before it succeeds.
//!
//! Relative paths are relative to the directory of the configuration file.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ed25519_dalek::VerifyingKey;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;

use super::calendar::Calendar;
use super::outbox::RetryPolicy;
use super::transport::server::Limits;
use super::transport::tls::{self, ClientTimeouts, PartnerTrust};
use crate::codes::ItemKind;
// The longest partner key id accepted is the longest a ledger entry can record.
use crate::ledger::entry::MAX_SENDER_KEYID_LEN as MAX_KEYID_LEN;
use crate::model::{Lang, Uscc};
use crate::platform::Platform;
use crate::signing::CosignerKey;
use crate::web::{Account, Lockout, Office, WebConfig};

/// The platforms tongban has adapters for, with their province prefix (GB/T 2260 first two
/// digits): the key names the platform in configuration and URLs.
pub const KNOWN_PLATFORMS: [(&str, &str); 2] = [("zj", "33"), ("sh", "31")];

/// Default partner listener: loopback, so a fresh install exposes nothing by accident.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8443";

/// Default operator listener (`/healthz`, `/readyz`, `/metrics`), plain HTTP on loopback.
pub const DEFAULT_OPS_LISTEN: &str = "127.0.0.1:9464";

/// Legal time limit of food business licence items, in working days (食品经营许可).
pub const DEFAULT_FOOD_LICENCE_DAYS: u32 = 10;

/// Legal time limit of business registration items, in working days (营业执照).
pub const DEFAULT_BUSINESS_LICENCE_DAYS: u32 = 3;

/// The configuration file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Partner listener address (mutual TLS).
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Operator listener address (plain HTTP; keep it on loopback or a management network).
    #[serde(default = "default_ops_listen")]
    pub ops_listen: String,
    /// Where documents, the ledger and the outbox are stored.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// A holiday calendar file; the official 2026 calendar is built in.
    #[serde(default)]
    pub calendar: Option<PathBuf>,
    /// The gateway's own certificates.
    pub tls: TlsFile,
    /// One table per partner platform, keyed `zj` / `sh`.
    #[serde(default)]
    pub platforms: BTreeMap<String, PlatformFile>,
    /// Delivery retries.
    #[serde(default)]
    pub outbox: OutboxFile,
    /// Resource limits.
    #[serde(default)]
    pub limits: LimitsFile,
    /// Legal time limits per item.
    #[serde(default)]
    pub time_limits: TimeLimitsFile,
    /// The window clerks' page; without this table no page is served.
    #[serde(default)]
    pub web: Option<WebFile>,
    /// The witnesses that cosign the ledger's checkpoints; none without this table.
    #[serde(default)]
    pub witnesses: Option<WitnessesFile>,
    /// Where records, outbox and ledger are stored; the embedded store without this table.
    #[serde(default)]
    pub storage: crate::store::config::StorageFile,
}

/// `[witnesses]`: who cosigns the ledger's checkpoints (C2SP tlog-witness), and the policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessesFile {
    /// How many of the witnesses must cosign a checkpoint (k of n); default: all of them.
    #[serde(default)]
    pub quorum: Option<usize>,
    /// Seconds the newest checkpoint may lack the quorum before `/readyz` names it; 0 never.
    #[serde(default = "default_witness_not_ready_after_s")]
    pub not_ready_after_s: u64,
    /// One `[[witnesses.witness]]` per witness.
    #[serde(default)]
    pub witness: Vec<WitnessPeerFile>,
}

/// One witness.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessPeerFile {
    /// The witness's submission prefix, an https URL (`<url>/add-checkpoint` is posted to).
    pub url: String,
    /// Its cosigner key, `name+hexid+base64(0x04‖key)` (C2SP tlog-cosignature).
    pub key: String,
    /// PEM file of the CA its server certificate chains to.
    pub ca: PathBuf,
}

fn default_witness_not_ready_after_s() -> u64 {
    900
}

/// `[web]`: the window clerks' page, on its own HTTPS listener (server certificate `[tls]`,
/// no client certificates: window PCs have none; clerks sign in with a password).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebFile {
    /// Listener address for the clerks' browsers.
    #[serde(default = "default_web_listen")]
    pub listen: String,
    /// Where applicants reach this listener (`https://tongban.example.gov.cn/`): a
    /// receipt's QR code and short link are this followed by `s/<number>-<tag>`, the
    /// applicant's status page on this listener.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Retired (a prefix followed by the bare gateway number); kept only to say what
    /// replaced it.
    #[serde(default)]
    pub status_url: Option<String>,
    /// Reverse proxies in front of the listener (IP addresses): a request from one of them
    /// is counted (rate limit, lock-out) against the client its `X-Forwarded-For` names.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// `[[web.accounts]]`, one per clerk.
    #[serde(default)]
    pub accounts: Vec<AccountFile>,
}

/// `[[web.accounts]]`: one window clerk.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountFile {
    /// Sign-in name.
    pub username: String,
    /// 受理人 name, recorded on applications the clerk accepts and hands over.
    pub display_name: String,
    /// Argon2 PHC string, from `tongban web hash-password`.
    pub password_hash: String,
    /// 受理机构统一社会信用代码 of the clerk's office.
    pub office_uscc: String,
    /// 受理机构名称, as printed on receipts.
    pub office_name: String,
    /// The office's province platform (`zj`, `sh`): submissions go in its format, from it.
    pub platform: String,
}

/// Default clerks' page listener: loopback, like the others, so nothing is exposed by
/// accident; the port beside the partner listener's.
pub const DEFAULT_WEB_LISTEN: &str = "127.0.0.1:8444";

/// `[tls]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFile {
    /// Certificate chain the gateway presents to partners (PEM).
    pub cert: PathBuf,
    /// Its private key (PEM).
    pub key: PathBuf,
    /// Client certificate presented when calling partners; defaults to `cert`.
    #[serde(default)]
    pub client_cert: Option<PathBuf>,
    /// Its key; defaults to `key`.
    #[serde(default)]
    pub client_key: Option<PathBuf>,
}

/// `[platforms.<key>]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformFile {
    /// The platform's base URL (https), e.g. `https://kstb.zj.example`.
    pub base_url: String,
    /// CA that issues the platform's client certificates (PEM).
    pub client_ca: PathBuf,
    /// The DNS/URI SAN its client certificate must carry.
    pub client_identity: String,
    /// CA that issued the platform's server certificate; defaults to `client_ca`.
    #[serde(default)]
    pub server_ca: Option<PathBuf>,
    /// Province prefix of applications this platform may submit; defaults by key.
    #[serde(default)]
    pub province: Option<String>,
    /// GB/T 2260 prefixes (2, 4 or 6 digits) of target regions routed to this platform;
    /// defaults to the province.
    #[serde(default)]
    pub regions: Option<Vec<String>>,
    /// Public keys by RFC 9421 `keyid`, with which the platform signs what it sends: an
    /// Ed25519 key is standard base64 of its 32 raw bytes, an SM2 key of its 65-byte
    /// uncompressed point `0x04 ‖ x ‖ y` (or 33-byte compressed). A signed request is then
    /// verified, refused if the signature fails, and the key id and algorithm recorded in
    /// the ledger.
    #[serde(default)]
    pub signing_keys: BTreeMap<String, String>,
    /// The GM/T 0009 distinguishing ID of the platform's SM2 keys (default
    /// `1234567812345678`).
    #[serde(default)]
    pub sm2_distinguishing_id: Option<String>,
    /// What the gateway signs its messages to this platform with (forwarded documents and
    /// the replies to its requests): `ed25519` (default), `sm2` or `both` (two signatures,
    /// Ed25519 labelled `tongban` and SM2 labelled `tongban-sm2`). `sm2` and `both` need
    /// the keyring's SM2 key (`tongban keys generate --alg sm2`).
    #[serde(default)]
    pub signatures: super::transport::httpsig::SignWith,
    /// Refuse unsigned applications and decisions from this platform (needs `signing_keys`).
    #[serde(default)]
    pub require_signature: bool,
    /// The language of the gateway's `msg` / `<Message>` to this platform: `zh` (the
    /// default: both platforms' staff read Chinese) or `en`.
    #[serde(default)]
    pub language: Lang,
}

/// `[outbox]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxFile {
    /// First retry delay, ms.
    pub initial_backoff_ms: u64,
    /// Largest retry delay, ms.
    pub max_backoff_ms: u64,
    /// Growth per attempt.
    pub multiplier: f64,
    /// Random fraction of each delay, 0..=1.
    pub jitter: f64,
    /// Give up (failed, source told) this long after acceptance, s.
    pub give_up_after_s: u64,
    /// Deliveries in flight at once.
    pub concurrency: usize,
}

impl Default for OutboxFile {
    fn default() -> Self {
        let p = RetryPolicy::default();
        Self {
            initial_backoff_ms: p.initial.as_millis() as u64,
            max_backoff_ms: p.max.as_millis() as u64,
            multiplier: p.multiplier,
            jitter: p.jitter,
            give_up_after_s: p.give_up_after.as_secs(),
            concurrency: DEFAULT_CONCURRENCY,
        }
    }
}

/// Deliveries in flight at once by default: enough to keep two partners' connection pools
/// busy while one is slow, small enough not to flood a recovering partner.
pub const DEFAULT_CONCURRENCY: usize = 32;

/// `[limits]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsFile {
    /// Connections served at once.
    pub max_connections: usize,
    /// TLS handshake time limit, ms.
    pub handshake_timeout_ms: u64,
    /// Header read time limit, ms.
    pub header_read_timeout_ms: u64,
    /// Request time limit, ms.
    pub request_timeout_ms: u64,
    /// Largest request body, bytes.
    pub max_body_bytes: usize,
    /// Time limit to receive a body on a platform's endpoint, ms (below `request_timeout_ms`).
    pub body_timeout_ms: u64,
    /// Documents of one partner platform parsed, validated, translated and signature-checked
    /// at once (default: the machine's cores).
    pub intake_concurrency: usize,
    /// Shutdown grace period, ms.
    pub grace_period_ms: u64,
    /// Outgoing connect + handshake time limit, ms.
    pub outgoing_connect_timeout_ms: u64,
    /// Outgoing request time limit, ms.
    pub outgoing_request_timeout_ms: u64,
}

impl Default for LimitsFile {
    fn default() -> Self {
        let l = Limits::default();
        Self {
            max_connections: l.max_connections,
            handshake_timeout_ms: l.handshake_timeout.as_millis() as u64,
            header_read_timeout_ms: l.header_read_timeout.as_millis() as u64,
            request_timeout_ms: l.request_timeout.as_millis() as u64,
            max_body_bytes: l.max_body_bytes,
            body_timeout_ms: l.body_timeout.as_millis() as u64,
            intake_concurrency: l.intake_concurrency,
            grace_period_ms: l.grace.as_millis() as u64,
            outgoing_connect_timeout_ms: DEFAULT_OUTGOING_CONNECT_MS,
            outgoing_request_timeout_ms: DEFAULT_OUTGOING_REQUEST_MS,
        }
    }
}

/// Outgoing connect + handshake limit: a partner that cannot finish a handshake in 5 s is down
/// for our purposes; the outbox retries.
pub const DEFAULT_OUTGOING_CONNECT_MS: u64 = 5_000;

/// Outgoing request limit: partners answer synchronously with a receipt; 30 s covers a slow
/// one without holding a delivery slot for minutes.
pub const DEFAULT_OUTGOING_REQUEST_MS: u64 = 30_000;

/// `[time_limits]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimeLimitsFile {
    /// Working days for food business licence items.
    pub food_business_licence: u32,
    /// Working days for business registration items.
    pub business_licence: u32,
    /// Overrides per item code.
    pub items: BTreeMap<String, u32>,
}

impl Default for TimeLimitsFile {
    fn default() -> Self {
        Self {
            food_business_licence: DEFAULT_FOOD_LICENCE_DAYS,
            business_licence: DEFAULT_BUSINESS_LICENCE_DAYS,
            items: BTreeMap::new(),
        }
    }
}

fn default_listen() -> String {
    DEFAULT_LISTEN.into()
}
fn default_ops_listen() -> String {
    DEFAULT_OPS_LISTEN.into()
}
fn default_web_listen() -> String {
    DEFAULT_WEB_LISTEN.into()
}
fn default_data_dir() -> PathBuf {
    PathBuf::from("data")
}

/// Legal time limits, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeLimits {
    food: u32,
    business: u32,
    items: BTreeMap<String, u32>,
}

impl TimeLimits {
    /// Working days allowed for `item` (its canonical key, e.g. `food-new`), falling back to
    /// its kind's default.
    pub fn working_days(&self, item: &str, kind: ItemKind) -> u32 {
        self.items.get(item).copied().unwrap_or(match kind {
            ItemKind::Food => self.food,
            ItemKind::Registration => self.business,
        })
    }
}

impl Default for TimeLimits {
    fn default() -> Self {
        Self {
            food: DEFAULT_FOOD_LICENCE_DAYS,
            business: DEFAULT_BUSINESS_LICENCE_DAYS,
            items: BTreeMap::new(),
        }
    }
}

/// One partner platform, resolved.
#[derive(Debug, Clone)]
pub struct PlatformConfig {
    /// `zj` or `sh`.
    pub key: String,
    /// Base URL, without a trailing slash.
    pub base_url: String,
    /// What identifies the platform when it calls us.
    pub trust: PartnerTrust,
    /// CA of the platform's server certificate, for our calls to it.
    pub server_ca: Vec<CertificateDer<'static>>,
    /// Its province prefix.
    pub province: String,
    /// Target-region prefixes routed to it.
    pub regions: Vec<String>,
    /// The keys it signs what it sends with, by key id.
    pub signing_keys: BTreeMap<String, super::transport::httpsig::PublicKey>,
    /// Whether what it sends must be signed.
    pub require_signature: bool,
    /// The language of our `msg` / `<Message>` to it.
    pub language: Lang,
    /// What the gateway signs its messages to it with.
    pub signatures: super::transport::httpsig::SignWith,
}

/// The gateway's own certificate chain and key (the key is not printable).
#[derive(Clone)]
pub struct Identity {
    /// Certificate chain, end entity first.
    pub chain: Vec<CertificateDer<'static>>,
    /// Private key.
    pub key: std::sync::Arc<PrivateKeyDer<'static>>,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Identity({} certs, key redacted)", self.chain.len())
    }
}

/// The resolved, checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Partner listener.
    pub listen: SocketAddr,
    /// Operator listener.
    pub ops_listen: SocketAddr,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Certificate presented to partners.
    pub server: Identity,
    /// Certificate presented when calling partners.
    pub client: Identity,
    /// Partner platforms, in key order.
    pub platforms: Vec<PlatformConfig>,
    /// Retry schedule.
    pub retry: RetryPolicy,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// Listener limits.
    pub limits: Limits,
    /// Outgoing client time limits.
    pub outgoing: ClientTimeouts,
    /// Legal time limits.
    pub time_limits: TimeLimits,
    /// Working-day calendar.
    pub calendar: Calendar,
    /// The window clerks' page, when configured.
    pub web: Option<WebSettings>,
    /// The witnesses, when configured.
    pub witnesses: Option<WitnessSettings>,
    /// Where records, outbox and ledger are stored.
    pub storage: crate::store::config::Storage,
}

/// The witnesses and their policy, resolved.
#[derive(Debug, Clone)]
pub struct WitnessSettings {
    /// Cosignatures a checkpoint needs (k of n).
    pub quorum: usize,
    /// How long the quorum may go unmet before readiness names it; `None`: never.
    pub not_ready_after: Option<Duration>,
    /// The witnesses.
    pub witnesses: Vec<WitnessPeer>,
}

/// One witness, resolved.
#[derive(Debug, Clone)]
pub struct WitnessPeer {
    /// Submission prefix.
    pub url: String,
    /// Its cosigner key.
    pub key: CosignerKey,
    /// The CA its server certificate chains to.
    pub server_ca: Vec<CertificateDer<'static>>,
}

/// The window clerks' page, resolved.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// Where browsers connect (HTTPS with the gateway's server certificate).
    pub listen: SocketAddr,
    /// Accounts, cookies, lock-out and the receipts' status link.
    pub page: WebConfig,
}

/// Every problem found in a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<String>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} problem(s) in the configuration:", self.0.len())?;
        for p in &self.0 {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl Config {
    /// Reads and resolves the configuration file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigErrors(vec![format!("{}: {e}", path.display())]))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::from_toml(&text, base)
    }

    /// Parses and resolves configuration text; relative paths are taken from `base`.
    pub fn from_toml(text: &str, base: &Path) -> Result<Config, ConfigErrors> {
        let file: ConfigFile = toml::from_str(text)
            .map_err(|e| ConfigErrors(vec![format!("not valid configuration: {e}")]))?;
        file.resolve(base)
    }
}

impl ConfigFile {
    /// Resolves and checks everything, collecting every problem.
    pub fn resolve(&self, base: &Path) -> Result<Config, ConfigErrors> {
        let mut p = Problems(Vec::new());
        let abs = |path: &Path| {
            if path.is_absolute() {
                path.to_owned()
            } else {
                base.join(path)
            }
        };

        let listen = p.addr("listen", &self.listen);
        let ops_listen = p.addr("ops_listen", &self.ops_listen);
        if let (Some(a), Some(b)) = (listen, ops_listen) {
            if a == b && a.port() != 0 {
                p.push(format!("listen and ops_listen are both {a}"));
            }
        }
        let identities = self.tls.resolve(&mut p, &abs);
        let platforms = resolve_platforms(&self.platforms, &mut p, &abs);
        let retry = self.outbox.resolve(&mut p);
        let (limits, outgoing) = self.limits.resolve(&mut p);
        let time_limits = self.time_limits.resolve(&mut p);
        let calendar = resolve_calendar(self.calendar.as_deref(), &mut p, &abs);
        let web = self
            .web
            .as_ref()
            .and_then(|w| w.resolve(&mut p, [listen, ops_listen]));
        let witnesses = self
            .witnesses
            .as_ref()
            .and_then(|w| w.resolve(&mut p, &abs));
        let storage = self.storage.resolve(
            &mut p.0,
            &abs,
            outgoing.connect.saturating_add(outgoing.request),
            &self.listen,
        );

        if !p.0.is_empty() {
            return Err(ConfigErrors(p.0));
        }
        let (Some(listen), Some(ops_listen), Some((server, client)), Some(calendar), Some(storage)) =
            (listen, ops_listen, identities, calendar, storage)
        else {
            return Err(ConfigErrors(vec!["incomplete configuration".into()]));
        };
        Ok(Config {
            listen,
            ops_listen,
            data_dir: abs(&self.data_dir),
            server,
            client,
            platforms,
            retry,
            concurrency: self.outbox.concurrency,
            limits,
            outgoing,
            time_limits,
            calendar,
            web,
            witnesses,
            storage,
        })
    }
}

impl TlsFile {
    /// The server's identity and the client identity it presents to the platforms (the
    /// server's unless configured apart), when every file reads.
    fn resolve(
        &self,
        p: &mut Problems,
        abs: &dyn Fn(&Path) -> PathBuf,
    ) -> Option<(Identity, Identity)> {
        let server_chain = p.certs("tls.cert", &abs(&self.cert));
        let server_key = p.key("tls.key", &abs(&self.key));
        let client_chain = match &self.client_cert {
            Some(c) => p.certs("tls.client_cert", &abs(c)),
            None => server_chain.clone(),
        };
        let client_key = match &self.client_key {
            Some(k) => p.key("tls.client_key", &abs(k)),
            None => server_key.as_ref().map(|k| k.clone_key()),
        };
        let identity = |chain, key| Identity {
            chain,
            key: std::sync::Arc::new(key),
        };
        Some((
            identity(server_chain?, server_key?),
            identity(client_chain?, client_key?),
        ))
    }
}

/// Resolves `[platforms.*]`: every known platform present, each one's settings, and the
/// regions routed to them claimed once and never nested across platforms.
fn resolve_platforms(
    files: &BTreeMap<String, PlatformFile>,
    p: &mut Problems,
    abs: &dyn Fn(&Path) -> PathBuf,
) -> Vec<PlatformConfig> {
    for (key, _) in KNOWN_PLATFORMS {
        if !files.contains_key(key) {
            p.push(format!("[platforms.{key}] is missing"));
        }
    }
    let mut platforms = Vec::new();
    let mut claimed: BTreeMap<String, String> = BTreeMap::new();
    for (key, pf) in files {
        let Some((_, default_province)) = KNOWN_PLATFORMS.iter().find(|(k, _)| k == key) else {
            p.push(format!(
                "[platforms.{key}]: unknown platform (known: {})",
                KNOWN_PLATFORMS.map(|(k, _)| k).join(", ")
            ));
            continue;
        };
        if let Some(platform) = pf.resolve(key, default_province, &mut claimed, p, abs) {
            platforms.push(platform);
        }
    }
    // Nested prefixes across platforms (e.g. "33" and "3304") make routing ambiguous.
    let all: Vec<(&String, &String)> = claimed.iter().collect();
    for (i, (a, ka)) in all.iter().enumerate() {
        for (b, kb) in &all[i + 1..] {
            if ka != kb && (b.starts_with(a.as_str()) || a.starts_with(b.as_str())) {
                p.push(format!(
                    "regions {a} ({ka}) and {b} ({kb}) overlap; routing would be ambiguous"
                ));
            }
        }
    }
    platforms
}

impl PlatformFile {
    /// Resolves `[platforms.<key>]`, claiming its regions in `claimed` (region → platform).
    fn resolve(
        &self,
        key: &str,
        default_province: &str,
        claimed: &mut BTreeMap<String, String>,
        p: &mut Problems,
        abs: &dyn Fn(&Path) -> PathBuf,
    ) -> Option<PlatformConfig> {
        let at = format!("platforms.{key}");
        let base_url = self.base_url.trim_end_matches('/').to_owned();
        match base_url.parse::<http::Uri>() {
            Ok(u) if u.scheme_str() == Some("https") && u.host().is_some() => {}
            Ok(_) => p.push(format!("{at}.base_url: {base_url} is not an https URL")),
            Err(e) => p.push(format!("{at}.base_url: {e}")),
        }
        let client_ca = p.certs(&format!("{at}.client_ca"), &abs(&self.client_ca));
        let server_ca = match &self.server_ca {
            Some(ca) => p.certs(&format!("{at}.server_ca"), &abs(ca)),
            None => client_ca.clone(),
        };
        if self.client_identity.trim().is_empty() {
            p.push(format!("{at}.client_identity is empty"));
        }
        let province = self
            .province
            .clone()
            .unwrap_or_else(|| default_province.to_owned());
        if !(province.len() == 2 && province.bytes().all(|b| b.is_ascii_digit())) {
            p.push(format!("{at}.province: {province} is not two digits"));
        }
        let regions = self
            .regions
            .clone()
            .unwrap_or_else(|| vec![province.clone()]);
        if regions.is_empty() {
            p.push(format!("{at}.regions is empty"));
        }
        for r in &regions {
            if !(matches!(r.len(), 2 | 4 | 6) && r.bytes().all(|b| b.is_ascii_digit())) {
                p.push(format!("{at}.regions: {r} is not a 2, 4 or 6 digit prefix"));
            } else if let Some(other) = claimed.insert(r.clone(), key.to_owned()) {
                p.push(format!("{at}.regions: {r} is also routed to {other}"));
            }
        }
        let distid = self
            .sm2_distinguishing_id
            .as_deref()
            .unwrap_or(crate::signing::sm2::DEFAULT_DISTINGUISHING_ID);
        if distid.is_empty() || distid.len() > crate::signing::sm2::MAX_DISTINGUISHING_ID_LEN {
            p.push(format!(
                "{at}.sm2_distinguishing_id: must be 1 to {} bytes",
                crate::signing::sm2::MAX_DISTINGUISHING_ID_LEN
            ));
        }
        let signing_keys = signing_keys(&at, &self.signing_keys, distid, p);
        if self.require_signature && self.signing_keys.is_empty() {
            p.push(format!(
                "{at}.require_signature is true but {at}.signing_keys is empty"
            ));
        }
        Some(PlatformConfig {
            key: key.to_owned(),
            base_url,
            trust: PartnerTrust {
                key: key.to_owned(),
                ca: client_ca?,
                identity: self.client_identity.trim().to_owned(),
            },
            server_ca: server_ca?,
            province,
            regions,
            signing_keys,
            require_signature: self.require_signature,
            language: self.language,
            signatures: self.signatures,
        })
    }
}

impl OutboxFile {
    /// Resolves `[outbox]` into the retry policy.
    fn resolve(&self, p: &mut Problems) -> RetryPolicy {
        if self.initial_backoff_ms == 0 {
            p.push("outbox.initial_backoff_ms must be positive".into());
        }
        if self.max_backoff_ms < self.initial_backoff_ms {
            p.push("outbox.max_backoff_ms is below outbox.initial_backoff_ms".into());
        }
        if !(self.multiplier.is_finite() && self.multiplier >= 1.0) {
            p.push("outbox.multiplier must be at least 1".into());
        }
        if !(0.0..=1.0).contains(&self.jitter) {
            p.push("outbox.jitter must be between 0 and 1".into());
        }
        if self.give_up_after_s == 0 {
            p.push("outbox.give_up_after_s must be positive".into());
        }
        if self.concurrency == 0 {
            p.push("outbox.concurrency must be positive".into());
        }
        RetryPolicy {
            initial: Duration::from_millis(self.initial_backoff_ms),
            max: Duration::from_millis(self.max_backoff_ms),
            multiplier: self.multiplier,
            jitter: self.jitter,
            give_up_after: Duration::from_secs(self.give_up_after_s),
        }
    }
}

impl LimitsFile {
    /// Resolves `[limits]`: the listeners' limits and the outgoing requests' time limits.
    fn resolve(&self, p: &mut Problems) -> (Limits, ClientTimeouts) {
        for (name, v) in [
            ("max_connections", self.max_connections as u64),
            ("handshake_timeout_ms", self.handshake_timeout_ms),
            ("header_read_timeout_ms", self.header_read_timeout_ms),
            ("request_timeout_ms", self.request_timeout_ms),
            ("max_body_bytes", self.max_body_bytes as u64),
            ("body_timeout_ms", self.body_timeout_ms),
            ("intake_concurrency", self.intake_concurrency as u64),
            (
                "outgoing_connect_timeout_ms",
                self.outgoing_connect_timeout_ms,
            ),
            (
                "outgoing_request_timeout_ms",
                self.outgoing_request_timeout_ms,
            ),
        ] {
            if v == 0 {
                p.push(format!("limits.{name} must be positive"));
            }
        }
        if self.body_timeout_ms >= self.request_timeout_ms {
            p.push("limits.body_timeout_ms must be below limits.request_timeout_ms".into());
        }
        let limits = Limits {
            max_connections: self.max_connections,
            handshake_timeout: Duration::from_millis(self.handshake_timeout_ms),
            header_read_timeout: Duration::from_millis(self.header_read_timeout_ms),
            request_timeout: Duration::from_millis(self.request_timeout_ms),
            max_body_bytes: self.max_body_bytes,
            body_timeout: Duration::from_millis(self.body_timeout_ms),
            intake_concurrency: self.intake_concurrency,
            grace: Duration::from_millis(self.grace_period_ms),
        };
        let outgoing = ClientTimeouts {
            connect: Duration::from_millis(self.outgoing_connect_timeout_ms),
            request: Duration::from_millis(self.outgoing_request_timeout_ms),
        };
        (limits, outgoing)
    }
}

impl TimeLimitsFile {
    /// Resolves `[time_limits]`: every legal time limit at least a day.
    fn resolve(&self, p: &mut Problems) -> TimeLimits {
        if self.food_business_licence == 0 {
            p.push("time_limits.food_business_licence must be at least 1 day".into());
        }
        if self.business_licence == 0 {
            p.push("time_limits.business_licence must be at least 1 day".into());
        }
        for (item, days) in &self.items {
            if *days == 0 {
                p.push(format!("time_limits.items.{item} must be at least 1 day"));
            }
        }
        TimeLimits {
            food: self.food_business_licence,
            business: self.business_licence,
            items: self.items.clone(),
        }
    }
}

/// The working-day calendar: the official 2026 one, or the file `calendar` names.
fn resolve_calendar(
    path: Option<&Path>,
    p: &mut Problems,
    abs: &dyn Fn(&Path) -> PathBuf,
) -> Option<Calendar> {
    let Some(path) = path else {
        return Some(Calendar::official_2026());
    };
    let path = abs(path);
    let parsed = std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|text| Calendar::parse(&text).map_err(|e| e.to_string()));
    parsed
        .map_err(|e| p.push(format!("calendar {}: {e}", path.display())))
        .ok()
}

impl WitnessesFile {
    /// Resolves `[witnesses]`, reporting every problem into `p`.
    fn resolve(&self, p: &mut Problems, abs: &dyn Fn(&Path) -> PathBuf) -> Option<WitnessSettings> {
        let n = self.witness.len();
        let quorum = self.quorum.unwrap_or(n);
        if n == 0 {
            p.push("[witnesses] lists no [[witnesses.witness]]".into());
        }
        if quorum == 0 || quorum > n {
            p.push(format!(
                "witnesses.quorum must be between 1 and the {n} witnesses listed"
            ));
        }
        let mut witnesses = Vec::new();
        for (i, w) in self.witness.iter().enumerate() {
            let at = format!("witnesses.witness[{i}]");
            let url = w.url.trim_end_matches('/').to_owned();
            match url.parse::<http::Uri>() {
                Ok(u) if u.scheme_str() == Some("https") && u.host().is_some() => {}
                Ok(_) => p.push(format!("{at}.url: {url} is not an https URL")),
                Err(e) => p.push(format!("{at}.url: {e}")),
            }
            let key = match CosignerKey::parse(w.key.trim()) {
                Ok(k) => Some(k),
                Err(e) => {
                    p.push(format!("{at}.key: {e}"));
                    None
                }
            };
            if let Some(k) = &key {
                if witnesses
                    .iter()
                    .any(|o: &WitnessPeer| o.key.name() == k.name())
                {
                    p.push(format!(
                        "{at}.key: the witness {} is listed twice",
                        k.name()
                    ));
                }
            }
            let server_ca = p.certs(&format!("{at}.ca"), &abs(&w.ca));
            if let (Some(key), Some(server_ca)) = (key, server_ca) {
                witnesses.push(WitnessPeer {
                    url,
                    key,
                    server_ca,
                });
            }
        }
        Some(WitnessSettings {
            quorum,
            not_ready_after: (self.not_ready_after_s > 0)
                .then(|| Duration::from_secs(self.not_ready_after_s)),
            witnesses,
        })
    }
}

impl WebFile {
    /// Resolves `[web]`, reporting every problem into `p`; `taken` are the other listeners.
    fn resolve(&self, p: &mut Problems, taken: [Option<SocketAddr>; 2]) -> Option<WebSettings> {
        let listen = p.addr("web.listen", &self.listen);
        if let Some(a) = listen {
            if a.port() != 0 && taken.contains(&Some(a)) {
                p.push(format!(
                    "web.listen {a} is already another listener's address"
                ));
            }
        }
        if let Some(old) = &self.status_url {
            p.push(format!(
                "web.status_url ({old}) is replaced by web.public_url: the address applicants reach this listener at, e.g. public_url = \"https://tongban.example.gov.cn/\"; receipts now link to <public_url>/s/<number>-<tag>, the applicant's status page on this listener"
            ));
        }
        let public_url = self.public_url.clone().unwrap_or_default();
        match &self.public_url {
            None if self.status_url.is_none() => p.push(
                "web.public_url is missing: the address applicants reach this listener at (receipts' QR codes and links), e.g. public_url = \"https://tongban.example.gov.cn/\"".into(),
            ),
            Some(u) if !crate::web::is_public_url(u) => p.push(format!(
                "web.public_url: {u} is not an http(s) URL with a host (and no query or fragment)"
            )),
            _ => {}
        }
        let mut trusted_proxies = Vec::new();
        for (i, a) in self.trusted_proxies.iter().enumerate() {
            match a.trim().parse::<std::net::IpAddr>() {
                Ok(ip) => trusted_proxies.push(ip),
                Err(_) => p.push(format!(
                    "web.trusted_proxies[{i}]: {a} is not an IP address"
                )),
            }
        }
        if self.accounts.is_empty() {
            p.push("web.accounts is empty: nobody could sign in".into());
        }
        let mut accounts = Vec::new();
        for (i, a) in self.accounts.iter().enumerate() {
            let at = format!("web.accounts[{i}] ({})", a.username);
            let platform = match a.platform.parse::<Platform>() {
                Ok(pl) => Some(pl),
                Err(_) => {
                    p.push(format!(
                        "{at}.platform: {} is not a platform (known: {})",
                        a.platform,
                        KNOWN_PLATFORMS.map(|(k, _)| k).join(", ")
                    ));
                    None
                }
            };
            let uscc = match Uscc::parse(a.office_uscc.trim()) {
                Ok(u) => Some(u),
                Err(e) => {
                    p.push(format!("{at}.office_uscc: {e}"));
                    None
                }
            };
            if a.office_name.trim().is_empty() {
                p.push(format!("{at}.office_name is empty"));
            }
            if a.username.trim().is_empty() || a.display_name.trim().is_empty() {
                p.push(format!("{at}: username and display_name must not be empty"));
            }
            if !crate::web::is_argon2_phc(a.password_hash.trim()) {
                p.push(format!(
                    "{at}.password_hash: not an argon2 PHC string ($argon2id$…); make one with `tongban web hash-password`"
                ));
            }
            let (Some(platform), Some(uscc)) = (platform, uscc) else {
                continue;
            };
            // The pipeline accepts from a platform only applications accepted in its
            // province (the office USCC's registration division); say so now, not at every
            // submission.
            let province = &uscc.as_str()[2..4];
            if province != format!("{}", platform.province()) {
                p.push(format!(
                    "{at}.office_uscc: {} is registered in province {province}, not in the {} platform's ({}); every application this clerk accepts would be refused",
                    uscc.as_str(),
                    platform.key(),
                    platform.province()
                ));
            }
            accounts.push(Account {
                username: a.username.clone(),
                display_name: a.display_name.trim().to_owned(),
                password_hash: a.password_hash.trim().to_owned(),
                office: Office {
                    name: a.office_name.trim().to_owned(),
                    uscc,
                    platform,
                },
            });
        }
        let page = WebConfig {
            accounts,
            secure_cookies: true,
            lockout: Lockout::default(),
            session_idle: WebConfig::DEFAULT_SESSION_IDLE,
            public_url,
            trusted_proxies,
        };
        if let Err(errors) = page.check() {
            // Names and hashes were checked above, with the account's place in the file.
            for e in errors.iter().filter(|e| {
                !matches!(
                    e,
                    crate::web::ConfigError::EmptyName(_)
                        | crate::web::ConfigError::Hash(_)
                        | crate::web::ConfigError::PublicUrl(_)
                )
            }) {
                p.push(format!("web: {e}"));
            }
        }
        Some(WebSettings {
            listen: listen?,
            page,
        })
    }
}

impl Config {
    /// The platform configured under `key`.
    pub fn platform(&self, key: &str) -> Option<&PlatformConfig> {
        self.platforms.iter().find(|p| p.key == key)
    }

    /// The language of the gateway's `msg` / `<Message>` to `p` (Chinese unless configured).
    pub fn language(&self, p: Platform) -> Lang {
        self.platform(p.key()).map_or(Lang::Zh, |c| c.language)
    }

    /// Every certificate the gateway relies on, named by its setting, with the end of its
    /// validity (Unix seconds): its own chains and each partner's CAs.
    pub fn certificate_expiries(&self) -> Vec<(String, i64)> {
        let mut out = Vec::new();
        let mut add = |what: String, chain: &[CertificateDer<'static>]| {
            for (i, der) in chain.iter().enumerate() {
                if let Some(t) = tls::not_after(der) {
                    let name = if chain.len() > 1 {
                        format!("{what}[{i}]")
                    } else {
                        what.clone()
                    };
                    out.push((name, t));
                }
            }
        };
        add("tls.cert".into(), &self.server.chain);
        add("tls.client_cert".into(), &self.client.chain);
        for p in &self.platforms {
            add(format!("platforms.{}.client_ca", p.key), &p.trust.ca);
            add(format!("platforms.{}.server_ca", p.key), &p.server_ca);
        }
        out
    }

    /// The platform that decides applications targeting `region` (a 6-digit GB/T 2260 code):
    /// the one with the longest matching region prefix.
    pub fn route(&self, region: &str) -> Option<&PlatformConfig> {
        self.platforms
            .iter()
            .flat_map(|p| p.regions.iter().map(move |r| (r, p)))
            .filter(|(r, _)| region.starts_with(r.as_str()))
            .max_by_key(|(r, _)| r.len())
            .map(|(_, p)| p)
    }
}

struct Problems(Vec<String>);

/// A platform's `signing_keys`, checked: each key id a non-empty printable ASCII string (it
/// travels in a structured-field string), each key standard base64 of 32 bytes that are an
/// Ed25519 public key, or of 65 (or 33) bytes that are a point on the SM2 curve.
fn signing_keys(
    at: &str,
    keys: &BTreeMap<String, String>,
    sm2_distid: &str,
    p: &mut Problems,
) -> BTreeMap<String, super::transport::httpsig::PublicKey> {
    use base64::Engine as _;
    let mut out = BTreeMap::new();
    for (id, b64) in keys {
        let here = format!("{at}.signing_keys.{id:?}");
        let printable = id
            .bytes()
            .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\');
        if id.is_empty() || id.len() > MAX_KEYID_LEN || !printable {
            p.push(format!(
                "{here}: a key id is 1 to {MAX_KEYID_LEN} printable ASCII characters without quotes or backslashes"
            ));
            continue;
        }
        let bytes = match base64::engine::general_purpose::STANDARD.decode(b64.trim()) {
            Ok(b) => b,
            Err(e) => {
                p.push(format!("{here}: not base64 ({e})"));
                continue;
            }
        };
        if matches!(bytes.len(), 65 | 33) {
            match crate::signing::Sm2VerifyingKey::from_sec1(sm2_distid, &bytes) {
                Some(k) => {
                    out.insert(id.clone(), k.into());
                }
                None => p.push(format!(
                    "{here}: not an SM2 public key (a point on the SM2 curve, 0x04 ‖ x ‖ y)"
                )),
            }
            continue;
        }
        let Ok(raw) = <[u8; 32]>::try_from(bytes.as_slice()) else {
            p.push(format!(
                "{here}: an Ed25519 public key is 32 bytes, an SM2 public key 65 (0x04 ‖ x ‖ y); this is {}",
                bytes.len()
            ));
            continue;
        };
        match VerifyingKey::from_bytes(&raw) {
            Ok(k) => {
                out.insert(id.clone(), k.into());
            }
            Err(_) => p.push(format!("{here}: not an Ed25519 public key")),
        }
    }
    out
}

impl Problems {
    fn push(&mut self, s: String) {
        self.0.push(s);
    }

    fn addr(&mut self, name: &str, v: &str) -> Option<SocketAddr> {
        match v.parse() {
            Ok(a) => Some(a),
            Err(_) => {
                self.push(format!("{name}: {v} is not an address like 127.0.0.1:8443"));
                None
            }
        }
    }

    fn read(&mut self, name: &str, path: &Path) -> Option<Vec<u8>> {
        match std::fs::read(path) {
            Ok(b) => Some(b),
            Err(e) => {
                self.push(format!("{name}: {}: {e}", path.display()));
                None
            }
        }
    }

    fn certs(&mut self, name: &str, path: &Path) -> Option<Vec<CertificateDer<'static>>> {
        let bytes = self.read(name, path)?;
        match tls::certs_from_pem(&bytes, &format!("{name} ({})", path.display())) {
            Ok(c) => Some(c),
            Err(e) => {
                self.push(e.to_string());
                None
            }
        }
    }

    fn key(&mut self, name: &str, path: &Path) -> Option<PrivateKeyDer<'static>> {
        let bytes = self.read(name, path)?;
        match tls::key_from_pem(&bytes, &format!("{name} ({})", path.display())) {
            Ok(k) => Some(k),
            Err(e) => {
                self.push(e.to_string());
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::transport::tls::generate_dev_pki;

    fn good(dir: &Path) -> String {
        generate_dev_pki(&dir.join("pki")).unwrap();
        r#"
            listen = "127.0.0.1:0"
            ops_listen = "127.0.0.1:0"
            [tls]
            cert = "pki/gateway.pem"
            key = "pki/gateway.key"
            [platforms.zj]
            base_url = "https://localhost:9001/"
            client_ca = "pki/ca.pem"
            client_identity = "zj-platform.tongban.test"
            [platforms.sh]
            base_url = "https://localhost:9002"
            client_ca = "pki/ca.pem"
            client_identity = "sh-platform.tongban.test"
            regions = ["31", "320509"]
        "#
        .to_owned()
    }

    #[test]
    fn a_minimal_file_resolves_with_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = Config::from_toml(&good(dir.path()), dir.path()).unwrap();
        assert_eq!(cfg.data_dir, dir.path().join("data"));
        assert_eq!(cfg.platforms.len(), 2);
        let zj = cfg.platform("zj").unwrap();
        assert_eq!(zj.base_url, "https://localhost:9001");
        assert_eq!(
            (zj.province.as_str(), zj.regions.clone()),
            ("33", vec!["33".to_owned()])
        );
        assert_eq!(cfg.retry, RetryPolicy::default());
        assert_eq!(cfg.limits, Limits::default());
        assert_eq!(cfg.time_limits.working_days("food-new", ItemKind::Food), 10);
        assert_eq!(cfg.time_limits.working_days("x", ItemKind::Registration), 3);
        assert!(cfg.calendar.covers(2026));
        assert!(!format!("{:?}", cfg.server).contains("PRIVATE"));
    }

    #[test]
    fn routing_takes_the_longest_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = Config::from_toml(&good(dir.path()), dir.path()).unwrap();
        assert_eq!(cfg.route("310116").unwrap().key, "sh");
        assert_eq!(cfg.route("330482").unwrap().key, "zj");
        assert_eq!(cfg.route("320509").unwrap().key, "sh");
        assert!(cfg.route("320506").is_none());
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let text = r#"
            listen = "nowhere"
            calendar = "missing-calendar.toml"
            [tls]
            cert = "no.pem"
            key = "no.key"
            [platforms.zj]
            base_url = "http://zj.example"
            client_ca = "no-ca.pem"
            client_identity = " "
            province = "3"
            regions = ["33", "3304x"]
            [platforms.ah]
            base_url = "https://ah.example"
            client_ca = "x"
            client_identity = "x"
            [outbox]
            jitter = 1.5
            multiplier = 0.5
            concurrency = 0
            [limits]
            max_body_bytes = 0
            intake_concurrency = 0
            request_timeout_ms = 1000
            body_timeout_ms = 1000
            [time_limits]
            business_licence = 0
        "#;
        let errs = Config::from_toml(text, dir.path()).unwrap_err();
        let all = errs.to_string();
        for needle in [
            "listen: nowhere",
            "tls.cert",
            "tls.key",
            "[platforms.sh] is missing",
            "platforms.ah]: unknown platform",
            "base_url: http://zj.example is not an https URL",
            "platforms.zj.client_ca",
            "client_identity is empty",
            "province: 3 is not two digits",
            "3304x is not a 2, 4 or 6 digit prefix",
            "outbox.multiplier",
            "outbox.jitter",
            "outbox.concurrency",
            "limits.max_body_bytes",
            "limits.intake_concurrency must be positive",
            "limits.body_timeout_ms must be below limits.request_timeout_ms",
            "time_limits.business_licence",
            "calendar",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
        }
        assert_eq!(errs.0.len(), 18, "{all}");
    }

    #[test]
    fn partners_signing_keys_are_checked_with_everything_else() {
        use base64::Engine as _;
        let dir = tempfile::tempdir().unwrap();
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
        let good_key = base64::engine::general_purpose::STANDARD.encode(key.as_bytes());
        let short = base64::engine::general_purpose::STANDARD.encode([1u8; 31]);
        let text = format!(
            "{}\n[platforms.zj.signing_keys]\n\"zj-2026\" = \"{good_key}\"\n",
            good(dir.path())
        );
        let cfg = Config::from_toml(&text, dir.path()).unwrap();
        let zj = cfg.platform("zj").unwrap();
        assert_eq!(zj.signing_keys.get("zj-2026"), Some(&key.into()));
        assert_eq!(
            zj.signatures,
            crate::gateway::transport::httpsig::SignWith::Ed25519
        );
        assert!(!zj.require_signature);
        assert!(cfg.platform("sh").unwrap().signing_keys.is_empty());

        let text = good(dir.path()).replace(
            "regions = [\"31\", \"320509\"]",
            "regions = [\"31\", \"320509\"]\nrequire_signature = true",
        ) + &format!(
            "[platforms.zj.signing_keys]\n\"\" = \"{good_key}\"\n\"zj 2\" = \"not base64!\"\n\
             \"zj-3\" = \"{short}\"\n"
        );
        let all = Config::from_toml(&text, dir.path())
            .unwrap_err()
            .to_string();
        for needle in [
            "platforms.zj.signing_keys.\"\": a key id is 1 to 64 printable ASCII characters",
            "platforms.zj.signing_keys.\"zj 2\": not base64",
            "platforms.zj.signing_keys.\"zj-3\": an Ed25519 public key is 32 bytes, an SM2 public key 65 (0x04 ‖ x ‖ y); this is 31",
            "platforms.sh.require_signature is true but platforms.sh.signing_keys is empty",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
        }
    }

    #[test]
    fn partners_sm2_keys_and_what_the_gateway_signs_them_with() {
        use crate::gateway::transport::httpsig::{PublicKey, SigAlg, SignWith};
        use base64::Engine as _;
        let dir = tempfile::tempdir().unwrap();
        let sm2 =
            crate::signing::Sm2SigningKey::from_scalar("zj", "zj-platform", &[9; 32]).unwrap();
        let point = base64::engine::general_purpose::STANDARD.encode(sm2.public().point());
        let sig = sm2.sign(b"base");
        let with = |zj_extra: &str| {
            good(dir.path())
                .replace(
                    "regions = [\"31\", \"320509\"]",
                    "regions = [\"31\", \"320509\"]\nsignatures = \"both\"",
                )
                .replace(
                    "client_identity = \"zj-platform.tongban.test\"",
                    &format!("client_identity = \"zj-platform.tongban.test\"\n{zj_extra}"),
                )
                + &format!("[platforms.zj.signing_keys]\n\"zj-sm2\" = \"{point}\"\n")
        };
        let sm2_key = |cfg: &Config| match cfg.platform("zj").unwrap().signing_keys.get("zj-sm2") {
            Some(PublicKey::Sm2(k)) => k.clone(),
            other => panic!("not an SM2 key: {other:?}"),
        };
        // With the default distinguishing ID, a signature made with ID "zj-platform" fails.
        let cfg = Config::from_toml(&with(""), dir.path()).unwrap();
        assert_eq!(cfg.platform("sh").unwrap().signatures, SignWith::Both);
        assert_eq!(cfg.platform("zj").unwrap().signatures, SignWith::Ed25519);
        assert_eq!(
            cfg.platform("zj").unwrap().signing_keys["zj-sm2"].alg(),
            SigAlg::Sm2
        );
        assert!(!sm2_key(&cfg).verify(b"base", &sig));
        // With the platform's ID configured it verifies.
        let cfg = Config::from_toml(&with("sm2_distinguishing_id = \"zj-platform\""), dir.path())
            .unwrap();
        assert!(sm2_key(&cfg).verify(b"base", &sig));

        let off_curve = base64::engine::general_purpose::STANDARD.encode([4u8; 65]);
        let bad = good(dir.path())
            + &format!("[platforms.zj.signing_keys]\n\"zj-sm2\" = \"{off_curve}\"\n");
        let all = Config::from_toml(&bad, dir.path()).unwrap_err().to_string();
        assert!(
            all.contains("platforms.zj.signing_keys.\"zj-sm2\": not an SM2 public key"),
            "{all}"
        );
    }

    fn account(username: &str, name: &str, hash: &str, uscc: &str, platform: &str) -> String {
        format!(
            "[[web.accounts]]\nusername = \"{username}\"\ndisplay_name = \"{name}\"\n\
             password_hash = \"{hash}\"\noffice_uscc = \"{uscc}\"\n\
             office_name = \"上海市金山区廊下镇社区事务受理服务中心\"\nplatform = \"{platform}\"\n"
        )
    }

    #[test]
    fn the_clerks_page_is_resolved_with_everything_else() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Config::from_toml(&good(dir.path()), dir.path())
            .unwrap()
            .web
            .is_none());
        let hash = crate::web::hash_password("窗口 password 2026").unwrap();
        let text = format!(
            "{}\n[web]\nlisten = \"127.0.0.1:0\"\npublic_url = \"https://tongban.example/\"\ntrusted_proxies = [\"10.1.2.3\"]\n{}",
            good(dir.path()),
            account("wangmin", "王敏", &hash, "113101160024321631", "sh")
        );
        let web = Config::from_toml(&text, dir.path()).unwrap().web.unwrap();
        assert_eq!(web.page.public_url, "https://tongban.example/");
        assert_eq!(
            web.page.trusted_proxies,
            [std::net::IpAddr::from([10, 1, 2, 3])]
        );
        assert!(
            web.page.secure_cookies,
            "the page is served over HTTPS only"
        );
        let a = &web.page.accounts[0];
        assert_eq!(
            (
                a.username.as_str(),
                a.office.platform,
                a.office.uscc.as_str()
            ),
            ("wangmin", Platform::Shanghai, "113101160024321631")
        );
    }

    #[test]
    fn every_problem_of_the_clerks_page_is_reported_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let hash = crate::web::hash_password("窗口 password 2026").unwrap();
        let text = format!(
            "{}\n[web]\nlisten = \"127.0.0.1:9999\"\npublic_url = \"status page\"\n{}{}{}{}{}",
            good(dir.path()).replace(
                "127.0.0.1:0\"\n            ops",
                "127.0.0.1:9999\"\n            ops"
            ),
            account("a", "甲", &hash, "113101160024321632", "sh"),
            account("b", "乙", "plain-text", "113101160024321631", "ah"),
            account("c", "丙", &hash, "113101160024321631", "zj"),
            account("c", " ", &hash, "113101160024321631", "sh"),
            "",
        );
        let errs = Config::from_toml(&text, dir.path()).unwrap_err();
        let all = errs.to_string();
        for needle in [
            "web.listen 127.0.0.1:9999 is already another listener's address",
            "web.public_url: status page is not an http(s) URL",
            "web.accounts[0] (a).office_uscc: check character",
            "web.accounts[1] (b).platform: ah is not a platform",
            "web.accounts[1] (b).password_hash: not an argon2 PHC string",
            "web.accounts[2] (c).office_uscc: 113101160024321631 is registered in province 31, not in the zj platform's (33)",
            "web.accounts[3] (c): username and display_name must not be empty",
            "clerk account 'c' is configured twice",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
        }
        assert_eq!(errs.0.len(), 8, "{all}");
        let empty = format!(
            "{}\n[web]\npublic_url = \"https://tongban.example/\"\n",
            good(dir.path())
        );
        let errs = Config::from_toml(&empty, dir.path()).unwrap_err();
        assert!(errs.to_string().contains("web.accounts is empty"), "{errs}");
        // The retired status_url names what replaced it.
        let old = format!(
            "{}\n[web]\nstatus_url = \"https://tongban.example/status/\"\n{}",
            good(dir.path()),
            account("wangmin", "王敏", &hash, "113101160024321631", "sh")
        );
        let errs = Config::from_toml(&old, dir.path()).unwrap_err();
        assert_eq!(errs.0.len(), 1, "{errs}");
        assert!(
            errs.0[0].contains(
                "web.status_url (https://tongban.example/status/) is replaced by web.public_url"
            ),
            "{errs}"
        );
    }

    #[test]
    fn overlapping_regions_and_unknown_fields_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let text = good(dir.path()).replace(
            "regions = [\"31\", \"320509\"]",
            "regions = [\"31\", \"3304\"]",
        );
        let errs = Config::from_toml(&text, dir.path()).unwrap_err();
        assert!(errs.to_string().contains("overlap"), "{errs}");
        let text = format!("{}\nsurprise = 1\n", good(dir.path()));
        assert!(Config::from_toml(&text, dir.path()).is_err());
    }
}
