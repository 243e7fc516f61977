//! The gateway's claims, records, documents, outbox and ledger in the data directory's one
//! sled database, each batch of the committer one transaction over all their trees.
//!
//! Trees: `gateway/apps` (gateway number → record JSON), `gateway/sources`
//! (`source key NUL source number` → gateway number), `gateway/docs`
//! (`gateway number NUL kind` → exact bytes), `gateway/offices` (`office USCC NUL gateway
//! number` → nothing: each office's applications in number order, i.e. in time order),
//! `gateway/meta` (`seq`: the highest sequence number committed), the outbox's two trees and
//! the ledger's (see [`super::sled`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use sled::Transactional as _;

use super::copy::{sequence_of, Counts, Document, Importer, Items, Part, Portable};
use super::outbox::{err, put_in, SledOutbox};
use super::sled::{apply_in, Durability, SledLedgerStore};
use crate::gateway::outbox::{Job, OutboxStore as _, StoreError};
use crate::gateway::record::{AppRecord, AppStore, Batch, BatchTx, DocKind};

/// Tree of records by gateway number.
const APPS_TREE: &str = "gateway/apps";
/// Tree mapping source numbers to gateway numbers.
const SOURCES_TREE: &str = "gateway/sources";
/// Tree of exact document bytes.
const DOCS_TREE: &str = "gateway/docs";
/// Index of applications by accepting office.
const OFFICES_TREE: &str = "gateway/offices";
/// Small values of the store itself.
const META_TREE: &str = "gateway/meta";
/// Key of the highest sequence number committed (u64 BE).
const SEQ_KEY: &[u8] = b"seq";

fn source_key(source: &str, no: &str) -> Vec<u8> {
    [source.as_bytes(), b"\0", no.as_bytes()].concat()
}

fn office_key(office: &str, gateway_no: &str) -> Vec<u8> {
    [office.as_bytes(), b"\0", gateway_no.as_bytes()].concat()
}

fn doc_key(gateway_no: &str, kind: DocKind) -> Vec<u8> {
    [gateway_no.as_bytes(), b"\0", kind.as_str().as_bytes()].concat()
}

/// Application records, documents, the outbox and the ledger in one sled database.
#[derive(Clone)]
pub struct SledGateway {
    db: sled::Db,
    apps: sled::Tree,
    sources: sled::Tree,
    docs: sled::Tree,
    offices: sled::Tree,
    meta: sled::Tree,
    outbox: SledOutbox,
    ledger: SledLedgerStore,
    durability: Arc<Durability>,
    next_seq: Arc<AtomicU64>,
}

impl SledGateway {
    /// Opens (creating if needed) the trees in `db`.
    pub fn open(db: &sled::Db, durability: Arc<Durability>) -> Result<Self, StoreError> {
        let meta = db.open_tree(META_TREE).map_err(err)?;
        let seq = match meta.get(SEQ_KEY).map_err(err)? {
            Some(v) => u64::from_be_bytes(
                v.as_ref()
                    .try_into()
                    .map_err(|_| err("gateway/meta seq is not 8 bytes"))?,
            ),
            None => 0,
        };
        Ok(Self {
            db: db.clone(),
            apps: db.open_tree(APPS_TREE).map_err(err)?,
            sources: db.open_tree(SOURCES_TREE).map_err(err)?,
            docs: db.open_tree(DOCS_TREE).map_err(err)?,
            offices: db.open_tree(OFFICES_TREE).map_err(err)?,
            meta,
            outbox: SledOutbox::open(db)?,
            ledger: SledLedgerStore::new(db, durability.clone()).map_err(err)?,
            durability,
            next_seq: Arc::new(AtomicU64::new(seq + 1)),
        })
    }

    /// The outbox stored in the same database.
    pub fn outbox(&self) -> &SledOutbox {
        &self.outbox
    }

    /// The ledger's trees in the same database.
    pub fn ledger(&self) -> &SledLedgerStore {
        &self.ledger
    }

    /// Makes sure numbers handed out from now on are above `seq` (a store copied from
    /// another keeps that store's numbers unique).
    pub fn reserve_sequence(&self, seq: u64) -> Result<(), StoreError> {
        self.next_seq.fetch_max(seq + 1, Ordering::SeqCst);
        self.meta
            .fetch_and_update(SEQ_KEY, |old| {
                let old = old
                    .and_then(|v| <[u8; 8]>::try_from(v).ok())
                    .map_or(0, u64::from_be_bytes);
                Some(old.max(seq).to_be_bytes().to_vec())
            })
            .map_err(err)?;
        Ok(())
    }

    /// The trees an earlier version's records database had, by name (for migrating it).
    pub(crate) fn tree_names(&self) -> [&'static str; 6] {
        [
            APPS_TREE,
            SOURCES_TREE,
            DOCS_TREE,
            OFFICES_TREE,
            super::outbox::JOBS_TREE,
            super::outbox::DUE_TREE,
        ]
    }

    /// Rebuilds the outbox's index of jobs in flight (after copying jobs in).
    pub(crate) fn reindex_outbox(&self) -> Result<(), StoreError> {
        self.outbox.reindex()
    }

    /// Writes `batch` into the tree `name` as it is (for migrating).
    pub(crate) fn copy_into(&self, name: &str, batch: sled::Batch) -> Result<(), StoreError> {
        self.db
            .open_tree(name)
            .and_then(|t| t.apply_batch(batch))
            .map_err(err)
    }

    /// Removes an application, its claim, its documents and its office index (for an
    /// earlier version's claim that was never acknowledged).
    pub(crate) fn remove_application(&self, rec: &AppRecord) -> Result<(), StoreError> {
        let trees = (&self.apps, &self.sources, &self.docs, &self.offices);
        let res: Result<(), TransactionError<StoreError>> =
            trees.transaction(|(apps, sources, docs, offices)| {
                apps.remove(rec.gateway_no.as_bytes())?;
                if sources
                    .get(source_key(&rec.source, &rec.source_no))?
                    .as_deref()
                    == Some(rec.gateway_no.as_bytes())
                {
                    sources.remove(source_key(&rec.source, &rec.source_no))?;
                }
                for kind in DocKind::ALL {
                    docs.remove(doc_key(&rec.gateway_no, kind))?;
                }
                offices.remove(office_key(&rec.office_uscc, &rec.gateway_no))?;
                Ok(())
            });
        res.map_err(|e| match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => err(e),
        })
    }

    /// Applies a batch in one sled transaction, then syncs.
    fn apply(&self, batch: Batch<'_>) -> Result<(), StoreError> {
        let values = batch
            .records
            .iter()
            .map(|rec| serde_json::to_vec(rec).map_err(err))
            .collect::<Result<Vec<_>, _>>()?;
        let seq = batch
            .claims
            .iter()
            .filter_map(|r| sequence_of(&r.gateway_no))
            .max();
        let mut trees = vec![
            self.apps.clone(),
            self.sources.clone(),
            self.docs.clone(),
            self.offices.clone(),
            self.meta.clone(),
            self.outbox.jobs.clone(),
            self.outbox.due.clone(),
            self.outbox.in_flight.clone(),
        ];
        trees.extend(self.ledger.trees().cloned());
        // The outbox does not look for due jobs while a batch is applied and not yet durable.
        let _durable = self.outbox.gate.blocking_write();
        let res: Result<(), TransactionError<StoreError>> = trees
            .as_slice()
            .transaction(|t| self.write_batch(t, &batch, &values, seq));
        res.map_err(|e| match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => err(e),
        })?;
        self.durability.sync().map_err(err)
    }

    fn decode(bytes: &[u8]) -> Result<AppRecord, StoreError> {
        serde_json::from_slice(bytes).map_err(err)
    }

    fn write_batch(
        &self,
        t: &[TransactionalTree],
        batch: &Batch<'_>,
        values: &[Vec<u8>],
        seq: Option<u64>,
    ) -> Result<(), ConflictableTransactionError<StoreError>> {
        let [apps, sources, docs, offices, meta, jobs, due, in_flight, ledger @ ..] = t else {
            unreachable!("the transaction covers every tree")
        };
        for rec in &batch.claims {
            sources.insert(
                source_key(&rec.source, &rec.source_no),
                rec.gateway_no.as_bytes(),
            )?;
            if !rec.office_uscc.is_empty() {
                offices.insert(office_key(&rec.office_uscc, &rec.gateway_no), &[])?;
            }
        }
        for (rec, value) in batch.records.iter().zip(values) {
            apps.insert(rec.gateway_no.as_bytes(), value.as_slice())?;
        }
        for (gateway_no, kind, bytes) in &batch.docs {
            docs.insert(doc_key(gateway_no, *kind), *bytes)?;
        }
        for job in &batch.jobs {
            put_in(jobs, due, in_flight, job)?;
        }
        for no in &batch.drop_docs {
            for kind in DocKind::ALL {
                docs.remove(doc_key(no, kind))?;
            }
        }
        if let Some(seq) = seq {
            let old = meta
                .get(SEQ_KEY)?
                .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
                .map_or(0, u64::from_be_bytes);
            if seq > old {
                meta.insert(SEQ_KEY, &seq.to_be_bytes())?;
            }
        }
        apply_in(&self.ledger, ledger, &batch.ledger, StoreError)
    }
}

/// A batch on sled: this process is the database's only writer (sled locks its directory)
/// and the committer its only writer of batches, so reads need no lock of their own.
struct SledBatch<'a>(&'a SledGateway);

impl BatchTx for SledBatch<'_> {
    fn ledger_size(&self) -> Option<u64> {
        None
    }

    fn claimed(&mut self, keys: &[(&str, &str)]) -> Result<Vec<Option<String>>, StoreError> {
        keys.iter().map(|(s, n)| self.0.claimed(s, n)).collect()
    }

    fn get(&mut self, gateway_nos: &[&str]) -> Result<Vec<Option<AppRecord>>, StoreError> {
        gateway_nos.iter().map(|no| self.0.get(no)).collect()
    }

    fn commit(self: Box<Self>, batch: Batch<'_>) -> Result<(), StoreError> {
        self.0.apply(batch)
    }
}

impl AppStore for SledGateway {
    fn next_sequence(&self) -> Result<u64, StoreError> {
        Ok(self.next_seq.fetch_add(1, Ordering::Relaxed))
    }

    fn claimed(&self, source: &str, source_no: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .sources
            .get(source_key(source, source_no))
            .map_err(err)?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    fn get(&self, gateway_no: &str) -> Result<Option<AppRecord>, StoreError> {
        match self.apps.get(gateway_no.as_bytes()).map_err(err)? {
            Some(v) => Self::decode(&v).map(Some),
            None => Ok(None),
        }
    }

    fn begin(&self) -> Result<Box<dyn BatchTx + '_>, StoreError> {
        Ok(Box::new(SledBatch(self)))
    }

    fn put_documents(&self, gateway_no: &str, docs: &[(DocKind, &[u8])]) -> Result<(), StoreError> {
        for (kind, bytes) in docs {
            self.docs
                .insert(doc_key(gateway_no, *kind), *bytes)
                .map_err(err)?;
        }
        self.durability.sync().map_err(err)
    }

    fn sync(&self) -> Result<(), StoreError> {
        self.durability.sync().map_err(err)
    }

    fn doc(&self, gateway_no: &str, kind: DocKind) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .docs
            .get(doc_key(gateway_no, kind))
            .map_err(err)?
            .map(|v| v.to_vec()))
    }

    fn all(&self) -> Box<dyn Iterator<Item = Result<AppRecord, StoreError>> + '_> {
        Box::new(
            self.apps
                .iter()
                .map(|item| Self::decode(&item.map_err(err)?.1)),
        )
    }

    fn claims(
        &self,
    ) -> Box<dyn Iterator<Item = Result<(String, String, String), StoreError>> + '_> {
        Box::new(self.sources.iter().map(|item| {
            let (k, v) = item.map_err(err)?;
            let at = k
                .iter()
                .position(|b| *b == 0)
                .ok_or_else(|| err("a claim key without its separator"))?;
            let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            Ok((text(&k[..at]), text(&k[at + 1..]), text(&v)))
        }))
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
}

/// Writes a copy into a sled store as it is; durable when finished.
struct SledImport<'a>(&'a SledGateway);

impl Importer for SledImport<'_> {
    fn write(&mut self, part: Part) -> Result<(), StoreError> {
        let store = self.0;
        for (source, no, gateway_no) in &part.claims {
            store
                .sources
                .insert(source_key(source, no), gateway_no.as_bytes())
                .map_err(err)?;
        }
        for rec in &part.records {
            let value = serde_json::to_vec(rec).map_err(err)?;
            store
                .apps
                .insert(rec.gateway_no.as_bytes(), value)
                .map_err(err)?;
            if !rec.office_uscc.is_empty() {
                store
                    .offices
                    .insert(office_key(&rec.office_uscc, &rec.gateway_no), &[])
                    .map_err(err)?;
            }
        }
        for (no, kind, bytes) in &part.documents {
            store
                .docs
                .insert(doc_key(no, *kind), bytes.as_slice())
                .map_err(err)?;
        }
        for job in &part.jobs {
            store.outbox.put(job)?;
        }
        for (k, v) in &part.ledger {
            let at = store.ledger.position(k).map_err(err)?;
            let tree = store
                .ledger
                .trees()
                .nth(at)
                .expect("position within the trees");
            tree.insert(k.as_slice(), v.as_slice()).map_err(err)?;
        }
        Ok(())
    }

    fn finish(self: Box<Self>, sequence: u64) -> Result<(), StoreError> {
        self.0.reserve_sequence(sequence)?;
        self.0.sync()
    }
}

impl Portable for SledGateway {
    fn stores(&self) -> super::Stores {
        self.clone().stores()
    }

    fn counts(&self) -> Result<Counts, StoreError> {
        Ok(Counts {
            records: self.apps.len() as u64,
            claims: self.sources.len() as u64,
            documents: self.docs.len() as u64,
            jobs: self.outbox.jobs.len() as u64,
            ledger_pairs: self.ledger.trees().map(|t| t.len() as u64).sum(),
        })
    }

    fn documents(&self) -> Items<'_, Document> {
        Box::new(self.docs.iter().map(|item| {
            let (k, v) = item.map_err(err)?;
            let at = k
                .iter()
                .position(|b| *b == 0)
                .ok_or_else(|| err("a document key without its separator"))?;
            let kind = &k[at + 1..];
            let kind = DocKind::ALL
                .into_iter()
                .find(|d| d.as_str().as_bytes() == kind)
                .ok_or_else(|| {
                    err(format!(
                        "unknown document kind {}",
                        String::from_utf8_lossy(kind)
                    ))
                })?;
            Ok((
                String::from_utf8_lossy(&k[..at]).into_owned(),
                kind,
                v.to_vec(),
            ))
        }))
    }

    fn jobs(&self) -> Items<'_, Job> {
        Box::new(
            self.outbox
                .jobs
                .iter()
                .map(|item| serde_json::from_slice(&item.map_err(err)?.1).map_err(err)),
        )
    }

    fn ledger_pairs(&self) -> Items<'_, crate::ledger::KeyValue> {
        Box::new(
            self.ledger
                .trees()
                .flat_map(|t| t.iter())
                .map(|item| item.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(err)),
        )
    }

    fn sequence(&self) -> Result<u64, StoreError> {
        Ok(self.next_seq.load(Ordering::SeqCst).saturating_sub(1))
    }

    fn import(&self) -> Result<Box<dyn Importer + '_>, StoreError> {
        Ok(Box::new(SledImport(self)))
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
            sender_alg: None,
        }
    }

    fn open(dir: &std::path::Path) -> SledGateway {
        let (db, durability) = crate::store::sled::open(dir).unwrap();
        SledGateway::open(&db, durability).unwrap()
    }

    fn claim(store: &SledGateway, rec: &AppRecord) {
        store
            .commit(Batch {
                claims: vec![rec],
                records: vec![rec],
                ..Batch::default()
            })
            .unwrap();
    }

    #[test]
    fn the_outbox_is_not_shown_a_job_until_its_batch_is_durable() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let job = Job::new(
            JobKind::Application,
            "TB1",
            "zj",
            0,
            &RetryPolicy::default(),
        );
        // A batch applied and not yet synced: its commit holds the gate.
        let gate = store.outbox().gate();
        let applying = gate.blocking_write();
        store.outbox().put(&job).unwrap();
        let outbox = store.outbox().clone();
        let (tx, rx) = std::sync::mpsc::channel();
        // The outbox worker looks for due jobs under the gate.
        let looking = std::thread::spawn(move || {
            let gate = outbox.gate();
            let _looking = gate.blocking_read();
            tx.send(outbox.due(0, 10).unwrap()).unwrap()
        });
        assert!(
            rx.recv_timeout(std::time::Duration::from_millis(200))
                .is_err(),
            "the outbox saw a job of a batch not yet durable"
        );
        drop(applying);
        assert_eq!(rx.recv().unwrap(), vec![job]);
        looking.join().unwrap();
    }

    #[test]
    fn a_never_acknowledged_application_is_removed_with_its_claim() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let r = rec("TB1", "S-1");
        claim(&store, &r);
        store.remove_application(&r).unwrap();
        assert_eq!(store.claimed("sh", "S-1").unwrap(), None);
        assert_eq!(store.get("TB1").unwrap(), None);
        assert!(store.by_office(&r.office_uscc, 10).unwrap().is_empty());
    }

    #[test]
    fn an_office_lists_only_its_own_applications_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let mut other = rec("TB2", "S-2");
        other.office_uscc = "11330482MB1234567N".into();
        // An office whose USCC is a prefix of another's must not see the other's.
        let mut prefixed = rec("TB4", "S-4");
        prefixed.office_uscc = "113101160024321631X".into();
        for r in [rec("TB1", "S-1"), other, rec("TB3", "S-3"), prefixed] {
            claim(&store, &r);
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
        let recent: Vec<String> = store
            .recent(2)
            .unwrap()
            .into_iter()
            .map(|r| r.gateway_no)
            .collect();
        assert_eq!(recent, ["TB4", "TB3"]);
    }
}
