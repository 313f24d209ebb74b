//! The vkernel: a user-space kernel that runs the programs of a megabinary
//! bundle behind a hash-gated exec.
//!
//! - [`kernel`]: the kernel core with Linux semantics (VFS with an overlay of the
//!   image's files and a container's writable layer, open file descriptions, fd
//!   tables, pipes, processes). It knows nothing of WebAssembly.
//! - [`bundle`]: loading a bundle and verifying its signature before anything of it runs.
//! - [`container`]: runtimes, loaded bundles and containers; `Container::run` is one exec.
//! - [`gate`]: the exec gate: may these bytes run as this path, per the signed manifest.
//! - [`spawn`]: starting processes through the gate, for the host and for guests that
//!   spawn (the process extension, [`abi::process`]).
//! - [`engine`]: wasmtime (the only module that imports it): configuration,
//!   the pooling allocator, compiled code cached on disk by content hash.
//! - [`server`]: the daemon: bundles, containers and the UNIX-socket API; [`client`] speaks it.

pub mod abi;
pub mod bundle;
pub mod client;
pub mod container;
pub mod engine;
pub mod gate;
pub mod kernel;
pub mod server;
pub mod session;
pub mod spawn;
