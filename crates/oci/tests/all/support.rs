//! Helpers that make real images with umoci and skopeo, hand-made layer tars, and a comparison
//! of a [`Rootfs`] against a directory unpacked by umoci (the reference implementation).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use recompiler_oci::{Image, ImageRef, Node, OpenOptions, OtherKind, Rootfs};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Fails (never skips) when a tool the tests need is missing.
pub fn require(tool: &str) {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "{tool} is not installed: the recompiler-oci integration tests need umoci and skopeo \
         (scripts/test installs them; by hand: apt-get install umoci skopeo)"
    );
}

/// Runs a command, failing the test with its output when it fails.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A scratch OCI layout made with `umoci init`, in its own temp dir.
pub struct Layout {
    pub tmp: tempfile::TempDir,
    pub path: PathBuf,
    counter: AtomicUsize,
}

/// An unpacked umoci bundle; edit `rootfs()` then [`Layout::repack`].
pub struct Bundle {
    pub path: PathBuf,
}

impl Bundle {
    pub fn rootfs(&self) -> PathBuf {
        self.path.join("rootfs")
    }
}

impl Layout {
    pub fn new() -> Layout {
        require("umoci");
        require("skopeo");
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("layout");
        run(Command::new("umoci").args(["init", "--layout"]).arg(&path));
        Layout {
            tmp,
            path,
            counter: AtomicUsize::new(0),
        }
    }

    /// A fresh path inside this layout's temp dir.
    pub fn scratch(&self, name: &str) -> PathBuf {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        self.tmp.path().join(format!("{name}-{n}"))
    }

    pub fn image_arg(&self, tag: &str) -> String {
        format!("{}:{tag}", self.path.display())
    }

    pub fn new_image(&self, tag: &str) {
        run(Command::new("umoci").args(["new", "--image", &self.image_arg(tag)]));
    }

    pub fn unpack(&self, tag: &str) -> Bundle {
        let path = self.scratch("bundle");
        run(Command::new("umoci")
            .args(["unpack", "--image", &self.image_arg(tag)])
            .arg(&path));
        Bundle { path }
    }

    pub fn repack(&self, tag: &str, bundle: &Bundle) {
        run(Command::new("umoci")
            .args([
                "repack",
                "--refresh-bundle",
                "--image",
                &self.image_arg(tag),
            ])
            .arg(&bundle.path));
    }

    pub fn set_platform(&self, tag: &str, os: &str, arch: &str) {
        run(Command::new("umoci").args([
            "config",
            "--image",
            &self.image_arg(tag),
            "--os",
            os,
            "--architecture",
            arch,
        ]));
    }

    /// Appends `layer` (an uncompressed tar) verbatim as a new layer of `tag`, tagged `new_tag`.
    pub fn add_raw_layer(&self, tag: &str, new_tag: &str, layer: &[u8]) {
        let file = self.scratch("layer.tar");
        fs::write(&file, layer).unwrap();
        run(Command::new("umoci")
            .args([
                "raw",
                "add-layer",
                "--image",
                &self.image_arg(tag),
                "--tag",
                new_tag,
            ])
            .arg(&file));
    }

    pub fn open(&self, tag: &str) -> Result<Image, recompiler_oci::OciError> {
        let r = ImageRef::parse(&format!("oci:{}", self.image_arg(tag))).unwrap();
        recompiler_oci::open(&r, &OpenOptions::default())
    }

    /// `skopeo copy oci:LAYOUT:tag DEST` with extra flags.
    pub fn skopeo_copy(&self, tag: &str, dest: &str, flags: &[&str]) {
        run(Command::new("skopeo")
            .args(["copy", "--quiet", "--insecure-policy"])
            .args(flags)
            .arg(format!("oci:{}", self.image_arg(tag)))
            .arg(dest));
    }

    pub fn index(&self) -> Value {
        serde_json::from_slice(&fs::read(self.path.join("index.json")).unwrap()).unwrap()
    }

    pub fn write_index(&self, index: &Value) {
        fs::write(
            self.path.join("index.json"),
            serde_json::to_vec(index).unwrap(),
        )
        .unwrap();
    }

    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let (alg, hex) = digest.split_once(':').unwrap();
        self.path.join("blobs").join(alg).join(hex)
    }

    pub fn read_json_blob(&self, digest: &str) -> Value {
        serde_json::from_slice(&fs::read(self.blob_path(digest)).unwrap()).unwrap()
    }

    /// Stores `value` as a blob; returns (digest, size).
    pub fn write_json_blob(&self, value: &Value) -> (String, u64) {
        let bytes = serde_json::to_vec(value).unwrap();
        let digest = format!("sha256:{}", sha256_hex(&bytes));
        fs::write(self.blob_path(&digest), &bytes).unwrap();
        (digest, bytes.len() as u64)
    }

    /// The index.json descriptor tagged `tag`.
    pub fn descriptor(&self, tag: &str) -> Value {
        self.index()["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["annotations"]["org.opencontainers.image.ref.name"] == tag)
            .unwrap_or_else(|| panic!("no tag {tag}"))
            .clone()
    }

    pub fn manifest_digest(&self, tag: &str) -> String {
        self.descriptor(tag)["digest"].as_str().unwrap().to_string()
    }

    pub fn manifest(&self, tag: &str) -> Value {
        self.read_json_blob(&self.manifest_digest(tag))
    }

    /// Rewrites the config of `tag` with `edit`, storing new config and manifest blobs with
    /// correct digests and pointing the tag at them.
    pub fn edit_config(&self, tag: &str, edit: impl FnOnce(&mut Value)) {
        let mut manifest = self.manifest(tag);
        let mut config = self.read_json_blob(manifest["config"]["digest"].as_str().unwrap());
        edit(&mut config);
        let (cd, cs) = self.write_json_blob(&config);
        manifest["config"]["digest"] = cd.into();
        manifest["config"]["size"] = cs.into();
        let (md, ms) = self.write_json_blob(&manifest);
        let mut index = self.index();
        for d in index["manifests"].as_array_mut().unwrap() {
            if d["annotations"]["org.opencontainers.image.ref.name"] == tag {
                d["digest"] = md.clone().into();
                d["size"] = ms.into();
            }
        }
        self.write_index(&index);
    }
}

/// Builds an uncompressed tar by hand, so names the `tar` crate refuses (`..`, `/abs`) can be
/// written verbatim into the header.
#[derive(Default)]
pub struct TarMaker {
    out: Vec<u8>,
}

impl TarMaker {
    fn entry(&mut self, name: &str, ty: tar::EntryType, mode: u32, data: &[u8], link: &str) {
        let mut h = tar::Header::new_ustar();
        assert!(name.len() <= 100 && link.len() <= 100);
        h.as_mut_bytes()[..name.len()].copy_from_slice(name.as_bytes());
        h.as_mut_bytes()[157..157 + link.len()].copy_from_slice(link.as_bytes());
        h.set_entry_type(ty);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_600_000_000);
        h.set_size(data.len() as u64);
        h.set_cksum();
        self.out.extend_from_slice(h.as_bytes());
        self.out.extend_from_slice(data);
        self.out.resize(self.out.len().div_ceil(512) * 512, 0);
    }

    pub fn file(mut self, name: &str, data: &str) -> Self {
        self.entry(name, tar::EntryType::Regular, 0o644, data.as_bytes(), "");
        self
    }
    pub fn dir(mut self, name: &str) -> Self {
        self.entry(name, tar::EntryType::Directory, 0o755, b"", "");
        self
    }
    pub fn symlink(mut self, name: &str, target: &str) -> Self {
        self.entry(name, tar::EntryType::Symlink, 0o777, b"", target);
        self
    }
    pub fn hardlink(mut self, name: &str, target: &str) -> Self {
        self.entry(name, tar::EntryType::Link, 0o644, b"", target);
        self
    }
    pub fn device(mut self, name: &str, ty: tar::EntryType, major: u32, minor: u32) -> Self {
        let start = self.out.len();
        self.entry(name, ty, 0o600, b"", "");
        let mut h = tar::Header::from_byte_slice(&self.out[start..start + 512]).clone();
        h.set_device_major(major).unwrap();
        h.set_device_minor(minor).unwrap();
        h.set_cksum();
        self.out[start..start + 512].copy_from_slice(h.as_bytes());
        self
    }
    pub fn finish(mut self) -> Vec<u8> {
        self.out.extend_from_slice(&[0; 1024]);
        self.out
    }
}

/// What we compare about each path: kind, permission bits, owner, mtime and content.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Seen {
    Dir {
        mode: u32,
        uid: u64,
        gid: u64,
    },
    File {
        mode: u32,
        uid: u64,
        gid: u64,
        mtime: u64,
        data: Vec<u8>,
    },
    Symlink {
        uid: u64,
        gid: u64,
        target: String,
    },
    Char {
        mode: u32,
        major: u32,
        minor: u32,
    },
    Block {
        mode: u32,
        major: u32,
        minor: u32,
    },
    Fifo {
        mode: u32,
    },
}

/// The tree as [`Seen`] values plus hard-link groups (sets of paths sharing an inode).
pub type Snapshot = (BTreeMap<String, Seen>, BTreeSet<Vec<String>>);

pub fn snapshot_rootfs(fs: &Rootfs) -> Snapshot {
    let mut map = BTreeMap::new();
    let mut inodes: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for (path, node) in fs.iter() {
        let m = node.meta();
        let seen = match node {
            Node::Dir(_) => Seen::Dir {
                mode: m.mode,
                uid: m.uid,
                gid: m.gid,
            },
            Node::File { data, inode, .. } => {
                inodes.entry(*inode).or_default().push(path.to_string());
                Seen::File {
                    mode: m.mode,
                    uid: m.uid,
                    gid: m.gid,
                    mtime: m.mtime,
                    data: data.to_vec(),
                }
            }
            Node::Symlink { target, .. } => Seen::Symlink {
                uid: m.uid,
                gid: m.gid,
                target: target.clone(),
            },
            Node::Other { kind, .. } => match *kind {
                OtherKind::CharDevice { major, minor } => Seen::Char {
                    mode: m.mode,
                    major,
                    minor,
                },
                OtherKind::BlockDevice { major, minor } => Seen::Block {
                    mode: m.mode,
                    major,
                    minor,
                },
                OtherKind::Fifo => Seen::Fifo { mode: m.mode },
            },
        };
        map.insert(path.to_string(), seen);
    }
    let groups = inodes.into_values().filter(|g| g.len() > 1).collect();
    (map, groups)
}

fn dev_major(rdev: u64) -> u32 {
    (((rdev >> 32) & 0xffff_f000) | ((rdev >> 8) & 0xfff)) as u32
}

fn dev_minor(rdev: u64) -> u32 {
    (((rdev >> 12) & 0xffff_ff00) | (rdev & 0xff)) as u32
}

/// The same snapshot of a directory on disk (as unpacked by umoci or GNU tar).
pub fn snapshot_dir(root: &Path) -> Snapshot {
    let mut map = BTreeMap::new();
    let mut inodes: BTreeMap<(u64, u64), Vec<String>> = BTreeMap::new();
    fn walk(
        root: &Path,
        dir: &Path,
        map: &mut BTreeMap<String, Seen>,
        inodes: &mut BTreeMap<(u64, u64), Vec<String>>,
    ) {
        let mut entries: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            let rel = format!("/{}", p.strip_prefix(root).unwrap().display());
            let md = fs::symlink_metadata(&p).unwrap();
            let ft = md.file_type();
            let mode = md.mode() & 0o7777;
            let (uid, gid) = (md.uid() as u64, md.gid() as u64);
            let seen = if ft.is_dir() {
                walk(root, &p, map, inodes);
                Seen::Dir { mode, uid, gid }
            } else if ft.is_file() {
                inodes
                    .entry((md.dev(), md.ino()))
                    .or_default()
                    .push(rel.clone());
                Seen::File {
                    mode,
                    uid,
                    gid,
                    mtime: md.mtime() as u64,
                    data: fs::read(&p).unwrap(),
                }
            } else if ft.is_symlink() {
                Seen::Symlink {
                    uid,
                    gid,
                    target: fs::read_link(&p).unwrap().to_str().unwrap().to_string(),
                }
            } else if ft.is_char_device() {
                Seen::Char {
                    mode,
                    major: dev_major(md.rdev()),
                    minor: dev_minor(md.rdev()),
                }
            } else if ft.is_block_device() {
                Seen::Block {
                    mode,
                    major: dev_major(md.rdev()),
                    minor: dev_minor(md.rdev()),
                }
            } else if ft.is_fifo() {
                Seen::Fifo { mode }
            } else {
                panic!("unexpected file type at {rel}");
            };
            map.insert(rel, seen);
        }
    }
    walk(root, root, &mut map, &mut inodes);
    let md = fs::metadata(root).unwrap();
    map.insert(
        "/".to_string(),
        Seen::Dir {
            mode: md.mode() & 0o7777,
            uid: md.uid() as u64,
            gid: md.gid() as u64,
        },
    );
    let groups = inodes
        .into_values()
        .filter(|g| g.len() > 1)
        .map(|mut g| {
            g.sort();
            g
        })
        .collect();
    (map, groups)
}

/// Asserts two snapshots are equal, printing only the paths that differ.
pub fn assert_same(ours: &Snapshot, theirs: &Snapshot, what: &str) {
    let mut diffs = Vec::new();
    let keys: BTreeSet<&String> = ours.0.keys().chain(theirs.0.keys()).collect();
    for k in keys {
        let (a, b) = (ours.0.get(k), theirs.0.get(k));
        if a != b {
            diffs.push(format!("{k}:\n  ours:   {a:?}\n  theirs: {b:?}"));
        }
    }
    if ours.1 != theirs.1 {
        diffs.push(format!(
            "hard links: ours {:?}, theirs {:?}",
            ours.1, theirs.1
        ));
    }
    assert!(
        diffs.is_empty(),
        "{what}: trees differ:\n{}",
        diffs.join("\n")
    );
}

/// The rootfs of an image, ignoring progress.
pub fn rootfs_of(image: &Image) -> Rootfs {
    image.rootfs(&mut |_| {}).unwrap()
}

pub fn tar_bytes(fs: &Rootfs) -> Vec<u8> {
    let mut out = Vec::new();
    fs.write_tar(&mut out).unwrap();
    out
}
