//! The documents beside an audit bundle: `documents/`, one file per document named by the
//! lowercase hex SHA-256 of its bytes. `audit export --with-documents` writes there, from the
//! data directory's store, every document the exported entries reference by hash (the
//! applications and decisions exactly as received and as sent); `audit replay` reads them one
//! at a time ([`DocumentDir`]). They hold personal data (names, identity numbers, addresses):
//! the directory is created readable by its owner only.

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::gateway::record::{AppStore, DocKind};
use crate::ledger::{Entry, LedgerStore, Log, StoreError};
use crate::replay::{Documents, Hash};

use super::verifying::AuditCliError;

/// The documents' directory inside a bundle.
pub const DOCUMENTS_DIR: &str = "documents";

/// The stored documents an entry can reference by hash (the partners' signatures on them are
/// kept too, but no entry names them by hash).
const REFERENCED: [DocKind; 4] = [
    DocKind::ApplicationReceived,
    DocKind::ApplicationSent,
    DocKind::DecisionReceived,
    DocKind::DecisionSent,
];

/// What [`export`] wrote.
#[derive(Debug, Default)]
pub struct Exported {
    /// Documents written.
    pub written: usize,
    /// Hashes the entries reference that no stored document has, each with the first entry
    /// referencing it (entries not written by a gateway, or documents lost from the store).
    pub missing: Vec<(u64, Hash)>,
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> AuditCliError + '_ {
    move |source| AuditCliError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A new directory only its owner can read (documents hold personal data).
fn create_private_dir(dir: &Path) -> Result<(), AuditCliError> {
    let mut b = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir).map_err(io_at(dir))
}

/// Writes into the new directory `dir` every document of `store` that the entries `range` of
/// `log` reference by hash (`received_sha256`, `sent_sha256`), named by its hex SHA-256.
pub fn export<S: LedgerStore>(
    log: &Log<S>,
    range: Range<u64>,
    store: &dyn AppStore,
    dir: &Path,
) -> Result<Exported, AuditCliError> {
    // Which hashes the entries reference (with the first entry to do so), and whose.
    let mut wanted: HashMap<Hash, u64> = HashMap::new();
    let mut numbers: BTreeSet<String> = BTreeSet::new();
    const CHUNK: u64 = 65_536;
    let mut i = range.start;
    while i < range.end {
        let j = (i + CHUNK).min(range.end);
        for (k, bytes) in log.entries(i..j)?.iter().enumerate() {
            // An undecodable entry is `audit verify`'s to name.
            let Ok(e) = Entry::decode(bytes) else {
                continue;
            };
            let index = i + k as u64;
            for h in std::iter::once(e.received_sha256).chain(e.sent_sha256) {
                wanted.entry(h).or_insert(index);
            }
            numbers.insert(e.gateway_no);
        }
        i = j;
    }
    create_private_dir(dir)?;
    let mut out = Exported::default();
    for no in &numbers {
        for kind in REFERENCED {
            let Some(bytes) = store
                .doc(no, kind)
                .map_err(|e| AuditCliError::Store(StoreError(Box::new(e))))?
            else {
                continue;
            };
            let h: Hash = Sha256::digest(&bytes).into();
            if wanted.remove(&h).is_some() {
                let path = dir.join(hex::encode(h));
                std::fs::write(&path, &bytes).map_err(io_at(&path))?;
                out.written += 1;
            }
        }
    }
    out.missing = wanted.into_iter().map(|(h, i)| (i, h)).collect();
    out.missing.sort();
    Ok(out)
}

/// A documents directory, read one document at a time.
#[derive(Debug, Clone)]
pub struct DocumentDir(pub PathBuf);

impl Documents for DocumentDir {
    fn get(&self, sha256: &Hash) -> Result<Option<Vec<u8>>, String> {
        let path = self.0.join(hex::encode(sha256));
        match std::fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }
}
