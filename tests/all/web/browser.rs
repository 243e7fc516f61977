//! End to end in headless Chromium against the real gateway (both sandbox platforms on
//! loopback, the page on the gateway's HTTPS listener): a clerk of the 金山区廊下镇 window signs
//! in, fills a food licence application for a shop in 平湖 with the keyboard and a scanner's
//! Enter, sees the live check reject a mistyped USCC, attaches materials by file input and by
//! drag and drop, reviews and submits, prints the receipt, follows the application until
//! Zhejiang's sandbox grants it, downloads the licence and hands it over; the HANDED_OVER
//! entry is then read back from the ledger. Screenshots of the main pages go to
//! `target/screenshots/`.

use std::path::PathBuf;

use base64::Engine as _;
use chrono::{Days, FixedOffset, Utc};
use serde_json::json;
use tongban::gateway::calendar::Calendar;
use tongban::gateway::demo::SAMPLE_SH_APPLICATION;
use tongban::gateway::sandbox::Received;
use tongban::model::Outcome;
use tongban::platform::Platform;
use tongban::web::{Desk, State};

use super::webdriver::{Driver, Session, ENTER};
use super::{LANGXIA, PASSWORD};
use crate::desk::{desk, ledger_entries, start, wait_decided, wait_forwarded};
use crate::wait_for;

/// The 平湖 operator's USCC (the shared sample's) and the same with its check character
/// mistyped.
const PINGHU_OPERATOR: &str = "92330482MA2JD0C80D";
const PINGHU_OPERATOR_WRONG: &str = "92330482MA2JD0C80E";

/// Today in Beijing, as the window counts it.
fn today() -> chrono::NaiveDate {
    Utc::now()
        .with_timezone(&FixedOffset::east_opt(8 * 3600).unwrap())
        .date_naive()
}

/// An earlier application of the 廊下 window, as Shanghai's platform carries it: the shared
/// sample with its own number, operator and acceptance day.
fn earlier_application(n: u32, operator: &str, accepted: chrono::NaiveDate) -> Vec<u8> {
    String::from_utf8_lossy(SAMPLE_SH_APPLICATION)
        .replace("SH-JS-LX-20261120-0007", &format!("SH-JS-LX-EARLIER-{n}"))
        .replace("平湖市广陈镇阿怡面馆", operator)
        .replace(
            "2026-11-20T09:30:00+08:00",
            &format!("{accepted}T10:05:00+08:00"),
        )
        .into_bytes()
}

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
    let (_dir, lb) = start().await;
    let desk = desk(&lb);
    let gw = lb.gateway().unwrap().clone();
    let base = format!("https://localhost:{}", lb.web_addr.unwrap().port());
    let calendar = Calendar::official_2026();

    // Earlier applications of the window, through Shanghai's format: one still with Zhejiang
    // long past its deadline, one refused.
    let long_ago = today().checked_sub_days(Days::new(60)).unwrap();
    let overdue = desk
        .submit(
            Platform::Shanghai,
            earlier_application(1, "平湖市当湖街道阿强小吃店", long_ago),
        )
        .await
        .unwrap();
    let refused = desk
        .submit(
            Platform::Shanghai,
            earlier_application(
                2,
                "平湖市乍浦镇丰味面馆",
                today().checked_sub_days(Days::new(20)).unwrap(),
            ),
        )
        .await
        .unwrap();
    for no in [&overdue.gateway_no, &refused.gateway_no] {
        wait_forwarded(&lb, no).await;
    }
    lb.zj
        .decide(&refused.gateway_no, Outcome::Refused)
        .await
        .unwrap();
    wait_decided(&lb, &refused.gateway_no).await;
    let overdue_days = -calendar.working_days_left(today(), overdue.deadline);
    assert!(overdue_days > 0, "{overdue:?}");

    let profile = tempfile::tempdir().unwrap();
    let mut s = driver.session(profile.path()).await;

    // Sign in: any page sends an unsigned clerk to the sign-in form.
    s.goto(&format!("{base}/clerk/applications")).await;
    assert!(s.url().await.ends_with("/clerk/login"));
    shot(&mut s, "01-login.png").await;
    s.type_in(&field("username"), "wangmin").await;
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
    s.type_in(&field("jyz.mc"), "平湖市广陈镇阿怡面馆").await;

    // The live check rejects a mistyped USCC with the checker's own words.
    s.type_in(&field("jyz.tyshxydm"), PINGHU_OPERATOR_WRONG)
        .await;
    let msg = s
        .wait_text(r#"[data-field="jyz.tyshxydm"].bad .msg"#, "应为“D”")
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
    s.type_in(&field("jyz.tyshxydm"), PINGHU_OPERATOR).await;
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
    s.type_in(&field("jycs.xzqh"), &format!("330482{ENTER}"))
        .await;
    s.wait_text(r#"[data-field="jycs.xzqh"] .msg"#, "浙江省嘉兴市平湖市")
        .await;
    s.wait(
        r#"document.querySelector('[name="spjg"]').value === "平湖市市场监督管理局" && document.querySelector('[name="mbqy"]').value === "330482""#,
        "the target suggested from the premises",
    )
    .await;
    s.type_in(
        &field("jycs.xxdz"),
        "浙江省嘉兴市平湖市广陈镇山塘村山塘路18号",
    )
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

    // Review, then submit through the pipeline, in Shanghai's format.
    s.click("#to-review").await;
    s.wait(
        "!document.getElementById('review').hidden",
        "the review step",
    )
    .await;
    let review = s.text("#review-body").await;
    for expected in [
        PINGHU_OPERATOR,
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
    let rec = gw.store.get(&no).unwrap().expect("recorded by the gateway");
    assert_eq!(
        (rec.source.as_str(), rec.destination.as_str()),
        ("sh", "zj"),
        "accepted from Shanghai's side, decided in Zhejiang"
    );
    assert_eq!(rec.office_uscc, LANGXIA.1);
    let received_index = rec.received_index.unwrap();
    let receipt = s.text(".receipt").await;
    for expected in [
        "食品经营许可（新办）",
        "申请书.pdf",
        "租赁合同.pdf",
        "王敏",
        "平湖市市场监督管理局",
        &format!("#{received_index}"),
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

    // The work list shows it, with its state and deadline; overdue in red; search finds it.
    wait_forwarded(&lb, &no).await;
    s.goto(&format!("{base}/clerk/applications")).await;
    s.wait_text("table.list", &no).await;
    let row = s.text("tr.row-overdue").await;
    assert!(
        row.contains(&overdue.gateway_no) && row.contains(&format!("超期 {overdue_days} 个工作日")),
        "{row}"
    );
    assert_eq!(
        s.js(
            "return getComputedStyle(document.querySelector('tr.row-overdue .overdue')).color;",
            json!([])
        )
        .await,
        json!("rgb(180, 35, 24)")
    );
    let rows = s.text("table.list tbody").await;
    assert!(
        rows.contains(&refused.gateway_no) && rows.contains("不予"),
        "{rows}"
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
    assert!(
        rows.contains(&overdue.gateway_no) && !rows.contains(&no),
        "{rows}"
    );
    s.goto(&format!("{base}/clerk/applications")).await;
    s.type_in("#q", &format!("阿怡{ENTER}")).await;
    s.wait("location.search.indexOf('q=') >= 0", "the search")
        .await;
    let row = s.wait_text("table.list tbody", &no).await;
    // Accepted today: all of the food licence's 10 working days are left.
    assert!(
        row.contains("已转送") && row.contains("剩 10 个工作日"),
        "{row}"
    );
    assert!(!row.contains("阿强"), "the search keeps only matching rows");

    // The application's page; Zhejiang's sandbox grants it, and the page shows it.
    s.click(&format!(r#"a[href="/clerk/applications/{no}"]"#))
        .await;
    s.wait_text("#timeline", &format!("账本 #{received_index}"))
        .await;
    lb.zj.decide(&no, Outcome::Granted).await.unwrap();
    let detail_url = format!("{base}/clerk/applications/{no}");
    let granted = "document.getElementById('outcome') && document.getElementById('outcome').innerText === '准予'";
    let mut polls = 0;
    loop {
        s.goto(&detail_url).await;
        if s.js(&format!("return !!({granted});"), json!([])).await == json!(true) {
            break;
        }
        polls += 1;
        assert!(polls < 100, "the decision never reached the page");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let licence_no = s.text("#licence-no").await;
    assert!(licence_no.starts_with("JY"), "{licence_no}");
    s.wait_text("#timeline", "收到审批结果：准予").await;
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
        .contains(&format!("{licence_no}.pdf")));
    assert!(download[2]
        .as_str()
        .unwrap()
        .contains("tongban sandbox licence"));

    // Handed over: into the ledger, shown on the page.
    s.click("#handover").await;
    let done = s.wait_text("#handed-over", "王敏").await;
    s.wait_text("h1", "已送达").await;
    let detail = desk.application(LANGXIA.1, &no).await.unwrap().unwrap();
    assert_eq!(detail.summary.state, State::HandedOver(Outcome::Granted));
    let handed = detail.handed_over.unwrap();
    assert!(
        done.contains(&format!("账本 #{}", handed.ledger_index)),
        "{done}"
    );
    shot(&mut s, "10-detail-handed-over.png").await;
    s.quit().await;

    // The ledger holds the hand-over (naming no one), and Shanghai's platform got the decision.
    let entries = ledger_entries(&lb, &no).await;
    let steps: Vec<&str> = entries
        .iter()
        .map(|e| e["entry"]["step"].as_str().unwrap())
        .collect();
    assert!(
        steps.starts_with(&["received", "forwarded", "decided"]) && steps.contains(&"handed_over"),
        "{steps:?}"
    );
    let entry = entries
        .iter()
        .find(|e| e["entry"]["step"] == "handed_over")
        .unwrap();
    assert_eq!(entry["index"].as_u64(), Some(handed.ledger_index));
    assert_eq!(
        entry["entry"]["decision"]["licence_no"],
        licence_no.as_str()
    );
    assert!(!entry.to_string().contains("王敏"));
    wait_for("the decision at Shanghai's platform", || {
        lb.sh.received().iter().any(|r| {
            matches!(r, Received::Decision { number, outcome }
                if *number == rec.source_no && outcome == "granted")
        })
    })
    .await;
    lb.stop().await;
}
