//! Opening an image: finding the transport, choosing one image manifest (by tag, then by
//! platform, through nested indexes), and verifying every blob it reads against its digest and
//! size. Layers are only checked for presence and size here; their contents are read (and
//! verified) by [`Image::rootfs`].
//!
//! Tags are matched against `org.opencontainers.image.ref.name` exactly, and against
//! `io.containerd.image.name` (or a ref.name that is a full name) both exactly and after docker
//! normalization (`alpine` = `docker.io/library/alpine:latest`). A reference that is a digest
//! (`sha256:...`) picks the manifest with that digest. Without a reference, an index whose
//! entries carry more than one tag is ambiguous. When the user names a platform, the chosen
//! image's config must be for it, even when no index offered a choice.

use std::collections::BTreeSet;
use std::path::Path;

use oci_spec::image::{Descriptor, ImageConfiguration, ImageIndex, ImageManifest};
use serde::Deserialize;

use crate::digest::{Algorithm, BlobDigest};
use crate::layer::{LayerProgress, apply_layer};
use crate::platform::{self, Platform};
use crate::reference::normalize_docker_name;
use crate::rootfs::Rootfs;
use crate::source::Source;
use crate::{ImageRef, OciError, Transport};

/// How deep indexes may nest (index.json → index → manifest is depth 1); real images use 1.
const MAX_INDEX_DEPTH: usize = 8;

const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
const ANNOTATION_CONTAINERD_NAME: &str = "io.containerd.image.name";

const INDEX_MEDIA_TYPES: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];
const MANIFEST_MEDIA_TYPES: &[&str] = &[
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// The media type docker-archive layers are reported with (the archive records none).
const DOCKER_LAYER_MEDIA_TYPE: &str = "application/vnd.docker.image.rootfs.diff.tar";

/// How to choose among the images of an index.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// `None`: prefer wasi/wasm, then linux/amd64.
    pub platform: Option<Platform>,
}

/// One layer of the chosen image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerInfo {
    /// The blob digest; for docker-archive layers not stored under `blobs/`, the diff_id.
    pub digest: String,
    pub media_type: String,
    /// Size of the (possibly compressed) blob in bytes.
    pub size: u64,
    /// The digest of the uncompressed tar, from the config's `rootfs.diff_ids`.
    pub diff_id: String,
    /// The member or file holding the blob.
    pub(crate) member: String,
    /// What the blob must hash to, when known.
    pub(crate) verify: Option<BlobDigest>,
    pub(crate) diff: BlobDigest,
}

/// An opened image: its identity, config and layer list. Nothing has been unpacked yet.
#[derive(Debug, Clone)]
pub struct Image {
    /// The reference as displayed (`oci:/path:tag`).
    pub reference: String,
    pub transport: Transport,
    /// `sha256:<hex>` of the image manifest; for docker-archive (no manifest blob) the config's.
    pub digest: String,
    pub config_digest: String,
    /// The platform the config declares.
    pub platform: Platform,
    pub config: ImageConfiguration,
    pub layers: Vec<LayerInfo>,
    source: Source,
}

impl Image {
    /// Applies every layer in order into a fresh [`Rootfs`], verifying each blob's digest and
    /// size and each uncompressed stream against its diff_id. `progress` is told how far each
    /// layer's blob has been read.
    pub fn rootfs(&self, progress: &mut dyn FnMut(LayerProgress)) -> Result<Rootfs, OciError> {
        let mut fs = Rootfs::new();
        let count = self.layers.len();
        for (index, layer) in self.layers.iter().enumerate() {
            apply_layer(&self.source, layer, index, count, &mut fs, progress)?;
        }
        Ok(fs)
    }

    /// Where the image was read from, as used in error messages.
    pub fn location(&self) -> String {
        self.source.display()
    }
}

/// Opens the image `r` names, choosing one image with `opts`.
pub fn open(r: &ImageRef, opts: &OpenOptions) -> Result<Image, OciError> {
    let path = r.path.as_path();
    let not_image = |reason: &str| OciError::NotAnImage {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let meta = std::fs::metadata(path).map_err(|e| not_image(&e.to_string()))?;
    let (transport, source) = match r.transport {
        Some(Transport::Layout) => {
            if !meta.is_dir() {
                return Err(not_image("an OCI layout must be a directory"));
            }
            (Transport::Layout, Source::layout(path))
        }
        Some(t) => {
            if meta.is_dir() {
                return Err(not_image("an archive must be a file, this is a directory"));
            }
            (t, Source::tar(path)?)
        }
        None if meta.is_dir() => (Transport::Layout, Source::layout(path)),
        None => {
            let source = Source::tar(path)?;
            if source.size("oci-layout")?.is_some() {
                (Transport::Archive, source)
            } else if source.size("manifest.json")?.is_some() {
                (Transport::DockerArchive, source)
            } else {
                return Err(not_image(
                    "a tar file with neither oci-layout nor manifest.json",
                ));
            }
        }
    };
    let reference = r.to_string();
    let wanted = opts.platform.as_ref();
    let mut image = match transport {
        Transport::Layout | Transport::Archive => {
            open_oci(&source, r.reference.as_deref(), wanted, path)?
        }
        Transport::DockerArchive => open_docker(&source, r.reference.as_deref())?,
    };
    if let Some(w) = wanted
        && !w.accepts(&image.platform)
    {
        return Err(OciError::PlatformNotFound {
            image: source.display(),
            wanted: w.to_string(),
            available: image.platform.to_string(),
        });
    }
    image.reference = reference;
    image.transport = transport;
    image.source = source;
    Ok(image)
}

fn parse_json<T: for<'de> Deserialize<'de>>(
    source: &Source,
    bytes: &[u8],
    what: &str,
) -> Result<T, OciError> {
    serde_json::from_slice(bytes).map_err(|e| OciError::BadJson {
        image: source.display(),
        what: what.to_string(),
        reason: e.to_string(),
    })
}

fn parse_digest(source: &Source, digest: &str, context: &str) -> Result<BlobDigest, OciError> {
    BlobDigest::parse(digest).map_err(|reason| OciError::InvalidDigest {
        image: source.display(),
        digest: digest.to_string(),
        context: context.to_string(),
        reason,
    })
}

/// Reads a small blob and checks its size and digest.
fn read_verified(
    source: &Source,
    digest: &BlobDigest,
    size: u64,
    kind: &str,
) -> Result<Vec<u8>, OciError> {
    let what = format!("{kind} blob {digest}");
    let data = source.read_small(&digest.blob_path(), &what)?;
    if data.len() as u64 != size {
        return Err(OciError::SizeMismatch {
            image: source.display(),
            what,
            expected: size,
            actual: data.len() as u64,
        });
    }
    let actual = BlobDigest::of(digest.algorithm(), &data);
    if &actual != digest {
        return Err(OciError::DigestMismatch {
            image: source.display(),
            what,
            expected: digest.to_string(),
            actual: actual.to_string(),
        });
    }
    Ok(data)
}

#[derive(Deserialize)]
struct LayoutHeader {
    #[serde(rename = "imageLayoutVersion")]
    image_layout_version: String,
}

fn open_oci(
    source: &Source,
    reference: Option<&str>,
    wanted: Option<&Platform>,
    path: &Path,
) -> Result<Image, OciError> {
    if source.size("oci-layout")?.is_none() {
        return Err(OciError::NotAnImage {
            path: path.to_path_buf(),
            reason: "no oci-layout file".to_string(),
        });
    }
    let header: LayoutHeader = parse_json(
        source,
        &source.read_small("oci-layout", "oci-layout")?,
        "oci-layout",
    )?;
    if !header.image_layout_version.starts_with("1.") {
        return Err(OciError::BadImage {
            image: source.display(),
            reason: format!(
                "unsupported image layout version {:?}",
                header.image_layout_version
            ),
        });
    }
    let mut index: serde_json::Value = parse_json(
        source,
        &source.read_small("index.json", "index.json")?,
        "index.json",
    )?;
    // `umoci init` writes `"manifests": null` for an empty layout.
    if let Some(m) = index.get_mut("manifests")
        && m.is_null()
    {
        *m = serde_json::Value::Array(Vec::new());
    }
    let index: ImageIndex = serde_json::from_value(index).map_err(|e| OciError::BadJson {
        image: source.display(),
        what: "index.json".to_string(),
        reason: e.to_string(),
    })?;
    let chooser = Chooser { source, wanted };
    let (digest, manifest) = chooser.choose(&index, "index.json", reference, 0)?;

    let config_desc = manifest.config();
    let config_digest = parse_digest(source, config_desc.digest().as_ref(), "manifest config")?;
    let config_bytes = read_verified(source, &config_digest, config_desc.size(), "config")?;
    let config: ImageConfiguration = parse_json(
        source,
        &config_bytes,
        &format!("config blob {config_digest}"),
    )?;

    let diff_ids = config.rootfs().diff_ids();
    if diff_ids.len() != manifest.layers().len() {
        return Err(OciError::BadImage {
            image: source.display(),
            reason: format!(
                "manifest {digest} has {} layers but its config lists {} diff_ids",
                manifest.layers().len(),
                diff_ids.len()
            ),
        });
    }
    let mut layers = Vec::new();
    for (desc, diff_id) in manifest.layers().iter().zip(diff_ids) {
        let blob = parse_digest(source, desc.digest().as_ref(), "manifest layers")?;
        let diff = parse_digest(source, diff_id, "config rootfs.diff_ids")?;
        let what = format!("layer blob {blob}");
        match source.size(&blob.blob_path())? {
            None => {
                return Err(OciError::Missing {
                    image: source.display(),
                    what,
                });
            }
            Some(actual) if actual != desc.size() => {
                return Err(OciError::SizeMismatch {
                    image: source.display(),
                    what,
                    expected: desc.size(),
                    actual,
                });
            }
            Some(_) => {}
        }
        layers.push(LayerInfo {
            digest: blob.to_string(),
            media_type: desc.media_type().to_string(),
            size: desc.size(),
            diff_id: diff.to_string(),
            member: blob.blob_path(),
            verify: Some(blob),
            diff,
        });
    }
    Ok(Image {
        reference: String::new(),
        transport: Transport::Layout,
        digest: digest.to_string(),
        config_digest: config_digest.to_string(),
        platform: config_platform(&config),
        config,
        layers,
        source: source.clone(),
    })
}

fn config_platform(config: &ImageConfiguration) -> Platform {
    Platform {
        os: config.os().to_string(),
        architecture: config.architecture().to_string(),
        variant: config.variant().clone(),
    }
}

fn descriptor_platform(d: &Descriptor) -> Option<Platform> {
    d.platform().as_ref().map(|p| Platform {
        os: p.os().to_string(),
        architecture: p.architecture().to_string(),
        variant: p.variant().clone(),
    })
}

fn annotation<'a>(d: &'a Descriptor, key: &str) -> Option<&'a str> {
    d.annotations().as_ref()?.get(key).map(String::as_str)
}

/// Whether the descriptor is what `reference` names (see the module docs).
fn tag_matches(d: &Descriptor, reference: &str) -> bool {
    let ref_name = annotation(d, ANNOTATION_REF_NAME);
    let full_name = annotation(d, ANNOTATION_CONTAINERD_NAME);
    if ref_name == Some(reference) || full_name == Some(reference) {
        return true;
    }
    if d.digest().as_ref() == reference.trim_start_matches('@') {
        return true;
    }
    let wanted = normalize_docker_name(reference);
    let is_full = |n: &str| n.contains('/') || n.contains(':');
    [ref_name, full_name]
        .into_iter()
        .flatten()
        .filter(|n| is_full(n) || is_full(reference))
        .any(|n| normalize_docker_name(n) == wanted)
}

fn list(items: impl IntoIterator<Item = String>) -> String {
    let v: BTreeSet<String> = items.into_iter().collect();
    if v.is_empty() {
        "(none)".to_string()
    } else {
        v.into_iter().collect::<Vec<_>>().join(", ")
    }
}

struct Chooser<'a> {
    source: &'a Source,
    wanted: Option<&'a Platform>,
}

enum Kind {
    Index,
    Manifest,
}

impl Chooser<'_> {
    fn choose(
        &self,
        index: &ImageIndex,
        what: &str,
        reference: Option<&str>,
        depth: usize,
    ) -> Result<(BlobDigest, ImageManifest), OciError> {
        let image = self.source.display();
        let all = index.manifests();
        let tags = || {
            list(
                all.iter()
                    .filter_map(|d| annotation(d, ANNOTATION_REF_NAME).map(str::to_string)),
            )
        };
        let mut candidates: Vec<&Descriptor> = all.iter().collect();
        if let Some(r) = reference {
            candidates.retain(|d| tag_matches(d, r));
            if candidates.is_empty() {
                return Err(OciError::TagNotFound {
                    image,
                    reference: r.to_string(),
                    available: tags(),
                });
            }
        } else {
            let distinct: BTreeSet<Option<&str>> = all
                .iter()
                .map(|d| annotation(d, ANNOTATION_REF_NAME))
                .collect();
            if distinct.len() > 1 {
                return Err(OciError::Ambiguous {
                    image,
                    available: tags(),
                });
            }
        }
        let chosen = match candidates.as_slice() {
            [] => {
                return Err(OciError::BadImage {
                    image,
                    reason: format!("{what} lists no manifests"),
                });
            }
            [one] => *one,
            several => {
                let offered: Vec<Option<Platform>> =
                    several.iter().map(|d| descriptor_platform(d)).collect();
                match platform::choose(self.wanted, &offered) {
                    Some(i) => several[i],
                    None if offered.iter().all(Option::is_none) => {
                        return Err(OciError::Ambiguous {
                            image,
                            available: list(
                                several
                                    .iter()
                                    .map(|d| format!("{} (untagged, no platform)", d.digest())),
                            ),
                        });
                    }
                    None => {
                        return Err(OciError::PlatformNotFound {
                            image,
                            wanted: match self.wanted {
                                Some(w) => w.to_string(),
                                None => "wasi/wasm or linux/amd64".to_string(),
                            },
                            available: list(offered.into_iter().map(|p| match p {
                                Some(p) => p.to_string(),
                                None => "unknown".to_string(),
                            })),
                        });
                    }
                }
            }
        };
        self.descend(chosen, depth)
    }

    fn descend(
        &self,
        desc: &Descriptor,
        depth: usize,
    ) -> Result<(BlobDigest, ImageManifest), OciError> {
        let digest = parse_digest(self.source, desc.digest().as_ref(), "index manifests")?;
        let media_type = desc.media_type().to_string();
        let declared = if INDEX_MEDIA_TYPES.contains(&media_type.as_str()) {
            Some(Kind::Index)
        } else if MANIFEST_MEDIA_TYPES.contains(&media_type.as_str()) {
            Some(Kind::Manifest)
        } else {
            None
        };
        let kind_word = match declared {
            Some(Kind::Index) => "index",
            _ => "manifest",
        };
        let bytes = read_verified(self.source, &digest, desc.size(), kind_word)?;
        let what = format!("{kind_word} blob {digest}");
        let kind = match declared {
            Some(k) => k,
            None => {
                // No or unknown media type: look at the document itself.
                let v: serde_json::Value = parse_json(self.source, &bytes, &what)?;
                if v.get("manifests").is_some() {
                    Kind::Index
                } else if v.get("layers").is_some() && v.get("config").is_some() {
                    Kind::Manifest
                } else {
                    return Err(OciError::BadImage {
                        image: self.source.display(),
                        reason: format!("{what} has unsupported media type {media_type:?}"),
                    });
                }
            }
        };
        match kind {
            Kind::Index => {
                if depth >= MAX_INDEX_DEPTH {
                    return Err(OciError::BadImage {
                        image: self.source.display(),
                        reason: format!("indexes nest deeper than {MAX_INDEX_DEPTH}"),
                    });
                }
                let index: ImageIndex = parse_json(self.source, &bytes, &what)?;
                self.choose(&index, &what, None, depth + 1)
            }
            Kind::Manifest => Ok((digest, parse_json(self.source, &bytes, &what)?)),
        }
    }
}

/// One entry of a docker-archive `manifest.json`.
#[derive(Deserialize)]
struct DockerManifest {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

/// If `member` is named after its digest (`<hex>.json` or `blobs/<alg>/<hex>`), that digest.
fn digest_from_member_name(member: &str) -> Option<BlobDigest> {
    let parts: Vec<&str> = member.trim_start_matches("./").split('/').collect();
    if let [.., "blobs", alg, hex] = parts.as_slice() {
        return BlobDigest::parse(&format!("{alg}:{hex}")).ok();
    }
    let base = parts.last()?;
    let hex = base.strip_suffix(".json")?;
    BlobDigest::parse(&format!("sha256:{hex}")).ok()
}

fn open_docker(source: &Source, reference: Option<&str>) -> Result<Image, OciError> {
    let image = source.display();
    let entries: Vec<DockerManifest> = parse_json(
        source,
        &source.read_small("manifest.json", "manifest.json")?,
        "manifest.json",
    )?;
    let tags = || {
        list(
            entries
                .iter()
                .flat_map(|e| e.repo_tags.iter().flatten().cloned()),
        )
    };
    let entry = match reference {
        Some(r) if r.starts_with('@') => r[1..]
            .parse::<usize>()
            .ok()
            .and_then(|i| entries.get(i))
            .ok_or_else(|| OciError::TagNotFound {
                image: image.clone(),
                reference: r.to_string(),
                available: format!("@0 to @{}", entries.len().saturating_sub(1)),
            })?,
        Some(r) => {
            let wanted = normalize_docker_name(r);
            entries
                .iter()
                .find(|e| {
                    e.repo_tags
                        .iter()
                        .flatten()
                        .any(|t| t == r || normalize_docker_name(t) == wanted)
                })
                .ok_or_else(|| OciError::TagNotFound {
                    image: image.clone(),
                    reference: r.to_string(),
                    available: tags(),
                })?
        }
        None => match entries.as_slice() {
            [one] => one,
            [] => {
                return Err(OciError::BadImage {
                    image,
                    reason: "manifest.json lists no images".to_string(),
                });
            }
            _ => {
                return Err(OciError::Ambiguous {
                    image,
                    available: tags(),
                });
            }
        },
    };

    let config_what = format!("config {}", entry.config);
    let config_bytes = source.read_small(&entry.config, &config_what)?;
    let named = digest_from_member_name(&entry.config);
    let algorithm = named
        .as_ref()
        .map_or(Algorithm::Sha256, BlobDigest::algorithm);
    let config_digest = BlobDigest::of(algorithm, &config_bytes);
    if let Some(named) = named
        && named != config_digest
    {
        return Err(OciError::DigestMismatch {
            image,
            what: config_what,
            expected: named.to_string(),
            actual: config_digest.to_string(),
        });
    }
    let config: ImageConfiguration = parse_json(source, &config_bytes, &config_what)?;
    let diff_ids = config.rootfs().diff_ids();
    if diff_ids.len() != entry.layers.len() {
        return Err(OciError::BadImage {
            image,
            reason: format!(
                "manifest.json lists {} layers but config {} lists {} diff_ids",
                entry.layers.len(),
                entry.config,
                diff_ids.len()
            ),
        });
    }
    let mut layers = Vec::new();
    for (member, diff_id) in entry.layers.iter().zip(diff_ids) {
        let diff = parse_digest(source, diff_id, "config rootfs.diff_ids")?;
        let Some(size) = source.size(member)? else {
            return Err(OciError::Missing {
                image,
                what: format!("layer {member}"),
            });
        };
        let verify = digest_from_member_name(member).filter(|_| member.contains("blobs/"));
        layers.push(LayerInfo {
            digest: verify.as_ref().unwrap_or(&diff).to_string(),
            media_type: DOCKER_LAYER_MEDIA_TYPE.to_string(),
            size,
            diff_id: diff.to_string(),
            member: member.clone(),
            verify,
            diff,
        });
    }
    Ok(Image {
        reference: String::new(),
        transport: Transport::DockerArchive,
        digest: config_digest.to_string(),
        config_digest: config_digest.to_string(),
        platform: config_platform(&config),
        config,
        layers,
        source: source.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_name_digests() {
        let hex = "ab".repeat(32);
        assert_eq!(
            digest_from_member_name(&format!("{hex}.json"))
                .unwrap()
                .hex(),
            hex
        );
        assert_eq!(
            digest_from_member_name(&format!("blobs/sha256/{hex}"))
                .unwrap()
                .hex(),
            hex
        );
        assert!(digest_from_member_name("config.json").is_none());
        assert!(digest_from_member_name(&format!("{hex}/layer.tar")).is_none());
    }

    fn desc(ref_name: Option<&str>, containerd: Option<&str>) -> Descriptor {
        let mut d = Descriptor::new(
            oci_spec::image::MediaType::ImageManifest,
            1,
            oci_spec::image::Digest::try_from(format!("sha256:{}", "a".repeat(64))).unwrap(),
        );
        let mut ann = std::collections::HashMap::new();
        if let Some(r) = ref_name {
            ann.insert(ANNOTATION_REF_NAME.to_string(), r.to_string());
        }
        if let Some(c) = containerd {
            ann.insert(ANNOTATION_CONTAINERD_NAME.to_string(), c.to_string());
        }
        d.set_annotations(Some(ann));
        d
    }

    #[test]
    fn tags() {
        let d = desc(Some("3.19"), Some("docker.io/library/alpine:3.19"));
        assert!(tag_matches(&d, "3.19"));
        assert!(tag_matches(&d, "alpine:3.19"));
        assert!(tag_matches(&d, "docker.io/library/alpine:3.19"));
        assert!(!tag_matches(&d, "3.18"));
        assert!(!tag_matches(&d, "alpine"));
        assert!(tag_matches(&d, &format!("sha256:{}", "a".repeat(64))));
        let plain = desc(Some("latest"), None);
        assert!(tag_matches(&plain, "latest"));
        assert!(!tag_matches(&plain, "other"));
    }
}
