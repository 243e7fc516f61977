//! The window clerks' [`Desk`] on the real gateway.
//!
//! - A submission goes through [`Gateway::intake`], exactly as the clerk's province platform's
//!   own would; refusals come back as [`Problems`] naming the field in that platform's
//!   vocabulary.
//! - The work list reads the office's records through the office index
//!   ([`AppStore::by_office`](super::record::AppStore::by_office)); an application's page
//!   reads the names, materials and decision from the stored exact documents, so no personal
//!   data is copied into the record; the timeline is the record's, with ledger indexes.
//! - The hand-over (送达) is a HANDED_OVER ledger entry (committing to the decision handed
//!   over, never naming the clerk), recorded on the timeline and flushed before the answer.
//!
//! Every query is limited to the asking office; an application of another office is as
//! unknown as a number never issued.

use std::sync::Arc;

use chrono::{NaiveDate, TimeZone as _, Utc};
use sha2::{Digest as _, Sha256};

use crate::codes::{Code, Item};
use crate::model::{self, beijing, Document, Instant, Outcome, Problems};
use crate::platform::{self, Platform};
use crate::web::{
    outcome_label, DecisionInfo, Desk, DeskError, DeskFuture, Detail, HandOver, LicenceFile,
    LicenceInfo, MaskedName, MaterialReceived, PublicStatus, PublicStep, Receipt, State, Step,
    Summary,
};

use super::intake::commit::{Change, Update};
use super::intake::pipeline::{decision_facts, Gateway, Intake};
use super::intake::sender::Sender;
use super::ledger::journal::{now_ms, Step as LedgerStep};
use super::record::{AppRecord, AppState, DocKind, Event};

/// Most applications an office's work list shows, newest first: a busy window accepts a few
/// dozen cross-province applications a day, so this is months of work, and the page still
/// renders in a fraction of a second.
pub const WORK_LIST_LIMIT: usize = 500;

/// Timeline step of a hand-over.
pub const HANDED_OVER: &str = "HANDED_OVER";

/// The gateway as a window clerk's page sees it.
pub struct GatewayDesk {
    gw: Arc<Gateway>,
}

fn unavailable(e: impl std::fmt::Display) -> DeskError {
    DeskError::Unavailable(e.to_string())
}

/// Runs storage reads and document parsing (a document carries its scanned materials) on a
/// blocking thread, off the runtime's two workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, DeskError> + Send + 'static,
) -> Result<T, DeskError> {
    tokio::task::spawn_blocking(f).await.map_err(unavailable)?
}

fn outcome_of(key: &str) -> Option<Outcome> {
    match key {
        "granted" => Some(Outcome::Granted),
        "refused" => Some(Outcome::Refused),
        "correction" => Some(Outcome::Correction),
        _ => None,
    }
}

/// Where the application stands for the window.
fn state(rec: &AppRecord) -> State {
    match rec.decision.as_deref().and_then(outcome_of) {
        Some(o) if rec.step(HANDED_OVER).is_some() => State::HandedOver(o),
        Some(o) => State::Decided(o),
        None => match rec.state {
            AppState::Received => State::Received,
            AppState::Failed => State::Failed,
            AppState::Forwarded | AppState::Decided | AppState::Delivered => State::Forwarded,
        },
    }
}

fn instant_ms(ms: i64) -> Instant {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or_default()
        .with_timezone(&beijing())
}

/// The acceptance time the application stated (records written before it was kept: the day
/// of acceptance, at midnight in Beijing).
fn accepted_at(rec: &AppRecord) -> Instant {
    chrono::DateTime::parse_from_rfc3339(&rec.accepted_at)
        .ok()
        .or_else(|| {
            let day = NaiveDate::parse_from_str(&rec.accepted_on, "%Y-%m-%d").ok()?;
            day.and_hms_opt(0, 0, 0)?
                .and_local_timezone(beijing())
                .single()
        })
        .unwrap_or_else(|| instant_ms(0))
}

fn date(s: &str) -> Result<NaiveDate, DeskError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| unavailable(format!("stored date '{s}': {e}")))
}

fn platform_of(key: &str) -> Result<Platform, DeskError> {
    key.parse()
        .map_err(|_| unavailable(format!("stored platform '{key}'")))
}

/// What the page calls a step of the timeline.
fn label(e: &Event, rec: &AppRecord, app: &model::Application) -> String {
    let province = |key: &str| {
        key.parse::<Platform>()
            .ok()
            .and_then(|p| crate::codes::province_name(p.province()))
            .unwrap_or("")
    };
    match e.step.as_str() {
        "RECEIVED" => format!("窗口受理（{}）", app.acceptance.clerk),
        "FORWARDED" => format!("转送{}", app.target.authority),
        "DECIDED" => match rec.decision.as_deref().and_then(outcome_of) {
            Some(o) => format!("收到审批结果：{}", outcome_label(o)),
            None => "收到审批结果".to_owned(),
        },
        "DELIVERED" => format!("审批结果回传{}平台", province(&rec.source)),
        "FAILED" if rec.decision.is_some() => "审批结果回传失败".to_owned(),
        "FAILED" => "转送失败".to_owned(),
        HANDED_OVER => format!(
            "送达申请人（{}）",
            rec.handed_over_by.as_deref().unwrap_or("")
        ),
        other => other.to_owned(),
    }
}

/// What the applicant's status page calls a step: no clerk's name; steps the applicant has
/// nothing to do with (notices between the platforms) are left out.
fn public_label(e: &Event, rec: &AppRecord, app: &model::Application) -> Option<String> {
    Some(match e.step.as_str() {
        "RECEIVED" => "收件登记".to_owned(),
        "FORWARDED" => format!("转送{}审批", app.target.authority),
        "DECIDED" => match rec.decision.as_deref().and_then(outcome_of) {
            Some(o) => format!("审批结果：{}", outcome_label(o)),
            None => "作出审批结果".to_owned(),
        },
        "FAILED" if rec.decision.is_none() => "转送未成功".to_owned(),
        HANDED_OVER => "审批结果已送达申请人".to_owned(),
        _ => return None,
    })
}

fn decision_info(d: &model::Decision) -> DecisionInfo {
    DecisionInfo {
        outcome: d.outcome,
        opinion: d.opinion.clone(),
        officer: d.officer.clone(),
        decided_at: d.decided_at,
        licence: d.licence.as_ref().map(|l| LicenceInfo {
            number: l.number.clone(),
            name: l.name.clone(),
            valid_from: l.valid_from,
            valid_to: l.valid_to,
            issued_by: l.issued_by.clone(),
            file_name: l.file.name.clone(),
        }),
    }
}

impl GatewayDesk {
    /// The desk on `gw` (its ledger is the gateway's journal).
    pub fn new(gw: Arc<Gateway>) -> Self {
        Self { gw }
    }

    /// The office's acknowledged record `no`; `None` for another office's or an unknown one.
    fn record(gw: &Gateway, office: &str, no: &str) -> Result<Option<AppRecord>, DeskError> {
        Ok(gw
            .store
            .get(no)
            .map_err(unavailable)?
            .filter(|r| r.office_uscc == office && r.received_index.is_some()))
    }

    /// Today in Beijing, from which days to deadlines are counted.
    fn today() -> NaiveDate {
        Utc::now().with_timezone(&beijing()).date_naive()
    }

    fn summary(gw: &Gateway, rec: &AppRecord, today: NaiveDate) -> Result<Summary, DeskError> {
        let item = Code::<Item>::from_key(&rec.item)
            .ok_or_else(|| unavailable(format!("stored item '{}'", rec.item)))?;
        let deadline = date(&rec.deadline)?;
        Ok(Summary {
            gateway_no: rec.gateway_no.clone(),
            source_no: rec.source_no.clone(),
            office_uscc: rec.office_uscc.clone(),
            item,
            operator_name: rec.operator_name.clone(),
            state: state(rec),
            accepted_at: accepted_at(rec),
            deadline,
            days_left: gw.config.calendar.working_days_left(today, deadline),
        })
    }

    fn application_doc(gw: &Gateway, rec: &AppRecord) -> Result<model::Application, DeskError> {
        let p = platform_of(&rec.source)?;
        match gw
            .stored_document(&rec.gateway_no, DocKind::ApplicationReceived, p)
            .map_err(unavailable)?
        {
            (_, Document::Application(a)) => Ok(*a),
            _ => Err(unavailable("stored application is a decision")),
        }
    }

    /// The decision as received, once it has arrived.
    fn decision_doc(
        gw: &Gateway,
        rec: &AppRecord,
    ) -> Result<Option<(Vec<u8>, model::Decision)>, DeskError> {
        if rec.decision.is_none() {
            return Ok(None);
        }
        let p = platform_of(&rec.destination)?;
        match gw
            .stored_document(&rec.gateway_no, DocKind::DecisionReceived, p)
            .map_err(unavailable)?
        {
            (bytes, Document::Decision(d)) => Ok(Some((bytes, *d))),
            _ => Err(unavailable("stored decision is an application")),
        }
    }

    fn detail(gw: &Gateway, office: &str, no: &str) -> Result<Option<Detail>, DeskError> {
        let Some(rec) = Self::record(gw, office, no)? else {
            return Ok(None);
        };
        let app = Self::application_doc(gw, &rec)?;
        let decision = Self::decision_doc(gw, &rec)?;
        let timeline = rec
            .timeline
            .iter()
            .filter_map(|e| {
                Some(Step {
                    label: label(e, &rec, &app),
                    at: instant_ms(e.at),
                    ledger_index: e.ledger_index?,
                })
            })
            .collect();
        let handed_over = rec.step(HANDED_OVER).and_then(|e| {
            Some(HandOver {
                at: instant_ms(e.at),
                clerk: rec.handed_over_by.clone().unwrap_or_default(),
                ledger_index: e.ledger_index?,
            })
        });
        Ok(Some(Detail {
            summary: Self::summary(gw, &rec, Self::today())?,
            applicant_name: app.applicant.name.clone(),
            office_name: app.acceptance.office.clone(),
            clerk: app.acceptance.clerk.clone(),
            authority: app.target.authority.clone(),
            premises: app.premises.address.clone(),
            received_index: rec.received_index.unwrap_or_default(),
            materials: app.materials.iter().map(MaterialReceived::of).collect(),
            timeline,
            decision: decision.map(|(_, d)| decision_info(&d)),
            handed_over,
        }))
    }

    fn public(gw: &Gateway, no: &str) -> Result<Option<PublicStatus>, DeskError> {
        let Some(rec) = gw
            .store
            .get(no)
            .map_err(unavailable)?
            .filter(|r| r.received_index.is_some())
        else {
            return Ok(None);
        };
        let app = Self::application_doc(gw, &rec)?;
        let licence_name = Self::decision_doc(gw, &rec)?
            .and_then(|(_, d)| d.licence)
            .map(|l| l.name);
        let summary = Self::summary(gw, &rec, Self::today())?;
        let timeline = rec
            .timeline
            .iter()
            .filter(|e| e.ledger_index.is_some())
            .filter_map(|e| {
                Some(PublicStep {
                    label: public_label(e, &rec, &app)?,
                    at: instant_ms(e.at),
                })
            })
            .collect();
        Ok(Some(PublicStatus {
            gateway_no: rec.gateway_no.clone(),
            item: summary.item,
            state: summary.state,
            applicant: MaskedName::of(&app.applicant.name),
            office_name: app.acceptance.office.clone(),
            authority: app.target.authority.clone(),
            accepted_at: summary.accepted_at,
            working_days: rec.working_days,
            deadline: summary.deadline,
            deadline_provisional: rec.deadline_provisional,
            days_left: summary.days_left,
            timeline,
            licence_name,
        }))
    }

    async fn submit_inner(&self, source: Platform, bytes: Vec<u8>) -> Result<Receipt, DeskError> {
        match self
            .gw
            .intake(source, bytes.into(), Sender::Unverified)
            .await
            .map_err(unavailable)?
        {
            Intake::Accepted(rec) => Ok(Receipt {
                gateway_no: rec.gateway_no.clone(),
                ledger_index: rec
                    .received_index
                    .ok_or_else(|| unavailable("accepted without a ledger index"))?,
                deadline: date(&rec.deadline)?,
            }),
            Intake::Duplicate(first) => Err(DeskError::Conflict(format!(
                "申请编号 {} 已以不同内容提交过（通办编号 {}）",
                first.source_no, first.gateway_no
            ))),
            Intake::Invalid(problems) => Err(DeskError::Refused(problems)),
            Intake::Forbidden(why) => {
                let mut problems = Problems::new();
                problems.error(platform::field_path(source, why.field()), why.message());
                Err(DeskError::Refused(problems))
            }
        }
    }

    async fn hand_over(&self, office: &str, no: &str, clerk: &str) -> Result<u64, DeskError> {
        // One hand-over at a time per application, so a double click records one entry.
        let Some(_guard) = self.gw.in_progress(format!("{no}/handed-over")) else {
            return Err(DeskError::Conflict("正在登记送达，请勿重复提交".to_owned()));
        };
        let gw = self.gw.clone();
        let (office_owned, no_owned) = (office.to_owned(), no.to_owned());
        let (rec, decision_bytes, decision) = blocking(move || {
            let rec = Self::record(&gw, &office_owned, &no_owned)?.ok_or(DeskError::NotFound)?;
            if rec.step(HANDED_OVER).is_some() {
                return Err(DeskError::Conflict("已送达，不能重复登记".to_owned()));
            }
            let (bytes, decision) = Self::decision_doc(&gw, &rec)?
                .ok_or_else(|| DeskError::Conflict("尚未收到审批结果，不能送达".to_owned()))?;
            Ok((rec, bytes, decision))
        })
        .await?;
        let now = now_ms();
        // The entry commits to the decision handed over; the clerk's name stays out of the
        // ledger (personal data), in the gateway's own record only.
        let mut entry = self.gw.base_record(&rec, LedgerStep::HandedOver, now);
        entry.received_sha256 = Sha256::digest(&decision_bytes).into();
        entry.decision = Some(decision_facts(&decision));
        let clerk = clerk.to_owned();
        let update: Update = Box::new(move |rec| {
            rec.handed_over_by = Some(clerk);
            Some(entry)
        });
        let index = self
            .gw
            .change(Change {
                gateway_no: rec.gateway_no.clone(),
                update: Some(update),
                event: Some((HANDED_OVER, None)),
                docs: vec![],
                jobs: vec![],
            })
            .await
            .map_err(unavailable)?
            .ok_or_else(|| unavailable("handover recorded without a ledger index"))?;
        tracing::info!(gateway_no = %no, ledger_index = index, "decision handed over at the window");
        Ok(index)
    }
}

impl Desk for GatewayDesk {
    fn submit(&self, source: Platform, bytes: Vec<u8>) -> DeskFuture<'_, Receipt> {
        Box::pin(self.submit_inner(source, bytes))
    }

    fn applications<'a>(&'a self, office_uscc: &'a str) -> DeskFuture<'a, Vec<Summary>> {
        let gw = self.gw.clone();
        let office = office_uscc.to_owned();
        Box::pin(blocking(move || {
            let today = Self::today();
            Ok(gw
                .store
                .by_office(&office, WORK_LIST_LIMIT)
                .map_err(unavailable)?
                .iter()
                .filter(|r| r.office_uscc == office && r.received_index.is_some())
                .filter_map(|r| {
                    // One unreadable record must not hide the office's whole work list.
                    Self::summary(&gw, r, today)
                        .map_err(|e| {
                            tracing::error!(gateway_no = %r.gateway_no, error = %e, "record left out of the work list");
                        })
                        .ok()
                })
                .collect())
        }))
    }

    fn application<'a>(
        &'a self,
        office_uscc: &'a str,
        gateway_no: &'a str,
    ) -> DeskFuture<'a, Option<Detail>> {
        let gw = self.gw.clone();
        let (office, no) = (office_uscc.to_owned(), gateway_no.to_owned());
        Box::pin(blocking(move || Self::detail(&gw, &office, &no)))
    }

    fn licence_file<'a>(
        &'a self,
        office_uscc: &'a str,
        gateway_no: &'a str,
    ) -> DeskFuture<'a, Option<LicenceFile>> {
        let gw = self.gw.clone();
        let (office, no) = (office_uscc.to_owned(), gateway_no.to_owned());
        Box::pin(blocking(move || {
            let Some(rec) = Self::record(&gw, &office, &no)? else {
                return Ok(None);
            };
            Ok(Self::decision_doc(&gw, &rec)?
                .and_then(|(_, d)| d.licence)
                .map(|l| LicenceFile {
                    bytes: l.file.content.decode(),
                    name: l.file.name,
                    mime_type: l.file.mime_type,
                }))
        }))
    }

    fn mark_handed_over<'a>(
        &'a self,
        office_uscc: &'a str,
        gateway_no: &'a str,
        clerk: &'a str,
    ) -> DeskFuture<'a, u64> {
        Box::pin(self.hand_over(office_uscc, gateway_no, clerk))
    }

    fn public_status<'a>(&'a self, gateway_no: &'a str) -> DeskFuture<'a, Option<PublicStatus>> {
        let gw = self.gw.clone();
        let no = gateway_no.to_owned();
        Box::pin(blocking(move || Self::public(&gw, &no)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(state: AppState, decision: Option<&str>) -> AppRecord {
        let mut r = crate::store::gateway::tests::rec("TB202611230000000001", "SH-CK-1");
        r.received_index = Some(0);
        r.accepted_at = String::new();
        r.state = state;
        r.decision = decision.map(str::to_owned);
        r
    }

    #[test]
    fn the_window_sees_the_decision_whatever_its_delivery_to_the_platform() {
        assert_eq!(state(&rec(AppState::Received, None)), State::Received);
        assert_eq!(state(&rec(AppState::Forwarded, None)), State::Forwarded);
        assert_eq!(state(&rec(AppState::Failed, None)), State::Failed);
        for s in [AppState::Decided, AppState::Delivered, AppState::Failed] {
            assert_eq!(
                state(&rec(s, Some("granted"))),
                State::Decided(Outcome::Granted)
            );
        }
        let mut r = rec(AppState::Delivered, Some("refused"));
        r.event(HANDED_OVER, 0, Some(9), None);
        assert_eq!(state(&r), State::HandedOver(Outcome::Refused));
    }

    #[test]
    fn acceptance_time_keeps_its_offset_and_old_records_fall_back_to_the_day() {
        let mut r = rec(AppState::Received, None);
        assert_eq!(accepted_at(&r).to_rfc3339(), "2026-11-20T00:00:00+08:00");
        r.accepted_at = "2026-11-20T10:30:00+09:00".into();
        assert_eq!(accepted_at(&r).to_rfc3339(), "2026-11-20T10:30:00+09:00");
    }
}
