//! Mutual TLS: the dev PKI, the server configuration that admits only partner platforms, the
//! [`Partner`] identity taken from the verified client certificate, and the outgoing client.
//!
//! A partner is identified only by its client certificate: it must chain to that partner's
//! configured CA **and** name that partner's expected identity (a DNS or URI subject
//! alternative name; the subject CN only when the certificate has no SAN). Anything else is
//! refused during the handshake by [`PartnerVerifier`], so no HTTP byte is read from a stranger.

use std::fmt;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, RootCertStore};
use rustls::{ClientConfig, ServerConfig, SignatureScheme};

/// Problems with certificates, keys or TLS configuration.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file held no certificate.
    #[error("{0}: no certificate found in PEM")]
    NoCertificate(String),
    /// A PEM file held no private key.
    #[error("{0}: no private key found in PEM")]
    NoKey(String),
    /// A PEM file could not be parsed.
    #[error("{what}: not valid PEM: {reason}")]
    Pem {
        /// Which file or value.
        what: String,
        /// The parser's message.
        reason: String,
    },
    /// A CA certificate could not be used as a trust anchor.
    #[error("{what}: not usable as a trust anchor: {reason}")]
    Anchor {
        /// Which file.
        what: String,
        /// Why.
        reason: String,
    },
    /// rustls refused the configuration (e.g. key and certificate do not match).
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// Generating the dev PKI failed.
    #[error("certificate generation: {0}")]
    Rcgen(#[from] rcgen::Error),
    /// Writing the dev PKI failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Building the outgoing HTTP client failed.
    #[error("HTTP client: {0}")]
    Client(String),
}

/// The crypto provider used everywhere (ring, the one compiled in).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads every certificate from PEM text; `what` names the source in errors.
pub fn certs_from_pem(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = rustls_pemfile::certs(&mut &pem[..])
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            what: what.to_owned(),
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(what.to_owned()));
    }
    Ok(certs)
}

/// Reads the first private key (PKCS#8, PKCS#1 or SEC1) from PEM text.
pub fn key_from_pem(pem: &[u8], what: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    rustls_pemfile::private_key(&mut &pem[..])
        .map_err(|e| TlsError::Pem {
            what: what.to_owned(),
            reason: e.to_string(),
        })?
        .ok_or_else(|| TlsError::NoKey(what.to_owned()))
}

/// What the gateway trusts for one partner: its CA and the identity its certificate must name.
#[derive(Debug, Clone)]
pub struct PartnerTrust {
    /// The partner's key in configuration (`zj`, `sh`).
    pub key: String,
    /// CA certificates that issue the partner's client certificates.
    pub ca: Vec<CertificateDer<'static>>,
    /// The DNS/URI SAN (or CN) the partner's client certificate must carry.
    pub identity: String,
}

/// A partner platform, as established by a verified client certificate.
///
/// It can only be built by [`PartnerVerifier::identify`], from a certificate chain that
/// verifies against the partner's own CA and names the partner's identity; handlers take it
/// from the request extensions, never from a header.
#[derive(Clone, PartialEq, Eq)]
pub struct Partner {
    key: Arc<str>,
    identity: Arc<str>,
}

impl Partner {
    /// The partner's key in configuration (`zj`, `sh`).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The identity its certificate named.
    pub fn identity(&self) -> &str {
        &self.identity
    }
}

impl fmt::Debug for Partner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Partner({} as {})", self.key, self.identity)
    }
}

struct PartnerEntry {
    key: Arc<str>,
    identity: Arc<str>,
    verifier: Arc<dyn ClientCertVerifier>,
}

/// A rustls client-certificate verifier that accepts exactly the configured partners.
pub struct PartnerVerifier {
    partners: Vec<PartnerEntry>,
    hints: Vec<DistinguishedName>,
}

impl fmt::Debug for PartnerVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<&str> = self.partners.iter().map(|p| &*p.key).collect();
        write!(f, "PartnerVerifier({keys:?})")
    }
}

impl PartnerVerifier {
    /// Builds one WebPKI verifier per partner (client certificate mandatory).
    pub fn new(trust: &[PartnerTrust]) -> Result<Arc<Self>, TlsError> {
        let mut partners = Vec::new();
        let mut hints = Vec::new();
        for t in trust {
            let mut roots = RootCertStore::empty();
            for c in &t.ca {
                roots.add(c.clone()).map_err(|e| TlsError::Anchor {
                    what: format!("CA of partner {}", t.key),
                    reason: e.to_string(),
                })?;
            }
            hints.extend(roots.subjects());
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                .build()
                .map_err(|e| TlsError::Anchor {
                    what: format!("CA of partner {}", t.key),
                    reason: e.to_string(),
                })?;
            partners.push(PartnerEntry {
                key: t.key.as_str().into(),
                identity: t.identity.as_str().into(),
                verifier,
            });
        }
        Ok(Arc::new(Self { partners, hints }))
    }

    fn find(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Option<&PartnerEntry> {
        let names = cert_names(end_entity)?;
        self.partners.iter().find(|p| {
            names.matches(&p.identity)
                && p.verifier
                    .verify_client_cert(end_entity, intermediates, now)
                    .is_ok()
        })
    }

    /// Maps the peer's certificate chain (end entity first) to the partner it proves.
    pub fn identify(&self, chain: &[CertificateDer<'_>]) -> Option<Partner> {
        let (ee, rest) = chain.split_first()?;
        self.find(ee, rest, UnixTime::now()).map(|p| Partner {
            key: p.key.clone(),
            identity: p.identity.clone(),
        })
    }
}

impl ClientCertVerifier for PartnerVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        match self.find(end_entity, intermediates, now) {
            Some(_) => Ok(ClientCertVerified::assertion()),
            None => Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            )),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &provider().signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &provider().signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

struct CertNames {
    sans: Vec<String>,
    cn: Option<String>,
}

impl CertNames {
    fn matches(&self, expected: &str) -> bool {
        if self.sans.is_empty() {
            self.cn
                .as_deref()
                .is_some_and(|cn| cn.eq_ignore_ascii_case(expected))
        } else {
            self.sans.iter().any(|s| s.eq_ignore_ascii_case(expected))
        }
    }
}

/// The end of a certificate's validity (Unix seconds).
pub fn not_after(der: &CertificateDer<'_>) -> Option<i64> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    Some(cert.validity().not_after.timestamp())
}

fn cert_names(der: &CertificateDer<'_>) -> Option<CertNames> {
    use x509_parser::extensions::GeneralName;
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    let mut sans = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for name in &ext.value.general_names {
            match name {
                GeneralName::DNSName(s) | GeneralName::URI(s) => sans.push((*s).to_owned()),
                _ => {}
            }
        }
    }
    let cn = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_owned);
    Some(CertNames { sans, cn })
}

/// The server configuration: our certificate chain and key, client certificates checked by
/// `verifier`, HTTP/1.1 by ALPN.
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    verifier: Arc<PartnerVerifier>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let mut cfg = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// The server configuration of the clerks' page: our certificate chain and key, no client
/// certificate asked for (window PCs have none; clerks sign in on the page), HTTP/1.1 by
/// ALPN.
pub fn browser_server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let mut cfg = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// Timeouts of the outgoing client.
#[derive(Debug, Clone, Copy)]
pub struct ClientTimeouts {
    /// TCP connect + TLS handshake.
    pub connect: Duration,
    /// Whole request, reply included.
    pub request: Duration,
}

/// An HTTPS client presenting our client certificate and trusting only `server_ca`.
pub fn client(
    server_ca: &[CertificateDer<'static>],
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    timeouts: ClientTimeouts,
) -> Result<reqwest::Client, TlsError> {
    let mut roots = RootCertStore::empty();
    for c in server_ca {
        roots.add(c.clone()).map_err(|e| TlsError::Anchor {
            what: "server CA".into(),
            reason: e.to_string(),
        })?;
    }
    let mut cfg = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .use_preconfigured_tls(cfg)
        .https_only(true)
        .connect_timeout(timeouts.connect)
        .timeout(timeouts.request)
        .pool_idle_timeout(Duration::from_secs(90))
        .build()
        .map_err(|e| TlsError::Client(e.to_string()))
}

/// The dev CA's subject name, so a generated CA is recognisable in any certificate viewer.
pub const DEV_CA_NAME: &str = "tongban dev CA (not for production)";

/// The dev client identity of the Zhejiang platform (also its sandbox's server name).
pub const DEV_ZJ_IDENTITY: &str = "zj-platform.tongban.test";

/// The dev client identity of the Shanghai platform.
pub const DEV_SH_IDENTITY: &str = "sh-platform.tongban.test";

/// The dev identity of the gateway itself, when it calls a platform.
pub const DEV_GATEWAY_IDENTITY: &str = "gateway.tongban.test";

/// Validity of dev certificates: a year, so a long-lived dev data dir keeps working, and
/// certificates generated at test time never outlive the test.
const DEV_VALIDITY_DAYS: i64 = 365;

/// An in-memory CA able to issue dev certificates.
pub struct DevCa {
    cert: rcgen::Certificate,
    key: rcgen::KeyPair,
}

/// A certificate and its key, PEM-encoded.
pub struct IssuedPem {
    /// The certificate.
    pub cert: String,
    /// The private key (PKCS#8). Never printed, written with mode 0600.
    pub key: String,
}

impl fmt::Debug for IssuedPem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IssuedPem { cert, key: <redacted> }")
    }
}

fn validity(params: &mut rcgen::CertificateParams) {
    use chrono::Datelike as _;
    let today = chrono::Utc::now().date_naive();
    let from = today - chrono::Days::new(1);
    let to = today + chrono::Days::new(DEV_VALIDITY_DAYS as u64);
    params.not_before = rcgen::date_time_ymd(from.year(), from.month() as u8, from.day() as u8);
    params.not_after = rcgen::date_time_ymd(to.year(), to.month() as u8, to.day() as u8);
}

impl DevCa {
    /// A new self-signed CA named `name`.
    pub fn new(name: &str) -> Result<Self, TlsError> {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        validity(&mut params);
        let key = rcgen::KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        Ok(Self { cert, key })
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> String {
        self.cert.pem()
    }

    /// The CA certificate, DER.
    pub fn cert_der(&self) -> CertificateDer<'static> {
        self.cert.der().clone()
    }

    /// Issues a certificate for `cn` with the given SANs (DNS names or IP addresses), usable
    /// both as a server and as a client certificate (each dev party is both).
    pub fn issue(&self, cn: &str, sans: &[&str]) -> Result<IssuedPem, TlsError> {
        let mut params = rcgen::CertificateParams::new(
            sans.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>(),
        )?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        params.is_ca = rcgen::IsCa::ExplicitNoCa;
        params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.use_authority_key_identifier_extension = true;
        validity(&mut params);
        let key = rcgen::KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.cert, &self.key)?;
        Ok(IssuedPem {
            cert: cert.pem(),
            key: key.serialize_pem(),
        })
    }
}

/// File names of the dev PKI under its directory.
#[derive(Debug, Clone)]
pub struct DevPkiFiles {
    /// The directory.
    pub dir: PathBuf,
}

impl DevPkiFiles {
    /// The CA certificate.
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
    /// Certificate of party `name` (`gateway`, `zj-platform`, `sh-platform`).
    pub fn cert(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.pem"))
    }
    /// Private key of party `name`.
    pub fn key(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.key"))
    }
}

/// Generates the dev PKI under `dir`: a CA, and for the gateway and both platforms a
/// certificate valid for `localhost`/`127.0.0.1` plus its distinctive identity. Keys are
/// written with mode 0600; the CA key is not kept (re-run to re-issue).
pub fn generate_dev_pki(dir: &Path) -> Result<DevPkiFiles, TlsError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| TlsError::Io { path, source }
    };
    fs::create_dir_all(dir).map_err(io(dir))?;
    let files = DevPkiFiles {
        dir: dir.to_owned(),
    };
    let ca = DevCa::new(DEV_CA_NAME)?;
    write_file(&files.ca(), ca.cert_pem().as_bytes(), false)?;
    for (name, identity) in [
        ("gateway", DEV_GATEWAY_IDENTITY),
        ("zj-platform", DEV_ZJ_IDENTITY),
        ("sh-platform", DEV_SH_IDENTITY),
    ] {
        let issued = ca.issue(identity, &[identity, "localhost", "127.0.0.1"])?;
        write_file(&files.cert(name), issued.cert.as_bytes(), false)?;
        write_file(&files.key(name), issued.key.as_bytes(), true)?;
    }
    Ok(files)
}

/// Writes `bytes` to `path`, replacing it; `secret` files get mode 0600 from creation.
pub fn write_file(path: &Path, bytes: &[u8], secret: bool) -> Result<(), TlsError> {
    let wrap = |source| TlsError::Io {
        path: path.to_owned(),
        source,
    };
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        if secret {
            opts.mode(0o600);
        }
        let mut f = opts.open(path).map_err(wrap)?;
        if secret {
            f.set_permissions(fs::Permissions::from_mode(0o600))
                .map_err(wrap)?;
        }
        f.write_all(bytes).map_err(wrap)?;
        f.sync_all().map_err(wrap)
    }
    #[cfg(not(unix))]
    {
        let _ = secret;
        let mut f = opts.open(path).map_err(wrap)?;
        f.write_all(bytes).map_err(wrap)?;
        f.sync_all().map_err(wrap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trust(ca: &DevCa, key: &str, identity: &str) -> PartnerTrust {
        PartnerTrust {
            key: key.into(),
            ca: vec![ca.cert_der()],
            identity: identity.into(),
        }
    }

    fn chain(p: &IssuedPem) -> Vec<CertificateDer<'static>> {
        certs_from_pem(p.cert.as_bytes(), "test").unwrap()
    }

    #[test]
    fn partners_are_told_apart_by_identity_and_by_ca() {
        let ca = DevCa::new("ca").unwrap();
        let other_ca = DevCa::new("other").unwrap();
        let v = PartnerVerifier::new(&[
            trust(&ca, "zj", DEV_ZJ_IDENTITY),
            trust(&other_ca, "sh", DEV_SH_IDENTITY),
        ])
        .unwrap();
        let zj = ca.issue(DEV_ZJ_IDENTITY, &[DEV_ZJ_IDENTITY]).unwrap();
        let p = v.identify(&chain(&zj)).unwrap();
        assert_eq!((p.key(), p.identity()), ("zj", DEV_ZJ_IDENTITY));

        // Shanghai's name, but issued by Zhejiang's CA: not Shanghai.
        let forged = ca.issue(DEV_SH_IDENTITY, &[DEV_SH_IDENTITY]).unwrap();
        assert!(v.identify(&chain(&forged)).is_none());
        // Right CA, unknown name.
        let stranger = ca.issue("x.tongban.test", &["x.tongban.test"]).unwrap();
        assert!(v.identify(&chain(&stranger)).is_none());
        // The CN is ignored when the certificate has SANs.
        let cn_only = ca.issue(DEV_ZJ_IDENTITY, &["localhost"]).unwrap();
        assert!(v.identify(&chain(&cn_only)).is_none());
        let sh = other_ca.issue("whatever", &[DEV_SH_IDENTITY]).unwrap();
        assert_eq!(v.identify(&chain(&sh)).unwrap().key(), "sh");
        assert!(v.identify(&[]).is_none());
    }

    #[test]
    fn the_verifier_refuses_strangers_during_verification() {
        let ca = DevCa::new("ca").unwrap();
        let v = PartnerVerifier::new(&[trust(&ca, "zj", DEV_ZJ_IDENTITY)]).unwrap();
        let stranger = DevCa::new("stranger").unwrap();
        let c = stranger.issue(DEV_ZJ_IDENTITY, &[DEV_ZJ_IDENTITY]).unwrap();
        let ee = &chain(&c)[0];
        assert!(v.verify_client_cert(ee, &[], UnixTime::now()).is_err());
        assert!(v.client_auth_mandatory());
        assert_eq!(v.root_hint_subjects().len(), 1);
    }

    #[test]
    fn dev_pki_files_are_written_with_private_keys_0600() {
        let dir = tempfile::tempdir().unwrap();
        let files = generate_dev_pki(&dir.path().join("pki")).unwrap();
        let ca = certs_from_pem(&fs::read(files.ca()).unwrap(), "ca").unwrap();
        for name in ["gateway", "zj-platform", "sh-platform"] {
            let chain = certs_from_pem(&fs::read(files.cert(name)).unwrap(), name).unwrap();
            let key = key_from_pem(&fs::read(files.key(name)).unwrap(), name).unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                let mode = fs::metadata(files.key(name)).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600, "{name}.key");
            }
            let v = PartnerVerifier::new(&[PartnerTrust {
                key: "p".into(),
                ca: ca.clone(),
                identity: format!("{name}.tongban.test"),
            }])
            .unwrap();
            server_config(chain.clone(), key.clone_key(), v).unwrap();
            client(
                &ca,
                chain,
                key,
                ClientTimeouts {
                    connect: Duration::from_secs(1),
                    request: Duration::from_secs(1),
                },
            )
            .unwrap();
        }
    }

    #[test]
    fn pem_errors_name_the_source() {
        assert!(matches!(
            certs_from_pem(b"", "x.pem"),
            Err(TlsError::NoCertificate(w)) if w == "x.pem"
        ));
        assert!(matches!(
            key_from_pem(b"nothing", "k.pem"),
            Err(TlsError::NoKey(w)) if w == "k.pem"
        ));
        let issued = DevCa::new("ca").unwrap().issue("a", &["a"]).unwrap();
        assert!(!format!("{issued:?}").contains("PRIVATE"));
    }
}
