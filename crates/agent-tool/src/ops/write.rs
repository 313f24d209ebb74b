//! `write`: replace or create a file, atomically. Parent directories are
//! created only when asked (`--parents`), so a typo in a path is an error
//! rather than a new directory.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;

use super::Report;
use crate::cli::WriteArgs;
use crate::error::{ErrorCode, ToolError};
use crate::fsutil;

#[derive(Debug, Serialize)]
pub struct WriteReport {
    pub path: String,
    pub bytes: usize,
    /// Whether the file did not exist before.
    pub created: bool,
}

/// Writes `args.content`, or all of `stdin` when it is `None`.
pub fn run(args: &WriteArgs, stdin: &mut dyn io::Read) -> Result<WriteReport, ToolError> {
    let path = Path::new(&args.path);
    let content = match &args.content {
        Some(c) => c.clone().into_bytes(),
        None => fsutil::read_stdin(stdin)?,
    };
    let created = match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => {
            return Err(ToolError::new(
                ErrorCode::NotAFile,
                format!("{} is a directory", args.path),
            ));
        }
        Ok(_) => false,
        Err(e) if e.kind() == io::ErrorKind::NotFound => true,
        Err(e) => return Err(ToolError::io("stat", path, &e)),
    };
    let parent = fsutil::parent_dir(path);
    if created && !parent.is_dir() {
        if !args.parents {
            return Err(ToolError::new(
                ErrorCode::NotFound,
                format!(
                    "directory {} does not exist; pass --parents to create it",
                    parent.display()
                ),
            ));
        }
        fs::create_dir_all(parent).map_err(|e| ToolError::io("create directory", parent, &e))?;
    }
    fsutil::write_atomic(path, &content)?;
    Ok(WriteReport {
        path: args.path.clone(),
        bytes: content.len(),
        created,
    })
}

impl Report for WriteReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let verb = if self.created { "created" } else { "wrote" };
        writeln!(out, "{verb} {} ({} bytes)", self.path, self.bytes)
    }
}
