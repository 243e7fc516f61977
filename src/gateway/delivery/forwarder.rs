//! The outbox worker: takes due jobs, translates, signs (RFC 9421 over RFC 9530), delivers over
//! mutual TLS, classifies the reply once and records the outcome (FORWARDED, DELIVERED,
//! FAILED). Retries follow the configured back-off; past the give-up deadline an application
//! fails visibly and its source is told with a 补正 (correction) decision naming the reason.
//!
//! Shutdown stops taking jobs; attempts already in flight finish (bounded by the outgoing
//! request time limit).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use rand::rngs::StdRng;
use rand::SeedableRng;
use sha2::{Digest as _, Sha256};
use tokio::task::JoinSet;

use crate::model::{ApplicationNo, Decision, Document, Outcome};
use crate::platform::{self, Platform, Reply};

use super::breaker::{Admit, Attempted, Breakers};
use crate::gateway::config::Config;
use crate::gateway::intake::commit::{Change, IntakeError, Update};
use crate::gateway::intake::pipeline::{decision_facts, for_destination, Gateway};
use crate::gateway::ledger::journal::{base_record, now_ms, DecisionFacts, Step};
use crate::gateway::ops::observe;
use crate::gateway::outbox::{Job, JobKind, JobState, Transition};
use crate::gateway::record::{AppRecord, AppState, DocKind};
use crate::gateway::transport::convention;
use crate::gateway::transport::httpsig;
use crate::gateway::transport::tls;

/// How long the worker sleeps when nothing is due and nothing wakes it: the outbox is also
/// polled, so jobs whose back-off ends are picked up within this delay.
const IDLE_POLL: Duration = Duration::from_millis(250);

/// How often the pending gauge is counted from an outbox other instances share.
const COUNT_SHARED_EVERY: Duration = Duration::from_secs(1);

/// Officer named on a correction notice the gateway itself sends.
pub const GATEWAY_OFFICER: &str = "tongban 跨省通办网关";

/// One outgoing mTLS client per platform (each trusts only that platform's server CA).
pub fn clients(config: &Config) -> Result<HashMap<String, reqwest::Client>, tls::TlsError> {
    let mut out = HashMap::new();
    for p in &config.platforms {
        let c = tls::client(
            &p.server_ca,
            config.client.chain.clone(),
            config.client.key.clone_key(),
            config.outgoing,
        )?;
        out.insert(p.key.clone(), c);
    }
    Ok(out)
}

/// A task the worker started: the jobs it holds busy, and for an attempt, its destination
/// and whether it probes an open breaker.
struct Started {
    jobs: Vec<String>,
    attempt: Option<(String, bool)>,
}

/// The worker's state between turns of its loop.
struct Dispatch {
    gw: Arc<Gateway>,
    clients: Arc<HashMap<String, reqwest::Client>>,
    /// Attempts (answering, when a request was sent, whether the destination answered with
    /// anything but retry-later) and holds (answering nothing).
    tasks: JoinSet<Option<bool>>,
    started: HashMap<tokio::task::Id, Started>,
    /// Jobs being attempted or held. Their in-flight state is kept here, not written: after a
    /// crash a job found pending is simply sent again, and the destination answers the second
    /// copy as a duplicate of the same gateway number, which counts as delivered.
    busy: HashSet<String>,
    breakers: Breakers,
    rng: StdRng,
}

impl Dispatch {
    /// Starts due jobs, at most `free`; holds those whose destination's breaker is open.
    fn start_due(&mut self, free: usize) {
        let due = match self.gw.outbox.due_except(now_ms(), free, &self.busy) {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(error = %e, "outbox read failed");
                return;
            }
        };
        let mut held = Vec::new();
        for mut job in due {
            let now = now_ms();
            let probe = match self.breakers.admit(&job.destination, job.give_up_at, now) {
                Admit::Hold(until) => {
                    job.hold(until);
                    held.push(job);
                    continue;
                }
                Admit::Probe => true,
                Admit::Go => false,
            };
            if job.start(now).is_err() {
                if probe {
                    self.breakers.probe_lost(&job.destination);
                }
                continue;
            }
            if probe {
                tracing::info!(destination = %job.destination, job = %job.id, "probing a destination that kept answering retry-later");
            }
            let started = Started {
                jobs: vec![job.id.clone()],
                attempt: Some((job.destination.clone(), probe)),
            };
            let (gw, clients) = (self.gw.clone(), self.clients.clone());
            self.spawn(started, async move {
                let id = job.id.clone();
                attempt(&gw, &clients, job).await.unwrap_or_else(|e| {
                    tracing::error!(job = %id, error = %e, "delivery bookkeeping failed");
                    None
                })
            });
        }
        if !held.is_empty() {
            self.gw
                .ops
                .metrics
                .deliveries_held_total
                .inc_by(held.len() as u64);
            let started = Started {
                jobs: held.iter().map(|j| j.id.clone()).collect(),
                attempt: None,
            };
            let gw = self.gw.clone();
            self.spawn(started, async move {
                let hold = Change {
                    gateway_no: String::new(),
                    update: None,
                    event: None,
                    docs: vec![],
                    jobs: held,
                };
                if let Err(e) = gw.change(hold).await {
                    tracing::error!(error = %e, "holding deliveries failed");
                }
                None
            });
        }
    }

    fn spawn(
        &mut self,
        started: Started,
        task: impl Future<Output = Option<bool>> + Send + 'static,
    ) {
        self.busy.extend(started.jobs.iter().cloned());
        let handle = self.tasks.spawn(task);
        self.started.insert(handle.id(), started);
    }

    /// Frees a finished task's jobs and tells the breakers what its attempt found.
    fn finished(&mut self, done: Result<(tokio::task::Id, Option<bool>), tokio::task::JoinError>) {
        let (task, answered) = match done {
            Ok(done) => done,
            // A task that panicked: its jobs are pending again after a restart.
            Err(e) => {
                tracing::error!(error = %e, "outbox task failed");
                (e.id(), None)
            }
        };
        let Some(started) = self.started.remove(&task) else {
            return;
        };
        for id in &started.jobs {
            self.busy.remove(id);
        }
        let Some((destination, probe)) = started.attempt else {
            return;
        };
        match answered {
            Some(answered) => {
                let attempted = Attempted { answered, probe };
                if self
                    .breakers
                    .record(&destination, attempted, now_ms(), &mut self.rng)
                {
                    tracing::warn!(%destination, "destination keeps answering retry-later; holding its deliveries");
                }
                let platforms = &self.gw.config.platforms;
                let open = platforms.iter().filter(|p| self.breakers.is_open(&p.key));
                let m = &self.gw.ops.metrics;
                m.destinations_held.set(open.count() as i64);
            }
            None if probe => self.breakers.probe_lost(&destination),
            None => {}
        }
    }
}

/// Runs the outbox until `shutdown` completes.
pub async fn run(
    gw: Arc<Gateway>,
    clients: HashMap<String, reqwest::Client>,
    shutdown: impl Future<Output = ()>,
) {
    let limit = gw.config.concurrency.max(1);
    let mut d = Dispatch {
        breakers: Breakers::new(gw.config.retry.clone()),
        gw,
        clients: Arc::new(clients),
        tasks: JoinSet::new(),
        started: HashMap::new(),
        busy: HashSet::new(),
        rng: StdRng::from_entropy(),
    };
    tokio::pin!(shutdown);
    let gate = d.gw.outbox.gate();
    let mut counted = tokio::time::Instant::now();
    // Busy, the worker looks for due jobs once an eighth of its slots are free, not at every
    // delivery's end: each look is a round trip to the store (on PostgreSQL, a write of the
    // jobs' leases), and jobs are then taken several at a time.
    let look_when_free = (limit / 8).max(1);
    loop {
        let free = limit.saturating_sub(d.tasks.len());
        if free >= look_when_free {
            // Between the committer's batches: every job seen is durable.
            let _durable = gate.read().await;
            d.start_due(free);
        }
        tokio::select! {
            _ = &mut shutdown => break,
            _ = d.gw.wake.notified() => {}
            Some(done) = d.tasks.join_next_with_id(), if !d.tasks.is_empty() => d.finished(done),
            _ = tokio::time::sleep(IDLE_POLL) => {}
        }
        if d.gw.outbox.shared() && counted.elapsed() >= COUNT_SHARED_EVERY {
            // Other instances add and finish jobs too: count what the store holds.
            counted = tokio::time::Instant::now();
            let outbox = d.gw.outbox.clone();
            if let Ok(Ok(open)) = tokio::task::spawn_blocking(move || outbox.count_open()).await {
                d.gw.ops.set_pending(open, true);
            }
        }
    }
    tracing::info!(
        in_flight = d.tasks.len(),
        "outbox stopping; finishing attempts in flight"
    );
    while d.tasks.join_next().await.is_some() {}
}

/// What to send for a job: destination platform, URL and bytes.
struct Outgoing {
    platform: Platform,
    url: String,
    bytes: Bytes,
    /// Whether the bytes are stored already (as the application translated at intake).
    stored: bool,
    /// For a decision: the hash of the decision as received and its facts, which DELIVERED
    /// commits to.
    decision: Option<([u8; 32], DecisionFacts)>,
}

fn outgoing(gw: &Gateway, job: &Job, rec: &AppRecord) -> Result<Outgoing, String> {
    let dest: Platform = job.destination.parse()?;
    let base = &gw
        .config
        .platform(dest.key())
        .ok_or("destination not configured")?
        .base_url;
    let source: Platform = rec.source.parse()?;
    let decider: Platform = rec.destination.parse()?;
    let mut stored = false;
    let mut decision = None;
    let (bytes, path) = match job.kind {
        JobKind::Application => {
            let translated = gw
                .store
                .doc(&rec.gateway_no, DocKind::ApplicationSent)
                .map_err(|e| e.to_string())?;
            let bytes = match translated {
                // Translated at intake (the usual case).
                Some(bytes) => {
                    stored = true;
                    bytes
                }
                // A claim completed after a crash: translate now.
                None => {
                    let kind = DocKind::ApplicationReceived;
                    let (_, Document::Application(app)) =
                        gw.stored_document(&rec.gateway_no, kind, source)?
                    else {
                        return Err("stored application is not an application".into());
                    };
                    for_destination(dest, app, &rec.gateway_no)?
                }
            };
            (bytes, convention::apply_path(dest))
        }
        JobKind::Decision => {
            let (received, Document::Decision(d)) =
                gw.stored_document(&rec.gateway_no, DocKind::DecisionReceived, decider)?
            else {
                return Err("stored decision is not a decision".into());
            };
            decision = Some((Sha256::digest(&received).into(), decision_facts(&d)));
            // The source sees its own number again.
            let number = ApplicationNo::parse(&rec.source_no).map_err(|e| e.to_string())?;
            let written = platform::write_under(dest, Document::Decision(d), number);
            (written.bytes, convention::decision_path(dest))
        }
        JobKind::FailureNotice => {
            let reason = rec.failure.clone().unwrap_or_default();
            let d = Decision {
                number: ApplicationNo::parse(&rec.source_no).map_err(|e| e.to_string())?,
                outcome: Outcome::Correction,
                outcome_note: Some("未能送达审批机关".into()),
                opinion: format!(
                    "跨省通办网关未能将申请（网关编号 {}）送达审批机关：{reason}。请核实后重新提交。",
                    rec.gateway_no
                ),
                officer: GATEWAY_OFFICER.into(),
                decided_at: chrono::Utc::now()
                    .with_timezone(&crate::model::beijing()),
                licence: None,
                extensions: Default::default(),
            };
            let written = platform::write(dest, &Document::Decision(Box::new(d)));
            (written.bytes, convention::decision_path(dest))
        }
    };
    Ok(Outgoing {
        platform: dest,
        url: format!("{base}{path}"),
        bytes: bytes.into(),
        stored,
        decision,
    })
}

async fn send(gw: &Gateway, client: &reqwest::Client, out: &Outgoing) -> Reply {
    let ct = out.platform.content_type();
    let signed = httpsig::sign_message(
        httpsig::Message::Request {
            method: "POST",
            target_uri: &out.url,
        },
        ct,
        &out.bytes,
        &*gw.signer,
        gw.signatures_to(out.platform),
        chrono::Utc::now().timestamp(),
    );
    let res = client
        .post(&out.url)
        .header(http::header::CONTENT_TYPE, ct)
        .header("content-digest", &signed.content_digest)
        .header("signature-input", &signed.signature_input)
        .header("signature", &signed.signature)
        .body(out.bytes.clone())
        .send()
        .await;
    match res {
        Ok(resp) => {
            let status = resp.status().as_u16();
            match resp.bytes().await {
                Ok(body) => convention::classify(out.platform, status, &body),
                Err(e) => Reply::RetryLater(format!("reading the reply: {e}")),
            }
        }
        Err(e) => Reply::RetryLater(format!("sending: {e}")),
    }
}

/// Attempts a job and records the outcome; returns, when a request was sent, whether the
/// destination answered with anything but retry-later.
async fn attempt(
    gw: &Gateway,
    clients: &HashMap<String, reqwest::Client>,
    mut job: Job,
) -> Result<Option<bool>, IntakeError> {
    let m = &gw.ops.metrics;
    m.deliveries_attempted_total.inc();
    let rec = gw.store.get(&job.gateway_no)?;
    let built = match &rec {
        Some(rec) => outgoing(gw, &job, rec),
        None => Err("record missing".into()),
    };
    let (outcome, out) = match built {
        Ok(out) => match clients.get(out.platform.key()) {
            Some(client) => (send(gw, client, &out).await, Some(out)),
            None => (Reply::RetryLater("no client for destination".into()), None),
        },
        // A document that cannot be rebuilt will not get better by waiting.
        Err(e) => (
            Reply::Rejected(format!("cannot build the document: {e}")),
            None,
        ),
    };
    let answered = out
        .as_ref()
        .map(|_| !matches!(outcome, Reply::RetryLater(_)));
    let sent = Sent {
        sha: out.as_ref().map(|o| Sha256::digest(&o.bytes).into()),
        // Bytes stored already are not written again.
        to_store: out.as_ref().filter(|o| !o.stored).map(|o| o.bytes.to_vec()),
        decided: out.and_then(|o| o.decision),
    };
    let mut rng = StdRng::from_entropy();
    let now = now_ms();
    let transition = match job.finish(outcome.clone(), now, &gw.config.retry, &mut rng) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(job = %job.id, error = %e, "job not in flight");
            return Ok(answered);
        }
    };
    let Some(rec) = rec else {
        gw.outbox.put(&job)?;
        return Ok(answered);
    };
    match transition {
        Transition::Retry { delay } => {
            m.deliveries_retried_total.inc();
            tracing::warn!(
                job = %job.id,
                attempt = job.attempts,
                retry_in = ?delay,
                reason = job.last_error.as_deref().unwrap_or(""),
                "delivery to retry"
            );
            gw.change(change(&rec, None, None, None, vec![job])).await?;
        }
        Transition::Delivered => delivered(gw, job, &rec, &outcome, sent, now).await?,
        Transition::Failed => failed(gw, job, &rec, &outcome, now).await?,
    }
    Ok(answered)
}

/// What an attempt sent, for the record of its delivery.
struct Sent {
    /// The hash of the bytes sent (none when nothing was sent).
    sha: Option<[u8; 32]>,
    /// The bytes sent, when not stored already.
    to_store: Option<Vec<u8>>,
    /// For a decision: the hash of the decision as received and its facts.
    decided: Option<([u8; 32], DecisionFacts)>,
}

/// A change of `rec`'s application.
fn change(
    rec: &AppRecord,
    update: Option<Update>,
    event: Option<(&'static str, Option<String>)>,
    doc: Option<(DocKind, Vec<u8>)>,
    jobs: Vec<Job>,
) -> Change {
    Change {
        gateway_no: rec.gateway_no.clone(),
        update,
        event,
        docs: doc.into_iter().collect(),
        jobs,
    }
}

/// Records a delivery: FORWARDED for an application (with the destination's receipt),
/// DELIVERED for a decision (committing to it as received and its facts), nothing in the
/// ledger for a failure notice.
async fn delivered(
    gw: &Gateway,
    job: Job,
    rec: &AppRecord,
    outcome: &Reply,
    sent: Sent,
    now: i64,
) -> Result<(), IntakeError> {
    let m = &gw.ops.metrics;
    m.deliveries_succeeded_total.inc();
    let waited = u64::try_from(now.saturating_sub(job.created_at)).unwrap_or(0);
    observe(&m.delivery_latency_seconds, Duration::from_millis(waited));
    gw.ops.add_pending(-1);
    let receipt = match outcome {
        Reply::Accepted { receipt } => Some(receipt.clone()),
        _ => None,
    };
    let Sent {
        sha: sent_sha,
        to_store,
        decided,
    } = sent;
    let (update, step, doc): (Update, _, _) = match job.kind {
        JobKind::Application => {
            let receipt = receipt.clone();
            let update: Update = Box::new(move |rec| {
                if receipt.is_some() {
                    rec.destination_receipt = receipt;
                }
                let mut entry = base_record(rec, Step::Forwarded, now);
                entry.sent_sha256 = sent_sha;
                if rec.state == AppState::Received || rec.state == AppState::Failed {
                    rec.state = AppState::Forwarded;
                }
                Some(entry)
            });
            (
                update,
                "FORWARDED",
                to_store.map(|b| (DocKind::ApplicationSent, b)),
            )
        }
        JobKind::Decision => {
            let update: Update = Box::new(move |rec| {
                let mut entry = base_record(rec, Step::Delivered, now);
                entry.sent_sha256 = sent_sha;
                if let Some((sha, facts)) = decided {
                    entry.received_sha256 = sha;
                    entry.decision = Some(facts);
                }
                rec.state = AppState::Delivered;
                Some(entry)
            });
            (
                update,
                "DELIVERED",
                to_store.map(|b| (DocKind::DecisionSent, b)),
            )
        }
        JobKind::FailureNotice => (Box::new(|_| None), "SOURCE_NOTIFIED", None),
    };
    let event = Some((step, receipt));
    let index = gw
        .change(change(rec, Some(update), event, doc, vec![job]))
        .await?;
    tracing::info!(gateway_no = %rec.gateway_no, ledger_index = ?index, step, "delivery recorded");
    Ok(())
}

/// Records a delivery failed for good: FAILED (the application's source then told by a
/// failure notice), or, for a failure notice itself, that the source could not be told.
async fn failed(
    gw: &Gateway,
    job: Job,
    rec: &AppRecord,
    outcome: &Reply,
    now: i64,
) -> Result<(), IntakeError> {
    gw.ops.metrics.deliveries_failed_total.inc();
    gw.ops.add_pending(-1);
    let reason = match &job.state {
        JobState::Failed { reason, .. } => reason.clone(),
        _ => String::new(),
    };
    tracing::error!(job = %job.id, reason = %reason, "delivery failed for good");
    if job.kind == JobKind::FailureNotice {
        let update: Update = Box::new(|_| None);
        let event = Some(("SOURCE_NOT_NOTIFIED", Some(reason)));
        gw.change(change(rec, Some(update), event, None, vec![job]))
            .await?;
        return Ok(());
    }
    let code = match outcome {
        Reply::Rejected(_) => "rejected",
        _ => "gave-up",
    };
    let notice = (job.kind == JobKind::Application).then(|| {
        Job::new(
            JobKind::FailureNotice,
            &rec.gateway_no,
            &rec.source,
            now,
            &gw.config.retry,
        )
    });
    let code = format!("{}-{code}", job.kind.as_str());
    let failure = reason.clone();
    let update: Update = Box::new(move |rec| {
        let mut entry = base_record(rec, Step::Failed, now);
        entry.reason = Some(code);
        rec.state = AppState::Failed;
        rec.failure = Some(failure);
        Some(entry)
    });
    let has_notice = notice.is_some();
    let jobs = std::iter::once(job).chain(notice).collect();
    let event = Some(("FAILED", Some(reason)));
    gw.change(change(rec, Some(update), event, None, jobs))
        .await?;
    if has_notice {
        gw.ops.add_pending(1);
        gw.wake.notify_one();
    }
    Ok(())
}
