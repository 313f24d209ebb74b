//! agent-tool's integration tests, one binary (STYLE: one per crate).
//!
//! - [`golden`]: the native binary on a temp copy of `tests/fixtures/tree`,
//!   stdout compared byte for byte with `tests/expected/NAME.json`; error
//!   cases; the all-or-nothing property of `apply` and `edit`.
//! - [`wasm`]: the wasm32-wasip1 build under plain wasmtime-wasi gives the
//!   same output and the same files as the native one.
//!
//! `AGENT_TOOL_BLESS=1 cargo test -p agent-tool --test all` rewrites the
//! expected files from the current output (review the diff); nothing is
//! ever blessed otherwise.

mod golden;
mod support;
mod wasm;
