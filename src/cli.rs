//! The `tongban` command line: a thin clap layer over the library. Command logic lives in
//! [`audit`] and [`keys`]; this file only parses and dispatches.

pub mod audit;
pub mod keys;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: verification found failures.
pub const EXIT_FAILURES: u8 = 1;
/// Exit code: usage, configuration or I/O error.
pub const EXIT_ERROR: u8 = 2;

/// tongban: the cross-province licensing gateway.
#[derive(Debug, Parser)]
#[command(name = "tongban", version, about)]
pub struct Cli {
    /// Data directory (ledger database, keyring).
    #[arg(long, global = true, default_value = "./data")]
    pub data_dir: PathBuf,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Export and verify audit bundles of the ledger.
    #[command(subcommand)]
    Audit(audit::AuditCmd),
    /// Manage the gateway's signing keys.
    #[command(subcommand)]
    Keys(keys::KeysCmd),
}

/// Runs a parsed command line; errors are printed here and mapped to exit codes.
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Audit(cmd) => audit::run(cmd, &cli.data_dir).map_err(|e| e.to_string()),
        Command::Keys(cmd) => keys::run(cmd, &cli.data_dir).map_err(|e| e.to_string()),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("tongban: {e}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}
