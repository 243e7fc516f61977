//! Connections to the database: the URL, TLS verified against the operator's CA, and the
//! pool every part of the store draws from.

use std::time::Duration;

use deadpool_postgres::{Hook, HookError, Manager, Pool, Runtime};
use tokio_postgres::config::SslMode;

use super::{PgConfig, PgError};

/// How long making one connection (TCP, TLS, authentication) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a caller waits for a free connection of the pool before failing.
const WAIT_TIMEOUT: Duration = Duration::from_secs(30);
/// TCP keepalive idle time: a connection to a database that vanished (a network partition)
/// fails within about a minute instead of hanging for the system default of two hours.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);

/// Every session: commits are durable on the server's disk when they return, whatever the
/// server's default (the gateway acknowledges applications on that promise).
const SESSION_SETUP: &str = "SET synchronous_commit = on";

/// The parsed URL, with the settings the store relies on.
pub(crate) fn pg_config(config: &PgConfig) -> Result<tokio_postgres::Config, PgError> {
    let mut pg: tokio_postgres::Config = config
        .url
        .parse()
        .map_err(|e| PgError::Url(format!("{}: {e}", redact(&config.url))))?;
    if pg.get_application_name().is_none() {
        pg.application_name("tongban");
    }
    if pg.get_connect_timeout().is_none() {
        pg.connect_timeout(CONNECT_TIMEOUT);
    }
    pg.keepalives(true).keepalives_idle(KEEPALIVE_IDLE);
    if config.ca.is_some() {
        // With a CA given, never fall back to a connection in the clear.
        pg.ssl_mode(SslMode::Require);
    }
    Ok(pg)
}

/// The TLS client configuration verifying the server against `config.ca` (ring provider,
/// as everywhere in tongban).
fn tls(config: &PgConfig) -> Result<Option<tokio_postgres_rustls::MakeRustlsConnect>, PgError> {
    let Some(path) = &config.ca else {
        return Ok(None);
    };
    let failed = |reason: String| PgError::Ca {
        path: path.display().to_string(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| failed(e.to_string()))?;
    let certs = crate::gateway::transport::tls::certs_from_pem(&pem, &path.display().to_string())
        .map_err(|e| failed(e.to_string()))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in certs {
        roots.add(cert).map_err(|e| failed(e.to_string()))?;
    }
    let client =
        rustls::ClientConfig::builder_with_provider(crate::gateway::transport::tls::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| failed(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(Some(tokio_postgres_rustls::MakeRustlsConnect::new(client)))
}

/// The pool (no connection is made yet).
pub(crate) fn pool(config: &PgConfig) -> Result<Pool, PgError> {
    if config.pool_size < 2 {
        return Err(PgError::Url(format!(
            "pool size {} is too small: a batch holds one connection while the ledger reads \
             through another; give at least 2",
            config.pool_size
        )));
    }
    let pg = pg_config(config)?;
    let manager = match tls(config)? {
        Some(tls) => Manager::new(pg, tls),
        None => Manager::new(pg, tokio_postgres::NoTls),
    };
    Pool::builder(manager)
        .max_size(config.pool_size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(WAIT_TIMEOUT))
        .create_timeout(Some(CONNECT_TIMEOUT + Duration::from_secs(1)))
        .recycle_timeout(Some(CONNECT_TIMEOUT))
        .post_create(Hook::async_fn(|client, _| {
            Box::pin(async move {
                client
                    .batch_execute(SESSION_SETUP)
                    .await
                    .map_err(HookError::Backend)
            })
        }))
        .build()
        .map_err(|e| PgError::Url(e.to_string()))
}

/// A connection URL fit to print: the password, if any, replaced by `****`.
pub fn redact(url: &str) -> String {
    // URL form: scheme://user:password@host…
    if let Some((scheme, rest)) = url.split_once("://") {
        let (authority, tail) = match rest.find(['/', '?']) {
            Some(at) => rest.split_at(at),
            None => (rest, ""),
        };
        if let Some((userinfo, host)) = authority.rsplit_once('@') {
            if let Some((user, _)) = userinfo.split_once(':') {
                return format!("{scheme}://{user}:****@{host}{tail}");
            }
        }
        return url.to_owned();
    }
    // Key-value form: … password=secret …
    url.split_whitespace()
        .map(|kv| match kv.split_once('=') {
            Some(("password", _)) => "password=****".to_owned(),
            _ => kv.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A database error as PostgreSQL words it (message and SQLSTATE), else the client's error
/// with its cause.
pub(crate) fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{} (SQLSTATE {})", db.message(), db.code().code());
    }
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

/// A pool error in words.
pub(crate) fn describe_pool(e: &deadpool_postgres::PoolError) -> String {
    match e {
        deadpool_postgres::PoolError::Backend(e) => describe(e),
        deadpool_postgres::PoolError::Timeout(t) => format!(
            "timed out {} a connection",
            match t {
                deadpool_postgres::TimeoutType::Wait => "waiting for",
                deadpool_postgres::TimeoutType::Create => "making",
                deadpool_postgres::TimeoutType::Recycle => "checking",
            }
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{pg_config, redact, tls};
    use crate::store::postgres::{PgConfig, PgError};

    #[test]
    fn a_ca_given_means_tls_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let missing = PgConfig {
            ca: Some(dir.path().join("db-ca.pem")),
            ..PgConfig::new("postgres://tb@db.example/tongban?sslmode=prefer")
        };
        assert!(matches!(tls(&missing), Err(PgError::Ca { .. })));
        std::fs::write(dir.path().join("db-ca.pem"), "not a certificate").unwrap();
        let err = tls(&missing).err().expect("refused");
        assert!(err.to_string().contains("db-ca.pem"), "{err}");
        // Never a fall-back to a connection in the clear, whatever the URL says.
        assert_eq!(
            pg_config(&missing).unwrap().get_ssl_mode(),
            tokio_postgres::config::SslMode::Require
        );
    }

    #[test]
    fn passwords_never_reach_a_message() {
        assert_eq!(
            redact("postgres://tb:s3cret@db.example:5432/tongban?sslmode=require"),
            "postgres://tb:****@db.example:5432/tongban?sslmode=require"
        );
        assert_eq!(
            redact("postgresql://tb@db.example/tongban"),
            "postgresql://tb@db.example/tongban"
        );
        assert_eq!(
            redact("host=db.example user=tb password=s3cret dbname=tongban"),
            "host=db.example user=tb password=**** dbname=tongban"
        );
    }
}
