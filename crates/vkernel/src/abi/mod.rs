//! The ABIs in front of the kernel core, as in gVisor: each translates one
//! program-facing interface into kernel operations, and none imports wasmtime
//! (the engine wires them to guests and hands them the guest's memory as bytes).
//!
//! - [`wasi_p1`]: WASI preview1 (`wasi_snapshot_preview1`) for WASM programs.

pub mod wasi_p1;
