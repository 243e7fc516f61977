//! The committer: one thread writes every application received and every delivery outcome,
//! many at a time.
//!
//! Requests validate and authorise on their own tasks, then hand the committer a record to
//! claim and the exact bytes ([`Receive`]); outbox workers hand it the outcome of a delivery
//! ([`Change`]). The committer takes whatever has queued up while it was busy (group commit
//! without timers) and for the whole batch: claims the source numbers and stores records and
//! bytes in one transaction → appends every ledger entry of the batch in one ledger commit →
//! stores ledger indexes, timelines, documents and outbox jobs in one transaction → one flush
//! → answers each caller. Two transactions, one ledger commit and two fsyncs per batch, not per
//! application: that is what lets intake keep up with many concurrent partners.
//!
//! Being the only writer of claims, it also settles races without locks: a number sent twice
//! in one batch is claimed by its first copy, and the second copy is answered with the first's
//! receipt once it is durable. A claim a crash left without its RECEIVED entry is completed by
//! the next copy of the same bytes (or by [`super::pipeline::Gateway::recover`] at start).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};

use axum::body::Bytes;
use tokio::sync::{oneshot, Notify};

use super::journal::{Journal, Record, Step};
use super::ops::Ops;
use super::outbox::{Job, JobKind, RetryPolicy, StoreError};
use super::pipeline::{base_record, now_ms, signed_note, IntakeError};
use super::record::{AppRecord, AppStore, Claim, DocKind, ToClaim, Writes};

/// Most pieces of work one batch takes (bounds one transaction's size).
pub const MAX_BATCH: usize = 512;

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
}

/// What became of a [`Receive`].
#[derive(Debug)]
pub enum Received {
    /// Claimed and recorded now: the record with its RECEIVED ledger index.
    New(AppRecord),
    /// The source number was claimed before: the first record as it stands now (with its
    /// ledger index, unless its bytes differ and a crash interrupted it).
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

/// Handle to the committer threads; dropping it lets them finish their batches and end.
pub struct Committer {
    tx: Option<mpsc::Sender<Work>>,
    handles: Vec<std::thread::JoinHandle<()>>,
}

/// What the writing thread owns.
struct Worker {
    store: Arc<dyn AppStore>,
    journal: Arc<dyn Journal>,
    retry: RetryPolicy,
    synced: mpsc::Sender<Written>,
}

/// What a written batch answers: each receive's outcome and each change's ledger index.
type Answers = (Vec<Received>, Vec<Option<u64>>);

/// A written batch's answers, outbox jobs added and ledger size after it (if it appended).
type Committed = (Answers, usize, Option<u64>);

/// A batch written but not yet flushed: its outcome and who waits for it.
struct Written {
    outcome: Result<Answers, IntakeError>,
    receive_replies: Vec<Reply<Received>>,
    change_replies: Vec<Reply<Option<u64>>>,
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
        let (synced, written) = mpsc::channel::<Written>();
        let flushing = store.clone();
        let worker = Worker {
            store,
            journal,
            retry,
            synced,
        };
        // Two stages, so one batch's store flush overlaps the next batch's ledger commit.
        let write = std::thread::Builder::new()
            .name("commit".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    worker.commit(drain(first, &rx, MAX_BATCH));
                }
            })
            .expect("spawning the committer");
        let flush = std::thread::Builder::new()
            .name("commit-flush".into())
            .spawn(move || {
                while let Ok(first) = written.recv() {
                    answer(drain(first, &written, usize::MAX), &*flushing, &ops, &wake);
                }
            })
            .expect("spawning the committer");
        Self {
            tx: Some(tx),
            handles: vec![write, flush],
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
        for h in self.handles.drain(..) {
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

/// Makes written batches durable with one flush, then answers everyone waiting on them.
fn answer(batches: Vec<Written>, store: &dyn AppStore, ops: &Ops, wake: &Notify) {
    let flushed = store.flush();
    let failed = match &flushed {
        Err(e) => Some(e.to_string()),
        Ok(()) => batches
            .iter()
            .find_map(|b| b.outcome.as_ref().err().map(|e| e.to_string())),
    };
    ops.set_storage_error(failed);
    let mut new_jobs = 0;
    for b in batches {
        let outcome = match (&flushed, b.outcome) {
            (Ok(()), outcome) => outcome,
            (Err(e), Ok(_)) => Err(IntakeError::Store(StoreError(e.0.clone()))),
            (Err(_), Err(e)) => Err(e),
        };
        match outcome {
            Ok((received, indexes)) => {
                new_jobs += b.new_jobs;
                if let Some(size) = b.ledger_size {
                    let size = i64::try_from(size).unwrap_or(i64::MAX);
                    ops.metrics.ledger_size.fetch_max(size, Ordering::Relaxed);
                }
                for (reply, r) in b.receive_replies.into_iter().zip(received) {
                    let _ = reply.send(Ok(r));
                }
                for (reply, i) in b.change_replies.into_iter().zip(indexes) {
                    let _ = reply.send(Ok(i));
                }
            }
            Err(e) => {
                tracing::error!(
                    error = %e,
                    applications = b.receive_replies.len(),
                    changes = b.change_replies.len(),
                    "commit failed"
                );
                let fail = || IntakeError::Task(format!("commit: {e}"));
                for reply in b.receive_replies {
                    let _ = reply.send(Err(fail()));
                }
                for reply in b.change_replies {
                    let _ = reply.send(Err(fail()));
                }
            }
        }
    }
    if new_jobs > 0 {
        ops.metrics
            .outbox_pending
            .fetch_add(new_jobs as i64, Ordering::Relaxed);
        wake.notify_one();
    }
}

/// How one [`Receive`] of a batch is answered.
enum Answer {
    /// By the record at this position of the completed list, as `New`.
    New(usize),
    /// By the record at this position of the completed list, as `Seen`.
    SeenCompleted(usize),
    /// By a record that needed no work.
    Seen(Box<AppRecord>),
}

impl Worker {
    fn commit(&self, batch: Vec<Work>) {
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
        let (outcome, new_jobs, ledger_size) = match self.try_commit(&receives, changes) {
            Ok((answers, new_jobs, size)) => (Ok(answers), new_jobs, size),
            Err(e) => (Err(e), 0, None),
        };
        let _ = self.synced.send(Written {
            outcome,
            receive_replies,
            change_replies,
            new_jobs,
            ledger_size,
        });
    }

    fn try_commit(
        &self,
        work: &[Receive],
        mut changes: Vec<Change>,
    ) -> Result<Committed, IntakeError> {
        let now = now_ms();
        let items: Vec<ToClaim<'_>> = work
            .iter()
            .map(|w| ToClaim {
                rec: &w.rec,
                received: &w.body,
                signature: w.signature.as_deref(),
            })
            .collect();
        let claims = if items.is_empty() {
            Vec::new()
        } else {
            self.store.claim_batch(&items)?
        };

        // The records to complete now, each with the request whose facts go into its entry.
        let mut completed: Vec<(usize, AppRecord)> = Vec::new();
        let mut position: HashMap<String, usize> = HashMap::new();
        let mut answers = Vec::with_capacity(work.len());
        for (i, (w, claim)) in work.iter().zip(claims).enumerate() {
            let first = match claim {
                Claim::New => {
                    position.insert(w.rec.gateway_no.clone(), completed.len());
                    answers.push(Answer::New(completed.len()));
                    completed.push((i, w.rec.clone()));
                    continue;
                }
                Claim::Existing(first) => first,
            };
            if first.received_index.is_some() {
                answers.push(Answer::Seen(first));
            } else if let Some(&at) = position.get(&first.gateway_no) {
                answers.push(Answer::SeenCompleted(at));
            } else if first.received_sha256 == w.rec.received_sha256 {
                // A claim a crash interrupted, sent again byte for byte: complete it now.
                position.insert(first.gateway_no.clone(), completed.len());
                answers.push(Answer::SeenCompleted(completed.len()));
                completed.push((i, *first));
            } else {
                answers.push(Answer::Seen(first));
            }
        }
        let mut entries: Vec<Record> = completed
            .iter()
            .map(|(i, rec)| {
                let mut entry = base_record(rec, Step::Received, now);
                entry.document_time = Some(work[*i].document_time);
                entry.applicant_id_hash = Some(work[*i].applicant_id_hash);
                entry.sender_keyid = rec.sender_keyid.clone();
                entry
            })
            .collect();

        // Changes, in order, on the records as the batch leaves them.
        let mut changed: Vec<AppRecord> = Vec::new();
        let mut changed_at: HashMap<String, usize> = HashMap::new();
        // Per change: (position in `changed`, position of its ledger record in `entries`).
        let mut applied: Vec<(Option<usize>, Option<usize>)> = Vec::with_capacity(changes.len());
        for c in &mut changes {
            let Some(update) = c.update.take() else {
                applied.push((None, None));
                continue;
            };
            let at = match changed_at.get(&c.gateway_no) {
                Some(&at) => at,
                None => match self.store.get(&c.gateway_no)? {
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
            let entry = update(&mut changed[at]).map(|e| {
                entries.push(e);
                entries.len() - 1
            });
            applied.push((Some(at), entry));
        }

        let range = if entries.is_empty() {
            0..0
        } else {
            self.journal.append(entries)?
        };
        let index_of = |entry: usize| range.start + entry as u64;

        let mut jobs = Vec::with_capacity(completed.len());
        for (k, (_, rec)) in completed.iter_mut().enumerate() {
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
        let mut indexes = Vec::with_capacity(changes.len());
        for (c, (at, entry)) in changes.iter_mut().zip(&applied) {
            let index = entry.map(index_of);
            if let (Some(at), Some((step, note))) = (at, c.event.take()) {
                changed[*at].event(step, now, index, note);
            }
            indexes.push(index);
        }

        let mut writes = Writes::default();
        writes.records.extend(completed.iter().map(|(_, rec)| rec));
        writes.records.extend(changed.iter());
        writes.jobs.extend(jobs.iter());
        for (i, rec) in &completed {
            // A claim completed after a crash is translated when forwarded instead: the bytes
            // translated for this request carry this request's gateway number, not the claim's.
            if rec.gateway_no == work[*i].rec.gateway_no {
                let bytes = work[*i].outgoing.as_slice();
                writes
                    .docs
                    .push((rec.gateway_no.as_str(), DocKind::ApplicationSent, bytes));
            }
        }
        for c in &changes {
            writes.jobs.extend(c.jobs.iter());
            for (kind, bytes) in &c.docs {
                writes.docs.push((c.gateway_no.as_str(), *kind, bytes));
            }
        }
        self.store.write(&writes)?;

        let received = answers
            .into_iter()
            .map(|a| match a {
                Answer::New(at) => Received::New(completed[at].1.clone()),
                Answer::SeenCompleted(at) => Received::Seen(completed[at].1.clone()),
                Answer::Seen(first) => Received::Seen(*first),
            })
            .collect();
        let size = (!range.is_empty()).then_some(range.end);
        Ok(((received, indexes), jobs.len(), size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::journal::MemoryJournal;
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
        let db = sled::open(dir.path()).unwrap();
        let store = Arc::new(SledGateway::open(&db).unwrap());
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
    async fn a_claim_a_crash_interrupted_is_completed_by_the_same_bytes() {
        let f = fixture();
        let leftover = receive("TB1", "S-1", b"bytes");
        assert_eq!(f.store.claim(&leftover.rec, b"bytes").unwrap(), Claim::New);
        assert_eq!(f.store.unfinished().unwrap().len(), 1);
        let Received::Seen(done) = f
            .committer
            .receive(receive("TB9", "S-1", b"bytes"))
            .await
            .unwrap()
        else {
            panic!("claimed again")
        };
        assert_eq!(done.gateway_no, "TB1");
        assert_eq!(done.received_index, Some(0));
        assert!(f.store.unfinished().unwrap().is_empty());
        assert_eq!(f.journal.records().len(), 1);
        // Translated for another number: left for the forwarder to translate.
        assert!(f
            .store
            .doc("TB1", DocKind::ApplicationSent)
            .unwrap()
            .is_none());
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
