//! The one error type of agent-tool: a stable machine-readable code, a
//! message for people, and for `edit` the number of occurrences found.
//!
//! Every failure of a subcommand becomes a [`ToolError`]; `main` prints it as
//! `{"ok":false,"error":{...}}` (or on stderr in text mode) and exits with
//! [`ToolError::exit_code`].

use std::fmt;
use std::io;
use std::path::Path;

use serde::Serialize;

/// What went wrong, as a stable string callers can match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// argv could not be parsed (exit code 2).
    Usage,
    /// The request parsed but a value is wrong: a bad regex or glob, an empty
    /// `old` string, a line range with `end < start`, a malformed JSON request
    /// or a malformed diff, a path that leaves `--dir`.
    BadRequest,
    /// A file or directory does not exist; for `edit`, the old string does not
    /// occur (`count` is 0).
    NotFound,
    /// `edit`: the old string occurs more than once (`count` says how often).
    NotUnique,
    /// The path names a directory (or something else) where a file is needed.
    NotAFile,
    /// The file is larger than [`crate::fsutil::MAX_FILE_BYTES`].
    TooLarge,
    /// `read`: the file holds a NUL byte, so it is not text.
    Binary,
    /// `apply`: a file the diff creates already exists.
    Exists,
    /// `apply`: a hunk does not match the file; nothing was written.
    PatchFailed,
    /// The operating system (or the WASI host) refused access.
    PermissionDenied,
    /// Any other I/O failure.
    Io,
}

/// A failed subcommand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToolError {
    pub code: ErrorCode,
    pub message: String,
    /// `edit` only: how many times the old string occurs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<usize>,
    /// `edit` only, with `not_unique`: the line of each occurrence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<usize>>,
}

impl ToolError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            count: None,
            lines: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    /// An I/O error on `path`, classified by its kind.
    pub fn io(what: &str, path: &Path, err: &io::Error) -> Self {
        let code = match err.kind() {
            io::ErrorKind::NotFound => ErrorCode::NotFound,
            io::ErrorKind::PermissionDenied => ErrorCode::PermissionDenied,
            io::ErrorKind::IsADirectory => ErrorCode::NotAFile,
            io::ErrorKind::AlreadyExists => ErrorCode::Exists,
            _ => ErrorCode::Io,
        };
        // The OS's text for the common kinds differs between hosts (and its
        // errno between Linux and WASI); say it in words of our own.
        let reason = match code {
            ErrorCode::NotFound => "no such file or directory".to_owned(),
            ErrorCode::PermissionDenied => "permission denied".to_owned(),
            ErrorCode::NotAFile => "is a directory".to_owned(),
            ErrorCode::Exists => "already exists".to_owned(),
            _ => err.to_string(),
        };
        Self::new(code, format!("cannot {what} {}: {reason}", path.display()))
    }

    /// 2 for usage errors, 1 for everything else.
    pub fn exit_code(&self) -> i32 {
        if self.code == ErrorCode::Usage { 2 } else { 1 }
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ToolError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_are_classified_by_kind() {
        let e = ToolError::io("read", Path::new("x"), &io::ErrorKind::NotFound.into());
        assert_eq!(e.code, ErrorCode::NotFound);
        assert_eq!(e.message, "cannot read x: no such file or directory");
        let e = ToolError::io("read", Path::new("x"), &io::Error::other("boom"));
        assert_eq!(e.code, ErrorCode::Io);
    }

    #[test]
    fn codes_serialize_in_snake_case_and_omit_empty_fields() {
        let e = ToolError::new(ErrorCode::PatchFailed, "m");
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"code":"patch_failed","message":"m"}"#
        );
        assert_eq!(e.exit_code(), 1);
        assert_eq!(ToolError::new(ErrorCode::Usage, "u").exit_code(), 2);
    }
}
