//! `tongban witness …`: run a C2SP tlog-witness, create its cosigning key, print its public key.
//! No command prints a private key.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::serve::{logging, runtime, stop_signal};
use super::{Error, Outcome};
use crate::witness::config::{WitnessConfig, WitnessFile};
use crate::witness::{self, WitnessError};

/// Witness commands.
#[derive(Debug, Subcommand)]
pub enum WitnessCmd {
    /// Run the witness (every configuration problem is reported before any port is bound).
    Serve(ServeArgs),
    /// Create the witness's cosigning key (mode 0600) at the configuration's `key_file` and
    /// print its public key; an existing key is never replaced.
    Keygen {
        /// The witness's configuration file (TOML).
        #[arg(long, default_value = "witness.toml")]
        config: PathBuf,
    },
    /// Print the witness's public key, `name+hexid+base64(0x04‖key)`: what logs and auditors
    /// configure to check its cosignatures.
    Public {
        /// The witness's configuration file (TOML).
        #[arg(long, default_value = "witness.toml")]
        config: PathBuf,
    },
}

/// `tongban witness serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The witness's configuration file (TOML).
    #[arg(long, default_value = "witness.toml")]
    pub config: PathBuf,
    /// For crash tests only: after N checkpoints stored from the start, the process sends
    /// itself SIGKILL between storing the N-th and answering it (see
    /// `witness::Running::sigkill_after_stores`).
    #[arg(long, hide = true, value_name = "N")]
    pub sigkill_after_stores: Option<u64>,
}

fn usage(e: WitnessError) -> Error {
    Error::Usage(e.to_string())
}

/// Runs a witness command.
pub fn run(cmd: WitnessCmd) -> Result<Outcome, Error> {
    match cmd {
        WitnessCmd::Serve(args) => serve(args),
        WitnessCmd::Keygen { config } => {
            let (file, base) =
                WitnessFile::load(&config).map_err(|e| Error::Config(e.to_string()))?;
            let name = file
                .checked_name()
                .map_err(|e| Error::Config(e.to_string()))?;
            let path = file.key_path(&base);
            let public = witness::generate_key(&path, name).map_err(usage)?;
            println!("{public}");
            eprintln!(
                "created the witness key {:08x} in {} (mode 0600; back it up, never commit it)",
                public.key_id(),
                path.display()
            );
            Ok(Outcome::Success)
        }
        WitnessCmd::Public { config } => {
            let (file, base) =
                WitnessFile::load(&config).map_err(|e| Error::Config(e.to_string()))?;
            let name = file
                .checked_name()
                .map_err(|e| Error::Config(e.to_string()))?;
            let key = witness::load_key(&file.key_path(&base), name).map_err(usage)?;
            println!("{}", key.public());
            Ok(Outcome::Success)
        }
    }
}

fn serve(args: ServeArgs) -> Result<Outcome, Error> {
    let config = WitnessConfig::load(&args.config).map_err(|e| Error::Config(e.to_string()))?;
    logging();
    runtime()?.block_on(async {
        let mut running = witness::start(&config).await.map_err(usage)?;
        if let Some(n) = args.sigkill_after_stores {
            running = running.sigkill_after_stores(n);
        }
        running.run(stop_signal()).await;
        Ok(Outcome::Success)
    })
}
