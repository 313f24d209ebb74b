//! File-system helpers shared by the subcommands: capped reads, atomic
//! writes (temp file in the same directory, then rename), and how paths are
//! checked and shown.
//!
//! Everything here works the same natively and under WASI preview1, where a
//! rename is `path_rename` within a preopened directory.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{ErrorCode, ToolError};

/// Largest file `read`, `edit` and `apply` load and `search` looks into. The
/// whole file is held in memory (a wasm guest's linear memory, at that); a
/// file larger than this is not one an agent reads line by line.
pub const MAX_FILE_BYTES: u64 = 16 << 20;

/// Largest JSON request, diff or `write` content read from stdin: far more
/// than any edit an agent sends, small enough to hold in a wasm guest's memory.
pub const MAX_STDIN_BYTES: u64 = 64 << 20;

/// Reads all of stdin, up to [`MAX_STDIN_BYTES`].
pub fn read_stdin(stdin: &mut dyn io::Read) -> Result<Vec<u8>, ToolError> {
    let mut buf = Vec::new();
    stdin
        .take(MAX_STDIN_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(|e| ToolError::io("read", Path::new("stdin"), &e))?;
    if buf.len() as u64 > MAX_STDIN_BYTES {
        return Err(ToolError::new(
            ErrorCode::TooLarge,
            format!("stdin holds more than {MAX_STDIN_BYTES} bytes"),
        ));
    }
    Ok(buf)
}

/// Reads all of `path`, refusing directories and files over [`MAX_FILE_BYTES`].
pub fn read_capped(path: &Path) -> Result<Vec<u8>, ToolError> {
    let file = File::open(path).map_err(|e| ToolError::io("open", path, &e))?;
    let meta = file
        .metadata()
        .map_err(|e| ToolError::io("stat", path, &e))?;
    if !meta.is_file() {
        return Err(ToolError::new(
            ErrorCode::NotAFile,
            format!("{} is not a regular file", path.display()),
        ));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_large(path, meta.len()));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    // `take` guards against a file that grows while it is read.
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ToolError::io("read", path, &e))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(path, bytes.len() as u64));
    }
    Ok(bytes)
}

fn too_large(path: &Path, len: u64) -> ToolError {
    ToolError::new(
        ErrorCode::TooLarge,
        format!(
            "{} is {len} bytes, more than the {MAX_FILE_BYTES} bytes agent-tool loads",
            path.display()
        ),
    )
}

/// A file's new content, written to a temp file beside it and not yet
/// renamed into place. Dropping it without [`Staged::commit`] removes the
/// temp file, so a failure leaves the destination untouched.
#[derive(Debug)]
pub struct Staged {
    tmp: PathBuf,
    dest: PathBuf,
    committed: bool,
}

/// The directory `path` is in (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Writes `bytes` to a new temp file in `dest`'s directory. If `dest` exists,
/// the temp file gets its permissions (on Unix hosts).
pub fn stage(dest: &Path, bytes: &[u8]) -> Result<Staged, ToolError> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let name = dest.file_name().ok_or_else(|| {
        ToolError::bad_request(format!("{} does not name a file", dest.display()))
    })?;
    let dir = parent_dir(dest);
    // No pid under WASI preview1: the clock and a counter make the name
    // unlikely to collide, and `create_new` makes a collision harmless.
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut attempt = 0u32;
    let (tmp, mut file) = loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".agent-tool-{nanos:x}-{n}.tmp"));
        let tmp = dir.join(tmp_name);
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(file) => break (tmp, file),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
            Err(e) => return Err(ToolError::io("create a temp file in", dir, &e)),
        }
    };
    let staged = Staged {
        tmp,
        dest: dest.to_path_buf(),
        committed: false,
    };
    file.write_all(bytes)
        .map_err(|e| ToolError::io("write", &staged.tmp, &e))?;
    drop(file);
    copy_permissions(dest, &staged.tmp);
    Ok(staged)
}

#[cfg(unix)]
fn copy_permissions(from: &Path, to: &Path) {
    // Best effort: a new file keeps the default mode; failing to copy the
    // mode is not worth failing the write for.
    if let Ok(meta) = fs::metadata(from) {
        let _ = fs::set_permissions(to, meta.permissions());
    }
}

#[cfg(not(unix))]
fn copy_permissions(_from: &Path, _to: &Path) {
    // WASI preview1 has no file modes to copy.
}

impl Staged {
    /// Renames the temp file over the destination.
    pub fn commit(mut self) -> Result<(), ToolError> {
        fs::rename(&self.tmp, &self.dest)
            .map_err(|e| ToolError::io("rename onto", &self.dest, &e))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Writes `bytes` to `dest` atomically: readers see the old or the new file,
/// never a part of it. Not made durable with fsync.
pub fn write_atomic(dest: &Path, bytes: &[u8]) -> Result<(), ToolError> {
    stage(dest, bytes)?.commit()
}

/// Checks that `rel` (a path from a diff) stays inside the directory it is
/// joined to: relative, with no `..`.
pub fn check_contained(rel: &str) -> Result<(), ToolError> {
    let path = Path::new(rel);
    let escapes = rel.is_empty()
        || path
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir));
    if escapes {
        return Err(ToolError::bad_request(format!(
            "path {rel:?} must be relative and must not contain `..`"
        )));
    }
    Ok(())
}

/// How a path under `root` is shown: joined to `root` so it can be passed
/// back to `read` or `edit`, without a leading `./` when `root` is `.`.
pub fn display_under(root: &str, rel: &Path) -> String {
    let rel = rel.to_string_lossy();
    if rel.is_empty() {
        return root.to_owned();
    }
    match root.trim_end_matches('/') {
        "." | "" if !root.starts_with('/') => rel.into_owned(),
        "" => format!("/{rel}"),
        r => format!("{r}/{rel}"),
    }
}

/// Splits `bytes` into lines: each ends at `\n` (not included); a last line
/// without `\n` counts; a `\r` before the `\n` is kept.
pub fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let empty = bytes.is_empty();
    body.split(|&b| b == b'\n').filter(move |_| !empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_follow_newlines() {
        let split = |s: &str| {
            lines(s.as_bytes())
                .map(|l| String::from_utf8(l.to_vec()).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(split(""), Vec::<String>::new());
        assert_eq!(split("\n"), vec![""]);
        assert_eq!(split("a"), vec!["a"]);
        assert_eq!(split("a\nb\n"), vec!["a", "b"]);
        assert_eq!(split("a\r\n\nb"), vec!["a\r", "", "b"]);
    }

    #[test]
    fn display_under_joins_without_dot_prefix() {
        assert_eq!(display_under(".", Path::new("a/b")), "a/b");
        assert_eq!(display_under("./", Path::new("a")), "a");
        assert_eq!(display_under("src", Path::new("a")), "src/a");
        assert_eq!(display_under("src/", Path::new("a")), "src/a");
        assert_eq!(display_under("/", Path::new("a")), "/a");
        assert_eq!(display_under("x.rs", Path::new("")), "x.rs");
    }

    #[test]
    fn contained_paths_are_relative_without_dotdot() {
        assert!(check_contained("a/b.rs").is_ok());
        assert!(check_contained("./a").is_ok());
        for bad in ["", "/etc/passwd", "../x", "a/../../x"] {
            assert_eq!(
                check_contained(bad).unwrap_err().code,
                ErrorCode::BadRequest,
                "{bad}"
            );
        }
    }

    #[test]
    fn staged_writes_land_only_on_commit() {
        let dir = std::env::temp_dir().join(format!("agent-tool-fsutil-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let dest = dir.join("f.txt");
        fs::write(&dest, "old").unwrap();
        drop(stage(&dest, b"dropped").unwrap());
        assert_eq!(fs::read(&dest).unwrap(), b"old");
        write_atomic(&dest, b"new").unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"new");
        // No temp file is left behind either way.
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }
}
