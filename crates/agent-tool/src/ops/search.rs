//! `search`: a regex over the lines of every file under a directory, like a
//! small ripgrep without ignore files.
//!
//! Order is deterministic: the walk visits each directory's entries sorted
//! by name (bytes), depth first, the same order `tree` lists; matches in a
//! file come by line. `.git` directories are skipped; so are files with a NUL
//! byte (binary), files over [`fsutil::MAX_FILE_BYTES`] and entries that
//! cannot be read (counted in `files_skipped`). Symbolic links are not
//! followed. Lines that are not UTF-8 are matched as bytes and shown lossily.

use std::io::{self, Write};
use std::path::Path;

use globset::{Glob, GlobSet, GlobSetBuilder};
use regex::bytes::RegexBuilder;
use serde::Serialize;
use walkdir::WalkDir;

use super::Report;
use crate::cli::SearchArgs;
use crate::error::ToolError;
use crate::fsutil;

/// Longest line text a match carries, in bytes (cut at a character
/// boundary): one minified line must not flood the agent's context. `read`
/// gives the whole line.
pub const MAX_MATCH_TEXT: usize = 2048;

/// Directories never searched nor listed.
pub const SKIPPED_DIRS: &[&str] = &[".git"];

#[derive(Debug, Serialize)]
pub struct SearchReport {
    pub matches: Vec<Match>,
    /// True when `--max` stopped the search early.
    pub truncated: bool,
    pub files_searched: usize,
    pub files_skipped: usize,
}

#[derive(Debug, Serialize)]
pub struct Match {
    pub path: String,
    pub line: usize,
    pub text: String,
}

/// Builds a glob set; `*` also matches `/`, so `*.rs` matches at any depth.
pub fn glob_set(globs: &[String]) -> Result<Option<GlobSet>, ToolError> {
    if globs.is_empty() {
        return Ok(None);
    }
    let mut builder = GlobSetBuilder::new();
    for g in globs {
        let glob =
            Glob::new(g).map_err(|e| ToolError::bad_request(format!("bad glob {g:?}: {e}")))?;
        builder.add(glob);
    }
    builder
        .build()
        .map(Some)
        .map_err(|e| ToolError::bad_request(format!("bad globs: {e}")))
}

/// Whether a glob in `set` matches `rel` or its file name.
fn matches_any(set: &GlobSet, rel: &Path) -> bool {
    set.is_match(rel) || rel.file_name().is_some_and(|n| set.is_match(n))
}

pub fn run(args: &SearchArgs) -> Result<SearchReport, ToolError> {
    if args.max == 0 {
        return Err(ToolError::bad_request("--max must be at least 1"));
    }
    let regex = RegexBuilder::new(&args.pattern)
        .case_insensitive(args.ignore_case)
        .build()
        .map_err(|e| ToolError::bad_request(format!("bad regex: {e}")))?;
    let include = glob_set(&args.glob)?;
    let exclude = glob_set(&args.exclude)?;
    let root = Path::new(&args.dir);
    std::fs::symlink_metadata(root).map_err(|e| ToolError::io("search", root, &e))?;

    let mut report = SearchReport {
        matches: Vec::new(),
        truncated: false,
        files_searched: 0,
        files_skipped: 0,
    };
    let walk = WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            if e.depth() == 0 {
                return true;
            }
            let rel = e.path().strip_prefix(root).unwrap_or(e.path());
            let skipped_dir =
                e.file_type().is_dir() && SKIPPED_DIRS.iter().any(|d| e.file_name() == *d);
            !skipped_dir && !exclude.as_ref().is_some_and(|x| matches_any(x, rel))
        });
    'files: for entry in walk {
        let Ok(entry) = entry else {
            report.files_skipped += 1;
            continue;
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry.path().strip_prefix(root).unwrap_or(entry.path());
        let name_only = if rel.as_os_str().is_empty() {
            Path::new(entry.file_name())
        } else {
            rel
        };
        if include.as_ref().is_some_and(|i| !matches_any(i, name_only)) {
            continue;
        }
        let bytes = match fsutil::read_capped(entry.path()) {
            Ok(b) if memchr::memchr(0, &b).is_none() => b,
            _ => {
                report.files_skipped += 1;
                continue;
            }
        };
        report.files_searched += 1;
        let shown = fsutil::display_under(&args.dir, rel);
        for (i, line) in fsutil::lines(&bytes).enumerate() {
            if !regex.is_match(line) {
                continue;
            }
            if report.matches.len() == args.max {
                report.truncated = true;
                break 'files;
            }
            report.matches.push(Match {
                path: shown.clone(),
                line: i + 1,
                text: shown_text(line),
            });
        }
    }
    Ok(report)
}

/// A line as shown in a match: lossy UTF-8, cut to [`MAX_MATCH_TEXT`].
fn shown_text(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    if text.len() <= MAX_MATCH_TEXT {
        return text.into_owned();
    }
    let mut cut = MAX_MATCH_TEXT;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text[..cut].to_owned()
}

impl Report for SearchReport {
    /// Like `rg --no-heading -n`: `path:line:text`.
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        for m in &self.matches {
            writeln!(out, "{}:{}:{}", m.path, m.line, m.text)?;
        }
        if self.truncated {
            writeln!(out, "(stopped after {} matches)", self.matches.len())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_paths_and_file_names() {
        let set = glob_set(&["*.rs".to_owned()]).unwrap().unwrap();
        assert!(matches_any(&set, Path::new("src/deep/a.rs")));
        assert!(!matches_any(&set, Path::new("src/a.rsx")));
        let set = glob_set(&["src/**".to_owned()]).unwrap().unwrap();
        assert!(matches_any(&set, Path::new("src/a/b")));
        assert!(glob_set(&["a[".to_owned()]).is_err());
    }

    #[test]
    fn long_lines_are_cut_at_a_char_boundary() {
        let line = "é".repeat(MAX_MATCH_TEXT);
        let shown = shown_text(line.as_bytes());
        assert!(shown.len() <= MAX_MATCH_TEXT && shown.len() >= MAX_MATCH_TEXT - 1);
        assert_eq!(shown_text(b"caf\xe9"), "caf\u{fffd}");
    }
}
