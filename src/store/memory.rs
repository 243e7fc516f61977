//! An in-memory [`LedgerStore`] for tests, able to simulate a crash in the middle of a commit.

use crate::ledger::{KeyValue, LedgerStore, StoreError, Write};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Default)]
struct Inner {
    map: BTreeMap<Vec<u8>, Vec<u8>>,
    /// When set, the next commit writes only this many pairs, then fails ("crash").
    crash_after: Option<usize>,
}

/// A shared in-memory map; clones see the same data (so a test can "reopen" after a crash).
#[derive(Clone, Debug, Default)]
pub struct MemStore {
    inner: Arc<Mutex<Inner>>,
}

/// The simulated crash.
#[derive(Debug, thiserror::Error)]
#[error("simulated crash after {0} writes")]
pub struct SimulatedCrash(pub usize);

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the next commit write only its first `n` pairs and then fail, as a process
    /// killed in the middle of a non-atomic write would.
    pub fn crash_next_commit_after(&self, n: usize) {
        self.lock().crash_after = Some(n);
    }

    /// Direct access to the raw map, for tamper tests.
    pub fn with_map<R>(&self, f: impl FnOnce(&mut BTreeMap<Vec<u8>, Vec<u8>>) -> R) -> R {
        f(&mut self.lock().map)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl LedgerStore for MemStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock().map.get(key).cloned())
    }

    fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let mut g = self.lock();
        let crash = g.crash_after.take();
        for (k, v) in writes.into_iter().take(crash.unwrap_or(usize::MAX)) {
            match v {
                Some(v) => g.map.insert(k, v),
                None => g.map.remove(&k),
            };
        }
        match crash {
            Some(n) => Err(StoreError(Box::new(SimulatedCrash(n)))),
            None => Ok(()),
        }
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<KeyValue>, StoreError> {
        Ok(self
            .lock()
            .map
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn last_with_prefix(&self, prefix: &[u8]) -> Result<Option<KeyValue>, StoreError> {
        Ok(self
            .lock()
            .map
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .last()
            .map(|(k, v)| (k.clone(), v.clone())))
    }
}
