//! A C2SP `tlog-witness`: it cosigns a log's checkpoints (C2SP `tlog-cosignature`,
//! cosignature/v1 with Ed25519) only when they are consistent with the checkpoint it cosigned
//! before, so that a log cannot show different histories to different readers without a
//! witness noticing. Each province's platform (or its audit office) runs one against the
//! gateway's ledger; `tongban witness serve --config witness.toml` runs it.
//!
//! - [`protocol`] (pure) — the add-checkpoint body, the checks in the spec's order and their
//!   statuses (400, 403, 404, 409 with `text/x.tlog.size`, 422), the cosigned note.
//! - [`state`] (I/O) — per log, the latest cosigned checkpoint, stored durably and atomically
//!   under one lock per log before any answer; the evidence of refused inconsistent
//!   checkpoints.
//! - [`config`] — `witness.toml`, resolved with every problem reported at once.
//! - [`server`] — [`Witness`] (check, cosign, store, answer) and [`start`]: the HTTPS
//!   listener (mutual TLS when configured), embeddable in-process.
//!
//! # Use in-process
//! ```no_run
//! # async fn demo(config: tongban::witness::WitnessConfig) -> Result<(), tongban::witness::WitnessError> {
//! use tongban::witness;
//! if !config.key_file.exists() {
//!     witness::generate_key(&config.key_file, &config.name)?; // 0600, once
//! }
//! let running = witness::start(&config).await?;              // key, state, lock, bind
//! let addr = running.local_addr();                            // config.listen may be port 0
//! let public = running.public_key();                          // name+hexid+base64(0x04‖key)
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let task = running.spawn(async move { let _ = stopped.await; });
//! # let _ = (addr, public); drop(stop); task.await.ok();
//! # Ok(()) }
//! ```

pub mod config;
pub mod protocol;
pub mod server;
pub mod state;

use std::path::{Path, PathBuf};

pub use config::{WitnessConfig, WitnessedLog};
pub use server::{start, Answer, Running, Witness};

use crate::gateway::transport::tls::TlsError;
use crate::signing::keyring::{read_cosigner_file, write_cosigner_file, KeyringError};
use crate::signing::{Cosigner, CosignerKey, KeyError};

/// Why a witness cannot start, or its key cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    /// No key file yet.
    #[error("{0}: the witness's key file does not exist; create it with `tongban witness keygen --config <witness.toml>`")]
    KeyMissing(PathBuf),
    /// `keygen` over an existing key.
    #[error("{0}: a witness key already exists here; it is kept (logs and auditors know its public key: `tongban witness public --config <witness.toml>`)")]
    KeyExists(PathBuf),
    /// The key file's name is not the configured one.
    #[error("{path}: the key is named {key_name:?} but the configuration's name is {configured:?}; cosignatures carry the key's name, so they must agree")]
    NameMismatch {
        /// The key file.
        path: PathBuf,
        /// The name in the key file.
        key_name: String,
        /// The configured name.
        configured: String,
    },
    /// The configured name is not a key name.
    #[error("name: {0}")]
    Name(#[from] KeyError),
    /// Reading or writing the key file failed.
    #[error(transparent)]
    Key(#[from] KeyringError),
    /// The state directory.
    #[error(transparent)]
    State(#[from] state::StateError),
    /// The TLS configuration.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The listener could not be bound.
    #[error("listen: cannot bind {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The error.
        source: std::io::Error,
    },
}

/// Creates the witness's cosigning key file (mode 0600; its directory 0700 if created) with a
/// fresh key named `name`; refuses to replace an existing one. Returns the public key.
pub fn generate_key(path: &Path, name: &str) -> Result<CosignerKey, WitnessError> {
    if path.exists() {
        return Err(WitnessError::KeyExists(path.to_owned()));
    }
    let key = Cosigner::generate(name)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt as _;
            b.mode(0o700);
        }
        b.create(dir).map_err(|source| KeyringError::Io {
            path: dir.to_owned(),
            source,
        })?;
    }
    write_cosigner_file(path, &key)?;
    Ok(key.public())
}

/// Reads the witness's key file, checking that the key bears the configured name.
pub fn load_key(path: &Path, name: &str) -> Result<Cosigner, WitnessError> {
    if !path.exists() {
        return Err(WitnessError::KeyMissing(path.to_owned()));
    }
    let key = read_cosigner_file(path)?;
    if key.name() != name {
        return Err(WitnessError::NameMismatch {
            path: path.to_owned(),
            key_name: key.name().to_owned(),
            configured: name.to_owned(),
        });
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_made_once_and_read_back_under_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("witness.key");
        let public = generate_key(&path, "witness.example/w1").unwrap();
        assert_eq!(
            load_key(&path, "witness.example/w1").unwrap().public(),
            public
        );
        assert!(matches!(
            generate_key(&path, "witness.example/w1"),
            Err(WitnessError::KeyExists(_))
        ));
        assert!(matches!(
            load_key(&path, "witness.example/w2"),
            Err(WitnessError::NameMismatch { .. })
        ));
        assert!(matches!(
            load_key(&dir.path().join("none"), "w"),
            Err(WitnessError::KeyMissing(_))
        ));
        assert!(matches!(
            generate_key(&dir.path().join("k"), "bad name"),
            Err(WitnessError::Name(_))
        ));
    }
}
