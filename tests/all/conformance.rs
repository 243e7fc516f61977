//! Runs the whole `conformance/` directory (see its README) plus the shared samples.
//! Every case is checked and every failure reported before the test fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest as _, Sha256};
use tongban::model::{ApplicationNo, Document, Problem, Severity};
use tongban::platform::{self, Platform, MAPPING_VERSION};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where emitted documents are written for the schema checks.
fn out_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tongban-conformance-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct Suite {
    failures: Vec<String>,
    cases: usize,
    /// Emitted Shanghai documents, validated with xmllint in one run at the end.
    emitted_sh: Vec<(String, PathBuf)>,
    zj_schema: jsonschema::Validator,
    out: PathBuf,
}

impl Suite {
    fn new() -> Suite {
        let schema: serde_json::Value = serde_json::from_slice(
            &std::fs::read(crate_dir().join("schemas/zhejiang.schema.json")).unwrap(),
        )
        .unwrap();
        Suite {
            failures: Vec::new(),
            cases: 0,
            emitted_sh: Vec::new(),
            zj_schema: jsonschema::validator_for(&schema).expect("zhejiang.schema.json compiles"),
            out: out_dir(),
        }
    }

    fn fail(&mut self, case: &str, what: impl AsRef<str>) {
        self.failures.push(format!("{case}: {}", what.as_ref()));
    }

    fn read(&mut self, case: &str, p: Platform, bytes: &[u8]) -> Option<platform::Read> {
        match platform::read(p, bytes) {
            Ok(r) => Some(r),
            Err(problems) => {
                self.fail(
                    case,
                    format!(
                        "refused as {p}:\n    {}",
                        problems.to_string().replace('\n', "\n    ")
                    ),
                );
                None
            }
        }
    }

    /// Writes `doc` for `p`, checks the output against `p`'s schema, and reads it back.
    fn emit(&mut self, case: &str, p: Platform, doc: &Document) -> Option<(Vec<u8>, Document)> {
        let bytes = platform::write(p, doc).bytes;
        match p {
            Platform::Zhejiang => match serde_json::from_slice::<serde_json::Value>(&bytes) {
                Ok(v) => {
                    let errors: Vec<String> = self
                        .zj_schema
                        .iter_errors(&v)
                        .map(|e| format!("{} at {}", e, e.instance_path))
                        .collect();
                    if !errors.is_empty() {
                        self.fail(case, format!("emitted JSON breaks the schema: {errors:?}"));
                    }
                }
                Err(e) => self.fail(case, format!("emitted JSON does not parse: {e}")),
            },
            Platform::Shanghai => {
                let file = self
                    .out
                    .join(format!("{}.xml", case.replace(['/', ' '], "_")));
                std::fs::write(&file, &bytes).unwrap();
                self.emitted_sh.push((case.to_owned(), file));
            }
        }
        let back = self.read(&format!("{case} (re-read {p} output)"), p, &bytes)?;
        Some((bytes, back.document))
    }

    /// `doc` (read from `from`) goes to the other platform and back to the same content.
    fn round_trip(&mut self, case: &str, from: Platform, doc: &Document) {
        let Some((_, there)) = self.emit(case, from.other(), doc) else {
            return;
        };
        let Some((_, back)) = self.emit(&format!("{case} (back)"), from, &there) else {
            return;
        };
        if &back != doc {
            self.fail(
                case,
                format!("round trip through {} changed the content", from.other()),
            );
        }
    }

    fn pair(&mut self, case: &str, sh: &[u8], zj: &[u8]) {
        self.cases += 1;
        let (Some(s), Some(z)) = (
            self.read(case, Platform::Shanghai, sh),
            self.read(case, Platform::Zhejiang, zj),
        ) else {
            return;
        };
        if s.document != z.document {
            self.fail(case, "the two sides read to different content");
        }
        if let Some((bytes, _)) = self.emit(case, Platform::Zhejiang, &s.document) {
            let ours: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
            let theirs: serde_json::Value = serde_json::from_slice(zj).unwrap_or_default();
            if ours != theirs {
                self.fail(case, format!("Shanghai → Zhejiang differs from zj.json:\n    ours:   {ours}\n    theirs: {theirs}"));
            }
        }
        if let Some((_, back)) = self.emit(case, Platform::Shanghai, &z.document) {
            if back != s.document {
                self.fail(case, "Zhejiang → Shanghai differs in content from sh.xml");
            }
        }
    }

    fn ok(&mut self, case: &str, p: Platform, bytes: &[u8], expect: Option<String>) {
        self.cases += 1;
        let Some(read) = self.read(case, p, bytes) else {
            return;
        };
        let warnings: Vec<String> = read.warnings.iter().map(|w| w.to_string()).collect();
        let expected = expectations(expect.as_deref().unwrap_or(""));
        for e in &expected {
            if !read.warnings.iter().any(|w| e.matches(w)) {
                self.fail(case, format!("expected warning `{e}`, got {warnings:?}"));
            }
        }
        if expected.is_empty() && !warnings.is_empty() {
            self.fail(case, format!("unexpected warnings {warnings:?}"));
        }
        self.round_trip(case, p, &read.document);
    }

    fn fail_case(&mut self, case: &str, p: Platform, bytes: &[u8], expect: Option<String>) {
        self.cases += 1;
        let Some(expect) = expect else {
            self.fail(case, "has no .expect file");
            return;
        };
        let expected = expectations(&expect);
        if expected.is_empty() {
            self.fail(case, ".expect lists no problem");
        }
        match platform::read(p, bytes) {
            Ok(_) => self.fail(case, "was accepted; it must be refused"),
            Err(problems) => {
                let got: Vec<String> = problems
                    .iter()
                    .map(|p| format!("{} [{}]", p, p.code()))
                    .collect();
                for e in expected {
                    let found = problems
                        .iter()
                        .any(|q| q.severity == Severity::Error && e.matches(q));
                    if !found {
                        self.fail(case, format!("expected `{e}`, got {got:?}"));
                    }
                }
            }
        }
    }

    fn schema_check_shanghai(&mut self) {
        if self.emitted_sh.is_empty() {
            return;
        }
        let xsd = crate_dir().join("schemas/shanghai.xsd");
        let output = Command::new("xmllint")
            .arg("--noout")
            .arg("--schema")
            .arg(&xsd)
            .args(self.emitted_sh.iter().map(|(_, f)| f))
            .output()
            .expect("xmllint is needed for the schema checks (Debian package libxml2-utils; .ci/run installs it)");
        let stderr = String::from_utf8_lossy(&output.stderr);
        for (case, file) in std::mem::take(&mut self.emitted_sh) {
            let name = file.display().to_string();
            if !stderr.contains(&format!("{name} validates")) {
                let lines: Vec<&str> = stderr.lines().filter(|l| l.contains(&name)).collect();
                self.fail(&case, format!("emitted XML breaks shanghai.xsd: {lines:?}"));
            }
        }
    }
}

/// `PATH: TEXT` lines of an `.expect` file (blank lines and `#` comments skipped). The path
/// ends at the first `: ` so that paths may hold `:` themselves.
/// One line of an `.expect` file: `PATH: [CODE] TEXT`, a problem at PATH whose message is
/// the catalogue's CODE (`schemas/messages.md`) and whose English text contains TEXT.
struct Expected {
    path: String,
    code: String,
    text: String,
}

impl Expected {
    fn matches(&self, p: &Problem) -> bool {
        p.path == self.path && p.code() == self.code && p.message.to_string().contains(&self.text)
    }
}

impl std::fmt::Display for Expected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: [{}] {}", self.path, self.code, self.text)
    }
}

fn expectations(text: &str) -> Vec<Expected> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (path, rest) = l.split_once(": ").unwrap_or((l.trim_end_matches(':'), ""));
            let (code, text) = rest
                .strip_prefix('[')
                .and_then(|r| {
                    r.split_once("] ")
                        .or_else(|| r.strip_suffix(']').map(|c| (c, "")))
                })
                .unwrap_or(("(no code: write `PATH: [code] text`)", rest));
            Expected {
                path: path.to_owned(),
                code: code.to_owned(),
                text: text.to_owned(),
            }
        })
        .collect()
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn conformance_suite() {
    let mut suite = Suite::new();
    let samples = crate_dir().join("../shared/platforms/samples");
    for doc in ["application", "decision"] {
        let sh = std::fs::read(samples.join(format!("sh-{doc}.xml")))
            .expect("shared samples beside the repo");
        let zj = std::fs::read(samples.join(format!("zj-{doc}.json"))).unwrap();
        suite.pair(&format!("shared sample {doc}"), &sh, &zj);
    }
    let root = crate_dir().join("conformance");
    for dir in files(&root.join("pairs"))
        .into_iter()
        .filter(|d| d.is_dir())
    {
        let name = format!("pairs/{}", dir.file_name().unwrap().to_string_lossy());
        let sh = std::fs::read(dir.join("sh.xml")).unwrap();
        let zj = std::fs::read(dir.join("zj.json")).unwrap();
        suite.pair(&name, &sh, &zj);
    }
    for (p, ext) in [(Platform::Shanghai, "xml"), (Platform::Zhejiang, "json")] {
        for file in files(&root.join(p.key())) {
            let fname = file.file_name().unwrap().to_string_lossy().to_string();
            let Some(stem) = fname.strip_suffix(&format!(".{ext}")) else {
                continue;
            };
            let case = format!("{}/{fname}", p.key());
            let bytes = std::fs::read(&file).unwrap();
            let expect =
                std::fs::read_to_string(file.with_file_name(format!("{stem}.expect"))).ok();
            if stem.starts_with("ok_") {
                suite.ok(&case, p, &bytes, expect);
            } else if stem.starts_with("fail_") {
                suite.fail_case(&case, p, &bytes, expect);
            } else {
                suite.fail(&case, "name must start with ok_ or fail_");
            }
        }
    }
    suite.schema_check_shanghai();
    let _ = std::fs::remove_dir_all(&suite.out);
    assert!(suite.cases > 2, "no conformance cases found");
    assert!(
        suite.failures.is_empty(),
        "{} of {} conformance cases failed:\n{}",
        suite.failures.len(),
        suite.cases,
        suite.failures.join("\n")
    );
    eprintln!("conformance: {} cases passed", suite.cases);
}

/// The mapping version, and the SHA-256 of what the gateway sends for every conformance input
/// that it stands for (see the test below). Translating any input differently is a new
/// mapping: `audit replay` of entries recorded before would fail.
const MAPPING_DIGEST: (&str, &str) = (
    "tongban-mapping/2",
    "a2c627138e15a39d713918d49a25fd619ba7030b1f78f89df68abbe146e8fe23",
);

/// Every input under `conformance/` (`pairs/*/sh.xml`, `pairs/*/zj.json`, `sh/*.xml`,
/// `zj/*.json`) with its platform, by path.
fn conformance_inputs() -> Vec<(String, Platform, Vec<u8>)> {
    let root = crate_dir().join("conformance");
    let mut out = Vec::new();
    for dir in files(&root.join("pairs"))
        .into_iter()
        .filter(|d| d.is_dir())
    {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        for (p, file) in [
            (Platform::Shanghai, "sh.xml"),
            (Platform::Zhejiang, "zj.json"),
        ] {
            let bytes = std::fs::read(dir.join(file)).unwrap();
            out.push((format!("pairs/{name}/{file}"), p, bytes));
        }
    }
    for (p, ext) in [(Platform::Shanghai, "xml"), (Platform::Zhejiang, "json")] {
        for file in files(&root.join(p.key())) {
            let fname = file.file_name().unwrap().to_string_lossy().into_owned();
            if fname.ends_with(&format!(".{ext}")) {
                let bytes = std::fs::read(&file).unwrap();
                out.push((format!("{}/{fname}", p.key()), p, bytes));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// What the gateway sends for `bytes` received from `p`: an application under a gateway
/// number, a decision under a source number ([`platform::write_under`], as FORWARDED and
/// DELIVERED record); `None` when the reader refuses it.
fn as_sent(p: Platform, bytes: &[u8]) -> Option<Vec<u8>> {
    let doc = platform::read(p, bytes).ok()?.document;
    let number = match doc {
        Document::Application(_) => "TB202611230000000001",
        Document::Decision(_) => "SRC-20261123-0001",
    };
    let number = ApplicationNo::parse(number).unwrap();
    Some(platform::write_under(p.other(), doc, number).bytes)
}

/// The mapping version changes whenever the translation of any input would: it is held
/// against the SHA-256 over every conformance input's name and what the gateway sends for
/// it (or that it is refused), in name order, each part length-prefixed.
#[test]
fn mapping_version_holds_the_digest_of_the_suites_translations() {
    let mut h = Sha256::new();
    let inputs = conformance_inputs();
    assert!(inputs.len() > 100, "{} conformance inputs", inputs.len());
    for (name, p, bytes) in &inputs {
        h.update((name.len() as u64).to_be_bytes());
        h.update(name.as_bytes());
        match as_sent(*p, bytes) {
            Some(out) => {
                h.update([1]);
                h.update((out.len() as u64).to_be_bytes());
                h.update(&out);
            }
            None => h.update([0]),
        }
    }
    let digest = hex::encode(h.finalize());
    assert!(
        (MAPPING_VERSION, digest.as_str()) == MAPPING_DIGEST,
        "the conformance suite's translations ({} inputs) hash to {digest} under {MAPPING_VERSION}; \
         MAPPING_DIGEST pins {} to {}.\n\
         If what is sent for any existing input changed (or an input is now refused, or accepted), \
         the mapping changed: bump MAPPING_VERSION in src/platform.rs, say why in its comment, and \
         set MAPPING_DIGEST in tests/all/conformance.rs to (the new version, {digest}). \
         If cases were only added or removed, set the new digest with the same version.",
        inputs.len(),
        MAPPING_DIGEST.0,
        MAPPING_DIGEST.1,
    );
}
