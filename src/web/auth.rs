//! Sign-in, sessions, CSRF tokens and lock-out.
//!
//! A session is a random 256-bit token in an `HttpOnly; SameSite=Strict` cookie (plus
//! `Secure` in production), kept in memory: a gateway restart signs every clerk out, which
//! is acceptable for a window page and keeps session data out of the ledger's store. Each
//! session has its own CSRF token, required on every state-changing request as the `csrf`
//! form field or the `X-CSRF-Token` header. The sign-in form itself is protected by a
//! short-lived pre-session token (double submit: cookie and field must match).
//!
//! A clerk whose session ended while filling the intake form signs in again from a dialog
//! on the form itself (`GET /clerk/api/login` gives the pre-session token, `POST
//! /clerk/login` with `Accept: application/json` answers JSON with the new session's CSRF
//! token), so nothing typed is lost; `GET /clerk/api/session` gives the current session's
//! CSRF token to a page whose token went stale (a sign-in in another tab).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use argon2::Argon2;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use maud::html;
use serde::Deserialize;
use serde_json::json;

use super::frame::{self, Who};
use super::{Account, Web, WebConfig};

/// Name of the session cookie.
const SESSION_COOKIE: &str = "tongban_clerk";
/// Name of the sign-in form's pre-session cookie.
const LOGIN_COOKIE: &str = "tongban_login";
/// Header carrying the CSRF token on API calls.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// A sign-in form older than this is refused (its token is forgotten): long enough to type
/// a password, short enough that a stolen form is useless.
const LOGIN_FORM_TTL: Duration = Duration::from_secs(30 * 60);
/// A PHC hash of a random password, verified when the user name is unknown so that the
/// answer takes as long as for a known user (no user-name probing by timing).
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$YmFkLXVzZXItc2FsdA$2ZcGvyvZ4I/e3fuT91odgj1wl3uGNc5qg9ScBUUxFg4";

/// A signed-in clerk: what handlers know about the request's session.
#[derive(Debug, Clone)]
pub struct Clerk {
    /// The account.
    pub account: Arc<Account>,
    /// The session's CSRF token.
    pub csrf: String,
    token: String,
}

struct Session {
    account: Arc<Account>,
    csrf: String,
    last_seen: Instant,
}

struct Failures {
    count: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

/// Sessions, pending sign-in forms and failure counts.
pub struct Auth {
    accounts: HashMap<String, Arc<Account>>,
    sessions: Mutex<HashMap<String, Session>>,
    login_forms: Mutex<HashMap<String, Instant>>,
    failures: Mutex<HashMap<String, Failures>>,
}

fn token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// Compares secrets without stopping at the first difference.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn set_cookie(config: &WebConfig, name: &str, value: &str, max_age: Option<u64>) -> String {
    let mut c = format!("{name}={value}; Path=/clerk; HttpOnly; SameSite=Strict");
    if config.secure_cookies {
        c.push_str("; Secure");
    }
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    c
}

impl Auth {
    /// No sessions yet; the accounts of `config` by user name.
    pub fn new(config: &WebConfig) -> Auth {
        Auth {
            accounts: config
                .accounts
                .iter()
                .map(|a| (a.username.clone(), Arc::new(a.clone())))
                .collect(),
            sessions: Mutex::default(),
            login_forms: Mutex::default(),
            failures: Mutex::default(),
        }
    }

    fn session(&self, token: &str, idle: Duration) -> Option<Clerk> {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        sessions.retain(|_, s| now.duration_since(s.last_seen) < idle);
        let s = sessions.get_mut(token)?;
        s.last_seen = now;
        Some(Clerk {
            account: s.account.clone(),
            csrf: s.csrf.clone(),
            token: token.to_owned(),
        })
    }

    fn locked(&self, key: &str) -> Option<Duration> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let until = failures.get(key)?.locked_until?;
        until.checked_duration_since(Instant::now())
    }

    fn fail(&self, key: String, threshold: u32, duration: Duration) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        // Forget failures older than a lock-out period, so that guessing many user names
        // cannot grow the table without bound.
        failures.retain(|_, f| {
            now.duration_since(f.last) < duration || f.locked_until.is_some_and(|t| t > now)
        });
        let fresh = Failures {
            count: 0,
            last: now,
            locked_until: None,
        };
        let f = failures.entry(key).or_insert(fresh);
        if f.locked_until.is_some_and(|t| t <= now) {
            f.count = 0;
            f.locked_until = None;
        }
        f.last = now;
        f.count += 1;
        if f.count >= threshold {
            f.locked_until = Some(Instant::now() + duration);
        }
    }

    fn succeed(&self, key: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(key);
    }
}

/// Why a request without a valid session is turned away: pages redirect to sign-in, the
/// API answers 401.
pub struct NoSession {
    api: bool,
}

impl IntoResponse for NoSession {
    fn into_response(self) -> Response {
        if self.api {
            frame::problem(StatusCode::UNAUTHORIZED, "未登录或登录已过期，请重新登录")
        } else {
            Redirect::to("/clerk/login").into_response()
        }
    }
}

impl FromRequestParts<Arc<Web>> for Clerk {
    type Rejection = NoSession;

    async fn from_request_parts(parts: &mut Parts, web: &Arc<Web>) -> Result<Self, NoSession> {
        let api = parts.uri.path().starts_with("/clerk/api/");
        cookie(&parts.headers, SESSION_COOKIE)
            .and_then(|t| web.auth.session(&t, web.config.session_idle))
            .ok_or(NoSession { api })
    }
}

impl Clerk {
    /// True when `token` (from a form field or header) is this session's CSRF token.
    pub fn csrf_ok(&self, token: Option<&str>) -> bool {
        token.is_some_and(|t| same(t, &self.csrf))
    }
    /// What the page frame shows of the session.
    pub fn who(&self) -> Who<'_> {
        Who {
            account: &self.account,
            csrf: &self.csrf,
        }
    }
    /// The CSRF token of an API call's header, if it matches.
    pub fn csrf_header_ok(&self, headers: &HeaderMap) -> bool {
        self.csrf_ok(headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()))
    }
}

/// The API's answer to a state-changing request without the right CSRF token (the intake
/// form renews its token and sends again).
pub fn csrf_refused() -> Response {
    frame::problem(
        StatusCode::FORBIDDEN,
        "页面校验码已过期（CSRF），请再次提交；已填写的内容不会丢失",
    )
}

/// A fresh pre-session token for a sign-in form, remembered for [`LOGIN_FORM_TTL`], and the
/// cookie that carries it.
fn login_token(web: &Web) -> (String, String) {
    let form_token = token();
    {
        let mut forms = web
            .auth
            .login_forms
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        forms.retain(|_, t| now.duration_since(*t) < LOGIN_FORM_TTL);
        forms.insert(form_token.clone(), now);
    }
    let cookie = set_cookie(
        &web.config,
        LOGIN_COOKIE,
        &form_token,
        Some(LOGIN_FORM_TTL.as_secs()),
    );
    (form_token, cookie)
}

fn login_form(web: &Web, message: Option<&str>, username: &str) -> Response {
    let (form_token, cookie) = login_token(web);
    let body = html! {
        main.login {
            h1 { "跨省通办专窗 · 窗口人员登录" }
            p.muted { "长三角“一网通办” 异地代收代办" }
            @if let Some(m) = message { p.alert.alert-error role="alert" #login-error { (m) } }
            form.stack method="post" action="/clerk/login" {
                input type="hidden" name="csrf" value=(form_token);
                label { "用户名" input name="username" autocomplete="username" required value=(username) autofocus[username.is_empty()]; }
                label { "密码" input name="password" type="password" autocomplete="current-password" required autofocus[!username.is_empty()]; }
                button type="submit" .primary { "登录" }
            }
        }
    };
    let status = if message.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    (
        status,
        [(header::SET_COOKIE, cookie)],
        frame::layout("登录", None, body),
    )
        .into_response()
}

/// `GET /clerk/api/login`: a pre-session token (and its cookie) for the intake form's
/// sign-in dialog.
pub async fn login_token_api(State(web): State<Arc<Web>>) -> Response {
    let (form_token, cookie) = login_token(&web);
    (
        [(header::SET_COOKIE, cookie)],
        Json(json!({ "csrf": form_token })),
    )
        .into_response()
}

/// `GET /clerk/api/session`: the session's CSRF token, for a page whose token went stale
/// (the clerk signed in again in another tab). Readable only by the page's own origin: the
/// cookie is `SameSite=Strict` and no CORS header is ever sent.
pub async fn session_api(clerk: Clerk) -> Response {
    Json(json!({ "csrf": clerk.csrf, "username": clerk.account.username })).into_response()
}

/// Whether a request asks for a JSON answer (the sign-in dialog) rather than a page.
fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// A failed sign-in: the form again with `message`, or, for the dialog, 401 problem JSON.
fn refused_sign_in(web: &Web, json: bool, message: &str, username: &str) -> Response {
    if json {
        frame::problem(StatusCode::UNAUTHORIZED, message)
    } else {
        login_form(web, Some(message), username)
    }
}

/// `GET /clerk/login`; a clerk already signed in goes to the work list.
pub async fn login_page(State(web): State<Arc<Web>>, headers: HeaderMap) -> Response {
    let signed_in = cookie(&headers, SESSION_COOKIE)
        .and_then(|t| web.auth.session(&t, web.config.session_idle))
        .is_some();
    if signed_in {
        return Redirect::to("/clerk/applications").into_response();
    }
    login_form(&web, None, "")
}

/// The sign-in form.
#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    csrf: String,
}

fn minutes(d: Duration) -> u64 {
    d.as_secs().div_ceil(60).max(1)
}

/// `POST /clerk/login`.
pub async fn login(
    State(web): State<Arc<Web>>,
    ext: axum::http::Extensions,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let peer = super::client_addr(&ext, &headers, &web.config.trusted_proxies);
    login_inner(web, peer, headers, form).await
}

/// The sign-in, with the peer address when the listener provides it.
async fn login_inner(
    web: Arc<Web>,
    peer_ip: Option<IpAddr>,
    headers: HeaderMap,
    form: LoginForm,
) -> Response {
    let form_known = {
        let mut forms = web
            .auth
            .login_forms
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        forms
            .remove(&form.csrf)
            .is_some_and(|t| t.elapsed() < LOGIN_FORM_TTL)
    };
    let cookie_ok = cookie(&headers, LOGIN_COOKIE).is_some_and(|c| same(&c, &form.csrf));
    let json = wants_json(&headers);
    if !form_known || !cookie_ok {
        return refused_sign_in(&web, json, "登录页面已过期，请重新输入", &form.username);
    }
    let lock = &web.config.lockout;
    let user_key = format!("user:{}", form.username);
    let addr_key = peer_ip.map(|ip| format!("addr:{ip}"));
    let locked = web
        .auth
        .locked(&user_key)
        .or_else(|| addr_key.as_deref().and_then(|k| web.auth.locked(k)));
    if let Some(left) = locked {
        tracing::warn!(user = %crate::model::mask(&form.username), "sign-in refused: locked out");
        return refused_sign_in(
            &web,
            json,
            &format!("登录失败次数过多，已锁定，请 {} 分钟后再试", minutes(left)),
            &form.username,
        );
    }
    let account = web.auth.accounts.get(&form.username).cloned();
    let hash = account
        .as_ref()
        .map_or(DUMMY_HASH.to_owned(), |a| a.password_hash.clone());
    let password = form.password;
    let verified = tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false);
    let account = match account {
        Some(a) if verified => a,
        _ => {
            web.auth.fail(user_key, lock.threshold, lock.duration);
            if let Some(k) = addr_key {
                web.auth.fail(k, lock.address_threshold, lock.duration);
            }
            // An unknown name may be a password typed in the wrong box: never log it whole.
            let user = match &account {
                Some(a) => a.username.clone(),
                None => crate::model::mask(&form.username),
            };
            tracing::warn!(user = %user, "sign-in failed");
            return refused_sign_in(&web, json, "用户名或密码错误", &form.username);
        }
    };
    web.auth.succeed(&user_key);
    let session = token();
    let csrf = token();
    web.auth
        .sessions
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(
            session.clone(),
            Session {
                account: account.clone(),
                csrf: csrf.clone(),
                last_seen: Instant::now(),
            },
        );
    tracing::info!(user = %account.username, office = %account.office.name, "clerk signed in");
    let mut response = if json {
        Json(json!({ "csrf": csrf })).into_response()
    } else {
        Redirect::to("/clerk/applications").into_response()
    };
    let headers = response.headers_mut();
    for c in [
        set_cookie(&web.config, SESSION_COOKIE, &session, None),
        set_cookie(&web.config, LOGIN_COOKIE, "", Some(0)),
    ] {
        if let Ok(v) = c.parse() {
            headers.append(header::SET_COOKIE, v);
        }
    }
    response
}

/// A form with only the CSRF token.
#[derive(Deserialize)]
pub struct CsrfForm {
    /// The session's CSRF token.
    pub csrf: Option<String>,
}

/// `POST /clerk/logout`.
pub async fn logout(
    State(web): State<Arc<Web>>,
    clerk: Clerk,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !clerk.csrf_ok(form.csrf.as_deref()) {
        return frame::stale_form(clerk.who(), "/clerk/applications");
    }
    web.auth
        .sessions
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&clerk.token);
    let mut response = Redirect::to("/clerk/login").into_response();
    if let Ok(v) = set_cookie(&web.config, SESSION_COOKIE, "", Some(0)).parse() {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dummy_hash_is_a_valid_argon2_hash() {
        let h = PasswordHash::new(DUMMY_HASH).unwrap();
        assert_eq!(h.algorithm.as_str(), "argon2id");
        assert!(Argon2::default().verify_password(b"x", &h).is_err());
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; tongban_clerk=xyz; b=2".parse().unwrap(),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("xyz"));
        assert_eq!(cookie(&h, "c"), None);
    }
}
