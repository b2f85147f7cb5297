//! Which fields a flow log writes, in which order.
//!
//! A [`Format`] comes from one of three places, all handled here:
//! - the default VPC format (version 2, 14 fields) or the Transit Gateway
//!   default (36 fields),
//! - the header line AWS writes at the top of every S3 text object
//!   (`version account-id interface-id ...`),
//! - an AWS `LogFormat` string (`${version} ${srcaddr} ...`), as configured on
//!   the flow log and returned by `DescribeFlowLogs`.
//!
//! The layout is never guessed from the number of fields or from `version`:
//! real flow logs exist in alphabetical field order, and `version` is only the
//! highest version among the chosen fields (`shared/spec/formats.md` §1.1).

use std::fmt;

use crate::fields::{FIELDS, Family, FieldId, field, field_id};

/// An ordered list of fields: how to split one record line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Format {
    fields: Vec<FieldId>,
}

/// Why a header line or `LogFormat` string is not a format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The text names no field at all.
    #[error("the format names no fields")]
    Empty,
    /// A name that is not a flow-log field.
    #[error("unknown flow-log field `{0}`")]
    UnknownField(String),
    /// The same field twice.
    #[error("field `{0}` appears twice")]
    Duplicate(String),
    /// A `${` without its `}`.
    #[error("malformed `${{...}}` in `{0}`")]
    Malformed(String),
}

impl Format {
    /// The default VPC flow log format: the 14 version-2 fields in table order.
    pub fn default_vpc() -> Format {
        Format::from_ids(
            FIELDS
                .iter()
                .enumerate()
                .filter(|(_, f)| f.version == 2 && f.family != Family::Tgw)
                .map(|(i, _)| i),
        )
    }

    /// The default Transit Gateway flow log format: all 36 TGW fields in the
    /// order of AWS's Transit Gateway field table.
    pub fn default_tgw() -> Format {
        const ORDER: [&str; 36] = [
            "version",
            "resource-type",
            "account-id",
            "tgw-id",
            "tgw-attachment-id",
            "tgw-src-vpc-account-id",
            "tgw-dst-vpc-account-id",
            "tgw-src-vpc-id",
            "tgw-dst-vpc-id",
            "tgw-src-subnet-id",
            "tgw-dst-subnet-id",
            "tgw-src-eni",
            "tgw-dst-eni",
            "tgw-src-az-id",
            "tgw-dst-az-id",
            "tgw-pair-attachment-id",
            "srcaddr",
            "dstaddr",
            "srcport",
            "dstport",
            "protocol",
            "packets",
            "bytes",
            "start",
            "end",
            "log-status",
            "type",
            "packets-lost-no-route",
            "packets-lost-blackhole",
            "packets-lost-mtu-exceeded",
            "packets-lost-ttl-expired",
            "tcp-flags",
            "region",
            "flow-direction",
            "pkt-src-aws-service",
            "pkt-dst-aws-service",
        ];
        Format {
            fields: ORDER.iter().filter_map(|name| field_id(name)).collect(),
        }
    }

    fn from_ids(ids: impl Iterator<Item = usize>) -> Format {
        Format {
            fields: ids.filter_map(|i| FieldId::try_from(i).ok()).collect(),
        }
    }

    /// Parses a list of field names separated by spaces: an S3 header line
    /// (`version account-id ...`). Lake column spellings (`account_id`) are
    /// accepted too.
    pub fn from_header(line: &str) -> Result<Format, FormatError> {
        Format::from_names(line.split_ascii_whitespace())
    }

    /// Parses an AWS `LogFormat` string: `${version} ${account-id} ...`.
    pub fn from_log_format(text: &str) -> Result<Format, FormatError> {
        let mut names = Vec::new();
        for token in text.split_ascii_whitespace() {
            let name = token
                .strip_prefix("${")
                .and_then(|t| t.strip_suffix('}'))
                .ok_or_else(|| FormatError::Malformed(token.to_owned()))?;
            names.push(name);
        }
        Format::from_names(names.into_iter())
    }

    /// Parses what a user may type: `default`, `tgw-default`, a `LogFormat`
    /// string or a header line.
    pub fn parse(text: &str) -> Result<Format, FormatError> {
        match text.trim() {
            "default" | "vpc-default" => Ok(Format::default_vpc()),
            "tgw-default" | "transit-gateway-default" => Ok(Format::default_tgw()),
            t if t.contains("${") => Format::from_log_format(t),
            t => Format::from_header(t),
        }
    }

    fn from_names<'a>(names: impl Iterator<Item = &'a str>) -> Result<Format, FormatError> {
        let mut fields = Vec::new();
        for name in names {
            let id = field_id(name).ok_or_else(|| FormatError::UnknownField(name.to_owned()))?;
            if fields.contains(&id) {
                return Err(FormatError::Duplicate(name.to_owned()));
            }
            fields.push(id);
        }
        if fields.is_empty() {
            return Err(FormatError::Empty);
        }
        Ok(Format { fields })
    }

    /// True when a line is a header: every space-separated token is a field
    /// name. Cheap for record lines, which almost always fail on the first token.
    pub fn is_header_line(line: &[u8]) -> bool {
        let Ok(text) = std::str::from_utf8(line) else {
            return false;
        };
        let mut tokens = text.split_ascii_whitespace().peekable();
        tokens.peek().is_some() && tokens.all(|t| field_id(t).is_some())
    }

    /// The fields in line order.
    pub fn fields(&self) -> &[FieldId] {
        &self.fields
    }

    /// Number of fields in a record line.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Always false for a parsed format (kept for the `len` convention).
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The format as an AWS `LogFormat` string.
    pub fn to_log_format(&self) -> String {
        let names: Vec<String> = self
            .fields
            .iter()
            .map(|&id| format!("${{{}}}", field(id).name))
            .collect();
        names.join(" ")
    }
}

impl fmt::Display for Format {
    /// Formats as a header line, the form AWS writes into S3 objects.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, &id) in self.fields.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(field(id).name)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT_HEADER: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";

    #[test]
    fn default_format_is_the_documented_v2_order() {
        assert_eq!(Format::default_vpc().to_string(), DEFAULT_HEADER);
        let log_format = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}";
        assert_eq!(Format::default_vpc().to_log_format(), log_format);
        assert_eq!(Format::parse(log_format), Ok(Format::default_vpc()));
        assert_eq!(Format::parse("default"), Ok(Format::default_vpc()));
    }

    #[test]
    fn tgw_default_has_every_tgw_field_once() {
        let tgw = Format::default_tgw();
        assert_eq!(tgw.len(), 36);
        assert_eq!(Format::from_header(&tgw.to_string()), Ok(tgw));
    }

    #[test]
    fn any_order_and_subset_parses() {
        let alpha = Format::from_header("account-id action az-id bytes dstaddr").unwrap();
        assert_eq!(alpha.len(), 5);
        assert_eq!(field(alpha.fields()[1]).name, "action");
        let underscored = Format::from_header("account_id action az_id bytes dstaddr").unwrap();
        assert_eq!(alpha, underscored);
    }

    #[test]
    fn bad_formats_say_why() {
        assert_eq!(Format::parse(""), Err(FormatError::Empty));
        assert_eq!(
            Format::parse("version srcaddr colour"),
            Err(FormatError::UnknownField("colour".into()))
        );
        assert_eq!(
            Format::parse("srcaddr srcaddr"),
            Err(FormatError::Duplicate("srcaddr".into()))
        );
        assert_eq!(
            Format::parse("${version} ${srcaddr"),
            Err(FormatError::Malformed("${srcaddr".into()))
        );
    }

    #[test]
    fn header_detection() {
        assert!(Format::is_header_line(DEFAULT_HEADER.as_bytes()));
        assert!(!Format::is_header_line(
            b"2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA"
        ));
        assert!(!Format::is_header_line(b"bogus line"));
        assert!(!Format::is_header_line(b""));
    }
}
