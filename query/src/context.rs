//! The network context in the session: the inventory's tables (written by
//! `flowlake inventory import` under `inventory/tables/<name>/`) and the
//! views over them. One hook, [`register`], called from `open_session`;
//! a lake without an inventory gets nothing and works as before.

use datafusion::prelude::{ParquetReadOptions, SessionContext};
use object_store::path::Path as StorePath;

use crate::QueryError;
use crate::session::LakeLocation;

pub use self::counting::{CountMode, choose_count, use_count};

mod counting;

/// The folder holding one folder per inventory table.
const TABLES: &str = "inventory/tables";

/// Views over the inventory tables, in order, each registered when the
/// tables it reads exist (else its fallback, if it has one):
/// (name, tables needed, SQL, fallback SQL).
const VIEWS: &[(&str, &[&str], &str, Option<&str>)] = &[
    (
        "flows_enriched",
        &["inv_eni", "inv_ip_owner"],
        include_str!("context/flows_enriched.sql"),
        None,
    ),
    (
        "inv_roles",
        &["inv_eni"],
        include_str!("context/inv_roles.sql"),
        Some(include_str!("context/inv_roles_empty.sql")),
    ),
    (
        "flows_once",
        &[],
        include_str!("context/flows_once.sql"),
        None,
    ),
    ("talkers", &[], TALKERS_ONCE, None),
];

/// `flows_enriched`'s owners over the records `talkers` sums now, for
/// `top-talkers --by owner`: registered with `flows_enriched`, and again
/// whenever `talkers` changes ([`use_count`]), since a view binds the views
/// it reads when it is created.
pub const TALKERS_ENRICHED: &str = "talkers_enriched";

/// The SQL of `flows_enriched` over another relation with the columns of
/// `flows` (its records; the evidence of who owns an address stays every
/// record of `flows`).
fn enriched_over(relation: &str) -> String {
    strip_comments(include_str!("context/flows_enriched.sql")).replacen(
        "FROM flows f\n",
        &format!("FROM {relation} f\n"),
        1,
    )
}

/// (Re)creates [`TALKERS_ENRICHED`] over the current `talkers`, when the
/// inventory allows `flows_enriched`. A view that cannot be planned is
/// left out with a warning, as in [`register`]: top-talkers does not need
/// owners.
pub(crate) async fn register_talkers_enriched(ctx: &SessionContext) {
    let created = async {
        if !ctx.table_exist("flows_enriched")? || !ctx.table_exist("talkers")? {
            return Ok(());
        }
        ctx.deregister_table(TALKERS_ENRICHED)?;
        ctx.sql(&format!(
            "CREATE VIEW {TALKERS_ENRICHED} AS {}",
            enriched_over("talkers")
        ))
        .await?;
        Ok::<(), QueryError>(())
    };
    if let Err(e) = created.await {
        tracing::warn!(view = TALKERS_ENRICHED, error = %e, "View not registered.");
    }
}

/// What `top-talkers` sums by default: each conversation once.
pub const TALKERS_ONCE: &str = "SELECT * FROM flows_once WHERE counted";

/// What `top-talkers --count all` sums: every record.
pub const TALKERS_ALL: &str = "SELECT *, COALESCE(pkt_srcaddr, srcaddr) AS orig_src, COALESCE(pkt_dstaddr, dstaddr) AS orig_dst FROM flows";

/// Registers every inventory table in the lake, then the views they allow.
pub(crate) async fn register(ctx: &SessionContext, lake: &LakeLocation) -> Result<(), QueryError> {
    let names = table_names(lake).await?;
    for name in &names {
        let url = lake.table_url(&format!("{TABLES}/{name}"))?;
        ctx.register_parquet(name.as_str(), url, ParquetReadOptions::default())
            .await?;
    }
    for (view, needs, sql, fallback) in VIEWS {
        let have = needs.iter().all(|n| names.iter().any(|have| have == n));
        if let Some(sql) = if have { Some(sql) } else { fallback.as_ref() } {
            // A view that cannot be planned must not take the lake's other
            // tables down with it: say so and go on.
            if let Err(e) = ctx
                .sql(&format!("CREATE VIEW {view} AS {}", strip_comments(sql)))
                .await
            {
                tracing::warn!(view, error = %e, "View not registered.");
            }
        }
    }
    register_talkers_enriched(ctx).await;
    Ok(())
}

/// The SQL without its leading comment lines (they document the file).
fn strip_comments(sql: &str) -> String {
    sql.lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn table_names(lake: &LakeLocation) -> Result<Vec<String>, QueryError> {
    let mut names = Vec::new();
    match lake {
        LakeLocation::Local(root) => {
            let dir = root.join(TABLES);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                return Ok(names);
            };
            for entry in entries.flatten() {
                if entry.path().is_dir()
                    && let Some(name) = entry.file_name().to_str()
                {
                    names.push(name.to_owned());
                }
            }
        }
        LakeLocation::Remote { url, store } => {
            let parsed =
                url::Url::parse(url).map_err(|e| QueryError::Lake(format!("{url}: {e}")))?;
            let prefix = StorePath::from(
                format!("{}/{TABLES}", parsed.path().trim_matches('/')).trim_start_matches('/'),
            );
            let listing = store
                .list_with_delimiter(Some(&prefix))
                .await
                .map_err(|e| QueryError::Lake(e.to_string()))?;
            for p in listing.common_prefixes {
                if let Some(name) = p.filename() {
                    names.push(name.to_owned());
                }
            }
        }
    }
    names.retain(|n| n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn talkers_enriched_reads_talkers_and_takes_evidence_from_every_flow() {
        let sql = enriched_over("talkers");
        assert_eq!(sql.matches("FROM talkers f\n").count(), 1);
        assert!(!sql.contains("FROM flows f\n"));
        assert!(sql.contains("FROM flows\n"), "the evidence reads flows");
    }
}
