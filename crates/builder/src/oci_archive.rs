//! `--oci-archive`: the signed bundle packaged as an OCI image archive, so that
//! containerd (`ctr images import --platform wasi/wasm`) can import and unpack
//! it and the containerd shim can run it as an ordinary container.
//!
//! The archive is a tar of an OCI image layout (`oci-layout`, `index.json`,
//! `blobs/sha256/<hex>`) holding one image for `wasi/wasm` with exactly one
//! `tar+gzip` layer. The layer holds the directory `recompiler/` with the four
//! bundle files, byte for byte as the build wrote them (`mapping.json`,
//! `mapping.json.sig`, the megabinary and the image files under the names the
//! manifest records). The image config carries the source image's entrypoint,
//! command, environment, working directory and labels.
//!
//! Big files are streamed: the layer is gzipped into a temporary file beside
//! the archive while both its digests are computed, then copied into the
//! archive, itself a temporary file renamed into place by [`StagedArchive::commit`].
//! The same inputs give a byte-identical archive (fixed modes, owners and
//! mtime 0; gzip header without a time).
//!
//! Not here: building the bundle ([`crate::pipeline`]), pushing to registries.
//! The format is described in docs/recompiler-container-plan/oci-image.md.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Seek, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Where the bundle's files live inside the image (and the unpacked snapshot).
pub const BUNDLE_DIR: &str = "recompiler";
/// Manifest annotation: the version of this packaging.
pub const ANNOTATION_BUNDLE_VERSION: &str = "dev.recompiler.bundle.version";
/// Manifest annotation: the absolute path of the bundle directory in the rootfs.
pub const ANNOTATION_BUNDLE_PATH: &str = "dev.recompiler.bundle.path";
/// Config label marking the image as a recompiler bundle.
pub const LABEL_BUNDLE: &str = "dev.recompiler.bundle";
/// The full image name, as containerd's import reads it from index.json.
pub const ANNOTATION_CONTAINERD_NAME: &str = "io.containerd.image.name";
/// The tag, as the OCI image layout spec names it.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";

pub const MEDIA_TYPE_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const MEDIA_TYPE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const MEDIA_TYPE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const MEDIA_TYPE_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// The platform of the image: never pulled as a native image by an ordinary node.
pub const OS: &str = "wasi";
pub const ARCHITECTURE: &str = "wasm";

/// The prefix of [`default_name`]: a registry host that names no real registry.
pub const DEFAULT_REGISTRY: &str = "recompiler.local";

/// The signature's name in a bundle directory (the vkernel's `bundle::SIGNATURE`).
const SIGNATURE: &str = "mapping.json.sig";

/// Every file and directory in the archive and its layer has this mtime, so
/// the same build gives the same bytes (the project does not use
/// SOURCE_DATE_EPOCH).
const MTIME: u64 = 0;

/// `--oci-archive PATH --oci-name NAME`: where to write the archive and the
/// image's full name (`registry/repository:tag`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciArchive {
    pub path: PathBuf,
    pub name: String,
}

/// The bundle's files as they go into `recompiler/`: the manifest and the
/// signature under their fixed names (`mapping.json`, `mapping.json.sig`, as
/// the vkernel loads them), the other two as (name the manifest records, bytes).
#[derive(Debug, Clone, Copy)]
pub struct LayerFiles<'a> {
    pub manifest: &'a [u8],
    pub signature: &'a [u8],
    pub megabinary: (&'a str, &'a [u8]),
    pub rootfs: (&'a str, &'a [u8]),
}

/// What was written, for the build report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ArchiveReport {
    pub path: String,
    pub size: u64,
    /// Hex SHA-256 of the archive file.
    pub sha256: String,
    /// The full image name (`io.containerd.image.name`).
    pub name: String,
    /// `sha256:<hex>` of the image manifest: the image's digest once imported.
    pub manifest_digest: String,
}

/// The full name `name` normalized, with its tag: `repo:tag` -> (`repo:tag`,
/// `tag`); a name without a tag gets `:latest`. Digests (`@sha256:...`),
/// empty parts, upper-case repositories and characters outside the reference
/// grammar are errors.
pub fn split_name(name: &str) -> Result<(String, String)> {
    let bad = |why: &str| anyhow::anyhow!("--oci-name {name:?}: {why}");
    if name.contains('@') {
        return Err(bad(
            "a digest cannot name an image being written; use a tag",
        ));
    }
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    let (repository, tag) = match name[slash..].rfind(':') {
        Some(i) => (&name[..slash + i], &name[slash + i + 1..]),
        None => (name, "latest"),
    };
    if repository.is_empty() {
        return Err(bad("no repository"));
    }
    if tag.is_empty()
        || tag.len() > 128
        || tag.starts_with(['.', '-'])
        || !tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        return Err(bad(
            "the tag must be 1 to 128 of [A-Za-z0-9_.-], not starting with . or -",
        ));
    }
    // The first component may be a registry host (with a port, upper case
    // allowed); the others are lower-case path components.
    let components: Vec<&str> = repository.split('/').collect();
    for (i, c) in components.iter().enumerate() {
        let host = i == 0 && components.len() > 1;
        let ok = !c.is_empty()
            && c.starts_with(|ch: char| ch.is_ascii_alphanumeric())
            && c.chars().all(|ch| {
                ch.is_ascii_lowercase()
                    || ch.is_ascii_digit()
                    || matches!(ch, '.' | '_' | '-')
                    || (host && (ch.is_ascii_uppercase() || ch == ':'))
            });
        if !ok {
            return Err(bad(&format!(
                "repository component {c:?} must be lower-case [a-z0-9._-], starting with a letter or digit"
            )));
        }
    }
    Ok((format!("{repository}:{tag}"), tag.to_string()))
}

/// The name used without `--oci-name`: `recompiler.local/<stem>:latest`, where
/// `<stem>` is the last component of the source image's path without its
/// extension (`oci-archive:./agent.tar:3.12` -> `recompiler.local/agent:latest`),
/// lower-cased, other characters than [a-z0-9._-] made `-`; `image` when
/// nothing is left.
pub fn default_name(image: &str) -> String {
    let path = recompiler_oci::ImageRef::parse(image)
        .map(|r| r.path)
        .unwrap_or_else(|_| PathBuf::from(image));
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let cleaned: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let cleaned = cleaned.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    let stem = if cleaned.is_empty() { "image" } else { cleaned };
    format!("{DEFAULT_REGISTRY}/{stem}:latest")
}

/// Fails early, before any work, when the archive cannot be written where
/// asked: its directory must exist and it must not be a directory itself.
pub fn check_destination(path: &Path) -> Result<()> {
    let dir = parent_dir(path);
    if !dir.is_dir() {
        bail!(
            "--oci-archive {}: directory {} does not exist",
            path.display(),
            dir.display()
        );
    }
    if path.is_dir() {
        bail!("--oci-archive {}: is a directory", path.display());
    }
    Ok(())
}

/// The image config: the platform, the layer's diff_id, and from `source` (the
/// source image's config, as JSON) its `Entrypoint`, `Cmd`, `Env`,
/// `WorkingDir`, `Labels` (sorted, plus [`LABEL_BUNDLE`]) and `created`.
pub fn config_json(source: &Value, diff_id: &str) -> Value {
    let src = &source["config"];
    let mut config = serde_json::Map::new();
    for key in ["Entrypoint", "Cmd", "Env", "WorkingDir"] {
        if let Some(v) = src.get(key).filter(|v| !v.is_null()) {
            config.insert(key.to_string(), v.clone());
        }
    }
    // Sorted, so the bytes do not depend on the source's map order.
    let mut labels: std::collections::BTreeMap<String, Value> = src
        .get("Labels")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    labels.insert(LABEL_BUNDLE.to_string(), json!("v1"));
    config.insert("Labels".to_string(), json!(labels));

    let created = source.get("created").and_then(Value::as_str);
    let mut history = serde_json::Map::new();
    let mut out = serde_json::Map::new();
    if let Some(c) = created {
        out.insert("created".into(), json!(c));
        history.insert("created".into(), json!(c));
    }
    history.insert("created_by".into(), json!("recompiler-build"));
    out.insert("architecture".into(), json!(ARCHITECTURE));
    out.insert("os".into(), json!(OS));
    out.insert("config".into(), Value::Object(config));
    out.insert(
        "rootfs".into(),
        json!({"type": "layers", "diff_ids": [diff_id]}),
    );
    out.insert("history".into(), json!([Value::Object(history)]));
    Value::Object(out)
}

/// An archive written under a temporary name beside its destination, waiting
/// for [`StagedArchive::commit`]. Dropping it removes the temporary file.
#[derive(Debug)]
pub struct StagedArchive {
    tmp: tempfile::NamedTempFile,
    report: ArchiveReport,
}

impl StagedArchive {
    /// What will be at the destination.
    pub fn report(&self) -> &ArchiveReport {
        &self.report
    }

    /// Renames the archive into place and flushes its directory.
    pub fn commit(self) -> Result<ArchiveReport> {
        let StagedArchive { tmp, report } = self;
        let path = PathBuf::from(&report.path);
        tmp.persist(&path)
            .map_err(|e| e.error)
            .with_context(|| format!("--oci-archive {}: cannot rename into place", report.path))?;
        File::open(parent_dir(&path))
            .and_then(|d| d.sync_all())
            .with_context(|| {
                format!("--oci-archive {}: cannot flush its directory", report.path)
            })?;
        Ok(report)
    }
}

/// Writes the archive for `files` to a temporary file beside `archive.path`
/// (see the module docs); `source_config` is the source image's config as JSON.
pub fn stage(
    archive: &OciArchive,
    files: &LayerFiles<'_>,
    source_config: &Value,
) -> Result<StagedArchive> {
    let (name, tag) = split_name(&archive.name)?;
    let path = &archive.path;
    let dir = parent_dir(path);
    let ctx = |what: &str| format!("--oci-archive {}: {what}", path.display());
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = |what: &str| {
        tempfile::Builder::new()
            .prefix(&format!(".{file_name}.{what}."))
            .suffix(".tmp")
            .tempfile_in(&dir)
            .with_context(|| ctx("cannot create a temporary file in its directory"))
    };

    // The layer: tar -> (sha256 = diff_id) -> gzip -> (sha256 = digest) -> file.
    let mut layer_file = temp("layer")?;
    let layer = write_layer(files, layer_file.as_file_mut()).with_context(|| ctx("layer"))?;
    let config = serde_json::to_vec(&config_json(source_config, &layer.diff_id))
        .context("serializing the image config")?;
    let config_digest = sha256_digest(&config);
    let mut annotations = serde_json::Map::new();
    annotations.insert(
        ANNOTATION_BUNDLE_PATH.into(),
        json!(format!("/{BUNDLE_DIR}")),
    );
    annotations.insert(ANNOTATION_BUNDLE_VERSION.into(), json!("1"));
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": MEDIA_TYPE_MANIFEST,
        "config": {"mediaType": MEDIA_TYPE_CONFIG, "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": MEDIA_TYPE_LAYER, "digest": layer.digest, "size": layer.size}],
        "annotations": annotations,
    }))
    .context("serializing the image manifest")?;
    let manifest_digest = sha256_digest(&manifest);
    let mut index_annotations = serde_json::Map::new();
    index_annotations.insert(ANNOTATION_CONTAINERD_NAME.into(), json!(name));
    index_annotations.insert(ANNOTATION_REF_NAME.into(), json!(tag));
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": MEDIA_TYPE_INDEX,
        "manifests": [{
            "mediaType": MEDIA_TYPE_MANIFEST,
            "digest": manifest_digest,
            "size": manifest.len(),
            "platform": {"architecture": ARCHITECTURE, "os": OS},
            "annotations": index_annotations,
        }],
    }))
    .context("serializing index.json")?;

    let mut tmp = temp("archive")?;
    let (size, sha256) = write_archive(
        tmp.as_file_mut(),
        &index,
        &[(&config_digest, &config), (&manifest_digest, &manifest)],
        (&layer, layer_file.as_file_mut()),
    )
    .with_context(|| ctx("writing the temporary file"))?;
    drop(layer_file);
    tmp.as_file()
        .set_permissions(fs::Permissions::from_mode(0o644))
        .with_context(|| ctx("cannot set the mode of the temporary file"))?;
    tmp.as_file()
        .sync_all()
        .with_context(|| ctx("cannot flush the temporary file"))?;
    Ok(StagedArchive {
        tmp,
        report: ArchiveReport {
            path: path.display().to_string(),
            size,
            sha256,
            name,
            manifest_digest,
        },
    })
}

/// The content of the `oci-layout` file.
const OCI_LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

/// Writes the layout's tar to `out`: `oci-layout`, `index.json`, the `blobs/`
/// directories, the small blobs as (digest, bytes), and the layer copied from
/// its file. Returns the size and hex SHA-256 of what was written.
fn write_archive(
    out: &mut File,
    index: &[u8],
    blobs: &[(&str, &[u8])],
    (layer, layer_file): (&Layer, &mut File),
) -> io::Result<(u64, String)> {
    let blob_path = |digest: &str| format!("blobs/sha256/{}", digest.trim_start_matches("sha256:"));
    let mut out = HashWriter::new(BufWriter::new(out));
    let mut tar = tar::Builder::new(&mut out);
    append(&mut tar, "oci-layout", OCI_LAYOUT)?;
    append(&mut tar, "index.json", index)?;
    append_dir(&mut tar, "blobs/")?;
    append_dir(&mut tar, "blobs/sha256/")?;
    for (digest, data) in blobs {
        append(&mut tar, &blob_path(digest), data)?;
    }
    layer_file.rewind()?;
    append_reader(&mut tar, &blob_path(&layer.digest), layer.size, layer_file)?;
    tar.finish()?;
    drop(tar);
    out.flush()?;
    Ok((out.count, hex::encode(out.hasher.finalize())))
}

/// The layer blob's digests and size.
#[derive(Debug)]
struct Layer {
    /// `sha256:` of the uncompressed tar.
    diff_id: String,
    /// `sha256:` of the gzip stream.
    digest: String,
    size: u64,
}

fn write_layer(files: &LayerFiles<'_>, out: &mut File) -> Result<Layer> {
    let names = [
        crate::bundle::MANIFEST,
        SIGNATURE,
        files.megabinary.0,
        files.rootfs.0,
    ];
    for (i, n) in names.iter().enumerate() {
        if n.is_empty() || n.contains('/') || *n == "." || *n == ".." {
            bail!("bundle file name {n:?} cannot be a file in {BUNDLE_DIR}/");
        }
        if names[..i].contains(n) {
            bail!("two bundle files are both named {n:?}; rename --output or --rootfs");
        }
    }
    let compressed = HashWriter::new(BufWriter::new(out));
    let gz = GzEncoder::new(compressed, Compression::fast());
    let mut tar = tar::Builder::new(HashWriter::new(gz));
    append_dir(&mut tar, &format!("{BUNDLE_DIR}/"))?;
    for (name, data) in [
        (names[0], files.manifest),
        (names[1], files.signature),
        (names[2], files.megabinary.1),
        (names[3], files.rootfs.1),
    ] {
        append(&mut tar, &format!("{BUNDLE_DIR}/{name}"), data)?;
    }
    let uncompressed = tar.into_inner()?;
    let diff_id = format!("sha256:{}", hex::encode(uncompressed.hasher.finalize()));
    let mut compressed = uncompressed.inner.finish()?;
    compressed.flush()?;
    Ok(Layer {
        diff_id,
        digest: format!("sha256:{}", hex::encode(compressed.hasher.finalize())),
        size: compressed.count,
    })
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(MTIME);
    h.set_size(size);
    h
}

fn append<W: Write>(tar: &mut tar::Builder<W>, path: &str, data: &[u8]) -> io::Result<()> {
    append_reader(tar, path, data.len() as u64, data)
}

fn append_reader<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    size: u64,
    data: impl Read,
) -> io::Result<()> {
    let mut h = header(tar::EntryType::Regular, 0o644, size);
    tar.append_data(&mut h, path, data)
}

fn append_dir<W: Write>(tar: &mut tar::Builder<W>, path: &str) -> io::Result<()> {
    let mut h = header(tar::EntryType::Directory, 0o755, 0);
    tar.append_data(&mut h, path, io::empty())
}

fn sha256_digest(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Passes writes through to `inner`, hashing and counting them.
struct HashWriter<W> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W> HashWriter<W> {
    fn new(inner: W) -> Self {
        HashWriter {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_tags() {
        let ok = |n: &str| split_name(n).unwrap();
        assert_eq!(
            ok("recompiler.local/agent:latest"),
            ("recompiler.local/agent:latest".into(), "latest".into())
        );
        assert_eq!(
            ok("localhost:5000/a/b"),
            ("localhost:5000/a/b:latest".into(), "latest".into())
        );
        assert_eq!(ok("agent:3.12-x"), ("agent:3.12-x".into(), "3.12-x".into()));
        assert_eq!(
            ok("Registry.Example:443/app:V1"),
            ("Registry.Example:443/app:V1".into(), "V1".into())
        );
        for bad in [
            "",
            ":latest",
            "agent:",
            "Agent:1",
            "a//b:1",
            "a/b c:1",
            "agent@sha256:00",
            "agent:-x",
            "/agent:1",
        ] {
            let err = split_name(bad).unwrap_err().to_string();
            assert!(err.starts_with("--oci-name"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn default_names() {
        assert_eq!(
            default_name("oci-archive:./agent.tar:3.12"),
            "recompiler.local/agent:latest"
        );
        assert_eq!(
            default_name("oci:/tmp/My Image:latest"),
            "recompiler.local/my-image:latest"
        );
        assert_eq!(default_name("oci:/"), "recompiler.local/image:latest");
        for image in ["oci:/x/layout:t", "docker-archive:a/b/c.tar:n:t", "__:1"] {
            split_name(&default_name(image)).unwrap();
        }
    }

    #[test]
    fn config_carries_the_source_settings() {
        let mut source_labels = serde_json::Map::new();
        for k in ["z", "a", "m"] {
            source_labels.insert(k.into(), json!(k));
        }
        let source = json!({
            "created": "2024-01-02T03:04:05Z",
            "architecture": "amd64",
            "os": "linux",
            "config": {
                "Entrypoint": ["/usr/bin/python3"],
                "Cmd": ["-c", "print(1)"],
                "Env": ["PATH=/usr/bin"],
                "WorkingDir": "/app",
                "User": "1000",
                "ExposedPorts": {"80/tcp": {}},
                "Labels": source_labels,
            },
            "rootfs": {"type": "layers", "diff_ids": ["sha256:aa"]},
            "history": [{"created_by": "RUN make"}],
        });
        let config = config_json(&source, "sha256:bb");
        assert_eq!(
            serde_json::to_string(&config).unwrap(),
            concat!(
                r#"{"created":"2024-01-02T03:04:05Z","architecture":"wasm","os":"wasi","#,
                r#""config":{"Entrypoint":["/usr/bin/python3"],"Cmd":["-c","print(1)"],"#,
                r#""Env":["PATH=/usr/bin"],"WorkingDir":"/app","#,
                r#""Labels":{"a":"a","dev.recompiler.bundle":"v1","m":"m","z":"z"}},"#,
                r#""rootfs":{"type":"layers","diff_ids":["sha256:bb"]},"#,
                r#""history":[{"created":"2024-01-02T03:04:05Z","created_by":"recompiler-build"}]}"#
            )
        );
        // A bare source config: only the platform, the label and the layer.
        let bare = config_json(
            &json!({"architecture": "amd64", "os": "linux"}),
            "sha256:cc",
        );
        assert_eq!(
            bare,
            json!({
                "architecture": "wasm", "os": "wasi",
                "config": {"Labels": {"dev.recompiler.bundle": "v1"}},
                "rootfs": {"type": "layers", "diff_ids": ["sha256:cc"]},
                "history": [{"created_by": "recompiler-build"}],
            })
        );
    }

    #[test]
    fn layer_is_deterministic_and_holds_the_four_files() {
        let dir = tempfile::tempdir().unwrap();
        let files = LayerFiles {
            manifest: b"{}",
            signature: b"sig",
            megabinary: ("c.wasm", b"\0asm"),
            rootfs: ("r.tar", b"tar"),
        };
        let mut digests = Vec::new();
        for i in 0..2 {
            let path = dir.path().join(format!("l{i}"));
            let layer = write_layer(&files, &mut File::create(&path).unwrap()).unwrap();
            let gz = fs::read(&path).unwrap();
            assert_eq!(layer.size, gz.len() as u64);
            assert_eq!(layer.digest, sha256_digest(&gz));
            let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(&gz[..]));
            let entries: Vec<(String, u32, u64)> = tar
                .entries()
                .unwrap()
                .map(|e| {
                    let e = e.unwrap();
                    let h = e.header();
                    (
                        e.path().unwrap().display().to_string(),
                        h.mode().unwrap(),
                        h.mtime().unwrap(),
                    )
                })
                .collect();
            assert_eq!(
                entries,
                [
                    ("recompiler/".to_string(), 0o755, 0),
                    ("recompiler/mapping.json".to_string(), 0o644, 0),
                    ("recompiler/mapping.json.sig".to_string(), 0o644, 0),
                    ("recompiler/c.wasm".to_string(), 0o644, 0),
                    ("recompiler/r.tar".to_string(), 0o644, 0),
                ]
            );
            digests.push((layer.digest, layer.diff_id));
        }
        assert_eq!(digests[0], digests[1]);
        let clash = LayerFiles {
            rootfs: ("mapping.json", b"x"),
            ..files
        };
        let err = write_layer(&clash, &mut tempfile::tempfile().unwrap()).unwrap_err();
        assert!(
            err.to_string().contains("both named \"mapping.json\""),
            "{err}"
        );
    }
}
