//! `tongban store …`: check the invariant between records and ledger over a whole data
//! directory, or migrate an earlier version's data directory.

use std::path::Path;

use clap::Subcommand;

use crate::gateway::invariant::Scope;
use crate::ledger::{Log, LogError};
use crate::store::check::{self, Report};
use crate::store::migrate::{self, MigrateError};
use crate::store::{DataDir, OpenError};

/// Store commands.
#[derive(Debug, Subcommand)]
pub enum StoreCmd {
    /// Check every ledger entry against the records and every record against the ledger
    /// (one RECEIVED per application and per source number, at most one FORWARDED, DECIDED,
    /// DELIVERED, HANDED_OVER, every step on both sides); names every violation; exit 1 if any.
    /// The gateway must be stopped (the store is locked while it runs).
    Check,
    /// Turn an earlier version's data directory (separate `ledger` and `gateway` databases)
    /// into one store, keeping the old databases as `*.pre-migration`.
    Migrate,
}

/// Errors of the store commands (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum StoreCliError {
    /// The store could not be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// The keyring (the log's origin) could not be read.
    #[error(transparent)]
    Keyring(#[from] crate::signing::KeyringError),
    /// The ledger could not be read.
    #[error(transparent)]
    Log(#[from] LogError),
    /// Reading records or entries failed.
    #[error("store: {0}")]
    Read(String),
    /// The migration failed.
    #[error(transparent)]
    Migrate(#[from] MigrateError),
}

fn print(report: &Report) {
    for v in &report.violations {
        println!("{v}");
    }
}

/// Runs a store command; returns the exit code (0 ok, 1 violations found).
pub fn run(cmd: StoreCmd, data_dir: &Path) -> Result<super::Outcome, StoreCliError> {
    let data = DataDir::new(data_dir);
    let report = match cmd {
        StoreCmd::Check => {
            let stores = data.open_existing()?;
            let origin = data.keyring()?.active().name().to_owned();
            let log = Log::open(stores.ledger.clone(), &origin)?;
            let report = check::run(
                Scope::Whole,
                log.size(),
                |r| log.entries(r).map_err(|e| e.to_string()),
                &*stores.records,
            )
            .map_err(StoreCliError::Read)?;
            print(&report);
            println!(
                "{} ledger entries and {} records checked: {} violations",
                report.entries,
                report.records,
                report.violations.len()
            );
            report
        }
        StoreCmd::Migrate => {
            let m = migrate::migrate(&data)?;
            print(&m.report);
            println!(
                "migrated {} ledger entries ({} signed checkpoints) and {} records into {}; \
                 {} interrupted applications completed from their RECEIVED entry, {} never \
                 acknowledged removed; {} violations (written by the earlier version)",
                m.entries,
                m.checkpoints,
                m.records,
                data.store().display(),
                m.completed,
                m.removed,
                m.report.violations.len()
            );
            m.report
        }
    };
    Ok(if report.violations.is_empty() {
        super::Outcome::Success
    } else {
        super::Outcome::Invalid
    })
}
