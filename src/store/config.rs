//! `[storage]`: where the gateway keeps its claims, records, documents, outbox and ledger.
//!
//! ```toml
//! [storage]
//! backend = "postgres"                   # default "embedded": sled in the data directory
//! url = "postgres://tongban@db.example/tongban"
//! ca = "pki/db-ca.pem"                   # TLS to the database, verified against this CA
//! pool_size = 16
//! lease_s = 60                           # how long an instance holds a delivery it started
//! ```
//!
//! The data directory stays where it is for either backend: it holds the signing keys and
//! the two secrets (the applicant hashes' salt, the status links' key), which every instance
//! sharing one database must share too.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::postgres::connection::redact;
use super::postgres::{PgConfig, DEFAULT_LEASE, DEFAULT_POOL_SIZE};

/// The table as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageFile {
    /// `embedded` (default) or `postgres`.
    #[serde(default)]
    pub backend: Backend,
    /// The PostgreSQL connection URL (`postgres://user:password@host:port/database`).
    #[serde(default)]
    pub url: Option<String>,
    /// PEM file of the CA the database server's certificate chains to: with it, the
    /// connection is TLS and the server is verified; without it, plain TCP (a local socket or
    /// a trusted network only).
    #[serde(default)]
    pub ca: Option<PathBuf>,
    /// Connections this instance keeps to the database.
    #[serde(default)]
    pub pool_size: Option<usize>,
    /// Seconds an instance holds a delivery it started before another instance may take it
    /// over (after the first one died).
    #[serde(default)]
    pub lease_s: Option<u64>,
    /// This instance's name among those sharing the database, the same across its restarts
    /// (so it takes back at once what it held when it died); by default the host's name and
    /// the partner listener's address, unique for instances on one host.
    #[serde(default)]
    pub instance: Option<String>,
}

/// The backends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// sled in the data directory: one instance.
    #[default]
    Embedded,
    /// PostgreSQL: one or several instances sharing one database.
    Postgres,
}

/// The storage, resolved.
#[derive(Debug, Clone, Default)]
pub enum Storage {
    /// sled in the data directory.
    #[default]
    Embedded,
    /// PostgreSQL.
    Postgres(PgConfig),
}

impl StorageFile {
    /// Resolves the table, pushing every problem onto `problems`; `outgoing` is the longest
    /// a delivery attempt may take (connect and request limits), which the lease must exceed.
    pub fn resolve(
        &self,
        problems: &mut Vec<String>,
        abs: &dyn Fn(&Path) -> PathBuf,
        outgoing: Duration,
        listen: &str,
    ) -> Option<Storage> {
        let postgres_only = [
            ("url", self.url.is_some()),
            ("ca", self.ca.is_some()),
            ("pool_size", self.pool_size.is_some()),
            ("lease_s", self.lease_s.is_some()),
            ("instance", self.instance.is_some()),
        ];
        if self.backend == Backend::Embedded {
            let before = problems.len();
            for (key, _) in postgres_only.iter().filter(|(_, set)| *set) {
                problems.push(format!(
                    "storage.{key} is for backend = \"postgres\"; the embedded store takes none"
                ));
            }
            return (problems.len() == before).then_some(Storage::Embedded);
        }
        let before = problems.len();
        let url = match self.url.as_deref().map(str::trim) {
            Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
                Some(u.to_owned())
            }
            Some(u) => {
                problems.push(format!(
                    "storage.url {:?} is not a postgres:// URL",
                    redact(u)
                ));
                None
            }
            None => {
                problems.push("storage.url is missing (backend = \"postgres\")".into());
                None
            }
        };
        let ca = self.ca.as_deref().map(abs);
        if let Some(ca) = &ca {
            if !ca.is_file() {
                problems.push(format!("storage.ca {}: no such file", ca.display()));
            }
        }
        let pool_size = self.pool_size.unwrap_or(DEFAULT_POOL_SIZE);
        if !(1..=1024).contains(&pool_size) {
            problems.push(format!(
                "storage.pool_size must be between 1 and 1024, not {pool_size}"
            ));
        }
        // The default is well beyond the default outgoing limits (10 s connect, 30 s
        // request), so a live instance finishes an attempt before another may take it over.
        let lease = self.lease_s.map_or(DEFAULT_LEASE, Duration::from_secs);
        if lease <= outgoing {
            problems.push(format!(
                "storage.lease_s ({} s) must exceed the outgoing time limits ({} s), or a \
                 delivery still in progress could be taken over and sent twice",
                lease.as_secs(),
                outgoing.as_secs_f64().ceil()
            ));
        }
        let instance = match &self.instance {
            Some(name) if name.trim().is_empty() || name.len() > 200 => {
                problems.push("storage.instance must be a name of 1 to 200 bytes".into());
                String::new()
            }
            Some(name) => name.trim().to_owned(),
            None => format!("{}/{listen}", host_name()),
        };
        if problems.len() > before {
            return None;
        }
        Some(Storage::Postgres(PgConfig {
            url: url?,
            ca,
            pool_size,
            lease,
            instance,
        }))
    }
}

/// This host's name (Linux's; `localhost` where it cannot be read).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(text: &str) -> Result<Storage, Vec<String>> {
        let file: StorageFile = toml::from_str(text).map_err(|e| vec![e.to_string()])?;
        let mut p = Vec::new();
        let s = file.resolve(
            &mut p,
            &|p: &Path| p.to_owned(),
            Duration::from_secs(40),
            "127.0.0.1:8443",
        );
        s.ok_or(p)
    }

    #[test]
    fn the_embedded_store_is_the_default_and_takes_no_postgres_settings() {
        assert!(matches!(resolve(""), Ok(Storage::Embedded)));
        let e = resolve("url = \"postgres://h/db\"").unwrap_err();
        assert!(
            e[0].contains("storage.url is for backend = \"postgres\""),
            "{e:?}"
        );
    }

    #[test]
    fn postgres_needs_a_postgres_url_and_a_lease_beyond_the_outgoing_limits() {
        let Ok(Storage::Postgres(c)) =
            resolve("backend = \"postgres\"\nurl = \"postgres://u:secret@h:5432/db\"")
        else {
            panic!("not resolved")
        };
        assert_eq!(c.pool_size, DEFAULT_POOL_SIZE);
        assert_eq!(c.lease, DEFAULT_LEASE);
        assert_eq!(c.ca, None);
        assert!(c.instance.ends_with("/127.0.0.1:8443"), "{}", c.instance);
        let e = resolve(
            "backend = \"postgres\"\nurl = \"mysql://u:secret@h/db\"\npool_size = 0\nlease_s = 30",
        )
        .unwrap_err();
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(e[0].contains("not a postgres:// URL"), "{e:?}");
        assert!(
            !e[0].contains("secret"),
            "the password is not printed: {e:?}"
        );
        assert!(e[1].contains("pool_size"), "{e:?}");
        assert!(e[2].contains("lease_s (30 s) must exceed"), "{e:?}");
        let e = resolve("backend = \"postgres\"").unwrap_err();
        assert!(e[0].contains("storage.url is missing"), "{e:?}");
        let e = resolve("backend = \"sqlite\"").unwrap_err();
        assert!(e[0].contains("unknown variant"), "{e:?}");
    }
}
