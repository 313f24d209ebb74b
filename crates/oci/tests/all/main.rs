//! Integration tests for `recompiler-oci`, on images made by real tools: umoci builds layouts
//! layer by layer (and unpacks them, as the reference to compare against), skopeo converts them
//! to OCI archives, docker-archives and zstd layers. Hand-made layer tars (added verbatim with
//! `umoci raw add-layer`) cover opaque whiteouts, devices and hostile entries.
//!
//! umoci and skopeo must be installed: the tests fail, never skip, without them.

mod bad_inputs;
mod escapes;
mod handmade;
mod layout;
mod sample;
mod selection;
mod support;
mod transports;
