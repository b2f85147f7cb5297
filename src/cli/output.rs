//! Where a command writes its answer: standard output, or a file that
//! appears only whole.
//!
//! A file is written beside its path and renamed over it once the answer
//! is complete ([`Output::commit`]), so a run that fails part-way (a query
//! error, a full disk, Ctrl-C) leaves the file as it was, or no file, never
//! a truncated JSON array or a Parquet file without its footer. The answer
//! keeps an existing file's permissions, and a symbolic link keeps pointing
//! at it. Standard output, and a destination that is not a regular file
//! (`/dev/stdout`, a FIFO), cannot be taken back: there the exit code says a
//! run failed. Ctrl-C or a kill leaves a `.<name>.<random>.partial` beside it.

use std::fs::File;
use std::io::{BufWriter, Stdout, Write};
use std::path::PathBuf;

use anyhow::Context;
use tempfile::NamedTempFile;

/// An answer being written; see the module docs.
pub(crate) enum Output {
    /// Standard output.
    Stdout(BufWriter<Stdout>),
    /// A destination that is not a regular file (`/dev/stdout`, a FIFO, a
    /// device): written in place, as a shell redirection would.
    Direct(BufWriter<File>),
    /// A file staged beside `dest` (deleted by `tempfile` unless committed).
    Staged {
        staged: BufWriter<NamedTempFile>,
        dest: PathBuf,
    },
}

impl Output {
    /// Standard output, or the file at `path` (staged when it is a regular
    /// file or does not exist yet).
    pub(crate) fn open(path: Option<&PathBuf>) -> anyhow::Result<Output> {
        let Some(path) = path else {
            return Ok(Output::Stdout(BufWriter::new(std::io::stdout())));
        };
        let writing = || format!("writing {}", path.display());
        // Through a symbolic link to the file it names, which is replaced.
        let dest = match std::fs::canonicalize(path) {
            Ok(real) => real,
            Err(_) => path.clone(),
        };
        let existing = std::fs::metadata(&dest).ok();
        if existing.as_ref().is_some_and(|m| !m.is_file()) {
            let file = File::options()
                .write(true)
                .open(&dest)
                .with_context(writing)?;
            return Ok(Output::Direct(BufWriter::new(file)));
        }
        let dir = match dest.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => PathBuf::from("."),
        };
        let name = dest
            .file_name()
            .map_or_else(|| "output".into(), |n| n.to_string_lossy());
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".partial");
        // A new answer gets the umask's permissions, as any created file
        // does (not tempfile's owner-only default).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let staged = builder.tempfile_in(&dir).with_context(writing)?;
        if let Some(meta) = existing {
            // The answer keeps the old file's permissions.
            staged
                .as_file()
                .set_permissions(meta.permissions())
                .with_context(writing)?;
        }
        Ok(Output::Staged {
            staged: BufWriter::new(staged),
            dest,
        })
    }

    /// Ends the answer: flushes it and, for a staged file, puts it in place.
    pub(crate) fn commit(self) -> anyhow::Result<()> {
        match self {
            Output::Stdout(mut out) => Ok(out.flush()?),
            Output::Direct(mut out) => Ok(out.flush()?),
            Output::Staged { staged, dest } => {
                let writing = || format!("writing {}", dest.display());
                let staged = staged
                    .into_inner()
                    .map_err(|e| e.into_error())
                    .with_context(writing)?;
                staged.as_file().sync_all().with_context(writing)?;
                staged
                    .persist(&dest)
                    .map_err(|e| e.error)
                    .with_context(writing)?;
                Ok(())
            }
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Output::Stdout(out) => out.write(buf),
            Output::Direct(out) => out.write(buf),
            Output::Staged { staged, .. } => staged.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Output::Stdout(out) => out.flush(),
            Output::Direct(out) => out.flush(),
            Output::Staged { staged, .. } => staged.flush(),
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

    #[cfg(unix)]
    #[test]
    fn a_link_keeps_pointing_at_the_answer_and_devices_are_written_in_place() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        std::fs::write(&real, "old").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o644)).unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let mut out = Output::open(Some(&link)).unwrap();
        out.write_all(b"new").unwrap();
        out.commit().unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
        let mode = std::fs::metadata(&real).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
        let mut null = Output::open(Some(&PathBuf::from("/dev/null"))).unwrap();
        assert!(matches!(null, Output::Direct(_)));
        null.write_all(b"x").unwrap();
        null.commit().unwrap();
    }
}
