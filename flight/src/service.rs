//! The Flight SQL service: statements and prepared statements through the
//! query crate's read-only guard, one session per statement (so a
//! statement sees what was committed when it started, and holds its own
//! memory pool).

use std::pin::Pin;
use std::sync::Arc;

use arrow::datatypes::Schema;
use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError as ArrowFlightError;
use arrow_flight::flight_service_server::FlightService;
use arrow_flight::sql::metadata::SqlInfoData;
use arrow_flight::sql::server::{FlightSqlService, PeekableFlightDataStream};
use arrow_flight::sql::{
    ActionClosePreparedStatementRequest, ActionCreatePreparedStatementRequest,
    ActionCreatePreparedStatementResult, CommandGetCatalogs, CommandGetDbSchemas,
    CommandGetSqlInfo, CommandGetTableTypes, CommandGetTables, CommandPreparedStatementQuery,
    CommandPreparedStatementUpdate, CommandStatementIngest, CommandStatementQuery,
    CommandStatementUpdate, DoPutPreparedStatementResult, ProstMessageExt, SqlInfo,
    TicketStatementQuery,
};
use arrow_flight::{
    Action, FlightDescriptor, FlightEndpoint, FlightInfo, HandshakeRequest, HandshakeResponse,
    IpcMessage, SchemaAsIpc, Ticket,
};
use datafusion::logical_expr::LogicalPlan;
use flowlake_query::{QueryError, SessionContext, TimeRange, open_session, plan_read_only};
use futures::{Stream, TryStreamExt};
use prost::Message;
use tonic::{Request, Response, Status, Streaming};

use crate::FlightOptions;
use crate::metadata;

type DoGetStream = <LakeFlightSql as FlightService>::DoGetStream;

/// The lake as a Flight SQL server.
#[derive(Clone)]
pub struct LakeFlightSql {
    options: Arc<FlightOptions>,
    sql_info: Arc<SqlInfoData>,
}

impl std::fmt::Debug for LakeFlightSql {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LakeFlightSql")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl LakeFlightSql {
    /// A service over `options.lake`.
    pub fn new(options: FlightOptions) -> LakeFlightSql {
        LakeFlightSql {
            options: Arc::new(options),
            sql_info: Arc::new(metadata::sql_info()),
        }
    }

    async fn session(&self) -> Result<SessionContext, Status> {
        let o = &self.options;
        open_session(&o.lake, &TimeRange::default(), o.threads, &o.memory)
            .await
            .map_err(refusal)
    }

    /// A session and the read-only plan of `sql` in it.
    async fn plan(&self, sql: &str) -> Result<(SessionContext, LogicalPlan), Status> {
        let ctx = self.session().await?;
        let plan = plan_read_only(&ctx, sql).await.map_err(|e| {
            tracing::info!(error = %e, "Flight SQL statement refused.");
            refusal(e)
        })?;
        Ok((ctx, plan))
    }

    /// Runs `sql` and streams its batches (the schema first, even with no rows).
    async fn stream(&self, sql: &str) -> Result<Response<DoGetStream>, Status> {
        let (ctx, plan) = self.plan(sql).await?;
        let schema = plan.schema().inner().clone();
        let frame = ctx
            .execute_logical_plan(plan)
            .await
            .map_err(|e| refusal(e.into()))?;
        let batches = frame
            .execute_stream()
            .await
            .map_err(|e| refusal(e.into()))?
            .map_err(|e| ArrowFlightError::ExternalError(Box::new(e)));
        let stream = FlightDataEncoderBuilder::new()
            .with_schema(schema)
            .build(batches)
            .map_err(Status::from);
        Ok(Response::new(Box::pin(stream)))
    }
}

/// A query error as a gRPC status: refusals by the guard are
/// PERMISSION_DENIED, a query that does not plan is INVALID_ARGUMENT.
fn refusal(error: QueryError) -> Status {
    match error {
        QueryError::NotReadOnly(message) => Status::permission_denied(message),
        QueryError::DataFusion(e) => Status::invalid_argument(e.to_string()),
        other => Status::internal(other.to_string()),
    }
}

/// A FlightInfo whose one endpoint's ticket is `ticket`.
#[allow(clippy::result_large_err)]
pub(crate) fn info(schema: &Schema, ticket: Vec<u8>) -> Result<Response<FlightInfo>, Status> {
    let endpoint = FlightEndpoint::new().with_ticket(Ticket::new(ticket));
    let info = FlightInfo::new()
        .try_with_schema(schema)
        .map_err(|e| Status::internal(e.to_string()))?
        .with_endpoint(endpoint)
        .with_total_records(-1)
        .with_total_bytes(-1);
    Ok(Response::new(info))
}

fn text(bytes: &[u8]) -> Result<&str, Status> {
    std::str::from_utf8(bytes).map_err(|_| Status::invalid_argument("statement is not UTF-8"))
}

fn read_only(what: &str) -> Status {
    Status::permission_denied(format!(
        "{what} is refused: this Flight SQL endpoint is read-only (flowlake writes the lake only through `flowlake ingest`)"
    ))
}

#[tonic::async_trait]
impl FlightSqlService for LakeFlightSql {
    type FlightService = LakeFlightSql;

    async fn do_handshake(
        &self,
        _request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<
        Response<Pin<Box<dyn Stream<Item = Result<HandshakeResponse, Status>> + Send>>>,
        Status,
    > {
        // The interceptor already checked the credentials: answer with the
        // bearer header the client sends from now on.
        let reply = HandshakeResponse {
            protocol_version: 0,
            payload: Default::default(),
        };
        let stream: Pin<Box<dyn Stream<Item = Result<HandshakeResponse, Status>> + Send>> =
            Box::pin(futures::stream::iter([Ok(reply)]));
        let mut response = Response::new(stream);
        if let Some(token) = &self.options.token {
            let value = format!("Bearer {token}")
                .parse()
                .map_err(|_| Status::internal("token is not a valid header value"))?;
            response.metadata_mut().insert("authorization", value);
        }
        Ok(response)
    }

    async fn get_flight_info_statement(
        &self,
        query: CommandStatementQuery,
        _request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let (_, plan) = self.plan(&query.query).await?;
        let ticket = TicketStatementQuery {
            statement_handle: query.query.into_bytes().into(),
        };
        info(plan.schema().inner(), ticket.as_any().encode_to_vec())
    }

    async fn do_get_statement(
        &self,
        ticket: TicketStatementQuery,
        _request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.stream(text(&ticket.statement_handle)?).await
    }

    async fn do_action_create_prepared_statement(
        &self,
        query: ActionCreatePreparedStatementRequest,
        _request: Request<Action>,
    ) -> Result<ActionCreatePreparedStatementResult, Status> {
        let (_, plan) = self.plan(&query.query).await?;
        let options = arrow::ipc::writer::IpcWriteOptions::default();
        let IpcMessage(schema) = SchemaAsIpc::new(plan.schema().inner(), &options)
            .try_into()
            .map_err(|e: arrow::error::ArrowError| Status::internal(e.to_string()))?;
        Ok(ActionCreatePreparedStatementResult {
            // The handle is the statement itself: nothing to keep or leak
            // on the server, and any instance behind a balancer can run it.
            prepared_statement_handle: query.query.into_bytes().into(),
            dataset_schema: schema,
            parameter_schema: Default::default(),
        })
    }

    async fn do_action_close_prepared_statement(
        &self,
        _query: ActionClosePreparedStatementRequest,
        _request: Request<Action>,
    ) -> Result<(), Status> {
        Ok(())
    }

    async fn get_flight_info_prepared_statement(
        &self,
        query: CommandPreparedStatementQuery,
        _request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let (_, plan) = self.plan(text(&query.prepared_statement_handle)?).await?;
        info(plan.schema().inner(), query.as_any().encode_to_vec())
    }

    async fn do_get_prepared_statement(
        &self,
        query: CommandPreparedStatementQuery,
        _request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.stream(text(&query.prepared_statement_handle)?).await
    }

    async fn do_put_prepared_statement_query(
        &self,
        _query: CommandPreparedStatementQuery,
        _request: Request<PeekableFlightDataStream>,
    ) -> Result<DoPutPreparedStatementResult, Status> {
        Err(Status::unimplemented(
            "bind parameters are not supported: write the values into the SQL",
        ))
    }

    async fn do_put_statement_update(
        &self,
        query: CommandStatementUpdate,
        _request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        tracing::info!(statement = %query.query, "Flight SQL update refused.");
        Err(read_only("an update statement"))
    }

    async fn do_put_prepared_statement_update(
        &self,
        _query: CommandPreparedStatementUpdate,
        _request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        Err(read_only("an update statement"))
    }

    async fn do_put_statement_ingest(
        &self,
        _query: CommandStatementIngest,
        _request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        Err(read_only("bulk ingestion"))
    }

    async fn get_flight_info_catalogs(
        &self,
        query: CommandGetCatalogs,
        _request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.into_builder().schema();
        info(&schema, query.as_any().encode_to_vec())
    }

    async fn do_get_catalogs(
        &self,
        query: CommandGetCatalogs,
        _request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        let ctx = self.session().await?;
        metadata::catalogs(&ctx, query)
    }

    async fn get_flight_info_schemas(
        &self,
        query: CommandGetDbSchemas,
        _request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.clone().into_builder().schema();
        info(&schema, query.as_any().encode_to_vec())
    }

    async fn do_get_schemas(
        &self,
        query: CommandGetDbSchemas,
        _request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        let ctx = self.session().await?;
        metadata::schemas(&ctx, query)
    }

    async fn get_flight_info_tables(
        &self,
        query: CommandGetTables,
        _request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.clone().into_builder().schema();
        info(&schema, query.as_any().encode_to_vec())
    }

    async fn do_get_tables(
        &self,
        query: CommandGetTables,
        _request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        let ctx = self.session().await?;
        metadata::tables(&ctx, query).await
    }

    async fn get_flight_info_table_types(
        &self,
        query: CommandGetTableTypes,
        _request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        info(
            &metadata::table_types_schema(),
            query.as_any().encode_to_vec(),
        )
    }

    async fn do_get_table_types(
        &self,
        _query: CommandGetTableTypes,
        _request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        metadata::table_types()
    }

    async fn get_flight_info_sql_info(
        &self,
        query: CommandGetSqlInfo,
        _request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.clone().into_builder(&self.sql_info).schema();
        info(&schema, query.as_any().encode_to_vec())
    }

    async fn do_get_sql_info(
        &self,
        query: CommandGetSqlInfo,
        _request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        let builder = query.into_builder(&self.sql_info);
        metadata::one_batch(builder.schema(), builder.build())
    }

    async fn register_sql_info(&self, _id: i32, _result: &SqlInfo) {}
}
