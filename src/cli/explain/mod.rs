//! `flowlake explain`: why each rejected record was rejected, judged
//! against the inventory as of the record's start. The records come from
//! one DataFusion query over `flows` (with companions found by joins);
//! each distinct input is evaluated once, in Rust.

use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use arrow::array::{
    Array, ArrayBuilder, ArrayRef, AsArray, BooleanBuilder, Int64Builder, RecordBatch,
    StringBuilder,
};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema};
use clap::{Args, ValueEnum};
use flowlake_context::explain::{
    Direction, Explainer, ExplainerLimits, Explanation, RejectInput, SilentInput, render_text,
};
use flowlake_context::store;
use flowlake_query::{ParquetStream, for_each_batch, open_session};
use serde_json::{Map, Value};

use super::Outcome;
use super::lake_args::{LakeArgs, MemoryArgs};
use super::report::TimeArgs;
use super::sql::{open_output, threads};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ExplainFormat {
    /// A header line and the explanation per record.
    Table,
    /// A JSON array of records with their explanation.
    Json,
    /// Parquet with the columns of `reject_explanations` (use --output).
    Parquet,
}

#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    #[command(flatten)]
    lake: LakeArgs,

    /// Only records matching this SQL predicate on `flows`
    /// (e.g. "interface_id = 'eni-0web' AND dstport = 3389").
    #[arg(long = "where", value_name = "PREDICATE")]
    filter: Option<String>,

    #[command(flatten)]
    time: TimeArgs,

    #[command(flatten)]
    memory: MemoryArgs,

    /// Instead of REJECTs: accepted egress records that never got an answer
    /// (no ingress of the reversed 5-tuple on any interface within 600 s)
    /// from a subnet with no route to the destination, or a blackhole.
    #[arg(long)]
    silent_drops: bool,

    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: ExplainFormat,

    /// Write to this file instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,

    /// Distinct evaluations kept for reuse (bounds explain's own memory;
    /// records whose answer was dropped are evaluated again, identically).
    #[arg(
        long,
        env = "FLOWLAKE_EXPLAIN_CACHE",
        value_name = "ENTRIES",
        default_value_t = ExplainerLimits::default().answers
    )]
    cache_entries: usize,
}

const QUERY: &str = r#"
WITH r AS (
  SELECT interface_id, flow_direction, srcaddr, dstaddr, pkt_srcaddr, pkt_dstaddr,
         srcport, dstport, protocol, tcp_flags, reject_reason, "start", "end"
  FROM flows
  WHERE action = 'REJECT' AND (log_status IS NULL OR log_status = 'OK') AND ({where})
),
a AS (
  SELECT interface_id, srcaddr, dstaddr, srcport, dstport, protocol, "start"
  FROM flows WHERE action = 'ACCEPT'
),
companion AS (
  SELECT DISTINCT r.interface_id, r.srcaddr, r.dstaddr, r.srcport, r.dstport, r.protocol, r."start"
  FROM r JOIN a
    ON a.interface_id = r.interface_id AND a.srcaddr = r.dstaddr AND a.dstaddr = r.srcaddr
   AND a.srcport = r.dstport AND a.dstport = r.srcport AND a.protocol = r.protocol
  WHERE a."start" >= r."start" - 600 AND a."start" <= r."end"
),
prior AS (
  SELECT DISTINCT r.interface_id, r.srcaddr, r.dstaddr, r.srcport, r.dstport, r.protocol, r."start"
  FROM r JOIN a
    ON a.interface_id = r.interface_id AND a.srcaddr = r.srcaddr AND a.dstaddr = r.dstaddr
   AND a.srcport = r.srcport AND a.dstport = r.dstport AND a.protocol = r.protocol
  WHERE a."start" >= r."start" - 600 AND a."start" < r."start"
)
SELECT r.*, c.interface_id IS NOT NULL AS has_companion, p.interface_id IS NOT NULL AS has_prior_accept
FROM r
LEFT JOIN companion c
  ON c.interface_id = r.interface_id AND c.srcaddr = r.srcaddr AND c.dstaddr = r.dstaddr
 AND c.srcport = r.srcport AND c.dstport = r.dstport AND c.protocol = r.protocol AND c."start" = r."start"
LEFT JOIN prior p
  ON p.interface_id = r.interface_id AND p.srcaddr = r.srcaddr AND p.dstaddr = r.dstaddr
 AND p.srcport = r.srcport AND p.dstport = r.dstport AND p.protocol = r.protocol AND p."start" = r."start"
ORDER BY r."start", r.interface_id, r.srcaddr, r.dstaddr, r.srcport, r.dstport
"#;

const SILENT_QUERY: &str = r#"
WITH e AS (
  SELECT interface_id, flow_direction, srcaddr, dstaddr, pkt_srcaddr, pkt_dstaddr,
         srcport, dstport, protocol, tcp_flags, reject_reason, "start", "end"
  FROM flows
  WHERE action = 'ACCEPT' AND flow_direction = 'egress' AND ({where})
),
i AS (
  SELECT srcaddr, dstaddr, srcport, dstport, protocol, "start"
  FROM flows WHERE flow_direction = 'ingress'
),
answered AS (
  SELECT DISTINCT e.interface_id, e.srcaddr, e.dstaddr, e.srcport, e.dstport, e.protocol, e."start"
  FROM e JOIN i
    ON i.srcaddr = COALESCE(e.pkt_dstaddr, e.dstaddr) AND i.dstaddr = COALESCE(e.pkt_srcaddr, e.srcaddr)
   AND i.srcport = e.dstport AND i.dstport = e.srcport AND i.protocol = e.protocol
  WHERE i."start" >= e."start" - 600 AND i."start" <= e."end" + 600
)
SELECT e.*, false AS has_companion, false AS has_prior_accept
FROM e LEFT JOIN answered a
  ON a.interface_id = e.interface_id AND a.srcaddr = e.srcaddr AND a.dstaddr = e.dstaddr
 AND a.srcport = e.srcport AND a.dstport = e.dstport AND a.protocol = e.protocol AND a."start" = e."start"
WHERE a.interface_id IS NULL
ORDER BY e."start", e.interface_id, e.srcaddr, e.dstaddr, e.srcport, e.dstport
"#;

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
struct Record {
    input: RejectInput,
    end: Option<i64>,
    srcport: Option<i32>,
}

fn records(batch: &RecordBatch) -> anyhow::Result<Vec<Record>> {
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
            end: end[i],
            srcport: small(sport[i]),
        });
    }
    Ok(out)
}

/// The flow key and explanation as one JSON object (§2.7).
fn row(r: &Record, e: &Explanation) -> Value {
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

/// The schema of `reject_explanations`.
fn explanations_schema() -> Arc<Schema> {
    use DataType::{Boolean, Int64, Utf8};
    let fields = [
        ("interface_id", Utf8),
        ("start", Int64),
        ("end", Int64),
        ("srcaddr", Utf8),
        ("dstaddr", Utf8),
        ("srcport", Int64),
        ("dstport", Int64),
        ("protocol", Int64),
        ("flow_direction", Utf8),
        ("verdict", Utf8),
        ("code", Utf8),
        ("confidence", Utf8),
        ("direction", Utf8),
        ("packet_kind", Utf8),
        ("sg_ids", Utf8),
        ("sg_result", Utf8),
        ("acl_id", Utf8),
        ("acl_result", Utf8),
        ("acl_rule_number", Int64),
        ("rule_text", Utf8),
        ("nearest_rule", Utf8),
        ("owner", Utf8),
        ("bpa", Utf8),
        ("snapshot_at", Utf8),
        ("snapshot_age_s", Int64),
        ("config_gap", Boolean),
        ("flags", Utf8),
        ("hints", Utf8),
        ("summary", Utf8),
    ];
    Arc::new(Schema::new(
        fields
            .into_iter()
            .map(|(n, t)| Field::new(n, t, true))
            .collect::<Vec<_>>(),
    ))
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
struct ExplanationColumns {
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
    rows: usize,
}

fn direction_name(d: Option<Direction>) -> Option<&'static str> {
    d.map(|d| match d {
        Direction::Ingress => "ingress",
        Direction::Egress => "egress",
    })
}

impl ExplanationColumns {
    fn push(&mut self, r: &Record, e: &Explanation) -> anyhow::Result<()> {
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
        self.rows += 1;
        Ok(())
    }

    /// The rows so far as one batch of `schema`; the builders start over.
    fn finish(&mut self, schema: &Arc<Schema>) -> anyhow::Result<RecordBatch> {
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
        ];
        self.rows = 0;
        Ok(RecordBatch::try_new(schema.clone(), columns)?)
    }
}

/// What an unanswered accepted egress record asks of the route tables.
fn silent_input(r: &RejectInput) -> Option<SilentInput> {
    Some(SilentInput {
        interface_id: r.interface_id.clone(),
        destination: r.pkt_dstaddr.or(r.dstaddr)?,
        protocol: r.protocol?,
        dstport: r.dstport,
        at: r.at,
    })
}

/// Where explanations go, written as they come: nothing but the rows of
/// the current query batch is held.
enum Sink<'a> {
    /// The text form, record by record.
    Table(&'a mut (dyn Write + Send)),
    /// One JSON array, element by element.
    Json {
        out: &'a mut (dyn Write + Send),
        first: bool,
    },
    /// `reject_explanations` rows, one Parquet write per query batch.
    Parquet {
        schema: Arc<Schema>,
        writer: Box<ParquetStream<'a>>,
        rows: Box<ExplanationColumns>,
    },
}

impl<'a> Sink<'a> {
    fn new(format: ExplainFormat, out: &'a mut (dyn Write + Send)) -> anyhow::Result<Sink<'a>> {
        Ok(match format {
            ExplainFormat::Table => Sink::Table(out),
            ExplainFormat::Json => {
                write!(out, "[")?;
                Sink::Json { out, first: true }
            }
            ExplainFormat::Parquet => {
                let schema = explanations_schema();
                Sink::Parquet {
                    writer: Box::new(ParquetStream::new(out, schema.clone())?),
                    schema,
                    rows: Box::default(),
                }
            }
        })
    }

    fn push(&mut self, r: &Record, e: &Explanation) -> anyhow::Result<()> {
        match self {
            Sink::Table(out) => writeln!(out, "{}", render_text(&r.input, e, r.srcport))?,
            Sink::Json { out, first } => {
                if !*first {
                    write!(out, ",")?;
                }
                *first = false;
                write!(out, "{}", row(r, e))?;
            }
            Sink::Parquet { rows, .. } => rows.push(r, e)?,
        }
        Ok(())
    }

    fn end_batch(&mut self) -> anyhow::Result<()> {
        if let Sink::Parquet {
            schema,
            writer,
            rows,
        } = self
            && rows.rows > 0
        {
            writer.write(&rows.finish(schema)?)?;
        }
        Ok(())
    }

    fn finish(mut self) -> anyhow::Result<()> {
        self.end_batch()?;
        match self {
            Sink::Table(_) => {}
            Sink::Json { out, .. } => writeln!(out, "]")?,
            Sink::Parquet { writer, .. } => writer.finish()?,
        }
        Ok(())
    }
}

pub(crate) async fn run(args: ExplainArgs) -> anyhow::Result<Outcome> {
    let lake = args.lake.open_existing().await?;
    let began = Instant::now();
    let inventory = store::load(&lake).await?;
    if inventory.snapshots.is_empty() {
        tracing::warn!(
            "No inventory in this lake: every record is NO_INVENTORY (import one with `flowlake inventory import`)."
        );
    }
    let location = args.lake.open_for_query().await?;
    let ctx = open_session(
        &location,
        &args.time.range()?,
        threads(),
        &args.memory.settings(),
    )
    .await?;
    let filter = args.filter.as_deref().unwrap_or("TRUE");
    let query = if args.silent_drops {
        SILENT_QUERY
    } else {
        QUERY
    };
    let sql = query.replace("{where}", filter);
    let mut explainer = Explainer::with_limits(
        &inventory,
        ExplainerLimits {
            answers: args.cache_entries,
            ..ExplainerLimits::default()
        },
    );
    let mut out = open_output(args.output.as_ref())?;
    let mut sink = Sink::new(args.format, &mut *out)?;
    for_each_batch(&ctx, &sql, |batch| -> anyhow::Result<()> {
        for r in records(&batch)? {
            let e = if args.silent_drops {
                let Some(input) = silent_input(&r.input) else {
                    continue;
                };
                match explainer.silent_drop(&input) {
                    Some(e) => e,
                    None => continue,
                }
            } else {
                explainer.explain(&r.input)
            };
            sink.push(&r, &e)?;
        }
        sink.end_batch()
    })
    .await?;
    sink.finish()?;
    out.flush()?;
    tracing::info!(
        records = explainer.records,
        evaluations = explainer.evaluations,
        total_ms = began.elapsed().as_millis() as u64,
        "Explained."
    );
    Ok(Outcome::Done)
}
