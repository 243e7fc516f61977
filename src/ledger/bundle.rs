//! Audit bundles: a directory an auditor can open with ordinary tools and check offline.
//!
//! ```text
//! bundle/
//!   manifest.json   format, origin, tree size, entry range, range proof, consistency proofs
//!   checkpoint      the signed checkpoint (C2SP signed note) the bundle is checked against
//!   keys            every published verifier key, one per line (name+hexid+base64)
//!   entries         entries [first, end): each a u16 big-endian length then the entry bytes
//!   leaves          the leaf hashes the log recorded for them, 32 bytes each
//!   history/        older signed checkpoints (one note per file, named by sequence number)
//!   proofs.jsonl    optional: one RFC 6962 inclusion proof per entry (transparency-dev JSON)
//!   documents/      optional: exact documents, each named by its lowercase hex SHA-256
//! ```
//! Verification ([`verify`]) is pure over [`BundleFiles`]; [`load`] and [`export`] do the file
//! I/O. `documents/` is written beside the bundle by `audit export --with-documents` from the
//! gateway's store (`crate::cli::documents`), not by [`export`], which knows only the log.
//! Every failure is collected (never just the first), each naming the entry it concerns.

use super::checkpoint::{Checkpoint, SignedCheckpoint};
use super::entry::Entry;
use super::log::{Log, LogError};
use super::merkle::{self, Hash};
use super::LedgerStore;
use crate::signing::cosignature::{self, Cosigned};
use crate::signing::{CosignerKey, NoteSignature, VerifierKey, Verifiers};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{self, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// The manifest `format` value this code writes and reads.
pub const FORMAT: &str = "tongban-audit-bundle/1";

/// Above this many entries, progress is shown on stderr even when it is not a terminal
/// (a million entries take seconds; silence that long looks like a hang).
pub const PROGRESS_THRESHOLD: u64 = 100_000;

/// Errors from export and from reading a bundle directory.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// File I/O failed.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// The log could not be read.
    #[error(transparent)]
    Log(#[from] LogError),
    /// The log has no signed checkpoint yet (export needs one).
    #[error(
        "the log has no signed checkpoint yet; sign one first (export does it unless --no-sign)"
    )]
    NoCheckpoint,
    /// The requested range is empty or beyond the signed checkpoint.
    #[error("range {first}..{end} is not within the signed checkpoint of size {size}")]
    Range {
        /// First entry.
        first: u64,
        /// End (exclusive).
        end: u64,
        /// Checkpoint size.
        size: u64,
    },
    /// The output directory exists and is not empty.
    #[error("{0}: output directory exists and is not empty")]
    OutputExists(PathBuf),
    /// manifest.json is unreadable.
    #[error("manifest.json: {0}")]
    Manifest(String),
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> BundleError + '_ {
    move |source| BundleError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A consistency proof from an older size to the bundle's tree size.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ConsistencyItem {
    /// The older tree size.
    pub from_size: u64,
    /// RFC 6962 consistency proof, base64 hashes.
    pub proof: Vec<String>,
}

/// `manifest.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// Log origin.
    pub origin: String,
    /// Tree size of `checkpoint`.
    pub tree_size: u64,
    /// Index of the first entry in `entries`.
    pub first: u64,
    /// One past the last entry.
    pub end: u64,
    /// Hashes of the subtrees outside `[first, end)` needed to rebuild the root, in the
    /// left-to-right order of the RFC 6962 recursion (see `docs/auditing.md`).
    pub range_proof: Vec<String>,
    /// Consistency proofs to `tree_size` from older sizes.
    pub consistency: Vec<ConsistencyItem>,
}

/// What export wrote.
#[derive(Clone, Debug)]
pub struct ExportSummary {
    /// Entries written.
    pub entries: Range<u64>,
    /// Tree size of the bundle's checkpoint.
    pub tree_size: u64,
    /// Older checkpoints included.
    pub history: usize,
}

/// What to export.
#[derive(Clone, Debug, Default)]
pub struct ExportOptions {
    /// Entries to include; all up to the checkpoint if `None`.
    pub range: Option<Range<u64>>,
    /// Extra older sizes to include consistency proofs from (e.g. an auditor's last size).
    pub consistency_from: Vec<u64>,
    /// Leave out older signed checkpoints.
    pub no_history: bool,
    /// Write `proofs.jsonl` (one inclusion proof per entry, for independent verifiers).
    pub inclusion_proofs: bool,
}

fn b64s(hs: &[Hash]) -> Vec<String> {
    hs.iter().map(|h| B64.encode(h)).collect()
}

/// The range proof for `[a, b)` in a tree of `n`: hashes of the maximal subtrees outside the
/// range, left to right.
pub fn range_proof<S: LedgerStore>(
    log: &Log<S>,
    a: u64,
    b: u64,
    n: u64,
) -> Result<Vec<Hash>, LogError> {
    fn rec<S: LedgerStore>(
        log: &Log<S>,
        lo: u64,
        hi: u64,
        a: u64,
        b: u64,
        out: &mut Vec<Hash>,
    ) -> Result<(), LogError> {
        if hi <= a || lo >= b {
            out.push(log.range_hash(lo, hi)?);
        } else if !(a <= lo && hi <= b) {
            let k = merkle::split_point(hi - lo);
            rec(log, lo, lo + k, a, b, out)?;
            rec(log, lo + k, hi, a, b, out)?;
        }
        Ok(())
    }
    let mut out = Vec::new();
    if n > 0 {
        rec(log, 0, n, a, b, &mut out)?;
    }
    Ok(out)
}

/// Rebuilds the root of a tree of `n` leaves from the leaf hashes of `[a, b)` and a range
/// proof. `None` if the proof has too few or too many hashes.
pub fn root_from_range(leaves: &[Hash], a: u64, n: u64, proof: &[Hash]) -> Option<Hash> {
    let b = a + leaves.len() as u64;
    fn rec(
        leaves: &[Hash],
        lo: u64,
        hi: u64,
        a: u64,
        b: u64,
        proof: &mut std::slice::Iter<'_, Hash>,
    ) -> Option<Hash> {
        if hi <= a || lo >= b {
            proof.next().copied()
        } else if a <= lo && hi <= b {
            Some(merkle::root_from_leaves(
                &leaves[(lo - a) as usize..(hi - a) as usize],
            ))
        } else {
            let k = merkle::split_point(hi - lo);
            let l = rec(leaves, lo, lo + k, a, b, proof)?;
            let r = rec(leaves, lo + k, hi, a, b, proof)?;
            Some(merkle::node_hash(&l, &r))
        }
    }
    if n == 0 {
        return (leaves.is_empty() && proof.is_empty()).then(merkle::empty_root);
    }
    if b > n || (leaves.is_empty() && a >= n) {
        return None;
    }
    let mut it = proof.iter();
    let root = rec(leaves, 0, n, a, b, &mut it)?;
    it.next().is_none().then_some(root)
}

fn write_file(path: &Path, data: &[u8]) -> Result<(), BundleError> {
    fs::write(path, data).map_err(io_at(path))
}

/// Writes a bundle of `log` (against its last signed checkpoint) into the new directory `out`.
pub fn export<S: LedgerStore, K: std::fmt::Display>(
    log: &Log<S>,
    keys: &[K],
    opts: &ExportOptions,
    out: &Path,
    mut progress: impl FnMut(u64, u64),
) -> Result<ExportSummary, BundleError> {
    let note = log.last_signed_note()?.ok_or(BundleError::NoCheckpoint)?;
    let cp = SignedCheckpoint::parse(&note)
        .map_err(LogError::from)?
        .checkpoint;
    let n = cp.size;
    let range = opts.range.clone().unwrap_or(0..n);
    if range.start >= range.end && !(n == 0 && range.is_empty()) || range.end > n {
        return Err(BundleError::Range {
            first: range.start,
            end: range.end,
            size: n,
        });
    }
    if out.exists() && fs::read_dir(out).map_err(io_at(out))?.next().is_some() {
        return Err(BundleError::OutputExists(out.to_owned()));
    }
    fs::create_dir_all(out).map_err(io_at(out))?;

    // History: every older signed checkpoint; consistency proofs from each of their sizes.
    let mut history = Vec::new();
    let mut sizes: Vec<u64> = opts.consistency_from.clone();
    if !opts.no_history {
        let all = log.signed_checkpoints()?;
        for (seq, text) in all.iter().enumerate() {
            if *text == note {
                continue;
            }
            if let Ok(s) = SignedCheckpoint::parse(text) {
                if s.checkpoint.size <= n {
                    sizes.push(s.checkpoint.size);
                }
            }
            history.push((seq, text.clone()));
        }
    }
    sizes.sort_unstable();
    sizes.dedup();
    let mut consistency = Vec::new();
    for m in sizes {
        if m == 0 || m >= n {
            continue;
        }
        consistency.push(ConsistencyItem {
            from_size: m,
            proof: b64s(&log.consistency_proof(m, n)?),
        });
    }
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        origin: cp.origin.clone(),
        tree_size: n,
        first: range.start,
        end: range.end,
        range_proof: b64s(&range_proof(log, range.start, range.end, n)?),
        consistency,
    };
    let manifest_json = serde_json::to_vec_pretty(&manifest).expect("manifest serializes");
    write_file(&out.join("manifest.json"), &manifest_json)?;
    write_file(&out.join("checkpoint"), note.as_bytes())?;
    let mut key_text = String::new();
    for k in keys {
        key_text.push_str(&format!("{k}\n"));
    }
    write_file(&out.join("keys"), key_text.as_bytes())?;
    if !history.is_empty() {
        let dir = out.join("history");
        fs::create_dir(&dir).map_err(io_at(&dir))?;
        for (seq, text) in &history {
            write_file(&dir.join(format!("{seq:08}")), text.as_bytes())?;
        }
    }

    let entries_path = out.join("entries");
    let leaves_path = out.join("leaves");
    let mut ef = io::BufWriter::new(fs::File::create(&entries_path).map_err(io_at(&entries_path))?);
    let mut lf = io::BufWriter::new(fs::File::create(&leaves_path).map_err(io_at(&leaves_path))?);
    let mut pf = if opts.inclusion_proofs {
        let p = out.join("proofs.jsonl");
        Some((
            io::BufWriter::new(fs::File::create(&p).map_err(io_at(&p))?),
            p,
        ))
    } else {
        None
    };
    const CHUNK: u64 = 65_536;
    let mut i = range.start;
    while i < range.end {
        let j = (i + CHUNK).min(range.end);
        let entries = log.entries(i..j)?;
        let leaves = log.leaf_hashes(i..j)?;
        for (k, (e, l)) in entries.iter().zip(&leaves).enumerate() {
            ef.write_all(&(e.len() as u16).to_be_bytes())
                .and_then(|_| ef.write_all(e))
                .map_err(io_at(&entries_path))?;
            lf.write_all(l).map_err(io_at(&leaves_path))?;
            if let Some((w, p)) = pf.as_mut() {
                let idx = i + k as u64;
                let proof = log.inclusion_proof(idx, n)?;
                let line = serde_json::json!({
                    "leafIdx": idx,
                    "treeSize": n,
                    "root": B64.encode(cp.root),
                    "leafHash": B64.encode(l),
                    "proof": b64s(&proof),
                });
                writeln!(w, "{line}").map_err(io_at(p))?;
            }
        }
        i = j;
        progress(i - range.start, range.end - range.start);
    }
    ef.flush().map_err(io_at(&entries_path))?;
    lf.flush().map_err(io_at(&leaves_path))?;
    if let Some((mut w, p)) = pf {
        w.flush().map_err(io_at(&p))?;
    }

    Ok(ExportSummary {
        entries: range,
        tree_size: n,
        history: history.len(),
    })
}

/// The contents of a bundle directory; missing files are `None` (reported by [`verify`]).
#[derive(Clone, Debug, Default)]
pub struct BundleFiles {
    /// `manifest.json`.
    pub manifest: Option<Vec<u8>>,
    /// `checkpoint`.
    pub checkpoint: Option<String>,
    /// `keys`.
    pub keys: Option<String>,
    /// `entries`.
    pub entries: Option<Vec<u8>>,
    /// `leaves`.
    pub leaves: Option<Vec<u8>>,
    /// `history/*`, by file name.
    pub history: Vec<(String, String)>,
    /// `proofs.jsonl`.
    pub proofs: Option<String>,
    /// `documents/*`, by file name.
    pub documents: Vec<(String, Vec<u8>)>,
}

fn read_opt(path: &Path) -> Result<Option<Vec<u8>>, BundleError> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_at(path)(e)),
    }
}

fn read_dir_files(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, BundleError> {
    let mut out = Vec::new();
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io_at(dir)(e)),
    };
    for ent in rd {
        let ent = ent.map_err(io_at(dir))?;
        let path = ent.path();
        if path.is_file() {
            let name = ent.file_name().to_string_lossy().into_owned();
            out.push((name, fs::read(&path).map_err(io_at(&path))?));
        }
    }
    out.sort();
    Ok(out)
}

/// Reads a bundle directory.
pub fn load(dir: &Path) -> Result<BundleFiles, BundleError> {
    let mut files = load_ledger(dir)?;
    files.documents = read_dir_files(&dir.join("documents"))?;
    Ok(files)
}

/// Reads a bundle directory but not its `documents/` (left empty, so [`verify`] does not check
/// them): for `audit replay`, which reads and checks documents one at a time.
pub fn load_ledger(dir: &Path) -> Result<BundleFiles, BundleError> {
    if !dir.is_dir() {
        return Err(BundleError::Io {
            path: dir.to_owned(),
            source: io::Error::new(io::ErrorKind::NotFound, "not a bundle directory"),
        });
    }
    let text = |b: Option<Vec<u8>>| b.map(|b| String::from_utf8_lossy(&b).into_owned());
    Ok(BundleFiles {
        manifest: read_opt(&dir.join("manifest.json"))?,
        checkpoint: text(read_opt(&dir.join("checkpoint"))?),
        keys: text(read_opt(&dir.join("keys"))?),
        entries: read_opt(&dir.join("entries"))?,
        leaves: read_opt(&dir.join("leaves"))?,
        history: read_dir_files(&dir.join("history"))?
            .into_iter()
            .map(|(n, b)| (n, String::from_utf8_lossy(&b).into_owned()))
            .collect(),
        proofs: text(read_opt(&dir.join("proofs.jsonl"))?),
        documents: Vec::new(),
    })
}

/// The kind of a verification failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// A file is missing or malformed.
    Malformed,
    /// A signature fails, or no trusted key signed.
    Signature,
    /// An entry's bytes differ from what the signed tree records.
    EntryAltered,
    /// An entry sits at another index than the one the signed tree records for it.
    EntryReordered,
    /// An entry is missing (bundle truncated).
    EntryMissing,
    /// An entry's bytes are not a valid encoding.
    EntryUndecodable,
    /// The `leaves` file disagrees with entries that the checkpoint proves.
    LeafRecordAltered,
    /// The entries do not rebuild the signed root.
    RootMismatch,
    /// An inclusion proof in `proofs.jsonl` fails.
    InclusionProof,
    /// Two checkpoints are not consistent.
    Inconsistent,
    /// An older checkpoint is presented as the newer one.
    Rollback,
    /// Two signed checkpoints of the same size with different roots.
    SplitView,
    /// A document's bytes do not match its hash.
    Document,
    /// Fewer valid witness cosignatures than asked, or a witness's cosignature fails.
    Witness,
}

/// One failure; `entry` names the entry when there is one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// Entry index concerned, if any.
    pub entry: Option<u64>,
    /// The kind.
    pub kind: FailureKind,
    /// What is wrong, for people.
    pub message: String,
}

/// The outcome of [`verify`].
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    /// Log origin from the checkpoint.
    pub origin: String,
    /// Tree size of the bundle's checkpoint.
    pub tree_size: u64,
    /// Root (base64) of the bundle's checkpoint.
    pub root: String,
    /// First entry.
    pub first: u64,
    /// One past the last entry.
    pub end: u64,
    /// Entries read and checked.
    pub entries_checked: u64,
    /// Signatures verified.
    pub signatures_verified: usize,
    /// Older checkpoints checked for consistency.
    pub history_checked: usize,
    /// Documents whose hashes were checked.
    pub documents_checked: usize,
    /// The witnesses whose valid cosignature the checkpoint carries, with its time.
    pub cosigned_by: Vec<(String, u64)>,
    /// Every failure found.
    pub failures: Vec<Failure>,
    /// Remarks that are not failures.
    pub notes: Vec<String>,
}

impl Report {
    /// Whether everything verified.
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }

    fn fail(&mut self, entry: Option<u64>, kind: FailureKind, message: impl Into<String>) {
        self.failures.push(Failure {
            entry,
            kind,
            message: message.into(),
        });
    }
}

/// How to verify.
#[derive(Clone, Debug, Default)]
pub struct VerifyOptions {
    /// The keys the auditor trusts (published out of band). `None`: use the bundle's own
    /// `keys` file, which only proves self-consistency (a note says so).
    pub keys: Option<Verifiers>,
    /// A checkpoint note the auditor trusted before.
    pub trusted: Option<String>,
    /// The witnesses the auditor trusts (their cosigner keys).
    pub witnesses: Vec<CosignerKey>,
    /// How many of them must have cosigned the bundle's checkpoint.
    pub min_witnesses: usize,
    /// Now, in POSIX seconds: a cosignature dated later than [`COSIGNATURE_SKEW_S`] after
    /// it is refused. `None`: no bound.
    pub now: Option<u64>,
    /// Refuse a bundle whose checkpoint carries no valid SM2 signature by a trusted SM2 key
    /// (`audit verify --require-sm2`, for a 密评 assessment).
    pub require_sm2: bool,
}

/// How far in the future (seconds) a cosignature's time may be, for clocks that differ.
pub const COSIGNATURE_SKEW_S: u64 = 600;

/// Checks the bundle checkpoint's cosignatures against the auditor's witnesses.
fn check_witnesses(main: &SignedCheckpoint, opts: &VerifyOptions, rep: &mut Report) {
    if opts.witnesses.is_empty() && opts.min_witnesses == 0 {
        return;
    }
    let outcomes = cosignature::check_all(
        &opts.witnesses,
        &main.note.text,
        &main.note.sigs,
        opts.now
            .map_or(u64::MAX, |n| n.saturating_add(COSIGNATURE_SKEW_S)),
    );
    let mut missing = Vec::new();
    for (key, outcome) in outcomes {
        match outcome {
            Cosigned::Valid(t) => rep.cosigned_by.push((key.name().to_owned(), t)),
            Cosigned::Missing => missing.push(key.name().to_owned()),
            Cosigned::Invalid(why) => rep.fail(
                None,
                FailureKind::Witness,
                format!(
                    "checkpoint: the cosignature of witness {} fails: {why}",
                    key.name()
                ),
            ),
        }
    }
    let valid = rep.cosigned_by.len();
    if valid < opts.min_witnesses {
        let names = if missing.is_empty() {
            String::new()
        } else {
            format!("; not cosigned by {}", missing.join(", "))
        };
        rep.fail(
            None,
            FailureKind::Witness,
            format!(
                "checkpoint: {valid} valid witness cosignature(s), {} required{names}",
                opts.min_witnesses
            ),
        );
    } else if !missing.is_empty() {
        rep.notes.push(format!(
            "not cosigned by witness(es) {} (the {} required are there)",
            missing.join(", "),
            opts.min_witnesses
        ));
    }
}

fn decode_b64_hashes(v: &[String]) -> Option<Vec<Hash>> {
    v.iter()
        .map(|s| B64.decode(s).ok().and_then(|b| b.try_into().ok()))
        .collect()
}

/// A checkpoint note gathered for signature checking.
struct NoteCheck<'a> {
    label: String,
    signed: &'a SignedCheckpoint,
}

/// Checks a bundle; collects every failure. `progress(done, total)` is called as entries
/// are checked.
///
/// Each phase below is a function that adds its failures and notes to the report, in this
/// order. Without a parsed checkpoint the check ends after the signatures; without a usable
/// manifest, or with an entry range that does not fit the tree, before the entries.
pub fn verify(files: &BundleFiles, opts: &VerifyOptions, progress: impl FnMut(u64, u64)) -> Report {
    let mut rep = Report::default();
    let keys = read_keys(files, opts, &mut rep);
    let manifest = read_manifest(files, &mut rep);
    let checkpoints = read_checkpoints(files, opts, &mut rep);
    let signed = check_signatures(&checkpoints, &keys, &mut rep);
    let Some(main) = &checkpoints.main else {
        return rep;
    };
    check_bundle_checkpoint(main, signed.main, &keys, opts, &mut rep);
    let cp = &main.checkpoint;
    let Some(man) = manifest else { return rep };
    if !check_manifest_range(&man, cp, &mut rep) {
        return rep;
    }
    let entries = check_entries(files, &man, progress, &mut rep);
    let entries_proven = check_root(&man, cp, &entries, &mut rep);
    if let Some(p) = &files.proofs {
        check_inclusion_file(p, &man, cp, &entries.computed, &mut rep);
    }
    let tree = BundleTree {
        cp,
        proofs: man
            .consistency
            .iter()
            .map(|c| (c.from_size, decode_b64_hashes(&c.proof)))
            .collect(),
        prefix_leaves: (man.first == 0 && entries_proven).then_some(entries.computed.as_slice()),
    };
    check_consistency_items(&man, &checkpoints, &tree, &mut rep);
    check_history(&checkpoints.history, &signed.history, &tree, &mut rep);
    check_history_split_view(&checkpoints.history, &mut rep);
    if let Some(t) = checkpoints.trusted.as_ref().filter(|_| signed.trusted) {
        check_trusted(t, &tree, &mut rep);
    }
    check_documents(&files.documents, &entries.decoded, man.first, &mut rep);
    rep
}

/// Checks the bundle's `keys` file (B1, even with `--keys`) and returns the keys to trust:
/// the auditor's, or else the bundle's own (with a note saying so).
fn read_keys(files: &BundleFiles, opts: &VerifyOptions, rep: &mut Report) -> Verifiers {
    use FailureKind as K;
    let bundle_keys = match files.keys.as_deref().map(Verifiers::parse_lines) {
        Some(Ok(k)) => k,
        Some(Err(e)) => {
            rep.fail(None, K::Malformed, format!("keys: {e}"));
            Verifiers::default()
        }
        None => {
            rep.fail(None, K::Malformed, "keys: file missing");
            Verifiers::default()
        }
    };
    match &opts.keys {
        Some(k) => k.clone(),
        None => {
            rep.notes.push(
                "trusting the bundle's own keys file; pass --keys with the gateway's published keys to check them independently"
                    .into(),
            );
            bundle_keys
        }
    }
}

/// Reads `manifest.json`: present, JSON, of format [`FORMAT`] (B2); `None` when it is not.
fn read_manifest(files: &BundleFiles, rep: &mut Report) -> Option<Manifest> {
    use FailureKind as K;
    match &files.manifest {
        None => {
            rep.fail(None, K::Malformed, "manifest.json: file missing");
            None
        }
        Some(b) => match serde_json::from_slice::<Manifest>(b) {
            Ok(m) if m.format == FORMAT => Some(m),
            Ok(m) => {
                rep.fail(
                    None,
                    K::Malformed,
                    format!("manifest.json: unknown format {:?}", m.format),
                );
                None
            }
            Err(e) => {
                rep.fail(None, K::Malformed, format!("manifest.json: {e}"));
                None
            }
        },
    }
}

/// The checkpoint notes of the bundle and of the auditor, as parsed.
struct Checkpoints {
    /// The bundle's `checkpoint`.
    main: Option<SignedCheckpoint>,
    /// The notes of `history/` that parse, with their file names.
    history: Vec<(String, SignedCheckpoint)>,
    /// The auditor's trusted checkpoint.
    trusted: Option<SignedCheckpoint>,
}

/// Parses the bundle's checkpoint, each note of `history/` and the auditor's trusted
/// checkpoint (B3); one that does not parse is a failure and is left out.
fn read_checkpoints(files: &BundleFiles, opts: &VerifyOptions, rep: &mut Report) -> Checkpoints {
    use FailureKind as K;
    let main = match files.checkpoint.as_deref().map(SignedCheckpoint::parse) {
        Some(Ok(c)) => Some(c),
        Some(Err(e)) => {
            rep.fail(None, K::Malformed, format!("checkpoint: {e}"));
            None
        }
        None => {
            rep.fail(None, K::Malformed, "checkpoint: file missing");
            None
        }
    };
    let history: Vec<(String, SignedCheckpoint)> = files
        .history
        .iter()
        .filter_map(|(name, text)| match SignedCheckpoint::parse(text) {
            Ok(c) => Some((name.clone(), c)),
            Err(e) => {
                rep.fail(None, K::Malformed, format!("history/{name}: {e}"));
                None
            }
        })
        .collect();
    let trusted = match opts.trusted.as_deref().map(SignedCheckpoint::parse) {
        Some(Ok(c)) => Some(c),
        Some(Err(e)) => {
            rep.fail(None, K::Malformed, format!("trusted checkpoint: {e}"));
            None
        }
        None => None,
    };
    Checkpoints {
        main,
        history,
        trusted,
    }
}

/// Which of the [`Checkpoints`] carry a valid signature by a trusted key and no bad one.
struct ValidlySigned {
    /// The bundle's checkpoint.
    main: bool,
    /// Each note of `history/`, in order.
    history: Vec<bool>,
    /// The auditor's trusted checkpoint.
    trusted: bool,
}

/// Verifies the signatures of every checkpoint note, batched (B4), and tells which notes are
/// validly signed.
fn check_signatures(
    checkpoints: &Checkpoints,
    keys: &Verifiers,
    rep: &mut Report,
) -> ValidlySigned {
    let mut checks: Vec<NoteCheck<'_>> = Vec::new();
    if let Some(m) = &checkpoints.main {
        checks.push(NoteCheck {
            label: "checkpoint".into(),
            signed: m,
        });
    }
    for (name, h) in &checkpoints.history {
        checks.push(NoteCheck {
            label: format!("history/{name}"),
            signed: h,
        });
    }
    if let Some(t) = &checkpoints.trusted {
        checks.push(NoteCheck {
            label: "trusted checkpoint".into(),
            signed: t,
        });
    }
    let ok = verify_signatures(&checks, keys, rep);
    let first_history = usize::from(checkpoints.main.is_some());
    ValidlySigned {
        main: checkpoints.main.is_some() && ok.first().copied().unwrap_or(false),
        history: ok[first_history..first_history + checkpoints.history.len()].to_vec(),
        trusted: checkpoints.trusted.is_some() && ok.last().copied().unwrap_or(false),
    }
}

/// Checks what the bundle's checkpoint alone must carry (an SM2 signature with
/// `--require-sm2`, B16; witness cosignatures, B15) and records its log, size and root.
fn check_bundle_checkpoint(
    main: &SignedCheckpoint,
    signed: bool,
    keys: &Verifiers,
    opts: &VerifyOptions,
    rep: &mut Report,
) {
    if opts.require_sm2 {
        check_sm2(main, keys, rep);
    }
    check_witnesses(main, opts, rep);
    let cp = &main.checkpoint;
    rep.origin = cp.origin.clone();
    rep.tree_size = cp.size;
    rep.root = B64.encode(cp.root);
    if !signed {
        rep.notes
            .push("the bundle's checkpoint is not validly signed by a trusted key; nothing in it is proven".into());
    }
}

/// Checks the manifest against the checkpoint (B2: same log and size, entry range within the
/// tree) and records the range; `false` when the range does not fit, which ends the check.
fn check_manifest_range(man: &Manifest, cp: &Checkpoint, rep: &mut Report) -> bool {
    use FailureKind as K;
    rep.first = man.first;
    rep.end = man.end;
    if man.origin != cp.origin || man.tree_size != cp.size {
        rep.fail(
            None,
            K::Malformed,
            format!(
                "manifest.json says {} at size {}, the checkpoint says {} at size {}",
                man.origin, man.tree_size, cp.origin, cp.size
            ),
        );
    }
    if man.first > man.end || man.end > cp.size {
        rep.fail(
            None,
            K::Malformed,
            format!(
                "manifest range {}..{} is not within tree size {}",
                man.first, man.end, cp.size
            ),
        );
        return false;
    }
    true
}

/// The bundle's entries as read, for the phases after [`check_entries`].
struct Entries {
    /// The leaf hash of each entry as it is, up to the first missing one.
    computed: Vec<Hash>,
    /// The leaf hashes the `leaves` file records.
    recorded: Vec<Hash>,
    /// Each entry decoded (`None`: undecodable); only when there are documents to check.
    decoded: Vec<Option<Entry>>,
}

/// Reads `entries` and `leaves`: every entry of the range there and decodable, nothing after
/// the last (B5, B6), 32 bytes of `leaves` per entry (B7); `progress` as entries are read.
fn check_entries(
    files: &BundleFiles,
    man: &Manifest,
    mut progress: impl FnMut(u64, u64),
    rep: &mut Report,
) -> Entries {
    use FailureKind as K;
    let total = man.end - man.first;
    let entries = files.entries.as_deref().unwrap_or_default();
    if files.entries.is_none() {
        rep.fail(None, K::Malformed, "entries: file missing");
    }
    let recorded = read_leaves(files, total, rep);
    let mut computed: Vec<Hash> = Vec::with_capacity(total as usize);
    let mut decoded: Vec<Option<Entry>> = Vec::new();
    let want_decoded = !files.documents.is_empty();
    let mut rest = entries;
    let step = (total / 100).max(1);
    for k in 0..total {
        let idx = man.first + k;
        if rest.len() < 2 || rest.len() < 2 + u16::from_be_bytes([rest[0], rest[1]]) as usize {
            rep.fail(
                Some(idx),
                K::EntryMissing,
                format!(
                    "entries {idx}..{} are missing: the entries file ends early (truncated)",
                    man.end
                ),
            );
            break;
        }
        let len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
        let bytes = &rest[2..2 + len];
        rest = &rest[2 + len..];
        computed.push(merkle::leaf_hash(bytes));
        match Entry::decode(bytes) {
            Ok(e) => {
                if want_decoded {
                    decoded.push(Some(e));
                }
            }
            Err(e) => {
                rep.fail(
                    Some(idx),
                    K::EntryUndecodable,
                    format!("entry {idx} is not a valid entry: {e}"),
                );
                if want_decoded {
                    decoded.push(None);
                }
            }
        }
        rep.entries_checked += 1;
        if k % step == 0 {
            progress(k, total);
        }
    }
    progress(rep.entries_checked, total);
    if computed.len() as u64 == total && !rest.is_empty() {
        rep.fail(
            None,
            K::Malformed,
            format!(
                "entries: {} bytes after the last entry ({})",
                rest.len(),
                man.end.saturating_sub(1)
            ),
        );
    }
    Entries {
        computed,
        recorded,
        decoded,
    }
}

/// Reads the leaf hashes the `leaves` file records: present, 32 bytes for each of the `total`
/// entries (B7).
fn read_leaves(files: &BundleFiles, total: u64, rep: &mut Report) -> Vec<Hash> {
    use FailureKind as K;
    match files.leaves.as_deref() {
        None => {
            rep.fail(None, K::Malformed, "leaves: file missing");
            Vec::new()
        }
        Some(l) => {
            if l.len() as u64 != total * 32 {
                rep.fail(
                    None,
                    K::Malformed,
                    format!(
                        "leaves: {} bytes, expected {} for {total} entries",
                        l.len(),
                        total * 32
                    ),
                );
            }
            l.chunks_exact(32)
                .map(|c| c.try_into().expect("32"))
                .collect()
        }
    }
}

/// Rebuilds the signed root from the entries with the range proof (B8) and names each entry
/// whose leaf hash is not the recorded one (B7); `true` when all are there and rebuild it.
fn check_root(man: &Manifest, cp: &Checkpoint, entries: &Entries, rep: &mut Report) -> bool {
    use FailureKind as K;
    let Entries {
        computed, recorded, ..
    } = entries;
    let total = man.end - man.first;
    // The root from the entries as they are, and from the recorded leaves to localise.
    let range_proof = decode_b64_hashes(&man.range_proof);
    if range_proof.is_none() {
        rep.fail(
            None,
            K::Malformed,
            "manifest.json: range_proof holds a bad hash",
        );
    }
    let range_proof = range_proof.unwrap_or_default();
    let complete = computed.len() as u64 == total;
    let root_of = |leaves: &[Hash]| root_from_range(leaves, man.first, cp.size, &range_proof);
    let computed_ok = complete && root_of(computed) == Some(cp.root);
    let recorded_ok = recorded.len() as u64 == total && root_of(recorded) == Some(cp.root);
    let any_differ = name_differing_entries(man.first, entries, computed_ok, recorded_ok, rep);
    if complete && !computed_ok {
        let mut msg = format!(
            "entries {}..{} with the range proof do not rebuild the signed root at size {}",
            man.first, man.end, cp.size
        );
        if !any_differ {
            msg.push_str(" (entries and leaves file altered consistently, or range proof altered)");
        }
        rep.fail(None, K::RootMismatch, msg);
    }
    computed_ok
}

/// Names each entry whose leaf hash differs from the recorded one (B7): the `leaves` file
/// altered, the entry reordered, or the entry altered; `true` when there is one.
fn name_differing_entries(
    first: u64,
    entries: &Entries,
    computed_ok: bool,
    recorded_ok: bool,
    rep: &mut Report,
) -> bool {
    use FailureKind as K;
    let Entries {
        computed, recorded, ..
    } = entries;
    let mismatched: Vec<usize> = computed
        .iter()
        .zip(recorded)
        .enumerate()
        .filter(|(_, (c, r))| c != r)
        .map(|(i, _)| i)
        .collect();
    let by_hash: HashMap<Hash, usize> = mismatched.iter().map(|&i| (recorded[i], i)).collect();
    for &i in &mismatched {
        let idx = first + i as u64;
        if computed_ok {
            rep.fail(
                Some(idx),
                K::LeafRecordAltered,
                format!("leaves file altered at entry {idx} (the entry itself is proven by the checkpoint)"),
            );
        } else if let Some(&j) = by_hash.get(&computed[i]) {
            rep.fail(
                Some(idx),
                K::EntryReordered,
                format!(
                    "entry {idx} is the entry the log recorded at index {} (entries reordered)",
                    first + j as u64
                ),
            );
        } else if recorded_ok {
            rep.fail(
                Some(idx),
                K::EntryAltered,
                format!(
                    "entry {idx} was altered: its bytes hash to {} but the signed tree records {}",
                    hex::encode(computed[i]),
                    hex::encode(recorded[i])
                ),
            );
        } else {
            rep.fail(
                Some(idx),
                K::EntryAltered,
                format!("entry {idx} does not match its recorded leaf hash (entry or leaves file altered)"),
            );
        }
    }
    !mismatched.is_empty()
}

/// The bundle's tree, as older checkpoints and consistency proofs are checked against it.
struct BundleTree<'a> {
    /// The bundle's checkpoint.
    cp: &'a Checkpoint,
    /// The manifest's consistency proofs by older size (`None`: the proof holds a bad hash).
    proofs: BTreeMap<u64, Option<Vec<Hash>>>,
    /// The entries' leaf hashes when the bundle starts at 0 and they rebuild the root.
    prefix_leaves: Option<&'a [Hash]>,
}

impl BundleTree<'_> {
    /// The root of the log's first `size` entries, when the bundle holds them all from 0 (a
    /// bundle may stop before the checkpoint's size).
    fn prefix_root(&self, size: u64) -> Option<Hash> {
        let leaves = self.prefix_leaves?;
        let n = usize::try_from(size).ok().filter(|&n| n <= leaves.len())?;
        Some(merkle::root_from_leaves(&leaves[..n]))
    }
}

/// Checks each consistency item of the manifest (B10): one whose size has no checkpoint here
/// is verified against the entries' root when the bundle starts at 0, else noted unchecked.
fn check_consistency_items(
    man: &Manifest,
    checkpoints: &Checkpoints,
    tree: &BundleTree<'_>,
    rep: &mut Report,
) {
    use FailureKind as K;
    let cp = tree.cp;
    let mut with_checkpoint: Vec<u64> = checkpoints
        .history
        .iter()
        .map(|(_, h)| h.checkpoint.size)
        .collect();
    with_checkpoint.extend(checkpoints.trusted.as_ref().map(|t| t.checkpoint.size));
    let mut seen_sizes = std::collections::BTreeSet::new();
    for item in &man.consistency {
        let m = item.from_size;
        if m == 0 || m >= cp.size || !seen_sizes.insert(m) {
            rep.fail(
                None,
                K::Malformed,
                format!(
                    "manifest.json: consistency proof from size {m} (must be unique and between 0 and {})",
                    cp.size
                ),
            );
            continue;
        }
        if with_checkpoint.contains(&m) {
            continue; // checked with that checkpoint's root (check_older)
        }
        match (tree.proofs.get(&m), tree.prefix_root(m)) {
            (Some(Some(p)), Some(root1)) => {
                if merkle::verify_consistency(m, cp.size, p, &root1, &cp.root).is_err() {
                    rep.fail(
                        None,
                        K::Malformed,
                        format!("manifest.json: consistency proof from size {m} does not verify"),
                    );
                }
            }
            (Some(None), _) => rep.fail(
                None,
                K::Malformed,
                format!("manifest.json: consistency proof from size {m} holds a bad hash"),
            ),
            _ => rep.notes.push(format!(
                "consistency proof from size {m} not checked: no checkpoint of that size given (use --trusted)"
            )),
        }
    }
}

/// Checks each validly signed note of `history/` against the bundle's checkpoint (B11).
fn check_history(
    history: &[(String, SignedCheckpoint)],
    signed: &[bool],
    tree: &BundleTree<'_>,
    rep: &mut Report,
) {
    for ((name, h), &ok) in history.iter().zip(signed) {
        if !ok {
            continue; // reported as a signature failure
        }
        rep.history_checked += 1;
        check_older(&format!("history/{name}"), &h.checkpoint, tree, rep);
    }
}

/// Fails two notes of `history/` of one size with different roots: a split view inside the
/// history (B11).
fn check_history_split_view(history: &[(String, SignedCheckpoint)], rep: &mut Report) {
    let mut by_size: BTreeMap<u64, (&str, Hash)> = BTreeMap::new();
    for (name, h) in history {
        match by_size.get(&h.checkpoint.size) {
            Some((other, root)) if *root != h.checkpoint.root => rep.fail(
                None,
                FailureKind::SplitView,
                format!(
                    "split view: history/{other} and history/{name} are both size {} with different roots",
                    h.checkpoint.size
                ),
            ),
            _ => {
                by_size.insert(h.checkpoint.size, (name.as_str(), h.checkpoint.root));
            }
        }
    }
}

/// Checks the auditor's trusted checkpoint, validly signed, against the bundle's: the same
/// log (B12), and consistent with it (B11).
fn check_trusted(trusted: &SignedCheckpoint, tree: &BundleTree<'_>, rep: &mut Report) {
    if trusted.checkpoint.origin != tree.cp.origin {
        rep.fail(
            None,
            FailureKind::Inconsistent,
            format!(
                "trusted checkpoint is for log {:?}, the bundle for {:?}",
                trusted.checkpoint.origin, tree.cp.origin
            ),
        );
    } else {
        check_older("trusted checkpoint", &trusted.checkpoint, tree, rep);
    }
}

/// Checks each file of `documents/` (B13, B14): named by its lowercase hex SHA-256, and
/// matching it, naming the entries (`decoded`, from index `first`) that record the hash.
fn check_documents(
    documents: &[(String, Vec<u8>)],
    decoded: &[Option<Entry>],
    first: u64,
    rep: &mut Report,
) {
    use FailureKind as K;
    if documents.is_empty() {
        return;
    }
    let mut refs: HashMap<Hash, Vec<u64>> = HashMap::new();
    for (k, e) in decoded.iter().enumerate() {
        if let Some(e) = e {
            let idx = first + k as u64;
            refs.entry(e.received_sha256).or_default().push(idx);
            if let Some(s) = e.sent_sha256 {
                refs.entry(s).or_default().push(idx);
            }
        }
    }
    for (name, bytes) in documents {
        // Lowercase only, so that each document has one name (the one replay looks up).
        let lowercase = name.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
        let named: Option<Hash> = hex::decode(name).ok().and_then(|b| b.try_into().ok());
        let Some(named) = named.filter(|_| lowercase) else {
            rep.fail(
                None,
                K::Document,
                format!("documents/{name}: not named by a lowercase hex SHA-256"),
            );
            continue;
        };
        rep.documents_checked += 1;
        let actual: Hash = Sha256::digest(bytes).into();
        let users = refs.get(&named).cloned().unwrap_or_default();
        if actual != named {
            if users.is_empty() {
                rep.fail(
                    None,
                    K::Document,
                    format!("documents/{name}: content does not match its name"),
                );
            }
            for u in users {
                rep.fail(
                    Some(u),
                    K::Document,
                    format!("entry {u}: document {name} does not match the hash the entry records"),
                );
            }
        } else if users.is_empty() {
            rep.notes.push(format!(
                "documents/{name} is not referenced by any entry in the bundle"
            ));
        }
    }
}

/// Checks one older checkpoint against the bundle's: rollback, split view, consistency.
fn check_older(label: &str, old: &Checkpoint, tree: &BundleTree<'_>, rep: &mut Report) {
    use FailureKind as K;
    let cp = tree.cp;
    if old.size > cp.size {
        rep.fail(
            None,
            K::Rollback,
            format!(
                "rollback: the bundle's checkpoint (size {}) is older than the {label} (size {}) signed by the same log",
                cp.size, old.size
            ),
        );
        return;
    }
    if old.size == cp.size {
        if old.root != cp.root {
            rep.fail(
                None,
                K::SplitView,
                format!(
                    "split view: the {label} and the bundle's checkpoint are both signed at size {} with different roots ({} vs {})",
                    cp.size,
                    B64.encode(old.root),
                    B64.encode(cp.root)
                ),
            );
        }
        return;
    }
    if old.size == 0 {
        if old.root != merkle::empty_root() {
            rep.fail(
                None,
                K::Inconsistent,
                format!("{label}: size 0 with a non-empty root"),
            );
        }
        return;
    }
    match tree.proofs.get(&old.size) {
        Some(Some(p)) => {
            if let Err(e) = merkle::verify_consistency(old.size, cp.size, p, &old.root, &cp.root) {
                rep.fail(
                    None,
                    K::Inconsistent,
                    format!(
                        "{label} (size {}) is not consistent with the bundle's checkpoint (size {}): {e}",
                        old.size, cp.size
                    ),
                );
            }
        }
        Some(None) => rep.fail(
            None,
            K::Malformed,
            format!("manifest.json: consistency proof from size {} holds a bad hash", old.size),
        ),
        None => match tree.prefix_root(old.size) {
            Some(root) => {
                if root != old.root {
                    rep.fail(
                        None,
                        K::Inconsistent,
                        format!(
                            "{label} (size {}) does not match the first {} entries of the bundle",
                            old.size, old.size
                        ),
                    );
                }
            }
            None => rep.fail(
                None,
                K::Inconsistent,
                format!(
                    "no consistency proof from the {label}'s size {}; export again with --consistency-from {}",
                    old.size, old.size
                ),
            ),
        },
    }
}

/// Checks `proofs.jsonl` (B9): each line an inclusion proof, for an entry of the bundle, of
/// that entry's leaf hash against the bundle's checkpoint; entries without one are noted.
fn check_inclusion_file(
    p: &str,
    man: &Manifest,
    cp: &Checkpoint,
    computed: &[Hash],
    rep: &mut Report,
) {
    use FailureKind as K;
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Line {
        leaf_idx: u64,
        tree_size: u64,
        root: String,
        leaf_hash: String,
        proof: Vec<String>,
    }
    let mut seen = 0u64;
    for (n, line) in p.lines().enumerate() {
        let l: Line = match serde_json::from_str(line) {
            Ok(l) => l,
            Err(e) => {
                rep.fail(
                    None,
                    K::Malformed,
                    format!("proofs.jsonl line {}: {e}", n + 1),
                );
                continue;
            }
        };
        let idx = l.leaf_idx;
        let fail = |rep: &mut Report, why: String| {
            rep.fail(
                Some(idx),
                K::InclusionProof,
                format!("entry {idx}: inclusion proof {why}"),
            )
        };
        if idx < man.first || idx >= man.end {
            fail(rep, "is for an entry outside the bundle".into());
            continue;
        }
        seen += 1;
        let leaf = B64.decode(&l.leaf_hash).unwrap_or_default();
        if computed
            .get((idx - man.first) as usize)
            .map(|h| h.as_slice())
            != Some(leaf.as_slice())
        {
            fail(rep, "names another leaf hash than the entry's".into());
            continue;
        }
        if l.tree_size != cp.size || B64.decode(&l.root).ok().as_deref() != Some(cp.root.as_slice())
        {
            fail(rep, "is not against the bundle's checkpoint".into());
            continue;
        }
        let proof: Vec<Vec<u8>> = l
            .proof
            .iter()
            .map(|s| B64.decode(s).unwrap_or_default())
            .collect();
        let refs: Vec<&[u8]> = proof.iter().map(|v| v.as_slice()).collect();
        if let Err(e) = merkle::verify_inclusion_raw(idx, cp.size, &leaf, &refs, &cp.root) {
            fail(rep, format!("does not verify: {e}"));
        }
    }
    if seen != man.end - man.first {
        rep.notes.push(format!(
            "proofs.jsonl covers {seen} of {} entries",
            man.end - man.first
        ));
    }
}

/// With `--require-sm2`: the bundle's checkpoint carries an SM2 signature by a trusted SM2
/// key (whether it verifies is B4's check, which covers every known signature).
fn check_sm2(main: &SignedCheckpoint, keys: &Verifiers, rep: &mut Report) {
    if keys.sm2_keys().is_empty() {
        rep.fail(
            None,
            FailureKind::Signature,
            "checkpoint: an SM2 signature is required, but no SM2 key is trusted (the keys file has no key of type 0xff \"tongban/sm2-sm3\")",
        );
    } else if main.note.known_sm2_signatures(keys).is_empty() {
        rep.fail(
            None,
            FailureKind::Signature,
            "checkpoint: an SM2 signature is required, and the checkpoint carries none by a trusted SM2 key",
        );
    }
}

/// Verifies every known signature of every note: the Ed25519 ones with one batch verification
/// when there are several (on batch failure each is checked alone to name the bad ones), the
/// SM2 ones one by one. Returns, per note, whether it carries at least one valid trusted
/// signature and no bad one.
fn verify_signatures(checks: &[NoteCheck<'_>], keys: &Verifiers, rep: &mut Report) -> Vec<bool> {
    let mut items: Vec<(usize, &VerifierKey, &NoteSignature)> = Vec::new();
    let mut ok = vec![true; checks.len()];
    let mut sm2_verified = 0;
    for (i, c) in checks.iter().enumerate() {
        let known = c.signed.note.known_signatures(keys);
        let known_sm2 = c.signed.note.known_sm2_signatures(keys);
        for (k, s) in &known_sm2 {
            if k.verify(c.signed.note.text.as_bytes(), &s.sig) {
                sm2_verified += 1;
            } else {
                ok[i] = false;
                rep.fail(
                    None,
                    FailureKind::Signature,
                    format!("{}: SM2 signature by {k} does not verify", c.label),
                );
            }
        }
        if known.is_empty() && known_sm2.is_empty() {
            ok[i] = false;
            rep.fail(
                None,
                FailureKind::Signature,
                format!("{}: no signature by a trusted key", c.label),
            );
        }
        for (k, s) in known {
            items.push((i, k, s));
        }
    }
    let mut batch_ok = false;
    if items.len() > 1 {
        let msgs: Vec<&[u8]> = items
            .iter()
            .map(|(i, _, _)| checks[*i].signed.note.text.as_bytes())
            .collect();
        let sigs: Option<Vec<ed25519_dalek::Signature>> = items
            .iter()
            .map(|(_, _, s)| ed25519_dalek::Signature::from_slice(&s.sig).ok())
            .collect();
        let vks: Vec<ed25519_dalek::VerifyingKey> =
            items.iter().map(|(_, k, _)| *k.dalek()).collect();
        if let Some(sigs) = sigs {
            batch_ok = ed25519_dalek::verify_batch(&msgs, &sigs, &vks).is_ok();
        }
    }
    if !batch_ok {
        for (i, k, s) in &items {
            if !k.verify(checks[*i].signed.note.text.as_bytes(), &s.sig) {
                ok[*i] = false;
                rep.fail(
                    None,
                    FailureKind::Signature,
                    format!("{}: signature by {k} does not verify", checks[*i].label),
                );
            }
        }
    }
    rep.signatures_verified = items.len() + sm2_verified;
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_from_range_matches_full_root_for_every_subrange() {
        let leaves: Vec<Hash> = (0..23u64)
            .map(|i| merkle::leaf_hash(&i.to_be_bytes()))
            .collect();
        let store = crate::store::MemStore::new();
        let mut log = Log::open(store, "t.example/log").unwrap();
        let enc: Vec<Vec<u8>> = (0..23u64).map(|i| i.to_be_bytes().to_vec()).collect();
        log.append_encoded(&enc).unwrap();
        let root = merkle::root_from_leaves(&leaves);
        for n in [23u64] {
            for a in 0..n {
                for b in a + 1..=n {
                    let p = range_proof(&log, a, b, n).unwrap();
                    let got = root_from_range(&leaves[a as usize..b as usize], a, n, &p);
                    assert_eq!(got, Some(root), "range {a}..{b}");
                    let mut extra = p.clone();
                    extra.push([0; 32]);
                    assert_eq!(
                        root_from_range(&leaves[a as usize..b as usize], a, n, &extra),
                        None
                    );
                }
            }
        }
    }
}
