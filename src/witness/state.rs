//! What a witness remembers, on disk: per log, the checkpoint it last cosigned (the whole
//! note, with the log's signatures and its own cosignature), and the evidence of every
//! inconsistent checkpoint it refused.
//!
//! ```text
//! <data_dir>/                          mode 0700
//!   lock                               locked (flock) while a witness runs on the directory
//!   state/<hex sha256(origin)>         the latest cosigned checkpoint of that log
//!   evidence/<hex sha256(origin)>/<id>.json
//! ```
//!
//! **Durable and atomic before the answer.** A checkpoint is stored by writing a temporary
//! file, `fsync`ing it, renaming it over the previous one and `fsync`ing the directory; only
//! then is the cosignature sent. A crash at any point leaves the old file or the new one,
//! never a mixture, and a cosignature that left the witness is always on stable storage.
//! Plain files rather than a database: the state is one small note per log, written once per
//! checkpoint, and the rename idiom gives atomic replacement and durability with nothing
//! between the witness and the kernel (sled's flush alone does not reach stable storage, see
//! the README's power-loss section); an operator can read and back up the files with `cat`
//! and `cp`.
//!
//! **One lock per log.** [`State::lock`] takes the log's mutex; the caller checks the request
//! against [`Guard::latest`] and calls [`Guard::store`] before releasing it, so two concurrent
//! requests can never both pass the check against the same state (the spec's rollback race).
//! The in-memory copy changes only once the rename has happened, so it always equals what a
//! restart would read.
//!
//! **Evidence.** [`State::keep_evidence`] writes, durably too, a JSON record holding the
//! checkpoint last cosigned and the request received, named by the pair of checkpoint bodies
//! so a resubmission does not write it again.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use fs2::FileExt as _;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::protocol::origin_hash;
use crate::ledger::checkpoint::{Checkpoint, SignedCheckpoint};
use crate::signing::{CosignerKey, Note};

/// Subdirectory of the latest cosigned checkpoints.
pub const STATE_DIR: &str = "state";
/// Subdirectory of the evidence records.
pub const EVIDENCE_DIR: &str = "evidence";
/// The lock file.
pub const LOCK_FILE: &str = "lock";
/// Suffix of files being written (removed at start: a crash interrupted them).
const TMP_SUFFIX: &str = ".tmp";

/// Problems with the state directory; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// An I/O error on a named file or directory.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// Another process holds the directory's lock.
    #[error("{0}: another witness is running on this data directory (its lock is held)")]
    Locked(PathBuf),
    /// A stored checkpoint cannot be read back.
    #[error("{path}: the stored checkpoint of {origin:?} is unreadable ({why}); restore it from a backup: removing it would let this witness cosign a rolled-back log")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The log it belongs to.
        origin: String,
        /// What is wrong.
        why: String,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StateError + '_ {
    move |source| StateError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The checkpoint a witness last cosigned for a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Latest {
    /// The whole note: the checkpoint, the log's signatures, the witness's cosignature.
    pub note: String,
    /// Its body.
    pub checkpoint: Checkpoint,
    /// The timestamp of this witness's cosignature on it (0 if made by another key).
    pub timestamp: u64,
}

impl Latest {
    /// Reads a stored note back; `witness` finds the cosignature's timestamp.
    pub fn parse(note: &str, witness: &CosignerKey) -> Result<Latest, String> {
        let parsed = SignedCheckpoint::parse(note).map_err(|e| e.to_string())?;
        let timestamp = parsed
            .note
            .sigs
            .iter()
            .find(|s| witness.is_signer_of(s))
            .and_then(|s| s.sig.get(..8))
            .map_or(0, |t| u64::from_be_bytes(t.try_into().expect("8 bytes")));
        Ok(Latest {
            note: note.to_owned(),
            checkpoint: parsed.checkpoint,
            timestamp,
        })
    }
}

struct Slot {
    latest: Mutex<Option<Latest>>,
    /// The stored note, for monitors; replaced after each store, read without the log's lock.
    published: RwLock<Option<Arc<str>>>,
}

/// The durable state of a witness: its data directory, locked while open.
pub struct State {
    state_dir: PathBuf,
    evidence_dir: PathBuf,
    slots: HashMap<String, Slot>,
    by_hash: HashMap<String, String>,
    _lock: File,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("state_dir", &self.state_dir)
            .field("logs", &self.slots.len())
            .finish_non_exhaustive()
    }
}

fn create_dir(path: &Path) -> Result<(), StateError> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        b.mode(0o700);
    }
    b.create(path).map_err(io_err(path))
}

fn sync_dir(dir: &Path) -> Result<(), StateError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

/// Replaces `dir/name` with `bytes` atomically and durably: temporary file, `fsync`, rename,
/// `fsync` of the directory. Returns whether the rename happened (true also when only the
/// final directory sync failed, in which case the error is returned with `true`).
fn write_durably(dir: &Path, name: &str, bytes: &[u8]) -> (bool, Result<(), StateError>) {
    let tmp = dir.join(format!("{name}{TMP_SUFFIX}"));
    let path = dir.join(name);
    let written = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(io_err(&tmp))?;
        f.write_all(bytes).map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
        fs::rename(&tmp, &path).map_err(io_err(&path))
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return (false, Err(e));
    }
    (true, sync_dir(dir))
}

/// Removes the temporary files a crash left in `dir`.
fn remove_leftovers(dir: &Path) -> Result<(), StateError> {
    for entry in fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        if entry.file_name().to_string_lossy().ends_with(TMP_SUFFIX) {
            let path = entry.path();
            fs::remove_file(&path).map_err(io_err(&path))?;
        }
    }
    Ok(())
}

impl State {
    /// Opens (creating it if needed) the data directory for the logs `origins`, takes its
    /// lock, removes what interrupted writes left and reads every log's latest cosigned
    /// checkpoint. `witness` is this witness's public key (to read its cosignatures' times).
    pub fn open<'a>(
        data_dir: &Path,
        origins: impl IntoIterator<Item = &'a str>,
        witness: &CosignerKey,
    ) -> Result<State, StateError> {
        create_dir(data_dir)?;
        let lock_path = data_dir.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(io_err(&lock_path))?;
        lock.try_lock_exclusive()
            .map_err(|_| StateError::Locked(data_dir.to_owned()))?;
        let state_dir = data_dir.join(STATE_DIR);
        let evidence_dir = data_dir.join(EVIDENCE_DIR);
        create_dir(&state_dir)?;
        create_dir(&evidence_dir)?;
        remove_leftovers(&state_dir)?;
        let mut slots = HashMap::new();
        let mut by_hash = HashMap::new();
        for origin in origins {
            let hash = origin_hash(origin);
            let path = state_dir.join(&hash);
            let latest = match fs::read(&path) {
                Ok(bytes) => {
                    let corrupt = |why: String| StateError::Corrupt {
                        path: path.clone(),
                        origin: origin.to_owned(),
                        why,
                    };
                    let text = String::from_utf8(bytes).map_err(|_| corrupt("not UTF-8".into()))?;
                    let latest = Latest::parse(&text, witness).map_err(corrupt)?;
                    if latest.checkpoint.origin != origin {
                        return Err(corrupt(format!(
                            "it is a checkpoint of {:?}",
                            latest.checkpoint.origin
                        )));
                    }
                    Some(latest)
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                Err(e) => return Err(io_err(&path)(e)),
            };
            let log_evidence = evidence_dir.join(&hash);
            if log_evidence.is_dir() {
                remove_leftovers(&log_evidence)?;
            }
            let published = RwLock::new(latest.as_ref().map(|l| Arc::from(l.note.as_str())));
            slots.insert(
                origin.to_owned(),
                Slot {
                    latest: Mutex::new(latest),
                    published,
                },
            );
            by_hash.insert(hash, origin.to_owned());
        }
        Ok(State {
            state_dir,
            evidence_dir,
            slots,
            by_hash,
            _lock: lock,
        })
    }

    /// Takes the lock of `origin`'s state (`None`: not a log of this witness). Requests for
    /// the same log wait for each other here; other logs are not held up.
    pub fn lock<'a>(&'a self, origin: &'a str) -> Option<Guard<'a>> {
        let slot = self.slots.get(origin)?;
        let latest = slot.latest.lock().unwrap_or_else(|p| p.into_inner());
        Some(Guard {
            state: self,
            origin,
            slot,
            latest,
        })
    }

    /// The latest cosigned checkpoint of the log whose origin hashes to `origin_hash`, as
    /// served to monitors; `None` if no such log is witnessed or none was cosigned.
    pub fn published(&self, origin_hash: &str) -> Option<Arc<str>> {
        let origin = self.by_hash.get(origin_hash)?;
        let slot = self.slots.get(origin)?;
        let published = slot.published.read().unwrap_or_else(|p| p.into_inner());
        published.clone()
    }

    /// Keeps the evidence of a refused inconsistent checkpoint durably; returns the record's
    /// path and whether it is new (the same pair of checkpoints is recorded once).
    pub fn keep_evidence(&self, evidence: &Evidence<'_>) -> Result<(PathBuf, bool), StateError> {
        let dir = self.evidence_dir.join(origin_hash(evidence.origin));
        create_dir(&dir)?;
        let mut h = Sha256::new();
        h.update(
            evidence
                .cosigned_checkpoint
                .and_then(|n| Note::parse(n).ok())
                .map(|n| n.text)
                .unwrap_or_default(),
        );
        h.update([0]);
        h.update(evidence.received_checkpoint.as_bytes());
        let name = format!("{}.json", &hex::encode(h.finalize())[..32]);
        let path = dir.join(&name);
        if path.exists() {
            return Ok((path, false));
        }
        let mut json = serde_json::to_vec_pretty(evidence).expect("serialisable");
        json.push(b'\n');
        let (_, result) = write_durably(&dir, &name, &json);
        result?;
        sync_dir(&self.evidence_dir)?;
        Ok((path, true))
    }

    /// The directory evidence records are kept in.
    pub fn evidence_dir(&self) -> &Path {
        &self.evidence_dir
    }
}

/// A log's state, locked: check against [`Guard::latest`], then [`Guard::store`].
pub struct Guard<'a> {
    state: &'a State,
    origin: &'a str,
    slot: &'a Slot,
    latest: MutexGuard<'a, Option<Latest>>,
}

impl Guard<'_> {
    /// The checkpoint last cosigned for the log, if any.
    pub fn latest(&self) -> Option<&Latest> {
        self.latest.as_ref()
    }

    /// Replaces the log's latest cosigned checkpoint with `latest`, durably, before
    /// returning. On an error the state is what the disk shows: unchanged if the rename did
    /// not happen, the new note if only the directory's sync failed (the caller must not
    /// answer with the cosignature either way).
    pub fn store(&mut self, latest: Latest) -> Result<(), StateError> {
        let name = origin_hash(self.origin);
        let (renamed, result) = write_durably(&self.state.state_dir, &name, latest.note.as_bytes());
        if renamed {
            *self
                .slot
                .published
                .write()
                .unwrap_or_else(|p| p.into_inner()) = Some(Arc::from(latest.note.as_str()));
            *self.latest = Some(latest);
        }
        result
    }
}

/// A record of an inconsistent checkpoint, validly signed by a known log, that the witness
/// refused: what it had cosigned, and what it was sent.
#[derive(Debug, Serialize)]
pub struct Evidence<'a> {
    /// The log's origin.
    pub origin: &'a str,
    /// When it was received (POSIX seconds).
    pub received_at: u64,
    /// Who sent it (address, and the client certificate's identity under mutual TLS).
    pub peer: Option<String>,
    /// The refusal, as answered (status and reason).
    pub refusal: String,
    /// The whole note the witness had last cosigned for the log (`null`: none).
    pub cosigned_checkpoint: Option<&'a str>,
    /// The refused checkpoint's body (origin, size, root; as signed).
    pub received_checkpoint: &'a str,
    /// The add-checkpoint request body, exactly as received (old size, proof, signed note).
    pub request_body: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::merkle::empty_root;
    use crate::signing::{Cosigner, SigningKey};

    fn witness() -> Cosigner {
        Cosigner::from_seed("witness.example/w1", &[9; 32]).unwrap()
    }

    fn cosigned(origin: &str, size: u64, ts: u64) -> Latest {
        let log = SigningKey::from_seed(origin, &[1; 32]).unwrap();
        let cp = Checkpoint {
            origin: origin.into(),
            size,
            root: if size == 0 {
                empty_root()
            } else {
                [size as u8; 32]
            },
        };
        let mut note = Note::sign(&cp.to_text(), &[&log]).unwrap();
        note.sigs.push(witness().cosign(&note.text, ts));
        Latest::parse(&note.to_string(), &witness().public()).unwrap()
    }

    #[test]
    fn a_stored_checkpoint_is_read_back_after_reopening_with_its_timestamp() {
        let dir = tempfile::tempdir().unwrap();
        let w = witness().public();
        let origins = ["a.example/log", "b.example/log"];
        {
            let s = State::open(dir.path(), origins, &w).unwrap();
            assert!(s.lock("a.example/log").unwrap().latest().is_none());
            assert!(s.lock("c.example/log").is_none());
            s.lock("a.example/log")
                .unwrap()
                .store(cosigned("a.example/log", 7, 1_700_000_000))
                .unwrap();
            let published = s.published(&origin_hash("a.example/log")).unwrap();
            assert!(published.starts_with("a.example/log\n7\n"));
            assert!(s.published(&origin_hash("b.example/log")).is_none());
        }
        let s = State::open(dir.path(), origins, &w).unwrap();
        let g = s.lock("a.example/log").unwrap();
        let latest = g.latest().unwrap();
        assert_eq!(latest.checkpoint.size, 7);
        assert_eq!(latest.timestamp, 1_700_000_000);
        assert_eq!(*latest, cosigned("a.example/log", 7, 1_700_000_000));
    }

    #[test]
    fn a_second_witness_on_the_same_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let w = witness().public();
        let _first = State::open(dir.path(), ["a.example/log"], &w).unwrap();
        assert!(matches!(
            State::open(dir.path(), ["a.example/log"], &w),
            Err(StateError::Locked(_))
        ));
    }

    #[test]
    fn leftovers_of_an_interrupted_write_are_removed_and_the_old_state_kept() {
        let dir = tempfile::tempdir().unwrap();
        let w = witness().public();
        {
            let s = State::open(dir.path(), ["a.example/log"], &w).unwrap();
            s.lock("a.example/log")
                .unwrap()
                .store(cosigned("a.example/log", 3, 5))
                .unwrap();
        }
        let hash = origin_hash("a.example/log");
        let tmp = dir.path().join(STATE_DIR).join(format!("{hash}.tmp"));
        fs::write(&tmp, "a.example/log\n9\nhalf-writ").unwrap();
        let s = State::open(dir.path(), ["a.example/log"], &w).unwrap();
        assert!(!tmp.exists());
        assert_eq!(
            s.lock("a.example/log")
                .unwrap()
                .latest()
                .unwrap()
                .checkpoint
                .size,
            3
        );
    }

    #[test]
    fn a_corrupt_or_misplaced_state_file_stops_the_start_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let w = witness().public();
        let hash = origin_hash("a.example/log");
        fs::create_dir_all(dir.path().join(STATE_DIR)).unwrap();
        let path = dir.path().join(STATE_DIR).join(&hash);
        fs::write(&path, "garbage").unwrap();
        let e = State::open(dir.path(), ["a.example/log"], &w).unwrap_err();
        assert!(matches!(e, StateError::Corrupt { .. }), "{e}");
        assert!(e.to_string().contains(&hash) && e.to_string().contains("backup"));
        fs::write(&path, cosigned("b.example/log", 1, 1).note).unwrap();
        let e = State::open(dir.path(), ["a.example/log"], &w).unwrap_err();
        assert!(e.to_string().contains("b.example/log"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn the_directory_is_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("w");
        let _s = State::open(&data, ["a.example/log"], &witness().public()).unwrap();
        let mode = fs::metadata(&data).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }

    #[test]
    fn evidence_is_kept_once_per_pair_of_checkpoints() {
        let dir = tempfile::tempdir().unwrap();
        let s = State::open(dir.path(), ["a.example/log"], &witness().public()).unwrap();
        let stored = cosigned("a.example/log", 4, 1);
        let ev = Evidence {
            origin: "a.example/log",
            received_at: 2,
            peer: Some("127.0.0.1:1".into()),
            refusal: "422 inconsistent".into(),
            cosigned_checkpoint: Some(&stored.note),
            received_checkpoint: "a.example/log\n4\nAAAA\n",
            request_body: "old 4\n\n…",
        };
        let (path, new) = s.keep_evidence(&ev).unwrap();
        assert!(new);
        let json: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(json["cosigned_checkpoint"], stored.note.as_str());
        assert_eq!(json["request_body"], "old 4\n\n…");
        let (again, new) = s
            .keep_evidence(&Evidence {
                received_at: 3,
                request_body: "old 4\nother proof\n\n…",
                ..ev
            })
            .unwrap();
        assert_eq!((again, new), (path, false));
    }
}
