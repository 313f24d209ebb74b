//! `read`: a file, or a range of its lines, with line numbers.
//!
//! Text that is not valid UTF-8 is decoded lossily (each bad sequence becomes
//! U+FFFD) and the report says `"lossy":true`; a file with a NUL byte is not
//! text and is refused with `binary`.

use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;

use super::Report;
use crate::cli::ReadArgs;
use crate::error::{ErrorCode, ToolError};
use crate::fsutil;

#[derive(Debug, Serialize)]
pub struct ReadReport {
    pub path: String,
    pub lines: Vec<Line>,
    pub total_lines: usize,
    pub lossy: bool,
}

#[derive(Debug, Serialize)]
pub struct Line {
    pub n: usize,
    pub text: String,
}

pub fn run(args: &ReadArgs) -> Result<ReadReport, ToolError> {
    let start = args.start.unwrap_or(1);
    if start == 0 {
        return Err(ToolError::bad_request("--start counts from 1"));
    }
    if let Some(end) = args.end
        && end < start
    {
        return Err(ToolError::bad_request(format!(
            "--end {end} is before --start {start}"
        )));
    }
    let bytes = fsutil::read_capped(Path::new(&args.path))?;
    if memchr::memchr(0, &bytes).is_some() {
        return Err(ToolError::new(
            ErrorCode::Binary,
            format!("{} holds a NUL byte: it is not a text file", args.path),
        ));
    }
    let lossy = std::str::from_utf8(&bytes).is_err();
    let end = args.end.unwrap_or(usize::MAX);
    let mut total_lines = 0;
    let mut lines = Vec::new();
    for (i, line) in fsutil::lines(&bytes).enumerate() {
        let n = i + 1;
        total_lines = n;
        if (start..=end).contains(&n) {
            lines.push(Line {
                n,
                text: String::from_utf8_lossy(line).into_owned(),
            });
        }
    }
    Ok(ReadReport {
        path: args.path.clone(),
        lines,
        total_lines,
        lossy,
    })
}

impl Report for ReadReport {
    /// Like `cat -n`: the number right-aligned in six columns, a tab, the line.
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        for line in &self.lines {
            writeln!(out, "{:>6}\t{}", line.n, line.text)?;
        }
        Ok(())
    }
}
