//! The subcommands, one module each. Each has a `run` that takes its
//! arguments from [`crate::cli`] and returns a serializable report or a
//! [`crate::error::ToolError`]; each report also knows its `--text` form.

use std::io::{self, Write};

use serde::Serialize;

pub mod apply;
pub mod edit;
pub mod read;
pub mod search;
pub mod tree;
pub mod write;

/// A successful result: serialized after `"ok":true`, or printed for people.
pub trait Report: Serialize {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()>;
}
