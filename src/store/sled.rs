//! The one sled database of a data directory, made durable for real, and the ledger's trees
//! in it ([`SledLedgerStore`]).
//!
//! Everything the gateway keeps — claims, records, documents, outbox, ledger — lives in one
//! database, so one sled transaction over its trees is atomic across a crash (one log, one
//! batch manifest) and one flush makes it durable.
//!
//! **Durable means on stable storage.** sled 0.34's `flush` writes its log with
//! `sync_file_range`, which neither flushes the drive's write cache nor the file's size, and
//! never syncs the blob files it writes page images larger than a quarter of a segment to
//! (upstream sled issue #1452). [`Durability::sync`] therefore follows every flush with an
//! `fdatasync` of the log file and an `fsync` of each blob file sled created since the last
//! one (and of the blob directory), before anything is acknowledged.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::ledger::{KeyValue, LedgerStore, StoreError, Write};

/// Prefix of the names of the sled trees holding the ledger; the ledger's key kind (its
/// first byte) picks the tree.
pub const LEDGER_TREE_PREFIX: &str = "ledger-";

/// The ledger's key kinds (see `ledger::log`): `size`, tiles, bundles, partial bundle
/// entries, checkpoints, partial upper tiles. Each gets its own tree, so the small keys
/// rewritten on every commit never share B-tree nodes with the large, write-once bundles.
pub const LEDGER_KINDS: [u8; 6] = [b's', b't', b'e', b'q', b'c', b'u'];

/// sled's page cache: records, documents and ledger tiles are written once and read a few
/// times soon after, so a small cache suffices and keeps the gateway well under 100 MiB
/// (sled's default is 1 GiB).
pub const CACHE_BYTES: u64 = 16 * 1024 * 1024;

/// sled's log segment size (its default). Page images above a quarter of it go to blob
/// files of their own, which must each be synced; at 512 KiB only page images above 128 KiB
/// do (large documents, and the consolidated nodes of full entry bundles), so a commit of
/// ordinary applications writes to the log alone.
pub const SEGMENT_SIZE: usize = 512 * 1024;

fn wrap(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError(Box::new(e))
}

/// How long opening waits for the lock of a database this process has just closed. sled
/// releases its file lock from a background thread after the last handle is dropped, so a
/// reopen right after a close (a migration, a test) may find it still held for a moment. A
/// lock another process holds is still refused, after this wait.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Opens a sled database as `config` says, waiting up to 2 s for its lock (`LOCK_WAIT`).
pub fn open_waiting(config: &sled::Config) -> sled::Result<sled::Db> {
    let start = std::time::Instant::now();
    loop {
        match config.open() {
            Err(sled::Error::Io(e))
                if e.to_string().starts_with("could not acquire lock")
                    && start.elapsed() < LOCK_WAIT =>
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            opened => return opened,
        }
    }
}

/// Opens (or creates) the sled database at `path` with the settings its on-disk format and
/// the gateway's memory budget depend on, and what makes its flushes durable.
pub fn open(path: &Path) -> Result<(sled::Db, Arc<Durability>), StoreError> {
    let fresh = !path.exists();
    let config = sled::Config::new()
        .path(path)
        .mode(sled::Mode::HighThroughput)
        .segment_size(SEGMENT_SIZE)
        .cache_capacity(CACHE_BYTES);
    let db = open_waiting(&config).map_err(wrap)?;
    let durability = Durability::new(db.clone(), path)?;
    if fresh {
        // The new directory's own entry, so the database is found after a power loss.
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
        sync_dir(path)?;
    }
    Ok((db, Arc::new(durability)))
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(wrap)
}

/// How coarse a directory's modification time may be: a blob created in the same tick as the
/// last look leaves it unchanged, so a time this recent is never trusted to mean "nothing new".
const MTIME_GRANULARITY: std::time::Duration = std::time::Duration::from_secs(1);

/// Makes a sled database's writes durable on stable storage (see the module doc).
pub struct Durability {
    db: sled::Db,
    log: File,
    blobs: PathBuf,
    /// Blob files already synced, and the blob directory's modification time when last
    /// looked at (unchanged and older than [`MTIME_GRANULARITY`] then: no blob was created
    /// or removed since, nothing to look for).
    synced: Mutex<(HashSet<OsString>, Option<SystemTime>)>,
}

impl std::fmt::Debug for Durability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Durability")
            .field("blobs", &self.blobs)
            .finish_non_exhaustive()
    }
}

impl Durability {
    fn new(db: sled::Db, path: &Path) -> Result<Self, StoreError> {
        // sled's log is the file `db` in its directory (sled 0.34's layout); fsync works on
        // a descriptor opened for reading.
        let log = File::open(path.join("db")).map_err(wrap)?;
        Ok(Self {
            db,
            log,
            blobs: path.join("blobs"),
            synced: Mutex::new((HashSet::new(), None)),
        })
    }

    /// Flushes sled's log and makes it, and every blob file it wrote, durable.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.db.flush().map_err(wrap)?;
        self.log.sync_data().map_err(wrap)?;
        self.sync_blobs()
    }

    fn sync_blobs(&self) -> Result<(), StoreError> {
        let mut synced = self.synced.lock().unwrap_or_else(|p| p.into_inner());
        let modified = match std::fs::metadata(&self.blobs) {
            Ok(m) => m.modified().ok(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(wrap(e)),
        };
        let settled = modified
            .and_then(|m| SystemTime::now().duration_since(m).ok())
            .is_some_and(|age| age > MTIME_GRANULARITY);
        if settled && modified == synced.1 {
            return Ok(());
        }
        let mut present = HashSet::new();
        let mut created = false;
        for item in std::fs::read_dir(&self.blobs).map_err(wrap)? {
            let name = item.map_err(wrap)?.file_name();
            if !synced.0.contains(&name) {
                match File::open(self.blobs.join(&name)) {
                    Ok(f) => f.sync_all().map_err(wrap)?,
                    // Removed by sled meanwhile: superseded, nothing to keep.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(wrap(e)),
                }
                created = true;
            }
            present.insert(name);
        }
        if created {
            // The new files' names.
            sync_dir(&self.blobs)?;
        }
        // A time recent at the scan could be shared by a blob created just after it: keep
        // it only once settled, so that a later look compares with a time nothing shares.
        *synced = (present, modified.filter(|_| settled));
        Ok(())
    }
}

/// The ledger's trees in the data directory's database. The gateway commits the ledger's
/// writes with its own records ([`crate::store::gateway::SledGateway`]); this store reads
/// them, and commits only what the ledger writes alone (signed checkpoints, and appends by
/// tools), each commit one atomic sled transaction followed by a durable sync.
#[derive(Debug, Clone)]
pub struct SledLedgerStore {
    trees: Vec<(u8, sled::Tree)>,
    durability: Arc<Durability>,
}

impl SledLedgerStore {
    /// Uses the ledger trees of an open database.
    pub fn new(db: &sled::Db, durability: Arc<Durability>) -> Result<Self, StoreError> {
        let trees = LEDGER_KINDS
            .iter()
            .map(|&kind| {
                db.open_tree(format!("{LEDGER_TREE_PREFIX}{kind:02x}"))
                    .map(|t| (kind, t))
                    .map_err(wrap)
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { trees, durability })
    }

    /// The trees, in the order [`Self::position`] indexes (for a transaction over them).
    pub fn trees(&self) -> impl Iterator<Item = &sled::Tree> {
        self.trees.iter().map(|(_, t)| t)
    }

    /// Which of [`Self::trees`] holds `key`.
    pub fn position(&self, key: &[u8]) -> Result<usize, StoreError> {
        let kind = key.first().copied().unwrap_or(0);
        self.trees
            .iter()
            .position(|(k, _)| *k == kind)
            .ok_or_else(|| {
                wrap(std::io::Error::other(format!(
                    "no ledger tree for key kind {kind:#04x}"
                )))
            })
    }

    fn tree(&self, key: &[u8]) -> Result<&sled::Tree, StoreError> {
        Ok(&self.trees[self.position(key)?].1)
    }
}

/// Applies ledger writes inside a transaction over [`SledLedgerStore::trees`] (`views` in
/// the same order), `size` last as the writes have it; `abort` makes the caller's error of a
/// key no tree holds.
pub fn apply_in<E>(
    store: &SledLedgerStore,
    views: &[sled::transaction::TransactionalTree],
    writes: &[Write],
    abort: impl Fn(String) -> E,
) -> Result<(), sled::transaction::ConflictableTransactionError<E>> {
    use sled::transaction::ConflictableTransactionError as C;
    for (k, v) in writes {
        let at = store
            .position(k)
            .map_err(|e| C::Abort(abort(e.to_string())))?;
        match v {
            Some(v) => views[at].insert(k.as_slice(), v.as_slice())?,
            None => views[at].remove(k.as_slice())?,
        };
    }
    Ok(())
}

impl LedgerStore for SledLedgerStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.tree(key)?.get(key).map_err(wrap)?.map(|v| v.to_vec()))
    }

    fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        use sled::transaction::{TransactionError, Transactional as _};
        let trees: Vec<sled::Tree> = self.trees().cloned().collect();
        let res: Result<(), TransactionError<StoreError>> = trees.as_slice().transaction(|views| {
            apply_in(self, views, &writes, |e| wrap(std::io::Error::other(e)))
        });
        res.map_err(|e| match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => wrap(e),
        })?;
        self.durability.sync()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_waits_for_the_lock_of_a_database_being_closed_and_refuses_a_held_one() {
        let dir = tempfile::tempdir().unwrap();
        let config = sled::Config::new().path(dir.path());
        let first = config.open().unwrap();
        let closing = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(200));
            drop(first);
        });
        let second = open_waiting(&config).expect("opened once the first handle was dropped");
        closing.join().unwrap();
        // Still open here: a third open waits out the bound, then says why.
        let refused = open_waiting(&config).unwrap_err();
        assert!(
            refused.to_string().contains("could not acquire lock"),
            "{refused}"
        );
        drop(second);
    }
}
