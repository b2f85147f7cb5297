//! Results as they come: a query's batches handed to a consumer one at a
//! time, and Parquet written batch by batch, so a large result is never
//! held whole (memory stays at the session's limit plus what the consumer
//! keeps).

use std::io::Write;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use futures::stream::BoxStream;
use parquet::arrow::ArrowWriter;

use crate::{QueryError, explain_failure};

/// Runs one SQL statement and calls `each` with every result batch, in
/// order, as the query produces them. Returns the result's schema.
pub async fn for_each_batch<E>(
    ctx: &SessionContext,
    sql: &str,
    mut each: impl FnMut(RecordBatch) -> Result<(), E>,
) -> Result<SchemaRef, E>
where
    E: From<QueryError>,
{
    let (schema, mut stream) = batch_stream(ctx, sql).await?;
    while let Some(batch) = stream.next().await {
        each(batch?)?;
    }
    Ok(schema)
}

/// One SQL statement's result schema and its batches as a stream, for a
/// consumer that awaits between batches (`explain --save` uploads a day
/// while the query waits). Failures read as [`for_each_batch`]'s do.
pub async fn batch_stream(
    ctx: &SessionContext,
    sql: &str,
) -> Result<
    (
        SchemaRef,
        BoxStream<'static, Result<RecordBatch, QueryError>>,
    ),
    QueryError,
> {
    let df = ctx.sql(sql).await?;
    let schema = df.schema().inner().clone();
    let stream = df
        .execute_stream()
        .await
        .map_err(|e| explain_failure(ctx, e))?;
    let ctx = ctx.clone();
    let stream = stream.map(move |batch| batch.map_err(|e| explain_failure(&ctx, e)));
    Ok((schema, stream.boxed()))
}

/// A Parquet file written batch by batch (the writer buffers at most one
/// row group).
pub struct ParquetStream<'a> {
    writer: ArrowWriter<&'a mut (dyn Write + Send)>,
}

impl std::fmt::Debug for ParquetStream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetStream").finish_non_exhaustive()
    }
}

impl<'a> ParquetStream<'a> {
    /// Starts a file with `schema` on `out`.
    pub fn new(out: &'a mut (dyn Write + Send), schema: SchemaRef) -> Result<Self, QueryError> {
        Ok(ParquetStream {
            writer: ArrowWriter::try_new(out, schema, None)?,
        })
    }

    /// Appends one batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), QueryError> {
        Ok(self.writer.write(batch)?)
    }

    /// Writes the footer.
    pub fn finish(self) -> Result<(), QueryError> {
        self.writer.close()?;
        Ok(())
    }
}
