//! An in-memory [`Desk`] for the tests: it reads what the page submits with the real
//! adapters, numbers ledger entries, and lets a test make the decision arrive.

use std::sync::Mutex;

use chrono::{Days, Utc};
use tongban::model::{Document, Outcome};
use tongban::platform::{self, Platform};
use tongban::web::{
    DecisionInfo, Desk, DeskError, DeskFuture, Detail, HandOver, LicenceFile, LicenceInfo,
    MaskedName, MaterialReceived, PublicStatus, PublicStep, Receipt, State, Step, Summary,
};

/// Working days the fake gives every application (the real desk counts the calendar).
const FAKE_LIMIT_DAYS: u64 = 20;

#[derive(Default)]
struct Inner {
    next_index: u64,
    submissions: Vec<(Platform, Vec<u8>)>,
    records: Vec<(Detail, Option<LicenceFile>)>,
}

/// The fake gateway.
#[derive(Default)]
pub struct FakeDesk {
    inner: Mutex<Inner>,
    /// Ignore the office in queries, as a buggy desk would: the web layer must still hide
    /// other offices' applications.
    leaky: bool,
}

fn ready<'a, T: Send + 'a>(v: Result<T, DeskError>) -> DeskFuture<'a, T> {
    Box::pin(std::future::ready(v))
}

impl FakeDesk {
    /// A desk that answers only for the office asked.
    pub fn new() -> FakeDesk {
        FakeDesk::default()
    }
    /// A desk that answers for every office.
    pub fn leaky() -> FakeDesk {
        FakeDesk {
            leaky: true,
            ..FakeDesk::default()
        }
    }
    /// Every submission: source platform and bytes.
    pub fn submissions(&self) -> Vec<(Platform, Vec<u8>)> {
        self.inner.lock().unwrap().submissions.clone()
    }
    /// The recorded detail of an application.
    pub fn detail(&self, no: &str) -> Option<Detail> {
        let inner = self.inner.lock().unwrap();
        inner
            .records
            .iter()
            .find(|(d, _)| d.summary.gateway_no == no)
            .map(|(d, _)| d.clone())
    }
    fn index(inner: &mut Inner) -> u64 {
        inner.next_index += 1;
        inner.next_index
    }
    /// The decision arrives, as the destination platform's would through the sandbox.
    pub fn decide(&self, no: &str, outcome: Outcome) {
        let mut inner = self.inner.lock().unwrap();
        let index = Self::index(&mut inner);
        let (detail, file) = inner
            .records
            .iter_mut()
            .find(|(d, _)| d.summary.gateway_no == no)
            .expect("application to decide");
        let now = Utc::now().fixed_offset();
        let today = now.date_naive();
        let licence = (outcome == Outcome::Granted).then(|| LicenceInfo {
            number: "JY23101160000019".to_owned(),
            name: detail.summary.item.licence_name().to_owned(),
            valid_from: today,
            valid_to: today.checked_add_days(Days::new(5 * 365)).unwrap(),
            issued_by: detail.authority.clone(),
            file_name: "JY23101160000019.ofd".to_owned(),
        });
        if outcome == Outcome::Granted {
            *file = Some(LicenceFile {
                name: "JY23101160000019.ofd".to_owned(),
                mime_type: "application/ofd".to_owned(),
                bytes: b"PK sample e-licence (OFD)".to_vec(),
            });
        }
        detail.decision = Some(DecisionInfo {
            outcome,
            opinion: "经审查，申请材料齐全、符合法定形式，准予许可。".to_owned(),
            officer: "沈建国".to_owned(),
            decided_at: now,
            licence,
        });
        detail.summary.state = State::Decided(outcome);
        detail.timeline.push(Step {
            label: format!("收到审批结果：{}", tongban::web::outcome_label(outcome)),
            at: now,
            ledger_index: index,
        });
    }
    fn visible(&self, detail: &Detail, office: &str) -> bool {
        self.leaky || detail.summary.office_uscc == office
    }
}

impl Desk for FakeDesk {
    fn submit(&self, source: Platform, bytes: Vec<u8>) -> DeskFuture<'_, Receipt> {
        let mut inner = self.inner.lock().unwrap();
        inner.submissions.push((source, bytes.clone()));
        let read = match platform::read(source, &bytes) {
            Ok(read) => read,
            Err(problems) => return ready(Err(DeskError::Refused(problems))),
        };
        let Document::Application(a) = read.document else {
            return ready(Err(DeskError::Conflict("not an application".to_owned())));
        };
        let received = Self::index(&mut inner);
        let forwarded = Self::index(&mut inner);
        let no = format!("TB-2026-{received:06}");
        let at = a.acceptance.accepted_at;
        let deadline = at
            .date_naive()
            .checked_add_days(Days::new(FAKE_LIMIT_DAYS))
            .unwrap();
        let detail = Detail {
            summary: Summary {
                gateway_no: no.clone(),
                source_no: a.number.as_str().to_owned(),
                office_uscc: a.acceptance.office_uscc.as_str().to_owned(),
                item: a.item,
                operator_name: a.operator.name.clone(),
                state: State::Forwarded,
                accepted_at: at,
                deadline,
                days_left: 14,
            },
            applicant_name: a.applicant.name.clone(),
            office_name: a.acceptance.office.clone(),
            clerk: a.acceptance.clerk.clone(),
            authority: a.target.authority.clone(),
            premises: a.premises.address.clone(),
            received_index: received,
            materials: a.materials.iter().map(MaterialReceived::of).collect(),
            timeline: vec![
                Step {
                    label: format!("窗口受理（{}）", a.acceptance.clerk),
                    at,
                    ledger_index: received,
                },
                Step {
                    label: format!("转送{}", a.target.authority),
                    at,
                    ledger_index: forwarded,
                },
            ],
            decision: None,
            handed_over: None,
        };
        inner.records.insert(0, (detail, None));
        ready(Ok(Receipt {
            gateway_no: no,
            ledger_index: received,
            deadline,
        }))
    }

    fn applications<'a>(&'a self, office_uscc: &'a str) -> DeskFuture<'a, Vec<Summary>> {
        let inner = self.inner.lock().unwrap();
        ready(Ok(inner
            .records
            .iter()
            .filter(|(d, _)| self.visible(d, office_uscc))
            .map(|(d, _)| d.summary.clone())
            .collect()))
    }

    fn application<'a>(
        &'a self,
        office_uscc: &'a str,
        gateway_no: &'a str,
    ) -> DeskFuture<'a, Option<Detail>> {
        let inner = self.inner.lock().unwrap();
        ready(Ok(inner
            .records
            .iter()
            .find(|(d, _)| d.summary.gateway_no == gateway_no && self.visible(d, office_uscc))
            .map(|(d, _)| d.clone())))
    }

    fn licence_file<'a>(
        &'a self,
        office_uscc: &'a str,
        gateway_no: &'a str,
    ) -> DeskFuture<'a, Option<LicenceFile>> {
        let inner = self.inner.lock().unwrap();
        ready(Ok(inner
            .records
            .iter()
            .find(|(d, _)| d.summary.gateway_no == gateway_no && self.visible(d, office_uscc))
            .and_then(|(_, f)| f.clone())))
    }

    fn mark_handed_over<'a>(
        &'a self,
        office_uscc: &'a str,
        gateway_no: &'a str,
        clerk: &'a str,
    ) -> DeskFuture<'a, u64> {
        let mut inner = self.inner.lock().unwrap();
        let index = Self::index(&mut inner);
        let leaky = self.leaky;
        let Some((d, _)) = inner.records.iter_mut().find(|(d, _)| {
            d.summary.gateway_no == gateway_no && (leaky || d.summary.office_uscc == office_uscc)
        }) else {
            return ready(Err(DeskError::NotFound));
        };
        let Some(outcome) = d.decision.as_ref().map(|x| x.outcome) else {
            return ready(Err(DeskError::Conflict("no decision yet".to_owned())));
        };
        if d.handed_over.is_some() {
            return ready(Err(DeskError::Conflict("已送达".to_owned())));
        }
        let now = Utc::now().fixed_offset();
        d.handed_over = Some(HandOver {
            at: now,
            clerk: clerk.to_owned(),
            ledger_index: index,
        });
        d.summary.state = State::HandedOver(outcome);
        d.timeline.push(Step {
            label: format!("送达申请人（{clerk}）"),
            at: now,
            ledger_index: index,
        });
        ready(Ok(index))
    }

    fn public_status<'a>(&'a self, gateway_no: &'a str) -> DeskFuture<'a, Option<PublicStatus>> {
        let inner = self.inner.lock().unwrap();
        ready(Ok(inner
            .records
            .iter()
            .find(|(d, _)| d.summary.gateway_no == gateway_no)
            .map(|(d, _)| PublicStatus {
                gateway_no: d.summary.gateway_no.clone(),
                item: d.summary.item,
                state: d.summary.state,
                applicant: MaskedName::of(&d.applicant_name),
                office_name: d.office_name.clone(),
                authority: d.authority.clone(),
                accepted_at: d.summary.accepted_at,
                working_days: FAKE_LIMIT_DAYS as u32,
                deadline: d.summary.deadline,
                deadline_provisional: false,
                days_left: d.summary.days_left,
                timeline: d
                    .timeline
                    .iter()
                    .map(|s| PublicStep {
                        label: s.label.split('（').next().unwrap_or_default().to_owned(),
                        at: s.at,
                    })
                    .collect(),
                licence_name: d
                    .decision
                    .as_ref()
                    .and_then(|x| x.licence.as_ref())
                    .map(|l| l.name.clone()),
            })))
    }
}

#[test]
fn fake_desk_refuses_what_the_adapter_refuses() {
    let desk = FakeDesk::new();
    let r = futures_lite(desk.submit(Platform::Zhejiang, b"{}".to_vec()));
    assert!(matches!(r, Err(DeskError::Refused(_))));
    assert_eq!(desk.submissions().len(), 1);
}

/// Runs a ready future (the fake's futures never wait).
fn futures_lite<T>(f: DeskFuture<'_, T>) -> Result<T, DeskError> {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}
