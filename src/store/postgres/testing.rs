//! A fresh database for each test, on the cluster `TONGBAN_TEST_POSTGRES` names (an admin
//! URL such as `postgres://postgres@127.0.0.1:5432/postgres`), dropped when the test ends.
//!
//! Without that variable the PostgreSQL tests skip, saying so, unless
//! `TONGBAN_REQUIRE_POSTGRES=1` (as CI sets it), when they fail.

use super::{PgConfig, PgError, PgStore};

/// The admin URL of the test cluster.
pub const ENV_URL: &str = "TONGBAN_TEST_POSTGRES";
/// Set to 1: a PostgreSQL test without [`ENV_URL`] fails instead of skipping.
pub const ENV_REQUIRE: &str = "TONGBAN_REQUIRE_POSTGRES";

/// A database made for one test; dropped (connections and all) with it.
pub struct TestDatabase {
    admin: String,
    name: String,
    url: String,
}

impl TestDatabase {
    /// A new empty database (no schema), or `None` when no test cluster is configured (the
    /// caller returns; `test` is named in the line saying it skipped).
    pub fn create(test: &str) -> Option<TestDatabase> {
        let admin = match std::env::var(ENV_URL) {
            Ok(url) if !url.is_empty() => url,
            _ => {
                assert!(
                    std::env::var(ENV_REQUIRE).as_deref() != Ok("1"),
                    "{ENV_REQUIRE}=1 but {ENV_URL} is not set: the PostgreSQL tests need a \
                     cluster (.ci/run starts one)"
                );
                eprintln!("SKIPPED {test}: {ENV_URL} is not set (no PostgreSQL to test on)");
                return None;
            }
        };
        Some(Self::create_on(&admin))
    }

    /// A new empty database on the cluster the admin URL `admin` reaches.
    pub fn create_on(admin: &str) -> TestDatabase {
        let name = format!("tb_{:016x}", rand::random::<u64>());
        admin_sql(admin, &format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("creating a test database: {e}"));
        let url = database_url(admin, &name);
        TestDatabase {
            admin: admin.to_owned(),
            name,
            url,
        }
    }

    /// A new database with the current schema.
    pub fn migrated(test: &str) -> Option<TestDatabase> {
        let db = Self::create(test)?;
        PgStore::migrate(&db.config()).expect("migrating the test database");
        Some(db)
    }

    /// Its URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A configuration for it (no TLS, default pool and lease).
    pub fn config(&self) -> PgConfig {
        PgConfig::new(self.url.clone())
    }

    /// Runs SQL on it directly (to look at or tamper with what a store wrote).
    pub fn execute(&self, sql: &str) -> Result<(), PgError> {
        admin_sql(&self.url, sql)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = admin_sql(&self.admin, &drop) {
            eprintln!("dropping test database {}: {e}", self.name);
        }
    }
}

/// The admin URL with its database replaced by `name`.
fn database_url(admin: &str, name: &str) -> String {
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (admin, String::new()),
    };
    let authority_end = base
        .find("://")
        .map(|i| i + 3)
        .and_then(|start| base[start..].find('/').map(|j| start + j))
        .unwrap_or(base.len());
    format!("{}/{name}{query}", &base[..authority_end])
}

/// Runs `sql` over a connection of its own (on a small runtime of its own: tests call it
/// from any thread).
fn admin_sql(url: &str, sql: &str) -> Result<(), PgError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| PgError::Runtime(e.to_string()))?;
    let (url, sql) = (url.to_owned(), sql.to_owned());
    // A thread of its own: the caller may be inside a runtime.
    std::thread::spawn(move || {
        rt.block_on(async move {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .map_err(PgError::db)?;
            let driver = tokio::spawn(conn);
            let out = client.batch_execute(&sql).await.map_err(PgError::db);
            drop(client);
            let _ = driver.await;
            out
        })
    })
    .join()
    .unwrap_or_else(|p| std::panic::resume_unwind(p))
}

#[cfg(test)]
mod tests {
    use super::database_url;

    #[test]
    fn the_test_database_replaces_the_admin_database() {
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5439/postgres", "tb_1"),
            "postgres://postgres@127.0.0.1:5439/tb_1"
        );
        assert_eq!(
            database_url("postgres://u:p@h/postgres?sslmode=disable", "tb_1"),
            "postgres://u:p@h/tb_1?sslmode=disable"
        );
        assert_eq!(
            database_url("postgres://h:1", "tb_1"),
            "postgres://h:1/tb_1"
        );
    }
}
