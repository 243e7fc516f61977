//! Crash loop under load: the gateway, as its own process (`tongban serve`) between the two
//! loopback sandbox platforms, is SIGKILLed at random moments while both platforms post
//! applications, restarted each time, then drained, stopped gracefully and checked from
//! outside.
//!
//! Shanghai clients post distinct Shanghai applications (the shared sample, its number made
//! unique) and Zhejiang clients distinct Zhejiang applications, each over its own mutual-TLS
//! connection. A client that gets no receipt (connection refused or reset by the kill, a
//! timeout, a retry-later reply) posts the same bytes again, as a platform would, until it
//! gets one. Both sandboxes decide what they receive and post the decisions back, so the
//! DECIDED and DELIVERED steps are crashed into too. The gateway is killed 0.2–2 s after each
//! time it becomes ready (`/readyz` 200), from a seeded RNG whose seed is printed.
//!
//! Afterwards, with the outbox drained (`tongban_outbox_pending` 0, every acknowledged
//! application at its destination), the test reads the ledger API
//! (`/api/v1/ledger/entries`), the status API (`/api/v1/applications/{gateway_no}`) and what
//! the sandboxes received, and checks the invariant as stated, not as the gateway implements
//! it:
//! - every gateway number has exactly one RECEIVED entry and one record (status API 200);
//! - every source application (source platform, source number) has exactly one gateway number;
//! - at most one FORWARDED, one DECIDED and one DELIVERED entry per gateway number;
//! - every ledger entry's step is on its record's timeline with that ledger index, and every
//!   ledger index on a timeline names an entry of that step and gateway number;
//! - nothing acknowledged is lost: each receipt's gateway number has a record for that source
//!   application, its ledger index names that RECEIVED entry, and the destination sandbox
//!   received it exactly once; each decision the gateway recorded (DECIDED) reached the source;
//! - the destination never received one source application under two gateway numbers, nor a
//!   number the gateway has no trace of;
//! - after a graceful stop (SIGTERM), `tongban audit export`, `audit verify` and `audit check`
//!   succeed on the gateway's data directory (found through the configuration, not assumed).
//!
//! Every violation is collected and printed with its gateway numbers and ledger indexes, then
//! the test fails. The last line printed is a one-line summary.
//!
//! Short form (30 kills, about a minute in a debug build):
//! `cargo test --test all crash:: -- --nocapture`
//!
//! Long form (documented; a few minutes):
//! `CRASH_KILLS=150 cargo test --test all crash:: -- --nocapture`
//!
//! Environment: `CRASH_KILLS` (kills, default 30), `CRASH_SEED` (seed of the kill schedule;
//! only the schedule replays, not the timing of requests), `CRASH_CLIENTS` (clients per
//! platform, default 3), `CRASH_TIMEOUT_S` (bound on the whole run, default the larger of
//! 300 s and 6 s per kill; past it the test stops where it is and fails with what it saw).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::{Rng as _, SeedableRng as _};
use serde_json::Value;
use tongban::demo::sandbox::{Received, Sandbox};
use tongban::demo::{Loopback, LoopbackOptions, SAMPLE_SH_APPLICATION};
use tongban::gateway::intake::pipeline::{GATEWAY_NO_HEADER, LEDGER_INDEX_HEADER};
use tongban::gateway::transport::convention;
use tongban::gateway::transport::tls;
use tongban::platform::Platform;
use tongban::platform::Reply;

/// The shared Shanghai sample's own number, replaced to make each application distinct.
const SH_SAMPLE_NO: &str = "SH-JS-LX-20261120-0007";
/// The number the Zhejiang template carries, replaced likewise.
const ZJ_TEMPLATE_NO: &str = "ZJ-CRASH-TEMPLATE-NO";
/// Most entries one ledger API call returns.
const LEDGER_PAGE: u64 = 256;
/// How long a restarted gateway may take to say ready before that start counts as failed.
const READY_BOUND: Duration = Duration::from_secs(30);
/// How long the drain may take once the load has stopped (the sandboxes' decision posters
/// give up after about 42 s of retries, so a decision is in well before this).
const DRAIN_BOUND: Duration = Duration::from_secs(60);
/// Pause between a client's posts of the same bytes while it has no receipt.
const RESEND_PAUSE: Duration = Duration::from_millis(100);

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.trim().parse().ok()
}

/// The run's settings, from the environment.
struct Settings {
    kills: u32,
    seed: u64,
    clients: usize,
    timeout: Duration,
}

impl Settings {
    fn from_env() -> Self {
        let kills = env_u64("CRASH_KILLS").unwrap_or(30).min(100_000) as u32;
        Self {
            kills,
            seed: env_u64("CRASH_SEED").unwrap_or_else(rand::random),
            clients: env_u64("CRASH_CLIENTS").unwrap_or(3).clamp(1, 64) as usize,
            timeout: Duration::from_secs(
                env_u64("CRASH_TIMEOUT_S").unwrap_or(300.max(6 * u64::from(kills))),
            ),
        }
    }
}

/// What broke the invariant (or the run), by kind, with the numbers and indexes involved.
#[derive(Default)]
struct Violations(Vec<(&'static str, String)>);

impl Violations {
    fn add(&mut self, kind: &'static str, detail: impl Into<String>) {
        self.0.push((kind, detail.into()));
    }

    fn extend(&mut self, other: Violations) {
        self.0.extend(other.0);
    }

    fn by_kind(&self) -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        for (k, _) in &self.0 {
            *m.entry(*k).or_default() += 1;
        }
        m
    }
}

/// A receipt a client got: the application and the gateway's answer.
#[derive(Debug, Clone)]
struct Ack {
    source: &'static str,
    source_no: String,
    destination: &'static str,
    gateway_no: String,
    /// `Tongban-Ledger-Index` of the receipt, when it carried one.
    ledger_index: Option<u64>,
    /// Posts of the same bytes it took.
    posts: u32,
    /// The receipt said "duplicate" although the bytes were the same every time.
    duplicate_reply: bool,
}

/// What the clients saw, shared while they run.
#[derive(Default)]
struct Tally {
    acks: Vec<Ack>,
    /// Applications posted that never got a receipt (the run's time bound ended them).
    unacknowledged: Vec<(&'static str, String)>,
    violations: Violations,
}

/// One post's outcome, as a platform reads it.
enum Answer {
    Receipt {
        gateway_no: String,
        ledger_index: Option<u64>,
        duplicate: bool,
    },
    /// No answer (connection refused or reset, timeout) or a retry-later answer.
    NoReceipt,
    /// A refusal of a valid application, or a receipt without the gateway's number.
    Refused(String),
}

async fn post(http: &reqwest::Client, url: &str, p: Platform, body: &str) -> Answer {
    let resp = match http
        .post(url)
        .header("content-type", p.content_type())
        .body(body.to_owned())
        .send()
        .await
    {
        Ok(r) => r,
        Err(_) => return Answer::NoReceipt,
    };
    let status = resp.status().as_u16();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let gateway_no = header(GATEWAY_NO_HEADER);
    let ledger_index = header(LEDGER_INDEX_HEADER).and_then(|v| v.parse().ok());
    let Ok(bytes) = resp.bytes().await else {
        return Answer::NoReceipt;
    };
    let duplicate = match convention::classify(p, status, &bytes) {
        Reply::Accepted { .. } => false,
        Reply::Duplicate => true,
        Reply::RetryLater(_) => return Answer::NoReceipt,
        Reply::Rejected(why) => {
            return Answer::Refused(format!(
                "HTTP {status}: {why}: {}",
                String::from_utf8_lossy(&bytes)
            ))
        }
    };
    match gateway_no {
        Some(gateway_no) => Answer::Receipt {
            gateway_no,
            ledger_index,
            duplicate,
        },
        None => Answer::Refused(format!(
            "HTTP {status}: a receipt without {GATEWAY_NO_HEADER}"
        )),
    }
}

/// One platform's client: distinct applications one after another, each posted until it
/// gets a receipt; no new application once `stop` is set.
struct Client {
    platform: Platform,
    destination: Platform,
    id: usize,
    url: String,
    template: String,
    template_no: &'static str,
    http: reqwest::Client,
}

impl Client {
    async fn run(self, stop: Arc<AtomicBool>, deadline: Instant, tally: Arc<Mutex<Tally>>) {
        let prefix = match self.platform {
            Platform::Shanghai => "SH",
            Platform::Zhejiang => "ZJ",
        };
        let source = self.platform.key();
        let mut i = 0u64;
        while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
            i += 1;
            let source_no = format!("{prefix}-CRASH-C{}-{i}", self.id);
            let body = self.template.replace(self.template_no, &source_no);
            let mut posts = 0u32;
            loop {
                if Instant::now() >= deadline {
                    lock(&tally).unacknowledged.push((source, source_no));
                    return;
                }
                posts += 1;
                match post(&self.http, &self.url, self.platform, &body).await {
                    Answer::Receipt {
                        gateway_no,
                        ledger_index,
                        duplicate,
                    } => {
                        lock(&tally).acks.push(Ack {
                            source,
                            source_no,
                            destination: self.destination.key(),
                            gateway_no,
                            ledger_index,
                            posts,
                            duplicate_reply: duplicate,
                        });
                        break;
                    }
                    Answer::NoReceipt => tokio::time::sleep(RESEND_PAUSE).await,
                    Answer::Refused(why) => {
                        lock(&tally).violations.add(
                            "valid application refused",
                            format!("{source} {source_no} (post {posts}): {why}"),
                        );
                        break;
                    }
                }
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The gateway as a child process; killed (SIGKILL) when dropped, so a failing test leaves
/// nothing running.
struct GatewayProcess {
    child: Option<Child>,
    config: PathBuf,
    log: PathBuf,
    ops: SocketAddr,
    http: reqwest::Client,
}

impl GatewayProcess {
    fn spawn(&mut self) -> Result<(), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| format!("{}: {e}", self.log.display()))?;
        let child = Command::new(env!("CARGO_BIN_EXE_tongban"))
            .args(["serve", "--config"])
            .arg(&self.config)
            .env(
                "RUST_LOG",
                std::env::var("CRASH_LOG").unwrap_or_else(|_| "error".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("spawning tongban serve: {e}"))?;
        self.child = Some(child);
        Ok(())
    }

    /// Whether the process ended by itself, and how.
    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.as_mut()?.try_wait().ok()?
    }

    /// SIGKILL and reap.
    fn sigkill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then waits up to `bound` for the exit; SIGKILL past it.
    async fn sigterm(&mut self, bound: Duration) -> Result<ExitStatus, String> {
        let Some(mut child) = self.child.take() else {
            return Err("no gateway process to stop".into());
        };
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        if !matches!(sent, Ok(s) if s.success()) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("kill -TERM failed: {sent:?}"));
        }
        let end = Instant::now() + bound;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Ok(status);
            }
            if Instant::now() > end {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("still running {bound:?} after SIGTERM; killed"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for `/readyz` to answer 200; the error says why it did not.
    async fn wait_ready(&mut self, bound: Duration) -> Result<(), String> {
        let url = format!("http://{}/readyz", self.ops);
        let end = Instant::now() + bound;
        loop {
            if let Some(status) = self.exited() {
                self.child = None;
                return Err(format!("exited ({status}) before it was ready"));
            }
            if let Ok(r) = self.http.get(&url).send().await {
                if r.status() == 200 {
                    return Ok(());
                }
            }
            if Instant::now() > end {
                self.sigkill();
                return Err(format!("not ready within {bound:?}; killed"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Starts the gateway and waits until it is ready, trying up to three times; each failed
    /// start is a violation (a gateway must come back after a crash).
    async fn start(&mut self, violations: &mut Violations, what: &str) -> Result<(), String> {
        let mut last = String::new();
        for attempt in 1..=3 {
            self.spawn()?;
            match self.wait_ready(READY_BOUND).await {
                Ok(()) => return Ok(()),
                Err(why) => {
                    violations.add(
                        "gateway did not come back",
                        format!(
                            "{what}, attempt {attempt}: {why}; its log ends:\n{}",
                            tail(&self.log, 10)
                        ),
                    );
                    last = why;
                }
            }
        }
        Err(format!(
            "{what}: the gateway did not start in 3 attempts ({last})"
        ))
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        self.sigkill();
    }
}

/// The last `n` lines of a file (the gateway's log).
fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// One ledger entry as the ledger API shows it.
#[derive(Debug, Clone)]
struct LedgerItem {
    index: u64,
    /// `received`, `forwarded`, … as the API writes it.
    step: String,
    gateway_no: String,
    source_platform: String,
    source_no: String,
}

/// The whole ledger through the ledger API, page by page.
async fn read_ledger(
    http: &reqwest::Client,
    ops: SocketAddr,
    violations: &mut Violations,
) -> Result<Vec<LedgerItem>, String> {
    let mut items = Vec::new();
    let mut size = None::<u64>;
    // Bounded: at most one call per page of the largest ledger this run can write.
    for _ in 0..100_000 {
        let start = items.len() as u64;
        if size.is_some_and(|s| start >= s) {
            return Ok(items);
        }
        let url = format!(
            "http://{ops}/api/v1/ledger/entries?start={start}&end={}",
            start + LEDGER_PAGE
        );
        let (status, body) = get_text(http, &url).await?;
        if status == 400 && start == 0 {
            // `start` is not below the size: the ledger is empty.
            return Ok(items);
        }
        if status != 200 {
            return Err(format!("{url}: HTTP {status}: {body}"));
        }
        let v: Value = serde_json::from_str(&body).map_err(|e| format!("{url}: {e}"))?;
        size = Some(v["size"].as_u64().ok_or(format!("{url}: no size"))?);
        let page = v["entries"]
            .as_array()
            .ok_or(format!("{url}: no entries"))?;
        if page.is_empty() {
            return Err(format!("{url}: an empty page below the size {size:?}"));
        }
        for item in page {
            let index = item["index"].as_u64().unwrap_or(u64::MAX);
            let expected = items.len() as u64;
            if index != expected {
                violations.add(
                    "ledger API",
                    format!("entry at position {expected} says index {index}"),
                );
            }
            let e = &item["entry"];
            if e.is_null() {
                violations.add(
                    "ledger API",
                    format!("ledger index {expected}: the leaf does not decode as an entry"),
                );
            }
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            items.push(LedgerItem {
                index: expected,
                step: s("step"),
                gateway_no: s("gateway_no"),
                source_platform: s("source_platform"),
                source_no: s("source_no"),
            });
        }
    }
    Err("the ledger API did not end".into())
}

/// An application's record as the status API shows it.
#[derive(Debug, Clone)]
struct RecordView {
    state: String,
    source_platform: String,
    source_no: String,
    destination: String,
    received_index: Option<u64>,
    /// (step, ledger index) in timeline order.
    timeline: Vec<(String, Option<u64>)>,
}

/// The record of `no` through the status API: `None` for 404.
/// The status and body of a GET; the error names the URL.
async fn get_text(
    http: &reqwest::Client,
    url: &str,
) -> Result<(reqwest::StatusCode, String), String> {
    let resp = http
        .get(url)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let status = resp.status();
    let body = resp.text().await.map_err(|e| format!("{url}: {e}"))?;
    Ok((status, body))
}

async fn read_record(
    http: &reqwest::Client,
    ops: SocketAddr,
    no: &str,
) -> Result<Option<RecordView>, String> {
    let url = format!("http://{ops}/api/v1/applications/{no}");
    let (status, body) = get_text(http, &url).await?;
    if status == 404 {
        return Ok(None);
    }
    if status != 200 {
        return Err(format!("{url}: HTTP {status}: {body}"));
    }
    let v: Value = serde_json::from_str(&body).map_err(|e| format!("{url}: {e}"))?;
    let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    Ok(Some(RecordView {
        state: s(&v["state"]),
        source_platform: s(&v["source"]["platform"]),
        source_no: s(&v["source"]["number"]),
        destination: s(&v["destination"]["platform"]),
        received_index: v["ledger"]["received_index"].as_u64(),
        timeline: v["timeline"]
            .as_array()
            .map(|t| {
                t.iter()
                    .map(|e| (s(&e["step"]), e["ledger_index"].as_u64()))
                    .collect()
            })
            .unwrap_or_default(),
    }))
}

/// A metric's value from `/metrics`, if it is there.
async fn metric(http: &reqwest::Client, ops: SocketAddr, name: &str) -> Option<i64> {
    let text = http
        .get(format!("http://{ops}/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))?
        .trim()
        .parse()
        .ok()
}

/// The gateway numbers of the applications a sandbox received and the source numbers of the
/// decisions, in order (repeats kept).
fn received(sb: &Sandbox) -> (Vec<String>, Vec<String>) {
    let (mut applications, mut decisions) = (Vec::new(), Vec::new());
    for r in sb.received() {
        match r {
            Received::Application { number, .. } => applications.push(number),
            Received::Decision { number, .. } => decisions.push(number),
        }
    }
    (applications, decisions)
}

/// What each sandbox received, by platform key.
struct AtSandboxes {
    applications: BTreeMap<&'static str, Vec<String>>,
    decisions: BTreeMap<&'static str, Vec<String>>,
}

impl AtSandboxes {
    fn of(lb: &Loopback) -> Self {
        let (zj_apps, zj_decisions) = received(&lb.zj);
        let (sh_apps, sh_decisions) = received(&lb.sh);
        let (zj, sh) = (Platform::Zhejiang.key(), Platform::Shanghai.key());
        Self {
            applications: BTreeMap::from([(zj, zj_apps), (sh, sh_apps)]),
            decisions: BTreeMap::from([(zj, zj_decisions), (sh, sh_decisions)]),
        }
    }

    fn has_application(&self, platform: &str, no: &str) -> bool {
        self.applications
            .get(platform)
            .is_some_and(|v| v.iter().any(|n| n == no))
    }

    fn has_decision(&self, platform: &str, source_no: &str) -> bool {
        self.decisions
            .get(platform)
            .is_some_and(|v| v.iter().any(|n| n == source_no))
    }
}

/// Checks the invariant over what was read from outside; every violation, none omitted.
fn check(
    acks: &[Ack],
    ledger: &[LedgerItem],
    records: &BTreeMap<String, Option<RecordView>>,
    at: &AtSandboxes,
) -> Violations {
    let mut v = Violations::default();
    let step_of = |i: u64| ledger.get(i as usize);

    // Ledger entries by gateway number, and gateway numbers by source application.
    let mut by_no: BTreeMap<&str, Vec<&LedgerItem>> = BTreeMap::new();
    let mut numbers_of: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for e in ledger {
        by_no.entry(&e.gateway_no).or_default().push(e);
        numbers_of
            .entry((e.source_platform.clone(), e.source_no.clone()))
            .or_default()
            .insert(e.gateway_no.clone());
    }
    for (no, rec) in records {
        if let Some(r) = rec {
            numbers_of
                .entry((r.source_platform.clone(), r.source_no.clone()))
                .or_default()
                .insert(no.clone());
        }
    }
    for a in acks {
        numbers_of
            .entry((a.source.to_owned(), a.source_no.clone()))
            .or_default()
            .insert(a.gateway_no.clone());
    }
    let indexes = |es: &[&LedgerItem], step: &str| -> Vec<u64> {
        es.iter()
            .filter(|e| e.step == step)
            .map(|e| e.index)
            .collect()
    };

    // Per gateway number: one RECEIVED, one record, at most one of each later step, and the
    // ledger and the record's timeline naming each other.
    for (no, rec) in records {
        let es = by_no.get(no.as_str()).cloned().unwrap_or_default();
        let received = indexes(&es, "received");
        match received.len() {
            1 => {}
            0 => v.add(
                "no RECEIVED entry",
                format!(
                    "{no}: no RECEIVED entry (its entries: {:?})",
                    es.iter().map(|e| (&e.step, e.index)).collect::<Vec<_>>()
                ),
            ),
            n => v.add(
                "several RECEIVED entries",
                format!("{no}: {n} RECEIVED entries at ledger indexes {received:?}"),
            ),
        }
        for step in ["forwarded", "decided", "delivered"] {
            let at = indexes(&es, step);
            if at.len() > 1 {
                v.add(
                    "step recorded twice",
                    format!(
                        "{no}: {} {} entries at ledger indexes {at:?}",
                        at.len(),
                        step.to_uppercase()
                    ),
                );
            }
        }
        let Some(r) = rec else {
            v.add(
                "no record",
                format!(
                    "{no}: the status API has no record (404), yet {}",
                    if es.is_empty() {
                        "the number was acknowledged or delivered".to_owned()
                    } else {
                        format!(
                            "the ledger has {:?}",
                            es.iter()
                                .map(|e| format!("{} at {}", e.step.to_uppercase(), e.index))
                                .collect::<Vec<_>>()
                        )
                    }
                ),
            );
            continue;
        };
        for e in &es {
            let step = e.step.to_uppercase();
            if !r
                .timeline
                .iter()
                .any(|(s, i)| *s == step && *i == Some(e.index))
            {
                v.add(
                    "ledger entry not on the record's timeline",
                    format!(
                        "{no}: {step} at ledger index {} is not on its timeline {:?}",
                        e.index, r.timeline
                    ),
                );
            }
            if e.source_platform != r.source_platform || e.source_no != r.source_no {
                v.add(
                    "ledger and record disagree",
                    format!(
                        "{no}: ledger index {} names source {} {}, the record {} {}",
                        e.index, e.source_platform, e.source_no, r.source_platform, r.source_no
                    ),
                );
            }
        }
        for (step, index) in &r.timeline {
            let Some(i) = index else { continue };
            match step_of(*i) {
                Some(e) if e.gateway_no == *no && e.step.to_uppercase() == *step => {}
                Some(e) => v.add(
                    "timeline index names another entry",
                    format!(
                        "{no}: timeline {step} names ledger index {i}, which is {} of {}",
                        e.step.to_uppercase(),
                        e.gateway_no
                    ),
                ),
                None => v.add(
                    "timeline index names another entry",
                    format!(
                        "{no}: timeline {step} names ledger index {i}, beyond the ledger ({} entries)",
                        ledger.len()
                    ),
                ),
            }
        }
        if let (Some(ri), [only]) = (r.received_index, received.as_slice()) {
            if ri != *only {
                v.add(
                    "ledger and record disagree",
                    format!("{no}: record's received_index {ri}, RECEIVED entry at {only}"),
                );
            }
        }
    }

    // Per source application: one gateway number.
    for ((platform, source_no), numbers) in &numbers_of {
        if numbers.len() > 1 {
            let detail: Vec<String> = numbers
                .iter()
                .map(|n| {
                    let es = by_no.get(n.as_str()).cloned().unwrap_or_default();
                    format!(
                        "{n} (RECEIVED at {:?}, record {})",
                        indexes(&es, "received"),
                        match records.get(n) {
                            Some(Some(r)) => r.state.as_str(),
                            Some(None) => "missing",
                            None => "not read",
                        }
                    )
                })
                .collect();
            v.add(
                "one application, several gateway numbers",
                format!(
                    "{platform} {source_no}: {} gateway numbers: {}",
                    numbers.len(),
                    detail.join(", ")
                ),
            );
        }
    }

    // Nothing acknowledged is lost.
    for a in acks {
        let what = format!(
            "{} {} acknowledged as {}",
            a.source, a.source_no, a.gateway_no
        );
        match records.get(&a.gateway_no) {
            Some(Some(r)) => {
                if r.source_platform != a.source || r.source_no != a.source_no {
                    v.add(
                        "acknowledged application lost",
                        format!(
                            "{what}: its record is of {} {}",
                            r.source_platform, r.source_no
                        ),
                    );
                }
            }
            _ => v.add(
                "acknowledged application lost",
                format!("{what}: no record"),
            ),
        }
        if let Some(i) = a.ledger_index {
            match step_of(i) {
                Some(e)
                    if e.step == "received"
                        && e.gateway_no == a.gateway_no
                        && e.source_no == a.source_no => {}
                Some(e) => v.add(
                    "receipt's ledger index wrong",
                    format!(
                        "{what}: the receipt's ledger index {i} is {} of {} ({})",
                        e.step.to_uppercase(),
                        e.gateway_no,
                        e.source_no
                    ),
                ),
                None => v.add(
                    "receipt's ledger index wrong",
                    format!("{what}: the receipt's ledger index {i} is beyond the ledger"),
                ),
            }
        }
        let got = at
            .applications
            .get(a.destination)
            .map_or(0, |v| v.iter().filter(|n| **n == a.gateway_no).count());
        if got != 1 {
            v.add(
                "acknowledged application not delivered once",
                format!(
                    "{what}: the {} sandbox received it {got} times",
                    a.destination
                ),
            );
        }
    }

    // The destination received each source application under one number, and only numbers
    // the gateway has a trace of.
    for (platform, numbers) in &at.applications {
        let mut sources: BTreeMap<(String, String), Vec<&str>> = BTreeMap::new();
        let mut seen = BTreeSet::new();
        for no in numbers {
            if !seen.insert(no.as_str()) {
                v.add(
                    "destination received a number twice",
                    format!("the {platform} sandbox received {no} more than once"),
                );
                continue;
            }
            let source = match (records.get(no), by_no.get(no.as_str())) {
                (Some(Some(r)), _) => {
                    if r.destination != *platform {
                        v.add(
                            "ledger and record disagree",
                            format!(
                                "{no}: delivered to {platform}, its record says {}",
                                r.destination
                            ),
                        );
                    }
                    Some((r.source_platform.clone(), r.source_no.clone()))
                }
                (_, Some(es)) => es
                    .first()
                    .map(|e| (e.source_platform.clone(), e.source_no.clone())),
                _ => None,
            };
            match source {
                Some(s) => sources.entry(s).or_default().push(no),
                None => v.add(
                    "destination received an untraced number",
                    format!("the {platform} sandbox received {no}: no record, no ledger entry"),
                ),
            }
        }
        for ((sp, sno), nos) in sources {
            if nos.len() > 1 {
                v.add(
                    "destination received one application twice",
                    format!(
                        "the {platform} sandbox received {sp} {sno} under {} numbers: {nos:?}",
                        nos.len()
                    ),
                );
            }
        }
    }

    // Each decision the gateway recorded reached the source.
    for e in ledger.iter().filter(|e| e.step == "decided") {
        if !at.has_decision(&e.source_platform, &e.source_no) {
            v.add(
                "recorded decision not delivered",
                format!(
                    "{}: DECIDED at ledger index {}, but the {} sandbox never got a decision on {}",
                    e.gateway_no, e.index, e.source_platform, e.source_no
                ),
            );
        }
    }
    v
}

/// Runs `tongban <args>`; the error carries its output.
fn tongban(args: &[&str]) -> Result<String, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_tongban"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("tongban {args:?}: {e}"))?;
    // Standard output only on success: progress lines go to standard error.
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        Err(format!(
            "tongban {args:?}: {}: {stdout}{stderr}",
            out.status
        ))
    }
}

/// Median and maximum.
fn median_max(d: &[Duration]) -> (Duration, Duration) {
    let mut s = d.to_vec();
    s.sort();
    (
        s.get(s.len() / 2).copied().unwrap_or_default(),
        s.last().copied().unwrap_or_default(),
    )
}

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loop_under_load_keeps_one_record_and_one_ledger_trail_per_application() {
    crash_loop(Setup {
        label: "embedded store",
        instances: 1,
        storage: None,
        _database: None,
        restart: None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loop_on_postgresql_keeps_one_record_and_one_ledger_trail_per_application() {
    let Some((database, storage)) = crate::backend::fresh_postgres("crash_one") else {
        return;
    };
    crash_loop(Setup {
        label: "PostgreSQL",
        instances: 1,
        storage: Some(storage),
        _database: Some(database),
        restart: None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_database_one_killed_again_and_again_lose_nothing() {
    let Some((database, storage)) = crate::backend::fresh_postgres("crash_two") else {
        return;
    };
    crash_loop(Setup {
        label: "two instances on PostgreSQL",
        instances: 2,
        storage: Some(storage),
        _database: Some(database),
        restart: None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_restarts_under_load_lose_nothing_and_the_gateway_recovers_by_itself() {
    let made = tokio::task::spawn_blocking(|| {
        let cluster = crate::backend::Cluster::start()?;
        let (database, storage) = crate::backend::fresh_database_on(&cluster.admin_url());
        Some((cluster, database, storage))
    });
    let Some((cluster, database, storage)) = made.await.unwrap() else {
        return;
    };
    crash_loop(Setup {
        label: "PostgreSQL stopped and started",
        instances: 1,
        storage: Some(storage),
        _database: Some(database),
        restart: Some(cluster),
    })
    .await;
}

/// What the crash loop runs against.
struct Setup {
    label: &'static str,
    /// Gateway processes sharing the storage, behind a TCP load balancer when more than one;
    /// each kill takes one of them down while the others serve.
    instances: usize,
    /// The `[storage]` table (none: the embedded store in the data directory).
    storage: Option<String>,
    /// The database it names, dropped at the end (before its cluster).
    _database: Option<tongban::store::postgres::TestDatabase>,
    /// The database cluster to stop (as a crash would) and start again under the running
    /// gateway, `CRASH_DB_RESTARTS` times (default 3), instead of killing the gateway.
    restart: Option<crate::backend::Cluster>,
}

async fn crash_loop(setup: Setup) {
    let settings = Settings::from_env();
    let started = Instant::now();
    let deadline = started + settings.timeout;
    println!(
        "crash ({}, {} instance(s)): seed {} (CRASH_SEED to replay the kill schedule), {} \
         kills, {} clients per platform, bound {:?}",
        setup.label,
        setup.instances,
        settings.seed,
        settings.kills,
        settings.clients,
        settings.timeout
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(settings.seed);
    let mut violations = Violations::default();

    let dir = tempfile::tempdir().expect("tempdir");
    let mut lb = Loopback::start(
        dir.path(),
        LoopbackOptions {
            // Both sandboxes decide soon, so decisions cross the kills too.
            decide_after: Duration::from_millis(300),
            initial_backoff_ms: 50,
            max_backoff_ms: 500,
            give_up_after_s: 3_600,
            witnesses: false,
            sm2: false,
            storage: setup.storage.clone(),
        },
    )
    .await
    .expect("loopback");
    // The gateway runs as its own process from here on, so it can be killed.
    lb.stop_gateway().await;
    // Let the stopped gateway's last tasks release the database lock.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let ops_http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let process = |config: PathBuf, ops: SocketAddr, i: usize| GatewayProcess {
        child: None,
        config,
        log: dir.path().join(format!("gateway-process-{i}.log")),
        ops,
        http: reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_millis(500))
            .build()
            .unwrap(),
    };
    // One instance listens where the platforms post; several sit behind a load balancer
    // listening there.
    let mut gws = Vec::new();
    let mut _balancer = None;
    if setup.instances == 1 {
        gws.push(process(lb.config_path.clone(), lb.ops_addr, 0));
    } else {
        let mut backends = Vec::new();
        for i in 0..setup.instances {
            let (config, listen, ops) = crate::backend::instance_config(&lb.config_path, i);
            backends.push(listen);
            gws.push(process(config, ops, i));
        }
        _balancer = Some(
            crate::balancer::Balancer::start(lb.gateway_addr, backends)
                .await
                .expect("the load balancer"),
        );
    }
    for (i, gw) in gws.iter_mut().enumerate() {
        gw.start(&mut violations, &format!("first start of instance {i}"))
            .await
            .expect("the gateway starts");
    }

    // Clients of both platforms, each on its own mutual-TLS connection.
    let ca = tls::certs_from_pem(&std::fs::read(lb.pki.ca()).unwrap(), "ca").unwrap();
    let sh_template = String::from_utf8(SAMPLE_SH_APPLICATION.to_vec()).unwrap();
    assert_eq!(sh_template.matches(SH_SAMPLE_NO).count(), 1);
    let zj_template = String::from_utf8(crate::gateway::zj_application(ZJ_TEMPLATE_NO)).unwrap();
    assert_eq!(zj_template.matches(ZJ_TEMPLATE_NO).count(), 1);
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut clients = Vec::new();
    for (platform, destination, name, template, template_no) in [
        (
            Platform::Shanghai,
            Platform::Zhejiang,
            "sh-platform",
            &sh_template,
            SH_SAMPLE_NO,
        ),
        (
            Platform::Zhejiang,
            Platform::Shanghai,
            "zj-platform",
            &zj_template,
            ZJ_TEMPLATE_NO,
        ),
    ] {
        let chain = tls::certs_from_pem(&std::fs::read(lb.pki.cert(name)).unwrap(), name).unwrap();
        let key_pem = std::fs::read(lb.pki.key(name)).unwrap();
        for id in 0..settings.clients {
            let http = tls::client(
                &ca,
                chain.clone(),
                tls::key_from_pem(&key_pem, name).unwrap(),
                tls::ClientTimeouts {
                    connect: Duration::from_secs(2),
                    request: Duration::from_secs(10),
                },
            )
            .unwrap();
            let client = Client {
                platform,
                destination,
                id,
                url: format!(
                    "https://localhost:{}{}",
                    lb.gateway_addr.port(),
                    convention::apply_path(platform)
                ),
                template: template.clone(),
                template_no,
                http,
            };
            clients.push(tokio::spawn(client.run(
                stop.clone(),
                deadline,
                tally.clone(),
            )));
        }
    }

    // The kill loop.
    let mut ready_times = Vec::new();
    let mut kills = 0u32;
    let mut served_alone = 0usize;
    let mut aborted = None::<String>;
    let rounds = match &setup.restart {
        Some(_) => env_u64("CRASH_DB_RESTARTS").unwrap_or(3) as u32,
        None => settings.kills,
    };
    for k in 1..=rounds {
        let up_for = Duration::from_millis(rng.gen_range(200..=2_000));
        if Instant::now() + up_for >= deadline {
            aborted = Some(format!(
                "the time bound ended the kill loop before kill {k}"
            ));
            break;
        }
        tokio::time::sleep(up_for).await;
        for (i, gw) in gws.iter_mut().enumerate() {
            if let Some(status) = gw.exited() {
                violations.add(
                    "gateway exited by itself",
                    format!(
                        "before kill {k} instance {i} exited ({status}); its log ends:\n{}",
                        tail(&gw.log, 10)
                    ),
                );
            }
        }
        if let Some(cluster) = &setup.restart {
            // The database goes away under the running gateway, and comes back.
            let down_for = Duration::from_millis(rng.gen_range(500..=2_000));
            std::thread::scope(|s| {
                s.spawn(|| cluster.stop_server("immediate"));
            });
            tokio::time::sleep(down_for / 2).await;
            // Meanwhile the gateway says it is not ready, and why.
            let url = format!("http://{}/readyz", gws[0].ops);
            match get_text(&ops_http, &url).await {
                Ok((status, body)) if status == 503 && body.contains("database") => {}
                other => violations.add(
                    "readiness",
                    format!("with the database down, /readyz answered {other:?}"),
                ),
            }
            tokio::time::sleep(down_for / 2).await;
            let restarted_at = Instant::now();
            std::thread::scope(|s| {
                s.spawn(|| cluster.start_server());
            });
            kills += 1;
            if let Err(why) = gws[0].wait_ready(READY_BOUND).await {
                violations.add("gateway did not recover by itself", why.clone());
                aborted = Some(why);
                break;
            }
            let ready = restarted_at.elapsed();
            ready_times.push(ready);
            println!(
                "database restart {k}/{rounds}: after {} ms up, down {} ms; the gateway ready \
                 again {} ms after the database started; {} acknowledged so far",
                ms(up_for),
                ms(down_for),
                ms(ready),
                lock(&tally).acks.len()
            );
            continue;
        }
        let victim = rng.gen_range(0..gws.len());
        gws[victim].sigkill();
        kills += 1;
        let killed_at = Instant::now();
        if gws.len() > 1 {
            // The others serve alone for a while: what they acknowledge meanwhile counts.
            let acks_before = lock(&tally).acks.len();
            tokio::time::sleep(Duration::from_millis(rng.gen_range(200..=1_000))).await;
            served_alone += lock(&tally).acks.len() - acks_before;
        }
        if let Err(why) = gws[victim]
            .start(&mut violations, &format!("restart after kill {k}"))
            .await
        {
            aborted = Some(why);
            break;
        }
        let ready = killed_at.elapsed();
        ready_times.push(ready);
        println!(
            "kill {k}/{rounds}: instance {victim} after {} ms up; ready again in {} ms; {} \
             acknowledged so far",
            ms(up_for),
            ms(ready),
            lock(&tally).acks.len()
        );
    }

    // No new applications; those in flight go on until they have their receipts.
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        let left = deadline.saturating_duration_since(Instant::now());
        if tokio::time::timeout(left, c).await.is_err() {
            aborted.get_or_insert_with(|| "the time bound ended the clients".into());
        }
    }
    let (acks, unacknowledged, client_violations) = {
        let mut t = lock(&tally);
        (
            std::mem::take(&mut t.acks),
            std::mem::take(&mut t.unacknowledged),
            std::mem::take(&mut t.violations),
        )
    };
    violations.extend(client_violations);

    // Drain: outbox empty, every acknowledged application at its destination, every decision
    // back at its source.
    let drain_end = deadline.min(Instant::now() + DRAIN_BOUND);
    let drain_started = Instant::now();
    let mut pending = None;
    let ops0 = gws[0].ops;
    loop {
        if gws.iter_mut().any(|gw| gw.exited().is_some()) {
            aborted.get_or_insert_with(|| "a gateway stopped during the drain".into());
            break;
        }
        // Every instance counts the jobs of the shared outbox: the first one's count is all.
        pending = metric(&ops_http, ops0, "tongban_outbox_pending").await;
        let at = AtSandboxes::of(&lb);
        let done = pending.is_some_and(|p| p <= 0)
            && acks.iter().all(|a| {
                at.has_application(a.destination, &a.gateway_no)
                    && at.has_decision(a.source, &a.source_no)
            });
        if done || Instant::now() >= drain_end {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let drain_took = drain_started.elapsed();
    if pending.is_none_or(|p| p > 0) {
        violations.add(
            "outbox did not drain",
            format!("tongban_outbox_pending is {pending:?} after {drain_took:?}"),
        );
    }

    // Read everything from outside: the ledger, each number's record, the sandboxes.
    let ledger = match read_ledger(&ops_http, ops0, &mut violations).await {
        Ok(l) => l,
        Err(why) => {
            violations.add("ledger API", why);
            Vec::new()
        }
    };
    // Every instance serves the same ledger.
    for (i, gw) in gws.iter().enumerate().skip(1) {
        let theirs = read_ledger(&ops_http, gw.ops, &mut violations).await;
        let key = |l: &[LedgerItem]| -> Vec<(String, String)> {
            l.iter()
                .map(|e| (e.step.clone(), e.gateway_no.clone()))
                .collect()
        };
        match theirs {
            Ok(theirs) if key(&theirs) == key(&ledger) => {}
            Ok(theirs) => violations.add(
                "instances disagree",
                format!(
                    "instance {i}'s ledger API shows {} entries, instance 0's {}, or other \
                     entries",
                    theirs.len(),
                    ledger.len()
                ),
            ),
            Err(why) => violations.add("ledger API", format!("instance {i}: {why}")),
        }
    }
    if gws.len() > 1 && kills > 0 && served_alone == 0 {
        violations.add(
            "instances",
            "nothing was acknowledged while an instance was down: the others did not serve",
        );
    }
    let at = AtSandboxes::of(&lb);
    let mut numbers: BTreeSet<String> = ledger.iter().map(|e| e.gateway_no.clone()).collect();
    numbers.extend(acks.iter().map(|a| a.gateway_no.clone()));
    numbers.extend(at.applications.values().flatten().cloned());
    let mut records = BTreeMap::new();
    for no in &numbers {
        if Instant::now() >= deadline {
            aborted.get_or_insert_with(|| "the time bound ended reading the records".into());
            break;
        }
        match read_record(&ops_http, ops0, no).await {
            Ok(r) => {
                records.insert(no.clone(), r);
            }
            Err(why) => violations.add("status API", why),
        }
    }
    let mut states: BTreeMap<String, usize> = BTreeMap::new();
    for r in records.values().flatten() {
        *states.entry(r.state.clone()).or_default() += 1;
    }

    // A graceful stop, then the offline audit of what it left, exported through each
    // instance's configuration.
    for (i, gw) in gws.iter_mut().enumerate() {
        match gw.sigterm(Duration::from_secs(30)).await {
            Ok(status) if status.success() => {}
            Ok(status) => violations.add(
                "graceful stop",
                format!(
                    "instance {i}: exit {status}; its log ends:\n{}",
                    tail(&gw.log, 10)
                ),
            ),
            Err(why) => violations.add("graceful stop", format!("instance {i}: {why}")),
        }
    }
    let mut roots = BTreeSet::new();
    for (i, gw) in gws.iter().enumerate() {
        let config = gw.config.to_str().unwrap().to_owned();
        let bundle = dir.path().join(format!("audit-bundle-{i}"));
        let bundle_arg = bundle.to_str().unwrap();
        let audit = |args: &[&str]| tongban(&[&["audit", "--config", &config][..], args].concat());
        match audit(&["export", bundle_arg]) {
            Err(why) => violations.add("audit", why),
            Ok(_) => match audit(&["verify", bundle_arg, "--json"]) {
                Err(why) => violations.add("audit", why),
                Ok(report) => {
                    let report = serde_json::from_str::<Value>(&report).unwrap_or_default();
                    let size = report["tree_size"].as_u64();
                    roots.insert(report["root"].to_string());
                    if !matches!(size, Some(s) if s >= ledger.len() as u64) {
                        violations.add(
                            "audit",
                            format!(
                                "instance {i}: the verified bundle's tree size {size:?} is \
                                 below the {} entries the ledger API showed",
                                ledger.len()
                            ),
                        );
                    }
                }
            },
        }
        if i == 0 {
            if let Err(why) = audit(&["check"]) {
                violations.add("audit", why);
            }
        }
    }
    if roots.len() > 1 {
        violations.add(
            "audit",
            format!("the instances' exports differ: roots {roots:?}"),
        );
    }

    violations.extend(check(&acks, &ledger, &records, &at));
    if let Some(why) = &aborted {
        violations.add("run cut short", why.clone());
    }
    lb.stop().await;

    // Report everything at once.
    let resent = acks.iter().filter(|a| a.posts > 1).count();
    let duplicate_replies: Vec<String> = acks
        .iter()
        .filter(|a| a.duplicate_reply)
        .map(|a| format!("{} {} → {}", a.source, a.source_no, a.gateway_no))
        .collect();
    let redelivered: usize = at
        .decisions
        .values()
        .map(|v| v.len() - v.iter().collect::<BTreeSet<_>>().len())
        .sum();
    println!(
        "crash: ledger {} entries; records by state {states:?}; {} posted never acknowledged \
         (the time bound); {resent} acknowledged only after re-posting the same bytes; \
         decisions delivered to a source more than once: {redelivered} (at-least-once \
         delivery, not a violation); drain took {} ms",
        ledger.len(),
        unacknowledged.len(),
        ms(drain_took)
    );
    if !duplicate_replies.is_empty() {
        println!(
            "crash: identical bytes answered as a duplicate (receipt of the first number): {}",
            duplicate_replies.join(", ")
        );
    }
    for gw in &gws {
        let logged = std::fs::read_to_string(&gw.log).unwrap_or_default();
        println!(
            "crash: {} logged {} lines at error level",
            gw.log.file_name().unwrap_or_default().to_string_lossy(),
            logged.lines().count()
        );
        if !violations.0.is_empty() {
            println!("{}", tail(&gw.log, 10));
        }
    }
    for (kind, detail) in &violations.0 {
        println!("VIOLATION [{kind}] {detail}");
    }
    let (median, max) = median_max(&ready_times);
    let sh_zj = acks.iter().filter(|a| a.source == "sh").count();
    let summary = format!(
        "crash summary ({}, {} instance(s)): seed {}, kills {kills}, acknowledged {} (sh→zj \
         {sh_zj}, zj→sh {}; {served_alone} while an instance was down), restart-to-ready \
         median {} ms max {} ms, violations {} {:?}, {:.1} s",
        setup.label,
        setup.instances,
        settings.seed,
        acks.len(),
        acks.len() - sh_zj,
        ms(median),
        ms(max),
        violations.0.len(),
        violations.by_kind(),
        started.elapsed().as_secs_f64()
    );
    println!("{summary}");
    assert!(violations.0.is_empty(), "{summary}");
}
