//! The outbox in `tongban_outbox`, shared by every instance: a due job is *leased* to the
//! instance that takes it, so no other sends it while that instance lives.
//!
//! [`OutboxStore::due_except`] takes due jobs whose lease is free or has run out (`FOR UPDATE
//! SKIP LOCKED`: two instances looking at once never take the same job) and leases them to
//! this process until `now` + the configured lease, moving their `due` to the lease's end:
//! the jobs leased are not due, so looking for due work reads none of them. The jobs this
//! process is still attempting or holding are left out of the look: written by their task,
//! they are due as written. Writing a job (`put`, or a batch's jobs) frees its lease. A job delivered or failed is never written back to pending or in flight:
//! an instance whose lease ran out while its attempt was slow cannot revive a job another
//! instance finished meanwhile. If an instance dies, its jobs are due again for the others
//! when their leases run out; the destination answers a second copy of an application as a
//! duplicate of the same gateway number, which counts as delivered.

use std::collections::HashSet;
use std::sync::Arc;

use tokio_postgres::types::ToSql;

use super::{PgError, Shared};
use crate::gateway::outbox::{Job, JobState, OutboxStore, StoreError};

/// Writes jobs, freeing their leases; a finished job stays finished.
pub(crate) const PUT: &str = "INSERT INTO tongban_outbox (id, state, due, job) \
     SELECT id, state, due, job::jsonb \
     FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[]) AS u(id, state, due, job) \
     ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, due = EXCLUDED.due, \
         lease_owner = NULL, lease_until = NULL, job = EXCLUDED.job \
     WHERE tongban_outbox.state IN ('pending', 'in_flight') \
        OR EXCLUDED.state IN ('delivered', 'failed')";

/// Leases due jobs: a leased job's `due` moves to the end of its lease, so the jobs other
/// instances hold are not due (and not read) until their lease runs out.
const CLAIM: &str = "UPDATE tongban_outbox SET lease_owner = $1, lease_until = $2, due = $2 \
     WHERE id IN (SELECT id FROM tongban_outbox WHERE due <= $3 AND id <> ALL($5::text[]) \
         ORDER BY due, id LIMIT $4 FOR UPDATE SKIP LOCKED) \
     RETURNING job::text";

fn err(e: PgError) -> StoreError {
    StoreError(e.to_string())
}

fn decode(text: &str) -> Result<Job, PgError> {
    serde_json::from_str(text).map_err(|e| PgError::Db(format!("a stored job: {e}")))
}

/// The state column's name of a job's state.
pub(crate) fn state_name(state: &JobState) -> &'static str {
    match state {
        JobState::Pending { .. } => "pending",
        JobState::InFlight { .. } => "in_flight",
        JobState::Delivered { .. } => "delivered",
        JobState::Failed { .. } => "failed",
    }
}

/// Jobs as [`PUT`]'s parameter arrays (a job written twice keeps its last version).
#[derive(Default)]
pub(crate) struct JobRow {
    ids: Vec<String>,
    states: Vec<&'static str>,
    due: Vec<Option<i64>>,
    jobs: Vec<String>,
}

impl JobRow {
    pub(crate) fn of<'a>(jobs: impl IntoIterator<Item = &'a Job>) -> Result<Self, PgError> {
        let mut last: std::collections::BTreeMap<&str, &Job> = Default::default();
        for job in jobs {
            last.insert(&job.id, job);
        }
        let mut row = JobRow::default();
        for (id, job) in last {
            row.ids.push(id.to_owned());
            row.states.push(state_name(&job.state));
            row.due.push(job.due_at());
            row.jobs
                .push(serde_json::to_string(job).map_err(|e| PgError::Db(e.to_string()))?);
        }
        Ok(row)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub(crate) fn params(&self) -> [&(dyn ToSql + Sync); 4] {
        [&self.ids, &self.states, &self.due, &self.jobs]
    }
}

/// The outbox on PostgreSQL.
#[derive(Clone)]
pub struct PgOutbox {
    shared: Arc<Shared>,
}

impl PgOutbox {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Every job, finished ones too, in id order (for copying a store).
    pub fn every_job(&self) -> Result<Vec<Job>, PgError> {
        self.shared.with(|c| async move {
            let rows = c
                .query("SELECT job::text FROM tongban_outbox ORDER BY id", &[])
                .await
                .map_err(PgError::db)?;
            rows.iter().map(|r| decode(r.get(0))).collect()
        })
    }
}

impl OutboxStore for PgOutbox {
    fn put(&self, job: &Job) -> Result<(), StoreError> {
        let row = JobRow::of([job]).map_err(err)?;
        self.shared
            .with(move |c| async move {
                let stmt = c.prepare_cached(PUT).await.map_err(PgError::db)?;
                c.execute(&stmt, &row.params()).await.map_err(PgError::db)?;
                Ok(())
            })
            .map_err(err)
    }

    fn get(&self, id: &str) -> Result<Option<Job>, StoreError> {
        let id = id.to_owned();
        self.shared
            .with(move |c| async move {
                let stmt = c
                    .prepare_cached("SELECT job::text FROM tongban_outbox WHERE id = $1")
                    .await
                    .map_err(PgError::db)?;
                c.query_opt(&stmt, &[&id])
                    .await
                    .map_err(PgError::db)?
                    .map(|r| decode(r.get(0)))
                    .transpose()
            })
            .map_err(err)
    }

    /// A lock of this store's own: a batch's jobs become visible to any instance only when
    /// its `COMMIT` has returned durable, so the worker can never see a job a crash could
    /// still undo, and batches need not hold it.
    fn gate(&self) -> Arc<tokio::sync::RwLock<()>> {
        self.shared.gate.clone()
    }

    /// Takes due jobs for this instance (see the module doc), at most `limit`, leaving the
    /// jobs `busy` names alone: they are this process's already, and a busy job its task has
    /// written but not yet ended must stay due as written, not be leased again.
    fn due_except(
        &self,
        now: i64,
        limit: usize,
        busy: &HashSet<String>,
    ) -> Result<Vec<Job>, StoreError> {
        let lease = i64::try_from(self.shared.config.lease.as_millis()).unwrap_or(i64::MAX);
        let until = now.saturating_add(lease.max(1));
        let me = self.shared.instance.clone();
        let n = i64::try_from(limit).unwrap_or(i64::MAX);
        let busy: Vec<String> = busy.iter().cloned().collect();
        let mut out = self
            .shared
            .with(move |c| async move {
                let stmt = c.prepare_cached(CLAIM).await.map_err(PgError::db)?;
                let rows = c
                    .query(&stmt, &[&me, &until, &now, &n, &busy])
                    .await
                    .map_err(PgError::db)?;
                rows.iter()
                    .map(|r| decode(r.get(0)))
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(err)?;
        out.sort_by(|a, b| (a.due_at(), &a.id).cmp(&(b.due_at(), &b.id)));
        Ok(out)
    }

    fn open(&self) -> Result<Vec<Job>, StoreError> {
        self.shared
            .with(|c| async move {
                let rows = c
                    .query(
                        "SELECT job::text FROM tongban_outbox \
                         WHERE state IN ('pending', 'in_flight') ORDER BY due NULLS LAST, id",
                        &[],
                    )
                    .await
                    .map_err(PgError::db)?;
                rows.iter().map(|r| decode(r.get(0))).collect()
            })
            .map_err(err)
    }

    /// Nothing to do: every `put` is a transaction that was durable when it returned.
    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn shared(&self) -> bool {
        true
    }

    fn restarted(&self) -> Result<usize, StoreError> {
        let me = self.shared.instance.clone();
        let now = chrono::Utc::now().timestamp_millis();
        self.shared
            .with(move |c| async move {
                let n = c
                    .execute(
                        "UPDATE tongban_outbox \
                         SET lease_owner = NULL, lease_until = NULL, due = LEAST(due, $2) \
                         WHERE lease_owner = $1 AND due IS NOT NULL",
                        &[&me, &now],
                    )
                    .await
                    .map_err(PgError::db)?;
                Ok(usize::try_from(n).unwrap_or(usize::MAX))
            })
            .map_err(err)
    }

    fn count_open(&self) -> Result<usize, StoreError> {
        self.shared
            .with(|c| async move {
                let row = c
                    .query_one(
                        "SELECT count(*) FROM tongban_outbox \
                         WHERE state IN ('pending', 'in_flight')",
                        &[],
                    )
                    .await
                    .map_err(PgError::db)?;
                Ok(usize::try_from(row.get::<_, i64>(0)).unwrap_or(0))
            })
            .map_err(err)
    }
}
