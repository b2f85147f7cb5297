//! Flags shared by every command that touches a lake.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use flowlake_ingest::LakeStore;
use flowlake_ingest::aws::AwsSettings;
use flowlake_query::LakeLocation;
use flowlake_query::memory::{ByteSize, MemorySettings, default_limit};

/// Where the lake is and how to reach S3.
#[derive(Debug, Clone, Args)]
pub(crate) struct LakeArgs {
    /// The lake: a local folder or s3://bucket/prefix.
    #[arg(long, env = "FLOWLAKE_LAKE")]
    pub(crate) lake: String,

    #[command(flatten)]
    pub(crate) aws: AwsArgs,
}

/// How to reach S3 (or an S3-compatible server).
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct AwsArgs {
    /// S3 endpoint URL for an S3-compatible server (also `AWS_ENDPOINT_URL`).
    #[arg(long, env = "FLOWLAKE_ENDPOINT_URL")]
    pub(crate) endpoint_url: Option<String>,

    /// AWS Region for the S3 client (otherwise the SDK's chain: `AWS_REGION`,
    /// the profile; else us-east-1).
    #[arg(long = "aws-region", env = "FLOWLAKE_AWS_REGION")]
    pub(crate) region: Option<String>,

    /// Path-style S3 addressing (http://host/bucket/key); on by default with
    /// a custom endpoint, which most S3-compatible servers need.
    /// (`--path-style` alone means true.)
    #[arg(long, env = "FLOWLAKE_PATH_STYLE", num_args = 0..=1, default_missing_value = "true", require_equals = false)]
    pub(crate) path_style: Option<bool>,
}

impl AwsArgs {
    pub(crate) fn settings(&self) -> AwsSettings {
        let mut settings = AwsSettings {
            endpoint_url: self.endpoint_url.clone(),
            region: self.region.clone(),
            force_path_style: false,
        };
        settings.force_path_style = self.path_style.unwrap_or(settings.endpoint().is_some());
        settings
    }
}

impl LakeArgs {
    /// Opens the lake for writing (a local folder is created if missing).
    pub(crate) async fn open_for_ingest(&self) -> anyhow::Result<LakeStore> {
        LakeStore::open(&self.lake, &self.aws.settings())
            .await
            .with_context(|| format!("opening lake {}", self.lake))
    }

    /// Opens a lake that must exist already, for maintenance that writes
    /// it (compact, prune, alert state): a mistyped local path is an error,
    /// not a new empty lake with nothing to do.
    pub(crate) async fn open_existing(&self) -> anyhow::Result<LakeStore> {
        self.local_must_exist()?;
        self.open_for_ingest().await
    }

    /// A local lake that is not there is an error.
    fn local_must_exist(&self) -> anyhow::Result<()> {
        let root = PathBuf::from(&self.lake);
        if !self.lake.contains("://")
            && !root.join("_flowlake").is_dir()
            && !root.join("flows").is_dir()
        {
            bail!(
                "no lake at {} (create one with `flowlake ingest dir <logs> --lake {}`)",
                root.display(),
                self.lake
            );
        }
        Ok(())
    }

    /// Opens the lake for queries; a local lake must exist.
    pub(crate) async fn open_for_query(&self) -> anyhow::Result<LakeLocation> {
        self.local_must_exist()?;
        if !self.lake.contains("://") {
            return Ok(LakeLocation::Local(PathBuf::from(&self.lake)));
        }
        match self.open_for_ingest().await? {
            LakeStore::Local { root } => Ok(LakeLocation::Local(root)),
            LakeStore::Remote { store, url, .. } => Ok(LakeLocation::Remote { url, store }),
        }
    }
}

/// How much memory a query may hold, and where it spills past that
/// (`sql`, `report`).
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct MemoryArgs {
    /// Memory the query's operators may hold (e.g. 2GiB, 512MiB, 25%);
    /// past it, sorts and aggregations spill to disk and other operators
    /// fail with a clear error. Default: a quarter of this machine's memory,
    /// at least 512MiB and at most 8GiB.
    #[arg(long, env = "FLOWLAKE_MEMORY_LIMIT", value_name = "SIZE")]
    pub(crate) memory_limit: Option<ByteSize>,

    /// Folder for spill files (a temp folder inside it, removed at exit).
    /// Default: the OS temp folder (TMPDIR).
    #[arg(long, env = "FLOWLAKE_SPILL_DIR", value_name = "DIR")]
    pub(crate) spill_dir: Option<PathBuf>,
}

impl MemoryArgs {
    /// The session's memory settings.
    pub(crate) fn settings(&self) -> MemorySettings {
        MemorySettings {
            limit: self.memory_limit.unwrap_or_else(default_limit),
            spill_dir: self.spill_dir.clone(),
        }
    }
}
