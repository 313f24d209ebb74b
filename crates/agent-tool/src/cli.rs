//! The command line and the JSON request: one argument struct per
//! subcommand, parsed by clap from argv and by serde from a `call` request,
//! so both ways of asking take the same fields.

use clap::{Args, Parser, Subcommand};
use serde::Deserialize;

/// The file operations a coding agent calls most, JSON in and JSON out.
#[derive(Debug, Parser)]
#[command(
    name = "agent-tool",
    version,
    about = "The file operations a coding agent calls most: read, search, edit, write, apply, tree.",
    long_about = None,
    after_help = "\
Output: one JSON object on stdout, {\"ok\":true,...} or \
{\"ok\":false,\"error\":{\"code\":...,\"message\":...}}; --text prints for people instead.
Exit codes: 0 ok, 1 the operation failed, 2 the command line is wrong.
A request can also come as JSON on stdin: echo '{\"cmd\":\"read\",\"path\":\"a.rs\"}' | agent-tool call
Writes are atomic (temp file + rename); `apply` checks every hunk before it writes anything.
Documentation: docs/agent-tool.md"
)]
pub struct Cli {
    /// Print for people (line numbers, `path:line:text`, a tree) instead of JSON.
    #[arg(short = 't', long, global = true)]
    pub text: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// A subcommand; also the JSON request of `call`, tagged by `cmd`.
#[derive(Debug, Subcommand, Deserialize)]
#[serde(tag = "cmd", rename_all = "lowercase")]
pub enum Command {
    /// Read a file, or a range of its lines, with line numbers.
    Read(ReadArgs),
    /// Search files under a directory for a regex, line by line.
    Search(SearchArgs),
    /// Replace a string that must occur exactly once in a file.
    Edit(EditArgs),
    /// Write a file (content from --content or stdin).
    Write(WriteArgs),
    /// Apply a unified diff from stdin: all files and hunks, or nothing.
    Apply(ApplyArgs),
    /// List a directory tree.
    Tree(TreeArgs),
    /// Read one JSON request from stdin: {"cmd":"edit","path":...,"old":...,"new":...}.
    #[serde(skip)]
    Call,
}

#[derive(Debug, Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadArgs {
    /// The file.
    pub path: String,
    /// First line to return (1-based, inclusive).
    #[arg(long)]
    pub start: Option<usize>,
    /// Last line to return (inclusive); past the end means up to the end.
    #[arg(long)]
    pub end: Option<usize>,
}

#[derive(Debug, Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    /// A regular expression (Rust `regex` syntax), matched against each line.
    pub pattern: String,
    /// Directory (or file) to search.
    #[arg(default_value = ".")]
    #[serde(default = "dot")]
    pub dir: String,
    /// Only search files whose path (relative to DIR) matches this glob; repeatable.
    #[arg(long = "glob", short = 'g', value_name = "GLOB")]
    #[serde(default)]
    pub glob: Vec<String>,
    /// Skip files and directories whose path (relative to DIR) matches this glob; repeatable.
    #[arg(long, value_name = "GLOB")]
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Stop after this many matches.
    #[arg(long, default_value_t = DEFAULT_MAX_MATCHES)]
    #[serde(default = "default_max")]
    pub max: usize,
    /// Match case-insensitively.
    #[arg(short = 'i', long)]
    #[serde(default)]
    pub ignore_case: bool,
}

/// How many matches `search` returns unless told otherwise: enough for an
/// agent to act on, few enough to fit its context.
pub const DEFAULT_MAX_MATCHES: usize = 1000;

#[derive(Debug, Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditArgs {
    /// The file.
    pub path: String,
    /// The exact text to replace; it must occur exactly once.
    #[arg(long)]
    pub old: String,
    /// The text to put in its place.
    #[arg(long)]
    pub new: String,
}

#[derive(Debug, Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteArgs {
    /// The file.
    pub path: String,
    /// The new content; without it, stdin is read.
    #[arg(long)]
    pub content: Option<String>,
    /// Create missing parent directories.
    #[arg(long)]
    #[serde(default)]
    pub parents: bool,
}

#[derive(Debug, Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyArgs {
    /// Directory the diff's paths are relative to.
    #[arg(long, default_value = ".")]
    #[serde(default = "dot")]
    pub dir: String,
    /// The diff; on the command line it is read from stdin.
    #[arg(skip)]
    pub patch: Option<String>,
}

#[derive(Debug, Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreeArgs {
    /// The directory.
    #[arg(default_value = ".")]
    #[serde(default = "dot")]
    pub dir: String,
    /// How deep to list: 1 lists DIR's own entries only.
    #[arg(long)]
    pub depth: Option<usize>,
}

fn dot() -> String {
    ".".to_owned()
}

fn default_max() -> usize {
    DEFAULT_MAX_MATCHES
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn json_requests_take_the_same_fields_with_defaults() {
        let c: Command =
            serde_json::from_str(r#"{"cmd":"search","pattern":"fn","glob":["*.rs"]}"#).unwrap();
        let Command::Search(s) = c else {
            panic!("{c:?}")
        };
        assert_eq!((s.dir.as_str(), s.max, s.ignore_case), (".", 1000, false));
        assert_eq!(s.glob, ["*.rs"]);
        let err = serde_json::from_str::<Command>(r#"{"cmd":"read","path":"a","bogus":1}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("bogus"), "{err}");
        assert!(serde_json::from_str::<Command>(r#"{"cmd":"call"}"#).is_err());
    }
}
