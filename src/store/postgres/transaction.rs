//! A transaction on a pooled connection: the guard that never hands a connection left inside
//! a transaction back to the pool, and the one round trip that runs a batch's statements and
//! its `COMMIT`. Below the tables' modules, which all write through it.

use std::future::Future;
use std::pin::Pin;

use deadpool_postgres::Object;

use super::PgError;

/// A connection inside a transaction: dropped without [`InTx::done`] (a panic, a cancelled
/// task), it is closed rather than handed back to the pool, and the server rolls back.
pub(crate) struct InTx(pub(crate) Option<Object>);

impl InTx {
    pub(crate) fn client(&self) -> &Object {
        self.0
            .as_ref()
            .expect("a transaction's connection until it ends")
    }

    /// The transaction ended: the connection goes back to the pool.
    pub(crate) fn done(mut self) {
        drop(self.0.take());
    }

    /// Rolls back; the connection goes back to the pool when that worked, else is closed.
    pub(crate) async fn rollback(self) {
        if self.client().batch_execute("ROLLBACK").await.is_ok() {
            self.done();
        }
    }
}

impl Drop for InTx {
    fn drop(&mut self) {
        if let Some(client) = self.0.take() {
            drop(Object::take(client));
        }
    }
}

pub(crate) type Pending<'a> =
    Pin<Box<dyn Future<Output = Result<u64, tokio_postgres::Error>> + Send + 'a>>;

/// Runs statements (each prepared and bound) and then `COMMIT` in one round trip, in this
/// order; the first failure, if any (the `COMMIT` then rolled the transaction back).
pub(crate) async fn pipeline_commit(
    client: &Object,
    statements: Vec<Pending<'_>>,
) -> Result<(), PgError> {
    let mut all = statements;
    all.push(Box::pin(async {
        client.batch_execute("COMMIT").await.map(|()| 0)
    }));
    let results = futures::future::join_all(all).await;
    match results.into_iter().find_map(Result::err) {
        None => Ok(()),
        Some(e) => Err(PgError::db(e)),
    }
}
