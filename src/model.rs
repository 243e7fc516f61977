//! The canonical model: applications and decisions as neither platform spells them.
//!
//! Every field holds a checked value: identifiers are built by their standard's parser,
//! codes are rows of the tables in `schemas/`, money is integer fen, times carry their
//! offset. A reader (one per platform) builds these values from its own format and reports
//! every problem with its own field names; the rules that involve several fields are
//! stated once here ([`rules`]) and applied by every reader.

mod ids;
pub mod limits;
pub mod message;
mod problem;
pub mod rules;
pub mod text;
mod values;

use std::collections::BTreeMap;

pub use ids::{
    mask, ApplicationNo, DivisionCode, FoodLicenceNo, IdDocument, Invalid, Mobile, ResidentId, Uscc,
};
pub use message::{Lang, Message};
pub use problem::{Problem, Problems, Severity};
pub use values::{format_fixed, parse_fixed, Base64Content, CentiSquareMetres, Fen, Sha256Digest};

use crate::codes::{Code, EntityType, FoodItem, Item, MainFormat, Material as MaterialCode};

/// A point in time with the offset it was given in (equality compares the instant).
pub type Instant = chrono::DateTime<chrono::FixedOffset>;
/// A calendar date.
pub type Date = chrono::NaiveDate;

/// China Standard Time (Beijing time), UTC+8 without daylight saving: the time both provinces'
/// platforms write, and in which the window and the applicant read every time.
pub fn beijing() -> chrono::FixedOffset {
    const SECONDS_EAST: i32 = 8 * 3600;
    chrono::FixedOffset::east_opt(SECONDS_EAST).expect("UTC+8 is a valid offset")
}

/// Fields one platform has and the other lacks, carried so that a round trip gives back the
/// same content: exactly what travels in the other platform's extension area (Zhejiang's
/// `kzxx`, Shanghai's `Extensions/Field`), names and values unchanged.
///
/// Names starting `~zj:` or `~sh:` are the gateway's own: `~zj:<path>` holds the Zhejiang
/// field at `<path>` (`~zj:jyz.xydj`) that Shanghai's format lacks, as JSON text (a string
/// that could not be mistaken for JSON as itself); `~sh:<element>` holds Shanghai content
/// Zhejiang lacks (`~sh:Result`). Every other name is the partner's and is carried as it
/// stands, including names starting `zj:`, `sh:` or `~` (both interface documents allow any
/// name there). A partner name starting `~zj:` or `~sh:` would be read as the gateway's: in
/// `kzxx` a `~zj:` name is refused, and otherwise it is the one spelling reserved.
/// Bounded by [`limits`].
pub type Extensions = BTreeMap<String, String>;

/// Either document the platforms exchange.
#[derive(Debug, Clone, PartialEq)]
pub enum Document {
    /// 申请: sent by the accepting side.
    Application(Box<Application>),
    /// 审批结果: sent back by the deciding side.
    Decision(Box<Decision>),
}

impl Document {
    /// The application number the document carries.
    pub fn number(&self) -> &ApplicationNo {
        match self {
            Document::Application(a) => &a.number,
            Document::Decision(d) => &d.number,
        }
    }
}

/// A licence application accepted at a window in one province for a business in another.
#[derive(Debug, Clone, PartialEq)]
pub struct Application {
    /// 申请编号 as the sending side assigned it.
    pub number: ApplicationNo,
    /// 事项: the licence applied for.
    pub item: Code<Item>,
    /// 申请人: the person at the window.
    pub applicant: Applicant,
    /// 经营者: the business.
    pub operator: Operator,
    /// 经营场所.
    pub premises: Premises,
    /// 食品经营 details; present exactly for food licence items.
    pub food: Option<FoodBusiness>,
    /// 经营范围; present for registration items.
    pub business_scope: Option<String>,
    /// 材料, at least one.
    pub materials: Vec<Material>,
    /// 受理信息: who accepted it, where and when.
    pub acceptance: Acceptance,
    /// 目标区域 and the deciding authority.
    pub target: Target,
    /// 联系人.
    pub contact: Option<Contact>,
    /// 备注.
    pub remark: Option<String>,
    /// What the other side sent that has no field here.
    pub extensions: Extensions,
}

/// 申请人.
#[derive(Debug, Clone, PartialEq)]
pub struct Applicant {
    /// 姓名, never normalised.
    pub name: String,
    /// 证件.
    pub id: IdDocument,
    /// 手机号码.
    pub mobile: Mobile,
}

/// 经营者.
#[derive(Debug, Clone, PartialEq)]
pub struct Operator {
    /// 名称, never normalised.
    pub name: String,
    /// 统一社会信用代码: required for food items, absent for registrations.
    pub uscc: Option<Uscc>,
    /// 主体类型.
    pub entity_type: Code<EntityType>,
    /// 法定代表人 / 经营者.
    pub legal_rep: Person,
    /// 注册资本, optional for 个体工商户.
    pub registered_capital: Option<Fen>,
    /// 住所.
    pub residence: String,
}

/// A person identified by a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    /// 姓名.
    pub name: String,
    /// 证件.
    pub id: IdDocument,
}

/// 经营场所.
#[derive(Debug, Clone, PartialEq)]
pub struct Premises {
    /// County-level division.
    pub division: DivisionCode,
    /// Full address, never normalised.
    pub address: String,
    /// 面积.
    pub area: CentiSquareMetres,
}

/// 食品经营 details.
#[derive(Debug, Clone, PartialEq)]
pub struct FoodBusiness {
    /// 主体业态.
    pub main_format: Code<MainFormat>,
    /// 主体业态备注 (e.g. 中央厨房).
    pub format_note: Option<String>,
    /// 经营项目, at least one.
    pub items: Vec<Code<FoodItem>>,
    /// 食品安全管理人员.
    pub safety_manager: SafetyManager,
    /// 网络经营.
    pub online_sales: bool,
}

/// 食品安全管理人员 (both platforms give a 居民身份证 number without a type).
#[derive(Debug, Clone, PartialEq)]
pub struct SafetyManager {
    /// 姓名.
    pub name: String,
    /// 居民身份证号码.
    pub id_number: ResidentId,
    /// 手机号码.
    pub mobile: Mobile,
}

/// One submitted material.
#[derive(Debug, Clone, PartialEq)]
pub struct Material {
    /// 材料编码.
    pub code: Code<MaterialCode>,
    /// 材料名称.
    pub title: String,
    /// The file.
    pub file: File,
}

/// A file: name, type, digest and content; the digest is checked against the content.
#[derive(Debug, Clone, PartialEq)]
pub struct File {
    /// 文件名.
    pub name: String,
    /// MIME type.
    pub mime_type: String,
    /// SHA-256 of the decoded content.
    pub sha256: Sha256Digest,
    /// The content.
    pub content: Base64Content,
}

/// 受理信息.
#[derive(Debug, Clone, PartialEq)]
pub struct Acceptance {
    /// 受理机构名称.
    pub office: String,
    /// 受理机构统一社会信用代码.
    pub office_uscc: Uscc,
    /// 受理人.
    pub clerk: String,
    /// 受理时间.
    pub accepted_at: Instant,
}

/// Where the application is decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// 目标区域.
    pub region: DivisionCode,
    /// 审批机关.
    pub authority: String,
}

/// 联系人.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    /// 姓名.
    pub name: String,
    /// 手机号码.
    pub mobile: Mobile,
}

/// 审批结果.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 准予.
    Granted,
    /// 不予.
    Refused,
    /// 补正: materials must be corrected.
    Correction,
}

/// The deciding platform's decision on an application.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The application number as the deciding platform received it.
    pub number: ApplicationNo,
    /// The result.
    pub outcome: Outcome,
    /// A note on the result (Shanghai's `Result` text).
    pub outcome_note: Option<String>,
    /// 审批意见.
    pub opinion: String,
    /// 审批人.
    pub officer: String,
    /// 审批时间.
    pub decided_at: Instant,
    /// 证照, present exactly when granted.
    pub licence: Option<Licence>,
    /// What the other side sent that has no field here.
    pub extensions: Extensions,
}

/// 证照: the licence issued.
#[derive(Debug, Clone, PartialEq)]
pub struct Licence {
    /// 证照编号 (a food licence number is checked as `JY` + 14 digits).
    pub number: String,
    /// 证照名称.
    pub name: String,
    /// 有效期起.
    pub valid_from: Date,
    /// 有效期止.
    pub valid_to: Date,
    /// 发证机关.
    pub issued_by: String,
    /// 发证日期.
    pub issued_on: Date,
    /// 统一社会信用代码 assigned by a registration.
    pub uscc: Option<Uscc>,
    /// 电子证照.
    pub file: File,
}
