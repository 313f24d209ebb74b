//! `apply`: a unified diff (as `diff -u` or `git diff` write it), all or
//! nothing.
//!
//! The diff is split into one section per file (`---`/`+++` headers and their
//! hunks; `diff --git`, `index` and other lines between files are ignored),
//! each parsed and applied in memory with `diffy`. Only when every hunk of
//! every file applies are files written: each new content to a temp file
//! beside its destination, then all renamed into place, then deletions. A
//! failure before the renames leaves every file as it was; the renames
//! themselves are one system call each and are not expected to fail.
//!
//! Supported: modifying, creating (`--- /dev/null`) and deleting
//! (`+++ /dev/null`) files, `a/`/`b/` prefixes, hunks found at an offset from
//! their stated line (as GNU patch does, without fuzz). Not supported:
//! renames, mode changes, binary patches.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::Report;
use crate::cli::ApplyArgs;
use crate::error::{ErrorCode, ToolError};
use crate::fsutil;

#[derive(Debug, Serialize)]
pub struct ApplyReport {
    pub dir: String,
    /// The files changed, sorted by path.
    pub files: Vec<FileChange>,
}

#[derive(Debug, Serialize)]
pub struct FileChange {
    /// As named in the diff, relative to `dir`.
    pub path: String,
    pub action: Action,
    pub hunks: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Created,
    Modified,
    Deleted,
}

/// One file's part of the diff.
struct Section {
    /// Index of the section's first line (1-based), for messages.
    line: usize,
    text: Vec<u8>,
}

/// What the diff makes of one file.
struct Planned {
    existed: bool,
    content: Option<Vec<u8>>,
    hunks: usize,
}

pub fn run(args: &ApplyArgs, diff: &[u8]) -> Result<ApplyReport, ToolError> {
    let dir = Path::new(&args.dir);
    if !dir.is_dir() {
        return Err(ToolError::new(
            ErrorCode::NotFound,
            format!("directory {} does not exist", args.dir),
        ));
    }
    let sections = split_sections(diff);
    if sections.is_empty() {
        return Err(ToolError::bad_request(
            "the diff holds no file (no `---`/`+++` header lines)",
        ));
    }

    // Check: apply everything in memory.
    let mut plan: BTreeMap<String, Planned> = BTreeMap::new();
    for section in &sections {
        let patch = diffy::Patch::from_bytes(&section.text).map_err(|e| {
            ToolError::bad_request(format!("malformed diff at line {}: {e}", section.line))
        })?;
        let (old, new) = names(patch.original(), patch.modified(), section.line)?;
        let rel = match (&old, &new) {
            (None, None) => {
                return Err(ToolError::bad_request(format!(
                    "diff at line {} names /dev/null on both sides",
                    section.line
                )));
            }
            (Some(o), Some(n)) if o != n => {
                return Err(ToolError::bad_request(format!(
                    "diff at line {} renames {o} to {n}; renames are not supported",
                    section.line
                )));
            }
            (_, Some(p)) | (Some(p), None) => p.clone(),
        };
        fsutil::check_contained(&rel)?;
        if !plan.contains_key(&rel) {
            let path = dir.join(&rel);
            let content = match fs::symlink_metadata(&path) {
                Ok(_) => Some(fsutil::read_capped(&path)?),
                Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                Err(e) => return Err(ToolError::io("stat", &path, &e)),
            };
            plan.insert(
                rel.clone(),
                Planned {
                    existed: content.is_some(),
                    content,
                    hunks: 0,
                },
            );
        }
        let planned = plan
            .get_mut(&rel)
            .expect("inserted just above when missing");
        let base: &[u8] = match (&old, &planned.content) {
            (None, Some(_)) => {
                return Err(ToolError::new(
                    ErrorCode::Exists,
                    format!("the diff creates {rel}, which already exists"),
                ));
            }
            (None, None) => b"",
            (Some(_), Some(c)) => c,
            (Some(_), None) => {
                return Err(ToolError::new(
                    ErrorCode::NotFound,
                    format!("the diff changes {rel}, which does not exist"),
                ));
            }
        };
        let patched = diffy::apply_bytes(base, &patch).map_err(|e| {
            ToolError::new(
                ErrorCode::PatchFailed,
                format!(
                    "{rel}: {e} (diff line {}); nothing was changed",
                    section.line
                ),
            )
        })?;
        planned.hunks += patch.hunks().len();
        if new.is_none() {
            if !patched.is_empty() {
                return Err(ToolError::new(
                    ErrorCode::PatchFailed,
                    format!("the diff deletes {rel} but does not remove all of its lines"),
                ));
            }
            planned.content = None;
        } else {
            planned.content = Some(patched);
        }
    }

    // Write: directories, temp files, renames, deletions.
    let mut created_dirs: Vec<PathBuf> = Vec::new();
    let staged = stage_all(dir, &plan, &mut created_dirs).inspect_err(|_| {
        for d in created_dirs.iter().rev() {
            let _ = fs::remove_dir(d);
        }
    })?;
    for s in staged {
        s.commit()?;
    }
    let mut files = Vec::new();
    for (rel, p) in plan {
        let action = match (p.existed, &p.content) {
            (false, Some(_)) => Action::Created,
            (true, Some(_)) => Action::Modified,
            (true, None) => {
                let path = dir.join(&rel);
                fs::remove_file(&path).map_err(|e| ToolError::io("delete", &path, &e))?;
                Action::Deleted
            }
            (false, None) => continue,
        };
        files.push(FileChange {
            path: rel,
            action,
            hunks: p.hunks,
        });
    }
    Ok(ApplyReport {
        dir: args.dir.clone(),
        files,
    })
}

/// Writes every new content to a temp file; creates missing parent
/// directories (recorded in `created_dirs`, outermost first).
fn stage_all(
    dir: &Path,
    plan: &BTreeMap<String, Planned>,
    created_dirs: &mut Vec<PathBuf>,
) -> Result<Vec<fsutil::Staged>, ToolError> {
    let mut staged = Vec::new();
    for (rel, p) in plan {
        let Some(content) = &p.content else { continue };
        let path = dir.join(rel);
        let mut missing = Vec::new();
        let mut parent = fsutil::parent_dir(&path);
        while !parent.exists() {
            missing.push(parent.to_path_buf());
            parent = fsutil::parent_dir(parent);
        }
        for d in missing.into_iter().rev() {
            fs::create_dir(&d).map_err(|e| ToolError::io("create directory", &d, &e))?;
            created_dirs.push(d);
        }
        staged.push(fsutil::stage(&path, content)?);
    }
    Ok(staged)
}

/// The paths a section's headers name, `None` for `/dev/null`, with git's
/// `a/` and `b/` prefixes removed when both sides use them.
fn names(
    old: Option<&[u8]>,
    new: Option<&[u8]>,
    line: usize,
) -> Result<(Option<String>, Option<String>), ToolError> {
    let text = |n: Option<&[u8]>| -> Result<Option<String>, ToolError> {
        let Some(n) = n else {
            return Err(ToolError::bad_request(format!(
                "diff at line {line} lacks a `---` or `+++` file name"
            )));
        };
        let s = std::str::from_utf8(n).map_err(|_| {
            ToolError::bad_request(format!("diff at line {line}: a file name is not UTF-8"))
        })?;
        Ok((s != "/dev/null").then(|| s.to_owned()))
    };
    let (mut old, mut new) = (text(old)?, text(new)?);
    let git_style = old.as_deref().is_none_or(|o| o.starts_with("a/"))
        && new.as_deref().is_none_or(|n| n.starts_with("b/"));
    if git_style {
        for name in [&mut old, &mut new].into_iter().flatten() {
            name.drain(..2);
        }
    }
    Ok((old, new))
}

/// Splits a diff into per-file sections. A section starts at a `--- ` line
/// followed by a `+++ ` line; its hunks are taken by the line counts in
/// their `@@` headers, so a deleted line that starts with `-- ` is not taken
/// for a header.
fn split_sections(diff: &[u8]) -> Vec<Section> {
    let lines: Vec<&[u8]> = diff.split_inclusive(|&b| b == b'\n').collect();
    let mut sections = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let is_header = lines[i].starts_with(b"--- ")
            && lines.get(i + 1).is_some_and(|l| l.starts_with(b"+++ "));
        if !is_header {
            i += 1;
            continue;
        }
        let start = i;
        i += 2;
        while let Some((mut old, mut new)) = lines.get(i).and_then(|l| hunk_counts(l)) {
            i += 1;
            while (old > 0 || new > 0) && i < lines.len() {
                match lines[i].first() {
                    Some(b' ' | b'\n' | b'\r') => {
                        old = old.saturating_sub(1);
                        new = new.saturating_sub(1);
                    }
                    Some(b'-') => old = old.saturating_sub(1),
                    Some(b'+') => new = new.saturating_sub(1),
                    Some(b'\\') => {}
                    // Malformed: stop here; diffy's parse reports it.
                    _ => break,
                }
                i += 1;
            }
            while lines.get(i).is_some_and(|l| l.starts_with(b"\\")) {
                i += 1;
            }
        }
        sections.push(Section {
            line: start + 1,
            text: lines[start..i].concat(),
        });
    }
    sections
}

/// The old and new line counts of a hunk header `@@ -a[,b] +c[,d] @@`.
fn hunk_counts(line: &[u8]) -> Option<(usize, usize)> {
    let line = std::str::from_utf8(line.strip_prefix(b"@@ -")?).ok()?;
    let (ranges, _) = line.split_once(" @@")?;
    let (old, new) = ranges.split_once(" +")?;
    let count = |r: &str| -> Option<usize> {
        match r.split_once(',') {
            Some((_, n)) => n.parse().ok(),
            None => r.parse::<usize>().ok().map(|_| 1),
        }
    };
    Some((count(old)?, count(new)?))
}

impl Report for ApplyReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        for f in &self.files {
            let verb = match f.action {
                Action::Created => "created",
                Action::Modified => "modified",
                Action::Deleted => "deleted",
            };
            writeln!(out, "{verb} {} ({} hunks)", f.path, f.hunks)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunk_headers_give_line_counts() {
        assert_eq!(hunk_counts(b"@@ -1,3 +1,4 @@ fn main\n"), Some((3, 4)));
        assert_eq!(hunk_counts(b"@@ -0,0 +1 @@\n"), Some((0, 1)));
        assert_eq!(hunk_counts(b"@@ bogus\n"), None);
    }

    #[test]
    fn sections_split_per_file_and_skip_git_preamble() {
        let diff = b"diff --git a/x b/x\nindex 1..2 100644\n--- a/x\n+++ b/x\n@@ -1,2 +1,1 @@\n--- a SQL comment\n keep\ndiff --git a/y b/y\n--- a/y\n+++ b/y\n@@ -1 +1 @@\n-a\n+b\n";
        let sections = split_sections(diff);
        assert_eq!(sections.len(), 2);
        assert!(sections[0].text.ends_with(b"--- a SQL comment\n keep\n"));
        assert_eq!(sections[1].line, 9);
    }

    #[test]
    fn git_prefixes_are_stripped_only_on_both_sides() {
        let n = |o: &str, n: &str| names(Some(o.as_bytes()), Some(n.as_bytes()), 1).unwrap();
        assert_eq!(n("a/x", "b/x"), (Some("x".into()), Some("x".into())));
        assert_eq!(n("/dev/null", "b/x"), (None, Some("x".into())));
        assert_eq!(n("a/x", "a/x"), (Some("a/x".into()), Some("a/x".into())));
    }
}
