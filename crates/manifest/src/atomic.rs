//! Writing files atomically: a reader sees the old file or the whole new one,
//! never a part, and a crash leaves no partial output under the final name.
//!
//! The data goes to a temporary file in the destination's directory (so the
//! rename stays on one file system), is flushed to disk, given its mode, and
//! renamed over the destination; then the directory is flushed so the rename
//! itself survives a crash. [`stage`] splits this in two so that several files
//! can be prepared first and renamed into place only when all are ready.
//! This module does not decide names or modes: callers do.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Errors writing a file atomically.
#[derive(Debug, thiserror::Error)]
pub enum AtomicWriteError {
    #[error("{}: already exists (refusing to overwrite it)", path.display())]
    Exists { path: PathBuf },
    #[error("{}: cannot {op}: {source}", path.display())]
    Io {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: io::Error,
    },
}

/// How to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    /// Permission bits of the new file, set exactly (the umask does not apply).
    pub mode: u32,
    /// Replace an existing file; when false, an existing file is an error and
    /// is left alone (checked at the rename, so a file that appears meanwhile
    /// is not clobbered either).
    pub overwrite: bool,
}

impl Default for WriteOptions {
    /// Mode 0644, overwrite.
    fn default() -> Self {
        WriteOptions {
            mode: 0o644,
            overwrite: true,
        }
    }
}

impl WriteOptions {
    /// For secrets: mode 0600, never overwrite.
    pub fn private_new() -> Self {
        WriteOptions {
            mode: 0o600,
            overwrite: false,
        }
    }
}

/// Writes `data` to `path` atomically with mode 0644, replacing any old file.
pub fn write(path: &Path, data: &[u8]) -> Result<(), AtomicWriteError> {
    write_with(path, data, &WriteOptions::default())
}

/// Writes `data` to `path` atomically as `opts` say.
pub fn write_with(path: &Path, data: &[u8], opts: &WriteOptions) -> Result<(), AtomicWriteError> {
    stage(path, data, opts)?.commit()
}

/// A file written and flushed under a temporary name next to its destination,
/// waiting for [`StagedFile::commit`]. Dropping it removes the temporary file.
#[derive(Debug)]
pub struct StagedFile {
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
    dir: PathBuf,
    overwrite: bool,
}

/// Writes `data` to a temporary file beside `path` with `opts.mode`, flushed to
/// disk; nothing appears under `path` until [`StagedFile::commit`].
pub fn stage(
    path: &Path,
    data: &[u8],
    opts: &WriteOptions,
) -> Result<StagedFile, AtomicWriteError> {
    let io_err = |op, source| AtomicWriteError::Io {
        path: path.to_path_buf(),
        op,
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !opts.overwrite && fs::symlink_metadata(path).is_ok() {
        return Err(AtomicWriteError::Exists {
            path: path.to_path_buf(),
        });
    }
    let prefix = match path.file_name() {
        Some(name) => format!(".{}.", name.to_string_lossy()),
        None => ".recompiler.".to_string(),
    };
    // Created with mode 0600, so no one else can read the data before the
    // mode is set.
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(|e| io_err("create a temporary file in its directory", e))?;
    tmp.write_all(data)
        .map_err(|e| io_err("write the temporary file", e))?;
    tmp.as_file()
        .set_permissions(fs::Permissions::from_mode(opts.mode))
        .map_err(|e| io_err("set the mode of the temporary file", e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| io_err("flush the temporary file", e))?;
    Ok(StagedFile {
        tmp,
        path: path.to_path_buf(),
        dir,
        overwrite: opts.overwrite,
    })
}

impl StagedFile {
    /// The destination.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the temporary file to the destination and flushes the directory.
    pub fn commit(self) -> Result<(), AtomicWriteError> {
        let StagedFile {
            tmp,
            path,
            dir,
            overwrite,
        } = self;
        let persisted = if overwrite {
            tmp.persist(&path)
        } else {
            tmp.persist_noclobber(&path)
        };
        if let Err(e) = persisted {
            // The temporary file is removed when `e.file` drops.
            if !overwrite && e.error.kind() == io::ErrorKind::AlreadyExists {
                return Err(AtomicWriteError::Exists { path });
            }
            return Err(AtomicWriteError::Io {
                path,
                op: "rename the temporary file into place",
                source: e.error,
            });
        }
        fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(|source| AtomicWriteError::Io {
                path,
                op: "flush its directory",
                source,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }

    #[test]
    fn writes_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.json");
        write(&p, b"one").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"one");
        assert_eq!(mode(&p), 0o644);
        write(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn mode_is_exact() {
        let dir = tempfile::tempdir().unwrap();
        for m in [0o600, 0o755, 0o640] {
            let p = dir.path().join(format!("f{m:o}"));
            write_with(
                &p,
                b"x",
                &WriteOptions {
                    mode: m,
                    overwrite: true,
                },
            )
            .unwrap();
            assert_eq!(mode(&p), m);
        }
    }

    #[test]
    fn refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("key");
        write_with(&p, b"secret", &WriteOptions::private_new()).unwrap();
        assert_eq!(mode(&p), 0o600);
        let err = write_with(&p, b"other", &WriteOptions::private_new()).unwrap_err();
        assert!(matches!(err, AtomicWriteError::Exists { .. }), "{err}");
        assert!(
            err.to_string()
                .ends_with("key: already exists (refusing to overwrite it)"),
            "{err}"
        );
        assert_eq!(fs::read(&p).unwrap(), b"secret");
        // Also when the file appears between staging and commit.
        let q = dir.path().join("late");
        let staged = stage(&q, b"mine", &WriteOptions::private_new()).unwrap();
        fs::write(&q, b"theirs").unwrap();
        assert!(matches!(
            staged.commit(),
            Err(AtomicWriteError::Exists { .. })
        ));
        assert_eq!(fs::read(&q).unwrap(), b"theirs");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn staged_file_appears_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.wasm");
        let staged = stage(&p, b"data", &WriteOptions::default()).unwrap();
        assert_eq!(staged.path(), p);
        assert!(!p.exists());
        assert_eq!(leftovers(dir.path()).len(), 1);
        drop(staged);
        assert!(!p.exists());
        assert!(leftovers(dir.path()).is_empty());
        stage(&p, b"data", &WriteOptions::default())
            .unwrap()
            .commit()
            .unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"data");
    }

    #[test]
    fn missing_directory_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("no/such/dir/f");
        let err = write(&p, b"x").unwrap_err();
        assert!(
            matches!(
                err,
                AtomicWriteError::Io {
                    op: "create a temporary file in its directory",
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            err.to_string().contains("no/such/dir/f: cannot create"),
            "{err}"
        );
    }
}
