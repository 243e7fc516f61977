//! The storage conformance suite: the same assertions against the embedded store (sled) and
//! against PostgreSQL, through the traits the gateway uses; then what only a store shared by
//! several instances promises (PostgreSQL: one writer at a time, leases on due jobs, the
//! schema's version). The PostgreSQL tests run on a fresh database each on the cluster
//! `TONGBAN_TEST_POSTGRES` names, and skip, saying so, without it (unless
//! `TONGBAN_REQUIRE_POSTGRES=1`).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use prometheus_client::registry::Registry;
use tongban::gateway::ops::{self, StoreHealth};
use tongban::gateway::outbox::{Job, JobKind, JobState, OutboxStore, RetryPolicy};
use tongban::gateway::record::{AppRecord, AppState, AppStore, Batch, DocKind, Event};
use tongban::ledger::log::KEY_SIZE;
use tongban::ledger::{Entry, LedgerStore, Log, Step};
use tongban::platform::Reply;
use tongban::store::postgres::{PgConfig, PgError, PgStore, TestDatabase, SCHEMA_VERSION};
use tongban::store::{DataDir, Stores};

const ORIGIN: &str = "storage.tongban.example/ledger";
const OFFICE: &str = "113101160024321631";

/// A store the suite opens, closes and opens again.
trait Backend {
    fn open(&self) -> Stores;
}

struct Sled(tempfile::TempDir);

impl Backend for Sled {
    fn open(&self) -> Stores {
        DataDir::new(self.0.path()).open().unwrap()
    }
}

struct Postgres(TestDatabase);

impl Backend for Postgres {
    fn open(&self) -> Stores {
        PgStore::connect(&self.0.config()).unwrap().stores()
    }
}

fn sled() -> Sled {
    Sled(tempfile::tempdir().unwrap())
}

fn postgres(test: &str) -> Option<Postgres> {
    TestDatabase::migrated(test).map(Postgres)
}

/// Runs one conformance check against both backends.
macro_rules! conformance {
    ($($check:ident),* $(,)?) => {
        mod sled_store {
            $( #[test] fn $check() { super::$check(&super::sled()); } )*
        }
        mod postgres_store {
            $( #[test] fn $check() {
                if let Some(pg) = super::postgres(concat!("storage::postgres_store::", stringify!($check))) {
                    super::$check(&pg);
                }
            } )*
        }
    };
}

conformance!(
    a_batch_is_one_commit_of_claims_records_documents_jobs_and_ledger_writes,
    a_dropped_batch_writes_nothing,
    offices_and_recent_list_newest_first,
    due_jobs_come_earliest_first_and_finished_ones_never,
    a_job_passed_over_as_busy_is_due_again_once_free,
    numbers_are_unique_and_increasing,
    the_ledger_appended_through_batches_reopens_with_its_root,
);

fn gateway_no(n: u64) -> String {
    format!("TB20261120{n:010}")
}

fn rec(n: u64, office: &str) -> AppRecord {
    AppRecord {
        gateway_no: gateway_no(n),
        source: "sh".into(),
        source_no: format!("SH-{n}"),
        destination: "zj".into(),
        destination_receipt: None,
        item: "food-new".into(),
        accepted_on: "2026-11-20".into(),
        working_days: 10,
        deadline: "2026-12-04".into(),
        deadline_provisional: false,
        received_sha256: "00".repeat(32),
        received_index: Some(n),
        state: AppState::Received,
        decision: None,
        failure: None,
        timeline: vec![Event {
            step: "RECEIVED".into(),
            at: 1_763_602_200_000,
            ledger_index: Some(n),
            note: Some("signed by 沪 & <zj>".into()),
        }],
        office_uscc: office.into(),
        operator_name: "平湖市广陈镇阿怡面馆𠀀".into(),
        accepted_at: "2026-11-20T09:30:00+08:00".into(),
        handed_over_by: None,
        sender_keyid: None,
        sender_alg: None,
    }
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        jitter: 0.0,
        ..RetryPolicy::default()
    }
}

fn job(n: u64, due: i64) -> Job {
    Job::new(JobKind::Application, &gateway_no(n), "zj", due, &policy())
}

/// Commits `r` as a new application: its claim and its record, nothing else.
fn commit_new(records: &dyn AppStore, r: &AppRecord) {
    records
        .commit(Batch {
            claims: vec![r],
            records: vec![r],
            ..Batch::default()
        })
        .unwrap();
}

fn delivered(mut job: Job, at: i64) -> Job {
    job.state = JobState::Pending { not_before: at };
    job.start(at).unwrap();
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0);
    job.finish(Reply::Duplicate, at, &policy(), &mut rng)
        .unwrap();
    job
}

fn ids(jobs: Vec<Job>) -> Vec<String> {
    jobs.into_iter().map(|j| j.id).collect()
}

fn received(n: u64) -> Entry {
    let mut e = Entry::example(n);
    e.step = Step::Received;
    // The facts its record holds (see `rec`).
    e.gateway_no = gateway_no(n);
    e.source_platform = "sh".into();
    e.source_no = format!("SH-{n}");
    e.destination_platform = "zj".into();
    e.received_sha256 = [0; 32];
    e.decision = None;
    e.sent_sha256 = None;
    e
}

/// Appends the RECEIVED entries of `recs` through one batch with their claims, records,
/// documents and jobs, as the committer does.
fn commit_applications(stores: &Stores, log: &mut Log<Arc<dyn LedgerStore>>, recs: &[AppRecord]) {
    let encoded: Vec<Vec<u8>> = recs
        .iter()
        .map(|r| received(r.received_index.unwrap()).encode().unwrap())
        .collect();
    let mut append = log.prepare_append(&encoded).unwrap();
    let jobs: Vec<Job> = recs
        .iter()
        .map(|r| job(r.received_index.unwrap(), 1_000))
        .collect();
    let bodies: Vec<Vec<u8>> = recs
        .iter()
        .map(|r| format!("<RemoteApply no=\"{}\"/>", r.source_no).into_bytes())
        .collect();
    let mut batch = Batch {
        ledger: append.take_writes(),
        ..Batch::default()
    };
    batch.claims.extend(recs.iter());
    batch.records.extend(recs.iter());
    batch.jobs.extend(jobs.iter());
    for (r, body) in recs.iter().zip(&bodies) {
        batch
            .docs
            .push((&r.gateway_no, DocKind::ApplicationReceived, body));
    }
    let tx = stores.records.begin().unwrap();
    if let Some(size) = tx.ledger_size() {
        assert_eq!(size, log.size(), "the batch sees the ledger's stored size");
    }
    tx.commit(batch).unwrap();
    log.appended(append);
}

fn a_batch_is_one_commit_of_claims_records_documents_jobs_and_ledger_writes(b: &dyn Backend) {
    let r = rec(7, OFFICE);
    {
        let stores = b.open();
        let j = job(7, 1_000);
        let tx = stores.records.begin().unwrap();
        tx.commit(Batch {
            claims: vec![&r],
            records: vec![&r],
            docs: vec![
                (
                    &r.gateway_no,
                    DocKind::ApplicationReceived,
                    "<a>𠀀&amp;</a>".as_bytes(),
                ),
                (&r.gateway_no, DocKind::ApplicationSent, &[0, 159, 255][..]),
            ],
            jobs: vec![&j],
            ledger: vec![
                (b"q\0\0\0\0\0\0\0\0".to_vec(), Some(b"entry".to_vec())),
                (KEY_SIZE.to_vec(), Some(1u64.to_be_bytes().to_vec())),
            ],
            drop_docs: vec![],
        })
        .unwrap();
    }
    // Opened again, as after a restart: everything is there, in its place.
    let stores = b.open();
    let records = &stores.records;
    assert_eq!(
        records.claimed("sh", "SH-7").unwrap().as_deref(),
        Some(r.gateway_no.as_str())
    );
    assert_eq!(records.claimed("zj", "SH-7").unwrap(), None);
    assert_eq!(records.get(&r.gateway_no).unwrap(), Some(r.clone()));
    assert_eq!(
        records
            .doc(&r.gateway_no, DocKind::ApplicationReceived)
            .unwrap(),
        Some("<a>𠀀&amp;</a>".as_bytes().to_vec()),
        "the exact bytes"
    );
    assert_eq!(
        records
            .doc(&r.gateway_no, DocKind::ApplicationSent)
            .unwrap(),
        Some(vec![0, 159, 255])
    );
    assert_eq!(
        records.doc(&r.gateway_no, DocKind::DecisionSent).unwrap(),
        None
    );
    assert_eq!(
        ids(stores.outbox.due(1_000, 10).unwrap()),
        [format!("{}/application", r.gateway_no)]
    );
    assert_eq!(
        stores.ledger.get(KEY_SIZE).unwrap(),
        Some(1u64.to_be_bytes().to_vec())
    );
    assert_eq!(
        stores.ledger.get(b"q\0\0\0\0\0\0\0\0").unwrap().as_deref(),
        Some(&b"entry"[..])
    );
    let claims: Vec<_> = records.claims().collect::<Result<_, _>>().unwrap();
    assert_eq!(claims, [("sh".into(), "SH-7".into(), r.gateway_no.clone())]);
    let all: Vec<_> = records.all().collect::<Result<_, _>>().unwrap();
    assert_eq!(all, std::slice::from_ref(&r));

    // A copy's documents stored ahead under its own number are dropped by a later batch.
    records
        .put_documents(&gateway_no(8), &[(DocKind::ApplicationReceived, b"copy")])
        .unwrap();
    assert!(records
        .doc(&gateway_no(8), DocKind::ApplicationReceived)
        .unwrap()
        .is_some());
    let no8 = gateway_no(8);
    records
        .commit(Batch {
            drop_docs: vec![&no8],
            ..Batch::default()
        })
        .unwrap();
    assert_eq!(
        records.doc(&no8, DocKind::ApplicationReceived).unwrap(),
        None
    );
}

fn a_dropped_batch_writes_nothing(b: &dyn Backend) {
    let stores = b.open();
    let r = rec(1, OFFICE);
    {
        let mut tx = stores.records.begin().unwrap();
        assert_eq!(tx.claimed(&[("sh", "SH-1")]).unwrap(), [None]);
        assert_eq!(tx.get(&[&r.gateway_no]).unwrap(), [None]);
        // Dropped without commit: a crash of the committer between deciding and writing.
    }
    let later = rec(2, OFFICE);
    let tx = stores.records.begin().unwrap();
    // The store is free again (a second batch begins) and holds nothing of the first.
    tx.commit(Batch {
        claims: vec![&later],
        records: vec![&later],
        ..Batch::default()
    })
    .unwrap();
    drop(stores);
    let stores = b.open();
    assert_eq!(stores.records.claimed("sh", "SH-1").unwrap(), None);
    assert_eq!(stores.records.get(&r.gateway_no).unwrap(), None);
    let mut tx = stores.records.begin().unwrap();
    assert_eq!(
        tx.claimed(&[("sh", "SH-1"), ("sh", "SH-2")]).unwrap(),
        [None, Some(later.gateway_no.clone())],
        "many claims read at once, in order"
    );
    assert_eq!(
        tx.get(&[&later.gateway_no, &r.gateway_no]).unwrap(),
        [Some(later.clone()), None]
    );
}

fn offices_and_recent_list_newest_first(b: &dyn Backend) {
    let stores = b.open();
    // An office whose USCC extends another's must not be listed under the other.
    let longer = format!("{OFFICE}X");
    let recs = [
        rec(1, OFFICE),
        rec(2, "11330482MB1234567N"),
        rec(3, OFFICE),
        rec(4, &longer),
        rec(10, OFFICE),
    ];
    for r in &recs {
        commit_new(&*stores.records, r);
    }
    let nos = |v: Vec<AppRecord>| -> Vec<u64> {
        v.iter()
            .map(|r| r.gateway_no[10..].parse().unwrap())
            .collect()
    };
    assert_eq!(
        nos(stores.records.by_office(OFFICE, 10).unwrap()),
        [10, 3, 1]
    );
    assert_eq!(nos(stores.records.by_office(OFFICE, 2).unwrap()), [10, 3]);
    assert_eq!(nos(stores.records.by_office(&longer, 10).unwrap()), [4]);
    assert!(stores
        .records
        .by_office("11330421MB76543218", 10)
        .unwrap()
        .is_empty());
    assert_eq!(nos(stores.records.recent(3).unwrap()), [10, 4, 3]);
    let all: Vec<_> = stores.records.all().collect::<Result<Vec<_>, _>>().unwrap();
    assert_eq!(nos(all), [1, 2, 3, 4, 10], "every record in number order");
}

fn due_jobs_come_earliest_first_and_finished_ones_never(b: &dyn Backend) {
    let stores = b.open();
    let outbox = &stores.outbox;
    for j in [job(2, 2_000), job(1, 1_000), job(3, 1_000)] {
        outbox.put(&j).unwrap();
    }
    let id = |n: u64| format!("{}/application", gateway_no(n));
    assert_eq!(ids(outbox.due(999, 10).unwrap()), Vec::<String>::new());
    assert_eq!(
        ids(outbox.due(1_500, 10).unwrap()),
        [id(1), id(3)],
        "due order, then id"
    );
    // Delivered: never due again, not open, kept.
    outbox.put(&delivered(job(1, 1_000), 1_600)).unwrap();
    // Written again, as an attempt's outcome writes a job, the others are free again (a
    // shared outbox leases the jobs it hands out, until they are written or the lease ends).
    let written_again = || {
        for j in [job(2, 2_000), job(3, 1_000)] {
            outbox.put(&j).unwrap();
        }
    };
    written_again();
    // Later: the others, earliest first; at most `limit`.
    assert_eq!(ids(outbox.due(100_000, 1).unwrap()), [id(3)]);
    written_again();
    assert_eq!(ids(outbox.due(200_000, 10).unwrap()), [id(3), id(2)]);
    written_again();
    // Jobs being attempted are passed over and do not count against the limit.
    let busy: HashSet<String> = [id(3)].into();
    assert_eq!(ids(outbox.due_except(300_000, 1, &busy).unwrap()), [id(2)]);
    let mut open = ids(outbox.open().unwrap());
    open.sort();
    assert_eq!(open, [id(2), id(3)]);
    assert!(matches!(
        outbox.get(&id(1)).unwrap().unwrap().state,
        JobState::Delivered { at: 1_600, .. }
    ));
    assert!(outbox.get("nope").unwrap().is_none());
    outbox.flush().unwrap();
}

/// The worker passes over the jobs it is still attempting or holding. A job its task has
/// written already (an attempt's outcome, a hold) but whose task the worker has not yet seen
/// end is such a job: once free, it must be due at the time it was written with, not kept
/// from every instance (this one included) until a lease ends.
fn a_job_passed_over_as_busy_is_due_again_once_free(b: &dyn Backend) {
    let stores = b.open();
    let outbox = &stores.outbox;
    let id = |n: u64| format!("{}/application", gateway_no(n));
    outbox.put(&job(7, 1_000)).unwrap();
    outbox.put(&job(8, 1_000)).unwrap();
    let busy: HashSet<String> = [id(7)].into();
    assert_eq!(ids(outbox.due_except(2_000, 10, &busy).unwrap()), [id(8)]);
    // The job taken is attempted, and its outcome written: due again later.
    outbox.put(&job(8, 5_000)).unwrap();
    assert_eq!(
        ids(outbox.due(2_001, 10).unwrap()),
        [id(7)],
        "free again, the job passed over is due at once"
    );
}

fn numbers_are_unique_and_increasing(b: &dyn Backend) {
    let stores = b.open();
    let first: Vec<u64> = (0..150)
        .map(|_| stores.records.next_sequence().unwrap())
        .collect();
    assert!(first.windows(2).all(|w| w[0] < w[1]), "{first:?}");
    // What a restart hands out is above what was committed before it.
    let r = rec(*first.last().unwrap(), OFFICE);
    commit_new(&*stores.records, &r);
    drop(stores);
    let stores = b.open();
    let next = stores.records.next_sequence().unwrap();
    assert!(next > *first.last().unwrap(), "{next} after {first:?}");
}

fn the_ledger_appended_through_batches_reopens_with_its_root(b: &dyn Backend) {
    let root = {
        let stores = b.open();
        let mut log = Log::open(stores.ledger.clone(), ORIGIN).unwrap();
        // 300 entries: a full bundle and tile, then a partial one.
        for chunk in (0..300u64).collect::<Vec<_>>().chunks(37) {
            let recs: Vec<AppRecord> = chunk.iter().map(|n| rec(*n, OFFICE)).collect();
            commit_applications(&stores, &mut log, &recs);
        }
        assert_eq!(log.size(), 300);
        log.root().unwrap()
    };
    let stores = b.open();
    let log = Log::open(stores.ledger.clone(), ORIGIN).unwrap();
    assert_eq!((log.size(), log.root().unwrap()), (300, root));
    assert!(
        log.check().unwrap().is_empty(),
        "every stored hash re-derived"
    );
    assert_eq!(stores.records.all().count(), 300);
}

// What only a store shared by several instances promises.

fn pg(test: &str) -> Option<(TestDatabase, PgStore)> {
    let db = TestDatabase::migrated(test)?;
    let store = PgStore::connect(&db.config()).unwrap();
    Some((db, store))
}

#[test]
fn postgres_batches_of_two_instances_commit_one_after_the_other() {
    let Some((db, a)) = pg("postgres_batches_of_two_instances_commit_one_after_the_other") else {
        return;
    };
    let b = PgStore::connect(&db.config()).unwrap();
    let (ra, rb) = (a.records(), b.records());
    let first = rec(1, OFFICE);
    let tx = ra.begin().unwrap();
    assert_eq!(tx.ledger_size(), Some(0));
    let begun = Arc::new(AtomicBool::new(false));
    let second = {
        let begun = begun.clone();
        std::thread::spawn(move || {
            let mut tx = rb.begin().unwrap();
            begun.store(true, Ordering::SeqCst);
            (tx.ledger_size(), tx.claimed(&[("sh", "SH-1")]).unwrap())
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !begun.load(Ordering::SeqCst),
        "the second instance's batch began while the first held the writer lock"
    );
    tx.commit(Batch {
        claims: vec![&first],
        records: vec![&first],
        ledger: vec![(KEY_SIZE.to_vec(), Some(1u64.to_be_bytes().to_vec()))],
        ..Batch::default()
    })
    .unwrap();
    let (size, claimed) = second.join().unwrap();
    assert_eq!(
        size,
        Some(1),
        "the second batch sees the first one's ledger size"
    );
    assert_eq!(claimed, [Some(first.gateway_no.clone())]);
    let mut registry = Registry::with_prefix(ops::METRICS_PREFIX);
    StoreHealth::register_metrics(&a, &mut registry);
    let text = ops::encode(&registry);
    let committed = text
        .lines()
        .find_map(|l| l.strip_prefix("tongban_db_batch_transaction_seconds_count "))
        .and_then(|n| n.parse::<u64>().ok());
    assert!(committed >= Some(1), "{text}");
}

#[test]
fn postgres_a_failed_commit_leaves_nothing() {
    let Some((_db, store)) = pg("postgres_a_failed_commit_leaves_nothing") else {
        return;
    };
    let records = store.records();
    let first = rec(1, OFFICE);
    commit_new(&records, &first);
    // A second claim of the same source number under another gateway number (what the
    // committer never writes) fails, and with it everything else of its batch.
    let mut copy = rec(2, OFFICE);
    copy.source_no = first.source_no.clone();
    let other = rec(3, OFFICE);
    let j = job(3, 0);
    let err = records
        .commit(Batch {
            claims: vec![&other, &copy],
            records: vec![&other, &copy],
            docs: vec![(&other.gateway_no, DocKind::ApplicationReceived, b"x")],
            jobs: vec![&j],
            ledger: vec![(KEY_SIZE.to_vec(), Some(2u64.to_be_bytes().to_vec()))],
            drop_docs: vec![],
        })
        .unwrap_err();
    assert!(err.to_string().contains("duplicate key"), "{err}");
    assert_eq!(records.claimed("sh", "SH-3").unwrap(), None);
    assert_eq!(records.get(&other.gateway_no).unwrap(), None);
    assert_eq!(
        records
            .doc(&other.gateway_no, DocKind::ApplicationReceived)
            .unwrap(),
        None
    );
    assert!(store.outbox().get(&j.id).unwrap().is_none());
    assert_eq!(store.ledger().get(KEY_SIZE).unwrap(), None);
    assert_eq!(store.tx_latency().failures(), 1);
    // The writer lock was released and the pool's connection is usable.
    commit_new(&records, &other);
    assert!(records.claimed("sh", "SH-3").unwrap().is_some());
}

#[test]
fn postgres_two_instances_taking_due_jobs_at_once_never_get_the_same_one() {
    let Some((db, a)) = pg("postgres_two_instances_taking_due_jobs_at_once_never_get_the_same_one")
    else {
        return;
    };
    let b = PgStore::connect(&db.config()).unwrap();
    for n in 0..300 {
        a.outbox().put(&job(n, 1_000)).unwrap();
    }
    let start = Arc::new(Barrier::new(2));
    let take = |store: PgStore| {
        let start = start.clone();
        std::thread::spawn(move || {
            let outbox = store.outbox();
            start.wait();
            let mut got = Vec::new();
            loop {
                let due = outbox.due(5_000, 7).unwrap();
                if due.is_empty() {
                    return got;
                }
                got.extend(ids(due));
            }
        })
    };
    let (ta, tb) = (take(a), take(b));
    let (ga, gb) = (ta.join().unwrap(), tb.join().unwrap());
    assert!(!ga.is_empty() && !gb.is_empty(), "both instances took jobs");
    let mut all: Vec<String> = ga.iter().chain(&gb).cloned().collect();
    all.sort();
    let n = all.len();
    all.dedup();
    assert_eq!(all.len(), n, "a job was taken by both instances");
    assert_eq!(n, 300, "every due job was taken");
}

#[test]
fn postgres_a_lease_that_runs_out_lets_the_other_instance_take_the_job() {
    let Some((db, a)) = pg("postgres_a_lease_that_runs_out_lets_the_other_instance_take_the_job")
    else {
        return;
    };
    let b = PgStore::connect(&PgConfig {
        lease: Duration::from_secs(10),
        ..db.config()
    })
    .unwrap();
    assert_ne!(a.instance(), b.instance());
    a.outbox().put(&job(1, 1_000)).unwrap();
    assert_eq!(a.outbox().due(1_000, 10).unwrap().len(), 1);
    // A's lease (60 s) holds: B finds nothing, until it runs out.
    assert!(b.outbox().due(60_000, 10).unwrap().is_empty());
    assert_eq!(b.outbox().due(61_001, 10).unwrap().len(), 1);
    // Now B's (10 s): A, still alive, waits for it too.
    assert!(a.outbox().due(71_000, 10).unwrap().is_empty());
    // A write frees the lease: a retry scheduled by B is due for anyone.
    let mut retry = job(1, 1_000);
    retry.state = JobState::Pending { not_before: 65_000 };
    b.outbox().put(&retry).unwrap();
    assert_eq!(a.outbox().due(65_000, 10).unwrap().len(), 1);
}

#[test]
fn postgres_a_finished_job_is_not_revived_by_a_late_write() {
    let Some((_db, store)) = pg("postgres_a_finished_job_is_not_revived_by_a_late_write") else {
        return;
    };
    let outbox = store.outbox();
    let id = job(1, 0).id;
    outbox.put(&delivered(job(1, 0), 500)).unwrap();
    // An instance whose lease ran out while its attempt was slow writes its retry late.
    outbox.put(&job(1, 1_000)).unwrap();
    let mut in_flight = job(1, 0);
    in_flight.start(0).unwrap();
    outbox.put(&in_flight).unwrap();
    // The same through a batch.
    let late = job(1, 2_000);
    store
        .records()
        .commit(Batch {
            jobs: vec![&late],
            ..Batch::default()
        })
        .unwrap();
    assert!(matches!(
        outbox.get(&id).unwrap().unwrap().state,
        JobState::Delivered { at: 500, .. }
    ));
    assert!(outbox.due(i64::MAX / 2, 10).unwrap().is_empty());
    assert!(outbox.open().unwrap().is_empty());
}

#[test]
fn postgres_numbers_of_two_instances_never_collide() {
    let Some((db, a)) = pg("postgres_numbers_of_two_instances_never_collide") else {
        return;
    };
    let b = PgStore::connect(&db.config()).unwrap();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..200 {
        for s in [&a, &b] {
            assert!(seen.insert(s.records().next_sequence().unwrap()));
        }
    }
}

#[test]
fn postgres_a_database_without_the_schema_is_refused_naming_the_command() {
    let Some(db) = TestDatabase::create(
        "postgres_a_database_without_the_schema_is_refused_naming_the_command",
    ) else {
        return;
    };
    let err = PgStore::connect(&db.config()).expect_err("refused");
    let text = err.to_string();
    assert!(matches!(err, PgError::Schema { found: None, .. }), "{text}");
    assert!(
        text.contains(&format!(
            "tongban storage migrate --postgres '{}'",
            db.url()
        )),
        "{text}"
    );
    assert_eq!(PgStore::migrate(&db.config()).unwrap(), SCHEMA_VERSION);
    // Migrating again changes nothing.
    assert_eq!(PgStore::migrate(&db.config()).unwrap(), SCHEMA_VERSION);
    let store = PgStore::connect(&db.config()).unwrap();
    store.ping().unwrap();
    assert!(store.pool_status().size >= 1);
    // A schema a later tongban migrated to is refused too.
    db.execute(&format!(
        "INSERT INTO tongban_schema (version, name) VALUES ({}, 'from_the_future')",
        SCHEMA_VERSION + 1
    ))
    .unwrap();
    let err = PgStore::connect(&db.config()).expect_err("refused");
    assert!(matches!(err, PgError::Newer { .. }), "{err}");
    assert!(PgStore::migrate(&db.config()).is_err(), "never downgrades");
}

#[test]
fn postgres_instances_migrating_at_once_apply_each_migration_once() {
    let Some(db) =
        TestDatabase::create("postgres_instances_migrating_at_once_apply_each_migration_once")
    else {
        return;
    };
    let config = db.config();
    let start = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (config, start) = (config.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                PgStore::migrate(&config)
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap().unwrap(), SCHEMA_VERSION);
    }
    PgStore::connect(&config).unwrap();
}

#[test]
fn postgres_an_unreachable_database_is_named_and_fails_fast() {
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let config = PgConfig::new(format!(
        "postgres://tongban:secret@127.0.0.1:{port}/tongban"
    ));
    let started = std::time::Instant::now();
    let err = PgStore::connect(&config).expect_err("refused");
    let text = err.to_string();
    assert!(matches!(err, PgError::Unreachable { .. }), "{text}");
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(
        !text.contains("secret"),
        "the password is never printed: {text}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

fn tongban(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tongban"))
        .args(args)
        .output()
        .unwrap()
}

/// What an operator compares after a copy: the ledger's size and root, every record with its
/// documents, every claim and every job (finished ones too).
#[derive(Debug, PartialEq)]
struct Contents {
    size: u64,
    root: String,
    records: Vec<(AppRecord, Vec<Option<Vec<u8>>>)>,
    claims: Vec<(String, String, String)>,
    jobs: Vec<Option<Job>>,
}

fn contents(stores: &Stores, job_ids: &[String]) -> Contents {
    let log = Log::open(stores.ledger.clone(), ORIGIN).unwrap();
    let records = stores
        .records
        .all()
        .map(|r| {
            let r = r.unwrap();
            let docs = DocKind::ALL
                .iter()
                .map(|k| stores.records.doc(&r.gateway_no, *k).unwrap())
                .collect();
            (r, docs)
        })
        .collect();
    Contents {
        size: log.size(),
        root: hex::encode(log.root().unwrap()),
        records,
        claims: stores.records.claims().map(Result::unwrap).collect(),
        jobs: job_ids
            .iter()
            .map(|id| stores.outbox.get(id).unwrap())
            .collect(),
    }
}

#[test]
fn postgres_a_copy_from_sled_to_postgres_and_back_keeps_the_ledger_and_every_record() {
    let Some(db) = TestDatabase::create(
        "postgres_a_copy_from_sled_to_postgres_and_back_keeps_the_ledger_and_every_record",
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let keys = tongban::signing::Keyring::create(&a.join("keys"), ORIGIN).unwrap();
    let mut job_ids = Vec::new();
    let (original, high) = {
        let stores = DataDir::new(&a).open().unwrap();
        let mut log = Log::open(stores.ledger.clone(), ORIGIN).unwrap();
        let all: Vec<u64> = (0..300).collect();
        for chunk in all.chunks(64) {
            let recs: Vec<AppRecord> = chunk.iter().map(|n| rec(*n, OFFICE)).collect();
            commit_applications(&stores, &mut log, &recs);
        }
        log.sign_checkpoint(keys.active()).unwrap();
        // One delivered, one failed-for-good job among the pending ones.
        stores.outbox.put(&delivered(job(5, 1_000), 2_000)).unwrap();
        let mut failed = job(6, 1_000);
        failed.state = JobState::Failed {
            at: 3_000,
            reason: "rejected by the destination: 4001".into(),
        };
        stores.outbox.put(&failed).unwrap();
        job_ids.extend((0..300).map(|n| job(n, 0).id));
        let high = stores.records.next_sequence().unwrap();
        (contents(&stores, &job_ids), high)
    };
    assert_eq!(original.size, 300);
    assert_eq!(original.records.len(), 300);

    let to_pg = format!("postgres:{}", db.url());
    let o = tongban(&[
        "storage",
        "copy",
        "--from",
        &format!("sled:{}", a.display()),
        "--to",
        &to_pg,
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains(&format!("root {} on both sides", original.root)),
        "{out}"
    );
    assert!(
        out.contains("copied 300 records, 300 claims, 300 documents, 300 outbox jobs"),
        "{out}"
    );

    // A destination that holds something is refused, and left as it was.
    let o = tongban(&[
        "storage",
        "copy",
        "--from",
        &format!("sled:{}", a.display()),
        "--to",
        &to_pg,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not empty"));

    let pg = PgStore::connect(&db.config()).unwrap();
    assert_eq!(contents(&pg.stores(), &job_ids), original);
    assert!(
        pg.records().next_sequence().unwrap() >= high,
        "numbers continue above the copied ones"
    );
    // The invariant holds over the copy (the log named by its checkpoints).
    let o = tongban(&["storage", "check", "--postgres", db.url()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    drop(pg);

    // And back, through the old name of the command.
    let o = tongban(&[
        "store",
        "copy",
        "--from",
        &to_pg,
        "--to",
        &format!("sled:{}", b.display()),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stores = DataDir::new(&b).open().unwrap();
    assert_eq!(contents(&stores, &job_ids), original);
    assert!(stores.records.next_sequence().unwrap() >= high);
    assert!(!b.join("store.copying").exists());
}

#[test]
fn postgres_migrate_from_the_command_line_names_the_version() {
    let Some(db) = TestDatabase::create("postgres_migrate_from_the_command_line_names_the_version")
    else {
        return;
    };
    for _ in 0..2 {
        let o = tongban(&["storage", "migrate", "--postgres", db.url()]);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success(),
            "{out}{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            out.contains(&format!("at version {SCHEMA_VERSION}")),
            "{out}"
        );
    }
    PgStore::connect(&db.config()).unwrap();
}

/// An HTTP handler reads through the store from inside a tokio task; one that reads more
/// times in one turn than the task's cooperative budget (128) must still be answered. It
/// was not: the 129th read spun forever, and a gateway restarted with a thousand records
/// in the check at start never became ready.
#[test]
fn postgres_a_task_reading_many_times_in_one_turn_is_answered() {
    let Some((_db, store)) = pg("many reads in one turn") else {
        return;
    };
    let (done, answered) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let records = store.records();
        let found = rt.block_on(async move {
            (0..300)
                .filter(|i| records.get(&gateway_no(*i)).unwrap().is_some())
                .count()
        });
        let _ = done.send(found);
    });
    let found = answered
        .recv_timeout(Duration::from_secs(30))
        .expect("300 reads from one task within 30 s");
    assert_eq!(found, 0);
}

/// `[storage] ca`: the connection is TLS and the server is verified against that CA. The
/// cluster here takes TLS connections only, so a store that connects spoke TLS.
#[test]
fn postgres_over_tls_verifies_the_server_against_the_configured_ca() {
    let dir = tempfile::tempdir().unwrap();
    let pki = tongban::gateway::transport::tls::generate_dev_pki(&dir.path().join("pki")).unwrap();
    let other =
        tongban::gateway::transport::tls::generate_dev_pki(&dir.path().join("other")).unwrap();
    let Some(cluster) =
        crate::backend::Cluster::start_tls(&pki.cert("gateway"), &pki.key("gateway"))
    else {
        return;
    };
    let config = |ca: Option<std::path::PathBuf>| PgConfig {
        ca,
        ..PgConfig::new(cluster.admin_url())
    };
    let trusted = config(Some(pki.ca()));
    PgStore::migrate(&trusted).unwrap();
    let store = PgStore::connect(&trusted).unwrap();
    store.ping().unwrap();
    assert!(store.records().get("TB1").unwrap().is_none());
    // In the clear, the server refuses; with a CA that did not issue its certificate, we do.
    let plain = PgStore::connect(&config(None)).expect_err("plain text refused");
    assert!(plain.to_string().contains("no encryption"), "{plain}");
    let stranger = PgStore::connect(&config(Some(other.ca()))).expect_err("unknown issuer");
    assert!(
        stranger.to_string().to_lowercase().contains("certificate"),
        "{stranger}"
    );
}
