//! `tongban storage migrate`: an earlier version's data directory (the ledger in `ledger/`, the
//! records and outbox in `gateway/`, two sled databases flushed separately) becomes one store.
//!
//! The ledger is read entry by entry and appended again (the same bytes, so the same leaf
//! hashes and roots; every signed checkpoint is carried over and the last one is checked
//! against the new tree), the records' trees are copied as they are, and the sequence of
//! gateway numbers continues above the old one. An application whose claim an interrupted
//! batch of the old design left without its receipt is completed when the ledger holds its
//! RECEIVED entry (it was acknowledged, or would have been), and otherwise removed with its
//! claim: it was never acknowledged, and its platform's retry makes it anew. The new store is
//! built beside the old databases and put in place only when complete; the old ones are kept
//! as `ledger.pre-migration` and `gateway.pre-migration`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::gateway::ledger::invariant::Scope;
use crate::gateway::ledger::journal::now_ms;
use crate::gateway::outbox::{Job, JobKind, RetryPolicy};
use crate::gateway::record::{AppStore, Batch};
use crate::ledger::log::{bundle_key, split_bundle, TILE_WIDTH};
use crate::ledger::{Entry, LedgerStore, Log, Step};

use super::check::{self, Report};
use super::layout::{DataDir, LEGACY_GATEWAY_DIR, LEGACY_LEDGER_DIR};

/// The earlier ledger database's segment size (its on-disk format depends on it).
const LEGACY_LEDGER_SEGMENT: usize = 16 * 1024;

/// Entries appended per commit while migrating.
const CHUNK: usize = 4096;

/// What a migration did.
#[derive(Debug)]
pub struct Migrated {
    /// Ledger entries carried over.
    pub entries: u64,
    /// Signed checkpoints carried over.
    pub checkpoints: usize,
    /// Records carried over.
    pub records: u64,
    /// Interrupted applications completed from their RECEIVED entry.
    pub completed: usize,
    /// Interrupted, never-acknowledged applications removed.
    pub removed: usize,
    /// The invariant over the new store.
    pub report: Report,
}

/// Why a migration failed (the old databases are left as they were).
#[derive(Debug, thiserror::Error)]
#[error("migrate: {0}")]
pub struct MigrateError(pub String);

fn fail(e: impl std::fmt::Display) -> MigrateError {
    MigrateError(e.to_string())
}

/// Migrates `dir` (see the module doc).
pub fn migrate(dir: &DataDir) -> Result<Migrated, MigrateError> {
    if !dir.is_legacy() {
        return Err(MigrateError(format!(
            "{} holds no earlier version's data to migrate",
            dir.root().display()
        )));
    }
    let origin = dir.keyring().map_err(fail)?.active().name().to_owned();
    let building = dir.root().join("store.migrating");
    if building.exists() {
        // What an interrupted migration left.
        std::fs::remove_dir_all(&building).map_err(fail)?;
    }
    let mut migrated = {
        let new = dir.open_gateway_at(&building).map_err(fail)?;
        let (entries, checkpoints) = match legacy(dir, LEGACY_LEDGER_DIR) {
            Some(path) => copy_ledger(&path, new.ledger(), &origin)?,
            None => (Vec::new(), 0),
        };
        let records = match legacy(dir, LEGACY_GATEWAY_DIR) {
            Some(path) => copy_records(&path, &new)?,
            None => 0,
        };
        let (completed, removed) = finish_interrupted(&new, &entries)?;
        new.sync().map_err(fail)?;
        let stores = new.clone().stores();
        let log = Log::open(stores.ledger.clone(), &origin).map_err(fail)?;
        let report = check::run(
            Scope::Whole,
            log.size(),
            |r| log.entries(r).map_err(|e| e.to_string()),
            &*stores.records,
        )
        .map_err(MigrateError)?;
        Migrated {
            entries: entries.len() as u64,
            checkpoints,
            records,
            completed,
            removed,
            report,
        }
    };
    // Everything is durable in the new store: put it in place, keep the old databases.
    std::fs::rename(&building, dir.store()).map_err(fail)?;
    for name in [LEGACY_LEDGER_DIR, LEGACY_GATEWAY_DIR] {
        let old = dir.root().join(name);
        if old.exists() {
            std::fs::rename(&old, dir.root().join(format!("{name}.pre-migration")))
                .map_err(fail)?;
        }
    }
    std::fs::File::open(dir.root())
        .and_then(|d| d.sync_all())
        .map_err(fail)?;
    migrated.records = migrated.report.records;
    Ok(migrated)
}

fn legacy(dir: &DataDir, name: &str) -> Option<std::path::PathBuf> {
    Some(dir.root().join(name)).filter(|p| p.exists())
}

/// The earlier ledger's entries, appended to the new ledger; its checkpoints, copied.
fn copy_ledger(
    path: &Path,
    to: &super::SledLedgerStore,
    origin: &str,
) -> Result<(Vec<Vec<u8>>, usize), MigrateError> {
    let config = sled::Config::new()
        .path(path)
        .mode(sled::Mode::HighThroughput)
        .segment_size(LEGACY_LEDGER_SEGMENT);
    let db = super::sled::open_waiting(&config).map_err(fail)?;
    let tree = |kind: u8| db.open_tree(format!("{}{kind:02x}", super::sled::LEDGER_TREE_PREFIX));
    let get = |key: &[u8]| -> Result<Option<Vec<u8>>, MigrateError> {
        let t = tree(key[0]).map_err(fail)?;
        Ok(t.get(key).map_err(fail)?.map(|v| v.to_vec()))
    };
    let size = match get(b"size")? {
        Some(v) => u64::from_be_bytes(v.as_slice().try_into().map_err(fail)?),
        None => 0,
    };
    let mut entries: Vec<Vec<u8>> = Vec::with_capacity(size as usize);
    for b in 0..size.div_ceil(TILE_WIDTH) {
        let full = (b + 1) * TILE_WIDTH <= size;
        // The earlier layout kept the partial bundle under `p` (bundle index, then entries).
        let bytes = match (full, get(b"p")?) {
            (false, Some(p)) if p.len() >= 8 && p[..8] == b.to_be_bytes() => p[8..].to_vec(),
            _ => get(&bundle_key(b))?.ok_or_else(|| {
                MigrateError(format!("the old ledger's entry bundle {b} is missing"))
            })?,
        };
        let parts = split_bundle(&bytes).ok_or_else(|| {
            MigrateError(format!("the old ledger's entry bundle {b} is malformed"))
        })?;
        let want = (size - b * TILE_WIDTH).min(TILE_WIDTH) as usize;
        if parts.len() < want {
            return Err(MigrateError(format!(
                "the old ledger's entry bundle {b} is short"
            )));
        }
        entries.extend(parts[..want].iter().map(|p| p.to_vec()));
    }
    let store: Arc<dyn LedgerStore> = Arc::new(to.clone());
    let mut log = Log::open(store.clone(), origin).map_err(fail)?;
    for chunk in entries.chunks(CHUNK) {
        log.append_encoded(chunk).map_err(fail)?;
    }
    let checkpoints: Vec<_> = tree(b'c')
        .map_err(fail)?
        .iter()
        .map(|r| r.map(|(k, v)| (k.to_vec(), Some(v.to_vec()))))
        .collect::<Result<_, _>>()
        .map_err(fail)?;
    let count = checkpoints.len();
    store.commit(checkpoints).map_err(fail)?;
    // Opening checks the last signed checkpoint against the new tree.
    Log::open(store, origin).map_err(fail)?;
    Ok((entries, count))
}

/// The earlier records database's trees, copied; the sequence of numbers continued.
fn copy_records(path: &Path, to: &super::gateway::SledGateway) -> Result<u64, MigrateError> {
    let config = sled::Config::new()
        .path(path)
        .mode(sled::Mode::HighThroughput);
    let db = super::sled::open_waiting(&config).map_err(fail)?;
    for name in to.tree_names() {
        let from = db.open_tree(name).map_err(fail)?;
        let mut batch = sled::Batch::default();
        let mut n = 0;
        for item in from.iter() {
            let (k, v) = item.map_err(fail)?;
            batch.insert(k, v);
            n += 1;
            if n % CHUNK == 0 {
                to.copy_into(name, std::mem::take(&mut batch))
                    .map_err(fail)?;
            }
        }
        to.copy_into(name, batch).map_err(fail)?;
    }
    // The jobs in flight at the old stop, indexed so that the first start puts them back.
    to.reindex_outbox().map_err(fail)?;
    to.reserve_sequence(db.generate_id().map_err(fail)?)
        .map_err(fail)?;
    Ok(to.all().count() as u64)
}

/// Completes or removes the applications an interrupted batch of the old design left without
/// their RECEIVED index; returns how many of each.
fn finish_interrupted(
    store: &super::gateway::SledGateway,
    entries: &[Vec<u8>],
) -> Result<(usize, usize), MigrateError> {
    let unfinished: Vec<_> = store
        .all()
        .filter(|r| r.as_ref().map_or(true, |r| r.received_index.is_none()))
        .collect::<Result<_, _>>()
        .map_err(fail)?;
    if unfinished.is_empty() {
        return Ok((0, 0));
    }
    let mut received: HashMap<String, u64> = HashMap::new();
    for (i, bytes) in entries.iter().enumerate() {
        if let Ok(e) = Entry::decode(bytes) {
            if e.step == Step::Received {
                received.entry(e.gateway_no).or_insert(i as u64);
            }
        }
    }
    let (mut completed, mut removed) = (0, 0);
    let now = now_ms();
    for mut rec in unfinished {
        match received.get(&rec.gateway_no) {
            Some(&index) => {
                rec.received_index = Some(index);
                rec.event("RECEIVED", now, Some(index), None);
                let job = Job::new(
                    JobKind::Application,
                    &rec.gateway_no,
                    &rec.destination,
                    now,
                    &RetryPolicy::default(),
                );
                store
                    .commit(Batch {
                        records: vec![&rec],
                        jobs: vec![&job],
                        ..Batch::default()
                    })
                    .map_err(fail)?;
                completed += 1;
            }
            None => {
                store.remove_application(&rec).map_err(fail)?;
                removed += 1;
            }
        }
    }
    Ok((completed, removed))
}
