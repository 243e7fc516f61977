//! PostgreSQL: the store several gateway instances share (`[storage] backend = "postgres"`).
//!
//! - `runtime` — the store's own tokio runtime and the one way a synchronous method waits
//!   for the database on it.
//! - [`connection`] — the URL, TLS to the database (verified against the operator's CA, ring
//!   provider) and the pool.
//! - [`schema`] — the versioned migrations (`schemas/postgres/*.sql`) and the version check.
//! - [`records`] — claims, records and documents ([`AppStore`](crate::gateway::record::AppStore));
//!   each batch of the committer one transaction under the writer lock.
//! - [`outbox`] — the outbox, each due job leased to the instance that takes it.
//! - [`ledger`] — the ledger's key-value layout in one table.
//! - `copy` — listing and writing a whole store for `tongban storage copy`
//!   ([`Portable`](super::copy::Portable)).
//! - `transaction` — a transaction on a pooled connection: the guard that discards a
//!   connection left inside one, and a batch's statements pipelined with `COMMIT`.
//! - [`latency`] — how long the batches' transactions take.
//! - [`testing`] — a fresh database per test.
//!
//! # One gateway, several instances
//! Every batch of every instance's committer runs `BEGIN; SELECT … FROM tongban_writer FOR
//! UPDATE` and reads the ledger's stored size under that lock, so batches of all instances
//! commit one after the other and the ledger has one total order (Tessera's design on
//! PostgreSQL and Spanner). What a batch writes becomes visible only when its `COMMIT` has
//! returned durable (`synchronous_commit` is set on for every session), which is why the
//! outbox's gate needs no more than a lock of its own here. Everything outside a batch (the
//! ledger's checkpoint writes, the outbox's leases and outcomes, documents stored ahead) is
//! one autocommitted statement or transaction on another connection and never takes the
//! writer lock: the committer may hold it meanwhile.

pub mod connection;
mod copy;
pub mod latency;
pub mod ledger;
pub mod outbox;
pub mod records;
mod runtime;
pub mod schema;
pub mod testing;
mod transaction;

use std::future::Future;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool_postgres::{Object, Pool};

use self::connection::{describe, describe_pool, redact};
use self::latency::TxLatency;
pub use self::ledger::PgLedger;
pub use self::outbox::PgOutbox;
pub use self::records::PgRecords;
use self::runtime::PgRuntime;
pub use self::schema::SCHEMA_VERSION;
pub use self::testing::TestDatabase;
use super::Stores;
use crate::gateway::ops::register;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Connections a store keeps at most, unless configured.
pub const DEFAULT_POOL_SIZE: usize = 16;
/// How long an instance holds a due job it took before another may take it, unless
/// configured.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);
/// How long [`PgStore::ping`] waits for the database.
pub const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Where the database is and how to use it (the gateway reads it from `[storage]`).
#[derive(Clone)]
pub struct PgConfig {
    /// Connection URL (`postgres://user:password@host:port/dbname?…`) or key-value string.
    pub url: String,
    /// TLS to the database: verify the server's certificate against this CA (PEM). `None`:
    /// no TLS.
    pub ca: Option<PathBuf>,
    /// Connections kept at most (at least 2: a batch holds one while the ledger reads
    /// through another).
    pub pool_size: usize,
    /// How long an instance holds a due job it took (see [`PgOutbox`]).
    pub lease: Duration,
    /// This instance's name in the outbox's leases and the leases table: the same across
    /// restarts of one instance, so a restarted instance takes back at once the deliveries it
    /// held when it died ([`crate::gateway::outbox::OutboxStore::restarted`]); different
    /// for every instance.
    pub instance: String,
}

impl PgConfig {
    /// The database at `url`, without TLS, with the default pool size and lease.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ca: None,
            pool_size: DEFAULT_POOL_SIZE,
            lease: DEFAULT_LEASE,
            instance: format!("{:016x}", rand::random::<u64>()),
        }
    }

    /// The command that brings this database's schema to the version this build uses (the
    /// password, if the URL has one, left out).
    pub fn migrate_command(&self) -> String {
        let ca = self
            .ca
            .as_ref()
            .map(|p| format!(" --postgres-ca {}", p.display()))
            .unwrap_or_default();
        format!(
            "tongban storage migrate --postgres '{}'{ca}",
            redact(&self.url)
        )
    }
}

impl std::fmt::Debug for PgConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgConfig")
            .field("url", &redact(&self.url))
            .field("ca", &self.ca)
            .field("pool_size", &self.pool_size)
            .field("lease", &self.lease)
            .field("instance", &self.instance)
            .finish()
    }
}

/// Why the PostgreSQL store could not be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// The URL (or pool size) is not usable.
    #[error("PostgreSQL URL: {0}")]
    Url(String),
    /// The CA for TLS to the database could not be read.
    #[error("PostgreSQL CA {path}: {reason}")]
    Ca {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The database could not be reached.
    #[error("PostgreSQL at {target} is unreachable: {reason}")]
    Unreachable {
        /// The URL, password left out.
        target: String,
        /// Why.
        reason: String,
    },
    /// The database has no tongban schema, or an older one.
    #[error("PostgreSQL at {target} has {} but this tongban needs version {expected}; with every instance stopped, run `{command}`", match .found { None => "no tongban schema".to_owned(), Some(v) => format!("tongban schema version {v}") })]
    Schema {
        /// The URL, password left out.
        target: String,
        /// The version found, if any.
        found: Option<u32>,
        /// The version this build uses.
        expected: u32,
        /// The command that migrates it.
        command: String,
    },
    /// The database's schema is newer than this build knows.
    #[error("the tongban schema in the database is version {found}, newer than this tongban's {known}: run the tongban that migrated it (or a later one)")]
    Newer {
        /// The version found.
        found: u32,
        /// The newest version this build knows.
        known: u32,
    },
    /// The store's runtime could not start or is shutting down.
    #[error("PostgreSQL store runtime: {0}")]
    Runtime(String),
    /// A statement failed.
    #[error("PostgreSQL: {0}")]
    Db(String),
}

impl PgError {
    pub(crate) fn pool(e: deadpool_postgres::PoolError) -> Self {
        PgError::Db(describe_pool(&e))
    }

    pub(crate) fn db(e: tokio_postgres::Error) -> Self {
        PgError::Db(describe(&e))
    }
}

/// What the pool holds now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// Connections at most.
    pub max_size: usize,
    /// Connections open.
    pub size: usize,
    /// Open connections not in use.
    pub available: usize,
    /// Callers waiting for a connection.
    pub waiting: usize,
}

/// What every part of one store shares.
pub(crate) struct Shared {
    // Dropped before the runtime its connections live on.
    pub(crate) pool: Pool,
    pub(crate) rt: PgRuntime,
    pub(crate) config: PgConfig,
    /// This process's name in the outbox's leases: random per start.
    pub(crate) instance: String,
    pub(crate) latency: TxLatency,
    /// See [`crate::gateway::outbox::OutboxStore::gate`].
    pub(crate) gate: Arc<tokio::sync::RwLock<()>>,
    /// The block of gateway sequence numbers this process hands out next.
    pub(crate) sequence: Mutex<Range<u64>>,
}

impl Shared {
    /// Runs `f` with a connection of the pool on the store's runtime and waits for it.
    pub(crate) fn with<T, F, Fut>(&self, f: F) -> Result<T, PgError>
    where
        F: FnOnce(Object) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, PgError>> + Send,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        self.rt.run(async move {
            let client = pool.get().await.map_err(PgError::pool)?;
            f(client).await
        })
    }
}

/// The PostgreSQL store: one pool on its own runtime, behind the storage traits.
#[derive(Clone)]
pub struct PgStore {
    shared: Arc<Shared>,
}

impl PgStore {
    /// Connects and checks the schema: a database without tongban's schema, or with another
    /// version of it, is refused with the command that migrates it ([`PgError::Schema`]).
    pub fn connect(config: &PgConfig) -> Result<PgStore, PgError> {
        let store = Self::open(config)?;
        let found = store
            .shared
            .with(|c| async move { schema::version(&c).await })?;
        match found {
            Some(v) if v == SCHEMA_VERSION => Ok(store),
            Some(v) if v > SCHEMA_VERSION => Err(PgError::Newer {
                found: v,
                known: SCHEMA_VERSION,
            }),
            found => Err(PgError::Schema {
                target: redact(&config.url),
                found,
                expected: SCHEMA_VERSION,
                command: config.migrate_command(),
            }),
        }
    }

    /// Applies the migrations the database lacks, each in one transaction, under an advisory
    /// lock (instances migrating at once apply each once); returns the version now. Applying
    /// them to a database that has them all changes nothing.
    pub fn migrate(config: &PgConfig) -> Result<u32, PgError> {
        let store = Self::open(config)?;
        let pool = store.shared.pool.clone();
        store.shared.rt.run(schema::migrate(pool))
    }

    /// The pool and runtime, and one connection made to see that the database answers.
    fn open(config: &PgConfig) -> Result<PgStore, PgError> {
        let rt = PgRuntime::new()?;
        let pool = {
            // The pool's timers belong to the store's runtime.
            let _in = rt.handle().enter();
            connection::pool(config)?
        };
        let instance = config.instance.clone();
        let store = PgStore {
            shared: Arc::new(Shared {
                pool,
                rt,
                config: config.clone(),
                instance,
                latency: TxLatency::default(),
                gate: Arc::default(),
                sequence: Mutex::new(0..0),
            }),
        };
        let target = redact(&config.url);
        store
            .shared
            .with(|_| async { Ok(()) })
            .map_err(|e| PgError::Unreachable {
                target,
                reason: match e {
                    PgError::Db(reason) => reason,
                    other => other.to_string(),
                },
            })?;
        Ok(store)
    }

    /// Claims, records, documents and batches.
    pub fn records(&self) -> PgRecords {
        PgRecords::new(self.shared.clone())
    }

    /// The outbox.
    pub fn outbox(&self) -> PgOutbox {
        PgOutbox::new(self.shared.clone())
    }

    /// The ledger's key-value pairs.
    pub fn ledger(&self) -> PgLedger {
        PgLedger::new(self.shared.clone())
    }

    /// The store behind the traits.
    pub fn stores(&self) -> Stores {
        Stores {
            records: Arc::new(self.records()),
            outbox: Arc::new(self.outbox()),
            ledger: Arc::new(self.ledger()),
            health: Some(Arc::new(self.clone())),
        }
    }

    /// For readiness: fails when the database does not answer within [`PING_TIMEOUT`].
    pub fn ping(&self) -> Result<(), PgError> {
        let pool = self.shared.pool.clone();
        self.shared.rt.run(async move {
            let answer = async {
                let client = pool.get().await.map_err(PgError::pool)?;
                client.simple_query("SELECT 1").await.map_err(PgError::db)?;
                Ok(())
            };
            tokio::time::timeout(PING_TIMEOUT, answer)
                .await
                .unwrap_or_else(|_| {
                    Err(PgError::Db(format!(
                        "no answer within {} s",
                        PING_TIMEOUT.as_secs()
                    )))
                })
        })
    }

    /// Connections open, free and waited for.
    pub fn pool_status(&self) -> PoolStatus {
        let s = self.shared.pool.status();
        PoolStatus {
            max_size: s.max_size,
            size: s.size,
            available: s.available,
            waiting: s.waiting,
        }
    }

    /// How long the batches' transactions took so far.
    pub fn tx_latency(&self) -> &TxLatency {
        &self.shared.latency
    }

    /// This process's name in the outbox's leases (random per start).
    pub fn instance(&self) -> &str {
        &self.shared.instance
    }
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("config", &self.shared.config)
            .field("instance", &self.shared.instance)
            .finish_non_exhaustive()
    }
}

impl crate::gateway::ops::StoreHealth for PgStore {
    fn ping(&self) -> Result<(), String> {
        PgStore::ping(self).map_err(|e| e.to_string())
    }

    fn register_metrics(&self, registry: &mut Registry) {
        let pool = self.pool_status();
        let gauges = [
            (
                "db_pool_connections_max",
                "Connections the pool keeps at most.",
                pool.max_size,
            ),
            (
                "db_pool_connections_open",
                "Connections open to the database.",
                pool.size,
            ),
            (
                "db_pool_connections_in_use",
                "Open connections in use.",
                pool.size.saturating_sub(pool.available),
            ),
            (
                "db_pool_waiting",
                "Callers waiting for a connection.",
                pool.waiting,
            ),
        ];
        for (name, help, value) in gauges {
            let gauge: Gauge = Gauge::default();
            gauge.set(i64::try_from(value).unwrap_or(i64::MAX));
            register(registry, name, help, gauge);
        }
        self.tx_latency().register(
            registry,
            "db_batch_transaction_seconds",
            "Seconds a batch's transaction took, from BEGIN to the durable COMMIT.",
        );
    }
}
