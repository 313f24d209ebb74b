//! Reading one layer blob: checking its size, detecting its compression (gzip, zstd or none) by
//! magic bytes, hashing the blob (against its descriptor digest) and the uncompressed stream
//! (against the config's `rootfs.diff_ids`) while the tar entries are applied, in one pass.
//!
//! Compression is decided by the magic bytes. A media type naming a compression (`+gzip`,
//! `.tar.gzip`, `+zstd`) that the magic bytes contradict is an error; a media type saying plain
//! `tar` for compressed content is tolerated (docker-archive has no media types, and some tools
//! label layers loosely). A media type that is not a tar layer at all (e.g. `application/wasm`)
//! is an error: this crate only builds filesystems.
//!
//! When the blob's digest does not match, that error wins over any decoding or tar error the
//! corrupt content caused, since it names the real problem.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read};

use crate::digest::{Algorithm, BlobDigest, Hasher, HashingReader};
use crate::image::LayerInfo;
use crate::rootfs::Rootfs;
use crate::source::Source;
use crate::{OciError, apply};

/// Progress is reported at most once per this many blob bytes (and at start and end), so a
/// progress bar redraws often enough without a callback per read.
const PROGRESS_STEP: u64 = 256 << 10;

/// Where [`crate::Image::rootfs`] is: layer `index` of `count`, `bytes_done` of the layer blob's
/// `bytes_total` bytes read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerProgress {
    pub index: usize,
    pub count: usize,
    pub digest: String,
    pub bytes_done: u64,
    pub bytes_total: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    None,
    Gzip,
    Zstd,
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compression::None => "uncompressed",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        })
    }
}

impl Compression {
    fn detect(magic: &[u8]) -> Compression {
        if magic.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    /// What the media type claims, if it names a compression.
    fn claimed_by(media_type: &str) -> Option<Compression> {
        if media_type.ends_with("gzip") {
            Some(Compression::Gzip)
        } else if media_type.ends_with("zstd") {
            Some(Compression::Zstd)
        } else {
            None
        }
    }
}

/// Whether a layer media type describes a (possibly compressed) tar changeset.
fn is_tar_media_type(media_type: &str) -> bool {
    media_type.contains(".tar") || media_type.contains("tar+") || media_type.ends_with("tar")
}

/// Applies layer `index` of `count` onto `fs`, verifying everything about its blob.
pub(crate) fn apply_layer(
    source: &Source,
    layer: &LayerInfo,
    index: usize,
    count: usize,
    fs: &mut Rootfs,
    progress: &mut dyn FnMut(LayerProgress),
) -> Result<(), OciError> {
    let image = source.display();
    let origin = format!("{image}: layer {}", layer.digest);
    let what = format!("layer blob {}", layer.digest);
    if !is_tar_media_type(&layer.media_type) {
        return Err(OciError::BadLayer {
            origin,
            reason: format!("media type {} is not a tar layer", layer.media_type),
        });
    }
    let (reader, actual_size) = source.open(&layer.member, &what)?;
    if actual_size != layer.size {
        return Err(OciError::SizeMismatch {
            image,
            what,
            expected: layer.size,
            actual: actual_size,
        });
    }
    let mut report = |bytes_done| {
        progress(LayerProgress {
            index,
            count,
            digest: layer.digest.clone(),
            bytes_done,
            bytes_total: layer.size,
        })
    };
    report(0);

    let algorithm = layer
        .verify
        .as_ref()
        .map_or(Algorithm::Sha256, BlobDigest::algorithm);
    let mut blob_hasher = Hasher::new(algorithm);
    let mut blob_count = 0u64;
    let mut diff_hasher = Hasher::new(layer.diff.algorithm());
    let mut diff_count = 0u64;
    let (applied, drained) = {
        let mut last = 0u64;
        let mut on_read = |done: u64| {
            if done - last >= PROGRESS_STEP {
                last = done;
                report(done);
            }
        };
        let mut compressed =
            HashingReader::new(reader, &mut blob_hasher, &mut blob_count, &mut on_read);
        let applied = decode_and_apply(
            &mut compressed,
            layer,
            &origin,
            fs,
            &mut diff_hasher,
            &mut diff_count,
        );
        // Whatever the decoder left unread (trailing bytes, or everything after an error) still
        // belongs to the blob and its digest.
        let drained = io::copy(&mut compressed, &mut io::sink());
        (applied, drained)
    };

    let actual = blob_hasher.finish();
    if let Some(expected) = &layer.verify
        && &actual != expected
    {
        return Err(OciError::DigestMismatch {
            image,
            what,
            expected: expected.to_string(),
            actual: actual.to_string(),
        });
    }
    drained.map_err(|source| OciError::Io {
        image: image.clone(),
        what: what.clone(),
        source,
    })?;
    if blob_count != layer.size {
        return Err(OciError::SizeMismatch {
            image,
            what,
            expected: layer.size,
            actual: blob_count,
        });
    }
    applied?;
    let diff = diff_hasher.finish();
    if diff != layer.diff {
        return Err(OciError::DiffIdMismatch {
            origin,
            expected: layer.diff.to_string(),
            actual: diff.to_string(),
        });
    }
    report(layer.size);
    Ok(())
}

fn decode_and_apply(
    compressed: &mut dyn Read,
    layer: &LayerInfo,
    origin: &str,
    fs: &mut Rootfs,
    diff_hasher: &mut Hasher,
    diff_count: &mut u64,
) -> Result<(), OciError> {
    let bad = |reason: String| OciError::BadLayer {
        origin: origin.to_string(),
        reason,
    };
    let mut buffered = BufReader::new(compressed);
    let magic = buffered
        .fill_buf()
        .map_err(|e| bad(format!("cannot read: {e}")))?;
    let compression = Compression::detect(magic);
    if let Some(claimed) = Compression::claimed_by(&layer.media_type)
        && claimed != compression
    {
        return Err(bad(format!(
            "media type {} says {claimed} but the blob is {compression}",
            layer.media_type
        )));
    }
    let decoder: Box<dyn Read + '_> = match compression {
        Compression::None => Box::new(buffered),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
        Compression::Zstd => Box::new(
            zstd::Decoder::with_buffer(buffered)
                .map_err(|e| bad(format!("cannot start zstd decoder: {e}")))?,
        ),
    };
    let mut no_progress = |_| {};
    let mut uncompressed = HashingReader::new(decoder, diff_hasher, diff_count, &mut no_progress);
    apply::apply_tar(fs, &mut uncompressed, origin, true)?;
    // The tar reader stops at the end-of-archive marker; the diff_id covers the padding after it.
    io::copy(&mut uncompressed, &mut io::sink())
        .map_err(|e| bad(format!("cannot decompress ({compression}): {e}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_compression() {
        assert_eq!(Compression::detect(&[0x1f, 0x8b, 8, 0]), Compression::Gzip);
        assert_eq!(
            Compression::detect(&[0x28, 0xb5, 0x2f, 0xfd]),
            Compression::Zstd
        );
        assert_eq!(Compression::detect(b"usr/"), Compression::None);
        assert_eq!(Compression::detect(b""), Compression::None);
        assert_eq!(
            Compression::claimed_by("application/vnd.oci.image.layer.v1.tar+zstd"),
            Some(Compression::Zstd)
        );
        assert_eq!(
            Compression::claimed_by("application/vnd.docker.image.rootfs.diff.tar.gzip"),
            Some(Compression::Gzip)
        );
        assert_eq!(
            Compression::claimed_by("application/vnd.oci.image.layer.v1.tar"),
            None
        );
    }

    #[test]
    fn tar_media_types() {
        assert!(is_tar_media_type("application/vnd.oci.image.layer.v1.tar"));
        assert!(is_tar_media_type(
            "application/vnd.oci.image.layer.v1.tar+gzip"
        ));
        assert!(is_tar_media_type(
            "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
        ));
        assert!(!is_tar_media_type("application/wasm"));
    }
}
