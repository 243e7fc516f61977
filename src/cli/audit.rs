//! `tongban audit …`: export a self-contained bundle of the ledger (with the documents, for an
//! auditor allowed to see them), verify one offline, replay its translations
//! ([`super::replay`]). What verifying and replaying share is in [`super::verifying`].

use std::io::Write as _;
use std::path::PathBuf;

use clap::Subcommand;

use crate::ledger::bundle::{self, ExportOptions};
use crate::ledger::{Entry, Log};
use crate::signing::keyring::{read_origin, read_published, Keyring};
use crate::store::DataDir;

use super::verifying::{print_report, progress, AuditCliError, TrustArgs};

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
