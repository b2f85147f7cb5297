//! What a compaction run does: which files of which partitions it merges,
//! which it takes over as they are, and which ledger entries it releases.
//!
//! Only files of *units* (append-only sources: CloudWatch Logs reads, the
//! Firehose sink's flushes) and of earlier compactions are candidates. An
//! object from S3 or a folder can be replaced by a new version, whose commit
//! deletes the old version's files; were those rows inside a merged file,
//! they would stay. Units are never replaced, so their files can move.
//!
//! ```text
//! unit entries committed before the cutoff ─▶ all their files, by partition
//!   + files of the partition's compaction entries smaller than target/2
//!   ─▶ packed into groups of up to the target size, each merged into one file
//!      (a group of one unit file is taken over as it is; unit files of
//!      target/2 or more are taken over as they are)
//! ```

use std::collections::{BTreeMap, BTreeSet};

use chrono::DateTime;
use flowlake_schemas::lake::{LEDGER_DIR, Partition, ledger_shard_dir, parse_ledger_path};
use futures::TryStreamExt;

use super::CompactError;
use crate::lake::commit::read_entries;
use crate::lake::{FileEntry, LakeStore, LedgerEntry};
use crate::sources::VersionRoute;

/// A committed data file and the entry that names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Candidate {
    /// The file as its entry lists it.
    pub(super) file: FileEntry,
    /// The entry's ledger path.
    pub(super) entry: String,
}

/// The work in one partition.
#[derive(Debug, Clone)]
pub(super) struct PartitionPlan {
    /// The partition.
    pub(super) partition: Partition,
    /// Groups of files, each merged into one new file.
    pub(super) merge: Vec<Vec<Candidate>>,
    /// Files the compaction entry names as they are.
    pub(super) adopt: Vec<Candidate>,
}

impl PartitionPlan {
    /// The entries whose files this plan takes over.
    pub(super) fn entries(&self) -> Vec<String> {
        let all = self.merge.iter().flatten().chain(&self.adopt);
        let set: BTreeSet<&String> = all.map(|c| &c.entry).collect();
        set.into_iter().cloned().collect()
    }
}

/// The whole run's work.
#[derive(Debug, Default)]
pub(super) struct Plan {
    /// Partitions with something to do, oldest first.
    pub(super) partitions: Vec<PartitionPlan>,
    /// Unit entries old enough that name no file (a read that found
    /// nothing new): they leave the ledger without a commit.
    pub(super) empty_entries: Vec<String>,
}

/// The ledger shard of a partition's compaction entries.
pub(super) fn compaction_shard(partition: Partition) -> String {
    format!("compact/{}/{}", partition.day(), partition.hour())
}

fn is_route(path: &str, route: VersionRoute) -> bool {
    parse_ledger_path(path).is_some_and(|(_, _, version)| version.starts_with(route.tag()))
}

async fn read_all(
    lake: &LakeStore,
    paths: Vec<String>,
) -> Result<Vec<(String, LedgerEntry)>, CompactError> {
    Ok(read_entries(lake, paths).try_collect().await?)
}

/// Commit time of an entry in UTC ms (entries flowlake wrote always have one).
fn committed_ms(entry: &LedgerEntry) -> Option<i64> {
    DateTime::parse_from_rfc3339(&entry.committed_at)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// Plans a run: units committed at or before `cutoff_ms`, merged into files
/// of up to `target_bytes`.
pub(super) async fn plan(
    lake: &LakeStore,
    cutoff_ms: i64,
    target_bytes: u64,
) -> Result<Plan, CompactError> {
    let units: Vec<String> = lake
        .list(LEDGER_DIR)
        .await?
        .into_iter()
        .filter(|p| is_route(p, VersionRoute::Unit))
        .collect();
    let mut plan = Plan::default();
    let mut by_partition: BTreeMap<Partition, Vec<Candidate>> = BTreeMap::new();
    for (path, entry) in read_all(lake, units).await? {
        if committed_ms(&entry).is_none_or(|t| t > cutoff_ms) {
            continue;
        }
        if entry.files.is_empty() {
            plan.empty_entries.push(path);
            continue;
        }
        for file in entry.files {
            let Some(partition) = Partition::of_file(&file.path) else {
                return Err(CompactError::NotData {
                    entry: path,
                    file: file.path,
                });
            };
            by_partition.entry(partition).or_default().push(Candidate {
                file,
                entry: path.clone(),
            });
        }
    }
    for (partition, units) in by_partition {
        let shard = ledger_shard_dir(&compaction_shard(partition));
        let earlier = read_all(lake, lake.list(&shard).await?).await?;
        let small: Vec<Candidate> = earlier
            .into_iter()
            .flat_map(|(path, entry)| {
                entry.files.into_iter().map(move |file| Candidate {
                    file,
                    entry: path.clone(),
                })
            })
            .filter(|c| Partition::of_file(&c.file.path) == Some(partition))
            .filter(|c| c.file.bytes < target_bytes / 2)
            .collect();
        plan.partitions
            .push(pack(partition, units, small, target_bytes));
    }
    Ok(plan)
}

/// Groups one partition's files: unit files of half the target or more are
/// adopted; the rest, with the small compacted files, are packed in path
/// order into groups of up to `target_bytes`. A group of one file is not
/// worth rewriting: adopted if it is a unit's, left alone otherwise.
fn pack(
    partition: Partition,
    units: Vec<Candidate>,
    small_compacted: Vec<Candidate>,
    target_bytes: u64,
) -> PartitionPlan {
    let (mut adopt, mut small): (Vec<Candidate>, Vec<Candidate>) = units
        .into_iter()
        .partition(|c| c.file.bytes >= target_bytes / 2);
    small.extend(small_compacted);
    small.sort_by(|a, b| a.file.path.cmp(&b.file.path));
    let mut groups: Vec<Vec<Candidate>> = Vec::new();
    let mut bytes = 0;
    for candidate in small {
        match groups.last_mut() {
            Some(group) if bytes + candidate.file.bytes <= target_bytes => {
                bytes += candidate.file.bytes;
                group.push(candidate);
            }
            _ => {
                bytes = candidate.file.bytes;
                groups.push(vec![candidate]);
            }
        }
    }
    let mut merge = Vec::new();
    for group in groups {
        if group.len() > 1 {
            merge.push(group);
        } else {
            adopt.extend(
                group
                    .into_iter()
                    .filter(|c| is_route(&c.entry, VersionRoute::Unit)),
            );
        }
    }
    PartitionPlan {
        partition,
        merge,
        adopt,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, bytes: u64, entry: &str) -> Candidate {
        Candidate {
            file: FileEntry {
                path: format!("flows/day=2024-05-25/hour=05/{name}.parquet"),
                rows: bytes,
                bytes,
            },
            entry: format!("_flowlake/ledger/{entry}.json"),
        }
    }

    #[test]
    fn small_files_are_packed_to_the_target_and_large_ones_adopted() {
        let p = Partition::from_millis(1_716_613_200_000);
        let unit = |n: &str, b| file(n, b, &format!("firehose/k/{n}.u0-00"));
        let plan = pack(
            p,
            vec![
                unit("a", 40),
                unit("b", 40),
                unit("c", 30),
                unit("d", 50),
                unit("e", 10),
            ],
            vec![file("f", 45, "compact/x/k.c1-00")],
            100,
        );
        let names = |g: &[Candidate]| -> Vec<String> {
            g.iter()
                .map(|c| c.file.path.rsplit('/').next().unwrap().to_owned())
                .collect()
        };
        // d (50) is half the target: adopted. a+b (80) fill a group, c+e+f
        // (85) the next; nothing is rewritten twice.
        assert_eq!(names(&plan.adopt), ["d.parquet"]);
        let groups: Vec<Vec<String>> = plan.merge.iter().map(|g| names(g)).collect();
        assert_eq!(
            groups,
            [
                vec!["a.parquet", "b.parquet"],
                vec!["c.parquet", "e.parquet", "f.parquet"]
            ]
        );
    }

    #[test]
    fn a_lone_small_file_is_adopted_if_a_units_and_left_if_compacted() {
        let p = Partition::from_millis(0);
        let plan = pack(p, vec![file("a", 10, "cwl/x/a.u0-00")], vec![], 100);
        assert!(plan.merge.is_empty());
        assert_eq!(plan.adopt.len(), 1);
        let plan = pack(p, vec![], vec![file("f", 10, "compact/x/k.c1-00")], 100);
        assert!(plan.merge.is_empty() && plan.adopt.is_empty());
    }
}
