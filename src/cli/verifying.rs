//! What `tongban audit verify` and `tongban audit replay` share, below both: the audit
//! commands' error type, the trust an auditor brings ([`TrustArgs`]: keys, origin, witnesses),
//! the progress line on stderr and the printed report.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

use crate::ledger::bundle::{self, BundleError, Report, VerifyOptions};
use crate::ledger::{LogError, StoreError};
use crate::signing::keyring::KeyringError;
use crate::signing::{CosignerKey, Verifiers};
use crate::store::OpenError;

/// Errors of the audit commands (all exit 2).
#[derive(Debug, thiserror::Error)]
pub enum AuditCliError {
    /// Keyring problem.
    #[error(transparent)]
    Keyring(#[from] KeyringError),
    /// Storage problem.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Ledger problem.
    #[error(transparent)]
    Log(#[from] LogError),
    /// Bundle problem.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// The data directory's store could not be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// Reading an input file.
    #[error("{path}: {source}")]
    Io {
        /// Path.
        path: PathBuf,
        /// Error.
        source: std::io::Error,
    },
    /// A keys file that does not parse.
    #[error("{path}: {source}")]
    Keys {
        /// Path.
        path: PathBuf,
        /// Error.
        source: crate::signing::KeyError,
    },
}

fn read(path: &Path) -> Result<String, AuditCliError> {
    std::fs::read_to_string(path).map_err(|source| AuditCliError::Io {
        path: path.to_owned(),
        source,
    })
}

/// What the auditor trusts, for `verify` and `replay` alike.
#[derive(Debug, clap::Args)]
pub struct TrustArgs {
    /// File of verifier keys the auditor trusts (default: the bundle's own keys file).
    #[arg(long)]
    pub keys: Option<PathBuf>,
    /// A checkpoint the auditor trusted before; checks consistency, rollback, split view.
    #[arg(long)]
    pub trusted: Option<PathBuf>,
    /// A witness's cosigner key `name+hexid+base64(0x04‖key)` the auditor trusts
    /// (repeatable).
    #[arg(long = "witness", value_name = "KEY")]
    pub witnesses: Vec<String>,
    /// How many of those witnesses must have cosigned the bundle's checkpoint
    /// (default: all of them).
    #[arg(long)]
    pub min_witnesses: Option<usize>,
    /// Refuse the bundle unless its checkpoint carries a valid SM2 (SM3) signature by an
    /// SM2 key of the trusted keys (for a 密评 assessment); Ed25519 is checked as always.
    #[arg(long)]
    pub require_sm2: bool,
}

impl TrustArgs {
    /// The options a bundle is verified with: the keys, the checkpoint and the witnesses
    /// the auditor trusts, how many of those witnesses must have cosigned, and whether an
    /// SM2 signature is required.
    pub(super) fn verify_options(self) -> Result<VerifyOptions, AuditCliError> {
        let witnesses = self
            .witnesses
            .iter()
            .map(|k| {
                CosignerKey::parse(k.trim()).map_err(|source| AuditCliError::Keys {
                    path: PathBuf::from(format!("--witness {k}")),
                    source,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let min_witnesses = self.min_witnesses.unwrap_or(witnesses.len());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .ok();
        let keys = match self.keys {
            None => None,
            Some(p) => Some(
                Verifiers::parse_lines(&read(&p)?)
                    .map_err(|source| AuditCliError::Keys { path: p, source })?,
            ),
        };
        let trusted = self.trusted.map(|p| read(&p)).transpose()?;
        Ok(VerifyOptions {
            keys,
            trusted,
            witnesses,
            min_witnesses,
            now,
            require_sm2: self.require_sm2,
        })
    }
}

/// A progress printer on stderr: active when stderr is a terminal or the job is large.
pub(super) fn progress(verb: &'static str) -> impl FnMut(u64, u64) {
    let tty = std::io::stderr().is_terminal();
    let mut last_pct = u64::MAX;
    move |done, total| {
        if total == 0 || !(tty || total > bundle::PROGRESS_THRESHOLD) {
            return;
        }
        let pct = done * 100 / total;
        if pct != last_pct && (pct % 10 == 0 || tty) {
            last_pct = pct;
            let mut e = std::io::stderr();
            if tty {
                let _ = write!(e, "\r{verb} {done}/{total} entries ({pct}%)");
                if done == total {
                    let _ = writeln!(e);
                }
            } else {
                let _ = writeln!(e, "{verb} {done}/{total} entries ({pct}%)");
            }
        }
    }
}

/// Prints a verification report: its failures, notes and cosignatures, then the summary line.
pub(super) fn print_report(r: &Report) {
    for f in &r.failures {
        match f.entry {
            Some(i) => println!("FAIL entry {i} [{:?}]: {}", f.kind, f.message),
            None => println!("FAIL [{:?}]: {}", f.kind, f.message),
        }
    }
    for n in &r.notes {
        println!("note: {n}");
    }
    for (name, t) in &r.cosigned_by {
        let at = chrono::DateTime::from_timestamp(i64::try_from(*t).unwrap_or(i64::MAX), 0)
            .map(|d| d.to_rfc3339())
            .unwrap_or_else(|| t.to_string());
        println!("cosigned by witness {name} at {at}");
    }
    println!(
        "{}: log {} size {} root {}; entries {}..{} ({} checked), {} signatures, {} older checkpoints, {} documents; {} failures",
        if r.ok() { "OK" } else { "FAILED" },
        r.origin,
        r.tree_size,
        r.root,
        r.first,
        r.end,
        r.entries_checked,
        r.signatures_verified,
        r.history_checked,
        r.documents_checked,
        r.failures.len()
    );
}
