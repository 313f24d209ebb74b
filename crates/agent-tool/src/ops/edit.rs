//! `edit`: replace an exact string that occurs exactly once in a file.
//!
//! The file is handled as bytes, so files that are not UTF-8 can be edited
//! too. Zero or several occurrences are an error (`not_found`, `not_unique`)
//! that says how many there are and on which lines; the file is not touched.

use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;

use super::Report;
use crate::cli::EditArgs;
use crate::error::{ErrorCode, ToolError};
use crate::fsutil;

#[derive(Debug, Serialize)]
pub struct EditReport {
    pub path: String,
    /// The line where the replaced text started.
    pub line: usize,
    /// The file's size after the edit.
    pub bytes: usize,
}

pub fn run(args: &EditArgs) -> Result<EditReport, ToolError> {
    if args.old.is_empty() {
        return Err(ToolError::bad_request("the old string is empty"));
    }
    let path = Path::new(&args.path);
    let bytes = fsutil::read_capped(path)?;
    let old = args.old.as_bytes();
    let found: Vec<usize> = memchr::memmem::find_iter(&bytes, old).collect();
    // `find_iter` reports overlapping matches; count the ones a replacement
    // would see (non-overlapping, left to right), as `str::matches` does.
    let mut offsets = Vec::new();
    let mut next_free = 0;
    for at in found {
        if at >= next_free {
            offsets.push(at);
            next_free = at + old.len();
        }
    }
    let line_of = |at: usize| memchr::memchr_iter(b'\n', &bytes[..at]).count() + 1;
    let &[at] = offsets.as_slice() else {
        let count = offsets.len();
        let (code, message) = if count == 0 {
            (
                ErrorCode::NotFound,
                format!("the old string does not occur in {}", args.path),
            )
        } else {
            (
                ErrorCode::NotUnique,
                format!(
                    "the old string occurs {count} times in {}; add context to make it unique",
                    args.path
                ),
            )
        };
        let mut err = ToolError::new(code, message);
        err.count = Some(count);
        if count > 1 {
            err.lines = Some(offsets.iter().map(|&o| line_of(o)).collect());
        }
        return Err(err);
    };
    let mut edited = Vec::with_capacity(bytes.len() - old.len() + args.new.len());
    edited.extend_from_slice(&bytes[..at]);
    edited.extend_from_slice(args.new.as_bytes());
    edited.extend_from_slice(&bytes[at + old.len()..]);
    fsutil::write_atomic(path, &edited)?;
    Ok(EditReport {
        path: args.path.clone(),
        line: line_of(at),
        bytes: edited.len(),
    })
}

impl Report for EditReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "edited {} at line {}", self.path, self.line)
    }
}
