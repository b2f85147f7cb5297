//! How much memory a query may hold, and where it spills beyond that.
//!
//! DataFusion's default runtime has an unbounded memory pool: a `GROUP BY`
//! over millions of distinct addresses then grows until the OS kills the
//! process. Here every session gets a [`FairSpillPool`] of a fixed size
//! (each spilling operator gets a fair share; sorts and aggregations spill
//! to a temp folder when they reach it), wrapped in a [`TrackConsumersPool`]
//! so an error names the operators that held the memory. An operator that
//! cannot spill (a hash join's build side, for one) fails instead, and
//! [`explain`] turns that failure into a message that names the limit.
//!
//! The pool counts what operators hold (hash tables, sort buffers, batches
//! waiting to be merged), not Parquet decoding buffers, the result being
//! printed or allocator slack, so a process's peak RSS is somewhat above the
//! limit; the default leaves room for that.

use std::fmt;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;

use datafusion::error::DataFusionError;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{FairSpillPool, TrackConsumersPool};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};

use crate::QueryError;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;
const TIB: u64 = 1024 * GIB;

/// The default limit is this fraction of the machine's memory ...
const DEFAULT_FRACTION: f64 = 0.25;
/// ... but at least this much (the reports need far less; below it,
/// operators' fixed reservations such as a sort's merge buffer start failing) ...
const DEFAULT_MIN: u64 = 512 * MIB;
/// ... and at most this much: past it a spill to local disk is cheaper than
/// crowding out the page cache and the other processes on the machine.
const DEFAULT_MAX: u64 = 8 * GIB;
/// Without a way to read the machine's memory.
const DEFAULT_UNKNOWN: u64 = 2 * GIB;

/// A size in bytes, parsed from and shown as `512MiB`, `2GiB`, `1.5GB`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        for (unit, size) in [("TiB", TIB), ("GiB", GIB), ("MiB", MIB), ("KiB", KIB)] {
            if n >= size {
                return if n.is_multiple_of(size) {
                    write!(f, "{}{unit}", n / size)
                } else {
                    write!(f, "{:.1}{unit}", n as f64 / size as f64)
                };
            }
        }
        write!(f, "{n}B")
    }
}

impl std::str::FromStr for ByteSize {
    type Err = String;

    /// Parses `2GiB`, `512MiB`, `1.5GB`, `64M`, `1048576`, or `25%` (of the
    /// machine's memory). Binary units (KiB, MiB, GiB, TiB, and K, M, G, T
    /// alone) are powers of 1024; KB, MB, GB, TB are powers of 1000.
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bad =
            || format!("{text:?} is not a size: write e.g. 2GiB, 512MiB, 1.5GB or 25% (of memory)");
        if let Some(percent) = text.strip_suffix('%') {
            let p: f64 = percent.trim().parse().map_err(|_| bad())?;
            if !(p > 0.0 && p <= 100.0) {
                return Err(format!(
                    "{text:?}: a share of memory is above 0% and at most 100%"
                ));
            }
            let total = machine_memory().ok_or_else(|| {
                format!("{text:?}: this machine's memory is unknown; give a size such as 2GiB")
            })?;
            return Ok(ByteSize((total as f64 * p / 100.0) as u64));
        }
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let number: f64 = number.parse().map_err(|_| bad())?;
        let multiplier = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kib" => KIB,
            "m" | "mib" => MIB,
            "g" | "gib" => GIB,
            "t" | "tib" => TIB,
            "kb" => 1_000,
            "mb" => 1_000_000,
            "gb" => 1_000_000_000,
            "tb" => 1_000_000_000_000,
            _ => return Err(bad()),
        };
        let bytes = number * multiplier as f64;
        if !bytes.is_finite() || bytes < 1.0 || bytes > u64::MAX as f64 {
            return Err(bad());
        }
        Ok(ByteSize(bytes as u64))
    }
}

/// What a query may use: the memory pool's size and the spill folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemorySettings {
    /// Bytes the query's operators may hold before they spill (or fail).
    pub limit: ByteSize,
    /// Where spill files go (a fresh temp folder inside it, removed at
    /// exit); `None` for the OS temp folder (`TMPDIR`).
    pub spill_dir: Option<PathBuf>,
}

impl Default for MemorySettings {
    /// The machine's default limit, spilling to the OS temp folder.
    fn default() -> Self {
        MemorySettings {
            limit: default_limit(),
            spill_dir: None,
        }
    }
}

/// The default limit: a quarter of the machine's memory (the cgroup's
/// limit if that is lower), at least 512 MiB and at most 8 GiB; 2 GiB when
/// the machine's memory cannot be read.
pub fn default_limit() -> ByteSize {
    ByteSize(machine_memory().map_or(DEFAULT_UNKNOWN, |total| {
        ((total as f64 * DEFAULT_FRACTION) as u64).clamp(DEFAULT_MIN, DEFAULT_MAX)
    }))
}

/// Physical memory (Linux `/proc/meminfo`), or the cgroup's memory limit
/// when that is lower, as in a container.
pub fn machine_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let total = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse::<u64>().ok())?
        * KIB;
    let cgroup = [
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ]
    .iter()
    .filter_map(|p| std::fs::read_to_string(p).ok())
    .find_map(|v| v.trim().parse::<u64>().ok());
    Some(cgroup.map_or(total, |c| c.min(total)))
}

/// The DataFusion runtime for a session: the bounded pool and a disk
/// manager that spills into `spill_dir` (or the OS temp folder).
pub fn runtime(settings: &MemorySettings) -> Result<Arc<RuntimeEnv>, QueryError> {
    let limit = usize::try_from(settings.limit.0).unwrap_or(usize::MAX);
    let pool = TrackConsumersPool::new(
        FairSpillPool::new(limit),
        NonZeroUsize::MIN.saturating_add(4),
    );
    let mode = match &settings.spill_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| QueryError::Lake(format!("spill folder {}: {e}", dir.display())))?;
            DiskManagerMode::Directories(vec![dir.clone()])
        }
        None => DiskManagerMode::OsTmpDirectory,
    };
    Ok(RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(pool))
        .with_disk_manager_builder(DiskManagerBuilder::default().with_mode(mode))
        .build_arc()?)
}

/// Turns DataFusion's "resources exhausted" (the pool or the spill folder
/// is full) into an error that says which limit and what to do; other
/// errors pass through.
pub fn explain(error: DataFusionError, limit: Option<ByteSize>) -> QueryError {
    let DataFusionError::ResourcesExhausted(detail) = error.find_root() else {
        return QueryError::DataFusion(error);
    };
    let detail = detail
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    if detail.contains("disk space") {
        return QueryError::SpillLimit { detail };
    }
    QueryError::MemoryLimit {
        limit: limit.map_or_else(
            || "the memory limit".to_owned(),
            |l| format!("--memory-limit {l}"),
        ),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(text: &str) -> Result<u64, String> {
        text.parse::<ByteSize>().map(|s| s.0)
    }

    #[test]
    fn sizes_parse_in_binary_and_decimal_units() {
        assert_eq!(size("2GiB"), Ok(2 * GIB));
        assert_eq!(size("512MiB"), Ok(512 * MIB));
        assert_eq!(size("512 mib"), Ok(512 * MIB));
        assert_eq!(size("64M"), Ok(64 * MIB));
        assert_eq!(size("1.5GB"), Ok(1_500_000_000));
        assert_eq!(size("1048576"), Ok(MIB));
        for bad in ["", "GiB", "2 parsecs", "-1GiB", "0", "1e3", "150%", "0%"] {
            assert!(size(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sizes_display_in_the_largest_whole_unit() {
        assert_eq!(ByteSize(2 * GIB).to_string(), "2GiB");
        assert_eq!(ByteSize(1536 * MIB).to_string(), "1.5GiB");
        assert_eq!(ByteSize(100).to_string(), "100B");
    }

    #[test]
    fn the_default_stays_within_its_bounds() {
        let d = default_limit().0;
        assert!((DEFAULT_MIN..=DEFAULT_MAX).contains(&d), "{d}");
    }

    #[test]
    fn exhausted_resources_name_the_limit() {
        let inner = DataFusionError::ResourcesExhausted("Failed to allocate\nfor X".into());
        let wrapped = DataFusionError::Context("while sorting".into(), Box::new(inner));
        let text = explain(wrapped, Some(ByteSize(64 * MIB))).to_string();
        assert!(text.contains("--memory-limit 64MiB"), "{text}");
        assert!(text.contains("Failed to allocate; for X"), "{text}");
        let other = explain(DataFusionError::Plan("no column".into()), None);
        assert!(matches!(other, QueryError::DataFusion(_)));
    }
}
