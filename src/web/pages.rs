//! The HTML pages: layout, work list, intake form, application page, receipt, hand-over.
//! Rendered on the server from the [`Desk`](super::Desk)'s values and the code tables; the
//! embedded script only adds live checks and the submission to the intake form.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use chrono::FixedOffset;
use serde::Deserialize;

use super::auth::{csrf_refused, Clerk, CsrfForm};
use super::desk::{outcome_label, DeskError, Detail, State as AppState, Summary};
use super::Web;
use crate::codes::{
    Code, EntityType, FoodItem, IdType, Item, ItemKind, Kind, MainFormat, Material,
};
use crate::model::{Instant, Outcome};
use crate::platform::Platform;

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Beijing time, in which clerks read every time.
const BEIJING_SECONDS_EAST: i32 = 8 * 3600;

fn beijing(t: &Instant) -> String {
    let offset = FixedOffset::east_opt(BEIJING_SECONDS_EAST).expect("UTC+8 is a valid offset");
    t.with_timezone(&offset)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// The page frame: header with office and clerk, navigation, sign-out.
pub fn layout(title: &str, clerk: Option<&Clerk>, body: &str) -> Html<String> {
    let header = match clerk {
        None => String::new(),
        Some(c) => format!(
            r#"<header class="top no-print">
<a class="brand" href="/clerk/applications">跨省通办专窗</a>
<nav><a href="/clerk/applications" accesskey="l">工作台</a><a href="/clerk/new" accesskey="n">新建受理</a></nav>
<span class="who">{office} · {name}</span>
<form method="post" action="/clerk/logout"><input type="hidden" name="csrf" value="{csrf}"><button class="link">退出</button></form>
</header>"#,
            office = esc(&c.account.office.name),
            name = esc(&c.account.display_name),
            csrf = esc(&c.csrf),
        ),
    };
    let csrf = clerk
        .map(|c| format!(r#"<meta name="csrf" content="{}">"#, esc(&c.csrf)))
        .unwrap_or_default();
    Html(format!(
        r#"<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{csrf}<title>{title} · 跨省通办专窗</title>
<link rel="stylesheet" href="/clerk/assets/app.css">
<script src="/clerk/assets/app.js" defer></script>
</head><body>
{header}
{body}
</body></html>"#,
        title = esc(title),
    ))
}

/// An error as a page or, for the API, as RFC 9457 problem JSON.
pub fn problem(status: StatusCode, detail: &str) -> Response {
    let body = serde_json::json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or(""),
        "status": status.as_u16(),
        "detail": detail,
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

fn error_page(status: StatusCode, clerk: Option<&Clerk>, message: &str) -> Response {
    let body = format!(
        r#"<main><p class="alert alert-error" role="alert">{}</p><p><a href="/clerk/applications">返回工作台</a></p></main>"#,
        esc(message)
    );
    (status, layout("出错了", clerk, &body)).into_response()
}

fn desk_error(clerk: &Clerk, e: DeskError) -> Response {
    match e {
        DeskError::NotFound => error_page(StatusCode::NOT_FOUND, Some(clerk), "没有这件申请"),
        DeskError::Conflict(m) => error_page(StatusCode::CONFLICT, Some(clerk), &m),
        DeskError::Refused(p) => error_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(clerk),
            &p.to_string(),
        ),
        DeskError::Unavailable(m) => {
            tracing::error!(error = %m, "desk unavailable");
            error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                Some(clerk),
                "网关暂时不可用，请稍后重试",
            )
        }
    }
}

/// Headers on every answer: no caching of personal data, no framing, no outside resources.
pub async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    for (name, value) in [
        (
            "content-security-policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Anything else under the router: 404 (an API path gets problem JSON).
pub async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/clerk/api/") {
        problem(StatusCode::NOT_FOUND, "no such API")
    } else {
        error_page(StatusCode::NOT_FOUND, None, "没有这个页面")
    }
}

/// `GET /clerk/`: the work list.
pub async fn home(_clerk: Clerk) -> Redirect {
    Redirect::to("/clerk/applications")
}

fn badge(state: AppState) -> String {
    format!(
        r#"<span class="badge badge-{}">{}</span>"#,
        state.key(),
        state.label()
    )
}

fn days_left(s: &Summary) -> String {
    if !s.state.is_open() {
        return r#"<span class="muted">—</span>"#.to_owned();
    }
    match s.days_left {
        d if d < 0 => format!(r#"<span class="overdue">超期 {} 个工作日</span>"#, -d),
        0 => r#"<span class="due">今日到期</span>"#.to_owned(),
        d if d <= 2 => format!(r#"<span class="due">剩 {d} 个工作日</span>"#),
        d => format!("剩 {d} 个工作日"),
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
    let mut rows = String::new();
    for s in &shown {
        let overdue_class = if s.state.is_open() && s.days_left < 0 {
            r#" class="row-overdue""#
        } else {
            ""
        };
        let _ = write!(
            rows,
            r#"<tr{overdue_class}><td><a href="/clerk/applications/{no_url}">{no}</a><div class="muted small">{source}</div></td><td>{item}</td><td>{op}</td><td>{badge}</td><td class="nowrap">{at}</td><td class="nowrap">{deadline}</td><td class="nowrap">{left}</td></tr>"#,
            no_url = esc(&s.gateway_no),
            no = esc(&s.gateway_no),
            source = esc(&s.source_no),
            item = esc(s.item.name()),
            op = esc(&s.operator_name),
            badge = badge(s.state),
            at = beijing(&s.accepted_at),
            deadline = s.deadline,
            left = days_left(s),
        );
    }
    if shown.is_empty() {
        rows = r#"<tr><td colspan="7" class="empty">没有符合条件的申请</td></tr>"#.to_owned();
    }
    let mut options = String::new();
    for (value, label) in FILTERS {
        let sel = if value == query.state {
            " selected"
        } else {
            ""
        };
        let _ = write!(options, r#"<option value="{value}"{sel}>{label}</option>"#);
    }
    let body = format!(
        r#"<main>
<div class="page-head"><h1>工作台</h1><a class="button primary" href="/clerk/new">＋ 新建受理</a></div>
<div class="stats"><div><b>{open}</b>办理中</div><div class="{overdue_class}"><b>{overdue}</b>已超期</div><div><b>{waiting}</b>待送达</div><div><b>{total}</b>全部</div></div>
<form class="filters" method="get" action="/clerk/applications" role="search">
<label>状态<select name="state" id="state">{options}</select></label>
<label class="grow">查找<input name="q" id="q" value="{q}" placeholder="通办编号、申请编号或经营者名称" autofocus></label>
<button type="submit">查询</button>
</form>
<table class="list"><thead><tr><th>通办编号 / 申请编号</th><th>事项</th><th>经营者</th><th>状态</th><th>受理时间</th><th>办结期限</th><th>剩余</th></tr></thead>
<tbody>{rows}</tbody></table>
</main>"#,
        total = all.len(),
        overdue_class = if overdue > 0 { "stat-overdue" } else { "" },
        q = esc(&query.q),
    );
    layout("工作台", Some(&clerk), &body).into_response()
}

fn options<K: Kind>(selected: Option<&str>) -> String {
    let mut out = String::new();
    for r in K::table().rows() {
        let sel = if Some(r.zj) == selected {
            " selected"
        } else {
            ""
        };
        let _ = write!(
            out,
            r#"<option value="{v}"{sel}>{n}</option>"#,
            v = esc(r.zj),
            n = esc(r.name)
        );
    }
    out
}

/// One labelled input of the intake form; `name` is the Zhejiang dotted path.
struct Field<'a> {
    name: &'a str,
    label: &'a str,
    attrs: &'a str,
    kinds: &'a str,
    hint: &'a str,
}

fn field(f: Field) -> String {
    let kinds = if f.kinds.is_empty() {
        String::new()
    } else {
        format!(r#" data-kinds="{}""#, f.kinds)
    };
    let hint = if f.hint.is_empty() {
        String::new()
    } else {
        format!(r#"<span class="hint">{}</span>"#, f.hint)
    };
    format!(
        r#"<div class="field" data-field="{n}"{kinds}><label for="f-{n}">{l}</label><input id="f-{n}" name="{n}" {a}>{hint}<p class="msg" aria-live="polite"></p></div>"#,
        n = f.name,
        l = f.label,
        a = f.attrs,
    )
}

fn select(name: &str, label: &str, opts: &str, kinds: &str) -> String {
    let kinds = if kinds.is_empty() {
        String::new()
    } else {
        format!(r#" data-kinds="{kinds}""#)
    };
    format!(
        r#"<div class="field" data-field="{name}"{kinds}><label for="f-{name}">{label}</label><select id="f-{name}" name="{name}">{opts}</select><p class="msg" aria-live="polite"></p></div>"#
    )
}

fn f<'a>(name: &'a str, label: &'a str, attrs: &'a str) -> Field<'a> {
    Field {
        name,
        label,
        attrs,
        kinds: "",
        hint: "",
    }
}

/// `GET /clerk/new`: the intake form, built from the code tables.
pub async fn new_application(clerk: Clerk) -> Response {
    let office = &clerk.account.office;
    let other = office.platform.other();
    let other_province = crate::codes::province_name(other.province()).unwrap_or("");
    let mut items = String::new();
    for (i, r) in Item::table().rows().iter().enumerate() {
        let code = Code::<Item>::from_key(r.key).expect("row of the table");
        let kind = match code.kind() {
            ItemKind::Food => "food",
            ItemKind::Registration => "registration",
        };
        let checked = if i == 0 { " checked" } else { "" };
        // The entity type a registration item implies: the type whose name the item's
        // name contains (个体工商户设立登记 → 个体工商户), from the code tables.
        let entity = EntityType::table()
            .rows()
            .iter()
            .filter(|e| code.kind() == ItemKind::Registration && r.name.contains(e.name))
            .max_by_key(|e| e.name.len())
            .map(|e| format!(r#" data-entity="{}""#, esc(e.zj)))
            .unwrap_or_default();
        let _ = write!(
            items,
            r#"<label class="item"><input type="radio" name="sxbm" value="{v}" data-kind="{kind}"{entity}{checked}{af}><span><b>{n}</b><small>{lic}</small></span></label>"#,
            v = esc(r.zj),
            n = esc(r.name),
            lic = esc(code.licence_name()),
            af = if i == 0 { " autofocus" } else { "" },
        );
    }
    let mut food_items = String::new();
    for r in FoodItem::table().rows() {
        let _ = write!(
            food_items,
            r#"<label class="check"><input type="checkbox" name="spjy.jyxm" value="{v}">{n}</label>"#,
            v = esc(r.zj),
            n = esc(r.name)
        );
    }
    let id_types = options::<IdType>(None);
    let resident = IdType::table()
        .rows()
        .iter()
        .find(|r| Code::<IdType>::from_key(r.key).is_some_and(|c| c.is_resident_id()))
        .map_or("", |r| r.zj);
    let materials = options::<Material>(None);
    let id_hint = "可用扫描枪读入，回车确认";
    let body = format!(
        r#"<main class="intake">
<div class="page-head"><h1>新建受理</h1><span class="muted">受理机构：{office_name}　目标省份：{other_province}</span></div>
<div id="problems" class="alert alert-error" role="alert" hidden></div>
<form id="intake" novalidate data-resident="{resident}" data-other-province="{other_province_code}">
<section><h2>① 事项</h2><div class="items">{items}</div></section>
<section><h2>② 申请人</h2><div class="grid">
{sqr_xm}{sqr_zjlx}{sqr_zjhm}{sqr_sjhm}
</div></section>
<section><h2>③ 经营者</h2><div class="grid">
{jyz_mc}{jyz_uscc}{jyz_ztlx}{jyz_zczb}
</div><div class="grid">
{fd_xm}{fd_zjlx}{fd_zjhm}<div class="field"><label>&nbsp;</label><button type="button" id="same-as-applicant">同申请人</button></div>
</div><div class="grid">{jyz_zs}</div></section>
<section><h2>④ 经营场所</h2><div class="grid">
{xzqh}{xxdz}{mj}
</div></section>
<section data-kinds="food"><h2>⑤ 食品经营</h2><div class="grid">
{ztyt}{ztytbz}{wlxs}
</div>
<div class="field" data-field="spjy.jyxm"><label>经营项目</label><div class="checks">{food_items}</div><p class="msg" aria-live="polite"></p></div>
<div class="grid">{gly_xm}{gly_zjhm}{gly_sjhm}</div></section>
<section data-kinds="registration"><h2>⑤ 经营范围</h2>
<div class="field" data-field="jyfw"><label for="f-jyfw">经营范围</label><textarea id="f-jyfw" name="jyfw" rows="3"></textarea><p class="msg" aria-live="polite"></p></div>
</section>
<section><h2>⑥ 审批机关</h2><div class="grid">
{mbqy}{spjg}
</div></section>
<section><h2>⑦ 申请材料</h2>
<div id="drop" class="drop" tabindex="0" data-field="cl"><p><b>将扫描件拖到这里</b>，或 <label class="filebutton">选择文件<input type="file" id="files" multiple></label></p><p class="msg" aria-live="polite"></p></div>
<table class="materials" id="materials"><thead><tr><th>材料</th><th>文件</th><th>大小</th><th></th></tr></thead><tbody></tbody></table>
<template id="material-options">{materials}</template>
</section>
<section><h2>⑧ 联系人与备注（选填）</h2><div class="grid">
{lxr_xm}{lxr_sjhm}{bz}
</div></section>
<div class="actions"><button type="button" id="to-review" class="primary">核对信息 →</button></div>
</form>
<div id="review" hidden>
<h2>核对申请信息</h2>
<p class="muted">请与申请人当面核对；确认无误后提交。</p>
<div id="review-body"></div>
<div class="actions"><button type="button" id="back">← 返回修改</button><button type="button" id="submit" class="primary">确认提交</button></div>
</div>
</main>"#,
        office_name = esc(&office.name),
        other_province_code = other.province(),
        sqr_xm = field(f("sqr.xm", "姓名", r#"autocomplete="off" required"#)),
        sqr_zjlx = select("sqr.zjlx", "证件类型", &id_types, ""),
        sqr_zjhm = field(Field {
            hint: id_hint,
            ..f(
                "sqr.zjhm",
                "证件号码",
                r#"data-check="id" data-kind-from="sqr.zjlx" autocomplete="off" required"#
            )
        }),
        sqr_sjhm = field(f(
            "sqr.sjhm",
            "手机号码",
            r#"data-check="mobile" inputmode="numeric" maxlength="11" autocomplete="off" required"#
        )),
        jyz_mc = field(f("jyz.mc", "经营者名称", r#"autocomplete="off" required"#)),
        jyz_uscc = field(Field {
            kinds: "food",
            ..f(
                "jyz.tyshxydm",
                "统一社会信用代码",
                r#"data-check="uscc" maxlength="18" autocomplete="off" required"#
            )
        }),
        jyz_ztlx = select("jyz.ztlx", "主体类型", &options::<EntityType>(None), ""),
        jyz_zczb = field(Field {
            hint: "万元，个体工商户可不填",
            ..f(
                "jyz.zczb",
                "注册资本",
                r#"inputmode="decimal" autocomplete="off""#
            )
        }),
        fd_xm = field(f(
            "jyz.fddbr.xm",
            "法定代表人／经营者",
            r#"autocomplete="off" required"#
        )),
        fd_zjlx = select("jyz.fddbr.zjlx", "证件类型", &id_types, ""),
        fd_zjhm = field(Field {
            hint: id_hint,
            ..f(
                "jyz.fddbr.zjhm",
                "证件号码",
                r#"data-check="id" data-kind-from="jyz.fddbr.zjlx" autocomplete="off" required"#
            )
        }),
        jyz_zs = field(f(
            "jyz.zs",
            "住所",
            r#"class="wide" autocomplete="off" required"#
        )),
        xzqh = field(Field {
            hint: "6 位行政区划代码",
            ..f(
                "jycs.xzqh",
                "所在县（市、区）",
                r#"data-check="division" inputmode="numeric" maxlength="6" autocomplete="off" required"#
            )
        }),
        xxdz = field(f(
            "jycs.xxdz",
            "详细地址",
            r#"class="wide" autocomplete="off" required"#
        )),
        mj = field(Field {
            hint: "平方米",
            ..f(
                "jycs.mj",
                "面积",
                r#"inputmode="decimal" autocomplete="off" required"#
            )
        }),
        ztyt = select("spjy.ztyt", "主体业态", &options::<MainFormat>(None), ""),
        ztytbz = field(f(
            "spjy.ztytbz",
            "业态备注",
            r#"autocomplete="off" placeholder="如：中央厨房""#
        )),
        wlxs = select(
            "spjy.wlxs",
            "网络经营",
            r#"<option value="0">否</option><option value="1">是</option>"#,
            ""
        ),
        gly_xm = field(f(
            "spjy.spaqgly.xm",
            "食品安全管理人员",
            r#"autocomplete="off" required"#
        )),
        gly_zjhm = field(Field {
            hint: id_hint,
            ..f(
                "spjy.spaqgly.zjhm",
                "身份证号码",
                r#"data-check="id" maxlength="18" autocomplete="off" required"#
            )
        }),
        gly_sjhm = field(f(
            "spjy.spaqgly.sjhm",
            "手机号码",
            r#"data-check="mobile" inputmode="numeric" maxlength="11" autocomplete="off" required"#
        )),
        mbqy = field(Field {
            hint: "默认同经营场所",
            ..f(
                "mbqy",
                "目标区域",
                r#"data-check="division" inputmode="numeric" maxlength="6" autocomplete="off" required"#
            )
        }),
        spjg = field(f(
            "spjg",
            "审批机关",
            r#"class="wide" autocomplete="off" required"#
        )),
        lxr_xm = field(f("lxr.xm", "联系人", r#"autocomplete="off""#)),
        lxr_sjhm = field(f(
            "lxr.sjhm",
            "联系人手机",
            r#"data-check="mobile" inputmode="numeric" maxlength="11" autocomplete="off""#
        )),
        bz = field(f("bz", "备注", r#"class="wide" autocomplete="off""#)),
    );
    layout("新建受理", Some(&clerk), &body).into_response()
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

fn materials_table(d: &Detail) -> String {
    let mut rows = String::new();
    for (i, m) in d.materials.iter().enumerate() {
        let _ = write!(
            rows,
            r#"<tr><td class="nowrap">{}</td><td>{}</td><td>{}</td><td>{}</td><td class="nowrap">{}</td></tr>"#,
            i + 1,
            esc(m.code.name()),
            esc(&m.title),
            esc(&m.file_name),
            size(m.size)
        );
    }
    format!(
        r#"<table class="materials"><thead><tr><th>序号</th><th>材料类别</th><th>材料名称</th><th>文件</th><th>大小</th></tr></thead><tbody>{rows}</tbody></table>"#
    )
}

/// `GET /clerk/applications/{no}`: one application, its timeline and its decision.
pub async fn detail(State(web): State<Arc<Web>>, clerk: Clerk, Path(no): Path<String>) -> Response {
    let d = match owned_detail(&web, &clerk, &no).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let s = &d.summary;
    let no_url = esc(&s.gateway_no);
    let mut timeline = String::new();
    for step in &d.timeline {
        let _ = write!(
            timeline,
            r#"<li><span class="when">{}</span><span class="what">{}</span><span class="ledger">账本 #{}</span></li>"#,
            beijing(&step.at),
            esc(&step.label),
            step.ledger_index
        );
    }
    let decision = match &d.decision {
        None => r#"<section class="card"><h2>审批结果</h2><p class="muted">尚未收到审批结果。</p></section>"#.to_owned(),
        Some(dec) => {
            let licence = dec.licence.as_ref().map(|l| format!(
                r#"<dl class="facts"><dt>证照名称</dt><dd>{name}</dd><dt>证照编号</dt><dd class="mono" id="licence-no">{number}</dd><dt>有效期</dt><dd>{from} 至 {to}</dd><dt>发证机关</dt><dd>{by}</dd></dl>
<p><a class="button" id="download" href="/clerk/applications/{no_url}/licence" download>下载电子证照（{file}）</a></p>"#,
                name = esc(&l.name), number = esc(&l.number), from = l.valid_from, to = l.valid_to,
                by = esc(&l.issued_by), file = esc(&l.file_name),
            )).unwrap_or_default();
            let handover = match &d.handed_over {
                Some(h) => format!(
                    r#"<p class="alert alert-ok" id="handed-over">已于 {} 由 {} 送达申请人（账本 #{}）</p>"#,
                    beijing(&h.at),
                    esc(&h.clerk),
                    h.ledger_index
                ),
                None => format!(
                    r#"<form method="post" action="/clerk/applications/{no_url}/handover" class="handover"><input type="hidden" name="csrf" value="{csrf}"><p>申请人到窗口领取{what}后，确认送达：</p><button type="submit" class="primary" id="handover">确认已送达</button></form>"#,
                    csrf = esc(&clerk.csrf),
                    what = if dec.outcome == Outcome::Granted { "证照" } else { "决定书" },
                ),
            };
            format!(
                r#"<section class="card decision decision-{key}"><h2>审批结果：<span id="outcome">{label}</span></h2>
<dl class="facts"><dt>审批意见</dt><dd>{opinion}</dd><dt>审批人</dt><dd>{officer}</dd><dt>审批时间</dt><dd>{at}</dd></dl>
{licence}{handover}</section>"#,
                key = match dec.outcome { Outcome::Granted => "granted", Outcome::Refused => "refused", Outcome::Correction => "correction" },
                label = outcome_label(dec.outcome),
                opinion = esc(&dec.opinion),
                officer = esc(&dec.officer),
                at = beijing(&dec.decided_at),
            )
        }
    };
    let body = format!(
        r#"<main>
<div class="page-head"><h1>{no} {badge}</h1><span class="grow"></span><a class="button" href="/clerk/applications/{no_url}/receipt" id="receipt-link">受理回执</a><a class="button" href="/clerk/applications">返回工作台</a></div>
<div class="columns">
<div>
<section class="card"><h2>申请信息</h2>
<dl class="facts"><dt>事项</dt><dd>{item}</dd><dt>经营者</dt><dd>{op}</dd><dt>申请人</dt><dd>{applicant}</dd><dt>经营场所</dt><dd>{premises}</dd><dt>审批机关</dt><dd>{authority}</dd><dt>申请编号</dt><dd class="mono">{source}</dd><dt>受理</dt><dd>{accepted} · {clerk_name}</dd><dt>办结期限</dt><dd>{deadline}　{left}</dd></dl>
</section>
<section class="card"><h2>收取材料</h2>{materials}</section>
</div>
<div>
{decision}
<section class="card"><h2>办理过程</h2><ol class="timeline" id="timeline">{timeline}</ol></section>
</div>
</div>
</main>"#,
        no = esc(&s.gateway_no),
        badge = badge(s.state),
        item = esc(s.item.name()),
        op = esc(&s.operator_name),
        applicant = esc(&d.applicant_name),
        premises = esc(&d.premises),
        authority = esc(&d.authority),
        source = esc(&s.source_no),
        accepted = beijing(&s.accepted_at),
        clerk_name = esc(&d.clerk),
        deadline = s.deadline,
        left = days_left(s),
        materials = materials_table(&d),
    );
    layout(&s.gateway_no, Some(&clerk), &body).into_response()
}

/// The receipt's QR code as inline SVG.
fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(120, 120)
            .quiet_zone(true)
            .build()
            .replacen("<?xml version=\"1.0\" standalone=\"yes\"?>", "", 1),
        Err(_) => String::new(),
    }
}

/// `GET /clerk/applications/{no}/receipt`: the printable 受理回执 (A4).
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
    let status_url = format!("{}{}", web.config.status_url, s.gateway_no);
    let body = format!(
        r#"<div class="toolbar no-print"><button type="button" class="primary" data-print autofocus>打印回执</button><a class="button" href="/clerk/applications/{no_url}">返回申请</a><a class="button" href="/clerk/new">继续受理</a></div>
<article class="receipt">
<h1>长三角"一网通办"跨省通办<br>受理回执</h1>
<p class="receipt-no">通办编号：<b class="mono" id="receipt-gateway-no">{no}</b></p>
<table class="receipt-facts"><colgroup><col class="c-h"><col class="c-v"><col class="c-h"><col class="c-v"></colgroup>
<tr><th>事项</th><td colspan="3">{item}</td></tr>
<tr><th>经营者</th><td>{op}</td><th>申请人</th><td>{applicant}</td></tr>
<tr><th>审批机关</th><td colspan="3">{authority}</td></tr>
<tr><th>受理机构</th><td colspan="3">{office}</td></tr>
<tr><th>受理时间</th><td>{accepted}</td><th>受理人</th><td>{clerk_name}</td></tr>
<tr><th>法定办结期限</th><td>{deadline}（工作日计算）</td><th>申请编号</th><td class="mono">{source}</td></tr>
<tr><th>存证账本序号</th><td colspan="3" class="mono">#{ledger}</td></tr>
</table>
<h2>收取材料</h2>
{materials}
<div class="receipt-foot">
<div class="qr">{qr}<p class="small mono">{status_url_text}</p></div>
<div class="receipt-note"><p>您的申请已由本窗口受理，将转送{authority}审批。扫描左侧二维码可查询办理进度。</p><p>审批结果送达后，本窗口将通知您领取证照。</p><p class="sign">{office}<br>（受理专用章）<br>{accepted_date}</p></div>
</div>
</article>"#,
        no_url = esc(&s.gateway_no),
        no = esc(&s.gateway_no),
        item = esc(s.item.name()),
        op = esc(&s.operator_name),
        applicant = esc(&d.applicant_name),
        authority = esc(&d.authority),
        office = esc(&d.office_name),
        accepted = beijing(&s.accepted_at),
        accepted_date = &beijing(&s.accepted_at)[..10],
        clerk_name = esc(&d.clerk),
        deadline = s.deadline,
        source = esc(&s.source_no),
        ledger = d.received_index,
        materials = materials_table(&d),
        qr = qr_svg(&status_url),
        status_url_text = esc(&status_url),
    );
    layout(&format!("受理回执 {}", s.gateway_no), Some(&clerk), &body).into_response()
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
        Ok(None) => error_page(StatusCode::NOT_FOUND, Some(&clerk), "这件申请没有电子证照"),
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
        return csrf_refused();
    }
    let d = match owned_detail(&web, &clerk, &no).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    if d.decision.is_none() {
        return error_page(
            StatusCode::CONFLICT,
            Some(&clerk),
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
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn qr_code_is_inline_svg() {
        let svg = qr_svg("https://gateway.example/status/ZJ-CK-1");
        assert!(svg.starts_with("<svg") || svg.contains("<svg"), "{svg}");
        assert!(!svg.contains("<?xml"));
    }
}
