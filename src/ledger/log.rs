//! The Merkle log over a [`LedgerStore`].
//!
//! # Storage layout (C2SP tlog-tiles shapes, tile height 8)
//! | key | value |
//! |---|---|
//! | `size` | tree size, u64 big-endian; written last in every commit |
//! | `t` ‖ level u8 ‖ index u64 BE | hash tile: 256 hashes of 32 bytes at tree level 8·level |
//! | `e` ‖ index u64 BE | entry bundle: 256 entries, each u16 BE length then bytes |
//! | `q` ‖ index u64 BE | the entries a commit added to the partial (rightmost) bundle, from `index` on (as in bundles), until the bundle is full |
//! | `c` ‖ seq u64 BE | the seq-th signed checkpoint (signed-note text) |
//! | `u` ‖ level u8 | the partial (rightmost) tile of a level above 0: tile index u64 BE, then its hashes |
//!
//! Full tiles and bundles are written exactly once. A commit writes its new entries once, as
//! one `q` value (and the partial tiles of the levels above, which change once every 256
//! entries); the level-0 partial tile is not stored, since it is the leaf hashes of the `q`
//! entries. When a bundle fills, it is written whole with its tile and its `q` values are
//! removed, so the store rewrites nothing large per commit and holds each entry once. Storage per entry is its
//! bytes, a 2-byte length, its 32-byte leaf hash and 1/256 + 1/65536 + … of a hash above.
//! Because `size` is written last and everything beyond `size` is ignored on open, even a
//! store without atomic batches recovers to the last acknowledged batch after a crash.
//!
//! Proofs read complete-subtree hashes: a subtree inside one tile is folded from at most 128
//! stored hashes, so an inclusion or consistency proof costs O(log n) tile reads.

use super::checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint};
use super::entry::{Entry, EntryError};
use super::merkle::{self, Hash, SubtreeHashes};
use super::{LedgerStore, StoreError, Write};
use crate::signing::{NoteSignature, NoteSigner};
use std::ops::Range;
use std::sync::{mpsc, Arc, Mutex};

/// Tile height: 2^8 = 256 hashes per tile, as in C2SP tlog-tiles (fewer, larger values keep
/// the per-entry overhead of the store small; 256 × 32 B = 8 KiB is one cheap read).
pub const TILE_HEIGHT: u32 = 8;
/// Hashes per full tile and entries per full bundle.
pub const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;

/// Key of the tree size.
pub const KEY_SIZE: &[u8] = b"size";
/// Key prefix of hash tiles.
pub const PREFIX_TILE: u8 = b't';
/// Key prefix of entry bundles.
pub const PREFIX_BUNDLE: u8 = b'e';
/// Key prefix of signed checkpoints.
pub const PREFIX_CHECKPOINT: u8 = b'c';
/// Key prefix of the partial (rightmost) hash tile of each level above 0.
pub const PREFIX_PARTIAL_TILE: u8 = b'u';
/// Key prefix of the entries of the partial (rightmost) bundle, one key per commit.
pub const PREFIX_PENDING_ENTRY: u8 = b'q';

/// Storage key of the partial tile at `level` (≥ 1); its value is the tile index (u64 BE)
/// then the hashes. Kept apart from full tiles so full tiles are written exactly once.
pub fn partial_tile_key(level: u8) -> Vec<u8> {
    vec![PREFIX_PARTIAL_TILE, level]
}

/// Storage key of the entries a commit added to the partial bundle, from entry `index` on.
pub fn pending_entry_key(index: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(9);
    k.push(PREFIX_PENDING_ENTRY);
    k.extend_from_slice(&index.to_be_bytes());
    k
}

fn with_index(index: u64, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + data.len());
    v.extend_from_slice(&index.to_be_bytes());
    v.extend_from_slice(data);
    v
}

/// Reads a partial value for `index`: the partial key if it holds that index, else the
/// full value (a crash after a batch completed the tile but before `size` was written).
fn read_partial<S: LedgerStore>(
    store: &S,
    partial_key: &[u8],
    full_key: &[u8],
    index: u64,
) -> Result<Option<Vec<u8>>, StoreError> {
    if let Some(v) = store.get(partial_key)? {
        if v.len() >= 8 && v[..8] == index.to_be_bytes() {
            return Ok(Some(v[8..].to_vec()));
        }
    }
    store.get(full_key)
}

/// The entries `[base, size)` of the partial bundle `base / 256` and the first indexes of the
/// `q` values holding them: from those values, or, when they do not cover the range, from the
/// full bundle (a crash after a batch completed the bundle and removed the values, before
/// `size` was written). Values beyond `size` (a commit a crash interrupted) are ignored.
fn read_pending<S: LedgerStore>(
    store: &S,
    base: u64,
    size: u64,
) -> Result<(Vec<Vec<u8>>, Vec<u64>), LogError> {
    let mut out = Vec::with_capacity((size - base) as usize);
    let mut keys = Vec::new();
    for (k, v) in store.scan_prefix(&[PREFIX_PENDING_ENTRY])? {
        let Some(first) = k
            .get(1..9)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_be_bytes)
        else {
            continue;
        };
        if first < base || first >= size || first != base + out.len() as u64 {
            continue;
        }
        let Some(parts) = split_bundle(&v) else {
            break;
        };
        keys.push(first);
        let room = (size - first) as usize;
        out.extend(parts.iter().take(room).map(|p| p.to_vec()));
    }
    if out.len() as u64 == size - base {
        return Ok((out, keys));
    }
    let b = base / TILE_WIDTH;
    let v = store
        .get(&bundle_key(b))?
        .ok_or_else(|| LogError::Corrupt(format!("entry bundle {b} is missing")))?;
    let parts = split_bundle(&v)
        .filter(|p| p.len() as u64 >= size - base)
        .ok_or_else(|| LogError::Corrupt(format!("entry bundle {b} is short")))?;
    let entries = parts[..(size - base) as usize]
        .iter()
        .map(|p| p.to_vec())
        .collect();
    Ok((entries, Vec::new()))
}

/// Encodes a batch of entries for [`Log::append_encoded`] or [`Log::prepare_append`],
/// naming the first entry that cannot be encoded.
pub fn encode_batch(entries: &[Entry]) -> Result<Vec<Vec<u8>>, LogError> {
    entries
        .iter()
        .enumerate()
        .map(|(position, e)| {
            let b = e
                .encode()
                .map_err(|source| LogError::Entry { position, source })?;
            if b.len() > u16::MAX as usize {
                return Err(LogError::EntryTooLarge {
                    position,
                    len: b.len(),
                });
            }
            Ok(b)
        })
        .collect()
}

/// An append prepared by [`Log::prepare_append`]: the indexes its entries get and the writes
/// that store them, and the log's state once they are stored.
#[derive(Debug)]
pub struct Append {
    range: Range<u64>,
    writes: Vec<Write>,
    tails: Vec<Vec<Hash>>,
    /// The new entries of the partial bundle after the append, encoded.
    bundle: Vec<u8>,
    /// Whether they continue the log's partial bundle (no bundle was completed).
    continues: bool,
    pending_keys: Vec<u64>,
}

impl Append {
    /// The indexes the entries get.
    pub fn range(&self) -> Range<u64> {
        self.range.clone()
    }

    /// The store writes, to commit (`size` last); leaves none behind.
    pub fn take_writes(&mut self) -> Vec<Write> {
        std::mem::take(&mut self.writes)
    }
}

/// Storage key of hash tile (`level`, `index`).
pub fn tile_key(level: u8, index: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(10);
    k.push(PREFIX_TILE);
    k.push(level);
    k.extend_from_slice(&index.to_be_bytes());
    k
}

/// Storage key of entry bundle `index` (entries `[256·index, 256·index+256)`).
pub fn bundle_key(index: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(9);
    k.push(PREFIX_BUNDLE);
    k.extend_from_slice(&index.to_be_bytes());
    k
}

/// How many checkpoints before the newest one cosignatures may still be added to (one is
/// signed a second at most, and witnesses answer within milliseconds).
pub const COSIGN_LOOKBACK: u64 = 16;

/// Whether the stored note `value` has the body `text`.
fn note_has_text(value: &[u8], text: &str) -> bool {
    value.starts_with(text.as_bytes()) && value.get(text.len()) == Some(&b'\n')
}

fn checkpoint_key(seq: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(9);
    k.push(PREFIX_CHECKPOINT);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// Errors from the log; storage corruption names what is wrong and where.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An entry of a batch could not be encoded.
    #[error("entry {position} of the batch: {source}")]
    Entry {
        /// Position in the batch.
        position: usize,
        /// Why.
        source: EntryError,
    },
    /// An encoded entry does not fit the u16 length prefix of bundles.
    #[error("entry {position} of the batch encodes to {len} bytes (max 65535)")]
    EntryTooLarge {
        /// Position in the batch.
        position: usize,
        /// Its length.
        len: usize,
    },
    /// Stored data contradicts itself.
    #[error("ledger storage is corrupt: {0}")]
    Corrupt(String),
    /// The log is shorter than a checkpoint it signed: data was lost or removed.
    #[error("the log holds {size} entries but signed a checkpoint of {signed}: it was truncated or rolled back; restore from backup")]
    Truncated {
        /// Entries present.
        size: u64,
        /// Size of the last signed checkpoint.
        signed: u64,
    },
    /// Signing would contradict a checkpoint signed before.
    #[error("refusing to sign: the log at size {size} is inconsistent with the checkpoint signed at size {signed} ({why})")]
    Inconsistent {
        /// Current size.
        size: u64,
        /// Size of the last signed checkpoint.
        signed: u64,
        /// What failed.
        why: String,
    },
    /// A stored checkpoint could not be read.
    #[error("stored checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The stored checkpoints belong to another log.
    #[error("the store holds checkpoints of {stored:?}, not of {origin:?}")]
    Origin {
        /// Origin in the store.
        stored: String,
        /// Origin asked for.
        origin: String,
    },
    /// A requested index or range is beyond the log.
    #[error("{what} is beyond the log of size {size}")]
    OutOfRange {
        /// What was asked.
        what: String,
        /// Log size.
        size: u64,
    },
}

/// A problem found by [`Log::check`], naming the entry or tile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageProblem {
    /// The first entry index concerned.
    pub entry: u64,
    /// What is wrong.
    pub what: String,
}

fn hashes_from_bytes(b: &[u8]) -> Option<Vec<Hash>> {
    if !b.len().is_multiple_of(32) {
        return None;
    }
    Some(
        b.chunks_exact(32)
            .map(|c| c.try_into().expect("32"))
            .collect(),
    )
}

/// Splits an entry bundle into entries (u16 BE length prefixes).
pub fn split_bundle(b: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    let mut rest = b;
    while !rest.is_empty() {
        if rest.len() < 2 {
            return None;
        }
        let len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
        if rest.len() < 2 + len {
            return None;
        }
        out.push(&rest[2..2 + len]);
        rest = &rest[2 + len..];
    }
    Some(out)
}

/// The log's size as stored (0 for a store nothing was written to).
fn stored_size<S: LedgerStore>(store: &S) -> Result<u64, LogError> {
    match store.get(KEY_SIZE)? {
        None => Ok(0),
        Some(v) => {
            Ok(u64::from_be_bytes(v.as_slice().try_into().map_err(
                |_| LogError::Corrupt("size is not 8 bytes".into()),
            )?))
        }
    }
}

/// The log's head as stored: its size and the partial bundle and tiles the next append
/// continues.
struct Head {
    size: u64,
    tails: Vec<Vec<Hash>>,
    bundle_tail: Vec<u8>,
    pending_keys: Vec<u64>,
}

impl Head {
    /// Reads the head; anything a commit wrote beyond `size` is ignored, so a head read while
    /// another writer commits is the head of a commit that completed.
    fn read<S: LedgerStore>(store: &S) -> Result<Self, LogError> {
        Self::read_at(store, stored_size(store)?)
    }

    /// Reads the head of a log of `size` entries (the size read from the store already).
    fn read_at<S: LedgerStore>(store: &S, size: u64) -> Result<Self, LogError> {
        // The partial bundle's entries: from their own keys, or from the full bundle when a
        // crash completed the bundle (and removed those keys) before `size` was written.
        let base = size - size % TILE_WIDTH;
        let (pending, pending_keys) = read_pending(store, base, size)?;
        let mut bundle_tail = Vec::new();
        for p in &pending {
            bundle_tail.extend_from_slice(&(p.len() as u16).to_be_bytes());
            bundle_tail.extend_from_slice(p);
        }
        let mut tails = Vec::new();
        let mut level = 0u32;
        while level < 8 && (size >> (TILE_HEIGHT * level)) > 0 {
            let count = size >> (TILE_HEIGHT * level);
            let w = (count % TILE_WIDTH) as usize;
            let mut tail = Vec::new();
            if level == 0 {
                tail = pending.iter().map(|p| merkle::leaf_hash(p)).collect();
            } else if w > 0 {
                let idx = count / TILE_WIDTH;
                let v = read_partial(
                    store,
                    &partial_tile_key(level as u8),
                    &tile_key(level as u8, idx),
                    idx,
                )?
                .ok_or_else(|| LogError::Corrupt(format!("hash tile {level}/{idx} is missing")))?;
                let hs = hashes_from_bytes(&v)
                    .filter(|h| h.len() >= w)
                    .ok_or_else(|| {
                        LogError::Corrupt(format!("hash tile {level}/{idx} is short"))
                    })?;
                tail = hs[..w].to_vec();
            }
            tails.push(tail);
            level += 1;
        }
        Ok(Head {
            size,
            tails,
            bundle_tail,
            pending_keys,
        })
    }
}

/// The append-only Merkle log.
pub struct Log<S: LedgerStore> {
    store: S,
    origin: String,
    size: u64,
    /// `tails[L]`: hashes of the partial tile at level L (`(size >> 8L) % 256` of them).
    tails: Vec<Vec<Hash>>,
    /// The encoded partial entry bundle (`size % 256` entries).
    bundle_tail: Vec<u8>,
    /// The first indexes of the `q` values holding the partial bundle's entries.
    pending_keys: Vec<u64>,
    last: Option<Checkpoint>,
    next_seq: u64,
}

impl<S: LedgerStore> std::fmt::Debug for Log<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log")
            .field("origin", &self.origin)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl<S: LedgerStore> Log<S> {
    /// Opens (or starts) the log in `store`. Checks that the log is not shorter than its
    /// last signed checkpoint and that its stored hashes still produce that checkpoint's root.
    pub fn open(store: S, origin: &str) -> Result<Self, LogError> {
        let head = Head::read(&store)?;
        let size = head.size;
        let mut log = Log {
            store,
            origin: origin.to_owned(),
            size: head.size,
            tails: head.tails,
            bundle_tail: head.bundle_tail,
            pending_keys: head.pending_keys,
            last: None,
            next_seq: 0,
        };
        if let Some((k, v)) = log.store.last_with_prefix(&[PREFIX_CHECKPOINT])? {
            let seq = u64::from_be_bytes(
                k[1..]
                    .try_into()
                    .map_err(|_| LogError::Corrupt("bad checkpoint key".into()))?,
            );
            let text = String::from_utf8(v)
                .map_err(|_| LogError::Corrupt(format!("checkpoint {seq} is not UTF-8")))?;
            let cp = SignedCheckpoint::parse(&text)?.checkpoint;
            if cp.origin != origin {
                return Err(LogError::Origin {
                    stored: cp.origin,
                    origin: origin.to_owned(),
                });
            }
            if cp.size > size {
                return Err(LogError::Truncated {
                    size,
                    signed: cp.size,
                });
            }
            let root = log.root_at(cp.size)?;
            if root != cp.root {
                return Err(LogError::Corrupt(format!(
                    "stored hashes give a different root at size {} than the checkpoint signed then",
                    cp.size
                )));
            }
            log.last = Some(cp);
            log.next_seq = seq + 1;
        }
        Ok(log)
    }

    /// Number of entries.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Takes in what another writer of the same store appended since this log last read or
    /// wrote it (several gateway instances on one database); returns whether it grew. The
    /// other writer's own checks stand for its entries: nothing is verified again here.
    pub fn catch_up(&mut self) -> Result<bool, LogError> {
        let stored = stored_size(&self.store)?;
        self.catch_up_to(stored)
    }

    /// As [`catch_up`](Self::catch_up), to the `stored` size the caller read (under the
    /// store's writer lock, as the committer does).
    pub fn catch_up_to(&mut self, stored: u64) -> Result<bool, LogError> {
        if stored == self.size {
            return Ok(false);
        }
        if stored < self.size {
            return Err(LogError::Truncated {
                size: stored,
                signed: self.size,
            });
        }
        let head = Head::read_at(&self.store, stored)?;
        self.size = head.size;
        self.tails = head.tails;
        self.bundle_tail = head.bundle_tail;
        self.pending_keys = head.pending_keys;
        Ok(true)
    }

    /// The log origin (first checkpoint line).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The underlying store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Appends a batch of entries with one durable commit; returns their indexes.
    /// Nothing changes (in memory or on disk) if it fails.
    pub fn append_batch(&mut self, entries: &[Entry]) -> Result<Range<u64>, LogError> {
        self.append_encoded(&encode_batch(entries)?)
    }

    /// Appends already-encoded entries (each must be a valid encoding; used by
    /// [`append_batch`](Self::append_batch) and by tools that replay entries).
    pub fn append_encoded(&mut self, encoded: &[Vec<u8>]) -> Result<Range<u64>, LogError> {
        let mut append = self.prepare_append(encoded)?;
        if append.range.is_empty() {
            return Ok(append.range);
        }
        self.store.commit(append.take_writes())?;
        let range = append.range.clone();
        self.appended(append);
        Ok(range)
    }

    /// What appending `encoded` writes, without writing it: the entries' indexes and the
    /// store writes ([`Append::take_writes`]). The caller commits the writes (atomically, with
    /// anything of its own) and then calls [`appended`](Self::appended); until then the log
    /// is unchanged, and if the commit fails the `Append` is simply dropped. Only one append
    /// may be in preparation at a time.
    pub fn prepare_append(&self, encoded: &[Vec<u8>]) -> Result<Append, LogError> {
        let start = self.size;
        let mut tails = self.tails.clone();
        // The new entries of the bundle being filled; they continue `bundle_tail` until the
        // bundle is full (not copied: it may be 80 KiB).
        let mut bundle = Vec::new();
        let mut continues = true;
        let mut writes: Vec<Write> = Vec::new();
        let mut pending_keys = self.pending_keys.clone();
        let mut size = start;
        for (position, b) in encoded.iter().enumerate() {
            let len = u16::try_from(b.len()).map_err(|_| LogError::EntryTooLarge {
                position,
                len: b.len(),
            })?;
            bundle.extend_from_slice(&len.to_be_bytes());
            bundle.extend_from_slice(b);
            size += 1;
            if size.is_multiple_of(TILE_WIDTH) {
                let full = if continues {
                    [self.bundle_tail.as_slice(), &bundle].concat()
                } else {
                    std::mem::take(&mut bundle)
                };
                bundle.clear();
                continues = false;
                writes.push((bundle_key(size / TILE_WIDTH - 1), Some(full)));
            }
            push_hash(&mut tails, 0, merkle::leaf_hash(b), size, &mut writes);
        }
        // The entries of the bundle left partial get one key, from the first of them on.
        let base = size - size % TILE_WIDTH;
        let first = start.max(base);
        let mut completed = Vec::new();
        if !continues {
            completed = std::mem::take(&mut pending_keys);
        }
        if first < size && pending_keys.is_empty() && first > base {
            // The partial bundle's earlier entries are in no `q` value (they were read from a
            // full bundle a crash left beyond `size`): write them all again, with the new.
            let all = [self.bundle_tail.as_slice(), &bundle].concat();
            writes.push((pending_entry_key(base), Some(all)));
            pending_keys.push(base);
        } else if first < size {
            writes.push((pending_entry_key(first), Some(bundle.clone())));
            pending_keys.push(first);
        }
        for (level, tail) in tails.iter().enumerate().skip(1) {
            let shift = TILE_HEIGHT * level as u32;
            let (old, new) = (start >> shift, size >> shift);
            if new != old && new % TILE_WIDTH != 0 {
                writes.push((
                    partial_tile_key(level as u8),
                    Some(with_index(new / TILE_WIDTH, &tail.concat())),
                ));
            }
        }
        // The pending keys of a bundle this batch completed go last but `size`: a store that
        // is not atomic keeps them until the full bundle is written.
        writes.extend(completed.into_iter().map(|i| (pending_entry_key(i), None)));
        if size > start {
            writes.push((KEY_SIZE.to_vec(), Some(size.to_be_bytes().to_vec())));
        }
        Ok(Append {
            range: start..size,
            writes,
            tails,
            bundle,
            continues,
            pending_keys,
        })
    }

    /// Takes in an append prepared by [`prepare_append`](Self::prepare_append) whose writes
    /// are now committed (nothing to do when [`catch_up`](Self::catch_up) read them since).
    pub fn appended(&mut self, append: Append) {
        if self.size >= append.range.end {
            // A reader caught up with the store after the commit: it holds the append already.
            return;
        }
        debug_assert_eq!(append.range.start, self.size, "appends out of order");
        self.tails = append.tails;
        if append.continues {
            self.bundle_tail.extend_from_slice(&append.bundle);
        } else {
            self.bundle_tail = append.bundle;
        }
        self.pending_keys = append.pending_keys;
        self.size = append.range.end;
    }

    fn tile(&self, level: u32, index: u64) -> Result<Vec<Hash>, LogError> {
        let count = self.size >> (TILE_HEIGHT * level);
        let full = count / TILE_WIDTH;
        if index < full {
            let v = self
                .store
                .get(&tile_key(level as u8, index))?
                .ok_or_else(|| {
                    LogError::Corrupt(format!("hash tile {level}/{index} is missing"))
                })?;
            return hashes_from_bytes(&v)
                .filter(|h| h.len() == TILE_WIDTH as usize)
                .ok_or_else(|| {
                    LogError::Corrupt(format!("hash tile {level}/{index} is not 256 hashes"))
                });
        }
        if index == full && !count.is_multiple_of(TILE_WIDTH) {
            return Ok(self.tails[level as usize].clone());
        }
        Err(LogError::OutOfRange {
            what: format!("hash tile {level}/{index}"),
            size: self.size,
        })
    }

    /// Root at the current size.
    pub fn root(&self) -> Result<Hash, LogError> {
        self.root_at(self.size)
    }

    /// Root of the first `size` entries (O(log n) reads).
    pub fn root_at(&self, size: u64) -> Result<Hash, LogError> {
        if size > self.size {
            return Err(LogError::OutOfRange {
                what: format!("size {size}"),
                size: self.size,
            });
        }
        merkle::root_at(self, size)
    }

    /// The current (unsigned) checkpoint.
    pub fn checkpoint(&self) -> Result<Checkpoint, LogError> {
        Ok(Checkpoint {
            origin: self.origin.clone(),
            size: self.size,
            root: self.root()?,
        })
    }

    /// RFC 6962 inclusion proof of entry `index` in the tree of `size` entries.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, LogError> {
        if size > self.size {
            return Err(LogError::OutOfRange {
                what: format!("tree size {size}"),
                size: self.size,
            });
        }
        merkle::inclusion_proof(self, index, size).map_err(|e| match e {
            merkle::ProofError::Store(e) => e,
            other => LogError::OutOfRange {
                what: other.to_string(),
                size: self.size,
            },
        })
    }

    /// RFC 6962 consistency proof from `size1` to `size2`.
    pub fn consistency_proof(&self, size1: u64, size2: u64) -> Result<Vec<Hash>, LogError> {
        if size2 > self.size {
            return Err(LogError::OutOfRange {
                what: format!("tree size {size2}"),
                size: self.size,
            });
        }
        merkle::consistency_proof(self, size1, size2).map_err(|e| match e {
            merkle::ProofError::Store(e) => e,
            other => LogError::OutOfRange {
                what: other.to_string(),
                size: self.size,
            },
        })
    }

    /// Hash of the complete-or-not range `[lo, hi)` (lo aligned as RFC 6962 recursion has it).
    pub fn range_hash(&self, lo: u64, hi: u64) -> Result<Hash, LogError> {
        merkle::range_hash(self, lo, hi)
    }

    /// Encoded entries `[range)`.
    pub fn entries(&self, range: Range<u64>) -> Result<Vec<Vec<u8>>, LogError> {
        if range.end > self.size {
            return Err(LogError::OutOfRange {
                what: format!("entries {range:?}"),
                size: self.size,
            });
        }
        let mut out = Vec::with_capacity((range.end - range.start) as usize);
        let mut i = range.start;
        while i < range.end {
            let b = i / TILE_WIDTH;
            let v = self
                .bundle_bytes(b)?
                .ok_or_else(|| LogError::Corrupt(format!("entry bundle {b} is missing")))?;
            let parts = split_bundle(&v)
                .ok_or_else(|| LogError::Corrupt(format!("entry bundle {b} is malformed")))?;
            while i < range.end && i / TILE_WIDTH == b {
                let p = parts.get((i % TILE_WIDTH) as usize).ok_or_else(|| {
                    LogError::Corrupt(format!("entry {i} is missing from bundle {b}"))
                })?;
                out.push(p.to_vec());
                i += 1;
            }
        }
        Ok(out)
    }

    /// The stored bytes of entry bundle `b` (the partial one, as stored, if `b` is the
    /// rightmost).
    fn bundle_bytes(&self, b: u64) -> Result<Option<Vec<u8>>, LogError> {
        if b == self.size / TILE_WIDTH && !self.size.is_multiple_of(TILE_WIDTH) {
            let mut out = Vec::new();
            for p in read_pending(&self.store, b * TILE_WIDTH, self.size)?.0 {
                out.extend_from_slice(&(p.len() as u16).to_be_bytes());
                out.extend_from_slice(&p);
            }
            Ok(Some(out))
        } else {
            Ok(self.store.get(&bundle_key(b))?)
        }
    }

    /// Recorded leaf hashes `[range)`.
    pub fn leaf_hashes(&self, range: Range<u64>) -> Result<Vec<Hash>, LogError> {
        if range.end > self.size {
            return Err(LogError::OutOfRange {
                what: format!("leaves {range:?}"),
                size: self.size,
            });
        }
        let mut out = Vec::with_capacity((range.end - range.start) as usize);
        let mut i = range.start;
        while i < range.end {
            let t = i / TILE_WIDTH;
            let tile = self.tile(0, t)?;
            while i < range.end && i / TILE_WIDTH == t {
                out.push(tile[(i % TILE_WIDTH) as usize]);
                i += 1;
            }
        }
        Ok(out)
    }

    /// The last signed checkpoint, if any.
    pub fn last_signed(&self) -> Option<&Checkpoint> {
        self.last.as_ref()
    }

    /// Every signed checkpoint note, oldest first.
    pub fn signed_checkpoints(&self) -> Result<Vec<String>, LogError> {
        self.store
            .scan_prefix(&[PREFIX_CHECKPOINT])?
            .into_iter()
            .map(|(_, v)| {
                String::from_utf8(v).map_err(|_| LogError::Corrupt("checkpoint not UTF-8".into()))
            })
            .collect()
    }

    /// The last signed checkpoint note text, if any.
    pub fn last_signed_note(&self) -> Result<Option<String>, LogError> {
        match self.store.last_with_prefix(&[PREFIX_CHECKPOINT])? {
            None => Ok(None),
            Some((_, v)) => String::from_utf8(v)
                .map(Some)
                .map_err(|_| LogError::Corrupt("checkpoint not UTF-8".into())),
        }
    }

    /// Signs a checkpoint of the current tree and stores it, after proving it consistent with
    /// the last signed checkpoint (refuses otherwise). Returns the signed note text.
    pub fn sign_checkpoint(&mut self, signer: &dyn NoteSigner) -> Result<String, LogError> {
        self.sign_checkpoint_by(&[signer])
    }

    /// [`Self::sign_checkpoint`] with several signers, one signature line each in this order
    /// (the gateway's Ed25519 key first, then its SM2 key when it has one).
    pub fn sign_checkpoint_by(&mut self, signers: &[&dyn NoteSigner]) -> Result<String, LogError> {
        let cp = self.checkpoint()?;
        // Compare with the last checkpoint in the store, not only the one remembered in
        // memory, so a second writer on the same store cannot make us contradict it.
        if let Some(text) = self.last_signed_note()? {
            self.last = Some(SignedCheckpoint::parse(&text)?.checkpoint);
        }
        if let Some(last) = &self.last {
            let inconsistent = |why: String| LogError::Inconsistent {
                size: cp.size,
                signed: last.size,
                why,
            };
            if last.origin != cp.origin {
                return Err(inconsistent("different origin".into()));
            }
            if last.size > cp.size {
                return Err(LogError::Truncated {
                    size: cp.size,
                    signed: last.size,
                });
            }
            if last.size == cp.size {
                if last.root != cp.root {
                    return Err(inconsistent("same size, different root".into()));
                }
            } else if last.size > 0 {
                let proof = self.consistency_proof(last.size, cp.size)?;
                merkle::verify_consistency(last.size, cp.size, &proof, &last.root, &cp.root)
                    .map_err(|e| inconsistent(e.to_string()))?;
            }
        }
        let note = cp.sign(signers)?;
        if let Some((k, _)) = self.store.last_with_prefix(&[PREFIX_CHECKPOINT])? {
            let seq = k[1..].try_into().map(u64::from_be_bytes).unwrap_or(0);
            self.next_seq = self.next_seq.max(seq + 1);
        }
        self.store.commit(vec![(
            checkpoint_key(self.next_seq),
            Some(note.clone().into_bytes()),
        )])?;
        self.next_seq += 1;
        self.last = Some(cp);
        Ok(note)
    }

    /// Adds signature lines (a witness's cosignatures) to the stored checkpoint whose note
    /// body is `checkpoint_text`, keeping its own and earlier lines and dropping a second
    /// line of the same key. Returns whether the stored note changed; `false` also when none
    /// of the newest [`COSIGN_LOOKBACK`] + 1 checkpoints has that body. The caller has
    /// verified the lines.
    pub fn add_cosignatures(
        &mut self,
        checkpoint_text: &str,
        sigs: &[NoteSignature],
    ) -> Result<bool, LogError> {
        // The newest checkpoint, or (when one was signed meanwhile) one of the few before it;
        // looked up by sequence number, so the cost does not grow with the log's history.
        let mut stored = None;
        if let Some((last, value)) = self.store.last_with_prefix(&[PREFIX_CHECKPOINT])? {
            let seq = last[1..].try_into().map(u64::from_be_bytes).unwrap_or(0);
            if note_has_text(&value, checkpoint_text) {
                stored = Some((last, value));
            } else {
                for back in 1..=COSIGN_LOOKBACK.min(seq) {
                    let key = checkpoint_key(seq - back);
                    if let Some(v) = self.store.get(&key)? {
                        if note_has_text(&v, checkpoint_text) {
                            stored = Some((key, v));
                            break;
                        }
                    }
                }
            }
        }
        let Some((key, value)) = stored else {
            return Ok(false);
        };
        let text = String::from_utf8(value)
            .map_err(|_| LogError::Corrupt("checkpoint not UTF-8".into()))?;
        let mut note = SignedCheckpoint::parse(&text)?.note;
        let before = note.sigs.len();
        for s in sigs {
            if !note
                .sigs
                .iter()
                .any(|t| t.name == s.name && t.key_id == s.key_id)
            {
                note.sigs.push(s.clone());
            }
        }
        if note.sigs.len() == before {
            return Ok(false);
        }
        self.store
            .commit(vec![(key, Some(note.to_string().into_bytes()))])?;
        Ok(true)
    }

    /// Re-derives every stored hash from the stored entries and reports each disagreement,
    /// naming the entry (or the first entry under a bad tile). O(n); for operators.
    pub fn check(&self) -> Result<Vec<StorageProblem>, LogError> {
        let mut problems = Vec::new();
        let mut level_hashes: Vec<Hash> = Vec::new();
        let bundles = self.size.div_ceil(TILE_WIDTH);
        for b in 0..bundles {
            let lo = b * TILE_WIDTH;
            let hi = (lo + TILE_WIDTH).min(self.size);
            let recorded = self.tile(0, b)?;
            let entries = match self.bundle_bytes(b)? {
                Some(v) => v,
                None => {
                    problems.push(StorageProblem {
                        entry: lo,
                        what: format!("entry bundle {b} (entries {lo}..{hi}) is missing"),
                    });
                    continue;
                }
            };
            let Some(parts) = split_bundle(&entries) else {
                problems.push(StorageProblem {
                    entry: lo,
                    what: format!("entry bundle {b} (entries {lo}..{hi}) is malformed"),
                });
                continue;
            };
            for i in lo..hi {
                let off = (i - lo) as usize;
                match (parts.get(off), recorded.get(off)) {
                    (Some(p), Some(r)) => {
                        if merkle::leaf_hash(p) != *r {
                            problems.push(StorageProblem {
                                entry: i,
                                what: "entry bytes do not match the recorded leaf hash".into(),
                            });
                        } else if let Err(e) = Entry::decode(p) {
                            problems.push(StorageProblem {
                                entry: i,
                                what: format!("entry does not decode: {e}"),
                            });
                        }
                    }
                    _ => problems.push(StorageProblem {
                        entry: i,
                        what: "entry or leaf hash missing".into(),
                    }),
                }
            }
            if recorded.len() == TILE_WIDTH as usize {
                level_hashes.push(merkle::fold_complete(&recorded));
            }
        }
        // Upper tiles: each must hold the roots of the full tiles below.
        let mut level = 1u32;
        while !level_hashes.is_empty() {
            let span = TILE_WIDTH.pow(level);
            let mut next = Vec::new();
            for (t, chunk) in level_hashes.chunks(TILE_WIDTH as usize).enumerate() {
                let stored = self.tile(level, t as u64)?;
                for (j, h) in chunk.iter().enumerate() {
                    if stored.get(j) != Some(h) {
                        let first = (t as u64 * TILE_WIDTH + j as u64) * span;
                        problems.push(StorageProblem {
                            entry: first,
                            what: format!(
                                "hash of entries {first}..{} at tile {level}/{t} does not match them",
                                first + span
                            ),
                        });
                    }
                }
                if chunk.len() == TILE_WIDTH as usize {
                    next.push(merkle::fold_complete(&stored));
                }
            }
            level_hashes = next;
            level += 1;
        }
        if let Some(last) = &self.last {
            if self.root_at(last.size)? != last.root {
                problems.push(StorageProblem {
                    entry: 0,
                    what: format!(
                        "root at size {} differs from the signed checkpoint",
                        last.size
                    ),
                });
            }
        }
        Ok(problems)
    }
}

/// Pushes hash `h` at tile level `level`; `size` is the tree size after the leaf that caused
/// it. Full tiles are written and their root pushed one level up.
fn push_hash(
    tails: &mut Vec<Vec<Hash>>,
    level: usize,
    h: Hash,
    size: u64,
    writes: &mut Vec<Write>,
) {
    if tails.len() <= level {
        tails.push(Vec::with_capacity(TILE_WIDTH as usize));
    }
    tails[level].push(h);
    if tails[level].len() == TILE_WIDTH as usize {
        let count = size >> (TILE_HEIGHT as usize * level);
        let full = std::mem::take(&mut tails[level]);
        writes.push((
            tile_key(level as u8, count / TILE_WIDTH - 1),
            Some(full.concat()),
        ));
        let root = merkle::fold_complete(&full);
        push_hash(tails, level + 1, root, size, writes);
    }
}

impl<S: LedgerStore> SubtreeHashes for Log<S> {
    type Error = LogError;
    fn subtree(&self, level: u32, index: u64) -> Result<Hash, LogError> {
        let band = level / TILE_HEIGHT;
        let r = level % TILE_HEIGHT;
        let start = index << r;
        let tile = self.tile(band, start / TILE_WIDTH)?;
        let off = (start % TILE_WIDTH) as usize;
        let w = 1usize << r;
        let hs = tile.get(off..off + w).ok_or_else(|| {
            LogError::Corrupt(format!("subtree {level}/{index} is not in its tile"))
        })?;
        Ok(merkle::fold_complete(hs))
    }
}

type Reply = mpsc::SyncSender<Result<Range<u64>, Arc<LogError>>>;

/// Gathers concurrent appends into batches on one std thread: while one batch is being
/// flushed, new requests queue up and go into the next batch (group commit without timers).
/// No async runtime needed; the daemon can call [`Batcher::append`] from a blocking task.
pub struct Batcher {
    tx: Option<mpsc::Sender<(Vec<Entry>, Reply)>>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Batcher {
    /// Starts the batching thread over a shared log; at most `max_batch` entries per commit.
    pub fn spawn<S: LedgerStore + 'static>(log: Arc<Mutex<Log<S>>>, max_batch: usize) -> Batcher {
        let (tx, rx) = mpsc::channel::<(Vec<Entry>, Reply)>();
        let handle = std::thread::spawn(move || {
            while let Ok(first) = rx.recv() {
                let mut jobs = vec![first];
                let mut n = jobs[0].0.len();
                while n < max_batch {
                    match rx.try_recv() {
                        Ok(j) => {
                            n += j.0.len();
                            jobs.push(j);
                        }
                        Err(_) => break,
                    }
                }
                let all: Vec<Entry> = jobs.iter().flat_map(|j| j.0.iter().cloned()).collect();
                let result = log
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .append_batch(&all);
                match result {
                    Ok(range) => {
                        let mut next = range.start;
                        for (entries, reply) in jobs {
                            let end = next + entries.len() as u64;
                            let _ = reply.send(Ok(next..end));
                            next = end;
                        }
                    }
                    Err(e) => {
                        let e = Arc::new(e);
                        for (_, reply) in jobs {
                            let _ = reply.send(Err(e.clone()));
                        }
                    }
                }
            }
        });
        Batcher {
            tx: Some(tx),
            handle: Some(handle),
        }
    }

    /// Appends entries; returns once they are durable, with their indexes.
    pub fn append(&self, entries: Vec<Entry>) -> Result<Range<u64>, Arc<LogError>> {
        let (reply, rx) = mpsc::sync_channel(1);
        let tx = self.tx.as_ref().expect("batcher running");
        if tx.send((entries, reply)).is_err() {
            return Err(Arc::new(LogError::Corrupt("batcher thread stopped".into())));
        }
        rx.recv()
            .unwrap_or_else(|_| Err(Arc::new(LogError::Corrupt("batcher thread stopped".into()))))
    }
}

impl Drop for Batcher {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
