//! [`Portable`] on PostgreSQL: every document, job and ledger pair listed a page per round
//! trip, and a copy written in one transaction (nothing of it visible, or left behind by a
//! failure, before it commits).

use std::collections::VecDeque;
use std::sync::Arc;

use tokio_postgres::types::ToSql;

use super::outbox::JobRow;
use super::records::{PUT_CLAIMS, PUT_DOCS, PUT_RECORDS};
use super::transaction::{InTx, Pending};
use super::{PgError, PgStore, Shared};
use crate::gateway::outbox::{Job, StoreError};
use crate::gateway::record::{AppRecord, DocKind};
use crate::ledger::KeyValue;
use crate::store::copy::{Counts, Document, Importer, Items, Part, Portable};
use crate::store::Stores;

/// Rows per page.
const PAGE: i64 = 256;

fn err(e: PgError) -> StoreError {
    StoreError(e.to_string())
}

type Fetch<'a, K, T> = Box<dyn FnMut(Option<&K>) -> Result<Vec<(K, T)>, PgError> + 'a>;

/// Keyset pagination: each page starts after the last key of the one before.
struct Pages<'a, K, T> {
    fetch: Fetch<'a, K, T>,
    after: Option<K>,
    buffer: VecDeque<T>,
    done: bool,
}

impl<K, T> Iterator for Pages<'_, K, T> {
    type Item = Result<T, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buffer.is_empty() && !self.done {
            match (self.fetch)(self.after.as_ref()) {
                Ok(rows) => {
                    self.done = (rows.len() as i64) < PAGE;
                    for (k, t) in rows {
                        self.after = Some(k);
                        self.buffer.push_back(t);
                    }
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

fn pages<'a, K: 'a, T: 'a>(fetch: Fetch<'a, K, T>) -> Items<'a, T> {
    Box::new(Pages {
        fetch,
        after: None,
        buffer: VecDeque::new(),
        done: false,
    })
}

fn kind(name: &str) -> Result<DocKind, PgError> {
    DocKind::ALL
        .into_iter()
        .find(|k| k.as_str() == name)
        .ok_or_else(|| PgError::Db(format!("unknown document kind {name}")))
}

impl Portable for PgStore {
    fn stores(&self) -> Stores {
        PgStore::stores(self)
    }

    fn counts(&self) -> Result<Counts, StoreError> {
        self.shared
            .with(|c| async move {
                let row = c
                    .query_one(
                        "SELECT (SELECT count(*) FROM tongban_records), \
                                (SELECT count(*) FROM tongban_claims), \
                                (SELECT count(*) FROM tongban_documents), \
                                (SELECT count(*) FROM tongban_outbox), \
                                (SELECT count(*) FROM tongban_ledger)",
                        &[],
                    )
                    .await
                    .map_err(PgError::db)?;
                let n = |i| row.get::<_, i64>(i) as u64;
                Ok(Counts {
                    records: n(0),
                    claims: n(1),
                    documents: n(2),
                    jobs: n(3),
                    ledger_pairs: n(4),
                })
            })
            .map_err(err)
    }

    fn documents(&self) -> Items<'_, Document> {
        let shared = self.shared.clone();
        pages(Box::new(move |after: Option<&(String, String)>| {
            let after = after.cloned();
            shared.with(move |c| async move {
                let rows = match after {
                    None => {
                        c.query(
                            "SELECT gateway_no, kind, content FROM tongban_documents \
                             ORDER BY gateway_no, kind LIMIT $1",
                            &[&PAGE],
                        )
                        .await
                    }
                    Some((no, k)) => {
                        c.query(
                            "SELECT gateway_no, kind, content FROM tongban_documents \
                             WHERE (gateway_no, kind) > ($1, $2) \
                             ORDER BY gateway_no, kind LIMIT $3",
                            &[&no, &k, &PAGE],
                        )
                        .await
                    }
                }
                .map_err(PgError::db)?;
                rows.iter()
                    .map(|r| {
                        let (no, k): (String, String) = (r.get(0), r.get(1));
                        let doc = (no.clone(), kind(&k)?, r.get(2));
                        Ok(((no, k), doc))
                    })
                    .collect()
            })
        }))
    }

    fn jobs(&self) -> Items<'_, Job> {
        let shared = self.shared.clone();
        pages(Box::new(move |after: Option<&String>| {
            let after = after.cloned().unwrap_or_default();
            shared.with(move |c| async move {
                let rows = c
                    .query(
                        "SELECT id, job::text FROM tongban_outbox WHERE id > $1 \
                         ORDER BY id LIMIT $2",
                        &[&after, &PAGE],
                    )
                    .await
                    .map_err(PgError::db)?;
                rows.iter()
                    .map(|r| {
                        let job: Job = serde_json::from_str(r.get(1))
                            .map_err(|e| PgError::Db(format!("a stored job: {e}")))?;
                        Ok((r.get(0), job))
                    })
                    .collect()
            })
        }))
    }

    fn ledger_pairs(&self) -> Items<'_, KeyValue> {
        let shared = self.shared.clone();
        pages(Box::new(move |after: Option<&Vec<u8>>| {
            let after = after.cloned();
            shared.with(move |c| async move {
                let rows = match after {
                    None => {
                        c.query(
                            "SELECT key, value FROM tongban_ledger ORDER BY key LIMIT $1",
                            &[&PAGE],
                        )
                        .await
                    }
                    Some(k) => {
                        c.query(
                            "SELECT key, value FROM tongban_ledger WHERE key > $1 \
                             ORDER BY key LIMIT $2",
                            &[&k, &PAGE],
                        )
                        .await
                    }
                }
                .map_err(PgError::db)?;
                Ok(rows
                    .iter()
                    .map(|r| {
                        let k: Vec<u8> = r.get(0);
                        (k.clone(), (k, r.get(1)))
                    })
                    .collect())
            })
        }))
    }

    fn sequence(&self) -> Result<u64, StoreError> {
        self.records().sequence_high().map_err(err)
    }

    fn import(&self) -> Result<Box<dyn Importer + '_>, StoreError> {
        let pool = self.shared.pool.clone();
        let tx = self
            .shared
            .rt
            .run(async move {
                let client = pool.get().await.map_err(PgError::pool)?;
                let tx = InTx(Some(client));
                tx.client()
                    .batch_execute("BEGIN")
                    .await
                    .map_err(PgError::db)?;
                Ok(tx)
            })
            .map_err(err)?;
        Ok(Box::new(PgImport {
            shared: self.shared.clone(),
            tx: Some(tx),
        }))
    }
}

/// A copy being written: one transaction.
struct PgImport {
    shared: Arc<Shared>,
    tx: Option<InTx>,
}

/// A part as the statements' parameter arrays.
struct Rows {
    claims: [Vec<String>; 3],
    records: [Vec<String>; 3],
    docs: (Vec<String>, Vec<&'static str>, Vec<Vec<u8>>),
    jobs: JobRow,
    ledger: (Vec<Vec<u8>>, Vec<Vec<u8>>),
}

impl Rows {
    fn of(part: Part) -> Result<Rows, PgError> {
        let mut claims: [Vec<String>; 3] = Default::default();
        for (s, n, g) in part.claims {
            claims[0].push(s);
            claims[1].push(n);
            claims[2].push(g);
        }
        let mut records: [Vec<String>; 3] = Default::default();
        for r in &part.records {
            records[0].push(r.gateway_no.clone());
            records[1].push(r.office_uscc.clone());
            records[2].push(
                serde_json::to_string::<AppRecord>(r).map_err(|e| PgError::Db(e.to_string()))?,
            );
        }
        let mut docs = (Vec::new(), Vec::new(), Vec::new());
        for (no, kind, bytes) in part.documents {
            docs.0.push(no);
            docs.1.push(kind.as_str());
            docs.2.push(bytes);
        }
        let (keys, values) = part.ledger.into_iter().unzip();
        Ok(Rows {
            claims,
            records,
            docs,
            jobs: JobRow::of(&part.jobs)?,
            ledger: (keys, values),
        })
    }

    async fn write(&self, c: &deadpool_postgres::Object) -> Result<(), PgError> {
        use super::ledger::PUT as LEDGER_PUT;
        use super::outbox::PUT as JOB_PUT;
        let p_claims: [&(dyn ToSql + Sync); 3] =
            [&self.claims[0], &self.claims[1], &self.claims[2]];
        let p_records: [&(dyn ToSql + Sync); 3] =
            [&self.records[0], &self.records[1], &self.records[2]];
        let p_docs: [&(dyn ToSql + Sync); 3] = [&self.docs.0, &self.docs.1, &self.docs.2];
        let p_jobs = self.jobs.params();
        let p_ledger: [&(dyn ToSql + Sync); 2] = [&self.ledger.0, &self.ledger.1];
        let mut s: Vec<Pending<'_>> = Vec::new();
        if !self.claims[0].is_empty() {
            s.push(Box::pin(c.execute(PUT_CLAIMS, &p_claims)));
        }
        if !self.records[0].is_empty() {
            s.push(Box::pin(c.execute(PUT_RECORDS, &p_records)));
        }
        if !self.docs.0.is_empty() {
            s.push(Box::pin(c.execute(PUT_DOCS, &p_docs)));
        }
        if !self.jobs.is_empty() {
            s.push(Box::pin(c.execute(JOB_PUT, &p_jobs)));
        }
        if !self.ledger.0.is_empty() {
            s.push(Box::pin(c.execute(LEDGER_PUT, &p_ledger)));
        }
        let results = futures::future::join_all(s).await;
        match results.into_iter().find_map(Result::err) {
            None => Ok(()),
            Some(e) => Err(PgError::db(e)),
        }
    }
}

impl Importer for PgImport {
    fn write(&mut self, part: Part) -> Result<(), StoreError> {
        let rows = Rows::of(part).map_err(err)?;
        let tx = self
            .tx
            .take()
            .ok_or_else(|| StoreError("the copy ended after an error".into()))?;
        let tx = self
            .shared
            .rt
            .run(async move {
                match rows.write(tx.client()).await {
                    Ok(()) => Ok(tx),
                    Err(e) => {
                        tx.rollback().await;
                        Err(e)
                    }
                }
            })
            .map_err(err)?;
        self.tx = Some(tx);
        Ok(())
    }

    fn finish(mut self: Box<Self>, sequence: u64) -> Result<(), StoreError> {
        let tx = self
            .tx
            .take()
            .ok_or_else(|| StoreError("the copy ended after an error".into()))?;
        let seq =
            i64::try_from(sequence).map_err(|_| StoreError(format!("sequence {sequence}")))?;
        self.shared
            .rt
            .run(async move {
                let c = tx.client();
                let done = async {
                    if seq > 0 {
                        c.query_one("SELECT setval('tongban_sequence', $1)", &[&seq])
                            .await?;
                    }
                    c.batch_execute("COMMIT").await
                }
                .await;
                match done {
                    Ok(()) => {
                        tx.done();
                        Ok(())
                    }
                    Err(e) => {
                        tx.rollback().await;
                        Err(PgError::db(e))
                    }
                }
            })
            .map_err(err)?;
        *self
            .shared
            .sequence
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = 0..0;
        Ok(())
    }
}

impl Drop for PgImport {
    fn drop(&mut self) {
        if let Some(tx) = self.tx.take() {
            let _ = self.shared.rt.run(async move {
                tx.rollback().await;
                Ok(())
            });
        }
    }
}
