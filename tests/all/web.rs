//! The clerk page (`tongban::web`): security rules at the HTTP level (tower `oneshot`) on a
//! stand-in desk (`fake`) that lets a test decide what the gateway answers, the submission
//! path, and the browser end-to-end test in headless Chromium on the real gateway (`browser`).

mod browser;
mod fake;
mod webdriver;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, Response, StatusCode};
use axum::Router;
use base64::Engine as _;
use http_body_util::BodyExt as _;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use tower::ServiceExt as _;

use fake::FakeDesk;
use tongban::model::{Document, Outcome, Uscc};
use tongban::platform::{self, Platform};
use tongban::web::{self, Account, Lockout, Office, WebConfig};

/// The test clerks' password (test data, hashed at test time).
pub(crate) const PASSWORD: &str = "窗口 test password 2026";

/// 平湖市 window (Zhejiang): the e2e test's office, so no format conversion is involved.
pub(crate) const PINGHU: (&str, &str) =
    ("平湖市行政审批服务中心跨省通办专窗", "11330482MB1234567N");
/// 嘉善县 window (Zhejiang): another office of the same province.
pub(crate) const JIASHAN: (&str, &str) = ("嘉善县行政服务中心跨省通办专窗", "11330421MB76543218");
/// 金山区廊下镇 window (Shanghai): the seed story's office.
pub(crate) const LANGXIA: (&str, &str) = (
    "上海市金山区廊下镇社区事务受理服务中心",
    "113101160024321631",
);

fn password_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| web::hash_password(PASSWORD).expect("hash"))
        .clone()
}

fn account(username: &str, name: &str, office: (&str, &str), platform: Platform) -> Account {
    Account {
        username: username.to_owned(),
        display_name: name.to_owned(),
        password_hash: password_hash(),
        office: Office {
            name: office.0.to_owned(),
            uscc: Uscc::parse(office.1).expect("test office USCC"),
            platform,
        },
    }
}

/// Three clerks: 张丽 (平湖, Zhejiang), 陈杰 (嘉善, Zhejiang), 王敏 (廊下, Shanghai).
pub(crate) fn config(lockout: Lockout) -> WebConfig {
    WebConfig {
        accounts: vec![
            account("zhangli", "张丽", PINGHU, Platform::Zhejiang),
            account("chenjie", "陈杰", JIASHAN, Platform::Zhejiang),
            account("wangmin", "王敏", LANGXIA, Platform::Shanghai),
        ],
        secure_cookies: false,
        lockout,
        session_idle: WebConfig::DEFAULT_SESSION_IDLE,
        status_url: "https://tongban.example/status/".to_owned(),
    }
}

fn app(desk: Arc<FakeDesk>) -> Router {
    web::router(desk, config(Lockout::default()))
}

async fn send(app: &Router, req: Request<Body>) -> Response<Body> {
    app.clone().oneshot(req).await.expect("router answers")
}

async fn text(resp: Response<Body>) -> String {
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn set_cookies(resp: &Response<Body>) -> Vec<String> {
    resp.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// `name=value` of the cookie `name` set by `resp`.
fn cookie_pair(resp: &Response<Body>, name: &str) -> Option<String> {
    set_cookies(resp)
        .into_iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(|c| c.split(';').next().unwrap().to_owned())
}

/// The value after `marker` up to the next `"`.
fn after(html: &str, marker: &str) -> Option<String> {
    let i = html.find(marker)? + marker.len();
    Some(html[i..].split('"').next()?.to_owned())
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A signed-in clerk: the session cookie and the session's CSRF token.
struct Signed {
    cookie: String,
    csrf: String,
}

/// Posts the sign-in form (after fetching it for its token) from `peer`.
async fn try_sign_in(
    app: &Router,
    user: &str,
    password: &str,
    peer: Option<SocketAddr>,
) -> Response<Body> {
    let page = send(
        app,
        Request::get("/clerk/login").body(Body::empty()).unwrap(),
    )
    .await;
    let login_cookie = cookie_pair(&page, "tongban_login").expect("pre-session cookie");
    let token = after(&text(page).await, r#"name="csrf" value=""#).expect("form token");
    let mut req = Request::post("/clerk/login")
        .header(header::COOKIE, login_cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form(&[
            ("username", user),
            ("password", password),
            ("csrf", &token),
        ])))
        .unwrap();
    if let Some(peer) = peer {
        req.extensions_mut().insert(ConnectInfo(peer));
    }
    send(app, req).await
}

async fn sign_in(app: &Router, user: &str) -> Signed {
    let resp = try_sign_in(app, user, PASSWORD, None).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "sign-in of {user}");
    let cookie = cookie_pair(&resp, "tongban_clerk").expect("session cookie");
    let page = send(
        app,
        Request::get("/clerk/applications")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(page.status(), StatusCode::OK);
    let csrf = after(&text(page).await, r#"<meta name="csrf" content=""#).expect("csrf meta");
    Signed { cookie, csrf }
}

fn get(path: &str, s: &Signed) -> Request<Body> {
    Request::get(path)
        .header(header::COOKIE, &s.cookie)
        .body(Body::empty())
        .unwrap()
}

fn submit_req(s: &Signed, csrf: Option<&str>, body: Vec<u8>) -> Request<Body> {
    let mut b = Request::post("/clerk/api/applications")
        .header(header::COOKIE, &s.cookie)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(t) = csrf {
        b = b.header("x-csrf-token", t);
    }
    b.body(Body::from(body)).unwrap()
}

fn post_form(path: &str, s: &Signed, csrf: Option<&str>) -> Request<Body> {
    Request::post(path)
        .header(header::COOKIE, &s.cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(
            csrf.map(|t| form(&[("csrf", t)])).unwrap_or_default(),
        ))
        .unwrap()
}

fn material(code: &str, title: &str, file: &str, bytes: &[u8]) -> Value {
    json!({
        "clbm": code, "clmc": title, "wjm": file, "wjlx": "application/pdf",
        "sha256": hex::encode(Sha256::digest(bytes)),
        "nr": base64::engine::general_purpose::STANDARD.encode(bytes),
    })
}

/// What the intake form sends for a food shop in 上海市金山区 (no `sqbh`, no `slxx`).
pub(crate) fn food_application(uscc: &str) -> Value {
    json!({
        "sxbm": "330000-SCJG-SPJY-001",
        "sqr": {"xm": "陆佳怡", "zjlx": "111", "zjhm": "310116199203041217", "sjhm": "13812345678"},
        "jyz": {
            "mc": "上海市金山区廊下镇佳怡面馆", "tyshxydm": uscc, "ztlx": "个体工商户",
            "fddbr": {"xm": "陆佳怡", "zjlx": "111", "zjhm": "310116199203041217"},
            "zs": "上海市金山区廊下镇景乐路228号"
        },
        "jycs": {"xzqh": "310116", "xxdz": "上海市金山区廊下镇景乐路230号", "mj": "45.50"},
        "spjy": {
            "ztyt": "2", "jyxm": ["热食类食品制售"],
            "spaqgly": {"xm": "张伟", "zjhm": "330482198805173021", "sjhm": "13905731234"},
            "wlxs": "0"
        },
        "cl": [material("M01", "申请书", "申请书.pdf", b"%PDF-1.4 sample")],
        "mbqy": "310116",
        "spjg": "金山区市场监督管理局"
    })
}

/// The 上海市金山区 operator's USCC (valid) and the same with a mistyped check character.
pub(crate) const OPERATOR_USCC: &str = "92310116MA1K3P7X8A";
pub(crate) const OPERATOR_USCC_WRONG: &str = "92310116MA1K3P7X8B";

/// Submits a valid application as `s`; returns the gateway number.
async fn submit_ok(app: &Router, s: &Signed) -> String {
    let body = serde_json::to_vec(&food_application(OPERATOR_USCC)).unwrap();
    let resp = send(app, submit_req(s, Some(&s.csrf), body)).await;
    let status = resp.status();
    let answer: Value = serde_json::from_str(&text(resp).await).unwrap();
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    answer["gateway_no"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn no_page_or_api_without_a_session() {
    let desk = Arc::new(FakeDesk::new());
    let app = app(desk.clone());
    let s = sign_in(&app, "zhangli").await;
    let no = submit_ok(&app, &s).await;
    let pages = [
        "/clerk/".to_owned(),
        "/clerk/applications".to_owned(),
        "/clerk/new".to_owned(),
        format!("/clerk/applications/{no}"),
        format!("/clerk/applications/{no}/receipt"),
        format!("/clerk/applications/{no}/licence"),
    ];
    let forged = Signed {
        cookie: "tongban_clerk=0000".to_owned(),
        csrf: s.csrf.clone(),
    };
    for who in [None, Some(&forged)] {
        for path in &pages {
            let mut req = Request::get(path.as_str());
            if let Some(f) = who {
                req = req.header(header::COOKIE, &f.cookie);
            }
            let resp = send(&app, req.body(Body::empty()).unwrap()).await;
            assert_eq!(resp.status(), StatusCode::SEE_OTHER, "GET {path}");
            assert_eq!(
                resp.headers()[header::LOCATION],
                "/clerk/login",
                "GET {path}"
            );
        }
        let mut check = Request::get("/clerk/api/check?field=uscc&value=1");
        if let Some(f) = who {
            check = check.header(header::COOKIE, &f.cookie);
        }
        let resp = send(&app, check.body(Body::empty()).unwrap()).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        let anon = Signed {
            cookie: who.map_or(String::new(), |f| f.cookie.clone()),
            csrf: s.csrf.clone(),
        };
        let body = serde_json::to_vec(&food_application(OPERATOR_USCC)).unwrap();
        let resp = send(&app, submit_req(&anon, Some(&s.csrf), body)).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        for path in [
            format!("/clerk/applications/{no}/handover"),
            "/clerk/logout".into(),
        ] {
            let resp = send(&app, post_form(&path, &anon, Some(&s.csrf))).await;
            assert_eq!(resp.status(), StatusCode::SEE_OTHER, "POST {path}");
        }
    }
    assert_eq!(
        desk.submissions().len(),
        1,
        "nothing submitted without a session"
    );
    // Sign-in and the embedded assets need no session.
    for path in [
        "/clerk/login",
        "/clerk/assets/app.css",
        "/clerk/assets/app.js",
    ] {
        let resp = send(&app, Request::get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
    }
    // A clerk already signed in skips the sign-in form.
    let resp = send(&app, get("/clerk/login", &s)).await;
    assert_eq!(resp.headers()[header::LOCATION], "/clerk/applications");
    // After signing out the old cookie is worthless.
    let resp = send(&app, post_form("/clerk/logout", &s, Some(&s.csrf))).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let resp = send(&app, get("/clerk/applications", &s)).await;
    assert_eq!(resp.headers()[header::LOCATION], "/clerk/login");
}

#[tokio::test]
async fn session_cookie_is_http_only_same_site_strict_and_secure_when_configured() {
    let mut cfg = config(Lockout::default());
    cfg.secure_cookies = true;
    let app = web::router(Arc::new(FakeDesk::new()), cfg);
    let resp = try_sign_in(&app, "zhangli", PASSWORD, None).await;
    let session = set_cookies(&resp)
        .into_iter()
        .find(|c| c.starts_with("tongban_clerk="))
        .unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/clerk"] {
        assert!(session.contains(flag), "{flag} missing in {session}");
    }
    let plain = try_sign_in(&app_plain(), "zhangli", PASSWORD, None).await;
    let plain = cookie_pair(&plain, "tongban_clerk").unwrap();
    assert!(!plain.contains("Secure"));
}

fn app_plain() -> Router {
    app(Arc::new(FakeDesk::new()))
}

#[tokio::test]
async fn one_office_cannot_see_another_offices_applications() {
    // The leaky desk answers for every office: the web layer alone must hide them.
    for desk in [FakeDesk::new(), FakeDesk::leaky()] {
        let desk = Arc::new(desk);
        let app = app(desk.clone());
        let pinghu = sign_in(&app, "zhangli").await;
        let jiashan = sign_in(&app, "chenjie").await;
        let no = submit_ok(&app, &pinghu).await;
        desk.decide(&no, Outcome::Granted);

        let link = format!(r#"href="/clerk/applications/{no}""#);
        let own = text(send(&app, get("/clerk/applications", &pinghu)).await).await;
        assert!(own.contains(&link), "the office sees its own application");
        let other = text(send(&app, get("/clerk/applications", &jiashan)).await).await;
        assert!(!other.contains(&link), "another office must not see it");
        let searched = get(&format!("/clerk/applications?q={no}"), &jiashan);
        let searched = text(send(&app, searched).await).await;
        assert!(!searched.contains(&link) && searched.contains("没有符合条件的申请"));
        for path in [
            format!("/clerk/applications/{no}"),
            format!("/clerk/applications/{no}/receipt"),
            format!("/clerk/applications/{no}/licence"),
        ] {
            let resp = send(&app, get(&path, &jiashan)).await;
            assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
            let resp = send(&app, get(&path, &pinghu)).await;
            assert_eq!(resp.status(), StatusCode::OK, "{path}");
        }
        let path = format!("/clerk/applications/{no}/handover");
        let resp = send(&app, post_form(&path, &jiashan, Some(&jiashan.csrf))).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        assert!(desk.detail(&no).unwrap().handed_over.is_none());
    }
}

#[tokio::test]
async fn csrf_token_is_required_on_every_state_change() {
    let desk = Arc::new(FakeDesk::new());
    let app = app(desk.clone());
    let s = sign_in(&app, "zhangli").await;
    let other = sign_in(&app, "zhangli").await;
    assert_ne!(s.csrf, other.csrf, "each session has its own token");
    let body = || serde_json::to_vec(&food_application(OPERATOR_USCC)).unwrap();
    for token in [None, Some("bad"), Some(other.csrf.as_str())] {
        let resp = send(&app, submit_req(&s, token, body())).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{token:?}");
    }
    assert!(desk.submissions().is_empty());
    let no = submit_ok(&app, &s).await;
    desk.decide(&no, Outcome::Granted);
    let path = format!("/clerk/applications/{no}/handover");
    for token in [None, Some("bad"), Some(other.csrf.as_str())] {
        let resp = send(&app, post_form(&path, &s, token)).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{token:?}");
        let resp = send(&app, post_form("/clerk/logout", &s, token)).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{token:?}");
    }
    assert!(desk.detail(&no).unwrap().handed_over.is_none());
    let resp = send(&app, post_form(&path, &s, Some(&s.csrf))).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(desk.detail(&no).unwrap().handed_over.unwrap().clerk, "张丽");

    // The sign-in form: without its pre-session cookie the password is not even tried.
    let page = send(
        &app,
        Request::get("/clerk/login").body(Body::empty()).unwrap(),
    )
    .await;
    let token = after(&text(page).await, r#"name="csrf" value=""#).unwrap();
    let resp = send(
        &app,
        Request::post("/clerk/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form(&[
                ("username", "zhangli"),
                ("password", PASSWORD),
                ("csrf", &token),
            ])))
            .unwrap(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(cookie_pair(&resp, "tongban_clerk").is_none());
}

#[tokio::test]
async fn wrong_passwords_lock_the_account_then_the_lock_expires() {
    let lockout = Lockout {
        threshold: 3,
        address_threshold: 100,
        duration: Duration::from_millis(1500),
    };
    let app = web::router(Arc::new(FakeDesk::new()), config(lockout));
    for _ in 0..3 {
        let resp = try_sign_in(&app, "zhangli", "wrong", None).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert!(text(resp).await.contains("用户名或密码错误"));
    }
    let resp = try_sign_in(&app, "zhangli", PASSWORD, None).await;
    assert_eq!(
        resp.status(),
        StatusCode::UNAUTHORIZED,
        "locked even with the right password"
    );
    assert!(cookie_pair(&resp, "tongban_clerk").is_none());
    assert!(text(resp).await.contains("已锁定"));
    // Other accounts are not locked by one account's failures.
    sign_in(&app, "chenjie").await;
    tokio::time::sleep(Duration::from_millis(1600)).await;
    sign_in(&app, "zhangli").await;
}

#[tokio::test]
async fn failures_from_one_address_lock_the_address() {
    let lockout = Lockout {
        threshold: 100,
        address_threshold: 4,
        duration: Duration::from_secs(600),
    };
    let app = web::router(Arc::new(FakeDesk::new()), config(lockout));
    let guesser: SocketAddr = "127.0.0.9:40000".parse().unwrap();
    let window: SocketAddr = "127.0.0.10:40000".parse().unwrap();
    for user in ["zhangli", "chenjie", "wangmin", "nobody"] {
        let resp = try_sign_in(&app, user, "guess", Some(guesser)).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
    let resp = try_sign_in(&app, "wangmin", PASSWORD, Some(guesser)).await;
    assert!(text(resp).await.contains("已锁定"));
    let resp = try_sign_in(&app, "wangmin", PASSWORD, Some(window)).await;
    assert_eq!(
        resp.status(),
        StatusCode::SEE_OTHER,
        "another address still signs in"
    );
}

#[tokio::test]
async fn acceptance_comes_from_the_session_not_the_client() {
    let desk = Arc::new(FakeDesk::new());
    let app = app(desk.clone());
    let s = sign_in(&app, "zhangli").await;
    let mut doc = food_application(OPERATOR_USCC);
    doc["sqbh"] = json!("FORGED-1");
    doc["slxx"] = json!({"sljg": "伪造机构", "sljgdm": JIASHAN.1, "slr": "伪造", "slsj": "2020-01-01 00:00:00"});
    let resp = send(
        &app,
        submit_req(&s, Some(&s.csrf), serde_json::to_vec(&doc).unwrap()),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let (source, bytes) = desk.submissions().pop().unwrap();
    assert_eq!(source, Platform::Zhejiang);
    let Document::Application(a) = platform::read(Platform::Zhejiang, &bytes).unwrap().document
    else {
        panic!("an application")
    };
    assert_eq!(a.acceptance.office, PINGHU.0);
    assert_eq!(a.acceptance.office_uscc.as_str(), PINGHU.1);
    assert_eq!(a.acceptance.clerk, "张丽");
    assert!(
        (chrono::Utc::now() - a.acceptance.accepted_at.to_utc())
            .num_seconds()
            .abs()
            < 60
    );
    assert!(
        a.number.as_str().starts_with("ZJ-CK-"),
        "{}",
        a.number.as_str()
    );
}

#[tokio::test]
async fn problems_come_back_with_the_form_fields_paths() {
    let desk = Arc::new(FakeDesk::new());
    let app = app(desk.clone());
    let s = sign_in(&app, "zhangli").await;
    let mut doc = food_application(OPERATOR_USCC_WRONG);
    doc["cl"][0]["sha256"] = json!("00".repeat(32));
    doc["sqr"]["sjhm"] = json!("1381234567");
    let resp = send(
        &app,
        submit_req(&s, Some(&s.csrf), serde_json::to_vec(&doc).unwrap()),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let answer: Value = serde_json::from_str(&text(resp).await).unwrap();
    let paths: Vec<&str> = answer["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    for path in ["jyz.tyshxydm", "cl[0].sha256", "sqr.sjhm"] {
        assert!(paths.contains(&path), "{path} in {paths:?}");
    }
    // A target in the clerk's own province is not cross-province.
    let mut doc = food_application(OPERATOR_USCC);
    doc["mbqy"] = json!("330482");
    let resp = send(
        &app,
        submit_req(&s, Some(&s.csrf), serde_json::to_vec(&doc).unwrap()),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(resp).await.contains("\"mbqy\""));
    assert!(
        desk.submissions().is_empty(),
        "nothing invalid reaches the desk"
    );
}

#[tokio::test]
async fn a_shanghai_window_submits_in_shanghai_format() {
    let desk = Arc::new(FakeDesk::new());
    let app = app(desk.clone());
    let s = sign_in(&app, "wangmin").await;
    let mut doc = food_application(OPERATOR_USCC);
    doc["jycs"]["xzqh"] = json!("330482");
    doc["jycs"]["xxdz"] = json!("浙江省嘉兴市平湖市广陈镇山塘村山塘路18号");
    doc["mbqy"] = json!("330482");
    doc["spjg"] = json!("平湖市市场监督管理局");
    let resp = send(
        &app,
        submit_req(&s, Some(&s.csrf), serde_json::to_vec(&doc).unwrap()),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    // The desk is handed Shanghai's XML with Shanghai as the source, never Zhejiang JSON.
    let (source, bytes) = desk.submissions().pop().expect("the desk was called");
    assert_eq!(source, Platform::Shanghai);
    assert!(
        platform::read(Platform::Zhejiang, &bytes).is_err(),
        "not Zhejiang JSON"
    );
    let Document::Application(a) = platform::read(Platform::Shanghai, &bytes)
        .expect("Shanghai XML")
        .document
    else {
        panic!("an application")
    };
    assert_eq!(a.acceptance.office_uscc.as_str(), LANGXIA.1);
    assert_eq!(a.acceptance.clerk, "王敏");
}

#[tokio::test]
async fn live_checks_answer_from_the_rust_checkers() {
    let app = app_plain();
    let s = sign_in(&app, "zhangli").await;
    let ask = |q: &str| get(&format!("/clerk/api/check?{q}"), &s);
    let a: Value = serde_json::from_str(
        &text(
            send(
                &app,
                ask(&format!("field=uscc&value={OPERATOR_USCC_WRONG}")),
            )
            .await,
        )
        .await,
    )
    .unwrap();
    assert_eq!(a["ok"], false);
    assert!(a["message"].as_str().unwrap().contains("应为“A”"), "{a}");
    let a: Value = serde_json::from_str(
        &text(send(&app, ask("field=division&value=310116&scope=premises")).await).await,
    )
    .unwrap();
    assert_eq!(a["ok"], true);
    assert_eq!(a["name"], "上海市金山区");
    assert_eq!(a["authority"], "金山区市场监督管理局");
    let resp = send(&app, ask("field=nothing&value=1")).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn oversized_submissions_are_refused() {
    let desk = Arc::new(FakeDesk::new());
    let app = app(desk.clone());
    let s = sign_in(&app, "zhangli").await;
    let body = vec![b' '; web::MAX_SUBMISSION + 1];
    let resp = send(&app, submit_req(&s, Some(&s.csrf), body)).await;
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(desk.submissions().is_empty());
}

#[test]
fn config_check_reports_every_problem() {
    let mut cfg = config(Lockout::default());
    assert_eq!(cfg.check(), Ok(()));
    cfg.accounts[1].username = "zhangli".to_owned();
    cfg.accounts[2].password_hash = "plain-text".to_owned();
    cfg.lockout.threshold = 0;
    let errors = cfg.check().unwrap_err();
    assert_eq!(errors.len(), 3, "{errors:?}");
}

#[tokio::test]
async fn registration_items_take_a_business_scope_and_no_uscc() {
    let desk = Arc::new(FakeDesk::new());
    let app = app(desk.clone());
    let s = sign_in(&app, "zhangli").await;
    let mut doc = food_application(OPERATOR_USCC);
    doc["sxbm"] = json!("330000-SCJG-DJ-101");
    doc.as_object_mut().unwrap().remove("spjy");
    doc["jyz"].as_object_mut().unwrap().remove("tyshxydm");
    doc["jyfw"] = json!("餐饮服务；食品销售");
    let resp = send(
        &app,
        submit_req(&s, Some(&s.csrf), serde_json::to_vec(&doc).unwrap()),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED, "{}", text(resp).await);
    // The same with the food item's USCC left in: the adapter's rule names the field.
    doc["jyz"]["tyshxydm"] = json!(OPERATOR_USCC);
    let resp = send(
        &app,
        submit_req(&s, Some(&s.csrf), serde_json::to_vec(&doc).unwrap()),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(resp).await.contains("jyz.tyshxydm"));
}

#[tokio::test]
async fn the_intake_form_is_built_from_the_code_tables() {
    use tongban::codes::{Code, EntityType, FoodItem, Item, Kind, Material};
    let app = app_plain();
    let s = sign_in(&app, "zhangli").await;
    let html = text(send(&app, get("/clerk/new", &s)).await).await;
    for r in Item::table().rows() {
        assert!(
            html.contains(&format!(r#"value="{}""#, r.zj)),
            "item {}",
            r.key
        );
    }
    for r in FoodItem::table().rows() {
        assert!(
            html.contains(&format!(r#"value="{}""#, r.zj)),
            "food item {}",
            r.key
        );
    }
    for r in Material::table().rows() {
        assert!(
            html.contains(&format!(r#"value="{}">{}"#, r.zj, r.name)),
            "material {}",
            r.key
        );
    }
    // Registration items name the entity type they imply.
    let gt = Code::<Item>::from_key("gt-registration").unwrap();
    let individual = Code::<EntityType>::from_key("individual-business").unwrap();
    assert!(html.contains(&format!(
        r#"value="{}" data-kind="registration" data-entity="{}""#,
        gt.zj(),
        individual.zj()
    )));
    // Nothing from outside: every script and stylesheet is the gateway's own.
    assert!(!html.contains("http://") && !html.contains("https://"));
}

/// A refusal of the server comes back in Chinese (issue 16), with the catalogue's code, the
/// form's field and its label, so the page shows it under 面积 as 面积's problem.
#[tokio::test]
async fn server_refusals_are_chinese_with_their_code_field_and_label() {
    use tongban::model::{Lang, Message};
    let desk = Arc::new(FakeDesk::new());
    let app = app(desk.clone());
    let s = sign_in(&app, "zhangli").await;
    let mut doc = food_application(OPERATOR_USCC);
    doc["jycs"]["mj"] = json!("45.5平方");
    let resp = send(
        &app,
        submit_req(&s, Some(&s.csrf), serde_json::to_vec(&doc).unwrap()),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let answer: Value = serde_json::from_str(&text(resp).await).unwrap();
    let expected = Message::DecimalShape {
        value: "45.5平方".into(),
        unit: "m²",
    };
    assert_eq!(
        answer["problems"],
        json!([{
            "path": "jycs.mj",
            "field": "jycs.mj",
            "label": "面积",
            "code": "decimal.shape",
            "message": expected.render(Lang::Zh),
            "severity": "error",
        }])
    );
    assert_eq!(
        answer["problems"][0]["message"],
        "“45.5平方”不是以 m² 计的数值（数字，可带小数点和小数部分）"
    );
}
