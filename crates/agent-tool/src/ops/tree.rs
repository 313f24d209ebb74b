//! `tree`: a directory listing, flat and in walk order (each directory's
//! entries sorted by name, bytes, depth first), the order `search` uses.
//!
//! `.git` directories are skipped, symbolic links are listed but not
//! followed, and at most [`MAX_TREE_ENTRIES`] entries are returned.

use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;
use walkdir::WalkDir;

use super::Report;
use super::search::SKIPPED_DIRS;
use crate::cli::TreeArgs;
use crate::error::ToolError;
use crate::fsutil;

/// Most entries one `tree` returns: a listing beyond that is no use in an
/// agent's context; ask for a subdirectory or a smaller `--depth`.
pub const MAX_TREE_ENTRIES: usize = 10_000;

#[derive(Debug, Serialize)]
pub struct TreeReport {
    pub root: String,
    pub entries: Vec<Entry>,
    pub dirs: usize,
    pub files: usize,
    pub truncated: bool,
}

#[derive(Debug, Serialize)]
pub struct Entry {
    pub path: String,
    #[serde(rename = "type")]
    pub kind: Kind,
    /// Size in bytes, for files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// 1 for the root's own entries.
    #[serde(skip)]
    depth: usize,
    #[serde(skip)]
    name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Other,
}

pub fn run(args: &TreeArgs) -> Result<TreeReport, ToolError> {
    let root = Path::new(&args.dir);
    let meta = std::fs::metadata(root).map_err(|e| ToolError::io("list", root, &e))?;
    if !meta.is_dir() {
        return Err(ToolError::new(
            crate::error::ErrorCode::NotAFile,
            format!("{} is not a directory", args.dir),
        ));
    }
    if args.depth == Some(0) {
        return Err(ToolError::bad_request("--depth must be at least 1"));
    }
    let mut walk = WalkDir::new(root).min_depth(1).sort_by_file_name();
    if let Some(depth) = args.depth {
        walk = walk.max_depth(depth);
    }
    let mut report = TreeReport {
        root: args.dir.clone(),
        entries: Vec::new(),
        dirs: 0,
        files: 0,
        truncated: false,
    };
    let walk = walk.into_iter().filter_entry(|e| {
        !(e.file_type().is_dir() && SKIPPED_DIRS.iter().any(|d| e.file_name() == *d))
    });
    for entry in walk {
        // An unreadable subdirectory is listed, its contents are not.
        let Ok(entry) = entry else { continue };
        if report.entries.len() == MAX_TREE_ENTRIES {
            report.truncated = true;
            break;
        }
        let ft = entry.file_type();
        let (kind, size) = if ft.is_dir() {
            report.dirs += 1;
            (Kind::Dir, None)
        } else if ft.is_file() {
            report.files += 1;
            (Kind::File, Some(entry.metadata().map_or(0, |m| m.len())))
        } else if ft.is_symlink() {
            (Kind::Symlink, None)
        } else {
            (Kind::Other, None)
        };
        let rel = entry.path().strip_prefix(root).unwrap_or(entry.path());
        report.entries.push(Entry {
            path: fsutil::display_under(&args.dir, rel),
            kind,
            size,
            depth: entry.depth(),
            name: entry.file_name().to_string_lossy().into_owned(),
        });
    }
    Ok(report)
}

impl Report for TreeReport {
    /// Like `tree`: the root, then one line per entry with box-drawing guides.
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        // is_last[i]: no later sibling follows entry i. Found walking
        // backwards: a sibling seen at the same depth since the last
        // shallower entry.
        let mut is_last = vec![false; self.entries.len()];
        let mut seen: Vec<bool> = Vec::new();
        for (i, e) in self.entries.iter().enumerate().rev() {
            seen.resize(e.depth + 1, false);
            is_last[i] = !seen[e.depth];
            seen[e.depth] = true;
        }
        writeln!(out, "{}", self.root)?;
        // last_at[d]: whether the ancestor at depth d was a last child.
        let mut last_at: Vec<bool> = Vec::new();
        for (e, &last) in self.entries.iter().zip(&is_last) {
            last_at.truncate(e.depth - 1);
            let mut line = String::new();
            for &ancestor_last in &last_at {
                line.push_str(if ancestor_last { "    " } else { "│   " });
            }
            line.push_str(if last { "└── " } else { "├── " });
            line.push_str(&e.name);
            if e.kind == Kind::Dir {
                line.push('/');
            }
            writeln!(out, "{line}")?;
            last_at.push(last);
        }
        writeln!(out, "\n{} directories, {} files", self.dirs, self.files)
    }
}
