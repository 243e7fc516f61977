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
