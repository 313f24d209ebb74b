//! `recompiler-oci`: reading OCI images and applying their layers into an in-memory rootfs.
//!
//! - [`ImageRef`] parses skopeo-style references (`oci:`, `oci-archive:`, `docker-archive:`,
//!   or a bare path whose kind is detected when opened).
//! - [`open`] chooses one image (by tag, then platform, through nested indexes) and verifies
//!   every digest it reads; [`Image::rootfs`] applies the layers (gzip, zstd or plain tar, with
//!   whiteouts) into a [`Rootfs`], verifying blob digests and diff_ids on the way.
//! - [`Rootfs`] is a deterministic tree keyed by absolute path, with chroot-style symlink
//!   resolution and a deterministic tar writer ([`Rootfs::write_tar`]) and reader
//!   ([`Rootfs::from_tar`]).
//!
//! Untrusted input never panics and never names anything outside the image's own tree: entry
//! names, parent symlinks and hard links that would escape the root are errors.
//!
//! Not here: pulling from registries, writing images, xattrs (PAX `SCHILY.xattr.*` records are
//! read past and dropped), non-tar layers such as runwasi's `application/wasm`.

mod apply;
mod digest;
mod error;
mod image;
mod layer;
mod platform;
mod reference;
pub mod rootfs;
mod source;

pub use error::{EntryErrorKind, OciError, PathError};
pub use image::{Image, LayerInfo, OpenOptions, open};
pub use layer::LayerProgress;
pub use platform::Platform;
pub use reference::{ImageRef, Transport};
pub use rootfs::{Meta, Node, OtherKind, Rootfs};
