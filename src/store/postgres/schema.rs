//! The schema's versions: the migrations in `schemas/postgres/`, applied in order, each in
//! one transaction, and recorded in `tongban_schema`; and the check a store makes when it
//! connects.

use deadpool_postgres::Pool;

use super::connection::describe;
use super::PgError;

/// One migration: its version, its name (the file's) and its SQL.
pub struct Migration {
    /// The version the schema has once it is applied.
    pub version: u32,
    /// The file's name without `.sql`.
    pub name: &'static str,
    /// The statements.
    pub sql: &'static str,
}

/// Every migration, in order; the last one's version is [`SCHEMA_VERSION`].
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_initial",
        sql: include_str!("../../../schemas/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "0002_leases",
        sql: include_str!("../../../schemas/postgres/0002_leases.sql"),
    },
];

/// The schema version this build reads and writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// Key of the advisory lock migrations hold, so that instances migrating at once apply each
/// migration once ("tongban" in ASCII).
const MIGRATION_LOCK: i64 = 0x0074_6f6e_6762_616e;

const SCHEMA_TABLE: &str = "CREATE TABLE IF NOT EXISTS tongban_schema (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)";

fn db(e: tokio_postgres::Error) -> PgError {
    PgError::Db(describe(&e))
}

/// The version recorded in the database; `None` when it has no tongban schema.
pub(crate) async fn version(client: &tokio_postgres::Client) -> Result<Option<u32>, PgError> {
    let row = client
        .query_one("SELECT to_regclass('tongban_schema') IS NOT NULL", &[])
        .await
        .map_err(db)?;
    if !row.get::<_, bool>(0) {
        return Ok(None);
    }
    let row = client
        .query_one("SELECT max(version) FROM tongban_schema", &[])
        .await
        .map_err(db)?;
    Ok(row.get::<_, Option<i32>>(0).map(|v| v as u32))
}

/// Applies the migrations the database lacks (see the module doc); returns the version now.
pub(crate) async fn migrate(pool: Pool) -> Result<u32, PgError> {
    let mut client = pool.get().await.map_err(PgError::pool)?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(db)?;
    let result = async {
        client.batch_execute(SCHEMA_TABLE).await.map_err(db)?;
        let mut now = version(&client).await?.unwrap_or(0);
        if now > SCHEMA_VERSION {
            return Err(PgError::Newer {
                found: now,
                known: SCHEMA_VERSION,
            });
        }
        let from = now;
        for m in MIGRATIONS.iter().filter(|m| m.version > from) {
            let tx = client.transaction().await.map_err(db)?;
            tx.batch_execute(m.sql)
                .await
                .map_err(|e| PgError::Db(format!("migration {}: {}", m.name, describe(&e))))?;
            tx.execute(
                "INSERT INTO tongban_schema (version, name) VALUES ($1, $2)",
                &[&(m.version as i32), &m.name],
            )
            .await
            .map_err(db)?;
            tx.commit().await.map_err(db)?;
            now = m.version;
        }
        Ok(now)
    }
    .await;
    // The lock is the session's: released here, or when the connection closes.
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    if unlocked.is_err() {
        drop(deadpool_postgres::Object::take(client));
    }
    result
}
