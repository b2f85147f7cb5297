//! The lake's schema as a Markdown table, for the README and `flowlake schema`.
//! A test keeps the README's copy identical to this output.

use crate::fields::{FIELDS, Family};
use crate::schema::{DAY, DERIVED, HOUR, SOURCE_COLUMNS};

/// One row per lake column: AWS fields, derived, source and partition columns.
pub fn schema_markdown() -> String {
    let mut out = String::from(
        "| column | type | AWS field | since | VPC / TGW | meaning |\n|---|---|---|---|---|---|\n",
    );
    for f in FIELDS {
        let ty = match f.kind.data_type() {
            arrow::datatypes::DataType::Int32 => "int",
            arrow::datatypes::DataType::Int64 => "bigint",
            _ => "string",
        };
        let family = match f.family {
            Family::Vpc => "VPC",
            Family::Tgw => "TGW",
            Family::Both => "both",
        };
        out.push_str(&format!(
            "| `{}` | {ty} | `{}` | v{} | {family} | {} |\n",
            f.column, f.name, f.version, f.doc
        ));
    }
    for d in DERIVED {
        out.push_str(&format!(
            "| `{}` | {} | (derived) | | | {} |\n",
            d.name, d.sql_type, d.doc
        ));
    }
    for d in SOURCE_COLUMNS {
        out.push_str(&format!(
            "| `{}` | {} | (source) | | | {} |\n",
            d.name, d.sql_type, d.doc
        ));
    }
    out.push_str(&format!(
        "| `{DAY}` | string | (partition) | | | UTC day of the record's start, `YYYY-MM-DD` |\n| `{HOUR}` | string | (partition) | | | UTC hour of the record's start, `00`–`23` |\n"
    ));
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn readme_schema_table_is_current() {
        let readme =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
        assert!(
            readme.contains(&super::schema_markdown()),
            "README.md's schema table is stale: replace it with `flowlake schema --markdown`"
        );
    }
}
