//! `tongban storage …` (also `tongban store …`): check the invariant between records and
//! ledger over a whole store, migrate (an earlier version's data directory, or a PostgreSQL
//! database's schema), or copy a whole store between the embedded store and PostgreSQL.

use std::path::PathBuf;

use clap::Subcommand;

use crate::gateway::ledger::invariant::Scope;
use crate::ledger::{Log, LogError};
use crate::store::check::{self, Report};
use crate::store::config::Storage;
use crate::store::copy::{self, CopyError, Portable};
use crate::store::migrate::{self, MigrateError};
use crate::store::postgres::{PgConfig, PgError, PgStore};
use crate::store::{DataDir, OpenError, Stores};

/// Storage commands.
#[derive(Debug, Subcommand)]
pub enum StoreCmd {
    /// Check every ledger entry against the records and every record against the ledger
    /// (one RECEIVED per application and per source number, at most one FORWARDED, DECIDED,
    /// DELIVERED, HANDED_OVER, every step on both sides); names every violation; exit 1 if any.
    /// The gateway must be stopped (the store is locked while it runs).
    Check {
        /// Check this PostgreSQL database instead of the data directory's store.
        #[arg(long, value_name = "URL")]
        postgres: Option<String>,
        /// Verify the database's TLS certificate against this CA (PEM); without it, no TLS.
        #[arg(long, value_name = "FILE", requires = "postgres")]
        postgres_ca: Option<PathBuf>,
    },
    /// With `--postgres`: create or upgrade the database's tongban schema (each migration in
    /// one transaction; running it again changes nothing). Without: turn an earlier version's
    /// data directory (separate `ledger` and `gateway` databases) into one store, keeping the
    /// old databases as `*.pre-migration`.
    Migrate {
        /// The PostgreSQL database to migrate.
        #[arg(long, value_name = "URL")]
        postgres: Option<String>,
        /// Verify the database's TLS certificate against this CA (PEM); without it, no TLS.
        #[arg(long, value_name = "FILE", requires = "postgres")]
        postgres_ca: Option<PathBuf>,
    },
    /// Copy a whole store (claims, records, documents, every outbox job, the ledger and its
    /// checkpoints, the numbers' sequence) into an empty one, then verify: the same ledger
    /// size and root on both sides (exit 1 otherwise) and the same counts. Every gateway
    /// instance must be stopped. The keys (`keys/`, `id-salt.key`, `status-link.key`) are not
    /// part of a store: keep them with the gateway's configuration.
    Copy {
        /// `sled:DIR` (a data directory) or `postgres:URL`.
        #[arg(long, value_name = "BACKEND:WHERE", value_parser = parse_location)]
        from: Location,
        /// `sled:DIR` (a data directory without a store yet) or `postgres:URL` (an empty
        /// database; its schema is created).
        #[arg(long, value_name = "BACKEND:WHERE", value_parser = parse_location)]
        to: Location,
        /// Verify the PostgreSQL side's TLS certificate against this CA (PEM).
        #[arg(long, value_name = "FILE")]
        postgres_ca: Option<PathBuf>,
    },
}

/// Where a store is.
#[derive(Debug, Clone)]
pub enum Location {
    /// The embedded store of a data directory.
    Sled(PathBuf),
    /// A PostgreSQL database.
    Postgres(String),
}

fn parse_location(s: &str) -> Result<Location, String> {
    match s.split_once(':') {
        Some(("sled", dir)) if !dir.is_empty() => Ok(Location::Sled(dir.into())),
        Some(("postgres", url)) if !url.is_empty() => Ok(Location::Postgres(url.into())),
        _ => Err(format!(
            "{s:?}: expected sled:DIR (a data directory) or postgres:URL"
        )),
    }
}

/// Errors of the storage commands (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum StoreCliError {
    /// The store could not be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// PostgreSQL could not be reached or used.
    #[error(transparent)]
    Postgres(#[from] PgError),
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
    /// The copy could not be made.
    #[error("copy: {0}")]
    Copy(String),
}

fn print(report: &Report) {
    for v in &report.violations {
        println!("{v}");
    }
}

fn pg_config(url: String, ca: Option<PathBuf>) -> PgConfig {
    PgConfig {
        ca,
        ..PgConfig::new(url)
    }
}

fn check(stores: &Stores, origin: &str) -> Result<Report, StoreCliError> {
    let log = Log::open(stores.ledger.clone(), origin)?;
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
    Ok(report)
}

/// Runs a storage command; returns the exit code (0 ok, 1 violations or a copy that
/// differs).
pub fn run(cmd: StoreCmd, data: &DataDir) -> Result<super::Outcome, StoreCliError> {
    let report = match cmd {
        StoreCmd::Check {
            postgres: Some(url),
            postgres_ca,
        } => {
            let store = PgStore::connect(&pg_config(url, postgres_ca))?;
            let stores = store.stores();
            // The data directory's key names the log when it is here; else its checkpoints do.
            let origin = match data.keyring() {
                Ok(keys) => keys.active().name().to_owned(),
                Err(_) => {
                    copy::origin(&*stores.ledger).map_err(|e| StoreCliError::Read(e.to_string()))?
                }
            };
            check(&stores, &origin)?
        }
        StoreCmd::Check { postgres: None, .. } => {
            let stores = data.open_existing()?;
            let origin = data.keyring()?.active().name().to_owned();
            check(&stores, &origin)?
        }
        StoreCmd::Migrate {
            postgres: Some(url),
            postgres_ca,
        } => return migrate_postgres(&pg_config(url, postgres_ca)),
        StoreCmd::Migrate { postgres: None, .. } => {
            if let Storage::Postgres(config) = data.storage() {
                // `--config` names a PostgreSQL database: migrate its schema.
                return migrate_postgres(config);
            }
            let m = migrate::migrate(data)?;
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
        StoreCmd::Copy {
            from,
            to,
            postgres_ca,
        } => return copy_store(from, to, postgres_ca),
    };
    Ok(if report.violations.is_empty() {
        super::Outcome::Success
    } else {
        super::Outcome::Invalid
    })
}

/// Creates or upgrades the tongban schema of a PostgreSQL database.
fn migrate_postgres(config: &PgConfig) -> Result<super::Outcome, StoreCliError> {
    let version = PgStore::migrate(config)?;
    println!(
        "the tongban schema in {} is at version {version}",
        crate::store::postgres::connection::redact(&config.url)
    );
    Ok(super::Outcome::Success)
}

/// The source side of a copy, opened.
fn open_source(at: &Location, ca: &Option<PathBuf>) -> Result<Box<dyn Portable>, StoreCliError> {
    Ok(match at {
        Location::Sled(dir) => {
            let data = DataDir::new(dir);
            if data.is_legacy() {
                return Err(OpenError::Legacy {
                    dir: dir.display().to_string(),
                }
                .into());
            }
            if !data.store().exists() {
                return Err(OpenError::Missing {
                    dir: dir.display().to_string(),
                }
                .into());
            }
            Box::new(data.open_gateway()?)
        }
        Location::Postgres(url) => Box::new(PgStore::connect(&pg_config(url.clone(), ca.clone()))?),
    })
}

fn copy_store(
    from: Location,
    to: Location,
    ca: Option<PathBuf>,
) -> Result<super::Outcome, StoreCliError> {
    let source = open_source(&from, &ca)?;
    let copied = match &to {
        Location::Postgres(url) => {
            let config = pg_config(url.clone(), ca.clone());
            PgStore::migrate(&config)?;
            let dest = PgStore::connect(&config)?;
            copy::copy(&*source, &dest)
        }
        Location::Sled(dir) => {
            let data = DataDir::new(dir);
            if data.store().exists() || data.is_legacy() {
                return Err(StoreCliError::Copy(format!(
                    "{} holds a store already; copy into a data directory without one",
                    dir.display()
                )));
            }
            // Built beside, put in place only when complete and verified.
            let building = dir.join("store.copying");
            if building.exists() {
                std::fs::remove_dir_all(&building)
                    .map_err(|e| StoreCliError::Copy(format!("{}: {e}", building.display())))?;
            }
            let copied = {
                let dest = data.open_gateway_at(&building)?;
                copy::copy(&*source, &dest)
            };
            if copied.is_ok() {
                std::fs::rename(&building, data.store())
                    .and_then(|()| std::fs::File::open(dir)?.sync_all())
                    .map_err(|e| StoreCliError::Copy(format!("{}: {e}", data.store().display())))?;
            }
            copied
        }
    };
    match copied {
        Ok(c) => {
            println!(
                "copied {} records, {} claims, {} documents, {} outbox jobs and {} ledger pairs",
                c.counts.records,
                c.counts.claims,
                c.counts.documents,
                c.counts.jobs,
                c.counts.ledger_pairs
            );
            println!(
                "ledger: {} entries, root {} on both sides",
                c.ledger_size,
                hex::encode(c.root)
            );
            println!("gateway numbers continue above sequence {}", c.sequence);
            println!("keys stay where they are: keys/, id-salt.key and status-link.key are not part of a store");
            Ok(super::Outcome::Success)
        }
        Err(CopyError::Differs(why)) => {
            println!("{why}");
            Ok(super::Outcome::Invalid)
        }
        Err(e) => Err(StoreCliError::Copy(e.to_string())),
    }
}
