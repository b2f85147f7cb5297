//! Catalog metadata for clients that browse before they query (DBeaver,
//! JDBC, Grafana's query builder): catalogs, schemas, tables with their
//! columns, table types and the server's SQL info, from the session's
//! catalog.

use std::sync::Arc;

use arrow::array::{RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::sql::metadata::{SqlInfoData, SqlInfoDataBuilder};
use arrow_flight::sql::{CommandGetCatalogs, CommandGetDbSchemas, CommandGetTables, SqlInfo};
use datafusion::logical_expr::TableType;
use flowlake_query::SessionContext;
use futures::TryStreamExt;
use tonic::{Response, Status};

use crate::service::LakeFlightSql;

type DoGetStream =
    <LakeFlightSql as arrow_flight::flight_service_server::FlightService>::DoGetStream;

/// What `GetSqlInfo` answers: who we are, and that we are read-only.
pub(crate) fn sql_info() -> SqlInfoData {
    let mut builder = SqlInfoDataBuilder::new();
    builder.append(SqlInfo::FlightSqlServerName, "flowlake");
    builder.append(SqlInfo::FlightSqlServerVersion, env!("CARGO_PKG_VERSION"));
    builder.append(SqlInfo::FlightSqlServerArrowVersion, "1.3");
    builder.append(SqlInfo::FlightSqlServerReadOnly, true);
    builder.append(SqlInfo::FlightSqlServerSql, true);
    builder.append(SqlInfo::FlightSqlServerSubstrait, false);
    builder.append(SqlInfo::FlightSqlServerTransaction, 0_i32);
    builder.append(SqlInfo::FlightSqlServerCancel, false);
    builder.append(SqlInfo::SqlIdentifierQuoteChar, "\"");
    // Fails only when one id is given two types: fixed above, not input.
    #[allow(clippy::expect_used)]
    builder
        .build()
        .expect("flowlake's SQL info has one type per id")
}

/// One batch as a Flight data stream.
#[allow(clippy::result_large_err)]
pub(crate) fn one_batch<E: std::fmt::Display>(
    schema: SchemaRef,
    batch: Result<RecordBatch, E>,
) -> Result<Response<DoGetStream>, Status> {
    let batch = batch.map_err(|e| Status::internal(e.to_string()))?;
    let stream = FlightDataEncoderBuilder::new()
        .with_schema(schema)
        .build(futures::stream::iter([Ok(batch)]))
        .map_err(Status::from);
    Ok(Response::new(Box::pin(stream)))
}

#[allow(clippy::result_large_err)]
pub(crate) fn catalogs(
    ctx: &SessionContext,
    query: CommandGetCatalogs,
) -> Result<Response<DoGetStream>, Status> {
    let mut builder = query.into_builder();
    for catalog in ctx.catalog_names() {
        builder.append(catalog);
    }
    one_batch(builder.schema(), builder.build())
}

#[allow(clippy::result_large_err)]
pub(crate) fn schemas(
    ctx: &SessionContext,
    query: CommandGetDbSchemas,
) -> Result<Response<DoGetStream>, Status> {
    let mut builder = query.into_builder();
    for catalog_name in ctx.catalog_names() {
        if let Some(catalog) = ctx.catalog(&catalog_name) {
            for schema in catalog.schema_names() {
                builder.append(&catalog_name, schema);
            }
        }
    }
    one_batch(builder.schema(), builder.build())
}

pub(crate) async fn tables(
    ctx: &SessionContext,
    query: CommandGetTables,
) -> Result<Response<DoGetStream>, Status> {
    let mut builder = query.into_builder();
    for catalog_name in ctx.catalog_names() {
        let Some(catalog) = ctx.catalog(&catalog_name) else {
            continue;
        };
        for schema_name in catalog.schema_names() {
            let Some(schema) = catalog.schema(&schema_name) else {
                continue;
            };
            for table_name in schema.table_names() {
                let Ok(Some(table)) = schema.table(&table_name).await else {
                    continue;
                };
                let kind = match table.table_type() {
                    TableType::View => "VIEW",
                    TableType::Base | TableType::Temporary => "TABLE",
                };
                builder
                    .append(
                        &catalog_name,
                        &schema_name,
                        &table_name,
                        kind,
                        &table.schema(),
                    )
                    .map_err(|e| Status::internal(e.to_string()))?;
            }
        }
    }
    one_batch(builder.schema(), builder.build())
}

/// `GetTableTypes`' fixed schema.
pub(crate) fn table_types_schema() -> Schema {
    Schema::new(vec![Field::new("table_type", DataType::Utf8, false)])
}

#[allow(clippy::result_large_err)]
pub(crate) fn table_types() -> Result<Response<DoGetStream>, Status> {
    let schema = Arc::new(table_types_schema());
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(StringArray::from(vec!["TABLE", "VIEW"]))],
    );
    one_batch(schema, batch)
}
