//! Which records `top-talkers` sums: each conversation once when the data
//! allows it (spec §4.5), every record otherwise, with a warning that says
//! what is missing.

use datafusion::prelude::SessionContext;

use crate::QueryError;

/// `--count once|all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountMode {
    /// Each conversation's bytes once (`flows_once`).
    Once,
    /// Every record.
    All,
}

/// The mode to use when the user did not say: once if every record has
/// the fields the classification needs (`pkt-srcaddr`, `pkt-dstaddr`,
/// `flow-direction`) or the inventory gives every recording interface's
/// role; otherwise all, with the missing fields named.
pub async fn choose_count(ctx: &SessionContext) -> Result<(CountMode, Option<String>), QueryError> {
    let sql = "SELECT \
        count(*) FILTER (WHERE pkt_srcaddr IS NULL) AS no_pkt_src, \
        count(*) FILTER (WHERE pkt_dstaddr IS NULL) AS no_pkt_dst, \
        count(*) FILTER (WHERE flow_direction IS NULL) AS no_direction, \
        count(*) FILTER (WHERE f.interface_id IS NOT NULL AND r.eni_id IS NULL) AS no_role \
        FROM flows f LEFT JOIN (SELECT DISTINCT eni_id FROM inv_roles) r ON r.eni_id = f.interface_id";
    let batches = ctx.sql(sql).await?.collect().await?;
    let value = |i: usize| -> i64 {
        batches
            .first()
            .and_then(|b| {
                arrow::array::cast::as_primitive_array::<arrow::datatypes::Int64Type>(b.column(i))
                    .iter()
                    .next()
                    .flatten()
            })
            .unwrap_or(0)
    };
    let missing: Vec<&str> = [
        ("pkt-srcaddr", 0),
        ("pkt-dstaddr", 1),
        ("flow-direction", 2),
    ]
    .iter()
    .filter(|(_, i)| value(*i) > 0)
    .map(|(name, _)| *name)
    .collect();
    if missing.is_empty() || value(3) == 0 {
        return Ok((CountMode::Once, None));
    }
    Ok((
        CountMode::All,
        Some(format!(
            "counting every record: the format lacks {} and the inventory does not give every interface's role",
            missing.join(", ")
        )),
    ))
}

/// Points the `talkers` view at the chosen records.
pub async fn use_count(ctx: &SessionContext, mode: CountMode) -> Result<(), QueryError> {
    let sql = match mode {
        CountMode::Once => super::TALKERS_ONCE,
        CountMode::All => super::TALKERS_ALL,
    };
    ctx.deregister_table("talkers")?;
    ctx.sql(&format!("CREATE VIEW talkers AS {sql}")).await?;
    super::register_talkers_enriched(ctx).await;
    Ok(())
}
