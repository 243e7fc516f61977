//! What every page shares, below both the sign-in and the pages: the frame (head, header,
//! navigation), error pages, RFC 9457 problem answers and the security headers.
//!
//! Pages are [`maud`] templates: every value is escaped where it is spliced in, and raw HTML
//! (`PreEscaped`) is the visible exception — the receipt's QR code SVG only.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

use super::Account;

/// The stylesheet and script every page loads (embedded, served by [`super::assets`]).
const CSS: &str = "/clerk/assets/app.css";
const JS: &str = "/clerk/assets/app.js";

/// Who is signed in, as the frame shows it: the account and the session's CSRF token.
#[derive(Clone, Copy)]
pub struct Who<'a> {
    /// The clerk's account.
    pub account: &'a Account,
    /// The session's CSRF token (sign-out form, the intake form's `meta`).
    pub csrf: &'a str,
}

/// The clerks' page frame: header with office and clerk, navigation, sign-out.
pub fn layout(title: &str, who: Option<Who<'_>>, body: Markup) -> Html<String> {
    let page = html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(w) = who { meta name="csrf" content=(w.csrf); }
                title { (title) " · 跨省通办专窗" }
                link rel="stylesheet" href=(CSS);
                script src=(JS) defer {}
            }
            body {
                @if let Some(w) = who {
                    header.top.no-print {
                        a.brand href="/clerk/applications" { "跨省通办专窗" }
                        nav {
                            a href="/clerk/applications" accesskey="l" { "工作台" }
                            a href="/clerk/new" accesskey="n" { "新建受理" }
                        }
                        span.who title=(format!("{} · {}", w.account.office.name, w.account.display_name)) {
                            span.office { (w.account.office.name) " · " } (w.account.display_name)
                        }
                        form method="post" action="/clerk/logout" {
                            input type="hidden" name="csrf" value=(w.csrf);
                            button.link { "退出" }
                        }
                    }
                }
                (body)
            }
        }
    };
    Html(page.into_string())
}

/// The public pages' frame (the applicant's status page): no header, no script.
pub fn public_layout(title: &str, body: Markup) -> Html<String> {
    let page = html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) }
                link rel="stylesheet" href=(CSS);
            }
            body.public { (body) }
        }
    };
    Html(page.into_string())
}

/// An error as RFC 9457 problem JSON (the API's answers).
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

/// An error as a page of the clerks' site.
pub fn error_page(status: StatusCode, who: Option<Who<'_>>, message: &str) -> Response {
    let body = html! {
        main {
            p.alert.alert-error role="alert" { (message) }
            p { a href="/clerk/applications" { "返回工作台" } }
        }
    };
    (status, layout("出错了", who, body)).into_response()
}

/// A page's form (hand-over, sign-out) posted with a stale CSRF token: a page that says so
/// and leads back to where the clerk was, never raw JSON.
pub fn stale_form(who: Who<'_>, back: &str) -> Response {
    let body = html! {
        main {
            p.alert.alert-error role="alert" { "页面已过期（校验码已更新），这次操作没有执行。请返回后再操作一次。" }
            p { a.button.primary href=(back) autofocus { "返回" } }
        }
    };
    (StatusCode::FORBIDDEN, layout("页面已过期", Some(who), body)).into_response()
}

/// A plain 404 for the public pages: the same bytes whatever was asked, so that it tells
/// nothing about what exists.
pub fn public_not_found() -> Response {
    let body = html! {
        main.status-page {
            h1 { "页面不存在" }
            p { "请核对受理回执上的查询链接，或扫描回执上的二维码。" }
        }
    };
    (StatusCode::NOT_FOUND, public_layout("页面不存在", body)).into_response()
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
