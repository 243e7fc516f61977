//! `tongban keys …`: generate, list, rotate, publish the signing keys. No command prints a
//! private key.

use crate::signing::keyring::{read_published, Keyring, KeyringError};
use clap::Subcommand;
use std::path::Path;

/// Key commands.
#[derive(Debug, Subcommand)]
pub enum KeysCmd {
    /// Create the keyring with a fresh key (name = the log origin, e.g. tongban.example/ledger).
    Generate {
        /// Key name; by convention the ledger's origin.
        #[arg(long)]
        name: String,
    },
    /// List the published keys and which one is active.
    List,
    /// Replace the active key; the old public key stays published.
    Rotate,
    /// Print the published verifier keys (what auditors and partners need).
    Public,
}

/// Runs a key command; returns the exit code.
pub fn run(cmd: KeysCmd, data_dir: &Path) -> Result<super::Outcome, KeyringError> {
    let dir = crate::store::DataDir::new(data_dir).keys();
    match cmd {
        KeysCmd::Generate { name } => {
            let ring = Keyring::create(&dir, &name)?;
            println!("{}", ring.active().verifier());
            eprintln!(
                "created {} (private key in {}, mode 0600; back it up, never commit it)",
                ring.active().key_id_hex(),
                dir.join(crate::signing::keyring::ACTIVE_FILE).display()
            );
        }
        KeysCmd::List => {
            let ring = Keyring::open(&dir)?;
            let active = ring.active().verifier();
            for k in ring.published() {
                let state = if *k == active { "active " } else { "retired" };
                println!("{state} {:08x} {k}", k.key_id());
            }
        }
        KeysCmd::Rotate => {
            let mut ring = Keyring::open(&dir)?;
            let old = ring.active().key_id_hex();
            let new = ring.rotate()?;
            println!("{new}");
            eprintln!(
                "rotated {old} -> {:08x}; {old} stays published",
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
