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
