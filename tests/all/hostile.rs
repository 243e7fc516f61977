//! Issue 17, hostile and malformed input, as the document layer sees it: each finding
//! reproduced on the shared samples, mutated.

use std::time::{Duration, Instant};

use tongban::model::limits;
use tongban::model::Problems;
use tongban::platform::{self, Platform};

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/platforms/samples");

pub fn sample(name: &str) -> Vec<u8> {
    std::fs::read(format!("{SAMPLES}/{name}")).expect("shared samples beside the repository")
}

/// The Shanghai sample application with `from` replaced by `to` (once, and it must be there).
pub fn sh_with(from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(sample("sh-application.xml")).unwrap();
    assert!(text.contains(from), "{from} not in the sample");
    text.replacen(from, to, 1).into_bytes()
}

/// A Zhejiang document translated to Shanghai's format and back.
fn through_shanghai(v: &serde_json::Value) -> serde_json::Value {
    let bytes = serde_json::to_vec(v).unwrap();
    let sh = platform::translate(Platform::Zhejiang, Platform::Shanghai, &bytes).unwrap();
    let back = platform::translate(Platform::Shanghai, Platform::Zhejiang, &sh.bytes).unwrap();
    serde_json::from_slice(&back.bytes).unwrap()
}

/// The Zhejiang sample application as a JSON value, to be changed.
pub fn zj_value() -> serde_json::Value {
    serde_json::from_slice(&sample("zj-application.json")).unwrap()
}

fn refused(p: Platform, bytes: &[u8]) -> Problems {
    match platform::read(p, bytes) {
        Ok(_) => panic!("accepted as {p}"),
        Err(problems) => problems,
    }
}

fn has(problems: &Problems, path: &str, text: &str) -> bool {
    problems
        .iter()
        .any(|p| p.path == path && p.message.to_string().contains(text))
}

/// Finding 3: 150,000 unknown Zhejiang fields (2.3 MB) were accepted after ~20 s. Past
/// the limit the document is refused, naming the limit and the field where it was passed.
#[test]
fn many_unknown_zhejiang_fields_are_refused_at_the_limit_naming_it() {
    let mut v = zj_value();
    let root = v.as_object_mut().unwrap();
    for i in 0..150_000 {
        root.insert(format!("u{i}"), "x".into());
    }
    let bytes = serde_json::to_vec(&v).unwrap();
    let start = Instant::now();
    let problems = refused(Platform::Zhejiang, &bytes);
    let took = start.elapsed();
    let limit = limits::MAX_EXTENSIONS.to_string();
    assert!(
        problems
            .iter()
            .any(|p| p.path.starts_with('u') && p.message.to_string().contains(&limit)),
        "{problems}"
    );
    // A debug build, a shared machine: only a quadratic reader comes near this.
    assert!(took < Duration::from_secs(5), "{took:?}");
}

/// Up to the limit, unknown fields are tolerated and carried.
#[test]
fn unknown_zhejiang_fields_up_to_the_limit_are_carried() {
    let mut v = zj_value();
    let root = v.as_object_mut().unwrap();
    for i in 0..limits::MAX_EXTENSIONS {
        root.insert(format!("u{i}"), "x".into());
    }
    assert_eq!(through_shanghai(&v), v);
}

/// The extension area's size is bounded too: 300 KiB in one `kzxx` value is refused.
#[test]
fn an_oversized_extension_area_is_refused_naming_the_limit() {
    let mut v = zj_value();
    v["kzxx"] = serde_json::json!({ "big": "x".repeat(300 * 1024) });
    let problems = refused(Platform::Zhejiang, &serde_json::to_vec(&v).unwrap());
    assert!(has(&problems, "kzxx.big", "KiB"), "{problems}");
}

/// Nesting is bounded in Zhejiang's JSON.
#[test]
fn deeply_nested_zhejiang_json_is_refused_naming_the_depth() {
    let text = String::from_utf8(sample("zj-application.json")).unwrap();
    let deep = format!("{}1{}", "[".repeat(100), "]".repeat(100));
    let text = text.replacen('{', &format!("{{\"deep\":{deep},"), 1);
    let problems = refused(Platform::Zhejiang, text.as_bytes());
    let limit = limits::MAX_JSON_DEPTH.to_string();
    assert!(
        problems
            .iter()
            .any(|p| p.path.starts_with("deep[0]") && p.message.to_string().contains(&limit)),
        "{problems}"
    );
}

/// Finding 3, Shanghai: 60,000 unknown empty elements (242 KB) took 5–8 s to be refused.
#[test]
fn many_unknown_shanghai_elements_are_refused_at_the_limit_naming_it() {
    let bytes = sh_with(
        "</RemoteApply>",
        &format!("{}</RemoteApply>", "<x/>".repeat(60_000)),
    );
    let start = Instant::now();
    let problems = refused(Platform::Shanghai, &bytes);
    let took = start.elapsed();
    let limit = limits::MAX_ELEMENTS.to_string();
    assert!(has(&problems, "/RemoteApply", &limit), "{problems}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

/// Below the element limit, unknown elements are each a problem, but only the first few are
/// spelt out (every path counts its siblings).
#[test]
fn unknown_shanghai_elements_are_reported_a_few_then_counted() {
    let bytes = sh_with(
        "</RemoteApply>",
        &format!("{}</RemoteApply>", "<x/>".repeat(3000)),
    );
    let problems = refused(Platform::Shanghai, &bytes);
    assert!(
        has(&problems, "/RemoteApply/x", "unknown element <x>"),
        "{problems}"
    );
    assert!(
        has(&problems, "/RemoteApply", "more unknown elements"),
        "{problems}"
    );
    assert!(problems.iter().count() < 100);
}

/// Many attributes on one element are refused before their names are compared.
#[test]
fn many_attributes_are_refused_naming_the_limit() {
    let attrs: String = (0..20_000).map(|i| format!(" a{i}=\"1\"")).collect();
    let bytes = sh_with("<Remark>", &format!("<Remark{attrs}>"));
    let problems = refused(Platform::Shanghai, &bytes);
    let limit = limits::MAX_ATTRIBUTES.to_string();
    assert!(has(&problems, "/RemoteApply/Remark", &limit), "{problems}");
}

/// Finding 1: a NUL or U+0001 in a Shanghai text node was accepted. Refused now, written
/// directly, as a character reference, in CDATA or in an attribute, naming the path and
/// the character.
#[test]
fn control_characters_are_refused_in_xml_naming_path_and_character() {
    for (from, to, path, ch) in [
        ("<Remark>", "<Remark>\u{1}", "/RemoteApply/Remark", "U+0001"),
        ("<Remark>", "<Remark>\u{0}", "/RemoteApply/Remark", "U+0000"),
        ("<Remark>", "<Remark>&#1;", "/RemoteApply/Remark", "U+0001"),
        (
            "<Remark>",
            "<Remark>&#x1F;",
            "/RemoteApply/Remark",
            "U+001F",
        ),
        (
            "<Remark>",
            "<Remark>&#xFFFE;",
            "/RemoteApply/Remark",
            "U+FFFE",
        ),
        (
            "<Remark>",
            "<Remark><![CDATA[\u{8}]]>",
            "/RemoteApply/Remark",
            "U+0008",
        ),
        (
            "authority=\"",
            "authority=\"&#2;",
            "/RemoteApply/Target/@authority",
            "U+0002",
        ),
    ] {
        let problems = refused(Platform::Shanghai, &sh_with(from, to));
        assert!(has(&problems, path, ch), "{to}: {problems}");
    }
    // Tab, line feed and carriage return are characters XML allows.
    let ok = sh_with("<Remark>", "<Remark>&#9;&#10;&#13;");
    platform::read(Platform::Shanghai, &ok).unwrap();
}

/// Finding 4: a Zhejiang MIME type `applicat½/pdf` translated into a Shanghai document that
/// Shanghai's reader refuses. Both adapters now apply the model's one check, so the
/// Zhejiang document is refused at intake, naming Zhejiang's field.
#[test]
fn a_mime_type_one_adapter_refuses_is_refused_by_both() {
    let mut v = zj_value();
    v["cl"][0]["wjlx"] = "applicat½/pdf".into();
    let problems = refused(Platform::Zhejiang, &serde_json::to_vec(&v).unwrap());
    assert!(
        has(&problems, "cl[0].wjlx", "is not a MIME type"),
        "{problems}"
    );
    let text = String::from_utf8(sample("sh-application.xml")).unwrap();
    let at = text.find("<MimeType>").unwrap() + "<MimeType>".len();
    let end = at + text[at..].find('<').unwrap();
    let sh = format!("{}applicat½/pdf{}", &text[..at], &text[end..]);
    let problems = refused(Platform::Shanghai, sh.as_bytes());
    assert!(
        has(
            &problems,
            "/RemoteApply/Materials/Material[1]/MimeType",
            "is not a MIME type"
        ),
        "{problems}"
    );
}

/// Finding 4, the same for text: a Zhejiang name with U+0001 (legal in JSON) cannot be
/// written in XML, so it is refused at intake, naming Zhejiang's field.
#[test]
fn text_shanghai_cannot_carry_is_refused_by_zhejiang_at_intake() {
    let mut v = zj_value();
    v["sqr"]["xm"] = "陆\u{1}佳怡".into();
    v["bz"] = "\u{FFFF}".into();
    v["kzxx"] = serde_json::json!({ "a": "\u{0}", "": "x" });
    v["ywlx"] = "\u{2}".into();
    let problems = refused(Platform::Zhejiang, &serde_json::to_vec(&v).unwrap());
    for (path, what) in [
        ("sqr.xm", "U+0001"),
        ("bz", "U+FFFF"),
        ("kzxx.a", "U+0000"),
        ("kzxx.", "needs a name"),
        ("ywlx", "U+0002"),
    ] {
        assert!(has(&problems, path, what), "{path}: {problems}");
    }
}

/// Names that look like the gateway's bookkeeping, the escape-looking `~` names, and values
/// that look like JSON: carried as they stand, both ways. (The property test found a name
/// of U+3000 alone trimmed away by the Shanghai reader: names are kept exactly now.)
const NAMES: [&str; 8] = [
    "zj:lsh",
    "zj:sqbh",
    "sh:window",
    "sh:Result",
    "~",
    "~~x",
    "~x",
    "\u{3000}",
];
const VALUES: [&str; 8] = ["{}", "[]", "1", "true", "null", "\"s\"", "~", " "];

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;")
}

/// Finding 6, Shanghai first: `Field name="zj:lsh"` became a top-level Zhejiang field and
/// `zj:sqbh` was dropped. Every Field arrives in `kzxx` under its own name with its text as
/// a string, and comes back to Shanghai the same.
#[test]
fn shanghai_extension_names_like_the_gateways_round_trip() {
    let fields: String = NAMES
        .iter()
        .zip(VALUES)
        .map(|(n, v)| {
            format!(
                "<Field name=\"{}\">{}</Field>",
                xml_escape(n),
                xml_escape(v)
            )
        })
        .collect();
    let sh = sh_with(
        "</RemoteApply>",
        &format!("<Extensions>{fields}</Extensions></RemoteApply>"),
    );
    let first = platform::read(Platform::Shanghai, &sh).unwrap().document;
    let zj = platform::translate(Platform::Shanghai, Platform::Zhejiang, &sh).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&zj.bytes).unwrap();
    let expected: serde_json::Map<String, serde_json::Value> = NAMES
        .iter()
        .zip(VALUES)
        .map(|(n, v)| (n.to_string(), serde_json::Value::String(v.to_string())))
        .collect();
    assert_eq!(v["kzxx"], serde_json::Value::Object(expected), "{v}");
    assert!(v.get("lsh").is_none());
    let back = platform::translate(Platform::Zhejiang, Platform::Shanghai, &zj.bytes).unwrap();
    assert_eq!(back.document, first);
    assert!(back.warnings.is_empty(), "{}", back.warnings);
}

/// Finding 6, Zhejiang first: a `kzxx` key `sh:window` was dropped on the way to Shanghai.
#[test]
fn zhejiang_extension_names_like_the_gateways_round_trip() {
    let mut v = zj_value();
    v["kzxx"] = NAMES
        .iter()
        .zip(VALUES)
        .map(|(n, v)| (n.to_string(), serde_json::Value::String(v.to_string())))
        .collect::<serde_json::Map<_, _>>()
        .into();
    let bytes = serde_json::to_vec(&v).unwrap();
    let sh = platform::translate(Platform::Zhejiang, Platform::Shanghai, &bytes).unwrap();
    assert!(sh.warnings.is_empty(), "{}", sh.warnings);
    let text = String::from_utf8(sh.bytes.clone()).unwrap();
    for n in NAMES {
        assert!(
            text.contains(&format!("name=\"{}\"", xml_escape(n))),
            "{n}: {text}"
        );
    }
    let back = platform::translate(Platform::Shanghai, Platform::Zhejiang, &sh.bytes).unwrap();
    let back: serde_json::Value = serde_json::from_slice(&back.bytes).unwrap();
    assert_eq!(back, v);
}

/// Unknown Zhejiang fields of every JSON type (strings that look like JSON included) come
/// back from Shanghai with their type: `"{}"` stays a string, `{}` an object.
#[test]
fn unknown_zhejiang_fields_keep_their_type_through_shanghai() {
    let mut v = zj_value();
    for (i, value) in VALUES.iter().enumerate() {
        v[format!("s{i}")] = serde_json::Value::String(value.to_string());
        v[format!("j{i}")] = serde_json::from_str(value).unwrap_or_else(|_| (*value).into());
    }
    v["jyz"]["zj:lsh"] = "x".into();
    v["~"] = "y".into();
    assert_eq!(through_shanghai(&v), v);
}

/// The one spelling reserved in `kzxx`: a key starting `~zj:` would come back as a field.
#[test]
fn a_kzxx_key_with_the_gateways_prefix_is_refused() {
    let mut v = zj_value();
    v["kzxx"] = serde_json::json!({ "~zj:lsh": "1" });
    let problems = refused(Platform::Zhejiang, &serde_json::to_vec(&v).unwrap());
    assert!(
        has(&problems, "kzxx.~zj:lsh", "gateway's own"),
        "{problems}"
    );
}

/// Unknown fields whose names hold `.` or `[` come back where they were (a root field
/// `lxr.x` went into `lxr`, and `a.b` was dropped), even beside a field of the same path.
#[test]
fn unknown_field_names_with_dots_come_back_where_they_were() {
    let mut v = zj_value();
    v["a.b"] = "1".into();
    v["lxr.x"] = serde_json::json!({"y": [1]});
    v["cl[9].z"] = true.into();
    v["a\\.b"] = "\\".into();
    v["jyz"]["q.r"] = "s".into();
    v["jyz.q"] = "root".into();
    v["jyz"]["q"] = "inside".into();
    v["cl"][1]["ys"] = 12.into();
    assert_eq!(through_shanghai(&v), v);
}

/// A field given 100,000 times is refused, with the first few repeats named (not all).
#[test]
fn a_field_repeated_many_times_is_refused_naming_the_first_repeats() {
    let text = String::from_utf8(sample("zj-application.json")).unwrap();
    let repeats = ",\"bz\":\"x\"".repeat(100_000);
    let close = text.rfind('}').unwrap();
    let bytes = format!("{}{repeats}}}", &text[..close]);
    let problems = refused(Platform::Zhejiang, bytes.as_bytes());
    assert!(has(&problems, "bz", "given twice"), "{problems}");
    assert!(problems.iter().count() < 50);
}

/// Materials are bounded alike on both sides, so a Zhejiang application the gateway accepts
/// always fits in a Shanghai document it accepts.
#[test]
fn materials_past_the_limit_are_refused_by_both_adapters() {
    let mut v = zj_value();
    let one = v["cl"][0].clone();
    v["cl"] = vec![one; limits::MAX_MATERIALS + 1].into();
    let problems = refused(Platform::Zhejiang, &serde_json::to_vec(&v).unwrap());
    let past = format!("cl[{}]", limits::MAX_MATERIALS);
    assert!(has(&problems, &past, "materials"), "{problems}");

    let text = String::from_utf8(sample("sh-application.xml")).unwrap();
    let start = text.find("<Material ").unwrap();
    let end = text.find("</Material>").unwrap() + "</Material>".len();
    let many = text[start..end].repeat(limits::MAX_MATERIALS + 1);
    let sh = format!("{}{many}{}", &text[..start], &text[end..]);
    let problems = refused(Platform::Shanghai, sh.as_bytes());
    let past = format!(
        "/RemoteApply/Materials/Material[{}]",
        limits::MAX_MATERIALS + 1
    );
    assert!(has(&problems, &past, "materials"), "{problems}");
}

/// Parsing stops at the first object with more fields than could be accepted, and the
/// refusal names where, however deep.
#[test]
fn an_oversized_nested_object_is_refused_naming_its_path() {
    let mut v = zj_value();
    let many: serde_json::Map<_, _> = (0..5000).map(|i| (format!("k{i:04}"), 1.into())).collect();
    v["cl"][1]["x"] = serde_json::json!([0, { "y": many }]);
    let problems = refused(Platform::Zhejiang, &serde_json::to_vec(&v).unwrap());
    assert!(
        problems.iter().any(|p| p.path == "cl[1].x[1].y.k1016"),
        "{problems}"
    );
}

/// A Shanghai `Field` under the gateway's reserved prefix that names a field Zhejiang's
/// interface defines could only be dropped on the way to Zhejiang (the field is written from
/// the application itself): refused at intake instead, naming it.
#[test]
fn a_reserved_extension_name_naming_a_zhejiang_field_is_refused() {
    for name in ["~zj:sqbh", "~zj:jyz.mc", "~zj:cl[0].nr"] {
        let sh = sh_with(
            "</RemoteApply>",
            &format!("<Extensions><Field name=\"{name}\">\"x\"</Field></Extensions></RemoteApply>"),
        );
        let problems = refused(Platform::Shanghai, &sh);
        assert!(
            has(&problems, "/RemoteApply/Extensions/Field[1]/@name", name),
            "{name}: {problems}"
        );
    }
    // A reserved name for a field Zhejiang does not define is the gateway's own: carried.
    let sh = sh_with(
        "</RemoteApply>",
        "<Extensions><Field name=\"~zj:jyz.xydj\">\"A\"</Field></Extensions></RemoteApply>",
    );
    let zj = platform::translate(Platform::Shanghai, Platform::Zhejiang, &sh).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&zj.bytes).unwrap();
    assert_eq!(v["jyz"]["xydj"], "A", "{v}");
}
