//! The crate's error types: [`OciError`] for everything reading an image can fail on,
//! [`PathError`] for what can be wrong with a path inside a rootfs, and [`EntryErrorKind`] for
//! what can be wrong with one tar entry of a layer.
//!
//! Every message names the input it is about: the image (layout directory or archive path), the
//! blob digest or archive member, the layer and the tar entry.

use std::io;
use std::path::PathBuf;

/// An error reading an image reference, an image, a layer or a rootfs tar.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    /// The image reference string could not be parsed.
    #[error("invalid image reference {input:?}: {reason}")]
    InvalidReference { input: String, reason: String },

    /// The platform string is not `os/arch[/variant]`.
    #[error("invalid platform {input:?}: expected os/arch[/variant]")]
    InvalidPlatform { input: String },

    /// A file of the image could not be read.
    #[error("{image}: cannot read {what}: {source}")]
    Io {
        image: String,
        what: String,
        #[source]
        source: io::Error,
    },

    /// The path is not an image of the expected kind.
    #[error("{path}: not an image: {reason}")]
    NotAnImage { path: PathBuf, reason: String },

    /// The outer archive (an OCI archive or docker-archive tar) is malformed or cut short.
    #[error("{image}: archive is truncated or corrupt: {reason}")]
    BadArchive { image: String, reason: String },

    /// A file the image needs is not there.
    #[error("{image}: {what} is missing")]
    Missing { image: String, what: String },

    /// A digest string is malformed or uses an algorithm we do not support.
    #[error("{image}: invalid digest {digest:?} in {context}: {reason}")]
    InvalidDigest {
        image: String,
        digest: String,
        context: String,
        reason: String,
    },

    /// The content of a blob does not hash to the digest it is referenced by.
    #[error("{image}: {what} does not match its digest {expected} (content hashes to {actual})")]
    DigestMismatch {
        image: String,
        what: String,
        expected: String,
        actual: String,
    },

    /// A blob's size differs from the size its descriptor gives.
    #[error("{image}: {what} is {actual} bytes but its descriptor says {expected}")]
    SizeMismatch {
        image: String,
        what: String,
        expected: u64,
        actual: u64,
    },

    /// A JSON document (index, manifest, config, oci-layout, manifest.json) is malformed.
    #[error("{image}: {what} is not valid: {reason}")]
    BadJson {
        image: String,
        what: String,
        reason: String,
    },

    /// The image is structurally wrong (unknown media type, layer count mismatch, ...).
    #[error("{image}: {reason}")]
    BadImage { image: String, reason: String },

    /// No image in the index carries the requested tag.
    #[error("{image}: no image tagged {reference:?}; available tags: {available}")]
    TagNotFound {
        image: String,
        reference: String,
        available: String,
    },

    /// The index holds several images and no tag was given to pick one.
    #[error("{image}: holds several images, pick one by tag; available tags: {available}")]
    Ambiguous { image: String, available: String },

    /// No manifest for the wanted platform.
    #[error("{image}: no image for platform {wanted}; available platforms: {available}")]
    PlatformNotFound {
        image: String,
        wanted: String,
        available: String,
    },

    /// A layer blob could not be decompressed or read as a tar stream.
    #[error("{origin}: {reason}")]
    BadLayer { origin: String, reason: String },

    /// The uncompressed layer does not hash to the config's `rootfs.diff_ids` entry.
    #[error("{origin}: uncompressed content hashes to {actual}, config diff_id says {expected}")]
    DiffIdMismatch {
        origin: String,
        expected: String,
        actual: String,
    },

    /// A tar entry of a layer (or rootfs tar) is refused.
    #[error("{origin}: entry {entry:?}: {kind}")]
    Entry {
        origin: String,
        entry: String,
        kind: EntryErrorKind,
    },

    /// A path given to a [`crate::Rootfs`] method could not be used.
    #[error("rootfs path {path:?}: {source}")]
    Path {
        path: String,
        #[source]
        source: PathError,
    },

    /// Writing a rootfs tar failed.
    #[error("writing rootfs tar entry {entry:?}: {source}")]
    WriteTar {
        entry: String,
        #[source]
        source: io::Error,
    },
}

/// What is wrong with a path inside a rootfs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// Tar entry names must be relative to the root.
    #[error("path is absolute")]
    Absolute,
    /// A `..` component goes above `/`.
    #[error("path climbs above the root")]
    ClimbsAboveRoot,
    /// Following a symlink leads above `/`.
    #[error("symlink {link} leads above the root")]
    SymlinkEscapes { link: String },
    /// Symlink resolution took more than [`crate::rootfs::MAX_SYMLINK_HOPS`] hops.
    #[error("too many levels of symbolic links")]
    TooManyLinks,
    /// A component does not exist.
    #[error("{path} does not exist")]
    Missing { path: String },
    /// A component used as a directory is something else.
    #[error("{path} is not a directory")]
    NotADirectory { path: String },
    /// The path names the root where something else is needed.
    #[error("path is the root directory")]
    IsRoot,
    /// The name holds a NUL byte or is not UTF-8.
    #[error("name is not valid UTF-8 or holds a NUL byte")]
    BadName,
}

/// Why one tar entry was refused.
#[derive(Debug, thiserror::Error)]
pub enum EntryErrorKind {
    /// The entry's own path is unusable (absolute, escaping, through a bad symlink, ...).
    #[error("{0}")]
    Path(#[from] PathError),
    /// A hard link entry's target is unusable.
    #[error("hard link target {target:?}: {error}")]
    HardLink { target: String, error: PathError },
    /// A hard link points at a directory.
    #[error("hard link target {target:?} is a directory")]
    HardLinkToDirectory { target: String },
    /// The root directory entry is not a directory.
    #[error("the root can only be a directory")]
    RootNotDirectory,
    /// The entry's data ends before the size its header gives.
    #[error("data is truncated: header says {expected} bytes, got {actual}")]
    Truncated { expected: u64, actual: u64 },
    /// The entry's header is malformed.
    #[error("bad header: {0}")]
    BadHeader(String),
    /// Entry types we do not apply (e.g. GNU volume headers).
    #[error("unsupported entry type {0}")]
    Unsupported(String),
    /// Reading the entry's data failed.
    #[error("cannot read data: {0}")]
    Read(io::Error),
}
