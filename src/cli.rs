//! The `tongban` command line: flags parsed in one place, each subcommand a call into the
//! library. `main.rs` maps the [`Outcome`] to an exit code.

pub mod audit;
pub mod documents;
pub mod keys;
pub mod replay;
mod serve;
pub mod store;
mod translate;
pub mod verifying;
pub mod web;
pub mod witness;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::model::Lang;
use crate::platform::Platform;
use crate::store::DataDir;

/// tongban (通办): the Yangtze River Delta cross-province licensing gateway.
#[derive(Debug, Parser)]
#[command(name = "tongban", version, about)]
pub struct Cli {
    /// Data directory: ledger database, keyring, stored documents.
    #[arg(long, global = true, default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// Language of the problems printed: zh or en; by default the locale's (`LC_ALL`,
    /// `LC_MESSAGES`, `LANG`: zh_* is zh, anything else en).
    #[arg(long, global = true, value_parser = parse_lang)]
    pub lang: Option<Lang>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Translate an application or decision between the platforms' formats (stdout).
    Translate {
        /// Format of the input: zj (Zhejiang JSON) or sh (Shanghai XML).
        #[arg(long, value_parser = parse_platform)]
        from: Platform,
        /// Format of the output.
        #[arg(long, value_parser = parse_platform)]
        to: Platform,
        /// The document; standard input when absent.
        file: Option<PathBuf>,
    },
    /// Check a document; prints one `path: message` line per problem on stderr (in `--lang`).
    Validate {
        /// Format of the document: zj or sh.
        #[arg(long, value_parser = parse_platform)]
        format: Platform,
        /// The document; standard input when absent.
        file: Option<PathBuf>,
    },
    /// Run the gateway (mutual TLS for partners, operator endpoints, outbox).
    Serve(serve::ServeArgs),
    /// Run a stand-in partner platform (dev PKI from `tongban demo`).
    Sandbox(serve::SandboxArgs),
    /// Generate a dev PKI, start gateway and both sandboxes on loopback, send the sample.
    Demo(serve::DemoArgs),
    /// Export, verify and replay audit bundles of the ledger.
    Audit {
        /// The gateway's configuration file: its data directory and `[storage]` (PostgreSQL
        /// or the embedded store) instead of `--data-dir`.
        #[arg(long, global = true, value_name = "FILE")]
        config: Option<PathBuf>,
        /// What to do.
        #[command(subcommand)]
        command: audit::AuditCmd,
    },
    /// Check a store's records against its ledger, migrate (an earlier version's data
    /// directory, or a PostgreSQL database's schema), or copy a whole store between the
    /// embedded store and PostgreSQL. `store` is the same command.
    #[command(alias = "store")]
    Storage {
        /// The gateway's configuration file: its data directory and `[storage]` (PostgreSQL
        /// or the embedded store) instead of `--data-dir`.
        #[arg(long, global = true, value_name = "FILE")]
        config: Option<PathBuf>,
        /// What to do.
        #[command(subcommand)]
        command: store::StoreCmd,
    },
    /// Manage the gateway's signing keys.
    Keys {
        /// What to do.
        #[command(subcommand)]
        command: keys::KeysCmd,
    },
    /// The window clerks' page: hash a clerk's password for the configuration.
    Web {
        /// What to do.
        #[command(subcommand)]
        command: web::WebCmd,
    },
    /// A C2SP tlog-witness: run it, make its key, print its public key.
    Witness {
        /// What to do.
        #[command(subcommand)]
        command: witness::WitnessCmd,
    },
}

/// Where the gateway keeps its ledger, keys and documents unless told otherwise.
pub const DEFAULT_DATA_DIR: &str = "./data";

/// The data directory and storage a command works on: those of the gateway's configuration
/// file when one is given, else `data_dir` with the embedded store in it.
fn data_dir(data_dir: &std::path::Path, config: Option<PathBuf>) -> Result<DataDir, Error> {
    let Some(path) = config else {
        return Ok(DataDir::new(data_dir));
    };
    let config = crate::gateway::config::Config::load(&path)
        .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
    Ok(DataDir::with_storage(config.data_dir, config.storage))
}

fn parse_platform(s: &str) -> Result<Platform, String> {
    s.parse()
}

fn parse_lang(s: &str) -> Result<Lang, String> {
    s.parse()
}

/// The language the locale asks for: the first of `LC_ALL`, `LC_MESSAGES` and `LANG` that
/// is set and not empty, as POSIX orders them; `zh_*` is Chinese, anything else (and none)
/// English.
pub fn locale_lang(get: impl Fn(&str) -> Option<String>) -> Lang {
    ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .filter_map(|name| get(name))
        .find(|v| !v.is_empty())
        .map_or(Lang::En, |v| Lang::from_locale(&v))
}

/// How a command ended, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done (exit 0).
    Success,
    /// The input was checked and found wrong; the problems were printed (exit 1).
    Invalid,
}

/// A command that could not run (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading input or writing output failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being read or written.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The arguments do not fit together.
    #[error("{0}")]
    Usage(String),
    /// The configuration has problems (exit 64, as `EX_CONFIG`-style tools do); all listed.
    #[error("{0}")]
    Config(String),
    /// An audit command could not run.
    #[error(transparent)]
    Audit(#[from] verifying::AuditCliError),
    /// A keys command could not run.
    #[error(transparent)]
    Keys(#[from] crate::signing::KeyringError),
    /// A store command could not run.
    #[error(transparent)]
    Store(#[from] store::StoreCliError),
}

/// Runs one command.
pub fn run(cli: Cli) -> Result<Outcome, Error> {
    let lang = cli
        .lang
        .unwrap_or_else(|| locale_lang(|name| std::env::var(name).ok()));
    match cli.command {
        Command::Translate { from, to, file } => {
            translate::translate(from, to, file.as_deref(), lang)
        }
        Command::Validate { format, file } => translate::validate(format, file.as_deref(), lang),
        Command::Serve(args) => serve::serve(args),
        Command::Sandbox(args) => serve::sandbox(args, &cli.data_dir),
        Command::Demo(args) => serve::demo(args, &cli.data_dir),
        Command::Audit { command, config } => {
            Ok(audit::run(command, &data_dir(&cli.data_dir, config)?)?)
        }
        Command::Keys { command } => Ok(keys::run(command, &cli.data_dir)?),
        Command::Storage { command, config } => {
            Ok(store::run(command, &data_dir(&cli.data_dir, config)?)?)
        }
        Command::Web { command } => web::run(command),
        Command::Witness { command } => witness::run(command),
    }
}
