//! The `tongban` binary as a user runs it: exit codes, stdin/stdout, messages on stderr.

use std::io::Write;
use std::process::{Command, Output, Stdio};

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/platforms/samples");

fn tongban(args: &[&str], stdin: Option<&[u8]>) -> Output {
    // Problems are printed in the locale's language: these tests read English.
    let mut child = Command::new(env!("CARGO_BIN_EXE_tongban"))
        .args(args)
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env_remove("LANG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    // A usage error exits before reading stdin, so the pipe may already be closed (EPIPE).
    let _ = input.write_all(stdin.unwrap_or_default());
    drop(input);
    child.wait_with_output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn validate_accepts_the_samples_with_exit_0() {
    for (format, file) in [
        ("zj", "zj-application.json"),
        ("zj", "zj-decision.json"),
        ("sh", "sh-application.xml"),
        ("sh", "sh-decision.xml"),
    ] {
        let o = tongban(
            &["validate", "--format", format, &format!("{SAMPLES}/{file}")],
            None,
        );
        assert_eq!(o.status.code(), Some(0), "{file}: {}", stderr(&o));
        assert!(o.stderr.is_empty(), "{file}: {}", stderr(&o));
    }
}

#[test]
fn validate_lists_every_problem_one_per_line_with_exit_1() {
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(format!("{SAMPLES}/zj-application.json")).unwrap())
            .unwrap();
    doc["jyz"]["tyshxydm"] = "92330482MA2JD0C80E".into();
    doc["sqr"]["sjhm"] = "138".into();
    doc["mbqy"] = "999999".into();
    let o = tongban(
        &["validate", "--format", "zj"],
        Some(&serde_json::to_vec(&doc).unwrap()),
    );
    assert_eq!(o.status.code(), Some(1));
    let lines: Vec<String> = stderr(&o).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines.iter().any(|l| l.starts_with("jyz.tyshxydm: ")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("sqr.sjhm: ")),
        "{lines:?}"
    );
    assert!(lines.iter().any(|l| l.starts_with("mbqy: ")), "{lines:?}");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(
        tongban(&["validate", "--format", "js"], None).status.code(),
        Some(2)
    );
    assert_eq!(
        tongban(&["translate", "--from", "zj", "--to", "zj"], Some(b"{}"))
            .status
            .code(),
        Some(2)
    );
    let missing = tongban(&["validate", "--format", "zj", "no-such-file.json"], None);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("no-such-file.json"));
}

#[test]
fn translate_reads_stdin_and_writes_the_other_format_to_stdout() {
    let zj = std::fs::read(format!("{SAMPLES}/zj-application.json")).unwrap();
    let o = tongban(&["translate", "--from", "zj", "--to", "sh"], Some(&zj));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let xml = String::from_utf8(o.stdout).unwrap();
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(xml.contains("<Uscc>92330482MA2JD0C80D</Uscc>"), "{xml}");
    // And back: the same JSON content as the sample.
    let o = tongban(
        &["translate", "--from", "sh", "--to", "zj"],
        Some(xml.as_bytes()),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let back: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        back,
        serde_json::from_slice::<serde_json::Value>(&zj).unwrap()
    );
}

#[test]
fn translate_refuses_an_invalid_document_with_exit_1_and_no_output() {
    let o = tongban(
        &["translate", "--from", "zj", "--to", "sh"],
        Some(b"{\"sqbh\": 1}"),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    assert!(
        stderr(&o).contains("sqbh: must be a string"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn web_hash_password_prints_a_hash_that_verifies() {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    let o = tongban(
        &["web", "hash-password"],
        Some("窗口 password 2026\n".as_bytes()),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    let hash = out.trim_end();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(
        !out.contains("窗口 password"),
        "the password is never printed"
    );
    let parsed = PasswordHash::new(hash).unwrap();
    assert!(argon2::Argon2::default()
        .verify_password("窗口 password 2026".as_bytes(), &parsed)
        .is_ok());
    let short = tongban(&["web", "hash-password"], Some(b"123456\n"));
    assert_eq!(short.status.code(), Some(2));
    assert!(stderr(&short).contains("at least 10"), "{}", stderr(&short));
}

#[test]
fn serve_lists_every_problem_of_the_clerks_page_and_exits_64_before_binding() {
    let dir = tempfile::tempdir().unwrap();
    tongban::gateway::transport::tls::generate_dev_pki(&dir.path().join("pki")).unwrap();
    let config = dir.path().join("tongban.toml");
    std::fs::write(
        &config,
        r#"
listen = "127.0.0.1:0"
ops_listen = "127.0.0.1:0"
[tls]
cert = "pki/gateway.pem"
key = "pki/gateway.key"
[platforms.zj]
base_url = "https://localhost:9001"
client_ca = "pki/ca.pem"
client_identity = "zj-platform.tongban.test"
[platforms.sh]
base_url = "https://localhost:9002"
client_ca = "pki/ca.pem"
client_identity = "sh-platform.tongban.test"
[web]
listen = "127.0.0.1:0"
public_url = "not a url"
[[web.accounts]]
username = "wangmin"
display_name = "王敏"
password_hash = "窗口 password 2026"
office_uscc = "113101160024321631"
office_name = "上海市金山区廊下镇社区事务受理服务中心"
platform = "zj"
"#,
    )
    .unwrap();
    let o = tongban(&["serve", "--config", config.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(64), "{}", stderr(&o));
    let err = stderr(&o);
    for needle in [
        "3 problem(s)",
        "web.public_url: not a url is not an http(s) URL",
        "web.accounts[0] (wangmin).password_hash",
        "web.accounts[0] (wangmin).office_uscc: 113101160024321631 is registered in province 31",
    ] {
        assert!(err.contains(needle), "{needle} in {err}");
    }
    assert!(!err.contains("窗口 password 2026"), "{err}");
}
