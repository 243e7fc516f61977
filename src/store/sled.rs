//! The sled implementation of [`LedgerStore`].

use crate::ledger::{KeyValue, LedgerStore, StoreError};
use std::path::Path;

/// Name of the sled tree holding the ledger (the daemon's outbox will use another tree in
/// the same database).
pub const LEDGER_TREE: &str = "ledger";

/// Opens (or creates) the sled database at `path`.
pub fn open_sled(path: &Path) -> Result<sled::Db, StoreError> {
    sled::Config::new()
        .path(path)
        .mode(sled::Mode::HighThroughput)
        .open()
        .map_err(wrap)
}

fn wrap(e: sled::Error) -> StoreError {
    StoreError(Box::new(e))
}

/// The ledger's tree in a sled database. Commits are one atomic `apply_batch` followed by
/// one `flush` (fsync) — the group commit.
#[derive(Clone, Debug)]
pub struct SledLedgerStore {
    db: sled::Db,
    tree: sled::Tree,
}

impl SledLedgerStore {
    /// Opens the ledger tree of an open database.
    pub fn new(db: sled::Db) -> Result<Self, StoreError> {
        let tree = db.open_tree(LEDGER_TREE).map_err(wrap)?;
        Ok(Self { db, tree })
    }

    /// Opens the database at `path` and its ledger tree.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::new(open_sled(path)?)
    }

    /// The database (for other trees or size reporting).
    pub fn db(&self) -> &sled::Db {
        &self.db
    }
}

impl LedgerStore for SledLedgerStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.tree.get(key).map_err(wrap)?.map(|v| v.to_vec()))
    }

    fn commit(&self, writes: Vec<KeyValue>) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for (k, v) in writes {
            batch.insert(k, v);
        }
        self.tree.apply_batch(batch).map_err(wrap)?;
        self.tree.flush().map_err(wrap)?;
        Ok(())
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<KeyValue>, StoreError> {
        self.tree
            .scan_prefix(prefix)
            .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(wrap))
            .collect()
    }

    fn last_with_prefix(&self, prefix: &[u8]) -> Result<Option<KeyValue>, StoreError> {
        match self.tree.scan_prefix(prefix).next_back() {
            None => Ok(None),
            Some(r) => r.map(|(k, v)| Some((k.to_vec(), v.to_vec()))).map_err(wrap),
        }
    }
}
