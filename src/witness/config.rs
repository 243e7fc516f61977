//! `witness.toml` in two stages, like the gateway's configuration: [`WitnessFile`] as written,
//! then [`WitnessConfig`], resolved and checked (addresses parsed, certificates read, log keys
//! parsed), with **every** problem reported at once, each naming its field. Relative paths are
//! relative to the configuration file's directory.
//!
//! ```toml
//! name = "witness.zj.example/w1"      # the witness's key name, in every cosignature line
//! data_dir = "witness-data"           # state, evidence, and by default the key
//! # key_file = "witness-data/witness.key"   (default: <data_dir>/witness.key)
//! listen = "0.0.0.0:8445"             # default 127.0.0.1:8445
//! prefix = "/witness"                 # URL prefix of add-checkpoint and checkpoint; default none
//!
//! [tls]
//! cert = "pki/witness.pem"
//! key = "pki/witness.key"
//! client_ca = "pki/ca.pem"            # optional: mutual TLS, admitting only …
//! clients = ["gateway.tongban.test"]  # … client certificates of this CA naming these
//!
//! [limits]                            # all optional
//! max_body_bytes = 262144
//! request_timeout_ms = 10000
//! max_connections = 256
//!
//! [[log]]
//! origin = "tongban.example/ledger"
//! key = "tongban.example/ledger+1a2b3c4d+AZ…"   # or a list, during a key rotation
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;

use crate::gateway::transport::server::Limits;
use crate::gateway::transport::tls;
use crate::signing::{check_key_name, VerifierKey};

/// Default listener: loopback, so nothing is exposed by accident; beside the gateway's ports.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8445";
/// Default data directory.
pub const DEFAULT_DATA_DIR: &str = "witness-data";
/// Name of the key file inside the data directory when `key_file` is not given.
pub const DEFAULT_KEY_FILE: &str = "witness.key";
/// Default largest request body: room for 16 signatures of nearly 5 kB each (the most a
/// signed-note verifier must accept, post-quantum ones included), 63 proof lines and more.
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;
/// Default time allowed per request (reading the body, checking, storing durably, answering).
pub const DEFAULT_REQUEST_TIMEOUT_MS: u64 = 10_000;
/// Default connections served at once (a handful of logs and monitors).
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;

/// The configuration file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessFile {
    /// The witness's name: the key name of its cosignatures (a schema-less URL, no spaces or
    /// `+`).
    pub name: String,
    /// The cosigning key file; default `<data_dir>/witness.key`.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// Where the state and the evidence are kept.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// Listener address (HTTPS).
    #[serde(default = "default_listen")]
    pub listen: String,
    /// URL prefix of both endpoints (`""` or `/path` without a final `/`).
    #[serde(default)]
    pub prefix: String,
    /// Certificates.
    pub tls: TlsFile,
    /// Resource limits.
    #[serde(default)]
    pub limits: LimitsFile,
    /// `[[log]]`, one per witnessed log.
    #[serde(default, rename = "log")]
    pub logs: Vec<LogFile>,
}

fn default_data_dir() -> PathBuf {
    PathBuf::from(DEFAULT_DATA_DIR)
}

fn default_listen() -> String {
    DEFAULT_LISTEN.to_owned()
}

/// `[tls]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFile {
    /// The witness's certificate chain (PEM).
    pub cert: PathBuf,
    /// Its private key (PEM).
    pub key: PathBuf,
    /// CA of the client certificates admitted; without it, plain HTTPS (anyone may submit:
    /// the protocol authenticates checkpoints by their signatures).
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
    /// With `client_ca`: the identities (DNS or URI subject alternative name) a client
    /// certificate must name.
    #[serde(default)]
    pub clients: Vec<String>,
}

/// `[limits]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsFile {
    /// Largest request body (413 beyond).
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// Time allowed per request.
    #[serde(default = "default_request_timeout")]
    pub request_timeout_ms: u64,
    /// Connections served at once.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
}

impl Default for LimitsFile {
    fn default() -> Self {
        Self {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            request_timeout_ms: DEFAULT_REQUEST_TIMEOUT_MS,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

fn default_max_body() -> usize {
    DEFAULT_MAX_BODY_BYTES
}

fn default_request_timeout() -> u64 {
    DEFAULT_REQUEST_TIMEOUT_MS
}

fn default_max_connections() -> usize {
    DEFAULT_MAX_CONNECTIONS
}

/// `[[log]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogFile {
    /// The log's origin (the first line of its checkpoints).
    pub origin: String,
    /// The signed-note verifier key(s) of its checkpoints, `name+hexid+base64(0x01‖key)`.
    pub key: Keys,
}

/// One key, or several (a rotation: checkpoints signed by any of them are accepted).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Keys {
    /// `key = "…"`.
    One(String),
    /// `key = ["…", "…"]`.
    Many(Vec<String>),
}

impl Keys {
    fn as_slice(&self) -> &[String] {
        match self {
            Keys::One(k) => std::slice::from_ref(k),
            Keys::Many(ks) => ks,
        }
    }
}

/// Mutual TLS: who may connect.
#[derive(Debug, Clone)]
pub struct MutualTls {
    /// CA certificates of the admitted client certificates.
    pub ca: Vec<CertificateDer<'static>>,
    /// Identities a client certificate must name (one of).
    pub identities: Vec<String>,
}

/// The listener's certificates, and mutual TLS when configured.
pub struct WitnessTls {
    /// The witness's certificate chain.
    pub chain: Vec<CertificateDer<'static>>,
    /// Its private key.
    pub key: PrivateKeyDer<'static>,
    /// `Some`: client certificates required (mutual TLS); `None`: plain HTTPS.
    pub clients: Option<MutualTls>,
}

impl fmt::Debug for WitnessTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WitnessTls")
            .field("chain", &self.chain.len())
            .field("key", &"<redacted>")
            .field("clients", &self.clients)
            .finish()
    }
}

/// A witnessed log.
#[derive(Debug, Clone)]
pub struct WitnessedLog {
    /// Its origin.
    pub origin: String,
    /// The keys trusted to sign its checkpoints.
    pub keys: Vec<VerifierKey>,
}

/// The resolved configuration of a witness; build it from a file with [`WitnessConfig::load`],
/// or directly (the demo and the tests start witnesses in-process this way).
#[derive(Debug)]
pub struct WitnessConfig {
    /// The witness's name (its cosigning key's name).
    pub name: String,
    /// The cosigning key file (`tongban witness keygen` creates it).
    pub key_file: PathBuf,
    /// State and evidence.
    pub data_dir: PathBuf,
    /// Listener address (port 0: any free port; the bound address is reported).
    pub listen: SocketAddr,
    /// URL prefix of both endpoints: `""` or `/path` without a final `/`.
    pub prefix: String,
    /// Certificates.
    pub tls: WitnessTls,
    /// The witnessed logs.
    pub logs: Vec<WitnessedLog>,
    /// Limits of the listener.
    pub limits: Limits,
}

/// Every problem found in a configuration.
#[derive(Debug)]
pub struct ConfigErrors(pub Vec<String>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} problem(s) in the witness configuration:",
            self.0.len()
        )?;
        for p in &self.0 {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// The witness's limits by default: those of [`LimitsFile::default`], the gateway listener's
/// timeouts for handshakes and headers, and a short grace period on shutdown.
pub fn default_limits() -> Limits {
    LimitsFile::default().limits()
}

impl LimitsFile {
    fn limits(&self) -> Limits {
        Limits {
            max_connections: self.max_connections,
            request_timeout: Duration::from_millis(self.request_timeout_ms),
            max_body_bytes: self.max_body_bytes,
            body_timeout: Duration::from_millis(self.request_timeout_ms),
            grace: Duration::from_secs(5),
            ..Limits::default()
        }
    }
}

fn abs(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_owned()
    } else {
        base.join(path)
    }
}

/// Whether `prefix` is `""` or `/segment[/segment…]` of URL-safe characters.
fn prefix_ok(prefix: &str) -> bool {
    prefix.is_empty()
        || (prefix.starts_with('/')
            && !prefix.ends_with('/')
            && !prefix.contains("//")
            && prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/-._~".contains(&b)))
}

impl WitnessConfig {
    /// Reads and resolves the configuration file at `path`.
    pub fn load(path: &Path) -> Result<WitnessConfig, ConfigErrors> {
        let (file, base) = WitnessFile::load(path)?;
        file.resolve(&base)
    }

    /// The public URL paths: `(add-checkpoint, checkpoint of origin hash H with H as {origin_hash})`.
    pub fn paths(&self) -> (String, String) {
        (
            format!("{}/add-checkpoint", self.prefix),
            format!("{}/{{origin_hash}}/checkpoint", self.prefix),
        )
    }
}

impl WitnessFile {
    /// Reads and parses the file; returns it with the directory relative paths start from.
    pub fn load(path: &Path) -> Result<(WitnessFile, PathBuf), ConfigErrors> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigErrors(vec![format!("{}: {e}", path.display())]))?;
        let file = Self::parse(&text)?;
        Ok((file, path.parent().unwrap_or(Path::new(".")).to_owned()))
    }

    /// Parses configuration text.
    pub fn parse(text: &str) -> Result<WitnessFile, ConfigErrors> {
        toml::from_str(text)
            .map_err(|e| ConfigErrors(vec![format!("not a valid witness configuration: {e}")]))
    }

    /// The witness's name, checked.
    pub fn checked_name(&self) -> Result<&str, ConfigErrors> {
        check_key_name(&self.name)
            .map(|()| self.name.as_str())
            .map_err(|e| ConfigErrors(vec![format!("name: {e}")]))
    }

    /// The key file's path.
    pub fn key_path(&self, base: &Path) -> PathBuf {
        match &self.key_file {
            Some(k) => abs(base, k),
            None => abs(base, &self.data_dir).join(DEFAULT_KEY_FILE),
        }
    }

    /// Resolves and checks everything, collecting every problem.
    pub fn resolve(&self, base: &Path) -> Result<WitnessConfig, ConfigErrors> {
        let mut p = Vec::new();
        if let Err(e) = check_key_name(&self.name) {
            p.push(format!("name: {e}"));
        }
        let listen = match self.listen.parse::<SocketAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                p.push(format!(
                    "listen: {} is not an address like 127.0.0.1:8445",
                    self.listen
                ));
                None
            }
        };
        if !prefix_ok(&self.prefix) {
            p.push(format!(
                "prefix: {:?} must be empty or like \"/witness\" (starting with '/', not ending with one, letters, digits and -._~)",
                self.prefix
            ));
        }
        let mut read = |field: &str, path: &Path| match std::fs::read(abs(base, path)) {
            Ok(b) => Some(b),
            Err(e) => {
                p.push(format!("{field}: {}: {e}", abs(base, path).display()));
                None
            }
        };
        let cert = read("tls.cert", &self.tls.cert);
        let key = read("tls.key", &self.tls.key);
        let ca = self
            .tls
            .client_ca
            .as_ref()
            .map(|ca| read("tls.client_ca", ca));
        let chain = cert.and_then(|c| {
            tls::certs_from_pem(&c, "tls.cert")
                .map_err(|e| p.push(e.to_string()))
                .ok()
        });
        let key = key.and_then(|k| {
            tls::key_from_pem(&k, "tls.key")
                .map_err(|e| p.push(e.to_string()))
                .ok()
        });
        let clients = match (ca, self.tls.clients.is_empty()) {
            (None, true) => Some(None),
            (None, false) => {
                p.push("tls.clients is set but tls.client_ca is not: name the CA of the clients' certificates, or remove tls.clients for plain HTTPS".into());
                None
            }
            (Some(_), true) => {
                p.push("tls.client_ca is set but tls.clients is empty: name the identities (DNS or URI subject alternative names) of the clients admitted".into());
                None
            }
            (Some(None), false) => None,
            (Some(Some(ca)), false) => tls::certs_from_pem(&ca, "tls.client_ca")
                .map_err(|e| p.push(e.to_string()))
                .ok()
                .map(|ca| {
                    Some(MutualTls {
                        ca,
                        identities: self
                            .tls
                            .clients
                            .iter()
                            .map(|c| c.trim().to_owned())
                            .collect(),
                    })
                }),
        };
        if self.tls.clients.iter().any(|c| c.trim().is_empty()) {
            p.push("tls.clients: an identity is empty".into());
        }
        let l = &self.limits;
        if l.max_body_bytes < 1024 {
            p.push(format!(
                "limits.max_body_bytes: {} is below 1024; a checkpoint with its signatures needs more",
                l.max_body_bytes
            ));
        }
        if l.request_timeout_ms == 0 {
            p.push("limits.request_timeout_ms must be above 0".into());
        }
        if l.max_connections == 0 {
            p.push("limits.max_connections must be above 0".into());
        }
        if self.logs.is_empty() {
            p.push("no [[log]]: a witness cosigns only the logs it is configured with".into());
        }
        let mut logs = Vec::new();
        let mut origins = BTreeSet::new();
        for (i, log) in self.logs.iter().enumerate() {
            let at = format!("log[{i}]");
            if log.origin.is_empty() || log.origin.chars().any(char::is_control) {
                p.push(format!(
                    "{at}.origin: {:?} must be a non-empty line",
                    log.origin
                ));
            } else if !origins.insert(log.origin.clone()) {
                p.push(format!(
                    "{at}.origin: {:?} is configured twice; list every key of a log in one `key`",
                    log.origin
                ));
            }
            let texts = log.key.as_slice();
            if texts.is_empty() {
                p.push(format!("{at}.key: no key given for {:?}", log.origin));
            }
            let mut keys = Vec::new();
            for (j, text) in texts.iter().enumerate() {
                match VerifierKey::parse(text.trim()) {
                    Ok(k) => keys.push(k),
                    Err(_) if crate::signing::sm2::is_sm2_key_text(text.trim()) => p.push(format!(
                        "{at}.key[{j}] (log {:?}): an SM2 key; a witness checks the log's Ed25519 signature only, so give the Ed25519 lines of `tongban keys public`",
                        log.origin
                    )),
                    Err(e) => p.push(format!(
                        "{at}.key[{j}] (log {:?}): {e}; expected a signed-note verifier key name+hexid+base64(0x01‖key)",
                        log.origin
                    )),
                }
            }
            logs.push(WitnessedLog {
                origin: log.origin.clone(),
                keys,
            });
        }
        match (listen, chain, key, clients) {
            (Some(listen), Some(chain), Some(key), Some(clients)) if p.is_empty() => {
                Ok(WitnessConfig {
                    name: self.name.clone(),
                    key_file: self.key_path(base),
                    data_dir: abs(base, &self.data_dir),
                    listen,
                    prefix: self.prefix.clone(),
                    tls: WitnessTls {
                        chain,
                        key,
                        clients,
                    },
                    logs,
                    limits: l.limits(),
                })
            }
            _ => Err(ConfigErrors(p)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::transport::tls::DevCa;
    use crate::signing::SigningKey;

    fn files(dir: &Path) {
        let ca = DevCa::new("ca").unwrap();
        let issued = ca.issue("w", &["localhost"]).unwrap();
        std::fs::write(dir.join("w.pem"), issued.cert).unwrap();
        std::fs::write(dir.join("w.key"), issued.key).unwrap();
        std::fs::write(dir.join("ca.pem"), ca.cert_pem()).unwrap();
    }

    fn log_key() -> String {
        SigningKey::from_seed("tongban.example/ledger", &[1; 32])
            .unwrap()
            .verifier()
            .to_string()
    }

    #[test]
    fn a_good_configuration_resolves_with_defaults() {
        let dir = tempfile::tempdir().unwrap();
        files(dir.path());
        let text = format!(
            "name = \"witness.example/w1\"\n[tls]\ncert = \"w.pem\"\nkey = \"w.key\"\n\
             [[log]]\norigin = \"tongban.example/ledger\"\nkey = \"{}\"\n",
            log_key()
        );
        let c = WitnessFile::parse(&text)
            .unwrap()
            .resolve(dir.path())
            .unwrap();
        assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(c.data_dir, dir.path().join(DEFAULT_DATA_DIR));
        assert_eq!(
            c.key_file,
            dir.path().join(DEFAULT_DATA_DIR).join(DEFAULT_KEY_FILE)
        );
        assert!(c.tls.clients.is_none());
        assert_eq!(c.logs[0].keys.len(), 1);
        assert_eq!(c.limits.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
        assert_eq!(c.paths().0, "/add-checkpoint");
        assert!(!format!("{c:?}").contains("PRIVATE"));

        let rotated = format!(
            "name = \"w\"\nprefix = \"/witness\"\n[tls]\ncert = \"w.pem\"\nkey = \"w.key\"\n\
             client_ca = \"ca.pem\"\nclients = [\"gateway.tongban.test\"]\n\
             [[log]]\norigin = \"tongban.example/ledger\"\nkey = [\"{0}\", \"{1}\"]\n",
            log_key(),
            SigningKey::from_seed("tongban.example/ledger", &[2; 32])
                .unwrap()
                .verifier()
        );
        let c = WitnessFile::parse(&rotated)
            .unwrap()
            .resolve(dir.path())
            .unwrap();
        assert_eq!(c.logs[0].keys.len(), 2);
        assert_eq!(
            c.tls.clients.as_ref().unwrap().identities,
            ["gateway.tongban.test"]
        );
        assert_eq!(c.paths().1, "/witness/{origin_hash}/checkpoint");
    }

    #[test]
    fn every_problem_is_reported_naming_its_field() {
        let dir = tempfile::tempdir().unwrap();
        files(dir.path());
        let text = format!(
            "name = \"bad name\"\nlisten = \"nowhere\"\nprefix = \"witness/\"\n\
             [tls]\ncert = \"missing.pem\"\nkey = \"w.key\"\nclients = [\"x\"]\n\
             [limits]\nmax_body_bytes = 10\nrequest_timeout_ms = 0\n\
             [[log]]\norigin = \"tongban.example/ledger\"\nkey = \"{0}\"\n\
             [[log]]\norigin = \"tongban.example/ledger\"\nkey = [\"not a key\"]\n\
             [[log]]\norigin = \"\"\nkey = []\n",
            log_key()
        );
        let e = WitnessFile::parse(&text)
            .unwrap()
            .resolve(dir.path())
            .unwrap_err();
        let all = e.to_string();
        for want in [
            "name: invalid key name",
            "listen: nowhere",
            "prefix: \"witness/\"",
            "tls.cert: ",
            "missing.pem",
            "tls.clients is set but tls.client_ca is not",
            "limits.max_body_bytes: 10",
            "limits.request_timeout_ms",
            "log[1].origin: \"tongban.example/ledger\" is configured twice",
            "log[1].key[0] (log \"tongban.example/ledger\")",
            "log[2].origin: \"\"",
            "log[2].key: no key given",
        ] {
            assert!(all.contains(want), "{want:?} not in:\n{all}");
        }
        assert_eq!(e.0.len(), 11, "{all}");

        let none =
            "name = \"w\"\n[tls]\ncert = \"w.pem\"\nkey = \"w.key\"\nclient_ca = \"ca.pem\"\n";
        let all = WitnessFile::parse(none)
            .unwrap()
            .resolve(dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            all.contains("no [[log]]") && all.contains("tls.clients is empty"),
            "{all}"
        );
        let unknown = WitnessFile::parse("name = \"w\"\nlisten_on = \"x\"\n").unwrap_err();
        assert!(unknown.to_string().contains("listen_on"), "{unknown}");
    }

    #[test]
    fn an_sm2_log_key_is_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        files(dir.path());
        let sm2 = crate::signing::Sm2SigningKey::from_scalar(
            "tongban.example/ledger",
            crate::signing::sm2::DEFAULT_DISTINGUISHING_ID,
            &[1; 32],
        )
        .unwrap()
        .public();
        let text = format!(
            "name = \"w\"\n[tls]\ncert = \"w.pem\"\nkey = \"w.key\"\n\
             [[log]]\norigin = \"tongban.example/ledger\"\nkey = [\"{}\", \"{sm2}\"]\n",
            log_key()
        );
        let all = WitnessFile::parse(&text)
            .unwrap()
            .resolve(dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            all.contains("log[0].key[1] (log \"tongban.example/ledger\"): an SM2 key; a witness checks the log's Ed25519 signature only"),
            "{all}"
        );
    }
}
