//! `tongban keys …`: generate, list, rotate, publish the signing keys. No command prints a
//! private key.
//!
//! The keyring holds one active key per algorithm: Ed25519 (always; its name is the log's
//! origin) and SM2 with SM3 (optional, for 密评: once generated it signs every checkpoint
//! beside the Ed25519 key, and can sign RFC 9421 messages to the partners configured for it).

use crate::signing::keyring::{read_published, Keyring, KeyringError};
use crate::signing::sm2::DEFAULT_DISTINGUISHING_ID;
use crate::signing::TrustedKey;
use clap::{Subcommand, ValueEnum};
use std::path::Path;

/// A signature algorithm of the keyring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Alg {
    /// Ed25519 (C2SP signed-note type 0x01): the default, what every signed-note tool verifies.
    Ed25519,
    /// SM2 with SM3 (GM/T 0003, 0004, 0009; signed-note type 0xff "tongban/sm2-sm3").
    Sm2,
}

/// Key commands.
#[derive(Debug, Subcommand)]
pub enum KeysCmd {
    /// Create the keyring with a fresh Ed25519 key (name = the log origin, e.g.
    /// tongban.example/ledger), or add an SM2 key to it (`--alg sm2`).
    Generate {
        /// Key name; by convention the ledger's origin. For `--alg sm2` it defaults to the
        /// Ed25519 key's name (the same name, another key id).
        #[arg(long)]
        name: Option<String>,
        /// Which algorithm.
        #[arg(long, value_enum, default_value = "ed25519")]
        alg: Alg,
        /// SM2 only: the GM/T 0009 distinguishing ID (user ID) that goes into Z_A.
        #[arg(long, default_value = DEFAULT_DISTINGUISHING_ID)]
        distinguishing_id: String,
    },
    /// List the published keys: state, algorithm, key id, key.
    List,
    /// Replace the active key of an algorithm; the old public key stays published.
    Rotate {
        /// Which algorithm's key.
        #[arg(long, value_enum, default_value = "ed25519")]
        alg: Alg,
    },
    /// Print the published verifier keys of both algorithms (what auditors and partners need).
    Public,
}

/// Runs a key command; returns the exit code.
pub fn run(cmd: KeysCmd, data_dir: &Path) -> Result<super::Outcome, KeyringError> {
    let dir = crate::store::DataDir::new(data_dir).keys();
    match cmd {
        KeysCmd::Generate {
            name,
            alg: Alg::Ed25519,
            ..
        } => {
            let name = name.ok_or_else(|| KeyringError::Key {
                path: dir.clone(),
                source: crate::signing::KeyError::Malformed(
                    "--name ORIGIN is required for the Ed25519 key (the log's origin)",
                ),
            })?;
            let ring = Keyring::create(&dir, &name)?;
            println!("{}", ring.active().verifier());
            eprintln!(
                "created ed25519 {} (private key in {}, mode 0600; back it up, never commit it)",
                ring.active().key_id_hex(),
                dir.join(crate::signing::keyring::ACTIVE_FILE).display()
            );
        }
        KeysCmd::Generate {
            name,
            alg: Alg::Sm2,
            distinguishing_id,
        } => {
            let mut ring = Keyring::open(&dir)?;
            let name = name.unwrap_or_else(|| ring.active().name().to_owned());
            let key = ring.add_sm2(&name, &distinguishing_id)?;
            println!("{key}");
            eprintln!(
                "created sm2 {:08x} with distinguishing ID {:?} (private key in {}, mode 0600; back it up, never commit it); every checkpoint is now signed by both keys",
                key.key_id(),
                key.distinguishing_id(),
                dir.join(crate::signing::keyring::SM2_FILE).display()
            );
        }
        KeysCmd::List => {
            let ring = Keyring::open(&dir)?;
            let active = ring.active().verifier();
            let sm2 = ring.sm2().map(|k| k.public());
            for k in ring.published() {
                let is_active = match k {
                    TrustedKey::Ed25519(k) => *k == active,
                    TrustedKey::Sm2(k) => Some(k) == sm2.as_ref(),
                };
                let state = if is_active { "active " } else { "retired" };
                println!("{state} {:<7} {:08x} {k}", k.algorithm(), k.key_id());
            }
        }
        KeysCmd::Rotate { alg } => {
            let mut ring = Keyring::open(&dir)?;
            let (old, new) = match alg {
                Alg::Ed25519 => {
                    let old = ring.active().key_id_hex();
                    (old, TrustedKey::Ed25519(ring.rotate()?))
                }
                Alg::Sm2 => {
                    let old = ring.sm2().map(|k| k.key_id_hex()).unwrap_or_default();
                    (old, TrustedKey::Sm2(ring.rotate_sm2()?))
                }
            };
            println!("{new}");
            eprintln!(
                "rotated {} {old} -> {:08x}; {old} stays published",
                new.algorithm(),
                new.key_id()
            );
        }
        KeysCmd::Public => {
            for k in read_published(&dir)? {
                println!("{k}");
            }
        }
    }
    Ok(super::Outcome::Success)
}
