//! `containerd-shim-recompiler-v1`: recompiler bundles as containerd containers.
//!
//! containerd runs a container with runtime `io.containerd.recompiler.v1` by
//! starting this binary, one shim per container, and speaking the shim v2 task
//! API to it (create, start, exec, kill, wait, delete, state, pids, ...). The
//! shim runs the container's processes in an in-process vkernel; see
//! [`service`] for the design and [`config`] for the node's settings, and
//! docs/recompiler-container-plan/containerd.md for installing and using it.

pub mod config;
pub mod service;
pub mod stdio;

pub use service::{BUNDLE_DIR, Service, runtime};

/// The runtime name containerd knows the shim by.
pub const RUNTIME_ID: &str = "io.containerd.recompiler.v1";
