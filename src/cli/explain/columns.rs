//! An explanation as output: the JSON object of §2.7 (`--format json`) and
//! the columns of `reject_explanations` (`--format parquet`, `--save`),
//! whose schema is `flowlake_schemas::explanations`.

use std::net::IpAddr;

use arrow::array::{
    ArrayBuilder, ArrayRef, BooleanBuilder, Int64Builder, RecordBatch, StringBuilder,
};
use arrow::datatypes::SchemaRef;
use flowlake_context::explain::{Direction, Explanation};
use flowlake_schemas::explanations::explanations_schema;
use serde_json::{Map, Value};

use super::records::Record;

/// The flow key and explanation as one JSON object (§2.7).
pub(super) fn row(r: &Record, e: &Explanation) -> Value {
    let mut out = Map::new();
    let i = &r.input;
    let addr = |a: Option<IpAddr>| a.map_or(Value::Null, |a| Value::from(a.to_string()));
    out.insert("interface_id".into(), Value::from(i.interface_id.clone()));
    out.insert("start".into(), Value::from(i.at));
    out.insert("end".into(), r.end.map_or(Value::Null, Value::from));
    out.insert("srcaddr".into(), addr(i.srcaddr));
    out.insert("dstaddr".into(), addr(i.dstaddr));
    out.insert("srcport".into(), r.srcport.map_or(Value::Null, Value::from));
    out.insert("dstport".into(), i.dstport.map_or(Value::Null, Value::from));
    out.insert(
        "protocol".into(),
        i.protocol.map_or(Value::Null, Value::from),
    );
    out.insert(
        "flow_direction".into(),
        serde_json::to_value(i.direction).unwrap_or_default(),
    );
    if let Ok(Value::Object(fields)) = serde_json::to_value(e) {
        out.extend(fields);
    }
    Value::Object(out)
}

/// Nested parts of an explanation as JSON text, as serde_json prints
/// them (keys sorted), so any engine reads them.
fn json_text<T: serde::Serialize>(part: &T) -> anyhow::Result<Option<String>> {
    Ok(match serde_json::to_value(part)? {
        Value::Null => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    })
}

/// `reject_explanations` rows being built, one builder per column of
/// [`explanations_schema`], in its order.
#[derive(Default)]
pub(super) struct ExplanationColumns {
    interface_id: StringBuilder,
    start: Int64Builder,
    end: Int64Builder,
    srcaddr: StringBuilder,
    dstaddr: StringBuilder,
    srcport: Int64Builder,
    dstport: Int64Builder,
    protocol: Int64Builder,
    flow_direction: StringBuilder,
    verdict: StringBuilder,
    code: StringBuilder,
    confidence: StringBuilder,
    direction: StringBuilder,
    packet_kind: StringBuilder,
    sg_ids: StringBuilder,
    sg_result: StringBuilder,
    acl_id: StringBuilder,
    acl_result: StringBuilder,
    acl_rule_number: Int64Builder,
    rule_text: StringBuilder,
    nearest_rule: StringBuilder,
    owner: StringBuilder,
    bpa: StringBuilder,
    snapshot_at: StringBuilder,
    snapshot_age_s: Int64Builder,
    config_gap: BooleanBuilder,
    flags: StringBuilder,
    hints: StringBuilder,
    summary: StringBuilder,
    explained_at: StringBuilder,
    /// This run's time, RFC 3339, for every row's `explained_at`.
    run_at: String,
    /// Rows pushed since the last [`ExplanationColumns::finish`].
    pub(super) rows: usize,
}

fn direction_name(d: Option<Direction>) -> Option<&'static str> {
    d.map(|d| match d {
        Direction::Ingress => "ingress",
        Direction::Egress => "egress",
    })
}

impl ExplanationColumns {
    /// Empty columns for a run that started at `run_at` (RFC 3339).
    pub(super) fn new(run_at: String) -> ExplanationColumns {
        ExplanationColumns {
            run_at,
            ..ExplanationColumns::default()
        }
    }

    /// Appends one record's row.
    pub(super) fn push(&mut self, r: &Record, e: &Explanation) -> anyhow::Result<()> {
        let i = &r.input;
        let sg = e.security_groups.as_ref();
        let acl = e.acl.as_ref();
        self.interface_id.append_value(&i.interface_id);
        self.start.append_value(i.at);
        self.end.append_option(r.end);
        self.srcaddr.append_option(i.srcaddr.map(|a| a.to_string()));
        self.dstaddr.append_option(i.dstaddr.map(|a| a.to_string()));
        self.srcport.append_option(r.srcport.map(i64::from));
        self.dstport.append_option(i.dstport.map(i64::from));
        self.protocol.append_option(i.protocol.map(i64::from));
        self.flow_direction
            .append_option(direction_name(i.direction));
        self.verdict.append_value(e.verdict.as_str());
        self.code.append_option(e.code.as_deref());
        self.confidence.append_value(e.confidence.as_str());
        self.direction.append_option(direction_name(e.direction));
        self.packet_kind.append_option(json_text(&e.packet_kind)?);
        self.sg_ids.append_option(sg.map(|g| g.ids.join(",")));
        self.sg_result.append_option(sg.map(|g| g.result));
        self.acl_id.append_option(acl.and_then(|a| a.id.as_deref()));
        self.acl_result.append_option(acl.map(|a| a.result));
        self.acl_rule_number
            .append_option(acl.and_then(|a| a.rule_number).map(i64::from));
        self.rule_text
            .append_option(acl.and_then(|a| a.rule.as_deref()));
        self.nearest_rule
            .append_option(json_text(&sg.and_then(|g| g.nearest_rule.as_ref()))?);
        self.owner.append_option(json_text(&e.owner)?);
        self.bpa.append_option(json_text(&e.bpa)?);
        self.snapshot_at.append_option(e.snapshot_at.as_deref());
        self.snapshot_age_s.append_option(e.snapshot_age_s);
        self.config_gap.append_value(e.config_gap);
        self.flags.append_option(json_text(&e.flags)?);
        self.hints.append_option(json_text(&e.hints)?);
        self.summary.append_value(&e.summary);
        self.explained_at.append_value(&self.run_at);
        self.rows += 1;
        Ok(())
    }

    /// The rows so far as one batch of `reject_explanations`; the builders
    /// start over.
    pub(super) fn finish(&mut self) -> anyhow::Result<RecordBatch> {
        fn a(b: &mut impl ArrayBuilder) -> ArrayRef {
            b.finish()
        }
        let columns = vec![
            a(&mut self.interface_id),
            a(&mut self.start),
            a(&mut self.end),
            a(&mut self.srcaddr),
            a(&mut self.dstaddr),
            a(&mut self.srcport),
            a(&mut self.dstport),
            a(&mut self.protocol),
            a(&mut self.flow_direction),
            a(&mut self.verdict),
            a(&mut self.code),
            a(&mut self.confidence),
            a(&mut self.direction),
            a(&mut self.packet_kind),
            a(&mut self.sg_ids),
            a(&mut self.sg_result),
            a(&mut self.acl_id),
            a(&mut self.acl_result),
            a(&mut self.acl_rule_number),
            a(&mut self.rule_text),
            a(&mut self.nearest_rule),
            a(&mut self.owner),
            a(&mut self.bpa),
            a(&mut self.snapshot_at),
            a(&mut self.snapshot_age_s),
            a(&mut self.config_gap),
            a(&mut self.flags),
            a(&mut self.hints),
            a(&mut self.summary),
            a(&mut self.explained_at),
        ];
        self.rows = 0;
        let schema: SchemaRef = explanations_schema();
        Ok(RecordBatch::try_new(schema, columns)?)
    }
}
