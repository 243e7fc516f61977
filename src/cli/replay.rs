//! `tongban audit replay BUNDLE`: verify the bundle as `audit verify` does, then re-run every
//! translation its entries record on the documents beside it ([`crate::replay`]).

use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;

use crate::ledger::bundle::{self, Report as Verified};
use crate::ledger::log::split_bundle;
use crate::ledger::{Entry, Step};
use crate::replay::{self, Report as Replay};

use super::documents::{DocumentDir, DOCUMENTS_DIR};
use super::verifying::{print_report, progress, AuditCliError, TrustArgs};
use super::Outcome;

/// `audit replay`'s arguments.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The bundle directory.
    pub bundle: PathBuf,
    /// The exact documents, each named by its lowercase hex SHA-256 (default: BUNDLE/documents,
    /// as `audit export --with-documents` writes them). They hold personal data.
    #[arg(long)]
    pub documents: Option<PathBuf>,
    /// What the auditor trusts.
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The JSON report: the bundle's verification, then the replay (absent when the bundle does
/// not verify: nothing is replayed from entries the checkpoint does not prove).
#[derive(Serialize)]
struct JsonReport<'a> {
    ok: bool,
    verification: &'a Verified,
    replay: Option<&'a Replay>,
}

/// The entries of a verified bundle (well framed, as verification found), with their indexes.
fn entries(files: &bundle::BundleFiles, first: u64) -> Vec<(u64, Entry)> {
    let framed = files.entries.as_deref().unwrap_or_default();
    (first..)
        .zip(split_bundle(framed).unwrap_or_default())
        .filter_map(|(index, bytes)| Entry::decode(bytes).ok().map(|e| (index, e)))
        .collect()
}

/// Runs `audit replay`: exit 0 when the bundle verifies and every translation replays.
pub fn run(args: ReplayArgs) -> Result<Outcome, AuditCliError> {
    let opts = args.trust.verify_options()?;
    let docs = args
        .documents
        .unwrap_or_else(|| args.bundle.join(DOCUMENTS_DIR));
    let files = bundle::load_ledger(&args.bundle)?;
    if !docs.is_dir() {
        return Err(AuditCliError::Io {
            path: docs,
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no documents to replay: export the bundle with --with-documents, or name their directory with --documents",
            ),
        });
    }
    let verified = bundle::verify(&files, &opts, progress("verified"));
    let replayed = verified.ok().then(|| {
        replay::replay(
            &entries(&files, verified.first),
            &DocumentDir(docs.clone()),
            progress("replayed"),
        )
    });
    let ok = verified.ok() && replayed.as_ref().is_some_and(Replay::ok);
    if args.json {
        let report = JsonReport {
            ok,
            verification: &verified,
            replay: replayed.as_ref(),
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("report serializes")
        );
    } else {
        match &replayed {
            None => {
                print_report(&verified);
                println!("nothing replayed: the bundle does not verify");
            }
            Some(r) => print_replay(&verified, r, &docs),
        }
    }
    Ok(if ok {
        Outcome::Success
    } else {
        Outcome::Invalid
    })
}

fn print_replay(v: &Verified, r: &Replay, docs: &Path) {
    for f in &r.failures {
        let kind = serde_json::to_value(f.kind).expect("kind serializes");
        println!(
            "FAIL [{}]: {}",
            kind.as_str().unwrap_or_default(),
            f.message
        );
    }
    for n in &v.notes {
        println!("note: {n}");
    }
    let count = |step| r.replayed.iter().filter(|e| e.step == step).count();
    println!(
        "{}: log {} size {} root {}; entries {}..{} verified; {} of {} translations replayed with {} ({} forwarded, {} delivered) from {}; {} failures",
        if r.ok() { "OK" } else { "FAILED" },
        v.origin,
        v.tree_size,
        v.root,
        v.first,
        v.end,
        r.replayed.len(),
        r.translations,
        r.mapping_version,
        count(Step::Forwarded),
        count(Step::Delivered),
        docs.display(),
        r.failures.len()
    );
}
