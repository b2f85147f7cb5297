//! The lake's Arrow schema: one superset of every VPC and Transit Gateway
//! field, under the column names and types of AWS's own Parquet delivery, plus
//! a few derived columns that reports need.
//!
//! Every Parquet file in the lake carries the whole schema (fields a flow log
//! does not write are all-null columns, which cost a few bytes), so readers
//! that do not merge schemas by name (DuckDB without `union_by_name`, Athena
//! with a fixed DDL) see the same columns in every file.
//!
//! Type choices (`shared/spec/formats.md` §3.3–3.4): `protocol` is Int32, as
//! in AWS's VPC Parquet files, although AWS's Athena DDL says `bigint` and the
//! Transit Gateway page says INT_64; flowlake's generated DDL says `int`.
//! `start` and `end` stay Int64 seconds exactly as written.

use std::sync::{Arc, OnceLock};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

use crate::fields::FIELDS;

/// Derived: `start` as a UTC timestamp (milliseconds). Values above 10^11 in
/// `start` are taken as milliseconds already (seen in the wild, spec §1.1).
pub const START_TIME: &str = "start_time";
/// Derived: `end` as a UTC timestamp (milliseconds), same rule as `start_time`.
pub const END_TIME: &str = "end_time";
/// Derived: IANA keyword of `protocol` (`tcp`, `udp`, `icmp`, ...), null if uncommon.
pub const PROTOCOL_NAME: &str = "protocol_name";
/// Derived: `srcaddr` is RFC 1918 or IPv6 ULA space.
pub const SRCADDR_IS_PRIVATE: &str = "srcaddr_is_private";
/// Derived: `dstaddr` is RFC 1918 or IPv6 ULA space.
pub const DSTADDR_IS_PRIVATE: &str = "dstaddr_is_private";

/// Source: the CloudWatch Logs log group a record was read from (null for
/// records from S3 objects or local files).
pub const LOG_GROUP: &str = "log_group";
/// Source: the CloudWatch Logs log stream (for VPC flow logs, one per
/// network interface) a record was read from, also taken from the key of a
/// CloudWatch export file; null otherwise.
pub const LOG_STREAM: &str = "log_stream";

/// Hive partition column: UTC day of the record's time, `YYYY-MM-DD`.
pub const DAY: &str = "day";
/// Hive partition column: UTC hour of the record's time, `00`–`23`.
pub const HOUR: &str = "hour";

/// A column flowlake adds to the AWS fields (derived or source), for docs and DDL.
#[derive(Debug, Clone, Copy)]
pub struct DerivedColumn {
    /// Column name.
    pub name: &'static str,
    /// Type name in the README and DDL.
    pub sql_type: &'static str,
    /// One line of documentation.
    pub doc: &'static str,
}

/// The derived columns, in file order after the AWS fields.
pub const DERIVED: [DerivedColumn; 5] = [
    DerivedColumn {
        name: START_TIME,
        sql_type: "timestamp",
        doc: "`start` as a UTC timestamp",
    },
    DerivedColumn {
        name: END_TIME,
        sql_type: "timestamp",
        doc: "`end` as a UTC timestamp",
    },
    DerivedColumn {
        name: PROTOCOL_NAME,
        sql_type: "string",
        doc: "IANA keyword of `protocol` (tcp, udp, icmp, ...), null if uncommon",
    },
    DerivedColumn {
        name: SRCADDR_IS_PRIVATE,
        sql_type: "boolean",
        doc: "`srcaddr` is in RFC 1918 or IPv6 ULA (fc00::/7) space",
    },
    DerivedColumn {
        name: DSTADDR_IS_PRIVATE,
        sql_type: "boolean",
        doc: "`dstaddr` is in RFC 1918 or IPv6 ULA (fc00::/7) space",
    },
];

/// Where a record came from, beyond what the flow log says: columns after
/// the derived ones, filled by sources that know them.
pub const SOURCE_COLUMNS: [DerivedColumn; 2] = [
    DerivedColumn {
        name: LOG_GROUP,
        sql_type: "string",
        doc: "CloudWatch Logs log group the record was read from; null for S3 and local files",
    },
    DerivedColumn {
        name: LOG_STREAM,
        sql_type: "string",
        doc: "CloudWatch Logs log stream (one per interface), also from a CloudWatch export file's key; null otherwise",
    },
];

/// The Arrow type of the derived timestamp columns.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

/// The schema of every Parquet file in the lake: AWS fields, derived
/// columns, then source columns.
pub fn file_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let mut fields: Vec<Field> = FIELDS
                .iter()
                .map(|f| Field::new(f.column, f.kind.data_type(), true))
                .collect();
            fields.push(Field::new(START_TIME, timestamp_type(), true));
            fields.push(Field::new(END_TIME, timestamp_type(), true));
            fields.push(Field::new(PROTOCOL_NAME, DataType::Utf8, true));
            fields.push(Field::new(SRCADDR_IS_PRIVATE, DataType::Boolean, true));
            fields.push(Field::new(DSTADDR_IS_PRIVATE, DataType::Boolean, true));
            fields.push(Field::new(LOG_GROUP, DataType::Utf8, true));
            fields.push(Field::new(LOG_STREAM, DataType::Utf8, true));
            Arc::new(Schema::new(fields))
        })
        .clone()
}

/// The partition columns, in path order.
pub fn partition_fields() -> Vec<Field> {
    vec![
        Field::new(DAY, DataType::Utf8, false),
        Field::new(HOUR, DataType::Utf8, false),
    ]
}

/// The table as SQL sees it: the file schema plus the partition columns.
pub fn table_schema() -> SchemaRef {
    let mut fields: Vec<Field> = file_schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.extend(partition_fields());
    Arc::new(Schema::new(fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_names_and_types() {
        let s = file_schema();
        assert_eq!(
            s.field_with_name("protocol").unwrap().data_type(),
            &DataType::Int32
        );
        assert_eq!(
            s.field_with_name("start").unwrap().data_type(),
            &DataType::Int64
        );
        assert_eq!(
            s.field_with_name("log_status").unwrap().data_type(),
            &DataType::Utf8
        );
        assert_eq!(
            s.fields().len(),
            FIELDS.len() + DERIVED.len() + SOURCE_COLUMNS.len()
        );
        assert!(
            s.field_with_name(DAY).is_err(),
            "partition columns must not be inside files"
        );
        assert_eq!(table_schema().fields().len(), s.fields().len() + 2);
    }
}
