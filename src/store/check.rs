//! Reads a store's ledger entries, records and claims and checks the invariant between them
//! ([`crate::gateway::ledger::invariant`]): over everything (`tongban storage check`), or over the last
//! entries (at every start of the gateway, in milliseconds).

use std::collections::BTreeSet;
use std::ops::Range;

use crate::gateway::ledger::invariant::{self, Facts, Scope, Violation};
use crate::gateway::record::AppStore;
use crate::ledger::Entry;

/// How many of the last entries the check at start covers: far more than one batch (at most
/// 512 pieces of work), so the batches a crash could have interrupted are always inside.
pub const TAIL_ENTRIES: u64 = 4096;

/// Entries read per call.
const CHUNK: u64 = 16_384;

/// What a check covered and found.
#[derive(Debug, Default)]
pub struct Report {
    /// Ledger entries read.
    pub entries: u64,
    /// Records read.
    pub records: u64,
    /// Every violation, in gateway number order.
    pub violations: Vec<Violation>,
}

/// Checks the invariant over the ledger of `size` entries (read through `read`) and the
/// records in `store`: everything, or only the last [`TAIL_ENTRIES`] entries and the
/// records they name.
pub fn run(
    scope: Scope,
    size: u64,
    read: impl Fn(Range<u64>) -> Result<Vec<Vec<u8>>, String>,
    store: &dyn AppStore,
) -> Result<Report, String> {
    let first = match scope {
        Scope::Whole => 0,
        Scope::Tail => size.saturating_sub(TAIL_ENTRIES),
    };
    let mut entries = Vec::with_capacity((size - first) as usize);
    let mut violations = Vec::new();
    let mut at = first;
    while at < size {
        let end = (at + CHUNK).min(size);
        for (i, bytes) in (at..end).zip(read(at..end)?) {
            match Entry::decode(&bytes) {
                Ok(e) => entries.push((i, Facts::from(&e))),
                Err(e) => violations.push(Violation {
                    subject: "ledger".into(),
                    index: Some(i),
                    what: format!("entry does not decode: {e}"),
                }),
            }
        }
        at = end;
    }
    let text = |e: crate::gateway::outbox::StoreError| e.to_string();
    let (records, claims) = match scope {
        Scope::Whole => (
            store.all().collect::<Result<Vec<_>, _>>().map_err(text)?,
            store
                .claims()
                .collect::<Result<Vec<_>, _>>()
                .map_err(text)?,
        ),
        Scope::Tail => {
            let named: BTreeSet<&str> =
                entries.iter().map(|(_, f)| f.gateway_no.as_str()).collect();
            let mut records = Vec::with_capacity(named.len());
            for no in named {
                if let Some(rec) = store.get(no).map_err(text)? {
                    records.push(rec);
                }
            }
            (records, Vec::new())
        }
    };
    violations.extend(invariant::check(scope, size, &entries, &records, &claims));
    Ok(Report {
        entries: size - first,
        records: records.len() as u64,
        violations,
    })
}
