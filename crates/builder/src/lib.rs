//! `recompiler-build`: reads an OCI image, merges its WASM programs into one
//! megabinary, writes the hash manifest and the image files, and signs them.
//!
//! The binary (`src/main.rs`) is argument parsing only; the work lives here so
//! tests can call it. Module map: `scan` classifies files, `pipeline` runs a
//! build, `bundle` knows where a bundle's files live, `oci_archive` packages a
//! signed bundle as an OCI image archive for containerd, `commands` holds one
//! file per subcommand.

pub mod bundle;
pub mod commands;
pub mod lifted;
pub mod oci_archive;
pub mod pipeline;
pub mod scan;
