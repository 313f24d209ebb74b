//! Integration tests of recompiler-manifest, one binary (one `mod` per topic)
//! to keep link time down.

mod bundle;
mod format;
mod keys;
mod support;
