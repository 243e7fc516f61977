//! The sled implementation of [`LedgerStore`].
//!
//! Keys are partitioned into sled trees by their first byte (the ledger's key kind: `e`
//! entry bundles, `t` hash tiles, `c` checkpoints, `s` the size), so the small keys rewritten
//! on every commit never share B-tree nodes with the large, write-once bundles and tiles —
//! sled rewrites a whole node when it consolidates one, and that churn is what costs space.

use crate::ledger::{KeyValue, LedgerStore, StoreError};
use std::collections::HashMap;
use std::path::Path;
use std::sync::RwLock;

/// Prefix of the names of the sled trees holding the ledger (the daemon's outbox will use
/// other trees in the same database).
pub const LEDGER_TREE_PREFIX: &str = "ledger-";

/// sled log segment size. sled writes any page image larger than a quarter of a segment to
/// its own blob file, deleted as soon as the page is rewritten, while smaller images go into
/// the log, where superseded copies linger until their segment is under half live. Entry
/// bundles (~80 KiB) and hash tiles (8 KiB) are exactly such large, superseded-once images, so
/// with 16 KiB segments they live in blobs and the directory stays close to the live data
/// (measured: ~39 B/entry beyond the entries at 1–2 M entries, against ~220 B/entry with
/// sled's default 512 KiB, which keeps every bundle's first copy in the log).
pub const SEGMENT_SIZE: usize = 16 * 1024;

/// Opens (or creates) the sled database at `path`.
pub fn open_sled(path: &Path) -> Result<sled::Db, StoreError> {
    sled::Config::new()
        .path(path)
        .mode(sled::Mode::HighThroughput)
        .segment_size(SEGMENT_SIZE)
        .open()
        .map_err(wrap)
}

fn wrap(e: sled::Error) -> StoreError {
    StoreError(Box::new(e))
}

/// The ledger's trees in a sled database. A commit applies one batch per tree, in the order
/// the trees first appear in the writes, then makes one `flush` (fsync) — the group commit.
/// Each tree's batch is atomic; the ledger writes its size key last and ignores anything
/// beyond the size, so an interrupted commit recovers to the previous one.
#[derive(Debug)]
pub struct SledLedgerStore {
    db: sled::Db,
    trees: RwLock<HashMap<u8, sled::Tree>>,
}

impl SledLedgerStore {
    /// Uses the ledger trees of an open database.
    pub fn new(db: sled::Db) -> Self {
        Self {
            db,
            trees: RwLock::new(HashMap::new()),
        }
    }

    /// Opens the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Ok(Self::new(open_sled(path)?))
    }

    /// The database (for other trees or size reporting).
    pub fn db(&self) -> &sled::Db {
        &self.db
    }

    fn tree(&self, key: &[u8]) -> Result<sled::Tree, StoreError> {
        let kind = key.first().copied().unwrap_or(0);
        if let Some(t) = self
            .trees
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&kind)
        {
            return Ok(t.clone());
        }
        let t = self
            .db
            .open_tree(format!("{LEDGER_TREE_PREFIX}{kind:02x}"))
            .map_err(wrap)?;
        self.trees
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(kind, t.clone());
        Ok(t)
    }
}

impl LedgerStore for SledLedgerStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.tree(key)?.get(key).map_err(wrap)?.map(|v| v.to_vec()))
    }

    fn commit(&self, writes: Vec<KeyValue>) -> Result<(), StoreError> {
        let mut order: Vec<u8> = Vec::new();
        let mut batches: HashMap<u8, sled::Batch> = HashMap::new();
        for (k, v) in writes {
            let kind = k.first().copied().unwrap_or(0);
            if !batches.contains_key(&kind) {
                order.push(kind);
            }
            batches.entry(kind).or_default().insert(k, v);
        }
        for kind in order {
            let batch = batches.remove(&kind).expect("batch for kind");
            self.tree(&[kind])?.apply_batch(batch).map_err(wrap)?;
        }
        self.db.flush().map_err(wrap)?;
        Ok(())
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<KeyValue>, StoreError> {
        self.tree(prefix)?
            .scan_prefix(prefix)
            .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(wrap))
            .collect()
    }

    fn last_with_prefix(&self, prefix: &[u8]) -> Result<Option<KeyValue>, StoreError> {
        match self.tree(prefix)?.scan_prefix(prefix).next_back() {
            None => Ok(None),
            Some(r) => r.map(|(k, v)| Some((k.to_vec(), v.to_vec()))).map_err(wrap),
        }
    }
}
