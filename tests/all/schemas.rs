//! The schemas in `schemas/` are what their generators write, so they never drift from the
//! code tables.

use std::process::Command;

#[test]
fn zhejiang_schema_is_what_the_generator_writes() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("python3")
        .arg(format!("{dir}/schemas/build-zhejiang-schema.py"))
        .output()
        .expect("python3 runs the schema generator");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let committed = std::fs::read(format!("{dir}/schemas/zhejiang.schema.json")).unwrap();
    assert!(
        out.stdout == committed,
        "schemas/zhejiang.schema.json is stale: run python3 schemas/build-zhejiang-schema.py > schemas/zhejiang.schema.json"
    );
}

#[test]
fn divisions_table_is_what_the_generator_writes() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("python3")
        .arg(format!("{dir}/schemas/build-divisions.py"))
        .arg(format!("{dir}/../shared/divisions"))
        .output()
        .expect("python3 runs the divisions generator");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let committed = std::fs::read(format!("{dir}/schemas/divisions.csv")).unwrap();
    assert!(
        out.stdout == committed,
        "schemas/divisions.csv is stale: run schemas/build-divisions.py"
    );
}

/// Runs `xmllint --schema schemas/shanghai.xsd` over `files`; true when all validate.
fn xmllint(files: &[std::path::PathBuf]) -> (bool, String) {
    let dir = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(format!("{dir}/schemas/shanghai.xsd"))
        .args(files)
        .output()
        .expect("xmllint is needed (Debian package libxml2-utils; .ci/run installs it)");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The XSD is the contract a partner checks against: every valid Shanghai input passes it,
/// and the structurally invalid cases fail it too.
#[test]
fn shanghai_schema_accepts_every_ok_case_and_refuses_structural_failures() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/sh");
    let mut ok: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("ok_") && name.ends_with(".xml")
        })
        .collect();
    ok.sort();
    assert!(ok.len() > 10, "ok cases missing");
    let (valid, log) = xmllint(&ok);
    assert!(valid, "ok cases do not validate:\n{log}");
    for name in [
        "fail_out_of_order_elements.xml",
        "fail_missing_required_element.xml",
        "fail_wrong_namespace.xml",
        "fail_unknown_item_code.xml",
        "fail_money_with_three_decimals.xml",
        "fail_time_without_offset.xml",
        "fail_hex_digest.xml",
        "fail_boolean_as_digit.xml",
    ] {
        let (valid, log) = xmllint(&[dir.join(name)]);
        assert!(!valid, "{name} validates against the schema:\n{log}");
    }
}

/// The names of a message's parameters, from its `Debug` form (`DecimalShape { value: …,
/// unit: … }`): the identifiers before `: ` at the first level of braces, outside quotes.
fn parameters(debug: &str) -> Vec<String> {
    let (mut depth, mut quoted, mut escaped) = (0usize, false, false);
    let mut names = Vec::new();
    let mut word = String::new();
    let mut chars = debug.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"' | '\'') => quoted = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' | '\'' => quoted = true,
            '{' | '(' => depth += 1,
            '}' | ')' => depth -= 1,
            ':' if depth == 1 && chars.peek() == Some(&' ') && !word.is_empty() => {
                names.push(std::mem::take(&mut word));
                continue;
            }
            _ => {}
        }
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            word.clear();
        }
    }
    names
}

/// `schemas/messages.md` as the catalogue writes it: every code, its parameters and its
/// text in both languages (with the sample parameters of `Message::examples`).
fn messages_md() -> String {
    use tongban::model::{Lang, Message};
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let mut out = String::from(
        "# Message codes\n\n\
         Every problem the gateway reports (its model, both adapters, the gateway itself and the \
         window clerks' page) is one of these codes with its parameters. A partner platform reads \
         the text in its `msg` (Zhejiang; `data.errors[].code` carries the code) or `<Message>` \
         (Shanghai), one `path: text` line per problem, in the language configured for it \
         (`[platforms.*] language`, `zh` by default); logs are in English; `tongban validate` and \
         `translate` follow `--lang` or the locale. The texts below show sample parameters.\n\n\
         Generated from `src/model/message.rs` by the test `schemas::message_codes_are_listed`; \
         run it with `TONGBAN_WRITE_SCHEMAS=1` to rewrite this file.\n\n\
         | code | parameters | 中文 | English |\n|---|---|---|---|\n",
    );
    for m in Message::examples() {
        let params = parameters(&format!("{m:?}"));
        let params = if params.is_empty() {
            "—".to_owned()
        } else {
            params
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!(
            "| `{}` | {params} | {} | {} |\n",
            m.code(),
            cell(&m.render(Lang::Zh)),
            cell(&m.render(Lang::En))
        ));
    }
    out
}

/// The codes of `components.schemas.MessageCode` in `schemas/openapi.yaml`.
fn openapi_codes(yaml: &str) -> Vec<String> {
    let at = yaml
        .find("\n    MessageCode:\n")
        .expect("openapi.yaml defines MessageCode");
    let after = &yaml[at..];
    let list = &after[after
        .find("      enum:\n")
        .expect("MessageCode has an enum")
        + 12..];
    list.lines()
        .map_while(|l| l.strip_prefix("        - "))
        .map(|c| c.trim_matches('"').to_owned())
        .collect()
}

#[test]
fn message_codes_are_listed() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let path = format!("{dir}/schemas/messages.md");
    let md = messages_md();
    if std::env::var_os("TONGBAN_WRITE_SCHEMAS").is_some() {
        std::fs::write(&path, &md).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == md,
        "schemas/messages.md is stale: run TONGBAN_WRITE_SCHEMAS=1 cargo test --test all schemas::message_codes_are_listed"
    );
    let yaml = std::fs::read_to_string(format!("{dir}/schemas/openapi.yaml")).unwrap();
    assert_eq!(
        openapi_codes(&yaml),
        tongban::model::Message::CODES,
        "components.schemas.MessageCode in schemas/openapi.yaml must list the catalogue's codes in its order"
    );
}

#[test]
fn parameters_are_read_from_debug() {
    assert_eq!(
        parameters(r#"DecimalShape { value: "a: {b}", unit: "m²" }"#),
        ["value", "unit"]
    );
    assert_eq!(
        parameters(r#"CodeUnknown { table: TableName { en: "x", zh: "y" }, value: "z" }"#),
        ["table", "value"]
    );
    assert!(parameters("Required").is_empty());
}
