//! The vkernel: a user-space kernel that runs the programs of a megabinary
//! bundle behind a hash-gated exec.
//!
//! - [`kernel`]: the kernel core with Linux semantics (VFS with an overlay of the
//!   image's files and a container's writable layer, open file descriptions, fd
//!   tables, pipes, processes). It knows nothing of WebAssembly.

pub mod kernel;
