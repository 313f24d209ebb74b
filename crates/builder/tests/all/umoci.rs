//! Real OCI images for tests, made with umoci (and copied with skopeo): an
//! image built layer by layer from changes to an unpacked rootfs. Shared by the
//! builder's tests and benchmark and the shim's containerd test, which include
//! this file by path (it needs nothing but umoci, skopeo and std).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs a command, panicking with its output if it fails.
pub fn sh(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("cannot run {cmd:?}: {e} (./scripts/test installs umoci and skopeo)")
    });
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// An OCI layout being built, layer by layer, with umoci.
pub struct Image {
    pub layout: PathBuf,
    pub tag: String,
    work: PathBuf,
    layers: usize,
}

impl Image {
    pub fn new(dir: &Path, tag: &str) -> Image {
        let layout = dir.join("layout");
        sh(Command::new("umoci")
            .arg("init")
            .arg("--layout")
            .arg(&layout));
        sh(Command::new("umoci")
            .arg("new")
            .arg("--image")
            .arg(format!("{}:{tag}", layout.display())));
        Image {
            layout,
            tag: tag.into(),
            work: dir.to_path_buf(),
            layers: 0,
        }
    }

    /// Adds a layer: `f` changes the unpacked rootfs (creating, changing or
    /// deleting files); umoci records the difference, whiteouts included.
    pub fn layer(&mut self, f: impl FnOnce(&Path)) -> &mut Self {
        self.layers += 1;
        let bundle = self.work.join(format!("unpack{}", self.layers));
        sh(Command::new("umoci")
            .arg("unpack")
            .arg("--image")
            .arg(self.reference())
            .arg(&bundle));
        f(&bundle.join("rootfs"));
        sh(Command::new("umoci")
            .arg("repack")
            .arg("--image")
            .arg(self.reference())
            .arg(&bundle));
        self
    }

    /// `DIR:TAG` as umoci and skopeo's `oci:` transport spell it.
    pub fn reference(&self) -> String {
        format!("{}:{}", self.layout.display(), self.tag)
    }

    /// `oci:DIR:TAG`.
    pub fn oci(&self) -> String {
        format!("oci:{}", self.reference())
    }

    /// Copies the image into an OCI archive with skopeo.
    pub fn to_oci_archive(&self, path: &Path) -> String {
        sh(Command::new("skopeo")
            .args(["copy", "-q"])
            .arg(self.oci())
            .arg(format!("oci-archive:{}:{}", path.display(), self.tag)));
        format!("oci-archive:{}:{}", path.display(), self.tag)
    }

    /// Copies the image into a docker-archive tar (`docker save` format) with skopeo.
    pub fn to_docker_archive(&self, path: &Path, name: &str) -> String {
        sh(Command::new("skopeo")
            .args(["copy", "-q"])
            .arg(self.oci())
            .arg(format!("docker-archive:{}:{name}", path.display())));
        format!("docker-archive:{}", path.display())
    }
}

pub fn put(root: &Path, path: &str, data: &[u8], mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let dest = root.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    std::fs::write(&dest, data).unwrap();
    std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(mode)).unwrap();
}

pub fn symlink(root: &Path, path: &str, target: &str) {
    let dest = root.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, dest).unwrap();
}
