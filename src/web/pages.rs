//! The clerks' HTML pages: work list, intake form, application page, receipt, hand-over.
//! Rendered on the server from the [`Desk`](super::Desk)'s values and the code tables with
//! [`maud`] (every value escaped where it is spliced in); the embedded script only adds live
//! checks and the submission to the intake form.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup, PreEscaped};
use serde::Deserialize;

use super::auth::{Clerk, CsrfForm};
use super::desk::{outcome_label, DeskError, Detail, State as AppState, Summary};
pub use super::frame::problem;
use super::frame::{error_page, layout, stale_form};
use super::Web;
use crate::codes::{
    Code, EntityType, FoodItem, IdType, Item, ItemKind, Kind, MainFormat, Material,
};
use crate::model::{Instant, Outcome};
use crate::platform::Platform;

/// `t` as a clerk reads it: Beijing time, to the minute.
pub fn beijing(t: &Instant) -> String {
    t.with_timezone(&crate::model::beijing())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn desk_error(clerk: &Clerk, e: DeskError) -> Response {
    match e {
        DeskError::NotFound => error_page(StatusCode::NOT_FOUND, Some(clerk.who()), "没有这件申请"),
        DeskError::Conflict(m) => error_page(StatusCode::CONFLICT, Some(clerk.who()), &m),
        DeskError::Refused(p) => error_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(clerk.who()),
            &p.to_string(),
        ),
        DeskError::Unavailable(m) => {
            tracing::error!(error = %m, "desk unavailable");
            error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                Some(clerk.who()),
                "网关暂时不可用，请稍后重试",
            )
        }
    }
}

/// Anything else under the router: 404 (an API path gets problem JSON, a public path the
/// public page's plain 404).
pub async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/clerk/api/") {
        problem(StatusCode::NOT_FOUND, "no such API")
    } else if uri.path().starts_with("/clerk") {
        error_page(StatusCode::NOT_FOUND, None, "没有这个页面")
    } else {
        super::frame::public_not_found()
    }
}

/// `GET /clerk/`: the work list.
pub async fn home(_clerk: Clerk) -> Redirect {
    Redirect::to("/clerk/applications")
}

/// A state's badge.
pub fn badge(state: AppState) -> Markup {
    html! { span class={ "badge badge-" (state.key()) } { (state.label()) } }
}

fn days_left(s: &Summary) -> Markup {
    html! {
        @if !s.state.is_open() {
            span.muted { "—" }
        } @else if s.days_left < 0 {
            span.overdue { "超期 " (-s.days_left) " 个工作日" }
        } @else if s.days_left == 0 {
            span.due { "今日到期" }
        } @else if s.days_left <= 2 {
            span.due { "剩 " (s.days_left) " 个工作日" }
        } @else {
            "剩 " (s.days_left) " 个工作日"
        }
    }
}

/// Work-list filters.
#[derive(Deserialize, Default)]
pub struct ListQuery {
    /// A state key, `open`, `overdue` or empty for all.
    #[serde(default)]
    state: String,
    /// Searched in the numbers and the operator's name.
    #[serde(default)]
    q: String,
}

/// The work-list filters: value, label.
const FILTERS: [(&str, &str); 11] = [
    ("", "全部"),
    ("open", "办理中"),
    ("overdue", "已超期"),
    ("received", "已受理"),
    ("forwarded", "已转送"),
    ("decided", "已决定（待送达）"),
    ("granted", "准予"),
    ("refused", "不予"),
    ("correction", "补正"),
    ("handed-over", "已送达"),
    ("failed", "失败"),
];

fn matches(s: &Summary, query: &ListQuery) -> bool {
    let state_ok = match query.state.as_str() {
        "" => true,
        "open" => s.state.is_open(),
        "overdue" => s.state.is_open() && s.days_left < 0,
        "decided" => matches!(s.state, AppState::Decided(_)),
        key => s.state.key() == key,
    };
    let q = query.q.trim();
    let q_ok = q.is_empty()
        || s.gateway_no.to_lowercase().contains(&q.to_lowercase())
        || s.source_no.to_lowercase().contains(&q.to_lowercase())
        || s.operator_name.contains(q);
    state_ok && q_ok
}

/// `GET /clerk/applications`: the office's applications.
pub async fn list(
    State(web): State<Arc<Web>>,
    clerk: Clerk,
    Query(query): Query<ListQuery>,
) -> Response {
    let office = clerk.account.office.uscc.as_str();
    let all = match web.desk.applications(office).await {
        Ok(all) => all,
        Err(e) => return desk_error(&clerk, e),
    };
    // The desk was asked for this office only; anything else is never shown.
    let all: Vec<Summary> = all
        .into_iter()
        .filter(|s| s.office_uscc == office)
        .collect();
    let open = all.iter().filter(|s| s.state.is_open()).count();
    let overdue = all
        .iter()
        .filter(|s| s.state.is_open() && s.days_left < 0)
        .count();
    let waiting = all
        .iter()
        .filter(|s| matches!(s.state, AppState::Decided(_)))
        .count();
    let shown: Vec<&Summary> = all.iter().filter(|s| matches(s, &query)).collect();
    let body = html! {
        main {
            div.page-head {
                h1 { "工作台" }
                a.button.primary href="/clerk/new" { "＋ 新建受理" }
            }
            div.stats {
                div { b { (open) } "办理中" }
                div class=[(overdue > 0).then_some("stat-overdue")] { b { (overdue) } "已超期" }
                div { b { (waiting) } "待送达" }
                div { b { (all.len()) } "全部" }
            }
            form.filters method="get" action="/clerk/applications" role="search" {
                label {
                    "状态"
                    select name="state" id="state" {
                        @for (value, label) in FILTERS {
                            option value=(value) selected[value == query.state] { (label) }
                        }
                    }
                }
                label.grow {
                    "查找"
                    input name="q" id="q" value=(query.q) placeholder="通办编号、申请编号或经营者名称" autofocus;
                }
                button type="submit" { "查询" }
            }
            div.table-wrap {
                table.list {
                    thead { tr {
                        th { "通办编号 / 申请编号" } th { "事项" } th { "经营者" } th { "状态" }
                        th { "受理时间" } th { "办结期限" } th { "剩余" }
                    } }
                    tbody {
                        @for s in &shown {
                            tr class=[(s.state.is_open() && s.days_left < 0).then_some("row-overdue")] {
                                td {
                                    a href={ "/clerk/applications/" (s.gateway_no) } { (s.gateway_no) }
                                    div.muted.small { (s.source_no) }
                                }
                                td data-label="事项" { (s.item.name()) }
                                td data-label="经营者" { (s.operator_name) }
                                td data-label="状态" { (badge(s.state)) }
                                td.nowrap data-label="受理时间" { (beijing(&s.accepted_at)) }
                                td.nowrap data-label="办结期限" { (s.deadline) }
                                td.nowrap data-label="剩余" { (days_left(s)) }
                            }
                        }
                        @if shown.is_empty() {
                            tr { td.empty colspan="7" { "没有符合条件的申请" } }
                        }
                    }
                }
            }
        }
    };
    layout("工作台", Some(clerk.who()), body).into_response()
}

fn options<K: Kind>() -> Markup {
    html! {
        @for r in K::table().rows() {
            option value=(r.zj) { (r.name) }
        }
    }
}

/// One labelled input of the intake form; `name` is the Zhejiang dotted path.
#[derive(Clone, Copy, Default)]
struct Input<'a> {
    name: &'a str,
    label: &'a str,
    /// The live check (`uscc`, `id`, `mobile`, `division`).
    check: Option<&'a str>,
    /// For id numbers: the select holding the id type.
    kind_from: Option<&'a str>,
    inputmode: Option<&'a str>,
    maxlength: Option<u32>,
    required: bool,
    /// Two grid columns.
    wide: bool,
    placeholder: Option<&'a str>,
    /// Shown only for these item kinds (`food`, `registration`).
    kinds: Option<&'a str>,
    hint: Option<&'a str>,
}

fn input<'a>(name: &'a str, label: &'a str) -> Input<'a> {
    Input {
        name,
        label,
        ..Input::default()
    }
}

impl<'a> Input<'a> {
    fn required(self) -> Self {
        Input {
            required: true,
            ..self
        }
    }
    fn wide(self) -> Self {
        Input { wide: true, ..self }
    }
    fn hint(self, hint: &'a str) -> Self {
        Input {
            hint: Some(hint),
            ..self
        }
    }
    fn check(self, check: &'a str, maxlength: Option<u32>) -> Self {
        let inputmode = matches!(check, "mobile" | "division").then_some("numeric");
        Input {
            check: Some(check),
            maxlength,
            inputmode,
            ..self
        }
    }
    fn decimal(self) -> Self {
        Input {
            inputmode: Some("decimal"),
            ..self
        }
    }
}

fn field(f: Input<'_>) -> Markup {
    let id = format!("f-{}", f.name);
    html! {
        div.field data-field=(f.name) data-kinds=[f.kinds] {
            label for=(id) { (f.label) }
            input id=(id) name=(f.name) class=[f.wide.then_some("wide")]
                data-check=[f.check] data-kind-from=[f.kind_from] inputmode=[f.inputmode]
                maxlength=[f.maxlength] placeholder=[f.placeholder] autocomplete="off"
                required[f.required];
            @if let Some(hint) = f.hint { span.hint { (hint) } }
            p.msg aria-live="polite" {}
        }
    }
}

fn select(name: &str, label: &str, opts: Markup) -> Markup {
    let id = format!("f-{name}");
    html! {
        div.field data-field=(name) {
            label for=(id) { (label) }
            select id=(id) name=(name) { (opts) }
            p.msg aria-live="polite" {}
        }
    }
}

/// Printed under id number fields.
const ID_HINT: &str = "可用扫描枪读入，回车确认";

/// The intake form's items: radio buttons from the code table; a registration item carries
/// the entity type it implies (the type whose name the item's name contains: 个体工商户设立登记
/// → 个体工商户).
fn items() -> Markup {
    html! {
        @for (i, r) in Item::table().rows().iter().enumerate() {
            @let code = Code::<Item>::from_key(r.key).expect("row of the table");
            @let kind = match code.kind() { ItemKind::Food => "food", ItemKind::Registration => "registration" };
            @let entity = EntityType::table()
                .rows()
                .iter()
                .filter(|e| code.kind() == ItemKind::Registration && r.name.contains(e.name))
                .max_by_key(|e| e.name.len())
                .map(|e| e.zj);
            label.item {
                input type="radio" name="sxbm" value=(r.zj) data-kind=(kind) data-entity=[entity]
                    checked[i == 0] autofocus[i == 0];
                span { b { (r.name) } small { (code.licence_name()) } }
            }
        }
    }
}

/// The dialog that signs a clerk in again without leaving the form (session ended).
fn sign_in_dialog(clerk: &Clerk) -> Markup {
    html! {
        dialog #signin aria-labelledby="signin-title" {
            form #signin-form method="dialog" {
                h2 #signin-title { "登录已过期，请重新登录" }
                p.muted { "已填写的内容都保留在本页。登录后再次提交即可，不必重新填写。" }
                p #signin-error .alert.alert-error role="alert" hidden {}
                label { "用户名" input name="username" autocomplete="username" required value=(clerk.account.username); }
                label { "密码" input name="password" type="password" autocomplete="current-password" required; }
                div.actions { button type="submit" .primary #signin-submit { "登录" } }
            }
        }
    }
}

/// `GET /clerk/new`: the intake form, built from the code tables.
pub async fn new_application(clerk: Clerk) -> Response {
    let office = &clerk.account.office;
    let other = office.platform.other();
    let other_province = crate::codes::province_name(other.province()).unwrap_or("");
    let resident = IdType::table()
        .rows()
        .iter()
        .find(|r| Code::<IdType>::from_key(r.key).is_some_and(|c| c.is_resident_id()))
        .map_or("", |r| r.zj);
    let id_types = options::<IdType>();
    let id_number = |name, kind_from| Input {
        kind_from: Some(kind_from),
        ..input(name, "证件号码")
            .check("id", None)
            .required()
            .hint(ID_HINT)
    };
    let division = |name, label, hint| {
        input(name, label)
            .check("division", Some(6))
            .required()
            .hint(hint)
    };
    let mobile = |name, label| input(name, label).check("mobile", Some(11));
    let body = html! {
        main.intake {
            div.page-head {
                h1 { "新建受理" }
                span.muted { "受理机构：" (office.name) "　目标省份：" (other_province) }
            }
            div #problems .alert.alert-error role="alert" hidden {}
            form #intake novalidate data-resident=(resident) data-other-province=(other.province()) {
                section { h2 { "① 事项" } div.items { (items()) } }
                section { h2 { "② 申请人" } div.grid {
                    (field(input("sqr.xm", "姓名").required()))
                    (select("sqr.zjlx", "证件类型", id_types.clone()))
                    (field(id_number("sqr.zjhm", "sqr.zjlx")))
                    (field(mobile("sqr.sjhm", "手机号码").required()))
                } }
                section { h2 { "③ 经营者" }
                    div.grid {
                        (field(input("jyz.mc", "经营者名称").required()))
                        (field(Input { kinds: Some("food"), ..input("jyz.tyshxydm", "统一社会信用代码").check("uscc", Some(18)).required() }))
                        (select("jyz.ztlx", "主体类型", options::<EntityType>()))
                        (field(input("jyz.zczb", "注册资本").decimal().hint("万元，个体工商户可不填")))
                    }
                    div.grid {
                        (field(input("jyz.fddbr.xm", "法定代表人／经营者").required()))
                        (select("jyz.fddbr.zjlx", "证件类型", id_types.clone()))
                        (field(id_number("jyz.fddbr.zjhm", "jyz.fddbr.zjlx")))
                        div.field { label aria-hidden="true" { "\u{a0}" } button type="button" #same-as-applicant { "同申请人" } }
                    }
                    div.grid { (field(input("jyz.zs", "住所").wide().required())) }
                }
                section { h2 { "④ 经营场所" } div.grid {
                    (field(division("jycs.xzqh", "所在县（市、区）", "6 位行政区划代码")))
                    (field(input("jycs.xxdz", "详细地址").wide().required()))
                    (field(input("jycs.mj", "面积").decimal().required().hint("平方米")))
                } }
                section data-kinds="food" { h2 { "⑤ 食品经营" }
                    div.grid {
                        (select("spjy.ztyt", "主体业态", options::<MainFormat>()))
                        (field(Input { placeholder: Some("如：中央厨房"), ..input("spjy.ztytbz", "业态备注") }))
                        (select("spjy.wlxs", "网络经营", html! { option value="0" { "否" } option value="1" { "是" } }))
                    }
                    div.field data-field="spjy.jyxm" {
                        label { "经营项目" }
                        div.checks {
                            @for r in FoodItem::table().rows() {
                                label.check { input type="checkbox" name="spjy.jyxm" value=(r.zj); (r.name) }
                            }
                        }
                        p.msg aria-live="polite" {}
                    }
                    div.grid {
                        (field(input("spjy.spaqgly.xm", "食品安全管理人员").required()))
                        (field(input("spjy.spaqgly.zjhm", "身份证号码").check("id", Some(18)).required().hint(ID_HINT)))
                        (field(mobile("spjy.spaqgly.sjhm", "手机号码").required()))
                    }
                }
                section data-kinds="registration" { h2 { "⑤ 经营范围" }
                    div.field data-field="jyfw" {
                        label for="f-jyfw" { "经营范围" }
                        textarea #f-jyfw name="jyfw" rows="3" {}
                        p.msg aria-live="polite" {}
                    }
                }
                section { h2 { "⑥ 审批机关" } div.grid {
                    (field(division("mbqy", "目标区域", "默认同经营场所")))
                    (field(input("spjg", "审批机关").wide().required()))
                } }
                section { h2 { "⑦ 申请材料" }
                    div #drop .drop tabindex="0" data-field="cl" {
                        p { b { "将扫描件拖到这里" } "，或 " label.filebutton { "选择文件" input type="file" #files multiple; } }
                        p.msg aria-live="polite" {}
                    }
                    div.table-wrap {
                        table.materials #materials {
                            thead { tr { th { "材料" } th { "文件" } th { "大小" } th {} } }
                            tbody {}
                        }
                    }
                    template #material-options { (options::<Material>()) }
                }
                section { h2 { "⑧ 联系人与备注（选填）" } div.grid {
                    (field(input("lxr.xm", "联系人")))
                    (field(mobile("lxr.sjhm", "联系人手机")))
                    (field(input("bz", "备注").wide()))
                } }
                div.actions { button type="button" #to-review .primary { "核对信息 →" } }
            }
            div #review hidden {
                h2 { "核对申请信息" }
                p.muted { "请与申请人当面核对；确认无误后提交。" }
                div #review-body {}
                p #review-note .alert.alert-info role="status" hidden {}
                div.actions {
                    button type="button" #back { "← 返回修改" }
                    button type="button" #submit .primary { "确认提交" }
                }
            }
            (sign_in_dialog(&clerk))
        }
    };
    layout("新建受理", Some(clerk.who()), body).into_response()
}

async fn owned_detail(web: &Web, clerk: &Clerk, no: &str) -> Result<Detail, Response> {
    let office = clerk.account.office.uscc.as_str();
    match web.desk.application(office, no).await {
        // Enforced here too: a detail of another office is as good as unknown.
        Ok(Some(d)) if d.summary.office_uscc == office => Ok(d),
        Ok(_) => Err(desk_error(clerk, DeskError::NotFound)),
        Err(e) => Err(desk_error(clerk, e)),
    }
}

fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1024 * 1024 => format!("{:.1} MB", b as f64 / 1024.0 / 1024.0),
        b if b >= 1024 => format!("{} KB", b.div_ceil(1024)),
        b => format!("{b} B"),
    }
}

fn materials_table(d: &Detail) -> Markup {
    html! {
        div.table-wrap {
            table.materials {
                thead { tr { th { "序号" } th { "材料类别" } th { "材料名称" } th { "文件" } th { "大小" } } }
                tbody {
                    @for (i, m) in d.materials.iter().enumerate() {
                        tr {
                            td.nowrap { (i + 1) }
                            td { (m.code.name()) }
                            td { (m.title) }
                            td.file { (m.file_name) }
                            td.nowrap { (size(m.size)) }
                        }
                    }
                }
            }
        }
    }
}

fn decision_card(d: &Detail, clerk: &Clerk) -> Markup {
    let no = &d.summary.gateway_no;
    let Some(dec) = &d.decision else {
        return html! {
            section.card { h2 { "审批结果" } p.muted { "尚未收到审批结果。" } }
        };
    };
    let key = match dec.outcome {
        Outcome::Granted => "granted",
        Outcome::Refused => "refused",
        Outcome::Correction => "correction",
    };
    html! {
        section class={ "card decision decision-" (key) } {
            h2 { "审批结果：" span #outcome { (outcome_label(dec.outcome)) } }
            dl.facts {
                dt { "审批意见" } dd { (dec.opinion) }
                dt { "审批人" } dd { (dec.officer) }
                dt { "审批时间" } dd { (beijing(&dec.decided_at)) }
            }
            @if let Some(l) = &dec.licence {
                dl.facts {
                    dt { "证照名称" } dd { (l.name) }
                    dt { "证照编号" } dd.mono #licence-no { (l.number) }
                    dt { "有效期" } dd { (l.valid_from) " 至 " (l.valid_to) }
                    dt { "发证机关" } dd { (l.issued_by) }
                }
                p { a.button #download href={ "/clerk/applications/" (no) "/licence" } download { "下载电子证照（" (l.file_name) "）" } }
            }
            @match &d.handed_over {
                Some(h) => p.alert.alert-ok #handed-over {
                    "已于 " (beijing(&h.at)) " 由 " (h.clerk) " 送达申请人（账本 #" (h.ledger_index) "）"
                },
                None => form.handover method="post" action={ "/clerk/applications/" (no) "/handover" } {
                    input type="hidden" name="csrf" value=(clerk.csrf);
                    p { "申请人到窗口领取" (if dec.outcome == Outcome::Granted { "证照" } else { "决定书" }) "后，确认送达：" }
                    button type="submit" .primary #handover { "确认已送达" }
                },
            }
        }
    }
}

/// `GET /clerk/applications/{no}`: one application, its timeline and its decision.
pub async fn detail(State(web): State<Arc<Web>>, clerk: Clerk, Path(no): Path<String>) -> Response {
    let d = match owned_detail(&web, &clerk, &no).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let s = &d.summary;
    let body = html! {
        main {
            div.page-head {
                h1 { span.mono.number { (s.gateway_no) } (badge(s.state)) }
                span.grow {}
                a.button href={ "/clerk/applications/" (s.gateway_no) "/receipt" } #receipt-link { "受理回执" }
                a.button href="/clerk/applications" { "返回工作台" }
            }
            div.columns {
                div {
                    section.card {
                        h2 { "申请信息" }
                        dl.facts {
                            dt { "事项" } dd { (s.item.name()) }
                            dt { "经营者" } dd { (s.operator_name) }
                            dt { "申请人" } dd { (d.applicant_name) }
                            dt { "经营场所" } dd { (d.premises) }
                            dt { "审批机关" } dd { (d.authority) }
                            dt { "申请编号" } dd.mono { (s.source_no) }
                            dt { "受理" } dd { (beijing(&s.accepted_at)) " · " (d.clerk) }
                            dt { "办结期限" } dd { (s.deadline) "　" (days_left(s)) }
                        }
                    }
                    section.card { h2 { "收取材料" } (materials_table(&d)) }
                }
                div {
                    (decision_card(&d, &clerk))
                    section.card {
                        h2 { "办理过程" }
                        ol.timeline #timeline {
                            @for step in &d.timeline {
                                li {
                                    span.when { (beijing(&step.at)) }
                                    span.what { (step.label) }
                                    span.ledger { "账本 #" (step.ledger_index) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    layout(&s.gateway_no, Some(clerk.who()), body).into_response()
}

/// The receipt's QR code as inline SVG (the one piece of raw markup of the pages: the
/// `qrcode` crate's own rendering of a URL we built).
fn qr_svg(text: &str) -> PreEscaped<String> {
    PreEscaped(match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(160, 160)
            .quiet_zone(true)
            .build()
            .replacen("<?xml version=\"1.0\" standalone=\"yes\"?>", "", 1),
        Err(_) => String::new(),
    })
}

/// `GET /clerk/applications/{no}/receipt`: the printable 受理回执 (one A4 page).
pub async fn receipt(
    State(web): State<Arc<Web>>,
    clerk: Clerk,
    Path(no): Path<String>,
) -> Response {
    let d = match owned_detail(&web, &clerk, &no).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let s = &d.summary;
    let link = web.status_link(&s.gateway_no);
    let accepted = beijing(&s.accepted_at);
    let body = html! {
        div.toolbar.no-print {
            button type="button" .primary data-print autofocus { "打印回执" }
            a.button href={ "/clerk/applications/" (s.gateway_no) } { "返回申请" }
            a.button href="/clerk/new" { "继续受理" }
        }
        article.receipt {
            h1 { "长三角“一网通办”跨省通办" br; "受理回执" }
            p.receipt-no { "通办编号：" b.mono #receipt-gateway-no { (s.gateway_no) } }
            table.receipt-facts {
                colgroup { col.c-h; col.c-v; col.c-h; col.c-v; }
                tr { th { "事项" } td colspan="3" { (s.item.name()) } }
                tr { th { "经营者" } td { (s.operator_name) } th { "申请人" } td { (d.applicant_name) } }
                tr { th { "审批机关" } td colspan="3" { (d.authority) } }
                tr { th { "受理机构" } td colspan="3" { (d.office_name) } }
                tr { th { "受理时间" } td { (accepted) } th { "受理人" } td { (d.clerk) } }
                tr { th { "法定办结期限" } td { (s.deadline) "（工作日计算）" } th { "申请编号" } td.mono { (s.source_no) } }
                tr { th { "存证账本序号" } td.mono colspan="3" { "#" (d.received_index) } }
            }
            h2 { "收取材料" }
            (materials_table(&d))
            div.receipt-foot {
                div.qr {
                    (qr_svg(&link))
                    p.small.mono #status-link { (link) }
                }
                div.receipt-note {
                    p { "您的申请已由本窗口受理，将转送" (d.authority) "审批。扫描左侧二维码或打开其下的链接，可随时查询办理进度；查询页面不显示证件号码和手机号码，请妥善保管本回执。" }
                    p { "审批结果送达后，请带本回执和申请人身份证件原件到本窗口领取。" }
                    p.sign { (d.office_name) br; "（受理专用章）" br; (accepted.get(..10).unwrap_or(&accepted)) }
                }
            }
        }
    };
    layout(
        &format!("受理回执 {}", s.gateway_no),
        Some(clerk.who()),
        body,
    )
    .into_response()
}

/// `GET /clerk/applications/{no}/licence`: the e-licence file, as an attachment.
pub async fn licence(
    State(web): State<Arc<Web>>,
    clerk: Clerk,
    Path(no): Path<String>,
) -> Response {
    let office = clerk.account.office.uscc.as_str();
    // Ownership is checked through the detail first, then the file is fetched.
    if let Err(r) = owned_detail(&web, &clerk, &no).await {
        return r;
    }
    match web.desk.licence_file(office, &no).await {
        Ok(Some(file)) => {
            let ascii: String = file
                .name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let encoded: String = file
                .name
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b".-_".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            let disposition =
                format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}");
            let mime = if file.mime_type.parse::<HeaderValue>().is_ok() {
                file.mime_type.clone()
            } else {
                "application/octet-stream".to_owned()
            };
            (
                [
                    (header::CONTENT_TYPE, mime),
                    (header::CONTENT_DISPOSITION, disposition),
                ],
                file.bytes,
            )
                .into_response()
        }
        Ok(None) => error_page(
            StatusCode::NOT_FOUND,
            Some(clerk.who()),
            "这件申请没有电子证照",
        ),
        Err(e) => desk_error(&clerk, e),
    }
}

/// `POST /clerk/applications/{no}/handover`: records 送达 in the ledger.
pub async fn handover(
    State(web): State<Arc<Web>>,
    clerk: Clerk,
    Path(no): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !clerk.csrf_ok(form.csrf.as_deref()) {
        return stale_form(clerk.who(), &format!("/clerk/applications/{no}"));
    }
    let d = match owned_detail(&web, &clerk, &no).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    if d.decision.is_none() {
        return error_page(
            StatusCode::CONFLICT,
            Some(clerk.who()),
            "尚未收到审批结果，不能送达",
        );
    }
    let office = clerk.account.office.uscc.as_str();
    match web
        .desk
        .mark_handed_over(office, &no, &clerk.account.display_name)
        .await
    {
        Ok(index) => {
            tracing::info!(gateway_no = %no, clerk = %clerk.account.username, ledger_index = index, "handed over");
            Redirect::to(&format!("/clerk/applications/{no}")).into_response()
        }
        Err(e) => desk_error(&clerk, e),
    }
}

/// Names of the platforms' provinces for messages.
pub fn province_of(platform: Platform) -> &'static str {
    crate::codes::province_name(platform.province()).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_code_is_inline_svg() {
        let svg = qr_svg("https://gateway.example/s/TB1").into_string();
        assert!(svg.contains("<svg"), "{svg}");
        assert!(!svg.contains("<?xml"));
    }

    #[test]
    fn values_are_escaped_where_they_are_spliced_in() {
        let f = field(Input {
            placeholder: Some(r#""><script>x</script>"#),
            ..input("a", "<b>")
        })
        .into_string();
        assert!(!f.contains("<script>") && !f.contains("<b>"), "{f}");
        assert!(
            f.contains("&lt;b&gt;") && f.contains("&quot;&gt;&lt;script&gt;"),
            "{f}"
        );
    }
}
