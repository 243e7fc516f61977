//! The ledger's key-value layout (`src/ledger/log.rs`) in `tongban_ledger`, byte keys in byte
//! order.
//!
//! [`LedgerStore::commit`] here is one transaction of its own and never takes the writer
//! lock: the gateway calls it for signed checkpoints and witnesses' cosignatures while its
//! committer may hold that lock through a batch on another connection. The gateway's appends
//! go through its batches; an append through `commit` (tools such as `tongban storage copy`)
//! is only for a database no gateway instance is writing to.

use std::sync::Arc;

use tokio_postgres::types::ToSql;

use super::transaction::{pipeline_commit, InTx};
use super::{PgError, Shared};
use crate::ledger::{KeyValue, LedgerStore, StoreError, Write};

/// Puts pairs.
pub(crate) const PUT: &str = "INSERT INTO tongban_ledger (key, value) \
     SELECT * FROM unnest($1::bytea[], $2::bytea[]) \
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value";
/// Removes keys.
pub(crate) const DELETE: &str = "DELETE FROM tongban_ledger WHERE key = ANY($1::bytea[])";

fn err(e: PgError) -> StoreError {
    StoreError(Box::new(e))
}

/// The first key after every key that starts with `prefix` (`None`: there is none).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// The ledger's pairs on PostgreSQL.
#[derive(Clone)]
pub struct PgLedger {
    shared: Arc<Shared>,
}

impl PgLedger {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    fn range(&self, prefix: &[u8], last: bool) -> Result<Vec<KeyValue>, StoreError> {
        let start = prefix.to_vec();
        let end = prefix_end(prefix);
        let order = if last { "DESC LIMIT 1" } else { "" };
        let sql = match end {
            Some(_) => format!(
                "SELECT key, value FROM tongban_ledger WHERE key >= $1 AND key < $2 \
                 ORDER BY key {order}"
            ),
            None => format!(
                "SELECT key, value FROM tongban_ledger WHERE key >= $1 ORDER BY key {order}"
            ),
        };
        self.shared
            .with(move |c| async move {
                let stmt = c.prepare_cached(&sql).await.map_err(PgError::db)?;
                let rows = match &end {
                    Some(end) => c.query(&stmt, &[&start, end]).await,
                    None => c.query(&stmt, &[&start]).await,
                }
                .map_err(PgError::db)?;
                Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
            })
            .map_err(err)
    }
}

impl LedgerStore for PgLedger {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let key = key.to_vec();
        self.shared
            .with(move |c| async move {
                let stmt = c
                    .prepare_cached("SELECT value FROM tongban_ledger WHERE key = $1")
                    .await
                    .map_err(PgError::db)?;
                Ok(c.query_opt(&stmt, &[&key])
                    .await
                    .map_err(PgError::db)?
                    .map(|r| r.get(0)))
            })
            .map_err(err)
    }

    /// One transaction (all of it or none), durable when it returns; see the module doc.
    fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let mut last = std::collections::BTreeMap::new();
        for (k, v) in writes {
            last.insert(k, v);
        }
        let (mut keys, mut values, mut gone) = (Vec::new(), Vec::new(), Vec::new());
        for (k, v) in last {
            match v {
                Some(v) => {
                    keys.push(k);
                    values.push(v);
                }
                None => gone.push(k),
            }
        }
        if keys.is_empty() && gone.is_empty() {
            return Ok(());
        }
        self.shared
            .with(move |c| async move {
                let (put, delete) =
                    tokio::try_join!(c.prepare_cached(PUT), c.prepare_cached(DELETE))
                        .map_err(PgError::db)?;
                let tx = InTx(Some(c));
                let c = tx.client();
                let p_put: [&(dyn ToSql + Sync); 2] = [&keys, &values];
                let p_del: [&(dyn ToSql + Sync); 1] = [&gone];
                let begin = Box::pin(async { c.batch_execute("BEGIN").await.map(|()| 0) });
                let result = pipeline_commit(
                    c,
                    vec![
                        begin,
                        Box::pin(c.execute(&put, &p_put)),
                        Box::pin(c.execute(&delete, &p_del)),
                    ],
                )
                .await;
                if c.is_closed() {
                    drop(tx);
                } else {
                    tx.done();
                }
                result
            })
            .map_err(err)
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<KeyValue>, StoreError> {
        self.range(prefix, false)
    }

    fn last_with_prefix(&self, prefix: &[u8]) -> Result<Option<KeyValue>, StoreError> {
        Ok(self.range(prefix, true)?.pop())
    }

    fn shared(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn a_prefix_ends_before_the_next_one() {
        assert_eq!(prefix_end(b"c"), Some(b"d".to_vec()));
        assert_eq!(prefix_end(&[b'q', 0xff]), Some(b"r".to_vec()));
        assert_eq!(prefix_end(&[0xff, 0xff]), None);
        assert_eq!(prefix_end(b""), None);
    }
}
