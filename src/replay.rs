//! Replaying the translations the ledger records, from the exact documents (`audit replay`).
//!
//! Two kinds of entry record a translation, with the SHA-256 of the bytes received
//! (`received_sha256`), of the bytes sent (`sent_sha256`) and the mapping version:
//!
//! | step | document received | translated | sent under |
//! |---|---|---|---|
//! | `forwarded` | the application, from the source platform (field 6) | for the destination platform (field 7) | the gateway's number (field 3) |
//! | `delivered` | the decision, from the destination platform (field 7) | for the source platform (field 6) | the source platform's number (field 4) |
//!
//! `sent_sha256` is the SHA-256 of the body the gateway posted, the translated document
//! itself, never of HTTP headers or the gateway's RFC 9421 signature. Translation is
//! deterministic: given the bytes received, the mapping version, the direction and the number
//! the document is sent under, it gives the same bytes on every run and machine
//! ([`platform::write_under`] is what the gateway runs). It reads no clock, configuration,
//! key or salt, so an entry and the document received are all a replay needs.
//!
//! [`replay`] re-runs every such entry and compares; every entry that does not replay is
//! named with its reason ([`FailureKind`]) and the entry field concerned. An entry of another
//! mapping version cannot be replayed by this build ([`FailureKind::OtherMappingVersion`]).
//! Documents come through the small [`Documents`] trait (a directory, for the CLI).

use std::collections::HashMap;

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::ledger::{Entry, Step};
use crate::model::{ApplicationNo, Document};
use crate::platform::{self, Platform, MAPPING_VERSION};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// Where replay finds documents by the SHA-256 of their bytes.
pub trait Documents {
    /// The bytes filed under `sha256`, `None` when there are none. The bytes are checked
    /// against the hash by the caller: a store may hold an altered copy.
    fn get(&self, sha256: &Hash) -> Result<Option<Vec<u8>>, String>;
}

impl Documents for HashMap<Hash, Vec<u8>> {
    fn get(&self, sha256: &Hash) -> Result<Option<Vec<u8>>, String> {
        Ok(HashMap::get(self, sha256).cloned())
    }
}

/// Which document a translation carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Carried {
    /// An application (FORWARDED).
    Application,
    /// A decision (DELIVERED).
    Decision,
}

/// The translation an entry records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// The platform whose format the document was received in.
    pub from: Platform,
    /// The platform it was translated for.
    pub to: Platform,
    /// Application or decision.
    pub carried: Carried,
    /// The number it was sent under (the entry's `gateway_no` or `source_no`).
    pub number: String,
    /// SHA-256 of the bytes received.
    pub received: Hash,
    /// SHA-256 of the bytes sent.
    pub sent: Hash,
}

/// Why an entry does not replay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// The entry records a mapping version this build does not implement: it can only be
    /// replayed by a tongban of that mapping version.
    OtherMappingVersion,
    /// The entry records a sent hash on a step, or between platforms, that tongban does not
    /// translate.
    NotATranslation,
    /// A document the replay needs is not among the documents.
    DocumentMissing,
    /// A document could not be read.
    DocumentUnreadable,
    /// A document's bytes do not hash to the hash the entry records (its file name).
    DocumentAltered,
    /// The document received does not translate: the reader refuses it, it is the other kind
    /// of document, or the number it was sent under is not an application number.
    Untranslatable,
    /// The translation of the document received does not hash to the entry's `sent_sha256`.
    TranslationDiffers,
}

/// One entry that does not replay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// The entry's index in the log.
    pub entry: u64,
    /// Why.
    pub kind: FailureKind,
    /// The entry field concerned, as `docs/auditing.md` names it (`received_sha256`, …).
    pub field: &'static str,
    /// What is wrong, for people.
    pub message: String,
}

/// One entry that replays: the translation of the document received hashes to its
/// `sent_sha256`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Replayed {
    /// The entry's index in the log.
    pub entry: u64,
    /// `forwarded` or `delivered`.
    pub step: Step,
    /// The application's gateway number.
    pub gateway_no: String,
    /// Platform received from.
    pub from: &'static str,
    /// Platform translated for.
    pub to: &'static str,
    /// Application or decision.
    pub document: Carried,
    /// The number it was sent under.
    pub number: String,
    /// SHA-256 (hex) of the bytes received.
    pub received_sha256: String,
    /// SHA-256 (hex) of the translation, equal to the entry's `sent_sha256`.
    pub sent_sha256: String,
}

/// The outcome of [`replay`].
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    /// The mapping version this build implements.
    pub mapping_version: String,
    /// Entries looked at.
    pub entries: u64,
    /// Entries recording a translation (a `sent_sha256`).
    pub translations: u64,
    /// Every entry that replays.
    pub replayed: Vec<Replayed>,
    /// Every entry that does not.
    pub failures: Vec<Failure>,
}

impl Report {
    /// Whether every translation replays.
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }
}

fn platform_named(key: &str) -> Option<Platform> {
    Platform::ALL.into_iter().find(|p| p.key() == key)
}

/// The step as entries name it in JSON and in `docs/auditing.md`.
fn step_name(s: Step) -> &'static str {
    match s {
        Step::Received => "received",
        Step::Forwarded => "forwarded",
        Step::Decided => "decided",
        Step::Delivered => "delivered",
        Step::Failed => "failed",
        Step::HandedOver => "handed_over",
    }
}

impl Recorded {
    /// The translation `entry` records, `None` when it records none (no `sent_sha256`);
    /// an error when it records one this build cannot replay.
    pub fn of(index: u64, entry: &Entry) -> Option<Result<Recorded, Failure>> {
        let sent = entry.sent_sha256?;
        let fail = |kind, field, message: String| {
            Some(Err(Failure {
                entry: index,
                kind,
                field,
                message: format!("entry {index} ({field}): {message}"),
            }))
        };
        if entry.mapping_version != MAPPING_VERSION {
            return fail(
                FailureKind::OtherMappingVersion,
                "mapping_version",
                format!(
                    "records mapping version {:?}; this build implements {MAPPING_VERSION:?} only: replay it with a tongban of that mapping version",
                    entry.mapping_version
                ),
            );
        }
        let (carried, from, to, number, number_field) = match entry.step {
            Step::Forwarded => (
                Carried::Application,
                ("source_platform", &entry.source_platform),
                ("destination_platform", &entry.destination_platform),
                &entry.gateway_no,
                "gateway_no",
            ),
            Step::Delivered => (
                Carried::Decision,
                ("destination_platform", &entry.destination_platform),
                ("source_platform", &entry.source_platform),
                &entry.source_no,
                "source_no",
            ),
            other => {
                return fail(
                    FailureKind::NotATranslation,
                    "step",
                    format!(
                        "a {} entry records sent_sha256; tongban translates on forwarded and delivered only",
                        step_name(other)
                    ),
                )
            }
        };
        let platform = |(field, key): (&'static str, &String)| {
            platform_named(key).ok_or_else(|| {
                fail(
                    FailureKind::NotATranslation,
                    field,
                    format!("platform {key:?} is not one tongban translates for (zj, sh)"),
                )
            })
        };
        let (from_p, to_p) = match (platform(from), platform(to)) {
            (Ok(f), Ok(t)) => (f, t),
            (Err(f), _) | (_, Err(f)) => return f,
        };
        if from_p == to_p {
            return fail(
                FailureKind::NotATranslation,
                "destination_platform",
                "source and destination are the same platform: nothing was translated".into(),
            );
        }
        if let Err(e) = ApplicationNo::parse(number) {
            return fail(
                FailureKind::Untranslatable,
                number_field,
                format!("{number:?} cannot be the number a document was sent under: {e}"),
            );
        }
        Some(Ok(Recorded {
            from: from_p,
            to: to_p,
            carried,
            number: number.clone(),
            received: entry.received_sha256,
            sent,
        }))
    }

    /// Re-runs the translation on `received` (the document's bytes, already checked against
    /// [`Recorded::received`]): the bytes the gateway sends for it. The error says why it does
    /// not translate.
    pub fn translate(&self, received: &[u8]) -> Result<Vec<u8>, String> {
        let from = self.from;
        let read = platform::read(from, received).map_err(|problems| {
            let mut lines = problems.to_string();
            if lines.len() > 500 {
                let mut cut = 500;
                while !lines.is_char_boundary(cut) {
                    cut -= 1;
                }
                lines.truncate(cut);
                lines.push('…');
            }
            format!(
                "the {from} reader refuses it: {}",
                lines.replace('\n', "; ")
            )
        })?;
        match (&read.document, self.carried) {
            (Document::Application(_), Carried::Application)
            | (Document::Decision(_), Carried::Decision) => {}
            (Document::Application(_), Carried::Decision) => {
                return Err("it is an application; a delivered entry carries a decision".into())
            }
            (Document::Decision(_), Carried::Application) => {
                return Err("it is a decision; a forwarded entry carries an application".into())
            }
        }
        let number = ApplicationNo::parse(&self.number).map_err(|e| e.to_string())?;
        Ok(platform::write_under(self.to, read.document, number).bytes)
    }
}

/// Fetches the document filed under `sha256` and checks it against the hash; the failure
/// names `field` of entry `index`.
fn fetch(
    docs: &dyn Documents,
    index: u64,
    field: &'static str,
    sha256: &Hash,
) -> Result<Option<Vec<u8>>, Failure> {
    let fail = |kind, message: String| Failure {
        entry: index,
        kind,
        field,
        message: format!("entry {index} ({field}): {message}"),
    };
    match docs.get(sha256) {
        Err(e) => Err(fail(
            FailureKind::DocumentUnreadable,
            format!("document {} cannot be read: {e}", hex::encode(sha256)),
        )),
        Ok(None) => Ok(None),
        Ok(Some(bytes)) => {
            let actual: Hash = Sha256::digest(&bytes).into();
            if actual == *sha256 {
                Ok(Some(bytes))
            } else {
                Err(fail(
                    FailureKind::DocumentAltered,
                    format!(
                        "the archived document {} was altered: its bytes hash to {}",
                        hex::encode(sha256),
                        hex::encode(actual)
                    ),
                ))
            }
        }
    }
}

/// Replays entry `index`: `None` when it records no translation.
pub fn replay_entry(
    index: u64,
    entry: &Entry,
    docs: &dyn Documents,
) -> Option<Result<Replayed, Failure>> {
    let recorded = match Recorded::of(index, entry)? {
        Ok(r) => r,
        Err(f) => return Some(Err(f)),
    };
    Some(replay_recorded(index, entry, &recorded, docs))
}

fn replay_recorded(
    index: u64,
    entry: &Entry,
    r: &Recorded,
    docs: &dyn Documents,
) -> Result<Replayed, Failure> {
    let fail = |kind, field, message: String| Failure {
        entry: index,
        kind,
        field,
        message: format!("entry {index} ({field}): {message}"),
    };
    let what = match r.carried {
        Carried::Application => "application",
        Carried::Decision => "decision",
    };
    let received = fetch(docs, index, "received_sha256", &r.received)?.ok_or_else(|| {
        fail(
            FailureKind::DocumentMissing,
            "received_sha256",
            format!(
                "the {what} received, document {}, is not among the documents",
                hex::encode(r.received)
            ),
        )
    })?;
    let sent = r.translate(&received).map_err(|why| {
        fail(
            FailureKind::Untranslatable,
            "received_sha256",
            format!(
                "the {what} received, document {}, does not translate from {} to {}: {why}",
                hex::encode(r.received),
                r.from,
                r.to
            ),
        )
    })?;
    let got: Hash = Sha256::digest(&sent).into();
    let archived = fetch(docs, index, "sent_sha256", &r.sent);
    if got != r.sent {
        let mut message = format!(
            "the translation of the {what} received ({} to {}, under {}) hashes to {}, but the entry records sent_sha256 {}",
            r.from,
            r.to,
            r.number,
            hex::encode(got),
            hex::encode(r.sent)
        );
        if let Ok(Some(doc)) = &archived {
            let at = doc
                .iter()
                .zip(&sent)
                .position(|(a, b)| a != b)
                .unwrap_or(doc.len().min(sent.len()));
            message.push_str(&format!(
                "; it first differs from the archived document sent at byte {at}"
            ));
        }
        return Err(fail(
            FailureKind::TranslationDiffers,
            "sent_sha256",
            message,
        ));
    }
    // The archived copy of what was sent, when there is one, must be what was sent.
    archived?;
    Ok(Replayed {
        entry: index,
        step: entry.step,
        gateway_no: entry.gateway_no.clone(),
        from: r.from.key(),
        to: r.to.key(),
        document: r.carried,
        number: r.number.clone(),
        received_sha256: hex::encode(r.received),
        sent_sha256: hex::encode(r.sent),
    })
}

/// Replays every entry of `entries` (index, entry) that records a translation, against
/// `docs`. `progress(done, total)` is called as entries are replayed.
pub fn replay(
    entries: &[(u64, Entry)],
    docs: &dyn Documents,
    mut progress: impl FnMut(u64, u64),
) -> Report {
    let mut report = Report {
        mapping_version: MAPPING_VERSION.to_owned(),
        entries: entries.len() as u64,
        ..Report::default()
    };
    let total = entries.len() as u64;
    let step = (total / 100).max(1);
    for (k, (index, entry)) in entries.iter().enumerate() {
        match replay_entry(*index, entry, docs) {
            None => {}
            Some(Ok(r)) => {
                report.translations += 1;
                report.replayed.push(r);
            }
            Some(Err(f)) => {
                report.translations += 1;
                report.failures.push(f);
            }
        }
        if (k as u64).is_multiple_of(step) {
            progress(k as u64, total);
        }
    }
    progress(total, total);
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Instant;

    const SH_APPLICATION: &[u8] = include_bytes!("../demo/sh-application.xml");
    const GATEWAY_NO: &str = "TB202611200000000001";

    fn forwarded(received: &[u8], sent: &[u8]) -> Entry {
        Entry {
            step: Step::Forwarded,
            gateway_no: GATEWAY_NO.into(),
            source_no: "SH-JS-LX-20261120-0007".into(),
            destination_no: None,
            source_platform: "sh".into(),
            destination_platform: "zj".into(),
            item: "food-business-licence".into(),
            at: Instant {
                unix: 1_790_000_000,
                offset_minutes: 480,
            },
            source_time: None,
            received_sha256: Sha256::digest(received).into(),
            sent_sha256: Some(Sha256::digest(sent).into()),
            mapping_version: MAPPING_VERSION.into(),
            applicant_id_hash: None,
            decision: None,
            reason: None,
            sender_keyid: None,
            sender_alg: None,
        }
    }

    fn as_forwarded() -> Vec<u8> {
        let read = platform::read(Platform::Shanghai, SH_APPLICATION).unwrap();
        let no = ApplicationNo::parse(GATEWAY_NO).unwrap();
        platform::write_under(Platform::Zhejiang, read.document, no).bytes
    }

    fn docs(list: &[&[u8]]) -> HashMap<Hash, Vec<u8>> {
        list.iter()
            .map(|d| (Sha256::digest(d).into(), d.to_vec()))
            .collect()
    }

    #[test]
    fn a_forwarded_application_replays_under_the_gateway_number() {
        let sent = as_forwarded();
        let e = forwarded(SH_APPLICATION, &sent);
        let r = replay_entry(7, &e, &docs(&[SH_APPLICATION, &sent]))
            .unwrap()
            .unwrap();
        assert_eq!((r.entry, r.from, r.to), (7, "sh", "zj"));
        assert_eq!(r.document, Carried::Application);
        // Without the archived copy of what was sent, too: it is not needed.
        assert!(replay_entry(7, &e, &docs(&[SH_APPLICATION]))
            .unwrap()
            .is_ok());
        // The plain translation (under Shanghai's number) is not what was sent.
        let plain = platform::translate(Platform::Shanghai, Platform::Zhejiang, SH_APPLICATION)
            .unwrap()
            .bytes;
        let f = replay_entry(
            7,
            &forwarded(SH_APPLICATION, &plain),
            &docs(&[SH_APPLICATION]),
        )
        .unwrap()
        .unwrap_err();
        assert_eq!(
            (f.kind, f.field),
            (FailureKind::TranslationDiffers, "sent_sha256")
        );
    }

    #[test]
    fn a_delivered_decision_replays_under_the_source_number() {
        let decision: &[u8] = include_bytes!("../conformance/sh/ok_sample_decision_granted.xml");
        let read = platform::read(Platform::Shanghai, decision).unwrap();
        let source_no = "ZJ330106-0001";
        let sent = platform::write_under(
            Platform::Zhejiang,
            read.document,
            ApplicationNo::parse(source_no).unwrap(),
        )
        .bytes;
        let e = Entry {
            step: Step::Delivered,
            source_no: source_no.into(),
            source_platform: "zj".into(),
            destination_platform: "sh".into(),
            ..forwarded(decision, &sent)
        };
        let r = replay_entry(9, &e, &docs(&[decision])).unwrap().unwrap();
        assert_eq!((r.from, r.to, r.document), ("sh", "zj", Carried::Decision));
        assert_eq!(r.number, source_no);
        let other_no = Entry {
            source_no: "ZJ330106-0002".into(),
            ..e
        };
        let f = replay_entry(9, &other_no, &docs(&[decision]))
            .unwrap()
            .unwrap_err();
        assert_eq!(f.kind, FailureKind::TranslationDiffers);
    }

    #[test]
    fn each_reason_names_the_entry_and_the_field() {
        let sent = as_forwarded();
        let good = forwarded(SH_APPLICATION, &sent);
        let all = docs(&[SH_APPLICATION, &sent]);
        let fails = |e: &Entry, d: &HashMap<Hash, Vec<u8>>| {
            let f = replay_entry(3, e, d).unwrap().unwrap_err();
            assert!(
                f.message.starts_with(&format!("entry 3 ({}): ", f.field)),
                "{}",
                f.message
            );
            (f.kind, f.field)
        };
        let mut other = good.clone();
        other.mapping_version = "tongban-mapping/1".into();
        assert_eq!(
            fails(&other, &all),
            (FailureKind::OtherMappingVersion, "mapping_version")
        );
        assert_eq!(
            fails(&good, &docs(&[&sent])),
            (FailureKind::DocumentMissing, "received_sha256")
        );
        let mut altered = all.clone();
        altered.get_mut(&good.received_sha256).unwrap()[40] ^= 1;
        assert_eq!(
            fails(&good, &altered),
            (FailureKind::DocumentAltered, "received_sha256")
        );
        let mut altered_sent = all.clone();
        altered_sent.get_mut(&good.sent_sha256.unwrap()).unwrap()[5] ^= 1;
        assert_eq!(
            fails(&good, &altered_sent),
            (FailureKind::DocumentAltered, "sent_sha256")
        );
        let mut delivered = good.clone();
        delivered.step = Step::Delivered;
        assert_eq!(
            fails(&delivered, &all),
            (FailureKind::Untranslatable, "received_sha256")
        );
        let mut handed = good.clone();
        handed.step = Step::HandedOver;
        assert_eq!(fails(&handed, &all), (FailureKind::NotATranslation, "step"));
        let mut elsewhere = good.clone();
        elsewhere.destination_platform = "js".into();
        assert_eq!(
            fails(&elsewhere, &all),
            (FailureKind::NotATranslation, "destination_platform")
        );
        let mut bad_no = good.clone();
        bad_no.gateway_no = "TB 1".into();
        assert_eq!(
            fails(&bad_no, &all),
            (FailureKind::Untranslatable, "gateway_no")
        );
        let mut received = good;
        received.step = Step::Received;
        received.sent_sha256 = None;
        assert!(replay_entry(3, &received, &all).is_none());
    }

    #[test]
    fn replay_counts_translations_and_names_every_failure() {
        let sent = as_forwarded();
        let good = forwarded(SH_APPLICATION, &sent);
        let mut old = good.clone();
        old.mapping_version = "tongban-mapping/1".into();
        let mut received = good.clone();
        received.step = Step::Received;
        received.sent_sha256 = None;
        let entries = vec![(0, received), (1, good.clone()), (2, old), (3, good)];
        let r = replay(&entries, &docs(&[SH_APPLICATION]), |_, _| {});
        assert_eq!((r.entries, r.translations), (4, 3));
        assert_eq!(
            r.replayed.iter().map(|r| r.entry).collect::<Vec<_>>(),
            vec![1, 3]
        );
        assert_eq!(r.failures.len(), 1);
        assert_eq!(r.failures[0].entry, 2);
        assert!(!r.ok());
    }
}
