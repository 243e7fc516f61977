//! The JSON API behind the intake form: live checks with the model's own checkers, and the
//! submission through the gateway's pipeline.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::auth::{csrf_refused, Clerk};
use super::desk::DeskError;
use super::pages::{problem, province_of};
use super::Web;
use crate::codes::{self, Code, IdType};
use crate::model::{
    beijing, DivisionCode, Document, IdDocument, Lang, Message, Mobile, Problems, ResidentId, Uscc,
};
use crate::platform::{self, Platform};

/// A live check's question.
#[derive(Deserialize)]
pub struct CheckQuery {
    /// `uscc`, `id`, `mobile` or `division`.
    field: String,
    /// What the clerk typed.
    value: String,
    /// For `id`: the Zhejiang id type code (`111` 居民身份证 when absent).
    kind: Option<String>,
    /// For `division`: `premises` or `target`, which must lie in the other province.
    scope: Option<String>,
}

/// A live check's answer.
#[derive(Serialize, Debug, PartialEq)]
pub struct CheckAnswer {
    /// The value is valid.
    pub ok: bool,
    /// What is wrong, or what was recognised.
    pub message: String,
    /// For divisions: province, city and county.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// For divisions: the suggested deciding authority.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
}

fn answer(result: Result<String, String>) -> CheckAnswer {
    match result {
        Ok(message) => CheckAnswer {
            ok: true,
            message,
            name: None,
            authority: None,
        },
        Err(message) => CheckAnswer {
            ok: false,
            message,
            name: None,
            authority: None,
        },
    }
}

/// Checks one value as the adapter would; `platform` is the clerk's province platform.
pub fn check_value(
    field: &str,
    value: &str,
    kind: Option<&str>,
    scope: Option<&str>,
    platform: Platform,
) -> Option<CheckAnswer> {
    let value = value.trim();
    Some(match field {
        "uscc" => answer(
            Uscc::parse(value)
                .map(|_| "统一社会信用代码校验通过".to_owned())
                .map_err(|e| e.render(Lang::Zh)),
        ),
        "id" => {
            let kind = kind
                .and_then(Code::<IdType>::from_zj)
                .or_else(resident_id_type);
            let checked = match kind {
                Some(k) => IdDocument::parse(k, value).map(|_| format!("{}号码校验通过", k.name())),
                None => ResidentId::parse(value).map(|_| "身份证号码校验通过".to_owned()),
            };
            answer(checked.map_err(|e| e.render(Lang::Zh)))
        }
        "mobile" => answer(
            Mobile::parse(value)
                .map(|_| "手机号码格式正确".to_owned())
                .map_err(|e| e.render(Lang::Zh)),
        ),
        "division" => match DivisionCode::parse(value) {
            Err(e) => answer(Err(e.render(Lang::Zh))),
            Ok(d) => {
                let county = codes::division(d.code()).map_or("", |c| c.name);
                let other = platform.other();
                if scope.is_some() && d.province() != other.province() {
                    CheckAnswer {
                        ok: false,
                        message: Message::PageOutsideProvince {
                            name: d.full_name().to_owned(),
                            province: province_of(other).to_owned(),
                        }
                        .render(Lang::Zh),
                        name: Some(d.full_name().to_owned()),
                        authority: None,
                    }
                } else {
                    CheckAnswer {
                        ok: true,
                        message: d.full_name().to_owned(),
                        name: Some(d.full_name().to_owned()),
                        authority: Some(format!("{county}市场监督管理局")),
                    }
                }
            }
        },
        _ => return None,
    })
}

/// The 居民身份证 row, for id checks without a type.
fn resident_id_type() -> Option<Code<IdType>> {
    use crate::codes::Kind;
    IdType::table()
        .rows()
        .iter()
        .filter_map(|r| Code::<IdType>::from_key(r.key))
        .find(|c| c.is_resident_id())
}

/// `GET /clerk/api/check?field=uscc|id|mobile|division&value=…`.
pub async fn check(clerk: Clerk, Query(q): Query<CheckQuery>) -> Response {
    match check_value(
        &q.field,
        &q.value,
        q.kind.as_deref(),
        q.scope.as_deref(),
        clerk.account.office.platform,
    ) {
        Some(a) => Json(a).into_response(),
        None => problem(
            StatusCode::BAD_REQUEST,
            "field must be uscc, id, mobile or division",
        ),
    }
}

/// Each problem for the page: its path, the form's field and label for it (whichever
/// platform's path it has), the catalogue's code, and the message in Chinese without the
/// path (the page shows it under the field).
fn problems_json(problems: &Problems) -> Value {
    Value::Array(
        problems
            .iter()
            .map(|p| {
                let field = super::labels::field(&p.path);
                json!({
                    "path": p.path,
                    "field": field.map(|f| f.zj),
                    "label": field.map(|f| f.label),
                    "code": p.code(),
                    "message": p.text(Lang::Zh),
                    "severity": match p.severity {
                        crate::model::Severity::Error => "error",
                        crate::model::Severity::Warning => "warning",
                    },
                })
            })
            .collect(),
    )
}

fn refused(problems: &Problems) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({ "problems": problems_json(problems) })),
    )
        .into_response()
}

/// A fresh application number for a window submission: platform, `CK` (窗口), Beijing date
/// and time, and 4 random hex digits — 26 characters, within both platforms' 32.
fn fresh_number(platform: Platform) -> String {
    let now = Utc::now().with_timezone(&beijing());
    format!(
        "{}-CK-{}-{}",
        platform.key().to_uppercase(),
        now.format("%Y%m%d%H%M%S"),
        hex::encode_upper(rand::random::<[u8; 2]>())
    )
}

/// Fills what only the server may say: the number and the acceptance (office, clerk, now).
fn fill_from_session(mut doc: Map<String, Value>, clerk: &Clerk) -> Map<String, Value> {
    let office = &clerk.account.office;
    doc.insert(
        "sqbh".to_owned(),
        Value::String(fresh_number(office.platform)),
    );
    let now = Utc::now().with_timezone(&beijing());
    doc.insert(
        "slxx".to_owned(),
        json!({
            "sljg": office.name,
            "sljgdm": office.uscc.as_str(),
            "slr": clerk.account.display_name,
            "slsj": now.format("%Y-%m-%d %H:%M:%S").to_string(),
        }),
    );
    doc
}

/// `POST /clerk/api/applications`: the intake form's Zhejiang-format application.
pub async fn submit(
    State(web): State<Arc<Web>>,
    clerk: Clerk,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !clerk.csrf_header_ok(&headers) {
        return csrf_refused();
    }
    let doc = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(doc)) => doc,
        _ => {
            let mut p = Problems::new();
            p.error("$", Message::PageNotObject);
            return refused(&p);
        }
    };
    drop(body);
    let doc = fill_from_session(doc, &clerk);
    let bytes = match serde_json::to_vec(&Value::Object(doc)) {
        Ok(b) => b,
        Err(e) => return problem(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let read = match platform::read(Platform::Zhejiang, &bytes) {
        Ok(read) => read,
        Err(problems) => return refused(&problems),
    };
    let office = &clerk.account.office;
    let Document::Application(application) = &read.document else {
        let mut p = Problems::new();
        p.error("sxbm", Message::PageNotApplication);
        return refused(&p);
    };
    if application.target.region.province() == office.platform.province() {
        let mut p = Problems::new();
        p.error(
            "mbqy",
            Message::OwnProvince {
                region: application.target.region.code(),
            },
        );
        return refused(&p);
    }
    let attachments: usize = application
        .materials
        .iter()
        .map(|m| m.file.content.as_str().len() / 4 * 3)
        .sum();
    if attachments > super::MAX_ATTACHMENTS {
        let mut p = Problems::new();
        p.error(
            "cl",
            Message::PageAttachmentsTooLarge {
                mib: attachments.div_ceil(1024 * 1024),
                max_mib: super::MAX_ATTACHMENTS / 1024 / 1024,
            },
        );
        return refused(&p);
    }
    let written = platform::write(office.platform, &read.document);
    let mut warnings = read.warnings;
    warnings.extend(written.warnings);
    let number = application.number.as_str().to_owned();
    match web.desk.submit(office.platform, written.bytes).await {
        Ok(receipt) => {
            tracing::info!(
                gateway_no = %receipt.gateway_no,
                source_no = %number,
                clerk = %clerk.account.username,
                ledger_index = receipt.ledger_index,
                "application accepted at the window"
            );
            (
                StatusCode::CREATED,
                Json(json!({
                    "gateway_no": receipt.gateway_no,
                    "source_no": number,
                    "ledger_index": receipt.ledger_index,
                    "deadline": receipt.deadline.to_string(),
                    "receipt_url": format!("/clerk/applications/{}/receipt", receipt.gateway_no),
                    "warnings": problems_json(&warnings),
                })),
            )
                .into_response()
        }
        Err(DeskError::Refused(problems)) => refused(&problems),
        Err(DeskError::Conflict(m)) => problem(StatusCode::CONFLICT, &m),
        Err(DeskError::NotFound) => problem(StatusCode::NOT_FOUND, "not found"),
        Err(DeskError::Unavailable(m)) => {
            tracing::error!(error = %m, "submission failed: desk unavailable");
            problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "网关暂时不可用，申请未提交，请稍后重试",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_check_names_the_county_and_suggests_the_authority() {
        let a = check_value(
            "division",
            "330482",
            None,
            Some("premises"),
            Platform::Shanghai,
        )
        .unwrap();
        assert!(a.ok);
        assert_eq!(a.name.as_deref(), Some("浙江省嘉兴市平湖市"));
        assert_eq!(a.authority.as_deref(), Some("平湖市市场监督管理局"));
        let own = check_value(
            "division",
            "310116",
            None,
            Some("premises"),
            Platform::Shanghai,
        )
        .unwrap();
        assert!(!own.ok && own.message.contains("跨省"), "{}", own.message);
    }

    #[test]
    fn checks_use_the_models_checkers() {
        let a = check_value("uscc", "92330482MA2JD0C80E", None, None, Platform::Zhejiang).unwrap();
        assert!(!a.ok && a.message.contains("应为“D”"), "{}", a.message);
        let catalogue = Uscc::parse("92330482MA2JD0C80E").unwrap_err();
        assert_eq!(catalogue.0.code(), "uscc.check");
        assert_eq!(a.message, catalogue.render(Lang::Zh));
        assert!(
            check_value(
                "id",
                "310116199203041217",
                Some("111"),
                None,
                Platform::Zhejiang
            )
            .unwrap()
            .ok
        );
        assert!(
            !check_value("id", "310116199203041218", None, None, Platform::Zhejiang)
                .unwrap()
                .ok
        );
        assert!(
            check_value("id", "E12345678", Some("414"), None, Platform::Zhejiang)
                .unwrap()
                .ok
        );
        assert!(
            !check_value("mobile", "1381234567", None, None, Platform::Zhejiang)
                .unwrap()
                .ok
        );
        assert!(check_value("nope", "x", None, None, Platform::Zhejiang).is_none());
    }

    #[test]
    fn fresh_numbers_are_valid_application_numbers() {
        let n = fresh_number(Platform::Shanghai);
        assert!(n.starts_with("SH-CK-"), "{n}");
        assert!(crate::model::ApplicationNo::parse(&n).is_ok());
    }
}
