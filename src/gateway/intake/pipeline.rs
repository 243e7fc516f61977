//! Intake: what happens when a partner posts an application or a decision.
//!
//! Application from platform P: validate in P's vocabulary → check P may send it (its own
//! province, a target in the other province that routing knows) → claim P's number and store
//! the exact bytes → ledger RECEIVED → outbox job → flush → reply in P's convention with the
//! receipt (gateway number, ledger index in `Tongban-Ledger-Index`, RFC 9421 signature).
//! The same number sent again gets the first receipt and forwards nothing.
//!
//! Decision from platform D: validate → the application must have been routed to D → store →
//! ledger DECIDED → outbox job back to the source → flush → reply.
//!
//! Applications are written by the [`Committer`], many per transaction and flush.
//! Nothing is acknowledged before it is durable. A crash after the claim and before the
//! receipt leaves a record without a RECEIVED index; [`Gateway::recover`] (at start) and a
//! resubmission both complete it.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest as _, Sha256};
use tokio::sync::{Notify, Semaphore};

use crate::model::message::DocKind as Expected;
use crate::model::rules::Field;
use crate::model::{Document, Message, Problems};
use crate::platform::{self, Platform, Read};

use super::commit::{Change, Committer, IntakeError, Receive, Received, Update};
use super::sender::{self, Sender};
use crate::gateway::config::{Config, PlatformConfig};
use crate::gateway::ledger::journal::{
    base_record, now_ms, signed_note, DecisionFacts, Journal, Record, Step,
};
use crate::gateway::ops::Ops;
use crate::gateway::outbox::{Job, JobKind, OutboxStore};
use crate::gateway::record::{AppRecord, AppState, AppStore, DocKind};
use crate::gateway::transport::convention::{self, ReplyBody};
use crate::gateway::transport::httpsig::{self, MessageSigner};
use crate::gateway::transport::tls::Partner;

/// Response header carrying the ledger index of the RECEIVED (or DECIDED) record.
pub const LEDGER_INDEX_HEADER: &str = "tongban-ledger-index";

/// Response header carrying the gateway's cross-province number.
pub const GATEWAY_NO_HEADER: &str = "tongban-gateway-no";

/// Applications this large (their bytes as received) have their documents stored and synced
/// before their batch, on the blocking pool: written inside the batch, a 12 MB document held
/// the one committer, and every other application of the moment with it, for hundreds of
/// milliseconds (sled writes it to a blob file of its own, which the commit must sync).
pub const STORED_AHEAD: usize = 1024 * 1024;

/// Prefix of gateway numbers: `TB` + UTC date + 10-digit sequence (20 characters, within
/// both platforms' 32-character limit, sortable by time).
pub const GATEWAY_NO_PREFIX: &str = "TB";

/// Documents smaller than this are read, checked and translated on the async worker that
/// received them: handing one to the blocking pool and back costs more than the work (the
/// load bench's 2.6 KB applications, all handed over: 0.38–0.40 ms of gateway CPU per
/// request instead of 0.28–0.29), and a linear reader is through 16 KiB in well under a
/// millisecond. Documents with their materials inline (scanned pages, hundreds of KB) go to
/// the pool.
pub const INLINE_BELOW: usize = 16 * 1024;

/// Domain-separation label of applicant id hashes (the ledger's own definition).
const ID_HASH_LABEL: &[u8] = b"tongban/id-hash/v1\0";

/// The gateway number for sequence `seq` on `date` (UTC).
pub fn gateway_no(date: chrono::NaiveDate, seq: u64) -> String {
    format!(
        "{GATEWAY_NO_PREFIX}{}{:010}",
        date.format("%Y%m%d"),
        seq % 10_000_000_000
    )
}

/// Keys (gateway numbers, per step) whose intake is being completed by a live request, so a
/// concurrent identical request waits for the first instead of recording the step twice.
#[derive(Default)]
pub struct InProgress(std::sync::Mutex<std::collections::HashSet<String>>);

/// Holds a key of [`InProgress`] until dropped.
pub struct InProgressGuard<'a> {
    set: &'a InProgress,
    key: String,
}

impl InProgress {
    /// Takes `key`, or `None` when another request holds it.
    pub fn take(&self, key: String) -> Option<InProgressGuard<'_>> {
        let fresh = self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone());
        // Built only when taken: dropping a guard releases its key.
        if fresh {
            Some(InProgressGuard { set: self, key })
        } else {
            None
        }
    }
}

impl Drop for InProgressGuard<'_> {
    fn drop(&mut self) {
        self.set
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.key);
    }
}

/// Everything intake and delivery share.
pub struct Gateway {
    /// Resolved configuration.
    pub config: Arc<Config>,
    /// Records and documents.
    pub store: Arc<dyn AppStore>,
    /// The outbox (same database as `store`).
    pub outbox: Arc<dyn OutboxStore>,
    /// The ledger.
    pub journal: Arc<dyn Journal>,
    /// Signs replies and forwarded requests.
    pub signer: Arc<dyn MessageSigner>,
    /// Metrics and readiness.
    pub ops: Arc<Ops>,
    /// Salt of applicant id hashes in the ledger.
    pub id_salt: [u8; 32],
    /// Wakes the forwarder when a job is added.
    pub wake: Arc<Notify>,
    committer: Committer,
    in_progress: InProgress,
    /// Per platform (in [`Platform::ALL`]'s order), permits for CPU-heavy work on its
    /// documents: see [`Gateway::off_workers`].
    work: [Arc<Semaphore>; Platform::ALL.len()],
}

/// What intake made of an application; each caller answers it in its own way (a platform
/// in its reply convention, a window clerk's page with a receipt or the problems).
#[derive(Debug)]
pub enum Intake {
    /// Accepted and durable, now or before with the same bytes: the record, with the ledger
    /// index of RECEIVED.
    Accepted(Box<AppRecord>),
    /// The number was accepted before with other content: the first record.
    Duplicate(Box<AppRecord>),
    /// Not a valid application: every problem, in the sending platform's vocabulary.
    Invalid(Problems),
    /// A valid application the sending platform may not send.
    Forbidden(Refusal),
}

/// A partner's request as the pipeline reads it besides its body: who called (from its
/// verified client certificate), its headers and the path and query it called.
#[derive(Clone, Copy)]
pub struct Call<'a> {
    /// The calling platform.
    pub partner: &'a Partner,
    /// The request's headers (for its own RFC 9421 signature).
    pub headers: &'a HeaderMap,
    /// The path and query called.
    pub path_and_query: &'a str,
}

/// What a partner's request established once read off the async workers: who signed it,
/// and its document.
type Checked = (Sender, Parsed);

/// A document as read off the async workers: the SHA-256 of its bytes (what the ledger
/// commits to) and what its platform's reader made of it.
struct Parsed {
    sha256: [u8; 32],
    read: Result<Read, Problems>,
}

impl Parsed {
    /// Hashes and reads `body` in `p`'s format (CPU-bound: see [`Gateway::off_workers`]).
    fn new(p: Platform, body: &[u8]) -> Self {
        Self {
            sha256: Sha256::digest(body).into(),
            read: platform::read(p, body),
        }
    }
}

/// Why a valid application may not come from the platform that sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The accepting office is registered outside the sending platform's province.
    OfficeOutsideProvince,
    /// The target region (GB/T 2260) is in the sender's own province: not cross-province.
    OwnProvince(u32),
    /// No platform is configured for the target region.
    NoRoute(u32),
    /// The target region is routed back to the sender.
    RoutesBack(u32),
}

impl Refusal {
    /// The field at fault, for the sender's own path to it.
    pub fn field(self) -> Field {
        match self {
            Refusal::OfficeOutsideProvince => Field::OfficeUscc,
            _ => Field::TargetRegion,
        }
    }

    /// The reason as a message of the catalogue: what partners are given (their platform's
    /// `forbidden` reply) and window clerks see under the field.
    pub fn message(self) -> Message {
        match self {
            Refusal::OfficeOutsideProvince => Message::OfficeOutsideProvince,
            Refusal::OwnProvince(region) => Message::OwnProvince { region },
            Refusal::NoRoute(region) => Message::NoRoute { region },
            Refusal::RoutesBack(region) => Message::RoutesBack { region },
        }
    }
}

impl std::fmt::Display for Refusal {
    /// In English, for logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.message(), f)
    }
}

impl Gateway {
    /// Assembles the gateway; starts the group-commit flusher (needs a tokio runtime).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: Arc<Config>,
        store: Arc<dyn AppStore>,
        outbox: Arc<dyn OutboxStore>,
        journal: Arc<dyn Journal>,
        signer: Arc<dyn MessageSigner>,
        ops: Arc<Ops>,
        id_salt: [u8; 32],
    ) -> Arc<Self> {
        let wake = Arc::new(Notify::new());
        let permits = config.limits.intake_concurrency.max(1);
        let work = Platform::ALL.map(|_| Arc::new(Semaphore::new(permits)));
        let committer = Committer::spawn(
            store.clone(),
            journal.clone(),
            config.retry.clone(),
            ops.clone(),
            wake.clone(),
        );
        Arc::new(Self {
            config,
            store,
            outbox,
            journal,
            signer,
            ops,
            id_salt,
            wake,
            committer,
            in_progress: InProgress::default(),
            work,
        })
    }

    /// Runs `work` on platform `p`'s document of `size` bytes — parsing, validation,
    /// translation, signature checks, whose cost grows with the document — on tokio's blocking
    /// pool, so the async workers keep serving other connections (`/healthz`, the other
    /// platform) meanwhile. At most `limits.intake_concurrency` run at once per platform; the
    /// rest wait for a permit without holding a thread, so one partner's flood queues behind
    /// itself only. A document below [`INLINE_BELOW`] is worked on where it is, at once.
    pub async fn off_workers<T: Send + 'static>(
        &self,
        p: Platform,
        size: usize,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, IntakeError> {
        if size < INLINE_BELOW {
            return Ok(work());
        }
        let slot = Platform::ALL.iter().position(|&q| q == p).unwrap_or(0);
        let permit = self.work[slot]
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| IntakeError::Task(e.to_string()))?;
        let ops = self.ops.clone();
        tokio::task::spawn_blocking(move || {
            let running = &ops.metrics.intake_work_running;
            running.inc();
            let out = work();
            running.dec();
            drop(permit);
            out
        })
        .await
        .map_err(|e| IntakeError::Task(e.to_string()))
    }

    /// Takes `key` (a gateway number and a step) for a request completing that step, or
    /// `None` while another request holds it.
    pub fn in_progress(&self, key: String) -> Option<InProgressGuard<'_>> {
        self.in_progress.take(key)
    }

    /// Waits until every write so far is durable (the committer syncs its own writes; this
    /// is for the outbox's job states at shutdown).
    pub async fn flush(&self) {
        let store = self.store.clone();
        match tokio::task::spawn_blocking(move || store.sync()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "flush failed"),
            Err(e) => tracing::error!(error = %e, "flush task failed"),
        }
    }

    /// Commits a change to an application (see [`Committer::change`]); returns the ledger
    /// index of its record, if it has one.
    pub async fn change(&self, change: Change) -> Result<Option<u64>, IntakeError> {
        self.committer.change(change).await
    }

    /// The stored document of `kind` for application `no`, as received or sent, and what it
    /// reads as in platform `p`'s format; the error says what is missing or unreadable.
    pub fn stored_document(
        &self,
        no: &str,
        kind: DocKind,
        p: Platform,
    ) -> Result<(Vec<u8>, Document), String> {
        let bytes = self
            .store
            .doc(no, kind)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("{} of {no} missing", kind.as_str()))?;
        let read = platform::read(p, &bytes).map_err(|problems| {
            format!("stored {} of {no} unreadable: {problems}", kind.as_str())
        })?;
        Ok((bytes, read.document))
    }

    /// The salted hash of an applicant's identifier, as the ledger stores it.
    pub fn id_hash(&self, id: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(ID_HASH_LABEL);
        h.update(self.id_salt);
        h.update(id.as_bytes());
        h.finalize().into()
    }

    /// Puts jobs a stop left in flight back to pending. Run once at start, before serving.
    /// (Nothing else needs completing: every batch was committed whole or not at all.)
    pub async fn recover(&self) -> Result<usize, IntakeError> {
        let now = now_ms();
        let mut fixed = self.outbox.restarted()?;
        for mut job in self.outbox.open()? {
            if job.recover(now) {
                self.outbox.put(&job)?;
                fixed += 1;
            }
        }
        self.flush().await;
        let open = self.outbox.count_open()?;
        self.ops.set_pending(open, self.outbox.shared());
        Ok(fixed)
    }

    /// A ledger record of `step` for `rec` at `at` (Unix ms), with the fields every step has.
    pub fn base_record(&self, rec: &AppRecord, step: Step, at: i64) -> Record {
        base_record(rec, step, at)
    }

    /// What the committer needs to record `rec`'s RECEIVED step for `app` received as `body`,
    /// with the application already translated for the destination under the gateway's number
    /// (so the forwarder sends stored bytes instead of reading and translating again). The
    /// translation runs off the async workers, within `p`'s permits.
    async fn receive(
        &self,
        p: Platform,
        rec: AppRecord,
        app: Box<crate::model::Application>,
        body: Bytes,
        sender: &Sender,
    ) -> Result<Receive, IntakeError> {
        let t = app.acceptance.accepted_at;
        let document_time = (t.timestamp(), (t.offset().local_minus_utc() / 60) as i16);
        let applicant_id_hash = self.id_hash(app.applicant.id.number());
        let dest: Platform = rec.destination.parse().map_err(IntakeError::Task)?;
        let no = rec.gateway_no.clone();
        let outgoing = self
            .off_workers(p, body.len(), move || for_destination(dest, app, &no))
            .await?
            .map_err(IntakeError::Task)?;
        let stored = body.len() >= STORED_AHEAD;
        let (body, outgoing) = if stored {
            let (store, no) = (self.store.clone(), rec.gateway_no.clone());
            tokio::task::spawn_blocking(move || {
                let docs = [
                    (DocKind::ApplicationReceived, &body[..]),
                    (DocKind::ApplicationSent, &outgoing[..]),
                ];
                store.put_documents(&no, &docs).map(|()| (body, outgoing))
            })
            .await
            .map_err(|e| IntakeError::Task(e.to_string()))??
        } else {
            (body, outgoing)
        };
        Ok(Receive {
            rec,
            body,
            outgoing,
            document_time,
            applicant_id_hash,
            signature: sender.evidence(),
            stored,
        })
    }

    /// What the gateway signs its messages to platform `p` with (its `signatures` setting).
    pub(in crate::gateway) fn signatures_to(&self, p: Platform) -> httpsig::SignWith {
        self.config
            .platform(p.key())
            .map(|c| c.signatures)
            .unwrap_or_default()
    }

    /// `reply` as a response signed with the gateway's key (RFC 9421), with `headers` added.
    pub(in crate::gateway) fn signed(
        &self,
        reply: ReplyBody,
        headers: &[(&'static str, String)],
    ) -> Response {
        let signed = httpsig::sign_message(
            httpsig::Message::Response {
                status: reply.status,
            },
            reply.content_type,
            &reply.body,
            &*self.signer,
            self.signatures_to(reply.platform),
            chrono::Utc::now().timestamp(),
        );
        let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
        let mut resp = (status, reply.body).into_response();
        let h = resp.headers_mut();
        h.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static(reply.content_type),
        );
        let mut put = |name: &'static str, value: &str| {
            if let Ok(v) = HeaderValue::from_str(value) {
                h.insert(HeaderName::from_static(name), v);
            }
        };
        put("content-digest", &signed.content_digest);
        put("signature-input", &signed.signature_input);
        put("signature", &signed.signature);
        for (name, value) in headers {
            put(name, value);
        }
        resp
    }

    fn receipt(&self, reply: ReplyBody, rec: &AppRecord, index: Option<u64>) -> Response {
        let mut headers = vec![(GATEWAY_NO_HEADER, rec.gateway_no.clone())];
        if let Some(i) = index {
            headers.push((LEDGER_INDEX_HEADER, i.to_string()));
        }
        self.signed(reply, &headers)
    }

    pub(in crate::gateway) fn refuse(&self, reply: ReplyBody) -> Response {
        self.ops.metrics.documents_rejected_total.inc();
        self.signed(reply, &[])
    }

    /// Handles an application posted by `partner` to platform `p`'s endpoint.
    pub async fn submit(&self, p: Platform, call: Call<'_>, body: Bytes) -> Response {
        let result = self.try_submit(p, call, body).await;
        self.answer(p, "intake failed", result)
    }

    /// The reply for `result`: our own failures become the platform's "retry later".
    fn answer(&self, p: Platform, what: &str, result: Result<Response, IntakeError>) -> Response {
        result.unwrap_or_else(|e| {
            tracing::error!(platform = %p, error = %e, "{what}");
            self.signed(
                convention::retry_later(p, &Message::GatewayInternal, self.config.language(p)),
                &[],
            )
        })
    }

    /// Refuses a partner calling another platform's endpoint, in `p`'s convention.
    fn check_partner(&self, p: Platform, partner: &Partner) -> Result<(), Box<Response>> {
        if partner.key() != p.key() {
            return Err(Box::new(self.refuse(convention::forbidden(
                p,
                &Message::WrongEndpoint {
                    platform: p.to_string(),
                },
                self.config.language(p),
            ))));
        }
        Ok(())
    }

    /// Checks that the caller is platform `p` itself, then the platform's own signature on
    /// what it sent, when it signs (see [`sender`]), and reads its document, both off the
    /// async workers. The error is the refusal, in the platform's convention: of a caller at
    /// another platform's endpoint, or of the signature, naming the header at fault.
    async fn verify_and_read(
        &self,
        p: Platform,
        call: Call<'_>,
        body: &Bytes,
    ) -> Result<Result<Checked, Box<Response>>, IntakeError> {
        if let Err(reply) = self.check_partner(p, call.partner) {
            return Ok(Err(reply));
        }
        let config = self.config.clone();
        let headers = call.headers.clone();
        let path_and_query = call.path_and_query.to_owned();
        let body = body.clone();
        let checked = self
            .off_workers(p, body.len(), move || {
                let sender = match config.platform(p.key()) {
                    None => Sender::Unverified,
                    Some(platform) => {
                        let target =
                            sender::target_uri(&headers, &path_and_query).unwrap_or_default();
                        sender::check(platform, &target, &headers, &body)?
                    }
                };
                Ok::<_, String>((sender, Parsed::new(p, &body)))
            })
            .await?;
        let m = &self.ops.metrics;
        Ok(match checked {
            Ok((sender, read)) => {
                if sender.keyid().is_some() {
                    m.sender_signatures_verified_total.inc();
                }
                Ok((sender, read))
            }
            Err(why) => {
                m.sender_signatures_refused_total.inc();
                tracing::warn!(platform = %p, reason = %why, "partner signature refused");
                Err(Box::new(self.refuse(convention::forbidden(
                    p,
                    &Message::SignatureRefused { detail: why },
                    self.config.language(p),
                ))))
            }
        })
    }

    /// The problem of a document of the wrong kind for the endpoint.
    fn wrong_kind_problems(p: Platform, expected: Expected, got: Expected) -> Problems {
        let mut pr = Problems::new();
        pr.error(root_path(p), Message::WrongKind { expected, got });
        pr
    }

    /// The reply to a document of the wrong kind for the endpoint.
    fn wrong_kind(&self, p: Platform, expected: Expected, got: Expected) -> Response {
        self.refuse(convention::problems(
            p,
            &Self::wrong_kind_problems(p, expected, got),
            self.config.language(p),
        ))
    }

    async fn try_submit(
        &self,
        p: Platform,
        call: Call<'_>,
        body: Bytes,
    ) -> Result<Response, IntakeError> {
        let (sender, parsed) = match self.verify_and_read(p, call, &body).await? {
            Ok(checked) => checked,
            Err(reply) => return Ok(*reply),
        };
        Ok(match self.intake_read(p, body, sender, parsed).await? {
            Intake::Accepted(rec) => self.receipt(
                convention::accepted(p, &rec.gateway_no),
                &rec,
                rec.received_index,
            ),
            Intake::Duplicate(first) => self.receipt(
                convention::duplicate(p, &first.gateway_no, self.config.language(p)),
                &first,
                first.received_index,
            ),
            Intake::Invalid(problems) => self.signed(
                convention::problems(p, &problems, self.config.language(p)),
                &[],
            ),
            Intake::Forbidden(why) => self.signed(
                convention::forbidden(p, &why.message(), self.config.language(p)),
                &[],
            ),
        })
    }

    /// Where platform `p` may send `app`: the platform deciding its target region, unless the
    /// office is outside `p`'s province or the target is not another province's.
    fn authorise(
        &self,
        p: Platform,
        app: &crate::model::Application,
    ) -> Result<&PlatformConfig, Refusal> {
        // A platform submits only applications accepted at a window in its own province:
        // the accepting office's USCC carries its registration division (characters 3–8).
        let office_province = app
            .acceptance
            .office_uscc
            .as_str()
            .get(2..4)
            .and_then(|s| s.parse::<u32>().ok());
        if office_province != Some(p.province()) {
            return Err(Refusal::OfficeOutsideProvince);
        }
        let region = app.target.region;
        if region.province() == p.province() {
            return Err(Refusal::OwnProvince(region.code()));
        }
        let Some(dest) = self.config.route(&format!("{:06}", region.code())) else {
            return Err(Refusal::NoRoute(region.code()));
        };
        if dest.key == p.key() {
            return Err(Refusal::RoutesBack(region.code()));
        }
        Ok(dest)
    }

    /// Counts a refused document.
    fn rejected(&self, intake: Intake) -> Intake {
        self.ops.metrics.documents_rejected_total.inc();
        intake
    }

    /// Intake of an application from platform `p`, whoever carries it (the platform's own
    /// endpoint or a window clerk's page): read and validate it in `p`'s vocabulary, check
    /// that `p` may send it, claim `p`'s number and store the exact bytes, then record
    /// RECEIVED and queue the forwarding through the [`Committer`]. An
    /// [`Intake::Accepted`] is durable. `sender` is what the platform's own signature on the
    /// bytes established (recorded in RECEIVED).
    pub async fn intake(
        &self,
        p: Platform,
        body: Bytes,
        sender: Sender,
    ) -> Result<Intake, IntakeError> {
        let bytes = body.clone();
        let parsed = self
            .off_workers(p, body.len(), move || Parsed::new(p, &bytes))
            .await?;
        self.intake_read(p, body, sender, parsed).await
    }

    /// [`Gateway::intake`] once `body` has been read (off the async workers) as `parsed`.
    async fn intake_read(
        &self,
        p: Platform,
        body: Bytes,
        sender: Sender,
        parsed: Parsed,
    ) -> Result<Intake, IntakeError> {
        let app = match parsed.read {
            Ok(read) => match read.document {
                Document::Application(app) => app,
                Document::Decision(_) => {
                    let problems =
                        Self::wrong_kind_problems(p, Expected::Application, Expected::Decision);
                    return Ok(self.rejected(Intake::Invalid(problems)));
                }
            },
            Err(problems) => return Ok(self.rejected(Intake::Invalid(problems))),
        };
        let dest = match self.authorise(p, &app) {
            Ok(dest) => dest,
            Err(why) => return Ok(self.rejected(Intake::Forbidden(why))),
        };

        let sha = hex::encode(parsed.sha256);
        let accepted_on = app.acceptance.accepted_at.date_naive();
        let days = self
            .config
            .time_limits
            .working_days(app.item.key(), app.item.kind());
        let deadline = self.config.calendar.deadline(accepted_on, days);
        let seq = self.store.next_sequence()?;
        let rec = AppRecord {
            gateway_no: gateway_no(chrono::Utc::now().date_naive(), seq),
            source: p.key().to_owned(),
            source_no: app.number.as_str().to_owned(),
            destination: dest.key.clone(),
            destination_receipt: None,
            item: app.item.key().to_owned(),
            accepted_on: accepted_on.to_string(),
            working_days: days,
            deadline: deadline.due.to_string(),
            deadline_provisional: deadline.provisional,
            received_sha256: sha.clone(),
            received_index: None,
            state: AppState::Received,
            decision: None,
            failure: None,
            timeline: vec![],
            office_uscc: app.acceptance.office_uscc.as_str().to_owned(),
            operator_name: app.operator.name.clone(),
            accepted_at: app.acceptance.accepted_at.to_rfc3339(),
            handed_over_by: None,
            sender_keyid: sender.keyid().map(str::to_owned),
            sender_alg: sender.alg().map(ledger_alg),
        };
        let rec = match self
            .committer
            .receive(self.receive(p, rec, app, body, &sender).await?)
            .await?
        {
            Received::New(rec) => rec,
            Received::Seen(first) => {
                self.ops.metrics.applications_duplicate_total.inc();
                tracing::info!(
                    platform = %p,
                    source_no = %first.source_no,
                    gateway_no = %first.gateway_no,
                    "source number seen before; answering with the first receipt"
                );
                // Seen with the same bytes is durable by now (the committer completes an
                // interrupted claim of the same bytes).
                if first.received_sha256 == sha && first.received_index.is_some() {
                    return Ok(Intake::Accepted(Box::new(first)));
                }
                return Ok(Intake::Duplicate(Box::new(first)));
            }
        };
        self.ops.metrics.applications_accepted_total.inc();
        tracing::info!(
            platform = %p,
            source_no = %rec.source_no,
            gateway_no = %rec.gateway_no,
            destination = %rec.destination,
            ledger_index = ?rec.received_index,
            "application accepted"
        );
        Ok(Intake::Accepted(Box::new(rec)))
    }

    /// Handles a decision posted by `partner` to platform `p`'s endpoint.
    pub async fn decide(&self, p: Platform, call: Call<'_>, body: Bytes) -> Response {
        let result = self.try_decide(p, call, body).await;
        self.answer(p, "decision intake failed", result)
    }

    async fn try_decide(
        &self,
        p: Platform,
        call: Call<'_>,
        body: Bytes,
    ) -> Result<Response, IntakeError> {
        let (sender, parsed) = match self.verify_and_read(p, call, &body).await? {
            Ok(checked) => checked,
            Err(reply) => return Ok(*reply),
        };
        let sha = parsed.sha256;
        let (decision, sender) = match parsed.read {
            Ok(read) => match read.document {
                Document::Decision(d) => (d, sender),
                Document::Application(_) => {
                    return Ok(self.wrong_kind(p, Expected::Decision, Expected::Application))
                }
            },
            Err(problems) => {
                return Ok(self.refuse(convention::problems(p, &problems, self.config.language(p))))
            }
        };
        let body = &body[..];
        let no = decision.number.as_str();
        let Some(mut rec) = self.store.get(no)? else {
            return Ok(self.refuse(convention::not_found(
                p,
                &Message::UnknownApplication {
                    number: no.to_owned(),
                },
                self.config.language(p),
            )));
        };
        if rec.destination != p.key() {
            // Indistinguishable from an unknown number, so numbers of other platforms'
            // applications are not disclosed.
            return Ok(self.refuse(convention::not_found(
                p,
                &Message::UnknownApplication {
                    number: no.to_owned(),
                },
                self.config.language(p),
            )));
        }
        let Some(_guard) = self.in_progress.take(format!("{no}/decided")) else {
            return Ok(self.signed(
                convention::retry_later(p, &Message::DecisionInProgress, self.config.language(p)),
                &[],
            ));
        };
        // Re-read under the key: a concurrent decision may have just completed.
        if let Some(fresh) = self.store.get(no)? {
            rec = fresh;
        }
        if rec.decision.is_some() {
            let first = self.store.doc(no, DocKind::DecisionReceived)?;
            let same = first.is_some_and(|f| <[u8; 32]>::from(Sha256::digest(&f)) == sha);
            let index = rec
                .timeline
                .iter()
                .find(|e| e.step == "DECIDED")
                .and_then(|e| e.ledger_index);
            let reply = if same {
                convention::accepted(p, &rec.gateway_no)
            } else {
                convention::duplicate(p, &rec.gateway_no, self.config.language(p))
            };
            return Ok(self.receipt(reply, &rec, index));
        }
        let now = now_ms();
        let mut entry = self.base_record(&rec, Step::Decided, now);
        let t = decision.decided_at;
        entry.document_time = Some((t.timestamp(), (t.offset().local_minus_utc() / 60) as i16));
        entry.sent_sha256 = None;
        entry.decision = Some(decision_facts(&decision));
        // The DECIDED record commits to the decision bytes as received.
        entry.received_sha256 = sha;
        entry.sender_keyid = sender.keyid().map(str::to_owned);
        entry.sender_alg = sender.alg().map(ledger_alg);
        let job = Job::new(
            JobKind::Decision,
            &rec.gateway_no,
            &rec.source,
            now,
            &self.config.retry,
        );
        let outcome = outcome_key(&decision.outcome).to_owned();
        let update: Update = Box::new(move |rec| {
            rec.decision = Some(outcome);
            rec.state = AppState::Decided;
            Some(entry)
        });
        let index = self
            .change(Change {
                gateway_no: rec.gateway_no.clone(),
                update: Some(update),
                event: Some(("DECIDED", signed_note(sender.keyid()))),
                docs: std::iter::once((DocKind::DecisionReceived, body.to_vec()))
                    .chain(sender.evidence().map(|e| (DocKind::DecisionSignature, e)))
                    .collect(),
                jobs: vec![job],
            })
            .await?
            .ok_or_else(|| IntakeError::Task("decision recorded without a ledger index".into()))?;
        self.ops.add_pending(1);
        self.ops.metrics.decisions_accepted_total.inc();
        self.wake.notify_one();
        tracing::info!(
            platform = %p,
            gateway_no = %rec.gateway_no,
            ledger_index = index,
            "decision accepted"
        );
        Ok(self.receipt(convention::accepted(p, &rec.gateway_no), &rec, Some(index)))
    }
}

/// An application as its destination receives it: under the gateway's cross-province number,
/// in the destination platform's format.
pub fn for_destination(
    dest: Platform,
    app: Box<crate::model::Application>,
    gateway_no: &str,
) -> Result<Vec<u8>, String> {
    let number = crate::model::ApplicationNo::parse(gateway_no).map_err(|e| e.to_string())?;
    Ok(platform::write_under(dest, Document::Application(app), number).bytes)
}

/// The whole-document path in the platform's vocabulary.
pub fn root_path(p: Platform) -> &'static str {
    match p {
        Platform::Zhejiang => "$",
        Platform::Shanghai => "/",
    }
}

/// `granted`, `refused`, `correction`.
pub fn outcome_key(o: &crate::model::Outcome) -> &'static str {
    match o {
        crate::model::Outcome::Granted => "granted",
        crate::model::Outcome::Refused => "refused",
        crate::model::Outcome::Correction => "correction",
    }
}

/// The facts of a decision the ledger commits to (no personal data).
pub fn decision_facts(d: &crate::model::Decision) -> DecisionFacts {
    DecisionFacts {
        outcome: d.outcome,
        licence_no: d.licence.as_ref().map(|l| l.number.clone()),
        valid_from: d.licence.as_ref().map(|l| l.valid_from.to_string()),
        valid_to: d.licence.as_ref().map(|l| l.valid_to.to_string()),
        authority: d
            .licence
            .as_ref()
            .map(|l| l.issued_by.clone())
            .unwrap_or_default(),
    }
}

/// Headers of a response as a map of lowercase names to values (for tests and clients).
pub fn header_map(h: &HeaderMap) -> HashMap<String, String> {
    h.iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect()
}

/// The ledger's name for a verified signature's algorithm.
fn ledger_alg(alg: httpsig::SigAlg) -> crate::ledger::SignatureAlg {
    match alg {
        httpsig::SigAlg::Ed25519 => crate::ledger::SignatureAlg::Ed25519,
        httpsig::SigAlg::Sm2 => crate::ledger::SignatureAlg::Sm2Sm3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_numbers_are_sortable_and_fit_both_platforms() {
        let d = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let a = gateway_no(d, 9);
        let b = gateway_no(d, 10);
        let c = gateway_no(d.succ_opt().unwrap(), 1);
        assert_eq!(a, "TB202611230000000009");
        assert!(a < b && b < c);
        assert!(crate::model::ApplicationNo::parse(&a).is_ok());
    }

    #[test]
    fn a_key_in_progress_is_held_until_its_guard_drops() {
        let set = InProgress::default();
        let g = set.take("TB1/received".into()).unwrap();
        assert!(set.take("TB1/received".into()).is_none());
        assert!(set.take("TB1/decided".into()).is_some());
        drop(g);
        assert!(set.take("TB1/received".into()).is_some());
    }
}
