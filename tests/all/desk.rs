//! The clerks' page on the real gateway, over its own HTTPS listener (no client certificate):
//! what one office may see and do, when a decision may be handed over, and refusals named in
//! the clerk's platform's vocabulary. The page's own rules (sessions, CSRF, lock-out) are
//! tested on a stand-in desk in `web`; the browser test (`web::browser`) runs on this set-up.

use crate::wait_for;
use std::time::Duration;

use serde_json::{json, Value};
use tongban::demo::{Loopback, LoopbackOptions, SAMPLE_SH_APPLICATION};
use tongban::gateway::desk::GatewayDesk;
use tongban::model::Outcome;
use tongban::platform::Platform;
use tongban::web::{Desk, DeskError, Lockout};

use crate::web::{config, food_application, JIASHAN, LANGXIA, OPERATOR_USCC, PASSWORD, PINGHU};

/// Both sandboxes wait an hour before deciding on their own: each test decides when and how
/// through [`tongban::demo::sandbox::Sandbox::decide`].
pub fn options() -> LoopbackOptions {
    LoopbackOptions {
        decide_after: Duration::from_secs(3600),
        initial_backoff_ms: 50,
        max_backoff_ms: 200,
        give_up_after_s: 3_600,
        ..crate::backend::options()
    }
}

/// Gateway, both sandboxes and the clerks' page with the test clerks (张丽 of 平湖, 陈杰 of
/// 嘉善, 王敏 of 廊下).
pub async fn start() -> (tempfile::TempDir, Loopback) {
    let dir = tempfile::tempdir().unwrap();
    let clerks = config(Lockout::default()).accounts;
    let lb = Loopback::start_with_clerks(dir.path(), options(), &clerks)
        .await
        .unwrap();
    (dir, lb)
}

/// The desk of the running gateway, as the page uses it.
pub fn desk(lb: &Loopback) -> GatewayDesk {
    GatewayDesk::new(lb.gateway().unwrap().clone())
}

/// Waits until the gateway has the decision on `no`.
pub async fn wait_decided(lb: &Loopback, no: &str) {
    let gw = lb.gateway().unwrap().clone();
    wait_for("the decision at the gateway", || {
        gw.store
            .get(no)
            .ok()
            .flatten()
            .is_some_and(|r| r.decision.is_some())
    })
    .await;
}

/// Waits until the destination platform has the application `no`.
pub async fn wait_forwarded(lb: &Loopback, no: &str) {
    let gw = lb.gateway().unwrap().clone();
    wait_for("the forwarding", || {
        gw.store
            .get(no)
            .ok()
            .flatten()
            .is_some_and(|r| r.step("FORWARDED").is_some())
    })
    .await;
}

/// Ledger entries of `no`, read through the ledger API.
pub async fn ledger_entries(lb: &Loopback, no: &str) -> Vec<Value> {
    let url = format!("http://{}/api/v1/ledger/entries?start=0", lb.ops_addr);
    let v: Value =
        serde_json::from_slice(&reqwest::get(url).await.unwrap().bytes().await.unwrap()).unwrap();
    v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["entry"]["gateway_no"] == no)
        .cloned()
        .collect()
}

/// A browser's view of the page: HTTPS trusting the dev CA, no client certificate, cookies
/// and redirects by hand.
struct Page {
    client: reqwest::Client,
    base: String,
}

/// A signed-in clerk.
struct Session {
    cookie: String,
    csrf: String,
}

fn cookie(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(|c| c.split(';').next().unwrap().to_owned())
}

fn after(html: &str, marker: &str) -> String {
    let i = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in page"))
        + marker.len();
    html[i..].split('"').next().unwrap().to_owned()
}

impl Page {
    fn new(lb: &Loopback) -> Page {
        let client = crate::without_client_cert(lb)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Page {
            client,
            base: format!("https://localhost:{}", lb.web_addr.unwrap().port()),
        }
    }

    async fn sign_in(&self, user: &str) -> Session {
        let form = self
            .client
            .get(format!("{}/clerk/login", self.base))
            .send()
            .await
            .unwrap();
        let login = cookie(&form, "tongban_login").unwrap();
        let token = after(&form.text().await.unwrap(), r#"name="csrf" value=""#);
        let resp = self
            .client
            .post(format!("{}/clerk/login", self.base))
            .header("cookie", login)
            .form(&[("username", user), ("password", PASSWORD), ("csrf", &token)])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 303, "sign-in of {user}");
        let session = cookie(&resp, "tongban_clerk").unwrap();
        assert!(
            resp.headers()["set-cookie"]
                .to_str()
                .unwrap()
                .contains("Secure"),
            "the served page sets Secure cookies"
        );
        let (_, page) = self.get(&session, "/clerk/applications").await;
        Session {
            csrf: after(&page, r#"<meta name="csrf" content=""#),
            cookie: session,
        }
    }

    async fn get(&self, cookie: &str, path: &str) -> (u16, String) {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (
            status,
            String::from_utf8_lossy(&resp.bytes().await.unwrap()).into_owned(),
        )
    }

    async fn submit(&self, s: &Session, doc: &Value) -> (u16, Value) {
        let resp = self
            .client
            .post(format!("{}/clerk/api/applications", self.base))
            .header("cookie", &s.cookie)
            .header("x-csrf-token", &s.csrf)
            .header("content-type", "application/json")
            .body(doc.to_string())
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (
            status,
            serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap(),
        )
    }

    async fn submit_ok(&self, s: &Session, doc: &Value) -> String {
        let (status, answer) = self.submit(s, doc).await;
        assert_eq!(status, 201, "{answer}");
        answer["gateway_no"].as_str().unwrap().to_owned()
    }

    async fn hand_over(&self, s: &Session, no: &str) -> (u16, String) {
        let resp = self
            .client
            .post(format!("{}/clerk/applications/{no}/handover", self.base))
            .header("cookie", &s.cookie)
            .form(&[("csrf", &s.csrf)])
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.text().await.unwrap())
    }
}

#[tokio::test]
async fn one_office_cannot_see_another_offices_applications() {
    let (_dir, lb) = start().await;
    let page = Page::new(&lb);
    let pinghu = page.sign_in("zhangli").await;
    let no = page
        .submit_ok(&pinghu, &food_application(OPERATOR_USCC))
        .await;
    wait_forwarded(&lb, &no).await;
    lb.sh.decide(&no, Outcome::Granted).await.unwrap();
    wait_decided(&lb, &no).await;

    let link = format!(r#"href="/clerk/applications/{no}""#);
    let (_, own) = page.get(&pinghu.cookie, "/clerk/applications").await;
    assert!(own.contains(&link), "the office sees its own application");
    let paths = [
        format!("/clerk/applications/{no}"),
        format!("/clerk/applications/{no}/receipt"),
        format!("/clerk/applications/{no}/licence"),
    ];
    for path in &paths {
        assert_eq!(page.get(&pinghu.cookie, path).await.0, 200, "{path}");
    }
    // Another office of the same province, and one of the other province.
    for user in ["chenjie", "wangmin"] {
        let other = page.sign_in(user).await;
        let (_, list) = page.get(&other.cookie, "/clerk/applications").await;
        assert!(!list.contains(&link), "{user} must not see it");
        let (_, searched) = page
            .get(&other.cookie, &format!("/clerk/applications?q={no}"))
            .await;
        assert!(searched.contains("没有符合条件的申请"), "{user}");
        for path in &paths {
            assert_eq!(page.get(&other.cookie, path).await.0, 404, "{user} {path}");
        }
        assert_eq!(page.hand_over(&other, &no).await.0, 404, "{user}");
    }
    // The desk itself answers only for the office asking.
    let desk = desk(&lb);
    assert!(desk.applications(JIASHAN.1).await.unwrap().is_empty());
    assert!(desk.application(JIASHAN.1, &no).await.unwrap().is_none());
    assert!(desk.licence_file(LANGXIA.1, &no).await.unwrap().is_none());
    assert!(matches!(
        desk.mark_handed_over(JIASHAN.1, &no, "陈杰").await,
        Err(DeskError::NotFound)
    ));
    let mine = desk.applications(PINGHU.1).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].operator_name, "上海市金山区廊下镇佳怡面馆");
    let licence = desk.licence_file(PINGHU.1, &no).await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&licence.bytes).contains("tongban sandbox licence"));
    assert!(ledger_entries(&lb, &no)
        .await
        .iter()
        .all(|e| e["entry"]["step"] != "handed_over"));
    // The page's listener serves no partner endpoint and no status API: a browser is never a
    // platform.
    for path in [
        "/ywtb/remote-accept/1.3/apply",
        "/api/kstb/v2/sqxx",
        "/api/v1/applications",
    ] {
        let resp = page
            .client
            .post(format!("{}{path}", page.base))
            .body(SAMPLE_SH_APPLICATION)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404, "{path}");
    }
    lb.stop().await;
}

#[tokio::test]
async fn a_decision_is_handed_over_once_and_only_after_it_arrived() {
    let (_dir, lb) = start().await;
    let page = Page::new(&lb);
    let s = page.sign_in("zhangli").await;
    let no = page.submit_ok(&s, &food_application(OPERATOR_USCC)).await;
    wait_forwarded(&lb, &no).await;
    let desk = desk(&lb);

    // Before the decision: refused by the page and by the desk.
    let (status, body) = page.hand_over(&s, &no).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("尚未收到审批结果"), "{body}");
    match desk.mark_handed_over(PINGHU.1, &no, "张丽").await {
        Err(DeskError::Conflict(m)) => assert!(m.contains("尚未收到审批结果"), "{m}"),
        other => panic!("{other:?}"),
    }

    // A refusal arrives from Shanghai; no licence to download, but the decision to hand over.
    lb.sh.decide(&no, Outcome::Refused).await.unwrap();
    wait_decided(&lb, &no).await;
    let (_, detail) = page
        .get(&s.cookie, &format!("/clerk/applications/{no}"))
        .await;
    assert!(detail.contains("不予"), "{detail}");
    assert_eq!(
        page.get(&s.cookie, &format!("/clerk/applications/{no}/licence"))
            .await
            .0,
        404
    );
    let (status, _) = page.hand_over(&s, &no).await;
    assert_eq!(status, 303);
    let (_, detail) = page
        .get(&s.cookie, &format!("/clerk/applications/{no}"))
        .await;
    assert!(detail.contains(r#"id="handed-over""#) && detail.contains("张丽"));

    // Twice: a conflict, and still one ledger entry.
    let (status, body) = page.hand_over(&s, &no).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("已送达"), "{body}");
    assert!(matches!(
        desk.mark_handed_over(PINGHU.1, &no, "张丽").await,
        Err(DeskError::Conflict(_))
    ));
    let entries = ledger_entries(&lb, &no).await;
    let handed: Vec<&Value> = entries
        .iter()
        .filter(|e| e["entry"]["step"] == "handed_over")
        .collect();
    assert_eq!(handed.len(), 1, "{entries:?}");
    // The entry commits to the decision handed over and names no one.
    assert_eq!(handed[0]["entry"]["decision"]["result"], "rejected");
    assert!(!handed[0].to_string().contains("张丽"));
    let detail = desk.application(PINGHU.1, &no).await.unwrap().unwrap();
    let h = detail.handed_over.unwrap();
    assert_eq!(h.clerk, "张丽");
    assert_eq!(Some(h.ledger_index), handed[0]["index"].as_u64());
    // The status API shows the step too.
    let status: Value = serde_json::from_slice(
        &reqwest::get(format!("http://{}/api/v1/applications/{no}", lb.ops_addr))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(status["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["step"] == "HANDED_OVER"));
    lb.stop().await;
}

#[tokio::test]
async fn refusals_name_the_field_in_the_clerks_platform_vocabulary() {
    let (_dir, lb) = start().await;
    let page = Page::new(&lb);
    // A shop in 苏州市吴江区: Jiangsu has no platform on this gateway.
    let mut doc = food_application(OPERATOR_USCC);
    doc["jycs"]["xzqh"] = json!("320509");
    doc["jycs"]["xxdz"] = json!("江苏省苏州市吴江区松陵镇测试路1号");
    doc["mbqy"] = json!("320509");
    doc["spjg"] = json!("苏州市吴江区市场监督管理局");
    for (user, path) in [
        ("zhangli", "mbqy"),
        ("wangmin", "/RemoteApply/Target/@region"),
    ] {
        let s = page.sign_in(user).await;
        let (status, answer) = page.submit(&s, &doc).await;
        assert_eq!(status, 422, "{user}: {answer}");
        let problem = &answer["problems"][0];
        assert_eq!(problem["path"], path, "{user}: {answer}");
        assert!(
            problem["message"].as_str().unwrap().contains("320509"),
            "{answer}"
        );
    }

    // Through the desk directly: an office outside the sending platform's province, and the
    // adapter's own problems, each in the platform's words.
    let desk = desk(&lb);
    let sample = String::from_utf8_lossy(SAMPLE_SH_APPLICATION).into_owned();
    // Shanghai sending an application accepted in 平湖; Zhejiang sending one accepted in 廊下.
    let foreign_office = sample.replace(LANGXIA.1, PINGHU.1);
    let zj_foreign =
        tongban::platform::translate(Platform::Shanghai, Platform::Zhejiang, sample.as_bytes())
            .unwrap()
            .bytes;
    for (platform, bytes, path) in [
        (
            Platform::Shanghai,
            foreign_office.clone().into_bytes(),
            "/RemoteApply/Acceptance/Office/@uscc",
        ),
        (Platform::Zhejiang, zj_foreign, "slxx.sljgdm"),
        (
            Platform::Shanghai,
            sample
                .replace("region=\"330482\"", "region=\"33048\"")
                .into_bytes(),
            "/RemoteApply/Target/@region",
        ),
    ] {
        match desk.submit(platform, bytes).await {
            Err(DeskError::Refused(problems)) => assert!(
                problems.iter().any(|p| p.path == path),
                "{path} in {problems}"
            ),
            other => panic!("{path}: {other:?}"),
        }
    }
    // Nothing refused was recorded.
    for office in [PINGHU.1, LANGXIA.1] {
        assert!(desk.applications(office).await.unwrap().is_empty());
    }
    let entries = reqwest::get(format!(
        "http://{}/api/v1/ledger/entries?start=0",
        lb.ops_addr
    ))
    .await
    .unwrap();
    assert_eq!(entries.status(), 400, "the ledger is empty");
    assert!(entries.text().await.unwrap().contains("log size 0"));
    lb.stop().await;
}
