//! The gateway's application records and documents on sled, sharing one database (and so one
//! flush) with the outbox, so a record and the job it creates are written in one transaction.
//!
//! Trees: `gateway/apps` (gateway number → record JSON), `gateway/sources`
//! (`source key NUL source number` → gateway number), `gateway/docs`
//! (`gateway number NUL kind` → exact bytes), `gateway/offices` (`office USCC NUL gateway
//! number` → nothing: each office's applications in number order, i.e. in time order).

use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional as _;

use super::outbox::{err, put_in, unwrap_tx, SledOutbox};
use crate::gateway::outbox::StoreError;
use crate::gateway::record::{AppRecord, AppStore, Claim, DocKind, ToClaim, Writes};

/// Tree of records by gateway number.
const APPS_TREE: &str = "gateway/apps";
/// Tree mapping source numbers to gateway numbers.
const SOURCES_TREE: &str = "gateway/sources";
/// Tree of exact document bytes.
const DOCS_TREE: &str = "gateway/docs";
/// Index of applications by accepting office.
const OFFICES_TREE: &str = "gateway/offices";

/// Application records, documents and the outbox in one sled database.
#[derive(Clone)]
pub struct SledGateway {
    db: sled::Db,
    apps: sled::Tree,
    sources: sled::Tree,
    docs: sled::Tree,
    offices: sled::Tree,
    outbox: SledOutbox,
}

fn source_key(source: &str, no: &str) -> Vec<u8> {
    [source.as_bytes(), b"\0", no.as_bytes()].concat()
}

fn office_key(office: &str, gateway_no: &str) -> Vec<u8> {
    [office.as_bytes(), b"\0", gateway_no.as_bytes()].concat()
}

fn doc_key(gateway_no: &str, kind: DocKind) -> Vec<u8> {
    [gateway_no.as_bytes(), b"\0", kind.as_str().as_bytes()].concat()
}

fn abort(e: impl std::fmt::Display) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(err(e))
}

/// sled's page cache per database: records, documents and ledger tiles are written once and
/// read a few times soon after, so a small cache suffices and keeps the gateway well under
/// 100 MiB (sled's default is 1 GiB per database).
pub const CACHE_BYTES: u64 = 16 * 1024 * 1024;

/// Opens (or creates) a sled database at `path` tuned for the gateway: high-throughput mode,
/// bounded cache.
pub fn open_db(path: &std::path::Path) -> Result<sled::Db, StoreError> {
    sled::Config::new()
        .path(path)
        .mode(sled::Mode::HighThroughput)
        .cache_capacity(CACHE_BYTES)
        .open()
        .map_err(err)
}

/// Opens the ledger's database as `store::sled::open_sled` does (same mode and segment size,
/// which the on-disk format depends on) but with the gateway's bounded cache.
pub fn open_ledger_db(path: &std::path::Path) -> Result<sled::Db, StoreError> {
    sled::Config::new()
        .path(path)
        .mode(sled::Mode::HighThroughput)
        .segment_size(super::sled::SEGMENT_SIZE)
        .cache_capacity(CACHE_BYTES)
        .open()
        .map_err(err)
}

impl SledGateway {
    /// Opens (creating if needed) the trees in `db`.
    pub fn open(db: &sled::Db) -> Result<Self, StoreError> {
        Ok(Self {
            db: db.clone(),
            apps: db.open_tree(APPS_TREE).map_err(err)?,
            sources: db.open_tree(SOURCES_TREE).map_err(err)?,
            docs: db.open_tree(DOCS_TREE).map_err(err)?,
            offices: db.open_tree(OFFICES_TREE).map_err(err)?,
            outbox: SledOutbox::open(db)?,
        })
    }

    /// The outbox stored in the same database.
    pub fn outbox(&self) -> &SledOutbox {
        &self.outbox
    }

    fn decode(bytes: &[u8]) -> Result<AppRecord, StoreError> {
        serde_json::from_slice(bytes).map_err(err)
    }
}

impl AppStore for SledGateway {
    fn next_sequence(&self) -> Result<u64, StoreError> {
        self.db.generate_id().map_err(err)
    }

    fn claim_batch(&self, items: &[ToClaim<'_>]) -> Result<Vec<Claim>, StoreError> {
        let values = items
            .iter()
            .map(|item| serde_json::to_vec(item.rec).map_err(err))
            .collect::<Result<Vec<_>, _>>()?;
        let res: Result<Vec<Claim>, TransactionError<StoreError>> =
            (&self.apps, &self.sources, &self.docs, &self.offices).transaction(
                |(apps, sources, docs, offices)| {
                    let mut out = Vec::with_capacity(items.len());
                    for (item, value) in items.iter().zip(&values) {
                        let rec = item.rec;
                        let key = source_key(&rec.source, &rec.source_no);
                        // Reads inside the transaction see its own writes, so a number twice
                        // in one batch is claimed by its first occurrence.
                        if let Some(existing) = sources.get(&key)? {
                            let found = apps.get(&existing)?.ok_or_else(|| {
                                abort(format!("source number maps to missing record {existing:?}"))
                            })?;
                            out.push(Claim::Existing(Box::new(
                                Self::decode(&found).map_err(abort)?,
                            )));
                            continue;
                        }
                        sources.insert(key, rec.gateway_no.as_bytes())?;
                        apps.insert(rec.gateway_no.as_bytes(), value.as_slice())?;
                        docs.insert(
                            doc_key(&rec.gateway_no, DocKind::ApplicationReceived),
                            item.received,
                        )?;
                        if let Some(signature) = item.signature {
                            let kind = DocKind::ApplicationSignature;
                            docs.insert(doc_key(&rec.gateway_no, kind), signature)?;
                        }
                        if !rec.office_uscc.is_empty() {
                            offices.insert(office_key(&rec.office_uscc, &rec.gateway_no), &[])?;
                        }
                        out.push(Claim::New);
                    }
                    Ok(out)
                },
            );
        res.map_err(unwrap_tx)
    }

    fn get(&self, gateway_no: &str) -> Result<Option<AppRecord>, StoreError> {
        match self.apps.get(gateway_no.as_bytes()).map_err(err)? {
            Some(v) => Self::decode(&v).map(Some),
            None => Ok(None),
        }
    }

    fn write(&self, writes: &Writes<'_>) -> Result<(), StoreError> {
        let values = writes
            .records
            .iter()
            .map(|rec| serde_json::to_vec(rec).map_err(err))
            .collect::<Result<Vec<_>, _>>()?;
        let res: Result<(), TransactionError<StoreError>> =
            (&self.apps, &self.docs, &self.outbox.jobs, &self.outbox.due).transaction(
                |(apps, docs, jobs, due)| {
                    for (rec, value) in writes.records.iter().zip(&values) {
                        apps.insert(rec.gateway_no.as_bytes(), value.as_slice())?;
                    }
                    for (gateway_no, kind, bytes) in &writes.docs {
                        docs.insert(doc_key(gateway_no, *kind), *bytes)?;
                    }
                    for job in &writes.jobs {
                        put_in(jobs, due, job)?;
                    }
                    Ok(())
                },
            );
        res.map_err(unwrap_tx)
    }

    fn doc(&self, gateway_no: &str, kind: DocKind) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .docs
            .get(doc_key(gateway_no, kind))
            .map_err(err)?
            .map(|v| v.to_vec()))
    }

    fn unfinished(&self) -> Result<Vec<AppRecord>, StoreError> {
        let mut out = Vec::new();
        for item in self.apps.iter() {
            let (_, v) = item.map_err(err)?;
            let rec = Self::decode(&v)?;
            if rec.received_index.is_none() {
                out.push(rec);
            }
        }
        Ok(out)
    }

    fn recent(&self, limit: usize) -> Result<Vec<AppRecord>, StoreError> {
        self.apps
            .iter()
            .rev()
            .take(limit)
            .map(|item| Self::decode(&item.map_err(err)?.1))
            .collect()
    }

    fn by_office(&self, office: &str, limit: usize) -> Result<Vec<AppRecord>, StoreError> {
        let mut out = Vec::new();
        for item in self.offices.scan_prefix(office_key(office, "")).rev() {
            if out.len() == limit {
                break;
            }
            let (key, _) = item.map_err(err)?;
            let no = &key[office.len() + 1..];
            if let Some(v) = self.apps.get(no).map_err(err)? {
                out.push(Self::decode(&v)?);
            }
        }
        Ok(out)
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map(|_| ()).map_err(err)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::gateway::outbox::{Job, JobKind, OutboxStore, RetryPolicy};
    use crate::gateway::record::AppState;

    /// A record for tests.
    pub(crate) fn rec(no: &str, source_no: &str) -> AppRecord {
        AppRecord {
            gateway_no: no.into(),
            source: "sh".into(),
            source_no: source_no.into(),
            destination: "zj".into(),
            destination_receipt: None,
            item: "food-new".into(),
            accepted_on: "2026-11-20".into(),
            working_days: 10,
            deadline: "2026-12-04".into(),
            deadline_provisional: false,
            received_sha256: "00".into(),
            received_index: None,
            state: AppState::Received,
            decision: None,
            failure: None,
            timeline: vec![],
            office_uscc: "113101160024321631".into(),
            operator_name: "平湖市广陈镇阿怡面馆".into(),
            accepted_at: "2026-11-20T09:30:00+08:00".into(),
            handed_over_by: None,
            sender_keyid: None,
        }
    }

    #[test]
    fn a_signed_applications_signature_is_claimed_with_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let store = SledGateway::open(&db).unwrap();
        let (first, second) = (rec("TB3", "S-2"), rec("TB4", "S-2"));
        let signed = |rec, signature: &'static [u8]| ToClaim {
            rec,
            received: b"signed",
            signature: Some(signature),
        };
        let claims = store
            .claim_batch(&[signed(&first, b"sig one"), signed(&second, b"sig two")])
            .unwrap();
        assert_eq!(claims[0], Claim::New);
        assert!(matches!(&claims[1], Claim::Existing(r) if r.gateway_no == "TB3"));
        let kept = store.doc("TB3", DocKind::ApplicationSignature).unwrap();
        assert_eq!(kept.as_deref(), Some(&b"sig one"[..]));
        assert_eq!(
            store.doc("TB4", DocKind::ApplicationSignature).unwrap(),
            None
        );
        store.claim(&rec("TB5", "S-3"), b"unsigned").unwrap();
        assert_eq!(
            store.doc("TB5", DocKind::ApplicationSignature).unwrap(),
            None
        );
    }

    #[test]
    fn a_source_number_is_claimed_once_and_updates_are_atomic_with_jobs() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let store = SledGateway::open(&db).unwrap();
        let a = store.next_sequence().unwrap();
        assert!(store.next_sequence().unwrap() > a);

        assert_eq!(
            store.claim(&rec("TB1", "S-1"), b"first").unwrap(),
            Claim::New
        );
        match store.claim(&rec("TB2", "S-1"), b"second").unwrap() {
            Claim::Existing(r) => assert_eq!(r.gateway_no, "TB1"),
            Claim::New => panic!("claimed twice"),
        }
        assert!(store.get("TB2").unwrap().is_none());
        assert_eq!(
            store
                .doc("TB1", DocKind::ApplicationReceived)
                .unwrap()
                .unwrap(),
            b"first"
        );
        assert_eq!(store.unfinished().unwrap().len(), 1);
        let mut r = store.get("TB1").unwrap().unwrap();
        r.received_index = Some(7);
        let job = Job::new(
            JobKind::Application,
            "TB1",
            "zj",
            0,
            &RetryPolicy::default(),
        );
        store
            .update(&r, Some((DocKind::ApplicationSent, b"sent")), Some(&job))
            .unwrap();
        store.flush().unwrap();
        assert!(store.unfinished().unwrap().is_empty());
        assert_eq!(store.outbox().due(0, 10).unwrap(), vec![job]);
        assert_eq!(
            store.doc("TB1", DocKind::ApplicationSent).unwrap().unwrap(),
            b"sent"
        );
        assert_eq!(store.recent(10).unwrap(), vec![r]);
    }

    #[test]
    fn an_office_lists_only_its_own_applications_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let store = SledGateway::open(&db).unwrap();
        let mut other = rec("TB2", "S-2");
        other.office_uscc = "11330482MB1234567N".into();
        // An office whose USCC is a prefix of another's must not see the other's.
        let mut prefixed = rec("TB4", "S-4");
        prefixed.office_uscc = "113101160024321631X".into();
        for r in [rec("TB1", "S-1"), other, rec("TB3", "S-3"), prefixed] {
            assert_eq!(store.claim(&r, b"x").unwrap(), Claim::New);
        }
        let nos = |office: &str, limit| -> Vec<String> {
            store
                .by_office(office, limit)
                .unwrap()
                .into_iter()
                .map(|r| r.gateway_no)
                .collect()
        };
        assert_eq!(nos("113101160024321631", 10), ["TB3", "TB1"]);
        assert_eq!(nos("113101160024321631", 1), ["TB3"]);
        assert_eq!(nos("11330482MB1234567N", 10), ["TB2"]);
        assert!(nos("11330421MB76543218", 10).is_empty());
        // A claim that finds the number taken indexes nothing.
        let mut again = rec("TB5", "S-2");
        again.office_uscc = "11330421MB76543218".into();
        assert!(matches!(
            store.claim(&again, b"y").unwrap(),
            Claim::Existing(_)
        ));
        assert!(nos("11330421MB76543218", 10).is_empty());
    }
}
