//! AWS Config files as snapshots (§1.3, §1.5): every item of every file,
//! grouped by account, region and capture instant into one snapshot per
//! group, whose raw file holds the group's items as they were read. An
//! item reached twice (two envelopes, overlapping history files) is kept
//! once, and a snapshot's id derives from its items, so importing the same
//! changes again from another file is a no-op.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::parse::config::{ItemHeader, item_error, items_of};
use crate::parse::{ParseError, SnapshotContent, inflate};
use crate::store::{Capture, SnapshotInput};

/// What reading a set of Config files found.
#[derive(Debug, Default)]
pub struct ConfigFiles {
    /// One snapshot per account, region and capture instant, oldest first.
    pub snapshots: Vec<SnapshotInput>,
    /// Items read, of every resource type.
    pub items: usize,
    /// Items seen before in these files.
    pub duplicates: usize,
    /// Items of resource types the evaluators do not read, by type.
    pub skipped_types: BTreeMap<String, usize>,
    /// Files that hold no configuration items (a Config bucket also holds
    /// snapshots of compliance, writability checks, …).
    pub without_items: Vec<String>,
    /// Items that could not be placed (no capture time, account, …).
    pub warnings: Vec<String>,
}

/// The raw file each Config snapshot keeps.
pub const RAW_NAME: &str = "configuration-items.json";

/// Reads the files (gzip or not, either envelope) into snapshots.
pub fn read(files: &[(String, Vec<u8>)]) -> Result<ConfigFiles, ParseError> {
    let mut out = ConfigFiles::default();
    // Per account, region and instant: the items as read, and what they say.
    type Group = (Vec<(String, Value)>, SnapshotContent);
    let mut groups: BTreeMap<(i64, String, String), Group> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for (name, bytes) in files {
        let bytes = inflate(name, bytes)?;
        let mut found = false;
        for doc in serde_json::Deserializer::from_slice(&bytes).into_iter::<Value>() {
            let doc = doc.map_err(|e| ParseError {
                file: name.clone(),
                message: format!("not JSON: {e}"),
            })?;
            let Some(items) = doc.as_object().and_then(items_of) else {
                continue;
            };
            found = true;
            if ["nextToken", "NextToken"]
                .iter()
                .any(|k| doc.get(k).is_some_and(|t| !t.is_null()))
            {
                out.warnings.push(format!(
                    "{name}: the document still has a nextToken: a page of items is missing"
                ));
            }
            for (i, item) in items.into_iter().enumerate() {
                out.items += 1;
                let header = match ItemHeader::read(item) {
                    Ok(h) => h,
                    Err(e) => {
                        out.warnings.push(item_error(name, i, e).to_string());
                        continue;
                    }
                };
                if header.kind().is_none() {
                    *out.skipped_types
                        .entry(header.resource_type.clone())
                        .or_default() += 1;
                    continue;
                }
                let identity = identity(&header, item);
                let key = (header.captured_at, identity);
                if seen.contains(&key) {
                    out.duplicates += 1;
                    continue;
                }
                let (held, content) = groups
                    .entry((header.captured_at, header.account, header.region))
                    .or_default();
                // Read here, so a bad item is named by its own file and place.
                if let Err(e) = content.add_config_item(item) {
                    out.warnings.push(item_error(name, i, e).to_string());
                    continue;
                }
                held.push((key.1.clone(), item.clone()));
                seen.insert(key);
            }
        }
        if !found {
            out.without_items.push(name.clone());
        }
    }
    for ((captured_at, account, region), (mut items, mut content)) in groups {
        if items.is_empty() {
            continue;
        }
        content.settle_prefix_list_versions();
        items.sort_by(|a, b| a.0.cmp(&b.0));
        let (identity, items): (Vec<String>, Vec<Value>) = items.into_iter().unzip();
        let raw = serde_json::to_vec_pretty(&serde_json::json!({ "configurationItems": items }))
            .unwrap_or_default();
        out.snapshots.push(SnapshotInput {
            capture: Capture {
                captured_at,
                account,
                region,
            },
            source: "config",
            files: vec![(RAW_NAME.to_owned(), raw)],
            content,
            identity,
        });
    }
    Ok(out)
}

/// What makes an item the same item in another envelope: its resource and
/// `configurationStateId` (or, without one, its status and content).
fn identity(header: &ItemHeader, item: &Value) -> String {
    let state = if header.state_id > 0 {
        header.state_id.to_string()
    } else {
        // The API envelope holds the configuration as text: compare content.
        let text = match item.get("configuration") {
            Some(Value::String(s)) => serde_json::from_str::<Value>(s)
                .map(|v| v.to_string())
                .unwrap_or_else(|_| s.clone()),
            Some(v) => v.to_string(),
            None => String::new(),
        };
        format!(
            "{}-{:016x}",
            header.status,
            xxhash_rust::xxh3::xxh3_64(text.as_bytes())
        )
    };
    format!("{}|{}|{state}", header.resource_type, header.resource_id)
}
