//! `tongban audit …`: export a self-contained bundle of the ledger (with the documents, for an
//! auditor allowed to see them), verify one offline, replay its translations ([`super::replay`]).

use crate::ledger::bundle::{self, BundleError, ExportOptions, Report, VerifyOptions};
use crate::ledger::{Entry, Log, LogError, StoreError};
use crate::signing::keyring::{read_origin, read_published, Keyring, KeyringError};
use crate::signing::{CosignerKey, Verifiers};
use crate::store::{DataDir, OpenError};
use clap::Subcommand;
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

/// Audit commands.
#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Write an audit bundle (entries, checkpoint, proofs, public keys) to a new directory.
    Export {
        /// Output directory (must not exist or be empty).
        out: PathBuf,
        /// First entry index (default 0).
        #[arg(long)]
        from: Option<u64>,
        /// One past the last entry (default: the checkpoint's size).
        #[arg(long)]
        to: Option<u64>,
        /// Also include a consistency proof from this older tree size (repeatable), e.g. the
        /// size of the checkpoint the auditor trusted last time.
        #[arg(long = "consistency-from")]
        consistency_from: Vec<u64>,
        /// Leave out the older signed checkpoints.
        #[arg(long)]
        no_history: bool,
        /// Also write proofs.jsonl: one RFC 6962 inclusion proof per entry.
        #[arg(long)]
        inclusion_proofs: bool,
        /// Also write into OUT/documents/ the exact documents the entries reference (each
        /// application and decision as received and as sent, named by its hex SHA-256), for
        /// `audit replay`. They hold personal data (names, identity numbers, addresses): give
        /// such a bundle only to an auditor allowed to see them.
        #[arg(long)]
        with_documents: bool,
        /// Do not sign a new checkpoint; export against the last signed one.
        #[arg(long)]
        no_sign: bool,
    },
    /// Check a bundle offline; reports every failure; exit 1 if any.
    Verify {
        /// The bundle directory.
        bundle: PathBuf,
        /// What the auditor trusts.
        #[command(flatten)]
        trust: TrustArgs,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Re-derive every stored hash from the stored entries and name every disagreement.
    Check,
    /// Verify a bundle, then re-run every translation it records on the exact documents;
    /// names every entry that does not replay; exit 1 if any.
    ///
    /// Each forwarded entry (application) and delivered entry (decision): the document
    /// received, translated again for the other platform under the number the entry says it
    /// was sent under, must hash to the entry's sent_sha256.
    Replay(super::replay::ReplayArgs),
    /// Development: append N example entries in batches, signing a checkpoint per batch
    /// (used to build large logs for the benchmarks).
    #[command(hide = true)]
    Fill {
        /// Entries to append.
        #[arg(long)]
        entries: u64,
        /// Entries per batch (one durable commit each).
        #[arg(long, default_value_t = 1000)]
        batch: u64,
        /// Print `acked SIZE` on stdout after each durable batch (for crash tests).
        #[arg(long)]
        print_acks: bool,
    },
}

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

pub(super) fn read(path: &Path) -> Result<String, AuditCliError> {
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

/// Runs an audit command; returns the exit code (0 ok, 1 verification failures).
pub fn run(cmd: AuditCmd, data: &DataDir) -> Result<super::Outcome, AuditCliError> {
    let keys_dir = data.keys();
    match cmd {
        AuditCmd::Export {
            out,
            from,
            to,
            consistency_from,
            no_history,
            inclusion_proofs,
            with_documents,
            no_sign,
        } => {
            let published = read_published(&keys_dir)?;
            let origin = read_origin(&keys_dir)?;
            let stores = data.open_existing()?;
            let mut log = Log::open(stores.ledger.clone(), &origin)?;
            let stale = log.last_signed().map(|c| c.size) != Some(log.size());
            if stale && !no_sign {
                let ring = Keyring::open(&keys_dir)?;
                log.sign_checkpoint_by(&ring.checkpoint_signers())?;
            }
            let size = log.last_signed().map(|c| c.size).unwrap_or(0);
            let opts = ExportOptions {
                range: (from.is_some() || to.is_some())
                    .then(|| from.unwrap_or(0)..to.unwrap_or(size)),
                consistency_from,
                no_history,
                inclusion_proofs,
            };
            let s = bundle::export(&log, &published, &opts, &out, progress("exported"))?;
            let documents = with_documents
                .then(|| {
                    let dir = out.join(super::documents::DOCUMENTS_DIR);
                    super::documents::export(&log, s.entries.clone(), &*stores.records, &dir)
                })
                .transpose()?;
            println!(
                "exported entries {}..{} of tree size {} ({} older checkpoints{}) to {}",
                s.entries.start,
                s.entries.end,
                s.tree_size,
                s.history,
                documents
                    .as_ref()
                    .map(|d| format!(", {} documents", d.written))
                    .unwrap_or_default(),
                out.display()
            );
            if let Some(d) = documents.as_ref().filter(|d| !d.missing.is_empty()) {
                let (entry, hash) = d.missing[0];
                println!(
                    "note: {} documents the entries reference are not in the data directory (the first: {}, referenced by entry {entry})",
                    d.missing.len(),
                    hex::encode(hash)
                );
            }
            Ok(super::Outcome::Success)
        }
        AuditCmd::Verify {
            bundle: dir,
            trust,
            json,
        } => {
            let opts = trust.verify_options()?;
            let files = bundle::load(&dir)?;
            let report = bundle::verify(&files, &opts, progress("verified"));
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).expect("report serializes")
                );
            } else {
                print_report(&report);
            }
            Ok(if report.ok() {
                super::Outcome::Success
            } else {
                super::Outcome::Invalid
            })
        }
        AuditCmd::Check => {
            let origin = read_origin(&keys_dir)?;
            let log = Log::open(data.open_existing()?.ledger, &origin)?;
            let problems = log.check()?;
            for p in &problems {
                println!("entry {}: {}", p.entry, p.what);
            }
            println!(
                "{} entries checked, {} problems",
                log.size(),
                problems.len()
            );
            Ok(if problems.is_empty() {
                super::Outcome::Success
            } else {
                super::Outcome::Invalid
            })
        }
        AuditCmd::Replay(args) => super::replay::run(args),
        AuditCmd::Fill {
            entries,
            batch,
            print_acks,
        } => {
            let ring = Keyring::open(&keys_dir)?;
            let mut log = Log::open(data.open()?.ledger, ring.active().name())?;
            let start = log.size();
            let mut done = 0;
            let mut show = progress("appended");
            while done < entries {
                let n = batch.min(entries - done);
                let batch: Vec<Entry> = (0..n).map(|i| Entry::example(start + done + i)).collect();
                log.append_batch(&batch)?;
                if print_acks {
                    let mut out = std::io::stdout();
                    let _ = writeln!(out, "acked {}", log.size());
                    let _ = out.flush();
                }
                log.sign_checkpoint_by(&ring.checkpoint_signers())?;
                done += n;
                show(done, entries);
            }
            println!("log size {}", log.size());
            Ok(super::Outcome::Success)
        }
    }
}

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
