//! Where the files of a bundle live.
//!
//! A bundle is four files: the megabinary (`container.wasm`), the manifest
//! (`mapping.json`), the image files (`rootfs.tar`) and, when signed, the DSSE
//! envelope (`mapping.json.sig`). The plan's flags name the first two; the other
//! two default to siblings, and `--bundle DIR` names all four at once.

use std::path::{Path, PathBuf};

/// Default file names inside a bundle directory.
pub const MEGABINARY: &str = "container.wasm";
pub const MANIFEST: &str = "mapping.json";
pub const ROOTFS: &str = "rootfs.tar";

/// The paths of one bundle's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundlePaths {
    pub megabinary: PathBuf,
    pub manifest: PathBuf,
    pub rootfs: PathBuf,
    pub signature: PathBuf,
}

impl BundlePaths {
    /// The four files inside `dir` under their default names.
    pub fn in_dir(dir: &Path) -> Self {
        Self::new(dir.join(MEGABINARY), dir.join(MANIFEST), None, None)
    }

    /// From explicit paths; `rootfs` defaults to `rootfs.tar` beside the
    /// megabinary and `signature` to the manifest's path plus `.sig`.
    pub fn new(
        megabinary: PathBuf,
        manifest: PathBuf,
        rootfs: Option<PathBuf>,
        signature: Option<PathBuf>,
    ) -> Self {
        let rootfs = rootfs.unwrap_or_else(|| sibling(&megabinary, ROOTFS));
        let signature = signature.unwrap_or_else(|| signature_for(&manifest));
        BundlePaths {
            megabinary,
            manifest,
            rootfs,
            signature,
        }
    }
}

/// `mapping.json` -> `mapping.json.sig`.
pub fn signature_for(manifest: &Path) -> PathBuf {
    let mut name = manifest.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

fn sibling(path: &Path, name: &str) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(name),
        _ => PathBuf::from(name),
    }
}

/// The base name of `path`, as recorded in the manifest and the signature.
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_siblings() {
        let p = BundlePaths::new(
            "out/container.wasm".into(),
            "m/mapping.json".into(),
            None,
            None,
        );
        assert_eq!(p.rootfs, PathBuf::from("out/rootfs.tar"));
        assert_eq!(p.signature, PathBuf::from("m/mapping.json.sig"));
        let bare = BundlePaths::new("c.wasm".into(), "m.json".into(), None, None);
        assert_eq!(bare.rootfs, PathBuf::from("rootfs.tar"));
        assert_eq!(
            BundlePaths::in_dir(Path::new("b")).manifest,
            PathBuf::from("b/mapping.json")
        );
    }
}
