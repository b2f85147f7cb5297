//! Dashboards over the flowlake lake: panels defined in TOML files, run
//! through the query crate's read-only guard, drawn as one self-contained
//! HTML page (inline SVG and CSS, no network needed to view it).
//!
//! ```text
//! defs/*.toml ──▶ definition::Dashboard ──▶ run::run_dashboard(session, window)
//!                                                   │ rows per panel
//!                      render::page (HTML + SVG) ◀──┘──▶ `dashboard render` (a file)
//!                                                    └──▶ server (live, time picker, SQL box)
//! ```
//!
//! ```
//! let all = flowlake_dashboards::definition::built_in().unwrap();
//! assert!(all.iter().any(|d| d.name == "traffic"));
//! assert_eq!(flowlake_dashboards::format::human(1536.0, flowlake_dashboards::definition::Unit::Bytes), "1.50 KiB");
//! ```

pub mod definition;
pub mod format;
pub mod render;
pub mod run;
pub mod server;

pub use definition::{Chart, Dashboard, Panel, Unit, built_in};
pub use render::{LiveControls, PageContext, render_page, render_sql_page};
pub use run::{DashboardResult, Window, run_dashboard};

/// Why a dashboard could not be read, run or served.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// A definition file is not valid.
    #[error("{origin}: {message}")]
    Definition {
        /// The file it came from.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// The lake could not be opened or queried.
    #[error("lake: {0}")]
    Lake(String),
    /// Opening a session failed.
    #[error(transparent)]
    Query(#[from] flowlake_query::QueryError),
    /// Listening or serving failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}
