//! Where a command writes its answer: standard output, or a file that
//! appears only whole.
//!
//! A file is written beside its path and renamed over it once the answer
//! is complete ([`Output::commit`]), so a run that fails part-way (a query
//! error, a full disk, Ctrl-C) leaves the file as it was, or no file, never
//! a truncated JSON array or a Parquet file without its footer. Standard
//! output cannot be taken back: there the exit code says a run failed.

use std::io::{BufWriter, Stdout, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use tempfile::NamedTempFile;

/// An answer being written; see the module docs.
pub(crate) enum Output {
    /// Standard output.
    Stdout(BufWriter<Stdout>),
    /// A staged file beside `dest`, deleted if the answer is never committed.
    File {
        staged: BufWriter<NamedTempFile>,
        dest: PathBuf,
    },
}

impl Output {
    /// Standard output, or a staged file for `path`.
    pub(crate) fn open(path: Option<&PathBuf>) -> anyhow::Result<Output> {
        let Some(dest) = path else {
            return Ok(Output::Stdout(BufWriter::new(std::io::stdout())));
        };
        let dir = match dest.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let name = dest
            .file_name()
            .map_or_else(|| "output".into(), |n| n.to_string_lossy());
        let staged = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".partial")
            .tempfile_in(dir)
            .with_context(|| format!("creating {}", dest.display()))?;
        Ok(Output::File {
            staged: BufWriter::new(staged),
            dest: dest.clone(),
        })
    }

    /// Ends the answer: flushes standard output, or puts the file in place.
    pub(crate) fn commit(self) -> anyhow::Result<()> {
        match self {
            Output::Stdout(mut out) => Ok(out.flush()?),
            Output::File { staged, dest } => {
                let staged = staged
                    .into_inner()
                    .map_err(|e| e.into_error())
                    .with_context(|| format!("writing {}", dest.display()))?;
                staged
                    .as_file()
                    .sync_all()
                    .with_context(|| format!("writing {}", dest.display()))?;
                staged
                    .persist(&dest)
                    .map_err(|e| e.error)
                    .with_context(|| format!("writing {}", dest.display()))?;
                Ok(())
            }
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Output::Stdout(out) => out.write(buf),
            Output::File { staged, .. } => staged.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Output::Stdout(out) => out.flush(),
            Output::File { staged, .. } => staged.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_appears_only_when_committed_and_an_abandoned_one_leaves_the_old() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("answer.json");
        std::fs::write(&dest, "old").unwrap();
        let mut out = Output::open(Some(&dest)).unwrap();
        out.write_all(b"[1,").unwrap();
        out.flush().unwrap();
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "old");
        drop(out); // the run failed
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let mut out = Output::open(Some(&dest)).unwrap();
        out.write_all(b"[1,2]").unwrap();
        out.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "[1,2]");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
