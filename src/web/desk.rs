//! What the clerk page needs from the gateway: the [`Desk`] trait and the small values it
//! returns. The gateway implements it on its pipeline and ledger; the web layer only renders.

use std::future::Future;
use std::pin::Pin;

use crate::codes::{Code, Item, Material};
use crate::model::{Date, Instant, Outcome, Problems};
use crate::platform::Platform;

/// A boxed future returned by [`Desk`] methods (object-safe `async fn`).
pub type DeskFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, DeskError>> + Send + 'a>>;

/// The gateway as seen from a window clerk's page. Every query names the office asking;
/// implementations return only that office's applications (the web layer checks again).
pub trait Desk: Send + Sync {
    /// Submits an application accepted at a window, in the clerk's own province platform's
    /// format, exactly as that platform would send it; the same pipeline as a platform
    /// submission, with `source` as the sending side.
    fn submit(&self, source: Platform, bytes: Vec<u8>) -> DeskFuture<'_, Receipt>;
    /// The office's applications, newest first.
    fn applications<'a>(&'a self, office_uscc: &'a str) -> DeskFuture<'a, Vec<Summary>>;
    /// One application of the office; `None` when unknown or another office's.
    fn application<'a>(
        &'a self,
        office_uscc: &'a str,
        gateway_no: &'a str,
    ) -> DeskFuture<'a, Option<Detail>>;
    /// The electronic licence file of a granted application of the office.
    fn licence_file<'a>(
        &'a self,
        office_uscc: &'a str,
        gateway_no: &'a str,
    ) -> DeskFuture<'a, Option<LicenceFile>>;
    /// Records that the decision was handed to the applicant (送达) by `clerk`; returns the
    /// ledger index of the entry.
    fn mark_handed_over<'a>(
        &'a self,
        office_uscc: &'a str,
        gateway_no: &'a str,
        clerk: &'a str,
    ) -> DeskFuture<'a, u64>;
    /// What the applicant's public status page shows of application `gateway_no`, whatever
    /// office accepted it; `None` when unknown. The web layer asks only after the request
    /// proved it holds the receipt's status link.
    fn public_status<'a>(&'a self, gateway_no: &'a str) -> DeskFuture<'a, Option<PublicStatus>>;
}

/// Why the gateway did not do what the page asked.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    /// The pipeline refused the document; problems are named in the submitting
    /// platform's vocabulary.
    #[error("refused: {0}")]
    Refused(Problems),
    /// No such application for this office.
    #[error("no such application")]
    NotFound,
    /// The request conflicts with the application's state (e.g. handed over twice, or
    /// before a decision).
    #[error("{0}")]
    Conflict(String),
    /// The gateway could not do it now (storage, ledger); try again.
    #[error("gateway unavailable: {0}")]
    Unavailable(String),
}

/// What the gateway returns for an accepted application.
#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    /// The gateway's cross-province number (通办编号).
    pub gateway_no: String,
    /// Ledger index of the RECEIVED entry.
    pub ledger_index: u64,
    /// Legal deadline (限时办结), in working days from acceptance.
    pub deadline: Date,
}

/// Where an application stands, as a clerk reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// 已受理: recorded, not yet forwarded.
    Received,
    /// 已转送: forwarded to the deciding platform.
    Forwarded,
    /// 已决定: the decision has arrived.
    Decided(Outcome),
    /// 已送达: the decision was handed to the applicant.
    HandedOver(Outcome),
    /// 失败: forwarding failed for good (refused by the other platform).
    Failed,
}

impl State {
    /// Short Chinese label for badges (`准予`, `已转送`).
    pub fn label(self) -> &'static str {
        match self {
            State::Received => "已受理",
            State::Forwarded => "已转送",
            State::Decided(o) => outcome_label(o),
            State::HandedOver(_) => "已送达",
            State::Failed => "失败",
        }
    }
    /// Stable key for filters and CSS classes.
    pub fn key(self) -> &'static str {
        match self {
            State::Received => "received",
            State::Forwarded => "forwarded",
            State::Decided(Outcome::Granted) => "granted",
            State::Decided(Outcome::Refused) => "refused",
            State::Decided(Outcome::Correction) => "correction",
            State::HandedOver(_) => "handed-over",
            State::Failed => "failed",
        }
    }
    /// True while the application waits for a decision (the deadline still matters).
    pub fn is_open(self) -> bool {
        matches!(self, State::Received | State::Forwarded)
    }
}

/// Chinese name of a decision's result.
pub fn outcome_label(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Granted => "准予",
        Outcome::Refused => "不予",
        Outcome::Correction => "补正",
    }
}

/// One line of the work list.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// 通办编号 (the gateway's number).
    pub gateway_no: String,
    /// 申请编号 as the window's platform assigned it.
    pub source_no: String,
    /// USCC of the accepting office: the web layer shows only the session's office.
    pub office_uscc: String,
    /// 事项.
    pub item: Code<Item>,
    /// 经营者名称.
    pub operator_name: String,
    /// Where it stands.
    pub state: State,
    /// 受理时间.
    pub accepted_at: Instant,
    /// 法定办结期限.
    pub deadline: Date,
    /// Working days left to the deadline; negative when overdue.
    pub days_left: i64,
}

/// One step of an application's life, as recorded in the ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// What happened, in Chinese (`受理`, `转送上海市`, `收到审批结果`).
    pub label: String,
    /// When.
    pub at: Instant,
    /// Index of the ledger entry recording it.
    pub ledger_index: u64,
}

/// A material received at the window.
#[derive(Debug, Clone, PartialEq)]
pub struct MaterialReceived {
    /// 材料编码.
    pub code: Code<Material>,
    /// 材料名称 as submitted.
    pub title: String,
    /// File name.
    pub file_name: String,
    /// Size of the decoded file in bytes.
    pub size: u64,
}

impl MaterialReceived {
    /// What the window shows of a material as the application carries it.
    pub fn of(m: &crate::model::Material) -> Self {
        Self {
            code: m.code,
            title: m.title.clone(),
            file_name: m.file.name.clone(),
            size: m.file.content.decoded_len(),
        }
    }
}

/// The decision, as far as the window needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionInfo {
    /// 准予 / 不予 / 补正.
    pub outcome: Outcome,
    /// 审批意见.
    pub opinion: String,
    /// 审批人.
    pub officer: String,
    /// 审批时间.
    pub decided_at: Instant,
    /// 证照, when granted.
    pub licence: Option<LicenceInfo>,
}

/// The licence issued, without its file.
#[derive(Debug, Clone, PartialEq)]
pub struct LicenceInfo {
    /// 证照编号.
    pub number: String,
    /// 证照名称.
    pub name: String,
    /// 有效期起.
    pub valid_from: Date,
    /// 有效期止.
    pub valid_to: Date,
    /// 发证机关.
    pub issued_by: String,
    /// File name of the electronic licence.
    pub file_name: String,
}

/// The electronic licence file.
#[derive(Debug, Clone, PartialEq)]
pub struct LicenceFile {
    /// File name.
    pub name: String,
    /// MIME type.
    pub mime_type: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// Who handed the decision over, and when.
#[derive(Debug, Clone, PartialEq)]
pub struct HandOver {
    /// When.
    pub at: Instant,
    /// The clerk's name.
    pub clerk: String,
    /// Ledger index of the entry.
    pub ledger_index: u64,
}

/// Everything an application's page and its receipt show.
#[derive(Debug, Clone, PartialEq)]
pub struct Detail {
    /// The work-list line.
    pub summary: Summary,
    /// 申请人姓名.
    pub applicant_name: String,
    /// 受理机构名称.
    pub office_name: String,
    /// 受理人.
    pub clerk: String,
    /// 审批机关.
    pub authority: String,
    /// 经营场所 address.
    pub premises: String,
    /// Ledger index of the RECEIVED entry (printed on the receipt).
    pub received_index: u64,
    /// Materials received.
    pub materials: Vec<MaterialReceived>,
    /// Every recorded step, oldest first.
    pub timeline: Vec<Step>,
    /// The decision, once it has arrived.
    pub decision: Option<DecisionInfo>,
    /// The hand-over, once done.
    pub handed_over: Option<HandOver>,
}

/// An applicant's name as the public status page may show it: the first character, then one
/// `*` per character hidden, then the last character of a name of three or more (王*明,
/// 王*, 欧**平). Built only by [`MaskedName::of`], so the page cannot show a name whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskedName(String);

impl MaskedName {
    /// Masks `name` (surrounding spaces ignored).
    pub fn of(name: &str) -> Self {
        let chars: Vec<char> = name.trim().chars().collect();
        let masked = match chars.len() {
            0 => String::new(),
            1 => "*".to_owned(),
            2 => format!("{}*", chars[0]),
            n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
        };
        MaskedName(masked)
    }
    /// The masked text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One step of an application as its applicant reads it: no clerk, officer or ledger index.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicStep {
    /// What happened, in Chinese (`窗口受理`, `转送平湖市市场监督管理局审批`).
    pub label: String,
    /// When.
    pub at: Instant,
}

/// What the applicant's public status page shows of an application, and nothing more: it
/// has no field for an identity number, a phone number, a clerk or a full name.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicStatus {
    /// 通办编号.
    pub gateway_no: String,
    /// 事项.
    pub item: Code<Item>,
    /// Where it stands.
    pub state: State,
    /// The applicant, masked.
    pub applicant: MaskedName,
    /// 受理窗口 (where the licence is collected).
    pub office_name: String,
    /// 审批机关.
    pub authority: String,
    /// 受理时间.
    pub accepted_at: Instant,
    /// Working days the law allows (限时办结).
    pub working_days: u32,
    /// 法定办结期限.
    pub deadline: Date,
    /// The deadline counts days of a year whose holidays are not published yet.
    pub deadline_provisional: bool,
    /// Working days left to the deadline; negative when overdue.
    pub days_left: i64,
    /// Steps so far, oldest first.
    pub timeline: Vec<PublicStep>,
    /// 证照名称, when granted.
    pub licence_name: Option<String>,
}
