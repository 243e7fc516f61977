//! The data directory: the one place that names its layout and opens its storage.
//!
//! ```text
//! <data dir>/
//!   store/        the one sled database: claims, records, documents, outbox, ledger
//!   keys/         the signing keyring (tongban keys …)
//!   id-salt.key   the salt of applicant id hashes in the ledger (mode 0600)
//!   status-link.key  the secret of the receipts' status links (mode 0600; with `[web]`)
//!   pki/          a development PKI, when `serve --dev-pki` made one
//! ```
//!
//! Earlier versions kept the ledger and the records in two databases (`ledger/` and
//! `gateway/`), written and flushed separately; such a directory is refused with the command
//! that migrates it ([`super::migrate`]), never read as if it were empty.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::signing::keyring::{Keyring, KeyringError, ACTIVE_FILE};

use super::config::Storage;
use super::gateway::SledGateway;
use super::postgres::PgStore;
use super::Stores;

/// The database, under the data directory.
pub const STORE_DIR: &str = "store";
/// The keyring, under the data directory.
pub const KEYS_DIR: &str = "keys";
/// The salt of applicant id hashes, under the data directory.
pub const ID_SALT_FILE: &str = "id-salt.key";
/// The secret of the applicants' status links, under the data directory.
pub const STATUS_KEY_FILE: &str = "status-link.key";
/// A development PKI, under the data directory.
pub const PKI_DIR: &str = "pki";
/// The ledger database of earlier versions.
pub const LEGACY_LEDGER_DIR: &str = "ledger";
/// The records database of earlier versions.
pub const LEGACY_GATEWAY_DIR: &str = "gateway";

/// Name of the log and of its first key when the gateway creates them.
pub const DEFAULT_ORIGIN: &str = "tongban-gateway";

/// Why the data directory's storage could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The directory has an earlier version's layout.
    #[error("{dir} holds an earlier version's data (separate `ledger` and `gateway` databases); migrate it once with `tongban --data-dir {dir} storage migrate`, then start again")]
    Legacy {
        /// The data directory.
        dir: String,
    },
    /// The directory holds no store (a read-only command on a directory nothing wrote).
    #[error("{dir} holds no gateway store (no `{STORE_DIR}` directory); is --data-dir right?")]
    Missing {
        /// The data directory.
        dir: String,
    },
    /// The database could not be opened.
    #[error("{path}: {reason}")]
    Store {
        /// Its path.
        path: String,
        /// Why.
        reason: String,
    },
    /// The keyring could not be opened or created.
    #[error(transparent)]
    Keyring(#[from] KeyringError),
    /// The PostgreSQL database could not be reached, or holds another schema version (the
    /// message gives the command that migrates it).
    #[error(transparent)]
    Postgres(#[from] super::postgres::PgError),
}

/// A data directory, and where its records, outbox and ledger are stored: in it (the
/// embedded store) or in the PostgreSQL database `[storage]` names.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
    storage: Storage,
}

impl DataDir {
    /// The data directory at `root`, with the embedded store in it.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self::with_storage(root, Storage::Embedded)
    }

    /// The data directory at `root` (keys and secrets), its store where `storage` says.
    pub fn with_storage(root: impl Into<PathBuf>, storage: Storage) -> Self {
        Self {
            root: root.into(),
            storage,
        }
    }

    /// Where its store is.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// Its path.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The keyring's directory.
    pub fn keys(&self) -> PathBuf {
        self.root.join(KEYS_DIR)
    }

    /// The id salt's file.
    pub fn id_salt(&self) -> PathBuf {
        self.root.join(ID_SALT_FILE)
    }

    /// The status links' secret's file.
    pub fn status_key(&self) -> PathBuf {
        self.root.join(STATUS_KEY_FILE)
    }

    /// A development PKI's directory.
    pub fn pki(&self) -> PathBuf {
        self.root.join(PKI_DIR)
    }

    /// The database's directory.
    pub fn store(&self) -> PathBuf {
        self.root.join(STORE_DIR)
    }

    /// Whether it holds an earlier version's databases and no store yet.
    pub fn is_legacy(&self) -> bool {
        !self.store().exists()
            && (self.root.join(LEGACY_LEDGER_DIR).exists()
                || self.root.join(LEGACY_GATEWAY_DIR).exists())
    }

    /// Opens the keyring, creating it with a fresh key named [`DEFAULT_ORIGIN`] on first use.
    pub fn keyring_or_create(&self) -> Result<Keyring, KeyringError> {
        let keys = self.keys();
        if keys.join(ACTIVE_FILE).exists() {
            Keyring::open(&keys)
        } else {
            Keyring::create(&keys, DEFAULT_ORIGIN)
        }
    }

    /// Opens the existing keyring.
    pub fn keyring(&self) -> Result<Keyring, KeyringError> {
        Keyring::open(&self.keys())
    }

    /// Opens (creating on first use) the store; refuses an earlier version's layout, and a
    /// PostgreSQL database whose schema is not this version's.
    pub fn open(&self) -> Result<Stores, OpenError> {
        if let Storage::Postgres(config) = &self.storage {
            return Ok(PgStore::connect(config)?.stores());
        }
        if self.is_legacy() {
            return Err(OpenError::Legacy {
                dir: self.root.display().to_string(),
            });
        }
        Ok(self.open_gateway()?.stores())
    }

    /// Opens the existing store (for read-only commands: never creates one).
    pub fn open_existing(&self) -> Result<Stores, OpenError> {
        if let Storage::Postgres(_) = &self.storage {
            return self.open();
        }
        if self.is_legacy() {
            return Err(OpenError::Legacy {
                dir: self.root.display().to_string(),
            });
        }
        if !self.store().exists() {
            return Err(OpenError::Missing {
                dir: self.root.display().to_string(),
            });
        }
        self.open()
    }

    /// The sled store itself (for copying and migrating).
    pub(crate) fn open_gateway(&self) -> Result<SledGateway, OpenError> {
        self.open_gateway_at(&self.store())
    }

    pub(crate) fn open_gateway_at(&self, path: &Path) -> Result<SledGateway, OpenError> {
        let failed = |reason: String| OpenError::Store {
            path: path.display().to_string(),
            reason,
        };
        std::fs::create_dir_all(&self.root).map_err(|e| failed(e.to_string()))?;
        let (db, durability) = super::sled::open(path).map_err(|e| failed(e.to_string()))?;
        SledGateway::open(&db, durability).map_err(|e| failed(e.to_string()))
    }
}

impl SledGateway {
    /// The store behind the traits.
    pub fn stores(self) -> Stores {
        Stores {
            outbox: Arc::new(self.outbox().clone()),
            ledger: Arc::new(self.ledger().clone()),
            records: Arc::new(self),
            health: None,
        }
    }
}
