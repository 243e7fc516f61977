//! The outbox on sled, and in memory for tests.
//!
//! Three trees: `outbox/jobs` maps a job id to the job (JSON), `outbox/due` indexes pending
//! jobs by `(not_before as big-endian u64, id)` so finding due work never scans delivered
//! jobs, and `outbox/in-flight` holds the ids of the jobs with an attempt in flight. All are
//! updated in one sled transaction; the open jobs a restart looks at are the two indexes, not
//! every job ever sent.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use sled::transaction::{
    ConflictableTransactionError, ConflictableTransactionResult, TransactionError,
    TransactionalTree,
};
use sled::Transactional as _;

use crate::gateway::outbox::{Job, OutboxStore, StoreError};

/// Name of the tree holding jobs by id.
pub(crate) const JOBS_TREE: &str = "outbox/jobs";
/// Name of the tree indexing pending jobs by due time.
pub(crate) const DUE_TREE: &str = "outbox/due";

/// Name of the tree of the ids of jobs with an attempt in flight.
pub(crate) const IN_FLIGHT_TREE: &str = "outbox/in-flight";

/// The key (never a job id: ids are not empty) that says the in-flight index is complete. A
/// store written before the index existed lacks it, and is indexed once when opened.
const INDEXED: &[u8] = b"";

fn due_key(not_before: i64, id: &str) -> Vec<u8> {
    // Times before the epoch cannot occur (jobs are created "now"); clamp for a total order.
    let t = u64::try_from(not_before).unwrap_or(0);
    let mut k = t.to_be_bytes().to_vec();
    k.extend_from_slice(id.as_bytes());
    k
}

pub(crate) fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

/// Writes `job` inside a transaction over the outbox's three trees (so callers can put a job
/// atomically with their own writes).
pub(crate) fn put_in(
    jobs: &TransactionalTree,
    due: &TransactionalTree,
    in_flight: &TransactionalTree,
    job: &Job,
) -> ConflictableTransactionResult<(), StoreError> {
    let value = serde_json::to_vec(job).map_err(|e| ConflictableTransactionError::Abort(err(e)))?;
    if let Some(old) = jobs.get(job.id.as_bytes())? {
        let old: Job = serde_json::from_slice(&old)
            .map_err(|e| ConflictableTransactionError::Abort(err(e)))?;
        if let Some(t) = old.due_at() {
            due.remove(due_key(t, &old.id))?;
        }
        if old.is_in_flight() {
            in_flight.remove(old.id.as_bytes())?;
        }
    }
    jobs.insert(job.id.as_bytes(), value)?;
    if let Some(t) = job.due_at() {
        due.insert(due_key(t, &job.id), job.id.as_bytes())?;
    }
    if job.is_in_flight() {
        in_flight.insert(job.id.as_bytes(), &[])?;
    }
    Ok(())
}

/// Flattens a transaction error.
pub(crate) fn unwrap_tx(e: TransactionError<StoreError>) -> StoreError {
    match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => err(e),
    }
}

/// The outbox in a sled database.
#[derive(Clone)]
pub struct SledOutbox {
    db: sled::Db,
    pub(crate) jobs: sled::Tree,
    pub(crate) due: sled::Tree,
    pub(crate) in_flight: sled::Tree,
    /// See [`OutboxStore::gate`].
    pub(crate) gate: Arc<tokio::sync::RwLock<()>>,
}

impl SledOutbox {
    /// Opens (creating if needed) the outbox trees in `db`; indexes the jobs in flight once
    /// when the store predates that index.
    pub fn open(db: &sled::Db) -> Result<Self, StoreError> {
        let me = Self {
            db: db.clone(),
            jobs: db.open_tree(JOBS_TREE).map_err(err)?,
            due: db.open_tree(DUE_TREE).map_err(err)?,
            in_flight: db.open_tree(IN_FLIGHT_TREE).map_err(err)?,
            gate: Arc::default(),
        };
        if me.in_flight.get(INDEXED).map_err(err)?.is_none() {
            me.reindex()?;
        }
        Ok(me)
    }

    /// Rebuilds the in-flight index from every job (one scan), then marks it complete, in one
    /// atomic batch made durable: after a store written without the index, or jobs copied in
    /// from an earlier version's database.
    pub(crate) fn reindex(&self) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for item in self.in_flight.iter() {
            let (k, _) = item.map_err(err)?;
            batch.remove(k);
        }
        for item in self.jobs.iter() {
            let (id, v) = item.map_err(err)?;
            let job: Job = serde_json::from_slice(&v).map_err(err)?;
            if job.is_in_flight() {
                batch.insert(id, &[]);
            }
        }
        batch.insert(INDEXED, &[]);
        self.in_flight.apply_batch(batch).map_err(err)?;
        self.db.flush().map(|_| ()).map_err(err)
    }

    /// Makes every write so far durable, asynchronously (group commit: one flush covers every
    /// job written since the last one).
    pub async fn flush_async(&self) -> Result<(), StoreError> {
        self.db.flush_async().await.map(|_| ()).map_err(err)
    }
}

impl OutboxStore for SledOutbox {
    fn gate(&self) -> Arc<tokio::sync::RwLock<()>> {
        self.gate.clone()
    }

    fn put(&self, job: &Job) -> Result<(), StoreError> {
        let res: Result<(), TransactionError<StoreError>> =
            (&self.jobs, &self.due, &self.in_flight)
                .transaction(|(jobs, due, in_flight)| put_in(jobs, due, in_flight, job));
        res.map_err(unwrap_tx)
    }

    fn get(&self, id: &str) -> Result<Option<Job>, StoreError> {
        match self.jobs.get(id.as_bytes()).map_err(err)? {
            Some(v) => serde_json::from_slice(&v).map(Some).map_err(err),
            None => Ok(None),
        }
    }

    fn due_except(
        &self,
        now: i64,
        limit: usize,
        busy: &HashSet<String>,
    ) -> Result<Vec<Job>, StoreError> {
        let end = u64::try_from(now)
            .unwrap_or(0)
            .saturating_add(1)
            .to_be_bytes();
        let mut out = Vec::new();
        for item in self.due.range(..end.to_vec()) {
            if out.len() >= limit {
                break;
            }
            let (_, id) = item.map_err(err)?;
            let id = String::from_utf8_lossy(&id);
            if busy.contains(id.as_ref()) {
                continue;
            }
            if let Some(job) = self.get(&id)? {
                out.push(job);
            }
        }
        Ok(out)
    }

    fn open(&self) -> Result<Vec<Job>, StoreError> {
        let pending = self.due.iter().values();
        let in_flight = self
            .in_flight
            .iter()
            .keys()
            .filter(|k| !matches!(k, Ok(k) if k.is_empty()));
        let mut out = Vec::new();
        for id in pending.chain(in_flight) {
            let id = id.map_err(err)?;
            if let Some(job) = self.get(&String::from_utf8_lossy(&id))? {
                out.push(job);
            }
        }
        Ok(out)
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map(|_| ()).map_err(err)
    }
}

/// The outbox in memory, for tests.
#[derive(Default)]
pub struct MemoryOutbox {
    jobs: Mutex<BTreeMap<String, Job>>,
    gate: Arc<tokio::sync::RwLock<()>>,
}

impl OutboxStore for MemoryOutbox {
    fn gate(&self) -> Arc<tokio::sync::RwLock<()>> {
        self.gate.clone()
    }

    fn put(&self, job: &Job) -> Result<(), StoreError> {
        self.jobs
            .lock()
            .map_err(err)?
            .insert(job.id.clone(), job.clone());
        Ok(())
    }

    fn get(&self, id: &str) -> Result<Option<Job>, StoreError> {
        Ok(self.jobs.lock().map_err(err)?.get(id).cloned())
    }

    fn due_except(
        &self,
        now: i64,
        limit: usize,
        busy: &HashSet<String>,
    ) -> Result<Vec<Job>, StoreError> {
        let mut due: Vec<Job> = self
            .jobs
            .lock()
            .map_err(err)?
            .values()
            .filter(|j| j.due_at().is_some_and(|t| t <= now) && !busy.contains(&j.id))
            .cloned()
            .collect();
        due.sort_by_key(|j| (j.due_at(), j.id.clone()));
        due.truncate(limit);
        Ok(due)
    }

    fn open(&self) -> Result<Vec<Job>, StoreError> {
        Ok(self
            .jobs
            .lock()
            .map_err(err)?
            .values()
            .filter(|j| j.is_open())
            .cloned()
            .collect())
    }

    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The raw database at `path`, opened again right after a close.
    fn reopen(path: &std::path::Path) -> sled::Db {
        crate::store::sled::open_waiting(&sled::Config::new().path(path)).unwrap()
    }
    use crate::gateway::outbox::{JobKind, RetryPolicy};
    use crate::platform::Reply;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn exercise(store: &dyn OutboxStore) {
        let p = RetryPolicy {
            jitter: 0.0,
            ..RetryPolicy::default()
        };
        let mut rng = StdRng::seed_from_u64(0);
        let a = Job::new(JobKind::Application, "TB2", "sh", 2_000, &p);
        let b = Job::new(JobKind::Application, "TB1", "zj", 1_000, &p);
        store.put(&a).unwrap();
        store.put(&b).unwrap();
        let ids = |v: Vec<Job>| v.into_iter().map(|j| j.id).collect::<Vec<_>>();
        assert_eq!(ids(store.due(1_500, 10).unwrap()), vec!["TB1/application"]);
        assert_eq!(
            ids(store.due(5_000, 10).unwrap()),
            vec!["TB1/application", "TB2/application"]
        );
        assert_eq!(store.due(5_000, 1).unwrap().len(), 1);
        // Jobs being attempted are passed over, and do not count against the limit.
        let busy = HashSet::from(["TB1/application".to_string()]);
        assert_eq!(
            ids(store.due_except(5_000, 1, &busy).unwrap()),
            vec!["TB2/application"]
        );

        let mut b = store.get("TB1/application").unwrap().unwrap();
        b.start(1_000).unwrap();
        store.put(&b).unwrap();
        assert_eq!(ids(store.due(5_000, 10).unwrap()), vec!["TB2/application"]);
        assert_eq!(store.open().unwrap().len(), 2);

        b.finish(Reply::RetryLater("down".into()), 1_000, &p, &mut rng)
            .unwrap();
        store.put(&b).unwrap();
        // Retried one second later: due at 2,000 together with TB2, ordered by id.
        assert!(store.due(1_999, 10).unwrap().is_empty());
        assert_eq!(
            ids(store.due(2_000, 10).unwrap()),
            vec!["TB1/application", "TB2/application"]
        );

        b.start(2_000).unwrap();
        b.finish(Reply::Duplicate, 2_000, &p, &mut rng).unwrap();
        store.put(&b).unwrap();
        store.flush().unwrap();
        assert_eq!(
            ids(store.due(i64::MAX, 10).unwrap()),
            vec!["TB2/application"]
        );
        assert_eq!(ids(store.open().unwrap()), vec!["TB2/application"]);
        assert_eq!(store.get("TB1/application").unwrap().unwrap(), b);
        assert!(store.get("nope").unwrap().is_none());
    }

    #[test]
    fn memory_outbox_behaves() {
        exercise(&MemoryOutbox::default());
    }

    /// A job delivered (TB1), one pending (TB2), one in flight (TB3), in a fresh sled store.
    fn three_jobs(db: &sled::Db) -> SledOutbox {
        let p = RetryPolicy {
            jitter: 0.0,
            ..RetryPolicy::default()
        };
        let mut rng = StdRng::seed_from_u64(0);
        let store = SledOutbox::open(db).unwrap();
        let mut done = Job::new(JobKind::Application, "TB1", "zj", 1_000, &p);
        done.start(1_000).unwrap();
        done.finish(Reply::Duplicate, 1_000, &p, &mut rng).unwrap();
        let pending = Job::new(JobKind::Application, "TB2", "zj", 1_000, &p);
        let mut flying = Job::new(JobKind::Application, "TB3", "zj", 1_000, &p);
        store.put(&flying).unwrap();
        flying.start(1_000).unwrap();
        for j in [&done, &pending, &flying] {
            store.put(j).unwrap();
        }
        store.flush().unwrap();
        store
    }

    #[test]
    fn a_restart_reads_the_open_jobs_and_never_the_delivered_ones() {
        let dir = tempfile::tempdir().unwrap();
        let db = reopen(dir.path());
        let store = three_jobs(&db);
        // A delivered job that no longer even decodes: the restart does not read it.
        store.jobs.insert("TB1/application", b"not json").unwrap();
        let mut ids: Vec<_> = store.open().unwrap().into_iter().map(|j| j.id).collect();
        ids.sort();
        assert_eq!(ids, ["TB2/application", "TB3/application"]);
        drop(store);
        drop(db);
        let db = reopen(dir.path());
        let store = SledOutbox::open(&db).unwrap();
        assert_eq!(store.open().unwrap().len(), 2);
    }

    #[test]
    fn a_store_written_before_the_in_flight_index_is_indexed_when_opened() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = reopen(dir.path());
            three_jobs(&db);
            // As an earlier version left it: no index of the jobs in flight.
            db.drop_tree(IN_FLIGHT_TREE).unwrap();
            db.flush().unwrap();
        }
        let db = reopen(dir.path());
        let store = SledOutbox::open(&db).unwrap();
        let in_flight: Vec<_> = store
            .open()
            .unwrap()
            .into_iter()
            .filter(Job::is_in_flight)
            .map(|j| j.id)
            .collect();
        assert_eq!(in_flight, ["TB3/application"], "put back after a restart");
    }

    #[test]
    fn sled_outbox_behaves_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = reopen(dir.path());
            exercise(&SledOutbox::open(&db).unwrap());
        }
        let db = reopen(dir.path());
        let store = SledOutbox::open(&db).unwrap();
        assert_eq!(store.open().unwrap().len(), 1);
        assert!(store.get("TB1/application").unwrap().is_some());
    }
}
