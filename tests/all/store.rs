//! The data directory as an operator meets it: an earlier version's directory (two sled
//! databases, written here the way that version wrote them) is refused with the command that
//! migrates it, and `tongban storage migrate` carries over every entry, checkpoint and record.

use std::path::Path;
use std::process::{Command, Output};

use tongban::gateway::record::{AppRecord, AppState};
use tongban::ledger::{merkle, Checkpoint, Entry, Step};
use tongban::signing::Keyring;
use tongban::store::DataDir;

const ORIGIN: &str = "migrate.tongban.example/ledger";

fn tongban(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tongban"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .unwrap()
}

fn gateway_no(n: u64) -> String {
    format!("TB20261120{n:010}")
}

fn received(n: u64) -> Entry {
    let mut e = Entry::example(n);
    e.step = Step::Received;
    e.gateway_no = gateway_no(n);
    e.decision = None;
    e.sent_sha256 = None;
    e
}

fn record(n: u64, received_index: Option<u64>) -> AppRecord {
    let e = received(n);
    AppRecord {
        gateway_no: e.gateway_no,
        source: e.source_platform,
        source_no: e.source_no,
        destination: e.destination_platform,
        destination_receipt: None,
        item: "food-new".into(),
        accepted_on: "2026-11-20".into(),
        working_days: 10,
        deadline: "2026-12-04".into(),
        deadline_provisional: false,
        received_sha256: hex::encode(e.received_sha256),
        received_index,
        state: AppState::Received,
        decision: None,
        failure: None,
        timeline: received_index
            .map(|i| tongban::gateway::record::Event {
                step: "RECEIVED".into(),
                at: 0,
                ledger_index: Some(i),
                note: None,
            })
            .into_iter()
            .collect(),
        office_uscc: "11330482MB1234567N".into(),
        operator_name: "平湖市广陈镇阿怡面馆".into(),
        accepted_at: "2026-11-20T09:30:00+08:00".into(),
        handed_over_by: None,
        sender_keyid: None,
        sender_alg: None,
    }
}

/// Writes an earlier version's data directory: the ledger (`ledger/`, 16 KiB segments, the
/// partial bundle under `p`) with `entries` RECEIVED entries and a signed checkpoint of them,
/// and the records (`gateway/`) of all but the last, the last claimed but left without its
/// RECEIVED index by an interrupted batch, and one more claimed and never recorded at all.
/// Returns the checkpoint's root.
fn write_legacy(data: &Path, entries: u64) -> merkle::Hash {
    let ring = Keyring::create(&data.join("keys"), ORIGIN).unwrap();
    let encoded: Vec<Vec<u8>> = (0..entries)
        .map(|n| received(n).encode().unwrap())
        .collect();
    let leaves: Vec<_> = encoded.iter().map(|b| merkle::leaf_hash(b)).collect();
    let root = merkle::root_from_leaves(&leaves);
    let note = Checkpoint {
        origin: ORIGIN.into(),
        size: entries,
        root,
    }
    .sign(&[ring.active()])
    .unwrap();

    let ledger = sled::Config::new()
        .path(data.join("ledger"))
        .segment_size(16 * 1024)
        .open()
        .unwrap();
    let tree = |kind: u8| ledger.open_tree(format!("ledger-{kind:02x}")).unwrap();
    let bundle = |items: &[Vec<u8>]| -> Vec<u8> {
        items
            .iter()
            .flat_map(|b| [&(b.len() as u16).to_be_bytes()[..], b].concat())
            .collect()
    };
    for (b, chunk) in encoded.chunks(256).enumerate() {
        let b = b as u64;
        if chunk.len() == 256 {
            let mut key = vec![b'e'];
            key.extend_from_slice(&b.to_be_bytes());
            tree(b'e').insert(key, bundle(chunk)).unwrap();
        } else {
            let value = [&b.to_be_bytes()[..], &bundle(chunk)].concat();
            tree(b'p').insert(b"p", value).unwrap();
        }
    }
    let mut key = vec![b'c'];
    key.extend_from_slice(&0u64.to_be_bytes());
    tree(b'c').insert(key, note.as_bytes()).unwrap();
    tree(b's').insert(b"size", &entries.to_be_bytes()).unwrap();
    ledger.flush().unwrap();

    let gateway = sled::open(data.join("gateway")).unwrap();
    let apps = gateway.open_tree("gateway/apps").unwrap();
    let sources = gateway.open_tree("gateway/sources").unwrap();
    for n in 0..=entries {
        let rec = record(n, (n + 1 < entries).then_some(n));
        apps.insert(&rec.gateway_no, serde_json::to_vec(&rec).unwrap())
            .unwrap();
        let key = [rec.source.as_bytes(), b"\0", rec.source_no.as_bytes()].concat();
        sources.insert(key, rec.gateway_no.as_bytes()).unwrap();
        gateway.generate_id().unwrap();
    }
    gateway.flush().unwrap();
    root
}

#[test]
fn an_earlier_versions_data_directory_is_refused_then_migrated_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path();
    let root = write_legacy(data, 300);

    // Never read as if it were empty: refused, naming the command to run.
    let o = tongban(data, &["store", "check"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("storage migrate"), "{err}");
    assert!(!data.join("store").exists());

    let o = tongban(data, &["store", "migrate"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("migrated 300 ledger entries (1 signed checkpoints) and 300 records"),
        "{out}"
    );
    assert!(out.contains("1 interrupted applications completed from their RECEIVED entry, 1 never acknowledged removed; 0 violations"), "{out}");
    assert!(
        data.join("ledger.pre-migration").exists() && data.join("gateway.pre-migration").exists()
    );

    let o = tongban(data, &["store", "check"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );

    // The same tree: the old checkpoint verifies against the new store, and so does a new one.
    let bundle = tmp.path().join("bundle");
    let o = tongban(data, &["audit", "export", bundle.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = tongban(data, &["audit", "verify", bundle.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let stores = DataDir::new(data).open().unwrap();
    let log = tongban::ledger::Log::open(stores.ledger.clone(), ORIGIN).unwrap();
    assert_eq!(log.root_at(300).unwrap(), root);

    // The interrupted application is complete and queued; the unacknowledged one is gone.
    let done = stores.records.get(&gateway_no(299)).unwrap().unwrap();
    assert_eq!(done.received_index, Some(299));
    assert_eq!(stores.outbox.open().unwrap().len(), 1);
    assert!(stores.records.get(&gateway_no(300)).unwrap().is_none());
    assert_eq!(
        stores
            .records
            .claimed("zj", &received(300).source_no)
            .unwrap(),
        None
    );
    // New numbers continue above the earlier version's.
    assert!(stores.records.next_sequence().unwrap() > 300);
}

#[tokio::test]
async fn a_gateway_whose_ledger_disagrees_with_its_records_is_not_ready() {
    use tongban::demo::{Loopback, LoopbackOptions, DEMO_GATEWAY_DIR};
    let dir = tempfile::tempdir().unwrap();
    let mut lb = Loopback::start(dir.path(), LoopbackOptions::default())
        .await
        .unwrap();
    lb.stop_gateway().await;
    // A RECEIVED entry for an application the records do not hold, as two databases flushed
    // apart could leave after a crash.
    {
        let data = DataDir::new(dir.path().join(DEMO_GATEWAY_DIR));
        let stores = data.open().unwrap();
        let origin = data.keyring().unwrap().active().name().to_owned();
        let mut log = tongban::ledger::Log::open(stores.ledger, &origin).unwrap();
        log.append_batch(&[received(7)]).unwrap();
    }
    lb.start_gateway().await.unwrap();
    let r = reqwest::get(format!("http://{}/readyz", lb.ops_addr))
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("records and ledger disagree")
            && text.contains(&format!("{} (ledger entry 0)", gateway_no(7))),
        "{text}"
    );
    lb.stop().await;
    // The operator's full check names it too.
    let o = tongban(&dir.path().join(DEMO_GATEWAY_DIR), &["store", "check"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "{} (ledger entry 0): RECEIVED entry for an application the gateway has no record of",
            gateway_no(7)
        )),
        "{out}"
    );
}
