use super::*;
use crate::model::{Base64Content, Lang, Message, Problem, Severity, Sha256Digest};

const SAMPLE_APPLY: &str = include_str!("../../../conformance/sh/ok_sample_application.xml");
const SAMPLE_DECISION: &str =
    include_str!("../../../conformance/sh/ok_sample_decision_granted.xml");

fn sample_application() -> crate::model::Application {
    match read(SAMPLE_APPLY.as_bytes()).unwrap().document {
        Document::Application(a) => *a,
        Document::Decision(_) => panic!("the sample is an application"),
    }
}

fn sample_decision() -> crate::model::Decision {
    match read(SAMPLE_DECISION.as_bytes()).unwrap().document {
        Document::Decision(d) => *d,
        Document::Application(_) => panic!("the sample is a decision"),
    }
}

fn errors(bytes: &[u8]) -> Vec<Problem> {
    read(bytes)
        .expect_err("must be refused")
        .into_iter()
        .collect()
}

#[test]
fn the_samples_are_written_back_byte_for_byte() {
    for sample in [SAMPLE_APPLY, SAMPLE_DECISION] {
        let r = read(sample.as_bytes()).unwrap();
        assert!(r.warnings.is_empty(), "{}", r.warnings);
        let w = write(&r.document);
        assert!(w.warnings.is_empty(), "{}", w.warnings);
        assert_eq!(String::from_utf8(w.bytes).unwrap(), sample);
    }
}

#[test]
fn the_sample_reads_into_the_model() {
    let a = sample_application();
    assert_eq!(a.item.key(), "food-new");
    assert_eq!(
        a.operator.registered_capital,
        Some(crate::model::Fen(10_000_000))
    );
    assert_eq!(a.premises.area.0, 4550);
    assert_eq!(a.food.as_ref().unwrap().items.len(), 2);
    assert_eq!(a.materials[1].code.sh(), "03");
    assert_eq!(a.target.region.code(), 330482);
    let d = sample_decision();
    assert_eq!(d.outcome, crate::model::Outcome::Granted);
    assert_eq!(d.outcome_note, None);
    assert_eq!(d.licence.unwrap().number, "JY23304820000011");
}

#[test]
fn the_result_text_is_the_outcome_note_both_ways() {
    let doc = SAMPLE_DECISION.replace(
        "<Result code=\"GRANTED\"/>",
        "<Result code=\"GRANTED\">准予 &amp; 发证</Result>",
    );
    let d = read(doc.as_bytes()).unwrap().document;
    let Document::Decision(d) = &d else {
        panic!("a decision")
    };
    assert_eq!(d.outcome_note.as_deref(), Some("准予 & 发证"));
    let w = write(&Document::Decision(d.clone()));
    assert!(String::from_utf8(w.bytes)
        .unwrap()
        .contains("<Result code=\"GRANTED\">准予 &amp; 发证</Result>"));
}

#[test]
fn gb18030_four_byte_characters_survive() {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/conformance/sh/ok_gb18030_four_byte_rare_character.xml"
    ))
    .unwrap();
    let bytes = bytes.as_slice();
    assert!(
        std::str::from_utf8(bytes).is_err(),
        "the case must really be GB18030"
    );
    let Document::Application(a) = read(bytes).unwrap().document else {
        panic!("an application")
    };
    assert_eq!(a.applicant.name, "吉\u{20BB7}怡");
    assert_eq!(a.operator.name, "平湖市广陈镇\u{20BB7}记面馆");
    let w = write(&Document::Application(a));
    assert!(String::from_utf8(w.bytes)
        .unwrap()
        .contains("<Name>吉𠮷怡</Name>"));
}

#[test]
fn encodings_other_than_utf8_and_gb18030_are_refused() {
    for decl in ["ISO-8859-1", "GBK", "UTF-16", "Big5"] {
        let doc = SAMPLE_APPLY.replace("encoding=\"UTF-8\"", &format!("encoding=\"{decl}\""));
        let found = errors(doc.as_bytes());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].path, "/");
        assert!(
            found[0].message.to_string().contains(decl),
            "{}",
            found[0].message
        );
    }
    let gb = SAMPLE_APPLY.replace("encoding=\"UTF-8\"", "encoding=\"gb18030\"");
    let (bytes, _, _) = encoding_rs::GB18030.encode(&gb);
    assert!(read(&bytes).is_ok());
    let found = errors(b"\xFF\xFE<\x00R\x00");
    assert!(found[0].message.to_string().contains("UTF-16"));
}

#[test]
fn malformed_xml_and_wrong_roots_are_refused_at_the_document() {
    for (doc, why) in [
        ("", "no root element"),
        (
            "<RemoteApply xmlns=\"urn:sh-ywtb:remote-accept:1.3\">",
            "ends before",
        ),
        (
            "<RemoteApply xmlns=\"urn:sh-ywtb:remote-accept:1.3\"></Other>",
            "not well-formed",
        ),
        ("<Other/>", "RemoteApply or RemoteDecision"),
        ("<a/><b/>", "after the root"),
    ] {
        let found = errors(doc.as_bytes());
        assert!(
            found.iter().any(|p| p.message.to_string().contains(why)),
            "{doc}: {found:?}"
        );
    }
    let deep = format!("{}{}", "<a>".repeat(100), "</a>".repeat(100));
    assert!(errors(deep.as_bytes())
        .iter()
        .any(|p| p.message.to_string().contains("nested more than")));
}

#[test]
fn non_resident_id_numbers_keep_their_case_and_resident_ids_get_uppercase_x() {
    let doc = SAMPLE_APPLY.replacen(
        "<IdType>01</IdType>\n    <IdNumber>310116199203041217</IdNumber>",
        "<IdType>03</IdType>\n    <IdNumber>e1234567a</IdNumber>",
        1,
    );
    let r = read(doc.as_bytes()).unwrap();
    let text = String::from_utf8(write(&r.document).bytes).unwrap();
    assert!(text.contains("<IdNumber>e1234567a</IdNumber>"), "{text}");
    let x = "11010519491231002x";
    let doc = SAMPLE_APPLY.replace("310116199203041217", x);
    let r = read(doc.as_bytes()).unwrap();
    let text = String::from_utf8(write(&r.document).bytes).unwrap();
    assert!(text.contains("<IdNumber>11010519491231002X</IdNumber>"));
}

#[test]
fn times_need_an_offset_and_keep_the_instant() {
    let beijing = read::time("2026-11-20T09:30:00+08:00").unwrap();
    assert_eq!(read::time("2026-11-20T01:30:00Z").unwrap(), beijing);
    assert_eq!(read::time("2026-11-20T10:30:00+09:00").unwrap(), beijing);
    assert_eq!(read::time("2026-11-19T20:30:00-05:00").unwrap(), beijing);
    assert_eq!(
        read::time("2026-11-20T09:30:00.000+08:00").unwrap(),
        beijing
    );
    assert_eq!(
        write::format_time(&read::time("2026-11-20T01:30:00Z").unwrap()),
        "2026-11-20T09:30:00+08:00"
    );
    let cases = [
        ("2026-11-20T09:30:00", "no offset"),
        ("2026-11-20T09:30:00.5+08:00", "fractional seconds"),
        ("2026-11-20 09:30:00+08:00", "not a time"),
        ("2026-02-30T09:30:00+08:00", "calendar date"),
        ("2026-11-20T24:30:00+08:00", "time of day"),
        ("2026-11-20T09:30:00+0800", "unreadable offset"),
        ("2026-11-20T09:30:00+24:00", "impossible offset"),
    ];
    for (s, why) in cases {
        let e = read::time(s).unwrap_err().to_string();
        assert!(e.contains(why), "{s}: {e}");
    }
}

#[test]
fn money_and_area_have_exactly_two_decimals_and_are_never_rounded() {
    assert_eq!(read::yuan("500000.00").unwrap().0, 50_000_000);
    assert_eq!(read::yuan("0.01").unwrap().0, 1);
    let e = read::yuan("100.005").unwrap_err().to_string();
    assert!(
        e.contains("3 fraction digits") && e.contains("not rounded"),
        "{e}"
    );
    for bad in ["100", "100.5", "-1.00", "1,000.00", "１.00", "1.00 "] {
        assert!(read::yuan(bad).is_err(), "{bad}");
    }
}

#[test]
fn mobiles_lose_country_code_spaces_and_dashes() {
    for s in [
        "13812345678",
        "+86 138-1234-5678",
        "+8613812345678",
        "138 1234 5678",
    ] {
        assert_eq!(read::mobile(s).unwrap().as_str(), "13812345678", "{s}");
    }
    assert!(read::mobile("１３８１２３４５６７８")
        .unwrap_err()
        .to_string()
        .contains("full-width"));
    assert!(read::mobile("+86 0571-8888888").is_err());
}

#[test]
fn digests_are_base64_sha256_only() {
    let d = Sha256Digest::of(b"x");
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, d.0);
    assert_eq!(read::digest(&b64).unwrap(), d);
    assert!(read::digest(&hex::encode(d.0))
        .unwrap_err()
        .to_string()
        .contains("hex"));
    assert!(read::digest("AAAA")
        .unwrap_err()
        .to_string()
        .contains("32 bytes"));
    assert!(read::boolean("1").is_err());
    assert!(read::date("2026-1-01").is_err());
}

#[test]
fn a_bad_document_reports_every_problem_once_with_its_path() {
    let doc = SAMPLE_APPLY
        .replace("92330482MA2JD0C80D", "92330482MA2JD0C80E")
        .replace("<Area>45.50</Area>", "<Area>45.505</Area>")
        .replace("<Clerk>王敏</Clerk>", "")
        .replace("code=\"C05\"", "code=\"C77\"")
        .replace("2026-11-20T09:30:00+08:00", "2026-11-20T09:30:00");
    let found = errors(doc.as_bytes());
    let paths: Vec<&str> = found.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/RemoteApply/Operator/Uscc",
            "/RemoteApply/Premises/Area",
            "/RemoteApply/FoodBusiness/Items/Item[2]/@code",
            "/RemoteApply/Acceptance/Clerk",
            "/RemoteApply/Acceptance/AcceptedAt",
        ],
        "{found:?}"
    );
}

#[test]
fn namespace_not_prefix_decides() {
    let prefixed = SAMPLE_APPLY
        .replace("<RemoteApply xmlns=", "<p:RemoteApply xmlns:p=")
        .replace("</RemoteApply>", "</p:RemoteApply>")
        .replace("<ApplyNo>", "<p:ApplyNo>")
        .replace("</ApplyNo>", "</p:ApplyNo>");
    // Children in the default namespace are unprefixed and not in Shanghai's namespace now.
    let found = errors(prefixed.as_bytes());
    assert!(found.iter().any(
        |p| p.path == "/RemoteApply/ItemCode" && p.message.to_string().contains("no namespace")
    ));
    assert!(!found.iter().any(|p| p.path == "/RemoteApply/ApplyNo"));
    let both = SAMPLE_APPLY.replace(
        "<RemoteApply xmlns=\"urn:sh-ywtb:remote-accept:1.3\">",
        "<q:RemoteApply xmlns:q=\"urn:sh-ywtb:remote-accept:1.3\" xmlns=\"urn:sh-ywtb:remote-accept:1.3\">",
    );
    let both = both.replace("</RemoteApply>", "</q:RemoteApply>");
    assert!(read(both.as_bytes()).is_ok());
}

#[test]
fn names_are_kept_exactly_and_escaped_on_output() {
    let mut a = sample_application();
    a.operator.name = "阿怡&阿伟 <面馆> \"总店\"\r\n𠮷".to_owned();
    a.target.authority = "平湖市\t市场监督管理局\n".to_owned();
    let doc = Document::Application(Box::new(a));
    let w = write(&doc);
    assert!(w.warnings.is_empty(), "{}", w.warnings);
    let text = String::from_utf8(w.bytes.clone()).unwrap();
    assert!(
        text.contains("阿怡&amp;阿伟 &lt;面馆&gt; \"总店\"&#13;\n𠮷"),
        "{text}"
    );
    assert!(
        text.contains("authority=\"平湖市&#9;市场监督管理局&#10;\""),
        "{text}"
    );
    assert_eq!(read(&w.bytes).unwrap().document, doc);
}

#[test]
fn characters_xml_cannot_carry_are_replaced_with_a_warning() {
    let mut a = sample_application();
    a.remark = Some("bell\u{7}".to_owned());
    let w = write(&Document::Application(Box::new(a)));
    let warnings: Vec<_> = w.warnings.iter().collect();
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].path, "/RemoteApply/Remark");
    assert!(String::from_utf8(w.bytes).unwrap().contains("bell\u{FFFD}"));
}

#[test]
fn extensions_carry_zhejiang_fields_and_report_what_cannot_go() {
    let mut a = sample_application();
    a.extensions
        .insert("~zj:jyz.lxdh".into(), "0573-1234 & co".into());
    a.extensions.insert("ywlx".into(), String::new());
    a.extensions.insert("~sh:future".into(), "x".into());
    a.extensions.insert("sh:window".into(), "{}".into());
    let w = write(&Document::Application(Box::new(a.clone())));
    assert!(w.warnings.is_empty(), "{}", w.warnings);
    let back = match read(&w.bytes).unwrap().document {
        Document::Application(b) => *b,
        Document::Decision(_) => unreachable!(),
    };
    assert_eq!(back, a);

    let mut d = sample_decision();
    d.extensions.insert("~zj:a".into(), "1".into());
    d.extensions.insert("~zj:b".into(), "2".into());
    let w = write(&Document::Decision(Box::new(d)));
    let paths: Vec<_> = w.warnings.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["~zj:a", "~zj:b"]);
    assert!(w.warnings.iter().all(|p| p.severity == Severity::Warning));
}

#[test]
fn large_attachments_are_written_without_growing_the_buffer() {
    let mut a = sample_application();
    let bytes: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let (content, sha) = Base64Content::parse(Base64Content::encode(&bytes).as_str()).unwrap();
    a.materials[0].file.content = content;
    a.materials[0].file.sha256 = sha;
    let doc = Document::Application(Box::new(a));
    let w = write(&doc);
    assert_eq!(w.bytes.capacity(), write::capacity(&doc));
    assert_eq!(write(&doc).bytes, w.bytes, "deterministic");
    assert_eq!(read(&w.bytes).unwrap().document, doc);
}

#[test]
fn replies_are_classified_by_status_then_body() {
    let (s, b) = reply_accepted("SH-R-1");
    assert_eq!(
        classify_reply(s, &b),
        Reply::Accepted {
            receipt: "SH-R-1".into()
        }
    );
    let (s, b) = reply_duplicate("SH-R-1", Lang::Zh);
    assert_eq!((s, classify_reply(s, &b)), (409, Reply::Duplicate));
    let mut p = Problems::new();
    p.error(
        "/RemoteApply/Operator/Uscc",
        Message::XmlEmpty {
            name: "<bad>".into(),
        },
    );
    p.error("/", Message::XmlNoRoot);
    let (s, b) = reply_problems(&p, Lang::En);
    assert_eq!(s, 400);
    let body = String::from_utf8(b.clone()).unwrap();
    assert!(body.contains("<Code>400</Code>"), "{body}");
    assert!(
        body.contains(
            "/RemoteApply/Operator/Uscc: &lt;&lt;bad&gt;&gt; must not be empty\n/: the document has no root element"
        ),
        "{body}"
    );
    match classify_reply(s, &b) {
        Reply::Rejected(why) => assert!(why.contains("<<bad>> must not be empty"), "{why}"),
        other => panic!("{other:?}"),
    }
    let (_, b) = reply_problems(&p, Lang::Zh);
    let body = String::from_utf8(b).unwrap();
    assert!(
        body.contains(
            "/RemoteApply/Operator/Uscc: &lt;&lt;bad&gt;&gt; 不能为空\n/: 文档没有根元素"
        ),
        "{body}"
    );
    let (s, b) = reply_error(503, &Message::GatewayInternal, Lang::Zh);
    assert!(
        matches!(classify_reply(s, &b), Reply::RetryLater(m) if m.contains("网关内部错误，请稍后重试"))
    );
    assert!(matches!(
        classify_reply(502, b"<html>bad gateway"),
        Reply::RetryLater(_)
    ));
    assert!(matches!(classify_reply(429, b""), Reply::RetryLater(_)));
    assert!(matches!(classify_reply(408, b""), Reply::RetryLater(_)));
    assert!(matches!(classify_reply(403, b""), Reply::Rejected(m) if m == "HTTP 403"));
    assert!(matches!(
        classify_reply(200, b"<Response><Code>0</Code></Response>"),
        Reply::RetryLater(_)
    ));
    assert!(matches!(
        classify_reply(200, b"not xml"),
        Reply::RetryLater(_)
    ));
    let b = b"<Response><Code>409</Code><Message>dup</Message></Response>";
    assert_eq!(classify_reply(200, b), Reply::Duplicate);
    let b = b"<Response><Code>400</Code><Message>bad</Message></Response>";
    assert!(matches!(classify_reply(200, b), Reply::Rejected(m) if m.contains("bad")));
}

#[test]
fn indentation_between_elements_is_not_content_but_text_in_a_leaf_is_kept_exactly() {
    let doc = r#"<RemoteApply xmlns="urn:sh-ywtb:remote-accept:1.3">
  <ApplyNo>A</ApplyNo>
  <Remark> a <!-- c --> b </Remark>
</RemoteApply>"#;
    let mut problems = Problems::new();
    let tree = super::xml::parse(doc, &mut problems).unwrap();
    assert!(problems.is_empty());
    assert_eq!(tree.root().text().trim(), "");
    let remark = tree.root().children().nth(1).unwrap();
    assert_eq!(remark.text(), " a  b ");
    assert_eq!(remark.path(), "/RemoteApply/Remark");
}

#[test]
fn duplicated_attributes_are_refused_with_quick_xmls_messages() {
    let target = r#"<Target region="330482" authority="平湖市市场监督管理局"/>"#;
    assert!(SAMPLE_APPLY.contains(target));
    let refused = |attrs: &str| -> Vec<String> {
        let doc = SAMPLE_APPLY.replace(target, &format!("<Target {attrs}/>"));
        errors(doc.as_bytes())
            .into_iter()
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect()
    };
    let duplicated = "/RemoteApply/Target: bad attribute: position 23: duplicated attribute, previous declaration at position 7";
    assert_eq!(
        refused(r#"region="330482" region="330483" authority="平湖市市场监督管理局""#),
        [duplicated]
    );
    // quick-xml skips a duplicated attribute's value up to the next white space.
    assert_eq!(
        refused(r#"region="330482" authority='平湖市市场监督管理局' region='3 30482'"#),
        [
            "/RemoteApply/Target: bad attribute: position 66: duplicated attribute, previous declaration at position 7",
            "/RemoteApply/Target: bad attribute: position 82: attribute key must be directly followed by `=` or space",
        ]
    );
    // The name is checked before the value.
    assert_eq!(
        refused(r#"region="330482" region=330483 authority="平湖市市场监督管理局""#),
        [duplicated]
    );
}
