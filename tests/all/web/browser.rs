//! End to end in headless Chromium: a clerk of the 平湖 window signs in, fills a food licence
//! application with the keyboard and a scanner's Enter, sees the live check reject a
//! mistyped USCC, attaches materials by file input and by drag and drop, reviews and submits,
//! prints the receipt, follows the application to GRANTED and hands the licence over.
//! Screenshots of the main pages go to `target/screenshots/`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use serde_json::json;
use tongban::model::Outcome;
use tongban::platform::Platform;
use tongban::web::{self, Desk, Lockout, State};

use super::fake::FakeDesk;
use super::webdriver::{Driver, Session, ENTER};
use super::{config, window_document, OPERATOR_USCC, OPERATOR_USCC_WRONG, PASSWORD};

fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A screenshot of the whole page (the window grows to the page's height, then shrinks back).
async fn shot(s: &mut Session, name: &str) {
    let height = s
        .js(
            "window.scrollTo(0, 0); return Math.max(document.documentElement.scrollHeight \
             + window.outerHeight - window.innerHeight, 900);",
            json!([]),
        )
        .await
        .as_u64()
        .unwrap_or(900);
    s.resize(1366, height as u32).await;
    s.screenshot(&screenshots().join(name)).await;
    s.resize(1366, 900).await;
}

fn field(name: &str) -> String {
    format!(r#"[name="{name}"]"#)
}

async fn set_select(s: &mut Session, name: &str, value: &str) {
    s.js(
        "const el = document.querySelector(arguments[0]); el.value = arguments[1]; \
         el.dispatchEvent(new Event('change', {bubbles: true}));",
        json!([field(name), value]),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clerk_accepts_follows_and_hands_over_in_chromium() {
    let driver = Driver::start().await;
    let desk = Arc::new(FakeDesk::new());
    let router = web::router(desk.clone(), config(Lockout::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    let profile = tempfile::tempdir().unwrap();
    let mut s = driver.session(profile.path()).await;

    // Sign in: any page sends an unsigned clerk to the sign-in form.
    s.goto(&format!("{base}/clerk/applications")).await;
    assert!(s.url().await.ends_with("/clerk/login"));
    shot(&mut s, "01-login.png").await;
    s.type_in(&field("username"), "zhangli").await;
    s.type_in(&field("password"), &format!("{PASSWORD}{ENTER}"))
        .await;
    s.wait_text("h1", "工作台").await;

    // The intake form, food licence (新办) preselected.
    s.click(".page-head a.primary").await;
    s.find("#intake").await;
    assert_eq!(
        s.js("return document.activeElement.value;", json!([]))
            .await,
        json!("330000-SCJG-SPJY-001"),
        "the form opens with the item focused"
    );
    // A registration item shows the business scope instead of the food section and the USCC,
    // and implies its entity type.
    s.click(r#"input[name="sxbm"][value="330000-SCJG-DJ-201"]"#)
        .await;
    let shown = |sel: &str| format!("document.querySelector('{sel}').offsetParent !== null");
    s.wait(
        &format!(
            "{} && !({}) && !({}) && document.querySelector('[name=\"jyz.ztlx\"]').value === '有限责任公司'",
            shown("#f-jyfw"),
            shown("[name=\"spjy.ztyt\"]"),
            shown("[name=\"jyz.tyshxydm\"]")
        ),
        "the registration sections",
    )
    .await;
    shot(&mut s, "02-intake-registration.png").await;
    s.click(r#"input[name="sxbm"][value="330000-SCJG-SPJY-001"]"#)
        .await;
    s.wait(&shown("[name=\"spjy.ztyt\"]"), "the food section")
        .await;
    s.type_in(&field("sqr.xm"), "陆佳怡").await;
    // A scanner types the id number and presses Enter: checked, and the next field focused.
    s.type_in(&field("sqr.zjhm"), &format!("310116199203041217{ENTER}"))
        .await;
    s.wait(
        r#"document.querySelector('[data-field="sqr.zjhm"]').classList.contains("ok")"#,
        "the id number accepted",
    )
    .await;
    assert_eq!(
        s.js("return document.activeElement.name;", json!([])).await,
        json!("sqr.sjhm"),
        "Enter moves to the next field"
    );
    s.type_in(&field("sqr.sjhm"), "13812345678").await;
    s.type_in(&field("jyz.mc"), "上海市金山区廊下镇佳怡面馆")
        .await;

    // The live check rejects a mistyped USCC with the checker's own words.
    s.type_in(&field("jyz.tyshxydm"), OPERATOR_USCC_WRONG).await;
    let msg = s
        .wait_text(r#"[data-field="jyz.tyshxydm"].bad .msg"#, "expected 'A'")
        .await;
    assert!(msg.contains("GB 32100"), "{msg}");
    s.js(
        "document.querySelector(arguments[0]).scrollIntoView({block: 'center'});",
        json!([field("jyz.tyshxydm")]),
    )
    .await;
    s.screenshot(&screenshots().join("03-intake-wrong-uscc.png"))
        .await;
    s.clear(&field("jyz.tyshxydm")).await;
    s.type_in(&field("jyz.tyshxydm"), OPERATOR_USCC).await;
    s.wait(
        r#"document.querySelector('[data-field="jyz.tyshxydm"]').classList.contains("ok")"#,
        "the corrected USCC accepted",
    )
    .await;

    s.click("#same-as-applicant").await;
    s.wait(
        r#"document.querySelector('[data-field="jyz.fddbr.zjhm"]').classList.contains("ok")"#,
        "the legal representative copied from the applicant",
    )
    .await;
    s.type_in(&field("jyz.zs"), "上海市金山区廊下镇景乐路228号")
        .await;

    // The division check names the county and suggests the target and the authority.
    s.type_in(&field("jycs.xzqh"), &format!("310116{ENTER}"))
        .await;
    s.wait_text(r#"[data-field="jycs.xzqh"] .msg"#, "上海市金山区")
        .await;
    s.wait(
        r#"document.querySelector('[name="spjg"]').value === "金山区市场监督管理局" && document.querySelector('[name="mbqy"]').value === "310116""#,
        "the target suggested from the premises",
    )
    .await;
    s.type_in(&field("jycs.xxdz"), "上海市金山区廊下镇景乐路230号")
        .await;
    s.type_in(&field("jycs.mj"), "45.50").await;
    set_select(&mut s, "spjy.ztyt", "2").await;
    for item in ["热食类食品制售", "自制饮品制售"] {
        s.click(&format!(r#"input[name="spjy.jyxm"][value="{item}"]"#))
            .await;
    }
    s.type_in(&field("spjy.spaqgly.xm"), "张伟").await;
    s.type_in(&field("spjy.spaqgly.zjhm"), "330482198805173021")
        .await;
    s.type_in(&field("spjy.spaqgly.sjhm"), "13905731234").await;

    // Materials: one through the file input, one dropped onto the drop zone.
    let files = tempfile::tempdir().unwrap();
    let form_pdf = files.path().join("申请书.pdf");
    std::fs::write(&form_pdf, b"%PDF-1.4 application form (sample)\n").unwrap();
    s.type_in("#files", form_pdf.to_str().unwrap()).await;
    let lease = base64::engine::general_purpose::STANDARD.encode(b"%PDF-1.4 lease (sample)\n");
    s.js(
        "const bytes = Uint8Array.from(atob(arguments[1]), c => c.charCodeAt(0));\
         const dt = new DataTransfer();\
         dt.items.add(new File([bytes], arguments[0], {type: 'application/pdf'}));\
         document.getElementById('drop').dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));",
        json!(["经营场所使用证明-租赁合同.pdf", lease]),
    )
    .await;
    s.wait(
        "document.querySelectorAll('#materials tbody tr').length === 2",
        "two materials listed",
    )
    .await;
    // Each file got the material code whose name its file name carries.
    assert_eq!(
        s.js(
            "return [...document.querySelectorAll('#materials select')].map(s => s.value);",
            json!([])
        )
        .await,
        json!(["M01", "M03"])
    );
    shot(&mut s, "04-intake-filled.png").await;

    // Review, then submit through the pipeline.
    s.click("#to-review").await;
    s.wait(
        "!document.getElementById('review').hidden",
        "the review step",
    )
    .await;
    let review = s.text("#review-body").await;
    for expected in [
        "92310116MA1K3P7X8A",
        "热食类食品制售、自制饮品制售",
        "经营场所使用证明",
        "租赁合同.pdf",
    ] {
        assert!(review.contains(expected), "{expected} in review:\n{review}");
    }
    shot(&mut s, "05-intake-review.png").await;
    s.click("#submit").await;
    s.wait("location.pathname.endsWith('/receipt')", "the receipt page")
        .await;
    let no = s.text("#receipt-gateway-no").await;
    assert_eq!(desk.numbers(), vec![no.clone()]);
    let receipt = s.text(".receipt").await;
    for expected in [
        "食品经营许可（新办）",
        "申请书.pdf",
        "租赁合同.pdf",
        "张丽",
        "#1",
    ] {
        assert!(
            receipt.contains(expected),
            "{expected} on the receipt:\n{receipt}"
        );
    }
    s.find(".qr svg").await;
    shot(&mut s, "06-receipt.png").await;

    // The receipt as printed: A4, no navigation.
    s.cdp("Emulation.setEmulatedMedia", json!({"media": "print"}))
        .await;
    assert_eq!(
        s.js(
            "return getComputedStyle(document.querySelector('.toolbar')).display;",
            json!([])
        )
        .await,
        json!("none")
    );
    shot(&mut s, "07-receipt-print.png").await;
    let pdf = s.print_pdf().await;
    assert!(pdf.starts_with(b"%PDF"));
    std::fs::write(screenshots().join("receipt.pdf"), pdf).unwrap();
    s.cdp("Emulation.setEmulatedMedia", json!({"media": ""}))
        .await;

    // Earlier applications of the office: one overdue, one due tomorrow, one refused.
    let seeds = [
        (
            "上海市青浦区朱家角镇阿强小吃店",
            "330000-SCJG-SPJY-001",
            "2026-10-12 10:05:00",
            Some(-3),
            None,
        ),
        (
            "上海市金山区朱泾镇小林早餐店",
            "330000-SCJG-DJ-101",
            "2026-11-03 14:20:00",
            Some(1),
            None,
        ),
        (
            "上海市金山区枫泾镇丰味面馆",
            "330000-SCJG-SPJY-003",
            "2026-10-27 09:10:00",
            None,
            Some(Outcome::Refused),
        ),
    ];
    let mut overdue_no = String::new();
    for (i, (operator, item, accepted, days, outcome)) in seeds.into_iter().enumerate() {
        let doc = window_document(i as u32, operator, item, accepted);
        let receipt = desk.submit(Platform::Zhejiang, doc).await.unwrap();
        if let Some(days) = days {
            desk.set_days_left(&receipt.gateway_no, days);
            if days < 0 {
                overdue_no = receipt.gateway_no.clone();
            }
        }
        if let Some(outcome) = outcome {
            desk.decide(&receipt.gateway_no, outcome);
        }
    }

    // The work list shows it, with its state and deadline; overdue in red; search finds it.
    s.goto(&format!("{base}/clerk/applications")).await;
    s.wait_text("table.list", &no).await;
    let overdue = s.text("tr.row-overdue").await;
    assert!(
        overdue.contains(&overdue_no) && overdue.contains("超期 3 个工作日"),
        "{overdue}"
    );
    assert_eq!(
        s.js(
            "return getComputedStyle(document.querySelector('tr.row-overdue .overdue')).color;",
            json!([])
        )
        .await,
        json!("rgb(180, 35, 24)")
    );
    shot(&mut s, "08-worklist.png").await;
    set_select(&mut s, "state", "overdue").await;
    s.click(".filters button").await;
    s.wait(
        "location.search.indexOf('state=overdue') >= 0",
        "the overdue filter",
    )
    .await;
    let rows = s.text("table.list tbody").await;
    assert!(rows.contains(&overdue_no) && !rows.contains(&no), "{rows}");
    s.goto(&format!("{base}/clerk/applications")).await;
    s.type_in("#q", &format!("佳怡{ENTER}")).await;
    s.wait("location.search.indexOf('q=') >= 0", "the search")
        .await;
    let row = s.wait_text("table.list tbody", &no).await;
    assert!(
        row.contains("已转送") && row.contains("剩 14 个工作日"),
        "{row}"
    );
    assert!(!row.contains("阿强"), "the search keeps only matching rows");

    // The application's page; the decision arrives (as through the sandbox).
    s.click(&format!(r#"a[href="/clerk/applications/{no}"]"#))
        .await;
    s.wait_text("#timeline", "账本 #1").await;
    desk.decide(&no, Outcome::Granted);
    s.goto(&format!("{base}/clerk/applications/{no}")).await;
    s.wait_text("#outcome", "准予").await;
    assert!(s.text("#licence-no").await.starts_with("JY"));
    shot(&mut s, "09-detail-granted.png").await;

    // The e-licence file downloads.
    let download = s
        .js(
            "return fetch(arguments[0]).then(r => r.text().then(t => [r.status, r.headers.get('content-disposition'), t]));",
            json!([format!("/clerk/applications/{no}/licence")]),
        )
        .await;
    assert_eq!(download[0], json!(200));
    assert!(download[1]
        .as_str()
        .unwrap()
        .contains("JY23101160000019.ofd"));
    assert!(download[2].as_str().unwrap().contains("e-licence"));

    // Handed over: into the ledger, shown on the page.
    s.click("#handover").await;
    let done = s.wait_text("#handed-over", "张丽").await;
    assert!(done.contains("账本 #"), "{done}");
    let detail = desk.detail(&no).unwrap();
    assert_eq!(detail.handed_over.unwrap().clerk, "张丽");
    assert_eq!(detail.summary.state, State::HandedOver(Outcome::Granted));
    s.wait_text("h1", "已送达").await;
    shot(&mut s, "10-detail-handed-over.png").await;
    s.quit().await;
}
