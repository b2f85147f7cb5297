//! The query's rows as what explain needs: one [`Record`] per row.

use std::net::IpAddr;

use anyhow::Context;
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use flowlake_context::explain::{Direction, RejectInput, SilentInput};

/// One column of a result, cast to one type, by name.
struct Columns<'a>(&'a RecordBatch);

impl Columns<'_> {
    fn text(&self, name: &str) -> anyhow::Result<Vec<Option<String>>> {
        let col = self
            .0
            .column_by_name(name)
            .with_context(|| format!("no column {name}"))?;
        let col = cast(col, &DataType::Utf8)?;
        let col = col.as_string::<i32>();
        Ok((0..col.len())
            .map(|i| (!col.is_null(i)).then(|| col.value(i).to_owned()))
            .collect())
    }

    fn int(&self, name: &str) -> anyhow::Result<Vec<Option<i64>>> {
        let col = self
            .0
            .column_by_name(name)
            .with_context(|| format!("no column {name}"))?;
        let col = cast(col, &DataType::Int64)?;
        let col = col.as_primitive::<arrow::datatypes::Int64Type>();
        Ok((0..col.len())
            .map(|i| (!col.is_null(i)).then(|| col.value(i)))
            .collect())
    }

    fn flag(&self, name: &str) -> anyhow::Result<Vec<bool>> {
        Ok(self
            .int(name)?
            .into_iter()
            .map(|v| v.unwrap_or(0) != 0)
            .collect())
    }
}

/// A rejected record: its flow key and what explain needs.
pub(super) struct Record {
    /// What the explainer judges.
    pub(super) input: RejectInput,
    /// The record's start as stored (`input.at` reads a missing one as 0).
    pub(super) start: Option<i64>,
    /// The rest of the flow key, carried to the output.
    pub(super) end: Option<i64>,
    pub(super) srcport: Option<i32>,
}

/// The records of one query batch, in its order.
pub(super) fn records(batch: &RecordBatch) -> anyhow::Result<Vec<Record>> {
    let c = Columns(batch);
    let ip = |v: &Option<String>| v.as_deref().and_then(|s| s.parse::<IpAddr>().ok());
    let small = |v: Option<i64>| v.and_then(|v| i32::try_from(v).ok());
    let (eni, dir, src, dst, psrc, pdst) = (
        c.text("interface_id")?,
        c.text("flow_direction")?,
        c.text("srcaddr")?,
        c.text("dstaddr")?,
        c.text("pkt_srcaddr")?,
        c.text("pkt_dstaddr")?,
    );
    let (sport, dport, proto, flags, start, end) = (
        c.int("srcport")?,
        c.int("dstport")?,
        c.int("protocol")?,
        c.int("tcp_flags")?,
        c.int("start")?,
        c.int("end")?,
    );
    let (reason, companion, prior) = (
        c.text("reject_reason")?,
        c.flag("has_companion")?,
        c.flag("has_prior_accept")?,
    );
    let mut out = Vec::with_capacity(batch.num_rows());
    for i in 0..batch.num_rows() {
        let direction = match dir[i].as_deref() {
            Some("ingress") => Some(Direction::Ingress),
            Some("egress") => Some(Direction::Egress),
            _ => None,
        };
        out.push(Record {
            input: RejectInput {
                interface_id: eni[i].clone().unwrap_or_default(),
                direction,
                srcaddr: ip(&src[i]),
                dstaddr: ip(&dst[i]),
                pkt_srcaddr: ip(&psrc[i]),
                pkt_dstaddr: ip(&pdst[i]),
                dstport: small(dport[i]),
                protocol: small(proto[i]),
                tcp_flags: small(flags[i]),
                reject_reason: reason[i].clone().filter(|r| r != "-"),
                has_companion: companion[i],
                has_prior_accept: prior[i],
                at: start[i].unwrap_or(0),
            },
            start: start[i],
            end: end[i],
            srcport: small(sport[i]),
        });
    }
    Ok(out)
}

/// What an unanswered accepted egress record asks of the route tables.
pub(super) fn silent_input(r: &RejectInput) -> Option<SilentInput> {
    Some(SilentInput {
        interface_id: r.interface_id.clone(),
        destination: r.pkt_dstaddr.or(r.dstaddr)?,
        protocol: r.protocol?,
        dstport: r.dstport,
        at: r.at,
    })
}
