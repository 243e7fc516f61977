//! The witness from outside, as a log and an auditor meet it: C2SP tlog-witness over HTTPS
//! (mutual TLS when configured), its answers checked against the spec's text, its
//! cosignatures checked with implementations nobody here wrote (Mullvad's `sigsum`, Cloudflare's
//! `signed_note`), its state across restarts and SIGKILLs.
//!
//! The logs are the project's own ledger (`ledger::Log` over the in-memory store) filled with
//! small raw leaves, so checkpoints and consistency proofs are real RFC 6962 ones.
//!
//! The SIGKILL loop runs the `tongban witness serve` binary and kills it at random moments
//! while three logs keep submitting: `WITNESS_CRASH_KILLS` (default 12) and
//! `WITNESS_CRASH_SEED` replay a schedule, e.g.
//! `WITNESS_CRASH_KILLS=100 cargo test --test all witness::sigkill -- --nocapture`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use rand::{Rng as _, SeedableRng as _};
use sha2::{Digest, Sha256};
use tongban::gateway::transport::tls::{self, DevCa};
use tongban::ledger::merkle::{self, Hash};
use tongban::ledger::{Checkpoint, Log};
use tongban::signing::{CosignerKey, Note, SigningKey};
use tongban::store::MemStore;
use tongban::witness::{self, protocol::origin_hash, WitnessConfig};

const WITNESS_NAME: &str = "witness.test/w1";
const GATEWAY_IDENTITY: &str = "gateway.tongban.test";

// ---------------------------------------------------------------------------------------------
// A log that submits to the witness.

struct TestLog {
    origin: String,
    seed: u8,
    key: SigningKey,
    log: Log<MemStore>,
    salt: u8,
}

impl TestLog {
    /// A log whose key's seed is `seed` repeated.
    fn new(origin: &str, seed: u8) -> Self {
        Self {
            origin: origin.to_owned(),
            seed,
            key: SigningKey::from_seed(origin, &[seed; 32]).unwrap(),
            log: Log::open(MemStore::new(), origin).unwrap(),
            salt: 0,
        }
    }

    /// The same log's origin and key over other leaves (none yet): what a log showing two
    /// histories has.
    fn fork(&self, salt: u8) -> Self {
        Self {
            salt,
            ..Self::new(&self.origin, self.seed)
        }
    }

    fn grow(&mut self, n: u64) {
        let start = self.log.size();
        let leaves: Vec<Vec<u8>> = (start..start + n)
            .map(|i| {
                let mut l = vec![self.salt];
                l.extend_from_slice(&i.to_be_bytes());
                l
            })
            .collect();
        self.log.append_encoded(&leaves).unwrap();
    }

    fn size(&self) -> u64 {
        self.log.size()
    }

    fn checkpoint(&self, size: u64) -> Checkpoint {
        Checkpoint {
            origin: self.origin.clone(),
            size,
            root: self.log.root_at(size).unwrap(),
        }
    }

    fn note(&self, size: u64) -> String {
        self.checkpoint(size).sign(&[&self.key]).unwrap()
    }

    fn proof(&self, old: u64, size: u64) -> Vec<Hash> {
        if old == 0 || old == size {
            Vec::new()
        } else {
            self.log.consistency_proof(old, size).unwrap()
        }
    }

    fn body(&self, old: u64, size: u64) -> String {
        request(old, &self.proof(old, size), &self.note(size))
    }

    fn vkey(&self) -> String {
        self.key.verifier().to_string()
    }
}

/// An add-checkpoint body.
fn request(old: u64, proof: &[Hash], note: &str) -> String {
    let mut b = format!("old {old}\n");
    for h in proof {
        b.push_str(&B64.encode(h));
        b.push('\n');
    }
    b.push('\n');
    b.push_str(note);
    b
}

/// The timestamp of `public`'s cosignature among `lines` over `checkpoint_text`, checked.
fn cosignature_time(public: &CosignerKey, checkpoint_text: &str, lines: &str) -> u64 {
    let note = Note::parse(&format!("{checkpoint_text}\n{lines}")).unwrap();
    let sig = note
        .sigs
        .iter()
        .find(|s| public.is_signer_of(s))
        .expect("a cosignature of the witness");
    public.verify(checkpoint_text, sig).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Certificates, configuration, the witness in-process, a client.

/// Writes the dev CA, the witness's server certificate and two client certificates.
fn write_pki(dir: &Path) -> DevCa {
    let ca = DevCa::new("witness test CA").unwrap();
    std::fs::write(dir.join("ca.pem"), ca.cert_pem()).unwrap();
    for (name, sans) in [
        ("witness", &["localhost", "127.0.0.1"][..]),
        ("gateway", &[GATEWAY_IDENTITY][..]),
        ("stranger", &["stranger.tongban.test"][..]),
    ] {
        let issued = ca.issue(name, sans).unwrap();
        std::fs::write(dir.join(format!("{name}.pem")), issued.cert).unwrap();
        std::fs::write(dir.join(format!("{name}.key")), issued.key).unwrap();
    }
    ca
}

struct Setup<'a> {
    logs: &'a [&'a TestLog],
    listen: String,
    prefix: &'a str,
    mutual: bool,
    max_body: usize,
}

impl<'a> Setup<'a> {
    fn new(logs: &'a [&'a TestLog]) -> Self {
        Self {
            logs,
            listen: "127.0.0.1:0".into(),
            prefix: "",
            mutual: false,
            max_body: 65_536,
        }
    }
}

/// Writes `witness.toml` (and the PKI) into `dir`, creates the key; returns the file.
fn configure(dir: &Path, setup: &Setup<'_>) -> PathBuf {
    if !dir.join("ca.pem").exists() {
        write_pki(dir);
    }
    let mut toml = format!(
        "name = \"{WITNESS_NAME}\"\ndata_dir = \"data\"\nlisten = \"{}\"\nprefix = \"{}\"\n\n\
         [tls]\ncert = \"witness.pem\"\nkey = \"witness.key\"\n",
        setup.listen, setup.prefix
    );
    if setup.mutual {
        toml.push_str(&format!(
            "client_ca = \"ca.pem\"\nclients = [\"{GATEWAY_IDENTITY}\"]\n"
        ));
    }
    toml.push_str(&format!(
        "\n[limits]\nmax_body_bytes = {}\n",
        setup.max_body
    ));
    for log in setup.logs {
        toml.push_str(&format!(
            "\n[[log]]\norigin = \"{}\"\nkey = \"{}\"\n",
            log.origin,
            log.vkey()
        ));
    }
    let path = dir.join("witness.toml");
    std::fs::write(&path, toml).unwrap();
    let config = WitnessConfig::load(&path).unwrap();
    if !config.key_file.exists() {
        witness::generate_key(&config.key_file, &config.name).unwrap();
    }
    path
}

struct InProcess {
    addr: SocketAddr,
    public: CosignerKey,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl InProcess {
    async fn start(config: &Path) -> Self {
        let config = WitnessConfig::load(config).unwrap();
        let running = witness::start(&config).await.unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let addr = running.local_addr();
        let public = running.public_key();
        let task = running.spawn(async move {
            let _ = rx.await;
        });
        Self {
            addr,
            public,
            stop: Some(tx),
            task: Some(task),
        }
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.take().unwrap().await.unwrap();
    }
}

/// A client trusting the test CA, with a client certificate if `identity` is given.
fn client(dir: &Path, identity: Option<&str>) -> reqwest::Client {
    let ca = tls::certs_from_pem(&std::fs::read(dir.join("ca.pem")).unwrap(), "ca").unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca[0].clone()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let cfg = match identity {
        None => builder.with_no_client_auth(),
        Some(name) => builder
            .with_client_auth_cert(
                tls::certs_from_pem(
                    &std::fs::read(dir.join(format!("{name}.pem"))).unwrap(),
                    name,
                )
                .unwrap(),
                tls::key_from_pem(
                    &std::fs::read(dir.join(format!("{name}.key"))).unwrap(),
                    name,
                )
                .unwrap(),
            )
            .unwrap(),
    };
    reqwest::Client::builder()
        .use_preconfigured_tls(cfg)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

#[derive(Debug)]
struct Reply {
    status: u16,
    content_type: String,
    body: String,
}

struct Endpoint {
    http: reqwest::Client,
    base: String,
}

impl Endpoint {
    fn new(http: reqwest::Client, port: u16, prefix: &str) -> Self {
        Self {
            http,
            base: format!("https://localhost:{port}{prefix}"),
        }
    }

    async fn reply(resp: reqwest::Response) -> Result<Reply, reqwest::Error> {
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = resp.text().await?;
        Ok(Reply {
            status,
            content_type,
            body,
        })
    }

    async fn try_add(&self, body: impl Into<String>) -> Result<Reply, reqwest::Error> {
        let resp = self
            .http
            .post(format!("{}/add-checkpoint", self.base))
            .body(body.into())
            .send()
            .await?;
        Self::reply(resp).await
    }

    async fn add(&self, body: impl Into<String>) -> Reply {
        self.try_add(body).await.unwrap()
    }

    async fn try_checkpoint(&self, origin: &str) -> Result<Reply, reqwest::Error> {
        let url = format!("{}/{}/checkpoint", self.base, origin_hash(origin));
        Self::reply(self.http.get(url).send().await?).await
    }

    async fn checkpoint(&self, origin: &str) -> Reply {
        self.try_checkpoint(origin).await.unwrap()
    }

    /// The size of the checkpoint the witness serves for `origin`, after checking the log's
    /// signature and the witness's cosignature on it.
    async fn stored_size(&self, log: &TestLog, public: &CosignerKey) -> Option<u64> {
        let r = self.checkpoint(&log.origin).await;
        if r.status == 404 {
            return None;
        }
        assert_eq!(r.status, 200, "{}", r.body);
        let note = Note::parse(&r.body).unwrap();
        note.verify(&tongban::signing::Verifiers::new(vec![log.key.verifier()]))
            .unwrap();
        let sig = note.sigs.iter().find(|s| public.is_signer_of(s)).unwrap();
        public.verify(&note.text, sig).unwrap();
        Some(Checkpoint::parse_text(&note.text).unwrap().size)
    }
}

// ---------------------------------------------------------------------------------------------
// Cosigning.

#[tokio::test]
async fn a_witness_cosigns_a_growing_log_and_serves_the_cosigned_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = TestLog::new("tongban.example/ledger", 1);
    let config = configure(
        dir.path(),
        &Setup {
            prefix: "/witness/v1",
            ..Setup::new(&[&log])
        },
    );
    let w = InProcess::start(&config).await;
    let ep = Endpoint::new(client(dir.path(), None), w.addr.port(), "/witness/v1");
    assert_eq!(ep.checkpoint(&log.origin).await.status, 404);

    let before = witness::server::unix_now();
    let mut cosigned = 0u64;
    let mut last_time = 0;
    // The empty tree first, then growth by 1, 2, 3, … leaves across subtree boundaries.
    for step in 0..12u64 {
        log.grow(step);
        let size = log.size();
        let r = ep.add(log.body(cosigned, size)).await;
        assert_eq!(r.status, 200, "size {size}: {}", r.body);
        assert!(
            r.content_type.starts_with("text/plain"),
            "{}",
            r.content_type
        );
        assert!(r.body.starts_with(&format!("\u{2014} {WITNESS_NAME} ")));
        assert_eq!(r.body.matches('\n').count(), 1, "one line: {:?}", r.body);
        let t = cosignature_time(&w.public, &log.checkpoint(size).to_text(), &r.body);
        assert!(t >= before && t >= last_time && t <= witness::server::unix_now() + 1);
        last_time = t;

        // Monitors get the same cosignature on the checkpoint with the log's signature.
        let served = ep.checkpoint(&log.origin).await;
        assert_eq!(served.status, 200);
        assert!(served.body.starts_with(&log.checkpoint(size).to_text()));
        assert!(served.body.ends_with(&r.body), "{}", served.body);
        assert_eq!(ep.stored_size(&log, &w.public).await, Some(size));
        cosigned = size;
    }
    assert_eq!(cosigned, 66);
    // The same checkpoint again is cosigned again (old size = size, same root, no proof).
    let r = ep.add(log.body(cosigned, cosigned)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    w.stop().await;
}

#[tokio::test]
async fn every_refusal_has_the_specs_status_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = TestLog::new("tongban.example/ledger", 1);
    let fresh = TestLog::new("tongban.example/other", 2);
    let config = configure(
        dir.path(),
        &Setup {
            max_body: 8192,
            ..Setup::new(&[&log, &fresh])
        },
    );
    let w = InProcess::start(&config).await;
    let ep = Endpoint::new(client(dir.path(), None), w.addr.port(), "");
    log.grow(8);
    assert_eq!(ep.add(log.body(0, 8)).await.status, 200);
    log.grow(5);

    let unknown = TestLog::new("unknown.example/log", 3);
    let mut impostor = TestLog::new("tongban.example/ledger", 9);
    impostor.grow(13);
    let tampered = log.body(8, 13).replace("\n13\n", "\n14\n");
    let mut fork = log.fork(7);
    fork.grow(13);
    let mut zero_bad = fresh.checkpoint(0);
    zero_bad.root = [1; 32];
    let zero_bad = request(0, &[], &zero_bad.sign(&[&fresh.key]).unwrap());
    let mut fresh_grown = TestLog::new("tongban.example/other", 2);
    fresh_grown.grow(6);

    let cases: Vec<(&str, String, u16, &str)> = vec![
        ("malformed", "old 08\n\n".into(), 400, "leading zeroes"),
        ("no empty line", "old 8\n".into(), 400, "newline"),
        (
            "old above size",
            log.body(13, 13).replace("old 13", "old 14"),
            400,
            "above",
        ),
        (
            "unknown origin",
            unknown.body(0, 0),
            404,
            "unknown.example/log",
        ),
        (
            "untrusted key",
            impostor.body(8, 13),
            403,
            "no signature by a key this witness trusts",
        ),
        ("bad signature", tampered, 403, "does not verify"),
        ("stale old size", log.body(0, 13), 409, ""),
        (
            "bad proof",
            request(8, &log.proof(8, 13)[1..], &log.note(13)),
            422,
            "consistency proof",
        ),
        ("fork", fork.body(8, 13), 422, "consistency proof"),
        (
            "same size, other root",
            fork.body(8, 8),
            422,
            "different root",
        ),
        (
            "proof from 0",
            request(0, &[[2; 32]], &fresh_grown.note(6)),
            422,
            "takes no consistency proof",
        ),
        ("size 0, other root", zero_bad, 422, "empty tree"),
        ("too large", "x".repeat(9000), 413, "8192 bytes"),
    ];
    for (name, body, status, says) in cases {
        let r = ep.add(body).await;
        assert_eq!(r.status, status, "{name}: {}", r.body);
        assert!(r.body.ends_with('\n'), "{name}: {:?}", r.body);
        if status == 409 {
            assert_eq!(r.body, "8\n", "{name}");
            assert_eq!(r.content_type, "text/x.tlog.size", "{name}");
        } else {
            assert!(r.body.contains(says), "{name}: {:?}", r.body);
            assert!(r.content_type.starts_with("text/plain"), "{name}");
        }
    }
    // Nothing refused changed what the witness holds.
    assert_eq!(ep.stored_size(&log, &w.public).await, Some(8));
    assert_eq!(ep.stored_size(&fresh, &w.public).await, None);

    // Paths and methods the protocol does not have.
    let http = client(dir.path(), None);
    let base = format!("https://localhost:{}", w.addr.port());
    let r = Endpoint::reply(
        http.get(format!("{base}/add-checkpoint"))
            .send()
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(
        (r.status, r.body.contains("use POST")),
        (405, true),
        "{r:?}"
    );
    let r = Endpoint::reply(http.get(format!("{base}/nothing")).send().await.unwrap())
        .await
        .unwrap();
    assert_eq!(
        (r.status, r.body.contains("/nothing")),
        (404, true),
        "{r:?}"
    );
    let r = Endpoint::reply(
        http.get(format!("{base}/ABC/checkpoint"))
            .send()
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 404, "{r:?}");
    // The log the witness never cosigned: 404, as the spec says.
    let r = ep.checkpoint(&fresh.origin).await;
    assert_eq!(
        (r.status, r.body.contains("not cosigned")),
        (404, true),
        "{r:?}"
    );

    // And it goes on from where it was.
    assert_eq!(ep.add(log.body(8, 13)).await.status, 200);
    w.stop().await;
}

#[tokio::test]
async fn an_inconsistent_checkpoint_is_refused_and_both_checkpoints_kept_as_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = TestLog::new("tongban.example/ledger", 1);
    let config = configure(dir.path(), &Setup::new(&[&log]));
    let w = InProcess::start(&config).await;
    let ep = Endpoint::new(client(dir.path(), None), w.addr.port(), "");
    log.grow(10);
    assert_eq!(ep.add(log.body(0, 10)).await.status, 200);
    let cosigned = ep.checkpoint(&log.origin).await.body;

    // The log shows another history: the same size with another root, and a larger tree
    // that does not extend the one cosigned (with a proof that is valid in the fork).
    let mut fork = log.fork(5);
    fork.grow(16);
    let same_size = fork.body(10, 10);
    let larger = fork.body(10, 16);
    for body in [&same_size, &larger, &same_size] {
        assert_eq!(ep.add(body.clone()).await.status, 422);
    }
    let evidence_dir = dir
        .path()
        .join("data")
        .join("evidence")
        .join(origin_hash(&log.origin));
    let mut records: Vec<serde_json::Value> = std::fs::read_dir(&evidence_dir)
        .unwrap()
        .map(|e| serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap()).unwrap())
        .collect();
    assert_eq!(records.len(), 2, "one record per pair of checkpoints");
    records.sort_by_key(|r| r["request_body"].as_str().map(str::len));
    for (record, body, size) in [(&records[0], &same_size, 10), (&records[1], &larger, 16)] {
        assert_eq!(record["origin"], log.origin.as_str());
        assert_eq!(record["cosigned_checkpoint"], cosigned.as_str());
        assert_eq!(record["request_body"], body.as_str());
        assert_eq!(
            record["received_checkpoint"],
            fork.checkpoint(size).to_text()
        );
        assert!(record["refusal"].as_str().unwrap().starts_with("422 "));
        assert!(record["peer"].as_str().unwrap().starts_with("127.0.0.1:"));
        // Both checkpoints verify with the log's key: the log signed two histories.
        let keys = tongban::signing::Verifiers::new(vec![log.key.verifier()]);
        let received = body.split_once("\n\n").unwrap().1;
        Note::parse(received).unwrap().verify(&keys).unwrap();
        Note::parse(&cosigned).unwrap().verify(&keys).unwrap();
    }
    // The honest history goes on.
    log.grow(6);
    assert_eq!(ep.add(log.body(10, 16)).await.status, 200);
    w.stop().await;
}

#[tokio::test]
async fn concurrent_checkpoints_of_one_log_never_roll_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = TestLog::new("tongban.example/ledger", 1);
    let config = configure(dir.path(), &Setup::new(&[&log]));
    let w = InProcess::start(&config).await;
    let ep = Arc::new(Endpoint::new(client(dir.path(), None), w.addr.port(), ""));
    let mut stored = 0u64;
    for round in 0..15 {
        log.grow(8);
        // Eight requests from the same old size, each for another size, all at once: exactly
        // one is cosigned, the others learn its size.
        let tasks: Vec<_> = (1..=8u64)
            .map(|k| {
                let ep = ep.clone();
                let size = stored + k;
                let body = log.body(stored, size);
                tokio::spawn(async move { (size, ep.add(body).await) })
            })
            .collect();
        let mut winners = Vec::new();
        let mut told = Vec::new();
        for t in tasks {
            let (size, r) = t.await.unwrap();
            match r.status {
                200 => winners.push(size),
                409 => told.push(r.body.trim_end().parse::<u64>().unwrap()),
                other => panic!("round {round}: {other} {}", r.body),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        assert!(
            told.iter().all(|s| *s == winners[0]),
            "round {round}: {told:?}"
        );
        let now = ep.stored_size(&log, &w.public).await.unwrap();
        assert_eq!(now, winners[0]);
        assert!(now > stored);
        stored = now;
    }
    w.stop().await;
}

#[tokio::test]
async fn the_state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = TestLog::new("tongban.example/ledger", 1);
    let config = configure(dir.path(), &Setup::new(&[&log]));
    let w = InProcess::start(&config).await;
    let ep = Endpoint::new(client(dir.path(), None), w.addr.port(), "");
    log.grow(5);
    assert_eq!(ep.add(log.body(0, 5)).await.status, 200);
    let public = w.public.clone();
    w.stop().await;

    let w = InProcess::start(&config).await;
    assert_eq!(w.public, public, "the same key");
    let ep = Endpoint::new(client(dir.path(), None), w.addr.port(), "");
    assert_eq!(ep.stored_size(&log, &public).await, Some(5));
    log.grow(4);
    let r = ep.add(log.body(0, 9)).await;
    assert_eq!((r.status, r.body.as_str()), (409, "5\n"));
    assert_eq!(ep.add(log.body(5, 9)).await.status, 200);
    w.stop().await;
}

#[tokio::test]
async fn mutual_tls_admits_only_the_named_clients() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = TestLog::new("tongban.example/ledger", 1);
    let config = configure(
        dir.path(),
        &Setup {
            mutual: true,
            ..Setup::new(&[&log])
        },
    );
    let w = InProcess::start(&config).await;
    log.grow(3);
    let gateway = Endpoint::new(client(dir.path(), Some("gateway")), w.addr.port(), "");
    assert_eq!(gateway.add(log.body(0, 3)).await.status, 200);
    for who in [None, Some("stranger")] {
        let ep = Endpoint::new(client(dir.path(), who), w.addr.port(), "");
        assert!(
            ep.try_add(log.body(3, 3)).await.is_err(),
            "{who:?} admitted"
        );
        assert!(
            ep.try_checkpoint(&log.origin).await.is_err(),
            "{who:?} admitted"
        );
    }
    w.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Independent verification.

/// A Sigsum log (Sigsum's leaf format, RFC 6962 tree, origin
/// `sigsum.org/v1/tree/<hex sha256(log key)>`) whose checkpoint OUR witness cosigns over
/// HTTP; the Sigsum proof assembled from it, with our cosignature and a policy requiring our
/// witness, is checked by Mullvad's `sigsum` crate.
#[tokio::test]
async fn cosignatures_verify_with_mullvads_sigsum_crate() {
    use ed25519_dalek::Signer as _;

    // The signer of the logged messages, and its leaves.
    let signer = ed25519_dalek::SigningKey::from_bytes(&[21; 32]);
    let signer_pub = signer.verifying_key().to_bytes();
    let keyhash: [u8; 32] = Sha256::digest(signer_pub).into();
    let messages: Vec<[u8; 32]> = (0..7u8)
        .map(|i| Sha256::digest(format!("licence decision {i}")).into())
        .collect();
    let mut leaves = Vec::new();
    let mut leaf_sigs = Vec::new();
    for m in &messages {
        let checksum: [u8; 32] = Sha256::digest(m).into();
        let mut signed = b"sigsum.org/v1/tree-leaf\x00".to_vec();
        signed.extend_from_slice(&checksum);
        let sig = signer.sign(&signed).to_bytes();
        let mut leaf = checksum.to_vec();
        leaf.extend_from_slice(&sig);
        leaf.extend_from_slice(&keyhash);
        leaves.push(merkle::leaf_hash(&leaf));
        leaf_sigs.push(sig);
    }
    let size = leaves.len() as u64;
    let root = merkle::root_from_leaves(&leaves);

    // The log: its origin names its key's hash; its checkpoint is a signed note.
    let seed = [22; 32];
    let log_pub = SigningKey::from_seed("x", &seed)
        .unwrap()
        .verifier()
        .public_bytes();
    let log_keyhash = hex::encode(Sha256::digest(log_pub));
    let origin = format!("sigsum.org/v1/tree/{log_keyhash}");
    let log_key = SigningKey::from_seed(&origin, &seed).unwrap();
    let checkpoint = Checkpoint {
        origin: origin.clone(),
        size,
        root,
    };
    let note = checkpoint.sign(&[&log_key]).unwrap();

    // Our witness, configured for that log, cosigns it over HTTPS.
    let dir = tempfile::tempdir().unwrap();
    let stand_in = TestLog::new(&origin, seed[0]);
    assert_eq!(stand_in.key.verifier(), log_key.verifier());
    let config = configure(dir.path(), &Setup::new(&[&stand_in]));
    let w = InProcess::start(&config).await;
    let ep = Endpoint::new(client(dir.path(), None), w.addr.port(), "");
    let r = ep.add(request(0, &[], &note)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let witness_key = w.public.clone();
    w.stop().await;

    // The cosignature line: key id, timestamp, Ed25519 signature.
    let raw = B64
        .decode(r.body.trim_end().rsplit_once(' ').unwrap().1)
        .unwrap();
    assert_eq!(raw.len(), 4 + 8 + 64);
    let timestamp = u64::from_be_bytes(raw[4..12].try_into().unwrap());
    let cosig = hex::encode(&raw[12..]);
    let witness_pub = B64
        .decode(witness_key.to_string().splitn(3, '+').nth(2).unwrap())
        .unwrap();
    assert_eq!(witness_pub[0], 0x04);
    let witness_pub: [u8; 32] = witness_pub[1..].try_into().unwrap();
    let log_sig = hex::encode(&Note::parse(&note).unwrap().sigs[0].sig);

    // A Sigsum proof of message 3, in the ASCII format the crate reads.
    let index = 3u64;
    let path = merkle::inclusion_proof(&Leaves(leaves.clone()), index, size).unwrap();
    let ascii = |cosig: &str, timestamp: u64| {
        let mut s = format!(
            "version=2\nlog={log_keyhash}\nleaf={} {}\n\nsize={size}\nroot_hash={}\nsignature={log_sig}\n",
            hex::encode(keyhash),
            hex::encode(leaf_sigs[index as usize]),
            hex::encode(root),
        );
        if !cosig.is_empty() {
            s.push_str(&format!(
                "cosignature={} {timestamp} {cosig}\n",
                hex::encode(Sha256::digest(witness_pub))
            ));
        }
        s.push_str(&format!("\nleaf_index={index}\n"));
        for h in &path {
            s.push_str(&format!("node_hash={}\n", hex::encode(h)));
        }
        s
    };
    let policy = sigsum::Policy::parse(&format!(
        "log {}\nwitness tongban-witness {}\nquorum tongban-witness\n",
        hex::encode(log_pub),
        hex::encode(witness_pub)
    ))
    .unwrap();
    let verify = |text: &str| {
        let sig = sigsum::SigsumSignature::from_ascii(text).unwrap();
        sigsum::verify(
            &sigsum::Hash::from(messages[index as usize]),
            &sig,
            &[sigsum::PublicKey::from(signer_pub)],
            &policy,
        )
    };
    verify(&ascii(&cosig, timestamp)).unwrap();

    // Altered cosignature, altered time, or none: refused by the policy requiring us.
    let mut flipped = raw[12..].to_vec();
    flipped[0] ^= 1;
    let err = verify(&ascii(&hex::encode(flipped), timestamp)).unwrap_err();
    assert!(err.to_string().contains("cosignature"), "{err}");
    assert!(verify(&ascii(&cosig, timestamp + 1)).is_err());
    let err = verify(&ascii("", 0)).unwrap_err();
    assert!(
        err.to_string().contains("not enough valid cosignatures"),
        "{err}"
    );
}

struct Leaves(Vec<Hash>);

impl merkle::SubtreeHashes for Leaves {
    type Error = std::convert::Infallible;
    fn subtree(&self, level: u32, index: u64) -> Result<Hash, Self::Error> {
        let w = 1usize << level;
        let lo = index as usize * w;
        Ok(merkle::root_from_leaves(&self.0[lo..lo + w]))
    }
}

/// A C2SP cosignature/v1 verifier written from the spec (tlog-cosignature, "Ed25519 signed
/// message"), for Cloudflare's `signed_note` crate: key id SHA-256(name ‖ "\n" ‖ 0x04 ‖ key)[:4],
/// signature = 8-byte big-endian timestamp ‖ Ed25519 over
/// "cosignature/v1\ntime <timestamp>\n" ‖ the note text.
struct CosignatureV1 {
    name: String,
    id: u32,
    key: ed25519_dalek::VerifyingKey,
}

impl CosignatureV1 {
    fn from_vkey(vkey: &str) -> Self {
        let mut parts = vkey.splitn(3, '+');
        let name = parts.next().unwrap().to_owned();
        let _stated_id = parts.next().unwrap();
        let raw = B64.decode(parts.next().unwrap()).unwrap();
        assert_eq!(raw[0], 0x04);
        let mut h = Sha256::new();
        h.update(name.as_bytes());
        h.update(b"\n");
        h.update(&raw);
        let id = u32::from_be_bytes(h.finalize()[..4].try_into().unwrap());
        let key = ed25519_dalek::VerifyingKey::from_bytes(&raw[1..].try_into().unwrap()).unwrap();
        Self { name, id, key }
    }
}

impl signed_note::Verifier for CosignatureV1 {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        if sig.len() != 72 {
            return false;
        }
        let timestamp = u64::from_be_bytes(sig[..8].try_into().unwrap());
        if timestamp > i64::MAX as u64 {
            return false;
        }
        let mut signed = format!("cosignature/v1\ntime {timestamp}\n").into_bytes();
        signed.extend_from_slice(msg);
        let Ok(s) = ed25519_dalek::Signature::from_slice(&sig[8..]) else {
            return false;
        };
        self.key.verify_strict(&signed, &s).is_ok()
    }
}

#[tokio::test]
async fn the_cosigned_checkpoint_reads_and_verifies_with_cloudflares_signed_note() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = TestLog::new("tongban.example/ledger", 1);
    let config = configure(dir.path(), &Setup::new(&[&log]));
    let w = InProcess::start(&config).await;
    let ep = Endpoint::new(client(dir.path(), None), w.addr.port(), "");
    log.grow(9);
    assert_eq!(ep.add(log.body(0, 9)).await.status, 200);
    let served = ep.checkpoint(&log.origin).await.body;
    let public = w.public.clone();
    w.stop().await;

    let note = signed_note::Note::from_bytes(served.as_bytes()).unwrap();
    assert_eq!(note.text(), log.checkpoint(9).to_text().as_bytes());
    assert_eq!(note.to_bytes(), served.as_bytes(), "the same bytes back");
    let keys = signed_note::VerifierList::new(vec![
        Box::new(signed_note::StandardVerifier::new(&log.vkey()).unwrap()),
        Box::new(CosignatureV1::from_vkey(&public.to_string())),
    ]);
    let (verified, unknown) = note.verify(&keys).unwrap();
    assert_eq!(verified.len(), 2, "the log's signature and our cosignature");
    assert!(unknown.is_empty());
    assert!(verified
        .iter()
        .any(|s| s.name() == WITNESS_NAME && s.id() == public.key_id()));

    // A changed cosignature fails there too.
    let line_start = served.rfind('\u{2014}').unwrap();
    let (head, line) = served.split_at(line_start);
    let (prefix, b64) = line.trim_end().rsplit_once(' ').unwrap();
    let mut raw = B64.decode(b64).unwrap();
    raw[20] ^= 1;
    let bad = format!("{head}{prefix} {}\n", B64.encode(raw));
    let note = signed_note::Note::from_bytes(bad.as_bytes()).unwrap();
    assert!(matches!(
        note.verify(&keys),
        Err(signed_note::NoteError::InvalidSignature { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// The binary: key commands, and SIGKILLs.

fn tongban(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tongban"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn keygen_and_public_print_the_key_and_problems_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    write_pki(dir.path());
    let config = dir.path().join("witness.toml");
    std::fs::write(
        &config,
        "name = \"witness.test/w1\"\ndata_dir = \"wd\"\n[tls]\ncert = \"witness.pem\"\nkey = \"witness.key\"\n",
    )
    .unwrap();
    let c = config.to_str().unwrap();
    let made = tongban(&["witness", "keygen", "--config", c]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let public = String::from_utf8(made.stdout).unwrap();
    let key = CosignerKey::parse(public.trim_end()).unwrap();
    assert_eq!(key.name(), "witness.test/w1");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join("wd/witness.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let shown = tongban(&["witness", "public", "--config", c]);
    assert_eq!(String::from_utf8(shown.stdout).unwrap(), public);
    let again = tongban(&["witness", "keygen", "--config", c]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    // serve: every problem of the configuration, each naming its field, exit 64.
    let served = tongban(&["witness", "serve", "--config", c]);
    assert_eq!(served.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&served.stderr).contains("no [[log]]"));
    std::fs::write(
        &config,
        "name = \"witness.test/w1\"\nlisten = \"here\"\n[tls]\ncert = \"none.pem\"\nkey = \"witness.key\"\n\
         [[log]]\norigin = \"o\"\nkey = \"o+00000000+AAAA\"\n",
    )
    .unwrap();
    let served = tongban(&["witness", "serve", "--config", c]);
    assert_eq!(served.status.code(), Some(64));
    let err = String::from_utf8_lossy(&served.stderr).into_owned();
    for field in ["listen: here", "tls.cert: ", "log[0].key[0]"] {
        assert!(err.contains(field), "{field} not in {err}");
    }
}

/// The witness as its own process, on a fixed port so a restart is found at the same place.
struct WitnessProcess {
    child: Option<Child>,
    config: PathBuf,
    log: PathBuf,
}

impl WitnessProcess {
    fn spawn(&mut self, extra: &[&str]) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        self.child = Some(
            Command::new(env!("CARGO_BIN_EXE_tongban"))
                .args(["witness", "serve", "--config"])
                .arg(&self.config)
                .args(extra)
                .env("RUST_LOG", "warn")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap(),
        );
    }

    /// Waits until the witness answers HTTP; fails the test if it exits first.
    async fn wait_ready(&mut self, ep: &Endpoint, origin: &str) {
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("the witness exited ({status}): {}", tail(&self.log));
            }
            if ep.try_checkpoint(origin).await.is_ok() {
                return;
            }
            assert!(Instant::now() < end, "not ready: {}", tail(&self.log));
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn sigkill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Waits (up to 20 s) for the process to end by itself.
    async fn exited(&mut self) -> ExitStatus {
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                self.child = None;
                return status;
            }
            assert!(Instant::now() < end, "still running");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for WitnessProcess {
    fn drop(&mut self) {
        self.sigkill();
    }
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn public_key(config: &Path) -> CosignerKey {
    let c = WitnessConfig::load(config).unwrap();
    witness::load_key(&c.key_file, &c.name).unwrap().public()
}

/// Killed exactly between storing a checkpoint and answering (the hidden test flag makes the
/// process SIGKILL itself there): the cosignature nobody received is on disk, and the log,
/// which got no answer, learns the stored size from a 409 and goes on.
#[tokio::test]
async fn a_sigkill_between_storing_and_answering_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = TestLog::new("tongban.example/ledger", 1);
    let port = free_port();
    let config = configure(
        dir.path(),
        &Setup {
            listen: format!("127.0.0.1:{port}"),
            ..Setup::new(&[&log])
        },
    );
    let public = public_key(&config);
    let ep = Endpoint::new(client(dir.path(), None), port, "");
    let mut p = WitnessProcess {
        child: None,
        config,
        log: dir.path().join("witness.log"),
    };
    p.spawn(&["--sigkill-after-stores", "2"]);
    p.wait_ready(&ep, &log.origin).await;
    log.grow(3);
    assert_eq!(ep.add(log.body(0, 3)).await.status, 200);
    log.grow(4);
    // The second store: the process dies before answering.
    assert!(ep.try_add(log.body(3, 7)).await.is_err(), "answered");
    let status = p.exited().await;
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        assert_eq!(status.signal(), Some(9), "{status}");
    }

    p.spawn(&[]);
    p.wait_ready(&ep, &log.origin).await;
    // The unanswered checkpoint was stored, cosigned.
    assert_eq!(ep.stored_size(&log, &public).await, Some(7));
    // The log still believes 3: it is told 7, and goes on from there.
    log.grow(2);
    let r = ep.add(log.body(3, 9)).await;
    assert_eq!((r.status, r.body.as_str()), (409, "7\n"));
    assert_eq!(r.content_type, "text/x.tlog.size");
    assert_eq!(ep.add(log.body(7, 9)).await.status, 200);
    assert_eq!(ep.stored_size(&log, &public).await, Some(9));
}

/// What the submitting logs saw during the SIGKILL loop.
#[derive(Default)]
struct Seen {
    /// Per log: the largest size answered 200.
    acked: Vec<AtomicU64>,
    cosigned: AtomicU64,
    no_answer: AtomicU64,
    /// A request got no answer, and a later 409 named its size: stored, not answered.
    stored_unanswered: AtomicU64,
    violations: Mutex<Vec<String>>,
}

impl Seen {
    fn violation(&self, v: String) {
        self.violations.lock().unwrap().push(v);
    }
}

/// One log submitting its checkpoints as a log should: from the size it believes the witness
/// has, learning the witness's size from 409s, resending what got no answer.
async fn submit_loop(
    i: usize,
    mut log: TestLog,
    ep: Arc<Endpoint>,
    public: CosignerKey,
    seen: Arc<Seen>,
    stop: Arc<AtomicBool>,
) {
    let mut known = 0u64;
    let mut unanswered: Option<u64> = None;
    log.grow(1);
    while !stop.load(Ordering::SeqCst) {
        let size = log.size();
        match ep.try_add(log.body(known, size)).await {
            Ok(r) if r.status == 200 => {
                cosignature_time(&public, &log.checkpoint(size).to_text(), &r.body);
                let before = seen.acked[i].fetch_max(size, Ordering::SeqCst);
                if before > size {
                    seen.violation(format!(
                        "{}: 200 for {size} after 200 for {before}",
                        log.origin
                    ));
                }
                seen.cosigned.fetch_add(1, Ordering::SeqCst);
                known = size;
                unanswered = None;
                log.grow(rand::thread_rng().gen_range(1..=4));
            }
            Ok(r) if r.status == 409 => {
                let stored: u64 = r.body.trim_end().parse().unwrap();
                let acked = seen.acked[i].load(Ordering::SeqCst);
                if stored < acked {
                    seen.violation(format!(
                        "{}: the witness says {stored} after answering 200 for {acked}",
                        log.origin
                    ));
                }
                if Some(stored) == unanswered {
                    seen.stored_unanswered.fetch_add(1, Ordering::SeqCst);
                } else if stored > size {
                    seen.violation(format!("{}: told {stored}, never sent", log.origin));
                }
                unanswered = None;
                known = stored;
            }
            Ok(r) => seen.violation(format!("{}: {} {}", log.origin, r.status, r.body)),
            Err(_) => {
                seen.no_answer.fetch_add(1, Ordering::SeqCst);
                unanswered = Some(size);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_never_rolls_a_log_back() {
    let kills: u32 = std::env::var("WITNESS_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let seed: u64 = std::env::var("WITNESS_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!(
        "witness crash: seed {seed} (WITNESS_CRASH_SEED to replay the schedule), {kills} kills"
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);

    let dir = tempfile::tempdir().unwrap();
    let logs: Vec<TestLog> = (0..3u8)
        .map(|i| TestLog::new(&format!("log{i}.example/ledger"), i + 1))
        .collect();
    let port = free_port();
    let config = configure(
        dir.path(),
        &Setup {
            listen: format!("127.0.0.1:{port}"),
            ..Setup::new(&logs.iter().collect::<Vec<_>>())
        },
    );
    let public = public_key(&config);
    let ep = Arc::new(Endpoint::new(client(dir.path(), None), port, ""));
    let mut p = WitnessProcess {
        child: None,
        config,
        log: dir.path().join("witness.log"),
    };
    p.spawn(&[]);
    p.wait_ready(&ep, &logs[0].origin).await;

    let seen = Arc::new(Seen {
        acked: (0..logs.len()).map(|_| AtomicU64::new(0)).collect(),
        ..Seen::default()
    });
    let stop = Arc::new(AtomicBool::new(false));
    let checkers: Vec<TestLog> = logs.iter().map(|l| l.fork(0)).collect();
    let clients: Vec<_> = logs
        .into_iter()
        .enumerate()
        .map(|(i, log)| {
            tokio::spawn(submit_loop(
                i,
                log,
                ep.clone(),
                public.clone(),
                seen.clone(),
                stop.clone(),
            ))
        })
        .collect();

    for k in 1..=kills {
        tokio::time::sleep(Duration::from_millis(rng.gen_range(50..500))).await;
        p.sigkill();
        // No answer can come from a dead process: what was acknowledged is known now.
        let acked: Vec<u64> = seen
            .acked
            .iter()
            .map(|a| a.load(Ordering::SeqCst))
            .collect();
        p.spawn(&[]);
        p.wait_ready(&ep, &checkers[0].origin).await;
        for (i, log) in checkers.iter().enumerate() {
            let stored = ep.stored_size(log, &public).await.unwrap_or(0);
            if stored < acked[i] {
                seen.violation(format!(
                    "after kill {k}: {} stored {stored}, but 200 was answered for {}",
                    log.origin, acked[i]
                ));
            }
        }
    }
    // Let every log get at least one more cosignature after the last restart.
    let after: Vec<u64> = seen
        .acked
        .iter()
        .map(|a| a.load(Ordering::SeqCst))
        .collect();
    let end = Instant::now() + Duration::from_secs(20);
    while seen
        .acked
        .iter()
        .zip(&after)
        .any(|(a, b)| a.load(Ordering::SeqCst) <= *b)
    {
        assert!(
            Instant::now() < end,
            "a log made no progress after the last restart"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.await.unwrap();
    }
    p.sigkill();
    let violations = seen.violations.lock().unwrap().clone();
    eprintln!(
        "witness crash summary: seed {seed}, {kills} kills, {} cosigned, {} requests without an answer, \
         {} of them stored but unanswered (learned from a 409), {} violations",
        seen.cosigned.load(Ordering::SeqCst),
        seen.no_answer.load(Ordering::SeqCst),
        seen.stored_unanswered.load(Ordering::SeqCst),
        violations.len()
    );
    assert!(violations.is_empty(), "{violations:#?}");
}
