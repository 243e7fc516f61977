//! End to end in headless Chromium against the real gateway (both sandbox platforms on
//! loopback, the page on the gateway's HTTPS listener): a clerk of the 金山区廊下镇 window signs
//! in, fills a food licence application for a shop in 平湖 with the keyboard and a scanner's
//! Enter, sees the live check reject a mistyped USCC, attaches materials by file input and by
//! drag and drop, reviews and submits, prints the receipt, follows the application until
//! Zhejiang's sandbox grants it, downloads the licence and hands it over; the HANDED_OVER
//! entry is then read back from the ledger. Screenshots of the main pages go to
//! `target/screenshots/`.
//!
//! Then what issue 16 asked of the page: a server's refusal shown under its field and
//! cleared when the field is fixed; a session that ends mid-form, a sign-in on the form
//! itself and a submission with nothing retyped; the receipt's QR code decoded and followed
//! to the applicant's status page; and every page at phone (390 px) and desk (1366 px)
//! width, checked for sideways overflow, with keyboard focus and the receipt printed on one
//! A4 page. Those screenshots go to `target/screenshots/pages/`.

use std::path::PathBuf;

use base64::Engine as _;
use chrono::{Days, FixedOffset, Utc};
use serde_json::json;
use tongban::demo::sandbox::Received;
use tongban::demo::SAMPLE_SH_APPLICATION;
use tongban::gateway::calendar::Calendar;
use tongban::model::Outcome;
use tongban::platform::Platform;
use tongban::web::{Desk, State};

use super::webdriver::{Driver, Session, ENTER, TAB};
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

/// One browser test at a time: each runs a gateway, both sandboxes and a Chromium, and the
/// machine has two cores.
static BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clerk_accepts_follows_and_hands_over_in_chromium() {
    let _one = BROWSER.lock().await;
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
    // Each file is read and hashed asynchronously: the first listed before the second comes.
    s.wait(
        "document.querySelectorAll('#materials tbody tr').length === 1",
        "the first material listed",
    )
    .await;
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

/// Phone (an iPhone's 390 CSS pixels) and desk widths.
const WIDTHS: [u32; 2] = [390, 1366];

/// Personal data the form below types, which the applicant's status page never shows.
const PERSONAL: [&str; 5] = [
    "310116199203041217",
    "330482198805173021",
    "13812345678",
    "13905731234",
    "陆佳怡",
];

fn page_shots() -> PathBuf {
    let dir = screenshots().join("pages");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Whether `message` is Chinese: CJK characters and no English sentence (three or more
/// ASCII words).
fn is_chinese(message: &str) -> bool {
    let cjk = message
        .chars()
        .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    let english_words = message
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| w.len() >= 2)
        .count();
    cjk && english_words < 3
}

/// The page as it is now, at `width`: no sideways scrolling, then a screenshot of the whole
/// page to `pages/<name>-<width>.png`.
async fn at_width(s: &mut Session, name: &str, width: u32) {
    s.viewport(width, 900).await;
    let sizes = s
        .js(
            "return [document.documentElement.scrollWidth, window.innerWidth, \
             document.documentElement.scrollHeight];",
            json!([]),
        )
        .await;
    let (scroll, inner) = (sizes[0].as_u64().unwrap(), sizes[1].as_u64().unwrap());
    assert_eq!(inner, u64::from(width), "{name}: the viewport");
    assert!(
        scroll <= inner,
        "{name} at {width} px overflows sideways: {scroll} px wide"
    );
    let height = sizes[2].as_u64().unwrap().max(600) as u32;
    s.viewport(width, height).await;
    s.screenshot(&page_shots().join(format!("{name}-{width}.png")))
        .await;
    s.viewport(width, 900).await;
}

/// [`at_width`] at both widths.
async fn both_widths(s: &mut Session, name: &str) {
    for width in WIDTHS {
        at_width(s, name, width).await;
    }
}

/// Fills the whole intake form for a food shop in 平湖, with `area` as the premises' area,
/// and attaches one material.
async fn fill_intake(s: &mut Session, area: &str) {
    s.js(
        "const set = (n, v) => { const el = document.querySelector('[name=\"' + n + '\"]'); \
           el.value = v; el.dispatchEvent(new Event('input', {bubbles: true})); };\
         for (const [n, v] of arguments[0]) set(n, v);\
         for (const item of ['热食类食品制售', '自制饮品制售']) \
           document.querySelector('input[name=\"spjy.jyxm\"][value=\"' + item + '\"]').checked = true;",
        json!([[
            ["sqr.xm", "陆佳怡"],
            ["sqr.zjhm", "310116199203041217"],
            ["sqr.sjhm", "13812345678"],
            ["jyz.mc", "平湖市广陈镇阿怡面馆"],
            ["jyz.tyshxydm", PINGHU_OPERATOR],
            ["jyz.fddbr.xm", "陆佳怡"],
            ["jyz.fddbr.zjhm", "310116199203041217"],
            ["jyz.zs", "上海市金山区廊下镇景乐路228号"],
            ["jycs.xzqh", "330482"],
            ["jycs.xxdz", "浙江省嘉兴市平湖市广陈镇山塘村山塘路18号"],
            ["jycs.mj", area],
            ["spjy.spaqgly.xm", "张伟"],
            ["spjy.spaqgly.zjhm", "330482198805173021"],
            ["spjy.spaqgly.sjhm", "13905731234"],
            ["mbqy", "330482"],
            ["spjg", "平湖市市场监督管理局"],
        ]]),
    )
    .await;
    let pdf = base64::engine::general_purpose::STANDARD.encode(b"%PDF-1.4 application (sample)\n");
    s.js(
        "const bytes = Uint8Array.from(atob(arguments[1]), c => c.charCodeAt(0));\
         const dt = new DataTransfer();\
         dt.items.add(new File([bytes], arguments[0], {type: 'application/pdf'}));\
         document.getElementById('drop').dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));",
        json!(["申请书.pdf", pdf]),
    )
    .await;
    s.wait(
        "document.querySelectorAll('#materials tbody tr').length === 1",
        "the material listed",
    )
    .await;
}

/// To the review step and its submit button.
async fn to_review(s: &mut Session) {
    s.click("#to-review").await;
    s.wait(
        "!document.getElementById('review').hidden",
        "the review step",
    )
    .await;
}

/// The text of the one QR code in the PNG `image`.
fn decode_qr(image: &[u8]) -> String {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(image));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("a frame size")];
    let info = reader.next_frame(&mut buf).expect("a frame");
    let (w, h) = (info.width as usize, info.height as usize);
    let channels = info.color_type.samples();
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
        let p = &buf[y * info.line_size + x * channels..];
        if channels >= 3 {
            ((u16::from(p[0]) + u16::from(p[1]) + u16::from(p[2])) / 3) as u8
        } else {
            p[0]
        }
    });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the image");
    grids[0].decode().expect("a readable QR code").1
}

async fn sign_in_as_wangmin(s: &mut Session, base: &str) {
    s.goto(&format!("{base}/clerk/login")).await;
    s.type_in(&field("username"), "wangmin").await;
    s.type_in(&field("password"), &format!("{PASSWORD}{ENTER}"))
        .await;
    s.wait_text("h1", "工作台").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_an_ended_session_and_the_receipts_qr_code_in_chromium() {
    let _one = BROWSER.lock().await;
    let driver = Driver::start().await;
    let (_dir, lb) = start().await;
    let base = format!("https://localhost:{}", lb.web_addr.unwrap().port());
    let profile = tempfile::tempdir().unwrap();
    let mut s = driver.session(profile.path()).await;
    sign_in_as_wangmin(&mut s, &base).await;
    s.goto(&format!("{base}/clerk/new")).await;
    s.find("#intake").await;

    // An area finer than the platform's two decimals: only the server knows; its refusal
    // goes under 面积, named by the field's label, never an empty label before a colon.
    fill_intake(&mut s, "45.555").await;
    to_review(&mut s).await;
    s.click("#submit").await;
    let area = r#"[data-field="jycs.mj"]"#;
    s.wait(
        &format!(
            "document.querySelector('{area}').classList.contains('bad') && \
             !document.getElementById('problems').hidden"
        ),
        "the refusal under 面积",
    )
    .await;
    let message = s.text(&format!("{area} .msg")).await;
    assert!(!message.is_empty());
    let items = s
        .js(
            "return [...document.querySelectorAll('#problems li')].map(li => li.textContent);",
            json!([]),
        )
        .await;
    let items: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap())
        .collect();
    assert_eq!(items, [format!("面积：{message}")], "{items:?}");
    // The catalogue's Chinese text, not an English sentence inside the Chinese page.
    assert!(is_chinese(&message), "not Chinese: {message}");
    // The form is still filled in, as typed.
    assert_eq!(
        s.js(
            "return document.querySelector('[name=\"sqr.zjhm\"]').value;",
            json!([])
        )
        .await,
        json!("310116199203041217")
    );
    s.js(
        "document.querySelector(arguments[0]).scrollIntoView({block: 'center'});",
        json!([area]),
    )
    .await;
    both_widths(&mut s, "intake-refused").await;

    // Fixing the field clears the refusal at once.
    s.clear(&field("jycs.mj")).await;
    s.type_in(&field("jycs.mj"), "45.55").await;
    s.wait(
        &format!(
            "!document.querySelector('{area}').classList.contains('bad') && \
             document.querySelector('{area} .msg').textContent === '' && \
             document.getElementById('problems').hidden"
        ),
        "the refusal cleared",
    )
    .await;

    // The session ends while the clerk reviews: the submission asks for the password on
    // the page itself; after it, submitting again goes through with nothing retyped.
    to_review(&mut s).await;
    s.delete_cookie("tongban_clerk").await;
    s.click("#submit").await;
    s.wait(
        "document.getElementById('signin').open",
        "the sign-in dialog",
    )
    .await;
    assert!(s.text("#review-note").await.contains("填写的内容都保留"));
    both_widths(&mut s, "intake-signin-again").await;
    s.type_in(
        "#signin-form [name=\"password\"]",
        &format!("{PASSWORD}{ENTER}"),
    )
    .await;
    s.wait(
        "!document.getElementById('signin').open",
        "the dialog closed",
    )
    .await;
    assert!(s.text("#review-note").await.contains("已重新登录"));
    // And a token gone stale meanwhile (a sign-in in another tab) is renewed by the page.
    s.js(
        "document.querySelector('meta[name=\"csrf\"]').content = 'stale';",
        json!([]),
    )
    .await;
    s.click("#submit").await;
    s.wait("location.pathname.endsWith('/receipt')", "the receipt page")
        .await;
    let no = s.text("#receipt-gateway-no").await;
    assert!(s.text(".receipt").await.contains("陆佳怡"));

    // The receipt's QR code leads to the applicant's status page, on the page listener.
    let link = s.text("#status-link").await;
    assert!(
        link.starts_with(&format!("{base}/s/{no}-")),
        "{link} is not a status link of {base}"
    );
    // As it is on the page (36 mm), in view.
    s.js(
        "document.querySelector('.qr svg').scrollIntoView({block: 'center'});",
        json!([]),
    )
    .await;
    let qr = s.element_png(".qr svg").await;
    std::fs::write(page_shots().join("receipt-qr.png"), &qr).unwrap();
    let decoded = decode_qr(&qr);
    assert_eq!(decoded, link);
    s.goto(&decoded).await;
    s.wait_text("#status-sentence", "").await;
    let page = s.text("main").await;
    assert!(
        page.contains("已受理") || page.contains("已转送"),
        "the state on {page}"
    );
    for expected in ["食品经营许可（新办）", "陆*怡", "平湖市市场监督管理局", &no]
    {
        assert!(page.contains(expected), "{expected} on {page}");
    }
    let html = s
        .js("return document.documentElement.outerHTML;", json!([]))
        .await;
    let html = html.as_str().unwrap();
    for personal in PERSONAL.iter().chain(&["王敏"]) {
        assert!(!html.contains(personal), "{personal} on the status page");
    }

    // A wrong token is a plain 404 that does not say whether the number exists.
    let wrong = s
        .js(
            "return Promise.all(arguments[0].map(u => fetch(u).then(r => r.text().then(t => [r.status, t]))));",
            json!([[
                format!("/s/{no}-{}", "A".repeat(26)),
                format!("/s/{no}"),
                format!("/s/TB209912310000000001-{}", "A".repeat(26)),
            ]]),
        )
        .await;
    let wrong = wrong.as_array().unwrap();
    for answer in wrong {
        assert_eq!(answer[0], json!(404), "{answer}");
        assert!(!answer[1].as_str().unwrap().contains(&no));
        assert_eq!(answer[1], wrong[0][1], "the same page for every wrong link");
    }
    s.quit().await;
    lb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_at_phone_and_desk_width_in_chromium() {
    let _one = BROWSER.lock().await;
    let driver = Driver::start().await;
    let (_dir, lb) = start().await;
    let desk = desk(&lb);
    let base = format!("https://localhost:{}", lb.web_addr.unwrap().port());

    // Two applications of the window: one granted, one still with Zhejiang.
    let open = desk
        .submit(
            Platform::Shanghai,
            earlier_application(11, "平湖市当湖街道阿强小吃店", today()),
        )
        .await
        .unwrap();
    let granted = desk
        .submit(
            Platform::Shanghai,
            earlier_application(12, "平湖市广陈镇山塘村阿怡面馆（山塘路十八号店）", today()),
        )
        .await
        .unwrap();
    for no in [&open.gateway_no, &granted.gateway_no] {
        wait_forwarded(&lb, no).await;
    }
    lb.zj
        .decide(&granted.gateway_no, Outcome::Granted)
        .await
        .unwrap();
    wait_decided(&lb, &granted.gateway_no).await;
    let no = &granted.gateway_no;

    let profile = tempfile::tempdir().unwrap();
    let mut s = driver.session(profile.path()).await;
    s.goto(&format!("{base}/clerk/login")).await;
    both_widths(&mut s, "login").await;
    // Keyboard: from the user name, Tab reaches the sign-in button, its focus visible.
    s.viewport(1366, 900).await;
    s.click(&field("username")).await;
    s.press(TAB).await;
    s.press(TAB).await;
    let focus = s
        .js(
            "const el = document.activeElement; const st = getComputedStyle(el); \
             return [el.tagName, el.type, st.outlineStyle, parseFloat(st.outlineWidth)];",
            json!([]),
        )
        .await;
    assert_eq!(
        (&focus[0], &focus[1]),
        (&json!("BUTTON"), &json!("submit")),
        "{focus}"
    );
    assert!(
        focus[2] != json!("none") && focus[3].as_f64().unwrap() >= 2.0,
        "focus visible: {focus}"
    );

    sign_in_as_wangmin(&mut s, &base).await;
    s.goto(&format!("{base}/clerk/applications")).await;
    s.wait_text("table.list", no).await;
    both_widths(&mut s, "worklist").await;
    // At phone width the header's words stay whole: two lines at most.
    s.viewport(390, 900).await;
    let header = s
        .js(
            "return [document.querySelector('.top .brand').getBoundingClientRect().height, \
             document.querySelector('.top').getBoundingClientRect().height, \
             parseFloat(getComputedStyle(document.querySelector('.top .brand')).lineHeight)];",
            json!([]),
        )
        .await;
    let (brand, top, line) = (
        header[0].as_f64().unwrap(),
        header[1].as_f64().unwrap(),
        header[2].as_f64().unwrap(),
    );
    assert!(brand < 1.5 * line, "the brand on one line: {header}");
    assert!(top < 100.0, "the header at most two lines: {header}");

    s.goto(&format!("{base}/clerk/new")).await;
    s.find("#intake").await;
    both_widths(&mut s, "intake").await;
    // Keyboard: Tab goes through the form to its button, focus visible all the way.
    s.viewport(1366, 900).await;
    s.goto(&format!("{base}/clerk/new")).await;
    s.find("#intake").await;
    let mut reached = false;
    for _ in 0..120 {
        s.press(TAB).await;
        let at = s
            .js(
                "const el = document.activeElement; const st = getComputedStyle(el); \
                 return [el.id, st.outlineStyle !== 'none' && parseFloat(st.outlineWidth) >= 2];",
                json!([]),
            )
            .await;
        if at[0] == json!("to-review") {
            assert_eq!(at[1], json!(true), "the button's focus is visible");
            reached = true;
            break;
        }
    }
    assert!(reached, "Tab reaches 核对信息");

    s.goto(&format!("{base}/clerk/applications/{no}")).await;
    s.wait_text("#outcome", "准予").await;
    both_widths(&mut s, "detail").await;

    s.goto(&format!("{base}/clerk/applications/{no}/receipt"))
        .await;
    s.find(".qr svg").await;
    both_widths(&mut s, "receipt").await;
    let link = s.text("#status-link").await;
    // Printed: one A4 page, even with ten materials (the application's two rows copied as a
    // longer application would list them; fourteen still fit when this was written).
    s.js(
        "const body = document.querySelector('.receipt table.materials tbody'); \
         const rows = [...body.rows]; \
         for (let i = 0; body.rows.length < 10; i++) body.appendChild(rows[i % rows.length].cloneNode(true));",
        json!([]),
    )
    .await;
    s.viewport(1366, 900).await;
    s.cdp("Emulation.setEmulatedMedia", json!({"media": "print"}))
        .await;
    let pdf = s.print_pdf().await;
    s.cdp("Emulation.setEmulatedMedia", json!({"media": ""}))
        .await;
    // The page tree's count (Chromium writes it in clear: `/Type /Pages\n/Count n`).
    let text = String::from_utf8_lossy(&pdf);
    let tree = &text[text.find("/Type /Pages").expect("a page tree")..];
    let pages: u32 = tree[tree.find("/Count ").expect("a page count") + 7..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a number of pages");
    std::fs::write(page_shots().join("receipt-print.pdf"), &pdf).unwrap();
    assert_eq!(pages, 1, "the receipt prints on one A4 page");

    s.goto(&format!("{base}/clerk/no-such-page")).await;
    both_widths(&mut s, "clerk-not-found").await;

    // The applicant's status page, decided: what to bring, and where.
    s.goto(&link).await;
    let collect = s.wait_text("#collect", "身份证件原件").await;
    assert!(
        collect.contains("本受理回执") && collect.contains(LANGXIA.0),
        "{collect}"
    );
    assert!(s.text("#status-sentence").await.contains("可以领取"));
    both_widths(&mut s, "status").await;
    s.goto(&format!("{base}/s/{no}-{}", "A".repeat(26))).await;
    s.wait_text("h1", "页面不存在").await;
    both_widths(&mut s, "status-not-found").await;
    s.quit().await;
    lb.stop().await;
}
