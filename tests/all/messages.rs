//! The message catalogue from outside (issue 16): what each platform reads in its reply's
//! `msg` / `<Message>` is the catalogue's text, in Chinese unless the operator configured
//! otherwise, naming the field by that platform's own path; the CLI follows `--lang` and the
//! locale.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use tongban::demo::SAMPLE_SH_APPLICATION;
use tongban::model::{Lang, Message};

use crate::gateway::{options, start, text, zj_application};

/// The area a clerk typed with its unit, as the issue reports it.
const AREA: &str = "45.5平方";

/// Zhejiang's message for [`AREA`] at `jycs.mj` (its reader: any decimal, m²).
fn zj_area(lang: Lang) -> String {
    let m = Message::DecimalShape {
        value: AREA.into(),
        unit: "m²",
    };
    assert_eq!(m.code(), "decimal.shape");
    format!("jycs.mj: {}", m.render(lang))
}

/// Shanghai's message for [`AREA`] at `/RemoteApply/Premises/Area` (exactly 2 decimals).
fn sh_area(lang: Lang) -> String {
    let m = Message::TwoDecimalsShape {
        value: AREA.into(),
        unit: "m²",
        example: "45.50",
    };
    assert_eq!(m.code(), "decimal.two-shape");
    format!("/RemoteApply/Premises/Area: {}", m.render(lang))
}

fn zj_bad_area() -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(&zj_application("ZJ-MSG-1")).unwrap();
    v["jycs"]["mj"] = AREA.into();
    serde_json::to_vec(&v).unwrap()
}

fn sh_bad_area() -> Vec<u8> {
    let sample = std::str::from_utf8(SAMPLE_SH_APPLICATION).unwrap();
    let at = sample.find("<Area>").expect("the sample has an area");
    let end = at + sample[at..].find("</Area>").unwrap();
    format!("{}<Area>{AREA}{}", &sample[..at], &sample[end..]).into_bytes()
}

/// The text of Shanghai's `<Message>`, unescaped.
fn sh_message(body: &str) -> String {
    let at = body.find("<Message>").expect("a Message") + "<Message>".len();
    let end = body.find("</Message>").unwrap();
    body[at..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[tokio::test]
async fn each_platform_is_refused_in_chinese_naming_its_own_path() {
    let (_dir, mut lb) = start(options()).await;

    let r = lb.zj.submit(&zj_bad_area()).await.unwrap();
    assert_eq!(r.status, 200, "{}", text(&r));
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["code"], "4001", "{body}");
    assert_eq!(body["msg"], zj_area(Lang::Zh), "{body}");
    assert!(
        body["msg"].as_str().unwrap().contains("不是以 m² 计的数值"),
        "{body}"
    );
    assert_eq!(body["data"]["errors"][0]["field"], "jycs.mj", "{body}");
    assert_eq!(body["data"]["errors"][0]["code"], "decimal.shape", "{body}");

    let r = lb.sh.submit(&sh_bad_area()).await.unwrap();
    assert_eq!(r.status, 400, "{}", text(&r));
    assert_eq!(sh_message(&text(&r)), sh_area(Lang::Zh), "{}", text(&r));

    // The operator asks for English towards Zhejiang; Shanghai keeps the default.
    lb.stop_gateway().await;
    let config = std::fs::read_to_string(&lb.config_path).unwrap();
    let config = config.replacen("[platforms.zj]\n", "[platforms.zj]\nlanguage = \"en\"\n", 1);
    std::fs::write(&lb.config_path, config).unwrap();
    lb.start_gateway().await.unwrap();
    let r = lb.zj.submit(&zj_bad_area()).await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["msg"], zj_area(Lang::En), "{body}");
    let r = lb.sh.submit(&sh_bad_area()).await.unwrap();
    assert_eq!(sh_message(&text(&r)), sh_area(Lang::Zh), "{}", text(&r));
    lb.stop().await;
}

#[tokio::test]
async fn refusals_of_the_http_layer_are_in_the_platforms_language_too() {
    let (_dir, lb) = start(options()).await;
    // A decision of the wrong kind at the application endpoint, and a Zhejiang body that is
    // not JSON: both catalogue messages, in Chinese.
    let r = lb.zj.submit(b"[1]").await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let expected = Message::JsonNotObject {
        got: tongban::model::message::JsonType::Array,
    };
    assert_eq!(
        body["msg"],
        format!("$: {}", expected.render(Lang::Zh)),
        "{body}"
    );
    assert_eq!(body["data"]["errors"][0]["code"], "json.not-object");
    lb.stop().await;
}

fn tongban(args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tongban"));
    cmd.args(args)
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env_remove("LANG")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    let _ = input.write_all(stdin);
    drop(input);
    child.wait_with_output().unwrap()
}

/// Flags, environment, and the language they must give.
type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], Lang);

#[test]
fn the_cli_follows_lang_and_the_locale() {
    let bad = zj_bad_area();
    let validate = ["validate", "--format", "zj"];
    let stderr = |o: &Output| String::from_utf8_lossy(&o.stderr).into_owned();
    let cases: [Case; 6] = [
        (&[], &[], Lang::En),
        (&[], &[("LANG", "zh_CN.UTF-8")], Lang::Zh),
        (&[], &[("LANG", "C.UTF-8")], Lang::En),
        (
            &[],
            &[("LANG", "en_US.UTF-8"), ("LC_ALL", "zh_CN.UTF-8")],
            Lang::Zh,
        ),
        (&["--lang", "en"], &[("LANG", "zh_CN.UTF-8")], Lang::En),
        (&["--lang", "zh"], &[], Lang::Zh),
    ];
    for (flags, env, lang) in cases {
        let args: Vec<&str> = validate.iter().chain(flags).copied().collect();
        let o = tongban(&args, env, &bad);
        assert_eq!(
            o.status.code(),
            Some(1),
            "{flags:?} {env:?}: {}",
            stderr(&o)
        );
        assert_eq!(stderr(&o).trim_end(), zj_area(lang), "{flags:?} {env:?}");
    }
    let sh = sh_bad_area();
    let o = tongban(
        &["translate", "--from", "sh", "--to", "zj", "--lang", "zh"],
        &[],
        &sh,
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o).trim_end(), sh_area(Lang::Zh));
    let o = tongban(&["validate", "--format", "zj", "--lang", "fr"], &[], &bad);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}
