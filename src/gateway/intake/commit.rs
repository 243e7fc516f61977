//! The committer: one thread writes every application received and every delivery outcome,
//! many at a time, each batch in one atomic, durable commit.
//!
//! Requests validate, authorise and translate on their own tasks, then hand the committer a
//! record to claim and the exact bytes ([`Receive`]); outbox workers, the decision intake and
//! the clerks' desk hand it changes to records ([`Change`]). The committer takes whatever has
//! queued up while it was busy (group commit without timers) and for the whole batch: reads
//! the claims and records it needs → decides which numbers are new and what each change
//! records → has the ledger prepare its entries → writes claims, records, documents, outbox
//! jobs and the ledger's writes in **one** transaction, made durable (one sync) before the
//! outbox may see its jobs → answers each caller. A crash leaves all of a batch or none of it, so the ledger never records a step
//! that the records do not hold (see [`crate::gateway::ledger::invariant`]).
//!
//! Being the only writer of claims, records and the ledger, it settles races without locks:
//! a number sent twice in one batch is claimed by its first copy, and the second copy is
//! answered with the first's receipt once it is durable; a step an application already has
//! in the ledger is never recorded again.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};

use axum::body::Bytes;
use tokio::sync::{oneshot, Notify};

use crate::gateway::ledger::journal::{
    base_record, now_ms, signed_note, Journal, JournalError, Record, Step,
};
use crate::gateway::ops::Ops;
use crate::gateway::outbox::{Job, JobKind, RetryPolicy, StoreError};
use crate::gateway::record::{AppRecord, AppStore, Batch, BatchTx, DocKind};

/// Most pieces of work one batch takes (bounds one transaction's size).
pub const MAX_BATCH: usize = 512;

/// How often the committer tries an empty batch while commits fail.
pub const PROBE_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Why intake or a change could not complete (our side, not the caller's data).
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The ledger failed.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// A blocking task panicked or was cancelled.
    #[error("background task: {0}")]
    Task(String),
}

/// An application ready to be committed.
pub struct Receive {
    /// The record to claim (no ledger index yet).
    pub rec: AppRecord,
    /// The exact bytes received.
    pub body: Bytes,
    /// The application as the destination will receive it.
    pub outgoing: Vec<u8>,
    /// The acceptance time the document states (Unix seconds, offset minutes).
    pub document_time: (i64, i16),
    /// Salted hash of the applicant's identifier.
    pub applicant_id_hash: [u8; 32],
    /// The source platform's verified signature on the bytes, to keep with them.
    pub signature: Option<Vec<u8>>,
    /// Whether the bytes received and sent are stored already (a large document, stored
    /// ahead by [`AppStore::put_documents`]).
    pub stored: bool,
}

/// What became of a [`Receive`].
#[derive(Debug)]
pub enum Received {
    /// Claimed and recorded now: the record with its RECEIVED ledger index.
    New(AppRecord),
    /// The source number was claimed before: the first record as it stands now.
    Seen(AppRecord),
}

/// Updates a record for a step; returns the step's ledger record, if it has one.
pub type Update = Box<dyn FnOnce(&mut AppRecord) -> Option<Record> + Send>;

/// A change to an application already recorded (a delivery's outcome).
pub struct Change {
    /// The application.
    pub gateway_no: String,
    /// How its record changes (none: only documents and jobs are written).
    pub update: Option<Update>,
    /// The timeline event to add (step name, note), with the ledger index of the update's
    /// record when it returned one.
    pub event: Option<(&'static str, Option<String>)>,
    /// Documents to store with it.
    pub docs: Vec<(DocKind, Vec<u8>)>,
    /// Outbox jobs to put with it.
    pub jobs: Vec<Job>,
}

type Reply<T> = oneshot::Sender<Result<T, IntakeError>>;

enum Work {
    Receive(Box<Receive>, Reply<Received>),
    Change(Change, Reply<Option<u64>>),
}

/// Handle to the committer thread; dropping it lets it finish its batch and end.
pub struct Committer {
    tx: Option<mpsc::Sender<Work>>,
    handle: Option<std::thread::JoinHandle<()>>,
}

/// What the writing thread owns.
struct Worker {
    store: Arc<dyn AppStore>,
    journal: Arc<dyn Journal>,
    retry: RetryPolicy,
    ops: Arc<Ops>,
    wake: Arc<Notify>,
}

/// What a committed batch answers: each receive's outcome and each change's ledger index,
/// the outbox jobs it added and the ledger's size after it (if it appended).
struct Committed {
    received: Vec<Received>,
    indexes: Vec<Option<u64>>,
    new_jobs: usize,
    ledger_size: Option<u64>,
}

impl Committer {
    /// Starts the committer thread.
    pub fn spawn(
        store: Arc<dyn AppStore>,
        journal: Arc<dyn Journal>,
        retry: RetryPolicy,
        ops: Arc<Ops>,
        wake: Arc<Notify>,
    ) -> Self {
        let (tx, rx) = mpsc::channel::<Work>();
        let worker = Worker {
            store,
            journal,
            retry,
            ops,
            wake,
        };
        let handle = std::thread::Builder::new()
            .name("commit".into())
            .spawn(move || {
                let mut failing = false;
                loop {
                    // After a failed commit, an empty batch now and then finds out when the
                    // store takes commits again (a database back after a restart), so the
                    // gateway is ready again without waiting for work that readiness keeps away.
                    let next = match failing {
                        false => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
                        true => rx.recv_timeout(PROBE_EVERY),
                    };
                    let batch = match next {
                        Ok(first) => drain(first, &rx, MAX_BATCH),
                        Err(mpsc::RecvTimeoutError::Timeout) => Vec::new(),
                        Err(mpsc::RecvTimeoutError::Disconnected) => break,
                    };
                    failing = !worker.commit(batch);
                }
            })
            .expect("spawning the committer");
        Self {
            tx: Some(tx),
            handle: Some(handle),
        }
    }

    async fn send<T>(&self, work: impl FnOnce(Reply<T>) -> Work) -> Result<T, IntakeError> {
        let (reply, rx) = oneshot::channel();
        let stopped = || IntakeError::Task("committer stopped".into());
        self.tx
            .as_ref()
            .ok_or_else(stopped)?
            .send(work(reply))
            .map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }

    /// Commits one application; returns once it (or the first claim of its number) is durable.
    pub async fn receive(&self, work: Receive) -> Result<Received, IntakeError> {
        self.send(|reply| Work::Receive(Box::new(work), reply))
            .await
    }

    /// Commits one change; returns once it is durable, with the ledger index of its record.
    pub async fn change(&self, change: Change) -> Result<Option<u64>, IntakeError> {
        self.send(|reply| Work::Change(change, reply)).await
    }
}

impl Drop for Committer {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// `first` and whatever else is queued on `rx`, at most `max` (group commit without timers).
fn drain<T>(first: T, rx: &mpsc::Receiver<T>, max: usize) -> Vec<T> {
    let mut batch = vec![first];
    while batch.len() < max {
        match rx.try_recv() {
            Ok(w) => batch.push(w),
            Err(_) => break,
        }
    }
    batch
}

/// Where a change went: its record's position among the changed records, and its ledger
/// record's position among the batch's entries (none when it changed nothing, or recorded
/// nothing).
type Applied = (Option<usize>, Option<usize>);

/// How one [`Receive`] of a batch is answered.
enum Answer {
    /// By the record at this position of the new records, as `New`.
    New(usize),
    /// By the record at this position of the new records, as `Seen`.
    SeenNew(usize),
    /// By a record claimed before this batch.
    Seen(Box<AppRecord>),
}

impl Worker {
    /// Commits a batch and answers its callers; returns whether it committed.
    fn commit(&self, batch: Vec<Work>) -> bool {
        let mut receives = Vec::new();
        let mut receive_replies = Vec::new();
        let mut changes = Vec::new();
        let mut change_replies = Vec::new();
        for w in batch {
            match w {
                Work::Receive(r, reply) => {
                    receives.push(*r);
                    receive_replies.push(reply);
                }
                Work::Change(c, reply) => {
                    changes.push(c);
                    change_replies.push(reply);
                }
            }
        }
        match self.try_commit(&receives, changes) {
            Ok(done) => {
                self.ops.set_storage_error(None);
                if let Some(size) = done.ledger_size {
                    let size = i64::try_from(size).unwrap_or(i64::MAX);
                    self.ops
                        .metrics
                        .ledger_size
                        .inner()
                        .fetch_max(size, Ordering::Relaxed);
                }
                for (reply, r) in receive_replies.into_iter().zip(done.received) {
                    let _ = reply.send(Ok(r));
                }
                for (reply, i) in change_replies.into_iter().zip(done.indexes) {
                    let _ = reply.send(Ok(i));
                }
                if done.new_jobs > 0 {
                    self.ops.add_pending(done.new_jobs as i64);
                    self.wake.notify_one();
                }
                true
            }
            Err(e) => {
                self.ops.set_storage_error(Some(e.to_string()));
                tracing::error!(
                    error = %e,
                    applications = receive_replies.len(),
                    changes = change_replies.len(),
                    "commit failed"
                );
                let fail = || IntakeError::Task(format!("commit: {e}"));
                for reply in receive_replies {
                    let _ = reply.send(Err(fail()));
                }
                for reply in change_replies {
                    let _ = reply.send(Err(fail()));
                }
                false
            }
        }
    }

    /// Decides, for each receive, whether its source number is new: the claims stored before
    /// this batch, then the batch's own earlier receives.
    fn claim(
        tx: &mut dyn BatchTx,
        work: &[Receive],
    ) -> Result<(Vec<AppRecord>, Vec<Answer>), IntakeError> {
        fn key(w: &Receive) -> (&str, &str) {
            (w.rec.source.as_str(), w.rec.source_no.as_str())
        }
        let mut keys: Vec<(&str, &str)> = work.iter().map(key).collect();
        keys.sort_unstable();
        keys.dedup();
        let stored: HashMap<(&str, &str), String> = keys
            .iter()
            .zip(tx.claimed(&keys)?)
            .filter_map(|(k, no)| Some((*k, no?)))
            .collect();
        let nos: Vec<&str> = stored.values().map(String::as_str).collect();
        let firsts: HashMap<&str, AppRecord> = nos
            .iter()
            .copied()
            .zip(tx.get(&nos)?)
            .filter_map(|(no, rec)| Some((no, rec?)))
            .collect();
        let mut new: Vec<AppRecord> = Vec::new();
        let mut position: HashMap<(&str, &str), usize> = HashMap::new();
        let mut answers = Vec::with_capacity(work.len());
        for w in work {
            let key = key(w);
            if let Some(&at) = position.get(&key) {
                answers.push(Answer::SeenNew(at));
                continue;
            }
            match stored.get(&key) {
                None => {
                    position.insert(key, new.len());
                    answers.push(Answer::New(new.len()));
                    new.push(w.rec.clone());
                }
                Some(no) => {
                    let first = firsts.get(no.as_str()).ok_or_else(|| {
                        StoreError(format!(
                            "source number {} maps to missing record {no}",
                            key.1
                        ))
                    })?;
                    answers.push(Answer::Seen(Box::new(first.clone())));
                }
            }
        }
        Ok((new, answers))
    }

    fn try_commit(
        &self,
        work: &[Receive],
        mut changes: Vec<Change>,
    ) -> Result<Committed, IntakeError> {
        let now = now_ms();
        let mut tx = self.store.begin()?;
        // Another instance on the same store may have appended since this one's last batch.
        if let Some(size) = tx.ledger_size() {
            self.journal.catch_up(size)?;
        }
        let (mut new, answers) = Self::claim(&mut *tx, work)?;
        // The request each new record came from (its facts go into the entry).
        let origin: Vec<&Receive> = answers
            .iter()
            .zip(work)
            .filter_map(|(a, w)| matches!(a, Answer::New(_)).then_some(w))
            .collect();
        let mut entries: Vec<Record> = new
            .iter()
            .zip(&origin)
            .map(|(rec, w)| {
                let mut entry = base_record(rec, Step::Received, now);
                entry.document_time = Some(w.document_time);
                entry.applicant_id_hash = Some(w.applicant_id_hash);
                entry.sender_keyid = rec.sender_keyid.clone();
                entry.sender_alg = rec.sender_alg;
                entry
            })
            .collect();

        let (mut changed, applied) = Self::apply(&mut *tx, &mut changes, &mut entries)?;

        // A copy's documents stored ahead under its own, unclaimed number.
        let copies: Vec<&str> = answers
            .iter()
            .zip(work)
            .filter(|(a, w)| w.stored && !matches!(a, Answer::New(_)))
            .map(|(_, w)| w.rec.gateway_no.as_str())
            .collect();
        let mut tx = Some(tx);
        let mut jobs = Vec::with_capacity(new.len());
        let mut indexes = Vec::with_capacity(changes.len());
        let mut write = |range: Range<u64>, ledger| -> Result<(), JournalError> {
            let index_of = |entry: usize| range.start + entry as u64;
            for (k, rec) in new.iter_mut().enumerate() {
                let index = index_of(k);
                rec.received_index = Some(index);
                let note = signed_note(rec.sender_keyid.as_deref());
                rec.event("RECEIVED", now, Some(index), note);
                jobs.push(Job::new(
                    JobKind::Application,
                    &rec.gateway_no,
                    &rec.destination,
                    now,
                    &self.retry,
                ));
            }
            for (c, (at, entry)) in changes.iter_mut().zip(&applied) {
                let index = entry.map(index_of);
                if let (Some(at), Some((step, note))) = (at, c.event.take()) {
                    changed[*at].event(step, now, index, note);
                }
                indexes.push(index);
            }
            let batch = Self::batch(ledger, &new, &changed, &jobs, &origin, &copies, &changes);
            tx.take()
                .ok_or_else(|| JournalError("a batch commits once".into()))?
                .commit(batch)
                .map_err(|e| JournalError(e.to_string()))
        };
        let range = if entries.is_empty() {
            let size = self.journal.size();
            write(size..size, Vec::new())?;
            size..size
        } else {
            self.journal.append(entries, &mut write)?
        };

        let received = answers
            .into_iter()
            .map(|a| match a {
                Answer::New(at) => Received::New(new[at].clone()),
                Answer::SeenNew(at) => Received::Seen(new[at].clone()),
                Answer::Seen(first) => Received::Seen(*first),
            })
            .collect();
        Ok(Committed {
            received,
            indexes,
            new_jobs: jobs.len(),
            ledger_size: (!range.is_empty()).then_some(range.end),
        })
    }

    /// Applies the batch's changes, in order, to the records they concern (read under the
    /// batch's lock, all at once), appending their ledger records to `entries`. Returns the
    /// records as the batch leaves them and, per change, its record's position there and its
    /// ledger record's position in `entries`. A step the application already has in the
    /// ledger, or is given earlier in this batch, is not recorded again (its event dropped).
    fn apply(
        tx: &mut dyn BatchTx,
        changes: &mut [Change],
        entries: &mut Vec<Record>,
    ) -> Result<(Vec<AppRecord>, Vec<Applied>), IntakeError> {
        // The records the changes concern, read at once.
        let mut wanted: Vec<&str> = changes
            .iter()
            .filter(|c| c.update.is_some())
            .map(|c| c.gateway_no.as_str())
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        let mut stored: HashMap<String, AppRecord> = wanted
            .iter()
            .zip(tx.get(&wanted)?)
            .filter_map(|(no, rec)| Some(((*no).to_owned(), rec?)))
            .collect();
        // Changes, in order, on the records as the batch leaves them.
        let mut changed: Vec<AppRecord> = Vec::new();
        let mut changed_at: HashMap<String, usize> = HashMap::new();
        // Per change: (position in `changed`, position of its ledger record in `entries`).
        let mut applied: Vec<Applied> = Vec::with_capacity(changes.len());
        let mut once = std::collections::HashSet::new();
        for c in changes.iter_mut() {
            let Some(update) = c.update.take() else {
                applied.push((None, None));
                continue;
            };
            let at = match changed_at.get(&c.gateway_no) {
                Some(&at) => at,
                None => match stored.remove(&c.gateway_no) {
                    Some(rec) => {
                        changed_at.insert(c.gateway_no.clone(), changed.len());
                        changed.push(rec);
                        changed.len() - 1
                    }
                    None => {
                        tracing::error!(gateway_no = %c.gateway_no, "change to a missing record");
                        applied.push((None, None));
                        continue;
                    }
                },
            };
            let rec = &mut changed[at];
            let entry = match update(rec) {
                // A step the application already has in the ledger, or is given in this
                // batch, is not recorded twice.
                Some(e)
                    if e.step.once()
                        && (rec
                            .step(e.step.name())
                            .is_some_and(|s| s.ledger_index.is_some())
                            || !once.insert((at, e.step.name()))) =>
                {
                    tracing::warn!(
                        gateway_no = %c.gateway_no,
                        step = e.step.name(),
                        "step already recorded; not recorded again"
                    );
                    c.event = None;
                    None
                }
                Some(e) => {
                    entries.push(e);
                    Some(entries.len() - 1)
                }
                None => None,
            };
            applied.push((Some(at), entry));
        }
        Ok((changed, applied))
    }

    /// The batch's writes: the new records (claimed, with the documents of the requests they
    /// came from, `origin`, and their first jobs), the changed records, the changes' jobs and
    /// documents, the documents stored ahead for `copies` to drop, and the ledger's writes.
    fn batch<'a>(
        ledger: Vec<crate::ledger::Write>,
        new: &'a [AppRecord],
        changed: &'a [AppRecord],
        jobs: &'a [Job],
        origin: &[&'a Receive],
        copies: &[&'a str],
        changes: &'a [Change],
    ) -> Batch<'a> {
        let mut batch = Batch {
            ledger,
            ..Batch::default()
        };
        batch.claims.extend(new.iter());
        batch.records.extend(new.iter().chain(changed.iter()));
        batch.jobs.extend(jobs.iter());
        for (rec, w) in new.iter().zip(origin) {
            let no = rec.gateway_no.as_str();
            if !w.stored {
                batch.docs.push((no, DocKind::ApplicationReceived, &w.body));
                batch.docs.push((no, DocKind::ApplicationSent, &w.outgoing));
            }
            if let Some(signature) = &w.signature {
                batch
                    .docs
                    .push((no, DocKind::ApplicationSignature, signature));
            }
        }
        batch.drop_docs = copies.to_vec();
        for c in changes {
            batch.jobs.extend(c.jobs.iter());
            for (kind, bytes) in &c.docs {
                batch.docs.push((c.gateway_no.as_str(), *kind, bytes));
            }
        }
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::ledger::journal::MemoryJournal;
    use crate::gateway::outbox::OutboxStore as _;
    use crate::store::gateway::{tests::rec, SledGateway};

    struct Fixture {
        _dir: tempfile::TempDir,
        store: Arc<SledGateway>,
        journal: Arc<MemoryJournal>,
        committer: Committer,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let (db, durability) = crate::store::sled::open(dir.path()).unwrap();
        let store = Arc::new(SledGateway::open(&db, durability).unwrap());
        let journal = Arc::new(MemoryJournal::default());
        let committer = Committer::spawn(
            store.clone(),
            journal.clone(),
            RetryPolicy::default(),
            crate::gateway::ops::Ops::new(),
            Arc::new(Notify::new()),
        );
        Fixture {
            _dir: dir,
            store,
            journal,
            committer,
        }
    }

    fn receive(no: &str, source_no: &str, body: &'static [u8]) -> Receive {
        let mut r = rec(no, source_no);
        r.received_sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(body));
        Receive {
            rec: r,
            body: Bytes::from_static(body),
            outgoing: [b"to the destination: ", body].concat(),
            document_time: (1_763_602_200, 480),
            applicant_id_hash: [7; 32],
            signature: None,
            stored: false,
        }
    }

    #[tokio::test]
    async fn a_number_sent_many_times_at_once_is_recorded_once() {
        let f = fixture();
        let (a, b, c, d) = tokio::join!(
            f.committer.receive(receive("TB1", "S-1", b"first")),
            f.committer.receive(receive("TB2", "S-1", b"first")),
            f.committer.receive(receive("TB3", "S-1", b"other")),
            f.committer.receive(receive("TB4", "S-2", b"second")),
        );
        let Received::New(a) = a.unwrap() else {
            panic!("first copy not new")
        };
        let Received::Seen(b) = b.unwrap() else {
            panic!("second copy claimed again")
        };
        let Received::Seen(c) = c.unwrap() else {
            panic!("other bytes claimed again")
        };
        assert!(matches!(d.unwrap(), Received::New(_)));
        assert_eq!(
            (b.gateway_no.as_str(), c.gateway_no.as_str()),
            ("TB1", "TB1")
        );
        assert_eq!(b.received_index, a.received_index);
        let records = f.journal.records();
        assert_eq!(records.len(), 2, "one RECEIVED per number");
        assert!(records.iter().all(|r| r.step == Step::Received));
        assert_eq!(records[0].applicant_id_hash, Some([7; 32]));
        // Durable with its job: the forwarder finds both applications due.
        assert_eq!(f.store.outbox().due(i64::MAX, 10).unwrap().len(), 2);
        assert!(f.store.get("TB2").unwrap().is_none());
        // Translated at intake, under the number that was claimed.
        assert_eq!(
            f.store
                .doc("TB1", DocKind::ApplicationSent)
                .unwrap()
                .unwrap(),
            b"to the destination: first"
        );
    }

    #[tokio::test]
    async fn documents_stored_ahead_are_kept_for_a_new_number_and_dropped_for_a_copy() {
        let f = fixture();
        let ahead = |no: &str, source_no: &str| {
            let mut w = receive(no, source_no, b"large");
            let docs = [
                (DocKind::ApplicationReceived, &b"large"[..]),
                (DocKind::ApplicationSent, &b"large, translated"[..]),
            ];
            f.store.put_documents(no, &docs).unwrap();
            w.stored = true;
            w
        };
        let first = ahead("TB1", "S-1");
        assert!(matches!(
            f.committer.receive(first).await.unwrap(),
            Received::New(_)
        ));
        let sent = f.store.doc("TB1", DocKind::ApplicationSent).unwrap();
        assert_eq!(sent.as_deref(), Some(&b"large, translated"[..]));
        // The same source number again, stored ahead under its own number: a copy.
        let copy = ahead("TB2", "S-1");
        assert!(matches!(
            f.committer.receive(copy).await.unwrap(),
            Received::Seen(_)
        ));
        for kind in [DocKind::ApplicationReceived, DocKind::ApplicationSent] {
            assert_eq!(f.store.doc("TB2", kind).unwrap(), None, "{kind:?}");
            assert!(f.store.doc("TB1", kind).unwrap().is_some());
        }
    }

    #[tokio::test]
    async fn a_step_an_application_already_has_in_the_ledger_is_not_recorded_again() {
        let f = fixture();
        f.committer
            .receive(receive("TB1", "S-1", b"bytes"))
            .await
            .unwrap();
        let step = |step: Step| Change {
            gateway_no: "TB1".into(),
            update: Some(Box::new(move |rec: &mut AppRecord| {
                Some(base_record(rec, step, 0))
            })),
            event: Some((step.name(), None)),
            docs: vec![],
            jobs: vec![],
        };
        let forwarded = step(Step::Forwarded);
        assert_eq!(f.committer.change(forwarded).await.unwrap(), Some(1));
        // The same delivery recorded again (a re-sent delivery answered "duplicate").
        let again = step(Step::Forwarded);
        assert_eq!(f.committer.change(again).await.unwrap(), None);
        // Twice at once, in one batch or two.
        let (a, b) = tokio::join!(
            f.committer.change(step(Step::Delivered)),
            f.committer.change(step(Step::Delivered))
        );
        assert_eq!([a.unwrap(), b.unwrap()].iter().flatten().count(), 1);
        assert_eq!(f.journal.records().len(), 3);
        let rec = f.store.get("TB1").unwrap().unwrap();
        let steps: Vec<_> = rec.timeline.iter().map(|e| e.step.as_str()).collect();
        assert_eq!(steps, ["RECEIVED", "FORWARDED", "DELIVERED"]);
    }

    #[tokio::test]
    async fn a_change_updates_the_record_it_finds_and_records_its_step() {
        let f = fixture();
        f.committer
            .receive(receive("TB1", "S-1", b"bytes"))
            .await
            .unwrap();
        let update: Update = Box::new(|rec| {
            rec.destination_receipt = Some("ZJ-1".into());
            Some(base_record(rec, Step::Forwarded, 0))
        });
        let index = f
            .committer
            .change(Change {
                gateway_no: "TB1".into(),
                update: Some(update),
                event: Some(("FORWARDED", Some("ZJ-1".into()))),
                docs: vec![(DocKind::ApplicationSent, b"sent".to_vec())],
                jobs: vec![],
            })
            .await
            .unwrap();
        assert_eq!(index, Some(1));
        let rec = f.store.get("TB1").unwrap().unwrap();
        assert_eq!(rec.destination_receipt.as_deref(), Some("ZJ-1"));
        let steps: Vec<_> = rec
            .timeline
            .iter()
            .map(|e| (e.step.as_str(), e.ledger_index))
            .collect();
        assert_eq!(steps, [("RECEIVED", Some(0)), ("FORWARDED", Some(1))]);
        assert_eq!(
            f.store
                .doc("TB1", DocKind::ApplicationSent)
                .unwrap()
                .unwrap(),
            b"sent"
        );
        assert_eq!(
            f.journal.records()[1].destination_no.as_deref(),
            Some("ZJ-1")
        );

        let missing = Change {
            gateway_no: "TB404".into(),
            update: Some(Box::new(|rec| Some(base_record(rec, Step::Failed, 0)))),
            event: Some(("FAILED", None)),
            docs: vec![],
            jobs: vec![],
        };
        assert_eq!(f.committer.change(missing).await.unwrap(), None);
        assert_eq!(f.journal.records().len(), 2);
    }
}

#[cfg(test)]
mod probe_tests {
    use std::sync::atomic::AtomicBool;

    use super::*;
    use crate::gateway::ledger::journal::MemoryJournal;
    use crate::store::gateway::{tests::rec, SledGateway};

    /// A store whose batches fail while `down` is set, as when its database is away.
    struct Away {
        inner: SledGateway,
        down: AtomicBool,
    }

    impl AppStore for Away {
        fn next_sequence(&self) -> Result<u64, StoreError> {
            self.inner.next_sequence()
        }
        fn claimed(&self, source: &str, no: &str) -> Result<Option<String>, StoreError> {
            self.inner.claimed(source, no)
        }
        fn get(&self, gateway_no: &str) -> Result<Option<AppRecord>, StoreError> {
            self.inner.get(gateway_no)
        }
        fn begin(&self) -> Result<Box<dyn BatchTx + '_>, StoreError> {
            match self.down.load(Ordering::SeqCst) {
                true => Err(StoreError("the database does not answer".into())),
                false => self.inner.begin(),
            }
        }
        fn put_documents(&self, no: &str, docs: &[(DocKind, &[u8])]) -> Result<(), StoreError> {
            self.inner.put_documents(no, docs)
        }
        fn sync(&self) -> Result<(), StoreError> {
            self.inner.sync()
        }
        fn doc(&self, no: &str, kind: DocKind) -> Result<Option<Vec<u8>>, StoreError> {
            self.inner.doc(no, kind)
        }
        fn all(&self) -> Box<dyn Iterator<Item = Result<AppRecord, StoreError>> + '_> {
            self.inner.all()
        }
        fn claims(
            &self,
        ) -> Box<dyn Iterator<Item = Result<(String, String, String), StoreError>> + '_> {
            self.inner.claims()
        }
        fn recent(&self, limit: usize) -> Result<Vec<AppRecord>, StoreError> {
            self.inner.recent(limit)
        }
        fn by_office(&self, office: &str, limit: usize) -> Result<Vec<AppRecord>, StoreError> {
            self.inner.by_office(office, limit)
        }
    }

    /// A commit that failed keeps the gateway out of readiness; once the store takes commits
    /// again, the committer's probe makes it ready, with no new work submitted meanwhile.
    #[tokio::test]
    async fn a_store_back_after_failing_commits_makes_the_gateway_ready_without_new_work() {
        let dir = tempfile::tempdir().unwrap();
        let (db, durability) = crate::store::sled::open(dir.path()).unwrap();
        let store = Arc::new(Away {
            inner: SledGateway::open(&db, durability).unwrap(),
            down: AtomicBool::new(true),
        });
        let ops = crate::gateway::ops::Ops::new();
        ops.set_ready(true);
        let committer = Committer::spawn(
            store.clone(),
            Arc::new(MemoryJournal::default()),
            RetryPolicy::default(),
            ops.clone(),
            Arc::new(Notify::new()),
        );
        let work = Receive {
            rec: rec("TB1", "S-1"),
            body: Bytes::from_static(b"bytes"),
            outgoing: b"sent".to_vec(),
            document_time: (1_763_602_200, 480),
            applicant_id_hash: [7; 32],
            signature: None,
            stored: false,
        };
        assert!(committer.receive(work).await.is_err());
        let problems = ops.problems(0);
        assert!(
            problems.iter().any(|p| p.contains("does not answer")),
            "{problems:?}"
        );
        // The database is back; nothing is submitted meanwhile.
        store.down.store(false, Ordering::SeqCst);
        let end = tokio::time::Instant::now() + PROBE_EVERY * 5;
        while !ops.problems(0).is_empty() {
            assert!(
                tokio::time::Instant::now() < end,
                "still not ready: {:?}",
                ops.problems(0)
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}
