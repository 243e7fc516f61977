//! The keyring directory: the active signing key and every public key ever used.
//!
//! ```text
//! <dir>/                mode 0700
//!   active.key          mode 0600, "PRIVATE+KEY+name+hexid+base64(0x01‖seed)"
//!   sm2.key             mode 0600, only once an SM2 key was generated:
//!                       "PRIVATE+KEY+name+hexid+base64(0xff‖"tongban/sm2-sm3"‖d‖ID)"
//!   published           verifier keys of both algorithms, one per line, oldest first; the
//!                       last Ed25519 line is active.key's, the last SM2 line sm2.key's
//! ```
//! One active key per algorithm. The Ed25519 key names the log (its name is the checkpoint
//! origin) and is always there; the SM2 key is optional and, when present, signs every
//! checkpoint beside it. Rotation writes a new key file (created with mode 0600, never
//! widened later), appends its public key to `published`, then atomically renames it over
//! the active file. The old private key is destroyed; its public key stays in `published`
//! forever, so everything it signed keeps verifying. Key files readable by group or others
//! are refused.

use super::note::{parse_key_lines, TrustedKey};
use super::{Cosigner, KeyError, SigningKey, Sm2PublicKey, Sm2SigningKey, VerifierKey, Verifiers};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// File name of the active private key inside the keyring directory.
pub const ACTIVE_FILE: &str = "active.key";
/// File name of the published verifier keys inside the keyring directory.
pub const PUBLISHED_FILE: &str = "published";
/// File name of the active SM2 private key inside the keyring directory.
pub const SM2_FILE: &str = "sm2.key";
/// Temporary name of a new key during rotation (renamed over [`ACTIVE_FILE`]).
const NEW_FILE: &str = "active.key.new";
/// Temporary name of a new SM2 key (renamed over [`SM2_FILE`]).
const NEW_SM2_FILE: &str = "sm2.key.new";

/// Errors from keyring and key-file operations; each says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    /// An I/O error on a named file.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The key file is readable by group or others.
    #[error("{path}: key file mode is {mode:o}; it must not be readable by group or others (chmod 600 it, and consider the key compromised)")]
    Permissions {
        /// The key file.
        path: PathBuf,
        /// Its mode bits.
        mode: u32,
    },
    /// A key text could not be parsed.
    #[error("{path}: {source}")]
    Key {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: KeyError,
    },
    /// `create` on a directory that already has a key.
    #[error("{0}: a keyring already exists here; use `tongban keys rotate` to replace the key")]
    Exists(PathBuf),
    /// `open` on a directory without a key.
    #[error("{0}: no keyring here; create one with `tongban keys generate --name ORIGIN`")]
    Missing(PathBuf),
    /// `published` does not end with the active key.
    #[error("{0}: the active key is not the last published key; restore `published` from backup")]
    Inconsistent(PathBuf),
    /// The SM2 key file and the last published SM2 key disagree, or SM2 keys are published
    /// while the SM2 key file is gone.
    #[error("{0}: sm2.key is not the last published SM2 key (or SM2 keys are published and sm2.key is missing); restore sm2.key and `published` from backup")]
    Sm2Inconsistent(PathBuf),
    /// `keys generate --alg sm2` on a keyring that has an SM2 key already.
    #[error("{0}: the keyring has an SM2 key already; use `tongban keys rotate --alg sm2` to replace it")]
    Sm2Exists(PathBuf),
    /// `keys rotate --alg sm2` on a keyring without an SM2 key.
    #[error("{0}: the keyring has no SM2 key; create one with `tongban keys generate --alg sm2`")]
    Sm2Missing(PathBuf),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> KeyringError + '_ {
    move |source| KeyringError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes a secret key text to a new file, created with mode 0600 (it must not exist yet)
/// and synced.
fn write_secret(path: &Path, text: &str) -> Result<(), KeyringError> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io_err(path))?;
    f.write_all(text.as_bytes()).map_err(io_err(path))?;
    f.write_all(b"\n").map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))
}

/// Reads a secret key file and parses it, refusing one that group or others can read.
fn read_secret<K>(
    path: &Path,
    parse: impl FnOnce(&str) -> Result<K, KeyError>,
) -> Result<K, KeyringError> {
    let f = open_private(path)?;
    let mut text = zeroize::Zeroizing::new(String::new());
    io::Read::read_to_string(&mut &f, &mut text).map_err(io_err(path))?;
    parse(text.trim_end()).map_err(|source| KeyringError::Key {
        path: path.to_owned(),
        source,
    })
}

/// Opens a secret file for reading, refusing one that group or others can read.
pub(crate) fn open_private(path: &Path) -> Result<File, KeyringError> {
    let f = File::open(path).map_err(io_err(path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = f.metadata().map_err(io_err(path))?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyringError::Permissions {
                path: path.to_owned(),
                mode,
            });
        }
    }
    Ok(f)
}

/// Writes a key file, creating it with mode 0600 (it must not exist yet) and syncing it.
pub fn write_key_file(path: &Path, key: &SigningKey) -> Result<(), KeyringError> {
    write_secret(path, &key.to_signer_text())
}

/// Reads a key file, refusing one that group or others can read.
pub fn read_key_file(path: &Path) -> Result<SigningKey, KeyringError> {
    read_secret(path, SigningKey::from_signer_text)
}

/// Writes a witness's cosigning key file (`PRIVATE+KEY+name+hexid+base64(0x04‖seed)`),
/// created with mode 0600.
pub fn write_cosigner_file(path: &Path, key: &Cosigner) -> Result<(), KeyringError> {
    write_secret(path, &key.to_signer_text())
}

/// Reads a witness's cosigning key file, refusing one that group or others can read.
pub fn read_cosigner_file(path: &Path) -> Result<Cosigner, KeyringError> {
    read_secret(path, Cosigner::from_signer_text)
}

/// Reads the published verifier keys of both algorithms of a keyring directory, oldest
/// first (no private key needed).
pub fn read_published(dir: &Path) -> Result<Vec<TrustedKey>, KeyringError> {
    let path = dir.join(PUBLISHED_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(KeyringError::Missing(dir.to_owned()))
        }
        Err(e) => return Err(io_err(&path)(e)),
    };
    parse_key_lines(&text).map_err(|source| KeyringError::Key { path, source })
}

/// The log origin a keyring directory signs as: the name of its newest Ed25519 key.
pub fn read_origin(dir: &Path) -> Result<String, KeyringError> {
    read_published(dir)?
        .iter()
        .rev()
        .find_map(|k| match k {
            TrustedKey::Ed25519(k) => Some(k.name().to_owned()),
            TrustedKey::Sm2(_) => None,
        })
        .ok_or_else(|| KeyringError::Missing(dir.to_owned()))
}

fn sync_dir(dir: &Path) -> Result<(), KeyringError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

fn append_published(dir: &Path, key: &dyn std::fmt::Display) -> Result<(), KeyringError> {
    let path = dir.join(PUBLISHED_FILE);
    let mut f = OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .map_err(io_err(&path))?;
    writeln!(f, "{key}").map_err(io_err(&path))?;
    f.sync_all().map_err(io_err(&path))
}

/// A keyring directory opened for signing.
#[derive(Debug)]
pub struct Keyring {
    dir: PathBuf,
    active: SigningKey,
    sm2: Option<Sm2SigningKey>,
    published: Vec<TrustedKey>,
}

impl Keyring {
    /// Creates a keyring with a fresh key named `name` (the log origin, by convention).
    pub fn create(dir: &Path, name: &str) -> Result<Self, KeyringError> {
        let key = SigningKey::generate(name).map_err(|source| KeyringError::Key {
            path: dir.to_owned(),
            source,
        })?;
        Self::create_with(dir, key)
    }

    /// Creates a keyring holding the given key.
    pub fn create_with(dir: &Path, key: SigningKey) -> Result<Self, KeyringError> {
        if dir.join(ACTIVE_FILE).exists() || dir.join(PUBLISHED_FILE).exists() {
            return Err(KeyringError::Exists(dir.to_owned()));
        }
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(dir).map_err(io_err(dir))?;
        let new = dir.join(NEW_FILE);
        let _ = fs::remove_file(&new);
        write_key_file(&new, &key)?;
        append_published(dir, &key.verifier())?;
        let active = dir.join(ACTIVE_FILE);
        fs::rename(&new, &active).map_err(io_err(&active))?;
        sync_dir(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
            published: vec![TrustedKey::Ed25519(key.verifier())],
            active: key,
            sm2: None,
        })
    }

    /// Opens an existing keyring, checking that the active key is the last one published.
    pub fn open(dir: &Path) -> Result<Self, KeyringError> {
        let path = dir.join(ACTIVE_FILE);
        if !path.exists() {
            return Err(KeyringError::Missing(dir.to_owned()));
        }
        let active = read_key_file(&path)?;
        let published = read_published(dir)?;
        let last_ed25519 = published.iter().rev().find_map(|k| match k {
            TrustedKey::Ed25519(k) => Some(k),
            TrustedKey::Sm2(_) => None,
        });
        if last_ed25519 != Some(&active.verifier()) {
            return Err(KeyringError::Inconsistent(dir.to_owned()));
        }
        let last_sm2 = published.iter().rev().find_map(|k| match k {
            TrustedKey::Sm2(k) => Some(k),
            TrustedKey::Ed25519(_) => None,
        });
        let sm2_path = dir.join(SM2_FILE);
        let sm2 = if sm2_path.exists() {
            Some(read_secret(&sm2_path, Sm2SigningKey::from_signer_text)?)
        } else {
            None
        };
        if sm2.as_ref().map(Sm2SigningKey::public).as_ref() != last_sm2 {
            return Err(KeyringError::Sm2Inconsistent(dir.to_owned()));
        }
        Ok(Self {
            dir: dir.to_owned(),
            active,
            sm2,
            published,
        })
    }

    /// Adds an SM2 key (SM3, distinguishing ID `distid`) named `name`, which from now on
    /// signs every checkpoint beside the Ed25519 key. Returns its public key.
    pub fn add_sm2(&mut self, name: &str, distid: &str) -> Result<Sm2PublicKey, KeyringError> {
        if self.sm2.is_some() || self.dir.join(SM2_FILE).exists() {
            return Err(KeyringError::Sm2Exists(self.dir.clone()));
        }
        let key = Sm2SigningKey::generate(name, distid).map_err(|source| KeyringError::Key {
            path: self.dir.clone(),
            source,
        })?;
        self.install_sm2(key)
    }

    /// Replaces the SM2 key with a fresh one of the same name and distinguishing ID; the old
    /// public key stays published and the old private key is destroyed.
    pub fn rotate_sm2(&mut self) -> Result<Sm2PublicKey, KeyringError> {
        let old = self
            .sm2
            .as_ref()
            .ok_or_else(|| KeyringError::Sm2Missing(self.dir.clone()))?;
        let key =
            Sm2SigningKey::generate(old.name(), old.distinguishing_id()).map_err(|source| {
                KeyringError::Key {
                    path: self.dir.clone(),
                    source,
                }
            })?;
        self.install_sm2(key)
    }

    /// Writes `key` as the SM2 key: new file (0600), published, renamed over `sm2.key`.
    pub fn install_sm2(&mut self, key: Sm2SigningKey) -> Result<Sm2PublicKey, KeyringError> {
        let new = self.dir.join(NEW_SM2_FILE);
        let _ = fs::remove_file(&new);
        write_secret(&new, &key.to_signer_text())?;
        append_published(&self.dir, &key.public())?;
        let active = self.dir.join(SM2_FILE);
        fs::rename(&new, &active).map_err(io_err(&active))?;
        sync_dir(&self.dir)?;
        self.published.push(TrustedKey::Sm2(key.public()));
        let public = key.public();
        self.sm2 = Some(key);
        Ok(public)
    }

    /// The keys that sign a checkpoint, one line each: the Ed25519 key, then the SM2 key when
    /// the keyring has one.
    pub fn checkpoint_signers(&self) -> Vec<&dyn super::NoteSigner> {
        let mut v: Vec<&dyn super::NoteSigner> = vec![&self.active];
        if let Some(k) = &self.sm2 {
            v.push(k);
        }
        v
    }

    /// The SM2 key that signs beside the Ed25519 one, if the keyring has one.
    pub fn sm2(&self) -> Option<&Sm2SigningKey> {
        self.sm2.as_ref()
    }

    /// Replaces the active key with a fresh one of the same name; the old public key stays
    /// published and the old private key is destroyed. Returns the new public key.
    pub fn rotate(&mut self) -> Result<VerifierKey, KeyringError> {
        let key = SigningKey::generate(self.active.name()).map_err(|source| KeyringError::Key {
            path: self.dir.clone(),
            source,
        })?;
        let new = self.dir.join(NEW_FILE);
        let _ = fs::remove_file(&new);
        write_key_file(&new, &key)?;
        append_published(&self.dir, &key.verifier())?;
        let active = self.dir.join(ACTIVE_FILE);
        fs::rename(&new, &active).map_err(io_err(&active))?;
        sync_dir(&self.dir)?;
        self.published.push(TrustedKey::Ed25519(key.verifier()));
        self.active = key;
        Ok(self.active.verifier())
    }

    /// The key that signs now.
    pub fn active(&self) -> &SigningKey {
        &self.active
    }

    /// Every public key this keyring ever used, of both algorithms, oldest first.
    pub fn published(&self) -> &[TrustedKey] {
        &self.published
    }

    /// Every Ed25519 public key this keyring ever used, oldest first.
    pub fn published_ed25519(&self) -> Vec<VerifierKey> {
        self.published
            .iter()
            .filter_map(|k| match k {
                TrustedKey::Ed25519(k) => Some(k.clone()),
                TrustedKey::Sm2(_) => None,
            })
            .collect()
    }

    /// The published keys (both algorithms) as a verifier set.
    pub fn verifiers(&self) -> Verifiers {
        Verifiers::from_keys(self.published.iter().cloned())
    }

    /// The keyring directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_keeps_old_public_keys_published_and_changes_the_id() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("keys");
        let mut ring = Keyring::create(&dir, "t.example/ledger").unwrap();
        let first = ring.active().verifier();
        let second = ring.rotate().unwrap();
        assert_ne!(first.key_id(), second.key_id());
        let again = Keyring::open(&dir).unwrap();
        assert_eq!(again.published_ed25519(), vec![first, second.clone()]);
        assert_eq!(again.active().verifier(), second);
    }

    #[test]
    fn sm2_keys_rotate_like_ed25519_ones_beside_them() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("keys");
        let mut ring = Keyring::create(&dir, "t.example/ledger").unwrap();
        assert!(ring.sm2().is_none());
        assert!(matches!(
            ring.rotate_sm2(),
            Err(KeyringError::Sm2Missing(_))
        ));
        let first = ring
            .add_sm2("t.example/ledger", "1234567812345678")
            .unwrap();
        assert!(matches!(
            ring.add_sm2("t.example/ledger", "1234567812345678"),
            Err(KeyringError::Sm2Exists(_))
        ));
        let ed = ring.rotate().unwrap();
        let second = ring.rotate_sm2().unwrap();
        assert_ne!(first.key_id(), second.key_id());
        assert_eq!(second.distinguishing_id(), "1234567812345678");
        let again = Keyring::open(&dir).unwrap();
        assert_eq!(again.sm2().unwrap().public(), second);
        assert_eq!(again.active().verifier(), ed);
        let algs: Vec<&str> = again
            .published()
            .iter()
            .map(TrustedKey::algorithm)
            .collect();
        assert_eq!(algs, ["ed25519", "sm2", "ed25519", "sm2"]);
        assert_eq!(read_published(&dir).unwrap(), again.published());
        assert_eq!(read_origin(&dir).unwrap(), "t.example/ledger");
        let v = again.verifiers();
        assert_eq!((v.keys().len(), v.sm2_keys().len()), (2, 2));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let path = dir.join(SM2_FILE);
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                Keyring::open(&dir),
                Err(KeyringError::Permissions { .. })
            ));
            fs::remove_file(&path).unwrap();
            assert!(matches!(
                Keyring::open(&dir),
                Err(KeyringError::Sm2Inconsistent(_))
            ));
        }
    }

    #[cfg(unix)]
    #[test]
    fn key_file_is_created_0600_and_a_group_readable_one_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("keys");
        Keyring::create(&dir, "t.example/ledger").unwrap();
        let path = dir.join(ACTIVE_FILE);
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        assert!(matches!(
            Keyring::open(&dir),
            Err(KeyringError::Permissions { .. })
        ));
    }

    #[test]
    fn a_cosigner_key_file_round_trips_0600_and_is_not_a_signing_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("witness.key");
        let w = Cosigner::generate("witness.example/w1").unwrap();
        write_cosigner_file(&path, &w).unwrap();
        assert_eq!(read_cosigner_file(&path).unwrap().public(), w.public());
        assert!(matches!(
            read_key_file(&path),
            Err(KeyringError::Key { .. })
        ));
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            read_cosigner_file(&path),
            Err(KeyringError::Permissions { .. })
        ));
    }

    #[test]
    fn creating_over_an_existing_keyring_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        Keyring::create(tmp.path(), "t.example/ledger").unwrap();
        assert!(matches!(
            Keyring::create(tmp.path(), "t.example/ledger"),
            Err(KeyringError::Exists(_))
        ));
    }
}
