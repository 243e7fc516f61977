//! Claims, records and documents in their tables, and the committer's batches: each one
//! transaction that holds the writer row from `BEGIN` to `COMMIT` (see the parent module).
//!
//! A batch is three round trips: `BEGIN`, the lock and the ledger's size; the reads
//! (claims, then records, each of the whole batch in one statement over `unnest` arrays);
//! and every write of the batch pipelined with `COMMIT`. A statement that fails aborts the
//! transaction, and the `COMMIT` behind it then rolls it back: nothing of the batch is
//! written.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use deadpool_postgres::Object;
use tokio_postgres::types::ToSql;

use super::outbox::JobRow;
use super::transaction::{pipeline_commit, InTx, Pending};
use super::{PgError, Shared};
use crate::gateway::outbox::StoreError;
use crate::gateway::record::{AppRecord, AppStore, Batch, BatchTx, DocKind};
use crate::ledger::log::KEY_SIZE;

/// Gateway sequence numbers per round trip (the sequence's increment, `0001_initial.sql`).
pub const SEQUENCE_BLOCK: u64 = 64;

/// Rows read per page when listing every record or claim.
const PAGE: i64 = 1000;

/// Starts a batch. READ COMMITTED whatever the server's default: each statement then reads
/// what was committed when it started, so the statements after the lock (which may have
/// waited for another instance's batch) see that batch.
const BEGIN: &str = "BEGIN ISOLATION LEVEL READ COMMITTED";
/// The writer lock.
const LOCK: &str = "SELECT id FROM tongban_writer WHERE id = 1 FOR UPDATE";
/// The ledger's size, read in a statement of its own after the lock: read in the locking
/// statement, it would come from that statement's snapshot, taken before the wait.
const SIZE: &str = "SELECT value FROM tongban_ledger WHERE key = $1";
// One primary-key lookup per key, written as a subquery per row: as a join, the plan a
// prepared statement settles on (made while the table was small) hashes the whole table,
// whose every row is then read by every batch.
const CLAIMED_MANY: &str = "SELECT (SELECT c.gateway_no FROM tongban_claims c \
         WHERE c.source = k.source AND c.source_no = k.source_no) \
     FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(source, source_no, i) \
     ORDER BY k.i";
const GET_MANY: &str = "SELECT (SELECT r.record::text FROM tongban_records r \
         WHERE r.gateway_no = k.no) \
     FROM unnest($1::text[]) WITH ORDINALITY AS k(no, i) ORDER BY k.i";
pub(crate) const PUT_CLAIMS: &str = "INSERT INTO tongban_claims (source, source_no, gateway_no) \
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[])";
pub(crate) const PUT_RECORDS: &str = "INSERT INTO tongban_records (gateway_no, office, record) \
     SELECT no, NULLIF(office, ''), rec::jsonb \
     FROM unnest($1::text[], $2::text[], $3::text[]) AS u(no, office, rec) \
     ON CONFLICT (gateway_no) DO UPDATE SET office = EXCLUDED.office, record = EXCLUDED.record";
pub(crate) const PUT_DOCS: &str = "INSERT INTO tongban_documents (gateway_no, kind, content) \
     SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[]) \
     ON CONFLICT (gateway_no, kind) DO UPDATE SET content = EXCLUDED.content";
const DROP_DOCS: &str = "DELETE FROM tongban_documents WHERE gateway_no = ANY($1::text[])";

fn err(e: PgError) -> StoreError {
    StoreError(e.to_string())
}

fn db(e: tokio_postgres::Error) -> PgError {
    PgError::db(e)
}

fn decode(text: &str) -> Result<AppRecord, PgError> {
    serde_json::from_str(text).map_err(|e| PgError::Db(format!("a stored record: {e}")))
}

/// Claims, records and documents on PostgreSQL.
#[derive(Clone)]
pub struct PgRecords {
    shared: Arc<Shared>,
}

impl PgRecords {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Makes sure numbers handed out from now on, by any instance, are above `seq` (a store
    /// copied from another keeps that store's numbers unique).
    pub fn reserve_sequence(&self, seq: u64) -> Result<(), PgError> {
        let seq = i64::try_from(seq).map_err(|_| PgError::Db(format!("sequence {seq}")))?;
        self.shared.with(move |c| async move {
            c.query_one(
                "SELECT setval('tongban_sequence', GREATEST($1, \
                 (SELECT last_value FROM tongban_sequence)))",
                &[&seq],
            )
            .await
            .map_err(db)?;
            Ok(())
        })?;
        *self
            .shared
            .sequence
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = 0..0;
        Ok(())
    }

    /// The highest number any instance may have handed out (0: none yet).
    pub fn sequence_high(&self) -> Result<u64, PgError> {
        self.shared.with(|c| async move {
            let row = c
                .query_one("SELECT last_value, is_called FROM tongban_sequence", &[])
                .await
                .map_err(db)?;
            let (last, called): (i64, bool) = (row.get(0), row.get(1));
            Ok(if called {
                last as u64 + SEQUENCE_BLOCK - 1
            } else {
                0
            })
        })
    }

    fn page<T: Send + 'static>(
        &self,
        sql: &'static str,
        after: Vec<String>,
        row: fn(&tokio_postgres::Row) -> Result<T, PgError>,
    ) -> Result<Vec<T>, PgError> {
        self.shared.with(move |c| async move {
            let stmt = c.prepare_cached(sql).await.map_err(db)?;
            let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
                after.iter().map(|s| s as _).collect();
            params.push(&PAGE);
            c.query(&stmt, &params)
                .await
                .map_err(db)?
                .iter()
                .map(row)
                .collect()
        })
    }
}

/// Keyset pagination over a table, one page per round trip.
struct Pager<'a, T> {
    store: &'a PgRecords,
    first: &'static str,
    next: &'static str,
    row: fn(&tokio_postgres::Row) -> Result<T, PgError>,
    key: fn(&T) -> Vec<String>,
    after: Option<Vec<String>>,
    buffer: VecDeque<T>,
    done: bool,
}

impl<T: Send + 'static> Iterator for Pager<'_, T> {
    type Item = Result<T, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buffer.is_empty() && !self.done {
            let (sql, after) = match &self.after {
                None => (self.first, Vec::new()),
                Some(k) => (self.next, k.clone()),
            };
            match self.store.page(sql, after, self.row) {
                Ok(rows) => {
                    self.done = (rows.len() as i64) < PAGE;
                    if let Some(last) = rows.last() {
                        self.after = Some((self.key)(last));
                    }
                    self.buffer.extend(rows);
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(err(e)));
                }
            }
        }
        self.buffer.pop_front().map(Ok)
    }
}

fn record_row(row: &tokio_postgres::Row) -> Result<AppRecord, PgError> {
    decode(row.get(0))
}

fn claim_row(row: &tokio_postgres::Row) -> Result<(String, String, String), PgError> {
    Ok((row.get(0), row.get(1), row.get(2)))
}

/// Takes the lease `$1` for `$2` for `$3` ms when it is free, run out or `$2`'s already;
/// returns a row only then.
const LEASE: &str = "INSERT INTO tongban_leases (name, holder, until) \
     VALUES ($1, $2, now() + $3::bigint * interval '1 millisecond') \
     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until \
     WHERE tongban_leases.holder = excluded.holder OR tongban_leases.until < now() \
     RETURNING holder";

impl AppStore for PgRecords {
    fn next_sequence(&self) -> Result<u64, StoreError> {
        let mut block = self
            .shared
            .sequence
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if block.is_empty() {
            // `txid_current()` gives the statement a transaction id, so its commit waits
            // for the WAL to be flushed: a block handed out is never handed out again after
            // the database restarts (nextval alone is flushed lazily).
            let start = self
                .shared
                .with(|c| async move {
                    let row = c
                        .query_one("SELECT nextval('tongban_sequence'), txid_current()", &[])
                        .await
                        .map_err(db)?;
                    Ok(row.get::<_, i64>(0))
                })
                .map_err(err)?;
            let start = u64::try_from(start)
                .map_err(|_| StoreError(format!("tongban_sequence gave {start}")))?;
            *block = start..start + SEQUENCE_BLOCK;
        }
        let n = block.start;
        block.start += 1;
        Ok(n)
    }

    fn claimed(&self, source: &str, source_no: &str) -> Result<Option<String>, StoreError> {
        let (source, no) = (source.to_owned(), source_no.to_owned());
        self.shared
            .with(move |c| async move {
                let stmt = c
                    .prepare_cached(
                        "SELECT gateway_no FROM tongban_claims WHERE source = $1 AND source_no = $2",
                    )
                    .await
                    .map_err(db)?;
                Ok(c.query_opt(&stmt, &[&source, &no])
                    .await
                    .map_err(db)?
                    .map(|r| r.get(0)))
            })
            .map_err(err)
    }

    fn get(&self, gateway_no: &str) -> Result<Option<AppRecord>, StoreError> {
        let no = gateway_no.to_owned();
        self.shared
            .with(move |c| async move {
                let stmt = c
                    .prepare_cached(
                        "SELECT record::text FROM tongban_records WHERE gateway_no = $1",
                    )
                    .await
                    .map_err(db)?;
                c.query_opt(&stmt, &[&no])
                    .await
                    .map_err(db)?
                    .map(|r| decode(r.get(0)))
                    .transpose()
            })
            .map_err(err)
    }

    fn begin(&self) -> Result<Box<dyn BatchTx + '_>, StoreError> {
        let began = Instant::now();
        let pool = self.shared.pool.clone();
        let (client, size) = self
            .shared
            .rt
            .run(async move {
                let client = pool.get().await.map_err(PgError::pool)?;
                let (lock, size) =
                    tokio::try_join!(client.prepare_cached(LOCK), client.prepare_cached(SIZE))
                        .map_err(db)?;
                let tx = InTx(Some(client));
                let c = tx.client();
                // One round trip: the server runs them in this order.
                let (begun, locked, row) = tokio::join!(
                    c.batch_execute(BEGIN),
                    c.query_one(&lock, &[]),
                    c.query_opt(&size, &[&KEY_SIZE])
                );
                match begun.and(locked).and(row) {
                    Ok(row) => Ok((tx, row.map(|r| r.get::<_, Vec<u8>>(0)))),
                    Err(e) => {
                        tx.rollback().await;
                        Err(db(e))
                    }
                }
            })
            .map_err(|e| {
                self.shared.latency.failed();
                err(e)
            })?;
        let size = match size {
            None => 0,
            Some(v) => u64::from_be_bytes(
                v.as_slice()
                    .try_into()
                    .map_err(|_| StoreError("the ledger's size is not 8 bytes".into()))?,
            ),
        };
        Ok(Box::new(PgBatch {
            shared: self.shared.clone(),
            client: Some(client),
            ledger_size: size,
            began,
        }))
    }

    fn put_documents(&self, gateway_no: &str, docs: &[(DocKind, &[u8])]) -> Result<(), StoreError> {
        let nos = vec![gateway_no.to_owned(); docs.len()];
        let kinds: Vec<&'static str> = docs.iter().map(|(k, _)| k.as_str()).collect();
        let bytes: Vec<Vec<u8>> = docs.iter().map(|(_, b)| b.to_vec()).collect();
        self.shared
            .with(move |c| async move {
                c.execute(PUT_DOCS, &[&nos, &kinds, &bytes])
                    .await
                    .map_err(db)?;
                Ok(())
            })
            .map_err(err)
    }

    /// Nothing to do: every write has been durable since it returned.
    fn sync(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn doc(&self, gateway_no: &str, kind: DocKind) -> Result<Option<Vec<u8>>, StoreError> {
        let no = gateway_no.to_owned();
        self.shared
            .with(move |c| async move {
                let stmt = c
                    .prepare_cached(
                        "SELECT content FROM tongban_documents WHERE gateway_no = $1 AND kind = $2",
                    )
                    .await
                    .map_err(db)?;
                Ok(c.query_opt(&stmt, &[&no, &kind.as_str()])
                    .await
                    .map_err(db)?
                    .map(|r| r.get(0)))
            })
            .map_err(err)
    }

    fn all(&self) -> Box<dyn Iterator<Item = Result<AppRecord, StoreError>> + '_> {
        Box::new(Pager {
            store: self,
            first: "SELECT record::text, gateway_no FROM tongban_records \
                    ORDER BY gateway_no LIMIT $1",
            next: "SELECT record::text, gateway_no FROM tongban_records \
                   WHERE gateway_no > $1 ORDER BY gateway_no LIMIT $2",
            row: record_row,
            key: |r: &AppRecord| vec![r.gateway_no.clone()],
            after: None,
            buffer: VecDeque::new(),
            done: false,
        })
    }

    fn claims(
        &self,
    ) -> Box<dyn Iterator<Item = Result<(String, String, String), StoreError>> + '_> {
        Box::new(Pager {
            store: self,
            first: "SELECT source, source_no, gateway_no FROM tongban_claims \
                    ORDER BY source, source_no LIMIT $1",
            next: "SELECT source, source_no, gateway_no FROM tongban_claims \
                   WHERE (source, source_no) > ($1, $2) ORDER BY source, source_no LIMIT $3",
            row: claim_row,
            key: |c: &(String, String, String)| vec![c.0.clone(), c.1.clone()],
            after: None,
            buffer: VecDeque::new(),
            done: false,
        })
    }

    fn recent(&self, limit: usize) -> Result<Vec<AppRecord>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.shared
            .with(move |c| async move {
                let rows = c
                    .query(
                        "SELECT record::text FROM tongban_records \
                         ORDER BY gateway_no DESC LIMIT $1",
                        &[&limit],
                    )
                    .await
                    .map_err(db)?;
                rows.iter().map(record_row).collect()
            })
            .map_err(err)
    }

    fn by_office(&self, office: &str, limit: usize) -> Result<Vec<AppRecord>, StoreError> {
        let office = office.to_owned();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.shared
            .with(move |c| async move {
                let rows = c
                    .query(
                        "SELECT record::text FROM tongban_records WHERE office = $1 \
                         ORDER BY gateway_no DESC LIMIT $2",
                        &[&office, &limit],
                    )
                    .await
                    .map_err(db)?;
                rows.iter().map(record_row).collect()
            })
            .map_err(err)
    }

    fn lease(&self, name: &str, ttl: std::time::Duration) -> Result<bool, StoreError> {
        let (name, holder) = (name.to_owned(), self.shared.instance.clone());
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        self.shared
            .with(move |c| async move {
                let stmt = c.prepare_cached(LEASE).await.map_err(db)?;
                let row = c
                    .query_opt(&stmt, &[&name, &holder, &ttl_ms])
                    .await
                    .map_err(db)?;
                Ok(row.is_some())
            })
            .map_err(err)
    }
}

/// A batch in progress: a connection inside a transaction that holds the writer row.
struct PgBatch {
    shared: Arc<Shared>,
    client: Option<InTx>,
    ledger_size: u64,
    began: Instant,
}

impl PgBatch {
    /// Runs one read of the batch over text arrays; a failure rolls the batch back and
    /// ends it.
    fn query(
        &mut self,
        sql: &'static str,
        arrays: Vec<Vec<String>>,
    ) -> Result<Vec<tokio_postgres::Row>, StoreError> {
        let tx = self
            .client
            .take()
            .ok_or_else(|| StoreError("the batch ended after an error".into()))?;
        let (tx, out) = self
            .shared
            .rt
            .run(async move {
                let out = async {
                    let c = tx.client();
                    let stmt = c.prepare_cached(sql).await?;
                    let params: Vec<&(dyn ToSql + Sync)> =
                        arrays.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
                    c.query(&stmt, &params).await
                }
                .await;
                Ok(match out {
                    Ok(rows) => (Some(tx), Ok(rows)),
                    Err(e) => {
                        tx.rollback().await;
                        (None, Err(db(e)))
                    }
                })
            })
            .map_err(err)?;
        self.client = tx;
        out.map_err(|e| {
            self.shared.latency.failed();
            err(e)
        })
    }
}

impl BatchTx for PgBatch {
    fn ledger_size(&self) -> Option<u64> {
        Some(self.ledger_size)
    }

    fn claimed(&mut self, keys: &[(&str, &str)]) -> Result<Vec<Option<String>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let sources: Vec<String> = keys.iter().map(|k| k.0.to_owned()).collect();
        let nos: Vec<String> = keys.iter().map(|k| k.1.to_owned()).collect();
        let rows = self.query(CLAIMED_MANY, vec![sources, nos])?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn get(&mut self, gateway_nos: &[&str]) -> Result<Vec<Option<AppRecord>>, StoreError> {
        if gateway_nos.is_empty() {
            return Ok(Vec::new());
        }
        let nos: Vec<String> = gateway_nos.iter().map(|n| (*n).to_owned()).collect();
        let rows = self.query(GET_MANY, vec![nos])?;
        rows.iter()
            .map(|r| {
                r.get::<_, Option<&str>>(0)
                    .map(decode)
                    .transpose()
                    .map_err(err)
            })
            .collect()
    }

    fn commit(mut self: Box<Self>, batch: Batch<'_>) -> Result<(), StoreError> {
        let writes = Writes::of(&batch)?;
        let tx = self
            .client
            .take()
            .ok_or_else(|| StoreError("the batch ended after an error".into()))?;
        let result = self.shared.rt.run(async move {
            let c = tx.client();
            match writes.commit(c).await {
                Ok(()) => {
                    tx.done();
                    Ok(())
                }
                Err(e) => {
                    // The COMMIT behind the failed statement rolled back; a connection
                    // that failed itself is closed.
                    if c.is_closed() {
                        drop(tx);
                    } else {
                        tx.done();
                    }
                    Err(e)
                }
            }
        });
        match result {
            Ok(()) => {
                self.shared.latency.observe(self.began.elapsed());
                Ok(())
            }
            Err(e) => {
                self.shared.latency.failed();
                Err(err(e))
            }
        }
    }
}

impl Drop for PgBatch {
    fn drop(&mut self) {
        if let Some(tx) = self.client.take() {
            // Ends the transaction (and so releases the writer row) before returning.
            let _ = self.shared.rt.run(async move {
                tx.rollback().await;
                Ok(())
            });
        }
    }
}

/// A batch's writes as the statements' parameter arrays (a key written twice keeps its
/// last value, as the batch applied in order would).
struct Writes {
    claims: [Vec<String>; 3],
    records: [Vec<String>; 3],
    docs: (Vec<String>, Vec<&'static str>, Vec<Vec<u8>>),
    drop_docs: Vec<String>,
    jobs: JobRow,
    ledger_put: (Vec<Vec<u8>>, Vec<Vec<u8>>),
    ledger_del: Vec<Vec<u8>>,
}

impl Writes {
    fn of(batch: &Batch<'_>) -> Result<Self, StoreError> {
        let mut claims: [Vec<String>; 3] = Default::default();
        for r in &batch.claims {
            claims[0].push(r.source.clone());
            claims[1].push(r.source_no.clone());
            claims[2].push(r.gateway_no.clone());
        }
        let mut records: BTreeMap<&str, &AppRecord> = BTreeMap::new();
        for r in &batch.records {
            records.insert(&r.gateway_no, r);
        }
        let mut rec_cols: [Vec<String>; 3] = Default::default();
        for (no, r) in records {
            rec_cols[0].push(no.to_owned());
            rec_cols[1].push(r.office_uscc.clone());
            rec_cols[2].push(serde_json::to_string(r).map_err(|e| StoreError(e.to_string()))?);
        }
        let mut docs: BTreeMap<(&str, &'static str), &[u8]> = BTreeMap::new();
        for (no, kind, bytes) in &batch.docs {
            docs.insert((no, kind.as_str()), bytes);
        }
        let mut doc_cols = (Vec::new(), Vec::new(), Vec::new());
        for ((no, kind), bytes) in docs {
            doc_cols.0.push(no.to_owned());
            doc_cols.1.push(kind);
            doc_cols.2.push(bytes.to_vec());
        }
        let jobs = JobRow::of(batch.jobs.iter().copied()).map_err(err)?;
        let mut ledger: BTreeMap<&[u8], Option<&[u8]>> = BTreeMap::new();
        for (k, v) in &batch.ledger {
            ledger.insert(k, v.as_deref());
        }
        let (mut put, mut del) = ((Vec::new(), Vec::new()), Vec::new());
        for (k, v) in ledger {
            match v {
                Some(v) => {
                    put.0.push(k.to_vec());
                    put.1.push(v.to_vec());
                }
                None => del.push(k.to_vec()),
            }
        }
        Ok(Self {
            claims,
            records: rec_cols,
            docs: doc_cols,
            drop_docs: batch.drop_docs.iter().map(|n| (*n).to_owned()).collect(),
            jobs,
            ledger_put: put,
            ledger_del: del,
        })
    }

    /// Every write and `COMMIT`, pipelined (the statements prepared first, once per
    /// connection).
    async fn commit(&self, c: &Object) -> Result<(), PgError> {
        use super::ledger::{DELETE as LEDGER_DELETE, PUT as LEDGER_PUT};
        use super::outbox::PUT as JOB_PUT;
        let (claims, records, docs, drop_docs, jobs, ledger_put, ledger_del) = tokio::try_join!(
            c.prepare_cached(PUT_CLAIMS),
            c.prepare_cached(PUT_RECORDS),
            c.prepare_cached(PUT_DOCS),
            c.prepare_cached(DROP_DOCS),
            c.prepare_cached(JOB_PUT),
            c.prepare_cached(LEDGER_PUT),
            c.prepare_cached(LEDGER_DELETE),
        )
        .map_err(db)?;
        let [sources, source_nos, claim_nos] = &self.claims;
        let p_claims: [&(dyn ToSql + Sync); 3] = [sources, source_nos, claim_nos];
        let [nos, offices, values] = &self.records;
        let p_records: [&(dyn ToSql + Sync); 3] = [nos, offices, values];
        let p_docs: [&(dyn ToSql + Sync); 3] = [&self.docs.0, &self.docs.1, &self.docs.2];
        let p_drop: [&(dyn ToSql + Sync); 1] = [&self.drop_docs];
        let p_jobs = self.jobs.params();
        let p_put: [&(dyn ToSql + Sync); 2] = [&self.ledger_put.0, &self.ledger_put.1];
        let p_del: [&(dyn ToSql + Sync); 1] = [&self.ledger_del];
        let mut s: Vec<Pending<'_>> = Vec::new();
        if !sources.is_empty() {
            s.push(Box::pin(c.execute(&claims, &p_claims)));
        }
        if !nos.is_empty() {
            s.push(Box::pin(c.execute(&records, &p_records)));
        }
        if !self.docs.0.is_empty() {
            s.push(Box::pin(c.execute(&docs, &p_docs)));
        }
        if !self.drop_docs.is_empty() {
            s.push(Box::pin(c.execute(&drop_docs, &p_drop)));
        }
        if !self.jobs.is_empty() {
            s.push(Box::pin(c.execute(&jobs, &p_jobs)));
        }
        if !self.ledger_put.0.is_empty() {
            s.push(Box::pin(c.execute(&ledger_put, &p_put)));
        }
        if !self.ledger_del.is_empty() {
            s.push(Box::pin(c.execute(&ledger_del, &p_del)));
        }
        pipeline_commit(c, s).await
    }
}
