//! Where `explain` writes when it does not save: standard output or a file,
//! in the text, JSON or Parquet form.

use std::io::Write;

use flowlake_context::explain::{Explanation, render_text};
use flowlake_query::ParquetStream;
use flowlake_schemas::explanations::explanations_schema;

use super::ExplainFormat;
use super::columns::{ExplanationColumns, row};
use super::records::Record;

/// Where explanations go, written as they come: nothing but the rows of
/// the current query batch is held.
pub(super) enum Sink<'a> {
    /// The text form, record by record.
    Table(&'a mut (dyn Write + Send)),
    /// One JSON array, element by element.
    Json {
        out: &'a mut (dyn Write + Send),
        first: bool,
    },
    /// `reject_explanations` rows, one Parquet write per query batch.
    Parquet {
        writer: Box<ParquetStream<'a>>,
        rows: Box<ExplanationColumns>,
    },
}

impl<'a> Sink<'a> {
    /// Starts the output (`run_at`: the run's time, RFC 3339, for the
    /// Parquet form's `explained_at`).
    pub(super) fn new(
        format: ExplainFormat,
        out: &'a mut (dyn Write + Send),
        run_at: String,
    ) -> anyhow::Result<Sink<'a>> {
        Ok(match format {
            ExplainFormat::Table => Sink::Table(out),
            ExplainFormat::Json => {
                write!(out, "[")?;
                Sink::Json { out, first: true }
            }
            ExplainFormat::Parquet => Sink::Parquet {
                writer: Box::new(ParquetStream::new(out, explanations_schema())?),
                rows: Box::new(ExplanationColumns::new(run_at)),
            },
        })
    }

    /// Writes one record's explanation.
    pub(super) fn push(&mut self, r: &Record, e: &Explanation) -> anyhow::Result<()> {
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

    /// Flushes what the current query batch produced.
    pub(super) fn end_batch(&mut self) -> anyhow::Result<()> {
        if let Sink::Parquet { writer, rows } = self
            && rows.rows > 0
        {
            writer.write(&rows.finish()?)?;
        }
        Ok(())
    }

    /// Ends the output (the JSON array's bracket, the Parquet footer).
    pub(super) fn finish(mut self) -> anyhow::Result<()> {
        self.end_batch()?;
        match self {
            Sink::Table(_) => {}
            Sink::Json { out, .. } => writeln!(out, "]")?,
            Sink::Parquet { writer, .. } => writer.finish()?,
        }
        Ok(())
    }
}
