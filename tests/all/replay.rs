//! `audit export --with-documents` and `audit replay`: the demo's flow replays; a flipped byte
//! in one archived document, a missing document, or an entry recording another mapping version
//! is named with its entry; many applications replay (and, `--ignored`, how long 10⁴ take).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant as Clock;

use sha2::{Digest as _, Sha256};
use tongban::demo::{Loopback, SAMPLE_SH_APPLICATION};
use tongban::gateway::intake::pipeline::GATEWAY_NO_HEADER;
use tongban::gateway::record::{AppState, Batch, DocKind};
use tongban::ledger::{self, Decision, DecisionResult, Entry, Instant, Log, Step};
use tongban::model::{ApplicationNo, Document};
use tongban::platform::{self, Platform, MAPPING_VERSION};
use tongban::store::DataDir;

use crate::gateway::{options, text, zj_application};
use crate::wait_for;

fn tongban(data: Option<&Path>, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tongban"));
    if let Some(d) = data {
        c.arg("--data-dir").arg(d);
    }
    c.args(args).output().unwrap()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `audit export OUT --with-documents` of the data directory `data`.
fn export(data: &Path, out: &Path) -> String {
    let o = tongban(Some(data), &["audit", "export", s(out), "--with-documents"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

/// `audit replay BUNDLE --json`: exit code and report.
fn replay(bundle: &Path) -> (Option<i32>, serde_json::Value) {
    let o = tongban(None, &["audit", "replay", s(bundle), "--json"]);
    (o.status.code(), json(&o))
}

/// `(entry, kind, field)` of every replay failure.
fn failures(report: &serde_json::Value) -> Vec<(u64, String, String)> {
    report["replay"]["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["entry"].as_u64().unwrap(),
                f["kind"].as_str().unwrap().to_owned(),
                f["field"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The demo's flow on loopback: the shared sample from Shanghai and a Zhejiang application,
/// both to DELIVERED; then the gateway stops and its data directory is exported with its
/// documents. Returns the bundle.
async fn demo_bundle(dir: &Path) -> PathBuf {
    let lb = Loopback::start(dir, options()).await.unwrap();
    let mut numbers = Vec::new();
    for reply in [
        lb.sh.submit(SAMPLE_SH_APPLICATION).await.unwrap(),
        lb.zj
            .submit(&zj_application("ZJ-NH-20261123-0001"))
            .await
            .unwrap(),
    ] {
        assert_eq!(reply.status, 200, "{}", text(&reply));
        numbers.push(reply.headers[GATEWAY_NO_HEADER].clone());
    }
    let delivered = |no: &str| {
        lb.gateway()
            .and_then(|g| g.store.get(no).ok().flatten())
            .is_some_and(|r| r.state == AppState::Delivered)
    };
    wait_for("both DELIVERED", || numbers.iter().all(|n| delivered(n))).await;
    let lb_config = lb.config_path.clone();
    lb.stop().await;
    let bundle = dir.join("bundle");
    // Through the gateway's configuration: its data directory and storage, either backend.
    let config = lb_config.to_str().unwrap();
    let o = tongban(
        None,
        &[
            "audit",
            "export",
            s(&bundle),
            "--with-documents",
            "--config",
            config,
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.contains("8 documents"), "{out}");
    bundle
}

/// The replayed entries of a report: `(entry, step, gateway number, received_sha256)`.
fn replayed(report: &serde_json::Value) -> Vec<(u64, String, String, String)> {
    report["replay"]["replayed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["entry"].as_u64().unwrap(),
                r["step"].as_str().unwrap().to_owned(),
                r["gateway_no"].as_str().unwrap().to_owned(),
                r["received_sha256"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn replay_over_the_demos_export_passes() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = demo_bundle(dir.path()).await;
    let (code, report) = replay(&bundle);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["ok"], true);
    assert_eq!(report["replay"]["mapping_version"], MAPPING_VERSION);
    assert_eq!(report["replay"]["entries"], 8);
    assert_eq!(report["replay"]["translations"], 4);
    let mut steps: Vec<String> = replayed(&report).into_iter().map(|r| r.1).collect();
    steps.sort();
    assert_eq!(steps, ["delivered", "delivered", "forwarded", "forwarded"]);
    // Both directions, applications and decisions.
    let pairs: Vec<_> = report["replay"]["replayed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("{} {}>{}", r["document"], r["from"], r["to"]))
        .collect();
    for want in [
        r#""application" "sh">zj"#,
        r#""decision" "zj">sh"#,
        r#""application" "zj">sh"#,
        r#""decision" "sh">zj"#,
    ] {
        assert!(
            pairs
                .iter()
                .any(|p| p.replace('"', "") == want.replace('"', "")),
            "{want} not in {pairs:?}"
        );
    }
    // The text report, and `audit verify` over the same bundle with its documents.
    let o = tongban(None, &["audit", "replay", s(&bundle)]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(
            "4 of 4 translations replayed with tongban-mapping/2 (2 forwarded, 2 delivered)"
        ),
        "{out}"
    );
    let o = tongban(None, &["audit", "verify", s(&bundle), "--json"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(json(&o)["documents_checked"], 8);
    // The documents directory is its owner's only: it holds personal data.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(bundle.join("documents"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }
}

#[tokio::test]
async fn a_flipped_byte_or_a_missing_document_names_only_its_entry() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = demo_bundle(dir.path()).await;
    let (_, report) = replay(&bundle);
    let all = replayed(&report);
    let docs = bundle.join("documents");
    for (entry, step, no, received) in &all {
        let path = docs.join(received);
        let original = std::fs::read(&path).unwrap();
        // One byte of the document received, flipped (the last one: still well-formed
        // content for the readers in most cases, and a changed hash in all).
        let mut flipped = original.clone();
        *flipped.last_mut().unwrap() ^= 0x01;
        std::fs::write(&path, &flipped).unwrap();
        let (code, r) = replay(&bundle);
        assert_eq!(code, Some(1), "{r:#}");
        assert_eq!(
            failures(&r),
            vec![(*entry, "document-altered".into(), "received_sha256".into())],
            "{step} of {no}"
        );
        let message = r["replay"]["failures"][0]["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!(
                "entry {entry} (received_sha256): the archived document {received} was altered"
            )),
            "{message}"
        );
        // Missing altogether.
        std::fs::remove_file(&path).unwrap();
        let (code, r) = replay(&bundle);
        assert_eq!(code, Some(1));
        assert_eq!(
            failures(&r),
            vec![(*entry, "document-missing".into(), "received_sha256".into())]
        );
        let message = r["replay"]["failures"][0]["message"].as_str().unwrap();
        assert!(message.contains(received), "{message}");
        std::fs::write(&path, &original).unwrap();
    }
    // A byte of an archived document sent: named too (the copy is not what was sent).
    let (entry, ..) = &all[0];
    let sent = report["replay"]["replayed"][0]["sent_sha256"]
        .as_str()
        .unwrap();
    let path = docs.join(sent);
    let mut b = std::fs::read(&path).unwrap();
    b[10] ^= 0x20;
    std::fs::write(&path, &b).unwrap();
    let (code, r) = replay(&bundle);
    assert_eq!(code, Some(1));
    assert_eq!(
        failures(&r),
        vec![(*entry, "document-altered".into(), "sent_sha256".into())]
    );
    // A bundle without documents is a usage error, not a replay.
    let o = tongban(
        None,
        &[
            "audit",
            "replay",
            s(&bundle),
            "--documents",
            s(&dir.path().join("none")),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--with-documents"));
}

/// One application that went the whole way: its documents and its four entries, as the
/// gateway records them.
struct Application {
    gateway_no: String,
    docs: Vec<(DocKind, Vec<u8>)>,
    entries: Vec<Entry>,
}

fn sha(b: &[u8]) -> [u8; 32] {
    Sha256::digest(b).into()
}

/// Application `i`: from Shanghai (even) or Zhejiang (odd), translated and forwarded under
/// the gateway's number, granted by the other platform's sandbox, delivered back under the
/// source's number.
fn application(i: u64) -> Application {
    let (source, dest, received) = if i.is_multiple_of(2) {
        let sample = std::str::from_utf8(SAMPLE_SH_APPLICATION).unwrap();
        let own = sample.replace("SH-JS-LX-20261120-0007", &format!("SH-JS-LX-2026-{i:07}"));
        (Platform::Shanghai, Platform::Zhejiang, own.into_bytes())
    } else {
        let own = zj_application(&format!("ZJ-NH-2026-{i:07}"));
        (Platform::Zhejiang, Platform::Shanghai, own)
    };
    let gateway_no = format!("TB20261123{i:010}");
    let Document::Application(app) = platform::read(source, &received).unwrap().document else {
        panic!("not an application")
    };
    let source_no = app.number.as_str().to_owned();
    let item = app.item.key().to_owned();
    let number = |n: &str| ApplicationNo::parse(n).unwrap();
    let forwarded =
        platform::write_under(dest, Document::Application(app), number(&gateway_no)).bytes;
    let Document::Application(there) = platform::read(dest, &forwarded).unwrap().document else {
        panic!("not an application")
    };
    let decision = tongban::demo::sandbox::grant(&there, i);
    let licence = decision.licence.clone().unwrap();
    let decided = platform::write(dest, &Document::Decision(Box::new(decision))).bytes;
    let read = platform::read(dest, &decided).unwrap().document;
    let delivered = platform::write_under(source, read, number(&source_no)).bytes;

    let base = Entry {
        step: Step::Received,
        gateway_no: gateway_no.clone(),
        source_no,
        destination_no: None,
        source_platform: source.key().into(),
        destination_platform: dest.key().into(),
        item,
        at: Instant {
            unix: 1_795_000_000 + i as i64,
            offset_minutes: 480,
        },
        source_time: None,
        received_sha256: sha(&received),
        sent_sha256: None,
        mapping_version: MAPPING_VERSION.into(),
        applicant_id_hash: Some(ledger::salted_id_hash(&[7; 32], &format!("id-{i}"))),
        decision: None,
        reason: None,
        sender_keyid: None,
        sender_alg: None,
    };
    let facts = Decision {
        result: DecisionResult::Approved,
        licence_no: Some(licence.number),
        valid_from: Some(licence.valid_from.to_string()),
        valid_to: Some(licence.valid_to.to_string()),
        authority: licence.issued_by,
    };
    let entries = vec![
        base.clone(),
        Entry {
            step: Step::Forwarded,
            destination_no: Some(format!("R{i}")),
            sent_sha256: Some(sha(&forwarded)),
            applicant_id_hash: None,
            ..base.clone()
        },
        Entry {
            step: Step::Decided,
            destination_no: Some(format!("R{i}")),
            received_sha256: sha(&decided),
            applicant_id_hash: None,
            decision: Some(facts.clone()),
            ..base.clone()
        },
        Entry {
            step: Step::Delivered,
            destination_no: Some(format!("R{i}")),
            received_sha256: sha(&decided),
            sent_sha256: Some(sha(&delivered)),
            applicant_id_hash: None,
            decision: Some(facts),
            ..base
        },
    ];
    Application {
        gateway_no,
        docs: vec![
            (DocKind::ApplicationReceived, received),
            (DocKind::ApplicationSent, forwarded),
            (DocKind::DecisionReceived, decided),
            (DocKind::DecisionSent, delivered),
        ],
        entries,
    }
}

/// A data directory as a gateway leaves it after `n` applications went to DELIVERED, each
/// batch of applications committed with its entries as the committer does; `tweak` may
/// change an entry (application number, entry) before it is appended. A checkpoint is signed.
fn gateway_data(dir: &Path, n: u64, tweak: impl Fn(u64, &mut Entry)) {
    let data = DataDir::new(dir);
    let keys = data.keyring_or_create().unwrap();
    let stores = data.open().unwrap();
    let mut log = Log::open(stores.ledger.clone(), keys.active().name()).unwrap();
    const BATCH: u64 = 250;
    for start in (0..n).step_by(BATCH as usize) {
        let apps: Vec<Application> = (start..(start + BATCH).min(n))
            .map(|i| {
                let mut a = application(i);
                for e in &mut a.entries {
                    tweak(i, e);
                }
                a
            })
            .collect();
        let entries: Vec<Entry> = apps.iter().flat_map(|a| a.entries.clone()).collect();
        let encoded = ledger::log::encode_batch(&entries).unwrap();
        let mut append = log.prepare_append(&encoded).unwrap();
        let mut batch = Batch {
            ledger: append.take_writes(),
            ..Batch::default()
        };
        for a in &apps {
            for (kind, bytes) in &a.docs {
                batch.docs.push((&a.gateway_no, *kind, bytes));
            }
        }
        stores.records.commit(batch).unwrap();
        log.appended(append);
    }
    log.sign_checkpoint(keys.active()).unwrap();
}

#[test]
fn an_entry_recording_another_mapping_version_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Application 1's FORWARDED entry (index 5) says it was translated by mapping 1.
    gateway_data(&data, 3, |i, e| {
        if i == 1 && e.step == Step::Forwarded {
            e.mapping_version = "tongban-mapping/1".into();
        }
    });
    let bundle = dir.path().join("bundle");
    export(&data, &bundle);
    let (code, report) = replay(&bundle);
    assert_eq!(code, Some(1), "{report:#}");
    assert_eq!(report["verification"]["failures"], serde_json::json!([]));
    assert_eq!(
        failures(&report),
        vec![(5, "other-mapping-version".into(), "mapping_version".into())]
    );
    let message = report["replay"]["failures"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("\"tongban-mapping/1\"") && message.contains("\"tongban-mapping/2\""),
        "{message}"
    );
    assert_eq!(report["replay"]["translations"], 6);
    assert_eq!(report["replay"]["replayed"].as_array().unwrap().len(), 5);
    let o = tongban(None, &["audit", "replay", s(&bundle)]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("FAIL [other-mapping-version]: entry 5 (mapping_version): records mapping version \"tongban-mapping/1\""), "{out}");
    assert!(
        out.contains("FAILED:") && out.contains("5 of 6 translations"),
        "{out}"
    );
}

#[test]
fn a_bundle_that_does_not_verify_is_not_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    gateway_data(&data, 2, |_, _| {});
    let bundle = dir.path().join("bundle");
    export(&data, &bundle);
    // Entry 1's mapping version rewritten in the entries file: the signed root no longer holds.
    let path = bundle.join("entries");
    let b = std::fs::read(&path).unwrap();
    let at = b
        .windows(MAPPING_VERSION.len())
        .position(|w| w == MAPPING_VERSION.as_bytes())
        .unwrap();
    let mut b2 = b.clone();
    b2[at + MAPPING_VERSION.len() - 1] = b'1';
    std::fs::write(&path, &b2).unwrap();
    let (code, report) = replay(&bundle);
    assert_eq!(code, Some(1));
    assert_eq!(report["replay"], serde_json::Value::Null);
    assert!(report["verification"]["failures"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["kind"] == "entry-altered"));
    let o = tongban(None, &["audit", "replay", s(&bundle)]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("nothing replayed: the bundle does not verify")
    );
}

#[test]
fn many_applications_export_their_documents_and_replay() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    gateway_data(&data, 40, |_, _| {});
    let bundle = dir.path().join("bundle");
    let out = export(&data, &bundle);
    assert!(out.contains("160 documents"), "{out}");
    assert!(!out.contains("note:"), "{out}");
    let (code, report) = replay(&bundle);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["replay"]["translations"], 80);
    // A range: only the documents its entries reference.
    let part = dir.path().join("part");
    let o = tongban(
        Some(&data),
        &[
            "audit",
            "export",
            s(&part),
            "--from",
            "8",
            "--to",
            "12",
            "--with-documents",
            "--no-sign",
        ],
    );
    assert!(o.status.success());
    assert_eq!(
        std::fs::read_dir(part.join("documents")).unwrap().count(),
        4
    );
    let (code, report) = replay(&part);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["replay"]["translations"], 2);
}

/// The figure in the README: `REPLAY_APPLICATIONS=10000 cargo test --release --test all
/// replay::measure -- --ignored --nocapture`.
#[test]
#[ignore]
fn measure_replay_of_many_applications() {
    let n: u64 = std::env::var("REPLAY_APPLICATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let t = Clock::now();
    gateway_data(&data, n, |_, _| {});
    println!("{n} applications written in {:.1?}", t.elapsed());
    let bundle = dir.path().join("bundle");
    let t = Clock::now();
    let out = export(&data, &bundle);
    println!(
        "audit export --with-documents: {:.2?} ({})",
        t.elapsed(),
        out.trim()
    );
    let t = Clock::now();
    let o = tongban(None, &["audit", "replay", s(&bundle)]);
    let took = t.elapsed();
    assert_eq!(o.status.code(), Some(0));
    println!(
        "audit replay of {n} applications: {took:.2?} — {}",
        String::from_utf8_lossy(&o.stdout).trim()
    );
}
