//! One place decides a valid value (issue 17, finding 4), checked over generated documents:
//! the shared samples with field values replaced by arbitrary strings and numbers (rare
//! characters, control characters, MIME types, amounts, times with odd offsets, extension
//! names). Every document one adapter accepts must translate, and its translation must be
//! accepted by the other adapter.
//!
//! 64 cases per direction and document by default (a few seconds in a debug build);
//! `PROPTEST_CASES=10000 cargo test --test all property` for a longer run.

use proptest::prelude::*;
use proptest::test_runner::Config;
use tongban::platform::{self, Platform};

use super::hostile::sample;

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Characters worth trying: plain ones, the interfaces' punctuation, rare CJK (4 bytes in
/// UTF-8 and GB18030), white space of several kinds, control characters, non-characters,
/// XML and JSON specials, the gateway's prefix characters.
const CHARS: &[char] = &[
    'a', 'Z', '0', '9', '-', '.', '/', ':', '+', ' ', '~', '{', '}', '[', ']', '"', '\'', '&', '<',
    '>', '\\', '½', '陆', '𠮷', '𡃁', '\u{3000}', '\u{A0}', '\t', '\n', '\r', '\u{0}', '\u{1}',
    '\u{1F}', '\u{7F}', '\u{85}', '\u{FFFE}', '\u{FFFD}', '\u{2028}', 'T', 'Z', '=',
];

fn any_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(CHARS), 0..12).prop_map(|c| c.into_iter().collect())
}

/// Values shaped like the fields' own, nearly valid, plus arbitrary text.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any_text(),
        (0u64..10_000_000_000, 0u32..8).prop_map(|(n, d)| {
            let s = n.to_string();
            let d = (d as usize).min(s.len());
            format!("{}.{}", &s[..s.len() - d], &s[s.len() - d..])
                .trim_end_matches('.')
                .to_owned()
        }),
        (
            1900i32..2200,
            1u32..13,
            1u32..29,
            0u32..24,
            -14i32..15,
            prop::sample::select(vec![0, 30, 45])
        )
            .prop_map(|(y, mo, d, h, oh, om)| {
                let sign = if oh < 0 { '-' } else { '+' };
                format!(
                    "{y:04}-{mo:02}-{d:02}T{h:02}:15:00{sign}{:02}:{om:02}",
                    oh.abs()
                )
            }),
        (1900i32..2200, 1u32..13, 1u32..29, 0u32..24)
            .prop_map(|(y, mo, d, h)| format!("{y:04}-{mo:02}-{d:02} {h:02}:15:00")),
        prop::sample::select(vec![
            "application/pdf",
            "applicat½/pdf",
            "image/png",
            "a/b",
            "/",
            "text/plain; charset=utf-8",
            "application/ofd",
        ])
        .prop_map(str::to_owned),
        prop::sample::select(vec!["1", "0", "true", "false", "{}", "[]", "null", "", " "])
            .prop_map(str::to_owned),
    ]
}

/// Zhejiang fields (as JSON pointers) whose values are replaced.
const ZJ_FIELDS: &[&str] = &[
    "/sqbh",
    "/sqr/xm",
    "/sqr/zjhm",
    "/sqr/sjhm",
    "/jyz/mc",
    "/jyz/zczb",
    "/jyz/zs",
    "/jyz/fddbr/xm",
    "/jycs/xxdz",
    "/jycs/mj",
    "/spjy/ztytbz",
    "/spjy/spaqgly/xm",
    "/spjy/spaqgly/sjhm",
    "/cl/0/clmc",
    "/cl/0/wjm",
    "/cl/0/wjlx",
    "/slxx/sljg",
    "/slxx/slr",
    "/slxx/slsj",
    "/spjg",
    "/lxr/xm",
    "/bz",
    "/yj",
    "/spr",
    "/spsj",
    "/zz/zzbh",
    "/zz/zzmc",
    "/zz/yxqq",
    "/zz/yxqz",
    "/zz/fzjg",
    "/zz/dzzz/wjm",
    "/zz/dzzz/wjlx",
];

/// A mutation of a Zhejiang document: a field set to a string or a number, an unknown field
/// or a `kzxx` entry added.
#[derive(Debug, Clone)]
enum ZjChange {
    Set(&'static str, String),
    SetNumber(&'static str, f64),
    Unknown(String, String),
    Kzxx(String, String),
}

fn zj_change() -> impl Strategy<Value = ZjChange> {
    let field = prop::sample::select(ZJ_FIELDS);
    prop_oneof![
        4 => (field.clone(), value()).prop_map(|(f, v)| ZjChange::Set(f, v)),
        1 => (field, any::<f64>()).prop_map(|(f, n)| ZjChange::SetNumber(f, n)),
        1 => (any_text(), value()).prop_map(|(k, v)| ZjChange::Unknown(k, v)),
        1 => (any_text(), value()).prop_map(|(k, v)| ZjChange::Kzxx(k, v)),
    ]
}

fn zj_mutated(file: &str, changes: &[ZjChange]) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(&sample(file)).unwrap();
    for c in changes {
        match c {
            ZjChange::Set(p, s) => {
                if let Some(slot) = v.pointer_mut(p) {
                    *slot = s.clone().into();
                }
            }
            ZjChange::SetNumber(p, n) => {
                if let Some(slot) = v.pointer_mut(p) {
                    *slot = serde_json::Number::from_f64(*n)
                        .map_or(serde_json::Value::Null, Into::into);
                }
            }
            ZjChange::Unknown(k, s) => {
                v[k.as_str()] = s.clone().into();
            }
            ZjChange::Kzxx(k, s) => {
                if !v["kzxx"].is_object() {
                    v["kzxx"] = serde_json::json!({});
                }
                v["kzxx"][k.as_str()] = s.clone().into();
            }
        }
    }
    serde_json::to_vec(&v).unwrap()
}

/// Shanghai leaf elements whose text is replaced (the first of each name).
const SH_ELEMENTS: &[&str] = &[
    "ApplyNo",
    "Name",
    "IdNumber",
    "Mobile",
    "RegisteredCapital",
    "Residence",
    "Address",
    "Area",
    "FormatNote",
    "Title",
    "FileName",
    "MimeType",
    "Clerk",
    "AcceptedAt",
    "Remark",
    "Opinion",
    "Officer",
    "DecidedAt",
    "LicenseNo",
    "LicenseName",
    "ValidFrom",
    "ValidTo",
    "IssuedBy",
];
/// Shanghai attributes whose value is replaced.
const SH_ATTRIBUTES: &[&str] = &["authority", "region", "uscc"];

#[derive(Debug, Clone)]
enum ShChange {
    Text(&'static str, String),
    Attr(&'static str, String),
    Field(String, String),
}

fn sh_change() -> impl Strategy<Value = ShChange> {
    prop_oneof![
        4 => (prop::sample::select(SH_ELEMENTS), value()).prop_map(|(e, v)| ShChange::Text(e, v)),
        1 => (prop::sample::select(SH_ATTRIBUTES), value()).prop_map(|(a, v)| ShChange::Attr(a, v)),
        1 => (any_text(), value()).prop_map(|(n, v)| ShChange::Field(n, v)),
    ]
}

/// `s` as XML character data: markup escaped, every other character as it is (control
/// characters included, for the reader to refuse).
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn sh_mutated(file: &str, changes: &[ShChange]) -> Vec<u8> {
    let mut text = String::from_utf8(sample(file)).unwrap();
    let mut fields = String::new();
    for c in changes {
        match c {
            ShChange::Text(e, v) => {
                let open = format!("<{e}>");
                let close = format!("</{e}>");
                if let Some(at) = text.find(&open) {
                    let start = at + open.len();
                    if let Some(len) = text[start..].find(&close) {
                        text.replace_range(start..start + len, &esc(v));
                    }
                }
            }
            ShChange::Attr(a, v) => {
                let open = format!(" {a}=\"");
                if let Some(at) = text.find(&open) {
                    let start = at + open.len();
                    if let Some(len) = text[start..].find('"') {
                        text.replace_range(start..start + len, &esc(v));
                    }
                }
            }
            ShChange::Field(n, v) => {
                fields.push_str(&format!("<Field name=\"{}\">{}</Field>", esc(n), esc(v)));
            }
        }
    }
    if !fields.is_empty() && text.contains("</RemoteApply>") {
        text = text.replacen(
            "</RemoteApply>",
            &format!("<Extensions>{fields}</Extensions></RemoteApply>"),
            1,
        );
    }
    text.into_bytes()
}

/// The property: accepted by `from` ⇒ translates ⇒ the translation is accepted by the other.
fn accepted_translates_and_validates(from: Platform, bytes: &[u8]) -> Result<(), TestCaseError> {
    if platform::read(from, bytes).is_err() {
        return Ok(());
    }
    let to = from.other();
    let t = platform::translate(from, to, bytes).map_err(|p| {
        TestCaseError::fail(format!("accepted as {from} but does not translate: {p}"))
    })?;
    platform::read(to, &t.bytes).map_err(|p| {
        TestCaseError::fail(format!(
            "accepted as {from}, but its translation is refused as {to}: {p}\n{}",
            String::from_utf8_lossy(&t.bytes)
        ))
    })?;
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn zhejiang_documents_accepted_translate_into_accepted_shanghai_ones(
        decision in any::<bool>(),
        changes in prop::collection::vec(zj_change(), 1..4),
    ) {
        let file = if decision { "zj-decision.json" } else { "zj-application.json" };
        accepted_translates_and_validates(Platform::Zhejiang, &zj_mutated(file, &changes))?;
    }

    #[test]
    fn shanghai_documents_accepted_translate_into_accepted_zhejiang_ones(
        decision in any::<bool>(),
        changes in prop::collection::vec(sh_change(), 1..4),
    ) {
        let file = if decision { "sh-decision.xml" } else { "sh-application.xml" };
        accepted_translates_and_validates(Platform::Shanghai, &sh_mutated(file, &changes))?;
    }
}
