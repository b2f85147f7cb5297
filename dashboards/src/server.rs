//! `flowlake serve dashboard`: the same pages live, with a time-range
//! picker and a read-only SQL box. Each request opens a session over its
//! window (so partition pruning applies) and at most [`CONCURRENT_PAGES`]
//! pages run at once: every query already uses all cores, and each session
//! holds its own memory pool.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use flowlake_query::{LakeLocation, MemorySettings, SessionContext, TimeRange, open_session};
use serde::Deserialize;
use tokio::sync::Semaphore;

use crate::DashboardError;
use crate::definition::Dashboard;
use crate::render::{LiveControls, PageContext, render_page, render_sql_page};
use crate::run::{Window, query_rows, run_dashboard};

/// Pages computed at the same time; more wait their turn.
const CONCURRENT_PAGES: usize = 2;

/// What the server serves.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The lake.
    pub lake: LakeLocation,
    /// The lake as the user named it, for page footers.
    pub lake_name: String,
    /// Each query's memory pool.
    pub memory: MemorySettings,
    /// Threads per query.
    pub threads: usize,
    /// The dashboards in the menu, in order.
    pub dashboards: Vec<Dashboard>,
}

struct AppState {
    options: ServerOptions,
    pages: Semaphore,
}

/// Query-string parameters every page takes.
#[derive(Debug, Default, Deserialize)]
struct Params {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    q: String,
}

/// Serves until Ctrl-C; `ready` is told the bound address (port 0 picks one).
pub async fn serve(
    options: ServerOptions,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), DashboardError> {
    let listener = tokio::net::TcpListener::bind(options.listen).await?;
    ready(listener.local_addr()?);
    let state = Arc::new(AppState {
        options,
        pages: Semaphore::new(CONCURRENT_PAGES),
    });
    let app = Router::new()
        .route("/", get(index))
        .route("/healthz", get(|| async { "ok" }))
        .route("/sql", get(sql_page))
        .route("/{name}", get(dashboard_page))
        .with_state(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

async fn index(State(state): State<Arc<AppState>>) -> Response {
    match state.options.dashboards.first() {
        Some(first) => Redirect::to(&format!("/{}", first.name)).into_response(),
        None => Redirect::to("/sql").into_response(),
    }
}

async fn dashboard_page(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    Query(params): Query<Params>,
) -> Response {
    let Some(dashboard) = state.options.dashboards.iter().find(|d| d.name == name) else {
        return (
            StatusCode::NOT_FOUND,
            format!("no dashboard named {name:?}"),
        )
            .into_response();
    };
    let _turn = state.pages.acquire().await;
    let started = Instant::now();
    let (ctx, mut page) = match open(&state, &params, &name).await {
        Ok(opened) => opened,
        Err(response) => return response,
    };
    page.title = dashboard.title.clone();
    let result = match page.window {
        Some(window) => run_dashboard(&ctx, dashboard, &window).await,
        None => {
            run_dashboard(
                &ctx,
                dashboard,
                &Window::new(page.generated_at, page.generated_at),
            )
            .await
        }
    };
    tracing::info!(dashboard = %name, ms = started.elapsed().as_millis() as u64, "Dashboard served.");
    Html(render_page(&page, std::slice::from_ref(&result))).into_response()
}

async fn sql_page(State(state): State<Arc<AppState>>, Query(params): Query<Params>) -> Response {
    let _turn = state.pages.acquire().await;
    let (ctx, mut page) = match open(&state, &params, "sql").await {
        Ok(opened) => opened,
        Err(response) => return response,
    };
    page.title = "SQL".to_owned();
    let sql = params.q.trim();
    let result = if sql.is_empty() {
        None
    } else {
        let started = Instant::now();
        let rows = query_rows(&ctx, sql).await;
        Some((rows, started.elapsed()))
    };
    let status = match &result {
        Some((Err(_), _)) => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    };
    let default = "SELECT action, COUNT(*) AS flows, SUM(bytes) AS bytes\nFROM flows\nGROUP BY action\nORDER BY flows DESC";
    let shown = if sql.is_empty() { default } else { sql };
    (status, Html(render_sql_page(&page, shown, result))).into_response()
}

/// The session over the request's window and the page around it, or the
/// error page to answer instead.
#[allow(clippy::result_large_err)] // the error is the HTTP answer itself
async fn open(
    state: &AppState,
    params: &Params,
    current: &str,
) -> Result<(SessionContext, PageContext), Response> {
    let now = Utc::now();
    let parse = |text: &str| -> Result<Option<DateTime<Utc>>, Response> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        flowlake_query::time::parse_time(text, now)
            .map(Some)
            .map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()).into_response())
    };
    let range = TimeRange {
        from: parse(&params.from)?,
        to: parse(&params.to)?,
    };
    let failed = |e: &dyn std::fmt::Display| {
        tracing::warn!(error = %e, "Dashboard query failed.");
        (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response()
    };
    let options = &state.options;
    let ctx = open_session(&options.lake, &range, options.threads, &options.memory)
        .await
        .map_err(|e| failed(&e))?;
    let window = Window::resolve(&ctx, range.from, range.to)
        .await
        .map_err(|e| failed(&e))?;
    let page = PageContext {
        title: String::new(),
        lake: options.lake_name.clone(),
        window,
        generated_at: now,
        live: Some(LiveControls {
            dashboards: options
                .dashboards
                .iter()
                .map(|d| (d.name.clone(), d.title.clone()))
                .collect(),
            current: current.to_owned(),
            from: params.from.clone(),
            to: params.to.clone(),
        }),
    };
    Ok((ctx, page))
}
