//! Lakes built from the network-context fixture (tests/data/context: the
//! worked cases of spec/network-context.md §2.10–§3.5), shared by the
//! explain, inventory and who tests.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::harness::*;

/// The fixture folder.
pub(crate) fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/context")
}

/// `flowlake inventory import <dirs> --lake <lake> --json`.
pub(crate) fn import(lake: &Path, dirs: &[&str]) -> Value {
    let mut args = vec![
        "inventory",
        "import",
        "--lake",
        lake.to_str().unwrap(),
        "--json",
    ];
    let paths: Vec<String> = dirs
        .iter()
        .map(|d| fixture().join(d).to_string_lossy().into_owned())
        .collect();
    args.extend(paths.iter().map(String::as_str));
    json(&ok(&mut flowlake(&args)))
}

/// A lake with the §2.11 records, and with the three snapshots of vpc-0a1
/// and the overlapping vpc-0b2 when `inventory` is set.
pub(crate) fn case_lake(name: &str, inventory: bool) -> PathBuf {
    let root = scratch(name);
    let lake = root.join("lake");
    let (code, summary) = ingest_dir(&fixture().join("flows/vpc-0a1"), &lake, &[]);
    assert_eq!(code, 0, "{summary}");
    if inventory {
        import(
            &lake,
            &[
                "vpc-0a1/s0900",
                "vpc-0a1/s1000",
                "vpc-0a1/s1100",
                "vpc-0b2/s1000",
            ],
        );
    }
    lake
}

/// The shared lake with inventory (built once per run).
pub(crate) fn shared_case_lake() -> &'static Path {
    static LAKE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    LAKE.get_or_init(|| case_lake("context-cases", true))
}

/// `flowlake explain --format json` for the records matching `filter`.
pub(crate) fn explain(lake: &Path, filter: &str) -> Vec<Value> {
    let out = ok(&mut flowlake(&[
        "explain",
        "--lake",
        lake.to_str().unwrap(),
        "--where",
        filter,
        "--format",
        "json",
    ]));
    json(&out).as_array().cloned().unwrap_or_default()
}

/// `flowlake who <subject> --at <at> --json` with `extra` arguments.
pub(crate) fn who(lake: &Path, subject: &str, at: &str, extra: &[&str]) -> Vec<Value> {
    let mut args = vec![
        "who",
        subject,
        "--lake",
        lake.to_str().unwrap(),
        "--at",
        at,
        "--json",
    ];
    args.extend_from_slice(extra);
    json(&ok(&mut flowlake(&args))).as_array().cloned().unwrap()
}
