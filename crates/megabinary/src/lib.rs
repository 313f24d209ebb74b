//! Merging WASI programs into one WebAssembly module, the *megabinary*.
//!
//! Each program keeps its own code, memories, globals, tables and tags; the merged
//! module adds a dispatcher (generated from the readable template in
//! `src/dispatcher/main.wat`) that exports `_dispatch(hash_id, argc, argv)`.
//! This crate owns the module-level transformation only: it knows nothing about
//! images, manifests or how a host runs the result. The host-side ABI is specified
//! in `docs/recompiler-container-plan/megabinary.md`.

mod classify;
mod merge;
pub mod template;

pub use classify::{Sniff, WasmInfo, WasmKind, analyze, sniff};
pub use merge::{
    Entry, Megabinary, MergeInput, MergedProgram, merge, merge_with_aliases, read_description,
};
pub use wasmparser::WasmFeatures;

/// The WebAssembly features a program may use and still be merged: WebAssembly
/// 2.0 plus the finished proposals wasmtime runs by default (tail calls, extended
/// constant expressions, multi-memory, relaxed SIMD, exception handling).
/// Not included: threads/shared memory, memory64 and GC, which WASI preview1
/// programs do not use and the vkernel does not offer.
pub const SUPPORTED_FEATURES: WasmFeatures = WasmFeatures::WASM2
    .union(WasmFeatures::TAIL_CALL)
    .union(WasmFeatures::EXTENDED_CONST)
    .union(WasmFeatures::MULTI_MEMORY)
    .union(WasmFeatures::RELAXED_SIMD)
    .union(WasmFeatures::EXCEPTIONS);

/// The features beyond WebAssembly 2.0 that a program may use, with the names
/// used in build reports.
pub const OPTIONAL_FEATURES: &[(WasmFeatures, &str)] = &[
    (WasmFeatures::TAIL_CALL, "tail-call"),
    (WasmFeatures::EXTENDED_CONST, "extended-const"),
    (WasmFeatures::MULTI_MEMORY, "multi-memory"),
    (WasmFeatures::RELAXED_SIMD, "relaxed-simd"),
    (WasmFeatures::EXCEPTIONS, "exceptions"),
];

/// Name of the export through which the megabinary exposes the WASI memory of the
/// program with hash id `id`.
pub fn memory_export(id: u64) -> String {
    format!("{}memory", export_prefix(id))
}

/// Prefix of every export of the program with hash id `id` in the megabinary.
pub fn export_prefix(id: u64) -> String {
    format!("prog.{id:016x}.")
}

/// What can go wrong while classifying or merging programs.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("{name}: not a valid WebAssembly module: {reason}")]
    Invalid { name: String, reason: String },
    #[error("{name}: {reason}")]
    Unsupported { name: String, reason: String },
    #[error("{name}: entry `{entry}`: {reason}")]
    BadEntry {
        name: String,
        entry: String,
        reason: String,
    },
    #[error(
        "import {module}.{field} is declared with different types by {first} and {second}; \
         one megabinary imports each name once"
    )]
    ImportConflict {
        module: String,
        field: String,
        first: String,
        second: String,
    },
    #[error("two programs have the same hash id {0:016x}")]
    DuplicateId(u64),
    #[error("dispatcher template: {0}")]
    Template(String),
    #[error("internal error: the merged module does not validate: {0}")]
    InvalidOutput(String),
}
