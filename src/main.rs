//! The `tongban` binary: parse the command line, run it, map the outcome to an exit code.
#![forbid(unsafe_code)]

use clap::Parser as _;

fn main() -> std::process::ExitCode {
    tongban::cli::run(tongban::cli::Cli::parse())
}
