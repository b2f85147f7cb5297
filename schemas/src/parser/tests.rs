use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::concat_batches;
use arrow::datatypes::{Int32Type, Int64Type};

use super::*;
use crate::fields::{Family, field_id};
use crate::schema::file_schema;

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/samples");

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(format!("{SAMPLES}/{name}")).unwrap()
}

/// Parses `input` in one go and returns (rows, rejects, counts).
fn parse_with(format: Format, input: &[u8]) -> (RecordBatch, Vec<Reject>, LineCounts) {
    let mut d = Decoder::new(format, 1, DEFAULT_BATCH_SIZE);
    d.decode(input);
    d.finish();
    let batches = d.take_batches();
    let batch = concat_batches(&file_schema(), &batches).unwrap();
    (batch, d.take_rejects(), d.counts())
}

fn parse(input: &[u8]) -> (RecordBatch, Vec<Reject>, LineCounts) {
    parse_with(Format::default_vpc(), input)
}

fn text(batch: &RecordBatch, column: &str, row: usize) -> Option<String> {
    let col = batch.column_by_name(column).unwrap().as_string::<i32>();
    col.is_valid(row).then(|| col.value(row).to_owned())
}

fn int(batch: &RecordBatch, column: &str, row: usize) -> Option<i64> {
    let col = batch.column_by_name(column).unwrap();
    if col.is_null(row) {
        return None;
    }
    Some(match col.data_type() {
        arrow::datatypes::DataType::Int32 => i64::from(col.as_primitive::<Int32Type>().value(row)),
        _ => col.as_primitive::<Int64Type>().value(row),
    })
}

/// The first `n` VPC fields in AWS table order, as headerless fixtures use.
fn table_order(n: usize) -> Format {
    let names: Vec<&str> = crate::fields::FIELDS
        .iter()
        .filter(|f| f.family != Family::Tgw)
        .take(n)
        .map(|f| f.name)
        .collect();
    Format::from_header(&names.join(" ")).unwrap()
}

#[test]
fn default_format_with_nodata_skipdata_icmp_and_ipv6() {
    let (batch, rejects, counts) = parse(&sample("aws-docs-v2-default.log"));
    assert!(rejects.is_empty(), "{rejects:?}");
    assert_eq!(counts.records, 7);
    assert_eq!(batch.num_rows(), 7);
    assert_eq!(text(&batch, "srcaddr", 0).as_deref(), Some("172.31.16.139"));
    assert_eq!(int(&batch, "dstport", 0), Some(22));
    assert_eq!(int(&batch, "bytes", 0), Some(4249));
    assert_eq!(text(&batch, "action", 1).as_deref(), Some("REJECT"));
    let statuses: Vec<_> = (0..7)
        .filter_map(|r| text(&batch, "log_status", r))
        .collect();
    assert!(statuses.contains(&"NODATA".to_owned()) && statuses.contains(&"SKIPDATA".to_owned()));
    // NODATA: every traffic column is null, times are not.
    let nodata = statuses.iter().position(|s| s == "NODATA").unwrap();
    assert_eq!(text(&batch, "srcaddr", nodata), None);
    assert_eq!(int(&batch, "packets", nodata), None);
    assert_eq!(text(&batch, "action", nodata), None);
    assert!(int(&batch, "start", nodata).is_some());
    // Derived columns.
    let ts = batch.column_by_name("start_time").unwrap();
    assert_eq!(
        ts.as_primitive::<arrow::datatypes::TimestampMillisecondType>()
            .value(0),
        1_418_530_010_000
    );
    assert_eq!(text(&batch, "protocol_name", 0).as_deref(), Some("tcp"));
    let private = batch
        .column_by_name("srcaddr_is_private")
        .unwrap()
        .as_boolean();
    assert!(private.value(0));
    assert!(private.is_null(nodata));
}

#[test]
fn header_line_sets_the_format_and_counts_as_a_line() {
    let (batch, rejects, counts) = parse(&sample("real-s3-text-file-v2-with-header.log"));
    assert!(rejects.is_empty());
    assert_eq!((counts.headers, counts.records), (1, 2));
    assert_eq!(
        text(&batch, "account_id", 0).as_deref(),
        Some("12345678910")
    );
}

#[test]
fn alphabetical_order_lands_in_the_right_columns() {
    let (batch, rejects, counts) = parse(&sample("real-s3-custom-alphabetical-v5.log"));
    assert!(rejects.is_empty(), "{rejects:?}");
    assert_eq!(counts.records, 1);
    assert_eq!(
        text(&batch, "account_id", 0).as_deref(),
        Some("325352056000")
    );
    assert_eq!(text(&batch, "az_id", 0).as_deref(), Some("apne1-az1"));
    assert_eq!(text(&batch, "log_status", 0).as_deref(), Some("SKIPDATA"));
    assert_eq!(text(&batch, "region", 0).as_deref(), Some("ap-northeast-1"));
    assert_eq!(int(&batch, "version", 0), Some(5));
    assert_eq!(int(&batch, "start", 0), int(&batch, "end", 0));
    assert_eq!(text(&batch, "vpc_id", 0).as_deref(), Some("vpc-bcd5b000"));
}

#[test]
fn repeated_headers_and_a_double_space() {
    let (batch, rejects, counts) = parse(&sample("elastic/vpcflow-test-tcp-flag-sequence.log"));
    assert!(rejects.is_empty(), "{rejects:?}");
    assert_eq!(counts.headers, counts.records);
    assert_eq!(int(&batch, "tcp_flags", 0), Some(2));

    let (batch, rejects, counts) = parse(&sample("aws-docs-v3-tcp-flag-sequence.log"));
    assert!(
        rejects.is_empty(),
        "the doc's double space must not break the line: {rejects:?}"
    );
    assert_eq!(counts.records, 8);
    assert_eq!(int(&batch, "tcp_flags", 7), Some(19));
    assert_eq!(text(&batch, "pkt_srcaddr", 7).as_deref(), Some("10.0.0.62"));
}

#[test]
fn every_version_and_family_parses() {
    let cases: &[(&str, Option<Format>, u64)] = &[
        ("aws-docs-v3-nat-gateway.log", None, 6),
        ("aws-docs-v3-via-transit-gateway.log", None, 4),
        ("aws-docs-v5-service-path-direction.log", None, 2),
        ("elastic/vpcflow-test-extra-samples.log", None, 7),
        (
            "elastic/vpcflow-test-v5-all-fields.log",
            Some(table_order(29)),
            0,
        ),
        (
            "elastic/vpcflow-test-ecs-samples.log",
            Some(table_order(39)),
            10,
        ),
        (
            "elastic/vpcflow-test-v8-samples.log",
            Some(table_order(40)),
            1,
        ),
        (
            "elastic/vpcflow-test-tgw-samples.log",
            Some(Format::default_tgw()),
            10,
        ),
        ("flowlogs-reader/v2-records.log", None, 5),
        ("flowlogs-reader/v3-file.log", None, 2),
        ("flowlogs-reader/v4-file.log", None, 2),
        ("flowlogs-reader/v6-tgw-file.log", None, 1),
        ("otel/tgw-custom-with-header.log", None, 1),
        ("otel/ecs-custom-with-header.log", None, 1),
        ("vrl/v7-ecs-custom.log", None, 1),
        ("vrl/v8-v11-custom.log", None, 2),
        ("vrl/v11-subset-custom.log", None, 1),
    ];
    for (name, format, records) in cases {
        let format = format.clone().unwrap_or_else(Format::default_vpc);
        let (batch, rejects, counts) = parse_with(format, &sample(name));
        if name.ends_with("v5-all-fields.log") {
            // Elastic's sample has a typo: start 164000066 (1975) for an
            // end in 2021. Not a believable time: rejected, with why.
            assert_eq!(rejects.len(), 1, "{name}: {rejects:?}");
            assert_eq!(
                rejects[0].reason.to_string(),
                "start: 164000066 is outside 2010-01-01T00:00:00Z .. 9999-12-31T23:59:59Z"
            );
        } else {
            assert!(rejects.is_empty(), "{name}: {rejects:?}");
        }
        assert_eq!(counts.records, *records, "{name}");
        assert_eq!(batch.num_rows() as u64, *records, "{name}");
    }
}

#[test]
fn newest_fields_land_in_their_columns() {
    let (batch, _, _) = parse(&sample("vrl/v8-v11-custom.log"));
    assert_eq!(text(&batch, "reject_reason", 0).as_deref(), Some("BPA"));
    assert_eq!(
        text(&batch, "resource_id", 0).as_deref(),
        Some("nat-0c50d5961bcb2d47b")
    );
    assert_eq!(int(&batch, "encryption_status", 0), Some(1));
    assert_eq!(
        text(&batch, "next_hop_interface_type", 0).as_deref(),
        Some("network_load_balancer")
    );
    assert_eq!(text(&batch, "asg_tag_2", 0).as_deref(), Some("my-asg-2"));
    assert_eq!(text(&batch, "next_hop_interface_type", 1), None);

    let (batch, _, _) = parse(&sample("otel/tgw-custom-with-header.log"));
    assert_eq!(
        text(&batch, "tgw_id", 0).as_deref(),
        Some("tgw-0abc12345def67890")
    );
    assert_eq!(int(&batch, "packets_lost_ttl_expired", 0), Some(4));
    assert_eq!(text(&batch, "interface_id", 0), None);
}

#[test]
fn bogus_line_is_rejected_and_the_rest_parses() {
    let (batch, rejects, counts) = parse(&sample("flowlogs-reader/v5-file-with-bogus-line.log"));
    assert_eq!(batch.num_rows(), 2);
    assert_eq!(rejects.len(), 1);
    assert_eq!(rejects[0].line, 4, "line numbers count the header");
    assert_eq!(rejects[0].raw, "bogus line");
    assert_eq!(
        rejects[0].reason,
        RejectReason::FieldCount {
            expected: 29,
            found: 2
        }
    );
    assert_eq!(counts.lines(), 4);
}

#[test]
fn every_reject_reason() {
    let good =
        "2 123456789010 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1439387263 1439387264 ACCEPT OK";
    let bad = [
        (
            "2 123456789010 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1439387263 1439387264 ACCEPT",
            "field_count",
        ),
        (
            "2 123456789010 eni-1 10.0.0.1 10.0.0.2 443 http 6 10 840 1439387263 1439387264 ACCEPT OK",
            "not_a_number",
        ),
        (
            "2 123456789010 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 99999999999999999999 1439387263 1439387264 ACCEPT OK",
            "out_of_range",
        ),
        (
            "2 123456789010 eni-1 10.0.0.1 10.0.0 443 49152 6 10 840 1439387263 1439387264 ACCEPT OK",
            "bad_address",
        ),
        (
            "2 123456789010 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1439387263 1439387264 DROP OK",
            "unknown_action",
        ),
        (
            "2 123456789010 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1439387263 1439387264 ACCEPT FINE",
            "unknown_log_status",
        ),
    ];
    let mut input = Vec::new();
    for (line, _) in &bad {
        input.extend_from_slice(good.as_bytes());
        input.push(b'\n');
        input.extend_from_slice(line.as_bytes());
        input.push(b'\n');
    }
    input.extend_from_slice(b"2 123456789010 eni-\xff 10.0.0.1 10.0.0.2 1 2 6 1 1 1 1 ACCEPT OK\n");
    let (batch, rejects, counts) = parse(&input);
    assert_eq!(batch.num_rows(), bad.len());
    let kinds: Vec<_> = rejects.iter().map(|r| r.reason.kind()).collect();
    let mut expected: Vec<_> = bad.iter().map(|(_, k)| *k).collect();
    expected.push("invalid_utf8");
    assert_eq!(kinds, expected);
    let lines: Vec<_> = rejects.iter().map(|r| r.line).collect();
    assert_eq!(lines, vec![2, 4, 6, 8, 10, 12, 13]);
    assert_eq!(counts.lines(), 13);
    assert_eq!(
        rejects[1].to_string(),
        r#"line 4: dstport: "http" is not a number"#
    );
}

#[test]
fn chunk_boundaries_do_not_matter() {
    let input = [
        sample("real-s3-text-file-v2-with-header.log"),
        b"garbage\r\n\n".to_vec(),
        sample("aws-docs-v2-default.log"),
    ]
    .concat();
    let (whole, whole_rejects, whole_counts) = parse(&input);
    for chunk in [1, 2, 3, 7, 64] {
        let mut d = Decoder::new(Format::default_vpc(), 1, 4);
        for piece in input.chunks(chunk) {
            d.decode(piece);
        }
        d.finish();
        let batches = d.take_batches();
        assert!(batches.iter().all(|b| b.num_rows() <= 4));
        let batch = concat_batches(&file_schema(), &batches).unwrap();
        assert_eq!(batch, whole, "chunk size {chunk}");
        assert_eq!(d.take_rejects(), whole_rejects);
        assert_eq!(d.counts(), whole_counts);
    }
    assert_eq!(whole_counts.blank, 1);
    assert_eq!(whole_rejects[0].raw, "garbage", "CR is stripped");
}

#[test]
fn segments_keep_their_line_numbers() {
    let mut d = Decoder::new(Format::default_vpc(), 101, 8);
    d.decode(b"2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1716595200 1716595200 ACCEPT OK\nnope\n");
    d.finish();
    assert_eq!(d.take_rejects()[0].line, 102);
    assert_eq!(d.line_number(), 102);
}

#[test]
fn a_format_change_mid_batch_pads_columns() {
    let input = b"version srcaddr\n2 10.0.0.1\nvpc-id srcaddr\nvpc-1 10.0.0.3\n";
    let (batch, rejects, counts) = parse(input);
    assert!(rejects.is_empty());
    assert_eq!(counts.headers, 2);
    assert_eq!(int(&batch, "version", 0), Some(2));
    assert_eq!(int(&batch, "version", 1), None);
    assert_eq!(text(&batch, "vpc_id", 0), None);
    assert_eq!(text(&batch, "vpc_id", 1).as_deref(), Some("vpc-1"));
    assert_eq!(field_id("vpc-id").map(|_| ()), Some(()));
}

const GOOD: &[u8] =
    b"2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1716595200 1716595260 ACCEPT OK\n";

#[test]
fn an_overlong_line_is_rejected_in_any_chunking_and_never_held_whole() {
    let limits = LineLimits {
        max_line_bytes: 200,
        ..LineLimits::default()
    };
    let long = vec![b'7'; 100_000];
    let input = [GOOD, &long, b"\n", GOOD, &long].concat();
    for chunk in [1usize, 7, 150, 1 << 20] {
        let mut d = Decoder::new(Format::default_vpc(), 1, 16).with_limits(limits);
        for piece in input.chunks(chunk) {
            d.decode(piece);
            assert!(d.carry.capacity() <= 64 << 10, "chunk {chunk}: carry grew");
        }
        d.finish();
        let rejects = d.take_rejects();
        assert_eq!(d.counts().records, 2, "chunk {chunk}");
        assert_eq!(rejects.len(), 2, "chunk {chunk}");
        assert_eq!((rejects[0].line, rejects[1].line), (2, 4));
        for r in &rejects {
            assert_eq!(
                r.reason,
                RejectReason::LineTooLong {
                    bytes: 100_000,
                    max: 200
                }
            );
            assert_eq!(r.raw.len(), crate::reject::MAX_RAW_LINE);
        }
    }
    // Exactly at the limit is fine (and then fails on its fields, not length).
    let mut d = Decoder::new(Format::default_vpc(), 1, 16).with_limits(limits);
    d.decode(&[b'x'; 200]);
    d.finish();
    assert_eq!(d.take_rejects()[0].reason.kind(), "field_count");
}

#[test]
fn unbelievable_times_are_rejected_lines() {
    let now = 1_764_547_200_000; // 2025-12-01T00:00:00Z
    let limits = LineLimits {
        times: TimeBounds::until(now),
        ..LineLimits::default()
    };
    let line = |start: &str, end: &str| {
        format!("2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 {start} {end} ACCEPT OK\n")
    };
    let input = [
        line("1716595200", "1716595260"),
        line("999999999999999999", "999999999999999999"),
        line("1000", "1716595260"),
        line("1716595260", "1716595200"),
        line("1716595200", "1864633600"),
        line("-", "1716595260"),
    ]
    .concat();
    let mut d = Decoder::new(Format::default_vpc(), 1, 16).with_limits(limits);
    d.decode(input.as_bytes());
    d.finish();
    let kinds: Vec<(u64, &str)> = d
        .take_rejects()
        .iter()
        .map(|r| (r.line, r.reason.kind()))
        .collect();
    assert_eq!(
        kinds,
        [
            (2, "time_out_of_range"),
            (3, "time_out_of_range"),
            (4, "end_before_start"),
            (5, "time_out_of_range")
        ]
    );
    assert_eq!(d.counts().records, 2);
}
