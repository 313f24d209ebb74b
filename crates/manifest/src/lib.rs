//! The recompiler bundle format: what a build produces and what the vkernel
//! checks before running anything.
//!
//! - [`digest`]: SHA-256 + BLAKE3 of file contents in one pass, dispatch ids;
//! - [`schema`]: the manifest (`mapping.json`), its canonical encoding and rules;
//! - [`sign`]: ed25519 build keys, the DSSE/in-toto bundle signature, verification;
//! - [`atomic`]: writing output files atomically (temp file, fsync, rename).
//!
//! This crate neither reads images nor runs programs; it only describes,
//! signs and checks bytes handed to it.

pub mod atomic;
pub mod digest;
pub mod schema;
pub mod sign;

pub use atomic::AtomicWriteError;
pub use digest::{DigestError, Digests, FileRef, RawDigests};
pub use schema::{ExecKind, Executable, ImageInfo, Manifest, ManifestError};
pub use sign::{BundleFiles, SignError, VerifiedStatement, VerifyError};
