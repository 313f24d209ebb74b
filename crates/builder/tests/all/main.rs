//! Integration tests of `recompiler-build`, one module per topic. They make real
//! OCI images with umoci and skopeo, run the real binary, and run its output in
//! wasmtime against each program run alone (the oracle).

mod agent;
mod bad_inputs;
mod bash;
mod busybox;
mod daemon;
mod differential;
mod image;
mod lifting;
mod oci_archive;
mod signing;
mod umoci;
