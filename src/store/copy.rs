//! `tongban storage copy`: a whole store from one backend to another (the embedded store of a
//! data directory, PostgreSQL), then verified.
//!
//! The storage traits the gateway uses cannot list documents, finished jobs or the ledger's
//! pairs, nor write them as they are; [`Portable`] adds exactly that, once, for every
//! backend. A copy writes the destination in one unit (one PostgreSQL transaction; a sled
//! store built beside the data directory's and put in place when complete), continues the
//! gateway numbers above every copied one, and then opens the ledger on both sides: same
//! size and same root, and the same number of records, claims, documents and jobs, or it
//! fails naming the difference.

use crate::gateway::outbox::{Job, StoreError};
use crate::gateway::record::{AppRecord, DocKind};
use crate::ledger::{Hash, KeyValue, LedgerStore, Log, SignedCheckpoint};

use super::Stores;

/// Items written per [`Importer::write`].
pub const CHUNK: usize = 256;

/// A stored document: gateway number, kind, exact bytes.
pub type Document = (String, DocKind, Vec<u8>);

/// A claim: source platform, source number, gateway number.
pub type Claim = (String, String, String);

/// An iterator over a store's items.
pub type Items<'a, T> = Box<dyn Iterator<Item = Result<T, StoreError>> + 'a>;

/// How much a store holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Application records.
    pub records: u64,
    /// Claimed source numbers.
    pub claims: u64,
    /// Stored documents.
    pub documents: u64,
    /// Outbox jobs, finished ones included.
    pub jobs: u64,
    /// The ledger's key-value pairs.
    pub ledger_pairs: u64,
}

impl Counts {
    /// Whether the store holds nothing at all.
    pub fn is_empty(&self) -> bool {
        *self == Counts::default()
    }
}

/// Part of a store, written as it is (no claim decided, no job state checked).
#[derive(Debug, Default)]
pub struct Part {
    /// Claims.
    pub claims: Vec<Claim>,
    /// Records.
    pub records: Vec<AppRecord>,
    /// Documents.
    pub documents: Vec<Document>,
    /// Jobs, finished ones included.
    pub jobs: Vec<Job>,
    /// The ledger's pairs.
    pub ledger: Vec<KeyValue>,
}

/// Writes a copy into a store; nothing of it is there for readers until [`Importer::finish`].
pub trait Importer {
    /// Writes one part.
    fn write(&mut self, part: Part) -> Result<(), StoreError>;
    /// Makes numbers handed out later above `sequence`, and makes the copy durable.
    fn finish(self: Box<Self>, sequence: u64) -> Result<(), StoreError>;
}

/// What copying needs of a backend beyond the gateway's traits.
pub trait Portable {
    /// The store behind the gateway's traits (records and claims are listed through them).
    fn stores(&self) -> Stores;
    /// How much it holds.
    fn counts(&self) -> Result<Counts, StoreError>;
    /// Every document.
    fn documents(&self) -> Items<'_, Document>;
    /// Every job, finished ones too.
    fn jobs(&self) -> Items<'_, Job>;
    /// Every pair of the ledger.
    fn ledger_pairs(&self) -> Items<'_, KeyValue>;
    /// The highest gateway sequence number handed out or stored (0: none).
    fn sequence(&self) -> Result<u64, StoreError>;
    /// Starts writing a copy into it.
    fn import(&self) -> Result<Box<dyn Importer + '_>, StoreError>;
}

/// The sequence number in a gateway number (its last ten digits).
pub fn sequence_of(gateway_no: &str) -> Option<u64> {
    gateway_no
        .get(gateway_no.len().checked_sub(10)?..)?
        .parse()
        .ok()
}

/// What a copy wrote, as verified on both sides.
#[derive(Debug, Clone)]
pub struct Copied {
    /// What both stores hold.
    pub counts: Counts,
    /// The ledger's size on both sides.
    pub ledger_size: u64,
    /// The ledger's root on both sides.
    pub root: Hash,
    /// Gateway numbers continue above this one in the copy.
    pub sequence: u64,
}

/// Why a copy failed.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// The destination holds something already.
    #[error("the destination is not empty ({0:?}); copy into an empty store only")]
    NotEmpty(Counts),
    /// Reading or writing a store failed.
    #[error("{0}")]
    Store(String),
    /// The copy differs from its source.
    #[error("the copy differs from its source: {0}")]
    Differs(String),
}

fn store(e: impl std::fmt::Display) -> CopyError {
    CopyError::Store(e.to_string())
}

/// Writes `items` in parts of [`CHUNK`], each made by `put`.
fn stream<T>(
    items: Items<'_, T>,
    into: &mut dyn Importer,
    mut put: impl FnMut(&mut Part, T),
    mut seen: impl FnMut(&T),
) -> Result<(), CopyError> {
    let mut part = Part::default();
    let mut n = 0;
    for item in items {
        let item = item.map_err(store)?;
        seen(&item);
        put(&mut part, item);
        n += 1;
        if n == CHUNK {
            into.write(std::mem::take(&mut part)).map_err(store)?;
            n = 0;
        }
    }
    if n > 0 {
        into.write(part).map_err(store)?;
    }
    Ok(())
}

/// Copies everything of `from` into the empty `to`, then verifies (see the module doc).
pub fn copy(from: &dyn Portable, to: &dyn Portable) -> Result<Copied, CopyError> {
    let before = to.counts().map_err(store)?;
    if !before.is_empty() {
        return Err(CopyError::NotEmpty(before));
    }
    let source = from.stores();
    let mut sequence = from.sequence().map_err(store)?;
    let mut high = |no: &str| {
        if let Some(s) = sequence_of(no) {
            sequence = sequence.max(s);
        }
    };
    {
        let mut into = to.import().map_err(store)?;
        stream(
            source.records.claims(),
            &mut *into,
            |p, c| p.claims.push(c),
            |c| high(&c.2),
        )?;
        stream(
            source.records.all(),
            &mut *into,
            |p, r| p.records.push(r),
            |r| high(&r.gateway_no),
        )?;
        stream(
            from.documents(),
            &mut *into,
            |p, d| p.documents.push(d),
            |_| {},
        )?;
        stream(from.jobs(), &mut *into, |p, j| p.jobs.push(j), |_| {})?;
        stream(
            from.ledger_pairs(),
            &mut *into,
            |p, kv| p.ledger.push(kv),
            |_| {},
        )?;
        into.finish(sequence).map_err(store)?;
    }
    verify(from, to, sequence)
}

/// The log's origin, as its last signed checkpoint names it (any, when none is signed: then
/// nothing is checked against it).
pub fn origin(ledger: &dyn LedgerStore) -> Result<String, CopyError> {
    match ledger
        .last_with_prefix(&[crate::ledger::log::PREFIX_CHECKPOINT])
        .map_err(store)?
    {
        None => Ok("tongban-copy".into()),
        Some((_, note)) => {
            let text = String::from_utf8(note).map_err(store)?;
            Ok(SignedCheckpoint::parse(&text)
                .map_err(store)?
                .checkpoint
                .origin)
        }
    }
}

/// Opens the ledger (checking it against its last signed checkpoint): size and root.
fn ledger_of(p: &dyn Portable) -> Result<(u64, Hash), CopyError> {
    let ledger = p.stores().ledger;
    let log = Log::open(ledger.clone(), &origin(&*ledger)?).map_err(store)?;
    Ok((log.size(), log.root().map_err(store)?))
}

/// Compares both sides: ledger size and root, and every count.
pub fn verify(from: &dyn Portable, to: &dyn Portable, sequence: u64) -> Result<Copied, CopyError> {
    let (a, b) = (ledger_of(from)?, ledger_of(to)?);
    if a != b {
        return Err(CopyError::Differs(format!(
            "the source's ledger has {} entries with root {}, the copy's {} with root {}",
            a.0,
            hex::encode(a.1),
            b.0,
            hex::encode(b.1)
        )));
    }
    let (ca, cb) = (from.counts().map_err(store)?, to.counts().map_err(store)?);
    if ca != cb {
        return Err(CopyError::Differs(format!(
            "the source holds {ca:?}, the copy {cb:?}"
        )));
    }
    Ok(Copied {
        counts: cb,
        ledger_size: b.0,
        root: b.1,
        sequence,
    })
}
