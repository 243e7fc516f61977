//! The `tongban` binary: parse flags, run, map the result to an exit code.

use std::process::ExitCode;

use clap::Parser;
use tongban::cli::{self, Cli, Outcome};

fn main() -> ExitCode {
    match cli::run(Cli::parse()) {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Invalid) => ExitCode::from(1),
        Err(e) => {
            eprintln!("tongban: {e}");
            // 64 (EX_USAGE) for a bad configuration, as sysexits(3) and linkerd do.
            let code = if matches!(e, cli::Error::Config(_)) {
                64
            } else {
                2
            };
            ExitCode::from(code)
        }
    }
}
